"""Checks for the exercises of chapter 05, MobileNet v1 (Howard et al., 2017, arXiv:1704.04861).

The references are :class:`cnncourse.layers.DepthwiseSeparableConv` (Fig. 3, right: 3×3 depthwise conv → BN
→ ReLU → 1×1 pointwise conv → BN → ReLU, the stride on the depthwise conv, no biases),
:func:`cnncourse.formulas.mobilenet.depthwise_separable_params` / ``_macs`` (Section 3.1) and
:func:`cnncourse.models.mobilenet.mobilenet_v1_cost` (Table 1 counted as the paper counts it: convolution and
fully connected weights, no BatchNorm, no biases; it reproduces Tables 6 and 7).

The checks test behaviour, and a ✗ names the classic mistake it recognises:

* **parameters confused with multiply-adds**: the two numbers swapped, parameters multiplied by the map size
  D_F², multiply-adds without it;
* a **"depthwise" convolution with groups=1** (every output channel reads every input channel, D_K²·M·M
  weights), recognised from the counts and, for the modules, by changing one input channel;
* the block in **Xception's form**: the pointwise convolution first (the "extreme" Inception module), or no
  BatchNorm/ReLU between the depthwise and the pointwise convolution (Chollet, 2017, arXiv:1610.02357,
  Sections 1.2 and 4.7) — MobileNet v1 filters first and puts BN and ReLU after both (Fig. 3);
* the **stride on the pointwise** instead of the depthwise convolution (Table 1, "Conv dw / s2");
* **α applied to the wrong layers** — to the image's channels or to the classifier's outputs; **ρ applied to
  the channel count**, or the parameters scaled by ρ² (the resolution multiplier changes no parameter);
  strides ignored; the α² rule used instead of counting.

The exercises (notebook ``solutions/05_mobilenet_v1.ipynb``):

1. ``separable_cost`` — parameters and multiply-adds of a depthwise-separable convolution, by formula;
2. ``depthwise_conv`` — a depthwise convolution (``groups`` = channels);
3. ``DepthwiseSeparable`` — MobileNet v1's block as a module;
4. ``mobilenet_v1_cost`` — α MobileNet-ρ counted from Table 1 (Tables 6 and 7).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from cnncourse.check import blocks
from cnncourse.check.core import Chapter, Checker, EarlierAnswer, Exercise, ExerciseResult, check_and_report
from cnncourse.check.probes import (
    count_parameters,
    max_difference,
    randomize_module,
    seeded_input,
    trace_torch_calls,
    transfer_weights,
)
from cnncourse.check.steps import build, check_cases, check_gradients, check_output_shape, run_forward
from cnncourse.formulas.mobilenet import depthwise_separable_macs, depthwise_separable_params
from cnncourse.layers import DepthwiseSeparableConv as ReferenceBlock
from cnncourse.layers import make_divisible
from cnncourse.models.mobilenet import MOBILENET_V1_STEM, MOBILENET_V1_TABLE1, mobilenet_v1_cost

CHAPTER_NAME = "05_mobilenet_v1"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


SEPARABLE_COST = _exercise(
    1, "mobilenet_v1_separable_cost", "深さ方向分離可能畳み込みのコスト", "Cost of a depthwise-separable convolution", 1
)
DEPTHWISE_CONV = _exercise(2, "mobilenet_v1_depthwise_conv", "深さ方向畳み込み", "Depthwise convolution", 1)
SEPARABLE_BLOCK = _exercise(
    3, "mobilenet_v1_separable_block", "MobileNet v1 のブロック", "MobileNet v1's block", 3
)
MULTIPLIERS = _exercise(
    4, "mobilenet_v1_multipliers", "幅乗数 α と解像度乗数 ρ", "Width multiplier α and resolution multiplier ρ", 3
)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第5章 MobileNet v1",
    "Chapter 05 MobileNet v1",
    (SEPARABLE_COST, DEPTHWISE_CONV, SEPARABLE_BLOCK, MULTIPLIERS),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


#: The mistakes this chapter names, as the ✗ lines say them.
PARAMS_AND_MACS_SWAPPED = (
    "you returned (multiply-adds, parameters): the first number must be the parameters (weights stored "
    "once), the second the multiply-adds (arithmetic spent on every image)."
)
PARAMS_TIMES_MAP = (
    "your parameters grow with the map: parameters are the weights, stored once and shared by every "
    "position, so they do not depend on D_F. Only the multiply-adds are spent at each of the D_F² output "
    "positions."
)
MACS_WITHOUT_MAP = (
    "your multiply-adds equal the parameter count: every weight is used once at each of the D_F² output "
    "positions, so the multiply-adds are the weights times D_F² (MobileNet v1 Eq. 5)."
)
GROUPS_1_COUNT = (
    "your depthwise part counts D_K²·M·M: that is a D_K×D_K convolution with groups=1, which mixes every "
    "channel into every other. A depthwise convolution has one D_K×D_K filter per input channel: D_K²·M "
    "weights (Section 3.1)."
)
POINTWISE_FIRST = (
    "your block runs the 1×1 convolution first and the 3×3 after it — the order of the 'extreme' Inception "
    "module that Xception starts from (Chollet, 2017, Section 1.2). MobileNet v1's block filters each "
    "channel first (3×3 depthwise) and mixes the channels second (1×1 pointwise), Fig. 3."
)
NO_NONLINEARITY_BETWEEN = (
    "there is no {missing} between the depthwise and the pointwise convolution: that is the separable "
    "convolution of Xception, whose experiment found no intermediate activation best there (Chollet, 2017, "
    "Section 4.7). MobileNet v1 puts BatchNorm and ReLU after both convolutions (Fig. 3)."
)
STRIDE_ON_POINTWISE = (
    "the stride sits on the 1×1 pointwise convolution. MobileNet v1 downsamples in the depthwise 3×3 "
    "(Table 1, 'Conv dw / s2'); a strided 1×1 convolution simply skips three positions in four without "
    "looking at them."
)
ALPHA_ON_IMAGE = (
    "you applied α to the image's channels too. The width multiplier thins the network's layers (M → αM, "
    "N → αN, Section 3.3); the input image keeps its 3 colour channels, so the stem is a 3×3 conv from 3 to "
    "width(32, α) channels."
)
ALPHA_ON_CLASSES = (
    "you applied α to the classifier's outputs. α thins the layers, not the task: the fully connected layer "
    "goes from width(1024, α) features to all num_classes classes."
)
RHO_ON_CHANNELS = (
    "you applied ρ to the channels. The resolution multiplier shrinks the input image and with it every "
    "feature map (D_F → ρD_F, Section 3.4); it changes no channel count and no parameter."
)
PARAMS_TIMES_RHO2 = (
    "your parameters change with the resolution. ρ shrinks the feature maps, and the weights do not depend "
    "on the map size: 1.0 MobileNet-128 has the same 4.2M weights as 1.0 MobileNet-224 (Table 7)."
)
NO_STRIDES = (
    "your maps never shrink: each stride-2 layer halves the map (ceil(size / 2) with 'same' padding), and "
    "the multiply-adds of every later layer are counted on the smaller map."
)
ALPHA_SQUARED_RULE = (
    "you scaled the α = 1 cost by α² (or ρ²). That rule is an approximation (Section 3.3: 'roughly α²'); the "
    "depthwise and stem terms are linear in α and the classifier's inputs only linear: count layer by layer."
)


def _pair(checker: Checker, name: str, value: object) -> tuple[Any, Any]:
    """The student's (parameters, multiply-adds): a pair of whole numbers, or a ✗ that says why not."""
    if value is None:
        checker.stop(name, "your function returned None: did you forget the 'return' statement?")
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        checker.stop(
            name, f"return a pair (parameters, multiply_adds), got {type(value).__name__} {value!r}."
        )
    numbers_only = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value)
    if not numbers_only:
        checker.stop(name, f"both numbers must be counts, got {value!r}.")
    return _as_counts(value)  # type: ignore[arg-type]


def _as_counts(pair: tuple[Any, Any] | list[Any]) -> tuple[Any, Any]:
    """Whole numbers as ints; other numbers rounded to 3 decimals, so a formula with a mistake built in
    matches the student's value however the multiplications were ordered."""
    counts = (int(v) if float(v).is_integer() else round(float(v), 3) for v in pair)
    return tuple(counts)  # type: ignore[return-value]


def _count_text(pair: tuple[Any, Any]) -> str:
    return ", ".join(f"{v:,}" if isinstance(v, int) else f"{v:,.2f}" for v in pair)


# --------------------------------------------------------------------------------------------------
# Exercise 1: parameters and multiply-adds of a depthwise-separable convolution
# --------------------------------------------------------------------------------------------------

#: (M, N, D_K, D_F): the paper's Table 3 layer, MobileNet v1's first block at 224×224, a middle layer, the
#: last block, and a 5×5 kernel (the formulas hold for any D_K).
SEPARABLE_CASES: tuple[tuple[int, int, int, int], ...] = (
    (512, 512, 3, 14),
    (32, 64, 3, 112),
    (128, 256, 3, 28),
    (1024, 1024, 3, 7),
    (24, 40, 5, 10),
)


def separable_truth(m: int, n: int, k: int, size: int) -> tuple[int, int]:
    """(parameters, multiply-adds) of a depthwise-separable convolution, convolution weights only."""
    return depthwise_separable_params(m, n, k, norm=False), depthwise_separable_macs(m, n, size, size, k)


def _weights(m: int, n: int, k: int) -> int:
    return k * k * m + m * n


_SEPARABLE_MISTAKES: dict[str, Callable[..., object]] = {
    PARAMS_AND_MACS_SWAPPED: lambda m, n, k, s: (_weights(m, n, k) * s * s, _weights(m, n, k)),
    PARAMS_TIMES_MAP: lambda m, n, k, s: (_weights(m, n, k) * s * s, _weights(m, n, k) * s * s),
    MACS_WITHOUT_MAP: lambda m, n, k, s: (_weights(m, n, k), _weights(m, n, k)),
    GROUPS_1_COUNT: lambda m, n, k, s: (k * k * m * m + m * n, (k * k * m * m + m * n) * s * s),
    "that is the cost of the standard D_K×D_K convolution (D_K²·M·N); the depthwise-separable one is a "
    "depthwise D_K×D_K (D_K²·M) plus a pointwise 1×1 (M·N).": (
        lambda m, n, k, s: (k * k * m * n, k * k * m * n * s * s)
    ),
    "only the pointwise 1×1 convolution is counted: add the depthwise D_K×D_K, D_K²·M weights.": (
        lambda m, n, k, s: (m * n, m * n * s * s)
    ),
    "the depthwise convolution has one filter per *input* channel: D_K²·M, not D_K²·N.": (
        lambda m, n, k, s: (k * k * n + m * n, (k * k * n + m * n) * s * s)
    ),
    "you added the two BatchNorms (2M + 2N); count the convolution weights only, as the paper does.": (
        lambda m, n, k, s: (_weights(m, n, k) + 2 * m + 2 * n, _weights(m, n, k) * s * s)
    ),
}


def _separable_is_right(function: Callable[..., object]) -> bool:
    return all(tuple(function(*case)) == separable_truth(*case) for case in SEPARABLE_CASES[:2])


def check_separable_cost(
    separable_cost: Callable[[int, int, int, int], object],
    cases: tuple[tuple[int, int, int, int], ...] = SEPARABLE_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 1: ``separable_cost(m, n, kernel, size)`` → (parameters, multiply-adds)."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "separable_cost", separable_cost, cases, separable_truth,
            success=lambda case, truth: f"{truth[0]:,} parameters, {truth[1]:,} multiply-adds",
            failure=lambda case, answer, truth: f"({_count_text(answer)}), expected ({_count_text(truth)})",
            mistakes=_SEPARABLE_MISTAKES,
            fix="parameters D_K²·M + M·N (depthwise, then pointwise); multiply-adds (D_K²·M + M·N)·D_F².",
            read=_pair,
        )

    return check_and_report(SEPARABLE_COST, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 2: a depthwise convolution
# --------------------------------------------------------------------------------------------------


def check_depthwise_conv(
    depthwise_conv: Callable[[int, int], object],
    *,
    channels: int = 8,
    kernel_size: int = 3,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 2: ``depthwise_conv(channels, kernel_size)``: changing one input channel changes only that
    output channel (groups = channels), C·k² weights, the map size kept."""
    return blocks.check_depthwise_conv(
        DEPTHWISE_CONV, depthwise_conv, channels=channels, kernel_size=kernel_size, part=part
    )


# --------------------------------------------------------------------------------------------------
# Exercise 3: MobileNet v1's block
# --------------------------------------------------------------------------------------------------

_NORMS = {"batch_norm"}
_RELUS = {"relu", "relu_"}
_ACTIVATION_NAMES = {"hardtanh": "ReLU6 (hardtanh)", "hardtanh_": "ReLU6 (hardtanh)", "relu6": "ReLU6"}
_OTHER_ACTIVATIONS = {
    "relu6", "hardtanh", "hardtanh_", "gelu", "silu", "sigmoid", "elu", "leaky_relu", "hardswish"
}


_ConvRun = tuple[nn.Conv2d, tuple[int, ...], tuple[int, ...]]


def _convolutions_run(block: nn.Module, x: Tensor) -> list[_ConvRun]:
    """Each ``nn.Conv2d`` the forward pass runs, in order, with its input and output shapes."""
    seen: list[_ConvRun] = []

    def record(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
        seen.append((module, tuple(inputs[0].shape), tuple(output.shape)))  # type: ignore[arg-type]

    hooks = [m.register_forward_hook(record) for m in block.modules() if isinstance(m, nn.Conv2d)]
    try:
        with torch.no_grad():
            block(x)
    finally:
        for hook in hooks:
            hook.remove()
    return seen


def _layer_text(conv: nn.Conv2d) -> str:
    k = conv.kernel_size
    return (f"{k[0]}×{k[1]} conv {conv.in_channels}→{conv.out_channels}, groups={conv.groups}, "
            f"stride={conv.stride[0]}")


def _calls_between_convolutions(block: nn.Module, x: Tensor) -> list[list[str]]:
    """Names of the torch calls after each convolution, up to the next one (or the end)."""
    with torch.no_grad():
        _, calls = trace_torch_calls(lambda: block(x))
    groups: list[list[str]] = []
    for call in calls:
        if call.name in {"conv2d", "_conv_forward"}:
            if call.name == "conv2d" or not groups:
                groups.append([])
        elif groups:
            groups[-1].append(call.name)
    return groups


def _check_structure(checker: Checker, block: nn.Module, in_channels: int, out_channels: int, stride: int,
                     x: Tensor) -> None:
    convs = checker.run("finding the convolutions the block runs", _convolutions_run, block, x)
    if len(convs) != 2:
        found = "; ".join(_layer_text(conv) for conv, _, _ in convs) or "none"
        checker.stop(
            "two convolutions: depthwise, then pointwise",
            f"the forward pass ran {len(convs)} nn.Conv2d layer(s) ({found}); MobileNet v1's block is one "
            "3×3 depthwise and one 1×1 pointwise convolution (Fig. 3).",
        )
    (first, first_in, first_out), (second, _, second_out) = convs
    if first.kernel_size == (1, 1) and second.kernel_size == (3, 3):
        checker.stop("depthwise first, pointwise second", POINTWISE_FIRST)
    if first.kernel_size != (3, 3) or second.kernel_size != (1, 1):
        checker.stop(
            "a 3×3 then a 1×1 convolution",
            f"found {_layer_text(first)} then {_layer_text(second)}.",
        )
    if first.groups == 1:
        checker.stop(
            "the 3×3 convolution is depthwise",
            f"{_layer_text(first)}: {first.weight.numel():,} weights instead of {9 * in_channels:,}. "
            + blocks.DEPTHWISE_WITH_GROUPS_1,
        )
    checker.require(
        "the 3×3 convolution is depthwise",
        first.groups == first.in_channels == first.out_channels == in_channels,
        success=f"{_layer_text(first)}: one 3×3 filter per channel",
        failure=f"{_layer_text(first)}: a depthwise convolution keeps the channels ({in_channels} → "
        f"{in_channels}) and has groups = {in_channels}; the 1×1 convolution changes the width.",
    )
    checker.require(
        "the 1×1 convolution is pointwise",
        second.groups == 1 and (second.in_channels, second.out_channels) == (in_channels, out_channels),
        success=f"{_layer_text(second)}: mixes the channels",
        failure=f"{_layer_text(second)}: expected a 1×1 convolution {in_channels} → {out_channels} with "
        "groups=1.",
    )
    if stride != 1:
        if second_out[-1] < first_out[-1]:
            checker.stop("the stride is on the depthwise convolution", STRIDE_ON_POINTWISE)
        checker.require(
            "the stride is on the depthwise convolution",
            first_out[-1] == math.ceil(first_in[-1] / stride),
            success=f"the 3×3 depthwise halves the map, {first_in[-1]} → {first_out[-1]}",
            failure=f"the 3×3 depthwise turned a {first_in[-1]}-pixel map into {first_out[-1]}: use "
            f"stride={stride} and padding=1.",
        )
    groups = checker.run("tracing the forward pass", _calls_between_convolutions, block, x)
    between, after = (groups + [[], []])[:2]
    for where, names in (("between the depthwise and the pointwise convolution", between),
                         ("after the pointwise convolution", after)):
        other = sorted(set(names) & _OTHER_ACTIVATIONS)
        if other:
            checker.failed(
                f"BatchNorm and ReLU {where}",
                f"found {', '.join(_ACTIVATION_NAMES.get(name, name) for name in other)}: MobileNet v1 uses "
                "ReLU after each BatchNorm (Fig. 3); ReLU6 is what MobileNet v2 uses.",
            )
            continue
        kinds = (("BatchNorm", _NORMS), ("ReLU", _RELUS))
        missing = [label for label, wanted in kinds if not set(names) & wanted]
        if not missing:
            checker.passed(f"BatchNorm and ReLU {where}")
        elif where.startswith("between"):
            checker.failed(f"BatchNorm and ReLU {where}",
                           NO_NONLINEARITY_BETWEEN.format(missing=" or ".join(missing)))
        else:
            checker.failed(f"BatchNorm and ReLU {where}",
                           f"no {' or '.join(missing)} after the pointwise convolution: the block ends with "
                           "BN and ReLU (Fig. 3).")


def check_separable_block(
    block_class: type,
    *,
    in_channels: int = 8,
    out_channels: int = 16,
    stride: int = 2,
    size: int = 8,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 3: ``DepthwiseSeparable(in_channels, out_channels, stride)`` against the reference block."""

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            given = type(block_class).__name__
            checker.stop("DepthwiseSeparable is a class", f"pass the class itself, got {given}.")
        description = f"DepthwiseSeparable({in_channels}, {out_channels}, stride={stride})"
        block = build(checker, description, lambda: block_class(in_channels, out_channels, stride)).eval()
        reference = ReferenceBlock(in_channels, out_channels, stride=stride).eval()
        randomize_module(reference, seed=61)
        x = seeded_input((2, in_channels, size, size), seed=62)
        with torch.no_grad():
            output = run_forward(checker, description, block, x.clone())
        expected_shape = (2, out_channels, math.ceil(size / stride), math.ceil(size / stride))
        hint = "the depthwise 3×3 (padding 1) carries the stride, the 1×1 sets the width."
        if not check_output_shape(checker, description, output, expected_shape, hint):
            return
        _check_structure(checker, block, in_channels, out_channels, stride, x)
        found, expected = count_parameters(block), count_parameters(reference)
        bias_count = in_channels + out_channels
        checker.expect(
            f"parameters of {description}",
            found == expected,
            success=f"{expected:,} = 9·M + M·N weights and 2M + 2N BatchNorm parameters",
            failure=f"{found:,}, expected {expected:,}"
            + (": your convolutions have biases. BatchNorm follows each one, and its β already adds a "
               "constant per channel: use bias=False." if found == expected + bias_count else "."),
        )
        problem = transfer_weights(reference, block)
        if problem is not None:
            checker.failed("same output as the reference with the same weights", problem)
        else:
            with torch.no_grad():
                difference = max_difference(block(x.clone()), reference(x.clone()))
            checker.expect(
                "same output as the reference with the same weights",
                difference < 1e-5,
                success="equal to cnncourse.layers.DepthwiseSeparableConv",
                failure=f"outputs differ by up to {difference:.3g}: depthwise → BN → ReLU → pointwise → BN "
                "→ ReLU.",
            )
        check_gradients(checker, description, block, x)

    return check_and_report(SEPARABLE_BLOCK, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 4: width multiplier α and resolution multiplier ρ
# --------------------------------------------------------------------------------------------------

#: (α, resolution, classes): Table 6's four widths, Table 7's four resolutions, two mixed points and a
#: 10-class classifier.
MULTIPLIER_CASES: tuple[tuple[float, int, int], ...] = (
    (1.0, 224, 1000),
    (0.75, 224, 1000),
    (0.5, 224, 1000),
    (0.25, 224, 1000),
    (1.0, 192, 1000),
    (1.0, 160, 1000),
    (1.0, 128, 1000),
    (0.5, 160, 1000),
    (0.75, 128, 10),
)


def multiplier_truth(alpha: float, resolution: int, num_classes: int) -> tuple[int, int]:
    cost = mobilenet_v1_cost(alpha, resolution, num_classes)
    return cost.params, cost.mult_adds


def _width(channels: float, alpha: float) -> int:
    return make_divisible(channels * alpha, 8)


def _variant(
    alpha: float,
    resolution: int,
    num_classes: int,
    *,
    image_channels: float = 3,
    classes: float | None = None,
    channel_scale: float = 1.0,
    size_from: int | None = None,
    strides: bool = True,
    params_scale: float = 1.0,
) -> tuple[Any, Any]:
    """Table 1 counted with one mistake built in (the keywords); the defaults give the right count."""
    stem_channels, stem_stride = MOBILENET_V1_STEM
    size = size_from if size_from is not None else resolution
    size = math.ceil(size / stem_stride) if strides else size
    channels = _width(stem_channels, alpha * channel_scale)
    params = 3 * 3 * image_channels * channels
    macs = params * size * size
    for out, stride in MOBILENET_V1_TABLE1:
        size = math.ceil(size / stride) if strides else size
        out_channels = _width(out, alpha * channel_scale)
        weights = 3 * 3 * channels + channels * out_channels
        params, macs = params + weights, macs + weights * size * size
        channels = out_channels
    fc = channels * (num_classes if classes is None else classes)
    return params * params_scale + fc * params_scale, macs + fc


def _rho(resolution: int) -> float:
    return resolution / 224


_MULTIPLIER_MISTAKES: dict[str, Callable[..., object]] = {
    PARAMS_AND_MACS_SWAPPED: lambda a, r, c: tuple(reversed(multiplier_truth(a, r, c))),
    ALPHA_ON_IMAGE: lambda a, r, c: _as_counts(_variant(a, r, c, image_channels=3 * a)),
    ALPHA_ON_IMAGE + " (Rounding 3·α up to a multiple of 8 does not make it right.)": (
        lambda a, r, c: _as_counts(_variant(a, r, c, image_channels=_width(3, a)))
    ),
    ALPHA_ON_CLASSES: lambda a, r, c: _as_counts(_variant(a, r, c, classes=c * a)),
    ALPHA_ON_CLASSES + " (Rounding α·num_classes does not make it right.)": (
        lambda a, r, c: _as_counts(_variant(a, r, c, classes=_width(c, a)))
    ),
    RHO_ON_CHANNELS: lambda a, r, c: _as_counts(_variant(a, r, c, channel_scale=_rho(r), size_from=224)),
    RHO_ON_CHANNELS + " (You shrank the maps as well: ρ does only that.)": (
        lambda a, r, c: _as_counts(_variant(a, r, c, channel_scale=_rho(r)))
    ),
    PARAMS_TIMES_RHO2: lambda a, r, c: _as_counts(_variant(a, r, c, params_scale=_rho(r) ** 2)),
    NO_STRIDES: lambda a, r, c: _as_counts(_variant(a, r, c, strides=False)),
    ALPHA_SQUARED_RULE: lambda a, r, c: _as_counts(
        tuple(v * a * a * _rho(r) ** 2 for v in multiplier_truth(1.0, 224, c))
    ),
    ALPHA_SQUARED_RULE + " (Parameters: α² only.)": lambda a, r, c: _as_counts(
        (multiplier_truth(1.0, 224, c)[0] * a * a, multiplier_truth(1.0, 224, c)[1] * a * a * _rho(r) ** 2)
    ),
}


#: Exercise 4 may use exercise 1's function for each block.
MULTIPLIERS_BUILD_ON = (EarlierAnswer("separable_cost", SEPARABLE_COST, _separable_is_right),)


def check_multipliers(
    mobilenet_cost: Callable[[float, int, int], object],
    cases: tuple[tuple[float, int, int], ...] = MULTIPLIER_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 4: ``mobilenet_v1_cost(alpha, resolution, num_classes)`` → (weights, multiply-adds)."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "mobilenet_v1_cost", mobilenet_cost, cases, multiplier_truth,
            success=lambda case, truth: f"{truth[0]:,} weights, {truth[1]:,} multiply-adds "
            f"(≈ {truth[0] / 1e6:.1f}M, {truth[1] / 1e6:.0f}M)",
            failure=lambda case, answer, truth: f"({_count_text(answer)}), expected ({_count_text(truth)})",
            mistakes=_MULTIPLIER_MISTAKES,
            fix="stem: 3·3·3·width(32, α) weights on the map after its stride; each Table 1 block: "
            "3·3·M + M·N weights with M, N = width(·, α), multiply-adds = weights × D_F² on the map after "
            "the block's stride (ceil(size / stride)); classifier: width(1024, α)·num_classes, once per "
            "image.",
            earlier=MULTIPLIERS_BUILD_ON,
            read=_pair,
        )

    return check_and_report(MULTIPLIERS, body, part=part)


__all__ = [
    "CHAPTER",
    "check_depthwise_conv",
    "check_multipliers",
    "check_separable_block",
    "check_separable_cost",
    "multiplier_truth",
    "separable_truth",
    "summary",
]
