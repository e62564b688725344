"""Training throughput: ``cnncourse.train.fit`` against a textbook PyTorch loop, same model and data.

    python benchmarks/train_throughput.py                  # ResNet-20, 3 rounds of 40 steps of 128 images
    python benchmarks/train_throughput.py --variants       # also: which change bought how much
    python benchmarks/train_throughput.py --model plain_cnn --steps 5

The textbook loop is what most tutorials write: a ``Dataset`` returning one PIL image at a time through
torchvision's per-sample transforms (ToTensor → RandomCrop(28, padding=4) → RandomHorizontalFlip →
Normalize), a ``DataLoader`` that collates them, an eager model in the default (NCHW) memory format.
Ours: the uint8 tensors stay in memory, :class:`cnncourse.data.Batches` crops, flips and normalises
whole batches at once, and the model runs in channels_last (see :func:`cnncourse.train.default_channels_last`).

Both run the same model (fresh, same seed), the same real Fashion-MNIST images, the same batch size,
optimizer (SGD, Nesterov momentum 0.9, weight decay 5e-4) and number of steps, in one invocation.
After ``--warmup`` untimed steps (oneDNN builds its kernels), the loops take turns for ``--repeats``
rounds of ``--steps`` timed steps each, so a change in the machine's load hits all of them alike; the
median round is reported. Only training steps are timed (no evaluation). ``--variants`` adds the intermediate steps (batched
augmentation alone, then channels_last), the opt-in ``amp="bf16"`` where the CPU has bfloat16
hardware, ``torch.compile`` with ``--compile`` (alone and with bf16), and the two data pipelines alone.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
from torch import nn

from cnncourse.data import ImageDataset, fashion_mnist
from cnncourse.models import create_model, list_models
from cnncourse.train import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, cpu_has_native_bfloat16, fit, seed_everything


class PerSampleFashionMNIST(torch.utils.data.Dataset):
    """What torchvision's ``FashionMNIST`` does: one PIL image per item, then the per-sample transforms."""

    def __init__(self, dataset: ImageDataset, transform: Callable[[object], torch.Tensor]) -> None:
        self.images = dataset.images[:, 0].numpy()  # (N, 28, 28) uint8
        self.labels = dataset.labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        from PIL import Image

        return self.transform(Image.fromarray(self.images[index], mode="L")), self.labels[index]


def textbook_transform(dataset: ImageDataset) -> Callable[[object], torch.Tensor]:
    from torchvision import transforms

    return transforms.Compose([
        transforms.ToTensor(),
        transforms.RandomCrop(28, padding=4),
        transforms.RandomHorizontalFlip(),
        transforms.Normalize(dataset.spec.mean, dataset.spec.std),
    ])


def textbook_loader(dataset: ImageDataset, batch_size: int, workers: int) -> torch.utils.data.DataLoader:
    return torch.utils.data.DataLoader(
        PerSampleFashionMNIST(dataset, textbook_transform(dataset)), batch_size=batch_size, shuffle=True,
        drop_last=True, num_workers=workers, persistent_workers=workers > 0,
    )


class TextbookLoop:
    """The textbook training loop, kept alive between timed rounds (model, optimizer, DataLoader iterator)."""

    def __init__(self, model_name: str, dataset: ImageDataset, batch_size: int, workers: int) -> None:
        seed_everything(0)
        self.model = create_model(model_name, num_classes=10, in_channels=1)
        self.model.train()
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=DEFAULT_LR["sgd"], momentum=0.9,
                                         nesterov=True, weight_decay=DEFAULT_WEIGHT_DECAY["sgd"])
        self.loss_function = nn.CrossEntropyLoss()
        self.loader = textbook_loader(dataset, batch_size, workers)
        self.batches = iter(self.loader)
        self.batch_size = batch_size

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        try:
            return next(self.batches)
        except StopIteration:  # a new epoch
            self.batches = iter(self.loader)
            return next(self.batches)

    def run(self, steps: int) -> float:
        """Train ``steps`` steps; return images/second."""
        started = time.perf_counter()
        for _ in range(steps):
            images, labels = self._next_batch()
            loss = self.loss_function(self.model(images), labels)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
        return steps * self.batch_size / (time.perf_counter() - started)


class CourseLoop:
    """``cnncourse.train.fit`` for one epoch of exactly ``steps`` batches per timed round."""

    def __init__(self, model_name: str, dataset: ImageDataset, batch_size: int, *,
                 channels_last: bool | None = None, compile: bool = False, amp: str | None = None) -> None:
        seed_everything(0)
        self.model = create_model(model_name, num_classes=10, in_channels=1)
        self.dataset = dataset
        self.batch_size = batch_size
        self.channels_last = channels_last
        self.compile = compile
        self.amp = amp

    def run(self, steps: int) -> float:
        """Train ``steps`` steps with ``fit``; return the images/second it recorded."""
        history = fit(self.model, self.dataset.take(steps * self.batch_size), 1, optimizer="sgd",
                      schedule="constant", batch_size=self.batch_size, channels_last=self.channels_last,
                      compile=self.compile, amp=self.amp, progress=False, fast=False, device="cpu")
        assert history.steps == [steps]
        return history.images_per_second[0]


def data_only(dataset: ImageDataset, batch_size: int, steps: int, workers: int) -> tuple[float, float]:
    """Images/second of the two data pipelines alone (no model): textbook DataLoader vs Batches."""
    from cnncourse.data import Batches

    loader = iter(textbook_loader(dataset, batch_size, workers))
    next(loader)
    started = time.perf_counter()
    for _ in range(steps):
        next(loader)
    textbook = steps * batch_size / (time.perf_counter() - started)
    batches = Batches(dataset.take((steps + 1) * batch_size), batch_size, shuffle=True, augment=True,
                      drop_last=True, channels_last=True)
    iterator = iter(batches)
    next(iterator)
    started = time.perf_counter()
    for _ in range(steps):
        next(iterator)
    return textbook, steps * batch_size / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="resnet20", help="registry name (default resnet20)")
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per loop (default 40)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before timing (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="timed rounds per loop, alternated; the median "
                        "is reported (default 3)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers of the textbook loop "
                        "(default 0: on a 2-core machine workers compete with the model for the cores)")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    parser.add_argument("--variants", action="store_true", help="also measure the intermediate variants")
    parser.add_argument("--compile", action="store_true", help="with --variants: also time torch.compile")
    args = parser.parse_args(argv)
    if args.model not in list_models():
        from cnncourse.errors import UnknownNameError

        raise SystemExit(f"error: {UnknownNameError('model', args.model, list_models())}")
    if args.steps < 1 or args.warmup < 0 or args.repeats < 1:
        raise SystemExit("error: --steps and --repeats must be >= 1, --warmup >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    dataset = fashion_mnist(train=True)
    needed = max(args.steps, args.warmup) * args.batch_size
    if needed > len(dataset):
        raise SystemExit(f"error: {max(args.steps, args.warmup)} steps of {args.batch_size} need {needed} images, "
                         f"Fashion-MNIST has {len(dataset)}")
    print(f"{args.model}, Fashion-MNIST, batch {args.batch_size}, {args.repeats} rounds of {args.steps} timed steps "
          f"after {args.warmup} warm-up, torch {torch.__version__}, {torch.get_num_threads()} threads, DataLoader workers "
          f"{args.workers}", flush=True)

    loops: dict[str, TextbookLoop | CourseLoop] = {
        "textbook": TextbookLoop(args.model, dataset, args.batch_size, args.workers),
    }
    if args.variants:
        loops["batched"] = CourseLoop(args.model, dataset, args.batch_size, channels_last=False)
    loops["course"] = CourseLoop(args.model, dataset, args.batch_size)
    if args.variants and cpu_has_native_bfloat16():
        loops["bf16"] = CourseLoop(args.model, dataset, args.batch_size, amp="bf16")
    if args.variants and args.compile:
        loops["compiled"] = CourseLoop(args.model, dataset, args.batch_size, compile=True)
        if cpu_has_native_bfloat16():
            loops["bf16 compiled"] = CourseLoop(args.model, dataset, args.batch_size, compile=True, amp="bf16")
    for loop in loops.values():  # warm-up: oneDNN builds its kernels, torch.compile compiles
        if args.warmup:
            loop.run(args.warmup)
    # Alternate the loops round by round, so a change in machine load hits all of them alike.
    rounds: dict[str, list[float]] = {name: [] for name in loops}
    for _ in range(args.repeats):
        for name, loop in loops.items():
            rounds[name].append(loop.run(args.steps))
    speed = {name: statistics.median(values) for name, values in rounds.items()}
    descriptions = {
        "textbook": "textbook loop (DataLoader + per-sample transforms, NCHW)",
        "batched": "cnncourse.train, batched augmentation, NCHW",
        "course": "cnncourse.train (defaults: batched augmentation, channels_last)",
        "bf16": "cnncourse.train, amp='bf16' (opt-in; this CPU has bf16 hardware)",
        "compiled": "cnncourse.train + torch.compile",
        "bf16 compiled": "cnncourse.train, amp='bf16' + torch.compile (both opt-in)",
    }
    width = max(len(descriptions[name]) for name in loops)
    for name in loops:
        spread = ", ".join(f"{value:.0f}" for value in rounds[name])
        print(f"{descriptions[name].ljust(width)}  {speed[name]:8.1f} images/s  ({speed[name] / speed['textbook']:.2f}x;"
              f" rounds: {spread})", flush=True)
    if args.variants:
        data_textbook, data_ours = data_only(dataset, args.batch_size, args.steps, args.workers)
        print(f"data pipeline alone: DataLoader {data_textbook:,.0f} images/s, Batches {data_ours:,.0f} images/s "
              f"({data_ours / data_textbook:.0f}x)", flush=True)
    print(f"ratio cnncourse.train / textbook loop: {speed['course'] / speed['textbook']:.2f}x", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
