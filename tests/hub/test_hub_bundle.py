"""Demo bundles: export the cached index, push it to the loopback Hub as a dataset, start a service from it; a
bundle that fails its hashes or belongs to another checkpoint is refused and the index is built instead."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from core.checkpoint import checkpoint_hash, save_checkpoint
from core.embed import Embedder
from core.explorer import DemoSpec, QueryService, ServiceConfig, build_explorer
from core.explorer.store import cache_folder
from core.hub.bundle import MANIFEST_NAME, BundleError, export_bundle, install_bundle, prepare_demo_index
from core.hub.push import push_folder
from core.models import create_model

BUNDLE_REPO = "ecg-org/ecg-demo"
BUNDLE_URI = f"hf://datasets/{BUNDLE_REPO}"
SPEC = DemoSpec.parse("ludb:12", map_method="pca")


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(create_model("mets-resnet1d-tiny"), tmp_path_factory.mktemp("hub-bundle") / "tiny")


@pytest.fixture(scope="module")
def built_index(tiny_checkpoint, mirror_url, tmp_path_factory) -> Path:
    """The explorer cache folder of (tiny checkpoint, 12 LUDB records), built from the loopback PhysioNet mirror."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECG_DATA_DIR", str(tmp_path_factory.mktemp("bundle-source-data")))
        mp.setenv("ECG_DATA_MIRROR", mirror_url)
        explorer = build_explorer(Embedder.from_checkpoint(tiny_checkpoint), SPEC)
    assert len(explorer) == 12 and explorer.cache_dir is not None
    return explorer.cache_dir


@pytest.fixture()
def pushed_bundle(fake_hub, built_index, tmp_path) -> Path:
    bundle = export_bundle(built_index, tmp_path / "bundle")
    push_folder(bundle, BUNDLE_REPO, repo_type="dataset")
    return bundle


def _service(checkpoint: Path, demo_bundle: str | None) -> QueryService:
    return QueryService(ServiceConfig(checkpoints={"tiny": checkpoint}, spec=SPEC, demo_bundle=demo_bundle))


def test_bundle_manifest_lists_every_file_with_its_hash(built_index, tmp_path):
    bundle = export_bundle(built_index, tmp_path / "b")
    manifest = json.loads((bundle / MANIFEST_NAME).read_text())
    assert manifest["format_version"] == 1 and manifest["cache_key"] == built_index.name
    assert manifest["checkpoint_hash"].startswith(built_index.name.split("-")[0])
    listed = {f["path"] for f in manifest["files"]}
    assert listed == {f"index/{p.relative_to(built_index).as_posix()}" for p in built_index.rglob("*") if p.is_file()}
    assert {"index/manifest.json", "index/ecg_emb.npy", "index/map_xy.npy", "index/thumbs.npy"} <= listed


def test_service_starts_from_the_hub_bundle(
    fake_hub, pushed_bundle, tiny_checkpoint, built_index, tmp_path, monkeypatch
):
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "space-data"))
    # No data to build from: an index can only have come from the bundle.
    monkeypatch.setenv("ECG_DATA_MIRROR", str(tmp_path / "empty-mirror"))
    (tmp_path / "empty-mirror").mkdir()
    explorer = _service(tiny_checkpoint, BUNDLE_URI).explorer(timeout_s=300)
    assert len(explorer) == 12
    assert explorer.cache_dir == cache_folder(checkpoint_hash(tiny_checkpoint), SPEC, tmp_path / "space-data")
    for name in ("ecg_emb", "text_emb", "map_xy", "thumbs"):
        np.testing.assert_array_equal(np.load(explorer.cache_dir / f"{name}.npy"), np.load(built_index / f"{name}.npy"))
    assert ("GET", f"/datasets/{BUNDLE_REPO}/resolve/{fake_hub.repos[('dataset', BUNDLE_REPO)].refs['main']}"
            "/index/ecg_emb.npy") in fake_hub.requests  # fmt: skip


def test_tampered_bundle_falls_back_to_building(
    fake_hub, pushed_bundle, tiny_checkpoint, built_index, mirror_url, tmp_path, monkeypatch, caplog
):
    original = np.load(built_index / "ecg_emb.npy")
    tampered = tmp_path / "tampered.npy"
    np.save(tampered, original + 1.0)
    fake_hub.tamper("dataset", BUNDLE_REPO, "index/ecg_emb.npy", tampered.read_bytes())
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "space-data"))
    monkeypatch.setenv("ECG_DATA_MIRROR", mirror_url)
    with caplog.at_level(logging.WARNING, logger="core.hub.bundle"):
        explorer = _service(tiny_checkpoint, BUNDLE_URI).explorer(timeout_s=300)
    assert "ecg_emb.npy does not match its sha256" in caplog.text
    assert len(explorer) == 12  # built from the mirror instead
    np.testing.assert_allclose(np.asarray(explorer.ecg_emb), original, atol=1e-5)
    assert not (explorer.cache_dir.parent / f"{explorer.cache_dir.name}.bundle").exists()


def test_bundle_of_another_checkpoint_is_refused(pushed_bundle, tmp_path):
    with pytest.raises(BundleError, match="the app serves"):
        install_bundle(pushed_bundle, "f" * 64, SPEC, tmp_path / "data")
    other_spec = DemoSpec.parse("ludb:13", map_method="pca")
    manifest = json.loads((pushed_bundle / MANIFEST_NAME).read_text())
    with pytest.raises(BundleError, match="key"):
        install_bundle(pushed_bundle, manifest["checkpoint_hash"], other_spec, tmp_path / "data")
    assert not (tmp_path / "data" / "explorer").exists() or not any((tmp_path / "data" / "explorer").iterdir())


def test_extra_file_in_a_bundle_is_refused(pushed_bundle, tmp_path):
    manifest = json.loads((pushed_bundle / MANIFEST_NAME).read_text())
    (pushed_bundle / "index" / "extra.npy").write_bytes(b"not listed")
    with pytest.raises(BundleError, match="not in the manifest"):
        install_bundle(pushed_bundle, manifest["checkpoint_hash"], SPEC, tmp_path / "data")


def test_missing_bundle_repository_is_skipped(fake_hub, tmp_path, caplog):
    with caplog.at_level(logging.WARNING, logger="core.hub.bundle"):
        assert prepare_demo_index("hf://datasets/ecg-org/nothing", "a" * 64, SPEC, tmp_path / "data") is None
    assert "not used" in caplog.text


def test_an_already_cached_index_needs_no_download(fake_hub, pushed_bundle, tmp_path):
    manifest = json.loads((pushed_bundle / MANIFEST_NAME).read_text())
    root = tmp_path / "data"
    installed = install_bundle(pushed_bundle, manifest["checkpoint_hash"], SPEC, root)
    n_requests = len(fake_hub.requests)
    assert prepare_demo_index(BUNDLE_URI, manifest["checkpoint_hash"], SPEC, root, fetch_records=False) is None
    assert len(fake_hub.requests) == n_requests and (installed / "manifest.json").is_file()


def test_cli_exports_the_cached_index_of_a_checkpoint_and_pushes_it(
    fake_hub, tiny_checkpoint, built_index, tmp_path, monkeypatch
):
    from core.__main__ import main

    monkeypatch.setenv("ECG_DATA_DIR", str(built_index.parents[1]))
    out = tmp_path / "cli-bundle"
    args = ["hub", "bundle", "export", str(out), "--checkpoint", str(tiny_checkpoint), "--records", "ludb:12"]
    assert main([*args, "--map", "pca"]) == 0
    assert json.loads((out / MANIFEST_NAME).read_text())["cache_key"] == built_index.name
    assert main(["hub", "push", str(out), BUNDLE_REPO, "--repo-type", "dataset"]) == 0
    tree = fake_hub.repos[("dataset", BUNDLE_REPO)].commits[fake_hub.repos[("dataset", BUNDLE_REPO)].refs["main"]]
    assert tree[MANIFEST_NAME] == (out / MANIFEST_NAME).read_bytes()
