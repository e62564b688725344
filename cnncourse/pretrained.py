"""Reference checkpoints: safetensors weights plus JSON metadata, verified by sha256 before loading.

A checkpoint named ``NAME`` is two files side by side:

``NAME.safetensors``
    the model's ``state_dict`` (parameters and buffers) in the safetensors format: plain tensors, no
    code. Nothing here ever unpickles (no ``torch.load``), so a checkpoint from anywhere cannot run code.
``NAME.json``
    what a chapter shows next to the weights and what is needed to rebuild the model:
    ``architecture`` (a :mod:`cnncourse.models` registry name) and ``model_kwargs`` for
    ``create_model``; ``dataset``, ``input_size``, ``epochs``, ``device``, ``wall_time_s``,
    ``test_accuracy`` (a fraction, 0.9 = 90%), ``params``, ``macs``, the ``command`` that trained it,
    ``torch_version``, ``created`` (UTC, ISO 8601), ``history`` (per-epoch curves for the plots), and
    the ``sha256`` and ``file_size`` of the .safetensors file.

Checkpoints are looked up, in this order, in an explicit ``directory=``, the folders named by the
``CNNCOURSE_CHECKPOINTS`` environment variable (several separated by ``os.pathsep``), and the
reference checkpoints shipped with the package (``cnncourse/checkpoints/``). The first match wins.

Usage::

    from cnncourse.pretrained import list_checkpoints, load_pretrained
    model = load_pretrained("resnet20_fashion_mnist")
    model.checkpoint_metadata["test_accuracy"]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import shlex
import sys
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnncourse.errors import CourseError, UnknownNameError

FORMAT_VERSION = 1
#: Environment variable naming extra checkpoint folders (``os.pathsep``-separated).
CHECKPOINTS_ENV = "CNNCOURSE_CHECKPOINTS"
#: Reference checkpoints shipped inside the package.
PACKAGE_CHECKPOINTS = Path(__file__).resolve().parent / "checkpoints"
WEIGHTS_SUFFIX = ".safetensors"
METADATA_SUFFIX = ".json"

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_NUMBER = (int, float)

#: field → (accepted Python types, description used in error messages)
REQUIRED_FIELDS: dict[str, tuple[tuple[type, ...], str]] = {
    "format_version": ((int,), "an integer"),
    "name": ((str,), "a string"),
    "architecture": ((str,), "a model name string"),
    "model_kwargs": ((dict,), "an object of builder arguments"),
    "dataset": ((str,), "a string"),
    "input_size": ((list,), "a list [channels, height, width]"),
    "epochs": ((int,), "an integer"),
    "device": ((str,), "a string"),
    "wall_time_s": (_NUMBER, "a number of seconds"),
    "test_accuracy": ((*_NUMBER, type(None)), "a fraction between 0 and 1, or null"),
    "params": ((int,), "an integer"),
    "macs": ((int,), "an integer"),
    "sha256": ((str,), "a 64-character hex string"),
    "command": ((str,), "a string"),
    "torch_version": ((str,), "a string"),
    "created": ((str,), "an ISO 8601 date string"),
    "history": ((dict,), "an object of per-epoch lists"),
}

__all__ = [
    "CHECKPOINTS_ENV",
    "FORMAT_VERSION",
    "PACKAGE_CHECKPOINTS",
    "REQUIRED_FIELDS",
    "CheckpointInfo",
    "checkpoint_directories",
    "list_checkpoints",
    "load_metadata",
    "load_pretrained",
    "main",
    "save_checkpoint",
    "verify_checkpoint",
]


# ----------------------------------------------------------------------------------------------------
# Where checkpoints live
# ----------------------------------------------------------------------------------------------------


def checkpoint_directories(directory: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched, in order: ``directory``, ``$CNNCOURSE_CHECKPOINTS``, the package's own.

    An explicit ``directory`` must exist; folders from the environment that do not exist (yet) are kept
    in the list, so error messages can say where the course looked, and simply hold no checkpoints.
    """
    folders: list[Path] = []
    if directory is not None:
        explicit = Path(directory).expanduser()
        if not explicit.is_dir():
            raise CourseError(
                f"Checkpoint folder {explicit} does not exist or is not a folder: pass the folder that "
                f"holds the NAME.safetensors and NAME.json files (e.g. the --out folder of "
                f"python -m cnncourse train)."
            )
        folders.append(explicit)
    for entry in os.environ.get(CHECKPOINTS_ENV, "").split(os.pathsep):
        if entry.strip():
            folders.append(Path(entry.strip()).expanduser())
    folders.append(PACKAGE_CHECKPOINTS)
    unique: list[Path] = []
    for folder in folders:
        if not any(_same_path(folder, seen) for seen in unique):
            unique.append(folder)
    return unique


def _same_path(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return a == b


def _checkpoint_names(folder: Path) -> list[str]:
    """Names of the checkpoints in ``folder``: every NAME.safetensors, and every NAME.json that is
    checkpoint metadata (mentions ``format_version``), so a lone half of a pair is found and reported."""
    if not folder.is_dir():
        return []
    names = {p.stem for p in folder.glob(f"*{WEIGHTS_SUFFIX}") if not p.name.startswith(".")}
    for path in folder.glob(f"*{METADATA_SUFFIX}"):
        if path.name.startswith(".") or path.stem in names:
            continue
        try:
            if '"format_version"' in path.read_text(encoding="utf-8", errors="replace"):
                names.add(path.stem)
        except OSError:
            continue
    return sorted(names)


def _is_path(name_or_path: str | os.PathLike[str]) -> bool:
    if isinstance(name_or_path, os.PathLike):
        return True
    text = str(name_or_path)
    return "/" in text or os.sep in text or text.endswith((WEIGHTS_SUFFIX, METADATA_SUFFIX))


def _pair(base: Path) -> tuple[Path, Path]:
    """(weights, metadata) paths for a path given with or without either suffix."""
    if base.suffix in (WEIGHTS_SUFFIX, METADATA_SUFFIX):
        base = base.with_suffix("")
    return base.with_name(base.name + WEIGHTS_SUFFIX), base.with_name(base.name + METADATA_SUFFIX)


def _locate(
    name_or_path: str | os.PathLike[str], directory: str | os.PathLike[str] | None
) -> tuple[Path, Path]:
    """Find a checkpoint's (weights, metadata) paths; at least one of the two exists."""
    if _is_path(name_or_path):
        weights, metadata = _pair(Path(name_or_path).expanduser())
        if not weights.exists() and not metadata.exists():
            raise CourseError(
                f"No checkpoint at {Path(name_or_path)}: neither {weights.name} nor {metadata.name} exists "
                f"in {weights.parent}. Check the path, or pass a checkpoint name (python -m cnncourse "
                f"checkpoints lists them)."
            )
        return weights, metadata
    name = str(name_or_path)
    folders = checkpoint_directories(directory)
    known: list[str] = []
    for folder in folders:
        names = _checkpoint_names(folder)
        if name in names:
            return folder / (name + WEIGHTS_SUFFIX), folder / (name + METADATA_SUFFIX)
        known += names
    raise UnknownNameError(
        "checkpoint",
        name,
        known,
        "Looked in: " + ", ".join(str(f) for f in folders) + ". Run 'python -m cnncourse checkpoints' to "
        f"list them, set {CHECKPOINTS_ENV} or pass directory= to look elsewhere, or pass the path of a "
        ".safetensors file.",
    )


# ----------------------------------------------------------------------------------------------------
# Metadata
# ----------------------------------------------------------------------------------------------------


def _retrain_hint(metadata: Mapping[str, Any] | None) -> str:
    command = metadata.get("command") if isinstance(metadata, Mapping) else None
    if isinstance(command, str) and command:
        return f"Restore it from the course repository, or re-create it with: {command}"
    return "Restore it from the course repository, or re-create it with python -m cnncourse train."


def _validate_metadata(metadata: object, path: Path) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise CourseError(
            f"Checkpoint metadata {path} is not a JSON object (found {type(metadata).__name__}). "
            + _retrain_hint(None)
        )
    missing = [key for key in REQUIRED_FIELDS if key not in metadata]
    if missing:
        raise CourseError(
            f"Checkpoint metadata {path} lacks the field(s) {', '.join(missing)}. The file is damaged or was "
            f"not written by cnncourse.pretrained.save_checkpoint. " + _retrain_hint(metadata)
        )
    for key, (types, description) in REQUIRED_FIELDS.items():
        value = metadata[key]
        if isinstance(value, bool) or not isinstance(value, types):
            raise CourseError(
                f"Checkpoint metadata {path}: field {key!r} should be {description}, found {value!r}. "
                + _retrain_hint(metadata)
            )
    if metadata["format_version"] > FORMAT_VERSION:
        raise CourseError(
            f"Checkpoint metadata {path} has format_version {metadata['format_version']}, newer than this "
            f"cnncourse understands ({FORMAT_VERSION}): upgrade the course library (pip install -U cnncourse "
            f"from the course repository)."
        )
    if not re.fullmatch(r"[0-9a-f]{64}", metadata["sha256"]):
        raise CourseError(
            f"Checkpoint metadata {path}: sha256 should be 64 lowercase hex digits, found "
            f"{metadata['sha256']!r}. " + _retrain_hint(metadata)
        )
    return metadata


def _read_metadata(path: Path, weights: Path) -> dict[str, Any]:
    if not path.exists():
        raise CourseError(
            f"Checkpoint {weights.name} has no metadata file: {path} is missing. The .json file travels with "
            f"the .safetensors file (it names the architecture and holds the sha256); copy it next to "
            f"{weights.name}, or re-create the checkpoint with python -m cnncourse train."
        )
    try:
        text = path.read_text(encoding="utf-8")
        metadata = json.loads(text)
    except json.JSONDecodeError as error:
        raise CourseError(
            f"Checkpoint metadata {path} is not valid JSON ({error.msg} at line {error.lineno}, column "
            f"{error.colno}): the file is damaged. " + _retrain_hint(None)
        ) from error
    except (OSError, UnicodeDecodeError) as error:
        raise CourseError(
            f"Could not read checkpoint metadata {path}: {error}. " + _retrain_hint(None)
        ) from error
    return _validate_metadata(metadata, path)


def load_metadata(
    name_or_path: str | os.PathLike[str], *, directory: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """The validated JSON metadata of a checkpoint (name or path), without touching the weights."""
    weights, metadata_path = _locate(name_or_path, directory)
    return _read_metadata(metadata_path, weights)


@dataclass(frozen=True)
class CheckpointInfo:
    """One row of :func:`list_checkpoints`."""

    name: str
    architecture: str
    dataset: str
    test_accuracy: float | None
    epochs: int
    device: str
    wall_time_s: float
    params: int
    macs: int
    path: Path  # the .safetensors file

    @classmethod
    def from_metadata(cls, name: str, metadata: Mapping[str, Any], path: Path) -> CheckpointInfo:
        return cls(
            name=name,
            architecture=metadata["architecture"],
            dataset=metadata["dataset"],
            test_accuracy=metadata["test_accuracy"],
            epochs=metadata["epochs"],
            device=metadata["device"],
            wall_time_s=float(metadata["wall_time_s"]),
            params=metadata["params"],
            macs=metadata["macs"],
            path=path,
        )


def _scan(directory: str | os.PathLike[str] | None) -> list[tuple[str, Path, CheckpointInfo | CourseError]]:
    """Every checkpoint in the search folders, first occurrence of a name only, with its metadata or
    the error reading it."""
    found: list[tuple[str, Path, CheckpointInfo | CourseError]] = []
    seen: set[str] = set()
    for folder in checkpoint_directories(directory):
        for name in _checkpoint_names(folder):
            if name in seen:
                continue  # shadowed by an earlier folder, as in the lookup order
            seen.add(name)
            weights, metadata_path = folder / (name + WEIGHTS_SUFFIX), folder / (name + METADATA_SUFFIX)
            try:
                metadata = _read_metadata(metadata_path, weights)
                found.append((name, weights, CheckpointInfo.from_metadata(name, metadata, weights)))
            except CourseError as error:
                found.append((name, weights, error))
    return found


def list_checkpoints(directory: str | os.PathLike[str] | None = None) -> list[CheckpointInfo]:
    """The checkpoints found (see the module docstring for where), sorted by name.

    Reads only the metadata; a checkpoint whose metadata cannot be read is left out with a warning
    that says what is wrong (``python -m cnncourse checkpoints --verify`` checks the weights too).
    """
    infos = []
    for _, _, entry in _scan(directory):
        if isinstance(entry, CourseError):
            warnings.warn(str(entry), stacklevel=2)
        else:
            infos.append(entry)
    return sorted(infos, key=lambda info: info.name)


# ----------------------------------------------------------------------------------------------------
# Verifying and loading
# ----------------------------------------------------------------------------------------------------


def _read_verified_weights(weights: Path, metadata: Mapping[str, Any]) -> bytes:
    """The weights file's bytes, after checking them against the metadata's sha256.

    The same bytes that were hashed are the ones parsed, so a file changed in between cannot slip through.
    """
    if not weights.exists():
        raise CourseError(
            f"Checkpoint weights {weights} are missing (its metadata "
            f"{weights.with_suffix(METADATA_SUFFIX).name} is there). Copy the .safetensors file next to the "
            f".json file. " + _retrain_hint(metadata)
        )
    try:
        data = weights.read_bytes()
    except OSError as error:
        raise CourseError(f"Could not read checkpoint weights {weights}: {error}.") from error
    actual = hashlib.sha256(data).hexdigest()
    expected = metadata["sha256"]
    if actual != expected:
        size_note = ""
        expected_size = metadata.get("file_size")
        if isinstance(expected_size, int) and expected_size != len(data):
            truncated = len(data) < expected_size
            size_note = f" The file has {len(data):,} bytes instead of {expected_size:,}" + (
                ": it is truncated (an interrupted download or copy)." if truncated else "."
            )
        raise CourseError(
            f"Checkpoint {weights} failed its integrity check: sha256 expected {expected}, actual {actual}. "
            f"The file was modified or damaged, so it was not loaded.{size_note} " + _retrain_hint(metadata)
        )
    return data


def _parse_weights(data: bytes, weights: Path, metadata: Mapping[str, Any]) -> dict[str, torch.Tensor]:
    from safetensors.torch import load as load_safetensors

    try:
        return load_safetensors(data)
    except Exception as error:  # safetensors raises its own SafetensorError (an Exception) for bad files
        raise CourseError(
            f"Checkpoint {weights} is not a readable safetensors file ({error}); the file is corrupt even "
            f"though it matches the sha256 in its metadata, so it was saved that way. "
            + _retrain_hint(metadata)
        ) from error


def _build_model(metadata: Mapping[str, Any], source: Path) -> nn.Module:
    from cnncourse.models import create_model

    architecture = metadata["architecture"]
    try:
        return create_model(architecture, **metadata["model_kwargs"])
    except UnknownNameError as error:
        raise CourseError(
            f"Checkpoint {source} was saved for the architecture {architecture!r}, which this version of "
            f"cnncourse does not have ({error}). Update the course library, or fix 'architecture' in "
            f"{source.with_suffix(METADATA_SUFFIX).name}."
        ) from error
    except (TypeError, ValueError, CourseError) as error:
        raise CourseError(
            f"Checkpoint {source}: could not build {architecture!r} with model_kwargs "
            f"{metadata['model_kwargs']!r} ({error}). Fix model_kwargs in its metadata, or re-train it."
        ) from error


def _state_mismatch(expected: Mapping[str, torch.Tensor], found: Mapping[str, torch.Tensor]) -> str:
    """Describe how two state dicts differ in keys and shapes; empty when they match."""
    missing = [key for key in expected if key not in found]
    unexpected = sorted(key for key in found if key not in expected)
    shapes = [
        f"{key} {tuple(found[key].shape)} instead of {tuple(expected[key].shape)}"
        for key in expected
        if key in found and tuple(found[key].shape) != tuple(expected[key].shape)
    ]

    def few(items: list[str]) -> str:
        return ", ".join(items[:4]) + (f" and {len(items) - 4} more" if len(items) > 4 else "")

    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensor(s): {few(missing)}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s): {few(unexpected)}")
    if shapes:
        problems.append(f"{len(shapes)} shape mismatch(es): {few(shapes)}")
    return "; ".join(problems)


def verify_checkpoint(
    name_or_path: str | os.PathLike[str], *, directory: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Check a checkpoint completely without keeping the model: metadata, sha256, safetensors format,
    and that the weights fit the architecture exactly. Returns the metadata; raises CourseError."""
    return _load(name_or_path, directory, "cpu", keep=False)[1]


def load_pretrained(
    name_or_path: str | os.PathLike[str],
    *,
    directory: str | os.PathLike[str] | None = None,
    device: str | torch.device = "cpu",
) -> nn.Module:
    """Build a checkpoint's model and load its weights, after verifying the file's sha256.

    ``name_or_path`` is a checkpoint name (searched as described in the module docstring) or the path of
    its .safetensors or .json file. The model is built with ``create_model(architecture,
    **model_kwargs)``, loaded with strict keys and shapes, moved to ``device`` and put in eval mode; the
    metadata dict is attached as ``model.checkpoint_metadata``.
    """
    model, _ = _load(name_or_path, directory, device, keep=True)
    assert model is not None
    return model


def _load(
    name_or_path: str | os.PathLike[str],
    directory: str | os.PathLike[str] | None,
    device: str | torch.device,
    keep: bool,
) -> tuple[nn.Module | None, dict[str, Any]]:
    from cnncourse.profile import resolve_device

    target = resolve_device(device)
    weights, metadata_path = _locate(name_or_path, directory)
    metadata = _read_metadata(metadata_path, weights)
    data = _read_verified_weights(weights, metadata)  # hash first: nothing unverified is parsed
    state = _parse_weights(data, weights, metadata)
    del data
    model = _build_model(metadata, weights)
    mismatch = _state_mismatch(model.state_dict(), state)
    if mismatch:
        raise CourseError(
            f"Checkpoint {weights} does not fit {metadata['architecture']!r} built with "
            f"{metadata['model_kwargs']!r}: {mismatch}. The metadata names the wrong architecture or "
            f"arguments, or the model code changed since it was saved. " + _retrain_hint(metadata)
        )
    model.load_state_dict(state, strict=True)
    if not keep:
        return None, metadata
    model.to(target).eval()
    model.checkpoint_metadata = metadata  # type: ignore[assignment]  # plain attribute, not a submodule
    return model, metadata


# ----------------------------------------------------------------------------------------------------
# Saving
# ----------------------------------------------------------------------------------------------------


def _unwrap(model: nn.Module) -> nn.Module:
    """The model itself, out of DistributedDataParallel / DataParallel and torch.compile wrappers,
    whose parameter names carry ``module.`` and ``_orig_mod.`` prefixes."""
    while True:
        if isinstance(model, (nn.parallel.DistributedDataParallel, nn.DataParallel)):
            model = model.module
        elif hasattr(model, "_orig_mod") and isinstance(model._orig_mod, nn.Module):
            model = model._orig_mod
        else:
            return model


def _json_value(value: object) -> object:
    """``json.dumps`` fallback for the values training code produces: tensors, numpy numbers, paths."""
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _plain_number(value: Any) -> Any:
    """A Python number from a one-element tensor or a numpy scalar (what evaluation code returns)."""
    if not isinstance(value, (int, float)) and hasattr(value, "item"):
        try:
            return value.item()
        except (ValueError, RuntimeError):  # more than one element: left for the checks to reject
            return value
    return value


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def save_checkpoint(
    model: nn.Module,
    out_dir: str | os.PathLike[str],
    *,
    name: str,
    architecture: str,
    model_kwargs: Mapping[str, Any],
    dataset: str,
    input_size: Sequence[int],
    epochs: int,
    device: str | torch.device,
    wall_time_s: float,
    test_accuracy: float | None,
    history: Mapping[str, Any],
    command: str | Sequence[str],
) -> Path:
    """Write ``out_dir/NAME.safetensors`` and ``out_dir/NAME.json``; return the .safetensors path.

    The model must be exactly what ``create_model(architecture, **model_kwargs)`` builds (checked before
    anything is written, so every checkpoint written can be loaded). Parameters and MACs are measured
    with :mod:`cnncourse.profile` on ``input_size``; the sha256, file size, torch version and UTC date
    are added. ``device`` is a description such as ``"cuda: NVIDIA H100"``; a bare ``"cpu"``/``"cuda"``
    (or a ``torch.device``) is expanded with :func:`cnncourse.profile.describe_device`.
    ``test_accuracy`` is a fraction (0.913 = 91.3%). ``command`` may be a string or an argv list.

    Both files are first written to temporary files in ``out_dir`` and then renamed into place
    (``os.replace`` is atomic), weights first and metadata last, so a crash never leaves a half-written
    file under the final name; at worst new weights sit next to old metadata, which the sha256 check
    then rejects instead of loading.
    """
    from safetensors.torch import save_file

    from cnncourse.models import create_model, model_info
    from cnncourse.profile import count_macs, count_parameters, describe_device

    if not isinstance(name, str) or not _NAME_PATTERN.match(name):
        raise CourseError(
            f"Checkpoint name {name!r} is not a valid file name: use letters, digits, '.', '_' and '-', "
            f"starting with a letter or digit (e.g. 'resnet20_fashion_mnist')."
        )
    model_info(architecture)  # an unknown architecture raises with the close matches
    if not isinstance(model_kwargs, Mapping):
        raise CourseError(
            f"model_kwargs must be a dict of builder arguments, got {type(model_kwargs).__name__}."
        )
    size = tuple(input_size)
    if len(size) != 3 or not all(isinstance(n, int) and n > 0 for n in size):
        raise CourseError(
            f"input_size must be (channels, height, width), e.g. (1, 28, 28); got {input_size!r}."
        )
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 0:
        raise CourseError(f"epochs must be a non-negative integer, got {epochs!r}.")
    wall_time_s, test_accuracy = _plain_number(wall_time_s), _plain_number(test_accuracy)
    if not isinstance(wall_time_s, _NUMBER) or not math.isfinite(wall_time_s) or wall_time_s < 0:
        raise CourseError(f"wall_time_s must be a non-negative number of seconds, got {wall_time_s!r}.")
    if test_accuracy is not None and not (isinstance(test_accuracy, _NUMBER) and 0.0 <= test_accuracy <= 1.0):
        raise CourseError(
            "test_accuracy must be a fraction between 0 and 1 (0.913 for 91.3%) or None, "
            f"got {test_accuracy!r}."
        )
    if not isinstance(dataset, str) or not dataset:
        raise CourseError(f"dataset must be the dataset's name, e.g. 'fashion-mnist', got {dataset!r}.")
    if not isinstance(history, Mapping):
        raise CourseError(f"history must be a dict of per-epoch lists, got {type(history).__name__}.")
    if isinstance(device, torch.device) or re.fullmatch(r"cpu|mps|cuda(:\d+)?", str(device)):
        device = describe_device(device)  # a bare device name: say which machine it was
    command_text = command if isinstance(command, str) else shlex.join(str(part) for part in command)

    model = _unwrap(model)
    reference_state = create_model(architecture, **dict(model_kwargs)).state_dict()
    # Own, contiguous CPU copies: safetensors refuses tensors that share memory or are strided views.
    state = {key: value.detach().to("cpu").contiguous().clone() for key, value in model.state_dict().items()}
    mismatch = _state_mismatch(reference_state, state)
    if mismatch:
        raise CourseError(
            f"The model does not match create_model({architecture!r}, **{dict(model_kwargs)!r}): {mismatch}. "
            f"Pass the architecture and model_kwargs the model was built with."
        )

    metadata: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "architecture": architecture,
        "model_kwargs": dict(model_kwargs),
        "dataset": dataset,
        "input_size": list(size),
        "epochs": epochs,
        "device": str(device),
        "wall_time_s": round(float(wall_time_s), 3),
        "test_accuracy": None if test_accuracy is None else float(test_accuracy),
        "params": count_parameters(model),
        "macs": count_macs(model, size),
        "sha256": "",
        "file_size": 0,
        "command": command_text,
        "torch_version": torch.__version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "history": dict(history),
    }
    try:
        json.dumps(metadata, default=_json_value)
    except (TypeError, ValueError) as error:
        raise CourseError(
            f"The checkpoint metadata cannot be written as JSON ({error}): history and model_kwargs may hold "
            f"numbers, strings, lists and dicts (tensors and numpy values are converted)."
        ) from error

    folder = Path(out_dir).expanduser()
    folder.mkdir(parents=True, exist_ok=True)
    weights_path, metadata_path = folder / (name + WEIGHTS_SUFFIX), folder / (name + METADATA_SUFFIX)
    temporary: list[Path] = []
    try:
        handle, weights_tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        os.close(handle)
        weights_tmp = Path(weights_tmp_name)
        temporary.append(weights_tmp)
        header = {"architecture": architecture, "cnncourse_format": str(FORMAT_VERSION)}
        save_file(state, weights_tmp, metadata=header)
        _fsync(weights_tmp)
        metadata["sha256"] = _sha256_of_file(weights_tmp)
        metadata["file_size"] = weights_tmp.stat().st_size

        handle, metadata_tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{name}.", suffix=".tmp")
        metadata_tmp = Path(metadata_tmp_name)
        temporary.append(metadata_tmp)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(metadata, stream, indent=2, ensure_ascii=False, default=_json_value)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        file_mode = _default_file_mode()  # mkstemp makes 0o600 files; a checkpoint is meant to be shared
        os.chmod(weights_tmp, file_mode)
        os.chmod(metadata_tmp, file_mode)
        os.replace(weights_tmp, weights_path)
        os.replace(metadata_tmp, metadata_path)
    finally:
        for leftover in temporary:
            leftover.unlink(missing_ok=True)
    return weights_path


def _default_file_mode() -> int:
    """The mode ``open()`` would give a new file: 0o666 less the process umask."""
    umask = os.umask(0)  # reading the umask means setting it; put it straight back
    os.umask(umask)
    return 0o666 & ~umask


# ----------------------------------------------------------------------------------------------------
# Command line: python -m cnncourse checkpoints [--verify] [--dir DIR]
# ----------------------------------------------------------------------------------------------------


def _format_row(info: CheckpointInfo) -> list[str]:
    from cnncourse.profile import format_count

    accuracy = "-" if info.test_accuracy is None else f"{100 * info.test_accuracy:.2f}%"
    minutes, seconds = divmod(round(info.wall_time_s), 60)
    return [
        info.name,
        info.architecture,
        info.dataset,
        accuracy,
        str(info.epochs),
        f"{minutes}m{seconds:02d}s",
        format_count(info.params),
        format_count(info.macs),
        info.device,
    ]


def main(argv: list[str]) -> int:
    """``python -m cnncourse checkpoints``: list the checkpoints; ``--verify`` checks every file.

    Exit status 1 when a checkpoint is damaged (unreadable metadata, or with ``--verify`` a wrong hash,
    unreadable weights or weights that do not fit the architecture).
    """
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse checkpoints",
        description="List the reference checkpoints and verify their sha256 hashes.",
    )
    parser.add_argument("--dir", type=Path, default=None, help="also look in this folder (searched first)")
    parser.add_argument(
        "--verify",
        action="store_true",
        help="check every file's sha256 and that it loads into its architecture",
    )
    args = parser.parse_args(argv)

    folders = checkpoint_directories(args.dir)
    entries = _scan(args.dir)
    print("Looked in: " + ", ".join(str(folder) for folder in folders))
    if not entries:
        print(
            "No checkpoints found. Train one with: python -m cnncourse train --model NAME --dataset "
            f"fashion-mnist --epochs N --out DIR, then pass --dir DIR or set {CHECKPOINTS_ENV}=DIR."
        )
        return 0
    headers = ["name", "architecture", "dataset", "test acc", "epochs", "time", "params", "MACs", "device"]
    if args.verify:
        headers.append("verified")
    rows: list[list[str]] = []
    problems: list[str] = []
    for name, weights, entry in entries:
        if isinstance(entry, CourseError):
            problems.append(f"{name}: {entry}")
            rows.append([name, "?", "?", "?", "?", "?", "?", "?", "?"] + (["BAD"] if args.verify else []))
            continue
        row = _format_row(entry)
        if args.verify:
            try:
                verify_checkpoint(weights)
                row.append("ok")
            except CourseError as error:
                problems.append(f"{name}: {error}")
                row.append("BAD")
        rows.append(row)
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(headers)]
    for line in [headers, ["-" * width for width in widths], *rows]:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
    for problem in problems:
        print(f"problem: {problem}", file=sys.stderr)
    if args.verify and not problems:
        print(f"All {len(rows)} checkpoint(s) verified.")
    return 1 if problems else 0
