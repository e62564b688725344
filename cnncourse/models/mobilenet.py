"""MobileNet v1, v2 and v3: convolutional networks built for phones.

* v1 — Howard et al., 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
  Applications", arXiv:1704.04861. Every standard convolution after the first becomes a
  depthwise-separable one (:class:`~cnncourse.layers.depthwise.DepthwiseSeparableConv`), 8–9× cheaper.
  Two knobs trade accuracy for cost (Section 3.3 and 3.4): the *width multiplier* α thins every layer
  (M → αM input and N → αN output channels, cost ∝ α²) and the *resolution multiplier* ρ shrinks the
  input image (cost ∝ ρ², parameters unchanged). 1.0 MobileNet-224: 70.6% top-1, 569M mult-adds, 4.2M
  parameters (Table 8).
* v2 — Sandler et al., 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
  arXiv:1801.04381. Stacks of :class:`~cnncourse.layers.inverted_residual.InvertedResidual`
  (narrow → wide → narrow, shortcut between the narrow ends, no ReLU after the projection).
  72.0% top-1, 300M mult-adds, 3.4M parameters (Table 4).
* v3 — Howard et al., 2019, "Searching for MobileNetV3", arXiv:1905.02244. Blocks found by
  platform-aware NAS (MnasNet's search) and NetAdapt, with squeeze-and-excitation, h-swish and a cheaper
  last stage (Section 5). Large 75.2% top-1 / 219M mult-adds / 5.4M parameters, Small 67.4% / 56M /
  2.5M (Section 6.1).

The ImageNet configurations of v2 and v3 equal torchvision's (same parameter names, strict
``load_state_dict``, same outputs). v1 has no torchvision counterpart; it equals timm's
``mobilenetv1_100`` in parameter count (4,231,976).

Small-image variants (``*_cifar``): the ImageNet networks shrink the input 32× (five stride-2 layers),
so a 32×32 image would end as a single 1×1 pixel and a 28×28 one too. The ``_cifar`` builders set the
stem convolution and the *first* stride-2 block to stride 1, which leaves a total stride of 8
(32×32 → 4×4, 28×28 → 4×4 feature maps). Everything else — widths, depths, the later strides — is the
paper's table. This change is ours (the MobileNet papers only report ImageNet); it is the same one
commonly made for CIFAR versions of these networks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Literal

import torch
from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.layers.depthwise import DepthwiseSeparableConv
from cnncourse.layers.inverted_residual import InvertedResidual
from cnncourse.layers.mbconv import MBConv
from cnncourse.layers.misc import Conv2dNormActivation, make_divisible
from cnncourse.models._registry import check_model_arguments, register_model
from cnncourse.models._torchvision import apply_weights

PAPER_V1 = "Howard et al., 2017, arXiv:1704.04861"
PAPER_V2 = "Sandler et al., 2018, arXiv:1801.04381"
PAPER_V3 = "Howard et al., 2019, arXiv:1905.02244"

# ----------------------------------------------------------------------------------------------------
# Configuration tables copied from the papers
# ----------------------------------------------------------------------------------------------------

#: MobileNet v1 stem, Table 1 first row: "Conv / s2, 3×3×3×32".
MOBILENET_V1_STEM: tuple[int, int] = (32, 2)  # (output channels, stride)

#: MobileNet v1 body, Table 1: each pair of rows "Conv dw / s" + "Conv / s1 (1×1)" is one
#: depthwise-separable block, written as (pointwise output channels, depthwise stride). Table 1 prints
#: the last depthwise row as "Conv dw / s2", yet its input and the next layer's input are both 7×7:
#: it is stride 1 (the input-size column, timm and TensorFlow's reference code agree).
MOBILENET_V1_TABLE1: tuple[tuple[int, int], ...] = (
    (64, 1),
    (128, 2),
    (128, 1),
    (256, 2),
    (256, 1),
    (512, 2),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (512, 1),
    (1024, 2),
    (1024, 1),
)


@dataclass(frozen=True)
class BottleneckStage:
    """One row of MobileNet v2's Table 2: ``n`` inverted residuals with expansion ``t`` and ``c`` outputs.

    Only the first block of the stage has stride ``s``; the others have stride 1.
    """

    expand_ratio: int  # t
    out_channels: int  # c
    num_blocks: int  # n
    stride: int  # s


#: MobileNet v2 stem and head, Table 2: "conv2d 3×3, 32, s2" and "conv2d 1×1, 1280".
MOBILENET_V2_STEM: tuple[int, int] = (32, 2)
MOBILENET_V2_LAST_CHANNELS: int = 1280

#: MobileNet v2 body, Table 2 (t, c, n, s).
MOBILENET_V2_TABLE2: tuple[BottleneckStage, ...] = (
    BottleneckStage(1, 16, 1, 1),
    BottleneckStage(6, 24, 2, 2),
    BottleneckStage(6, 32, 3, 2),
    BottleneckStage(6, 64, 4, 2),
    BottleneckStage(6, 96, 3, 1),
    BottleneckStage(6, 160, 3, 2),
    BottleneckStage(6, 320, 1, 1),
)


@dataclass(frozen=True)
class BneckRow:
    """One "bneck" row of MobileNet v3's Tables 1 and 2.

    The block's input channels are the previous row's ``out_channels`` (the tables' "Input" column).
    ``activation`` is the table's NL column: "RE" for ReLU, "HS" for h-swish.
    """

    kernel_size: int
    expanded_channels: int  # "exp size"
    out_channels: int  # "#out"
    use_se: bool  # "SE"
    activation: Literal["RE", "HS"]  # "NL"
    stride: int  # "s"


#: MobileNet v3-Large, Table 1: stem "conv2d, 16, HS, s2"; 15 bnecks; then "conv2d 1×1, 960, HS",
#: pooling, "conv2d 1×1, NBN, 1280, HS" and the classifier.
MOBILENET_V3_LARGE_STEM: int = 16
MOBILENET_V3_LARGE_TABLE1: tuple[BneckRow, ...] = (
    BneckRow(3, 16, 16, False, "RE", 1),
    BneckRow(3, 64, 24, False, "RE", 2),
    BneckRow(3, 72, 24, False, "RE", 1),
    BneckRow(5, 72, 40, True, "RE", 2),
    BneckRow(5, 120, 40, True, "RE", 1),
    BneckRow(5, 120, 40, True, "RE", 1),
    BneckRow(3, 240, 80, False, "HS", 2),
    BneckRow(3, 200, 80, False, "HS", 1),
    BneckRow(3, 184, 80, False, "HS", 1),
    BneckRow(3, 184, 80, False, "HS", 1),
    BneckRow(3, 480, 112, True, "HS", 1),
    BneckRow(3, 672, 112, True, "HS", 1),
    BneckRow(5, 672, 160, True, "HS", 2),
    BneckRow(5, 960, 160, True, "HS", 1),
    BneckRow(5, 960, 160, True, "HS", 1),
)
MOBILENET_V3_LARGE_HIDDEN: int = 1280

#: MobileNet v3-Small, Table 2: stem "conv2d, 16, HS, s2"; 11 bnecks; then "conv2d 1×1, 576, HS",
#: pooling, "conv2d 1×1, NBN, 1024, HS" and the classifier.
MOBILENET_V3_SMALL_STEM: int = 16
MOBILENET_V3_SMALL_TABLE2: tuple[BneckRow, ...] = (
    BneckRow(3, 16, 16, True, "RE", 2),
    BneckRow(3, 72, 24, False, "RE", 2),
    BneckRow(3, 88, 24, False, "RE", 1),
    BneckRow(5, 96, 40, True, "HS", 2),
    BneckRow(5, 240, 40, True, "HS", 1),
    BneckRow(5, 240, 40, True, "HS", 1),
    BneckRow(5, 120, 48, True, "HS", 1),
    BneckRow(5, 144, 48, True, "HS", 1),
    BneckRow(5, 288, 96, True, "HS", 2),
    BneckRow(5, 576, 96, True, "HS", 1),
    BneckRow(5, 576, 96, True, "HS", 1),
)
MOBILENET_V3_SMALL_HIDDEN: int = 1024

#: MobileNet v3's last 1×1 convolution has 6× the channels of the last bneck (960 = 6·160, 576 = 6·96).
MOBILENET_V3_LAST_CONV_EXPANSION: int = 6


# ----------------------------------------------------------------------------------------------------
# Width / resolution multipliers of MobileNet v1, by formula
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MobileNetV1Cost:
    """Multiply-adds and weights of MobileNet v1 counted as the paper does (convolutions and the FC
    layer's weights; no BatchNorm, no biases)."""

    mult_adds: int
    params: int


def mobilenet_v1_cost(
    width_mult: float = 1.0, resolution: int = 224, num_classes: int = 1000
) -> MobileNetV1Cost:
    """Cost of α MobileNet-ρ from Table 1, by the formulas of Section 3 (reproduces Tables 6 and 7).

    The width multiplier α scales every layer's channels, so the cost falls roughly as α²; the
    resolution multiplier ρ = resolution / 224 shrinks every feature map, so mult-adds fall as ρ² while
    the parameters stay the same.

    >>> cost = mobilenet_v1_cost()
    >>> round(cost.mult_adds / 1e6), round(cost.params / 1e6, 1)  # Table 8: 569M mult-adds, 4.2M params
    (569, 4.2)
    """
    if width_mult <= 0:
        raise CourseError(
            f"width_mult must be positive (the paper uses 1, 0.75, 0.5, 0.25), got {width_mult}."
        )
    if resolution < 32:
        raise CourseError(
            f"resolution must be at least 32 pixels (the network halves it 5 times), got {resolution}."
        )

    def width(channels: int) -> int:
        return make_divisible(channels * width_mult, 8)

    stem_channels, stem_stride = MOBILENET_V1_STEM
    size = (resolution + stem_stride - 1) // stem_stride
    params = 3 * 3 * 3 * width(stem_channels)
    mult_adds = params * size * size
    channels = width(stem_channels)
    for out_channels, stride in MOBILENET_V1_TABLE1:
        size = (size + stride - 1) // stride  # "same" padding: ceil(size / stride)
        block_params = 3 * 3 * channels + channels * width(out_channels)  # D_K²·M + M·N
        params += block_params
        mult_adds += block_params * size * size  # (D_K²·M + M·N)·D_F²
        channels = width(out_channels)
    params += channels * num_classes
    mult_adds += channels * num_classes
    return MobileNetV1Cost(mult_adds=mult_adds, params=params)


# ----------------------------------------------------------------------------------------------------
# Helpers shared by the three networks
# ----------------------------------------------------------------------------------------------------


def _check_width_mult(width_mult: float) -> None:
    if not width_mult > 0:
        raise CourseError(f"width_mult must be positive (e.g. 0.5, 0.75, 1.0, 1.4), got {width_mult}.")


def _check_dropout(dropout: float) -> None:
    if not 0.0 <= dropout < 1.0:
        raise CourseError(f"dropout must be in [0, 1), got {dropout}.")


def _init_mobilenet_weights(model: nn.Module) -> None:
    """torchvision's initialisation for MobileNet v2/v3: He-normal (fan-out) convolutions, BN γ=1 β=0,
    small normal linear layers."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, 0, 0.01)
            nn.init.zeros_(module.bias)


# ----------------------------------------------------------------------------------------------------
# MobileNet v1
# ----------------------------------------------------------------------------------------------------


class MobileNetV1(nn.Module):
    """MobileNet v1 (arXiv:1704.04861, Table 1): a 3×3 convolution, 13 depthwise-separable blocks,
    global average pooling and a fully connected layer.

    Args:
        table: (output channels, depthwise stride) per block; :data:`MOBILENET_V1_TABLE1` by default.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        width_mult: α; every layer gets ``make_divisible(α · channels, 8)`` channels.
        stem_stride: stride of the first convolution (2 on ImageNet, 1 for small images).
        dropout: before the classifier (the paper uses none; timm's default is 0 too).
    """

    def __init__(
        self,
        *,
        table: Sequence[tuple[int, int]] = MOBILENET_V1_TABLE1,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_mult: float = 1.0,
        stem_stride: int = MOBILENET_V1_STEM[1],
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        _check_width_mult(width_mult)
        _check_dropout(dropout)
        channels = make_divisible(MOBILENET_V1_STEM[0] * width_mult, 8)
        layers: list[nn.Module] = [
            Conv2dNormActivation(in_channels, channels, kernel_size=3, stride=stem_stride)
        ]
        for out_channels, stride in table:
            out_channels = make_divisible(out_channels * width_mult, 8)
            layers.append(DepthwiseSeparableConv(channels, out_channels, stride=stride))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.in_channels = in_channels
        self.num_features: int = channels
        self.classifier = nn.Linear(channels, num_classes)
        _init_mobilenet_weights(self)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem and the 13 separable blocks: (N, 1024·α, H/32, W/32) on ImageNet."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling, dropout and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.classifier(self.dropout(torch.flatten(self.avgpool(x), 1)))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier = nn.Linear(self.num_features, num_classes)


@register_model(family="mobilenet", input_size=(3, 224, 224), timm_name="mobilenetv1_100", paper=PAPER_V1)
def mobilenet_v1(
    *, num_classes: int = 1000, in_channels: int = 3, width_mult: float = 1.0, dropout: float = 0.0
) -> MobileNetV1:
    """α MobileNet-224 (Table 1); at α = 1 4,231,976 parameters with BatchNorm, as timm's ``mobilenetv1_100``.

    The resolution multiplier ρ is not a model argument: feed smaller images (192, 160, 128 pixels);
    global average pooling makes the network work at any size (see :func:`mobilenet_v1_cost`).
    """
    return MobileNetV1(
        num_classes=num_classes, in_channels=in_channels, width_mult=width_mult, dropout=dropout
    )


@register_model(family="mobilenet", input_size=(3, 32, 32), paper=PAPER_V1)
def mobilenet_v1_cifar(
    *, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0, dropout: float = 0.0
) -> MobileNetV1:
    """MobileNet v1 for 32×32 / 28×28 images: stem stride 2 → 1 and block 2 (the first "Conv dw / s2",
    64 → 128 channels) stride 2 → 1; total stride 8 instead of 32. Widths and the other strides as Table 1."""
    table = list(MOBILENET_V1_TABLE1)
    table[1] = (table[1][0], 1)  # first stride-2 depthwise block
    return MobileNetV1(
        table=table,
        num_classes=num_classes,
        in_channels=in_channels,
        width_mult=width_mult,
        stem_stride=1,
        dropout=dropout,
    )


# ----------------------------------------------------------------------------------------------------
# MobileNet v2
# ----------------------------------------------------------------------------------------------------


class MobileNetV2(nn.Module):
    """MobileNet v2 (arXiv:1801.04381, Table 2): 3×3 convolution, 17 inverted residuals, 1×1 convolution
    to 1280 channels, pooling and a linear classifier.

    Parameter names equal torchvision's ``MobileNetV2`` (``features.<i>...``, ``classifier.1``).

    Args:
        table: the (t, c, n, s) stages; :data:`MOBILENET_V2_TABLE2` by default.
        num_classes: outputs of the classifier.
        in_channels: image channels.
        width_mult: scales every width with ``make_divisible(·, 8)``, except that the last 1×1 layer
            never shrinks below 1280 channels (the paper, Section 6.1, does not apply multipliers below
            one to the last convolution; torchvision does the same).
        stem_stride: stride of the first convolution (2 on ImageNet, 1 for small images).
        dropout: before the classifier (0.2, torchvision's default).
        projection_activation: ``None`` (the paper's linear bottleneck) or an activation after every
            block's projection, the ablation of Section 6.4 / Fig. 6a (see :class:`InvertedResidual`).
    """

    def __init__(
        self,
        *,
        table: Sequence[BottleneckStage] = MOBILENET_V2_TABLE2,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_mult: float = 1.0,
        stem_stride: int = MOBILENET_V2_STEM[1],
        dropout: float = 0.2,
        projection_activation: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        _check_width_mult(width_mult)
        _check_dropout(dropout)
        channels = make_divisible(MOBILENET_V2_STEM[0] * width_mult, 8)
        last_channels = make_divisible(MOBILENET_V2_LAST_CHANNELS * max(1.0, width_mult), 8)
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                in_channels, channels, kernel_size=3, stride=stem_stride, activation_layer=nn.ReLU6
            )
        ]
        for stage in table:
            out_channels = make_divisible(stage.out_channels * width_mult, 8)
            for index in range(stage.num_blocks):
                stride = stage.stride if index == 0 else 1
                layers.append(
                    InvertedResidual(
                        channels,
                        out_channels,
                        stride,
                        expand_ratio=stage.expand_ratio,
                        projection_activation=projection_activation,
                    )
                )
                channels = out_channels
        layers.append(Conv2dNormActivation(channels, last_channels, kernel_size=1, activation_layer=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.in_channels = in_channels
        self.num_features: int = last_channels
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last_channels, num_classes))
        _init_mobilenet_weights(self)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem, inverted residuals and the 1×1 convolution: (N, 1280, H/32, W/32) on ImageNet."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling, dropout and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final linear layer with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier[-1] = nn.Linear(self.num_features, num_classes)


@register_model(
    family="mobilenet",
    input_size=(3, 224, 224),
    torchvision_name="mobilenet_v2",
    timm_name="mobilenetv2_100",
    paper=PAPER_V2,
)
def mobilenet_v2(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.2,
    weights: str | None = None,
) -> MobileNetV2:
    """MobileNet v2 (Table 2), equal to torchvision's ``mobilenet_v2`` (3,504,872 parameters at width 1)."""
    check_model_arguments(num_classes, in_channels, weights)
    if weights is not None and width_mult != 1.0:
        raise CourseError("torchvision's ImageNet weights exist for width_mult=1.0 only.")
    model = MobileNetV2(
        num_classes=num_classes, in_channels=in_channels, width_mult=width_mult, dropout=dropout
    )
    return apply_weights(model, weights, "mobilenet_v2")


@register_model(family="mobilenet", input_size=(3, 32, 32), paper=PAPER_V2)
def mobilenet_v2_cifar(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.2,
    projection_activation: Callable[..., nn.Module] | None = None,
) -> MobileNetV2:
    """MobileNet v2 for 32×32 / 28×28 images: stem stride 2 → 1 and the first stride-2 stage (t=6, c=24,
    n=2) stride 2 → 1; total stride 8 instead of 32. Everything else as Table 2.

    ``projection_activation`` (default ``None``, the linear bottleneck) puts an activation after every
    projection, for chapter 06's ablation."""
    table = list(MOBILENET_V2_TABLE2)
    table[1] = replace(table[1], stride=1)
    return MobileNetV2(
        table=table,
        num_classes=num_classes,
        in_channels=in_channels,
        width_mult=width_mult,
        stem_stride=1,
        dropout=dropout,
        projection_activation=projection_activation,
    )


# ----------------------------------------------------------------------------------------------------
# MobileNet v3
# ----------------------------------------------------------------------------------------------------

#: torchvision's (and TensorFlow's) BatchNorm settings for MobileNet v3; momentum 0.01 in PyTorch's
#: convention is TensorFlow's decay 0.99.
_V3_NORM: Callable[[int], nn.Module] = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)

_V3_ACTIVATIONS: dict[str, Callable[..., nn.Module]] = {"RE": nn.ReLU, "HS": nn.Hardswish}


class MobileNetV3(nn.Module):
    """MobileNet v3 (arXiv:1905.02244, Section 5, Tables 1 and 2).

    Stem (3×3 conv, h-swish) → bnecks (:class:`~cnncourse.layers.mbconv.MBConv`) → 1×1 conv to 6× the
    last width (h-swish) → global pooling → the "efficient last stage" (Section 5.1, Fig. 5): a 1×1
    layer without BatchNorm to 1280 (Large) / 1024 (Small) channels with h-swish, then the classifier.

    Parameter names equal torchvision's ``MobileNetV3``. Where torchvision (and this code) depart from
    the paper:

    * the SE squeeze width is ``make_divisible(expanded / 4, 8)``; the paper says "1/4 of the number of
      channels in the expansion layer" (Section 5.3) without the rounding;
    * the two 1×1 "NBN" convolutions after pooling are ``nn.Linear`` layers (the same arithmetic on a
      1×1 map), with dropout (0.2) before the last one;
    * BatchNorm uses TensorFlow's eps = 0.001 and momentum 0.01;
    * MobileNetV3-Small: Table 2 marks SE on the 1×1 convolution to 576 channels after the last bneck;
      torchvision and TensorFlow's released definition have none there, and neither does this code;
    * the width multiplier thins every table width, expansions and the 1280/1024-wide hidden layer
      included (torchvision's convention). TensorFlow's reference code, which the paper's Table 3
      networks come from, takes each expansion as a factor of the block's rounded input width and keeps
      the hidden layer at full width; at width 1.0 the two agree, at 0.75 they differ (chapter 07).

    ``num_features`` is the width entering the classifier (960 Large, 576 Small); the classifier's hidden
    layer has ``hidden_features`` (1280 / 1024) channels and :meth:`reset_classifier` keeps it.
    """

    def __init__(
        self,
        *,
        rows: Sequence[BneckRow],
        stem_channels: int,
        hidden_features: int,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_mult: float = 1.0,
        stem_stride: int = 2,
        dropout: float = 0.2,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        _check_width_mult(width_mult)
        _check_dropout(dropout)

        def width(channels: int) -> int:
            return make_divisible(channels * width_mult, 8)

        channels = width(stem_channels)
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                in_channels,
                channels,
                kernel_size=3,
                stride=stem_stride,
                norm_layer=_V3_NORM,
                activation_layer=nn.Hardswish,
            )
        ]
        for row in rows:
            expanded = width(row.expanded_channels)
            out_channels = width(row.out_channels)
            # MobileNet v3's SE width: a quarter of the *expanded* channels, rounded to a multiple of 8
            # (paper Section 5.3; the rounding is torchvision's and TensorFlow's).
            squeeze = make_divisible(expanded // 4, 8) if row.use_se else None
            layers.append(
                MBConv(
                    channels,
                    out_channels,
                    expanded_channels=expanded,
                    kernel_size=row.kernel_size,
                    stride=row.stride,
                    activation_layer=_V3_ACTIVATIONS[row.activation],
                    squeeze_channels=squeeze,
                    se_activation=nn.ReLU,
                    se_gate=nn.Hardsigmoid,
                    norm_layer=_V3_NORM,
                )
            )
            channels = out_channels
        last_conv_channels = MOBILENET_V3_LAST_CONV_EXPANSION * channels
        layers.append(
            Conv2dNormActivation(
                channels,
                last_conv_channels,
                kernel_size=1,
                norm_layer=_V3_NORM,
                activation_layer=nn.Hardswish,
            )
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.in_channels = in_channels
        self.num_features: int = last_conv_channels
        self.hidden_features: int = width(hidden_features)
        self.classifier = nn.Sequential(
            nn.Linear(last_conv_channels, self.hidden_features),
            nn.Hardswish(),
            nn.Dropout(dropout),
            nn.Linear(self.hidden_features, num_classes),
        )
        _init_mobilenet_weights(self)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem, bnecks and the last 1×1 convolution: (N, 960 or 576, H/32, W/32) on ImageNet."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Pooling, the 1280/1024-wide hidden layer (h-swish), dropout, classifier → (N, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final linear layer (the hidden layer is kept) for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier[-1] = nn.Linear(self.hidden_features, num_classes)


def _mobilenet_v3(
    name: str,
    rows: Sequence[BneckRow],
    stem_channels: int,
    hidden_features: int,
    *,
    num_classes: int,
    in_channels: int,
    width_mult: float,
    dropout: float,
    weights: str | None,
) -> MobileNetV3:
    check_model_arguments(num_classes, in_channels, weights)
    if weights is not None and width_mult != 1.0:
        raise CourseError("torchvision's ImageNet weights exist for width_mult=1.0 only.")
    model = MobileNetV3(
        rows=rows,
        stem_channels=stem_channels,
        hidden_features=hidden_features,
        num_classes=num_classes,
        in_channels=in_channels,
        width_mult=width_mult,
        dropout=dropout,
    )
    return apply_weights(model, weights, name)


@register_model(
    family="mobilenet",
    input_size=(3, 224, 224),
    torchvision_name="mobilenet_v3_large",
    timm_name="mobilenetv3_large_100",
    paper=PAPER_V3,
)
def mobilenet_v3_large(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.2,
    weights: str | None = None,
) -> MobileNetV3:
    """MobileNet v3-Large (Table 1), equal to torchvision's ``mobilenet_v3_large`` (5,483,032 parameters)."""
    return _mobilenet_v3(
        "mobilenet_v3_large",
        MOBILENET_V3_LARGE_TABLE1,
        MOBILENET_V3_LARGE_STEM,
        MOBILENET_V3_LARGE_HIDDEN,
        num_classes=num_classes,
        in_channels=in_channels,
        width_mult=width_mult,
        dropout=dropout,
        weights=weights,
    )


@register_model(
    family="mobilenet",
    input_size=(3, 224, 224),
    torchvision_name="mobilenet_v3_small",
    timm_name="mobilenetv3_small_100",
    paper=PAPER_V3,
)
def mobilenet_v3_small(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    width_mult: float = 1.0,
    dropout: float = 0.2,
    weights: str | None = None,
) -> MobileNetV3:
    """MobileNet v3-Small (Table 2), equal to torchvision's ``mobilenet_v3_small`` (2,542,856 parameters)."""
    return _mobilenet_v3(
        "mobilenet_v3_small",
        MOBILENET_V3_SMALL_TABLE2,
        MOBILENET_V3_SMALL_STEM,
        MOBILENET_V3_SMALL_HIDDEN,
        num_classes=num_classes,
        in_channels=in_channels,
        width_mult=width_mult,
        dropout=dropout,
        weights=weights,
    )


@register_model(family="mobilenet", input_size=(3, 32, 32), paper=PAPER_V3)
def mobilenet_v3_small_cifar(
    *, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0, dropout: float = 0.2
) -> MobileNetV3:
    """MobileNet v3-Small for 32×32 / 28×28 images: stem stride 2 → 1 and the first bneck (3×3, exp 16,
    SE, stride 2) stride 2 → 1; total stride 8 instead of 32. Everything else as Table 2."""
    rows = list(MOBILENET_V3_SMALL_TABLE2)
    rows[0] = replace(rows[0], stride=1)
    return MobileNetV3(
        rows=rows,
        stem_channels=MOBILENET_V3_SMALL_STEM,
        hidden_features=MOBILENET_V3_SMALL_HIDDEN,
        num_classes=num_classes,
        in_channels=in_channels,
        width_mult=width_mult,
        stem_stride=1,
        dropout=dropout,
    )


__all__ = [
    "BneckRow",
    "BottleneckStage",
    "MOBILENET_V1_TABLE1",
    "MOBILENET_V2_TABLE2",
    "MOBILENET_V3_LARGE_TABLE1",
    "MOBILENET_V3_SMALL_TABLE2",
    "MobileNetV1",
    "MobileNetV1Cost",
    "MobileNetV2",
    "MobileNetV3",
    "mobilenet_v1",
    "mobilenet_v1_cifar",
    "mobilenet_v1_cost",
    "mobilenet_v2",
    "mobilenet_v2_cifar",
    "mobilenet_v3_large",
    "mobilenet_v3_small",
    "mobilenet_v3_small_cifar",
]
