"""``python -m core measure FILE``: waveform measurements of one ECG file, as numbers and an English sentence."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from core.data.readers import read_ecg
from core.errors import ECGReadError

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="ECG file (WFDB .hea/.dat, .mat, .h5, .csv, .npy ...)")
    parser.add_argument("--fs", type=float, default=None, help="sampling rate, for formats that do not store it")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON only")


def run(args: argparse.Namespace) -> int:
    from core.measure.measurements import measure_ecg

    try:
        ecg = read_ecg(args.file, fs_hz=args.fs)
    except ECGReadError as exc:
        logger.error("%s", exc)
        return 2
    meas = measure_ecg(ecg)
    if args.json:
        print(json.dumps(meas.to_dict(), indent=1))
        return 0
    leads = ", ".join(ecg.present_leads)
    print(f"{ecg.record_id or args.file}: {ecg.fs_hz:g} Hz, {ecg.duration_s:.1f} s, leads {leads}")
    for name, value in meas.to_dict().items():
        if name == "leads_used":
            continue
        shown = "-" if value is None else (f"{value:.3f}" if isinstance(value, float) else str(value))
        print(f"  {name:<18} {shown}")
    print(meas.to_sentence())
    return 0
