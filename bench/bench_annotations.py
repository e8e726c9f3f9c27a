"""Reliability and speed figures of the annotation store (for the README).

    python -m bench.bench_annotations [--threads 8] [--writes 200] [--records 21799]   (from the repository root)

Prints, each on a temporary database:

1. concurrent writes: ``--threads`` threads x ``--writes`` annotate calls (half on 4 shared records, plus one retry
   with a reused idempotency key every 50 writes) -> events present / lost / duplicated, before->after chain
   breaks, events/s — with ``synchronous=FULL`` (the default) and ``NORMAL``;
2. single-thread latency of one annotate call (median and 95th percentile);
3. crash: a writer process commits N events, opens a transaction, writes 1,000 more, and is killed with SIGKILL
   -> events found on reopening, integrity check, time to reopen;
4. bad input: each rejected request, its error, and the number of events written (must be 0);
5. malformed / malicious imports: events and records files (CSV and JSON, imported as admin and not) that tie an
   undo to another record's event, undo an event twice or one that is nowhere, carry future or malformed times,
   HTML / Markdown / formula reviewer names, repeated keys, unknown actions or statuses -> files tried, rows
   written (must be 0), and ``check()`` afterwards;
6. writes without the role they need: the app's write functions (the API's annotate / undo / adjudicate and the
   tab's import) called with the requests of an anonymous visitor, a forged cookie, a viewer, and an annotator for
   the admin-only writes -> tried, refused, rows written (must be 0);
7. reads: current state of ``--records`` annotated records, and the Browse filter over them.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from core.annotations import AnnotationError, AnnotationStore, filter_records
from core.annotations.export import dumps_events, dumps_records, import_file

REPO_ROOT = Path(__file__).resolve().parents[1]


def concurrent(folder: Path, threads: int, writes: int, synchronous: str) -> str:
    store = AnnotationStore(folder / f"concurrent-{synchronous}.sqlite3", synchronous=synchronous)
    shared = [f"shared/{i}" for i in range(4)]
    barrier = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def writer(t: int) -> None:
        barrier.wait()
        try:
            for i in range(writes):
                record = shared[i % 4] if i % 2 else f"own/{t}"
                for _ in range(2 if i % 50 == 0 else 1):  # a retried request: same key
                    store.annotate(record, reviewer=f"t{t}", note=f"t{t} w{i}", key=f"t{t}-w{i}")
        except BaseException as exc:
            errors.append(exc)

    pool = [threading.Thread(target=writer, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    barrier.wait()
    start = time.perf_counter()
    for th in pool:
        th.join()
    seconds = time.perf_counter() - start
    events = store.history()
    keys = Counter(e.event_key for e in events)
    expected = {f"t{t}-w{i}" for t in range(threads) for i in range(writes)}
    last: dict[str, str] = {}
    breaks = 0
    for e in events:
        breaks += e.before["note"] != last.get(e.record_id, "")
        last[e.record_id] = e.after["note"]
    problems = store.check()
    store.close()
    return (
        f"{synchronous:<7} {threads}x{writes}: {len(events)} events of {len(expected)} expected, "
        f"lost {len(expected - set(keys))}, duplicated {sum(v - 1 for v in keys.values())}, "
        f"chain breaks {breaks}, errors {len(errors)}, check {'ok' if not problems else problems}; "
        f"{seconds:.2f} s, {len(events) / seconds:,.0f} events/s"
    )


def latency(folder: Path, n: int = 300) -> str:
    store = AnnotationStore(folder / "latency.sqlite3")
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        store.annotate(f"r/{i % 10}", reviewer="ana", note=f"note {i}", status="confirmed" if i % 2 else "corrected")
        times.append(time.perf_counter() - t0)
    store.close()
    times.sort()
    return (
        f"single thread, synchronous=FULL: median {statistics.median(times) * 1000:.1f} ms, "
        f"p95 {times[int(0.95 * n)] * 1000:.1f} ms per annotate ({n} calls)"
    )


_WRITER = r"""
import sys, time
from core.annotations import AnnotationStore
store = AnnotationStore(sys.argv[1])
for i in range(int(sys.argv[2])):
    store.annotate(f"rec/{i % 5}", reviewer="writer", note=f"committed {i}", key=f"c{i}")
store._conn().execute("PRAGMA cache_size=2")
with store.transaction() as tx:
    for i in range(1000):
        tx.annotate(f"rec/{i % 7}", reviewer="writer", note=f"uncommitted {i} " + "x" * 400, key=f"u{i}")
    print("ready", flush=True)
    time.sleep(120)
"""


def crash(folder: Path, n: int = 200) -> str:
    db = folder / "crash.sqlite3"
    AnnotationStore(db).close()
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(db), str(n)], cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "ready"
    wal_bytes = Path(str(db) + "-wal").stat().st_size
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    t0 = time.perf_counter()
    store = AnnotationStore(db)
    reopen_ms = (time.perf_counter() - t0) * 1000
    keys = [e.event_key for e in store.history()]
    problems = store.check()
    store.close()
    ok = keys == [f"c{i}" for i in range(n)]
    return (
        f"SIGKILL inside a 1,000-event transaction ({wal_bytes / 1e6:.1f} MB in the WAL): {len(keys)} of {n} "
        f"committed events found, in order: {ok}; uncommitted found: {sum(k.startswith('u') for k in keys)}; "
        f"check {'ok' if not problems else problems}; reopened in {reopen_ms:.0f} ms"
    )


def bad_inputs(folder: Path) -> list[str]:
    store = AnnotationStore(folder / "bad.sqlite3", known_record_ids={"ptbxl/00001"})
    cases = {
        "unknown record id": dict(record_id="ptbxl/99999", reviewer="ana", status="confirmed"),
        "unknown status": dict(record_id="ptbxl/00001", reviewer="ana", status="done"),
        "note over 10,000 characters": dict(record_id="ptbxl/00001", reviewer="ana", note="x" * 10_001),
        "label with a control character": dict(record_id="ptbxl/00001", reviewer="ana", labels=["MI\x07"]),
        "empty reviewer name": dict(record_id="ptbxl/00001", reviewer="  ", status="confirmed"),
    }
    lines = []
    for name, kwargs in cases.items():
        before = store.count_events()
        record_id = kwargs.pop("record_id")
        try:
            store.annotate(record_id, **kwargs)
            outcome = "ACCEPTED (bug)"
        except AnnotationError as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        lines.append(f"{name:<32} -> {outcome[:110]} | events written: {store.count_events() - before}")
    store.close()
    return lines


def malicious_imports(folder: Path) -> str:
    store = AnnotationStore(folder / "imports.sqlite3", known_record_ids={"ptbxl/00001", "ptbxl/00002"})
    a = store.annotate("ptbxl/00001", reviewer="ana", note="a")
    store.annotate("ptbxl/00002", reviewer="ana", note="b")
    store.undo(a.event_id, reviewer="ana")

    def ev(key, record_id="ptbxl/00001", action="annotate", reverts_key=None, **kw):
        before, after = ({"note": "x"}, {"note": ""}) if action == "undo" else ({"note": ""}, {"note": "x"})
        row = dict(event_id=0, event_key=key, record_id=record_id, ts="2024-05-01T10:00:00+00:00", reviewer="bo")
        return {
            **row,
            "action": action,
            "before": before,
            "after": after,
            "reverts": None,
            "reverts_key": reverts_key,
            **kw,
        }

    events = {
        "cross-record undo (in file)": [ev("e1"), ev("e2", "ptbxl/00002", "undo", "e1")],
        "cross-record undo (of a stored event)": [ev("e1", "ptbxl/00002", "undo", a.event_key)],
        "double undo (in file)": [
            ev("e1"),
            ev("e2", action="undo", reverts_key="e1"),
            ev("e3", action="undo", reverts_key="e1"),
        ],
        "double undo (of a stored event)": [ev("e1", action="undo", reverts_key=a.event_key)],
        "undo of a missing event": [ev("e1", action="undo", reverts_key="ghost")],
        "future time": [ev("e1", ts="2099-01-01T00:00:00+00:00")],
        "malformed time": [ev("e1", ts="<script>")],
        "HTML reviewer": [ev("e1", reviewer="<img src=x onerror=alert(1)>")],
        "Markdown image reviewer": [ev("e1", reviewer="![x](http://127.0.0.1:9/p.png)")],
        "formula reviewer": [ev("e1", reviewer="=HYPERLINK(1)")],
        "repeated key": [ev("e1"), ev("e1")],
        "unknown action": [ev("e1", action="delete")],
        "unknown record": [ev("e1", "ptbxl/99999")],
    }
    records = {
        "unknown status": [{"record_id": "ptbxl/00001", "status": "done", "labels": [], "note": ""}],
        "unknown record": [{"record_id": "../../etc/passwd", "status": "confirmed", "labels": [], "note": ""}],
        "control character label": [
            {"record_id": "ptbxl/00001", "status": "confirmed", "labels": ["MI\x07"], "note": ""}
        ],
    }
    files = []
    for fmt in ("csv", "json"):
        for i, rows in enumerate(events.values()):
            files.append((folder / f"bad-events-{i}.{fmt}", dumps_events(rows, fmt)))
        for i, rows in enumerate(records.values()):
            rows = [{**r, "reviewer": "bo", "updated_at": "", "n_events": 1, "last_event_id": 1} for r in rows]
            files.append((folder / f"bad-records-{i}.{fmt}", dumps_records(rows, fmt)))
    files.append((folder / "not-json.json", "{not json"))
    files.append((folder / "wrong-format.json", json.dumps({"format": "something else", "events": []})))
    before, tried, refused = store.count_events(), 0, 0
    for path, text in files:
        path.write_text(text, encoding="utf-8")
        for as_admin in (False, True):
            tried += 1
            try:
                import_file(store, path, reviewer="bo", as_admin=as_admin)
            except AnnotationError:
                refused += 1
    written = store.count_events() - before
    # control: the same kind of file, valid, is imported (so the refusals above are the checks, not the harness)
    control = folder / "valid-events.json"
    control.write_text(dumps_events([ev("ok1", "ptbxl/00002")], "json"), encoding="utf-8")
    control_written = import_file(store, control, reviewer="bo").written
    problems = store.check()
    store.close()
    return (
        f"malformed/malicious imports tried: {tried} ({len(events)} events and {len(records)} records cases x csv/json "
        f"x admin/not, + 2 unreadable files); refused: {refused}; rows written: {written}; "
        f"check {'ok' if not problems else problems} (control: a valid 1-event file writes {control_written})"
    )


def unauthorised_writes(folder: Path) -> str:
    import gradio as gr  # local: only this section needs the app

    from app.auth import COOKIE, SignIn
    from app.views.annotate_api import api_functions
    from app.views.annotate_forms import import_annotations_file
    from core.annotations.desk import AnnotationDesk
    from core.annotations.identity import AccessPolicy, add_account

    accounts = folder / "accounts.json"
    for user, role in [("vic", "viewer"), ("ana", "annotator")]:
        add_account(accounts, user, f"{user}-password", role)
    store = AnnotationStore(folder / "roles.sqlite3", known_record_ids={"ptbxl/00001", "ptbxl/00002"})
    desk = AnnotationDesk(store=lambda: store)
    sign_in = SignIn(AccessPolicy("accounts", accounts_file=accounts), secret="bench")
    api = api_functions(desk, sign_in)
    bo_review = store.annotate("ptbxl/00001", reviewer="bo", labels=["MI"])  # something to undo and adjudicate
    export = folder / "events.json"
    export.write_text(dumps_events([e.to_dict() for e in store.history()], "json"), encoding="utf-8")

    def request(cookie: str | None) -> gr.Request:
        return gr.Request(client={"host": "127.0.0.1"}, cookies={COOKIE: cookie} if cookie else {}, headers={})

    callers = {
        "anonymous": request(None),
        "forged cookie": request("ana"),
        "viewer": request(sign_in.token_for("vic")),
        "annotator": request(sign_in.token_for("ana")),
    }
    writes = {
        "annotate": lambda r: api["annotate"]("ptbxl/00002", ["NORM"], "corrected", request=r),
        "undo": lambda r: api["undo_annotation"]("ptbxl/00001", bo_review.event_id, request=r),
        "adjudicate": lambda r: api["adjudicate"]("ptbxl/00001", ["NORM"], request=r),
        "import": lambda r: import_annotations_file(desk, str(export), sign_in.identify(r)),
    }
    admin_only = {"adjudicate", "import"}
    before, tried, refused = store.count_events(), 0, 0
    for caller, req in callers.items():
        for name, write in writes.items():
            if caller == "annotator" and name not in admin_only | {"undo"}:  # an annotator may annotate
                continue
            tried += 1
            try:
                write(req)
            except (gr.Error, AnnotationError):
                refused += 1
    written = store.count_events() - before
    control = writes["annotate"](callers["annotator"])  # the same call, allowed: writes 1
    store.close()
    return (
        f"writes without the needed role tried: {tried} (annotate/undo/adjudicate/import by an anonymous visitor, a "
        f"forged cookie and a viewer; undo of another reviewer's change, adjudicate and import by an annotator); "
        f"refused: {refused}; rows written: {written} (control: an annotator's save writes "
        f"{1 if control['event'] else 0})"
    )


def reads(folder: Path, n: int) -> str:
    store = AnnotationStore(folder / "reads.sqlite3", synchronous="NORMAL")
    statuses = ["confirmed", "corrected", "needs_second_opinion", "unreviewed"]
    t0 = time.perf_counter()
    with store.transaction() as tx:
        for i in range(n):
            tx.annotate(f"ptbxl/{i:05d}", reviewer="bulk", status=statuses[i % 4], labels=[["NORM"], ["MI"]][i % 2])
    write_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    n_states = len(store.states())
    states_ms = (time.perf_counter() - t0) * 1000
    t0 = time.perf_counter()
    hits = filter_records(store, status="corrected", label="MI")
    filter_ms = (time.perf_counter() - t0) * 1000
    store.close()
    return (
        f"{n:,} records written in one transaction in {write_s:.2f} s; all {n_states:,} states read in "
        f"{states_ms:.0f} ms; filter status=corrected & label=MI -> {len(hits):,} records in {filter_ms:.0f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--writes", type=int, default=200)
    parser.add_argument("--records", type=int, default=21_799, help="records for the read benchmark (PTB-XL size)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-annotations-") as tmp:
        folder = Path(tmp)
        print("== concurrent writers")
        for sync in ("FULL", "NORMAL"):
            print(concurrent(folder, args.threads, args.writes, sync))
        print("== latency")
        print(latency(folder))
        print("== crash")
        print(crash(folder))
        print("== bad input")
        print("\n".join(bad_inputs(folder)))
        print("== malformed / malicious imports")
        print(malicious_imports(folder))
        print("== writes without the role")
        print(unauthorised_writes(folder))
        print("== reads")
        print(reads(folder, args.records))


if __name__ == "__main__":
    main()
