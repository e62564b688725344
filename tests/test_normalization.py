"""Notebook 01b (normalization layers): its from-scratch layers equal torch.nn's, and its prose quotes its outputs.

The from-scratch code is taken from the notebook itself (the cell that defines it), so a change there that
breaks the equality fails here, on shapes, momentum and ε other than the notebook's own. The prose about the
training runs and the evaluation-mode mistake is read off the stored outputs of a default (not fast) run;
every figure it quotes must appear in those outputs.
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat
import pytest
import torch
from torch import nn
from torch.testing import assert_close

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01b_normalization.ipynb"


@pytest.fixture(scope="module")
def scratch() -> dict[str, object]:
    """The namespace of the notebook cell that defines the from-scratch layers."""
    cells = jupytext.read(NOTEBOOK.with_suffix(".py")).cells
    (source,) = [cell.source for cell in cells if cell.cell_type == "code" and "class ScratchBatchNorm2d" in cell.source]
    namespace: dict[str, object] = {"torch": torch, "nn": nn}
    exec(compile(source, "01b_normalization.py", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("momentum, eps", [(0.1, 1e-5), (0.3, 1e-3)])
def test_scratch_batch_norm_equals_torch_in_train_and_eval_mode(scratch: dict, momentum: float, eps: float) -> None:
    torch.manual_seed(1)
    reference = nn.BatchNorm2d(5, eps=eps, momentum=momentum)
    ours = scratch["ScratchBatchNorm2d"](5, eps=eps, momentum=momentum)
    with torch.no_grad():
        reference.weight.uniform_(0.5, 2.0)
        reference.bias.normal_()
    ours.load_state_dict(reference.state_dict(), strict=False)
    for step in range(5):
        batch = torch.randn(3, 5, 4, 2) * (step + 1) - step
        assert_close(ours(batch), reference(batch))
        assert_close(ours.running_mean, reference.running_mean)
        assert_close(ours.running_var, reference.running_var)  # unbiased update: fails with the biased one
    reference.eval(), ours.eval()
    batch = torch.randn(1, 5, 4, 2)
    assert_close(ours(batch), reference(batch))


def test_scratch_batch_norm_gradients_equal_torch(scratch: dict) -> None:
    torch.manual_seed(2)
    reference, ours = nn.BatchNorm2d(4), scratch["ScratchBatchNorm2d"](4)
    x = torch.randn(6, 4, 3, 3, requires_grad=True)
    (reference(x) ** 3).sum().backward()
    expected = x.grad.clone(), reference.weight.grad.clone(), reference.bias.grad.clone()
    x.grad = None
    (ours(x) ** 3).sum().backward()
    for got, want in zip((x.grad, ours.weight.grad, ours.bias.grad), expected):
        assert_close(got, want)


def test_scratch_layer_instance_and_group_norm_equal_torch(scratch: dict) -> None:
    torch.manual_seed(3)
    x = torch.randn(3, 8, 5, 4) * 2 + 1
    layer_norm = nn.LayerNorm((8, 5, 4))
    group_norm = nn.GroupNorm(4, 8)
    with torch.no_grad():
        for module in (layer_norm, group_norm):
            module.weight.normal_()
            module.bias.normal_()
    assert_close(scratch["layer_norm"](x, layer_norm.weight, layer_norm.bias), layer_norm(x))
    assert_close(scratch["instance_norm"](x), nn.InstanceNorm2d(8)(x))
    assert_close(scratch["group_norm"](x, 4, group_norm.weight, group_norm.bias), group_norm(x))
    ones, zeros = torch.ones(8), torch.zeros(8)
    assert_close(scratch["group_norm"](x, 1, ones, zeros), nn.GroupNorm(1, 8, affine=False)(x))
    assert_close(scratch["group_norm"](x, 8, ones, zeros), nn.InstanceNorm2d(8)(x))


def stored_text(notebook: nbformat.NotebookNode) -> tuple[str, str]:
    """(all markdown, all stored stream output) of the notebook."""
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    outputs = "\n".join(output.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                        for output in cell.get("outputs", []) if output.output_type == "stream")
    return markdown, outputs


def test_stored_outputs_come_from_a_default_run_and_the_prose_quotes_them() -> None:
    markdown, outputs = stored_text(nbformat.read(NOTEBOOK, as_version=4))
    assert "fast mode: False" in outputs, "store the outputs of a default run (CNNCOURSE_FAST unset)"
    assert "8 runs," in outputs and "FAST MODE" not in outputs
    # Every percentage and "N×" ratio that the prose of parts 4 and 5 quotes is one the outputs print.
    measured_part = markdown[markdown.index("## 4 ·"):markdown.index("## 6 ·")]
    assert "DRAFT" not in measured_part
    quoted = set(re.findall(r"\b\d+\.\d%", measured_part)) | set(re.findall(r"\b\d+\.\d×", measured_part))
    quoted -= {"10.6%", "93.9%"}  # cited (Wu & He's abstract, the Fashion-MNIST benchmark table), not measured
    assert quoted, "the prose of parts 4-5 should quote its measured figures"
    # "+5.8 points" in the prose is "+5.8p" in the summary table
    quoted |= {f"{gain}p" for gain in re.findall(r"[+-]\d+\.\d(?= points)", measured_part)}
    missing = sorted(figure for figure in quoted if figure not in outputs)
    assert not missing, f"quoted in the prose but not in the stored outputs: {missing}"


def test_the_training_times_quoted_at_the_top_are_the_stored_ones() -> None:
    markdown, outputs = stored_text(nbformat.read(NOTEBOOK, as_version=4))
    total = re.search(r"8 runs, (\d+) s of training", outputs).group(1)
    rows = {kind: (large, small) for kind, large, small in
            re.findall(r"^(\w+) +[\d.]+% +[\d.]+% +[+-][\d.]+p +([\d.]+) / +([\d.]+)$", outputs, re.MULTILINE)}
    assert len(rows) == 4, rows
    layer_norm = rows["LayerNorm"]
    slowest = max(float(seconds) for pair in rows.values() for seconds in pair)
    assert f"({total} s for all eight)" in markdown
    assert f"the two LayerNorm runs took {layer_norm[0]} s and {layer_norm[1]} s" in markdown
    assert f"up to {slowest:.0f} s" in markdown
