"""The Map tab's figure: one colour per group, at most ten named ones, greys for "other" and unlabelled ECGs."""

from __future__ import annotations

from app.views.map import NO_LABEL_COLOUR, OTHER_COLOUR, PALETTE, atlas_figure, group_colours


def test_named_groups_get_distinct_palette_colours_and_pools_get_greys():
    groups = [f"g{i}" for i in range(10) for _ in range(20 - i)] + ["other"] * 50 + ["no rhythm label"] * 5
    colours = group_colours(groups)
    named = [colours[f"g{i}"] for i in range(10)]
    assert named == list(PALETTE)  # by size, each its own colour
    assert colours["other"] == OTHER_COLOUR and colours["no rhythm label"] == NO_LABEL_COLOUR


def test_superclass_map_colours_one_group_per_trace(services):
    fig = atlas_figure(services, "superclass", "ptbxl/00002")
    traces = [t for t in fig.data if t.marker.symbol != "star"]
    names = [t.name.rsplit(" (", 1)[0] for t in traces]
    assert "no superclass label" in names  # LUDB has no superclass: one grey group, not a palette colour
    assert all("," not in n for n in names)  # one label per point, no "CD, STTC" combinations
    colours = [t.marker.color for t in traces]
    assert len(set(colours)) == len(colours)
    ids = {i for t in traces for i in t.customdata}
    assert ids == {r.record_id for r in services.explorer().records}
    assert fig.data[-1].marker.symbol == "star" and fig.layout.legend.title.text == "superclass"


def test_a_sampled_map_says_how_many_ecgs_it_draws(services, monkeypatch):
    from core.explorer import service as service_module

    monkeypatch.setattr(service_module, "MAP_MAX_POINTS", 10)
    monkeypatch.setattr(service_module, "MAP_NEIGHBOURHOOD", 3)
    fig = atlas_figure(services, "dataset", "ptbxl/00002")
    total = len(services.explorer())
    drawn = {i for t in fig.data if t.marker.symbol != "star" for i in t.customdata}
    assert "ptbxl/00002" in drawn and 10 <= len(drawn) <= 13 < total
    assert (
        fig.layout.title.text
        == f"{len(drawn)} of {total:,} ECGs drawn: a fixed random sample and the 3 nearest to ptbxl/00002"
    )
