"""One checkpoint's held-out figures from ``eval/results.json``, as Hub ``model-index`` entries and markdown tables.

Nothing here is typed by hand: every number comes from the evaluation JSON written by ``python -m core evaluate``
(its structure: :mod:`core.evaluate.select`), so a model card can never drift from the evaluation.
"""

from __future__ import annotations

import json
from pathlib import Path

from huggingface_hub import EvalResult

from core.evaluate.select import runs_of

# Evaluation dataset name -> (Hub model-index dataset type, readable name). The types are the datasets' PhysioNet
# slugs, not Hub dataset ids (these datasets are not on the Hub under an official id).
DATASETS = {
    "ptbxl": ("ptb-xl", "PTB-XL 1.0.3"),
    "ludb": ("ludb", "LUDB 1.0.1"),
    "cinc2021": ("physionet-challenge-2021", "PhysioNet/CinC Challenge 2021"),
}
HELD_OUT = {
    "ptbxl": "test (folds 9-10, patient-disjoint)",
    "ludb": "test (held-out 40 %)",
    "cinc2021": "test (held-out 40 %)",
}
PROBE_ARMS = ("pretrained_100pct", "pretrained_10pct")


def find_run(results_json: str | Path, checkpoint: str | Path, repo_root: Path) -> dict | None:
    """The run of ``results_json`` evaluating ``checkpoint`` (runs name checkpoints relative to ``repo_root``)."""
    path = Path(results_json)
    if not path.is_file():
        return None
    target = Path(checkpoint).resolve()
    for run in runs_of(json.loads(path.read_text(encoding="utf-8"))):
        if (repo_root / run.get("checkpoint", "")).resolve() == target:
            return run
    return None


def _dataset(name: str) -> tuple[str, str]:
    return DATASETS.get(name, (name, name))


def eval_results(run: dict) -> list[EvalResult]:
    """``model-index`` results of one run: zero-shot macro AUC (with its 95 % CI in the metric name), linear-probe
    macro AUC of the frozen embeddings (100 % and 10 % of the training labels) and retrieval recall@1/@10.

    The Hub groups results by (task type, dataset type, config, split) and keeps one task name per group, so what
    tells two results of a group apart (probe share, retrieval direction) goes into the metric name.
    """
    out: list[EvalResult] = []
    for name, data in run.get("datasets", {}).items():
        dtype, dname = _dataset(name)
        split = HELD_OUT.get(name, "test")
        common = dict(dataset_type=dtype, dataset_name=dname, dataset_split=split)
        for task, entry in data.get("zeroshot", {}).items():
            if entry.get("macro_auc") is None:
                continue
            lo, hi = entry.get("ci95") or (None, None)
            ci = f" (95% bootstrap CI {lo:.3f}-{hi:.3f}, n={entry.get('n')})" if lo is not None else ""
            out.append(
                EvalResult(
                    task_type="zero-shot-classification",
                    task_name="Zero-shot ECG classification from text prompts",
                    dataset_config=task,
                    metric_type="roc_auc",
                    metric_name=f"macro ROC AUC{ci}",
                    metric_value=round(float(entry["macro_auc"]), 4),
                    **common,
                )
            )
        for task, arms in data.get("probe", {}).items():
            for arm in PROBE_ARMS:
                entry = arms.get(arm) or {}
                if entry.get("macro_auc") is None:
                    continue
                out.append(
                    EvalResult(
                        task_type="feature-extraction",
                        task_name="Linear probe on frozen ECG embeddings",
                        dataset_config=task,
                        metric_type="roc_auc",
                        metric_name=f"macro ROC AUC, {arm.split('_')[1].replace('pct', ' %')} of the training labels",
                        metric_value=round(float(entry["macro_auc"]), 4),
                        **common,
                    )
                )
        for direction, entry in data.get("retrieval", {}).items():
            for k in ("R@1", "R@10"):
                if entry.get(k) is None:
                    continue
                out.append(
                    EvalResult(
                        task_type="feature-extraction",
                        task_name="Retrieval between held-out ECGs and their reports",
                        dataset_config="reports",
                        metric_type=f"recall@{k[2:]}",
                        metric_name=f"{direction.replace('_', ' ')} {k} (chance "
                        f"{entry.get('chance', {}).get(k, float('nan')):.3f})",
                        metric_value=round(float(entry[k]), 4),
                        **common,
                    )
                )
    return out


def zero_shot_table(run: dict) -> str:
    """Markdown: held-out zero-shot macro AUC with its 95 % bootstrap interval, per dataset and label set."""
    rows = ["| dataset / label set | held-out split | n | macro AUC [95 % CI] |", "|---|---|---|---|"]
    for name, data in run.get("datasets", {}).items():
        for task, entry in data.get("zeroshot", {}).items():
            if entry.get("macro_auc") is None:
                continue
            lo, hi = entry.get("ci95") or (float("nan"), float("nan"))
            rows.append(
                f"| {_dataset(name)[1]} / {task} | {HELD_OUT.get(name, 'test')} | {entry.get('n')} | "
                f"{entry['macro_auc']:.3f} [{lo:.3f}, {hi:.3f}] |"
            )
    return "\n".join(rows)


def probe_table(run: dict) -> str:
    """Markdown: linear-probe macro AUC [95 % CI] of the frozen embeddings vs the same architecture untrained and a
    small supervised CNN."""
    arms = ("pretrained_100pct", "pretrained_10pct", "random_init_100pct", "supervised_cnn_100pct")
    rows = ["| dataset / label set | " + " | ".join(arms) + " |", "|---" * (len(arms) + 1) + "|"]
    for name, data in run.get("datasets", {}).items():
        for task, entries in data.get("probe", {}).items():
            cells = []
            for arm in arms:
                entry = entries.get(arm) or {}
                if entry.get("macro_auc") is None:
                    cells.append("–")
                    continue
                lo, hi = entry.get("ci95") or (float("nan"), float("nan"))
                cells.append(f"{entry['macro_auc']:.3f} [{lo:.3f}, {hi:.3f}]")
            rows.append(f"| {_dataset(name)[1]} / {task} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def retrieval_table(run: dict) -> str:
    """Markdown: held-out retrieval recalls next to chance."""
    rows = ["| dataset | direction | R@1 | R@10 | chance R@10 | median rank | queries |", "|---" * 7 + "|"]
    for name, data in run.get("datasets", {}).items():
        for direction, e in data.get("retrieval", {}).items():
            rows.append(
                f"| {_dataset(name)[1]} | {direction.replace('_', ' ')} | {e['R@1']:.3f} | {e['R@10']:.3f} | "
                f"{e.get('chance', {}).get('R@10', float('nan')):.3f} | {e.get('median_rank', float('nan')):g} | "
                f"{e.get('n_queries')} |"
            )
    return "\n".join(rows)


def contrast_line(run: dict) -> str:
    """One sentence on the clinical contrast set (text -> ECG), or empty when the run has none."""
    entry = run.get("contrast", {}).get("text_to_ecg", {})
    if entry.get("mean_auc") is None:
        return ""
    lo, hi = entry.get("ci95") or (float("nan"), float("nan"))
    return (
        f"Clinical contrast set (`eval/contrast_set.json`, twin findings such as LBBB vs RBBB; does a query rank its "
        f"own positives above its twin's): mean text→ECG AUC {entry['mean_auc']:.3f} [{lo:.3f}, {hi:.3f}] over "
        f"{entry.get('n_scored')} pairs; weakest pair `{entry.get('min_pair')}` at {entry.get('min_auc', 0):.3f}."
    )
