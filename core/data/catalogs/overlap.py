"""The same ECG in two datasets: one split for both copies, and one copy in training.

The PhysioNet/CinC Challenge 2021 redistributes PTB-XL: its record ``HR#####`` is PTB-XL ecg_id ##### (at 500 Hz;
e.g. ``HR17691`` in ``shared/data/cinc2021_more`` is ``ptbxl/17691`` in ``shared/data/ptbxl_more``). Were the two
copies split independently, an ECG could be trained on as one and scored as the other. So:

- a CinC ``HR`` record takes the split PTB-XL gives its ecg_id (:func:`core.data.catalogs.ptbxl.ptbxl_split`), read
  from PTB-XL metadata (``ptbxl_database.csv``) found next to the CinC folder or given; an ``HR`` record whose
  ecg_id is in no metadata at hand is ``test``, because it could be PTB-XL fold 9-10 and must never be trained on;
- when PTB-XL and CinC are loaded together (:func:`reconcile`), the CinC copy of an ECG whose PTB-XL record is loaded
  is dropped, so it is neither trained on twice nor scored twice, and the remaining ``HR`` records take their splits
  from the loaded PTB-XL folders' metadata as well.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from core.data import registry
from core.data.catalogs.base import Catalog, Record
from core.data.catalogs.ptbxl import split_table

log = logging.getLogger(__name__)

PTBXL = "ptbxl"
CINC = "cinc2021"
# Split of a PTB-XL copy whose ecg_id no metadata at hand knows: held out, as it may be fold 9-10.
UNKNOWN_TWIN_SPLIT = "test"
_HR_NAME = re.compile(r"HR(\d{5})")


def ptbxl_twin_id(record: Record) -> int | None:
    """The PTB-XL ecg_id of a CinC-2021 ``HR#####`` record; None for any other record."""
    if record.dataset != CINC:
        return None
    match = _HR_NAME.fullmatch(record.record_id.rsplit("/", 1)[-1])
    return int(match.group(1)) if match else None


def find_ptbxl_metadata(start: Path, levels: int = 3) -> list[Path]:
    """PTB-XL metadata files near a folder: ``start`` and up to ``levels`` parents are searched for
    ``ptbxl_database.csv``, ``<PTB-XL's PhysioNet path>/ptbxl_database.csv`` and ``*/ptbxl_database*.csv`` (e.g.
    ``shared/data/ptbxl_more/ptbxl_database.csv`` and ``shared/data/ptbxl_metadata_extra/ptbxl_database_subset_*.csv``).
    """
    found: list[Path] = []
    for folder in [start, *list(start.parents)[:levels]]:
        found += [candidate / "ptbxl_database.csv" for candidate in registry.candidates(PTBXL, [folder])]
        found += sorted(folder.glob("*/ptbxl_database*.csv"))
    return [path for path in dict.fromkeys(found) if path.is_file()]


def twin_split(ecg_id: int, ptbxl_splits: Mapping[int, str]) -> str:
    """The split of a copy of PTB-XL ecg_id ``ecg_id``: PTB-XL's, or ``test`` when unknown."""
    return ptbxl_splits.get(ecg_id, UNKNOWN_TWIN_SPLIT)


def assign_twin_splits(
    records: Iterable[Record], ptbxl_splits: Mapping[int, str], *, keep_unknown: bool = False
) -> list[Record]:
    """Records with every CinC ``HR`` record given its PTB-XL twin's split.

    Args:
        records: catalog records (non-``HR`` records pass through unchanged).
        ptbxl_splits: ecg_id -> split, e.g. from :func:`core.data.catalogs.ptbxl.split_table`.
        keep_unknown: leave an ``HR`` record whose ecg_id is not in ``ptbxl_splits`` as it is (it already went through
            this rule); otherwise it becomes ``test``.
    """
    out = []
    for record in records:
        ecg_id = ptbxl_twin_id(record)
        if ecg_id is not None:
            known = ecg_id in ptbxl_splits
            split = record.split if keep_unknown and not known else twin_split(ecg_id, ptbxl_splits)
            record = replace(record, split=split, meta={**record.meta, "ptbxl_ecg_id": ecg_id})
        out.append(record)
    return out


def ptbxl_splits_near(roots: Sequence[Path], extra: Sequence[Path] = ()) -> dict[int, str]:
    """ecg_id -> split from the PTB-XL metadata found near ``roots`` (see :func:`find_ptbxl_metadata`) and ``extra``."""
    files = list(dict.fromkeys([*extra, *(f for root in roots for f in find_ptbxl_metadata(root))]))
    return split_table(files)


def reconcile(catalogs: Mapping[str, Catalog]) -> dict[str, Catalog]:
    """Catalogs loaded together, with every ECG on one side of the split and at most once.

    Args:
        catalogs: dataset name -> catalog (e.g. ``{"ptbxl": ..., "ludb": ..., "cinc2021": ...}``).

    Returns:
        The same mapping where, if both PTB-XL and CinC-2021 are present, the CinC copies of loaded PTB-XL records are
        dropped and the other ``HR`` records take the split the loaded PTB-XL folders' metadata gives their ecg_id
        (those it does not know keep the split the CinC loader gave them). Other catalogs are returned unchanged.
    """
    out = dict(catalogs)
    ptbxl, cinc = catalogs.get(PTBXL), catalogs.get(CINC)
    if ptbxl is None or cinc is None:
        return out
    loaded = {record.meta.get("ecg_id") for record in ptbxl.records}
    kept = [record for record in cinc.records if ptbxl_twin_id(record) not in loaded]
    if len(kept) < len(cinc):
        log.info("%s: dropped %d records also loaded as PTB-XL records", CINC, len(cinc) - len(kept))
    table = ptbxl_splits_near([], extra=[root / "ptbxl_database.csv" for root in ptbxl.roots])
    out[CINC] = cinc.subset(assign_twin_splits(kept, table, keep_unknown=True))
    return out
