"""Shared fixtures: the real data folder, a loopback PhysioNet mirror over it, and an isolated cache."""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("ECG_SHARED_DATA", REPO_ROOT.parent / "shared" / "data")).resolve()


def shared_data_or_skip() -> Path:
    """The real data folder, or skip the calling test with the reason."""
    if not (SHARED_DATA / "ptb-xl" / "1.0.3" / "ptbxl_database.csv").is_file():
        pytest.skip(f"real ECG data not found at {SHARED_DATA} (set ECG_SHARED_DATA to the shared/data folder)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``shared/data`` (PTB-XL subset, LUDB, CinC-2021, SPH, WFDB samples); skips when absent."""
    return shared_data_or_skip()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from the base class
        pass


@pytest.fixture(scope="session")
def mirror_url(shared_data: Path):
    """A loopback HTTP server serving ``shared/data`` in PhysioNet's layout; yields its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(shared_data))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture()
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty per-test ``ECG_DATA_DIR``."""
    path = tmp_path / "ecg-data"
    monkeypatch.setenv("ECG_DATA_DIR", str(path))
    return path
