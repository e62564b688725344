"""The bank loader: schema errors name file, item and field; the real bank is valid and bilingual."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.quiz import bank
from cnncourse.quiz.bank import COURSE_CHAPTERS, chapters, load_bank


def test_small_bank_loads_with_every_field(small_bank: Path) -> None:
    questions = load_bank(directory=small_bank)
    assert [q.id for q in questions] == [
        "resnet-001", "resnet-002", "resnet-003", "resnet-004", "senet-001", "senet-002"
    ]  # chapters in course order (resnet before senet), items in file order
    tf, single, multiple, numeric = questions[:4]
    assert tf.kind == "true_false" and tf.correct_indices == {0}
    assert tf.options[0].text.get("ja") == "○" and tf.options[1].text.en == "False"
    assert single.correct_indices == {1}
    assert multiple.correct_indices == {0, 2}
    assert numeric.answer == 589824.0 and numeric.tolerance == 0 and numeric.unit is not None
    assert numeric.options == ()
    assert tf.prompt.get("en") == "Statement of resnet-001" and tf.prompt.ja == "resnet-001 の記述"
    assert tf.is_misconception and not single.is_misconception
    assert tf.references == ("He et al., 2015, arXiv:1512.03385, Section 3.1",)
    assert tf.source.endswith("resnet.yaml")
    assert chapters(directory=small_bank) == ["resnet", "senet"]
    assert [q.id for q in load_bank("senet", directory=small_bank)] == ["senet-001", "senet-002"]
    assert [q.chapter for q in load_bank(["senet", "resnet"], directory=small_bank)][:2] == ["senet", "senet"]


def test_unknown_chapter_suggests_close_matches(small_bank: Path) -> None:
    with pytest.raises(UnknownNameError) as caught:
        load_bank("resnt", directory=small_bank)
    assert "resnet" in caught.value.close_matches
    assert "quiz --list" in str(caught.value)


def test_course_chapter_without_file_says_so(small_bank: Path) -> None:
    expected = r"'densenet' has no question file yet.*Chapters with questions: resnet, senet"
    with pytest.raises(CourseError, match=expected):
        load_bank("densenet", directory=small_bank)


def test_missing_bank_folder(tmp_path: Path) -> None:
    with pytest.raises(CourseError, match="does not exist"):
        load_bank(directory=tmp_path / "nowhere")


def test_language_lookup_rejects_unknown_language(small_bank: Path) -> None:
    question = load_bank("resnet", directory=small_bank)[0]
    with pytest.raises(UnknownNameError, match="language 'de'"):
        question.prompt.get("de")


# Each case: (what to break, field named in the message, words of the message).
Mutation = Callable[[dict[str, Any]], None]


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(item: dict[str, Any]) -> None:
        target = item
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: list[Any]) -> Mutation:
    def mutate(item: dict[str, Any]) -> None:
        target = item
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


SCHEMA_CASES: list[tuple[str, str, Mutation, str, str]] = [
    # (case, base item kind, mutation, field, message fragment)
    ("unknown kind", "single", _set(["kind"], "essay"), "kind", "unknown kind 'essay'"),
    ("missing english prompt", "single", _delete(["prompt", "en"]), "prompt", "missing language 'en'"),
    ("missing japanese explanation", "single", _delete(["explanation", "ja"]), "explanation",
     "missing language 'ja'"),
    ("empty prompt text", "single", _set(["prompt", "ja"], "  "), "prompt", "'ja' text is empty"),
    ("third language", "single", _set(["prompt", "fr"], "Question"), "prompt", "unknown language key 'fr'"),
    ("three true/false options", "true_false", lambda item: item["options"].append(
        {"text": {"ja": "△", "en": "Maybe"}, "correct": False, "feedback": {"ja": "x", "en": "x"}}
    ), "options", "exactly 2 options"),
    ("true/false in the wrong order", "true_false", lambda item: item["options"].reverse(), "options",
     "○ (True) first, then × (False)"),
    ("true/false both correct", "true_false", _set(["options", 1, "correct"], True), "options",
     "exactly one correct option; 2 are marked"),
    ("no correct option", "single", _set(["options", 1, "correct"], False), "options", "no option is marked"),
    ("single with two correct", "single", _set(["options", 0, "correct"], True), "options",
     "use kind: multiple"),
    ("single with two options", "single", lambda item: item["options"].pop(), "options",
     "3 to 5 options; it has 2"),
    ("multiple with seven options", "multiple", lambda item: item["options"].extend(
        [{"text": {"ja": f"追加{i}", "en": f"Extra {i}"}, "correct": False, "feedback": {"ja": "x", "en": "x"}}
         for i in range(3)]
    ), "options", "3 to 6 options; it has 7"),
    ("missing feedback", "single", _delete(["options", 2, "feedback"]), "options[3].feedback",
     "why it is tempting"),
    ("feedback missing a language", "single", _delete(["options", 0, "feedback", "en"]),
     "options[1].feedback",
     "missing language 'en'"),
    ("correct as a string", "single", _set(["options", 0, "correct"], "no"), "options[1].correct",
     "must be true or false"),
    ("duplicate option text", "single", _set(["options", 2, "text"], {"ja": "選択肢 1", "en": "Other"}),
     "options",
     "same text"),
    ("numeric without answer", "numeric", _delete(["answer"]), "answer", "needs the correct number"),
    ("numeric answer with separators", "numeric", _set(["answer"], "2,359,296"), "answer",
     "must be a number"),
    ("negative tolerance", "numeric", _set(["tolerance"], -1), "tolerance", "0 or more"),
    ("numeric with options", "numeric", _set(["options"], []), "options", "a numeric item has no options"),
    ("choice item with an answer", "single", _set(["answer"], 3), "answer", "only numeric items"),
    ("id of another chapter", "single", _set(["id"], "senet-009"), "id",
     "must look like resnet-001 (three digits)"),
    ("id without three digits", "single", _set(["id"], "resnet-1"), "id", "three digits"),
    ("chapter field differs", "single", _set(["chapter"], "senet"), "chapter", "write 'chapter: resnet'"),
    ("no references", "single", _set(["references"], []), "references", "at least one source"),
    ("missing references", "single", _delete(["references"]), "references", "missing"),
    ("misspelt field", "single", _set(["explaination"], {"ja": "a", "en": "b"}), "explaination",
     "unknown field"),
    ("tag with a space", "single", _set(["tags"], ["two words"]), "tags", "one word"),
]


@pytest.mark.parametrize(("kind", "mutate", "field_name", "fragment"), [case[1:] for case in SCHEMA_CASES],
                         ids=[case[0] for case in SCHEMA_CASES])
def test_schema_error_names_file_item_and_field(
    tmp_path: Path, kit: SimpleNamespace, kind: str, mutate: Mutation, field_name: str, fragment: str
) -> None:
    item = {
        "true_false": kit.true_false_item("resnet-007", "resnet", true_is_correct=True),
        "single": kit.single_item("resnet-007", "resnet", correct=1),
        "multiple": kit.multiple_item("resnet-007", "resnet", correct={0}),
        "numeric": kit.numeric_item("resnet-007", "resnet", answer=10),
    }[kind]
    good = kit.single_item("resnet-001", "resnet", correct=0)
    mutate(item)
    path = kit.write_bank(tmp_path, "resnet", [good, item])
    with pytest.raises(CourseError) as caught:
        load_bank("resnet", directory=tmp_path)
    message = str(caught.value)
    assert str(path) in message
    expected_item = "'resnet-007'" if field_name != "id" else "'"  # a broken id is still quoted as given
    assert f"item {expected_item}" in message
    assert f"field '{field_name}'" in message
    assert fragment in message


def test_duplicate_id_in_a_file(tmp_path: Path, kit: SimpleNamespace) -> None:
    item = kit.single_item("resnet-003", "resnet", correct=0)
    path = kit.write_bank(tmp_path, "resnet", [item, item])
    with pytest.raises(CourseError, match=r"item 'resnet-003': field 'id': duplicate id") as caught:
        load_bank(directory=tmp_path)
    assert str(path) in str(caught.value)


def test_file_level_errors(tmp_path: Path, kit: SimpleNamespace) -> None:
    (tmp_path / "resnet.yaml").write_text("chapter: resnet\nitems: [\n", encoding="utf-8")
    with pytest.raises(CourseError, match=r"resnet.yaml: not valid YAML at line \d+"):
        load_bank(directory=tmp_path)
    (tmp_path / "resnet.yaml").write_text("chapter: senet\nitems: []\n", encoding="utf-8")
    with pytest.raises(CourseError, match="write 'chapter: resnet'"):
        load_bank(directory=tmp_path)
    (tmp_path / "resnet.yaml").write_text("chapter: resnet\nitems: []\n", encoding="utf-8")
    with pytest.raises(CourseError, match="non-empty list"):
        load_bank(directory=tmp_path)
    (tmp_path / "resnet.yaml").write_bytes("chapter: resnet\n# \u6b8b\u5dee\n".encode("shift_jis"))
    with pytest.raises(CourseError, match="not UTF-8"):
        load_bank(directory=tmp_path)
    kit.write_bank(tmp_path, "resnet", [kit.single_item("resnet-001", "resnet", correct=0)])
    (tmp_path / "resnet.yaml").write_text(
        (tmp_path / "resnet.yaml").read_text(encoding="utf-8") + "extra: 1\n", encoding="utf-8"
    )
    with pytest.raises(CourseError, match="unknown top-level field"):
        load_bank(directory=tmp_path)


def test_answer_written_as_yaml_exponent_string_is_accepted(tmp_path: Path, kit: SimpleNamespace) -> None:
    # YAML 1.1 reads 3.5e6 (no sign in the exponent) as a string; authors should not have to know that.
    item = kit.numeric_item("resnet-001", "resnet", answer=0)
    path = kit.write_bank(tmp_path, "resnet", [item])
    path.write_text(path.read_text(encoding="utf-8").replace("answer: 0", "answer: 3.5e6"), encoding="utf-8")
    assert load_bank(directory=tmp_path)[0].answer == 3_500_000.0


# ------------------------------------------------------------------------------------- the real bank
REAL_CHAPTERS = chapters()


def test_real_bank_has_only_course_chapters() -> None:
    assert set(REAL_CHAPTERS) <= set(COURSE_CHAPTERS), "bank files must be named after a course chapter"


def test_real_bank_loads_and_ids_are_unique() -> None:
    assert REAL_CHAPTERS, "the course bank cnncourse/quiz/bank/ has no chapter file"
    questions = load_bank()  # runs the full schema check on every file
    ids = [q.id for q in questions]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("chapter", REAL_CHAPTERS)
def test_real_chapter_is_consistent(chapter: str) -> None:
    questions = load_bank(chapter)
    assert len(questions) >= 15, f"{chapter}: the issue asks for at least 15 items, found {len(questions)}"
    misconception = [q for q in questions if q.is_misconception]
    assert len(misconception) >= 5, f"{chapter}: at least 5 misconception items, found {len(misconception)}"
    for question in questions:
        where = f"{question.source}: {question.id}"
        assert question.chapter == chapter and question.id.startswith(f"{chapter}-"), where
        texts = [question.prompt, question.explanation]
        for option in question.options:
            texts += [option.text, option.feedback]
        if question.unit is not None:
            texts.append(question.unit)
        for localized in texts:
            assert localized.ja.strip() and localized.en.strip(), where
        # Japanese text is Japanese: it contains kana or kanji (true/false marks excepted).
        for localized in [question.prompt, question.explanation, *(o.feedback for o in question.options)]:
            has_japanese = re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", localized.ja)
            assert has_japanese, f"{where}: Japanese text expected"
        correct = question.correct_indices
        if question.kind == "true_false":
            assert len(question.options) == 2 and len(correct) == 1, where
        elif question.kind in ("single", "code"):
            assert 3 <= len(question.options) <= 5 and len(correct) == 1, where
            assert (question.code is not None) == (question.kind == "code"), where
        elif question.kind == "multiple":
            assert 3 <= len(question.options) <= 6 and len(correct) >= 1, where
        else:
            assert question.answer is not None and question.tolerance >= 0 and not question.options, where
        assert question.references and all(len(r) > 5 for r in question.references), where


def test_resnet_opens_with_the_residual_block_statements() -> None:
    first = load_bank("resnet")[0]
    assert first.id == "resnet-001"
    assert "seed-000" in first.tags


def test_module_constants_agree() -> None:
    assert bank.QUESTION_KINDS == ("true_false", "single", "multiple", "numeric", "code")
    assert set(bank.CHAPTER_TITLES) == set(COURSE_CHAPTERS)
