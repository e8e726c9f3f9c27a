import json

import pytest

from core.evaluate.select import best_checkpoint, criteria, selection_scores


def _run(name: str, superclass: float, ludb: float, cinc: float, contrast: float | None = None) -> dict:
    run = {
        "checkpoint": f"checkpoints/{name}",
        "datasets": {
            "ptbxl": {"zeroshot": {"superclass": {"macro_auc": superclass}, "form": {"macro_auc": 0.1}}},
            "ludb": {"zeroshot": {"ludb": {"macro_auc": ludb}}},
            "cinc2021": {"zeroshot": {"cinc2021": {"macro_auc": cinc}}},
        },
    }
    if contrast is not None:
        run["contrast"] = {"text_to_ecg": {"mean_auc": contrast}}
    return run


def test_criteria_reads_the_three_figures():
    found = criteria(_run("a", 0.8, 0.6, 0.7, contrast=0.9))
    assert found == pytest.approx({"ptbxl_superclass": 0.8, "cross_dataset": 0.65, "contrast": 0.9})


def test_best_is_the_highest_mean(tmp_path):
    path = tmp_path / "results.json"
    runs = [
        _run("mets", 0.70, 0.60, 0.60, 0.55),
        _run("dbeta", 0.80, 0.70, 0.70, 0.60),
        _run("fg", 0.75, 0.9, 0.9, 0.9),
    ]
    path.write_text(json.dumps({"runs": runs}))
    assert selection_scores(json.loads(path.read_text()))["checkpoints/fg"] == pytest.approx((0.75 + 0.9 + 0.9) / 3)
    assert best_checkpoint(path) == "checkpoints/fg"


def test_a_figure_missing_in_one_run_is_dropped_for_all(tmp_path):
    # "b" would win on contrast, but "a" lacks it, so only the zero-shot figures compare them.
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"runs": [_run("a", 0.9, 0.8, 0.8), _run("b", 0.7, 0.7, 0.7, contrast=1.0)]}))
    assert list(selection_scores(json.loads(path.read_text())).values()) == pytest.approx([0.85, 0.7])
    assert best_checkpoint(path) == "checkpoints/a"


def test_single_run_file_missing_file_and_no_figures(tmp_path):
    single = tmp_path / "one.json"
    single.write_text(json.dumps(_run("only", 0.5, 0.5, 0.5)))
    assert best_checkpoint(single) == "checkpoints/only"
    assert best_checkpoint(tmp_path / "absent.json") is None
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({"runs": [{"checkpoint": "c", "datasets": {}}]}))
    assert best_checkpoint(empty) is None


def test_ties_go_to_the_first_run(tmp_path):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"runs": [_run("first", 0.8, 0.8, 0.8), _run("second", 0.8, 0.8, 0.8)]}))
    assert best_checkpoint(path) == "checkpoints/first"


def test_the_shipped_results_file_names_a_checkpoint():
    from tests.conftest import REPO_ROOT

    results = REPO_ROOT / "eval" / "results.json"
    if not results.is_file():
        pytest.skip("no eval/results.json")
    names = {run["checkpoint"] for run in json.loads(results.read_text()).get("runs", [])}
    assert best_checkpoint(results) in names
