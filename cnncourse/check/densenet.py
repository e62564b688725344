"""Checks for the exercises of chapter 04, DenseNet (Huang et al., 2017, arXiv:1608.06993).

The reference is :mod:`cnncourse.models.densenet` (torchvision's layer names): ``DenseLayer`` (the
DenseNet-B bottleneck layer BN-ReLU-Conv(1×1, 4k)-BN-ReLU-Conv(3×3, k), which returns its k new
channels), ``DenseBlock`` (concatenates every layer's output to what came before: x_l =
H_l([x_0, …, x_{l−1}]), paper Eq. 2), ``Transition`` (BN-ReLU-Conv(1×1)-AvgPool(2×2), keeping a fraction
θ of the channels, DenseNet-C) and the CIFAR DenseNet-BC of paper Section 3. Ground truths are measured
on those modules: channel counts by running them, outputs with the reference's weights copied in.

A ✗ names the classic mistake it recognises by behaviour:

* **adding instead of concatenating** (the output has the input's channel count, and with every weight at
  zero it returns x) — through :func:`cnncourse.check.blocks.verify_dense_concatenation`;
* the **wrong growth of channels** (a block that forgets its input, adds k only once, adds the 4k of the
  bottleneck, or builds every layer for the block's input width);
* a **transition without compression** (the channels kept instead of θ·m), in a count and in a module.

The exercises (notebook ``solutions/04_densenet.ipynb``):

1. ``dense_block_channels`` — channels out of a dense block, k₀ + L·k;
2. ``densenet_bc_channels`` — channels through DenseNet-BC on CIFAR, block by block and transition by
   transition;
3. ``DenseLayer`` — the bottleneck layer, returning its input concatenated with k new channels;
4. ``DenseBlock`` — L of those layers in a chain;
5. ``Transition`` — BN-ReLU-1×1 convolution to ⌊θ·m⌋ channels, 2×2 average pooling.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.check.blocks import verify_dense_concatenation
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
)
from cnncourse.models import densenet as reference

CHAPTER_NAME = "04_densenet"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


BLOCK_CHANNELS = _exercise(
    1, "densenet_block_channels", "デンスブロックの出力チャネル数", "Channels out of a dense block", 1
)
NETWORK_CHANNELS = _exercise(
    2, "densenet_bc_channels", "DenseNet-BC のチャネル数の推移", "Channels through DenseNet-BC", 2
)
DENSE_LAYER = _exercise(3, "densenet_dense_layer", "デンス層（ボトルネック層）", "Dense layer", 3)
DENSE_BLOCK = _exercise(4, "densenet_dense_block", "デンスブロック", "Dense block", 2)
TRANSITION = _exercise(5, "densenet_transition", "遷移層", "Transition layer", 2)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第4章 DenseNet",
    "Chapter 04 DenseNet",
    (BLOCK_CHANNELS, NETWORK_CHANNELS, DENSE_LAYER, DENSE_BLOCK, TRANSITION),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


#: The mistakes this chapter names, as the ✗ lines say them.
TRANSITION_WITHOUT_COMPRESSION = (
    "The transition keeps every channel: that is DenseNet without compression. DenseNet-C's transition "
    "keeps ⌊θ·m⌋ of its m input channels (θ = 0.5 in DenseNet-BC; paper Section 3, \"Compression\"), "
    "which is what keeps the next dense block narrow."
)
FORGETS_THE_INPUT = (
    "the block's output also carries its input: the first layer's input is concatenated with every new "
    "feature map, so a block outputs k₀ + L·k channels, not L·k."
)


# --------------------------------------------------------------------------------------------------
# Exercise 1: channels out of a dense block
# --------------------------------------------------------------------------------------------------

#: (in_channels k₀, growth rate k, layers L): DenseNet-121's four blocks (Table 1, k = 32: 64 → 256,
#: 128 → 512, 256 → 1024, 512 → 1024), DenseNet-BC-100-12's first block (24 + 16·12), one layer.
BLOCK_CASES: tuple[tuple[int, int, int], ...] = (
    (64, 32, 6),
    (128, 32, 12),
    (256, 32, 24),
    (512, 32, 16),
    (24, 12, 16),
    (16, 12, 1),
)


def measured_block_channels(in_channels: int, growth_rate: int, num_layers: int) -> int:
    """Channels of what the reference ``DenseBlock`` returns, by running it on a 1×1 map."""
    block = reference.DenseBlock(num_layers, in_channels, growth_rate).eval()
    with torch.no_grad():
        return int(block(torch.zeros(1, in_channels, 1, 1)).shape[1])


_BLOCK_CHANNEL_MISTAKES: dict[str, Callable[..., int]] = {
    FORGETS_THE_INPUT: lambda k0, k, layers: layers * k,
    "each of the L layers adds k channels, so the block adds L·k, not k.": lambda k0, k, layers: k0 + k,
    "count every layer: L layers add L·k (the block input k₀ plus one k per layer).": (
        lambda k0, k, layers: k0 + (layers - 1) * k
    ),
    "4k is the width of the 1×1 bottleneck *inside* each layer (DenseNet-B); what a layer adds to the "
    "concatenation is its 3×3 convolution's k channels.": lambda k0, k, layers: k0 + layers * 4 * k,
    "each layer adds the growth rate k, not the block's input width k₀.": (
        lambda k0, k, layers: k0 + layers * k0
    ),
}


def check_block_channels(
    dense_block_channels: Callable[[int, int, int], object],
    cases: tuple[tuple[int, int, int], ...] = BLOCK_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 1: ``dense_block_channels(in_channels, growth_rate, num_layers)`` against the reference."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "dense_block_channels", dense_block_channels, cases, measured_block_channels,
            success=lambda case, truth: f"{truth:,} = {case[0]} + {case[2]}·{case[1]}",
            failure=lambda case, answer, truth: f"{answer:,}, the block outputs {truth:,} channels",
            mistakes=_BLOCK_CHANNEL_MISTAKES,
            fix="every layer concatenates k new channels to everything before it: k₀ + L·k.",
        )

    return check_and_report(BLOCK_CHANNELS, body, part=part)


def _block_channels_are_right(dense_block_channels: Callable[..., object]) -> bool:
    """Exercise 1's answer on its own cases, quietly (for naming it as the cause in exercise 2)."""
    return all(dense_block_channels(*case) == measured_block_channels(*case) for case in BLOCK_CASES)


# --------------------------------------------------------------------------------------------------
# Exercise 2: channels through DenseNet-BC
# --------------------------------------------------------------------------------------------------

#: (depth L, growth rate k, compression θ): DenseNet-BC-40-12 (the course's CPU model), -100-12 (paper
#: Table 2), an odd width before a transition (52, 5: 65 channels → 32), and θ = 0.75.
NETWORK_CASES: tuple[tuple[int, int, float], ...] = (
    (40, 12, 0.5),
    (100, 12, 0.5),
    (52, 5, 0.5),
    (64, 8, 0.75),
)


#: What exercise 2 returns: the channels after the stem, each of the 3 dense blocks and the 2 transitions.
_CHANNEL_COUNTS = 6


def measured_bc_channels(depth: int, growth_rate: int, compression: float) -> list[int]:
    """Channels after the stem, each dense block and each transition of the reference DenseNet-BC.

    Read from a forward pass of the reference model with hooks on its stages.
    """
    layers = (depth - 4) // 6
    model = reference.DenseNet(
        growth_rate, (layers,) * 3, 2 * growth_rate, compression=compression, num_classes=10, stem="cifar"
    ).eval()
    channels: list[int] = []
    hooks = [
        module.register_forward_hook(lambda m, i, output: channels.append(int(output.shape[1])))
        for name, module in model.features.named_children()
        if name.startswith(("conv0", "denseblock", "transition"))
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 3, 8, 8))
    finally:
        for hook in hooks:
            hook.remove()
    return channels


def _bc_formula(
    depth: int,
    k: int,
    theta: float,
    *,
    stem: int = 2,
    compress: bool = True,
    layers_per_conv: int = 6,
    rounding: Callable[[float], int] = math.floor,
    compress_last: bool = False,
) -> list[int]:
    """The channel list with switches for the usual mistakes (used to name them)."""
    layers = (depth - 4) // layers_per_conv
    channels = stem * k
    out = [channels]
    for index in range(3):
        channels += layers * k
        out.append(channels)
        if index < 2 or compress_last:
            channels = int(rounding(channels * theta)) if compress else channels
            out.append(channels)
    return out


_NETWORK_MISTAKES: dict[str, Callable[..., list[int]]] = {
    TRANSITION_WITHOUT_COMPRESSION: lambda d, k, t: _bc_formula(d, k, t, compress=False),
    "the first convolution of DenseNet-BC outputs 2k channels (paper Section 3), not k.": (
        lambda d, k, t: _bc_formula(d, k, t, stem=1)
    ),
    "each bottleneck layer has two convolutions (1×1 and 3×3), so L = 6n + 4 gives n = (L − 4) / 6 layers "
    "per block, not (L − 4) / 3.": lambda d, k, t: _bc_formula(d, k, t, layers_per_conv=3),
    "round down: a transition keeps ⌊θ·m⌋ channels (int(m * θ), as torchvision's m // 2).": (
        lambda d, k, t: _bc_formula(d, k, t, rounding=math.ceil)
    ),
    "there is no transition after the last dense block: the network ends with BN, ReLU, pooling and the "
    "classifier.": lambda d, k, t: _bc_formula(d, k, t, compress_last=True),
}


#: Exercise 2 asks to build on exercise 1's helper.
NETWORK_CHANNELS_BUILDS_ON = (
    EarlierAnswer("dense_block_channels", BLOCK_CHANNELS, _block_channels_are_right),
)


def check_bc_channels(
    densenet_bc_channels: Callable[[int, int, float], object],
    cases: tuple[tuple[int, int, float], ...] = NETWORK_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 2: ``densenet_bc_channels(depth, growth_rate, compression)`` against the reference model."""

    def body(checker: Checker) -> None:
        def channel_list(checker: Checker, description: str, answer: object) -> list[int]:
            try:
                return [int(value) for value in answer]  # type: ignore[union-attr]
            except (TypeError, ValueError):
                checker.stop(description, f"expected a list of {_CHANNEL_COUNTS} channel counts, got {answer!r}.")

        def failure(case: tuple[object, ...], given: list[int], truth: list[int]) -> str:
            text = f"{given}, the model has {truth}"
            if len(given) != len(truth):
                text += (
                    f": give {len(truth)} numbers — after the first convolution, each of the 3 dense blocks "
                    "and the 2 transitions between them"
                )
            return text

        check_cases(
            checker, "densenet_bc_channels", densenet_bc_channels, cases, measured_bc_channels,
            success=lambda case, truth: f"{truth}", failure=failure, mistakes=_NETWORK_MISTAKES,
            fix="first convolution 2k; each block adds n·k with n = (L − 4) / 6; each transition keeps "
            "⌊θ·m⌋ channels; no transition after the last block.",
            earlier=NETWORK_CHANNELS_BUILDS_ON, read=channel_list,
        )

    return check_and_report(NETWORK_CHANNELS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 3: the dense layer
# --------------------------------------------------------------------------------------------------


def _concatenated(ref: reference.DenseLayer, x: Tensor) -> Tensor:
    return torch.cat([x, ref(x)], dim=1)


def _layer_candidates(ref: reference.DenseLayer, x: Tensor) -> dict[str, Tensor]:
    """Outputs of the usual mistakes inside the layer, from the reference layer's own modules."""
    with torch.no_grad():
        no_first_activation = ref.conv2(F.relu(ref.norm2(ref.conv1(x))))
        no_relu = ref.conv2(ref.norm2(ref.conv1(ref.norm1(x))))
        post_norm = ref.conv2(F.relu(ref.norm2(ref.conv1(F.relu(ref.norm1(x))))))
        return {
            "no_first_activation": torch.cat([x, no_first_activation], dim=1),
            "no_relu": torch.cat([x, no_relu], dim=1),
            "relu_on_input": torch.cat([F.relu(x), ref(x)], dim=1),
            "bn_relu_on_input": torch.cat([F.relu(ref.norm1(x)), post_norm], dim=1),
        }


_LAYER_MESSAGES = {
    "no_first_activation": "the first BN-ReLU is missing: the layer starts with norm1 and ReLU on its input, "
    "then the 1×1 convolution (pre-activation, paper Section 3 \"Composite function\").",
    "no_relu": "the ReLUs are missing: BN → ReLU → conv, twice.",
    "relu_on_input": "the input channels in the output went through a ReLU: concatenate x itself, unchanged "
    "(an in-place ReLU on x, e.g. nn.ReLU(inplace=True) applied to x, changes it).",
    "bn_relu_on_input": "you concatenate relu(norm1(x)) instead of x: the earlier feature maps are passed "
    "on unchanged; only the new k channels are computed.",
}

_LAYER_ORDER = (
    "The new channels are conv2(relu(norm2(conv1(relu(norm1(x)))))): BN-ReLU-Conv(1×1, 4k)-BN-ReLU-Conv(3×3, "
    "k, padding 1); return torch.cat([x, new], dim=1)."
)


def _layer_parameter_hint(found: int, in_channels: int, growth_rate: int) -> str:
    width = 4 * growth_rate

    def count(bottleneck: int, *, bias: bool = False) -> int:
        convs = in_channels * bottleneck + 9 * bottleneck * growth_rate
        norms = 2 * in_channels + 2 * bottleneck
        return convs + norms + ((bottleneck + growth_rate) if bias else 0)

    if found == count(growth_rate):
        return (
            f"your 1×1 convolution outputs k = {growth_rate} channels; DenseNet-B's bottleneck outputs 4k = "
            f"{width} (paper Section 3, \"Bottleneck layers\")."
        )
    if found == 2 * in_channels + 9 * in_channels * growth_rate:
        return "the 1×1 bottleneck is missing: BN-ReLU-Conv(1×1, 4k) comes before BN-ReLU-Conv(3×3, k)."
    if found == count(width, bias=True):
        return "the convolutions have biases: use bias=False, the BatchNorm after each one has a shift."
    return (
        f"norm1 on {in_channels} channels, conv1 {in_channels} → {width} (1×1), norm2 on {width}, "
        f"conv2 {width} → {growth_rate} (3×3), no biases."
    )


def check_dense_layer(
    layer_class: type,
    *,
    in_channels: int = 20,
    growth_rate: int = 8,
    size: int = 6,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 3: ``DenseLayer(in_channels, growth_rate)`` returning ``torch.cat([x, new], 1)``.

    First the concatenation itself on a layer with as many input channels as its growth rate (there an
    addition would fit, so the mistake shows as a channel count, not a crash); then parameters and
    outputs with the reference's weights on ``in_channels`` → ``growth_rate``.
    """

    def body(checker: Checker) -> None:
        if not isinstance(layer_class, type):
            checker.stop("DenseLayer is a class", f"pass the class itself, got {type(layer_class).__name__}.")
        square = f"DenseLayer({growth_rate}, {growth_rate})"
        layer = checker.run(square, layer_class, growth_rate, growth_rate)
        if not isinstance(layer, nn.Module):
            checker.stop(f"{square} builds", f"expected an nn.Module, got {type(layer).__name__}.")
        verify_dense_concatenation(
            checker, square, layer, in_channels=growth_rate, growth_rate=growth_rate, num_layers=1, size=size
        )
        description = f"DenseLayer({in_channels}, {growth_rate})"
        layer = checker.run(description, layer_class, in_channels, growth_rate)
        ref = reference.DenseLayer(in_channels, growth_rate)
        found, expected = count_parameters(layer), count_parameters(ref)
        checker.expect(
            f"parameters of {description}",
            found == expected,
            success=f"{expected:,}: 1×1 to 4k = {4 * growth_rate}, then 3×3 to k = {growth_rate}",
            failure=f"{found:,}, expected {expected:,}: "
            + _layer_parameter_hint(found, in_channels, growth_rate),
        )
        x = seeded_input((2, in_channels, size, size), seed=41)
        randomize_module(ref, seed=42).eval()
        name = f"output values of {description}"
        problem = transfer_weights(ref, layer)
        if problem is not None:
            checker.failed(name, f"cannot give your layer the reference's weights: {problem}.")
            return
        layer.eval()
        with torch.no_grad():
            expected_out = _concatenated(ref, x.clone())
            output = run_forward(checker, description, layer, x.clone())
        if same_output(output, expected_out):
            checker.passed(name, "equal to torch.cat([x, reference layer(x)]) with the same weights")
        else:
            mistake = matching_candidate(output, _layer_candidates(ref, x))
            if mistake is not None:
                checker.failed(name, _LAYER_MESSAGES[mistake])
            elif output.shape != expected_out.shape:
                wanted = shape_text(expected_out.shape)
                checker.failed(name, f"shape {shape_text(output.shape)} instead of {wanted}.")
            else:
                gap = max_difference(output, expected_out)
                checker.failed(
                    name, f"with the reference's weights your outputs differ by up to {gap:.3g}. "
                    + _LAYER_ORDER,
                )

    return check_and_report(DENSE_LAYER, body, part=part)


def _dense_layer_is_right(layer_class: Callable[..., object]) -> bool:
    """Exercise 3's answer, quietly: torch.cat([x, reference layer(x)]) with the same weights."""
    layer = layer_class(16, 8)
    ref = randomize_module(reference.DenseLayer(16, 8), seed=43).eval()
    if not isinstance(layer, nn.Module) or transfer_weights(ref, layer) is not None:
        return False
    x = seeded_input((2, 16, 5, 5), seed=44)
    with torch.no_grad():
        return same_output(layer.eval()(x.clone()), _concatenated(ref, x))


# --------------------------------------------------------------------------------------------------
# Exercise 4: the dense block
# --------------------------------------------------------------------------------------------------

#: Exercise 4 asks to build the block from exercise 3's layer.
DENSE_BLOCK_BUILDS_ON = (EarlierAnswer("DenseLayer", DENSE_LAYER, _dense_layer_is_right),)


def _growth_hint(in_channels: int, growth_rate: int) -> str:
    return (
        f"Layer ℓ (counting from 0) receives in_channels + ℓ·k channels — {in_channels}, "
        f"{in_channels + growth_rate}, {in_channels + 2 * growth_rate}, … — so build it with "
        "DenseLayer(in_channels + ℓ * growth_rate, growth_rate); and since each DenseLayer already returns "
        "its input with k new channels, pass each layer's output straight to the next (no torch.cat in the "
        "block)."
    )


def check_dense_block(
    block_class: type,
    *,
    num_layers: int = 4,
    in_channels: int = 16,
    growth_rate: int = 8,
    size: int = 5,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 4: ``DenseBlock(num_layers, in_channels, growth_rate)`` against the reference block.

    The concatenation check runs on a block whose input is as wide as its growth rate (an addition
    fits there); the comparison with the reference's weights on ``in_channels`` ≠ ``growth_rate``.
    """

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            checker.stop("DenseBlock is a class", f"pass the class itself, got {type(block_class).__name__}.")
        growth = _growth_hint(in_channels, growth_rate)
        square = f"DenseBlock({num_layers}, {growth_rate}, {growth_rate})"
        block = checker.run(
                square, block_class, num_layers, growth_rate, growth_rate,
            answer=block_class, earlier=DENSE_BLOCK_BUILDS_ON,
        )
        if not isinstance(block, nn.Module):
            checker.stop(f"{square} builds", f"expected an nn.Module, got {type(block).__name__}.")
        x = seeded_input((2, growth_rate, size, size), seed=51)
        block.eval()
        with torch.no_grad():
            output = checker.run(
                f"{square} on an input of shape {shape_text(x.shape)}", block, x.clone(),
                answer=block_class, earlier=DENSE_BLOCK_BUILDS_ON, hint=growth,
            )
        if isinstance(output, Tensor) and output.dim() == 4:
            expected_channels = growth_rate + num_layers * growth_rate
            found = int(output.shape[1])
            if found > expected_channels:
                checker.stop(
                    "output channels",
                    f"{found}, expected in_channels + L·k = {expected_channels}: the channels grow faster "
                    "than k per layer. Each DenseLayer already returns its input with k new channels; the "
                    "block only chains the layers, without concatenating again.",
                )
        verify_dense_concatenation(
            checker, square, block, in_channels=growth_rate, growth_rate=growth_rate,
            num_layers=num_layers, size=size,
        )
        description = f"DenseBlock({num_layers}, {in_channels}, {growth_rate})"
        block = checker.run(
                description, block_class, num_layers, in_channels, growth_rate,
            answer=block_class, earlier=DENSE_BLOCK_BUILDS_ON,
        )
        ref = reference.DenseBlock(num_layers, in_channels, growth_rate)
        found, expected = count_parameters(block), count_parameters(ref)
        checker.expect(
            f"parameters of {description}",
            found == expected,
            success=f"{expected:,}: layer ℓ built for {in_channels} + ℓ·{growth_rate} input channels",
            failure=f"{found:,}, expected {expected:,}. {growth}",
        )
        x = seeded_input((2, in_channels, size, size), seed=52)
        randomize_module(ref, seed=53).eval()
        name = f"output values of {description}"
        problem = transfer_weights(ref, block)
        if problem is not None:
            checker.failed(name, f"cannot give your block the reference's weights: {problem}.")
            return
        block.eval()
        with torch.no_grad():
            expected_out = ref(x.clone())
            output = checker.run(
                f"{description} on an input of shape {shape_text(x.shape)}", block, x.clone(),
                answer=block_class, earlier=DENSE_BLOCK_BUILDS_ON, hint=growth,
            )
        if same_output(output, expected_out):
            checker.passed(name, "equal to the reference's with the same weights")
        else:
            cause = earlier_answer_cause(block_class, DENSE_BLOCK_BUILDS_ON)
            checker.failed(
                name,
                cause
                or "with the reference's weights your outputs differ"
                + (f" by up to {max_difference(output, expected_out):.3g}" if isinstance(output, Tensor)
                   and output.shape == expected_out.shape else "")
                + ": apply the layers in order, each to the output of the one before.",
            )

    return check_and_report(DENSE_BLOCK, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 5: the transition layer
# --------------------------------------------------------------------------------------------------


def _transition_candidates(ref: reference.Transition, x: Tensor) -> dict[str, Tensor]:
    with torch.no_grad():
        activated = F.relu(ref.norm(x))
        return {
            "max_pool": F.max_pool2d(ref.conv(activated), 2),
            "strided_conv": F.conv2d(activated, ref.conv.weight, stride=2),
            "no_activation": F.avg_pool2d(ref.conv(x), 2),
            "no_relu": F.avg_pool2d(ref.conv(ref.norm(x)), 2),
        }


_TRANSITION_MESSAGES = {
    "max_pool": "you pool with the maximum; a transition averages 2×2 windows (nn.AvgPool2d(2, stride=2), "
    "paper Section 3, \"Pooling layers\").",
    "strided_conv": "you halve the map with a stride-2 1×1 convolution, which drops 3 of every 4 positions; "
    "the transition averages each 2×2 window instead (nn.AvgPool2d(2, stride=2)).",
    "no_activation": "BN and ReLU before the 1×1 convolution are missing: the transition is "
    "BN → ReLU → Conv(1×1) → AvgPool(2×2).",
    "no_relu": "the ReLU after the BatchNorm is missing: BN → ReLU → Conv(1×1) → AvgPool(2×2).",
}


def check_transition(
    transition_class: type,
    *,
    cases: tuple[tuple[int, float], ...] = ((24, 0.5), (25, 0.5), (32, 0.75)),
    size: int = 7,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 5: ``Transition(in_channels, compression=0.5)`` → ⌊θ·m⌋ channels, half the map size."""

    def body(checker: Checker) -> None:
        if not isinstance(transition_class, type):
            given = type(transition_class).__name__
            checker.stop("Transition is a class", f"pass the class itself, got {given}.")
        for index, (in_channels, compression) in enumerate(cases):
            description = f"Transition({in_channels}, compression={compression})"
            module = checker.run(description, transition_class, in_channels, compression)
            if not isinstance(module, nn.Module):
                checker.stop(f"{description} builds", f"expected an nn.Module, got {type(module).__name__}.")
            out_channels = int(in_channels * compression)
            x = seeded_input((2, in_channels, size, size), seed=61 + index)
            module.eval()
            with torch.no_grad():
                output = run_forward(checker, description, module, x.clone())
            channels = int(output.shape[1]) if output.dim() == 4 else -1
            if channels == in_channels and out_channels != in_channels:
                checker.failed(f"channels of {description}", TRANSITION_WITHOUT_COMPRESSION)
            elif channels == math.ceil(in_channels * compression) and channels != out_channels:
                checker.failed(
                    f"channels of {description}",
                    f"{channels}: round down, ⌊{in_channels}·{compression}⌋ = {out_channels} "
                    "(int(in_channels * compression)).",
                )
            else:
                checker.expect(
                    f"channels of {description}",
                    channels == out_channels,
                    success=f"⌊{in_channels}·{compression}⌋ = {out_channels}",
                    failure=f"{channels}, expected ⌊θ·m⌋ = int({in_channels} * {compression}) = "
                    f"{out_channels}.",
                )
            half = size // 2
            if output.dim() == 4 and tuple(output.shape[-2:]) == (size, size):
                checker.failed(
                    f"map size of {description}",
                    f"still {size}×{size}: the 2×2 average pooling with stride 2 is missing; a transition "
                    "halves the map between dense blocks.",
                )
            else:
                checker.expect(
                    f"map size of {description}",
                    output.dim() == 4 and tuple(output.shape[-2:]) == (half, half),
                    success=f"{size}×{size} → {half}×{half}",
                    failure=f"output shape {shape_text(output.shape)}: 2×2 average pooling with stride 2 "
                    f"maps {size}×{size} to {half}×{half}.",
                )
            if channels != out_channels:
                continue
            ref = randomize_module(reference.Transition(in_channels, out_channels), seed=71 + index).eval()
            name = f"output values of {description}"
            problem = transfer_weights(ref, module)
            if problem is not None:
                checker.failed(
                    name, f"cannot give your layer the reference's weights: {problem}. Use BatchNorm2d, a "
                    "1×1 convolution without bias, and parameter-free pooling."
                )
                continue
            with torch.no_grad():
                expected = ref(x.clone())
                output = run_forward(checker, description, module.eval(), x.clone())
            if same_output(output, expected):
                checker.passed(name, "equal to the reference's with the same weights")
                continue
            mistake = matching_candidate(output, _transition_candidates(ref, x))
            checker.failed(
                name,
                _TRANSITION_MESSAGES[mistake]
                if mistake
                else "with the reference's weights your outputs differ: BN → ReLU → Conv(1×1) → "
                "AvgPool(2×2).",
            )
        check_gradients(checker, description, copy.deepcopy(module), x)

    return check_and_report(TRANSITION, body, part=part)


__all__ = [
    "CHAPTER",
    "TRANSITION_WITHOUT_COMPRESSION",
    "check_bc_channels",
    "check_block_channels",
    "check_dense_block",
    "check_dense_layer",
    "check_transition",
    "summary",
]
