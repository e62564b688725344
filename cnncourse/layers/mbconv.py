"""MBConv (inverted residual + squeeze-and-excitation) of MobileNet v3 and EfficientNet; stochastic depth.

* MobileNet v3 (Howard et al., 2019, arXiv:1905.02244, Section 5 and Fig. 4): MobileNet v2's block
  with an optional SE module after the depthwise convolution, ReLU or h-swish as the activation and a
  hard-sigmoid gate in the SE module.
* EfficientNet (Tan & Le, 2019, arXiv:1905.11946, Section 4): the "mobile inverted bottleneck MBConv"
  of MnasNet (Tan et al., 2019, arXiv:1807.11626) with SE in every block, SiLU (swish) activations,
  and stochastic depth on the residual branch.
* Stochastic depth (Huang et al., 2016, "Deep Networks with Stochastic Depth", arXiv:1603.09382):
  during training each sample's residual branch is dropped with probability p, so the block is the
  identity for that sample; torchvision's ``StochasticDepth(p, "row")`` scales the kept branches by
  1/(1 − p) so that nothing changes at test time (the paper scales at test time instead).

One :class:`MBConv` class serves both families because torchvision lays them out the same way: a
``block`` Sequential of [expansion] → depthwise → [SE] → projection, each convolution a
conv-norm-activation unit (the projection's activation is ``None``). Everything that differs is an
explicit argument and each model passes it at the call site: the activation, whether there is SE, the
SE squeeze width and gate, and the stochastic-depth probability (0 for MobileNet v3, which has none).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.layers.misc import Conv2dNormActivation
from cnncourse.layers.squeeze_excite import SqueezeExcitation


class StochasticDepth(nn.Module):
    """Randomly drop a residual branch during training (Huang et al., 2016, arXiv:1603.09382, Section 3).

    Semantics of ``torchvision.ops.StochasticDepth``: in ``"row"`` mode each sample of the batch keeps
    the branch with probability 1 − p, in ``"batch"`` mode the whole batch shares one draw. Kept
    branches are divided by 1 − p so their expected value is unchanged; in eval mode (or with p = 0)
    this is the identity.

    Args:
        p: probability of dropping the branch, in [0, 1].
        mode: ``"row"`` (one draw per sample; what EfficientNet uses) or ``"batch"``.
    """

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise CourseError(f"Stochastic depth probability must be in [0, 1], got {p}.")
        if mode not in ("row", "batch"):
            raise CourseError(f"Stochastic depth mode must be 'row' or 'batch', got {mode!r}.")
        self.p = p
        self.mode = mode

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival_rate = 1.0 - self.p
        # "row": one keep/drop decision per sample, broadcast over channels and space.
        shape = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        keep = torch.empty(shape, dtype=x.dtype, device=x.device).bernoulli_(survival_rate)
        if survival_rate > 0.0:
            keep.div_(survival_rate)
        return x * keep

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


class MBConv(nn.Module):
    """Mobile inverted bottleneck: [1×1 expansion] → k×k depthwise → [SE] → 1×1 linear projection, + input.

    Parameter names equal torchvision's ``mobilenetv3.InvertedResidual`` and ``efficientnet.MBConv``
    (``block.0.0.weight``, ``block.2.fc1.weight``, ...), so both families load torchvision's
    state_dicts strictly.

    Args:
        in_channels: channels of the block input.
        out_channels: channels after the projection.
        expanded_channels: channels inside the block. The call site computes it (MobileNet v3 takes it
            from its table, EfficientNet from ``make_divisible(in · expand_ratio, 8)``); when it equals
            ``in_channels`` there is no expansion convolution.
        kernel_size: of the depthwise convolution (3 or 5).
        stride: 1 or 2, on the depthwise convolution.
        activation_layer: after the expansion and the depthwise convolution (ReLU / h-swish / SiLU).
        squeeze_channels: width of the SE bottleneck, or ``None`` for no SE module. The call site says
            where it comes from: EfficientNet uses block input / 4, MobileNet v3 uses
            ``make_divisible(expanded / 4, 8)``.
        se_activation: activation inside SE (ReLU in MobileNet v3, SiLU in EfficientNet).
        se_gate: SE gate (hard-sigmoid in MobileNet v3, sigmoid in EfficientNet).
        stochastic_depth_prob: drop probability of the residual branch (0 for MobileNet v3).
        norm_layer: normalisation after each convolution.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        expanded_channels: int,
        kernel_size: int,
        stride: int,
        activation_layer: Callable[..., nn.Module],
        squeeze_channels: int | None,
        se_activation: Callable[..., nn.Module] = nn.ReLU,
        se_gate: Callable[..., nn.Module] = nn.Sigmoid,
        stochastic_depth_prob: float = 0.0,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise CourseError(f"MBConv stride must be 1 or 2, got {stride}.")
        if expanded_channels < in_channels:
            raise CourseError(
                f"MBConv expanded_channels ({expanded_channels}) must be at least "
                f"in_channels ({in_channels})."
            )
        self.use_res_connect = stride == 1 and in_channels == out_channels

        layers: list[nn.Module] = []
        if expanded_channels != in_channels:
            layers.append(
                Conv2dNormActivation(
                    in_channels,
                    expanded_channels,
                    kernel_size=1,
                    norm_layer=norm_layer,
                    activation_layer=activation_layer,
                )
            )
        layers.append(
            Conv2dNormActivation(
                expanded_channels,
                expanded_channels,
                kernel_size=kernel_size,
                stride=stride,
                groups=expanded_channels,  # depthwise
                norm_layer=norm_layer,
                activation_layer=activation_layer,
            )
        )
        if squeeze_channels is not None:
            layers.append(
                SqueezeExcitation(expanded_channels, squeeze_channels, activation=se_activation, gate=se_gate)
            )
        # Linear bottleneck, as in MobileNet v2: no activation after the projection.
        layers.append(
            Conv2dNormActivation(
                expanded_channels, out_channels, kernel_size=1, norm_layer=norm_layer, activation_layer=None
            )
        )
        self.block = nn.Sequential(*layers)
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")

        self.in_channels = in_channels
        self.expanded_channels = expanded_channels
        self.out_channels = out_channels
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if self.use_res_connect:
            # Stochastic depth drops the residual branch only; the shortcut always passes. The in-place
            # add is safe: neither BatchNorm's nor the dropping multiplication's backward needs ``out``.
            out = self.stochastic_depth(out)
            out += x
        return out


__all__ = ["MBConv", "StochasticDepth"]
