"""Interlude 00b (the road to ResNet): the figures its prose quotes stay true.

``notebooks/00b_road_to_resnet.py`` reads its numbers off stored outputs: torchvision's AlexNet, VGG-16 and
GoogLeNet counted (where the parameters and the multiply-adds sit), the paper's two-GPU AlexNet by formula,
the 3×3 stacks against one 5×5 / 7×7, the Inception (3a) module with and without its 1×1 reductions, and a
cited timeline. These tests recompute each figure independently of the notebook and check that the stored
outputs and the prose still say it, so a change in torchvision, the formulas or the text cannot go unnoticed.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
import torch
import torchvision
from torch import nn

from cnncourse import formulas, profile
from cnncourse.quiz.bank import load_bank

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "00b_road_to_resnet.py"
NOTEBOOK = ROOT / "notebooks" / "00b_road_to_resnet.ipynb"


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


def conv_and_fc(network: nn.Module) -> tuple[int, int, int, int]:
    """(conv params, FC params, conv MACs, FC MACs), FC = the top-level layers that hold an nn.Linear."""
    rows = profile.summary(network, (3, 224, 224)).rows
    children = dict(network.named_children())
    is_fc = {row.name: any(isinstance(m, nn.Linear) for m in children[row.name].modules()) for row in rows}
    conv_params = sum(row.params for row in rows if not is_fc[row.name])
    fc_params = sum(row.params for row in rows if is_fc[row.name])
    conv_macs = sum(row.macs for row in rows if not is_fc[row.name])
    fc_macs = sum(row.macs for row in rows if is_fc[row.name])
    return conv_params, fc_params, conv_macs, fc_macs


@pytest.fixture(scope="module")
def networks() -> dict[str, nn.Module]:
    with torch.device("meta"):
        return {
            "AlexNet": torchvision.models.alexnet(weights=None),
            "VGG-16": torchvision.models.vgg16(weights=None),
            "GoogLeNet": torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False),
        }


EXPECTED_SPLITS = {  # (conv params, FC params, conv MACs, FC MACs) on 3×224×224, as the notebook stores them
    "AlexNet": (2_469_696, 58_631_144, 655_566_528, 58_621_952),
    "VGG-16": (14_714_688, 123_642_856, 15_346_630_656, 123_633_664),
    "GoogLeNet": (5_599_904, 1_025_000, 1_497_352_192, 1_024_000),
}


@pytest.mark.parametrize("name", list(EXPECTED_SPLITS))
def test_where_parameters_and_macs_sit(networks: dict[str, nn.Module], name: str) -> None:
    split = conv_and_fc(networks[name])
    assert split == EXPECTED_SPLITS[name]
    network = networks[name]
    assert profile.count_parameters(network) == split[0] + split[1]
    assert profile.count_macs(network, (3, 224, 224)) == split[2] + split[3]
    text = stored_text()
    for value in split:
        assert f"{value:,}" in text, f"the stored output no longer shows {value:,} for {name}"


def test_quoted_shares_and_totals(networks: dict[str, nn.Module]) -> None:
    """The prose: VGG 89% of parameters in FC but 0.8% of MACs; AlexNet 96% / 92%; GoogLeNet 85% / 99.9%."""
    vgg = EXPECTED_SPLITS["VGG-16"]
    assert round(100 * vgg[1] / (vgg[0] + vgg[1])) == 89
    assert round(100 * vgg[3] / (vgg[2] + vgg[3]), 1) == 0.8
    alexnet = EXPECTED_SPLITS["AlexNet"]
    assert round(100 * alexnet[1] / (alexnet[0] + alexnet[1])) == 96
    assert round(100 * alexnet[2] / (alexnet[2] + alexnet[3])) == 92
    googlenet = EXPECTED_SPLITS["GoogLeNet"]
    assert round(100 * googlenet[0] / (googlenet[0] + googlenet[1])) == 85
    assert round(100 * googlenet[2] / (googlenet[2] + googlenet[3]), 1) == 99.9
    assert profile.count_parameters(networks["VGG-16"].classifier[0]) == 102_764_544 == 25_088 * 4_096 + 4_096
    text = prose()
    for quoted in ("138,357,544", "123,642,856", "89%", "0.8%", "102,764,544", "96%", "92%", "85%", "99.9%",
                   "15.47 billion", "61.1", "1.50 billion"):
        assert quoted in text, f"the prose no longer quotes {quoted}"


def test_paper_alexnet_by_formula_is_about_60_million() -> None:
    convs = [(3, 96, 11, 1), (96, 256, 5, 2), (256, 384, 3, 1), (384, 384, 3, 2), (384, 256, 3, 2)]
    fcs = [(6 * 6 * 256, 4096), (4096, 4096), (4096, 1000)]
    total = sum(formulas.conv2d_params(i, o, k, groups=g, bias=True) for i, o, k, g in convs)
    total += sum(formulas.linear_params(i, o) for i, o in fcs)
    with torch.device("meta"):
        measured = profile.count_parameters(nn.Sequential(*[nn.Conv2d(i, o, k, groups=g) for i, o, k, g in convs],
                                                          *[nn.Linear(i, o) for i, o in fcs]))
    assert total == measured == 60_965_224
    assert "60,965,224" in stored_text()


def test_stacked_3x3_against_large_kernels() -> None:
    for channels in (64, 512):
        three = 3 * formulas.conv2d_params(channels, channels, 3)
        seven = formulas.conv2d_params(channels, channels, 7)
        assert (three, seven) == (27 * channels**2, 49 * channels**2)
        assert 2 * formulas.conv2d_params(channels, channels, 3) == 18 * channels**2
    assert round(100 * (49 / 27 - 1)) == 81  # the VGG paper's "81% more" (Section 2.3)
    for quoted in ("110,592", "200,704", "7,077,888", "12,845,056"):
        assert quoted in stored_text()


@pytest.mark.parametrize(("kernels", "field"), [([3], 3), ([3, 3], 5), ([3, 3, 3], 7), ([5], 5), ([7], 7)])
def test_receptive_field_by_gradient(kernels: list[int], field: int) -> None:
    layers: list[nn.Module] = []
    for k in kernels:
        conv = nn.Conv2d(1, 1, k, padding=k // 2, bias=False)
        nn.init.ones_(conv.weight)
        layers += [conv, nn.ReLU()]
    image = torch.ones(1, 1, 15, 15, requires_grad=True)
    nn.Sequential(*layers)(image)[0, 0, 7, 7].backward()
    rows, cols = torch.nonzero(image.grad[0, 0], as_tuple=True)
    assert int(rows.max() - rows.min() + 1) == int(cols.max() - cols.min() + 1) == field == 1 + sum(k - 1 for k in kernels)


def inception_3a(reduce: bool) -> tuple[int, int, int]:
    """(weights, MACs at 28×28, output channels) of inception (3a), GoogLeNet paper Table 1, counted by nn.Conv2d."""
    convs = [(192, 64, 1)]
    convs += ([(192, 96, 1), (96, 128, 3), (192, 16, 1), (16, 32, 5), (192, 32, 1)] if reduce
              else [(192, 128, 3), (192, 32, 5)])
    layers = [nn.Conv2d(i, o, k, padding=k // 2, bias=False) for i, o, k in convs]
    params = sum(profile.count_parameters(layer) for layer in layers)
    macs = sum(profile.count_macs(layer, (layer.in_channels, 28, 28)) for layer in layers)
    return params, macs, 64 + 128 + 32 + (32 if reduce else 192)


def test_inception_3a_with_and_without_reductions() -> None:
    reduced, naive = inception_3a(True), inception_3a(False)
    assert reduced == (163_328, 128_049_152, 256)
    assert naive == (387_072, 303_464_448, 416)
    assert round(naive[0] / reduced[0], 1) == round(naive[1] / reduced[1], 1) == 2.4
    text = stored_text()
    for value in (*reduced[:2], *naive[:2]):
        assert f"{value:,}" in text
    assert "128.0 million" in prose() and "163,328" in prose() and "2.4×" in prose()
    # the 5×5 branch: on all 192 channels vs after the 16-channel reduction
    assert formulas.conv2d_macs(192, 32, 5, 28, 28) == 120_422_400
    assert formulas.conv2d_macs(192, 16, 1, 28, 28) + formulas.conv2d_macs(16, 32, 5, 28, 28) == 12_443_648
    assert "120.4" in prose() and "12.4 million" in prose()


def test_torchvision_inception3a_differs_by_its_two_departures(networks: dict[str, nn.Module]) -> None:
    measured = profile.count_parameters(networks["GoogLeNet"].inception3a)
    five_as_three = formulas.conv2d_params(16, 32, 5) - formulas.conv2d_params(16, 32, 3)
    batchnorm = sum(formulas.batchnorm_params(c) for c in (64, 96, 128, 16, 32, 32))
    assert measured == 163_328 - five_as_three + batchnorm == 155_872
    assert "155,872" in stored_text()


def test_one_by_one_convolution_is_a_per_pixel_linear_layer() -> None:
    torch.manual_seed(0)
    conv, linear = nn.Conv2d(192, 64, 1), nn.Linear(192, 64)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.view(64, 192))
        linear.bias.copy_(conv.bias)
    x = torch.randn(2, 192, 7, 7)
    assert torch.allclose(conv(x), linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), atol=1e-5)


def timeline() -> list[tuple[int, str, str, float, str]]:
    """ROAD_TIMELINE, read from the notebook's source without running it."""
    for node in ast.walk(ast.parse(SOURCE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "ROAD_TIMELINE":
            return ast.literal_eval(node.value)
    raise AssertionError("ROAD_TIMELINE not found in the notebook")


def test_every_timeline_point_is_cited_and_stored() -> None:
    points = timeline()
    assert points[0][1] == "AlexNet" and points[-1][1].startswith("EfficientNet")
    text = stored_text()
    for year, network, measure, value, source in points:
        assert measure in {"top-5 error", "top-1 accuracy"}, f"{network}: say which measure"
        assert re.search(r"arXiv:\d{4}\.\d{4,5}|NIPS 2012", source), f"{network}: cite the paper"
        assert re.search(r"Tables? \d|Section \d|abstract", source), f"{network}: cite the table or section"
        assert f"{network:<16} {measure:<15} {value:>6}%" in text, f"{network} is not in the stored output"
    # the figures the course states elsewhere (REFERENCE_FIGURES.md and the chapters) stay the same here
    published = {(network, value) for _, network, _, value, _ in points}
    assert {("ResNet", 3.57), ("SENet", 2.251), ("MobileNet v1", 70.6), ("MobileNet v2", 72.0),
            ("MobileNet v3-L", 75.2), ("NASNet-A", 82.7), ("MnasNet-A1", 75.2), ("EfficientNet-B0", 77.1),
            ("EfficientNet-B7", 84.3), ("AlexNet", 15.3), ("VGG", 7.3), ("GoogLeNet", 6.67)} == published


def test_quiz_items_exist_in_the_basics_bank() -> None:
    match = re.search(r"ROAD_QUESTIONS = \[(.*?)\]", SOURCE.read_text(encoding="utf-8"), re.S)
    assert match
    wanted = set(re.findall(r'"(basics-\d+)"', match.group(1)))
    assert wanted and wanted <= {question.id for question in load_bank("basics")}
