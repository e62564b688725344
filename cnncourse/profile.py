"""Count and time a model: parameters, multiply-accumulates (MACs), latency, memory, summary tables.

Every chapter has a "count it" section: parameters and multiply-adds by formula, then measured, and the
two agree. This module only measures; the formulas live in :mod:`cnncourse.formulas`, one module per
family, and are re-exported here under the same names.

Multiply-accumulates are measured with PyTorch's own :class:`torch.utils.flop_counter.FlopCounterMode`
rather than a hand-written hook counter, so the numbers are the ones any PyTorch user can reproduce:

>>> import torch
>>> from torch import nn
>>> conv = nn.Conv2d(16, 32, kernel_size=3, padding=1, bias=False)
>>> count_macs(conv, (16, 8, 8)) == conv2d_macs(16, 32, 3, h_out=8, w_out=8)
True
>>> count_parameters(conv) == conv2d_params(16, 32, 3)
True
"""

from __future__ import annotations

import ctypes
import ctypes.util
import html
import math
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from cnncourse.errors import CourseError
from cnncourse.formulas import (
    basic_block_macs,
    basic_block_params,
    batchnorm_params,
    bottleneck_macs,
    bottleneck_params,
    conv2d_macs,
    conv2d_params,
    conv_output_size,
    depthwise_separable_macs,
    depthwise_separable_params,
    efficientnet_mbconv_widths,
    inverted_residual_macs,
    inverted_residual_params,
    linear_macs,
    linear_params,
    mbconv_macs,
    mbconv_params,
    se_macs,
    se_params,
)
from cnncourse.settings import fast_mode

InputSize = Sequence[int] | Tensor

__all__ = [
    "ComparisonRow",
    "ComparisonTable",
    "LatencyResult",
    "LayerRow",
    "MemoryResult",
    "ModelSummary",
    "basic_block_macs",
    "basic_block_params",
    "batchnorm_params",
    "bottleneck_macs",
    "bottleneck_params",
    "compare",
    "conv2d_macs",
    "conv2d_params",
    "conv_output_size",
    "count_macs",
    "count_parameters",
    "depthwise_separable_macs",
    "depthwise_separable_params",
    "describe_device",
    "efficientnet_mbconv_widths",
    "format_count",
    "heap_in_use_reader",
    "heap_peak_bytes",
    "inverted_residual_macs",
    "inverted_residual_params",
    "linear_macs",
    "linear_params",
    "mbconv_macs",
    "mbconv_params",
    "measure_latency",
    "one_thread",
    "peak_memory",
    "resolve_device",
    "se_macs",
    "se_params",
    "summary",
]


# ----------------------------------------------------------------------------------------------------
# Input handling shared by every measurement
# ----------------------------------------------------------------------------------------------------


def _first_parameter(model: nn.Module) -> Tensor | None:
    for tensor in model.parameters():
        return tensor
    for tensor in model.buffers():
        return tensor
    return None


def _example_input(model: nn.Module, input_size: InputSize, batch_size: int = 1) -> Tensor:
    """A random input of ``batch_size`` images on the model's device and in its dtype.

    ``input_size`` is (channels, height, width), or an example tensor: (C, H, W) or a feature vector
    (F,) is one sample, any other shape is a batch of which only the first sample is used.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise CourseError(f"batch_size must be a positive integer, got {batch_size!r}.")
    reference = _first_parameter(model)
    device = reference.device if reference is not None else torch.device("cpu")
    dtype = reference.dtype if reference is not None and reference.is_floating_point() else torch.float32
    if isinstance(input_size, Tensor):
        # (C, H, W) or a feature vector (F,) is one sample; any other shape has the batch first.
        sample = input_size if input_size.dim() in (1, 3) else input_size[0]
        if input_size.dim() == 0 or sample.numel() == 0:
            raise CourseError(
                f"An example input must have shape (C, H, W) or (N, C, H, W); got {tuple(input_size.shape)}."
            )
        sample = sample.to(device=device, dtype=dtype)
        return sample.unsqueeze(0).expand(batch_size, *sample.shape).contiguous()
    size = tuple(input_size)
    if len(size) != 3 or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in size):
        raise CourseError(
            f"input_size must be (channels, height, width) of one image, e.g. (1, 28, 28) for Fashion-MNIST "
            f"or (3, 224, 224) for ImageNet; got {input_size!r}. Leave out the batch dimension."
        )
    generator = torch.Generator().manual_seed(0)  # the same input every call: reproducible timings
    return torch.randn((batch_size, *size), generator=generator).to(device=device, dtype=dtype)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode for the duration (BatchNorm uses and keeps its running statistics, dropout is off);
    afterwards every submodule's own mode is restored.

    Restoring per submodule (not just ``model.train(previous)``) keeps deliberate mixtures intact, such
    as a model in training mode with frozen BatchNorm layers.
    """
    previous = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for module, was_training in previous:
            module.training = was_training


@contextmanager
def _inference_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd for the duration; every submodule's mode is restored afterwards."""
    with _eval_mode(model), torch.no_grad():
        yield


def _expected_channels(model: nn.Module) -> int | None:
    """Input channels of the model's first convolution or linear layer, in definition order."""
    for module in model.modules():
        if isinstance(module, nn.modules.conv._ConvNd):
            return module.in_channels
        if isinstance(module, nn.Linear):
            return module.in_features
    return None


def _run(model: nn.Module, x: Tensor) -> object:
    """Call the model, turning a shape error into a :class:`CourseError` that says what input it expects."""
    entered: list[tuple[str, nn.Module]] = []
    handles = [
        module.register_forward_pre_hook(lambda module, args, name=name: entered.append((name, module)))
        for name, module in model.named_modules()
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear))
    ]
    try:
        return model(x)
    except CourseError:
        raise
    except (RuntimeError, ValueError) as error:
        given = tuple(x.shape[1:])
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        first_name, first_layer = entered[0] if entered else ("", None)
        expected = None
        if isinstance(first_layer, nn.modules.conv._ConvNd):
            expected = first_layer.in_channels
        elif first_layer is None:
            expected = _expected_channels(model)
        if len(entered) <= 1 and expected is not None and expected != given[0]:
            raise CourseError(
                f"This model expects images with {expected} channel(s) (its first layer "
                f"{first_name or type(model).__name__!r} takes {expected}), but the input has {given[0]}: "
                f"input size {given}. Pass input_size=({expected}, H, W), or build the model with "
                f"in_channels={given[0]} (Fashion-MNIST has 1 channel; CIFAR-10 and ImageNet have 3)."
            ) from error
        where = f" at layer {entered[-1][0]!r}" if entered else ""
        raise CourseError(
            f"The model could not run on an input of size {given}{where}: {reason}. Check that input_size "
            f"is the (channels, height, width) this model was built for; a model for 224x224 images may "
            f"have too many downsampling steps for 28x28 ones."
        ) from error
    finally:
        for handle in handles:
            handle.remove()


# ----------------------------------------------------------------------------------------------------
# Parameters and multiply-accumulates
# ----------------------------------------------------------------------------------------------------


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (each shared tensor counted once); BatchNorm's running statistics are
    buffers, not parameters, and are not counted — the same convention as the papers and torchvision.

    >>> count_parameters(nn.BatchNorm2d(8))
    16
    >>> frozen = nn.Linear(4, 2)
    >>> _ = frozen.bias.requires_grad_(False)
    >>> count_parameters(frozen), count_parameters(frozen, trainable_only=True)
    (10, 8)
    """
    # .parameters() yields a tensor registered in several places (tied weights) only once.
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def count_macs(model: nn.Module, input_size: InputSize) -> int:
    """Multiply-accumulates (MACs) of one forward pass of ONE image, measured by PyTorch.

    Measured with :class:`torch.utils.flop_counter.FlopCounterMode`, which reports FLOPs and counts a
    multiply-accumulate ``a + w·x`` as two floating-point operations (a multiply and an add). So
    ``MACs = FLOPs / 2`` exactly: every count it makes comes from convolutions and matrix products
    (``aten.convolution``, ``mm``, ``addmm``, ``bmm``, attention), whose FLOPs are 2 × their MACs.
    The counter ignores everything else: BatchNorm, activations, pooling, the additions of residual
    connections, SE's channel rescaling, and the bias of a convolution or linear layer. Those are
    one or two operations per activation, small next to the multiply-adds of the models of this
    course, and the papers leave them out too.

    How this relates to the papers:

    * MobileNet v1/v2/v3 and MnasNet report "mult-adds" (Howard et al., 2017, arXiv:1704.04861,
      Section 3.1 and Table 1): the same quantity as MACs here. torchvision's ``mobilenet_v2``
      measures 300.8M here against the paper's 300M; ``mobilenet_v3_small`` 56.5M against 56M.
    * EfficientNet reports "FLOPS" (Tan & Le, 2019, arXiv:1905.11946, Table 2: B0 0.39B) — a count
      of multiply-adds, not a rate and not 2 × multiply-adds; torchvision's ``efficientnet_b0``
      measures 385.8M here. SENet's "GFLOPs" (Hu et al., 2017, Table 2) follow the same convention.
    * Do not confuse either with the FLOPs that ``FlopCounterMode`` itself returns (2 × MACs).
      ResNet-50's 3.8 × 10⁹ "FLOPs" (He et al., 2015, arXiv:1512.03385, Table 1) are multiply-adds
      too; torchvision's ``resnet50`` measures 4.09G because it puts the stride on the 3×3 rather
      than the first 1×1 convolution of the downsampling blocks ("ResNet v1.5").

    Args:
        model: any module; it runs once in eval mode without autograd, then its mode is restored.
        input_size: (channels, height, width) of one image, or an example tensor (C, H, W) or
            (N, C, H, W), of which only the first image is used.

    >>> count_macs(nn.Linear(10, 5), torch.zeros(4, 10))  # an example batch: counted for one sample
    50
    """
    x = _example_input(model, input_size)
    counter = FlopCounterMode(display=False)
    with _inference_mode(model), counter:
        _run(model, x)
    return int(counter.get_total_flops()) // 2


def format_count(value: float, unit: str = "") -> str:
    """Human-readable count: 11_689_512 → '11.69M', 1_814_073_344 → '1.81G'.

    >>> format_count(11_689_512)
    '11.69M'
    >>> format_count(999)
    '999'
    >>> format_count(4_089_184_256, "MACs")
    '4.09G MACs'
    """
    for threshold, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(value) >= threshold:
            text = f"{value / threshold:.2f}{suffix}"
            break
    else:
        text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}" if unit else text


# ----------------------------------------------------------------------------------------------------
# Device description, latency and memory
# ----------------------------------------------------------------------------------------------------


def _cpu_model_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_cores() -> int:
    """Cores this process may use (respects CPU affinity, e.g. in containers)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def describe_device(device: str | torch.device = "cpu") -> str:
    """A one-line description of a device for checkpoints and reports.

    Examples: ``"cpu: 2 cores, AMD EPYC 7B13"``, ``"cuda: NVIDIA H100 80GB HBM3"``, ``"mps: Apple GPU"``.
    """
    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise CourseError(f"Device {device} was asked for but CUDA is not available: use device='cpu'.")
        return f"cuda: {torch.cuda.get_device_name(device)}"
    if device.type == "mps":
        return "mps: Apple GPU"
    cores = _cpu_cores()
    return f"cpu: {cores} core{'s' if cores != 1 else ''}, {_cpu_model_name()}"


def resolve_device(device: str | torch.device) -> torch.device:
    """``device`` as a ``torch.device`` that exists here; a clear CourseError for one that does not."""
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise CourseError(f"Unknown device {device!r}: use 'cpu', 'cuda' or 'mps'.") from error
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise CourseError("device='cuda' was asked for but no CUDA GPU is available here: use device='cpu'.")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise CourseError("device='mps' was asked for but Apple's MPS is not available here: use 'cpu'.")
    return resolved


def _synchronize(device: torch.device) -> None:
    """Wait for queued GPU work: GPU calls return before the work is done, so timing needs this."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@contextmanager
def _on_device(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Move the model to ``device`` for the duration, then back where its parameters were."""
    reference = _first_parameter(model)
    original = reference.device if reference is not None else torch.device("cpu")
    moved = original != device
    if moved:
        model.to(device)
    try:
        yield
    finally:
        if moved:
            model.to(original)


@dataclass(frozen=True)
class LatencyResult:
    """Wall-clock time of one forward pass (inference), in milliseconds, over ``repeats`` timed runs."""

    median_ms: float
    p10_ms: float
    p90_ms: float
    batch_size: int
    device: str
    repeats: int
    warmup: int
    threads: int

    @property
    def images_per_second(self) -> float:
        return self.batch_size * 1000.0 / self.median_ms

    def __str__(self) -> str:
        return (
            f"{self.median_ms:.2f} ms median (p10 {self.p10_ms:.2f}, p90 {self.p90_ms:.2f}) for a batch of "
            f"{self.batch_size} on {self.device}, {self.repeats} runs after {self.warmup} warm-up"
        )


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile of already sorted values."""
    position = (len(sorted_values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def measure_latency(
    model: nn.Module,
    input_size: InputSize,
    batch_size: int = 1,
    device: str | torch.device = "cpu",
    warmup: int | None = None,
    repeats: int | None = None,
) -> LatencyResult:
    """Time inference: eval mode, no autograd, ``warmup`` untimed runs, then the median of ``repeats``.

    The first runs are slow (memory allocation, kernel selection, caches), hence the warm-up; the median
    and the 10th/90th percentiles resist the outliers other programs cause. On a GPU each run is
    synchronised, because GPU calls return before the work is done. The model is moved to ``device``
    for the measurement and back afterwards; its train/eval mode is restored.

    Defaults: 5 warm-up runs and 20 timed runs, or 1 and 5 in fast mode (``CNNCOURSE_FAST=1``).
    Latency depends on the machine, the thread count (``torch.get_num_threads()``, recorded in the
    result) and what else runs; compare models measured in the same process, not across machines.
    """
    if warmup is not None and (not isinstance(warmup, int) or warmup < 0):
        raise CourseError(f"warmup must be an integer ≥ 0, got {warmup!r}.")
    if repeats is not None and (not isinstance(repeats, int) or repeats < 1):
        raise CourseError(f"repeats must be an integer ≥ 1, got {repeats!r}.")
    warmup = warmup if warmup is not None else (1 if fast_mode() else 5)
    repeats = repeats if repeats is not None else (5 if fast_mode() else 20)
    target = resolve_device(device)
    times_ms: list[float] = []
    with _on_device(model, target), _inference_mode(model):
        x = _example_input(model, input_size, batch_size)
        _run(model, x)  # one checked call first, so a wrong input size gives a clear error
        for _ in range(warmup):
            model(x)
        _synchronize(target)
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            _synchronize(target)
            times_ms.append((time.perf_counter() - start) * 1000.0)
    ordered = sorted(times_ms)
    return LatencyResult(
        median_ms=statistics.median(ordered),
        p10_ms=_percentile(ordered, 0.1),
        p90_ms=_percentile(ordered, 0.9),
        batch_size=batch_size,
        device=describe_device(target),
        repeats=repeats,
        warmup=warmup,
        threads=torch.get_num_threads(),
    )


@dataclass(frozen=True)
class MemoryResult:
    """Memory of one forward pass that keeps what the backward pass needs (as in training).

    ``parameter_bytes``: parameters and buffers. ``activation_bytes``: tensors autograd saves for the
    backward pass plus the output. ``peak_bytes``: the peak during the forward pass — on CUDA measured
    by the caching allocator (``torch.cuda.max_memory_allocated``, parameters included), elsewhere the
    estimate ``parameter_bytes + activation_bytes`` (see :func:`peak_memory`). ``method`` says which.
    Gradients and optimizer state, which training adds on top, are not included.
    """

    peak_bytes: int
    parameter_bytes: int
    activation_bytes: int
    batch_size: int
    device: str
    method: str

    def __str__(self) -> str:
        return (
            f"peak {self.peak_bytes / 2**20:.1f} MiB (parameters {self.parameter_bytes / 2**20:.1f} MiB, "
            f"activations {self.activation_bytes / 2**20:.1f} MiB) for a batch of {self.batch_size} on "
            f"{self.device} [{self.method}]"
        )


def _storage_key(tensor: Tensor) -> tuple[str, int]:
    return (str(tensor.device), tensor.untyped_storage().data_ptr())


def peak_memory(
    model: nn.Module, input_size: InputSize, batch_size: int = 1, device: str | torch.device = "cpu"
) -> MemoryResult:
    """Memory of one training-style forward pass (eval mode, autograd recording), in bytes.

    Both devices count the activations the same way: a ``torch.autograd.graph.saved_tensors_hooks``
    pair records every tensor autograd keeps for the backward pass, each distinct storage once and
    parameters excluded; the output is added. (Autograd saves tensors only for parameters that require
    gradients: a fully frozen model keeps nothing.) That is the memory that grows with batch size and
    resolution, and why DenseNet's concatenations and EfficientNet's large inputs are memory-hungry.

    * CUDA: ``peak_bytes`` is *measured*: ``torch.cuda.max_memory_allocated`` during the pass, after
      ``reset_peak_memory_stats`` (includes the parameters and the allocator's temporary workspaces).
    * CPU / MPS: ``peak_bytes`` is the *estimate* ``parameter_bytes + activation_bytes``: PyTorch's CPU
      allocator keeps no peak statistic (and ``tracemalloc`` sees only Python objects, not tensor
      memory), so this counts what must be alive at the end of the forward pass and ignores short-lived
      temporaries. Inference without autograd frees activations as it goes and needs less.

    BatchNorm layers run in eval mode so the measurement does not change their running statistics.
    """
    target = resolve_device(device)
    saved: dict[tuple[str, int], int] = {}

    with _on_device(model, target):
        parameter_storages = {_storage_key(t) for t in (*model.parameters(), *model.buffers())}
        parameter_bytes = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))

        def pack(tensor: Tensor) -> Tensor:
            key = _storage_key(tensor)
            if key not in parameter_storages:
                saved[key] = max(saved.get(key, 0), tensor.untyped_storage().nbytes())
            return tensor

        with _eval_mode(model):
            x = _example_input(model, input_size, batch_size)
            if target.type == "cuda":
                _synchronize(target)
                torch.cuda.reset_peak_memory_stats(target)
            with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
                output = _run(model, x)
            for tensor in _flatten(output):
                saved.setdefault(_storage_key(tensor), tensor.untyped_storage().nbytes())
            activation_bytes = sum(saved.values())
            if target.type == "cuda":
                _synchronize(target)
                peak = int(torch.cuda.max_memory_allocated(target))
                method = "measured: torch.cuda.max_memory_allocated"
            else:
                peak = parameter_bytes + activation_bytes
                method = "estimate: parameters + tensors saved for backward + output"
            del output  # frees the autograd graph and the activations it holds
    return MemoryResult(
        peak_bytes=peak,
        parameter_bytes=parameter_bytes,
        activation_bytes=activation_bytes,
        batch_size=batch_size,
        device=describe_device(target),
        method=method,
    )


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks",
                                                     "fsmblks", "uordblks", "fordblks", "keepcost")]


def heap_in_use_reader() -> Callable[[], int] | None:
    """A function that returns glibc's bytes in use (heap plus mmap'ed blocks), or None where there is none.

    PyTorch's CPU tensors live in memory glibc's ``malloc`` hands out, and the CPU allocator keeps no peak
    statistic of its own (see :func:`peak_memory`), so ``mallinfo2`` is the way to *measure* CPU memory.
    None on systems without glibc 2.33+ (macOS, Windows, musl): callers then say "not measurable here".
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError, TypeError):
        return None

    def read() -> int:
        info = libc.mallinfo2()
        return int(info.uordblks + info.hblkhd)

    return read


class _PeakSampler(TorchDispatchMode):
    """Reads the allocator after every tensor operation (forward and backward) and keeps the maximum."""

    def __init__(self, read: Callable[[], int]) -> None:
        super().__init__()
        self.read, self.peak = read, read()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        result = func(*args, **(kwargs or {}))
        self.peak = max(self.peak, self.read())
        return result


def heap_peak_bytes(run: Callable[[], object]) -> int | None:
    """Measured peak CPU memory of ``run()``, in bytes above the level before it; None where unmeasurable.

    Unlike :func:`peak_memory`'s CPU estimate this sees short-lived temporaries too: glibc's bytes in use
    are sampled after every tensor operation ``run`` dispatches (a ``TorchDispatchMode``), so a peak that
    lasts one operation is caught. What ``run`` returns is dropped after the measurement. Warm the code
    up first when one-time allocations (weight packing, caches) should not count.
    """
    read = heap_in_use_reader()
    if read is None:
        return None
    base = read()
    with _PeakSampler(read) as sampler:
        result = run()
    del result
    return sampler.peak - base


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with one intra-op thread, then restore the previous number.

    Timings taken with one thread are disturbed much less by other programs on the machine (a shared
    2-core CPU, a notebook next to a training run), and a learner's laptop and CI measure alike.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _flatten(value: object) -> Iterator[Tensor]:
    if isinstance(value, Tensor):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _flatten(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _flatten(item)


# ----------------------------------------------------------------------------------------------------
# Summary of one model, comparison of several
# ----------------------------------------------------------------------------------------------------


def _html_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], caption: str, numeric: set[int]
) -> str:
    """A small HTML table; right-aligns the numeric columns so magnitudes line up."""
    cell = "padding:2px 8px;text-align:{align}"
    parts = [f"<table><caption style='text-align:left'>{html.escape(caption)}</caption><thead><tr>"]
    parts += [
        f"<th style='{cell.format(align='right' if i in numeric else 'left')}'>{html.escape(h)}</th>"
        for i, h in enumerate(headers)
    ]
    parts.append("</tr></thead><tbody>")
    for row in rows:
        parts.append("<tr>")
        parts += [
            f"<td style='{cell.format(align='right' if i in numeric else 'left')}'>{html.escape(v)}</td>"
            for i, v in enumerate(row)
        ]
        parts.append("</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(widths[i]) if i in numeric else v.ljust(widths[i]) for i, v in enumerate(values)
        ).rstrip()

    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


@dataclass(frozen=True)
class LayerRow:
    """One row of a :class:`ModelSummary`: a top-level layer, its output shape, parameters and MACs."""

    name: str
    kind: str
    output_shape: tuple[int, ...] | None  # without the batch dimension; None if the layer did not run
    params: int
    macs: int


@dataclass(frozen=True)
class ModelSummary:
    """Parameters and MACs of a model, in total and per layer; prints as text, renders as HTML."""

    model_name: str
    input_size: tuple[int, ...]
    rows: tuple[LayerRow, ...]
    total_params: int
    trainable_params: int
    total_macs: int
    output_shape: tuple[int, ...] | None

    @property
    def unattributed_macs(self) -> int:
        """MACs computed in the model's own ``forward`` outside the listed layers (functional calls)."""
        return self.total_macs - sum(row.macs for row in self.rows)

    def _cells(self) -> tuple[list[str], list[list[str]], list[str]]:
        headers = ["layer", "type", "output shape", "params", "MACs"]
        rows = [
            [
                row.name,
                row.kind,
                "×".join(map(str, row.output_shape)) if row.output_shape is not None else "(not called)",
                f"{row.params:,}",
                f"{row.macs:,}",
            ]
            for row in self.rows
        ]
        if self.unattributed_macs:
            rows.append(["(forward)", "functional ops", "", "0", f"{self.unattributed_macs:,}"])
        rows.append(["total", "", "", f"{self.total_params:,}", f"{self.total_macs:,}"])
        notes = [
            f"{self.model_name} on input {'×'.join(map(str, self.input_size))}: "
            f"{format_count(self.total_params)} parameters "
            f"({format_count(self.trainable_params)} trainable), "
            f"{format_count(self.total_macs)} MACs per image"
        ]
        return headers, rows, notes

    def __str__(self) -> str:
        headers, rows, notes = self._cells()
        return "\n".join([*notes, _text_table(headers, rows, {3, 4})])

    def _repr_html_(self) -> str:
        headers, rows, notes = self._cells()
        return _html_table(headers, rows, notes[0], {3, 4})


def _summary_modules(model: nn.Module, depth: int) -> list[tuple[str, nn.Module]]:
    """Modules ``depth`` levels down; leaves above that depth are listed themselves.

    ``nn.ModuleList`` / ``nn.ModuleDict`` are never called themselves (the parent's forward loops over
    them), so they are looked through: their entries take their place at the same level.
    """
    selected: list[tuple[str, nn.Module]] = []

    def visit(prefix: str, module: nn.Module, level: int) -> None:
        children = list(module.named_children())
        if isinstance(module, (nn.ModuleList, nn.ModuleDict)) and children:
            for name, child in children:
                visit(f"{prefix}.{name}", child, level)
        elif level == depth or not children:
            selected.append((prefix, module))
        else:
            for name, child in children:
                visit(f"{prefix}.{name}", child, level + 1)

    for name, child in model.named_children():
        visit(name, child, 1)
    return selected


def summary(model: nn.Module, input_size: InputSize, depth: int = 1) -> ModelSummary:
    """Parameters, MACs and output shapes per layer, for one image of ``input_size``.

    Rows are the model's direct children (``depth=1``) or, with a larger ``depth``, their children in
    turn. A layer's MACs are what FlopCounterMode counted while that layer ran (see :func:`count_macs`);
    MACs computed by the model's own ``forward`` outside any listed layer appear as "(forward)".
    """
    if not isinstance(depth, int) or depth < 1:
        raise CourseError(f"depth must be a positive integer (1 = the direct children), got {depth!r}.")
    x = _example_input(model, input_size)
    layers = _summary_modules(model, depth)
    counter = FlopCounterMode(display=False)
    shapes: dict[str, tuple[int, ...]] = {}
    macs: dict[str, int] = {name: 0 for name, _ in layers}
    started: dict[str, list[int]] = {name: [] for name, _ in layers}

    def record(name: str, output: object) -> None:
        macs[name] += (int(counter.get_total_flops()) - started[name].pop()) // 2
        tensors = list(_flatten(output))
        if tensors:
            shapes[name] = tuple(tensors[0].shape[1:])

    handles = []
    for name, module in layers:
        # FLOPs counted between a layer's start and its end are that layer's (nested calls included).
        handles.append(
            module.register_forward_pre_hook(
                lambda _m, _a, name=name: started[name].append(int(counter.get_total_flops()))
            )
        )
        handles.append(module.register_forward_hook(lambda _m, _a, out, name=name: record(name, out)))
    try:
        with _inference_mode(model), counter:
            output = _run(model, x)
    finally:
        for handle in handles:
            handle.remove()
    output_tensors = list(_flatten(output))
    rows = tuple(
        LayerRow(name, type(module).__name__, shapes.get(name), count_parameters(module), macs[name])
        for name, module in layers
    )
    return ModelSummary(
        model_name=type(model).__name__,
        input_size=tuple(x.shape[1:]),
        rows=rows,
        total_params=count_parameters(model),
        trainable_params=count_parameters(model, trainable_only=True),
        total_macs=int(counter.get_total_flops()) // 2,
        output_shape=tuple(output_tensors[0].shape[1:]) if output_tensors else None,
    )


@dataclass(frozen=True)
class ComparisonRow:
    """One model in a :class:`ComparisonTable`."""

    name: str
    input_size: tuple[int, ...]
    params: int
    macs: int
    latency: LatencyResult | None = None


@dataclass(frozen=True)
class ComparisonTable:
    """Several models side by side; ratios are relative to the first row."""

    rows: tuple[ComparisonRow, ...]
    notes: tuple[str, ...] = field(default=())

    def ratio(self, row: ComparisonRow, attribute: str) -> float:
        """``row``'s params / macs / latency divided by the first row's."""
        first = self.rows[0]
        if attribute == "latency":
            if row.latency is None or first.latency is None:
                raise CourseError("This comparison was made with latency=False: there is no latency.")
            return row.latency.median_ms / first.latency.median_ms
        if attribute not in {"params", "macs"}:
            raise CourseError(f"attribute must be 'params', 'macs' or 'latency', got {attribute!r}.")
        base = getattr(first, attribute)
        return getattr(row, attribute) / base if base else math.nan

    def _cells(self) -> tuple[list[str], list[list[str]], set[int]]:
        with_latency = all(row.latency is not None for row in self.rows)
        headers = ["model", "input", "params", "× params", "MACs", "× MACs"]
        if with_latency:
            headers += ["latency ms", "× latency"]
        rows = []
        for row in self.rows:
            cells = [
                row.name,
                "×".join(map(str, row.input_size)),
                format_count(row.params),
                f"{self.ratio(row, 'params'):.2f}",
                format_count(row.macs),
                f"{self.ratio(row, 'macs'):.2f}",
            ]
            if with_latency and row.latency is not None:
                cells += [f"{row.latency.median_ms:.2f}", f"{self.ratio(row, 'latency'):.2f}"]
            rows.append(cells)
        return headers, rows, set(range(2, len(headers)))

    def __str__(self) -> str:
        headers, rows, numeric = self._cells()
        return "\n".join([_text_table(headers, rows, numeric), *self.notes])

    def _repr_html_(self) -> str:
        headers, rows, numeric = self._cells()
        caption = "ratios (×) relative to " + self.rows[0].name
        return _html_table(headers, rows, caption, numeric) + "".join(
            f"<p>{html.escape(note)}</p>" for note in self.notes
        )


def compare(
    models: Mapping[str, nn.Module] | Sequence[str],
    input_size: InputSize | None = None,
    latency: bool = True,
    batch_size: int = 1,
) -> ComparisonTable:
    """Parameters, MACs and (optionally) CPU latency of several models, with ratios to the first.

    ``models`` is a dict of display name → module, or a list of registry names (built with their
    default arguments). ``input_size`` applies to every model; when it is None, each registry name uses
    the input size it was designed for (``model_info(name).input_size``) — a dict of modules then needs
    an explicit ``input_size``. Latency is measured on the CPU in this process, one model after the
    other, so the ratios are meaningful even when the absolute times are not.
    """
    if isinstance(models, str):
        raise CourseError(f"models must be a list of names or a dict of modules, not the string {models!r}.")
    if isinstance(models, Mapping):
        if input_size is None:
            raise CourseError(
                "compare() got modules but no input_size: pass input_size=(channels, height, width), "
                "e.g. (1, 28, 28) for Fashion-MNIST; only registry names know their own input size."
            )
        entries = [(str(name), module, input_size) for name, module in models.items()]
    else:
        from cnncourse.models import create_model, model_info

        entries = []
        for name in models:
            info = model_info(name)  # unknown names raise with the close matches
            size = input_size if input_size is not None else info.input_size
            entries.append((name, create_model(name), size))
    if not entries:
        raise CourseError("compare() needs at least one model.")
    for name, module, _ in entries:
        if not isinstance(module, nn.Module):
            raise CourseError(f"compare(): {name!r} is a {type(module).__name__}, not a torch.nn.Module.")
    rows = []
    for name, module, size in entries:
        example = _example_input(module, size)
        rows.append(
            ComparisonRow(
                name=name,
                input_size=tuple(example.shape[1:]),
                params=count_parameters(module),
                macs=count_macs(module, size),
                latency=measure_latency(module, size, batch_size=batch_size) if latency else None,
            )
        )
    notes: tuple[str, ...] = ()
    first_latency = rows[0].latency
    if first_latency is not None:
        notes = (
            f"latency: median of {first_latency.repeats} forward passes, batch {batch_size}, "
            f"{first_latency.device}, {first_latency.threads} threads",
        )
    return ComparisonTable(rows=tuple(rows), notes=notes)
