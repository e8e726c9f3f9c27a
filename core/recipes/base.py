"""Recipe base class and registry.

A recipe is a typed config dataclass plus one module that wires the pieces of a published method together: which
model config to build, which losses to sum, and which per-batch extras (masks, negatives, soft targets) to compute.
The trainer (:mod:`core.train`) knows nothing about any recipe beyond this interface::

    recipe = create_recipe("mets", {"local_loss": True})
    model = recipe.build_model(device)
    recipe.prepare(model, train_texts + val_texts)        # once: caches, indices
    losses = recipe.compute_losses(model, batch, step=s)  # {"contrastive_loss": t, ...}
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from core.config import coerce_options
from core.data.catalogs.base import Record
from core.losses import HardNegativeSampler
from core.models import ECGTextModel, create_model

log = logging.getLogger(__name__)

_RECIPES: dict[str, type[Recipe]] = {}


@dataclass
class RecipeConfig:
    """Options every recipe has.

    Attributes:
        model: model config name (``core/configs/models/<name>.json``).
        model_overrides: merged into that config's ``model_cfg`` (nested dicts merge), e.g. a shallower encoder.
        loss_weights: multiplier per loss key (``{"mlm_loss": 0.5}``); missing keys weigh 1.
    """

    model: str = "mets-resnet1d"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    loss_weights: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RecipeConfig:
        """Build from a dict, rejecting unknown keys (typos in a YAML file fail loudly) and coercing types
        (:func:`core.config.coerce_options`: ``core.config.ConfigError`` names the key)."""
        return cls(**coerce_options(cls, data))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class Recipe:
    """One training method. Subclasses set ``name`` and ``config_cls`` and implement :meth:`compute_losses`.

    Args:
        cfg: the recipe's config.
    """

    name: ClassVar[str] = ""
    config_cls: ClassVar[type[RecipeConfig]] = RecipeConfig

    def __init__(self, cfg: RecipeConfig) -> None:
        if not isinstance(cfg, self.config_cls):
            raise TypeError(f"{type(self).__name__} needs a {self.config_cls.__name__}, got {type(cfg).__name__}")
        self.cfg = cfg

    # ---- wiring ------------------------------------------------------------------------------------------------

    def build_model(self, device: torch.device | str | None = None) -> ECGTextModel:
        """The recipe's model (``create_model(cfg.model, **cfg.model_overrides)``) on ``device``."""
        return create_model(self.cfg.model, device=device, **self.cfg.model_overrides)

    def text_fn(self) -> Callable[[Record], str] | None:
        """How a record becomes its training text (``None``: the English report as it is)."""
        return None

    def prepare_records(  # noqa: B027
        self, records: Sequence[Record], reader: Callable[[Record], Any], cache_dir: Path | None = None
    ) -> None:
        """Once before datasets are built, on every rank (e.g. compute and cache per-record measurements).

        Args:
            records: every training and validation record.
            reader: ``record -> ECG``.
            cache_dir: where the recipe may cache per-record results.
        """

    def prepare(self, model: ECGTextModel, texts: Sequence[str]) -> None:  # noqa: B027
        """Once after the model is built, with every training and validation text (e.g. N3S index)."""

    def provenance(self) -> dict[str, Any]:
        """What the training texts were derived with beyond the reports (e.g. the measurement version), written into
        the exported checkpoint's ``config.json`` as ``provenance``; empty when the texts are the reports."""
        return {}

    def compute_losses(
        self, model: ECGTextModel, batch: dict[str, Any], *, step: int, rank: int = 0, seed: int = 0
    ) -> dict[str, torch.Tensor]:
        """Named loss terms (keys end in ``_loss``) for one batch; the trainer sums the weighted terms.

        Args:
            model: the (unwrapped) model.
            batch: ``signal`` (B, 12, T) and ``lead_mask`` (B, 12) on the model's device, ``text`` list of B strings.
            step: global step (with ``rank`` and ``seed`` it seeds this batch's random masks and negatives, so a
                resumed run draws exactly what an uninterrupted one would).
            rank: process rank.
            seed: run seed.
        """
        raise NotImplementedError

    def weighted_total(self, losses: dict[str, torch.Tensor]) -> torch.Tensor:
        """Sum of the loss terms times their ``loss_weights``."""
        unknown = set(self.cfg.loss_weights) - set(losses)
        if unknown:
            raise KeyError(f"loss_weights names {sorted(unknown)}, but the losses are {sorted(losses)}")
        return sum(self.cfg.loss_weights.get(k, 1.0) * v for k, v in losses.items())  # type: ignore[return-value]


class HardNegativeRecipe(Recipe):
    """A :class:`Recipe` with label-aware hard-negative reports. Its config has ``hard_negatives`` (reports per
    training ECG, 0: none) and ``hard_negative_pool`` (drawn from this many nearest label-different reports).

    Only training reports are indexed, so validation reports never become anyone's negative.
    """

    def __init__(self, cfg: RecipeConfig) -> None:
        super().__init__(cfg)
        self._labels: dict[str, tuple[str, frozenset[str]]] = {}
        self.negatives: HardNegativeSampler | None = None

    def prepare_records(
        self, records: Sequence[Record], reader: Callable[[Record], Any], cache_dir: Path | None = None
    ) -> None:
        """Remember the labels of every training report (the validation split's never become negatives)."""
        self._labels = text_labels([r for r in records if r.split == "train"], lambda r: r.text_en or r.text)

    def index_hard_negatives(
        self, model: ECGTextModel, texts: Sequence[str], embedded: dict[str, np.ndarray] | None = None
    ) -> None:
        """With ``hard_negatives > 0``, index the training reports among ``texts`` (:func:`hard_negative_sampler`;
        ``embedded``: their frozen embeddings when the caller already has them)."""
        if self.cfg.hard_negatives > 0:
            self.negatives = hard_negative_sampler(
                model, texts, self._labels, self.cfg.hard_negative_pool, embedded=embedded
            )


def register_recipe(cls: type[Recipe]) -> type[Recipe]:
    """Class decorator: register a recipe under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    _RECIPES[cls.name] = cls
    return cls


def _import_builtin() -> None:
    import core.recipes.dbeta  # noqa: F401
    import core.recipes.fgclep  # noqa: F401
    import core.recipes.mets  # noqa: F401


def list_recipes() -> list[str]:
    """Names of the registered recipes."""
    _import_builtin()
    return sorted(_RECIPES)


def get_recipe_class(name: str) -> type[Recipe]:
    """The recipe class registered as ``name``."""
    _import_builtin()
    if name not in _RECIPES:
        raise KeyError(f"unknown recipe {name!r}; known: {', '.join(sorted(_RECIPES))}")
    return _RECIPES[name]


def create_recipe(name: str, options: dict[str, Any] | None = None) -> Recipe:
    """Build a recipe from its name and a dict of config options (unknown options raise ``ValueError``)."""
    cls = get_recipe_class(name)
    return cls(cls.config_cls.from_dict(dict(options or {})))


# ---- shared helpers ------------------------------------------------------------------------------------------------


def step_generators(
    seed: int, rank: int, step: int, device: torch.device
) -> tuple[torch.Generator, np.random.Generator]:
    """Torch and NumPy generators for one (run, rank, step): masks and negatives are reproducible across resumes."""
    mixed = int(np.random.SeedSequence([seed, rank, step]).generate_state(1, dtype=np.uint64)[0] >> 1)
    gen = torch.Generator(device=device)
    gen.manual_seed(mixed)
    return gen, np.random.default_rng(mixed)


def frozen_text_embeddings(model: ECGTextModel, texts: Sequence[str], batch_size: int = 64) -> dict[str, np.ndarray]:
    """L2-normalised pooled embeddings of the frozen language model, one per distinct text.

    These live in the pretrained language model's space (before any projection), which is what N3S and FG-CLEP's
    report-report similarity need: a space the training does not move. A trainable text encoder is not used for this;
    a frozen copy of its weights is loaded instead.
    """
    from core.models.text_encoder import TextEncoder

    encoder = model.text
    if encoder.trainable:
        encoder = TextEncoder(encoder.source, trainable=False, max_length=encoder.max_length, pooling=encoder.pooling)
        encoder.to(model.text.device)
    unique = list(dict.fromkeys(texts))
    out: dict[str, np.ndarray] = {}
    with torch.no_grad():
        for i in range(0, len(unique), batch_size):
            chunk = unique[i : i + batch_size]
            vecs = encoder(chunk).float().cpu().numpy()
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True).clip(min=1e-12)
            out.update(zip(chunk, vecs, strict=True))
    return out


def record_label_key(record: Record) -> frozenset[str]:
    """A record's labels as one comparable set (``"set:label"``) over all its label sets."""
    return frozenset(f"{name}:{label}" for name, labels in record.labels.items() for label in labels)


def text_labels(records: Sequence[Record], text_of: Callable[[Record], str]) -> dict[str, tuple[str, frozenset[str]]]:
    """Per training text, its dataset and the labels every record with that text shares (the intersection: a text
    whose records disagree keeps only what they agree on)."""
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for record in records:
        text, key = text_of(record), record_label_key(record)
        if text in out:
            dataset, known = out[text]
            out[text] = (dataset, known & key)
        else:
            out[text] = (record.dataset, key)
    return out


def hard_negative_sampler(
    model: ECGTextModel,
    texts: Sequence[str],
    labels: dict[str, tuple[str, frozenset[str]]],
    pool: int,
    embedded: dict[str, np.ndarray] | None = None,
) -> HardNegativeSampler | None:
    """A :class:`core.losses.HardNegativeSampler` over the training reports among ``texts`` (those in ``labels``,
    from :func:`text_labels`), in frozen language-model space; ``None`` when fewer than two are labelled.

    ``embedded``: the texts' :func:`frozen_text_embeddings` when the caller already has them.
    """
    reports = [t for t in dict.fromkeys(texts) if t in labels]
    if len(reports) < 2:
        return None
    if embedded is None:
        embedded = frozen_text_embeddings(model, reports)
    return HardNegativeSampler(
        reports,
        np.stack([embedded[t] for t in reports]),
        [labels[t][1] for t in reports],
        [labels[t][0] for t in reports],
        pool=pool,
    )
