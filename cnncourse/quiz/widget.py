"""The quiz in a notebook: an ipywidgets quiz, or folded text where widgets cannot run.

``cnncourse.quiz.show("resnet", lang="ja")`` shows one question at a time: the prompt, the choices
(radio buttons for ○/× and single choice, check boxes for multiple choice, a text box for numbers), a
Check button, the feedback on the chosen option(s), the explanation once the question is solved or its
answer is shown, a running score, and Next. A wrong answer may be corrected and checked again; the score
counts first tries (what an exam would count) and, separately, how many questions were solved. Every
first try is recorded in the progress file.

Compatibility: only widget APIs that ipywidgets 7.7 (Colab) and 8 (JupyterLab 4) share are used
(``observe(..., names="value")``, ``Button.on_click``, ``layout`` for sizes, ``add_class``).
The widget is displayed together with an HTML rendering of the same questions with the answers folded
in ``<details>``: live front ends draw the widget, static renderers (GitHub, nbviewer, a notebook saved
without widget state) show the HTML. Without a kernel front end (a plain console, a missing ipywidgets,
or ``CNNCOURSE_NO_WIDGETS=1``) the quiz is printed as text with the answers at the end.

All logic lives in :class:`QuizWidget`, whose handlers can be driven from a test without a browser.
"""

from __future__ import annotations

import html
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from cnncourse.errors import CourseError
from cnncourse.quiz.bank import Question, chapter_title, check_language, load_bank
from cnncourse.quiz.engine import (
    Answer,
    AnswerFormatError,
    Result,
    Score,
    check_answer,
    correct_answer_text,
    format_hint,
    message,
    option_label,
    parse_answer,
    pick_questions,
    shuffle_all_options,
    question_text,
)
from cnncourse.quiz.code_render import code_html
from cnncourse.quiz.progress import ProgressStore

NO_WIDGETS_ENV = "CNNCOURSE_NO_WIDGETS"

_WIDGET_TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "pick_first": "選択肢を選んでから「答え合わせ」を押す。",
        "try_again": "もう一度選び直すか、「答えを見る」を押す。",
        "score_line": "得点: 初回正解 {first} / {answered} ・ 解決 {solved} / {total}",
        "finished": "終了。初回正解 {first} / {answered} 問 ({percent:.0f}%)。",
        "missed": "間違えた問題",
        "progress_failed": "(進捗を保存できなかった: {error})",
        "counted_wrong": "答えを見たので、この問題は初回不正解として記録した。",
        "fallback_intro": "クイズ (ウィジェットを表示できない環境のため、テキストで表示する)",
    },
    "en": {
        "pick_first": "Choose an answer, then press Check.",
        "try_again": "Choose again, or press Show answer.",
        "score_line": "Score: {first} / {answered} on the first try · solved {solved} / {total}",
        "finished": "Finished. First-try score {first} / {answered} ({percent:.0f}%).",
        "missed": "Missed",
        "progress_failed": "(progress could not be saved: {error})",
        "counted_wrong": "The answer was shown, so this question is recorded as missed on the first try.",
        "fallback_intro": "Quiz (widgets are not available here, so it is shown as text)",
    },
}

# Long option texts must wrap instead of running off the side; scoped to the quiz by a CSS class.
_STYLE = """<style>
.cnncourse-quiz .widget-radio-box label { display: flex !important; align-items: baseline;
  height: auto !important; line-height: 1.4 !important; white-space: normal !important; margin-bottom: 4px; }
.cnncourse-quiz .widget-radio-box input { float: none !important; flex: none; order: -1;
  height: auto !important; margin: 0 8px 0 1px !important; }
.cnncourse-quiz .widget-checkbox, .cnncourse-quiz .widget-checkbox label { height: auto !important;
  line-height: 1.4 !important; white-space: normal !important; align-items: baseline; }
.cnncourse-quiz .widget-checkbox label.widget-label-basic { display: flex !important; }
.cnncourse-quiz .widget-checkbox input { align-self: baseline !important; flex-grow: 0 !important; }
.cnncourse-quiz .widget-html-content { line-height: 1.5 !important; }
</style>"""


def _w(key: str, lang: str) -> str:
    return _WIDGET_TEXT[lang][key]


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def _strip_tags(markup: str) -> str:
    text = re.sub(r"<style>.*?</style>", "", markup, flags=re.S)
    text = re.sub(r"<br\s*/?>|</p>|</li>|</div>", "\n", text)
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()


class QuizWidget:
    """A one-question-at-a-time quiz over ``questions`` built from ipywidgets.

    Test and script hooks (the same handlers the buttons call): :meth:`select`, :meth:`check`,
    :meth:`show_answer`, :meth:`next`; read :attr:`feedback_text`, :attr:`score_text`, :attr:`score`.

    Args:
        questions: the questions, in the order to ask them.
        lang: "ja" or "en".
        store: where first tries are recorded (default: the learner's progress file).
        record_progress: False records nothing (a demonstration, a teacher's screen).
    """

    def __init__(
        self,
        questions: Sequence[Question],
        *,
        lang: str = "ja",
        store: ProgressStore | None = None,
        record_progress: bool = True,
    ) -> None:
        import ipywidgets as widgets

        if not questions:
            raise CourseError(
                "The quiz has no questions; pass a chapter name or a non-empty list of questions."
            )
        self._widgets = widgets
        self.questions = list(questions)
        self.lang = check_language(lang)
        self.store = (store or ProgressStore()) if record_progress else None
        self.score = Score()
        self.solved: set[str] = set()
        self.attempts: dict[str, int] = {}
        self.index = 0
        self.finished = False
        self._question_closed = False
        self._last_result: Result | None = None

        full_width = widgets.Layout(width="100%")
        self.header = widgets.HTML(layout=full_width)
        self.prompt = widgets.HTML(layout=full_width)
        self.choices = widgets.VBox(layout=full_width)
        self.check_button = widgets.Button(
            description=message("check", lang), button_style="primary", disabled=True
        )
        self.reveal_button = widgets.Button(description=message("show_answer", lang))
        self.next_button = widgets.Button(description=message("next", lang))
        self.feedback = widgets.HTML(layout=full_width)
        self.score_label = widgets.HTML(layout=full_width)
        self.check_button.on_click(lambda _button: self.check())
        self.reveal_button.on_click(lambda _button: self.show_answer())
        self.next_button.on_click(lambda _button: self.next())
        self.buttons = widgets.HBox([self.check_button, self.reveal_button, self.next_button])
        self.container = widgets.VBox(
            [self.header, self.prompt, self.choices, self.buttons, self.feedback, self.score_label],
            layout=widgets.Layout(width="100%", max_width="900px"),
        )
        self.container.add_class("cnncourse-quiz")
        self.radio: Any = None
        self.checkboxes: list[Any] = []
        self.number_input: Any = None
        self._render_question()
        self._update_score()

    # ------------------------------------------------------------------ what the learner sees
    @property
    def question(self) -> Question:
        return self.questions[self.index]

    @property
    def feedback_text(self) -> str:
        """The feedback area as plain text (what a learner reads)."""
        return _strip_tags(self.feedback.value)

    @property
    def score_text(self) -> str:
        return _strip_tags(self.score_label.value)

    def _render_question(self) -> None:
        widgets, question, lang = self._widgets, self.question, self.lang
        self._question_closed = False
        self._last_result = None
        self.header.value = (
            f"{_STYLE}<b>{message('question', lang)} {self.index + 1} / {len(self.questions)}</b>"
            f" · {_escape(chapter_title(question.chapter, lang))} · {_escape(message(question.kind, lang))}"
            f" <span style='color:#888'>({_escape(question.id)})</span>"
        )
        self.prompt.value = f"<p style='font-size:1.05em'>{_escape(question.prompt.get(lang))}</p>" + (
            code_html(question.code) if question.code is not None else ""
        )
        self.radio, self.checkboxes, self.number_input = None, [], None
        if question.kind in ("true_false", "single", "code"):
            self.radio = widgets.RadioButtons(
                options=[(option_label(question, i, lang), i) for i in range(len(question.options))],
                index=None,
                layout=widgets.Layout(width="100%"),
            )
            self.radio.observe(self._on_choice_change, names="value")
            self.choices.children = (self.radio,)
        elif question.kind == "multiple":
            self.checkboxes = [
                widgets.Checkbox(
                    value=False,
                    description=option.text.get(lang),
                    indent=False,
                    layout=widgets.Layout(width="100%"),
                )
                for option in question.options
            ]
            for box in self.checkboxes:
                box.observe(self._on_choice_change, names="value")
            self.choices.children = tuple(self.checkboxes)
        else:
            unit = f" {question.unit.get(lang)}" if question.unit is not None else ""
            self.number_input = widgets.Text(
                value="", placeholder=format_hint(question, lang), layout=widgets.Layout(width="60%")
            )
            self.number_input.observe(self._on_choice_change, names="value")
            self.choices.children = (self.number_input, widgets.HTML(_escape(unit)))
        self.feedback.value = ""
        self.check_button.disabled = True
        self.reveal_button.disabled = False
        self.next_button.disabled = False

    def _on_choice_change(self, change: dict[str, Any]) -> None:
        """Observer on the inputs: Check is available once something is chosen; stale feedback is cleared."""
        if self._question_closed:
            return
        self.check_button.disabled = self._current_answer_or_none() is None
        if self._last_result is not None:
            self.feedback.value = ""
            self._last_result = None

    def _current_answer_or_none(self) -> Answer | str | None:
        if self.radio is not None:
            return self.radio.value
        if self.checkboxes:
            chosen = frozenset(i for i, box in enumerate(self.checkboxes) if box.value)
            return chosen or None
        text = self.number_input.value.strip()
        return text or None

    # ------------------------------------------------------------------ handlers
    def select(self, answer: Answer | Sequence[int] | str) -> None:
        """Choose like a learner: an option index, a set of indices (multiple), or text/a number (numeric)."""
        if self.finished:
            raise CourseError("The quiz is finished; there is no question to answer.")
        if self.radio is not None:
            self.radio.value = int(answer)  # type: ignore[arg-type]
        elif self.checkboxes:
            indices = [answer] if isinstance(answer, int) else list(answer)  # type: ignore[arg-type]
            wanted = {int(index) for index in indices}
            for i, box in enumerate(self.checkboxes):
                box.value = i in wanted
        else:
            self.number_input.value = str(answer)

    def check(self) -> Result | None:
        """The Check button: judge the current choice, show feedback, update score and progress."""
        if self.finished or self._question_closed:
            return None
        question, lang = self.question, self.lang
        raw = self._current_answer_or_none()
        if raw is None:
            self.feedback.value = f"<i>{_escape(_w('pick_first', lang))}</i>"
            return None
        try:
            answer = parse_answer(question, raw, lang) if isinstance(raw, str) else raw
        except AnswerFormatError as hint:
            self.feedback.value = f"<i>{_escape(str(hint))}</i>"
            return None
        result = check_answer(question, answer)
        self._last_result = result
        first_try = question.id not in self.attempts
        self.attempts[question.id] = self.attempts.get(question.id, 0) + 1
        note = ""
        if first_try:
            self.score.record(result)
            note = self._record_progress(question, result.correct)
        parts = [self._verdict_html(result)]
        parts += self._chosen_feedback_html(result)
        if result.correct:
            self.solved.add(question.id)
            self._close_question()
            parts.append(self._explanation_html(question))
        else:
            parts.append(f"<p><i>{_escape(_w('try_again', lang))}</i></p>")
        if note:
            parts.append(f"<p><small>{_escape(note)}</small></p>")
        self.feedback.value = "".join(parts)
        self._update_score()
        return result

    def show_answer(self) -> None:
        """The Show answer button: reveal the correct answer and the explanation, and close the question."""
        if self.finished or self._question_closed:
            return
        question, lang = self.question, self.lang
        parts = []
        if question.id not in self.attempts:
            # Looking before answering counts as a miss: the score and the review schedule stay honest.
            self.attempts[question.id] = 0
            self.score.record_outcome(question, False)
            note = self._record_progress(question, False)
            parts.append(f"<p><i>{_escape(_w('counted_wrong', lang))}</i></p>")
            if note:
                parts.append(f"<p><small>{_escape(note)}</small></p>")
        parts.insert(
            0,
            f"<p><b>{_escape(message('correct_answer', lang))}:</b> "
            f"{_escape(correct_answer_text(question, lang))}</p>",
        )
        if question.options:
            parts.append("<ul>")
            for i, option in enumerate(question.options):
                mark = "○" if option.correct else "×"
                parts.append(
                    f"<li>{mark} {_escape(option_label(question, i, lang))}: "
                    f"{_escape(option.feedback.get(lang))}</li>"
                )
            parts.append("</ul>")
        parts.append(self._explanation_html(question))
        self._close_question()
        self.feedback.value = "".join(parts)
        self._update_score()

    def next(self) -> None:
        """The Next button: the next question, or the final summary after the last one."""
        if self.finished:
            return
        if self.index + 1 < len(self.questions):
            self.index += 1
            self._render_question()
        else:
            self._finish()
        self._update_score()

    # ------------------------------------------------------------------ internals
    def _close_question(self) -> None:
        self._question_closed = True
        self.check_button.disabled = True
        self.reveal_button.disabled = True
        for control in [self.radio, self.number_input, *self.checkboxes]:
            if control is not None:
                control.disabled = True

    def _record_progress(self, question: Question, correct: bool) -> str:
        if self.store is None:
            return ""
        try:
            self.store.record(question.id, correct)
        except (CourseError, OSError) as error:  # a read-only home must not break the quiz
            return _w("progress_failed", self.lang).format(error=error)
        return ""

    def _verdict_html(self, result: Result) -> str:
        if result.correct:
            verdict = _escape(message("correct", self.lang))
            return f"<p class='cq-correct' style='color:#1a7f37;font-weight:bold'>✓ {verdict}</p>"
        return f"<p class='cq-wrong' style='color:#b42318;font-weight:bold'>✗ {_escape(message('wrong', self.lang))}</p>"

    def _chosen_feedback_html(self, result: Result) -> list[str]:
        question, lang = result.question, self.lang
        if question.kind == "numeric":
            return []
        chosen = sorted(result.answer) if isinstance(result.answer, frozenset) else [int(result.answer)]
        items = [
            f"<li><b>{_escape(option_label(question, i, lang))}</b>: {_escape(feedback.get(lang))}</li>"
            for i, feedback in zip(chosen, result.feedback)
        ]
        parts = [f"<ul>{''.join(items)}</ul>"]
        if question.kind == "multiple" and not result.correct:
            hit = len(set(chosen) & question.correct_indices)
            parts.append(
                "<p>"
                + _escape(
                    message("picked_of_correct", lang).format(
                        hit=hit, total=len(question.correct_indices), wrong=len(chosen) - hit
                    )
                )
                + "</p>"
            )
        return parts

    def _explanation_html(self, question: Question) -> str:
        lang = self.lang
        references = "; ".join(question.references)
        return (
            f"<p><b>{_escape(message('explanation', lang))}:</b> "
            f"{_escape(question.explanation.get(lang))}</p>"
            f"<p><small>{_escape(message('references', lang))}: {_escape(references)}</small></p>"
        )

    def _update_score(self) -> None:
        self.score_label.value = "<b>" + _escape(
            _w("score_line", self.lang).format(
                first=self.score.correct,
                answered=self.score.answered,
                solved=len(self.solved),
                total=len(self.questions),
            )
        ) + "</b>"

    def _finish(self) -> None:
        self.finished = True
        lang = self.lang
        finished = _w("finished", lang).format(
            first=self.score.correct, answered=self.score.answered, percent=self.score.percent
        )
        self.header.value = f"{_STYLE}<b>{_escape(finished)}</b>"
        rows = []
        for chapter in self.score.chapters_in_course_order():
            entry = self.score.by_chapter[chapter]
            rows.append(
                f"<tr><td>{_escape(chapter_title(chapter, lang))}</td><td>{entry.correct} / "
                f"{entry.answered}</td>"
                f"<td>{entry.percent:.0f}%</td></tr>"
            )
        summary = f"<table>{''.join(rows)}</table>" if rows else ""
        if self.score.missed:
            missed = ", ".join(_escape(q.id) for q in self.score.missed)
            summary += f"<p>{_escape(_w('missed', lang))}: {missed}</p>"
        self.prompt.value = summary
        self.choices.children = ()
        self.feedback.value = ""
        self.check_button.disabled = True
        self.reveal_button.disabled = True
        self.next_button.disabled = True

    def mimebundle(self) -> dict[str, Any]:
        """Display data: the live widget, plus folded HTML and plain text for renderers without widgets."""
        return {
            "application/vnd.jupyter.widget-view+json": {
                "version_major": 2,
                "version_minor": 0,
                "model_id": self.container.model_id,
            },
            "text/html": render_html(self.questions, self.lang),
            "text/plain": render_text(self.questions, self.lang),
        }


# ---------------------------------------------------------------------------------------------- fallbacks
def render_text(questions: Sequence[Question], lang: str = "ja") -> str:
    """Plain text: every question with its options, then the answers and explanations at the end."""
    check_language(lang)
    lines = [_w("fallback_intro", lang), ""]
    for number, question in enumerate(questions, start=1):
        lines += [question_text(question, lang, number=number, total=len(questions)), ""]
    lines += ["=" * 60, message("answers", lang), "=" * 60]
    for number, question in enumerate(questions, start=1):
        lines.append(f"[{number}] {question.id}: {correct_answer_text(question, lang)}")
        for i, option in enumerate(question.options):
            mark = "○" if option.correct else "×"
            lines.append(f"    {mark} {i + 1}. {option.feedback.get(lang)}")
        lines.append(f"    {message('explanation', lang)}: {question.explanation.get(lang)}")
        lines.append(f"    {message('references', lang)}: " + "; ".join(question.references))
        lines.append("")
    return "\n".join(lines)


def render_html(questions: Sequence[Question], lang: str = "ja") -> str:
    """HTML with each question's answer, per-option feedback and explanation folded in ``<details>``."""
    check_language(lang)
    parts = [f"<div class='cnncourse-quiz-static'><p><b>{_escape(_w('fallback_intro', lang))}</b></p>"]
    for number, question in enumerate(questions, start=1):
        parts.append(
            f"<div style='margin-bottom:1em'><p><b>{number}. </b>{_escape(question.prompt.get(lang))}"
            f" <small>({_escape(question.id)} · {_escape(message(question.kind, lang))})</small></p>"
            + (code_html(question.code) if question.code is not None else "")
        )
        if question.options:
            items = "".join(
                f"<li>{_escape(option_label(question, i, lang))}</li>" for i in range(len(question.options))
            )
            parts.append(f"<ol>{items}</ol>")
        elif question.unit is not None:
            parts.append(f"<p>({_escape(question.unit.get(lang))})</p>")
        feedback = "".join(
            f"<li>{'○' if option.correct else '×'} {_escape(option.feedback.get(lang))}</li>"
            for option in question.options
        )
        parts.append(
            f"<details><summary>{_escape(message('correct_answer', lang))}</summary>"
            f"<p><b>{_escape(correct_answer_text(question, lang))}</b></p>"
            + (f"<ol>{feedback}</ol>" if feedback else "")
            + f"<p>{_escape(message('explanation', lang))}: {_escape(question.explanation.get(lang))}</p>"
            f"<p><small>{_escape(message('references', lang))}: "
            f"{_escape('; '.join(question.references))}</small></p>"
            "</details></div>"
        )
    parts.append("</div>")
    return "".join(parts)


def widgets_available() -> bool:
    """True when a notebook front end can draw ipywidgets (a kernel, ipywidgets installed, not disabled)."""
    if os.environ.get(NO_WIDGETS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        return False
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return _in_kernel()


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _resolve_questions(
    source: str | Sequence[str] | Sequence[Question] | None, directory: str | Path | None
) -> list[Question]:
    if isinstance(source, str) or source is None:
        return load_bank(source, directory=directory)
    items = list(source)
    if items and all(isinstance(item, Question) for item in items):
        return items  # type: ignore[return-value]
    if all(isinstance(item, str) for item in items):
        return load_bank(items, directory=directory)  # type: ignore[arg-type]
    raise CourseError("show() takes a chapter name, a list of chapter names, or a list of Question objects.")


def show(
    chapter: str | Sequence[str] | Sequence[Question] | None = None,
    lang: str = "ja",
    n: int | None = None,
    seed: int | None = None,
    *,
    directory: str | Path | None = None,
    record_progress: bool = True,
    output: TextIO | None = None,
) -> None:
    """Show a quiz: ``chapter`` is a chapter slug (e.g. "resnet"), several slugs, or a list of questions.

    ``n`` asks at most ``n`` questions (a random pick, repeatable with ``seed``); the options of
    choice items are shuffled on every call (repeatable with ``seed``); ``directory`` reads
    the bank from another folder. Draws widgets in a notebook; elsewhere prints the quiz as text
    (to ``output``, standard output by default) with the answers at the end.
    """
    check_language(lang)
    # Options are shuffled per attempt (○× keeps ○ first); the same seed gives the same order.
    questions = shuffle_all_options(pick_questions(_resolve_questions(chapter, directory), n, seed), seed)
    if not questions:
        raise CourseError("There are no questions to show.")
    if widgets_available():
        from IPython.display import display

        quiz = QuizWidget(questions, lang=lang, record_progress=record_progress)
        display(quiz.mimebundle(), raw=True)
        return
    if _in_kernel():
        from IPython.display import HTML, display

        display(HTML(render_html(questions, lang)))
        return
    print(render_text(questions, lang), file=output or sys.stdout)


__all__ = ["NO_WIDGETS_ENV", "QuizWidget", "render_html", "render_text", "show", "widgets_available"]
