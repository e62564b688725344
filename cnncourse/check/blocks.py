"""Reusable checks for the building blocks of the later chapters, each recognising a classic mistake.

The chapters after Wide ResNet ask students to write the blocks that define each architecture. These
checks test the property that makes the block what it is, by behaviour, and name the mistake students
make most often:

* :func:`check_dense_concatenation` — output = input channels + L·k with the input kept unchanged;
  names *adding instead of concatenating*;
* :func:`check_squeeze_excitation` — one weight in (0, 1) per channel and per image;
  names *SE weights applied per pixel*;
* :func:`check_linear_bottleneck` — the projection of an inverted residual stays linear;
  names *a ReLU after the linear bottleneck*;
* :func:`check_depthwise_conv` — each output channel sees only its own input channel;
  names *a "depthwise" convolution with groups=1*;
* :func:`check_width_depth_scaling` — the width multiplier scales channels, the depth multiplier layers;
  names *width and depth multipliers swapped*.

Papers: DenseNet (Huang et al., 2017, arXiv:1608.06993, Eq. 2: x_l = H_l([x_0, …, x_{l−1}])); SENet
(Hu et al., 2017, arXiv:1709.01507, Section 3: squeeze by global average pooling, excitation by a
sigmoid gate, one scale per channel); MobileNet v2 (Sandler et al., 2018, arXiv:1801.04381, Section 3.2:
linear bottlenecks); MobileNet v1 (Howard et al., 2017, arXiv:1704.04861, Section 3.1: depthwise
convolution, one filter per input channel); EfficientNet (Tan & Le, 2019, arXiv:1905.11946, Section
3.3: depth d = α^φ multiplies the layers, width w = β^φ the channels; rounding as torchvision does it).

Each function takes the chapter's :class:`~cnncourse.check.core.Exercise` and what the student wrote
(a factory that builds their module, or their function) and returns the reported result.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
from torch import nn

from cnncourse.check.core import Checker, Exercise, ExerciseResult, check_and_report
from cnncourse.check.probes import count_parameters, randomize_module, same_output, seeded_input, shape_text
from cnncourse.check.steps import build, check_gradients, check_output_shape, run_forward, zero_every_weight
from cnncourse.layers import make_divisible, se_params

# --------------------------------------------------------------------------------------------------
# DenseNet: concatenate, never add
# --------------------------------------------------------------------------------------------------

ADDS_INSTEAD_OF_CONCATENATING = (
    "The module adds the new features to its input instead of concatenating them: a dense layer keeps every "
    "earlier feature map and appends k new channels, torch.cat([x, new], dim=1) (DenseNet Eq. 2)."
)


def check_dense_concatenation(
    exercise: Exercise,
    build_module: Callable[[int, int], object],
    *,
    in_channels: int = 12,
    growth_rate: int = 12,
    num_layers: int = 1,
    size: int = 6,
    part: str = "main",
) -> ExerciseResult:
    """A dense layer (``num_layers=1``) or block: ``build_module(in_channels, growth_rate)`` returns
    ``in_channels + num_layers · growth_rate`` channels whose first ``in_channels`` are the input itself.

    ``in_channels == growth_rate`` (the default) makes an addition shape-compatible, so the mistake shows
    as a wrong channel count instead of a crash.
    """

    def body(checker: Checker) -> None:
        description = f"the module built with ({in_channels}, {growth_rate})"
        module = build(checker, description, lambda: build_module(in_channels, growth_rate))
        verify_dense_concatenation(
            checker, description, module, in_channels=in_channels, growth_rate=growth_rate,
            num_layers=num_layers, size=size,
        )

    return check_and_report(exercise, body, part=part)


def verify_dense_concatenation(
    checker: Checker,
    description: str,
    module: nn.Module,
    *,
    in_channels: int,
    growth_rate: int,
    num_layers: int,
    size: int = 6,
) -> None:
    """The steps of :func:`check_dense_concatenation` on an already built module, for a chapter's check
    that goes on to test more (randomises ``module``'s weights in place)."""
    module.eval()
    randomize_module(module, seed=21)
    x = seeded_input((2, in_channels, size, size), seed=22)
    with torch.no_grad():
        output = run_forward(
            checker, description, module, x.clone(),
            hint="A dense layer concatenates along the channel dimension: torch.cat([x, new], dim=1).",
        )
    expected_channels = in_channels + num_layers * growth_rate
    name = "concatenates its input with the new features"
    if output.dim() != 4 or output.shape[0] != 2 or output.shape[-2:] != x.shape[-2:]:
        checker.stop(
            name, f"output shape {shape_text(output.shape)}; the batch and the map size must be kept."
        )
    channels = int(output.shape[1])
    only_new = (
        f"The output has only the {num_layers * growth_rate} new channels: concatenate them with the "
        f"input, torch.cat([x, new], dim=1), to get {expected_channels}."
    )
    if channels in {in_channels, num_layers * growth_rate}:
        # With every weight at zero the new features are 0: an addition returns x, "new only" returns 0.
        with torch.no_grad():
            zeroed = run_forward(checker, description, _zeroed_copy(module), x.clone())
        if same_output(zeroed, x):
            checker.stop(name, ADDS_INSTEAD_OF_CONCATENATING)
        if channels == num_layers * growth_rate:
            checker.stop(name, only_new)
    checker.require(
        "output channels",
        channels == expected_channels,
        success=f"{in_channels} + {num_layers}·{growth_rate} = {expected_channels}",
        failure=f"{channels}, expected in_channels + {num_layers}·k = {expected_channels}.",
    )
    head, tail = output[:, :in_channels], output[:, -in_channels:]
    if torch.equal(head, x):
        checker.passed(name, "the first channels are the input, unchanged")
    elif torch.equal(tail, x):
        checker.failed(
            name,
            "the input is there but at the end: DenseNet appends the new features after the earlier "
            "ones, torch.cat([x, new], dim=1).",
        )
    else:
        checker.failed(
            name,
            "the first channels of the output are not the input: concatenation must pass x through "
            "unchanged (no normalisation or activation applied to it in place).",
        )
    new = output[:, in_channels:]
    checker.expect(
        "the new features depend on the input",
        bool(new.abs().sum() > 0),
        success=f"{num_layers * growth_rate} new channels",
        failure="the new channels are all zero: compute them with the layer's BN-ReLU-conv.",
    )
    check_gradients(checker, description, module, x)


# --------------------------------------------------------------------------------------------------
# Squeeze-and-excitation: one weight per channel
# --------------------------------------------------------------------------------------------------

SE_PER_PIXEL = (
    "The weights are applied per pixel: the scale of a channel changes from pixel to pixel. Compute the "
    "excitation from the globally pooled descriptor — global average pooling before the two layers, weights "
    "of shape (N, C, 1, 1), one per channel (SENet Section 3.1)."
)


def check_squeeze_excitation(
    exercise: Exercise,
    build_module: Callable[[int, int], object],
    *,
    channels: int = 16,
    squeeze_channels: int = 4,
    size: int = 5,
    part: str = "main",
) -> ExerciseResult:
    """An SE module ``build_module(channels, squeeze_channels)`` whose forward returns ``x · weights``."""

    def body(checker: Checker) -> None:
        description = f"the module built with ({channels}, {squeeze_channels})"
        module = build(checker, description, lambda: build_module(channels, squeeze_channels)).eval()
        randomize_module(module, seed=31)
        expected = se_params(channels, squeeze_channels)
        found = count_parameters(module)
        checker.expect(
            "parameters",
            found == expected,
            success=f"{expected:,}: two layers with bias, C → C/r → C",
            failure=f"{found:,}, expected {expected:,} = two layers with bias, {channels} → "
            f"{squeeze_channels} → {channels}.",
        )
        x = seeded_input((2, channels, size, size), seed=32, positive=True)
        with torch.no_grad():
            output = run_forward(checker, description, module, x.clone())
        if not check_output_shape(checker, description, output, tuple(x.shape), "SE keeps the shape."):
            return
        scale = output / x
        per_channel = scale.mean(dim=(2, 3), keepdim=True)
        checker.expect(
            "one weight per channel",
            bool(torch.allclose(scale, per_channel.expand_as(scale), atol=1e-5, rtol=1e-4)),
            success="each channel is multiplied by a single number",
            failure=SE_PER_PIXEL,
        )
        checker.expect(
            "weights between 0 and 1",
            bool(per_channel.min() > 0) and bool(per_channel.max() < 1),
            success="a sigmoid gate",
            failure=f"weights range from {float(per_channel.min()):.3g} to {float(per_channel.max()):.3g}: "
            "end the excitation with a sigmoid so that each weight lies in (0, 1).",
        )
        checker.expect(
            "each image gets its own weights",
            not torch.allclose(per_channel[0], per_channel[1]),
            success="the weights depend on the image",
            failure="both images got the same weights: pool over height and width only (dims 2, 3), not over "
            "the batch.",
        )
        check_gradients(checker, description, module, x)

    return check_and_report(exercise, body, part=part)


# --------------------------------------------------------------------------------------------------
# MobileNet v2: the linear bottleneck
# --------------------------------------------------------------------------------------------------

RELU_AFTER_LINEAR_BOTTLENECK = (
    "There is an activation after the projection: the output is never negative. The last 1×1 convolution "
    "(and its BatchNorm) is linear — no ReLU/ReLU6 after it, since a ReLU in the narrow bottleneck destroys "
    "information (MobileNet v2 Section 3.2)."
)


def check_linear_bottleneck(
    exercise: Exercise,
    build_block: Callable[[int, int, int, int], object],
    *,
    in_channels: int = 8,
    out_channels: int = 12,
    expand_ratio: int = 6,
    size: int = 8,
    part: str = "main",
) -> ExerciseResult:
    """An inverted residual ``build_block(in_channels, out_channels, stride, expand_ratio)`` (MobileNet v2).

    Tested at stride 2 (no shortcut: the output is the projection itself) and at stride 1 with equal
    widths (the shortcut adds the input back).
    """

    def body(checker: Checker) -> None:
        projecting = f"the block ({in_channels} → {out_channels}, stride 2)"
        block = build(checker, projecting, lambda: build_block(in_channels, out_channels, 2, expand_ratio))
        block.eval()
        randomize_module(block, seed=41)
        x = seeded_input((2, in_channels, size, size), seed=42)
        with torch.no_grad():
            output = run_forward(checker, projecting, block, x.clone())
        out_size = (size - 1) // 2 + 1
        check_output_shape(checker, projecting, output, (2, out_channels, out_size, out_size),
                           "The depthwise convolution carries the stride; the projection sets the channels.")
        checker.expect(
            "the projection is linear",
            bool(output.min() < 0),
            success="the output takes negative values, as a linear layer's does",
            failure=RELU_AFTER_LINEAR_BOTTLENECK,
        )
        grouped = [m for m in block.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)]
        hidden = in_channels * expand_ratio
        checker.expect(
            "the k×k convolution is depthwise",
            bool(grouped) and all(m.groups == m.in_channels == hidden for m in grouped),
            success=f"groups = {hidden}",
            failure="the spatial convolution must be depthwise: groups equal to its (expanded) input "
            "channels, "
            f"{hidden}. " + DEPTHWISE_WITH_GROUPS_1,
        )
        residual = f"the block ({out_channels} → {out_channels}, stride 1)"
        block = build(checker, residual, lambda: build_block(out_channels, out_channels, 1, expand_ratio))
        block.eval()
        probe = seeded_input((2, out_channels, size, size), seed=43)
        zeroed = _zeroed_copy(block)
        with torch.no_grad():
            through = run_forward(checker, residual, zeroed, probe.clone())
        checker.expect(
            "the shortcut adds the input back",
            same_output(through, probe),
            success="with every weight at zero the block returns x",
            failure="with every weight at zero the block should return its input x (stride 1, equal widths): "
            "add x to the projection, with no activation after the sum.",
        )
        check_gradients(checker, residual, block, probe)

    return check_and_report(exercise, body, part=part)


def _zeroed_copy(module: nn.Module) -> nn.Module:
    """A copy with every weight at zero, in eval mode: learned branches output 0, shortcuts pass through."""
    probe = copy.deepcopy(module)
    zero_every_weight(probe)
    return probe.eval()


# --------------------------------------------------------------------------------------------------
# MobileNet v1: depthwise convolution
# --------------------------------------------------------------------------------------------------

DEPTHWISE_WITH_GROUPS_1 = (
    "A convolution with groups=1 mixes every input channel into every output channel; a depthwise "
    "convolution has groups equal to the channels, one k×k filter per channel (MobileNet v1 Section 3.1)."
)


def check_depthwise_conv(
    exercise: Exercise,
    build_conv: Callable[[int, int], object],
    *,
    channels: int = 8,
    kernel_size: int = 3,
    size: int = 7,
    part: str = "main",
) -> ExerciseResult:
    """A depthwise convolution ``build_conv(channels, kernel_size)`` with "same" padding and stride 1."""

    def body(checker: Checker) -> None:
        description = f"the convolution built with ({channels}, {kernel_size})"
        conv = build(checker, description, lambda: build_conv(channels, kernel_size)).eval()
        randomize_module(conv, seed=51)
        x = seeded_input((1, channels, size, size), seed=52)
        with torch.no_grad():
            output = run_forward(checker, description, conv, x.clone())
        hint = f"Use padding {kernel_size // 2} and as many output channels as input channels."
        if not check_output_shape(checker, description, output, tuple(x.shape), hint):
            return
        nudged = x.clone()
        nudged[:, 0] += 1.0
        with torch.no_grad():
            changed = (conv(nudged) - output).abs().amax(dim=(0, 2, 3)) > 1e-6
        others = [int(c) for c in torch.nonzero(changed[1:]).flatten() + 1]
        checker.expect(
            "each output channel sees only its own input channel",
            not others and bool(changed[0]),
            success="changing input channel 0 changes output channel 0 only",
            failure=(
                f"changing input channel 0 changed output channels {others[:5]}: your convolution mixes "
                "channels. "
                + DEPTHWISE_WITH_GROUPS_1
                if others
                else "changing input channel 0 did not change output channel 0."
            ),
        )
        weights = sum(p.numel() for p in conv.parameters() if p.dim() == 4)  # convolution kernels only
        expected = channels * kernel_size * kernel_size
        checker.expect(
            "weights",
            weights == expected,
            success=f"{expected:,} = C·k²",
            failure=f"{weights:,} convolution weights, expected C·k² = {expected:,}"
            + (" (C²·k²: groups=1)." if weights == channels * expected else "."),
        )

    return check_and_report(exercise, body, part=part)


# --------------------------------------------------------------------------------------------------
# EfficientNet / MobileNet: width and depth multipliers
# --------------------------------------------------------------------------------------------------

WIDTH_DEPTH_SWAPPED = (
    "Width and depth multipliers are swapped: the width multiplier scales the channels of a stage, the depth "
    "multiplier its number of layers (EfficientNet Section 3.3)."
)

#: (channels, layers, width_mult, depth_mult): EfficientNet-B0 stages under B1, B4 and B7's coefficients
#: (torchvision's published width/depth pairs), and a MobileNet-style width of 0.5.
SCALING_CASES: tuple[tuple[int, int, float, float], ...] = (
    (16, 1, 1.0, 1.1),
    (40, 2, 1.4, 1.8),
    (112, 3, 2.0, 3.1),
    (192, 4, 1.4, 1.8),
    (24, 2, 0.5, 1.0),
)


def scale_stage(channels: int, layers: int, width_mult: float, depth_mult: float) -> tuple[int, int]:
    """The reference rule: channels → ``make_divisible(channels · width, 8)``, layers → ``⌈layers · depth⌉``.

    This is how torchvision's EfficientNet scales each stage of B0 (``_MBConvConfig.adjust_channels`` /
    ``adjust_depth``).

    >>> scale_stage(40, 2, 1.4, 1.8)
    (56, 4)
    """
    return make_divisible(channels * width_mult, 8), int(math.ceil(layers * depth_mult))


def check_width_depth_scaling(
    exercise: Exercise,
    scale_function: Callable[[int, int, float, float], object],
    cases: tuple[tuple[int, int, float, float], ...] = SCALING_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """``scale_function(channels, layers, width_mult, depth_mult) → (channels, layers)``, against
    :func:`scale_stage`."""

    def body(checker: Checker) -> None:
        swapped_everywhere = True
        for case in cases:
            channels, layers, width, depth = case
            description = f"scale({channels}, {layers}, width={width}, depth={depth})"
            answer = checker.run(description, scale_function, *case)
            try:
                got = (int(answer[0]), int(answer[1]))  # type: ignore[index]
            except (TypeError, ValueError, IndexError):
                checker.stop(description, f"expected a pair (channels, layers), got {answer!r}.")
            truth = scale_stage(*case)
            swapped = (make_divisible(channels * depth, 8), int(math.ceil(layers * width)))
            swapped_everywhere &= got == swapped and got != truth
            if got == truth:
                checker.passed(description, f"{truth}")
            elif got == swapped:
                checker.failed(description, f"{got}, expected {truth}: width and depth swapped?")
            elif got[0] == truth[0]:
                checker.failed(
                    description, f"{got}, expected {truth}: round the layers up, ⌈{layers}·{depth}⌉."
                )
            elif got[1] == truth[1]:
                checker.failed(
                    description,
                    f"{got}, expected {truth}: channels are rounded to a multiple of 8 with make_divisible "
                    "(never more than 10% below channels·width).",
                )
            else:
                checker.failed(description, f"{got}, expected {truth}.")
        if swapped_everywhere and cases:
            checker.failed("what to fix", WIDTH_DEPTH_SWAPPED)

    return check_and_report(exercise, body, part=part)


__all__ = [
    "ADDS_INSTEAD_OF_CONCATENATING",
    "DEPTHWISE_WITH_GROUPS_1",
    "RELU_AFTER_LINEAR_BOTTLENECK",
    "SE_PER_PIXEL",
    "WIDTH_DEPTH_SWAPPED",
    "check_dense_concatenation",
    "check_depthwise_conv",
    "check_linear_bottleneck",
    "check_squeeze_excitation",
    "check_width_depth_scaling",
    "verify_dense_concatenation",
    "scale_stage",
]
