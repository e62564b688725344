"""``python -m cnncourse assign --source solutions --out exercises``: student notebooks from solutions.

The solution notebooks are the one source. They mark what the student writes with nbgrader's markers
(Hamrick et al., nbgrader, https://nbgrader.readthedocs.io, "Developing assignments") and carry
nbgrader cell metadata (schema version 3), so an instructor who uses nbgrader can take them as they are.
This command does what ``nbgrader generate_assignment`` does to them, without needing nbgrader:

* a code region ``### BEGIN SOLUTION`` … ``### END SOLUTION`` becomes ``# YOUR CODE HERE`` and
  ``raise NotImplementedError()`` at the marker's indentation;
* a markdown region becomes ``YOUR ANSWER HERE``;
* a region ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` is removed (the grader restores it from
  the solution with ``grade --source``);
* outputs and execution counts are cleared, and the ``# NBVAL_CHECK_OUTPUT`` marker is dropped, since
  a student notebook stores no output for nbval to compare.

Departures from nbgrader: a solution cell without a region, a region in a cell whose metadata does not
mark it as a solution (or hidden tests outside a grade cell), and a code region at the top level of a
cell (its stub would stop "Run all" on the student's first run) are errors here, not warnings; no
checksums are written.

The output is deterministic — sorted keys, nbformat 4.5, the source's cell ids, a trailing newline —
so running the command twice gives byte-identical files and a test can compare the committed
``exercises/`` with what this command makes (``--check``).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from cnncourse.errors import CourseError

SOLUTION_BEGIN = "### BEGIN SOLUTION"
SOLUTION_END = "### END SOLUTION"
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
CODE_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"
NBVAL_CHECK_MARK = "# NBVAL_CHECK_OUTPUT"

NBFORMAT = 4
NBFORMAT_MINOR = 5
#: Cell metadata a front end writes while running a notebook, or jupytext writes to keep the blank lines
#: of the paired .py; it says nothing about the exercise.
TRANSIENT_CELL_METADATA = ("execution", "ExecuteTime", "collapsed", "scrolled", "lines_to_next_cell")
#: Notebook metadata that belongs to the solution only (the jupytext pairing would make a student's
#: JupyterLab write a .py twin next to the exercise).
SOLUTION_ONLY_METADATA = ("jupytext",)


@dataclass(frozen=True)
class _Region:
    begin: str
    end: str
    kind: str  # "solution" or "hidden tests"


_REGIONS = (
    _Region(SOLUTION_BEGIN, SOLUTION_END, "solution"),
    _Region(HIDDEN_BEGIN, HIDDEN_END, "hidden tests"),
)


def _marker(line: str) -> tuple[_Region, bool] | None:
    """The region a marker line opens (True) or closes (False), or None for an ordinary line."""
    stripped = line.strip()
    for region in _REGIONS:
        if stripped.startswith(region.begin):
            return region, True
        if stripped.startswith(region.end):
            return region, False
    return None


def _nbgrader(cell: dict) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def student_cell_source(cell: dict, where: str) -> str:
    """The student's version of one cell's source. ``where`` names the notebook and cell in errors."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    is_code = cell.get("cell_type") == "code"
    meta = _nbgrader(cell)
    lines_out: list[str] = []
    open_region: _Region | None = None
    regions_seen: set[str] = set()
    for number, line in enumerate(source.split("\n"), start=1):
        found = _marker(line)
        if found is None:
            if open_region is None:
                lines_out.append(line)
            continue
        region, opens = found
        if opens:
            if open_region is not None:
                raise CourseError(
                    f"{where}, line {number}: '{region.begin}' inside an open '{open_region.begin}' region. "
                    f"Regions cannot nest: close the first with '{open_region.end}'."
                )
            open_region = region
            regions_seen.add(region.kind)
            indent = line[: len(line) - len(line.lstrip())]
            if region.kind == "solution":
                if is_code:
                    if not indent:
                        raise CourseError(
                            f"{where}, line {number}: a solution region at the top level of a code cell "
                            "would make the student's notebook stop at this cell. Put the region inside "
                            "a function or method body."
                        )
                    lines_out.extend(indent + stub for stub in CODE_STUB)
                else:
                    lines_out.append(MARKDOWN_STUB)
            continue
        if open_region is None:
            raise CourseError(
                f"{where}, line {number}: '{region.end}' without a matching '{region.begin}' before it."
            )
        if open_region is not region:
            raise CourseError(
                f"{where}, line {number}: '{region.end}' closes a region opened with '{open_region.begin}'. "
                f"Close it with '{open_region.end}'."
            )
        open_region = None
    if open_region is not None:
        raise CourseError(f"{where}: '{open_region.begin}' is never closed: add '{open_region.end}'.")
    if "hidden tests" in regions_seen and not (is_code and meta.get("grade") and not meta.get("solution")):
        raise CourseError(
            f"{where}: hidden tests belong in a code cell whose nbgrader metadata says grade: true, "
            "solution: false (an autograder test cell)."
        )
    if "solution" in regions_seen and not meta.get("solution"):
        raise CourseError(
            f"{where}: a solution region in a cell whose nbgrader metadata does not say solution: true. "
            "Mark the cell as a solution cell (nbgrader 'Autograded answer' or 'Manually graded answer')."
        )
    if meta.get("solution") and "solution" not in regions_seen:
        raise CourseError(
            f"{where}: the cell is marked as a solution cell but has no '{SOLUTION_BEGIN}' region. "
            "Mark the part the student writes."
        )
    if is_code:
        lines_out = [line for line in lines_out if line.strip() != NBVAL_CHECK_MARK]
    return "\n".join(lines_out)


def _cell_id(notebook_name: str, index: int) -> str:
    """A stable id for a source cell that has none (nbformat < 4.5): same input, same id."""
    return hashlib.sha1(f"{notebook_name}:{index}".encode()).hexdigest()[:12]


def _copy_without(metadata: dict, dropped: tuple[str, ...]) -> dict:
    return {key: copy.deepcopy(value) for key, value in metadata.items() if key not in dropped}


def make_student_notebook(solution: dict, name: str) -> dict:
    """The exercise version of the solution notebook ``solution`` (a parsed .ipynb) called ``name``."""
    if solution.get("nbformat") != NBFORMAT:
        version = solution.get("nbformat")
        raise CourseError(f"{name}: nbformat {version} is not supported; save it as nbformat 4.")
    cells = []
    for index, cell in enumerate(solution.get("cells", [])):
        where = f"{name}, cell {index}"
        cell_type = cell.get("cell_type")
        if cell_type not in {"code", "markdown", "raw"}:
            raise CourseError(f"{where}: unknown cell type {cell_type!r}.")
        metadata = _copy_without(cell.get("metadata", {}), TRANSIENT_CELL_METADATA)
        new_cell: dict = {
            "cell_type": cell_type,
            "id": cell.get("id") or _cell_id(name, index),
            "metadata": metadata,
            "source": student_cell_source(cell, where),
        }
        if cell_type == "code":
            new_cell["execution_count"] = None
            new_cell["outputs"] = []
        elif "attachments" in cell:
            new_cell["attachments"] = copy.deepcopy(cell["attachments"])
        cells.append(new_cell)
    metadata = _copy_without(solution.get("metadata", {}), SOLUTION_ONLY_METADATA)
    metadata["cnncourse"] = {"assignment": Path(name).stem, "generated_from": f"solutions/{name}"}
    return {"cells": cells, "metadata": metadata, "nbformat": NBFORMAT, "nbformat_minor": NBFORMAT_MINOR}


def notebook_text(notebook: dict) -> str:
    """Serialise like nbformat does (sorted keys, indent 1, UTF-8 text, multi-line sources as lists)."""
    import nbformat

    node = nbformat.from_dict(notebook)
    nbformat.validate(node)
    text = nbformat.writes(node, version=NBFORMAT)
    return text if text.endswith("\n") else text + "\n"


def read_notebook_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CourseError(f"{path}: cannot read it as a notebook ({error}).") from None
    if not isinstance(data, dict):
        raise CourseError(f"{path}: not a notebook (the JSON is not an object).")
    return data


def _chapter_prefix(chapter: str) -> str:
    """``"1"``, ``"01"``, ``"01_resnet"`` → ``"01"``; ``"2b"`` → ``"02b"`` (an interlude): how the notebook's
    name starts."""
    match = re.fullmatch(r"(\d+)([a-z]?)", chapter.split("_", 1)[0])
    if match is None:
        raise CourseError(f"--only {chapter!r}: name chapters by number, e.g. --only 01 03 02b.")
    return f"{int(match[1]):02d}{match[2]}"


def source_notebooks(source: Path, only: list[str] | None = None) -> list[Path]:
    """The solution notebooks to turn into exercises: ``source`` itself (one notebook), or those in the
    ``source`` folder, optionally only the chapters numbered in ``only``."""
    if source.is_file():
        if source.suffix != ".ipynb":
            raise CourseError(f"--source {source} is not a notebook: pass a .ipynb file or the solutions folder.")
        if only:
            raise CourseError("--only picks chapters from a folder; --source already names one notebook.")
        return [source]
    if not source.is_dir():
        raise CourseError(f"Source {source} does not exist: pass --source solutions (or one solution notebook).")
    paths = sorted(source.glob("*.ipynb"))
    if not paths:
        raise CourseError(f"No .ipynb notebooks in {source}: pass the folder of solution notebooks.")
    if only:
        prefixes = {_chapter_prefix(chapter) for chapter in only}
        paths = [path for path in paths if path.name.split("_", 1)[0] in prefixes]
        if not paths:
            available = ", ".join(path.stem for path in sorted(source.glob("*.ipynb")))
            raise CourseError(f"No solution notebook for --only {' '.join(only)} in {source}; there are: {available}.")
    return paths


def generate(source: Path, out_dir: Path, only: list[str] | None = None) -> dict[str, str]:
    """Make the student notebooks in memory: ``{file name: text}``, sorted by name.

    ``source`` is the solutions folder or one solution notebook; ``only`` picks chapters by number.
    """
    source_dir = source.parent if source.is_file() else source
    if source_dir.exists() and source_dir.resolve() == out_dir.resolve():
        raise CourseError(
            "--out is the --source folder: that would overwrite the solutions. Use --out exercises."
        )
    paths = source_notebooks(source, only)
    return {
        path.name: notebook_text(make_student_notebook(read_notebook_json(path), path.name)) for path in paths
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse assign",
        description="Make student exercise notebooks from the solution notebooks: solution regions become "
        "stubs, hidden tests are removed, outputs are cleared.",
    )
    parser.add_argument(
        "--source",
        type=Path,
        default=Path("solutions"),
        help="the folder of solution notebooks (default solutions), or one solution notebook",
    )
    parser.add_argument(
        "--only", nargs="+", metavar="CHAPTER", help="only these chapters of the folder, e.g. --only 01 03"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("exercises"), help="folder for the student notebooks"
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if --out differs from what would be written",
    )
    args = parser.parse_args(argv)
    made = generate(args.source, args.out, args.only)
    existing = {path.name for path in args.out.glob("*.ipynb")} if args.out.is_dir() else set()
    # a notebook without a solution is stale only when the whole folder was generated
    whole_folder = args.source.is_dir() and not args.only
    stale = sorted(existing - set(made)) if whole_folder else []
    if args.check:
        differing = [
            name
            for name, text in made.items()
            if not (args.out / name).exists() or (args.out / name).read_text(encoding="utf-8") != text
        ]
        for name in differing:
            print(f"out of date: {args.out / name}")
        for name in stale:
            print(f"no solution for: {args.out / name}")
        if differing or stale:
            print(f"Run: python -m cnncourse assign --source {args.source} --out {args.out}")
            return 1
        print(f"{len(made)} exercise notebooks in {args.out} are up to date.")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in made.items():
        target = args.out / name
        if target.exists() and target.read_text(encoding="utf-8") == text:
            print(f"unchanged {target}")
            continue
        target.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote     {target}")
    for name in stale:
        print(f"warning: {args.out / name} has no solution in {args.source}; delete it if it is obsolete.")
    return 0
