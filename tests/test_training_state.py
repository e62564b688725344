"""Resumable training: the state file fit() writes after every epoch, resuming from it, and its damage cases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from test_train import TinyNet

from cnncourse import data, train, training_state
from cnncourse.errors import CourseError

_TIMING_FIELDS = {"seconds", "images_per_second"}


@pytest.fixture
def tiny(tiny_fashion_mnist_env: Path) -> tuple[data.ImageDataset, data.ImageDataset]:
    return data.fashion_mnist(train=True), data.fashion_mnist(train=False)


def _fit(train_set: data.ImageDataset, val_set: data.ImageDataset, state: Path | None, *, epochs: int = 3,
         resume: bool = False, **options: object) -> tuple[torch.nn.Module, train.History]:
    train.seed_everything(0)
    model = TinyNet()
    settings: dict[str, object] = {"batch_size": 16, "progress": False, "fast": False, "seed": 0,
                                   "ema_decay": 0.9, "state_path": state, "resume": resume}
    settings.update(options)
    history = train.fit(model, train_set, epochs, val_data=val_set, **settings)  # type: ignore[arg-type]
    return model, history


def _without_timing(history: train.History) -> dict[str, object]:
    return {key: value for key, value in history.to_dict().items() if key not in _TIMING_FIELDS}


class _Interrupt(Exception):
    pass


def _interrupt_in_epoch(monkeypatch: pytest.MonkeyPatch, epoch: int) -> None:
    """Make the run stop in the middle of ``epoch``'s validation, as a closed laptop would."""
    original = train.evaluate
    calls = {"n": 0}
    per_epoch = 2  # the weight average and the live weights are both evaluated

    def evaluate(*args: object, **kwargs: object) -> dict[str, object]:
        calls["n"] += 1
        if calls["n"] > (epoch - 1) * per_epoch:
            raise _Interrupt
        return original(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(train, "evaluate", evaluate)


def test_an_interrupted_run_resumes_to_bit_for_bit_the_uninterrupted_result(
        tiny: tuple[data.ImageDataset, data.ImageDataset], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uninterrupted, expected = _fit(*tiny, tmp_path / "whole.state")

    state = tmp_path / "run.state"
    with monkeypatch.context() as patch:
        _interrupt_in_epoch(patch, 2)
        with pytest.raises(_Interrupt):
            _fit(*tiny, state)
    assert training_state.load_state(state).epoch == 1  # epoch 1 was saved, epoch 2 never finished

    resumed, history = _fit(*tiny, state, resume=True)
    assert history.epochs == [1, 2, 3]
    assert _without_timing(history) == _without_timing(expected)
    for (name, value), (_, reference) in zip(resumed.state_dict().items(), uninterrupted.state_dict().items()):
        assert torch.equal(value, reference), name
    assert training_state.load_state(state).epoch == 3


def test_the_state_holds_optimizer_schedule_average_and_generators(
        tiny: tuple[data.ImageDataset, data.ImageDataset], tmp_path: Path) -> None:
    state_file = tmp_path / "run.state"
    _fit(*tiny, state_file, epochs=2)
    state = training_state.load_state(state_file)
    assert state.epoch == 2 and state.identity["recipe"]["epochs"] == 2
    assert any("momentum_buffer" in name for name in (key for group in state.optimizer["state"].values()
                                                      for key in group))
    assert state.schedule is not None and state.schedule["last_epoch"] > 0
    assert state.ema is not None and state.extra["ema_updates"] == state.schedule["last_epoch"]
    assert state.rng_torch.dtype == torch.uint8 and len(state.rng_python[1]) == 625
    assert len(state.history["epochs"]) == 2
    # Nothing is pickled: the file is a safetensors file whose header carries JSON.
    header_length = int.from_bytes(state_file.read_bytes()[:8], "little")
    header = json.loads(state_file.read_bytes()[8:8 + header_length])
    assert json.loads(header["__metadata__"]["cnncourse_state"])["epoch"] == 2


def test_an_existing_state_is_never_overwritten_without_resume(
        tiny: tuple[data.ImageDataset, data.ImageDataset], tmp_path: Path) -> None:
    state_file = tmp_path / "run.state"
    _fit(*tiny, state_file, epochs=1)
    before = state_file.read_bytes()
    with pytest.raises(CourseError, match=r"already there.*after epoch 1 of 1.*resume"):
        _fit(*tiny, state_file, epochs=1)
    assert state_file.read_bytes() == before


@pytest.mark.parametrize(("change", "named"), [
    ({"lr": 0.05}, "lr"),
    ({"epochs": 4}, "epochs"),
    ({"label_smoothing": 0.1}, "label_smoothing"),
])
def test_a_state_of_another_recipe_is_refused_with_the_difference_named(
        tiny: tuple[data.ImageDataset, data.ImageDataset], tmp_path: Path, change: dict[str, object],
        named: str) -> None:
    state_file = tmp_path / "run.state"
    _fit(*tiny, state_file, epochs=2)
    before = state_file.read_bytes()
    epochs = int(change.pop("epochs", 2))  # type: ignore[call-overload]
    with pytest.raises(CourseError, match=rf"run.state belongs to a different run.*{named}"):
        _fit(*tiny, state_file, epochs=epochs, resume=True, **change)
    assert state_file.read_bytes() == before


def test_a_state_of_another_model_or_torch_version_is_refused(
        tiny: tuple[data.ImageDataset, data.ImageDataset], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state_file = tmp_path / "run.state"
    _fit(*tiny, state_file, epochs=1)
    train.seed_everything(0)
    other = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))
    with pytest.raises(CourseError, match=r"different run.*model"):
        train.fit(other, tiny[0], 1, val_data=tiny[1], batch_size=16, progress=False, fast=False, ema_decay=0.9,
                  state_path=state_file, resume=True)
    monkeypatch.setattr(torch, "__version__", "9.9.9")
    with pytest.raises(CourseError, match=r"different run.*torch: the state has '[^']+', this run has '9.9.9'"):
        _fit(*tiny, state_file, epochs=1, resume=True)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "no_document", "missing_rng"])
def test_a_damaged_state_names_the_file_and_is_kept(
        tiny: tuple[data.ImageDataset, data.ImageDataset], tmp_path: Path, damage: str) -> None:
    from safetensors.torch import load, save

    state_file = tmp_path / "run.state"
    _fit(*tiny, state_file, epochs=1)
    raw = state_file.read_bytes()
    if damage == "garbage":
        state_file.write_bytes(b"\x00\xff not a state")
    elif damage == "truncated":
        state_file.write_bytes(raw[: len(raw) // 2])
    elif damage == "no_document":
        state_file.write_bytes(save(load(raw)))
    else:
        header_length = int.from_bytes(raw[:8], "little")
        metadata = json.loads(raw[8:8 + header_length])["__metadata__"]
        tensors = {k: v for k, v in load(raw).items() if k != "rng.torch"}
        state_file.write_bytes(save(tensors, metadata=metadata))
    damaged = state_file.read_bytes()
    with pytest.raises(CourseError, match=r"training state .*run.state is damaged.*without --resume"):
        _fit(*tiny, state_file, epochs=1, resume=True)
    assert state_file.read_bytes() == damaged


def test_resume_without_a_state_file_says_how_to_start(tiny: tuple[data.ImageDataset, data.ImageDataset],
                                                        tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="no training state at .*missing.state.*without --resume"):
        _fit(*tiny, tmp_path / "missing.state", resume=True)
    with pytest.raises(CourseError, match="resume=True needs state_path"):
        _fit(*tiny, None, resume=True)


def test_the_weight_average_and_flip_tta_and_plain_final_epochs(
        tiny: tuple[data.ImageDataset, data.ImageDataset]) -> None:
    model, history = _fit(*tiny, None, epochs=2, plain_final_epochs=1, flip_tta=True)
    assert len(history.val_accuracy_live) == 2 and history.config["plain_final_epochs"] == 1
    # The model ends with the averaged weights, which is what was validated last.
    again = train.evaluate(model, tiny[1], flip_tta=True, fast=False)
    assert again["accuracy"] == pytest.approx(history.val_accuracy[-1])
    plain = train.evaluate(model, tiny[1], fast=False)
    mirrored = tiny[1].take(len(tiny[1]))
    mirrored.images = mirrored.images.flip(3)
    flipped = train.evaluate(model, mirrored, fast=False)
    # TTA averages the logits of both views, so its loss can never exceed the worse of the two views'.
    assert again["loss"] <= max(plain["loss"], flipped["loss"]) + 1e-6  # type: ignore[operator]
    with pytest.raises(CourseError, match="ema_decay must be between 0 and 1"):
        _fit(*tiny, None, epochs=1, ema_decay=1.5)
    with pytest.raises(CourseError, match="plain_final_epochs"):
        _fit(*tiny, None, epochs=1, plain_final_epochs=-1)


def test_stop_after_splits_a_run_and_resume_finishes_it_identically(
        tiny: tuple[data.ImageDataset, data.ImageDataset], tmp_path: Path) -> None:
    whole, expected = _fit(*tiny, tmp_path / "whole.state")
    state = tmp_path / "split.state"
    _, first = _fit(*tiny, state, stop_after=2)
    assert first.epochs == [1, 2] and training_state.load_state(state).epoch == 2
    resumed, history = _fit(*tiny, state, resume=True)
    assert _without_timing(history) == _without_timing(expected)
    assert all(torch.equal(a, b) for a, b in zip(resumed.state_dict().values(), whole.state_dict().values()))
    with pytest.raises(CourseError, match="stop_after must be an epoch number"):
        _fit(*tiny, None, stop_after=1)
