"""Report search: hybrid lexical (BM25) + dense ranking, identical reports collapsed, filters and exclusions."""

from core.search.filters import parse_query, record_mask, split_terms
from core.search.hybrid import DEFAULT_ALPHA, Hit, HybridReportSearch
from core.search.lexical import LexicalIndex, contains_phrase, negated_words, tokens

__all__ = [
    "DEFAULT_ALPHA",
    "Hit",
    "HybridReportSearch",
    "LexicalIndex",
    "contains_phrase",
    "negated_words",
    "parse_query",
    "record_mask",
    "split_terms",
    "tokens",
]
