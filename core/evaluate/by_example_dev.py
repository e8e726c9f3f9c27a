"""The training-only comparison that chose text -> ECG by example (:mod:`core.search.examples`).

Held-out records play no part: the training records are split into examples (PTB-XL folds 1-6, two thirds of the
LUDB and CinC training records by a hash of their id) and records scored (PTB-XL folds 7-8, the other third), and the
contrast set and the precision@10 queries are scored on the latter with the text embedding and by example::

    python -m core.evaluate.by_example_dev --checkpoint checkpoints/mets --data "ptbxl=DIR1+DIR2 ludb=DIR cinc2021=DIR"

``--queries eval/dev_queries.json`` scores findings typed the way users type them ("RBBB", "left bundle branch
block") instead of the evaluation's queries.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np

from core.data.catalogs.base import Record
from core.embed import Embedder
from core.evaluate.contrast import CONTRAST_SET, ReportSet, load_contrast_set, text_to_ecg, text_to_report
from core.evaluate.data import EvalData, load_eval_data
from core.evaluate.precision import QUERIES, load_queries, precision_at_k, record_measurer
from core.evaluate.ranking import make_report_ranker
from core.search.examples import MIN_EXAMPLES, ExampleSource

EXAMPLE_FOLDS = range(1, 7)  # PTB-XL training folds that give examples; 7-8 are scored


def is_example(record: Record) -> bool:
    """Whether a training record gives examples (else it is scored)."""
    if record.dataset == "ptbxl":
        return record.meta.get("strat_fold") in EXAMPLE_FOLDS
    return zlib.crc32(record.record_id.encode()) % 3 != 0


def compare(
    checkpoint: Path,
    specs: list[str],
    contrast_set: Path = CONTRAST_SET,
    min_examples: int = MIN_EXAMPLES,
    queries: Path = QUERIES,
) -> dict:
    """Contrast-set and precision@10 results on the scored training records, with the text embedding and by
    example, and the contrast set's text -> report over every training report with the app's hybrid search (the
    held-out evaluation's ranking, on training reports): ``{"text": ..., "by_example": ..., "precision_text": ...,
    "precision_by_example": ..., "report": ...}``."""
    embedder = Embedder.from_checkpoint(checkpoint)
    records: list[Record] = []
    emb: list[np.ndarray] = []
    catalogs: dict = {}
    for spec in specs:
        data = load_eval_data(spec)
        data.drop_unreadable(embedder.preprocess_cfg)
        signals, masks = data.signals(data.train, embedder.preprocess_cfg)
        records += data.train
        catalogs.update({r.dataset: data.catalog for r in data.train})
        emb.append(embedder.encode_signals(signals, masks))
    all_emb = np.concatenate(emb)
    examples = np.array([is_example(r) for r in records])
    scored = [r for r, ex in zip(records, examples, strict=True) if not ex]
    texts = [t for t, ex in zip(EvalData.texts(records), examples, strict=True) if ex]
    source = ExampleSource(texts, all_emb[examples], min_examples)
    pairs = load_contrast_set(contrast_set)
    encode = embedder.encode_texts
    wanted = load_queries(queries)
    return {
        "n_examples": int(examples.sum()),
        "n_scored": len(scored),
        "text": text_to_ecg(pairs, scored, all_emb[~examples], encode, n_bootstrap=0),
        "by_example": text_to_ecg(pairs, scored, all_emb[~examples], encode, n_bootstrap=0, examples=source),
        "precision_text": precision_at_k(wanted, scored, all_emb[~examples], encode),
        "precision_by_example": precision_at_k(wanted, scored, all_emb[~examples], encode, examples=source),
        "precision_by_example_measured": precision_at_k(
            wanted, scored, all_emb[~examples], encode, examples=source, measure=record_measurer(catalogs)
        ),
        "report": _text_to_report(pairs, records, encode),
    }


def _text_to_report(pairs, records: list[Record], encode) -> dict:
    """The contrast set's text -> report over the distinct reports of ``records`` (hybrid ranking)."""
    reports = ReportSet.from_records(records)
    rank, name = make_report_ranker(reports.texts, encode(reports.texts), encode, "hybrid")
    return text_to_report(pairs, reports, rank, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--data", nargs="+", required=True, help="dataset specs, as for `python -m core evaluate`")
    parser.add_argument("--min-examples", type=int, default=MIN_EXAMPLES, help="fewer: the side keeps its text")
    parser.add_argument(
        "--queries", type=Path, default=QUERIES, help="precision@10 queries (default: the evaluation's 16)"
    )
    args = parser.parse_args()
    out = compare(args.checkpoint, args.data, min_examples=args.min_examples, queries=args.queries)
    print(f"examples from {out['n_examples']} training records, {out['n_scored']} training records scored")
    print("| pair | examples A / B | text | by example |\n|---|---|---|---|")
    for text, example in zip(out["text"]["pairs"], out["by_example"]["pairs"], strict=True):
        if text["status"] != "ok":
            continue
        ex = example["examples"]
        print(f"| {text['id']} | {ex['a']} / {ex['b']} | {text['auc']:.3f} | {example['auc']:.3f} |")
    print(f"| **mean** | | {out['text']['mean_auc']:.3f} | {out['by_example']['mean_auc']:.3f} |")
    report = out["report"]
    print(f"\ntext -> report over {report['n_reports']} distinct training reports (hybrid search)")
    print("| pair | AUC | right first |\n|---|---|---|")
    for pair in report["pairs"]:
        if pair.get("status", "ok") == "ok" and "auc" in pair:
            print(f"| {pair['id']} | {pair['auc']:.3f} | {pair['right_first']:.0%} |")
    print(f"| **mean** | {report['mean_auc']:.3f} | {report['right_first_share']:.1%} |")
    text, example, measured = out["precision_text"], out["precision_by_example"], out["precision_by_example_measured"]
    print(
        "\n| query | examples | relevant / pool | p@10 text | p@10 by example | + measured criteria |"
        "\n|---|---|---|---|---|---|"
    )
    for by_text, by_example, by_both in zip(text["queries"], example["queries"], measured["queries"], strict=True):
        if by_text["status"] != "ok":
            print(f"| {by_text['query']} | {by_example['examples']} | too few | | | |")
            continue
        said = f" ({'; '.join(by_both['criteria'])})" if by_both.get("criteria") else ""
        print(
            f"| {by_text['query']} | {by_example['examples']} | {by_text['n_relevant']} / {by_text['n_pool']} "
            f"| {by_text['precision']:.1f} | {by_example['precision']:.1f} | {by_both['precision']:.1f}{said} |"
        )
    if text["mean_precision"] is not None:
        print(
            f"| **mean** ({text['n_scored']} queries) | | | {text['mean_precision']:.3f} "
            f"| {example['mean_precision']:.3f} | {measured['mean_precision']:.3f} |"
        )


if __name__ == "__main__":
    main()
