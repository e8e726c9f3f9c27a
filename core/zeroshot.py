"""Zero-shot classification: class prompts -> class embeddings -> scores for ECG embeddings.

Prompt sets live in ``assets/prompts/<label_set>.json`` with the schema::

    {"label_set": "ptbxl_superclass", "classes": {"NORM": ["normal ECG", "sinus rhythm, normal ECG"], ...}}

A class embedding is the mean of its prompts' normalised text embeddings, normalised again (prompt ensembling in
embedding space, as in CLIP, Radford et al. 2021, sec. 3.1.4). A score is the cosine similarity between an ECG
embedding and a class embedding. How scores become probabilities follows the model's training loss
(:func:`score_kind`): a model trained with a softmax (InfoNCE) loss, such as METS, gets a softmax over the listed
classes (:func:`softmax_probs`, they sum to 1); a model trained with a sigmoid loss (SigLIP, Zhai et al. 2023), such as
FG-CLEP and D-BETA, scores each class on its own, ``sigmoid(scale * cos + bias)`` (:func:`sigmoid_probs`), so adding
or removing a class leaves the others' probabilities unchanged. Everything here is plain numpy over embeddings, so
the app and the evaluation share it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.special import expit

PROMPTS_DIR = Path(__file__).resolve().parents[1] / "assets" / "prompts"
SOFTMAX = "softmax"
SIGMOID = "sigmoid"
# What the app shows beside the probabilities, so a reader knows whether they compete.
SCORE_LABELS = {
    SOFTMAX: "probabilities over the listed classes (softmax)",
    SIGMOID: "independent probabilities (sigmoid)",
}

# Encodes a list of texts into an (n, D) array (normalised or not; we normalise).
TextEncoder = Callable[[list[str]], np.ndarray]


@dataclass(frozen=True)
class PromptSet:
    """Classes of one label set and the English prompts describing each.

    Attributes:
        label_set: name of the label set (e.g. ``"ptbxl_superclass"``).
        classes: class name -> one or more prompt texts, in display order.
    """

    label_set: str
    classes: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        validate_classes(self.classes)

    @property
    def class_names(self) -> list[str]:
        return list(self.classes)

    def to_dict(self) -> dict:
        return {"label_set": self.label_set, "classes": {k: list(v) for k, v in self.classes.items()}}

    @classmethod
    def from_dict(cls, data: Mapping) -> PromptSet:
        if not isinstance(data, Mapping) or "classes" not in data:
            raise ValueError('a prompt set is {"label_set": str, "classes": {class: [prompt, ...]}}')
        classes = {str(k): [str(p) for p in ([v] if isinstance(v, str) else v)] for k, v in data["classes"].items()}
        return cls(label_set=str(data.get("label_set", "")), classes=classes)


def validate_classes(classes: Mapping[str, Sequence[str]]) -> None:
    """Raise ``ValueError`` unless every class has a non-empty name and at least one non-empty prompt."""
    if not classes:
        raise ValueError("a prompt set needs at least one class")
    for name, prompts in classes.items():
        if not str(name).strip():
            raise ValueError("a class has an empty name")
        if isinstance(prompts, str) or not any(str(p).strip() for p in prompts):
            raise ValueError(f"class {name!r} needs at least one prompt (a list of non-empty strings)")


def list_prompt_sets(directory: Path | None = None) -> list[str]:
    """Names of the prompt sets shipped in ``assets/prompts/`` (file stems, sorted)."""
    directory = directory or PROMPTS_DIR
    return sorted(p.stem for p in directory.glob("*.json"))


def load_prompt_set(name_or_path: str | Path, directory: Path | None = None) -> PromptSet:
    """Load a prompt set by name (``"ptbxl_superclass"``) or from a JSON file path."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = (directory or PROMPTS_DIR) / f"{name_or_path}.json"
    if not path.is_file():
        known = ", ".join(list_prompt_sets(directory)) or "none"
        raise FileNotFoundError(f"no prompt set {str(name_or_path)!r} (known: {known})")
    return PromptSet.from_dict(json.loads(path.read_text(encoding="utf-8")))


def _normalize(x: np.ndarray, axis: int = -1) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norm = np.linalg.norm(x, axis=axis, keepdims=True)
    return x / np.maximum(norm, 1e-12)


def class_embeddings(classes: Mapping[str, Sequence[str]], encode_text: TextEncoder) -> tuple[list[str], np.ndarray]:
    """Embed each class as the normalised mean of its normalised prompt embeddings.

    Args:
        classes: class name -> prompt texts (empty prompts are ignored).
        encode_text: maps a list of texts to an (n, D) array.

    Returns:
        The class names and a float32 array of shape (n_classes, D) with unit rows.
    """
    validate_classes(classes)
    names = list(classes)
    texts: list[str] = []
    owner: list[int] = []
    for i, name in enumerate(names):
        for prompt in classes[name]:
            if str(prompt).strip():
                texts.append(str(prompt).strip())
                owner.append(i)
    emb = _normalize(encode_text(texts))
    out = np.zeros((len(names), emb.shape[1]), dtype=np.float32)
    np.add.at(out, np.asarray(owner), emb)
    return names, _normalize(out)


def scores(ecg_embeddings: np.ndarray, class_emb: np.ndarray) -> np.ndarray:
    """Cosine similarities between ECG embeddings (N, D) or (D,) and class embeddings (C, D) -> (N, C) or (C,)."""
    ecg = _normalize(ecg_embeddings)
    return ecg @ _normalize(class_emb).T


def softmax_probs(score: np.ndarray, logit_scale: float = 100.0) -> np.ndarray:
    """Softmax over classes (last axis) of ``logit_scale * score``; ``logit_scale`` is the exponentiated scale."""
    z = np.asarray(score, dtype=np.float64) * float(logit_scale)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def sigmoid_probs(score: np.ndarray, logit_scale: float, logit_bias: float) -> np.ndarray:
    """Independent per-class probabilities ``sigmoid(logit_scale * score + logit_bias)`` (SigLIP's pair logit)."""
    return expit(np.asarray(score, dtype=np.float64) * float(logit_scale) + float(logit_bias)).astype(np.float32)


def score_kind(checkpoint_config: Mapping) -> str:
    """``"sigmoid"`` for a checkpoint trained with a sigmoid loss, else ``"softmax"``.

    A sigmoid-loss model carries a logit bias (``model_cfg.init_logit_bias``); FG-CLEP can also be trained with its
    softmax variant (``recipe_config.loss == "softmax"``), which keeps the bias parameter but not its meaning.
    """
    model_cfg = checkpoint_config.get("model_cfg") or {}
    recipe_cfg = checkpoint_config.get("recipe_config") or {}
    if model_cfg.get("init_logit_bias") is None or recipe_cfg.get("loss", SIGMOID) == SOFTMAX:
        return SOFTMAX
    return SIGMOID


def probabilities(score: np.ndarray, kind: str, logit_scale: float, logit_bias: float | None = None) -> np.ndarray:
    """Probabilities of scores (last axis = classes) as the model was trained to give them (:func:`score_kind`)."""
    if kind == SIGMOID:
        if logit_bias is None:
            raise ValueError("sigmoid scoring needs the model's logit bias")
        return sigmoid_probs(score, logit_scale, logit_bias)
    if kind == SOFTMAX:
        return softmax_probs(score, logit_scale)
    raise ValueError(f"unknown score kind {kind!r}; use {SOFTMAX!r} or {SIGMOID!r}")


@dataclass(frozen=True)
class ClassScores:
    """Zero-shot result of one ECG: classes best first, their cosine similarities and probabilities.

    Attributes:
        names: class names, highest similarity first.
        similarity: cosine similarity of the ECG to each class.
        probability: probability of each class, of the kind :attr:`kind` (see :func:`score_kind`).
        kind: ``"softmax"`` or ``"sigmoid"``.
    """

    names: list[str]
    similarity: list[float]
    probability: list[float]
    kind: str

    @property
    def label(self) -> str:
        """What the probabilities are, in words (for the page)."""
        return SCORE_LABELS[self.kind]

    def rows(self) -> list[tuple[str, float, float]]:
        return list(zip(self.names, self.similarity, self.probability, strict=True))


def score_classes(
    ecg_embedding: np.ndarray,
    names: Sequence[str],
    class_emb: np.ndarray,
    *,
    kind: str,
    logit_scale: float,
    logit_bias: float | None = None,
) -> ClassScores:
    """Score one (D,) ECG embedding against (C, D) class embeddings, best first (ties keep the class order)."""
    sim = np.asarray(scores(ecg_embedding, class_emb), dtype=np.float64).reshape(-1)
    prob = probabilities(sim, kind, logit_scale, logit_bias)
    order = np.argsort(-sim, kind="stable")
    return ClassScores([names[i] for i in order], [float(sim[i]) for i in order], [float(prob[i]) for i in order], kind)


def ranked(names: Sequence[str], score: np.ndarray) -> list[tuple[str, float]]:
    """``(class, score)`` pairs for one ECG, highest score first (ties keep the class order)."""
    score = np.asarray(score, dtype=np.float64).reshape(-1)
    order = np.argsort(-score, kind="stable")
    return [(names[i], float(score[i])) for i in order]


def predict(ecg_embeddings: np.ndarray, classes: Mapping[str, Sequence[str]], encode_text: TextEncoder) -> np.ndarray:
    """Convenience: scores (N, C) of ECG embeddings against a class->prompts mapping."""
    _, emb = class_embeddings(classes, encode_text)
    return scores(np.atleast_2d(ecg_embeddings), emb)
