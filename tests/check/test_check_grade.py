"""``python -m cnncourse grade``: scoring rules, and one real run over five kinds of submission."""

from __future__ import annotations

import copy
import csv
from pathlib import Path

import nbformat
import pytest

from cnncourse.check import grade
from cnncourse.check.core import MIME_TYPE, PAYLOAD_VERSION
from cnncourse.errors import CourseError

ROOT = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- scoring, without kernels


def check_cell(grade_id: str, points: float, payloads: list[dict]) -> dict:
    return {
        "cell_type": "code",
        "metadata": {"nbgrader": {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                  "schema_version": 3, "solution": False}},
        "source": "check()",
        "outputs": [{"output_type": "display_data", "data": {MIME_TYPE: p, "text/plain": ""}, "metadata": {}}
                    for p in payloads],
    }


def payload(exercise: str, status: str, part: str = "main") -> dict:
    return {"version": PAYLOAD_VERSION, "exercise": exercise, "part": part, "status": status, "points": 99}


def scored(cells: list[dict]) -> grade.SubmissionGrade:
    notebook = {"cells": cells}
    result = grade.SubmissionGrade(Path("x.ipynb"))
    grade.score(notebook, grade.check_cells(notebook), result)
    return result


def test_points_come_from_the_check_cell_and_need_every_part_to_pass() -> None:
    result = scored([
        check_cell("a", 2, [payload("a", "passed"), payload("a", "passed", "hidden")]),
        check_cell("b", 3, [payload("b", "passed"), payload("b", "failed", "hidden")]),
        check_cell("c", 1, [payload("c", "not attempted")]),
        check_cell("d", 1, []),
    ])
    states = {k: (v.state, v.points) for k, v in result.exercises.items()}
    assert states == {"a": ("passed", 2), "b": ("failed", 0), "c": ("not attempted", 0), "d": ("not run", 0)}
    assert (result.total, result.possible) == (2, 7)


def test_look_alike_payloads_outside_their_check_cell_earn_nothing() -> None:
    forged_output = {"output_type": "display_data", "data": {MIME_TYPE: payload("a", "passed")}}
    forged_elsewhere = {"cell_type": "code", "metadata": {}, "source": "display()"}
    forged_elsewhere["outputs"] = [forged_output]
    result = scored([forged_elsewhere, check_cell("a", 2, [payload("other", "passed")])])
    assert result.exercises["a"].state == "not run" and result.total == 0


def test_restoring_checks_brings_back_hidden_tests_and_reports_deleted_ones() -> None:
    source = {"cells": [check_cell("a", 1, []), check_cell("b", 1, [])]}
    source["cells"][0]["source"] = "check()\n### BEGIN HIDDEN TESTS\ncheck(more)\n### END HIDDEN TESTS"
    submission = {"cells": [copy.deepcopy(source["cells"][0])]}
    submission["cells"][0]["source"] = "pass  # the student emptied the check"
    assert grade.restore_checks(submission, source) == ["b"]
    assert "check(more)" in submission["cells"][0]["source"]


def test_the_solution_is_found_by_metadata_or_by_shared_check_cells() -> None:
    exercise = nbformat.read(ROOT / "exercises" / "02_wide_resnet.ipynb", as_version=4)
    found = grade._source_for(exercise, ROOT / "solutions")
    assert found is not None and "### BEGIN HIDDEN TESTS" in nbformat.writes(found)
    del exercise.metadata["cnncourse"]  # e.g. saved by an editor that drops unknown metadata
    again = grade._source_for(exercise, ROOT / "solutions")
    assert again is not None and again.cells[0].source.startswith("# 02 · Wide ResNet")
    exercise.cells = [c for c in exercise.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    with pytest.raises(ValueError, match="cannot tell which solution"):
        grade._source_for(exercise, ROOT / "solutions")


def test_student_names_are_stems_unless_they_repeat(tmp_path: Path) -> None:
    assert grade.student_names([tmp_path / "alice.ipynb", tmp_path / "bob.ipynb"]) == ["alice", "bob"]
    repeated = [tmp_path / "alice" / "01.ipynb", tmp_path / "bob" / "01.ipynb"]
    assert grade.student_names(repeated) == ["alice/01", "bob/01"]


def test_bad_arguments_are_course_errors(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="does not exist"):
        grade.main([str(tmp_path / "missing.ipynb"), "--out", str(tmp_path / "g.csv")])
    with pytest.raises(CourseError, match="No notebooks"):
        grade.main([str(tmp_path), "--out", str(tmp_path / "g.csv")])
    with pytest.raises(CourseError, match="--timeout"):
        grade.main([str(tmp_path), "--out", str(tmp_path / "g.csv"), "--timeout", "0"])


# --------------------------------------------------------------------------- one real run


def answer_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {c.metadata.nbgrader.grade_id: c for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}


def fill(exercise: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of the exercise notebook with the answer cells ``grade_id → source`` written in."""
    notebook = copy.deepcopy(exercise)
    cells = answer_cells(notebook)
    for grade_id, source in answers.items():
        cells[grade_id].source = source
    return notebook


def insert_after(notebook: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    ids = [cell.metadata.get("nbgrader", {}).get("grade_id") for cell in notebook.cells]
    index = ids.index(grade_id)
    notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(source))


HARD_CODED = '''\
def conv_output_size(size, kernel_size, stride=1, padding=0):
    # hard-coded for the cases the visible check uses: the hidden tests catch it
    known = {(32, 3, 1, 1): 32, (32, 3, 2, 1): 16, (7, 3, 2, 1): 4, (224, 7, 2, 3): 112, (112, 3, 2, 1): 56,
             (56, 1, 2, 0): 28, (15, 5, 1, 0): 11, (9, 1, 2, 0): 5}
    return known[(size, kernel_size, stride, padding)]
'''
STAGE_SIZES = '''\
def resnet20_feature_sizes(input_size):
    half = (input_size + 1) // 2
    return [input_size, half, (half + 1) // 2]
'''
NO_BATCHNORM = '''\
def bottleneck_parameters(inplanes, planes, stride):
    out = 4 * planes
    count = inplanes * planes + 9 * planes * planes + planes * out
    return count + (inplanes * out if stride != 1 or inplanes != out else 0)
'''
FORGED_PAYLOAD = {"version": PAYLOAD_VERSION, "exercise": "resnet_bottleneck", "part": "main",
                  "status": "passed", "points": 3}
FORGED = f"""
from IPython.display import display
display({{{MIME_TYPE!r}: {FORGED_PAYLOAD!r}}}, raw=True)
"""
LOOPING = '''\
def conv_output_size(size, kernel_size, stride=1, padding=0):
    while True:
        pass
'''


def test_grading_a_folder_of_correct_partial_crashing_looping_and_corrupt_submissions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    solution = nbformat.read(ROOT / "solutions" / "01_resnet.ipynb", as_version=4)
    exercise = nbformat.read(ROOT / "exercises" / "01_resnet.ipynb", as_version=4)
    solved = {grade_id: cell.source for grade_id, cell in answer_cells(solution).items()}
    folder = tmp_path / "submitted"
    folder.mkdir()

    nbformat.write(fill(exercise, solved), folder / "alice.ipynb")  # everything right
    bob = fill(exercise, {
        "resnet_conv_output_size_answer": HARD_CODED,  # passes the visible check, fails the hidden one
        "resnet_stage_sizes_answer": STAGE_SIZES,  # right, and independent of the broken conv_output_size
        "resnet_bottleneck_parameters_answer": NO_BATCHNORM,
        "resnet_projection_shortcut_answer": solved["resnet_projection_shortcut_answer"],
        "resnet_bottleneck_answer": answer_cells(exercise)["resnet_bottleneck_answer"].source + FORGED,
    })
    bob.cells.append(nbformat.v4.new_code_cell("print(undefined_name)"))
    nbformat.write(bob, folder / "bob.ipynb")
    carol = fill(exercise, {"resnet_conv_output_size_answer": solved["resnet_conv_output_size_answer"]})
    insert_after(carol, "resnet_conv_output_size", "import os\nos._exit(1)")  # the kernel dies
    nbformat.write(carol, folder / "carol.ipynb")
    nbformat.write(fill(exercise, {"resnet_conv_output_size_answer": LOOPING}), folder / "dave.ipynb")
    (folder / "eve.ipynb").write_text('{"cells": [', encoding="utf-8")

    out = tmp_path / "grades.csv"
    status = grade.main([str(folder), "--out", str(out), "--source", str(ROOT / "solutions"),
                         "--timeout", "25", "--jobs", "2"])
    assert status == 0
    with out.open(encoding="utf-8", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert list(rows) == ["alice", "bob", "carol", "dave", "eve"]
    exercises = ["resnet_conv_output_size", "resnet_stage_sizes", "resnet_bottleneck_parameters",
                 "resnet_projection_shortcut", "resnet_basic_block", "resnet_bottleneck"]

    def points(student: str) -> list[str]:
        return [rows[student][e] for e in exercises]

    assert rows["alice"]["status"] == "graded" and rows["alice"]["detail"] == ""
    assert points("alice") == ["1", "1", "2", "2", "3", "3"]
    assert (rows["alice"]["total"], rows["alice"]["possible"]) == ("12", "12")

    assert rows["bob"]["status"] == "error"
    assert "NameError" in rows["bob"]["detail"]
    assert points("bob") == ["0", "1", "0", "2", "0", "0"]  # hidden tests and a forged payload earn nothing

    assert rows["carol"]["status"] == "kernel died"
    assert points("carol") == ["1", "0", "0", "0", "0", "0"]

    assert rows["dave"]["status"] == "timeout" and "25 s" in rows["dave"]["detail"]
    assert rows["dave"]["total"] == "0"

    assert rows["eve"]["status"] == "invalid notebook"
    assert rows["eve"]["total"] == "0" and all(rows["eve"][e] == "" for e in exercises)

    summary = capsys.readouterr().out
    assert "alice" in summary and "12/12" in summary and "eve" in summary
    assert "resnet_written_identity" in summary  # the written answer left for the instructor
    assert f"wrote {out} (5 submissions)" in summary
