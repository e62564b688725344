"""Shared test set-up: fast mode, an isolated user folder, and one thread per test process."""

from __future__ import annotations

import os

import pytest
import torch
from fixtures_data import tiny_fashion_mnist, tiny_fashion_mnist_env  # noqa: F401  (shared fixtures)

os.environ.setdefault("CNNCOURSE_FAST", "1")
# The suite runs two pytest workers on two cores; more threads per worker only fight over the cores.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def isolated_user_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Quiz progress and caches go to a temporary folder, never the developer's own."""
    monkeypatch.setenv("CNNCOURSE_HOME", str(tmp_path_factory.mktemp("cnncourse_home")))
