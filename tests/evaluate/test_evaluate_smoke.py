"""End-to-end smoke run of ``python -m core evaluate`` on a tiny checkpoint and a few real records."""

import json

import pytest

from core.__main__ import main
from core.checkpoint import save_checkpoint
from core.models import create_model


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory):
    out = tmp_path_factory.mktemp("ckpt") / "mets-tiny"
    save_checkpoint(create_model("mets-resnet1d-tiny"), out)
    return out


@pytest.mark.slow
def test_evaluate_cli_writes_every_figure(tiny_checkpoint, shared_data, data_dir, tmp_path):
    out = tmp_path / "eval.json"
    code = main(
        [
            "evaluate",
            "--checkpoint",
            str(tiny_checkpoint),
            "--data",
            f"ptbxl={shared_data}/ptb-xl/1.0.3",
            f"cinc2021={shared_data}/cinc2021/torch_ecg_sample",
            "--limit",
            "24",
            "--bootstrap",
            "20",
            "--cnn-epochs",
            "1",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    ptbxl = result["datasets"]["ptbxl"]
    assert set(ptbxl["zeroshot"]) == {"superclass", "subclass", "form", "rhythm"}
    sup = ptbxl["zeroshot"]["superclass"]
    assert sup["n"] == 24 and 0.0 <= sup["macro_auc"] <= 1.0 and sup["ci95"][0] <= sup["macro_auc"] <= sup["ci95"][1]
    assert set(sup["per_class_auc"]) <= {"NORM", "MI", "STTC", "CD", "HYP"}
    assert sup["leakage"]["NORM"]["reports_with_all_words"] >= 0 and 0 <= sup["leakage"]["NORM"]["share"] <= 1
    probe = ptbxl["probe"]["superclass"]
    assert {
        "pretrained_10pct",
        "pretrained_100pct",
        "random_init_10pct",
        "random_init_100pct",
        "supervised_cnn_100pct",
    } <= set(probe)
    e2r = ptbxl["retrieval"]["ecg_to_report"]
    assert e2r["n_queries"] == 24 and 0 < e2r["chance"]["R@1"] <= 1
    assert "cinc2021" in result["datasets"]["cinc2021"]["zeroshot"]
    contrast = result["contrast"]
    assert (
        contrast["text_to_ecg"]["n_records"] == sum(d["n_held_out"] for d in result["datasets"].values())
        and len(contrast["text_to_ecg"]["pairs"]) >= 12
    )
    assert contrast["text_to_report"]["ranker"] in {"dense", "hybrid"}
    for pair in contrast["text_to_ecg"]["pairs"]:
        assert pair["status"] == "too few" or 0.0 <= pair["auc"] <= 1.0
    p10 = result["precision_at_10"]
    assert p10["k"] == 10 and len(p10["queries"]) >= 12
    markdown = out.with_suffix(".md").read_text()
    assert "| ptbxl / superclass | 24 |" in markdown and "python -m core evaluate" in markdown
    assert (
        "#### Clinical contrast set" in markdown
        and "| bundle-branch-left-right | complete LBBB vs complete RBBB |" in markdown
    )
    assert "precision@10" in markdown and "right twin first" in markdown
