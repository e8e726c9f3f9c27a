from core.evaluate.leakage import content_words, leakage_audit


def test_content_words_drop_stopwords():
    assert content_words("ECG shows atrial fibrillation with rapid response") == {
        "atrial",
        "fibrillation",
        "rapid",
        "response",
    }


def test_audit_counts_reports_containing_all_prompt_words():
    reports = ["sinus rhythm. normal ECG.", "atrial fibrillation. left axis.", "atrial flutter", "normal ecg"]
    audit = leakage_audit({"AFIB": ["atrial fibrillation"], "NORM": ["normal ECG", "sinus rhythm normal"]}, reports)
    assert audit["AFIB"]["reports_with_all_words"] == 1
    assert audit["NORM"]["per_prompt"] == {"normal ECG": 2, "sinus rhythm normal": 1}
    assert audit["NORM"]["reports_with_all_words"] == 2
    assert audit["NORM"]["share"] == 0.5
