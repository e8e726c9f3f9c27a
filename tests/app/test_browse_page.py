"""Browse in the app: one page of records per request (JSON /records and the tab's /browse_page), labels per dataset,
and readable rows; on real PTB-XL + LUDB records."""

from __future__ import annotations

import pandas as pd

from app.formatting import TABLE_MAX_LABELS, label_summary, records_frame
from app.views.browse import label_dropdown
from core.explorer import RecordInfo


def _frame(value: dict) -> pd.DataFrame:
    return pd.DataFrame(value["data"], columns=value["headers"])


def test_records_endpoint_sends_one_page_with_the_total(client, services):
    ids = [r.record_id for r in services.explorer().records]
    first = client.predict("", "all", "all", "all", "all", 1, 10, api_name="/records")
    assert (first["total"], first["n_pages"], first["page"], first["page_size"]) == (22, 3, 1, 10)
    assert list(_frame(first)["record_id"]) == ids[:10]
    last = client.predict("", "all", "all", "all", "all", 3, 10, api_name="/records")
    assert list(_frame(last)["record_id"]) == ids[20:]
    ludb = client.predict("", "ludb", api_name="/records")
    assert ludb["total"] == 6 and set(_frame(ludb)["dataset"]) == {"ludb"}


def test_browse_page_endpoint_pages_and_searches_report_text(client, services):
    ids = [r.record_id for r in services.explorer().records]
    table, summary, page = client.predict("", "all", "all", "all", "all", 2, 10, api_name="/browse_page")
    assert page == 2 and list(_frame(table)["record_id"]) == ids[10:20]
    assert summary == "Records 11–20 of 22 · page 2 of 3"
    # German report text (PTB-XL's original) is searched too.
    table, summary, page = client.predict("sinusrhythmus", "all", "all", "all", "all", 1, 25, api_name="/browse_page")
    found = _frame(table)
    assert len(found) > 0 and all("sinusrhythmus" in services.explorer().record(i).text for i in found["record_id"])
    assert summary.startswith(f"Records 1–{len(found)} of {len(found)}")


def test_label_filter_offers_the_chosen_datasets_own_labels(services):
    ptbxl = dict((v, k) for k, v in label_dropdown(services, "ptbxl").constructor_args["choices"])
    ludb = dict((v, k) for k, v in label_dropdown(services, "ludb").constructor_args["choices"])
    assert "NORM" in ptbxl and "sinus rhythm" in ludb
    assert not set(ptbxl) & set(ludb) - {"all"}  # no vocabulary mixing
    n_norm = sum("NORM" in r.label_list() for r in services.explorer().records)
    assert ptbxl["NORM"] == f"NORM ({n_norm})"
    assert label_dropdown(services, "all").constructor_args["choices"] == ["all"]  # choose a dataset first


def test_rows_clamp_labels_and_leave_out_a_repeated_report():
    labels = {"form": [f"L{i}" for i in range(7)]}
    rec = RecordInfo("x/1", "x", "Same text.", "Same text.", labels)
    row = records_frame([rec]).iloc[0]
    assert row["labels"] == label_summary(rec.label_list()) == "L0, L1, L2, L3 +3 more"
    assert TABLE_MAX_LABELS == 4 and row["report (English)"] == "Same text." and row["report"] == ""


def test_the_original_report_reads_with_its_umlauts_repaired(shared_data):
    """PTB-XL stored umlauts in upper case inside lower-case words ("vÄnster"); the reader sees "vänster"."""
    from core.data.catalogs import load_catalog

    record = load_catalog("ptbxl", root=shared_data / "ptb-xl" / "1.0.3", download=False)["ptbxl/00141"]
    assert "vÄnster" in record.text  # as stored
    rec = RecordInfo(record.record_id, "ptbxl", record.text, record.text_en, record.labels)
    shown = records_frame([rec]).iloc[0]["report"]
    assert "vänster el-axel" in shown and "Ä" not in shown and "Ö" not in shown
    assert shown.startswith("sinusrytm a-v block i")
    kept = RecordInfo("x/1", "x", "sinus rhythm. Edit: NORM 80, SÄNKNING f#r", "other", {})
    assert records_frame([kept]).iloc[0]["report"] == "sinus rhythm. Edit: NORM 80, SÄNKNING für"
