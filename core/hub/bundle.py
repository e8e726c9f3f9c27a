"""Demo bundles: the explorer's cache folder as a versioned, hash-checked set of files on the Hub.

A bundle is a folder (pushed to a Hub *dataset* repository)::

    bundle.json    format_version, checkpoint_hash, cache_key, spec, and every file with its size and sha256
    index/...      the explorer cache folder's files, as they are (embeddings, records, indexes, map, thumbnails)

The bundle treats the cache folder as opaque files, so it does not depend on the folder's internal format; what ties
it to the app is the cache key (:func:`core.explorer.store.cache_key`: checkpoint hash + data spec, catalog parser and
build versions included). At start, :func:`prepare_demo_index` installs a bundle into the cache root
(``core.paths.data_dir()``, the persistent ``/data`` volume on Spaces) only when its files match their hashes and its
key is the one the app would build; otherwise it logs why and the app builds from PhysioNet as before.

The bundle holds no ECG files (they stay with PhysioNet and its licences): after installing one, the demo records are
downloaded in a background thread, so search, the map and zero-shot answer at once and opening a record's full
waveform works once its file is there.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path

from core.data.progress import ProgressCallback, report
from core.explorer.store import DemoSpec, cache_folder, cache_key
from core.hub.refs import HubError, HubRef, download

logger = logging.getLogger(__name__)

BUNDLE_FORMAT = 1
MANIFEST_NAME = "bundle.json"
INDEX_DIR = "index"
_CHUNK = 1 << 20


class BundleError(ValueError):
    """A bundle that must not be used: unreadable manifest, other format, missing or altered files, other key."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def export_bundle(cache_dir: str | Path, out_dir: str | Path) -> Path:
    """Write a bundle of an explorer cache folder (``<data dir>/explorer/<key>``) to ``out_dir``.

    Raises:
        FileNotFoundError: ``cache_dir`` has no ``manifest.json`` (not a built explorer cache).
        BundleError: its manifest names no checkpoint hash.
    """
    src = Path(cache_dir)
    if not (src / "manifest.json").is_file():
        raise FileNotFoundError(f"{src} is not an explorer cache folder (no manifest.json); run build-index first")
    cache_manifest = json.loads((src / "manifest.json").read_text(encoding="utf-8"))
    if not cache_manifest.get("checkpoint_hash"):
        raise BundleError(f"{src / 'manifest.json'} names no checkpoint_hash")
    out = Path(out_dir)
    shutil.rmtree(out / INDEX_DIR, ignore_errors=True)
    shutil.copytree(src, out / INDEX_DIR)
    files = [
        {"path": str(p.relative_to(out).as_posix()), "size": p.stat().st_size, "sha256": sha256_file(p)}
        for p in _files(out / INDEX_DIR)
    ]
    manifest = {
        "format_version": BUNDLE_FORMAT,
        "checkpoint_hash": cache_manifest["checkpoint_hash"],
        "checkpoint_name": cache_manifest.get("checkpoint_name"),
        "cache_key": src.name,
        "spec": cache_manifest.get("spec"),
        "n_records": cache_manifest.get("n_records"),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "files": files,
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    logger.info("bundle of %s: %d files, %d bytes -> %s", src.name, len(files), sum(f["size"] for f in files), out)
    return out


def read_manifest(bundle_dir: str | Path) -> dict:
    """The bundle's manifest, checked for its format version.

    Raises:
        BundleError: missing or unreadable, or another format version.
    """
    path = Path(bundle_dir) / MANIFEST_NAME
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise BundleError(f"no readable {MANIFEST_NAME} in {bundle_dir}: {err}") from err
    if manifest.get("format_version") != BUNDLE_FORMAT:
        raise BundleError(f"bundle format {manifest.get('format_version')!r}, this code reads {BUNDLE_FORMAT}")
    return manifest


def verify_files(root: Path, manifest: dict, prefix: str = "") -> None:
    """Check that the files under ``root`` are exactly the manifest's (same set, sizes and sha256).

    Args:
        root: the folder the manifest's paths are relative to, after removing ``prefix`` from them.
        prefix: leading path part of the manifest's entries that ``root`` stands for (``"index/"``).

    Raises:
        BundleError: naming the first missing, extra or altered file.
    """
    expected = {f["path"].removeprefix(prefix): f for f in manifest.get("files", [])}
    present = {p.relative_to(root).as_posix() for p in _files(root)}
    if extra := sorted(present - set(expected)):
        raise BundleError(f"files not in the manifest: {extra[:5]}")
    for rel, entry in expected.items():
        path = root / rel
        if not path.is_file():
            raise BundleError(f"{rel} is missing")
        if path.stat().st_size != entry["size"] or sha256_file(path) != entry["sha256"]:
            raise BundleError(f"{rel} does not match its sha256 in {MANIFEST_NAME}")


def install_bundle(
    bundle_dir: str | Path, checkpoint_hash: str, spec: DemoSpec, cache_root: Path | None = None
) -> Path:
    """Copy a downloaded bundle into the explorer cache after checking its key and every file's hash.

    The copy is checked (not the source), then renamed into place, so a half-written or altered folder is never
    served.

    Returns:
        The installed cache folder.

    Raises:
        BundleError: another checkpoint or data spec, or files that do not match the manifest.
    """
    src = Path(bundle_dir)
    manifest = read_manifest(src)
    want = cache_key(checkpoint_hash, spec)
    if manifest.get("checkpoint_hash") != checkpoint_hash or manifest.get("cache_key") != want:
        raise BundleError(
            f"bundle is for checkpoint {str(manifest.get('checkpoint_hash'))[:12]}… / key {manifest.get('cache_key')}, "
            f"the app serves {checkpoint_hash[:12]}… / key {want}"
        )
    folder = cache_folder(checkpoint_hash, spec, cache_root)
    tmp = folder.with_name(folder.name + f".bundle{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(src / INDEX_DIR, tmp)  # follows the Hub cache's symlinks: real files in the cache folder
    try:
        verify_files(tmp, manifest, prefix=f"{INDEX_DIR}/")
    except BundleError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)
    return folder


def prepare_demo_index(
    uri: str | None,
    checkpoint_hash: str,
    spec: DemoSpec,
    cache_root: Path | None = None,
    *,
    fetch_records: bool = True,
    progress: ProgressCallback | None = None,
) -> Path | None:
    """Make the explorer's cache folder come from the demo bundle ``uri`` when it can (the app's start-up hook).

    Nothing happens when ``uri`` is empty or the cache folder is already there (a previous start on the same
    persistent volume). A bundle that cannot be downloaded, fails its hashes or belongs to another checkpoint or data
    spec is logged and skipped: the caller then builds the index from PhysioNet as without a bundle.

    Args:
        uri: ``hf://datasets/org/name[@revision]`` (``ECG_DEMO_BUNDLE``), or ``None``.
        checkpoint_hash: the index checkpoint's content hash.
        spec: the data spec the app serves.
        cache_root: the data directory (default ``core.paths.data_dir()``).
        fetch_records: after installing, download the demo records' files in a background thread.
        progress: ``progress((done, total), desc=...)``, told while the bundle is downloaded and checked.

    Returns:
        The cache folder when a bundle was installed, else ``None``.
    """
    if not uri:
        return None
    folder = cache_folder(checkpoint_hash, spec, cache_root)
    installed = None
    if (folder / "manifest.json").is_file():
        logger.info("demo index already cached in %s; bundle %s not needed", folder, uri)
    else:
        t0 = time.perf_counter()
        report(progress, 0, 1, "downloading the demo bundle")
        try:
            installed = install_bundle(download(HubRef.parse(uri)), checkpoint_hash, spec, cache_root)
        except (HubError, BundleError, ValueError, OSError) as err:
            # The caller's build acquires the records itself, so no background download either.
            logger.warning("demo bundle %s not used (%s); building the index from PhysioNet instead", uri, err)
            return None
        logger.info("demo bundle %s installed in %s (%.1f s)", uri, installed, time.perf_counter() - t0)
    if fetch_records:
        # Also on a restart: a download cut short last time resumes (complete files are skipped).
        threading.Thread(target=_fetch_records, args=(spec,), name="demo-records", daemon=True).start()
    return installed


def _fetch_records(spec: DemoSpec) -> None:
    """Download the demo datasets' files (complete files are skipped), so indexed records open with their waveform."""
    from core.explorer.build import acquire  # the download layer; imported here, off the start-up path

    _, problems = acquire(spec)
    for problem in problems:
        logger.warning("demo records: %s", problem)
