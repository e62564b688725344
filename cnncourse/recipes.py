"""Training recipes: named sets of :func:`cnncourse.train.fit` settings that reference checkpoints are made with.

A recipe fixes everything about *how* a network is trained except the network and the number of
epochs, so "the same recipe" means the same thing in every chapter, and a checkpoint's recorded command
can be checked against it (``python -m cnncourse references`` reports a checkpoint as stale when it
was not). ``python -m cnncourse train --recipe NAME`` starts from a recipe; any flag given explicitly
overrides it.

``textbook``
    The defaults of ``fit`` and ``train``: SGD with Nesterov momentum 0.9, one-cycle learning rate
    peaking at 0.1 (He et al., 2015, arXiv:1512.03385, §4.2 for the CIFAR rate), weight decay 5e-4 on
    weights only, batch 128, random crop (4 px) and horizontal flip. Chapters 01–02's checkpoints were
    trained with it for 35 epochs (with ``--amp bf16``).
``fast``
    The textbook recipe plus four candidate levers for a budget of 10 epochs: label smoothing 0.1
    (Szegedy et al., 2015, arXiv:1512.00567, §7), an exponential moving average of the weights (decay
    0.998), the last epoch trained without crop and flip, and flip test-time augmentation when the test set
    is measured. Measured afterwards on ResNet-20 (``benchmarks/README.md``): flip TTA and the plain final
    epoch helped, label smoothing made no measurable difference and the weight average cost 0.1 points; the
    recipe reached 93.5–93.6% in 10 epochs, short of the 94% it was meant for. It is kept as it is because
    chapters 03–04's reference checkpoints were trained with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnncourse.errors import UnknownNameError


@dataclass(frozen=True)
class Recipe:
    """A named recipe: ``settings`` are ``fit`` keyword arguments (as the train command's flags set them)."""

    name: str
    summary: str
    settings: dict[str, Any] = field(default_factory=dict)


#: What ``fit`` does when nothing is said; every recipe below is these with some values changed.
TEXTBOOK_SETTINGS: dict[str, Any] = {
    "optimizer": "sgd",
    "lr": None,  # DEFAULT_LR of the optimizer
    "weight_decay": None,  # DEFAULT_WEIGHT_DECAY of the optimizer
    "momentum": 0.9,
    "schedule": "onecycle",
    "label_smoothing": 0.0,
    "batch_size": 128,
    "augment": True,
    "plain_final_epochs": 0,
    "ema_decay": None,
    "flip_tta": False,
}

RECIPES: dict[str, Recipe] = {
    "textbook": Recipe("textbook", "SGD + Nesterov, one-cycle to 0.1, batch 128, crop + flip (fit's defaults)",
                       dict(TEXTBOOK_SETTINGS)),
    "fast": Recipe(
        "fast",
        "textbook + label smoothing 0.1, weight average (0.998), last epoch without augmentation, flip TTA",
        {**TEXTBOOK_SETTINGS, "label_smoothing": 0.1, "ema_decay": 0.998, "plain_final_epochs": 1,
         "flip_tta": True},
    ),
}


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; an unknown name raises with the known ones."""
    if name not in RECIPES:
        raise UnknownNameError("recipe", name, RECIPES)
    return RECIPES[name]
