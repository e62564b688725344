"""No learner-facing text names the course's internal source notes (issue 17).

The course's authors worked from study notes that contain known errors (``shared/seeds/``). Those notes are
for maintainers: a learner sees only what the quiz, the widget and the cheat-sheets show (prompts, options,
feedback, explanations, references, units, glossary terms and notes) and the chapter notebooks, and none
of that may name a note, its file or "the original article". Where an item is aimed at a misconception
from such a note it says "a common study note says ..." (「よくある学習ノートでは…」); where the note is
kept for maintainers it lives in a YAML comment, which the loader never returns.

The scan walks every field of every loaded question and option except the few that are never shown (id,
chapter slug, kind, tags, source path), so a field added later is scanned without changing this test.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnncourse.quiz.bank import BANK_DIRECTORY, COURSE_CHAPTERS, Question, load_bank, load_glossary

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Question fields that neither the command line nor the widget shows (checked by reading cli.py,
#: engine.py and widget.py: they print prompt, options, feedback, explanation, references and unit).
NOT_DISPLAYED_FIELDS = frozenset(
    {"id", "chapter", "kind", "tags", "source", "correct", "answer", "tolerance"}
)

#: What must never reach a learner, with why. "seed" is matched as a word, not inside an identifier such
#: as ``torch.manual_seed`` or ``seed_everything``, which a code snippet may legitimately show.
FORBIDDEN_IN_BANK: dict[str, re.Pattern[str]] = {
    "the word 'seed' (names the source notes)": re.compile(r"(?<![\w.])seeds?(?![\w(=])", re.IGNORECASE),
    "'Seed article'": re.compile(r"seed\s+article", re.IGNORECASE),
    "a '.txt' file name": re.compile(r"\.txt\b", re.IGNORECASE),
    "元記事 (the original article)": re.compile("元記事"),
    "学習ノートに載… (a particular study note)": re.compile("学習ノートに載"),
}

#: Notebooks legitimately say "seed" in code (``seed_everything(0)``) and in prose about random seeds, so
#: there only a reference to the notes themselves is flagged.
FORBIDDEN_IN_NOTEBOOKS: dict[str, re.Pattern[str]] = {
    "'seed article' / 'seed note'": re.compile(r"seed[\s_-]*(article|note|text|file)s?\b", re.IGNORECASE),
    "the seeds folder": re.compile(r"\bseeds/"),
    "a source note's file name": re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b"),
    "元記事 (the original article)": re.compile("元記事"),
    "学習ノートに載… (a particular study note)": re.compile("学習ノートに載"),
}


def displayed_strings(value: object, where: str) -> Iterator[tuple[str, str]]:
    """Every string a learner can be shown inside ``value``, with a path like ``options[2].feedback.ja``."""
    if isinstance(value, str):
        yield where, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            if field.name not in NOT_DISPLAYED_FIELDS:
                yield from displayed_strings(getattr(value, field.name), f"{where}.{field.name}".lstrip("."))
    elif isinstance(value, (list, tuple)):
        for position, element in enumerate(value, start=1):
            yield from displayed_strings(element, f"{where}[{position}]")


def violations(strings: Iterator[tuple[str, str]], patterns: dict[str, re.Pattern[str]]) -> list[str]:
    found = []
    for where, text in strings:
        for what, pattern in patterns.items():
            match = pattern.search(text)
            if match:
                start = max(0, match.start() - 30)
                found.append(f"{where}: {what}: ...{text[start:match.end() + 30]}...")
    return found


def test_the_scan_sees_every_displayed_field() -> None:
    """The walk reaches prompt, options (text and feedback), explanation, references and unit."""
    questions = load_bank()
    paths = {where.split("[")[0].split(".")[0] for question in questions
             for where, _ in displayed_strings(question, "")}
    assert {"prompt", "options", "explanation", "references"} <= paths
    assert any(where.startswith("options[1].feedback.") for where, _ in displayed_strings(questions[0], ""))


def test_the_patterns_catch_what_the_old_bank_said() -> None:
    """Each way the bank used to name a note is caught; code that merely seeds a generator is not."""
    old_wordings = [
        "Seed article 002_bf9297505038638a.txt: lists too-large filter sizes as a VGG16 drawback",
        "The seed article calls it per-channel self-attention.",
        "元記事が α, β, γ を「広さ・深さ・解像度」の順に対応させている",
        "学習ノートに載っている次の Keras の DenseNet 実装例",
    ]
    for wording in old_wordings:
        assert violations(iter([("x", wording)]), FORBIDDEN_IN_BANK), wording
    harmless = ["torch.manual_seed(0)", "seed_everything(0)", "よくある学習ノートでは…とされるが"]
    for wording in harmless:
        assert not violations(iter([("x", wording)]), FORBIDDEN_IN_BANK), wording


@pytest.mark.parametrize("chapter", COURSE_CHAPTERS)
def test_no_bank_item_names_a_source_note(chapter: str) -> None:
    questions: list[Question] = load_bank(chapter)
    found = [f"{question.id} {problem}" for question in questions
             for problem in violations(displayed_strings(question, ""), FORBIDDEN_IN_BANK)]
    assert not found, "learner-facing text names the internal source notes:\n" + "\n".join(found)


@pytest.mark.parametrize("chapter", COURSE_CHAPTERS)
def test_no_glossary_entry_names_a_source_note(chapter: str) -> None:
    found = []
    for position, entry in enumerate(load_glossary(chapter), start=1):
        label = f"glossary {chapter} entry {position} ({entry.en})"
        found += [f"{label} {problem}" for problem in
                  violations(displayed_strings(entry, ""), FORBIDDEN_IN_BANK)]
    assert not found, "learner-facing text names the internal source notes:\n" + "\n".join(found)


def notebook_sources() -> list[Path]:
    """The notebooks' text sources and the .ipynb files a learner opens: their stored outputs count too (a
    quiz cell's output shows the bank as it was when the notebook ran)."""
    folders = [REPO_ROOT / name for name in ("notebooks", "solutions", "exercises")]
    return sorted(path for folder in folders for pattern in ("*.py", "*.ipynb") for path in folder.glob(pattern))


def test_there_are_notebooks_to_scan() -> None:
    assert len(notebook_sources()) >= 3
    assert BANK_DIRECTORY.is_dir()


@pytest.mark.parametrize("path", notebook_sources(), ids=lambda path: f"{path.parent.name}/{path.name}")
def test_no_notebook_names_a_source_note(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    found = violations(((f"{path.name}:{number}", line) for number, line in enumerate(lines, start=1)),
                       FORBIDDEN_IN_NOTEBOOKS)
    assert not found, "learner-facing text names the internal source notes:\n" + "\n".join(found)
