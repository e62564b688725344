"""A small model registry: ``register_model``, ``create_model``, ``list_models``, ``model_info``.

Every builder is registered with the facts a chapter, the profiler and the tests need: its family, the
input size it was designed for and, where one exists, the name of its torchvision counterpart (whose
``state_dict`` it loads strictly).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.models._torchvision import WEIGHT_CHOICES


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about one builder."""

    name: str
    family: str
    builder: Callable[..., nn.Module]
    input_size: tuple[int, int, int]
    torchvision_name: str | None = None
    timm_name: str | None = None
    paper: str = ""


_MODELS: dict[str, ModelInfo] = {}


def register_model(
    *,
    family: str,
    input_size: tuple[int, int, int],
    torchvision_name: str | None = None,
    timm_name: str | None = None,
    paper: str = "",
) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Decorator: register a keyword-only builder under its function name.

    ``input_size`` is (channels, height, width) with the builder's default ``in_channels``.
    """

    def decorate(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        name = builder.__name__
        if name in _MODELS:
            raise ValueError(f"model {name!r} registered twice")
        _MODELS[name] = ModelInfo(name, family, builder, input_size, torchvision_name, timm_name, paper)
        return builder

    return decorate


def model_info(name: str) -> ModelInfo:
    """The registry entry for ``name``; an unknown name raises with the close matches."""
    try:
        return _MODELS[name]
    except KeyError:
        raise UnknownNameError(
            "model", name, _MODELS, "Call cnncourse.models.list_models() to see every name."
        ) from None


def create_model(name: str, **kwargs: object) -> nn.Module:
    """Build the registered model ``name`` with the builder's keyword arguments (``num_classes``, ...)."""
    return model_info(name).builder(**kwargs)


def list_models(family: str | None = None) -> list[str]:
    """Sorted names of the registered models, optionally of one family."""
    if family is not None and family not in {info.family for info in _MODELS.values()}:
        raise UnknownNameError("model family", family, {info.family for info in _MODELS.values()})
    return sorted(name for name, info in _MODELS.items() if family is None or info.family == family)


def check_model_arguments(num_classes: int, in_channels: int, weights: str | None = None) -> None:
    """Raise :class:`CourseError` for a class or channel count a model cannot have, or for pretrained
    weights requested with a head or stem that torchvision's ImageNet weights do not fit."""
    if not isinstance(num_classes, int) or num_classes < 1:
        raise CourseError(
            f"num_classes must be a positive integer (10 for Fashion-MNIST), got {num_classes!r}."
        )
    if not isinstance(in_channels, int) or in_channels < 1:
        raise CourseError(
            "in_channels must be a positive integer (1 for Fashion-MNIST, 3 for colour images), "
            f"got {in_channels!r}."
        )
    if weights not in WEIGHT_CHOICES:
        raise CourseError(f"weights={weights!r} is not supported: use None (random init) or 'torchvision'.")
    if weights is not None and (num_classes != 1000 or in_channels != 3):
        raise CourseError(
            "torchvision's ImageNet weights fit num_classes=1000 and in_channels=3. Build the model with "
            "those, then call model.reset_classifier(num_classes) to get a new head for your classes."
        )
