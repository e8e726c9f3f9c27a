"""Label-leakage audit: how often a class prompt's words already appear in the training reports.

PTB-XL reports are written in the same statement vocabulary as its labels, so a high zero-shot AUC on PTB-XL can
be recall of that vocabulary rather than generalisation. For each prompt we count the training reports that
contain all of its content words; a reader can set that count beside the class's AUC.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

_STOPWORDS = frozenset(
    "a an and the of in on with without or to for by at is are be as ecg electrocardiogram shows showing "
    "consistent possible probable".split()
)
_WORD = re.compile(r"[a-z0-9]+")


def content_words(text: str) -> frozenset[str]:
    """Lower-cased words of ``text`` minus stopwords and generic ECG words."""
    return frozenset(w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS)


def leakage_audit(prompts: Mapping[str, Sequence[str]], training_reports: Iterable[str]) -> dict[str, dict]:
    """Count training reports containing each prompt's content words.

    Args:
        prompts: class name -> its prompt texts.
        training_reports: the (English) report texts the model was trained on.

    Returns:
        class -> {"reports_with_all_words": max over the class's prompts, "share": that count / n reports,
        "per_prompt": {prompt: count}, "n_training_reports": n}.
    """
    report_words = [content_words(r) for r in training_reports]
    n = len(report_words)
    audit: dict[str, dict] = {}
    for name, texts in prompts.items():
        per_prompt = {}
        for text in texts:
            words = content_words(text)
            per_prompt[text] = sum(1 for r in report_words if words and words <= r)
        best = max(per_prompt.values(), default=0)
        audit[name] = {
            "reports_with_all_words": best,
            "share": best / n if n else 0.0,
            "per_prompt": per_prompt,
            "n_training_reports": n,
        }
    return audit
