"""Time to open an ECG in the viewer, server-side: the figure built and serialised to the JSON Gradio sends.

    python -m bench.bench_open_ecg [--records 20] [--rate 500] [--repeats 3] [--data-root ../shared/data]

Reads the first ``--records`` PTB-XL records at ``--rate`` Hz, then prints p50/p95 milliseconds per ECG for

* ``figure``: ``app.views.viewer.record_figure`` + ``Figure.to_json()`` (what ``gr.Plot`` sends), for every layout
  at 25 and 50 mm/s, from the ECG in memory (the service caches opened ECGs and their measurements);
* ``cold open``: the first open of a record no one has opened before: reading the WFDB files, the 3x4 figure's JSON
  (``first paint`` is both: what the viewer shows first), and measuring (the details and the fiducial overlay, which
  follow).

The product's goal is p50 <= 150 ms. One warm-up figure and measurement are not counted (imports, torch).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np


def _percentiles(times_ms: list[float]) -> str:
    return f"p50 {np.percentile(times_ms, 50):6.1f} ms  p95 {np.percentile(times_ms, 95):6.1f} ms"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--rate", type=int, choices=(100, 500), default=500)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-root", type=Path, default=None)
    args = parser.parse_args(argv)

    from app.views.viewer import record_figure
    from core.data.catalogs import load_catalog
    from core.explorer import OpenedRecord
    from core.measure import measure_ecg
    from core.measure.reference_labels import default_data_root
    from core.plotting import LAYOUTS, SPEEDS_MM_S, PaperOptions

    data_root = args.data_root or default_data_root()
    if data_root is None:
        parser.error("no data folder: pass --data-root DIR (e.g. ../shared/data) or set ECG_DATA_MIRROR to one")
    catalog = load_catalog("ptbxl", root=data_root / "ptb-xl" / "1.0.3", rate_hz=args.rate, download=False)
    records = catalog.records[: args.records]
    ecgs = [catalog.read(r) for r in records]
    print(f"{len(ecgs)} PTB-XL records at {args.rate} Hz, 12 leads, 10 s")
    opened = [OpenedRecord(f"ptbxl/{i}", ecg, None) for i, ecg in enumerate(ecgs)]
    record_figure(opened[0], PaperOptions()).to_json()  # warm-up, not counted
    measure_ecg(ecgs[0])

    for layout in LAYOUTS:
        for speed in SPEEDS_MM_S:
            options = PaperOptions(layout, speed)
            times = []
            for _ in range(args.repeats):
                for item in opened:
                    start = time.perf_counter()
                    record_figure(item, options).to_json()
                    times.append(1000.0 * (time.perf_counter() - start))
            print(f"figure     {layout:<9} {speed:>4g} mm/s  {_percentiles(times)}")

    # The viewer draws first (read + figure) and fills in the measurements after (details, fiducial overlay).
    parts: dict[str, list[float]] = {"read": [], "figure": [], "first paint": [], "measure": []}
    for record in records:
        t0 = time.perf_counter()
        ecg = catalog.read(record)
        t1 = time.perf_counter()
        record_figure(OpenedRecord(record.record_id, ecg, None), PaperOptions()).to_json()
        t2 = time.perf_counter()
        measure_ecg(ecg)
        t3 = time.perf_counter()
        for name, ms in zip(parts, (t1 - t0, t2 - t1, t2 - t0, t3 - t2), strict=True):
            parts[name].append(1000.0 * ms)
    for name, times in parts.items():
        print(f"cold open  {name:<11} (3x4)  {_percentiles(times)}")


if __name__ == "__main__":
    main()
