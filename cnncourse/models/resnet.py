"""ResNet: deep residual learning (He, Zhang, Ren & Sun, 2015, arXiv:1512.03385) and its pre-activation
variant (He, Zhang, Ren & Sun, 2016, "Identity Mappings in Deep Residual Networks", arXiv:1603.05027).

A residual block learns a correction ``F(x)`` to its input and outputs ``relu(F(x) + x)``. When a stack of
layers would do best as an identity, driving ``F`` to zero is easier than fitting an identity with a
stack of nonlinear layers; that fixes the *degradation problem* (a deeper plain network training *worse*
than a shallower one, paper Section 1 and Fig. 1), which :func:`plain20` and :func:`plain56` reproduce.

Two families live here:

* the ImageNet networks of the paper's Table 1 (``resnet18`` ... ``resnet152``), equal to torchvision's
  (same parameter names, ``state_dict`` loads strictly, same outputs);
* the CIFAR-10 networks of the paper's Section 4.2 (``resnet20`` ... ``resnet110``, 6n+2 layers, 16/32/64
  filters), their plain counterparts, and a pre-activation ResNet-20.

ImageNet configurations, paper Table 1 (input 224×224):

=========  ===========  ===================================  =====================================
stage      output size  18 / 34 layers (basic block)         50 / 101 / 152 layers (bottleneck)
=========  ===========  ===================================  =====================================
conv1      112×112      7×7, 64, stride 2
conv2_x    56×56        3×3 max pool, stride 2; then         3×3 max pool, stride 2; then
                        [3×3, 64; 3×3, 64] × 2 / 3           [1×1, 64; 3×3, 64; 1×1, 256] × 3 / 3 / 3
conv3_x    28×28        [3×3, 128; 3×3, 128] × 2 / 4         [1×1, 128; 3×3, 128; 1×1, 512] × 4 / 4 / 8
conv4_x    14×14        [3×3, 256; 3×3, 256] × 2 / 6         [1×1, 256; 3×3, 256; 1×1, 1024] × 6 / 23 / 36
conv5_x    7×7          [3×3, 512; 3×3, 512] × 2 / 3         [1×1, 512; 3×3, 512; 1×1, 2048] × 3 / 3 / 3
           1×1          average pool, 1000-d fc, softmax
FLOPs                   1.8 / 3.6 ×10⁹                       3.8 / 7.6 / 11.3 ×10⁹
=========  ===========  ===================================  =====================================

CIFAR-10 configuration, paper Section 4.2 (input 32×32; n blocks of two 3×3 layers per stage)::

    output map size   32×32   16×16   8×8
    # layers          1+2n    2n      2n      (+1 fully connected: 6n+2 weighted layers)
    # filters         16      32      64

Published sizes (paper Table 6): ResNet-20 0.27M, -32 0.46M, -44 0.66M, -56 0.85M, -110 1.7M parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.layers import Conv2dNormActivation
from cnncourse.models._registry import check_model_arguments, register_model
from cnncourse.models._torchvision import apply_weights

PAPER = "He et al., 2015, arXiv:1512.03385"
PREACT_PAPER = "He et al., 2016, arXiv:1603.05027"

# ----------------------------------------------------------------------------------------------------
# Configuration tables (copied from the paper, see the module docstring)
# ----------------------------------------------------------------------------------------------------

#: Blocks per stage conv2_x ... conv5_x of the ImageNet networks, paper Table 1.
IMAGENET_STAGE_DEPTHS: dict[int, tuple[Literal["basic", "bottleneck"], tuple[int, int, int, int]]] = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
    152: ("bottleneck", (3, 8, 36, 3)),
}

#: Base widths of the four ImageNet stages (a bottleneck stage outputs 4× this), paper Table 1.
IMAGENET_STAGE_WIDTHS: tuple[int, int, int, int] = (64, 128, 256, 512)

#: Filters of the three CIFAR stages, paper Section 4.2.
CIFAR_STAGE_WIDTHS: tuple[int, int, int] = (16, 32, 64)

ShortcutOption = Literal["A", "B", "none"]
SHORTCUT_OPTIONS: tuple[str, ...] = ("A", "B", "none")


# ----------------------------------------------------------------------------------------------------
# Argument checks shared by the families in this package
# ----------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------
# ImageNet blocks (parameter names equal torchvision's BasicBlock / Bottleneck)
# ----------------------------------------------------------------------------------------------------


def conv3x3(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """3×3 convolution with "same" padding and no bias (a BatchNorm follows, which cancels any bias)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)


def conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> nn.Conv2d:
    """1×1 convolution without bias: mixes channels, or projects a shortcut (option B)."""
    return nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3×3 convolutions and a shortcut: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``.

    Paper Fig. 2 and Fig. 5 (left); used by ResNet-18/34. ``downsample`` is the projection shortcut
    (option B: 1×1 convolution + BatchNorm) the network passes to the first block of a stage whose shape
    changes; elsewhere the shortcut is the identity.

    Args:
        inplanes: input channels.
        planes: output channels (``planes * expansion`` with ``expansion = 1``).
        stride: stride of the first 3×3 convolution (2 at the start of conv3_x ... conv5_x).
        downsample: shortcut module for a shape change, or ``None`` for the identity.
    """

    expansion: int = 1

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def residual(self, x: Tensor) -> Tensor:
        """The learned correction F(x), before the addition."""
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.residual(x)
        out += identity  # in place, as torchvision: saves one feature-map allocation per block
        return self.relu(out)


class Bottleneck(nn.Module):
    """1×1 reduce → 3×3 → 1×1 expand (×4) plus a shortcut: the block of ResNet-50/101/152 (paper Fig. 5).

    The 1×1 layers shrink and then restore the channels so that the expensive 3×3 runs on a quarter of
    them; a bottleneck block costs about as much as a basic block on 4× fewer channels.

    Departure from the paper: the stride-2 of a downsampling block sits on the **3×3** convolution
    (``conv2``), as in torchvision ("ResNet v1.5"). The authors' released models put it on the first 1×1
    convolution, which skips three quarters of the input positions; striding the 3×3 instead sees every
    position, is slightly more accurate, and costs somewhat more multiply-adds. The parameter count is
    the same either way.

    Args:
        inplanes: input channels.
        planes: base width; the block outputs ``planes * expansion`` channels (``expansion = 4``).
        stride: stride of the 3×3 convolution.
        downsample: shortcut module for a shape change (option B projection), or ``None`` for the identity.
        width_per_group: width of the inner 3×3 relative to 64; ``128`` doubles the inner width, which is
            torchvision's Wide ResNet-50-2 / 101-2 (see :mod:`cnncourse.models.wide_resnet`).
    """

    expansion: int = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        width_per_group: int = 64,
    ) -> None:
        super().__init__()
        inner_width = int(planes * (width_per_group / 64.0))
        out_planes = planes * self.expansion
        self.conv1 = conv1x1(inplanes, inner_width)
        self.bn1 = nn.BatchNorm2d(inner_width)
        self.conv2 = conv3x3(inner_width, inner_width, stride)
        self.bn2 = nn.BatchNorm2d(inner_width)
        self.conv3 = conv1x1(inner_width, out_planes)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def residual(self, x: Tensor) -> Tensor:
        """The learned correction F(x), before the addition."""
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        return self.bn3(self.conv3(out))

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.residual(x)
        out += identity  # in place, as torchvision: saves one feature-map allocation per block
        return self.relu(out)


# ----------------------------------------------------------------------------------------------------
# ImageNet model
# ----------------------------------------------------------------------------------------------------


class ResNet(nn.Module):
    """The ImageNet ResNet of paper Table 1, module for module equal to ``torchvision.models.ResNet``.

    Stem (7×7 stride-2 convolution, BatchNorm, ReLU, 3×3 stride-2 max pool) → four stages ``layer1`` ...
    ``layer4`` → global average pool → fully connected layer. Where a stage changes the shape, the
    first block's shortcut is a 1×1 projection with BatchNorm (the paper's option B, Section 3.3).

    Initialisation as torchvision: He normal (fan_out) for convolutions (He et al., 2015,
    arXiv:1502.01852), BatchNorm γ = 1, β = 0, PyTorch's default for the classifier. With
    ``zero_init_residual`` the last BatchNorm of every block starts at γ = 0, so each block starts as
    an identity (Goyal et al., 2017, arXiv:1706.02677); the ResNet paper does not do this.

    Args:
        block: :class:`BasicBlock`, :class:`Bottleneck` or a subclass (SENet's ``SEBottleneck``).
        stage_depths: blocks in each of the four stages.
        num_classes: outputs of the classifier.
        in_channels: channels of the input image.
        width_per_group: inner width of bottleneck blocks relative to 64 (Wide ResNet uses 128).
        zero_init_residual: start every block as an identity (see above).
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        stage_depths: Sequence[int],
        *,
        num_classes: int = 1000,
        in_channels: int = 3,
        width_per_group: int = 64,
        zero_init_residual: bool = False,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        if len(stage_depths) != 4 or any(depth < 1 for depth in stage_depths):
            raise CourseError(
                f"stage_depths must be four positive block counts, e.g. (2, 2, 2, 2); got {stage_depths!r}."
            )
        if issubclass(block, BasicBlock) and width_per_group != 64:
            raise CourseError("width_per_group only applies to Bottleneck blocks; BasicBlock always uses 64.")
        self.block = block
        self.width_per_group = width_per_group
        self.in_channels = in_channels
        self.inplanes = 64  # channels entering the next stage; updated by _make_stage

        self.conv1 = nn.Conv2d(in_channels, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        widths = IMAGENET_STAGE_WIDTHS
        self.layer1 = self._make_stage(widths[0], stage_depths[0], stride=1)  # the max pool already halved
        self.layer2 = self._make_stage(widths[1], stage_depths[1], stride=2)
        self.layer3 = self._make_stage(widths[2], stage_depths[2], stride=2)
        self.layer4 = self._make_stage(widths[3], stage_depths[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.num_features: int = widths[3] * block.expansion
        self.fc = nn.Linear(self.num_features, num_classes)

        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
        if zero_init_residual:
            for module in self.modules():
                if isinstance(module, Bottleneck):
                    nn.init.zeros_(module.bn3.weight)
                elif isinstance(module, BasicBlock):
                    nn.init.zeros_(module.bn2.weight)

    def _make_block(self, planes: int, stride: int, downsample: nn.Module | None) -> nn.Module:
        if issubclass(self.block, Bottleneck):
            return self.block(self.inplanes, planes, stride, downsample, width_per_group=self.width_per_group)
        return self.block(self.inplanes, planes, stride, downsample)

    def _make_stage(self, planes: int, num_blocks: int, stride: int) -> nn.Sequential:
        out_planes = planes * self.block.expansion
        downsample = None
        if stride != 1 or self.inplanes != out_planes:  # the shape changes: project the shortcut (option B)
            downsample = nn.Sequential(conv1x1(self.inplanes, out_planes, stride), nn.BatchNorm2d(out_planes))
        blocks = [self._make_block(planes, stride, downsample)]
        self.inplanes = out_planes
        blocks += [self._make_block(planes, 1, None) for _ in range(1, num_blocks)]
        return nn.Sequential(*blocks)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem and the four stages: the feature map before pooling, (N, num_features, H/32, W/32)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.layer4(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.fc = nn.Linear(self.num_features, num_classes)


def _imagenet_resnet(
    depth: int, num_classes: int, in_channels: int, weights: str | None, zero_init_residual: bool
) -> ResNet:
    check_model_arguments(num_classes, in_channels, weights)
    block_kind, stage_depths = IMAGENET_STAGE_DEPTHS[depth]
    block = BasicBlock if block_kind == "basic" else Bottleneck
    model = ResNet(
        block,
        stage_depths,
        num_classes=num_classes,
        in_channels=in_channels,
        zero_init_residual=zero_init_residual,
    )
    return apply_weights(model, weights, f"resnet{depth}")  # type: ignore[return-value]


@register_model(
    family="resnet", input_size=(3, 224, 224), torchvision_name="resnet18", timm_name="resnet18", paper=PAPER
)
def resnet18(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    weights: str | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-18 (paper Table 1), equal to ``torchvision.models.resnet18``: 11.7M parameters."""
    return _imagenet_resnet(18, num_classes, in_channels, weights, zero_init_residual)


@register_model(
    family="resnet", input_size=(3, 224, 224), torchvision_name="resnet34", timm_name="resnet34", paper=PAPER
)
def resnet34(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    weights: str | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-34 (paper Table 1), equal to ``torchvision.models.resnet34``: 21.8M parameters."""
    return _imagenet_resnet(34, num_classes, in_channels, weights, zero_init_residual)


@register_model(
    family="resnet", input_size=(3, 224, 224), torchvision_name="resnet50", timm_name="resnet50", paper=PAPER
)
def resnet50(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    weights: str | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-50 (paper Table 1; stride on the 3×3, "v1.5"), equal to torchvision's ``resnet50``: 25.6M."""
    return _imagenet_resnet(50, num_classes, in_channels, weights, zero_init_residual)


@register_model(
    family="resnet",
    input_size=(3, 224, 224),
    torchvision_name="resnet101",
    timm_name="resnet101",
    paper=PAPER,
)
def resnet101(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    weights: str | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-101 (paper Table 1), equal to ``torchvision.models.resnet101``: 44.5M parameters."""
    return _imagenet_resnet(101, num_classes, in_channels, weights, zero_init_residual)


@register_model(
    family="resnet",
    input_size=(3, 224, 224),
    torchvision_name="resnet152",
    timm_name="resnet152",
    paper=PAPER,
)
def resnet152(
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    weights: str | None = None,
    zero_init_residual: bool = False,
) -> ResNet:
    """ResNet-152 (paper Table 1), equal to ``torchvision.models.resnet152``: 60.2M parameters."""
    return _imagenet_resnet(152, num_classes, in_channels, weights, zero_init_residual)


# ----------------------------------------------------------------------------------------------------
# CIFAR blocks (paper Section 4.2) and the pre-activation block (arXiv:1603.05027)
# ----------------------------------------------------------------------------------------------------


def option_a_shortcut(x: Tensor, out_channels: int, stride: int) -> Tensor:
    """The parameter-free shortcut of paper Section 3.3, option A: subsample, then zero-pad the channels.

    Where a block halves the map and doubles the channels, the identity cannot be added as it is. Option A
    keeps every ``stride``-th row and column (the same positions a stride-``stride`` 3×3 convolution with
    padding 1 centres on, so the sizes agree for odd sizes too: 7 → 4) and appends zero channels up to
    ``out_channels``. The new channels of the block's output are then pure residual.

    >>> x = torch.ones(1, 16, 32, 32)
    >>> y = option_a_shortcut(x, 32, 2)
    >>> tuple(y.shape), float(y[:, :16].min()), float(y[:, 16:].abs().max())
    ((1, 32, 16, 16), 1.0, 0.0)
    """
    missing_channels = out_channels - x.shape[1]
    if missing_channels < 0:
        raise CourseError(
            f"option A can only add channels: the input has {x.shape[1]}, the block {out_channels}."
        )
    if stride != 1:
        x = x[:, :, ::stride, ::stride]
    if missing_channels:
        x = F.pad(x, (0, 0, 0, 0, 0, missing_channels))  # pad order: W left/right, H top/bottom, C front/back
    return x


class ZeroPadShortcut(nn.Module):
    """Option A as a module (no parameters): see :func:`option_a_shortcut`."""

    def __init__(self, out_channels: int, stride: int) -> None:
        super().__init__()
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        return option_a_shortcut(x, self.out_channels, self.stride)

    def extra_repr(self) -> str:
        return f"out_channels={self.out_channels}, stride={self.stride}"


def make_shortcut(in_planes: int, out_planes: int, stride: int, option: ShortcutOption) -> nn.Module | None:
    """The shortcut of a CIFAR block (paper Section 3.3).

    ``"A"``: identity, with zero-padding where the shape changes (no parameters; the paper's CIFAR choice).
    ``"B"``: identity, with a 1×1 projection + BatchNorm where the shape changes.
    ``"none"``: no shortcut at all (the paper's *plain* networks); returns ``None``.
    """
    if option not in SHORTCUT_OPTIONS:
        raise CourseError(f"shortcut must be one of {SHORTCUT_OPTIONS}; got {option!r}.")
    if option == "none":
        return None
    if stride == 1 and in_planes == out_planes:
        return nn.Identity()
    if option == "A":
        return ZeroPadShortcut(out_planes, stride)
    return nn.Sequential(conv1x1(in_planes, out_planes, stride), nn.BatchNorm2d(out_planes))


class CifarBasicBlock(nn.Module):
    """The basic block of the paper's CIFAR networks (Section 4.2): conv-BN-ReLU-conv-BN, add, ReLU.

    Args:
        in_planes: input channels.
        planes: output channels.
        stride: stride of the first convolution (2 at the start of the 2nd and 3rd stage).
        shortcut: ``"A"`` (zero-padding, the paper's CIFAR choice), ``"B"`` (1×1 projection where the
            shape changes) or ``"none"`` (a plain block, no shortcut: the paper's plain baselines).
    """

    expansion: int = 1
    pre_activation: bool = False

    def __init__(self, in_planes: int, planes: int, stride: int = 1, shortcut: ShortcutOption = "A") -> None:
        super().__init__()
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = make_shortcut(in_planes, planes, stride, shortcut)

    def residual(self, x: Tensor) -> Tensor:
        """The learned correction F(x) (for a plain block, the whole output before the last ReLU)."""
        out = self.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out))

    def forward(self, x: Tensor) -> Tensor:
        out = self.residual(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return self.relu(out)


class PreActBlock(nn.Module):
    """Pre-activation basic block (He et al., 2016, arXiv:1603.05027, Fig. 1(b) and Fig. 4(e)).

    BN-ReLU-conv-BN-ReLU-conv, then add the shortcut, and **no** activation after the addition: the
    shortcut path stays a pure identity from block to block, so signals and gradients pass through the
    whole network unchanged (paper Section 2, Eqs. 4-5).

    The shortcut normally takes the raw input ``x``. It takes the pre-activated input ``relu(bn1(x))``
    instead (``shortcut_from_preactivation=True``) for the first block after the stem, where the paper
    puts the first activation "before splitting into two paths" (Section 4.1), and always for a 1×1
    projection shortcut (paper Appendix: projection shortcuts are "also with pre-activation").

    Args:
        in_planes, planes, stride: as :class:`CifarBasicBlock`.
        shortcut: ``"A"`` (zero-padding) or ``"B"`` (1×1 projection) where the shape changes.
        shortcut_from_preactivation: see above.
    """

    expansion: int = 1
    pre_activation: bool = True

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        shortcut: ShortcutOption = "A",
        shortcut_from_preactivation: bool = False,
    ) -> None:
        super().__init__()
        if shortcut == "none":
            raise CourseError("A pre-activation block needs a shortcut: use shortcut='A' or 'B'.")
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv1 = conv3x3(in_planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = conv3x3(planes, planes)
        shortcut_module = make_shortcut(in_planes, planes, stride, shortcut)
        assert shortcut_module is not None  # "none" was refused above
        self.shortcut: nn.Module = shortcut_module
        is_projection = isinstance(shortcut_module, nn.Sequential)
        self.shortcut_from_preactivation = shortcut_from_preactivation or is_projection

    def forward(self, x: Tensor) -> Tensor:
        preactivated = self.relu(self.bn1(x))  # in place on BatchNorm's fresh output; x itself is untouched
        identity = self.shortcut(preactivated if self.shortcut_from_preactivation else x)
        out = self.conv1(preactivated)
        out = self.conv2(self.relu(self.bn2(out)))
        return out + identity


# ----------------------------------------------------------------------------------------------------
# CIFAR model
# ----------------------------------------------------------------------------------------------------


class CifarResNet(nn.Module):
    """The CIFAR-10 ResNet of paper Section 4.2 (6n+2 layers), plain or pre-activation.

    3×3 convolution (16 filters) → three stages of ``blocks_per_stage`` blocks with 16, 32, 64 filters on
    32×32, 16×16, 8×8 maps (stride 2 at the start of the 2nd and 3rd stage) → global average pool →
    fully connected layer. Works on any input size large enough for two halvings (28×28 Fashion-MNIST
    gives 28 → 14 → 7 maps).

    With :class:`PreActBlock` the stem is a bare convolution (the first block normalises it) and a final
    BN-ReLU follows the last block, "after its element-wise addition" (arXiv:1603.05027, Section 4.1).

    Initialisation: He normal (fan_out) for convolutions, as the paper ("as in [13]", Section 3.4);
    BatchNorm γ = 1, β = 0; PyTorch's default for the classifier.

    Args:
        block: :class:`CifarBasicBlock`, :class:`PreActBlock` or a subclass (SENet's ``SEBasicBlock``).
        blocks_per_stage: n in 6n+2.
        num_classes: outputs of the classifier.
        in_channels: channels of the input image.
        shortcut: ``"A"``, ``"B"`` or ``"none"`` (plain network), see :func:`make_shortcut`.
        stage_widths: filters of the three stages.
    """

    def __init__(
        self,
        block: type[CifarBasicBlock] | type[PreActBlock],
        blocks_per_stage: int,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        shortcut: ShortcutOption = "A",
        stage_widths: tuple[int, int, int] = CIFAR_STAGE_WIDTHS,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        if blocks_per_stage < 1:
            raise CourseError(f"blocks_per_stage must be at least 1, got {blocks_per_stage}.")
        if shortcut not in SHORTCUT_OPTIONS:
            raise CourseError(f"shortcut must be one of {SHORTCUT_OPTIONS}; got {shortcut!r}.")
        self.in_channels = in_channels
        self.depth = 6 * blocks_per_stage + 2
        self.pre_activation = block.pre_activation
        first_width = stage_widths[0]
        if self.pre_activation:
            self.stem: nn.Module = conv3x3(in_channels, first_width)
        else:
            self.stem = Conv2dNormActivation(in_channels, first_width, kernel_size=3)

        stages: list[nn.Sequential] = []
        in_planes = first_width
        for stage_index, width in enumerate(stage_widths):
            blocks: list[nn.Module] = []
            for block_index in range(blocks_per_stage):
                stride = 2 if stage_index > 0 and block_index == 0 else 1
                if issubclass(block, PreActBlock):
                    first_after_stem = stage_index == 0 and block_index == 0
                    blocks.append(block(in_planes, width, stride, shortcut, first_after_stem))
                else:
                    blocks.append(block(in_planes, width, stride, shortcut))
                in_planes = width
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = stages

        # the pre-activation network ends with the activation its last block leaves out
        self.final_activation: nn.Module = nn.Identity()
        if self.pre_activation:
            self.final_activation = nn.Sequential(nn.BatchNorm2d(in_planes), nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.num_features: int = in_planes
        self.fc = nn.Linear(self.num_features, num_classes)

        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem and the three stages: (N, 64, H/4, W/4) for the standard widths."""
        x = self.stem(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return self.final_activation(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.fc(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.fc = nn.Linear(self.num_features, num_classes)


def cifar_resnet(
    depth: int,
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    shortcut: ShortcutOption = "A",
    pre_activation: bool = False,
) -> CifarResNet:
    """A CIFAR ResNet of any depth 6n+2 (20, 32, 44, 56, 110, 1202, ... or 8, 14 for quick experiments).

    ``shortcut="none"`` gives the plain network of the same depth.
    """
    if not isinstance(depth, int) or depth < 8 or (depth - 2) % 6:
        raise CourseError(
            f"A CIFAR ResNet has 6n+2 layers (8, 14, 20, 32, 44, 56, 110, ...); got depth={depth!r}."
        )
    block = PreActBlock if pre_activation else CifarBasicBlock
    blocks_per_stage = (depth - 2) // 6
    return CifarResNet(
        block, blocks_per_stage, num_classes=num_classes, in_channels=in_channels, shortcut=shortcut
    )


ResidualShortcut = Literal["A", "B"]


def _check_residual_shortcut(shortcut: str) -> None:
    if shortcut not in ("A", "B"):
        raise CourseError(f"shortcut must be 'A' (zero-padding) or 'B' (1×1 projection); got {shortcut!r}. "
                          "For a network without shortcuts use plain20 or plain56.")


@register_model(family="resnet", input_size=(3, 32, 32), paper=PAPER)
def resnet20(*, num_classes: int = 10, in_channels: int = 3, shortcut: ResidualShortcut = "A") -> CifarResNet:
    """ResNet-20 for 32×32 images (paper Section 4.2, Table 6: 0.27M parameters, 8.75% CIFAR-10 error)."""
    _check_residual_shortcut(shortcut)
    return cifar_resnet(20, num_classes=num_classes, in_channels=in_channels, shortcut=shortcut)


@register_model(family="resnet", input_size=(3, 32, 32), paper=PAPER)
def resnet32(*, num_classes: int = 10, in_channels: int = 3, shortcut: ResidualShortcut = "A") -> CifarResNet:
    """ResNet-32 for 32×32 images (paper Table 6: 0.46M parameters)."""
    _check_residual_shortcut(shortcut)
    return cifar_resnet(32, num_classes=num_classes, in_channels=in_channels, shortcut=shortcut)


@register_model(family="resnet", input_size=(3, 32, 32), paper=PAPER)
def resnet44(*, num_classes: int = 10, in_channels: int = 3, shortcut: ResidualShortcut = "A") -> CifarResNet:
    """ResNet-44 for 32×32 images (paper Table 6: 0.66M parameters)."""
    _check_residual_shortcut(shortcut)
    return cifar_resnet(44, num_classes=num_classes, in_channels=in_channels, shortcut=shortcut)


@register_model(family="resnet", input_size=(3, 32, 32), paper=PAPER)
def resnet56(*, num_classes: int = 10, in_channels: int = 3, shortcut: ResidualShortcut = "A") -> CifarResNet:
    """ResNet-56 for 32×32 images (paper Table 6: 0.85M parameters, 6.97% CIFAR-10 error)."""
    _check_residual_shortcut(shortcut)
    return cifar_resnet(56, num_classes=num_classes, in_channels=in_channels, shortcut=shortcut)


@register_model(family="resnet", input_size=(3, 32, 32), paper=PAPER)
def resnet110(
    *, num_classes: int = 10, in_channels: int = 3, shortcut: ResidualShortcut = "A"
) -> CifarResNet:
    """ResNet-110 for 32×32 images (paper Table 6: 1.7M parameters, 6.43% CIFAR-10 error)."""
    _check_residual_shortcut(shortcut)
    return cifar_resnet(110, num_classes=num_classes, in_channels=in_channels, shortcut=shortcut)


@register_model(family="resnet", input_size=(3, 32, 32), paper=PAPER)
def plain20(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """The 20-layer *plain* network of paper Section 4.2 / Fig. 6: ResNet-20 without shortcuts."""
    return cifar_resnet(20, num_classes=num_classes, in_channels=in_channels, shortcut="none")


@register_model(family="resnet", input_size=(3, 32, 32), paper=PAPER)
def plain56(*, num_classes: int = 10, in_channels: int = 3) -> CifarResNet:
    """The 56-layer plain network: trains to a *higher* error than plain20 (degradation, paper Fig. 1)."""
    return cifar_resnet(56, num_classes=num_classes, in_channels=in_channels, shortcut="none")


@register_model(family="resnet", input_size=(3, 32, 32), paper=PREACT_PAPER)
def preact_resnet20(
    *, num_classes: int = 10, in_channels: int = 3, shortcut: ResidualShortcut = "A"
) -> CifarResNet:
    """Pre-activation ResNet-20 (arXiv:1603.05027): ResNet-20's layers, reordered to BN-ReLU-conv.

    With the default option A shortcut it has as many parameters as ResNet-20: the BatchNorms move (each
    block normalises its input, one more follows the last block, none follows the stem) and add up to
    the same count, so the two networks differ only in the order of operations. (The pre-activation
    paper reports CIFAR results for 110 layers and deeper, not 20; this is the same design at the
    course's CPU-friendly depth.)
    """
    _check_residual_shortcut(shortcut)
    return cifar_resnet(
        20, num_classes=num_classes, in_channels=in_channels, shortcut=shortcut, pre_activation=True
    )


__all__ = [
    "CIFAR_STAGE_WIDTHS",
    "IMAGENET_STAGE_DEPTHS",
    "IMAGENET_STAGE_WIDTHS",
    "BasicBlock",
    "Bottleneck",
    "CifarBasicBlock",
    "CifarResNet",
    "PreActBlock",
    "ResNet",
    "ZeroPadShortcut",
    "check_model_arguments",
    "cifar_resnet",
    "conv1x1",
    "conv3x3",
    "make_shortcut",
    "option_a_shortcut",
    "plain20",
    "plain56",
    "preact_resnet20",
    "resnet18",
    "resnet20",
    "resnet32",
    "resnet34",
    "resnet44",
    "resnet50",
    "resnet56",
    "resnet101",
    "resnet110",
    "resnet152",
]
