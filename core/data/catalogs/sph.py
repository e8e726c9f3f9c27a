"""Shandong Provincial Hospital 12-lead ECG database (Liu et al., Sci. Data 2022; https://doi.org/10.1038/s41597-022-01403-5).

Records are HDF5 files (``SPHnnnnn.h5``, dataset ``ecg``, shape (12, N), mV, 500 Hz, standard lead order) listed in
``metadata.csv`` with AHA statement codes and SNOMED-CT codes. The release is on figshare, not PhysioNet, so there is
no download: point ``root`` at the folder holding ``metadata.csv`` (or its parent).

Text: the names of the row's SNOMED codes via the CinC-2021 mapping (``dx_mapping_*.csv``, found next to or above the
root, in a sibling ``cinc2021`` folder, or given with ``dx_mapping=DIR``), comma-joined. A record without a metadata
row (``SPH00005`` in the project's sample) has no text and no labels.
Labels: ``dx`` (SNOMED names). Splits: a hash of the patient id (of the record id when there is no row).
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

from core.data.catalogs.base import Catalog, Record, hash_split, register_catalog
from core.data.catalogs.cinc2021 import codes_to_names, snomed_terms_near
from core.errors import DatasetNotFoundError
from core.leads import CANONICAL_LEADS
from core.paths import data_dir

log = logging.getLogger(__name__)

NAME = "sph"
VERSION = "2"  # 2: 55/5/40 hash split
FS_HZ = 500.0


def _find_root(root: Path | None) -> Path:
    if root is None:
        root = data_dir() / "sph"
    for candidate in (root, root / "SPH"):
        if (candidate / "metadata.csv").is_file():
            return candidate
    raise DatasetNotFoundError(
        f"{NAME}: metadata.csv not found in {root} or {root / 'SPH'}. SPH is distributed on figshare, not PhysioNet, "
        "so it cannot be downloaded here: point --root / load_catalog('sph', root=DIR) at the folder holding "
        "metadata.csv and the .h5 files."
    )


@register_catalog(NAME)
def load(root: Path | None = None, *, dx_mapping: Path | None = None, **_: Any) -> Catalog:
    """SPH catalog of the ``.h5`` files in the root folder.

    Args:
        root: the folder with ``metadata.csv`` and ``SPH*.h5`` (or its parent); ``None``: ``data_dir()/"sph"``.
        dx_mapping: folder with the CinC-2021 ``dx_mapping_*.csv`` (found automatically if None).

    Raises:
        DatasetNotFoundError: no metadata, or no SNOMED mapping.
    """
    root = _find_root(root)
    with (root / "metadata.csv").open(newline="", encoding="utf-8-sig") as handle:
        rows = {Path(row["ECG_ID"]).stem: row for row in csv.DictReader(handle)}
    terms = snomed_terms_near(
        root,
        dx_mapping,
        missing=f"{NAME}: the CinC-2021 dx_mapping_scored.csv (SNOMED code -> name) was not found near {root}; "
        "pass dx_mapping=DIR.",
    )
    out: list[Record] = []
    for path in sorted(root.glob("*.h5")):
        row = rows.get(path.stem)
        if row is None:
            log.info("%s: no metadata row; no text or labels", path.name)
        codes = [c.strip() for c in (row or {}).get("SNOMEDCTCode", "").split(",") if c.strip()]
        names = codes_to_names(codes, terms)
        patient = (row or {}).get("Patient_ID") or None
        out.append(
            Record(
                record_id=f"{NAME}/{path.stem}",
                dataset=NAME,
                path=path,
                text=", ".join(names),
                text_en=", ".join(names),
                labels={"dx": sorted(set(names))},
                split=hash_split(patient or f"{NAME}/{path.stem}"),
                patient_id=patient,
                meta=_meta(row, codes),
            )
        )
    if not out:
        raise DatasetNotFoundError(f"{NAME}: no .h5 records in {root}")
    return Catalog(
        name=NAME,
        root=root,
        records=out,
        label_sets={"dx": sorted({t.name for t in terms.values()})},
        version=VERSION,
        read_kwargs={"fs_hz": FS_HZ, "lead_names": list(CANONICAL_LEADS)},
    )


def _meta(row: dict[str, str] | None, codes: list[str]) -> dict[str, Any]:
    if row is None:
        return {"fs_hz": FS_HZ, "has_metadata": False}
    age = row.get("Age", "")
    return {
        "fs_hz": float(row.get("fs") or FS_HZ),
        "has_metadata": True,
        "aha_codes": [c for c in row.get("AHA_Code", "").split(";") if c],
        "snomed_codes": codes,
        "age": float(age) if age.replace(".", "", 1).isdigit() else None,
        "sex": {"M": "male", "F": "female"}.get(row.get("Sex", "")),
        "date": row.get("Date"),
        "n_samples": int(row["N"]) if row.get("N", "").isdigit() else None,
    }
