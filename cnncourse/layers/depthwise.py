"""Depthwise-separable convolution, the building block of MobileNet v1.

Howard et al., 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications", arXiv:1704.04861, Section 3.1 and Fig. 3.

A standard k×k convolution mixes space and channels in one step. The depthwise-separable version
splits it in two: a *depthwise* k×k convolution filters each input channel on its own
(``groups == channels``), then a *pointwise* 1×1 convolution mixes the channels. Each is followed by
BatchNorm and ReLU (Fig. 3, right).

Cost, in the paper's notation (Section 3.1): kernel D_K × D_K, M input channels, N output channels,
output feature map D_F × D_F; the counts are of the convolution weights only (no BatchNorm, no bias):

* standard convolution: params D_K²·M·N, mult-adds D_K²·M·N·D_F²;
* depthwise-separable:  params D_K²·M + M·N, mult-adds D_K²·M·D_F² + M·N·D_F²;
* ratio separable / standard = 1/N + 1/D_K², so a 3×3 separable convolution costs 8 to 9 times less.

``cnncourse.profile`` has these formulas as functions (``depthwise_separable_params``/``_macs``) and
measures the module below; the tests check that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.layers.misc import Conv2dNormActivation


class DepthwiseSeparableConv(nn.Module):
    """MobileNet v1's block (arXiv:1704.04861, Fig. 3 right).

    3×3 depthwise conv → BN → ReLU, then 1×1 pointwise conv → BN → ReLU.

    The stride sits on the depthwise convolution, as in the paper's Table 1 ("Conv dw / s2").

    Args:
        in_channels: M, channels of the input (and of the depthwise convolution).
        out_channels: N, channels after the pointwise convolution.
        stride: 1 or 2, applied by the depthwise convolution.
        kernel_size: D_K of the depthwise convolution (3 in MobileNet v1).
        norm_layer: normalisation after each convolution.
        activation_layer: activation after each normalisation (ReLU in the paper).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        kernel_size: int = 3,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise CourseError(f"DepthwiseSeparableConv stride must be 1 or 2, got {stride}.")
        if in_channels < 1 or out_channels < 1:
            raise CourseError(
                "DepthwiseSeparableConv needs positive channel counts, "
                f"got in={in_channels}, out={out_channels}."
            )
        # groups == in_channels: one k×k filter per input channel, no mixing across channels.
        self.depthwise = Conv2dNormActivation(
            in_channels,
            in_channels,
            kernel_size=kernel_size,
            stride=stride,
            groups=in_channels,
            norm_layer=norm_layer,
            activation_layer=activation_layer,
        )
        # The 1×1 convolution does all the channel mixing.
        self.pointwise = Conv2dNormActivation(
            in_channels, out_channels, kernel_size=1, norm_layer=norm_layer, activation_layer=activation_layer
        )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        return self.pointwise(self.depthwise(x))


__all__ = ["DepthwiseSeparableConv"]
