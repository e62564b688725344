"""Chapter 07 checks: right answers pass, and each classic mistake is rejected with its own message.

The mistakes the course names (issue 14): h-swish / h-sigmoid with the wrong constants, h-sigmoid where
h-swish belongs, SE squeezed from the wrong width (the block's input instead of make_divisible(expanded/4, 8)),
a sigmoid gate instead of the hard-sigmoid; plus the block's other slips and NetAdapt's selection rule.
The exercise notebooks themselves (solutions pass, exercises report "not attempted") are checked at the end.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import core
from cnncourse.check import mobilenet_v3 as checks
from cnncourse.check.core import ExerciseState, Status
from cnncourse.layers import SqueezeExcitation, make_divisible
from cnncourse.layers.misc import Conv2dNormActivation
from cnncourse.models.mobilenet import mobilenet_v3_large, mobilenet_v3_small

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- exercise 1


def right_sigmoid(x: Tensor) -> Tensor:
    return F.relu6(x + 3) / 6


def right_swish(x: Tensor) -> Tensor:
    return x * F.relu6(x + 3) / 6


def test_hard_activations_right_answers_pass_clamp_form_too() -> None:
    assert_passed(checks.check_hard_activations(right_sigmoid, right_swish))
    assert_passed(checks.check_hard_activations(lambda x: torch.clamp(x / 6 + 0.5, 0, 1),
                                                lambda x: x * torch.clamp(x + 3, 0, 6) / 6))


@pytest.mark.parametrize("key", list(checks.HARD_SIGMOID_MISTAKES))
def test_every_hard_sigmoid_mistake_is_named(key: str) -> None:
    result = checks.check_hard_activations(checks.HARD_SIGMOID_MISTAKES[key], right_swish)
    assert result.status is Status.FAILED
    assert checks.HARD_SIGMOID_MESSAGES[key] in failures(result)


@pytest.mark.parametrize("key", list(checks.HARD_SWISH_MISTAKES))
def test_every_hard_swish_mistake_is_named(key: str) -> None:
    result = checks.check_hard_activations(right_sigmoid, checks.HARD_SWISH_MISTAKES[key])
    assert result.status is Status.FAILED
    assert checks.HARD_SWISH_MESSAGES[key] in failures(result)


def test_the_named_mistakes_differ_from_the_truth_and_from_each_other_on_the_grid() -> None:
    grid = checks.ACTIVATION_GRID
    for truth, mistakes in [(F.hardsigmoid, checks.HARD_SIGMOID_MISTAKES), (F.hardswish, checks.HARD_SWISH_MISTAKES)]:
        outputs = {key: formula(grid) for key, formula in mistakes.items()}
        for key, output in outputs.items():
            assert not torch.allclose(output, truth(grid), atol=1e-4), key
        keys = list(outputs)
        for i, first in enumerate(keys):
            for second in keys[i + 1:]:
                assert not torch.allclose(outputs[first], outputs[second], atol=1e-4), (first, second)


def test_h_sigmoid_where_h_swish_belongs_is_named_in_both_directions() -> None:
    swapped = checks.check_hard_activations(right_swish, right_sigmoid)
    text = failures(swapped)
    assert "which is h-swish" in text and "h-sigmoid is where h-swish belongs" in text


def test_in_place_detached_and_built_on_a_wrong_sigmoid() -> None:
    def in_place(x: Tensor) -> Tensor:
        return F.relu6(x.add_(3)) / 6

    assert "changed its input in place" in failures(checks.check_hard_activations(in_place, right_swish))
    detached = checks.check_hard_activations(lambda x: (F.relu6(x + 3) / 6).detach(), right_swish)
    assert "no gradient flows back" in failures(detached)

    def odd_sigmoid(x: Tensor) -> Tensor:
        return F.relu6(x + 2) / 6

    def swish_on_it(x: Tensor) -> Tensor:
        return x * odd_sigmoid(x)

    text = failures(checks.check_hard_activations(odd_sigmoid, swish_on_it))
    assert "your hard_sigmoid is wrong: fix it first" in text


def test_a_stub_is_not_attempted() -> None:
    def stub(x: Tensor) -> Tensor:
        raise NotImplementedError

    assert checks.check_hard_activations(stub, stub).status is Status.NOT_ATTEMPTED


# --------------------------------------------------------------------------- exercise 2


def test_squeeze_width_truth_is_what_the_models_build() -> None:
    for network in (mobilenet_v3_large(), mobilenet_v3_small(), mobilenet_v3_large(width_mult=0.75)):
        for block in network.features:
            for layer in getattr(block, "block", []):
                if isinstance(layer, SqueezeExcitation):
                    assert layer.fc1.out_channels == checks.reference_squeeze_width(
                        block.in_channels, block.expanded_channels)
    cases = {(24, 72), (40, 120), (80, 480), (112, 672), (160, 960), (16, 16), (48, 144), (96, 576)}
    assert set(checks.SQUEEZE_WIDTH_CASES) == cases


def test_squeeze_width_right_answer_passes_and_every_mistake_is_named() -> None:
    assert_passed(checks.check_se_squeeze_width(lambda c, e: make_divisible(e / 4, 8)))
    for message, formula in checks.SQUEEZE_WIDTH_MISTAKES.items():
        result = checks.check_se_squeeze_width(formula)
        assert result.status is Status.FAILED
        assert message in failures(result), message
    floats = checks.check_se_squeeze_width(lambda c, e: e / 4)
    assert "returned the float" in failures(floats)


def test_the_squeeze_width_cases_tell_every_mistake_apart() -> None:
    formulas = list(checks.SQUEEZE_WIDTH_MISTAKES.values())
    answers = [tuple(f(*case) for case in checks.SQUEEZE_WIDTH_CASES) for f in formulas]
    truth = tuple(checks.reference_squeeze_width(*case) for case in checks.SQUEEZE_WIDTH_CASES)
    assert truth not in answers and len(set(answers)) == len(answers)


# --------------------------------------------------------------------------- exercise 3


class Bneck(nn.Module):
    """A right answer, and the base of the wrong ones below (class attributes switch one thing)."""

    gate: type[nn.Module] = nn.Hardsigmoid
    shortcut = True
    after_projection: type[nn.Module] | None = None
    se_first = False

    @staticmethod
    def width(in_channels: int, expanded: int) -> int:
        return make_divisible(expanded / 4, 8)

    def activation(self, name: str) -> type[nn.Module]:
        return {"RE": nn.ReLU, "HS": nn.Hardswish}[name]

    def __init__(self, in_channels: int, expanded: int, out_channels: int, kernel: int, stride: int,
                 use_se: bool, activation: str) -> None:
        super().__init__()
        act = self.activation(activation)
        self.use_shortcut = self.shortcut and stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(Conv2dNormActivation(in_channels, expanded, 1, activation_layer=act))
        depthwise = Conv2dNormActivation(expanded, expanded, kernel, stride, groups=expanded, activation_layer=act)
        se = [SqueezeExcitation(expanded, self.width(in_channels, expanded), gate=self.gate)] if use_se else []
        layers += se + [depthwise] if self.se_first else [depthwise] + se
        layers.append(Conv2dNormActivation(expanded, out_channels, 1, activation_layer=self.after_projection))
        self.block = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return x + out if self.use_shortcut else out


class SigmoidGate(Bneck):
    gate = nn.Sigmoid


class HardswishGate(Bneck):
    gate = nn.Hardswish


class InputWidth(Bneck):
    @staticmethod
    def width(in_channels: int, expanded: int) -> int:
        return make_divisible(in_channels / 4, 8)


class SENetWidth(Bneck):
    @staticmethod
    def width(in_channels: int, expanded: int) -> int:
        return make_divisible(expanded / 16, 8)


class NoShortcut(Bneck):
    shortcut = False


class ReluAfterProjection(Bneck):
    after_projection = nn.ReLU


class SEBeforeDepthwise(Bneck):
    se_first = True


class AlwaysReLU(Bneck):
    def activation(self, name: str) -> type[nn.Module]:
        return nn.ReLU


class HardsigmoidActivation(Bneck):
    def activation(self, name: str) -> type[nn.Module]:
        return nn.Hardsigmoid if name == "HS" else nn.ReLU


class TensorFlowEps(Bneck):
    """MobileNet v3's TensorFlow BatchNorm eps (0.001) is not a mistake: the check compares fairly."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        for module in self.modules():
            if isinstance(module, nn.BatchNorm2d):
                module.eps = 0.001


def test_bneck_right_answer_passes_and_equals_the_models_blocks() -> None:
    assert_passed(checks.check_bneck(Bneck))
    assert_passed(checks.check_bneck(TensorFlowEps))
    reference = checks.reference_bneck((24, 72, 40, 5, 2, True, "RE"))
    model_block = mobilenet_v3_large().features[4]
    assert [t.shape for t in reference.state_dict().values()] == [t.shape for t in model_block.state_dict().values()]


@pytest.mark.parametrize(
    ("block_class", "message"),
    [
        (SigmoidGate, "your SE gate is the smooth sigmoid"),
        (HardswishGate, "h-swish is where h-sigmoid belongs"),
        (InputWidth, "squeezed from the block's input"),
        (SENetWidth, "SENet's C/16"),
        (NoShortcut, "the shortcut is missing"),
        (ReluAfterProjection, "an activation (ReLU) after the projection"),
        (SEBeforeDepthwise, "acts before the depthwise convolution"),
        (AlwaysReLU, "the block uses ReLU where its row says HS"),
        (HardsigmoidActivation, "h-sigmoid is where h-swish belongs"),
    ],
)
def test_each_bneck_mistake_is_named(block_class: type, message: str) -> None:
    result = checks.check_bneck(block_class)
    assert result.status is Status.FAILED
    assert message in failures(result)


def test_bneck_uses_exercise_2_and_names_it_as_the_cause() -> None:
    namespace: dict[str, object] = {"make_divisible": make_divisible, "nn": nn, "Bneck": Bneck}
    exec(  # noqa: S102 — a student's notebook: the block calls a wrong se_squeeze_width of exercise 2
        "def se_squeeze_width(c, e):\n    return make_divisible(c / 4, 8)\n"
        "class Student(Bneck):\n    def width(self, c, e):\n        return se_squeeze_width(c, e)\n",
        namespace,
    )
    text = failures(checks.check_bneck(namespace["Student"]))
    assert "calls se_squeeze_width from exercise 2" in text


# --------------------------------------------------------------------------- exercise 4


def test_netadapt_rule_passes_and_every_wrong_rule_is_caught_and_named() -> None:
    assert_passed(checks.check_netadapt_choice(checks.reference_netadapt_choice))
    for message, rule in checks.NETADAPT_MISTAKES.items():
        answers = [rule(*case) for case in checks.NETADAPT_CASES]
        truth = [checks.reference_netadapt_choice(*case) for case in checks.NETADAPT_CASES]
        assert answers != truth, message  # some case catches it
        result = checks.check_netadapt_choice(rule)
        assert message in failures(result), message


def test_netadapt_reference_is_the_papers_criterion() -> None:
    # Section 4.2: maximise ΔAcc / |ΔLatency| among the proposals that cut the latency by at least δ.
    proposals = (("tiny", -0.01, -0.2), ("steep", -1.0, -2.0), ("good", -0.2, -2.0))
    assert checks.reference_netadapt_choice(proposals, 0.1) == "tiny"  # −0.05 per ms is the best slope
    assert checks.reference_netadapt_choice(proposals, 0.5) == "good"  # "tiny" cuts less than δ


def test_netadapt_answer_must_be_a_name() -> None:
    result = checks.check_netadapt_choice(lambda ps, d: 1)
    assert "return the proposal's name" in failures(result)


# --------------------------------------------------------------------------- the notebooks


def _run(notebook: nbformat.NotebookNode) -> str:
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in [c for c in notebook.cells if c.cell_type == "code"][1:]:
            exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102 — our own notebooks
    return printed.getvalue()


def test_solution_notebook_passes_every_check_with_hidden_tests() -> None:
    printed = _run(nbformat.read(ROOT / "solutions" / "07_mobilenet_v3.ipynb", as_version=4))
    assert "4 of 4 exercises done" in printed and "✗" not in printed, printed
    assert {core.exercise_state(e) for e in checks.CHAPTER.exercises} == {ExerciseState.DONE}
    assert all(any(r.part == "hidden" for r in core.results_for(e)) for e in checks.CHAPTER.exercises)


def test_exercise_notebook_runs_and_reports_not_attempted() -> None:
    notebook = nbformat.read(ROOT / "exercises" / "07_mobilenet_v3.ipynb", as_version=4)
    assert "BEGIN SOLUTION" not in nbformat.writes(notebook)
    printed = _run(notebook)
    assert "0 of 4 exercises done" in printed and printed.count("not attempted yet") == 4, printed
