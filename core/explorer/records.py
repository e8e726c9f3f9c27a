"""The indexed records as memory-mappable columns, so opening a million-record index builds no per-record objects.

A :class:`RecordTable` is a read-only ``Sequence[RecordInfo]``: row ``i`` is made when asked for. On disk it is a
folder of ``.npy`` files (numpy's own format, opened with ``mmap_mode="r"``):

- a string column is a UTF-8 byte blob (``<name>.utf8.npy``) and N + 1 offsets into it (``<name>.offsets.npy``);
- a categorical column (dataset, split) is one small integer code per row (``<name>.codes.npy``) plus its
  categories in ``table.json``, so filtering by dataset is a vectorised comparison;
- ``id_order.npy`` holds the rows sorted by record id, so a record is found by binary search without a dict.

Labels are stored as one JSON object per row (a string column); they are parsed only for the rows asked for.
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class RecordInfo:
    """What the explorer keeps about an indexed record (a light copy of a catalog ``Record``)."""

    record_id: str
    dataset: str
    text: str
    text_en: str
    labels: dict[str, list[str]] = field(default_factory=dict)
    split: str = ""
    path: str = ""

    def label_list(self) -> list[str]:
        """All labels, de-duplicated, in label-set order."""
        seen: dict[str, None] = {}
        for values in self.labels.values():
            for v in values:
                seen.setdefault(v, None)
        return list(seen)

    def label_text(self) -> str:
        """``"superclass: CD; rhythm: SR"`` (empty label sets left out)."""
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in self.labels.items() if v)


STRING_COLUMNS = ("record_id", "text", "text_en", "path", "labels")
CATEGORY_COLUMNS = ("dataset", "split")
TABLE_FILE = "table.json"
TABLE_VERSION = 1


class StringColumn:
    """N strings as one UTF-8 blob and N + 1 offsets (both plain numpy arrays, memory-mapped when loaded)."""

    def __init__(self, blob: np.ndarray, offsets: np.ndarray):
        self.blob, self.offsets = blob, offsets

    @classmethod
    def from_strings(cls, values: Sequence[str]) -> StringColumn:
        encoded = [v.encode("utf-8") for v in values]
        offsets = np.zeros(len(encoded) + 1, np.int64)
        np.cumsum([len(b) for b in encoded], out=offsets[1:])
        return cls(np.frombuffer(b"".join(encoded), np.uint8).copy(), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> str:
        return self.blob[self.offsets[i] : self.offsets[i + 1]].tobytes().decode("utf-8")

    def save(self, folder: Path, name: str) -> None:
        np.save(folder / f"{name}.utf8.npy", self.blob)
        np.save(folder / f"{name}.offsets.npy", self.offsets)

    @classmethod
    def load(cls, folder: Path, name: str, mmap: bool) -> StringColumn:
        mode = "r" if mmap else None
        return cls(np.load(folder / f"{name}.utf8.npy", mmap_mode=mode),
                   np.load(folder / f"{name}.offsets.npy", mmap_mode=mode))  # fmt: skip


class RecordTable(Sequence):
    """Read-only, columnar ``Sequence[RecordInfo]`` (see the module docstring).

    Build one with :meth:`from_records` (in memory) or :meth:`load` (memory-mapped); :meth:`save` writes it.
    """

    def __init__(self, strings: dict[str, StringColumn], codes: dict[str, np.ndarray],
                 categories: dict[str, list[str]], id_order: np.ndarray):  # fmt: skip
        self._strings, self._codes, self._categories, self._id_order = strings, codes, categories, id_order

    @classmethod
    def from_records(cls, records: Sequence[RecordInfo]) -> RecordTable:
        strings = {
            name: StringColumn.from_strings(
                [json.dumps(r.labels) if name == "labels" else getattr(r, name) for r in records]
            )
            for name in STRING_COLUMNS
        }
        codes, categories = {}, {}
        for name in CATEGORY_COLUMNS:
            values = [getattr(r, name) for r in records]
            categories[name] = sorted(set(values))
            lookup = {c: i for i, c in enumerate(categories[name])}
            codes[name] = np.array([lookup[v] for v in values], np.int32)
        ids = [r.record_id for r in records]
        id_order = np.array(sorted(range(len(ids)), key=ids.__getitem__), np.int64)
        return cls(strings, codes, categories, id_order)

    # ---- Sequence --------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._id_order)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"record row {i} out of range (0..{len(self) - 1})")
        return RecordInfo(
            record_id=self._strings["record_id"][i],
            dataset=self.category("dataset", i),
            text=self._strings["text"][i],
            text_en=self._strings["text_en"][i],
            labels=json.loads(self._strings["labels"][i]),
            split=self.category("split", i),
            path=self._strings["path"][i],
        )

    def __iter__(self) -> Iterator[RecordInfo]:
        return (self[i] for i in range(len(self)))

    # ---- columns ---------------------------------------------------------------------------------------------------
    def category(self, name: str, i: int) -> str:
        """Value of a categorical column (``"dataset"``, ``"split"``) at row ``i``."""
        return self._categories[name][int(self._codes[name][i])]

    def categories(self, name: str) -> list[str]:
        """The distinct values of a categorical column, sorted."""
        return list(self._categories[name])

    def codes(self, name: str) -> np.ndarray:
        """(N,) integer codes of a categorical column (index into :meth:`categories`)."""
        return self._codes[name]

    def strings(self, name: str) -> list[str]:
        """Every value of a string column (``record_id``, ``text``, ``text_en``, ``path``), decoded."""
        column = self._strings[name]
        return [column[i] for i in range(len(column))]

    def record_id(self, i: int) -> str:
        return self._strings["record_id"][i]

    def row_of(self, record_id: str) -> int | None:
        """Row of a record id, or None (binary search over the sorted ids: O(log N) string decodes)."""
        ids = self._strings["record_id"]
        j = bisect.bisect_left(range(len(self)), record_id, key=lambda k: ids[self._id_order[k]])
        if j < len(self) and ids[self._id_order[j]] == record_id:
            return int(self._id_order[j])
        return None

    # ---- disk ------------------------------------------------------------------------------------------------------
    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for name, column in self._strings.items():
            column.save(folder, name)
        for name, codes in self._codes.items():
            np.save(folder / f"{name}.codes.npy", codes)
        np.save(folder / "id_order.npy", self._id_order)
        meta = {"version": TABLE_VERSION, "n": len(self), "categories": self._categories}
        (folder / TABLE_FILE).write_text(json.dumps(meta), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> RecordTable:
        meta = json.loads((folder / TABLE_FILE).read_text(encoding="utf-8"))
        if meta.get("version") != TABLE_VERSION:
            raise ValueError(f"{folder}: record table version {meta.get('version')}, expected {TABLE_VERSION}")
        mode = "r" if mmap else None
        strings = {name: StringColumn.load(folder, name, mmap) for name in STRING_COLUMNS}
        codes = {name: np.load(folder / f"{name}.codes.npy", mmap_mode=mode) for name in CATEGORY_COLUMNS}
        return cls(strings, codes, meta["categories"], np.load(folder / "id_order.npy", mmap_mode=mode))
