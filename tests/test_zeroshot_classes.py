"""Prompt sets and class embeddings (core/zeroshot.py) on a transparent bag-of-words text encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import zeroshot

VOCAB = ["normal", "ecg", "atrial", "fibrillation", "left", "bundle", "branch", "block", "sinus", "rhythm"]


def bag_of_words(texts: list[str]) -> np.ndarray:
    """A transparent text encoder for tests: word counts over a tiny vocabulary."""
    out = np.zeros((len(texts), len(VOCAB)), np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().replace(",", " ").split():
            if w in VOCAB:
                out[i, VOCAB.index(w)] += 1
    return out + 1e-3


def test_every_shipped_prompt_set_follows_the_schema():
    names = zeroshot.list_prompt_sets()
    assert {"ptbxl_superclass", "ptbxl_subclass", "ptbxl_form", "ptbxl_rhythm", "cinc2021", "ludb"} <= set(names)
    for name in names:
        raw = json.loads((zeroshot.PROMPTS_DIR / f"{name}.json").read_text())
        assert raw["label_set"] == name and set(raw) == {"label_set", "classes"}
        ps = zeroshot.load_prompt_set(name)
        assert all(len(p) >= 1 and all(s.strip() for s in p) for p in ps.classes.values()), name
    assert zeroshot.load_prompt_set("ptbxl_superclass").class_names == ["NORM", "MI", "STTC", "CD", "HYP"]


def test_prompt_set_validation_and_unknown_name():
    with pytest.raises(ValueError, match="at least one prompt"):
        zeroshot.PromptSet("x", {"A": []})
    with pytest.raises(FileNotFoundError, match="known: .*ptbxl_superclass"):
        zeroshot.load_prompt_set("no_such_set")


def test_class_embedding_is_the_normalised_mean_of_normalised_prompts():
    classes = {"AF": ["atrial fibrillation", "fibrillation"], "LBBB": ["left bundle branch block"]}
    names, emb = zeroshot.class_embeddings(classes, bag_of_words)
    assert names == ["AF", "LBBB"]
    p = bag_of_words(classes["AF"])
    p /= np.linalg.norm(p, axis=1, keepdims=True)
    expected = p.mean(0) / np.linalg.norm(p.mean(0))
    np.testing.assert_allclose(emb[0], expected, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, rtol=1e-5)


def test_scores_rank_the_matching_class_first():
    classes = {
        "NORM": ["normal ecg", "sinus rhythm"],
        "AF": ["atrial fibrillation"],
        "LBBB": ["left bundle branch block"],
    }
    names, emb = zeroshot.class_embeddings(classes, bag_of_words)
    ecg = bag_of_words(["left bundle branch block"])[0] * 3.0  # an "ECG" embedding in the same space
    ranked = zeroshot.ranked(names, zeroshot.scores(ecg, emb))
    assert ranked[0][0] == "LBBB" and ranked[0][1] > ranked[1][1]
    probs = zeroshot.softmax_probs(zeroshot.scores(ecg, emb), 100.0)
    assert probs.shape == (3,) and abs(float(probs.sum()) - 1) < 1e-5 and int(np.argmax(probs)) == 2
