"""ResNet and Wide ResNet blocks (chapters 01-02): the basic block and the bottleneck."""

from __future__ import annotations

from cnncourse.formulas.basics import batchnorm_params, conv2d_macs, conv2d_params, conv_output_size


def _downsample_needed(c_in: int, c_out: int, stride: int) -> bool:
    return stride != 1 or c_in != c_out


def basic_block_params(inplanes: int, planes: int, stride: int = 1, downsample: bool | None = None) -> int:
    """ResNet's basic block (He et al., 2015, arXiv:1512.03385, Fig. 2 left and Table 1).

    Two 3×3 convs with BN (``9·inplanes·planes + 9·planes² + 4·planes``), plus, when the shape changes
    (``stride != 1`` or ``inplanes != planes``), a 1×1 projection shortcut with BN — option (B) of the
    paper, as torchvision's ``BasicBlock`` does. ``downsample`` overrides that rule (the CIFAR ResNets
    of the paper's Section 4.2 use a parameter-free shortcut, option A: pass ``downsample=False``).

    >>> basic_block_params(64, 64)
    73984
    """
    if downsample is None:
        downsample = _downsample_needed(inplanes, planes, stride)
    main = conv2d_params(inplanes, planes, 3) + batchnorm_params(planes)
    main += conv2d_params(planes, planes, 3) + batchnorm_params(planes)
    shortcut = conv2d_params(inplanes, planes, 1) + batchnorm_params(planes) if downsample else 0
    return main + shortcut


def basic_block_macs(
    inplanes: int, planes: int, h_in: int, w_in: int, stride: int = 1, downsample: bool | None = None
) -> int:
    """Multiply-accumulates of :func:`basic_block_params`'s block on an ``h_in × w_in`` input.

    The stride sits on the first 3×3 conv (and on the projection), so the second conv and the
    projection run at the output resolution.
    """
    if downsample is None:
        downsample = _downsample_needed(inplanes, planes, stride)
    h_out, w_out = conv_output_size(h_in, 3, stride), conv_output_size(w_in, 3, stride)
    macs = conv2d_macs(inplanes, planes, 3, h_out, w_out) + conv2d_macs(planes, planes, 3, h_out, w_out)
    return macs + (conv2d_macs(inplanes, planes, 1, h_out, w_out) if downsample else 0)


def bottleneck_params(
    inplanes: int,
    planes: int,
    stride: int = 1,
    expansion: int = 4,
    width: int | None = None,
    downsample: bool | None = None,
) -> int:
    """ResNet's bottleneck block: 1×1 reduce → 3×3 → 1×1 expand, each with BN, plus the shortcut.

    He et al., 2015, arXiv:1512.03385, Fig. 5 right and Table 1. With ``width`` inner channels
    (``planes`` for ResNet; ``2·planes`` for Wide ResNet-50-2, whose bottleneck is twice as wide) and
    ``planes · expansion`` output channels:
    ``inplanes·width + 9·width² + width·out`` weights, ``2·width + 2·width + 2·out`` BN parameters,
    plus a 1×1 projection with BN (``inplanes·out + 2·out``) when ``stride != 1`` or ``inplanes != out``.

    >>> bottleneck_params(256, 64)  # conv2_x of ResNet-50, no projection
    70400
    """
    width = planes if width is None else width
    out = planes * expansion
    if downsample is None:
        downsample = _downsample_needed(inplanes, out, stride)
    main = conv2d_params(inplanes, width, 1) + conv2d_params(width, width, 3) + conv2d_params(width, out, 1)
    main += 2 * batchnorm_params(width) + batchnorm_params(out)
    shortcut = conv2d_params(inplanes, out, 1) + batchnorm_params(out) if downsample else 0
    return main + shortcut


def bottleneck_macs(
    inplanes: int,
    planes: int,
    h_in: int,
    w_in: int,
    stride: int = 1,
    expansion: int = 4,
    width: int | None = None,
    downsample: bool | None = None,
) -> int:
    """Multiply-accumulates of :func:`bottleneck_params`'s block on an ``h_in × w_in`` input.

    The stride sits on the 3×3 conv, as in torchvision ("ResNet v1.5"; the paper put it on the first
    1×1), so the first 1×1 runs at the input resolution and the rest at the output resolution.
    """
    width = planes if width is None else width
    out = planes * expansion
    if downsample is None:
        downsample = _downsample_needed(inplanes, out, stride)
    h_out, w_out = conv_output_size(h_in, 3, stride), conv_output_size(w_in, 3, stride)
    macs = conv2d_macs(inplanes, width, 1, h_in, w_in)
    macs += conv2d_macs(width, width, 3, h_out, w_out) + conv2d_macs(width, out, 1, h_out, w_out)
    return macs + (conv2d_macs(inplanes, out, 1, h_out, w_out) if downsample else 0)


__all__ = ["basic_block_macs", "basic_block_params", "bottleneck_macs", "bottleneck_params"]
