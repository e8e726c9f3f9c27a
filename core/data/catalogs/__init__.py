"""Dataset catalogs: records with report text (original and English), label sets and splits.

``load_catalog(name, root=None)`` for ``ptbxl``, ``ludb``, ``cinc2021``, ``sph``, ``mimic_iv_ecg`` and ``folder``.
"""

from core.data.catalogs.base import (
    SPLITS,
    Catalog,
    Record,
    hash_split,
    list_catalogs,
    load_catalog,
    multi_hot,
    register_catalog,
)

__all__ = [
    "SPLITS",
    "Catalog",
    "Record",
    "hash_split",
    "list_catalogs",
    "load_catalog",
    "multi_hot",
    "register_catalog",
]
