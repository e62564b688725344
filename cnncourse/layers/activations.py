"""Teaching versions of the activations that mobile networks use: hard-sigmoid, hard-swish and swish.

Each is written from its formula with nothing but ``clamp`` and ``sigmoid`` so a learner can see that
there is no magic. The tests prove them equal to PyTorch's ``nn.Hardsigmoid``, ``nn.Hardswish`` and
``nn.SiLU``; the models themselves use PyTorch's modules (fused kernels, in-place variants).

* swish (Ramachandran, Zoph & Le, 2017, "Searching for Activation Functions", arXiv:1710.05941,
  Section 4): ``swish(x) = x · σ(βx)``. With β = 1 it is the SiLU that EfficientNet uses.
* hard-sigmoid and hard-swish (Howard et al., 2019, "Searching for MobileNetV3", arXiv:1905.02244,
  Section 5.2): ``h-sigmoid(x) = ReLU6(x + 3) / 6`` and ``h-swish(x) = x · ReLU6(x + 3) / 6``. They
  replace the sigmoid with a piecewise-linear curve that is cheap on phones and exact in 8-bit
  arithmetic, while keeping swish's shape.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def hard_sigmoid(x: Tensor) -> Tensor:
    """h-sigmoid(x) = ReLU6(x + 3) / 6 (MobileNet v3, arXiv:1905.02244, Section 5.2).

    0 for x ≤ −3, 1 for x ≥ 3, and the straight line x/6 + 1/2 in between. ReLU6(z) is
    ``min(max(z, 0), 6)``, which is what ``clamp(z, 0, 6)`` computes.
    """
    return torch.clamp(x + 3.0, min=0.0, max=6.0) / 6.0


def hard_swish(x: Tensor) -> Tensor:
    """h-swish(x) = x · ReLU6(x + 3) / 6 (MobileNet v3, arXiv:1905.02244, Section 5.2, eq. for h-swish).

    Swish with its sigmoid replaced by :func:`hard_sigmoid`: 0 for x ≤ −3, x for x ≥ 3.
    """
    return x * hard_sigmoid(x)


def swish(x: Tensor, beta: float = 1.0) -> Tensor:
    """swish(x) = x · σ(βx) (Ramachandran et al., 2017, arXiv:1710.05941, Section 4).

    β = 1 gives SiLU (``nn.SiLU``), the activation of EfficientNet; as β → ∞ swish approaches ReLU.
    """
    return x * torch.sigmoid(beta * x)


class HardSigmoid(nn.Module):
    """Module form of :func:`hard_sigmoid` (teaching version of ``nn.Hardsigmoid``)."""

    def forward(self, x: Tensor) -> Tensor:
        return hard_sigmoid(x)


class HardSwish(nn.Module):
    """Module form of :func:`hard_swish` (teaching version of ``nn.Hardswish``)."""

    def forward(self, x: Tensor) -> Tensor:
        return hard_swish(x)


class Swish(nn.Module):
    """Module form of :func:`swish` with a fixed β (teaching version of ``nn.SiLU`` when β = 1)."""

    def __init__(self, beta: float = 1.0) -> None:
        super().__init__()
        self.beta = beta

    def forward(self, x: Tensor) -> Tensor:
        return swish(x, self.beta)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


__all__ = ["HardSigmoid", "HardSwish", "Swish", "hard_sigmoid", "hard_swish", "swish"]
