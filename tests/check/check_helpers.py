"""Helpers the checker tests share (imported by name: tests/check is on sys.path under pytest)."""

from __future__ import annotations

from cnncourse.check.core import ExerciseResult, Status


def failures(result: ExerciseResult) -> str:
    """The details of the failed properties, one per line, for assertion messages."""
    return "\n".join(p.detail for p in result.properties if not p.passed)


def assert_passed(result: ExerciseResult) -> None:
    assert result.status is Status.PASSED, failures(result)
