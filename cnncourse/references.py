"""The manifest of every reference checkpoint the chapters use, and ``python -m cnncourse references``.

Each chapter loads its trained networks by name (:func:`cnncourse.pretrained.load_pretrained`); this
manifest says which names those are, how each is trained (model, :mod:`recipe <cnncourse.recipes>`,
epochs, seed), what test accuracy it is meant to reach, and whether it is sized for the course's 2-core
CPU or meant for a GPU. So one command tells what the course still lacks and trains it::

    python -m cnncourse references                          # status of every reference checkpoint
    python -m cnncourse references --train-missing          # train the missing CPU-sized ones, in order
    python -m cnncourse references --train-missing --only 03 --device cuda

A checkpoint is *present* when it is found and its sha256 verifies, *stale* when the command recorded in
it trained something else than the manifest now says (another recipe, number of epochs or seed),
*damaged* when it is found but does not verify, *missing* otherwise. Training writes a state file after
every epoch (:mod:`cnncourse.training_state`), so an interrupted ``--train-missing`` continues where it
stopped when it is run again.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

from cnncourse.errors import CourseError

#: What :func:`training_command` fills in for every entry.
DATASET = "fashion-mnist"


@dataclass(frozen=True)
class ReferenceCheckpoint:
    """One reference checkpoint: what it is for and how it is trained."""

    name: str
    chapter: str  # "01" … "10"
    model: str  # a cnncourse.models registry name
    recipe: str  # a cnncourse.recipes name
    epochs: int
    purpose: str
    #: The test accuracy (fraction) the chapter's issue asks of it; None for runs kept for their curves.
    target: float | None = None
    #: "cpu": trainable on the course's 2-core CPU (tens of minutes to a few hours); "gpu": meant for one.
    size: Literal["cpu", "gpu"] = "cpu"
    seed: int = 0

    def training_arguments(self) -> list[str]:
        """The ``train`` arguments that make this checkpoint (without ``--out`` and the device options)."""
        return ["--model", self.model, "--dataset", DATASET, "--epochs", str(self.epochs), "--recipe", self.recipe,
                "--seed", str(self.seed), "--name", self.name]


def _entry(name: str, chapter: str, model: str, recipe: str, epochs: int, purpose: str, **rest: Any
           ) -> ReferenceCheckpoint:
    return ReferenceCheckpoint(name=name, chapter=chapter, model=model, recipe=recipe, epochs=epochs,
                               purpose=purpose, **rest)


#: Every reference checkpoint, in the order the chapters need them. Chapters 01–02's were trained with the
#: textbook recipe for 35 epochs (4 for the degradation curves); from chapter 03 on the fast recipe's
#: 10 epochs is the budget at which a chapter's networks are compared (one recipe for all of them). The
#: fast recipe's 10 epochs reach 93.5-93.6% with ResNet-20 here, not the 94% it was meant to
#: (benchmarks/README.md), so an entry that must meet a 94.5% target uses the textbook 35 epochs.
MANIFEST: tuple[ReferenceCheckpoint, ...] = (
    _entry("resnet20_fashion_mnist", "01", "resnet20", "textbook", 35,
           "the trained ResNet-20: accuracy, confusion matrix, mistakes, block deletion", target=0.935),
    _entry("plain20_fashion_mnist_4ep", "01", "plain20", "textbook", 4, "degradation curves: plain, 20 layers"),
    _entry("plain56_fashion_mnist_4ep", "01", "plain56", "textbook", 4, "degradation curves: plain, 56 layers"),
    _entry("resnet20_fashion_mnist_4ep", "01", "resnet20", "textbook", 4,
           "degradation curves: residual, 20 layers"),
    _entry("resnet56_fashion_mnist_4ep", "01", "resnet56", "textbook", 4,
           "degradation curves: residual, 56 layers"),
    _entry("wrn_16_2_fashion_mnist", "02", "wrn_16_2", "textbook", 35,
           "the trained Wide ResNet: accuracy, curves, confusion matrix, mistakes", target=0.945),
    _entry("wrn_10_2_fashion_mnist", "02", "wrn_10_2", "textbook", 35,
           "wide-and-shallow against ResNet-20 at equal size and recipe"),
    _entry("wrn_16_4_fashion_mnist", "02", "wrn_16_4", "textbook", 30,
           "a paper-sized Wide ResNet (k = 4)", target=0.945, size="gpu"),
    _entry("resnet20_fashion_mnist_10ep", "03", "resnet20", "fast", 10,
           "ResNet-20 with the fast recipe: the baseline SE-ResNet-20 is compared with"),
    _entry("se_resnet20_fashion_mnist_10ep", "03", "se_resnet20", "fast", 10,
           "SE-ResNet-20: accuracy against ResNet-20, excitations per class"),
    _entry("densenet_bc_40_12_fashion_mnist_10ep", "04", "densenet_bc_40_12", "fast", 10,
           "a CPU-sized DenseNet-BC on chapter 03's budget: curves, confusion matrix, feature-reuse heatmap"),
    _entry("densenet_bc_40_12_fashion_mnist", "04", "densenet_bc_40_12", "textbook", 35,
           "DenseNet-BC on chapters 01-02's recipe and budget, for the chapter's 94.5% target "
           "(about 2 h on an idle 2-core CPU)",
           target=0.945),
    _entry("mobilenet_v1_cifar_fashion_mnist_10ep", "05", "mobilenet_v1_cifar", "fast", 10,
           "a small-image MobileNet v1 on chapter 03's budget: accuracy, curves, and its CPU cost per epoch "
           "(5.1 min on two threads of a bfloat16 Xeon, 8x ResNet-20's despite fewer multiply-adds; 1.2-1.4 s a "
           "step, about 10 min an epoch, on two threads of an AMD EPYC without bfloat16)", target=0.94),
    _entry("mobilenet_v2_cifar_fashion_mnist_10ep", "06", "mobilenet_v2_cifar", "fast", 10,
           "a small-image MobileNet v2 on chapter 03's budget: accuracy, curves, cost per epoch "
           "(6.3-6.6 min on two threads of a bfloat16 Xeon)", target=0.94),
    _entry("mobilenet_v3_small_cifar_fashion_mnist_10ep", "07", "mobilenet_v3_small_cifar", "fast", 10,
           "a small-image MobileNet v3-Small on chapter 03's budget: accuracy, curves, cost per epoch "
           "(4.5 min on two threads of a bfloat16 Xeon)", target=0.94),
    _entry("aecnn_searched_fashion_mnist_10ep", "08", "aecnn_searched", "fast", 10,
           "the best genome of chapter 08's reference search (cnncourse/nas/reference/), retrained on chapter "
           "03's budget: accuracy beside ResNet-20 and DenseNet-BC", target=0.935),
    _entry("efficientnet_small_fashion_mnist_10ep", "09", "efficientnet_small", "fast", 10,
           "the small-image EfficientNet (B0's widths, depths and kernels, total stride 8) on chapter 03's budget: "
           "accuracy, curves, cost per epoch (15.2 min on two threads of a bfloat16 Xeon, about 2.5 h for the "
           "run; 12 s a step on one thread of a loaded AMD EPYC)", target=0.94),
)


def manifest_from_file(path: str | Path) -> tuple[ReferenceCheckpoint, ...]:
    """A manifest from a JSON list of entries (the fields of :class:`ReferenceCheckpoint`), e.g. for tests."""
    source = Path(path)
    try:
        entries = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CourseError(f"Could not read the manifest {source}: {error}. It should be a JSON list of "
                          "objects with the fields name, chapter, model, recipe, epochs, purpose.") from None
    known = {f.name for f in fields(ReferenceCheckpoint)}
    if not isinstance(entries, list):
        raise CourseError(f"The manifest {source} should be a JSON list of entries, found {type(entries).__name__}.")
    manifest = []
    for position, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict) or set(entry) - known or not {"name", "model", "recipe", "epochs"} <= set(entry):
            raise CourseError(f"Entry {position} of the manifest {source} should be an object with name, chapter, "
                              f"model, recipe, epochs, purpose (and optionally {', '.join(sorted(known - {'name', 'chapter', 'model', 'recipe', 'epochs', 'purpose'}))}); "
                              f"found {entry!r}.")
        manifest.append(ReferenceCheckpoint(**{"chapter": "", "purpose": "", **entry}))
    return tuple(manifest)


# --------------------------------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------------------------------


@dataclass
class Status:
    """Where one manifest entry stands."""

    entry: ReferenceCheckpoint
    state: Literal["present", "stale", "damaged", "missing"]
    detail: str = ""
    test_accuracy: float | None = None
    device: str = ""
    path: Path | None = None

    @property
    def meets_target(self) -> bool | None:
        if self.entry.target is None or self.test_accuracy is None:
            return None
        return self.test_accuracy >= self.entry.target


def _trained_settings(command: str) -> dict[str, Any] | None:
    """What a recorded ``python -m cnncourse train ...`` command trained: model, data, epochs, seed, recipe
    settings (flags that only choose hardware, output or display are left out). None if not a train command."""
    from cnncourse.train_cli import build_parser, resolve_settings

    words = shlex.split(command)
    if "train" not in words:
        return None
    try:
        args = build_parser().parse_args(words[words.index("train") + 1:])
    except SystemExit:
        return None
    return {"model": args.model, "dataset": args.dataset, "epochs": args.epochs, "seed": args.seed,
            **resolve_settings(args)}


def _expected_settings(entry: ReferenceCheckpoint) -> dict[str, Any]:
    settings = _trained_settings(shlex.join(["train", *entry.training_arguments()]))
    assert settings is not None
    return settings


def entry_status(entry: ReferenceCheckpoint, directory: str | Path | None = None) -> Status:
    """Find ``entry``'s checkpoint (directory first, then the usual folders), verify it, compare its command."""
    from cnncourse.pretrained import _locate, load_metadata, verify_checkpoint

    try:
        weights, _ = _locate(entry.name, directory)
    except CourseError:
        return Status(entry, "missing", "not found")
    try:
        metadata = load_metadata(weights)
        verify_checkpoint(weights)
    except CourseError as error:
        return Status(entry, "damaged", str(error).splitlines()[0][:200], path=weights)
    status = Status(entry, "present", "sha256 verified", metadata.get("test_accuracy"),
                    str(metadata.get("device", "")), weights)
    trained = _trained_settings(str(metadata.get("command", "")))
    expected = _expected_settings(entry)
    if trained is None:
        status.state, status.detail = "stale", "its recorded command is not a train command"
    else:
        differences = [f"{key} {trained.get(key)!r} (manifest {value!r})"
                       for key, value in expected.items() if trained.get(key) != value]
        if differences:
            status.state, status.detail = "stale", "trained with " + ", ".join(differences)
    return status


def manifest_status(manifest: Sequence[ReferenceCheckpoint] = MANIFEST, directory: str | Path | None = None,
                    only: Sequence[str] | None = None) -> list[Status]:
    """The status of every entry (of the chapters in ``only``, when given)."""
    return [entry_status(entry, directory) for entry in _selected(manifest, only)]


def _selected(manifest: Sequence[ReferenceCheckpoint], only: Sequence[str] | None) -> list[ReferenceCheckpoint]:
    if not only:
        return list(manifest)
    wanted = {chapter.zfill(2) for chapter in only}
    chosen = [entry for entry in manifest if entry.chapter in wanted]
    if not chosen:
        chapters = sorted({entry.chapter for entry in manifest})
        raise CourseError(f"No reference checkpoints for chapter(s) {', '.join(sorted(wanted))}; the manifest "
                          f"has chapters {', '.join(chapters)}.")
    return chosen


def format_table(statuses: Sequence[Status]) -> str:
    headers = ["name", "ch", "model", "recipe", "epochs", "size", "status", "test acc", "target", "trained on"]
    rows = []
    for status in statuses:
        entry = status.entry
        accuracy = "-" if status.test_accuracy is None else f"{status.test_accuracy:.2%}"
        target = "-" if entry.target is None else f"{entry.target:.1%}"
        if status.meets_target is not None:
            target += " ✓" if status.meets_target else " ✗"
        rows.append([entry.name, entry.chapter, entry.model, entry.recipe, str(entry.epochs), entry.size,
                     status.state, accuracy, target, status.device or "-"])
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(headers)]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
             for line in [headers, ["-" * width for width in widths], *rows]]
    for status in statuses:
        if status.state in ("stale", "damaged"):
            lines.append(f"{status.entry.name}: {status.state}: {status.detail}")
    counts = {state: sum(s.state == state for s in statuses) for state in ("present", "stale", "damaged", "missing")}
    lines.append(", ".join(f"{count} {state}" for state, count in counts.items() if count) + f" of {len(statuses)}.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Training what is missing
# --------------------------------------------------------------------------------------------------


def training_command(entry: ReferenceCheckpoint, out: str | Path, device: str | None) -> list[str]:
    """The ``train`` argv for ``entry``: on a CPU with bfloat16 hardware with bf16 autocast (as the shipped
    checkpoints were), on CUDA with the automatic mixed precision; ``--resume`` when a state is waiting."""
    from cnncourse.train import cpu_has_native_bfloat16, pick_device
    from cnncourse.training_state import STATE_SUFFIX

    chosen = pick_device(device)
    argv = [*entry.training_arguments(), "--out", str(out), "--progress", "run"]
    if device is not None:
        argv += ["--device", device]
    if chosen.type == "cpu" and cpu_has_native_bfloat16():
        argv += ["--amp", "bf16"]
    if (Path(out) / f"{entry.name}{STATE_SUFFIX}").exists():
        argv.append("--resume")
    return argv


def train_missing(manifest: Sequence[ReferenceCheckpoint], out: str | Path, *, device: str | None = None,
                  only: Sequence[str] | None = None, include_gpu: bool = False, dry_run: bool = False) -> int:
    """Train every missing (or damaged) entry in manifest order; returns how many were trained.

    GPU-sized entries are trained only on CUDA or with ``include_gpu``. Stale ones are left alone and
    reported: retraining a shipped checkpoint is a decision, not a side effect.
    """
    from cnncourse import train_cli
    from cnncourse.train import pick_device

    on_gpu = pick_device(device).type == "cuda"
    statuses = manifest_status(manifest, out if Path(out).is_dir() else None, only)
    todo = [s for s in statuses if s.state in ("missing", "damaged") and (s.entry.size == "cpu" or on_gpu or include_gpu)]
    skipped = [s for s in statuses if s.state in ("missing", "damaged") and s not in todo]
    for status in skipped:
        print(f"skipping {status.entry.name}: sized for a GPU (add --include-gpu to train it here anyway)")
    for status in statuses:
        if status.state == "stale":
            print(f"not retraining {status.entry.name}: stale ({status.detail}); delete it to have it retrained")
    if not todo:
        print("Nothing to train: every selected reference checkpoint is here.")
        return 0
    for number, status in enumerate(todo, start=1):
        argv = training_command(status.entry, out, device)
        print(f"[{number}/{len(todo)}] {status.entry.name} (chapter {status.entry.chapter}): "
              f"python -m cnncourse train {shlex.join(argv)}", flush=True)
        if not dry_run:
            train_cli.main(argv)
    return 0 if dry_run else len(todo)


def main(argv: list[str]) -> int:
    """``python -m cnncourse references``: the status table; ``--train-missing`` trains what is missing."""
    from cnncourse.pretrained import PACKAGE_CHECKPOINTS

    parser = argparse.ArgumentParser(
        prog="python -m cnncourse references",
        description="Show every reference checkpoint the chapters use (present / missing / stale / damaged, "
                    "sha256 verified, accuracy against its target, where it was trained) and train the missing ones.",
    )
    parser.add_argument("--only", nargs="+", metavar="CHAPTER", help="only these chapters, e.g. --only 03 04")
    parser.add_argument("--train-missing", action="store_true", help="train the missing ones in manifest order "
                        "(resumable: run it again after an interruption)")
    parser.add_argument("--out", type=Path, default=PACKAGE_CHECKPOINTS,
                        help=f"where checkpoints are written and looked for first (default {PACKAGE_CHECKPOINTS})")
    parser.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: the best available)")
    parser.add_argument("--include-gpu", action="store_true", help="also train the GPU-sized ones on this device")
    parser.add_argument("--dry-run", action="store_true", help="print the train commands instead of running them")
    parser.add_argument("--manifest", type=Path, default=None, help="a JSON manifest instead of the course's")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    args = parser.parse_args(argv)
    manifest = MANIFEST if args.manifest is None else manifest_from_file(args.manifest)
    if args.train_missing:
        train_missing(manifest, args.out, device=args.device, only=args.only, include_gpu=args.include_gpu,
                      dry_run=args.dry_run)
    statuses = manifest_status(manifest, args.out if args.out.is_dir() else None, args.only)
    if args.json:
        print(json.dumps([{**asdict(s.entry), "status": s.state, "detail": s.detail, "test_accuracy": s.test_accuracy,
                           "device": s.device, "path": None if s.path is None else str(s.path)} for s in statuses],
                         indent=2))
    else:
        print(format_table(statuses))
    return 1 if any(s.state == "damaged" for s in statuses) else 0


if __name__ == "__main__":  # pragma: no cover - use `python -m cnncourse references`
    raise SystemExit(main(sys.argv[1:]))
