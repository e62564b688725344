"""The search driver (cnncourse.nas): evolution and random search, the fitness cache, the resumable
JSON-lines log, and the helpers the chapter plots (best so far, Pareto front).

The end-to-end tests train real genomes for a few steps on the tiny Fashion-MNIST fixture; the tests
of the driver's logic use a cheap fitness computed from the genome, so the whole file takes seconds.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from fixtures_data import write_tiny_fashion_mnist

from cnncourse.data import ImageDataset, fashion_mnist
from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.models.aecnn import (
    DenseNetBlockUnit,
    DenseOption,
    Genome,
    PoolingUnit,
    ResNetBlockUnit,
    SearchSpace,
)
from cnncourse.models.mnasnet import mnasnet_reward
from cnncourse.nas import (
    Evaluation,
    Scores,
    SearchResult,
    TrainingFitness,
    best_per_generation,
    best_so_far,
    fixed_split,
    pareto_front,
    read_log,
    search,
)

#: A space of small, fast networks; still thousands of genomes, so a budget of 10 never runs dry.
TINY_SPACE = SearchSpace(
    rbu_channels=(4, 8),
    rbu_blocks=(1, 2),
    dense_options=(DenseOption(4, 1, 2, 8),),
    initial_rbus=(1, 2),
    initial_dbus=(0, 1),
    initial_pools=(1, 2),
    max_units=5,
)
#: A space with very few genomes: one RBU setting, one pooling unit at most, no DBU.
DRY_SPACE = SearchSpace(
    rbu_channels=(4,),
    rbu_blocks=(1, 1),
    dense_options=(DenseOption(4, 1, 1, 8),),
    initial_rbus=(1, 1),
    initial_dbus=(0, 0),
    initial_pools=(0, 1),
    max_units=2,
)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> ImageDataset:
    folder = write_tiny_fashion_mnist(tmp_path_factory.mktemp("nas") / "tiny-fashion-mnist")
    return fashion_mnist(root=folder)


@pytest.fixture(scope="module")
def trained_fitness(tiny_data: ImageDataset) -> TrainingFitness:
    # 32 images in batches of 16 for two epochs: four SGD steps per genome
    return TrainingFitness(
        tiny_data, train_images=32, val_images=32, batch_size=16, epochs=2, latency_repeats=2
    )


class CountingFitness:
    """Wraps a fitness and counts how often each genome is scored."""

    def __init__(self, inner: object) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()

    def describe(self) -> object:
        describe = getattr(self.inner, "describe", None)
        return describe() if describe else {"kind": "toy"}

    def __call__(self, genome: Genome) -> Scores:
        self.calls[genome.key()] += 1
        return self.inner(genome)  # type: ignore[operator]


def toy_fitness(genome: Genome) -> Scores:
    """A deterministic score without training: deeper and wider genomes score higher, with a twist
    from the pooling units so that fitness and size disagree now and then."""
    size = sum(
        u.num_blocks * u.out_channels if isinstance(u, ResNetBlockUnit)
        else u.num_layers * u.growth_rate if isinstance(u, DenseNetBlockUnit) else 0
        for u in genome.units
    )
    pools = genome.num_pooling_units()
    accuracy = min(0.99, 0.3 + size / 100 + (0.07 if pools == 1 else 0.0))
    return Scores(accuracy=accuracy, fitness=accuracy, parameters=100 * size + 10, macs=1000 * size,
                  latency_ms=0.1 * len(genome.units))


def toy() -> CountingFitness:
    return CountingFitness(toy_fitness)


def without_timings(path: Path) -> list[dict[str, object]]:
    """The log's records with the two measured times removed (they differ from run to run)."""
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        record.pop("seconds", None)
        record.pop("latency_ms", None)
    return records


# --- end to end, with training ------------------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["evolution", "random"])
def test_search_is_deterministic_for_a_seed(strategy: str, trained_fitness: TrainingFitness) -> None:
    runs = [
        search(TINY_SPACE, 6, strategy, trained_fitness, seed=3, population_size=4,  # type: ignore[arg-type]
               progress=False)
        for _ in range(2)
    ]
    first, second = ([(e.genome, e.accuracy, e.parameters, e.macs) for e in run.evaluations] for run in runs)
    assert first == second and len(first) == 6
    other = search(TINY_SPACE, 6, strategy, trained_fitness, seed=4, population_size=4,  # type: ignore[arg-type]
                   progress=False)
    assert [e.genome for e in other.evaluations] != [g for g, *_ in first]


def test_evaluations_record_real_measurements(trained_fitness: TrainingFitness) -> None:
    result = search(TINY_SPACE, 3, "random", trained_fitness, seed=0, population_size=4, progress=False)
    for evaluation in result.evaluations:
        model = evaluation.genome.build(1, 10)
        assert evaluation.parameters == sum(p.numel() for p in model.parameters())
        assert evaluation.macs > evaluation.parameters  # every weight is used at 28×28 or 14×14 pixels
        assert evaluation.latency_ms > 0 and evaluation.seconds > 0
        assert evaluation.accuracy in {k / 32 for k in range(33)}  # 32 validation images
        assert evaluation.fitness == evaluation.accuracy


class Interrupt(Exception):
    pass


def test_resume_after_an_interruption_gives_the_uninterrupted_log(
    tmp_path: Path, trained_fitness: TrainingFitness
) -> None:
    whole = tmp_path / "whole.jsonl"
    search(TINY_SPACE, 8, "evolution", trained_fitness, seed=1, log_path=whole, population_size=4,
           progress=False)

    class Crashes(CountingFitness):
        def __call__(self, genome: Genome) -> Scores:
            if sum(self.calls.values()) == 5:
                raise Interrupt  # e.g. the kernel was stopped while the sixth genome trained
            return super().__call__(genome)

    parts = tmp_path / "parts.jsonl"
    with pytest.raises(Interrupt):
        search(TINY_SPACE, 8, "evolution", Crashes(trained_fitness), seed=1, log_path=parts,
               population_size=4, progress=False)
    assert len(parts.read_text().splitlines()) == 1 + 5  # header and the five finished genomes
    counting = CountingFitness(trained_fitness)
    resumed = search(TINY_SPACE, 8, "evolution", counting, seed=1, log_path=parts, population_size=4,
                     progress=False)
    assert (resumed.replayed, resumed.trained) == (5, 3)
    assert sum(counting.calls.values()) == 3  # the five in the log were not trained again
    assert without_timings(parts) == without_timings(whole)
    # calling once more retrains nothing and appends nothing
    again = search(TINY_SPACE, 8, "evolution", counting, seed=1, log_path=parts, population_size=4,
                   progress=False)
    assert again.trained == 0 and sum(counting.calls.values()) == 3
    assert len(parts.read_text().splitlines()) == 1 + 8


def test_a_larger_budget_extends_a_finished_search(tmp_path: Path) -> None:
    log = tmp_path / "random.jsonl"
    search(TINY_SPACE, 4, "random", toy(), seed=2, log_path=log, progress=False)
    extended = search(TINY_SPACE, 9, "random", toy(), seed=2, log_path=log, progress=False)
    direct = search(TINY_SPACE, 9, "random", toy(), seed=2, progress=False)
    assert [e.genome for e in extended.evaluations] == [e.genome for e in direct.evaluations]
    assert (extended.replayed, extended.trained) == (4, 5)


def test_latency_target_makes_the_fitness_mnasnets_reward(tiny_data: ImageDataset) -> None:
    fitness = TrainingFitness(
        tiny_data, train_images=16, val_images=16, batch_size=16, latency_target_ms=0.5, latency_repeats=2
    )
    scores = fitness(Genome((ResNetBlockUnit(1, 4), PoolingUnit("max"))))
    assert scores.fitness == pytest.approx(mnasnet_reward(scores.accuracy, scores.latency_ms, 0.5))
    assert fitness.describe()["latency_target_ms"] == 0.5


# --- the cache, the budget, early stops ---------------------------------------------------------------


@pytest.mark.parametrize("strategy", ["evolution", "random"])
def test_both_strategies_train_exactly_the_budget_and_never_a_genome_twice(strategy: str) -> None:
    for budget in (1, 5, 12):
        fitness = toy()
        result = search(TINY_SPACE, budget, strategy, fitness, seed=0,  # type: ignore[arg-type]
                        population_size=4, progress=False)
        assert len(result.evaluations) == result.trained == budget == sum(fitness.calls.values())
        assert max(fitness.calls.values()) == 1
        assert [e.index for e in result.evaluations] == list(range(budget))


def test_uniform_random_search_respects_the_budget_and_reaches_long_genomes(tmp_path: Path) -> None:
    log = tmp_path / "uniform.jsonl"
    fitness = toy()
    result = search(TINY_SPACE, 10, "random", fitness, seed=0, sampler="uniform", log_path=log, progress=False)
    assert len(result.evaluations) == sum(fitness.calls.values()) == 10
    assert max(len(e.genome.units) for e in result.evaluations) == TINY_SPACE.max_units
    header, _ = read_log(log)
    assert header is not None and header["settings"]["sampler"] == "uniform"  # type: ignore[index]
    with pytest.raises(CourseError, match="different search .*sampler"):
        search(TINY_SPACE, 10, "random", toy(), seed=0, log_path=log, progress=False)  # the default sampler
    initial = search(TINY_SPACE, 10, "random", toy(), seed=0, progress=False)
    assert max(len(e.genome.units) for e in initial.evaluations) <= 5  # 2 RBUs, 1 DBU, 2 pooling units


def test_cache_hits_do_not_retrain() -> None:
    # evolution in a small space meets its parents again and again
    fitness = toy()
    result = search(TINY_SPACE, 12, "evolution", fitness, seed=0, population_size=6, mutation_prob=0.2,
                    progress=False)
    assert result.cache_hits > 0
    assert sum(fitness.calls.values()) == 12 and set(fitness.calls.values()) == {1}
    assert len({e.key for e in result.evaluations}) == 12


def test_evolution_keeps_the_best_genome_in_its_population() -> None:
    result = search(TINY_SPACE, 20, "evolution", toy(), seed=5, population_size=4, progress=False)
    assert len(result.population) == 4
    scores = {e.key: e.fitness for e in result.evaluations}
    assert max(scores[g.key()] for g in result.population) == result.best.fitness
    # and the best so far rises: evolution improves on its random start in this toy landscape
    curve = best_so_far(result.evaluations)
    assert curve[-1] > curve[3]


def test_a_space_with_nothing_new_stops_early_with_a_reason() -> None:
    # DRY_SPACE holds a handful of genomes: RBU(1x, 4ch), optionally followed by a pooling unit
    result = search(DRY_SPACE, 50, "random", toy(), seed=0, max_repeats=30, progress=False)
    assert 1 <= len(result.evaluations) < 50
    assert result.stopped_early is not None and "nothing new" in result.stopped_early
    assert "stopped early" in repr(result)


# --- the log: damage, mismatches ----------------------------------------------------------------------


def written_log(tmp_path: Path, budget: int = 4) -> Path:
    log = tmp_path / "search.jsonl"
    search(TINY_SPACE, budget, "random", toy(), seed=0, log_path=log, progress=False)
    return log


@pytest.mark.parametrize(
    ("damage", "line", "message"),
    [
        (lambda lines: lines.__setitem__(2, lines[2][: len(lines[2]) // 2]), 3, "not valid JSON"),
        (lambda lines: lines.__setitem__(1, lines[1].replace('"accuracy"', '"acc"')), 2,
         "lacks \\['accuracy'\\]"),
        (lambda lines: lines.__setitem__(3, lines[3].replace('"unit":"rbu"', '"unit":"conv"')), 4,
         "genome cannot be read"),
        (lambda lines: lines.__setitem__(2, lines[2].replace('"index":1', '"index":7')), 3, "index 7, expected 1"),
        (lambda lines: lines.__setitem__(0, lines[1]), 1, "first record must be the search header"),
        (lambda lines: lines.insert(3, lines[2]), 4, "index 1, expected 2"),
    ],
)
def test_a_damaged_line_is_named_and_the_file_left_alone(tmp_path: Path, damage: object, line: int,
                                                         message: str) -> None:
    log = written_log(tmp_path)
    lines = log.read_text().split("\n")
    damage(lines)  # type: ignore[operator]
    log.write_text("\n".join(lines))
    before = log.read_bytes()
    with pytest.raises(CourseError, match=f"{log}, line {line}: .*{message}") as caught:
        search(TINY_SPACE, 6, "random", toy(), seed=0, log_path=log, progress=False)
    assert "was not changed" in str(caught.value)
    assert log.read_bytes() == before
    with pytest.raises(CourseError, match=f"line {line}"):
        read_log(log)


def test_a_line_cut_off_while_writing_says_so(tmp_path: Path) -> None:
    log = written_log(tmp_path)
    text = log.read_text()
    log.write_text(text[: len(text) - 20])  # the last record lost its end, and its newline
    with pytest.raises(CourseError, match="line 5: not valid JSON .*incomplete"):
        read_log(log)


def test_a_missing_final_newline_is_repaired_before_appending(tmp_path: Path) -> None:
    log = written_log(tmp_path, budget=3)
    log.write_text(log.read_text().rstrip("\n"))
    search(TINY_SPACE, 5, "random", toy(), seed=0, log_path=log, progress=False)
    header, evaluations = read_log(log)
    assert header is not None and [e.index for e in evaluations] == [0, 1, 2, 3, 4]


def test_an_edited_genome_is_caught_by_its_key(tmp_path: Path) -> None:
    log = written_log(tmp_path)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    records[2]["genome"] = [{"unit": "rbu", "num_blocks": 2, "out_channels": 8}]
    log.write_text("".join(json.dumps(record) + "\n" for record in records))
    with pytest.raises(CourseError, match="line 3: its key does not match its genome"):
        read_log(log)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"seed": 1}, "seed: log 0, now 1"),
        ({"strategy": "evolution"}, "strategy"),
        ({"space": DRY_SPACE}, "space"),
        ({"population_size": 5}, "settings"),
    ],
)
def test_a_log_of_another_search_is_refused_with_the_difference(tmp_path: Path, changes: dict[str, object],
                                                                named: str) -> None:
    log = written_log(tmp_path)
    before = log.read_bytes()
    arguments: dict[str, object] = {"space": TINY_SPACE, "budget": 6, "strategy": "random", "seed": 0,
                                    "population_size": 8, **changes}
    with pytest.raises(CourseError, match=f"different search .*{named}"):
        search(fitness=toy(), log_path=log, progress=False, **arguments)  # type: ignore[arg-type]
    assert log.read_bytes() == before


def test_a_log_of_another_fitness_is_refused(tmp_path: Path, tiny_data: ImageDataset) -> None:
    log = tmp_path / "search.jsonl"
    first = TrainingFitness(tiny_data, train_images=16, val_images=16, latency_repeats=1, epochs=1)
    second = TrainingFitness(tiny_data, train_images=16, val_images=16, latency_repeats=1, epochs=2)
    search(TINY_SPACE, 1, "random", first, seed=0, log_path=log, progress=False)
    with pytest.raises(CourseError, match='fitness: log .*"epochs": 1.*now .*"epochs": 2'):
        search(TINY_SPACE, 2, "random", second, seed=0, log_path=log, progress=False)


def test_read_log_returns_what_the_search_returned(tmp_path: Path) -> None:
    log = tmp_path / "evolution.jsonl"
    result = search(TINY_SPACE, 7, "evolution", toy(), seed=0, log_path=log, population_size=4,
                    progress=False)
    header, evaluations = read_log(log)
    assert header is not None and header["strategy"] == "evolution" and header["seed"] == 0
    assert evaluations == result.evaluations
    assert all(isinstance(e, Evaluation) for e in evaluations)
    with pytest.raises(CourseError, match="No search log"):
        read_log(tmp_path / "missing.jsonl")


# --- bad arguments --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"strategy": "evolutionary"}, UnknownNameError,
         "Unknown search strategy 'evolutionary'. Did you mean"),
        ({"strategy": "grid"}, UnknownNameError, "evolution, random"),
        ({"budget": 0}, CourseError, "budget must be a whole number of genomes >= 1, got 0"),
        ({"budget": 2.5}, CourseError, "budget"),
        ({"budget": True}, CourseError, "budget"),
        ({"population_size": 1}, CourseError, "population_size"),
        ({"crossover_prob": 1.5}, CourseError, "crossover_prob must be a probability"),
        ({"mutation_prob": -0.1}, CourseError, "mutation_prob"),
        ({"space": "cpu"}, CourseError, "SearchSpace"),
        ({"fitness": 0.9}, CourseError, "fitness must be callable"),
        ({"max_repeats": 0}, CourseError, "max_repeats"),
        ({"sampler": "sobol"}, UnknownNameError, "Unknown random-search sampler 'sobol'"),
    ],
)
def test_bad_arguments_are_refused_clearly(
    arguments: dict[str, object], error: type[Exception], message: str
) -> None:
    call: dict[str, object] = {
        "space": TINY_SPACE, "budget": 3, "fitness": toy(), "progress": False, **arguments
    }
    with pytest.raises(error, match=message):
        search(**call)  # type: ignore[arg-type]


def test_input_size_comes_from_the_fitness_and_must_agree_with_it(trained_fitness: TrainingFitness) -> None:
    with pytest.raises(CourseError, match="input_size=32, but the fitness trains on 28-pixel images"):
        search(TINY_SPACE, 1, "random", trained_fitness, input_size=32, progress=False)
    with pytest.raises(CourseError, match="input_size must be a positive number"):
        search(TINY_SPACE, 1, "random", toy(), input_size=0, progress=False)
    # a 4-pixel input survives two halvings: no genome drawn has more pooling units
    result = search(TINY_SPACE, 40, "random", toy(), input_size=4, sampler="uniform", progress=False)
    assert max(e.genome.num_pooling_units() for e in result.evaluations) == 2
    at_28 = search(TINY_SPACE, 40, "random", toy(), input_size=28, sampler="uniform", progress=False)
    assert max(e.genome.num_pooling_units() for e in at_28.evaluations) > 2


def test_a_fitness_must_return_scores() -> None:
    with pytest.raises(CourseError, match="must return cnncourse.nas.Scores, got float"):
        search(TINY_SPACE, 2, "random", lambda genome: 0.5, progress=False)  # type: ignore[arg-type,return-value]


def test_scores_refuse_a_percentage() -> None:
    with pytest.raises(CourseError, match="fraction"):
        Scores(accuracy=81.0, fitness=81.0, parameters=1, macs=1, latency_ms=1.0)


# --- the fixed subsets --------------------------------------------------------------------------------


def test_fixed_split_is_disjoint_and_fixed_by_its_seed(tiny_data: ImageDataset) -> None:
    train, val = fixed_split(tiny_data, 40, 20, seed=0)
    again, _ = fixed_split(tiny_data, 40, 20, seed=0)
    other, _ = fixed_split(tiny_data, 40, 20, seed=1)
    assert (len(train), len(val)) == (40, 20)
    assert torch.equal(train.images, again.images) and not torch.equal(train.images, other.images)
    rows = {bytes(image.numpy()) for image in train.images}
    assert not rows & {bytes(image.numpy()) for image in val.images}  # no image in both
    with pytest.raises(CourseError, match="has 64 images"):
        fixed_split(tiny_data, 60, 10, seed=0)
    with pytest.raises(CourseError, match="train_images"):
        fixed_split(tiny_data, 0, 10, seed=0)


# --- best so far and the Pareto front -------------------------------------------------------------------


def evaluation(
    index: int, generation: int, fitness: float, parameters: int = 1, latency_ms: float = 1.0
) -> Evaluation:
    genome = Genome((ResNetBlockUnit(1, 4 + index),))
    return Evaluation(index, generation, genome, fitness, fitness, parameters, 10 * parameters, latency_ms, 0.1)


def test_best_is_the_fittest_and_the_earliest_among_equals() -> None:
    result = SearchResult("random", 0, 4, [evaluation(0, 0, 0.5), evaluation(1, 0, 0.8), evaluation(2, 0, 0.8),
                                           evaluation(3, 0, 0.7)])
    assert result.best.index == 1
    assert "best fitness 0.8000" in repr(result)
    with pytest.raises(CourseError, match="no best one"):
        SearchResult("random", 0, 4, []).best


def test_the_progress_bar_counts_genomes(capsys: pytest.CaptureFixture[str]) -> None:
    search(TINY_SPACE, 3, "evolution", toy(), seed=0, population_size=4, progress=True)
    shown = capsys.readouterr().err
    assert "evolution search" in shown and "3/3" in shown and "best=" in shown


def test_best_so_far_and_per_generation_on_hand_made_evaluations() -> None:
    evaluations = [
        evaluation(0, 0, 0.5), evaluation(1, 0, 0.7), evaluation(2, 1, 0.6), evaluation(3, 2, 0.8),
        evaluation(4, 2, 0.75), evaluation(5, 4, 0.1),
    ]
    assert best_so_far(evaluations) == [0.5, 0.7, 0.7, 0.8, 0.8, 0.8]
    assert best_per_generation(evaluations) == [(0, 0.7), (1, 0.7), (2, 0.8), (4, 0.8)]
    assert best_so_far([]) == [] and best_per_generation([]) == []
    with pytest.raises(CourseError, match="value must be one of"):
        best_so_far(evaluations, value="parameters")


def brute_force_front(points: list[tuple[float, float]]) -> set[tuple[float, float]]:
    def dominated(p: tuple[float, float]) -> bool:
        return any(q[0] <= p[0] and q[1] >= p[1] and q != p for q in points)

    return {p for p in points if not dominated(p)}


def test_pareto_front_on_hand_made_points() -> None:
    points = [
        {"name": "a", "parameters": 10, "accuracy": 0.80},
        {"name": "b", "parameters": 20, "accuracy": 0.70},  # dominated by a
        {"name": "c", "parameters": 30, "accuracy": 0.90},
        {"name": "d", "parameters": 30, "accuracy": 0.85},  # same cost as c, worse
        {"name": "e", "parameters": 5, "accuracy": 0.60},
        {"name": "f", "parameters": 50, "accuracy": 0.90},  # as accurate as c, dearer
        {"name": "g", "parameters": 10, "accuracy": 0.80},  # a duplicate of a: the first is kept
        {"name": "h", "parameters": 60, "accuracy": 0.95},
    ]
    assert [p["name"] for p in pareto_front(points)] == ["e", "a", "c", "h"]
    assert pareto_front([]) == []
    assert [p["name"] for p in pareto_front(points[:1])] == ["a"]
    # with functions instead of field names: minimise error, maximise "cheapness" (a different front)
    front = pareto_front(points, cost=lambda p: 1 - p["accuracy"], value=lambda p: -p["parameters"])
    assert [p["name"] for p in front] == ["h", "c", "a", "e"]


def test_pareto_front_agrees_with_brute_force_on_random_points() -> None:
    rng = random.Random(0)
    for _ in range(50):
        points = [(rng.randint(1, 12), rng.randint(1, 12) / 12) for _ in range(rng.randint(1, 25))]
        front = pareto_front(points, cost=lambda p: p[0], value=lambda p: p[1])
        assert set(front) == brute_force_front(points)
        assert len(front) == len(set(front))
        costs = [p[0] for p in front]
        values = [p[1] for p in front]
        assert costs == sorted(costs) and values == sorted(values)


def test_pareto_front_of_evaluations_by_latency() -> None:
    evaluations = [
        evaluation(0, 0, 0.5, latency_ms=2.0), evaluation(1, 0, 0.7, latency_ms=1.0),
        evaluation(2, 1, 0.9, latency_ms=3.0),
    ]
    assert [e.index for e in pareto_front(evaluations, cost="latency_ms")] == [1, 2]
    assert [e.index for e in pareto_front(evaluations, cost="parameters", value="fitness")] == [2]
    with pytest.raises(CourseError, match="finite number for 'latency'"):
        pareto_front(evaluations, cost="latency")


def test_docstring_examples_run() -> None:
    import doctest
    import importlib

    for name in ("cnncourse.nas", "cnncourse.nas.analysis", "cnncourse.nas.driver", "cnncourse.nas.log"):
        failures, _ = doctest.testmod(importlib.import_module(name))
        assert failures == 0, name
