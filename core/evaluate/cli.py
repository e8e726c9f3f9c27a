"""``python -m core evaluate``: zero-shot, probe, retrieval, contrast and precision@10 figures, as JSON + markdown."""

from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path

from core.evaluate.contrast import CONTRAST_SET
from core.evaluate.data import write_json
from core.evaluate.precision import QUERIES
from core.evaluate.ranking import RANKERS
from core.evaluate.report import markdown_report
from core.evaluate.runner import TASKS, evaluate_checkpoint

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--checkpoint", action="append", default=[], type=Path, help="checkpoint directory (repeat to compare several)"
    )
    parser.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        default=[],
        help="instead of evaluating, combine the runs of earlier --json files (each made by this "
        "command) into one JSON + markdown, e.g. checkpoints evaluated one at a time",
    )
    parser.add_argument(
        "--data",
        nargs="+",
        default=["ptbxl", "ludb", "cinc2021"],
        help="datasets: names resolved through the data cache / ECG_DATA_MIRROR, NAME=DIR, or DIR",
    )
    parser.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated subset of {','.join(TASKS)}")
    parser.add_argument("--json", type=Path, required=True, help="write every figure here")
    parser.add_argument("--markdown", type=Path, help="write the tables here (default: next to --json, .md)")
    parser.add_argument("--limit", type=int, help="at most this many records per split (smoke runs)")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples for the 95%% intervals")
    parser.add_argument("--cnn-epochs", type=int, default=30, help="epochs of the supervised CNN baseline")
    parser.add_argument("--contrast-set", type=Path, default=CONTRAST_SET, help="clinical contrast pairs (JSON)")
    parser.add_argument("--queries", type=Path, default=QUERIES, help="free-text queries for precision@10 (JSON)")
    parser.add_argument(
        "--report-ranker",
        choices=RANKERS,
        default="auto",
        help="text->report ranking of the contrast set (auto: hybrid where core.search exists)",
    )


def load_runs(path: Path) -> list[dict]:
    """The runs in an evaluation JSON (one run, or ``{"runs": [...]}``)."""
    data = json.loads(path.read_text())
    return list(data["runs"]) if "runs" in data else [data]


def run(args: argparse.Namespace) -> int:
    if bool(args.checkpoint) == bool(args.merge):
        log.error("give either --checkpoint DIR (repeatable) or --merge FILE.json ...")
        return 2
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    command = ("python -m core evaluate " + shlex.join(sys.argv[2:] if sys.argv[1:2] == ["evaluate"] else [])).strip()
    runs = []
    for path in args.merge:
        try:
            runs += load_runs(path)
        except (OSError, ValueError, KeyError, TypeError) as exc:  # ValueError covers malformed JSON
            log.error("cannot merge %s: not an evaluation JSON written by this command (%s)", path, exc)
            return 2
    for checkpoint in args.checkpoint:
        if not checkpoint.is_dir():
            log.error("checkpoint %s is not a directory", checkpoint)
            return 2
        runs.append(
            evaluate_checkpoint(
                checkpoint,
                args.data,
                tasks=tasks,
                limit=args.limit,
                n_bootstrap=args.bootstrap,
                cnn_epochs=args.cnn_epochs,
                contrast_set=args.contrast_set,
                queries=args.queries,
                report_ranker=args.report_ranker,
            )
            | {"command": command}
        )
    write_json(runs[0] if len(runs) == 1 else {"runs": runs}, args.json)
    # Merged runs keep the command that evaluated each of them.
    commands = list(dict.fromkeys([r["command"] for r in runs if r.get("command")] + [command]))
    markdown = markdown_report(runs, command="`, then `".join(commands))
    md_path = args.markdown or args.json.with_suffix(".md")
    md_path.write_text(markdown)
    print(markdown)
    log.info("wrote %s and %s", args.json, md_path)
    return 0
