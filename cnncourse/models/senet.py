"""Squeeze-and-Excitation Networks (Hu, Shen, Albanie, Sun & Wu, 2017, arXiv:1709.01507).

An SE block lets a network reweight its own channels from global context: *squeeze* each channel to one
number by global average pooling (Section 3.1), *excite* with a two-layer bottleneck C → C/r → C and a
sigmoid (Section 3.2), then scale each channel of the residual branch by its weight before the shortcut
is added (the "SE-ResNet module", Fig. 3; Section 6.5 compares other positions). The reduction ratio
r = 16 balances accuracy against the extra parameters (Section 6.1).

SE-ResNet-50, paper Table 1 (the fc pair [C/r, C] is the SE block's two layers)::

    stage     output   SE-ResNet-50
    conv1     112×112  7×7, 64, stride 2
    conv2_x   56×56    3×3 max pool, stride 2; [1×1, 64;  3×3, 64;  1×1, 256;  fc, [16, 256]] × 3
    conv3_x   28×28    [1×1, 128; 3×3, 128; 1×1, 512;  fc, [32, 512]] × 4
    conv4_x   14×14    [1×1, 256; 3×3, 256; 1×1, 1024; fc, [64, 1024]] × 6
    conv5_x   7×7      [1×1, 512; 3×3, 512; 1×1, 2048; fc, [128, 2048]] × 3
              1×1      global average pool, 1000-d fc, softmax

SE adds about 2.5M parameters to ResNet-50's 25.6M (about 10%) for a negligible 0.26% more GFLOPs
(3.87 vs 3.86, Section 4), and lowers the top-1 error from 24.80% to 23.29% (re-implemented ResNet-50 vs
SE-ResNet-50, Table 2). Our ``se_resnet50`` has exactly timm's ``seresnet50`` count, 28,088,024.

Departures: the stride-2 of a downsampling bottleneck sits on the 3×3 (as torchvision's ResNet-50 and
timm's ``seresnet50``; the paper's models stride the first 1×1). The CIFAR variants ``se_resnet20`` /
``se_resnet56`` put an SE block in each basic block of the CIFAR ResNet of He et al. (2015, Section 4.2),
as the paper does for its CIFAR ResNet-110 / ResNet-164 experiments.
"""

from __future__ import annotations

from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.layers import SqueezeExcitation
from cnncourse.models._registry import check_model_arguments, register_model
from cnncourse.models.resnet import (
    Bottleneck,
    CifarBasicBlock,
    CifarResNet,
    ResidualShortcut,
    ResNet,
    ShortcutOption,
)

PAPER = "Hu et al., 2017, arXiv:1709.01507"

# ----------------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------------

#: Reduction ratio r of the SE bottleneck, paper Section 6.1.
REDUCTION: int = 16

#: Blocks per stage of SE-ResNet-50, paper Table 1 (the same as ResNet-50).
SE_RESNET50_STAGE_DEPTHS: tuple[int, int, int, int] = (3, 4, 6, 3)

#: Depth 6n+2 → blocks per stage n for the CIFAR variants (He et al., 2015, Section 4.2).
CIFAR_BLOCKS_PER_STAGE: dict[int, int] = {20: 3, 56: 9}


def squeeze_width(channels: int, reduction: int = REDUCTION) -> int:
    """C / r, the SE bottleneck width (paper Section 3.2), at least 1.

    >>> [squeeze_width(c) for c in (256, 512, 1024, 2048)]
    [16, 32, 64, 128]
    >>> [squeeze_width(c) for c in (16, 32, 64)]
    [1, 2, 4]
    """
    if reduction < 1:
        raise CourseError(f"reduction r must be a positive integer (the paper uses 16); got {reduction!r}.")
    return max(1, channels // reduction)


# ----------------------------------------------------------------------------------------------------
# Blocks
# ----------------------------------------------------------------------------------------------------


class SEBottleneck(Bottleneck):
    """ResNet bottleneck with an SE block on the residual branch, before the addition (paper Fig. 3).

    ``relu(se(bn3(conv3(...))) + shortcut(x))``. Same arguments as :class:`Bottleneck`, plus the
    reduction ratio r.
    """

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        width_per_group: int = 64,
        reduction: int = REDUCTION,
    ) -> None:
        super().__init__(inplanes, planes, stride, downsample, width_per_group)
        out_planes = planes * self.expansion
        # Squeeze width C/r with C = the block's output channels (paper Table 1: fc [16, 256], ...).
        # timm's seresnet50 rounds C/r to a multiple of 8; at ResNet-50's widths C/16 = 16, 32, 64, 128
        # already is one, so the plain C/r gives timm's parameter count exactly.
        self.se = SqueezeExcitation(out_planes, squeeze_width(out_planes, reduction))

    def residual(self, x: Tensor) -> Tensor:
        """The bottleneck's correction, recalibrated channel by channel."""
        return self.se(super().residual(x))


class SEBasicBlock(CifarBasicBlock):
    """CIFAR basic block (He et al., 2015, Section 4.2) with an SE block before the addition.

    Same arguments as :class:`~cnncourse.models.resnet.CifarBasicBlock`, plus the reduction ratio r.
    On the 16/32/64-channel stages r = 16 gives squeeze widths 1, 2 and 4.
    """

    def __init__(
        self,
        in_planes: int,
        planes: int,
        stride: int = 1,
        shortcut: ShortcutOption = "A",
        reduction: int = REDUCTION,
    ) -> None:
        super().__init__(in_planes, planes, stride, shortcut)
        # Squeeze width C/r with C = the block's output channels, as in SEBottleneck.
        self.se = SqueezeExcitation(planes, squeeze_width(planes, reduction))

    def residual(self, x: Tensor) -> Tensor:
        """The basic block's correction, recalibrated channel by channel."""
        return self.se(super().residual(x))


# ----------------------------------------------------------------------------------------------------
# Builders (the models are ResNet / CifarResNet with SE blocks)
# ----------------------------------------------------------------------------------------------------


@register_model(family="senet", input_size=(3, 224, 224), timm_name="seresnet50", paper=PAPER)
def se_resnet50(*, num_classes: int = 1000, in_channels: int = 3) -> ResNet:
    """SE-ResNet-50 (paper Table 1): ResNet-50 with SE (r = 16) in every bottleneck; 28,088,024 params.

    No ``weights`` option: torchvision has no SENet, and timm's weights use its own module layout.
    """
    check_model_arguments(num_classes, in_channels)
    return ResNet(SEBottleneck, SE_RESNET50_STAGE_DEPTHS, num_classes=num_classes, in_channels=in_channels)


def _check_residual_shortcut(shortcut: str) -> None:
    if shortcut not in ("A", "B"):
        raise CourseError(f"shortcut must be 'A' (zero-padding) or 'B' (1×1 projection); got {shortcut!r}.")


@register_model(family="senet", input_size=(3, 32, 32), paper=PAPER)
def se_resnet20(
    *, num_classes: int = 10, in_channels: int = 3, shortcut: ResidualShortcut = "A"
) -> CifarResNet:
    """ResNet-20 for 32×32 images with SE (r = 16) in each block: ResNet-20 plus 2,373 SE parameters."""
    _check_residual_shortcut(shortcut)
    return CifarResNet(
        SEBasicBlock,
        CIFAR_BLOCKS_PER_STAGE[20],
        num_classes=num_classes,
        in_channels=in_channels,
        shortcut=shortcut,
    )


@register_model(family="senet", input_size=(3, 32, 32), paper=PAPER)
def se_resnet56(
    *, num_classes: int = 10, in_channels: int = 3, shortcut: ResidualShortcut = "A"
) -> CifarResNet:
    """ResNet-56 for 32×32 images with SE (r = 16) in each block."""
    _check_residual_shortcut(shortcut)
    return CifarResNet(
        SEBasicBlock,
        CIFAR_BLOCKS_PER_STAGE[56],
        num_classes=num_classes,
        in_channels=in_channels,
        shortcut=shortcut,
    )


__all__ = [
    "CIFAR_BLOCKS_PER_STAGE",
    "REDUCTION",
    "SE_RESNET50_STAGE_DEPTHS",
    "SEBasicBlock",
    "SEBottleneck",
    "se_resnet20",
    "se_resnet50",
    "se_resnet56",
    "squeeze_width",
]
