"""LUDB's manual P/QRS/T delineation as training labels and as the reference for validation.

LUDB (Kalyakulina et al., IEEE Access 8:186181, 2020; PhysioNet doi:10.13026/eegm-h675) has 200 ten-second 12-lead
records at 500 Hz, one per patient, and one annotation file per lead (``.i .ii ... .v6``) with triplets
``(`` onset, peak symbol (``p`` P wave, ``N`` QRS, ``t`` T wave), ``)`` offset. Usually the first and last beat or
two are not annotated, and the annotated stretch differs a little between leads.

Reference definition (per record), used by :func:`reference_measurements`:

* per lead, a label array marks P/QRS/T samples between annotated onsets and offsets (inclusive);
* the global masks follow :mod:`core.measure.waves`' definition (a sample is in a global wave when enough annotated
  leads place it there: 4 of 12 for the QRS, 2 for T, any lead for P); ``union=True`` gives the plain union over
  leads (earliest onset, latest offset in any lead) for comparison;
* only the stretch annotated in *every* lead counts (the intersection of the leads' annotated ranges), so a wave
  near the ends is never judged on fewer leads; waves crossing that stretch's edges are dropped;
* beats, PR, QRS, QT and RR then follow :mod:`core.measure.waves`; beat centres are the median over leads of the
  annotated QRS peaks (``N``), so heart rate comes from the annotated QRS peaks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.data import registry
from core.data.catalogs.ludb import FS_HZ, delineation
from core.data.readers import read_ecg
from core.leads import CANONICAL_LEADS
from core.measure.unet import BACKGROUND, P_WAVE, QRS, T_WAVE
from core.measure.waves import Beat, beats_from_masks, summarize_beats, votes_needed

LUDB_FS_HZ = float(FS_HZ)
N_RECORDS = 200
IGNORE = -100  # label of samples outside a lead's annotated stretch (ignored by the loss)
_WAVE_CLASS = {"P": P_WAVE, "QRS": QRS, "T": T_WAVE}


@dataclass(frozen=True)
class LudbAnnotation:
    """Per-lead labels of one LUDB record.

    Attributes:
        labels: int64 array (12, samples): class per sample, :data:`IGNORE` outside the lead's annotated stretch.
        spans: (12, 2) first and last annotated sample per lead.
        qrs_peaks: list of 12 arrays of annotated QRS peak samples.
    """

    labels: np.ndarray
    spans: np.ndarray
    qrs_peaks: list[np.ndarray]


def default_ludb_dir(roots: list[Path] | None = None) -> Path | None:
    """LUDB's folder (the one holding ``data/`` and ``ludb.csv``), found by :func:`core.data.registry.locate`.

    Args:
        roots: folders to look in; ``None``: the download cache, then a local-directory ``ECG_DATA_MIRROR``.
    """
    return registry.locate("ludb", roots)


def record_path(ludb_dir: Path, record: int) -> Path:
    """Path of LUDB record ``record`` (1-200) without extension."""
    return Path(ludb_dir) / "data" / str(int(record))


def read_signal(ludb_dir: Path, record: int) -> np.ndarray:
    """The record's signal, float32 (12, 5000) in mV, canonical lead order (read as the LUDB catalog reads it)."""
    return read_ecg(record_path(ludb_dir, record)).signal_mv


def read_annotation(ludb_dir: Path, record: int, n_samples: int = 5000) -> LudbAnnotation:
    """Per-lead label arrays of a record from the catalog's delineation (see :class:`LudbAnnotation`).

    Only waves with both an onset and an offset are labelled; every annotated QRS peak counts as a beat centre.
    Waves are painted in time order, so where two touch (a T offset on the next P onset) the later one wins.
    """
    waves_by_lead = delineation(record_path(ludb_dir, record))
    labels = np.full((len(CANONICAL_LEADS), n_samples), IGNORE, dtype=np.int64)
    spans = np.zeros((len(CANONICAL_LEADS), 2), dtype=np.int64)
    peaks: list[np.ndarray] = []
    for row, lead in enumerate(CANONICAL_LEADS):
        waves = waves_by_lead[lead]
        peaks.append(np.asarray(waves["QRS"].peak, dtype=np.int64))
        complete = sorted(
            (int(w.peak[i]), _WAVE_CLASS[name], int(w.onset[i]), int(w.offset[i]))
            for name, w in waves.items()
            for i in range(len(w))
            if w.onset[i] >= 0 and w.offset[i] >= 0
        )
        if not complete:
            spans[row] = (0, -1)
            continue
        first = min(on for _, _, on, _ in complete)
        last = max(off for _, _, _, off in complete)
        spans[row] = (first, last)
        labels[row, first : last + 1] = BACKGROUND
        for _, cls, on, off in complete:
            labels[row, on : off + 1] = cls
    return LudbAnnotation(labels=labels, spans=spans, qrs_peaks=peaks)


def global_reference_masks(ann: LudbAnnotation, *, union: bool = False) -> tuple[np.ndarray, tuple[int, int]]:
    """Global P/QRS/T masks (3, samples) and the stretch annotated in every lead ``(first, last)``.

    Args:
        ann: the record's annotation.
        union: a sample is in a wave when any lead says so (instead of :func:`core.measure.waves.votes_needed`).
    """
    n_leads = ann.labels.shape[0]
    masks = np.stack(
        [
            (ann.labels == cls).sum(axis=0) >= (1 if union else votes_needed(wave, n_leads))
            for cls, wave in ((P_WAVE, "P"), (QRS, "QRS"), (T_WAVE, "T"))
        ]
    )
    valid = ann.spans[:, 1] >= ann.spans[:, 0]
    window = (int(ann.spans[valid, 0].max()), int(ann.spans[valid, 1].min()))
    return masks, window


def reference_beats(ann: LudbAnnotation, *, union: bool = False) -> list[Beat]:
    """The record's beats from its annotations (global masks, common annotated stretch, annotated R peaks)."""
    masks, window = global_reference_masks(ann, union=union)
    centres = np.concatenate(ann.qrs_peaks) if ann.qrs_peaks else np.empty(0)
    return beats_from_masks(masks, centres=centres, window=window)


def reference_measurements(
    ann: LudbAnnotation, fs_hz: float = LUDB_FS_HZ, *, union: bool = False
) -> dict[str, float | None]:
    """Reference HR, RR variability, PR, QRS and QT of a record from its annotations (module docstring)."""
    return summarize_beats(reference_beats(ann, union=union), fs_hz)


def read_axis_label(ludb_dir: Path, record: int) -> str | None:
    """LUDB's diagnosis of the electric axis (``normal``, ``left axis deviation``, ``vertical`` ...), if given."""
    header = (record_path(ludb_dir, record).with_suffix(".hea")).read_text(errors="replace")
    for line in header.splitlines():
        if "Electric axis of the heart:" in line:
            return line.split(":", 1)[1].strip().rstrip(".").strip()
    return None
