"""Check the environment and say, for each problem, the one thing to do about it.

``python -m cnncourse doctor`` prints every check; the first cell of every notebook calls
:func:`notebook_check`, which prints a compact version. Each check is a :class:`Check` with a status:

* ``ok``   — nothing to do;
* ``warn`` — the course works, but something is missing or slow (no data yet, no widgets, no GPU on
  Colab, test tools missing);
* ``fail`` — something the course needs is broken (a Python too old, torch and torchvision that do not
  match, matplotlib missing). ``python -m cnncourse doctor`` then exits with status 1.

Nothing here downloads or installs anything: the doctor only looks, and its advice says what to run.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import platform
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from cnncourse import __version__, settings

OK, WARN, FAIL = "ok", "warn", "fail"
MIN_PYTHON = (3, 10)
#: torchvision releases pair with one torch release: torch 2.N goes with torchvision 0.(N + 15).
TORCHVISION_MINOR_OFFSET = 15
#: What to click in Colab to get a GPU (menu names as Colab shows them).
COLAB_GPU_STEPS = (
    "Runtime → Change runtime type → Hardware accelerator: a GPU (e.g. T4 GPU) → Save, then re-run"
)

__all__ = ["FAIL", "OK", "WARN", "Check", "main", "notebook_check", "on_colab", "report"]


@dataclass(frozen=True)
class Check:
    """One line of the report: what was checked, its status, what was found and what to do.

    ``advice`` is the one thing to do, empty when the status is ok. ``details`` holds longer
    background (for example every way to get the data), printed only by the full report.
    """

    name: str
    status: str
    found: str
    advice: str = ""
    details: str = ""

    @property
    def problem(self) -> bool:
        return self.status != OK


def on_colab() -> bool:
    """True inside Google Colab: its kernel imports ``google.colab``; its runtime sets ``COLAB_RELEASE_TAG``
    (which also covers ``!python -m cnncourse doctor`` run from a Colab cell)."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _version_tuple(version: str) -> tuple[int, ...]:
    """Leading numeric parts of a version string: '2.14.1+cu130' → (2, 14, 1)."""
    parts: list[int] = []
    for piece in version.split("+")[0].split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


# ----------------------------------------------------------------------------------------------------
# The checks, one function each
# ----------------------------------------------------------------------------------------------------


def check_python(version_info: Sequence[int] | None = None) -> Check:
    version = tuple(sys.version_info[:3] if version_info is None else version_info[:3])
    text = ".".join(map(str, version))
    if version < MIN_PYTHON:
        return Check(
            "Python",
            FAIL,
            f"{text} ({sys.executable})",
            f"Use Python {MIN_PYTHON[0]}.{MIN_PYTHON[1]} or newer: the README's set-up command creates a "
            "suitable environment.",
        )
    return Check("Python", OK, f"{text} ({platform.python_implementation()})")


def check_torch() -> Check:
    torch = _import("torch")
    if torch is None:
        return Check(
            "PyTorch",
            FAIL,
            "not installed",
            "Install it with the README's set-up command (or: pip install torch).",
        )
    return Check("PyTorch", OK, torch.__version__)


def matching_torchvision(torch_version: str) -> str:
    """The torchvision release series that matches a torch version: '2.14.1' → '0.29'."""
    major_minor = _version_tuple(torch_version)
    if len(major_minor) < 2 or major_minor[0] != 2:
        return ""
    return f"0.{major_minor[1] + TORCHVISION_MINOR_OFFSET}"


def check_torchvision() -> Check:
    torch = _import("torch")
    if torch is None:
        return Check("torchvision", FAIL, "not checked: PyTorch is missing", "Install PyTorch first.")
    wanted = matching_torchvision(torch.__version__)
    install = f'pip install "torchvision=={wanted}.*"' if wanted else "pip install --upgrade torchvision"
    try:
        torchvision = importlib.import_module("torchvision")
    except Exception as error:  # a torchvision built for another torch can fail on import with any error
        return Check(
            "torchvision",
            FAIL,
            f"cannot be imported ({type(error).__name__}: {error})",
            f"Install the torchvision that matches torch {torch.__version__}: {install}",
        )
    version = torchvision.__version__
    if wanted and ".".join(map(str, _version_tuple(version)[:2])) != wanted:
        return Check(
            "torchvision",
            FAIL,
            f"{version}, but torch {torch.__version__} needs torchvision {wanted}.x",
            f"Install the matching release: {install}",
        )
    # The compiled operators are where a mismatched install breaks ("operator torchvision::nms does not
    # exist"); a tiny call proves they load.
    try:
        boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 11.0, 11.0], [50.0, 50.0, 60.0, 60.0]])
        kept = torchvision.ops.nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
        if kept.tolist() != [0, 2]:
            raise RuntimeError(f"nms returned {kept.tolist()} instead of [0, 2]")
    except Exception as error:  # whatever the compiled extension raises, the fix is the same
        return Check(
            "torchvision",
            FAIL,
            f"{version}, but its compiled operators do not work ({type(error).__name__}: {error})",
            f"Reinstall torchvision to match torch {torch.__version__}: {install}",
        )
    return Check("torchvision", OK, f"{version} (compiled operators work)")


def _cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def check_device() -> Check:
    torch = _import("torch")
    if torch is None:
        return Check("Device", FAIL, "not checked: PyTorch is missing", "Install PyTorch first (see above).")
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        name = torch.cuda.get_device_name(0)
        return Check("Device", OK, f"CUDA GPU: {name}" + (f" (and {count - 1} more)" if count > 1 else ""))
    if torch.backends.mps.is_available():
        return Check("Device", OK, "Apple GPU (MPS)")
    cores = _cpu_cores()
    found = (
        f"CPU only, {cores} core{'s' if cores != 1 else ''}: fine for fast mode and the chapters' short "
        "training runs; full-length training of the larger models is many times slower than on a GPU"
    )
    if on_colab():
        return Check("Device", WARN, found, f"This Colab runtime has no GPU. {COLAB_GPU_STEPS}.")
    return Check("Device", OK, found)


def debian_like() -> bool:
    """Debian, Ubuntu and their derivatives, where the data comes as the package dataset-fashion-mnist."""
    return Path("/etc/debian_version").exists()


def _data_advice() -> str:
    if on_colab():
        return "Run cnncourse.data.fashion_mnist() once: on Colab it downloads the data (about 30 MB)."
    if debian_like():
        return "Install the Debian package: sudo apt-get install dataset-fashion-mnist"
    return "Run cnncourse.data.fashion_mnist() once while online: it downloads the data (about 30 MB)."


def check_data() -> Check:
    try:
        data = importlib.import_module("cnncourse.data")
        location = data.locate("fashion-mnist")
    except Exception as error:  # a broken data module must not stop the other checks
        return Check(
            "Fashion-MNIST",
            WARN,
            f"could not look for it ({type(error).__name__}: {error})",
            "Reinstall the course library (the README's set-up command), then run the doctor again.",
        )
    if location is None:
        try:
            details = data.how_to_get("fashion-mnist")
        except Exception as error:  # keep the advice even if the long text fails
            details = f"(no further help available: {error})"
        return Check("Fashion-MNIST", WARN, "not found on this machine", _data_advice(), details)
    return Check("Fashion-MNIST", OK, f"found in {location}")


def check_widgets() -> Check:
    widgets = _import("ipywidgets")
    install = 'pip install "ipywidgets>=7.7,<9"'
    if widgets is None:
        return Check(
            "ipywidgets",
            WARN,
            "not installed: quizzes and sliders fall back to plain text",
            f"For the interactive widgets: {install}",
        )
    version = getattr(widgets, "__version__", "unknown")
    major = (_version_tuple(version) or (0,))[0]
    if major == 8:
        return Check("ipywidgets", OK, f"{version} (8.x, as in JupyterLab 4)")
    if major == 7:
        return Check("ipywidgets", OK, f"{version} (7.x, as on Colab)")
    return Check(
        "ipywidgets",
        WARN,
        f"{version}: the course's widgets are written for 7.x and 8.x",
        f"Install a supported version: {install}",
    )


def check_matplotlib() -> Check:
    matplotlib = _import("matplotlib")
    if matplotlib is None:
        return Check("matplotlib", FAIL, "not installed: no plots", "pip install matplotlib")
    return Check("matplotlib", OK, matplotlib.__version__)


#: import name → pip name of the libraries the course itself imports
LIBRARY_PACKAGES = {
    "numpy": "numpy",
    "safetensors": "safetensors",
    "tqdm": "tqdm",
    "yaml": "pyyaml",
    "platformdirs": "platformdirs",
}


def check_libraries() -> Check:
    missing = [pip_name for module, pip_name in LIBRARY_PACKAGES.items() if _import(module) is None]
    if missing:
        return Check("Libraries", FAIL, "missing: " + ", ".join(missing), "pip install " + " ".join(missing))
    return Check("Libraries", OK, ", ".join(LIBRARY_PACKAGES.values()) + " present")


#: tools only the test suite needs
TEST_TOOLS = {"pytest": "pytest", "jupytext": "jupytext", "nbval": "nbval"}


def _installed(module: str) -> bool:
    """Whether a module can be found, without importing it (nbval alone takes seconds to import)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package is broken, or a stub in sys.modules
        return False


def check_test_tools() -> Check:
    missing = [pip_name for module, pip_name in TEST_TOOLS.items() if not _installed(module)]
    if missing:
        return Check(
            "Test tools",
            WARN,
            "missing: " + ", ".join(missing) + " (only needed to run the test suite)",
            "To run the tests, use the README's test command (it installs them), or: pip install "
            + " ".join(missing),
        )
    return Check("Test tools", OK, ", ".join(TEST_TOOLS) + " present")


def check_fast_mode() -> Check:
    if settings.fast_mode():
        return Check("Fast mode", OK, "on (CNNCOURSE_FAST=1): notebooks shrink data and epochs")
    return Check("Fast mode", OK, "off: full-length runs (CNNCOURSE_FAST=1 runs every notebook in seconds)")


def _writable(folder: Path) -> bool:
    """Whether ``folder`` can be written, or created: its nearest existing ancestor is writable."""
    probe = folder
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    return probe.is_dir() and os.access(probe, os.W_OK)


def check_storage() -> Check:
    home = settings.user_home()
    try:
        from cnncourse.pretrained import checkpoint_directories

        checkpoints = ", ".join(str(folder) for folder in checkpoint_directories())
    except Exception as error:  # report the rest even if torch is broken
        checkpoints = f"(unknown: {type(error).__name__})"
    found = f"progress and downloads in {home}; checkpoints looked for in {checkpoints}"
    if not _writable(home):
        return Check(
            "Course files",
            WARN,
            found + " — but that folder is not writable, so quiz progress cannot be saved",
            "Set CNNCOURSE_HOME to a folder you can write to.",
        )
    return Check("Course files", OK, found)


def check_runtime() -> Check:
    if on_colab():
        return Check("Runtime", OK, "Google Colab")
    return Check("Runtime", OK, f"{platform.system()} {platform.machine()} (not Colab)")


CHECKS: tuple[Callable[[], Check], ...] = (
    check_python,
    check_torch,
    check_torchvision,
    check_device,
    check_data,
    check_widgets,
    check_matplotlib,
    check_libraries,
    check_test_tools,
    check_fast_mode,
    check_storage,
    check_runtime,
)


def report() -> list[Check]:
    """Run every check. A check that crashes becomes a failed check instead of stopping the report."""
    results = []
    for check in CHECKS:
        try:
            results.append(check())
        except Exception as error:  # the doctor must always finish and show what it found
            name = check.__name__.removeprefix("check_").replace("_", " ")
            results.append(
                Check(
                    name,
                    FAIL,
                    f"the check itself crashed: {type(error).__name__}: {error}",
                    "Reinstall the course library with the README's set-up command.",
                )
            )
    return results


# ----------------------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------------------

_MARK = {OK: "[ ok ]", WARN: "[warn]", FAIL: "[FAIL]"}


def format_report(checks: Sequence[Check]) -> str:
    """The full report as text: one line per check, the advice and details under each problem."""
    width = max(len(check.name) for check in checks)
    lines = [f"cnncourse {__version__} doctor"]
    for check in checks:
        lines.append(f"{_MARK.get(check.status, check.status)} {check.name.ljust(width)}  {check.found}")
        if check.advice:
            lines.append(f"{' ' * 7}{' ' * width}  → {check.advice}")
        if check.details and check.problem:
            lines += [f"{' ' * 7}{' ' * width}    {line}" for line in check.details.splitlines()]
    failed = sum(check.status == FAIL for check in checks)
    warned = sum(check.status == WARN for check in checks)
    if failed:
        lines.append(f"{failed} problem(s) to fix before the course works, {warned} warning(s).")
    elif warned:
        lines.append(f"Ready, with {warned} warning(s).")
    else:
        lines.append("Everything is ready.")
    return "\n".join(lines)


def _found(checks: Sequence[Check], name: str) -> str:
    for check in checks:
        if check.name == name:
            return check.found
    return "?"


def notebook_check() -> None:
    """Print a compact report (3–6 lines) for the first cell of a notebook.

    Returns nothing, so the cell shows only the printed lines (a returned list would be displayed with its
    local paths). ``report()`` gives the full list of checks.
    """
    checks = report()
    torch_version = _found(checks, "PyTorch").split()[0]
    torchvision_version = _found(checks, "torchvision").split()[0]
    device = _found(checks, "Device")
    if device.startswith("CPU"):
        device = device.split(":")[0]  # "CPU only, 2 cores" without the explanation
    fast = "on" if settings.fast_mode() else "off"
    colab = " · Colab" if on_colab() else ""
    print(
        f"cnncourse {__version__} · Python {platform.python_version()} · torch {torch_version} · "
        f"torchvision {torchvision_version} · {device} · fast mode {fast}{colab}"
    )
    print(f"Fashion-MNIST: {_found(checks, 'Fashion-MNIST')}")
    problems = [check for check in checks if check.problem]
    problems.sort(key=lambda check: check.status != FAIL)  # failures first
    for check in problems[:3]:
        print(f"{'✗' if check.status == FAIL else '!'} {check.name}: {check.advice or check.found}")
    if len(problems) > 3:
        print(f"… and {len(problems) - 3} more: run  python -m cnncourse doctor  for the full report.")
    elif not problems:
        print("✓ environment ready")


def main(argv: list[str]) -> int:
    """``python -m cnncourse doctor``: print every check; exit status 1 if any failed."""
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse doctor",
        description="Check Python, PyTorch, the device, the data and the notebook tools; say what to fix.",
    )
    parser.parse_args(argv)
    checks = report()
    print(format_report(checks))
    return 1 if any(check.status == FAIL for check in checks) else 0
