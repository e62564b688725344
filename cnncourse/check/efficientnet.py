"""Checks for the exercises of chapter 09, EfficientNet (Tan & Le, 2019, arXiv:1905.11946).

The references are the paper's compound scaling rule (Section 3.3, eq. 3: depth d = α^φ, width w = β^φ,
resolution r = γ^φ with α = 1.2, β = 1.1, γ = 1.15 from Section 4, the input side 224·r rounded to a pixel),
the cost factor it implies ((α·β²·γ²)^φ: a convolution's cost is linear in depth and quadratic in width and
resolution), the rounding of :mod:`cnncourse.models.efficientnet` (``scaled_width``: ``make_divisible(c·w, 8)``;
``scaled_depth``: ``ceil(L·d)``, as the authors' code and torchvision do) and
:class:`cnncourse.layers.mbconv.MBConv` with EfficientNet's settings (SE on the expanded channels with a
squeeze of a quarter of the block's *input*, swish everywhere, a sigmoid gate, a linear projection, and
stochastic depth on the residual branch in training only, kept branches scaled by 1/(1 − p)).

The checks test behaviour, and a ✗ names the classic mistake it recognises:

* in the scaling rule: **α and β swapped** (1.2 to width, 1.1 to depth, as a common study note has it), the
  coefficients multiplied by φ instead of raised to it, the resolution returned as the multiplier γ^φ instead
  of pixels, not rounded, or one shared factor 2^(φ/3) for all three;
* in the cost factor: **width squared forgotten**, resolution squared forgotten, nothing squared, depth
  squared too, the exponent φ left out, and 2^φ itself instead of the exact (α·β²·γ²)^φ;
* in the rounding: **rounding down** to a multiple of 8 instead of ``make_divisible``, the nearest multiple
  without the 10% rule, no rounding, and the layers rounded to the nearest or down instead of up;
* in the block: the SE squeeze taken from the expanded channels (MobileNet v3's rule), ReLU for swish, a
  hard-sigmoid gate, a missing shortcut, an activation after the projection, **stochastic depth active at
  evaluation**, stochastic depth dropping the shortcut too, kept branches not scaled by 1/(1 − p), and **p
  used as the survival probability** (branches kept with probability p instead of dropped with it; Section 5.2
  speaks of a survival probability of 0.8, which is a drop probability of 0.2).

The exercises (notebook ``solutions/09_efficientnet.ipynb``):

1. ``compound_scaling`` — φ → depth, width, resolution;
2. ``cost_factor`` — how much the multiply-adds grow;
3. ``round_filters`` and ``round_repeats`` — EfficientNet's rounding;
4. ``MBConvBlock`` — the block with SE and stochastic depth.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.check.core import Chapter, Checker, Exercise, ExerciseResult, check_and_report
from cnncourse.check.probes import (
    count_parameters,
    max_difference,
    randomize_module,
    same_output,
    seeded_input,
    shape_text,
    transfer_weights,
)
from cnncourse.check.steps import check_cases, check_gradients, check_output_shape, run_forward
from cnncourse.layers import make_divisible
from cnncourse.layers.mbconv import MBConv
from cnncourse.models.efficientnet import ALPHA_DEPTH, B0_RESOLUTION, BETA_WIDTH, GAMMA_RESOLUTION

CHAPTER_NAME = "09_efficientnet"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


COMPOUND = _exercise(1, "efficientnet_compound_scaling", "複合スケーリング", "Compound scaling", 2)
COST = _exercise(2, "efficientnet_cost_factor", "計算量の増え方", "How the cost grows", 1)
ROUNDING = _exercise(3, "efficientnet_rounding", "幅と深さの丸め", "Rounding widths and depths", 2)
BLOCK = _exercise(4, "efficientnet_mbconv", "SE と確率的深さつき MBConv", "MBConv with SE and stochastic depth", 3)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第9章 EfficientNet",
    "Chapter 09 EfficientNet",
    (COMPOUND, COST, ROUNDING, BLOCK),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)


def _number(checker: Checker, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not (
            isinstance(value, Tensor) and value.numel() == 1):
        checker.stop(name, f"expected a number, got {type(value).__name__} {value!r}.")
    return float(value)


# --------------------------------------------------------------------------------------------------
# Exercise 1: compound scaling
# --------------------------------------------------------------------------------------------------

COMPOUND_CASES: tuple[float, ...] = (0, 1, 2, 3.5, 7)


def reference_compound_scaling(phi: float) -> tuple[float, float, int]:
    """(depth multiplier α^φ, width multiplier β^φ, resolution round(224·γ^φ))."""
    return ALPHA_DEPTH**phi, BETA_WIDTH**phi, round(B0_RESOLUTION * GAMMA_RESOLUTION**phi)


COMPOUND_MISTAKES: dict[str, Callable[[float], tuple[float, float, float]]] = {
    "α and β are swapped: you gave 1.2 to width and 1.1 to depth. α = 1.2 is the depth coefficient, β = 1.1 "
    "the width one (Section 4, step 1). A common study note pairs α, β, γ with width, depth, resolution — and "
    "α·β²·γ² stays about 2 either way, so the constraint does not reveal the swap. (Or you returned (width, "
    "depth, resolution): the exercise asks for (depth, width, resolution).)": (
        lambda p: (BETA_WIDTH**p, ALPHA_DEPTH**p, round(B0_RESOLUTION * GAMMA_RESOLUTION**p))
    ),
    "you multiplied by φ (α·φ) instead of raising to the power φ (α^φ); at φ = 0 that makes the network "
    "vanish instead of giving B0.": lambda p: (ALPHA_DEPTH * p, BETA_WIDTH * p, round(B0_RESOLUTION * GAMMA_RESOLUTION * p)),
    "the resolution is the multiplier γ^φ; the exercise asks for the input side in pixels, round(224·γ^φ).": (
        lambda p: (ALPHA_DEPTH**p, BETA_WIDTH**p, GAMMA_RESOLUTION**p)
    ),
    "the resolution is not rounded: an image has a whole number of pixels, round(224·γ^φ).": (
        lambda p: (ALPHA_DEPTH**p, BETA_WIDTH**p, B0_RESOLUTION * GAMMA_RESOLUTION**p)
    ),
    "one shared factor 2^(φ/3) for all three is not the rule: each dimension has its own constant, and what "
    "they share is the exponent φ.": lambda p: (2 ** (p / 3), 2 ** (p / 3), round(B0_RESOLUTION * 2 ** (p / 3))),
}


def _read_triple(checker: Checker, name: str, value: object) -> tuple[float, float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        checker.stop(name, f"expected a tuple (depth, width, resolution), got {value!r}.")
    return tuple(_number(checker, name, v) for v in value)  # type: ignore[return-value]


def check_compound_scaling(
    compound_scaling: Callable[[float], object], cases: Sequence[float] = COMPOUND_CASES, *, part: str = "main"
) -> ExerciseResult:
    """Exercise 1: ``compound_scaling(phi)`` → (depth multiplier, width multiplier, resolution in pixels)."""

    def body(checker: Checker) -> None:
        answers = {}
        wrong = False
        for phi in cases:
            name = f"compound_scaling({phi:g})"
            answer = _read_triple(checker, name, checker.run(name, compound_scaling, phi))
            answers[phi] = answer
            truth = reference_compound_scaling(phi)
            ok = all(_close(a, t) for a, t in zip(answer, truth))
            wrong |= not ok
            checker.expect(
                name, ok,
                success=f"d = 1.2^{phi:g} = {truth[0]:.3f}, w = 1.1^{phi:g} = {truth[1]:.3f}, r = {truth[2]} px",
                failure=f"({', '.join(f'{a:.4g}' for a in answer)}), expected ({truth[0]:.4g}, {truth[1]:.4g}, "
                f"{truth[2]})",
            )
        if wrong:
            for message, formula in COMPOUND_MISTAKES.items():
                if all(all(_close(a, f) for a, f in zip(answers[phi], formula(phi))) for phi in cases):
                    checker.failed("what to fix", message)
                    return
            checker.failed("what to fix", "depth = 1.2 ** phi, width = 1.1 ** phi, resolution = "
                           "round(224 * 1.15 ** phi), returned in that order (Section 3.3, eq. 3).")

    return check_and_report(COMPOUND, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 2: the cost factor
# --------------------------------------------------------------------------------------------------

COST_CASES: tuple[tuple[float, float, float, float], ...] = (
    (1.2, 1.1, 1.15, 1),
    (1.2, 1.1, 1.15, 3),
    (1.0, 2.0, 1.0, 1),  # width only: ×4
    (1.0, 1.0, 2.0, 2),  # resolution only: ×16
    (1.4, 1.2, 1.3, 1),  # Table 3's MobileNetV1 compound scale
)


def reference_cost_factor(alpha: float, beta: float, gamma: float, phi: float) -> float:
    return (alpha * beta**2 * gamma**2) ** phi


COST_MISTAKES: dict[str, Callable[[float, float, float, float], float]] = {
    "the width is not squared: doubling the width doubles the input and the output channels of every "
    "convolution, so its cost grows with β² (α·β²·γ²).": lambda a, b, g, p: (a * b * g**2) ** p,
    "the resolution is not squared: doubling the side doubles the height and the width of every map, so the "
    "cost grows with γ² (α·β²·γ²).": lambda a, b, g, p: (a * b**2 * g) ** p,
    "nothing is squared: α·β·γ is how much each dimension grows, but the cost is linear only in depth and "
    "quadratic in width and resolution: α·β²·γ².": lambda a, b, g, p: (a * b * g) ** p,
    "depth is squared too: doubling the number of layers doubles the cost, so α enters once: α·β²·γ².": (
        lambda a, b, g, p: (a**2 * b**2 * g**2) ** p
    ),
    "the exponent φ is missing: the factor α·β²·γ² is per unit of φ, the cost grows by (α·β²·γ²)^φ.": (
        lambda a, b, g, p: a * b**2 * g**2
    ),
    "2^φ is the paper's approximation (α·β²·γ² ≈ 2); the exercise asks for the exact (α·β²·γ²)^φ.": (
        lambda a, b, g, p: 2.0**p
    ),
}


def check_cost_factor(
    cost_factor: Callable[[float, float, float, float], object],
    cases: Sequence[tuple[float, float, float, float]] = COST_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 2: ``cost_factor(alpha, beta, gamma, phi)`` → the factor by which multiply-adds grow."""

    def body(checker: Checker) -> None:
        answers, wrong = {}, False
        for case in cases:
            name = f"cost_factor({', '.join(f'{v:g}' for v in case)})"
            answer = _number(checker, name, checker.run(name, cost_factor, *case))
            answers[case] = answer
            truth = reference_cost_factor(*case)
            ok = _close(answer, truth)
            wrong |= not ok
            checker.expect(name, ok, success=f"{truth:.4g}", failure=f"{answer:.4g}, expected {truth:.4g}")
        if wrong:
            for message, formula in COST_MISTAKES.items():
                if all(_close(answers[case], formula(*case)) for case in cases):
                    checker.failed("what to fix", message)
                    return
            checker.failed("what to fix", "(alpha * beta ** 2 * gamma ** 2) ** phi: linear in depth, quadratic "
                           "in width and resolution (Section 3.3).")

    return check_and_report(COST, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 3: rounding
# --------------------------------------------------------------------------------------------------

FILTER_CASES: tuple[tuple[int, float], ...] = ((32, 1.1), (16, 1.4), (40, 1.2), (112, 1.8), (24, 1.1), (320, 2.0),
                                               (80, 1.1), (8, 1.4))
REPEAT_CASES: tuple[tuple[int, float], ...] = ((1, 1.1), (2, 1.2), (3, 1.4), (4, 1.8), (1, 3.1), (3, 2.2))


def reference_round_filters(channels: int, width_mult: float) -> int:
    return make_divisible(channels * width_mult, 8)


def reference_round_repeats(repeats: int, depth_mult: float) -> int:
    return int(math.ceil(repeats * depth_mult))


def _floor8(value: float) -> int:
    return max(8, int(value) // 8 * 8)


def _nearest8(value: float) -> int:
    return max(8, int(value + 4) // 8 * 8)


FILTER_MISTAKES: dict[str, Callable[[int, float], int]] = {
    "you rounded *down* to a multiple of 8; EfficientNet uses make_divisible: the nearest multiple of 8, and "
    "one step up when that would lose more than 10% (e.g. 16·1.4 = 22.4 → 24, not 16).": (
        lambda c, w: _floor8(c * w)
    ),
    "the nearest multiple of 8 is right most of the time, but make_divisible goes one step up when rounding "
    "would remove more than 10% of the channels: 8·1.4 = 11.2 rounds to 8, 29% down, so it becomes 16.": (
        lambda c, w: _nearest8(c * w)
    ),
    "the channels are not rounded to a multiple of 8: EfficientNet's code rounds every width with "
    "make_divisible(channels · w, 8).": lambda c, w: int(c * w),
    "the channels are rounded to a whole number but not to a multiple of 8: use make_divisible(channels · w, 8).": (
        lambda c, w: round(c * w)
    ),
}
REPEAT_MISTAKES: dict[str, Callable[[int, float], int]] = {
    "you rounded the number of layers down (int); EfficientNet rounds it *up*: ceil(layers · d), so a stage "
    "never loses a layer and a single-layer stage gets two as soon as d > 1.": lambda n, d: int(n * d),
    "you rounded the number of layers to the nearest; EfficientNet rounds it *up*: ceil(layers · d).": (
        lambda n, d: round(n * d)
    ),
}


def check_rounding(
    round_filters: Callable[[int, float], object],
    round_repeats: Callable[[int, float], object],
    filter_cases: Sequence[tuple[int, float]] = FILTER_CASES,
    repeat_cases: Sequence[tuple[int, float]] = REPEAT_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 3: ``round_filters(channels, width_mult)`` and ``round_repeats(repeats, depth_mult)``."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "round_filters", round_filters, filter_cases, reference_round_filters,
            success=lambda case, truth: f"{truth} ({case[0]}·{case[1]:g} = {case[0] * case[1]:g})",
            failure=lambda case, answer, truth: f"{answer}, EfficientNet builds {truth}",
            mistakes=FILTER_MISTAKES,
            fix="make_divisible(channels * width_mult, 8): the nearest multiple of 8, at least 8, one step up "
            "when rounding would remove more than 10%.",
        )
        check_cases(
            checker, "round_repeats", round_repeats, repeat_cases, reference_round_repeats,
            success=lambda case, truth: f"{truth} ({case[0]}·{case[1]:g} = {case[0] * case[1]:g}, rounded up)",
            failure=lambda case, answer, truth: f"{answer}, EfficientNet builds {truth}",
            mistakes=REPEAT_MISTAKES,
            fix="math.ceil(repeats * depth_mult), returned as an int.",
        )

    return check_and_report(ROUNDING, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 4: the block
# --------------------------------------------------------------------------------------------------

#: (in, out, expand ratio, kernel, stride, stochastic depth p): a stride-2 block (no shortcut), residual blocks
#: with 3×3 and 5×5 kernels, and the MBConv1 of stage 2 (no expansion convolution).
BLOCK_CASES: tuple[tuple[int, int, int, int, int, float], ...] = (
    (16, 24, 6, 3, 2, 0.0),
    (24, 24, 6, 3, 1, 0.5),
    (40, 40, 6, 5, 1, 0.2),
    (32, 16, 1, 3, 1, 0.0),
)


def reference_block(case: tuple[int, int, int, int, int, float]) -> MBConv:
    c_in, c_out, ratio, kernel, stride, p = case
    return MBConv(c_in, c_out, expanded_channels=make_divisible(c_in * ratio, 8), kernel_size=kernel, stride=stride,
                  activation_layer=nn.SiLU, squeeze_channels=max(1, c_in // 4), se_activation=nn.SiLU,
                  se_gate=nn.Sigmoid, stochastic_depth_prob=p)


def _describe(case: tuple) -> str:
    return f"MBConvBlock({', '.join(map(str, case))})"


def _variant(case: tuple, **changes: object) -> MBConv:
    c_in, c_out, ratio, kernel, stride, p = case
    arguments = dict(expanded_channels=make_divisible(c_in * ratio, 8), kernel_size=kernel, stride=stride,
                     activation_layer=nn.SiLU, squeeze_channels=max(1, c_in // 4), se_activation=nn.SiLU,
                     se_gate=nn.Sigmoid, stochastic_depth_prob=p)
    arguments.update(changes)
    return MBConv(c_in, c_out, **arguments)  # type: ignore[arg-type]


def _parameter_hint(found: int, case: tuple) -> str:
    c_in = case[0]
    expanded = make_divisible(c_in * case[2], 8)
    for squeeze, why in ((make_divisible(expanded / 4, 8), "make_divisible(expanded / 4, 8), MobileNet v3's rule"),
                         (max(1, expanded // 4), "a quarter of the expanded channels"),
                         (max(1, expanded // 16), "SENet's C/16 of the expanded channels")):
        if squeeze != max(1, c_in // 4) and count_parameters(_variant(case, squeeze_channels=squeeze)) == found:
            return (f"your SE squeezes to {squeeze} ({why}); EfficientNet squeezes to a quarter of the block's "
                    f"*input*, {c_in} // 4 = {max(1, c_in // 4)} (torchvision's MBConv, se_ratio 0.25 of the input "
                    "filters).")
    if count_parameters(_variant(case, squeeze_channels=None)) == found:
        return "your block has no SE module: EfficientNet puts one in every block (Section 4)."
    return ("count the layers: [1×1 expansion + BN] when the ratio is > 1, k×k depthwise + BN, SE (squeeze "
            "in // 4), 1×1 projection + BN.")


def _block_candidates(ref: MBConv, x: Tensor, case: tuple) -> dict[str, Tensor]:
    """Outputs of the classic mistakes, computed with the reference's weights (eval mode)."""
    candidates: dict[str, Tensor] = {}
    with torch.no_grad():
        for name, change in (("relu", {"activation_layer": nn.ReLU, "se_activation": nn.ReLU}),
                             ("hardsigmoid", {"se_gate": nn.Hardsigmoid})):
            variant = _variant(case, **change)
            variant.load_state_dict(ref.state_dict())
            candidates[name] = variant.eval()(x)
        branch = ref.block(x)
        if ref.use_res_connect:
            candidates["no_shortcut"] = branch
            candidates["activation_after_projection"] = F.silu(branch) + x
            p = case[5]
            if p > 0:
                candidates["test_time_scaling"] = branch * (1 - p) + x
        else:
            candidates["activation_after_projection"] = F.silu(branch)
    return candidates


BLOCK_MESSAGES = {
    "relu": "your block uses ReLU; EfficientNet uses swish (SiLU, x·σ(x)) after the expansion, after the depthwise "
    "convolution and inside SE (Section 5.2).",
    "hardsigmoid": "your SE gate is the hard-sigmoid (MobileNet v3's); EfficientNet's SE uses the plain sigmoid.",
    "no_shortcut": "the shortcut is missing: add the input when stride is 1 and in_channels == out_channels.",
    "activation_after_projection": "there is an activation after the 1×1 projection; the projection is linear "
    "(MobileNet v2's linear bottleneck).",
    "test_time_scaling": "you scale the branch by (1 − p) at evaluation (the original stochastic-depth paper's "
    "convention). EfficientNet's code (and torchvision's StochasticDepth) scales the *kept* branches by "
    "1/(1 − p) in training instead, so evaluation uses the branch as it is.",
    "survival": "p is the *drop* probability, not the survival probability: your block keeps each branch with "
    "probability p (drops it with 1 − p). Section 5.2's \"survival probability 0.8\" is a drop probability of "
    "0.2; the argument stochastic_depth_prob (torchvision's StochasticDepth(p)) is the chance that a branch is "
    "dropped: keep it with probability 1 − p, e.g. torch.rand(N) >= p or bernoulli_(1 − p).",
}

#: Samples in the stochastic-depth probe (1×4×4 maps' worth of work per channel): enough that the dropped
#: fraction of a correct block lies within 4 standard deviations of p (for p = 0.2: 51 ± 26 of 256), while a
#: block that keeps branches with probability p (drops 205 of 256) lies far outside.
SD_BATCH: int = 256
SD_SIZE: int = 4


def dropped_bounds(p: float, n: int = SD_BATCH) -> tuple[float, float]:
    """The range of dropped samples accepted for drop probability ``p``: n·p ± 4·√(n·p·(1 − p))."""
    sigma = math.sqrt(n * p * (1 - p))
    return n * p - 4 * sigma, n * p + 4 * sigma


def _check_stochastic_depth(checker: Checker, description: str, block: nn.Module, ref: MBConv, x: Tensor,
                            p: float) -> None:
    """In training mode each sample is either the input (branch dropped) or input + branch / (1 − p)."""
    block.train()
    ref.train()
    torch.manual_seed(0)
    with torch.no_grad():
        output = run_forward(checker, f"{description} in training mode", block, x.clone())
        branch = ref.block(x.clone())  # same weights, same batch statistics
    kinds = []
    for i in range(x.shape[0]):
        out_i, x_i, b_i = output[i], x[i], branch[i]
        if torch.allclose(out_i, x_i, atol=1e-5):
            kinds.append("dropped")
        elif torch.allclose(out_i, x_i + b_i / (1 - p), atol=1e-4, rtol=1e-4):
            kinds.append("kept")
        elif torch.allclose(out_i, x_i + b_i, atol=1e-4, rtol=1e-4):
            kinds.append("unscaled")
        elif torch.allclose(out_i, x_i + b_i / p, atol=1e-4, rtol=1e-4):
            kinds.append("by_p")
        elif torch.allclose(out_i, torch.zeros_like(out_i), atol=1e-6):
            kinds.append("all_dropped")
        else:
            kinds.append("other")
    name = f"stochastic depth of {description} in training mode"
    if "all_dropped" in kinds:
        checker.failed(name, "some samples come out as zeros: you dropped the whole output, shortcut included. "
                       "Stochastic depth drops only the residual branch; the input always passes: "
                       "x + drop(branch).")
    elif "unscaled" in kinds and "dropped" in kinds:
        checker.failed(name, f"kept branches are not scaled: with p = {p:g}, a kept branch must be divided by "
                       f"1 − p = {1 - p:g}, so that its expected value is the branch itself and evaluation needs "
                       "no correction.")
    elif kinds.count("dropped") == 0 and "other" not in kinds:
        checker.failed(name, f"no sample's branch was dropped in training among {len(kinds)} samples with p = "
                       f"{p:g}: apply StochasticDepth(p, 'row') (or your own per-sample Bernoulli mask) to the "
                       "branch before adding the input, in training mode.")
    elif "by_p" in kinds and "dropped" in kinds and "other" not in kinds:
        # Say "you keep with probability p" only when the dropped count shows it: a block that drops with p
        # correctly and only divides by the wrong number must not be told its draw is wrong.
        dropped, n = kinds.count("dropped"), len(kinds)
        low, high = dropped_bounds(p, n)
        swapped_low, swapped_high = dropped_bounds(1 - p, n)
        message = (f"kept branches are divided by p = {p:g}; they must be divided by the survival probability "
                   f"1 − p = {1 - p:g}.")
        if swapped_low <= dropped <= swapped_high and not low <= dropped <= high:
            message += (f" And {dropped} of {n} samples dropped their branch, about n·(1 − p) = {n * (1 - p):.0f}: "
                        + BLOCK_MESSAGES["survival"])
        elif low <= dropped <= high:
            message += (f" Your draw is right ({dropped} of {n} samples dropped their branch, about n·p = "
                        f"{n * p:.0f}); only the scale is wrong: divide kept branches by 1 − p, not p.")
        else:
            message += (f" Also, {dropped} of {n} samples dropped their branch; with p = {p:g} about {n * p:.0f} "
                        f"should (accepted {math.ceil(low)}–{math.floor(high)}): drop each sample's branch with "
                        "probability p, one draw per sample.")
        checker.failed(name, message)
    elif "other" in kinds:
        checker.failed(name, "in training mode some samples are neither x (branch dropped) nor x + branch / (1 − p) "
                       "(kept): drop per sample (one draw per sample, not per element or per channel) and scale "
                       "the kept ones by 1/(1 − p).")
    else:
        dropped, n = kinds.count("dropped"), len(kinds)
        low, high = dropped_bounds(p, n)
        swapped_low, swapped_high = dropped_bounds(1 - p, n)
        if low <= dropped <= high:
            checker.passed(name, f"{dropped} of {n} samples dropped their branch (p = {p:g}: expected about "
                           f"{n * p:.0f}, accepted {math.ceil(low)}–{math.floor(high)}), the others kept it scaled by "
                           f"1/(1 − {p:g})")
        elif swapped_low <= dropped <= swapped_high:
            checker.failed(name, f"{dropped} of {n} samples dropped their branch, about n·(1 − p) = "
                           f"{n * (1 - p):.0f} where p = {p:g} should drop about {n * p:.0f}. " + BLOCK_MESSAGES["survival"])
        else:
            checker.failed(name, f"{dropped} of {n} samples dropped their branch; with p = {p:g} about {n * p:.0f} "
                           f"should (accepted {math.ceil(low)}–{math.floor(high)}): drop each sample's branch with "
                           "probability p, one draw per sample.")


def check_mbconv(block_class: type, cases: Sequence[tuple] = BLOCK_CASES, *, size: int = 8,
                 part: str = "main") -> ExerciseResult:
    """Exercise 4: ``MBConvBlock(in, out, expand_ratio, kernel_size, stride, stochastic_depth_prob)``."""

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            checker.stop("MBConvBlock is a class", f"pass the class itself, got {type(block_class).__name__}.")
        last_block, last_x = None, None
        for index, case in enumerate(cases):
            description = _describe(case)
            c_in, c_out, _, _, stride, p = case
            block = checker.run(description, block_class, *case, answer=block_class)
            if not isinstance(block, nn.Module):
                checker.stop(f"{description} builds", f"expected an nn.Module, got {type(block).__name__}.")
            ref = reference_block(case)
            found, expected = count_parameters(block), count_parameters(ref)
            width_ok = checker.expect(
                f"parameters of {description}", found == expected,
                success=f"{expected:,} (SE {ref.expanded_channels} → {max(1, c_in // 4)} → {ref.expanded_channels})",
                failure=f"{found:,}, expected {expected:,}: {_parameter_hint(found, case)}",
            )
            batch = 16 if p > 0 else 2
            x = seeded_input((batch, c_in, size, size), seed=70 + index)
            block.eval()
            with torch.no_grad():
                output = run_forward(checker, description, block, x.clone())
            out_size = (size - 1) // stride + 1
            if not check_output_shape(checker, description, output, (batch, c_out, out_size, out_size),
                                      "The depthwise convolution carries the stride; the projection sets the "
                                      "output channels."):
                continue
            if not width_ok:
                continue
            randomize_module(ref, seed=90 + index)
            problem = transfer_weights(ref, block)
            name = f"output values of {description} in evaluation mode"
            if problem is not None:
                checker.failed(name, f"cannot give your block the reference's weights: {problem}. Create the layers "
                               "in the order they run (expansion, depthwise, SE, projection).")
                continue
            block.eval()
            ref.eval()
            with torch.no_grad():
                expected_out = ref(x.clone())
                torch.manual_seed(1)
                first = run_forward(checker, description, block, x.clone())
                torch.manual_seed(2)
                second = run_forward(checker, description, block, x.clone())
            if same_output(first, expected_out) and same_output(second, expected_out):
                checker.passed(name, "equal to the reference's with the same weights, and the same on every call")
            elif not same_output(first, second) or (ref.use_res_connect and p > 0 and any(
                    torch.allclose(first[i], x[i], atol=1e-5) for i in range(batch))):
                checker.failed(name, "in evaluation mode your block changes from call to call (or passes some "
                               "samples through unchanged): stochastic depth is still active. It must act only in "
                               "training: check self.training (nn.Module sets it with .train() / .eval()), or use "
                               "StochasticDepth, which does.")
                continue
            else:
                candidates = _block_candidates(ref, x.clone(), case)
                mistake = next((key for key, value in candidates.items() if same_output(first, value)), None)
                checker.failed(name, BLOCK_MESSAGES[mistake] if mistake else (
                    f"with the reference's weights your outputs differ by up to {max_difference(first, expected_out):.3g}. "
                    "The block is: [1×1 expansion, BN, swish] → k×k depthwise, BN, swish → SE (pool, 1×1 to "
                    "in // 4, swish, 1×1 back, sigmoid, multiply) → 1×1 projection, BN → + input (stride 1, same "
                    "widths), with stochastic depth on the branch in training."))
                continue
            if ref.use_res_connect and p > 0:
                probe = seeded_input((SD_BATCH, c_in, SD_SIZE, SD_SIZE), seed=170 + index)
                _check_stochastic_depth(checker, description, block, ref, probe, p)
            last_block, last_x = block, x
        if last_block is not None:
            check_gradients(checker, "the last block", last_block, last_x)

    return check_and_report(BLOCK, body, part=part)


__all__ = [
    "BLOCK_CASES",
    "BLOCK_MESSAGES",
    "CHAPTER",
    "SD_BATCH",
    "check_compound_scaling",
    "check_cost_factor",
    "check_mbconv",
    "check_rounding",
    "dropped_bounds",
    "reference_block",
    "reference_compound_scaling",
    "reference_cost_factor",
    "reference_round_filters",
    "reference_round_repeats",
    "shape_text",
    "summary",
]
