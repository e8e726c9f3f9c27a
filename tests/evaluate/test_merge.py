"""``python -m core evaluate --merge``: runs evaluated one at a time combine into one JSON and one report."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from core.evaluate import cli

RESULTS = Path(__file__).resolve().parents[2] / "eval" / "results.json"


def test_merge_combines_runs_and_keeps_their_commands(tmp_path: Path):
    runs = cli.load_runs(RESULTS)
    if len(runs) < 2:
        pytest.skip("eval/results.json holds fewer than two runs")
    parts = []
    for i, run in enumerate(runs[:2]):
        path = tmp_path / f"run{i}.json"
        path.write_text(json.dumps(run | {"command": f"python -m core evaluate --checkpoint C{i}"}))
        parts.append(path)
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(["--merge", *map(str, parts), "--json", str(tmp_path / "all.json")])
    assert cli.run(args) == 0
    merged = json.loads((tmp_path / "all.json").read_text())
    assert [r["checkpoint"] for r in merged["runs"]] == [r["checkpoint"] for r in runs[:2]]
    report = (tmp_path / "all.md").read_text()
    assert "--checkpoint C0" in report and "--checkpoint C1" in report
    assert all(Path(r["checkpoint"]).name in report for r in runs[:2])


def test_checkpoint_or_merge_is_required(tmp_path: Path):
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args(["--json", str(tmp_path / "x.json")])) == 2


@pytest.mark.parametrize("content", [None, "{not json", '{"runs": 3}'])
def test_merge_refuses_a_missing_or_malformed_file(tmp_path: Path, content, caplog):
    path = tmp_path / "part.json"
    if content is not None:
        path.write_text(content)
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args(["--merge", str(path), "--json", str(tmp_path / "all.json")])) == 2
    assert "cannot merge" in caplog.text and not (tmp_path / "all.json").exists()
