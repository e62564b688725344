"""Code-completion items (穴埋め): every correct fill runs and passes its check, every wrong fill fails it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cnncourse.errors import CourseError
from cnncourse.quiz import widget
from cnncourse.quiz.bank import COURSE_CHAPTERS, CODE_BLANK, Question, load_bank, load_bank_file
from cnncourse.quiz.code_render import code_html, code_terminal
from cnncourse.quiz.engine import check_answer, parse_answer, question_text

CODE_ITEMS = [q for q in load_bank() if q.kind == "code"]


def run_fill(question: Question, index: int) -> None:
    """Execute the snippet completed with option ``index``, then the item's check, in a fresh namespace."""
    assert question.verify is not None
    namespace: dict[str, object] = {"__name__": f"code_item_{question.id.replace('-', '_')}"}
    torch.manual_seed(0)
    with torch.no_grad():
        exec(compile(question.completed_code(index), f"<{question.id} fill {index + 1}>", "exec"), namespace)  # noqa: S102
        exec(compile(question.verify, f"<{question.id} verify>", "exec"), namespace)  # noqa: S102


@pytest.mark.parametrize("chapter", COURSE_CHAPTERS)
def test_every_chapter_has_at_least_three_code_items(chapter: str) -> None:
    assert sum(q.chapter == chapter for q in CODE_ITEMS) >= 3, chapter


def wrong_fills_that_pass(question: Question) -> list[str]:
    """The distractors whose completed snippet passes the item's check (there must be none)."""
    passing = []
    for index in range(len(question.options)):
        if index in question.correct_indices:
            continue
        try:
            run_fill(question, index)
        except Exception:  # noqa: BLE001 - an assertion, a shape error, anything: the fill is caught
            continue
        passing.append(question.options[index].text.en)
    return passing


@pytest.mark.parametrize("question", CODE_ITEMS, ids=lambda q: q.id)
def test_the_correct_fill_passes_and_every_wrong_fill_fails(question: Question) -> None:
    (key,) = question.correct_indices
    run_fill(question, key)  # the keyed answer really works against the library's reference
    assert not wrong_fills_that_pass(question), "these wrong fills pass the check"


def test_a_code_item_is_answered_by_number_and_shows_its_snippet() -> None:
    question = CODE_ITEMS[0]
    (key,) = question.correct_indices
    assert check_answer(question, parse_answer(question, str(key + 1), "en")).correct
    plain = question_text(question, "en")
    assert "( ? )" in plain and CODE_BLANK not in plain and "\x1b[" not in plain
    coloured = question_text(question, "ja", color=True)
    assert "\x1b[" in coloured  # ANSI highlighting on a terminal
    html = code_html(question.code or "")
    assert "<span style=" in html and "(　?　)" in html  # pygments colours, the blank marked


def test_the_widget_and_the_text_fallback_show_the_highlighted_snippet() -> None:
    question = CODE_ITEMS[0]
    quiz = widget.QuizWidget([question], lang="ja", record_progress=False)
    assert "cnncourse-code" in quiz.prompt.value and "<span style=" in quiz.prompt.value
    assert len(quiz.radio.options) == len(question.options)
    html = widget.render_html([question], "en")
    assert "cnncourse-code" in html


def test_code_items_are_checked_when_loaded(tmp_path: Path) -> None:
    item = """chapter: basics
items:
  - id: basics-code-001
    chapter: basics
    kind: code
    prompt: {ja: "問", en: "Q"}
    code: "x = ____ + ____"
    options:
      - {fill: "1", correct: true, feedback: {ja: "a", en: "a"}}
      - {fill: "2", correct: false, feedback: {ja: "b", en: "b"}}
      - {fill: "3", correct: false, feedback: {ja: "c", en: "c"}}
    explanation: {ja: "e", en: "e"}
    references: ["paper"]
    verify: "assert x == 2"
"""
    path = tmp_path / "basics.yaml"
    path.write_text(item, encoding="utf-8")
    with pytest.raises(CourseError, match="blank ____ exactly once; it has 2"):
        load_bank_file(path)
    path.write_text(item.replace("x = ____ + ____", "x = ____").replace('verify: "assert x == 2"\n', ""),
                    encoding="utf-8")
    with pytest.raises(CourseError, match="field 'verify': missing"):
        load_bank_file(path)
    path.write_text(item.replace("x = ____ + ____", "x = ____").replace("basics-code-001", "basics-001"),
                    encoding="utf-8")
    with pytest.raises(CourseError, match="must look like basics-code-001"):
        load_bank_file(path)
    path.write_text(item.replace("x = ____ + ____", "x = ____").replace("assert x == 2", "assert x =="),
                    encoding="utf-8")
    with pytest.raises(CourseError, match="field 'verify': is not valid Python"):
        load_bank_file(path)
    path.write_text(item.replace("x = ____ + ____", "x = ____"), encoding="utf-8")
    (question,) = load_bank_file(path)
    assert question.kind == "code" and question.completed_code(0) == "x = 1\n"


def test_a_check_that_cannot_fail_is_caught() -> None:
    """The harness itself: a check that accepts anything is reported with every distractor."""
    question = CODE_ITEMS[0]
    lenient = Question(**{**question.__dict__, "verify": "pass"})
    assert len(wrong_fills_that_pass(lenient)) == len(question.options) - 1
