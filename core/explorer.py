"""The explorer service: demo data -> embeddings -> FAISS indexes + UMAP map, cached per (checkpoint, data).

:func:`build_explorer` acquires the demo datasets with the data layer's downloader (PTB-XL subset with reports and
LUDB by default; ``ECG_DATA_MIRROR`` honoured), embeds every ECG and every English report with a checkpoint, fits the
map, and stores the result under ``core.paths.data_dir() / "explorer" / <checkpoint hash>-<data key>``. A later call
with the same checkpoint and data spec loads that folder without touching the network. Datasets that cannot be had
are reported in :attr:`Explorer.problems` (with instructions) instead of failing the whole build.

CLI: ``python -m core build-index --checkpoint checkpoints/mets --records ptbxl:500,ludb:200``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.atlas import Atlas, fit_coords
from core.data.progress import ProgressCallback, report
from core.ecg import ECG
from core.embed import _LRU, Embedder
from core.errors import DatasetNotFoundError, DownloadError, ECGReadError
from core.index import EmbeddingIndex
from core.paths import data_dir
from core.plotting import thumbnail_series
from core.search import Hit, HybridReportSearch, contains_phrase, parse_query, record_mask

logger = logging.getLogger(__name__)

BUILD_VERSION = "3"
DEFAULT_DATASETS: tuple[tuple[str, int | None], ...] = (("ptbxl", 500), ("ludb", 200))
# Dataset name -> module whose VERSION constant is part of the cache key (bumped when parsing changes).
_CATALOG_MODULES = {
    "ptbxl": "core.data.catalogs.ptbxl",
    "ludb": "core.data.catalogs.ludb",
    "cinc2021": "core.data.catalogs.cinc2021",
}


class NoDataError(RuntimeError):
    """The explorer has no indexed records (no data could be acquired)."""


@dataclass(frozen=True)
class DemoSpec:
    """Which records the explorer indexes and how the map is made.

    Attributes:
        datasets: ``(dataset name, first N records or None for all)`` pairs.
        map_method: ``"umap"`` or ``"pca"`` (see :func:`core.atlas.fit_coords`).
        ptbxl_rates: PTB-XL sampling rates to download (500 Hz reads best on paper).
    """

    datasets: tuple[tuple[str, int | None], ...] = DEFAULT_DATASETS
    map_method: str = "umap"
    ptbxl_rates: tuple[int, ...] = (500,)

    @classmethod
    def parse(cls, text: str, **kwargs) -> DemoSpec:
        """``"ptbxl:500,ludb:200"`` (``name`` alone means all records)."""
        pairs: list[tuple[str, int | None]] = []
        for item in (p.strip() for p in text.split(",") if p.strip()):
            name, _, count = item.partition(":")
            pairs.append((name.strip(), int(count) if count.strip() else None))
        if not pairs:
            raise ValueError(f"no datasets in {text!r}; use e.g. 'ptbxl:500,ludb:200'")
        return cls(datasets=tuple(pairs), **kwargs)

    def key(self) -> dict:
        import importlib

        versions = {}
        for name, _ in self.datasets:
            module = _CATALOG_MODULES.get(name)
            versions[name] = getattr(importlib.import_module(module), "VERSION", "?") if module else "?"
        return {
            "datasets": [list(d) for d in self.datasets],
            "map": self.map_method,
            "rates": list(self.ptbxl_rates),
            "catalogs": versions,
            "build": BUILD_VERSION,
        }


@dataclass(frozen=True)
class RecordInfo:
    """What the explorer keeps about an indexed record (a light copy of a catalog ``Record``)."""

    record_id: str
    dataset: str
    text: str
    text_en: str
    labels: dict[str, list[str]] = field(default_factory=dict)
    split: str = ""
    path: str = ""

    def label_list(self) -> list[str]:
        """All labels, de-duplicated, in label-set order."""
        seen: dict[str, None] = {}
        for values in self.labels.values():
            for v in values:
                seen.setdefault(v, None)
        return list(seen)

    def label_text(self) -> str:
        """``"superclass: CD; rhythm: SR"`` (empty label sets left out)."""
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in self.labels.items() if v)


@dataclass(frozen=True)
class ReportMatch:
    """A distinct report text found by :meth:`Explorer.search_reports` and the indexed records that carry it."""

    hit: Hit
    records: list[RecordInfo]

    @property
    def record_ids(self) -> list[str]:
        return [r.record_id for r in self.records]


@dataclass(frozen=True)
class TextSearch:
    """Result of a free-text search: the parsed query, nearest ECGs and matching reports.

    Attributes:
        query: what was looked for (exclusions removed).
        exclude: excluded terms (from the query and the exclude field).
        ecgs: ``(record, cosine)`` of the nearest ECGs that pass the filters, best first.
        reports: distinct reports, best first (hybrid lexical + dense, :mod:`core.search.hybrid`).
    """

    query: str
    exclude: list[str]
    ecgs: list[tuple[RecordInfo, float]]
    reports: list[ReportMatch]


class Explorer:
    """Indexed demo records with their ECG and report embeddings, the FAISS indexes and the map.

    Args:
        embedder: the model the embeddings were made with.
        records: the indexed records (row i of each embedding matrix).
        ecg_emb: (N, D) unit ECG embeddings.
        text_emb: (N, D) unit embeddings of the English reports.
        map_xy: (N, 2) map coordinates.
        thumbs: (N, P) lead II thumbnails (:func:`core.plotting.thumbnail_series`), or None to compute on demand.
        prompt_texts: texts embedded at build time (the shipped prompt sets), seeded into the embedder's cache so
            zero-shot with them needs no model forward pass.
        prompt_emb: (len(prompt_texts), D) their embeddings.
        map_method: how the map was fitted.
        cache_dir: the folder the explorer was loaded from or saved to (``None`` when not cached).
        problems: human-readable messages about data that could not be had.
    """

    def __init__(
        self,
        embedder: Embedder,
        records: Sequence[RecordInfo],
        ecg_emb: np.ndarray,
        text_emb: np.ndarray,
        map_xy: np.ndarray,
        *,
        thumbs: np.ndarray | None = None,
        prompt_texts: Sequence[str] = (),
        prompt_emb: np.ndarray | None = None,
        map_method: str = "umap",
        cache_dir: Path | None = None,
        problems: Sequence[str] = (),
    ):
        self.embedder = embedder
        self.records = list(records)
        self.ecg_emb = np.asarray(ecg_emb, np.float32)
        self.text_emb = np.asarray(text_emb, np.float32)
        self.map_xy = np.asarray(map_xy, np.float32)
        self.thumbs = thumbs
        self.prompt_texts = list(prompt_texts)
        self.prompt_emb = prompt_emb
        if self.prompt_texts and prompt_emb is not None:
            embedder.seed_texts(self.prompt_texts, prompt_emb)
        self.map_method = map_method
        self.cache_dir = cache_dir
        self.problems = list(problems)
        self._row = {r.record_id: i for i, r in enumerate(self.records)}
        self.ecg_index = EmbeddingIndex(self.ecg_emb) if self.records else None
        self.text_index = EmbeddingIndex(self.text_emb) if self.records else None
        self.atlas = Atlas(self.map_xy, self.ecg_index, map_method) if self.records else None
        self._ecgs = _LRU(256)
        self._report_search: HybridReportSearch | None = None

    # ---- records ---------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    @property
    def empty(self) -> bool:
        return not self.records

    def _require_data(self) -> None:
        if self.empty:
            raise NoDataError("no ECGs are indexed: " + (" ".join(self.problems) or "the demo data is missing"))

    def __contains__(self, record_id: str) -> bool:
        return record_id in self._row

    def row(self, record_id: str) -> int:
        """Index row of a record id (``KeyError`` if it is not indexed)."""
        try:
            return self._row[record_id]
        except KeyError:
            raise KeyError(f"record {record_id!r} is not in the index") from None

    def record(self, record_id: str) -> RecordInfo:
        return self.records[self.row(record_id)]

    def read(self, record_id: str) -> ECG:
        """The waveform of an indexed record (read from the data cache; recently used ones are kept)."""
        ecg = self._ecgs.get(record_id)
        if ecg is None:
            from core.data.readers import read_ecg

            info = self.record(record_id)
            path = Path(info.path)
            if not path.is_absolute():
                path = data_dir() / path
            ecg = read_ecg(path, record_id=record_id)
            self._ecgs.put(record_id, ecg)
        return ecg

    def thumbnail(self, record_id: str) -> np.ndarray:
        """Lead II thumbnail series of an indexed record (stored at build time; read and computed otherwise)."""
        if self.thumbs is not None:
            return self.thumbs[self.row(record_id)].astype(np.float32)
        ecg = self.read(record_id)
        return thumbnail_series(ecg.lead("II"), ecg.fs_hz)

    def ecg_embedding(self, record_id: str) -> np.ndarray:
        """(D,) stored embedding of an indexed record."""
        return self.ecg_emb[self.row(record_id)]

    # ---- search ----------------------------------------------------------------------------------------------------
    def nearest_reports(self, query: np.ndarray, k: int = 5) -> list[tuple[RecordInfo, float]]:
        """Reports most similar to an embedding (ECG or text), best first."""
        self._require_data()
        sims, ids = self.text_index.search(query, k)
        return [(self.records[i], float(s)) for s, i in zip(sims[0], ids[0], strict=False) if i >= 0]

    def nearest_ecgs(
        self, query: np.ndarray, k: int = 5, allowed: np.ndarray | None = None
    ) -> list[tuple[RecordInfo, float]]:
        """Indexed ECGs most similar to an embedding (ECG or text), best first; only ``allowed`` rows if given."""
        self._require_data()
        if allowed is None:
            sims, ids = self.ecg_index.search(query, k)
            return [(self.records[i], float(s)) for s, i in zip(sims[0], ids[0], strict=False) if i >= 0]
        # Filtered: exact cosine over the allowed rows (a few thousand dot products; no index rebuild per filter).
        rows = np.flatnonzero(allowed)
        q = np.asarray(query, np.float32).reshape(-1)
        sims = self.ecg_emb[rows] @ (q / max(float(np.linalg.norm(q)), 1e-12))
        best = np.argsort(-sims, kind="stable")[:k]
        return [(self.records[rows[j]], float(sims[j])) for j in best]

    @property
    def report_search(self) -> HybridReportSearch:
        """Hybrid lexical + dense search over the English reports (built on first use; BM25 indexing takes ms)."""
        if self._report_search is None:
            self._report_search = HybridReportSearch(
                [r.text_en for r in self.records], self.text_emb, self.embedder.encode_texts
            )
        return self._report_search

    def filter_mask(
        self, *, dataset: str | None = None, label: str | None = None, exclude: Sequence[str] = ()
    ) -> np.ndarray:
        """(N,) bool: records of ``dataset`` carrying ``label`` (comma-separated lists allowed; ``"all"``/empty: no
        filter), without an ``exclude`` term among their labels or in their report."""
        mask = record_mask(
            [r.dataset for r in self.records],
            [r.label_list() for r in self.records],
            dataset=dataset,
            label=label,
            exclude=exclude,
        )
        for term in exclude:
            mask &= np.array([not contains_phrase(r.text_en, term) for r in self.records], dtype=bool)
        return mask

    def search_text(
        self,
        query: str,
        k: int = 5,
        *,
        dataset: str | None = None,
        label: str | None = None,
        exclude: Sequence[str] = (),
    ) -> TextSearch:
        """Free text -> the ``k`` nearest ECGs and the ``k`` best distinct reports, with filters.

        Args:
            query: free text; "..., not X" / "without X" excludes X (:func:`core.search.parse_query`).
            k: results per list.
            dataset: keep only these datasets (comma-separated; ``None``/``"all"``: every one).
            label: keep only records with one of these labels (comma-separated; ``None``/``"all"``: no filter).
            exclude: more excluded terms: a label drops the records that carry it, a phrase drops reports (and
                their ECGs) that say it.

        Raises:
            ValueError: the query has nothing to look for.
            NoDataError: nothing is indexed.
        """
        self._require_data()
        positive, in_query = parse_query(query)
        excluded = [*in_query, *(t.strip() for t in exclude if t.strip())]
        if not positive:
            raise ValueError("type what to look for before 'not ...', e.g. 'left bundle branch block, not RBBB'")
        filtered = bool(excluded) or any(v and v.strip().lower() != "all" for v in (dataset, label))
        mask = self.filter_mask(dataset=dataset, label=label, exclude=excluded) if filtered else None
        # The ECG side sees only the positive part: embedding "not RBBB" would pull the query towards RBBB.
        emb = self.embedder.encode_texts([positive])[0]
        ecgs = self.nearest_ecgs(emb, k, allowed=mask)
        hits = self.report_search.search(positive, k, exclude=excluded, allowed=mask)
        reports = [ReportMatch(h, [self.records[i] for i in h.indices]) for h in hits]
        return TextSearch(positive, excluded, ecgs, reports)

    def place(self, embedding: np.ndarray) -> np.ndarray:
        """(2,) map position of a new ECG embedding."""
        self._require_data()
        return self.atlas.place(np.atleast_2d(embedding))[0]

    def predict(self, class_emb: np.ndarray, names: Sequence[str]) -> list[str]:
        """Top zero-shot class of every indexed ECG for (C, D) class embeddings."""
        if self.empty:
            return []
        top = np.argmax(self.ecg_emb @ np.asarray(class_emb, np.float32).T, axis=1)
        return [names[i] for i in top]

    # ---- cache -----------------------------------------------------------------------------------------------------
    def save(self, folder: Path, manifest: dict) -> None:
        """Write the explorer to ``folder`` atomically (a temporary sibling folder, then a rename)."""
        tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        np.save(tmp / "ecg_emb.npy", self.ecg_emb)
        np.save(tmp / "text_emb.npy", self.text_emb)
        np.save(tmp / "map_xy.npy", self.map_xy)
        if self.thumbs is not None:
            np.save(tmp / "thumbs.npy", self.thumbs)
        if self.prompt_texts and self.prompt_emb is not None:
            (tmp / "prompt_texts.json").write_text(json.dumps(self.prompt_texts), encoding="utf-8")
            np.save(tmp / "prompt_emb.npy", self.prompt_emb)
        (tmp / "records.json").write_text(json.dumps([asdict(r) for r in self.records]), encoding="utf-8")
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        self.cache_dir = folder

    @classmethod
    def load(cls, folder: Path, embedder: Embedder) -> Explorer:
        """Load a folder written by :meth:`save`."""
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        records = [RecordInfo(**r) for r in json.loads((folder / "records.json").read_text(encoding="utf-8"))]
        return cls(
            embedder,
            records,
            np.load(folder / "ecg_emb.npy"),
            np.load(folder / "text_emb.npy"),
            np.load(folder / "map_xy.npy"),
            thumbs=np.load(folder / "thumbs.npy") if (folder / "thumbs.npy").is_file() else None,
            prompt_texts=json.loads((folder / "prompt_texts.json").read_text(encoding="utf-8"))
            if (folder / "prompt_texts.json").is_file()
            else (),
            prompt_emb=np.load(folder / "prompt_emb.npy") if (folder / "prompt_emb.npy").is_file() else None,
            map_method=manifest.get("map_method", "umap"),
            cache_dir=folder,
        )


def shipped_prompt_texts() -> list[str]:
    """Every prompt (and class name) of the prompt sets in ``assets/prompts/``, de-duplicated, sorted."""
    from core.zeroshot import list_prompt_sets, load_prompt_set

    texts: set[str] = set()
    for name in list_prompt_sets():
        for cls, prompts in load_prompt_set(name).classes.items():
            texts.add(cls.strip())
            texts.update(p.strip() for p in prompts if p.strip())
    return sorted(texts)


def cache_folder(embedder: Embedder, spec: DemoSpec, root: Path | None = None) -> Path:
    """Where the explorer for (checkpoint, data spec) is cached."""
    key = hashlib.sha256(json.dumps(spec.key(), sort_keys=True).encode()).hexdigest()[:12]
    return Path(root or data_dir()) / "explorer" / f"{embedder.checkpoint_hash[:16]}-{key}"


def _relative_to_data_dir(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(data_dir().resolve()))
    except ValueError:
        return str(Path(path).resolve())


def acquire(spec: DemoSpec, progress: ProgressCallback | None = None) -> tuple[list, list[str]]:
    """Download (through the mirror) and catalog the demo datasets.

    Returns:
        ``(catalog records, problems)``: records of every dataset that could be had, and one message per dataset
        that could not (saying how to point the app at a local copy).
    """
    from core.data.catalogs import load_catalog
    from core.data.download import download_dataset

    records: list = []
    problems: list[str] = []
    for name, count in spec.datasets:
        try:
            kwargs = {"rates": spec.ptbxl_rates} if name == "ptbxl" else {}
            root = download_dataset(name, records=count, progress=progress, **kwargs)
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
) -> Explorer:
    """Load the cached explorer for (checkpoint, data spec), or build and cache it.

    Args:
        embedder: the checkpoint to embed with.
        spec: which datasets and how many records (default: 500 PTB-XL + 200 LUDB, UMAP map).
        progress: ``progress((done, total), desc=...)`` callback (``gr.Progress`` or :class:`TqdmProgress`).
        rebuild: ignore an existing cache.
        cache_root: the data directory (default ``core.paths.data_dir()``).

    Returns:
        The explorer; empty (``.empty``) with ``.problems`` when no data could be acquired.
    """
    spec = spec or DemoSpec()
    folder = cache_folder(embedder, spec, cache_root)
    if not rebuild and (folder / "manifest.json").is_file():
        report(progress, 1, 1, "loading cached index")
        explorer = Explorer.load(folder, embedder)
        logger.info("loaded %d indexed ECGs from %s", len(explorer), folder)
        return explorer

    t0 = time.perf_counter()
    catalog_records, problems = acquire(spec, progress)
    infos: list[RecordInfo] = []
    signals: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    thumbs: list[np.ndarray] = []
    unreadable = 0
    for i, rec in enumerate(catalog_records):
        report(progress, i, len(catalog_records), "reading and preprocessing ECGs")
        try:
            from core.data.readers import read_ecg

            ecg = read_ecg(rec.path, record_id=rec.record_id)
        except ECGReadError as exc:
            unreadable += 1
            logger.warning("skipping %s: %s", rec.record_id, exc)
            continue
        x, m = embedder.prepare(ecg)
        thumbs.append(thumbnail_series(ecg.lead("II"), ecg.fs_hz).astype(np.float16))
        signals.append(x)
        masks.append(m)
        infos.append(
            RecordInfo(
                record_id=rec.record_id,
                dataset=rec.dataset,
                text=rec.text,
                text_en=rec.text_en or rec.text,
                labels={k: list(v) for k, v in rec.labels.items()},
                split=rec.split,
                path=_relative_to_data_dir(rec.path),
            )
        )
    if unreadable:
        problems.append(f"{unreadable} record(s) could not be read and were skipped (see the log).")
    if not infos:
        logger.warning("no demo records could be indexed")
        return Explorer(embedder, [], np.zeros((0, 1)), np.zeros((0, 1)), np.zeros((0, 2)), problems=problems)

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
    report(progress, 0, 1, f"fitting the {spec.map_method.upper()} map")
    map_xy = fit_coords(ecg_emb, method=spec.map_method)
    explorer = Explorer(
        embedder,
        infos,
        ecg_emb,
        text_emb,
        map_xy,
        thumbs=np.stack(thumbs),
        prompt_texts=prompt_texts,
        prompt_emb=prompt_emb,
        map_method=spec.map_method,
        problems=problems,
    )
    manifest = {
        "checkpoint_hash": embedder.checkpoint_hash,
        "checkpoint_name": embedder.name,
        "spec": spec.key(),
        "map_method": spec.map_method,
        "n_records": len(infos),
        "built_s": round(time.perf_counter() - t0, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if problems:
        # An incomplete build is served but not cached, so the next start tries to get the missing data again.
        logger.warning("not caching an incomplete index: %s", " ".join(problems))
    else:
        report(progress, 1, 1, "saving the index")
        explorer.save(folder, manifest)
        logger.info("cached %d indexed ECGs in %s (%.1f s)", len(infos), folder, time.perf_counter() - t0)
    return explorer


# ---- CLI: python -m core build-index ---------------------------------------------------------------------------------
def add_arguments(parser) -> None:
    """Arguments of ``python -m core build-index``."""
    parser.add_argument("--checkpoint", required=True, help="checkpoint directory (config.json + model.safetensors)")
    parser.add_argument(
        "--records", default="ptbxl:500,ludb:200", help="datasets and record counts (default: %(default)s)"
    )
    parser.add_argument("--map", choices=("umap", "pca"), default="umap", help="map method (default: %(default)s)")
    parser.add_argument("--mirror", default=None, help="PhysioNet-layout mirror URL or folder (sets ECG_DATA_MIRROR)")
    parser.add_argument("--rebuild", action="store_true", help="ignore an existing cache")
    parser.add_argument("--device", default=None, help="torch device (default: the loader's choice)")


def run(args) -> int:
    """Build (or load) the index and print where it is cached."""
    from core.data.progress import TqdmProgress

    if args.mirror:
        os.environ["ECG_DATA_MIRROR"] = args.mirror
    embedder = Embedder.from_checkpoint(args.checkpoint, device=args.device)
    spec = DemoSpec.parse(args.records, map_method=args.map)
    t0 = time.perf_counter()
    with TqdmProgress(unit="step") as bar:
        explorer = build_explorer(embedder, spec, progress=bar, rebuild=args.rebuild)
    for problem in explorer.problems:
        logger.warning("%s", problem)
    logger.info("%d ECGs indexed in %.1f s; cache: %s", len(explorer), time.perf_counter() - t0, explorer.cache_dir)
    return 0 if not explorer.empty else 1
