"""End-to-end training runs on CPU: every recipe, resume, two Gloo processes, and real PTB-XL records."""

import json

import pytest
import torch
from ddp_helpers import run_ranks
from safetensors.torch import load_file

from core.checkpoint import load_checkpoint
from core.measure import MEASURE_VERSION
from core.models import create_model
from core.train import main

SYNTH = ["--data", "synthetic", "--log-every", "1", "--warmup-steps", "2", "--lr", "3e-3"]
TINY = {"mets": "mets-resnet1d-tiny", "fgclep": "fgclep-resnet1d-tiny", "dbeta": "dbeta-patchtf-tiny"}
TERMS = {
    "mets": {"contrastive_loss"},
    "fgclep": {"sigmoid_loss"},
    "dbeta": {"reconstruction_loss", "mlm_loss", "matching_loss", "sigmoid_loss"},
}


def _metrics(out):
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def _weights(out):
    return load_file(str(out / "final" / "model.safetensors"))


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["mets", "fgclep", "dbeta"])
def test_recipe_end_to_end(recipe, tmp_path, monkeypatch, data_dir):
    # FG-CLEP appends each record's measurement sentence; a stand-in measurer keeps the test independent of the
    # delineator weights (the real one is exercised by core/measure's tests).
    fake = lambda ecg, weights=None: f"Heart rate {ecg.fs_hz:.0f} bpm."  # noqa: E731
    monkeypatch.setattr("core.recipes.fgclep.measure_sentence", fake)
    out = tmp_path / "run"
    size = ["--limit", "8", "--batch-size", "4", "--epochs", "1"] if recipe == "dbeta" else ["--limit", "16"]
    argv = ["--recipe", recipe, "--model", TINY[recipe], "--out", str(out)]  # caches: the default, under data_dir
    assert main(argv + SYNTH + size + (["--batch-size", "8", "--epochs", "2"] if recipe != "dbeta" else [])) == 0

    rows = _metrics(out)
    train = [r for r in rows if "train/loss" in r]
    val = [r for r in rows if "val/loss" in r]
    assert {k[len("train/") :] for k in train[0] if k.endswith("_loss")} == TERMS[recipe] and "train/loss" in train[0]
    assert all(torch.isfinite(torch.tensor(r["train/loss"])) for r in train)
    assert len(val) == (1 if recipe == "dbeta" else 2) and TERMS[recipe] <= {k[4:] for k in val[0]}
    assert (out / "params.yaml").is_file() and (out / "latest" / "train_state.json").is_file()

    model = load_checkpoint(out / "final", device="cpu")
    config = json.loads((out / "final" / "config.json").read_text())
    assert config["recipe"] == recipe and config["train"]["steps"] == train[-1]["step"]
    assert model.encode_ecg(torch.randn(2, 12, 1000)).shape == (2, model.embed_dim)
    if recipe == "fgclep":
        (cache,) = (data_dir / "cache").glob("measurements-*.json")
        assert set(json.loads(cache.read_text()).values()) == {"Heart rate 100 bpm."}
        # The checkpoint names the measurements its reports were enriched with: the tag is the cache file's.
        assert cache.name == f"measurements-{config['provenance']['measurement_tag']}.json"
        assert config["provenance"]["measure_version"] == MEASURE_VERSION
    else:
        assert "provenance" not in config  # reports used as they are
    if recipe == "dbeta":
        # The shipped D-BETA options: the top 2 language-model layers fine-tune at a tenth of the learning rate, and
        # the export stores them (only them) in half precision.
        assert config["weights_dtype"] == "float16" and config["text_weights"]["fine_tuned"] == [
            "encoder.layer.4",
            "encoder.layer.5",
        ]
        stored = _weights(out)
        assert {v.dtype for v in stored.values() if v.is_floating_point()} == {torch.float16}
        text_keys = [k for k in stored if k.startswith("text.model.")]
        top_two = ("text.model.encoder.layer.4.", "text.model.encoder.layer.5.")
        assert text_keys and all(k.startswith(top_two) for k in text_keys)
        groups = json.loads((out / "latest" / "train_state.json").read_text())["optimizer_param_groups"]
        lrs = {g["lr_scale"]: g["lr"] for g in groups}
        assert set(lrs) == {1.0, 0.1} and lrs[0.1] == pytest.approx(0.1 * lrs[1.0])
        assert load_file(str(out / "latest" / "model.safetensors"))["logit_scale"].dtype == torch.float32


@pytest.mark.slow
def test_bf16_autocast_on_cpu_when_asked(tmp_path, caplog):
    # The mixed-precision path the trainer takes on CUDA, run on the CPU: losses stay finite and differ from fp32 in
    # the low digits (so autocast really was on).
    common = ["--recipe", "mets", "--model", "mets-resnet1d-tiny", "--limit", "8", "--batch-size", "4", "--epochs", "1"]
    common += ["--no-val", *SYNTH]
    with caplog.at_level("INFO", logger="core.train"):
        assert main(common + ["--out", str(tmp_path / "bf16"), "--precision", "bf16"]) == 0
    assert any("bf16 autocast" in r.getMessage() for r in caplog.records)
    assert main(common + ["--out", str(tmp_path / "fp32"), "--precision", "fp32"]) == 0
    bf16 = [r["train/loss"] for r in _metrics(tmp_path / "bf16")]
    fp32 = [r["train/loss"] for r in _metrics(tmp_path / "fp32")]
    assert len(bf16) == len(fp32) == 2 and all(torch.isfinite(torch.tensor(bf16)))
    assert bf16 != fp32 and bf16 == pytest.approx(fp32, rel=0.05)
    assert load_checkpoint(tmp_path / "bf16" / "final", device="cpu").logit_scale.dtype == torch.float32


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["mets", "dbeta"])
def test_resume_matches_uninterrupted_run(recipe, tmp_path):
    # D-BETA fine-tunes MiniLM's top layers with dropout: the resumed run must continue the same random stream. The
    # batches are augmented (a draw per step), and METS adds its hard-negative reports (a draw per step too).
    common = ["--recipe", recipe, "--model", TINY[recipe], "--limit", "12", "--batch-size", "4", "--threads", "1"]
    common += ["--epochs", "2", "--no-val", "--augment", *SYNTH]  # 3 steps per epoch; the split run stops mid-epoch
    common += ["--set", "hard_negatives=2"] if recipe == "mets" else []
    full, split = tmp_path / "full", tmp_path / "split"
    assert main(common + ["--out", str(full)]) == 0
    assert main(common + ["--out", str(split), "--stop-after-steps", "2"]) == 0
    state = json.loads((split / "latest" / "train_state.json").read_text())
    assert state["step"] == 2 and not (split / "final").exists()
    assert main(common + ["--out", str(split), "--resume", "latest"]) == 0

    a, b = _weights(full), _weights(split)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=0, atol=1e-6, msg=key)
    steps_a = {r["step"]: r["train/loss"] for r in _metrics(full) if "train/loss" in r}
    steps_b = {r["step"]: r["train/loss"] for r in _metrics(split) if "train/loss" in r}
    assert steps_a.keys() == steps_b.keys() == set(range(1, 7))
    assert steps_b == pytest.approx(steps_a, abs=1e-6)


@pytest.mark.slow
def test_two_processes_match_one_process_on_the_same_global_batch(tmp_path):
    # A batch-norm-free model (batch norm statistics are per process by design), frozen LM, no dropout; augmentation
    # and hard-negative reports are off because each rank draws its own (seeded by rank, as resume requires).
    cfg = tmp_path / "ddp.yaml"
    cfg.write_text(
        "find_unused_parameters: true\n"  # the fusion and MLM head of this config are not used by METS
        "recipe_options:\n  model: dbeta-patchtf-tiny\n  model_overrides: {text: {trainable: false}}\n"
    )
    common = ["--recipe", "mets", "--config", str(cfg), "--limit", "16", "--epochs", "1", "--no-val", "--no-augment"]
    common += ["--set", "hard_negatives=0", *SYNTH]
    single, double = tmp_path / "single", tmp_path / "double"
    assert main(common + ["--out", str(single), "--batch-size", "8"]) == 0
    argv = common + ["--out", str(double), "--batch-size", "4"]
    run_ranks(argv, nprocs=2, threads=1)

    loss_1 = [r["train/loss"] for r in _metrics(single)]
    loss_2 = [r["train/loss"] for r in _metrics(double)]
    assert len(loss_1) == len(loss_2) == 2
    assert loss_2 == pytest.approx(loss_1, abs=1e-5)
    a, b = _weights(single), _weights(double)
    for key in a:
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-5, msg=key)
    # ... and both actually trained: the ECG encoder moved away from its (seeded) initial weights.
    torch.manual_seed(0)
    init = create_model("dbeta-patchtf-tiny", device="cpu", text={"trainable": False}).state_dict()
    assert max((a[k] - init[k]).abs().max().item() for k in a if k.startswith("ecg.")) > 1e-4


@pytest.mark.slow
def test_real_ptbxl_ludb_smoke_run(shared_data, tmp_path):
    from core.data.preprocess import PreprocessConfig
    from core.recipes import create_recipe
    from core.recipes.data import build_datasets

    train, val = build_datasets(
        ["ptbxl", "ludb"],
        create_recipe("mets"),
        PreprocessConfig(),
        data_root=str(shared_data),
        cache_dir=tmp_path / "cache",
        limit=6,
    )
    assert {r.split for r in train.records} == {"train"} and {r.dataset for r in train.records} <= {"ptbxl", "ludb"}
    assert all(1 <= r.meta["strat_fold"] <= 8 for r in train.records if r.dataset == "ptbxl")
    # Validation is every dataset's "val" (carved from the training data); PTB-XL folds 9-10 are never read.
    assert {r.split for r in val.records} == {"val"}
    assert all(1 <= r.meta["strat_fold"] <= 8 for r in val.records if r.dataset == "ptbxl")
    assert train[0]["signal"].shape == (12, 1000) and train[0]["text"]

    out = tmp_path / "run"
    argv = ["--recipe", "mets", "--model", "mets-resnet1d-tiny", "--data", "ptbxl", "--data-root", str(shared_data)]
    argv += ["--out", str(out), "--cache-dir", str(tmp_path / "cache"), "--limit", "8", "--batch-size", "4"]
    assert main(argv + ["--epochs", "1", "--log-every", "1"]) == 0
    rows = _metrics(out)
    assert [r["step"] for r in rows if "train/loss" in r] == [1, 2] and any("val/loss" in r for r in rows)
    assert load_checkpoint(out / "final", device="cpu").preprocess_cfg.fs_hz == 100.0
