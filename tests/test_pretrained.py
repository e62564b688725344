"""cnncourse.pretrained: the checkpoint round trip, the lookup order, the CLI and every error message."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest
import torch
from torch import Tensor, nn

from cnncourse import cli, pretrained
from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.models import _registry

ARCHITECTURE = "test_only_pretrained_tiny"
OTHER_ARCHITECTURE = "test_only_pretrained_two_convs"


class TinyNet(nn.Module):
    """conv(in→4, 3×3) → BN → ReLU → pool → linear(4→classes), with the course interface."""

    def __init__(self, num_classes: int, in_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, num_classes)
        self.num_features = 4

    def forward_features(self, x: Tensor) -> Tensor:
        return torch.relu(self.bn(self.conv(x)))

    def forward_head(self, x: Tensor) -> Tensor:
        return self.fc(x.mean(dim=(2, 3)))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))


def tiny(*, num_classes: int = 3, in_channels: int = 1) -> TinyNet:
    return TinyNet(num_classes, in_channels)


def two_convs(*, num_classes: int = 3, in_channels: int = 1) -> nn.Module:
    return nn.Sequential(nn.Conv2d(in_channels, 4, 3), nn.Conv2d(4, num_classes, 1))


@pytest.fixture(autouse=True)
def isolated_registry_and_folders(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Test-only architectures exist only during a test; no shipped or environment checkpoints interfere."""
    for name, builder in ((ARCHITECTURE, tiny), (OTHER_ARCHITECTURE, two_convs)):
        info = _registry.ModelInfo(name, "test-only", builder, (1, 8, 8))
        monkeypatch.setitem(_registry._MODELS, name, info)  # removed again after the test
    empty = tmp_path_factory.mktemp("package_checkpoints")
    monkeypatch.setattr(pretrained, "PACKAGE_CHECKPOINTS", empty)
    monkeypatch.delenv(pretrained.CHECKPOINTS_ENV, raising=False)


def trained_tiny() -> TinyNet:
    """A tiny model whose parameters and BatchNorm statistics differ from a fresh one."""
    torch.manual_seed(0)
    model = tiny()
    with torch.no_grad():
        for tensor in model.parameters():
            tensor.add_(torch.randn_like(tensor))
        model.bn.running_mean.copy_(torch.randn(4))
        model.bn.running_var.copy_(torch.rand(4) + 0.5)
        model.bn.num_batches_tracked.fill_(17)
    return model


def save(model: nn.Module, folder: Path, name: str = "tiny_fashion", accuracy: float = 0.875) -> Path:
    return pretrained.save_checkpoint(
        model,
        folder,
        name=name,
        architecture=ARCHITECTURE,
        model_kwargs={"num_classes": 3, "in_channels": 1},
        dataset="fashion-mnist",
        input_size=(1, 8, 8),
        epochs=2,
        device="cpu",
        wall_time_s=12.5,
        test_accuracy=torch.tensor(accuracy),  # as evaluation code may return it; stored as a number
        history={"train_loss": [1.2, torch.tensor(0.7)], "test_accuracy": [0.8, accuracy]},
        command=["python", "-m", "cnncourse", "train", "--model", ARCHITECTURE, "--epochs", "2"],
    )


def edit_metadata(weights: Path, **changes: object) -> None:
    path = weights.with_suffix(".json")
    metadata = json.loads(path.read_text())
    for key, value in changes.items():
        if value is None and key != "test_accuracy":
            metadata.pop(key, None)
        else:
            metadata[key] = value
    path.write_text(json.dumps(metadata))


# --- round trip ----------------------------------------------------------------------------------


def test_save_writes_weights_and_complete_metadata(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    assert weights == tmp_path / "tiny_fashion.safetensors"
    metadata = json.loads((tmp_path / "tiny_fashion.json").read_text())
    assert set(pretrained.REQUIRED_FIELDS) <= set(metadata)
    assert metadata["sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert metadata["file_size"] == weights.stat().st_size
    assert metadata["params"] == 4 * 9 + 4 + 8 + 4 * 3 + 3  # conv + bias, BN γ β, linear + bias
    assert metadata["macs"] == 8 * 8 * 4 * 9 + 4 * 3
    assert metadata["architecture"] == ARCHITECTURE
    assert metadata["format_version"] == pretrained.FORMAT_VERSION
    assert metadata["input_size"] == [1, 8, 8] and metadata["epochs"] == 2
    assert metadata["device"].startswith("cpu: ") and "core" in metadata["device"]
    assert metadata["command"] == f"python -m cnncourse train --model {ARCHITECTURE} --epochs 2"
    assert metadata["history"]["train_loss"] == [1.2, pytest.approx(0.7)]  # the tensor became a number
    assert metadata["torch_version"] == torch.__version__
    created = datetime.fromisoformat(metadata["created"])
    assert created.utcoffset() == timezone.utc.utcoffset(None)
    assert abs((datetime.now(timezone.utc) - created).total_seconds()) < 600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny_fashion.json", "tiny_fashion.safetensors"]


def test_saved_files_follow_the_umask_not_mkstemps_private_mode(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        path = save(trained_tiny(), tmp_path)
    finally:
        os.umask(previous)
    for written in (path, path.with_suffix(".json")):
        assert stat.S_IMODE(written.stat().st_mode) == 0o644, written


def test_load_pretrained_restores_the_exact_model(tmp_path: Path) -> None:
    original = trained_tiny().eval()
    save(original, tmp_path)
    loaded = pretrained.load_pretrained("tiny_fashion", directory=tmp_path)
    assert isinstance(loaded, TinyNet) and not loaded.training
    for key, tensor in original.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], tensor), key
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(loaded(x), original(x))
    assert loaded.checkpoint_metadata["test_accuracy"] == 0.875
    assert loaded.checkpoint_metadata["history"]["test_accuracy"] == [0.8, 0.875]


def test_load_by_path_in_every_spelling(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    for spelling in (weights, str(weights), weights.with_suffix(".json"), str(tmp_path / "tiny_fashion")):
        model = pretrained.load_pretrained(spelling)
        assert model.checkpoint_metadata["name"] == "tiny_fashion"


def test_nothing_is_unpickled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(trained_tiny(), tmp_path)

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("torch.load must never be called")

    monkeypatch.setattr(torch, "load", forbidden)
    pretrained.load_pretrained("tiny_fashion", directory=tmp_path)


def test_saving_unwraps_data_parallel(tmp_path: Path) -> None:
    wrapped = nn.DataParallel(trained_tiny())  # keys carry a "module." prefix
    weights = save(wrapped, tmp_path)
    model = pretrained.load_pretrained(weights)
    assert torch.equal(model.conv.weight, wrapped.module.conv.weight)


def test_device_description_is_kept_when_given(tmp_path: Path) -> None:
    weights = pretrained.save_checkpoint(
        trained_tiny(),
        tmp_path,
        name="described",
        architecture=ARCHITECTURE,
        model_kwargs={},
        dataset="fashion-mnist",
        input_size=[1, 8, 8],
        epochs=0,
        device="cuda: NVIDIA H100 80GB HBM3",
        wall_time_s=0,
        test_accuracy=None,
        history={},
        command="python -m cnncourse train",
    )
    assert pretrained.load_metadata(weights)["device"] == "cuda: NVIDIA H100 80GB HBM3"
    assert pretrained.load_metadata(weights)["test_accuracy"] is None


# --- lookup order and listing --------------------------------------------------------------------


def test_list_checkpoints_reads_the_metadata(tmp_path: Path) -> None:
    save(trained_tiny(), tmp_path, name="b_second", accuracy=0.5)
    save(trained_tiny(), tmp_path, name="a_first", accuracy=0.75)
    infos = pretrained.list_checkpoints(tmp_path)
    assert [info.name for info in infos] == ["a_first", "b_second"]
    first = infos[0]
    assert (first.architecture, first.dataset, first.test_accuracy, first.epochs) == (
        ARCHITECTURE, "fashion-mnist", 0.75, 2,
    )
    assert first.wall_time_s == 12.5 and first.params == 63 and first.path == tmp_path / "a_first.safetensors"


def test_environment_folder_and_explicit_directory_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_folder, explicit = tmp_path / "env", tmp_path / "explicit"
    save(trained_tiny(), env_folder, name="shared", accuracy=0.25)
    save(trained_tiny(), explicit, name="shared", accuracy=0.5)
    save(trained_tiny(), env_folder, name="only_env", accuracy=0.125)
    monkeypatch.setenv(pretrained.CHECKPOINTS_ENV, str(env_folder))
    assert pretrained.load_metadata("only_env")["test_accuracy"] == 0.125  # found through the environment
    assert pretrained.load_metadata("shared")["test_accuracy"] == 0.25
    assert pretrained.load_metadata("shared", directory=explicit)["test_accuracy"] == 0.5  # explicit wins
    assert {info.name: info.test_accuracy for info in pretrained.list_checkpoints(explicit)} == {
        "shared": 0.5,
        "only_env": 0.125,
    }
    folders = pretrained.checkpoint_directories(explicit)
    assert folders[:2] == [explicit, env_folder] and folders[-1] == pretrained.PACKAGE_CHECKPOINTS


def test_package_folder_is_searched(tmp_path: Path) -> None:
    save(trained_tiny(), pretrained.PACKAGE_CHECKPOINTS, name="shipped")
    assert [info.name for info in pretrained.list_checkpoints()] == ["shipped"]


def test_list_skips_damaged_metadata_with_a_warning(tmp_path: Path) -> None:
    save(trained_tiny(), tmp_path, name="good")
    broken = save(trained_tiny(), tmp_path, name="broken")
    broken.with_suffix(".json").write_text('{"format_version": 1, ')
    with pytest.warns(UserWarning, match="broken.json is not valid JSON"):
        infos = pretrained.list_checkpoints(tmp_path)
    assert [info.name for info in infos] == ["good"]


def test_shipped_reference_checkpoints_all_verify() -> None:
    """Every checkpoint in the real package folder loads into its architecture with a matching hash."""
    shipped = Path(pretrained.__file__).resolve().parent / "checkpoints"
    for info in pretrained.list_checkpoints(shipped):
        if info.path.parent == shipped:
            metadata = pretrained.verify_checkpoint(info.path)
            assert metadata["sha256"] == hashlib.sha256(info.path.read_bytes()).hexdigest()


# --- errors when loading -------------------------------------------------------------------------


def test_unknown_name_lists_close_matches_and_where_it_looked(tmp_path: Path) -> None:
    save(trained_tiny(), tmp_path)
    with pytest.raises(UnknownNameError) as caught:
        pretrained.load_pretrained("tiny_fashon", directory=tmp_path)
    message = str(caught.value)
    assert "Unknown checkpoint 'tiny_fashon'" in message and "Did you mean: tiny_fashion?" in message
    assert f"Looked in: {tmp_path}" in message and "python -m cnncourse checkpoints" in message


def test_missing_path_and_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match=r"No checkpoint at .*nothing_here\.safetensors"):
        pretrained.load_pretrained(tmp_path / "nothing_here.safetensors")
    with pytest.raises(CourseError, match=r"Checkpoint folder .*absent does not exist"):
        pretrained.list_checkpoints(tmp_path / "absent")


def test_missing_metadata_file(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    weights.with_suffix(".json").unlink()
    for reference in ("tiny_fashion", weights):  # found by name too: a lone .safetensors is a checkpoint
        with pytest.raises(CourseError) as caught:
            pretrained.load_pretrained(reference, directory=tmp_path)
        message = str(caught.value)
        assert "has no metadata file" in message and str(weights.with_suffix(".json")) in message


def test_missing_weights_file(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    weights.unlink()
    with pytest.raises(CourseError) as caught:
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)
    message = str(caught.value)
    assert f"Checkpoint weights {weights} are missing" in message
    assert f"--model {ARCHITECTURE}" in message  # the command that re-creates it


def test_tampered_weights_are_refused_with_both_hashes(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    expected = hashlib.sha256(weights.read_bytes()).hexdigest()
    data = bytearray(weights.read_bytes())
    data[-5] ^= 0xFF  # flip bits inside a tensor: still a valid file, different weights
    weights.write_bytes(bytes(data))
    actual = hashlib.sha256(bytes(data)).hexdigest()
    with pytest.raises(CourseError) as caught:
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)
    message = str(caught.value)
    assert str(weights) in message and "failed its integrity check" in message
    assert f"expected {expected}" in message and f"actual {actual}" in message
    assert "truncated" not in message


def test_truncated_weights_say_truncated(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    size = weights.stat().st_size
    weights.write_bytes(weights.read_bytes()[: size // 2])
    with pytest.raises(CourseError, match=rf"has {size // 2:,} bytes instead of {size:,}: it is truncated"):
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)


def test_corrupt_safetensors_with_a_matching_hash(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    garbage = b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}"
    weights.write_bytes(garbage)
    edit_metadata(weights, sha256=hashlib.sha256(garbage).hexdigest(), file_size=len(garbage))
    with pytest.raises(CourseError, match=rf"{weights.name} is not a readable safetensors file"):
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)


def test_unparseable_json(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    weights.with_suffix(".json").write_text('{"format_version": 1,\n "name": }')
    with pytest.raises(CourseError) as caught:
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)
    message = str(caught.value)
    assert "tiny_fashion.json is not valid JSON" in message and "line 2, column" in message


def test_metadata_missing_fields_and_wrong_types(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    edit_metadata(weights, dataset=None, sha256=None)
    with pytest.raises(CourseError, match=r"tiny_fashion\.json lacks the field\(s\) dataset, sha256"):
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)
    weights = save(trained_tiny(), tmp_path)
    edit_metadata(weights, epochs="2")
    with pytest.raises(CourseError, match="field 'epochs' should be an integer, found '2'"):
        pretrained.load_metadata("tiny_fashion", directory=tmp_path)
    edit_metadata(weights, epochs=2, format_version=pretrained.FORMAT_VERSION + 1)
    with pytest.raises(CourseError, match="newer than this cnncourse understands"):
        pretrained.load_metadata("tiny_fashion", directory=tmp_path)


def test_unknown_architecture(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    edit_metadata(weights, architecture="test_only_pretrained_tiny_v2")
    with pytest.raises(CourseError) as caught:
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)
    message = str(caught.value)
    assert "architecture 'test_only_pretrained_tiny_v2'" in message and str(weights) in message
    assert ARCHITECTURE in message  # the close match


def test_state_dict_not_matching_the_architecture(tmp_path: Path) -> None:
    weights = save(trained_tiny(), tmp_path)
    edit_metadata(weights, model_kwargs={"num_classes": 5, "in_channels": 1})
    with pytest.raises(CourseError) as caught:
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)
    message = str(caught.value)
    assert "does not fit" in message and "shape mismatch" in message
    assert "fc.weight (3, 4) instead of (5, 4)" in message
    edit_metadata(weights, architecture=OTHER_ARCHITECTURE, model_kwargs={})
    pattern = r"missing 4 tensor\(s\): 0\.weight, 0\.bias.*; 9 unexpected tensor\(s\): bn\.bias"
    with pytest.raises(CourseError, match=pattern):
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)
    edit_metadata(weights, architecture=ARCHITECTURE, model_kwargs={"depth": 3})
    with pytest.raises(CourseError, match="could not build 'test_only_pretrained_tiny' with model_kwargs"):
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path)


def test_unavailable_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save(trained_tiny(), tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(CourseError, match="no CUDA GPU is available"):
        pretrained.load_pretrained("tiny_fashion", directory=tmp_path, device="cuda")


# --- errors when saving --------------------------------------------------------------------------


def save_kwargs(**changes: object) -> dict[str, object]:
    arguments: dict[str, object] = {
        "name": "tiny",
        "architecture": ARCHITECTURE,
        "model_kwargs": {"num_classes": 3, "in_channels": 1},
        "dataset": "fashion-mnist",
        "input_size": (1, 8, 8),
        "epochs": 1,
        "device": "cpu",
        "wall_time_s": 1.0,
        "test_accuracy": 0.5,
        "history": {},
        "command": "python -m cnncourse train",
    }
    arguments.update(changes)
    return arguments


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"name": "../escape"}, "not a valid file name"),
        ({"name": ""}, "not a valid file name"),
        ({"test_accuracy": 91.3}, "fraction between 0 and 1"),
        ({"epochs": -1}, "epochs must be a non-negative integer"),
        ({"dataset": None}, "dataset must be the dataset's name"),
        ({"input_size": (28, 28)}, r"input_size must be \(channels, height, width\)"),
        ({"model_kwargs": {"num_classes": 10, "in_channels": 1}}, r"does not match create_model.*fc\.weight"),
        ({"history": {"loss": [object()]}}, "cannot be written as JSON"),
    ],
)
def test_save_refuses_bad_arguments_before_writing(tmp_path: Path, changes: dict, message: str) -> None:
    with pytest.raises(CourseError, match=message):
        pretrained.save_checkpoint(trained_tiny(), tmp_path / "out", **save_kwargs(**changes))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_save_with_unknown_architecture_lists_close_matches(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match=f"Did you mean: {ARCHITECTURE}"):
        pretrained.save_checkpoint(trained_tiny(), tmp_path, **save_kwargs(architecture=ARCHITECTURE + "x"))


def test_a_crash_while_saving_leaves_the_old_checkpoint_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = save(trained_tiny(), tmp_path, accuracy=0.5)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    import safetensors.torch

    def crash(tensors: dict, filename: str, metadata: dict | None = None) -> None:
        Path(filename).write_bytes(b"half a fi")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", crash)
    with pytest.raises(OSError, match="disk full"):
        save(trained_tiny(), tmp_path, accuracy=0.9)
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before  # no temp files either
    assert pretrained.load_pretrained(weights).checkpoint_metadata["test_accuracy"] == 0.5


# --- command line --------------------------------------------------------------------------------


def test_cli_lists_and_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save(trained_tiny(), tmp_path, name="alpha", accuracy=0.8125)
    save(trained_tiny(), tmp_path, name="beta")
    assert cli.main(["checkpoints", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"Looked in: {tmp_path}" in out
    assert "alpha" in out and "81.25%" in out and ARCHITECTURE in out and "fashion-mnist" in out
    assert cli.main(["checkpoints", "--dir", str(tmp_path), "--verify"]) == 0
    assert "All 2 checkpoint(s) verified." in capsys.readouterr().out


def test_cli_verify_fails_on_a_tampered_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save(trained_tiny(), tmp_path, name="alpha")
    beta = save(trained_tiny(), tmp_path, name="beta")
    beta.write_bytes(beta.read_bytes()[:-3])
    assert cli.main(["checkpoints", "--dir", str(tmp_path), "--verify"]) == 1
    captured = capsys.readouterr()
    rows = [line for line in captured.out.splitlines() if line.startswith(("alpha", "beta"))]
    lines = {line.split()[0]: line for line in rows}
    assert lines["alpha"].endswith("ok") and lines["beta"].endswith("BAD")
    assert "beta: Checkpoint" in captured.err and "failed its integrity check" in captured.err


def test_cli_with_no_checkpoints_and_with_a_missing_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["checkpoints", "--dir", str(tmp_path)]) == 0
    assert "No checkpoints found" in capsys.readouterr().out
    assert cli.main(["checkpoints", "--dir", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_cli_reports_damaged_metadata(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    weights = save(trained_tiny(), tmp_path, name="alpha")
    shutil.copy(weights, tmp_path / "orphan.safetensors")  # weights without metadata
    assert cli.main(["checkpoints", "--dir", str(tmp_path)]) == 1
    assert "orphan: Checkpoint orphan.safetensors has no metadata file" in capsys.readouterr().err
