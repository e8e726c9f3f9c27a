"""Download: the real fetch path over loopback HTTP and from a local directory, resume, checksums, errors, CLI."""

from __future__ import annotations

import functools
import hashlib
import http.server
import os
import shutil
import threading
from pathlib import Path

import pytest

from core.__main__ import main
from core.data.catalogs import load_catalog
from core.data.download import Mirror, download_dataset, fetch_file, read_sums, sha256_file
from core.errors import DatasetNotFoundError, DownloadError

PTBXL = "ptb-xl/1.0.3"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with HTTP Range support (the stdlib handler ignores Range); logs the Range headers it saw."""

    ranges: list[tuple[str, str]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base-class signature
        pass

    def send_head(self):
        header = self.headers.get("Range")
        path = Path(self.translate_path(self.path))
        if not header or not path.is_file():
            return super().send_head()
        self.ranges.append((self.path, header))
        start = int(header.removeprefix("bytes=").split("-")[0])
        size = path.stat().st_size
        if start >= size:
            self.send_error(416)
            return None
        handle = path.open("rb")
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{size - 1}/{size}")
        self.send_header("Content-Length", str(size - start))
        self.end_headers()
        return handle


@pytest.fixture(scope="module")
def range_mirror_url(shared_data: Path):
    handler = functools.partial(_RangeHandler, directory=str(shared_data))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def ptbxl50(tmp_path_factory: pytest.TempPathFactory, mirror_url: str) -> tuple[Path, list]:
    """50 PTB-XL records (both rates) downloaded once over loopback HTTP; returns (cache root, progress calls)."""
    out = tmp_path_factory.mktemp("cache")
    calls: list = []
    root = download_dataset(
        "ptbxl", records=50, out=out, mirror=mirror_url, progress=lambda p, desc=None: calls.append((p, desc))
    )
    assert root == out / PTBXL
    return out, calls


def test_download_ptbxl_50_records_over_http(ptbxl50, shared_data: Path):
    out, calls = ptbxl50
    root = out / PTBXL
    records = sorted(p.relative_to(root).as_posix() for p in root.glob("records*/*/*") if p.is_file())
    assert len(records) == 50 * 2 * 2  # 50 records x (100 Hz, 500 Hz) x (.hea, .dat)
    assert "records100/00000/00050_lr.dat" in records and "records500/00000/00050_hr.hea" in records
    assert "records100/00000/00051_lr.dat" not in records
    assert not list(root.rglob("*.part"))

    # Every record file listed in the official SHA256SUMS.txt verifies against it ...
    sums = read_sums(root / "SHA256SUMS.txt")
    for rel in records:
        assert sums[rel] == sha256_file(root / rel), rel
    assert sums["scp_statements.csv"] == sha256_file(root / "scp_statements.csv")
    # ... and the mirror's (subset) index table arrived byte for byte.
    assert _sha(root / "ptbxl_database.csv") == _sha(shared_data / PTBXL / "ptbxl_database.csv")

    # Progress: (done, total) pairs that end complete.
    (done, total), _ = calls[-1]
    assert done == total == 200 + 3  # record files + ptbxl_database.csv, scp_statements.csv, LICENSE.txt
    assert [c[0][0] for c in calls] == sorted(c[0][0] for c in calls)


def test_catalog_reads_the_downloaded_records(ptbxl50):
    out, _ = ptbxl50
    catalog = load_catalog("ptbxl", root=out)
    assert len(catalog) == 50
    assert catalog.records[0].record_id == "ptbxl/00001" and catalog.records[-1].record_id == "ptbxl/00050"
    ecg = catalog.read(catalog.records[-1])
    assert ecg.signal_mv.shape == (12, 5000) and ecg.fs_hz == 500
    assert len(load_catalog("ptbxl", root=out / PTBXL, rate_hz=100)) == 50


def test_rerun_skips_complete_files_and_repairs_a_corrupted_one(ptbxl50, tmp_path: Path, mirror_url: str):
    out = tmp_path / "copy"
    shutil.copytree(ptbxl50[0], out)
    target = out / PTBXL / "records500/00000/00007_hr.dat"
    good = sha256_file(target)
    data = bytearray(target.read_bytes())
    data[100] ^= 0xFF  # same size, wrong content: only the sha256 can tell
    target.write_bytes(bytes(data))
    untouched = out / PTBXL / "records100/00000/00001_lr.dat"
    mtime = untouched.stat().st_mtime_ns

    download_dataset("ptbxl", records=50, out=out, mirror=mirror_url)
    assert sha256_file(target) == good
    assert untouched.stat().st_mtime_ns == mtime  # complete files are not fetched again


def test_resume_continues_a_partial_file_with_a_range_request(range_mirror_url: str, shared_data: Path, tmp_path):
    rel = f"{PTBXL}/records500/00000/00003_hr.dat"
    source = (shared_data / rel).read_bytes()
    dest = tmp_path / rel
    dest.parent.mkdir(parents=True)
    dest.with_name(dest.name + ".part").write_bytes(source[:4000])  # an interrupted earlier run
    _RangeHandler.ranges.clear()

    sums = read_sums(shared_data / PTBXL / "SHA256SUMS.txt")
    sent = fetch_file(Mirror(range_mirror_url), rel, dest, sha256=sums["records500/00000/00003_hr.dat"])
    assert sent == len(source) - 4000
    assert dest.read_bytes() == source
    assert _RangeHandler.ranges == [(f"/{rel}", "bytes=4000-")]


def test_complete_part_file_is_verified_not_refetched(range_mirror_url: str, shared_data: Path, tmp_path: Path):
    rel = f"{PTBXL}/records100/00000/00005_lr.hea"
    dest = tmp_path / "h.hea"
    dest.with_name("h.hea.part").write_bytes((shared_data / rel).read_bytes())  # stopped just before the rename
    sha = read_sums(shared_data / PTBXL / "SHA256SUMS.txt")["records100/00000/00005_lr.hea"]
    assert fetch_file(Mirror(range_mirror_url), rel, dest, sha256=sha) == 0  # the server answered 416
    assert dest.read_bytes() == (shared_data / rel).read_bytes()


def test_server_without_range_support_restarts_the_file(mirror_url: str, shared_data: Path, tmp_path: Path):
    rel = f"{PTBXL}/records100/00000/00004_lr.dat"
    dest = tmp_path / "x.dat"
    dest.with_name("x.dat.part").write_bytes(b"garbage that is not a prefix")
    fetch_file(Mirror(mirror_url), rel, dest)  # size-checked only
    assert dest.read_bytes() == (shared_data / rel).read_bytes()


def test_corrupt_partial_file_fails_its_checksum_then_recovers(range_mirror_url: str, shared_data: Path, tmp_path):
    rel = f"{PTBXL}/records100/00000/00002_lr.dat"
    good = (shared_data / rel).read_bytes()
    dest = tmp_path / "y.dat"
    part = dest.with_name("y.dat.part")
    part.write_bytes(b"\x00" * 100)  # wrong prefix: the resumed file has the right size but the wrong sha256
    sha = read_sums(shared_data / PTBXL / "SHA256SUMS.txt")["records100/00000/00002_lr.dat"]
    with pytest.raises(DownloadError, match=r"sha256 mismatch.*") as info:
        fetch_file(Mirror(range_mirror_url), rel, dest, sha256=sha)
    assert range_mirror_url + rel in str(info.value)
    assert not part.exists() and not dest.exists()
    fetch_file(Mirror(range_mirror_url), rel, dest, sha256=sha)  # the next run starts clean
    assert dest.read_bytes() == good


def test_missing_file_gives_download_error_naming_the_url(mirror_url: str, tmp_path: Path):
    with pytest.raises(DownloadError, match="HTTP 404") as info:
        fetch_file(Mirror(mirror_url), f"{PTBXL}/no_such_file.dat", tmp_path / "z")
    assert f"{mirror_url}{PTBXL}/no_such_file.dat" in str(info.value)
    with pytest.raises(DownloadError, match="404"):
        download_dataset("ptbxl", records=1, out=tmp_path, mirror=mirror_url + "not-physionet/")


def test_checksum_mismatch_from_the_mirror_is_an_error(shared_data: Path, tmp_path: Path):
    # A local mirror whose record file differs from the one SHA256SUMS.txt lists.
    mirror = tmp_path / "mirror"
    src, dst = shared_data / PTBXL, mirror / PTBXL
    for rel in ("SHA256SUMS.txt", "ptbxl_database.csv", "scp_statements.csv", "records100/00000/00001_lr.hea"):
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, dst / rel)
    bad = dst / "records100/00000/00001_lr.dat"
    bad.write_bytes(b"\x01" * (src / "records100/00000/00001_lr.dat").stat().st_size)
    with pytest.raises(DownloadError, match="sha256 mismatch") as info:
        download_dataset("ptbxl", records=1, out=tmp_path / "out", mirror=mirror, rates=[100])
    assert str(bad) in str(info.value)
    assert not (tmp_path / "out" / PTBXL / "records100/00000/00001_lr.dat").exists()


def test_local_directory_mirror_from_the_environment(shared_data: Path, data_dir: Path, monkeypatch):
    monkeypatch.setenv("ECG_DATA_MIRROR", str(shared_data))
    root = download_dataset("ludb", records=3)
    assert root == data_dir / "physionet" / "ludb" / "1.0.1"
    files = sorted(p.name for p in (root / "data").iterdir())
    assert len(files) == 3 * 14 and "3.v6" in files and "4.hea" not in files
    sums = read_sums(root / "SHA256SUMS.txt")
    for name in files:
        assert sums[f"data/{name}"] == sha256_file(root / "data" / name)
    catalog = load_catalog("ludb")  # root=None -> the cache it just filled
    assert [r.record_id for r in catalog] == ["ludb/1", "ludb/2", "ludb/3"]


def test_size_check_without_sums(shared_data: Path, tmp_path: Path):
    # Records 101-500 are not in the shipped SHA256SUMS.txt: a truncated copy is caught by its size.
    rel = f"{PTBXL}/records100/00000/00150_lr.dat"
    assert "records100/00000/00150_lr.dat" not in read_sums(shared_data / PTBXL / "SHA256SUMS.txt")
    dest = tmp_path / rel
    dest.parent.mkdir(parents=True)
    dest.write_bytes((shared_data / rel).read_bytes()[:500])
    fetch_file(Mirror(shared_data), rel, dest)
    assert dest.read_bytes() == (shared_data / rel).read_bytes()


def test_missing_dataset_says_how_to_point_to_a_copy(data_dir: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ECG_DATA_MIRROR", str(tmp_path / "no-mirror-here"))
    with pytest.raises(DatasetNotFoundError, match="ECG_DATA_MIRROR") as info:
        load_catalog("ptbxl")
    assert "--root" in str(info.value)
    with pytest.raises(DatasetNotFoundError, match="--root"):
        load_catalog("ludb", root=tmp_path)
    with pytest.raises(DatasetNotFoundError, match="not downloadable|figshare"):
        load_catalog("sph", root=tmp_path)


def test_cli_download(mirror_url: str, tmp_path: Path, capsys):
    assert main(["download", "ludb", "--records", "2", "--out", str(tmp_path), "--mirror", mirror_url]) == 0
    root = tmp_path / "ludb" / "1.0.1"
    assert capsys.readouterr().out.strip().endswith(str(root))
    assert sorted(p.name for p in (root / "data").glob("*.hea")) == ["1.hea", "2.hea"]
    code = main(["download", "ptbxl", "--records", "2", "--out", str(tmp_path), "--mirror", mirror_url + "nothing/"])
    assert code == 1


def test_cinc2021_physionet_layout_with_nested_records(shared_data: Path, tmp_path: Path):
    # challenge-2021/1.0.3: a top-level RECORDS naming group folders, each with its own RECORDS.
    mirror = tmp_path / "mirror" / "challenge-2021" / "1.0.3"
    group = mirror / "training" / "georgia" / "g1"
    group.mkdir(parents=True)
    sample = shared_data / "cinc2021" / "torch_ecg_sample"
    names = ["E07500", "E07501", "E07502"]
    for name in names:
        for ext in ("hea", "mat"):
            shutil.copyfile(sample / f"{name}.{ext}", group / f"{name}.{ext}")
    (group / "RECORDS").write_text("\n".join(names) + "\n")
    (mirror / "RECORDS").write_text("training/georgia/g1/\n")
    for csv_name in ("dx_mapping_scored.csv", "dx_mapping_unscored.csv"):
        shutil.copyfile(shared_data / "cinc2021" / csv_name, mirror / csv_name)

    root = download_dataset("cinc2021", records=2, out=tmp_path / "out", mirror=tmp_path / "mirror")
    got = sorted(p.relative_to(root).as_posix() for p in root.rglob("E*"))
    assert got == [f"training/georgia/g1/{n}.{e}" for n in names[:2] for e in ("hea", "mat")]
    catalog = load_catalog("cinc2021", root=tmp_path / "out")
    assert [r.record_id for r in catalog] == ["cinc2021/E07500", "cinc2021/E07501"]
    assert catalog[0].text == "left atrial enlargement, sinus bradycardia"
    assert catalog[0].meta["source"] == "georgia"
    assert os.path.getsize(root / "dx_mapping_scored.csv") > 0


def test_load_catalog_downloads_a_missing_dataset_through_the_mirror(shared_data: Path, data_dir: Path, monkeypatch):
    monkeypatch.setenv("ECG_DATA_MIRROR", str(shared_data))
    calls: list = []
    catalog = load_catalog("ludb", records=2, progress=lambda p, desc=None: calls.append(p))
    assert catalog.root == data_dir / "physionet" / "ludb" / "1.0.1"
    assert [r.record_id for r in catalog] == ["ludb/1", "ludb/2"]
    assert calls[-1] == (2 * 14 + 5, 2 * 14 + 5)  # record files + RECORDS, ludb.csv, LICENSE.txt, ANNOTATORS, README


def test_mimic_iv_ecg_download_from_record_list(tmp_path: Path):
    import numpy as np
    import pandas as pd
    import wfdb

    base = tmp_path / "mirror" / "mimic-iv-ecg" / "1.0"
    rows = []
    for subject, study in (("10000032", "40689238"), ("10000117", "45090959")):
        rel = f"files/p{subject[:4]}/p{subject}/s{study}"
        (base / rel).mkdir(parents=True)
        signal = np.sin(np.linspace(0, 20, 5000))[:, None] * np.linspace(0.5, 1.6, 12)[None, :]
        names = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]
        wfdb.wrsamp(study, fs=500, units=["mV"] * 12, sig_name=names, p_signal=signal, fmt=["16"] * 12,
                    write_dir=str(base / rel))  # fmt: skip
        rows.append(
            {"subject_id": subject, "study_id": study, "file_name": study, "ecg_time": "", "path": f"{rel}/{study}"}
        )
    pd.DataFrame(rows).to_csv(base / "record_list.csv", index=False)
    pd.DataFrame(
        [{"subject_id": r["subject_id"], "study_id": r["study_id"], "report_0": "Sinus rhythm"} for r in rows]
    ).to_csv(base / "machine_measurements.csv", index=False)
    root = download_dataset("mimic_iv_ecg", records=1, out=tmp_path / "out", mirror=tmp_path / "mirror")
    assert sorted(p.name for p in root.rglob("4*")) == ["40689238.dat", "40689238.hea"]
    catalog = load_catalog("mimic_iv_ecg", root=root)
    assert [r.record_id for r in catalog] == ["mimic_iv_ecg/40689238"] and catalog[0].text == "Sinus rhythm."
