"""Run (or resume) the reference searches: ``OMP_NUM_THREADS=1 python -m cnncourse.nas.reference``.

Runs evolution and random search for every seed in :data:`REFERENCE_SEEDS`, one after the other, on one
torch thread, appending to the logs in this folder; an interrupted run resumes where it stopped.
``--latency-target-ms T`` afterwards runs the latency-aware evolution (MnasNet's soft reward); ``median``
takes the median latency of the genomes the accuracy-only searches of seed 0 evaluated (a target measured
on this machine, which half of them miss). ``--hand-designed`` scores ResNet-20 and DenseNet-BC (k=12, 40
layers) with the same fitness, for comparison (``hand_designed.json``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from dataclasses import asdict

import torch

from cnncourse.models import create_model
from cnncourse.nas import TrainingFitness, read_log, search
from cnncourse.nas.reference import (
    HAND_DESIGNED,
    LATENCY_AWARE_NAME,
    REFERENCE_BUDGET,
    REFERENCE_DIR,
    REFERENCE_POPULATION,
    REFERENCE_SEEDS,
    REFERENCE_STRATEGIES,
    log_path,
)
from cnncourse.train import seed_everything


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.nas.reference")
    parser.add_argument("--budget", type=int, default=REFERENCE_BUDGET)
    parser.add_argument("--seeds", type=int, nargs="*", default=list(REFERENCE_SEEDS))
    parser.add_argument("--strategies", nargs="*", default=list(REFERENCE_STRATEGIES),
                        help="run only these (e.g. one per process: the logs are separate files)")
    parser.add_argument("--latency-target-ms", default=None,
                        help="also run the latency-aware evolution with this target (ms, or 'median')")
    parser.add_argument("--hand-designed", action="store_true",
                        help="score ResNet-20 and DenseNet-BC-40 with the same fitness")
    arguments = parser.parse_args(argv)
    torch.set_num_threads(1)
    fitness = TrainingFitness()
    for seed in arguments.seeds:
        for strategy in arguments.strategies:
            start = time.perf_counter()
            result = search(budget=arguments.budget, strategy=strategy, fitness=fitness, seed=seed,
                            log_path=log_path(strategy, seed), population_size=REFERENCE_POPULATION,
                            progress=False)
            print(f"{time.perf_counter() - start:.0f} s: {result!r}", flush=True)
    if arguments.latency_target_ms is not None:
        target = arguments.latency_target_ms
        if target == "median":
            latencies = [e.latency_ms for strategy in REFERENCE_STRATEGIES
                         for e in read_log(log_path(strategy, 0))[1]]
            target = round(statistics.median(latencies), 2)
        # The reward depends on each latency, so it is timed more often than the default five runs.
        aware = TrainingFitness(latency_target_ms=float(target), latency_repeats=21)
        start = time.perf_counter()
        result = search(budget=arguments.budget, strategy="evolution", fitness=aware, seed=0,
                        log_path=REFERENCE_DIR / f"{LATENCY_AWARE_NAME}.jsonl",
                        population_size=REFERENCE_POPULATION, progress=False)
        print(f"{time.perf_counter() - start:.0f} s: {result!r}", flush=True)
    if arguments.hand_designed:
        scores = {}
        for name in HAND_DESIGNED:
            start = time.perf_counter()
            seed_everything(fitness.seed)
            measured = fitness.score_model(create_model(name, in_channels=1, num_classes=10))
            scores[name] = {**asdict(measured), "seconds": time.perf_counter() - start}
            print(name, scores[name], flush=True)
        (REFERENCE_DIR / "hand_designed.json").write_text(
            json.dumps({"fitness": fitness.describe(), "scores": scores}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
