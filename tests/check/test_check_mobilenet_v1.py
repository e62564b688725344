"""Chapter 05 checks: right answers pass, and each classic mistake is rejected with its own message.

The mistakes the course names (issue 14): parameters confused with multiply-adds, a "depthwise" convolution
with groups=1, α applied to the wrong layers (the image's channels, the classifier's outputs), ρ applied to
the channel count; plus the block in Xception's form (pointwise first, no nonlinearity in between) and the
stride on the pointwise convolution.
"""

from __future__ import annotations

import math

import pytest
import torch
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import mobilenet_v1 as checks
from cnncourse.check.blocks import DEPTHWISE_WITH_GROUPS_1
from cnncourse.check.core import Status
from cnncourse.layers import DepthwiseSeparableConv, make_divisible
from cnncourse.models import create_model
from cnncourse.models.mobilenet import MOBILENET_V1_TABLE1
from cnncourse import profile

# --------------------------------------------------------------------------- exercise 1


def separable(m: int, n: int, k: int, size: int) -> tuple[int, int]:
    weights = k * k * m + m * n
    return weights, weights * size * size


def test_separable_cost_passes_and_names_each_mistake() -> None:
    assert_passed(checks.check_separable_cost(separable))
    assert_passed(checks.check_separable_cost(lambda m, n, k, s: list(separable(m, n, k, s))))  # a list is fine
    cases = {
        "you returned (multiply-adds, parameters)": lambda m, n, k, s: separable(m, n, k, s)[::-1],
        "your parameters grow with the map": lambda m, n, k, s: (separable(m, n, k, s)[1],) * 2,
        "your multiply-adds equal the parameter count": lambda m, n, k, s: (separable(m, n, k, s)[0],) * 2,
        "that is a D_K×D_K convolution with groups=1": (
            lambda m, n, k, s: (k * k * m * m + m * n, (k * k * m * m + m * n) * s * s)
        ),
        "the cost of the standard D_K×D_K convolution": lambda m, n, k, s: (k * k * m * n, k * k * m * n * s * s),
        "only the pointwise 1×1 convolution is counted": lambda m, n, k, s: (m * n, m * n * s * s),
        "one filter per *input* channel": lambda m, n, k, s: (k * k * n + m * n, (k * k * n + m * n) * s * s),
        "you added the two BatchNorms": lambda m, n, k, s: (separable(m, n, k, s)[0] + 2 * m + 2 * n,
                                                            separable(m, n, k, s)[1]),
    }
    for message, wrong in cases.items():
        result = checks.check_separable_cost(wrong)
        assert result.status is Status.FAILED and message in failures(result), (message, failures(result))


def test_separable_cost_reads_only_a_pair_of_counts() -> None:
    single = checks.check_separable_cost(lambda m, n, k, s: separable(m, n, k, s)[0])
    assert "return a pair (parameters, multiply_adds)" in failures(single)
    missing = checks.check_separable_cost(lambda m, n, k, s: None)
    assert "forget the 'return'" in failures(missing)
    assert checks.check_separable_cost(lambda m, n, k, s: (_ for _ in ()).throw(NotImplementedError())).status \
        is Status.NOT_ATTEMPTED


def test_separable_truth_is_the_paper_table3_layer() -> None:
    # Table 3: 52.3M multiply-adds and 0.27M parameters for D_K = 3, M = N = 512, D_F = 14
    assert checks.separable_truth(512, 512, 3, 14) == (266_752, 52_283_392)
    layer = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False),
                          nn.Conv2d(512, 512, 1, bias=False))
    counts = (profile.count_parameters(layer), profile.count_macs(layer, (512, 14, 14)))
    assert counts == (266_752, 52_283_392)


# --------------------------------------------------------------------------- exercise 2


def test_depthwise_conv_passes_and_groups_1_is_named() -> None:
    depthwise = checks.check_depthwise_conv(lambda c, k: nn.Conv2d(c, c, k, padding=k // 2, groups=c, bias=False))
    assert_passed(depthwise)
    standard = checks.check_depthwise_conv(lambda c, k: nn.Conv2d(c, c, k, padding=k // 2, bias=False))
    assert standard.status is Status.FAILED and DEPTHWISE_WITH_GROUPS_1 in failures(standard)
    no_padding = checks.check_depthwise_conv(lambda c, k: nn.Conv2d(c, c, k, groups=c))
    assert no_padding.status is Status.FAILED and "padding" in failures(no_padding)


# --------------------------------------------------------------------------- exercise 3


class Block(nn.Module):
    """A student's block with switches for each mistake."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, *, groups: int | None = None,
                 middle: bool = True, middle_norm: bool = True, stride_on_pointwise: bool = False,
                 bias: bool = False, activation: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, 1 if stride_on_pointwise else stride, 1,
                                   groups=in_channels if groups is None else groups, bias=bias)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, stride if stride_on_pointwise else 1, bias=bias)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.act = activation()
        self.middle, self.middle_norm = middle, middle_norm

    def forward(self, x: Tensor) -> Tensor:
        x = self.depthwise(x)
        if self.middle_norm:
            x = self.bn1(x)
        if self.middle:
            x = self.act(x)
        return self.act(self.bn2(self.pointwise(x)))


class PointwiseFirst(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.depthwise = nn.Conv2d(out_channels, out_channels, 3, stride, 1, groups=out_channels, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        return torch.relu(self.bn2(self.depthwise(torch.relu(self.bn1(self.pointwise(x))))))


def variant(**options: object) -> type:
    class Variant(Block):
        def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
            super().__init__(in_channels, out_channels, stride, **options)  # type: ignore[arg-type]

    return Variant


def test_separable_block_passes_for_the_reference_and_a_student_layout() -> None:
    assert_passed(checks.check_separable_block(Block))
    assert_passed(checks.check_separable_block(DepthwiseSeparableConv))
    assert_passed(checks.check_separable_block(Block, in_channels=16, out_channels=16, stride=1, size=6))


@pytest.mark.parametrize(("options", "message"), [
    ({"groups": 1}, DEPTHWISE_WITH_GROUPS_1),
    ({"middle": False}, "that is the separable convolution of Xception"),
    ({"middle_norm": False}, "no BatchNorm between the depthwise and the pointwise"),
    ({"stride_on_pointwise": True}, "the stride sits on the 1×1 pointwise convolution"),
    ({"bias": True}, "your convolutions have biases"),
    ({"activation": nn.ReLU6}, "ReLU6 is what MobileNet v2 uses"),
])
def test_separable_block_names_each_mistake(options: dict, message: str) -> None:
    result = checks.check_separable_block(variant(**options))
    assert result.status is Status.FAILED and message in failures(result), failures(result)


def test_pointwise_first_is_named_as_the_extreme_inception_order() -> None:
    result = checks.check_separable_block(PointwiseFirst)
    assert result.status is Status.FAILED and "'extreme' Inception" in failures(result)


def test_separable_block_stub_and_instance() -> None:
    class Stub(nn.Module):
        def __init__(self, *args: object) -> None:
            raise NotImplementedError()

    assert checks.check_separable_block(Stub).status is Status.NOT_ATTEMPTED
    assert "pass the class itself" in failures(checks.check_separable_block(Block(8, 16)))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- exercise 4


def width(channels: float, alpha: float) -> int:
    return make_divisible(channels * alpha, 8)


def cost(alpha: float, resolution: int, num_classes: int = 1000, *, image: float = 3,
         classes: float | None = None, rho_on_channels: bool = False, params_times_rho2: bool = False,
         strides: bool = True) -> tuple:
    """Table 1 counted the way a student would, with switches for the mistakes."""
    rho = resolution / 224
    scale = alpha * (rho if rho_on_channels else 1)
    size = 224 if rho_on_channels else resolution
    size = math.ceil(size / 2) if strides else size
    channels = width(32, scale)
    params = 9 * image * channels
    macs = params * size * size
    for out, stride in MOBILENET_V1_TABLE1:
        size = math.ceil(size / stride) if strides else size
        weights = 9 * channels + channels * width(out, scale)
        params, macs, channels = params + weights, macs + weights * size * size, width(out, scale)
    fc = channels * (num_classes if classes is None else classes)
    return (params + fc) * (rho * rho if params_times_rho2 else 1), macs + fc


def test_multipliers_pass_and_reproduce_tables_6_and_7() -> None:
    assert_passed(checks.check_multipliers(cost))
    # the reference counts Table 6 / Table 7's rounded figures, and equals the measured model
    table6 = [round(checks.multiplier_truth(a, 224, 1000)[1] / 1e6) for a in (1.0, 0.75, 0.5, 0.25)]
    assert table6 == [569, 325, 149, 41]
    assert [round(checks.multiplier_truth(1.0, r, 1000)[1] / 1e6) for r in (224, 192, 128)] == [569, 418, 186]
    with torch.device("meta"):
        network = create_model("mobilenet_v1", width_mult=0.5)
    assert profile.count_macs(network, (3, 160, 160)) == checks.multiplier_truth(0.5, 160, 1000)[1]


@pytest.mark.parametrize(("wrong", "message"), [
    (lambda a, r, c=1000: cost(a, r, c)[::-1], "you returned (multiply-adds, parameters)"),
    (lambda a, r, c=1000: cost(a, r, c, image=3 * a), "you applied α to the image's channels"),
    (lambda a, r, c=1000: cost(a, r, c, image=width(3, a)), "Rounding 3·α up to a multiple of 8"),
    (lambda a, r, c=1000: cost(a, r, c, classes=c * a), "you applied α to the classifier's outputs"),
    (lambda a, r, c=1000: cost(a, r, c, classes=width(c, a)), "Rounding α·num_classes"),
    (lambda a, r, c=1000: cost(a, r, c, rho_on_channels=True), "you applied ρ to the channels"),
    (lambda a, r, c=1000: cost(a, r, c, params_times_rho2=True), "your parameters change with the resolution"),
    (lambda a, r, c=1000: cost(a, r, c, strides=False), "your maps never shrink"),
    (lambda a, r, c=1000: tuple(v * a * a * (r / 224) ** 2 for v in cost(1.0, 224, c)),
     "That rule is an approximation"),
])
def test_multipliers_name_each_mistake(wrong, message: str) -> None:
    result = checks.check_multipliers(wrong)
    assert result.status is Status.FAILED and message in failures(result), failures(result)


def test_multipliers_name_a_wrong_exercise_1_answer_as_the_cause() -> None:
    def wrong_separable(m: int, n: int, k: int, size: int) -> tuple[int, int]:
        weights = k * k * m * m + m * n  # groups=1
        return weights, weights * size * size

    def student_cost(alpha: float, resolution: int, num_classes: int = 1000) -> tuple[int, int]:
        size = math.ceil(resolution / 2)
        channels = width(32, alpha)
        params = 27 * channels
        macs = params * size * size
        for out, stride in MOBILENET_V1_TABLE1:
            size = math.ceil(size / stride)
            p, m = separable_cost(channels, width(out, alpha), 3, size)
            params, macs, channels = params + p, macs + m, width(out, alpha)
        return params + channels * num_classes, macs + channels * num_classes

    student_cost.__globals__["separable_cost"] = wrong_separable
    try:
        result = checks.check_multipliers(student_cost)
    finally:
        del student_cost.__globals__["separable_cost"]
    assert result.status is Status.FAILED and "exercise 1" in failures(result), failures(result)
