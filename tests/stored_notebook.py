"""A lecture notebook's stored outputs and prose, read the one way the chapter tests need them.

The chapter tests keep every figure the prose quotes true: they read the stream output that a default run stored
in ``notebooks/NAME.ipynb`` and the prose of its percent-format twin ``notebooks/NAME.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


class StoredNotebook:
    """``notebooks/<stem>.ipynb`` (stored outputs) and ``notebooks/<stem>.py`` (its source and prose)."""

    def __init__(self, stem: str) -> None:
        self.ipynb = NOTEBOOKS / f"{stem}.ipynb"
        self.source = NOTEBOOKS / f"{stem}.py"

    def notebook(self) -> nbformat.NotebookNode:
        return nbformat.read(self.ipynb, as_version=4)

    def code_cell(self, cell_marker: str) -> nbformat.NotebookNode:
        """The first code cell whose source contains ``cell_marker``."""
        for cell in self.notebook().cells:
            if cell.cell_type == "code" and cell_marker in cell.source:
                return cell
        raise AssertionError(f"no code cell contains {cell_marker!r} in {self.ipynb.name}")

    def stored_text(self, cell_marker: str) -> str:
        """The stored stream output of the code cell whose source contains ``cell_marker``."""
        cell = self.code_cell(cell_marker)
        return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")

    def prose(self) -> str:
        """The notebook's source with the markdown cells' line breaks and comment marks removed."""
        return " ".join(re.sub(r"\n#\s?", " ", self.source.read_text(encoding="utf-8")).split())
