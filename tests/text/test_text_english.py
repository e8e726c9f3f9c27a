"""to_english on real PTB-XL reports (German, Swedish, English), idempotence, cut-off words, Edit segments."""

from __future__ import annotations

import pytest

from core.text import detect_language, english, scp_description, to_english, translate_tokens

# Real PTB-XL reports (ecg_ids 1 and 2 of ptbxl_database.csv and rows of the metadata extras) with the English
# a cardiologist would write; the layout (indentation, cut-off tails, upper-case umlauts) is as in the dataset.
KNOWN = [
    # German
    ("sinusrhythmus periphere niederspannung", "sinus rhythm. low voltage in limb leads."),
    ("sinusbradykardie sonst normales ekg", "sinus bradycardia. otherwise normal ecg."),
    (
        "sinusrhythmus lagetyp normal qrs(t) abnorm    inferiorer infarkt     alter unbest.",
        "sinus rhythm. normal axis. qrs(t) abnormal: inferior infarction, age undetermined.",
    ),
    (
        "vorhofflimmern/-flattern linkstyp qrs(t) abnorm    inferiorer infarkt mÖglich st & t abnorm, wahrscheinlich"
        "    anteriore ischÄmie oder linksbelastung    laterale ischÄmie oder linksbelastung 4.46"
        "                          unbestÄtigter bericht",
        "atrial fibrillation/flutter. left axis. qrs(t) abnormal: inferior infarction possible. st-t abnormal, "
        "probably anterior ischemia or left ventricular strain; lateral ischemia or left ventricular strain.",
    ),
    (
        "tachykardes vorhofflimmern ueberdrehter linkstyp periphere niederspannung qrs(t) abnormal    anteroseptaler "
        "infarkt     wahrscheinlich alt    inferiorer infarkt     wahrscheinlich alt st & t abnormal, wahrscheinlich"
        "    anterolaterale ischÄmie oder linksbe",
        "atrial fibrillation with rapid ventricular response. left axis deviation. low voltage in limb leads. "
        "qrs(t) abnormal: anteroseptal infarction, probably old; inferior infarction, probably old. st-t abnormal, "
        "probably anterolateral ischemia or left ventricular strain.",
    ),
    (
        "sinusrhythmus a-v block i verdacht auf p-sinistrocardiale lagetyp normal t abnorm in anterolateralen "
        "ableitungen    hochlateralen ableitungen 4.46                          unbestÄt",
        "sinus rhythm. first degree av block. suspected left atrial enlargement. normal axis. "
        "t wave abnormal in anterolateral leads; high lateral leads.",
    ),
    (
        "ventrikulÄre extrasystole(n) sinusrhythmus lagetyp normal mÄssige amplitudenkriterien f#r linkshypertrophie "
        "qrs(t) abnorm    anteroseptaler myokardschaden nicht auszuschliessen",
        "ventricular premature beat(s). sinus rhythm. normal axis. moderate voltage criteria for left ventricular "
        "hypertrophy. qrs(t) abnormal: anteroseptal myocardial damage not excluded.",
    ),
    (
        "sinusrhythmus linkstyp qrs(t) abnorm    anteroseptaler infarkt     mÖgl. akut",
        "sinus rhythm. left axis. qrs(t) abnormal: anteroseptal infarction possibly acute.",
    ),
    # Swedish
    (
        "sinusrytm avvikande qrs(t) fÖrlopp    inferior infarkt     Ålder ej bestÄmmbar st-t sÄnkning, sÅsom vid    "
        "anterolateral ischemi eller vÄnster belastning",
        "sinus rhythm. qrs(t) abnormal: inferior infarction, age undetermined. st-t depression, as in anterolateral "
        "ischemia or left ventricular strain.",
    ),
    (
        "sinustachykardi ospecifikt skÄnkelblock vÄnster kammarhypertrofi avvikande qrs(t) fÖrlopp    inferior infarkt"
        "     Ålder ej bestÄmmbar                       !",
        "sinus tachycardia. non-specific intraventricular block. left ventricular hypertrophy. qrs(t) abnormal: "
        "inferior infarction, age undetermined.",
    ),
    (
        "fÖrmaksflimmer/-fladder extrem vÄnster el-axel vÄnster anteriort hemiblock hÖgersidigt skÄnkelblock "
        "bifascikulÄrt block",
        "atrial fibrillation/flutter. marked left axis deviation. left anterior fascicular block. right bundle branch "
        "block. bifascicular block.",
    ),
    (
        "sinusrytm misstÄnkt hypertrofi av vÄnster fÖrmak inkomplett hÖgersidigt skÄnkelblock",
        "sinus rhythm. suspected left atrial enlargement. incomplete right bundle branch block.",
    ),
    # English, with an Edit segment (codes -> names, German comment translated, old codes dropped)
    (
        "sinus rhythm. normal ecg. Edit: NORM 100, schlechte Qualität V2,V3,V5",
        "sinus rhythm. normal ecg. edit: normal ecg; poor quality v2,v3,v5.",
    ),
    (
        "sinus rhythm. left axis deviation. voltages are high in chest leads suggesting lvh. "
        "Edit: LVH 35, Sokolow 3,5, (LVH 50, LAFB)",
        "sinus rhythm. left axis deviation. voltages are high in chest leads suggesting lvh. "
        "edit: possible left ventricular hypertrophy; sokolow-lyon index 3.5.",
    ),
    # English cut off by the field width: the last word is completed
    (
        "sinus tachycardia. st segments are depressed in i, ii, avl, v5,6. t waves are low or flat in these leads. "
        "findings are likel",
        "sinus tachycardia. st segments are depressed in i, ii, avl, v5,6. t waves are low or flat in these leads. "
        "findings are likely",
    ),
]


@pytest.mark.parametrize(("report", "expected"), KNOWN, ids=[f"r{i}" for i in range(len(KNOWN))])
def test_known_translations(report: str, expected: str) -> None:
    assert to_english(report) == expected


@pytest.mark.parametrize(("report", "expected"), KNOWN, ids=[f"r{i}" for i in range(len(KNOWN))])
def test_idempotent(report: str, expected: str) -> None:
    assert to_english(expected) == expected


def test_english_reports_pass_through_unchanged() -> None:
    text = "sinus rhythm. prolonged pr interval. old q wave anteroseptal infarct."
    assert to_english(text) == text
    assert to_english("sinus  rhythm.   normal ecg.") == "sinus rhythm. normal ecg."
    assert to_english("atrial fibrillation. t waves are low or flat in limb leads, consistant with ischaemia.") == (
        "atrial fibrillation. t waves are low or flat in limb leads, consistent with ischaemia."
    )


def test_empty_and_whitespace() -> None:
    assert to_english("") == ""
    assert to_english("   ") == ""
    assert translate_tokens("") == []
    assert detect_language("") == ""


def test_boilerplate_dropped_by_default_and_kept_on_request() -> None:
    report = "sinusrhythmus normales ekg 4.46                          unbestÄtigter bericht"
    assert to_english(report) == "sinus rhythm. normal ecg."
    assert to_english(report, keep_boilerplate=True) == "sinus rhythm. normal ecg. unconfirmed report."


def test_abbreviations_and_lead_lists() -> None:
    assert to_english("sinusrhythmus st-senkung in i,ii,avl,v5-6 v.a. linkshypertrophie") == (
        "sinus rhythm. st depression in i,ii,avl,v5-6. suspected left ventricular hypertrophy."
    )
    assert to_english("linkshypertrophie wahrsch.") == "left ventricular hypertrophy probably."


def test_translate_tokens_marks_unknown_words() -> None:
    pieces = translate_tokens("sinusrhythmus lagetyp normal xyzzy v5,6")
    assert pieces == [
        ("sinusrhythmus", "sinus rhythm"),
        ("lagetyp normal", "normal axis"),
        ("xyzzy", None),
        ("v5,6", "v5,6"),
    ]
    # Unknown words stay in the English text rather than disappearing.
    assert to_english("sinusrhythmus xyzzy") == "sinus rhythm xyzzy."


def test_detect_language() -> None:
    assert detect_language("sinusrhythmus lagetyp normal") == "de"
    assert detect_language("sinusrytm vÄnster el-axel") == "sv"
    assert detect_language("sinus rhythm. normal ecg. Edit: NORM 100, schlechte Qualität") == "en"


def test_scp_description_from_project_table(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("ECG_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ECG_DATA_MIRROR", "https://example.invalid/files/")
    english._scp_descriptions.cache_clear()
    try:
        assert scp_description("IMI") == "inferior myocardial infarction"
        assert scp_description("lafb") == "left anterior fascicular block"
        assert scp_description("ISC") == "non-specific ischemic st-t changes"  # alias of ISC_
        with pytest.raises(KeyError):
            scp_description("NOPE")
    finally:
        english._scp_descriptions.cache_clear()


def test_scp_description_prefers_the_dataset_file(tmp_path) -> None:
    csv_path = tmp_path / "scp_statements.csv"
    csv_path.write_text(",description,diagnostic\nIMI,inferior MI (dataset wording),1.0\n", encoding="utf-8")
    assert scp_description("IMI", scp_statements=csv_path) == "inferior MI (dataset wording)"
    assert scp_description("LAFB", scp_statements=csv_path) == "left anterior fascicular block"  # falls back


def test_scp_description_reads_real_scp_statements(shared_data) -> None:
    path = shared_data / "ptb-xl" / "1.0.3" / "scp_statements.csv"
    assert scp_description("ASMI", scp_statements=path) == "anteroseptal myocardial infarction"
    assert scp_description("1AVB", scp_statements=path) == "first degree AV block"
