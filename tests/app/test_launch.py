"""The server's launch settings."""

from __future__ import annotations

import gradio as gr

from app.main import IDLE_JOB_POLL_S, IDLE_PROGRESS_POLL_S, calm_idle_queue


def test_the_idle_queue_polls_at_the_calmer_rate_in_this_gradio():
    # The settings are Gradio internals: this fails when an upgrade renames them, instead of the server quietly
    # going back to polling every millisecond.
    with gr.Blocks() as demo:
        gr.Textbox()
    demo.queue()
    assert demo._queue.sleep_when_free != IDLE_JOB_POLL_S  # Gradio's own: 1 ms on Linux
    calm_idle_queue(demo)
    assert demo._queue.sleep_when_free == IDLE_JOB_POLL_S
    assert demo._queue.progress_update_sleep_when_free == IDLE_PROGRESS_POLL_S
