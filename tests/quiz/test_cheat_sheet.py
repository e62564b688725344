"""The cheat-sheet table every chapter ends with (:func:`cnncourse.quiz.cheat_sheet`), and its stored copies.

A chapter's stored output must show the glossary as it is now: a corrected glossary entry that the .ipynb
still shows the old way is what a learner reads, so the stored table is compared with a fresh one.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cnncourse.errors import CourseError
from cnncourse.quiz import cheat_sheet, load_glossary

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
CHAPTER_SLUGS = {"03_senet": "senet", "04_densenet": "densenet", "05_mobilenet_v1": "mobilenet_v1",
                 "06_mobilenet_v2": "mobilenet_v2", "07_mobilenet_v3": "mobilenet_v3", "08_nas": "nas",
                 "09_efficientnet": "efficientnet"}


def test_one_row_per_glossary_entry_with_both_languages() -> None:
    table = cheat_sheet("senet").splitlines()
    entries = load_glossary("senet")
    assert table[0] == "| 日本語 | English | 覚えること | remember |"
    assert len(table) == 2 + len(entries)
    assert entries[0].ja in table[2] and entries[0].note_en in table[2]


def test_a_bar_inside_a_note_stays_in_its_cell(tmp_path: Path) -> None:
    (tmp_path / "glossary_test.yaml").write_text(
        'demo:\n  - {ja: "比", en: "ratio", note_ja: "ΔAcc / |ΔLat|", note_en: "ΔAcc / |ΔLat|"}\n', encoding="utf-8")
    row = cheat_sheet("demo", directory=tmp_path).splitlines()[2]
    assert row.count("\\|") == 4 and row.replace("\\|", "").count("|") == 5


def test_an_unknown_chapter_names_the_known_ones() -> None:
    with pytest.raises(CourseError, match="senet"):
        cheat_sheet("no_such_chapter")


@pytest.mark.parametrize("notebook", sorted(CHAPTER_SLUGS))
def test_the_stored_cheat_sheet_is_the_current_glossary(notebook: str) -> None:
    book = nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4)
    call = f'cheat_sheet("{CHAPTER_SLUGS[notebook]}")'
    cells = [cell for cell in book.cells if cell.cell_type == "code" and call in cell.source]
    assert len(cells) == 1, f"{notebook}: expected one cell calling {call}"
    stored = [output["data"]["text/markdown"] for output in cells[0].outputs if "text/markdown" in output.get("data", {})]
    assert stored == [cheat_sheet(CHAPTER_SLUGS[notebook])], (
        f"{notebook}.ipynb shows an older glossary: re-run its cheat-sheet cell")
