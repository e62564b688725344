"""Every model side by side: the table of chapter 10, computed from the reference checkpoints.

Nothing here is a list of results. :func:`reference_roster` reads the references manifest
(:data:`cnncourse.references.MANIFEST`) and the checkpoint folder, and says which entries are shipped
(their files are there and verify) and which are not trained yet; :func:`load_references` loads the
shipped ones; the ``measure_*`` functions re-measure what a learner wants to compare, live:

* test accuracy on Fashion-MNIST, one forward pass per image for every row (``flip_tta=True`` reproduces
  the fast recipe's recorded figure), on all 10,000 test images or a subset;
* parameters and multiply-adds (:func:`cnncourse.profile.count_parameters` / ``count_macs``);
* CPU latency at batch 1 and batch 64, the models **taking turns** in every round
  (:func:`interleaved_latency`), so a background job slows all of them alike and the ratios hold even when
  the absolute times do not;
* peak inference memory, measured (:func:`cnncourse.profile.heap_peak_bytes`);
* and, from each checkpoint's metadata, how long its training took and on which machine.

:func:`checkpoint_table` assembles them into a :class:`ComparisonTable` (text and HTML), :func:`pareto`
picks the rows no other row beats on accuracy *and* a cost (:func:`cnncourse.nas.analysis.pareto_front`).

The ImageNet-size models of the zoo cannot be trained here; :func:`imagenet_table` counts their parameters
and multiply-adds and puts the papers' published ImageNet top-1 beside them (:data:`PUBLISHED_TOP1`, each
with its paper and table). :data:`TIMELINE` is the course's architectures in order, each with a cited
headline number.
"""

from __future__ import annotations

import html
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from cnncourse.errors import CourseError
from cnncourse.references import MANIFEST, ReferenceCheckpoint, Status, entry_status

__all__ = [
    "PUBLISHED_TOP1",
    "TIMELINE",
    "CheckpointRow",
    "ComparisonTable",
    "ImageNetRow",
    "LatencySample",
    "Published",
    "Roster",
    "TimelineEntry",
    "checkpoint_table",
    "cheapest_within",
    "imagenet_models",
    "imagenet_table",
    "interleaved_latency",
    "load_references",
    "measure_accuracy",
    "measure_costs",
    "measure_peak_memory",
    "pareto",
    "reference_roster",
    "shipped_names",
]


# ----------------------------------------------------------------------------------------------------
# Which reference checkpoints are there
# ----------------------------------------------------------------------------------------------------


def _package_checkpoints() -> Path:
    from cnncourse.pretrained import PACKAGE_CHECKPOINTS

    return PACKAGE_CHECKPOINTS


def shipped_names(manifest: Sequence[ReferenceCheckpoint] = MANIFEST, directory: str | Path | None = None
                  ) -> list[str]:
    """The manifest entries whose weights file lies in ``directory`` (default ``cnncourse/checkpoints/``),
    in manifest order: what the table must show, whether or not the files verify."""
    folder = Path(directory) if directory is not None else _package_checkpoints()
    return [entry.name for entry in manifest if (folder / f"{entry.name}.safetensors").exists()
            or (folder / f"{entry.name}.json").exists()]


@dataclass(frozen=True)
class Roster:
    """Where every manifest entry stands: ``shipped`` (present or stale: files there and verified) and
    ``missing`` (not trained yet), both in manifest order."""

    shipped: tuple[Status, ...]
    missing: tuple[ReferenceCheckpoint, ...]

    def __str__(self) -> str:
        total = len(self.shipped) + len(self.missing)
        lines = [f"{len(self.shipped)} of {total} reference checkpoints of the manifest are shipped:"]
        for status in self.shipped:
            flag = "" if status.state == "present" else f"  [stale: {status.detail}]"
            lines.append(f"  {status.entry.chapter}  {status.entry.name}{flag}")
        if self.missing:
            lines.append("not trained yet:")
            for entry in self.missing:
                lines.append(f"  {entry.chapter}  {entry.name}  ({entry.model}, {entry.recipe} recipe, "
                             f"{entry.epochs} epochs, sized for a {entry.size.upper()})")
            chapters = " ".join(sorted({entry.chapter for entry in self.missing}))
            lines.append(f"train them with: python -m cnncourse references --train-missing --only {chapters}")
        return "\n".join(lines)


def reference_roster(manifest: Sequence[ReferenceCheckpoint] = MANIFEST, directory: str | Path | None = None
                     ) -> Roster:
    """Every manifest entry, shipped or not trained yet, looked for in ``directory`` only (default the
    package's ``cnncourse/checkpoints/``). A damaged checkpoint (a lone half of a pair, a failed sha256,
    weights that do not fit the architecture) raises :class:`CourseError` saying which and how to repair it:
    a comparison that silently dropped it would be wrong."""
    folder = Path(directory) if directory is not None else _package_checkpoints()
    if not folder.is_dir():
        raise CourseError(f"The checkpoint folder {folder} does not exist: pass the folder that holds the "
                          "reference checkpoints (NAME.safetensors and NAME.json).")
    present = set(shipped_names(manifest, folder))
    shipped, missing = [], []
    for entry in manifest:
        if entry.name not in present:
            missing.append(entry)
            continue
        status = entry_status(entry, folder)
        elsewhere = status.path is None or status.path.parent.resolve() != folder.resolve()
        if status.state in ("missing", "damaged") or elsewhere:
            raise CourseError(
                f"The reference checkpoint {entry.name} in {folder} is damaged: "
                f"{status.detail or status.state}. Restore both files ({entry.name}.safetensors and "
                f"{entry.name}.json) from the course repository, or delete them and retrain: "
                f"python -m cnncourse references --train-missing --only {entry.chapter}"
            )
        shipped.append(status)
    return Roster(tuple(shipped), tuple(missing))


def load_references(roster: Roster, device: str = "cpu") -> dict[str, nn.Module]:
    """The shipped checkpoints' models, by checkpoint name, verified and in eval mode; a checkpoint that
    holds another architecture than its manifest entry names raises :class:`CourseError`."""
    from cnncourse.pretrained import load_pretrained

    models: dict[str, nn.Module] = {}
    for status in roster.shipped:
        assert status.path is not None
        model = load_pretrained(status.path, device=device)
        architecture = model.checkpoint_metadata["architecture"]  # type: ignore[index]
        if architecture != status.entry.model:
            raise CourseError(f"The checkpoint {status.entry.name} holds a {architecture!r}, but the manifest "
                              f"says {status.entry.model!r}: delete it and retrain it (python -m cnncourse "
                              f"references --train-missing --only {status.entry.chapter}) or fix the manifest.")
        models[status.entry.name] = model
    return models


def _input_size(model: nn.Module) -> tuple[int, int, int]:
    metadata = getattr(model, "checkpoint_metadata", None)
    if isinstance(metadata, Mapping) and "input_size" in metadata:
        return tuple(metadata["input_size"])  # type: ignore[return-value]
    raise CourseError("The model carries no checkpoint_metadata with an input_size: pass models from "
                      "load_references (or load_pretrained), or give input_sizes explicitly.")


# ----------------------------------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------------------------------


def measure_costs(models: Mapping[str, nn.Module], input_sizes: Mapping[str, Sequence[int]] | None = None
                  ) -> dict[str, tuple[int, int]]:
    """(parameters, multiply-adds per image) of every model, counted now (``cnncourse.profile``)."""
    from cnncourse.profile import count_macs, count_parameters

    sizes = input_sizes or {}
    return {name: (count_parameters(model), count_macs(model, sizes.get(name) or _input_size(model)))
            for name, model in models.items()}


def measure_accuracy(models: Mapping[str, nn.Module], test_set: object, images: int | None = None,
                     batch_size: int = 500, flip_tta: bool = False) -> dict[str, tuple[float, int]]:
    """(test accuracy, images used) of every model in float32 on the first ``images`` test images (all when
    None). One protocol for every row: one forward pass per image (``flip_tta=False``), the pass the latency
    columns time, although the fast recipe's recorded accuracy averages it with the mirrored image's."""
    from cnncourse.train import evaluate

    results = {}
    for name, model in models.items():
        measured = evaluate(model, test_set, batch_size=batch_size, amp=False, fast=False, subset=images,
                            flip_tta=flip_tta)
        results[name] = (float(measured["accuracy"]), int(measured["count"]))
    return results


@dataclass(frozen=True)
class LatencySample:
    """The timed forward passes of one model, in milliseconds, and their median and spread."""

    times_ms: tuple[float, ...]
    batch_size: int

    @property
    def median_ms(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def spread(self) -> float:
        """(slowest − fastest) / median: how much the rounds disagreed."""
        return (max(self.times_ms) - min(self.times_ms)) / self.median_ms if self.median_ms else 0.0


def interleaved_latency(models: Mapping[str, nn.Module], batch_size: int = 1, rounds: int = 5,
                        warmup: int = 1, input_sizes: Mapping[str, Sequence[int]] | None = None, seed: int = 0,
                        clock: Callable[[], float] = time.perf_counter) -> dict[str, LatencySample]:
    """Time one forward pass (eval mode, no autograd) of every model per round, the models taking turns
    (in an order that rotates by one from round to round).

    A background program that slows the machine for a while slows every model of that round, so ratios
    between models are more trustworthy than the absolute times (compare models measured together, never
    timings of different runs). Each model first runs ``warmup`` untimed passes. ``clock`` is the timer
    (``time.perf_counter`` for wall time; ``time.thread_time`` counts only this thread's CPU time).
    """
    if not models:
        raise CourseError("interleaved_latency needs at least one model.")
    if not isinstance(rounds, int) or rounds < 1 or not isinstance(warmup, int) or warmup < 0:
        raise CourseError(f"rounds must be an integer ≥ 1 and warmup ≥ 0, got rounds={rounds!r}, "
                          f"warmup={warmup!r}.")
    generator = torch.Generator().manual_seed(seed)
    inputs = {name: torch.randn(batch_size, *((input_sizes or {}).get(name) or _input_size(model)),
                                generator=generator) for name, model in models.items()}
    times: dict[str, list[float]] = {name: [] for name in models}
    modes = {name: model.training for name, model in models.items()}
    try:
        with torch.inference_mode():
            for name, model in models.items():
                model.eval()
                for _ in range(warmup):
                    model(inputs[name])
            names = list(models)
            for round_index in range(rounds):
                # The order rotates from round to round, so no network always runs first (or right after
                # the largest one, whose data has just pushed everyone else's out of the caches).
                shift = round_index % len(names)
                for name in names[shift:] + names[:shift]:
                    start = clock()
                    models[name](inputs[name])
                    times[name].append((clock() - start) * 1000.0)
    finally:
        for name, model in models.items():
            model.train(modes[name])
    return {name: LatencySample(tuple(values), batch_size) for name, values in times.items()}


def measure_peak_memory(models: Mapping[str, nn.Module], batch_size: int = 1,
                        input_sizes: Mapping[str, Sequence[int]] | None = None) -> dict[str, int | None]:
    """Measured peak CPU memory of one forward pass (eval, no autograd) above the level before it, in bytes,
    after one warm-up pass (:func:`cnncourse.profile.heap_peak_bytes`); None where glibc cannot be read."""
    from cnncourse.profile import heap_peak_bytes

    peaks: dict[str, int | None] = {}
    for name, model in models.items():
        x = torch.randn(batch_size, *((input_sizes or {}).get(name) or _input_size(model)))
        training = model.training
        model.eval()
        try:
            with torch.inference_mode():
                model(x)  # warm-up: weight packing and caches are not inference memory
                peaks[name] = heap_peak_bytes(lambda model=model: model(x))
        finally:
            model.train(training)
    return peaks


# ----------------------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointRow:
    """One reference checkpoint: measured now (accuracy, counts, latency, memory), and as trained."""

    name: str
    chapter: str
    architecture: str
    recipe: str
    epochs: int
    state: str  # "present" or "stale"
    params: int
    macs: int
    accuracy: float | None
    test_images: int
    recorded_accuracy: float | None
    flip_tta: bool
    latency_b1_ms: float | None
    latency_b64_ms: float | None
    peak_b1_bytes: int | None
    peak_b64_bytes: int | None
    wall_time_s: float
    trained_on: str

    @property
    def weights_bytes(self) -> int:
        """The float32 weights: four bytes a parameter (what a phone has to download and keep)."""
        return 4 * self.params


def _megabytes(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1e6:.2f}" if value < 10e6 else f"{value / 1e6:.1f}"


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


@dataclass(frozen=True)
class ComparisonTable:
    """The rows of :func:`checkpoint_table` and the checkpoints not trained yet; text and HTML."""

    rows: tuple[CheckpointRow, ...]
    missing: tuple[ReferenceCheckpoint, ...] = ()
    notes: tuple[str, ...] = field(default=())

    HEADERS = ("checkpoint", "ch", "params", "MACs", "test acc", "ms b1", "ms b64", "MB b1", "MB b64",
               "trained", "trained on")
    NUMERIC = frozenset(range(2, 10))

    def row(self, name: str) -> CheckpointRow:
        for row in self.rows:
            if row.name == name:
                return row
        names = ", ".join(r.name for r in self.rows)
        raise CourseError(f"No checkpoint {name!r} in the table; it has {names}.")

    def _cells(self) -> list[list[str]]:
        from cnncourse.profile import format_count

        cells = []
        for row in self.rows:
            accuracy = "-" if row.accuracy is None else f"{row.accuracy:.2%}"
            cells.append([row.name + ("" if row.state == "present" else " (stale)"), row.chapter,
                          format_count(row.params), format_count(row.macs), accuracy,
                          "-" if row.latency_b1_ms is None else f"{row.latency_b1_ms:.1f}",
                          "-" if row.latency_b64_ms is None else f"{row.latency_b64_ms:.0f}",
                          _megabytes(row.peak_b1_bytes), _megabytes(row.peak_b64_bytes),
                          _minutes(row.wall_time_s), row.trained_on])
        for entry in self.missing:
            cells.append([entry.name, entry.chapter, "", "", "not trained yet", "", "", "", "", "", ""])
        return cells

    def __str__(self) -> str:
        from cnncourse.profile import _text_table

        return "\n".join([_text_table(self.HEADERS, self._cells(), set(self.NUMERIC)), *self.notes])

    def _repr_html_(self) -> str:
        from cnncourse.profile import _html_table

        caption = (f"{len(self.rows)} reference checkpoints measured now"
                   + (f"; {len(self.missing)} not trained yet" if self.missing else ""))
        return _html_table(self.HEADERS, self._cells(), caption, set(self.NUMERIC)) + "".join(
            f"<p>{html.escape(note)}</p>" for note in self.notes)


def _short_device(device: str) -> str:
    """'cpu: 2 cores, Intel(R) Xeon(R) Processor, 2 threads, bf16 autocast' -> 'Xeon, 2 thr, bf16'."""
    text = device.replace("(R)", "")
    for long, short in (("Intel Xeon Processor", "Xeon"), ("Intel Xeon", "Xeon"), ("AMD EPYC", "EPYC"),
                        ("bf16 autocast", "bf16"), (" threads", " thr"), (" thread", " thr")):
        text = text.replace(long, short)
    parts = [part.strip() for part in text.split(",")]
    if parts and parts[0].startswith("cpu:"):
        parts = parts[1:]  # "cpu: 2 cores" → the cores are the course machine's; keep the rest
        if parts and parts[0].endswith("cores"):
            parts = parts[1:]
    return ", ".join(parts) or device


def checkpoint_table(roster: Roster, models: Mapping[str, nn.Module], costs: Mapping[str, tuple[int, int]],
                     accuracy: Mapping[str, tuple[float, int]] | None = None,
                     latency_b1: Mapping[str, LatencySample] | None = None,
                     latency_b64: Mapping[str, LatencySample] | None = None,
                     peak_b1: Mapping[str, int | None] | None = None,
                     peak_b64: Mapping[str, int | None] | None = None,
                     notes: Sequence[str] = ()) -> ComparisonTable:
    """One row per shipped checkpoint of ``roster`` (manifest order), then the ones not trained yet.

    Every shipped checkpoint must have a model and counts; a measurement left out shows as "-".
    """
    rows = []
    for status in roster.shipped:
        name = status.entry.name
        if name not in models or name not in costs:
            raise CourseError(f"The shipped checkpoint {name} has no model or no counts: load every checkpoint "
                              "of the roster (load_references) and count them all (measure_costs) before the table.")
        metadata = models[name].checkpoint_metadata  # type: ignore[attr-defined]
        measured = (accuracy or {}).get(name)
        rows.append(CheckpointRow(
            name=name, chapter=status.entry.chapter, architecture=metadata["architecture"],
            recipe=status.entry.recipe, epochs=int(metadata["epochs"]), state=status.state,
            params=costs[name][0], macs=costs[name][1],
            accuracy=None if measured is None else measured[0],
            test_images=0 if measured is None else measured[1],
            recorded_accuracy=metadata.get("test_accuracy"),
            flip_tta=bool(metadata["history"].get("config", {}).get("flip_tta", False)),
            latency_b1_ms=(latency_b1 or {})[name].median_ms if name in (latency_b1 or {}) else None,
            latency_b64_ms=(latency_b64 or {})[name].median_ms if name in (latency_b64 or {}) else None,
            peak_b1_bytes=(peak_b1 or {}).get(name), peak_b64_bytes=(peak_b64 or {}).get(name),
            wall_time_s=float(metadata["wall_time_s"]), trained_on=_short_device(str(metadata["device"]))))
    return ComparisonTable(tuple(rows), roster.missing, tuple(notes))


def pareto(rows: Sequence[CheckpointRow], cost: str = "macs", value: str = "accuracy") -> list[CheckpointRow]:
    """The rows no other row beats on both ``value`` (kept high) and ``cost`` (kept low: ``"macs"``,
    ``"params"``, ``"latency_b1_ms"``, ``"latency_b64_ms"``, ``"peak_b1_bytes"``, ...), cheapest first.
    Rows without the two numbers are left out (:func:`cnncourse.nas.analysis.pareto_front` does the rest)."""
    from cnncourse.nas.analysis import pareto_front

    for attribute in (cost, value):
        if attribute not in CheckpointRow.__dataclass_fields__:
            raise CourseError(f"{attribute!r} is not a column of the table; use one of "
                              f"{', '.join(CheckpointRow.__dataclass_fields__)}.")
    usable = [row for row in rows if getattr(row, cost) is not None and getattr(row, value) is not None]
    return pareto_front(usable, cost=lambda row: getattr(row, cost), value=lambda row: getattr(row, value))


def uses_depthwise(model: nn.Module) -> bool:
    """Whether ``model`` has a depthwise convolution (a ``Conv2d`` with one group per input channel). Chapter 10
    groups networks by their layers, not by their registry family: the ``nas`` family holds MnasNet (depthwise)
    and the AE-CNN genome (plain ResNet and DenseNet units)."""
    return any(isinstance(module, nn.Conv2d) and module.groups > 1 and module.groups == module.in_channels
               for module in model.modules())


def cheapest_within(rows: Sequence[CheckpointRow], cost: str | None, tolerance: float = 0.005
                    ) -> tuple[CheckpointRow, list[CheckpointRow]]:
    """(the pick, the candidates): the candidates are the rows whose accuracy is within ``tolerance`` (a
    fraction: 0.005 = half a point) of the best row's; the pick is the candidate with the lowest ``cost``
    (ties: the more accurate, then the earlier row). ``cost=None`` picks the most accurate row."""
    if not 0 <= tolerance < 0.5:  # also rejects NaN; 0.5 would be 50 points, likely meant as half a point
        raise CourseError(f"tolerance is a fraction of the best accuracy (0.005 = half a point), got {tolerance!r}: "
                          "pass a number from 0 up to, not including, 0.5.")
    measured = [row for row in rows if row.accuracy is not None]
    if not measured:
        raise CourseError("No row has a measured accuracy: measure_accuracy first.")
    if cost is None:
        best = max(measured, key=lambda row: row.accuracy)  # type: ignore[arg-type, return-value]
        return best, [best]
    if cost not in CheckpointRow.__dataclass_fields__:
        columns = ", ".join(CheckpointRow.__dataclass_fields__)
        raise CourseError(f"{cost!r} is not a column of the table; use one of {columns}.")
    best_accuracy = max(row.accuracy for row in measured)  # type: ignore[type-var]
    candidates = [row for row in measured
                  if row.accuracy >= best_accuracy - tolerance and getattr(row, cost) is not None]  # type: ignore[operator]
    if not candidates:
        raise CourseError(f"No row within {tolerance:.1%} of the best accuracy has a value for {cost!r}.")
    order = {id(row): position for position, row in enumerate(rows)}
    pick = min(candidates, key=lambda row: (getattr(row, cost), -row.accuracy, order[id(row)]))
    return pick, candidates


# ----------------------------------------------------------------------------------------------------
# ImageNet-size models: our counts beside the papers' published accuracy
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """A published ImageNet top-1 accuracy (%), where it is printed, and how it was measured."""

    top1: float
    source: str
    protocol: str
    note: str = ""


_HE = "He et al., 2015, arXiv:1512.03385"
_HUANG = "Huang et al., 2017, arXiv:1608.06993"
#: Published ImageNet (ILSVRC-2012 validation) top-1 accuracy of the zoo's ImageNet-size models, from the
#: papers' tables (accuracy = 100 − the top-1 error they print). Registry names without an entry have no
#: figure the course cites: torchvision's ``mnasnet*`` are MnasNet-B1 (no SE), not the paper's headline A1;
#: DenseNet-161 is in the authors' code release, not the paper's Table 3; the Wide ResNet paper's ImageNet
#: result and EfficientNet B1-B6 are left to their chapters. Protocols differ, and 10-crop figures are not
#: comparable with single-crop ones (He et al.'s ResNet-50: 22.85% error with 10 crops; the SENet authors'
#: re-implemented ResNet-50 with one crop: 24.80%, trained differently too): compare within one protocol.
PUBLISHED_TOP1: dict[str, Published] = {
    "resnet18": Published(72.12, f"{_HE}, Table 2 (27.88% top-1 error)", "10-crop"),
    "resnet34": Published(75.48, f"{_HE}, Table 3 (ResNet-34 B, 24.52% top-1 error)", "10-crop"),
    "resnet50": Published(77.15, f"{_HE}, Table 3 (22.85% top-1 error)", "10-crop",
                          "torchvision's resnet50 strides the 3×3 (v1.5), the paper's the first 1×1"),
    "resnet101": Published(78.25, f"{_HE}, Table 3 (21.75% top-1 error)", "10-crop"),
    "resnet152": Published(78.57, f"{_HE}, Table 3 (21.43% top-1 error)", "10-crop"),
    "se_resnet50": Published(76.71, "Hu et al., 2017, arXiv:1709.01507, Table 2 (23.29% top-1 error; their "
                                    "re-implemented ResNet-50: 24.80%)", "single 224 crop",
                             "timm's seresnet50 strides the 3×3 like torchvision's resnet50 (4.09G multiply-adds); "
                             "the paper's strides the first 1×1 (3.87 GFLOPs, Table 2)"),
    "densenet121": Published(74.98, f"{_HUANG}, Table 3 (25.02% top-1 error)", "single 224 crop"),
    "densenet169": Published(76.20, f"{_HUANG}, Table 3 (23.80% top-1 error)", "single 224 crop"),
    "densenet201": Published(77.42, f"{_HUANG}, Table 3 (22.58% top-1 error)", "single 224 crop"),
    "mobilenet_v1": Published(70.6, "Howard et al., 2017, arXiv:1704.04861, Table 8 (1.0 MobileNet-224)",
                              "single 224 crop"),
    "mobilenet_v2": Published(72.0, "Sandler et al., 2018, arXiv:1801.04381, Table 4", "single 224 crop"),
    "mobilenet_v3_large": Published(75.2, "Howard et al., 2019, arXiv:1905.02244, Table 3 (Large 1.0)",
                                    "single 224 crop"),
    "mobilenet_v3_small": Published(67.4, "Howard et al., 2019, arXiv:1905.02244, Table 3 (Small 1.0)",
                                    "single 224 crop"),
    "efficientnet_b0": Published(77.1, "Tan & Le, 2019, arXiv:1905.11946, Table 2 (76.3% in arXiv v1)",
                                 "single crop, 224"),
    "efficientnet_b7": Published(84.3, "Tan & Le, 2019, arXiv:1905.11946, Table 2 (84.4% in arXiv v1)",
                                 "single crop, 600"),
}


@dataclass(frozen=True)
class ImageNetRow:
    """One ImageNet-size model of the zoo: our counts at its own input size, and the paper's accuracy."""

    name: str
    family: str
    input_size: tuple[int, int, int]
    params: int
    macs: int
    published: Published | None
    counterpart: str  # "torchvision resnet50", "timm seresnet50"


def imagenet_models() -> list[str]:
    """The registry's ImageNet-size models: designed for inputs of 224×224 or more, with a torchvision (or,
    for the two families torchvision lacks, a timm) counterpart whose weights they load."""
    from cnncourse.models import list_models, model_info

    return [name for name in list_models() if model_info(name).input_size[1] >= 224
            and (model_info(name).torchvision_name or model_info(name).timm_name)]


def imagenet_table(names: Sequence[str] | None = None) -> list[ImageNetRow]:
    """Parameters and multiply-adds of each model (built on the meta device: no memory, no weights), at the
    input size it was designed for, with :data:`PUBLISHED_TOP1`'s figure where there is one."""
    from cnncourse.models import create_model, model_info
    from cnncourse.profile import count_macs, count_parameters

    rows = []
    for name in names if names is not None else imagenet_models():
        info = model_info(name)
        with torch.device("meta"):
            model = create_model(name)
        counterpart = (f"torchvision {info.torchvision_name}" if info.torchvision_name
                       else f"timm {info.timm_name}" if info.timm_name else "-")
        rows.append(ImageNetRow(name, info.family, info.input_size, count_parameters(model),
                                count_macs(model, info.input_size), PUBLISHED_TOP1.get(name), counterpart))
    return rows


# ----------------------------------------------------------------------------------------------------
# The timeline
# ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    """One architecture: the year of its paper's first public version, its chapter, idea and headline."""

    year: int
    architecture: str
    chapter: str
    idea: str
    headline: str
    source: str


#: The course's architectures in order of their papers' first arXiv version (as chapter 00b's timeline).
TIMELINE: tuple[TimelineEntry, ...] = (
    TimelineEntry(2015, "ResNet", "01", "identity shortcut: y = F(x) + x",
                  "ILSVRC 2015 winner, 3.57% top-5 test error (ensemble)", f"{_HE}, abstract and Table 5"),
    TimelineEntry(2016, "Wide ResNet", "02", "fewer, wider residual layers",
                  "WRN-28-10 (36.5M): 4.00% CIFAR-10 error (mean/std preprocessing)",
                  "Zagoruyko & Komodakis, 2016, arXiv:1605.07146, Tables 5 and 6"),
    TimelineEntry(2016, "DenseNet", "04", "concatenate every earlier feature map",
                  "DenseNet-BC L=190, k=40 (25.6M): 3.46% CIFAR-10+ error", f"{_HUANG}, Table 2"),
    TimelineEntry(2017, "MobileNet v1", "05", "depthwise-separable convolution",
                  "70.6% top-1 at 569M multiply-adds, 4.2M parameters",
                  "Howard et al., 2017, arXiv:1704.04861, Table 8"),
    TimelineEntry(2017, "NASNet", "08", "a searched cell, stacked",
                  "NASNet-A (6@4032): 82.7% top-1", "Zoph et al., 2018, arXiv:1707.07012, abstract"),
    TimelineEntry(2017, "SENet", "03", "channel gates from a global squeeze",
                  "SE-ResNet-50 23.29% vs ResNet-50 24.80% top-1 error; ILSVRC 2017 winner, 2.251% top-5",
                  "Hu et al., 2017, arXiv:1709.01507, Table 2 and abstract"),
    TimelineEntry(2018, "MobileNet v2", "06", "inverted residual, linear bottleneck",
                  "72.0% top-1 at 300M multiply-adds, 3.4M parameters",
                  "Sandler et al., 2018, arXiv:1801.04381, Table 4"),
    TimelineEntry(2018, "MnasNet", "08", "measured phone latency in the search's reward",
                  "MnasNet-A1: 75.2% top-1, 312M multiply-adds, 78 ms on a Pixel phone",
                  "Tan et al., 2019, arXiv:1807.11626, Table 1"),
    TimelineEntry(2019, "MobileNet v3", "07", "platform-aware search + NetAdapt, h-swish, SE",
                  "Large 75.2% top-1, 219M multiply-adds, 51 ms on a Pixel-1",
                  "Howard et al., 2019, arXiv:1905.02244, Table 3"),
    TimelineEntry(2019, "EfficientNet", "09", "compound scaling of depth, width and resolution",
                  "B0 77.1% top-1 at 0.39B; B7 84.3% at 37B multiply-adds",
                  "Tan & Le, 2019, arXiv:1905.11946, Table 2"),
)
