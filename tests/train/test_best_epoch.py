"""Best-epoch export and early stopping on the validation loss."""

import json

import pytest
import torch
from safetensors.torch import load_file

from core.recipes.mets import MetsRecipe
from core.train import BestTracker, main


def test_best_tracker_counts_epochs_since_the_lowest_loss():
    best = BestTracker()
    assert [best.update(v, e) for e, v in enumerate([3.0, 2.0, 2.5, 2.0, 1.5], start=1)] == [1, 1, 0, 0, 1]
    assert (best.loss, best.epoch, best.bad_epochs) == (1.5, 5, 0)
    best.update(1.6, 6)
    assert BestTracker.from_dict(best.to_dict()) == best and best.to_dict()["epochs_since_best"] == 1


@pytest.mark.slow
def test_best_epoch_is_exported_and_training_stops_after_patience(tmp_path, monkeypatch):
    # Scripted validation losses: lowest after epoch 2, then two epochs without improvement -> stop after epoch 4.
    script = iter([3.0, 2.0, 2.5, 2.6, 1.0, 1.0])
    original = MetsRecipe.compute_losses

    def scripted(self, model, batch, **kwargs):
        out = original(self, model, batch, **kwargs)
        if model.training:
            return out
        return {"contrastive_loss": torch.tensor(next(script)) + 0 * out["contrastive_loss"]}

    monkeypatch.setattr(MetsRecipe, "compute_losses", scripted)
    out = tmp_path / "run"
    argv = ["--recipe", "mets", "--model", "mets-resnet1d-tiny", "--data", "synthetic", "--limit", "16"]
    argv += ["--batch-size", "8", "--epochs", "6", "--keep-best", "--patience", "2", "--out", str(out)]
    assert main(argv + ["--lr", "3e-3", "--warmup-steps", "1"]) == 0

    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["val/loss"] for r in rows if "val/loss" in r] == pytest.approx([3.0, 2.0, 2.5, 2.6])
    assert rows[-1]["best/epoch"] == 2 and rows[-1]["best/val_loss"] == 2.0
    train = json.loads((out / "final" / "config.json").read_text())["train"]
    assert train["best_epoch"] == train["exported_epoch"] == 2 and train["early_stopped"] is True
    assert train["epochs_run"] == 4 and train["steps"] == 8
    final, best, latest = (load_file(str(out / d / "model.safetensors")) for d in ("final", "best", "latest"))
    assert all(torch.equal(final[k], best[k]) for k in final)
    assert any(not torch.equal(final[k], latest[k]) for k in final)  # epochs 3-4 trained on, but were not kept


def test_without_validation_the_last_epoch_is_exported(tmp_path, caplog):
    argv = ["--recipe", "mets", "--model", "mets-resnet1d-tiny", "--data", "synthetic", "--limit", "16"]
    argv += ["--epochs", "2"]
    with caplog.at_level("WARNING", logger="core.train"):
        assert main(argv + ["--keep-best", "--patience", "1", "--no-val", "--out", str(tmp_path / "run")]) == 0
    assert any("are ignored" in r.getMessage() for r in caplog.records)
    train = json.loads((tmp_path / "run" / "final" / "config.json").read_text())["train"]
    assert train["best_epoch"] is None and "exported_epoch" not in train and train["epochs_run"] == 2
    assert not (tmp_path / "run" / "best").exists()
