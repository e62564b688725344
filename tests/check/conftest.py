"""Every checker test starts from an empty record of exercise results."""

from __future__ import annotations

import pytest

from cnncourse.check import core


@pytest.fixture(autouse=True)
def fresh_session() -> None:
    core.forget_results()
