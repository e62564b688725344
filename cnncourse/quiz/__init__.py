"""Misconception quizzes for the course and the E資格 exam: bank, engine, widget, drills, progress.

>>> from cnncourse import quiz
>>> quiz.chapters()[:3]
['basics', 'resnet', 'wide_resnet']

In a notebook, ``quiz.show("resnet", lang="ja")`` renders a chapter's quiz.

* :func:`load_bank` / :func:`chapters`: the checked question bank (``cnncourse/quiz/bank/<chapter>.yaml``);
* :func:`check_answer` / :func:`parse_answer`: judging answers the same way in every front end;
* :func:`show`: the notebook quiz (ipywidgets, or folded text where widgets cannot run);
* :func:`generate`: numeric drills whose answers come from building the real modules (imports torch);
* :class:`ProgressStore`: the learner's progress file;
* ``python -m cnncourse quiz`` and ``python -m cnncourse exam``: the command-line drill and mock exam.

Importing this package does not import torch or ipywidgets; :func:`generate` loads torch on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cnncourse.quiz.bank import (
    COURSE_CHAPTERS,
    LocalizedText,
    Option,
    Question,
    chapter_title,
    chapters,
    cheat_sheet,
    load_bank,
    load_glossary,
)
from cnncourse.quiz.engine import AnswerFormatError, Result, Score, check_answer, parse_answer
from cnncourse.quiz.progress import ProgressStore
from cnncourse.quiz.widget import QuizWidget, show

if TYPE_CHECKING:
    from cnncourse.quiz.generators import drill_kinds, generate

_LAZY = {"generate", "drill_kinds"}


def __getattr__(name: str) -> Any:
    # The drill generators build torch modules; load them only when a notebook asks for a drill.
    if name in _LAZY:
        from cnncourse.quiz import generators

        return getattr(generators, name)
    raise AttributeError(f"module 'cnncourse.quiz' has no attribute {name!r}")


__all__ = [
    "COURSE_CHAPTERS",
    "AnswerFormatError",
    "LocalizedText",
    "Option",
    "ProgressStore",
    "Question",
    "QuizWidget",
    "Result",
    "Score",
    "chapter_title",
    "chapters",
    "cheat_sheet",
    "check_answer",
    "drill_kinds",
    "generate",
    "load_bank",
    "load_glossary",
    "parse_answer",
    "show",
]
