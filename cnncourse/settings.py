"""Settings read from the environment, kept in one place.

``CNNCOURSE_FAST=1``   fast mode: notebooks and tests shrink data and epochs so everything runs in seconds.
``CNNCOURSE_DATA``     a folder holding the datasets (checked before the user cache and system folders).
``CNNCOURSE_HOME``     where the course keeps user state (quiz progress, downloaded data); defaults to the
                       platform's user data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The course repository: Colab notebooks install the library from here. Kept in this one place.
COURSE_REPO_URL = "https://github.com/cnncourse/cnncourse"
#: Branch the Colab badges and the Colab install point to.
COURSE_REPO_BRANCH = "main"

_TRUE = {"1", "true", "yes", "on"}


def fast_mode() -> bool:
    """True when ``CNNCOURSE_FAST`` is set to 1/true/yes/on: shrink data and epochs to run in seconds."""
    return os.environ.get("CNNCOURSE_FAST", "").strip().lower() in _TRUE


def user_home() -> Path:
    """Folder for the learner's own state (progress, caches). Not created here."""
    explicit = os.environ.get("CNNCOURSE_HOME")
    if explicit:
        return Path(explicit).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("cnncourse", appauthor=False))


def user_cache_dir() -> Path:
    """Folder where downloaded datasets are cached."""
    return user_home() / "data"


def colab_install_url() -> str:
    """The pip requirement that installs the library on Colab."""
    return f"git+{COURSE_REPO_URL}@{COURSE_REPO_BRANCH}"
