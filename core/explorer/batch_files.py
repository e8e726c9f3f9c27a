"""Uploaded files for batch zero-shot: a zip archive or a folder of ECG files, read one record at a time.

* **Bounded by decoded size.** A zip is refused before anything is written when it holds more than
  :data:`ZIP_MAX_MEMBERS` files or declares more than :data:`ZIP_MAX_BYTES` uncompressed; while extracting, the bytes
  actually inflated are counted too (a member's declared size can lie). Each record is then read by the upload reader
  (:func:`core.explorer.uploads.read_upload`) within the readers' byte and sample budgets, so no record decodes to
  more than :data:`core.data.formats.common.MAX_DECODED_VALUES` values, and only one whole record is held at a time.
* **Records.** A ``.hea`` with the files of the same name beside it is one WFDB/CinC record; every ``.csv``, ``.npy``
  or ``.npz`` is one record. A record that cannot be read is skipped with its reason, not fatal to the batch.
* **Reference labels** come from an optional ``labels.csv`` in the upload: a column naming the record (``record``,
  ``file`` or the first column; the file name with or without its extension) and a ``labels`` column (labels
  separated by ``;``, ``|`` or ``,``).
* **What is scored** is the first :data:`core.explorer.uploads.WINDOW_S` seconds of each record, as for one upload.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from core.ecg import ECG
from core.errors import ECGCorruptError, ECGFormatError, ECGTooLargeError, UserFacingError
from core.explorer.errors import InvalidRequestError
from core.explorer.uploads import UPLOAD_MAX_BYTES, read_upload, upload_window

ZIP_MAX_MEMBERS = 2000
# Uncompressed bytes a zip may unpack to: four times the single-file upload limit (e.g. 2000 ten-second 12-lead
# WFDB records at 500 Hz are about 240 MB).
ZIP_MAX_BYTES = 4 * UPLOAD_MAX_BYTES
LABELS_FILE = "labels.csv"
SIGNAL_SUFFIXES = (".csv", ".npy", ".npz")
_LABEL_SPLIT = re.compile(r"[;|,]")
# Files that archivers add and that hold no ECG.
_IGNORED = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)")


@dataclass(frozen=True)
class BatchRecord:
    """One uploaded record as scored: its name, the scored window, and its reference labels (may be empty)."""

    name: str
    ecg: ECG
    labels: tuple[str, ...] = ()


def extract_zip(path: Path, dest: Path, *, max_members: int | None = None, max_bytes: int | None = None) -> list[Path]:
    """Unpack a zip archive into ``dest`` within the member and byte bounds (default :data:`ZIP_MAX_MEMBERS`,
    :data:`ZIP_MAX_BYTES`); returns the files written.

    Raises:
        ECGTooLargeError: too many members, or more uncompressed bytes than ``max_bytes`` (declared or inflated).
        ECGFormatError: not a zip archive, or a member path that leaves ``dest`` (``../x``, ``/etc/x``).
        ECGCorruptError: a damaged archive.
    """
    max_members = ZIP_MAX_MEMBERS if max_members is None else max_members
    max_bytes = ZIP_MAX_BYTES if max_bytes is None else max_bytes
    name = path.name
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ECGFormatError(name, "not a readable zip archive") from exc
    written: list[Path] = []
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not _IGNORED.search(m.filename)]
        if len(members) > max_members:
            raise ECGTooLargeError(name, f"{len(members):,} files in the archive; at most {max_members:,} are read")
        declared = sum(m.file_size for m in members)
        if declared > max_bytes:
            raise ECGTooLargeError(name, f"unpacks to {declared:,} bytes, more than the {max_bytes:,} allowed")
        total = 0
        for member in members:
            rel = PurePosixPath(member.filename)
            if rel.is_absolute() or ".." in rel.parts:
                raise ECGFormatError(name, f"the archive member {member.filename!r} points outside the archive")
            target = dest.joinpath(*rel.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                with archive.open(member) as src, target.open("wb") as out:
                    while chunk := src.read(1 << 20):
                        total += len(chunk)
                        if total > max_bytes:  # the declared sizes were wrong
                            raise ECGTooLargeError(name, f"unpacks to more than the {max_bytes:,} bytes allowed")
                        out.write(chunk)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                raise ECGCorruptError(name, f"damaged archive member {rel.name} ({type(exc).__name__})") from exc
            written.append(target)
    return written


def expand_uploads(paths: Sequence[Path], dest: Path) -> list[Path]:
    """The uploaded files, with every ``.zip`` among them unpacked into its own folder under ``dest``."""
    files: list[Path] = []
    for i, path in enumerate(paths):
        if path.suffix.lower() == ".zip":
            files.extend(extract_zip(path, dest / f"zip{i}"))
        else:
            files.append(path)
    return files


def group_records(files: Sequence[Path]) -> list[tuple[str, list[Path]]]:
    """``(record name, its files)`` in name order: a ``.hea`` with the same-stem files of its folder, and each
    ``.csv``/``.npy``/``.npz`` alone (:data:`LABELS_FILE` and other files are left out)."""
    by_folder_stem: dict[tuple[Path, str], list[Path]] = {}
    for f in files:
        by_folder_stem.setdefault((f.parent, f.stem), []).append(f)
    records: dict[str, list[Path]] = {}

    def add(stem: str, folder: Path, group: list[Path]) -> None:
        # The same name in two folders: the second is named with its folder rather than dropped.
        records[stem if stem not in records else f"{folder.name}/{stem}"] = group

    for (folder, stem), group in by_folder_stem.items():
        if any(f.suffix.lower() == ".hea" for f in group):
            add(stem, folder, group)
            continue
        for f in group:
            if f.suffix.lower() in SIGNAL_SUFFIXES and f.name.lower() != LABELS_FILE:
                add(f.stem, folder, [f])
    return sorted(records.items())


def read_labels(files: Sequence[Path]) -> dict[str, tuple[str, ...]]:
    """Record name (file stem) -> reference labels, from the first :data:`LABELS_FILE` among ``files`` ({} if none).

    Raises:
        InvalidRequestError: the file has no ``labels`` column.
    """
    table = next((f for f in files if f.name.lower() == LABELS_FILE), None)
    if table is None:
        return {}
    with table.open(encoding="utf-8-sig", errors="replace", newline="") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "labels" not in rows[0]:
        raise InvalidRequestError(f"{LABELS_FILE} needs a 'labels' column (and a 'record' column naming the files)")
    columns = list(rows[0])
    key = next((c for c in ("record", "file", "record_id") if c in columns), columns[0])
    out = {}
    for row in rows:
        name = Path(str(row.get(key) or "").strip()).name
        stem = Path(name).stem if Path(name).suffix.lower() in (".hea", ".dat", ".mat", *SIGNAL_SUFFIXES) else name
        labels = tuple(x.strip() for x in _LABEL_SPLIT.split(str(row.get("labels") or "")) if x.strip())
        if stem:
            out[stem] = labels
    return out


def iter_batch(
    files: Sequence[Path],
    fs_hz: float | None = None,
    lead_names: Sequence[str] = (),
    units: str = "auto",
) -> Iterator[BatchRecord | tuple[str, str]]:
    """Each record of ``files`` as a :class:`BatchRecord` (its first window), or ``(name, reason)`` when it cannot be
    read. One record is decoded at a time."""
    labels = read_labels(files)
    for name, group in group_records(files):
        try:
            window = upload_window(read_upload(group, fs_hz, lead_names, units), 0.0)
        except UserFacingError as exc:
            yield name, getattr(exc, "detail", None) or str(exc)
            continue
        yield BatchRecord(name, window.ecg, labels.get(name, ()))
