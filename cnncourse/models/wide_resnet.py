"""Wide Residual Networks (Zagoruyko & Komodakis, 2016, arXiv:1605.07146).

Very deep, thin ResNets spend most of their layers on small corrections ("diminishing feature reuse",
paper Section 1). Wide ResNets trade depth for width: a 16-layer network eight times wider (WRN-16-8,
11.0M parameters) is at least as accurate as the 1001-layer thin one (10.2M), and wide networks run faster
on a GPU because wide layers parallelise well: per training step WRN-40-4 is about 8 times and WRN-28-10
about 1.6 times faster than ResNet-1001 (paper Section 3, computational efficiency, Fig. 4).

Network structure, paper Table 1 (CIFAR, input 32×32; WRN-n-k has depth n and widening factor k;
N = (n - 4) / 6 blocks per group; block type B(3,3))::

    group name   output size   block type = B(3,3)
    conv1        32×32         [3×3, 16]
    conv2        32×32         [3×3, 16·k;  3×3, 16·k] × N
    conv3        16×16         [3×3, 32·k;  3×3, 32·k] × N
    conv4        8×8           [3×3, 64·k;  3×3, 64·k] × N
    avg-pool     1×1           [8×8]

Block types compared in paper Table 2 (B(M) lists the kernel sizes of the convolutions in a block; all
at roughly the same parameter budget, k = 2)::

    B(3,3)     two 3×3 convolutions: the original basic block            (chosen: best by a small margin)
    B(3,1,3)   an extra 1×1 between the two 3×3
    B(1,3,1)   1×1 → 3×3 → 1×1 with the same width everywhere (a bottleneck that does not narrow)
    B(1,3)     1×1 → 3×3
    B(3,1)     3×3 → 1×1
    B(3,1,1)   3×3 → 1×1 → 1×1 (network-in-network style)

Blocks are pre-activation (BN-ReLU-conv, He et al., 2016, arXiv:1603.05027), as in the paper's Fig. 1(c).
Dropout sits *between* the two convolutions of a block, after the second ReLU (paper Section 2.4, Fig.
1(d)); the paper uses 0.3 on CIFAR; it is off by default here. Where a group changes the shape, the
shortcut is a 1×1 convolution applied to the block's pre-activated input, as in the authors' code.

Published sizes and CIFAR-10 errors (paper Section 3, experimental results). With ZCA whitening (Table 4):
WRN-40-4 8.9M 4.97%, WRN-16-8 11.0M 4.81%, WRN-28-10 36.5M 4.17%. With mean/std normalisation (Tables 5
and 6): WRN-28-10 4.00%, and 3.89% with dropout. Compare only within one preprocessing: 4.17% → 3.89% is
not the effect of dropout.

torchvision's ``wide_resnet50_2`` / ``wide_resnet101_2`` are the paper's ImageNet "WRN-50-2-bottleneck"
design: ResNet-50/101 with every bottleneck's inner width doubled, i.e. the first 1×1 convolution's output
and the 3×3 layer are twice as wide, while the block's outer widths (its input and the last 1×1's output)
stay those of ResNet-50/101.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.models._registry import check_model_arguments, register_model
from cnncourse.models._torchvision import apply_weights
from cnncourse.models.resnet import Bottleneck, ResNet, conv1x1, conv3x3

PAPER = "Zagoruyko & Komodakis, 2016, arXiv:1605.07146"

# ----------------------------------------------------------------------------------------------------
# Configuration tables
# ----------------------------------------------------------------------------------------------------

#: Channels of conv1 and of the groups conv2, conv3, conv4 before widening, paper Table 1.
CIFAR_STEM_WIDTH: int = 16
CIFAR_GROUP_WIDTHS: tuple[int, int, int] = (16, 32, 64)

#: ImageNet wide bottleneck networks: blocks per stage as ResNet-50/101 (He et al., 2015, Table 1) and
#: the inner width relative to ResNet's (2×, so ``width_per_group`` 128 instead of 64).
IMAGENET_STAGE_DEPTHS: dict[int, tuple[int, int, int, int]] = {50: (3, 4, 6, 3), 101: (3, 4, 23, 3)}
IMAGENET_WIDTH_PER_GROUP: int = 128


# ----------------------------------------------------------------------------------------------------
# Block
# ----------------------------------------------------------------------------------------------------


class WideBasicBlock(nn.Module):
    """Pre-activation B(3,3) block with dropout between the convolutions (paper Fig. 1(c)/(d)).

    ``x → BN → ReLU → conv3×3 (stride) → BN → ReLU → dropout → conv3×3 → + shortcut``. The modules are
    registered in that order, so printing the block shows where dropout acts. The shortcut is the identity
    when the shape is unchanged, otherwise a 1×1 convolution (with the block's stride) applied to the
    pre-activated input. Dropout never touches the shortcut.

    Args:
        in_planes: input channels.
        out_planes: output channels.
        stride: stride of the first convolution and of the projection.
        dropout: probability of zeroing an activation between the convolutions (training only).
    """

    def __init__(self, in_planes: int, out_planes: int, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        if not 0.0 <= dropout < 1.0:
            raise CourseError(f"dropout is a probability in [0, 1); got {dropout!r} (the paper uses 0.3).")
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = conv3x3(in_planes, out_planes, stride)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(p=dropout)
        self.conv2 = conv3x3(out_planes, out_planes)
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_planes != out_planes:
            self.shortcut = conv1x1(in_planes, out_planes, stride)

    def forward(self, x: Tensor) -> Tensor:
        preactivated = self.relu1(self.bn1(x))  # in place on BatchNorm's fresh output; x is untouched
        out = self.conv1(preactivated)
        out = self.conv2(self.dropout(self.relu2(self.bn2(out))))
        identity = x if self.shortcut is None else self.shortcut(preactivated)
        return out + identity


# ----------------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------------


class WideResNet(nn.Module):
    """WRN-n-k for small images (paper Table 1).

    3×3 convolution to 16 channels → three groups of N = (n - 4) / 6 :class:`WideBasicBlock` with 16k,
    32k, 64k channels (stride 2 at the start of the 2nd and 3rd group) → BN-ReLU → global average pool →
    fully connected layer. Any input size that survives two halvings works (28×28 gives 7×7 at the end).

    Initialisation: He normal (fan_out) for convolutions as the ResNets in this package, BatchNorm γ = 1,
    β = 0, classifier bias 0.

    Args:
        depth: n, with (n - 4) divisible by 6 (10, 16, 22, 28, 40, ...).
        widen_factor: k, the width multiplier of every group.
        dropout: dropout probability between the convolutions of each block (0.3 in the paper).
        num_classes: outputs of the classifier.
        in_channels: channels of the input image.
    """

    def __init__(
        self,
        depth: int,
        widen_factor: int,
        *,
        dropout: float = 0.0,
        num_classes: int = 10,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise CourseError(
                "A WRN has depth n with (n - 4) divisible by 6 (10, 16, 22, 28, 40, ...); "
                f"got depth={depth!r}."
            )
        if not isinstance(widen_factor, int) or widen_factor < 1:
            raise CourseError(
                f"widen_factor k must be a positive integer (1 is a thin ResNet); got {widen_factor!r}."
            )
        self.depth = depth
        self.widen_factor = widen_factor
        self.in_channels = in_channels
        blocks_per_group = (depth - 4) // 6

        self.conv1 = conv3x3(in_channels, CIFAR_STEM_WIDTH)
        in_planes = CIFAR_STEM_WIDTH
        groups: list[nn.Sequential] = []
        for group_index, base_width in enumerate(CIFAR_GROUP_WIDTHS):
            width = base_width * widen_factor
            first_stride = 1 if group_index == 0 else 2
            blocks = [WideBasicBlock(in_planes, width, first_stride, dropout)]
            blocks += [WideBasicBlock(width, width, 1, dropout) for _ in range(1, blocks_per_group)]
            groups.append(nn.Sequential(*blocks))
            in_planes = width
        self.layer1, self.layer2, self.layer3 = groups
        # blocks are pre-activation, so the last one's output still needs its BN-ReLU
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
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """conv1, the three groups and the final BN-ReLU: (N, 64k, H/4, W/4)."""
        x = self.conv1(x)
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
        nn.init.zeros_(self.fc.bias)


def wide_resnet(
    depth: int, widen_factor: int, dropout: float = 0.0, *, num_classes: int = 10, in_channels: int = 3
) -> WideResNet:
    """WRN-``depth``-``widen_factor`` for small images, e.g. ``wide_resnet(28, 10, dropout=0.3)``."""
    return WideResNet(depth, widen_factor, dropout=dropout, num_classes=num_classes, in_channels=in_channels)


@register_model(family="wide_resnet", input_size=(3, 32, 32), paper=PAPER)
def wrn_10_2(*, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> WideResNet:
    """WRN-10-2: 1 block per group, widths 32/64/128 (0.30M parameters).

    Not one of the paper's configurations: it is the wide-and-shallow counterpart of ResNet-20 (0.27M
    parameters, almost the same multiply-adds), small enough to train to convergence on a CPU.
    """
    return WideResNet(10, 2, dropout=dropout, num_classes=num_classes, in_channels=in_channels)


@register_model(family="wide_resnet", input_size=(3, 32, 32), paper=PAPER)
def wrn_16_2(*, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> WideResNet:
    """WRN-16-2: 2 blocks per group, widths 32/64/128 (0.69M parameters).

    Chosen for the course's reference checkpoint: a Wide ResNet its 2-core CPU can train to convergence in
    about an hour. The published CIFAR results quoted above are for networks of 8.9M parameters and more.
    """
    return WideResNet(16, 2, dropout=dropout, num_classes=num_classes, in_channels=in_channels)


@register_model(family="wide_resnet", input_size=(3, 32, 32), paper=PAPER)
def wrn_16_4(*, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> WideResNet:
    """WRN-16-4: 2 blocks per group, widths 64/128/256 (2.7M parameters); quick to train."""
    return WideResNet(16, 4, dropout=dropout, num_classes=num_classes, in_channels=in_channels)


@register_model(family="wide_resnet", input_size=(3, 32, 32), paper=PAPER)
def wrn_16_8(*, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> WideResNet:
    """WRN-16-8 (paper: 11.0M parameters, 4.81% CIFAR-10 error)."""
    return WideResNet(16, 8, dropout=dropout, num_classes=num_classes, in_channels=in_channels)


@register_model(family="wide_resnet", input_size=(3, 32, 32), paper=PAPER)
def wrn_28_10(*, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> WideResNet:
    """WRN-28-10 (paper: 36.5M parameters; CIFAR-10 error 4.00%, 3.89% with dropout 0.3, mean/std normalisation).

    The often-quoted 4.17% is the ZCA-whitened result of Table 4, a different preprocessing.
    """
    return WideResNet(28, 10, dropout=dropout, num_classes=num_classes, in_channels=in_channels)


@register_model(family="wide_resnet", input_size=(3, 32, 32), paper=PAPER)
def wrn_40_4(*, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.0) -> WideResNet:
    """WRN-40-4 (paper: 8.9M parameters, 4.97% CIFAR-10 error; 96.7% in Fashion-MNIST's benchmarks)."""
    return WideResNet(40, 4, dropout=dropout, num_classes=num_classes, in_channels=in_channels)


# ----------------------------------------------------------------------------------------------------
# ImageNet wide bottleneck networks (torchvision parity)
# ----------------------------------------------------------------------------------------------------


def _imagenet_wide_resnet(depth: int, num_classes: int, in_channels: int, weights: str | None) -> ResNet:
    check_model_arguments(num_classes, in_channels, weights)
    model = ResNet(
        Bottleneck,
        IMAGENET_STAGE_DEPTHS[depth],
        num_classes=num_classes,
        in_channels=in_channels,
        width_per_group=IMAGENET_WIDTH_PER_GROUP,
    )
    return apply_weights(model, weights, f"wide_resnet{depth}_2")  # type: ignore[return-value]


@register_model(
    family="wide_resnet",
    input_size=(3, 224, 224),
    torchvision_name="wide_resnet50_2",
    timm_name="wide_resnet50_2",
    paper=PAPER,
)
def wide_resnet50_2(*, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None) -> ResNet:
    """Wide ResNet-50-2 (ResNet-50 with 2× wider bottleneck 3×3 layers), equal to torchvision's: 68.9M."""
    return _imagenet_wide_resnet(50, num_classes, in_channels, weights)


@register_model(
    family="wide_resnet",
    input_size=(3, 224, 224),
    torchvision_name="wide_resnet101_2",
    timm_name="wide_resnet101_2",
    paper=PAPER,
)
def wide_resnet101_2(*, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None) -> ResNet:
    """Wide ResNet-101-2, equal to ``torchvision.models.wide_resnet101_2``: 126.9M parameters."""
    return _imagenet_wide_resnet(101, num_classes, in_channels, weights)


__all__ = [
    "CIFAR_GROUP_WIDTHS",
    "CIFAR_STEM_WIDTH",
    "IMAGENET_STAGE_DEPTHS",
    "IMAGENET_WIDTH_PER_GROUP",
    "WideBasicBlock",
    "WideResNet",
    "wide_resnet",
    "wide_resnet50_2",
    "wide_resnet101_2",
    "wrn_10_2",
    "wrn_16_2",
    "wrn_16_4",
    "wrn_16_8",
    "wrn_28_10",
    "wrn_40_4",
]
