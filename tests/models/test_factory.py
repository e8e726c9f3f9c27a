"""Factory and ECGTextModel: every named config builds, runs forward and backward, and keeps its contract."""

from __future__ import annotations

import math

import pytest
import torch

from core.data.preprocess import PreprocessConfig
from core.models import MAX_LOGIT_SCALE, create_model, get_model_config, list_models

TEXTS = ["sinus rhythm, normal ecg", "atrial fibrillation with rapid ventricular response"]


def _signal(model, batch: int = 2) -> torch.Tensor:
    return torch.randn(batch, 12, model.preprocess_cfg.n_samples)


def test_list_models_has_the_recipes_and_tiny_configs() -> None:
    names = list_models()
    for name in ("mets-resnet1d", "mets-resnet1d-fast", "dbeta-patchtf", "fgclep-resnet1d"):
        assert name in names and f"{name.split('-')[0]}-{name.split('-')[1]}-tiny" in names
    for name in names:
        cfg = get_model_config(name)
        PreprocessConfig.from_dict(cfg["preprocess_cfg"])  # valid preprocessing
        source = cfg["model_cfg"]["text"]["source"]
        assert source.startswith("package:") or "/" in source, f"{name}: text source must be local, got {source!r}"


@pytest.mark.parametrize("name", list_models())
def test_forward_backward(name: str) -> None:
    model = create_model(name, device="cpu")
    x = _signal(model)
    out = model(x, TEXTS)
    d = model.embed_dim
    assert out["ecg_features"].shape == (2, d) and out["text_features"].shape == (2, d)
    torch.testing.assert_close(out["ecg_features"].norm(dim=-1), torch.ones(2))
    torch.testing.assert_close(out["text_features"].norm(dim=-1), torch.ones(2))
    assert out["logit_scale"].shape == ()
    assert ("logit_bias" in out) == (model.model_cfg.get("init_logit_bias") is not None)
    logits = out["logit_scale"] * out["ecg_features"] @ out["text_features"].T + out.get("logit_bias", 0.0)
    torch.nn.functional.cross_entropy(logits, torch.arange(2)).backward()
    assert model.logit_scale.grad is not None
    assert all(p.grad is not None for p in model.ecg_proj.parameters())
    assert all(p.grad is not None for p in model.text_proj.parameters())
    assert model.ecg.stem[0].weight.grad is not None if hasattr(model.ecg, "stem") else True
    trainable_text = model.model_cfg["text"].get("trainable", False)
    text_grads = [p.grad is not None for p in model.text.model.parameters() if p.requires_grad]
    if trainable_text:
        assert text_grads and any(text_grads)
    else:
        assert not text_grads  # frozen: nothing in the language model requires grad


def test_normalize_flag() -> None:
    model = create_model("mets-resnet1d-tiny", device="cpu").eval()
    x = _signal(model)
    raw = model.encode_ecg(x)
    unit = model.encode_ecg(x, normalize=True)
    torch.testing.assert_close(unit, torch.nn.functional.normalize(raw, dim=-1))
    assert not torch.allclose(raw.norm(dim=-1), torch.ones(2))
    t_raw = model.encode_text(TEXTS)
    t_unit = model.encode_text(TEXTS, normalize=True)
    torch.testing.assert_close(t_unit, torch.nn.functional.normalize(t_raw, dim=-1))
    assert not torch.allclose(t_raw.norm(dim=-1), torch.ones(2))


def test_overrides_merge_and_none_is_dropped() -> None:
    base = create_model("mets-resnet1d-tiny", device="cpu", embed_dim=None, pretrained=None)
    assert base.embed_dim == get_model_config("mets-resnet1d-tiny")["model_cfg"]["embed_dim"]
    model = create_model(
        "mets-resnet1d-tiny",
        device="cpu",
        embed_dim=16,
        ecg={"args": {"widths": [8, 24]}},
        preprocess_cfg={"fs_hz": 50, "lowpass_hz": 20},
    )
    assert model.embed_dim == 16 and model.ecg.num_features == 24
    assert model.model_cfg["ecg"]["name"] == "resnet1d_fast"  # nested dicts merge, not replace
    assert model.preprocess_cfg.fs_hz == 50 and model.preprocess_cfg.n_samples == 500
    assert model.encode_ecg(_signal(model)).shape == (2, 16)


def test_unknown_model_name() -> None:
    with pytest.raises(KeyError, match="mets-resnet1d"):
        create_model("no-such-model")


def test_logit_scale_is_a_log_clamped_to_ln100() -> None:
    model = create_model("mets-resnet1d-tiny", device="cpu")
    assert math.isclose(model.logit_scale.item(), math.log(1 / 0.07), rel_tol=1e-5)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    out = model(_signal(model), TEXTS)
    assert math.isclose(out["logit_scale"].item(), 100.0, rel_tol=1e-5)
    model.clamp_logit_scale_()
    assert math.isclose(model.logit_scale.item(), MAX_LOGIT_SCALE, rel_tol=1e-6)


def test_partial_leads_through_the_model() -> None:
    model = create_model("fgclep-resnet1d-tiny", device="cpu").eval()
    torch.nn.init.normal_(model.ecg.lead_presence.proj.weight)
    x = _signal(model)
    lead_mask = torch.tensor([True] * 6 + [False] * 6)  # one mask for the whole batch
    y = x.clone()
    y[:, 6:] = torch.randn(2, 6, x.shape[-1])
    torch.testing.assert_close(model.encode_ecg(x, lead_mask), model.encode_ecg(y, lead_mask))
    assert model.encode_ecg_tokens(x, lead_mask).shape[::2] == (2, model.embed_dim)


def test_dbeta_extras() -> None:
    """The pieces the D-BETA recipe wires: masked encoding, decoding, token-level text, MLM and matching heads."""
    model = create_model("dbeta-patchtf-tiny", device="cpu")
    x = _signal(model)
    enc = model.ecg.forward_masked(x, mask_ratio=0.75)
    assert model.ecg_head(enc["latent"]).shape == (2, model.embed_dim)
    assert model.ecg.decode(enc["latent"], enc["ids_restore"]).shape == model.ecg.patchify(x).shape
    batch = model.text.tokenize(TEXTS)
    ids, labels = model.text.mask_tokens(batch["input_ids"], mlm_probability=0.5)
    text = model.text.forward_tokens(input_ids=ids, attention_mask=batch["attention_mask"])
    ecg_tokens = model.ecg.forward_tokens(x)
    fused = model.fuse(ecg_tokens, text["hidden"], text["attention_mask"])
    mlm = model.mlm_logits(fused)
    assert mlm.shape == (*ids.shape, model.text.tokenizer.vocab_size)
    match = model.match_logits(ecg_tokens, text["hidden"], text["attention_mask"])
    assert match.shape == (2,)
    loss = torch.nn.functional.cross_entropy(mlm.flatten(0, 1), labels.flatten(), ignore_index=-100)
    loss = loss + torch.nn.functional.binary_cross_entropy_with_logits(match, torch.ones(2))
    loss.backward()
    assert model.fusion.match_head.weight.grad is not None
    assert model.text.mlm.dense.weight.grad is not None
    assert model.text.model.get_input_embeddings().weight.grad is not None  # tied decoder


def test_models_without_fusion_say_so() -> None:
    model = create_model("mets-resnet1d-tiny", device="cpu")
    with pytest.raises(RuntimeError, match="fusion"):
        model.match_logits(torch.zeros(1, 3, 16), torch.zeros(1, 4, 384), torch.ones(1, 4))
