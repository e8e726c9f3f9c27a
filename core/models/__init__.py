"""ECG encoders, the text encoder wrapper, ECGTextModel and the model factory.

Build models only through :func:`create_model` / :func:`list_models` (configs in ``core/configs/models/``) and load
them only through :func:`core.checkpoint.load_checkpoint`.
"""

# The model files register their encoders (@register_encoder) when imported here; the registry imports no models.
from core.models import patch_transformer, resnet1d  # noqa: F401
from core.models.device import autocast, default_device, resolve_device
from core.models.factory import build_model, create_model, get_model_config, list_models
from core.models.model import MAX_LOGIT_SCALE, ECGTextModel
from core.models.registry import create_encoder, list_encoders, register_encoder

__all__ = [
    "MAX_LOGIT_SCALE",
    "ECGTextModel",
    "autocast",
    "build_model",
    "create_encoder",
    "create_model",
    "default_device",
    "get_model_config",
    "list_encoders",
    "list_models",
    "register_encoder",
    "resolve_device",
]
