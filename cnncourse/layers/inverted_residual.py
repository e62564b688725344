"""The inverted residual with linear bottleneck, MobileNet v2's block.

Sandler et al., 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks", arXiv:1801.04381,
Section 3.3 and Table 1.

A ResNet bottleneck is wide → narrow → wide with the shortcut between the wide ends. MobileNet v2
inverts it: narrow → wide → narrow, with the shortcut between the *narrow* ends (the bottlenecks).

* 1×1 expansion from d' to t·d' channels, BN, ReLU6 (left out when t = 1);
* 3×3 depthwise convolution with stride s, BN, ReLU6;
* 1×1 projection to d'' channels and BN, **with no activation**: the linear bottleneck. Section 3.2
  argues that a ReLU in a low-dimensional space destroys information, so the narrow output stays linear.
* the input is added back when s = 1 and d' = d''.

Cost (Section 3.3, "running time and parameter count"): with stride 1 on an h × w map,
h·w·d'·t·(d' + k² + d'') multiply-adds (``cnncourse.profile.inverted_residual_macs``).
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.layers.misc import Conv2dNormActivation


def expanded_width(in_channels: int, expand_ratio: float) -> int:
    """Channels inside the block, ``round(d' · t)`` (torchvision rounds the same way)."""
    return int(round(in_channels * expand_ratio))


class InvertedResidual(nn.Module):
    """MobileNet v2 block (arXiv:1801.04381, Table 1): expand (ReLU6) → depthwise (ReLU6) → linear projection.

    Parameter names equal torchvision's ``mobilenetv2.InvertedResidual`` (``conv.0.0.weight``, ...), so
    whole MobileNet v2 state_dicts load strictly. That is also why the projection is a bare
    ``nn.Conv2d`` followed by ``nn.BatchNorm2d`` inside ``conv`` rather than a conv-norm-activation unit:
    it has no activation, and its parameters are named ``conv.<i>.weight`` in torchvision.

    Args:
        in_channels: d', channels of the input.
        out_channels: d'', channels of the output.
        stride: 1 or 2, on the depthwise convolution.
        expand_ratio: t; with t = 1 the expansion convolution is left out (torchvision does the same).
        norm_layer: normalisation after each convolution.
        activation_layer: activation after the expansion and the depthwise convolutions (ReLU6).
        projection_activation: ``None`` (the default, the paper's linear bottleneck) or an activation
            to put after the projection's BatchNorm, for the ablation of Section 6.4 / Fig. 6a (chapter
            06 trains both). It adds no parameters, so state_dicts still load either way.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        stride: int,
        expand_ratio: float,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] = nn.ReLU6,
        projection_activation: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise CourseError(f"InvertedResidual stride must be 1 or 2, got {stride}.")
        if expand_ratio < 1:
            raise CourseError(f"InvertedResidual expand_ratio must be at least 1, got {expand_ratio}.")
        hidden = expanded_width(in_channels, expand_ratio)
        # The shortcut needs the same shape on both ends: no downsampling, no change of width.
        self.use_res_connect = stride == 1 and in_channels == out_channels

        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(
                Conv2dNormActivation(
                    in_channels,
                    hidden,
                    kernel_size=1,
                    norm_layer=norm_layer,
                    activation_layer=activation_layer,
                )
            )
        layers.append(
            Conv2dNormActivation(
                hidden,
                hidden,
                kernel_size=3,
                stride=stride,
                groups=hidden,  # depthwise: one filter per channel
                norm_layer=norm_layer,
                activation_layer=activation_layer,
            )
        )
        # The linear bottleneck: projection and BatchNorm, deliberately no activation afterwards.
        layers.append(nn.Conv2d(hidden, out_channels, kernel_size=1, bias=False))
        layers.append(norm_layer(out_channels))
        if projection_activation is not None:  # not MobileNet v2: the ablation's non-linear bottleneck
            layers.append(projection_activation())
        self.conv = nn.Sequential(*layers)

        self.in_channels = in_channels
        self.hidden_channels = hidden
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:
            return x + self.conv(x)
        return self.conv(x)


__all__ = ["InvertedResidual", "expanded_width"]
