"""Token coverage of the English layer: the definition on a fixture, the CLI, and the real PTB-XL reports."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from core.text.coverage import add_arguments, coverage_stats, read_reports, run
from core.text.english import to_english

FIXTURE = [
    "sinusrhythmus lagetyp normal",  # 3 words, all translated
    "sinus rhythm. blorp ecg.",  # 4 English-looking words, 'blorp' is not English vocabulary
    "4.46 v5,6 &",  # a number, a lead list and punctuation: no words
    "sinusrytm flumm",  # 2 words, 'flumm' unknown
    "",
]


def test_coverage_definition_on_fixture() -> None:
    stats = coverage_stats(FIXTURE)
    assert stats.n_reports == 5
    assert stats.n_tokens == 9
    assert stats.n_translated == 7
    assert stats.share == 7 / 9
    assert dict(stats.untranslated) == {"blorp": 1, "flumm": 1}
    assert stats.by_language["de"] == [3, 3, 1]
    assert stats.by_language["sv"] == [1, 2, 1]


def _write_csv(path: Path, rows: list[tuple[int, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ecg_id", "patient_id", "report"])
        for ecg_id, report in rows:
            writer.writerow([ecg_id, 1.0, report])


def test_read_reports_deduplicates_by_ecg_id(tmp_path: Path) -> None:
    _write_csv(tmp_path / "a.csv", [(1, "sinusrhythmus"), (2, "sinusrytm")])
    _write_csv(tmp_path / "b.csv", [(2, "changed"), (3, "sinus rhythm.")])
    reports = read_reports([tmp_path / "a.csv", tmp_path / "b.csv"])
    assert reports == {"1": "sinusrhythmus", "2": "sinusrytm", "3": "sinus rhythm."}


def test_cli_prints_the_figure(tmp_path: Path, capsys) -> None:
    ptbxl, extra = tmp_path / "ptbxl", tmp_path / "extra"
    ptbxl.mkdir()
    extra.mkdir()
    _write_csv(ptbxl / "ptbxl_database.csv", [(1, FIXTURE[0]), (2, FIXTURE[1])])
    _write_csv(extra / "more.csv", [(2, "ignored duplicate"), (3, FIXTURE[3])])
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args(["--ptbxl", str(ptbxl), "--extra", str(extra)])) == 0
    out = capsys.readouterr().out
    assert "reports: 3 (distinct ecg_id)" in out
    assert "coverage: 7/9 tokens translated = 77.78%" in out
    assert "blorp (1)" in out and "flumm (1)" in out


def test_cli_without_data_fails_cleanly(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ECG_DATA_MIRROR", "https://example.invalid/files/")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args([])) == 2


def test_cli_finds_the_reports_under_root_or_a_local_mirror(
    shared_data: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ECG_DATA_MIRROR", "https://example.invalid/files/")
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args(["--root", str(shared_data), "--no-extra"])) == 0
    assert "reports: 500 (distinct ecg_id)" in capsys.readouterr().out
    monkeypatch.setenv("ECG_DATA_MIRROR", str(shared_data))  # the product setting: a local PhysioNet-layout folder
    assert run(parser.parse_args(["--no-extra"])) == 0
    assert "reports: 500 (distinct ecg_id)" in capsys.readouterr().out


def test_real_reports_coverage_and_idempotence(shared_data: Path) -> None:
    files = [shared_data / "ptb-xl" / "1.0.3" / "ptbxl_database.csv"]
    files += sorted((shared_data / "ptbxl_metadata_extra").glob("*.csv"))
    reports = read_reports(files)
    assert len(reports) == 6108  # 500 + 5,695 distinct ids, 87 shared between the files
    stats = coverage_stats(reports.values())
    assert stats.share >= 0.95, stats.untranslated.most_common(20)
    for lang in ("de", "sv", "en"):
        assert stats.language_share(lang) >= 0.95
    for report in set(reports.values()):
        english = to_english(report)
        assert to_english(english) == english, report
