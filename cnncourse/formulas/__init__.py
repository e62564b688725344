"""Closed-form parameter and multiply-add counts, one module per family, beside its model's name.

Every chapter has a "count it" section: parameters and multiply-adds by formula, then measured with
:mod:`cnncourse.profile`, and the two agree (``tests/test_block_formulas.py``). A chapter adds its block's
formula to its family's module here (``resnet``, ``senet``, ``densenet``, ``mobilenet``, ``efficientnet``)
and re-exports it below; :mod:`cnncourse.profile` re-exports the same names, so older notebooks keep working.

Conventions: parameters include BatchNorm's weight and bias (2 per channel; running mean and variance are
buffers, not parameters). MACs count convolutions and linear layers only, without bias, exactly what
:func:`cnncourse.profile.count_macs` measures; a convolution's MACs are computed at its OUTPUT resolution.
"""

from __future__ import annotations

from cnncourse.formulas.basics import (
    batchnorm_params,
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    linear_macs,
    linear_params,
)
from cnncourse.formulas.efficientnet import efficientnet_mbconv_widths
from cnncourse.formulas.mobilenet import (
    depthwise_separable_macs,
    depthwise_separable_params,
    inverted_residual_macs,
    inverted_residual_params,
    mbconv_macs,
    mbconv_params,
)
from cnncourse.formulas.resnet import basic_block_macs, basic_block_params, bottleneck_macs, bottleneck_params
from cnncourse.formulas.senet import se_macs, se_params

__all__ = [
    "basic_block_macs",
    "basic_block_params",
    "batchnorm_params",
    "bottleneck_macs",
    "bottleneck_params",
    "conv2d_macs",
    "conv2d_params",
    "conv_output_size",
    "depthwise_separable_macs",
    "depthwise_separable_params",
    "efficientnet_mbconv_widths",
    "inverted_residual_macs",
    "inverted_residual_params",
    "linear_macs",
    "linear_params",
    "mbconv_macs",
    "mbconv_params",
    "se_macs",
    "se_params",
]
