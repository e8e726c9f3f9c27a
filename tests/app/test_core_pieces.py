"""Pure core pieces behind the app: prompt sets, zero-shot, FAISS index, map placement, plotting, saliency."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core import zeroshot
from core.atlas import Atlas, fit_coords
from core.index import EmbeddingIndex
from core.leads import CANONICAL_LEADS
from core.plotting import (
    MM_PER_MV,
    MM_PER_S,
    ecg_figure,
    map_figure,
    score_bar_figure,
    thumbnail_series,
    thumbnail_svg,
)
from core.saliency import occlusion_saliency

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


def test_index_returns_exact_cosine_neighbours():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    index = EmbeddingIndex(x, use_gpu=False)
    q = x[7] * 5 + rng.normal(scale=0.01, size=16)
    sims, ids = index.search(q, 5)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    brute = xn @ (q / np.linalg.norm(q))
    assert ids[0, 0] == 7
    np.testing.assert_array_equal(ids[0], np.argsort(-brute)[:5])
    np.testing.assert_allclose(sims[0], np.sort(brute)[::-1][:5], rtol=1e-5)
    assert index.search(q, 10_000)[1].shape == (1, 200)
    with pytest.raises(ValueError, match="dimension"):
        index.search(np.ones(3), 1)


def test_atlas_places_a_new_point_next_to_its_neighbours():
    rng = np.random.default_rng(1)
    centres = np.eye(8, dtype=np.float32)[:2] * 10
    x = np.concatenate([centres[0] + rng.normal(size=(30, 8)), centres[1] + rng.normal(size=(30, 8))])
    coords = fit_coords(x, method="pca")
    atlas = Atlas(coords, EmbeddingIndex(x, use_gpu=False), "pca")
    p = atlas.place(centres[1][None] + 0.1)[0]
    d0 = np.linalg.norm(coords[:30].mean(0) - p)
    d1 = np.linalg.norm(coords[30:].mean(0) - p)
    assert d1 < d0 / 3


def _square_ecg(fs_hz: float = 500.0, seconds: float = 10.0) -> np.ndarray:
    """12 leads; lead II steps by exactly 1 mV between 2 s and 3 s (others flat-ish sine)."""
    t = np.arange(int(fs_hz * seconds)) / fs_hz
    sig = np.tile(0.1 * np.sin(2 * np.pi * t), (12, 1)).astype(np.float32)
    sig[1] = np.where((t >= 2) & (t < 3), 1.0, 0.0)
    return sig


def test_ecg_figure_is_on_ecg_paper_with_clinical_layout():
    fig = ecg_figure(_square_ecg(), 500.0, layout="clinical")
    xa, ya = fig.layout.xaxis, fig.layout.yaxis
    assert ya.scaleanchor == "x" and ya.scaleratio == 1  # 1 mm on x == 1 mm on y
    assert xa.dtick == 5 and xa.minor.dtick == 1 and ya.dtick == 5 and ya.minor.dtick == 1
    assert xa.range[1] == pytest.approx(10 * MM_PER_S)
    labels = [a.text for a in fig.layout.annotations]
    assert labels == ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6", "II"]
    trace = fig.data[0]
    x, y = np.asarray(trace.x, float), np.asarray(trace.y, float)
    # The rhythm strip (last piece) is lead II over 10 s: 250 mm wide, the 1 mV step is 10 mm tall.
    gaps = np.flatnonzero(np.isnan(x))  # every piece is followed by a NaN gap; the last piece is the strip
    strip = np.arange(gaps[-2] + 1, gaps[-1])
    assert x[strip].max() - x[strip].min() == pytest.approx(10 * MM_PER_S, abs=0.2)
    assert y[strip].max() - y[strip].min() == pytest.approx(1.0 * MM_PER_MV, abs=1e-3)


def test_stacked_layout_missing_leads_and_saliency_boxes():
    mask = np.ones(12, bool)
    mask[CANONICAL_LEADS.index("V3")] = False
    sal = np.zeros((12, 10))
    sal[0, 2], sal[5, 7] = 1.0, -0.5
    fig = ecg_figure(
        _square_ecg(), 500.0, lead_mask=mask, layout="stacked", saliency=sal, saliency_edges_s=np.linspace(0, 10, 11)
    )
    assert "V3 (missing)" in [a.text for a in fig.layout.annotations]
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    assert len(rects) == 2
    red = next(r for r in rects if r.fillcolor.startswith("rgba(220"))
    assert red.x0 == pytest.approx(2 * MM_PER_S) and red.x1 == pytest.approx(3 * MM_PER_S)
    with pytest.raises(ValueError, match="12"):
        ecg_figure(np.zeros((3, 100)), 100.0)


def test_small_figures():
    bars = score_bar_figure([("LBBB", 0.4), ("NORM", 0.1)])
    assert list(bars.data[0].y) == ["NORM", "LBBB"]  # highest drawn at the top
    fig = map_figure(np.zeros((3, 2)), ["a", "b", "a"], ["r1", "r2", "r3"], ["x/1", "x/2", "x/3"], highlight=[0, 0])
    assert [list(t.customdata) for t in fig.data[:2]] == [["x/1", "x/3"], ["x/2"]]
    assert fig.data[-1].marker.symbol == "star"
    lead = np.zeros(5000)
    lead[1001] = 2.0  # a one-sample spike survives min/max decimation
    series = thumbnail_series(lead, 500.0)
    assert series.shape == (360,) and series.max() == pytest.approx(2.0)
    svg = thumbnail_svg(series)
    assert svg.startswith("<svg") and svg.count(",") == 360


def test_occlusion_saliency_finds_the_informative_cell():
    fs, n = 100.0, 1000

    def encode(batch: np.ndarray, masks: np.ndarray) -> np.ndarray:
        # Embedding = (energy of lead V1 in 3-4 s, constant): occluding that cell lowers similarity to [1, 0].
        e = np.abs(batch[:, 6, 300:400]).mean(axis=1)
        return np.stack([e, np.full_like(e, 0.2)], axis=1)

    x = np.random.default_rng(0).normal(size=(12, n)).astype(np.float32)
    mask = np.ones(12, bool)
    mask[11] = False
    sal = occlusion_saliency(encode, x, mask, np.array([1.0, 0.0]), fs_hz=fs, segment_s=1.0)
    assert sal.values.shape == (12, 10) and sal.edges_s[-1] == pytest.approx(10.0)
    assert np.unravel_index(np.argmax(sal.values), sal.values.shape) == (6, 3)
    assert sal.values[11].tolist() == [0.0] * 10  # a missing lead is not occluded
    assert sal.top_cells(1)[0][:3] == (6, 3.0, 4.0)


def test_checkpoint_hash_is_memoised_outside_the_checkpoint(tmp_path, monkeypatch):
    from core.embed import checkpoint_hash

    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "data"))
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    (ckpt / "config.json").write_text("{}")
    (ckpt / "model.safetensors").write_bytes(b"weights-1")
    first = checkpoint_hash(ckpt)
    assert checkpoint_hash(ckpt) == first and sorted(p.name for p in ckpt.iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    (ckpt / "model.safetensors").write_bytes(b"weights-2, longer")
    assert checkpoint_hash(ckpt) != first
    with pytest.raises(FileNotFoundError, match="config.json"):
        checkpoint_hash(tmp_path)
