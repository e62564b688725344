"""Architecture search that a learner runs: evolution and random search over AE-CNN genomes.

The networks a search builds are in :mod:`cnncourse.models.aecnn` (models only build networks); this
package trains and measures them:

* :func:`search` — the driver: ``search(space, budget, strategy="evolution" | "random", fitness=...,
  seed=...)``, with a fitness cache keyed by genome, a resumable JSON-lines log and a progress bar;
* :class:`TrainingFitness` — train briefly on a fixed Fashion-MNIST subset, score on a fixed held-out
  subset of the training images, measure parameters, multiply-adds and latency (optionally scoring
  MnasNet's latency reward);
* :func:`read_log` — a log's header and evaluations;
* :func:`best_so_far`, :func:`best_per_generation`, :func:`pareto_front` — what the chapter plots.

>>> from cnncourse.nas import search, pareto_front
>>> # result = search(budget=16, strategy="evolution", seed=0, log_path="evolution-0.jsonl")
>>> # pareto_front(result.evaluations, cost="latency_ms")
"""

from __future__ import annotations

from cnncourse.nas.analysis import COSTS, VALUES, best_per_generation, best_so_far, pareto_front
from cnncourse.nas.fitness import Fitness, Scores, TrainingFitness, fixed_split
from cnncourse.nas.log import LOG_VERSION, Evaluation, read_log
from cnncourse.nas.driver import (
    CROSSOVER_PROB,
    DEFAULT_MAX_REPEATS,
    MUTATION_PROB,
    SAMPLERS,
    STRATEGIES,
    SearchResult,
    search,
)

__all__ = [
    "COSTS",
    "CROSSOVER_PROB",
    "DEFAULT_MAX_REPEATS",
    "Evaluation",
    "Fitness",
    "LOG_VERSION",
    "MUTATION_PROB",
    "SAMPLERS",
    "STRATEGIES",
    "Scores",
    "SearchResult",
    "TrainingFitness",
    "VALUES",
    "best_per_generation",
    "best_so_far",
    "fixed_split",
    "pareto_front",
    "read_log",
    "search",
]
