"""``python -m core annotations export|import|history|check``: the annotation store from the command line.

Examples::

    python -m core annotations export --kind records --out annotations.csv
    python -m core annotations export --kind events --out events.json
    python -m core annotations import annotations.csv --reviewer ana
    python -m core annotations history ptbxl/00001
    python -m core annotations check

``--db`` selects the database (default: ``core.paths.data_dir() / "annotations" / "annotations.sqlite3"``).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from core.annotations.errors import AnnotationError
from core.annotations.export import KINDS, export, import_file
from core.annotations.store import AnnotationStore, default_path

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Subcommands of ``annotations``."""
    parser.add_argument("--db", type=Path, default=None, help=f"database file (default: {default_path()})")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("export", help="write current record states or the event log as CSV / JSON")
    p.add_argument("--kind", choices=KINDS, default="records", help="records (one row per record) or events")
    p.add_argument("--out", type=Path, required=True, help="output file; .csv or .json")
    p = sub.add_parser("import", help="read a records or events export back (CSV / JSON)")
    p.add_argument("file", type=Path, help="a file written by export")
    p.add_argument("--reviewer", default="import", help="who a records import is attributed to (default: import)")
    p = sub.add_parser("history", help="print the events of one record (or all)")
    p.add_argument("record_id", nargs="?", default=None)
    sub.add_parser("check", help="integrity check and replay of the event log against the stored states")


def run(args: argparse.Namespace) -> int:
    """Run one subcommand; returns 0 on success, 1 on a rejected import or a failed check, 2 on a missing file."""
    db = args.db or default_path()
    if args.action != "import" and args.action != "export" and not Path(db).is_file():
        print(f"no annotation database at {db}")
        return 2
    with AnnotationStore(db) as store:
        if args.action == "export":
            path = export(store, args.out, kind=args.kind)
            n = store.count_events() if args.kind == "events" else len(store.states())
            print(f"wrote {n} {args.kind} to {path}")
            return 0
        if args.action == "import":
            try:
                report = import_file(store, args.file, reviewer=args.reviewer)
            except AnnotationError as exc:
                print(f"import rejected, nothing written: {exc}")
                return 1
            print(f"{args.file}: {report}")
            return 0
        if args.action == "history":
            for e in store.history(args.record_id):
                print(f"#{e.event_id}\t{e.ts}\t{e.record_id}\t{e.reviewer}\t{e.describe()}")
            return 0
        problems = store.check()
        print(f"{db}: schema v{store.schema_version}, {store.count_events()} events, {len(store.states())} records")
        for p in problems:
            print(f"PROBLEM: {p}")
        print("ok" if not problems else f"{len(problems)} problems")
        return 1 if problems else 0
