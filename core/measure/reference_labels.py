"""Reference labels for the measurement plausibility benchmark: one small vocabulary across PTB-XL, CinC-2021, SPH and
LUDB.

Each dataset's own diagnosis codes map onto the labels below, so a check such as "QRS >= 120 ms among complete
LBBB" means the same thing on every dataset:

=========  ==================================  ==============================  =================================
label      PTB-XL (``scp_codes``/heart_axis)   CinC-2021 (SNOMED-CT ``#Dx``)    LUDB (diagnosis lines)
=========  ==================================  ==============================  =================================
NORM       NORM                                NSR 426783006 and no other code  sinus rhythm, normal/horizontal/
                                                                                vertical axis, nothing else listed
SR         SR                                  NSR 426783006                    sinus rhythm
CLBBB      CLBBB                               CLBBB 733534002, LBBB 164909002  complete left bundle branch block
CRBBB      CRBBB                               CRBBB 713427006, RBBB 59118001   complete right bundle branch block
IRBBB      IRBBB                               IRBBB 713426002                  incomplete right bundle branch
                                                                                block
1AVB       1AVB                                IAVB 270492004                   i degree av block
SBRAD      SBRAD                               SB 426177001                     sinus bradycardia
STACH      STACH                               STach 427084000                  sinus tachycardia
SARRH      SARRH                               SA 427393009                     sinus arrhythmia
AFIB       AFIB                                AF 164889003, CAF 426749004,     atrial fibrillation
                                               RAF 314208002
LNGQT      LNGQT                               LQT 111975006                    -
LAD        heart_axis ALAD                     LAD 39732003                     -
LAD0       -                                   -                                left axis deviation (< 0°)
RAD        heart_axis RAD, ARAD                RAD 47665007                     right axis deviation
LAFB       LAFB                                LAnFB 445118002                  left anterior hemiblock
LPFB       LPFB                                LPFB 445211001                   -
LVOLT      LVOLT                               LQRSV 251146004                  -
HVOLT      HVOLT                               LVHV 55827005                    -
LVH        LVH                                 LVH 164873001                    left ventricular hypertrophy
AFLT       AFLT                                AFL 164890007                    atrial flutter, typical
3AVB       3AVB                                CHB 27885002                     iii degree av-block
WPW        WPW                                 WPW 74390002                     -
PVC        PVC, or the report states           PVC 427172004, VPB 17338001,     ventricular extrasystole
           ventricular premature beats         VBig 11157007, VTrig 251180001
PAC        PAC, or the report states atrial,   PAC 284470004, SVPB 63593006     atrial extrasystole
           supraventricular or junctional
           premature beats
ECTOPY     PVC, PAC, PRC(S), BIGU, TRIGU,      any of PVC's or PAC's codes      any extrasystole
           SVARR, or the report states
           premature beats, bigeminy,
           trigeminy or a couplet
BIGEMINY   BIGU, or the report states          VBig 11157007                    -
           bigeminy (not atrial)
TRIGEMINY  TRIGU, or the report states         VTrig 251180001                  -
           trigeminy (not atrial)
1AVB_TEXT  the report states a first-degree    -                                -
           AV block or a prolonged PR
PACE       PACE                                PR 10370003 (pacing rhythm)      any cardiac pacing line
STD        STD_ (ST depression)                STD 429622005                    -
STE_TEXT   the report states ST elevation in   -                                -
           named leads
STD_TEXT   the report states ST depression in  -                                -
           named leads
TINV       INVT (inverted T waves)             TInv 59931005                    -
TINV_TEXT  the report states T waves inverted  -                                -
           or negative in named leads
TINV_INF   ... in two inferior leads           -                                -
TINV_ANT   ... in two anterior leads (V1-V4)   -                                -
IMI        IMI, ILMI, IPLMI, IPMI (inferior    -                                -
           infarction)
AMI        ASMI, AMI, ALMI (anterior           -                                -
           infarction)
Q_TEXT     the report states Q waves in named  -                                -
           leads
LOWT       LOWT (low amplitude T waves)        -                                -
LOWT_TEXT  the report states T waves low or    -                                -
           flat in named leads
LAE        LAO/LAE (left atrial overload or    LAE 67741000119109 (left atrial  left atrial hypertrophy
           enlargement)                        enlargement)
=========  ==================================  ==============================  =================================

Why these choices: the Challenge scores LBBB/CLBBB and RBBB/CRBBB as one class each (``dx_mapping_scored.csv``), so
they count as complete blocks. PTB-XL's ``heart_axis`` follows the German axis types: ``LAD`` is "Linkstyp"
(-30° to +30°, a normal variant) and ``ALAD`` "überdrehter Linkstyp" (beyond -30°), the clinical left axis
deviation; ``RAD`` (+90° to +120°) and ``ARAD`` (beyond +120°) are both right of +90°. LUDB's axis lines follow the
Russian convention (left axis deviation below 0°): they map to ``LAD0``, checked against < 0°, not to ``LAD``.
CinC-2021 and LUDB have no "normal ECG" code, so NORM there is sinus rhythm with nothing else listed.

``1AVB_TEXT`` reads PTB-XL's report (its English version, :func:`core.text.english.to_english`) rather than its codes:
the codes and the report were not always written from one reading. Of the 79 training records of PTB-XL coded 1AVB
(both folders), 18 have a report that states no AV block or long PR at all (``ptbxl/01525``: "sinus rhythm. right
bundle branch block.", coded 1AVB, IVCD and IMI), and four coded NORM have one that does (``ptbxl/15014``: "grossly
prolonged pr interval"). A PR check can then tell a label its own report contradicts from a measurement error.

``STE_TEXT`` and ``STD_TEXT`` read the leads a PTB-XL report names as showing ST elevation or depression
(:func:`st_shift_leads`: "st segments are elevated in v2,3", "st-senkung in i,ii,avl,v4-v6"), so the ST levels can be
checked lead by lead, each against its own report. PTB-XL's codes do not say it: its ``INJ*`` codes are
*subendocardial* injury (ST depression or T inversion, not elevation), and ``STE_`` marks 5 of the 42 reports of
``ptbxl_more`` that state an elevation. ``Q_TEXT`` reads the leads a report names Q waves or QS complexes in
(:func:`stated_q_wave_leads`), and ``IMI`` / ``AMI`` group PTB-XL's infarction codes by wall, so that Q waves can be
checked on the infarction's wall and against the other one. ``TINV_TEXT`` reads the leads a report names T waves
inverted or negative in (:func:`stated_t_inversion_leads`: "t waves are low in ii, avf and inverted in iii" gives
III only), and ``TINV_INF`` / ``TINV_ANT`` where two of them are inferior (II, III, aVF) or anterior (V1-V4) leads.
``LOWT`` is PTB-XL's code for low amplitude T waves; ``LOWT_TEXT`` reads the leads a report names T waves low or
flat in (:func:`stated_low_t_leads`: "t waves are low or flat in i, avl, v5,6", "non-specific t wave flattening").

SPH (Shandong Provincial Hospital) states AHA codes and lists their SNOMED-CT codes beside them; those are read
with the CinC-2021 column. Its AHA code 1, "normal ECG", is listed as 426783006 alone, so NORM there is the
cardiologist's "normal ECG" statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core.data.catalogs.base import Record
from core.measure.st_segment import ST_GROUPS
from core.paths import local_mirror_dir
from core.search.territory import lead_lists

LABELS: tuple[str, ...] = (
    "NORM", "SR", "CLBBB", "CRBBB", "IRBBB", "1AVB", "SBRAD", "STACH", "SARRH", "AFIB", "LNGQT",
    "LAD", "LAD0", "RAD", "LAFB", "LPFB", "LVOLT", "HVOLT", "LVH", "AFLT", "3AVB", "WPW", "PVC", "PAC", "ECTOPY",
    "1AVB_TEXT", "PACE", "STD", "STE_TEXT", "STD_TEXT", "IMI", "AMI", "Q_TEXT", "TINV", "TINV_TEXT", "TINV_INF",
    "TINV_ANT", "LOWT", "LOWT_TEXT", "LAE", "BIGEMINY", "TRIGEMINY",
)  # fmt: skip

# A first-degree AV block or a long PR stated in an English report. A bare "av block" counts (German "av-block" with
# no degree, on a record also coded 1AVB), but not one of a higher degree, a 2:1 block, or a "risk for" one.
_FIRST_DEGREE_TEXT = re.compile(
    r"\bprolonged pr\b|\bpr interval is prolonged\b|"
    r"(?<!second degree )(?<!third degree )(?<!2:1 )(?<!complete )(?<!totalt\. )\bav block\b"
    r"(?! (?:second|third|2|3|ii|iii)\b)"
)

# Premature beats stated in an English report (PTB-XL's codes leave out many its reports state: ``ptbxl/19940``,
# coded NORM and SR, "supraventricular premature beat(s). sinus rhythm. ..."). "\bventricular" is not matched
# inside "supraventricular".
_VENTRICULAR_TEXT = re.compile(
    r"\bventricular (?:premature|extrasystol|ectopic|bigeminy|trigeminy)|\bpremature ventricular\b"
)
_ATRIAL_TEXT = re.compile(
    r"\b(?:supraventricular|atrial|junctional) (?:premature|extrasystol)|"
    r"\bpremature (?:atrial|supraventricular|junctional)\b"
)
_ECTOPY_TEXT = re.compile(r"\bpremature (?:beat|contraction|complex)|extrasystol|\bbigeminy\b|\btrigeminy\b|\bcouplet")
_PTBXL_ECTOPY_CODES = frozenset({"PVC", "PAC", "PRC(S)", "BIGU", "TRIGU", "SVARR"})
# Bigeminy or trigeminy stated in an English report, not of atrial beats ("premature ventricular contraction(s),
# bigeminy"); PTB-XL's BIGU and TRIGU leave the origin open too.
_GROUPED_TEXT = {
    label: re.compile(rf"(?<!atrial )(?<!supraventricular )\b{stem}(?:y|al|i)\b")
    for label, stem in (("BIGEMINY", "bigemin"), ("TRIGEMINY", "trigemin"))
}
_PTBXL_GROUPED_CODES = {"BIGEMINY": "BIGU", "TRIGEMINY": "TRIGU"}
_SNOMED_GROUPED = {"11157007": "BIGEMINY", "251180001": "TRIGEMINY"}

# ST elevation or depression stated in an English report, and the leads it names: "st elevation in v1-3", "st
# segments are slightly elevated in ii, iii, avf", "st segments are elevated and t waves inverted in v2-5". The leads
# must follow within a few words of the same sentence; "no st elevation" states none.
_ST_SHIFT_TEXT = re.compile(
    r"(?<!\bno )(?<!\bwithout )\bst(?:[- ]segments?)?\s+(?:(?:is|are|was|were|slightly|markedly|very|minimally|"
    r"mildly|minor|significantly)\s+)*(?P<way>elevat|depress)\w*"
)
# Q waves or QS complexes stated with their leads; "no q waves" states none.
_Q_WAVE_TEXT = re.compile(
    r"(?<!\bno )\b(?:significant |pathologic(?:al)? )?qs?(?:[- ](?:waves?|complex(?:es)?))?(?=[ ,])"
)
# T waves stated inverted or negative, with their leads: "t waves are low in ii, avf and inverted in iii" (the leads
# after "inverted", not after "t waves"), "t wave inversion in ii, iii, avf", "negative t waves in v1-3", "t wave
# changes ii, v1 / negative in iii, avf". The T wave must be named first in the sentence, or right after the cue;
# "rather than inverted" states none.
_T_INVERSION_TEXT = re.compile(
    r"\bt[- ]?waves?\b[^.]{0,60}?(?<!rather than )\b(?:inverted|negative|inversions?)\b|"
    r"(?<!rather than )\b(?:inverted|negative)\s+t[- ]?waves?\b"
)
# "t waves are low or flat in i, avl, v5,6", "non-specific t wave flattening in v4,5,6", "flat t waves in iii,avf"; not
# the QRS's "low voltage" or "low limb lead voltage".
_LOW_T_TEXT = re.compile(
    r"\bt[- ]?waves?\b[^.]{0,60}?\b(?:low(?!\s+(?:limb|voltage|qrs))|flat|flattened|flattening)\b(?:\s+or\s+flat)?|"
    r"\b(?:low|flat|flattened)\s+t[- ]?waves?\b"
)
_LIMB_LEADS = re.compile(r"\b(?:the\s+)?limb\s+leads\b")
_LEADS_WITHIN = re.compile(r"[^.]{0,40}?\b(?:in|over)\s", re.DOTALL)

_PTBXL_CODES = frozenset(LABELS) - {
    "LAD", "LAD0", "RAD", "1AVB_TEXT", "ECTOPY", "STD", "STE_TEXT", "STD_TEXT", "IMI", "AMI", "Q_TEXT", "TINV",
    "TINV_TEXT", "TINV_INF", "TINV_ANT", "LOWT_TEXT", "LAE", "BIGEMINY", "TRIGEMINY",
}  # fmt: skip
# Infarction codes by wall: PTB-XL codes inferior and anterior infarctions with the leads' extent.
_PTBXL_WALL_CODES = {"IMI": frozenset({"IMI", "ILMI", "IPLMI", "IPMI"}), "AMI": frozenset({"ASMI", "AMI", "ALMI"})}
# T inversion named in two leads of a wall (core.measure.st_segment.ST_GROUPS): a wall checked against its opposite.
_T_WALL_LABELS = {"TINV_INF": "inferior", "TINV_ANT": "anterior"}
_PTBXL_AXIS = {"ALAD": "LAD", "RAD": "RAD", "ARAD": "RAD"}

NSR_SNOMED = "426783006"
SNOMED_LABELS: dict[str, str] = {
    NSR_SNOMED: "SR",
    "733534002": "CLBBB",
    "164909002": "CLBBB",
    "713427006": "CRBBB",
    "59118001": "CRBBB",
    "713426002": "IRBBB",
    "270492004": "1AVB",
    "426177001": "SBRAD",
    "427084000": "STACH",
    "427393009": "SARRH",
    "164889003": "AFIB",
    "426749004": "AFIB",
    "314208002": "AFIB",
    "111975006": "LNGQT",
    "39732003": "LAD",
    "47665007": "RAD",
    "445118002": "LAFB",
    "445211001": "LPFB",
    "251146004": "LVOLT",
    "55827005": "HVOLT",
    "164873001": "LVH",
    "164890007": "AFLT",
    "27885002": "3AVB",
    "74390002": "WPW",
    "427172004": "PVC",
    "17338001": "PVC",
    "11157007": "PVC",
    "251180001": "PVC",
    "284470004": "PAC",
    "63593006": "PAC",
    "10370003": "PACE",
    "429622005": "STD",
    "59931005": "TINV",
    "67741000119109": "LAE",
}

LUDB_LABELS: dict[tuple[str, str], str] = {
    ("rhythm", "sinus rhythm"): "SR",
    ("rhythm", "sinus bradycardia"): "SBRAD",
    ("rhythm", "sinus tachycardia"): "STACH",
    ("rhythm", "sinus arrhythmia"): "SARRH",
    ("rhythm", "atrial fibrillation"): "AFIB",
    ("rhythm", "atrial flutter, typical"): "AFLT",
    ("conduction", "iii degree av-block"): "3AVB",
    ("conduction", "complete left bundle branch block"): "CLBBB",
    ("conduction", "complete right bundle branch block"): "CRBBB",
    ("conduction", "incomplete right bundle branch block"): "IRBBB",
    ("conduction", "i degree av block"): "1AVB",
    ("conduction", "left anterior hemiblock"): "LAFB",
    # Russian convention: "left axis deviation" is anything below 0°, not the clinical < -30° of LAD
    ("axis", "left axis deviation"): "LAD0",
    ("axis", "right axis deviation"): "RAD",
    ("hypertrophy", "left ventricular hypertrophy"): "LVH",
    ("hypertrophy", "left atrial hypertrophy"): "LAE",
    ("extrasystole", "ventricular extrasystole"): "PVC",
    ("extrasystole", "atrial extrasystole"): "PAC",
}
_LUDB_NORMAL_AXES = frozenset({"normal", "horizontal", "vertical"})
_LUDB_FINDING_SETS = ("conduction", "extrasystole", "hypertrophy", "pacing", "ischemia", "repolarization", "other")


def states_first_degree_block(report_en: str) -> bool:
    """Whether an English report states a first-degree AV block or a prolonged PR (``1AVB_TEXT``)."""
    return bool(_FIRST_DEGREE_TEXT.search(report_en.lower()))


def premature_beat_labels(report_en: str) -> set[str]:
    """``PVC``, ``PAC`` and ``ECTOPY`` where an English report states premature beats of that kind (or of any)."""
    text = report_en.lower()
    out = {label for label, cue in (("PVC", _VENTRICULAR_TEXT), ("PAC", _ATRIAL_TEXT)) if cue.search(text)}
    return out | {"ECTOPY"} if (out or _ECTOPY_TEXT.search(text)) else out


def _leads_named_after(text: str, cue: re.Pattern[str]) -> dict[str, set[str]]:
    """Per matched cue (its ``way`` group, or ``"named"``), the leads of the lead list that follows it: right after it
    or after an "in"/"over" within a few words of the same sentence."""
    found: dict[str, set[str]] = {}
    for match in cue.finditer(text):
        after = _LEADS_WITHIN.match(text, match.end())
        starts = [match.end(), after.end()] if after else [match.end()]
        for start in starts:
            rest = text[start:]
            lists = [ll for ll in lead_lists(rest) if ll.start == len(rest) - len(rest.lstrip())]
            if lists:
                way = match.groupdict().get("way") or "named"
                found.setdefault(way, set()).update(lists[0].leads)
                break
    return found


def st_shift_leads(report_en: str) -> dict[str, frozenset[str]]:
    """The leads an English report names as showing ST ``"elevation"`` and ``"depression"`` (each key only where some
    lead is named): "st elevation in v1-3. st depression v5" gives V1-V3 and V5. A lead named both ways (two
    readings of one report) is left out of both."""
    named = _leads_named_after(report_en.lower(), _ST_SHIFT_TEXT)
    found = {"elevation" if way == "elevat" else "depression": leads for way, leads in named.items()}
    both = found.get("elevation", set()) & found.get("depression", set())
    return {way: frozenset(leads - both) for way, leads in found.items() if leads - both}


def stated_q_wave_leads(report_en: str) -> frozenset[str]:
    """The leads an English report names Q waves or QS complexes in ("q waves in ii, iii, avf", "qs complexes in
    v2,3", German "q in iii,avf"); empty where it names none."""
    return frozenset(_leads_named_after(report_en.lower(), _Q_WAVE_TEXT).get("named", set()))


def stated_t_inversion_leads(report_en: str) -> frozenset[str]:
    """The leads an English report names T waves inverted or negative in ("t waves are inverted in v2,3,4", "negative
    t waves in iii, avf", German "t-negativierung" as translated); empty where it names none."""
    return frozenset(_leads_named_after(report_en.lower(), _T_INVERSION_TEXT).get("named", set()))


def stated_low_t_leads(report_en: str) -> frozenset[str]:
    """The leads an English report names T waves low or flat in ("t waves are low or flat in i, avl, v5,6", "t waves
    are low in ii and inverted in iii" gives II only, "non-specific t wave flattening in v4,5,6"); empty where it
    names none. "Limb leads" are read as I, II, III, aVL and aVF here ("t waves are low or flat in limb leads and
    v5,6": 10 of the 76 training reports of ``ptbxl_more`` that name low T waves say it so)."""
    text = _LIMB_LEADS.sub("i, ii, iii, avl, avf", report_en.lower())
    return frozenset(_leads_named_after(text, _LOW_T_TEXT).get("named", set()))


def ptbxl_labels(scp_codes: Iterable[str], heart_axis: str | None = None, report_en: str = "") -> frozenset[str]:
    """Benchmark labels of a PTB-XL record from its SCP codes (any likelihood), ``heart_axis`` and English report."""
    codes = set(scp_codes)
    out = {code for code in codes if code in _PTBXL_CODES}
    if "STD_" in codes:
        out.add("STD")
    if heart_axis in _PTBXL_AXIS:
        out.add(_PTBXL_AXIS[heart_axis])
    if states_first_degree_block(report_en):
        out.add("1AVB_TEXT")
    out |= premature_beat_labels(report_en)
    named = st_shift_leads(report_en)
    out |= {label for way, label in (("elevation", "STE_TEXT"), ("depression", "STD_TEXT")) if way in named}
    out |= {label for label, wall in _PTBXL_WALL_CODES.items() if codes & wall}
    if stated_q_wave_leads(report_en):
        out.add("Q_TEXT")
    if "INVT" in codes:
        out.add("TINV")
    if "LAO/LAE" in codes:
        out.add("LAE")
    if t_leads := stated_t_inversion_leads(report_en):
        out.add("TINV_TEXT")
        out |= {label for label, wall in _T_WALL_LABELS.items() if len(t_leads & set(ST_GROUPS[wall])) >= 2}
    if stated_low_t_leads(report_en):
        out.add("LOWT_TEXT")
    if codes & _PTBXL_ECTOPY_CODES:
        out.add("ECTOPY")
    text = report_en.lower()
    out |= {label for label, code in _PTBXL_GROUPED_CODES.items() if code in codes or _GROUPED_TEXT[label].search(text)}
    return frozenset(out)


def cinc_labels(snomed_codes: Iterable[str]) -> frozenset[str]:
    """Benchmark labels of a CinC-2021 record from its SNOMED-CT ``#Dx`` codes."""
    codes = {str(c).strip() for c in snomed_codes if str(c).strip()}
    out = {SNOMED_LABELS[c] for c in codes if c in SNOMED_LABELS} | {
        _SNOMED_GROUPED[c] for c in codes & set(_SNOMED_GROUPED)
    }
    if out & {"PVC", "PAC"}:
        out.add("ECTOPY")
    if codes == {NSR_SNOMED}:
        out.add("NORM")
    return frozenset(out)


def ludb_labels(labels: Mapping[str, Iterable[str]]) -> frozenset[str]:
    """Benchmark labels of a LUDB record from its catalog label sets (reduced ``ludb.csv`` columns)."""
    out = {LUDB_LABELS[(ls, v)] for ls, values in labels.items() for v in values if (ls, v) in LUDB_LABELS}
    if labels.get("extrasystole"):
        out.add("ECTOPY")
    if labels.get("pacing"):
        out.add("PACE")
    rhythm, axis = set(labels.get("rhythm", [])), set(labels.get("axis", []))
    if rhythm == {"sinus rhythm"} and axis <= _LUDB_NORMAL_AXES and not any(labels.get(s) for s in _LUDB_FINDING_SETS):
        out.add("NORM")
    return frozenset(out)


def reference_named_leads(record: Record) -> dict[str, list[str]]:
    """The leads a record's report names as showing ST ``"elevation"`` or ``"depression"``, ``"q"`` waves,
    ``"t_inverted"`` or ``"t_low"`` T waves (PTB-XL; empty for the datasets whose labels name no leads), as sorted
    lists for JSON."""
    if record.dataset != "ptbxl":
        return {}
    named = {way: sorted(leads) for way, leads in st_shift_leads(record.text_en).items()}
    if q_leads := stated_q_wave_leads(record.text_en):
        named["q"] = sorted(q_leads)
    if t_leads := stated_t_inversion_leads(record.text_en):
        named["t_inverted"] = sorted(t_leads)
    if low_leads := stated_low_t_leads(record.text_en):
        named["t_low"] = sorted(low_leads)
    return named


def reference_labels(record: Record) -> frozenset[str]:
    """Benchmark labels of a catalog record (PTB-XL, CinC-2021, SPH or LUDB)."""
    if record.dataset == "ptbxl":
        return ptbxl_labels(record.meta.get("scp_codes", {}), record.meta.get("heart_axis"), record.text_en)
    if record.dataset in ("cinc2021", "sph"):
        return cinc_labels(record.meta.get("snomed_codes", []))
    if record.dataset == "ludb":
        return ludb_labels(record.labels)
    raise ValueError(f"no benchmark label mapping for dataset {record.dataset!r}")


# --------------------------------------------------------------------------------------------------------------------
# Which records the benchmark runs on
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BenchSource:
    """One benchmark dataset at one sampling rate.

    Attributes:
        key: name in tables and JSON (``"ptbxl@500"``).
        catalog: catalog name for :func:`core.data.catalogs.load_catalog`.
        folders: dataset folders under the data root (their records are pooled).
        options: catalog options (e.g. ``{"rate_hz": 100}``).
        note: printed under the source's table: where its labels follow another convention than the checks.
    """

    key: str
    catalog: str
    folders: tuple[str, ...]
    options: tuple[tuple[str, object], ...] = ()
    note: str = ""


# Measured on LUDB's own beat annotations (`validate_records`), not on this project's heart rate.
LUDB_NOTE = (
    "LUDB's cardiologists wrote sinus tachycardia from about 90 bpm: its 4 records with that label have manually "
    "annotated heart rates of 90-93 bpm, so the HR > 100 bpm check does not fit its labels (the heart rate itself "
    "is compared with the annotations in the error rows). Its files keep no millivolts (every lead is stored spanning "
    "exactly 1 mV; core.data.lead_scaling), so its voltage rows have no value, and its axis lines follow the Russian "
    "convention, where left axis deviation is anything below 0° (row LAD0)."
)

SOURCES: dict[str, BenchSource] = {
    s.key: s
    for s in (
        BenchSource("ptbxl@100", "ptbxl", ("ptb-xl/1.0.3",), (("rate_hz", 100),)),
        BenchSource("ptbxl@500", "ptbxl", ("ptb-xl/1.0.3",), (("rate_hz", 500),)),
        BenchSource("ptbxl_more@100", "ptbxl", ("ptbxl_more",), (("rate_hz", 100),)),
        BenchSource("cinc2021@500", "cinc2021", ("cinc2021", "cinc2021_more")),
        BenchSource("sph@500", "sph", ("sph",)),
        BenchSource("ludb@500", "ludb", ("ludb/1.0.1",), note=LUDB_NOTE),
    )
}


def default_data_root() -> Path | None:
    """The data folder to benchmark: the local ``$ECG_DATA_MIRROR`` folder when it holds the sources, else None."""
    mirror = local_mirror_dir()
    return (
        mirror
        if mirror is not None and any((mirror / f).is_dir() for s in SOURCES.values() for f in s.folders)
        else None
    )


def source_records(source: BenchSource, data_root: Path) -> list[tuple[Record, object]]:
    """The records of a source with the catalog that reads them, in a stable order (folders missing are skipped)."""
    from core.data.catalogs import load_catalog

    out: list[tuple[Record, object]] = []
    for folder in source.folders:
        root = Path(data_root) / folder
        if not root.is_dir():
            continue
        catalog = load_catalog(source.catalog, root=root, download=False, **dict(source.options))
        out.extend((record, catalog) for record in catalog.records)
    return out
