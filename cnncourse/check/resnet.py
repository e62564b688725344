"""Checks for the exercises of chapter 01, ResNet (He et al., 2015, arXiv:1512.03385).

Every check compares what the student wrote with the course's reference implementation in
:mod:`cnncourse.models.resnet` (torchvision-compatible ``BasicBlock`` / ``Bottleneck``, the CIFAR
ResNet-20 of paper Section 4.2) by behaviour: sizes measured on real layers, parameter counts of real
modules, outputs with the reference's weights copied in, gradients. Where an answer is wrong in a way
students often get wrong, the ✗ line names that mistake — F(x) − x or F(x) alone instead of
F(x) + x, a missing projection where the shape changes, the stride on the wrong convolution,
BatchNorm forgotten in a count, and so on — by recognising the behaviour, not the source text.

The exercises (notebook ``solutions/01_resnet.ipynb``):

1. ``conv_output_size`` — output size of a convolution, by formula;
2. ``resnet20_feature_sizes`` — map sizes after the three stages of ResNet-20 (stride-2 stages);
3. ``bottleneck_parameters`` — parameters of a bottleneck block, by hand;
4. ``projection_shortcut`` — identity where shapes match, 1×1 projection (option B) where they change;
5. ``BasicBlock`` — the two-3×3 residual block;
6. ``Bottleneck`` — the 1×1 → 3×3 → 1×1 block (stride on the 3×3, as torchvision's "ResNet v1.5").
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
    earlier_answer_cause,
)
from cnncourse.check.probes import (
    count_parameters,
    randomize_module,
    same_output,
    seeded_input,
    shape_text,
    transfer_weights,
)
from cnncourse.check.steps import (
    build,
    check_gradients,
    check_identity_fallback,
    check_input_untouched,
    check_output_shape,
    check_parameter_count,
    compare_with_reference,
    diagnose_by_formula,
    integer_answer,
    run_forward,
)
from cnncourse.models import resnet as reference

CHAPTER_NAME = "01_resnet"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


CONV_OUTPUT_SIZE = _exercise(1, "resnet_conv_output_size", "畳み込みの出力サイズ", "Output size of a convolution", 1)
STAGE_SIZES = _exercise(2, "resnet_stage_sizes", "ResNet-20 の特徴マップサイズ", "Feature-map sizes of ResNet-20", 1)
BOTTLENECK_PARAMETERS = _exercise(
    3, "resnet_bottleneck_parameters", "ボトルネックのパラメータ数", "Parameters of a bottleneck block", 2
)
PROJECTION_SHORTCUT = _exercise(4, "resnet_projection_shortcut", "射影ショートカット", "Projection shortcut", 2)
BASIC_BLOCK = _exercise(5, "resnet_basic_block", "基本ブロック", "Basic block", 3)
BOTTLENECK = _exercise(6, "resnet_bottleneck", "ボトルネックブロック", "Bottleneck block", 3)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第1章 ResNet",
    "Chapter 01 ResNet",
    (CONV_OUTPUT_SIZE, STAGE_SIZES, BOTTLENECK_PARAMETERS, PROJECTION_SHORTCUT, BASIC_BLOCK, BOTTLENECK),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


# --------------------------------------------------------------------------------------------------
# Helpers of this chapter
# --------------------------------------------------------------------------------------------------


def _projection(in_planes: int, out_planes: int, stride: int) -> nn.Sequential:
    """The option-B shortcut torchvision's ResNet hands to a block whose shape changes."""
    return nn.Sequential(reference.conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))


def _check_expansion(checker: Checker, block_class: type, expected: int) -> None:
    value = getattr(block_class, "expansion", None)
    checker.expect(
        "class attribute expansion",
        value == expected,
        success=f"expansion = {expected}",
        failure=(
            f"set the class attribute expansion = {expected} (found {value!r}); ResNet multiplies planes by "
            "it to know a block's output channels."
        ),
    )


#: What the usual residual-block mistakes look like, keyed like the candidate outputs that reveal them.
RESIDUAL_MISTAKES = {
    "minus": "your block computes relu(F(x) − shortcut): it subtracts the shortcut. A residual block adds "
    "it: relu(F(x) + x) (He et al., 2015, Eq. 1).",
    "alone": "your block returns relu(F(x)): the shortcut is never added. Add x (or downsample(x)) before "
    "the last ReLU.",
    "no_final_relu": "your block returns F(x) + x without the final ReLU; the block applies ReLU after the "
    "addition (paper Fig. 2).",
    "relu_before_add": "you apply ReLU to F(x) and then add the shortcut; the paper adds first and applies "
    "ReLU to the sum (Fig. 2).",
}


# --------------------------------------------------------------------------------------------------
# Exercise 1: output size of a convolution
# --------------------------------------------------------------------------------------------------

#: (size, kernel_size, stride, padding): the stem of ImageNet ResNets, stride-2 3×3 on odd sizes, 1×1
#: projections, an unpadded 5×5.
CONV_CASES: tuple[tuple[int, int, int, int], ...] = (
    (32, 3, 1, 1),
    (32, 3, 2, 1),
    (7, 3, 2, 1),
    (224, 7, 2, 3),
    (112, 3, 2, 1),
    (56, 1, 2, 0),
    (15, 5, 1, 0),
    (9, 1, 2, 0),
)


def measured_conv_output_size(size: int, kernel_size: int, stride: int, padding: int) -> int:
    """The output size a real ``nn.Conv2d`` gives (the ground truth of exercise 1)."""
    conv = nn.Conv2d(1, 1, kernel_size, stride, padding, bias=False)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, size, size)).shape[-1])


_CONV_SIZE_MISTAKES: dict[str, Callable[..., int]] = {
    "you forgot the + 1: the first window position counts too. "
    "out = (size + 2·padding − kernel) // stride + 1.": (lambda n, k, s, p: (n + 2 * p - k) // s),
    "padding is added on both sides: use 2·padding. out = (size + 2·padding − kernel) // stride + 1.": (
        lambda n, k, s, p: (n + p - k) // s + 1
    ),
    "you rounded up; a window that would run past the padded input is not used, so round down (//).": (
        lambda n, k, s, p: -(-(n + 2 * p - k) // s) + 1
    ),
    "the stride is missing: a stride-s convolution moves its window s pixels at a time, so divide by s.": (
        lambda n, k, s, p: n + 2 * p - k + 1
    ),
    "the padding is missing from your formula.": lambda n, k, s, p: (n - k) // s + 1,
}


def check_conv_output_size(
    conv_output_size: Callable[[int, int, int, int], object],
    cases: tuple[tuple[int, int, int, int], ...] = CONV_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 1: ``conv_output_size(size, kernel_size, stride, padding)`` against real ``nn.Conv2d``."""

    def body(checker: Checker) -> None:
        answers: dict[tuple[int, ...], int] = {}
        wrong: list[str] = []
        for case in cases:
            description = f"conv_output_size({', '.join(map(str, case))})"
            answer = integer_answer(checker, description, checker.run(description, conv_output_size, *case))
            answers[case] = answer
            truth = measured_conv_output_size(*case)
            if answer != truth:
                wrong.append(f"{description} = {answer}, nn.Conv2d gives {truth}")
        if not wrong:
            example = "e.g. 7 → 4 with kernel 3, stride 2, padding 1"
            checker.passed("matches nn.Conv2d", f"all {len(cases)} cases, {example}")
            return
        diagnosis = diagnose_by_formula(answers, _CONV_SIZE_MISTAKES)
        checker.failed(
            "matches nn.Conv2d",
            f"{len(wrong)} of {len(cases)} cases wrong ({wrong[0]}). "
            + (diagnosis or "out = (size + 2·padding − kernel_size) // stride + 1."),
        )

    return check_and_report(CONV_OUTPUT_SIZE, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 2: feature-map sizes of ResNet-20
# --------------------------------------------------------------------------------------------------

STAGE_SIZE_INPUTS: tuple[int, ...] = (32, 28, 27, 9)


def measured_stage_sizes(input_size: int) -> list[int]:
    """Spatial size after each stage of the reference ``resnet20`` (forward hooks on layer1..layer3)."""
    from cnncourse.models import create_model

    model = create_model("resnet20", in_channels=1).eval()
    sizes: list[int] = []
    hooks = [
        stage.register_forward_hook(lambda module, inputs, output: sizes.append(int(output.shape[-1])))
        for stage in (model.layer1, model.layer2, model.layer3)
    ]
    try:
        with torch.no_grad():
            model(torch.zeros(1, 1, input_size, input_size))
    finally:
        for hook in hooks:
            hook.remove()
    return sizes


def _conv_output_size_is_right(conv_output_size: Callable[..., object]) -> bool:
    """Exercise 1's answer on its own cases, quietly (for naming it as the cause in exercise 2)."""
    return all(conv_output_size(*case) == measured_conv_output_size(*case) for case in CONV_CASES)


#: Exercise 2 asks to build on exercise 1's helper.
STAGE_SIZES_BUILDS_ON = (EarlierAnswer("conv_output_size", CONV_OUTPUT_SIZE, _conv_output_size_is_right),)


def check_stage_sizes(
    resnet20_feature_sizes: Callable[[int], object],
    inputs: tuple[int, ...] = STAGE_SIZE_INPUTS,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 2: ``resnet20_feature_sizes(input_size)`` against the reference ResNet-20 with hooks."""

    def body(checker: Checker) -> None:
        for size in inputs:
            description = f"resnet20_feature_sizes({size})"
            answer = checker.run(description, resnet20_feature_sizes, size, earlier=STAGE_SIZES_BUILDS_ON)
            truth = measured_stage_sizes(size)
            if answer is None:
                checker.stop(description, "returned None: did you forget the 'return' statement?")
            try:
                given = [int(v) for v in answer]  # type: ignore[union-attr]
            except (TypeError, ValueError):
                checker.stop(description, f"expected a list of three sizes, got {answer!r}.")
            if given == truth:
                checker.passed(description, f"{truth}")
                continue
            if len(given) != 3:
                hint = "give one size per stage: three numbers."
            elif given == [size, size // 2, size // 4] or given[1:] == [truth[0] // 2, truth[0] // 4]:
                hint = (
                    "A 3×3 convolution with stride 2 and padding 1 maps n to (n + 2 − 3) // 2 + 1 = ⌈n/2⌉, "
                    f"so an odd size rounds up ({size} → {truth[1]}), not n // 2."
                )
            elif given in ([size // 2, size // 4, size // 8], [-(-size // 2), -(-size // 4), -(-size // 8)]):
                hint = "the first stage keeps the size (stride 1); only stages 2 and 3 start with stride 2."
            else:
                hint = "stage 1 keeps the size; stages 2 and 3 each halve it with a stride-2 3×3 convolution."
            hint = earlier_answer_cause(resnet20_feature_sizes, STAGE_SIZES_BUILDS_ON) or hint
            checker.failed(description, f"{given}, the model gives {truth}. {hint}")

    return check_and_report(STAGE_SIZES, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 3: parameters of a bottleneck block
# --------------------------------------------------------------------------------------------------

#: (inplanes, planes, stride): first block of conv2_x (projection at stride 1), an identity block, the
#: first blocks of conv3_x and conv5_x (stride 2), and an identity block of conv3_x.
BOTTLENECK_CASES: tuple[tuple[int, int, int], ...] = (
    (64, 64, 1),
    (256, 64, 1),
    (256, 128, 2),
    (512, 128, 1),
    (1024, 512, 2),
)


def _needs_projection(inplanes: int, planes: int, stride: int, expansion: int) -> bool:
    return stride != 1 or inplanes != planes * expansion


def measured_bottleneck_parameters(inplanes: int, planes: int, stride: int) -> int:
    """Parameters of the reference ``Bottleneck`` with torchvision's projection rule.

    Built on the meta device: real modules, counted without allocating or initialising any weight.
    """
    expansion = reference.Bottleneck.expansion
    with torch.device("meta"):
        downsample = (
            _projection(inplanes, planes * expansion, stride)
            if _needs_projection(inplanes, planes, stride, expansion)
            else None
        )
        block = reference.Bottleneck(inplanes, planes, stride, downsample)
    return count_parameters(block)


def _bottleneck_formula(
    inplanes: int,
    planes: int,
    stride: int,
    *,
    expansion: int = 4,
    bn_per_channel: int = 2,
    bias: bool = False,
    projection: str = "when needed",
    projection_bn: bool = True,
) -> int:
    """Bottleneck parameter count with switches for the usual mistakes (used to name them)."""
    out = planes * expansion
    convs = inplanes * planes + 9 * planes * planes + planes * out
    count = convs + bn_per_channel * (planes + planes + out) + (planes + planes + out if bias else 0)
    project = projection == "always" or (projection == "when needed" and (stride != 1 or inplanes != out))
    if project:
        count += inplanes * out + (bn_per_channel * out if projection_bn else 0) + (out if bias else 0)
    return count


_BOTTLENECK_MISTAKES: dict[str, Callable[..., int]] = {
    "BatchNorm is missing from your count: each BatchNorm2d(C) learns 2·C parameters (γ and β), after all "
    "three convolutions and in the projection.": (
        lambda i, p, s: _bottleneck_formula(i, p, s, bn_per_channel=0)
    ),
    "you counted BatchNorm's running mean and variance: they are buffers, not parameters (only γ and β are "
    "learned: 2·C).": lambda i, p, s: _bottleneck_formula(i, p, s, bn_per_channel=4),
    "you counted convolution biases: the convolutions have bias=False, since the BatchNorm after them "
    "subtracts any bias.": lambda i, p, s: _bottleneck_formula(i, p, s, bias=True),
    "the projection shortcut is missing: where the stride is 2 or inplanes ≠ 4·planes, the shortcut is a 1×1 "
    "convolution (inplanes·4·planes weights) plus BatchNorm.": lambda i, p, s: _bottleneck_formula(
        i, p, s, projection="never"
    ),
    "you added a projection to every block; where the shapes already match, the shortcut is the identity "
    "(no parameters).": lambda i, p, s: _bottleneck_formula(i, p, s, projection="always"),
    "the projection's BatchNorm is missing (2·4·planes parameters).": lambda i, p, s: _bottleneck_formula(
        i, p, s, projection_bn=False
    ),
    "the last 1×1 expands to 4·planes channels (expansion = 4), not planes.": (
        lambda i, p, s: _bottleneck_formula(i, p, s, expansion=1)
    ),
}


def check_bottleneck_parameters(
    bottleneck_parameters: Callable[[int, int, int], object],
    cases: tuple[tuple[int, int, int], ...] = BOTTLENECK_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 3: ``bottleneck_parameters(inplanes, planes, stride)`` against the reference block's count."""

    def body(checker: Checker) -> None:
        answers: dict[tuple[int, ...], int] = {}
        wrong = []
        for case in cases:
            description = f"bottleneck_parameters({', '.join(map(str, case))})"
            given = checker.run(description, bottleneck_parameters, *case)
            answer = integer_answer(checker, description, given)
            answers[case] = answer
            truth = measured_bottleneck_parameters(*case)
            ok = answer == truth
            checker.expect(
                description, ok, success=f"{truth:,}", failure=f"{answer:,}, the block has {truth:,}"
            )
            if not ok:
                wrong.append(case)
        if wrong:
            diagnosis = diagnose_by_formula(answers, _BOTTLENECK_MISTAKES)
            checker.failed(
                "what to fix",
                diagnosis
                or "count conv1 (inplanes·planes), conv2 (9·planes²), conv3 (planes·4·planes), 2·C per "
                "BatchNorm, and the projection (1×1 conv + BatchNorm) only where the shape changes.",
            )

    return check_and_report(BOTTLENECK_PARAMETERS, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 4: projection shortcut
# --------------------------------------------------------------------------------------------------

#: (in_planes, out_planes, stride): identity, then three shape changes.
SHORTCUT_CASES: tuple[tuple[int, int, int], ...] = ((16, 16, 1), (16, 32, 2), (16, 64, 1), (32, 32, 2))


def reference_shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module | None:
    """None (identity) where the shape is kept, else torchvision's option-B projection."""
    return _projection(in_planes, out_planes, stride) if stride != 1 or in_planes != out_planes else None


def check_projection_shortcut(
    projection_shortcut: Callable[[int, int, int], object],
    cases: tuple[tuple[int, int, int], ...] = SHORTCUT_CASES,
    *,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 4: ``projection_shortcut(in_planes, out_planes, stride)`` → None or a 1×1 conv + BN module."""

    def body(checker: Checker) -> None:
        size = 8
        for in_planes, out_planes, stride in cases:
            description = f"projection_shortcut({in_planes}, {out_planes}, {stride})"
            shortcut = checker.run(description, projection_shortcut, in_planes, out_planes, stride)
            x = seeded_input((2, in_planes, size, size), seed=in_planes + stride)
            out_size = (size - 1) // stride + 1
            residual_shape = (2, out_planes, out_size, out_size)
            ref = reference_shortcut(in_planes, out_planes, stride)
            if ref is None:
                identity_ok = shortcut is None or (
                    isinstance(shortcut, nn.Module)
                    and count_parameters(shortcut) == 0
                    and same_output(checker.run(description + "(x)", shortcut, x.clone()), x)
                )
                checker.expect(
                    description,
                    identity_ok,
                    success="identity (None): shapes match, so no parameters are needed",
                    failure=(
                        "the shapes already match, so the shortcut is the identity: return None. A "
                        "projection here adds parameters for nothing (the paper uses identity shortcuts "
                        "wherever it can, Section 3.3)."
                    ),
                )
                continue
            if shortcut is None or (isinstance(shortcut, nn.Module) and count_parameters(shortcut) == 0):
                what = "None" if shortcut is None else "a module without parameters"
                extra = (
                    " A parameter-free module that pads zeros is option A; this exercise asks for option B."
                    if shortcut is not None
                    else ""
                )
                checker.failed(
                    description,
                    f"returned {what}, but the shape changes: F(x) has shape {shape_text(residual_shape)} "
                    f"while x has {shape_text(x.shape)}, so they cannot be added. Return a 1×1 convolution "
                    "with stride "
                    f"{stride} to {out_planes} channels (bias=False) followed by BatchNorm2d({out_planes})."
                    + extra,
                )
                continue
            if not isinstance(shortcut, nn.Module):
                checker.failed(description, f"expected an nn.Module or None, got {type(shortcut).__name__}.")
                continue
            with torch.no_grad():
                output = run_forward(checker, description, shortcut.eval(), x.clone())
            if tuple(output.shape) != residual_shape:
                hint = (
                    "the stride is missing: the shortcut must shrink the map as the block's first "
                    "convolution does."
                    if output.shape[-1] == size and stride != 1
                    else f"it must output {out_planes} channels at stride {stride}."
                )
                found_shape, wanted = shape_text(output.shape), shape_text(residual_shape)
                checker.failed(description, f"output shape {found_shape}, expected {wanted}: {hint}")
                continue
            found, expected = count_parameters(shortcut), count_parameters(ref)
            if found != expected:
                conv_weights = in_planes * out_planes
                if found == 9 * conv_weights + 2 * out_planes:
                    hint = "you used a 3×3 kernel; the projection is a 1×1 convolution."
                elif found == conv_weights:
                    hint = "BatchNorm2d after the 1×1 convolution is missing."
                elif found == conv_weights + 3 * out_planes:
                    hint = "the convolution has a bias; use bias=False (BatchNorm follows)."
                else:
                    hint = "a 1×1 convolution (bias=False) and a BatchNorm2d."
                checker.failed(description, f"{found:,} parameters, expected {expected:,}: {hint}")
                continue
            randomize_module(ref, seed=5)
            problem = transfer_weights(ref, shortcut)
            if problem is not None:
                checker.failed(description, f"cannot compare with the reference: {problem}.")
                continue
            with torch.no_grad():
                same = same_output(shortcut.eval()(x.clone()), ref.eval()(x.clone()))
            checker.expect(
                description,
                same,
                success=f"1×1 projection + BatchNorm, {expected:,} parameters, output "
                f"{shape_text(residual_shape)}",
                failure="with the reference's weights your output differs: apply the 1×1 convolution, then "
                "BatchNorm (in that order).",
            )

    return check_and_report(PROJECTION_SHORTCUT, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercises 5 and 6: BasicBlock and Bottleneck
# --------------------------------------------------------------------------------------------------


def _basic_candidates(ref: nn.Module, x: Tensor) -> dict[str, Tensor]:
    """Outputs of the usual mistakes, computed from the reference block's own layers (in eval mode)."""
    ref.eval()
    with torch.no_grad():
        residual = ref.bn2(ref.conv2(F.relu(ref.bn1(ref.conv1(x)))))
        no_inner_relu = ref.bn2(ref.conv2(ref.bn1(ref.conv1(x))))
        shortcut = x if ref.downsample is None else ref.downsample(x)
    return {
        "minus": F.relu(residual - shortcut),
        "alone": F.relu(residual),
        "no_final_relu": residual + shortcut,
        "relu_before_add": F.relu(residual) + shortcut,
        "no_inner_relu": F.relu(no_inner_relu + shortcut),
    }


_BASIC_MESSAGES = {
    **RESIDUAL_MISTAKES,
    "no_inner_relu": "there is no ReLU between the two convolutions: conv1 → bn1 → ReLU → conv2 → bn2.",
}

_BASIC_ORDER = "The block is conv1 → bn1 → ReLU → conv2 → bn2, plus the shortcut, then ReLU."


def check_basic_block(
    block_class: type,
    *,
    in_planes: int = 16,
    planes: int = 32,
    size: int = 8,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 5: ``BasicBlock(inplanes, planes, stride=1, downsample=None)`` against the reference.

    Two configurations: an identity block (``in_planes`` → ``in_planes``, stride 1) and a downsampling
    block (``in_planes`` → ``planes``, stride 2) that receives a projection as ``downsample``.
    """

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            checker.stop("BasicBlock is a class", f"pass the class itself, got {type(block_class).__name__}.")
        _check_expansion(checker, block_class, 1)
        # identity block
        same = f"BasicBlock({in_planes}, {in_planes})"
        student = build(checker, same, lambda: block_class(in_planes, in_planes))
        ref = reference.BasicBlock(in_planes, in_planes)
        check_parameter_count(
            checker, same, student, ref,
            "Two 3×3 convolutions without bias (9·C_in·C_out weights each) and two BatchNorm2d (2·C each).",
        )
        x = seeded_input((2, in_planes, size, size), seed=1)
        check_input_untouched(checker, same, student.eval(), x.clone())
        output = run_forward(checker, same, student.eval(), x.clone())
        check_output_shape(checker, same, output, tuple(x.shape), "A stride-1 block keeps the shape.")
        check_identity_fallback(checker, same, student, in_planes, size)
        randomize_module(ref, seed=2)
        compare_with_reference(
            checker, same, student, ref, x, _basic_candidates(ref, x), _BASIC_MESSAGES, _BASIC_ORDER
        )
        # downsampling block with a projection
        down = f"BasicBlock({in_planes}, {planes}, stride=2, downsample=projection)"
        student_down = build(
            checker, down, lambda: block_class(in_planes, planes, 2, _projection(in_planes, planes, 2))
        )
        ref_down = reference.BasicBlock(in_planes, planes, 2, _projection(in_planes, planes, 2))
        out_size = (size - 1) // 2 + 1
        with torch.no_grad():
            output = run_forward(
                checker, down, student_down.eval(), x.clone(),
                hint="F(x) and x have different shapes here: add downsample(x), not x, when downsample is "
                "given.",
            )
        check_output_shape(
            checker, down, output, (2, planes, out_size, out_size),
            "The first convolution carries the stride; the block outputs planes channels.",
        )
        randomize_module(ref_down, seed=3)
        compare_with_reference(
            checker, down, student_down, ref_down, x, _basic_candidates(ref_down, x), _BASIC_MESSAGES,
            _BASIC_ORDER,
        )
        check_gradients(checker, down, student_down, x)

    return check_and_report(BASIC_BLOCK, body, part=part)


def _bottleneck_candidates(ref: nn.Module, x: Tensor) -> dict[str, Tensor]:
    """Outputs of the usual mistakes, computed from the reference block's own layers (in eval mode)."""
    ref.eval()
    with torch.no_grad():
        stride = ref.conv2.stride
        residual = ref.bn3(ref.conv3(F.relu(ref.bn2(ref.conv2(F.relu(ref.bn1(ref.conv1(x))))))))
        shortcut = x if ref.downsample is None else ref.downsample(x)
        # the 2015 paper's layout: stride on the first 1×1 convolution instead of the 3×3
        h = F.relu(ref.bn1(F.conv2d(x, ref.conv1.weight, stride=stride)))
        h = F.relu(ref.bn2(F.conv2d(h, ref.conv2.weight, padding=1)))
        stride_first = F.relu(ref.bn3(ref.conv3(h)) + shortcut)
    candidates = {
        "minus": F.relu(residual - shortcut),
        "alone": F.relu(residual),
        "no_final_relu": residual + shortcut,
        "relu_before_add": F.relu(residual) + shortcut,
    }
    if stride != (1, 1):
        candidates["stride_on_first"] = stride_first
    return candidates


_BOTTLENECK_MESSAGES = {
    **RESIDUAL_MISTAKES,
    "stride_on_first": "you put the stride on the first 1×1 convolution, as the 2015 paper did. "
    "torchvision and this course put it on the 3×3 (conv2, \"ResNet v1.5\"): a strided 1×1 would skip 3 "
    "of every 4 input positions. Move stride to conv2.",
}

_BOTTLENECK_ORDER = (
    "The block is conv1 (1×1) → bn1 → ReLU → conv2 (3×3, stride) → bn2 → ReLU → conv3 (1×1) → bn3, plus the "
    "shortcut, then ReLU."
)


def check_bottleneck(
    block_class: type,
    *,
    planes: int = 8,
    size: int = 8,
    part: str = "main",
) -> ExerciseResult:
    """Exercise 6: ``Bottleneck(inplanes, planes, stride=1, downsample=None)`` (expansion 4), against the
    reference.

    Two configurations: an identity block (4·planes → planes → 4·planes) and a downsampling block
    (2·planes in, stride 2) that receives a projection as ``downsample``.
    """

    def body(checker: Checker) -> None:
        if not isinstance(block_class, type):
            checker.stop("Bottleneck is a class", f"pass the class itself, got {type(block_class).__name__}.")
        _check_expansion(checker, block_class, 4)
        out_planes = planes * 4
        same = f"Bottleneck({out_planes}, {planes})"
        student = build(checker, same, lambda: block_class(out_planes, planes))
        ref = reference.Bottleneck(out_planes, planes)
        check_parameter_count(
            checker, same, student, ref,
            "1×1 (in→planes), 3×3 (planes→planes), 1×1 (planes→4·planes), no biases, a BatchNorm2d after "
            "each.",
        )
        x = seeded_input((2, out_planes, size, size), seed=4)
        check_input_untouched(checker, same, student.eval(), x.clone())
        output = run_forward(checker, same, student.eval(), x.clone())
        check_output_shape(
            checker, same, output, tuple(x.shape), "The last 1×1 convolution expands to 4·planes channels."
        )
        check_identity_fallback(checker, same, student, out_planes, size)
        randomize_module(ref, seed=6)
        compare_with_reference(
            checker, same, student, ref, x, _bottleneck_candidates(ref, x), _BOTTLENECK_MESSAGES,
            _BOTTLENECK_ORDER,
        )
        in_planes = planes * 2
        down = f"Bottleneck({in_planes}, {planes}, stride=2, downsample=projection)"
        student_down = build(
            checker, down, lambda: block_class(in_planes, planes, 2, _projection(in_planes, out_planes, 2))
        )
        ref_down = reference.Bottleneck(in_planes, planes, 2, _projection(in_planes, out_planes, 2))
        x_down = seeded_input((2, in_planes, size, size), seed=7)
        out_size = (size - 1) // 2 + 1
        with torch.no_grad():
            output = run_forward(
                checker, down, student_down.eval(), x_down.clone(),
                hint="F(x) and x have different shapes here: add downsample(x), not x, when downsample is "
                "given.",
            )
        check_output_shape(
            checker, down, output, (2, out_planes, out_size, out_size),
            "One convolution carries the stride (conv2); the block outputs 4·planes channels.",
        )
        randomize_module(ref_down, seed=8)
        compare_with_reference(
            checker, down, student_down, ref_down, x_down, _bottleneck_candidates(ref_down, x_down),
            _BOTTLENECK_MESSAGES, _BOTTLENECK_ORDER,
        )
        check_gradients(checker, down, student_down, x_down)

    return check_and_report(BOTTLENECK, body, part=part)
