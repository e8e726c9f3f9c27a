"""Label definitions of the contrast set and the precision@10 queries: which records carry a finding.

A definition maps a dataset name to a rule over that dataset's label sets (see ``eval/contrast_set.json``)::

    {"ptbxl": {"diagnostic": ["CLBBB"]}, "cinc2021": {"dx": ["sinus rhythm"], "only": true},
     "ptbxl_axis_example": {"meta:heart_axis": ["LAD", "ALAD"]}}

A record is positive if any of its labels in a named label set is listed (``meta:KEY`` reads ``record.meta[KEY]``;
``report:st`` reads the ST shifts its English report names, :func:`report_st_labels`; ``report:t`` the T waves it
names inverted or low, :func:`report_t_labels`).
With ``"only": true`` it must also have no other label in those sets ("sinus rhythm and nothing else" = a normal
CinC ECG, which has no "normal" code). A dataset the definition does not name has no positives and is not searched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from core.data.catalogs.base import Record

META_PREFIX = "meta:"
REPORT_ST = "report:st"
REPORT_T = "report:t"


@dataclass(frozen=True)
class DatasetRule:
    """Which records of one dataset carry a finding."""

    labels: Mapping[str, frozenset[str]]  # label set (or ``meta:KEY``) -> accepted labels
    only: bool = False

    @classmethod
    def from_dict(cls, spec: Mapping) -> DatasetRule:
        labels = {k: frozenset(v) for k, v in spec.items() if k != "only"}
        if not labels:
            raise ValueError(f"a dataset rule names no label set: {dict(spec)}")
        return cls(labels, bool(spec.get("only", False)))

    def matches(self, record: Record) -> bool:
        held = {key: set(_labels_of(record, key)) for key in self.labels}
        hit = any(held[key] & accepted for key, accepted in self.labels.items())
        if not hit or not self.only:
            return hit
        return all(held[key] <= accepted for key, accepted in self.labels.items())


@dataclass(frozen=True)
class LabelDefinition:
    """A finding's positives across datasets."""

    rules: Mapping[str, DatasetRule]

    @classmethod
    def from_dict(cls, spec: Mapping[str, Mapping]) -> LabelDefinition:
        return cls({dataset: DatasetRule.from_dict(rule) for dataset, rule in spec.items()})

    def covers(self, dataset: str) -> bool:
        """Whether the definition says anything about ``dataset``."""
        return dataset in self.rules

    def positives(self, records: Sequence[Record]) -> np.ndarray:
        """Boolean vector: which records carry the finding."""
        return np.array(
            [r.dataset in self.rules and self.rules[r.dataset].matches(r) for r in records], dtype=bool
        ).reshape(len(records))

    def covered(self, records: Sequence[Record]) -> np.ndarray:
        """Boolean vector: which records belong to a dataset the definition names."""
        return np.array([r.dataset in self.rules for r in records], dtype=bool).reshape(len(records))


def report_st_labels(report_en: str) -> list[str]:
    """``"elevation"`` / ``"depression"`` where an English report names leads with that ST shift, and
    ``"elevation:inferior"`` etc. for each wall those leads point at (:data:`core.search.territory.TERRITORIES`)."""
    from core.measure.reference_labels import st_shift_leads
    from core.search.territory import TERRITORIES

    out = []
    for way, leads in st_shift_leads(report_en).items():
        out.append(way)
        out += [f"{way}:{wall}" for wall, (group, need) in TERRITORIES.items() if len(leads & group) >= need]
    return out


def report_t_labels(report_en: str) -> list[str]:
    """``"inverted"`` where an English report names leads with inverted or negative T waves, ``"low"`` where it names
    leads with low or flat ones, and ``"inverted:lateral"``, ``"low:inferior"`` etc. for each wall those leads point
    at (:data:`core.search.territory.TERRITORIES`)."""
    from core.measure.reference_labels import stated_low_t_leads, stated_t_inversion_leads
    from core.search.territory import TERRITORIES

    out: list[str] = []
    for way, leads in (("inverted", stated_t_inversion_leads(report_en)), ("low", stated_low_t_leads(report_en))):
        if leads:
            walls = [wall for wall, (group, need) in TERRITORIES.items() if len(leads & group) >= need]
            out += [way, *(f"{way}:{wall}" for wall in walls)]
    return out


def _labels_of(record: Record, key: str) -> list[str]:
    if key == REPORT_ST:
        return report_st_labels(record.text_en)
    if key == REPORT_T:
        return report_t_labels(record.text_en)
    if key.startswith(META_PREFIX):
        value = record.meta.get(key[len(META_PREFIX) :])
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
    return list(record.labels.get(key, []))
