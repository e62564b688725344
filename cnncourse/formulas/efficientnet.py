"""EfficientNet (chapter 09): the MBConv widths its scaling rule produces."""

from __future__ import annotations

from cnncourse.layers.misc import make_divisible


def efficientnet_mbconv_widths(c_in: int, expand_ratio: float) -> tuple[int, int]:
    """EfficientNet's (expanded, squeeze) channels of an MBConv block with input ``c_in`` and ratio ``t``.

    Expanded: ``make_divisible(t · c_in, 8)`` as in torchvision (equal to ``t · c_in`` for every block of
    B0–B7 at width 1.0). Squeeze: a quarter of the block's *input* channels, at least 1 (Tan & Le, 2019,
    arXiv:1905.11946, Section 4, following MnasNet's SE ratio 0.25; torchvision's ``MBConv``). MobileNet v3
    instead takes the expanded width from its Table 1/2 and squeezes to ``make_divisible(expanded / 4, 8)``.

    >>> efficientnet_mbconv_widths(16, 6)
    (96, 4)
    """
    return make_divisible(c_in * expand_ratio, 8), max(1, c_in // 4)


__all__ = ["efficientnet_mbconv_widths"]
