"""Chapter 04 checks: right answers pass, and each classic mistake is rejected with its own message.

The mistakes the course names (issue 13): adding instead of concatenating, the wrong growth of channels,
a transition without compression.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import densenet as checks
from cnncourse.check.blocks import ADDS_INSTEAD_OF_CONCATENATING
from cnncourse.check.core import Status
from cnncourse.models import create_model
from cnncourse.models import densenet as reference

# --------------------------------------------------------------------------- exercise 1


def test_block_channels_right_formula_passes_and_wrong_growth_is_named() -> None:
    assert_passed(checks.check_block_channels(lambda k0, k, layers: k0 + layers * k))
    forgets_input = checks.check_block_channels(lambda k0, k, layers: layers * k)
    assert checks.FORGETS_THE_INPUT in failures(forgets_input)
    bottleneck_width = checks.check_block_channels(lambda k0, k, layers: k0 + layers * 4 * k)
    assert "4k is the width of the 1×1 bottleneck" in failures(bottleneck_width)
    once = checks.check_block_channels(lambda k0, k, layers: k0 + k)
    assert "so the block adds L·k, not k" in failures(once)


def test_block_channels_ground_truth_is_densenet_121s_table() -> None:
    # Huang et al., Table 1 with k = 32: block 1 turns 64 channels into 64 + 6·32 = 256.
    assert checks.measured_block_channels(64, 32, 6) == 256
    model = create_model("densenet121")
    assert model.features.denseblock1.out_channels == 256
    assert model.features.transition1.conv.out_channels == 128  # θ = 0.5


# --------------------------------------------------------------------------- exercise 2


def bc_channels(
    depth: int, k: int, theta: float, *, compress: bool = True, stem: int = 2, round_up: bool = False
) -> list[int]:
    layers = (depth - 4) // 6
    channels = stem * k
    out = [channels]
    for index in range(3):
        channels += layers * k
        out.append(channels)
        if index < 2:
            kept = math.ceil(channels * theta) if round_up else int(channels * theta)
            channels = kept if compress else channels
            out.append(channels)
    return out


def test_bc_channels_match_the_model_and_a_transition_without_compression_is_named() -> None:
    assert checks.measured_bc_channels(100, 12, 0.5) == [24, 216, 108, 300, 150, 342]
    assert create_model("densenet_bc_100_12").num_features == 342
    assert_passed(checks.check_bc_channels(bc_channels))
    uncompressed = checks.check_bc_channels(lambda d, k, t: bc_channels(d, k, t, compress=False))
    assert uncompressed.status is Status.FAILED
    assert checks.TRANSITION_WITHOUT_COMPRESSION in failures(uncompressed)
    stem_k = checks.check_bc_channels(lambda d, k, t: bc_channels(d, k, t, stem=1))
    assert "outputs 2k channels" in failures(stem_k)
    rounded_up = checks.check_bc_channels(lambda d, k, t: bc_channels(d, k, t, round_up=True))
    assert "round down" in failures(rounded_up)  # (52, 5): a transition on 65 channels keeps 32, not 33


def notebook(*cells: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    for cell in cells:
        exec(cell, namespace)  # noqa: S102 — the test's own answer code, as a notebook cell runs it
    return namespace


BLOCK_CHANNELS_FORGETS_INPUT = (
    "def dense_block_channels(in_channels, growth_rate, num_layers):\n    return num_layers * growth_rate\n"
)
BLOCK_CHANNELS_STUB = (
    "def dense_block_channels(in_channels, growth_rate, num_layers):\n    raise NotImplementedError()\n"
)
BC_FROM_EXERCISE_1 = """
def densenet_bc_channels(depth, growth_rate, compression=0.5):
    layers = (depth - 4) // 6
    channels = [2 * growth_rate]
    for index in range(3):
        channels.append(dense_block_channels(channels[-1], growth_rate, layers))
        if index < 2:
            channels.append(int(channels[-1] * compression))
    return channels
"""


def test_exercise_2_names_exercise_1_as_the_cause() -> None:
    stub = notebook(BLOCK_CHANNELS_STUB, BC_FROM_EXERCISE_1)["densenet_bc_channels"]
    assert "calls dense_block_channels from exercise 1, which is still the stub" in failures(
        checks.check_bc_channels(stub)
    )
    wrong = notebook(BLOCK_CHANNELS_FORGETS_INPUT, BC_FROM_EXERCISE_1)["densenet_bc_channels"]
    assert "exercise 1 (Channels out of a dense block) is the likely cause" in failures(
        checks.check_bc_channels(wrong)
    )


# --------------------------------------------------------------------------- exercise 3


class StudentDenseLayer(nn.Module):
    """A correct layer as the notebook asks: torchvision's names, returns torch.cat([x, new], 1)."""

    def __init__(self, in_channels: int, growth_rate: int, bottleneck_factor: int = 4) -> None:
        super().__init__()
        width = bottleneck_factor * growth_rate
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
        self.norm2 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, growth_rate, 3, padding=1, bias=False)

    def new_features(self, x: Tensor) -> Tensor:
        return self.conv2(F.relu(self.norm2(self.conv1(F.relu(self.norm1(x))))))

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.new_features(x)], dim=1)


class AddingLayer(StudentDenseLayer):
    def forward(self, x: Tensor) -> Tensor:
        return x + self.new_features(x)


class OnlyNewFeatures(StudentDenseLayer):
    def forward(self, x: Tensor) -> Tensor:
        return self.new_features(x)


class BottleneckOfK(StudentDenseLayer):
    def __init__(self, in_channels: int, growth_rate: int, bottleneck_factor: int = 4) -> None:
        super().__init__(in_channels, growth_rate, bottleneck_factor=1)


class NoFirstActivation(StudentDenseLayer):
    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.conv2(F.relu(self.norm2(self.conv1(x))))], dim=1)


def test_reference_style_dense_layer_passes() -> None:
    assert_passed(checks.check_dense_layer(StudentDenseLayer))


def test_a_dense_layer_that_adds_is_named() -> None:
    result = checks.check_dense_layer(AddingLayer)
    assert result.status is Status.FAILED
    assert ADDS_INSTEAD_OF_CONCATENATING in failures(result)


def test_only_new_features_a_narrow_bottleneck_and_a_missing_activation_are_named() -> None:
    assert "only the 8 new channels" in failures(checks.check_dense_layer(OnlyNewFeatures))
    assert "DenseNet-B's bottleneck outputs 4k = 32" in failures(checks.check_dense_layer(BottleneckOfK))
    assert "the first BN-ReLU is missing" in failures(checks.check_dense_layer(NoFirstActivation))


def test_not_attempted_layer_is_reported_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    class Stub(nn.Module):
        def __init__(self, in_channels: int, growth_rate: int) -> None:
            super().__init__()
            raise NotImplementedError()

    assert checks.check_dense_layer(Stub).status is Status.NOT_ATTEMPTED
    assert "Traceback" not in capsys.readouterr().out


# --------------------------------------------------------------------------- exercise 4


class StudentDenseBlock(nn.Sequential):
    """A correct block: layer ℓ built for in_channels + ℓ·k channels, applied in a chain."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int) -> None:
        layers = [StudentDenseLayer(in_channels + i * growth_rate, growth_rate) for i in range(num_layers)]
        super().__init__(*layers)


class AddingBlock(nn.Module):
    def __init__(self, num_layers: int, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.layers = nn.ModuleList(reference.DenseLayer(in_channels, growth_rate) for _ in range(num_layers))

    def forward(self, x: Tensor) -> Tensor:
        for layer in self.layers:
            x = x + layer(x)
        return x


class SameWidthLayers(StudentDenseBlock):
    def __init__(self, num_layers: int, in_channels: int, growth_rate: int) -> None:
        layers = [StudentDenseLayer(in_channels, growth_rate) for _ in range(num_layers)]
        nn.Sequential.__init__(self, *layers)


class ConcatenatesTwice(StudentDenseBlock):
    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


def test_a_correct_dense_block_passes() -> None:
    assert_passed(checks.check_dense_block(StudentDenseBlock))


def test_a_dense_block_that_adds_is_named() -> None:
    result = checks.check_dense_block(AddingBlock)
    assert result.status is Status.FAILED
    assert ADDS_INSTEAD_OF_CONCATENATING in failures(result)


def test_wrong_growth_of_channels_in_a_block_is_named() -> None:
    same_width = failures(checks.check_dense_block(SameWidthLayers))
    assert "RuntimeError" in same_width
    assert "DenseLayer(in_channels + ℓ * growth_rate, growth_rate)" in same_width
    assert "no torch.cat in the block" in failures(checks.check_dense_block(ConcatenatesTwice))


DENSE_LAYER_STUB = """
import torch.nn as nn
class DenseLayer(nn.Module):
    def __init__(self, in_channels, growth_rate, bottleneck_factor=4):
        super().__init__()
        raise NotImplementedError()
"""
DENSE_BLOCK_USING_IT = """
import torch.nn as nn
class DenseBlock(nn.Sequential):
    def __init__(self, num_layers, in_channels, growth_rate):
        super().__init__()
        for index in range(num_layers):
            layer = DenseLayer(in_channels + index * growth_rate, growth_rate)
            self.add_module(f"denselayer{index + 1}", layer)
"""


def test_a_stubbed_exercise_3_is_named_not_reported_as_this_ones_stub() -> None:
    block = notebook(DENSE_LAYER_STUB, DENSE_BLOCK_USING_IT)["DenseBlock"]
    result = checks.check_dense_block(block)
    assert result.status is Status.FAILED
    assert "calls DenseLayer from exercise 3, which is still the stub" in failures(result)


def test_a_wrong_exercise_3_is_named_as_the_likely_cause() -> None:
    adding_layer = "from test_check_densenet import AddingLayer as DenseLayer\n"
    block = notebook(adding_layer, DENSE_BLOCK_USING_IT)["DenseBlock"]
    result = checks.check_dense_block(block)
    assert "exercise 3 (Dense layer) is the likely cause" in failures(result)


# --------------------------------------------------------------------------- exercise 5


class StudentTransition(nn.Module):
    def __init__(self, in_channels: int, compression: float = 0.5) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.conv = nn.Conv2d(in_channels, int(in_channels * compression), 1, bias=False)

    def activated(self, x: Tensor) -> Tensor:
        return self.conv(F.relu(self.norm(x)))

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(self.activated(x), 2)


class PoolsFirst(StudentTransition):
    """Pooling before the 1×1 convolution: the same arithmetic (both are linear), 4× fewer multiply-adds."""

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(F.avg_pool2d(F.relu(self.norm(x)), 2))


class NoCompression(StudentTransition):
    def __init__(self, in_channels: int, compression: float = 0.5) -> None:
        super().__init__(in_channels, 1.0)


class MaxPooling(StudentTransition):
    def forward(self, x: Tensor) -> Tensor:
        return F.max_pool2d(self.activated(x), 2)


class NoPooling(StudentTransition):
    def forward(self, x: Tensor) -> Tensor:
        return self.activated(x)


class StridedConvolution(StudentTransition):
    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(F.relu(self.norm(x)), self.conv.weight, stride=2)


class RoundsUp(StudentTransition):
    def __init__(self, in_channels: int, compression: float = 0.5) -> None:
        super().__init__(in_channels, compression)
        self.conv = nn.Conv2d(in_channels, math.ceil(in_channels * compression), 1, bias=False)


def test_a_correct_transition_passes_in_either_order_of_pool_and_convolution() -> None:
    assert_passed(checks.check_transition(StudentTransition))
    assert_passed(checks.check_transition(PoolsFirst))


def test_a_transition_without_compression_is_named() -> None:
    result = checks.check_transition(NoCompression)
    assert result.status is Status.FAILED
    assert checks.TRANSITION_WITHOUT_COMPRESSION in failures(result)


def test_pooling_mistakes_and_rounding_are_named() -> None:
    assert "you pool with the maximum" in failures(checks.check_transition(MaxPooling))
    assert "the 2×2 average pooling with stride 2 is missing" in failures(checks.check_transition(NoPooling))
    assert "stride-2 1×1 convolution" in failures(checks.check_transition(StridedConvolution))
    assert "round down, ⌊25·0.5⌋ = 12" in failures(checks.check_transition(RoundsUp))
