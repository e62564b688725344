"""Reference implementations, one family per file, and the registry that names them.

>>> from cnncourse.models import create_model, list_models
>>> model = create_model("resnet20", num_classes=10, in_channels=1)
"""

from cnncourse.models import (
    aecnn,
    baseline,
    densenet,
    efficientnet,
    mnasnet,
    mobilenet,
    nas,
    nasnet,
    resnet,
    senet,
    wide_resnet,
)
from cnncourse.models._registry import ModelInfo, create_model, list_models, model_info, register_model

__all__ = [
    "ModelInfo",
    "aecnn",
    "baseline",
    "create_model",
    "densenet",
    "efficientnet",
    "list_models",
    "mnasnet",
    "mobilenet",
    "model_info",
    "nas",
    "nasnet",
    "register_model",
    "resnet",
    "senet",
    "wide_resnet",
]
