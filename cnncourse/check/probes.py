"""Tensor-level helpers the checks share: inputs, weight transfer, output comparison, call tracing.

The checks test behaviour, not source text. Three tools make that possible:

* :func:`transfer_weights` gives the student's module the reference's weights (by name when the names
  match torchvision's, otherwise by position when the shapes line up), so outputs can be compared
  exactly and a difference means the computation differs;
* :func:`matching_candidate` compares an output with the outputs of known mistakes (F(x) − x, F(x)
  alone, …) computed from the reference's pieces, so a ✗ can name the mistake;
* :func:`trace_torch_calls` records the torch functions a forward pass calls and which call produced
  each tensor, so a check can tell *where* dropout sits between two convolutions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

#: Tolerances for "the same output": float32 through a few convolutions with identical weights.
ATOL = 1e-5
RTOL = 1e-4


def count_parameters(module: nn.Module) -> int:
    """Trainable and frozen parameters (BatchNorm running statistics are buffers, not parameters)."""
    return sum(p.numel() for p in module.parameters())


def shape_text(shape: torch.Size | tuple[int, ...]) -> str:
    """``(2, 16, 8, 8)`` — shapes as students write them."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ")"


def seeded_input(shape: tuple[int, ...], seed: int, *, positive: bool = False) -> Tensor:
    """A reproducible input batch; ``positive`` gives values in [0.1, 1.1) like post-ReLU features."""
    generator = torch.Generator().manual_seed(seed)
    if positive:
        return torch.rand(shape, generator=generator) + 0.1
    return torch.randn(shape, generator=generator)


def randomize_module(module: nn.Module, seed: int) -> nn.Module:
    """Give every parameter and BatchNorm statistic random, non-default values (in place).

    Default BatchNorm values (γ = 1, β = 0, mean 0, variance 1) would make a missing or misplaced
    BatchNorm invisible in the outputs; random ones make every layer count.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if not tensor.is_floating_point():
                continue
            if name.endswith("running_var"):
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            elif name.endswith(("running_mean", "bias")):
                tensor.copy_(0.1 * torch.randn(tensor.shape, generator=generator))
            elif tensor.dim() == 1:  # BatchNorm γ
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            else:  # convolution / linear weights, scaled like He initialisation
                fan_in = max(1, tensor[0].numel())
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * (2.0 / fan_in) ** 0.5)
    return module


def _float_state(module: nn.Module) -> list[tuple[str, Tensor]]:
    """Parameters and floating-point buffers in registration order (skips ``num_batches_tracked``)."""
    return [(name, t) for name, t in module.state_dict(keep_vars=True).items() if t.is_floating_point()]


def transfer_weights(source: nn.Module, target: nn.Module) -> str | None:
    """Copy ``source``'s parameters and buffers into ``target``; None on success, else why not.

    By name when both have the same state-dict keys and shapes; otherwise by position when the two
    lists of shapes are equal up to trailing singleton dimensions (a student who named a layer
    ``conv_a``, or used ``nn.Linear`` where the reference has a 1×1 convolution, still gets a fair
    comparison).
    """
    source_state = _float_state(source)
    target_state = _float_state(target)
    source_shapes = {name: tuple(t.shape) for name, t in source_state}
    target_shapes = {name: tuple(t.shape) for name, t in target_state}
    with torch.no_grad():
        if source_shapes == target_shapes:
            by_name = dict(source_state)
            for name, tensor in target_state:
                tensor.copy_(by_name[name])
            return None
        if [_without_trailing_ones(t.shape) for _, t in source_state] == [
            _without_trailing_ones(t.shape) for _, t in target_state
        ]:
            for (_, src), (_, dst) in zip(source_state, target_state):
                dst.copy_(src.reshape(dst.shape))
            return None
    expected = ", ".join(f"{n} {shape_text(s)}" for n, s in source_shapes.items())
    found = ", ".join(f"{n} {shape_text(s)}" for n, s in target_shapes.items()) or "nothing"
    return f"expected the weights {expected}; found {found}"


def _without_trailing_ones(shape: torch.Size) -> tuple[int, ...]:
    dims = list(shape)
    while len(dims) > 1 and dims[-1] == 1:
        dims.pop()
    return tuple(dims)


def same_output(output: object, expected: Tensor) -> bool:
    """True when ``output`` is a tensor of ``expected``'s shape with the same values (float tolerance)."""
    return (
        isinstance(output, Tensor)
        and output.shape == expected.shape
        and bool(torch.allclose(output.detach(), expected.detach(), atol=ATOL, rtol=RTOL))
    )


def matching_candidate(output: Tensor, candidates: Mapping[str, Tensor]) -> str | None:
    """The name of the first candidate that ``output`` equals, or None."""
    for name, candidate in candidates.items():
        if same_output(output, candidate):
            return name
    return None


def max_difference(output: Tensor, expected: Tensor) -> float:
    return float((output.detach() - expected.detach()).abs().max())


def parameters_without_gradient(module: nn.Module, output: Tensor) -> list[str]:
    """Names of parameters that receive no gradient from ``output.sum()`` (layers the forward never uses)."""
    module.zero_grad(set_to_none=True)
    output.sum().backward()
    return [
        name for name, p in module.named_parameters() if p.grad is None or not bool(p.grad.abs().sum() > 0)
    ]


# --------------------------------------------------------------------------------------------------
# Tracing the torch functions a forward pass calls
# --------------------------------------------------------------------------------------------------


@dataclass
class TracedCall:
    """One torch function call: its name, the calls that produced its tensor inputs, its options."""

    index: int
    name: str
    inputs_from: list[int | None]
    options: dict[str, object] = field(default_factory=dict)
    weight_shape: tuple[int, ...] | None = None


#: Calls that read a tensor's metadata (shape, size, …) rather than compute a new tensor.
_NOT_DATAFLOW = {
    "__get__", "__set__", "size", "dim", "shape", "__len__", "numel", "_has_compatible_shallow_copy_type"
}


class _CallRecorder(TorchFunctionMode):
    """Records torch-level calls and, through tensor identity, which call produced each input."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[TracedCall] = []
        self._producer: dict[int, int] = {}
        self._alive: list[object] = []  # keeps every seen tensor alive so id() values stay unique

    def __torch_function__(
        self, func: Callable[..., object], types: object, args: tuple = (), kwargs: dict | None = None
    ) -> object:
        kwargs = kwargs or {}
        result = func(*args, **kwargs)
        name = getattr(func, "__name__", str(func))
        if name in _NOT_DATAFLOW:
            return result
        tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, Tensor)]
        if isinstance(args[0] if args else None, (list, tuple)):  # torch.cat([a, b])
            tensors = [a for a in args[0] if isinstance(a, Tensor)] + tensors
        options = {k: v for k, v in kwargs.items() if isinstance(v, (int, float, bool, str))}
        for position, value in enumerate(args):
            if isinstance(value, (int, float, bool)) and not isinstance(value, Tensor):
                options[f"arg{position}"] = value
        weight_shape = tuple(args[1].shape) if len(args) > 1 and isinstance(args[1], nn.Parameter) else None
        inputs_from = [self._producer.get(id(t)) for t in tensors]
        call = TracedCall(len(self.calls), name, inputs_from, options, weight_shape)
        self.calls.append(call)
        outputs = result if isinstance(result, (list, tuple)) else [result]
        for out in outputs:
            if isinstance(out, Tensor):
                self._producer[id(out)] = call.index
                self._alive.append(out)
        self._alive.extend(tensors)
        return result


def trace_torch_calls(function: Callable[[], object]) -> tuple[object, list[TracedCall]]:
    """Run ``function()`` and return its result with the torch calls it made, in order."""
    recorder = _CallRecorder()
    with recorder:
        result = function()
    return result, recorder.calls


def is_dropout(call: TracedCall) -> bool:
    return call.name in {"dropout", "dropout_", "feature_dropout", "alpha_dropout", "dropout2d", "dropout1d"}


def is_convolution(call: TracedCall) -> bool:
    return call.name in {"conv2d", "conv1d", "conv3d", "_conv_forward"}


def produced_by(calls: list[TracedCall], call: TracedCall, predicate: Callable[[TracedCall], bool]) -> bool:
    """True when an input of ``call`` comes, through any chain of calls, from a call matching ``predicate``.

    Used to ask "does the second convolution read the output of dropout?".
    """
    pending = [i for i in call.inputs_from if i is not None]
    seen: set[int] = set()
    while pending:
        index = pending.pop()
        if index in seen:
            continue
        seen.add(index)
        if predicate(calls[index]):
            return True
        pending.extend(i for i in calls[index].inputs_from if i is not None)
    return False
