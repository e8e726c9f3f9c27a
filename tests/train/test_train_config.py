"""Trainer pieces: schedule, parameter groups, option precedence and types checked on load, run-state round trip."""

import argparse
import math

import pytest
import torch
import torch.nn as nn
import yaml

from core.config import ConfigError
from core.train import (
    RECIPE_CONFIG_DIR,
    TrainConfig,
    add_arguments,
    amp_enabled,
    gather_rng_states,
    get_lr,
    load_train_state,
    main,
    param_groups,
    resolve_config,
    restore_rng_states,
    save_train_state,
)


def _args(argv):
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(argv)


def test_get_lr_warmup_then_cosine():
    kw = dict(lr=1.0, min_lr=0.1, warmup_steps=4, total_steps=14)
    assert [get_lr(s, **kw) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert get_lr(4, **kw) == pytest.approx(1.0)
    assert get_lr(9, **kw) == pytest.approx(0.1 + 0.5 * (1 + math.cos(math.pi * 0.5)) * 0.9)
    assert get_lr(14, **kw) == pytest.approx(0.1) and get_lr(100, **kw) == pytest.approx(0.1)
    values = [get_lr(s, **kw) for s in range(4, 14)]
    assert values == sorted(values, reverse=True)


def test_param_groups_skip_bias_norm_logit_and_frozen():
    model = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.Linear(4, 2))
    model.logit_scale = nn.Parameter(torch.ones(()))
    model[2].weight.requires_grad_(False)
    decay, no_decay = param_groups(model, 0.1)
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert [p.shape for p in decay["params"]] == [torch.Size([4, 3])]
    assert len(no_decay["params"]) == 5  # two biases, norm weight and bias, logit scale


def test_pretrained_weights_get_their_own_learning_rate_scale():
    model = nn.Module()
    model.text = nn.Module()
    model.text.model = nn.Linear(3, 4)  # stands for the language model (text.model.*)
    model.head = nn.Linear(4, 2)
    groups = param_groups(model, 0.1, pretrained_lr_scale=0.1)
    by_scale = {(g["lr_scale"], g["weight_decay"]): [p.shape for p in g["params"]] for g in groups}
    assert by_scale == {
        (1.0, 0.1): [torch.Size([2, 4])],
        (1.0, 0.0): [torch.Size([2])],
        (0.1, 0.1): [torch.Size([4, 3])],
        (0.1, 0.0): [torch.Size([4])],
    }
    # Scale 1: the language model's weights share the ordinary groups.
    assert [g["lr_scale"] for g in param_groups(model, 0.1)] == [1.0, 1.0]


def test_amp_is_cuda_only_unless_bf16_is_asked_for():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert (amp_enabled("auto", cpu), amp_enabled("auto", cuda)) == (False, True)
    assert amp_enabled("bf16", cpu) and amp_enabled("bf16", cuda)
    assert not amp_enabled("fp32", cuda)
    with pytest.raises(ValueError, match="precision must be"):
        amp_enabled("fp8", cpu)


def test_option_precedence(tmp_path):
    cfg = resolve_config(_args(["--recipe", "mets", "--out", str(tmp_path)]))
    shipped = yaml.safe_load((RECIPE_CONFIG_DIR / "mets.yaml").read_text())
    assert cfg.epochs == shipped["epochs"] and cfg.recipe_options["model"] == shipped["recipe_options"]["model"]
    assert cfg.seed == TrainConfig().seed  # not in the YAML: the dataclass default
    user = tmp_path / "user.yaml"
    user.write_text("epochs: 3\nlr: 0.5\nrecipe_options: {local_loss: false}\n")
    argv = ["--recipe", "mets", "--out", str(tmp_path), "--config", str(user), "--lr", "0.25", "--data", "ptbxl,ludb"]
    cfg = resolve_config(_args(argv + ["--model", "mets-resnet1d-tiny", "--set", "local_loss=true"]))
    assert (cfg.epochs, cfg.lr, cfg.data) == (3, 0.25, ["ptbxl", "ludb"])
    assert cfg.recipe_options["model"] == "mets-resnet1d-tiny" and cfg.recipe_options["local_loss"] is True


def test_unknown_yaml_option_fails(tmp_path):
    user = tmp_path / "user.yaml"
    user.write_text("epoch: 3\n")
    with pytest.raises(ValueError, match="epoch"):
        resolve_config(_args(["--recipe", "mets", "--out", str(tmp_path), "--config", str(user)]))


def test_unknown_recipe_option_fails():
    from core.recipes import create_recipe

    with pytest.raises(ValueError, match="mask_ratio"):
        create_recipe("mets", {"mask_ratio": 0.5})


def test_train_state_round_trip(tmp_path):
    model = nn.Linear(3, 2)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    rng = torch.get_rng_state()
    save_train_state(tmp_path, opt, {"step": 7, "epoch": 1}, {"torch": rng[None]})
    # Nothing pickled: a JSON file and a safetensors file.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train_state.json", "train_state.safetensors"]
    model2 = nn.Linear(3, 2)
    opt2 = torch.optim.AdamW(model2.parameters(), lr=0.5)
    scalars, rng2 = load_train_state(tmp_path, opt2)
    assert scalars["step"] == 7 and torch.equal(rng2["torch"][0], rng)
    for a, b in zip(opt.state.values(), opt2.state.values(), strict=True):
        assert all(torch.equal(a[k], b[k]) for k in ("exp_avg", "exp_avg_sq", "step"))
    assert opt2.param_groups[0]["lr"] == 0.1


def test_global_rng_state_round_trip_through_the_run_state(tmp_path):
    cpu = torch.device("cpu")
    saved = gather_rng_states(cpu)
    assert set(saved) == {"torch"} and saved["torch"].shape[0] == 1  # one process: one row
    expected = torch.rand(3)  # what dropout would draw after the save
    torch.rand(5)  # ... and the run went on
    optimizer = torch.optim.AdamW([nn.Parameter(torch.zeros(2))])
    save_train_state(tmp_path, optimizer, {"step": 1}, saved)
    _, rng = load_train_state(tmp_path, optimizer)
    assert restore_rng_states(rng, rank=0, world_size=1, device=cpu)
    assert torch.equal(torch.rand(3), expected)
    # Saved by another number of processes: refused, nothing changed.
    state = torch.get_rng_state()
    assert not restore_rng_states(rng, rank=0, world_size=2, device=cpu)
    assert torch.equal(torch.get_rng_state(), state)


def test_yaml_string_learning_rate_is_coerced_and_a_tiny_run_trains(tmp_path):
    user = tmp_path / "user.yaml"
    user.write_text('lr: "1e-3"\nmin_lr: 1e-5\nepochs: "1"\nrecipe_options: {hard_negatives: "0"}\n')  # 1e-5: a str
    argv = ["--recipe", "mets", "--model", "mets-resnet1d-tiny", "--data", "synthetic", "--limit", "8"]
    argv += [
        "--batch-size",
        "4",
        "--no-val",
        "--warmup-steps",
        "1",
        "--config",
        str(user),
        "--out",
        str(tmp_path / "r"),
    ]
    cfg = resolve_config(_args(argv))
    assert (cfg.lr, cfg.min_lr, cfg.epochs, cfg.recipe_options["hard_negatives"]) == (0.001, 1e-5, 1, 0)
    assert main(argv) == 0 and (tmp_path / "r" / "final" / "model.safetensors").is_file()
    assert yaml.safe_load((tmp_path / "r" / "params.yaml").read_text())["lr"] == 0.001


def test_a_bad_value_fails_before_any_data_or_model_is_built(tmp_path, monkeypatch):
    def must_not_run(*args, **kwargs):
        raise AssertionError("data or model built before the config was checked")

    monkeypatch.setattr("core.recipes.data.build_datasets", must_not_run)
    monkeypatch.setattr("core.recipes.base.create_model", must_not_run)
    user = tmp_path / "user.yaml"
    user.write_text("lr: abc\n")
    with pytest.raises(ConfigError, match=r"^lr: expected a number, got 'abc'$"):
        main(["--recipe", "mets", "--data", "synthetic", "--config", str(user), "--out", str(tmp_path / "r")])
    assert not (tmp_path / "r").exists()
    with pytest.raises(ConfigError, match=r"^recipe_options.hard_negatives: expected an integer, got 'two'$"):
        main(["--recipe", "mets", "--data", "synthetic", "--set", "hard_negatives=two", "--out", str(tmp_path / "r")])


def test_unknown_recipe_option_is_refused_with_its_name_on_load(tmp_path):
    with pytest.raises(ConfigError, match="mask_ratio"):
        resolve_config(_args(["--recipe", "mets", "--out", str(tmp_path), "--set", "mask_ratio=0.5"]))
