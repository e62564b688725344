"""Chapter 09's scaling experiment: one tiny EfficientNet-style baseline scaled by width only, depth
only, resolution only and compound scaling (Tan & Le, 2019, arXiv:1905.11946, Section 3 and Fig. 3/4),
each to about 2× and 4× the baseline's multiply-adds, trained with one recipe on a fixed subset of
Fashion-MNIST.

The paper's experiment is on ImageNet; this one is sized for a CPU: the whole set of reference runs
(:data:`REFERENCE_RUN`, three seeds) took 20 minutes of one CPU thread. It can show how accuracy moves with
multiply-adds for each way of spending them *at this scale*; it cannot show which rule wins on ImageNet.
The same network's accuracy differs by 0.5 to 2.3 points between the three seeds of :data:`SEEDS`, so
smaller differences between methods are noise.

* Resolution scaling upsamples the 28×28 images (bilinear) to r×r: no new information, only more
  pixels for the network to look at.
* Width multiplies every channel count (rounded to a multiple of :data:`CHANNEL_DIVISOR`), depth the
  number of blocks of each stage (rounded up, as EfficientNet does).
* Compound scaling uses the paper's constants α = 1.2 (depth), β = 1.1 (width), γ = 1.15 (resolution)
  found for B0 on ImageNet; there was no grid search for this baseline (it would cost more than the
  whole experiment).

The multiplier of each run is chosen so that the *measured* multiply-adds (``count_macs``) are as close
as possible to the target: rounding makes the formula's factors miss (see :func:`plan`).

Command line (one thread; each finished run is written as a JSON file and skipped when it exists,
so an interrupted experiment restarts where it stopped)::

    OMP_NUM_THREADS=1 python -m cnncourse.scaling --out cnncourse/checkpoints/scaling
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from cnncourse.data import ImageDataset
from cnncourse.errors import CourseError
from cnncourse.models.efficientnet import (
    ALPHA_DEPTH,
    BETA_WIDTH,
    GAMMA_RESOLUTION,
    EfficientNet,
    MBConvStage,
    ScalingCoefficients,
)
from cnncourse.profile import count_macs, count_parameters

#: The baseline: a stem (3×3, stride 2, 16 channels) and four MBConv stages in Table 1's style, head
#: 4 × the last stage's channels. 28×28 → 14×14 after the stem, 7×7, 4×4, 2×2 after the stages.
BASELINE_TABLE: tuple[MBConvStage, ...] = (
    MBConvStage(1, 3, 1, 16, 16, 1),
    MBConvStage(6, 3, 2, 16, 24, 2),
    MBConvStage(6, 5, 2, 24, 40, 2),
    MBConvStage(6, 3, 2, 40, 64, 1),
)
BASELINE_RESOLUTION: int = 28
STEM_STRIDE: int = 2
#: Widths round to multiples of 4 (EfficientNet uses 8; at 16 channels that would make width steps
#: of 50%).
CHANNEL_DIVISOR: int = 4
NUM_CLASSES: int = 10

#: The four ways of spending multiply-adds, in the order the chapter plots them.
METHODS: tuple[str, ...] = ("width", "depth", "resolution", "compound")
#: Targets as multiples of the baseline's multiply-adds.
TARGETS: tuple[float, ...] = (2.0, 4.0)


@dataclass(frozen=True)
class ScalingConfig:
    """One network of the experiment: width and depth multipliers and the input resolution."""

    name: str
    method: str
    target: float
    width: float
    depth: float
    resolution: int
    phi: float | None = None


@dataclass(frozen=True)
class Recipe:
    """The one training recipe every run uses."""

    train_images: int = 5000
    test_images: int = 3000
    epochs: int = 3
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.1
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    augment: bool = False
    dropout: float = 0.0
    stochastic_depth_prob: float = 0.0


#: The reference runs' recipe (all 27 runs together: 19.5 minutes of one thread on the course machine).
REFERENCE_RUN = Recipe()
#: The live run of fast mode: a few hundred images, one epoch.
FAST_RUN = Recipe(train_images=512, test_images=256, epochs=1, batch_size=64)
#: Seeds of the nine reference runs (data order and initial weights; the subset is always the first
#: images). All nine run with seed 0 first, then with seed 1, then seed 2: the seeds' spread is the noise.
SEEDS: tuple[int, ...] = (0, 1, 2)
#: Extra seeds of the baseline alone (none by default), trained after the nine.
NOISE_SEEDS: tuple[int, ...] = ()


def build(config: ScalingConfig, recipe: Recipe = REFERENCE_RUN) -> EfficientNet:
    """The network of ``config`` (1 input channel, 10 classes)."""
    return EfficientNet(
        coefficients=ScalingCoefficients(config.width, config.depth, config.resolution, recipe.dropout),
        num_classes=NUM_CLASSES,
        in_channels=1,
        stochastic_depth_prob=recipe.stochastic_depth_prob,
        table=BASELINE_TABLE,
        stem_stride=STEM_STRIDE,
        channel_divisor=CHANNEL_DIVISOR,
    )


def macs_of(width: float, depth: float, resolution: int) -> int:
    """Measured multiply-adds of one image through the network with these multipliers."""
    config = ScalingConfig("probe", "probe", 1.0, width, depth, resolution)
    return count_macs(build(config), (1, resolution, resolution))


def baseline() -> ScalingConfig:
    return ScalingConfig("baseline", "baseline", 1.0, 1.0, 1.0, BASELINE_RESOLUTION)


def _candidates(method: str) -> list[tuple[float, float, int, float | None]]:
    if method == "width":
        return [(1 + k / 100, 1.0, BASELINE_RESOLUTION, None) for k in range(0, 201)]
    if method == "depth":
        return [(1.0, 1 + k / 20, BASELINE_RESOLUTION, None) for k in range(0, 121)]
    if method == "resolution":
        return [(1.0, 1.0, r, None) for r in range(BASELINE_RESOLUTION, 81)]
    if method == "compound":
        out = []
        for k in range(0, 161):
            phi = k / 40
            out.append((BETA_WIDTH**phi, ALPHA_DEPTH**phi,
                        round(BASELINE_RESOLUTION * GAMMA_RESOLUTION**phi), phi))
        return out
    raise CourseError(f"method must be one of {METHODS}, got {method!r}.")


def scaled(method: str, target: float) -> ScalingConfig:
    """The multiplier of ``method`` whose measured multiply-adds are closest to ``target`` × baseline.

    Searched on a grid (width in steps of 0.01, depth 0.05, resolution 1 pixel, compound φ 0.025); the
    distance is |log(MACs / (target · baseline MACs))|.
    """
    base = macs_of(1.0, 1.0, BASELINE_RESOLUTION)
    best = None
    cache: dict[tuple[float, float, int], int] = {}
    for width, depth, resolution, phi in _candidates(method):
        key = (width, depth, resolution)
        if key not in cache:
            cache[key] = macs_of(width, depth, resolution)
        distance = abs(math.log(cache[key] / (target * base)))
        if best is None or distance < best[0] - 1e-12:
            best = (distance, width, depth, resolution, phi)
    assert best is not None
    _, width, depth, resolution, phi = best
    return ScalingConfig(f"{method}_{target:g}x", method, target, width, depth, resolution, phi)


def plan() -> list[ScalingConfig]:
    """The nine networks: the baseline, then each method at 2× and 4×."""
    return [baseline()] + [scaled(method, target) for method in METHODS for target in TARGETS]


def describe(config: ScalingConfig) -> dict[str, object]:
    """Multipliers, parameters, multiply-adds and the stage depths/widths of ``config``'s network."""
    model = build(config)
    stages = model.features[1:-1]
    return {
        **asdict(config),
        "parameters": count_parameters(model),
        "macs": count_macs(model, (1, config.resolution, config.resolution)),
        "stage_blocks": [len(stage) for stage in stages],
        "stage_channels": [stage[-1].out_channels for stage in stages],
    }


def upsample(data: ImageDataset, resolution: int) -> ImageDataset:
    """``data`` resized bilinearly to ``resolution``² (uint8, rounded); unchanged at its own size."""
    if resolution == data.images.shape[-1]:
        return data
    images = F.interpolate(data.images.float(), size=(resolution, resolution), mode="bilinear",
                           align_corners=False)
    images = images.round().clamp(0, 255).to(torch.uint8)
    return ImageDataset(data.spec, images, data.labels, train=data.train, source=data.source)


def train_one(
    config: ScalingConfig,
    train_data: ImageDataset,
    test_data: ImageDataset,
    recipe: Recipe = REFERENCE_RUN,
    *,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, object]:
    """Train ``config``'s network with ``recipe`` on the first ``recipe.train_images`` training images
    and test on the first ``recipe.test_images`` test images; return a JSON-ready record."""
    from cnncourse.train import fit, seed_everything

    train = upsample(train_data.take(recipe.train_images), config.resolution)
    test = upsample(test_data.take(recipe.test_images), config.resolution)
    seed_everything(seed)
    model = build(config, recipe)
    start, cpu_start = time.perf_counter(), time.process_time()
    history = fit(
        model, train, recipe.epochs, val_data=test, optimizer=recipe.optimizer, lr=recipe.lr,
        weight_decay=recipe.weight_decay, schedule=recipe.schedule, batch_size=recipe.batch_size,
        augment=recipe.augment, seed=seed, progress=progress, fast=False, device="cpu",
    )
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    return {
        "config": describe(config),
        "recipe": asdict(recipe),
        "seed": seed,
        "threads": torch.get_num_threads(),
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "test_accuracy": history.val_accuracy[-1],
        "history": history.to_dict(),
    }


def run_file(out: Path, config: ScalingConfig, seed: int) -> Path:
    return out / f"{config.name}_seed{seed}.json"


def load_results(folder: str | os.PathLike[str]) -> list[dict[str, object]]:
    """Every finished run in ``folder`` (sorted by method, then multiply-adds)."""
    records = [json.loads(path.read_text()) for path in sorted(Path(folder).glob("*_seed*.json"))]
    order = {name: index for index, name in enumerate(("baseline",) + METHODS)}
    return sorted(records, key=lambda r: (order[r["config"]["method"]], r["config"]["macs"], r["seed"]))


def interleaved_latency_ms(
    models: dict[str, tuple[torch.nn.Module, torch.Tensor]], rounds: int, warmup: int = 1
) -> dict[str, float]:
    """Median CPU time of one forward pass of each model, in ms, the models taking turns in every round.

    Taking turns means a burst of other work on a shared machine slows every model of that round rather
    than one model's whole measurement, so the *ratios* hold better than the absolute times. Each entry
    is ``name: (model, input batch)``; models run in eval mode without autograd.
    """
    if rounds < 1:
        raise CourseError(f"rounds must be at least 1, got {rounds}.")
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for model, x in models.values():
            model.eval()
            for _ in range(warmup):
                model(x)
        for _ in range(rounds):
            for name, (model, x) in models.items():
                start = time.perf_counter()
                model(x)
                times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cnncourse.scaling", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="cnncourse/checkpoints/scaling")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--noise-seeds", type=int, nargs="*", default=list(NOISE_SEEDS),
                        help="extra seeds of the baseline alone, trained after the nine")
    parser.add_argument("--only", nargs="+", default=None, help="run names to train (default: all nine)")
    parser.add_argument("--plan-only", action="store_true", help="print the nine networks and stop")
    args = parser.parse_args(argv)
    from cnncourse.data import fashion_mnist

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    configs = plan()
    (out / "plan.json").write_text(json.dumps([describe(c) for c in configs], indent=1) + "\n")
    for c in configs:
        d = describe(c)
        print(f"{c.name:<16} w={c.width:.2f} d={c.depth:.2f} r={c.resolution} "
              f"macs={d['macs']/1e6:.2f}M params={d['parameters']}", flush=True)
    if args.plan_only:
        return 0
    train_data, test_data = fashion_mnist(train=True), fashion_mnist(train=False)
    jobs = [(seed, config) for seed in args.seeds for config in configs]
    jobs += [(seed, configs[0]) for seed in args.noise_seeds if seed not in args.seeds]
    for seed, config in jobs:
        if args.only and config.name not in args.only:
            continue
        path = run_file(out, config, seed)
        if path.exists():
            print(f"{path} exists, skipped", flush=True)
            continue
        record = train_one(config, train_data, test_data, seed=seed)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        tmp.replace(path)
        print(f"{config.name} seed {seed}: {record['test_accuracy']:.4f} in {record['seconds']:.0f} s",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
