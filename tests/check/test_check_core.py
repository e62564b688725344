"""The checker machinery: statuses, ✓/✗ report lines, "not attempted", the summary, the grader's payload."""

from __future__ import annotations

import json

import pytest
import torch
from check_helpers import fresh_session  # noqa: F401  (autouse fixture)

from cnncourse.check import core
from cnncourse.check.core import Chapter, Checker, Exercise, Status
from cnncourse.errors import CourseError, UnknownNameError

FIRST = Exercise("99_test", 1, "test_first", "一つ目", "First", 2)
SECOND = Exercise("99_test", 2, "test_second", "二つ目", "Second", 1)
CHAPTER = Chapter("99_test", "テスト章", "Test chapter", (FIRST, SECOND))



def test_grade_ids_follow_nbgraders_rule_and_points_are_not_negative() -> None:
    with pytest.raises(CourseError, match="grade_id"):
        Exercise("99_test", 1, "has space", "x", "x", 1)
    with pytest.raises(CourseError, match="negative"):
        Exercise("99_test", 1, "ok_id", "x", "x", -1)


def test_chapter_rejects_duplicate_and_misnumbered_exercises() -> None:
    with pytest.raises(CourseError, match="twice"):
        Chapter("c", "c", "c", (FIRST, FIRST))
    with pytest.raises(CourseError, match="numbered"):
        Chapter("c", "c", "c", (SECOND,))


def test_chapter_finds_its_exercises_by_grade_id() -> None:
    assert CHAPTER.exercise("test_second") is SECOND
    with pytest.raises(UnknownNameError, match="Did you mean: test_first"):
        CHAPTER.exercise("test_frist")


def test_all_properties_true_is_passed_and_one_false_is_failed() -> None:
    def good(checker: Checker) -> None:
        checker.expect("a", True, failure="no", success="yes")
        checker.expect("b", True, failure="no")

    def bad(checker: Checker) -> None:
        checker.expect("a", True, failure="no")
        checker.expect("b", False, failure="b is wrong: do this instead")

    assert core.run_check(FIRST, good).status is Status.PASSED
    result = core.run_check(FIRST, bad)
    assert result.status is Status.FAILED
    lines = result.report_lines()
    assert lines[0] == "Exercise 1 · 一つ目 / First"
    assert "  ✓ a" in lines
    assert "  ✗ b: b is wrong: do this instead" in lines
    assert lines[-1].startswith("  → 1 of 2 checks passed")


def test_not_implemented_in_student_code_is_not_attempted_without_a_traceback() -> None:
    def stub() -> int:
        raise NotImplementedError()

    def body(checker: Checker) -> None:
        checker.run("answer()", stub)
        checker.passed("never reached")

    result = core.run_check(FIRST, body)
    assert result.status is Status.NOT_ATTEMPTED
    text = "\n".join(result.report_lines())
    assert "not attempted" in text
    assert "answer() still raises NotImplementedError" in text
    assert "Traceback" not in text


def test_an_exception_in_student_code_becomes_a_failed_line_that_names_it() -> None:
    def broken() -> int:
        return [1, 2][5]

    def body(checker: Checker) -> None:
        checker.run("answer()", broken, hint="Check your indices.")
        checker.passed("never reached")

    result = core.run_check(FIRST, body)
    assert result.status is Status.FAILED
    assert [p.passed for p in result.properties] == [False]
    assert result.properties[0].detail == "it raised IndexError: list index out of range. Check your indices."


def test_a_bug_in_the_checker_is_reported_as_such_not_raised() -> None:
    def body(checker: Checker) -> None:
        checker.passed("first")
        raise KeyError("internal")

    result = core.run_check(FIRST, body)
    assert result.status is Status.FAILED
    assert "the checker itself stopped with KeyError" in result.properties[-1].detail


def test_a_check_that_tests_nothing_cannot_pass() -> None:
    assert core.run_check(FIRST, lambda checker: None).status is Status.FAILED


def test_require_stops_the_check_at_the_failed_property() -> None:
    def body(checker: Checker) -> None:
        checker.require("builds", False, failure="it does not")
        checker.passed("later")

    result = core.run_check(FIRST, body)
    assert [p.name for p in result.properties] == ["builds"]


def test_payload_is_json_and_carries_what_the_grader_needs() -> None:
    result = core.run_check(FIRST, lambda c: c.passed("a", "fine"), part="hidden")
    payload = json.loads(json.dumps(result.to_payload()))
    assert payload["version"] == core.PAYLOAD_VERSION
    assert payload["exercise"] == "test_first"
    assert payload["part"] == "hidden"
    assert payload["status"] == "passed"
    assert payload["points"] == 2
    assert payload["properties"] == [{"name": "a", "passed": True, "detail": "fine"}]


def test_outside_ipython_the_report_is_printed(capsys: pytest.CaptureFixture[str]) -> None:
    core.check_and_report(FIRST, lambda c: c.passed("a"))
    out = capsys.readouterr().out
    assert out.startswith("Exercise 1 · 一つ目 / First\n  ✓ a\n")
    assert "(2 points)" in out


def test_summary_counts_exercises_whose_every_part_passed(capsys: pytest.CaptureFixture[str]) -> None:
    core.check_and_report(FIRST, lambda c: c.passed("a"))
    core.check_and_report(FIRST, lambda c: c.failed("a", "no"), part="hidden")
    CHAPTER.summary()
    out = capsys.readouterr().out
    assert "Test chapter: 0 of 2 exercises done / テスト章: 2問中0問完了" in out
    assert "✗ 1. 一つ目 / First — failing" in out
    assert "· 2. 二つ目 / Second — not checked yet" in out
    # re-running the hidden part after a fix replaces its result
    core.check_and_report(FIRST, lambda c: c.passed("a"), part="hidden")
    core.check_and_report(SECOND, lambda c: c.passed("a"))
    CHAPTER.summary()
    assert "2 of 2 exercises done" in capsys.readouterr().out


def test_a_check_runs_on_one_thread_and_restores_the_setting() -> None:
    seen: list[int] = []
    original = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        core.run_check(FIRST, lambda c: (seen.append(torch.get_num_threads()), c.passed("a")))
        assert seen == [1]
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(original)
