"""Dataset catalogs: records with report text (original and English), label sets and splits.

``load_catalog(name, root=None)`` for ``ptbxl``, ``ludb``, ``cinc2021``, ``sph``, ``mimic_iv_ecg`` and ``folder``;
``root`` may name several folders of one dataset (``"DIR1+DIR2"`` or a list), merged by ``merge_catalogs``.
ECGs present in two datasets (CinC-2021 ``HR`` records = PTB-XL) are kept on one side of the split and loaded once by
``core.data.catalogs.overlap.reconcile``.
"""

from core.data.catalogs.base import (
    SPLITS,
    Catalog,
    Record,
    hash_split,
    list_catalogs,
    load_catalog,
    merge_catalogs,
    multi_hot,
    register_catalog,
    split_roots,
)

__all__ = [
    "SPLITS",
    "Catalog",
    "Record",
    "hash_split",
    "list_catalogs",
    "load_catalog",
    "merge_catalogs",
    "multi_hot",
    "register_catalog",
    "split_roots",
]
