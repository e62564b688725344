"""Small pieces every family uses: ``make_divisible`` and the conv-norm-activation unit.

Modelled on torchvision's ``ops/misc.py`` so that state_dict keys match torchvision's models.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a channel count to the nearest multiple of ``divisor``, never going below 90% of ``value``.

    Introduced with MobileNet v1's width multiplier code and used by MobileNet v2/v3, MnasNet and
    EfficientNet (all of torchvision's ``_make_divisible``). Hardware runs channel counts that are
    multiples of 8 faster; the 90% rule keeps a rounding from removing too much capacity.

    >>> make_divisible(18)
    24
    >>> make_divisible(83)
    80
    >>> make_divisible(84)
    88
    >>> make_divisible(3, min_value=8)
    8
    """
    if min_value is None:
        min_value = divisor
    rounded = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:  # rounding down removed more than 10%: go one step up
        rounded += divisor
    return rounded


class Conv2dNormActivation(nn.Sequential):
    """Convolution → normalisation → activation, the unit every modern CNN repeats.

    A ``nn.Sequential`` (children named ``0``, ``1``, ``2``) so its parameters have the same names as
    torchvision's ``Conv2dNormActivation``. The convolution has no bias when a normalisation follows:
    BatchNorm subtracts the mean, which would cancel any bias.

    Args:
        in_channels, out_channels, kernel_size, stride, groups, dilation: as ``nn.Conv2d``.
        padding: defaults to "same"-style ``(kernel_size - 1) // 2 * dilation``.
        norm_layer: a class taking the channel count, or ``None`` for no normalisation.
        activation_layer: an activation class, or ``None`` for a linear unit (e.g. MobileNet v2's
            linear bottleneck).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        norm_layer: Callable[[int], nn.Module] | None = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int = 1,
    ) -> None:
        if padding is None:
            padding = (kernel_size - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride,
                padding,
                dilation=dilation,
                groups=groups,
                bias=norm_layer is None,
            )
        ]
        if norm_layer is not None:
            layers.append(norm_layer(out_channels))
        if activation_layer is not None:
            layers.append(activation_layer(inplace=True) if _takes_inplace(activation_layer) else activation_layer())
        super().__init__(*layers)
        self.out_channels = out_channels


def _takes_inplace(activation_layer: Callable[..., nn.Module]) -> bool:
    return isinstance(activation_layer, type) and issubclass(
        activation_layer, (nn.ReLU, nn.ReLU6, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh)
    )
