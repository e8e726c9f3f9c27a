"""ECG-encoder inference speed: the demo encoder against the MERL-style ResNet18-1D, measured in the same run.

Both encoders get the same input (12 leads at the demo config's rate and length, 100 Hz x 10 s by default). Reported:
throughput at batch 64 (ECGs per second, best of several timed rounds, the two encoders interleaved so that load from
other processes hits both alike) and single-ECG latency (median of N calls). Target: demo >= 2x ResNet18-1D
throughput and < 20 ms per single ECG.

    python -m bench.bench_inference                      # from the repository root; CUDA if available, else CPU
    python -m bench.bench_inference --threads 1 --json out.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch

from core.data.preprocess import PreprocessConfig
from core.models import create_encoder, default_device, get_model_config

REFERENCE = "resnet1d_18"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_call(fn: Callable[[], object], device: torch.device) -> float:
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--demo-model", default="mets-resnet1d-fast", help="model config whose ECG encoder is the demo's"
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds per encoder (best is reported)")
    parser.add_argument("--iters", type=int, default=5, help="batches per round")
    parser.add_argument("--latency-n", type=int, default=50, help="single-ECG calls (median is reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", default=None, help="default: CUDA if available, else CPU")
    parser.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device) if args.device else default_device()
    cfg = get_model_config(args.demo_model)
    pre = PreprocessConfig.from_dict(cfg["preprocess_cfg"])
    demo_spec = cfg["model_cfg"]["ecg"]
    encoders = {
        f"demo ({demo_spec['name']})": create_encoder(demo_spec["name"], **demo_spec.get("args", {})),
        f"reference ({REFERENCE})": create_encoder(REFERENCE),
    }
    for enc in encoders.values():
        enc.to(device).eval()
    torch.manual_seed(0)
    batch = torch.randn(args.batch, 12, pre.n_samples, device=device)
    single = batch[:1].clone()

    best: dict[str, float] = dict.fromkeys(encoders, float("inf"))
    latency: dict[str, list[float]] = {name: [] for name in encoders}
    with torch.inference_mode():
        for enc in encoders.values():  # warm-up (allocator, cuDNN autotune, oneDNN primitives)
            for _ in range(3):
                enc(batch)
                enc(single)
        for _ in range(args.rounds):
            for name, enc in encoders.items():
                elapsed = _time_call(lambda enc=enc: [enc(batch) for _ in range(args.iters)], device)
                best[name] = min(best[name], elapsed / args.iters)
        for _ in range(args.latency_n):
            for name, enc in encoders.items():
                latency[name].append(_time_call(lambda enc=enc: enc(single), device))

    results = {}
    print(
        f"device={device} threads={torch.get_num_threads()} input=(B, 12, {pre.n_samples}) "
        f"[{pre.fs_hz:g} Hz x {pre.duration_s:g} s], batch={args.batch}"
    )
    for name, enc in encoders.items():
        params = sum(p.numel() for p in enc.parameters())
        thr = args.batch / best[name]
        lat_ms = 1000 * statistics.median(latency[name])
        results[name] = {"params": params, "throughput_ecg_per_s": thr, "single_latency_ms_median": lat_ms}
        print(
            f"{name:32s} params={params / 1e6:6.2f}M  throughput={thr:9.1f} ECG/s  single-ECG latency={lat_ms:7.2f} ms"
        )
    demo_name, ref_name = list(encoders)
    ratio = results[demo_name]["throughput_ecg_per_s"] / results[ref_name]["throughput_ecg_per_s"]
    demo_lat = results[demo_name]["single_latency_ms_median"]
    print(
        f"throughput ratio demo/reference = {ratio:.2f}x (target >= 2x: {'PASS' if ratio >= 2 else 'FAIL'}); "
        f"demo single-ECG latency {demo_lat:.2f} ms (target < 20 ms: {'PASS' if demo_lat < 20 else 'FAIL'})"
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(
                {
                    "device": str(device),
                    "threads": torch.get_num_threads(),
                    "batch": args.batch,
                    "n_samples": pre.n_samples,
                    "results": results,
                    "ratio": ratio,
                },
                fh,
                indent=2,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
