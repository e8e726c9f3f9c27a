"""Plausibility benchmark: label mapping on real records, the cell arithmetic on fabricated rows, a CI-sized CLI run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.measure.plausibility import CHECKS, check_cell, format_cell, format_markdown, split_group, summarize
from core.measure.reference_labels import (
    SOURCES,
    cinc_labels,
    ludb_labels,
    ptbxl_labels,
    reference_labels,
    states_first_degree_block,
)

# --------------------------------------------------------------------------------------------------------------------
# Label mapping
# --------------------------------------------------------------------------------------------------------------------


def _catalog(shared_data: Path, name: str, folder: str, **options):
    from core.data.catalogs import load_catalog

    return load_catalog(name, root=shared_data / folder, download=False, **options)


def test_ptbxl_record_180_is_complete_lbbb(shared_data: Path):
    record = _catalog(shared_data, "ptbxl", "ptb-xl/1.0.3", rate_hz=100)["ptbxl/00180"]
    labels = reference_labels(record)
    assert "CLBBB" in labels
    assert "NORM" not in labels and "CRBBB" not in labels


def test_ptbxl_norm_and_axis_rules():
    assert ptbxl_labels({"NORM": 100.0, "SR": 0.0}) == {"NORM", "SR"}
    # German axis types: "LAD" (Linkstyp, -30..+30) is a normal variant; ALAD is the clinical left axis deviation.
    assert ptbxl_labels({"SR": 0.0}, "LAD") == {"SR"}
    assert ptbxl_labels({"SR": 0.0}, "ALAD") == {"SR", "LAD"}
    assert ptbxl_labels({}, "ARAD") == {"RAD"}
    # Incomplete blocks are not CLBBB/CRBBB; incomplete RBBB has its own row (QRS under 120 ms by definition).
    assert ptbxl_labels({"IRBBB": 100.0, "ILBBB": 50.0}) == {"IRBBB"}
    assert cinc_labels(["713426002"]) == {"IRBBB"}
    assert "IRBBB" in ludb_labels({"rhythm": ["sinus rhythm"], "conduction": ["incomplete right bundle branch block"]})


@pytest.mark.parametrize(
    ("report_en", "stated"),
    [
        ("sinus rhythm. first degree av block. normal axis.", True),  # German "a-v block i", translated
        ("sinus rhythm. normal axis. av block first degree. left bundle branch block.", True),
        ("sinus rhythm. grossly prolonged pr interval. otherwise no definite pathology.", True),
        ("sinus rhythm. pr interval is prolonged.", True),
        ("sinus rhythm. left axis. av block. relative t wave changes.", True),  # German "av-block", no degree
        ("probably atrial flutter with 2:1 av block", False),
        ("sinus rhythm. second degree av block, mobitz i.", False),
        ("sinus rhythm. pr interval is normal.", False),
        ("sinus rhythm. pr interval is now shorter.", False),
        ("sinus rhythm. right bundle branch block.", False),
    ],
)
def test_first_degree_block_stated_in_a_report(report_en: str, stated: bool):
    assert states_first_degree_block(report_en) is stated
    assert ("1AVB_TEXT" in ptbxl_labels({"SR": 0.0}, None, report_en)) is stated


def test_ptbxl_codes_and_report_read_apart(shared_data: Path):
    catalog = _catalog(shared_data, "ptbxl", "ptbxl_more", rate_hz=100)
    # coded 1AVB; its report: "sinus rhythm. right bundle branch block."
    assert {"1AVB"} <= reference_labels(catalog["ptbxl/01525"]) and "1AVB_TEXT" not in reference_labels(
        catalog["ptbxl/01525"]
    )
    # coded NORM; its report: "sinus rhythm. grossly prolonged pr interval. otherwise no definite pathology."
    assert {"NORM", "1AVB_TEXT"} <= reference_labels(catalog["ptbxl/15014"])
    # both say it: "sinus rhythm. first degree av block. ..."
    assert {"1AVB", "1AVB_TEXT"} <= reference_labels(catalog["ptbxl/02206"])


def test_cinc_af_record_maps_to_afib(shared_data: Path):
    catalog = _catalog(shared_data, "cinc2021", "cinc2021_more")
    record = catalog["cinc2021/A0689"]
    assert record.meta["snomed_codes"] == ["164889003"]
    assert reference_labels(record) == {"AFIB"}


def test_cinc_norm_needs_sinus_rhythm_alone():
    assert cinc_labels(["426783006"]) == {"NORM", "SR"}
    assert cinc_labels(["426783006", "164909002"]) == {"SR", "CLBBB"}  # the Challenge scores LBBB as CLBBB
    assert cinc_labels(["59118001", "270492004", "111975006"]) == {"CRBBB", "1AVB", "LNGQT"}


def test_sph_labels_come_from_the_snomed_codes_beside_its_aha_statements(shared_data: Path):
    catalog = _catalog(shared_data, "sph", "sph")
    normal, rbbb, brady = catalog["sph/SPH00002"], catalog["sph/SPH00007"], catalog["sph/SPH00001"]
    assert normal.meta["aha_codes"] == ["1"] and reference_labels(normal) == {"NORM", "SR"}  # AHA 1: "normal ECG"
    assert rbbb.meta["aha_codes"] == ["106"] and reference_labels(rbbb) == {"CRBBB"}
    # sinus bradycardia with sinus arrhythmia: neither NORM nor the regular-sinus-rhythm label; the arrhythmia is SARRH
    assert reference_labels(brady) == {"SBRAD", "SARRH"}
    assert reference_labels(catalog["sph/SPH00005"]) == frozenset()  # no metadata row


def test_rhythms_without_a_pr_and_pre_excitation_map_on_every_dataset(shared_data: Path):
    assert ptbxl_labels({"AFLT": 100.0, "3AVB": 100.0, "WPW": 100.0}) == {"AFLT", "3AVB", "WPW"}
    assert cinc_labels(["164890007", "27885002", "74390002"]) == {"AFLT", "3AVB", "WPW"}
    ludb_sets = {"rhythm": ["atrial flutter, typical"], "conduction": ["iii degree av-block"]}
    assert ludb_labels(ludb_sets) == {"AFLT", "3AVB"}
    ludb = _catalog(shared_data, "ludb", "ludb/1.0.1")
    flutter = [r for r in ludb.records if "AFLT" in reference_labels(r)]
    block = [r for r in ludb.records if "3AVB" in reference_labels(r)]
    assert len(flutter) == 3 and all("flutter" in r.text.lower() for r in flutter)
    assert len(block) == 5 and all("iii degree" in r.text.lower() for r in block)


def test_ludb_sinus_bradycardia_maps_to_sbrad(shared_data: Path):
    catalog = _catalog(shared_data, "ludb", "ludb/1.0.1")
    record = catalog["ludb/1"]
    assert "Rhythm: Sinus bradycardia." in record.text
    labels = reference_labels(record)
    assert "SBRAD" in labels and "LAD0" in labels and "LVH" in labels  # LUDB's left axis: below 0°, not -30°
    assert "NORM" not in labels and "SR" not in labels and "LAD" not in labels


def test_ludb_note_on_tachycardia_holds_for_its_annotations(shared_data: Path):
    """The note printed under LUDB's table says its sinus-tachycardia records run at 90-93 bpm: checked on the
    cardiologists' beat annotations, not on this project's measurement."""
    from core.measure.ludb import read_annotation, reference_measurements

    catalog = _catalog(shared_data, "ludb", "ludb/1.0.1")
    tachy = [r for r in catalog if "STACH" in reference_labels(r)]
    rates = [
        reference_measurements(read_annotation(shared_data / "ludb/1.0.1", int(r.record_id.split("/")[-1])))["hr_bpm"]
        for r in tachy
    ]
    assert len(rates) == 4 and all(90.0 <= hr <= 93.5 for hr in rates), rates
    assert "4 records" in SOURCES["ludb@500"].note and "90-93 bpm" in SOURCES["ludb@500"].note
    assert "voltage rows have no value" in SOURCES["ludb@500"].note  # tests/data/test_lead_scaling.py: the 1 mV
    rows = [{**_row({"STACH"}, hr_bpm=91.0), "source": "ludb@500"}]
    assert f"Note: {SOURCES['ludb@500'].note}" in format_markdown(summarize(rows), ["own"])


def test_ludb_norm_is_sinus_rhythm_with_nothing_else():
    assert ludb_labels({"rhythm": ["sinus rhythm"], "axis": ["vertical"]}) == {"SR", "NORM"}
    assert ludb_labels({"rhythm": ["sinus rhythm"], "axis": ["normal"], "repolarization": ["x"]}) == {"SR"}


def test_held_out_group_follows_evaluation_constant():
    from core.evaluate.data import HELD_OUT_SPLITS

    for split in ("train", "val", "test"):
        assert split_group(split) == ("held_out" if split in HELD_OUT_SPLITS else "train")


# --------------------------------------------------------------------------------------------------------------------
# Cells on fabricated measurements
# --------------------------------------------------------------------------------------------------------------------


def _row(labels, method="own", split="train", status="ok", sex=None, **meas):
    return {
        "source": "fake@500",
        "record_id": "fake/x",
        "split": split,
        "labels": sorted(labels),
        "sex": sex,
        "method": method,
        "status": status,
        "meas": meas,
        "ms": 10.0 if status == "ok" else None,
        "ref": None,
    }


CHECK = {c.key: c for c in CHECKS}


def test_shares_medians_and_failures_on_fabricated_rows():
    rows = [
        _row({"NORM", "SR"}, qrs_ms=90.0, pr_ms=150.0, irregular=False),
        _row({"NORM", "SR"}, qrs_ms=100.0, pr_ms=210.0, irregular=False),
        _row({"NORM", "SR"}, qrs_ms=124.0, pr_ms=None, irregular=True),
        _row({"NORM"}, qrs_ms=None),  # measured nothing: a failure in every NORM cell
        _row({"NORM"}, status="unreadable"),  # never counted
        _row({"CLBBB"}, qrs_ms=150.0),
        _row({"CLBBB"}, qrs_ms=118.0),
    ]
    wide = check_cell(rows, CHECK["qrs_wide_norm"])
    assert wide.pop("ci")[0] > 0
    assert wide == {"n": 4, "n_measured": 3, "n_failed": 1, "value": 1 / 3, "n_positive": 1}
    assert check_cell(rows, CHECK["qrs_median_norm"])["value"] == 100.0
    long_pr = {k: v for k, v in check_cell(rows, CHECK["pr_long_norm"]).items() if k != "ci"}
    assert long_pr == {"n": 4, "n_measured": 2, "n_failed": 2, "value": 0.5, "n_positive": 1}
    assert check_cell(rows, CHECK["qrs_wide_clbbb"])["value"] == 0.5
    assert check_cell(rows, CHECK["irregular_sr"])["value"] == pytest.approx(1 / 3)
    assert check_cell(rows, CHECK["qrs_wide_crbbb"]) == {"n": 0, "n_measured": 0, "n_failed": 0, "value": None}


def test_norm_pr_check_leaves_out_records_also_read_as_first_degree_av_block():
    rows = [
        _row({"NORM", "SR"}, pr_ms=160.0),
        _row({"NORM", "1AVB", "SR"}, pr_ms=240.0),  # the cardiologist read both: not a false long PR
        _row({"1AVB", "SR"}, pr_ms=230.0),
    ]
    cell = check_cell(rows, CHECK["pr_long_norm"])
    assert cell == {"n": 1, "n_measured": 1, "n_failed": 0, "value": 0.0, "n_positive": 0, "ci": (0.0, 0.975)}
    avb = check_cell(rows, CHECK["pr_long_1avb"])
    assert avb == {"n": 2, "n_measured": 2, "n_failed": 0, "value": 1.0, "n_positive": 2, "ci": avb["ci"]}
    assert avb["ci"] == pytest.approx((0.158, 1.0), abs=1e-3)


def test_pr_checks_read_the_report_beside_the_codes():
    rows = [
        _row({"NORM", "SR"}, pr_ms=160.0),
        _row({"NORM", "SR", "1AVB_TEXT"}, pr_ms=320.0),  # its report says "grossly prolonged pr interval"
        _row({"1AVB", "SR", "1AVB_TEXT"}, pr_ms=230.0),
        _row({"1AVB", "SR"}, pr_ms=186.0),  # coded 1AVB, the report says nothing of it
    ]
    assert check_cell(rows, CHECK["pr_long_norm"])["n"] == 1
    assert check_cell(rows, CHECK["pr_long_1avb"])["value"] == 0.5
    stated = check_cell(rows, CHECK["pr_long_1avb_text"])
    assert (stated["n"], stated["value"]) == (1, 1.0)


def test_cornell_limit_depends_on_sex():
    from core.measure.plausibility import cornell_limit_mv

    assert (cornell_limit_mv("male"), cornell_limit_mv("female"), cornell_limit_mv(None)) == (2.8, 2.0, 2.0)
    rows = [_row({"LVH"}, sex="male", cornell_mv=2.5), _row({"LVH"}, sex="female", cornell_mv=2.5)]
    cell = check_cell(rows, CHECK["cornell_lvh"])  # 2.5 mV: LVH by a woman's limit, not by a man's
    assert (cell["n"], cell["n_positive"]) == (2, 1)


def test_qtc_limit_depends_on_sex():
    rows = [
        _row({"LNGQT"}, sex="female", qtc_ms=465.0),  # long for a woman
        _row({"LNGQT"}, sex="male", qtc_ms=465.0),  # normal for a man
        _row({"LNGQT"}, sex=None, qtc_ms=465.0),  # unknown sex: the 460 ms limit
        _row({"LNGQT"}, sex="male", qtc_ms=480.0),
    ]
    assert check_cell(rows, CHECK["qtc_long_lngqt"])["value"] == 0.75


def test_fridericia_row_tells_bazett_over_correction_at_fast_rates_from_a_long_qt():
    # QT 330 ms at 110 bpm (RR 545 ms): Bazett 447 ms, Fridericia 404 ms; QT 360 ms at 100 bpm: 465 / 426 ms.
    rows = [
        _row({"NORM"}, sex="male", qtc_ms=447.0, qtc_fridericia_ms=404.0),
        _row({"NORM"}, sex="female", qtc_ms=465.0, qtc_fridericia_ms=426.0),
        _row({"NORM"}, sex="female", qtc_ms=480.0, qtc_fridericia_ms=471.0),  # long by both
    ]
    assert check_cell(rows, CHECK["qtc_long_norm"])["n_positive"] == 2
    assert check_cell(rows, CHECK["qtcf_long_norm"])["n_positive"] == 1
    assert CHECK["qtcf_long_norm"].title.startswith("QTc (Fridericia)")


def test_library_cache_key_changes_with_the_benchmark_fields(monkeypatch: pytest.MonkeyPatch):
    import core.measure.plausibility as plausibility

    before = plausibility.cache_key("openecg")
    monkeypatch.setattr(plausibility, "MEAS_FIELDS", (*plausibility.MEAS_FIELDS, "new_field"))
    assert plausibility.cache_key("openecg") != before
    assert plausibility.cache_key("own") is None


def test_library_cache_key_changes_with_the_code_that_reads_the_samples(monkeypatch: pytest.MonkeyPatch):
    """LUDB's samples changed with the reader in v2.9 (core.data.lead_scaling): a library's cached measurements of
    them must not be reused."""
    import core.measure.plausibility as plausibility

    before = {m: plausibility.cache_key(m) for m in ("openecg", "neurokit")}
    real = plausibility._source_hash
    monkeypatch.setattr(
        plausibility,
        "_source_hash",
        lambda objects: real(objects) + ("*" if any(o.__name__ == "core.data.lead_scaling" for o in objects) else ""),
    )
    assert all(plausibility.cache_key(m) != key for m, key in before.items())


def test_axis_and_amplitude_rules():
    rows = [
        _row({"LAFB"}, axis_deg=-45.0),
        _row({"LAFB"}, axis_deg=-20.0),
        _row({"LVOLT"}, limb_qrs_amplitude_mv=0.4),
        _row({"LVOLT"}, limb_qrs_amplitude_mv=0.6),
        _row({"LVH"}, sokolow_lyon_mv=3.6),
        _row({"LVH"}, sokolow_lyon_mv=2.0),
        _row({"LVH"}, sokolow_lyon_mv=4.0),
    ]
    assert check_cell(rows, CHECK["axis_left_lafb"])["value"] == 0.5
    assert check_cell(rows, CHECK["low_voltage_lvolt"])["value"] == 0.5
    assert check_cell(rows, CHECK["sokolow_lvh"])["value"] == pytest.approx(2 / 3)


def test_summary_separates_splits_and_methods_and_marks_fields_not_provided():
    rows = [
        _row({"NORM"}, split="train", qrs_ms=130.0, axis_deg=10.0),
        _row({"NORM"}, split="held_out", qrs_ms=90.0, axis_deg=10.0),
        _row({"NORM"}, method="lib", split="train", qrs_ms=95.0),
    ]
    summary = summarize(rows)["fake@500"]
    assert summary["train"]["own"]["checks"]["qrs_wide_norm"]["value"] == 1.0
    assert summary["held_out"]["own"]["checks"]["qrs_wide_norm"]["value"] == 0.0
    assert summary["all"]["own"]["checks"]["qrs_wide_norm"]["n"] == 2
    assert summary["train"]["lib"]["checks"]["qrs_wide_norm"]["value"] == 0.0
    assert summary["train"]["lib"]["checks"]["axis_left_norm"]["provided"] is False  # lib never gives an axis
    assert summary["train"]["own"]["checks"]["axis_left_norm"]["provided"] is True
    md = format_markdown(summarize(rows), ["own", "lib"])
    assert "| QRS >= 120 ms, NORM | <= 5 % | 100 % [3-100] n=1 | 0 % [0-98] n=1 | 0 % [0-98] n=1 |  |" in md
    assert "| axis < -30°, NORM |  | 0 % [0-98] n=1 | 0 % [0-98] n=1 | n/a | " in md


def test_share_cells_carry_an_exact_interval_that_shows_how_little_a_small_part_says():
    rows = [_row({"1AVB"}, pr_ms=pr) for pr in (230.0, 190.0, 180.0)]
    cell = check_cell(rows, CHECK["pr_long_1avb"])
    assert cell["n_positive"] == 1
    low, high = cell["ci"]
    # Clopper-Pearson for 1 of 3: 0.0084 to 0.9057 (the beta quantiles, not a normal approximation)
    assert low == pytest.approx(0.0084, abs=1e-4) and high == pytest.approx(0.9057, abs=1e-4)
    assert format_cell(cell) == "33 % [1-91] n=3"
    # 6 of 12 excludes 80 %: a shortfall of that size is not sampling noise
    six = check_cell([_row({"1AVB"}, pr_ms=230.0 if i < 6 else 180.0) for i in range(12)], CHECK["pr_long_1avb"])
    assert six["ci"][1] < 0.80
    # a median row has no interval
    median = check_cell([_row({"NORM"}, qrs_ms=q) for q in (90.0, 100.0)], CHECK["qrs_median_norm"])
    assert median["value"] == 95.0 and "ci" not in median and format_cell(median, share=False) == "95 ms n=2"


# --------------------------------------------------------------------------------------------------------------------
# The command on a few records per source
# --------------------------------------------------------------------------------------------------------------------


def test_cli_on_one_record_per_source_and_split(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture):
    from core.__main__ import main

    out_json, out_md = tmp_path / "p.json", tmp_path / "p.md"
    argv = ["validate-measurements", "--plausibility", "--limit", "1", "--no-cache", "--data-root", str(shared_data)]
    assert main([*argv, "--json", str(out_json), "--markdown", str(out_md)]) == 0
    payload = json.loads(out_json.read_text())
    assert payload["methods"] == ["own", "neurokit", "openecg"]
    assert set(payload["summary"]) == set(SOURCES)
    rows = payload["rows"]
    for source in SOURCES:
        for split in ("train", "held_out"):
            mine = [r for r in rows if r["source"] == source and r["split"] == split]
            assert sorted(r["method"] for r in mine) == ["neurokit", "openecg", "own"], (source, split)
    own = [r for r in rows if r["method"] == "own" and r["status"] == "ok"]
    assert len(own) >= 8 and all(r["meas"]["hr_bpm"] for r in own)
    ludb = payload["summary"]["ludb@500"]["all"]["own"]["ludb_errors"]
    assert ludb["hr_bpm"]["n"] == 2 and ludb["hr_bpm"]["value"] < 5.0  # out-of-fold, near the manual annotation
    markdown = out_md.read_text()
    assert "**ptbxl@500**" in markdown and "LUDB median abs. error QRS" in markdown
    assert "own train" in capsys.readouterr().out


def test_ptbxl_folds_select_records_for_choosing_and_confirming(shared_data: Path, tmp_path: Path):
    """``--ptbxl-folds`` keeps only PTB-XL records of those folds (a change is chosen on some training folds and
    confirmed on others); other datasets are left as they are, and a bad fold is refused before anything is read."""
    from core.__main__ import main

    out = tmp_path / "p.json"
    base = ["validate-measurements", "--plausibility", "--method", "own", "--no-cache", "--limit", "3"]
    argv = [*base, "--data-root", str(shared_data), "--datasets", "ptbxl@100", "ludb@500", "--split", "train"]
    assert main([*argv, "--ptbxl-folds", "7-8", "--json", str(out)]) == 0
    payload = json.loads(out.read_text())
    assert payload["ptbxl_folds"] == [7, 8]
    catalog = _catalog(shared_data, "ptbxl", "ptb-xl/1.0.3", rate_hz=100)
    ptbxl = [r["record_id"] for r in payload["rows"] if r["source"] == "ptbxl@100"]
    assert len(ptbxl) == 3 and {catalog[rid].meta["strat_fold"] for rid in ptbxl} <= {7, 8}
    assert sum(r["source"] == "ludb@500" for r in payload["rows"]) == 3  # LUDB has no folds: unaffected
    assert main([*argv, "--ptbxl-folds", "11"]) == 2
    assert main([*argv, "--ptbxl-folds", "seven"]) == 2


def test_ptbxl_validated_keeps_records_labelled_by_a_cardiologist_or_by_the_machine(shared_data: Path, tmp_path: Path):
    """``--ptbxl-validated human`` keeps the PTB-XL records a cardiologist validated (as all held-out ones are),
    ``machine`` the others; the flag is PTB-XL's own ``validated_by_human`` column."""
    from core.__main__ import main

    base = ["validate-measurements", "--plausibility", "--method", "own", "--no-cache", "--limit", "3"]
    argv = [*base, "--data-root", str(shared_data), "--datasets", "ptbxl_more@100", "--split", "train"]
    catalog = _catalog(shared_data, "ptbxl", "ptbxl_more", rate_hz=100)
    for kind in ("human", "machine"):
        out = tmp_path / f"{kind}.json"
        assert main([*argv, "--ptbxl-validated", kind, "--json", str(out)]) == 0
        payload = json.loads(out.read_text())
        assert payload["ptbxl_validated"] == kind
        flags = [catalog[r["record_id"]].meta["validated_by_human"] for r in payload["rows"]]
        assert len(flags) == 3 and all(flag == (kind == "human") for flag in flags)


def test_pr_coverage_of_sinus_tachycardia_counts_every_record():
    rows = [_row({"STACH", "SR"}, pr_ms=140.0), _row({"STACH", "SR"}, pr_ms=None), _row({"STACH"}, pr_ms=150.0)]
    rows.append(_row({"STACH"}, status="unreadable"))  # never counted
    cell = check_cell(rows, CHECK["pr_measured_stach"])
    assert cell["value"] == pytest.approx(2 / 3) and cell["n_positive"] == 2 and cell["n"] == 3
    md = format_markdown(summarize(rows), ["own"])
    assert "| PR measured, STACH |  | 67 % [9-99] n=3 |" in md


def test_both_parts_of_one_method_are_also_shown_pooled(shared_data: Path, tmp_path: Path):
    """The goals hold "on records of every fold": a run of both parts for one method adds their pool as a column,
    counting each record once (2 training + 2 held-out records here)."""
    from core.__main__ import main

    out_md = tmp_path / "p.md"
    argv = ["validate-measurements", "--plausibility", "--method", "own", "--no-cache", "--limit", "2"]
    argv += ["--data-root", str(shared_data), "--datasets", "ptbxl@100", "--split", "all", "--markdown", str(out_md)]
    assert main(argv) == 0
    lines = out_md.read_text().splitlines()
    assert "| check | goal | own train | own held-out | own all (train + held-out) |" in lines
    records = next(line for line in lines if line.startswith("| records |"))
    assert records.endswith("| 2 (0 unreadable) | 2 (0 unreadable) | 4 (0 unreadable) |")


def test_st_depression_codes_of_ptbxl_and_cinc_map_to_std():
    from core.measure.reference_labels import cinc_labels, ptbxl_labels

    assert "STD" in ptbxl_labels({"STD_": 100.0, "SR": 0.0}) and "STD" not in ptbxl_labels({"NORM": 100.0})
    assert "STD" in cinc_labels(["429622005", "426783006"])


@pytest.mark.parametrize(
    ("report_en", "named"),
    [
        ("sinus rhythm. st segments are elevated in v2,3. st segments are depressed in i, avl, v5,6.",
         {"elevation": {"V2", "V3"}, "depression": {"I", "aVL", "V5", "V6"}}),
        ("sinus bradycardia. normal axis. st elevation in v2,3,f. u wave in v2,3.", {"elevation": {"V2", "V3", "aVF"}}),
        ("complete left bundle branch block. st elevation v1-v3. abnormal ecg.", {"elevation": {"V1", "V2", "V3"}}),
        ("q waves, st segment elevation in ii, iii, avf. terminal t wave inversion in iii, avf.",
         {"elevation": {"II", "III", "aVF"}}),
        ("st segments are depressed and t waves inverted in i, ii, avl, v4,5,6.",
         {"depression": {"I", "II", "aVL", "V4", "V5", "V6"}}),
        ("st depression downsloping in v5, sagging in v6.", {"depression": {"V5"}}),
        ("st segments are slightly elevated in these leads.", {}),  # no lead named
        ("non-specific st depression. no st elevation in v2, v3.", {}),  # negated; no leads for the depression
        ("st-t depression, as in anterior ischemia or left ventricular strain.", {}),  # ST-T change, no leads
        ("st elevation in v2. st depression in v2.", {}),  # one lead read both ways: neither
    ],
)  # fmt: skip
def test_the_leads_a_report_names_st_elevated_or_depressed(report_en: str, named: dict):
    from core.measure.reference_labels import ptbxl_labels, st_shift_leads

    assert st_shift_leads(report_en) == named
    labels = ptbxl_labels({"SR": 0.0}, report_en=report_en)
    assert ("STE_TEXT" in labels) == ("elevation" in named) and ("STD_TEXT" in labels) == ("depression" in named)


def test_st_rows_compare_each_named_lead_with_its_own_report():
    """The per-lead rows count leads, not records: a lead named elevated passes with a level above the baseline at
    J, a lead named depressed with one below it at J+60; a lead without a level is a failure."""
    rows = [
        {**_row({"STE_TEXT", "STD_TEXT"}, st_j_mv={"II": 0.2, "III": 0.15, "aVF": -0.02}, st_mv={"I": -0.1}),
         "named_leads": {"elevation": ["II", "III", "aVF"], "depression": ["I", "aVL"]}},
        {**_row({"STE_TEXT"}, st_j_mv={"V2": 0.3}, st_elevation=True), "named_leads": {"elevation": ["V2"]}},
        {**_row({"NORM"}, st_j_mv={"V2": 0.3}, st_elevation=False), "named_leads": {}},
    ]  # fmt: skip
    up = check_cell(rows, CHECK["st_up_named_elevated"])
    assert (up["n"], up["n_measured"], up["n_positive"]) == (4, 4, 3)
    down = check_cell(rows, CHECK["st_down_named_depressed"])
    assert (down["n"], down["n_measured"], down["n_failed"], down["n_positive"]) == (2, 1, 1, 1)
    assert check_cell(rows, CHECK["st_elevation_norm"])["value"] == 0.0
    # The opposite finding: a record that names only elevation is not among "only ST depression in the report".
    assert check_cell(rows, CHECK["st_elevation_std_text"])["n"] == 0


@pytest.mark.parametrize(
    ("report_en", "leads"),
    [
        ("sinus rhythm. q waves in ii, iii, avf consistent with old inferior infarction.", {"II", "III", "aVF"}),
        ("qs complexes in v2 and tiny r waves in v3 consistent with old anteroseptal infarction", {"V2"}),
        ("q in iii,avf,v1. r loss in v2,v3,v4.", {"III", "aVF", "V1"}),  # German "Q in"
        ("q waves and t wave inversion in ii, iii, avf", {"II", "III", "aVF"}),
        ("no q waves in v5, v6", set()),
        ("left axis deviation. qrs(t) abnormal: inferior infarction, age undetermined.", set()),
    ],
)  # fmt: skip
def test_the_leads_a_report_names_q_waves_in(report_en: str, leads: set):
    from core.measure.reference_labels import ptbxl_labels, stated_q_wave_leads

    assert stated_q_wave_leads(report_en) == leads
    labels = ptbxl_labels({"IMI": 100.0, "SR": 0.0}, report_en=report_en)
    assert "IMI" in labels and "AMI" not in labels and ("Q_TEXT" in labels) == bool(leads)


def test_q_rows_check_the_infarctions_wall_against_the_other_one():
    rows = [
        {**_row({"IMI", "Q_TEXT"}, q_wave_walls=["inferior"], q_pathological={"III": True, "aVF": True, "II": False}),
         "named_leads": {"q": ["II", "III", "aVF", "V1"]}},
        {**_row({"IMI"}, q_wave_walls=["anterior"]), "named_leads": {}},
        {**_row({"AMI"}, q_wave_walls=[]), "named_leads": {}},
    ]  # fmt: skip
    assert check_cell(rows, CHECK["q_wave_inferior_imi"])["value"] == 0.5
    assert check_cell(rows, CHECK["q_wave_anterior_imi"])["value"] == 0.5  # the opposite wall, counted apart
    assert check_cell(rows, CHECK["q_wave_ami"])["value"] == 0.0
    named = check_cell(rows, CHECK["q_named"])  # V1 is not read: a failure, not a miss
    assert (named["n"], named["n_measured"], named["n_positive"]) == (4, 3, 2)


@pytest.mark.parametrize(
    ("report_en", "leads"),
    [
        ("sinus rhythm. t waves are low in ii, avf and inverted in iii.", {"III"}),  # the leads after "inverted"
        ("negative t waves in v1-3.", {"V1", "V2", "V3"}),
        ("st segments are depressed and t waves inverted in i, avl, v5,6.", {"I", "aVL", "V5", "V6"}),
        ("t wave changes ii,v1,v4-v6 / negative in iii,avf. abnormal ecg.", {"III", "aVF"}),
        ("t waves are now low or flat rather than inverted in v4,5,6.", set()),
        ("t waves are flat or slightly inverted throughout.", set()),  # no leads named
        ("p wave negative in iii.", set()),  # not the T wave
    ],
)  # fmt: skip
def test_the_leads_a_report_names_t_waves_inverted_in(report_en: str, leads: set):
    from core.measure.reference_labels import cinc_labels, ptbxl_labels, stated_t_inversion_leads

    assert stated_t_inversion_leads(report_en) == leads
    assert ("TINV_TEXT" in ptbxl_labels({"SR": 0.0}, report_en=report_en)) == bool(leads)
    assert "TINV" in ptbxl_labels({"INVT": 0.0}) and "TINV" in cinc_labels(["59931005"])


@pytest.mark.parametrize(
    ("report_en", "leads"),
    [
        ("sinus rhythm. t waves are low in ii, avf and inverted in iii.", {"II", "aVF"}),
        ("t waves are inverted in v2,3,4 and low or flat in v5,6.", {"V5", "V6"}),
        ("sinus rhythm. non-specific t wave flattening in v3,4.", {"V3", "V4"}),
        ("minor non-specific t wave flattening in limb leads and v5,6.", {"I", "II", "III", "aVL", "aVF", "V5", "V6"}),
        ("t waves are now low or flat rather than inverted in v4,5,6.", {"V4", "V5", "V6"}),
        ("t wave changes negative in iii, flat v4-v6. normal ecg.", {"V4", "V5", "V6"}),
        ("low limb lead voltage. t waves are upright.", set()),  # the QRS's voltage, not the T wave
        ("t waves inverted in v1, low voltage in limb leads.", set()),
        ("t waves are low or flat throughout.", set()),  # no leads named
    ],
)  # fmt: skip
def test_the_leads_a_report_names_t_waves_low_or_flat_in(report_en: str, leads: set):
    from core.measure.reference_labels import ptbxl_labels, reference_named_leads, stated_low_t_leads

    assert stated_low_t_leads(report_en) == leads
    assert ("LOWT_TEXT" in ptbxl_labels({"SR": 0.0}, report_en=report_en)) == bool(leads)
    assert "LOWT" in ptbxl_labels({"LOWT": 0.0}) and "LOWT" not in ptbxl_labels({"NORM": 100.0})
    from core.data.catalogs.base import Record

    record = Record("ptbxl/x", "ptbxl", Path("x"), report_en, report_en, {}, "train")
    assert reference_named_leads(record).get("t_low", []) == sorted(leads)


def test_low_t_rows_count_records_and_each_named_lead():
    rows = [
        {**_row({"LOWT", "LOWT_TEXT"}, low_t_walls=["lateral"], t_mv={"I": 0.05, "aVL": -0.02, "V6": 0.3}),
         "named_leads": {"t_low": ["I", "aVL", "V6", "V5"]}},
        {**_row({"NORM"}, low_t_walls=[]), "named_leads": {}},
        {**_row({"NORM", "LOWT"}, low_t_walls=["inferior"]), "named_leads": {}},
    ]  # fmt: skip
    assert check_cell(rows, CHECK["low_t_lowt"])["value"] == 1.0
    assert check_cell(rows, CHECK["low_t_norm"])["n"] == 1  # a normal ECG coded LOWT is left out
    assert check_cell(rows, CHECK["low_t_norm"])["value"] == 0.0
    named = check_cell(rows, CHECK["t_low_named"])  # V5 has no value: failed; V6 upright: not low
    assert (named["n"], named["n_measured"], named["n_positive"]) == (4, 3, 2)


def test_t_inversion_named_on_two_leads_of_a_wall_labels_the_wall():
    from core.measure.reference_labels import ptbxl_labels

    def walls(report_en: str) -> set[str]:
        return set(ptbxl_labels({"SR": 0.0}, report_en=report_en) & {"TINV_INF", "TINV_ANT"})

    assert walls("t waves are low in ii and inverted in iii, avf.") == {"TINV_INF"}
    assert walls("negative t waves in v1-3.") == {"TINV_ANT"}
    assert walls("t waves are low in ii, avf and inverted in iii.") == set()  # one inferior lead
    assert walls("t waves are inverted in ii, iii, avf, v2-6.") == {"TINV_INF", "TINV_ANT"}


def test_t_rows_count_records_and_each_named_lead():
    rows = [
        {**_row({"TINV", "TINV_TEXT"}, t_inversion_walls=["lateral"], t_mv={"I": -0.2, "aVL": -0.05, "V6": 0.1}),
         "named_leads": {"t_inverted": ["I", "aVL", "V6", "V5"]}},
        {**_row({"NORM"}, t_inversion_walls=[]), "named_leads": {}},
        {**_row({"NORM", "TINV_TEXT"}, t_inversion_walls=["inferior"]), "named_leads": {}},
    ]  # fmt: skip
    assert check_cell(rows, CHECK["t_inversion_tinv"])["value"] == 1.0
    assert check_cell(rows, CHECK["t_inversion_norm"])["n"] == 1  # a normal ECG naming T inversion is left out
    named = check_cell(rows, CHECK["t_negative_named"])  # V5 has no value: failed, not missed
    assert (named["n"], named["n_measured"], named["n_positive"]) == (4, 3, 2)
    walls = [
        _row({"TINV_TEXT", "TINV_INF"}, t_inversion_walls=["inferior"]),
        _row({"TINV_TEXT", "TINV_INF"}, t_inversion_walls=["anterior"]),
        _row({"TINV_TEXT", "TINV_INF", "TINV_ANT"}, t_inversion_walls=["anterior"]),  # both named: not opposite
    ]
    assert check_cell(walls, CHECK["t_inversion_inferior_tinv_inf"])["value"] == pytest.approx(1 / 3)
    opposite = check_cell(walls, CHECK["t_inversion_anterior_tinv_inf"])
    assert (opposite["n"], opposite["n_positive"]) == (2, 1)


def test_left_atrial_rows_read_each_datasets_label_and_leave_coded_normals_out():
    """PTB-XL's LAO/LAE, CinC's left atrial enlargement and LUDB's left atrial hypertrophy are one label; a normal ECG
    also coded LAO/LAE is not counted among the normal ones."""
    from core.measure.reference_labels import LUDB_LABELS, SNOMED_LABELS, ptbxl_labels

    assert "LAE" in ptbxl_labels({"LAO/LAE": 100.0, "SR": 0.0}) and "LAE" not in ptbxl_labels({"NORM": 100.0})
    assert SNOMED_LABELS["67741000119109"] == "LAE" and LUDB_LABELS[("hypertrophy", "left atrial hypertrophy")] == "LAE"
    rows = [
        _row({"LAE"}, left_atrial_abnormality=True),
        _row({"LAE"}, left_atrial_abnormality=False),
        _row({"NORM"}, left_atrial_abnormality=False),
        _row({"NORM", "LAE"}, left_atrial_abnormality=True),
        _row({"NORM"}),
    ]
    lae, norm = check_cell(rows, CHECK["ptf_lae"]), check_cell(rows, CHECK["ptf_norm"])
    assert (lae["n"], lae["n_positive"]) == (3, 2)
    assert (norm["n"], norm["n_measured"], norm["value"]) == (2, 1, 0.0)
