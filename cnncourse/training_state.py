"""The state of an unfinished training run, written after every epoch so an interrupted run can resume.

``python -m cnncourse train ... --out DIR`` keeps ``DIR/NAME.state`` up to date while it trains and
``--resume`` continues from it; :func:`cnncourse.train.fit` does the work through its ``state_path``
and ``resume`` arguments. One ``.state`` file is one safetensors file:

* its tensors are the model's ``state_dict`` (``model.*``), the optimizer's per-parameter buffers
  (``optimizer.<index>.<name>``, e.g. momentum), the weight average when one is kept (``ema.*``) and
  the random generators' states (``rng.torch``, ``rng.numpy``, ``rng.cuda.<n>``);
* its header's metadata holds one JSON document (key ``cnncourse_state``) with everything else: the
  epoch reached, the run's identity (model, data, recipe, torch version), the history so far, the
  optimizer's hyper-parameters, the schedule's position and Python's ``random`` state.

Nothing is pickled, so a state file from anywhere cannot run code. Files are written to a temporary
name and renamed into place (atomic on POSIX and Windows), so an interruption during the write leaves the
previous epoch's state intact.

Resuming is exact: the data order and augmentation of an epoch depend only on the seed and the epoch
(:class:`cnncourse.data.Batches`), and every generator's state is restored, so on the same machine and
torch version a resumed run ends with bit-for-bit the weights and history of an uninterrupted one.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from cnncourse.errors import CourseError

STATE_SUFFIX = ".state"
STATE_FORMAT_VERSION = 1
_METADATA_KEY = "cnncourse_state"


@dataclass
class TrainingState:
    """What :func:`load_state` read: tensors by group and the JSON document."""

    path: Path
    epoch: int
    identity: dict[str, Any]
    history: dict[str, Any]
    model: dict[str, torch.Tensor]
    ema: dict[str, torch.Tensor] | None
    optimizer: dict[str, Any]
    schedule: dict[str, Any] | None
    scaler: dict[str, Any] | None
    rng_python: Any
    rng_torch: torch.Tensor
    rng_numpy: dict[str, Any]
    rng_cuda: list[torch.Tensor]
    extra: dict[str, Any]


# --------------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------------


def _cpu_copy(tensor: torch.Tensor) -> torch.Tensor:
    # Own, contiguous CPU copies: safetensors refuses tensors that share memory or are strided views.
    return tensor.detach().to("cpu").contiguous().clone()


def _split_optimizer(state_dict: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Optimizer ``state_dict`` → (tensors by flat name, JSON-able rest)."""
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for index, buffers in state_dict["state"].items():
        for key, value in buffers.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = _cpu_copy(value)
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "plain_state": plain}


def _join_optimizer(tensors: Mapping[str, torch.Tensor], rest: Mapping[str, Any]) -> dict[str, Any]:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        _, index, key = name.split(".", 2)
        state.setdefault(int(index), {})[key] = value
    for index, buffers in rest.get("plain_state", {}).items():
        state.setdefault(int(index), {}).update(buffers)
    return {"state": state, "param_groups": rest["param_groups"]}


def save_state(
    path: str | os.PathLike[str],
    *,
    epoch: int,
    identity: Mapping[str, Any],
    history: Mapping[str, Any],
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule: torch.optim.lr_scheduler.LRScheduler | None,
    scaler: torch.amp.GradScaler | None,
    ema: Mapping[str, torch.Tensor] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write the state after ``epoch`` atomically to ``path``; return the path.

    ``extra`` is any JSON-able bookkeeping of the caller (e.g. how many updates the weight average has
    seen); it comes back as :attr:`TrainingState.extra`.
    """
    import numpy as np
    from safetensors.torch import save

    tensors = {f"model.{key}": _cpu_copy(value) for key, value in model.state_dict().items()}
    optimizer_tensors, optimizer_rest = _split_optimizer(optimizer.state_dict())
    tensors.update(optimizer_tensors)
    if ema is not None:
        tensors.update({f"ema.{key}": _cpu_copy(value) for key, value in ema.items()})
    tensors["rng.torch"] = torch.get_rng_state()
    numpy_kind, numpy_keys, numpy_position, numpy_has_gauss, numpy_gauss = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(numpy_keys, dtype=np.int64))
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for index, cuda_state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{index}"] = cuda_state
    # LambdaLR keeps its functions out of state_dict() (stored as None): only the position is saved.
    schedule_state = None if schedule is None else schedule.state_dict()
    document = {
        "format_version": STATE_FORMAT_VERSION,
        "epoch": epoch,
        "identity": dict(identity),
        "history": dict(history),
        "optimizer": optimizer_rest,
        "schedule": schedule_state,
        "scaler": scaler.state_dict() if scaler is not None and scaler.is_enabled() else None,
        "ema": ema is not None,
        "extra": dict(extra or {}),
        "rng_python": random.getstate(),
        "rng_numpy": {"kind": numpy_kind, "position": int(numpy_position), "has_gauss": int(numpy_has_gauss),
                      "gauss": float(numpy_gauss)},
    }
    try:
        text = json.dumps(document)
    except (TypeError, ValueError) as error:
        raise CourseError(f"The training state cannot be written as JSON ({error}); this is a bug in "
                          "cnncourse, please report it with the fit() arguments used.") from None
    data = save(tensors, metadata={_METADATA_KEY: text})
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary_name, target)
    finally:
        Path(temporary_name).unlink(missing_ok=True)
    return target


# --------------------------------------------------------------------------------------------------
# Reading and checking
# --------------------------------------------------------------------------------------------------


def _damaged(path: Path, problem: str) -> CourseError:
    return CourseError(
        f"The training state {path} is damaged ({problem}). It cannot be resumed: move it away or delete it "
        f"and start the run again without --resume (the finished epochs are lost, nothing else)."
    )


def load_state(path: str | os.PathLike[str]) -> TrainingState:
    """Read and check a ``.state`` file; a damaged one raises :class:`CourseError` naming the file."""
    import numpy as np
    from safetensors import SafetensorError
    from safetensors.torch import load

    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise CourseError(f"There is no training state at {source} to resume from: start the run without "
                          "--resume (it writes one after every epoch).") from None
    try:
        tensors = load(data)
        header_length = int.from_bytes(data[:8], "little")
        header = json.loads(data[8: 8 + header_length])
        document = json.loads(header["__metadata__"][_METADATA_KEY])
    except (SafetensorError, ValueError, KeyError, TypeError) as error:
        raise _damaged(source, f"not a cnncourse training state: {str(error).splitlines()[0][:120]}") from None
    if not isinstance(document, dict) or document.get("format_version") != STATE_FORMAT_VERSION:
        raise _damaged(source, f"unknown format version {document.get('format_version')!r}"
                       if isinstance(document, dict) else "its header is not an object")
    try:
        groups: dict[str, dict[str, torch.Tensor]] = {"model": {}, "optimizer": {}, "ema": {}}
        rng_cuda: list[tuple[int, torch.Tensor]] = []
        for name, tensor in tensors.items():
            group, _, rest = name.partition(".")
            if group in groups:
                groups[group][rest if group != "optimizer" else name] = tensor
            elif name.startswith("rng.cuda."):
                rng_cuda.append((int(name.rsplit(".", 1)[1]), tensor))
        numpy_state = document["rng_numpy"]
        numpy_state["keys"] = tensors["rng.numpy"].numpy().astype(np.uint32)
        python_version, python_state, python_gauss = document["rng_python"]
        return TrainingState(
            path=source,
            epoch=int(document["epoch"]),
            identity=dict(document["identity"]),
            history=dict(document["history"]),
            model=groups["model"],
            ema=groups["ema"] if document["ema"] else None,
            optimizer=_join_optimizer(groups["optimizer"], document["optimizer"]),
            schedule=document["schedule"],
            scaler=document["scaler"],
            rng_python=(python_version, tuple(python_state), python_gauss),
            rng_torch=tensors["rng.torch"],
            rng_numpy=numpy_state,
            rng_cuda=[tensor for _, tensor in sorted(rng_cuda, key=lambda pair: pair[0])],
            extra=dict(document["extra"]),
        )
    except (KeyError, ValueError, TypeError) as error:
        raise _damaged(source, f"missing or malformed entry {error}") from None


def identity_differences(found: Mapping[str, Any], expected: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between a state's identity and this run's, key by key."""
    differences = []
    for key in sorted(set(found) | set(expected)):
        if found.get(key) != expected.get(key):
            differences.append(f"{key}: the state has {found.get(key)!r}, this run has {expected.get(key)!r}")
    return differences


def check_identity(state: TrainingState, expected: Mapping[str, Any]) -> None:
    """Raise :class:`CourseError` if the state belongs to another model, data set, recipe or torch."""
    differences = identity_differences(state.identity, expected)
    if differences:
        listed = "; ".join(differences[:6]) + ("; …" if len(differences) > 6 else "")
        raise CourseError(
            f"The training state {state.path} belongs to a different run, so it cannot be resumed here: "
            f"{listed}. Resume it with the settings it was started with, or move it away and start again "
            "without --resume."
        )


def restore_random_generators(state: TrainingState) -> None:
    """Put Python's, NumPy's and torch's generators back where they were after the state's epoch."""
    import numpy as np

    random.setstate(state.rng_python)
    numpy_state = state.rng_numpy
    np.random.set_state((numpy_state["kind"], numpy_state["keys"], numpy_state["position"],
                         numpy_state["has_gauss"], numpy_state["gauss"]))
    torch.set_rng_state(state.rng_torch)
    if state.rng_cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state.rng_cuda[: torch.cuda.device_count()])


def describe(path: str | os.PathLike[str]) -> str:
    """One line about a state file for messages: which epoch of how many it reached."""
    try:
        state = load_state(path)
    except CourseError as error:
        return str(error)
    recipe = state.identity.get("recipe")
    total = recipe.get("epochs", "?") if isinstance(recipe, dict) else "?"
    return f"{path} holds the state after epoch {state.epoch} of {total}"
