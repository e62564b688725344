"""Judging answers, reading typed answers, scoring, and picking questions."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from cnncourse.errors import CourseError
from cnncourse.quiz.bank import Question, load_bank
from cnncourse.quiz.engine import (
    AnswerFormatError,
    Score,
    check_answer,
    correct_answer_text,
    parse_answer,
    parse_number,
    pick_exam_questions,
    pick_questions,
    result_text,
)


@pytest.fixture
def items(small_bank: Path) -> dict[str, Question]:
    return {q.id: q for q in load_bank(directory=small_bank)}


def test_true_false_and_single(items: dict[str, Question]) -> None:
    tf = items["resnet-001"]  # ○ is right
    right, wrong = check_answer(tf, 0), check_answer(tf, 1)
    assert right.correct and not wrong.correct
    assert wrong.feedback[0].en == "Feedback resnet-001 on False"
    single = items["resnet-002"]  # choice 2 is right
    assert [check_answer(single, i).correct for i in range(3)] == [False, True, False]
    assert check_answer(single, 2).feedback[0].ja == "resnet-002 選択肢 3 へのフィードバック"


def test_multiple_needs_exactly_the_correct_set(items: dict[str, Question]) -> None:
    multiple = items["resnet-003"]  # 1 and 3 right
    assert check_answer(multiple, {0, 2}).correct
    assert check_answer(multiple, [2, 0]).correct
    assert not check_answer(multiple, {0}).correct  # a subset is not enough
    assert not check_answer(multiple, {0, 1, 2}).correct  # nor a superset
    chosen = check_answer(multiple, {1, 3})
    assert [f.en for f in chosen.feedback] == ["Feedback resnet-003 choice 2", "Feedback resnet-003 choice 4"]
    with pytest.raises(CourseError, match="at least one"):
        check_answer(multiple, set())


def test_numeric_tolerance(items: dict[str, Question], small_bank: Path) -> None:
    numeric = items["resnet-004"]  # 589824, exact
    assert check_answer(numeric, 589824).correct
    assert check_answer(numeric, 589824.0).correct
    assert not check_answer(numeric, 589825).correct
    loose = Question(**{**numeric.__dict__, "answer": 0.3, "tolerance": 0.05})
    assert check_answer(loose, 0.1 + 0.2).correct
    assert check_answer(loose, 0.35).correct and check_answer(loose, 0.25).correct
    assert not check_answer(loose, 0.36).correct
    with pytest.raises(CourseError, match="answer with a number"):
        check_answer(numeric, "589824")  # type: ignore[arg-type]
    with pytest.raises(CourseError, match="finite"):
        check_answer(numeric, float("nan"))


def test_malformed_answers_raise_course_errors(items: dict[str, Question]) -> None:
    with pytest.raises(CourseError, match="out of range; the item has 3 options"):
        check_answer(items["resnet-002"], 3)
    with pytest.raises(CourseError, match="index 0..2"):
        check_answer(items["resnet-002"], True)  # a bool is not an index
    with pytest.raises(CourseError, match="index"):
        check_answer(items["resnet-002"], {1})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("o", 0), ("O", 0), ("○", 0), ("〇", 0), ("1", 0), ("true", 0), ("ｏ", 0), ("x", 1), ("X", 1), ("×", 1),
     ("2", 1), ("false", 1), ("  x  \n", 1), ("２", 1)],
)
def test_parse_true_false(items: dict[str, Question], text: str, expected: int) -> None:
    assert parse_answer(items["resnet-001"], text) == expected


def test_parse_choices(items: dict[str, Question]) -> None:
    assert parse_answer(items["resnet-002"], "2") == 1
    assert parse_answer(items["resnet-002"], " ３ ") == 2  # full-width digit from a Japanese IME
    assert parse_answer(items["resnet-003"], "1,3") == frozenset({0, 2})
    assert parse_answer(items["resnet-003"], "3 1") == frozenset({0, 2})
    assert parse_answer(items["resnet-003"], "1、3") == frozenset({0, 2})
    assert parse_answer(items["resnet-003"], "4") == frozenset({3})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("589824", 589824.0), ("589,824", 589824.0), ("589 824", 589824.0), ("5.89824e5", 589824.0),
     ("５８９８２４", 589824.0), ("2,359,296", 2359296.0), ("-3.5", -3.5), ("1_000", 1000.0), ("3.5E6", 3.5e6)],
)
def test_parse_numbers(items: dict[str, Question], text: str, expected: float) -> None:
    assert parse_answer(items["resnet-004"], text) == expected


@pytest.mark.parametrize(
    ("item_id", "text", "hint_en", "hint_ja"),
    [
        ("resnet-002", "4", "type the option number, 1–3", "1〜3"),
        ("resnet-002", "1,2", "Choose exactly one option", "1つだけ"),
        ("resnet-002", "b", "'b' is not an option number", "選択肢の番号"),
        ("resnet-003", "1,9", "'9' is not an option number", "カンマ区切り"),
        ("resnet-001", "maybe", "type o (or 1) for True, x (or 2) for False", "○ なら o"),
        ("resnet-004", "3,5", "is not a number", "数値として読めない"),
        ("resnet-004", "twelve", "type a number", "数値を入力"),
        ("resnet-004", "", "The answer is empty", "回答が空"),
        ("resnet-004", "inf", "is not a number", "数値"),
    ],
)
def test_bad_formats_give_hints_in_both_languages(
    items: dict[str, Question], item_id: str, text: str, hint_en: str, hint_ja: str
) -> None:
    with pytest.raises(AnswerFormatError, match=re.escape(hint_en)):
        parse_answer(items[item_id], text, "en")
    with pytest.raises(AnswerFormatError, match=re.escape(hint_ja)):
        parse_answer(items[item_id], text, "ja")


def test_parse_number_rejects_ambiguous_commas() -> None:
    assert parse_number("1,234,567.5") == 1234567.5
    assert parse_number("12,34") is None  # not groups of three: refuse rather than guess
    assert parse_number("1,2345") is None


def test_score_per_chapter_counts_first_answers(items: dict[str, Question]) -> None:
    score = Score()
    score.record(check_answer(items["resnet-001"], 0))  # right
    score.record(check_answer(items["resnet-002"], 0))  # wrong
    score.record(check_answer(items["senet-001"], 1))  # right
    score.record_outcome(items["senet-002"], False)
    assert (score.correct, score.answered) == (2, 4)
    assert score.percent == 50.0
    per_chapter = {chapter: (e.correct, e.answered) for chapter, e in score.by_chapter.items()}
    assert per_chapter == {"resnet": (1, 2), "senet": (1, 2)}
    assert [q.id for q in score.missed] == ["resnet-002", "senet-002"]
    assert score.chapters_in_course_order() == ["resnet", "senet"]


def test_texts_show_the_verdict_feedback_and_answer(items: dict[str, Question]) -> None:
    wrong = result_text(check_answer(items["resnet-002"], 0), "en")
    assert "✗ Not correct" in wrong
    assert "Feedback resnet-002 choice 1" in wrong
    assert "Correct answer: 2. Choice 2 of resnet-002" in wrong
    assert "Explanation: Explanation of resnet-002" in wrong
    partial = result_text(check_answer(items["resnet-003"], {0, 1}), "ja")
    assert "正しい選択肢 2 個のうち 1 個を選び、誤りを 1 個選んだ" in partial
    right = result_text(check_answer(items["resnet-004"], 589824), "ja")
    assert right.startswith("✓ 正解") and "589,824" in right
    assert correct_answer_text(items["resnet-004"], "en") == "589,824 parameters"
    expected = "1. Choice 1 of resnet-003; 3. Choice 3 of resnet-003"
    assert correct_answer_text(items["resnet-003"], "en") == expected


def test_pick_questions(items: dict[str, Question]) -> None:
    questions = list(items.values())
    assert pick_questions(questions) == questions  # bank order
    first = pick_questions(questions, seed=5)
    assert first == pick_questions(questions, seed=5) and sorted(q.id for q in first) == sorted(items)
    assert any(pick_questions(questions, seed=s) != first for s in range(6, 12))
    assert len(pick_questions(questions, n=2, seed=1)) == 2
    assert len(pick_questions(questions, n=50, seed=1)) == len(questions)
    with pytest.raises(CourseError):
        pick_questions(questions, n=0)


def test_exam_questions_spread_over_chapters(items: dict[str, Question]) -> None:
    questions = list(items.values())  # resnet 4, senet 2
    for seed in range(20):
        picked = pick_exam_questions(questions, 4, seed)
        assert Counter(q.chapter for q in picked) == {"resnet": 2, "senet": 2}
        assert len({q.id for q in picked}) == 4
    assert pick_exam_questions(questions, 4, 3) == pick_exam_questions(questions, 4, 3)
    assert len(pick_exam_questions(questions, 99, 0)) == 6
