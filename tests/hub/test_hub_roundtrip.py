"""Push an exported checkpoint to the loopback Hub, load it back by id through huggingface_hub, compare."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.checkpoint import checkpoint_hash, load_checkpoint
from core.data.readers import read_ecg
from core.embed import Embedder
from core.hub.export import export_model_repo
from core.hub.push import push_folder
from core.hub.refs import HubError

REPO = "ecg-org/ecg-mets"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def pushed_mets(fake_hub, shipped_checkpoint, tmp_path):
    """checkpoints/mets exported and pushed to the loopback Hub; returns (source checkpoint, commit sha)."""
    source = shipped_checkpoint("mets")
    exported = export_model_repo(source, tmp_path / "export", repo_id=REPO)
    sha = push_folder(exported, REPO)
    return source, sha


def test_push_uploads_every_exported_file(fake_hub, pushed_mets, tmp_path):
    _, sha = pushed_mets
    tree = fake_hub.repos[("model", REPO)].commits[sha]
    exported = tmp_path / "export"
    for path in exported.rglob("*"):
        if path.is_file():
            assert tree[path.relative_to(exported).as_posix()] == path.read_bytes()
    assert {"README.md", "config.json", "model.safetensors", "label_maps.json", "preprocessing.json"} <= set(tree)
    # upload_folder sent the card to the Hub's metadata validation before uploading.
    assert fake_hub.validated == [(exported / "README.md").read_text(encoding="utf-8")]


def test_load_by_id_gives_identical_weights_and_embeddings(fake_hub, pushed_mets, shared_data):
    source, sha = pushed_mets
    local = load_checkpoint(source, device="cpu")
    remote = load_checkpoint(f"hf://{REPO}@{sha}", device="cpu")
    # The files came over HTTP from the loopback Hub.
    assert ("GET", f"/{REPO}/resolve/{sha}/model.safetensors") in fake_hub.requests
    local_state, remote_state = local.state_dict(), remote.state_dict()
    assert local_state.keys() == remote_state.keys()
    for key, value in local_state.items():
        assert np.array_equal(value.numpy(), remote_state[key].numpy()), key

    records = sorted((shared_data / "ludb" / "1.0.1" / "data").glob("*.hea"))[:4]
    ecgs = [read_ecg(path.with_suffix("")) for path in records]
    texts = ["sinus rhythm", "atrial fibrillation", "complete left bundle branch block"]
    a, b = Embedder(local), Embedder(remote)
    np.testing.assert_array_equal(a.encode_ecgs(ecgs), b.encode_ecgs(ecgs))
    np.testing.assert_array_equal(a.encode_texts(texts), b.encode_texts(texts))
    # Same bytes, same content hash: the app's index cache is shared between the local and the Hub copy.
    assert checkpoint_hash(f"hf://{REPO}") == checkpoint_hash(source)


def test_revision_pins_a_commit(fake_hub, pushed_mets, tmp_path):
    _, first = pushed_mets
    (tmp_path / "export" / "preprocessing.json").write_text('{"changed": true}\n')
    second = push_folder(tmp_path / "export", REPO)
    assert second != first
    from core.hub.refs import download

    assert (download(f"hf://{REPO}@{first}") / "preprocessing.json").read_text() != '{"changed": true}\n'
    assert (download(f"hf://{REPO}@main") / "preprocessing.json").read_text() == '{"changed": true}\n'


def test_missing_repository_is_a_hub_error(fake_hub):
    with pytest.raises(HubError, match="ecg-org/nothing-here"):
        load_checkpoint("hf://ecg-org/nothing-here")


def test_offline_load_reads_the_populated_cache(fake_hub, pushed_mets):
    source, _ = pushed_mets
    load_checkpoint(f"hf://{REPO}", device="cpu")  # populates the cache (online)
    n_requests = len(fake_hub.requests)
    # A fresh interpreter with HF_HUB_OFFLINE=1 (read at import, as in real use) and the same cache.
    code = (
        "from core.checkpoint import checkpoint_dir, checkpoint_hash;"
        f"print(checkpoint_dir('hf://{REPO}'));print(checkpoint_hash('hf://{REPO}'))"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO_ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    folder, digest = out.stdout.split()
    assert Path(folder).is_relative_to(os.environ["HF_HUB_CACHE"])
    assert digest == checkpoint_hash(source)
    assert len(fake_hub.requests) == n_requests  # offline: nothing was asked of the server


def test_offline_without_cache_fails_saying_so(fake_hub, monkeypatch):
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubError, match="HF_HUB_OFFLINE"):
        load_checkpoint(f"hf://{REPO}")
    assert fake_hub.requests == []


def test_app_config_reads_hub_checkpoints_and_the_demo_bundle(fake_hub, pushed_mets, monkeypatch):
    from app.state import AppConfig

    source, _ = pushed_mets
    monkeypatch.setenv("ECG_CHECKPOINTS", f"METS=hf://{REPO},local={source}")
    monkeypatch.setenv("ECG_DEMO_BUNDLE", "hf://datasets/ecg-org/ecg-demo@v1")
    config = AppConfig.from_env()
    assert list(config.checkpoints) == ["METS", "local"]
    assert Path(config.checkpoints["METS"]).is_relative_to(os.environ["HF_HUB_CACHE"])
    assert checkpoint_hash(config.checkpoints["METS"]) == checkpoint_hash(source)
    assert config.demo_bundle == "hf://datasets/ecg-org/ecg-demo@v1"
