"""The search driver: evolution (AE-CNN's genetic algorithm) or random search, at the same budget.

``search(space, budget, strategy="evolution" | "random", fitness=..., seed=...)`` trains at most
``budget`` distinct genomes, each scored by ``fitness`` (by default :class:`TrainingFitness`: a short
training run on a fixed Fashion-MNIST subset). A genome met again is not trained again: its fitness
comes from the cache, keyed by :meth:`Genome.key`, and costs no budget. With ``log_path`` every trained
genome is appended to a JSON-lines log (:mod:`cnncourse.nas.log`) that a later call with the same
settings replays and continues.

* **evolution** — the genetic algorithm of AE-CNN (Sun, Xue, Zhang & Yen, IEEE TNNLS 2020,
  arXiv:1810.11875, Section III): a random initial population (:func:`random_genome`); each generation
  makes as many offspring as the population holds — two parents by binary tournament
  (:func:`tournament_select`), one-point crossover with probability ``crossover_prob``
  (:func:`crossover`), then each child mutated with probability ``mutation_prob`` (:func:`mutate`) —
  and the next population is chosen from parents and offspring together by
  :func:`environmental_selection` (binary tournaments plus the best kept). The defaults 0.9 and 0.2
  are those of the AE-CNN implementation in BenchENAS.
* **random** — independent draws from the same space until the same budget is spent: by default
  (``sampler="initial"``) from :func:`random_genome`, the distribution that seeds evolution's first
  population; with ``sampler="uniform"`` every valid genome of up to ``space.max_units`` units — all
  that mutation and crossover can reach — is equally likely (:func:`uniform_genome`), which in practice
  means mostly the longest genomes. Li & Talwalkar (2019, "Random
  Search and Reproducibility for Neural Architecture Search", arXiv:1902.07638) showed why a search
  method is only convincing next to this baseline at an equal budget.

Both are deterministic for a seed: the genomes drawn depend only on ``seed`` and on the fitness values,
and a replayed log supplies the same values.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.models.aecnn import (
    CPU_SEARCH_SPACE,
    Genome,
    SearchSpace,
    crossover,
    environmental_selection,
    mutate,
    random_genome,
    tournament_select,
    uniform_genome,
)
from cnncourse.nas.fitness import Scores, TrainingFitness
from cnncourse.nas.log import Evaluation, LogWriter, read_log

STRATEGIES: tuple[str, ...] = ("evolution", "random")
#: How random search draws: like evolution's initial population, or uniformly over all valid genomes.
SAMPLERS: tuple[str, ...] = ("initial", "uniform")
#: AE-CNN's probabilities in its BenchENAS implementation: crossover per pair, mutation per child.
CROSSOVER_PROB, MUTATION_PROB = 0.9, 0.2
#: The search stops early when this many genomes in a row were already evaluated (the space, or the
#: population, has nothing new left to offer).
DEFAULT_MAX_REPEATS = 200


@dataclass
class SearchResult:
    """What a search did: every evaluation (in the order trained), the final population (evolution),
    and how much came from the log, from the cache, and from training in this call."""

    strategy: str
    seed: int
    budget: int
    evaluations: list[Evaluation]
    population: list[Genome] = field(default_factory=list)
    trained: int = 0
    replayed: int = 0
    cache_hits: int = 0
    stopped_early: str | None = None
    log_path: Path | None = None

    @property
    def best(self) -> Evaluation:
        """The evaluation with the highest fitness (the earliest among equals)."""
        if not self.evaluations:
            raise CourseError("This search evaluated no genome, so it has no best one.")
        return max(self.evaluations, key=lambda evaluation: evaluation.fitness)  # max keeps the first

    def __repr__(self) -> str:
        text = (
            f"SearchResult({self.strategy}, seed {self.seed}: {len(self.evaluations)}/{self.budget} genomes "
            f"evaluated ({self.trained} trained now, {self.replayed} from the log), "
            f"{self.cache_hits} cache hits"
        )
        if self.evaluations:
            best = self.best
            text += (
                f"; best fitness {best.fitness:.4f} (accuracy {best.accuracy:.1%}): {best.genome.describe()}"
            )
        if self.stopped_early:
            text += f"; stopped early: {self.stopped_early}"
        return text + ")"


class _BudgetSpent(Exception):
    pass


class _Evaluator:
    """Scores genomes: from the cache, else from the log being replayed, else by training them."""

    def __init__(
        self,
        fitness: Callable[[Genome], Scores],
        budget: int,
        replay: list[Evaluation],
        writer: LogWriter | None,
        max_repeats: int,
        progress: bool,
        strategy: str,
    ) -> None:
        from tqdm.auto import tqdm

        self.fitness, self.budget, self.writer, self.max_repeats = fitness, budget, writer, max_repeats
        self.replay = replay
        self.evaluations: list[Evaluation] = []
        self.cache: dict[str, Evaluation] = {}
        self.cache_hits = self.trained = self.replayed = 0
        self.repeats_in_a_row = 0
        self.bar = tqdm(total=budget, desc=f"{strategy} search", unit="genome", disable=not progress,
                        dynamic_ncols=True)

    def __call__(self, genome: Genome, generation: int) -> float:
        key = genome.key()
        if key in self.cache:
            self.cache_hits += 1
            self.repeats_in_a_row += 1
            if self.repeats_in_a_row > self.max_repeats:
                raise _BudgetSpent(
                    f"{self.max_repeats} genomes in a row had been evaluated before; the space or the "
                    "population has nothing new left"
                )
            return self.cache[key].fitness
        if len(self.evaluations) >= self.budget:
            raise _BudgetSpent(None)
        index = len(self.evaluations)
        if index < len(self.replay):
            evaluation = self.replay[index]
            if evaluation.key != key or evaluation.generation != generation:
                where = self.writer.path if self.writer is not None else "being replayed"
                raise CourseError(
                    f"The search log {where} does not match this search: its evaluation {index} is "
                    f"{evaluation.genome.describe()} (generation {evaluation.generation}), but this search "
                    f"asks for {genome.describe()} (generation {generation}) at that point. It was written "
                    "with other settings or another version of the library; give search() another log_path."
                )
            self.replayed += 1
        else:
            start = time.perf_counter()
            scores = self.fitness(genome)
            if not isinstance(scores, Scores):
                raise CourseError(
                    f"The fitness must return cnncourse.nas.Scores, got {type(scores).__name__}."
                )
            evaluation = Evaluation(
                index=index,
                generation=generation,
                genome=genome,
                accuracy=scores.accuracy,
                fitness=scores.fitness,
                parameters=scores.parameters,
                macs=scores.macs,
                latency_ms=scores.latency_ms,
                seconds=time.perf_counter() - start,
            )
            if self.writer is not None:
                self.writer.append(evaluation.to_json())
            self.trained += 1
        self.repeats_in_a_row = 0
        self.cache[key] = evaluation
        self.evaluations.append(evaluation)
        best = max(e.fitness for e in self.evaluations)
        self.bar.set_postfix(best=f"{best:.4f}", refresh=False)
        self.bar.update(1)
        return evaluation.fitness


def _check_probability(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise CourseError(f"{name} must be a probability in [0, 1], got {value!r}.")


def _describe_fitness(fitness: Callable[[Genome], Scores]) -> object:
    describe = getattr(fitness, "describe", None)
    if callable(describe):
        return describe()
    return {"callable": getattr(fitness, "__qualname__", type(fitness).__qualname__)}


def _run_evolution(
    evaluate: _Evaluator,
    rng: random.Random,
    space: SearchSpace,
    input_size: int,
    population_size: int,
    crossover_prob: float,
    mutation_prob: float,
    result: SearchResult,
) -> None:
    """AE-CNN's loop; ``result.population`` always holds the latest population, also when the budget
    runs out in the middle of a generation (then parents and the offspring evaluated so far compete)."""
    population = [random_genome(rng, space, input_size=input_size) for _ in range(population_size)]
    fitnesses: list[float] = []
    try:
        for genome in population:
            fitnesses.append(evaluate(genome, 0))
    except _BudgetSpent:
        result.population = population[: len(fitnesses)]
        raise
    result.population = population
    generation = 0
    while True:
        generation += 1
        offspring: list[Genome] = []
        while len(offspring) < population_size:
            first = tournament_select(population, fitnesses, rng)
            second = tournament_select(population, fitnesses, rng)
            if rng.random() < crossover_prob:
                first, second = crossover(first, second, rng, space, input_size=input_size)
            for child in (first, second):
                if rng.random() < mutation_prob:
                    child = mutate(child, rng, space, input_size=input_size)
                offspring.append(child)
        offspring = offspring[:population_size]
        offspring_fitnesses: list[float] = []
        try:
            for child in offspring:
                offspring_fitnesses.append(evaluate(child, generation))
        except _BudgetSpent:
            evaluated = offspring[: len(offspring_fitnesses)]
            result.population = environmental_selection(
                population + evaluated, fitnesses + offspring_fitnesses, population_size, rng
            )
            raise
        population = environmental_selection(
            population + offspring, fitnesses + offspring_fitnesses, population_size, rng
        )
        fitnesses = [evaluate.cache[genome.key()].fitness for genome in population]
        result.population = population


def search(
    space: SearchSpace = CPU_SEARCH_SPACE,
    budget: int = 20,
    strategy: Literal["evolution", "random"] = "evolution",
    fitness: Callable[[Genome], Scores] | None = None,
    seed: int = 0,
    *,
    log_path: str | os.PathLike[str] | None = None,
    population_size: int = 8,
    crossover_prob: float = CROSSOVER_PROB,
    mutation_prob: float = MUTATION_PROB,
    input_size: int | None = None,
    max_repeats: int = DEFAULT_MAX_REPEATS,
    sampler: Literal["initial", "uniform"] = "initial",
    progress: bool = True,
) -> SearchResult:
    """Search ``space`` for the fittest genome, training at most ``budget`` distinct genomes.

    Args:
        space: the ranges genomes are drawn from (:data:`CPU_SEARCH_SPACE` by default).
        budget: how many distinct genomes may be trained (a cache hit costs nothing).
        strategy: ``"evolution"`` (AE-CNN's genetic algorithm) or ``"random"`` (random search).
        fitness: scores one genome; None builds :class:`TrainingFitness` (loads Fashion-MNIST).
        seed: decides every random choice of the search (not the training: that is the fitness's seed).
        log_path: a JSON-lines file. New: it is created with a header. Existing: it must have been
            written by a search with the same strategy, seed, space, settings and fitness; its
            evaluations are replayed (not retrained) and the search continues, appending. A larger
            ``budget`` than before extends a finished search. The file is never rewritten.
        population_size: individuals per generation (evolution); the batch size of the generation
            numbers random search writes.
        crossover_prob, mutation_prob: AE-CNN's probabilities (evolution only).
        input_size: image side; it limits the number of pooling units a valid genome may have. None
            takes the fitness's (``fitness.input_size``, as :class:`TrainingFitness` has), else 28.
        max_repeats: stop early after this many genomes in a row that were already evaluated.
        sampler: how random search draws (random only): ``"initial"`` like evolution's first
            population (:func:`random_genome`), ``"uniform"`` uniformly over every valid genome
            (:func:`uniform_genome`).
        progress: show a tqdm bar over the budget.

    Returns:
        a :class:`SearchResult`; ``result.best`` is the fittest evaluation.
    """
    if strategy not in STRATEGIES:
        raise UnknownNameError("search strategy", str(strategy), STRATEGIES)
    if sampler not in SAMPLERS:
        raise UnknownNameError("random-search sampler", str(sampler), SAMPLERS)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
        raise CourseError(f"budget must be a whole number of genomes >= 1, got {budget!r}.")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise CourseError(f"seed must be a whole number, got {seed!r}.")
    if not isinstance(space, SearchSpace):
        raise CourseError(
            "space must be a cnncourse.models.aecnn.SearchSpace (e.g. CPU_SEARCH_SPACE), "
            f"got {type(space).__name__}."
        )
    if isinstance(population_size, bool) or not isinstance(population_size, int) or population_size < 2:
        raise CourseError(f"population_size must be a whole number >= 2, got {population_size!r}.")
    if isinstance(max_repeats, bool) or not isinstance(max_repeats, int) or max_repeats < 1:
        raise CourseError(f"max_repeats must be a whole number >= 1, got {max_repeats!r}.")
    _check_probability("crossover_prob", crossover_prob)
    _check_probability("mutation_prob", mutation_prob)
    if fitness is None:
        fitness = TrainingFitness()
    if not callable(fitness):
        raise CourseError(
            f"fitness must be callable as fitness(genome) -> Scores, got {type(fitness).__name__}."
        )
    data_size = getattr(fitness, "input_size", None)
    data_side = data_size[-1] if isinstance(data_size, tuple) else None
    if input_size is None:
        input_size = data_side if isinstance(data_side, int) else 28
    if isinstance(input_size, bool) or not isinstance(input_size, int) or input_size < 1:
        raise CourseError(f"input_size must be a positive number of pixels, got {input_size!r}.")
    if isinstance(data_side, int) and data_side != input_size:
        raise CourseError(
            f"input_size={input_size}, but the fitness trains on {data_side}-pixel images; leave "
            "input_size out (None) to take the fitness's."
        )

    settings = {
        "population_size": population_size,
        "crossover_prob": crossover_prob,
        "mutation_prob": mutation_prob,
        "input_size": input_size,
    }
    if strategy == "random":
        settings = {"population_size": population_size, "input_size": input_size, "sampler": sampler}
    header: dict[str, object] = json.loads(
        json.dumps(
            {
                "record": "search",
                "version": 1,
                "strategy": strategy,
                "seed": seed,
                "space": asdict(space),
                "settings": settings,
                "fitness": _describe_fitness(fitness),
            }
        )
    )
    replay: list[Evaluation] = []
    writer: LogWriter | None = None
    path = None if log_path is None else Path(log_path)
    if path is not None:
        existing = read_log(path) if path.is_file() else (None, [])
        logged_header, replay = existing
        writer = LogWriter(path)
        if logged_header is None:
            writer.append(header)
        else:
            different = [name for name in header if header[name] != logged_header.get(name)]
            if different:
                details = "; ".join(
                    f"{name}: log {json.dumps(logged_header.get(name))}, now {json.dumps(header[name])}"
                    for name in different
                )
                raise CourseError(
                    f"The search log {path} was written by a different search ({details}). Resume it with "
                    "the settings it was written with, or give search() another log_path."
                )

    evaluator = _Evaluator(fitness, budget, replay, writer, max_repeats, progress, strategy)
    rng = random.Random(seed)
    result = SearchResult(strategy=strategy, seed=seed, budget=budget, evaluations=[], log_path=path)
    try:
        if strategy == "evolution":
            _run_evolution(
                evaluator, rng, space, input_size, population_size, crossover_prob, mutation_prob, result
            )
        else:
            draw = random_genome if sampler == "initial" else uniform_genome
            while True:
                generation = len(evaluator.evaluations) // population_size
                evaluator(draw(rng, space, input_size=input_size), generation)
    except _BudgetSpent as stop:
        result.stopped_early = stop.args[0] if stop.args else None
    finally:
        evaluator.bar.close()
    result.evaluations = evaluator.evaluations
    result.trained, result.replayed = evaluator.trained, evaluator.replayed
    result.cache_hits = evaluator.cache_hits
    return result


__all__ = [
    "CROSSOVER_PROB",
    "DEFAULT_MAX_REPEATS",
    "MUTATION_PROB",
    "SAMPLERS",
    "STRATEGIES",
    "SearchResult",
    "search",
]
