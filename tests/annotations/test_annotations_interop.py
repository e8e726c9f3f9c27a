"""Label Studio and WFDB exports (issue 14, item 6): the structure Label Studio imports, and WFDB output that reads
back with ``wfdb.rdheader`` / ``wfdb.rdann``."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest
import wfdb

from core.__main__ import main
from core.annotations.desk import AnnotationDesk
from core.annotations.interop import label_studio_config, parse_wfdb_comment

REPORTS = {"ptbxl/00001": "sinus rhythm. normal ECG.", "ptbxl/00002": "inferior myocardial infarction"}
REFERENCE = {"ptbxl/00001": ["NORM"], "ptbxl/00002": ["MI", "STTC"]}


@pytest.fixture()
def wfdb_dir(tmp_path: Path) -> Path:
    """Two small synthetic WFDB records (500 Hz, 2 leads, 2 s)."""
    folder = tmp_path / "records"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name in ("00001_hr", "00002_hr"):
        wfdb.wrsamp(
            name,
            fs=500,
            units=["mV", "mV"],
            sig_name=["I", "II"],
            p_signal=rng.normal(size=(1000, 2)),
            fmt=["16", "16"],
            comments=["age: 61"],
            write_dir=str(folder),
        )
    return folder


@pytest.fixture()
def desk(store, wfdb_dir):
    store.annotate("ptbxl/00001", reviewer="ana", labels=["NORM"], status="confirmed")
    store.annotate(
        "ptbxl/00002", reviewer="Zoë", labels=["MI", "AV block, 1st degree"], status="corrected", note="Q in III\nok"
    )
    return AnnotationDesk(
        store=lambda: store,
        reference_labels=lambda r: REFERENCE.get(r, []),
        record_text=lambda r: REPORTS.get(r, ""),
        record_path=lambda r: wfdb_dir / f"{r.split('/')[1]}_hr",
    )


def test_label_studio_tasks_have_the_import_structure(desk):
    tasks = json.loads(desk.export_text("labelstudio"))
    assert [t["data"]["record_id"] for t in tasks] == ["ptbxl/00001", "ptbxl/00002"]
    t = tasks[1]
    assert t["data"]["text"] == REPORTS["ptbxl/00002"] and t["data"]["status"] == "corrected"
    (annotation,) = t["annotations"]
    choices, note = annotation["result"]
    assert choices == {
        "from_name": "labels",
        "to_name": "text",
        "type": "choices",
        "value": {"choices": ["AV block, 1st degree", "MI"]},
    }
    assert note["type"] == "textarea" and note["value"] == {"text": ["Q in III\nok"]}
    (prediction,) = t["predictions"]
    assert prediction["result"][0]["value"] == {"choices": ["MI", "STTC"]} and prediction["model_version"]
    assert tasks[0]["annotations"][0]["result"] == [
        {"from_name": "labels", "to_name": "text", "type": "choices", "value": {"choices": ["NORM"]}}
    ]
    # every from_name / to_name is a control of the labeling config
    config = label_studio_config(["MI", "NORM", 'a "quoted" <label>'])
    assert '<Choices name="labels" toName="text"' in config and '<Text name="text" value="$text"/>' in config
    assert "&lt;label&gt;" in config and '<TextArea name="note" toName="text"' in config
    path = desk.export_file("labelstudio")
    assert json.loads(Path(path).read_text(encoding="utf-8")) == tasks


def test_wfdb_output_reads_back_with_wfdb(desk, tmp_path):
    archive = desk.export_file("wfdb")
    out = tmp_path / "unzipped"
    with zipfile.ZipFile(archive) as z:
        z.extractall(out)
    header = wfdb.rdheader(str(out / "ptbxl" / "00002_hr"))
    assert header.fs == 500 and header.sig_name == ["I", "II"] and header.comments[0] == "age: 61"
    parsed = dict(filter(None, map(parse_wfdb_comment, header.comments)))
    assert parsed == {
        "labels": ["AV block, 1st degree", "MI"],
        "status": "corrected",
        "reviewer": "Zoë",
        "note": "Q in III\nok",
    }
    assert any(c.startswith("Labels: ") for c in header.comments)
    ann = wfdb.rdann(str(out / "ptbxl" / "00002_hr"), "lbl")
    assert set(ann.symbol) == {'"'} and ann.fs == 500
    assert dict(filter(None, map(parse_wfdb_comment, ann.aux_note))) == parsed
    ann1 = wfdb.rdann(str(out / "ptbxl" / "00001_hr"), "lbl")
    assert parse_wfdb_comment(ann1.aux_note[0]) == ("labels", ["NORM"])


def test_cli_labelstudio_and_wfdb_exports(store, db_path, tmp_path, capsys):
    store.annotate("ptbxl/00001", reviewer="ana", labels=["MI"], status="corrected")
    store.annotate("ludb/1", reviewer="ana", labels=["NORM"])
    store.close()
    out = tmp_path / "tasks.json"
    assert main(["annotations", "--db", str(db_path), "export", "--kind", "labelstudio", "--out", str(out)]) == 0
    assert "wrote 2 Label Studio tasks" in capsys.readouterr().out
    assert [t["data"]["record_id"] for t in json.loads(out.read_text(encoding="utf-8"))] == ["ludb/1", "ptbxl/00001"]
    assert '<Choice value="MI"/>' in out.with_suffix(".config.xml").read_text(encoding="utf-8")
    folder = tmp_path / "wfdb"
    assert main(["annotations", "--db", str(db_path), "export", "--kind", "wfdb", "--out", str(folder)]) == 0
    ann = wfdb.rdann(str(folder / "ludb" / "1"), "lbl")  # no header known: the annotation file alone
    assert parse_wfdb_comment(ann.aux_note[0]) == ("labels", ["NORM"])
