"""Training on a CUDA device: bf16 autocast by default, exact resume with dropout, two NCCL processes.

These run only where CUDA is available (``python -m pytest -m cuda`` on a GPU machine); elsewhere they skip, saying
so. The CPU suite checks the same code paths with Gloo and ``--precision bf16``.
"""

import json

import pytest
import torch
from ddp_helpers import run_ranks
from safetensors.torch import load_file

from core.checkpoint import load_checkpoint
from core.train import main

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (none on this machine)"),
]
SYNTH = ["--data", "synthetic", "--log-every", "1", "--warmup-steps", "2", "--lr", "3e-3", "--no-val"]
# Dropout in the fine-tuned language-model layers draws from the CUDA generator, which the run state must carry.
DBETA = ["--recipe", "dbeta", "--model", "dbeta-patchtf-tiny", "--limit", "12", "--batch-size", "4", "--epochs", "2"]


def _losses(out):
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["train/loss"] for r in rows if "train/loss" in r}


def test_cuda_run_uses_bf16_autocast_and_exports_a_loadable_model(tmp_path, caplog):
    out = tmp_path / "run"
    with caplog.at_level("INFO", logger="core.train"):
        assert main(DBETA + SYNTH + ["--out", str(out)]) == 0
    assert any("device cuda" in r.getMessage() and "bf16 autocast" in r.getMessage() for r in caplog.records)
    assert all(torch.isfinite(torch.tensor(v)) for v in _losses(out).values())
    model = load_checkpoint(out / "final")  # default device: CUDA
    assert next(model.parameters()).is_cuda


def test_cuda_resume_matches_uninterrupted_run(tmp_path):
    common = DBETA + SYNTH + ["--precision", "fp32"]
    full, split = tmp_path / "full", tmp_path / "split"
    assert main(common + ["--out", str(full)]) == 0
    assert main(common + ["--out", str(split), "--stop-after-steps", "2"]) == 0
    assert main(common + ["--out", str(split), "--resume", "latest"]) == 0
    assert _losses(split) == pytest.approx(_losses(full), abs=1e-4)
    a, b = (load_file(str(d / "final" / "model.safetensors")) for d in (full, split))
    for key in a:
        torch.testing.assert_close(b[key].float(), a[key].float(), rtol=1e-3, atol=1e-4, msg=key)


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_two_nccl_processes_train_and_save(tmp_path):
    argv = DBETA + SYNTH + ["--out", str(tmp_path / "ddp")]
    run_ranks(argv, nprocs=2)
    state = json.loads((tmp_path / "ddp" / "latest" / "train_state.json").read_text())
    assert state["world_size"] == 2
    rng = load_file(str(tmp_path / "ddp" / "latest" / "train_state.safetensors"))
    assert rng["rng.torch"].shape[0] == 2 and rng["rng.cuda"].shape[0] == 2
