"""``python -m cnncourse train``: train a registered model on a dataset and write a checkpoint.

    python -m cnncourse train --model resnet20 --dataset fashion-mnist --epochs 30 --out checkpoints
    torchrun --nproc_per_node 4 -m cnncourse train --model resnet20 --epochs 30 --out checkpoints

The same command runs unchanged under ``torchrun``: it reads ``WORLD_SIZE``/``RANK``/``LOCAL_RANK``,
initialises the process group (NCCL on CUDA, Gloo on the CPU), and :func:`cnncourse.train.fit` wraps
the model in DistributedDataParallel and gives every process its shard of each global batch.
``--batch-size`` stays the global batch, so N processes take the same steps as one. Rank 0 prints,
evaluates the shared result and writes the checkpoint; before that every process reports a checksum
of its weights and the run fails loudly if they differ.

The curves' "validation" is the test set: no decision is taken from it (the last epoch's weights are
kept, there is no early stopping), so the reported test accuracy is not tuned on it.
"""

from __future__ import annotations

import argparse
import inspect
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from cnncourse.errors import CourseError
from cnncourse.recipes import get_recipe

if TYPE_CHECKING:
    from cnncourse.data import ImageDataset

#: The default ``--out`` folder, relative to where the command runs.
DEFAULT_OUT = "checkpoints"


@dataclass(frozen=True)
class DistributedSetup:
    """Where this process sits in a ``torchrun`` job (world_size 1 outside one)."""

    rank: int
    local_rank: int
    world_size: int
    local_world_size: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def distributed_setup_from_environment() -> DistributedSetup:
    """Read torchrun's environment variables; missing ones mean a single process."""

    def number(variable: str, default: int) -> int:
        value = os.environ.get(variable, str(default))
        try:
            return int(value)
        except ValueError:
            raise CourseError(f"The environment variable {variable}={value!r} should be a whole number "
                              "(torchrun sets it; unset it to run a single process).") from None

    world_size = number("WORLD_SIZE", 1)
    return DistributedSetup(
        rank=number("RANK", 0),
        local_rank=number("LOCAL_RANK", 0),
        world_size=world_size,
        local_world_size=number("LOCAL_WORLD_SIZE", world_size),
    )


def build_parser() -> argparse.ArgumentParser:
    from cnncourse.recipes import RECIPES
    from cnncourse.train import DEFAULT_LR, DEFAULT_WEIGHT_DECAY, OPTIMIZERS, SCHEDULES

    parser = argparse.ArgumentParser(
        prog="python -m cnncourse train",
        description="Train a model from cnncourse.models on a dataset and write NAME.safetensors + NAME.json "
                    "(a checkpoint cnncourse.pretrained.load_pretrained accepts). Runs under torchrun too.",
    )
    parser.add_argument("--model", required=True, help="registry name, e.g. plain_cnn or resnet20 "
                        "(cnncourse.models.list_models() lists them)")
    parser.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist (default) or cifar10")
    parser.add_argument("--epochs", type=int, default=10, help="epochs to train (default 10; 1 in fast mode)")
    parser.add_argument("--out", default=DEFAULT_OUT, help=f"folder for the checkpoint (default ./{DEFAULT_OUT})")
    parser.add_argument("--name", default=None, help="checkpoint name (default MODEL_DATASET, e.g. "
                        "resnet20_fashion_mnist)")
    parser.add_argument("--recipe", default="textbook", help="the training recipe the flags below start from: "
                        + "; ".join(f"{r.name}: {r.summary}" for r in RECIPES.values()) + " (default textbook)")
    parser.add_argument("--batch-size", type=int, default=None, help="global batch size, split over processes "
                        "(textbook 128)")
    parser.add_argument("--optimizer", default=None, help=f"{' or '.join(OPTIMIZERS)} (textbook sgd)")
    parser.add_argument("--lr", type=float, default=None, help="peak learning rate (default "
                        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items()) + ")")
    parser.add_argument("--weight-decay", type=float, default=None, help="default "
                        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_WEIGHT_DECAY.items()))
    parser.add_argument("--momentum", type=float, default=None, help="SGD momentum / AdamW beta1 (textbook 0.9)")
    parser.add_argument("--schedule", default=None, help=f"{', '.join(SCHEDULES)} (textbook onecycle)")
    parser.add_argument("--label-smoothing", type=float, default=None, help="textbook 0 (off), fast 0.1")
    parser.add_argument("--no-augment", action="store_true", help="train without random crop and flip")
    parser.add_argument("--plain-final-epochs", type=int, default=None, help="train the last N epochs without "
                        "crop and flip (textbook 0, fast 1)")
    parser.add_argument("--ema", type=float, default=None, metavar="DECAY", help="keep an exponential moving "
                        "average of the weights with this decay and keep it as the result (fast 0.998)")
    parser.add_argument("--flip-tta", action=argparse.BooleanOptionalAction, default=None,
                        help="measure the test set with flip test-time augmentation (fast: on)")
    parser.add_argument("--resume", action="store_true", help="continue the interrupted run whose state is "
                        "OUT/NAME.state (written after every epoch)")
    parser.add_argument("--stop-after", type=int, default=None, metavar="EPOCH",
                        help="stop after this epoch with the state saved (split a long run; continue with --resume)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the weights, data order and augmentation")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: the best available)")
    parser.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"), default="auto",
                        help="mixed precision (default auto: on for CUDA, bf16 where supported; "
                        "bf16 also works on CPUs with bfloat16 hardware)")
    parser.add_argument("--compile", action="store_true", help="use torch.compile (compiling takes a minute)")
    parser.add_argument("--data-root", default=None, help="folder with the dataset files (else CNNCOURSE_DATA, "
                        "the user cache, /usr/share/datasets)")
    parser.add_argument("--no-download", action="store_true", help="never download the dataset")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--progress", choices=("epoch", "run"), default="epoch",
                        help="a bar per epoch (default) or one bar for the whole run with its remaining time")
    return parser


def resolve_settings(args: argparse.Namespace) -> dict[str, object]:
    """The ``fit`` settings a parsed command line means: its recipe's, with every explicit flag on top."""
    settings = dict(get_recipe(args.recipe).settings)
    explicit = {
        "optimizer": args.optimizer, "lr": args.lr, "weight_decay": args.weight_decay,
        "momentum": args.momentum, "schedule": args.schedule, "label_smoothing": args.label_smoothing,
        "batch_size": args.batch_size, "plain_final_epochs": args.plain_final_epochs,
        "ema_decay": args.ema, "flip_tta": args.flip_tta,
    }
    settings.update({key: value for key, value in explicit.items() if value is not None})
    if args.no_augment:
        settings["augment"] = False
    return settings


def _model_kwargs(model_name: str, num_classes: int, input_size: tuple[int, int, int]) -> dict[str, object]:
    """Builder arguments for the dataset: classes and channels, plus image_size for builders that take it
    (models whose classifier sees the flattened feature map need the input resolution)."""
    from cnncourse.models import model_info

    kwargs: dict[str, object] = {"num_classes": num_classes, "in_channels": input_size[0]}
    if "image_size" in inspect.signature(model_info(model_name).builder).parameters:
        kwargs["image_size"] = input_size[1]
    return kwargs


def _without_session_flags(argv: list[str]) -> list[str]:
    """``argv`` less ``--resume`` and ``--stop-after N``: how a run was split over sittings is not part of it."""
    kept: list[str] = []
    skip = False
    for part in argv:
        if skip:
            skip = False
        elif part == "--resume" or part.startswith("--stop-after="):
            continue
        elif part == "--stop-after":
            skip = True
        else:
            kept.append(part)
    return kept


def _command_line(argv: list[str], setup: DistributedSetup) -> str:
    """The command that reproduces this run, as a learner would type it (``--resume`` left out: resuming
    changes nothing in the result)."""
    arguments = shlex.join(["train", *_without_session_flags(argv)])
    if setup.world_size > 1:
        nodes = setup.world_size // max(setup.local_world_size, 1)
        prefix = f"torchrun --nproc_per_node {setup.local_world_size}"
        if nodes > 1:
            prefix += f" --nnodes {nodes}"
        return f"{prefix} -m cnncourse {arguments}"
    return f"python -m cnncourse {arguments}"


def _load_data(args: argparse.Namespace, setup: DistributedSetup) -> tuple[ImageDataset, ImageDataset]:
    """Train and test splits. In a distributed run rank 0 loads (and may download) first, then the rest."""
    from cnncourse.data import load_dataset

    def load(download: bool) -> tuple[ImageDataset, ImageDataset]:
        return (load_dataset(args.dataset, train=True, root=args.data_root, download=download),
                load_dataset(args.dataset, train=False, root=args.data_root, download=download))

    if setup.world_size == 1:
        return load(not args.no_download)
    problem: list[str | None] = [None]
    loaded = None
    if setup.is_main:
        try:
            loaded = load(not args.no_download)
        except CourseError as error:
            problem[0] = str(error)
    # Every rank reaches this broadcast, so a failure on rank 0 cannot leave the others waiting.
    torch.distributed.broadcast_object_list(problem, src=0)
    if problem[0] is not None:
        raise CourseError(problem[0])
    return loaded if loaded is not None else load(False)


def _say(setup: DistributedSetup, message: str) -> None:
    if setup.is_main:
        print(message, flush=True)


def main(argv: list[str]) -> int:
    """Entry point of ``python -m cnncourse train``; returns the exit status."""
    args = build_parser().parse_args(argv)
    from cnncourse.data import dataset_spec
    from cnncourse.models import model_info

    model_info(args.model)  # unknown names fail here, with close matches, before anything is loaded
    get_recipe(args.recipe)
    spec = dataset_spec(args.dataset)
    if args.epochs < 1:
        raise CourseError(f"--epochs must be at least 1, got {args.epochs}.")
    name = args.name or f"{args.model}_{args.dataset.replace('-', '_')}"

    from cnncourse.train import pick_device

    setup = distributed_setup_from_environment()
    device = pick_device(args.device)  # a device that is not there fails here, with a message
    started_group = False
    if setup.world_size > 1 and not torch.distributed.is_initialized():
        if device.type == "cuda":  # one GPU per process, chosen by torchrun's LOCAL_RANK
            device = torch.device("cuda", setup.local_rank)
            torch.cuda.set_device(device)
        torch.distributed.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
        started_group = True
    try:
        return _train(args, argv, setup, device, name, spec.num_classes)
    finally:
        if started_group:
            torch.distributed.destroy_process_group()


def _train(args: argparse.Namespace, argv: list[str], setup: DistributedSetup, device: torch.device, name: str,
           num_classes: int) -> int:
    from cnncourse import settings
    from cnncourse.models import create_model
    from cnncourse.pretrained import save_checkpoint
    from cnncourse.train import evaluate, fit, parameter_checksum, seed_everything
    from cnncourse.training_state import STATE_SUFFIX

    train_data, test_data = _load_data(args, setup)
    input_size = train_data.input_size
    model_kwargs = _model_kwargs(args.model, num_classes, input_size)
    seed_everything(args.seed)  # the same initial weights on every process (DDP also broadcasts rank 0's)
    model = create_model(args.model, **model_kwargs)
    parameters = sum(p.numel() for p in model.parameters())
    _say(setup, f"{args.model} ({parameters:,} parameters) on {args.dataset}, {len(train_data)} train / "
                f"{len(test_data)} test images, device {device}"
                + (f", {setup.world_size} processes" if setup.world_size > 1 else "")
                + (" [fast mode: CNNCOURSE_FAST is set]" if settings.fast_mode() else ""))

    amp = {"auto": None, "off": False}.get(args.amp, args.amp)
    settings_ = resolve_settings(args)
    state_path = Path(args.out) / f"{name}{STATE_SUFFIX}"
    if args.resume:
        _say(setup, f"resuming from {state_path}")
    started = time.perf_counter()
    try:
        history = fit(
            model, train_data, args.epochs, val_data=test_data, **settings_,  # type: ignore[arg-type]
            device=device, amp=amp, compile=args.compile, seed=args.seed,
            progress=False if args.no_progress else ("run" if args.progress == "run" else True),
            state_path=state_path, resume=args.resume, stop_after=args.stop_after,
        )
    except KeyboardInterrupt:
        if state_path.exists():
            _say(setup, f"\nstopped; the state after the last finished epoch is in {state_path}. Continue with "
                        f"the same command and --resume.")
        raise
    planned = int(history.config["epochs"])  # type: ignore[call-overload]  # fast mode trains fewer
    if len(history) < planned:
        _say(setup, f"stopped after epoch {len(history)} of {planned} as asked (--stop-after); the state is in "
                    f"{state_path}: continue with the same command and --resume.")
        return 0
    # A resumed run's wall time counts every session it took: the history has each epoch's seconds.
    wall_time = sum(history.seconds) if args.resume else time.perf_counter() - started
    result = evaluate(model, test_data, device=device, amp=amp,
                      flip_tta=bool(settings_["flip_tta"]))  # type: ignore[arg-type]

    checksum = parameter_checksum(model)
    if setup.world_size > 1:
        checksums: list[float | None] = [None] * setup.world_size
        torch.distributed.all_gather_object(checksums, checksum)
        if len(set(checksums)) != 1:
            _say(setup, f"error: the processes ended with different weights (checksums {checksums}); "
                        "the checkpoint was not written.")
            return 1
        _say(setup, f"weights identical on all {setup.world_size} processes (checksum {checksum!r})")

    _say(setup, f"test accuracy {result['accuracy']:.2%} on {result['count']} images, "
                f"trained {len(history)} epoch(s) in {wall_time:.1f} s")
    failure: CourseError | None = None
    if setup.is_main:
        from cnncourse.profile import describe_device

        # What a reader needs to judge the wall time: the hardware, and on a CPU how many threads it used.
        device_text = describe_device(device)
        if device.type == "cpu":
            device_text += f", {torch.get_num_threads()} thread{'s' if torch.get_num_threads() != 1 else ''}"
        if amp:
            device_text += f", {amp} autocast"
        if setup.world_size > 1:
            device_text += f" × {setup.world_size} processes"
        try:
            path = save_checkpoint(
                model, args.out, name=name, architecture=args.model, model_kwargs=model_kwargs,
                dataset=args.dataset, input_size=input_size, epochs=len(history), device=device_text,
                wall_time_s=wall_time, test_accuracy=float(result["accuracy"]),  # type: ignore[arg-type]
                history=history.to_dict(), command=_command_line(argv, setup),
            )
            print(f"checkpoint written: {path}", flush=True)
            state_path.unlink(missing_ok=True)  # the run is finished: its state is the checkpoint now
        except CourseError as error:  # raised after the barrier, so the other processes are not left waiting
            failure = error
    if setup.world_size > 1:
        torch.distributed.barrier()  # nobody leaves (and tears the group down) before rank 0 has written
    if failure is not None:
        raise failure
    return 0


if __name__ == "__main__":  # pragma: no cover - use `python -m cnncourse train`
    raise SystemExit(main(sys.argv[1:]))
