"""MobileNet v1–v3: the papers' tables, published sizes and costs, and the small-image variants.

Parity of ``mobilenet_v2`` / ``mobilenet_v3_*`` with torchvision is covered for every registered model
by ``test_torchvision_parity.py``; this file checks what is specific to the family.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import torch
from torch import nn

from cnncourse.errors import CourseError
from cnncourse.layers.depthwise import DepthwiseSeparableConv
from cnncourse.layers.inverted_residual import InvertedResidual
from cnncourse.layers.mbconv import MBConv
from cnncourse.layers.misc import Conv2dNormActivation
from cnncourse.layers.squeeze_excite import SqueezeExcitation
from cnncourse.models.mobilenet import (
    mobilenet_v1,
    mobilenet_v1_cifar,
    mobilenet_v1_cost,
    mobilenet_v2,
    mobilenet_v2_cifar,
    mobilenet_v3_large,
    mobilenet_v3_small,
    mobilenet_v3_small_cifar,
)
from cnncourse.profile import count_macs


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def weights_without_norm_or_bias(model: nn.Module) -> int:
    """What the MobileNet paper counts: convolution and fully connected weights."""
    return sum(m.weight.numel() for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))


def conv_strides(model: nn.Module) -> list[int]:
    return [m.stride[0] for m in model.modules() if isinstance(m, nn.Conv2d)]


# --- MobileNet v1 ------------------------------------------------------------------------------------


def test_mobilenet_v1_has_timms_parameter_count() -> None:
    assert parameter_count(mobilenet_v1()) == 4_231_976  # timm mobilenetv1_100, REFERENCE_FIGURES.md


def test_mobilenet_v1_is_table_1() -> None:
    model = mobilenet_v1()
    blocks = [m for m in model.features if isinstance(m, DepthwiseSeparableConv)]
    assert len(blocks) == 13  # 13 depthwise-separable layers after the first full convolution
    for block in blocks:
        depthwise = block.depthwise[0]
        assert depthwise.groups == depthwise.in_channels == depthwise.out_channels
    assert [b.stride for b in blocks].count(2) == 4  # with the stem: 5 halvings, 224 → 7
    assert model.features[0][0].stride == (2, 2)
    with torch.no_grad():
        assert model.forward_features(torch.zeros(1, 3, 224, 224)).shape == (1, 1024, 7, 7)


@pytest.mark.parametrize(
    ("width_mult", "published_mult_adds_m", "published_params_m"),
    [(1.0, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3), (0.25, 41, 0.5)],  # paper Table 6
)
def test_width_multiplier_reproduces_table_6(
    width_mult: float, published_mult_adds_m: int, published_params_m: float
) -> None:
    cost = mobilenet_v1_cost(width_mult=width_mult)
    # the paper prints whole millions, not always rounded the same way (290.7M is "290" in Table 7)
    assert cost.mult_adds / 1e6 == pytest.approx(published_mult_adds_m, abs=1.0)
    assert round(cost.params / 1e6, 1) == published_params_m
    # and the formula describes the model this code builds
    assert weights_without_norm_or_bias(mobilenet_v1(width_mult=width_mult)) == cost.params


@pytest.mark.parametrize(
    ("resolution", "published_mult_adds_m"), [(224, 569), (192, 418), (160, 290), (128, 186)]  # Table 7
)
def test_resolution_multiplier_reproduces_table_7(resolution: int, published_mult_adds_m: int) -> None:
    cost = mobilenet_v1_cost(resolution=resolution)
    assert cost.mult_adds / 1e6 == pytest.approx(published_mult_adds_m, abs=1.0)
    assert cost.params == mobilenet_v1_cost().params  # ρ does not change the parameters


def test_measured_mult_adds_of_mobilenet_v1_agree_with_the_formula() -> None:
    measured = count_macs(mobilenet_v1().eval(), (3, 128, 128))
    assert measured == mobilenet_v1_cost(resolution=128).mult_adds


def test_mobilenet_v1_cost_refuses_nonsense() -> None:
    with pytest.raises(CourseError):
        mobilenet_v1_cost(width_mult=0)
    with pytest.raises(CourseError):
        mobilenet_v1_cost(resolution=8)


# --- MobileNet v2 ------------------------------------------------------------------------------------


def test_mobilenet_v2_is_table_2() -> None:
    model = mobilenet_v2()
    blocks = [m for m in model.features if isinstance(m, InvertedResidual)]
    assert len(blocks) == 17  # n = 1 + 2 + 3 + 4 + 3 + 3 + 1
    widths = [16] + [24] * 2 + [32] * 3 + [64] * 4 + [96] * 3 + [160] * 3 + [320]  # c repeated n times
    assert [b.out_channels for b in blocks] == widths
    assert [b.stride for b in blocks].count(2) == 4  # with the stem: 224 → 7
    # shortcuts wherever a block keeps stride 1 and width: 1 + 2 + 3 + 2 + 2 in the stages t=6
    assert sum(b.use_res_connect for b in blocks) == 10
    assert blocks[0].hidden_channels == 32 and blocks[1].hidden_channels == 16 * 6  # t = 1, then t = 6
    assert model.num_features == 1280


def test_every_mobilenet_v2_block_ends_linear() -> None:
    for block in (m for m in mobilenet_v2().modules() if isinstance(m, InvertedResidual)):
        assert isinstance(block.conv[-1], nn.BatchNorm2d)
        assert isinstance(block.conv[-2], nn.Conv2d) and block.conv[-2].kernel_size == (1, 1)


def test_mobilenet_v2_width_multiplier_keeps_the_last_layer() -> None:
    assert mobilenet_v2(width_mult=0.5).num_features == 1280  # not shrunk below 1280
    assert mobilenet_v2(width_mult=1.4).num_features == 1792  # 1280 · 1.4
    assert parameter_count(mobilenet_v2(width_mult=0.5)) < parameter_count(mobilenet_v2()) / 1.5


# --- MobileNet v3 ------------------------------------------------------------------------------------


def se_widths(model: nn.Module) -> list[int]:
    return [m.fc1.out_channels for m in model.modules() if isinstance(m, SqueezeExcitation)]


def depthwise_activation(block: MBConv) -> type[nn.Module]:
    depthwise = next(
        layer for layer in block.block if isinstance(layer, Conv2dNormActivation) and layer[0].groups > 1
    )
    return type(depthwise[2])


def test_mobilenet_v3_se_squeeze_is_expanded_over_4_rounded_to_8() -> None:
    # Table 1 SE rows have exp sizes 72, 120, 120, 480, 672, 672, 960, 960; /4 and rounded to 8:
    assert se_widths(mobilenet_v3_large()) == [24, 32, 32, 120, 168, 168, 240, 240]
    # Table 2 SE rows: 16, 96, 240, 240, 120, 144, 288, 576, 576
    assert se_widths(mobilenet_v3_small()) == [8, 24, 64, 64, 32, 40, 72, 144, 144]


def test_mobilenet_v3_activations_and_gates_are_the_papers() -> None:
    for model, relu_blocks, hswish_blocks in ((mobilenet_v3_large(), 6, 9), (mobilenet_v3_small(), 3, 8)):
        activations = [depthwise_activation(m) for m in model.modules() if isinstance(m, MBConv)]
        assert activations.count(nn.ReLU) == relu_blocks and activations.count(nn.Hardswish) == hswish_blocks
        gates = [m.scale_activation for m in model.modules() if isinstance(m, SqueezeExcitation)]
        assert gates and all(isinstance(g, nn.Hardsigmoid) for g in gates)
        assert isinstance(model.features[0][2], nn.Hardswish)  # h-swish stem
        assert all(bn.eps == 0.001 for bn in model.modules() if isinstance(bn, nn.BatchNorm2d))


def test_mobilenet_v3_last_stage_and_reset_classifier() -> None:
    model = mobilenet_v3_large(num_classes=10)
    assert model.num_features == 960 and model.hidden_features == 1280
    model.reset_classifier(3)
    assert model.classifier[0].out_features == 1280 and model.classifier[-1].out_features == 3
    small = mobilenet_v3_small()
    assert small.num_features == 576 and small.hidden_features == 1024


# --- small-image variants ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cifar_builder", "imagenet_builder"),
    [
        (mobilenet_v1_cifar, mobilenet_v1),
        (mobilenet_v2_cifar, mobilenet_v2),
        (mobilenet_v3_small_cifar, mobilenet_v3_small),
    ],
)
def test_small_image_variants_change_exactly_two_strides(
    cifar_builder: Callable[..., nn.Module], imagenet_builder: Callable[..., nn.Module]
) -> None:
    small, large = cifar_builder(), imagenet_builder()
    small_strides, large_strides = conv_strides(small), conv_strides(large)
    assert len(small_strides) == len(large_strides)
    changed = [i for i, (a, b) in enumerate(zip(small_strides, large_strides)) if a != b]
    assert len(changed) == 2 and all(large_strides[i] == 2 and small_strides[i] == 1 for i in changed)
    assert changed[0] == 0  # the stem
    with torch.no_grad():
        assert small.forward_features(torch.zeros(2, 3, 32, 32)).shape[2:] == (4, 4)
        assert small.forward_features(torch.zeros(2, 3, 28, 28)).shape[2:] == (4, 4)


# --- bad input ---------------------------------------------------------------------------------------


def test_bad_arguments_raise_course_errors() -> None:
    with pytest.raises(CourseError, match="width_mult"):
        mobilenet_v2(width_mult=0)
    with pytest.raises(CourseError, match="reset_classifier"):
        mobilenet_v3_large(num_classes=10, weights="torchvision")  # refused before any download
    with pytest.raises(CourseError):
        mobilenet_v2(weights="imagenet")
    with pytest.raises(CourseError, match="dropout"):
        mobilenet_v1(dropout=1.5)
