"""Checks for the exercises of chapter 07, MobileNet v3 (Howard et al., 2019, arXiv:1905.02244).

The references are PyTorch's ``F.hardsigmoid`` / ``F.hardswish`` (h-sigmoid(x) = ReLU6(x + 3)/6 and
h-swish(x) = x·ReLU6(x + 3)/6, paper Section 5.2), the squeeze width of :class:`cnncourse.models.mobilenet.
MobileNetV3` (``make_divisible(expanded / 4, 8)``: a quarter of the expansion layer, Section 5.3, rounded as
torchvision and TensorFlow do), :class:`cnncourse.layers.mbconv.MBConv` with MobileNet v3's settings (SE after
the depthwise convolution with a ReLU inside and a hard-sigmoid gate, Fig. 4; ReLU or h-swish per block,
Tables 1 and 2; a linear projection), and NetAdapt's selection rule as v3 modified it (Section 4.2: among the
proposals that cut the latency by at least δ, the one that maximises ΔAcc / |ΔLatency|).

The checks test behaviour, and a ✗ names the classic mistake it recognises:

* **h-swish / h-sigmoid with the wrong constants** — divided by 3, the +3 left out, no division, ReLU instead
  of ReLU6 (no upper clip), no clip at all, ``x + 3 / 6`` (precedence), the division by 6 inside the ReLU6,
  Keras's older hard-sigmoid (0.2x + 0.5), the smooth sigmoid or swish, and **h-sigmoid used where h-swish
  belongs** (and the other way round), read from the values on a grid;
* the **SE squeezed from the wrong width** — the block's input instead of the expanded channels, a quarter
  without the rounding, SENet's C/16, rounding down — read from the answers;
* in the block: a **sigmoid gate instead of the hard-sigmoid**, h-swish as the gate, SE before the depthwise
  convolution, the wrong activation (ReLU for h-swish, ReLU6, h-sigmoid), an activation after the
  projection, a missing shortcut — read from outputs with the reference's weights — and SE on the wrong
  channels or of the wrong width, read from the parameter count;
* in NetAdapt's choice: the original rule (least accuracy lost), the largest latency cut, the steepest
  loss, the ratio without the absolute value or turned upside down, and proposals that do not cut δ.

The exercises (notebook ``solutions/07_mobilenet_v3.ipynb``):

1. ``hard_sigmoid`` and ``hard_swish`` — from their formulas;
2. ``se_squeeze_width`` — MobileNet v3's SE width;
3. ``Bneck`` — MobileNet v3's block;
4. ``netadapt_choice`` — which proposal NetAdapt keeps.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from functools import partial

import torch
import torch.nn.functional as F
from torch import Tensor, nn

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
from cnncourse.formulas.mobilenet import mbconv_params
from cnncourse.layers import make_divisible, se_params
from cnncourse.layers.mbconv import MBConv

CHAPTER_NAME = "07_mobilenet_v3"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


HARD_ACTIVATIONS = _exercise(
    1, "mobilenet_v3_hard_activations", "h-sigmoid と h-swish", "h-sigmoid and h-swish", 2
)
SQUEEZE_WIDTH = _exercise(2, "mobilenet_v3_se_squeeze_width", "SE の幅", "The SE squeeze width", 1)
BNECK = _exercise(3, "mobilenet_v3_bneck", "MobileNet v3 のブロック", "MobileNet v3's block", 3)
NETADAPT = _exercise(4, "mobilenet_v3_netadapt_choice", "NetAdapt の選択", "NetAdapt's choice", 2)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第7章 MobileNet v3",
    "Chapter 07 MobileNet v3",
    (HARD_ACTIVATIONS, SQUEEZE_WIDTH, BNECK, NETADAPT),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


# --------------------------------------------------------------------------------------------------
# Exercise 1: h-sigmoid and h-swish
# --------------------------------------------------------------------------------------------------

#: x = −40 … 40 in steps of 0.05, exactly representable at −3, 0 and 3 (the corners); wide enough that a
#: ReLU6 clipping (x + 3)/6 instead of x + 3 shows (it clips only beyond x = 33).
ACTIVATION_GRID: Tensor = torch.arange(-800, 801, dtype=torch.float32) / 20
_CORNERS = [740, 800, 860]  # the indices of x = −3, 0, 3


def _relu6(x: Tensor) -> Tensor:
    return torch.clamp(x, 0.0, 6.0)


#: What a wrong h-sigmoid computes, keyed like the messages below.
HARD_SIGMOID_MISTAKES: dict[str, Callable[[Tensor], Tensor]] = {
    "divided_by_3": lambda x: _relu6(x + 3) / 3,
    "no_plus_3": lambda x: _relu6(x) / 6,
    "not_divided": lambda x: _relu6(x + 3),
    "relu_not_relu6": lambda x: torch.relu(x + 3) / 6,
    "no_clip": lambda x: (x + 3) / 6,
    "precedence": lambda x: _relu6(x + 3 / 6),
    "keras": lambda x: torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
    "smooth": torch.sigmoid,
    "swish_instead": lambda x: x * _relu6(x + 3) / 6,
}

HARD_SIGMOID_MESSAGES = {
    "divided_by_3": "your h-sigmoid is ReLU6(x + 3)/3: it climbs to 2, not 1, and is 1 (not 0.5) at x = 0. "
    "Divide by 6, the top of ReLU6's range, so the gate runs from 0 to 1: ReLU6(x + 3)/6 (Section 5.2).",
    "no_plus_3": "your h-sigmoid is ReLU6(x)/6: it is 0 at x = 0, where the sigmoid and h-sigmoid are 0.5. "
    "Shift by 3 first: ReLU6(x + 3)/6.",
    "not_divided": "your h-sigmoid is ReLU6(x + 3) without the division: it runs from 0 to 6. Divide by 6.",
    "relu_not_relu6": "your h-sigmoid keeps growing beyond x = 3 (above 1): that is ReLU, which has no upper "
    "clip. Use ReLU6(z) = min(max(z, 0), 6): F.relu6 or torch.clamp(z, 0, 6).",
    "no_clip": "your h-sigmoid is the straight line (x + 3)/6 everywhere: it is never clipped to [0, 1]. "
    "Put the ReLU6 around x + 3.",
    "precedence": "your h-sigmoid is ReLU6(x + 0.5): x + 3 / 6 adds 3/6 = 0.5, because / binds before +. "
    "Write F.relu6(x + 3) / 6.",
    "keras": "that is the older hard-sigmoid of Keras and Theano, clip(0.2x + 0.5, 0, 1), with its corners at "
    "±2.5. MobileNet v3's is ReLU6(x + 3)/6: slope 1/6, corners at ±3 (Section 5.2).",
    "smooth": "that is the smooth sigmoid 1/(1 + e^(−x)), the function MobileNet v3 replaces. Write the "
    "piecewise-linear h-sigmoid: ReLU6(x + 3)/6.",
    "swish_instead": "your hard_sigmoid returns x · ReLU6(x + 3)/6, which is h-swish: the gate is ReLU6(x + 3)/6 "
    "alone, without the factor x.",
}

HARD_SWISH_MISTAKES: dict[str, Callable[[Tensor], Tensor]] = {
    "divided_by_3": lambda x: x * _relu6(x + 3) / 3,
    "no_plus_3": lambda x: x * _relu6(x) / 6,
    "not_divided": lambda x: x * _relu6(x + 3),
    "relu_not_relu6": lambda x: x * torch.relu(x + 3) / 6,
    "no_clip": lambda x: x * (x + 3) / 6,
    "precedence": lambda x: x * _relu6(x + 3 / 6),
    "division_inside": lambda x: x * _relu6((x + 3) / 6),
    "sigmoid_instead": lambda x: _relu6(x + 3) / 6,
    "smooth": lambda x: x * torch.sigmoid(x),
    "keras": lambda x: x * torch.clamp(0.2 * x + 0.5, 0.0, 1.0),
}

HARD_SWISH_MESSAGES = {
    "divided_by_3": "your h-swish is x · ReLU6(x + 3)/3: for x ≥ 3 it gives 2x instead of x. Divide by 6: "
    "x · ReLU6(x + 3)/6 (Section 5.2).",
    "no_plus_3": "your h-swish is x · ReLU6(x)/6: it is 0 for every negative x and only x²/6 above. Shift by "
    "3 inside the ReLU6: x · ReLU6(x + 3)/6.",
    "not_divided": "your h-swish is x · ReLU6(x + 3) without the division: six times too large. Divide by 6.",
    "relu_not_relu6": "your h-swish grows like x²/6 beyond x = 3: ReLU has no upper clip. Use ReLU6, so that "
    "h-swish(x) = x for x ≥ 3.",
    "no_clip": "your h-swish is the parabola x(x + 3)/6 everywhere: nothing clips it. Put the ReLU6 around "
    "x + 3.",
    "precedence": "your h-swish is x · ReLU6(x + 0.5): x + 3 / 6 adds 3/6 = 0.5, because / binds before +. "
    "Write x * F.relu6(x + 3) / 6.",
    "division_inside": "the division by 6 is on the wrong term: you clip (x + 3)/6 at 6, so your h-swish "
    "keeps growing like x²/6 up to x = 33. Clip first, then divide: x · ReLU6(x + 3)/6.",
    "sigmoid_instead": "your hard_swish returns ReLU6(x + 3)/6, the h-sigmoid: h-sigmoid is where h-swish "
    "belongs. h-swish multiplies it by x: x · ReLU6(x + 3)/6 (0 for x ≤ −3, x for x ≥ 3).",
    "smooth": "that is the smooth swish x·σ(x), which MobileNet v3 replaces because the sigmoid is expensive "
    "on phones. Replace σ by the hard-sigmoid: x · ReLU6(x + 3)/6.",
    "keras": "your gate is Keras's hard-sigmoid clip(0.2x + 0.5, 0, 1); MobileNet v3's h-swish uses "
    "ReLU6(x + 3)/6: x · ReLU6(x + 3)/6.",
}

_ACTIVATION_TRUTH = {"hard_sigmoid": F.hardsigmoid, "hard_swish": F.hardswish}
_ACTIVATION_FORMULA = {"hard_sigmoid": "ReLU6(x + 3)/6", "hard_swish": "x · ReLU6(x + 3)/6"}


def _check_one_activation(
    checker: Checker,
    name: str,
    function: Callable[[Tensor], object],
    mistakes: dict[str, Callable[[Tensor], Tensor]],
    messages: dict[str, str],
    *,
    other: Callable[[Tensor], object] | None = None,
) -> bool:
    grid = ACTIVATION_GRID.clone()
    output = checker.run(f"{name}(x)", function, grid)
    if not isinstance(output, Tensor):
        checker.stop(f"{name} returns a tensor", f"{name} returned {type(output).__name__}; return a tensor "
                     "computed with torch operations.")
    checker.expect(
        f"{name} leaves x unchanged",
        torch.equal(grid, ACTIVATION_GRID),
        success="x is the same afterwards",
        failure=f"{name} changed its input in place (e.g. x.add_(3) or relu6(..., inplace=True)); compute a "
        "new tensor.",
    )
    if tuple(output.shape) != tuple(grid.shape):
        checker.failed(f"values of {name}", f"shape {shape_text(output.shape)} for an input of shape "
                       f"{shape_text(grid.shape)}: apply the function element by element.")
        return False
    expected = _ACTIVATION_TRUTH[name](grid)
    label = f"values of {name} on x = −40 … 40"
    if same_output(output.float(), expected):
        corners = output[_CORNERS].tolist()
        checker.passed(label, f"equal to torch's F.{name.replace('_', '')}; at x = −3, 0, 3: "
                       + ", ".join(f"{value:g}" for value in corners))
        ok = True
    else:
        candidates = {key: formula(grid) for key, formula in mistakes.items()}
        mistake = matching_candidate(output.float(), candidates)
        if mistake is not None:
            message = messages[mistake]
        else:
            worst = int((output.float() - expected).abs().argmax())
            message = (f"at x = {float(grid[worst]):g} yours gives {float(output[worst]):.4g}, "
                       f"{_ACTIVATION_FORMULA[name]} is {float(expected[worst]):.4g}.")
        if other is not None and mistake is None:
            try:
                built_on = other(ACTIVATION_GRID.clone())
                if isinstance(built_on, Tensor) and same_output(output.float(), (grid * built_on).float()) \
                        and not same_output(built_on.float(), F.hardsigmoid(grid)):
                    message = ("your hard_swish is x · hard_sigmoid(x), which is right, but your hard_sigmoid is "
                               "wrong: fix it first (see its line above).")
            except Exception:  # noqa: BLE001 — a crashing helper has its own ✗ line already
                pass
        checker.failed(label, message)
        ok = False
    probe = torch.tensor([-4.0, -1.0, 0.5, 4.0], requires_grad=True)
    result = checker.run(f"{name} on a tensor that requires a gradient", function, probe)
    reached = False
    if isinstance(result, Tensor) and result.requires_grad:
        result.sum().backward()
        reached = probe.grad is not None
    checker.expect(
        f"{name} is differentiable",
        reached,
        success="gradients flow through it",
        failure="no gradient flows back: use torch operations (F.relu6, torch.clamp), not .detach(), .item(), "
        "NumPy or math.",
    )
    return ok


def check_hard_activations(
    hard_sigmoid: Callable[[Tensor], object], hard_swish: Callable[[Tensor], object], *, part: str = "main"
) -> ExerciseResult:
    """Exercise 1: ``hard_sigmoid(x)`` and ``hard_swish(x)`` against PyTorch's on a grid of 1,601 points."""

    def body(checker: Checker) -> None:
        _check_one_activation(checker, "hard_sigmoid", hard_sigmoid, HARD_SIGMOID_MISTAKES, HARD_SIGMOID_MESSAGES)
        _check_one_activation(checker, "hard_swish", hard_swish, HARD_SWISH_MISTAKES, HARD_SWISH_MESSAGES,
                              other=hard_sigmoid)

    return check_and_report(HARD_ACTIVATIONS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 2: the SE squeeze width
# --------------------------------------------------------------------------------------------------

#: (block input channels, expanded channels) of SE blocks of MobileNetV3-Large (Table 1) and -Small (Table 2).
SQUEEZE_WIDTH_CASES: tuple[tuple[int, int], ...] = (
    (24, 72),
    (40, 120),
    (80, 480),
    (112, 672),
    (160, 960),
    (16, 16),
    (48, 144),
    (96, 576),
)


def reference_squeeze_width(in_channels: int, expanded_channels: int) -> int:
    """The width :class:`~cnncourse.models.mobilenet.MobileNetV3` gives its SE modules."""
    return make_divisible(expanded_channels // 4, 8)


def _floor_to_8(value: float) -> int:
    return max(8, int(value) // 8 * 8)


SQUEEZE_WIDTH_MISTAKES: dict[str, Callable[[int, int], int]] = {
    "you squeezed the block's input: make_divisible(in_channels / 4, 8). The SE module sits after the depthwise "
    "convolution, on the expanded channels, so its width is a quarter of those: make_divisible(expanded / 4, 8) "
    "(Section 5.3; e.g. input 24, expansion 72 → 24, not 8).": lambda c, e: make_divisible(c / 4, 8),
    "you took the block's input / 4 without rounding; the width comes from the expanded channels and is rounded "
    "to a multiple of 8: make_divisible(expanded / 4, 8).": lambda c, e: c // 4,
    "a quarter of the expanded channels is right, but it is not rounded: MobileNet v3 rounds it with "
    "make_divisible(expanded / 4, 8), to the nearest multiple of 8 and never more than 10% down (72 / 4 = 18 → "
    "24).": lambda c, e: e // 4,
    "you rounded a quarter of the expanded channels *down* to a multiple of 8 (18 → 16); make_divisible rounds "
    "to the nearest and goes one step up when that would lose more than 10% (18 → 24).": (
        lambda c, e: _floor_to_8(e / 4)
    ),
    "that is SENet's rule, C/r with r = 16 (chapter 03). MobileNet v3 fixes the squeeze to a quarter of the "
    "expansion layer (Section 5.3): make_divisible(expanded / 4, 8).": lambda c, e: make_divisible(e / 16, 8),
    "that is SENet's C/16 without rounding (chapter 03); MobileNet v3 uses make_divisible(expanded / 4, 8).": (
        lambda c, e: max(1, e // 16)
    ),
}


def check_se_squeeze_width(
    se_squeeze_width: Callable[[int, int], object],
    cases: tuple[tuple[int, int], ...] = SQUEEZE_WIDTH_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 2: ``se_squeeze_width(in_channels, expanded_channels)`` against the model's SE widths."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "se_squeeze_width", se_squeeze_width, cases, reference_squeeze_width,
            success=lambda case, truth: f"{truth} (a quarter of {case[1]} is {case[1] / 4:g}, rounded)",
            failure=lambda case, answer, truth: f"{answer}, MobileNet v3 uses {truth}",
            mistakes=SQUEEZE_WIDTH_MISTAKES,
            fix="make_divisible(expanded_channels / 4, 8): a quarter of the expanded channels, rounded to a "
            "multiple of 8 (at least 8, never more than 10% below the quarter).",
        )

    return check_and_report(SQUEEZE_WIDTH, body, part=part)


def _squeeze_width_is_right(function: Callable[..., object]) -> bool:
    return all(function(c, e) == reference_squeeze_width(c, e) for c, e in SQUEEZE_WIDTH_CASES)


#: Exercise 3 may use exercise 2's function.
BNECK_BUILDS_ON = (EarlierAnswer("se_squeeze_width", SQUEEZE_WIDTH, _squeeze_width_is_right),)


# --------------------------------------------------------------------------------------------------
# Exercise 3: the block
# --------------------------------------------------------------------------------------------------

_ACTIVATION_LAYERS: dict[str, type[nn.Module]] = {"RE": nn.ReLU, "HS": nn.Hardswish}
_ACTIVATION_FUNCTIONS: dict[str, Callable[[Tensor], Tensor]] = {"RE": F.relu, "HS": F.hardswish}

#: (in, expanded, out, kernel, stride, SE, NL): rows of Tables 1 and 2, covering stride 2 without a shortcut,
#: stride 1 with one, a block without SE and one without the expansion convolution.
BNECK_CASES: tuple[tuple[int, int, int, int, int, bool, str], ...] = (
    (24, 72, 40, 5, 2, True, "RE"),  # Large, block 4
    (40, 240, 40, 5, 1, True, "HS"),  # Small, block 5: the shortcut
    (80, 184, 80, 3, 1, False, "HS"),  # Large, block 9: no SE
    (80, 480, 112, 3, 1, True, "HS"),  # Large, block 11: the input's and SENet's widths differ (24, 32)
    (16, 16, 16, 3, 2, True, "RE"),  # Small, block 1: no expansion convolution
)


def reference_bneck(case: tuple, norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d) -> MBConv:
    in_channels, expanded, out_channels, kernel, stride, use_se, activation = case
    return MBConv(
        in_channels, out_channels, expanded_channels=expanded, kernel_size=kernel, stride=stride,
        activation_layer=_ACTIVATION_LAYERS[activation],
        squeeze_channels=reference_squeeze_width(in_channels, expanded) if use_se else None,
        se_activation=nn.ReLU, se_gate=nn.Hardsigmoid, norm_layer=norm_layer,
    )


def _describe(case: tuple) -> str:
    in_channels, expanded, out_channels, kernel, stride, use_se, activation = case
    return f"Bneck({in_channels}, {expanded}, {out_channels}, {kernel}, {stride}, {use_se}, {activation!r})"


def _parameter_hint(found: int, case: tuple) -> str:
    """Name the SE width or position that gives the student's count, if one does."""
    in_channels, expanded, out_channels, kernel, _, use_se, _ = case
    body = mbconv_params(in_channels, out_channels, expanded, kernel, None)
    right = reference_squeeze_width(in_channels, expanded)
    if use_se:
        widths = {
            f"the SE module is make_divisible(in_channels / 4, 8) = {make_divisible(in_channels / 4, 8)} wide: "
            f"squeezed from the block's input. Squeeze the expanded channels: make_divisible({expanded} / 4, 8) "
            f"= {right}.": se_params(expanded, make_divisible(in_channels / 4, 8)),
            f"the SE module is {expanded // 4} wide, a quarter of {expanded} without rounding: use "
            f"make_divisible({expanded} / 4, 8) = {right}.": se_params(expanded, expanded // 4),
            f"the SE module is SENet's C/16 wide (chapter 03); MobileNet v3 squeezes to make_divisible({expanded} "
            f"/ 4, 8) = {right}.": se_params(expanded, make_divisible(expanded / 16, 8)),
            f"the SE module sits on the block's {in_channels} input channels; it belongs after the depthwise "
            f"convolution, on the {expanded} expanded channels (Fig. 4).": se_params(
                in_channels, make_divisible(in_channels / 4, 8)),
            f"the SE module sits on the block's {out_channels} output channels, after the projection; it belongs "
            f"after the depthwise convolution, on the {expanded} expanded channels (Fig. 4).": se_params(
                out_channels, make_divisible(out_channels / 4, 8)),
            "there is no SE module: this row of the table has one (use_se=True).": 0,
        }
        matches = [message for message, se_count in widths.items()
                   if found == body + se_count and se_count != se_params(expanded, right)]
        if matches:  # widths can coincide in a small block: name every rule that gives this count
            return " Or: ".join(matches)
    elif found == body + se_params(expanded, right):
        return "there is an SE module although use_se is False: only the rows with ✓ in the SE column have one."
    if expanded == in_channels and found == body + in_channels * expanded + 2 * expanded + (
            se_params(expanded, right) if use_se else 0):
        return ("there is an expansion convolution although expanded_channels equals in_channels: leave it out "
                "then (Table 2's first row has no 1×1 expansion).")
    return ("the layers are: [1×1 expansion + BN + activation, only if expanded ≠ in], k×k depthwise + BN + "
            "activation, [SE on the expanded channels], 1×1 projection + BN (no bias in the convolutions).")


def _bneck_forward(
    ref: MBConv,
    x: Tensor,
    case: tuple,
    *,
    activation: Callable[[Tensor], Tensor] | None = None,
    gate: Callable[[Tensor], Tensor] = F.hardsigmoid,
    se_first: bool = False,
    after: Callable[[Tensor], Tensor] | None = None,
    shortcut: bool | None = None,
) -> Tensor:
    """The reference block's computation with one thing changed (the mistake candidates)."""
    in_channels, expanded, _, _, _, use_se, nl = case
    act = activation or _ACTIVATION_FUNCTIONS[nl]
    parts = list(ref.block)
    expand = parts.pop(0) if expanded != in_channels else None
    depthwise = parts.pop(0)
    se = parts.pop(0) if use_se else None
    project = parts.pop(0)

    def squeeze_excite(h: Tensor) -> Tensor:
        return h * gate(se.fc2(F.relu(se.fc1(F.adaptive_avg_pool2d(h, 1)))))

    h = x
    if expand is not None:
        h = act(expand[1](expand[0](h)))
    if se is not None and se_first:
        h = squeeze_excite(h)
    h = act(depthwise[1](depthwise[0](h)))
    if se is not None and not se_first:
        h = squeeze_excite(h)
    h = project[1](project[0](h))
    if after is not None:
        h = after(h)
    if ref.use_res_connect if shortcut is None else shortcut:
        h = h + x
    return h


def _bneck_candidates(ref: MBConv, x: Tensor, case: tuple) -> dict[str, Tensor]:
    nl = case[-1]
    other = "HS" if nl == "RE" else "RE"
    forward = partial(_bneck_forward, ref, x, case)
    with torch.no_grad():
        candidates = {
            "sigmoid_gate": forward(gate=torch.sigmoid),
            "hardswish_gate": forward(gate=F.hardswish),
            "wrong_activation": forward(activation=_ACTIVATION_FUNCTIONS[other]),
            "relu6": forward(activation=F.relu6),
            "hardsigmoid_activation": forward(activation=F.hardsigmoid),
            "se_first": forward(se_first=True),
            "activation_after": forward(after=_ACTIVATION_FUNCTIONS[nl]),
            "no_shortcut": forward(shortcut=False),
        }
    if not case[5]:
        for key in ("sigmoid_gate", "hardswish_gate", "se_first"):
            candidates.pop(key)
    if not ref.use_res_connect:
        candidates.pop("no_shortcut")
    return candidates


def _bneck_messages(case: tuple) -> dict[str, str]:
    nl = case[-1]
    name = {"RE": "ReLU", "HS": "h-swish"}[nl]
    other = {"RE": "h-swish", "HS": "ReLU"}[nl]
    return {
        "sigmoid_gate": "your SE gate is the smooth sigmoid. MobileNet v3 gates with the hard-sigmoid, "
        "ReLU6(x + 3)/6, which is cheap and exact in 8-bit arithmetic (Sections 3 and 5.2): "
        "gate=nn.Hardsigmoid.",
        "hardswish_gate": "your SE gate is h-swish, x · ReLU6(x + 3)/6, which is not bounded by 1: h-swish is "
        "where h-sigmoid belongs. The gate is the hard-sigmoid ReLU6(x + 3)/6.",
        "wrong_activation": f"the block uses {other} where its row says {nl} ({name}): take the activation from "
        "the activation argument (\"RE\" → nn.ReLU, \"HS\" → nn.Hardswish).",
        "relu6": f"the block uses ReLU6, MobileNet v2's activation; this row says {nl} ({name}).",
        "hardsigmoid_activation": f"the block's activation is the hard-sigmoid ReLU6(x + 3)/6: h-sigmoid is "
        f"where {name} belongs. h-sigmoid is only SE's gate; the block uses {name} "
        f"(nn.{'ReLU' if nl == 'RE' else 'Hardswish'}).",
        "se_first": "your SE module acts before the depthwise convolution; MobileNet v3 puts it after the "
        "depthwise convolution, before the projection (Fig. 4).",
        "activation_after": f"there is an activation ({name}) after the projection: the projection is linear, "
        "as in MobileNet v2 (the linear bottleneck).",
        "no_shortcut": "the shortcut is missing: with stride 1 and equal input and output widths, add the input "
        "to the projection (x + block(x)).",
    }


_BNECK_ORDER = ("the bneck is: [1×1 expansion, BN, activation] → k×k depthwise, BN, activation → [SE: pool, "
                "fc1, ReLU, fc2, hard-sigmoid, multiply] → 1×1 projection, BN → + x when stride 1 and in = out.")


def _se_before_depthwise(block: nn.Module, x: Tensor) -> bool:
    """Whether a layer on a pooled 1×1 map (SE's) runs before the depthwise convolution, by forward hooks."""
    order: list[str] = []

    def record(module: nn.Module, inputs: tuple, _output: object) -> None:
        if isinstance(module, nn.Conv2d) and module.groups > 1 and module.groups == module.in_channels:
            order.append("depthwise")
        elif isinstance(module, nn.Linear) or (isinstance(module, nn.Conv2d) and inputs[0].shape[-2:] == (1, 1)):
            order.append("se")

    hooks = [m.register_forward_hook(record) for m in block.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            block(x.clone())
    except Exception:  # noqa: BLE001 — the forward line of the check reports crashes
        return False
    finally:
        for hook in hooks:
            hook.remove()
    return "se" in order and "depthwise" in order and order.index("se") < order.index("depthwise")


def _norm_of(block: nn.Module) -> Callable[[int], nn.Module]:
    """BatchNorm with the student's eps (MobileNet v3's TensorFlow settings use 0.001), for a fair comparison."""
    for module in block.modules():
        if isinstance(module, nn.BatchNorm2d):
            return partial(nn.BatchNorm2d, eps=module.eps)
    return nn.BatchNorm2d


def _check_identity_branch(checker: Checker, description: str, block: nn.Module, x: Tensor) -> None:
    probe = copy.deepcopy(block)
    zero_every_weight(probe)
    probe.eval()
    with torch.no_grad():
        output = run_forward(checker, description, probe, x.clone())
    name = "the shortcut adds the input back"
    if same_output(output, x):
        checker.passed(name, "with every weight at zero the block returns x, negative values included")
    elif output.shape == x.shape and float(output.abs().max()) < 1e-6:
        checker.failed(name, "with every weight at zero your block returns 0: with stride 1 and in = out the "
                       "input is added to the projection. Return x + block(x).")
    else:
        checker.failed(name, "with every weight at zero your block should return its input x unchanged; it "
                       f"differs by up to {max_difference(output, x):.3g}. No activation after the addition.")


def check_bneck(
    block_class: type, cases: Sequence[tuple] = BNECK_CASES, *, size: int = 8, part: str = "main"
) -> ExerciseResult:
    """Exercise 3: ``Bneck(in, expanded, out, kernel_size, stride, use_se, activation)``."""

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            checker.stop("Bneck is a class", f"pass the class itself, got {type(block_class).__name__}.")
        last_block, last_x = None, None
        for index, case in enumerate(cases):
            description = _describe(case)
            in_channels, expanded, out_channels, _, stride, _, _ = case
            block = checker.run(description, block_class, *case, answer=block_class, earlier=BNECK_BUILDS_ON)
            if not isinstance(block, nn.Module):
                checker.stop(f"{description} builds", f"expected an nn.Module, got {type(block).__name__}.")
            ref = reference_bneck(case, _norm_of(block))
            found, expected = count_parameters(block), count_parameters(ref)
            width_ok = checker.expect(
                f"parameters of {description}",
                found == expected,
                success=f"{expected:,}" + (
                    f", SE {expanded} → {reference_squeeze_width(in_channels, expanded)} → {expanded}"
                    if case[5] else ", no SE"
                ),
                failure=f"{found:,}, expected {expected:,}: "
                + (earlier_answer_cause(block_class, BNECK_BUILDS_ON) or _parameter_hint(found, case)),
            )
            x = seeded_input((2, in_channels, size, size), seed=80 + index)
            block.eval()
            with torch.no_grad():
                output = checker.run(
                    f"{description} on an input of shape {shape_text(x.shape)}", block, x.clone(),
                    answer=block_class, earlier=BNECK_BUILDS_ON,
                    hint="Add the shortcut only when stride is 1 and in_channels == out_channels.",
                )
            if not isinstance(output, Tensor):
                checker.stop(f"{description} returns a tensor", f"forward returned {type(output).__name__}.")
            out_size = (size - 1) // stride + 1
            if not check_output_shape(checker, description, output, (2, out_channels, out_size, out_size),
                                      "The depthwise convolution carries the stride; the projection sets the "
                                      "output channels."):
                continue
            if stride == 1 and in_channels == out_channels:
                _check_identity_branch(checker, description, block, x)
            if case[5] and _se_before_depthwise(block, x):
                checker.failed(f"output values of {description}", _bneck_messages(case)["se_first"])
                continue
            if not width_ok:
                continue
            randomize_module(ref, seed=90 + index)
            name = f"output values of {description}"
            problem = transfer_weights(ref, block)
            if problem is not None:
                checker.failed(name, f"cannot give your block the reference's weights: {problem}. Create the "
                               "layers in the order they run (expansion, depthwise, SE, projection).")
                continue
            block.eval()
            ref.eval()
            with torch.no_grad():
                expected_out = ref(x.clone())
                output = run_forward(checker, description, block, x.clone())
            if same_output(output, expected_out):
                checker.passed(name, "equal to the reference's with the same weights")
            else:
                mistake = matching_candidate(output, _bneck_candidates(ref, x, case))
                checker.failed(name, _bneck_messages(case)[mistake] if mistake else (
                    f"with the reference's weights your outputs differ by up to "
                    f"{max_difference(output, expected_out):.3g}. {_BNECK_ORDER}"))
            last_block, last_x = block, x
        if last_block is not None:
            check_gradients(checker, "the last block", last_block, last_x)

    return check_and_report(BNECK, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 4: NetAdapt's choice
# --------------------------------------------------------------------------------------------------

Proposals = tuple[tuple[str, float, float], ...]  # (name, ΔAcc in points, ΔLatency in ms)

#: (proposals, δ): each case separates the right rule from some of the wrong ones (tests check that every
#: wrong rule is caught by at least one case).
NETADAPT_CASES: tuple[tuple[Proposals, float], ...] = (
    ((("A", -0.10, -0.6), ("B", -0.30, -3.0), ("C", -0.50, -2.0), ("D", -0.02, -0.3), ("E", -1.20, -4.0)), 0.5),
    ((("P", 0.05, -0.8), ("Q", -0.20, -2.5), ("R", -0.01, -0.2), ("S", -0.90, -3.0)), 0.5),
    ((("e1", -0.40, -1.0), ("e2", -0.15, -1.2), ("b40", -0.60, -6.0), ("e3", -0.05, -0.9)), 1.0),
    ((("f1", -0.01, -0.05), ("f2", -0.02, -0.9), ("f3", -0.30, -5.0), ("f4", -0.20, -1.5)), 1.0),
)


def _eligible(proposals: Proposals, delta: float) -> list[tuple[str, float, float]]:
    return [p for p in proposals if -p[2] >= delta]


def _best(items: list[tuple[str, float, float]], key: Callable[[tuple[str, float, float]], float]) -> str:
    return max(items, key=key)[0] if items else ""


def reference_netadapt_choice(proposals: Proposals, min_latency_cut: float) -> str:
    """The proposal v3's NetAdapt keeps: latency cut ≥ δ, largest ΔAcc / |ΔLatency| (Section 4.2)."""
    return _best(_eligible(proposals, min_latency_cut), lambda p: p[1] / abs(p[2]))


def _saved_per_lost(p: tuple[str, float, float]) -> float:
    return abs(p[2]) / -p[1] if p[1] < 0 else float("-inf")


NETADAPT_MISTAKES: dict[str, Callable[[Proposals, float], str]] = {
    "you kept the proposal that loses the least accuracy: that is the original NetAdapt's rule. MobileNet v3 "
    "keeps the one with the largest ΔAcc / |ΔLatency| — the best slope of the trade-off (Section 4.2).": (
        lambda ps, d: _best(_eligible(ps, d), lambda p: p[1])
    ),
    "you kept the largest latency cut, whatever it costs in accuracy; NetAdapt weighs both: the largest "
    "ΔAcc / |ΔLatency|.": lambda ps, d: _best(_eligible(ps, d), lambda p: -p[2]),
    "you kept the proposal with the *smallest* ΔAcc / |ΔLatency|, the steepest loss — which is also what "
    "dividing by ΔLatency itself gives, since it is negative (the latency falls) and flips the order. Divide "
    "by |ΔLatency| and keep the largest.": lambda ps, d: _best(_eligible(ps, d), lambda p: p[1] / p[2]),
    "you maximised latency saved per accuracy lost, |ΔLatency| / (−ΔAcc): it agrees while every proposal loses "
    "accuracy, but never picks one whose fine-tuned accuracy went up. The paper's quantity is ΔAcc / |ΔLatency| "
    "(Section 4.2).": lambda ps, d: _best(_eligible(ps, d), _saved_per_lost),
    "you also considered proposals that cut the latency by less than δ: every proposal must reduce the latency "
    "by at least δ (step 2(a) of the algorithm).": lambda ps, d: _best(list(ps), lambda p: p[1] / abs(p[2])),
    "you kept the least accuracy loss among all proposals, even those that cut less than δ: the rule is the "
    "largest ΔAcc / |ΔLatency| among the proposals that cut at least δ.": (
        lambda ps, d: _best(list(ps), lambda p: p[1])
    ),
}


def _read_name(checker: Checker, description: str, value: object) -> str:
    if not isinstance(value, str):
        checker.stop(description, f"return the proposal's name (a str), got {type(value).__name__} {value!r}.")
    return value


def check_netadapt_choice(
    netadapt_choice: Callable[[Proposals, float], object],
    cases: tuple[tuple[Proposals, float], ...] = NETADAPT_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 4: ``netadapt_choice(proposals, min_latency_cut)`` → the name of the kept proposal."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "netadapt_choice", netadapt_choice, cases, reference_netadapt_choice,
            success=lambda case, truth: f"{truth!r}",
            failure=lambda case, answer, truth: f"{answer!r}, NetAdapt keeps {truth!r}",
            mistakes=NETADAPT_MISTAKES,
            fix="keep the proposals with −ΔLatency ≥ δ, then return the name with the largest ΔAcc / |ΔLatency|.",
            read=_read_name,
        )

    return check_and_report(NETADAPT, body, part=part)


__all__ = [
    "ACTIVATION_GRID",
    "BNECK_CASES",
    "CHAPTER",
    "HARD_SIGMOID_MISTAKES",
    "HARD_SWISH_MISTAKES",
    "NETADAPT_CASES",
    "NETADAPT_MISTAKES",
    "SQUEEZE_WIDTH_CASES",
    "SQUEEZE_WIDTH_MISTAKES",
    "check_bneck",
    "check_hard_activations",
    "check_netadapt_choice",
    "check_se_squeeze_width",
    "reference_bneck",
    "reference_netadapt_choice",
    "reference_squeeze_width",
    "summary",
]
