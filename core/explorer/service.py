"""The query service: one call per user action, plain dataclasses out; it owns the state and every cache.

The Gradio views and the JSON API call the same methods: :meth:`QueryService.open_record`,
:meth:`~QueryService.zero_shot`, :meth:`~QueryService.nearest_reports`, :meth:`~QueryService.nearest_ecgs`,
:meth:`~QueryService.search_text`, :meth:`~QueryService.map`, :meth:`~QueryService.place`,
:meth:`~QueryService.explain`, :meth:`~QueryService.upload`, :meth:`~QueryService.find_records`. A request goes from
the method to the index (:class:`~core.explorer.store.Explorer`, FAISS) and back here, never through the caller.

Caches are ``cachetools`` LRUs keyed by content: checkpoint hash, the index's key (checkpoint hash + data spec), the
record id or the upload's digest, the prompt text. Every call keeps what it computed in local variables and reads
nothing back from a cache it has just filled, so a bound can only cost recomputation, never an item a call needs.
An ECG is referred to by its key: an indexed ``record_id`` (``"ptbxl/00001"``) or ``"upload/<digest>"``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from cachetools import LRUCache

from core import zeroshot
from core.annotations import AnnotationStore, filter_records
from core.annotations.desk import AnnotationDesk
from core.annotations.modelscores import zero_shot_inputs
from core.data.preprocess import crop
from core.ecg import ECG
from core.embed import Embedder
from core.explorer.batch import BatchZeroShot, score_batch
from core.explorer.batch_files import BatchRecord, expand_uploads, iter_batch
from core.explorer.browse import PAGE_SIZE, BrowseIndex, BrowsePage
from core.explorer.build import build_explorer, load_prebuilt
from core.explorer.errors import InvalidRequestError, NoDataError, RecordNotFoundError
from core.explorer.groups import one_per_point, top_groups
from core.explorer.store import DemoSpec, Explorer, RecordInfo, ReportMatch
from core.explorer.uploads import UploadCache, UploadWindow, upload_window
from core.paths import data_dir
from core.plotting import thumbnail_svg
from core.saliency import Saliency, occlusion_saliency
from core.search import parse_query
from core.search.criteria import CRITERIA_POOL, criteria_for, reorder, why

logger = logging.getLogger(__name__)

UPLOAD_PREFIX = "upload/"
ALL = "all"
COLOR_CHOICES = ("dataset", "superclass", "rhythm", "predicted class", "split")
PREDICT_SET = "ptbxl_superclass"  # the prompt set behind the map's "predicted class" colouring
# Points the map sends to the browser: above this a seeded random sample is drawn, plus the current ECG's
# neighbourhood in full. At 100 k points every point with its hover text took 6.3-6.8 s per /map request
# (bench/bench_pipeline.py, README "End to end"); the demo's 700 points are all drawn.
MAP_MAX_POINTS = 5_000
MAP_NEIGHBOURHOOD = 200
TEXT_CACHE_SIZE = 4096


@dataclass
class ServiceConfig:
    """What the service serves.

    Attributes:
        checkpoints: display name -> checkpoint folder (the zero-shot checkpoint choices).
        index_checkpoint: which of them embeds the index and the map and is the default (default: the first).
        spec: demo datasets / record counts / map method.
        build_in_background: start building the index when the app is built (else on first use).
        demo_bundle: ``hf://datasets/org/name[@rev]`` of a prebuilt index (:mod:`core.hub.bundle`); used when it
            matches the index checkpoint and data spec, else the index is built as without it.
        explorer_dir: a prebuilt explorer folder (:func:`core.explorer.build.index_corpus`) served as is instead of
            the demo index; it must have been embedded with the index checkpoint.
    """

    checkpoints: dict[str, Path] = field(default_factory=dict)
    index_checkpoint: str | None = None
    spec: DemoSpec = field(default_factory=DemoSpec)
    build_in_background: bool = True
    demo_bundle: str | None = None
    explorer_dir: Path | None = None


# ---- results ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Neighbour:
    """An indexed record found by similarity, with its lead II thumbnail (SVG text; empty when not asked for) and
    its automated measurements (None when not asked for or when they failed)."""

    record: RecordInfo
    similarity: float
    thumbnail_svg: str = ""
    measurements: Any = None


@dataclass(frozen=True)
class TextSearch:
    """Free text -> nearest ECGs and matching reports (hybrid search), after the filters.

    Attributes:
        query: what was looked for (exclusions removed).
        exclude: excluded terms (from the query and the exclude field).
        ecgs: nearest ECGs, best first, with thumbnails.
        reports: distinct reports, best first (:class:`~core.explorer.store.ReportMatch`).
        examples: how many indexed ECGs whose reports state the query ranked ``ecgs`` (0: the query's text
            embedding did; :mod:`core.search.examples`).
        example_hits: record ids of the ``ecgs`` that are among those examples.
        opposites: how many indexed ECGs whose reports state the query's opposite the ranking moved away from.
        counterpart: the wording most of their reports use ("" if none).
        criteria: the measured criteria the query names (:mod:`core.search.criteria`), described; empty when it
            names none or they were not asked for.
        criteria_met: per ECG of ``ecgs``, whether its automated measurements meet them all (True), contradict one
            (False) or lack a value (None); the ECGs were re-ordered so.
        criteria_pool: how many of the nearest ECGs were measured and re-ordered (0: none).
        criteria_why: per ECG of ``ecgs``, the readings behind its verdict (:func:`core.search.criteria.why`).
    """

    query: str
    exclude: list[str]
    ecgs: list[Neighbour]
    reports: list[ReportMatch]
    examples: int = 0
    example_hits: frozenset[str] = frozenset()
    opposites: int = 0
    counterpart: str = ""
    criteria: tuple[str, ...] = ()
    criteria_met: tuple[bool | None, ...] = ()
    criteria_pool: int = 0
    criteria_why: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpenedRecord:
    """An ECG with what is known about it.

    Attributes:
        key: the ECG key.
        ecg: the waveform.
        record: the indexed record (report, labels), or None for an upload.
        measurements: automated waveform measurements (``core.measure.Measurements``), or None.
        measure_error: why the measurements are missing (an exception type name), or None.
    """

    key: str
    ecg: ECG
    record: RecordInfo | None
    measurements: Any = None
    measure_error: str | None = None


@dataclass(frozen=True)
class ZeroShot:
    """Zero-shot scores of one ECG with one checkpoint (:class:`core.zeroshot.ClassScores`, best first)."""

    key: str
    checkpoint: str
    scores: zeroshot.ClassScores


@dataclass(frozen=True)
class Analysis:
    """Zero-shot scores and the nearest reports of one ECG (the ``/analyze`` call)."""

    zero_shot: ZeroShot
    reports: list[Neighbour]


@dataclass(frozen=True)
class MapView:
    """The map: the points drawn (every indexed record up to :data:`MAP_MAX_POINTS`, else a seeded sample plus the
    current ECG's nearest :data:`MAP_NEIGHBOURHOOD`), their colour groups, and the current ECG's position (or None).
    ``total`` counts the indexed records and ``neighbours`` the drawn points that are the current ECG's neighbours."""

    xy: np.ndarray
    groups: list[str]
    records: list[RecordInfo]
    highlight: np.ndarray | None
    highlight_label: str
    total: int = 0
    neighbours: int = 0


@dataclass(frozen=True)
class Explanation:
    """Occlusion saliency of a prompt's score over the model's window of an ECG.

    Attributes:
        signal_mv: (12, T) the part of the ECG the model sees (centre crop), for drawing.
        offset_s: where that window starts in the recording.
        duration_s: the model's input length.
        meta: the ECG's metadata (e.g. whether its amplitudes are calibrated, for the figure's title).
    """

    key: str
    prompt: str
    checkpoint: str
    saliency: Saliency
    signal_mv: np.ndarray
    fs_hz: float
    lead_mask: np.ndarray
    offset_s: float
    duration_s: float
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Upload:
    """An uploaded ECG and the key it is kept under."""

    key: str
    ecg: ECG
    window: UploadWindow | None = None  # the record it was cut from, the window's start, the warnings


@dataclass(frozen=True)
class RecordFilters:
    """Choices for the record filters: datasets, and labels by frequency."""

    datasets: list[str]
    labels: list[str]


@dataclass(frozen=True)
class Status:
    """Where the service stands: build progress, what is indexed, or what is missing."""

    has_checkpoint: bool
    ready: bool
    progress: tuple[int, int, str]
    waited_s: float
    error: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    index_name: str | None = None
    map_method: str = ""
    model_loaded: bool = False
    data_dir: str = ""

    @property
    def n_records(self) -> int:
        return sum(self.counts.values())


def _given(value: str | None) -> str | None:
    """A filter value, or None for no filter (``None``, empty, ``"all"``)."""
    value = (value or "").strip()
    return None if not value or value == ALL else value


class QueryService:
    """Checkpoints, the index (built once in a background thread), uploads and every derived-value cache.

    Args:
        config: what to serve.
    """

    def __init__(self, config: ServiceConfig):
        self.config = config
        names = list(config.checkpoints)
        self.index_name = config.index_checkpoint or next(iter(names), None)
        if self.index_name is not None and self.index_name not in config.checkpoints:
            raise ValueError(f"index checkpoint {self.index_name!r} is not one of {names}")
        self._embedders: dict[str, Embedder] = {}
        self._embedder_lock = threading.Lock()
        self._explorer: Explorer | None = None
        self._build_error: str | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._progress: tuple[int, int, str] = (0, 0, "waiting to start")
        self._t0 = time.perf_counter()
        self.model_ready_s: float | None = None
        self._store: AnnotationStore | None = None
        self._desk: AnnotationDesk | None = None
        self._lock = threading.Lock()
        self._uploads: LRUCache = LRUCache(128)  # upload key (content digest @ window start) -> the 10-s window
        self._upload_records = UploadCache()  # whole uploaded records, for choosing another window
        self._ecgs: LRUCache = LRUCache(256)  # (index key, record id) -> ECG
        self._embeddings: LRUCache = LRUCache(512)  # (checkpoint hash, ECG content key) -> (D,)
        self._texts: LRUCache = LRUCache(TEXT_CACHE_SIZE)  # (checkpoint hash, text) -> (D,)
        self._class_emb: LRUCache = LRUCache(256)  # (checkpoint hash, prompt table) -> (names, (C, D))
        self._measurements: LRUCache = LRUCache(512)  # ECG content key -> Measurements
        self._thumbs: LRUCache = LRUCache(4096)  # (index key, record id) -> SVG text
        self._predicted: LRUCache = LRUCache(8)  # (checkpoint hash, index key, prompt set) -> classes
        self._browse: LRUCache = LRUCache(2)  # index key -> BrowseIndex

    # ---- caches ----------------------------------------------------------------------------------------------------
    def _cached(self, cache: LRUCache, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``cache[key]``, computed (outside the lock) and stored when missing."""
        with self._lock:
            value = cache.get(key)
        if value is None:
            value = compute()
            with self._lock:
                cache[key] = value
        return value

    # ---- checkpoints -----------------------------------------------------------------------------------------------
    @property
    def checkpoint_names(self) -> list[str]:
        return list(self.config.checkpoints)

    def embedder(self, name: str | None = None) -> Embedder:
        """The checkpoint ``name`` (default: the index checkpoint); loaded lazily once, then shared."""
        name = name or self.index_name
        if name is None:
            raise InvalidRequestError(
                "no checkpoint is available: put a trained checkpoint in checkpoints/{mets,dbeta,fgclep}/ "
                "or set ECG_CHECKPOINTS=NAME=DIR"
            )
        if name not in self.config.checkpoints:
            raise InvalidRequestError(f"unknown checkpoint {name!r}; available: {', '.join(self.checkpoint_names)}")
        with self._embedder_lock:
            if name not in self._embedders:
                # Lazy: the weights (and torch + the language model) load on first use, so a cached index is served
                # while they load.
                self._embedders[name] = Embedder.from_checkpoint(self.config.checkpoints[name], name=name, lazy=True)
            return self._embedders[name]

    def score_kind(self, checkpoint: str | None = None) -> str:
        """``"softmax"`` or ``"sigmoid"``: how the checkpoint's scores become probabilities."""
        return zeroshot.score_kind(self.embedder(checkpoint).config)

    def encode_texts(self, texts: Sequence[str], checkpoint: str | None = None) -> np.ndarray:
        """(N, D) text embeddings; the misses are encoded in one batch and the result is built from this call's
        values, so a cache bound smaller than the call cannot lose any of its texts."""
        embedder = self.embedder(checkpoint)
        texts = [str(t) for t in texts]
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for t in texts:
                e = self._texts.get((embedder.checkpoint_hash, t))
                if e is not None:
                    found[t] = e
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            emb = embedder.encode_texts(missing)
            found.update(zip(missing, emb, strict=True))
            with self._lock:
                for t, e in zip(missing, emb, strict=True):
                    self._texts[(embedder.checkpoint_hash, t)] = e
        return np.stack([found[t] for t in texts]) if texts else np.zeros((0, 0), np.float32)

    # ---- the index -------------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start building (or loading) the index in a background thread (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._build, name="explorer-build", daemon=True)
            self._thread.start()

    def _on_progress(self, progress: tuple[int, int], desc: str | None = None) -> None:
        self._progress = (int(progress[0]), int(progress[1]), desc or self._progress[2])

    def _build(self) -> None:
        try:
            embedder = self.embedder()
            if self.config.demo_bundle:  # a prebuilt index from the Hub, installed into the cache when it matches
                from core.hub.bundle import prepare_demo_index

                prepare_demo_index(
                    self.config.demo_bundle, embedder.checkpoint_hash, self.config.spec, progress=self._on_progress
                )
            if self.config.explorer_dir is not None:
                explorer = load_prebuilt(Path(self.config.explorer_dir), embedder.checkpoint_hash)
            else:
                explorer = build_explorer(embedder, self.config.spec, progress=self._on_progress)
            if explorer.prompt_texts and explorer.prompt_emb is not None:
                # The shipped prompts were embedded at build time: zero-shot with them needs no model.
                with self._lock:
                    for t, e in zip(explorer.prompt_texts, np.asarray(explorer.prompt_emb, np.float32), strict=True):
                        self._texts[(embedder.checkpoint_hash, t)] = e
            self._explorer = explorer
        except Exception as exc:  # reported in the page; the app keeps serving uploads
            logger.exception("building the explorer failed")
            self._build_error = f"{type(exc).__name__}: {exc}"
            return
        finally:
            self._ready.set()
        # The index is served from here on; load the model now rather than in the first request that needs it.
        t0 = time.perf_counter()
        _ = embedder.model
        self.model_ready_s = time.perf_counter() - self._t0
        logger.info(
            "model %s ready (%.1f s to load, %.1f s after start)",
            embedder.name,
            time.perf_counter() - t0,
            self.model_ready_s,
        )

    def explorer(self, timeout_s: float | None = 600.0) -> Explorer:
        """The index, waiting for the background build if needed.

        Raises:
            NoDataError: no data is indexed (the message says why and how to fix it).
        """
        self.start()
        if not self._ready.wait(timeout_s):
            done, total, desc = self._progress
            raise NoDataError(f"the index is still being built ({desc} {done}/{total}); try again shortly")
        if self._explorer is None:
            raise NoDataError(self._build_error or "the index could not be built")
        return self._explorer

    @property
    def ready(self) -> bool:
        """The index is built or loaded (or failed); the page can stop showing build progress."""
        return self._ready.is_set()

    @property
    def settled(self) -> bool:
        """Nothing is loading any more: the index is ready and so is its model (or there is none to load)."""
        if not self.ready:
            return False
        if self._explorer is None or self.index_name is None:
            return True
        return self.embedder().loaded

    def status(self) -> Status:
        """Build progress, what is indexed, or what is missing."""
        base = dict(
            has_checkpoint=bool(self.checkpoint_names),
            ready=self.ready,
            progress=self._progress,
            waited_s=time.perf_counter() - self._t0,
            index_name=self.index_name,
            data_dir=str(data_dir()),
        )
        if not self.ready or not self.checkpoint_names:
            return Status(**base)
        if self._explorer is None:
            return Status(**base, error=self._build_error or "the index could not be built")
        ex = self._explorer
        counts: dict[str, int] = {}
        for r in ex.records:
            counts[r.dataset] = counts.get(r.dataset, 0) + 1
        return Status(
            **base,
            counts=counts,
            problems=list(ex.problems),
            map_method=ex.map_method,
            model_loaded=self.embedder().loaded,
        )

    # ---- ECGs by key -----------------------------------------------------------------------------------------------
    def put_upload(self, ecg: ECG) -> str:
        """Keep an uploaded ECG; returns its key ``"upload/<digest>"``."""
        digest = hashlib.sha1(np.ascontiguousarray(ecg.signal_mv).tobytes() + str(ecg.fs_hz).encode()).hexdigest()
        key = f"{UPLOAD_PREFIX}{digest[:12]}"
        with self._lock:
            self._uploads[key] = ecg
        return key

    def upload(
        self,
        paths: Sequence[str | Path],
        fs_hz: float | None = None,
        lead_names: Sequence[str] = (),
        *,
        units: str = "auto",
        start_s: float | None = 0.0,
    ) -> Upload:
        """Read uploaded file(s) (:mod:`core.explorer.uploads`) and keep the window at ``start_s`` under the key
        ``upload/<digest>@<start_s>``: the plot, scores, measurements and map all use that one window."""
        window = upload_window(self._upload_records.read(paths, fs_hz, lead_names, units), start_s)
        key = f"{UPLOAD_PREFIX}{window.id}"
        with self._lock:
            self._uploads[key] = window.ecg
        return Upload(key, window.ecg, window)

    def _content_key(self, key: str) -> str:
        """What an ECG key's derived values depend on: the upload digest, or the index key + record id."""
        return key if key.startswith(UPLOAD_PREFIX) else f"{self.explorer().key}:{key}"

    def ecg(self, key: str) -> ECG:
        """The ECG for a key (indexed record id or upload key)."""
        key = (key or "").strip()
        if not key:
            raise InvalidRequestError("no ECG selected: pick one in Browse or upload a file")
        if key.startswith(UPLOAD_PREFIX):
            with self._lock:
                ecg = self._uploads.get(key)
            if ecg is None:
                raise RecordNotFoundError(f"upload {key!r} has expired; upload the file again")
            return ecg
        explorer = self.explorer()
        explorer.row(key)  # an unknown record fails here
        return self._cached(self._ecgs, (explorer.key, key), lambda: explorer.read(key))

    def embedding(self, key: str, checkpoint: str | None = None) -> np.ndarray:
        """(D,) unit embedding of an ECG with a checkpoint (indexed records reuse the stored embedding)."""
        key = (key or "").strip()
        checkpoint = checkpoint or self.index_name
        if checkpoint == self.index_name and key and not key.startswith(UPLOAD_PREFIX):
            return self.explorer().ecg_embedding(key)
        embedder = self.embedder(checkpoint)
        ecg = self.ecg(key)
        return self._cached(
            self._embeddings,
            (embedder.checkpoint_hash, self._content_key(key)),
            lambda: embedder.encode_ecgs([ecg])[0],
        )

    def measurements(self, key: str):
        """Automated waveform measurements of an ECG (``core.measure.measure_ecg``)."""
        # Local import: core.measure imports torch (6.3 s measured on the 2-core machine), which would hold up serving
        # a cached index at start-up; the embedder loads torch in the background for the same reason.
        from core.measure import measure_ecg

        ecg = self.ecg(key)
        return self._cached(self._measurements, self._content_key(key.strip()), lambda: measure_ecg(ecg))

    # ---- user actions ----------------------------------------------------------------------------------------------
    def open_record(self, key: str, *, measure: bool = True) -> OpenedRecord:
        """An ECG with its record (report, labels) and, when ``measure``, its automated measurements.

        A failing measurement does not fail the call: the plot and report are useful without it, so the reason
        (the exception type, no server paths) is returned in :attr:`OpenedRecord.measure_error` and logged.
        """
        key = (key or "").strip()
        ecg = self.ecg(key)
        record = None if key.startswith(UPLOAD_PREFIX) else self.explorer().record(key)
        if not measure:
            return OpenedRecord(key, ecg, record)
        measurements, error = self.measured_or_reason(key)
        return OpenedRecord(key, ecg, record, measurements=measurements, measure_error=error)

    def measured_or_reason(self, key: str) -> tuple[Any, str | None]:
        """(:meth:`measurements`, None), or (None, the exception type) when they fail: an opened ECG or a list of
        hits still shows without them (the failure is logged)."""
        try:
            return self.measurements(key), None
        except (ImportError, OSError, ValueError, RuntimeError) as exc:
            logger.warning("measurements of %s failed", key, exc_info=True)
            return None, type(exc).__name__

    def browse_index(self) -> BrowseIndex:
        """The index's records in columnar form for Browse (built once per index)."""
        explorer = self.explorer()
        return self._cached(self._browse, explorer.key, lambda: BrowseIndex(explorer.records))

    def _browse_mask(
        self, query: str, dataset: str, label: str, review_status: str, annotated_label: str
    ) -> tuple[BrowseIndex, np.ndarray]:
        index = self.browse_index()
        status, annotated = _given(review_status), _given(annotated_label)
        keep = None
        if status or annotated:
            ids = index.record_ids
            kept = filter_records(self.annotation_store(), status=status, label=annotated, record_ids=ids)
            keep = np.fromiter((r in kept for r in ids), bool, len(ids))
        return index, index.mask((query or "").strip(), _given(dataset), _given(label), keep)

    def browse(
        self,
        query: str = "",
        dataset: str = ALL,
        label: str = ALL,
        review_status: str = ALL,
        annotated_label: str = ALL,
        *,
        page: int = 1,
        page_size: int = PAGE_SIZE,
    ) -> BrowsePage:
        """One page of the indexed records matching a text query (id, labels, original or English report) and the
        filters (:mod:`core.explorer.browse`); ``review_status`` and ``annotated_label`` filter by the annotation
        store's current state. Only the page's records are returned, with the total count."""
        index, mask = self._browse_mask(query, dataset, label, review_status, annotated_label)
        return index.page(mask, page, page_size)

    def find_records(
        self,
        query: str = "",
        dataset: str = ALL,
        label: str = ALL,
        review_status: str = ALL,
        annotated_label: str = ALL,
    ) -> list[RecordInfo]:
        """Every indexed record matching the query and filters of :meth:`browse` (not paged)."""
        index, mask = self._browse_mask(query, dataset, label, review_status, annotated_label)
        return [index.records[i] for i in np.flatnonzero(mask)]

    def record_filters(self) -> RecordFilters:
        """Dataset and label choices for the record filters (labels of every dataset, by frequency)."""
        index = self.browse_index()
        return RecordFilters(list(index.datasets), [lab for lab, _ in index.labels()])

    def label_choices(self, dataset: str = ALL) -> list[tuple[str, int]]:
        """``(label, count)`` of one dataset's own label vocabulary, most frequent first (``"all"``: every
        dataset's labels counted together)."""
        return self.browse_index().labels(_given(dataset))

    def annotation_store(self) -> AnnotationStore:
        """The annotation store in the data directory (opened on first use; accepts indexed records, and uploaded
        ECGs while they are loaded)."""
        with self._lock:
            if self._store is None:
                self._store = AnnotationStore.open_default(known_record_ids=self._annotatable)
            return self._store

    def _annotatable(self, record_id: str) -> bool:
        """An indexed record, or a loaded upload (its key is a content digest, so a re-upload finds its reviews)."""
        if record_id.startswith(UPLOAD_PREFIX):
            with self._lock:
                return record_id in self._uploads
        return record_id in self.explorer()

    def annotated_labels(self) -> list[str]:
        """Every label used in an annotation, sorted."""
        return self.annotation_desk().used_labels()

    def annotation_desk(self) -> AnnotationDesk:
        """The annotation desk over :meth:`annotation_store` and the indexed records (reference labels, the label
        vocabulary, and a review queue ranked by the index checkpoint's zero-shot scores)."""
        with self._lock:
            if self._desk is None:
                self._desk = AnnotationDesk(
                    store=self.annotation_store,
                    reference_labels=self._reference_labels,
                    vocabulary=self._label_vocabulary,
                    queue_inputs=self._queue_inputs,
                    record_ids=lambda: [r.record_id for r in self.explorer().records],
                    record_text=self._record_text,
                    record_path=self._record_path,
                )
            return self._desk

    def _record_text(self, record_id: str) -> str:
        """English report of an indexed record ("" for uploads and unknown ids), for the review form and the Label
        Studio export."""
        explorer = self.explorer()
        return explorer.record(record_id).text_en if record_id in explorer else ""

    def _record_path(self, record_id: str) -> Path | None:
        """File of an indexed record (None for uploads and unknown ids), for the WFDB export."""
        explorer = self.explorer()
        return explorer.record_path(record_id) if record_id in explorer else None

    def _reference_labels(self, record_id: str) -> list[str]:
        explorer = self.explorer()
        return explorer.record(record_id).label_list() if record_id in explorer else []

    def _label_vocabulary(self) -> list[str]:
        labels = {lab for r in self.explorer().records for lab in r.label_list()}
        return sorted(labels | set(self.annotated_labels()))

    def _queue_inputs(self) -> tuple[dict, dict]:
        explorer, embedder = self.explorer(), self.embedder()
        return zero_shot_inputs(
            explorer.records, explorer.ecg_emb, embedder.encode_texts, logit_scale=embedder.logit_scale
        )

    def prompt_set(self, name: str) -> zeroshot.PromptSet:
        """A shipped prompt set by name (``assets/prompts/``)."""
        try:
            return zeroshot.load_prompt_set(name)
        except FileNotFoundError as exc:
            raise InvalidRequestError(str(exc)) from exc

    def class_embeddings(
        self, classes: Mapping[str, Sequence[str]], checkpoint: str | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Class names and (C, D) class embeddings of a prompt table (:func:`core.zeroshot.class_embeddings`)."""
        try:
            zeroshot.validate_classes(classes)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from exc
        embedder = self.embedder(checkpoint)
        table = tuple((str(c), tuple(str(p) for p in ps)) for c, ps in classes.items())
        return self._cached(
            self._class_emb,
            (embedder.checkpoint_hash, table),
            lambda: zeroshot.class_embeddings(classes, lambda t: self.encode_texts(t, embedder.name)),
        )

    def zero_shot(self, key: str, classes: Mapping[str, Sequence[str]], checkpoint: str | None = None) -> ZeroShot:
        """Zero-shot scores of one ECG, with probabilities of the kind the checkpoint was trained for (softmax over the
        listed classes, or independent sigmoids; :func:`core.zeroshot.score_kind`)."""
        embedder = self.embedder(checkpoint)
        names, class_emb = self.class_embeddings(classes, embedder.name)
        scores = zeroshot.score_classes(
            self.embedding(key, embedder.name),
            names,
            class_emb,
            kind=zeroshot.score_kind(embedder.config),
            logit_scale=embedder.logit_scale,
            logit_bias=embedder.logit_bias,
        )
        return ZeroShot(key.strip(), embedder.name, scores)

    def batch_zero_shot(
        self,
        classes: Mapping[str, Sequence[str]],
        checkpoint: str | None = None,
        dataset: str = ALL,
        batch_size: int = 64,
    ) -> BatchZeroShot:
        """Zero-shot scores of every indexed record of ``dataset`` (``"all"``: every record) against a prompt table,
        with per-class AUC and a confusion matrix against the reference labels (:mod:`core.explorer.batch`).

        The index checkpoint reuses the stored ECG embeddings; another checkpoint embeds the records' signals,
        ``batch_size`` records at a time (kept in the embedding cache).
        """
        explorer = self.explorer()
        embedder = self.embedder(checkpoint)
        names, class_emb = self.class_embeddings(classes, embedder.name)
        wanted = _given(dataset)
        rows = [i for i, r in enumerate(explorer.records) if wanted is None or r.dataset == wanted]
        if not rows:
            known = ", ".join(sorted({r.dataset for r in explorer.records})) or "none"
            raise InvalidRequestError(f"no indexed record in dataset {dataset!r} (indexed: {known})")
        records = [explorer.records[i] for i in rows]
        if embedder.name == self.index_name:
            emb = explorer.ecg_emb[rows]
        else:
            emb = np.stack(self._record_embeddings(explorer, embedder, [r.record_id for r in records], batch_size))
        return score_batch(
            records,
            emb,
            names,
            class_emb,
            checkpoint=embedder.name,
            dataset=wanted or ALL,
            kind=zeroshot.score_kind(embedder.config),
            logit_scale=embedder.logit_scale,
            logit_bias=embedder.logit_bias,
        )

    def batch_zero_shot_files(
        self,
        paths: Sequence[str | Path],
        classes: Mapping[str, Sequence[str]],
        checkpoint: str | None = None,
        *,
        fs_hz: float | None = None,
        lead_names: Sequence[str] = (),
        units: str = "auto",
        batch_size: int = 32,
        progress: Callable[[tuple[int, int], str], None] | None = None,
    ) -> BatchZeroShot:
        """Zero-shot scores of uploaded ECG files (a zip archive or several files, :mod:`core.explorer.batch_files`)
        against a prompt table, with per-class AUC and a confusion matrix where ``labels.csv`` gives reference labels.

        Records are read and embedded ``batch_size`` at a time, so memory holds one batch of windows, not the upload.
        Records that cannot be read are skipped and listed in :attr:`BatchZeroShot.skipped`.

        Raises:
            ECGReadError: the archive is too large, unsafe or damaged.
            InvalidRequestError: no file, or no readable record among them.
        """
        embedder = self.embedder(checkpoint)
        names, class_emb = self.class_embeddings(classes, embedder.name)
        paths = [Path(p) for p in paths]
        if not paths:
            raise InvalidRequestError("no file uploaded: choose a .zip of ECG files, or several ECG files")
        records: list[RecordInfo] = []
        embeddings: list[np.ndarray] = []
        skipped: list[tuple[str, str]] = []
        with tempfile.TemporaryDirectory(prefix="ecg-batch-") as tmp:
            files = expand_uploads(paths, Path(tmp))
            pending: list[BatchRecord] = []

            def flush() -> None:
                if pending:
                    embeddings.append(embedder.encode_ecgs([r.ecg for r in pending]))
                    records.extend(RecordInfo(r.name, "upload", "", "", {"reference": list(r.labels)}) for r in pending)
                    if progress is not None:
                        progress((len(records), len(records) + len(skipped)), "scoring uploaded records")
                    pending.clear()

            for item in iter_batch(files, fs_hz, lead_names, units):
                if isinstance(item, BatchRecord):
                    pending.append(item)
                    if len(pending) >= max(1, int(batch_size)):
                        flush()
                else:
                    skipped.append(item)
            flush()
        if not records:
            why = "; ".join(f"{n}: {r}" for n, r in skipped[:3]) or "no ECG file (.hea, .csv, .npy, .npz) found"
            raise InvalidRequestError(f"no record could be read from the upload ({why})")
        out = score_batch(
            records,
            np.concatenate(embeddings),
            names,
            class_emb,
            checkpoint=embedder.name,
            dataset="upload",
            kind=zeroshot.score_kind(embedder.config),
            logit_scale=embedder.logit_scale,
            logit_bias=embedder.logit_bias,
        )
        return dataclasses.replace(out, skipped=tuple(skipped))

    def _record_embeddings(
        self, explorer: Explorer, embedder: Embedder, record_ids: Sequence[str], batch_size: int
    ) -> list[np.ndarray]:
        """(D,) embeddings of indexed records with a checkpoint; cache misses are read and embedded in batches."""
        keys = [(embedder.checkpoint_hash, f"{explorer.key}:{r}") for r in record_ids]
        with self._lock:
            found = {k: self._embeddings.get(k) for k in keys}
        missing = [(r, k) for r, k in zip(record_ids, keys, strict=True) if found[k] is None]
        for start in range(0, len(missing), max(1, int(batch_size))):
            chunk = missing[start : start + max(1, int(batch_size))]
            emb = embedder.encode_ecgs([explorer.read(r) for r, _ in chunk])
            with self._lock:
                for (_, k), e in zip(chunk, emb, strict=True):
                    found[k] = e
                    self._embeddings[k] = e
        return [found[k] for k in keys]

    def _neighbours(
        self, hits: list[tuple[RecordInfo, float]], thumbnails: bool, *, measured: bool = False
    ) -> list[Neighbour]:
        """Hits as :class:`Neighbour`; with ``thumbnails``, each with its lead II thumbnail and, when ``measured``,
        its measurements (a list of ECGs is read by their rate, intervals and axis; cached per ECG)."""
        if not thumbnails:
            return [Neighbour(r, s) for r, s in hits]
        explorer = self.explorer()
        return [
            Neighbour(
                r,
                s,
                self._cached(
                    self._thumbs,
                    (explorer.key, r.record_id),
                    lambda r=r: thumbnail_svg(explorer.thumbnail(r.record_id)),
                ),
                self.measured_or_reason(r.record_id)[0] if measured else None,
            )
            for r, s in hits
        ]

    def nearest_reports(self, key: str, k: int = 5, *, thumbnails: bool = True) -> list[Neighbour]:
        """The ``k`` indexed reports nearest to an ECG (FAISS, cosine), best first."""
        hits = self.explorer().nearest_reports(self.embedding(key), int(k))
        return self._neighbours(hits, thumbnails)

    def nearest_ecgs(self, key: str, k: int = 5, *, thumbnails: bool = True) -> list[Neighbour]:
        """The ``k`` indexed ECGs nearest to an ECG (FAISS, cosine), best first (an indexed ECG finds itself first)."""
        hits = self.explorer().nearest_ecgs(self.embedding(key), int(k))
        return self._neighbours(hits, thumbnails, measured=thumbnails)

    def example_count(self, query: str) -> int:
        """How many indexed ECGs would rank a by-example search for ``query`` (0: its text embedding would)."""
        positive, _ = parse_query(query or "")
        if not positive:
            return 0
        return self.explorer().example_count(positive)

    def search_text(
        self,
        query: str,
        k: int = 5,
        *,
        dataset: str = ALL,
        label: str = "",
        exclude: Sequence[str] = (),
        by_example: bool = True,
        by_measurement: bool = True,
    ) -> TextSearch:
        """Free text -> the ``k`` nearest indexed ECGs and the ``k`` best distinct reports (hybrid search).

        ``dataset`` and ``label`` keep only matching records (``"all"``/empty: no filter); ``exclude`` and
        "..., not X" in the query drop records with label X and reports that say X. ``by_example``: the ECGs are
        ranked by the indexed ECGs whose reports state the query where enough do (:mod:`core.search.examples`).
        ``by_measurement``: where the query names a finding a measurement defines ("first degree AV block": PR >
        200 ms), the :data:`CRITERIA_POOL` nearest ECGs are measured and those meeting it come first
        (:mod:`core.search.criteria`).
        """
        query = (query or "").strip()
        if not query:
            raise InvalidRequestError("type a query, e.g. 'atrial fibrillation with rapid ventricular response'")
        k = int(k)
        criteria = criteria_for(parse_query(query)[0]) if by_measurement else ()
        found = self.explorer().search_text(
            query,
            max(k, CRITERIA_POOL) if criteria else k,
            self.encode_texts,
            dataset=dataset or ALL,
            label=label or ALL,
            exclude=exclude,
            by_example=by_example,
        )

        # Measured once per ECG (cached): a pool of 50 took 1.4-2.4 s the first time on the 2-core machine (v2.15).
        def measured(hit: tuple) -> Any:
            return self.measured_or_reason(hit[0].record_id)[0]

        hits, met = reorder(criteria, found.ecgs, measured)
        hits, met = hits[:k], tuple(met[:k])
        reasons = tuple(why(criteria, measured(hit)) for hit in hits) if criteria else ()
        shown = {r.record_id for r, _ in hits}
        return TextSearch(
            found.query,
            found.exclude,
            self._neighbours(hits, True, measured=True),
            found.reports[:k],
            found.examples,
            found.example_hits & shown,  # the pool's examples beyond the k shown are not listed
            found.opposites,
            found.counterpart,
            tuple(c.describe() for c in criteria),
            met,
            min(len(found.ecgs), CRITERIA_POOL) if criteria else 0,
            reasons,
        )

    def analyze(
        self, key: str, classes: Mapping[str, Sequence[str]], k: int = 5, checkpoint: str | None = None
    ) -> Analysis:
        """Zero-shot scores (with ``checkpoint``) and the ``k`` nearest reports (index checkpoint) of one ECG."""
        return Analysis(self.zero_shot(key, classes, checkpoint), self.nearest_reports(key, k, thumbnails=False))

    def _predicted(self, explorer: Explorer) -> list[str]:
        """Top zero-shot class (:data:`PREDICT_SET` prompts) of every indexed ECG."""
        embedder = self.embedder()

        def compute() -> list[str]:
            names, emb = self.class_embeddings(self.prompt_set(PREDICT_SET).classes)
            return explorer.predict(emb, names)

        return self._cached(self._predicted, (embedder.checkpoint_hash, explorer.key, PREDICT_SET), compute)

    def map(self, color_by: str = "dataset", key: str = "") -> MapView:
        """Map coordinates coloured by ``color_by`` (:data:`COLOR_CHOICES`), with the current ECG placed."""
        explorer = self.explorer()
        if explorer.empty:
            raise NoDataError("the map is empty: no demo data is indexed")
        key = (key or "").strip()
        # The current ECG is starred when it is an upload or an indexed record (a half-typed key is not an error).
        current = key.startswith(UPLOAD_PREFIX) or key in explorer
        rows, n_neighbours = self._map_rows(explorer, key if current else "")
        records = [explorer.records[int(i)] for i in rows]
        if color_by == "dataset":
            groups = [r.dataset for r in records]
        elif color_by == "split":
            groups = [r.split or "—" for r in records]
        elif color_by == "predicted class":
            predicted = self._predicted(explorer)
            groups = [f"predicted {predicted[int(i)]}" for i in rows]
        elif color_by in ("superclass", "rhythm"):
            # One label per point and at most MAX_NAMED named groups (core.explorer.groups), so colours stay apart.
            none = f"no {color_by} label"
            groups = top_groups(one_per_point([r.labels.get(color_by, []) for r in records], none=none), keep=[none])
        else:
            raise InvalidRequestError(f"unknown colouring {color_by!r}; use one of {list(COLOR_CHOICES)}")
        highlight = self.place(key) if current else None
        return MapView(
            np.asarray(explorer.map_xy[rows]),
            groups,
            records,
            highlight,
            key or "current ECG",
            len(explorer),
            n_neighbours,
        )

    def _map_rows(self, explorer: Explorer, key: str) -> tuple[np.ndarray, int]:
        """Rows of the points to draw, ascending, and how many of them are ``key``'s neighbours (0 when all drawn)."""
        n = len(explorer)
        if n <= MAP_MAX_POINTS:
            return np.arange(n), 0
        # The same sample on every request (seeded), so the picture does not shuffle when the current ECG changes.
        sample = np.random.default_rng(0).choice(n, MAP_MAX_POINTS, replace=False)
        near = np.zeros(0, dtype=np.int64)
        if key:
            hits = explorer.nearest_ecgs(self.embedding(key), MAP_NEIGHBOURHOOD)
            near = np.asarray([explorer.row(r.record_id) for r, _ in hits], dtype=np.int64)
        return np.union1d(sample, near), len(near)

    def place(self, key: str) -> np.ndarray:
        """(2,) map position of an ECG (an upload is placed by its nearest indexed neighbours)."""
        key = (key or "").strip()
        explorer = self.explorer()
        if key in explorer:
            return explorer.map_xy[explorer.row(key)]
        return np.asarray(explorer.place(self.embedding(key)))

    def explain(self, key: str, prompt: str, checkpoint: str | None = None, segment_s: float = 1.0) -> Explanation:
        """Occlusion saliency (:func:`core.saliency.occlusion_saliency`) of ``prompt``'s score for an ECG."""
        prompt = (prompt or "").strip()
        if not prompt:
            raise InvalidRequestError("type the prompt to explain, e.g. 'left bundle branch block'")
        embedder = self.embedder(checkpoint)
        ecg = self.ecg(key)
        signal, mask = embedder.prepare(ecg)
        target = self.encode_texts([prompt], embedder.name)[0]
        cfg = embedder.preprocess_cfg
        sal = occlusion_saliency(embedder.encode_signals, signal, mask, target, fs_hz=cfg.fs_hz, segment_s=segment_s)
        # The window the model saw: preprocessing centre-crops longer records.
        n = int(round(cfg.duration_s * ecg.fs_hz))
        offset_s = max(0, ecg.n_samples - n) // 2 / ecg.fs_hz
        return Explanation(
            key.strip(),
            prompt,
            embedder.name,
            sal,
            crop(ecg.signal_mv, n),
            ecg.fs_hz,
            np.asarray(ecg.lead_mask, bool),
            offset_s,
            cfg.duration_s,
            dict(ecg.meta),
        )
