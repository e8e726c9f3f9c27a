"""Any folder of WFDB records (``.hea`` + signal files), searched recursively.

Text: the header comments (``# ...`` lines) joined with spaces, if any (used as is for ``text_en``). No label sets.
Record ids: ``folder/<path relative to the root, without extension>``. Splits: a hash of the record id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.data.catalogs.base import Catalog, Record, hash_split, register_catalog
from core.errors import DatasetNotFoundError

NAME = "folder"
VERSION = "2"  # 2: 55/5/40 hash split


def header_comments(path: Path) -> list[str]:
    """The ``#`` comment lines of a WFDB header, without the ``#``."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return [line.lstrip("#").strip() for line in lines if line.startswith("#") and line.lstrip("#").strip()]


@register_catalog(NAME)
def load(root: Path | None = None, **_: Any) -> Catalog:
    """Catalog of the WFDB records under ``root``.

    Raises:
        DatasetNotFoundError: no root given, or no ``.hea`` under it.
    """
    if root is None or not root.is_dir():
        raise DatasetNotFoundError(
            f"{NAME}: give the folder of WFDB records with --root DIR / load_catalog('folder', root=DIR) (got {root})"
        )
    headers = sorted(root.rglob("*.hea"))
    if not headers:
        raise DatasetNotFoundError(f"{NAME}: no .hea files under {root}")
    out = []
    for header in headers:
        rel = header.relative_to(root).with_suffix("").as_posix()
        comments = header_comments(header)
        text = " ".join(comments)
        record_id = f"{NAME}/{rel}"
        out.append(
            Record(
                record_id=record_id,
                dataset=NAME,
                path=header.with_suffix(""),
                text=text,
                text_en=text,  # header comments are free-form; no translation attempted
                labels={},
                split=hash_split(record_id),
                meta={"comments": comments},
            )
        )
    return Catalog(name=NAME, root=root, records=out, label_sets={}, version=VERSION)
