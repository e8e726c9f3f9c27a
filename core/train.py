"""Trainer: ``python -m core train --recipe {mets,dbeta,fgclep} --data ptbxl[,ludb,cinc2021] --out DIR``.

One loop for every recipe (the recipe supplies model, losses and batch extras; see :mod:`core.recipes`):

* device: CUDA when available, else CPU; bfloat16 autocast on CUDA (``--precision bf16`` forces it on a CPU too).
* distributed: ``torchrun --nproc_per_node N -m core train ...`` (NCCL on CUDA, Gloo on CPU); every rank reads its
  shard through a ``DistributedSampler`` (``set_epoch`` each epoch); ``--batch-size`` is per process; only rank 0
  logs and writes.
* optimisation: AdamW (no weight decay on biases, norms and the logit scale/bias), linear warm-up then cosine decay
  as a pure function of the step (:func:`get_lr`), gradient clipping, logit scale clamped to ln(100).
* outputs in ``--out``: ``params.yaml`` (the resolved configuration), ``metrics.jsonl`` (``train/*`` every
  ``--log-every`` steps, ``val/*`` after every epoch: the datasets' ``val`` splits), ``latest/`` (the model via
  :func:`core.checkpoint.save_checkpoint` plus ``train_state.safetensors`` + ``train_state.json``: optimiser, step,
  RNG; no pickle), replaced atomically after every epoch, and ``final/`` (the exported model).
* ``--augment``: training batches (never validation ones) are perturbed by :class:`core.data.augment.ECGAugment`
  with a generator seeded from (seed, rank, step), so resuming stays exact.
* ``--keep-best`` / ``--patience N``: the epoch with the lowest validation loss is kept in ``best/`` and exported as
  ``final/`` (its epoch in ``config.json`` -> ``train.best_epoch``), also when ``--max-minutes`` ends the run
  (``train.stopped_by``); training stops early after ``N`` epochs without improvement.
* ``--resume latest`` continues from ``OUT/latest`` exactly where it stopped (same batches, masks and negatives).

Option precedence: built-in defaults < ``core/configs/recipes/<recipe>.yaml`` < ``--config FILE`` < command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import os
import shutil
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import yaml
from torch.utils.data import DataLoader, DistributedSampler

from core.config import coerce_options

log = logging.getLogger(__name__)

RECIPE_CONFIG_DIR = Path(__file__).resolve().parent / "configs" / "recipes"
TRAIN_STATE_TENSORS = "train_state.safetensors"
TRAIN_STATE_JSON = "train_state.json"
VAL_STEP = 2**31 - 1  # seeds validation masks/negatives: the same every epoch, so val losses are comparable


@dataclass
class TrainConfig:
    """Resolved training options (see ``--help`` for each)."""

    recipe: str = "mets"
    data: list[str] = field(default_factory=lambda: ["ptbxl"])
    data_root: str | None = None
    out: str = "runs/train"
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    min_lr: float = 1e-5
    warmup_steps: int = 50
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.98
    eps: float = 1e-6
    grad_clip: float = 1.0
    pretrained_lr_scale: float = 1.0
    seed: int = 0
    workers: int = 0
    device: str | None = None
    precision: str = "auto"
    threads: int | None = None
    resume: str | None = None
    max_steps: int | None = None
    stop_after_steps: int | None = None
    max_minutes: float | None = None
    limit: int | None = None
    log_every: int = 10
    val: bool = True
    cache_dir: str | None = None
    find_unused_parameters: bool = False
    prepare_only: bool = False
    export_dtype: str = "float32"
    augment: bool = False
    augment_options: dict[str, Any] = field(default_factory=dict)
    keep_best: bool = False
    patience: int | None = None
    recipe_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ---- command line --------------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Training options; every default is ``None`` so YAML files can supply them (see the module docstring)."""
    p = parser
    p.add_argument("--recipe", required=True, help="mets, dbeta or fgclep")
    p.add_argument("--data", help="comma-separated catalogs (ptbxl,ludb,cinc2021,...) or 'synthetic'")
    p.add_argument("--data-root", help="dataset root for all (a PhysioNet files/ root) or name=DIR,name=DIR")
    p.add_argument("--out", required=True, help="run directory (params.yaml, metrics.jsonl, latest/, final/)")
    p.add_argument("--config", help="YAML file of option defaults (keys as in params.yaml)")
    p.add_argument("--model", help="model config name (core/configs/models/<name>.json)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe option (YAML value)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int, help="per process")
    p.add_argument("--lr", type=float, help="peak learning rate")
    p.add_argument("--min-lr", type=float, help="learning rate at the end of the cosine decay")
    p.add_argument("--warmup-steps", type=int)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--grad-clip", type=float, help="max gradient norm (0 disables)")
    p.add_argument(
        "--pretrained-lr-scale", type=float, help="learning-rate multiplier for fine-tuned language-model weights"
    )
    p.add_argument("--seed", type=int)
    p.add_argument("--workers", type=int, help="DataLoader worker processes")
    p.add_argument("--device", help="cpu, cuda (default: cuda when available)")
    p.add_argument(
        "--precision", choices=["auto", "bf16", "fp32"], help="auto = bf16 autocast on CUDA only; bf16 = on any device"
    )
    p.add_argument(
        "--export-dtype", choices=["float32", "float16", "bfloat16"], help="storage dtype of the exported final/ model"
    )
    p.add_argument("--threads", type=int, help="torch.set_num_threads (CPU)")
    p.add_argument("--resume", help="'latest' (OUT/latest) or a run-state directory")
    p.add_argument("--max-steps", type=int, help="cap the total steps (the schedule spans them)")
    p.add_argument("--stop-after-steps", type=int, help="save and stop after this many steps; schedule unchanged")
    p.add_argument("--max-minutes", type=float, help="save and stop after this wall time; schedule unchanged")
    p.add_argument("--limit", type=int, help="at most N records per split (smoke runs)")
    p.add_argument("--log-every", type=int)
    p.add_argument("--val", action=argparse.BooleanOptionalAction, default=None, help="validate every epoch")
    p.add_argument(
        "--augment", action=argparse.BooleanOptionalAction, default=None, help="augment training batches (not val)"
    )
    p.add_argument(
        "--keep-best",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="export the epoch with the lowest validation loss as final/ (kept in OUT/best meanwhile)",
    )
    p.add_argument("--patience", type=int, help="stop after this many epochs without a lower validation loss")
    p.add_argument("--cache-dir", help="signal / measurement cache (default: the data cache)")
    p.add_argument(
        "--prepare-only", action="store_true", default=None, help="build the caches (signals, measurements) and exit"
    )


def _read_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of options")
    return data


def resolve_config(args: argparse.Namespace) -> TrainConfig:
    """Merge defaults, the recipe YAML, ``--config`` and the command line into a :class:`TrainConfig`."""
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    merged: dict[str, Any] = {"recipe": args.recipe}
    recipe_opts: dict[str, Any] = {}
    layers = [RECIPE_CONFIG_DIR / f"{args.recipe}.yaml"]
    if args.config:
        layers.append(Path(args.config).expanduser())
    for path in layers:
        if not path.is_file():
            if path == layers[0]:
                continue
            raise FileNotFoundError(f"--config {path} does not exist")
        data = _read_yaml(path)
        recipe_opts.update(data.pop("recipe_options", None) or {})
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{path}: unknown option(s) {unknown}")
        merged.update(data)
    cli = {k: v for k, v in vars(args).items() if k in known and v is not None and k != "recipe"}
    merged.update(cli)
    if isinstance(merged.get("data"), str):
        merged["data"] = [d.strip() for d in merged["data"].split(",") if d.strip()]
    if getattr(args, "model", None):
        recipe_opts["model"] = args.model
    for item in getattr(args, "set", None) or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        recipe_opts[key.strip()] = yaml.safe_load(value)
    from core.recipes import get_recipe_class  # local like train()'s project imports (core.models: 7.5 s to import)

    # Types are checked (and "1e-3" coerced) here, before any data or model is built; errors name the key.
    merged["recipe_options"] = coerce_options(
        get_recipe_class(merged["recipe"]).config_cls, recipe_opts, prefix="recipe_options."
    )
    return TrainConfig(**coerce_options(TrainConfig, merged))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m core.train ...`` (the same options as ``python -m core train``)."""
    parser = argparse.ArgumentParser(prog="python -m core train", description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Entry point of the ``train`` command; returns the exit code."""
    cfg = resolve_config(args)
    train(cfg)
    return 0


# ---- schedule and optimiser ----------------------------------------------------------------------------------------


def get_lr(step: int, *, lr: float, min_lr: float, warmup_steps: int, total_steps: int) -> float:
    """Learning rate at ``step``: linear warm-up to ``lr`` over ``warmup_steps``, then cosine decay to ``min_lr`` at
    ``total_steps`` (nanoGPT's schedule, a pure function so a resumed run needs only the step)."""
    if warmup_steps > 0 and step < warmup_steps:
        return lr * (step + 1) / warmup_steps
    if step >= total_steps:
        return min_lr
    span = max(total_steps - warmup_steps, 1)
    progress = (step - warmup_steps) / span
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (lr - min_lr)


PRETRAINED_PREFIX = "text.model."  # the language model's own (pre-trained) weights inside an ECGTextModel


def param_groups(model: nn.Module, weight_decay: float, pretrained_lr_scale: float = 1.0) -> list[dict[str, Any]]:
    """AdamW groups: weight decay on weight matrices only (not on biases, norms, embeddings of size 1-D, logit
    scale/bias), as open_clip does. Frozen parameters are left out.

    Fine-tuned language-model weights (``text.model.*``) get their own groups when ``pretrained_lr_scale`` is not 1:
    each group's ``lr_scale`` multiplies the scheduled learning rate, so pre-trained layers can move more slowly than
    the layers trained from scratch (BERT-style fine-tuning rates are ~10x below those of new layers).
    """
    groups: dict[tuple[bool, float], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        decays = not (param.ndim < 2 or "logit_" in name or "norm" in name or name.endswith(".bias"))
        scale = pretrained_lr_scale if name.startswith(PRETRAINED_PREFIX) else 1.0
        groups.setdefault((decays, scale), []).append(param)
    order = sorted(groups, key=lambda key: (key[1] != 1.0, not key[0], key[1]))
    return [
        {"params": groups[key], "weight_decay": weight_decay if key[0] else 0.0, "lr_scale": key[1]} for key in order
    ]


# ---- run state (no pickle) -----------------------------------------------------------------------------------------


def save_train_state(
    out_dir: Path, optimizer: torch.optim.Optimizer, scalars: dict[str, Any], rng: dict[str, torch.Tensor]
) -> None:
    """Write the optimiser tensors and RNG states to safetensors and the scalars to JSON."""
    from safetensors.torch import save_file

    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for idx, entry in state["state"].items():
        for key, value in entry.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{idx}.{key}"] = value.detach().to("cpu").contiguous()
            else:
                plain.setdefault(str(idx), {})[key] = value
    for key, value in rng.items():
        tensors[f"rng.{key}"] = value.detach().to("cpu").contiguous()
    save_file(tensors, str(out_dir / TRAIN_STATE_TENSORS))
    payload = {**scalars, "optimizer_param_groups": state["param_groups"], "optimizer_plain_state": plain}
    (out_dir / TRAIN_STATE_JSON).write_text(json.dumps(payload, indent=1), encoding="utf-8")


def load_train_state(state_dir: Path, optimizer: torch.optim.Optimizer) -> tuple[dict[str, Any], dict[str, Any]]:
    """Restore the optimiser from :func:`save_train_state`'s files; returns ``(scalars, rng tensors)``."""
    from safetensors.torch import load_file

    payload = json.loads((state_dir / TRAIN_STATE_JSON).read_text(encoding="utf-8"))
    tensors = load_file(str(state_dir / TRAIN_STATE_TENSORS))
    opt_state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, idx, key = name.split(".", 2)
            opt_state.setdefault(int(idx), {})[key] = value
    for idx, entry in payload.pop("optimizer_plain_state").items():
        opt_state.setdefault(int(idx), {}).update(entry)
    groups = payload.pop("optimizer_param_groups")
    optimizer.load_state_dict({"state": opt_state, "param_groups": groups})
    rng = {k[len("rng.") :]: v for k, v in tensors.items() if k.startswith("rng.")}
    return payload, rng


def _replace_dir(tmp: Path, final: Path) -> None:
    """Move a fully written ``tmp`` directory to ``final``; the previous ``final`` survives until the swap."""
    old = final.with_name(final.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def resolve_resume(spec: str, out: Path) -> Path:
    """The run-state directory named by ``--resume`` (``latest`` = ``OUT/latest``, falling back to the copy kept
    during a swap)."""
    path = out / "latest" if spec == "latest" else Path(spec).expanduser()
    if not (path / TRAIN_STATE_JSON).is_file():
        old = path.with_name(path.name + ".old")
        if (old / TRAIN_STATE_JSON).is_file():
            return old
        raise FileNotFoundError(f"--resume {spec}: no run state in {path} (expected {TRAIN_STATE_JSON})")
    return path


# ---- the loop ------------------------------------------------------------------------------------------------------


class TrainStep(nn.Module):
    """The model plus the recipe's loss computation, so DDP sees one ``forward`` per step."""

    def __init__(self, model: nn.Module, recipe: Any, seed: int, rank: int) -> None:
        super().__init__()
        self.model = model
        self.recipe = recipe
        self.seed = seed
        self.rank = rank

    def forward(self, batch: dict[str, Any], step: int) -> dict[str, torch.Tensor]:
        return self.recipe.compute_losses(self.model, batch, step=step, rank=self.rank, seed=self.seed)


class ResumableSampler(DistributedSampler):
    """``DistributedSampler`` that can start part-way through an epoch (after ``start`` of this rank's indices)."""

    start: int = 0

    def __iter__(self) -> Iterator[int]:
        indices = list(super().__iter__())
        return iter(indices[self.start :])

    def __len__(self) -> int:
        return self.num_samples - self.start


def amp_enabled(precision: str, device: torch.device) -> bool:
    """Whether to run under bfloat16 autocast: ``auto`` on CUDA only (on CPU bf16 is slower for these models),
    ``bf16`` on any device (so the mixed-precision path can be checked on a CPU), ``fp32`` never."""
    if precision not in ("auto", "bf16", "fp32"):
        raise ValueError(f"precision must be auto, bf16 or fp32, got {precision!r}")
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def _to_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def rng_states(device: torch.device) -> dict[str, torch.Tensor]:
    """This process's global RNG states (what dropout draws from): the CPU generator's, plus the CUDA device's when
    computing on one. Masks and negatives do not need them (they come from per-step generators)."""
    states = {"torch": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def gather_rng_states(device: torch.device) -> dict[str, torch.Tensor]:
    """Every rank's :func:`rng_states`, stacked by rank, on the CPU (for the run state rank 0 writes).

    The collective runs on ``device``: NCCL cannot gather CPU tensors, so the bytes travel as a device tensor.
    """
    from core.distributed import all_gather_no_grad

    return {k: all_gather_no_grad(v[None].to(device)).cpu() for k, v in rng_states(device).items()}


def restore_rng_states(rng: dict[str, torch.Tensor], rank: int, world_size: int, device: torch.device) -> bool:
    """Set this rank's global RNG states from a run state saved by :func:`gather_rng_states`; ``False`` (nothing set)
    when it was saved for another number of processes or without this device's states."""
    wanted = rng_states(device).keys()
    if any(k not in rng or rng[k].shape[0] != world_size for k in wanted):
        return False
    torch.set_rng_state(rng["torch"][rank].clone())
    if "cuda" in wanted:
        torch.cuda.set_rng_state(rng["cuda"][rank].clone(), device)
    return True


def train(cfg: TrainConfig) -> Path:
    """Run training as configured; returns the exported ``OUT/final`` directory."""
    from core.checkpoint import load_weights, save_checkpoint, storage_dtype
    from core.distributed import all_reduce_mean, barrier, cleanup, init_distributed
    from core.models.device import autocast
    from core.recipes import create_recipe
    from core.recipes.data import build_datasets, dataset_texts

    started = time.perf_counter()
    dist_info = init_distributed(cfg.device)
    rank, world_size, device = dist_info.rank, dist_info.world_size, dist_info.device
    if not dist_info.is_master:
        logging.getLogger("core").setLevel(logging.WARNING)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(cfg.out).expanduser()
    if dist_info.is_master:
        out.mkdir(parents=True, exist_ok=True)
        (out / "params.yaml").write_text(yaml.safe_dump(cfg.to_dict(), sort_keys=False), encoding="utf-8")
    use_amp = amp_enabled(cfg.precision, device)
    storage_dtype(cfg.export_dtype)  # a bad --export-dtype fails now, not after training

    # Same seed everywhere for the model (identical initial weights), then a per-rank seed for everything else.
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    recipe = create_recipe(cfg.recipe, cfg.recipe_options)
    model = recipe.build_model(device)
    torch.manual_seed(cfg.seed + rank)
    np.random.seed(cfg.seed + rank)

    cache_dir = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else None
    train_ds, val_ds = build_datasets(
        cfg.data,
        recipe,
        model.preprocess_cfg,
        data_root=cfg.data_root,
        cache_dir=cache_dir,
        limit=cfg.limit,
        seed=cfg.seed,
        is_master=dist_info.is_master,
    )
    if cfg.prepare_only:
        log.info("caches ready (%d training, %d validation records); --prepare-only", len(train_ds), len(val_ds))
        return out
    recipe.prepare(model, dataset_texts(train_ds) + dataset_texts(val_ds))

    per_rank = len(train_ds) // world_size
    batch_size = cfg.batch_size
    if per_rank < batch_size:
        batch_size = max(per_rank, 1)
        log.warning("only %d training samples per process: batch size lowered to %d", per_rank, batch_size)
    sampler = ResumableSampler(train_ds, num_replicas=world_size, rank=rank, shuffle=True, seed=cfg.seed)
    loader_kwargs: dict[str, Any] = {"num_workers": cfg.workers, "pin_memory": device.type == "cuda"}

    def loader_generator(epoch: int) -> torch.Generator:
        # Each DataLoader iteration draws its workers' base seed from a generator; left to the global one, that draw
        # would shift the dropout stream whenever a resumed run opens its loader mid-epoch.
        return torch.Generator().manual_seed(cfg.seed * 100_003 + rank * 1_009 + epoch)

    steps_per_epoch = per_rank // batch_size
    total_steps = cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total_steps = min(total_steps, cfg.max_steps)
    if total_steps <= 0:
        raise ValueError(f"nothing to train: {len(train_ds)} samples, batch size {batch_size}, {cfg.epochs} epochs")
    keep_best, patience = cfg.keep_best, cfg.patience
    if (keep_best or patience) and not cfg.val:
        # The recipe YAMLs ask for both; a run without validation (a smoke test, --no-val) has no epoch to prefer.
        log.warning("no validation: --keep-best and --patience are ignored, the last epoch is exported")
        keep_best, patience = False, None
    augmenter = None
    if cfg.augment:
        from core.data.augment import AugmentConfig, ECGAugment, augment_generator

        augmenter = ECGAugment(model.preprocess_cfg.fs_hz, AugmentConfig.from_dict(cfg.augment_options))

    step_module: nn.Module = TrainStep(model, recipe, cfg.seed, rank)
    if world_size > 1:
        step_module = nn.parallel.DistributedDataParallel(
            step_module,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=cfg.find_unused_parameters,
        )
    optimizer = torch.optim.AdamW(
        param_groups(model, cfg.weight_decay, cfg.pretrained_lr_scale),
        lr=cfg.lr,
        betas=(cfg.beta1, cfg.beta2),
        eps=cfg.eps,
    )
    trainable = [p for p in model.parameters() if p.requires_grad]

    step = 0
    best = BestTracker()
    if cfg.resume:
        state_dir = resolve_resume(cfg.resume, out)
        load_weights(model, state_dir)
        scalars, rng = load_train_state(state_dir, optimizer)
        step = int(scalars["step"])
        best = BestTracker.from_dict(scalars.get("best"))
        if not restore_rng_states(rng, rank, world_size, device):
            log.warning("RNG state not restored (saved for another number of processes or another device type)")
        log.info("resumed from %s at step %d", state_dir, step)

    def save_state(epoch: int, target: Path) -> None:
        # Every rank contributes its RNG state; rank 0 writes.
        rng_all = gather_rng_states(device)
        if not dist_info.is_master:
            return
        tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        extra = {"recipe": cfg.recipe, "recipe_config": recipe.cfg.to_dict(), "step": step, "epoch": epoch}
        save_checkpoint(model, tmp, extra=extra)
        scalars = {"step": step, "epoch": epoch, "world_size": world_size, "best": best.to_dict()}
        save_train_state(tmp, optimizer, scalars, rng_all)
        _replace_dir(tmp, target)

    def write_metrics(row: dict[str, Any]) -> None:
        if dist_info.is_master:
            with open(out / "metrics.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")

    def validate(epoch: int) -> float | None:
        """Validation losses of the model now (logged); returns the total loss, the same on every rank."""
        val_sampler = DistributedSampler(val_ds, num_replicas=world_size, rank=rank, shuffle=False, drop_last=True)
        loader = DataLoader(
            val_ds, batch_size=batch_size, sampler=val_sampler, generator=loader_generator(-1), **loader_kwargs
        )
        sums: dict[str, float] = {}
        batches = 0
        model.eval()
        with torch.no_grad(), autocast(device, enabled=use_amp):
            for batch in loader:
                batch = _to_device(batch, device)
                losses = recipe.compute_losses(model, batch, step=VAL_STEP, rank=rank, seed=cfg.seed)
                losses = {**losses, "loss": recipe.weighted_total(losses)}
                for k, v in losses.items():
                    sums[k] = sums.get(k, 0.0) + float(all_reduce_mean(v.float()))
                batches += 1
        model.train()
        if not batches:
            return None
        row = {"step": step, "epoch": epoch, **{f"val/{k}": v / batches for k, v in sums.items()}}
        write_metrics(row)
        log.info("epoch %d val: %s", epoch, _fmt(row, "val/"))
        return row["val/loss"]

    from tqdm import tqdm

    log.info(
        "recipe %s, model %s: %d trainable parameters; %d steps (%d per epoch), %d x %d samples per step, device %s%s",
        cfg.recipe,
        recipe.cfg.model,
        sum(p.numel() for p in trainable),
        total_steps,
        steps_per_epoch,
        world_size,
        batch_size,
        device,
        ", bf16 autocast" if use_amp else "",
    )
    model.train()
    stop = early_stopped = timed_out = False
    epoch = step // steps_per_epoch
    progress = tqdm(total=total_steps, initial=step, disable=not dist_info.is_master, desc=f"train {cfg.recipe}")
    window_start, window_samples = time.perf_counter(), 0
    while step < total_steps and not stop:
        sampler.set_epoch(epoch)
        sampler.start = (step - epoch * steps_per_epoch) * batch_size
        loader = DataLoader(
            train_ds,
            batch_size=batch_size,
            sampler=sampler,
            drop_last=True,
            generator=loader_generator(epoch),
            **loader_kwargs,
        )
        for batch in loader:
            lr = get_lr(step, lr=cfg.lr, min_lr=cfg.min_lr, warmup_steps=cfg.warmup_steps, total_steps=total_steps)
            for group in optimizer.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)
            batch = _to_device(batch, device)
            if augmenter is not None:
                batch["signal"], batch["lead_mask"] = augmenter(
                    batch["signal"], batch.get("lead_mask"), augment_generator(cfg.seed, rank, step, device)
                )
            with autocast(device, enabled=use_amp):
                losses = step_module(batch, step)
                total = recipe.weighted_total(losses)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(trainable, cfg.grad_clip) if cfg.grad_clip > 0 else None
            optimizer.step()
            model.clamp_logit_scale_()
            step += 1
            window_samples += batch_size * world_size
            progress.update(1)
            if step % cfg.log_every == 0 or step == total_steps:
                logged = {k: float(all_reduce_mean(v.float())) for k, v in {**losses, "loss": total}.items()}
                elapsed = time.perf_counter() - window_start
                row = {
                    "step": step,
                    "epoch": epoch,
                    **{f"train/{k}": v for k, v in logged.items()},
                    "train/lr": lr,
                    "train/logit_scale": float(model.logit_scale.detach().exp()),
                    "train/samples_per_s": window_samples / max(elapsed, 1e-9),
                }
                if grad_norm is not None:
                    row["train/grad_norm"] = float(grad_norm)
                write_metrics(row)
                progress.set_postfix(loss=f"{logged['loss']:.4f}")
                window_start, window_samples = time.perf_counter(), 0
            out_of_time = cfg.max_minutes is not None and (time.perf_counter() - started) / 60 >= cfg.max_minutes
            if cfg.max_minutes is not None and world_size > 1:
                flag = torch.tensor(float(out_of_time), device=device)
                out_of_time = bool(all_reduce_mean(flag) > 0)
            if step >= total_steps or (cfg.stop_after_steps is not None and step >= cfg.stop_after_steps):
                stop = stop or step < total_steps
                break
            if out_of_time:
                log.warning("stopping at step %d: --max-minutes %.1f reached", step, cfg.max_minutes)
                stop = timed_out = True
                break
        epoch_done = step % steps_per_epoch == 0 and step > 0
        if epoch_done and cfg.val:
            val_loss = validate(epoch)
            if val_loss is not None and best.update(val_loss, epoch + 1):
                if keep_best and dist_info.is_master:
                    tmp = out / f".best.tmp-{os.getpid()}"
                    shutil.rmtree(tmp, ignore_errors=True)
                    save_checkpoint(model, tmp, extra={"recipe": cfg.recipe, "epoch": epoch + 1, "val_loss": val_loss})
                    _replace_dir(tmp, out / "best")
            if patience is not None and best.bad_epochs >= patience and step < total_steps:
                log.info("early stop after epoch %d: no lower validation loss for %d epochs", epoch + 1, patience)
                stop = early_stopped = True
        save_state(epoch + 1 if epoch_done else epoch, out / "latest")
        barrier()
        if epoch_done:
            epoch += 1
    progress.close()

    final = out / "final"
    # A run out of time still exports its best epoch when it keeps one (latest/ stays resumable); otherwise only a
    # run that completed its schedule or stopped early exports.
    finished = step >= total_steps or early_stopped or (timed_out and keep_best and best.epoch is not None)
    if dist_info.is_master and finished:
        tmp = final.with_name(f".final.tmp-{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        summary: dict[str, Any] = {
            "data": cfg.data,
            "steps": step,
            "epochs": cfg.epochs,
            "epochs_run": step // steps_per_epoch,
            "batch_size": batch_size * world_size,
            "augment": cfg.augment,
            **best.to_dict(),
            "early_stopped": early_stopped,
            "stopped_by": "patience" if early_stopped else "max_minutes" if step < total_steps else "schedule",
        }
        if keep_best and best.epoch is not None:
            load_weights(model, out / "best")
            summary["exported_epoch"] = best.epoch
            write_metrics({"step": step, "epoch": epoch, "best/epoch": best.epoch, "best/val_loss": best.loss})
            log.info("exporting the best epoch, %d (validation loss %.4f)", best.epoch, best.loss)
        extra = {"recipe": cfg.recipe, "recipe_config": recipe.cfg.to_dict(), "train": summary}
        if provenance := recipe.provenance():
            extra["provenance"] = provenance
        save_checkpoint(model, tmp, extra=extra, dtype=cfg.export_dtype)
        _replace_dir(tmp, final)
        log.info("exported %s (%.1f s)", final, time.perf_counter() - started)
    barrier()
    if world_size > 1:
        cleanup()
    return final


@dataclass
class BestTracker:
    """Lowest validation loss so far, the epoch (1-based count of epochs trained) it came from, and how many
    epochs have passed since (part of the run state, so a resumed run stops where an uninterrupted one would)."""

    loss: float | None = None
    epoch: int | None = None
    bad_epochs: int = 0

    def update(self, loss: float, epoch: int) -> bool:
        """Record epoch ``epoch``'s validation loss; ``True`` when it is the lowest so far."""
        if self.loss is None or loss < self.loss:
            self.loss, self.epoch, self.bad_epochs = loss, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    def to_dict(self) -> dict[str, Any]:
        return {"best_val_loss": self.loss, "best_epoch": self.epoch, "epochs_since_best": self.bad_epochs}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> BestTracker:
        data = data or {}
        return cls(data.get("best_val_loss"), data.get("best_epoch"), int(data.get("epochs_since_best", 0)))


def _fmt(row: dict[str, Any], prefix: str) -> str:
    return ", ".join(f"{k[len(prefix) :]}={v:.4f}" for k, v in row.items() if k.startswith(prefix))


if __name__ == "__main__":
    sys.exit(main())
