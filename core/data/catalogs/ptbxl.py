"""PTB-XL 1.0.3 (Wagner et al., Sci. Data 2020; https://doi.org/10.13026/kfzx-aw45).

Text: the free-text ``report`` (German, Swedish or English) and its English version (``core.text.english``).
Labels: the four PTB-XL label sets built from ``scp_statements.csv``, as in the PTB-XL benchmark
(Strodthoff et al., IEEE JBHI 2021):

- ``superclass``: ``diagnostic_class`` of the record's diagnostic statements (NORM, MI, STTC, CD, HYP);
- ``subclass``: their ``diagnostic_subclass``;
- ``diagnostic``: the diagnostic statements themselves;
- ``form``: statements with ``form == 1``; ``rhythm``: statements with ``rhythm == 1``.

Likelihood convention: every code listed in ``scp_codes`` counts, whatever its likelihood, like the PTB-XL benchmark
and PhysioNet's example code. A likelihood of 0 means "not given" (form and rhythm statements, e.g. ``SR: 0.0``,
always carry 0), not "absent". ``min_likelihood`` raises the bar for diagnostic statements only; the likelihoods
are kept in ``meta["scp_codes"]``.

Splits (:func:`ptbxl_split`): ``strat_fold`` 9 and 10 are ``test``, the held-out evaluation set. Folds 1-8 are
``train``, except the patients whose hash falls in the first 10 % (:data:`VAL_FRACTION`), whose ECGs are ``val``
(early stopping). PTB-XL's folds keep all ECGs of a patient in one fold and ``val`` is drawn by patient, so the
three splits are patient-disjoint. The rule depends only on a row's ``strat_fold`` and ``patient_id``, so every
folder of PTB-XL (``ptb-xl/1.0.3``, ``ptbxl_more``) and every copy of a PTB-XL ECG elsewhere (CinC-2021 ``HR`` records,
see :mod:`core.data.catalogs.overlap`) gets the same split.

Several folders (``load_catalog("ptbxl", root="DIR1+DIR2")``) are merged by ecg_id; record ids stay
``ptbxl/<ecg_id:05d>`` whatever the folder.
"""

from __future__ import annotations

import ast
import logging
import math
from pathlib import Path
from typing import Any

import pandas as pd

from core.data.catalogs.base import Catalog, Record, english, hash_split, register_catalog, resolve_root

log = logging.getLogger(__name__)

NAME = "ptbxl"
VERSION = "2"  # 2: folds 9-10 test, a patient-hash 10 % of folds 1-8 val
LABEL_SETS = ("superclass", "subclass", "diagnostic", "form", "rhythm")
RATE_COLUMNS = {100: "filename_lr", 500: "filename_hr"}
HELD_OUT_FOLDS = (9, 10)
VAL_FRACTION = 0.1
METADATA_FILE = "ptbxl_database.csv"


def ptbxl_split(fold: int, patient_key: str) -> str:
    """The split of a PTB-XL ECG from its ``strat_fold`` and patient.

    Args:
        fold: ``strat_fold`` (1-10).
        patient_key: the patient id (``"15082"``), or ``"ecg/<ecg_id>"`` when the row has none.

    Returns:
        ``"test"`` for folds 9-10; for folds 1-8 ``"val"`` for a deterministic ~10 % of patients, else ``"train"``.
    """
    if int(fold) in HELD_OUT_FOLDS:
        return "test"
    return hash_split(f"{NAME}/patient/{patient_key}", fractions=(1.0 - VAL_FRACTION, VAL_FRACTION, 0.0))


def patient_key(ecg_id: int, patient: Any) -> str:
    """The key :func:`ptbxl_split` hashes: the patient id, or the ecg_id when the row has none."""
    return str(int(patient)) if _is_number(patient) else f"ecg/{int(ecg_id)}"


def split_table(metadata_files: list[Path]) -> dict[int, str]:
    """ecg_id -> split (:func:`ptbxl_split`) for every row of some ``ptbxl_database.csv``-like files.

    Files are read for their ``ecg_id``, ``strat_fold`` and ``patient_id`` columns only (files lacking them are
    skipped with a log line). Should two rows of one ecg_id disagree, the ECG is ``test`` (never trained on).
    """
    table: dict[int, str] = {}
    for file in metadata_files:
        try:
            rows = pd.read_csv(file, usecols=["ecg_id", "strat_fold", "patient_id"])
        except (OSError, ValueError) as exc:
            log.warning("%s: not usable as PTB-XL metadata (%s)", file, exc)
            continue
        # usecols keeps the file's column order; select to fix the order unpacked below.
        for ecg_id, fold, patient in rows[["ecg_id", "strat_fold", "patient_id"]].itertuples(index=False):
            if not _is_number(fold):
                continue
            split = ptbxl_split(int(fold), patient_key(int(ecg_id), patient))
            table[int(ecg_id)] = split if table.get(int(ecg_id), split) == split else "test"
    return table


def load_scp_statements(root: Path) -> pd.DataFrame:
    """``scp_statements.csv`` indexed by SCP code."""
    return pd.read_csv(root / "scp_statements.csv", index_col=0)


def label_vocabularies(statements: pd.DataFrame) -> dict[str, list[str]]:
    """All possible labels per label set (from ``scp_statements.csv``, not just those present)."""
    diag = statements[statements["diagnostic"] == 1]
    return {
        "superclass": sorted(diag["diagnostic_class"].dropna().unique().tolist()),
        "subclass": sorted(diag["diagnostic_subclass"].dropna().unique().tolist()),
        "diagnostic": sorted(diag.index.tolist()),
        "form": sorted(statements.index[statements["form"] == 1].tolist()),
        "rhythm": sorted(statements.index[statements["rhythm"] == 1].tolist()),
    }


def labels_from_codes(
    scp_codes: dict[str, float], statements: pd.DataFrame | dict[str, dict[str, Any]], min_likelihood: float = 0.0
) -> dict[str, list[str]]:
    """The five label sets of one record from its ``{code: likelihood}`` (see module docstring for the rule).

    Args:
        scp_codes: the record's ``scp_codes``.
        statements: ``scp_statements.csv`` as a DataFrame, or as ``{code: row dict}`` (faster in a loop).
        min_likelihood: minimum likelihood of a diagnostic statement.
    """
    table = _statement_rows(statements) if isinstance(statements, pd.DataFrame) else statements
    out: dict[str, set[str]] = {name: set() for name in LABEL_SETS}
    for code, likelihood in scp_codes.items():
        row = table.get(code)
        if row is None:
            continue
        if row["diagnostic"] == 1 and float(likelihood) >= min_likelihood:
            out["diagnostic"].add(code)
            if isinstance(row["diagnostic_class"], str):
                out["superclass"].add(row["diagnostic_class"])
            if isinstance(row["diagnostic_subclass"], str):
                out["subclass"].add(row["diagnostic_subclass"])
        if row["form"] == 1:
            out["form"].add(code)
        if row["rhythm"] == 1:
            out["rhythm"].add(code)
    return {name: sorted(values) for name, values in out.items()}


def _statement_rows(statements: pd.DataFrame) -> dict[str, dict[str, Any]]:
    columns = ["diagnostic", "form", "rhythm", "diagnostic_class", "diagnostic_subclass"]
    return statements[columns].to_dict("index")


@register_catalog(NAME)
def load(
    root: Path | None = None,
    *,
    rate_hz: int | None = None,
    min_likelihood: float = 0.0,
    download: bool = True,
    records: int | None = None,
    progress: Any = None,
    mirror: str | Path | None = None,
) -> Catalog:
    """PTB-XL catalog of the records whose waveforms are on disk.

    Args:
        root: the ``ptb-xl/1.0.3`` folder (or another folder in its layout, e.g. ``ptbxl_more``) or a PhysioNet
            ``files/`` root holding it; ``None``: cache / download. Several folders: see :func:`load_catalog`.
        rate_hz: 100 or 500 to use that rate's files; ``None`` prefers 500 Hz and falls back to 100 Hz per record.
        min_likelihood: minimum likelihood for diagnostic statements (default 0: every listed code).
        download: when ``root`` is None and the cache lacks PTB-XL, download it through the mirror.
        records: when downloading, only the first N records.
        progress: download progress callback, ``progress((done, total), desc=...)``.
        mirror: where to download from (base URL or local folder in PhysioNet's layout); ``None``: ``ECG_DATA_MIRROR``.

    Raises:
        DatasetNotFoundError: no ``ptbxl_database.csv`` where looked, and no download possible.
    """
    if rate_hz is not None and rate_hz not in RATE_COLUMNS:
        raise ValueError(f"PTB-XL has 100 Hz and 500 Hz records, not {rate_hz}")
    root = resolve_root(NAME, root, download=download, records=records, progress=progress, mirror=mirror)
    db = pd.read_csv(root / METADATA_FILE, index_col="ecg_id").sort_index()
    statements = load_scp_statements(root)
    descriptions = statements["description"].to_dict()
    rows = _statement_rows(statements)
    rates = [rate_hz] if rate_hz else [500, 100]

    out: list[Record] = []
    missing = 0
    for row in db.reset_index().to_dict("records"):
        ecg_id = int(row["ecg_id"])
        chosen = next(
            ((r, row[RATE_COLUMNS[r]]) for r in rates if (root / f"{row[RATE_COLUMNS[r]]}.hea").is_file()), None
        )
        if chosen is None:
            missing += 1
            continue
        fs_hz, rel = chosen
        scp_codes: dict[str, float] = ast.literal_eval(row["scp_codes"]) if isinstance(row["scp_codes"], str) else {}
        report = str(row["report"]).strip() if isinstance(row["report"], str) else ""
        text_en = english(report)
        if not text_en:
            # A blank report (e.g. ecg_id 443): describe the record by its SCP statements instead.
            text_en = "; ".join(str(descriptions.get(code, code)) for code in scp_codes)
        patient = row["patient_id"]
        key = patient_key(ecg_id, patient)
        out.append(
            Record(
                record_id=f"{NAME}/{int(ecg_id):05d}",
                dataset=NAME,
                path=root / rel,
                text=report,
                text_en=text_en,
                labels=labels_from_codes(scp_codes, rows, min_likelihood),
                split=ptbxl_split(int(row["strat_fold"]), key),
                patient_id=key if _is_number(patient) else None,
                meta=_meta(int(ecg_id), row, scp_codes, fs_hz),
            )
        )
    if missing:
        log.info("%s: %d of %d records have no waveform files on disk; skipped", root, missing, len(db))
    return Catalog(name=NAME, root=root, records=out, label_sets=label_vocabularies(statements), version=VERSION)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


def _meta(ecg_id: int, row: dict[str, Any], scp_codes: dict[str, float], fs_hz: int) -> dict[str, Any]:
    sex = {0: "male", 1: "female"}.get(int(row["sex"])) if _is_number(row["sex"]) else None
    return {
        "ecg_id": ecg_id,
        "fs_hz": fs_hz,
        "scp_codes": scp_codes,
        "strat_fold": int(row["strat_fold"]),
        "age": float(row["age"]) if _is_number(row["age"]) else None,
        "sex": sex,
        "heart_axis": row["heart_axis"] if isinstance(row["heart_axis"], str) else None,
        "validated_by_human": bool(row["validated_by_human"]),
        "filename_lr": row["filename_lr"],
        "filename_hr": row["filename_hr"],
    }
