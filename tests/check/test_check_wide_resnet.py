"""Chapter 02 checks: right answers pass; swapped multipliers, miscounts and misplaced dropout are named."""

from __future__ import annotations

import pytest
import torch.nn.functional as F
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import wide_resnet as checks
from cnncourse.check.core import Status
from cnncourse.models import wide_resnet as reference


def groups(depth: int, k: int) -> list[tuple[int, int]]:
    if (depth - 4) % 6:
        raise ValueError("depth must be 6N + 4")
    n = (depth - 4) // 6
    return [(n, 16 * k), (n, 32 * k), (n, 64 * k)]


def test_groups_right_answer_passes_and_swapped_multipliers_are_named() -> None:
    assert_passed(checks.check_groups(groups))
    swapped = checks.check_groups(lambda d, k: [(k, width * ((d - 4) // 6)) for width in (16, 32, 64)])
    assert "width and depth are swapped" in failures(swapped)


def test_groups_must_refuse_depths_that_are_not_6n_plus_4() -> None:
    lenient = checks.check_groups(lambda d, k: groups(d - (d - 4) % 6, k))
    assert "does not exist" in failures(lenient)
    assert "Raise ValueError" in failures(lenient)


def block_count(
    i: int, o: int, s: int, *, bn1_channels: int | None = None, projection_bn: bool = False
) -> int:
    count = 2 * (i if bn1_channels is None else bn1_channels) + 9 * i * o + 2 * o + 9 * o * o
    if s != 1 or i != o:
        count += i * o + (2 * o if projection_bn else 0)
    return count


def test_block_parameters_pre_activation_bn_and_bare_projection() -> None:
    assert_passed(checks.check_block_parameters(block_count))
    post_activation_count = checks.check_block_parameters(
        lambda i, o, s: block_count(i, o, s, bn1_channels=o)
    )
    assert "normalises the block's *input*" in failures(post_activation_count)
    projection_with_bn = checks.check_block_parameters(
        lambda i, o, s: block_count(i, o, s, projection_bn=True)
    )
    assert "no BatchNorm after it" in failures(projection_with_bn)


def network_count(depth: int, k: int, classes: int, *, final_bn: bool = True) -> int:
    count, in_planes = 9 * 3 * 16, 16
    for group, (blocks, width) in enumerate(groups(depth, k)):
        for index in range(blocks):
            count += block_count(in_planes, width, 2 if group and not index else 1)
            in_planes = width
    return count + (2 * in_planes if final_bn else 0) + in_planes * classes + classes


def test_network_parameters_match_the_paper_and_a_missing_final_bn_is_named() -> None:
    # Zagoruyko & Komodakis, 2016, Section 3: WRN-40-4 8.9M, WRN-16-8 11.0M, WRN-28-10 36.5M parameters.
    for depth, k, published in ((40, 4, 8.9e6), (16, 8, 11.0e6), (28, 10, 36.5e6)):
        assert abs(checks.measured_network_parameters(depth, k, 10) - published) < 0.05e6
    assert_passed(checks.check_network_parameters(network_count))
    result = checks.check_network_parameters(lambda d, k, c: network_count(d, k, c, final_bn=False))
    assert "the final BatchNorm is missing" in failures(result)


def macs(cin: int, cout: int, size: int, stride: int) -> int:
    out = (size - 1) // stride + 1
    return 9 * cin * cout * out * out


def test_conv_macs_against_flop_counter_and_named_mistakes() -> None:
    assert checks.measured_conv3x3_macs(16, 32, 7, 2) == 9 * 16 * 32 * 4 * 4
    assert_passed(checks.check_conv_macs(macs))
    assert "FLOP count" in failures(checks.check_conv_macs(lambda *a: 2 * macs(*a)))
    no_stride = checks.check_conv_macs(lambda ci, co, n, s: 9 * ci * co * n * n)
    assert "the stride is missing" in failures(no_stride)


# --------------------------------------------------------------------------- the block


class StudentWideBlock(nn.Module):
    def __init__(self, in_planes: int, out_planes: int, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != out_planes:
            self.shortcut = nn.Conv2d(in_planes, out_planes, 1, stride, bias=False)

    def pre(self, x: Tensor) -> Tensor:
        return F.relu(self.bn1(x))

    def skip(self, x: Tensor, pre: Tensor) -> Tensor:
        return x if self.shortcut is None else self.shortcut(pre)

    def forward(self, x: Tensor) -> Tensor:
        pre = self.pre(x)
        return self.conv2(self.drop(F.relu(self.bn2(self.conv1(pre))))) + self.skip(x, pre)


class DropoutAfterSecondConv(StudentWideBlock):
    def forward(self, x: Tensor) -> Tensor:
        pre = self.pre(x)
        return self.drop(self.conv2(F.relu(self.bn2(self.conv1(pre))))) + self.skip(x, pre)


class DropoutOnInput(StudentWideBlock):
    def forward(self, x: Tensor) -> Tensor:
        pre = self.drop(self.pre(x))
        return self.conv2(F.relu(self.bn2(self.conv1(pre)))) + self.skip(x, pre)


class DropoutOnShortcut(StudentWideBlock):
    def forward(self, x: Tensor) -> Tensor:
        pre = self.pre(x)
        return self.conv2(F.relu(self.bn2(self.conv1(pre)))) + self.drop(self.skip(x, pre))


class DropoutAlwaysOn(StudentWideBlock):
    def forward(self, x: Tensor) -> Tensor:
        pre = self.pre(x)
        middle = F.dropout(F.relu(self.bn2(self.conv1(pre))), p=self.drop.p)  # training defaults to True
        return self.conv2(middle) + self.skip(x, pre)


class PostActivation(StudentWideBlock):
    """conv → BN → ReLU (ResNet v1 order) with the same layers."""

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(self.drop(out))) + self.skip(x, x))


class ReLUAfterAddition(StudentWideBlock):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(super().forward(x))


def test_reference_and_a_student_style_block_pass() -> None:
    assert_passed(checks.check_wide_block(reference.WideBasicBlock))
    assert_passed(checks.check_wide_block(StudentWideBlock))


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (DropoutAfterSecondConv, "dropout acts after the second convolution"),
        (DropoutOnInput, "before the first convolution"),
        (DropoutOnShortcut, "dropout acts on the shortcut"),
        (DropoutAlwaysOn, "dropout must be off in eval mode"),
        (ReLUAfterAddition, "there is no ReLU after it"),
    ],
)
def test_misplaced_dropout_and_activation_are_named(block: type, message: str) -> None:
    result = checks.check_wide_block(block)
    assert result.status is Status.FAILED
    assert message in failures(result)


def test_post_activation_order_is_named() -> None:
    # in_planes == out_planes so that bn1 fits both orders and the weights can be copied
    result = checks.check_wide_block(PostActivation, in_planes=16, out_planes=16)
    assert "post-activation order" in failures(result)
