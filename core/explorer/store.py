"""The indexed data of one (checkpoint, data spec): records, ECG and report embeddings, FAISS indexes, map coordinates.

An :class:`Explorer` is what :func:`core.explorer.build.build_explorer` produces and what is cached on disk under
``core.paths.data_dir() / "explorer" / <checkpoint hash>-<data key>`` (:meth:`Explorer.save` / :meth:`Explorer.load`).
It answers index questions (nearest reports, nearest ECGs, filtered text search, map placement) over numpy arrays;
it holds no model and no caches: the query service (:mod:`core.explorer.service`) owns those.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import shutil
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.atlas import Atlas
from core.data import registry
from core.data.readers import read_ecg
from core.ecg import ECG
from core.errors import UnknownDatasetError
from core.explorer.errors import InvalidRequestError, NoDataError, RecordNotFoundError
from core.explorer.records import RecordInfo, RecordTable
from core.index import EmbeddingIndex
from core.paths import data_dir
from core.plotting import thumbnail_series
from core.search import Hit, HybridReportSearch, parse_query, record_mask
from core.search.examples import MIN_EXAMPLES, ExampleQuery, example_query
from core.search.phrase_index import PhraseIndex

BUILD_VERSION = "3"
RECORDS_DIR = "records"
DEFAULT_DATASETS: tuple[tuple[str, int | None], ...] = (("ptbxl", 500), ("ludb", 200))
# Maps a list of texts to (n, D) embeddings in the index's space.
TextEncoder = Callable[[list[str]], np.ndarray]


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
        """What the cached index depends on besides the checkpoint (catalog parser versions included)."""
        versions = {}
        for name, _ in self.datasets:
            # The catalog module's VERSION is bumped when its parsing changes; an unknown dataset fails at acquire().
            try:
                module = importlib.import_module(registry.get(name).catalog_module)
            except UnknownDatasetError:
                module = None
            versions[name] = getattr(module, "VERSION", "?")
        return {
            "datasets": [list(d) for d in self.datasets],
            "map": self.map_method,
            "rates": list(self.ptbxl_rates),
            "catalogs": versions,
            "build": BUILD_VERSION,
        }


def cache_key(checkpoint_hash: str, spec: DemoSpec) -> str:
    """``<checkpoint hash>-<data key>``: the name of the cache folder, and the content key of everything in it."""
    key = hashlib.sha256(json.dumps(spec.key(), sort_keys=True).encode()).hexdigest()[:12]
    return f"{checkpoint_hash[:16]}-{key}"


def cache_folder(checkpoint_hash: str, spec: DemoSpec, root: Path | None = None) -> Path:
    """Where the explorer for (checkpoint, data spec) is cached."""
    return Path(root or data_dir()) / "explorer" / cache_key(checkpoint_hash, spec)


@dataclass(frozen=True)
class ReportMatch:
    """A distinct report text found by a text search and the indexed records that carry it."""

    hit: Hit
    records: list[RecordInfo]

    @property
    def record_ids(self) -> list[str]:
        return [r.record_id for r in self.records]


@dataclass(frozen=True)
class TextMatches:
    """Index answer to a free-text search: the parsed query, nearest ECGs (rows) and matching reports.

    Attributes:
        query: what was looked for (exclusions removed).
        exclude: excluded terms (from the query and the exclude field).
        ecgs: ``(record, cosine)`` of the nearest ECGs that pass the filters, best first.
        reports: distinct reports, best first (hybrid lexical + dense, :mod:`core.search.hybrid`).
        examples: how many indexed ECGs whose reports state the query ranked ``ecgs`` (their mean embedding,
            :mod:`core.search.examples`); 0 when the query's text embedding did.
        example_hits: record ids of the ``ecgs`` that are among those examples.
        opposites: how many indexed ECGs whose reports state the query's opposite the ranking moved away from.
        counterpart: the wording most of their reports use ("" if none).
    """

    query: str
    exclude: list[str]
    ecgs: list[tuple[RecordInfo, float]]
    reports: list[ReportMatch]
    examples: int = 0
    example_hits: frozenset[str] = frozenset()
    opposites: int = 0
    counterpart: str = ""


class Explorer:
    """Indexed records with their ECG and report embeddings, the FAISS indexes and the map.

    Args:
        records: the indexed records (row i of each embedding matrix); a :class:`RecordTable` is used as is (a
            loaded explorer's is memory-mapped), any other sequence is converted to one.
        ecg_emb: (N, D) unit ECG embeddings (a read-only memory map when loaded).
        text_emb: (N, D) unit embeddings of the English reports.
        map_xy: (N, 2) map coordinates.
        key: content key ``<checkpoint hash>-<data key>`` (:func:`cache_key`); caches of derived values use it.
        thumbs: (N, P) lead II thumbnails (:func:`core.plotting.thumbnail_series`), or None to compute on demand.
        prompt_texts: texts embedded at build time (the shipped prompt sets), so zero-shot with them needs no model.
        prompt_emb: (len(prompt_texts), D) their embeddings.
        map_method: how the map was fitted.
        cache_dir: the folder the explorer was loaded from or saved to (``None`` when not cached).
        problems: human-readable messages about data that could not be had.
        ecg_index: an already built (or loaded) index over ``ecg_emb``; built here when None (exact below
            :data:`core.index.EXACT_MAX` records, approximate above).
        text_index: the same over ``text_emb``.
    """

    def __init__(
        self,
        records: Sequence[RecordInfo],
        ecg_emb: np.ndarray,
        text_emb: np.ndarray,
        map_xy: np.ndarray,
        *,
        key: str = "",
        thumbs: np.ndarray | None = None,
        prompt_texts: Sequence[str] = (),
        prompt_emb: np.ndarray | None = None,
        map_method: str = "umap",
        cache_dir: Path | None = None,
        problems: Sequence[str] = (),
        ecg_index: EmbeddingIndex | None = None,
        text_index: EmbeddingIndex | None = None,
    ):
        self.records = records if isinstance(records, RecordTable) else RecordTable.from_records(list(records))
        self.ecg_emb = np.asarray(ecg_emb, np.float32)
        self.text_emb = np.asarray(text_emb, np.float32)
        self.map_xy = np.asarray(map_xy, np.float32)
        self.key = key
        self.thumbs = thumbs
        self.prompt_texts = list(prompt_texts)
        self.prompt_emb = prompt_emb
        self.map_method = map_method
        self.cache_dir = cache_dir
        self.problems = list(problems)
        has_data = len(self.records) > 0
        self.ecg_index = ecg_index or (EmbeddingIndex(self.ecg_emb) if has_data else None)
        self.text_index = text_index or (EmbeddingIndex(self.text_emb) if has_data else None)
        self.atlas = Atlas(self.map_xy, self.ecg_index, map_method) if has_data else None
        self._report_search: HybridReportSearch | None = None
        self._report_texts: list[str] | None = None
        self._phrase_index: PhraseIndex | None = None
        self._phrase_index_lock = threading.Lock()

    # ---- records ---------------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.records)

    @property
    def empty(self) -> bool:
        return len(self.records) == 0

    def require_data(self) -> None:
        """Raise :class:`NoDataError` (saying why) when nothing is indexed."""
        if self.empty:
            raise NoDataError("no ECGs are indexed: " + (" ".join(self.problems) or "the demo data is missing"))

    def __contains__(self, record_id: str) -> bool:
        return self.records.row_of(record_id) is not None

    def row(self, record_id: str) -> int:
        """Index row of a record id (:class:`RecordNotFoundError` if it is not indexed)."""
        row = self.records.row_of(record_id)
        if row is None:
            raise RecordNotFoundError(f"record {record_id!r} is not in the index")
        return row

    def record(self, record_id: str) -> RecordInfo:
        return self.records[self.row(record_id)]

    def record_path(self, record_id: str) -> Path:
        """Where an indexed record's file lies (paths are stored relative to the data directory when inside it)."""
        path = Path(self.record(record_id).path)
        return path if path.is_absolute() else data_dir() / path

    def read(self, record_id: str) -> ECG:
        """The waveform of an indexed record, read from the data directory."""
        return read_ecg(self.record_path(record_id), record_id=record_id)

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
        """Reports most similar to an embedding (ECG or text), best first (FAISS)."""
        self.require_data()
        sims, ids = self.text_index.search(query, k)
        return [(self.records[i], float(s)) for s, i in zip(sims[0], ids[0], strict=False) if i >= 0]

    def nearest_ecgs(
        self, query: np.ndarray, k: int = 5, allowed: np.ndarray | None = None
    ) -> list[tuple[RecordInfo, float]]:
        """Indexed ECGs most similar to an embedding (ECG or text), best first; only ``allowed`` rows if given."""
        self.require_data()
        if allowed is None:
            sims, ids = self.ecg_index.search(query, k)
            return [(self.records[i], float(s)) for s, i in zip(sims[0], ids[0], strict=False) if i >= 0]
        # Filtered: exact cosine over the allowed rows (a few thousand dot products; no index rebuild per filter).
        rows = np.flatnonzero(allowed)
        q = np.asarray(query, np.float32).reshape(-1)
        sims = self.ecg_emb[rows] @ (q / max(float(np.linalg.norm(q)), 1e-12))
        best = np.argsort(-sims, kind="stable")[:k]
        return [(self.records[rows[j]], float(sims[j])) for j in best]

    def report_search(self, encode_query: TextEncoder) -> HybridReportSearch:
        """Hybrid lexical + dense search over the English reports (built on first use; BM25 indexing takes ms)."""
        if self._report_search is None:
            self._report_search = HybridReportSearch(self.report_texts(), self.text_emb, encode_query)
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
            mask &= ~self.phrase_index().stating([term])
        return mask

    def search_text(
        self,
        query: str,
        k: int,
        encode_query: TextEncoder,
        *,
        dataset: str | None = None,
        label: str | None = None,
        exclude: Sequence[str] = (),
        by_example: bool = True,
    ) -> TextMatches:
        """Free text -> the ``k`` nearest ECGs and the ``k`` best distinct reports, with filters.

        Args:
            query: free text; "..., not X" / "without X" excludes X (:func:`core.search.parse_query`).
            k: results per list.
            encode_query: the index checkpoint's text encoder.
            dataset: keep only these datasets (comma-separated; ``None``/``"all"``: every one).
            label: keep only records with one of these labels (comma-separated; ``None``/``"all"``: no filter).
            exclude: more excluded terms: a label drops the records that carry it, a phrase drops reports (and
                their ECGs) that say it.
            by_example: rank the ECGs by the indexed ECGs whose reports state the query, where enough do
                (:mod:`core.search.examples`); otherwise, or when False, by the query's text embedding.

        Raises:
            InvalidRequestError: the query has nothing to look for.
            NoDataError: nothing is indexed.
        """
        self.require_data()
        positive, in_query = parse_query(query)
        excluded = [*in_query, *(t.strip() for t in exclude if t.strip())]
        if not positive:
            raise InvalidRequestError(
                "type what to look for before 'not ...', e.g. 'left bundle branch block, not RBBB'; for reports "
                "that say a finding is absent, type 'no ...', e.g. 'no P waves'"
            )
        filtered = bool(excluded) or any(v and v.strip().lower() != "all" for v in (dataset, label))
        mask = self.filter_mask(dataset=dataset, label=label, exclude=excluded) if filtered else None
        # The ECG side sees only the positive part: embedding "not RBBB" would pull the query towards RBBB.
        examples = self.example_query(positive) if by_example else None
        emb = encode_query([positive])[0] if examples is None else examples.vector
        ecgs = self.nearest_ecgs(emb, k, allowed=mask)
        hits = self.report_search(encode_query).search(positive, k, exclude=excluded, allowed=mask)
        reports = [ReportMatch(h, [self.records[i] for i in h.indices]) for h in hits]
        if examples is None:
            return TextMatches(positive, excluded, ecgs, reports)
        rows = set(examples.indices.tolist())
        hits = frozenset(r.record_id for r, _ in ecgs if self.row(r.record_id) in rows)
        opposites = int(examples.opposites.size)
        return TextMatches(positive, excluded, ecgs, reports, examples.count, hits, opposites, examples.counterpart)

    def example_count(self, phrase: str) -> int:
        """How many indexed ECGs a by-example search for ``phrase`` would take as examples (0: too few, the text
        embedding ranks): the rows that state it, without building the query (the Retrieve tab asks on every search,
        for its notice)."""
        self.require_data()
        rows = self.phrase_index().stating_rows([phrase])
        return int(rows.size) if rows.size >= max(1, MIN_EXAMPLES) else 0

    def example_query(self, phrase: str) -> ExampleQuery | None:
        """The indexed ECGs whose reports state ``phrase``, as one query (:mod:`core.search.examples`), or None."""
        self.require_data()
        return example_query(phrase, self.phrase_index(), self.ecg_emb)

    def phrase_index(self) -> PhraseIndex:
        """Which records' reports state a phrase (built on first use: every distinct report is tokenised once)."""
        with self._phrase_index_lock:
            if self._phrase_index is None:
                self._phrase_index = PhraseIndex(self.report_texts())
            return self._phrase_index

    def report_texts(self) -> list[str]:
        """The English report of every indexed record (row order)."""
        if self._report_texts is None:
            self._report_texts = [r.text_en for r in self.records]
        return self._report_texts

    def place(self, embedding: np.ndarray) -> np.ndarray:
        """(2,) map position of a new ECG embedding (by its nearest indexed neighbours)."""
        self.require_data()
        return self.atlas.place(np.atleast_2d(embedding))[0]

    def predict(self, class_emb: np.ndarray, names: Sequence[str]) -> list[str]:
        """Top zero-shot class of every indexed ECG for (C, D) class embeddings."""
        if self.empty:
            return []
        top = np.argmax(self.ecg_emb @ np.asarray(class_emb, np.float32).T, axis=1)
        return [names[i] for i in top]

    # ---- cache folder ----------------------------------------------------------------------------------------------
    def save(self, folder: Path, manifest: dict) -> None:
        """Write the explorer to ``folder`` atomically (a temporary sibling folder, then a rename).

        Everything is in a form :meth:`load` memory-maps: ``.npy`` arrays, the record table's columns (``records/``)
        and the FAISS indexes in FAISS's own format with their build parameters (``ecg_index/``, ``text_index/``).
        """
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
        self.records.save(tmp / RECORDS_DIR)
        for name, index in (("ecg_index", self.ecg_index), ("text_index", self.text_index)):
            if index is not None:
                index.save(tmp / name)
        manifest = {**manifest, "indexes": {n: i.params for n, i in self._indexes().items()}}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
        self.cache_dir = folder

    def _indexes(self) -> dict[str, EmbeddingIndex]:
        return {n: i for n, i in (("ecg_index", self.ecg_index), ("text_index", self.text_index)) if i is not None}

    @classmethod
    def load(cls, folder: Path, *, mmap: bool = True) -> Explorer:
        """Load a folder written by :meth:`save` (its name is the content key).

        With ``mmap`` (the default) the embeddings, thumbnails, record columns and FAISS indexes stay on disk and are
        paged in as they are used, so opening costs milliseconds and little memory whatever the corpus size. A folder
        from before the record table (``records.json``) or without saved indexes still loads: the records are read
        from the JSON and the indexes rebuilt from the embeddings.
        """
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        mode = "r" if mmap else None

        def array(name: str) -> np.ndarray | None:
            path = folder / f"{name}.npy"
            return np.load(path, mmap_mode=mode) if path.is_file() else None

        if (folder / RECORDS_DIR / "table.json").is_file():
            records = RecordTable.load(folder / RECORDS_DIR, mmap=mmap)
        else:
            legacy = json.loads((folder / "records.json").read_text(encoding="utf-8"))
            records = RecordTable.from_records([RecordInfo(**r) for r in legacy])
        indexes = {
            name: EmbeddingIndex.load(folder / name, mmap=mmap)
            for name in ("ecg_index", "text_index")
            if EmbeddingIndex.saved_in(folder / name)
        }
        prompts = folder / "prompt_texts.json"
        return cls(
            records,
            array("ecg_emb"),
            array("text_emb"),
            array("map_xy"),
            key=folder.name,
            thumbs=array("thumbs"),
            prompt_texts=json.loads(prompts.read_text(encoding="utf-8")) if prompts.is_file() else (),
            prompt_emb=array("prompt_emb"),
            map_method=manifest.get("map_method", "umap"),
            cache_dir=folder,
            ecg_index=indexes.get("ecg_index"),
            text_index=indexes.get("text_index"),
        )
