"""Helpers the checker tests share (imported by name: tests/check is on sys.path under pytest).

A conftest.py here would clash with tests/conftest.py under ``--doctest-modules`` (both are
modules named ``conftest`` outside packages), so the autouse fixture is imported from here instead.
"""

from __future__ import annotations

import pytest

from cnncourse.check import core
from cnncourse.check.core import ExerciseResult, Status


@pytest.fixture(autouse=True)
def fresh_session() -> None:
    """Every checker test starts from an empty record of exercise results."""
    core.forget_results()


def failures(result: ExerciseResult) -> str:
    """The details of the failed properties, one per line, for assertion messages."""
    return "\n".join(p.detail for p in result.properties if not p.passed)


def assert_passed(result: ExerciseResult) -> None:
    assert result.status is Status.PASSED, failures(result)
