"""Checking answers, reading typed answers, and keeping score.

The widget, the command-line drill and the mock exam all go through these functions, so an answer is
judged the same way everywhere:

* ``true_false`` / ``single``: the index (0-based) of the chosen option;
* ``multiple``: the set of chosen indices, which must equal the set of correct ones exactly;
* ``numeric``: a number within the item's absolute tolerance.

:func:`parse_answer` turns what a learner types ("1", "1,3", "o", "×", "3.5e6", "2,359,296", full-width
digits from a Japanese input method) into such an answer, or raises :class:`AnswerFormatError` with a hint
in the learner's language.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from cnncourse.errors import CourseError
from cnncourse.quiz.bank import COURSE_CHAPTERS, LocalizedText, Question, check_language

#: An answer as the engine takes it: an option index, a set of option indices, or a number.
Answer = int | frozenset[int] | float

_TRUE_WORDS = {"o", "○", "〇", "◯", "t", "true", "y", "yes", "maru", "まる", "正", "正しい"}
_FALSE_WORDS = {"x", "×", "✕", "✗", "f", "false", "n", "no", "batsu", "ばつ", "バツ", "誤", "誤り"}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_LIST_SEPARATORS = re.compile(r"[\s,、;/]+")


class AnswerFormatError(CourseError):
    """Typed text that is not an answer of the right form; the message is a hint in the learner's language."""


@dataclass(frozen=True)
class Result:
    """The verdict on one answer, with everything needed to show feedback."""

    question: Question
    answer: Answer
    correct: bool
    #: Feedback of each chosen option (empty for numeric items).
    feedback: tuple[LocalizedText, ...]

    @property
    def explanation(self) -> LocalizedText:
        return self.question.explanation


def check_answer(question: Question, answer: Answer | Iterable[int]) -> Result:
    """Judge ``answer`` for ``question``: see the module docstring for the form per kind.

    A malformed answer (an index out of range, a set for a single-choice item, ...) raises
    :class:`~cnncourse.errors.CourseError`.
    """
    if question.kind == "numeric":
        if isinstance(answer, bool) or not isinstance(answer, (int, float)):
            raise CourseError(f"{question.id} is a numeric question: answer with a number, not {answer!r}.")
        value = float(answer)
        if not math.isfinite(value):
            raise CourseError(f"{question.id}: the answer must be a finite number, got {answer!r}.")
        assert question.answer is not None  # guaranteed by the bank schema
        # The relative term only absorbs float rounding (0.1 + 0.2); the tolerance is the item's own.
        correct = math.isclose(value, question.answer, rel_tol=1e-12, abs_tol=question.tolerance)
        return Result(question, value, correct, ())

    count = len(question.options)
    if question.kind == "multiple":
        if isinstance(answer, (int, float, str)) and not isinstance(answer, bool):
            chosen = frozenset({_option_index(answer, count, question)})
        else:
            try:
                indices = list(answer)  # type: ignore[arg-type]
            except TypeError:
                raise CourseError(
                    f"{question.id}: answer with a set of option indices, not {answer!r}."
                ) from None
            chosen = frozenset(_option_index(index, count, question) for index in indices)
        if not chosen:
            raise CourseError(f"{question.id}: choose at least one option.")
        correct = chosen == question.correct_indices
        feedback = tuple(question.options[index].feedback for index in sorted(chosen))
        return Result(question, chosen, correct, feedback)

    index = _option_index(answer, count, question)
    return Result(question, index, question.options[index].correct, (question.options[index].feedback,))


def _option_index(value: object, count: int, question: Question) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CourseError(f"{question.id}: an option is chosen by its index 0..{count - 1}, not {value!r}.")
    if not 0 <= value < count:
        raise CourseError(
            f"{question.id}: option index {value} is out of range; the item has {count} options."
        )
    return value


def _normalize(text: str) -> str:
    # NFKC turns full-width digits, letters and commas from a Japanese input method into ASCII.
    return unicodedata.normalize("NFKC", text).strip()


#: How to type an answer (hints) and what was wrong with a typed one, per language.
_FORMAT_TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "true_false": "○ なら o か 1、× なら x か 2 と入力する",
        "single": "選択肢の番号 (1〜{count}) を1つ入力する",
        "code": "空欄に入るコードの番号 (1〜{count}) を1つ入力する",
        "multiple": "正しい選択肢の番号 (1〜{count}) をすべて、カンマ区切りで入力する (例: 1,3)",
        "numeric": "数値を入力する (例: 2359296, 2,359,296, 2.36e6)",
        "empty": "回答が空である。",
        "not_number": "「{text}」は数値として読めない。",
        "not_true_false": "「{text}」は ○/× の答えではない。",
        "not_option": "「{text}」は選択肢の番号ではない。",
        "only_one": "選べるのは1つだけである。",
    },
    "en": {
        "true_false": "type o (or 1) for True, x (or 2) for False",
        "single": "type the option number, 1–{count}",
        "code": "type the number of the code that fills the blank, 1–{count}",
        "multiple": "type every correct option number (1–{count}), separated by commas, e.g. 1,3",
        "numeric": "type a number, e.g. 2359296, 2,359,296 or 2.36e6",
        "empty": "The answer is empty: ",
        "not_number": "{text!r} is not a number: ",
        "not_true_false": "{text!r} is not True/False: ",
        "not_option": "{text!r} is not an option number: ",
        "only_one": "Choose exactly one option: ",
    },
}


def format_hint(question: Question, lang: str = "en") -> str:
    """How to type an answer to ``question``, in ``lang``."""
    return _FORMAT_TEXT[check_language(lang)][question.kind].format(count=len(question.options))


def _format_error(question: Question, lang: str, problem: str, text: str = "") -> AnswerFormatError:
    """The problem with typed ``text`` followed by the hint: what a learner needs to type it again."""
    problem_text = _FORMAT_TEXT[lang][problem].format(text=text.strip())
    return AnswerFormatError(problem_text + format_hint(question, lang) + ("。" if lang == "ja" else "."))


def parse_answer(question: Question, text: str, lang: str = "en") -> Answer:
    """Turn typed text into an answer for :func:`check_answer` (option numbers are 1-based as shown).

    Raises :class:`AnswerFormatError` whose message is a hint in ``lang`` on how to type the answer.

    >>> from cnncourse.quiz.bank import LocalizedText as T, Option, Question
    >>> yes, no = Option(T("○", "True"), True, T("-", "-")), Option(T("×", "False"), False, T("-", "-"))
    >>> tf = Question("x-001", "x", "true_false", T("?", "?"), T("-", "-"), ("ref",), (yes, no))
    >>> parse_answer(tf, "×"), parse_answer(tf, "O"), parse_answer(tf, "1")
    (1, 0, 0)
    """
    check_language(lang)
    normalized = _normalize(text)
    if not normalized:
        raise _format_error(question, lang, "empty")
    if question.kind == "numeric":
        value = parse_number(normalized)
        if value is None:
            raise _format_error(question, lang, "not_number", text)
        return value
    if question.kind == "true_false":
        word = normalized.lower()
        if word in _TRUE_WORDS or word == "1":
            return 0
        if word in _FALSE_WORDS or word == "2":
            return 1
        raise _format_error(question, lang, "not_true_false", text)
    numbers = []
    for part in _LIST_SEPARATORS.split(normalized):
        if not part:
            continue
        if not part.isdigit() or not 1 <= int(part) <= len(question.options):
            raise _format_error(question, lang, "not_option", part)
        numbers.append(int(part) - 1)
    if question.kind in ("single", "code"):
        if len(set(numbers)) != 1:
            raise _format_error(question, lang, "only_one")
        return numbers[0]
    return frozenset(numbers)


def parse_number(text: str) -> float | None:
    """Read a number as a learner types it ("2359296", "2,359,296", "2 359 296", "3.5e6", "１２"), else None.

    A comma is read as a thousands separator only in valid groups of three, so "3,5" (a decimal comma)
    is rejected instead of silently becoming 35.

    >>> parse_number("2,359,296"), parse_number("3.5e6"), parse_number("1_000"), parse_number("3,5")
    (2359296.0, 3500000.0, 1000.0, None)
    """
    candidate = _normalize(text).replace(" ", "").replace("_", "")
    if "," in candidate:
        if not _THOUSANDS.match(candidate):
            return None
        candidate = candidate.replace(",", "")
    try:
        value = float(candidate)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def format_number(value: float) -> str:
    """A number for display: integers with thousands separators, others with up to 6 significant digits.

    >>> format_number(2359296.0), format_number(0.25)
    ('2,359,296', '0.25')
    """
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return f"{value:.6g}"


def correct_answer_text(question: Question, lang: str = "en") -> str:
    """The correct answer as a learner would read it: option numbers and texts, or the number and unit."""
    check_language(lang)
    if question.kind == "numeric":
        assert question.answer is not None
        text = format_number(question.answer)
        if question.tolerance:
            text += f" (± {format_number(question.tolerance)})"
        if question.unit is not None:
            text += f" {question.unit.get(lang)}"
        return text
    return "; ".join(
        f"{index + 1}. {question.options[index].text.get(lang)}" for index in sorted(question.correct_indices)
    )


@dataclass
class ChapterScore:
    """Correct and answered counts of one chapter."""

    correct: int = 0
    answered: int = 0

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.answered if self.answered else 0.0


@dataclass
class Score:
    """A running score: first answers only, per chapter, with the items that were missed."""

    by_chapter: dict[str, ChapterScore] = field(default_factory=dict)
    missed: list[Question] = field(default_factory=list)

    def record(self, result: Result) -> None:
        """Count one judged answer."""
        self.record_outcome(result.question, result.correct)

    def record_outcome(self, question: Question, correct: bool) -> None:
        """Count ``question`` as answered right or wrong (e.g. wrong when its answer was shown unanswered)."""
        entry = self.by_chapter.setdefault(question.chapter, ChapterScore())
        entry.answered += 1
        if correct:
            entry.correct += 1
        else:
            self.missed.append(question)

    @property
    def correct(self) -> int:
        return sum(entry.correct for entry in self.by_chapter.values())

    @property
    def answered(self) -> int:
        return sum(entry.answered for entry in self.by_chapter.values())

    @property
    def percent(self) -> float:
        return 100.0 * self.correct / self.answered if self.answered else 0.0

    def chapters_in_course_order(self) -> list[str]:
        known = [chapter for chapter in COURSE_CHAPTERS if chapter in self.by_chapter]
        return known + sorted(set(self.by_chapter) - set(known))


#: Words every front end (widget, drill, exam, text fallback) shows, per language.
MESSAGES: dict[str, dict[str, str]] = {
    "ja": {
        "true_false": "○×問題",
        "single": "単一選択",
        "multiple": "複数選択 (正しいものをすべて選ぶ)",
        "numeric": "数値入力",
        "code": "コード穴埋め",
        "correct": "正解",
        "wrong": "不正解",
        "your_answer": "あなたの答え",
        "correct_answer": "正解",
        "explanation": "解説",
        "references": "参考文献",
        "feedback": "選んだ選択肢について",
        "score": "得点",
        "check": "答え合わせ",
        "next": "次へ",
        "show_answer": "答えを見る",
        "question": "問題",
        "answers": "解答と解説",
        "not_answered": "未回答",
        "picked_of_correct": "正しい選択肢 {total} 個のうち {hit} 個を選び、誤りを {wrong} 個選んだ。",
    },
    "en": {
        "true_false": "true or false",
        "single": "single choice",
        "multiple": "multiple choice (pick every correct option)",
        "numeric": "numeric",
        "code": "code completion",
        "correct": "Correct",
        "wrong": "Not correct",
        "your_answer": "Your answer",
        "correct_answer": "Correct answer",
        "explanation": "Explanation",
        "references": "References",
        "feedback": "About the option you chose",
        "score": "Score",
        "check": "Check",
        "next": "Next",
        "show_answer": "Show answer",
        "question": "Question",
        "answers": "Answers and explanations",
        "not_answered": "not answered",
        "picked_of_correct": "You picked {hit} of the {total} correct options and {wrong} wrong one(s).",
    },
}


def message(key: str, lang: str) -> str:
    """One of :data:`MESSAGES` in ``lang``."""
    return MESSAGES[check_language(lang)][key]


def option_label(question: Question, index: int, lang: str) -> str:
    """How option ``index`` is shown: its text; true/false options also say which letter to type."""
    text = question.options[index].text.get(lang)
    if question.kind == "true_false" and lang == "en":
        return f"{text} ({'o' if index == 0 else 'x'})"
    return text


def question_text(
    question: Question,
    lang: str,
    *,
    number: int | None = None,
    total: int | None = None,
    color: bool = False,
) -> str:
    """A question as plain text: header, prompt, [code snippet], numbered options (or the unit to answer in).

    ``color`` highlights a code item's snippet with ANSI colours (for a terminal).
    """
    header = f"[{number}/{total}] " if number is not None and total is not None else ""
    header += f"{question.id} · {message(question.kind, lang)}"
    lines = [header, question.prompt.get(lang)]
    if question.code is not None:
        from cnncourse.quiz.code_render import code_terminal

        lines += ["", code_terminal(question.code, color=color), ""]
    for index in range(len(question.options)):
        lines.append(f"  {index + 1}. {option_label(question, index, lang)}")
    if question.kind == "numeric" and question.unit is not None:
        lines.append(f"  ({question.unit.get(lang)})")
    return "\n".join(lines)


def result_text(result: Result, lang: str) -> str:
    """Verdict, feedback on the chosen option(s), the correct answer if wrong, explanation and references."""
    question = result.question
    lines = [("✓ " + message("correct", lang)) if result.correct else ("✗ " + message("wrong", lang))]
    if question.kind == "numeric":
        assert isinstance(result.answer, float)
        lines.append(f"{message('your_answer', lang)}: {format_number(result.answer)}")
    else:
        chosen = sorted(result.answer) if isinstance(result.answer, frozenset) else [int(result.answer)]
        for index, feedback in zip(chosen, result.feedback):
            lines.append(f"  {index + 1}. {option_label(question, index, lang)} — {feedback.get(lang)}")
        if question.kind == "multiple" and not result.correct:
            hit = len(set(chosen) & question.correct_indices)
            lines.append(
                message("picked_of_correct", lang).format(
                    hit=hit, total=len(question.correct_indices), wrong=len(chosen) - hit
                )
            )
    if not result.correct:
        lines.append(f"{message('correct_answer', lang)}: {correct_answer_text(question, lang)}")
    lines.append(f"{message('explanation', lang)}: {question.explanation.get(lang)}")
    lines.append(f"{message('references', lang)}: " + "; ".join(question.references))
    return "\n".join(lines)


def pick_questions(
    questions: Sequence[Question], n: int | None = None, seed: int | None = None
) -> list[Question]:
    """Choose the questions of a drill.

    Without ``n`` and ``seed`` every question comes in bank order (the order the chapter teaches);
    otherwise the questions are shuffled with ``seed`` (None: a fresh shuffle) and the first ``n`` kept.
    """
    if n is not None and n < 1:
        raise CourseError(f"The number of questions must be at least 1, got {n}.")
    if n is None and seed is None:
        return list(questions)
    shuffled = list(questions)
    random.Random(seed).shuffle(shuffled)
    return shuffled[:n] if n is not None else shuffled


#: Kinds whose options are shuffled per attempt; ○× keeps ○ before × (the exam's own order).
SHUFFLED_KINDS: frozenset[str] = frozenset({"single", "multiple", "code"})


def shuffle_options(question: Question, rng: random.Random) -> Question:
    """``question`` with its options in a random order drawn from ``rng`` (○× and numeric unchanged).

    Each option carries its own ``correct`` flag and feedback, so the answer key, the feedback and the
    "correct answer" line follow the option to its new position; progress is recorded by item id, never
    by position. Without this the bank's authoring habit (the key written first) would be learnable.
    """
    if question.kind not in SHUFFLED_KINDS or len(question.options) < 2:
        return question
    order = list(range(len(question.options)))
    rng.shuffle(order)
    return replace(question, options=tuple(question.options[index] for index in order))


def shuffle_all_options(questions: Sequence[Question], seed: int | None = None) -> list[Question]:
    """Every question with shuffled options; the same ``seed`` gives the same order (None: fresh)."""
    # A separate stream from pick_questions' so choosing the items and ordering their options are
    # independent: adding --n does not change how an item's options are ordered for a given seed.
    rng = random.Random(None if seed is None else f"options-{seed}")
    return [shuffle_options(question, rng) for question in questions]


def pick_exam_questions(questions: Sequence[Question], n: int, seed: int | None = None) -> list[Question]:
    """Choose ``n`` questions spread over the chapters as evenly as the bank allows, in shuffled order.

    Chapters take turns (each contributing a random not-yet-picked item), so a 30-question exam over ten
    chapters asks three per chapter rather than whatever a plain random sample happens to hit.
    """
    if n < 1:
        raise CourseError(f"The number of questions must be at least 1, got {n}.")
    rng = random.Random(seed)
    pools: dict[str, list[Question]] = {}
    for question in questions:
        pools.setdefault(question.chapter, []).append(question)
    for pool in pools.values():
        rng.shuffle(pool)
    order = list(pools)
    rng.shuffle(order)
    picked: list[Question] = []
    while len(picked) < n and any(pools.values()):
        for chapter in order:
            if pools[chapter] and len(picked) < n:
                picked.append(pools[chapter].pop())
    rng.shuffle(picked)
    return picked


__all__ = [
    "MESSAGES",
    "Answer",
    "AnswerFormatError",
    "ChapterScore",
    "Result",
    "Score",
    "check_answer",
    "correct_answer_text",
    "format_hint",
    "format_number",
    "message",
    "option_label",
    "parse_answer",
    "parse_number",
    "pick_exam_questions",
    "pick_questions",
    "question_text",
    "result_text",
    "shuffle_all_options",
    "shuffle_options",
]
