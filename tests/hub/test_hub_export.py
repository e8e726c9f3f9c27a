"""``python -m core hub export``: a complete model repository with a model card whose metadata checks out."""

from __future__ import annotations

import json

import pytest
from huggingface_hub import ModelCard, metadata_load
from huggingface_hub.repocard_data import model_index_to_eval_results
from safetensors import safe_open

from core.__main__ import main
from core.evaluate.select import runs_of
from core.hub import evalresults
from core.hub.card import check_card
from core.hub.export import RESULTS_JSON, export_model_repo


def _run_of(name: str) -> dict:
    return next(r for r in runs_of(json.loads(RESULTS_JSON.read_text())) if r["checkpoint"] == f"checkpoints/{name}")


def test_cli_export_writes_a_complete_repository(shipped_checkpoint, tmp_path):
    source = shipped_checkpoint("mets")
    out = tmp_path / "ecg-mets"
    assert main(["hub", "export", str(source), str(out), "--repo-id", "ecg-org/ecg-mets"]) == 0
    for name in ("config.json", "model.safetensors"):
        assert (out / name).read_bytes() == (source / name).read_bytes()
    config = json.loads((source / "config.json").read_text())
    assert json.loads((out / "preprocessing.json").read_text()) == config["preprocess_cfg"]
    assert (out / "training_params.yaml").read_text() == (source / "params.yaml").read_text()
    run = json.loads((out / "eval" / "results.json").read_text())
    assert run == _run_of("mets")
    # One label map per evaluated zero-shot task, in the prompt set's class order, with the prompt set shipped.
    maps = json.loads((out / "label_maps.json").read_text())
    tasks = {f"{d}/{t}" for d, data in run["datasets"].items() for t in data["zeroshot"]}
    assert set(maps) == tasks
    superclass = maps["ptbxl/superclass"]
    prompts = json.loads((out / superclass["prompt_set"]).read_text())
    assert superclass["classes"] == list(prompts["classes"]) == ["NORM", "MI", "STTC", "CD", "HYP"]
    assert superclass["index"]["HYP"] == 4


def test_model_index_is_generated_from_results_json(shipped_checkpoint, tmp_path):
    out = export_model_repo(shipped_checkpoint("fgclep"), tmp_path / "fg", repo_id="ecg-org/ecg-fgclep")
    run = _run_of("fgclep")
    meta = metadata_load(out / "README.md")
    assert meta["license"] == "mit" and meta["library_name"] == "ecg-language-explorer"
    assert meta["pipeline_tag"] == "feature-extraction" and "ecg" in meta["tags"]
    assert meta["datasets"] == ["ptb-xl", "ludb", "physionet-challenge-2021"]
    name, results = model_index_to_eval_results(meta["model-index"])
    assert name == "ecg-fgclep"
    zero_shot = {
        (r.dataset_type, r.dataset_config): r.metric_value for r in results if r.task_type == "zero-shot-classification"
    }
    expected = {
        (evalresults.DATASETS[d][0], task): round(entry["macro_auc"], 4)
        for d, data in run["datasets"].items()
        for task, entry in data["zeroshot"].items()
    }
    assert zero_shot == expected and len(expected) == 6
    # The interval travels with the figure, in the card's metadata and its body table.
    superclass = run["datasets"]["ptbxl"]["zeroshot"]["superclass"]
    lo, hi = superclass["ci95"]
    assert any(f"{lo:.3f}-{hi:.3f}" in (r.metric_name or "") for r in results)
    body = ModelCard.load(out / "README.md").text
    assert f"{superclass['macro_auc']:.3f} [{lo:.3f}, {hi:.3f}]" in body
    for section in ("## Intended use", "## Training data and command", "## Limitations", "## How to load it"):
        assert section in body
    assert "Not a medical device" in body and 'load_checkpoint("hf://ecg-org/ecg-fgclep")' in body
    assert "--config training_params.yaml" in body


def test_dbeta_export_holds_its_fine_tuned_language_layers(shipped_checkpoint, tmp_path):
    out = export_model_repo(shipped_checkpoint("dbeta"), tmp_path / "db")
    config = json.loads((out / "config.json").read_text())
    tuned = config["text_weights"]["fine_tuned"]
    assert tuned == ["encoder.layer.4", "encoder.layer.5"] and config["text_weights"]["included"] is False
    with safe_open(str(out / "model.safetensors"), framework="np") as tensors:
        keys = set(tensors.keys())
    for layer in tuned:
        assert f"text.model.{layer}.attention.self.query.weight" in keys
    # Frozen language-model weights stay out (they come from the package, checked by content hash).
    assert not any(k.startswith(("text.model.embeddings.", "text.model.encoder.layer.0.")) for k in keys)
    assert config["text_weights"]["model_dir_hash"] in (out / "README.md").read_text()


def test_check_card_refuses_a_card_without_required_metadata(shipped_checkpoint, tmp_path):
    out = export_model_repo(shipped_checkpoint("mets"), tmp_path / "m")
    card = out / "README.md"
    check_card(card, expected=evalresults.eval_results(_run_of("mets")))
    card.write_text(card.read_text().replace("license: mit\n", ""))
    with pytest.raises(ValueError, match="license"):
        check_card(card)


def test_check_card_refuses_a_model_index_that_lost_results(shipped_checkpoint, tmp_path):
    out = export_model_repo(shipped_checkpoint("mets"), tmp_path / "m")
    expected = evalresults.eval_results(_run_of("mets"))
    with pytest.raises(ValueError, match="round-trip"):
        check_card(out / "README.md", expected=expected[:-1])


def test_an_unevaluated_checkpoint_gets_a_card_that_says_so(tmp_path):
    import torch

    from core.checkpoint import save_checkpoint
    from core.models import create_model

    torch.manual_seed(0)
    extra = {"recipe": "mets", "train": {"data": ["ptbxl", "ludb"]}}
    checkpoint = save_checkpoint(create_model("mets-resnet1d-tiny"), tmp_path / "tiny", extra=extra)
    out = export_model_repo(checkpoint, tmp_path / "out")
    meta = check_card(out / "README.md")
    assert "model-index" not in meta and meta["datasets"] == ["ptb-xl", "ludb"]
    assert "has not been evaluated" in ModelCard.load(out / "README.md").text
    assert not (out / "eval").exists()
    # Without a run, every shipped prompt set travels with its label map.
    assert set(json.loads((out / "label_maps.json").read_text())) >= {"ptbxl/superclass", "ludb/ludb"}
