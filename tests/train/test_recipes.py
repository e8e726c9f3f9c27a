"""Recipe wiring: D-BETA matching pairs and frozen-LM token cache, FG-CLEP enrichment cache, METS's frozen LM."""

import pytest
import torch

from core.recipes import create_recipe
from core.recipes.data import SyntheticECGText, dataset_texts
from core.recipes.dbeta import matching_pairs


def test_matching_pairs_never_pair_an_ecg_with_its_own_report_as_negative():
    ecg, text, labels = matching_pairs(4, {1: 7}, hard_text=[2, 3, -1, 0], hard_ecg=[3, -1, 0, 1])
    assert labels[:4] == [1] * 4 and list(zip(ecg[:4], text[:4], strict=True)) == [(0, 0), (1, 1), (2, 2), (3, 3)]
    negatives = list(zip(ecg[4:], text[4:], strict=True))
    # ECG 1 takes its N3S report (row 7) instead of a hard one; ECG 2 and report 1 have no valid hard negative.
    assert negatives == [(0, 2), (3, 0), (1, 7), (0, 2), (3, 0), (1, 3)]
    assert labels[4:] == [0] * 6


@pytest.fixture(scope="module")
def dbeta():
    # A frozen language model, whose token states the recipe caches (the shipped config fine-tunes the top layers).
    recipe = create_recipe("dbeta", {"model": "dbeta-patchtf-tiny", "model_overrides": {"text": {"trainable": False}}})
    torch.manual_seed(0)
    model = recipe.build_model("cpu").eval()
    data = SyntheticECGText(8, model.preprocess_cfg.n_samples)
    recipe.prepare(model, dataset_texts(data))
    batch = {
        "signal": torch.stack([data[i]["signal"] for i in range(4)]),
        "lead_mask": torch.ones(4, 12, dtype=torch.bool),
        "text": [data[i]["text"] for i in range(4)],
    }
    return recipe, model, batch


def test_dbeta_cached_token_states_equal_a_fresh_pass(dbeta):
    recipe, model, batch = dbeta
    texts = batch["text"] + ["sinus rhythm with a much longer report than the others in this batch."]
    tokens = model.text.tokenize(texts)
    cached = recipe.token_states(model, texts, tokens)
    fresh = model.text.forward_tokens(**tokens)["hidden"]
    real = tokens["attention_mask"].bool()
    torch.testing.assert_close(cached[real], fresh[real], rtol=0, atol=1e-4)
    assert torch.all(cached[~real] == 0)


def test_dbeta_losses_are_a_function_of_seed_rank_and_step(dbeta):
    recipe, model, batch = dbeta
    with torch.no_grad():
        a = recipe.compute_losses(model, batch, step=3, seed=1)
        b = recipe.compute_losses(model, batch, step=3, seed=1)
        c = recipe.compute_losses(model, batch, step=4, seed=1)
    assert set(a) == {"reconstruction_loss", "mlm_loss", "matching_loss", "sigmoid_loss"}
    assert all(torch.equal(a[k], b[k]) for k in a)  # same masks and negatives: a resumed run redraws them exactly
    assert not torch.equal(a["reconstruction_loss"], c["reconstruction_loss"])  # new step, new masks


def test_fgclep_measures_each_record_once(tmp_path):
    recipe = create_recipe("fgclep", {"model": "fgclep-resnet1d-tiny"})
    calls = []
    recipe.measure = lambda ecg: calls.append(ecg.record_id) or "Heart rate 61 bpm."
    data = SyntheticECGText(3)
    recipe.prepare_records(data.records, data.read, tmp_path)
    recipe.prepare_records(data.records, data.read, tmp_path)
    assert len(calls) == 3
    again = create_recipe("fgclep", {"model": "fgclep-resnet1d-tiny"})
    again.measure = lambda ecg: pytest.fail("measured although cached")
    again.prepare_records(data.records, data.read, tmp_path)
    text = again.text_fn()(data.records[0])
    assert text == data.records[0].text_en + " Heart rate 61 bpm."


def test_mets_refuses_a_trainable_language_model():
    recipe = create_recipe("mets", {"model": "dbeta-patchtf-tiny", "model_overrides": {"text": {"trainable": True}}})
    with pytest.raises(ValueError, match="frozen"):
        recipe.build_model("cpu")


def test_fgclep_soft_targets_compare_reports_not_measurements(tmp_path):
    from core.recipes.base import frozen_text_embeddings

    recipe = create_recipe("fgclep", {"model": "fgclep-resnet1d-tiny"})
    sentences = iter(["Heart rate 50 bpm, regular rhythm.", "Heart rate 140 bpm, irregular rhythm."])
    recipe.measure = lambda ecg: next(sentences)
    data = SyntheticECGText(2)
    data.records[1].text_en = data.records[0].text_en  # same report, different measurements
    recipe.prepare_records(data.records, data.read, tmp_path)
    data.text_fn = recipe.text_fn()
    texts = dataset_texts(data)
    assert texts[0] != texts[1] and all("Heart rate" in t for t in texts)
    model = recipe.build_model("cpu")
    recipe.prepare(model, texts)
    emb = recipe.target_embeddings(texts, torch.device("cpu"))
    torch.testing.assert_close(emb[0], emb[1])  # identical reports are soft positives of each other
    report = frozen_text_embeddings(model, [data.records[0].text_en])[data.records[0].text_en]
    torch.testing.assert_close(emb[0], torch.from_numpy(report))


def test_mets_hard_negatives_are_label_different_training_reports_and_only_in_training():
    from pathlib import Path

    from core.data.catalogs.base import Record
    from core.recipes.base import text_labels

    def rec(i, text, labels, split="train", dataset="ptbxl"):
        return Record(f"{dataset}/{i}", dataset, Path(str(i)), text, text, {"diagnostic": labels}, split)

    records = [
        rec(0, "left bundle branch block", ["CLBBB"]),
        rec(1, "right bundle branch block", ["CRBBB"]),
        rec(2, "right bundle branch block", ["CRBBB", "1AVB"]),  # same text, more labels: the shared ones remain
        rec(3, "complete left bundle branch block", ["CLBBB"]),
        rec(4, "sinus rhythm", ["SR"], split="val"),  # validation reports never become negatives
    ]
    labels = text_labels(records, lambda r: r.text_en)
    assert labels["right bundle branch block"] == ("ptbxl", frozenset({"diagnostic:CRBBB"}))
    assert "sinus rhythm" not in text_labels([r for r in records if r.split == "train"], lambda r: r.text_en)

    recipe = create_recipe("mets", {"model": "mets-resnet1d-tiny", "hard_negatives": 1})
    torch.manual_seed(0)
    model = recipe.build_model("cpu")
    recipe.prepare_records(records, reader=None)
    texts = [r.text_en for r in records]
    recipe.prepare(model, texts)
    # LBBB's only label-different neighbour is RBBB; its paraphrase with the same label is never a negative.
    assert recipe.negatives.neighbours["left bundle branch block"] == ["right bundle branch block"]
    assert "sinus rhythm" not in recipe.negatives.neighbours

    data = SyntheticECGText(4, model.preprocess_cfg.n_samples)
    batch = {"signal": torch.stack([data[i]["signal"] for i in range(4)]), "text": texts[:4]}
    model.train()
    train_a = recipe.compute_losses(model, batch, step=3)["contrastive_loss"]
    train_b = recipe.compute_losses(model, batch, step=3)["contrastive_loss"]
    model.eval()
    plain = recipe.loss(**model(batch["signal"], batch["text"]))["contrastive_loss"]
    evaluated = recipe.compute_losses(model, batch, step=3)["contrastive_loss"]
    assert float(train_a) == pytest.approx(float(train_b)) and float(evaluated) == pytest.approx(float(plain))
    assert float(train_a) != pytest.approx(float(evaluated))  # the extra softmax columns count in training only


def test_dbeta_hard_negatives_add_twin_pairs_to_the_sigmoid_loss_in_training_only():
    # Synthetic reports, each template its own label: every report's hard negatives are other templates.
    options = {"model": "dbeta-patchtf-tiny", "model_overrides": {"text": {"trainable": False}}}
    plain, hard = create_recipe("dbeta", options), create_recipe("dbeta", {**options, "hard_negatives": 2})
    torch.manual_seed(0)
    model = plain.build_model("cpu")
    data = SyntheticECGText(8, model.preprocess_cfg.n_samples)
    for recipe in (plain, hard):
        recipe.prepare_records(data.records, reader=None)
        recipe.prepare(model, dataset_texts(data))
    assert plain.negatives is None and hard.negatives is not None
    assert all(t not in near for t, near in hard.negatives.neighbours.items())
    batch = {
        "signal": torch.stack([data[i]["signal"] for i in range(4)]),
        "lead_mask": torch.ones(4, 12, dtype=torch.bool),
        "text": [data[i]["text"] for i in range(4)],
    }

    def sigmoid(recipe, train):
        model.train(train)
        torch.manual_seed(1)  # dropout
        return float(recipe.compute_losses(model, batch, step=5)["sigmoid_loss"])

    # Extra negative pairs only add binary terms; validation (eval mode) scores the paper's loss.
    assert sigmoid(hard, True) > sigmoid(plain, True)
    assert sigmoid(hard, False) == pytest.approx(sigmoid(plain, False))


def test_fgclep_label_gated_targets_give_each_label_set_one_id(tmp_path):
    recipe = create_recipe("fgclep", {"model": "fgclep-resnet1d-tiny", "label_gated_targets": True})
    recipe.measure = lambda ecg: "Heart rate 60 bpm."
    data = SyntheticECGText(12, seed=3)  # six report templates, each its own label ("class": [report])
    recipe.prepare_records(data.records, data.read, tmp_path)
    data.text_fn = recipe.text_fn()
    texts = dataset_texts(data)
    ids = [recipe.label_ids[t] for t in texts]
    by_report = {}
    for record, i in zip(data.records, ids, strict=True):
        by_report.setdefault(record.text_en, set()).add(i)
    # One id per label set: records sharing a report share it, different reports never do.
    assert all(len(v) == 1 for v in by_report.values()) and len({min(v) for v in by_report.values()}) == len(by_report)
    model = recipe.build_model("cpu")
    recipe.prepare(model, texts)
    batch = {"signal": torch.stack([data[i]["signal"] for i in range(4)]), "text": texts[:4]}
    assert torch.isfinite(recipe.compute_losses(model, batch, step=0)["sigmoid_loss"])
