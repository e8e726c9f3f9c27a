"""Evaluation: zero-shot classification, linear probe and retrieval, with bootstrap confidence intervals."""
