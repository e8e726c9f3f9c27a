"""Acquire the demo data, embed every ECG and report, fit the map, and cache the result (:func:`build_explorer`).

:func:`index_corpus` is the second half on its own: from records and their embeddings (e.g. the output of
``python -m core embed``) to the indexes, the map and the cache folder, for corpora too large to embed here; the
index is exact or approximate by size (:mod:`core.index`) and the map fitted on a sample above
:data:`core.atlas.MAP_SAMPLE` points.

The datasets come through the data layer's downloader (PTB-XL subset with reports and LUDB by default;
``ECG_DATA_MIRROR`` honoured). Datasets that cannot be had are reported in :attr:`Explorer.problems` (with
instructions) instead of failing the whole build; such an incomplete build is served but not cached.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core.atlas import MAP_SAMPLE, fit_coords
from core.data.catalogs import load_catalog
from core.data.download import download_dataset
from core.data.progress import ProgressCallback, report
from core.data.readers import read_ecg
from core.embed import Embedder
from core.errors import DatasetNotFoundError, DownloadError, ECGReadError
from core.explorer.store import DemoSpec, Explorer, RecordInfo, cache_folder, cache_key
from core.index import EmbeddingIndex
from core.paths import data_dir
from core.plotting import thumbnail_series
from core.zeroshot import list_prompt_sets, load_prompt_set

logger = logging.getLogger(__name__)


def shipped_prompt_texts() -> list[str]:
    """Every prompt (and class name) of the prompt sets in ``assets/prompts/``, de-duplicated, sorted."""
    texts: set[str] = set()
    for name in list_prompt_sets():
        for cls, prompts in load_prompt_set(name).classes.items():
            texts.add(cls.strip())
            texts.update(p.strip() for p in prompts if p.strip())
    return sorted(texts)


def _relative_to_data_dir(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(data_dir().resolve()))
    except ValueError:
        return str(Path(path).resolve())


def record_info(rec) -> RecordInfo:
    """The explorer's light copy of a catalog ``Record`` (its path relative to the data directory when inside it)."""
    return RecordInfo(
        record_id=rec.record_id,
        dataset=rec.dataset,
        text=rec.text,
        text_en=rec.text_en or rec.text,
        labels={k: list(v) for k, v in rec.labels.items()},
        split=rec.split,
        path=_relative_to_data_dir(rec.path),
    )


def index_corpus(
    records: Sequence[RecordInfo],
    ecg_emb: np.ndarray,
    text_emb: np.ndarray,
    *,
    key: str,
    folder: Path | None = None,
    map_method: str = "umap",
    map_sample: int = MAP_SAMPLE,
    manifest: dict | None = None,
    progress: ProgressCallback | None = None,
    started: float | None = None,
    **explorer_kwargs,
) -> Explorer:
    """Indexes, map and (when ``folder`` is given) the cache folder for embedded records.

    Args:
        records: the records, row ``i`` of both embedding matrices.
        ecg_emb: (N, D) ECG embeddings (a memory map is fine).
        text_emb: (N, D) report embeddings.
        key: the content key the explorer is cached under (:func:`core.explorer.store.cache_key`).
        folder: where to save it (:meth:`Explorer.save`); ``None``: not saved.
        map_method: ``"umap"`` or ``"pca"``.
        map_sample: points the map is fitted on (the rest are placed with ``transform``).
        manifest: extra manifest fields (the index build parameters and recall are added).
        progress: ``progress((done, total), desc=...)``.
        started: ``time.perf_counter()`` when the whole build began (for the manifest's ``built_s``; default: now).
        explorer_kwargs: passed to :class:`Explorer` (``thumbs``, ``prompt_texts``, ``prompt_emb``, ``problems``).
    """
    t0 = time.perf_counter() if started is None else started
    report(progress, 0, 1, "building the ECG index")
    ecg_index = EmbeddingIndex(ecg_emb, progress=progress)
    report(progress, 0, 1, "building the report index")
    text_index = EmbeddingIndex(text_emb, progress=progress)
    for name, index in (("ECG", ecg_index), ("report", text_index)):
        logger.info("%s index: %s, recall@10 %.3f", name, index.params["kind"], index.params["recall_at_10"])
    report(progress, 0, 1, f"fitting the {map_method.upper()} map")
    map_xy = fit_coords(ecg_emb, method=map_method, sample_size=map_sample, progress=progress)
    explorer = Explorer(
        records, ecg_emb, text_emb, map_xy, key=key, map_method=map_method, ecg_index=ecg_index,
        text_index=text_index, **explorer_kwargs,
    )  # fmt: skip
    if folder is not None:
        report(progress, 1, 1, "saving the index")
        manifest = {**(manifest or {}), "map_method": map_method, "map_sample": int(min(map_sample, len(map_xy)))}
        manifest.setdefault("n_records", len(records))
        manifest["built_s"] = round(time.perf_counter() - t0, 1)
        manifest.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        explorer.save(Path(folder), manifest)
    return explorer


def load_prebuilt(folder: Path, checkpoint_hash: str) -> Explorer:
    """Open an explorer folder written by :func:`index_corpus` (memory-mapped), checking it was embedded with the
    checkpoint that will embed the queries (a manifest without ``checkpoint_hash`` is trusted).

    Raises:
        FileNotFoundError: ``folder`` holds no finished explorer (``manifest.json`` is written last).
        ValueError: it was embedded with another checkpoint, so its vectors and the queries' would not compare.
    """
    manifest_path = Path(folder) / "manifest.json"
    if not manifest_path.is_file():
        raise FileNotFoundError(f"{folder} holds no explorer index (no manifest.json); build it with index_corpus")
    built_with = json.loads(manifest_path.read_text(encoding="utf-8")).get("checkpoint_hash")
    if built_with and built_with != checkpoint_hash:
        raise ValueError(
            f"{folder} was embedded with checkpoint {built_with[:16]}, not the index checkpoint {checkpoint_hash[:16]}"
        )
    explorer = Explorer.load(Path(folder))
    logger.info("loaded %d indexed ECGs from the prebuilt folder %s", len(explorer), folder)
    return explorer


def acquire(
    spec: DemoSpec, progress: ProgressCallback | None = None, mirror: str | Path | None = None
) -> tuple[list, list[str]]:
    """Download (through ``mirror``, default ``ECG_DATA_MIRROR`` or PhysioNet) and catalog the demo datasets.

    Returns:
        ``(catalog records, problems)``: records of every dataset that could be had, and one message per dataset
        that could not (saying how to point the app at a local copy).
    """
    records: list = []
    problems: list[str] = []
    for name, count in spec.datasets:
        try:
            kwargs = {"rates": spec.ptbxl_rates} if name == "ptbxl" else {}
            root = download_dataset(name, records=count, mirror=mirror, progress=progress, **kwargs)
            catalog = load_catalog(name, root=root, download=False)
        except (DownloadError, DatasetNotFoundError, OSError) as exc:
            logger.warning("demo data %s unavailable: %s", name, exc)
            problems.append(
                f"{name}: could not be acquired ({exc}). Point the app at a copy with ECG_DATA_MIRROR=<URL or folder "
                f"laid out like https://physionet.org/files/> or pre-fill ECG_DATA_DIR with `python -m core download "
                f"{name}`."
            )
            continue
        chosen = catalog.records[:count] if count else catalog.records
        records.extend(chosen)
        logger.info("demo data: %d %s records", len(chosen), name)
    return records, problems


def build_explorer(
    embedder: Embedder,
    spec: DemoSpec | None = None,
    *,
    progress: ProgressCallback | None = None,
    rebuild: bool = False,
    cache_root: Path | None = None,
    mirror: str | Path | None = None,
) -> Explorer:
    """Load the cached explorer for (checkpoint, data spec), or build and cache it.

    Args:
        embedder: the checkpoint to embed with.
        spec: which datasets and how many records (default: 500 PTB-XL + 200 LUDB, UMAP map).
        progress: ``progress((done, total), desc=...)`` callback (``gr.Progress`` or :class:`TqdmProgress`).
        rebuild: ignore an existing cache.
        cache_root: the data directory (default ``core.paths.data_dir()``).
        mirror: where to download from (default ``ECG_DATA_MIRROR``, else PhysioNet).

    Returns:
        The explorer; empty (``.empty``) with ``.problems`` when no data could be acquired.
    """
    spec = spec or DemoSpec()
    folder = cache_folder(embedder.checkpoint_hash, spec, cache_root)
    if not rebuild and (folder / "manifest.json").is_file():
        report(progress, 1, 1, "loading cached index")
        explorer = Explorer.load(folder)
        logger.info("loaded %d indexed ECGs from %s", len(explorer), folder)
        return explorer

    t0 = time.perf_counter()
    catalog_records, problems = acquire(spec, progress, mirror=mirror)
    infos: list[RecordInfo] = []
    signals: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    thumbs: list[np.ndarray] = []
    unreadable = 0
    for i, rec in enumerate(catalog_records):
        report(progress, i, len(catalog_records), "reading and preprocessing ECGs")
        try:
            ecg = read_ecg(rec.path, record_id=rec.record_id)
        except ECGReadError as exc:
            unreadable += 1
            logger.warning("skipping %s: %s", rec.record_id, exc)
            continue
        x, m = embedder.prepare(ecg)
        thumbs.append(thumbnail_series(ecg.lead("II"), ecg.fs_hz).astype(np.float16))
        signals.append(x)
        masks.append(m)
        infos.append(record_info(rec))
    if unreadable:
        problems.append(f"{unreadable} record(s) could not be read and were skipped (see the log).")
    key = cache_key(embedder.checkpoint_hash, spec)
    if not infos:
        logger.warning("no demo records could be indexed")
        return Explorer([], np.zeros((0, 1)), np.zeros((0, 1)), np.zeros((0, 2)), key=key, problems=problems)

    ecg_chunks = []
    step = max(1, embedder.batch_size)
    for i in range(0, len(signals), step):
        report(progress, i, len(signals), "embedding ECGs")
        ecg_chunks.append(embedder.encode_signals(np.stack(signals[i : i + step]), np.stack(masks[i : i + step])))
    ecg_emb = np.concatenate(ecg_chunks)
    report(progress, 0, 1, "embedding reports")
    text_emb = embedder.encode_texts([r.text_en for r in infos])
    report(progress, 0, 1, "embedding the shipped prompts")
    prompt_texts = shipped_prompt_texts()
    prompt_emb = embedder.encode_texts(prompt_texts)
    manifest = {
        "checkpoint_hash": embedder.checkpoint_hash,
        "checkpoint_name": embedder.name,
        "spec": spec.key(),
    }
    if problems:
        # An incomplete build is served but not cached, so the next start tries to get the missing data again.
        logger.warning("not caching an incomplete index: %s", " ".join(problems))
    explorer = index_corpus(
        infos,
        ecg_emb,
        text_emb,
        key=key,
        folder=None if problems else folder,
        map_method=spec.map_method,
        manifest=manifest,
        progress=progress,
        started=t0,
        thumbs=np.stack(thumbs),
        prompt_texts=prompt_texts,
        prompt_emb=prompt_emb,
        problems=problems,
    )
    if not problems:
        logger.info("cached %d indexed ECGs in %s (%.1f s)", len(infos), folder, time.perf_counter() - t0)
    return explorer
