"""Benchmark the app: cold start with a warm cache, and zero-shot + retrieval latency under concurrent clients.

The benchmark starts ``python app.py`` itself on a free loopback port (twice: once to build or load the cache, once to
time a cold start against the warm cache), drives it with N concurrent gradio_client clients, prints the figures as
JSON and stops the server.

    python bench/bench_app.py --clients 8 --requests 25
    python bench/bench_app.py --checkpoint checkpoints/mets --records ptbxl:500,ludb:200

The clients talk plain HTTP over loopback, so they are created with ``ssl_verify=False``: otherwise gradio_client builds
a certificate-verifying SSL context (~45 ms of CPU) for every request, which would dominate the measurement.

Each measured operation is what a user does for one ECG: zero-shot scores against the PTB-XL superclass prompts
(``/zeroshot``) followed by the 5 nearest reports (``/retrieve_reports``), timed end to end from the client.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
logger = logging.getLogger("bench_app")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tiny_checkpoint(out: Path) -> Path:
    """An untrained checkpoint from a *-tiny config (when no trained checkpoint is given)."""
    if (out / "config.json").is_file():
        return out
    code = (
        "import torch, sys; from core.models import create_model; from core.checkpoint import save_checkpoint; "
        "torch.manual_seed(0); save_checkpoint(create_model('mets-resnet1d-tiny'), sys.argv[1])"
    )
    subprocess.run([sys.executable, "-c", code, str(out)], cwd=REPO, check=True)
    return out


class Server:
    """``python app.py`` in a subprocess on a loopback port."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = dict(
            env, GRADIO_SERVER_PORT=str(self.port), GRADIO_SERVER_NAME="127.0.0.1", GRADIO_ANALYTICS_ENABLED="False"
        )
        self.log = log_path.open("w")
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "app.py"], cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    def wait_ready(self, timeout_s: float, *, model: bool = False) -> float:
        """Seconds from process start until the page says the index is loaded (and, with ``model``, its model)."""
        import httpx
        from gradio_client import Client

        deadline = time.perf_counter() + timeout_s
        client = None
        while time.perf_counter() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the app exited with code {self.proc.returncode}; see {self.log.name}")
            try:
                client = client or Client(self.url, verbose=False, ssl_verify=False)
                status = client.predict(api_name="/status")[0]
                if status.startswith("Indexed") and not (model and "Loading the model" in status):
                    return time.perf_counter() - self.t0
                if "could not" in status or "No demo data" in status:
                    raise RuntimeError(status)
            except (OSError, ValueError, httpx.HTTPError) as exc:  # not listening yet / config not served yet
                logger.debug("waiting for the app: %s", exc)
            time.sleep(0.1)
        raise TimeoutError(f"the app was not ready after {timeout_s} s; see {self.log.name}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _cpu_s(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one by default), children excluded."""
    if pid is None:
        t = os.times()
        return t.user + t.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_load(
    url: str, record_ids: list[str], clients: int, requests: int, k: int, seed: int, mode: str, server_pid: int
) -> dict:
    """``clients`` threads, each with its own gradio_client, each doing ``requests`` operations.

    ``mode="separate"``: an operation is ``/zeroshot`` then ``/retrieve_reports`` (the two UI endpoints, with their
    figure, table and thumbnail HTML). ``mode="analyze"``: one ``/analyze`` call returning both as JSON.
    """
    from gradio_client import Client

    # Read the prompt set file directly: this script runs as `python bench/bench_app.py`, without the repo on sys.path.
    prompts = json.loads((REPO / "assets" / "prompts" / "ptbxl_superclass.json").read_text())["classes"]
    table = {"headers": ["class", "prompts"], "data": [[c, " | ".join(p)] for c, p in prompts.items()]}
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start: dict[str, float] = {}

    def mark_start() -> None:  # runs once, when every client is connected and warmed up
        start.update(t=time.perf_counter(), server=_cpu_s(server_pid), client=_cpu_s())

    barrier = threading.Barrier(clients, action=mark_start)

    def operation(client: Client, rid: str) -> None:
        if mode == "analyze":
            out = client.predict(rid, prompts, k, "", api_name="/analyze")
            n_scores, n_hits = len(out["scores"]), len(out["reports"])
        else:
            n_scores = len(client.predict(rid, table, None, "none", api_name="/zeroshot")[1]["data"])
            n_hits = len(client.predict(rid, k, api_name="/retrieve_reports")[0]["data"])
        if n_scores != len(prompts) or n_hits != k:
            raise ValueError(f"unexpected result sizes {n_scores}, {n_hits}")

    def worker(i: int) -> None:
        rng = random.Random(seed + i)
        client = Client(url, verbose=False, ssl_verify=False)
        operation(client, rng.choice(record_ids))  # warm this client's connection
        barrier.wait()
        for _ in range(requests):
            rid = rng.choice(record_ids)
            t0 = time.perf_counter()
            try:
                operation(client, rid)
                with lock:
                    latencies.append(time.perf_counter() - t0)
            except Exception as exc:  # counted and reported: the benchmark measures errors too
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start["t"]
    # CPU from the moment all clients were connected (client set-up excluded) to the end.
    server_cpu, client_cpu = _cpu_s(server_pid) - start["server"], _cpu_s() - start["client"]
    n_ops = max(1, len(latencies) + len(errors))
    ms = np.asarray(latencies) * 1000
    return {
        "mode": mode,
        "clients": clients,
        "requests_per_client": requests,
        "ops": len(latencies),
        "errors": len(errors),
        "error_examples": errors[:3],
        "p50_ms": round(float(np.percentile(ms, 50)), 1) if len(ms) else None,
        "p95_ms": round(float(np.percentile(ms, 95)), 1) if len(ms) else None,
        "max_ms": round(float(ms.max()), 1) if len(ms) else None,
        "throughput_ops_s": round(len(latencies) / wall, 2),
        # CPU cost per operation, independent of how busy the machine is: server process and all clients.
        "server_cpu_ms_per_op": round(1000 * server_cpu / n_ops, 1),
        "client_cpu_ms_per_op": round(1000 * client_cpu / n_ops, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=None, help="checkpoint dir (default: a tiny untrained one)")
    parser.add_argument("--records", default="ptbxl:500,ludb:200", help="demo datasets (default: %(default)s)")
    parser.add_argument("--map", choices=("umap", "pca"), default="umap")
    parser.add_argument("--mirror", default=str(REPO.parent / "shared" / "data"), help="ECG_DATA_MIRROR for the app")
    parser.add_argument("--data-dir", default=None, help="ECG_DATA_DIR (default: a folder under the system temp dir)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=25, help="operations per client")
    parser.add_argument("-k", type=int, default=5)
    parser.add_argument("--build-timeout", type=float, default=1800.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--modes",
        default="separate,analyze",
        help="separate (/zeroshot + /retrieve_reports) and/or analyze (one /analyze call); default: %(default)s",
    )
    parser.add_argument("--out", default=None, help="also write the JSON here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    work = Path(tempfile.gettempdir()) / "ecg-bench-app"
    work.mkdir(exist_ok=True)
    data_dir = Path(args.data_dir or work / "data")
    checkpoint = Path(args.checkpoint) if args.checkpoint else _tiny_checkpoint(work / "tiny-checkpoint")
    env = dict(
        os.environ,
        ECG_DATA_DIR=str(data_dir),
        ECG_DATA_MIRROR=args.mirror,
        HF_HUB_OFFLINE="1",
        ECG_CHECKPOINTS=f"bench={checkpoint}",
        ECG_DEMO_RECORDS=args.records,
        ECG_MAP_METHOD=args.map,
    )

    # 1. First start: acquires the data and builds the cache (or finds it).
    first = Server(env, work / "server-1.log")
    try:
        build_s = first.wait_ready(args.build_timeout)
        logger.info("first start (acquire + embed + index + map, or load): %.1f s", build_s)
    finally:
        first.stop()
    # 2. Cold start (new process) against the warm cache, then the load test on that server.
    server = Server(env, work / "server-2.log")
    try:
        cold_s = server.wait_ready(300)
        logger.info("cold start with a warm cache: index served after %.1f s", cold_s)
        model_s = server.wait_ready(300, model=True)  # measure the steady state, not the model loading
        logger.info("model loaded %.1f s after start", model_s)
        records = _record_ids(data_dir)
        loads = [
            run_load(server.url, records, args.clients, args.requests, args.k, args.seed, mode, server.proc.pid)
            for mode in args.modes.split(",")
        ]
    finally:
        server.stop()
    result = {
        "checkpoint": str(checkpoint),
        "records": args.records,
        "map": args.map,
        "indexed": len(records),
        "first_start_s": round(build_s, 1),
        "cold_start_warm_cache_s": round(cold_s, 1),
        "model_loaded_s": round(model_s, 1),
        "cpus": os.cpu_count(),
        "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        "load": loads,
    }
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0 if all(load["errors"] == 0 for load in loads) else 1


def _record_ids(data_dir: Path) -> list[str]:
    """Record ids of the newest explorer cache under ``data_dir``."""
    folders = sorted((data_dir / "explorer").glob("*/manifest.json"), key=lambda p: p.stat().st_mtime)
    if not folders:
        raise RuntimeError(f"no explorer cache under {data_dir}")
    return explorer_record_ids(folders[-1].parent)


def explorer_record_ids(folder: Path) -> list[str]:
    """Record ids of an explorer folder (its columnar record table; read in the repository, where ``core`` is)."""
    code = (
        "import sys; from pathlib import Path; from core.explorer.store import Explorer; "
        "print(chr(10).join(r.record_id for r in Explorer.load(Path(sys.argv[1])).records))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder)], cwd=REPO, check=True, capture_output=True, text=True
    )
    return out.stdout.splitlines()


# ---- a prebuilt explorer folder at scale (bench/bench_pipeline.py's serve stage) -----------------------------------
BROWSE_SEARCH = "sinus rhythm"  # a phrase in many reports: a search that fills several pages


def server_memory_mb(pid: int) -> dict[str, int]:
    """The server process's current and peak resident memory (``VmRSS``, ``VmHWM``)."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return {name: round(int(fields[name].split()[0]) / 1024) for name in ("VmRSS", "VmHWM")}


def _timed_ms(call, repeats: int) -> dict:
    """The first call's milliseconds, then p50 / max of ``repeats`` more."""
    t0 = time.perf_counter()
    call()
    first = 1000 * (time.perf_counter() - t0)
    times = [first]  # stands in when there are no repeats
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(1000 * (time.perf_counter() - t0))
    times = times[1:] or times
    return {"first_ms": round(first, 1), "p50_ms": round(float(np.median(times)), 1), "max_ms": round(max(times), 1)}


def time_browse_and_map(url: str, repeats: int = 10) -> dict:
    """Milliseconds of Browse pages (``/records``: the first, middle and last page, and two pages of a search) and of
    the map (``/map``), from one client. The first ``/records`` call also builds the server's browse index."""
    from gradio_client import Client

    client = Client(url, verbose=False, ssl_verify=False)

    def browse(query: str, page: int) -> dict:
        rows = client.predict(query, "all", "all", "all", "all", page, 25, api_name="/records")
        if rows["page"] != page or not rows["data"]:
            raise ValueError(f"/records {query!r} page {page}: got page {rows['page']} with {len(rows['data'])} rows")
        return rows

    out: dict[str, dict] = {"/records page 1 (first call)": _timed_ms(lambda: browse("", 1), 0)}
    n_pages = browse("", 1)["n_pages"]
    for name, page in (("page 1", 1), ("middle page", max(1, n_pages // 2)), ("last page", n_pages)):
        out[f"/records {name} of {n_pages}"] = _timed_ms(lambda page=page: browse("", page), repeats)
    for page in (1, 2):
        out[f"/records search '{BROWSE_SEARCH}' page {page}"] = _timed_ms(
            lambda page=page: browse(BROWSE_SEARCH, page), repeats
        )
    out["/records search total"] = browse(BROWSE_SEARCH, 1)["total"]
    out["/map (coloured by dataset)"] = _timed_ms(lambda: client.predict("dataset", "", api_name="/map"), 3)
    return out


def serve_prebuilt(
    folder: Path,
    checkpoint: Path,
    record_ids: list[str],
    *,
    clients: int = 8,
    requests: int = 25,
    log_dir: Path,
    seed: int = 0,
    k: int = 5,
) -> dict:
    """Serve a prebuilt explorer folder (``ECG_EXPLORER_DIR``) and measure start-up, ``/analyze`` under ``clients``
    concurrent clients, Browse pages, the map and the server's memory."""
    env = dict(
        os.environ,
        HF_HUB_OFFLINE="1",
        ECG_CHECKPOINTS=f"{checkpoint.name}={checkpoint}",
        ECG_EXPLORER_DIR=str(folder),
        ECG_DATA_DIR=str(log_dir / "app-data"),
    )
    server = Server(env, log_dir / "server.log")
    try:
        ready_s = server.wait_ready(600)
        model_s = server.wait_ready(600, model=True)
        memory = {"after start": server_memory_mb(server.proc.pid)}
        load = run_load(server.url, record_ids, clients, requests, k, seed, "analyze", server.proc.pid)
        memory["after /analyze"] = server_memory_mb(server.proc.pid)
        pages = time_browse_and_map(server.url)
        memory["after Browse and the map"] = server_memory_mb(server.proc.pid)
    finally:
        server.stop()
    return {
        "indexed": len(record_ids),
        "index_served_s": round(ready_s, 1),
        "model_loaded_s": round(model_s, 1),
        "analyze": load,
        "browse_and_map": pages,
        "server_memory_mb": memory,
    }


if __name__ == "__main__":
    sys.exit(main())
