"""Building blocks shared by the model families (see each module's docstring for the paper)."""

from cnncourse.layers.misc import Conv2dNormActivation, make_divisible
from cnncourse.layers.squeeze_excite import SqueezeExcitation, se_params

__all__ = ["Conv2dNormActivation", "SqueezeExcitation", "make_divisible", "se_params"]
