"""Hugging Face Spaces entry point: build the Gradio app and launch it."""

from app.main import build_app, launch

demo = build_app()

if __name__ == "__main__":
    launch(demo)
