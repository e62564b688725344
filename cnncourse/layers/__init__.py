"""Building blocks shared by the model families (see each module's docstring for the paper)."""

from cnncourse.layers.activations import HardSigmoid, HardSwish, Swish, hard_sigmoid, hard_swish, swish
from cnncourse.layers.depthwise import DepthwiseSeparableConv
from cnncourse.layers.inverted_residual import InvertedResidual
from cnncourse.layers.mbconv import MBConv, StochasticDepth
from cnncourse.layers.misc import Conv2dNormActivation, make_divisible
from cnncourse.layers.squeeze_excite import SqueezeExcitation, se_params

__all__ = [
    "Conv2dNormActivation",
    "DepthwiseSeparableConv",
    "HardSigmoid",
    "HardSwish",
    "InvertedResidual",
    "MBConv",
    "SqueezeExcitation",
    "StochasticDepth",
    "Swish",
    "hard_sigmoid",
    "hard_swish",
    "make_divisible",
    "se_params",
    "swish",
]
