"""``hf://`` references to Hugging Face Hub repositories, and their download through ``huggingface_hub``.

A reference names a repository and, optionally, a revision (branch, tag or commit)::

    hf://org/name                  a model repository, its default branch
    hf://org/name@v1.0             a model repository at a tag (or branch, or commit hash)
    hf://datasets/org/name@main    a dataset repository (demo bundles live in one)

Downloads go through :func:`huggingface_hub.snapshot_download`, so its cache (``HF_HOME`` / ``HF_HUB_CACHE``), its
endpoint (``HF_ENDPOINT``) and its offline mode (``HF_HUB_OFFLINE=1``: the cached snapshot, no request) all apply.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

HUB_SCHEME = "hf://"
# Path prefix in a reference -> huggingface_hub's repo_type (models need no prefix).
_TYPE_PREFIXES = {"datasets/": "dataset", "spaces/": "space", "models/": "model"}


class HubError(OSError):
    """A Hub repository could not be had (not found, no network and nothing cached, refused)."""


def is_hub_uri(value: object) -> bool:
    """Whether ``value`` is an ``hf://`` reference (a ``Path`` never is: ``Path`` would fold its ``//``)."""
    return isinstance(value, str) and value.startswith(HUB_SCHEME)


@dataclass(frozen=True)
class HubRef:
    """One repository (and revision) on the Hub.

    Attributes:
        repo_id: ``"org/name"``.
        repo_type: ``"model"``, ``"dataset"`` or ``"space"``.
        revision: branch, tag or commit hash; ``None`` for the default branch.
    """

    repo_id: str
    repo_type: str = "model"
    revision: str | None = None

    @classmethod
    def parse(cls, uri: str) -> HubRef:
        """Parse ``hf://[datasets/|spaces/]org/name[@revision]``.

        Raises:
            ValueError: not an ``hf://`` reference, or its repository is not ``org/name``.
        """
        if not is_hub_uri(uri):
            raise ValueError(f"{uri!r} is not a Hub reference (hf://org/name[@revision])")
        rest = uri[len(HUB_SCHEME) :]
        repo_type = "model"
        for prefix, kind in _TYPE_PREFIXES.items():
            if rest.startswith(prefix):
                repo_type, rest = kind, rest[len(prefix) :]
                break
        # The revision may itself hold slashes (refs/pr/1), so split at the first "@" only.
        repo_id, _, revision = rest.partition("@")
        parts = repo_id.split("/")
        if len(parts) != 2 or not all(p.strip() for p in parts):
            raise ValueError(f"{uri!r}: the repository must be 'org/name' (e.g. hf://org/name@main)")
        return cls(repo_id=repo_id, repo_type=repo_type, revision=revision or None)

    def __str__(self) -> str:
        prefix = "" if self.repo_type == "model" else f"{self.repo_type}s/"
        return f"{HUB_SCHEME}{prefix}{self.repo_id}" + (f"@{self.revision}" if self.revision else "")


def download(ref: HubRef | str) -> Path:
    """The local snapshot folder of a repository (downloaded into, or read from, huggingface_hub's cache).

    Raises:
        HubError: the repository or revision does not exist, or it cannot be reached and is not cached (the message
            says which, and that ``HF_HUB_OFFLINE=1`` only reads the cache).
    """
    from huggingface_hub import snapshot_download  # imported on use: only hf:// references need it
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    ref = HubRef.parse(ref) if isinstance(ref, str) else ref
    try:
        folder = snapshot_download(repo_id=ref.repo_id, repo_type=ref.repo_type, revision=ref.revision)
    except LocalEntryNotFoundError as err:
        raise HubError(
            f"{ref} is neither reachable nor in the local Hugging Face cache (with HF_HUB_OFFLINE=1 only the cache "
            f"is read): {err}"
        ) from err
    except HfHubHTTPError as err:  # repository / revision not found, gated, refused
        raise HubError(f"{ref} could not be downloaded: {err}") from err
    logger.info("%s -> %s", ref, folder)
    return Path(folder)
