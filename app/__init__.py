"""The Gradio app: one module per tab under ``app/views/``, services in ``app/state.py``."""
