"""Small question banks written into temporary folders, shared by the quiz tests.

The builders are handed to tests through the ``kit`` fixture (not imported), so the tests do not depend
on how pytest names conftest modules.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml


def text(ja: str, en: str) -> dict[str, str]:
    return {"ja": ja, "en": en}


def true_false_item(item_id: str, chapter: str, *, true_is_correct: bool) -> dict[str, Any]:
    """A valid ○/× item; ``true_is_correct`` says whether ○ (option 1) is the right answer."""
    return {
        "id": item_id,
        "chapter": chapter,
        "kind": "true_false",
        "prompt": text(f"{item_id} の記述", f"Statement of {item_id}"),
        "options": [
            {
                "text": text("○", "True"),
                "correct": true_is_correct,
                "feedback": text(f"{item_id} ○ の解説", f"Feedback {item_id} on True"),
            },
            {
                "text": text("×", "False"),
                "correct": not true_is_correct,
                "feedback": text(f"{item_id} × の解説", f"Feedback {item_id} on False"),
            },
        ],
        "explanation": text(f"{item_id} の解説", f"Explanation of {item_id}"),
        "references": ["He et al., 2015, arXiv:1512.03385, Section 3.1"],
        "tags": ["misconception"],
    }


def single_item(item_id: str, chapter: str, *, correct: int, count: int = 3) -> dict[str, Any]:
    """A valid single-choice item whose option ``correct`` (0-based) is right."""
    return {
        "id": item_id,
        "chapter": chapter,
        "kind": "single",
        "prompt": text(f"{item_id} の問い", f"Question {item_id}"),
        "options": [
            {
                "text": text(f"選択肢 {i + 1}", f"Choice {i + 1} of {item_id}"),
                "correct": i == correct,
                "feedback": text(f"{item_id} 選択肢 {i + 1} へのフィードバック", f"Feedback {item_id} choice {i + 1}"),
            }
            for i in range(count)
        ],
        "explanation": text(f"{item_id} の解説", f"Explanation of {item_id}"),
        "references": ["Hu et al., 2017, arXiv:1709.01507, Section 3"],
        "tags": [],
    }


def multiple_item(item_id: str, chapter: str, *, correct: set[int], count: int = 4) -> dict[str, Any]:
    item = single_item(item_id, chapter, correct=0, count=count)
    item["kind"] = "multiple"
    for i, option in enumerate(item["options"]):
        option["correct"] = i in correct
    return item


def numeric_item(item_id: str, chapter: str, *, answer: float, tolerance: float = 0) -> dict[str, Any]:
    return {
        "id": item_id,
        "chapter": chapter,
        "kind": "numeric",
        "prompt": text(f"{item_id} の数値", f"Number for {item_id}"),
        "answer": answer,
        "tolerance": tolerance,
        "unit": text("個", "parameters"),
        "explanation": text(f"{item_id} の解説", f"Explanation of {item_id}"),
        "references": ["Howard et al., 2017, arXiv:1704.04861, Section 3.1"],
        "tags": ["drill"],
    }


def write_bank(directory: Path, chapter: str, items: list[dict[str, Any]]) -> Path:
    """Write ``items`` as ``directory/<chapter>.yaml`` the way a content author would."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{chapter}.yaml"
    document = {"chapter": chapter, "items": copy.deepcopy(items)}
    path.write_text(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def standard_bank_items() -> dict[str, list[dict[str, Any]]]:
    """resnet: ○/× (True right), single (choice 2 right), multiple (1 and 3 right), numeric 589824;
    senet: ○/× (False right), single (choice 1 right)."""
    return {
        "resnet": [
            true_false_item("resnet-001", "resnet", true_is_correct=True),
            single_item("resnet-002", "resnet", correct=1),
            multiple_item("resnet-003", "resnet", correct={0, 2}),
            numeric_item("resnet-004", "resnet", answer=589824),
        ],
        "senet": [
            true_false_item("senet-001", "senet", true_is_correct=False),
            single_item("senet-002", "senet", correct=0, count=4),
        ],
    }


@pytest.fixture
def small_bank(tmp_path: Path) -> Path:
    """A bank folder with the items of :func:`standard_bank_items`."""
    directory = tmp_path / "bank"
    for chapter, items in standard_bank_items().items():
        write_bank(directory, chapter, items)
    return directory


@pytest.fixture
def kit() -> SimpleNamespace:
    """The item builders and ``write_bank``."""
    return SimpleNamespace(
        text=text,
        true_false_item=true_false_item,
        single_item=single_item,
        multiple_item=multiple_item,
        numeric_item=numeric_item,
        write_bank=write_bank,
        standard_bank_items=standard_bank_items,
    )
