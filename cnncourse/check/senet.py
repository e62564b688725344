"""Checks for the exercises of chapter 03, SENet (Hu et al., 2017, arXiv:1709.01507).

The references are :class:`cnncourse.layers.SqueezeExcitation` (torchvision's layout: global average
pooling, ``fc1`` and ``fc2`` as 1×1 convolutions with bias, ReLU between them, a sigmoid gate) and the
SE blocks of :mod:`cnncourse.models.senet` (the SE-ResNet module of paper Fig. 3: the residual branch is
recalibrated *before* the shortcut is added; squeeze width C/r with C the block's output channels, paper
Table 1). Counts are measured on real modules built on PyTorch's "meta" device.

The checks test behaviour, and a ✗ names the classic mistake it recognises:

* a **spatial** gate instead of a channel gate (one weight per pixel shared by the channels, the shape of
  a spatial attention mask (N, 1, H, W)) or weights that vary per pixel at all (no global pooling);
* **softmax instead of sigmoid** (the weights of an image sum to 1 over the channels, so the channels
  compete; the paper wants several channels emphasised at once, Section 3.2);
* the **reduction applied to the wrong width** (C/r of a bottleneck's inner width or of the block's input,
  C·r instead of C/r), read from parameter counts;
* SE at another **position** than the standard one (after the addition, on the shortcut, before the
  residual branch: the variants of paper Section 6.5), read from outputs with the reference's weights
  and from what the block does when every weight is zero.

The exercises (notebook ``solutions/03_senet.ipynb``):

1. ``se_parameters`` — parameters of one SE block, by formula;
2. ``SqueezeExcitation`` — the module: squeeze, excitation, scale;
3. ``se_resnet50_extra_parameters`` — what SE adds to ResNet-50 (paper Section 4: about 10%);
4. ``SEBottleneck`` — SE inside ResNet-50's bottleneck, at the standard position.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.check.blocks import SE_PER_PIXEL
from cnncourse.check.core import (
    Chapter,
    Checker,
    EarlierAnswer,
    Exercise,
    ExerciseResult,
    check_and_report,
    earlier_answer_cause,
)
from cnncourse.check.probes import (
    count_parameters,
    matching_candidate,
    max_difference,
    randomize_module,
    same_output,
    seeded_input,
    shape_text,
    transfer_weights,
)
from cnncourse.check.steps import (
    check_cases,
    check_gradients,
    check_output_shape,
    run_forward,
    zero_every_weight,
)
from cnncourse.layers import SqueezeExcitation as ReferenceSE
from cnncourse.layers import se_params
from cnncourse.models import resnet as resnet_reference
from cnncourse.models import senet as reference

CHAPTER_NAME = "03_senet"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


SE_PARAMETERS = _exercise(1, "senet_se_parameters", "SE ブロックのパラメータ数", "Parameters of an SE block", 1)
SQUEEZE_EXCITATION = _exercise(
    2, "senet_squeeze_excitation", "Squeeze-and-Excitation モジュール", "Squeeze-and-excitation module", 3
)
SE_RESNET50_EXTRA = _exercise(
    3, "senet_resnet50_extra_parameters", "SE-ResNet-50 の追加パラメータ数", "What SE adds to ResNet-50", 2
)
SE_BOTTLENECK = _exercise(4, "senet_se_bottleneck", "SE ボトルネックブロック", "SE bottleneck block", 3)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第3章 SENet",
    "Chapter 03 SENet",
    (SE_PARAMETERS, SQUEEZE_EXCITATION, SE_RESNET50_EXTRA, SE_BOTTLENECK),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


#: The mistakes this chapter names, as the ✗ lines say them.
SE_SPATIAL_GATE = (
    "Your gate is spatial: one weight per pixel, shared by every channel, like an (N, 1, H, W) attention "
    "mask. SE is channel attention: squeeze each channel to one number by global average pooling, and scale "
    "each channel by one weight, the same at every pixel: weights of shape (N, C, 1, 1) (SENet Section 3)."
)
SOFTMAX_INSTEAD_OF_SIGMOID = (
    "The weights of each image sum to 1 over the channels: that is a softmax, which makes the channels "
    "compete for one unit of weight. SE gates each channel on its own with a sigmoid, so that several "
    "channels can be emphasised at once (SENet Section 3.2): torch.sigmoid(fc2(...))."
)
SOFTMAX_OVER_ONE_ELEMENT = (
    "Every weight is exactly 1: a softmax over a dimension of size 1 (the pooled 1×1 map) always gives 1, "
    "so nothing is recalibrated. Use a sigmoid, which gates each channel on its own (SENet Section 3.2)."
)


def _wrong_width_message(width: int, what: str, channels: int, reduction: int) -> str:
    return (
        f"your SE bottleneck is {width} wide = {what}. The reduction applies to the channels the SE block "
        f"recalibrates — the block's output, C = 4·planes = {channels} — so its width is C/r = "
        f"{channels} // {reduction} = {channels // reduction} (paper Table 1: fc [16, 256] in conv2_x)."
    )


# --------------------------------------------------------------------------------------------------
# Exercise 1: parameters of an SE block
# --------------------------------------------------------------------------------------------------

#: (channels, reduction): SE-ResNet-50's four stages (Table 1: fc [16, 256] … [128, 2048]), SE-ResNet-20's
#: 16-channel stage (width 1), and two other ratios of the paper's Section 6.1.
SE_PARAMETER_CASES: tuple[tuple[int, int], ...] = (
    (256, 16),
    (512, 16),
    (2048, 16),
    (16, 16),
    (64, 4),
    (96, 8),
)


def measured_se_parameters(channels: int, reduction: int) -> int:
    """Parameters of the reference SE module with the squeeze width SENet uses, C // r (at least 1)."""
    with torch.device("meta"):
        module = ReferenceSE(channels, reference.squeeze_width(channels, reduction))
    return count_parameters(module)


_SE_PARAMETER_MISTAKES: dict[str, Callable[..., int]] = {
    "the biases are missing: fc1 and fc2 each have one bias per output (C/r and C). The paper's 2C²/r "
    "counts weights only; the course's SE layers, like torchvision's, have biases.": (
        lambda c, r: 2 * c * (c // r)
    ),
    "you multiplied by r: the squeeze layer *reduces* the channels to C/r (r = 16: 256 channels → 16).": (
        lambda c, r: se_params(c, c * r)
    ),
    "you counted one C → C layer; the excitation is two layers, C → C/r → C: 2C²/r weights instead of C².": (
        lambda c, r: c * c + c
    ),
    "only one of the two layers' biases is counted: fc1 has C/r biases, fc2 has C.": (
        lambda c, r: 2 * c * (c // r) + c
    ),
}


def check_se_parameters(
    se_parameters: Callable[[int, int], object],
    cases: tuple[tuple[int, int], ...] = SE_PARAMETER_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 1: ``se_parameters(channels, reduction)`` against the reference module's count."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "se_parameters", se_parameters, cases, measured_se_parameters,
            success=lambda case, truth: f"{truth:,} ({case[0]} → {reference.squeeze_width(*case)} → {case[0]})",
            failure=lambda case, answer, truth: f"{answer:,}, the module has {truth:,}",
            mistakes=_SE_PARAMETER_MISTAKES,
            fix="two layers with bias: C·(C/r) + C/r for fc1, (C/r)·C + C for fc2, with C/r = C // r.",
        )

    return check_and_report(SE_PARAMETERS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 2: the squeeze-and-excitation module
# --------------------------------------------------------------------------------------------------


def _se_candidates(ref: ReferenceSE, x: Tensor) -> dict[str, Tensor]:
    """Outputs of the usual mistakes, computed from the reference module's own layers."""
    with torch.no_grad():
        pooled = x.mean(dim=(2, 3), keepdim=True)
        logits = ref.fc2(F.relu(ref.fc1(pooled)))
        weights = torch.sigmoid(logits)
        maximum = x.amax(dim=(2, 3), keepdim=True)
        return {
            "softmax": x * torch.softmax(logits, dim=1),
            "max_pool": x * torch.sigmoid(ref.fc2(F.relu(ref.fc1(maximum)))),
            "no_relu": x * torch.sigmoid(ref.fc2(ref.fc1(pooled))),
            "added": x + weights,
            "weights_only": weights.expand_as(x),
        }


_SE_MESSAGES = {
    "softmax": "your output is x · softmax(fc2(relu(fc1(pool(x)))), dim=1): use a sigmoid instead.",
    "max_pool": "you squeeze with the maximum; SE squeezes each channel with its *average* over the map "
    "(global average pooling, Section 3.1).",
    "no_relu": "the ReLU between fc1 and fc2 is missing: excitation is fc1 → ReLU → fc2 → sigmoid (Eq. 3).",
    "added": "you add the weights to x; SE *multiplies* each channel by its weight (Eq. 4: s_c · u_c).",
    "weights_only": "you return the weights instead of the rescaled input: return x * weights.",
}

_SE_ORDER = (
    "SE is: global average pool → fc1 (C → C/r) → ReLU → fc2 (C/r → C) → sigmoid → multiply x by the weights."
)


def _se_parameter_hint(found: int, channels: int, squeeze_channels: int) -> str:
    if found == 2 * channels * squeeze_channels:
        return "the biases are missing: use layers with bias (nn.Conv2d(…, 1) or nn.Linear)."
    if channels % squeeze_channels == 0 and found == se_params(channels, channels // squeeze_channels):
        return (
            f"your bottleneck is {channels // squeeze_channels} wide = channels // squeeze_channels: "
            f"squeeze_channels ({squeeze_channels}) already is the width C/r; use it as it is."
        )
    if found == channels * channels + channels:
        return "one C → C layer; the excitation is two layers, C → squeeze_channels → C."
    return f"two layers with bias, {channels} → {squeeze_channels} → {channels}."


def se_probe_input(channels: int, size: int, seed: int, images: int = 8) -> Tensor:
    """Positive inputs (so that output / x is the gate) whose channel averages differ a lot between images.

    Uniform noise alone gives every channel of every image an average near 0.6: all images would then
    switch the same ReLU units of a narrow bottleneck off, get the same weights, and leave fc1 without
    a gradient — a correct module would fail. A random scale per image and channel avoids that.
    """
    generator = torch.Generator().manual_seed(seed + 1)
    scale = torch.exp(torch.randn((images, channels, 1, 1), generator=generator))
    return seeded_input((images, channels, size, size), seed=seed, positive=True) * scale


def _gate_of(checker: Checker, description: str, module: nn.Module, x: Tensor) -> Tensor | None:
    """The weights the module multiplies ``x`` by (output / x, ``x`` > 0), or None after a ✗."""
    with torch.no_grad():
        output = run_forward(checker, description, module, x.clone())
    if output.shape != x.shape and tuple(output.shape) == (x.shape[0], x.shape[1], 1, 1):
        checker.stop(
            f"output shape of {description}",
            f"{shape_text(output.shape)}, the shape of the weights: return x * weights, shape "
            f"{shape_text(x.shape)}.",
        )
    if not check_output_shape(checker, description, output, tuple(x.shape), "SE keeps the shape of x."):
        return None
    return output / x


def verify_channel_gate(checker: Checker, description: str, module: nn.Module, x: Tensor) -> None:
    """One weight per channel and image, from a sigmoid: names a spatial gate and softmax by behaviour."""
    scale = _gate_of(checker, description, module, x)
    if scale is None:
        return
    per_channel = scale.mean(dim=(2, 3), keepdim=True)
    constant_over_pixels = bool(torch.allclose(scale, per_channel.expand_as(scale), atol=1e-5, rtol=1e-4))
    if not constant_over_pixels:
        per_pixel = scale.mean(dim=1, keepdim=True)
        spatial = bool(torch.allclose(scale, per_pixel.expand_as(scale), atol=1e-5, rtol=1e-4))
        checker.stop("one weight per channel", SE_SPATIAL_GATE if spatial else SE_PER_PIXEL)
    checker.passed("one weight per channel", "each channel is multiplied by a single number, at every pixel")
    weights = per_channel.flatten(1)
    sums = weights.sum(dim=1)
    name = "a sigmoid gate"
    if bool(torch.allclose(weights, torch.ones_like(weights), atol=1e-6)):
        checker.failed(name, SOFTMAX_OVER_ONE_ELEMENT)
    elif bool(torch.allclose(sums, torch.ones_like(sums), atol=1e-4)):
        checker.failed(name, SOFTMAX_INSTEAD_OF_SIGMOID)
    elif bool(weights.min() > 0) and bool(weights.max() < 1):
        checker.passed(name, "every weight lies in (0, 1), each channel gated on its own")
    else:
        low, high = float(weights.min()), float(weights.max())
        checker.failed(
            name,
            f"the weights range from {low:.3g} to {high:.3g}: end the excitation with a sigmoid, so that "
            "each weight lies in (0, 1) (SENet Eq. 3).",
        )
    checker.expect(
        "each image gets its own weights",
        not all(torch.allclose(weights[0], other) for other in weights[1:]),
        success="the weights depend on the image",
        failure="both images got the same weights: pool over height and width only (dims 2 and 3), not over "
        "the batch.",
    )


def check_squeeze_excitation(
    module_class: type,
    *,
    channels: int = 24,
    squeeze_channels: int = 6,
    size: int = 5,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 2: ``SqueezeExcitation(channels, squeeze_channels)`` against the reference module.

    ``channels // squeeze_channels != squeeze_channels`` by default, so a width computed from the wrong
    number shows in the parameter count.
    """

    def body(checker: Checker) -> None:
        if not isinstance(module_class, type):
            given = type(module_class).__name__
            checker.stop("SqueezeExcitation is a class", f"pass the class itself, got {given}.")
        description = f"SqueezeExcitation({channels}, {squeeze_channels})"
        module = checker.run(description, module_class, channels, squeeze_channels)
        if not isinstance(module, nn.Module):
            checker.stop(f"{description} builds", f"expected an nn.Module, got {type(module).__name__}.")
        ref = ReferenceSE(channels, squeeze_channels)
        found, expected = count_parameters(module), count_parameters(ref)
        checker.expect(
            f"parameters of {description}",
            found == expected,
            success=f"{expected:,}: fc1 {channels} → {squeeze_channels} and fc2 {squeeze_channels} → "
            f"{channels}, with bias",
            failure=f"{found:,}, expected {expected:,}: "
            + _se_parameter_hint(found, channels, squeeze_channels),
        )
        module.eval()
        randomize_module(module, seed=31)
        x = se_probe_input(channels, size, seed=32)
        verify_channel_gate(checker, description, module, x)
        randomize_module(ref, seed=33)
        name = f"output values of {description}"
        problem = transfer_weights(ref, module)
        if problem is not None:
            checker.failed(name, f"cannot give your module the reference's weights: {problem}.")
        else:
            with torch.no_grad():
                expected_out = ref.eval()(x.clone())
                output = run_forward(checker, description, module, x.clone())
            if same_output(output, expected_out):
                checker.passed(name, "equal to the reference's with the same weights")
            else:
                mistake = matching_candidate(output, _se_candidates(ref, x))
                checker.failed(
                    name,
                    _SE_MESSAGES[mistake]
                    if mistake
                    else f"with the reference's weights your outputs differ by up to "
                    f"{max_difference(output, expected_out):.3g}. {_SE_ORDER}",
                )
        check_gradients(checker, description, module, x)

    return check_and_report(SQUEEZE_EXCITATION, body, part=part)


def _squeeze_excitation_is_right(module_class: Callable[..., object]) -> bool:
    """Exercise 2's answer, quietly: same outputs as the reference with the same weights."""
    module = module_class(24, 6)
    ref = randomize_module(ReferenceSE(24, 6), seed=34)
    if not isinstance(module, nn.Module) or transfer_weights(ref, module) is not None:
        return False
    x = se_probe_input(24, 4, seed=35)
    with torch.no_grad():
        return same_output(module.eval()(x.clone()), ref.eval()(x))


# --------------------------------------------------------------------------------------------------
# Exercise 3: what SE adds to ResNet-50
# --------------------------------------------------------------------------------------------------

#: Reduction ratios r: the paper's 16 and the others of its Section 6.1 ablation (Table 10).
RESNET50_REDUCTIONS: tuple[int, ...] = (16, 8, 4, 32)

#: ResNet-50 (paper Table 1): the bottlenecks' inner widths ("planes") and blocks per stage.
RESNET50_PLANES: tuple[int, ...] = resnet_reference.IMAGENET_STAGE_WIDTHS
RESNET50_BLOCKS: tuple[int, ...] = reference.SE_RESNET50_STAGE_DEPTHS


#: Parameters of ResNet-50 (torchvision's ``resnet50``, which the course's equals; a test recounts it).
RESNET50_PARAMETERS = 25_557_032


def se_resnet50_blocks(reduction: int) -> list[reference.SEBottleneck]:
    """The 16 SE bottlenecks of SE-ResNet-50 with reduction ratio r, built as ResNet builds them (meta).

    Blocks, not the whole network: building ResNet-50 initialises 25M weights, which costs seconds, while
    what SE adds lives entirely in the blocks.
    """
    blocks: list[reference.SEBottleneck] = []
    inplanes = 64
    with torch.device("meta"):
        for stage, (planes, count) in enumerate(zip(RESNET50_PLANES, RESNET50_BLOCKS)):
            for index in range(count):
                stride = 2 if stage > 0 and index == 0 else 1
                downsample = _projection(inplanes, 4 * planes, stride) if index == 0 else None
                block = reference.SEBottleneck(inplanes, planes, stride, downsample, reduction=reduction)
                blocks.append(block)
                inplanes = 4 * planes
    return blocks


def measured_se_resnet50_extra_parameters(reduction: int) -> int:
    """Parameters of every SE module in the bottlenecks of SE-ResNet-50 built with ``reduction``."""
    return sum(count_parameters(block.se) for block in se_resnet50_blocks(reduction))


def _extra_formula(reduction: int, *, width_of: str = "output", per: str = "block", bias: bool = True) -> int:
    total = 0
    for planes, blocks in zip(RESNET50_PLANES, RESNET50_BLOCKS):
        channels = 4 * planes
        width = max(1, (planes if width_of == "planes" else channels) // reduction)
        count = 2 * channels * width + ((width + channels) if bias else 0)
        if width_of == "planes_module":
            count = se_params(planes, max(1, planes // reduction))
        total += count * (blocks if per == "block" else 1)
    return total


_EXTRA_MISTAKES: dict[str, Callable[..., int]] = {
    "reduction applied to the wrong width: you divided the bottleneck's inner width (planes = 64, 128, …) by "
    "r. SE recalibrates the block's *output*, C = 4·planes = 256, 512, 1024, 2048, so its squeeze width is "
    "C/r (paper Table 1: fc [16, 256], [32, 512], [64, 1024], [128, 2048]).": (
        lambda r: _extra_formula(r, width_of="planes")
    ),
    "you built SE blocks on the inner width planes; SE sits after conv3 and bn3, on the block's output of "
    "4·planes channels.": lambda r: _extra_formula(r, width_of="planes_module"),
    "you counted one SE block per stage; SE-ResNet-50 has one in every bottleneck, 3 + 4 + 6 + 3 = 16.": (
        lambda r: _extra_formula(r, per="stage")
    ),
    "the biases are missing: each SE block's two layers have C/r and C biases.": (
        lambda r: _extra_formula(r, bias=False)
    ),
}


def _se_parameters_is_right(se_parameters: Callable[..., object]) -> bool:
    """Exercise 1's answer on its own cases, quietly (for naming it as the cause in exercise 3)."""
    return all(se_parameters(*case) == measured_se_parameters(*case) for case in SE_PARAMETER_CASES)


#: Exercise 3 asks to build on exercise 1's helper.
SE_RESNET50_EXTRA_BUILDS_ON = (EarlierAnswer("se_parameters", SE_PARAMETERS, _se_parameters_is_right),)


def check_se_resnet50_extra_parameters(
    se_resnet50_extra_parameters: Callable[[int], object],
    reductions: tuple[int, ...] = RESNET50_REDUCTIONS,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 3: ``se_resnet50_extra_parameters(reduction)`` against the SE modules of SE-ResNet-50."""

    def body(checker: Checker) -> None:
        resnet50 = RESNET50_PARAMETERS
        check_cases(
            checker, "se_resnet50_extra_parameters", se_resnet50_extra_parameters,
            [(reduction,) for reduction in reductions], measured_se_resnet50_extra_parameters,
            success=lambda case, truth: f"{truth:,} = {100 * truth / resnet50:.1f}% of ResNet-50's {resnet50:,}",
            failure=lambda case, answer, truth: (
                f"{answer:,}, the SE blocks of SE-ResNet-50 with r = {case[0]} have {truth:,}"
            ),
            mistakes=_EXTRA_MISTAKES,
            fix="one SE block per bottleneck (3, 4, 6, 3 per stage), each on C = 4·planes channels with "
            "width C // r: sum se_parameters(4·planes, r) over the 16 blocks.",
            earlier=SE_RESNET50_EXTRA_BUILDS_ON,
        )

    return check_and_report(SE_RESNET50_EXTRA, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 4: the SE bottleneck
# --------------------------------------------------------------------------------------------------

_POSITION_MESSAGES = {
    "post": "your SE block acts after the addition and its ReLU, on the sum (the paper's SE-POST variant), "
    "so it scales the shortcut too. The SE-ResNet module recalibrates the residual branch before the "
    "addition: relu(se(bn3(conv3(…))) + shortcut) (paper Fig. 3; Section 6.5 compares the positions).",
    "after_add": "your SE block acts on the sum F(x) + shortcut, before the final ReLU, so it scales the "
    "shortcut too. Recalibrate the residual branch only, before the addition (paper Fig. 3).",
    "identity": "your SE block acts on the shortcut (the paper's SE-Identity variant). The SE-ResNet module "
    "puts it on the residual branch, after bn3 and before the addition (paper Fig. 3).",
    "pre": "your SE block acts on the block's input, before the first convolution (the paper's SE-PRE "
    "variant). The SE-ResNet module puts it at the end of the residual branch, after bn3 (paper Fig. 3).",
    "missing": "your block never uses its SE module: the output is the plain bottleneck's. Apply self.se to "
    "the residual branch before adding the shortcut.",
    "no_final_relu": "the ReLU after the addition is missing: relu(se(F(x)) + shortcut).",
}

_BOTTLENECK_ORDER = (
    "The block is relu(se(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x))))))))) + shortcut(x)), with shortcut "
    "= downsample(x) when given."
)


def _position_candidates(ref: reference.SEBottleneck, x: Tensor) -> dict[str, Tensor]:
    """Outputs of SE at the paper's other positions, from the reference block's own layers."""
    ref.eval()
    with torch.no_grad():
        residual = resnet_reference.Bottleneck.residual(ref, x)
        shortcut = x if ref.downsample is None else ref.downsample(x)
        candidates = {
            "post": ref.se(F.relu(residual + shortcut)),
            "after_add": F.relu(ref.se(residual + shortcut)),
            "identity": F.relu(residual + ref.se(shortcut)),
            "missing": F.relu(residual + shortcut),
            "no_final_relu": ref.se(residual) + shortcut,
        }
        if x.shape[1] == ref.se.fc2.out_channels:  # SE-PRE fits only where the input has C channels
            candidates["pre"] = F.relu(resnet_reference.Bottleneck.residual(ref, ref.se(x)) + shortcut)
    return candidates


def _plain_bottleneck_parameters(inplanes: int, planes: int, stride: int) -> int:
    with torch.device("meta"):
        needs_projection = stride != 1 or inplanes != planes * 4
        downsample = _projection(inplanes, planes * 4, stride) if needs_projection else None
        return count_parameters(resnet_reference.Bottleneck(inplanes, planes, stride, downsample))


def _projection(in_planes: int, out_planes: int, stride: int) -> nn.Sequential:
    """The option-B shortcut torchvision's ResNet hands to a block whose shape changes."""
    return nn.Sequential(resnet_reference.conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))


def _check_squeeze_width(
    checker: Checker, description: str, block: nn.Module, inplanes: int, planes: int, stride: int,
    reduction: int,
) -> bool:
    """The SE parameters (the block's count minus the plain bottleneck's) reveal the squeeze width used."""
    channels = 4 * planes
    width = max(1, channels // reduction)
    se_part = count_parameters(block) - _plain_bottleneck_parameters(inplanes, planes, stride)
    name = f"squeeze width of {description}"
    if se_part == se_params(channels, width):
        checker.passed(name, f"C/r = {channels} // {reduction} = {width}")
        return True
    if se_part == 0:
        checker.failed(name, "the block has no more parameters than the plain bottleneck: add the SE module, "
                             "self.se = SqueezeExcitation(C, C // reduction) with C = 4·planes.")
        return False
    wrong_widths = {
        max(1, planes // reduction): f"planes / r = {planes} // {reduction}, the inner width",
        max(1, inplanes // reduction): f"inplanes / r = {inplanes} // {reduction}, the block's input",
        channels * reduction: f"C·r = {channels}·{reduction}: r divides",
        reduction: "r itself",
    }
    for wrong, what in wrong_widths.items():
        if wrong != width and se_part == se_params(channels, wrong):
            checker.failed(name, _wrong_width_message(wrong, what, channels, reduction))
            return False
    if se_part == se_params(planes, max(1, planes // reduction)):
        checker.failed(
            name,
            f"your SE block works on planes = {planes} channels; it recalibrates the block's output, "
            f"C = 4·planes = {channels} channels, with width C/r = {width}.",
        )
        return False
    checker.failed(
        name,
        f"the SE part has {se_part:,} parameters, expected {se_params(channels, width):,}: "
        f"SqueezeExcitation({channels}, {channels} // {reduction}).",
    )
    return False


def _check_identity_path(checker: Checker, description: str, block: nn.Module, x: Tensor) -> None:
    """With every weight zero the residual is 0 and each SE gate sigmoid(0) = ½: the block must return x."""
    probe = copy.deepcopy(block)
    zero_every_weight(probe)
    probe.eval()
    with torch.no_grad():
        output = run_forward(checker, description, probe, x.clone())
    name = "the shortcut stays an identity"
    if same_output(output, x):
        checker.passed(name, "with every weight at zero the block returns x")
    elif same_output(output, 0.5 * x):
        checker.failed(
            name,
            "with every weight at zero the block returns x/2: each SE gate is then sigmoid(0) = ½, so your "
            "SE scales the shortcut path (after the addition, or on the shortcut). Put it on the residual "
            "branch before the addition, so that the identity path carries x unchanged.",
        )
    else:
        checker.failed(
            name,
            "with every weight at zero the residual branch is 0, so the block should return x; yours differs "
            f"by up to {max_difference(output, x):.3g}. Add the shortcut to se(F(x)), then apply ReLU.",
        )


def _squeeze_excitation_helper() -> tuple[EarlierAnswer, ...]:
    return (EarlierAnswer("SqueezeExcitation", SQUEEZE_EXCITATION, _squeeze_excitation_is_right),)


#: Exercise 4 asks to use exercise 2's module.
SE_BOTTLENECK_BUILDS_ON = _squeeze_excitation_helper()


def check_se_bottleneck(
    block_class: type,
    *,
    planes: int = 32,
    reduction: int = 16,
    size: int = 6,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 4: ``SEBottleneck(inplanes, planes, stride=1, downsample=None, reduction=16)``.

    Two configurations, both with the paper's r = 16 by default: an identity block (4·planes → planes →
    4·planes) and a downsampling block (2·planes in, stride 2, a projection as ``downsample``), whose
    input, inner and output widths all differ, so a squeeze width from the wrong one shows.
    """

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            given = type(block_class).__name__
            checker.stop("SEBottleneck is a class", f"pass the class itself, got {given}.")
        expansion = getattr(block_class, "expansion", None)
        checker.expect(
            "class attribute expansion",
            expansion == 4,
            success="expansion = 4",
            failure=f"set expansion = 4 (found {expansion!r}): the block outputs 4·planes channels.",
        )
        out_planes = 4 * planes
        configurations = [
            (out_planes, 1, f"SEBottleneck({out_planes}, {planes}, reduction={reduction})"),
            (2 * planes, 2, f"SEBottleneck({2 * planes}, {planes}, stride=2, downsample=projection, "
                            f"reduction={reduction})"),
        ]
        for index, (inplanes, stride, description) in enumerate(configurations):
            downsample = _projection(inplanes, out_planes, stride) if stride != 1 else None
            block = checker.run(
                description, functools.partial(block_class, reduction=reduction), inplanes, planes,
                stride, copy.deepcopy(downsample), answer=block_class, earlier=SE_BOTTLENECK_BUILDS_ON,
            )
            if not isinstance(block, nn.Module):
                checker.stop(f"{description} builds", f"expected an nn.Module, got {type(block).__name__}.")
            width_ok = _check_squeeze_width(checker, description, block, inplanes, planes, stride, reduction)
            x = se_probe_input(inplanes, size, seed=60 + index, images=4)
            block.eval()
            with torch.no_grad():
                output = checker.run(
                f"{description} on an input of shape {shape_text(x.shape)}", block, x.clone(),
                    answer=block_class, earlier=SE_BOTTLENECK_BUILDS_ON,
                    hint="Where the shape changes, add downsample(x), not x; SE keeps the residual's shape.",
                )
            if not isinstance(output, Tensor):
                checker.stop(f"{description} returns a tensor", f"forward returned {type(output).__name__}.")
            out_size = (size - 1) // stride + 1
            if not check_output_shape(
                checker, description, output, (x.shape[0], out_planes, out_size, out_size),
                "conv2 carries the stride; the block outputs 4·planes channels.",
            ):
                continue
            if stride == 1:
                _check_identity_path(checker, description, block, x)
            if not width_ok:
                continue  # the reference's weights would not fit; the width line says what to fix
            ref = reference.SEBottleneck(
                inplanes, planes, stride, copy.deepcopy(downsample), reduction=reduction
            )
            randomize_module(ref, seed=70 + index)
            name = f"output values of {description}"
            problem = transfer_weights(ref, block)
            if problem is not None:
                checker.failed(
                    name,
                    f"cannot give your block the reference's weights: {problem}. Keep the bottleneck's "
                    "layers (conv1 … bn3, downsample) and add one SE module, self.se.",
                )
                continue
            block.eval()
            with torch.no_grad():
                expected = ref.eval()(x.clone())
                output = run_forward(checker, description, block, x.clone())
            if same_output(output, expected):
                checker.passed(name, "equal to the reference's with the same weights: SE before the addition")
                continue
            mistake = matching_candidate(output, _position_candidates(ref, x))
            checker.failed(
                name,
                _POSITION_MESSAGES[mistake]
                if mistake
                else (
                    earlier_answer_cause(block_class, SE_BOTTLENECK_BUILDS_ON)
                    or f"with the reference's weights your outputs differ by up to "
                    f"{max_difference(output, expected):.3g}. {_BOTTLENECK_ORDER}"
                ),
            )
        check_gradients(checker, description, block, x)

    return check_and_report(SE_BOTTLENECK, body, part=part)


__all__ = [
    "CHAPTER",
    "SE_SPATIAL_GATE",
    "SOFTMAX_INSTEAD_OF_SIGMOID",
    "check_se_bottleneck",
    "check_se_parameters",
    "check_se_resnet50_extra_parameters",
    "check_squeeze_excitation",
    "summary",
]
