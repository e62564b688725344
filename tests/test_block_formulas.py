"""The formulas the chapters teach agree with what cnncourse.profile measures, block by block.

For each block type (standard convolution, depthwise-separable convolution, ResNet basic block and
bottleneck, squeeze-and-excitation, inverted residual, MBConv) the parameter count and the
multiply-accumulates measured on the real module equal the closed formula in ``cnncourse.profile``.
Then the formulas, assembled along the papers' architecture tables, reproduce the published parameter
counts of whole networks (REFERENCE_FIGURES.md) and the MACs measured on torchvision's models.
"""

from __future__ import annotations

from fractions import Fraction

import pytest
import torchvision
from torch import nn

from cnncourse import profile
from cnncourse.layers.depthwise import DepthwiseSeparableConv
from cnncourse.layers.inverted_residual import InvertedResidual
from cnncourse.layers.mbconv import MBConv
from cnncourse.layers.misc import Conv2dNormActivation, make_divisible
from cnncourse.layers.squeeze_excite import SqueezeExcitation, se_params
from cnncourse.models.resnet import BasicBlock, Bottleneck
from cnncourse.profile import (
    basic_block_macs,
    basic_block_params,
    batchnorm_params,
    bottleneck_macs,
    bottleneck_params,
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    depthwise_separable_macs,
    depthwise_separable_params,
    efficientnet_mbconv_widths,
    inverted_residual_macs,
    inverted_residual_params,
    linear_macs,
    linear_params,
    mbconv_macs,
    mbconv_params,
    se_macs,
)


def measured(module: nn.Module, input_size: tuple[int, int, int]) -> tuple[int, int]:
    return profile.count_parameters(module), profile.count_macs(module, input_size)


# --- standard convolution ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c_in", "c_out", "k", "stride", "groups", "bias", "size"),
    [
        (3, 64, 7, 2, 1, False, 224),  # ResNet's stem
        (1, 16, 3, 1, 1, True, 28),  # a Fashion-MNIST first layer with bias
        (64, 128, 1, 2, 1, False, 56),  # a projection shortcut
        (96, 96, 5, 2, 96, False, 28),  # depthwise 5×5
        (64, 128, 3, 1, 4, False, 14),  # grouped (ResNeXt-style)
    ],
)
def test_standard_convolution(
    c_in: int, c_out: int, k: int, stride: int, groups: int, bias: bool, size: int
) -> None:
    conv = nn.Conv2d(c_in, c_out, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=bias)
    h_out = conv_output_size(size, k, stride)
    assert h_out == conv(profile._example_input(conv, (c_in, size, size))).shape[-1]
    assert measured(conv, (c_in, size, size)) == (
        conv2d_params(c_in, c_out, k, groups, bias),
        conv2d_macs(c_in, c_out, k, h_out, h_out, groups),
    )


def test_conv_norm_activation_adds_two_parameters_per_channel() -> None:
    block = Conv2dNormActivation(32, 48, kernel_size=3, stride=2)
    assert measured(block, (32, 20, 20)) == (
        conv2d_params(32, 48, 3) + batchnorm_params(48),
        conv2d_macs(32, 48, 3, 10, 10),
    )


def test_linear_layer() -> None:
    layer = nn.Sequential(nn.Flatten(), nn.Linear(1280, 10))
    assert measured(layer, (1280, 1, 1)) == (linear_params(1280, 10), linear_macs(1280, 10))


# --- depthwise-separable convolution (MobileNet v1) ----------------------------------------------


@pytest.mark.parametrize(
    ("c_in", "c_out", "stride", "size"),
    [(32, 64, 1, 112), (64, 128, 2, 112), (512, 512, 1, 14), (3, 5, 2, 9)],
)
def test_depthwise_separable(c_in: int, c_out: int, stride: int, size: int) -> None:
    block = DepthwiseSeparableConv(c_in, c_out, stride=stride)
    h_out = conv_output_size(size, 3, stride)
    assert measured(block, (c_in, size, size)) == (
        depthwise_separable_params(c_in, c_out),
        depthwise_separable_macs(c_in, c_out, h_out, h_out),
    )
    weights_only = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
    assert weights_only == depthwise_separable_params(c_in, c_out, norm=False) == 9 * c_in + c_in * c_out


def test_depthwise_separable_cost_ratio_is_the_papers() -> None:
    """Howard et al., 2017, Eq. 5: separable / standard = 1/N + 1/D_K², measured on real modules."""
    m, n, size = 256, 512, 14
    separable = profile.count_macs(DepthwiseSeparableConv(m, n), (m, size, size))
    standard = profile.count_macs(Conv2dNormActivation(m, n, kernel_size=3), (m, size, size))
    assert Fraction(separable, standard) == Fraction(1, n) + Fraction(1, 9)


# --- ResNet blocks -------------------------------------------------------------------------------


def projection(inplanes: int, out_planes: int, stride: int) -> nn.Sequential:
    """Option B shortcut, as torchvision's ResNet builds it."""
    conv = nn.Conv2d(inplanes, out_planes, 1, stride=stride, bias=False)
    return nn.Sequential(conv, nn.BatchNorm2d(out_planes))


@pytest.mark.parametrize(
    ("inplanes", "planes", "stride", "size"), [(64, 64, 1, 56), (64, 128, 2, 56), (3, 8, 2, 9)]
)
def test_basic_block(inplanes: int, planes: int, stride: int, size: int) -> None:
    needs_projection = stride != 1 or inplanes != planes
    shortcut = projection(inplanes, planes, stride) if needs_projection else None
    block = BasicBlock(inplanes, planes, stride, shortcut)
    assert measured(block, (inplanes, size, size)) == (
        basic_block_params(inplanes, planes, stride),
        basic_block_macs(inplanes, planes, size, size, stride),
    )


@pytest.mark.parametrize(
    ("inplanes", "planes", "stride", "width_per_group", "size"),
    [
        (64, 64, 1, 64, 56),  # first block of conv2_x: projection because 64 → 256 channels
        (256, 64, 1, 64, 56),  # identity shortcut
        (256, 128, 2, 64, 56),  # downsampling block of conv3_x
        (512, 128, 1, 128, 28),  # Wide ResNet-50-2: inner width doubled
        (1024, 512, 2, 128, 14),
    ],
)
def test_bottleneck(inplanes: int, planes: int, stride: int, width_per_group: int, size: int) -> None:
    out = planes * 4
    needs_projection = stride != 1 or inplanes != out
    shortcut = projection(inplanes, out, stride) if needs_projection else None
    block = Bottleneck(inplanes, planes, stride, shortcut, width_per_group)
    width = planes * width_per_group // 64
    assert measured(block, (inplanes, size, size)) == (
        bottleneck_params(inplanes, planes, stride, width=width),
        bottleneck_macs(inplanes, planes, size, size, stride, width=width),
    )


# --- squeeze-and-excitation ----------------------------------------------------------------------


@pytest.mark.parametrize(("channels", "squeeze", "size"), [(256, 16, 56), (2048, 128, 7), (96, 4, 1)])
def test_squeeze_excitation(channels: int, squeeze: int, size: int) -> None:
    assert measured(SqueezeExcitation(channels, squeeze), (channels, size, size)) == (
        se_params(channels, squeeze),
        se_macs(channels, squeeze),  # independent of the spatial size: it works on the pooled 1×1 map
    )


# --- inverted residual (MobileNet v2) ------------------------------------------------------------


@pytest.mark.parametrize(
    ("c_in", "c_out", "stride", "t", "size"),
    [(32, 16, 1, 1, 112), (16, 24, 2, 6, 112), (24, 24, 1, 6, 56), (160, 320, 1, 6, 7), (8, 8, 2, 3, 9)],
)
def test_inverted_residual(c_in: int, c_out: int, stride: int, t: int, size: int) -> None:
    block = InvertedResidual(c_in, c_out, stride, t)
    assert measured(block, (c_in, size, size)) == (
        inverted_residual_params(c_in, c_out, t),
        inverted_residual_macs(c_in, c_out, t, size, size, stride),
    )


# --- MBConv (EfficientNet, MobileNet v3) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("c_in", "c_out", "t", "k", "stride", "size"),
    [(32, 16, 1, 3, 1, 112), (16, 24, 6, 3, 2, 112), (40, 80, 6, 3, 2, 28), (112, 192, 6, 5, 2, 14)],
)
def test_mbconv_efficientnet(c_in: int, c_out: int, t: int, k: int, stride: int, size: int) -> None:
    expanded, squeeze = efficientnet_mbconv_widths(c_in, t)
    block = MBConv(
        c_in,
        c_out,
        expanded_channels=expanded,
        kernel_size=k,
        stride=stride,
        activation_layer=nn.SiLU,
        squeeze_channels=squeeze,
        se_activation=nn.SiLU,
        stochastic_depth_prob=0.2,  # no parameters, no MACs
    )
    assert measured(block, (c_in, size, size)) == (
        mbconv_params(c_in, c_out, expanded, k, squeeze),
        mbconv_macs(c_in, c_out, expanded, size, size, stride, k, squeeze),
    )


@pytest.mark.parametrize(
    ("c_in", "expanded", "c_out", "k", "stride", "with_se", "size"),
    [(16, 16, 16, 3, 1, False, 112), (24, 72, 40, 5, 2, True, 56), (80, 240, 80, 3, 1, False, 14)],
)
def test_mbconv_mobilenet_v3(
    c_in: int, expanded: int, c_out: int, k: int, stride: int, with_se: bool, size: int
) -> None:
    squeeze = make_divisible(expanded / 4, 8) if with_se else None  # Howard et al., 2019, Section 5.3
    block = MBConv(
        c_in,
        c_out,
        expanded_channels=expanded,
        kernel_size=k,
        stride=stride,
        activation_layer=nn.Hardswish,
        squeeze_channels=squeeze,
        se_gate=nn.Hardsigmoid,
    )
    assert measured(block, (c_in, size, size)) == (
        mbconv_params(c_in, c_out, expanded, k, squeeze),
        mbconv_macs(c_in, c_out, expanded, size, size, stride, k, squeeze),
    )


# --- whole networks from the papers' tables ------------------------------------------------------
#
# Parameters do not depend on the input size; MACs do. Each network is assembled by formula at 224×224
# to compare with the papers, and at a small input where it is measured (the same code path, a faster test).

SMALL = 96


def stem(c_out: int, size: int) -> tuple[int, int, int]:
    """3×3/2 conv + BN from RGB: (params, MACs, output size)."""
    h = conv_output_size(size, 3, 2)
    return conv2d_params(3, c_out, 3) + batchnorm_params(c_out), conv2d_macs(3, c_out, 3, h, h), h


def resnet50_by_formula(size: int, se_reduction: int | None = None, wide: bool = False) -> tuple[int, int]:
    """He et al., 2015, Table 1 (50-layer column). ``se_reduction``: SE after every block with r = 16
    (Hu et al., 2017); ``wide``: Wide ResNet-50-2, inner width doubled (torchvision's wide_resnet50_2)."""
    params = conv2d_params(3, 64, 7) + batchnorm_params(64)
    h = conv_output_size(size, 7, 2, padding=3)
    macs = conv2d_macs(3, 64, 7, h, h)
    h, inplanes = conv_output_size(h, 3, 2, padding=1), 64  # the 3×3/2 max pooling
    for planes, blocks, first_stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
        width = 2 * planes if wide else planes
        for index in range(blocks):
            stride = first_stride if index == 0 else 1
            params += bottleneck_params(inplanes, planes, stride, width=width)
            macs += bottleneck_macs(inplanes, planes, h, h, stride, width=width)
            h = conv_output_size(h, 3, stride)
            inplanes = planes * 4
            if se_reduction is not None:
                params += se_params(inplanes, inplanes // se_reduction)
                macs += se_macs(inplanes, inplanes // se_reduction)
    return params + linear_params(2048, 1000), macs + linear_macs(2048, 1000)


def test_resnet50_and_se_resnet50_from_the_bottleneck_formula() -> None:
    params, macs = resnet50_by_formula(224)
    assert params == 25_557_032  # torchvision resnet50
    assert abs(macs - 4.09e9) / 4.09e9 < 0.01  # "v1.5" (stride on the 3×3): more than the paper's 3.8G
    small = resnet50_by_formula(SMALL)[1]
    assert small == profile.count_macs(torchvision.models.resnet50(), (3, SMALL, SMALL))
    assert resnet50_by_formula(224, se_reduction=16)[0] == 28_088_024  # timm seresnet50


def test_wide_resnet50_2_from_the_bottleneck_formula() -> None:
    assert resnet50_by_formula(224, wide=True)[0] == 68_883_240  # torchvision wide_resnet50_2


def mobilenet_v1_by_formula(size: int) -> tuple[int, int]:
    """Howard et al., 2017, Table 1."""
    params, macs, h = stem(32, size)
    channels = 32
    rows = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), *[(512, 1)] * 5, (1024, 2), (1024, 1)]
    for c_out, stride in rows:
        h_out = conv_output_size(h, 3, stride)
        params += depthwise_separable_params(channels, c_out)
        macs += depthwise_separable_macs(channels, c_out, h_out, h_out)
        channels, h = c_out, h_out
    return params + linear_params(1024, 1000), macs + linear_macs(1024, 1000)


def test_mobilenet_v1_from_the_depthwise_separable_formula() -> None:
    params, macs = mobilenet_v1_by_formula(224)
    assert params == 4_231_976  # timm mobilenetv1_100
    assert abs(macs - 569e6) / 569e6 < 0.005  # the paper's 569M mult-adds
    reference = nn.Sequential(
        Conv2dNormActivation(3, 32, stride=2),
        *[DepthwiseSeparableConv(c_in, c_out, stride) for c_in, c_out, stride in (
            (32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1), (256, 512, 2),
            *[(512, 512, 1)] * 5, (512, 1024, 2), (1024, 1024, 1))],
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(1024, 1000),
    )  # fmt: skip
    assert measured(reference, (3, SMALL, SMALL)) == mobilenet_v1_by_formula(SMALL)


def mobilenet_v2_by_formula(size: int) -> tuple[int, int]:
    """Sandler et al., 2018, Table 2: t, c, n, s per stage."""
    params, macs, h = stem(32, size)
    channels = 32
    table = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2),
             (6, 320, 1, 1)]  # fmt: skip
    for t, c_out, repeats, first_stride in table:
        for index in range(repeats):
            stride = first_stride if index == 0 else 1
            params += inverted_residual_params(channels, c_out, t)
            macs += inverted_residual_macs(channels, c_out, t, h, h, stride)
            channels, h = c_out, conv_output_size(h, 3, stride)
    params += conv2d_params(320, 1280, 1) + batchnorm_params(1280) + linear_params(1280, 1000)
    return params, macs + conv2d_macs(320, 1280, 1, h, h) + linear_macs(1280, 1000)


def test_mobilenet_v2_from_the_inverted_residual_formula() -> None:
    params, macs = mobilenet_v2_by_formula(224)
    assert params == 3_504_872  # torchvision mobilenet_v2
    assert abs(macs - 300e6) / 300e6 < 0.01  # the paper's 300M mult-adds
    small = mobilenet_v2_by_formula(SMALL)[1]
    assert small == profile.count_macs(torchvision.models.mobilenet_v2(), (3, SMALL, SMALL))


def mobilenet_v3_large_by_formula(size: int) -> tuple[int, int]:
    """Howard et al., 2019, Table 1: kernel, expansion size, output channels, SE, stride."""
    params, macs, h = stem(16, size)
    channels = 16
    table = [
        (3, 16, 16, False, 1), (3, 64, 24, False, 2), (3, 72, 24, False, 1), (5, 72, 40, True, 2),
        (5, 120, 40, True, 1), (5, 120, 40, True, 1), (3, 240, 80, False, 2), (3, 200, 80, False, 1),
        (3, 184, 80, False, 1), (3, 184, 80, False, 1), (3, 480, 112, True, 1), (3, 672, 112, True, 1),
        (5, 672, 160, True, 2), (5, 960, 160, True, 1), (5, 960, 160, True, 1),
    ]  # fmt: skip
    for k, expanded, c_out, with_se, stride in table:
        squeeze = make_divisible(expanded / 4, 8) if with_se else None
        params += mbconv_params(channels, c_out, expanded, k, squeeze)
        macs += mbconv_macs(channels, c_out, expanded, h, h, stride, k, squeeze)
        channels, h = c_out, conv_output_size(h, k, stride)
    params += conv2d_params(160, 960, 1) + batchnorm_params(960)
    macs += conv2d_macs(160, 960, 1, h, h)
    params += linear_params(960, 1280) + linear_params(1280, 1000)  # the paper's two 1×1 "NBN" convs
    return params, macs + linear_macs(960, 1280) + linear_macs(1280, 1000)


def test_mobilenet_v3_large_from_the_mbconv_formula() -> None:
    params, macs = mobilenet_v3_large_by_formula(224)
    assert params == 5_483_032  # torchvision mobilenet_v3_large
    assert abs(macs - 219e6) / 219e6 < 0.02  # the paper's 219M (Table 3)
    small = mobilenet_v3_large_by_formula(SMALL)[1]
    assert small == profile.count_macs(torchvision.models.mobilenet_v3_large(), (3, SMALL, SMALL))


def efficientnet_b0_by_formula(size: int) -> tuple[int, int]:
    """Tan & Le, 2019, Table 1: operator (expansion, kernel), stride, channels, layers."""
    params, macs, h = stem(32, size)
    channels = 32
    table = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3),
             (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]  # fmt: skip
    for t, k, first_stride, c_out, repeats in table:
        for index in range(repeats):
            stride = first_stride if index == 0 else 1
            expanded, squeeze = efficientnet_mbconv_widths(channels, t)
            params += mbconv_params(channels, c_out, expanded, k, squeeze)
            macs += mbconv_macs(channels, c_out, expanded, h, h, stride, k, squeeze)
            channels, h = c_out, conv_output_size(h, k, stride)
    params += conv2d_params(320, 1280, 1) + batchnorm_params(1280) + linear_params(1280, 1000)
    return params, macs + conv2d_macs(320, 1280, 1, h, h) + linear_macs(1280, 1000)


def test_efficientnet_b0_from_the_mbconv_formula() -> None:
    params, macs = efficientnet_b0_by_formula(224)
    assert params == 5_288_548  # torchvision efficientnet_b0
    assert abs(macs - 0.39e9) / 0.39e9 < 0.02  # the paper's 0.39B "FLOPS" (Table 2), multiply-adds
    small = efficientnet_b0_by_formula(SMALL)[1]
    assert small == profile.count_macs(torchvision.models.efficientnet_b0(), (3, SMALL, SMALL))
