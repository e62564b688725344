"""Checks for the exercises of chapter 06, MobileNet v2 (Sandler et al., 2018, arXiv:1801.04381).

The reference is :class:`cnncourse.layers.InvertedResidual` (torchvision's block: 1×1 expansion to t·d′
channels → BN → ReLU6, 3×3 depthwise → BN → ReLU6, 1×1 projection → BN with no activation, the input
added when stride is 1 and the widths match; Section 3.3, Table 1). Ground truths are measured on it:
whether it has a shortcut, the multiply-adds of each of its convolutions (forward hooks), its outputs
with the student's module given the reference's weights.

A ✗ names the classic mistake it recognises by behaviour:

* **a ReLU after the linear bottleneck** (the output is never negative; or it equals the reference's
  output passed through a ReLU);
* **a shortcut when the stride is not 1 or the shapes differ** (the answer says "shortcut" for such a
  block, or the block crashes adding tensors of different shapes, or it has a projection shortcut's
  extra weights);
* **the expansion applied to the output width** instead of the input width (t·d″ channels inside:
  the multiply-adds or the parameter count say so);
* **a residual joining the wide ends** (the expanded tensor added around the depthwise convolution, as
  a ResNet bottleneck joins its wide ends) and a ReLU after the addition;
* **the spiral's round trip** done with Tᵀ instead of the pseudo-inverse, or with the ReLU in the wrong
  place (Fig. 1).

The exercises (notebook ``solutions/06_mobilenet_v2.ipynb``):

1. ``has_shortcut`` — when the inverted residual adds its input;
2. ``block_macs`` — the multiply-adds of the expansion, depthwise and projection convolutions;
3. ``InvertedResidual`` — the block itself;
4. ``relu_round_trip`` — the paper's Fig. 1 experiment, T⁺·ReLU(T·x).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.check.blocks import DEPTHWISE_WITH_GROUPS_1, RELU_AFTER_LINEAR_BOTTLENECK
from cnncourse.check.core import Chapter, Checker, Exercise, ExerciseResult, check_and_report
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
    build,
    check_cases,
    check_gradients,
    check_output_shape,
    run_forward,
    zero_every_weight,
)
from cnncourse.layers.inverted_residual import InvertedResidual as ReferenceBlock

CHAPTER_NAME = "06_mobilenet_v2"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


SHORTCUT = _exercise(1, "mobilenet_v2_has_shortcut", "スキップ結合の有無", "When is there a shortcut?", 1)
BLOCK_MACS = _exercise(2, "mobilenet_v2_block_macs", "ブロックの積和演算数", "Multiply-adds of the block", 2)
BLOCK = _exercise(3, "mobilenet_v2_inverted_residual", "逆残差ブロック", "Inverted residual block", 3)
ROUND_TRIP = _exercise(4, "mobilenet_v2_relu_round_trip", "ReLU の往復（Fig. 1）", "ReLU round trip (Fig. 1)", 2)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第6章 MobileNet v2",
    "Chapter 06 MobileNet v2",
    (SHORTCUT, BLOCK_MACS, BLOCK, ROUND_TRIP),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


#: The mistakes this chapter names, as the ✗ lines say them.
SHORTCUT_WHEN_SHAPES_DIFFER = (
    "a shortcut where the shapes differ: the inverted residual adds its input only when the stride is 1 "
    "and the input and output widths are equal (Sandler et al., Section 3.3 and Fig. 4); a stride-2 block or "
    "one that changes the width has no shortcut at all (MobileNet v2 has no 1×1 projection shortcut)."
)
EXPANSION_ON_THE_OUTPUT = (
    "the expansion is applied to the output width: the block widens its *input* to t·d′ channels "
    "(Table 1: h × w × k → h × w × tk), then projects to d″; with t·d″ inside, every count is off whenever "
    "d′ ≠ d″."
)
RESIDUAL_ON_THE_WIDE_ENDS = (
    "the shortcut joins the wide (expanded) tensors, around the depthwise convolution, as a ResNet "
    "bottleneck joins its wide ends. MobileNet v2 inverts that: the shortcut adds the block's narrow input "
    "to its narrow projected output, out = x + project(depthwise(expand(x))) (Section 3.3, Fig. 3)."
)
RELU_AFTER_THE_ADDITION = (
    "there is an activation after the addition (ResNet's relu(x + F(x))): in MobileNet v2 the sum stays "
    "linear, out = x + project(…), so the narrow tensor never goes through a ReLU."
)


def _bool_answer(checker: Checker, name: str, value: object) -> bool:
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool"):
        return bool(value)
    if isinstance(value, Tensor) and value.numel() == 1 and value.dtype == torch.bool:
        return bool(value)
    if value is None:
        checker.stop(name, "your function returned None: did you forget the 'return' statement?")
    checker.stop(name, f"expected True or False, got {type(value).__name__} {value!r}.")


# --------------------------------------------------------------------------------------------------
# Exercise 1: when is there a shortcut?
# --------------------------------------------------------------------------------------------------

#: (in_channels, out_channels, stride): blocks of Table 2 — a repeated block (24 → 24), the first block of a
#: stage that widens (24 → 32, stride 2), the "6, 96, 3, 1" stage's first block (64 → 96, stride 1: no
#: shortcut although the stride is 1), the first block (32 → 16), a stride-2 block of equal widths (which
#: Table 2 never has, but which is the test of the stride condition), the 160-channel repeated block.
SHORTCUT_CASES: tuple[tuple[int, int, int], ...] = (
    (24, 24, 1),
    (24, 32, 2),
    (64, 96, 1),
    (32, 16, 1),
    (32, 32, 2),
    (160, 160, 1),
)


def measured_shortcut(in_channels: int, out_channels: int, stride: int) -> bool:
    """Whether the reference block adds its input: read from the block itself."""
    return bool(ReferenceBlock(in_channels, out_channels, stride, 6).use_res_connect)


_SHORTCUT_MISTAKES: dict[str, Callable[..., bool]] = {
    "you ignore the stride: a stride-2 block halves the height and width, so its input cannot be added to "
    "its output. " + SHORTCUT_WHEN_SHAPES_DIFFER: lambda c_in, c_out, s: c_in == c_out,
    "you ignore the widths: a block that changes the channels (24 → 32, 64 → 96) cannot add its input. "
    + SHORTCUT_WHEN_SHAPES_DIFFER: lambda c_in, c_out, s: s == 1,
    "every block of MobileNet v2 has a shortcut only if its shapes allow the addition. "
    + SHORTCUT_WHEN_SHAPES_DIFFER: lambda c_in, c_out, s: True,
    "the inverted residual does have a shortcut when the stride is 1 and the widths are equal (10 of the 17 "
    "blocks of Table 2).": lambda c_in, c_out, s: False,
}


def check_has_shortcut(
    has_shortcut: Callable[[int, int, int], object],
    cases: tuple[tuple[int, int, int], ...] = SHORTCUT_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 1: ``has_shortcut(in_channels, out_channels, stride)`` against the reference block."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "has_shortcut", has_shortcut, cases, measured_shortcut,
            success=lambda case, truth: "shortcut" if truth else "no shortcut",
            failure=lambda case, answer, truth: f"{answer}, the block has {'a' if truth else 'no'} shortcut",
            mistakes=_SHORTCUT_MISTAKES,
            fix="return stride == 1 and in_channels == out_channels.",
            read=_bool_answer,
        )

    return check_and_report(SHORTCUT, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 2: multiply-adds of the three convolutions
# --------------------------------------------------------------------------------------------------

#: (in_channels, out_channels, expand_ratio, size, stride): Table 2 blocks at 224×224 — 24 → 24 at 56×56,
#: 32 → 64 with stride 2 at 28×28, 64 → 96 at 14×14, the first block (t = 1, 32 → 16 at 112×112) and
#: 16 → 24 with stride 2 at 112×112.
MACS_CASES: tuple[tuple[int, int, int, int, int], ...] = (
    (24, 24, 6, 56, 1),
    (32, 64, 6, 28, 2),
    (64, 96, 6, 14, 1),
    (32, 16, 1, 112, 1),
    (16, 24, 6, 112, 2),
)


def measured_block_macs(
    in_channels: int, out_channels: int, expand_ratio: int, size: int, stride: int
) -> tuple[int, int, int]:
    """(expansion, depthwise, projection) multiply-adds of the reference block, by forward hooks.

    Each convolution's multiply-adds are its output elements times the inputs each one reads
    (in_channels / groups · k²); with t = 1 there is no expansion convolution, so 0.
    """
    block = ReferenceBlock(in_channels, out_channels, stride, expand_ratio).eval()
    convs = [m for m in block.conv.modules() if isinstance(m, nn.Conv2d)]
    counts: dict[nn.Module, int] = {}

    def hook(module: nn.Conv2d, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
        counts[module] = output.numel() * per_output

    handles = [conv.register_forward_hook(hook) for conv in convs]
    try:
        with torch.no_grad():
            block(torch.zeros(1, in_channels, size, size))
    finally:
        for handle in handles:
            handle.remove()
    expansion = counts[convs[0]] if len(convs) == 3 else 0
    return expansion, counts[convs[-2]], counts[convs[-1]]


def _macs_formula(
    c_in: int,
    c_out: int,
    t: int,
    size: int,
    stride: int,
    *,
    hidden_from: str = "input",
    full_depthwise: bool = False,
    ignore_stride: bool = False,
    expand_when_t1: bool = False,
) -> tuple[int, int, int]:
    hidden = (c_out if hidden_from == "output" else c_in) * t
    out = size if ignore_stride else (size - 1) // stride + 1
    expansion = size * size * c_in * hidden if (t != 1 or expand_when_t1) else 0
    depthwise = out * out * 9 * (hidden * hidden if full_depthwise else hidden)
    return expansion, depthwise, out * out * hidden * c_out


_MACS_MISTAKES: dict[str, Callable[..., tuple[int, int, int]]] = {
    EXPANSION_ON_THE_OUTPUT: lambda *c: _macs_formula(*c, hidden_from="output"),
    "the depthwise convolution is counted as a full 3×3 convolution (9·(t·d′)² per position): a depthwise "
    "convolution has one 3×3 filter per channel, 9·t·d′ multiply-adds per output position.": (
        lambda *c: _macs_formula(*c, full_depthwise=True)
    ),
    "the stride is ignored: the depthwise convolution carries it, so it and the projection run at the "
    "output resolution ⌈h/s⌉ × ⌈w/s⌉; only the expansion runs at the input's.": (
        lambda *c: _macs_formula(*c, ignore_stride=True)
    ),
    "with t = 1 there is no expansion convolution (Table 2's first block; torchvision leaves it out): its "
    "multiply-adds are 0.": lambda *c: _macs_formula(*c, expand_when_t1=True),
}


def _macs_triple(checker: Checker, name: str, value: object) -> tuple[int, int, int]:
    try:
        values = tuple(value)  # type: ignore[arg-type]
    except TypeError:
        checker.stop(name, f"expected three whole numbers (expansion, depthwise, projection), got {value!r}.")
    if len(values) != 3 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        checker.stop(name, f"expected three whole numbers (expansion, depthwise, projection), got {value!r}.")
    return values  # type: ignore[return-value]


def check_block_macs(
    block_macs: Callable[[int, int, int, int, int], object],
    cases: tuple[tuple[int, int, int, int, int], ...] = MACS_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 2: ``block_macs(in_channels, out_channels, expand_ratio, size, stride)`` → three counts."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "block_macs", block_macs, cases, measured_block_macs,
            success=lambda case, truth: f"{truth[0]:,} + {truth[1]:,} + {truth[2]:,}",
            failure=lambda case, answer, truth: f"{answer}, the block does {truth}",
            mistakes=_MACS_MISTAKES,
            fix="expansion h·w·d′·td′ (0 when t = 1); depthwise h′·w′·9·td′; projection h′·w′·td′·d″, with "
            "h′ = ⌈h/s⌉ the output size.",
            read=_macs_triple,
        )

    return check_and_report(BLOCK_MACS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 3: the inverted residual block
# --------------------------------------------------------------------------------------------------


def _pieces(ref: ReferenceBlock) -> tuple[Callable[[Tensor], Tensor], Callable[[Tensor], Tensor],
                                        Callable[[Tensor], Tensor]]:
    """The reference's expansion (identity when t = 1), depthwise unit and projection (conv + BN)."""
    layers = list(ref.conv)
    expand = layers[0] if len(layers) == 4 else (lambda x: x)
    depthwise = layers[-3]
    return expand, depthwise, lambda h: layers[-1](layers[-2](h))


def _block_candidates(ref: ReferenceBlock, x: Tensor) -> dict[str, Tensor]:
    """Outputs of the classic mistakes, computed from the reference block's own layers."""
    expand, depthwise, project = _pieces(ref)
    with torch.no_grad():
        wide = expand(x)
        projected = project(depthwise(wide))
        candidates = {
            "relu_after_projection": F.relu6(x + projected) if ref.use_res_connect else F.relu6(projected),
            "relu_after_projection_then_add": (x + F.relu6(projected)) if ref.use_res_connect else F.relu(projected),
            "relu_after_addition": F.relu(x + projected) if ref.use_res_connect else F.relu(projected),
            "no_shortcut": projected,
        }
        if ref.use_res_connect and ref.hidden_channels != ref.in_channels:
            candidates["wide_residual"] = project(depthwise(wide) + wide)
            candidates["wide_and_narrow"] = x + project(depthwise(wide) + wide)
    return candidates


_BLOCK_MESSAGES = {
    "relu_after_projection": RELU_AFTER_LINEAR_BOTTLENECK,
    "relu_after_projection_then_add": RELU_AFTER_LINEAR_BOTTLENECK,
    "relu_after_addition": RELU_AFTER_THE_ADDITION,
    "no_shortcut": "the shortcut is missing: with stride 1 and equal widths the block returns x + "
    "project(depthwise(expand(x))).",
    "wide_residual": RESIDUAL_ON_THE_WIDE_ENDS,
    "wide_and_narrow": RESIDUAL_ON_THE_WIDE_ENDS,
}

_BLOCK_ORDER = (
    "conv = Sequential(Sequential(Conv2d 1×1 d′→t·d′, BN, ReLU6), Sequential(Conv2d 3×3 groups=t·d′ stride s "
    "padding 1, BN, ReLU6), Conv2d 1×1 t·d′→d″, BN) — no biases, no activation after the last BN; the "
    "output is x + conv(x) with stride 1 and d′ = d″, else conv(x)."
)


def _parameter_hint(found: int, c_in: int, c_out: int, stride: int, t: int) -> str:
    def count(hidden: int, *, expand: bool = True, bias: bool = False) -> int:
        total = 9 * hidden + 2 * hidden + hidden * c_out + 2 * c_out
        if expand:
            total += c_in * hidden + 2 * hidden
        return total + ((2 * hidden + c_out) if bias else 0)

    if t != 1 and found == count(t * c_out):
        return EXPANSION_ON_THE_OUTPUT
    if t == 1 and found == count(c_in):  # an expansion 1×1 to t·d′ = d′ channels
        return "with t = 1 leave the expansion out: there is nothing to expand (Table 2's first block)."
    if found == count(t * c_in, bias=True) or (t == 1 and found == count(c_in, expand=False, bias=True)):
        return "the convolutions have biases: use bias=False, the BatchNorm after each one has its own shift."
    hidden = t * c_in
    if found == count(hidden) - 9 * hidden + 9 * hidden * hidden:
        return "the 3×3 convolution is a full one. " + DEPTHWISE_WITH_GROUPS_1
    if found > count(hidden) and (found - count(hidden)) in (c_in * c_out, c_in * c_out + 2 * c_out):
        return "there is a 1×1 projection on the shortcut (ResNet's option B). " + SHORTCUT_WHEN_SHAPES_DIFFER
    return _BLOCK_ORDER


def _check_block_against_reference(
    checker: Checker, block_class: type, c_in: int, c_out: int, stride: int, t: int, size: int, seed: int
) -> nn.Module | None:
    """Build the student's block for one case; shape, parameters, then outputs with the reference's weights."""
    description = f"InvertedResidual({c_in}, {c_out}, stride={stride}, expand_ratio={t})"
    block = build(checker, description, lambda: block_class(c_in, c_out, stride, t))
    ref = randomize_module(ReferenceBlock(c_in, c_out, stride, t), seed=seed).eval()
    x = seeded_input((2, c_in, size, size), seed=seed + 1)
    block.eval()
    shapes_differ = stride != 1 or c_in != c_out
    with torch.no_grad():
        output = run_forward(checker, description, block, x.clone(),
                             hint=SHORTCUT_WHEN_SHAPES_DIFFER if shapes_differ else "")
    out_size = (size - 1) // stride + 1
    if not check_output_shape(checker, description, output, (2, c_out, out_size, out_size),
                              "The depthwise convolution carries the stride; the projection sets the channels."):
        return None
    found, expected = count_parameters(block), count_parameters(ref)
    checker.expect(
        f"parameters of {description}",
        found == expected,
        success=f"{expected:,}: {c_in} → {ref.hidden_channels} → {c_out}",
        failure=f"{found:,}, expected {expected:,}: " + _parameter_hint(found, c_in, c_out, stride, t),
    )
    name = f"output values of {description}"
    problem = transfer_weights(ref, block)
    if problem is not None:
        checker.failed(name, f"cannot give your block the reference's weights: {problem}. {_BLOCK_ORDER}")
        return block
    block.eval()
    with torch.no_grad():
        expected_out = ref(x.clone())
        output = run_forward(checker, description, block, x.clone())
    if same_output(output, expected_out):
        checker.passed(name, "equal to the reference's with the same weights")
        return block
    mistake = matching_candidate(output, _block_candidates(ref, x))
    if mistake is not None:
        checker.failed(name, _BLOCK_MESSAGES[mistake])
    else:
        checker.failed(name, f"with the reference's weights your outputs differ by up to "
                             f"{max_difference(output, expected_out):.3g}. {_BLOCK_ORDER}")
    return block


def check_inverted_residual(block_class: type, *, size: int = 8, part: str = "main") -> ExerciseResult:
    """Exercise 3: ``InvertedResidual(in_channels, out_channels, stride, expand_ratio)``.

    Four blocks: 8 → 12 with stride 2 (no shortcut; its output must take negative values — the linear
    bottleneck — and its 3×3 must be depthwise), 12 → 12 with stride 1 (the shortcut: with every weight at
    zero it returns x), 8 → 12 with stride 1 and 12 → 12 with stride 2 (shapes differ: no shortcut), and
    t = 1 (no expansion). Each is compared with the reference given the same weights.
    """

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            checker.stop("InvertedResidual is a class", f"pass the class itself, got {type(block_class).__name__}.")
        # 1. the linear bottleneck and the depthwise convolution, on a block without a shortcut
        projecting = "InvertedResidual(8, 12, stride=2, expand_ratio=6)"
        block = build(checker, projecting, lambda: block_class(8, 12, 2, 6)).eval()
        randomize_module(block, seed=81)
        x = seeded_input((2, 8, size, size), seed=82)
        with torch.no_grad():
            output = run_forward(checker, projecting, block, x.clone(), hint=SHORTCUT_WHEN_SHAPES_DIFFER)
        checker.expect(
            "the projection is linear",
            bool(output.min() < 0),
            success="the output takes negative values, as a linear layer's does",
            failure=RELU_AFTER_LINEAR_BOTTLENECK,
        )
        spatial = [m for m in block.modules() if isinstance(m, nn.Conv2d) and m.kernel_size != (1, 1)]
        checker.expect(
            "the 3×3 convolution is depthwise",
            bool(spatial) and all(m.groups == m.in_channels == 48 for m in spatial),
            success="groups = 48 = t·d′",
            failure="the 3×3 convolution must be depthwise on the expanded width: groups = in_channels = "
            "t·d′ = 48. " + DEPTHWISE_WITH_GROUPS_1,
        )
        # 2. the shortcut on the narrow ends
        residual = "InvertedResidual(12, 12, stride=1, expand_ratio=6)"
        block = build(checker, residual, lambda: block_class(12, 12, 1, 6))
        probe = copy.deepcopy(block)
        zero_every_weight(probe)
        x = seeded_input((2, 12, size, size), seed=83)
        with torch.no_grad():
            through = run_forward(checker, residual, probe.eval(), x.clone())
        if same_output(through, x):
            checker.passed("the shortcut adds the input back", "with every weight at zero the block returns x")
        elif isinstance(through, Tensor) and through.shape == x.shape and same_output(through, F.relu(x)):
            checker.failed("the shortcut adds the input back", RELU_AFTER_THE_ADDITION)
        else:
            checker.failed(
                "the shortcut adds the input back",
                "with every weight at zero the projection outputs 0, so a stride-1 block of equal widths must "
                "return its input x: add x to the projected output (the narrow ends), nothing after the sum.",
            )
        # 3. outputs against the reference, including the shapes where there must be no shortcut, and t = 1
        for seed, (c_in, c_out, stride, t) in enumerate(
                [(12, 12, 1, 6), (8, 12, 2, 6), (8, 12, 1, 6), (12, 12, 2, 6), (16, 8, 1, 1)], start=90):
            last = _check_block_against_reference(checker, block_class, c_in, c_out, stride, t, size, 10 * seed)
        if last is not None:
            check_gradients(checker, "InvertedResidual(16, 8, stride=1, expand_ratio=1)", last,
                            seeded_input((2, 16, size, size), seed=99))

    return check_and_report(BLOCK, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 4: the ReLU round trip of Fig. 1
# --------------------------------------------------------------------------------------------------


def reference_round_trip(points: Tensor, embedding: Tensor) -> Tensor:
    """T⁺ · ReLU(T · x) for every row x of ``points`` (N, 2), with T = ``embedding`` (n, 2)."""
    return torch.relu(points @ embedding.T) @ torch.linalg.pinv(embedding).T


def _round_trip_candidates(points: Tensor, embedding: Tensor) -> dict[str, Tensor]:
    inverse = torch.linalg.pinv(embedding)
    return {
        "transpose": torch.relu(points @ embedding.T) @ embedding,
        "relu_after": torch.relu((points @ embedding.T) @ inverse.T),
        "no_relu": (points @ embedding.T) @ inverse.T,
        "relu_on_input": torch.relu(points) @ embedding.T @ inverse.T,
    }


_ROUND_TRIP_MESSAGES = {
    "transpose": "you project back with Tᵀ; T is a random n×2 matrix, not orthogonal, so its transpose does not "
    "undo it. Use the pseudo-inverse, torch.linalg.pinv(T) (T⁺·T = I for a T of rank 2).",
    "relu_after": "the ReLU comes after projecting back: the experiment applies it in the n-dimensional space, "
    "T⁺ · ReLU(T · x) (Fig. 1).",
    "no_relu": "there is no ReLU: without it T⁺·T·x = x and nothing is lost; apply ReLU to T·x.",
    "relu_on_input": "the ReLU is applied to the 2-D points; apply it after the embedding, to T·x.",
}


def check_relu_round_trip(
    relu_round_trip: Callable[[Tensor, Tensor], object],
    *,
    dimensions: tuple[int, ...] = (2, 3, 15),
    seed: int = 7,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 4: ``relu_round_trip(points, embedding)`` = T⁺·ReLU(T·x) for each n of ``dimensions``."""

    def body(checker: Checker) -> None:
        generator = torch.Generator().manual_seed(seed)
        points = torch.randn(50, 2, generator=generator)
        for n in dimensions:
            embedding = torch.randn(n, 2, generator=generator)
            description = f"relu_round_trip(points of shape (50, 2), T of shape ({n}, 2))"
            output = checker.run(description, relu_round_trip, points.clone(), embedding.clone())
            if not isinstance(output, Tensor):
                checker.stop(description, f"expected a tensor, got {type(output).__name__}.")
            expected = reference_round_trip(points, embedding)
            if output.shape != expected.shape:
                checker.failed(f"shape for n = {n}", f"{shape_text(output.shape)}, expected (50, 2): one 2-D "
                               "point back per input point; points @ T.T is (50, n), then back with T⁺.")
                continue
            if same_output(output, expected):
                checker.passed(f"T⁺·ReLU(T·x) for n = {n}", "equal to the reference")
                continue
            mistake = matching_candidate(output, _round_trip_candidates(points, embedding))
            checker.failed(f"T⁺·ReLU(T·x) for n = {n}", _ROUND_TRIP_MESSAGES[mistake] if mistake else
                           f"differs from T⁺·ReLU(T·x) by up to {max_difference(output, expected):.3g}: "
                           "embed with points @ T.T, ReLU, then @ torch.linalg.pinv(T).T.")

    return check_and_report(ROUND_TRIP, body, part=part)


__all__ = [
    "CHAPTER",
    "EXPANSION_ON_THE_OUTPUT",
    "RELU_AFTER_THE_ADDITION",
    "RESIDUAL_ON_THE_WIDE_ENDS",
    "SHORTCUT_WHEN_SHAPES_DIFFER",
    "check_block_macs",
    "check_has_shortcut",
    "check_inverted_residual",
    "check_relu_round_trip",
    "measured_block_macs",
    "measured_shortcut",
    "reference_round_trip",
    "summary",
]
