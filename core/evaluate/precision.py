"""Text -> ECG precision@k over free-text queries (``eval/queries.json``) on held-out ECGs, with chance level.

Each query searches the held-out ECGs of the datasets its definition names (a dataset without a definition for the
finding cannot say whether its records are relevant). Chance is the share of relevant records in that pool, i.e. the
expected precision@k of a random ranking.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.data.catalogs.base import Record
from core.evaluate.labels import LabelDefinition
from core.search.criteria import criteria_for, reorder
from core.search.examples import ExampleSource
from core.zeroshot import TextEncoder

QUERIES = Path(__file__).resolve().parents[2] / "eval" / "queries.json"
K = 10
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Query:
    text: str
    relevant: LabelDefinition


def load_queries(path: Path = QUERIES) -> list[Query]:
    """The queries of a queries JSON (``eval/queries.json``)."""
    spec = json.loads(Path(path).read_text())
    return [Query(q["query"], LabelDefinition.from_dict(q["relevant"])) for q in spec["queries"]]


def precision_at_k(
    queries: Sequence[Query],
    records: Sequence[Record],
    ecg_emb: np.ndarray,
    encode_text: TextEncoder,
    k: int = K,
    examples: ExampleSource | None = None,
    measure: Callable[[Record], Any] | None = None,
) -> dict:
    """Precision@k per query, the mean over queries, and the chance level next to each.

    Args:
        queries: free-text queries with their relevance definitions.
        records: held-out records, aligned with ``ecg_emb`` (n, D).
        ecg_emb: ECG embeddings.
        encode_text: the checkpoint's text encoder.
        k: cut-off.
        examples: rank by example where enough of these reports state the query (:mod:`core.search.examples`);
            each query's entry says how many (0: its text embedding ranked).
        measure: a record's automated measurements (None when they fail): a query naming a finding a measurement
            defines has its nearest ECGs re-ordered by them, as the app's search does (:mod:`core.search.criteria`);
            its entry lists the criteria.
    """
    q_emb = np.asarray(encode_text([q.text for q in queries]), dtype=np.float64)
    q_emb /= np.maximum(np.linalg.norm(q_emb, axis=1, keepdims=True), 1e-12)
    per_query = []
    for query, emb in zip(queries, q_emb, strict=True):
        pool = np.nonzero(query.relevant.covered(records))[0]
        relevant = query.relevant.positives(records)[pool]
        entry: dict = {"query": query.text, "n_pool": len(pool), "n_relevant": int(relevant.sum())}
        if examples is not None:
            found = examples.query([query.text])
            entry["examples"] = 0 if found is None else found.count
            emb = emb if found is None else found.vector
        if len(pool) < k or not relevant.any():
            entry["status"] = "too few"
            per_query.append(entry)
            continue
        scores = ecg_emb[pool] @ emb
        ranked = np.argsort(-scores, kind="stable")
        criteria = criteria_for(query.text) if measure is not None else ()
        if criteria:
            entry["criteria"] = [c.describe() for c in criteria]
            candidates = [records[j] for j in pool[ranked]]  # the pool's records, nearest first
            order = reorder(criteria, list(range(len(ranked))), lambda i, c=candidates: measure(c[i]))[0]
            ranked = ranked[order]
        top = ranked[:k]
        entry.update(
            status="ok",
            precision=float(relevant[top].mean()),
            chance=float(relevant.mean()),
            top_records=[records[pool[i]].record_id for i in top],
        )
        per_query.append(entry)
    ok = [e for e in per_query if e["status"] == "ok"]
    return {
        "k": k,
        "queries": per_query,
        "n_scored": len(ok),
        "mean_precision": float(np.mean([e["precision"] for e in ok])) if ok else None,
        "mean_chance": float(np.mean([e["chance"] for e in ok])) if ok else None,
        "too_few": [e["query"] for e in per_query if e["status"] == "too few"],
    }


def record_measurer(catalogs: Mapping[str, Any]) -> Callable[[Record], Any]:
    """``record -> Measurements`` (None where reading or measuring fails), through the catalog of the record's
    dataset, each record measured once."""
    from core.measure import measure_ecg

    done: dict[str, Any] = {}

    def measure(record: Record) -> Any:
        if record.record_id not in done:
            try:
                done[record.record_id] = measure_ecg(catalogs[record.dataset].read(record))
            except (KeyError, OSError, ValueError, RuntimeError) as exc:  # counted as "not measured"
                logger.warning("%s: not measured (%s)", record.record_id, type(exc).__name__)
                done[record.record_id] = None
        return done[record.record_id]

    return measure
