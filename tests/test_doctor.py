"""cnncourse.doctor: each situation a learner meets gives the right status and the right advice."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch
import torchvision

from cnncourse import cli, doctor


@pytest.fixture(autouse=True)
def not_on_colab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)


@pytest.fixture
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


@pytest.fixture
def on_colab(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))


def by_name(checks: list[doctor.Check], name: str) -> doctor.Check:
    (found,) = [check for check in checks if check.name == name]
    return found


def test_report_covers_every_topic_with_valid_statuses() -> None:
    checks = doctor.report()
    names = [check.name for check in checks]
    for topic in ("Python", "PyTorch", "torchvision", "Device", "Fashion-MNIST", "ipywidgets", "matplotlib",
                  "Libraries", "Test tools", "Fast mode", "Course files", "Runtime"):
        assert topic in names
    for check in checks:
        assert check.status in {doctor.OK, doctor.WARN, doctor.FAIL}
        assert check.found
        assert bool(check.advice) == check.problem, check  # every problem says what to do, ok says nothing


def test_healthy_test_environment_passes_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[ ok ] PyTorch" in out and torch.__version__ in out
    assert "compiled operators work" in out
    assert "Fast mode" in out and "on (CNNCOURSE_FAST=1)" in out  # tests run in fast mode (conftest)


# --- Python, torch, torchvision ------------------------------------------------------------------


def test_old_python_fails_with_the_fix() -> None:
    check = doctor.check_python((3, 8, 18))
    assert check.status == doctor.FAIL and "3.8.18" in check.found
    assert "Python 3.10 or newer" in check.advice
    assert doctor.check_python((3, 12, 0)).status == doctor.OK


def test_matching_torchvision_release() -> None:
    # published pairs: torch 2.0 ↔ torchvision 0.15, 2.5 ↔ 0.20, 2.14 ↔ 0.29 (this project's pin)
    assert doctor.matching_torchvision("2.0.1") == "0.15"
    assert doctor.matching_torchvision("2.5.0+cu121") == "0.20"
    assert doctor.matching_torchvision("2.14.1+cu130") == "0.29"


def test_mismatched_torchvision_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch, "__version__", "2.14.1")
    monkeypatch.setattr(torchvision, "__version__", "0.20.0")
    check = doctor.check_torchvision()
    assert check.status == doctor.FAIL
    assert "0.20.0, but torch 2.14.1 needs torchvision 0.29.x" in check.found
    assert 'pip install "torchvision==0.29.*"' in check.advice


def test_broken_compiled_operators_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing_operator(*args: object, **kwargs: object) -> None:
        raise RuntimeError("operator torchvision::nms does not exist")

    monkeypatch.setattr(torchvision.ops, "nms", missing_operator)
    check = doctor.check_torchvision()
    assert check.status == doctor.FAIL
    assert "compiled operators do not work" in check.found
    assert "torchvision::nms does not exist" in check.found
    assert "Reinstall torchvision" in check.advice


def test_torchvision_that_cannot_import_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchvision", None)
    check = doctor.check_torchvision()
    assert check.status == doctor.FAIL and "cannot be imported" in check.found
    assert "torchvision==" in check.advice


# --- device and Colab ----------------------------------------------------------------------------


def test_cpu_outside_colab_is_fine_and_says_what_it_means(cpu_only: None) -> None:
    check = doctor.check_device()
    assert check.status == doctor.OK
    assert check.found.startswith("CPU only, ") and "core" in check.found and "GPU" in check.found


def test_colab_without_gpu_says_how_to_switch_the_runtime(
    cpu_only: None, on_colab: None, capsys: pytest.CaptureFixture[str]
) -> None:
    check = doctor.check_device()
    assert check.status == doctor.WARN
    assert "no GPU" in check.advice and "Runtime → Change runtime type" in check.advice
    assert doctor.check_runtime().found == "Google Colab"
    doctor.notebook_check()
    out = capsys.readouterr().out
    assert "Colab" in out.splitlines()[0]
    assert "! Device: This Colab runtime has no GPU. Runtime → Change runtime type" in out


def test_colab_runtime_detected_from_the_environment(cpu_only: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab_20250101-060000_RC00")
    assert doctor.on_colab()
    assert doctor.check_device().status == doctor.WARN


def test_colab_with_gpu_is_ok(on_colab: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index=0: "Tesla T4")
    check = doctor.check_device()
    assert (check.status, check.found) == (doctor.OK, "CUDA GPU: Tesla T4")


# --- data ----------------------------------------------------------------------------------------


def no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    import cnncourse.data

    monkeypatch.setattr(cnncourse.data, "locate", lambda name, root=None: None)


def test_no_data_on_debian_advises_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    no_data(monkeypatch)
    monkeypatch.setattr(doctor, "debian_like", lambda: True)
    check = doctor.check_data()
    assert check.status == doctor.WARN and check.found == "not found on this machine"
    assert check.advice == "Install the Debian package: sudo apt-get install dataset-fashion-mnist"
    assert "Fashion-MNIST was not found" in check.details  # every way, from cnncourse.data.how_to_get


def test_no_data_elsewhere_advises_the_download(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    no_data(monkeypatch)
    monkeypatch.setattr(doctor, "debian_like", lambda: False)
    check = doctor.check_data()
    assert "cnncourse.data.fashion_mnist() once while online" in check.advice
    assert doctor.main([]) == 0  # missing data is a warning, not a failure
    out = capsys.readouterr().out
    assert "[warn] Fashion-MNIST" in out and "→ Run cnncourse.data.fashion_mnist()" in out
    assert "Fashion-MNIST was not found" in out  # the details appear in the full report


def test_no_data_on_colab_advises_the_download(monkeypatch: pytest.MonkeyPatch, on_colab: None) -> None:
    no_data(monkeypatch)
    assert "on Colab it downloads" in doctor.check_data().advice


def test_data_found_reports_the_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import cnncourse.data

    monkeypatch.setattr(cnncourse.data, "locate", lambda name, root=None: tmp_path)
    check = doctor.check_data()
    assert (check.status, check.found) == (doctor.OK, f"found in {tmp_path}")


def test_broken_data_module_is_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    import cnncourse.data

    def broken(name: str, root: object = None) -> None:
        raise PermissionError("cannot read /usr/share/datasets")

    monkeypatch.setattr(cnncourse.data, "locate", broken)
    check = doctor.check_data()
    assert check.status == doctor.WARN and "PermissionError" in check.found
    assert "Reinstall" in check.advice


# --- widgets, plotting, tools --------------------------------------------------------------------


def test_no_widgets_falls_back_to_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    check = doctor.check_widgets()
    assert check.status == doctor.WARN and "plain text" in check.found
    assert 'pip install "ipywidgets>=7.7,<9"' in check.advice


@pytest.mark.parametrize(
    ("version", "status", "words"),
    [
        ("7.7.1", doctor.OK, "as on Colab"),
        ("8.1.5", doctor.OK, "JupyterLab 4"),
        ("6.0.0", doctor.WARN, "7.x and 8.x"),
    ],
)
def test_widget_versions(monkeypatch: pytest.MonkeyPatch, version: str, status: str, words: str) -> None:
    fake = types.ModuleType("ipywidgets")
    fake.__version__ = version  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ipywidgets", fake)
    check = doctor.check_widgets()
    assert check.status == status and words in check.found and version in check.found


def test_missing_matplotlib_fails_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert doctor.main([]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] matplotlib" in out and "→ pip install matplotlib" in out
    assert "1 problem(s) to fix" in out


def test_missing_library_names_the_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)
    check = doctor.check_libraries()
    assert check.status == doctor.FAIL and check.advice == "pip install pyyaml"


def test_missing_test_tools_only_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nbval", None)
    monkeypatch.setitem(sys.modules, "jupytext", None)
    check = doctor.check_test_tools()
    assert check.status == doctor.WARN and "only needed to run the test suite" in check.found
    assert check.advice.endswith("pip install jupytext nbval")


# --- settings and storage ------------------------------------------------------------------------


def test_fast_mode_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNCOURSE_FAST", "0")
    check = doctor.check_fast_mode()
    assert check.found.startswith("off") and "CNNCOURSE_FAST=1" in check.found


def test_storage_reports_where_things_live(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CNNCOURSE_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CNNCOURSE_CHECKPOINTS", str(tmp_path / "ckpt"))
    check = doctor.check_storage()
    assert check.status == doctor.OK
    assert str(tmp_path / "home") in check.found and str(tmp_path / "ckpt") in check.found


def test_unwritable_home_warns(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNNCOURSE_HOME", str(blocker / "home"))  # cannot be created under a file
    check = doctor.check_storage()
    assert check.status == doctor.WARN and "not writable" in check.found
    assert "CNNCOURSE_HOME" in check.advice


# --- robustness and the compact version ----------------------------------------------------------


def test_a_crashing_check_becomes_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    def check_boom() -> doctor.Check:
        raise KeyError("surprise")

    monkeypatch.setattr(doctor, "CHECKS", (doctor.check_python, check_boom))
    checks = doctor.report()
    assert checks[0].status == doctor.OK
    assert checks[1].name == "boom" and checks[1].status == doctor.FAIL
    assert "the check itself crashed: KeyError" in checks[1].found


def test_notebook_check_is_compact(cpu_only: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert doctor.notebook_check() is None  # nothing for the notebook to display after the printed lines
    lines = capsys.readouterr().out.splitlines()
    assert 3 <= len(lines) <= 6
    assert lines[0].startswith("cnncourse ") and f"torch {torch.__version__}" in lines[0]
    assert "CPU only" in lines[0] and "fast mode on" in lines[0]
    assert lines[1].startswith("Fashion-MNIST: ")


def test_notebook_check_lists_at_most_three_problems(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for module in ("matplotlib", "ipywidgets", "nbval", "yaml"):
        monkeypatch.setitem(sys.modules, module, None)
    doctor.notebook_check()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 6
    assert lines[2].startswith("✗ ")  # failures come first
    assert "python -m cnncourse doctor" in lines[-1]
