"""``hf://`` references."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.hub.refs import HubRef, is_hub_uri


@pytest.mark.parametrize(
    ("uri", "repo_id", "repo_type", "revision"),
    [
        ("hf://org/name", "org/name", "model", None),
        ("hf://org/name@v1.0", "org/name", "model", "v1.0"),
        ("hf://datasets/org/demo@main", "org/demo", "dataset", "main"),
        ("hf://org/name@refs/pr/1", "org/name", "model", "refs/pr/1"),
    ],
)
def test_parse(uri, repo_id, repo_type, revision):
    ref = HubRef.parse(uri)
    assert (ref.repo_id, ref.repo_type, ref.revision) == (repo_id, repo_type, revision)
    assert str(ref) == uri


@pytest.mark.parametrize("uri", ["hf://name", "hf://a/b/c", "hf://datasets/x", "org/name", "hf:///name"])
def test_malformed_references_are_refused(uri):
    with pytest.raises(ValueError):
        HubRef.parse(uri)


def test_paths_are_not_references():
    assert is_hub_uri("hf://org/name") and not is_hub_uri(Path("hf://org/name")) and not is_hub_uri("checkpoints/x")
