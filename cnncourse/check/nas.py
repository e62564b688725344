"""Checks for the exercises of chapter 08, neural architecture search.

The references are the course's own implementations: :meth:`cnncourse.models.aecnn.Genome.problems` (validity:
a convolutional unit, no pooling unit first, at most ⌊log₂ size⌋ pooling units), the one-point crossover of
:func:`cnncourse.models.aecnn.crossover` (A + B, C + D → A + D, C + B; AE-CNN, arXiv:1810.11875, Section III),
the binary tournament of :func:`cnncourse.models.aecnn.tournament_select` (two draws with replacement, the fitter
wins), :func:`cnncourse.models.mnasnet.mnasnet_reward` (ACC·[LAT/T]^w, w = α if LAT ≤ T else β;
arXiv:1807.11626, eq. 2) and the parameter count PyTorch gives a :class:`cnncourse.models.nasnet.NasNetACell`.

The checks test behaviour, and a ✗ names the classic mistake it recognises:

* validity: an **invalid genome accepted** — pooling first, pooling only, more pooling units than the
  image survives, the empty genome — or a valid one rejected (the pooling limit off by one);
* mutation: a child that is **invalid** (which rule it breaks is named), longer than the space allows, equal
  to its parent, or an operator that never adds, never removes or never modifies;
* crossover: the **heads joined** (A + C), the **children in the other order**, a unit lost or duplicated at
  the cut (off by one), the parents returned;
* selection: a tournament that **keeps the worst**, one that always returns the best (no tournament at all),
  one that picks at random (no selection), or two draws without replacement — read from how often each
  individual wins;
* MnasNet's reward: the **wrong sign of w** (a slower model rewarded; the ratio turned upside down, T/LAT, is
  the same mistake), α and β swapped, β used on both sides, a sum instead of a product, w as a factor;
* a cell's parameters: the separable convolution counted once instead of twice, BatchNorm forgotten, the
  depthwise convolution counted as a full one, the input adapters forgotten (both, or only h_{i-1}'s), the
  strided identity counted as free (tested on a made-up reduction cell: NASNet-A's has no such edge).

The exercises (notebook ``solutions/08_nas.ipynb``):

1. ``is_valid`` — does a genome encode a network for this image size;
2. ``mutate`` — a mutation whose child is always valid;
3. ``crossover`` — one-point crossover at given cuts;
4. ``binary_tournament`` — AE-CNN's parent selection;
5. ``mnasnet_reward`` — MnasNet's multi-objective reward;
6. ``cell_parameters`` — the parameters of a NASNet cell.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence

from cnncourse.check.core import Chapter, Checker, EarlierAnswer, Exercise, ExerciseResult, check_and_report
from cnncourse.check.probes import count_parameters
from cnncourse.check.steps import check_cases, integer_answer
from cnncourse.models.aecnn import (
    CPU_SEARCH_SPACE,
    DenseNetBlockUnit,
    Genome,
    PoolingUnit,
    ResNetBlockUnit,
    max_pooling_units,
)
from cnncourse.models.mnasnet import mnasnet_reward as reference_mnasnet_reward
from cnncourse.models.nasnet import (
    H_CURRENT,
    H_PREVIOUS,
    NASNET_A_NORMAL_CELL,
    NASNET_A_REDUCTION_CELL,
    CellBlock,
    CellSpec,
    NasNetACell,
)

CHAPTER_NAME = "08_nas"


def _exercise(number: int, grade_id: str, title_ja: str, title_en: str, points: float) -> Exercise:
    return Exercise(CHAPTER_NAME, number, grade_id, title_ja, title_en, points)


VALIDITY = _exercise(1, "nas_is_valid", "ゲノムの妥当性", "A valid genome", 1)
MUTATION = _exercise(2, "nas_mutate", "妥当性を保つ突然変異", "A mutation that keeps genomes valid", 2)
CROSSOVER = _exercise(3, "nas_crossover", "一点交叉", "One-point crossover", 1)
TOURNAMENT = _exercise(4, "nas_binary_tournament", "バイナリトーナメント選択", "Binary tournament selection", 1)
REWARD = _exercise(5, "nas_mnasnet_reward", "MnasNet の報酬", "MnasNet's reward", 2)
CELL_PARAMETERS = _exercise(6, "nas_cell_parameters", "セルのパラメータ数", "A cell's parameters", 2)

CHAPTER = Chapter(
    CHAPTER_NAME,
    "第8章 ニューラルアーキテクチャ探索",
    "Chapter 08 Neural architecture search",
    (VALIDITY, MUTATION, CROSSOVER, TOURNAMENT, REWARD, CELL_PARAMETERS),
)


def summary() -> None:
    """Print "N of M exercises done" for this chapter (the last cell of the notebook)."""
    CHAPTER.summary()


def _genome_text(genome: object) -> str:
    return genome.describe() if isinstance(genome, Genome) else repr(genome)


def _read_genome(checker: Checker, description: str, value: object) -> Genome:
    if not isinstance(value, Genome):
        checker.stop(description, f"expected a Genome, got {type(value).__name__} {value!r}. Build the result "
                     "with Genome(tuple_of_units).")
    return value


# --------------------------------------------------------------------------------------------------
# Exercise 1: validity
# --------------------------------------------------------------------------------------------------

R16, R32 = ResNetBlockUnit(1, 16), ResNetBlockUnit(2, 32)
D8 = DenseNetBlockUnit(2, 8, 32)
MAX, AVG = PoolingUnit("max"), PoolingUnit("avg")

#: (label, genome, input size, valid?): every rule from both sides, the pooling limit at 28 and 32 pixels.
VALIDITY_CASES: tuple[tuple[str, Genome, int, bool], ...] = (
    ("valid", Genome((R16, MAX, D8)), 28, True),
    ("valid", Genome((D8,)), 28, True),
    ("pooling_first", Genome((MAX, R16)), 28, False),
    ("pooling_first", Genome((AVG, D8, MAX)), 28, False),
    ("pooling_only", Genome((AVG,)), 28, False),
    ("empty", Genome(()), 28, False),
    ("at_the_limit", Genome((R16, MAX, MAX, R32, MAX, MAX)), 28, True),
    ("too_many_pools", Genome((R16, MAX, MAX, R32, MAX, MAX, AVG)), 28, False),
    ("at_the_limit", Genome((R16, MAX, MAX, MAX, MAX, AVG)), 32, True),
    ("too_many_pools", Genome((R16, MAX, MAX, MAX, MAX, AVG, MAX)), 32, False),
)

VALIDITY_MISTAKES: dict[str, str] = {
    "pooling_first": "an invalid genome was accepted: it starts with a pooling unit. The first unit must be a "
    "ResNet or DenseNet unit (pooling the raw image throws pixels away before any feature exists).",
    "pooling_only": "an invalid genome was accepted: it has no ResNet or DenseNet unit, so nothing in it can "
    "learn (and it starts with a pooling unit). Require a convolutional unit first.",
    "empty": "the empty genome was accepted: a network needs at least one unit (and a convolutional one).",
    "too_many_pools": "an invalid genome was accepted: it has more pooling units than the image survives. "
    "A size-s image survives floor(log2(s)) halvings (4 at 28 pixels, 5 at 32): allow at most that many.",
    "at_the_limit": "a valid genome was rejected: it has exactly floor(log2(size)) pooling units, which is "
    "allowed (28 → 14 → 7 → 3 → 1). The limit is off by one: use <=, not <.",
    "valid": "a valid genome was rejected: it starts with a convolutional unit and has few pooling units.",
}


def check_is_valid(is_valid: Callable[[Genome, int], object], *, part: str = "main") -> ExerciseResult:
    """Exercise 1: ``is_valid(genome, input_size)`` → True or False, as ``Genome.problems`` decides."""

    def body(checker: Checker) -> None:
        wrong: list[str] = []
        for label, genome, size, truth in VALIDITY_CASES:
            description = f"is_valid({_genome_text(genome) or '(empty)'}, {size})"
            answer = checker.run(description, is_valid, genome, size)
            if not isinstance(answer, bool):
                checker.stop(description, f"expected True or False, got {type(answer).__name__} {answer!r}.")
            assert truth == (not genome.problems(size))  # the cases agree with the library
            if checker.expect(description, answer == truth, success=str(truth),
                              failure=f"{answer}, the genome is {'valid' if truth else 'invalid'}"):
                continue
            wrong.append(label)
        if wrong:
            checker.failed("what to fix", VALIDITY_MISTAKES[wrong[0]])

    return check_and_report(VALIDITY, body, part=part)


def _validity_is_right(function: Callable[..., object]) -> bool:
    try:
        return all(function(genome, size) == truth for _, genome, size, truth in VALIDITY_CASES)
    except Exception:  # noqa: BLE001
        return False


#: Exercise 2 may use exercise 1's function.
MUTATION_BUILDS_ON = (EarlierAnswer("is_valid", VALIDITY, _validity_is_right),)


# --------------------------------------------------------------------------------------------------
# Exercise 2: mutation
# --------------------------------------------------------------------------------------------------

#: Parents that test each rule: a plain one, one at the pooling limit (adding a PU is not allowed), one whose
#: only convolutional unit is first (removing it is not allowed), and one at the length limit (no adding).
MUTATION_PARENTS: tuple[Genome, ...] = (
    Genome((R32, MAX, D8, AVG, R16)),
    Genome((R16, MAX, MAX, MAX, MAX)),
    Genome((D8, AVG)),
    Genome((R16, D8, MAX, R32, D8, AVG, R16, R32)),
)
MUTATION_TRIALS = 60


def _invalid_reason(child: Genome) -> str:
    problems = child.problems(28)
    if not child.units:
        return "it removed the last unit (an empty genome)"
    if isinstance(child.units[0], PoolingUnit):
        return "it put a pooling unit first (or removed the first unit so that a pooling unit came first)"
    if child.num_pooling_units() > max_pooling_units(28):
        return "it added a pooling unit to a genome that already had the most a 28-pixel image allows (4)"
    if not any(isinstance(unit, (ResNetBlockUnit, DenseNetBlockUnit)) for unit in child.units):
        return "it removed the only convolutional unit"
    return "; ".join(problems)


def check_mutate(mutate: Callable[[Genome, random.Random], object], *, part: str = "main") -> ExerciseResult:
    """Exercise 2: ``mutate(genome, rng)`` → a valid child, by adding, removing or modifying one unit."""

    def body(checker: Checker) -> None:
        operations = {"add": 0, "remove": 0, "modify": 0}
        for parent in MUTATION_PARENTS:
            unchanged = 0
            for seed in range(MUTATION_TRIALS):
                description = f"mutate({parent.describe()}, random.Random({seed}))"
                child = _read_genome(checker, description, checker.run(
                    description, mutate, parent, random.Random(seed), earlier=MUTATION_BUILDS_ON, answer=mutate))
                if child.problems(28):
                    checker.stop(description, f"the child {_genome_text(child) or '(empty)'} is invalid: "
                                 f"{_invalid_reason(child)}. Check the child before returning it, and choose an "
                                 "operation that can apply (is_valid from exercise 1 helps).")
                if len(child.units) > CPU_SEARCH_SPACE.max_units:
                    checker.stop(description, f"the child has {len(child.units)} units, more than the space's "
                                 f"max_units = {CPU_SEARCH_SPACE.max_units}: do not add to a genome that long.")
                change = len(child.units) - len(parent.units)
                if abs(change) > 1:
                    checker.stop(description, f"the child has {change:+d} units; one mutation adds, removes or "
                                 "modifies exactly one unit.")
                if child == parent:
                    unchanged += 1
                operations["add" if change == 1 else "remove" if change == -1 else "modify"] += child != parent
            checker.expect(
                f"mutate({parent.describe()}, ...) changes the genome", unchanged <= MUTATION_TRIALS // 10,
                success=f"{MUTATION_TRIALS} valid children, {MUTATION_TRIALS - unchanged} of them different",
                failure=f"{unchanged} of {MUTATION_TRIALS} children equal their parent: a mutation that changes "
                "nothing wastes a training run. Make 'modify' pick a different value.")
        for operation, count in operations.items():
            checker.expect(f"'{operation}' happens", count > 0,
                           success=f"{count} times in {MUTATION_TRIALS * len(MUTATION_PARENTS)} mutations",
                           failure=f"no mutation ever did '{operation}'; AE-CNN's mutation adds, removes or modifies "
                           "a unit (Section III). Draw one of the three, then fall back when it cannot apply.")

    return check_and_report(MUTATION, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 3: crossover
# --------------------------------------------------------------------------------------------------

#: (first, second, cut_first, cut_second): cuts inside, at the ends, and of different lengths.
CROSSOVER_CASES: tuple[tuple[Genome, Genome, int, int], ...] = (
    (Genome((R32, MAX, D8, AVG)), Genome((D8, R16, MAX)), 2, 1),
    (Genome((R16, MAX, R32)), Genome((D8, AVG, D8, MAX, R16)), 1, 3),
    (Genome((R32, D8)), Genome((R16, AVG)), 1, 0),
)


def reference_crossover(first: Genome, second: Genome, cut_first: int, cut_second: int) -> tuple[Genome, Genome]:
    return (Genome(first.units[:cut_first] + second.units[cut_second:]),
            Genome(second.units[:cut_second] + first.units[cut_first:]))


CROSSOVER_MISTAKES: dict[str, Callable[[Genome, Genome, int, int], tuple[Genome, Genome]]] = {
    "the children are in the other order: return (A + D, C + B), the first parent's head first":
        lambda f, s, a, b: reference_crossover(f, s, a, b)[::-1],
    "the heads were joined (A + C) and the tails (B + D): each child takes one parent's head and the OTHER "
    "parent's tail":
        lambda f, s, a, b: (Genome(f.units[:a] + s.units[:b]), Genome(f.units[a:] + s.units[b:])),
    "a unit is duplicated at the cut: the head is units[:cut] (cut units), the tail units[cut:]":
        lambda f, s, a, b: (Genome(f.units[: a + 1] + s.units[b:]), Genome(s.units[: b + 1] + f.units[a:])),
    "a unit is lost at the cut: the tail starts at units[cut], not units[cut + 1]":
        lambda f, s, a, b: (Genome(f.units[:a] + s.units[b + 1:]), Genome(s.units[:b] + f.units[a + 1:])),
    "the parents came back unchanged: build the children from the pieces":
        lambda f, s, a, b: (f, s),
}


def _read_pair(checker: Checker, description: str, value: object) -> tuple[Genome, Genome]:
    if not (isinstance(value, tuple) and len(value) == 2 and all(isinstance(item, Genome) for item in value)):
        checker.stop(description, f"expected a tuple of two Genomes, got {value!r}.")
    return value  # type: ignore[return-value]


def check_crossover(crossover: Callable[[Genome, Genome, int, int], object], *, part: str = "main") -> ExerciseResult:
    """Exercise 3: ``crossover(first, second, cut_first, cut_second)`` → (A + D, C + B)."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "crossover", crossover, CROSSOVER_CASES, reference_crossover,
            success=lambda case, truth: f"{truth[0].describe()} | {truth[1].describe()}",
            failure=lambda case, answer, truth: (f"{_genome_text(answer[0])} | {_genome_text(answer[1])}, expected "
                                                 f"{truth[0].describe()} | {truth[1].describe()}"),
            mistakes=CROSSOVER_MISTAKES,
            fix="child 1 = first.units[:cut_first] + second.units[cut_second:], child 2 = "
            "second.units[:cut_second] + first.units[cut_first:], each wrapped in Genome(...).",
            read=_read_pair,
        )

    return check_and_report(CROSSOVER, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 4: binary tournament
# --------------------------------------------------------------------------------------------------

#: Four distinct fitnesses, the best not first, so that "index 0" and "the last" are not the best by accident.
TOURNAMENT_FITNESSES: tuple[float, ...] = (0.71, 0.93, 0.52, 0.80)
TOURNAMENT_TRIALS = 8000
TOURNAMENT_TOLERANCE = 0.03


def expected_win_shares(fitnesses: Sequence[float]) -> list[float]:
    """P(individual i wins a binary tournament with replacement) = ((n−r+1)² − (n−r)²)/n² for rank r."""
    n = len(fitnesses)
    order = sorted(range(n), key=lambda i: -fitnesses[i])
    shares = [0.0] * n
    for rank, index in enumerate(order, start=1):
        shares[index] = ((n - rank + 1) ** 2 - (n - rank) ** 2) / n**2
    return shares


def _shares_by_rank(shares_in_rank_order: Sequence[float], fitnesses: Sequence[float]) -> list[float]:
    order = sorted(range(len(fitnesses)), key=lambda i: -fitnesses[i])
    shares = [0.0] * len(fitnesses)
    for rank, index in enumerate(order):
        shares[index] = shares_in_rank_order[rank]
    return shares


def tournament_mistakes(fitnesses: Sequence[float]) -> dict[str, list[float]]:
    """What each wrong selection's win shares would be (best first in the rank lists)."""
    n = len(fitnesses)
    right = sorted(expected_win_shares(fitnesses), reverse=True)
    pairs = n * (n - 1) / 2
    without = [(n - rank) / pairs for rank in range(1, n + 1)]  # rank r wins the pairs with lower ranks
    return {
        "the tournament keeps the worst of the two: the fitter one must win (higher fitness is better)":
            _shares_by_rank(right[::-1], fitnesses),
        "the best individual always wins: that is no tournament, and weaker genomes never become parents. "
        "Draw two at random and keep the fitter":
            _shares_by_rank([1.0] + [0.0] * (n - 1), fitnesses),
        "every individual wins equally often: the draw has no selection pressure. Compare the two fitnesses and "
        "keep the fitter":
            [1 / n] * n,
        "the two are drawn without replacement (the weakest never wins): AE-CNN draws each of the two at random "
        "with replacement, e.g. rng.randrange(n) twice":
            _shares_by_rank(without, fitnesses),
    }


def check_binary_tournament(
    binary_tournament: Callable[[Sequence[float], random.Random], object], *, part: str = "main"
) -> ExerciseResult:
    """Exercise 4: ``binary_tournament(fitnesses, rng)`` → the index of the winner, fitter of two random draws."""

    def body(checker: Checker) -> None:
        n = len(TOURNAMENT_FITNESSES)
        wins = [0] * n
        rng = random.Random(0)
        for trial in range(TOURNAMENT_TRIALS):
            description = f"binary_tournament({list(TOURNAMENT_FITNESSES)}, rng)"
            index = integer_answer(checker, description,
                                   checker.run(description, binary_tournament, TOURNAMENT_FITNESSES, rng))
            if not 0 <= index < n:
                checker.stop(description, f"returned {index}, not an index 0 … {n - 1} of the population.")
            wins[index] += 1
        shares = [count / TOURNAMENT_TRIALS for count in wins]
        expected = expected_win_shares(TOURNAMENT_FITNESSES)
        text = ", ".join(f"{fitness}: {share:.3f}" for fitness, share in zip(TOURNAMENT_FITNESSES, shares))
        ok = all(abs(share - want) <= TOURNAMENT_TOLERANCE for share, want in zip(shares, expected))
        checker.expect(
            f"win shares over {TOURNAMENT_TRIALS:,} tournaments", ok, success=text,
            failure=f"{text}; a binary tournament gives " +
            ", ".join(f"{fitness}: {want:.3f}" for fitness, want in zip(TOURNAMENT_FITNESSES, expected)))
        if not ok:
            for message, pattern in tournament_mistakes(TOURNAMENT_FITNESSES).items():
                if all(abs(share - want) <= TOURNAMENT_TOLERANCE for share, want in zip(shares, pattern)):
                    checker.failed("what to fix", message + ".")
                    break
            else:
                checker.failed("what to fix", "draw two indices with rng.randrange(len(fitnesses)) and return the "
                               "one with the higher fitness.")

    return check_and_report(TOURNAMENT, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 5: MnasNet's reward
# --------------------------------------------------------------------------------------------------

#: (accuracy, latency, target, alpha, beta): soft constraint below, at and above the target, hard constraint
#: below and above, and an asymmetric pair that tells α from β.
REWARD_CASES: tuple[tuple[float, float, float, float, float], ...] = (
    (0.75, 150.0, 75.0, -0.07, -0.07),
    (0.75, 37.5, 75.0, -0.07, -0.07),
    (0.76, 75.0, 75.0, -0.07, -0.07),
    (0.80, 60.0, 75.0, 0.0, -1.0),
    (0.80, 90.0, 75.0, 0.0, -1.0),
    (0.70, 40.0, 80.0, -0.2, -0.5),
    (0.70, 120.0, 80.0, -0.2, -0.5),
)


def _power(accuracy: float, ratio: float, exponent: float) -> float:
    return accuracy * ratio**exponent


REWARD_MISTAKES: dict[str, Callable[..., float]] = {
    "the sign of w is wrong (or, the same thing, the ratio is upside down): w is negative (−0.07), so a model "
    "slower than the target (LAT/T > 1) must score LESS; use (LAT/T)^w with w = α or β as given":
        lambda a, lat, t, alpha, beta: _power(a, lat / t, -(alpha if lat <= t else beta)),
    "α and β are swapped: w = α when the model meets the target (LAT ≤ T), β when it is slower":
        lambda a, lat, t, alpha, beta: _power(a, lat / t, beta if lat <= t else alpha),
    "β is used on both sides: w = α when LAT ≤ T (for the hard constraint α = 0: no bonus for being faster)":
        lambda a, lat, t, alpha, beta: _power(a, lat / t, beta),
    "the reward is a product, ACC × (LAT/T)^w, not a sum":
        lambda a, lat, t, alpha, beta: a + (lat / t) ** (alpha if lat <= t else beta),
    "w multiplies the ratio instead of being its exponent: ACC × (LAT/T)^w":
        lambda a, lat, t, alpha, beta: a * (lat / t) * (alpha if lat <= t else beta),
}


def _read_reward(checker: Checker, description: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        checker.stop(description, f"expected a number, got {type(value).__name__} {value!r}.")
    return round(float(value), 7)


def check_mnasnet_reward(mnasnet_reward: Callable[..., object], *, part: str = "main") -> ExerciseResult:
    """Exercise 5: ``mnasnet_reward(accuracy, latency_ms, target_ms, alpha, beta)`` = ACC·[LAT/T]^w."""

    def truth(*case: float) -> float:
        return round(reference_mnasnet_reward(*case), 7)

    mistakes = {message: (lambda *case, formula=formula: round(formula(*case), 7))
                for message, formula in REWARD_MISTAKES.items()}

    def body(checker: Checker) -> None:
        check_cases(
            checker, "mnasnet_reward", mnasnet_reward, REWARD_CASES, truth,
            success=lambda case, value: f"{value:.6f}",
            failure=lambda case, answer, value: f"{answer:.6f}, MnasNet's reward is {value:.6f}",
            mistakes=mistakes,
            fix="w = alpha if latency_ms <= target_ms else beta; return accuracy * (latency_ms / target_ms) ** w.",
            read=_read_reward,
        )

    return check_and_report(REWARD, body, part=part)


# --------------------------------------------------------------------------------------------------
# Exercise 6: a cell's parameters
# --------------------------------------------------------------------------------------------------

class _NamedCellSpec(CellSpec):
    """A CellSpec that prints as the name of its constant (the check lines stay short)."""

    def __str__(self) -> str:
        return f"NASNET_A_{self.name.upper()}_CELL"


class _CustomCellSpec(CellSpec):
    """A made-up cell, printed by its name."""

    def __str__(self) -> str:
        return f"CellSpec({self.name!r})"


_NORMAL = _NamedCellSpec(NASNET_A_NORMAL_CELL.name, NASNET_A_NORMAL_CELL.blocks, NASNET_A_NORMAL_CELL.concat)
_REDUCTION = _NamedCellSpec(NASNET_A_REDUCTION_CELL.name, NASNET_A_REDUCTION_CELL.blocks,
                            NASNET_A_REDUCTION_CELL.concat)
#: NASNet-A's reduction cell has no identity on h_i or h_{i-1} (its only identity reads block 2), so this made-up
#: reduction cell — block 3 becomes identity(h_i) + sep 3×3(h_{i-1}) — is what tests the strided identity's
#: ReLU-1×1-BN (F² + 2F).
STRIDED_IDENTITY_CELL = _CustomCellSpec(
    "reduction with identity(h_i)",
    NASNET_A_REDUCTION_CELL.blocks[:2] + (CellBlock(H_CURRENT, "identity", H_PREVIOUS, "sep_3x3"),)
    + NASNET_A_REDUCTION_CELL.blocks[3:],
    NASNET_A_REDUCTION_CELL.concat,
)

#: (spec, current_channels, previous_channels, channels, reduction, previous_is_larger): cells of
#: nasnet_a_cifar_small and of the paper's 6 @ 768 layout, and the made-up cell with a strided identity.
CELL_CASES: tuple[tuple[CellSpec, int, int, int, bool, bool], ...] = (
    (_NORMAL, 48, 48, 16, False, False),
    (_NORMAL, 96, 48, 16, False, False),
    (_NORMAL, 192, 128, 32, False, True),
    (_NORMAL, 192, 192, 32, False, False),
    (_REDUCTION, 96, 96, 32, True, False),
    (_REDUCTION, 192, 96, 64, True, False),
    (STRIDED_IDENTITY_CELL, 96, 96, 32, True, False),
)


def _case_text(case: tuple) -> str:
    spec, current, previous, channels, reduction, larger = case
    return f"{spec.name}, h_i {current} ch, h_i-1 {previous} ch, F={channels}, reduction={reduction}, larger={larger}"


def reference_cell_parameters(spec: CellSpec, current_channels: int, previous_channels: int, channels: int,
                              reduction: bool, previous_is_larger: bool) -> int:
    cell = NasNetACell(spec, current_channels=current_channels, previous_channels=previous_channels,
                       channels=channels, reduction=reduction, previous_is_larger=previous_is_larger)
    return count_parameters(cell)


def _formula(spec: CellSpec, current: int, previous: int, width: int, reduction: bool, larger: bool, *,
             rounds: int = 2, bn: bool = True, full_depthwise: bool = False, adapters: bool = True,
             previous_adapter: bool = True, strided_identity: bool = True) -> int:
    norm = 2 * width if bn else 0
    total = 0
    if adapters:
        total += current * width + norm
        if previous_adapter and (larger or previous != width):
            total += previous * width + norm
    for block in spec.blocks:
        for source, op in ((block.left_input, block.left_op), (block.right_input, block.right_op)):
            if op.startswith("sep"):
                k = int(op[-1])
                depthwise = k * k * width * (width if full_depthwise else 1)
                total += rounds * (depthwise + width * width + norm)
            elif op == "identity" and reduction and source in (0, 1) and strided_identity:
                total += width * width + norm
    return total


CELL_MISTAKES: dict[str, Callable[..., int]] = {
    "each 'sep k×k' is applied twice in a row (ReLU → depthwise → pointwise → BN, two rounds; the paper's "
    "Appendix): count 2·(k²F + F² + 2F)": lambda *case: _formula(*case, rounds=1),
    "BatchNorm's parameters are missing: every BatchNorm has a scale and a shift per channel (2F)":
        lambda *case: _formula(*case, bn=False),
    "the depthwise convolution was counted as a full one: depthwise k×k has one k×k filter per channel, k²F "
    "weights, not k²F²": lambda *case: _formula(*case, full_depthwise=True),
    "the input adapters are missing: h_i always passes ReLU-1×1-BN to F channels (C·F + 2F), and h_{i-1} too "
    "(or a factorized reduction, also C·F + 2F) unless it already has F channels at the same size":
        lambda *case: _formula(*case, adapters=False),
    "the h_{i-1} adapter is missing (h_i's is counted): h_{i-1} is brought to F channels too — by a factorized "
    "reduction when it is twice as large, else by ReLU-1×1-BN when its width is not F — previous_channels·F + 2F "
    "either way; only an h_{i-1} that already has F channels at the same size passes unchanged":
        lambda *case: _formula(*case, previous_adapter=False),
    "the identity with stride 2 was counted as free: in a reduction cell an identity on h_i or h_{i-1} must halve "
    "the map, so NASNet makes it ReLU-1×1 conv (stride 2)-BN, F² + 2F parameters (an identity on a block's output "
    "has stride 1 and none)":
        lambda *case: _formula(*case, strided_identity=False),
}


def check_cell_parameters(cell_parameters: Callable[..., object], *, part: str = "main") -> ExerciseResult:
    """Exercise 6: ``cell_parameters(spec, current_channels, previous_channels, channels, reduction,
    previous_is_larger)`` → the parameters of the NASNet cell PyTorch builds."""

    def body(checker: Checker) -> None:
        check_cases(
            checker, "cell_parameters", cell_parameters, CELL_CASES, reference_cell_parameters,
            success=lambda case, truth: f"{truth:,}",
            failure=lambda case, answer, truth: f"{answer:,}, the cell has {truth:,} ({_case_text(case)})",
            mistakes=CELL_MISTAKES,
            fix="adapters (C·F + 2F for h_i; the same for h_{i-1} unless it has F channels at the same size) + "
            "2·(k²F + F² + 2F) per sep k×k + (F² + 2F) per identity with stride 2; pooling has none.",
        )

    return check_and_report(CELL_PARAMETERS, body, part=part)


__all__ = [
    "CELL_CASES",
    "CELL_MISTAKES",
    "CHAPTER",
    "CROSSOVER_CASES",
    "CROSSOVER_MISTAKES",
    "MUTATION_PARENTS",
    "REWARD_CASES",
    "REWARD_MISTAKES",
    "STRIDED_IDENTITY_CELL",
    "TOURNAMENT_FITNESSES",
    "VALIDITY_CASES",
    "check_binary_tournament",
    "check_cell_parameters",
    "check_crossover",
    "check_is_valid",
    "check_mnasnet_reward",
    "check_mutate",
    "expected_win_shares",
    "reference_cell_parameters",
    "reference_crossover",
    "summary",
    "tournament_mistakes",
]
