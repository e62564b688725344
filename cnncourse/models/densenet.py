"""Densely Connected Convolutional Networks (Huang, Liu, van der Maaten & Weinberger, 2017, arXiv:1608.06993).

Inside a dense block every layer receives the feature maps of *all* preceding layers, **concatenated**
along the channel axis, and adds k new ones (the growth rate, Section 3):
``x_l = H_l([x_0, x_1, ..., x_{l-1}])``. ResNet *adds* a layer's output to its input; DenseNet keeps
every earlier map untouched and lets later layers reuse it, so the layers can be narrow (k = 12 or 32).

* DenseNet-B: each layer first squeezes its wide input with a 1×1 convolution to 4k channels, then
  applies the 3×3: BN-ReLU-Conv(1×1)-BN-ReLU-Conv(3×3) (Section 3, "Bottleneck layers").
* DenseNet-C: a transition between blocks (BN, 1×1 convolution, 2×2 average pooling) keeps a fraction
  θ = 0.5 of the channels (Section 3, "Compression"). DenseNet-BC uses both.

ImageNet configurations, paper Table 1 (k = 32; every block layer is [1×1 conv, 3×3 conv])::

    layers            output   DenseNet-121  DenseNet-169  DenseNet-201  DenseNet-264
    convolution       112×112  7×7 conv, stride 2
    pooling           56×56    3×3 max pool, stride 2
    dense block (1)   56×56    × 6           × 6           × 6           × 6
    transition (1)    56→28    1×1 conv, 2×2 average pool, stride 2
    dense block (2)   28×28    × 12          × 12          × 12          × 12
    transition (2)    28→14    1×1 conv, 2×2 average pool, stride 2
    dense block (3)   14×14    × 24          × 32          × 48          × 64
    transition (3)    14→7     1×1 conv, 2×2 average pool, stride 2
    dense block (4)   7×7      × 16          × 32          × 32          × 48
    classification    1×1      7×7 global average pool, 1000-d fully connected, softmax

DenseNet-161 (k = 48, 96 initial channels, blocks 6/12/36/24) is not in Table 1; it comes from the
authors' released ImageNet models, and torchvision includes it.

CIFAR (paper Section 3, "Implementation Details"): three dense blocks of equal size on 32×32, 16×16 and
8×8 maps; a first 3×3 convolution with 2k output channels for DenseNet-BC; L = 6n + 4 layers for n
bottleneck layers per block. DenseNet-BC (L = 100, k = 12) has 0.8M parameters and 4.51% error on
CIFAR-10 with augmentation (Table 2).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint

from cnncourse.errors import CourseError
from cnncourse.models._registry import check_model_arguments, register_model
from cnncourse.models._torchvision import apply_weights

PAPER = "Huang et al., 2017, arXiv:1608.06993"

# ----------------------------------------------------------------------------------------------------
# Configuration tables
# ----------------------------------------------------------------------------------------------------

#: (growth rate k, layers per dense block, channels of the first convolution), paper Table 1; 161 from
#: the authors' released models (see the module docstring).
IMAGENET_CONFIGS: dict[int, tuple[int, tuple[int, int, int, int], int]] = {
    121: (32, (6, 12, 24, 16), 64),
    161: (48, (6, 12, 36, 24), 96),
    169: (32, (6, 12, 32, 32), 64),
    201: (32, (6, 12, 48, 32), 64),
}

#: The 1×1 bottleneck of a dense layer outputs BOTTLENECK_FACTOR · k channels (DenseNet-B, Section 3).
BOTTLENECK_FACTOR: int = 4

#: Fraction θ of the channels a transition keeps (DenseNet-C, Section 3).
COMPRESSION: float = 0.5

Stem = Literal["imagenet", "cifar"]


# ----------------------------------------------------------------------------------------------------
# Blocks (parameter names equal torchvision's _DenseLayer, _DenseBlock, _Transition)
# ----------------------------------------------------------------------------------------------------


class DenseLayer(nn.Module):
    """One bottleneck layer H_l: BN-ReLU-Conv(1×1, 4k)-BN-ReLU-Conv(3×3, k) on the concatenated inputs.

    Returns only its k **new** channels; :class:`DenseBlock` concatenates them to what came before.

    ``memory_efficient=True`` (torchvision's option of the same name; Pleiss et al., 2017,
    arXiv:1707.06990) does not keep the concatenation, its BatchNorm and its ReLU for the backward pass:
    the part up to the 1×1 convolution runs under :func:`torch.utils.checkpoint.checkpoint` and is
    recomputed during backward. Training then holds one concatenated input at a time instead of one
    per layer, for the price of running that part twice. Outputs and gradients are the same. As in
    torchvision, the recomputation runs ``norm1`` once more in training mode, so its running
    statistics take a second momentum step from the same batch; the weights are unaffected.

    Args:
        in_channels: channels of the concatenated input (block input + k per earlier layer).
        growth_rate: k, the channels this layer adds.
        bottleneck_factor: the 1×1 outputs ``bottleneck_factor · k`` channels (4 in the paper).
        drop_rate: dropout on the new channels (the paper uses 0.2 on CIFAR without augmentation).
        memory_efficient: recompute the concatenation and the 1×1 bottleneck in backward instead of
            keeping them (see above).
    """

    def __init__(
        self,
        in_channels: int,
        growth_rate: int,
        bottleneck_factor: int = BOTTLENECK_FACTOR,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
    ) -> None:
        super().__init__()
        bottleneck_channels = bottleneck_factor * growth_rate
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_channels, bottleneck_channels, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bottleneck_channels)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(bottleneck_channels, growth_rate, kernel_size=3, padding=1, bias=False)
        self.drop_rate = float(drop_rate)
        self.memory_efficient = memory_efficient

    def _bottleneck(self, *features: Tensor) -> Tensor:
        """Concatenate, BN-ReLU, 1×1 convolution: the part ``memory_efficient`` recomputes."""
        x = torch.cat(features, 1) if len(features) > 1 else features[0]
        # the in-place ReLU is safe: BatchNorm's output is a fresh tensor that nothing else holds
        return self.conv1(self.relu1(self.norm1(x)))

    def forward(self, features: Tensor | list[Tensor]) -> Tensor:
        """``features``: one tensor, or the list of all earlier feature maps (concatenated here)."""
        inputs = features if isinstance(features, list) else [features]
        if self.memory_efficient and torch.is_grad_enabled() and any(t.requires_grad for t in inputs):
            bottleneck = checkpoint(self._bottleneck, *inputs, use_reentrant=False)
        else:  # nothing to save for a backward pass: checkpointing would only cost time
            bottleneck = self._bottleneck(*inputs)
        new_features = self.conv2(self.relu2(self.norm2(bottleneck)))
        if self.drop_rate > 0:
            new_features = F.dropout(new_features, p=self.drop_rate, training=self.training)
        return new_features


class DenseBlock(nn.ModuleDict):
    """``num_layers`` dense layers; layer l sees the block input and every earlier layer's output.

    Output channels: ``in_channels + num_layers · growth_rate``. The first ``in_channels`` channels of
    the output are the input itself, unchanged: concatenation, never addition.
    """

    def __init__(
        self,
        num_layers: int,
        in_channels: int,
        growth_rate: int,
        bottleneck_factor: int = BOTTLENECK_FACTOR,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
    ) -> None:
        super().__init__()
        for index in range(num_layers):
            layer = DenseLayer(
                in_channels + index * growth_rate, growth_rate, bottleneck_factor, drop_rate, memory_efficient
            )
            self.add_module(f"denselayer{index + 1}", layer)
        self.out_channels = in_channels + num_layers * growth_rate

    def forward(self, x: Tensor) -> Tensor:
        features = [x]
        for layer in self.values():
            features.append(layer(features))
        return torch.cat(features, 1)


class Transition(nn.Sequential):
    """Between dense blocks: BN-ReLU-Conv(1×1) to ``out_channels`` (compression), then 2×2 average pool."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


# ----------------------------------------------------------------------------------------------------
# Model
# ----------------------------------------------------------------------------------------------------


class DenseNet(nn.Module):
    """DenseNet-BC, for ImageNet (module for module equal to ``torchvision.models.DenseNet``) or CIFAR.

    ``features``: stem → dense block 1 → transition 1 → ... → last dense block → BN (``norm{blocks+1}``,
    ``norm5`` for four blocks as torchvision); then ReLU, global average pool and ``classifier``.

    * ``stem="imagenet"``: 7×7 stride-2 convolution, BN, ReLU, 3×3 stride-2 max pool (paper Table 1).
    * ``stem="cifar"``: one 3×3 convolution and nothing else (paper Section 3); every dense layer
      normalises its own input, so no BN is needed right after it.

    Initialisation as torchvision: He normal (fan_in) for convolutions, BN γ = 1, β = 0, classifier bias 0.

    Args:
        growth_rate: k.
        block_config: layers in each dense block.
        num_init_features: channels of the stem convolution (2k for the paper's DenseNet-BC).
        bottleneck_factor: 1×1 width in multiples of k (4).
        compression: θ, the fraction of channels a transition keeps (0.5).
        drop_rate: dropout after each dense layer.
        memory_efficient: checkpoint every dense layer's concatenation and bottleneck
            (:class:`DenseLayer`); same outputs, less training memory, more time.
        num_classes: outputs of the classifier.
        in_channels: channels of the input image.
        stem: "imagenet" or "cifar".
    """

    def __init__(
        self,
        growth_rate: int,
        block_config: Sequence[int],
        num_init_features: int,
        *,
        bottleneck_factor: int = BOTTLENECK_FACTOR,
        compression: float = COMPRESSION,
        drop_rate: float = 0.0,
        memory_efficient: bool = False,
        num_classes: int = 1000,
        in_channels: int = 3,
        stem: Stem = "imagenet",
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        if growth_rate < 1 or not block_config or any(layers < 1 for layers in block_config):
            raise CourseError(
                f"growth_rate must be positive and block_config a list of positive layer counts; got "
                f"growth_rate={growth_rate!r}, block_config={block_config!r}."
            )
        if not 0.0 < compression <= 1.0:
            raise CourseError(f"compression θ must be in (0, 1] (0.5 in DenseNet-BC); got {compression!r}.")
        if not 0.0 <= drop_rate < 1.0:
            raise CourseError(f"drop_rate is a probability in [0, 1); got {drop_rate!r}.")
        self.in_channels = in_channels
        self.growth_rate = growth_rate

        if stem == "imagenet":
            stem_layers = [
                ("conv0", nn.Conv2d(in_channels, num_init_features, 7, stride=2, padding=3, bias=False)),
                ("norm0", nn.BatchNorm2d(num_init_features)),
                ("relu0", nn.ReLU(inplace=True)),
                ("pool0", nn.MaxPool2d(kernel_size=3, stride=2, padding=1)),
            ]
        elif stem == "cifar":
            stem_layers = [("conv0", nn.Conv2d(in_channels, num_init_features, 3, padding=1, bias=False))]
        else:
            raise CourseError(
                f"stem must be 'imagenet' (7×7 conv + max pool) or 'cifar' (3×3 conv); got {stem!r}."
            )
        self.features = nn.Sequential(OrderedDict(stem_layers))

        channels = num_init_features
        for index, num_layers in enumerate(block_config):
            block = DenseBlock(num_layers, channels, growth_rate, bottleneck_factor, drop_rate, memory_efficient)
            self.features.add_module(f"denseblock{index + 1}", block)
            channels = block.out_channels
            if index != len(block_config) - 1:
                compressed = int(channels * compression)  # floor, as torchvision's channels // 2
                self.features.add_module(f"transition{index + 1}", Transition(channels, compressed))
                channels = compressed
        self.features.add_module(f"norm{len(block_config) + 1}", nn.BatchNorm2d(channels))
        self.num_features: int = channels
        self.classifier = nn.Linear(channels, num_classes)

        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight)
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem, dense blocks, transitions, final BN and its ReLU: the map before pooling."""
        return F.relu(self.features(x), inplace=True)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier = nn.Linear(self.num_features, num_classes)
        nn.init.zeros_(self.classifier.bias)


# ----------------------------------------------------------------------------------------------------
# Builders
# ----------------------------------------------------------------------------------------------------


def _imagenet_densenet(
    depth: int, num_classes: int, in_channels: int, weights: str | None, memory_efficient: bool
) -> DenseNet:
    check_model_arguments(num_classes, in_channels, weights)
    growth_rate, block_config, num_init_features = IMAGENET_CONFIGS[depth]
    model = DenseNet(
        growth_rate,
        block_config,
        num_init_features,
        memory_efficient=memory_efficient,
        num_classes=num_classes,
        in_channels=in_channels,
    )
    return apply_weights(model, weights, f"densenet{depth}")  # type: ignore[return-value]


@register_model(
    family="densenet",
    input_size=(3, 224, 224),
    torchvision_name="densenet121",
    timm_name="densenet121",
    paper=PAPER,
)
def densenet121(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None, memory_efficient: bool = False
) -> DenseNet:
    """DenseNet-121 (paper Table 1, k = 32), equal to ``torchvision.models.densenet121``: 8.0M parameters."""
    return _imagenet_densenet(121, num_classes, in_channels, weights, memory_efficient)


@register_model(
    family="densenet",
    input_size=(3, 224, 224),
    torchvision_name="densenet161",
    timm_name="densenet161",
    paper=PAPER,
)
def densenet161(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None, memory_efficient: bool = False
) -> DenseNet:
    """DenseNet-161 (k = 48, the authors' released model), equal to torchvision's: 28.7M parameters."""
    return _imagenet_densenet(161, num_classes, in_channels, weights, memory_efficient)


@register_model(
    family="densenet",
    input_size=(3, 224, 224),
    torchvision_name="densenet169",
    timm_name="densenet169",
    paper=PAPER,
)
def densenet169(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None, memory_efficient: bool = False
) -> DenseNet:
    """DenseNet-169 (paper Table 1, k = 32), equal to ``torchvision.models.densenet169``: 14.1M parameters."""
    return _imagenet_densenet(169, num_classes, in_channels, weights, memory_efficient)


@register_model(
    family="densenet",
    input_size=(3, 224, 224),
    torchvision_name="densenet201",
    timm_name="densenet201",
    paper=PAPER,
)
def densenet201(
    *, num_classes: int = 1000, in_channels: int = 3, weights: str | None = None, memory_efficient: bool = False
) -> DenseNet:
    """DenseNet-201 (paper Table 1, k = 32), equal to ``torchvision.models.densenet201``: 20.0M parameters."""
    return _imagenet_densenet(201, num_classes, in_channels, weights, memory_efficient)


def densenet_bc_cifar(
    depth: int,
    growth_rate: int,
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    drop_rate: float = 0.0,
    memory_efficient: bool = False,
) -> DenseNet:
    """DenseNet-BC (L = ``depth``, k = ``growth_rate``) for small images, paper Section 3.

    Three dense blocks of n = (L - 4) / 6 bottleneck layers each (two convolutions per layer; the 4
    counts the first convolution, two transitions and the classifier), a 2k-channel first convolution,
    θ = 0.5 transitions.
    """
    if not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
        raise CourseError(
            f"DenseNet-BC for CIFAR has L = 6n + 4 layers (40, 100, 190, 250, ...); got depth={depth!r}."
        )
    layers_per_block = (depth - 4) // 6
    return DenseNet(
        growth_rate,
        (layers_per_block,) * 3,
        2 * growth_rate,
        drop_rate=drop_rate,
        memory_efficient=memory_efficient,
        num_classes=num_classes,
        in_channels=in_channels,
        stem="cifar",
    )


@register_model(family="densenet", input_size=(3, 32, 32), paper=PAPER)
def densenet_bc_100_12(
    *, num_classes: int = 10, in_channels: int = 3, drop_rate: float = 0.0, memory_efficient: bool = False
) -> DenseNet:
    """DenseNet-BC (L = 100, k = 12): 16 layers per block, 0.8M parameters (paper Table 2: 4.51% on C10+)."""
    return densenet_bc_cifar(
        100, 12, num_classes=num_classes, in_channels=in_channels, drop_rate=drop_rate,
        memory_efficient=memory_efficient,
    )


@register_model(family="densenet", input_size=(3, 32, 32), paper=PAPER)
def densenet_bc_40_12(
    *, num_classes: int = 10, in_channels: int = 3, drop_rate: float = 0.0, memory_efficient: bool = False
) -> DenseNet:
    """DenseNet-BC (L = 40, k = 12): 6 layers per block, 0.18M parameters; small enough to train on a CPU.

    Not a configuration from the paper (whose Table 2 has a *non*-BC DenseNet with L = 40, k = 12, 1.0M);
    the course's CPU-sized member of the family, built by the same rules as DenseNet-BC-100-12.
    """
    return densenet_bc_cifar(
        40, 12, num_classes=num_classes, in_channels=in_channels, drop_rate=drop_rate,
        memory_efficient=memory_efficient,
    )


__all__ = [
    "BOTTLENECK_FACTOR",
    "COMPRESSION",
    "IMAGENET_CONFIGS",
    "DenseBlock",
    "DenseLayer",
    "DenseNet",
    "Transition",
    "densenet121",
    "densenet161",
    "densenet169",
    "densenet201",
    "densenet_bc_100_12",
    "densenet_bc_40_12",
    "densenet_bc_cifar",
]
