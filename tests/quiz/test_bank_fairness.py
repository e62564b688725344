"""The bank cannot be passed without reading: no answer is given away by its position, length or form.

Positions are shuffled per attempt (``tests/quiz/test_quiz_shuffle.py``); what is tested here is the bank as
written: the key must not be the longest option, ○ and × must be keys about equally often, and each chapter
asks for the wrong statement as often as the exam does (「誤っているものを選べ」) and is not mostly ○×.
"""

from __future__ import annotations

import re

import pytest

from cnncourse.quiz.bank import COURSE_CHAPTERS, Question, load_bank

#: How an item that asks for the wrong statement reads, in each language.
WRONG_STATEMENT = {
    "ja": re.compile(r"誤っている|誤りを含む|正しくない|適切でない|当てはまらない"),
    "en": re.compile(r"\b(incorrect|wrong|false|not (true|correct|accurate))\b", re.IGNORECASE),
}
_NEGATIONS = re.compile(r"\b(not|never|no|cannot|does not|do not|is not|are not)\b|n't\b", re.IGNORECASE)


def strictly_longest_key(question: Question, lang: str) -> bool:
    """True when the single correct option is strictly longer than every other option."""
    lengths = [len(option.text.get(lang)) for option in question.options]
    (key,) = question.correct_indices
    return all(lengths[key] > length for index, length in enumerate(lengths) if index != key)


def asks_for_the_wrong_statement(question: Question) -> bool:
    ja = bool(WRONG_STATEMENT["ja"].search(question.prompt.ja))
    en = bool(WRONG_STATEMENT["en"].search(question.prompt.en))
    assert ja == en, f"{question.id}: the Japanese and English prompts ask different things"
    return ja


def choice_items(chapter: str) -> list[Question]:
    return [q for q in load_bank(chapter) if q.kind in ("single", "multiple")]


@pytest.mark.parametrize("chapter", COURSE_CHAPTERS)
@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_key_is_the_longest_option_in_at_most_a_third_of_single_choice_items(chapter: str, lang: str) -> None:
    single = [q for q in load_bank(chapter) if q.kind == "single"]
    longest = [q.id for q in single if strictly_longest_key(q, lang)]
    assert len(longest) * 3 <= len(single), f"{chapter} ({lang}): the key is the longest option in {longest}"


def test_guessing_the_longest_option_scores_near_chance_over_the_whole_bank() -> None:
    single = [q for q in load_bank() if q.kind in ("single", "code")]
    for lang in ("ja", "en"):
        hits = sum(strictly_longest_key(q, lang) for q in single)
        chance = sum(1 / len(q.options) for q in single)
        assert hits <= chance + 0.05 * len(single), (lang, hits, chance)


def test_true_and_false_are_each_the_key_of_40_to_60_percent_of_the_true_false_items() -> None:
    items = [q for q in load_bank() if q.kind == "true_false"]
    true_keys = sum(q.correct_indices == frozenset({0}) for q in items)
    assert 0.4 <= true_keys / len(items) <= 0.6, f"○ is the key of {true_keys} of {len(items)} ○× items"


@pytest.mark.parametrize("chapter", COURSE_CHAPTERS)
def test_a_quarter_of_each_chapters_choice_items_ask_for_the_wrong_statement(chapter: str) -> None:
    items = choice_items(chapter)
    wrong = [q.id for q in items if asks_for_the_wrong_statement(q)]
    assert len(wrong) * 4 >= len(items), f"{chapter}: {len(wrong)} of {len(items)} choice items ({wrong})"


@pytest.mark.parametrize("chapter", COURSE_CHAPTERS)
def test_true_false_items_are_at_most_a_quarter_of_a_chapter(chapter: str) -> None:
    items = load_bank(chapter)
    true_false = [q.id for q in items if q.kind == "true_false"]
    assert len(true_false) * 4 <= len(items), f"{chapter}: {len(true_false)} of {len(items)} items are ○×"


@pytest.mark.parametrize("chapter", COURSE_CHAPTERS)
def test_no_false_option_is_a_word_for_word_negation_of_a_true_one(chapter: str) -> None:
    def stripped(text: str) -> str:
        return re.sub(r"\s+", " ", _NEGATIONS.sub(" ", text)).strip().lower()

    for question in choice_items(chapter):
        true_texts = {stripped(o.text.en) for o in question.options if o.correct}
        for option in question.options:
            if not option.correct and option.text.en.lower() != stripped(option.text.en):
                assert stripped(option.text.en) not in true_texts, f"{question.id}: {option.text.en!r}"


def test_the_checks_can_fail() -> None:
    """Each rule rejects an item written the way the old bank was."""
    from dataclasses import replace

    from cnncourse.quiz.bank import LocalizedText, Option

    def option(text: str, correct: bool) -> Option:
        return Option(LocalizedText(text, text), correct, LocalizedText("-", "-"))

    tell = Question("x-001", "x", "single", LocalizedText("問", "Which is right?"), LocalizedText("e", "e"),
                    ("r",), (option("the long and carefully qualified answer", True), option("short", False),
                             option("brief", False)))
    assert strictly_longest_key(tell, "en")
    assert not asks_for_the_wrong_statement(tell)
    wrong = replace(tell, prompt=LocalizedText("誤っているものを選べ。", "Choose the incorrect statement."))
    assert asks_for_the_wrong_statement(wrong)
    with pytest.raises(AssertionError, match="ask different things"):
        asks_for_the_wrong_statement(replace(tell, prompt=LocalizedText("誤っているものを選べ。", "Which is right?")))
