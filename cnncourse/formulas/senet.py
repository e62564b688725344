"""Squeeze-and-excitation (chapter 03): what SE adds to a block, a stage and a network.

:func:`se_params` lives beside the module it counts (:mod:`cnncourse.layers.squeeze_excite`) and is
re-exported here so that every SE formula is found in one place.

Hu et al., 2017, arXiv:1709.01507, Section 4 ("Model and computational complexity"): an SE block on C
channels adds two fully connected layers, C → C/r → C, so SE-ResNet adds

    (2 / r) · Σ_s N_s · C_s²

weights, where stage s has N_s blocks whose SE sits on C_s channels. That closed form leaves out the
biases (C/r + C per block) and assumes C/r is a whole number; :func:`se_network_params` counts exactly
what :class:`~cnncourse.layers.squeeze_excite.SqueezeExcitation` holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

from cnncourse.layers.squeeze_excite import se_params

#: A stage as (channels the SE blocks see, number of blocks), e.g. ResNet-50's (256, 3), (512, 4), ...
Stage = tuple[int, int]


def se_macs(channels: int, squeeze_channels: int) -> int:
    """Multiply-accumulates of squeeze-and-excitation: two 1×1 layers on the pooled 1×1 map.

    ``2 · C · S`` (Hu et al., 2017, arXiv:1709.01507, Section 3); the pooling and the channel rescaling
    (``H·W·C`` multiplies) are elementwise and not counted, which is why SE adds almost no MACs.

    >>> se_macs(256, 16)
    8192
    """
    return 2 * channels * squeeze_channels


def se_squeeze_channels(channels: int, reduction: int = 16) -> int:
    """The squeeze width C/r of SENet (paper Section 3.2), rounded down and at least 1.

    The same rule as :func:`cnncourse.models.senet.squeeze_width` (a test keeps the two equal); it is
    repeated here so that the formulas do not import the models.

    >>> [se_squeeze_channels(c) for c in (16, 64, 256, 2048)]
    [1, 4, 16, 128]
    """
    if reduction < 1:
        raise ValueError(f"reduction r must be a positive integer (the paper uses 16); got {reduction!r}.")
    return max(1, channels // reduction)


def se_elementwise_ops(channels: int, height: int, width: int) -> int:
    """Operations of SE that are not multiply-adds: ``H·W·C`` additions to pool, ``H·W·C`` multiplies to scale.

    A MAC count (``FlopCounterMode``, :func:`cnncourse.profile.count_macs`) leaves both out, yet each reads
    the whole feature map once; on a CPU that memory traffic, not arithmetic, is what SE costs.

    >>> se_elementwise_ops(256, 56, 56)
    1605632
    """
    return 2 * channels * height * width


def se_paper_params(stages: Sequence[Stage], reduction: int = 16) -> Fraction:
    """The paper's closed form (2/r)·Σ N_s·C_s² (Section 4): FC weights only, C/r not rounded.

    Returned as an exact fraction, because C_s²·2/r need not be whole for small C.

    >>> se_paper_params([(256, 3), (512, 4), (1024, 6), (2048, 3)])
    Fraction(2514944, 1)
    """
    return Fraction(2, reduction) * sum(blocks * channels**2 for channels, blocks in stages)


def se_stage_params(channels: int, blocks: int, reduction: int = 16, *, biases: bool = True) -> int:
    """Parameters SE adds to a stage of ``blocks`` blocks whose SE sits on ``channels`` channels.

    Exactly ``blocks · (2·C·S + S + C)`` with ``S = max(1, C // r)``; ``biases=False`` leaves out
    ``S + C`` per block (the paper's count, Section 4).

    >>> se_stage_params(2048, 3)
    1579392
    >>> se_stage_params(2048, 3, biases=False)
    1572864
    """
    squeeze = se_squeeze_channels(channels, reduction)
    per_block = se_params(channels, squeeze) if biases else 2 * channels * squeeze
    return blocks * per_block


def se_network_params(stages: Sequence[Stage], reduction: int = 16, *, biases: bool = True) -> int:
    """Parameters SE adds to a whole network, stage by stage (:func:`se_stage_params` summed).

    ResNet-50's stages with SE on the block outputs give 2,530,992 — 28,088,024 (timm's ``seresnet50``)
    minus 25,557,032 (torchvision's ``resnet50``). ResNet-20's give 2,373.

    >>> se_network_params([(256, 3), (512, 4), (1024, 6), (2048, 3)])
    2530992
    >>> se_network_params([(16, 3), (32, 3), (64, 3)])
    2373
    """
    return sum(se_stage_params(channels, blocks, reduction, biases=biases) for channels, blocks in stages)


__all__ = [
    "Stage",
    "se_elementwise_ops",
    "se_macs",
    "se_network_params",
    "se_paper_params",
    "se_params",
    "se_squeeze_channels",
    "se_stage_params",
]
