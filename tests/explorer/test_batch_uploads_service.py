"""Batch zero-shot over uploaded files: bounded zip extraction, records grouped from files, reference labels from
labels.csv, and scores of real PTB-XL records (untrained tiny checkpoint) with AUC where labels exist."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from core.errors import ECGFormatError, ECGTooLargeError
from core.explorer import InvalidRequestError
from core.explorer.batch_files import extract_zip, group_records, read_labels
from core.zeroshot import load_prompt_set

# Two NORM and two MI records of the shared PTB-XL subset (their superclass labels in ptbxl_database.csv).
RECORDS = {"00001_hr": "NORM", "00002_hr": "NORM", "00008_hr": "MI", "00017_hr": "MI"}


def _zip(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


def ptbxl_zip(shared_data: Path, out: Path, labels: bool = True, extra: dict[str, bytes] | None = None) -> Path:
    """A zip of real PTB-XL WFDB records in a folder, with a labels.csv (record, labels)."""
    folder = shared_data / "ptb-xl/1.0.3/records500/00000"
    members = {}
    for stem in RECORDS:
        for suffix in (".hea", ".dat"):
            members[f"ecgs/{stem}{suffix}"] = (folder / f"{stem}{suffix}").read_bytes()
    if labels:
        members["labels.csv"] = ("record,labels\n" + "".join(f"{s},{c}\n" for s, c in RECORDS.items())).encode()
    members.update(extra or {})
    return _zip(out, members)


def test_zip_bounds_refuse_bombs_and_escapes(tmp_path):
    bomb = _zip(tmp_path / "bomb.zip", {"zeros.csv": b"0" * 5_000_000})
    assert bomb.stat().st_size < 50_000
    with pytest.raises(ECGTooLargeError, match="unpacks to 5,000,000 bytes") as err:
        extract_zip(bomb, tmp_path / "out", max_bytes=1_000_000)
    assert str(tmp_path) not in str(err.value)  # the message names the archive, not the server folder
    assert not any((tmp_path / "out").rglob("*"))  # refused before anything was written

    many = _zip(tmp_path / "many.zip", {f"{i}.csv": b"1" for i in range(11)})
    with pytest.raises(ECGTooLargeError, match="11 files"):
        extract_zip(many, tmp_path / "out", max_members=10)

    escape = _zip(tmp_path / "escape.zip", {"../evil.csv": b"1"})
    with pytest.raises(ECGFormatError, match="outside the archive"):
        extract_zip(escape, tmp_path / "out")
    assert not (tmp_path / "evil.csv").exists()

    (tmp_path / "not.zip").write_bytes(b"not a zip")
    with pytest.raises(ECGFormatError, match="not a readable zip"):
        extract_zip(tmp_path / "not.zip", tmp_path / "out")


def test_files_are_grouped_into_records_and_labels_read(tmp_path):
    names = ["a/r1.hea", "a/r1.dat", "b/x.csv", "b/y.npz", "c/x.npy", "labels.csv", "notes.txt"]
    for n in names:
        (tmp_path / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / n).write_text("record,labels\nr1.hea,NORM; LVH\nx,MI\n" if n == "labels.csv" else "")
    files = [tmp_path / n for n in names]
    groups = dict(group_records(files))
    assert sorted(groups) == ["c/x", "r1", "x", "y"]  # a name seen twice keeps both records
    assert sorted(p.name for p in groups["r1"]) == ["r1.dat", "r1.hea"]
    assert read_labels(files) == {"r1": ("NORM", "LVH"), "x": ("MI",)}


def test_scores_a_zip_of_real_records_with_reference_labels(ptbxl_service, shared_data, tmp_path):
    classes = {c: p for c, p in load_prompt_set("ptbxl_superclass").classes.items() if c in ("NORM", "MI")}
    archive = ptbxl_zip(shared_data, tmp_path / "batch.zip", extra={"ecgs/broken.csv": b"I,II\nx,y\n"})
    out = ptbxl_service.batch_zero_shot_files([archive], classes, batch_size=3)
    assert out.dataset == "upload" and sorted(out.record_ids) == sorted(RECORDS)
    assert out.n_evaluable == 4 and out.positives == {"NORM": 2, "MI": 2}
    assert all(a is not None and 0.0 <= a <= 1.0 for a in out.auc.values())
    assert int(out.confusion.sum()) == out.n_confusion == 4
    assert [n for n, _ in out.skipped] == ["broken"]
    frame = pd.read_csv(io.StringIO(out.csv))
    assert dict(zip(frame["record_id"], frame["reference labels"], strict=True)) == RECORDS

    # The same records embedded one by one give the same scores (batching changes nothing).
    one = ptbxl_service.batch_zero_shot_files([archive], classes, batch_size=1)
    assert one.probability == pytest.approx(out.probability, abs=1e-5)


def test_uploads_without_readable_records_are_refused(ptbxl_service, tmp_path):
    classes = {"NORM": ["normal ECG"]}
    empty = _zip(tmp_path / "empty.zip", {"notes.txt": b"hello"})
    with pytest.raises(InvalidRequestError, match="no record could be read"):
        ptbxl_service.batch_zero_shot_files([empty], classes)
    with pytest.raises(InvalidRequestError, match="no file uploaded"):
        ptbxl_service.batch_zero_shot_files([], classes)
