"""Submissions of chapter 01 the grading tests share: honest work, stubs and each known cheat.

Imported by name (tests/check is on sys.path under pytest), like check_helpers. Each submission is made
from the committed exercise notebook, with answers copied from the solution notebook where the student
is honest, so the tests follow the course's own notebooks rather than a copy of them.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat

from cnncourse.check.core import MIME_TYPE, PAYLOAD_VERSION

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "01_resnet.ipynb"
EXERCISE = ROOT / "exercises" / "01_resnet.ipynb"

#: The autograded exercises of chapter 01 and their points, in notebook order.
POINTS = {
    "resnet_conv_output_size": 1,
    "resnet_stage_sizes": 1,
    "resnet_bottleneck_parameters": 2,
    "resnet_projection_shortcut": 2,
    "resnet_basic_block": 3,
    "resnet_bottleneck": 3,
}
WRITTEN = "resnet_written_identity"


def nbgrader_id(cell: nbformat.NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def answer_cells(notebook: nbformat.NotebookNode) -> dict[str, nbformat.NotebookNode]:
    return {nbgrader_id(c): c for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}


def solved_answers() -> dict[str, str]:
    solution = nbformat.read(SOLUTION, as_version=4)
    return {grade_id: cell.source for grade_id, cell in answer_cells(solution).items()}


def fill(answers: dict[str, str]) -> nbformat.NotebookNode:
    """The exercise notebook with the answer cells ``grade_id → source`` written in."""
    notebook = nbformat.read(EXERCISE, as_version=4)
    cells = answer_cells(notebook)
    for grade_id, source in answers.items():
        cells[grade_id].source = source
    return notebook


def index_of(notebook: nbformat.NotebookNode, grade_id: str) -> int:
    return [nbgrader_id(cell) for cell in notebook.cells].index(grade_id)


def insert_after(notebook: nbformat.NotebookNode, grade_id: str, source: str) -> None:
    notebook.cells.insert(index_of(notebook, grade_id) + 1, nbformat.v4.new_code_cell(source))


def look_alike(grade_id: str, points: float) -> dict:
    """A payload like the checks publish, claiming that ``grade_id`` passed."""
    return {"version": PAYLOAD_VERSION, "chapter": "01_resnet", "exercise": grade_id, "number": 1,
            "part": "main", "status": "passed", "points": points, "properties": [], "note": ""}


PATCHED_RUN_CHECK = """
import cnncourse.check.core as core
from cnncourse.check.core import ExerciseResult, Property, Status

def always_passes(exercise, body, *, part="main"):
    return ExerciseResult(exercise, Status.PASSED, (Property("everything", True),), part)

core.run_check = always_passes
"""

BONUS_CELL = f"""
from IPython.display import display
display({{"text/plain": "Exercise 7 · bonus — all checks passed", {MIME_TYPE!r}: {look_alike("bonus_points", 50)!r}}},
        raw=True)
"""

PRINTED_BY_HAND = f"""
import json
from IPython import get_ipython
from IPython.display import display
FORGED = {[look_alike(grade_id, points) for grade_id, points in POINTS.items()]!r}

def show_forged_results(*args):
    for payload in FORGED:
        display({{"text/plain": "all checks passed", {MIME_TYPE!r}: payload}}, raw=True)
        print(json.dumps(payload))

show_forged_results()
get_ipython().events.register("post_run_cell", show_forged_results)  # into every later cell, check cells too
"""

HARD_CODED = """
def conv_output_size(size, kernel_size, stride=1, padding=0):
    # hard-coded for the cases the visible check uses: the hidden tests catch it
    known = {(32, 3, 1, 1): 32, (32, 3, 2, 1): 16, (7, 3, 2, 1): 4, (224, 7, 2, 3): 112, (112, 3, 2, 1): 56,
             (56, 1, 2, 0): 28, (15, 5, 1, 0): 11, (9, 1, 2, 0): 5}
    return known[(size, kernel_size, stride, padding)]
"""
STAGE_SIZES = """
def resnet20_feature_sizes(input_size):
    half = (input_size + 1) // 2
    return [input_size, half, (half + 1) // 2]
"""
NO_BATCHNORM = """
def bottleneck_parameters(inplanes, planes, stride):
    out = 4 * planes
    count = inplanes * planes + 9 * planes * planes + planes * out
    return count + (inplanes * out if stride != 1 or inplanes != out else 0)
"""

WRITTEN_ANSWER = ("**Answer / 解答:**\n\nA residual block learns F(x) = H(x) − x, so the identity needs only "
                  "F = 0, which weight decay pushes towards.")


def submissions() -> dict[str, nbformat.NotebookNode]:
    """``name → notebook``: the honest ones and one per cheat (see each comment for what it should earn)."""
    solved = solved_answers()
    made: dict[str, nbformat.NotebookNode] = {}

    honest = fill(solved)  # everything right: 12 of 12
    for cell in honest.cells:
        if nbgrader_id(cell) == WRITTEN:
            cell.source = WRITTEN_ANSWER
    made["honest"] = honest
    made["stub"] = fill({})  # the exercise as handed out: 0

    # Some right, some wrong, some not attempted, then a cell that raises: 3 of 12.
    partial = fill({
        "resnet_conv_output_size_answer": HARD_CODED,  # passes the visible check, fails the hidden one
        "resnet_stage_sizes_answer": STAGE_SIZES,  # right, and independent of conv_output_size
        "resnet_bottleneck_parameters_answer": NO_BATCHNORM,  # wrong: failed
        "resnet_projection_shortcut_answer": solved["resnet_projection_shortcut_answer"],
    })  # the two blocks stay the stub: not attempted
    partial.cells.append(nbformat.v4.new_code_cell("print(undefined_name)"))
    made["partial"] = partial

    patched = fill({})  # every answer the stub, run_check replaced by one that always passes: 0
    insert_after(patched, "resnet_conv_output_size_answer", PATCHED_RUN_CHECK)
    made["patched_run_check"] = patched

    bonus = fill(solved)  # honest work (12) plus a made-up grade cell worth 50: still 12 of 12
    bonus.cells.append(nbformat.v4.new_code_cell(BONUS_CELL, metadata={"nbgrader": {
        "grade": True, "grade_id": "bonus_points", "locked": True, "points": 50, "schema_version": 3,
        "solution": False}}))
    made["bonus_cell"] = bonus

    # Exercise 6 left as the stub and its check cell deleted: 9 of 12, the deleted check earns 0.
    deleted = fill({k: v for k, v in solved.items() if k != "resnet_bottleneck_answer"})
    del deleted.cells[index_of(deleted, "resnet_bottleneck")]
    made["deleted_check"] = deleted

    # Exercise 6 left as the stub; the check cells of exercises 1 and 6 trade places (metadata and all),
    # so the cell that now says "resnet_bottleneck" (3 points) runs the solved exercise 1's check: 9 of 12.
    reordered = fill({k: v for k, v in solved.items() if k != "resnet_bottleneck_answer"})
    first, sixth = index_of(reordered, "resnet_conv_output_size"), index_of(reordered, "resnet_bottleneck")
    reordered.cells[first], reordered.cells[sixth] = reordered.cells[sixth], reordered.cells[first]
    reordered.cells[first].source, reordered.cells[sixth].source = (
        reordered.cells[sixth].source, reordered.cells[first].source)
    made["reordered_check"] = reordered

    printed = fill({})  # every answer the stub; payloads shown by hand, in every cell after this one: 0
    insert_after(printed, "resnet_conv_output_size_answer", PRINTED_BY_HAND)
    made["printed_payload"] = printed
    return made


def write_submissions(folder: Path, names: list[str] | None = None) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, notebook in submissions().items():
        if names is None or name in names:
            paths[name] = folder / f"{name}.ipynb"
            nbformat.write(copy.deepcopy(notebook), paths[name])
    return paths
