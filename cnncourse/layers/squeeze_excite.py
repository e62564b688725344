"""Squeeze-and-excitation (Hu et al., 2017, arXiv:1709.01507, Section 3 and Fig. 2).

One module for every family. The squeeze width is an explicit argument because the families disagree
on where it comes from, and each call site says which rule it follows:

* SENet: block output channels / r with r = 16 (paper Section 6.1; timm rounds to a multiple of 8);
* EfficientNet: the MBConv block's *input* channels / 4 (torchvision ``MBConv``);
* MobileNet v3: the *expanded* channels / 4, rounded with ``make_divisible(·, 8)`` (paper Section 5.3).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn


class SqueezeExcitation(nn.Module):
    """Recalibrate channels: global average pool → 1×1 conv → activation → 1×1 conv → gate → rescale.

    Parameter names equal ``torchvision.ops.SqueezeExcitation`` (``fc1``, ``fc2``). The two "fully
    connected" layers are 1×1 convolutions with bias, which is the same arithmetic on a 1×1 map.
    The gate scales each *channel* by one number: the weights have shape (N, C, 1, 1).

    Args:
        channels: channels of the tensor being recalibrated.
        squeeze_channels: width of the bottleneck between the two layers (see the module docstring).
        activation: after the first layer (ReLU in SENet, SiLU in EfficientNet).
        gate: squashes the second layer's output to a weight (sigmoid; hard-sigmoid in MobileNet v3).
    """

    def __init__(
        self,
        channels: int,
        squeeze_channels: int,
        activation: Callable[..., nn.Module] = nn.ReLU,
        gate: Callable[..., nn.Module] = nn.Sigmoid,
    ) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = activation()
        self.scale_activation = gate()

    def channel_weights(self, x: Tensor) -> Tensor:
        """The per-channel weights in (0, 1), shape (N, C, 1, 1): what the chapters plot."""
        scale = self.avgpool(x)
        scale = self.activation(self.fc1(scale))
        return self.scale_activation(self.fc2(scale))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.channel_weights(x)


def se_params(channels: int, squeeze_channels: int) -> int:
    """Parameters of :class:`SqueezeExcitation` by formula: two 1×1 layers with bias.

    >>> se_params(256, 16)
    8464
    """
    return channels * squeeze_channels + squeeze_channels + squeeze_channels * channels + channels


__all__ = ["SqueezeExcitation", "se_params"]
