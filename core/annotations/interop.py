"""Label exports for other tools: a Label Studio import file, and WFDB header comments / annotation files.

- **Label Studio** (https://labelstud.io/guide/task_format, https://labelstud.io/guide/predictions): a JSON list of
  tasks, one per annotated record. ``data`` holds the record id and the report text (plus status and reviewer);
  ``annotations`` holds the reviewed labels (and note), ``predictions`` the dataset's reference labels, each as a
  ``result`` list of ``choices`` (and ``textarea``) items whose ``from_name`` / ``to_name`` match
  :data:`LABEL_STUDIO_CONFIG`. Import it into a project created with that labeling config.
- **WFDB** (PhysioNet tools): for each annotated record, a copy of its ``.hea`` with comment lines ``Labels: [...]``,
  ``Status: ...``, ``Reviewer: "..."``, ``Note: "..."`` added (written by ``wfdb``'s own header writer), and a
  ``<record>.lbl`` annotation file (``wfdb.wrann``) with one note annotation (symbol ``"``) per line, at sample 1.
  Both read back with ``wfdb.rdheader`` / ``wfdb.rdann``; :func:`parse_wfdb_comment` parses the lines.

The record data (report text, record path) come through callables, so the exports work from the app (the indexed
records), from the command line (a dataset catalog) and in tests.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

from core.annotations.schema import RecordState

# The Label Studio control names the tasks refer to.
LS_TEXT = "text"
LS_LABELS = "labels"
LS_NOTE = "note"
REFERENCE_VERSION = "dataset reference labels"
WFDB_EXTENSION = "lbl"
# WFDB stores an annotation's aux note with a one-byte length: keep each line well under 255 bytes.
_WFDB_AUX_BYTES = 240


def label_studio_config(choices: Iterable[str]) -> str:
    """The Label Studio labeling config (XML) the tasks of :func:`label_studio_tasks` fit."""
    options = "\n".join(f"    <Choice value={quoteattr(c)}/>" for c in sorted(set(choices)))
    return (
        "<View>\n"
        f'  <Text name="{LS_TEXT}" value="$text"/>\n'
        f'  <Choices name="{LS_LABELS}" toName="{LS_TEXT}" choice="multiple" allowNested="false">\n'
        f"{options}\n"
        "  </Choices>\n"
        f'  <TextArea name="{LS_NOTE}" toName="{LS_TEXT}" rows="3"/>\n'
        "</View>\n"
    )


def _choices(labels: Sequence[str]) -> dict:
    return {"from_name": LS_LABELS, "to_name": LS_TEXT, "type": "choices", "value": {"choices": list(labels)}}


def label_studio_tasks(
    states: Iterable[RecordState],
    *,
    text: Callable[[str], str] = lambda record_id: "",
    reference: Callable[[str], Sequence[str]] = lambda record_id: (),
) -> list[dict]:
    """One Label Studio task per record: the reviewed labels as an annotation, the reference labels as a prediction.

    Args:
        states: the records' current annotations.
        text: record id -> report text (shown in Label Studio as ``$text``).
        reference: record id -> the dataset's reference labels.
    """
    tasks = []
    for state in states:
        result = [_choices(state.labels)]
        if state.note:
            result.append(
                {"from_name": LS_NOTE, "to_name": LS_TEXT, "type": "textarea", "value": {"text": [state.note]}}
            )
        task = {
            "data": {
                "record_id": state.record_id,
                LS_TEXT: text(state.record_id) or "",
                "status": state.status,
                "reviewer": state.reviewer,
                "updated_at": state.updated_at,
            },
            "annotations": [{"result": result, "created_at": state.updated_at or None}],
        }
        ref = list(reference(state.record_id))
        if ref:
            task["predictions"] = [{"model_version": REFERENCE_VERSION, "result": [_choices(ref)]}]
        tasks.append(task)
    return tasks


def dumps_label_studio(tasks: list[dict]) -> str:
    return json.dumps(tasks, ensure_ascii=False, indent=1) + "\n"


def _fit(line: str, n_bytes: int = _WFDB_AUX_BYTES) -> str:
    data = line.encode("utf-8")
    return line if len(data) <= n_bytes else data[: n_bytes - 3].decode("utf-8", "ignore") + "..."


def _ascii_json(value) -> str:
    return json.dumps(value, ensure_ascii=True)


def wfdb_comment_lines(state: RecordState) -> list[str]:
    """The lines an annotation adds to a WFDB header / annotation file.

    WFDB headers are ASCII (``wfdb.rdheader`` drops other characters), and labels may contain commas, so the labels
    are a JSON list and the reviewer and note JSON strings, all ASCII-escaped: ``Labels: ["MI", "Zo\\u00eb"]``
    reads back exactly with :func:`parse_wfdb_comment`.
    """
    lines = [f"Labels: {_ascii_json(list(state.labels))}", f"Status: {state.status}"]
    if state.reviewer:
        lines.append(f"Reviewer: {_ascii_json(state.reviewer)}")
    if state.note:
        lines.append(f"Note: {_ascii_json(state.note)}")
    return lines


def parse_wfdb_comment(line: str) -> tuple[str, object] | None:
    """``("labels", [...])`` / ``("status", "...")`` / ``("reviewer", ...)`` / ``("note", ...)`` from a line written
    by :func:`wfdb_comment_lines` (``None`` for any other line)."""
    name, sep, value = line.strip().lstrip("#").strip().partition(": ")
    if not sep or name not in ("Labels", "Status", "Reviewer", "Note"):
        return None
    if name == "Status":
        return "status", value
    try:
        return name.lower(), json.loads(value)
    except json.JSONDecodeError:
        return None


def _record_name(record_id: str) -> str:
    """A file-system safe WFDB record name from a record id (``"ptbxl/00001"`` -> ``"00001"``)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", record_id.rsplit("/", 1)[-1]) or "record"


def write_wfdb(
    states: Iterable[RecordState],
    out_dir: str | Path,
    *,
    record_path: Callable[[str], str | Path | None] = lambda record_id: None,
    extension: str = WFDB_EXTENSION,
) -> list[Path]:
    """Write each record's labels as WFDB output under ``out_dir/<dataset>/``.

    Args:
        states: the records' current annotations.
        out_dir: the output folder (created).
        record_path: record id -> the WFDB record path without extension (its ``.hea`` is copied with the label
            comments added); ``None`` when unknown (only the annotation file is written then).
        extension: the annotation file extension.

    Returns:
        The files written.
    """
    import numpy as np
    import wfdb  # local: wfdb (with scipy) takes ~0.8 s to import and only this export needs it

    out_dir = Path(out_dir)
    written = []
    for state in states:
        folder = out_dir / _record_name(state.record_id.split("/", 1)[0] if "/" in state.record_id else "records")
        folder.mkdir(parents=True, exist_ok=True)
        lines = wfdb_comment_lines(state)
        source = record_path(state.record_id)
        fs = None
        name = _record_name(state.record_id)
        if source and Path(str(source) + ".hea").is_file():
            header = wfdb.rdheader(str(source))
            name, fs = header.record_name, header.fs
            header.comments = [*(header.comments or []), *lines]
            header.wrheader(write_dir=str(folder))
            written.append(folder / f"{name}.hea")
        # Sample 1, not 0: wfdb reads note annotations at sample 0 as custom label definitions and drops them.
        wfdb.wrann(
            name,
            extension,
            sample=np.ones(len(lines), dtype=np.int64),
            symbol=['"'] * len(lines),
            aux_note=[_fit(line) for line in lines],
            fs=fs,
            write_dir=str(folder),
        )
        written.append(folder / f"{name}.{extension}")
    return written
