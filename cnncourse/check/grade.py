"""``python -m cnncourse grade SUBMISSION.ipynb… --out grades.csv``: run submissions, tabulate the checks.

Each submitted notebook runs top to bottom in a fresh Jupyter kernel (nbclient), under a time limit
for the whole notebook. Cells that raise do not stop the run (as in nbgrader's autograder), so one
broken cell costs only the exercises that depend on it.

Where the points come from — checks the student's code cannot reach:

* **The assignment, not the submission, says what counts.** With ``--source`` the exercises and their
  points are the check cells of the instructor's notebook (their code replaces the submission's, which
  also restores the hidden tests that ``assign`` removed); without it, the exercises of the chapter's
  checker module (its ``CHAPTER``), and a check cell counts only while its code is still nothing but
  calls of that module's ``check_…`` functions. A cell claiming another grade id (say ``bonus_points``,
  50 points) earns nothing and adds no column; a deleted check cell earns 0 of its points.
* **The grader runs every check again itself.** Right after each check cell, the grader runs a cell of
  its own (not stored in the notebook, not in the kernel's history) that sets aside every ``cnncourse``
  module the notebook has loaded, imports the library afresh from the installed files, runs the trusted
  code of that check on the student's objects, writes the results to a file only this run knows, and
  puts the notebook's own modules back. A student's patch of ``run_check``, of the payload or of the
  display machinery changes what the notebook *shows*, not what the grader collects. An argument that
  is not code written in the notebook (e.g. the library's own reference passed off as the answer)
  fails the check.
* **What the notebook displayed is compared with what the grader found**; a difference is reported
  under ``flags``. So is every student cell that touches ``cnncourse.check``, the result MIME type,
  ``sys.modules``, ``importlib`` or ``builtins``, and every grade cell the assignment does not have.

This is a defence against editing and patching the checker, not a sandbox: code that sets out to
attack the grading process itself (reading its memory, rewriting the installed library, patching
``torch``) can still do harm. Grade untrusted code in a container, as for any autograder.

An exercise earns its points when every part of its check (the visible one and any hidden tests)
passed in the grader's own run; otherwise 0. The CSV has one row per submission (the notebook's file
name without suffix, or its path when names repeat), one column per exercise with the points earned,
``manual`` (points given by hand with ``--manual``), ``total``, ``possible``, the exercises that
``failed`` and those ``not attempted`` (kept apart: a stub is not a wrong answer), ``flags``, a
``status`` (graded, error, timeout, kernel died, invalid notebook) and a ``detail`` sentence. A
notebook that is not valid JSON, crashes or runs past the time limit still gets its row.

``--feedback DIR`` writes, per submission, the executed notebook as HTML (its ✓ / ✗ lines, with the
points per exercise on top), ``DIR/written/<grade id>.md`` with every student's written answer to that
question for marking, and ``DIR/manual.csv``, a table to fill in and pass back with ``--manual``.
Kernel messages go to ``DIR/kernels.log`` (or next to ``--out``), not to the terminal.
"""

from __future__ import annotations

import argparse
import ast
import copy
import csv
import json
import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from cnncourse.check.core import FAIL_MARK, MIME_TYPE, NBGRADER_ENVIRONMENT, OPEN_MARK, PASS_MARK, PAYLOAD_VERSION
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
STATE_EDITED = "check cell edited"

#: What a student cell must not touch; a cell that does is named under ``flags``.
SUSPICIOUS = (
    (re.compile(r"cnncourse\s*\.\s*check|from\s+cnncourse\s+import\s+check"), "cnncourse.check"),
    (re.compile(re.escape(MIME_TYPE.split("+")[0]) + r"|vnd\.cnncourse"), "the check result's MIME type"),
    (re.compile(r"sys\s*\.\s*(modules|meta_path|path_hooks)"), "sys.modules"),
    (re.compile(r"\bimportlib\b|__import__"), "importlib"),
    (re.compile(r"\bbuiltins\b|__builtins__"), "builtins"),
    (re.compile(r"(?<![\w.])(exec|eval)\s*\("), "exec/eval (code the grader cannot read)"),
)
#: The lines of the course's own set-up cells that name the checker and are fine in any cell.
_ALLOWED_CHECKER_LINE = re.compile(r"^\s*from\s+cnncourse\.check\s+import\s+\w+(\s+as\s+\w+)?\s*(#.*)?$")
_CHECK_FUNCTION = re.compile(r"^check_\w+$")
_NOT_ANSWERED = "YOUR ANSWER HERE"


# --------------------------------------------------------------------------------------------------
# What is graded
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckCell:
    """A check cell of a notebook: where it is, its grade id and its points (from nbgrader metadata)."""

    index: int
    grade_id: str
    points: float


@dataclass(frozen=True)
class Assignment:
    """What a submission is graded against, taken from the instructor's side, never from the submission.

    ``checks`` maps each autograded grade id to its points, in notebook order; ``trusted_code`` its
    check code (``--source``), or None where the submission's cell must be validated first; ``bindings``
    the names the check code calls the checker modules by (``checks`` → ``cnncourse.check.resnet``);
    ``written`` the manually graded answers and their points.
    """

    name: str
    checks: dict[str, float]
    trusted_code: dict[str, str] | None
    bindings: dict[str, str]
    written: dict[str, float]
    instructor_cells: frozenset[str] = frozenset()


@dataclass
class ExerciseGrade:
    grade_id: str
    points_possible: float
    state: str = STATE_NOT_RUN
    points: float = 0.0
    displayed: str = ""  # the state the notebook itself showed, for comparison


@dataclass
class SubmissionGrade:
    path: Path
    student: str = ""
    status: str = STATUS_GRADED
    detail: str = ""
    exercises: dict[str, ExerciseGrade] = field(default_factory=dict)
    manual_answers: list[str] = field(default_factory=list)
    written: dict[str, float] = field(default_factory=dict)  # manually graded answers → points possible
    written_text: dict[str, str] = field(default_factory=dict)
    manual: dict[str, float] = field(default_factory=dict)  # points given by hand
    marked_by_hand: bool = False  # --manual was given: the written answers count in the totals
    flags: list[str] = field(default_factory=list)
    executed: dict | None = None  # the executed notebook, for feedback

    @property
    def total(self) -> float:
        return sum(e.points for e in self.exercises.values()) + sum(self.manual.values())

    @property
    def possible(self) -> float:
        automatic = sum(e.points_possible for e in self.exercises.values())
        return automatic + (sum(self.written.values()) if self.marked_by_hand else 0)

    def exercises_in(self, state: str) -> list[str]:
        return [grade_id for grade_id, e in self.exercises.items() if e.state == state]


# --------------------------------------------------------------------------------------------------
# Reading notebooks
# --------------------------------------------------------------------------------------------------


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _is_check_cell(cell: dict) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def _is_written_answer(cell: dict) -> bool:
    meta = _nbgrader(cell)
    return cell.get("cell_type") == "markdown" and bool(meta.get("grade")) and bool(meta.get("solution"))


def check_cells(notebook: dict) -> list[CheckCell]:
    """The cells whose nbgrader metadata marks them as autograded tests, in notebook order."""
    found = []
    for index, cell in enumerate(notebook.get("cells", [])):
        if _is_check_cell(cell):
            meta = _nbgrader(cell)
            grade_id = str(meta.get("grade_id", f"cell_{index}"))
            found.append(CheckCell(index, grade_id, _points(meta.get("points", 0))))
    return found


def _points(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def manual_answer_ids(notebook: dict) -> list[str]:
    """Grade ids of the written answers a person grades (nbgrader markdown grade + solution cells)."""
    return [str(_nbgrader(cell).get("grade_id")) for cell in notebook.get("cells", []) if _is_written_answer(cell)]


def _read_submission(path: Path) -> dict:
    """Parse and validate a notebook, or raise ValueError with a short reason (never the raw JSON)."""
    import nbformat

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError("not a notebook: the file is not UTF-8 text") from None
    except OSError as error:
        raise ValueError(f"cannot read the file ({error.strerror or error})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        raise ValueError(f"not a notebook: the file is not valid JSON ({error.msg} at {where})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise ValueError("not a notebook: it has no list of cells")
    if not isinstance(data.get("nbformat"), int):
        raise ValueError("not a notebook: it does not say which nbformat version it is")
    problems: dict = {}
    try:
        notebook = nbformat.reads(text, as_version=4, capture_validation_error=problems)
    except Exception as error:  # noqa: BLE001 — nbformat raises several types for broken files
        raise ValueError(f"not a notebook: {_short(error)}") from None
    if problems.get("ValidationError") is not None:
        raise ValueError(f"not a notebook: {_short(problems['ValidationError'])}")
    return notebook


def _short(error: BaseException) -> str:
    """One line of an error, without the JSON it quotes (jsonschema keeps the message apart)."""
    text = str(getattr(error, "message", "") or error or type(error).__name__).strip()
    line = text.splitlines()[0] if text else type(error).__name__
    return line if len(line) <= 160 else line[:157] + "…"


def restore_checks(submission: dict, source: dict) -> list[str]:
    """Replace the submission's check cells by the source's (same ``grade_id``); return the ids missing.

    The source's version carries the hidden tests; replacing also undoes any edit a student made to a
    check. Checks the submission lacks are reported, not inserted (where would they go?).
    """
    by_id = {_nbgrader(cell).get("grade_id"): cell for cell in source.get("cells", []) if _is_check_cell(cell)}
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


def _state_of(parts: dict[str, str]) -> str:
    """One exercise's state from the status of each part of its check (main, hidden, …)."""
    if not parts:
        return STATE_NOT_RUN
    if any(status == STATE_NOT_ATTEMPTED for status in parts.values()):
        return STATE_NOT_ATTEMPTED
    if "main" in parts and all(status == STATE_PASSED for status in parts.values()):
        return STATE_PASSED
    return STATE_FAILED


def _parts(payloads: list[dict], grade_id: str) -> dict[str, str]:
    parts: dict[str, str] = {}
    for payload in payloads:  # a part checked twice in the cell: the last run counts
        if payload.get("exercise") == grade_id:
            parts[str(payload.get("part", "main"))] = str(payload.get("status"))
    return parts


def displayed_state(cell: dict, grade_id: str) -> str:
    """What the executed cell itself showed for ``grade_id`` (only the payloads naming that grade id)."""
    return _state_of(_parts(_payloads(cell), grade_id))


def _first_error(notebook: dict) -> str:
    for index, cell in enumerate(notebook.get("cells", [])):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                name = output.get("ename", "an error")
                value = str(output.get("evalue", "")).splitlines()
                return f"cell {index} raised {name}: {value[0]}" if value else f"cell {index} raised {name}"
    return ""


# --------------------------------------------------------------------------------------------------
# The assignment: from the solution notebook, or from the chapter's checker module
# --------------------------------------------------------------------------------------------------


def checker_bindings(notebook: dict) -> dict[str, str]:
    """``{name: module}`` for every ``from cnncourse.check import X as name`` in a non-answer code cell."""
    bindings: dict[str, str] = {}
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code" or _nbgrader(cell).get("solution") or _is_check_cell(cell):
            continue
        try:
            tree = ast.parse(_source(cell))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "cnncourse.check" and node.level == 0:
                for alias in node.names:
                    if alias.name.isidentifier() and alias.name not in {"core", "grade", "assign"}:
                        bindings[alias.asname or alias.name] = f"cnncourse.check.{alias.name}"
    return bindings


def _instructor_cells(notebook: dict) -> frozenset[str]:
    """The student version of every cell the instructor wrote (answer cells excepted)."""
    from cnncourse.check.assign import student_cell_source

    sources = set()
    for index, cell in enumerate(notebook.get("cells", [])):
        if cell.get("cell_type") == "code" and not _nbgrader(cell).get("solution"):
            try:
                sources.add(student_cell_source(cell, f"cell {index}").strip())
            except CourseError:
                continue
    return frozenset(sources)


def assignment_from_source(source: dict, name: str) -> Assignment:
    checks = {cell.grade_id: cell.points for cell in check_cells(source)}
    code = {
        str(_nbgrader(cell).get("grade_id")): _source(cell) for cell in source["cells"] if _is_check_cell(cell)
    }
    written = {
        str(_nbgrader(cell).get("grade_id")): _points(_nbgrader(cell).get("points", 0))
        for cell in source["cells"]
        if _is_written_answer(cell)
    }
    return Assignment(name, checks, code, checker_bindings(source), written, _instructor_cells(source))


def assignment_from_library(submission: dict) -> Assignment:
    """The exercises of the checker module the submission imports (its ``CHAPTER``), with their points.

    Only modules under ``cnncourse.check`` count, and only the chapter whose exercises the submission's
    check cells name; the written answers' points stay those of the submission (nothing is scored by
    them without ``--manual``).
    """
    import importlib

    from cnncourse.check.core import Chapter

    bindings = checker_bindings(submission)
    own = {cell.grade_id for cell in check_cells(submission)}
    chapters = []
    for module_name in dict.fromkeys(bindings.values()):
        try:
            module = importlib.import_module(module_name)
        except Exception:  # noqa: BLE001 — a module that does not import is not this submission's chapter
            continue
        chapter = getattr(module, "CHAPTER", None)
        if isinstance(chapter, Chapter) and own & {e.grade_id for e in chapter.exercises}:
            chapters.append(chapter)
    if len(chapters) != 1:
        raise ValueError(
            "cannot tell which chapter's checks it uses (its set-up cell imports no chapter checker whose "
            "exercises its check cells name); grade it with --source solutions"
        )
    chapter = chapters[0]
    written = {
        str(_nbgrader(cell).get("grade_id")): _points(_nbgrader(cell).get("points", 0))
        for cell in submission["cells"]
        if _is_written_answer(cell)
    }
    checks = {exercise.grade_id: float(exercise.points) for exercise in chapter.exercises}
    return Assignment(chapter.name, checks, None, bindings, written)


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


def validated_check_code(code: str, bindings: dict[str, str]) -> str | None:
    """The reason a submitted check cell is not a plain call of the checks, or None when it is.

    Allowed: statements ``alias.check_…(name, …)`` that call a check function of a checker module the
    notebook imported with the names of the student's answers, as ``assign`` hands them out; comments.
    Anything else (a display, an import, an attribute passed as the answer, a literal or keyword that
    would choose the check's cases or part) means the cell was edited and is not trusted without
    ``--source``.
    """
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "it is not valid Python"
    for statement in tree.body:
        call = statement.value if isinstance(statement, ast.Expr) else None
        ok = (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id in bindings
            and bool(_CHECK_FUNCTION.match(call.func.attr))
            and bool(call.args)
            and all(isinstance(arg, ast.Name) for arg in call.args)
            and not call.keywords
        )
        if not ok:
            return f"line {statement.lineno} is not a call of a check function on the answers' names"
    return None


def _argument_names(code: str, bindings: dict[str, str]) -> list[str]:
    """The names passed to check functions in ``code``: the student's answers."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    assigned = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}
    names: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in bindings
        ):
            for arg in [*node.args, *(k.value for k in node.keywords)]:
                if isinstance(arg, ast.Name) and arg.id not in assigned and arg.id not in names:
                    names.append(arg.id)
    return names


# --------------------------------------------------------------------------------------------------
# The grader's own run of a check, inside the kernel but out of the student's reach
# --------------------------------------------------------------------------------------------------

_PROBE = '''\
def _cnncourse_grader_probe():
    import importlib, json, sys
    def ours(name):
        return name == "cnncourse" or name.startswith("cnncourse.")
    saved = {{name: sys.modules.pop(name) for name in [n for n in sys.modules if ours(n)]}}
    saved_path = list(sys.path)
    report = {{"results": [], "error": "", "foreign": []}}
    try:
        sys.path.insert(0, {package_parent!r})
        core = importlib.import_module("cnncourse.check.core")
        modules = {{alias: importlib.import_module(name) for alias, name in {bindings!r}.items()}}
        for module in [core, *modules.values()]:
            if not str(getattr(module, "__file__", "")).startswith({package_dir!r}):
                raise RuntimeError(module.__name__ + " was not imported from the installed library")
        namespace = dict(globals())
        for name in {arguments!r}:
            value = namespace.get(name)
            origin = getattr(value, "__module__", "__main__")
            if callable(value) and origin != "__main__":
                report["foreign"].append([name, str(origin)])
        namespace.update(modules)
        try:
            exec(compile({code!r}, "<check {grade_id}>", "exec"), namespace)
        except (Exception, SystemExit) as error:
            report["error"] = type(error).__name__ + ": " + str(error).strip().split("\\n")[0]
        report["results"] = [result.to_payload() for result in core._RESULTS.values()]
    except (Exception, SystemExit) as error:
        report["error"] = type(error).__name__ + ": " + str(error).strip().split("\\n")[0]
    finally:
        for name in [n for n in sys.modules if ours(n)]:
            del sys.modules[name]
        sys.modules.update(saved)
        sys.path[:] = saved_path
    with open({out!r}, "w", encoding="utf-8") as handle:
        json.dump(report, handle)
_cnncourse_grader_probe()
del _cnncourse_grader_probe
'''


def probe_source(code: str, grade_id: str, bindings: dict[str, str], out: Path) -> str:
    """The grader's cell that re-runs ``code`` (a check cell's trusted code) with a fresh library."""
    import cnncourse

    package_dir = str(Path(cnncourse.__file__).resolve().parent)
    return _PROBE.format(
        package_parent=str(Path(package_dir).parent),
        package_dir=package_dir,
        bindings=bindings,
        arguments=_argument_names(code, bindings),
        code=code,
        grade_id=grade_id,
        out=str(out),
    )


# --------------------------------------------------------------------------------------------------
# Running one submission
# --------------------------------------------------------------------------------------------------


def _suspicious_cells(notebook: dict, assignment: Assignment) -> list[str]:
    """A flag for each student cell that touches the checker, its MIME type or the import machinery."""
    flags = []
    aliases = "|".join(re.escape(alias) for alias in assignment.bindings)
    uses_checker = re.compile(rf"\b({aliases})\s*\.") if aliases else None
    for index, cell in enumerate(notebook["cells"]):
        if cell.get("cell_type") != "code" or _is_check_cell(cell):
            continue
        text = _source(cell)
        if text.strip() in assignment.instructor_cells:
            continue
        lines = [line for line in text.splitlines() if not _ALLOWED_CHECKER_LINE.match(line)]
        if not _nbgrader(cell).get("solution"):  # the set-up cells' own uses of the checker
            lines = [line for line in lines if not re.match(rf"^\s*({aliases})\.summary\(\)\s*$", line)]
        rest = "\n".join(lines)
        touched = [what for pattern, what in SUSPICIOUS if pattern.search(rest)]
        if uses_checker is not None and uses_checker.search(rest) and "cnncourse.check" not in touched:
            touched.insert(0, "cnncourse.check")
        if touched:
            name = _nbgrader(cell).get("grade_id") or "not an exercise cell"
            flags.append(f"cell {index} ({name}) touches {', '.join(touched)}")
    return flags


def _kernel_environment() -> dict[str, str]:
    """The grader's environment for the kernel, without nbgrader's marker (the checks must not raise)."""
    env = {key: value for key, value in os.environ.items() if key != NBGRADER_ENVIRONMENT}
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # the debugger's "frozen modules" warning
    return env


def _logger(log_path: Path | None) -> logging.Logger:
    logger = logging.getLogger(f"cnncourse.grade.{id(log_path)}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if not logger.handlers:
        handler: logging.Handler = (
            logging.FileHandler(log_path, encoding="utf-8") if log_path is not None else logging.NullHandler()
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    return logger


def grade_submission(
    path: Path,
    *,
    timeout: float,
    source: Path | None = None,
    kernel_name: str = "python3",
    log_path: Path | None = None,
) -> SubmissionGrade:
    """Run one notebook in a fresh kernel and score its checks. Never raises for a bad submission."""
    grade = SubmissionGrade(path)
    try:
        notebook = _read_submission(path)
    except ValueError as error:
        grade.status, grade.detail = STATUS_INVALID, str(error)
        return grade
    try:
        solution = _source_for(notebook, source)
        if solution is not None:
            assignment = assignment_from_source(solution, path.stem)
        else:
            assignment = assignment_from_library(notebook)
    except (ValueError, CourseError) as error:
        grade.status, grade.detail = STATUS_ERROR, f"not graded: {error}"
        return grade

    grade.written = dict(assignment.written)
    grade.manual_answers = list(assignment.written)
    grade.written_text = {
        str(_nbgrader(cell).get("grade_id")): _source(cell)
        for cell in notebook.cells
        if _is_written_answer(cell) and _nbgrader(cell).get("grade_id") in assignment.written
    }
    for grade_id, points in assignment.checks.items():
        grade.exercises[grade_id] = ExerciseGrade(grade_id, points)
    if solution is not None:
        restore_checks(notebook, solution)
    grade.flags += _suspicious_cells(notebook, assignment)

    # The check cells that count: a known grade id, its first cell only; the rest are reported.
    counted: dict[int, str] = {}
    for cell_info in check_cells(notebook):
        if cell_info.grade_id not in assignment.checks:
            grade.flags.append(
                f"cell {cell_info.index} claims grade id {cell_info.grade_id!r} "
                f"({_number(cell_info.points)} points), which the assignment does not have: ignored"
            )
        elif cell_info.grade_id in counted.values():
            grade.flags.append(f"cell {cell_info.index} repeats the check {cell_info.grade_id!r}: ignored")
        else:
            counted[cell_info.index] = cell_info.grade_id
    missing = [grade_id for grade_id in assignment.checks if grade_id not in counted.values()]
    in_order = [grade_id for grade_id in assignment.checks if grade_id in counted.values()]
    if list(counted.values()) != in_order:
        grade.flags.append(
            "the check cells are not in the assignment's order: " + ", ".join(counted.values())
        )
    for grade_id in missing:
        grade.exercises[grade_id].state = STATE_MISSING
    code_for: dict[str, str | None] = {}
    for index, grade_id in counted.items():
        if assignment.trusted_code is not None:
            code_for[grade_id] = assignment.trusted_code[grade_id]
            continue
        code = _source(notebook.cells[index])
        reason = validated_check_code(code, assignment.bindings)
        code_for[grade_id] = code if reason is None else None
        if reason is not None:
            grade.exercises[grade_id].state = STATE_EDITED
            grade.flags.append(f"cell {index} ({grade_id}) was edited: {reason}; it earns nothing")

    for cell in notebook.cells:
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None

    channel = Path(tempfile.mkdtemp(prefix="cnncourse-grade-"))
    try:
        _execute(notebook, counted, code_for, assignment, grade, channel, timeout, kernel_name, path, log_path)
    finally:
        shutil.rmtree(channel, ignore_errors=True)

    for index, grade_id in counted.items():
        exercise = grade.exercises[grade_id]
        exercise.displayed = displayed_state(notebook.cells[index], grade_id)
        if exercise.state == STATE_PASSED:
            exercise.points = exercise.points_possible
        if exercise.displayed != exercise.state and exercise.state != STATE_EDITED:
            if exercise.displayed == STATE_PASSED or exercise.state == STATE_PASSED:
                grade.flags.append(
                    f"{grade_id}: the notebook showed {exercise.displayed!r}, the grader's own run found "
                    f"{exercise.state!r} (the grader's counts)"
                )
    if grade.status == STATUS_GRADED:
        error_text = _first_error(notebook)
        if error_text:
            grade.status, grade.detail = STATUS_ERROR, error_text
    if missing:
        note = "check cells missing: " + ", ".join(missing)
        grade.detail = f"{grade.detail}; {note}" if grade.detail else note
    grade.executed = notebook
    return grade


def _execute(
    notebook: dict,
    counted: dict[int, str],
    code_for: dict[str, str | None],
    assignment: Assignment,
    grade: SubmissionGrade,
    channel: Path,
    timeout: float,
    kernel_name: str,
    path: Path,
    log_path: Path | None,
) -> None:
    """Run the cells in order and, after each counted check cell, the grader's own run of that check."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    deadline: list[float] = []

    def remaining_seconds(cell: object) -> int:
        if not deadline:  # the limit counts from the first cell, not from the kernel's start-up
            deadline.append(time.monotonic() + timeout)
        return max(1, round(deadline[0] - time.monotonic()))

    logger = _logger(log_path)
    client = NotebookClient(
        notebook,
        timeout_func=remaining_seconds,
        allow_errors=True,
        kernel_name=kernel_name,
        startup_timeout=120,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        log=logger,
    )
    log_handle = log_path.open("a", encoding="utf-8") if log_path is not None else open(os.devnull, "w")
    try:
        logger.info("grading %s", path)
        with client.setup_kernel(env=_kernel_environment(), stdout=log_handle, stderr=log_handle):
            for index, cell in enumerate(notebook.cells):
                client.execute_cell(cell, index)
                grade_id = counted.get(index)
                code = code_for.get(grade_id) if grade_id is not None else None
                if grade_id is None or code is None:
                    continue
                out = channel / f"{secrets.token_hex(16)}.json"
                probe = nbformat.v4.new_code_cell(probe_source(code, grade_id, assignment.bindings, out))
                client.execute_cell(probe, index, store_history=False)
                notebook.cells[index] = cell  # nbclient stores the cell it ran at its index: put ours back
                _collect(out, grade_id, grade)
    except CellTimeoutError:
        grade.status, grade.detail = STATUS_TIMEOUT, f"still running after {timeout:g} s; stopped it"
    except DeadKernelError:
        grade.status, grade.detail = STATUS_DEAD, "the kernel died (the notebook exited or ran out of memory)"
    except Exception as error:  # noqa: BLE001 — a kernel that cannot start is reported, not raised
        grade.status, grade.detail = STATUS_ERROR, f"could not run it: {type(error).__name__}: {_short(error)}"
    finally:
        log_handle.close()


def _collect(out: Path, grade_id: str, grade: SubmissionGrade) -> None:
    """Read the grader's own results for ``grade_id`` (only results naming that exercise count)."""
    exercise = grade.exercises[grade_id]
    try:
        report = json.loads(out.read_text(encoding="utf-8"))
        out.unlink()
    except (OSError, json.JSONDecodeError):
        exercise.state = STATE_NOT_RUN
        grade.flags.append(f"{grade_id}: the grader's own run of the check left no result")
        return
    foreign = report.get("foreign") or []
    if foreign:
        exercise.state = STATE_FAILED
        for name, module in foreign:
            grade.flags.append(f"{grade_id}: {name} comes from {module}, not from code written in the notebook")
        return
    results = [result for result in report.get("results", []) if isinstance(result, dict)]
    exercise.state = _state_of(_parts(results, grade_id))
    others = sorted({str(result.get("exercise")) for result in results} - {grade_id})
    if others and exercise.state == STATE_NOT_RUN:
        grade.flags.append(
            f"{grade_id}: its cell runs the check of {', '.join(others)}, which counts for neither"
        )


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


def write_csv(grades: list[SubmissionGrade], out: Path, *, excel: bool = False) -> None:
    """The table; ``excel`` writes UTF-8 with a byte-order mark, so Excel reads Japanese names right."""
    columns = _columns(grades)
    with out.open("w", newline="", encoding="utf-8-sig" if excel else "utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["student", "status", *columns, "manual", "total", "possible", "failed", "not attempted", "flags",
             "detail"]
        )
        for grade in grades:
            row = [grade.student, grade.status]
            row += [_number(grade.exercises[c].points) if c in grade.exercises else "" for c in columns]
            row += [_number(sum(grade.manual.values())) if grade.marked_by_hand else ""]
            row += [_number(grade.total), _number(grade.possible)]
            row += ["; ".join(grade.exercises_in(STATE_FAILED)), "; ".join(grade.exercises_in(STATE_NOT_ATTEMPTED))]
            row += ["; ".join(grade.flags), grade.detail]
            writer.writerow(row)


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: East Asian wide and full-width characters take two."""
    return sum(
        0 if unicodedata.combining(char) else 2 if unicodedata.east_asian_width(char) in "WF" else 1
        for char in text
    )


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - display_width(text))


def summary_text(grades: list[SubmissionGrade]) -> str:
    columns = _columns(grades)
    marks = {STATE_PASSED: PASS_MARK, STATE_FAILED: FAIL_MARK, STATE_EDITED: FAIL_MARK}
    width = max([display_width("student")] + [display_width(g.student) for g in grades])
    numbers = " ".join(f"{i + 1:>2}" for i in range(len(columns)))
    header = f"{_pad('student', width)}  {'points':>9}  {numbers}"
    lines = [header + "  status"]
    for grade in grades:
        cells = " ".join(
            f"{marks.get(grade.exercises[c].state, OPEN_MARK) if c in grade.exercises else ' ':>2}"
            for c in columns
        )
        points = f"{_number(grade.total)}/{_number(grade.possible)}"
        status = grade.status + (f" — {grade.detail}" if grade.detail else "")
        if grade.flags:
            status += f" [{len(grade.flags)} flag{'s' if len(grade.flags) > 1 else ''}: see the CSV]"
        lines.append(f"{_pad(grade.student, width)}  {points:>9}  {cells}  {status}")
    lines.append("")
    lines.append(
        f"checks: {PASS_MARK} passed, {FAIL_MARK} failed, {OPEN_MARK} not attempted / not run / missing"
    )
    for number, grade_id in enumerate(columns, start=1):
        lines.append(f"  {number:>2} = {grade_id}")
    written = sorted({answer for g in grades for answer in g.manual_answers})
    if written and not any(g.marked_by_hand for g in grades):
        lines.append("written answers to grade by hand (not in the totals): " + ", ".join(written))
    return "\n".join(lines)


def grade_all(
    paths: list[Path],
    *,
    timeout: float,
    source: Path | None = None,
    jobs: int = 1,
    kernel_name: str = "python3",
    log_path: Path | None = None,
    progress: bool = True,
) -> list[SubmissionGrade]:
    """Grade every notebook (``jobs`` at a time, each in its own kernel), in the order given."""
    from tqdm import tqdm

    submissions = collect_submissions(paths)
    names = student_names(submissions)
    bar = tqdm(total=len(submissions), desc="grading", unit="notebook", file=sys.stderr, disable=not progress)

    def one(path: Path) -> SubmissionGrade:
        return grade_submission(path, timeout=timeout, source=source, kernel_name=kernel_name, log_path=log_path)

    grades: list[SubmissionGrade | None] = [None] * len(submissions)
    with bar, ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(one, path): index for index, path in enumerate(submissions)}
        for future in as_completed(futures):
            index = futures[future]
            grades[index] = future.result()
            bar.set_postfix_str(names[index], refresh=False)
            bar.update()
    done = [grade for grade in grades if grade is not None]
    for grade, name in zip(done, names):
        grade.student = name
    return done


# --------------------------------------------------------------------------------------------------
# Points given by hand, feedback files, written answers
# --------------------------------------------------------------------------------------------------


def apply_manual(grades: list[SubmissionGrade], path: Path) -> None:
    """Add the points of ``path`` (columns ``student`` and one per written answer's grade id) to the grades.

    Every row must name a graded student, every column a written answer, every value a number between
    0 and that answer's points; an empty value means "not marked yet".
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise CourseError(f"--manual {path}: cannot read it ({error.strerror or error}).") from None
    rows = list(csv.DictReader(text.splitlines()))
    fields = rows and list(rows[0]) or []
    if "student" not in fields:
        raise CourseError(f"--manual {path}: the first row must name the columns, starting with 'student'.")
    by_name = {grade.student: grade for grade in grades}
    written = {answer for grade in grades for answer in grade.written}
    unknown = [name for name in fields if name != "student" and name not in written]
    if unknown:
        raise CourseError(
            f"--manual {path}: {', '.join(unknown)} is not a written answer of these notebooks "
            f"(they are: {', '.join(sorted(written)) or 'none'})."
        )
    for grade in grades:
        grade.marked_by_hand = True  # an answer not marked yet earns 0 of its points, for everyone alike
    for number, row in enumerate(rows, start=2):
        student = (row.get("student") or "").strip()
        if student not in by_name:
            raise CourseError(f"--manual {path}, line {number}: no submission is called {student!r}.")
        grade = by_name[student]
        for answer, value in row.items():
            if answer == "student" or value is None or not value.strip():
                continue
            try:
                points = float(value)
            except ValueError:
                raise CourseError(f"--manual {path}, line {number}: {answer} = {value!r} is not a number.") from None
            most = grade.written.get(answer, 0.0)
            if not 0 <= points <= most:
                raise CourseError(
                    f"--manual {path}, line {number}: {answer} = {value} is outside 0–{_number(most)} points."
                )
            grade.manual[answer] = points


def _feedback_name(student: str) -> str:
    return re.sub(r"[\\/:*?\"<>|]+", "--", student) or "submission"


def _points_cell(grade: SubmissionGrade) -> dict:
    import nbformat

    lines = [
        f"# Feedback: {grade.student}",
        "",
        f"**{_number(grade.total)} of {_number(grade.possible)} points** — {grade.status}"
        + (f": {grade.detail}" if grade.detail else ""),
        "",
        "| exercise | result | points |",
        "|---|---|---|",
    ]
    for exercise in grade.exercises.values():
        points = f"{_number(exercise.points)} / {_number(exercise.points_possible)}"
        lines.append(f"| {exercise.grade_id} | {exercise.state} | {points} |")
    for answer, most in grade.written.items():
        given = _number(grade.manual[answer]) if answer in grade.manual else "to be marked"
        lines.append(f"| {answer} (written) | marked by hand | {given} / {_number(most)} |")
    if grade.flags:
        lines += ["", "**Flags:**", *(f"- {flag}" for flag in grade.flags)]
    return nbformat.v4.new_markdown_cell("\n".join(lines))


def write_feedback(grades: list[SubmissionGrade], folder: Path) -> list[Path]:
    """One HTML file per submission, one file per written answer, and a table for the marks by hand."""
    import nbformat
    from nbconvert import HTMLExporter

    folder.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter()
    written_dir = folder / "written"
    written_dir.mkdir(exist_ok=True)
    made: list[Path] = []
    for grade in grades:
        notebook = nbformat.from_dict(copy.deepcopy(grade.executed or {"cells": [], "metadata": {}}))
        notebook["nbformat"] = 4
        notebook["nbformat_minor"] = max(5, int(notebook.get("nbformat_minor", 5)))  # 4.5: cells have ids
        notebook.cells = [_points_cell(grade), *notebook.get("cells", [])]
        for number, cell in enumerate(notebook.cells):
            cell["id"] = f"feedback-{number}"  # unique, whatever the submission's own ids were
        body, _ = exporter.from_notebook_node(notebook)
        target = folder / f"{_feedback_name(grade.student)}.html"
        target.write_text(body, encoding="utf-8")
        made.append(target)
    answers: dict[str, float] = {}
    for grade in grades:
        answers.update(grade.written)
    for answer, most in answers.items():
        parts = [f"# {answer} ({_number(most)} points)", ""]
        for grade in grades:
            if answer not in grade.written:
                continue
            text = grade.written_text.get(answer)
            if text is None:
                text = "*(no answer cell: it was deleted)*"
            elif not text.strip() or text.strip().endswith(_NOT_ANSWERED):
                text += "\n\n*(not answered)*"
            parts += [f"## {grade.student}", "", text.strip(), ""]
        target = written_dir / f"{answer}.md"
        target.write_text("\n".join(parts), encoding="utf-8")
        made.append(target)
    template = folder / "manual.csv"
    with template.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", *answers])
        for grade in grades:
            if grade.status != STATUS_INVALID:
                writer.writerow([grade.student, *(_number(grade.manual[a]) if a in grade.manual else "" for a in answers)])
    made.append(template)
    return made


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse grade",
        description="Run submitted exercise notebooks in fresh kernels, re-run every check out of the "
        "student's reach, and write a table of the points they earn.",
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
    parser.add_argument(
        "--feedback",
        type=Path,
        help="folder for one HTML file per submission, the written answers per question and manual.csv",
    )
    parser.add_argument(
        "--manual", type=Path, help="CSV of points given by hand: student, then one column per written answer"
    )
    parser.add_argument("--excel", action="store_true", help="write the CSV as UTF-8 with a BOM, for Excel")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on the terminal")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        raise CourseError("--timeout must be a positive number of seconds.")
    if args.jobs < 1:
        raise CourseError("--jobs must be at least 1.")
    if args.source is not None and not args.source.exists():
        raise CourseError(f"--source {args.source} does not exist: pass the solutions folder or notebook.")
    if args.manual is not None and not args.manual.is_file():
        raise CourseError(f"--manual {args.manual} does not exist: pass the CSV of points given by hand.")
    collect_submissions(args.submissions)  # fail on a wrong path before any kernel starts
    args.out.parent.mkdir(parents=True, exist_ok=True)
    log_dir = args.feedback if args.feedback is not None else args.out.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / "kernels.log"
    grades = grade_all(
        args.submissions,
        timeout=args.timeout,
        source=args.source,
        jobs=args.jobs,
        kernel_name=args.kernel,
        log_path=log_path,
        progress=not args.no_progress,
    )
    if args.manual is not None:
        apply_manual(grades, args.manual)
    write_csv(grades, args.out, excel=args.excel)
    print(summary_text(grades))
    if args.source is None:
        print("note: without --source, hidden tests are not run and the check cells are graded as submitted.")
    if args.feedback is not None:
        write_feedback(grades, args.feedback)
        print(f"wrote feedback for {len(grades)} submissions to {args.feedback}")
    print(f"wrote {args.out} ({len(grades)} submissions); kernel messages in {log_path}")
    return 0
