"""Estimate the delineator's systematic boundary bias on LUDB, out-of-fold, and store the corrections.

``python -m core.measure.calibrate [--ludb DIR] [--dir checkpoints/delineator]``

The network labels each lead like one annotator would; LUDB's global reference is the union of twelve independently
annotated leads, whose scatter makes global onsets a little earlier and offsets a little later than any single
lead's. This module measures that bias per boundary (P onset, QRS onset, QRS offset, T offset) as the median over
records of the per-record median signed error of matched beats, using every record's out-of-fold labels (from the
fold model that did not train on it).

Nesting keeps validation honest: the correction for fold ``k`` (``boundary_shift_ms["fold{k}"]``) is estimated only
from records outside fold ``k``; the shipped model gets the one from all records (``boundary_shift_ms["all"]``).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from pathlib import Path

import numpy as np

from core.measure.delineator import CONFIG_NAME, Delineator, delineator_dir, load_delineator, read_config
from core.measure.ludb import LUDB_FS_HZ, default_ludb_dir, read_annotation, read_signal, reference_beats
from core.measure.waves import Beat, beats_from_masks, boundary_errors

logger = logging.getLogger(__name__)

_ONSETS = ("P_on", "QRS_on")


def record_errors(delineator: Delineator, labels: np.ndarray, ref: list[Beat]) -> dict[str, float]:
    """Median signed boundary error (ms) of one record, uncorrected masks vs reference beats."""
    beats = beats_from_masks(delineator.combine_labels(labels, corrected=False))
    errs = boundary_errors(beats, delineator.cfg.fs_hz, ref, LUDB_FS_HZ)
    return {k: float(np.median(v)) for k, v in errs.items() if v}


def shifts_from_errors(per_record: list[dict[str, float]]) -> dict[str, float]:
    """Corrections (ms) from per-record errors: onsets move earlier by the median lateness, offsets later by the
    median earliness; rounded to 1 ms."""
    out = {}
    for key in ("P_on", "QRS_on", "QRS_off", "T_off"):
        values = [e[key] for e in per_record if key in e]
        if values:
            med = float(np.median(values))
            out[key] = round(med if key in _ONSETS else -med, 1)
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ludb",
        type=Path,
        default=None,
        help="LUDB folder holding data/ (default: the data cache or a local ECG_DATA_MIRROR)",
    )
    parser.add_argument("--dir", type=Path, default=None, help="delineator folder (default checkpoints/delineator)")


def run(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    ludb_dir = args.ludb or default_ludb_dir()
    folder = args.dir or delineator_dir()
    config = read_config(folder)
    folds = {int(r): int(f) for r, f in config["folds"].items()}
    available = {k for k in set(folds.values()) if (Path(folder) / f"fold{k}.safetensors").is_file()}
    if available != set(folds.values()):
        missing = sorted(set(folds.values()) - available)
        logger.warning("fold models missing for folds %s; calibrating on the others", missing)
    errors: dict[int, dict[str, float]] = {}
    for record, fold in sorted(folds.items()):
        if fold not in available:
            continue
        delineator = load_delineator(str(folder), f"fold{fold}.safetensors")
        labels = delineator.label_leads(read_signal(ludb_dir, record), LUDB_FS_HZ)
        errors[record] = record_errors(delineator, labels, reference_beats(read_annotation(ludb_dir, record)))
    shifts = {"all": shifts_from_errors(list(errors.values()))}
    for k in sorted(available):
        shifts[f"fold{k}"] = shifts_from_errors([e for r, e in errors.items() if folds[r] != k])
    config["boundary_shift_ms"] = shifts
    tmp = Path(folder) / (CONFIG_NAME + ".tmp")
    tmp.write_text(json.dumps(config, indent=1) + "\n")
    os.replace(tmp, Path(folder) / CONFIG_NAME)
    logger.info("boundary corrections (ms): %s", json.dumps(shifts))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.measure.calibrate", description=__doc__.splitlines()[0])
    add_arguments(parser)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
