"""DenseNet (chapter 04): dense layer, dense block, transition and whole DenseNet-BC, by formula.

Huang, Liu, van der Maaten & Weinberger, *Densely Connected Convolutional Networks*, CVPR 2017,
arXiv:1608.06993. Inside a dense block layer ℓ receives the **concatenation** of the block input and the
outputs of all ℓ − 1 earlier layers, ``x_ℓ = H_ℓ([x_0, x_1, ..., x_{ℓ-1}])`` (Section 3, Eq. 2), and adds
k new channels (k, the growth rate). So layer ℓ's input has ``k_0 + k·(ℓ − 1)`` channels and the block
ends with ``k_0 + k·L``. Nothing is added: every earlier map reaches every later layer unchanged.

* Bottleneck layer (DenseNet-B, Section 3): BN-ReLU-1×1 conv to ``4k`` channels, then BN-ReLU-3×3 conv to
  ``k``. Without it (the plain DenseNet) ``H_ℓ`` is BN-ReLU-3×3 conv straight to ``k``.
* Transition (Section 3, "Pooling layers" and "Compression"): BN, 1×1 conv to ``⌊θ·m⌋`` of its ``m``
  input channels, then 2×2 average pooling with stride 2 (the code adds a ReLU after the BN, see below). θ = 0.5 in DenseNet-C and DenseNet-BC.

The code of :mod:`cnncourse.models.densenet` (and torchvision's, whose names it keeps) has a ReLU in the
transition, and floors ``θ·m`` (torchvision: ``m // 2``); these formulas do the same. Conventions are those
of :mod:`cnncourse.formulas`: BatchNorm has 2 parameters per channel, MACs count convolutions and linear
layers without bias, at the convolution's output resolution; pooling, BN and ReLU cost no MACs.
"""

from __future__ import annotations

from collections.abc import Sequence

from cnncourse.errors import CourseError
from cnncourse.formulas.basics import (
    batchnorm_params,
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    linear_macs,
    linear_params,
)

#: The 1×1 bottleneck outputs BOTTLENECK_FACTOR · k channels (paper Section 3, "Bottleneck layers").
BOTTLENECK_FACTOR = 4


def dense_layer_input_channels(block_input: int, growth_rate: int, layer: int) -> int:
    """Channels entering layer ``layer`` (1-based) of a dense block: ``k_0 + k·(ℓ − 1)`` (Section 3).

    >>> dense_layer_input_channels(64, 32, 6)  # the last layer of DenseNet-121's first block
    224
    """
    if layer < 1:
        raise CourseError(f"layers of a dense block are numbered from 1; got layer={layer}.")
    return block_input + growth_rate * (layer - 1)


def dense_block_out_channels(block_input: int, growth_rate: int, num_layers: int) -> int:
    """Channels leaving a dense block of ``num_layers`` layers: ``k_0 + k·L`` (the input is kept, Section 3).

    >>> dense_block_out_channels(24, 12, 16)  # DenseNet-BC-100-12, first block
    216
    """
    return block_input + growth_rate * num_layers


def dense_connections(num_layers: int) -> int:
    """Direct connections among ``L`` layers that each receive every earlier output: ``L(L + 1)/2``.

    Layer ℓ has ℓ inputs (the block input and ℓ − 1 earlier layers), so 1 + 2 + ... + L (paper Section 1;
    a ResNet or plain network of L layers has L).

    >>> dense_connections(5)
    15
    """
    return num_layers * (num_layers + 1) // 2


def dense_layer_params(in_channels: int, growth_rate: int, bottleneck_factor: int | None = BOTTLENECK_FACTOR) -> int:
    """Parameters of one dense layer on ``in_channels`` concatenated input channels (Section 3).

    Bottleneck layer (``bottleneck_factor`` b, 4 in the paper): ``2m + m·bk + 2bk + 9·bk·k`` for ``m`` input
    channels — BN(m), 1×1 conv m → bk, BN(bk), 3×3 conv bk → k, no biases. With ``bottleneck_factor=None``,
    the plain DenseNet layer BN-ReLU-3×3: ``2m + 9·m·k``.

    >>> dense_layer_params(24, 12)  # 48 + 24·48 + 96 + 9·48·12
    6480
    """
    if bottleneck_factor is None:
        return batchnorm_params(in_channels) + conv2d_params(in_channels, growth_rate, 3)
    width = bottleneck_factor * growth_rate
    return (batchnorm_params(in_channels) + conv2d_params(in_channels, width, 1)
            + batchnorm_params(width) + conv2d_params(width, growth_rate, 3))


def dense_layer_macs(
    in_channels: int, growth_rate: int, h: int, w: int, bottleneck_factor: int | None = BOTTLENECK_FACTOR
) -> int:
    """Multiply-adds of one dense layer on an ``h × w`` map: ``h·w·(m·bk + 9·bk·k)`` (both convs keep the size).

    Plain DenseNet layer (``bottleneck_factor=None``): ``h·w·9·m·k``. The 1×1 bottleneck is what keeps the
    3×3's cost fixed however wide the concatenated input grows.

    >>> dense_layer_macs(24, 12, 32, 32)
    6488064
    """
    if bottleneck_factor is None:
        return conv2d_macs(in_channels, growth_rate, 3, h, w)
    width = bottleneck_factor * growth_rate
    return conv2d_macs(in_channels, width, 1, h, w) + conv2d_macs(width, growth_rate, 3, h, w)


def dense_block_params(
    num_layers: int, block_input: int, growth_rate: int, bottleneck_factor: int | None = BOTTLENECK_FACTOR
) -> int:
    """Parameters of a dense block: the sum of its layers, layer ℓ on ``k_0 + k·(ℓ − 1)`` channels.

    The input width grows linearly with ℓ, so the 1×1 convolutions (and BN) make the block's parameters grow
    with **L²**: for the bottleneck layer the sum is
    ``L·(2 + b·k)·k_0 + (2 + b·k)·k·L(L − 1)/2 + L·(2bk + 9bk²)``.

    >>> dense_block_params(6, 24, 12)  # DenseNet-BC-40-12's first block
    47880
    """
    return sum(
        dense_layer_params(dense_layer_input_channels(block_input, growth_rate, layer), growth_rate,
                           bottleneck_factor)
        for layer in range(1, num_layers + 1)
    )


def dense_block_macs(
    num_layers: int,
    block_input: int,
    growth_rate: int,
    h: int,
    w: int,
    bottleneck_factor: int | None = BOTTLENECK_FACTOR,
) -> int:
    """Multiply-adds of a dense block on an ``h × w`` map (every layer keeps the resolution)."""
    return sum(
        dense_layer_macs(dense_layer_input_channels(block_input, growth_rate, layer), growth_rate, h, w,
                         bottleneck_factor)
        for layer in range(1, num_layers + 1)
    )


def transition_out_channels(in_channels: int, compression: float = 0.5) -> int:
    """Channels a transition keeps: ``⌊θ·m⌋`` (Section 3, "Compression"; θ = 1 keeps them all).

    >>> transition_out_channels(216)
    108
    """
    if not 0.0 < compression <= 1.0:
        raise CourseError(f"compression θ must be in (0, 1] (0.5 in DenseNet-BC); got {compression!r}.")
    return int(in_channels * compression)


def transition_params(in_channels: int, compression: float = 0.5) -> int:
    """Parameters of a transition: BN(m) and a 1×1 conv m → ⌊θm⌋: ``2m + m·⌊θm⌋`` (pooling has none).

    >>> transition_params(216)
    23760
    """
    return batchnorm_params(in_channels) + conv2d_params(in_channels, transition_out_channels(in_channels, compression), 1)


def transition_macs(in_channels: int, h: int, w: int, compression: float = 0.5) -> int:
    """Multiply-adds of a transition on an ``h × w`` map: the 1×1 conv runs *before* the pooling, at h × w."""
    return conv2d_macs(in_channels, transition_out_channels(in_channels, compression), 1, h, w)


def densenet_block_channels(
    growth_rate: int, block_config: Sequence[int], num_init_features: int, compression: float = 0.5
) -> list[tuple[int, int]]:
    """(input, output) channels of every dense block; a transition with θ sits between consecutive blocks.

    >>> densenet_block_channels(32, (6, 12, 24, 16), 64)  # DenseNet-121 (Table 1)
    [(64, 256), (128, 512), (256, 1024), (512, 1024)]
    """
    stages = []
    channels = num_init_features
    for index, num_layers in enumerate(block_config):
        out = dense_block_out_channels(channels, growth_rate, num_layers)
        stages.append((channels, out))
        channels = transition_out_channels(out, compression) if index < len(block_config) - 1 else out
    return stages


def _stem(stem: str, in_channels: int, num_init_features: int, size: int) -> tuple[int, int, int]:
    """(parameters, MACs, output size) of the stem: ImageNet 7×7/2 conv + BN + 3×3/2 max pool, or CIFAR 3×3."""
    if stem == "imagenet":
        conv_size = conv_output_size(size, 7, stride=2, padding=3)
        params = conv2d_params(in_channels, num_init_features, 7) + batchnorm_params(num_init_features)
        macs = conv2d_macs(in_channels, num_init_features, 7, conv_size, conv_size)
        return params, macs, conv_output_size(conv_size, 3, stride=2, padding=1)
    if stem == "cifar":
        return (conv2d_params(in_channels, num_init_features, 3),
                conv2d_macs(in_channels, num_init_features, 3, size, size), size)
    raise CourseError(f"stem must be 'imagenet' or 'cifar'; got {stem!r}.")


def densenet_cost(
    growth_rate: int,
    block_config: Sequence[int],
    num_init_features: int,
    *,
    image_size: int,
    compression: float = 0.5,
    bottleneck_factor: int | None = BOTTLENECK_FACTOR,
    num_classes: int = 1000,
    in_channels: int = 3,
    stem: str = "imagenet",
) -> tuple[int, int]:
    """(parameters, multiply-adds per image) of a whole DenseNet(-BC), block by block (paper Table 1).

    Stem; dense blocks with a transition (θ, then 2×2 average pooling, which floors odd sizes) between
    them; a final BN, global average pooling and the classifier. ``stem="cifar"`` is the paper's small-image
    network (one 3×3 conv to ``num_init_features`` = 2k channels for DenseNet-BC, Section 3).

    >>> densenet_cost(32, (6, 12, 24, 16), 64, image_size=224)[0]  # DenseNet-121: torchvision's count
    7978856
    """
    params, macs, size = _stem(stem, in_channels, num_init_features, image_size)
    stages = densenet_block_channels(growth_rate, block_config, num_init_features, compression)
    for index, ((block_input, _), num_layers) in enumerate(zip(stages, block_config)):
        params += dense_block_params(num_layers, block_input, growth_rate, bottleneck_factor)
        macs += dense_block_macs(num_layers, block_input, growth_rate, size, size, bottleneck_factor)
        if index < len(block_config) - 1:
            out = stages[index][1]
            params += transition_params(out, compression)
            macs += transition_macs(out, size, size, compression)
            size //= 2  # 2×2 average pooling, stride 2
    final = stages[-1][1]
    params += batchnorm_params(final) + linear_params(final, num_classes)
    return params, macs + linear_macs(final, num_classes)


def densenet_bc_cifar_config(depth: int, growth_rate: int) -> tuple[int, tuple[int, int, int], int]:
    """(k, layers per block, stem channels) of the paper's CIFAR DenseNet-BC with L = ``depth`` layers.

    Three equal blocks of n bottleneck layers (2 convolutions each): L = 6n + 4 (the stem conv, two
    transitions and the classifier make the 4), and 2k stem channels (Section 3, "Implementation Details").

    >>> densenet_bc_cifar_config(100, 12)
    (12, (16, 16, 16), 24)
    """
    if depth < 10 or (depth - 4) % 6:
        raise CourseError(f"DenseNet-BC depth L must be 6n + 4 with n ≥ 1 (40, 100, 190, ...); got {depth}.")
    layers_per_block = (depth - 4) // 6
    return growth_rate, (layers_per_block,) * 3, 2 * growth_rate


__all__ = [
    "BOTTLENECK_FACTOR",
    "dense_block_macs",
    "dense_block_out_channels",
    "dense_block_params",
    "dense_connections",
    "dense_layer_input_channels",
    "dense_layer_macs",
    "dense_layer_params",
    "densenet_bc_cifar_config",
    "densenet_block_channels",
    "densenet_cost",
    "transition_macs",
    "transition_out_channels",
    "transition_params",
]
