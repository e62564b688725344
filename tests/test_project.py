"""The project's set-up files agree with each other: pyproject, environment.yml, constraints, README, CI."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

# conda-forge names the PyTorch package differently from PyPI; everything else has the same name.
CONDA_NAME = {"torch": "pytorch"}


def requirement_name_and_spec(requirement: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower(), match.group(2).replace(" ", "")


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def pyproject_requirements() -> dict[str, str]:
    project = pyproject()["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    return dict(requirement_name_and_spec(r) for r in requirements)


def conda_requirements() -> dict[str, str]:
    environment = yaml.safe_load((ROOT / "environment.yml").read_text())
    found = {}
    for entry in environment["dependencies"]:
        if isinstance(entry, str) and not entry.startswith(("python", "pip")):
            name, spec = requirement_name_and_spec(entry)
            found[name] = spec
    return found


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt pins exact versions; {line!r} does not"
            pins[name.lower().replace("_", "-")] = version
    return pins


def test_environment_yml_names_the_same_packages_with_the_same_ranges_as_pyproject() -> None:
    expected = {CONDA_NAME.get(name, name): spec for name, spec in pyproject_requirements().items()}
    assert conda_requirements() == expected


def test_constraints_pin_every_dependency_and_the_course_torch() -> None:
    pins = constraints()
    missing = [name for name in pyproject_requirements() if name.replace("_", "-") not in pins]
    assert not missing, f"constraints.txt has no pin for {missing}"
    assert pins["torch"] == "2.14.1"
    assert pins["torchvision"] == "0.29.1"


def test_pinned_versions_satisfy_the_ranges_users_get() -> None:
    from packaging.specifiers import SpecifierSet

    pins = constraints()
    for name, spec in pyproject_requirements().items():
        assert pins[name.replace("_", "-")] in SpecifierSet(spec), f"{name}=={pins[name]} outside {spec}"


def test_readme_states_the_test_command_that_ci_runs() -> None:
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    command = "python3 course.py test"
    assert command in readme
    assert re.search(rf"^{re.escape(command)}$", ci, re.MULTILINE), ".ci/run must call the README's test command"
    assert "python3 course.py lab" in readme


def test_top_level_layout_is_as_designed() -> None:
    for name in ["notebooks", "cnncourse", "exercises", "solutions", "tests", "benchmarks"]:
        assert (ROOT / name).is_dir(), name
    for name in ["environment.yml", "README.md", "pyproject.toml", ".ci/run", "constraints.txt"]:
        assert (ROOT / name).is_file(), name


def test_importing_the_package_does_not_import_torch() -> None:
    code = "import sys, cnncourse, cnncourse.cli, cnncourse.errors; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


@pytest.mark.parametrize("argv", [["--help"], []])
def test_cli_help_lists_every_command(argv: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "cnncourse", *argv], capture_output=True, text=True)
    assert result.returncode == 0
    for command in ["doctor", "train", "quiz", "exam", "assign", "grade", "checkpoints"]:
        assert command in result.stdout


def test_cli_unknown_command_suggests_the_close_one_without_a_traceback() -> None:
    result = subprocess.run([sys.executable, "-m", "cnncourse", "doctr"], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Did you mean: doctor?" in result.stderr
    assert "Traceback" not in result.stderr


def test_readme_links_and_colab_badges_point_at_files_that_exist() -> None:
    from cnncourse.settings import COURSE_REPO_BRANCH, COURSE_REPO_URL

    readme = (ROOT / "README.md").read_text()
    repository_path = COURSE_REPO_URL.removeprefix("https://github.com/")
    badge_prefix = f"https://colab.research.google.com/github/{repository_path}/blob/{COURSE_REPO_BRANCH}/"
    badges = re.findall(r"\(https://colab\.research\.google\.com/github/[^)]+\)", readme)
    assert badges, "the course map has Colab badges"
    for badge in badges:
        target = badge[1:-1]
        assert target.startswith(badge_prefix), f"{target} is not in {COURSE_REPO_URL}@{COURSE_REPO_BRANCH}"
        assert (ROOT / target.removeprefix(badge_prefix)).exists(), f"the badge opens a missing file: {target}"
    for link in re.findall(r"\]\(((?:notebooks|exercises|solutions)/[^)]+)\)", readme):
        assert (ROOT / link).exists(), f"README links to a missing file: {link}"
