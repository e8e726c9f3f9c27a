"""``python -m core validate-measurements``: compare measurements with LUDB's manual P/QRS/T annotations.

For every LUDB record the reference comes from the cardiologists' delineation (:mod:`core.measure.ludb`) and the
measurement from the signal. By default each record is measured with the cross-validation fold model that was
trained without it (``--model oof``), so no figure is measured on training data. ``--model final`` uses the shipped
model, which was trained on all of LUDB (optimistic, for reference only); ``--method neurokit`` is a baseline with
neurokit2's DWT delineation of lead II.

Prints, per measurement, how many records have a reference, how many were measured, how many failed (reference but
no measurement), and the median and mean absolute error, and the agreement of the frontal axis with LUDB's axis
diagnosis.
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.ecg import ECG
from core.leads import CANONICAL_LEADS
from core.measure.backends import neurokit_masks
from core.measure.beat_consistency import MIN_CONSISTENCY
from core.measure.ludb import (
    LUDB_FS_HZ,
    N_RECORDS,
    default_ludb_dir,
    read_annotation,
    read_axis_label,
    read_signal,
    reference_measurements,
)
from core.measure.measurements import Measurements, measurements_from_masks

logger = logging.getLogger(__name__)

COMPARED = ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms")
GOALS = {"hr_bpm": 2.0, "pr_ms": 20.0, "qrs_ms": 15.0, "qt_ms": 30.0}


@dataclass
class ValidationResult:
    """Per-record reference and measured values, and per-measurement summaries.

    Attributes:
        rows: one dict per record: ``record``, ``ref_<name>``, ``meas_<name>`` for each compared name,
            ``axis_deg``, ``ludb_axis``.
        errors: failures to process a record at all (record -> message).
    """

    rows: list[dict] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)

    def summary(self) -> dict[str, dict[str, float | int | None]]:
        """Per measurement: ``n_reference``, ``n_measured``, ``n_failed``, ``median_abs_error``, ``mean_abs_error``,
        ``median_error`` (signed, measured - reference: a systematic offset shows here, random scatter does not),
        ``within_goal`` (share of measured records within the goal), ``goal``."""
        out: dict[str, dict[str, float | int | None]] = {}
        for name in COMPARED:
            ref = [r for r in self.rows if r.get(f"ref_{name}") is not None]
            both = [r for r in ref if r.get(f"meas_{name}") is not None]
            signed = np.array([r[f"meas_{name}"] - r[f"ref_{name}"] for r in both], dtype=float)
            err = np.abs(signed)
            out[name] = {
                "n_reference": len(ref),
                "n_measured": len(both),
                "n_failed": len(ref) - len(both) + sum(1 for r in self.errors),
                "median_abs_error": float(np.median(err)) if err.size else None,
                "mean_abs_error": float(np.mean(err)) if err.size else None,
                "median_error": float(np.median(signed)) if err.size else None,
                "within_goal": float(np.mean(err <= GOALS[name])) if err.size else None,
                "goal": GOALS[name],
            }
        agree = [r for r in self.rows if r.get("ludb_axis") and r.get("axis_deg") is not None]
        hits = [ludb_axis_category(r["axis_deg"]) == r["ludb_axis"] for r in agree]
        out["axis"] = {"n_reference": len(agree), "agreement": float(np.mean(hits)) if hits else None}
        return out


def ludb_axis_category(axis_deg: float) -> str:
    """LUDB's axis categories (Russian convention): horizontal 0..+29°, normal +30..+69°, vertical +70..+90°,
    left axis deviation < 0°, right axis deviation > +90°."""
    if -90.0 <= axis_deg < 0.0:
        return "left axis deviation"
    if axis_deg < -90.0 or axis_deg > 90.0:
        return "right axis deviation"
    if axis_deg < 30.0:
        return "horizontal"
    if axis_deg < 70.0:
        return "normal"
    return "vertical"


def validate_records(
    ludb_dir: Path,
    records: list[int] | None = None,
    *,
    model: str = "oof",
    method: str = "unet",
    fs_hz: float = LUDB_FS_HZ,
) -> ValidationResult:
    """Measure LUDB records and pair each measurement with its reference.

    Args:
        ludb_dir: the LUDB folder (holding ``data/``).
        records: record numbers (1-200); default all.
        model: ``"oof"`` (each record measured by the fold model that did not train on it) or ``"final"``.
        method: ``"unet"`` (the delineator) or ``"neurokit"`` (baseline, lead II).
        fs_hz: measure a copy resampled to this rate (e.g. 100, like PTB-XL's ``records100``); the reference
            always comes from the 500 Hz annotations.
    """
    from fractions import Fraction

    from scipy.signal import resample_poly

    from core.measure.delineator import FINAL_WEIGHTS, load_delineator, read_config

    records = list(records or range(1, N_RECORDS + 1))
    folds = read_config().get("folds", {}) if method == "unet" else {}
    result = ValidationResult()
    for record in records:
        try:
            ann = read_annotation(ludb_dir, record)
            signal = read_signal(ludb_dir, record)
        except (OSError, ValueError) as exc:
            result.errors[record] = f"{type(exc).__name__}: {exc}"
            logger.warning("record %d: %s", record, exc)
            continue
        ref = reference_measurements(ann)
        if fs_hz != LUDB_FS_HZ:
            ratio = Fraction(fs_hz / LUDB_FS_HZ).limit_denominator(1000)
            signal = resample_poly(signal, ratio.numerator, ratio.denominator, axis=1).astype(np.float32)
        ecg = ECG.from_leads(signal, fs_hz, CANONICAL_LEADS, record_id=f"ludb/{record}")
        if method == "neurokit":
            try:
                meas = measurements_from_masks(neurokit_masks(signal[1].astype(float), fs_hz), fs_hz, ecg=ecg)
            except (ValueError, IndexError, ZeroDivisionError) as exc:  # neurokit2 fails on some records
                logger.warning("record %d: neurokit2 failed: %s", record, exc)
                meas = Measurements()
        else:
            weights = f"fold{folds[str(record)]}.safetensors" if model == "oof" else FINAL_WEIGHTS
            delineator = load_delineator(None, weights)
            labels = delineator.label_leads(signal, fs_hz)
            masks = delineator.combine_labels(labels)
            meas = measurements_from_masks(
                masks, delineator.cfg.fs_hz, ecg=ecg, lead_labels=labels, min_consistency=MIN_CONSISTENCY
            )
        row: dict = {"record": record, "axis_deg": meas.axis_deg, "ludb_axis": read_axis_label(ludb_dir, record)}
        for name in COMPARED:
            row[f"ref_{name}"] = ref[name]
            row[f"meas_{name}"] = getattr(meas, name)
        result.rows.append(row)
    return result


def format_summary(summary: dict, *, title: str) -> str:
    """The printed table."""
    lines = [
        title,
        f"{'measurement':<12} {'n_ref':>5} {'n_meas':>6} {'failed':>6} {'median|err|':>11} "
        f"{'mean|err|':>9} {'median err':>10} {'goal':>6} {'within goal':>11}",
    ]
    for name in COMPARED:
        s = summary[name]
        med = "-" if s["median_abs_error"] is None else f"{s['median_abs_error']:.1f}"
        mean = "-" if s["mean_abs_error"] is None else f"{s['mean_abs_error']:.1f}"
        bias = "-" if s["median_error"] is None else f"{s['median_error']:+.1f}"
        within = "-" if s["within_goal"] is None else f"{100 * s['within_goal']:.0f}%"
        lines.append(
            f"{name:<12} {s['n_reference']:>5} {s['n_measured']:>6} {s['n_failed']:>6} {med:>11} {mean:>9} "
            f"{bias:>10} {s['goal']:>6g} {within:>11}"
        )
    axis = summary["axis"]
    if axis["agreement"] is not None:
        lines.append(
            f"frontal axis category agrees with LUDB's diagnosis in {100 * axis['agreement']:.0f}% "
            f"of {axis['n_reference']} records"
        )
    return "\n".join(lines)


def _parse_records(values: list[str] | None) -> list[int] | None:
    if not values:
        return None
    out: list[int] = []
    for value in values:
        for part in value.split(","):
            if "-" in part:
                a, b = part.split("-", 1)
                out.extend(range(int(a), int(b) + 1))
            elif part:
                out.append(int(part))
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ludb", type=Path, default=None, help="LUDB folder holding data/ (default: from env)")
    parser.add_argument("--records", nargs="*", help="record numbers or ranges, e.g. 1-60 75 (default: all 200)")
    parser.add_argument(
        "--model",
        choices=("oof", "final"),
        default="oof",
        help="oof: out-of-fold models (honest); final: the shipped model, trained on all of LUDB",
    )
    parser.add_argument(
        "--method",
        choices=("unet", "own", "neurokit", "openecg", "all"),
        default=None,
        help="LUDB mode: unet (= own, default) or neurokit; --plausibility: own, neurokit, openecg or all (default)",
    )
    parser.add_argument(
        "--fs", type=float, default=LUDB_FS_HZ, help="resample the records to this rate before measuring (e.g. 100)"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write per-record rows and the summary here")
    plaus = parser.add_argument_group("plausibility benchmark (--plausibility)")
    plaus.add_argument(
        "--plausibility",
        action="store_true",
        help="check measurements against the diagnoses of PTB-XL, CinC-2021 and LUDB records",
    )
    plaus.add_argument(
        "--datasets", nargs="*", default=None, help="sources to run (default all): " + ", ".join(_source_keys())
    )
    plaus.add_argument("--limit", type=int, default=None, help="at most N records per source and split")
    plaus.add_argument(
        "--ptbxl-folds",
        nargs="*",
        default=None,
        help="only PTB-XL records of these strat_folds, e.g. 1-6 (choose a change there) or 7 8 (confirm it) before "
        "the held-out folds 9-10 are scored; other datasets are unaffected (see --datasets)",
    )
    plaus.add_argument(
        "--ptbxl-validated",
        choices=("human", "machine"),
        default=None,
        help="only PTB-XL records whose labels a cardiologist validated (human; all of folds 9-10 are) or only the "
        "others (machine); other datasets are unaffected",
    )
    plaus.add_argument(
        "--split",
        choices=("train", "test", "all"),
        default="all",
        help="train, test (the held-out splits of core.evaluate.data.HELD_OUT_SPLITS) or all (both, "
        "reported separately)",
    )
    plaus.add_argument(
        "--data-root",
        type=Path,
        default=None,
        help="folder holding ptb-xl/, ptbxl_more/, cinc2021*/, ludb/, e.g. ../shared/data "
        "(default: a local $ECG_DATA_MIRROR folder)",
    )
    plaus.add_argument("--markdown", type=Path, default=None, help="write the tables as markdown here")
    plaus.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="cache of library (neurokit2/openecg) measurements (default: <data dir>/measure-bench)",
    )
    plaus.add_argument("--no-cache", action="store_true", help="measure everything afresh, write no cache")


def _source_keys() -> list[str]:
    from core.measure.reference_labels import SOURCES

    return list(SOURCES)


def run(args: argparse.Namespace) -> int:
    import torch

    torch.set_num_threads(1)
    if args.plausibility:
        return run_plausibility(args)
    if args.method in ("openecg", "all"):
        logger.error("--method %s needs --plausibility; the LUDB-only mode has unet and neurokit", args.method)
        return 2
    method = "unet" if args.method in (None, "own") else args.method
    ludb_dir = args.ludb or default_ludb_dir()
    if ludb_dir is None or not (Path(ludb_dir) / "data").is_dir():
        logger.error(
            "LUDB not found (%s); pass --ludb DIR, download it (python -m core download ludb) or set ECG_DATA_MIRROR",
            ludb_dir,
        )
        return 2
    records = _parse_records(args.records)
    result = validate_records(Path(ludb_dir), records, model=args.model, method=method, fs_hz=args.fs)
    summary = result.summary()
    what = "neurokit2 DWT, lead II" if method == "neurokit" else f"U-Net delineator, {args.model} model(s)"
    what += f", input {args.fs:g} Hz"
    n = len(result.rows)
    print(format_summary(summary, title=f"LUDB validation: {n} records, {what}; absolute errors in bpm / ms"))
    if result.errors:
        print(f"{len(result.errors)} records could not be read: {sorted(result.errors)}")
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "rows": result.rows, "errors": result.errors}, indent=1))
    return 0


def run_plausibility(args: argparse.Namespace) -> int:
    """``--plausibility``: measure every source with every method, print the tables, write JSON / markdown."""
    from core.measure.backends import BACKENDS
    from core.measure.plausibility import format_markdown, format_table, run_benchmark, summarize
    from core.measure.reference_labels import SOURCES, default_data_root
    from core.paths import data_dir

    data_root = args.data_root or default_data_root()
    if data_root is None or not Path(data_root).is_dir():
        logger.error(
            "shared data folder not found (%s); pass --data-root DIR (e.g. ../shared/data) or set ECG_DATA_MIRROR",
            data_root,
        )
        return 2
    sources = args.datasets or list(SOURCES)
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        logger.error("unknown sources %s; known: %s", unknown, ", ".join(SOURCES))
        return 2
    methods = list(BACKENDS) if args.method in (None, "all") else ["own" if args.method == "unet" else args.method]
    splits = {"train": ["train"], "test": ["held_out"], "all": ["train", "held_out"]}[args.split]
    cache_dir = None if args.no_cache else (args.cache_dir or data_dir() / "measure-bench")
    try:
        folds = _parse_records(args.ptbxl_folds)
    except ValueError:
        logger.error("--ptbxl-folds: give fold numbers or ranges, e.g. 1-6 or 7 8; got %s", " ".join(args.ptbxl_folds))
        return 2
    if folds is not None and not set(folds) <= set(range(1, 11)):
        logger.error("--ptbxl-folds: PTB-XL folds are 1-10, got %s", sorted(set(folds) - set(range(1, 11))))
        return 2
    rows = run_benchmark(
        sources,
        methods,
        Path(data_root),
        splits=splits,
        limit=args.limit,
        cache_dir=cache_dir,
        progress=logger.info,
        ptbxl_folds=None if folds is None else set(folds),
        ptbxl_validated=args.ptbxl_validated,
    )
    summary = summarize(rows)
    # The issue's goals are stated over every fold: with both parts run for one method, their pool is a column too.
    shown = [*splits, "all"] if len(splits) > 1 and len(methods) == 1 else splits
    print(format_table(summary, methods, shown))
    if args.json:
        payload = {
            "sources": sources,
            "methods": methods,
            "splits": splits,
            "limit": args.limit,
            "ptbxl_folds": folds,
            "ptbxl_validated": args.ptbxl_validated,
            "summary": summary,
            "rows": rows,
        }
        args.json.write_text(json.dumps(payload, indent=1))
    if args.markdown:
        args.markdown.write_text(format_markdown(summary, methods, shown))
    return 0
