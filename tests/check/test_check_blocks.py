"""Reusable block checks for the later chapters: the references pass, each classic mistake is named."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import blocks
from cnncourse.check.core import Exercise, Status
from cnncourse.layers import SqueezeExcitation
from cnncourse.layers.inverted_residual import InvertedResidual
from cnncourse.models.densenet import DenseLayer

EXERCISE = Exercise("99_test", 1, "test_block", "テスト", "Test", 1)





# --------------------------------------------------------------------------- DenseNet


class ConcatenatingLayer(nn.Module):
    """The reference layer's new features, concatenated after the input (DenseNet Eq. 2)."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.layer = DenseLayer(in_channels, growth_rate)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.layer(x)], dim=1)


class AddingLayer(ConcatenatingLayer):
    def forward(self, x: Tensor) -> Tensor:
        return x + self.layer(x)


class NewFirstLayer(ConcatenatingLayer):
    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.layer(x), x], dim=1)


def test_dense_layer_concatenation_passes_and_adding_is_rejected() -> None:
    assert_passed(blocks.check_dense_concatenation(EXERCISE, ConcatenatingLayer))
    added = blocks.check_dense_concatenation(EXERCISE, AddingLayer)
    assert added.status is Status.FAILED
    assert failures(added) == blocks.ADDS_INSTEAD_OF_CONCATENATING


def test_dense_layer_returning_only_new_features_or_the_wrong_order_is_named() -> None:
    only_new = blocks.check_dense_concatenation(EXERCISE, lambda c, k: DenseLayer(c, k))
    assert "only the 12 new channels" in failures(only_new)
    assert "at the end" in failures(blocks.check_dense_concatenation(EXERCISE, NewFirstLayer, in_channels=8))


# --------------------------------------------------------------------------- SE


class PerPixelSE(nn.Module):
    """The excitation computed at every position: the same layers without the global pooling."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)

    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x))))


class BatchPooledSE(PerPixelSE):
    def forward(self, x: Tensor) -> Tensor:
        pooled = x.mean(dim=(0, 2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(pooled))))


def test_squeeze_excitation_reference_passes_and_per_pixel_weights_are_rejected() -> None:
    assert_passed(blocks.check_squeeze_excitation(EXERCISE, SqueezeExcitation))
    per_pixel = blocks.check_squeeze_excitation(EXERCISE, PerPixelSE)
    assert per_pixel.status is Status.FAILED
    assert blocks.SE_PER_PIXEL in failures(per_pixel)
    batch_pooled = blocks.check_squeeze_excitation(EXERCISE, BatchPooledSE)
    assert "pool over height and width only" in failures(batch_pooled)


# --------------------------------------------------------------------------- linear bottleneck


class ReLUAfterProjection(InvertedResidual):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu6(super().forward(x))


class GroupsOneInside(nn.Module):
    """Expansion, a full 3×3 convolution (groups=1) where the depthwise one belongs, linear projection."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        self.expand = nn.Conv2d(in_channels, hidden, 1, bias=False)
        self.spatial = nn.Conv2d(hidden, hidden, 3, stride, 1, bias=False)
        self.project = nn.Conv2d(hidden, out_channels, 1, bias=False)
        self.residual = stride == 1 and in_channels == out_channels

    def forward(self, x: Tensor) -> Tensor:
        out = self.project(F.relu6(self.spatial(F.relu6(self.expand(x)))))
        return x + out if self.residual else out


def test_linear_bottleneck_reference_passes_and_a_relu_after_it_is_rejected() -> None:
    assert_passed(blocks.check_linear_bottleneck(EXERCISE, InvertedResidual))
    relu_after = blocks.check_linear_bottleneck(EXERCISE, ReLUAfterProjection)
    assert relu_after.status is Status.FAILED
    assert blocks.RELU_AFTER_LINEAR_BOTTLENECK in failures(relu_after)
    groups_one = blocks.check_linear_bottleneck(EXERCISE, GroupsOneInside)
    assert blocks.DEPTHWISE_WITH_GROUPS_1 in failures(groups_one)


# --------------------------------------------------------------------------- depthwise


def test_depthwise_conv_passes_and_groups_one_is_rejected() -> None:
    depthwise = blocks.check_depthwise_conv(
        EXERCISE, lambda c, k: nn.Conv2d(c, c, k, padding=k // 2, groups=c)
    )
    assert_passed(depthwise)
    dense = blocks.check_depthwise_conv(EXERCISE, lambda c, k: nn.Conv2d(c, c, k, padding=k // 2))
    assert dense.status is Status.FAILED
    assert blocks.DEPTHWISE_WITH_GROUPS_1 in failures(dense)
    assert "(C²·k²: groups=1)" in failures(dense)


# --------------------------------------------------------------------------- multipliers


def test_width_depth_scaling_rule_and_swapped_multipliers() -> None:
    assert_passed(blocks.check_width_depth_scaling(EXERCISE, blocks.scale_stage))
    swapped = blocks.check_width_depth_scaling(EXERCISE, lambda c, n, w, d: blocks.scale_stage(c, n, d, w))
    assert swapped.status is Status.FAILED
    assert blocks.WIDTH_DEPTH_SWAPPED in failures(swapped)
    unrounded = blocks.check_width_depth_scaling(
        EXERCISE, lambda c, n, w, d: (round(c * w), math.ceil(n * d))
    )
    assert "multiple of 8" in failures(unrounded)


def test_scale_stage_reproduces_torchvisions_efficientnet_b4_stage() -> None:
    # torchvision's efficientnet_b4 (width 1.4, depth 1.8): B0's stage of 40 channels × 2 layers has 56 × 4.
    from torchvision.models import efficientnet_b4

    with torch.device("meta"):  # the structure is all we need: no memory, no initialisation
        model = efficientnet_b4(weights=None)
    stage = model.features[3]
    assert len(stage) == 4 and stage[-1].block[-1][0].out_channels == 56
    assert blocks.scale_stage(40, 2, 1.4, 1.8) == (56, 4)
