"""Browse on the server (core.explorer.browse and QueryService.browse): per-dataset label vocabularies, a search over
ids, labels and report text, and pages that hold only their own records, on real PTB-XL records and small fixtures."""

from __future__ import annotations

import pytest

from core.explorer import RecordInfo
from core.explorer.browse import MAX_PAGE_SIZE, BrowseIndex

RECORDS = [
    RecordInfo("ptbxl/1", "ptbxl", "Vorhofflimmern", "atrial fibrillation", {"rhythm": ["AFIB"]}),
    RecordInfo("ptbxl/2", "ptbxl", "sinusrhythmus", "sinus rhythm", {"rhythm": ["SR"], "superclass": ["NORM"]}),
    RecordInfo(
        "ludb/1",
        "ludb",
        "Rhythm: Atrial fibrillation.",
        "Rhythm: Atrial fibrillation.",
        {"rhythm": ["atrial fibrillation"]},
    ),
    RecordInfo("ludb/2", "ludb", "Rhythm: Sinus rhythm.", "Rhythm: Sinus rhythm.", {"rhythm": ["sinus rhythm"]}),
]


def _ids(index: BrowseIndex, mask) -> list[str]:
    return [index.records[i].record_id for i, keep in enumerate(mask) if keep]


def test_each_dataset_has_its_own_label_vocabulary():
    index = BrowseIndex(RECORDS)
    assert index.labels("ptbxl") == [("AFIB", 1), ("NORM", 1), ("SR", 1)]
    assert index.labels("ludb") == [("atrial fibrillation", 1), ("sinus rhythm", 1)]
    assert index.labels("nope") == []
    assert _ids(index, index.mask(dataset="ptbxl", label="AFIB")) == ["ptbxl/1"]
    # A label of the other vocabulary matches nothing in this dataset.
    assert _ids(index, index.mask(dataset="ptbxl", label="atrial fibrillation")) == []


def test_search_covers_ids_labels_and_both_reports_without_crossing_fields():
    index = BrowseIndex(RECORDS)
    assert _ids(index, index.mask("vorhofflimmern")) == ["ptbxl/1"]  # original report
    assert _ids(index, index.mask("ATRIAL  fibrillation")) == ["ptbxl/1", "ludb/1"]  # English report, case, spaces
    assert _ids(index, index.mask("afib")) == ["ptbxl/1"]  # a label
    assert _ids(index, index.mask("ludb/2")) == ["ludb/2"]  # an id
    assert _ids(index, index.mask("sinus rhythm", dataset="ludb")) == ["ludb/2"]
    # Text that only exists across two fields or two records is not a match.
    assert not index.mask("ptbxl/1 afib").any()
    assert not index.mask("fibrillation ptbxl/2").any()


def test_pages_are_clamped_and_counted():
    index = BrowseIndex(RECORDS * 10)  # 40 rows
    mask = index.mask()
    first, last = index.page(mask, 1, 15), index.page(mask, 99, 15)
    assert (first.total, first.n_pages, len(first.records), first.first) == (40, 3, 15, 1)
    assert (last.page, len(last.records), last.first) == (3, 10, 31)
    assert index.page(mask, 0, 15).page == 1
    assert index.page(mask, 1, 10_000).page_size == MAX_PAGE_SIZE
    empty = index.page(index.mask("no such text"), 1, 15)
    assert (empty.total, empty.n_pages, empty.records, empty.first) == (0, 1, [], 0)


def test_service_pages_real_ptbxl_records(ptbxl_service):
    records = ptbxl_service.explorer().records
    page = ptbxl_service.browse(page=2, page_size=25)
    assert page.total == 300 and page.n_pages == 12
    assert [r.record_id for r in page.records] == [r.record_id for r in records[25:50]]

    # German reports are found by their own words; every hit says it.
    german = ptbxl_service.browse("vorhofflimmern", page_size=200)
    assert german.total > 0
    assert all("vorhofflimmern" in r.text.lower() for r in german.records)

    labels = dict(ptbxl_service.label_choices("ptbxl"))
    assert labels["CLBBB"] == sum("CLBBB" in r.label_list() for r in records) == 5
    clbbb = ptbxl_service.browse(dataset="ptbxl", label="CLBBB")
    assert clbbb.total == 5 and all("CLBBB" in r.label_list() for r in clbbb.records)
    assert ptbxl_service.find_records(label="CLBBB") == clbbb.records


@pytest.mark.parametrize("page", [-3, 0])
def test_service_clamps_pages(ptbxl_service, page):
    assert ptbxl_service.browse(page=page).page == 1
