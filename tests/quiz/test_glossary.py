"""The bilingual glossaries behind the chapters' cheat-sheets."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.quiz.bank import COURSE_CHAPTERS, load_glossary


@pytest.mark.parametrize("chapter", COURSE_CHAPTERS)
def test_every_chapter_has_a_bilingual_glossary(chapter: str) -> None:
    entries = load_glossary(chapter)
    assert len(entries) >= 10
    def japanese(text: str) -> bool:
        return any("\u3040" <= ch <= "\u9fff" for ch in text)  # kana and kanji

    for entry in entries:
        assert japanese(entry.note_ja), entry
        assert not japanese(entry.en) and not japanese(entry.note_en), f"English side holds Japanese: {entry}"


def test_unknown_chapter_suggests_the_close_one() -> None:
    with pytest.raises(UnknownNameError, match="resnet"):
        load_glossary("resent")


def test_a_malformed_entry_names_file_chapter_and_position(tmp_path: Path) -> None:
    (tmp_path / "glossary_x.yaml").write_text("resnet:\n  - {ja: 残差, en: residual, note_ja: x}\n", encoding="utf-8")
    with pytest.raises(CourseError, match=r"glossary_x\.yaml: resnet entry 1 lacks note_en"):
        load_glossary("resnet", directory=tmp_path)
