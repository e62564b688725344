"""Loading torchvision's weights into our readable models.

Our standard configurations keep torchvision's parameter names, so its ``state_dict`` loads strictly.
Learners who are online can then run our code with torchvision's ImageNet weights; the tests do the
same offline with randomly initialised torchvision models (see ``copy_torchvision_state``).
"""

from __future__ import annotations

from torch import nn

from cnncourse.errors import CourseError

WEIGHT_CHOICES = (None, "torchvision")


def copy_torchvision_state(model: nn.Module, torchvision_model: nn.Module) -> nn.Module:
    """Load ``torchvision_model``'s parameters and buffers into ``model`` (strict: same names, same shapes)."""
    model.load_state_dict(torchvision_model.state_dict(), strict=True)
    return model


def apply_weights(model: nn.Module, weights: str | None, torchvision_name: str) -> nn.Module:
    """Apply a builder's ``weights`` argument.

    ``None`` keeps the random initialisation. ``"torchvision"`` downloads torchvision's default ImageNet
    weights for ``torchvision_name`` (needs the network once; torchvision caches them) and loads them.
    """
    if weights is None:
        return model
    if weights != "torchvision":
        raise CourseError(f"weights={weights!r} is not supported: use None (random init) or 'torchvision'.")
    import torchvision

    try:
        reference = torchvision.models.get_model(torchvision_name, weights="DEFAULT")
    except (OSError, RuntimeError) as error:  # URLError is an OSError; a broken download a RuntimeError
        raise CourseError(
            f"Could not get torchvision's ImageNet weights for {torchvision_name!r} ({error}). They are "
            "downloaded once and need a network connection; offline, build the model with weights=None."
        ) from error
    return copy_torchvision_state(model, reference)
