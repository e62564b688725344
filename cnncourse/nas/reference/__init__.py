"""The reference searches shipped with the course: evolution and random search, same budget, same seeds.

Chapter 08 plots these logs (best fitness per generation, accuracy against cost, the Pareto front) and
the genome ``aecnn_searched`` (:mod:`cnncourse.models.aecnn`) is the best one they found. Every log was
written by :func:`cnncourse.nas.search` with :class:`cnncourse.nas.TrainingFitness` at its defaults
(2,048 training and 1,024 validation images of Fashion-MNIST's training split, 2 epochs), one CPU thread;
``python -m cnncourse.nas.reference`` runs them again (resuming whatever logs are already there).

Each file is ``<strategy>-seed<seed>.jsonl``; :func:`reference_logs` reads them all.
"""

from __future__ import annotations

import os
from pathlib import Path

from cnncourse.errors import CourseError
from cnncourse.nas.log import Evaluation, read_log

#: Where the logs live (inside the package, next to this file).
REFERENCE_DIR = Path(__file__).resolve().parent
#: The settings every reference search used.
REFERENCE_BUDGET = 16
REFERENCE_POPULATION = 4
REFERENCE_SEEDS: tuple[int, ...] = (0, 1)
REFERENCE_STRATEGIES: tuple[str, ...] = ("evolution", "random")
#: The latency-aware run: evolution with MnasNet's soft reward, seed 0, same budget.
LATENCY_AWARE_NAME = "latency-evolution-seed0"
#: The best genome of these logs, retrained with the course's reference recipe (see ``aecnn_searched``).
SEARCHED_CHECKPOINT = "aecnn_searched_fashion_mnist_10ep"
SEARCHED_RECIPE, SEARCHED_EPOCHS, SEARCHED_TARGET = "fast", 10, 0.935
SEARCHED_TRAIN_COMMAND = (
    f"python -m cnncourse train --model aecnn_searched --dataset fashion-mnist --epochs {SEARCHED_EPOCHS} "
    f"--recipe {SEARCHED_RECIPE} --seed 0 --name {SEARCHED_CHECKPOINT}"
)
#: Hand-designed networks scored with the same fitness (``hand_designed.json``).
HAND_DESIGNED: tuple[str, ...] = ("resnet20", "densenet_bc_40_12")


def log_name(strategy: str, seed: int) -> str:
    return f"{strategy}-seed{seed}.jsonl"


def log_path(strategy: str, seed: int, directory: str | os.PathLike[str] | None = None) -> Path:
    return Path(directory or REFERENCE_DIR) / log_name(strategy, seed)


def reference_logs(
    directory: str | os.PathLike[str] | None = None,
) -> dict[tuple[str, int], tuple[dict[str, object], list[Evaluation]]]:
    """{(strategy, seed): (header, evaluations)} for every reference log (accuracy-only searches)."""
    logs: dict[tuple[str, int], tuple[dict[str, object], list[Evaluation]]] = {}
    for strategy in REFERENCE_STRATEGIES:
        for seed in REFERENCE_SEEDS:
            path = log_path(strategy, seed, directory)
            if not path.is_file():
                raise CourseError(
                    f"The reference search log {path} is missing; run `python -m cnncourse.nas.reference`."
                )
            header, evaluations = read_log(path)
            assert header is not None
            logs[(strategy, seed)] = (header, evaluations)
    return logs


def latency_log(directory: str | os.PathLike[str] | None = None) -> tuple[dict[str, object], list[Evaluation]]:
    """The latency-aware reference search (header, evaluations)."""
    path = Path(directory or REFERENCE_DIR) / f"{LATENCY_AWARE_NAME}.jsonl"
    if not path.is_file():
        raise CourseError(f"The latency-aware reference log {path} is missing.")
    header, evaluations = read_log(path)
    assert header is not None
    return header, evaluations


def hand_designed_scores(directory: str | os.PathLike[str] | None = None) -> dict[str, dict[str, float]]:
    """{model name: scores} of the hand-designed networks trained with the reference fitness."""
    import json

    path = Path(directory or REFERENCE_DIR) / "hand_designed.json"
    if not path.is_file():
        raise CourseError(f"{path} is missing; run `python -m cnncourse.nas.reference --seeds --hand-designed`.")
    return json.loads(path.read_text(encoding="utf-8"))["scores"]


__all__ = [
    "HAND_DESIGNED",
    "LATENCY_AWARE_NAME",
    "SEARCHED_CHECKPOINT",
    "SEARCHED_EPOCHS",
    "SEARCHED_RECIPE",
    "SEARCHED_TARGET",
    "SEARCHED_TRAIN_COMMAND",
    "hand_designed_scores",
    "REFERENCE_BUDGET",
    "REFERENCE_DIR",
    "REFERENCE_POPULATION",
    "REFERENCE_SEEDS",
    "REFERENCE_STRATEGIES",
    "latency_log",
    "log_name",
    "log_path",
    "reference_logs",
]
