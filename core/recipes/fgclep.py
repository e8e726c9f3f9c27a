"""FG-CLEP-style training (fine-grained ECG-language pre-training, 2025).

Three changes to plain contrastive training:

1. Reports are enriched with waveform features: the sentence of :func:`core.measure.measure_ecg` (heart rate, rhythm
   regularity, PR/QRS/QT/QTc, axis) is appended to each report, so the text carries what the waveform shows even when
   the report is terse. Measurements are computed once per record and cached on disk.
2. A report-report similarity matrix (from frozen language-model embeddings) softens the contrastive targets: two ECGs
   whose reports say the same thing (e.g. "sinus rhythm, normal ECG") are not pushed apart as negatives.
3. The sigmoid loss (one binary problem per pair) suits multi-label ECGs better than a softmax over the batch.

With ``label_gated_targets`` (beyond the paper) a soft positive must also carry the same labels: the frozen language
model puts clinical twins ("left" / "right bundle branch block", cosine 0.965) above any similarity threshold, so
ungated soft targets would pull the twins together instead of apart.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from core.data.catalogs.base import Record
from core.losses import SoftClipLoss, SoftTargetSigLipLoss
from core.models import ECGTextModel
from core.recipes.base import Recipe, RecipeConfig, frozen_text_embeddings, register_recipe, text_labels

log = logging.getLogger(__name__)


def measure_sentence(ecg: Any, weights: str | None = None) -> str:
    """The measurement sentence of an ECG (``measure_ecg(ecg).to_sentence()``); imported lazily (loads a U-Net).

    Args:
        ecg: the ECG.
        weights: delineator weights file name in its checkpoint folder (``None``: the final model).
    """
    from core.measure import measure_ecg

    return measure_ecg(ecg, weights=weights).to_sentence()


@dataclass
class FgclepConfig(RecipeConfig):
    """FG-CLEP options.

    Attributes:
        model: a config with a frozen language model and (for the sigmoid loss) a logit bias.
        loss: ``"sigmoid"`` (soft-target SigLIP) or ``"softmax"`` (soft-target InfoNCE).
        similarity_threshold: report cosine similarity (frozen LM space) from which another report in the batch is a
            soft positive rather than a negative.
        enrich: append the measurement sentence to each report.
        measurement_cache: JSON file for the per-record sentences (default: next to the signal cache).
        measure_weights: delineator weights file in its checkpoint folder (``None``: the final ``model.safetensors``).
        label_gated_targets: a report is a soft positive only when its record's labels equal the row's (same
            dataset); reports without labels stay gated by similarity alone.
    """

    model: str = "fgclep-resnet1d"
    loss: str = "sigmoid"
    similarity_threshold: float = 0.9
    enrich: bool = True
    measurement_cache: str | None = None
    measure_weights: str | None = None
    label_gated_targets: bool = False


@register_recipe
class FgclepRecipe(Recipe):
    """Measurement-enriched reports + report-similarity soft targets + sigmoid loss."""

    name = "fgclep"
    config_cls = FgclepConfig
    cfg: FgclepConfig

    def __init__(self, cfg: FgclepConfig) -> None:
        super().__init__(cfg)
        if cfg.loss == "sigmoid":
            self.loss: SoftTargetSigLipLoss | SoftClipLoss = SoftTargetSigLipLoss(threshold=cfg.similarity_threshold)
        elif cfg.loss == "softmax":
            self.loss = SoftClipLoss(threshold=cfg.similarity_threshold)
        else:
            raise ValueError(f"fgclep loss must be 'sigmoid' or 'softmax', got {cfg.loss!r}")
        self.sentences: dict[str, str] = {}
        self._report_of: dict[str, str] = {}  # training text -> the report it was made from
        self.embeddings: dict[str, np.ndarray] = {}
        self.label_ids: dict[str, int] = {}  # training text -> id of its (dataset, label set); absent: unknown
        self.measure: Callable[[Any], str] = functools.partial(measure_sentence, weights=cfg.measure_weights)

    # ---- text enrichment ---------------------------------------------------------------------------------------

    def prepare_records(
        self, records: Sequence[Record], reader: Callable[[Record], Any], cache_dir: Path | None = None
    ) -> None:
        """Measure every record once; sentences are cached in a JSON file keyed by record id and path, whose name
        carries a hash of the delineator weights (new weights, new measurements)."""
        if not self.cfg.enrich:
            if self.cfg.label_gated_targets:
                self.index_labels(records)
            return
        path = Path(self.cfg.measurement_cache) if self.cfg.measurement_cache else None
        if path is None and cache_dir is not None:
            path = Path(cache_dir) / f"measurements-{measurement_tag(self.cfg.measure_weights)}.json"
        cached: dict[str, str] = {}
        if path is not None and path.is_file():
            cached = json.loads(path.read_text(encoding="utf-8"))
        missing = [r for r in records if _key(r) not in cached]
        if missing:
            log.info("measuring %d ECGs for FG-CLEP report enrichment (%d cached)", len(missing), len(cached))
        for done, record in enumerate(missing, start=1):
            cached[_key(record)] = self.measure(reader(record))
            # Flush now and then, so an interrupted pass keeps what it measured.
            if path is not None and (done % 50 == 0 or done == len(missing)):
                _write_json(path, cached)
                log.info("measured %d/%d ECGs", done, len(missing))
        self.sentences.update({r.record_id: cached[_key(r)] for r in records})
        if self.cfg.label_gated_targets:
            self.index_labels(records)

    def provenance(self) -> dict[str, Any]:
        """The measurement version and cache tag the enriched reports came from (so a checkpoint says which
        measurements it learned), or nothing when reports are not enriched."""
        if not self.cfg.enrich:
            return {}
        from core.measure import MEASURE_VERSION

        return {"measure_version": MEASURE_VERSION, "measurement_tag": measurement_tag(self.cfg.measure_weights)}

    def index_labels(self, records: Sequence[Record]) -> None:
        """Give every record's training text the id of its (dataset, label set), for label-gated soft targets."""
        text_of = self.enriched_text if self.cfg.enrich else (lambda r: r.text_en or r.text)
        ids: dict[tuple[str, frozenset[str]], int] = {}
        for text, key in text_labels(records, text_of).items():
            if key[1]:
                self.label_ids[text] = ids.setdefault(key, len(ids))

    def text_fn(self) -> Callable[[Record], str] | None:
        if not self.cfg.enrich:
            return None
        return self.enriched_text

    def enriched_text(self, record: Record) -> str:
        """The English report followed by the record's measurement sentence."""
        report = (record.text_en or record.text).strip()
        sentence = self.sentences.get(record.record_id, "")
        text = f"{report}{'' if not report or report[-1] in '.!?' else '.'} {sentence}".strip()
        self._report_of[text] = report
        return text

    # ---- training ----------------------------------------------------------------------------------------------

    def prepare(self, model: ECGTextModel, texts: Sequence[str]) -> None:
        """Frozen embeddings of every training text's *report* (without the measurement sentence), for the
        report-report similarity of each batch: the soft targets are about sharing a diagnosis, and the measurement
        sentences (alike in wording, different in numbers for every ECG) would blur that."""
        self.embeddings = frozen_text_embeddings(model, [self._report_of.get(t, t) for t in texts])
        # The training texts themselves go through the (frozen) text tower every step: embed them once now.
        unique = list(dict.fromkeys(texts)) if not model.text.trainable else []
        with torch.no_grad():
            for i in range(0, len(unique), 64):
                model.text(unique[i : i + 64])

    def target_embeddings(self, texts: Sequence[str], device: torch.device) -> torch.Tensor:
        """(B, E) frozen report embeddings of a batch's texts (every text must have been seen by :meth:`prepare`)."""
        reports = [self._report_of.get(t, t) for t in texts]
        unseen = [r for r in reports if r not in self.embeddings]
        if unseen:
            raise KeyError(f"{len(unseen)} batch report(s) were not embedded in prepare(), e.g. {unseen[0]!r}")
        return torch.from_numpy(np.stack([self.embeddings[r] for r in reports])).to(device)

    def compute_losses(
        self, model: ECGTextModel, batch: dict[str, Any], *, step: int, rank: int = 0, seed: int = 0
    ) -> dict[str, torch.Tensor]:
        out = model(batch["signal"], batch["text"], lead_mask=batch.get("lead_mask"))
        device = out["ecg_features"].device
        labels = None
        if self.cfg.label_gated_targets:
            labels = torch.tensor([self.label_ids.get(t, -1) for t in batch["text"]], device=device)
        return self.loss(**out, target_embeddings=self.target_embeddings(batch["text"], device), target_labels=labels)


def measurement_tag(weights_name: str | None = None) -> str:
    """Short hash of what the measurements come from: the measurement definitions' version, the delineator weights
    and its config (boundary corrections); ``"none"`` when the weights are absent. Any change gives a new cache."""
    from core.measure import MEASURE_VERSION
    from core.measure.delineator import CONFIG_NAME, FINAL_WEIGHTS, delineator_dir
    from core.measure.waves import GLOBAL_VOTES

    folder = Path(delineator_dir())
    weights = folder / (weights_name or FINAL_WEIGHTS)
    if not weights.is_file():
        return "none"
    digest = hashlib.sha256(f"measure-v{MEASURE_VERSION}|{sorted(GLOBAL_VOTES.items())}".encode())
    digest.update(weights.read_bytes())
    if (folder / CONFIG_NAME).is_file():
        digest.update((folder / CONFIG_NAME).read_bytes())
    return digest.hexdigest()[:16]


def _write_json(path: Path, data: dict[str, str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=0, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _key(record: Record) -> str:
    return hashlib.sha1(f"{record.record_id}|{record.path}".encode()).hexdigest()
