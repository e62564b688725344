"""EfficientNet: scale depth, width and resolution together (Tan & Le, 2019, "EfficientNet: Rethinking Model
Scaling for Convolutional Neural Networks", arXiv:1905.11946).

Two ideas:

1. **A NAS-found baseline, EfficientNet-B0** (Section 4, Table 1): the MnasNet search space (Tan et al.,
   2019, arXiv:1807.11626) optimising ACC·(FLOPS/T)^w, giving stacks of MBConv blocks
   (:class:`~cnncourse.layers.mbconv.MBConv`: inverted residual + squeeze-and-excitation + SiLU).
2. **Compound scaling** (Section 3.3, eq. 3): one coefficient φ scales all three dimensions,

       depth d = α^φ,  width w = β^φ,  resolution r = γ^φ,  with α·β²·γ² ≈ 2,  α, β, γ ≥ 1,

   so the FLOPS grow by (α·β²·γ²)^φ ≈ 2^φ (FLOPS grow linearly in depth and quadratically in width and
   resolution). A small grid search at φ = 1 gave α = 1.2, β = 1.1, γ = 1.15 (Section 4, step 1);
   α·β²·γ² = 1.92. B1–B7 are B0 scaled up "with different φ" (step 2).

Both routes are here. :func:`efficientnet_b0` … :func:`efficientnet_b7` use the published per-model
coefficients (the authors' code and torchvision: :data:`PUBLISHED_COEFFICIENTS`) and equal
torchvision's models exactly. :func:`efficientnet` builds B-φ from the formula. The published numbers
are *not* α^φ, β^φ, γ^φ for φ = 1…7 — :func:`scaling_comparison` prints both side by side. For example
B7 uses depth 3.1 where 1.2⁷ = 3.58, and B1 keeps width 1.0 where 1.1¹ = 1.1; read the other way, the
published B1 depth 1.1 corresponds to φ ≈ 0.52, its resolution 240 to φ ≈ 0.49 and its width to φ = 0.
The published models were adjusted by hand (rounded coefficients, resolutions chosen by the authors).

"FLOPS" in the paper counts floating-point operations (multiply-adds), it is not a rate. B0: 0.39B FLOPS,
5.3M parameters, 77.1% top-1 (76.3% in the first arXiv version); B7: 37B, 66M, 84.3% (Table 2).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial

import torch
from torch import Tensor, nn

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.layers.mbconv import MBConv
from cnncourse.layers.misc import Conv2dNormActivation, make_divisible
from cnncourse.models._registry import check_model_arguments, register_model
from cnncourse.models._torchvision import apply_weights

PAPER = "Tan & Le, 2019, arXiv:1905.11946"

# ----------------------------------------------------------------------------------------------------
# Configuration: EfficientNet-B0, Table 1
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MBConvStage:
    """One MBConv row of Table 1: ``num_layers`` blocks "MBConv{expand_ratio}, k{kernel}×{kernel}".

    The first block of a stage has ``stride`` and goes from ``in_channels`` to ``out_channels``; the
    others have stride 1 and keep ``out_channels``. Table 1 gives resolutions rather than strides; a
    stride of 2 is where the resolution column halves.
    """

    expand_ratio: int
    kernel_size: int
    stride: int
    in_channels: int
    out_channels: int
    num_layers: int


#: Stage 1 of Table 1: "Conv3x3", 224² → 112², 32 channels.
B0_STEM_CHANNELS: int = 32

#: Stages 2–8 of Table 1.
EFFICIENTNET_B0_TABLE1: tuple[MBConvStage, ...] = (
    MBConvStage(1, 3, 1, 32, 16, 1),  # stage 2: MBConv1, k3x3, 112², 16 channels, 1 layer
    MBConvStage(6, 3, 2, 16, 24, 2),  # stage 3: MBConv6, k3x3, 112² → 56², 24, 2
    MBConvStage(6, 5, 2, 24, 40, 2),  # stage 4: MBConv6, k5x5, 56² → 28², 40, 2
    MBConvStage(6, 3, 2, 40, 80, 3),  # stage 5: MBConv6, k3x3, 28² → 14², 80, 3
    MBConvStage(6, 5, 1, 80, 112, 3),  # stage 6: MBConv6, k5x5, 14², 112, 3
    MBConvStage(6, 5, 2, 112, 192, 4),  # stage 7: MBConv6, k5x5, 14² → 7², 192, 4
    MBConvStage(6, 3, 1, 192, 320, 1),  # stage 8: MBConv6, k3x3, 7², 320, 1
)

#: Stage 9 of Table 1, "Conv1x1 & Pooling & FC", 1280 channels = 4 × 320 (the code keeps that ratio).
B0_HEAD_EXPANSION: int = 4

# ----------------------------------------------------------------------------------------------------
# Scaling: the paper's formula and the published per-model coefficients
# ----------------------------------------------------------------------------------------------------

#: Compound scaling constants found by grid search at φ = 1 (Section 4, step 1).
ALPHA_DEPTH: float = 1.2
BETA_WIDTH: float = 1.1
GAMMA_RESOLUTION: float = 1.15
B0_RESOLUTION: int = 224


@dataclass(frozen=True)
class ScalingCoefficients:
    """Width and depth multipliers, input resolution and classifier dropout of one EfficientNet."""

    width: float
    depth: float
    resolution: int
    dropout: float


#: The coefficients of the released models (the authors' ``efficientnet_builder.py`` and torchvision's
#: builders): (width, depth, resolution, dropout). torchvision's pretrained B2 weights are evaluated at
#: 288 pixels rather than 260; the architecture is the same.
PUBLISHED_COEFFICIENTS: dict[str, ScalingCoefficients] = {
    "b0": ScalingCoefficients(1.0, 1.0, 224, 0.2),
    "b1": ScalingCoefficients(1.0, 1.1, 240, 0.2),
    "b2": ScalingCoefficients(1.1, 1.2, 260, 0.3),
    "b3": ScalingCoefficients(1.2, 1.4, 300, 0.3),
    "b4": ScalingCoefficients(1.4, 1.8, 380, 0.4),
    "b5": ScalingCoefficients(1.6, 2.2, 456, 0.4),
    "b6": ScalingCoefficients(1.8, 2.6, 528, 0.5),
    "b7": ScalingCoefficients(2.0, 3.1, 600, 0.5),
}

#: torchvision builds B5–B7 with TensorFlow's BatchNorm settings (their weights come from the authors'
#: TensorFlow checkpoints) and B0–B4 with PyTorch's defaults; eps matters for identical outputs.
_TF_BATCHNORM_VARIANTS: frozenset[str] = frozenset({"b5", "b6", "b7"})
_TF_NORM: Callable[[int], nn.Module] = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


def flops_growth_per_step() -> float:
    """α·β²·γ², the factor by which FLOPS grow per unit of φ: 1.2 · 1.1² · 1.15² = 1.9203 ≈ 2.

    >>> round(flops_growth_per_step(), 4)
    1.9203
    """
    return ALPHA_DEPTH * BETA_WIDTH**2 * GAMMA_RESOLUTION**2


def compound_coefficients(phi: float) -> ScalingCoefficients:
    """B-φ by the formula: width β^φ, depth α^φ, resolution round(224·γ^φ) (Section 3.3, eq. 3).

    Dropout follows the paper's rule for B0…B7, rising linearly from 0.2 at φ = 0 to 0.5 at φ = 7
    (Section 5.2), held at 0.5 beyond.

    >>> b1 = compound_coefficients(1)
    >>> b1.width, b1.depth, b1.resolution, round(b1.dropout, 3)
    (1.1, 1.2, 258, 0.243)
    """
    if not (isinstance(phi, (int, float)) and 0 <= phi <= 10):
        raise CourseError(
            f"phi must be a number between 0 and 10 (B0 is phi=0, B7 about phi=7), got {phi!r}."
        )
    return ScalingCoefficients(
        width=BETA_WIDTH**phi,
        depth=ALPHA_DEPTH**phi,
        resolution=round(B0_RESOLUTION * GAMMA_RESOLUTION**phi),
        dropout=0.2 + 0.3 * min(phi, 7) / 7,
    )


@dataclass(frozen=True)
class ScalingComparisonRow:
    """One line of :func:`scaling_comparison`: a published model next to the formula at φ = its number."""

    name: str
    phi: int
    published: ScalingCoefficients
    formula: ScalingCoefficients
    phi_implied_by_width: float
    phi_implied_by_depth: float
    phi_implied_by_resolution: float


def scaling_comparison() -> list[ScalingComparisonRow]:
    """Published B1–B7 coefficients next to α^φ, β^φ, 224·γ^φ with φ = 1…7, and the φ each published
    number implies (log d / log α, log w / log β, log(r/224) / log γ).

    The implied φ differ between the three dimensions and from the model number: the released models
    were not generated by the formula alone.
    """
    rows = []
    for index, (name, published) in enumerate(PUBLISHED_COEFFICIENTS.items()):
        rows.append(
            ScalingComparisonRow(
                name=f"efficientnet_{name}",
                phi=index,
                published=published,
                formula=compound_coefficients(index),
                phi_implied_by_width=math.log(published.width) / math.log(BETA_WIDTH),
                phi_implied_by_depth=math.log(published.depth) / math.log(ALPHA_DEPTH),
                phi_implied_by_resolution=(
                    math.log(published.resolution / B0_RESOLUTION) / math.log(GAMMA_RESOLUTION)
                ),
            )
        )
    return rows


def format_scaling_comparison() -> str:
    """:func:`scaling_comparison` as a plain-text table (for notebooks and the command line)."""
    lines = [
        "model            phi | width pub/formula | depth pub/formula | resolution pub/formula | "
        "phi implied by w / d / r"
    ]
    for row in scaling_comparison():
        lines.append(
            f"{row.name:<16} {row.phi:>3} | {row.published.width:5.2f} / {row.formula.width:5.2f}     | "
            f"{row.published.depth:5.2f} / {row.formula.depth:5.2f}     | "
            f"{row.published.resolution:4d} / {row.formula.resolution:4d}            | "
            f"{row.phi_implied_by_width:4.2f} / {row.phi_implied_by_depth:4.2f} / "
            f"{row.phi_implied_by_resolution:4.2f}"
        )
    return "\n".join(lines)


def scaled_depth(num_layers: int, depth_mult: float) -> int:
    """Layers of a stage after depth scaling, rounded up: ``ceil(n · d)`` (authors' code, torchvision)."""
    return int(math.ceil(num_layers * depth_mult))


def scaled_width(channels: int, width_mult: float, divisor: int = 8) -> int:
    """Channels after width scaling, rounded to a multiple of ``divisor`` (8 in EfficientNet) with
    :func:`make_divisible` (nearest multiple, never below 90% of the exact value)."""
    return make_divisible(channels * width_mult, divisor)


# ----------------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------------


class EfficientNet(nn.Module):
    """EfficientNet: Table 1's B0 layout, scaled by ``coefficients`` (width, depth, dropout).

    Parameter names equal torchvision's ``EfficientNet`` (``features.<stage>.<block>.block...``,
    ``classifier.1``): ``features`` holds the stem, one ``nn.Sequential`` per MBConv stage, and the
    1×1 head convolution.

    Departures of the implementation (torchvision's and this one) from the paper's text: stochastic
    depth drops the residual branch of block i with probability 0.2·i / (number of blocks), a linear
    rule over depth (the paper's Section 5.2 states "survival probability 0.8"); BatchNorm settings as
    torchvision's per-variant builders.

    Args:
        coefficients: width/depth multipliers, and the dropout before the classifier. The resolution
            is not part of the network (global pooling makes it size-agnostic); it is kept on the model
            as ``coefficients.resolution`` so a chapter can resize its inputs.
        num_classes, in_channels: classifier outputs and image channels.
        stochastic_depth_prob: drop probability of the deepest block's residual branch.
        norm_layer: BatchNorm with the variant's eps / momentum.
        table: the stages; :data:`EFFICIENTNET_B0_TABLE1` by default.
        stem_stride: 2 on ImageNet, 1 for small images.
        channel_divisor: every width is rounded to a multiple of this (8 in EfficientNet and
            torchvision); the chapter's tiny scaling experiment uses 4 so small widths can grow finely.
    """

    def __init__(
        self,
        *,
        coefficients: ScalingCoefficients,
        num_classes: int = 1000,
        in_channels: int = 3,
        stochastic_depth_prob: float = 0.2,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        table: Sequence[MBConvStage] = EFFICIENTNET_B0_TABLE1,
        stem_stride: int = 2,
        channel_divisor: int = 8,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        if coefficients.width <= 0 or coefficients.depth <= 0:
            raise CourseError(f"width and depth multipliers must be positive, got {coefficients}.")
        if not 0.0 <= coefficients.dropout < 1.0:
            raise CourseError(f"dropout must be in [0, 1), got {coefficients.dropout}.")
        if not 0.0 <= stochastic_depth_prob < 1.0:
            raise CourseError(f"stochastic_depth_prob must be in [0, 1), got {stochastic_depth_prob}.")
        if not (isinstance(channel_divisor, int) and channel_divisor >= 1):
            raise CourseError(f"channel_divisor must be a positive integer, got {channel_divisor!r}.")
        self.coefficients = coefficients
        width, depth = coefficients.width, coefficients.depth
        scaled = partial(scaled_width, divisor=channel_divisor)

        stem_channels = scaled(table[0].in_channels, width)
        layers: list[nn.Module] = [
            Conv2dNormActivation(
                in_channels,
                stem_channels,
                kernel_size=3,
                stride=stem_stride,
                norm_layer=norm_layer,
                activation_layer=nn.SiLU,
            )
        ]
        total_blocks = sum(scaled_depth(stage.num_layers, depth) for stage in table)
        block_index = 0
        for stage in table:
            stage_in = scaled(stage.in_channels, width)
            stage_out = scaled(stage.out_channels, width)
            blocks: list[nn.Module] = []
            for position in range(scaled_depth(stage.num_layers, depth)):
                block_in = stage_in if position == 0 else stage_out
                blocks.append(
                    MBConv(
                        block_in,
                        stage_out,
                        expanded_channels=scaled(block_in, stage.expand_ratio),
                        kernel_size=stage.kernel_size,
                        stride=stage.stride if position == 0 else 1,
                        activation_layer=nn.SiLU,
                        # EfficientNet's SE width: a quarter of the block's *input* channels
                        # (torchvision's MBConv and the authors' se_ratio = 0.25 of the input filters).
                        squeeze_channels=max(1, block_in // 4),
                        se_activation=nn.SiLU,
                        se_gate=nn.Sigmoid,
                        # Deeper blocks are dropped more often: linear in the block's position.
                        stochastic_depth_prob=stochastic_depth_prob * block_index / total_blocks,
                        norm_layer=norm_layer,
                    )
                )
                block_index += 1
            layers.append(nn.Sequential(*blocks))
        last_stage_channels = scaled(table[-1].out_channels, width)
        head_channels = B0_HEAD_EXPANSION * last_stage_channels
        layers.append(
            Conv2dNormActivation(
                last_stage_channels,
                head_channels,
                kernel_size=1,
                norm_layer=norm_layer,
                activation_layer=nn.SiLU,
            )
        )
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.in_channels = in_channels
        self.num_features: int = head_channels
        self.num_blocks: int = total_blocks
        self.classifier = nn.Sequential(
            nn.Dropout(coefficients.dropout), nn.Linear(head_channels, num_classes)
        )

        # torchvision's initialisation: He-normal (fan-out) convolutions, uniform ±1/sqrt(out) classifier.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                self._init_linear(module)

    @staticmethod
    def _init_linear(linear: nn.Linear) -> None:
        init_range = 1.0 / math.sqrt(linear.out_features)
        nn.init.uniform_(linear.weight, -init_range, init_range)
        nn.init.zeros_(linear.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem, the seven MBConv stages and the 1×1 head convolution: (N, num_features, H/32, W/32)."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling, dropout and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final linear layer with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        linear = nn.Linear(self.num_features, num_classes)
        self._init_linear(linear)
        self.classifier[-1] = linear


# ----------------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------------


def efficientnet(
    phi: float,
    *,
    num_classes: int = 1000,
    in_channels: int = 3,
    stochastic_depth_prob: float = 0.2,
) -> EfficientNet:
    """B-φ by compound scaling from B0 (Section 3.3): width β^φ, depth α^φ, resolution 224·γ^φ.

    ``efficientnet(0)`` is B0 exactly. Larger φ give networks close to, but not equal to, the published
    B1–B7 (see :func:`scaling_comparison`); the recommended input size is
    ``model.coefficients.resolution``. Not registered: φ is a free number, not a model name.

    The FLOPS rule 2^φ holds for the continuous formula, not after rounding. Measured with
    ``cnncourse.profile.count_macs`` at their resolutions, ``efficientnet(1)`` costs 2.57× and
    ``efficientnet(2)`` 4.69× B0's 0.386G multiply-adds (the formula predicts 1.92× and 3.69×): stage
    depths round *up* (⌈1 · 1.2⌉ = 2 doubles the two single-block stages) and widths round to multiples
    of 8. The published B1 and B2 cost 0.687G and 0.994G (1.78× and 2.58×; the paper's Table 2 says
    0.70B and 1.0B FLOPS against 0.39B for B0).
    """
    return EfficientNet(
        coefficients=compound_coefficients(phi),
        num_classes=num_classes,
        in_channels=in_channels,
        stochastic_depth_prob=stochastic_depth_prob,
    )


def _published(variant: str, *, num_classes: int, in_channels: int, weights: str | None) -> EfficientNet:
    if variant not in PUBLISHED_COEFFICIENTS:
        raise UnknownNameError("EfficientNet variant", variant, PUBLISHED_COEFFICIENTS)
    check_model_arguments(num_classes, in_channels, weights)
    norm_layer = _TF_NORM if variant in _TF_BATCHNORM_VARIANTS else nn.BatchNorm2d
    model = EfficientNet(
        coefficients=PUBLISHED_COEFFICIENTS[variant],
        num_classes=num_classes,
        in_channels=in_channels,
        norm_layer=norm_layer,
    )
    return apply_weights(model, weights, f"efficientnet_{variant}")


@register_model(
    family="efficientnet",
    input_size=(3, 224, 224),
    torchvision_name="efficientnet_b0",
    timm_name="efficientnet_b0",
    paper=PAPER,
)
def efficientnet_b0(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None
) -> EfficientNet:
    """EfficientNet-B0 (Table 1; 5,288,548 parameters), equal to torchvision's ``efficientnet_b0``."""
    return _published("b0", num_classes=num_classes, in_channels=in_channels, weights=weights)


@register_model(
    family="efficientnet",
    input_size=(3, 240, 240),
    torchvision_name="efficientnet_b1",
    paper=PAPER,
)
def efficientnet_b1(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None
) -> EfficientNet:
    """EfficientNet-B1: width 1.0, depth 1.1, 240 px (7,794,184 parameters), equal to torchvision's."""
    return _published("b1", num_classes=num_classes, in_channels=in_channels, weights=weights)


@register_model(
    family="efficientnet",
    input_size=(3, 260, 260),
    torchvision_name="efficientnet_b2",
    paper=PAPER,
)
def efficientnet_b2(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None
) -> EfficientNet:
    """EfficientNet-B2: width 1.1, depth 1.2, 260 px, equal to torchvision's ``efficientnet_b2``."""
    return _published("b2", num_classes=num_classes, in_channels=in_channels, weights=weights)


@register_model(
    family="efficientnet",
    input_size=(3, 300, 300),
    torchvision_name="efficientnet_b3",
    paper=PAPER,
)
def efficientnet_b3(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None
) -> EfficientNet:
    """EfficientNet-B3: width 1.2, depth 1.4, 300 px, equal to torchvision's ``efficientnet_b3``."""
    return _published("b3", num_classes=num_classes, in_channels=in_channels, weights=weights)


@register_model(
    family="efficientnet",
    input_size=(3, 380, 380),
    torchvision_name="efficientnet_b4",
    paper=PAPER,
)
def efficientnet_b4(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None
) -> EfficientNet:
    """EfficientNet-B4: width 1.4, depth 1.8, 380 px, equal to torchvision's ``efficientnet_b4``."""
    return _published("b4", num_classes=num_classes, in_channels=in_channels, weights=weights)


@register_model(
    family="efficientnet",
    input_size=(3, 456, 456),
    torchvision_name="efficientnet_b5",
    paper=PAPER,
)
def efficientnet_b5(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None
) -> EfficientNet:
    """EfficientNet-B5: width 1.6, depth 2.2, 456 px, TensorFlow BatchNorm; equal to torchvision's."""
    return _published("b5", num_classes=num_classes, in_channels=in_channels, weights=weights)


@register_model(
    family="efficientnet",
    input_size=(3, 528, 528),
    torchvision_name="efficientnet_b6",
    paper=PAPER,
)
def efficientnet_b6(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None
) -> EfficientNet:
    """EfficientNet-B6: width 1.8, depth 2.6, 528 px, TensorFlow BatchNorm; equal to torchvision's."""
    return _published("b6", num_classes=num_classes, in_channels=in_channels, weights=weights)


@register_model(
    family="efficientnet",
    input_size=(3, 600, 600),
    torchvision_name="efficientnet_b7",
    paper=PAPER,
)
def efficientnet_b7(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None
) -> EfficientNet:
    """EfficientNet-B7: width 2.0, depth 3.1, 600 px, TensorFlow BatchNorm; equal to torchvision's."""
    return _published("b7", num_classes=num_classes, in_channels=in_channels, weights=weights)


@register_model(family="efficientnet", input_size=(3, 32, 32), paper=PAPER)
def efficientnet_small(
    *, num_classes: int = 10, in_channels: int = 3, dropout: float = 0.2, stochastic_depth_prob: float = 0.2
) -> EfficientNet:
    """The B0 layout for 32×32 / 28×28 images: stem stride 2 → 1 and stage 3 (MBConv6, k3×3, 24 channels,
    the first stride-2 stage) stride 2 → 1, so the total stride is 8 (32×32 → 4×4) instead of 32
    (which would leave a 1×1 map). Widths, depths, kernels and the later strides are Table 1's."""
    table = list(EFFICIENTNET_B0_TABLE1)
    table[1] = replace(table[1], stride=1)
    return EfficientNet(
        coefficients=replace(PUBLISHED_COEFFICIENTS["b0"], resolution=32, dropout=dropout),
        num_classes=num_classes,
        in_channels=in_channels,
        stochastic_depth_prob=stochastic_depth_prob,
        table=table,
        stem_stride=1,
    )


__all__ = [
    "ALPHA_DEPTH",
    "BETA_WIDTH",
    "EFFICIENTNET_B0_TABLE1",
    "EfficientNet",
    "GAMMA_RESOLUTION",
    "MBConvStage",
    "PUBLISHED_COEFFICIENTS",
    "ScalingCoefficients",
    "ScalingComparisonRow",
    "compound_coefficients",
    "efficientnet",
    "efficientnet_b0",
    "efficientnet_b1",
    "efficientnet_b2",
    "efficientnet_b3",
    "efficientnet_b4",
    "efficientnet_b5",
    "efficientnet_b6",
    "efficientnet_b7",
    "efficientnet_small",
    "flops_growth_per_step",
    "format_scaling_comparison",
    "scaled_depth",
    "scaled_width",
    "scaling_comparison",
]
