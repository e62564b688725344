"""The notebook pipeline: jupytext pairs in sync, the shared first cell, outputs nbval compares.

The notebooks themselves are executed by nbval (see ``course.py``); these tests keep the files honest.
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

from cnncourse.settings import colab_install_url

ROOT = Path(__file__).resolve().parents[1]
PAIRED_FOLDERS = ["notebooks", "solutions"]
ALL_FOLDERS = ["notebooks", "solutions", "exercises"]
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"


def notebooks_in(folders: list[str]) -> list[Path]:
    return sorted(path for folder in folders for path in (ROOT / folder).glob("*.ipynb"))


def cell_sources(notebook: nbformat.NotebookNode) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_there_are_notebooks() -> None:
    assert (ROOT / "notebooks" / "00_start_here.ipynb").exists()


@pytest.mark.parametrize("path", notebooks_in(PAIRED_FOLDERS), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_ipynb_and_its_text_pair_have_the_same_cells(path: Path) -> None:
    pair = path.with_suffix(".py")
    assert pair.exists(), f"{path.name} has no paired {pair.name}: run 'jupytext --sync {path}'"
    from_ipynb = cell_sources(jupytext.read(path))
    from_text = cell_sources(jupytext.read(pair))
    assert from_ipynb == from_text, f"{path.name} and {pair.name} differ: run 'jupytext --sync {pair}'"


@pytest.mark.parametrize("path", notebooks_in(ALL_FOLDERS), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_first_code_cell_installs_from_the_one_course_url_and_checks_the_environment(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert colab_install_url() in first_code.source, "the Colab install URL must equal settings.colab_install_url()"
    assert "notebook_check()" in first_code.source


@pytest.mark.parametrize("path", notebooks_in(["notebooks"]), ids=lambda p: p.name)
def test_chapter_marks_cells_whose_output_matters_and_stores_that_output(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    checked = [cell for cell in notebook.cells if cell.cell_type == "code" and cell.source.startswith(CHECK_MARK)]
    assert checked, f"{path.name} has no '{CHECK_MARK}' cell: mark the shapes / counts / formula checks"
    for cell in checked:
        assert cell.outputs, f"{path.name}: a '{CHECK_MARK}' cell has no stored output for nbval to compare"


@pytest.mark.parametrize("path", notebooks_in(ALL_FOLDERS), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stored_outputs_hold_no_errors_or_machine_paths(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            assert output.output_type != "error", f"{path.name} was saved with an error output"
            text = str(output.get("text", "")) + str(output.get("data", {}).get("text/plain", ""))
            assert "/work/main" not in text and "/root/" not in text, f"{path.name} shows a local path"
