"""Shared test set-up: fast mode, an isolated user folder, and one thread per test process."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("CNNCOURSE_FAST", "1")


@pytest.fixture(autouse=True)
def isolated_user_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quiz progress and caches go to a temporary folder, never the developer's own."""
    monkeypatch.setenv("CNNCOURSE_HOME", str(tmp_path_factory.mktemp("cnncourse_home")))
