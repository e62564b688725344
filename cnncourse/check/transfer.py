"""Checks for the exercises of interlude 02b, transfer learning (Yosinski et al., 2014, arXiv:1411.1792).

The student prepares a trained ResNet for a **linear probe** (feature extraction): a new head for the new
classes, every backbone parameter frozen, an optimizer that holds the trainable parameters only; and puts
it in training mode without letting the frozen BatchNorm layers update their running statistics. The
checks run on the course's ResNet-20 (``fc``: 64 → 10) and on ResNet-18 (torchvision's layout, ``fc``:
512 → 1000, built on the "meta" device), and test behaviour; a ✗ names the classic mistake it recognises:

* the **head still has the old number of outputs** (10 or 1,000): the classifier was not replaced;
* **backbone parameters still train**, or the new head is frozen too;
* the **optimizer was given frozen parameters** (``model.parameters()`` instead of the trainable ones), or
  lacks the new head's (an optimizer built *before* the head was replaced holds the old head);
* **BatchNorm statistics still updating when frozen**: ``requires_grad = False`` does not stop a BatchNorm
  layer in train mode from updating its running mean and variance (buffers, not parameters);
* the whole model in eval mode, so layers that do train (a partly unfrozen network) stop updating theirs.

The exercises (notebook ``solutions/02b_transfer_learning.ipynb``):

1. ``prepare_linear_probe`` — new head, frozen backbone, optimizer over the trainable parameters;
2. ``train_keeping_frozen_norms`` — train mode, with the frozen BatchNorm layers in eval mode.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cnncourse.check.core import Chapter, Checker, Exercise, ExerciseResult, check_and_report
from cnncourse.models import create_model

CHAPTER_NAME = "02b_transfer_learning"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


PREPARE_LINEAR_PROBE = _exercise(
    1, "transfer_prepare_linear_probe", "線形プローブの準備", "Preparing a linear probe", 2
)
TRAIN_KEEPING_FROZEN_NORMS = _exercise(
    2, "transfer_train_keeping_frozen_norms", "凍結した BatchNorm を保つ訓練モード",
    "Train mode with frozen BatchNorm", 2,
)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "幕間 02b 転移学習",
    "Interlude 02b Transfer learning",
    (PREPARE_LINEAR_PROBE, TRAIN_KEEPING_FROZEN_NORMS),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


#: The mistakes this chapter names, as the ✗ lines say them.
def head_still_old_message(outputs: int, wanted: int) -> str:
    return (
        f"the head still has {outputs} outputs, the classes of the source task. Replace it with a new layer "
        f"for the {wanted} new classes: model.fc = nn.Linear(model.fc.in_features, {wanted})."
    )


OPTIMIZER_GIVEN_FROZEN = (
    "the optimizer was given frozen parameters: build it from the parameters that train only, "
    "[p for p in model.parameters() if p.requires_grad]. Handing it everything hides whether the backbone "
    "is really frozen, and anything that later gets a gradient would start to change."
)
OPTIMIZER_LACKS_HEAD = (
    "the optimizer does not hold the new head's parameters, so the head would never train. Build the "
    "optimizer after replacing the head (one built before it holds the old head's parameters)."
)
BATCHNORM_STATS_UPDATING = (
    "BatchNorm statistics still updating when frozen: a forward pass changed the running mean of a "
    "BatchNorm layer whose parameters are frozen. requires_grad=False stops gradient steps, not the running "
    "statistics (buffers); after model.train(), put every frozen BatchNorm layer back in eval mode."
)
TRAINABLE_NORMS_IN_EVAL = (
    "BatchNorm layers whose parameters do train are in eval mode: only the frozen ones should be. Call "
    "model.train() first, then .eval() on the BatchNorm layers with frozen parameters only."
)


def _case_models() -> list[tuple[str, Callable[[], nn.Module], int]]:
    """(description, builder, new number of classes) for the networks exercise 1 is checked on."""
    def resnet18_meta() -> nn.Module:
        with torch.device("meta"):
            return create_model("resnet18")

    return [
        ("ResNet-20 (fc: 64 → 10) for 5 classes", lambda: create_model("resnet20", num_classes=10, in_channels=1), 5),
        ("ResNet-18 (fc: 512 → 1000) for 37 classes", resnet18_meta, 37),
    ]


def _optimizer_parameters(optimizer: torch.optim.Optimizer) -> set[int]:
    return {id(parameter) for group in optimizer.param_groups for parameter in group["params"]}


# --------------------------------------------------------------------------------------------------
# Exercise 1: new head, frozen backbone, optimizer over the trainable parameters
# --------------------------------------------------------------------------------------------------


def check_prepare_linear_probe(
    prepare_linear_probe: Callable[[nn.Module, int], object], *, part: str = "main"
) -> ExerciseResult:
    """Exercise 1: ``prepare_linear_probe(model, num_classes)`` returns an optimizer and changes ``model``."""

    def body(checker: Checker) -> None:
        for description, build, classes in _case_models():
            model = build()
            old_outputs = model.fc.out_features
            optimizer = checker.run(f"prepare_linear_probe({description})", prepare_linear_probe, model, classes)
            checker.require(
                f"{description}: returns an optimizer",
                isinstance(optimizer, torch.optim.Optimizer),
                failure=f"it returned {type(optimizer).__name__}; return the torch.optim optimizer you built.",
            )
            head = model.fc
            right_head = isinstance(head, nn.Linear) and head.out_features == classes
            if isinstance(head, nn.Linear) and head.out_features == old_outputs:
                failure = head_still_old_message(old_outputs, classes)
            else:
                failure = f"model.fc is {head!r}; it should be nn.Linear(in_features, {classes})."
            checker.expect(f"{description}: new head", right_head, failure=failure,
                           success=f"nn.Linear({getattr(head, 'in_features', '?')} → {classes})")
            head_ids = {id(p) for p in head.parameters()}
            backbone_training = sum(p.numel() for p in model.parameters() if id(p) not in head_ids and p.requires_grad)
            head_frozen = any(not p.requires_grad for p in head.parameters())
            checker.expect(
                f"{description}: backbone frozen, head trains",
                backbone_training == 0 and not head_frozen,
                success="only the head's parameters have requires_grad=True",
                failure=(f"{backbone_training:,} backbone parameters still have requires_grad=True: set it to "
                         "False on every parameter outside model.fc." if backbone_training
                         else "the new head is frozen too: its parameters need requires_grad=True."),
            )
            held = _optimizer_parameters(optimizer)
            trainable = {id(p) for p in model.parameters() if p.requires_grad}
            frozen_held = sum(p.numel() for p in model.parameters() if id(p) in held and not p.requires_grad)
            if frozen_held:
                checker.failed(f"{description}: optimizer", OPTIMIZER_GIVEN_FROZEN + f" (it holds {frozen_held:,} "
                               "frozen parameters.)")
            elif not head_ids <= held:
                checker.failed(f"{description}: optimizer", OPTIMIZER_LACKS_HEAD)
            else:
                checker.expect(f"{description}: optimizer", held == trainable,
                               success="holds exactly the trainable parameters",
                               failure="it holds parameters that are not the model's trainable ones.")

    return check_and_report(PREPARE_LINEAR_PROBE, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 2: train mode that keeps frozen BatchNorm in eval mode
# --------------------------------------------------------------------------------------------------


def _frozen_resnet20(unfrozen_prefix: str | None = None) -> nn.Module:
    """ResNet-20 with a new 5-class head, frozen but for the head (and ``unfrozen_prefix``, if given)."""
    torch.manual_seed(0)
    model = create_model("resnet20", num_classes=10, in_channels=1)
    model.fc = nn.Linear(model.fc.in_features, 5)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith("fc.") or (unfrozen_prefix is not None and name.startswith(unfrozen_prefix))
    model.eval()  # the check starts from eval mode, as after an evaluation in the middle of training
    return model


def _running_means_changed(model: nn.Module, images: torch.Tensor) -> dict[str, bool]:
    """BatchNorm layer name -> whether one forward pass changed its running mean."""
    norms = {name: module for name, module in model.named_modules() if isinstance(module, nn.BatchNorm2d)}
    before = {name: module.running_mean.clone() for name, module in norms.items()}
    with torch.no_grad():
        model(images)
    return {name: not torch.equal(before[name], module.running_mean) for name, module in norms.items()}


def check_train_keeping_frozen_norms(
    train_keeping_frozen_norms: Callable[[nn.Module], object], *, part: str = "main"
) -> ExerciseResult:
    """Exercise 2: ``train_keeping_frozen_norms(model)`` sets train mode, frozen BatchNorm layers in eval."""

    def body(checker: Checker) -> None:
        images = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
        model = _frozen_resnet20()
        checker.run("train_keeping_frozen_norms(frozen ResNet-20)", train_keeping_frozen_norms, model)
        changed = _running_means_changed(model, images)
        drifting = [name for name, moved in changed.items() if moved]
        checker.expect("frozen backbone: BatchNorm statistics stay", not drifting,
                       success=f"none of the {len(changed)} frozen BatchNorm layers changed",
                       failure=BATCHNORM_STATS_UPDATING + f" ({len(drifting)} of {len(changed)} layers moved.)")
        checker.expect("the model is in train mode", model.training and model.fc.training,
                       success="model.training is True",
                       failure="model.training is False: call model.train() first, so the parts that train do.")
        partly = _frozen_resnet20(unfrozen_prefix="layer3.")
        checker.run("train_keeping_frozen_norms(ResNet-20 with layer3 unfrozen)", train_keeping_frozen_norms, partly)
        changed = _running_means_changed(partly, images)
        trained = [name for name in changed if name.startswith("layer3.")]
        frozen = [name for name in changed if not name.startswith("layer3.")]
        checker.expect("layer3 unfrozen: its BatchNorm layers train", all(changed[name] for name in trained),
                       success=f"the {len(trained)} BatchNorm layers of layer3 update their statistics",
                       failure=TRAINABLE_NORMS_IN_EVAL)
        checker.expect("layer3 unfrozen: the frozen BatchNorm layers stay", not any(changed[name] for name in frozen),
                       success=f"the other {len(frozen)} stay as they were", failure=BATCHNORM_STATS_UPDATING)

    return check_and_report(TRAIN_KEEPING_FROZEN_NORMS, body, part=part)
