"""Options are shuffled per attempt: the key's position carries no information, over the whole bank."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest

from cnncourse.quiz.bank import chapters, load_bank
from cnncourse.quiz.engine import check_answer, shuffle_all_options, shuffle_options

SEEDS = range(400)


def test_same_seed_same_order_and_other_seeds_differ() -> None:
    bank = load_bank("resnet")
    first = shuffle_all_options(bank, 7)
    assert first == shuffle_all_options(bank, 7)
    orders = {tuple(tuple(o.text.en for o in q.options) for q in shuffle_all_options(bank, s)) for s in range(5)}
    assert len(orders) == 5


def test_true_false_keeps_true_first_and_options_keep_their_key_and_feedback() -> None:
    rng = random.Random(0)
    for question in load_bank():
        shuffled = shuffle_options(question, rng)
        if question.kind in ("true_false", "numeric"):
            assert shuffled == question
            continue
        # the same options, each still with its own correct flag and feedback
        assert sorted(shuffled.options, key=lambda o: o.text.en) == sorted(question.options, key=lambda o: o.text.en)
        key = sorted(shuffled.correct_indices)
        result = check_answer(shuffled, key[0] if question.kind in ("single", "code") else frozenset(key))
        assert result.correct
        assert result.feedback[0] == shuffled.options[key[0]].feedback


def worst_position_excess(items, arrange) -> float:  # type: ignore[no-untyped-def]
    """Over :data:`SEEDS`, the largest |observed - expected| keys on one position, in standard deviations."""
    observed: Counter[int] = Counter()
    expected: Counter[int] = Counter()
    for seed in SEEDS:
        for question in arrange(items, seed):
            count = len(question.options)
            for position in question.correct_indices:
                observed[position] += 1
            for position in range(count):
                expected[position] += len(question.correct_indices) / count
    return max(abs(observed[p] - mean) / (math.sqrt(mean) + 1) for p, mean in expected.items())


@pytest.mark.parametrize("chapter", chapters())
def test_correct_answers_do_not_cluster_on_a_position(chapter: str) -> None:
    """Over many seeds, each position holds the key about as often as chance says (per chapter)."""
    items = [q for q in load_bank(chapter) if q.kind in ("single", "multiple", "code")]
    assert items, f"{chapter} has no shuffled items"
    # 6 standard deviations keeps this from being flaky; the written order misses by far more (below)
    assert worst_position_excess(items, shuffle_all_options) <= 6, chapter


def test_the_position_check_fails_for_the_bank_as_written() -> None:
    """The check can fail: without shuffling, the bank as written keys option 1 far above chance."""
    items = [q for q in load_bank() if q.kind == "single"]
    assert worst_position_excess(items, lambda questions, seed: list(questions)) > 6


def test_blind_answering_by_position_scores_at_chance_over_the_whole_bank() -> None:
    bank = [q for q in load_bank() if q.kind in ("single", "multiple", "code")]
    for strategy_position in range(3):
        score = 0.0
        chance = 0.0
        for seed in range(100):
            for question in shuffle_all_options(bank, seed):
                count = len(question.options)
                guess = frozenset({strategy_position % count})
                if question.kind == "multiple":
                    score += guess == question.correct_indices
                    chance += (len(question.correct_indices) == 1) / count
                else:
                    score += strategy_position % count in question.correct_indices
                    chance += 1 / count
        spread = 6 * math.sqrt(chance) + 1
        assert abs(score - chance) <= spread, (strategy_position, score, chance)
