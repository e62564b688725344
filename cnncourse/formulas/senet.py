"""Squeeze-and-excitation (chapter 03): what SE adds to a block.

:func:`se_params` lives beside the module it counts (:mod:`cnncourse.layers.squeeze_excite`) and is
re-exported here so that every SE formula is found in one place.
"""

from __future__ import annotations

from cnncourse.layers.squeeze_excite import se_params


def se_macs(channels: int, squeeze_channels: int) -> int:
    """Multiply-accumulates of squeeze-and-excitation: two 1×1 layers on the pooled 1×1 map.

    ``2 · C · S`` (Hu et al., 2017, arXiv:1709.01507, Section 3); the pooling and the channel rescaling
    (``H·W·C`` multiplies) are elementwise and not counted, which is why SE adds almost no MACs.

    >>> se_macs(256, 16)
    8192
    """
    return 2 * channels * squeeze_channels


__all__ = ["se_macs", "se_params"]
