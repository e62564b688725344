"""Chapter 06 checks: right answers pass, and each classic mistake is rejected with its own message.

The mistakes the course names (issue 14): a ReLU after the linear bottleneck, a shortcut when the stride is
not 1 or the shapes differ, the expansion applied to the output width, a residual joining the wide ends.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import mobilenet_v2 as checks
from cnncourse.check.blocks import DEPTHWISE_WITH_GROUPS_1, RELU_AFTER_LINEAR_BOTTLENECK
from cnncourse.check.core import Status
from cnncourse.formulas import inverted_residual_macs
from cnncourse.layers import InvertedResidual as Reference

# --------------------------------------------------------------------------- exercise 1


def test_shortcut_right_rule_passes_and_each_ignored_condition_is_named() -> None:
    assert_passed(checks.check_has_shortcut(lambda c_in, c_out, s: s == 1 and c_in == c_out))
    ignores_stride = failures(checks.check_has_shortcut(lambda c_in, c_out, s: c_in == c_out))
    assert "you ignore the stride" in ignores_stride and checks.SHORTCUT_WHEN_SHAPES_DIFFER in ignores_stride
    ignores_width = failures(checks.check_has_shortcut(lambda c_in, c_out, s: s == 1))
    assert "you ignore the widths" in ignores_width
    assert "10 of the 17" in failures(checks.check_has_shortcut(lambda c_in, c_out, s: False))


def test_shortcut_ground_truth_is_the_reference_block_and_table_2() -> None:
    assert checks.measured_shortcut(24, 24, 1) and not checks.measured_shortcut(64, 96, 1)
    assert not checks.measured_shortcut(32, 32, 2)
    assert {checks.measured_shortcut(*case) for case in checks.SHORTCUT_CASES} == {True, False}


def test_shortcut_answer_that_is_not_a_bool_is_explained() -> None:
    assert "expected True or False" in failures(checks.check_has_shortcut(lambda c_in, c_out, s: "yes"))
    assert "forget the 'return'" in failures(checks.check_has_shortcut(lambda c_in, c_out, s: None))


# --------------------------------------------------------------------------- exercise 2


def right_macs(c_in: int, c_out: int, t: int, size: int, stride: int) -> tuple[int, int, int]:
    hidden, out = c_in * t, (size - 1) // stride + 1
    return (size * size * c_in * hidden if t != 1 else 0), out * out * 9 * hidden, out * out * hidden * c_out


def test_block_macs_ground_truth_agrees_with_the_formulas_module() -> None:
    for c_in, c_out, t, size, stride in checks.MACS_CASES:
        assert sum(checks.measured_block_macs(c_in, c_out, t, size, stride)) == inverted_residual_macs(
            c_in, c_out, t, size, size, stride)
    assert checks.measured_block_macs(32, 16, 1, 112, 1)[0] == 0  # t = 1: no expansion


def test_block_macs_right_answer_passes_and_the_classic_mistakes_are_named() -> None:
    assert_passed(checks.check_block_macs(right_macs))

    def on_output(c_in: int, c_out: int, t: int, size: int, stride: int) -> tuple[int, int, int]:
        hidden, out = c_out * t, (size - 1) // stride + 1  # t·d″ inside instead of t·d′
        return (size * size * c_in * hidden if t != 1 else 0), out * out * 9 * hidden, out * out * hidden * c_out

    assert checks.EXPANSION_ON_THE_OUTPUT in failures(checks.check_block_macs(on_output))

    def full_depthwise(c_in: int, c_out: int, t: int, size: int, stride: int) -> tuple[int, int, int]:
        e, d, p = right_macs(c_in, c_out, t, size, stride)
        return e, d * c_in * t, p

    assert "counted as a full 3×3 convolution" in failures(checks.check_block_macs(full_depthwise))
    assert "the stride is ignored" in failures(
        checks.check_block_macs(lambda c_in, c_out, t, size, stride: right_macs(c_in, c_out, t, size, 1)))

    def expands_at_t1(c_in: int, c_out: int, t: int, size: int, stride: int) -> tuple[int, int, int]:
        e, d, p = right_macs(c_in, c_out, t, size, stride)
        return (e or size * size * c_in * c_in), d, p

    assert "with t = 1 there is no expansion" in failures(checks.check_block_macs(expands_at_t1))
    assert "three whole numbers" in failures(checks.check_block_macs(lambda *case: sum(right_macs(*case))))


# --------------------------------------------------------------------------- exercise 3


class StudentBlock(nn.Module):
    """A correct block in torchvision's layout, written as the exercise asks."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int,
                 *, hidden_from_output: bool = False, depthwise: bool = True, projection_shortcut: bool = False,
                 relu_after_projection: bool = False) -> None:
        super().__init__()
        hidden = (out_channels if hidden_from_output else in_channels) * expand_ratio
        self.use_shortcut = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                        nn.ReLU6()))
        layers.append(nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden if depthwise else 1, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6()))
        layers += [nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]
        if relu_after_projection:
            layers.append(nn.ReLU6())
        self.conv = nn.Sequential(*layers)
        self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False) \
            if projection_shortcut and not self.use_shortcut else None

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        if self.use_shortcut:
            return x + out
        return out + self.shortcut(x) if self.shortcut is not None else out


def test_reference_style_block_and_the_reference_itself_pass() -> None:
    assert_passed(checks.check_inverted_residual(StudentBlock))
    assert_passed(checks.check_inverted_residual(Reference))


def test_a_relu_after_the_projection_is_named() -> None:
    class ReluAfterProjection(StudentBlock):
        def __init__(self, *args: int) -> None:
            super().__init__(*args, relu_after_projection=True)

    result = checks.check_inverted_residual(ReluAfterProjection)
    assert result.status is Status.FAILED
    assert RELU_AFTER_LINEAR_BOTTLENECK in failures(result)


def test_a_shortcut_when_the_shapes_differ_is_named() -> None:
    class AlwaysAdds(StudentBlock):
        def forward(self, x: Tensor) -> Tensor:
            return x + self.conv(x)

    assert checks.SHORTCUT_WHEN_SHAPES_DIFFER in failures(checks.check_inverted_residual(AlwaysAdds))

    class AddsWhenWidthsMatch(StudentBlock):  # ignores the stride: crashes on the stride-2 block 12 → 12
        def forward(self, x: Tensor) -> Tensor:
            out = self.conv(x)
            return x + out if x.shape[1] == out.shape[1] else out

    assert checks.SHORTCUT_WHEN_SHAPES_DIFFER in failures(checks.check_inverted_residual(AddsWhenWidthsMatch))

    class ProjectionShortcut(StudentBlock):
        def __init__(self, *args: int) -> None:
            super().__init__(*args, projection_shortcut=True)

    assert "projection on the shortcut" in failures(checks.check_inverted_residual(ProjectionShortcut))


def test_the_expansion_on_the_output_width_is_named() -> None:
    class ExpandsTheOutput(StudentBlock):
        def __init__(self, *args: int) -> None:
            super().__init__(*args, hidden_from_output=True)

    assert checks.EXPANSION_ON_THE_OUTPUT in failures(checks.check_inverted_residual(ExpandsTheOutput))


def test_a_residual_on_the_wide_ends_and_a_relu_after_the_sum_are_named() -> None:
    class WideResidual(StudentBlock):
        def forward(self, x: Tensor) -> Tensor:
            if not self.use_shortcut or len(self.conv) != 4:
                return self.conv(x)
            expand, depthwise, project, norm = self.conv
            wide = expand(x)
            return norm(project(depthwise(wide) + wide))

    assert checks.RESIDUAL_ON_THE_WIDE_ENDS in failures(checks.check_inverted_residual(WideResidual))

    class ReluAfterSum(StudentBlock):
        def forward(self, x: Tensor) -> Tensor:
            out = self.conv(x)
            return F.relu(x + out) if self.use_shortcut else out

    assert checks.RELU_AFTER_THE_ADDITION in failures(checks.check_inverted_residual(ReluAfterSum))


def test_a_full_3x3_convolution_is_named_as_groups_1() -> None:
    class NotDepthwise(StudentBlock):
        def __init__(self, *args: int) -> None:
            super().__init__(*args, depthwise=False)

    assert DEPTHWISE_WITH_GROUPS_1 in failures(checks.check_inverted_residual(NotDepthwise))


def test_a_block_without_expansion_skipping_or_without_shortcut_fails() -> None:
    class NoShortcut(StudentBlock):
        def forward(self, x: Tensor) -> Tensor:
            return self.conv(x)

    assert "with every weight at zero the projection outputs 0" in failures(
        checks.check_inverted_residual(NoShortcut))

    class AlwaysExpands(StudentBlock):
        def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
            super().__init__(in_channels, out_channels, stride, max(expand_ratio, 2))
            if expand_ratio == 1:  # a t = 1 block that still has an expansion convolution to t·d′ = d′
                hidden = in_channels
                self.conv[0] = nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False),
                                             nn.BatchNorm2d(hidden), nn.ReLU6())
                self.conv[1] = nn.Sequential(nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden,
                                                       bias=False), nn.BatchNorm2d(hidden), nn.ReLU6())
                self.conv[2] = nn.Conv2d(hidden, out_channels, 1, bias=False)

    assert "with t = 1 leave the expansion out" in failures(checks.check_inverted_residual(AlwaysExpands))


def test_not_attempted_block_is_reported_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    class Stub(nn.Module):
        def __init__(self, *args: int) -> None:
            super().__init__()
            raise NotImplementedError()

    assert checks.check_inverted_residual(Stub).status is Status.NOT_ATTEMPTED
    assert "Traceback" not in capsys.readouterr().out
    assert "pass the class itself" in failures(checks.check_inverted_residual(StudentBlock(8, 8, 1, 6)))


# --------------------------------------------------------------------------- exercise 4


def test_round_trip_right_answer_passes_and_the_usual_slips_are_named() -> None:
    assert_passed(checks.check_relu_round_trip(checks.reference_round_trip))
    transpose = checks.check_relu_round_trip(lambda p, t: torch.relu(p @ t.T) @ t)
    assert "pseudo-inverse" in failures(transpose)
    after = checks.check_relu_round_trip(lambda p, t: torch.relu(p @ t.T @ torch.linalg.pinv(t).T))
    assert "the ReLU comes after projecting back" in failures(after)
    assert "there is no ReLU" in failures(checks.check_relu_round_trip(lambda p, t: p @ t.T @ torch.linalg.pinv(t).T))
    shape = checks.check_relu_round_trip(lambda p, t: torch.relu(p @ t.T))
    assert "expected (50, 2)" in failures(shape)
    assert checks.check_relu_round_trip(lambda p, t: (_ for _ in ()).throw(NotImplementedError())).status \
        is Status.NOT_ATTEMPTED


def test_round_trip_reference_loses_points_in_2d_and_not_in_30d() -> None:
    """The claim the exercise rests on (Fig. 1): exact without ReLU, lossy in 2-D, nearly whole in 30-D."""
    generator = torch.Generator().manual_seed(0)
    angle = torch.linspace(0.2, 4 * torch.pi, 400)
    points = torch.stack([angle * torch.cos(angle), angle * torch.sin(angle)], dim=1) / angle.max()
    small, large = torch.randn(2, 2, generator=generator), torch.randn(30, 2, generator=generator)
    assert torch.allclose(points @ small.T @ torch.linalg.pinv(small).T, points, atol=1e-4)
    zero_rows_2d = (torch.relu(points @ small.T) > 0).sum(dim=1) < 2
    zero_rows_30d = (torch.relu(points @ large.T) > 0).sum(dim=1) < 2
    assert zero_rows_2d.float().mean() > 0.3 and zero_rows_30d.float().mean() == 0
