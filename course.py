#!/usr/bin/env python3
"""Set up and use the course with one command.

    python3 course.py lab     create the environment on first use, then open JupyterLab on chapter 00
    python3 course.py test    create the environment if needed, then run the whole test suite

The environment is a virtual environment in ``.venv`` next to this file, with the exact versions of
``constraints.txt`` (the same ones CI uses). It is reinstalled only when ``pyproject.toml`` or
``constraints.txt`` change. Only the Python standard library is used here, so this runs before anything
is installed, on Linux, macOS and Windows.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".cnncourse-installed"
FIRST_NOTEBOOK = "notebooks/00_start_here.ipynb"
MIN_PYTHON = (3, 10)

# The test suite in the order it runs: fast unit tests first, then every notebook under nbval.
# Colab still ships ipywidgets 7.7: the quiz widget's tests run once more against it, from a folder that
# shadows ipywidgets 8 on PYTHONPATH (the rest of the environment stays the same).
IPYWIDGETS7 = ["ipywidgets==7.7.5", "widgetsnbextension==3.6.10", "jupyterlab_widgets==1.1.11", "ipython_genutils==0.2.0"]
IPYWIDGETS7_DIR = VENV / "ipywidgets7"
WIDGET_TESTS = ["-m", "pytest", "tests/quiz/test_quiz_widget.py", "-q"]

# Two workers for two cores; "loadfile" keeps a notebook's cells (and a test file's fixtures) in one worker.
UNIT_TESTS = ["-m", "pytest", "tests", "cnncourse", "--doctest-modules", "-n", "2", "--dist", "loadfile"]
NOTEBOOK_TESTS = ["-m", "pytest", "--nbval-lax", "--nbval-current-env", "notebooks", "solutions", "exercises", "-n", "2", "--dist", "loadfile"]


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def requirements_fingerprint() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def run(command: list[str], **options: object) -> None:
    print("+", " ".join(str(part) for part in command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT, **options)  # type: ignore[arg-type]


def ensure_environment() -> Path:
    """Create ``.venv`` and install the pinned packages, unless that was already done for these pins."""
    if sys.version_info < MIN_PYTHON:
        sys.exit(f"Python {'.'.join(map(str, MIN_PYTHON))} or newer is needed; this is {platform.python_version()}.")
    python = venv_python()
    fingerprint = requirements_fingerprint()
    if python.exists() and STAMP.exists() and STAMP.read_text().strip() == fingerprint:
        return python
    if not python.exists():
        print(f"Creating the course environment in {VENV} (first use; downloads PyTorch, a few minutes) ...")
        venv.EnvBuilder(with_pip=True).create(VENV)
    run([str(python), "-m", "pip", "install", "--upgrade", "pip"])
    run([str(python), "-m", "pip", "install", "-c", "constraints.txt", "-e", ".[lab,test]"])
    STAMP.write_text(fingerprint + "\n")
    return python


def ensure_system_packages() -> None:
    """The tests read the real Fashion-MNIST and drive Chromium; on Debian/Ubuntu as root, install them."""
    missing = []
    if not Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists():
        missing.append("dataset-fashion-mnist")
    if shutil.which("chromium") is None:
        missing.append("chromium")
    if not missing:
        return
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        run(["apt-get", "update", "-q"])
        run(["apt-get", "install", "-y", "-q", *missing], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    else:
        print(
            "note: the test suite needs " + " and ".join(missing) + ". On Debian/Ubuntu: "
            f"sudo apt-get install {' '.join(missing)}. Tests that need them will fail with this same advice."
        )


def lab(extra: list[str]) -> int:
    python = ensure_environment()
    command = [str(python), "-m", "jupyter", "lab", FIRST_NOTEBOOK, *extra]
    print("+", " ".join(command), flush=True)
    return subprocess.call(command, cwd=ROOT)


def test(extra: list[str]) -> int:
    python = ensure_environment()
    ensure_system_packages()
    # Two pytest workers (and two notebook kernels) share the cores: one thread each avoids oversubscription.
    env = {**os.environ, "CNNCOURSE_FAST": "1", "OMP_NUM_THREADS": "1"}
    code = subprocess.call([str(python), *UNIT_TESTS, *extra], cwd=ROOT, env=env)
    if code != 0:
        return code
    if not (IPYWIDGETS7_DIR / "ipywidgets").exists():
        run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--target", str(IPYWIDGETS7_DIR), *IPYWIDGETS7])
    print("+ quiz widget tests against ipywidgets 7.7 (Colab's version)", flush=True)
    colab_widgets = {**env, "PYTHONPATH": str(IPYWIDGETS7_DIR), "CNNCOURSE_EXPECT_IPYWIDGETS": "7"}
    code = subprocess.call([str(python), *WIDGET_TESTS], cwd=ROOT, env=colab_widgets)
    if code != 0:
        return code
    return subprocess.call([str(python), *NOTEBOOK_TESTS, *extra], cwd=ROOT, env=env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["lab", "test", "setup"], help="what to do ('setup' only installs)")
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="passed on to jupyter lab or pytest")
    args = parser.parse_args()
    if args.command == "setup":
        ensure_environment()
        return 0
    return lab(args.extra) if args.command == "lab" else test(args.extra)


if __name__ == "__main__":
    raise SystemExit(main())
