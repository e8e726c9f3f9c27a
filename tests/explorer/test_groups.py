"""Map colour groups: one value per point, at most MAX_NAMED named groups, the rest pooled as "other"."""

from __future__ import annotations

from core.explorer.groups import MAX_NAMED, NO_LABEL, OTHER, one_per_point, top_groups


def test_one_value_per_point_is_its_most_common_label():
    values = [["NORM"], ["NORM", "LVOLT"], ["CD", "STTC"], ["STTC"], []]
    assert one_per_point(values) == ["NORM", "NORM", "STTC", "STTC", NO_LABEL]


def test_at_most_max_named_groups_plus_other_and_no_label():
    groups = [f"label {i}" for i in range(30) for _ in range(30 - i)] + [NO_LABEL] * 3
    out = top_groups(groups, keep=[NO_LABEL])
    named = set(out) - {OTHER, NO_LABEL}
    assert len(named) == MAX_NAMED and named == {f"label {i}" for i in range(MAX_NAMED)}
    assert out.count(NO_LABEL) == 3 and OTHER in out
    assert top_groups(["a", "b", "a"]) == ["a", "b", "a"]  # few groups are left as they are
