"""Browse on the server: filter, search and page the indexed records, so only one page of rows leaves the server.

A :class:`BrowseIndex` is built once per index (columnar: a dataset code per record, a posting list per label, and
one lower-cased text blob of every record's id, labels and reports), so a request costs a few numpy mask operations
and one C-level substring scan instead of a Python loop over every record and field.

Matching: a query matches a record when it occurs (case-insensitive, runs of spaces as one) in its id, its labels,
its report or its English report. Labels are filtered per vocabulary: each dataset has its own label set
(:meth:`BrowseIndex.labels`), since PTB-XL's ``AFIB`` and LUDB's ``atrial fibrillation`` are different vocabularies.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.explorer.store import RecordInfo

PAGE_SIZE = 25
MAX_PAGE_SIZE = 200
# Separators inside the text blob; whitespace-normalised text and queries never contain them, so a match never
# spans two fields or two records.
_FIELD_SEP = "\x1f"
_RECORD_SEP = "\x1e"


def normalise(text: str) -> str:
    """Lower case, runs of whitespace as one space, separator characters dropped."""
    text = str(text).replace(_FIELD_SEP, " ").replace(_RECORD_SEP, " ")
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class BrowsePage:
    """One page of the records that match a browse request.

    Attributes:
        records: the page's records, in index order.
        page: the page shown (1-based, clamped to the pages there are).
        page_size: records per page.
        total: records matching the request (over all pages).
    """

    records: list[RecordInfo]
    page: int
    page_size: int
    total: int

    @property
    def n_pages(self) -> int:
        """Pages there are (1 when nothing matches, so "page 1 of 1" is always true)."""
        return max(1, math.ceil(self.total / self.page_size))

    @property
    def first(self) -> int:
        """1-based position of the page's first record among the matches (0 when nothing matches)."""
        return (self.page - 1) * self.page_size + 1 if self.records else 0


class BrowseIndex:
    """Columnar view of the indexed records for filtering, searching and paging.

    Args:
        records: the indexed records (row ``i`` is ``records[i]``); kept as given (a memory-mapped table stays one),
            and read once here to build the columns.
    """

    def __init__(self, records: Sequence[RecordInfo]):
        self.records = records
        self.record_ids: list[str] = []
        datasets: list[str] = []
        postings: dict[str, list[int]] = {}
        self._label_counts: dict[str, Counter] = {}
        pieces, starts, offset = [], [], 0
        for i, r in enumerate(records):  # one pass: a memory-mapped table builds each record once
            self.record_ids.append(r.record_id)
            datasets.append(r.dataset)
            labels = r.label_list()
            for lab in labels:
                postings.setdefault(lab, []).append(i)
            self._label_counts.setdefault(r.dataset, Counter()).update(labels)
            text = _FIELD_SEP.join(normalise(s) for s in (r.record_id, ", ".join(labels), r.text, r.text_en))
            starts.append(offset)
            pieces.append(text)
            offset += len(text) + 1
        self.datasets = sorted(set(datasets))
        codes = {d: i for i, d in enumerate(self.datasets)}
        self._dataset_code = np.array([codes[d] for d in datasets], np.int32)
        self._postings = {lab: np.asarray(rows, np.int64) for lab, rows in postings.items()}
        self._blob = _RECORD_SEP.join(pieces)
        self._starts = np.asarray(starts, np.int64)

    def __len__(self) -> int:
        return len(self.record_ids)

    def labels(self, dataset: str | None = None) -> list[tuple[str, int]]:
        """``(label, records carrying it)`` of one dataset's vocabulary (``None``: every dataset's labels, counted
        together), most frequent first."""
        if dataset is None:
            counts: Counter = Counter()
            for c in self._label_counts.values():
                counts.update(c)
        else:
            counts = self._label_counts.get(dataset, Counter())
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    def matching(self, query: str) -> np.ndarray:
        """(N,) bool: records whose id, labels or reports contain ``query`` (see the module docstring)."""
        mask = np.zeros(len(self.record_ids), bool)
        needle = normalise(query)
        if not needle:
            mask[:] = True
            return mask
        # One C-level regex scan; each match runs on to the end of its record, so a record is counted once and the
        # Python work is per matching record, not per occurrence.
        pattern = re.compile(re.escape(needle) + f"[^{_RECORD_SEP}]*")
        hits = np.fromiter((m.start() for m in pattern.finditer(self._blob)), np.int64)
        mask[np.searchsorted(self._starts, hits, side="right") - 1] = True
        return mask

    def mask(
        self,
        query: str = "",
        dataset: str | None = None,
        label: str | None = None,
        keep: np.ndarray | None = None,
    ) -> np.ndarray:
        """(N,) bool: records of ``dataset`` carrying ``label`` whose text contains ``query``, within ``keep``.

        ``None`` (or an empty query) means no filter; an unknown dataset or label matches nothing.
        """
        mask = np.ones(len(self), bool) if keep is None else np.asarray(keep, bool).copy()
        if dataset is not None:
            code = self.datasets.index(dataset) if dataset in self.datasets else -1
            mask &= self._dataset_code == code
        if label is not None:
            with_label = np.zeros(len(self), bool)
            with_label[self._postings.get(label, np.zeros(0, np.int64))] = True
            mask &= with_label
        if query and mask.any():
            mask &= self.matching(query)
        return mask

    def page(self, mask: np.ndarray, page: int = 1, page_size: int = PAGE_SIZE) -> BrowsePage:
        """The records of ``mask`` on page ``page`` (1-based, clamped to the pages there are)."""
        page_size = min(max(1, int(page_size)), MAX_PAGE_SIZE)
        rows = np.flatnonzero(mask)
        n_pages = max(1, math.ceil(len(rows) / page_size))
        page = min(max(1, int(page)), n_pages)
        chosen = rows[(page - 1) * page_size : page * page_size]
        return BrowsePage([self.records[i] for i in chosen], page, page_size, int(len(rows)))
