"""The notebook quiz's logic, driven through its widgets' own events, and the text fallbacks."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import ipywidgets
import pytest

from cnncourse.errors import CourseError
from cnncourse.quiz import widget as quiz_widget
from cnncourse.quiz.bank import load_bank
from cnncourse.quiz.progress import ProgressStore
from cnncourse.quiz.widget import QuizWidget, render_html, render_text, show


@pytest.fixture
def quiz(small_bank: Path) -> QuizWidget:
    return QuizWidget(load_bank(directory=small_bank), lang="en", store=ProgressStore())


def test_first_question_is_drawn_with_radio_buttons(quiz: QuizWidget) -> None:
    assert isinstance(quiz.radio, ipywidgets.RadioButtons)
    assert quiz.radio.value is None  # nothing is pre-selected
    assert [label for label, _ in quiz.radio.options] == ["True (o)", "False (x)"]
    assert "Statement of resnet-001" in quiz.prompt.value
    assert "Question 1 / 6" in quiz.header.value
    assert quiz.check_button.disabled  # nothing chosen yet
    assert quiz.score_text == "Score: 0 / 0 on the first try · solved 0 / 6"


def test_wrong_then_right_through_widget_events(quiz: QuizWidget) -> None:
    quiz.next()  # resnet-002: choice 2 is right
    assert quiz.question.id == "resnet-002"
    quiz.radio.value = 0  # what a click on the first radio button does
    assert not quiz.check_button.disabled  # the observer enabled Check
    quiz.check_button.click()
    assert "✗ Not correct" in quiz.feedback_text
    assert "Feedback resnet-002 choice 1" in quiz.feedback_text
    assert "Explanation of resnet-002" not in quiz.feedback_text  # not given away before it is solved
    assert quiz.score_text == "Score: 0 / 1 on the first try · solved 0 / 6"
    quiz.radio.value = 1  # a new choice clears the stale feedback
    assert quiz.feedback_text == ""
    quiz.check_button.click()
    assert "✓ Correct" in quiz.feedback_text and "Explanation of resnet-002" in quiz.feedback_text
    assert "Feedback resnet-002 choice 2" in quiz.feedback_text
    assert quiz.score_text == "Score: 0 / 1 on the first try · solved 1 / 6"
    assert quiz.radio.disabled and quiz.check_button.disabled and quiz.reveal_button.disabled
    quiz.check_button.click()  # a closed question ignores further checks
    assert quiz.attempts["resnet-002"] == 2
    entry = ProgressStore().load()["resnet-002"]
    assert (entry.attempts, entry.correct) == (1, 0)  # only the first try is recorded


def test_multiple_choice_with_checkboxes(quiz: QuizWidget) -> None:
    quiz.next()
    quiz.next()  # resnet-003: choices 1 and 3
    assert len(quiz.checkboxes) == 4 and all(isinstance(b, ipywidgets.Checkbox) for b in quiz.checkboxes)
    quiz.checkboxes[0].value = True
    quiz.check_button.click()
    assert "You picked 1 of the 2 correct options and 0 wrong one(s)." in quiz.feedback_text
    quiz.checkboxes[2].value = True
    quiz.check_button.click()
    assert "✓ Correct" in quiz.feedback_text
    assert quiz.score_text.endswith("solved 1 / 6") and quiz.score.correct == 0


def test_numeric_text_box(quiz: QuizWidget) -> None:
    for _ in range(3):
        quiz.next()
    assert quiz.question.id == "resnet-004" and quiz.number_input is not None
    quiz.number_input.value = "lots"
    quiz.check_button.click()
    assert "'lots' is not a number" in quiz.feedback_text
    assert quiz.score.answered == 0  # a format problem is not an attempt
    quiz.select("589,824")
    quiz.check_button.click()
    assert "✓ Correct" in quiz.feedback_text and quiz.score.correct == 1


def test_show_answer_counts_as_a_miss_and_finish_summary(quiz: QuizWidget) -> None:
    quiz.select(0)
    quiz.check()  # resnet-001 right on the first try
    quiz.next_button.click()
    quiz.reveal_button.click()  # resnet-002 shown without answering
    assert "Correct answer: 2. Choice 2 of resnet-002" in quiz.feedback_text
    assert "recorded as missed" in quiz.feedback_text
    assert "Explanation of resnet-002" in quiz.feedback_text
    assert quiz.score_text == "Score: 1 / 2 on the first try · solved 1 / 6"
    for _ in range(4):
        quiz.next_button.click()
    assert quiz.question.id == "senet-002" and not quiz.finished
    quiz.next_button.click()
    assert quiz.finished and quiz.next_button.disabled and quiz.choices.children == ()
    assert "Finished. First-try score 1 / 2 (50%)." in quiz.header.value
    assert "Missed: resnet-002" in quiz.prompt.value
    with pytest.raises(CourseError, match="finished"):
        quiz.select(0)
    items = ProgressStore().load()
    assert {i: e.correct for i, e in items.items()} == {"resnet-001": 1, "resnet-002": 0}


def test_check_without_a_choice_asks_for_one(quiz: QuizWidget) -> None:
    quiz.check()
    assert quiz.feedback_text == "Choose an answer, then press Check."
    assert quiz.score.answered == 0


def test_japanese_labels_and_no_store(small_bank: Path) -> None:
    quiz = QuizWidget(load_bank("senet", directory=small_bank), lang="ja", record_progress=False)
    assert [label for label, _ in quiz.radio.options] == ["○", "×"]
    assert quiz.check_button.description == "答え合わせ" and quiz.next_button.description == "次へ"
    quiz.select(1)
    quiz.check()
    assert "✓ 正解" in quiz.feedback_text
    assert quiz.score_text == "得点: 初回正解 1 / 1 ・ 解決 1 / 2"
    assert ProgressStore().load() == {}


def test_unsaveable_progress_does_not_break_the_quiz(small_bank: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("", encoding="utf-8")
    store = ProgressStore(blocker / "x" / "p.json")
    quiz = QuizWidget(load_bank("senet", directory=small_bank), lang="en", store=store)
    quiz.select(1)
    quiz.check()
    assert "✓ Correct" in quiz.feedback_text and "progress could not be saved" in quiz.feedback_text


def test_html_is_escaped(tmp_path: Path, kit: Any) -> None:
    item = kit.single_item("resnet-001", "resnet", correct=0)
    item["prompt"]["en"] = "Is <b>x</b> & y < z?"
    kit.write_bank(tmp_path, "resnet", [item])
    quiz = QuizWidget(load_bank(directory=tmp_path), lang="en", record_progress=False)
    assert "Is &lt;b&gt;x&lt;/b&gt; &amp; y &lt; z?" in quiz.prompt.value
    assert "&lt;b&gt;" in render_html(load_bank(directory=tmp_path), "en")


def test_text_fallback_puts_answers_at_the_end(small_bank: Path) -> None:
    questions = load_bank(directory=small_bank)
    text = render_text(questions, "en")
    questions_part, answers_part = text.split("Answers and explanations")
    assert "Statement of resnet-001" in questions_part and "1. True (o)" in questions_part
    assert "Explanation of" not in questions_part and "Feedback" not in questions_part
    assert "[2] resnet-002: 2. Choice 2 of resnet-002" in answers_part
    assert "[4] resnet-004: 589,824 parameters" in answers_part
    assert "Explanation of senet-002" in answers_part
    html = render_html(questions, "ja")
    assert html.count("<details>") == 6 and html.count("</details>") == 6
    before_first_details = html.split("<details>")[0]
    assert "resnet-001 の記述" in before_first_details and "resnet-001 の解説" not in before_first_details


def test_show_prints_text_outside_a_notebook(small_bank: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    output = io.StringIO()
    show("senet", lang="en", directory=small_bank, output=output)  # pytest runs without an IPython kernel
    assert output.getvalue().startswith("Quiz (widgets are not available here, so it is shown as text)")
    assert "Statement of senet-001" in output.getvalue()
    output = io.StringIO()
    show(load_bank("resnet", directory=small_bank), lang="ja", n=2, seed=1, output=output)
    assert output.getvalue().count("[1/2]") == 1 and "[2/2]" in output.getvalue()
    with pytest.raises(CourseError, match="chapter name"):
        show([1, 2], directory=small_bank)  # type: ignore[list-item]


class _FakeKernelShell:
    kernel = object()


def test_show_in_a_kernel_displays_widget_with_static_fallback(
    small_bank: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shown: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr("IPython.get_ipython", lambda: _FakeKernelShell())
    monkeypatch.setattr("IPython.display.display", lambda obj, **kw: shown.append((obj, kw)))
    monkeypatch.delenv("CNNCOURSE_NO_WIDGETS", raising=False)
    assert quiz_widget.widgets_available()
    show("senet", lang="en", directory=small_bank)
    (bundle, options), = shown
    assert options == {"raw": True}
    model_id = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    from ipywidgets.widgets import widget as widget_module

    # the registry of live widgets: ``_instances`` in ipywidgets 8, ``Widget.widgets`` in 7 (Colab)
    live_widgets = getattr(widget_module, "_instances", None) or widget_module.Widget.widgets
    container = live_widgets[model_id]
    assert isinstance(container, ipywidgets.VBox) and "cnncourse-quiz" in container._dom_classes
    assert "<details>" in bundle["text/html"] and "Statement of senet-001" in bundle["text/plain"]

    shown.clear()
    monkeypatch.setenv("CNNCOURSE_NO_WIDGETS", "1")  # e.g. a static renderer build
    assert not quiz_widget.widgets_available()
    show("senet", lang="en", directory=small_bank)
    (html_object, _), = shown
    assert "<details>" in html_object.data


def test_runs_against_the_ipywidgets_major_version_the_run_asked_for() -> None:
    """course.py runs this file twice: with ipywidgets 8 and, shadowing it, with Colab's 7.7."""
    expected = os.environ.get("CNNCOURSE_EXPECT_IPYWIDGETS", ipywidgets.__version__.split(".")[0])
    assert ipywidgets.__version__.split(".")[0] == expected, ipywidgets.__version__
