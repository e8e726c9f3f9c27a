"""Time to measure one 10 s 12-lead ECG, per measurement backend, on one CPU core (the product's goal: < 100 ms).

    python -m bench.bench_measure [--records 20] [--rate 500] [--repeats 3]   (from the repository root)

Reads the first ``--records`` PTB-XL records at ``--rate`` Hz from the shared data folder (``--data-root`` or a local
``$ECG_DATA_MIRROR``), warms each backend up on one record (model loading is not counted), then times
``measure(ecg)`` on every record ``--repeats`` times with ``torch.set_num_threads(1)``, and prints the median and
95th percentile milliseconds per ECG, wall clock and CPU time of this process (the CPU time is what one core spends;
on a loaded shared machine the wall clock also counts waiting for a core). Reading the file is not counted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--rate", type=int, choices=(100, 500), default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--backends", nargs="*", default=None, help="default: all (own, neurokit, openecg)")
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args(argv)

    import torch

    from core.data.catalogs import load_catalog
    from core.measure.backends import BACKENDS, backend_version, get_backend
    from core.measure.reference_labels import default_data_root

    torch.set_num_threads(1)
    data_root = args.data_root or default_data_root()
    if data_root is None:
        parser.error("no data folder: pass --data-root DIR (e.g. ../shared/data) or set ECG_DATA_MIRROR to one")
    root = data_root / "ptb-xl" / "1.0.3"
    catalog = load_catalog("ptbxl", root=root, rate_hz=args.rate, download=False)
    ecgs = [catalog.read(r) for r in catalog.records[: args.records]]
    print(f"{len(ecgs)} PTB-XL records at {args.rate} Hz, 12 leads, 10 s; torch threads: {torch.get_num_threads()}")
    for name in args.backends or BACKENDS:
        measure = get_backend(name)
        measure(ecgs[0])  # loads the model; not counted
        times, cpu_times = [], []
        for _ in range(args.repeats):
            for ecg in ecgs:
                start, cpu_start = time.perf_counter(), time.process_time()
                measure(ecg)
                times.append(1000.0 * (time.perf_counter() - start))
                cpu_times.append(1000.0 * (time.process_time() - cpu_start))
        p95, cpu_p95 = float(np.percentile(times, 95)), float(np.percentile(cpu_times, 95))
        print(
            f"{name:<9} {backend_version(name):<18} median {statistics.median(times):6.1f} ms  p95 {p95:6.1f} ms"
            f"  | CPU median {statistics.median(cpu_times):6.1f} ms  p95 {cpu_p95:6.1f} ms"
        )


if __name__ == "__main__":
    main()
