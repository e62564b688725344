"""``python -m cnncourse assign``: student notebooks from solutions — stubs, errors, determinism, sync."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from cnncourse.check import assign
from cnncourse.check.assign import CODE_STUB, MARKDOWN_STUB, make_student_notebook, student_cell_source
from cnncourse.errors import CourseError

ROOT = Path(__file__).resolve().parents[2]

def nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool) -> dict:
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution}
    return {"nbgrader": meta | ({"points": 1} if grade else {})}


SOLUTION_META = nbgrader("a", grade=False, solution=True, locked=False)
TEST_META = nbgrader("t", grade=True, solution=False, locked=True)
ANSWER_META = nbgrader("w", grade=True, solution=True, locked=False)


def code(source: str, metadata: dict | None = None) -> dict:
    cell = {"cell_type": "code", "source": source, "metadata": metadata or {}}
    return cell | {"outputs": [], "execution_count": None}


def markdown(source: str, metadata: dict | None = None) -> dict:
    return {"cell_type": "markdown", "source": source, "metadata": metadata or {}}


def test_code_region_becomes_the_stub_at_the_markers_indentation() -> None:
    source = (
        "def area(r):\n"
        '    """Area of a circle."""\n'
        "    ### BEGIN SOLUTION\n"
        "    import math\n"
        "    return math.pi * r * r\n"
        "    ### END SOLUTION\n"
        "\n"
        "print('after')"
    )
    student = student_cell_source(code(source, SOLUTION_META), "nb.ipynb, cell 3")
    assert student == (
        "def area(r):\n"
        '    """Area of a circle."""\n'
        f"    {CODE_STUB[0]}\n"
        f"    {CODE_STUB[1]}\n"
        "\n"
        "print('after')"
    )
    assert "math.pi" not in student


def test_markdown_region_becomes_your_answer_here() -> None:
    source = "**Answer:**\n\n### BEGIN SOLUTION\nBecause F(x) = 0 gives x.\n### END SOLUTION"
    assert student_cell_source(markdown(source, ANSWER_META), "w") == f"**Answer:**\n\n{MARKDOWN_STUB}"


def test_hidden_tests_are_removed_and_the_nbval_marker_dropped() -> None:
    source = (
        "# NBVAL_CHECK_OUTPUT\ncheck(f)\n### BEGIN HIDDEN TESTS\ncheck(f, more=True)\n### END HIDDEN TESTS"
    )
    assert student_cell_source(code(source, TEST_META), "t") == "check(f)"


@pytest.mark.parametrize(
    ("source", "metadata", "message"),
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", SOLUTION_META, "never closed"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", SOLUTION_META, "without a matching"),
        (
            "def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n",
            SOLUTION_META,
            "cannot nest",
        ),
        (
            "check()\n### BEGIN HIDDEN TESTS\ncheck(2)\n### END SOLUTION\n",
            TEST_META,
            "closes a region opened with",
        ),
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", {}, "solution: true"),
        ("def f():\n    return 1\n", SOLUTION_META, "no '### BEGIN SOLUTION' region"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", SOLUTION_META, "top level"),
        (
            "check()\n### BEGIN HIDDEN TESTS\ncheck(2)\n### END HIDDEN TESTS\n",
            SOLUTION_META,
            "hidden tests belong",
        ),
    ],
    ids=["unclosed", "end-without-begin", "nested", "mismatched", "unmarked-cell", "no-region", "top-level",
         "hidden-in-solution-cell"],
)
def test_bad_markers_name_the_notebook_and_the_cell(source: str, metadata: dict, message: str) -> None:
    cells = [markdown("intro"), code(source, metadata)]
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}
    with pytest.raises(CourseError, match=message) as raised:
        make_student_notebook(notebook, "07_broken.ipynb")
    assert "07_broken.ipynb, cell 1" in str(raised.value)


def test_outputs_counts_and_solution_only_metadata_are_cleared() -> None:
    solved = code("def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION", SOLUTION_META)
    solved["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1\n"}]
    solved["execution_count"] = 4
    solved["metadata"]["execution"] = {"iopub.execute_input": "2024-01-01T00:00:00Z"}
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 4,
        "metadata": {"jupytext": {"formats": "ipynb,py:percent"}, "kernelspec": {"name": "python3"}},
        "cells": [solved],
    }
    student = make_student_notebook(notebook, "03_x.ipynb")
    cell = student["cells"][0]
    assert cell["outputs"] == [] and cell["execution_count"] is None
    assert set(cell["metadata"]) == {"nbgrader"}
    assert "jupytext" not in student["metadata"]
    expected = {"assignment": "03_x", "generated_from": "solutions/03_x.ipynb"}
    assert student["metadata"]["cnncourse"] == expected
    assert student["nbformat_minor"] == 5 and cell["id"]  # ids made up deterministically when missing
    assert make_student_notebook(notebook, "03_x.ipynb") == student


def test_generating_twice_gives_byte_identical_files(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    assert assign.main(["--source", str(ROOT / "solutions"), "--out", str(first)]) == 0
    assert assign.main(["--source", str(ROOT / "solutions"), "--out", str(second)]) == 0
    names = sorted(p.name for p in first.glob("*.ipynb"))
    assert names and names == sorted(p.name for p in second.glob("*.ipynb"))
    for name in names:
        data = (first / name).read_bytes()
        assert data == (second / name).read_bytes()
        assert data.endswith(b"\n")
        nbformat.validate(nbformat.reads(data.decode(), as_version=4))


def test_committed_exercises_are_what_assign_makes() -> None:
    made = assign.generate(ROOT / "solutions", ROOT / "exercises")
    committed = {p.name for p in (ROOT / "exercises").glob("*.ipynb")}
    assert committed == set(made), "run: python -m cnncourse assign --source solutions --out exercises"
    for name, text in made.items():
        assert (ROOT / "exercises" / name).read_text(encoding="utf-8") == text, (
            f"exercises/{name} is out of date: run python -m cnncourse assign --source solutions --out "
            "exercises"
        )


def test_check_mode_reports_drift_and_stale_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exercises"
    assert assign.main(["--source", str(ROOT / "solutions"), "--out", str(out)]) == 0
    assert assign.main(["--source", str(ROOT / "solutions"), "--out", str(out), "--check"]) == 0
    victim = sorted(out.glob("*.ipynb"))[0]
    edited = victim.read_text(encoding="utf-8").replace("YOUR CODE HERE", "my code")
    victim.write_text(edited, encoding="utf-8")
    shutil.copy(victim, out / "99_old.ipynb")
    capsys.readouterr()
    assert assign.main(["--source", str(ROOT / "solutions"), "--out", str(out), "--check"]) == 1
    report = capsys.readouterr().out
    assert f"out of date: {victim}" in report
    assert "no solution for" in report and "99_old.ipynb" in report


def test_refuses_to_overwrite_the_solutions_and_needs_notebooks(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="overwrite the solutions"):
        assign.main(["--source", str(tmp_path), "--out", str(tmp_path)])
    with pytest.raises(CourseError, match="No .ipynb"):
        assign.main(["--source", str(tmp_path), "--out", str(tmp_path / "out")])
    with pytest.raises(CourseError, match="does not exist"):
        assign.main(["--source", str(tmp_path / "missing"), "--out", str(tmp_path / "out")])


def test_one_notebook_or_chosen_chapters_make_only_those(tmp_path: Path) -> None:
    out = tmp_path / "exercises"
    assert assign.main(["--source", str(ROOT / "solutions" / "01_resnet.ipynb"), "--out", str(out)]) == 0
    assert [p.name for p in out.glob("*.ipynb")] == ["01_resnet.ipynb"]
    assert (out / "01_resnet.ipynb").read_text(encoding="utf-8") == (
        ROOT / "exercises" / "01_resnet.ipynb"
    ).read_text(encoding="utf-8")
    # a subset is up to date on its own: the other chapters are not reported as stale or missing
    assert assign.main(["--source", str(ROOT / "solutions"), "--out", str(out), "--only", "1", "--check"]) == 0
    assert assign.main(["--source", str(ROOT / "solutions"), "--out", str(out), "--only", "02", "2b"]) == 0
    assert sorted(p.name for p in out.glob("*.ipynb")) == [
        "01_resnet.ipynb", "02_wide_resnet.ipynb", "02b_transfer_learning.ipynb"
    ]


def test_wrong_chapters_and_files_say_what_to_pass(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="No solution notebook for --only 99.*there are: 01_resnet"):
        assign.main(["--source", str(ROOT / "solutions"), "--out", str(tmp_path), "--only", "99"])
    with pytest.raises(CourseError, match="by number"):
        assign.main(["--source", str(ROOT / "solutions"), "--out", str(tmp_path), "--only", "resnet"])
    with pytest.raises(CourseError, match="not a notebook"):
        assign.main(["--source", str(ROOT / "solutions" / "01_resnet.py"), "--out", str(tmp_path)])
    with pytest.raises(CourseError, match="already names one notebook"):
        assign.main(
            ["--source", str(ROOT / "solutions" / "01_resnet.ipynb"), "--out", str(tmp_path), "--only", "01"]
        )
