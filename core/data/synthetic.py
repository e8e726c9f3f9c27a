"""A synthetic corpus of any size in MIMIC-IV-ECG's layout, made from real records, for scale tests and benchmarks.

``python -m core synth-corpus --n 100000 --out /tmp/synth --source ../shared/data`` writes ``record_list.csv``,
``machine_measurements.csv`` (the report as ``report_0`` ... ``report_17``) and WFDB files at
``files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN.{hea,dat}``, so :mod:`core.data.catalogs.mimic_iv_ecg` reads it unchanged.

Every synthetic ECG is a real 500 Hz, 10 s, 12-lead record (PTB-XL and LUDB from ``--source``) with a random
perturbation: an amplitude scale (global and per lead), a small time shift, white noise and baseline wander (the
usual ECG augmentations, e.g. Lan et al. 2022, arXiv:2110.06723). Its report is the source's English text, one
sentence per report column, as MIMIC's machine reports are. It is not new physiology: a model cannot learn more from
it than from the sources; it exists to exercise the pipeline at 20 k-1 M records.

Worker processes (``fork``) share the decoded sources copy-on-write and each writes its own records; writing
``--n 100000`` needs about 1 GB of disk per 10 k records (int16, 12 x 5000 samples).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from core.data.catalogs import load_catalog
from core.data.catalogs.mimic_iv_ecg import MEASUREMENT_COLUMNS, N_REPORT_COLUMNS
from core.data.progress import ProgressCallback, TqdmProgress, report
from core.data.readers import read_ecg
from core.errors import ECGReadError
from core.leads import LEAD_INDEX

logger = logging.getLogger(__name__)

FS_HZ = 500
N_SAMPLES = 5000
# MIMIC-IV-ECG's files store aVF before aVL; the reader matches leads by name, so the synthetic files do the same.
FILE_LEADS = ("I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6")
ADC_GAIN = 1000.0  # digital units per mV: 1 µV resolution in int16 (± 32 mV)
SOURCE_DATASETS = ("ptbxl", "ludb")
FIRST_SUBJECT = 10_000_000
FIRST_STUDY = 40_000_000


@dataclass(frozen=True)
class Perturbation:
    """Random changes applied to a source ECG (each drawn per record).

    Attributes:
        scale: range of the global amplitude factor.
        lead_scale: range of an extra per-lead factor (electrode placement and skin contact differ).
        max_shift_s: largest time shift, either way (the edge is filled by reflection).
        noise_mv: standard deviation of white noise.
        wander_mv: largest amplitude of the baseline wander (two sinusoids of 0.05-0.5 Hz, breathing and movement).
    """

    scale: tuple[float, float] = (0.8, 1.2)
    lead_scale: tuple[float, float] = (0.95, 1.05)
    max_shift_s: float = 0.2
    noise_mv: float = 0.02
    wander_mv: float = 0.1


@dataclass(frozen=True)
class SourceRecord:
    """A real record the corpus is made from: its waveform (12, 5000) in mV (canonical lead order) and English text."""

    record_id: str
    signal_mv: np.ndarray
    text_en: str


@dataclass(frozen=True)
class SynthStats:
    """What :func:`synthesize_corpus` wrote."""

    out: str
    n_records: int
    n_sources: int
    n_subjects: int
    workers: int
    seconds: float

    @property
    def records_per_s(self) -> float:
        return self.n_records / max(self.seconds, 1e-9)


def load_sources(source: Path, datasets: tuple[str, ...] = SOURCE_DATASETS, limit: int | None = None) -> list:
    """Real 500 Hz, 10 s, 12-lead records with an English report, read from ``source`` (e.g. ``../shared/data``).

    Args:
        source: a folder holding the datasets in PhysioNet's layout.
        datasets: catalogs to take records from (PTB-XL's 500 Hz files and LUDB by default).
        limit: at most this many records (the first ones).

    Returns:
        :class:`SourceRecord` list; records that cannot be read, are not 500 Hz x 5000 samples with 12 leads, or
        have no text are skipped (and counted in the log).
    """
    out: list[SourceRecord] = []
    skipped = 0
    for name in datasets:
        for rec in load_catalog(name, root=Path(source), download=False).records:
            if limit is not None and len(out) >= limit:
                break
            text = (rec.text_en or "").strip()
            if not text:
                skipped += 1
                continue
            try:
                ecg = read_ecg(_high_rate_path(rec), record_id=rec.record_id)
            except ECGReadError as exc:
                logger.warning("skipping source %s: %s", rec.record_id, exc)
                skipped += 1
                continue
            if ecg.fs_hz != FS_HZ or ecg.signal_mv.shape != (12, N_SAMPLES) or not ecg.lead_mask.all():
                skipped += 1
                continue
            out.append(SourceRecord(rec.record_id, ecg.signal_mv.astype(np.float32), text))
    logger.info(
        "%d source records (%d skipped: unreadable, not 500 Hz x 10 s x 12 leads, or no text)", len(out), skipped
    )
    return out


def _high_rate_path(rec) -> Path:
    """PTB-XL records point at one rate; prefer the 500 Hz file when the catalog knows it."""
    hr = (rec.meta or {}).get("filename_hr")
    if hr and rec.path.name.endswith("_lr"):
        candidate = Path(str(rec.path).replace(str(rec.meta.get("filename_lr")), str(hr)))
        if candidate.with_suffix(".hea").is_file():
            return candidate
    return rec.path


def perturb(signal_mv: np.ndarray, rng: np.random.Generator, p: Perturbation = Perturbation()) -> np.ndarray:
    """A perturbed copy of a (12, T) ECG in mV (see :class:`Perturbation`)."""
    leads, t = signal_mv.shape
    x = signal_mv * rng.uniform(*p.scale) * rng.uniform(*p.lead_scale, size=(leads, 1))
    shift = int(rng.integers(-round(p.max_shift_s * FS_HZ), round(p.max_shift_s * FS_HZ) + 1))
    if shift:
        padded = np.pad(x, ((0, 0), (abs(shift), abs(shift))), mode="reflect")
        x = padded[:, abs(shift) + shift : abs(shift) + shift + t]
    time_s = np.arange(t) / FS_HZ
    wander = np.zeros(t)
    for _ in range(2):
        wander += rng.uniform(0, p.wander_mv / 2) * np.sin(
            2 * np.pi * rng.uniform(0.05, 0.5) * time_s + rng.uniform(0, 6.3)
        )
    # The wander is shared by all leads (breathing moves the whole body) with a per-lead gain.
    x = x + wander[None, :] * rng.uniform(0.5, 1.0, size=(leads, 1)) + rng.normal(scale=p.noise_mv, size=x.shape)
    return x.astype(np.float32)


def report_columns(text: str) -> dict[str, str | None]:
    """English text -> ``report_0`` ... ``report_17``: one sentence per column (MIMIC puts one statement in each)."""
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s.strip()]
    if len(sentences) > N_REPORT_COLUMNS:
        sentences = [*sentences[: N_REPORT_COLUMNS - 1], " ".join(sentences[N_REPORT_COLUMNS - 1 :])]
    cols: dict[str, str | None] = {f"report_{i}": None for i in range(N_REPORT_COLUMNS)}
    cols.update({f"report_{i}": s for i, s in enumerate(sentences)})
    return cols


def study_path(subject_id: int, study_id: int) -> str:
    """``files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN`` (MIMIC-IV-ECG's record path, without extension)."""
    subject = f"{subject_id:08d}"
    return f"files/p{subject[:4]}/p{subject}/s{study_id:08d}/{study_id:08d}"


def write_wfdb_16(path: Path, digital: np.ndarray, comment: str = "") -> None:
    """Write a WFDB record (``path`` + ``.hea`` / ``.dat``) of (12, T) int16 samples in format 16, FS_HZ, ADC_GAIN.

    Writes the same bytes as ``wfdb.wrsamp(..., d_signal=digital.T, fmt=["16"] * 12, adc_gain=[ADC_GAIN] * 12,
    baseline=[0] * 12)`` (a test holds it to that) in a fraction of the time: ``wrsamp`` spends ≈ 110 ms per record
    validating its header fields through pandas, which would cap a 100 k corpus at ≈ 9 records/s per process.
    """
    name = path.name
    # Checksums as wfdb computes them: the sum of each signal's samples modulo 2**16.
    checksums = np.sum(digital, axis=1, dtype=np.int64) % 65536
    lines = [f"{name} {digital.shape[0]} {FS_HZ} {digital.shape[1]}"]
    lines += [
        f"{name}.dat 16 {ADC_GAIN}(0)/mV 16 0 {int(d[0])} {int(c)} 0 {lead}"
        for d, c, lead in zip(digital, checksums, FILE_LEADS, strict=True)
    ]
    if comment:
        lines.append(f"# {comment}")
    path.with_suffix(".hea").write_text("\n".join(lines) + "\n", encoding="ascii")
    digital.T.astype("<i2").tofile(path.with_suffix(".dat"))


# Set in the parent before the workers fork, so the decoded sources are shared copy-on-write, not pickled per task.
_SOURCES: list[SourceRecord] = []


def _write_range(out: str, start: int, stop: int, seed: int, perturbation: Perturbation, studies_per_subject: int):
    """Write records ``start`` .. ``stop`` - 1 and return their two CSV rows each (worker process)."""
    file_order = [LEAD_INDEX[name] for name in FILE_LEADS]
    listing, measurements = [], []
    for i in range(start, stop):
        rng = np.random.default_rng((seed, i))
        src = _SOURCES[int(rng.integers(len(_SOURCES)))]
        signal = perturb(src.signal_mv, rng, perturbation)[file_order]
        digital = np.clip(np.round(signal * ADC_GAIN), -32767, 32767).astype(np.int16)
        subject_id, study_id = FIRST_SUBJECT + i // studies_per_subject, FIRST_STUDY + i
        rel = study_path(subject_id, study_id)
        folder = Path(out) / rel
        folder.parent.mkdir(parents=True, exist_ok=True)
        write_wfdb_16(folder, digital, comment=f"synthetic from {src.record_id}")
        ecg_time = f"21{(i // 10_000) % 100:02d}-01-01 {(i // 60) % 24:02d}:{i % 60:02d}:00"
        listing.append({"subject_id": subject_id, "study_id": study_id, "file_name": f"{study_id:08d}",
                        "ecg_time": ecg_time, "path": rel})  # fmt: skip
        measurements.append({"subject_id": subject_id, "study_id": study_id, "ecg_time": ecg_time,
                             **report_columns(src.text_en), **dict.fromkeys(MEASUREMENT_COLUMNS)})  # fmt: skip
    return listing, measurements


def synthesize_corpus(
    n: int,
    out: Path,
    source: Path,
    *,
    workers: int | None = None,
    seed: int = 0,
    perturbation: Perturbation = Perturbation(),
    studies_per_subject: int = 3,
    sources: list[SourceRecord] | None = None,
    progress: ProgressCallback | None = None,
) -> SynthStats:
    """Write ``n`` synthetic records in MIMIC-IV-ECG's layout into ``out``.

    Args:
        n: records to write.
        out: the output folder (created; readable afterwards with ``load_catalog("mimic_iv_ecg", root=out)``).
        source: where the real records are (``../shared/data``), read with :func:`load_sources`.
        workers: writer processes (default: the CPU count).
        seed: record ``i`` is a function of ``(seed, i)`` alone, whatever the worker count.
        perturbation: how far records stray from their sources.
        studies_per_subject: consecutive records share a subject (so patient-level splits have something to keep
            together).
        sources: already loaded sources (skips reading ``source``).
        progress: ``progress((done, total), desc=...)``.

    Returns:
        :class:`SynthStats` with the records/s achieved.
    """
    global _SOURCES
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _SOURCES = sources if sources is not None else load_sources(Path(source))
    if not _SOURCES:
        raise ValueError(f"no usable source records under {source}")
    workers = max(1, workers or os.cpu_count() or 1)
    # Chunks of a few hundred records: few enough tasks to keep the pool's overhead small, enough to balance.
    chunk = max(1, min(500, n // (workers * 4) or 1))
    ranges = [(s, min(s + chunk, n)) for s in range(0, n, chunk)]
    listing: list[dict] = []
    measurements: list[dict] = []
    report(progress, 0, n, "writing synthetic ECGs")
    try:
        if workers == 1:
            results = (_write_range(str(out), a, b, seed, perturbation, studies_per_subject) for a, b in ranges)
            for rows, meas in results:
                listing += rows
                measurements += meas
                report(progress, len(listing), n, "writing synthetic ECGs")
        else:
            context = multiprocessing.get_context("fork")
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                futures = [
                    pool.submit(_write_range, str(out), a, b, seed, perturbation, studies_per_subject)
                    for a, b in ranges
                ]
                for future in futures:
                    rows, meas = future.result()
                    listing += rows
                    measurements += meas
                    report(progress, len(listing), n, "writing synthetic ECGs")
    finally:
        n_sources = len(_SOURCES)
        _SOURCES = []
    pd.DataFrame(listing).to_csv(out / "record_list.csv", index=False)
    pd.DataFrame(measurements).to_csv(out / "machine_measurements.csv", index=False)
    stats = SynthStats(
        out=str(out),
        n_records=n,
        n_sources=n_sources,
        n_subjects=len({r["subject_id"] for r in listing}),
        workers=workers,
        seconds=time.perf_counter() - t0,
    )
    logger.info("synthetic corpus: %s (%.0f records/s)", asdict(stats), stats.records_per_s)
    return stats


# ---- CLI: python -m core synth-corpus ------------------------------------------------------------------------------
def add_arguments(parser) -> None:
    """Arguments of ``python -m core synth-corpus``."""
    parser.add_argument("--n", type=int, required=True, help="records to write")
    parser.add_argument("--out", required=True, help="output folder (outside the repository)")
    parser.add_argument("--source", required=True, help="folder with the real records (e.g. ../shared/data)")
    parser.add_argument("--workers", type=int, default=None, help="writer processes (default: CPU count)")
    parser.add_argument("--seed", type=int, default=0)


def run(args) -> int:
    """Write the corpus and log its size and speed."""
    with TqdmProgress(unit="record") as bar:
        stats = synthesize_corpus(args.n, Path(args.out), Path(args.source), workers=args.workers, seed=args.seed,
                                  progress=bar)  # fmt: skip
    logger.info("%d records in %.1f s (%.0f records/s, %d workers) -> %s", stats.n_records, stats.seconds,
                stats.records_per_s, stats.workers, stats.out)  # fmt: skip
    return 0
