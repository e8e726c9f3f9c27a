"""Label definitions over records (core/evaluate/labels.py): ``report:st`` reads the ST shifts a report names,
``report:t`` the T waves it names inverted or low."""

from __future__ import annotations

import json
from pathlib import Path

from core.data.catalogs.base import Record
from core.evaluate.labels import LabelDefinition, report_st_labels, report_t_labels
from core.evaluate.precision import load_queries


def _ptbxl(report: str) -> Record:
    return Record(
        record_id="ptbxl/x", dataset="ptbxl", path=Path("x"), text=report, text_en=report, labels={}, split="train"
    )


def test_report_st_names_the_shift_and_the_walls_its_leads_point_at():
    inferior = "q waves, st segment elevation in ii, iii, avf. st segments are depressed in i, avl, v5,6."
    assert report_st_labels(inferior) == ["elevation", "elevation:inferior", "depression", "depression:lateral"]
    assert report_st_labels("sinus rhythm. normal ecg.") == []
    definition = LabelDefinition.from_dict({"ptbxl": {"report:st": ["elevation:inferior"]}})
    records = [_ptbxl(inferior), _ptbxl("st elevation in v1-3."), _ptbxl("sinus rhythm.")]
    assert definition.positives(records).tolist() == [True, False, False]


def test_the_st_dev_queries_load_and_are_kept_apart_from_the_held_out_ones():
    dev = Path(__file__).parents[2] / "eval" / "dev_st_queries.json"
    queries = load_queries(dev)
    assert [q.text for q in queries][:2] == ["ST elevation", "ST segment elevation"]
    held_out = json.loads((dev.parent / "queries.json").read_text())["queries"]
    assert not {q.text for q in queries} & {q["query"] for q in held_out}


def test_report_t_names_the_inversion_and_the_walls_its_leads_point_at():
    lateral = "st segments are depressed in i, ii, avl. t waves are inverted in i, avl, v5,6."
    assert report_t_labels(lateral) == ["inverted", "inverted:lateral"]
    assert report_t_labels("negative t waves in v1-3.") == ["inverted", "inverted:septal", "inverted:anterior"]
    assert report_t_labels("t waves are low in ii, avf.") == ["low", "low:inferior"]
    both = "t waves are inverted in v2,3,4 and low or flat in v5,6."
    assert report_t_labels(both) == ["inverted", "inverted:septal", "inverted:anterior", "low", "low:lateral"]
    definition = LabelDefinition.from_dict({"ptbxl": {"report:t": ["inverted:lateral"]}})
    records = [_ptbxl(lateral), _ptbxl("negative t waves in v1-3."), _ptbxl("sinus rhythm.")]
    assert definition.positives(records).tolist() == [True, False, False]
    dev = load_queries(Path(__file__).parents[2] / "eval" / "dev_t_queries.json")
    assert [q.text for q in dev][0] == "T wave inversion" and len(dev) == 5
