"""Benchmark training throughput (samples/s) of each recipe with its shipped configuration, on this machine.

For every recipe the model and recipe options come from ``core/configs/recipes/<recipe>.yaml`` (the same resolution
as ``python -m core train``); batches are synthetic ECG-report pairs of the model's input size, so the figure is the
optimisation step alone (forward, losses, backward, AdamW), without data loading, validation or checkpointing.

    python -m bench.bench_train                      # all recipes, shipped batch size
    python -m bench.bench_train --recipes mets --steps 10 --batch-size 16 --threads 2

Prints one JSON line per recipe and a table at the end.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time

import torch

logger = logging.getLogger("bench_train")


def bench_recipe(name: str, *, steps: int, warmup: int, batch_size: int | None) -> dict:
    """Time ``steps`` optimisation steps (after ``warmup`` untimed ones) of a recipe; returns the figures."""
    from core.recipes import create_recipe
    from core.recipes.data import SyntheticECGText, dataset_texts
    from core.train import param_groups, resolve_config

    cfg = resolve_config(argparse.Namespace(recipe=name, config=None, out="unused", set=[], model=None))
    bs = batch_size or cfg.batch_size
    torch.manual_seed(0)
    recipe = create_recipe(name, {**cfg.recipe_options, "enrich": False} if name == "fgclep" else cfg.recipe_options)
    model = recipe.build_model("cpu")
    data = SyntheticECGText(max(bs * 4, 64), model.preprocess_cfg.n_samples, fs_hz=model.preprocess_cfg.fs_hz)
    recipe.prepare(model, dataset_texts(data))
    optimizer = torch.optim.AdamW(param_groups(model, cfg.weight_decay, cfg.pretrained_lr_scale), lr=cfg.lr)
    for group in optimizer.param_groups:
        group["lr"] = cfg.lr * group["lr_scale"]
    trainable = [p for p in model.parameters() if p.requires_grad]
    model.train()

    def batch(step: int) -> dict:
        items = [data[(step * bs + i) % len(data)] for i in range(bs)]
        return {
            "signal": torch.stack([it["signal"] for it in items]),
            "lead_mask": torch.stack([it["lead_mask"] for it in items]),
            "text": [it["text"] for it in items],
        }

    def one_step(step: int) -> None:
        losses = recipe.compute_losses(model, batch(step), step=step, seed=0)
        total = recipe.weighted_total(losses)
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(trainable, cfg.grad_clip)
        optimizer.step()
        model.clamp_logit_scale_()

    for s in range(warmup):
        one_step(s)
    start = time.perf_counter()
    for s in range(warmup, warmup + steps):
        one_step(s)
    elapsed = time.perf_counter() - start
    return {
        "recipe": name,
        "model": recipe.cfg.model,
        "batch_size": bs,
        "steps": steps,
        "trainable_params": sum(p.numel() for p in trainable),
        "s_per_step": elapsed / steps,
        "samples_per_s": steps * bs / elapsed,
        "threads": torch.get_num_threads(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", default="mets,fgclep,dbeta", help="comma-separated recipe names")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per recipe")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--batch-size", type=int, help="override the shipped batch size")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    for name in args.recipes.split(","):
        row = bench_recipe(name.strip(), steps=args.steps, warmup=args.warmup, batch_size=args.batch_size)
        print(json.dumps(row), flush=True)
        rows.append(row)
    print(
        f"\ntraining throughput on {platform.processor() or platform.machine()}, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads (CPU, fp32):"
    )
    print(f"{'recipe':8} {'model':18} {'batch':>5} {'params':>10} {'s/step':>8} {'samples/s':>10}")
    for r in rows:
        print(
            f"{r['recipe']:8} {r['model']:18} {r['batch_size']:5d} {r['trainable_params']:10,d} "
            f"{r['s_per_step']:8.2f} {r['samples_per_s']:10.1f}"
        )


if __name__ == "__main__":
    main()
