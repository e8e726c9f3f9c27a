"""The synthetic MIMIC-IV-ECG-layout corpus (core/data/synthetic.py), read back by the real MIMIC-IV-ECG catalog."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pytest
import wfdb

from core.data.catalogs import load_catalog
from core.data.catalogs.mimic_iv_ecg import join_report
from core.data.synthetic import (
    ADC_GAIN,
    FILE_LEADS,
    Perturbation,
    load_sources,
    perturb,
    report_columns,
    study_path,
    synthesize_corpus,
    write_wfdb_16,
)


def best_correlation(x: np.ndarray, y: np.ndarray) -> float:
    """Correlation of two leads over shifts up to ±0.2 s at 500 Hz (the perturbation shifts records in time)."""
    return max(np.corrcoef(np.roll(x, s), y)[0, 1] for s in range(-100, 101, 2))


@pytest.fixture(scope="module")
def sources(shared_data: Path):
    return load_sources(shared_data, limit=30)


def test_fast_wfdb_writer_writes_the_bytes_wfdb_writes(tmp_path: Path):
    digital = (np.random.default_rng(0).normal(size=(12, 5000)) * 800).astype(np.int16)
    (tmp_path / "ours").mkdir()
    (tmp_path / "wfdb").mkdir()
    write_wfdb_16(tmp_path / "ours" / "40000001", digital, comment="synthetic from x")
    wfdb.wrsamp("40000001", fs=500, units=["mV"] * 12, sig_name=list(FILE_LEADS), d_signal=digital.T.copy(),
                fmt=["16"] * 12, adc_gain=[ADC_GAIN] * 12, baseline=[0] * 12, write_dir=str(tmp_path / "wfdb"),
                comments=["synthetic from x"])  # fmt: skip
    for ext in ("hea", "dat"):
        assert filecmp.cmp(tmp_path / "ours" / f"40000001.{ext}", tmp_path / "wfdb" / f"40000001.{ext}", shallow=False)


def test_reports_become_one_sentence_per_column_and_read_back_unchanged():
    text = "Sinus rhythm. Left axis deviation. Possible anterior infarct!"
    cols = report_columns(text)
    assert cols["report_0"] == "Sinus rhythm." and cols["report_2"] == "Possible anterior infarct!"
    assert cols["report_3"] is None and len(cols) == 18
    assert join_report(list(cols.values())) == text
    many = " ".join(f"Statement {i}." for i in range(25))
    assert join_report(list(report_columns(many).values())) == many  # the overflow shares the last column


def test_perturbation_keeps_the_ecg_recognisable(sources):
    src = sources[0].signal_mv
    out = perturb(src, np.random.default_rng(3), Perturbation())
    assert out.shape == src.shape and out.dtype == np.float32 and not np.allclose(out, src)
    # Lead II (canonical row 1) still correlates with its source (a shift of <= 0.2 s is allowed for).
    assert best_correlation(out[1], src[1]) > 0.8
    none = Perturbation(scale=(1, 1), lead_scale=(1, 1), max_shift_s=0, noise_mv=0, wander_mv=0)
    np.testing.assert_allclose(perturb(src, np.random.default_rng(3), none), src, atol=1e-6)


def test_mimic_catalog_reads_the_synthetic_corpus(tmp_path: Path, sources):
    done = []
    stats = synthesize_corpus(
        50, tmp_path / "two", Path("unused"), workers=2, sources=sources, progress=lambda p, desc=None: done.append(p)
    )
    assert stats.n_records == 50 and stats.workers == 2 and stats.n_subjects == 17 and stats.records_per_s > 0
    assert done[-1] == (50, 50)
    catalog = load_catalog("mimic_iv_ecg", root=tmp_path / "two")
    assert len(catalog) == 50
    first = catalog[0]
    assert first.record_id == "mimic_iv_ecg/40000000" and first.patient_id == "10000000"
    assert first.path == tmp_path / "two" / study_path(10_000_000, 40_000_000)
    assert catalog[0].split == catalog[2].split  # three studies per subject share the patient's split
    by_id = {s.record_id: s for s in sources}
    for rec in catalog.records[:10]:
        source_id = wfdb.rdheader(str(rec.path)).comments[0].removeprefix("synthetic from ")
        assert rec.text == rec.text_en == by_id[source_id].text_en
    ecg = catalog.read(first)
    assert ecg.fs_hz == 500 and ecg.signal_mv.shape == (12, 5000) and ecg.lead_mask.all()
    # The reader reorders MIMIC's file order by lead name: canonical aVL (row 4) is the source's aVL, perturbed.
    source = by_id[wfdb.rdheader(str(first.path)).comments[0].removeprefix("synthetic from ")].signal_mv
    assert min(best_correlation(ecg.signal_mv[r], source[r]) for r in (4, 5)) > 0.7

    # Record i depends on (seed, i) alone: one worker writes the same files as two.
    synthesize_corpus(50, tmp_path / "one", Path("unused"), workers=1, sources=sources)
    for rec in catalog.records[::7]:
        rel = rec.path.relative_to(tmp_path / "two")
        assert filecmp.cmp(rec.path.with_suffix(".dat"), (tmp_path / "one" / rel).with_suffix(".dat"), shallow=False)
