"""Checks for the exercises of chapter 02, Wide ResNet (Zagoruyko & Komodakis, 2016, arXiv:1605.07146).

The reference is :mod:`cnncourse.models.wide_resnet`: WRN-n-k of paper Table 1 (N = (n − 4) / 6
pre-activation B(3,3) blocks per group, widths 16k, 32k, 64k) and its ``WideBasicBlock`` with dropout
between the two convolutions (paper Section 2.4). Counts are measured on real modules (built on
PyTorch's "meta" device, which allocates no memory, so WRN-28-10 costs nothing to count), multiply-adds
with PyTorch's own ``FlopCounterMode``, and the dropout's place in a student's block is read from the
torch calls its forward pass makes (:func:`cnncourse.check.probes.trace_torch_calls`).

The exercises (notebook ``solutions/02_wide_resnet.ipynb``):

1. ``wrn_groups`` — blocks and channels of the three groups of WRN-n-k (depth and width not swapped);
2. ``wide_block_parameters`` — parameters of one pre-activation block, by hand;
3. ``wrn_parameters`` — parameters of the whole network (WRN-28-10: 36.5M in the paper);
4. ``conv3x3_macs`` — multiply-adds of a 3×3 convolution (why widening by k costs k²);
5. ``WideBasicBlock`` — the block, with dropout between the convolutions.
"""

from __future__ import annotations

from collections.abc import Callable

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
)
from cnncourse.check.probes import (
    TracedCall,
    count_parameters,
    is_convolution,
    is_dropout,
    produced_by,
    randomize_module,
    same_output,
    seeded_input,
    trace_torch_calls,
)
from cnncourse.check.steps import (
    build,
    check_cases,
    check_gradients,
    check_output_shape,
    check_parameter_count,
    compare_with_reference,
    diagnose_by_formula,
    run_forward,
)
from cnncourse.errors import CourseError
from cnncourse.models import wide_resnet as reference

CHAPTER_NAME = "02_wide_resnet"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


WRN_GROUPS = _exercise(1, "wrn_groups", "WRN-n-k のグループ構成", "Groups of WRN-n-k", 1)
BLOCK_PARAMETERS = _exercise(2, "wrn_block_parameters", "ブロックのパラメータ数", "Parameters of a wide block", 2)
NETWORK_PARAMETERS = _exercise(3, "wrn_network_parameters", "ネットワーク全体のパラメータ数", "Parameters of WRN-n-k", 2)
CONV_MACS = _exercise(4, "wrn_conv_macs", "3×3 畳み込みの積和演算数", "Multiply-adds of a 3×3 convolution", 1)
WIDE_BLOCK = _exercise(5, "wrn_wide_block", "ドロップアウト付き Wide ブロック", "Wide block with dropout", 3)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第2章 Wide ResNet",
    "Chapter 02 Wide ResNet",
    (WRN_GROUPS, BLOCK_PARAMETERS, NETWORK_PARAMETERS, CONV_MACS, WIDE_BLOCK),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


def _reference_network(depth: int, widen_factor: int, num_classes: int = 10) -> reference.WideResNet:
    """WRN-depth-k built on the meta device: real modules and counts, no memory, no initialisation cost."""
    with torch.device("meta"):
        return reference.wide_resnet(depth, widen_factor, num_classes=num_classes)


# --------------------------------------------------------------------------------------------------
# Exercise 1: groups of WRN-n-k
# --------------------------------------------------------------------------------------------------

#: (depth, widen_factor): the paper's WRN-16-4, WRN-28-10, WRN-40-4, a thin WRN-10-1, WRN-22-8.
GROUP_CASES: tuple[tuple[int, int], ...] = ((16, 4), (28, 10), (40, 4), (10, 1), (22, 8))
#: Depths that are not 6N + 4: the function must refuse them.
INVALID_DEPTHS: tuple[int, ...] = (30, 27)


def measured_groups(depth: int, widen_factor: int) -> list[tuple[int, int]]:
    """(blocks, output channels) of layer1, layer2, layer3 of the reference WRN."""
    model = _reference_network(depth, widen_factor)
    groups = (model.layer1, model.layer2, model.layer3)
    return [(len(group), int(group[-1].conv2.out_channels)) for group in groups]


def _groups_formula(
    swap: bool = False, depth_as_blocks: bool = False, widen: bool = True, divisor: int = 6
) -> Callable[[int, int], list[tuple[int, int]]]:
    """The group table with one of the usual mistakes built in (used to name the mistake)."""

    def formula(depth: int, k: int) -> list[tuple[int, int]]:
        blocks = depth if depth_as_blocks else (depth - 4) // divisor
        factor = k if widen else 1
        if swap:
            return [(k, width * blocks) for width in (16, 32, 64)]
        return [(blocks, width * factor) for width in (16, 32, 64)]

    return formula


#: The classic mix-up of the two multipliers first: k scales channels, n sets the number of blocks.
_GROUP_MISTAKES = {
    "width and depth are swapped: the widening factor k multiplies the channels (16k, 32k, 64k), and the "
    "depth n sets the number of blocks per group, N = (n − 4) / 6.": _groups_formula(swap=True),
    "the channels are not widened: each group has 16k, 32k, 64k channels.": _groups_formula(widen=False),
    "the depth n counts convolution layers, not blocks: each group has N = (n − 4) / 6 blocks.": (
        _groups_formula(depth_as_blocks=True)
    ),
    "(n − 4) / 2 is the number of blocks of all three groups together; each group has a third of it, "
    "(n − 4) / 6.": _groups_formula(divisor=2),
}


def _as_groups(value: object) -> list[tuple[int, int]] | None:
    try:
        pairs = list(value)  # type: ignore[call-overload]
        groups = [(int(blocks), int(channels)) for blocks, channels in pairs]
    except (TypeError, ValueError):
        return None
    return groups


def check_groups(
    wrn_groups: Callable[[int, int], object],
    cases: tuple[tuple[int, int], ...] = GROUP_CASES,
    invalid_depths: tuple[int, ...] = INVALID_DEPTHS,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 1: ``wrn_groups(depth, widen_factor)`` → three (blocks, channels) pairs.

    A depth that is not 6N + 4 must raise ``ValueError``.
    """

    def body(checker: Checker) -> None:
        answers: dict[tuple[int, ...], object] = {}
        any_wrong = False
        for depth, k in cases:
            description = f"wrn_groups({depth}, {k})"
            answer = checker.run(description, wrn_groups, depth, k)
            if answer is None:
                checker.stop(description, "returned None: did you forget the 'return' statement?")
            groups = _as_groups(answer)
            if groups is None:
                checker.stop(description, f"expected three (blocks, channels) pairs, got {answer!r}.")
            answers[(depth, k)] = groups
            truth = measured_groups(depth, k)
            ok = groups == truth
            any_wrong |= not ok
            checker.expect(
                description, ok, success=f"{truth}", failure=f"{groups}, WRN-{depth}-{k} has {truth}"
            )
        if any_wrong:
            diagnosis = diagnose_by_formula(answers, _GROUP_MISTAKES)
            checker.failed(
                "what to fix",
                diagnosis
                or "N = (n − 4) / 6 blocks in each group; the groups have 16k, 32k and 64k channels.",
            )
        for depth in invalid_depths:
            description = f"wrn_groups({depth}, 4)"
            try:
                answer = wrn_groups(depth, 4)
            except NotImplementedError:
                raise
            except (ValueError, CourseError):
                checker.passed(description, f"raises: {depth} − 4 is not a multiple of 6")
                continue
            except Exception as error:  # noqa: BLE001 — student code
                checker.failed(
                    description,
                    f"raised {type(error).__name__}; raise ValueError with a message instead (depth − 4 must "
                    "be a multiple of 6).",
                )
                continue
            checker.failed(
                description,
                f"returned {answer!r}, but WRN-{depth}-k does not exist: ({depth} − 4) / 6 is not a whole "
                "number. Raise ValueError.",
            )

    return check_and_report(WRN_GROUPS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 2: parameters of one wide block
# --------------------------------------------------------------------------------------------------

#: (in_planes, out_planes, stride): the first block of WRN-28-10 (16 → 160, projection), an identity block,
#: the first block of the second group (stride 2), a thin identity block, a first block with k = 1.
BLOCK_CASES: tuple[tuple[int, int, int], ...] = (
    (16, 160, 1),
    (160, 160, 1),
    (160, 320, 2),
    (64, 64, 1),
    (16, 32, 2),
)


def measured_block_parameters(in_planes: int, out_planes: int, stride: int) -> int:
    with torch.device("meta"):
        return count_parameters(reference.WideBasicBlock(in_planes, out_planes, stride))


def _block_formula(
    in_planes: int,
    out_planes: int,
    stride: int,
    *,
    bn1_on_output: bool = False,
    projection: str = "when needed",
    projection_bn: bool = False,
    bias: bool = False,
    batchnorm: bool = True,
) -> int:
    bn1 = out_planes if bn1_on_output else in_planes
    count = 9 * in_planes * out_planes + 9 * out_planes * out_planes
    if batchnorm:
        count += 2 * bn1 + 2 * out_planes
    if bias:
        count += 2 * out_planes
    shape_changes = stride != 1 or in_planes != out_planes
    if projection == "always" or (projection == "when needed" and shape_changes):
        count += in_planes * out_planes
        count += (2 * out_planes if projection_bn else 0) + (out_planes if bias else 0)
    return count


_BLOCK_MISTAKES: dict[str, Callable[..., int]] = {
    "the block is pre-activation: its first BatchNorm normalises the block's *input*, so it has 2·in_planes "
    "parameters, not 2·out_planes.": lambda i, o, s: _block_formula(i, o, s, bn1_on_output=True),
    "the projection shortcut is missing: where the channels or the stride change, the shortcut is a 1×1 "
    "convolution (in_planes·out_planes weights).": (
        lambda i, o, s: _block_formula(i, o, s, projection="never")
    ),
    "the WRN projection is a bare 1×1 convolution: no BatchNorm after it (the block's input is already "
    "normalised by bn1).": lambda i, o, s: _block_formula(i, o, s, projection_bn=True),
    "you counted convolution biases: the convolutions have bias=False (a BatchNorm follows each).": (
        lambda i, o, s: _block_formula(i, o, s, bias=True)
    ),
    "BatchNorm is missing from your count: 2·C parameters (γ, β) for each of the two BatchNorms.": (
        lambda i, o, s: _block_formula(i, o, s, batchnorm=False)
    ),
    "you added a projection to every block; where the shape is unchanged the shortcut is the identity.": (
        lambda i, o, s: _block_formula(i, o, s, projection="always")
    ),
}


def check_block_parameters(
    wide_block_parameters: Callable[[int, int, int], object],
    cases: tuple[tuple[int, int, int], ...] = BLOCK_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 2: ``wide_block_parameters(in_planes, out_planes, stride)`` against the reference block."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "wide_block_parameters", wide_block_parameters, cases, measured_block_parameters,
            success=lambda case, truth: f"{truth:,}",
            failure=lambda case, answer, truth: f"{answer:,}, the block has {truth:,}",
            mistakes=_BLOCK_MISTAKES,
            fix="bn1 (2·in) + conv1 (9·in·out) + bn2 (2·out) + conv2 (9·out²) + a 1×1 projection (in·out) "
            "where the shape changes.",
        )

    return check_and_report(BLOCK_PARAMETERS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 3: parameters of the whole network
# --------------------------------------------------------------------------------------------------

#: (depth, widen_factor, num_classes): the paper's WRN-40-4 (8.9M), WRN-16-8 (11.0M), WRN-28-10 (36.5M),
#: and two small ones (Section 3 of the paper; CIFAR-100 has 100 classes).
NETWORK_CASES: tuple[tuple[int, int, int], ...] = (
    (40, 4, 10),
    (16, 8, 10),
    (28, 10, 10),
    (16, 4, 100),
    (10, 1, 10),
)


def measured_network_parameters(depth: int, widen_factor: int, num_classes: int) -> int:
    return count_parameters(_reference_network(depth, widen_factor, num_classes))


def _network_formula(
    depth: int,
    k: int,
    num_classes: int,
    *,
    stem: bool = True,
    final_bn: bool = True,
    fc_bias: bool = True,
    first_projection: bool = True,
) -> int:
    blocks = (depth - 4) // 6
    count = 9 * 3 * 16 if stem else 0
    in_planes = 16
    for group, base in enumerate((16, 32, 64)):
        width = base * k
        for index in range(blocks):
            stride = 2 if group > 0 and index == 0 else 1
            count += _block_formula(in_planes, width, stride)
            if group == 0 and index == 0 and not first_projection and in_planes != width:
                count -= in_planes * width
            in_planes = width
    count += (2 * in_planes if final_bn else 0) + in_planes * num_classes + (num_classes if fc_bias else 0)
    return count


_NETWORK_MISTAKES: dict[str, Callable[..., int]] = {
    "the final BatchNorm is missing: a pre-activation network ends with BN-ReLU before the pooling (2·64k "
    "parameters).": lambda d, k, c: _network_formula(d, k, c, final_bn=False),
    "the first convolution (3 → 16 channels, 3×3: 432 weights) is missing.": lambda d, k, c: _network_formula(
        d, k, c, stem=False
    ),
    "the classifier's bias is missing (num_classes parameters).": lambda d, k, c: _network_formula(
        d, k, c, fc_bias=False
    ),
    "the first block of the first group changes 16 → 16k channels, so it needs a projection too "
    "(unless k = 1).": (
        lambda d, k, c: _network_formula(d, k, c, first_projection=False)
    ),
}


def _groups_are_right(wrn_groups: Callable[..., object]) -> bool:
    """Exercise 1's answer on its own cases, quietly (for naming it as the cause in exercise 3)."""
    return all(_as_groups(wrn_groups(*case)) == measured_groups(*case) for case in GROUP_CASES)


def _block_parameters_are_right(wide_block_parameters: Callable[..., object]) -> bool:
    """Exercise 2's answer on its own cases, quietly (for naming it as the cause in exercise 3)."""
    return all(wide_block_parameters(*case) == measured_block_parameters(*case) for case in BLOCK_CASES)


#: Exercise 3 asks to build on the answers of exercises 1 and 2.
NETWORK_PARAMETERS_BUILDS_ON = (
    EarlierAnswer("wrn_groups", WRN_GROUPS, _groups_are_right),
    EarlierAnswer("wide_block_parameters", BLOCK_PARAMETERS, _block_parameters_are_right),
)


def check_network_parameters(
    wrn_parameters: Callable[[int, int, int], object],
    cases: tuple[tuple[int, int, int], ...] = NETWORK_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 3: ``wrn_parameters(depth, widen_factor, num_classes)`` against the reference network."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "wrn_parameters", wrn_parameters, cases, measured_network_parameters,
            success=lambda case, truth: f"{truth:,} ≈ {truth / 1e6:.1f}M (WRN-{case[0]}-{case[1]})",
            failure=lambda case, answer, truth: (
                f"{answer:,}, WRN-{case[0]}-{case[1]} with {case[2]} classes has {truth:,}"
            ),
            mistakes=_NETWORK_MISTAKES,
            fix="conv1 (9·3·16) + every block (exercise 2) + the final BatchNorm (2·64k) + the classifier "
            "(64k·classes + classes).",
            earlier=NETWORK_PARAMETERS_BUILDS_ON,
        )

    return check_and_report(NETWORK_PARAMETERS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 4: multiply-adds of a 3×3 convolution
# --------------------------------------------------------------------------------------------------

#: (in_channels, out_channels, input_size, stride), padding 1: WRN-28-10's layers, a stem, an odd size.
MACS_CASES: tuple[tuple[int, int, int, int], ...] = (
    (16, 16, 32, 1),
    (16, 160, 32, 1),
    (160, 320, 32, 2),
    (64, 64, 8, 1),
    (3, 16, 28, 1),
    (32, 64, 7, 2),
)


def measured_conv3x3_macs(in_channels: int, out_channels: int, input_size: int, stride: int) -> int:
    """Multiply-adds of ``nn.Conv2d(in, out, 3, stride, padding=1, bias=False)`` by ``FlopCounterMode``.

    PyTorch counts a multiply-add as 2 FLOPs, so MACs = FLOPs / 2.
    """
    from torch.utils.flop_counter import FlopCounterMode

    conv = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        conv(torch.zeros(1, in_channels, input_size, input_size))
    return int(counter.get_total_flops()) // 2


def _macs_formula(*, factor: int = 1, kernel: int = 9, stride_used: bool = True, floor_half: bool = False):
    def formula(cin: int, cout: int, size: int, stride: int) -> int:
        out = size if not stride_used else (size // stride if floor_half else (size - 1) // stride + 1)
        return factor * kernel * cin * cout * out * out

    return formula


_MACS_MISTAKES = {
    "that is the FLOP count (2 per multiply-add); a multiply-add counts once.": _macs_formula(factor=2),
    "the stride is missing: count one multiply-add per *output* position, and a stride-2 convolution has a "
    "quarter of the positions.": _macs_formula(stride_used=False),
    "each output value needs 3×3·C_in multiply-adds: the 9 of the kernel is missing.": (
        _macs_formula(kernel=1)
    ),
    "for an odd size, a stride-2 3×3 convolution with padding 1 gives ⌈n/2⌉ positions (7 → 4), not n // 2.": (
        _macs_formula(floor_half=True)
    ),
}


def check_conv_macs(
    conv3x3_macs: Callable[[int, int, int, int], object],
    cases: tuple[tuple[int, int, int, int], ...] = MACS_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 4: ``conv3x3_macs(in_channels, out_channels, input_size, stride)`` against FlopCounterMode."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "conv3x3_macs", conv3x3_macs, cases, measured_conv3x3_macs,
            success=lambda case, truth: f"{truth:,}",
            failure=lambda case, answer, truth: f"{answer:,}, PyTorch counts {truth:,}",
            mistakes=_MACS_MISTAKES,
            fix="MACs = 9 · C_in · C_out · H_out · W_out with H_out = (H − 1) // stride + 1.",
        )

    return check_and_report(CONV_MACS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 5: the wide block with dropout
# --------------------------------------------------------------------------------------------------


def _wide_candidates(ref: reference.WideBasicBlock, x: Tensor) -> dict[str, Tensor]:
    """Outputs of the usual mistakes, from the reference block's own layers (eval mode: dropout is off)."""
    ref.eval()
    with torch.no_grad():
        preactivated = F.relu(ref.bn1(x))
        residual = ref.conv2(F.relu(ref.bn2(ref.conv1(preactivated))))
        shortcut = x if ref.shortcut is None else ref.shortcut(preactivated)
        candidates = {
            "minus": residual - shortcut,
            "alone": residual,
            "final_relu": F.relu(residual + shortcut),
        }
        if ref.shortcut is not None:
            candidates["shortcut_on_x"] = residual + ref.shortcut(x)
        else:  # post-activation (ResNet v1) order, possible only where bn1 has out_planes channels
            post = F.relu(ref.bn2(ref.conv2(F.relu(ref.bn1(ref.conv1(x))))) + x)
            candidates["post_activation"] = post
    return candidates


_WIDE_MESSAGES = {
    "minus": "your block subtracts the shortcut; it must add it: out = F(x) + shortcut.",
    "alone": "your block returns F(x) only: add the shortcut (x, or the 1×1 projection where the shape "
    "changes).",
    "final_relu": "a pre-activation block ends with the addition; there is no ReLU after it (the next block "
    "starts with BN-ReLU).",
    "shortcut_on_x": "apply the 1×1 projection to the pre-activated input relu(bn1(x)), as the authors' code "
    "does, not to the raw x.",
    "post_activation": "you wrote the original post-activation order (conv → BN → ReLU). A WRN block is "
    "pre-activation: BN → ReLU → conv, twice (He et al., 2016, arXiv:1603.05027; WRN paper Fig. 1(c)).",
}

_WIDE_ORDER = (
    "The block is bn1 → ReLU → conv1 (3×3, stride) → bn2 → ReLU → dropout → conv2 (3×3), plus the shortcut; "
    "no ReLU after the addition."
)


def _bn_in_eval_mode(block: nn.Module) -> None:
    """Training mode for the block (dropout on), running statistics for BatchNorm (deterministic)."""
    block.train()
    for module in block.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.eval()


def _dropout_probability(call: TracedCall) -> float:
    """``p`` of a traced dropout call, by keyword or position (F.dropout's default is 0.5)."""
    value = call.options.get("p", call.options.get("arg1", 0.5))
    return float(value) if isinstance(value, (int, float)) else float("nan")


def _active_dropouts(calls: list[TracedCall]) -> list[TracedCall]:
    """Dropout calls that zero something: training=True and p > 0."""

    def training(call: TracedCall) -> bool:
        return bool(call.options.get("training", call.options.get("arg2", True)))

    return [c for c in calls if is_dropout(c) and training(c) and _dropout_probability(c) > 0]


#: Where the dropout sits, as read from the trace, and what to tell the student.
_DROPOUT_PLACES = {
    "before_conv1": "dropout acts on the block's input, before the first convolution; the paper puts it "
    "between the two convolutions (Section 2.4), after the second BN-ReLU.",
    "after_conv2": "dropout acts after the second convolution (on F(x) or on the sum); move it between the "
    "convolutions, after the second BN-ReLU.",
    "shortcut": "dropout acts on the shortcut, which must carry x unchanged. Put dropout between the two "
    "convolutions (paper Section 2.4).",
}


def _is_3x3_convolution(call: TracedCall) -> bool:
    return is_convolution(call) and call.weight_shape is not None and call.weight_shape[-2:] == (3, 3)


def check_dropout_placement(
    checker: Checker, description: str, block: nn.Module, x: Tensor, dropout: float
) -> None:
    """Dropout must act between the two 3×3 convolutions (paper Section 2.4), read from the traced calls.

    The trace records which call produced each tensor, so "conv2 reads what dropout produced, and dropout
    reads what conv1 produced" is checked on the data flow, whatever the module or variable names.
    """
    name = "dropout between the two convolutions"
    _bn_in_eval_mode(block)
    run_in_training = f"{description} in training mode"
    _, calls = checker.run(run_in_training, trace_torch_calls, lambda: block(x.clone()))
    convs = [call for call in calls if _is_3x3_convolution(call)]
    dropouts = _active_dropouts(calls)
    if len(convs) != 2:
        checker.stop(name, f"found {len(convs)} 3×3 convolutions in the forward pass; the block has two.")
    if not dropouts:
        if any(is_dropout(call) for call in calls):
            advice = "it ran with training=False; use nn.Dropout or F.dropout(…, training=self.training)."
        else:
            advice = f"add nn.Dropout(p={dropout}) after the second BN-ReLU, before conv2."
        checker.stop(name, f"no dropout ran in training mode: {advice}")
    if len(dropouts) > 1:
        checker.stop(name, f"dropout ran {len(dropouts)} times; the block has one, between the convolutions.")
    drop = dropouts[0]
    conv1, conv2 = convs
    probability = _dropout_probability(drop)
    checker.expect(
        "dropout probability",
        abs(probability - dropout) < 1e-9,
        success=f"p = {dropout:g}",
        failure=f"dropout used p = {probability:g}; use the block's dropout argument ({dropout:g}).",
    )

    def comes_from(call: TracedCall, source: TracedCall) -> bool:
        return produced_by(calls, call, lambda candidate: candidate.index == source.index)

    if comes_from(drop, conv1) and comes_from(conv2, drop):
        checker.passed(name, "conv1 → … → dropout → conv2")
    elif comes_from(conv1, drop):
        checker.failed(name, _DROPOUT_PLACES["before_conv1"])
    elif comes_from(drop, conv2):
        checker.failed(name, _DROPOUT_PLACES["after_conv2"])
    else:
        checker.failed(name, _DROPOUT_PLACES["shortcut"])


def check_wide_block(
    block_class: type,
    *,
    in_planes: int = 16,
    out_planes: int = 32,
    dropout: float = 0.3,
    size: int = 8,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 5: ``WideBasicBlock(in_planes, out_planes, stride=1, dropout=0.0)`` against the reference.

    Two configurations: a first block of a group (``in_planes`` → ``out_planes``, stride 2, projection)
    and an identity block (``out_planes`` → ``out_planes``), both with ``dropout``.
    """

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            given = type(block_class).__name__
            checker.stop("WideBasicBlock is a class", f"pass the class itself, got {given}.")
        for cin, cout, stride in [(in_planes, out_planes, 2), (out_planes, out_planes, 1)]:
            description = f"WideBasicBlock({cin}, {cout}, stride={stride}, dropout={dropout})"
            student = build(checker, description, lambda: block_class(cin, cout, stride, dropout))
            ref = reference.WideBasicBlock(cin, cout, stride, dropout)
            check_parameter_count(
                checker,
                description,
                student,
                ref,
                "bn1 on the input channels, two 3×3 convolutions without bias, bn2, and a bare 1×1 "
                "convolution as the shortcut where the shape changes.",
            )
            x = seeded_input((2, cin, size, size), seed=cin + stride)
            with torch.no_grad():
                hint = "Where the shape changes, add the 1×1 projection of the input, not x."
                output = run_forward(checker, description, student.eval(), x.clone(), hint=hint)
            out_size = (size - 1) // stride + 1
            check_output_shape(
                checker,
                description,
                output,
                (2, cout, out_size, out_size),
                "conv1 carries the stride; the block outputs out_planes channels.",
            )
            randomize_module(ref, seed=cout + stride)
            candidates = _wide_candidates(ref, x)
            compare_with_reference(
                checker, description, student, ref, x, candidates, _WIDE_MESSAGES, _WIDE_ORDER
            )
            student.eval()
            with torch.no_grad():
                first = run_forward(checker, description, student, x.clone())
                second = run_forward(checker, description, student, x.clone())
            checker.expect(
                "no dropout in eval mode",
                same_output(first, second),
                success="two eval-mode passes agree",
                failure="the output changes between two eval-mode passes: dropout must be off in eval mode "
                "(nn.Dropout does this; F.dropout needs training=self.training).",
            )
            check_dropout_placement(checker, description, student, x, dropout)
        check_gradients(checker, description, student, x)

    return check_and_report(WIDE_BLOCK, body, part=part)


__all__ = [
    "CHAPTER",
    "check_block_parameters",
    "check_conv_macs",
    "check_groups",
    "check_network_parameters",
    "check_wide_block",
    "summary",
]
