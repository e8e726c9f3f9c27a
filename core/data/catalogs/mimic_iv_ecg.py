"""MIMIC-IV-ECG 1.0 (Gow et al., PhysioNet 2023; https://doi.org/10.13026/4nqg-sb35).

Layout: ``record_list.csv`` (``subject_id, study_id, file_name, ecg_time, path``) lists WFDB records at
``files/pNNNN/pNNNNNNNN/sNNNNNNNN/NNNNNNNN``; ``machine_measurements.csv`` holds the machine report as
``report_0`` ... ``report_17`` plus intervals. The files store aVF before aVL; the reader orders leads by name.

Text: the non-empty report lines joined into sentences. No label sets (the reports are free text).
Splits: a hash of ``subject_id``, so a patient's ECGs stay on one side.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.catalogs.base import Catalog, Record, hash_split, register_catalog, resolve_root

log = logging.getLogger(__name__)

NAME = "mimic_iv_ecg"
VERSION = "2"  # 2: 55/5/40 hash split
N_REPORT_COLUMNS = 18
MEASUREMENT_COLUMNS = (
    "rr_interval", "p_onset", "p_end", "qrs_onset", "qrs_end", "t_end", "p_axis", "qrs_axis", "t_axis",
)  # fmt: skip


def join_report(parts: list[Any]) -> str:
    """Machine report lines -> one text: empty cells dropped, each line ending in a full stop."""
    lines = [str(p).strip() for p in parts if isinstance(p, str) and str(p).strip()]
    return " ".join(line if line.endswith((".", "!", "?")) else line + "." for line in lines)


@register_catalog(NAME)
def load(
    root: Path | None = None,
    *,
    download: bool = True,
    records: int | None = None,
    progress: Any = None,
    mirror: str | Path | None = None,
) -> Catalog:
    """MIMIC-IV-ECG catalog of the records on disk.

    Args:
        root: the ``mimic-iv-ecg/1.0`` folder or a PhysioNet ``files/`` root holding it; ``None``: cache / download.
        download: when ``root`` is None and the cache lacks the data, download it through the mirror.
        records: when downloading, only the first N records.
        progress: download progress callback, ``progress((done, total), desc=...)``.
        mirror: where to download from (base URL or local folder in PhysioNet's layout); ``None``: ``ECG_DATA_MIRROR``.
    """
    root = resolve_root(NAME, root, download=download, records=records, progress=progress, mirror=mirror)
    listing = pd.read_csv(root / "record_list.csv", dtype={"subject_id": str, "study_id": str})
    reports: dict[str, dict[str, Any]] = {}
    measurements_file = root / "machine_measurements.csv"
    if measurements_file.is_file():
        table = pd.read_csv(measurements_file, dtype={"subject_id": str, "study_id": str}, low_memory=False)
        reports = {str(row["study_id"]): row for row in table.to_dict("records")}
    else:
        log.warning("%s missing; records get no text", measurements_file)

    out: list[Record] = []
    for row in listing.to_dict("records"):
        path = root / str(row["path"])
        if not path.with_suffix(".hea").is_file():
            continue
        study = str(row["study_id"])
        measured = reports.get(study, {})
        text = join_report([measured.get(f"report_{i}") for i in range(N_REPORT_COLUMNS)])
        out.append(
            Record(
                record_id=f"{NAME}/{study}",
                dataset=NAME,
                path=path,
                text=text,
                text_en=text,  # machine reports are English already
                labels={},
                split=hash_split(f"{NAME}/patient/{row['subject_id']}"),
                patient_id=str(row["subject_id"]),
                meta={
                    "subject_id": str(row["subject_id"]),
                    "study_id": study,
                    "ecg_time": row.get("ecg_time"),
                    "measurements": {
                        k: (None if _nan(measured.get(k)) else measured.get(k)) for k in MEASUREMENT_COLUMNS
                    },
                },
            )
        )
    if len(out) < len(listing):
        log.info(
            "%s: %d of %d records have no waveform files on disk; skipped", root, len(listing) - len(out), len(listing)
        )
    return Catalog(name=NAME, root=root, records=out, label_sets={}, version=VERSION)


def _nan(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))
