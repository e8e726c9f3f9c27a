"""Upload a folder to a Hub repository with ``huggingface_hub`` (``python -m core hub push DIR REPO_ID``).

The token comes from the environment (``HF_TOKEN``) or huggingface_hub's stored login; it is never read or written
here. The repository is created when missing, and the folder goes up as one commit.
"""

from __future__ import annotations

import logging
from pathlib import Path

from huggingface_hub import HfApi

logger = logging.getLogger(__name__)


def push_folder(
    folder: str | Path,
    repo_id: str,
    *,
    repo_type: str = "model",
    revision: str | None = None,
    private: bool = False,
    message: str | None = None,
) -> str:
    """Create ``repo_id`` if needed and upload ``folder`` to it as one commit.

    Args:
        folder: an exported model repository (:func:`core.hub.export.export_model_repo`) or demo bundle
            (:func:`core.hub.bundle.export_bundle`).
        repo_id: ``org/name``.
        repo_type: ``"model"`` or ``"dataset"`` (demo bundles go to a dataset repository).
        revision: branch to commit to (default: the repository's default branch).
        private: create the repository private.
        message: commit message.

    Returns:
        The new commit's hash.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder")
    api = HfApi()  # endpoint from HF_ENDPOINT, token from HF_TOKEN or the stored login
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
    info = api.upload_folder(
        repo_id=repo_id,
        repo_type=repo_type,
        folder_path=folder,
        revision=revision,
        commit_message=message or f"Upload {folder.name} with python -m core hub push",
    )
    logger.info("pushed %s to %s (%s), commit %s", folder, repo_id, repo_type, info.oid)
    return info.oid
