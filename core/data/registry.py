"""The one place that knows where each dataset lives: name -> PhysioNet path and version, catalog, marker files.

Everything that looks for a dataset on disk asks :func:`locate`; everything that downloads one asks :func:`get` for its
PhysioNet path and index files. Datasets are found, in order, in

1. the roots the caller gives (a CLI ``--root`` / ``--data-root``),
2. the download cache, ``core.paths.data_dir() / "physionet"`` (a PhysioNet ``files/`` tree),
3. a local-directory mirror, ``ECG_DATA_MIRROR=DIR`` (a folder laid out like PhysioNet's ``files/``).

A root may be the dataset folder itself (``.../ptb-xl/1.0.3``) or a ``files/`` root holding it (``...``), so the same
folder works as ``--root`` and as a mirror.

Mirror rules: a dataset with a ``physionet_path`` can be fetched from PhysioNet or any mirror in its layout (an HTTP
base URL or a local folder, see :mod:`core.data.download`); its ``index_files`` must be there, its ``optional_files``
may be. A dataset without one (SPH on figshare, a folder of records) is only ever read from a folder the user names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import UnknownDatasetError
from core.paths import data_dir, local_mirror_dir

PHYSIONET_CACHE_NAME = "physionet"
# LUDB's per-lead annotation files (``<record>.i`` ... ``<record>.v6``), in canonical lead order.
LUDB_ANNOTATION_EXTENSIONS: tuple[str, ...] = (
    "i", "ii", "iii", "avr", "avl", "avf", "v1", "v2", "v3", "v4", "v5", "v6"
)  # fmt: skip


@dataclass(frozen=True)
class DatasetEntry:
    """One dataset the project can read.

    Attributes:
        name: the catalog name (``"ptbxl"``), used by ``load_catalog``, ``python -m core download`` and caches.
        catalog_module: the module whose import registers the catalog loader.
        physionet_path: the dataset's folder under PhysioNet's ``files/`` root, ``"<db>/<version>/"``; ``None`` when
            it is not on PhysioNet (then it cannot be downloaded).
        markers: files whose presence identifies the dataset folder (relative to it).
        index_files: tables a download must fetch first (they list the records).
        optional_files: fetched when the mirror has them (licence, code tables); a 404 is not an error.
        record_extensions: the files of one record (``<record>.<extension>``), fetched for each listed record.
        aliases: other spellings accepted for ``name`` (``"ptb-xl"``, ``"challenge-2021"``).
        description: one line for ``--help``.
    """

    name: str
    catalog_module: str
    physionet_path: str | None = None
    markers: tuple[str, ...] = ()
    index_files: tuple[str, ...] = ()
    optional_files: tuple[str, ...] = ()
    record_extensions: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""

    @property
    def downloadable(self) -> bool:
        """Whether a PhysioNet-layout mirror can serve it."""
        return self.physionet_path is not None

    @property
    def version(self) -> str | None:
        """The PhysioNet version (``"1.0.3"``), or ``None`` when the dataset is not on PhysioNet."""
        return self.physionet_path.rstrip("/").rpartition("/")[2] if self.physionet_path else None

    def is_dataset_dir(self, folder: Path) -> bool:
        """Whether ``folder`` holds this dataset (every marker file present; any folder when there are none)."""
        return folder.is_dir() and all((folder / marker).is_file() for marker in self.markers)


DATASETS: dict[str, DatasetEntry] = {
    entry.name: entry
    for entry in (
        DatasetEntry(
            name="ptbxl",
            catalog_module="core.data.catalogs.ptbxl",
            physionet_path="ptb-xl/1.0.3/",
            markers=("ptbxl_database.csv",),
            index_files=("ptbxl_database.csv", "scp_statements.csv"),
            optional_files=("LICENSE.txt",),
            record_extensions=("hea", "dat"),
            aliases=("ptb-xl", "ptb_xl"),
            description="PTB-XL 1.0.3: 21,799 12-lead ECGs with reports (100 Hz and 500 Hz)",
        ),
        DatasetEntry(
            name="ludb",
            catalog_module="core.data.catalogs.ludb",
            physionet_path="ludb/1.0.1/",
            markers=("ludb.csv",),
            index_files=("RECORDS", "ludb.csv"),
            optional_files=("LICENSE.txt", "ANNOTATORS", "README"),
            record_extensions=("hea", "dat", *LUDB_ANNOTATION_EXTENSIONS),
            description="LUDB 1.0.1: 200 12-lead ECGs with P/QRS/T delineation and diagnoses",
        ),
        DatasetEntry(
            name="cinc2021",
            catalog_module="core.data.catalogs.cinc2021",
            physionet_path="challenge-2021/1.0.3/",
            markers=("RECORDS",),
            index_files=("RECORDS",),
            optional_files=("LICENSE.txt", "dx_mapping_scored.csv", "dx_mapping_unscored.csv"),
            record_extensions=("hea", "mat"),
            aliases=("challenge-2021", "challenge_2021"),
            description="PhysioNet/CinC Challenge 2021 training set (training/<source>/<group>/<id>.hea/.mat)",
        ),
        DatasetEntry(
            name="mimic_iv_ecg",
            catalog_module="core.data.catalogs.mimic_iv_ecg",
            physionet_path="mimic-iv-ecg/1.0/",
            markers=("record_list.csv",),
            index_files=("record_list.csv", "machine_measurements.csv"),
            optional_files=("LICENSE.txt",),
            record_extensions=("hea", "dat"),
            aliases=("mimic", "mimic-iv-ecg", "mimic_ecg"),
            description="MIMIC-IV-ECG 1.0: ~800k 10 s ECGs with machine reports",
        ),
        DatasetEntry(
            name="sph",
            catalog_module="core.data.catalogs.sph",
            markers=("metadata.csv",),
            description="SPH (Shandong Provincial Hospital, on figshare): 12-lead ECGs in HDF5, from a folder you give",
        ),
        DatasetEntry(
            name="folder",
            catalog_module="core.data.catalogs.folder",
            description="any folder of WFDB records",
        ),
    )
}

_ALIASES: dict[str, str] = {
    alias.lower().replace("-", "_"): entry.name for entry in DATASETS.values() for alias in (entry.name, *entry.aliases)
}


def canonical_name(name: str) -> str:
    """The registry name of a dataset spelled any accepted way (``"PTB-XL"`` -> ``"ptbxl"``).

    Raises:
        UnknownDatasetError: not a dataset the project knows (the message lists the known ones).
    """
    key = _ALIASES.get(name.strip().lower().replace("-", "_"))
    if key is None:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return key


def get(name: str) -> DatasetEntry:
    """The :class:`DatasetEntry` of a dataset (any accepted spelling); raises :class:`UnknownDatasetError`."""
    return DATASETS[canonical_name(name)]


def list_datasets(*, downloadable: bool | None = None) -> list[str]:
    """Dataset names, sorted; ``downloadable=True`` keeps those a PhysioNet mirror can serve."""
    return sorted(n for n, e in DATASETS.items() if downloadable is None or e.downloadable == downloadable)


def physionet_cache_dir() -> Path:
    """The download cache: ``core.paths.data_dir() / "physionet"``, a PhysioNet ``files/`` tree."""
    return data_dir() / PHYSIONET_CACHE_NAME


def default_roots(mirror: str | Path | None = None) -> list[Path]:
    """Where :func:`locate` looks when no root is given: the download cache, then a local-directory mirror.

    Args:
        mirror: the mirror to consider (a URL or folder); ``None``: ``ECG_DATA_MIRROR``. URLs are skipped (a remote
            mirror is read by downloading into the cache, never in place).
    """
    roots = [physionet_cache_dir()]
    local = local_mirror_dir(mirror)
    if local is not None:
        roots.append(local)
    return roots


def candidates(name: str, roots: Sequence[str | Path] | str | Path | None = None) -> list[Path]:
    """The folders :func:`locate` checks, in order: each root itself, then the root's ``<db>/<version>/`` folder."""
    entry = get(name)
    if roots is None:
        folders = default_roots()
    elif isinstance(roots, (str, Path)):
        folders = [Path(roots)]
    else:
        folders = [Path(r) for r in roots]
    out: list[Path] = []
    for root in folders:
        root = root.expanduser()
        out.append(root)
        if entry.physionet_path:
            out.append(root / entry.physionet_path.rstrip("/"))
    return list(dict.fromkeys(out))


def locate(name: str, roots: Sequence[str | Path] | str | Path | None = None) -> Path | None:
    """The folder holding a dataset, or ``None`` when it is in none of the places looked.

    Args:
        name: a dataset name (any accepted spelling, see :func:`canonical_name`).
        roots: folders to look in (a dataset folder or a PhysioNet ``files/`` root each); ``None``:
            :func:`default_roots` (the download cache, then a local-directory ``ECG_DATA_MIRROR``).

    Returns:
        The first candidate folder (:func:`candidates`) that holds every marker file of the dataset.
    """
    entry = get(name)
    for folder in candidates(entry.name, roots):
        if entry.is_dataset_dir(folder):
            return folder
    return None
