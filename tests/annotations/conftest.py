"""Fixtures of the annotation tests: a store in a temporary folder with a small set of known record ids."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotations import AnnotationStore

RECORDS = [f"ptbxl/{i:05d}" for i in range(1, 11)] + ["ludb/1", "ludb/2"]


@pytest.fixture()
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "annotations" / "annotations.sqlite3"


@pytest.fixture()
def store(db_path: Path):
    """A store that accepts only :data:`RECORDS`."""
    s = AnnotationStore(db_path, known_record_ids=set(RECORDS))
    yield s
    s.close()
