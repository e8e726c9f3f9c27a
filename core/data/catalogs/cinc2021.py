"""PhysioNet/Computing in Cardiology Challenge 2021 (Reyna et al., CinC 2021; https://doi.org/10.13026/34va-7q14).

Records are ``.hea`` + MATLAB v4 ``.mat`` files whose header carries SNOMED-CT diagnoses on a ``# Dx:`` line.
The root may be PhysioNet's layout (``challenge-2021/1.0.3/training/<source>/<group>/<id>.hea``) or any folder of
such records (e.g. ``shared/data/cinc2021/torch_ecg_sample``); records are found recursively.

SNOMED codes become names through the Challenge's ``dx_mapping_scored.csv`` and ``dx_mapping_unscored.csv``
(https://github.com/physionetchallenges/evaluation-2021), looked for in the root, next to it and up to three
folders above it, or given with ``dx_mapping=DIR``.

Text: the names of the ``#Dx`` codes in header order, comma-joined (``"sinus bradycardia, right bundle branch
block"``). Labels: ``dx`` (all names) and ``scored`` (the 30 scored classes' names).
Splits: a hash of the record id (no patient ids are published), 55 % train / 5 % val / 40 % test, except the
PTB-XL records (``HR#####`` = PTB-XL ecg_id #####), which take PTB-XL's split of their ecg_id, or ``test`` when no
PTB-XL metadata at hand knows it (:mod:`core.data.catalogs.overlap`).

Several folders (``load_catalog("cinc2021", root="DIR1+DIR2")``, e.g. ``shared/data/cinc2021`` and
``shared/data/cinc2021_more``) are merged by record name; record ids are ``cinc2021/<record name>``.
Challenge 2020 headers (``E00015.mat 12 500 ...``) are read as well (:mod:`core.data.formats.wfdb_format`).
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.data import registry
from core.data.catalogs.base import Catalog, Record, hash_split, register_catalog, resolve_root
from core.data.catalogs.overlap import assign_twin_splits, ptbxl_splits_near
from core.errors import DatasetNotFoundError

log = logging.getLogger(__name__)

NAME = "cinc2021"
VERSION = "2"  # 2: 55/5/40 hash split; HR records take PTB-XL's split
MAPPING_FILES = ("dx_mapping_scored.csv", "dx_mapping_unscored.csv")
# First letters of Challenge record names -> source database (used when the folder layout does not say).
SOURCE_OF_PREFIX = {
    "HR": "ptb-xl",
    "JS": "chapman_shaoxing/ningbo",
    "A": "cpsc_2018",
    "Q": "cpsc_2018_extra",
    "I": "st_petersburg_incart",
    "S": "ptb",
    "E": "georgia",
}


@dataclass(frozen=True)
class SnomedTerm:
    """One row of the Challenge's mapping: SNOMED-CT code -> name, abbreviation, and whether it is scored."""

    code: str
    name: str
    abbreviation: str
    scored: bool


def find_dx_mapping(start: Path, extra: list[Path] | None = None) -> Path | None:
    """The folder holding ``dx_mapping_scored.csv``: ``start``, its parents (3 levels) or their ``cinc2021`` child."""
    candidates: list[Path] = list(extra or [])
    for folder in [start, *list(start.parents)[:3]]:
        candidates += [folder, folder / "cinc2021"]
    for folder in candidates:
        if (folder / MAPPING_FILES[0]).is_file():
            return folder
    return None


def snomed_terms_near(root: Path, dx_mapping: Path | None, *, missing: str) -> dict[str, SnomedTerm]:
    """The SNOMED terms of the mapping folder ``dx_mapping``, or of the one found in or above ``root``.

    Raises:
        DatasetNotFoundError: with the message ``missing`` when no folder holds ``dx_mapping_scored.csv``.
    """
    mapping_dir = Path(dx_mapping) if dx_mapping is not None else find_dx_mapping(root)
    if mapping_dir is None or not (mapping_dir / MAPPING_FILES[0]).is_file():
        raise DatasetNotFoundError(missing)
    return load_snomed_terms(mapping_dir)


def load_snomed_terms(folder: Path) -> dict[str, SnomedTerm]:
    """SNOMED code (as text) -> :class:`SnomedTerm` from the two Challenge mapping CSVs in ``folder``."""
    terms: dict[str, SnomedTerm] = {}
    for file, scored in zip(MAPPING_FILES, (True, False), strict=True):
        path = folder / file
        if not path.is_file():
            continue
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                code = str(row["SNOMEDCTCode"]).strip()
                terms[code] = SnomedTerm(code, row["Dx"].strip(), row.get("Abbreviation", "").strip(), scored)
    return terms


def parse_header(path: Path) -> dict[str, Any]:
    """Sampling rate, length and the ``# Key: value`` comments (``Dx``, ``Age``, ``Sex``, ...) of a ``.hea``."""
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    first = lines[0].split() if lines else []
    info: dict[str, Any] = {
        "fs_hz": float(first[2].split("/")[0]) if len(first) > 2 else None,
        "n_samples": int(first[3]) if len(first) > 3 else None,
        "comments": {},
    }
    for line in lines:
        if line.startswith("#"):
            key, _, value = line.lstrip("#").partition(":")
            info["comments"][key.strip()] = value.strip()
    return info


def _find_records(root: Path) -> list[Path]:
    return sorted((p.with_suffix("") for p in root.rglob("*.hea")), key=lambda p: (p.name, str(p)))


def _source_of(path: Path, root: Path) -> str:
    parts = path.relative_to(root).parts
    if len(parts) >= 3 and parts[0] == "training":
        return parts[1]
    for prefix in sorted(SOURCE_OF_PREFIX, key=len, reverse=True):
        if path.name.startswith(prefix):
            return SOURCE_OF_PREFIX[prefix]
    return "unknown"


@register_catalog(NAME)
def load(
    root: Path | None = None,
    *,
    dx_mapping: Path | None = None,
    ptbxl_metadata: Sequence[Path] = (),
    download: bool = True,
    records: int | None = None,
    progress: Any = None,
    mirror: str | Path | None = None,
) -> Catalog:
    """CinC-2021 catalog.

    Args:
        root: a folder of Challenge records (searched recursively) or a PhysioNet ``files/`` root holding
            ``challenge-2021/1.0.3``; ``None``: cache / download.
        dx_mapping: folder with ``dx_mapping_scored.csv`` / ``dx_mapping_unscored.csv`` (found automatically if None).
        ptbxl_metadata: ``ptbxl_database.csv`` files giving the splits of the ``HR`` records, besides those found next
            to the root (:func:`core.data.catalogs.overlap.find_ptbxl_metadata`).
        download: when ``root`` is None and the cache lacks the data, download it through the mirror.
        records: when downloading, only the first N records.
        progress: download progress callback, ``progress((done, total), desc=...)``.
        mirror: where to download from (base URL or local folder in PhysioNet's layout); ``None``: ``ECG_DATA_MIRROR``.

    Raises:
        DatasetNotFoundError: no records, or no code-to-name mapping.
    """
    if root is not None:
        # Any folder of Challenge records works; a PhysioNet files/ root is entered at challenge-2021/1.0.3.
        root = registry.locate(NAME, [root]) or root
    else:
        root = resolve_root(NAME, None, download=download, records=records, progress=progress, mirror=mirror)
    paths = _find_records(root) if root.is_dir() else []
    if not paths:
        raise DatasetNotFoundError(
            f"{NAME}: no .hea records under {root}. Point --root / load_catalog('cinc2021', root=DIR) at a folder of "
            "Challenge records (any layout) or at a PhysioNet files/ root holding challenge-2021/1.0.3."
        )
    terms = snomed_terms_near(
        root,
        dx_mapping,
        missing=f"{NAME}: dx_mapping_scored.csv not found in or above {root}; pass dx_mapping=DIR (the folder with "
        "dx_mapping_scored.csv and dx_mapping_unscored.csv from physionetchallenges/evaluation-2021).",
    )
    out = [_record(path, root, terms) for path in paths]
    out = assign_twin_splits(out, ptbxl_splits_near([root], extra=[Path(p) for p in ptbxl_metadata]))
    label_sets = {
        "dx": sorted({t.name for t in terms.values()}),
        "scored": sorted({t.name for t in terms.values() if t.scored}),
    }
    return Catalog(name=NAME, root=root, records=out, label_sets=label_sets, version=VERSION)


def codes_to_names(codes: list[str], terms: dict[str, SnomedTerm]) -> list[str]:
    """Names of SNOMED codes in the given order; unknown codes become ``"SNOMED <code>"`` (and are logged)."""
    names = []
    for code in codes:
        term = terms.get(code)
        if term is None:
            log.warning("SNOMED code %s is not in the dx mapping", code)
            names.append(f"SNOMED {code}")
        else:
            names.append(term.name)
    return names


def _record(path: Path, root: Path, terms: dict[str, SnomedTerm]) -> Record:
    header = parse_header(path.with_suffix(".hea"))
    comments = header["comments"]
    codes = [c.strip() for c in comments.get("Dx", "").split(",") if c.strip()]
    names = codes_to_names(codes, terms)
    text = ", ".join(names)
    age = comments.get("Age", "")
    return Record(
        record_id=f"{NAME}/{path.name}",
        dataset=NAME,
        path=path,
        text=text,
        text_en=text,
        labels={
            "dx": sorted(set(names)),
            "scored": sorted({terms[c].name for c in codes if c in terms and terms[c].scored}),
        },
        split=hash_split(f"{NAME}/{path.name}"),
        patient_id=None,
        meta={
            "fs_hz": header["fs_hz"],
            "n_samples": header["n_samples"],
            "snomed_codes": codes,
            "source": _source_of(path, root),
            "age": float(age) if age.replace(".", "", 1).isdigit() else None,
            "sex": {"male": "male", "female": "female", "m": "male", "f": "female"}.get(
                comments.get("Sex", "").lower()
            ),
        },
    )
