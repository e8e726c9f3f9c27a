"""LUDB 1.0.1, the Lobachevsky University Electrocardiography Database (https://doi.org/10.13026/eegm-h675).

200 ten-second 12-lead ECGs at 500 Hz, one per patient, with P/QRS/T onsets, peaks and offsets annotated in every
lead by cardiologists, and English diagnosis lines.

Text: the diagnosis lines after ``#<diagnoses>:`` in each ``.hea`` (already English), joined with spaces.
Labels: one label set per ``ludb.csv`` column, reduced to a small vocabulary (lower-case):

==================  ====================================  =============================================
label set           column                                reduction
==================  ====================================  =============================================
``rhythm``          Rhythms                               as is (``sinus rhythm``, ``atrial fibrillation``)
``axis``            Electric axis of the heart            the part after the colon (``left axis deviation``)
``conduction``      Conduction abnormalities              as is (``left anterior hemiblock``)
``extrasystole``    Extrasystolies                        the kind (``atrial extrasystole``, ``ventricular ...``)
``hypertrophy``     Hypertrophies                         as is (``left ventricular hypertrophy``)
``pacing``          Cardiac pacing                        as is (``unipolar ventricular pacing``)
``ischemia``        Ischemia                              the kind, without wall (``stemi``, ``scar formation``)
``repolarization``  Non-specific repolarization abn.      presence (``non-specific repolarization abnormalities``)
``other``           Other states                          as is (``early repolarization syndrome``)
==================  ====================================  =============================================

Splits: a hash of the record id (each record is its own patient), 55 % train / 5 % val / 40 % test.
Delineation: :func:`delineation` returns the annotated waves of every lead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import wfdb

from core.data.catalogs.base import Catalog, Record, hash_split, register_catalog, resolve_root
from core.data.registry import LUDB_ANNOTATION_EXTENSIONS
from core.leads import canonical_lead_name

log = logging.getLogger(__name__)

NAME = "ludb"
VERSION = "2"  # 2: 55/5/40 hash split
FS_HZ = 500
ANNOTATION_EXTENSIONS = LUDB_ANNOTATION_EXTENSIONS  # one annotation file per lead, canonical order

# ludb.csv column -> (label set, reduction)
_COLUMNS: dict[str, tuple[str, str]] = {
    "Rhythms": ("rhythm", "as_is"),
    "Electric axis of the heart": ("axis", "after_colon"),
    "Conduction abnormalities": ("conduction", "as_is"),
    "Extrasystolies": ("extrasystole", "kind"),
    "Hypertrophies": ("hypertrophy", "as_is"),
    "Cardiac pacing": ("pacing", "as_is"),
    "Ischemia": ("ischemia", "kind"),
    "Non-specific repolarization abnormalities": ("repolarization", "kind"),
    "Other states": ("other", "as_is"),
}


def reduce_label(value: str, how: str) -> str:
    """One ``ludb.csv`` cell line -> its label (see the module docstring)."""
    value = value.strip().rstrip(".").strip()
    if how == "after_colon":
        value = value.partition(":")[2] or value
    elif how == "kind":
        value = value.split(":")[0].split(",")[0]
    return value.strip().lower()


def diagnosis_lines(comments: list[str]) -> list[str]:
    """The diagnosis lines of a LUDB header (the comments after ``<diagnoses>:``)."""
    lines = [c.strip() for c in comments]
    if "<diagnoses>:" in lines:
        lines = lines[lines.index("<diagnoses>:") + 1 :]
    return [line for line in lines if line and not line.startswith("<")]


def _header_comments(path: Path) -> list[str]:
    return [
        line[1:].strip()
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.startswith("#")
    ]


@register_catalog(NAME)
def load(
    root: Path | None = None,
    *,
    download: bool = True,
    records: int | None = None,
    progress: Any = None,
    mirror: str | Path | None = None,
) -> Catalog:
    """LUDB catalog of the records on disk.

    Args:
        root: the ``ludb/1.0.1`` folder or a PhysioNet ``files/`` root holding it; ``None``: cache / download.
        download: when ``root`` is None and the cache lacks LUDB, download it through the mirror.
        records: when downloading, only the first N records.
        progress: download progress callback, ``progress((done, total), desc=...)``.
        mirror: where to download from (base URL or local folder in PhysioNet's layout); ``None``: ``ECG_DATA_MIRROR``.
    """
    root = resolve_root(NAME, root, download=download, records=records, progress=progress, mirror=mirror)
    table = pd.read_csv(root / "ludb.csv", dtype=str).set_index("ID")
    vocab: dict[str, set[str]] = {label_set: set() for label_set, _ in _COLUMNS.values()}
    out: list[Record] = []
    for rid in sorted(table.index, key=int):
        row = table.loc[rid]
        labels: dict[str, list[str]] = {}
        for column, (label_set, how) in _COLUMNS.items():
            cell = row.get(column)
            values = str(cell).splitlines() if isinstance(cell, str) else []
            labels[label_set] = sorted({reduce_label(v, how) for v in values if v.strip()})
            vocab[label_set].update(labels[label_set])
        path = root / "data" / str(rid)
        header = path.with_suffix(".hea")
        if not header.is_file():
            continue
        comments = _header_comments(header)
        text = " ".join(diagnosis_lines(comments))
        out.append(
            Record(
                record_id=f"{NAME}/{rid}",
                dataset=NAME,
                path=path,
                text=text,
                text_en=text,
                labels=labels,
                split=hash_split(f"{NAME}/{rid}"),
                patient_id=str(rid),
                meta=_meta(row, comments),
            )
        )
    skipped = len(table) - len(out)
    if skipped:
        log.info("%s: %d of %d records have no waveform files on disk; skipped", root, skipped, len(table))
    return Catalog(
        name=NAME, root=root, records=out, label_sets={k: sorted(v) for k, v in vocab.items()}, version=VERSION
    )


def _meta(row: pd.Series, comments: list[str]) -> dict[str, Any]:
    age = str(row.get("Age", "")).strip()
    sex = str(row.get("Sex", "")).strip()
    return {
        "fs_hz": FS_HZ,
        "age": float(age) if age.replace(".", "", 1).isdigit() else None,
        "sex": {"M": "male", "F": "female"}.get(sex),
        "comments": comments,
    }


@dataclass(frozen=True)
class Wave:
    """Annotated waves of one kind in one lead: ``onset``, ``peak``, ``offset`` sample indices (int arrays).

    A boundary LUDB leaves out (a wave cut by the start or end of the recording) is -1.
    """

    onset: np.ndarray
    peak: np.ndarray
    offset: np.ndarray

    def __len__(self) -> int:
        return len(self.peak)


_WAVE_OF_SYMBOL = {"p": "P", "N": "QRS", "t": "T"}


def delineation(record: Record | str | Path, leads: list[str] | None = None) -> dict[str, dict[str, Wave]]:
    """P/QRS/T delineation of a LUDB record, per lead, read with ``wfdb.rdann``.

    Args:
        record: a LUDB :class:`Record` or the record path without extension (``.../data/1``).
        leads: canonical lead names to read (default all 12).

    Returns:
        ``{lead: {"P": Wave, "QRS": Wave, "T": Wave}}`` with sample indices at 500 Hz (the record's rate).

    Raises:
        FileNotFoundError: an annotation file is missing.
    """
    path = Path(record.path if isinstance(record, Record) else record)
    wanted = {canonical_lead_name(ext): ext for ext in ANNOTATION_EXTENSIONS}
    names = leads or list(wanted)
    out: dict[str, dict[str, Wave]] = {}
    for lead in names:
        canonical = canonical_lead_name(lead)
        if canonical not in wanted:
            raise KeyError(f"not a 12-lead name: {lead!r}")
        ext = wanted[canonical]
        if not path.with_suffix(f".{ext}").is_file():
            raise FileNotFoundError(f"{path}.{ext}: LUDB annotation file missing")
        ann = wfdb.rdann(str(path), ext)
        out[canonical] = _waves(list(ann.symbol), np.asarray(ann.sample))
    return out


def _waves(symbols: list[str], samples: np.ndarray) -> dict[str, Wave]:
    """Group ``(`` peak ``)`` triplets; LUDB marks onset with ``(``, the peak with p/N/t and offset with ``)``."""
    found: dict[str, list[tuple[int, int, int]]] = {name: [] for name in _WAVE_OF_SYMBOL.values()}
    for i, symbol in enumerate(symbols):
        wave = _WAVE_OF_SYMBOL.get(symbol)
        if wave is None:
            continue
        onset = int(samples[i - 1]) if i > 0 and symbols[i - 1] == "(" else -1
        offset = int(samples[i + 1]) if i + 1 < len(symbols) and symbols[i + 1] == ")" else -1
        found[wave].append((onset, int(samples[i]), offset))
    result = {}
    for wave, triplets in found.items():
        arr = np.asarray(triplets, dtype=np.int64).reshape(-1, 3)
        result[wave] = Wave(onset=arr[:, 0], peak=arr[:, 1], offset=arr[:, 2])
    return result
