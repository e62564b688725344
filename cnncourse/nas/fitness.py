"""What a search maximises: train a genome briefly on a fixed subset of the data, score it, measure it.

:class:`TrainingFitness` is the fitness the course's searches use: every candidate trains for the same
few epochs on the same fixed subset of Fashion-MNIST's training images (chosen by ``subset_seed``) and is
scored on a disjoint, equally fixed validation subset of the *training* set — the test set is kept for
the final evaluation of the winner, never used to choose it. Besides accuracy it records what a
platform-aware search needs: parameters, multiply-adds and latency measured on this machine. With a
``latency_target_ms`` the fitness is MnasNet's reward ACC(m)·[LAT(m)/T]^w (Tan et al., 2019,
arXiv:1807.11626, eq. 2) instead of the accuracy.

Any callable ``fitness(genome) -> Scores`` can replace it (e.g. a cheaper proxy in a test); give it a
``describe()`` method returning its settings as JSON data, so a search log can tell whether it was
written with the same fitness.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch

from cnncourse import settings
from cnncourse.data import ImageDataset, load_dataset
from cnncourse.errors import CourseError
from cnncourse.models.aecnn import Genome
from cnncourse.models.mnasnet import mnasnet_reward

#: Sizes of the fixed subsets by default, and in fast mode (``CNNCOURSE_FAST=1``).
DEFAULT_TRAIN_IMAGES, DEFAULT_VAL_IMAGES = 2048, 1024
FAST_TRAIN_IMAGES, FAST_VAL_IMAGES = 512, 256


@dataclass(frozen=True)
class Scores:
    """One candidate's measurements. ``fitness`` is what selection maximises (the accuracy itself, or
    a reward that also weighs latency); ``accuracy`` is a fraction in [0, 1]."""

    accuracy: float
    fitness: float
    parameters: int
    macs: int
    latency_ms: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.accuracy <= 1.0:
            raise CourseError(f"accuracy must be a fraction in [0, 1], got {self.accuracy!r}.")
        if not math.isfinite(self.fitness):
            raise CourseError(f"fitness must be a finite number, got {self.fitness!r}.")
        if self.parameters < 0 or self.macs < 0 or not self.latency_ms >= 0:
            raise CourseError(
                "parameters, macs and latency_ms must not be negative, got "
                f"{self.parameters!r}, {self.macs!r}, {self.latency_ms!r}."
            )


@runtime_checkable
class Fitness(Protocol):
    """Anything that scores a genome."""

    def __call__(self, genome: Genome) -> Scores: ...


def fixed_split(
    data: ImageDataset, train_images: int, val_images: int, seed: int
) -> tuple[ImageDataset, ImageDataset]:
    """Two disjoint subsets of ``data``, drawn at random but fixed by ``seed``: the first
    ``train_images`` of a seeded permutation to train on, the next ``val_images`` to score on."""
    for name, value in (("train_images", train_images), ("val_images", val_images)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise CourseError(f"{name} must be a positive whole number, got {value!r}.")
    if train_images + val_images > len(data):
        raise CourseError(
            f"The data set has {len(data)} images, fewer than train_images + val_images = "
            f"{train_images} + {val_images}; ask for smaller subsets."
        )
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    parts = order[:train_images], order[train_images : train_images + val_images]
    train, val = (
        ImageDataset(data.spec, data.images[part], data.labels[part], train=True, source=data.source)
        for part in parts
    )
    return train, val


class TrainingFitness:
    """Train a genome's network briefly on a fixed subset and score it on a fixed validation subset.

    Args:
        data: the images to draw both subsets from; None loads Fashion-MNIST's training split.
        train_images, val_images: subset sizes; None takes 2,048 / 1,024 (512 / 256 in fast mode).
        subset_seed: fixes which images the subsets hold.
        epochs, batch_size, optimizer, lr, augment: the training recipe (see :func:`cnncourse.train.fit`,
            one-cycle schedule); every candidate gets the same one. The defaults (2 epochs in batches
            of 32, SGD with a peak rate of 0.2, no augmentation) make a small candidate train in
            seconds on a CPU; with a peak rate of 0.05 so few steps left these networks near chance,
            so that their scores hardly told them apart.
        seed: the training seed. It is the same for every genome, so a genome's fitness is a property
            of the genome (the search's own seed does not change it), and a cache of it is valid.
        latency_target_ms: None scores accuracy; a time makes the fitness MnasNet's reward with
            ``alpha`` and ``beta`` (soft constraint −0.07 / −0.07 by default).
        latency_repeats: timed runs of one image for the latency (median, after two warm-up runs).
        device: where to train and measure; the CPU by default, for comparable latencies.
    """

    def __init__(
        self,
        data: ImageDataset | None = None,
        *,
        train_images: int | None = None,
        val_images: int | None = None,
        subset_seed: int = 0,
        epochs: int = 2,
        batch_size: int = 32,
        optimizer: str = "sgd",
        lr: float | None = 0.2,
        augment: bool = False,
        seed: int = 0,
        latency_target_ms: float | None = None,
        alpha: float = -0.07,
        beta: float = -0.07,
        latency_repeats: int = 5,
        device: str = "cpu",
    ) -> None:
        fast = settings.fast_mode()
        if train_images is None:
            train_images = FAST_TRAIN_IMAGES if fast else DEFAULT_TRAIN_IMAGES
        if val_images is None:
            val_images = FAST_VAL_IMAGES if fast else DEFAULT_VAL_IMAGES
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise CourseError(f"epochs must be a positive whole number, got {epochs!r}.")
        if latency_target_ms is not None and not latency_target_ms > 0:
            raise CourseError(
                f"latency_target_ms must be a positive time or None, got {latency_target_ms!r}."
            )
        if isinstance(latency_repeats, bool) or not isinstance(latency_repeats, int) or latency_repeats < 1:
            raise CourseError(f"latency_repeats must be a positive whole number, got {latency_repeats!r}.")
        source = load_dataset("fashion-mnist", train=True) if data is None else data
        self.dataset_name = source.name
        self.train_data, self.val_data = fixed_split(source, train_images, val_images, subset_seed)
        self.subset_seed = subset_seed
        self.epochs, self.batch_size, self.optimizer, self.lr = epochs, batch_size, optimizer, lr
        self.augment, self.seed, self.device = augment, seed, device
        self.latency_target_ms, self.alpha, self.beta = latency_target_ms, alpha, beta
        self.latency_repeats = latency_repeats

    @property
    def input_size(self) -> tuple[int, int, int]:
        return self.train_data.input_size

    def describe(self) -> dict[str, object]:
        """The settings that decide every score, as JSON data (written into a search log's header)."""
        return {
            "kind": "training",
            "data": self.dataset_name,
            "train_images": len(self.train_data),
            "val_images": len(self.val_data),
            "subset_seed": self.subset_seed,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "augment": self.augment,
            "seed": self.seed,
            "latency_target_ms": self.latency_target_ms,
            "alpha": self.alpha,
            "beta": self.beta,
        }

    def __repr__(self) -> str:
        settings_text = ", ".join(f"{key}={value!r}" for key, value in self.describe().items())
        return f"TrainingFitness({settings_text})"

    def __call__(self, genome: Genome) -> Scores:
        from cnncourse.train import seed_everything

        channels, height, _ = self.input_size
        seed_everything(self.seed)  # the same initial weights for the same genome
        model = genome.build(channels, self.train_data.num_classes, input_size=height)
        return self.score_model(model)

    def score_model(self, model: torch.nn.Module) -> Scores:
        """Train and measure any network exactly as a genome's (same subsets, recipe and seed), e.g. a
        hand-designed one for comparison. Seed the initial weights before building it for a result
        that repeats (``__call__`` does)."""
        from cnncourse.profile import count_macs, count_parameters, measure_latency
        from cnncourse.train import evaluate, fit

        fit(
            model,
            self.train_data,
            self.epochs,
            optimizer=self.optimizer,
            lr=self.lr,
            batch_size=self.batch_size,
            augment=self.augment,
            device=self.device,
            seed=self.seed,
            progress=False,
            fast=False,  # the subsets are already small; fast mode shrank them
        )
        measured = evaluate(model, self.val_data, device=self.device, fast=False)
        accuracy = float(measured["accuracy"])  # type: ignore[arg-type]
        latency = measure_latency(
            model, self.input_size, batch_size=1, device=self.device, warmup=2, repeats=self.latency_repeats
        ).median_ms
        fitness = (
            accuracy
            if self.latency_target_ms is None
            else mnasnet_reward(accuracy, latency, self.latency_target_ms, self.alpha, self.beta)
        )
        return Scores(
            accuracy=accuracy,
            fitness=fitness,
            parameters=count_parameters(model),
            macs=count_macs(model, self.input_size),
            latency_ms=latency,
        )


__all__ = [
    "DEFAULT_TRAIN_IMAGES",
    "DEFAULT_VAL_IMAGES",
    "FAST_TRAIN_IMAGES",
    "FAST_VAL_IMAGES",
    "Fitness",
    "Scores",
    "TrainingFitness",
    "fixed_split",
]
