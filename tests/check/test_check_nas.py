"""Chapter 08 checks: right answers pass, and each classic mistake is rejected with its own message.

The mistakes the course names (issue 15): an invalid genome accepted, a reward with the wrong sign of w, a
selection that keeps the worst; plus the other slips of validity, mutation, crossover, the tournament, the
reward and a NASNet cell's parameter count. The exercise notebooks themselves (solutions pass, exercises say
"not attempted") are checked at the end.
"""

from __future__ import annotations

import contextlib
import io
import math
import random
from pathlib import Path

import nbformat
import pytest
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)

from cnncourse.check import core
from cnncourse.check import nas as checks
from cnncourse.check.core import ExerciseState, Status
from cnncourse.models.aecnn import DenseNetBlockUnit, Genome, PoolingUnit, ResNetBlockUnit
from cnncourse.models.aecnn import mutate as library_mutate
from cnncourse.models.mnasnet import mnasnet_reward as library_reward

ROOT = Path(__file__).resolve().parents[2]


def _convolutional(units: tuple) -> bool:
    return any(isinstance(unit, (ResNetBlockUnit, DenseNetBlockUnit)) for unit in units)


def _pools(genome: Genome) -> int:
    return sum(isinstance(unit, PoolingUnit) for unit in genome.units)


# --------------------------------------------------------------------------- exercise 1: validity


def right_is_valid(genome: Genome, size: int) -> bool:
    return bool(genome.units) and _convolutional(genome.units) and not isinstance(genome.units[0], PoolingUnit) \
        and _pools(genome) <= int(math.log2(size))


def test_validity_right_answer_passes() -> None:
    assert_passed(checks.check_is_valid(right_is_valid))
    assert_passed(checks.check_is_valid(lambda genome, size: not genome.problems(size)))


VALIDITY_SLIPS = {
    "pooling_first": lambda g, s: bool(g.units) and _convolutional(g.units) and _pools(g) <= int(math.log2(s)),
    "empty": lambda g, s: (not g.units) or right_is_valid(g, s),
    "too_many_pools": lambda g, s: bool(g.units) and _convolutional(g.units) and not isinstance(g.units[0], PoolingUnit),
    "at_the_limit": lambda g, s: right_is_valid(g, s) and _pools(g) < int(math.log2(s)),
}


@pytest.mark.parametrize("label", list(VALIDITY_SLIPS))
def test_every_validity_mistake_is_named(label: str) -> None:
    result = checks.check_is_valid(VALIDITY_SLIPS[label])
    assert result.status is Status.FAILED
    assert checks.VALIDITY_MISTAKES[label] in failures(result)


def test_validity_accepting_everything_names_an_invalid_genome_accepted() -> None:
    assert "an invalid genome was accepted" in failures(checks.check_is_valid(lambda genome, size: True))


def test_validity_answer_must_be_a_bool() -> None:
    assert "expected True or False" in failures(checks.check_is_valid(lambda genome, size: "yes"))


def test_validity_stub_is_not_attempted() -> None:
    def stub(genome: Genome, size: int) -> bool:
        raise NotImplementedError()

    assert checks.check_is_valid(stub).status is Status.NOT_ATTEMPTED


# --------------------------------------------------------------------------- exercise 2: mutation


def test_library_mutation_passes() -> None:
    assert_passed(checks.check_mutate(lambda genome, rng: library_mutate(genome, rng)))


def test_mutation_that_puts_pooling_first_is_named() -> None:
    def careless(genome: Genome, rng: random.Random) -> Genome:
        return Genome((PoolingUnit("max"),) + genome.units)

    text = failures(checks.check_mutate(careless))
    assert "is invalid" in text and "put a pooling unit first" in text


def test_mutation_that_adds_a_fifth_pooling_unit_is_named() -> None:
    def careless(genome: Genome, rng: random.Random) -> Genome:
        return Genome(genome.units[:1] + (PoolingUnit("avg"),) + genome.units[1:])

    text = failures(checks.check_mutate(careless))
    assert "already had the most a 28-pixel image allows" in text


def test_mutation_that_removes_the_only_convolution_is_named() -> None:
    def careless(genome: Genome, rng: random.Random) -> Genome:
        return Genome(genome.units[1:]) if len(genome.units) > 1 else genome

    text = failures(checks.check_mutate(careless))
    assert "is invalid" in text


def test_mutation_past_the_length_limit_is_named() -> None:
    def careless(genome: Genome, rng: random.Random) -> Genome:
        return Genome(genome.units + (ResNetBlockUnit(1, 16),))

    text = failures(checks.check_mutate(careless))
    assert "more than the space's max_units" in text or "is invalid" in text


def test_mutation_that_only_modifies_is_named() -> None:
    def modify_only(genome: Genome, rng: random.Random) -> Genome:
        while True:
            child = library_mutate(genome, rng)
            if len(child.units) == len(genome.units):
                return child

    assert "no mutation ever did 'add'" in failures(checks.check_mutate(modify_only))


def test_mutation_that_changes_nothing_is_named() -> None:
    assert "equal their parent" in failures(checks.check_mutate(lambda genome, rng: genome))


def test_mutation_must_return_a_genome() -> None:
    assert "expected a Genome" in failures(checks.check_mutate(lambda genome, rng: list(genome.units)))


# --------------------------------------------------------------------------- exercise 3: crossover


def test_crossover_right_answer_passes() -> None:
    assert_passed(checks.check_crossover(checks.reference_crossover))


@pytest.mark.parametrize("message", list(checks.CROSSOVER_MISTAKES))
def test_every_crossover_mistake_is_caught_and_named(message: str) -> None:
    wrong = checks.CROSSOVER_MISTAKES[message]
    assert any(wrong(*case) != checks.reference_crossover(*case) for case in checks.CROSSOVER_CASES)
    result = checks.check_crossover(wrong)
    assert result.status is Status.FAILED and message in failures(result)


def test_crossover_must_return_two_genomes() -> None:
    assert "a tuple of two Genomes" in failures(checks.check_crossover(lambda a, b, i, j: a))


# --------------------------------------------------------------------------- exercise 4: selection


def test_binary_tournament_right_answer_passes() -> None:
    def right(fitnesses: list[float], rng: random.Random) -> int:
        a, b = rng.randrange(len(fitnesses)), rng.randrange(len(fitnesses))
        return a if fitnesses[a] >= fitnesses[b] else b

    assert_passed(checks.check_binary_tournament(right))


def test_expected_win_shares_are_the_formula() -> None:
    shares = checks.expected_win_shares(checks.TOURNAMENT_FITNESSES)
    assert sorted(shares, reverse=True) == [7 / 16, 5 / 16, 3 / 16, 1 / 16]
    assert math.isclose(sum(shares), 1.0)


def _keeps_worst(fitnesses: list[float], rng: random.Random) -> int:
    a, b = rng.randrange(len(fitnesses)), rng.randrange(len(fitnesses))
    return a if fitnesses[a] <= fitnesses[b] else b


def _always_best(fitnesses: list[float], rng: random.Random) -> int:
    return max(range(len(fitnesses)), key=fitnesses.__getitem__)


def _uniform(fitnesses: list[float], rng: random.Random) -> int:
    return rng.randrange(len(fitnesses))


def _without_replacement(fitnesses: list[float], rng: random.Random) -> int:
    a, b = rng.sample(range(len(fitnesses)), 2)
    return a if fitnesses[a] >= fitnesses[b] else b


@pytest.mark.parametrize("selection, words", [
    (_keeps_worst, "keeps the worst"),
    (_always_best, "the best individual always wins"),
    (_uniform, "no selection pressure"),
    (_without_replacement, "without replacement"),
])
def test_every_selection_mistake_is_named(selection, words: str) -> None:
    result = checks.check_binary_tournament(selection)
    assert result.status is Status.FAILED and words in failures(result)


def test_selection_out_of_range_is_named() -> None:
    assert "not an index" in failures(checks.check_binary_tournament(lambda f, rng: len(f)))


# --------------------------------------------------------------------------- exercise 5: the reward


def test_reward_right_answers_pass() -> None:
    assert_passed(checks.check_mnasnet_reward(library_reward))

    def with_math(accuracy: float, latency: float, target: float, alpha: float = -0.07, beta: float = -0.07) -> float:
        return accuracy * math.pow(latency / target, alpha if latency <= target else beta)

    assert_passed(checks.check_mnasnet_reward(with_math))


@pytest.mark.parametrize("message", list(checks.REWARD_MISTAKES))
def test_every_reward_mistake_is_caught_and_named(message: str) -> None:
    result = checks.check_mnasnet_reward(checks.REWARD_MISTAKES[message])
    assert result.status is Status.FAILED and message in failures(result)


def test_wrong_sign_of_w_is_named_as_such() -> None:
    def positive_w(accuracy: float, latency: float, target: float, alpha: float, beta: float) -> float:
        return accuracy * (latency / target) ** 0.07

    assert "the sign of w is wrong" in failures(checks.check_mnasnet_reward(
        lambda a, lat, t, alpha, beta: a * (lat / t) ** (-(alpha if lat <= t else beta))))
    assert checks.check_mnasnet_reward(positive_w).status is Status.FAILED


# --------------------------------------------------------------------------- exercise 6: a cell's parameters


def test_cell_parameters_reference_passes() -> None:
    assert_passed(checks.check_cell_parameters(checks.reference_cell_parameters))


@pytest.mark.parametrize("message", list(checks.CELL_MISTAKES))
def test_every_cell_counting_mistake_is_caught_and_named(message: str) -> None:
    wrong = checks.CELL_MISTAKES[message]
    assert any(wrong(*case) != checks.reference_cell_parameters(*case) for case in checks.CELL_CASES)
    result = checks.check_cell_parameters(wrong)
    assert result.status is Status.FAILED and message in failures(result)


def _student_cell_parameters(*, previous_adapter: bool = True, strided_identity: bool = True):
    """A student's count written from the exercise text, with one term optionally forgotten."""

    def cell_parameters(spec, current_channels: int, previous_channels: int, channels: int, reduction: bool,
                        previous_is_larger: bool) -> int:
        f = channels
        total = current_channels * f + 2 * f
        if previous_adapter and (previous_is_larger or previous_channels != f):
            total += previous_channels * f + 2 * f
        for block in spec.blocks:
            for source, op in ((block.left_input, block.left_op), (block.right_input, block.right_op)):
                if op.startswith("sep"):
                    total += 2 * (int(op[-1]) ** 2 * f + f * f + 2 * f)
                elif strided_identity and op == "identity" and reduction and source in (0, 1):
                    total += f * f + 2 * f
        return total

    return cell_parameters


def test_student_cell_count_passes() -> None:
    assert_passed(checks.check_cell_parameters(_student_cell_parameters()))


def test_forgotten_previous_adapter_gets_its_own_message() -> None:
    result = checks.check_cell_parameters(_student_cell_parameters(previous_adapter=False))
    assert result.status is Status.FAILED
    text = failures(result)
    assert "the h_{i-1} adapter is missing (h_i's is counted)" in text
    assert "the input adapters are missing" not in text and "2·(k²F + F² + 2F) per sep" not in text


def test_nasnet_a_has_no_strided_identity_so_a_custom_cell_tests_it() -> None:
    from cnncourse.models.nasnet import NASNET_A_REDUCTION_CELL

    def strided_identities(spec) -> int:
        return sum(op == "identity" and source in (0, 1) for block in spec.blocks
                   for source, op in ((block.left_input, block.left_op), (block.right_input, block.right_op)))

    assert strided_identities(NASNET_A_REDUCTION_CELL) == 0
    custom = [case for case in checks.CELL_CASES if case[0] is checks.STRIDED_IDENTITY_CELL]
    assert len(custom) == 1 and custom[0][4] and strided_identities(custom[0][0]) == 1
    forgetful = _student_cell_parameters(strided_identity=False)
    # On NASNet-A's own cells the forgotten term makes no difference; only the custom cell catches it.
    assert all(forgetful(*case) == checks.reference_cell_parameters(*case)
               for case in checks.CELL_CASES if case[0] is not checks.STRIDED_IDENTITY_CELL)
    result = checks.check_cell_parameters(forgetful)
    assert result.status is Status.FAILED
    assert "the identity with stride 2 was counted as free" in failures(result)


# --------------------------------------------------------------------------- the notebooks


def _run(notebook: nbformat.NotebookNode) -> str:
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in [c for c in notebook.cells if c.cell_type == "code"][1:]:
            exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102 — our own notebooks
    return printed.getvalue()


def test_solution_notebook_passes_every_check_with_hidden_tests() -> None:
    printed = _run(nbformat.read(ROOT / "solutions" / "08_nas.ipynb", as_version=4))
    assert "6 of 6 exercises done" in printed and "✗" not in printed, printed
    assert {core.exercise_state(e) for e in checks.CHAPTER.exercises} == {ExerciseState.DONE}
    assert all(any(r.part == "hidden" for r in core.results_for(e)) for e in checks.CHAPTER.exercises)


def test_exercise_notebook_runs_and_reports_not_attempted() -> None:
    notebook = nbformat.read(ROOT / "exercises" / "08_nas.ipynb", as_version=4)
    assert "BEGIN SOLUTION" not in nbformat.writes(notebook)
    printed = _run(notebook)
    assert "0 of 6 exercises done" in printed and printed.count("not attempted yet") == 6, printed
