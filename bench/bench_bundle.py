"""Benchmark the app's start with and without a demo bundle (what a fresh Space does), and its peak memory.

Three starts of ``python app.py`` (``bench.bench_app.Server``), each timed from process start until the page reports
the index served and then the model loaded, with the process's peak resident memory (``VmHWM``):

1. **no bundle**: an empty data directory; the app acquires the demo records from the local PhysioNet-layout mirror,
   embeds them, builds the indexes and the map (what every fresh Space start did before bundles);
2. **bundle**: another empty data directory and an empty Hugging Face cache, ``ECG_DEMO_BUNDLE`` pointing at a bundle
   of start 1's index pushed to a loopback Hub (``tests/hub/fake_hub.py``, huggingface_hub's real client); the app
   downloads it, checks every file's sha256 and serves it;
3. **restart**: start 2's data directory again (a Space's persistent ``/data``): the index is already there.

    python -m bench.bench_bundle --checkpoint checkpoints/mets --records ptbxl:500,ludb:200
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

from bench.bench_app import REPO, Server

logger = logging.getLogger("bench_bundle")
BUNDLE_REPO = "bench/ecg-demo"


def _fake_hub_class():
    """The loopback Hub of the tests (loaded from its file: it is a test fixture, not product code)."""
    spec = importlib.util.spec_from_file_location("fake_hub", REPO / "tests" / "hub" / "fake_hub.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fake_hub"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module.FakeHub


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def timed_start(env: dict[str, str], log: Path, timeout_s: float) -> dict:
    """Start the app, wait for the index and then the model; seconds from process start and peak RSS."""
    server = Server(env, log)
    try:
        index_s = server.wait_ready(timeout_s)
        model_s = server.wait_ready(timeout_s, model=True)
        return {"index_served_s": round(index_s, 1), "model_loaded_s": round(model_s, 1),
                "peak_rss_mb": round(_peak_rss_mb(server.proc.pid))}  # fmt: skip
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(REPO / "checkpoints" / "mets"))
    parser.add_argument("--records", default="ptbxl:500,ludb:200", help="demo datasets (default: %(default)s)")
    parser.add_argument("--map", choices=("umap", "pca"), default="umap")
    parser.add_argument("--mirror", default=str(REPO.parent / "shared" / "data"), help="ECG_DATA_MIRROR for the app")
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    work = Path(tempfile.mkdtemp(prefix="ecg-bench-bundle-"))
    with _fake_hub_class()() as hub:
        # huggingface_hub reads its endpoint when imported: set it before anything here imports it.
        os.environ.update(HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(work / "hf-push-cache"), HF_TOKEN="hf_loopback")
        base = dict(
            os.environ,
            ECG_DATA_MIRROR=args.mirror,
            ECG_CHECKPOINTS=f"bench={args.checkpoint}",
            ECG_DEMO_RECORDS=args.records,
            ECG_MAP_METHOD=args.map,
            HF_HUB_OFFLINE="0",
        )
        # 1. No bundle: acquire, embed, index, map.
        cold = timed_start(dict(base, ECG_DATA_DIR=str(work / "data-cold")), work / "cold.log", args.timeout)
        logger.info("no bundle: %s", cold)

        from core.hub.bundle import export_bundle
        from core.hub.push import push_folder

        (cache,) = (work / "data-cold" / "explorer").iterdir()
        bundle = export_bundle(cache, work / "bundle")
        bundle_mb = sum(p.stat().st_size for p in bundle.rglob("*") if p.is_file()) / 1e6
        push_folder(bundle, BUNDLE_REPO, repo_type="dataset")

        # 2. Bundle: empty data directory and empty Hugging Face cache; the bundle comes over loopback HTTP.
        space = dict(
            base,
            ECG_DATA_DIR=str(work / "data-space"),
            HF_HUB_CACHE=str(work / "hf-space-cache"),
            ECG_DEMO_BUNDLE=f"hf://datasets/{BUNDLE_REPO}",
        )
        warm = timed_start(space, work / "bundle.log", args.timeout)
        logger.info("bundle: %s", warm)
        # 3. Restart on the same data directory (a Space's persistent /data).
        restart = timed_start(space, work / "restart.log", args.timeout)
        logger.info("restart: %s", restart)
        downloaded = [p for m, p in hub.requests if m == "GET" and "/resolve/" in p]

    result = {
        "checkpoint": args.checkpoint,
        "records": args.records,
        "map": args.map,
        "no_bundle": cold,
        "bundle": warm,
        "restart_with_installed_bundle": restart,
        "bundle_mb": round(bundle_mb, 1),
        "bundle_files_downloaded": len(downloaded),
        "cpus": os.cpu_count(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
