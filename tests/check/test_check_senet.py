"""Chapter 03 checks: right answers pass, and each classic mistake is rejected with its own message.

The mistakes the course names (issue 13): a spatial instead of a channel gate, softmax instead of sigmoid,
the reduction applied to the wrong width; plus SE at the paper's other positions (Section 6.5).
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import senet as checks
from cnncourse.check.blocks import SE_PER_PIXEL
from cnncourse.check.core import Status
from cnncourse.layers import SqueezeExcitation, se_params
from cnncourse.models import create_model
from cnncourse.models.resnet import Bottleneck
from cnncourse.models.senet import SEBottleneck

# --------------------------------------------------------------------------- exercise 1


def se_count(channels: int, reduction: int) -> int:
    width = max(1, channels // reduction)
    return channels * width + width + width * channels + channels


def test_se_parameters_right_formula_passes_and_mistakes_are_named() -> None:
    assert_passed(checks.check_se_parameters(se_count))
    no_bias = checks.check_se_parameters(lambda c, r: 2 * c * (c // r))
    assert "the biases are missing" in failures(no_bias)
    times_r = checks.check_se_parameters(lambda c, r: se_params(c, c * r))
    assert "you multiplied by r" in failures(times_r)
    as_float = checks.check_se_parameters(lambda c, r: 2 * c * c / r + c / r + c)
    assert "returned the float" in failures(as_float)


def test_ground_truth_is_the_reference_module_and_the_paper_table() -> None:
    # Paper Table 1, conv2_x of SE-ResNet-50: fc [16, 256], i.e. 256·16 + 16 + 16·256 + 256.
    assert checks.measured_se_parameters(256, 16) == 8_464
    assert checks.measured_se_parameters(16, 16) == 49  # width at least 1 (SE-ResNet-20's first stage)


# --------------------------------------------------------------------------- exercise 2


class LinearSE(nn.Module):
    """A correct SE module written with nn.Linear and torch functions, as a student might."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(channels, squeeze_channels)
        self.fc2 = nn.Linear(squeeze_channels, channels)

    def logits(self, pooled: Tensor) -> Tensor:
        return self.fc2(F.relu(self.fc1(pooled)))

    def forward(self, x: Tensor) -> Tensor:
        weights = torch.sigmoid(self.logits(x.mean(dim=(2, 3))))
        return x * weights[:, :, None, None]


class SpatialGate(SqueezeExcitation):
    """Excites every pixel, then averages over the channels: an (N, 1, H, W) spatial mask."""

    def forward(self, x: Tensor) -> Tensor:
        mask = torch.sigmoid(self.fc2(F.relu(self.fc1(x)))).mean(dim=1, keepdim=True)
        return x * mask


class NoPooling(SqueezeExcitation):
    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x))))


class SoftmaxGate(SqueezeExcitation):
    def forward(self, x: Tensor) -> Tensor:
        return x * torch.softmax(self.fc2(F.relu(self.fc1(self.avgpool(x)))), dim=1)


class SoftmaxOverTheMap(SqueezeExcitation):
    def forward(self, x: Tensor) -> Tensor:
        return x * torch.softmax(self.fc2(F.relu(self.fc1(self.avgpool(x)))), dim=-1)


class NoGate(SqueezeExcitation):
    def forward(self, x: Tensor) -> Tensor:
        return x * self.fc2(F.relu(self.fc1(self.avgpool(x))))


class MaxSqueeze(SqueezeExcitation):
    def forward(self, x: Tensor) -> Tensor:
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(x.amax(dim=(2, 3), keepdim=True)))))


class PoolsOverTheBatch(SqueezeExcitation):
    def forward(self, x: Tensor) -> Tensor:
        pooled = x.mean(dim=(0, 2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(pooled))))


class NoBiasSE(SqueezeExcitation):
    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__(channels, squeeze_channels)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1, bias=False)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1, bias=False)


class DividesAgain(SqueezeExcitation):
    """Treats squeeze_channels as r: the width becomes channels // squeeze_channels."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__(channels, channels // squeeze_channels)


def test_reference_and_a_linear_layer_version_pass() -> None:
    assert_passed(checks.check_squeeze_excitation(SqueezeExcitation))
    assert_passed(checks.check_squeeze_excitation(LinearSE))


def test_a_spatial_gate_is_named_as_spatial() -> None:
    result = checks.check_squeeze_excitation(SpatialGate)
    assert result.status is Status.FAILED
    assert checks.SE_SPATIAL_GATE in failures(result)


def test_a_gate_without_global_pooling_is_named_as_per_pixel() -> None:
    result = checks.check_squeeze_excitation(NoPooling)
    assert SE_PER_PIXEL in failures(result)
    assert checks.SE_SPATIAL_GATE not in failures(result)


def test_softmax_instead_of_sigmoid_is_named() -> None:
    result = checks.check_squeeze_excitation(SoftmaxGate)
    assert result.status is Status.FAILED
    assert checks.SOFTMAX_INSTEAD_OF_SIGMOID in failures(result)
    over_the_map = checks.check_squeeze_excitation(SoftmaxOverTheMap)
    assert "a softmax over a dimension of size 1" in failures(over_the_map)


def test_missing_sigmoid_max_squeeze_and_batch_pooling_are_named() -> None:
    assert "end the excitation with a sigmoid" in failures(checks.check_squeeze_excitation(NoGate))
    assert "squeeze with the maximum" in failures(checks.check_squeeze_excitation(MaxSqueeze))
    assert "not over the batch" in failures(checks.check_squeeze_excitation(PoolsOverTheBatch))


def test_missing_biases_and_a_width_divided_twice_are_named() -> None:
    assert "the biases are missing" in failures(checks.check_squeeze_excitation(NoBiasSE))
    twice = failures(checks.check_squeeze_excitation(DividesAgain))
    assert "squeeze_channels (6) already is the width C/r" in twice


def test_not_attempted_module_is_reported_as_such(capsys: pytest.CaptureFixture[str]) -> None:
    class Stub(nn.Module):
        def __init__(self, channels: int, squeeze_channels: int) -> None:
            super().__init__()
            raise NotImplementedError()

    assert checks.check_squeeze_excitation(Stub).status is Status.NOT_ATTEMPTED
    assert "Traceback" not in capsys.readouterr().out


# --------------------------------------------------------------------------- exercise 3

PLANES, BLOCKS = (64, 128, 256, 512), (3, 4, 6, 3)


def extra(reduction: int, *, width_from_planes: bool = False, per_stage: bool = False) -> int:
    total = 0
    for planes, blocks in zip(PLANES, BLOCKS):
        channels = 4 * planes
        width = max(1, (planes if width_from_planes else channels) // reduction)
        total += (2 * channels * width + width + channels) * (1 if per_stage else blocks)
    return total


def test_se_resnet50_extra_parameters_match_the_whole_models() -> None:
    # What SE adds, measured on the two complete networks: 28,088,024 (timm's seresnet50) − 25,557,032.
    with torch.device("meta"):
        resnet50 = sum(p.numel() for p in create_model("resnet50").parameters())
        se_resnet50 = sum(p.numel() for p in create_model("se_resnet50").parameters())
    assert resnet50 == checks.RESNET50_PARAMETERS
    assert checks.measured_se_resnet50_extra_parameters(16) == se_resnet50 - resnet50 == 2_530_992


def test_se_resnet50_extra_right_answer_passes_and_the_wrong_width_is_named() -> None:
    assert_passed(checks.check_se_resnet50_extra_parameters(extra))
    planes = checks.check_se_resnet50_extra_parameters(lambda r: extra(r, width_from_planes=True))
    assert "reduction applied to the wrong width" in failures(planes)
    per_stage = checks.check_se_resnet50_extra_parameters(lambda r: extra(r, per_stage=True))
    assert "one SE block per stage" in failures(per_stage)


def notebook(*cells: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    for cell in cells:
        exec(cell, namespace)  # noqa: S102 — the test's own answer code, as a notebook cell runs it
    return namespace


SE_PARAMETERS_STUB = "def se_parameters(channels, reduction):\n    raise NotImplementedError()\n"
SE_PARAMETERS_NO_BIAS = (
    "def se_parameters(channels, reduction):\n    return 2 * channels * (channels // reduction)\n"
)
EXTRA_FROM_EXERCISE_1 = """
def se_resnet50_extra_parameters(reduction):
    return sum(blocks * se_parameters(4 * planes, reduction)
               for planes, blocks in zip((64, 128, 256, 512), (3, 4, 6, 3)))
"""


def test_exercise_3_names_exercise_1_as_the_cause() -> None:
    stub = notebook(SE_PARAMETERS_STUB, EXTRA_FROM_EXERCISE_1)["se_resnet50_extra_parameters"]
    result = checks.check_se_resnet50_extra_parameters(stub)
    assert result.status is Status.FAILED
    assert "calls se_parameters from exercise 1, which is still the stub" in failures(result)
    wrong = notebook(SE_PARAMETERS_NO_BIAS, EXTRA_FROM_EXERCISE_1)["se_resnet50_extra_parameters"]
    assert "exercise 1 (Parameters of an SE block) is the likely cause" in failures(
        checks.check_se_resnet50_extra_parameters(wrong)
    )


# --------------------------------------------------------------------------- exercise 4


class StudentSEBottleneck(Bottleneck):
    """A correct SE bottleneck written the way the notebook asks (subclass of the chapter 01 block)."""

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
        reduction: int = 16,
    ) -> None:
        super().__init__(inplanes, planes, stride, downsample)
        channels = planes * self.expansion
        self.se = SqueezeExcitation(channels, channels // reduction)

    def shortcut(self, x: Tensor) -> Tensor:
        return x if self.downsample is None else self.downsample(x)

    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.se(self.residual(x)) + self.shortcut(x))


class SEPost(StudentSEBottleneck):
    def forward(self, x: Tensor) -> Tensor:
        return self.se(F.relu(self.residual(x) + self.shortcut(x)))


class SEAfterAddition(StudentSEBottleneck):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.se(self.residual(x) + self.shortcut(x)))


class SEIdentity(StudentSEBottleneck):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.residual(x) + self.se(self.shortcut(x)))


class SEPre(StudentSEBottleneck):
    def forward(self, x: Tensor) -> Tensor:
        return F.relu(self.residual(self.se(x)) + self.shortcut(x))


class WidthFromPlanes(StudentSEBottleneck):
    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 reduction: int = 16) -> None:
        super().__init__(inplanes, planes, stride, downsample, reduction)
        self.se = SqueezeExcitation(planes * self.expansion, planes // reduction)


class WidthFromInput(StudentSEBottleneck):
    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 reduction: int = 16) -> None:
        super().__init__(inplanes, planes, stride, downsample, reduction)
        self.se = SqueezeExcitation(planes * self.expansion, inplanes // reduction)


def test_reference_and_a_student_style_se_bottleneck_pass() -> None:
    assert_passed(checks.check_se_bottleneck(SEBottleneck))
    assert_passed(checks.check_se_bottleneck(StudentSEBottleneck))


def test_se_after_the_addition_is_named_and_breaks_the_identity_path() -> None:
    post = failures(checks.check_se_bottleneck(SEPost))
    assert "the paper's SE-POST variant" in post
    assert "returns x/2" in post
    after_addition = failures(checks.check_se_bottleneck(SEAfterAddition))
    assert "on the sum F(x) + shortcut, before the final ReLU" in after_addition


def test_se_on_the_shortcut_or_before_the_branch_is_named() -> None:
    assert "the paper's SE-Identity variant" in failures(checks.check_se_bottleneck(SEIdentity))
    assert "the paper's SE-PRE variant" in failures(checks.check_se_bottleneck(SEPre))


def test_reduction_applied_to_the_wrong_width_is_named() -> None:
    planes = failures(checks.check_se_bottleneck(WidthFromPlanes))
    assert "2 wide = planes / r = 32 // 16, the inner width" in planes
    assert "its width is C/r = 128 // 16 = 8" in planes
    assert "the block's input" in failures(checks.check_se_bottleneck(WidthFromInput))


SE_CLASS_STUB = """
import torch.nn as nn
class SqueezeExcitation(nn.Module):
    def __init__(self, channels, squeeze_channels):
        super().__init__()
        raise NotImplementedError()
"""
SE_BOTTLENECK_USING_IT = """
import torch.nn.functional as F
from cnncourse.models.resnet import Bottleneck
class SEBottleneck(Bottleneck):
    def __init__(self, inplanes, planes, stride=1, downsample=None, reduction=16):
        super().__init__(inplanes, planes, stride, downsample)
        self.se = SqueezeExcitation(4 * planes, 4 * planes // reduction)
    def forward(self, x):
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(self.se(self.residual(x)) + shortcut)
"""
SE_BOTTLENECK_STUB = """
from cnncourse.models.resnet import Bottleneck
class SEBottleneck(Bottleneck):
    def __init__(self, inplanes, planes, stride=1, downsample=None, reduction=16):
        super().__init__(inplanes, planes, stride, downsample)
        raise NotImplementedError()
"""


def test_a_stubbed_exercise_2_is_named_not_reported_as_this_ones_stub() -> None:
    block = notebook(SE_CLASS_STUB, SE_BOTTLENECK_USING_IT)["SEBottleneck"]
    result = checks.check_se_bottleneck(block)
    assert result.status is Status.FAILED
    assert "calls SqueezeExcitation from exercise 2, which is still the stub" in failures(result)
    both_stubs = notebook(SE_CLASS_STUB, SE_BOTTLENECK_STUB)["SEBottleneck"]
    assert checks.check_se_bottleneck(both_stubs).status is Status.NOT_ATTEMPTED


def test_a_wrong_exercise_2_is_named_as_the_likely_cause() -> None:
    wrong_se = "from cnncourse.layers import SqueezeExcitation as _SE\n" + (
        "class SqueezeExcitation(_SE):\n"
        "    def forward(self, x):\n"
        "        import torch\n"
        "        return x * torch.softmax(self.fc2(self.activation(self.fc1(self.avgpool(x)))), dim=1)\n"
    )
    block = notebook(wrong_se, SE_BOTTLENECK_USING_IT)["SEBottleneck"]
    result = checks.check_se_bottleneck(block)
    assert "exercise 2 (Squeeze-and-excitation module) is the likely cause" in failures(result)
