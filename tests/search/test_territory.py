"""Lead lists in report text and the walls they point at (inferior, lateral, septal, anterior)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.search.territory import lead_lists


@pytest.mark.parametrize(
    ("text", "leads", "walls"),
    [
        ("st elevation in ii, iii, avf.", {"II", "III", "aVF"}, ["inferior"]),
        ("ST ELEVATION IN V2 - V4", {"V2", "V3", "V4"}, ["septal", "anterior"]),
        ("st segments are elevated in v2,3,4, this is a normal variant", {"V2", "V3", "V4"}, ["septal", "anterior"]),
        ("st elevation in v1-3", {"V1", "V2", "V3"}, ["septal", "anterior"]),
        ("st depression in i,ii,avl,v4-v6.", {"I", "II", "aVL", "V4", "V5", "V6"}, ["lateral", "anterior"]),
        ("t waves are inverted in i, avl and low in v6", {"I", "aVL"}, ["lateral"]),  # "low" ends the list
        ("q waves in iii", {"III"}, []),  # one inferior lead is not an inferior wall
        ("st-hebung in v2,3,f. u-welle", {"V2", "V3", "aVF"}, ["septal", "anterior"]),  # German "f" is aVF
    ],
)
def test_a_lead_list_names_its_leads_and_walls(text: str, leads: set[str], walls: list[str]):
    found = lead_lists(text)  # the first list of the text
    assert found[0].leads == leads
    assert found[0].territories == walls
    assert text.lower()[found[0].start :].startswith(("ii", "v", "i", "iii"))


def test_words_are_not_leads_and_lists_are_apart():
    assert lead_lists("sinus rhythm in a normal individual. incomplete right bundle branch block") == []
    assert [sorted(f.leads) for f in lead_lists("st elevation in v2, v3. st depression in ii, iii, avf")] == [
        ["V2", "V3"],
        ["II", "III", "aVF"],
    ]
    # A bare digit continues a chest-lead list only: "ii, 3" is not V3.
    assert lead_lists("second degree av block type ii, 3 beats")[0].leads == frozenset({"II"})
    assert lead_lists("type f") == []  # "f" is aVF only inside a list


def test_wall_tokens_tie_the_wall_to_the_finding_not_to_st_alone():
    from core.search.lexical import tokens, wall_tokens

    by_leads = wall_tokens("st segment elevation in ii, iii, avf")
    by_colon = wall_tokens("STEMI: inferior wall")
    for toks in (by_leads, by_colon):
        assert {"inferior", "inferior_st_elevation"} <= set(toks)
        assert "inferior_st" not in toks
    assert "inferior_st_elevation" in tokens("inferior ST elevation")
    assert "inferior_st_elevation" not in tokens("st segments are depressed in ii, iii, avf")


def test_a_written_wall_is_tied_to_the_finding_before_or_after_it():
    from core.search.lexical import tokens, wall_tokens

    q_waves = set(tokens("q waves in inferior leads"))
    assert {"inferior_wave", "inferior_q_wave"} <= q_waves
    assert "inferior_q_wave" not in tokens("t wave abnormal in inferior leads")
    assert "inferior_q_wave" in wall_tokens("q waves in ii, iii, avf")  # the same token from a lead list
    assert {"lateral_inversion", "lateral_t_inversion"} <= set(tokens("lateral t wave inversion"))
    # Lead names and place words are not findings.
    assert not any(t.startswith("inferior_avf") for t in tokens("q in avf consistent with inferior leads"))


@given(st.text(alphabet=st.sampled_from(list("iIvVaAfFlLrR123456 ,.-:;/&xq\n")), max_size=80) | st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_any_text_tokenises_and_lists_point_into_it(text: str):
    from core.search.lexical import tokens

    for found in lead_lists(text):
        assert 0 <= found.start < len(text) and found.leads
    assert all(isinstance(t, str) and t for t in tokens(text, pair_weight=2))
