"""Building the sharded preprocessing cache: records/s with 1 and 2 worker processes, and peak memory by corpus size.

    python -m bench.bench_preprocess --data ../shared/data/ptbxl_more --speed-records 8192 --sizes 20000 100000

``--data`` takes the evaluation's data specs (a folder, ``NAME=DIR[+DIR]`` or a name), several allowed, e.g. a
synthetic MIMIC-IV-ECG corpus: ``--data mimic_iv_ecg=/tmp/synth``. When a size exceeds the records found, the records
are repeated under new ids (the same files read again, so from the page cache: a warm-disk figure); the output says
how many distinct records there are.

Every measurement runs in a fresh Python process that builds the cache into a temporary folder through
:class:`core.data.dataset.ECGTextDataset` (what training does) and reports:

* records/s over the whole build (catalog already loaded; worker start-up included);
* peak RSS (``VmHWM``) of the building process, before the build (records and catalog loaded) and at its end;
* peak RSS of the largest worker process, sampled from ``/proc`` every 0.2 s (Linux only);
* CPU seconds of the building process and of all workers together: the builder's share is the serial part, which
  bounds the speed-up more workers can give on free cores.

The speed ratio (2 workers / 1 worker) is only meaningful on an otherwise idle machine: the load average is printed
beside every figure. Where the kernel groups CPU time by session (``/proc/sys/kernel/sched_autogroup_enabled``), a
busy machine gives this session about the same share whatever number of workers it runs, so the ratio reads near 1.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def peak_rss_mb(pid: int | str = "self") -> float:
    """Peak resident set size (``VmHWM``) of a process in MB, 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(root: int) -> list[int]:
    """Pids of every process below ``root`` (fork-server workers are grandchildren)."""
    parent_of: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parent_of[int(entry.name)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], {root}
    while frontier:
        frontier = {pid for pid, parent in parent_of.items() if parent in frontier}
        found += frontier
    return found


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WorkerPeak:
    """Samples the peak RSS and the CPU time of this process's descendants in a thread."""

    def __init__(self, every_s: float = 0.2):
        self.every_s, self.peak_mb, self._stop = every_s, 0.0, threading.Event()
        self.cpu_s: dict[int, float] = {}
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            for pid in descendants(os.getpid()):
                self.peak_mb = max(self.peak_mb, peak_rss_mb(pid))
                self.cpu_s[pid] = max(self.cpu_s.get(pid, 0.0), cpu_seconds(pid))

    def __enter__(self) -> WorkerPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def corpus(specs: list[str], size: int) -> tuple[list, dict, int]:
    """``size`` records from the data specs (repeated under new ids when there are fewer), catalogs, distinct count."""
    from core.embed_corpus import load_records

    records, catalogs = load_records(specs)
    distinct = len(records)
    if size > distinct:
        records = [
            dataclasses.replace(records[i % distinct], record_id=f"{records[i % distinct].record_id}~{i // distinct}")
            for i in range(size)
        ]
    return records[:size], catalogs, distinct


def measure_one(specs: list[str], size: int, workers: int, shard_size: int, fs_hz: float, cache_root: str) -> dict:
    """Build one cache (in this process) and return its figures."""
    from core.data.dataset import ECGTextDataset
    from core.data.preprocess import PreprocessConfig

    records, catalogs, distinct = corpus(specs, size)
    before_mb = peak_rss_mb()
    with tempfile.TemporaryDirectory(dir=cache_root) as cache_dir, WorkerPeak() as workers_peak:
        start, cpu_start = time.perf_counter(), cpu_seconds()
        ds = ECGTextDataset(
            records, catalogs, PreprocessConfig(fs_hz=fs_hz), cache_dir, workers=workers, shard_size=shard_size
        )
        seconds, builder_cpu_s = time.perf_counter() - start, cpu_seconds() - cpu_start
        cache_mb = ds.cache_bytes / 1e6
    return {
        "records": size,
        "distinct_records": distinct,
        "kept": len(ds),
        "workers": workers,
        "seconds": round(seconds, 2),
        "records_per_s": round(size / seconds, 1),
        "rss_before_build_mb": round(before_mb, 1),
        "rss_peak_mb": round(peak_rss_mb(), 1),
        "worker_rss_peak_mb": round(workers_peak.peak_mb, 1),
        "cache_mb": round(cache_mb, 1),
        "builder_cpu_s": round(builder_cpu_s, 1),
        "workers_cpu_s": round(sum(workers_peak.cpu_s.values()), 1),
        "load_average": load_average(),
    }


def run_child(args: argparse.Namespace, size: int, workers: int) -> dict:
    command = [sys.executable, "-m", "bench.bench_preprocess", "--one", str(size), str(workers), "--data", *args.data]
    command += ["--shard-size", str(args.shard_size), "--fs", str(args.fs), "--cache-root", args.cache_root]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measurement failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=[str(REPO_ROOT.parent / "shared" / "data" / "ptbxl_more")])
    parser.add_argument("--speed-records", type=int, default=8192, help="corpus size of the 1- vs 2-worker runs")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    parser.add_argument("--sizes", type=int, nargs="*", default=[20_000, 100_000], help="corpus sizes for memory")
    parser.add_argument("--shard-size", type=int, default=1024)
    parser.add_argument("--fs", type=float, default=100.0, help="preprocessing target rate in Hz")
    parser.add_argument("--cache-root", default=tempfile.gettempdir(), help="where the temporary caches go")
    parser.add_argument("--one", type=int, nargs=2, metavar=("SIZE", "WORKERS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure_one(args.data, *args.one, args.shard_size, args.fs, args.cache_root)))
        return

    print(f"data {args.data}; shard size {args.shard_size}; preprocess to {args.fs:g} Hz; {os.cpu_count()} CPUs")
    header = f"{'records':>8} {'workers':>7} {'s':>8} {'rec/s':>8} {'RSS before':>10} {'RSS peak':>9}"
    print(header + f" {'worker RSS':>10} {'cache MB':>9} {'CPU s builder/workers':>21}  load average (1, 5, 15 min)")

    def show(row: dict) -> None:
        print(
            f"{row['records']:>8} {row['workers']:>7} {row['seconds']:>8.1f} {row['records_per_s']:>8.1f} "
            f"{row['rss_before_build_mb']:>10.0f} {row['rss_peak_mb']:>9.0f} {row['worker_rss_peak_mb']:>10.0f} "
            f"{row['cache_mb']:>9.0f} {row['builder_cpu_s']:>10.1f}/{row['workers_cpu_s']:<10.1f} "
            f"{row['load_average']}  ({row['distinct_records']} distinct records)",
            flush=True,
        )

    speed = {}
    for workers in args.workers:
        speed[workers] = run_child(args, args.speed_records, workers)
        show(speed[workers])
    if len(speed) > 1:
        low, high = min(speed), max(speed)
        ratio = speed[high]["records_per_s"] / speed[low]["records_per_s"]
        print(f"speed-up {high} workers / {low} worker: {ratio:.2f}x")
    for size in args.sizes:
        show(run_child(args, size, max(args.workers)))


if __name__ == "__main__":
    main()
