"""``python -m cnncourse grade`` without kernels: what counts, reading notebooks, the table and marks.

The runs over real submissions (honest work, each cheat, nbgrader's autograde) are in
test_check_grading_run.py.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
import pytest

from cnncourse.check import grade
from cnncourse.check.core import MIME_TYPE, PAYLOAD_VERSION
from cnncourse.errors import CourseError

ROOT = Path(__file__).resolve().parents[2]


def check_cell(grade_id: str, points: float, payloads: list[dict], source: str = "check()") -> dict:
    return {
        "cell_type": "code",
        "metadata": {"nbgrader": {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                                  "schema_version": 3, "solution": False}},
        "source": source,
        "outputs": [{"output_type": "display_data", "data": {MIME_TYPE: p, "text/plain": ""}, "metadata": {}}
                    for p in payloads],
    }


def payload(exercise: str, status: str, part: str = "main") -> dict:
    return {"version": PAYLOAD_VERSION, "exercise": exercise, "part": part, "status": status, "points": 99}


# --------------------------------------------------------------------------- what counts


def test_an_exercise_passes_only_when_every_part_passed() -> None:
    parts = grade._parts([payload("a", "passed"), payload("a", "failed", "hidden"), payload("b", "passed")], "a")
    assert grade._state_of(parts) == "failed"
    assert grade._state_of(grade._parts([payload("a", "passed"), payload("a", "passed", "hidden")], "a")) == "passed"
    assert grade._state_of({"main": "passed", "hidden": "not attempted"}) == "not attempted"
    assert grade._state_of({"hidden": "passed"}) == "failed"  # the visible check never ran
    assert grade._state_of({}) == "not run"


def test_what_a_cell_displayed_counts_only_for_its_own_grade_id() -> None:
    cell = check_cell("a", 2, [payload("other", "passed")])
    assert grade.displayed_state(cell, "a") == "not run"
    cell["outputs"].append({"output_type": "stream", "name": "stdout", "text": str(payload("a", "passed"))})
    assert grade.displayed_state(cell, "a") == "not run"  # a payload printed as text is not a payload


def test_restoring_checks_brings_back_hidden_tests_and_reports_deleted_ones() -> None:
    source = {"cells": [check_cell("a", 1, []), check_cell("b", 1, [])]}
    source["cells"][0]["source"] = "check()\n### BEGIN HIDDEN TESTS\ncheck(more)\n### END HIDDEN TESTS"
    submission = {"cells": [copy.deepcopy(source["cells"][0])]}
    submission["cells"][0]["source"] = "pass  # the student emptied the check"
    assert grade.restore_checks(submission, source) == ["b"]
    assert "check(more)" in submission["cells"][0]["source"]


def test_the_assignment_comes_from_the_source_not_the_submission() -> None:
    solution = nbformat.read(ROOT / "solutions" / "01_resnet.ipynb", as_version=4)
    assignment = grade.assignment_from_source(solution, "01_resnet")
    assert assignment.checks == {"resnet_conv_output_size": 1, "resnet_stage_sizes": 1,
                                 "resnet_bottleneck_parameters": 2, "resnet_projection_shortcut": 2,
                                 "resnet_basic_block": 3, "resnet_bottleneck": 3}
    assert assignment.written == {"resnet_written_identity": 1}
    assert assignment.bindings == {"checks": "cnncourse.check.resnet"}
    assert "### BEGIN HIDDEN TESTS" in assignment.trusted_code["resnet_conv_output_size"]  # type: ignore[index]

    exercise = nbformat.read(ROOT / "exercises" / "01_resnet.ipynb", as_version=4)
    exercise.cells.append(nbformat.from_dict(check_cell("bonus_points", 50, [])))
    from_library = grade.assignment_from_library(exercise)
    assert from_library.checks == assignment.checks and from_library.trusted_code is None
    exercise.cells = [cell for cell in exercise.cells if "from cnncourse.check import" not in cell.source]
    with pytest.raises(ValueError, match="cannot tell which chapter"):
        grade.assignment_from_library(exercise)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("checks.check_groups(wrn_groups)", None),
        ("# a comment\nchecks.check_groups(wrn_groups)\nchecks.check_groups(wrn_groups)", None),
        ("checks.check_groups(wrn_groups, ((16, 4),))", "not a call of a check function"),  # own cases
        ("checks.check_groups(wrn_groups, part='hidden')", "not a call of a check function"),
        ("checks.check_groups(reference.wrn_groups)", "not a call of a check function"),
        ("other.check_groups(wrn_groups)", "not a call of a check function"),
        ("checks.summary()", "not a call of a check function"),
        ("print('✓ passed')", "not a call of a check function"),
        ("checks.check_groups(", "not valid Python"),
    ],
)
def test_without_source_a_check_cell_counts_only_as_handed_out(code: str, problem: str | None) -> None:
    reason = grade.validated_check_code(code, {"checks": "cnncourse.check.wide_resnet"})
    assert reason is None if problem is None else problem in (reason or "")


def test_cells_that_touch_the_checker_or_the_import_machinery_are_flagged() -> None:
    def cell(source: str, solution: bool = True) -> dict:
        meta = {"nbgrader": {"grade": False, "grade_id": "answer", "solution": True}} if solution else {}
        return {"cell_type": "code", "metadata": meta, "source": source, "outputs": []}

    notebook = {"cells": [
        cell("from cnncourse.check import resnet as checks", solution=False),  # the set-up cell: fine
        cell("checks.summary()", solution=False),  # the closing cell: fine
        cell("def f(x):\n    return x + 1"),  # an honest answer: fine
        cell("import cnncourse.check.core as c\nc.run_check = None"),
        cell("checks.check_conv_output_size = print"),
        cell("import sys\nsys.modules['cnncourse.check.core'] = None"),
        cell(f"display({{'{MIME_TYPE}': {{}}}}, raw=True)"),
        cell("exec('import sys')"),
    ]}
    assignment = grade.Assignment("01", {}, None, {"checks": "cnncourse.check.resnet"}, {})
    flags = grade._suspicious_cells(notebook, assignment)
    assert [flag.split(" ")[1] for flag in flags] == ["3", "4", "5", "6", "7"]
    assert "touches cnncourse.check" in flags[0] and "touches cnncourse.check" in flags[1]
    assert "sys.modules" in flags[2] and "MIME type" in flags[3] and "exec/eval" in flags[4]


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


# --------------------------------------------------------------------------- reading notebooks


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b'{"cells": [{"cell_type": "code", "source": "x = {1: 2}"', "the file is not valid JSON (Expecting"),
        (b"\xff\xfe not text", "the file is not UTF-8 text"),
        (b'{"metadata": {}}', "it has no list of cells"),
        (b'{"cells": []}', "it does not say which nbformat version it is"),
        (b'{"cells": [{"cell_type": "code", "source": "x = {1: 2}"}], "metadata": {}, "nbformat": 4, '
         b'"nbformat_minor": 5}', "not a notebook: "),
    ],
)
def test_a_corrupt_notebook_is_named_with_a_short_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_bytes(content)
    result = grade.grade_submission(path, timeout=5)
    assert result.status == "invalid notebook"
    assert result.detail.startswith("not a notebook: ") and reason in result.detail
    assert "x = {1: 2}" not in result.detail and len(result.detail) < 200


# --------------------------------------------------------------------------- the table, names, marks


def graded(student: str, states: dict[str, tuple[str, float, float]], **fields: object) -> grade.SubmissionGrade:
    result = grade.SubmissionGrade(Path(f"{student}.ipynb"), student=student, **fields)  # type: ignore[arg-type]
    for grade_id, (state, earned, possible) in states.items():
        result.exercises[grade_id] = grade.ExerciseGrade(grade_id, possible, state, earned)
    return result


def test_the_summary_aligns_wide_japanese_names() -> None:
    grades = [
        graded("山田太郎", {"a": ("passed", 1, 1), "b": ("failed", 0, 2)}),
        graded("alice", {"a": ("not attempted", 0, 1), "b": ("passed", 2, 2)}),
        graded("ｶﾀｶﾅ", {"a": ("passed", 1, 1), "b": ("passed", 2, 2)}),  # half-width katakana: 1 column each
    ]
    lines = grade.summary_text(grades).splitlines()[:4]
    assert grade.display_width("山田太郎") == 8 and grade.display_width("ｶﾀｶﾅ") == 4
    columns = {grade.display_width(line[: line.index("/") - 1]) for line in lines[1:]}
    assert len(columns) == 1  # the points column starts at the same terminal column on every row
    assert "✓  ✗" in lines[1] and "·  ✓" in lines[2]


def test_excel_csv_starts_with_a_bom_and_keeps_failed_apart_from_not_attempted(tmp_path: Path) -> None:
    grades = [graded("山田", {"a": ("failed", 0, 1), "b": ("not attempted", 0, 2), "c": ("passed", 3, 3)})]
    grade.write_csv(grades, tmp_path / "excel.csv", excel=True)
    grade.write_csv(grades, tmp_path / "plain.csv")
    assert (tmp_path / "excel.csv").read_bytes().startswith("\ufeffstudent,".encode())
    plain = (tmp_path / "plain.csv").read_text(encoding="utf-8")
    assert plain.startswith("student,status,a,b,c,manual,total,possible,failed,not attempted,flags,detail")
    assert "山田,graded,0,0,3,,3,6,a,b,," in plain


def test_marks_by_hand_count_in_the_total_for_everyone(tmp_path: Path) -> None:
    written = {"essay": 2.0}
    grades = [graded("alice", {"a": ("passed", 1, 1)}, written=dict(written)),
              graded("bob", {"a": ("failed", 0, 1)}, written=dict(written))]
    marks = tmp_path / "marks.csv"
    marks.write_text("\ufeffstudent,essay\nalice,1.5\nbob,\n", encoding="utf-8")
    grade.apply_manual(grades, marks)
    assert [(g.total, g.possible) for g in grades] == [(2.5, 3.0), (0.0, 3.0)]  # bob's essay: not marked yet

    for text, message in [
        ("name,essay\nalice,1\n", "starting with 'student'"),
        ("student,poem\nalice,1\n", "poem is not a written answer"),
        ("student,essay\ncarol,1\n", "no submission is called 'carol'"),
        ("student,essay\nalice,three\n", "is not a number"),
        ("student,essay\nalice,5\n", "outside 0–2 points"),
    ]:
        marks.write_text(text, encoding="utf-8")
        with pytest.raises(CourseError, match=message):
            grade.apply_manual(grades, marks)


def test_student_names_are_stems_unless_they_repeat(tmp_path: Path) -> None:
    assert grade.student_names([tmp_path / "alice.ipynb", tmp_path / "bob.ipynb"]) == ["alice", "bob"]
    repeated = [tmp_path / "alice" / "01.ipynb", tmp_path / "bob" / "01.ipynb"]
    assert grade.student_names(repeated) == ["alice/01", "bob/01"]


def test_bad_arguments_are_course_errors(tmp_path: Path) -> None:
    out = str(tmp_path / "g.csv")
    with pytest.raises(CourseError, match="does not exist"):
        grade.main([str(tmp_path / "missing.ipynb"), "--out", out])
    with pytest.raises(CourseError, match="No notebooks"):
        grade.main([str(tmp_path), "--out", out])
    with pytest.raises(CourseError, match="--timeout"):
        grade.main([str(tmp_path), "--out", out, "--timeout", "0"])
    with pytest.raises(CourseError, match="--manual .* does not exist"):
        grade.main([str(tmp_path), "--out", out, "--manual", str(tmp_path / "marks.csv")])
