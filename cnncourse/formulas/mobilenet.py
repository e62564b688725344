"""MobileNet v1-v3 and MnasNet blocks (chapters 05-08): depthwise-separable, inverted residual, MBConv."""

from __future__ import annotations

from cnncourse.errors import CourseError
from cnncourse.formulas.basics import batchnorm_params, conv2d_macs, conv2d_params, conv_output_size
from cnncourse.formulas.senet import se_macs, se_params


def depthwise_separable_params(c_in: int, c_out: int, k: int = 3, norm: bool = True) -> int:
    """MobileNet v1's block: k×k depthwise conv → BN → ReLU → 1×1 pointwise conv → BN → ReLU.

    Howard et al., 2017, arXiv:1704.04861, Section 3.1 and Fig. 3: ``k²·M + M·N`` weights for ``M``
    input and ``N`` output channels (no biases: BN follows each conv), plus ``2M + 2N`` for the two
    BatchNorms when ``norm`` is True. The paper's formula leaves BN out (``norm=False``).

    >>> depthwise_separable_params(32, 64, norm=False)
    2336
    """
    convs = conv2d_params(c_in, c_in, k, groups=c_in) + conv2d_params(c_in, c_out, 1)
    return convs + (batchnorm_params(c_in) + batchnorm_params(c_out) if norm else 0)


def depthwise_separable_macs(c_in: int, c_out: int, h_out: int, w_out: int, k: int = 3) -> int:
    """Mult-adds of a depthwise-separable conv: ``D_F² · (k² · M + M · N)`` (Howard et al., 2017, Eq. 5).

    ``D_F`` is the *output* resolution: a stride-2 depthwise conv halves it and the pointwise conv runs
    at the reduced size. Compared with a standard k×k conv the cost shrinks by ``1/N + 1/k²`` (Eq. 6).

    >>> standard = conv2d_macs(512, 512, 3, h_out=14, w_out=14)
    >>> round(depthwise_separable_macs(512, 512, 14, 14) / standard, 4) == round(1 / 512 + 1 / 9, 4)
    True
    """
    return h_out * w_out * (c_in * k * k + c_in * c_out)


def _expanded(c_in: int, expand_ratio: float) -> int:
    hidden = round(c_in * expand_ratio)
    if hidden < 1:
        raise CourseError(f"expand_ratio={expand_ratio} leaves no channels for c_in={c_in}.")
    return hidden


def inverted_residual_params(c_in: int, c_out: int, expand_ratio: float, kernel_size: int = 3) -> int:
    """MobileNet v2's inverted residual with linear bottleneck.

    Sandler et al., 2018, arXiv:1801.04381, Table 1: 1×1 expansion to ``t·c_in`` channels → BN → ReLU6,
    k×k depthwise → BN → ReLU6, 1×1 linear projection → BN. With ``t = 1`` there is no expansion conv
    (as in the paper's first block and torchvision). Weights: ``c_in·h + k²·h + h·c_out`` with
    ``h = round(t · c_in)``; BN: ``2h + 2h + 2c_out``.

    >>> inverted_residual_params(24, 24, 6)
    8832
    """
    hidden = _expanded(c_in, expand_ratio)
    params = conv2d_params(hidden, hidden, kernel_size, groups=hidden) + batchnorm_params(hidden)
    params += conv2d_params(hidden, c_out, 1) + batchnorm_params(c_out)
    if expand_ratio != 1:
        params += conv2d_params(c_in, hidden, 1) + batchnorm_params(hidden)
    return params


def inverted_residual_macs(
    c_in: int, c_out: int, expand_ratio: float, h_in: int, w_in: int, stride: int = 1, kernel_size: int = 3
) -> int:
    """Multiply-accumulates of :func:`inverted_residual_params`'s block on an ``h_in × w_in`` input.

    The expansion runs at the input resolution, the depthwise conv carries the stride, the projection
    runs at the output resolution: ``h·w·c_in·t + h'·w'·t·c_in·(k² + c_out)``; with stride 1 that is
    the paper's ``h·w·d'·t·(d' + k² + d'')`` (Sandler et al., 2018, arXiv:1801.04381, Section 3.3).
    """
    hidden = _expanded(c_in, expand_ratio)
    h_out, w_out = conv_output_size(h_in, kernel_size, stride), conv_output_size(w_in, kernel_size, stride)
    macs = conv2d_macs(hidden, hidden, kernel_size, h_out, w_out, groups=hidden)
    macs += conv2d_macs(hidden, c_out, 1, h_out, w_out)
    if expand_ratio != 1:
        macs += conv2d_macs(c_in, hidden, 1, h_in, w_in)
    return macs


def mbconv_params(
    c_in: int, c_out: int, expanded_channels: int, kernel_size: int = 3, squeeze_channels: int | None = None
) -> int:
    """MBConv: [1×1 expansion → BN → act], k×k depthwise → BN → act, [SE], 1×1 projection → BN.

    The mobile inverted bottleneck of MnasNet (Tan et al., 2019, arXiv:1807.11626, Fig. 7), with
    squeeze-and-excitation in MobileNet v3 (Howard et al., 2019, arXiv:1905.02244, Fig. 4) and EfficientNet
    (Tan & Le, 2019, arXiv:1905.11946, Table 1). Same arguments as :class:`cnncourse.layers.MBConv`:
    no expansion conv when ``expanded_channels == c_in``; ``squeeze_channels=None`` means no SE.
    With ``e`` expanded and ``s`` squeeze channels: ``c_in·e + k²·e + e·c_out`` conv weights,
    ``2e + 2e + 2·c_out`` BN parameters, and SE's ``2·e·s + s + e``. Stochastic depth has no parameters.

    >>> from cnncourse.formulas.efficientnet import efficientnet_mbconv_widths
    >>> expanded, squeeze = efficientnet_mbconv_widths(16, 6)  # EfficientNet-B0's first 16 → 24 block
    >>> mbconv_params(16, 24, expanded, kernel_size=3, squeeze_channels=squeeze)
    6004
    """
    params = conv2d_params(expanded_channels, expanded_channels, kernel_size, groups=expanded_channels)
    params += batchnorm_params(expanded_channels)
    params += conv2d_params(expanded_channels, c_out, 1) + batchnorm_params(c_out)
    if expanded_channels != c_in:
        params += conv2d_params(c_in, expanded_channels, 1) + batchnorm_params(expanded_channels)
    if squeeze_channels is not None:
        params += se_params(expanded_channels, squeeze_channels)
    return params


def mbconv_macs(
    c_in: int,
    c_out: int,
    expanded_channels: int,
    h_in: int,
    w_in: int,
    stride: int = 1,
    kernel_size: int = 3,
    squeeze_channels: int | None = None,
) -> int:
    """Multiply-accumulates of :func:`mbconv_params`'s block on an ``h_in × w_in`` input.

    The inverted residual's (expansion at the input resolution, the rest at the output resolution)
    plus SE's ``2·e·s``.
    """
    h_out, w_out = conv_output_size(h_in, kernel_size, stride), conv_output_size(w_in, kernel_size, stride)
    e = expanded_channels
    macs = conv2d_macs(e, e, kernel_size, h_out, w_out, groups=e)
    macs += conv2d_macs(expanded_channels, c_out, 1, h_out, w_out)
    if expanded_channels != c_in:
        macs += conv2d_macs(c_in, expanded_channels, 1, h_in, w_in)
    if squeeze_channels is not None:
        macs += se_macs(expanded_channels, squeeze_channels)
    return macs


__all__ = ["depthwise_separable_macs", "depthwise_separable_params", "inverted_residual_macs", "inverted_residual_params", "mbconv_macs", "mbconv_params"]
