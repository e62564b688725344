"""Time to accuracy: the course's textbook recipe against the fast recipe, same model, one invocation.

    python benchmarks/time_to_accuracy.py                         # ResNet-20: textbook 35 epochs vs fast 10
    python benchmarks/time_to_accuracy.py --seeds 0 1             # both recipes for each seed
    python benchmarks/time_to_accuracy.py --epochs 2 --baseline-epochs 3 --train-images 5000   # a short check

What a learner waits for is not images per second but how long it takes until the network is as good as
it is going to get. Each recipe trains the same architecture from the same seed on the real
Fashion-MNIST training set and is measured on all 10,000 test images after every epoch (no decision is
taken from those measurements: both schedules are fixed in advance, and the last epoch's weights are the
result). The textbook recipe (:data:`cnncourse.recipes.RECIPES` ``"textbook"``, what chapters 01–02
used, for ``--baseline-epochs``) is trained first, then the fast recipe for ``--epochs``.

Printed: each recipe's final test accuracy (mean over the seeds) and wall time; then, for the *target* —
the fast recipe's final accuracy (the lowest over the seeds, so every fast run reaches it) unless
``--target`` says otherwise — the first epoch at which each
recipe reached it and the wall time until then, and the ratio of the two times. The textbook recipe's
intermediate epochs are those of its own one-cycle schedule (its learning rate is still high mid-run),
which is what "time to accuracy of a fixed recipe" means; a shorter textbook run would be a different
recipe. Epochs are the machine-independent measure; the wall times depend on this machine and its load,
which is why both recipes run in the same invocation.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch

from cnncourse.data import fashion_mnist
from cnncourse.models import create_model, list_models
from cnncourse.recipes import get_recipe
from cnncourse.train import History, cpu_has_native_bfloat16, fit, pick_device, seed_everything


def train_recipe(model_name: str, recipe: str, epochs: int, seed: int, amp: str | None, train_images: int | None,
                 progress: bool) -> History:
    """One run of ``recipe``; the history's validation columns are the test set's."""
    train_data = fashion_mnist(train=True)
    test_data = fashion_mnist(train=False)
    if train_images is not None:
        train_data = train_data.take(train_images)
    seed_everything(seed)
    model = create_model(model_name, num_classes=10, in_channels=1)
    return fit(model, train_data, epochs, val_data=test_data, seed=seed, amp=amp, fast=False, progress=progress,
               **get_recipe(recipe).settings)


def first_epoch_reaching(history: History, target: float) -> tuple[int, float] | None:
    """(epoch, wall seconds until the end of it) of the first epoch with test accuracy ≥ target."""
    elapsed = 0.0
    for epoch, accuracy, seconds in zip(history.epochs, history.val_accuracy, history.seconds):
        elapsed += seconds
        if accuracy >= target:
            return epoch, elapsed
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet20", help="registry name (default resnet20)")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the fast recipe (default 10)")
    parser.add_argument("--baseline-epochs", type=int, default=35,
                        help="epochs of the textbook recipe (default 35, what chapters 01-02's checkpoints used)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds, each run with both recipes")
    parser.add_argument("--target", type=float, default=None,
                        help="test accuracy to time (fraction; default: the fast recipe's lowest final accuracy)")
    parser.add_argument("--train-images", type=int, default=None, help="train on the first N images only "
                        "(short checks; the default is all 60,000)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--amp", choices=("auto", "bf16", "off"), default="auto",
                        help="auto (default): bf16 autocast where the CPU has bfloat16 hardware or on CUDA")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.model not in list_models():
        parser.error(f"unknown model {args.model!r}; cnncourse.models.list_models() lists them")
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(None)
    amp = {"off": None, "bf16": "bf16"}.get(args.amp)
    if args.amp == "auto" and (device.type == "cuda" or cpu_has_native_bfloat16()):
        amp = "bf16"

    runs: dict[str, list[History]] = {"textbook": [], "fast": []}
    started = time.perf_counter()
    for seed in args.seeds:
        for recipe, epochs in (("textbook", args.baseline_epochs), ("fast", args.epochs)):
            history = train_recipe(args.model, recipe, epochs, seed, amp, args.train_images, not args.no_progress)
            runs[recipe].append(history)
            print(f"seed {seed} {recipe:8s} {epochs:3d} epochs: test accuracy {history.val_accuracy[-1]:.2%} "
                  f"in {sum(history.seconds) / 60:.1f} min", flush=True)

    def mean(values: list[float]) -> float:
        return statistics.fmean(values)

    print(f"\n{args.model} on Fashion-MNIST ({'all 60,000' if args.train_images is None else args.train_images} "
          f"training images), seeds {' '.join(map(str, args.seeds))}, {device}, "
          f"{torch.get_num_threads()} threads, amp {amp or 'off'}; total {(time.perf_counter() - started) / 60:.1f} min")
    print(f"{'recipe':9s} {'epochs':>6s} {'final test accuracy':>20s} {'wall time':>10s}")
    for recipe, histories in runs.items():
        finals = [h.val_accuracy[-1] for h in histories]
        spread = f" ({min(finals):.2%}–{max(finals):.2%})" if len(finals) > 1 else ""
        print(f"{recipe:9s} {len(histories[0]):6d} {mean(finals):>12.2%}{spread:>8s} "
              f"{mean([sum(h.seconds) for h in histories]) / 60:>8.1f} min")

    target = args.target if args.target is not None else min(h.val_accuracy[-1] for h in runs["fast"])
    print(f"\ntime to {target:.2%} test accuracy"
          + (" (the fast recipe's lowest final accuracy)" if args.target is None else "") + ":")
    reached: dict[str, list[tuple[int, float] | None]] = {
        recipe: [first_epoch_reaching(h, target) for h in histories] for recipe, histories in runs.items()}
    for recipe, hits in reached.items():
        text = ", ".join("not reached" if hit is None else f"epoch {hit[0]} ({hit[1] / 60:.1f} min)" for hit in hits)
        print(f"  {recipe:9s} {text}")
    if all(hit is not None for hits in reached.values() for hit in hits):
        times = {recipe: mean([hit[1] for hit in hits if hit is not None]) for recipe, hits in reached.items()}
        epochs = {recipe: mean([hit[0] for hit in hits if hit is not None]) for recipe, hits in reached.items()}
        print(f"ratio textbook / fast: {times['textbook'] / times['fast']:.2f}× the wall time, "
              f"{epochs['textbook'] / epochs['fast']:.2f}× the epochs")
    else:
        print("ratio: not defined (a recipe never reached the target); compare the final accuracies above")
    return 0


if __name__ == "__main__":
    sys.exit(main())
