"""``python -m core annotations export|import|history|check``: the annotation store from the command line.

Examples::

    python -m core annotations export --kind records --out annotations.csv
    python -m core annotations export --kind events --out events.json
    python -m core annotations export --kind reviewers --out reviewers.csv
    python -m core annotations export --kind adjudicated --out adjudicated.json
    python -m core annotations export --kind labelstudio --out tasks.json --dataset ptbxl --root DIR
    python -m core annotations export --kind wfdb --out wfdb_labels/ --dataset ptbxl --root DIR
    python -m core annotations import annotations.csv --reviewer ana
    python -m core annotations import events.json --reviewer admin --as-admin
    python -m core annotations history ptbxl/00001
    python -m core annotations check
    python -m core annotations add-user ana --role annotator --accounts accounts.json   (asks for the password)

``--db`` selects the database (default: ``core.paths.data_dir() / "annotations" / "annotations.sqlite3"``).
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys
from pathlib import Path

from core.annotations.errors import AnnotationError
from core.annotations.export import KINDS, REVIEW_KINDS, export, import_file
from core.annotations.identity import ROLES, add_account
from core.annotations.interop import dumps_label_studio, label_studio_config, label_studio_tasks, write_wfdb
from core.annotations.store import AnnotationStore, default_path

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Subcommands of ``annotations``."""
    parser.add_argument("--db", type=Path, default=None, help=f"database file (default: {default_path()})")
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = sub.add_parser("export", help="write current record states or the event log as CSV / JSON")
    p.add_argument(
        "--kind",
        choices=(*KINDS, *REVIEW_KINDS, *INTEROP_KINDS),
        default="records",
        help="records (one row per record), events, reviewers (one row per record and reviewer), adjudicated "
        "(adjudicated labels per record), labelstudio (Label Studio tasks JSON) or wfdb (a folder of "
        ".hea copies with label comments and .lbl annotation files)",
    )
    p.add_argument("--out", type=Path, required=True, help="output file (.csv / .json); a folder for --kind wfdb")
    p.add_argument("--dataset", default=None, help="catalog of the records (report text, WFDB files), e.g. ptbxl")
    p.add_argument("--root", default=None, help="the dataset folder for --dataset (default: the download cache)")
    p = sub.add_parser("import", help="read a records or events export back (CSV / JSON)")
    p.add_argument("file", type=Path, help="a file written by export")
    p.add_argument("--reviewer", default="import", help="who imports; the events are theirs (default: import)")
    p.add_argument(
        "--as-admin",
        action="store_true",
        help="an admin import: an events file keeps its reviewers and times (otherwise they become --reviewer's)",
    )
    p = sub.add_parser("history", help="print the events of one record (or all)")
    p.add_argument("record_id", nargs="?", default=None)
    sub.add_parser("check", help="integrity check and replay of the event log against the stored states")
    p = sub.add_parser("add-user", help="add a local account (or change its password and role) in the accounts file")
    p.add_argument("user", help="the account name (letters, digits and . _ @ -)")
    p.add_argument("--role", default="annotator", choices=(*ROLES, "adjudicator"), help="default: annotator")
    p.add_argument(
        "--accounts",
        type=Path,
        default=None,
        help="the accounts file the app reads through ECG_ACCOUNTS_FILE (default: $ECG_ACCOUNTS_FILE)",
    )
    p.add_argument("--password-stdin", action="store_true", help="read the password from standard input (for scripts)")


INTEROP_KINDS = ("labelstudio", "wfdb")


def _catalog_lookup(dataset: str | None, root: str | None) -> dict:
    """record id -> catalog record of ``dataset`` (empty without one)."""
    if not dataset:
        return {}
    from core.data.catalogs import load_catalog  # local: loading catalogs pulls in pandas and the readers

    return {r.record_id: r for r in load_catalog(dataset, root, download=False).records}


def _reference(labels: dict[str, list[str]]) -> list[str]:
    """All reference labels of a catalog record, de-duplicated, in label-set order."""
    return list(dict.fromkeys(v for values in labels.values() for v in values))


def _export_interop(store: AnnotationStore, args: argparse.Namespace) -> int:
    records = _catalog_lookup(args.dataset, args.root)
    states = list(store.states().values())
    if args.kind == "labelstudio":
        tasks = label_studio_tasks(
            states,
            text=lambda r: records[r].text_en if r in records else "",
            reference=lambda r: _reference(records[r].labels) if r in records else (),
        )
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(dumps_label_studio(tasks), encoding="utf-8")
        config = args.out.with_suffix(".config.xml")
        config.write_text(label_studio_config({lab for s in states for lab in s.labels}), encoding="utf-8")
        print(f"wrote {len(tasks)} Label Studio tasks to {args.out} (labeling config: {config})")
        return 0
    files = write_wfdb(states, args.out, record_path=lambda r: records[r].path if r in records else None)
    print(f"wrote {len(files)} WFDB files for {len(states)} records under {args.out}")
    return 0


def _add_user(args: argparse.Namespace) -> int:
    """Write the user's scrypt hash into the accounts file; the password never appears on the command line."""
    path = args.accounts or (Path(os.environ["ECG_ACCOUNTS_FILE"]) if os.environ.get("ECG_ACCOUNTS_FILE") else None)
    if path is None:
        print("name the accounts file: --accounts FILE (or set ECG_ACCOUNTS_FILE)")
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {args.user}: ")
        if getpass.getpass("again: ") != password:
            print("the passwords differ; nothing written")
            return 1
    try:
        account = add_account(path, args.user, password, args.role)
    except AnnotationError as exc:
        print(f"not added: {exc}")
        return 1
    print(f"{account.user} ({account.role}) written to {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Run one subcommand; returns 0 on success, 1 on a rejected import or a failed check, 2 on a missing file."""
    if args.action == "add-user":
        return _add_user(args)
    db = args.db or default_path()
    if args.action != "import" and args.action != "export" and not Path(db).is_file():
        print(f"no annotation database at {db}")
        return 2
    with AnnotationStore(db) as store:
        if args.action == "export" and args.kind in INTEROP_KINDS:
            return _export_interop(store, args)
        if args.action == "export":
            path = export(store, args.out, kind=args.kind)
            counts = {
                "events": store.count_events,
                "reviewers": lambda: len(store.reviewer_states()),
                "adjudicated": lambda: len(store.adjudicated()),
            }
            n = counts.get(args.kind, lambda: len(store.states()))()
            print(f"wrote {n} {args.kind} to {path}")
            return 0
        if args.action == "import":
            try:
                report = import_file(store, args.file, reviewer=args.reviewer, as_admin=args.as_admin)
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
