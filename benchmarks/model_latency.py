"""Latency of our readable models against torchvision's, with the same weights, on the CPU.

Readable code must not be slow code: for every registered model with a torchvision counterpart (or the
``--models`` you name), this builds both, copies torchvision's randomly initialised weights into ours
(a strict ``load_state_dict``), checks that the outputs agree, then times single-image inference in
the same process. The runs are interleaved (ours, theirs, theirs, ours, ...) so that a slow phase of
the machine hits both; after a warm-up, the medians of the repeats are reported with the median of
the back-to-back ratios ours / torchvision. Target: ≤ 1.05.

Examples::

    python benchmarks/model_latency.py --models resnet18 densenet121 --size 224 --repeats 20
    python benchmarks/model_latency.py --size 128 --repeats 5        # every parity model, quicker
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torchvision
from torch import nn

from cnncourse.errors import CourseError
from cnncourse.models import create_model, list_models, model_info
from cnncourse.models._torchvision import copy_torchvision_state

TARGET_RATIO = 1.05


@dataclass(frozen=True)
class Timing:
    """Median seconds per forward pass of one model pair, and the median of the paired ratios."""

    name: str
    ours: float
    torchvision: float
    ratio: float


def parity_models() -> list[str]:
    """Registered models that have a torchvision counterpart."""
    return [name for name in list_models() if model_info(name).torchvision_name is not None]


def torchvision_counterpart(name: str) -> str:
    """torchvision's name for our model ``name``; a CourseError for a model torchvision lacks."""
    torchvision_name = model_info(name).torchvision_name
    if torchvision_name is None:
        raise CourseError(
            f"{name!r} has no torchvision counterpart; choose from: {', '.join(parity_models())}."
        )
    return torchvision_name


def build_pair(name: str) -> tuple[nn.Module, nn.Module]:
    """Our model and torchvision's, in eval mode, holding the same (random) weights."""
    torchvision_name = torchvision_counterpart(name)
    reference = torchvision.models.get_model(torchvision_name, weights=None).eval()
    ours = create_model(name).eval()
    copy_torchvision_state(ours, reference)
    return ours, reference


def seconds_per_call(model: nn.Module, images: torch.Tensor) -> float:
    start = time.perf_counter()
    model(images)
    return time.perf_counter() - start


def time_pair(name: str, size: int, batch: int, warmup: int, repeats: int) -> Timing:
    ours, reference = build_pair(name)
    images = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected, actual = reference(images), ours(images)
        tolerance = 1e-4 * max(float(expected.abs().max()), 1.0)
        if not torch.allclose(actual, expected, rtol=1e-4, atol=tolerance):
            raise CourseError(f"{name}: our outputs differ from torchvision's; run the parity tests first.")
        for _ in range(warmup):
            seconds_per_call(ours, images)
            seconds_per_call(reference, images)
        ours_times: list[float] = []
        reference_times: list[float] = []
        for repeat in range(repeats):
            # alternate who goes first, so neither always runs on a cache the other just warmed
            if repeat % 2 == 0:
                ours_times.append(seconds_per_call(ours, images))
                reference_times.append(seconds_per_call(reference, images))
            else:
                reference_times.append(seconds_per_call(reference, images))
                ours_times.append(seconds_per_call(ours, images))
    # each back-to-back pair sees the same machine state: their ratios cancel slow drifts of a shared
    # machine better than a ratio of medians does
    paired_ratios = [mine / theirs for mine, theirs in zip(ours_times, reference_times)]
    return Timing(
        name,
        ours=statistics.median(ours_times),
        torchvision=statistics.median(reference_times),
        ratio=statistics.median(paired_ratios),
    )


def format_table(timings: Sequence[Timing], target: float) -> str:
    width = max([len("model"), *(len(t.name) for t in timings)])
    lines = [f"{'model':<{width}}  {'ours ms':>9}  {'torchvision ms':>14}  {'ratio':>6}", "-" * (width + 37)]
    for timing in timings:
        verdict = "" if timing.ratio <= target else f"  slower than {target:.2f}×"
        lines.append(
            f"{timing.name:<{width}}  {timing.ours * 1e3:9.2f}  {timing.torchvision * 1e3:14.2f}  "
            f"{timing.ratio:6.3f}{verdict}"
        )
    return "\n".join(lines)


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", metavar="NAME", help="names (default: all parity models)")
    parser.add_argument("--size", type=int, default=224, help="image side in pixels (default 224)")
    parser.add_argument("--batch", type=int, default=1, help="images per forward pass (default 1)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs of each model first (default 3)")
    parser.add_argument("--repeats", type=int, default=15, help="timed runs of each model (default 15)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--target", type=float, default=TARGET_RATIO, help="flag ratios above (default 1.05)")
    arguments = parser.parse_args(list(argv))
    if arguments.size < 32 or arguments.batch < 1 or arguments.repeats < 1 or arguments.warmup < 0:
        parser.error("need --size ≥ 32, --batch ≥ 1, --repeats ≥ 1 and --warmup ≥ 0")
    return arguments


def main(argv: Sequence[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    if arguments.threads is not None:
        torch.set_num_threads(arguments.threads)
    try:
        names = arguments.models or parity_models()
        for name in names:
            torchvision_counterpart(name)  # a bad name fails now, with close matches, not after the timing
        side = arguments.size
        print(
            f"CPU, {torch.get_num_threads()} thread(s), batch {arguments.batch}, {side}×{side}, median of "
            f"{arguments.repeats} after {arguments.warmup} warm-up runs; torch {torch.__version__}, "
            f"torchvision {torchvision.__version__}",
            flush=True,
        )
        timings = []
        for name in names:
            timing = time_pair(name, arguments.size, arguments.batch, arguments.warmup, arguments.repeats)
            print(f"  {name}: ratio {timing.ratio:.3f}", file=sys.stderr, flush=True)
            timings.append(timing)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_table(timings, arguments.target))
    slower = [t.name for t in timings if t.ratio > arguments.target]
    if slower:
        print(f"\nabove {arguments.target:.2f}×: {', '.join(slower)}")
        print("Timings on a busy machine are noisy: re-run these with more --repeats before concluding.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
