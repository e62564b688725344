"""``python -m cnncourse grade`` and ``nbgrader autograde`` really run over honest work and each cheat.

Every kernel-starting run happens once per module (module-scoped fixtures) and the tests read its
table, feedback and terminal output: the cheats of ``grading_cases`` earn nothing, honest work earns
its points, and nbgrader's own autograde gives the same points on the same submissions — apart from the
two differences the README states (a patched checker fools nbgrader; nbgrader refuses a notebook with
a grade cell it does not know).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from grading_cases import EXERCISE, POINTS, ROOT, SOLUTION, WRITTEN, write_submissions

EXERCISES = list(POINTS)
MARKS = f"student,{WRITTEN}\nhonest,1\npartial,0.5\n"


@dataclass
class Run:
    rows: dict[str, dict[str, str]]
    stdout: str
    stderr: str
    out: Path
    folder: Path
    feedback: Path | None = None


def environment() -> dict[str, str]:
    env = dict(os.environ, OMP_NUM_THREADS="1", CNNCOURSE_FAST="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # nbgrader calls alembic
    env.pop("NBGRADER_EXECUTION", None)
    return env


def run_grade(folder: Path, out: Path, *options: str) -> Run:
    """The command as an instructor types it, in its own process, so its terminal output is what we see."""
    command = [sys.executable, "-m", "cnncourse", "grade", str(folder), "--out", str(out), *options]
    done = subprocess.run(command, capture_output=True, text=True, env=environment(), cwd=ROOT, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    return Run(rows, done.stdout, done.stderr, out, folder)


@pytest.fixture(scope="module")
def with_source(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Every case, graded against the solutions, with feedback, marks given by hand and --excel."""
    root = tmp_path_factory.mktemp("with-source")
    folder = root / "submitted"
    write_submissions(folder)
    (folder / "corrupt.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x"', encoding="utf-8")
    marks = root / "marks.csv"
    marks.write_text(MARKS, encoding="utf-8")
    feedback = root / "feedback"
    run = run_grade(folder, root / "grades.csv", "--source", str(ROOT / "solutions"), "--timeout", "120",
                    "--jobs", "2", "--feedback", str(feedback), "--manual", str(marks), "--excel",
                    "--no-progress")
    run.feedback = feedback
    return run


@pytest.fixture(scope="module")
def from_library(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The cheats that edit or move cells, graded without --source (the chapter's checker decides)."""
    root = tmp_path_factory.mktemp("from-library")
    folder = root / "submitted"
    write_submissions(folder, ["honest", "patched_run_check", "bonus_cell", "deleted_check", "reordered_check",
                               "printed_payload"])
    return run_grade(folder, root / "grades.csv", "--timeout", "120", "--jobs", "2")


def points(run: Run, student: str) -> list[str]:
    return [run.rows[student][grade_id] for grade_id in EXERCISES]


# --------------------------------------------------------------------------- honest work and each cheat


def test_honest_work_earns_every_point_and_the_written_mark(with_source: Run) -> None:
    row = with_source.rows["honest"]
    assert points(with_source, "honest") == ["1", "1", "2", "2", "3", "3"]
    assert (row["manual"], row["total"], row["possible"]) == ("1", "13", "13")
    assert (row["status"], row["flags"], row["detail"]) == ("graded", "", "")


def test_the_untouched_stub_earns_nothing_and_is_not_attempted_not_failed(with_source: Run) -> None:
    row = with_source.rows["stub"]
    assert points(with_source, "stub") == ["0"] * 6 and row["total"] == "0"
    assert row["failed"] == "" and row["not attempted"] == "; ".join(EXERCISES)
    assert row["possible"] == "13" and row["manual"] == "0"  # not marked yet: 0 of the written point


def test_failed_and_not_attempted_are_different_columns(with_source: Run) -> None:
    row = with_source.rows["partial"]
    assert points(with_source, "partial") == ["0", "1", "0", "2", "0", "0"]  # the hidden test caught one
    assert row["failed"] == "resnet_conv_output_size; resnet_bottleneck_parameters"
    assert row["not attempted"] == "resnet_basic_block; resnet_bottleneck"
    assert (row["manual"], row["total"]) == ("0.5", "3.5")
    assert row["status"] == "error" and "NameError" in row["detail"]


def test_a_patched_run_check_earns_nothing_and_is_flagged(with_source: Run, from_library: Run) -> None:
    for run in (with_source, from_library):
        row = run.rows["patched_run_check"]
        assert row["total"] == "0", run.out
        assert "touches cnncourse.check" in row["flags"]
        assert "the notebook showed 'passed', the grader's own run found 'not attempted'" in row["flags"]


def test_an_extra_grade_cell_earns_nothing_and_adds_no_column(with_source: Run, from_library: Run) -> None:
    for run in (with_source, from_library):
        row = run.rows["bonus_cell"]
        assert points(run, "bonus_cell") == ["1", "1", "2", "2", "3", "3"]  # the honest work still counts
        assert "bonus_points" not in row
        assert "claims grade id 'bonus_points' (50 points), which the assignment does not have" in row["flags"]
    assert with_source.rows["bonus_cell"]["possible"] == "13"
    assert from_library.rows["bonus_cell"]["possible"] == "12"


def test_a_deleted_check_cell_earns_nothing(with_source: Run, from_library: Run) -> None:
    for run in (with_source, from_library):
        assert points(run, "deleted_check") == ["1", "1", "2", "2", "3", "0"]
        assert "check cells missing: resnet_bottleneck" in run.rows["deleted_check"]["detail"]


def test_a_check_cell_under_another_grade_id_earns_nothing(with_source: Run, from_library: Run) -> None:
    # The metadata of check cells 1 and 6 traded places: with --source each grade id gets its own code
    # back (exercise 6's check now runs before its class exists); without, each cell's run counts only
    # for the exercise it checked, so the swapped pair earns nothing.
    assert points(with_source, "reordered_check") == ["1", "1", "2", "2", "3", "0"]
    assert "not in the assignment's order" in with_source.rows["reordered_check"]["flags"]
    assert points(from_library, "reordered_check") == ["0", "1", "2", "2", "3", "0"]
    flags = from_library.rows["reordered_check"]["flags"]
    assert "resnet_bottleneck: its cell runs the check of resnet_conv_output_size" in flags


def test_payloads_shown_by_hand_earn_nothing(with_source: Run, from_library: Run) -> None:
    for run in (with_source, from_library):
        row = run.rows["printed_payload"]
        assert row["total"] == "0"
        assert "the check result's MIME type" in row["flags"]


def test_a_corrupt_notebook_row_gives_the_reason_without_raw_json(with_source: Run) -> None:
    row = with_source.rows["corrupt"]
    assert row["status"] == "invalid notebook" and row["total"] == "0"
    assert row["detail"].startswith("not a notebook: the file is not valid JSON")
    assert '"cells"' not in row["detail"] and "cell_type" not in row["detail"]


# --------------------------------------------------------------------------- the instructor's files


def test_excel_csv_has_a_bom_and_the_plain_one_has_not(with_source: Run, from_library: Run) -> None:
    assert with_source.out.read_bytes().startswith(b"\xef\xbb\xbfstudent,")
    assert from_library.out.read_bytes().startswith(b"student,")


def test_feedback_has_one_html_per_student_the_written_answers_and_the_marks_table(with_source: Run) -> None:
    feedback = with_source.feedback
    assert feedback is not None
    students = sorted(with_source.rows)
    assert sorted(path.stem for path in feedback.glob("*.html")) == students
    honest = (feedback / "honest.html").read_text(encoding="utf-8")
    assert "13 of 13 points" in honest and "resnet_basic_block" in honest and "3 / 3" in honest
    assert "✓" in honest and "check_basic_block" in honest  # the executed check cell, with its output
    partial = (feedback / "partial.html").read_text(encoding="utf-8")
    assert "✗" in partial and "0 / 1" in partial
    written = (feedback / "written" / f"{WRITTEN}.md").read_text(encoding="utf-8")
    assert "## honest" in written and "F(x) = H(x) − x" in written
    assert "## stub" in written and "*(not answered)*" in written
    with (feedback / "manual.csv").open(encoding="utf-8", newline="") as handle:
        marks = {row["student"]: row[WRITTEN] for row in csv.DictReader(handle)}
    assert marks["honest"] == "1" and marks["partial"] == "0.5" and marks["stub"] == ""
    assert "corrupt" not in marks  # nothing to mark


def test_the_terminal_shows_the_table_not_the_kernels_messages(with_source: Run, from_library: Run) -> None:
    terminal = with_source.stdout + with_source.stderr
    assert "honest" in with_source.stdout and "13/13" in with_source.stdout
    assert "Kernel is running over TCP" not in terminal
    log = (with_source.feedback / "kernels.log").read_text(encoding="utf-8")  # type: ignore[operator]
    assert "grading" in log
    assert "grading: 100%" in from_library.stderr and "6/6" in from_library.stderr  # the progress bar


# --------------------------------------------------------------------------- time limit, dead kernel


def test_a_looping_or_dying_notebook_still_gets_its_row(tmp_path: Path) -> None:
    folder = tmp_path / "submitted"
    folder.mkdir()
    for name, first_cell in [("looping", "while True:\n    pass"), ("dying", "import os\nos._exit(1)")]:
        notebook = nbformat.read(EXERCISE, as_version=4)
        notebook.cells.insert(0, nbformat.v4.new_code_cell(first_cell))
        nbformat.write(notebook, folder / f"{name}.ipynb")
    run = run_grade(folder, tmp_path / "grades.csv", "--source", str(SOLUTION), "--timeout", "5", "--jobs", "2",
                    "--no-progress")
    assert run.rows["looping"]["status"] == "timeout" and "5 s" in run.rows["looping"]["detail"]
    assert run.rows["dying"]["status"] == "kernel died"
    assert run.rows["looping"]["total"] == run.rows["dying"]["total"] == "0"


# --------------------------------------------------------------------------- nbgrader's own autograde

NBGRADER_STUDENTS = ["honest", "stub", "partial", "deleted_check", "reordered_check", "printed_payload",
                     "patched_run_check", "bonus_cell"]


@dataclass
class Autograde:
    scores: dict[str, dict[str, float]]
    output: str


@pytest.fixture(scope="module")
def autograded(with_source: Run, tmp_path_factory: pytest.TempPathFactory) -> Autograde:
    """nbgrader's course folder: the solution notebook as source, the same submissions, autograde."""
    import nbgrader  # noqa: F401  (a test extra, pinned in constraints.txt: a missing install fails here)
    course = tmp_path_factory.mktemp("nbgrader-course")
    (course / "source" / "01_resnet").mkdir(parents=True)
    shutil.copy(SOLUTION, course / "source" / "01_resnet" / "01_resnet.ipynb")
    for student in NBGRADER_STUDENTS:
        target = course / "submitted" / student / "01_resnet"
        target.mkdir(parents=True)
        shutil.copy(with_source.folder / f"{student}.ipynb", target / "01_resnet.ipynb")
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'cnncourse'\n"
        "c.CourseDirectory.db_assignments = [dict(name='01_resnet')]\n"
        f"c.CourseDirectory.db_students = [dict(id=s) for s in {NBGRADER_STUDENTS!r}]\n"
        "c.ExecutePreprocessor.timeout = 120\n",
        encoding="utf-8",
    )
    output = ""
    for step in (["generate_assignment", "01_resnet", "--force"], ["autograde", "01_resnet", "--force"]):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *step], capture_output=True, text=True,
                              env=environment(), cwd=course, timeout=900)
        output += done.stdout + done.stderr
    from nbgrader.api import Gradebook

    scores: dict[str, dict[str, float]] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in NBGRADER_STUDENTS:
            notebook = gradebook.find_submission_notebook("01_resnet", "01_resnet", student)
            scores[student] = {grade.name: grade.score for grade in notebook.grades if grade.name in POINTS}
    return Autograde(scores, output)


@pytest.mark.parametrize("student", ["honest", "stub", "partial", "deleted_check", "reordered_check",
                                     "printed_payload"])
def test_nbgrader_autograde_gives_the_points_grade_gives(
    with_source: Run, autograded: Autograde, student: str
) -> None:
    ours = {grade_id: float(with_source.rows[student][grade_id]) for grade_id in EXERCISES}
    assert autograded.scores[student] == ours


def test_what_nbgrader_cannot_see(autograded: Autograde) -> None:
    # A patched checker runs inside the kernel nbgrader grades in, so nbgrader awards it (grade: 0).
    assert sum(autograded.scores["patched_run_check"].values()) == 12
    # nbgrader refuses a notebook with a grade cell it does not know, honest work and all (grade: 12).
    assert "Cell 'bonus_points' does not exist in the database" in autograded.output
    assert sum(autograded.scores["bonus_cell"].values()) == 0
