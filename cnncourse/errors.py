"""Errors that carry a message a learner can act on.

Every error the course raises on bad input derives from :class:`CourseError`. The command line prints
its message and exits with status 2 instead of showing a traceback; in a notebook the message is the
last line of the traceback, so it is written to be read on its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class CourseError(Exception):
    """An error caused by input a learner gave, with a message that says what to do about it."""


class UnknownNameError(CourseError, ValueError):
    """A model, dataset, checkpoint or chapter name that does not exist; the message lists close matches."""

    def __init__(self, kind: str, name: str, choices: Iterable[str], listing_hint: str = "") -> None:
        choices = sorted(set(choices))
        self.kind = kind
        self.name = name
        self.close_matches = close_matches(name, choices)
        message = f"Unknown {kind} {name!r}."
        if self.close_matches:
            message += " Did you mean: " + ", ".join(self.close_matches) + "?"
        if listing_hint:
            message += f" {listing_hint}"
        elif len(choices) <= 12:
            message += " Known: " + ", ".join(choices) + "."
        else:
            message += f" There are {len(choices)} known names."
        super().__init__(message)


def close_matches(name: str, choices: Iterable[str], n: int = 5) -> list[str]:
    """Return up to ``n`` names from ``choices`` that look like ``name`` (typos, missing separators, prefixes)."""
    choices = list(choices)
    normalized = {c.replace("-", "").replace("_", "").lower(): c for c in choices}
    key = name.replace("-", "").replace("_", "").lower()
    found = [normalized[m] for m in difflib.get_close_matches(key, list(normalized), n=n, cutoff=0.6)]
    for candidate in choices:  # "resnet" should suggest "resnet18", "resnet20", ...
        if len(found) >= n:
            break
        if key and candidate.replace("-", "").replace("_", "").lower().startswith(key) and candidate not in found:
            found.append(candidate)
    return found[:n]
