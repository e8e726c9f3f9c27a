"""Clinical contrast set: twin findings (left vs right BBB, ST elevation vs depression, ...) scored both ways.

For a pair (A, B) on held-out records, records positive for both sides are left out, then:

- text -> ECG: A's query (its prompts averaged, as in zero-shot) scores every ECG; the AUC of A-positive ECGs against
  B-positive ECGs says whether A's ECGs come first. The same for B's query. The pair's AUC is the mean of both:
  a model that ranks one twin's ECGs first whatever the query says (A's AUC 0.9, B's 0.1) scores 0.5, as does one
  whose two queries are embedded alike (then B's AUC is 1 - A's).
- text -> report: each query text of A ranks the distinct held-out reports; "right twin first" holds when the
  top-ranked report among A- and B-reports is an A-report (a tie counts as wrong). The AUC of A- vs B-reports is
  reported next to it.

A pair enters the means only with at least ``MIN_POSITIVES`` ECGs on each side; others are listed as "too few".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data.catalogs.base import Record
from core.evaluate.labels import LabelDefinition
from core.evaluate.metrics import binary_auc, bootstrap_ci
from core.evaluate.ranking import ReportRanker
from core.search.examples import ExampleSource
from core.zeroshot import TextEncoder, class_embeddings

CONTRAST_SET = Path(__file__).resolve().parents[2] / "eval" / "contrast_set.json"
# Below 3 positives an AUC moves in steps of a third or more; such pairs are reported, not averaged.
MIN_POSITIVES = 3


@dataclass(frozen=True)
class Side:
    """One finding of a pair: its free-text queries and which records carry it."""

    name: str
    queries: tuple[str, ...]
    positives: LabelDefinition


@dataclass(frozen=True)
class ContrastPair:
    id: str
    a: Side
    b: Side

    def members(self, records: Sequence[Record]) -> tuple[np.ndarray, np.ndarray]:
        """(A-only, B-only) boolean vectors; records positive for both sides are in neither."""
        pos_a, pos_b = self.a.positives.positives(records), self.b.positives.positives(records)
        return pos_a & ~pos_b, pos_b & ~pos_a


def load_contrast_set(path: Path = CONTRAST_SET) -> list[ContrastPair]:
    """The pairs of a contrast-set JSON (``eval/contrast_set.json``)."""
    spec = json.loads(Path(path).read_text())

    def side(s: dict) -> Side:
        return Side(s["name"], tuple(s["queries"]), LabelDefinition.from_dict(s["positives"]))

    return [ContrastPair(p["id"], side(p["a"]), side(p["b"])) for p in spec["pairs"]]


def _counts_by_dataset(records: Sequence[Record], mask: np.ndarray) -> dict[str, int]:
    out: dict[str, int] = {}
    for record, hit in zip(records, mask, strict=True):
        if hit:
            out[record.dataset] = out.get(record.dataset, 0) + 1
    return out


def _pair_aucs(a_only: np.ndarray, b_only: np.ndarray, s_a: np.ndarray, s_b: np.ndarray) -> tuple | None:
    """(AUC of A's query, AUC of B's query) over A-only vs B-only records, or None if a side is empty."""
    keep = a_only | b_only
    auc_a = binary_auc(a_only[keep], s_a[keep])
    auc_b = binary_auc(b_only[keep], s_b[keep])
    return None if auc_a is None or auc_b is None else (auc_a, auc_b)


def text_to_ecg(
    pairs: Sequence[ContrastPair],
    records: Sequence[Record],
    ecg_emb: np.ndarray,
    encode_text: TextEncoder,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    examples: ExampleSource | None = None,
) -> dict:
    """Text -> ECG contrast AUCs per pair, their mean and minimum, with percentile bootstrap 95 % intervals.

    Args:
        pairs: the contrast set.
        records: held-out records (any datasets), aligned with ``ecg_emb``.
        ecg_emb: (n, D) ECG embeddings.
        encode_text: the checkpoint's text encoder.
        n_bootstrap: resamples of the records for the intervals.
        seed: RNG seed.
        examples: rank by example (:mod:`core.search.examples`): a side whose queries are stated by enough of these
            reports is the mean of their ECGs; the others keep their text embedding. Each pair says how many
            examples each side had (0: text).
    """
    out_pairs, scored = [], []
    for pair in pairs:
        a_only, b_only = pair.members(records)
        _, emb = class_embeddings({"a": pair.a.queries, "b": pair.b.queries}, encode_text)
        used = [0, 0]
        if examples is not None:
            for j, side in enumerate((pair.a, pair.b)):
                found = examples.query(side.queries)
                if found is not None:
                    emb[j], used[j] = found.vector, found.count
        s_a, s_b = ecg_emb @ emb[0], ecg_emb @ emb[1]
        entry: dict = {
            "id": pair.id,
            "a": pair.a.name,
            "b": pair.b.name,
            "positives_a": int(a_only.sum()),
            "positives_b": int(b_only.sum()),
            "positives_by_dataset": {
                "a": _counts_by_dataset(records, a_only),
                "b": _counts_by_dataset(records, b_only),
            },
        }
        if examples is not None:
            entry["examples"] = {"a": used[0], "b": used[1]}
        if min(a_only.sum(), b_only.sum()) < MIN_POSITIVES:
            entry["status"] = "too few"
            out_pairs.append(entry)
            continue
        auc_a, auc_b = _pair_aucs(a_only, b_only, s_a, s_b)
        (idx,) = np.nonzero(a_only | b_only)

        def resampled(sel: np.ndarray, idx=idx, a_only=a_only, b_only=b_only, s_a=s_a, s_b=s_b) -> float | None:
            aucs = _pair_aucs(a_only[idx[sel]], b_only[idx[sel]], s_a[idx[sel]], s_b[idx[sel]])
            return None if aucs is None else float(np.mean(aucs))

        ci = bootstrap_ci(resampled, len(idx), n_bootstrap=n_bootstrap, seed=seed)
        entry.update(status="ok", auc_a=auc_a, auc_b=auc_b, auc=(auc_a + auc_b) / 2, ci95=list(ci) if ci else None)
        out_pairs.append(entry)
        scored.append((a_only, b_only, s_a, s_b))

    summary: dict = {"pairs": out_pairs, "n_records": len(records), "min_positives": MIN_POSITIVES}
    summary["n_scored"] = len(scored)
    summary["too_few"] = [p["id"] for p in out_pairs if p["status"] == "too few"]
    if not scored:
        return {**summary, "mean_auc": None, "ci95": None, "min_auc": None}
    aucs = [p["auc"] for p in out_pairs if p["status"] == "ok"]

    def resampled_mean(idx: np.ndarray) -> float | None:
        # One resample of all records, every pair scored on it; a pair that loses a side is skipped.
        values = [_pair_aucs(a[idx], b[idx], sa[idx], sb[idx]) for a, b, sa, sb in scored]
        values = [np.mean(v) for v in values if v is not None]
        return float(np.mean(values)) if values else None

    ci = bootstrap_ci(resampled_mean, len(records), n_bootstrap=n_bootstrap, seed=seed)
    worst = min(range(len(aucs)), key=aucs.__getitem__)
    ok_ids = [p["id"] for p in out_pairs if p["status"] == "ok"]
    return {
        **summary,
        "mean_auc": float(np.mean(aucs)),
        "ci95": list(ci) if ci else None,
        "min_auc": float(aucs[worst]),
        "min_pair": ok_ids[worst],
    }


@dataclass(frozen=True)
class ReportSet:
    """Distinct held-out report texts and, for each, the records that carry it."""

    texts: list[str]
    records: list[list[Record]]

    @classmethod
    def from_records(cls, records: Sequence[Record]) -> ReportSet:
        groups: dict[str, list[Record]] = {}
        for record in records:
            text = (record.text_en or record.text or "").strip()
            if text:
                groups.setdefault(text, []).append(record)
        texts = sorted(groups)
        return cls(texts, [groups[t] for t in texts])

    def members(self, pair: ContrastPair) -> tuple[np.ndarray, np.ndarray]:
        """(A-reports, B-reports): a text is an A-report if one of its records is A-only and none is B-only."""
        a_rep, b_rep = np.zeros(len(self.texts), bool), np.zeros(len(self.texts), bool)
        for i, group in enumerate(self.records):
            a_only, b_only = pair.members(group)
            a_rep[i], b_rep[i] = a_only.any() and not b_only.any(), b_only.any() and not a_only.any()
        return a_rep, b_rep


def text_to_report(pairs: Sequence[ContrastPair], reports: ReportSet, ranker: ReportRanker, ranker_name: str) -> dict:
    """Right-twin-first share and report AUC per pair, over every query text of both sides.

    Args:
        pairs: the contrast set.
        reports: distinct held-out reports.
        ranker: scores all of ``reports.texts`` for a query (:mod:`core.evaluate.ranking`).
        ranker_name: ``"dense"`` or ``"hybrid"``, recorded in the results.
    """
    out_pairs, firsts, aucs = [], [], []
    for pair in pairs:
        a_rep, b_rep = reports.members(pair)
        entry: dict = {"id": pair.id, "reports_a": int(a_rep.sum()), "reports_b": int(b_rep.sum())}
        if not (a_rep.any() and b_rep.any()):
            entry["status"] = "too few"
            out_pairs.append(entry)
            continue
        keep = a_rep | b_rep
        queries = []
        for side, own in ((pair.a, a_rep), (pair.b, b_rep)):
            for query in side.queries:
                score = ranker(query)[keep]
                own_kept = own[keep]
                best = score.max()
                # A tie at the top between an A- and a B-report is not a right answer.
                right = bool(own_kept[score == best].all())
                auc = binary_auc(own_kept, score)
                queries.append({"side": side.name, "query": query, "right_first": right, "auc": auc})
                firsts.append(right)
                aucs.append(auc)
        entry.update(
            status="ok",
            queries=queries,
            right_first=float(np.mean([q["right_first"] for q in queries])),
            auc=float(np.mean([q["auc"] for q in queries])),
        )
        out_pairs.append(entry)
    return {
        "ranker": ranker_name,
        "n_reports": len(reports.texts),
        "pairs": out_pairs,
        "n_queries": len(firsts),
        "right_first_share": float(np.mean(firsts)) if firsts else None,
        "mean_auc": float(np.mean(aucs)) if aucs else None,
        "too_few": [p["id"] for p in out_pairs if p["status"] == "too few"],
    }
