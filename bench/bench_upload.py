"""Peak memory and time of reading the largest accepted upload, per format (issue 13's goal: RSS growth <= 300 MB).

    python -m bench.bench_upload [--formats csv wfdb npy npz] [--fraction 1.0]   (from the repository root)

Writes a 12-lead record of exactly the sample budget (``MAX_DECODED_VALUES``: 30 min at 500 Hz) in each format to a
temporary folder, then reads it as the app does (``read_upload`` + ``upload_window``) in a fresh subprocess per
format and prints the wall time and the peak RSS growth over the process's RSS after imports (``VmHWM`` minus the
resident size before reading; Linux only). ``--fraction`` scales the record (e.g. 1.01 checks that one just over
the budget is refused).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

FS_HZ = 500


def _signal(n_samples: int) -> np.ndarray:
    """(samples, 12) float32, ECG-like amplitudes in mV (a 1.2 Hz pulse train plus noise)."""
    t = np.arange(n_samples, dtype=np.float32) / FS_HZ
    beat = np.exp(-(((t % 0.83) - 0.3) ** 2) / 2e-4).astype(np.float32)
    noise = np.random.default_rng(0).normal(scale=0.03, size=(n_samples, 12)).astype(np.float32)
    return beat[:, None] * np.linspace(0.5, 1.5, 12, dtype=np.float32) + noise


def _write(fmt: str, folder: Path, n_samples: int) -> list[Path]:
    from core.leads import CANONICAL_LEADS

    sig = _signal(n_samples)
    if fmt == "npy":
        np.save(folder / "big.npy", sig.T.astype(np.float64))
        return [folder / "big.npy"]
    if fmt == "npz":
        np.savez_compressed(folder / "big.npz", signal=sig.T, fs_hz=np.float64(FS_HZ))
        return [folder / "big.npz"]
    if fmt == "wfdb":
        import wfdb

        wfdb.wrsamp(
            "big", fs=FS_HZ, units=["mV"] * 12, sig_name=list(CANONICAL_LEADS), p_signal=sig.astype(np.float64),
            fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(folder),
        )  # fmt: skip
        return [folder / "big.hea", folder / "big.dat"]
    if fmt == "csv":
        path = folder / "big.csv"
        with path.open("w") as fh:
            fh.write("time," + ",".join(CANONICAL_LEADS) + "\n")
            t = np.arange(n_samples) / FS_HZ
            for a in range(0, n_samples, 100_000):
                block = np.column_stack([t[a : a + 100_000], sig[a : a + 100_000]])
                np.savetxt(fh, block, fmt="%.4f", delimiter=",")
        return [path]
    raise ValueError(fmt)


_CHILD = """
import json, sys, time
from core.explorer.uploads import read_upload, upload_window
import core.data.formats.csv_format, core.data.formats.wfdb_format  # imports (pandas, wfdb, scipy) are not counted
paths = json.loads(sys.argv[1])
page = __import__("os").sysconf("SC_PAGE_SIZE")
before = int(open("/proc/self/statm").read().split()[1]) * page
t0 = time.perf_counter()
try:
    record = read_upload(paths, fs_hz=500 if paths[0].endswith(".npy") else None)
    window = upload_window(record, 600)
    outcome = f"accepted: {record.ecg.n_samples:,} samples, {record.n_windows} windows"
except Exception as exc:
    outcome = f"refused: {type(exc).__name__}: {str(exc)[-110:]}"
seconds = time.perf_counter() - t0
# VmHWM, not ru_maxrss: the latter carries over the parent's peak through fork + exec.
peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(json.dumps({"outcome": outcome, "seconds": seconds, "growth_mb": (peak - before) / 2**20}))
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--formats", nargs="*", default=["npy", "npz", "wfdb", "csv"])
    parser.add_argument("--fraction", type=float, default=1.0)
    args = parser.parse_args(argv)

    from core.data.formats.common import MAX_DECODED_VALUES

    n_samples = int(MAX_DECODED_VALUES // 12 * args.fraction)
    print(f"record: 12 leads x {n_samples:,} samples ({n_samples / FS_HZ / 60:.1f} min at {FS_HZ} Hz)")
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp:
        for fmt in args.formats:
            folder = Path(tmp) / fmt
            folder.mkdir()
            paths = _write(fmt, folder, n_samples)
            size_mb = sum(p.stat().st_size for p in paths) / 2**20
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, json.dumps([str(p) for p in paths])],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{fmt:5s} {size_mb:7.1f} MB file  {r['seconds']:6.2f} s  peak RSS growth {r['growth_mb']:6.1f} MB  "
                f"{r['outcome']}"
            )


if __name__ == "__main__":
    main()
