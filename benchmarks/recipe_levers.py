"""What each change of the fast recipe is worth: the fast recipe with one lever taken out at a time.

    python benchmarks/recipe_levers.py                      # ResNet-20, 10 epochs, every variant (about an hour
                                                            # on a 2-core CPU)
    python benchmarks/recipe_levers.py --epochs 1 --train-images 2000 --model plain_cnn   # a short check

Every variant trains the same architecture from the same seed for the same number of epochs on the real
Fashion-MNIST training set, one after the other in this invocation, and is measured on all 10,000 test
images at the end. Two levers need no run of their own: the weight average never changes the training
trajectory (it only watches it), so the fast run's live weights *are* the run without it; and test-time
augmentation only changes how the test set is measured. Both are read off the fast run.

Printed: one row per variant with the final test accuracy, its difference from the full fast recipe in
points, and the wall time of the run.
"""

from __future__ import annotations

import argparse
import sys

import torch

from cnncourse.data import fashion_mnist
from cnncourse.models import create_model, list_models
from cnncourse.recipes import get_recipe
from cnncourse.train import cpu_has_native_bfloat16, evaluate, fit, pick_device, seed_everything

#: variant → the settings that differ from the fast recipe ("textbook" is the whole other recipe)
VARIANTS: dict[str, dict[str, object]] = {
    "fast": {},
    "without label smoothing": {"label_smoothing": 0.0},
    "without the plain final epoch": {"plain_final_epochs": 0},
    "textbook (none of the four)": dict(get_recipe("textbook").settings),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-images", type=int, default=None, help="first N training images only (short checks)")
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), default=None, help="run these variants only")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.model not in list_models():
        parser.error(f"unknown model {args.model!r}; cnncourse.models.list_models() lists them")
    device = pick_device(None)
    amp = "bf16" if device.type == "cuda" or cpu_has_native_bfloat16() else None
    train_data, test_data = fashion_mnist(train=True), fashion_mnist(train=False)
    if args.train_images is not None:
        train_data = train_data.take(args.train_images)

    rows: list[tuple[str, float, float | None]] = []  # variant, accuracy, minutes (None: read off a run)
    for variant in args.only or list(VARIANTS):
        settings = {**get_recipe("fast").settings, **VARIANTS[variant]}
        seed_everything(args.seed)
        model = create_model(args.model, num_classes=10, in_channels=1)
        history = fit(model, train_data, args.epochs, val_data=test_data, seed=args.seed, amp=amp, fast=False,
                      progress=not args.no_progress, **settings)  # type: ignore[arg-type]
        minutes = sum(history.seconds) / 60
        rows.append((variant, history.val_accuracy[-1], minutes))
        if variant == "fast":
            rows.append(("without the weight average", history.val_accuracy_live[-1], None))
            plain = evaluate(model, test_data, amp=amp, fast=False)
            rows.append(("without flip TTA", float(plain["accuracy"]), None))  # type: ignore[arg-type]
        print(f"{variant}: {history.val_accuracy[-1]:.2%} in {minutes:.1f} min", flush=True)

    reference = next((accuracy for variant, accuracy, _ in rows if variant == "fast"), None)
    print(f"\n{args.model}, {args.epochs} epochs, seed {args.seed}, {device}, {torch.get_num_threads()} threads, "
          f"amp {amp or 'off'}")
    print(f"{'variant':32s} {'test accuracy':>13s} {'vs fast':>8s} {'wall time':>10s}")
    for variant, accuracy, minutes in rows:
        difference = "" if reference is None else f"{100 * (accuracy - reference):+.2f}"
        time_text = "(same run)" if minutes is None else f"{minutes:.1f} min"
        print(f"{variant:32s} {accuracy:>13.2%} {difference:>8s} {time_text:>10s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
