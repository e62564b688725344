"""Interlude 02b (transfer learning): the figures its prose quotes stay true, and its freezing code works.

``notebooks/02b_transfer_learning.py`` transfers the shipped Fashion-MNIST ResNet-20 to scikit-learn's
8×8 digits and reads its conclusions off the stored outputs of one default-mode run. These tests recompute
the deterministic figures independently (the data split and its statistics, the head's share of the
parameters, the BatchNorm drift of a backbone frozen by ``requires_grad`` alone, the strict torchvision
loads), run the notebook's own ``LinearProbe`` on a few steps, and check that every accuracy the prose
quotes is in the stored results table, so a rerun with other numbers cannot leave the text behind.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from cnncourse.data import dataset_spec
from cnncourse.pretrained import load_pretrained

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "02b_transfer_learning.py"
NOTEBOOK = ROOT / "notebooks" / "02b_transfer_learning.ipynb"
RECIPES = ("linear probe", "fine-tune", "from scratch")


def stored_text() -> str:
    """Every stream and text/plain output stored in the notebook, joined."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")))
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def prose() -> str:
    """The markdown of the notebook (the .py's comment lines, without the leading '# ')."""
    return "\n".join(line[2:] for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.startswith("# "))


def stored_table() -> dict[str, dict[str, list[float]]]:
    """The stored results table: budget ('1%') -> recipe -> [mean, seed 0, seed 1, ...] in %."""
    table: dict[str, dict[str, list[float]]] = {}
    for line in stored_text().splitlines():
        match = re.match(r"^(\d+)% \(\d+ images\)\s+(\d.*)$", line)
        if not match or "best:" in line:
            continue
        cells = re.findall(r"(\d+\.\d)%(?: \(([\d./]+)\))?", match.group(2))
        assert len(cells) == len(RECIPES), f"unexpected table row: {line!r}"
        table[f"{match.group(1)}%"] = {
            recipe: [float(mean)] + ([float(v) for v in per_seed.split("/")] if per_seed else [])
            for recipe, (mean, per_seed) in zip(RECIPES, cells)
        }
    return table


def notebook_definitions(*names: str) -> dict[str, object]:
    """Execute the notebook's top-level definitions ``names`` (classes/functions) and return them."""
    tree = ast.parse(SOURCE.read_text(encoding="utf-8"))
    wanted = [node for node in tree.body if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in names]
    assert {node.name for node in wanted} == set(names)
    namespace: dict[str, object] = {"nn": nn, "torch": torch}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), str(SOURCE), "exec"), namespace)
    return namespace


def test_stored_outputs_are_a_default_mode_run_with_three_budgets_and_two_seeds() -> None:
    text = stored_text()
    assert "fast mode: False" in text
    table = stored_table()
    assert set(table) == {"1%", "10%", "100%"}
    for row in table.values():
        for recipe, values in row.items():
            assert len(values) == 3, f"{recipe}: expected a mean and two seeds, got {values}"
            assert values[0] == pytest.approx(sum(values[1:]) / 2, abs=0.06), f"{recipe}: mean of the seeds"


def test_the_split_and_its_statistics_are_as_printed() -> None:
    digits = load_digits()
    images = F.interpolate(torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16, size=28,
                           mode="bilinear", align_corners=False)
    pixels = (images * 255).round().clamp(0, 255) / 255
    train_index, test_index = train_test_split(range(len(digits.target)), test_size=0.2,
                                               stratify=digits.target, random_state=0)
    text = stored_text()
    assert f"training split ImageDataset('sklearn-digits', train, {len(train_index)} images" in text
    assert f"test split ImageDataset('sklearn-digits', test, {len(test_index)} images" in text
    assert f"mean {pixels.mean():.3f}, std {pixels.std():.3f}" in text
    spec = dataset_spec("fashion-mnist")
    assert f"mean {spec.mean[0]:.4f}, std {spec.std[0]:.4f}" in text
    # the budgets the prose names: 1% of the training split is 14 images, about one per class
    assert round(0.01 * len(train_index)) == 14 and "1% is 14 images" in prose()
    assert f"{len(test_index)} held-out test images" in prose()


def test_head_share_and_the_checkpoint_accuracy_are_as_printed() -> None:
    model = load_pretrained("resnet20_fashion_mnist")
    head = sum(p.numel() for p in model.fc.parameters())
    total = sum(p.numel() for p in model.parameters())
    assert (head, total) == (650, 269_434)
    assert f"{head} of {total:,} parameters" in stored_text()
    assert f"{100 * model.checkpoint_metadata['test_accuracy']:.2f}%" == "94.90%"
    assert "94.90%" in prose()


def test_requires_grad_alone_lets_batchnorm_drift_and_the_notebooks_probe_does_not() -> None:
    definitions = notebook_definitions("LinearProbe", "running_mean_changes", "trainable_parameters")
    batch = torch.randn(8, 1, 28, 28)
    naive = load_pretrained("resnet20_fashion_mnist")
    naive.reset_classifier(10)
    for name, parameter in naive.named_parameters():
        parameter.requires_grad = name.startswith("fc.")
    assert definitions["running_mean_changes"](naive, batch)
    probe = definitions["LinearProbe"](load_pretrained("resnet20_fashion_mnist"), num_classes=10)
    assert not definitions["running_mean_changes"](probe, batch)
    assert definitions["trainable_parameters"](probe) == 650
    # a few optimiser steps move the head only, and leave every backbone tensor (buffers included) as it was
    before = {k: v.clone() for k, v in probe.network.state_dict().items()}
    optimizer = torch.optim.SGD([p for p in probe.parameters() if p.requires_grad], lr=0.1)
    for _ in range(3):
        probe.train()
        loss = nn.functional.cross_entropy(probe(batch), torch.arange(8) % 10)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    changed = {k for k, v in probe.network.state_dict().items() if not torch.equal(before[k], v)}
    assert changed == {"fc.weight", "fc.bias"}
    text = stored_text()
    assert "requires_grad only: 650 trainable parameters, BatchNorm statistics change in train mode: True" in text
    assert "LinearProbe:        650 trainable parameters, BatchNorm statistics change in train mode: False" in text


def test_torchvision_state_dicts_load_strictly_as_printed() -> None:
    text = stored_text()
    for name, tensors in (("resnet18", 122), ("resnet50", 320)):
        assert f"{name}: strict load, missing 0, unexpected 0; {tensors} tensors; same outputs: True" in text


def test_every_accuracy_the_prose_quotes_is_in_the_stored_table() -> None:
    values = {f"{v:.1f}" for row in stored_table().values() for cell in row.values() for v in cell}
    quoted = re.findall(r"(\d+\.\d)%", prose())  # one decimal: the table's format (94.90% has two)
    missing = [q for q in quoted if q not in values]
    assert not missing, f"the prose quotes accuracies the stored table does not hold: {missing}"
