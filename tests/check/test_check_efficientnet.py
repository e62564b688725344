"""Chapter 09 checks: right answers pass, and each classic mistake is rejected with its own message.

The mistakes the course names (issue 16): α and β swapped, the width's square forgotten in the cost factor,
rounding down instead of make_divisible, stochastic depth active at evaluation; plus the other slips of the
scaling rule, the rounding and the block. The exercise notebooks (solutions pass, exercises report
"not attempted") are checked at the end.
"""

from __future__ import annotations

import contextlib
import io
import math
from pathlib import Path

import nbformat
import pytest
import torch
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import Tensor, nn

from cnncourse.check import core
from cnncourse.check import efficientnet as checks
from cnncourse.check.core import ExerciseState, Status
from cnncourse.layers import SqueezeExcitation, StochasticDepth, make_divisible
from cnncourse.layers.misc import Conv2dNormActivation
from cnncourse.models.efficientnet import compound_coefficients, scaled_depth, scaled_width

ROOT = Path(__file__).resolve().parents[2]

# --------------------------------------------------------------------------- exercise 1


def test_compound_scaling_reference_is_the_models() -> None:
    for phi in checks.COMPOUND_CASES:
        c = compound_coefficients(phi)
        assert checks.reference_compound_scaling(phi) == pytest.approx((c.depth, c.width, c.resolution))


def test_compound_scaling_right_answer_passes() -> None:
    assert_passed(checks.check_compound_scaling(lambda p: (1.2**p, 1.1**p, round(224 * 1.15**p))))
    assert_passed(checks.check_compound_scaling(lambda p: [math.exp(p * math.log(1.2)), 1.1**p,
                                                           int(224 * 1.15**p + 0.5)]))


@pytest.mark.parametrize("message", list(checks.COMPOUND_MISTAKES))
def test_every_compound_mistake_is_named(message: str) -> None:
    result = checks.check_compound_scaling(checks.COMPOUND_MISTAKES[message])
    assert result.status is Status.FAILED
    assert message in failures(result)


def test_alpha_beta_swap_is_named_as_the_swap() -> None:
    text = failures(checks.check_compound_scaling(lambda p: (1.1**p, 1.2**p, round(224 * 1.15**p))))
    assert "α and β are swapped" in text


def test_compound_answer_must_be_a_triple() -> None:
    assert "expected a tuple" in failures(checks.check_compound_scaling(lambda p: 1.2**p))


def test_unstarted_compound_is_not_attempted() -> None:
    def stub(phi: float) -> tuple:
        raise NotImplementedError()

    assert checks.check_compound_scaling(stub).status is Status.NOT_ATTEMPTED


# --------------------------------------------------------------------------- exercise 2


def test_cost_factor_right_answer_passes() -> None:
    assert_passed(checks.check_cost_factor(lambda a, b, g, p: (a * b * b * g * g) ** p))


@pytest.mark.parametrize("message", list(checks.COST_MISTAKES))
def test_every_cost_mistake_is_named(message: str) -> None:
    result = checks.check_cost_factor(checks.COST_MISTAKES[message])
    assert result.status is Status.FAILED
    assert message in failures(result)


def test_forgotten_width_square_is_named() -> None:
    text = failures(checks.check_cost_factor(lambda a, b, g, p: (a * b * g**2) ** p))
    assert "the width is not squared" in text


def test_cost_mistakes_differ_from_each_other_on_the_cases() -> None:
    outputs = {m: tuple(f(*c) for c in checks.COST_CASES) for m, f in checks.COST_MISTAKES.items()}
    assert len({tuple(round(v, 9) for v in out) for out in outputs.values()}) == len(outputs)


# --------------------------------------------------------------------------- exercise 3


def test_rounding_references_are_the_builders() -> None:
    for c, w in checks.FILTER_CASES:
        assert checks.reference_round_filters(c, w) == scaled_width(c, w)
    for n, d in checks.REPEAT_CASES:
        assert checks.reference_round_repeats(n, d) == scaled_depth(n, d)


def test_rounding_right_answers_pass() -> None:
    assert_passed(checks.check_rounding(lambda c, w: make_divisible(c * w, 8), lambda n, d: math.ceil(n * d)))


@pytest.mark.parametrize("message", list(checks.FILTER_MISTAKES))
def test_every_filter_mistake_is_named(message: str) -> None:
    result = checks.check_rounding(checks.FILTER_MISTAKES[message], lambda n, d: math.ceil(n * d))
    assert result.status is Status.FAILED
    assert message in failures(result)


@pytest.mark.parametrize("message", list(checks.REPEAT_MISTAKES))
def test_every_repeat_mistake_is_named(message: str) -> None:
    result = checks.check_rounding(lambda c, w: make_divisible(c * w, 8), checks.REPEAT_MISTAKES[message])
    assert result.status is Status.FAILED
    assert message in failures(result)


def test_rounding_down_is_named() -> None:
    text = failures(checks.check_rounding(lambda c, w: max(8, int(c * w) // 8 * 8), lambda n, d: math.ceil(n * d)))
    assert "rounded *down*" in text


# --------------------------------------------------------------------------- exercise 4


class Block(nn.Module):
    """The right answer, with switches for the classic mistakes."""

    def __init__(self, c_in: int, c_out: int, ratio: int, kernel: int, stride: int, p: float, *,
                 act: type = nn.SiLU, gate: type = nn.Sigmoid, squeeze_from_expanded: bool = False,
                 shortcut: bool = True, sd_in_eval: bool = False, sd_whole: bool = False, sd_unscaled: bool = False,
                 no_sd: bool = False) -> None:
        super().__init__()
        expanded = make_divisible(c_in * ratio, 8)
        layers: list[nn.Module] = []
        if expanded != c_in:
            layers.append(Conv2dNormActivation(c_in, expanded, kernel_size=1, activation_layer=act))
        squeeze = make_divisible(expanded / 4, 8) if squeeze_from_expanded else max(1, c_in // 4)
        layers += [Conv2dNormActivation(expanded, expanded, kernel_size=kernel, stride=stride, groups=expanded,
                                        activation_layer=act),
                   SqueezeExcitation(expanded, squeeze, activation=act, gate=gate),
                   Conv2dNormActivation(expanded, c_out, kernel_size=1, activation_layer=None)]
        self.block = nn.Sequential(*layers)
        self.residual = shortcut and stride == 1 and c_in == c_out
        self.p = p
        self.flags = dict(sd_in_eval=sd_in_eval, sd_whole=sd_whole, sd_unscaled=sd_unscaled, no_sd=no_sd)

    def _mask(self, x: Tensor) -> Tensor:
        return torch.empty(x.shape[0], 1, 1, 1).bernoulli_(1 - self.p)

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if not self.residual:
            return out
        active = (self.training or self.flags["sd_in_eval"]) and self.p > 0 and not self.flags["no_sd"]
        if active and self.flags["sd_whole"]:
            return (out + x) * self._mask(x)
        if active:
            mask = self._mask(x)
            out = out * mask if self.flags["sd_unscaled"] else out * mask / (1 - self.p)
        return out + x


def test_block_reference_passes_and_so_does_the_course_layer() -> None:
    assert_passed(checks.check_mbconv(Block))

    class WithLayer(Block):
        def forward(self, x: Tensor) -> Tensor:
            out = self.block(x)
            return StochasticDepth(self.p, "row").train(self.training)(out) + x if self.residual else out

    assert_passed(checks.check_mbconv(WithLayer))


@pytest.mark.parametrize(("flags", "message"), [
    ({"sd_in_eval": True}, "stochastic depth is still active"),
    ({"sd_whole": True}, "you dropped the whole output, shortcut included"),
    ({"sd_unscaled": True}, "kept branches are not scaled"),
    ({"no_sd": True}, "no sample's branch was dropped in training"),
    ({"act": nn.ReLU}, checks.BLOCK_MESSAGES["relu"]),
    ({"gate": nn.Hardsigmoid}, checks.BLOCK_MESSAGES["hardsigmoid"]),
    ({"shortcut": False}, checks.BLOCK_MESSAGES["no_shortcut"]),
    ({"squeeze_from_expanded": True}, "a quarter of the block's *input*"),
])
def test_every_block_mistake_is_named(flags: dict, message: str) -> None:
    class Student(Block):
        def __init__(self, *args: object) -> None:
            super().__init__(*args, **flags)

    result = checks.check_mbconv(Student)
    assert result.status is Status.FAILED
    assert message in failures(result), failures(result)


class SurvivalAsDrop(Block):
    """The mistake Section 5.2's "survival probability 0.8" invites: each branch is *kept* with probability p."""

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        if not self.residual:
            return out
        if self.training and self.p > 0:
            keep = (torch.rand(x.shape[0], 1, 1, 1) < self.p).float()
            out = out * keep / (1 - self.p)
        return out + x


def test_p_used_as_survival_probability_fails() -> None:
    result = checks.check_mbconv(SurvivalAsDrop)
    assert result.status is Status.FAILED
    text = failures(result)
    assert "p is the *drop* probability, not the survival probability" in text, text
    failed = [prop.name for prop in result.properties if not prop.passed]
    # p = 0.5 cannot tell the two apart; p = 0.2 does
    assert failed == ["stochastic depth of MBConvBlock(40, 40, 6, 5, 1, 0.2) in training mode"], failed


def test_p_used_as_survival_probability_and_divided_by_p_fails() -> None:
    class Student(Block):
        def forward(self, x: Tensor) -> Tensor:
            out = self.block(x)
            if self.residual and self.training and self.p > 0:
                out = out * torch.empty(x.shape[0], 1, 1, 1).bernoulli_(self.p) / self.p
            return out + x if self.residual else out

    result = checks.check_mbconv(Student)
    assert result.status is Status.FAILED
    assert "p is the *drop* probability" in failures(result), failures(result)
    assert "kept branches are divided by p = 0.2" in failures(result), failures(result)


def test_correct_drop_but_divided_by_p_is_not_told_it_keeps_with_probability_p() -> None:
    # drops with p (right), divides kept branches by p (wrong): the message must name only the scale
    class Student(Block):
        def forward(self, x: Tensor) -> Tensor:
            out = self.block(x)
            if self.residual and self.training and self.p > 0:
                out = out * torch.empty(x.shape[0], 1, 1, 1).bernoulli_(1 - self.p) / self.p
            return out + x if self.residual else out

    result = checks.check_mbconv(Student)
    assert result.status is Status.FAILED
    failed = [prop.name for prop in result.properties if not prop.passed]
    assert failed == ["stochastic depth of MBConvBlock(40, 40, 6, 5, 1, 0.2) in training mode"], failed
    text = failures(result)
    assert "kept branches are divided by p = 0.2" in text and "divided by the survival probability 1 − p = 0.8" in text
    assert "Your draw is right" in text and "only the scale is wrong" in text, text
    assert "p is the *drop* probability" not in text and "keeps each branch with probability p" not in text, text


@pytest.mark.parametrize("draw", [
    lambda n, p: (torch.rand(n, 1, 1, 1) >= p).float(),
    lambda n, p: (torch.rand(n, 1, 1, 1) < 1 - p).float(),
    lambda n, p: torch.bernoulli(torch.full((n, 1, 1, 1), 1 - p)),
])
def test_other_correct_ways_to_draw_the_mask_pass(draw) -> None:
    class Student(Block):
        def forward(self, x: Tensor) -> Tensor:
            out = self.block(x)
            if self.residual and self.training and self.p > 0:
                out = out * draw(x.shape[0], self.p) / (1 - self.p)
            return out + x if self.residual else out

    assert_passed(checks.check_mbconv(Student))


def test_dropped_fraction_bounds_separate_drop_from_survival() -> None:
    for p in (0.1, 0.2, 0.3):
        low, high = checks.dropped_bounds(p)
        swapped_low, _ = checks.dropped_bounds(1 - p)
        assert 0 < low < checks.SD_BATCH * p < high < swapped_low
    assert checks.SD_BATCH >= 256


def test_activation_after_projection_is_named() -> None:
    class Student(Block):
        def forward(self, x: Tensor) -> Tensor:
            out = torch.nn.functional.silu(self.block(x))
            return out + x if self.residual else out

    assert checks.BLOCK_MESSAGES["activation_after_projection"] in failures(checks.check_mbconv(Student))


def test_block_must_be_a_class() -> None:
    assert "pass the class itself" in failures(checks.check_mbconv(Block(16, 24, 6, 3, 2, 0.0)))


# --------------------------------------------------------------------------- the notebooks


def _run(notebook: nbformat.NotebookNode) -> str:
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in [c for c in notebook.cells if c.cell_type == "code"][1:]:
            exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102 — our own notebooks
    return printed.getvalue()


def test_solution_notebook_passes_every_check_with_hidden_tests() -> None:
    printed = _run(nbformat.read(ROOT / "solutions" / "09_efficientnet.ipynb", as_version=4))
    assert "4 of 4 exercises done" in printed and "✗" not in printed, printed
    assert {core.exercise_state(e) for e in checks.CHAPTER.exercises} == {ExerciseState.DONE}
    assert all(any(r.part == "hidden" for r in core.results_for(e)) for e in checks.CHAPTER.exercises)


def test_exercise_notebook_runs_and_reports_not_attempted() -> None:
    notebook = nbformat.read(ROOT / "exercises" / "09_efficientnet.ipynb", as_version=4)
    assert "BEGIN SOLUTION" not in nbformat.writes(notebook)
    printed = _run(notebook)
    assert "0 of 4 exercises done" in printed and printed.count("not attempted yet") == 4, printed
