"""A query service over real PTB-XL records (through the loopback mirror) with an untrained tiny checkpoint."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from core.checkpoint import save_checkpoint
from core.explorer import DemoSpec, QueryService, ServiceConfig
from core.models import create_model

# The first 300 PTB-XL records hold five with complete LBBB (ecg_id 180, 256, 279, 286, 287).
DEMO_RECORDS = "ptbxl:300"


def tiny_checkpoint(out: Path, config: str = "mets-resnet1d-tiny", seed: int = 0) -> Path:
    """An untrained checkpoint from a ``*-tiny`` config."""
    torch.manual_seed(seed)
    return save_checkpoint(create_model(config), out)


@pytest.fixture(scope="session")
def tiny_mets(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("explorer-checkpoints") / "mets")


@pytest.fixture(scope="session")
def ptbxl_service(mirror_url: str, tiny_mets: Path, tmp_path_factory) -> QueryService:
    """The service with its index built over :data:`DEMO_RECORDS` (PCA map)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ECG_DATA_DIR", str(tmp_path_factory.mktemp("explorer-data")))
        mp.setenv("ECG_DATA_MIRROR", mirror_url)
        mp.setenv("HF_HUB_OFFLINE", "1")
        service = QueryService(
            ServiceConfig(checkpoints={"tiny": tiny_mets}, spec=DemoSpec.parse(DEMO_RECORDS, map_method="pca"))
        )
        assert len(service.explorer(timeout_s=600)) == 300, service.status()
        yield service
