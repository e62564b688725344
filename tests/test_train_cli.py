"""``python -m cnncourse train``: a checkpoint the registry accepts, clean errors, and DDP with 2 processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnncourse import cli, data, train_cli
from cnncourse.pretrained import load_pretrained
from cnncourse.profile import describe_device
from cnncourse.train import parameter_checksum

ROOT = Path(__file__).resolve().parents[1]


def _environment(data_folder: Path, home: Path) -> dict[str, str]:
    environment = dict(os.environ)
    environment.update({
        "CNNCOURSE_DATA": str(data_folder), "CNNCOURSE_HOME": str(home),
        # The tiny data is already small: train in full mode so --epochs is honoured.
        "CNNCOURSE_FAST": "0",
        # One thread per process: two processes share the 2-core machine.
        "OMP_NUM_THREADS": "1",
    })
    return environment


def test_train_writes_a_checkpoint_that_loads_back(tiny_fashion_mnist_env: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    status = cli.main(["train", "--model", "plain_cnn", "--epochs", "1", "--out", str(out), "--batch-size", "16",
                       "--no-progress", "--optimizer", "adamw", "--name", "tiny_run"])
    assert status == 0
    printed = capsys.readouterr().out
    assert "plain_cnn (421,738 parameters)" in printed and "checkpoint written" in printed
    assert "fast mode" in printed  # the test conftest sets CNNCOURSE_FAST=1
    metadata = json.loads((out / "tiny_run.json").read_text())
    assert metadata["architecture"] == "plain_cnn" and metadata["dataset"] == "fashion-mnist"
    assert metadata["model_kwargs"] == {"num_classes": 10, "in_channels": 1, "image_size": 28}
    assert metadata["input_size"] == [1, 28, 28] and metadata["epochs"] == 1
    assert metadata["command"] == ("python -m cnncourse train --model plain_cnn --epochs 1 --out "
                                   f"{out} --batch-size 16 --no-progress --optimizer adamw --name tiny_run")
    assert metadata["history"]["config"]["optimizer"] == "adamw"
    assert 0.0 <= metadata["test_accuracy"] <= 1.0
    # The hardware and thread count are recorded, so the wall time can be judged (conftest: one thread).
    threads = torch.get_num_threads()
    assert metadata["device"] == f"{describe_device('cpu')}, {threads} thread{'s' if threads != 1 else ''}"
    model = load_pretrained(out / "tiny_run.safetensors")
    assert sum(p.numel() for p in model.parameters()) == metadata["params"] == 421_738


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--model", "plain_cn"], ["Unknown model 'plain_cn'", "plain_cnn"]),
        (["--model", "plain_cnn", "--dataset", "fashion_mnist"], ["Unknown dataset 'fashion_mnist'", "fashion-mnist"]),
        (["--model", "plain_cnn", "--optimizer", "adam"], ["Unknown optimizer 'adam'", "adamw"]),
        (["--model", "plain_cnn", "--epochs", "0"], ["--epochs must be at least 1"]),
    ],
)
def test_bad_names_print_close_matches_and_exit_2(tiny_fashion_mnist_env: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str],
                                                  arguments: list[str], expected: list[str]) -> None:
    status = cli.main(["train", *arguments, "--out", str(tmp_path), "--no-progress"])
    captured = capsys.readouterr()
    assert status == 2
    assert captured.err.startswith("error: ")
    for text in expected:
        assert text in captured.err
    assert "Traceback" not in captured.err and not list(tmp_path.glob("*.json"))


def test_unknown_model_from_a_real_shell_has_no_traceback(tiny_fashion_mnist: Path, tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "cnncourse", "train", "--model", "resnet", "--out", str(tmp_path)],
        capture_output=True, text=True, check=False, env=_environment(tiny_fashion_mnist, tmp_path / "home"), cwd=ROOT, timeout=120,
    )
    assert completed.returncode == 2
    assert "error: Unknown model 'resnet'" in completed.stderr and "Did you mean" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_missing_data_prints_the_ways_to_get_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(data, "SYSTEM_FASHION_MNIST", tmp_path / "absent")
    monkeypatch.setenv("CNNCOURSE_DATA", str(tmp_path / "empty"))
    status = cli.main(["train", "--model", "plain_cnn", "--no-download", "--out", str(tmp_path)])
    assert status == 2
    assert "apt-get install dataset-fashion-mnist" in capsys.readouterr().err


def test_command_line_is_reconstructed_for_torchrun() -> None:
    single = train_cli.DistributedSetup(rank=0, local_rank=0, world_size=1, local_world_size=1)
    two = train_cli.DistributedSetup(rank=1, local_rank=1, world_size=2, local_world_size=2)
    nodes = train_cli.DistributedSetup(rank=5, local_rank=1, world_size=8, local_world_size=4)
    argv = ["--model", "resnet20", "--out", "my dir"]
    assert train_cli._command_line(argv, single) == "python -m cnncourse train --model resnet20 --out 'my dir'"
    assert train_cli._command_line(argv, two).startswith("torchrun --nproc_per_node 2 -m cnncourse train --model")
    assert train_cli._command_line(argv, nodes).startswith("torchrun --nproc_per_node 4 --nnodes 2 -m cnncourse")


def test_distributed_setup_reads_torchrun_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(variable, raising=False)
    assert train_cli.distributed_setup_from_environment().world_size == 1
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("LOCAL_RANK", "1")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    setup = train_cli.distributed_setup_from_environment()
    assert (setup.rank, setup.local_rank, setup.world_size, setup.local_world_size, setup.is_main) == (3, 1, 4, 2, False)
    monkeypatch.setenv("RANK", "zero")
    with pytest.raises(train_cli.CourseError, match="RANK='zero'"):
        train_cli.distributed_setup_from_environment()


def test_two_process_ddp_on_cpu_with_gloo(tiny_fashion_mnist: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    environment = _environment(tiny_fashion_mnist, tmp_path / "home")
    common = ["--model", "plain_cnn", "--epochs", "2", "--batch-size", "16", "--no-progress"]
    distributed = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         "-m", "cnncourse", "train", *common, "--out", str(tmp_path / "ddp")],
        capture_output=True, text=True, check=False, env=environment, cwd=ROOT, timeout=300,
    )
    assert distributed.returncode == 0, distributed.stdout + distributed.stderr
    # Only rank 0 prints: each line once.
    assert distributed.stdout.count("checkpoint written") == 1
    assert distributed.stdout.count("2 processes") == 2  # the opening line and the checksum line
    checksum_line = next(line for line in distributed.stdout.splitlines() if "weights identical" in line)
    printed_checksum = float(checksum_line.split("checksum ")[1].rstrip(")"))

    metadata = json.loads((tmp_path / "ddp" / "plain_cnn_fashion_mnist.json").read_text())
    assert metadata["command"].startswith("torchrun --nproc_per_node 2 -m cnncourse train --model plain_cnn")
    assert metadata["device"].endswith("× 2 processes")
    assert metadata["history"]["world_size"] == 2
    # The weights rank 0 wrote are the ones every rank agreed on.
    loaded = load_pretrained(tmp_path / "ddp" / "plain_cnn_fashion_mnist.safetensors")
    assert parameter_checksum(loaded) == printed_checksum

    # One process (this one) with the same global batch takes exactly the same number of steps.
    monkeypatch.setenv("CNNCOURSE_DATA", str(tiny_fashion_mnist))
    monkeypatch.setenv("CNNCOURSE_FAST", "0")
    assert train_cli.main([*common, "--out", str(tmp_path / "one")]) == 0
    single_metadata = json.loads((tmp_path / "one" / "plain_cnn_fashion_mnist.json").read_text())
    assert single_metadata["history"]["steps"] == metadata["history"]["steps"] == [4, 4]
    assert single_metadata["history"]["world_size"] == 1
    assert not torch.distributed.is_initialized()  # nothing leaked into this process


def test_a_torchrun_run_stopped_after_one_epoch_resumes_to_the_same_weights(tiny_fashion_mnist: Path,
                                                                             tmp_path: Path) -> None:
    """Rank 0 alone writes the state; every rank resumes from it; the result equals an unbroken run."""
    environment = _environment(tiny_fashion_mnist, tmp_path / "home")
    common = ["--model", "plain_cnn", "--epochs", "2", "--batch-size", "16", "--no-progress", "--recipe", "fast"]

    def torchrun(out: Path, *extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
             "-m", "cnncourse", "train", *common, "--out", str(out), *extra],
            capture_output=True, text=True, check=False, env=environment, cwd=ROOT, timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    whole = torchrun(tmp_path / "whole")
    assert "stopped after epoch 1 of 2" in torchrun(tmp_path / "split", "--stop-after", "1")
    assert (tmp_path / "split" / "plain_cnn_fashion_mnist.state").exists()
    assert not (tmp_path / "split" / "plain_cnn_fashion_mnist.json").exists()
    resumed = torchrun(tmp_path / "split", "--resume")
    assert not (tmp_path / "split" / "plain_cnn_fashion_mnist.state").exists()  # finished: the state is gone

    def checksum(printed: str) -> str:
        return next(line for line in printed.splitlines() if "weights identical" in line).split("checksum ")[1]

    assert checksum(resumed) == checksum(whole)
    split = json.loads((tmp_path / "split" / "plain_cnn_fashion_mnist.json").read_text())
    unbroken = json.loads((tmp_path / "whole" / "plain_cnn_fashion_mnist.json").read_text())
    assert split["history"]["val_accuracy"] == unbroken["history"]["val_accuracy"]
    assert "--resume" not in split["command"] and "--stop-after" not in split["command"]
