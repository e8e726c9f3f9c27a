"""English report text: PTB-XL German/Swedish statements -> English (:func:`to_english`) and SCP code names."""

from core.text.english import detect_language, scp_description, to_english, translate_segments, translate_tokens

__all__ = ["detect_language", "scp_description", "to_english", "translate_segments", "translate_tokens"]
