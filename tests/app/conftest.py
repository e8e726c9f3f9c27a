"""A live app for the app tests: tiny checkpoints, real demo data through the loopback mirror, launched in-process.

The index uses a small slice of the demo (PTB-XL + LUDB records) and the PCA map, so the session starts in seconds;
the UMAP path is covered by the benchmark and `python -m core build-index`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.state import AppConfig, Services, discover_checkpoints
from core.explorer import DemoSpec

DEMO_RECORDS = "ptbxl:16,ludb:6"


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def make_tiny_checkpoint(out: Path, config: str = "mets-resnet1d-tiny", seed: int = 0) -> Path:
    """An untrained checkpoint from a ``*-tiny`` config (what tests use until trained weights are shipped)."""
    import torch

    from core.checkpoint import save_checkpoint
    from core.models import create_model

    torch.manual_seed(seed)
    return save_checkpoint(create_model(config), out)


@pytest.fixture(scope="session")
def tiny_checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("checkpoints")
    return {
        "tiny-a": make_tiny_checkpoint(root / "a", "mets-resnet1d-tiny", 0),
        "tiny-b": make_tiny_checkpoint(root / "b", "fgclep-resnet1d-tiny", 1),
    }


@pytest.fixture(scope="session")
def app_env(mirror_url: str, tmp_path_factory):
    """ECG_DATA_DIR (fresh) and ECG_DATA_MIRROR (the loopback mirror over shared/data) for the session."""
    data = tmp_path_factory.mktemp("ecg-data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECG_DATA_DIR", str(data))
        mp.setenv("ECG_DATA_MIRROR", mirror_url)
        mp.setenv("HF_HUB_OFFLINE", "1")
        yield data


@pytest.fixture(scope="session")
def services(app_env, tiny_checkpoints) -> Services:
    """Services over the tiny checkpoints (+ any trained ones in checkpoints/), index built and waited for."""
    checkpoints = dict(tiny_checkpoints)
    checkpoints.update(discover_checkpoints())
    config = AppConfig(
        checkpoints=checkpoints, index_checkpoint="tiny-a", spec=DemoSpec.parse(DEMO_RECORDS, map_method="pca")
    )
    svc = Services(config)
    svc.start()
    explorer = svc.explorer(timeout_s=300)
    assert len(explorer) == 22, explorer.problems
    return svc


@pytest.fixture(scope="session")
def live_app(services: Services):
    """The app launched on a free loopback port; yields its URL."""
    from app.main import build_app, launch

    demo = build_app(services=services)
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    launch(demo, server_name="127.0.0.1", server_port=None, prevent_thread_lock=True, quiet=True)
    try:
        yield demo.local_url
    finally:
        demo.close()


@pytest.fixture(scope="session")
def client(live_app: str):
    from gradio_client import Client

    return Client(live_app, verbose=False, ssl_verify=False, analytics_enabled=False)


@pytest.fixture
def browser():
    """Debian's Chromium, headless, through Playwright (skips where it is not installed); closed after the test."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()
