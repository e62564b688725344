"""The chapter 01/02 exercise notebooks: metadata, solutions that pass, exercises that run "not attempted".

The lead's nbval run executes solutions/ and exercises/ in real kernels; here the same code cells run
in-process (fast, no kernel) so that what they report can be asserted exercise by exercise.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from types import ModuleType

import nbformat
import pytest
from check_helpers import fresh_session  # noqa: F401  (autouse fixture)

from cnncourse.check import core
from cnncourse.check import densenet as densenet_checks
from cnncourse.check import efficientnet as efficientnet_checks
from cnncourse.check import mobilenet_v1 as mobilenet_v1_checks
from cnncourse.check import mobilenet_v2 as mobilenet_v2_checks
from cnncourse.check import mobilenet_v3 as mobilenet_v3_checks
from cnncourse.check import nas as nas_checks
from cnncourse.check import resnet as resnet_checks
from cnncourse.check import senet as senet_checks
from cnncourse.check import transfer as transfer_checks
from cnncourse.check import wide_resnet as wide_resnet_checks
from cnncourse.check.core import ExerciseState

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS: dict[str, ModuleType] = {
    "01_resnet": resnet_checks,
    "02_wide_resnet": wide_resnet_checks,
    "03_senet": senet_checks,
    "04_densenet": densenet_checks,
    "05_mobilenet_v1": mobilenet_v1_checks,
    "06_mobilenet_v2": mobilenet_v2_checks,
    "07_mobilenet_v3": mobilenet_v3_checks,
    "08_nas": nas_checks,
    "09_efficientnet": efficientnet_checks,
    "02b_transfer_learning": transfer_checks,
}
NBGRADER_KEYS = {"grade", "grade_id", "locked", "schema_version", "solution"}
#: Interludes (00b, 01b, 02b) have one short exercise set: two graded exercises, no hidden tests.
INTERLUDES = {"02b_transfer_learning"}


def read(folder: str, chapter: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / folder / f"{chapter}.ipynb", as_version=4)


def check_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
    ]


def run_in_process(notebook: nbformat.NotebookNode) -> str:
    """Execute every code cell but the set-up cell in one namespace; return what was printed."""
    code_cells = [c for c in notebook.cells if c.cell_type == "code"][1:]
    namespace: dict[str, object] = {"__name__": "__notebook__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for cell in code_cells:
            exec(compile(cell.source, "<cell>", "exec"), namespace)  # noqa: S102 — our own notebooks
    return printed.getvalue()



@pytest.mark.parametrize("chapter", CHAPTERS)
def test_check_cells_match_the_chapters_exercises_in_order_with_their_points(chapter: str) -> None:
    exercises = CHAPTERS[chapter].CHAPTER.exercises
    assert len(exercises) >= (2 if chapter in INTERLUDES else 4)
    for folder in ("solutions", "exercises"):
        cells = check_cells(read(folder, chapter))
        assert [c.metadata.nbgrader.grade_id for c in cells] == [e.grade_id for e in exercises]
        assert [c.metadata.nbgrader.points for c in cells] == [e.points for e in exercises]
        assert all(c.metadata.nbgrader.locked and not c.metadata.nbgrader.solution for c in cells)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_nbgrader_metadata_is_valid_schema_3(chapter: str) -> None:
    notebook = read("solutions", chapter)
    ids = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        assert NBGRADER_KEYS <= set(meta) and meta.schema_version == 3
        assert re.fullmatch(r"[A-Za-z0-9_\-]+", meta.grade_id)
        if meta.grade:
            assert meta.points > 0
        if cell.cell_type == "markdown":  # nbgrader: markdown cells are graded answers, both flags set
            assert meta.grade and meta.solution
        ids.append(meta.grade_id)
    assert len(ids) == len(set(ids))
    assert any(c.cell_type == "markdown" and c.metadata.get("nbgrader") for c in notebook.cells)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_solution_passes_all_its_checks(chapter: str) -> None:
    printed = run_in_process(read("solutions", chapter))
    chapter_checks = CHAPTERS[chapter].CHAPTER
    states = {e.grade_id: core.exercise_state(e) for e in chapter_checks.exercises}
    assert set(states.values()) == {ExerciseState.DONE}, printed
    total = len(chapter_checks.exercises)
    assert f"{total} of {total} exercises done" in printed
    assert "✗" not in printed
    hidden_parts = [r for e in chapter_checks.exercises for r in core.results_for(e) if r.part == "hidden"]
    assert hidden_parts or chapter in INTERLUDES, "the solutions carry hidden tests"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_notebook_runs_and_reports_not_attempted(chapter: str) -> None:
    notebook = read("exercises", chapter)
    text = nbformat.writes(notebook)
    assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
    printed = run_in_process(notebook)
    chapter_checks = CHAPTERS[chapter].CHAPTER
    states = {core.exercise_state(e) for e in chapter_checks.exercises}
    assert states == {ExerciseState.NOT_ATTEMPTED}, printed
    assert f"0 of {len(chapter_checks.exercises)} exercises done" in printed
    assert printed.count("not attempted yet") == len(chapter_checks.exercises)
    assert "Traceback" not in printed


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_stored_solution_outputs_show_every_check_passed(chapter: str) -> None:
    notebook = read("solutions", chapter)
    for cell in check_cells(notebook):
        payloads = [o.data[core.MIME_TYPE] for o in cell.outputs if core.MIME_TYPE in o.get("data", {})]
        assert payloads, f"{cell.metadata.nbgrader.grade_id}: run the solution notebook and save its outputs"
        for payload in payloads:
            assert payload["exercise"] == cell.metadata.nbgrader.grade_id
            assert payload["status"] == "passed"
            assert payload["points"] == cell.metadata.nbgrader.points
    summary = notebook.cells[-1]
    total = len(CHAPTERS[chapter].CHAPTER.exercises)
    assert summary.source.startswith("# NBVAL_CHECK_OUTPUT")
    assert f"{total} of {total} exercises done" in summary.outputs[0].text
