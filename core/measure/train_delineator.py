"""Train the U-Net delineator on LUDB with record-level (= patient-level) k-fold cross-validation.

``python -m core.measure.train_delineator --ludb DIR --out checkpoints/delineator``

LUDB has one record per patient, so splitting by record is splitting by patient. For each fold ``k`` a model is
trained on the other folds and saved as ``fold{k}.safetensors``; validation (``python -m core validate-measurements``)
measures every record with the model that never saw it. Then one model is trained on all 200 records
(``model.safetensors``) for inference. ``config.json`` records the architecture, the fold of every record, the
lead-vote thresholds and the training settings.

Training sees single leads at 250 Hz: random 4-second crops inside each lead's annotated stretch (samples outside it
are ignored by the loss), amplitude scaling, baseline wander, noise, and a 100 Hz version of the record (down- then
up-sampled) 30% of the time so the network also works on 100 Hz inputs such as PTB-XL's ``records100``.

**Long PR** (:func:`move_p_earlier`, since measure v2.4): LUDB has few beats whose P wave rides on the preceding T
wave, as it does in first-degree AV block, and a network trained on LUDB alone labelled such P waves T or nothing
(PR missing on 15 of 72 1AVB training records of PTB-XL ``ptbxl_more``). In :data:`P_MOVE_PROBABILITY` of the crops,
every P wave followed by its QRS is moved 40-160 ms earlier (one shift per crop, a consistent long PR), superimposed
on whatever lies there, and labelled P.

**Fast rate** (:func:`shorten_tp`, since measure v2.6): LUDB's rhythms are slow (median 64 bpm, 90 % under 86 bpm), and
a network trained on them found no P wave in most beats of a sinus tachycardia, where the P wave follows the T wave with
little or no TP segment between them: PR was missing on 27 of 74 sinus-tachycardia training records of ``ptbxl_more``.
In :data:`TP_CUT_PROBABILITY` of the crops the TP segments of a longer stretch are cut to 0-50 % of their length (one
share per crop) and the first 4 seconds of the result are used, every wave as annotated: LUDB's median rate becomes 79
bpm with half of each TP kept and 103 bpm with none (90th percentile 116 bpm). Chosen on training folds only
(``ptbxl_more`` folds 1-6, confirmed on 7-8): PR measured on 55 of 57 and 17 of 17 sinus tachycardias instead of 36 and
11; 1AVB PR over 200 ms on 58 of 69 instead of 55 of 65, NORM 23 of 886 instead of 22 of 876, QRS and heart rate
unchanged. One 1AVB record of the 500-record folder, a left bundle branch block at 98 bpm (``ptbxl/00346``), lost its
long PR (256 -> 186 ms).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from core.measure.delineator import CONFIG_NAME, FINAL_WEIGHTS, prepare_lead_signals
from core.measure.ludb import IGNORE, LUDB_FS_HZ, N_RECORDS, default_ludb_dir, read_annotation, read_signal
from core.measure.unet import BACKGROUND, P_WAVE, QRS, T_WAVE, UNet1d, UNetConfig
from core.measure.waves import runs

logger = logging.getLogger(__name__)

P_MOVE_PROBABILITY = 0.4  # share of training crops whose P waves are moved earlier (module docstring)
P_MOVE_MS = (40.0, 160.0)  # range of the shift
TP_CUT_PROBABILITY = 0.3  # share of training crops whose TP segments are shortened (module docstring)
TP_KEEP = (0.0, 0.5)  # share of each TP segment kept
_TP_RAMP = 3  # samples (12 ms at 250 Hz) kept after a cut, where the trace is bent back to continuity


def make_folds(n_records: int = N_RECORDS, k: int = 5, seed: int = 0) -> dict[int, int]:
    """Record number (1-based) -> fold (0..k-1), a seeded permutation cut into k equal parts."""
    perm = np.random.default_rng(seed).permutation(np.arange(1, n_records + 1))
    return {int(r): i % k for i, r in enumerate(perm)}


def load_ludb_arrays(ludb_dir: Path, cfg: UNetConfig) -> dict[str, np.ndarray]:
    """All records prepared for the network.

    Returns:
        ``x500`` and ``x100``: float32 (200, 12, T) inputs made from the 500 Hz record and from a 100 Hz copy;
        ``y``: int64 (200, 12, T) labels at the network rate (:data:`IGNORE` outside the annotated stretch);
        ``spans``: (200, 12, 2) annotated stretch per lead at the network rate.
    """
    from scipy import signal as sps

    step = int(round(LUDB_FS_HZ / cfg.fs_hz))
    x500, x100, ys, spans = [], [], [], []
    for record in range(1, N_RECORDS + 1):
        sig = read_signal(ludb_dir, record)
        ann = read_annotation(ludb_dir, record, n_samples=sig.shape[1])
        x500.append(prepare_lead_signals(sig, LUDB_FS_HZ, cfg))
        x100.append(prepare_lead_signals(sps.resample_poly(sig, 1, 5, axis=-1), 100.0, cfg))
        ys.append(ann.labels[:, ::step])
        spans.append(ann.spans // step)
    n = min(a.shape[-1] for a in x500 + x100)
    return {
        "x500": np.stack([a[:, :n] for a in x500]),
        "x100": np.stack([a[:, :n] for a in x100]),
        "y": np.stack([a[:, :n] for a in ys]),
        "spans": np.stack(spans),
    }


def move_p_earlier(x: np.ndarray, y: np.ndarray, shift: int) -> int:
    """Move every P wave that is followed by its QRS ``shift`` samples earlier, in place; returns how many moved.

    The P wave is taken as the signal minus a line between its edge samples; that line stays in its old place
    (labelled background: a longer PR segment) and the wave is added ``shift`` samples earlier on top of whatever is
    there (the TP segment or the T wave), labelled P. A P wave cut by the crop, or whose new place would reach a
    QRS or an unannotated sample, stays where it is.
    """
    moved = 0
    for on, off in runs(y == P_WAVE):
        if on == 0 or off >= len(y) - 1:
            continue
        labelled_after = np.flatnonzero(y[off + 1 :] != BACKGROUND)
        if not len(labelled_after) or y[off + 1 + labelled_after[0]] != QRS:
            continue
        new_on = on - shift
        if new_on < 0 or np.isin(y[new_on : off + 1], (QRS, IGNORE)).any():
            continue
        baseline = np.linspace(x[on], x[off], off - on + 1)
        wave = x[on : off + 1] - baseline
        x[on : off + 1], y[on : off + 1] = baseline, BACKGROUND
        x[new_on : off + 1 - shift] += wave
        y[new_on : off + 1 - shift] = P_WAVE
        moved += 1
    return moved


def shorten_tp(x: np.ndarray, y: np.ndarray, keep: float) -> tuple[np.ndarray, np.ndarray]:
    """Cut every TP segment (background between a T wave and the next P wave) to ``keep`` of its length.

    The middle of the segment goes; the kept samples after the cut are bent (a linear ramp) to meet the samples before
    it, so the trace stays continuous, and the next P wave is left as it was. Returns shorter copies: a faster
    rhythm whose P wave follows the T wave closely, as in sinus tachycardia.
    """
    drop = np.zeros(len(y), dtype=bool)
    joins = []  # (last sample before a cut, first after it, the next P onset), in the input's indexing
    p_onsets = [on for on, _ in runs(y == P_WAVE)]
    for _, t_off in runs(y == T_WAVE):
        following = [on for on in p_onsets if on > t_off + 1]
        if not following or (y[t_off + 1 : following[0]] != BACKGROUND).any():
            continue
        start, stop = t_off + 1, following[0]
        # at least _TP_RAMP samples stay after the cut, so the bend never reaches the P wave
        cut = min((stop - start) - int(round(keep * (stop - start))), stop - start - _TP_RAMP)
        if cut <= 0:
            continue
        first = start + (stop - start - cut) // 2
        drop[first : first + cut] = True
        joins.append((first - 1, first + cut, stop))
    out = x.copy()
    for before, after, p_on in joins:
        out[after:p_on] -= (out[after] - out[before]) * np.linspace(1.0, 0.0, p_on - after + 1)[:-1]
    return out[~drop], y[~drop]


def _batch(
    data: dict[str, np.ndarray],
    items: np.ndarray,
    crop: int,
    rng: np.random.Generator,
    p_move: float = P_MOVE_PROBABILITY,
    tp_cut: float = TP_CUT_PROBABILITY,
):
    """One augmented batch: x (B, 1, crop) float32, y (B, crop) int64."""
    n = data["y"].shape[-1]
    xs, ys = [], []
    for rec, lead in items:
        first, last = data["spans"][rec, lead]
        lo = int(np.clip(first - crop // 8, 0, n - crop))
        hi = int(np.clip(last - crop + crop // 8, lo, n - crop))
        start = int(rng.integers(lo, hi + 1))
        src = data["x100"] if rng.random() < 0.3 else data["x500"]
        x = src[rec, lead, start : start + crop].astype(np.float64)
        y = data["y"][rec, lead, start : start + crop].copy()
        if tp_cut and rng.random() < tp_cut:  # a faster rhythm from a longer stretch with its TP segments cut
            stretch = slice(start, min(n, start + 2 * crop))
            fast_x, fast_y = shorten_tp(
                src[rec, lead, stretch].astype(np.float64), data["y"][rec, lead, stretch], rng.uniform(*TP_KEEP)
            )
            if len(fast_y) >= crop:
                x, y = fast_x[:crop], fast_y[:crop].copy()
        if rng.random() < p_move:
            shift_ms = rng.uniform(*P_MOVE_MS)
            move_p_earlier(x, y, int(round(shift_ms * 250.0 / 1000.0)))
        x = x * rng.uniform(0.6, 1.6)
        t = np.arange(crop) / 250.0
        x = x + rng.uniform(0, 0.3) * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 2 * np.pi))
        x = x + rng.normal(0, rng.uniform(0, 0.05), crop)
        xs.append(x.astype(np.float32))
        ys.append(y)
    return np.stack(xs)[:, None, :], np.stack(ys)


def train_one(
    data: dict[str, np.ndarray],
    records: list[int],
    cfg: UNetConfig,
    *,
    epochs: int,
    batch_size: int = 32,
    crop: int = 1024,
    lr: float = 3e-3,
    seed: int = 0,
    p_move: float = P_MOVE_PROBABILITY,
    tp_cut: float = TP_CUT_PROBABILITY,
) -> UNet1d:
    """Train a fresh U-Net on the given records (1-based numbers), all 12 leads each."""
    import torch
    from torch.nn import functional as F

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = UNet1d(cfg)
    items = np.array([(r - 1, lead) for r in records for lead in range(data["y"].shape[1])])
    steps_per_epoch = int(np.ceil(len(items) / batch_size))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch)
    model.train()
    for epoch in range(epochs):
        order = rng.permutation(len(items))
        total, t0 = 0.0, time.time()
        for b in range(steps_per_epoch):
            x, y = _batch(data, items[order[b * batch_size : (b + 1) * batch_size]], crop, rng, p_move, tp_cut)
            loss = F.cross_entropy(model(torch.from_numpy(x)), torch.from_numpy(y), ignore_index=IGNORE)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        logger.info("epoch %d/%d loss %.4f (%.0f s)", epoch + 1, epochs, total / steps_per_epoch, time.time() - t0)
    model.eval()
    return model


def _save_weights(model: UNet1d, path: Path) -> None:
    from safetensors.torch import save_file

    tmp = path.with_suffix(".tmp")
    save_file({k: v.detach().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, path)


def write_config(out: Path, cfg: UNetConfig, folds: dict[int, int], training: dict) -> None:
    """Write ``config.json`` (atomically). How many leads must agree on a wave is code, not configuration:
    :func:`core.measure.waves.votes_needed`."""
    config = {
        "model_cfg": cfg.to_dict(),
        "classes": ["background", "P", "QRS", "T"],
        "folds": {str(r): f for r, f in sorted(folds.items())},
        "training": training,
        "final_weights": FINAL_WEIGHTS,
        "fold_weights": [f"fold{k}.safetensors" for k in sorted(set(folds.values()))],
    }
    tmp = out / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(config, indent=1) + "\n")
    os.replace(tmp, out / CONFIG_NAME)


def _share(text: str) -> float:
    """An argparse type for a probability: a number from 0 to 1, refused with its value otherwise."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{value:g} is not a share between 0 and 1")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ludb",
        type=Path,
        default=None,
        help="LUDB folder (holding data/); default: the data cache or a local ECG_DATA_MIRROR",
    )
    parser.add_argument("--out", type=Path, default=Path("checkpoints/delineator"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument(
        "--p-move", type=_share, default=P_MOVE_PROBABILITY, help="share of crops with P waves moved earlier (long PR)"
    )
    parser.add_argument(
        "--tp-cut",
        type=_share,
        default=TP_CUT_PROBABILITY,
        help="share of crops with TP segments cut (fast rate)",
    )
    parser.add_argument("--only", type=str, default="all", help="'all', 'final', or a comma list of fold numbers")
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)  # shared CPU
    ludb_dir = args.ludb or default_ludb_dir()
    if ludb_dir is None:
        raise SystemExit(
            "LUDB not found: pass --ludb DIR (the folder holding data/1.hea) or run `python -m core download ludb`"
        )
    cfg = UNetConfig(channels=[12, 16, 24, 32, 48], kernel_size=7)
    args.out.mkdir(parents=True, exist_ok=True)
    folds = make_folds(k=args.folds, seed=args.seed)
    training = {
        "data": "LUDB 1.0.1, 200 records x 12 leads, record-level folds",
        "epochs": args.epochs,
        "batch_size": 32,
        "crop_samples": 1024,
        "lr": 3e-3,
        "seed": args.seed,
        "p_move_probability": args.p_move,
        "p_move_ms": list(P_MOVE_MS),
        "tp_cut_probability": args.tp_cut,
        "tp_keep": list(TP_KEEP),
    }
    write_config(args.out, cfg, folds, training)
    t0 = time.time()
    logger.info("loading LUDB from %s", ludb_dir)
    data = load_ludb_arrays(ludb_dir, cfg)
    logger.info("loaded %s in %.0f s", data["x500"].shape, time.time() - t0)
    targets = list(range(args.folds)) + ["final"] if args.only == "all" else args.only.split(",")
    for target in targets:
        t1 = time.time()
        if target == "final":
            model = train_one(
                data, sorted(folds), cfg, epochs=args.epochs, seed=args.seed, p_move=args.p_move, tp_cut=args.tp_cut
            )
            _save_weights(model, args.out / FINAL_WEIGHTS)
        else:
            k = int(target)
            train_records = [r for r, f in folds.items() if f != k]
            model = train_one(
                data,
                sorted(train_records),
                cfg,
                epochs=args.epochs,
                seed=args.seed + k + 1,
                p_move=args.p_move,
                tp_cut=args.tp_cut,
            )
            _save_weights(model, args.out / f"fold{k}.safetensors")
        logger.info("trained %s in %.0f s", target, time.time() - t1)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.measure.train_delineator", description=__doc__.splitlines()[0]
    )
    add_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
