"""Evaluation on a folder with an unreadable record: the record is left out everywhere, so rows stay aligned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from core.data.catalogs import load_catalog
from core.data.preprocess import PreprocessConfig
from core.evaluate.data import EvalData


def _folder_with_a_truncated_record(shared_data: Path, folder: Path) -> tuple[list[str], str]:
    source = shared_data / "ptbxl_more" / "records100" / "00000"
    names = sorted(p.stem for p in source.glob("*.hea"))[:4]
    folder.mkdir()
    for name in names:
        for suffix in (".hea", ".dat"):
            shutil.copy(source / f"{name}{suffix}", folder / f"{name}{suffix}")
    broken = names[2]
    (folder / f"{broken}.dat").write_bytes((source / f"{broken}.dat").read_bytes()[:100])
    return names, broken


def test_an_unreadable_record_is_dropped_from_signals_labels_and_texts(shared_data: Path, tmp_path: Path, data_dir):
    names, broken = _folder_with_a_truncated_record(shared_data, tmp_path / "records")
    catalog = load_catalog("folder", root=tmp_path / "records")
    records = list(catalog.records)
    data = EvalData(name="folder", catalog=catalog, held_out=records[:3], train=records[3:], tasks=[])
    cfg = PreprocessConfig()

    # Without dropping, asking for signals refuses rather than returning rows that no longer match the records.
    with pytest.raises(ValueError, match=f"folder/{broken}"):
        data.signals(data.held_out, cfg)

    skipped = data.drop_unreadable(cfg)
    assert [s["record_id"] for s in skipped] == [f"folder/{broken}"]
    assert [r.record_id for r in data.held_out] == [f"folder/{n}" for n in names[:3] if n != broken]
    assert [r.record_id for r in data.train] == [f"folder/{names[3]}"]
    signals, masks = data.signals(data.held_out, cfg)
    assert signals.shape[0] == masks.shape[0] == len(data.held_out) == len(EvalData.texts(data.held_out)) == 2
