"""``python -m cnncourse grade SUBMISSION.ipynb… --out grades.csv``: run submissions, tabulate the checks.

Each submitted notebook runs top to bottom in a fresh Jupyter kernel (nbclient), under a time limit
for the whole notebook. Cells that raise do not stop the run (as in nbgrader's autograder), so one
broken cell costs only the exercises that depend on it.

How results are collected: every check publishes a display output whose bundle holds, next to the
text the student reads, a JSON payload under the MIME type :data:`cnncourse.check.core.MIME_TYPE`.
The grader reads those payloads — only from the check cells themselves (code cells whose nbgrader
metadata says ``grade: true, solution: false``), and only a payload naming that cell's ``grade_id`` —
so printing a look-alike from an answer cell earns nothing. With ``--source`` the check cells are first
replaced by the instructor's version (matched by ``grade_id``), which also restores the hidden tests
that ``assign`` removed and undoes edits to the checks.

An exercise earns its points when every part of its check (the visible one and any hidden tests)
passed; otherwise 0. The CSV has one row per submission (the notebook's file name without suffix, or
its path when names repeat), one column per check with the points earned, ``total`` and ``possible``,
a ``status`` (graded, error, timeout, kernel died, invalid notebook) and a ``detail`` sentence. A
notebook that is not valid JSON, crashes or runs past the time limit still gets its row; the others
are graded as usual. Manually graded written answers are listed in the summary, not scored.
"""

from __future__ import annotations

import argparse
import copy
import csv
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from cnncourse.check.core import MIME_TYPE, PAYLOAD_VERSION, FAIL_MARK, OPEN_MARK, PASS_MARK
from cnncourse.errors import CourseError

STATUS_GRADED = "graded"
STATUS_ERROR = "error"
STATUS_TIMEOUT = "timeout"
STATUS_DEAD = "kernel died"
STATUS_INVALID = "invalid notebook"

STATE_PASSED = "passed"
STATE_FAILED = "failed"
STATE_NOT_ATTEMPTED = "not attempted"
STATE_NOT_RUN = "not run"
STATE_MISSING = "check cell missing"


@dataclass(frozen=True)
class CheckCell:
    """A check cell of a notebook: where it is, its grade id and its points (from nbgrader metadata)."""

    index: int
    grade_id: str
    points: float


@dataclass
class ExerciseGrade:
    grade_id: str
    points_possible: float
    state: str = STATE_NOT_RUN
    points: float = 0.0


@dataclass
class SubmissionGrade:
    path: Path
    student: str = ""
    status: str = STATUS_GRADED
    detail: str = ""
    exercises: dict[str, ExerciseGrade] = field(default_factory=dict)
    manual_answers: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises.values())

    @property
    def possible(self) -> float:
        return sum(e.points_possible for e in self.exercises.values())


# --------------------------------------------------------------------------------------------------
# Reading notebooks
# --------------------------------------------------------------------------------------------------


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _is_check_cell(cell: dict) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def check_cells(notebook: dict) -> list[CheckCell]:
    """The autograded check cells, in notebook order."""
    found = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if _is_check_cell(cell):
            meta = _nbgrader(cell)
            grade_id = str(meta.get("grade_id", f"cell_{index}"))
            found.append(CheckCell(index, grade_id, float(meta.get("points", 0))))
    return found


def manual_answer_ids(notebook: dict) -> list[str]:
    """Grade ids of the written answers a person grades (nbgrader markdown grade + solution cells)."""
    answers = []
    for cell in notebook.get("cells", []):
        meta = _nbgrader(cell)
        if cell.get("cell_type") == "markdown" and meta.get("grade") and meta.get("solution"):
            answers.append(str(meta.get("grade_id")))
    return answers


def _read_submission(path: Path) -> dict:
    """Parse and validate a notebook, or raise ValueError with a short reason."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the file ({error})") from None
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001 — nbformat raises several types for broken files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"not a valid notebook: {reason}") from None
    if not isinstance(notebook.get("cells"), list):
        raise ValueError("not a valid notebook: it has no list of cells")
    return notebook


def restore_checks(submission: dict, source: dict) -> list[str]:
    """Replace the submission's check cells by the source's (same ``grade_id``); return the ids missing.

    The source's version carries the hidden tests; replacing also undoes any edit a student made to a
    check. Checks the submission lacks are reported, not inserted (where would they go?).
    """
    by_id = {
        _nbgrader(cell).get("grade_id"): cell for cell in source.get("cells", []) if _is_check_cell(cell)
    }
    present = set()
    for cell in submission["cells"]:
        grade_id = _nbgrader(cell).get("grade_id")
        if grade_id in by_id and cell.get("cell_type") == "code":
            original = by_id[grade_id]
            cell["source"] = original["source"]
            cell["metadata"] = copy.deepcopy(original["metadata"])
            present.add(grade_id)
    return [grade_id for grade_id in by_id if grade_id not in present]


def _payloads(cell: dict) -> list[dict]:
    found = []
    for output in cell.get("outputs", []):
        if output.get("output_type") not in {"display_data", "execute_result"}:
            continue
        payload = output.get("data", {}).get(MIME_TYPE)
        if isinstance(payload, dict) and payload.get("version") == PAYLOAD_VERSION:
            found.append(payload)
    return found


def _first_error(notebook: dict) -> str:
    for index, cell in enumerate(notebook.get("cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                name = output.get("ename", "an error")
                value = str(output.get("evalue", "")).splitlines()
                return f"cell {index} raised {name}: {value[0]}" if value else f"cell {index} raised {name}"
    return ""


def score(notebook: dict, cells: list[CheckCell], grade: SubmissionGrade) -> None:
    """Fill ``grade.exercises`` from the payloads of the executed check cells."""
    for cell_info in cells:
        exercise = grade.exercises.setdefault(
            cell_info.grade_id, ExerciseGrade(cell_info.grade_id, cell_info.points)
        )
        outputs = _payloads(notebook["cells"][cell_info.index])
        payloads = [p for p in outputs if p.get("exercise") == cell_info.grade_id]
        if not payloads:
            continue  # the cell did not run to its check (an error before it, or the time ran out)
        parts: dict[str, str] = {}
        for payload in payloads:  # a part checked twice in the cell: the last run counts
            parts[str(payload.get("part", "main"))] = str(payload.get("status"))
        if any(status == STATE_NOT_ATTEMPTED for status in parts.values()):
            exercise.state = STATE_NOT_ATTEMPTED
        elif all(status == STATE_PASSED for status in parts.values()):
            exercise.state = STATE_PASSED
            exercise.points = exercise.points_possible
        else:
            exercise.state = STATE_FAILED


# --------------------------------------------------------------------------------------------------
# Running one submission
# --------------------------------------------------------------------------------------------------


def _source_for(submission: dict, source: Path | None) -> dict | None:
    """The instructor's notebook for ``submission``: ``source`` itself, or the one in the ``source`` folder
    that its metadata names (``assign`` writes it) or, failing that, the one whose check cells it shares."""
    if source is None:
        return None
    if source.is_file():
        return _read_submission(source)
    assignment = submission.get("metadata", {}).get("cnncourse", {}).get("assignment")
    if assignment:
        path = source / f"{assignment}.ipynb"
        if not path.exists():
            raise ValueError(f"no solution notebook {path} for its assignment {assignment!r}")
        return _read_submission(path)
    own_checks = {cell.grade_id for cell in check_cells(submission)}
    sharing = []
    for path in sorted(source.glob("*.ipynb")):
        candidate = _read_submission(path)
        if own_checks & {cell.grade_id for cell in check_cells(candidate)}:
            sharing.append(candidate)
    if len(sharing) != 1:
        raise ValueError(
            "cannot tell which solution notebook it belongs to (no metadata.cnncourse.assignment, and "
            f"{len(sharing)} notebooks in {source} share its check cells); pass the solution file as --source"
        )
    return sharing[0]


def grade_submission(
    path: Path, *, timeout: float, source: Path | None = None, kernel_name: str = "python3"
) -> SubmissionGrade:
    """Run one notebook in a fresh kernel and score its checks. Never raises for a bad submission."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    grade = SubmissionGrade(path)
    try:
        notebook = _read_submission(path)
    except ValueError as error:
        grade.status, grade.detail = STATUS_INVALID, str(error)
        return grade
    try:
        solution = _source_for(notebook, source)
    except (ValueError, CourseError) as error:
        grade.status, grade.detail = STATUS_ERROR, f"not graded: {error}"
        return grade
    missing: list[str] = []
    if solution is not None:
        missing = restore_checks(notebook, solution)
    cells = check_cells(notebook)
    for cell_info in cells:
        grade.exercises[cell_info.grade_id] = ExerciseGrade(cell_info.grade_id, cell_info.points)
    if solution is not None:  # checks the student deleted still count as possible points
        for cell_info in check_cells(solution):
            if cell_info.grade_id in missing:
                grade.exercises[cell_info.grade_id] = ExerciseGrade(
                    cell_info.grade_id, cell_info.points, STATE_MISSING
                )
    grade.manual_answers = manual_answer_ids(notebook)
    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None

    deadline: list[float] = []

    def remaining_seconds(cell: object) -> int:
        if not deadline:  # the limit counts from the first cell, not from the kernel's start-up
            deadline.append(time.monotonic() + timeout)
        return max(1, round(deadline[0] - time.monotonic()))

    client = NotebookClient(
        notebook,
        timeout_func=remaining_seconds,
        allow_errors=True,
        kernel_name=kernel_name,
        startup_timeout=120,
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    try:
        client.execute()
    except CellTimeoutError:
        grade.status, grade.detail = STATUS_TIMEOUT, f"still running after {timeout:g} s; stopped it"
    except DeadKernelError:
        grade.status, grade.detail = STATUS_DEAD, "the kernel died (the notebook exited or ran out of memory)"
    except Exception as error:  # noqa: BLE001 — a kernel that cannot start is reported, not raised
        grade.status, grade.detail = STATUS_ERROR, f"could not run it: {type(error).__name__}: {error}"
    score(notebook, cells, grade)
    if grade.status == STATUS_GRADED:
        error_text = _first_error(notebook)
        if error_text:
            grade.status, grade.detail = STATUS_ERROR, error_text
    if missing:
        note = "check cells missing: " + ", ".join(missing)
        grade.detail = f"{grade.detail}; {note}" if grade.detail else note
    return grade


# --------------------------------------------------------------------------------------------------
# Many submissions: names, the table, the summary
# --------------------------------------------------------------------------------------------------


def collect_submissions(paths: list[Path]) -> list[Path]:
    """Expand folders to the notebooks inside (skipping Jupyter's checkpoints); keep files as given."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
        elif path.exists():
            found.append(path)
        else:
            raise CourseError(f"Submission {path} does not exist.")
    if not found:
        raise CourseError("No notebooks to grade: pass submission .ipynb files or folders that hold them.")
    unique = list(dict.fromkeys(p.resolve() for p in found))
    return [Path(p) for p in unique]


def student_names(paths: list[Path]) -> list[str]:
    """The file stem; where stems repeat (alice/ps1.ipynb, bob/ps1.ipynb), the path from the common folder."""
    stems = [p.stem for p in paths]
    if len(set(stems)) == len(stems):
        return stems
    import os

    common = Path(os.path.commonpath([str(p.parent) for p in paths]))
    return [p.relative_to(common).with_suffix("").as_posix() for p in paths]


def _columns(grades: list[SubmissionGrade]) -> list[str]:
    columns: dict[str, None] = {}
    for grade in grades:
        for grade_id in grade.exercises:
            columns.setdefault(grade_id, None)
    return list(columns)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def write_csv(grades: list[SubmissionGrade], out: Path) -> None:
    columns = _columns(grades)
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "status", *columns, "total", "possible", "detail"])
        for grade in grades:
            row = [grade.student, grade.status]
            row += [_number(grade.exercises[c].points) if c in grade.exercises else "" for c in columns]
            row += [_number(grade.total), _number(grade.possible), grade.detail]
            writer.writerow(row)


def summary_text(grades: list[SubmissionGrade]) -> str:
    columns = _columns(grades)
    marks = {STATE_PASSED: PASS_MARK, STATE_FAILED: FAIL_MARK}
    width = max([len("student")] + [len(g.student) for g in grades])
    numbers = " ".join(f"{i + 1:>2}" for i in range(len(columns)))
    header = f"{'student'.ljust(width)}  {'points':>9}  {numbers}"
    lines = [header + "  status"]
    for grade in grades:
        cells = " ".join(
            f"{marks.get(grade.exercises[c].state, OPEN_MARK) if c in grade.exercises else ' ':>2}"
            for c in columns
        )
        points = f"{_number(grade.total)}/{_number(grade.possible)}"
        status = grade.status + (f" — {grade.detail}" if grade.detail else "")
        lines.append(f"{grade.student.ljust(width)}  {points:>9}  {cells}  {status}")
    lines.append("")
    lines.append(
        f"checks: {PASS_MARK} passed, {FAIL_MARK} failed, {OPEN_MARK} not attempted / not run / missing"
    )
    for number, grade_id in enumerate(columns, start=1):
        lines.append(f"  {number:>2} = {grade_id}")
    manual = sorted({answer for g in grades for answer in g.manual_answers})
    if manual:
        lines.append("written answers to grade by hand (not in the totals): " + ", ".join(manual))
    return "\n".join(lines)


def grade_all(
    paths: list[Path],
    *,
    timeout: float,
    source: Path | None = None,
    jobs: int = 1,
    kernel_name: str = "python3",
) -> list[SubmissionGrade]:
    """Grade every notebook (``jobs`` at a time, each in its own kernel), in the order given."""
    submissions = collect_submissions(paths)

    def one(path: Path) -> SubmissionGrade:
        return grade_submission(path, timeout=timeout, source=source, kernel_name=kernel_name)

    if jobs <= 1:
        grades = [one(path) for path in submissions]
    else:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            grades = list(pool.map(one, submissions))
    for grade, name in zip(grades, student_names(submissions)):
        grade.student = name
    return grades


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse grade",
        description="Run submitted exercise notebooks in fresh kernels and write a table of the points "
        "their checks earn.",
    )
    parser.add_argument("submissions", nargs="+", type=Path, help="submitted .ipynb files or folders of them")
    parser.add_argument("--out", type=Path, required=True, help="CSV file to write (one row per submission)")
    parser.add_argument(
        "--source",
        type=Path,
        help="the solution notebook, or the solutions folder: restores the check cells and their "
        "hidden tests",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds allowed per notebook, counted from its first cell (default 300)",
    )
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at the same time (default 1)")
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel name (default python3)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        raise CourseError("--timeout must be a positive number of seconds.")
    if args.jobs < 1:
        raise CourseError("--jobs must be at least 1.")
    if args.source is not None and not args.source.exists():
        raise CourseError(f"--source {args.source} does not exist: pass the solutions folder or notebook.")
    grades = grade_all(
        args.submissions, timeout=args.timeout, source=args.source, jobs=args.jobs, kernel_name=args.kernel
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv(grades, args.out)
    print(summary_text(grades))
    if args.source is None:
        print("note: without --source, hidden tests are not run and the check cells are graded as submitted.")
    print(f"wrote {args.out} ({len(grades)} submissions)")
    return 0
