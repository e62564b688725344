"""MnasNet: a platform-aware search that puts measured phone latency into the reward.

Paper: Tan, Chen, Pang, Vasudevan, Sandler, Howard & Le, 2019, "MnasNet: Platform-Aware Neural
Architecture Search for Mobile", CVPR 2019, arXiv:1807.11626. The search maximises accuracy *and*
measured latency with the reward ACC(m)·[LAT(m)/T]^w (:func:`mnasnet_reward`, eq. 2) over a factorized,
per-stage search space of MBConv blocks. ``mnasnet0_5`` … ``mnasnet1_3`` equal torchvision's models
(same parameter names; torchvision's state_dicts load strictly).

The paper's headline model (Table 1): MnasNet-A1, 75.2% ImageNet top-1, 3.9M parameters, 312M
mult-adds, 78 ms on a Pixel phone. The stacks below are a different member of the family: the
"mnasnet-b1" of the authors' TensorFlow release, which torchvision builds (no squeeze-and-excitation).

Read top to bottom: the stacks (configuration) → the reward the search maximised → the block
(:class:`MnasInvertedResidual`) → :class:`MnasNet` (model) → the builders.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.layers.misc import make_divisible
from cnncourse.models._registry import check_model_arguments, register_model
from cnncourse.models._torchvision import apply_weights

MNASNET_PAPER = "Tan et al., 2019, arXiv:1807.11626"


@dataclass(frozen=True)
class MnasStack:
    """One stack of MnasNet inverted residuals: ``repeats`` blocks, the first with ``stride``."""

    kernel_size: int
    stride: int
    expand_ratio: int
    out_channels: int
    repeats: int


#: Stem widths: a 3×3 convolution to 32 channels, then a separable 3×3 to 16 (no skip).
MNASNET_STEM_CHANNELS: tuple[int, int] = (32, 16)
#: The stacks of torchvision's MNASNet, which is the variant the authors' TensorFlow release calls
#: "mnasnet-b1": MBConv blocks without squeeze-and-excitation. The paper's headline model MnasNet-A1
#: (Fig. 7; 3.9M parameters, 75.2% top-1, 78 ms on a Pixel phone) differs: it adds SE to three of its
#: stages and has other widths (24, 40, 80, 112, 160, 320) and repeats.
MNASNET_B1_STACKS: tuple[MnasStack, ...] = (
    MnasStack(3, 2, 3, 24, 3),
    MnasStack(5, 2, 3, 40, 3),
    MnasStack(5, 2, 6, 80, 3),
    MnasStack(3, 1, 6, 96, 2),
    MnasStack(5, 2, 6, 192, 4),
    MnasStack(3, 1, 6, 320, 1),
)
MNASNET_HEAD_CHANNELS: int = 1280
#: torchvision's BatchNorm momentum for MnasNet: TensorFlow's decay 0.9997 in PyTorch's convention.
_MNASNET_BN_MOMENTUM: float = 1 - 0.9997


# --- the search objective (Section 3, eq. 2) -------------------------------------------------------

#: The reward's exponents (α, β) for a soft latency constraint, Section 3: a model twice as slow as the
#: target must be about 5% more accurate to score the same (2^−0.07 ≈ 0.953).
SOFT_LATENCY_CONSTRAINT: tuple[float, float] = (-0.07, -0.07)
#: (α, β) for a hard constraint (Section 3, Fig. 3 top): no bonus below the target, a steep penalty above.
HARD_LATENCY_CONSTRAINT: tuple[float, float] = (0.0, -1.0)


def mnasnet_reward(
    accuracy: float, latency_ms: float, target_ms: float, alpha: float = -0.07, beta: float = -0.07
) -> float:
    """MnasNet's search objective ACC(m)·[LAT(m)/T]^w, w = α if LAT(m) ≤ T else β (arXiv:1807.11626, eq. 2).

    The defaults are the paper's soft constraint α = β = −0.07: being slower than the target ``T``
    costs reward smoothly, being faster earns a little (Pareto-optimal trade-offs rather than a wall).
    ``alpha=0, beta=-1`` gives the hard-constraint variant (Fig. 3, top), which ignores latency below
    the target. The paper measured LAT(m) on a Pixel phone, T = 75 ms for its main models.

    Args:
        accuracy: ACC(m), as a fraction in [0, 1].
        latency_ms: LAT(m), the measured inference latency (any time unit, the same as ``target_ms``).
        target_ms: T, the target latency.
        alpha: exponent when the model meets the target.
        beta: exponent when it is slower than the target.

    >>> round(mnasnet_reward(0.75, 80.0, 80.0), 4)  # on target: the reward is the accuracy
    0.75
    >>> mnasnet_reward(0.75, 160.0, 80.0) < 0.75  # twice too slow: about 4.7% less
    True
    """
    if not 0.0 <= accuracy <= 1.0:
        raise CourseError(f"accuracy must be a fraction in [0, 1] (e.g. 0.752 for 75.2%), got {accuracy}.")
    if latency_ms <= 0 or target_ms <= 0:
        raise CourseError(
            "latency_ms and target_ms must be positive times, "
            f"got latency_ms={latency_ms}, target_ms={target_ms}."
        )
    exponent = alpha if latency_ms <= target_ms else beta
    return accuracy * (latency_ms / target_ms) ** exponent


class MnasInvertedResidual(nn.Module):
    """MnasNet's MBConv block without SE: 1×1 expand-BN-ReLU → k×k depthwise-BN-ReLU → 1×1 project-BN.

    torchvision keeps these layers in one flat ``layers`` Sequential (``layers.0.weight`` ... ``layers.7``),
    so this class does too — that is what lets MnasNet state_dicts load strictly. The design is the
    inverted residual with linear bottleneck of MobileNet v2, with a 5×5 kernel allowed.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expand_ratio: int
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise CourseError(f"MnasNet block stride must be 1 or 2, got {stride}.")
        if kernel_size not in (3, 5):
            raise CourseError(f"MnasNet block kernel_size must be 3 or 5, got {kernel_size}.")
        hidden = in_channels * expand_ratio
        self.use_res_connect = in_channels == out_channels and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(
                hidden, hidden, kernel_size, stride, padding=kernel_size // 2, groups=hidden, bias=False
            ),
            nn.BatchNorm2d(hidden, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            # Linear projection: no activation.
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels, momentum=_MNASNET_BN_MOMENTUM),
        )
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:
            return self.layers(x) + x
        return self.layers(x)


class MnasNet(nn.Module):
    """MnasNet as torchvision builds it (``MNASNet``, version 2): stem conv → separable conv →
    six stacks of :class:`MnasInvertedResidual` → 1×1 conv to 1280 → pooling → dropout → linear.

    ``width_mult`` (torchvision calls it ``alpha``, the depth multiplier) scales every width except the
    1280-channel head with ``make_divisible(·, 8)``. Parameter names equal torchvision's.

    Args:
        width_mult: 0.5, 0.75, 1.0, 1.3 for torchvision's four models.
        num_classes, in_channels: classifier outputs and image channels.
        dropout: before the classifier (0.2).
        stacks: the stacks; :data:`MNASNET_B1_STACKS` by default.
        stem_stride: stride of the first convolution (2 on ImageNet, 1 for small images).
    """

    # torchvision's MNASNet checks this version when it loads a state_dict; 2 marks the layout with a
    # scaled stem, so our state_dicts load into torchvision's models too.
    _version = 2

    def __init__(
        self,
        *,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.2,
        stacks: Sequence[MnasStack] = MNASNET_B1_STACKS,
        stem_stride: int = 2,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        if not width_mult > 0:
            raise CourseError(
                f"width_mult must be positive (0.5, 0.75, 1.0 or 1.3 in torchvision), got {width_mult}."
            )
        if not 0.0 <= dropout < 1.0:
            raise CourseError(f"dropout must be in [0, 1), got {dropout}.")
        stem, separable = (make_divisible(c * width_mult, 8) for c in MNASNET_STEM_CHANNELS)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, stem, 3, padding=1, stride=stem_stride, bias=False),
            nn.BatchNorm2d(stem, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            # Depthwise-separable convolution, no skip connection.
            nn.Conv2d(stem, stem, 3, padding=1, groups=stem, bias=False),
            nn.BatchNorm2d(stem, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(stem, separable, 1, bias=False),
            nn.BatchNorm2d(separable, momentum=_MNASNET_BN_MOMENTUM),
        ]
        channels = separable
        for stack in stacks:
            out_channels = make_divisible(stack.out_channels * width_mult, 8)
            blocks = [
                MnasInvertedResidual(
                    channels if index == 0 else out_channels,
                    out_channels,
                    stack.kernel_size,
                    stack.stride if index == 0 else 1,
                    stack.expand_ratio,
                )
                for index in range(stack.repeats)
            ]
            layers.append(nn.Sequential(*blocks))
            channels = out_channels
        layers += [
            nn.Conv2d(channels, MNASNET_HEAD_CHANNELS, 1, bias=False),
            nn.BatchNorm2d(MNASNET_HEAD_CHANNELS, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.in_channels = in_channels
        self.num_features: int = MNASNET_HEAD_CHANNELS
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(MNASNET_HEAD_CHANNELS, num_classes))

        # torchvision's initialisation.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_uniform_(module.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem, the six stacks and the 1×1 head convolution: (N, 1280, H/32, W/32) on ImageNet."""
        return self.layers(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling, dropout and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final linear layer with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier[-1] = nn.Linear(self.num_features, num_classes)


def _mnasnet(
    name: str, width_mult: float, *, num_classes: int, in_channels: int, dropout: float, weights: str | None
) -> MnasNet:
    check_model_arguments(num_classes, in_channels, weights)
    model = MnasNet(width_mult=width_mult, num_classes=num_classes, in_channels=in_channels, dropout=dropout)
    return apply_weights(model, weights, name)


@register_model(family="nas", input_size=(3, 224, 224), torchvision_name="mnasnet0_5", paper=MNASNET_PAPER)
def mnasnet0_5(
    *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2, weights: str | None = None
) -> MnasNet:
    """MnasNet (B1 layout) at width 0.5, equal to torchvision's ``mnasnet0_5`` (2,218,512 parameters)."""
    return _mnasnet(
        "mnasnet0_5", 0.5, num_classes=num_classes, in_channels=in_channels, dropout=dropout, weights=weights
    )


@register_model(family="nas", input_size=(3, 224, 224), torchvision_name="mnasnet0_75", paper=MNASNET_PAPER)
def mnasnet0_75(
    *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2, weights: str | None = None
) -> MnasNet:
    """MnasNet (B1 layout) at width 0.75, equal to torchvision's ``mnasnet0_75``."""
    return _mnasnet(
        "mnasnet0_75",
        0.75,
        num_classes=num_classes,
        in_channels=in_channels,
        dropout=dropout,
        weights=weights,
    )


@register_model(family="nas", input_size=(3, 224, 224), torchvision_name="mnasnet1_0", paper=MNASNET_PAPER)
def mnasnet1_0(
    *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2, weights: str | None = None
) -> MnasNet:
    """MnasNet (B1 layout) at width 1.0, equal to torchvision's ``mnasnet1_0`` (4,383,312 parameters)."""
    return _mnasnet(
        "mnasnet1_0", 1.0, num_classes=num_classes, in_channels=in_channels, dropout=dropout, weights=weights
    )


@register_model(family="nas", input_size=(3, 224, 224), torchvision_name="mnasnet1_3", paper=MNASNET_PAPER)
def mnasnet1_3(
    *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2, weights: str | None = None
) -> MnasNet:
    """MnasNet (B1 layout) at width 1.3, equal to torchvision's ``mnasnet1_3``."""
    return _mnasnet(
        "mnasnet1_3", 1.3, num_classes=num_classes, in_channels=in_channels, dropout=dropout, weights=weights
    )


@register_model(family="nas", input_size=(3, 32, 32), paper=MNASNET_PAPER)
def mnasnet_cifar(
    *, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0, dropout: float = 0.2
) -> MnasNet:
    """MnasNet for 32×32 / 28×28 images: stem stride 2 → 1 and the first stack (3×3, expansion 3,
    24 channels) stride 2 → 1; total stride 8 instead of 32 (32×32 → 4×4). Everything else as
    torchvision's ``mnasnet1_0`` (scaled by ``width_mult``)."""
    stacks = list(MNASNET_B1_STACKS)
    stacks[0] = replace(stacks[0], stride=1)
    return MnasNet(
        width_mult=width_mult,
        num_classes=num_classes,
        in_channels=in_channels,
        dropout=dropout,
        stacks=stacks,
        stem_stride=1,
    )


__all__ = [
    "HARD_LATENCY_CONSTRAINT",
    "MNASNET_B1_STACKS",
    "MNASNET_HEAD_CHANNELS",
    "MNASNET_PAPER",
    "MNASNET_STEM_CHANNELS",
    "MnasInvertedResidual",
    "MnasNet",
    "MnasStack",
    "SOFT_LATENCY_CONSTRAINT",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    "mnasnet_cifar",
    "mnasnet_reward",
]
