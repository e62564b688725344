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
from cnncourse.formulas.densenet import (
    dense_block_macs,
    dense_block_out_channels,
    dense_block_params,
    dense_connections,
    dense_layer_input_channels,
    dense_layer_macs,
    dense_layer_params,
    densenet_bc_cifar_config,
    densenet_block_channels,
    densenet_cost,
    transition_macs,
    transition_out_channels,
    transition_params,
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
from cnncourse.formulas.senet import (
    se_elementwise_ops,
    se_macs,
    se_network_params,
    se_paper_params,
    se_params,
    se_squeeze_channels,
    se_stage_params,
)

__all__ = [
    "basic_block_macs",
    "basic_block_params",
    "batchnorm_params",
    "bottleneck_macs",
    "bottleneck_params",
    "conv2d_macs",
    "conv2d_params",
    "conv_output_size",
    "dense_block_macs",
    "dense_block_out_channels",
    "dense_block_params",
    "dense_connections",
    "dense_layer_input_channels",
    "dense_layer_macs",
    "dense_layer_params",
    "densenet_bc_cifar_config",
    "densenet_block_channels",
    "densenet_cost",
    "depthwise_separable_macs",
    "depthwise_separable_params",
    "efficientnet_mbconv_widths",
    "inverted_residual_macs",
    "inverted_residual_params",
    "linear_macs",
    "linear_params",
    "mbconv_macs",
    "mbconv_params",
    "se_elementwise_ops",
    "se_macs",
    "se_network_params",
    "se_paper_params",
    "se_params",
    "se_squeeze_channels",
    "se_stage_params",
    "transition_macs",
    "transition_out_channels",
    "transition_params",
]
