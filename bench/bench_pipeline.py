"""End to end on a synthetic MIMIC-IV-ECG-layout corpus: corpus → preprocess → embed → index + map → app serving.

    python -m bench.bench_pipeline --n 20000 --work /work/scale/pipeline-20k --source ../shared/data

Each stage runs in its own subprocess (``--stage NAME``), so a stage's peak memory is its own: the table gives the
stage process's peak RSS (``VmHWM``) and the largest peak of any process in its tree (``wait4``'s ``ru_maxrss``,
which covers worker processes). A finished stage writes ``WORK/stages/<stage>.json``; a second invocation prints
that stage's figures again and does not redo it (``--redo STAGE`` does). The stages call the library:

- corpus: :func:`core.data.synthetic.synthesize_corpus` (skipped when ``--corpus`` names an existing one);
- preprocess: the sharded cache of :class:`core.data.dataset.ECGTextDataset` with the checkpoint's preprocessing;
- embed: ``python -m core embed`` (reads that cache);
- index: report embeddings (each distinct report once), then :func:`core.explorer.build.index_corpus` (the two
  indexes, exact or IVF-SQ8 by size, and the map; its steps are timed, and the peak reset between them through
  ``/proc/self/clear_refs``);
- serve: the app (``python app.py`` with ``ECG_EXPLORER_DIR``) under 8 concurrent ``/analyze`` clients, one Browse
  page and the map (:func:`bench.bench_app.serve_prebuilt`).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STAGES = ("corpus", "preprocess", "embed", "index", "serve")
logger = logging.getLogger("bench_pipeline")


# ---- measuring ---------------------------------------------------------------------------------------------------
def peak_rss_mb() -> float:
    """This process's peak resident set size since start or the last :func:`reset_peak` (``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def reset_peak() -> None:
    """Restart ``VmHWM`` from the current RSS (Linux: writing 5 to ``clear_refs``), so each step has its own peak."""
    Path("/proc/self/clear_refs").write_text("5")


class StepTimer:
    """A progress callback that times ``index_corpus``'s steps (indexes, map, save) and their peak RSS each."""

    def __init__(self) -> None:
        self.step = "indexes"
        self.t0 = time.perf_counter()
        self.steps: dict[str, dict[str, float]] = {}

    def _close(self) -> None:
        self.steps[self.step] = {"s": round(time.perf_counter() - self.t0, 1), "peak_rss_mb": round(peak_rss_mb())}
        reset_peak()
        self.t0 = time.perf_counter()

    def __call__(self, progress, desc: str | None = None) -> None:
        desc = desc or ""
        following = "map" if desc.startswith("fitting the") else "save" if desc.startswith("saving") else None
        if following and following != self.step:
            self._close()
            self.step = following

    def finish(self) -> dict[str, dict[str, float]]:
        self._close()
        return self.steps


# ---- the stages (each in its own process) ---------------------------------------------------------------------------
def _corpus_records(corpus: Path) -> tuple[list, dict]:
    from core.embed_corpus import load_records

    return load_records([f"mimic_iv_ecg={corpus}"])


def stage_corpus(args) -> dict:
    from core.data.synthetic import synthesize_corpus

    stats = synthesize_corpus(args.n, args.corpus, args.source, workers=args.workers)
    return {"records": stats.n_records, "records_per_s": round(stats.records_per_s, 1)}


def stage_preprocess(args) -> dict:
    from core.data.dataset import ECGTextDataset
    from core.embed import Embedder

    embedder = Embedder.from_checkpoint(args.checkpoint, lazy=True)  # only its preprocessing config is needed
    t0 = time.perf_counter()
    records, catalogs = _corpus_records(args.corpus)
    listed_s = time.perf_counter() - t0
    dataset = ECGTextDataset(records, catalogs, embedder.preprocess_cfg, args.cache_dir, workers=args.workers)
    return {"records": len(dataset), "skipped": len(dataset.skipped), "catalog_s": round(listed_s, 1)}


def stage_embed(args) -> dict:
    from core.__main__ import main as core_main

    argv = ["embed", "--checkpoint", str(args.checkpoint), "--data", f"mimic_iv_ecg={args.corpus}"]
    argv += ["--out", str(args.work / "embed"), "--cache-dir", str(args.cache_dir)]
    argv += ["--workers", str(args.workers)] if args.workers else []
    if core_main(argv) != 0:
        raise RuntimeError("python -m core embed failed")
    manifest = json.loads((args.work / "embed" / "manifest.json").read_text())
    return {"records": manifest["n"], "dim": manifest["dim"], "skipped": manifest["n_skipped"]}


def stage_index(args) -> dict:
    import numpy as np

    from core.embed import Embedder
    from core.embed_corpus import load_corpus_embeddings
    from core.explorer.build import index_corpus, record_info, shipped_prompt_texts

    corpus = load_corpus_embeddings(args.work / "embed")
    records, _ = _corpus_records(args.corpus)
    by_id = {r.record_id: r for r in records}
    infos = [record_info(by_id[rid]) for rid in corpus.record_ids]
    ecg_emb = corpus.embeddings
    embedder = Embedder.from_checkpoint(args.checkpoint)
    t0 = time.perf_counter()
    # Synthetic reports repeat their sources' texts: each distinct text is embedded once.
    texts = [r.text_en for r in infos]
    distinct = list(dict.fromkeys(texts))
    row_of = {t: i for i, t in enumerate(distinct)}
    text_emb = embedder.encode_texts(distinct)[np.array([row_of[t] for t in texts])].astype(np.float32)
    prompt_texts = shipped_prompt_texts()
    prompt_emb = embedder.encode_texts(prompt_texts)
    report_step = {"s": round(time.perf_counter() - t0, 1), "peak_rss_mb": round(peak_rss_mb())}
    if args.copies > 1:
        infos, ecg_emb, text_emb = replicate(infos, np.asarray(ecg_emb), text_emb, args.copies, args.seed)
    reset_peak()
    timer = StepTimer()
    key = f"{embedder.checkpoint_hash[:16]}-synthetic-{len(infos)}"
    folder = args.work / "explorer" / key
    manifest = {"checkpoint_hash": embedder.checkpoint_hash, "checkpoint_name": args.checkpoint.name,
                "corpus": str(args.corpus)}  # fmt: skip
    explorer = index_corpus(
        infos, ecg_emb, text_emb, key=key, folder=folder, map_method=args.map, manifest=manifest,
        progress=timer, prompt_texts=prompt_texts, prompt_emb=prompt_emb,
    )  # fmt: skip
    saved = json.loads((folder / "manifest.json").read_text())["indexes"]
    steps = {"report embeddings": report_step, **timer.finish()}
    return {
        "records": len(explorer),
        "distinct_reports": len(distinct),
        "copies": args.copies,
        "steps": steps,
        # The peak was reset between steps: the stage's own peak is the largest step's.
        "peak_rss_mb": max(step["peak_rss_mb"] for step in steps.values()),
        "indexes": {name: {k: p.get(k) for k in ("kind", "nprobe", "recall_at_10")} for name, p in saved.items()},
        "folder": str(folder),
        "folder_mb": round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20),
    }


def replicate(infos: list, ecg_emb, text_emb, copies: int, seed: int) -> tuple[list, object, object]:
    """``copies`` times the records, to serve a larger index from one embedded corpus: copy ``c`` > 0 of a record
    gets the id suffix ``#c``, the same file and report, and its ECG embedding turned a little (Gaussian noise of
    norm ≈ 0.1, renormalised: cosine ≈ 0.995 to the original). They are not new ECGs: they give the index, map and
    app their size, nothing about the model."""
    import dataclasses

    import numpy as np

    rng = np.random.default_rng(seed)
    dim = ecg_emb.shape[1]
    out_infos, ecg = list(infos), [np.asarray(ecg_emb, np.float32)]
    for c in range(1, copies):
        out_infos += [dataclasses.replace(r, record_id=f"{r.record_id}#{c}") for r in infos]
        noisy = ecg[0] + rng.normal(0.0, 0.1 / np.sqrt(dim), ecg[0].shape).astype(np.float32)
        ecg.append(noisy / np.linalg.norm(noisy, axis=1, keepdims=True))
    return out_infos, np.concatenate(ecg), np.concatenate([text_emb] * copies)


def stage_serve(args) -> dict:
    from bench.bench_app import explorer_record_ids, serve_prebuilt

    folder = Path(json.loads((args.work / "stages" / f"{result_name('index', args)}.json").read_text())["folder"])
    return serve_prebuilt(
        folder, args.checkpoint, explorer_record_ids(folder), clients=args.clients, requests=args.requests,
        log_dir=args.work, seed=args.seed,
    )  # fmt: skip


STAGE_FUNCTIONS = {
    "corpus": stage_corpus,
    "preprocess": stage_preprocess,
    "embed": stage_embed,
    "index": stage_index,
    "serve": stage_serve,
}


def result_name(stage: str, args) -> str:
    """The stage's result file stem: index and serve with ``--copies K`` are other runs (``index-xK``)."""
    return f"{stage}-x{args.copies}" if args.copies > 1 and stage in ("index", "serve") else stage


# ---- the driver ---------------------------------------------------------------------------------------------------
def run_stage(name: str, argv: list[str], result_path: Path) -> dict:
    """Run one stage in a child process; its result with wall time, its own peak and its tree's largest peak."""
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bench.bench_pipeline", *argv, "--stage", name], cwd=REPO)
    _, status, usage = os.wait4(proc.pid, 0)
    wall_s = time.perf_counter() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"stage {name} failed (exit {os.waitstatus_to_exitcode(status)})")
    result = json.loads(result_path.read_text())
    result.update(
        wall_s=round(wall_s, 1),
        # ru_maxrss is in kB; it follows VmHWM, so a stage that reset its peak between steps reports its largest step.
        tree_peak_rss_mb=max(round(usage.ru_maxrss / 1024), result["peak_rss_mb"]),
        load_average_1min=[round(load_before, 2), round(os.getloadavg()[0], 2)],
    )
    result_path.write_text(json.dumps(result, indent=1) + "\n")
    return result


def print_table(results: dict[str, dict]) -> None:
    print("\n| stage | wall | stage process peak RSS | largest peak in its process tree | load (1 min) start → end |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        load = " → ".join(f"{x:.1f}" for x in r["load_average_1min"])
        print(f"| {name} | {r['wall_s']:,.1f} s | {r['peak_rss_mb']:,} MB | {r['tree_peak_rss_mb']:,} MB | {load} |")
    index = next((r for name, r in results.items() if name.startswith("index")), None)
    if index:
        steps = ", ".join(f"{n} {s['s']} s / {s['peak_rss_mb']:,} MB" for n, s in index["steps"].items())
        print(f"\nindex ({index['records']:,} records): {steps}; indexes {index['indexes']}")
    serve = next((r for name, r in results.items() if name.startswith("serve")), None)
    if serve:
        a = serve["analyze"]
        print(
            f"serve: {a['clients']} clients x {a['requests_per_client']} /analyze: p50 {a['p50_ms']} ms, "
            f"p95 {a['p95_ms']} ms, {a['errors']} errors; server memory {serve['server_memory_mb']}"
        )
        for what, t in serve["browse_and_map"].items():
            print(f"  {what}: {t}")
    print()
    print(json.dumps(results, indent=1))


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="records in the synthetic corpus")
    parser.add_argument("--work", type=Path, required=True, help="working folder, outside the repository")
    parser.add_argument("--source", type=Path, default=REPO.parent / "shared" / "data", help="real records")
    parser.add_argument("--corpus", type=Path, help="an existing synthetic corpus (default: WORK/corpus, written)")
    parser.add_argument("--cache-dir", type=Path, help="preprocessing cache (default: WORK/cache)")
    parser.add_argument("--checkpoint", type=Path, default=REPO / "checkpoints" / "mets")
    parser.add_argument("--map", choices=("umap", "pca"), default="umap")
    parser.add_argument("--workers", type=int, default=2, help="preprocessing / corpus writer processes")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=25, help="/analyze calls per client")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--copies", type=int, default=1, help="index and serve the embedded records this many times (see replicate)"
    )
    parser.add_argument("--redo", nargs="*", default=[], choices=STAGES, help="stages to run again")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # internal: run one stage here
    args = parser.parse_args(argv)
    args.work = args.work.resolve()
    args.corpus = (args.corpus or args.work / "corpus").resolve()
    args.cache_dir = (args.cache_dir or args.work / "cache").resolve()
    args.checkpoint = args.checkpoint.resolve()
    if args.work.is_relative_to(REPO) or args.corpus.is_relative_to(REPO):
        parser.error("keep the corpus and the working folder outside the repository")
    return args


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    stages_dir = args.work / "stages"
    if args.stage:  # a child: run one stage, write its result
        result = STAGE_FUNCTIONS[args.stage](args)
        result.setdefault("peak_rss_mb", round(peak_rss_mb()))
        stages_dir.mkdir(parents=True, exist_ok=True)
        (stages_dir / f"{result_name(args.stage, args)}.json").write_text(json.dumps(result, indent=1) + "\n")
        return 0
    child_argv = [a for a in argv if a != "--redo" and a not in STAGES]
    results: dict[str, dict] = {}
    for name in STAGES:
        path = stages_dir / f"{result_name(name, args)}.json"
        if name == "corpus" and (args.corpus / "record_list.csv").is_file() and not path.is_file():
            logger.info("corpus: using the existing %s", args.corpus)
            continue
        if path.is_file() and name not in args.redo:
            logger.info("%s: done earlier (%s)", name, path)
            results[name] = json.loads(path.read_text())
            continue
        logger.info("%s: running", name)
        results[name] = run_stage(name, child_argv, path)
    print_table(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
