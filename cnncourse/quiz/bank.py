"""The question bank: one YAML file per chapter, loaded into checked, immutable question objects.

A bank file ``<chapter>.yaml`` holds ``chapter: <slug>`` and a list ``items``. Every item is checked
against the schema when it is loaded, and a malformed item raises :class:`~cnncourse.errors.CourseError`
naming the file, the item id and the field, so a content author sees at once what to fix. The schema is
the contract between the engineers who write the bank and the engine, widget and command line that
use it:

* ``id`` is ``<chapter>-NNN``, unique across the bank; ``chapter`` repeats the file's chapter;
* ``kind`` is ``true_false`` (○/×), ``single``, ``multiple``, ``numeric`` or ``code``;
* ``prompt`` and ``explanation`` are ``{ja: ..., en: ...}``;
* choice kinds have ``options``, each ``{text: {ja, en}, correct: bool, feedback: {ja, en}}``:
  true_false exactly ○ (True) then × (False) with one correct, single 3–5 options with one correct,
  multiple 3–6 options with at least one correct;
* numeric items have ``answer`` (a number), optional ``tolerance`` (absolute, default 0) and ``unit``;
* code-completion items (穴埋め, ``kind: code``) have ``code``, a short PyTorch/NumPy snippet with one
  blank written ``____``, and 3–5 options whose ``fill`` (the code that goes into the blank) replaces
  ``text``; exactly one is correct. ``verify`` is Python that the tests run after the completed snippet:
  it must pass with the correct fill and fail with every other one (it is never shown to a learner).
  They live in ``code/<chapter>.yaml`` beside the chapter's file, ids ``<chapter>-code-NNN``;
* ``references`` lists at least one source (paper and section); ``tags`` is a list of words, where
  ``misconception`` marks an item aimed at a common misconception.

Loading does not import torch, so the command line starts quickly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from cnncourse.errors import CourseError, UnknownNameError

#: Chapter slugs in course order (the order of the notebooks).
COURSE_CHAPTERS: tuple[str, ...] = (
    "basics",
    "resnet",
    "wide_resnet",
    "senet",
    "densenet",
    "mobilenet_v1",
    "mobilenet_v2",
    "mobilenet_v3",
    "nas",
    "efficientnet",
)

#: How each chapter is named to a learner, (ja, en).
CHAPTER_TITLES: dict[str, tuple[str, str]] = {
    "basics": ("CNN の基礎", "CNN basics"),
    "resnet": ("ResNet", "ResNet"),
    "wide_resnet": ("Wide ResNet", "Wide ResNet"),
    "senet": ("SENet", "SENet"),
    "densenet": ("DenseNet", "DenseNet"),
    "mobilenet_v1": ("MobileNet v1", "MobileNet v1"),
    "mobilenet_v2": ("MobileNet v2", "MobileNet v2"),
    "mobilenet_v3": ("MobileNet v3", "MobileNet v3"),
    "nas": ("NAS (ニューラルアーキテクチャ探索)", "NAS (neural architecture search)"),
    "efficientnet": ("EfficientNet", "EfficientNet"),
}

Lang = Literal["ja", "en"]
LANGUAGES: tuple[str, ...] = ("ja", "en")
QUESTION_KINDS: tuple[str, ...] = ("true_false", "single", "multiple", "numeric", "code")
CHOICE_KINDS: frozenset[str] = frozenset({"true_false", "single", "multiple", "code"})
#: How the blank of a code-completion snippet is written.
CODE_BLANK = "____"
#: The sub-folder of a bank that holds its code-completion items, one file per chapter.
CODE_FOLDER = "code"

#: Where the course's own bank lives (installed with the package as package data).
BANK_DIRECTORY = Path(__file__).resolve().parent / "bank"

#: How the two true/false options must read, in order: ○ (True) first, then × (False).
TRUE_FALSE_TEXTS: tuple[tuple[str, str], tuple[str, str]] = (("○", "True"), ("×", "False"))

#: (fewest, most) options allowed per kind.
OPTION_COUNT_LIMITS: dict[str, tuple[int, int]] = {
    "true_false": (2, 2), "single": (3, 5), "multiple": (3, 6), "code": (3, 5)
}

_ITEM_FIELDS = frozenset(
    {
        "id", "chapter", "kind", "prompt", "options", "answer", "tolerance", "unit", "explanation",
        "references", "tags", "code", "verify",
    }
)
_CODE_ONLY_FIELDS = ("code", "verify")
_REQUIRED_FIELDS = ("id", "chapter", "kind", "prompt", "explanation", "references")
_NUMERIC_ONLY_FIELDS = ("answer", "tolerance", "unit")
_OPTION_FIELDS = frozenset({"text", "correct", "feedback"})
_CODE_OPTION_FIELDS = frozenset({"fill", "correct", "feedback"})
_SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")
_TAG_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class LocalizedText:
    """One piece of text in Japanese and English."""

    ja: str
    en: str

    def get(self, lang: str) -> str:
        """The text in ``lang`` ("ja" or "en")."""
        if lang == "ja":
            return self.ja
        if lang == "en":
            return self.en
        raise UnknownNameError("language", lang, LANGUAGES)


@dataclass(frozen=True)
class Option:
    """One answer choice with the feedback a learner sees when they pick it."""

    text: LocalizedText
    correct: bool
    feedback: LocalizedText


@dataclass(frozen=True)
class Question:
    """One checked bank item (or one generated numeric drill).

    ``options`` is empty for numeric items; ``answer``/``tolerance``/``unit`` are only meaningful for them.
    ``source`` says where the item came from (a bank file path, or ``generated``).
    """

    id: str
    chapter: str
    kind: str
    prompt: LocalizedText
    explanation: LocalizedText
    references: tuple[str, ...]
    options: tuple[Option, ...] = ()
    answer: float | None = None
    tolerance: float = 0.0
    unit: LocalizedText | None = None
    tags: tuple[str, ...] = ()
    source: str = ""
    code: str | None = None
    verify: str | None = None

    def completed_code(self, index: int) -> str:
        """A code item's snippet with option ``index``'s fill in the blank."""
        if self.code is None:
            raise CourseError(f"{self.id} is not a code-completion item.")
        return self.code.replace(CODE_BLANK, self.options[index].text.en)

    @property
    def correct_indices(self) -> frozenset[int]:
        """Indices (0-based) of the correct options; empty for numeric items."""
        return frozenset(index for index, option in enumerate(self.options) if option.correct)

    @property
    def is_misconception(self) -> bool:
        """True when the item is tagged as aimed at a common misconception."""
        return "misconception" in self.tags


def check_language(lang: str) -> str:
    """Return ``lang`` if it is a course language, else raise an error listing them."""
    if lang not in LANGUAGES:
        raise UnknownNameError("language", lang, LANGUAGES)
    return lang


def chapter_title(chapter: str, lang: str = "en") -> str:
    """The chapter's name for a learner (the slug itself for chapters the course does not know)."""
    check_language(lang)
    titles = CHAPTER_TITLES.get(chapter)
    if titles is None:
        return chapter
    return titles[0] if lang == "ja" else titles[1]


def chapters(*, directory: str | Path | None = None) -> list[str]:
    """Chapter slugs that have a bank file, in course order (slugs the course does not know last, sorted).

    With the default directory this is the course's own bank; pass ``directory`` for another bank (a
    teacher's own questions, or a test fixture).
    """
    present = {path.stem for path in _bank_files(_bank_directory(directory))}
    ordered = [chapter for chapter in COURSE_CHAPTERS if chapter in present]
    return ordered + sorted(present - set(COURSE_CHAPTERS))


def load_bank(
    chapter: str | Iterable[str] | None = None, *, directory: str | Path | None = None
) -> list[Question]:
    """Load and check the questions of one chapter, several chapters, or (``None``) the whole bank.

    Questions come in chapter order, then in the order of their file. An unknown chapter raises
    :class:`~cnncourse.errors.UnknownNameError` with close matches; a malformed item raises
    :class:`~cnncourse.errors.CourseError` naming the file, the item id and the field.
    """
    bank_dir = _bank_directory(directory)
    available = chapters(directory=bank_dir)
    if chapter is None:
        wanted = available
    else:
        wanted = [chapter] if isinstance(chapter, str) else list(chapter)
        for name in wanted:
            if name not in available:
                if name in COURSE_CHAPTERS:
                    raise CourseError(
                        f"The chapter {name!r} has no question file yet ({bank_dir / (name + '.yaml')} is "
                        "missing). "
                        f"Chapters with questions: {', '.join(available) or 'none'}."
                    )
                raise UnknownNameError(
                    "chapter", name, set(available) | set(COURSE_CHAPTERS),
                    "Run 'python -m cnncourse quiz --list' to see the chapters with questions.",
                )
    questions: list[Question] = []
    seen: dict[str, Path] = {}
    for name in wanted:
        # the chapter's file, then its code-completion items (code/<chapter>.yaml) when it has any
        paths = [bank_dir / f"{name}.yaml", bank_dir / CODE_FOLDER / f"{name}.yaml"]
        for path, question in ((path, q) for path in paths if path.exists() for q in load_bank_file(path)):
            if question.id in seen:
                raise CourseError(
                    f"{path}: item {question.id!r}: field 'id': the id is already used in "
                    f"{seen[question.id]}. "
                    "Ids are never reused: give this item the next free number."
                )
            seen[question.id] = path
            questions.append(question)
    return questions


def load_bank_file(path: str | Path) -> list[Question]:
    """Load and check one bank file. The file name (without ``.yaml``) is the chapter slug."""
    path = Path(path)
    chapter = path.stem
    try:
        raw_text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CourseError(f"{path}: no such question file. Check the path or the chapter name.") from None
    except UnicodeDecodeError as error:
        raise CourseError(
            f"{path}: not UTF-8 text ({error.reason} at byte {error.start}). Save it as UTF-8."
        ) from None
    try:
        document = yaml.load(raw_text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as error:
        where = ""
        mark = getattr(error, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(error, "problem", None) or str(error)
        raise CourseError(f"{path}: not valid YAML{where}: {problem}. Fix the syntax there.") from None
    return parse_bank_document(document, path=path, chapter=chapter)


def parse_bank_document(document: Any, *, path: str | Path, chapter: str) -> list[Question]:
    """Check a parsed bank document (what ``yaml.safe_load`` returned) and build its questions."""
    path = Path(path)
    if not _SLUG_PATTERN.match(chapter):
        raise CourseError(
            f"{path}: the file name must be a chapter slug (lower-case letters, digits and '_'), e.g. "
            "resnet.yaml."
        )
    if not isinstance(document, Mapping):
        raise CourseError(f"{path}: the file must be a mapping with 'chapter: {chapter}' and a list 'items'.")
    unknown = set(document) - {"chapter", "items"}
    if unknown:
        raise CourseError(
            f"{path}: unknown top-level field(s) {', '.join(sorted(map(str, unknown)))}. "
            "Only 'chapter' and 'items' belong there; indent item fields under '- id: ...'."
        )
    if document.get("chapter") != chapter:
        raise CourseError(
            f"{path}: field 'chapter' is {document.get('chapter')!r} but the file is {path.name}: "
            f"write 'chapter: {chapter}' (the file name is the chapter)."
        )
    items = document.get("items")
    if not isinstance(items, list) or not items:
        raise CourseError(
            f"{path}: field 'items' must be a non-empty list of questions ('- id: {chapter}-001', ...)."
        )
    questions = []
    seen_ids: set[str] = set()
    for position, item in enumerate(items, start=1):
        question = _parse_item(item, path=path, chapter=chapter, position=position)
        if question.id in seen_ids:
            raise CourseError(
                f"{path}: item {question.id!r}: field 'id': duplicate id in this file. "
                "Ids are never reused: give this item the next free number."
            )
        seen_ids.add(question.id)
        questions.append(question)
    return questions


class _ItemContext:
    """Builds error messages that name the file, the item and the field."""

    def __init__(self, path: Path, item_label: str) -> None:
        self.path = path
        self.item_label = item_label

    def error(self, field_name: str, problem: str) -> CourseError:
        return CourseError(f"{self.path}: item {self.item_label}: field '{field_name}': {problem}")


def _parse_item(item: Any, *, path: Path, chapter: str, position: int) -> Question:
    if not isinstance(item, Mapping):
        raise CourseError(
            f"{path}: item number {position}: each item must be a mapping starting with '- id: ...'."
        )
    raw_id = item.get("id")
    label = repr(raw_id) if isinstance(raw_id, str) and raw_id else f"number {position}"
    ctx = _ItemContext(path, label)

    unknown = sorted(map(str, set(item) - _ITEM_FIELDS))
    if unknown:
        raise ctx.error(unknown[0], f"unknown field. Allowed fields: {', '.join(sorted(_ITEM_FIELDS))}.")
    for name in _REQUIRED_FIELDS:
        if name not in item or item[name] is None:
            raise ctx.error(name, "missing. Every item needs " + ", ".join(_REQUIRED_FIELDS) + ".")

    kind = item.get("kind")
    id_pattern = rf"{re.escape(chapter)}-code-\d{{3}}" if kind == "code" else rf"{re.escape(chapter)}-\d{{3}}"
    if not isinstance(raw_id, str) or not re.fullmatch(id_pattern, raw_id):
        example = f"{chapter}-code-001" if kind == "code" else f"{chapter}-001"
        raise ctx.error("id", f"must look like {example} (three digits), got {raw_id!r}.")
    if item["chapter"] != chapter:
        raise ctx.error(
            "chapter", f"is {item['chapter']!r} but the item is in {path.name}: write 'chapter: {chapter}'."
        )
    if kind not in QUESTION_KINDS:
        raise ctx.error("kind", f"unknown kind {kind!r}. Use one of: {', '.join(QUESTION_KINDS)}.")

    prompt = _parse_localized(item["prompt"], ctx, "prompt")
    explanation = _parse_localized(item["explanation"], ctx, "explanation")
    references = _parse_references(item["references"], ctx)
    tags = _parse_tags(item.get("tags", []), ctx)

    options: tuple[Option, ...] = ()
    answer: float | None = None
    tolerance = 0.0
    unit: LocalizedText | None = None
    code: str | None = None
    verify: str | None = None
    if kind == "code":
        code, verify = _parse_code(item, ctx)
    else:
        for name in _CODE_ONLY_FIELDS:
            if name in item:
                raise ctx.error(name, f"only code-completion items (kind: code) have '{name}'.")
    if kind in CHOICE_KINDS:
        for name in _NUMERIC_ONLY_FIELDS:
            if name in item:
                raise ctx.error(
                    name, f"only numeric items have '{name}'; a {kind} item marks answers with 'correct'."
                )
        if "options" not in item:
            raise ctx.error("options", f"missing: a {kind} item needs a list of options.")
        options = _parse_options(item["options"], kind, ctx)
    else:
        if "options" in item:
            raise ctx.error("options", "a numeric item has no options; give 'answer' (and 'tolerance').")
        if "answer" not in item:
            raise ctx.error("answer", "missing: a numeric item needs the correct number in 'answer'.")
        answer = _parse_number(item["answer"], ctx, "answer")
        tolerance = _parse_number(item.get("tolerance", 0), ctx, "tolerance")
        if tolerance < 0:
            raise ctx.error("tolerance", f"must be 0 or more (an absolute tolerance), got {tolerance}.")
        if "unit" in item and item["unit"] is not None:
            unit = _parse_localized(item["unit"], ctx, "unit")
    return Question(
        id=raw_id,
        chapter=chapter,
        kind=kind,
        prompt=prompt,
        explanation=explanation,
        references=references,
        options=options,
        answer=answer,
        tolerance=tolerance,
        unit=unit,
        tags=tags,
        source=str(path),
        code=code,
        verify=verify,
    )


def _parse_code(item: Mapping[str, Any], ctx: _ItemContext) -> tuple[str, str]:
    code = item.get("code")
    if not isinstance(code, str) or not code.strip():
        raise ctx.error("code", f"missing: a code item needs the snippet, with the blank written {CODE_BLANK}.")
    blanks = code.count(CODE_BLANK)
    if blanks != 1:
        raise ctx.error("code", f"must contain the blank {CODE_BLANK} exactly once; it has {blanks}.")
    verify = item.get("verify")
    if not isinstance(verify, str) or not verify.strip():
        raise ctx.error(
            "verify",
            "missing: Python run after the completed snippet that passes with the correct fill and fails "
            "with every other (the tests run it).",
        )
    for name, text in (("code", code), ("verify", verify)):
        try:
            compile(text.replace(CODE_BLANK, "None"), f"<{name}>", "exec")
        except SyntaxError as error:
            raise ctx.error(name, f"is not valid Python: {error.msg} (line {error.lineno}).") from None
    return code.rstrip() + "\n", verify


def _parse_localized(value: Any, ctx: _ItemContext, field_name: str) -> LocalizedText:
    if not isinstance(value, Mapping):
        raise ctx.error(field_name, "must be a mapping {ja: ..., en: ...} with the text in both languages.")
    extra = sorted(map(str, set(value) - set(LANGUAGES)))
    if extra:
        raise ctx.error(field_name, f"unknown language key {extra[0]!r}; only 'ja' and 'en' are used.")
    texts = {}
    for lang in LANGUAGES:
        text = value.get(lang)
        if text is None:
            raise ctx.error(field_name, f"missing language '{lang}': every text needs both 'ja' and 'en'.")
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise ctx.error(field_name, f"the '{lang}' text must be a string.")
        text = str(text).strip()
        if not text:
            raise ctx.error(field_name, f"the '{lang}' text is empty.")
        texts[lang] = text
    return LocalizedText(ja=texts["ja"], en=texts["en"])


def _parse_options(value: Any, kind: str, ctx: _ItemContext) -> tuple[Option, ...]:
    if not isinstance(value, list):
        raise ctx.error("options", "must be a list of options, each with text, correct and feedback.")
    fewest, most = OPTION_COUNT_LIMITS[kind]
    if not fewest <= len(value) <= most:
        if kind == "true_false":
            wanted = "exactly 2 options, ○ (True) and × (False)"
        else:
            wanted = f"{fewest} to {most} options"
        raise ctx.error("options", f"a {kind} item needs {wanted}; it has {len(value)}.")
    options = []
    text_field = "fill" if kind == "code" else "text"
    allowed = _CODE_OPTION_FIELDS if kind == "code" else _OPTION_FIELDS
    for number, raw in enumerate(value, start=1):
        where = f"options[{number}]"
        if not isinstance(raw, Mapping):
            raise ctx.error(where, f"each option must be a mapping with {text_field}, correct and feedback.")
        unknown = sorted(map(str, set(raw) - allowed))
        if unknown:
            raise ctx.error(
                f"{where}.{unknown[0]}", f"unknown field; an option has only {text_field}, correct and feedback."
            )
        for name in (text_field, "correct", "feedback"):
            if name not in raw or raw[name] is None:
                hint = (
                    " Every option needs feedback {ja, en}; a wrong option's says what is true and why it "
                    "is tempting."
                    if name == "feedback"
                    else ""
                )
                raise ctx.error(f"{where}.{name}", "missing." + hint)
        if not isinstance(raw["correct"], bool):
            raise ctx.error(f"{where}.correct", f"must be true or false, got {raw['correct']!r}.")
        if kind == "code":
            fill = raw["fill"]
            if not isinstance(fill, str) or not fill.strip() or "\n" in fill.strip():
                raise ctx.error(f"{where}.fill", "must be one line of code that goes into the blank.")
            option_text = LocalizedText(ja=fill.strip(), en=fill.strip())
        else:
            option_text = _parse_localized(raw["text"], ctx, f"{where}.text")
        options.append(
            Option(
                text=option_text,
                correct=raw["correct"],
                feedback=_parse_localized(raw["feedback"], ctx, f"{where}.feedback"),
            )
        )
    texts = [option.text.en for option in options] + [option.text.ja for option in options]
    for lang_texts in (texts[: len(options)], texts[len(options) :]):
        if len(set(lang_texts)) != len(lang_texts):
            raise ctx.error("options", "two options have the same text; each option must be different.")
    correct_count = sum(option.correct for option in options)
    if correct_count == 0:
        raise ctx.error("options", "no option is marked 'correct: true'; mark the right answer.")
    if kind in ("true_false", "single", "code") and correct_count != 1:
        raise ctx.error(
            "options",
            f"a {kind} item has exactly one correct option; {correct_count} are marked correct "
            "(use kind: multiple for several).",
        )
    if kind == "true_false":
        actual = tuple((option.text.ja, option.text.en) for option in options)
        if actual != TRUE_FALSE_TEXTS:
            raise ctx.error(
                "options",
                "a true_false item's options are ○ (True) first, then × (False): "
                "text {ja: ○, en: 'True'} and text {ja: ×, en: 'False'}; "
                f"got {[f'{ja}/{en}' for ja, en in actual]}.",
            )
    return tuple(options)


def _parse_number(value: Any, ctx: _ItemContext, field_name: str) -> float:
    # YAML reads 3.5e6 (no sign in the exponent) as a string, so a numeric-looking string is accepted.
    if isinstance(value, bool):
        raise ctx.error(field_name, f"must be a number, got {value!r}.")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.replace("_", ""))
        except ValueError:
            raise ctx.error(
                field_name,
                f"must be a number (no thousands separators; 2359296 or 2.359296e+6), got {value!r}.",
            ) from None
    else:
        raise ctx.error(field_name, f"must be a number, got {value!r}.")
    if not math.isfinite(number):
        raise ctx.error(field_name, f"must be a finite number, got {value!r}.")
    return number


def _parse_references(value: Any, ctx: _ItemContext) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise ctx.error(
            "references", "must list at least one source: paper, year, arXiv id and section/table."
        )
    references = []
    for reference in value:
        if not isinstance(reference, str) or not reference.strip():
            raise ctx.error("references", f"each reference must be a non-empty string, got {reference!r}.")
        references.append(reference.strip())
    return tuple(references)


def _parse_tags(value: Any, ctx: _ItemContext) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ctx.error("tags", "must be a list of words, e.g. [misconception, seed-000].")
    for tag in value:
        if not isinstance(tag, str) or not _TAG_PATTERN.match(tag):
            raise ctx.error("tags", f"each tag is one word of letters, digits, '-', '_' or '.', got {tag!r}.")
    return tuple(value)


def _bank_directory(directory: str | Path | None) -> Path:
    if directory is None:
        return BANK_DIRECTORY
    path = Path(directory).expanduser()
    if not path.is_dir():
        raise CourseError(
            f"The question bank folder {path} does not exist. Pass a folder holding <chapter>.yaml files."
        )
    return path


#: libyaml's loader when PyYAML was built with it (about ten times faster), else the pure-Python one.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CHAPTER_KEY = re.compile(r"^chapter\s*:", re.MULTILINE)


def _bank_files(directory: Path) -> list[Path]:
    """The question files of a bank folder: ``*.yaml`` with a top-level ``chapter:`` key.

    Other YAML files may share the folder (the chapters' glossaries do), so a file is recognised by
    that key, read with a cheap text search rather than a full parse; files starting with ``_`` or
    ``.`` are ignored.
    """
    if not directory.is_dir():
        return []
    files = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name.startswith(("_", ".")):
            continue
        try:
            head = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if _CHAPTER_KEY.search(head):
            files.append(path)
    return files


@dataclass(frozen=True)
class BankSummary:
    """Counts the ``--list`` command and the tests report for one chapter."""

    chapter: str
    total: int
    misconception: int
    by_kind: dict[str, int] = field(default_factory=dict)


def summarize(questions: Sequence[Question]) -> list[BankSummary]:
    """Per-chapter counts (total, misconception items, items per kind), in the order chapters appear."""
    groups: dict[str, list[Question]] = {}
    for question in questions:
        groups.setdefault(question.chapter, []).append(question)
    summaries = []
    for chapter, items in groups.items():
        by_kind = {kind: sum(q.kind == kind for q in items) for kind in QUESTION_KINDS}
        summaries.append(BankSummary(chapter, len(items), sum(q.is_misconception for q in items), by_kind))
    return summaries


__all__ = [
    "BANK_DIRECTORY",
    "COURSE_CHAPTERS",
    "LANGUAGES",
    "QUESTION_KINDS",
    "BankSummary",
    "LocalizedText",
    "Option",
    "Question",
    "CHAPTER_TITLES",
    "chapter_title",
    "chapters",
    "check_language",
    "load_bank",
    "load_bank_file",
    "load_glossary",
    "GlossaryEntry",
    "parse_bank_document",
    "summarize",
]


@dataclass(frozen=True)
class GlossaryEntry:
    """One cheat-sheet line: the term in Japanese and English, and the fact worth remembering in each."""

    ja: str
    en: str
    note_ja: str
    note_en: str


_GLOSSARY_FIELDS = ("ja", "en", "note_ja", "note_en")


def load_glossary(chapter: str, *, directory: str | Path | None = None) -> list[GlossaryEntry]:
    """The bilingual glossary of ``chapter`` from the ``glossary_*.yaml`` files beside the question bank.

    Each file maps chapter slugs to lists of ``{ja, en, note_ja, note_en}``; a malformed entry raises a
    :class:`CourseError` naming the file, the chapter and the entry's position.
    """
    folder = _bank_directory(directory)
    found: dict[str, list[GlossaryEntry]] = {}
    for path in sorted(folder.glob("glossary_*.yaml")):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
        if not isinstance(document, Mapping):
            raise CourseError(f"{path}: a glossary maps chapter names to lists of entries.")
        for slug, entries in document.items():
            if not isinstance(entries, list):
                raise CourseError(f"{path}: glossary of {slug!r} must be a list of entries.")
            for position, entry in enumerate(entries, start=1):
                missing = [name for name in _GLOSSARY_FIELDS if not isinstance(entry, Mapping)
                           or not str(entry.get(name, "")).strip()]
                if missing:
                    raise CourseError(f"{path}: {slug} entry {position} lacks {', '.join(missing)}.")
                found.setdefault(str(slug), []).append(GlossaryEntry(*(str(entry[n]) for n in _GLOSSARY_FIELDS)))
    if chapter not in found:
        raise UnknownNameError("glossary chapter", chapter, found)
    return found[chapter]


def cheat_sheet(chapter: str, *, directory: str | Path | None = None) -> str:
    """The glossary of ``chapter`` as the Markdown table each chapter ends with.

    Columns 日本語 | English | 覚えること | remember, one row per :class:`GlossaryEntry`, ``|`` escaped so a
    formula such as ΔAcc / |ΔLatency| stays in its cell. Notebooks show it with ``Markdown(cheat_sheet(...))``.
    """
    rows = ["| 日本語 | English | 覚えること | remember |", "| --- | --- | --- | --- |"]
    for entry in load_glossary(chapter, directory=directory):
        cells = (entry.ja, entry.en, entry.note_ja, entry.note_en)
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)
