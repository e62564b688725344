"""Chapter 01 checks: right answers pass, and each classic mistake is rejected with its own message."""

from __future__ import annotations

import pytest
import torch.nn.functional as F
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import resnet as checks
from cnncourse.check.core import Status
from cnncourse.models import resnet as reference

Shortcut = nn.Module | None





# --------------------------------------------------------------------------- calculations by hand


def test_conv_output_size_right_formula_passes_and_mistakes_are_named() -> None:
    assert_passed(checks.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) // s + 1))
    forgot_one = checks.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) // s)
    assert "you forgot the + 1" in failures(forgot_one)
    padding_once = checks.check_conv_output_size(lambda n, k, s, p: (n + p - k) // s + 1)
    assert "padding is added on both sides" in failures(padding_once)
    true_division = checks.check_conv_output_size(lambda n, k, s, p: (n + 2 * p - k) / s + 1)
    assert "returned the float" in failures(true_division)


def test_stage_sizes_odd_input_rounds_up() -> None:
    assert_passed(checks.check_stage_sizes(lambda n: [n, (n + 1) // 2, ((n + 1) // 2 + 1) // 2]))
    halving = checks.check_stage_sizes(lambda n: [n, n // 2, n // 4])
    assert halving.status is Status.FAILED
    assert "an odd size rounds up (27 → 14)" in failures(halving)
    first_stage_halves = checks.check_stage_sizes(lambda n: [n // 2, n // 4, n // 8])
    assert "the first stage keeps the size" in failures(first_stage_halves)


def test_ground_truth_is_measured_on_real_layers() -> None:
    assert checks.measured_conv_output_size(7, 3, 2, 1) == 4
    assert checks.measured_stage_sizes(28) == [28, 14, 7]
    # ResNet-50's first bottleneck of conv3_x, counted by hand from paper Table 1's layer sizes:
    # 256·128 + 9·128·128 + 128·512 weights, BatchNorm 2·(128 + 128 + 512), projection 256·512 + 2·512.
    assert checks.measured_bottleneck_parameters(256, 128, 2) == 379_392


def bottleneck_count(
    inplanes: int, planes: int, stride: int, *, batchnorm: bool = True, projection: bool = True
) -> int:
    out = 4 * planes
    count = inplanes * planes + 9 * planes * planes + planes * out
    if batchnorm:
        count += 2 * (planes + planes + out)
    if projection and (stride != 1 or inplanes != out):
        count += inplanes * out + (2 * out if batchnorm else 0)
    return count


def test_bottleneck_parameters_missing_batchnorm_or_projection_is_named() -> None:
    assert_passed(checks.check_bottleneck_parameters(bottleneck_count))
    no_bn = checks.check_bottleneck_parameters(lambda i, p, s: bottleneck_count(i, p, s, batchnorm=False))
    assert "BatchNorm is missing from your count" in failures(no_bn)
    no_projection = checks.check_bottleneck_parameters(
        lambda i, p, s: bottleneck_count(i, p, s, projection=False)
    )
    assert "the projection shortcut is missing" in failures(no_projection)


# --------------------------------------------------------------------------- projection shortcut


def option_b(in_planes: int, out_planes: int, stride: int) -> nn.Module | None:
    if stride == 1 and in_planes == out_planes:
        return None
    return nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False), nn.BatchNorm2d(out_planes))


def test_projection_shortcut_missing_where_the_shape_changes_is_rejected() -> None:
    assert_passed(checks.check_projection_shortcut(option_b))
    never = checks.check_projection_shortcut(lambda i, o, s: None)
    assert never.status is Status.FAILED
    assert "but the shape changes" in failures(never)
    assert "cannot be added" in failures(never)


def test_projection_everywhere_and_wrong_kernel_are_rejected() -> None:
    always = checks.check_projection_shortcut(
        lambda i, o, s: nn.Sequential(nn.Conv2d(i, o, 1, s, bias=False), nn.BatchNorm2d(o))
    )
    assert "return None" in failures(always)
    three = checks.check_projection_shortcut(
        lambda i, o, s: option_b(i, o, s)
        and nn.Sequential(nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o))
    )
    assert "you used a 3×3 kernel" in failures(three)
    no_stride = checks.check_projection_shortcut(
        lambda i, o, s: option_b(i, o, s) and nn.Sequential(nn.Conv2d(i, o, 1, bias=False), nn.BatchNorm2d(o))
    )
    assert "the stride is missing" in failures(no_stride)


# --------------------------------------------------------------------------- basic block


class StudentBasicBlock(nn.Module):
    """A correct basic block written the way a student would (functional ReLU, own forward)."""

    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Shortcut = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def residual(self, x: Tensor) -> Tensor:
        return self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))

    def shortcut(self, x: Tensor) -> Tensor:
        return x if self.downsample is None else self.downsample(x)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.residual(x) + self.shortcut(x))


class ReturnsFMinusX(StudentBasicBlock):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.residual(x) - self.shortcut(x))


class ReturnsFAlone(StudentBasicBlock):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.residual(x))


class IgnoresDownsample(StudentBasicBlock):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.residual(x) + x)


class NoFinalReLU(StudentBasicBlock):
    def forward(self, x: Tensor) -> Tensor:
        return self.residual(x) + self.shortcut(x)


class ModifiesInput(StudentBasicBlock):
    """Right values for the identity block, but ``x += …`` overwrites the caller's tensor."""

    def forward(self, x: Tensor) -> Tensor:
        if self.downsample is None:
            x += self.residual(x)
            return F.relu(x)
        return super().forward(x)


def test_reference_and_a_student_style_block_pass() -> None:
    assert_passed(checks.check_basic_block(reference.BasicBlock))
    assert_passed(checks.check_basic_block(StudentBasicBlock))


def test_residual_block_returning_f_minus_x_is_rejected() -> None:
    result = checks.check_basic_block(ReturnsFMinusX)
    assert result.status is Status.FAILED
    assert "it subtracts the shortcut" in failures(result)
    assert "yours returns 0: the shortcut is missing or subtracted" in failures(result)


def test_residual_block_returning_f_alone_is_rejected() -> None:
    result = checks.check_basic_block(ReturnsFAlone)
    assert "the shortcut is never added" in failures(result)


def test_basic_block_ignoring_the_projection_is_rejected_without_a_traceback() -> None:
    result = checks.check_basic_block(IgnoresDownsample)
    assert result.status is Status.FAILED
    assert "RuntimeError" in failures(result)
    assert "add downsample(x), not x" in failures(result)


def test_missing_final_relu_and_in_place_input_changes_are_named() -> None:
    assert "without the final ReLU" in failures(checks.check_basic_block(NoFinalReLU))
    assert "changed its input tensor in place" in failures(checks.check_basic_block(ModifiesInput))


def test_not_attempted_block_is_reported_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    class Stub(nn.Module):
        expansion = 1

        def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Shortcut = None) -> None:
            super().__init__()
            raise NotImplementedError()

    result = checks.check_basic_block(Stub)
    assert result.status is Status.NOT_ATTEMPTED
    out = capsys.readouterr().out
    assert "not attempted" in out and "Traceback" not in out


# --------------------------------------------------------------------------- bottleneck


class StrideOnFirstConv(reference.Bottleneck):
    """The 2015 paper's layout: stride on the first 1×1 convolution."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Shortcut = None) -> None:
        super().__init__(inplanes, planes, 1, downsample)
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride, bias=False)


class BottleneckWithoutShortcut(reference.Bottleneck):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.bn3(self.conv3(F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))))))


class BottleneckWithoutExpansion(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: Shortcut = None) -> None:
        super().__init__()
        self.inner = reference.BasicBlock(inplanes, planes, stride, downsample)

    def forward(self, x: Tensor) -> Tensor:
        return self.inner(x)


def test_bottleneck_reference_passes_and_mistakes_are_named() -> None:
    assert_passed(checks.check_bottleneck(reference.Bottleneck))
    stride_first = checks.check_bottleneck(StrideOnFirstConv)
    assert stride_first.status is Status.FAILED
    assert "you put the stride on the first 1×1 convolution" in failures(stride_first)
    assert "the shortcut is never added" in failures(checks.check_bottleneck(BottleneckWithoutShortcut))
    wrong = failures(checks.check_bottleneck(BottleneckWithoutExpansion))
    assert "set the class attribute expansion = 4" in wrong
    assert "expected 1,184" in wrong  # the parameter count of the reference Bottleneck(32, 8)


def test_a_number_instead_of_a_class_is_explained() -> None:
    result = checks.check_bottleneck(42)  # type: ignore[arg-type]
    assert "pass the class itself" in failures(result)
