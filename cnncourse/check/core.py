"""The checker machinery: exercises, ✓ / ✗ properties, "not attempted", the summary, the grader's channel.

A *check* runs what the student wrote, tests one property at a time and records, for each, a line:
✓ with what was measured, or ✗ with what is wrong in words the student can act on. The properties of
one exercise make an :class:`ExerciseResult`; it is printed, kept for the chapter's summary ("N of M
exercises done") and, inside a Jupyter kernel, also published as a display output with the MIME type
:data:`MIME_TYPE` whose JSON payload the grader (:mod:`cnncourse.check.grade`) reads. The human text
and the machine payload travel in the same display bundle, so a front end shows the text and the
grader never scrapes it.

Student code is only ever called through :meth:`Checker.run`: a ``NotImplementedError`` (the stub
``assign`` writes) becomes "not attempted", any other exception becomes a ✗ line naming the call, the
exception and, where the check knows it, the likely cause — never a traceback.

Under nbgrader (its autograder or validator, which set ``NBGRADER_EXECUTION``) a check that did not pass
raises :class:`CheckFailed` after printing its report, because a cell that raises is nbgrader's only
sign of a failed test; everywhere else it does not (see :func:`check_and_report` for why).

This module imports neither torch nor IPython at import time.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from typing import NoReturn, TypeVar

from cnncourse.errors import CourseError, UnknownNameError

#: MIME type of the machine-readable check result in a notebook's display outputs.
MIME_TYPE = "application/vnd.cnncourse.check+json"
#: Version of the payload layout; the grader refuses payloads it does not know.
PAYLOAD_VERSION = 1

PASS_MARK = "✓"
FAIL_MARK = "✗"
OPEN_MARK = "·"

#: nbgrader's rule for grade ids (schema version 3): letters, digits, "_" and "-".
_GRADE_ID = re.compile(r"^[A-Za-z0-9_\-]+$")

T = TypeVar("T")


class Status(str, Enum):
    """Outcome of one check run."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"


@dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter.

    ``grade_id`` is also the nbgrader ``grade_id`` of the notebook cell that runs the check, so the
    grader can tie a result to its cell; ``points`` equals that cell's nbgrader ``points``.
    """

    chapter: str
    number: int
    grade_id: str
    title_ja: str
    title_en: str
    points: float

    def __post_init__(self) -> None:
        if not _GRADE_ID.match(self.grade_id):
            raise CourseError(
                f"Exercise grade id {self.grade_id!r} is not a valid nbgrader grade_id: "
                "use only letters, digits, '_' and '-'."
            )
        if self.points < 0:
            raise CourseError(f"Exercise {self.grade_id!r} has negative points ({self.points}).")

    @property
    def title(self) -> str:
        return f"{self.title_ja} / {self.title_en}"


@dataclass(frozen=True)
class Property:
    """One line of a check: the property tested, whether it holds, and what was seen or what to do."""

    name: str
    passed: bool
    detail: str = ""

    def line(self) -> str:
        mark = PASS_MARK if self.passed else FAIL_MARK
        return f"  {mark} {self.name}: {self.detail}" if self.detail else f"  {mark} {self.name}"


@dataclass(frozen=True)
class ExerciseResult:
    """What one check found. ``part`` tells apart the visible check and, e.g., the hidden tests."""

    exercise: Exercise
    status: Status
    properties: tuple[Property, ...] = ()
    part: str = "main"
    note: str = ""

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED

    def report_lines(self) -> list[str]:
        """The text the student reads: a header, one line per property, a verdict."""
        exercise = self.exercise
        header = f"Exercise {exercise.number} · {exercise.title}"
        if self.part != "main":
            header += f" ({self.part} tests)"
        if self.status is Status.NOT_ATTEMPTED:
            return [f"{header} — not attempted yet / 未着手", f"  {OPEN_MARK} {self.note}"]
        lines = [header, *(prop.line() for prop in self.properties)]
        total = len(self.properties)
        done = sum(prop.passed for prop in self.properties)
        if self.passed:
            checks = "the check passed" if total == 1 else f"all {total} checks passed"
            lines.append(f"  → {checks} ({_points_text(exercise.points)}) / 正解")
        else:
            lines.append(f"  → {done} of {total} checks passed: fix the ✗ lines and run this cell again")
        return lines

    def to_payload(self) -> dict[str, object]:
        """The JSON the grader reads (see :mod:`cnncourse.check.grade`)."""
        return {
            "version": PAYLOAD_VERSION,
            "chapter": self.exercise.chapter,
            "exercise": self.exercise.grade_id,
            "number": self.exercise.number,
            "part": self.part,
            "status": self.status.value,
            "points": self.exercise.points,
            "properties": [{"name": p.name, "passed": p.passed, "detail": p.detail} for p in self.properties],
            "note": self.note,
        }

    def _ipython_display_(self) -> None:
        """Show nothing: the check already printed this result when it ran (no duplicate at cell end)."""


def _points_text(points: float) -> str:
    value = int(points) if float(points).is_integer() else points
    return f"{value} point" if value == 1 else f"{value} points"


# --------------------------------------------------------------------------------------------------
# Running a check
# --------------------------------------------------------------------------------------------------


class _NotAttempted(Exception):
    """Student code raised NotImplementedError: the exercise is still the stub."""


class _StopChecking(Exception):
    """A failed property makes the remaining ones meaningless (e.g. the class cannot be built)."""


@dataclass
class Checker:
    """Collects the properties of one exercise while its check runs.

    The check functions of each chapter receive a ``Checker`` and call :meth:`expect` for properties
    that may fail independently, :meth:`require` for one the rest depends on, and :meth:`run` for every
    call into student code.
    """

    exercise: Exercise
    properties: list[Property] = field(default_factory=list)

    def passed(self, name: str, detail: str = "") -> None:
        self.properties.append(Property(name, True, detail))

    def failed(self, name: str, detail: str) -> None:
        self.properties.append(Property(name, False, detail))

    def expect(self, name: str, ok: bool, *, failure: str, success: str = "") -> bool:
        """Record ``name`` as ✓ (with ``success``) when ``ok``, else ✗ (with ``failure``); return ``ok``."""
        if ok:
            self.passed(name, success)
        else:
            self.failed(name, failure)
        return ok

    def require(self, name: str, ok: bool, *, failure: str, success: str = "") -> None:
        """Like :meth:`expect`, but stop the check when the property fails."""
        if not self.expect(name, ok, failure=failure, success=success):
            raise _StopChecking

    def stop(self, name: str, failure: str) -> NoReturn:
        """Record a ✗ and end the check."""
        self.failed(name, failure)
        raise _StopChecking

    def run(
        self,
        description: str,
        function: Callable[..., T],
        *args: object,
        hint: str = "",
        earlier: Sequence[EarlierAnswer] = (),
        answer: object = None,
    ) -> T:
        """Call student code. ``description`` says what is called, e.g. ``"BasicBlock(16, 16)"``.

        ``NotImplementedError`` ends the check as "not attempted"; any other exception ends it with a ✗
        line that names the exception (and ``hint``, the likely cause, when the check knows one).
        ``earlier`` lists answers of earlier exercises (functions or classes) that the code may use: a stub
        among them is named as the cause (a ✗, since this exercise was attempted), not reported as this
        one's stub. ``answer`` is the student's answer whose notebook globals hold those earlier answers,
        when ``function`` is not it (e.g. a lambda of the check that builds the student's class).
        """
        student = function if answer is None else answer
        try:
            return function(*args)
        except NotImplementedError as error:
            stub = _raised_in(error, student, earlier)
            if stub is not None:
                self.stop(
                    f"{description} runs",
                    f"it calls {stub.name} from exercise {stub.exercise.number}, which is still the stub: "
                    f"solve exercise {stub.exercise.number} ({stub.exercise.title_en}) first.",
                )
            raise _NotAttempted(description) from error
        except Exception as error:  # noqa: BLE001 — any failure in student code becomes a ✗ line
            message = f"{type(error).__name__}: {_first_line(error)}"
            # a wrong or unfinished earlier answer is the likelier cause than the check's generic hint
            cause = earlier_answer_cause(student, earlier) or hint
            self.stop(f"{description} runs", f"it raised {message}." + (f" {cause}" if cause else ""))


def _codes_of(value: object) -> set[object]:
    """The code objects of a function, or of every method of a class."""
    if isinstance(value, type):
        return {member.__code__ for member in vars(value).values() if hasattr(member, "__code__")}
    code = getattr(value, "__code__", None)
    return {code} if code is not None else set()


def _raised_in(
    error: BaseException, function: object, earlier: Sequence[EarlierAnswer]
) -> EarlierAnswer | None:
    """The earlier answer (a function, or a method of a class) in whose own code ``error`` was raised."""
    traceback = error.__traceback__
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    if traceback is None:
        return None
    raised_in = traceback.tb_frame.f_code
    namespace = _globals_of(function)
    for helper in earlier:
        if raised_in in _codes_of(namespace.get(helper.name)):
            return helper
    return None


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"


def run_check(exercise: Exercise, body: Callable[[Checker], None], *, part: str = "main") -> ExerciseResult:
    """Run ``body`` against a fresh :class:`Checker` and turn what it found into a result.

    Never raises for anything the student wrote. A failure inside the check itself (a bug in this
    library) is reported as a ✗ line that says so, rather than as a traceback in the student's notebook.
    """
    checker = Checker(exercise)
    try:
        with _one_thread():
            body(checker)
    except (_NotAttempted, NotImplementedError) as error:
        what = error.args[0] if isinstance(error, _NotAttempted) else "your code"
        note = (
            f"{what} still raises NotImplementedError: replace the 'raise NotImplementedError()' line "
            "with your code, run that cell, then run this check again."
        )
        return ExerciseResult(exercise, Status.NOT_ATTEMPTED, tuple(checker.properties), part, note)
    except _StopChecking:
        pass
    except Exception as error:  # noqa: BLE001 — see the docstring
        checker.failed(
            "the check finished",
            f"the checker itself stopped with {type(error).__name__}: {_first_line(error)}. "
            "Your code may be passing something unexpected; if not, please report this as a bug.",
        )
    all_passed = bool(checker.properties) and all(p.passed for p in checker.properties)
    status = Status.PASSED if all_passed else Status.FAILED
    if not checker.properties:
        checker.failed("the check finished", "no property was tested; please report this as a bug.")
    return ExerciseResult(exercise, status, tuple(checker.properties), part)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run a check on one CPU thread, then restore the caller's setting.

    Checks push tiny tensors through a few layers; splitting such work across threads only adds
    synchronisation, and on a busy machine (a grader running several kernels, a 2-core laptop) it made
    a check 20–40 times slower than on one thread.
    """
    torch = sys.modules.get("torch")  # the checks import torch; this module does not need to
    if torch is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


#: The environment variable nbgrader sets while it autogrades ("autograde") or validates ("validate")
#: a notebook (nbgrader FAQ, "Can I check if my code is running under nbgrader?").
NBGRADER_ENVIRONMENT = "NBGRADER_EXECUTION"


def under_nbgrader() -> bool:
    """True while nbgrader's autograder or validator runs this kernel."""
    return bool(os.environ.get(NBGRADER_ENVIRONMENT))


class CheckFailed(AssertionError):
    """A check that did not pass, raised under nbgrader so that its test cell earns no points.

    It is an ``AssertionError`` because nbgrader's own test cells fail by assertion; IPython shows it as
    one line (:meth:`_render_traceback_`), under the ✓ / ✗ report that explains it.
    """

    def __init__(self, result: ExerciseResult) -> None:
        exercise = result.exercise
        if result.status is Status.NOT_ATTEMPTED:
            verdict = "not attempted yet"
        else:
            done = sum(p.passed for p in result.properties)
            verdict = f"{done} of {len(result.properties)} checks passed"
        part = "" if result.part == "main" else f" ({result.part} tests)"
        super().__init__(
            f"Exercise {exercise.number}{part} ({exercise.grade_id}): {verdict}. The lines above say what to fix."
        )
        self.result = result

    def _render_traceback_(self) -> list[str]:
        return [f"{FAIL_MARK} {self}"]


def check_and_report(
    exercise: Exercise, body: Callable[[Checker], None], *, part: str = "main"
) -> ExerciseResult:
    """Run the check, print / publish its report, keep it for the summary, and return it.

    Under nbgrader (:func:`under_nbgrader`) a result that did not pass raises :class:`CheckFailed`
    after the report is printed. Only there: in the student's own notebook a raising check would stop
    "Run all" at the first unsolved exercise, hide the reports of the later ones and the closing
    summary, and put a red traceback under a report that already says in words what to fix. nbgrader,
    on the other hand, can only tell a failed test cell by its exception, and would otherwise award the
    points of every check cell, solved or not.
    """
    result = run_check(exercise, body, part=part)
    record(result)
    publish(result)
    if not result.passed and under_nbgrader():
        raise CheckFailed(result)
    return result


# --------------------------------------------------------------------------------------------------
# Exercises that build on earlier ones
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EarlierAnswer:
    """A function the student wrote in an earlier exercise, which a later answer may call.

    ``is_right`` tests it quietly (no report) and returns whether it gives the reference's answers; it
    may raise, e.g. ``NotImplementedError`` for the stub.
    """

    name: str
    exercise: Exercise
    is_right: Callable[[Callable[..., object]], bool]


def _names_in(code: object) -> set[str]:
    """Global names a code object and the code nested in it (comprehensions, lambdas) refer to."""
    names = set(getattr(code, "co_names", ()))
    for constant in getattr(code, "co_consts", ()):
        if hasattr(constant, "co_names"):
            names |= _names_in(constant)
    return names


def _names_used(answer: object) -> set[str]:
    """Global names the code of ``answer`` (a function, or every method of a class) refers to."""
    names: set[str] = set()
    for code in _codes_of(answer):
        names |= _names_in(code)
    return names


def _globals_of(answer: object) -> dict[str, object]:
    if isinstance(answer, type):
        for value in vars(answer).values():
            if hasattr(value, "__globals__"):
                return value.__globals__
        return {}
    return getattr(answer, "__globals__", {})


def earlier_answer_cause(answer: object, earlier: Sequence[EarlierAnswer]) -> str:
    """A sentence naming an earlier exercise as the likely cause of a failure, or "".

    Only an earlier answer that ``answer`` actually calls (by its global name) and that is itself still
    a stub or wrong counts; an earlier answer that is right, or not used, says nothing.
    """
    used = _names_used(answer)
    namespace = _globals_of(answer)
    for helper in earlier:
        if helper.name not in used or not callable(namespace.get(helper.name)):
            continue
        try:
            right = helper.is_right(namespace[helper.name])  # type: ignore[arg-type]
        except NotImplementedError:
            return (
                f"Your code calls {helper.name} from exercise {helper.exercise.number}, which is still the "
                f"stub: solve exercise {helper.exercise.number} ({helper.exercise.title_en}) first."
            )
        except Exception:  # noqa: BLE001 — a helper that raises is as wrong as one that returns nonsense
            right = False
        if not right:
            return (
                f"Your code calls {helper.name} from exercise {helper.exercise.number}, and that gives wrong "
                f"answers: exercise {helper.exercise.number} ({helper.exercise.title_en}) is the likely "
                "cause. Fix it and run its check first, then run this one again."
            )
    return ""


# --------------------------------------------------------------------------------------------------
# Reporting: text for people, a payload for the grader
# --------------------------------------------------------------------------------------------------


def publish(result: ExerciseResult) -> None:
    """Print the report; inside IPython, publish it as one display output with text and payload."""
    text = "\n".join(result.report_lines())
    shell = _ipython_shell()
    if shell is None:
        print(text)
        return
    from IPython.display import display

    display({"text/plain": text, MIME_TYPE: result.to_payload()}, raw=True)


def _ipython_shell() -> object | None:
    try:
        from IPython import get_ipython
    except ImportError:  # IPython is optional outside notebooks
        return None
    return get_ipython()


# --------------------------------------------------------------------------------------------------
# The session: results kept for the summary
# --------------------------------------------------------------------------------------------------

_RESULTS: dict[tuple[str, str], ExerciseResult] = {}


def record(result: ExerciseResult) -> None:
    """Keep ``result``, replacing an earlier run of the same exercise part (a re-run cell)."""
    _RESULTS[(result.exercise.grade_id, result.part)] = result


def results_for(exercise: Exercise) -> list[ExerciseResult]:
    """Every recorded part of ``exercise`` (the visible check, hidden tests …)."""
    return [result for (grade_id, _), result in _RESULTS.items() if grade_id == exercise.grade_id]


def forget_results() -> None:
    """Drop every recorded result (tests use this between cases)."""
    _RESULTS.clear()


class ExerciseState(str, Enum):
    DONE = "done"
    FAILING = "failing"
    NOT_ATTEMPTED = "not attempted"
    NOT_CHECKED = "not checked yet"


def exercise_state(exercise: Exercise) -> ExerciseState:
    """Done when every recorded part passed; not attempted when any part is still the stub."""
    results = results_for(exercise)
    if not results:
        return ExerciseState.NOT_CHECKED
    if any(r.status is Status.NOT_ATTEMPTED for r in results):
        return ExerciseState.NOT_ATTEMPTED
    if all(r.passed for r in results):
        return ExerciseState.DONE
    return ExerciseState.FAILING


@dataclass(frozen=True)
class Chapter:
    """The exercises of one chapter notebook, in order; gives the closing "N of M exercises done"."""

    name: str
    title_ja: str
    title_en: str
    exercises: tuple[Exercise, ...]

    def __post_init__(self) -> None:
        ids = [e.grade_id for e in self.exercises]
        if len(set(ids)) != len(ids):
            raise CourseError(f"Chapter {self.name!r} lists an exercise twice: {ids}")
        if [e.number for e in self.exercises] != list(range(1, len(ids) + 1)):
            raise CourseError(f"Chapter {self.name!r}: exercises must be numbered 1, 2, … in order")

    def exercise(self, grade_id: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.grade_id == grade_id:
                return exercise
        raise UnknownNameError("exercise", grade_id, [e.grade_id for e in self.exercises])

    def summary_lines(self) -> list[str]:
        states = [(exercise, exercise_state(exercise)) for exercise in self.exercises]
        done = sum(state is ExerciseState.DONE for _, state in states)
        total = len(states)
        lines = [
            f"{self.title_en}: {done} of {total} exercises done / {self.title_ja}: {total}問中{done}問完了"
        ]
        for exercise, state in states:
            mark = {ExerciseState.DONE: PASS_MARK, ExerciseState.FAILING: FAIL_MARK}.get(state, OPEN_MARK)
            lines.append(f"  {mark} {exercise.number}. {exercise.title} — {state.value}")
        if done < total:
            lines.append("Run the check cell of each exercise after you change its code.")
        return lines

    def summary(self) -> None:
        """Print "N of M exercises done" and the state of each exercise."""
        print("\n".join(self.summary_lines()))
