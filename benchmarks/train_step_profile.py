"""Where a training step's time goes, and how fast a step could get if only the convolutions cost time.

    python benchmarks/train_step_profile.py --threads 1          # ResNet-20, batch 128, 20 profiled steps
    python benchmarks/train_step_profile.py --model plain_cnn --steps 3

``benchmarks/train_throughput.py`` measures *how much* faster ``cnncourse.train`` is than a textbook loop;
this script says *why it cannot be much faster* on a CPU. It profiles forward + backward + SGD step of one
model in three settings, in one invocation: the textbook loop's (NCHW, float32), the course's default
(channels_last, float32) and, where the CPU has bfloat16 hardware, the opt-in bf16 autocast. Each step's
self time is grouped into convolutions (forward and backward), BatchNorm, ReLU, additions, the optimizer
and the rest. The last column is an upper bound: the textbook step's time divided by the setting's
convolution time alone — the speed-up if BatchNorm, ReLU, additions and everything else were free (what
perfect fusion could at most buy). Data loading is not included: ``train_throughput.py --variants`` times
it separately (a few percent of the textbook loop). Inputs are random tensors of the dataset's shape; the
arithmetic does not depend on the pixel values. "add" counts every elementwise addition: the residual
shortcuts, and autograd summing gradients. (The profiler may log its own start/stop lines on stderr.)
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
from torch import nn
from torch.profiler import ProfilerActivity, profile

from cnncourse.models import create_model, list_models
from cnncourse.train import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, cpu_has_native_bfloat16

#: Operator-name fragments per group, tried in order (self CPU time of the aten operators).
GROUPS = {
    "convolution": ("convolution", "mkldnn_conv", "conv2d"),
    "batchnorm": ("batch_norm",),
    "relu": ("relu", "threshold", "clamp_min"),
    "optimizer": ("foreach", "optimizer", "sgd"),
}
#: Matched by exact name: a fragment "add" would also catch aten::addmm, the classifier.
ADDITIONS = ("aten::add", "aten::add_")
COLUMNS = (*GROUPS, "add", "other")


def group_of(operator: str) -> str:
    name = operator.lower()
    if name in ADDITIONS:
        return "add"
    return next((group for group, fragments in GROUPS.items() if any(part in name for part in fragments)), "other")


def profile_steps(model_name: str, batch_size: int, steps: int, *, channels_last: bool, bf16: bool) -> dict[str, float]:
    """Milliseconds per training step, in total and per group (self CPU time, averaged over ``steps``)."""
    torch.manual_seed(0)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = create_model(model_name, num_classes=10, in_channels=1).to(memory_format=memory_format).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=DEFAULT_LR["sgd"], momentum=0.9, nesterov=True,
                                weight_decay=DEFAULT_WEIGHT_DECAY["sgd"])
    images = torch.randn(batch_size, 1, 28, 28).contiguous(memory_format=memory_format)
    labels = torch.randint(0, 10, (batch_size,))

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(3):  # warm-up: oneDNN picks and builds its kernels
        step()
    started = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            step()
    wall_ms = (time.perf_counter() - started) * 1000 / steps
    self_us = dict.fromkeys(COLUMNS, 0.0)
    for event in profiler.key_averages():
        self_us[group_of(event.key)] += event.self_cpu_time_total
    # Scale the self times to the wall time, so that the profiler's own overhead is spread evenly.
    profiled_us = sum(self_us.values())
    return {"step": wall_ms, **{group: wall_ms * value / profiled_us for group, value in self_us.items()}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet20", help="registry name (default resnet20)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20, help="profiled steps per setting (default 20; "
                        "fewer scatter more from run to run)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = parser.parse_args(argv)
    if args.model not in list_models():
        from cnncourse.errors import UnknownNameError

        raise SystemExit(f"error: {UnknownNameError('model', args.model, list_models())}")
    if args.steps < 1 or args.batch_size < 2:
        raise SystemExit("error: --steps must be >= 1 and --batch-size >= 2 (BatchNorm needs two images)")
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = {"textbook (NCHW, float32)": (False, False), "course default (channels_last, float32)": (True, False)}
    if cpu_has_native_bfloat16():
        settings["course, amp='bf16' (channels_last)"] = (True, True)
    print(f"{args.model}, batch {args.batch_size} of 1×28×28, {args.steps} profiled steps per setting, torch "
          f"{torch.__version__}, {torch.get_num_threads()} threads")
    results = {name: profile_steps(args.model, args.batch_size, args.steps, channels_last=channels_last, bf16=bf16)
               for name, (channels_last, bf16) in settings.items()}
    width = max(len(name) for name in results)
    print(f"{'setting'.ljust(width)}  {'ms/step':>8}  " + "  ".join(f"{group:>11}" for group in COLUMNS)
          + "  speed-up   if only convs cost")
    textbook_ms = results["textbook (NCHW, float32)"]["step"]
    for name, times in results.items():
        shares = "  ".join(f"{times[group] / times['step']:>11.0%}" for group in COLUMNS)
        print(f"{name.ljust(width)}  {times['step']:>8.1f}  {shares}  {textbook_ms / times['step']:>7.2f}x  "
              f"{textbook_ms / times['convolution']:>15.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
