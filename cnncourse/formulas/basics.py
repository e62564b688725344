"""The building blocks every family's formulas are made of: convolution, BatchNorm, linear layer.

Conventions (every module of this package): parameters include BatchNorm's weight and bias (2 per
channel; running mean and variance are buffers, not parameters). MACs count convolutions and linear layers
only, without bias, exactly what :func:`cnncourse.profile.count_macs` measures; a convolution's MACs are
computed at its OUTPUT resolution.
"""

from __future__ import annotations

from cnncourse.errors import CourseError


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int | None = None) -> int:
    """Output height (or width) of a convolution or pooling: ``floor((size + 2p - k) / s) + 1``.

    ``padding`` defaults to ``(k - 1) // 2`` ("same" padding at stride 1), as every block here uses.

    >>> conv_output_size(224, 7, stride=2, padding=3)
    112
    >>> conv_output_size(28, 3, stride=2)
    14
    """
    if padding is None:
        padding = (kernel_size - 1) // 2
    return (size + 2 * padding - kernel_size) // stride + 1


def conv2d_params(c_in: int, c_out: int, k: int, groups: int = 1, bias: bool = False) -> int:
    """Parameters of a k×k convolution: ``c_out · (c_in / groups) · k² (+ c_out for the bias)``.

    Every output channel has one k×k filter over the ``c_in / groups`` input channels of its group.

    >>> conv2d_params(64, 64, 3)
    36864
    >>> conv2d_params(32, 32, 3, groups=32)  # depthwise: one 3×3 filter per channel
    288
    """
    if c_in % groups or c_out % groups:
        raise CourseError(f"groups={groups} must divide both c_in={c_in} and c_out={c_out}.")
    return c_out * (c_in // groups) * k * k + (c_out if bias else 0)


def conv2d_macs(c_in: int, c_out: int, k: int, h_out: int, w_out: int, groups: int = 1) -> int:
    """Multiply-accumulates of a k×k convolution: ``h_out · w_out · c_out · (c_in / groups) · k²``.

    One MAC per weight per output position (bias additions are not counted, as in :func:`count_macs`).

    >>> conv2d_macs(3, 64, 7, h_out=112, w_out=112)  # ResNet's stem
    118013952
    """
    return h_out * w_out * conv2d_params(c_in, c_out, k, groups)


def batchnorm_params(channels: int) -> int:
    """BatchNorm's learnable scale γ and shift β: 2 per channel.

    Ioffe & Szegedy, 2015, arXiv:1502.03167. The running mean and variance are buffers, not parameters.
    """
    return 2 * channels


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of a fully connected layer: ``in · out (+ out)``.

    >>> linear_params(512, 1000)
    513000
    """
    return in_features * out_features + (out_features if bias else 0)


def linear_macs(in_features: int, out_features: int) -> int:
    """Multiply-accumulates of a fully connected layer on one sample: ``in · out``."""
    return in_features * out_features


__all__ = ["batchnorm_params", "conv2d_macs", "conv2d_params", "conv_output_size", "linear_macs", "linear_params"]
