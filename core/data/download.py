"""Dataset acquisition: PhysioNet (or a mirror) -> the local cache, in PhysioNet's own layout.

``download_dataset("ptbxl", records=50)`` fetches the index files of a database (e.g. ``ptbxl_database.csv``),
reads them to learn which record files exist, and fetches the first ``records`` records. Every file is

- resumable: bytes go to ``<file>.part`` and a later run continues it with an HTTP ``Range`` request (or a seek,
  for a local-directory mirror); complete files are skipped;
- checked: against the database's ``SHA256SUMS.txt`` where the file is listed there, else against the size the
  server announces (``Content-Length``) or the mirror file's size. A mismatch raises :class:`DownloadError` naming
  the URL.

The mirror is PhysioNet's ``files/`` root by default; ``mirror=`` / ``--mirror`` / ``ECG_DATA_MIRROR`` point the same
code at another base URL or at a local directory in PhysioNet's layout (files are then copied).

Index files (the tables that list the records, e.g. ``ptbxl_database.csv``) are an exception to the sha256 rule: a
mirror that holds a subset of a database (like the project's ``shared/data``) necessarily serves a shorter table than
the one ``SHA256SUMS.txt`` describes. A sha256 mismatch on an index file is therefore logged as a warning after its
size has been checked; record files are always checked strictly.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.data import registry
from core.data.progress import ProgressCallback, TqdmProgress, report
from core.data.registry import DatasetEntry, physionet_cache_dir
from core.errors import DownloadError, UnknownDatasetError
from core.paths import PHYSIONET_FILES_URL
from core.paths import mirror as default_mirror

log = logging.getLogger(__name__)

CHUNK_BYTES = 1 << 16
TIMEOUT_S = 30.0
RETRIES = 3
USER_AGENT = "ecg-language-explorer (+https://github.com/; python urllib)"
SUMS_FILE = "SHA256SUMS.txt"


# --------------------------------------------------------------------------------------------------------------------
# Where files come from: an HTTP(S) base URL or a local directory, both in PhysioNet's layout.
# --------------------------------------------------------------------------------------------------------------------


class _NotFound(DownloadError):
    """The mirror does not have the file (HTTP 404, or absent from the mirror directory)."""


class _Transient(DownloadError):
    """A failure worth retrying: connection refused or reset, timeout, HTTP 5xx."""


class _RangeNotSatisfiable(Exception):
    """HTTP 416: the ``.part`` file is already as long as (or longer than) the remote file."""


@dataclass
class _Opened:
    stream: BinaryIO
    total_bytes: int | None  # size of the whole file, when known
    resumed: bool  # True if the stream starts at the requested offset, False if it starts at byte 0


class Mirror:
    """A PhysioNet-layout file tree reachable by HTTP(S) or as a local directory."""

    def __init__(self, base: str | Path):
        text = str(base)
        if text.startswith("file://"):
            text = urllib.parse.unquote(urllib.parse.urlparse(text).path)
        self.is_local = not text.startswith(("http://", "https://"))
        if self.is_local:
            self.root = Path(text).expanduser()
            if not self.root.is_dir():
                raise DownloadError(f"mirror directory {self.root} does not exist")
            self.base = str(self.root)
        else:
            self.base = text if text.endswith("/") else text + "/"

    def __repr__(self) -> str:
        return f"Mirror({self.base!r})"

    def where(self, rel: str) -> str:
        """The URL (or local path) of a file, for messages."""
        return str(self.root / rel) if self.is_local else urllib.parse.urljoin(self.base, urllib.parse.quote(rel))

    def size(self, rel: str) -> int | None:
        """Size in bytes of a mirror file, or ``None`` if the server does not say."""
        if self.is_local:
            path = self.root / rel
            if not path.is_file():
                raise _NotFound(f"{path}: not found in the mirror directory")
            return path.stat().st_size
        request = urllib.request.Request(self.where(rel), method="HEAD", headers={"User-Agent": USER_AGENT})
        with self._urlopen(request, rel) as response:
            length = response.headers.get("Content-Length")
            return int(length) if length is not None else None

    def open(self, rel: str, offset: int = 0) -> _Opened:
        """Open a mirror file for reading from ``offset`` (servers that ignore ``Range`` restart at 0)."""
        if self.is_local:
            path = self.root / rel
            if not path.is_file():
                raise _NotFound(f"{path}: not found in the mirror directory")
            total = path.stat().st_size
            if offset > total:
                raise _RangeNotSatisfiable()
            stream = path.open("rb")
            stream.seek(offset)
            return _Opened(stream, total, resumed=True)
        headers = {"User-Agent": USER_AGENT}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        response = self._urlopen(urllib.request.Request(self.where(rel), headers=headers), rel)
        if response.status == 206:
            content_range = response.headers.get("Content-Range", "")  # "bytes 100-999/1000"
            total_text = content_range.rpartition("/")[2]
            total = int(total_text) if total_text.isdigit() else None
            return _Opened(response, total, resumed=True)
        length = response.headers.get("Content-Length")
        return _Opened(response, int(length) if length is not None else None, resumed=offset == 0)

    def _urlopen(self, request: urllib.request.Request, rel: str):
        url = request.full_url
        try:
            return urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310 - http(s) only, checked above
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                raise _NotFound(f"{url}: not found (HTTP 404)") from exc
            if exc.code == 416:
                raise _RangeNotSatisfiable() from exc
            if exc.code in (401, 403):
                raise DownloadError(
                    f"{url}: access denied (HTTP {exc.code}); this database may need PhysioNet credentials — "
                    "download it yourself and point ECG_DATA_MIRROR or --root at the copy"
                ) from exc
            error = _Transient if exc.code >= 500 else DownloadError
            raise error(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise _Transient(f"{url}: cannot connect ({getattr(exc, 'reason', exc)})") from exc


# --------------------------------------------------------------------------------------------------------------------
# One file: resume, verify, atomically move into place.
# --------------------------------------------------------------------------------------------------------------------


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_file(
    mirror: Mirror,
    rel: str,
    dest: Path,
    *,
    sha256: str | None = None,
    strict_sha256: bool = True,
    retries: int = RETRIES,
) -> int:
    """Fetch one file unless a verified copy is already there.

    Args:
        mirror: where to fetch from.
        rel: path of the file relative to the mirror root (e.g. ``"ptb-xl/1.0.3/scp_statements.csv"``).
        dest: local destination; partial data lives in ``dest + ".part"`` until verified.
        sha256: expected hex digest (from ``SHA256SUMS.txt``), if known; else the size is checked.
        strict_sha256: if False, a digest mismatch is only logged (used for index tables a mirror may subset).
        retries: attempts on transient network errors, each resuming where the last one stopped.

    Returns:
        Number of bytes transferred (0 if the file was already complete).

    Raises:
        DownloadError: not found, incomplete, or failing its checksum; the message names the URL.
    """
    url = mirror.where(rel)
    if dest.is_file():
        if _existing_is_complete(mirror, rel, dest, sha256, strict_sha256):
            return 0
        log.warning("%s: existing copy is incomplete or corrupt; fetching it again", dest)
        dest.unlink()

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    transferred = 0
    total: int | None = None
    for attempt in range(1, retries + 1):
        offset = part.stat().st_size if part.is_file() else 0
        try:
            opened = mirror.open(rel, offset)
        except _RangeNotSatisfiable:
            if _remote_size_or_none(mirror, rel) == offset:
                total = offset  # the earlier run received everything but stopped before verifying
                break
            log.info("%s: partial file is longer than the remote one; restarting", url)
            part.unlink(missing_ok=True)
            continue
        except _Transient as exc:
            if attempt == retries:
                raise
            log.warning("%s (retrying %d/%d)", exc, attempt, retries)
            time.sleep(0.5 * attempt)
            continue
        total = opened.total_bytes
        mode = "ab" if opened.resumed and offset else "wb"
        if offset and mode == "ab":
            log.info("%s: resuming at byte %d", url, offset)
        try:
            with opened.stream as stream, part.open(mode) as out:
                for chunk in iter(lambda s=stream: s.read(CHUNK_BYTES), b""):
                    out.write(chunk)
                    transferred += len(chunk)
            break
        except (TimeoutError, ConnectionError, urllib.error.URLError, OSError) as exc:
            if attempt == retries:
                raise DownloadError(f"{url}: transfer failed after {retries} attempts ({exc})") from exc
            log.warning("%s: transfer interrupted (%s); retrying (%d/%d)", url, exc, attempt, retries)
            time.sleep(0.5 * attempt)

    if not part.is_file():
        raise DownloadError(f"{url}: could not be fetched (the server kept rejecting the resume request)")
    size = part.stat().st_size
    if total is not None and size != total:
        raise DownloadError(f"{url}: incomplete download ({size} of {total} bytes); run the command again to resume")
    if sha256 is not None:
        actual = sha256_file(part)
        if actual != sha256.lower():
            if strict_sha256:
                part.unlink()
                raise DownloadError(f"{url}: sha256 mismatch (expected {sha256}, got {actual}); the file was discarded")
            log.warning(
                "%s: sha256 differs from %s (the mirror serves another version of this file, e.g. a subset table); "
                "keeping it since its size matches what the server sent",
                url,
                SUMS_FILE,
            )
    os.replace(part, dest)
    return transferred


def _remote_size_or_none(mirror: Mirror, rel: str) -> int | None:
    try:
        return mirror.size(rel)
    except DownloadError:
        return None


def _existing_is_complete(mirror: Mirror, rel: str, dest: Path, sha256: str | None, strict: bool) -> bool:
    if sha256 is not None and sha256_file(dest) == sha256.lower():
        return True
    if sha256 is not None and strict:
        return False
    try:
        remote = mirror.size(rel)
    except DownloadError as exc:
        # Not on the mirror any more, no HEAD support, or offline: keep the local copy rather than deleting data.
        log.debug("cannot check %s against the mirror (%s); keeping it", dest, exc)
        return True
    return remote is None or remote == dest.stat().st_size


def read_sums(path: Path) -> dict[str, str]:
    """Parse a ``SHA256SUMS.txt`` (``<hex>  <relative path>`` per line) into ``{path: hex}``."""
    sums: dict[str, str] = {}
    if not path.is_file():
        return sums
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        digest, _, name = line.strip().partition(" ")
        name = name.strip().lstrip("*")
        if len(digest) == 64 and name:
            sums[name] = digest.lower()
    return sums


# --------------------------------------------------------------------------------------------------------------------
# Databases: which index files to fetch, and how to list record files from them.
# --------------------------------------------------------------------------------------------------------------------

# Which records a database has, read from its index files: ``(dataset_dir, records, options) -> [record stems]`` for the
# first ``records`` records. What else to fetch (index files, per-record extensions) is in :mod:`core.data.registry`.
RecordLister = Callable[[Path, "int | None", dict], list[str]]


def _ptbxl_records(root: Path, records: int | None, options: dict) -> list[str]:
    rates = tuple(int(r) for r in options.get("rates") or (100, 500))
    columns = {100: "filename_lr", 500: "filename_hr"}
    unknown = [r for r in rates if r not in columns]
    if unknown:
        raise ValueError(f"PTB-XL has 100 Hz and 500 Hz records, not {unknown}")
    with (root / "ptbxl_database.csv").open(newline="", encoding="utf-8") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: int(float(row["ecg_id"])))
    return [row[columns[rate]] for row in rows[:records] for rate in rates]


def _ludb_records(root: Path, records: int | None, options: dict) -> list[str]:
    return _read_records_file(root / "RECORDS")[:records]


def _read_records_file(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _cinc2021_records(root: Path, records: int | None, options: dict) -> list[str]:
    # PhysioNet's top-level RECORDS lists record paths (training/<source>/<group>/<id>) or, for nested databases,
    # sub-directories ending in "/" that hold their own RECORDS; those were fetched by _expand_nested_records.
    return _expand_nested_records(root, options.get("_fetch"))[:records]


def _expand_nested_records(root: Path, fetch: Callable[[str], object] | None, prefix: str = "") -> list[str]:
    names: list[str] = []
    for line in _read_records_file(root / prefix / "RECORDS"):
        if line.endswith("/"):
            sub = f"{prefix}{line}"
            if fetch is not None:
                fetch(f"{sub}RECORDS")
            names += _expand_nested_records(root, fetch, sub)
        else:
            names.append(f"{prefix}{line}")
    return names


def _mimic_records(root: Path, records: int | None, options: dict) -> list[str]:
    with (root / "record_list.csv").open(newline="", encoding="utf-8") as handle:
        return [row["path"] for row in csv.DictReader(handle)][:records]


RECORD_LISTERS: dict[str, RecordLister] = {
    "ptbxl": _ptbxl_records,
    "ludb": _ludb_records,
    "cinc2021": _cinc2021_records,
    "mimic_iv_ecg": _mimic_records,
}


def downloadable_entry(name: str) -> DatasetEntry:
    """The registry entry of a dataset this module can fetch.

    Raises:
        UnknownDatasetError: unknown name, or a dataset that is not on PhysioNet (the message lists those that are).
    """
    entry = registry.get(name)
    if not entry.downloadable or entry.name not in RECORD_LISTERS:
        known = ", ".join(n for n in registry.list_datasets(downloadable=True) if n in RECORD_LISTERS)
        raise UnknownDatasetError(f"no download recipe for dataset {name!r}; known: {known}")
    return entry


# --------------------------------------------------------------------------------------------------------------------
# The entry point.
# --------------------------------------------------------------------------------------------------------------------


def download_dataset(
    name: str,
    records: int | None = None,
    out: str | Path | None = None,
    mirror: str | Path | None = None,
    progress: ProgressCallback | None = None,
    *,
    rates: Sequence[int] | None = None,
    workers: int = 4,
) -> Path:
    """Fetch a dataset (or its first ``records`` records) into the cache, in PhysioNet's layout.

    Args:
        name: ``"ptbxl"``, ``"ludb"``, ``"cinc2021"`` or ``"mimic_iv_ecg"``.
        records: fetch only the first N records (in the order of the dataset's index table); ``None`` for all.
        out: the local ``files/`` root; default ``core.paths.data_dir() / "physionet"``.
        mirror: base URL or local directory in PhysioNet's layout; ``None``: ``ECG_DATA_MIRROR`` or PhysioNet.
        progress: called as ``progress((done, total), desc=...)`` after each file (``gr.Progress`` works as is).
        rates: PTB-XL only: which sampling rates to fetch, a subset of ``(100, 500)`` (default both).
        workers: parallel transfers for record files.

    Returns:
        The dataset directory, e.g. ``<out>/ptb-xl/1.0.3``.

    Raises:
        DownloadError: a required file is missing on the mirror or fails its check (the message names the URL).
        UnknownDatasetError: a dataset that is not on PhysioNet (a ``ValueError``).
        ValueError: a bad option.
    """
    spec = downloadable_entry(name)
    path = spec.physionet_path or ""
    if records is not None and records < 1:
        raise ValueError(f"records must be a positive number, got {records}")
    source = Mirror(mirror if mirror is not None else default_mirror())
    root = Path(out or physionet_cache_dir()) / path
    root.mkdir(parents=True, exist_ok=True)
    log.info("downloading %s from %s into %s", spec.name, source.base, root)

    def rel(file: str) -> str:
        return f"{path}{file}"

    # 1. The checksum list (optional: not every database or mirror has one).
    try:
        fetch_file(source, rel(SUMS_FILE), root / SUMS_FILE)
    except _NotFound:
        log.warning("%s has no %s; files are checked by size only", source.where(path), SUMS_FILE)
    sums = read_sums(root / SUMS_FILE)

    # 2. Index tables (required) and extras (optional), then the record files they list.
    done = 0
    head = [(f, True) for f in spec.index_files] + [(f, False) for f in spec.optional_files]
    total_guess = len(head)
    for file, required in head:
        try:
            fetch_file(source, rel(file), root / file, sha256=sums.get(file), strict_sha256=False)
        except _NotFound:
            if required:
                raise
            log.debug("optional file %s not on the mirror", source.where(rel(file)))
        done += 1
        report(progress, done, total_guess, f"{spec.name}: index files")

    def fetch_listed(file: str) -> int:
        return fetch_file(source, rel(file), root / file, sha256=sums.get(file))

    # "_fetch" lets a lister pull nested index files (CinC-2021's per-group RECORDS) before listing.
    options = {"rates": rates, "_fetch": fetch_listed}
    stems = RECORD_LISTERS[spec.name](root, records, options)
    files = [f"{stem}.{ext}" for stem in stems for ext in spec.record_extensions]
    total = done + len(files)
    report(progress, done, total, f"{spec.name}: {len(files)} record files")

    lock = threading.Lock()
    transferred = 0

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(fetch_listed, f): f for f in files}
        try:
            for future in as_completed(futures):
                nbytes = future.result()
                with lock:
                    transferred += nbytes
                    done += 1
                report(progress, done, total, f"{spec.name}: record files")
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    log.info("%s: %d files in place (%.1f MB transferred)", root, total, transferred / 1e6)
    return root


# --------------------------------------------------------------------------------------------------------------------
# CLI: python -m core download <dataset> [--records N] [--out DIR] [--mirror URL_OR_DIR] [--rates 100,500]
# --------------------------------------------------------------------------------------------------------------------


def add_arguments(parser) -> None:
    """Arguments of ``python -m core download``."""
    parser.add_argument("dataset", choices=sorted(RECORD_LISTERS), help="which dataset")
    parser.add_argument("--records", type=int, default=None, help="only the first N records (default: all)")
    parser.add_argument("--out", type=Path, default=None, help="cache root (default: $ECG_DATA_DIR/physionet)")
    parser.add_argument(
        "--mirror",
        default=None,
        help=f"base URL or local directory in PhysioNet's layout (default: $ECG_DATA_MIRROR or {PHYSIONET_FILES_URL})",
    )
    parser.add_argument("--rates", default="100,500", help="PTB-XL sampling rates to fetch (default: 100,500)")
    parser.add_argument("--workers", type=int, default=4, help="parallel transfers (default: 4)")


def run(args) -> int:
    """Run ``python -m core download``; prints the dataset directory."""
    rates = [int(r) for r in str(args.rates).split(",") if r.strip()]
    try:
        with TqdmProgress(unit="file") as bar:
            root = download_dataset(
                args.dataset,
                records=args.records,
                out=args.out,
                mirror=args.mirror,
                progress=bar,
                rates=rates,
                workers=args.workers,
            )
    except DownloadError as exc:
        log.error("%s", exc)
        return 1
    print(root)
    return 0
