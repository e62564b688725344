"""Training and evaluation: ``fit``, ``evaluate``, and the ``History`` a training run leaves behind.

The loop is the standard supervised recipe for image classifiers: mini-batch SGD with momentum
(or AdamW, Loshchilov & Hutter, 2017, arXiv:1711.05101), a learning-rate schedule stepped every batch
(one-cycle, Smith & Topin, 2017, arXiv:1708.07120; or cosine annealing, Loshchilov & Hutter, 2016,
arXiv:1608.03983, without restarts), cross-entropy with optional label smoothing (Szegedy et al.,
2015, arXiv:1512.00567, §7), and no weight decay on biases and normalisation parameters (He et al.,
2018, "Bag of Tricks", arXiv:1812.01187, §3.1).

What makes it fast without changing the maths:

* data stays in memory as ``uint8`` tensors and :class:`cnncourse.data.Batches` augments whole
  batches at once instead of running per-image transforms through a ``DataLoader``;
* channels_last memory format (on CUDA, and on CPU where it measured faster, see
  :func:`default_channels_last`), automatic mixed precision on CUDA (bfloat16 autocast on CPUs
  with bfloat16 hardware as an opt-in), optional ``torch.compile``;
* metrics are summed on the device and read once per progress update, not ``.item()`` every step;
* evaluation runs under ``torch.inference_mode``.

``fit`` runs unchanged inside ``torchrun``: when a process group is initialised it wraps the model
in ``DistributedDataParallel``, gives every process its shard of each global batch and averages the
metrics over processes (``python -m cnncourse train`` sets this up).

Fast mode (``CNNCOURSE_FAST=1``, see :mod:`cnncourse.settings`) trains on at most
:data:`FAST_TRAIN_IMAGES` images for one epoch and validates on :data:`FAST_EVAL_IMAGES`, so a notebook
cell finishes in seconds; the progress bar and the history say so.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
from torch import nn

from cnncourse import settings
from cnncourse.data import Batches, ImageDataset
from cnncourse.errors import CourseError, UnknownNameError

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from tqdm import tqdm

OPTIMIZERS = ("sgd", "adamw")
SCHEDULES = ("onecycle", "cosine", "constant")
#: Peak learning rates for batch size 128: 0.1 is the CIFAR ResNet rate of He et al. (2015,
#: arXiv:1512.03385, §4.2); 2e-3 a usual AdamW peak for small CNNs with a warm-up.
DEFAULT_LR = {"sgd": 0.1, "adamw": 2e-3}
#: SGD: the 5e-4 of the CIFAR ResNet/WRN recipes; AdamW: decoupled decay needs a larger value.
DEFAULT_WEIGHT_DECAY = {"sgd": 5e-4, "adamw": 0.05}
FAST_TRAIN_IMAGES = 1024
FAST_EVAL_IMAGES = 512
FAST_EPOCHS = 1


# --------------------------------------------------------------------------------------------------
# Small helpers: seeds, devices, distributed context
# --------------------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and PyTorch's (CPU and every GPU) random generators."""
    import numpy as np

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a ``torch.device``; None picks CUDA if available, else Apple's MPS, else the CPU."""
    if device is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise CourseError(f"device={device!r} is not a device name: use 'cpu', 'cuda', 'cuda:1' or 'mps' "
                          f"({error}).") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise CourseError("device='cuda' was asked for but PyTorch sees no CUDA GPU here; use device='cpu' "
                          "or leave device=None to pick the best available one.")
    if chosen.type == "mps" and not torch.backends.mps.is_available():
        raise CourseError("device='mps' was asked for but this PyTorch has no usable MPS backend; use 'cpu'.")
    return chosen


def default_channels_last(device: torch.device) -> bool:
    """Whether channels_last is the default memory format on ``device``.

    CUDA: yes (cuDNN's tensor-core convolutions want NHWC). CPU: yes as well, because oneDNN's
    convolutions avoid a layout conversion per layer; on the 2-core AMD EPYC CI machine a ResNet-20
    training step on 128 Fashion-MNIST images measured about 1.2× faster than with the default
    layout (``benchmarks/train_throughput.py --variants`` measures it again). MPS: no.
    """
    return device.type in {"cuda", "cpu"}


def _distributed_context() -> tuple[int, int]:
    """(rank, world size) of the initialised process group, or (0, 1) outside ``torchrun``."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DistributedDataParallel and/or torch.compile wrapper."""
    while True:
        if isinstance(model, nn.parallel.DistributedDataParallel):
            model = model.module
        elif hasattr(model, "_orig_mod"):  # what torch.compile returns
            model = model._orig_mod
        else:
            return model


def _model_device(model: nn.Module) -> torch.device:
    for tensor in model.parameters():
        return tensor.device
    return torch.device("cpu")


def cpu_has_native_bfloat16() -> bool:
    """True when this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX), where CPU autocast pays off."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private but stable since torch 2.1
    return any(bool(getattr(torch.cpu, check, lambda: False)()) for check in checks)


def _autocast_dtype(device: torch.device, amp: bool | str | None) -> torch.dtype | None:
    """The autocast dtype for ``amp``.

    None (the default): on for CUDA (bf16 where supported, else fp16), off elsewhere. True: the same
    choice, and on the CPU bf16. "bf16"/"fp16": that dtype. On the CPU only bf16 is offered, and only
    where the CPU has it in hardware: elsewhere it would be emulated and slower than float32.
    """
    if amp is None:
        amp = device.type == "cuda"
    if amp is False:
        return None
    choices = {"bf16": torch.bfloat16, "bfloat16": torch.bfloat16, "fp16": torch.float16, "float16": torch.float16}
    if amp is not True and amp not in choices:
        raise UnknownNameError("amp setting", str(amp), choices)
    if device.type == "cuda":
        if amp is True:
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return choices[amp]  # type: ignore[index]
    if device.type == "cpu" and amp in (True, "bf16", "bfloat16"):
        if not cpu_has_native_bfloat16():
            raise CourseError("amp='bf16' on the CPU needs a CPU with bfloat16 in hardware (AVX512-BF16 or AMX); "
                              "this one would emulate it, slower than float32. Leave amp=None.")
        return torch.bfloat16
    raise CourseError(f"amp={amp!r} needs a CUDA device (this run uses {device}); on a CPU with bfloat16 "
                      "hardware amp='bf16' works, otherwise leave amp=None.")


def _all_reduce_sum(values: torch.Tensor) -> torch.Tensor:
    """Sum ``values`` over all processes (no-op outside a process group)."""
    if _distributed_context()[1] > 1:
        torch.distributed.all_reduce(values, op=torch.distributed.ReduceOp.SUM)
    return values


# --------------------------------------------------------------------------------------------------
# History
# --------------------------------------------------------------------------------------------------


@dataclass
class History:
    """What happened during :func:`fit`, one entry per epoch (accuracies are fractions in [0, 1]).

    ``val_loss`` and ``val_accuracy`` are empty when ``fit`` had no ``val_data``. ``seconds`` is the
    wall time of the whole epoch (training and validation); ``images_per_second`` counts training
    images only, over the training part of the epoch. ``lr`` is the learning rate of the epoch's last
    step; ``lr_per_step`` has every step's, to plot the schedule. ``fast_mode`` says whether the run
    was shrunk by ``CNNCOURSE_FAST``.
    """

    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    images_per_second: list[float] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    lr_per_step: list[float] = field(default_factory=list)
    #: With a weight average (``ema_decay``) the validation columns above are the average's; these are
    #: the live weights' on the same data, so a plot can show what averaging added.
    val_accuracy_live: list[float] = field(default_factory=list)
    fast_mode: bool = False
    device: str = ""
    world_size: int = 1
    #: The settings ``fit`` resolved (optimizer, lr, batch size, ...), for the record.
    config: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.epochs)

    def to_dict(self) -> dict[str, object]:
        """A JSON-serialisable dict (plain lists and numbers)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> History:
        """Rebuild a history from :meth:`to_dict`'s output (for example read back from a checkpoint)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise CourseError(f"Not a training history: unknown keys {sorted(unknown)}; expected a dict "
                              "from History.to_dict().")
        if "epochs" not in data:
            raise CourseError("Not a training history: it has no 'epochs'; expected a dict from History.to_dict().")
        return cls(**data)  # type: ignore[arg-type]

    @property
    def has_validation(self) -> bool:
        return bool(self.val_accuracy)

    def plot(self, label: str | None = None) -> Figure:
        """Loss and accuracy curves (train solid, validation dashed); see :func:`cnncourse.viz.plot_history`."""
        from cnncourse.viz import plot_history

        return plot_history(self, labels=None if label is None else [label])

    def __repr__(self) -> str:
        if not self.epochs:
            return "History(empty)"
        text = f"History({len(self)} epochs, train accuracy {self.train_accuracy[-1]:.1%}"
        if self.has_validation:
            text += f", val accuracy {self.val_accuracy[-1]:.1%}"
        text += f", {sum(self.seconds):.1f} s on {self.device}"
        if self.fast_mode:
            text += ", fast mode"
        return text + ")"


# --------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------


def confusion_matrix(labels: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``matrix[true, predicted]`` counts as an int64 (num_classes × num_classes) tensor."""
    labels = torch.as_tensor(labels).long().flatten().cpu()
    predictions = torch.as_tensor(predictions).long().flatten().cpu()
    if labels.shape != predictions.shape:
        raise CourseError(f"labels and predictions must have the same length, got {labels.numel()} and "
                          f"{predictions.numel()}.")
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values.numel() and (int(values.min()) < 0 or int(values.max()) >= num_classes):
            raise CourseError(f"{name} must be class indices in 0..{num_classes - 1}, got values from "
                              f"{int(values.min())} to {int(values.max())}.")
    return torch.bincount(labels * num_classes + predictions, minlength=num_classes**2).view(num_classes, num_classes)


def evaluate(
    model: nn.Module,
    data: ImageDataset,
    batch_size: int = 500,
    *,
    device: str | torch.device | None = None,
    channels_last: bool | None = None,
    amp: bool | str | None = None,
    return_predictions: bool = False,
    subset: int | None = None,
    fast: bool | None = None,
    flip_tta: bool = False,
) -> dict[str, object]:
    """Loss (plain cross-entropy, no smoothing) and accuracy of ``model`` on ``data``, in eval mode.

    ``flip_tta``: test-time augmentation by horizontal flip — every image is classified as it is and
    mirrored, and the two logit vectors are averaged (only sensible where training used flips, as the
    course's default augmentation does; it doubles the cost of evaluation).

    Returns ``{"loss", "accuracy", "count", "seconds", "fast_mode"}``, plus ``"predictions"`` and
    ``"labels"`` (int64 CPU tensors, for :func:`confusion_matrix`) when ``return_predictions``.
    ``device`` defaults to where the model's parameters are (the model is moved to ``device`` when
    one is given). In fast mode (``fast``, default
    ``CNNCOURSE_FAST``) at most :data:`FAST_EVAL_IMAGES` images are used unless ``subset`` says
    otherwise. In a distributed run every process evaluates its own shard and the sums are combined.
    """
    if not isinstance(data, ImageDataset):
        raise CourseError(f"evaluate needs an ImageDataset (from cnncourse.data.load_dataset), got {type(data).__name__}.")
    fast = settings.fast_mode() if fast is None else fast
    if subset is None and fast:
        subset = FAST_EVAL_IMAGES
    model = _unwrap(model)
    chosen = _model_device(model) if device is None else pick_device(device)
    model.to(chosen)
    if channels_last is None:
        channels_last = default_channels_last(chosen)
    autocast_dtype = _autocast_dtype(chosen, amp)
    rank, world_size = _distributed_context()
    if return_predictions and world_size > 1:
        raise CourseError("return_predictions=True is not supported in a distributed run: evaluate on one process.")
    batches = Batches(data, batch_size * world_size, device=chosen, channels_last=channels_last,
                      rank=rank, world_size=world_size, subset=subset, pad_shards=False)
    was_training = model.training
    model.eval()
    sums = torch.zeros(3, dtype=torch.float64, device=chosen)  # loss sum, correct, count
    all_predictions: list[torch.Tensor] = []
    all_labels: list[torch.Tensor] = []
    started = time.perf_counter()
    try:
        with torch.inference_mode():
            for images, labels in batches:
                with _autocast(chosen, autocast_dtype):
                    logits = model(images)
                    if flip_tta:
                        logits = (logits.float() + model(images.flip(3)).float()) / 2
                predictions = logits.argmax(dim=1)
                sums[0] += nn.functional.cross_entropy(logits.float(), labels, reduction="sum")
                sums[1] += (predictions == labels).sum()
                sums[2] += labels.numel()
                if return_predictions:
                    all_predictions.append(predictions.cpu())
                    all_labels.append(labels.cpu())
    finally:
        model.train(was_training)
    totals = _all_reduce_sum(sums).tolist()
    count = int(totals[2])
    result: dict[str, object] = {
        "loss": totals[0] / max(count, 1),
        "accuracy": totals[1] / max(count, 1),
        "count": count,
        "seconds": time.perf_counter() - started,
        "fast_mode": fast,
    }
    if return_predictions:
        result["predictions"] = torch.cat(all_predictions) if all_predictions else torch.empty(0, dtype=torch.long)
        result["labels"] = torch.cat(all_labels) if all_labels else torch.empty(0, dtype=torch.long)
    return result


def _autocast(device: torch.device, dtype: torch.dtype | None) -> contextlib.AbstractContextManager[object]:
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


# --------------------------------------------------------------------------------------------------
# fit
# --------------------------------------------------------------------------------------------------


def _parameter_groups(model: nn.Module, weight_decay: float) -> list[dict[str, object]]:
    """Decay weight matrices and kernels; leave biases and norm scales/shifts alone (Bag of Tricks §3.1)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _make_optimizer(name: str, model: nn.Module, lr: float, weight_decay: float, momentum: float) -> torch.optim.Optimizer:
    groups = _parameter_groups(model, weight_decay)
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=momentum > 0)
    return torch.optim.AdamW(groups, lr=lr, betas=(momentum, 0.999))


#: One-cycle: start at lr/25, end at lr/25e4 (torch's OneCycleLR defaults); warm up over the first 25%.
ONE_CYCLE_START, ONE_CYCLE_END, ONE_CYCLE_WARMUP = 1 / 25, 1 / 25e4, 0.25


def one_cycle_factor(step: int, total_steps: int) -> float:
    """The one-cycle learning rate at ``step`` as a fraction of the peak.

    A cosine ramp from ``ONE_CYCLE_START`` up to 1 over the first quarter of the steps (at least one),
    then a cosine down to ``ONE_CYCLE_END``, as torch's ``OneCycleLR`` does by default. Written out
    because ``OneCycleLR`` divides by zero when a run has fewer than about eight steps (fast mode).
    Unlike Smith & Topin the momentum is not cycled, so ``momentum`` means what it says.
    """
    peak = max(ONE_CYCLE_WARMUP * total_steps - 1.0, 1.0)  # the step at the top (OneCycleLR's, at least 1)
    if step <= peak:
        return ONE_CYCLE_START + (1 - ONE_CYCLE_START) * (1 - math.cos(math.pi * step / peak)) / 2
    descent = max(total_steps - 1 - peak, 1.0)  # at least one step, so a 2-step run does not divide by zero
    progress = min((step - peak) / descent, 1.0)
    return ONE_CYCLE_END + (1 - ONE_CYCLE_END) * (1 + math.cos(math.pi * progress)) / 2


def _make_schedule(
    name: str, optimizer: torch.optim.Optimizer, total_steps: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    if name == "onecycle":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: one_cycle_factor(step, total_steps))
    if name == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    return None


def _check_model_fits_data(model: nn.Module, data: ImageDataset, device: torch.device, channels_last: bool) -> None:
    """Run two images through the model in eval mode to turn shape mistakes into a readable error."""
    probe = data.images[:2].to(device).float()
    if channels_last:
        probe = probe.contiguous(memory_format=torch.channels_last)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(probe)
    except RuntimeError as error:
        raise CourseError(
            f"The model cannot take {data.name} images of shape {'×'.join(map(str, data.input_size))}: "
            f"{str(error).splitlines()[0]}. Build it for this data, e.g. create_model(name, "
            f"num_classes={data.num_classes}, in_channels={data.input_size[0]})."
        ) from None
    finally:
        model.train(was_training)
    if logits.dim() != 2 or logits.shape[1] < data.num_classes:
        raise CourseError(
            f"The model outputs shape {tuple(logits.shape)} but {data.name} has {data.num_classes} classes: "
            f"build it with num_classes={data.num_classes}."
        )


def _check_fit_arguments(
    model: nn.Module, train_data: object, val_data: object, epochs: int, batch_size: int,
    optimizer: str, schedule: str, lr: float | None, weight_decay: float | None, momentum: float,
    label_smoothing: float,
) -> None:
    if not isinstance(model, nn.Module):
        raise CourseError(f"fit needs a torch.nn.Module as the model, got {type(model).__name__}.")
    for role, data in (("train_data", train_data), ("val_data", val_data)):
        if data is not None and not isinstance(data, ImageDataset):
            raise CourseError(f"{role} must be an ImageDataset (from cnncourse.data.load_dataset or "
                              f"fashion_mnist()), got {type(data).__name__}.")
    if train_data is None:
        raise CourseError("train_data is required: pass cnncourse.data.fashion_mnist(train=True).")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise CourseError(f"epochs must be a whole number >= 1, got {epochs!r}.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise CourseError(f"batch_size must be a whole number >= 1, got {batch_size!r}.")
    if optimizer not in OPTIMIZERS:
        raise UnknownNameError("optimizer", str(optimizer), OPTIMIZERS)
    if schedule not in SCHEDULES:
        raise UnknownNameError("schedule", str(schedule), SCHEDULES)
    if lr is not None and not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise CourseError(f"lr must be a positive number (or None for the default), got {lr!r}.")
    if weight_decay is not None and not weight_decay >= 0:
        raise CourseError(f"weight_decay must be >= 0, got {weight_decay!r}.")
    if not 0 <= momentum < 1:
        raise CourseError(f"momentum must be in [0, 1), got {momentum!r}.")
    if not 0 <= label_smoothing < 1:
        raise CourseError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}.")


def _progress_bar(total: int, description: str, enabled: bool) -> tqdm:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="batch", disable=not enabled, dynamic_ncols=True)


class WeightAverage:
    """An exponential moving average of a model's weights, updated after every optimizer step.

    Polyak averaging in its exponential form (Polyak & Juditsky, 1992; as "EMA" in e.g. Tan & Le,
    2019, arXiv:1905.11946, §5.2, decay 0.9999 over hundreds of epochs): ``average ← d·average +
    (1−d)·weights``. Short runs cannot wait for a 0.9999 average to forget its random start, so the
    decay warms up as ``min(decay, (1 + n) / (10 + n))`` after ``n`` updates (the TensorFlow
    ``ExponentialMovingAverage`` ``num_updates`` rule). BatchNorm's running statistics are averaged the
    same way; integer buffers (``num_batches_tracked``) are copied. ``module`` is a copy of the model that
    holds the average, ready to evaluate.
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        if not 0 < decay < 1:
            raise CourseError(f"ema_decay must be between 0 and 1 (e.g. 0.998), got {decay!r}.")
        self.decay = decay
        self.updates = 0
        self.module = copy.deepcopy(model)
        self.module.requires_grad_(False)
        pairs = list(zip(self.module.state_dict().values(), model.state_dict().values()))
        self._float_pairs = [(a, w) for a, w in pairs if a.is_floating_point()]
        self._other_pairs = [(a, w) for a, w in pairs if not a.is_floating_point()]

    @torch.no_grad()
    def update(self) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        averages = [a for a, _ in self._float_pairs]
        torch._foreach_lerp_(averages, [w for _, w in self._float_pairs], 1.0 - decay)
        for average, value in self._other_pairs:
            average.copy_(value)


def fit(
    model: nn.Module,
    train_data: ImageDataset,
    epochs: int,
    *,
    val_data: ImageDataset | None = None,
    optimizer: str = "sgd",
    lr: float | None = None,
    weight_decay: float | None = None,
    momentum: float = 0.9,
    schedule: str = "onecycle",
    label_smoothing: float = 0.0,
    batch_size: int = 128,
    augment: bool = True,
    plain_final_epochs: int = 0,
    ema_decay: float | None = None,
    flip_tta: bool = False,
    device: str | torch.device | None = None,
    channels_last: bool | None = None,
    amp: bool | str | None = None,
    compile: bool = False,
    seed: int = 0,
    progress: bool | Literal["run"] = True,
    fast: bool | None = None,
    state_path: str | os.PathLike[str] | None = None,
    resume: bool = False,
    stop_after: int | None = None,
) -> History:
    """Train ``model`` on ``train_data`` for ``epochs`` epochs and return its :class:`History`.

    * ``optimizer``: ``"sgd"`` (Nesterov momentum ``momentum``) or ``"adamw"`` (β1 = ``momentum``).
    * ``lr``: the peak learning rate; None takes :data:`DEFAULT_LR` of the optimizer.
    * ``weight_decay``: None takes :data:`DEFAULT_WEIGHT_DECAY`; never applied to biases/norm layers.
    * ``schedule``: ``"onecycle"``, ``"cosine"`` or ``"constant"``, stepped after every batch.
    * ``batch_size``: the global batch (split over processes in a distributed run).
    * ``augment``: random crop with 4 pixels of padding and horizontal flip, on whole batches;
      ``plain_final_epochs``: train the last this-many epochs without them (the model finishes on the
      images it will be tested on).
    * ``ema_decay``: keep a :class:`WeightAverage` of the weights with this decay; validation then
      measures the average (the live weights' accuracy goes to ``history.val_accuracy_live``) and the
      model ends with the averaged weights. ``flip_tta``: validate with flip test-time augmentation
      (see :func:`evaluate`).
    * ``device``: None picks CUDA, then MPS, then CPU. ``channels_last``: None uses
      :func:`default_channels_last`. ``amp``: None = bf16/fp16 autocast on CUDA only; "bf16"/"fp16"
      choose; on a CPU with bfloat16 hardware ``amp="bf16"`` is offered too (opt-in: it changes the
      numbers slightly; about 1.6× faster for ResNet-20 on the AVX512-BF16 CI machine). ``compile``: wrap the model in ``torch.compile`` (compiling takes a minute).
    * ``seed``: seeds everything at the start, so two runs with the same seed on the CPU give the same
      history. The model's initial weights are not touched: seed before building it for full repeats.
    * ``progress``: a bar per epoch (True), none (False), or one bar over the whole run (``"run"``),
      whose remaining-time estimate comes from the measured step time.
    * ``fast``: None follows ``CNNCOURSE_FAST``; fast mode trains one epoch on at most
      :data:`FAST_TRAIN_IMAGES` images and validates on :data:`FAST_EVAL_IMAGES`.
    * ``state_path``: after every epoch write the run's state there (see
      :mod:`cnncourse.training_state`; rank 0 only in a distributed run). An existing file is never
      overwritten unless ``resume``: then the run continues after the epoch it holds, and ends exactly
      as an uninterrupted run with the same arguments would on the same machine. A state of another
      model, data set, recipe or torch version is refused with the difference named. The file is left in
      place at the end (the ``train`` command deletes it once the checkpoint is written).
    * ``stop_after``: end this call after that epoch (its state saved), to split a long run over
      several sittings; a later call with ``resume=True`` continues it. The history then has fewer than
      ``epochs`` entries and the model is the unfinished one (not averaged).

    The model is trained in place (and left on ``device``); the returned history holds the metrics.
    """
    from cnncourse import training_state

    _check_fit_arguments(model, train_data, val_data, epochs, batch_size, optimizer, schedule, lr,
                         weight_decay, momentum, label_smoothing)
    if isinstance(plain_final_epochs, bool) or not isinstance(plain_final_epochs, int) or plain_final_epochs < 0:
        raise CourseError(f"plain_final_epochs must be a whole number >= 0, got {plain_final_epochs!r}.")
    if resume and state_path is None:
        raise CourseError("resume=True needs state_path: the file the interrupted run wrote after each epoch.")
    if stop_after is not None and (state_path is None or isinstance(stop_after, bool) or not isinstance(stop_after, int)
                                   or stop_after < 1):
        raise CourseError(f"stop_after must be an epoch number >= 1 and needs state_path to continue from, got "
                          f"stop_after={stop_after!r}, state_path={state_path!r}.")
    fast = settings.fast_mode() if fast is None else fast
    train_subset = FAST_TRAIN_IMAGES if fast else None
    if fast:
        epochs = min(epochs, FAST_EPOCHS)
    rank, world_size = _distributed_context()
    chosen = pick_device(device)
    if world_size > 1 and chosen.type == "cuda" and chosen.index is None:
        chosen = torch.device("cuda", torch.cuda.current_device())
    channels_last = default_channels_last(chosen) if channels_last is None else channels_last
    autocast_dtype = _autocast_dtype(chosen, amp)
    lr = DEFAULT_LR[optimizer] if lr is None else float(lr)
    weight_decay = DEFAULT_WEIGHT_DECAY[optimizer] if weight_decay is None else float(weight_decay)
    state_file = None if state_path is None else Path(state_path)
    if state_file is not None and not resume and state_file.exists():
        raise CourseError(
            f"A training state from an earlier run is already there: {training_state.describe(state_file)}. "
            "Resume it (resume=True, or --resume on the command line), or move it away to start afresh; "
            "it is never overwritten silently."
        )

    seed_everything(seed)
    model.to(chosen, memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    _check_model_fits_data(model, train_data, chosen, channels_last)

    batches = Batches(
        train_data, batch_size, shuffle=True, augment=augment, device=chosen, channels_last=channels_last,
        seed=seed, rank=rank, world_size=world_size, subset=train_subset,
        # Dropping the short last batch keeps BatchNorm statistics sane, unless there is no full batch.
        drop_last=min(len(train_data), train_subset or len(train_data)) >= batch_size,
    )
    steps_per_epoch = len(batches)
    if steps_per_epoch == 0:
        raise CourseError(f"train_data has too few images ({batches.size}) for {world_size} process(es).")

    train_module: nn.Module = model
    if world_size > 1:
        device_ids = [chosen.index] if chosen.type == "cuda" else None
        train_module = nn.parallel.DistributedDataParallel(model, device_ids=device_ids)
    if compile:
        train_module = torch.compile(train_module)  # type: ignore[assignment]
    optimizer_ = _make_optimizer(optimizer, model, lr, weight_decay, momentum)
    scheduler = _make_schedule(schedule, optimizer_, steps_per_epoch * epochs)
    loss_function = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    scaler = torch.amp.GradScaler("cuda", enabled=autocast_dtype == torch.float16)
    average = None if ema_decay is None else WeightAverage(model, ema_decay)

    config = {
        "optimizer": optimizer, "lr": lr, "weight_decay": weight_decay, "momentum": momentum,
        "schedule": schedule, "label_smoothing": label_smoothing, "batch_size": batch_size,
        "augment": augment, "plain_final_epochs": plain_final_epochs, "ema_decay": ema_decay,
        "flip_tta": flip_tta, "channels_last": channels_last,
        "amp": None if autocast_dtype is None else str(autocast_dtype).removeprefix("torch."),
        "compile": compile, "seed": seed, "epochs": epochs, "train_images": batches.size,
    }
    history = History(fast_mode=fast, device=str(chosen), world_size=world_size, config=config)
    identity = _run_identity(model, train_data, val_data, config, world_size)
    start_epoch = 0
    if resume:
        assert state_file is not None
        state = training_state.load_state(state_file)
        training_state.check_identity(state, identity)
        model.load_state_dict(state.model)
        optimizer_.load_state_dict(state.optimizer)
        if scheduler is not None and state.schedule is not None:
            scheduler.load_state_dict(state.schedule)
        if state.scaler is not None:
            scaler.load_state_dict(state.scaler)
        if average is not None and state.ema is not None:
            average.module.load_state_dict(state.ema)
            average.updates = int(state.extra.get("ema_updates", 0))
        history = History.from_dict(state.history)
        training_state.restore_random_generators(state)
        start_epoch = state.epoch

    note = " [fast mode]" if fast else ""
    show = bool(progress) and rank == 0
    run_bar = _progress_bar(steps_per_epoch * (epochs - start_epoch), f"{epochs} epochs{note}", show) \
        if progress == "run" else None
    for epoch in range(start_epoch + 1, epochs + 1):
        epoch_started = time.perf_counter()
        batches.set_epoch(epoch - 1)
        batches.augment = augment and epoch <= epochs - plain_final_epochs
        model.train()
        sums = torch.zeros(3, dtype=torch.float64, device=chosen)  # loss sum, correct, count
        if run_bar is not None:
            bar = run_bar
            bar.set_description(f"epoch {epoch}/{epochs}{note}")
        else:
            bar = _progress_bar(steps_per_epoch, f"epoch {epoch}/{epochs}{note}", show)
        for step, (images, labels) in enumerate(batches, start=1):
            history.lr_per_step.append(optimizer_.param_groups[0]["lr"])
            with _autocast(chosen, autocast_dtype):
                logits = train_module(images)
                loss = loss_function(logits, labels)
            optimizer_.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer_)
            scaler.update()
            if scheduler is not None:
                scheduler.step()
            if average is not None:
                average.update()
            with torch.no_grad():  # kept on the device: no host sync per step
                sums[0] += loss.detach().double() * labels.numel()
                sums[1] += (logits.argmax(dim=1) == labels).sum()
                sums[2] += labels.numel()
            bar.update(1)
            if step % 20 == 0 or step == steps_per_epoch:
                seen = sums.tolist()
                bar.set_postfix(loss=f"{seen[0] / seen[2]:.3f}", acc=f"{seen[1] / seen[2]:.1%}", refresh=False)
        if chosen.type == "cuda":
            torch.cuda.synchronize(chosen)
        train_seconds = time.perf_counter() - epoch_started
        totals = _all_reduce_sum(sums).tolist()
        if world_size > 1:
            _sync_buffers(model)
            if average is not None:  # its BatchNorm statistics averaged each process's own shard
                _sync_buffers(average.module)
        history.epochs.append(epoch)
        history.train_loss.append(totals[0] / totals[2])
        history.train_accuracy.append(totals[1] / totals[2])
        history.lr.append(history.lr_per_step[-1])
        history.steps.append(steps_per_epoch)
        history.images_per_second.append(totals[2] / train_seconds)
        if val_data is not None:
            measured = model if average is None else average.module
            result = evaluate(measured, val_data, device=chosen, channels_last=channels_last, amp=amp, fast=fast,
                              flip_tta=flip_tta)
            history.val_loss.append(float(result["loss"]))  # type: ignore[arg-type]
            history.val_accuracy.append(float(result["accuracy"]))  # type: ignore[arg-type]
            if average is not None:
                live = evaluate(model, val_data, device=chosen, channels_last=channels_last, amp=amp, fast=fast,
                                flip_tta=flip_tta)
                history.val_accuracy_live.append(float(live["accuracy"]))  # type: ignore[arg-type]
            bar.set_postfix(loss=f"{history.train_loss[-1]:.3f}", acc=f"{history.train_accuracy[-1]:.1%}",
                            val_acc=f"{history.val_accuracy[-1]:.1%}")
        history.seconds.append(time.perf_counter() - epoch_started)
        if run_bar is None:
            bar.close()
        if state_file is not None and rank == 0:
            training_state.save_state(
                state_file, epoch=epoch, identity=identity, history=history.to_dict(), model=model,
                optimizer=optimizer_, schedule=scheduler, scaler=scaler,
                ema=None if average is None else average.module.state_dict(),
                extra={"ema_updates": 0 if average is None else average.updates},
            )
        if stop_after is not None and epoch >= stop_after and epoch < epochs:
            if run_bar is not None:
                run_bar.close()
            return history  # unfinished on purpose: the state holds everything to continue
    if run_bar is not None:
        run_bar.close()
    if average is not None:
        model.load_state_dict(average.module.state_dict())  # the run's result is the averaged weights
    return history


def _run_identity(model: nn.Module, train_data: ImageDataset, val_data: ImageDataset | None,
                  config: dict[str, object], world_size: int) -> dict[str, object]:
    """What a saved state must match to be resumed: the network's shape, the data, the recipe, torch."""
    shapes = hashlib.sha256()
    for key, value in _unwrap(model).state_dict().items():
        shapes.update(f"{key}:{tuple(value.shape)};".encode())
    return {
        "model": type(_unwrap(model)).__name__,
        "model_shapes_sha256": shapes.hexdigest(),
        "train_data": f"{train_data.name} ({len(train_data)} images)",
        "val_data": None if val_data is None else f"{val_data.name} ({len(val_data)} images)",
        "recipe": dict(config),
        "world_size": world_size,
        "torch": torch.__version__,
    }


def _sync_buffers(model: nn.Module) -> None:
    """Copy rank 0's BatchNorm running statistics to every process.

    DDP averages gradients, so parameters stay identical, but each process updates its running
    statistics from its own shard; broadcasting rank 0's makes evaluation and checkpoints agree.
    """
    for buffer in model.buffers():
        torch.distributed.broadcast(buffer, src=0)


def parameter_checksum(model: nn.Module) -> float:
    """A float64 fingerprint of every parameter and buffer (sum of values weighted by their position).

    Identical models give identical checksums; used to check that all processes of a distributed run
    ended with the same weights.
    """
    total = torch.zeros((), dtype=torch.float64)
    for index, tensor in enumerate(_unwrap(model).state_dict().values()):
        if tensor.is_floating_point() or tensor.dtype in (torch.int64, torch.int32):
            values = tensor.detach().double().flatten().cpu()
            weights = torch.arange(1, values.numel() + 1, dtype=torch.float64) / max(values.numel(), 1)
            total += (index + 1) * (values * weights).sum()
    return float(total)
