"""Run the evaluation of one checkpoint over several datasets and collect every figure in one dict."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from core.data.catalogs.base import Record
from core.embed import Embedder
from core.evaluate.baselines import cached_supervised_cnn_scores, random_init_features
from core.evaluate.contrast import CONTRAST_SET, ReportSet, load_contrast_set, text_to_ecg, text_to_report
from core.evaluate.data import EvalData, load_eval_data
from core.evaluate.leakage import leakage_audit
from core.evaluate.metrics import auc_report
from core.evaluate.precision import QUERIES, load_queries, precision_at_k, record_measurer
from core.evaluate.ranking import make_report_ranker
from core.evaluate.tasks import linear_probe, retrieval, zero_shot
from core.search.examples import ExampleSource

log = logging.getLogger(__name__)

TASKS = ("zeroshot", "probe", "retrieval", "contrast", "precision")
PROBE_FRACTIONS = (0.1, 1.0)


def evaluate_checkpoint(
    checkpoint: str | Path,
    datasets: Sequence[str],
    *,
    tasks: Sequence[str] = TASKS,
    limit: int | None = None,
    n_bootstrap: int = 1000,
    cnn_epochs: int = 30,
    contrast_set: Path = CONTRAST_SET,
    queries: Path = QUERIES,
    report_ranker: str = "auto",
    progress: Callable[[str], None] | None = None,
) -> dict:
    """Evaluate a checkpoint.

    Args:
        checkpoint: a checkpoint directory (loaded with the project's one loader).
        datasets: dataset specs for :func:`core.evaluate.data.load_eval_data`.
        tasks: any of ``zeroshot``, ``probe``, ``retrieval``, ``contrast``, ``precision``.
        limit: cap records per split (smoke tests).
        n_bootstrap: bootstrap resamples for the 95 % intervals.
        cnn_epochs: epochs of the supervised CNN baseline.
        contrast_set: the clinical contrast pairs (JSON), scored over the held-out records of all ``datasets``.
        queries: the free-text queries for text->ECG precision@10 (JSON).
        report_ranker: text->report ranking for the contrast set: ``auto`` (hybrid if ``core.search`` exists),
            ``dense`` or ``hybrid``.
        progress: called with a short description before each step.

    Returns:
        ``{"checkpoint": ..., "datasets": {"<dataset>": {"zeroshot": {<task>: {...}}, "probe": ..., "retrieval": ...}},
        "contrast": {"text_to_ecg": ..., "text_to_report": ...}, "precision_at_10": ...}``; the last two pool the
        held-out records of all datasets.
    """
    unknown = set(tasks) - set(TASKS)
    if unknown:
        raise ValueError(f"unknown task(s) {sorted(unknown)}; choose from {TASKS}")
    say = progress or (lambda msg: log.info("%s", msg))
    started = time.perf_counter()
    embedder = Embedder.from_checkpoint(checkpoint)
    results: dict = {"checkpoint": str(checkpoint), "model": embedder.model.model_cfg.get("name", ""), "datasets": {}}
    encode_text = embedder.encode_texts
    pooled_records: list[Record] = []
    pooled_emb: list[np.ndarray] = []
    catalogs: dict = {}  # dataset -> catalog reading its records (measured criteria of precision@10)
    # Training reports and ECGs: the examples of "by example" text -> ECG ranking (never held-out ones).
    example_texts: list[str] = []
    example_emb: list[np.ndarray] = []
    wants_examples = bool({"contrast", "precision"} & set(tasks))
    for spec in datasets:
        data = load_eval_data(spec, limit=limit)
        cfg = embedder.preprocess_cfg
        for entry in data.drop_unreadable(cfg):
            say(f"{data.name}: left out {entry.get('record_id')} ({entry.get('reason')})")
        say(f"{data.name}: {len(data.held_out)} held-out, {len(data.train)} training records")
        test_sig, test_mask = data.signals(data.held_out, cfg)
        test_emb = embedder.encode_signals(test_sig, test_mask)
        pooled_records += data.held_out
        pooled_emb.append(test_emb)
        catalogs.update({r.dataset: data.catalog for r in data.held_out})
        out: dict = {"n_held_out": len(data.held_out), "n_train": len(data.train)}
        train_sig = train_mask = train_emb = None
        if data.train and (wants_examples or "probe" in tasks):
            train_sig, train_mask = data.signals(data.train, cfg)
            train_emb = embedder.encode_signals(train_sig, train_mask)
            example_texts += EvalData.texts(data.train)
            example_emb.append(train_emb)
        if "zeroshot" in tasks:
            say(f"{data.name}: zero-shot")
            train_texts = EvalData.texts(data.train)
            out["zeroshot"] = {}
            for task in data.tasks:
                entry = zero_shot(test_emb, task.truth(data.held_out), task, encode_text, n_bootstrap=n_bootstrap)
                entry["leakage"] = {
                    k: {"reports_with_all_words": v["reports_with_all_words"], "share": v["share"]}
                    for k, v in leakage_audit(task.prompts.classes, train_texts).items()
                }
                out["zeroshot"][task.name] = entry
        if "retrieval" in tasks:
            say(f"{data.name}: retrieval")
            texts = EvalData.texts(data.held_out)
            unique = sorted(set(texts))
            text_emb = dict(zip(unique, encode_text(unique), strict=True))
            out["retrieval"] = retrieval(test_emb, text_emb, texts)
        if "probe" in tasks and data.train:
            say(f"{data.name}: linear probe and baselines")
            train, test = (train_sig, train_mask, train_emb), (test_sig, test_mask, test_emb)
            out["probe"] = _probe(embedder, data, train, test, n_bootstrap, cnn_epochs)
        results["datasets"][data.name] = out
    emb = np.concatenate(pooled_emb) if pooled_emb else np.zeros((0, 0), dtype=np.float32)
    examples = ExampleSource(example_texts, np.concatenate(example_emb)) if example_emb else None
    if "contrast" in tasks:
        say(f"contrast set over {len(pooled_records)} held-out records")
        results["contrast"] = _contrast(pooled_records, emb, encode_text, contrast_set, report_ranker, n_bootstrap)
        if examples is not None:
            results["contrast"]["text_to_ecg_by_example"] = text_to_ecg(
                load_contrast_set(contrast_set),
                pooled_records,
                emb,
                encode_text,
                n_bootstrap=n_bootstrap,
                examples=examples,
            )
    if "precision" in tasks:
        say("text->ECG precision@10")
        results["precision_at_10"] = precision_at_k(load_queries(queries), pooled_records, emb, encode_text)
        if examples is not None:
            results["precision_at_10_by_example"] = precision_at_k(
                load_queries(queries), pooled_records, emb, encode_text, examples=examples
            )
            # As the app ranks by default: by example, then the measured criteria a query names.
            measure = record_measurer(catalogs)
            results["precision_at_10_by_example_measured"] = precision_at_k(
                load_queries(queries), pooled_records, emb, encode_text, examples=examples, measure=measure
            )
    results["wall_s"] = round(time.perf_counter() - started, 1)
    return results


def _contrast(records: list[Record], ecg_emb: np.ndarray, encode_text, path: Path, ranker: str, n_bootstrap: int):
    """Both directions of the contrast set over the pooled held-out records."""
    pairs = load_contrast_set(path)
    reports = ReportSet.from_records(records)
    text_emb = encode_text(reports.texts) if reports.texts else np.zeros((0, ecg_emb.shape[1]), dtype=np.float32)
    rank, ranker_name = make_report_ranker(reports.texts, text_emb, encode_text, ranker)
    return {
        "set": path.name,
        "text_to_ecg": text_to_ecg(pairs, records, ecg_emb, encode_text, n_bootstrap=n_bootstrap),
        "text_to_report": text_to_report(pairs, reports, rank, ranker_name),
    }


def _probe(embedder: Embedder, data: EvalData, train: tuple, test: tuple, n_bootstrap: int, cnn_epochs: int):
    """Linear probe per task at 10 % and 100 % of the training split, next to the two baselines.

    ``train`` and ``test``: (signals, lead masks, embeddings) of the training and held-out records, read and encoded
    once by the caller (the by-example ranking uses the training embeddings too).
    """
    cfg = embedder.preprocess_cfg
    train_sig, train_mask, train_emb = train
    test_sig, test_mask, test_emb = test
    model_cfg = embedder.model.model_cfg
    rand_train = random_init_features(model_cfg, cfg, train_sig, train_mask)
    rand_test = random_init_features(model_cfg, cfg, test_sig, test_mask)
    out = {}
    for task in data.tasks:
        names = task.prompts.class_names
        y_tr, y_te = task.truth(data.train), task.truth(data.held_out)
        entry: dict = {}
        for fraction in PROBE_FRACTIONS:
            key = f"{int(fraction * 100)}pct"
            entry[f"pretrained_{key}"] = linear_probe(
                train_emb, y_tr, test_emb, y_te, names, fraction=fraction, n_bootstrap=n_bootstrap
            )
            entry[f"random_init_{key}"] = linear_probe(
                rand_train, y_tr, rand_test, y_te, names, fraction=fraction, n_bootstrap=n_bootstrap
            )
        trainable = [j for j in range(len(names)) if 0 < y_tr[:, j].sum() < len(y_tr)]
        if trainable:
            logits = cached_supervised_cnn_scores(
                train_sig, train_mask, y_tr[:, trainable], test_sig, test_mask, epochs=cnn_epochs
            )
            cnn = auc_report(y_te[:, trainable], logits, [names[j] for j in trainable], n_bootstrap=n_bootstrap)
            entry["supervised_cnn_100pct"] = cnn.to_dict()
        out[task.name] = entry
    return out


def mean_or_none(values: Sequence[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None
