"""Chapter 05 (MobileNet v1): the counts it teaches, and the figures its prose quotes, stay true.

The prose of ``notebooks/05_mobilenet_v1.py`` reads numbers off the stored outputs of a default run, off exact
counts (parameters and multiply-adds of layers and networks, which are recomputed here), and off the papers.
Timings are noisy on the shared course machine: the stored ones are checked against the prose, and a fresh
measurement is checked only for the direction the chapter teaches (the separable layer saves far less time
than multiply-adds at narrow widths; depthwise convolutions reach a much lower arithmetic rate), with wide
margins. The reference-checkpoint cell is run in both of its branches (checkpoint installed or not).
"""

from __future__ import annotations

import re
import statistics
import time
import types
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from cnncourse import profile
from cnncourse.formulas.basics import conv2d_macs, conv2d_params
from cnncourse.formulas.mobilenet import depthwise_separable_macs, depthwise_separable_params
from cnncourse.layers import DepthwiseSeparableConv
from cnncourse.layers.misc import Conv2dNormActivation
from cnncourse.models import create_model
from cnncourse.models.mobilenet import mobilenet_v1_cost

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "05_mobilenet_v1.py"
NOTEBOOK = ROOT / "notebooks" / "05_mobilenet_v1.ipynb"
CHECKPOINT = "mobilenet_v1_cifar_fashion_mnist_10ep"


@pytest.fixture(scope="module")
def chapter() -> str:
    """The chapter's text with its comment lines joined, so a quoted figure may wrap across lines."""
    return " ".join(line.lstrip("# ").rstrip() for line in SOURCE.read_text(encoding="utf-8").splitlines())


def stored_text(cell_marker: str) -> str:
    """The stored stream output of the code cell whose source contains ``cell_marker``."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell_marker in cell.source:
            return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
    raise AssertionError(f"no code cell containing {cell_marker!r} in {NOTEBOOK.name}")


def cell_source(cell_marker: str) -> str:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell_marker in cell.source:
            return cell.source
    raise AssertionError(f"no code cell containing {cell_marker!r} in {NOTEBOOK.name}")


def meta(name: str, **options: object) -> nn.Module:
    with torch.device("meta"):
        return create_model(name, **options)


# ---------------------------------------------------------------------------------------------------
# Exact counts the prose quotes
# ---------------------------------------------------------------------------------------------------


def test_table3_layer_counts(chapter: str) -> None:
    """Section 4: 462M → 52.3M multiply-adds, 2.36M → 0.27M parameters, ratio 0.1131 = 1/512 + 1/9."""
    standard = nn.Conv2d(512, 512, 3, padding=1, bias=False)
    separable = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False),
                              nn.Conv2d(512, 512, 1, bias=False))
    assert profile.count_macs(standard, (512, 14, 14)) == conv2d_macs(512, 512, 3, 14, 14) == 462_422_016
    assert profile.count_macs(separable, (512, 14, 14)) == depthwise_separable_macs(512, 512, 14, 14) == 52_283_392
    assert profile.count_parameters(standard) == conv2d_params(512, 512, 3) == 2_359_296
    assert profile.count_parameters(separable) == depthwise_separable_params(512, 512, norm=False) == 266_752
    assert f"{266_752 / 2_359_296:.4f}" == f"{1 / 512 + 1 / 9:.4f}" == "0.1131"
    for quoted in ("462M → 52.3M", "2.36M → 0.27M", "0.1131 = 1/512 + 1/9"):
        assert quoted in chapter, quoted


def test_saving_by_width(chapter: str) -> None:
    """'5.8× at N = 16 and approaches 9× from below'."""
    savings = [conv2d_macs(w, w, 3, 28, 28) / depthwise_separable_macs(w, w, 28, 28) for w in (16, 64, 512, 1024)]
    assert f"{savings[0]:.1f}" == "5.8" and savings == sorted(savings) and savings[-1] < 9
    assert "5.8× at N = 16" in chapter


def test_whole_network_and_table2_shares(chapter: str) -> None:
    network = meta("mobilenet_v1")
    assert profile.count_parameters(network) == 4_231_976
    cost = mobilenet_v1_cost()
    assert (cost.params, cost.mult_adds) == (4_209_088, 568_740_352)
    # the stem: 3·3·3·32 weights at 112×112 positions = 10.8M of 568.7M, 1.91% (the paper prints 1.19%)
    stem_macs = 3 * 3 * 3 * 32 * 112 * 112
    assert f"{stem_macs / cost.mult_adds:.2%}" == "1.91%"
    assert round(94.86 + 3.06 + 1.19 + 0.18, 2) == 99.29
    assert round(94.86 + 3.06 + 1.91 + 0.18, 2) == 100.01
    stored = stored_text("paper_table2 = ")
    assert re.search(r"Conv 1×1 +539,492,352 94\.86% +94\.86% +3,139,584 74\.59% +74\.59%", stored)
    assert re.search(r"Conv DW 3×3 +17,385,984 +3\.06% +3\.06% +44,640 +1\.06% +1\.06%", stored)
    assert re.search(r"Conv 3×3 \(stem\) +10,838,016 +1\.91% +1\.19%", stored)
    assert re.search(r"Fully connected +1,024,000 +0\.18% +0\.18% +1,024,000 24\.33% +24\.33%", stored)
    for quoted in ("4,231,976", "1.91%", "1.19%", "99.29%"):
        assert quoted in chapter, quoted


@pytest.mark.parametrize(("alpha", "macs_m", "weights_m"), [(1.0, 569, 4.2), (0.75, 325, 2.6), (0.5, 149, 1.3),
                                                             (0.25, 41, 0.5)])
def test_width_multiplier_against_table6(alpha: float, macs_m: int, weights_m: float) -> None:
    measured = profile.count_macs(meta("mobilenet_v1", width_mult=alpha), (3, 224, 224))
    cost = mobilenet_v1_cost(alpha)
    assert measured == cost.mult_adds and round(measured / 1e6) == macs_m
    assert round(cost.params / 1e6, 1) == weights_m


@pytest.mark.parametrize(("resolution", "macs_m"), [(224, 569), (192, 418), (160, 291), (128, 186)])
def test_resolution_multiplier_against_table7(resolution: int, macs_m: int) -> None:
    network = meta("mobilenet_v1")
    assert round(profile.count_macs(network, (3, resolution, resolution)) / 1e6) == macs_m
    assert mobilenet_v1_cost(1.0, resolution).params == 4_209_088  # ρ never changes a parameter


def test_multiplier_ratios_the_prose_quotes(chapter: str) -> None:
    base = mobilenet_v1_cost().mult_adds
    assert f"{mobilenet_v1_cost(1.0, 128).mult_adds / base:.3f}" == "0.328"
    assert f"{mobilenet_v1_cost(0.25).mult_adds / base:.3f}" == "0.072"
    assert f"{mobilenet_v1_cost(1.0, 160).mult_adds / 1e6:.1f}" == "290.7"
    assert f"{mobilenet_v1_cost(0.25).params / mobilenet_v1_cost().params:.2f}" == "0.11"
    # "the fully connected classifier's 1,024,000 multiply-adds ... alone account for the difference, exactly"
    for resolution in (192, 160, 128):
        scaled = (base - 1_024_000) * resolution * resolution / (224 * 224) + 1_024_000
        assert scaled == mobilenet_v1_cost(1.0, resolution).mult_adds
    # the widget: "α = 0.75 at 224 against α = 1.0 at 160: multiply-adds within about 12% (325M against 291M)"
    ratio = mobilenet_v1_cost(0.75).mult_adds / mobilenet_v1_cost(1.0, 160).mult_adds
    assert 1.1 < ratio < 1.13 and round(mobilenet_v1_cost(1.0, 160).mult_adds / 1e6) == 291
    assert "multiply-adds within about 12% (325M against 291M)" in chapter
    for quoted in ("0.328 for ρ² = 0.327", "0.072 for α² = 0.0625", "the weights by 0.11",
                   "290.7M where the paper prints 290M"):
        assert quoted in chapter, quoted


def conv_mobilenet() -> nn.Module:
    network = meta("mobilenet_v1")
    with torch.device("meta"):
        for index, layer in enumerate(network.features):
            if isinstance(layer, DepthwiseSeparableConv):
                network.features[index] = Conv2dNormActivation(layer.in_channels, layer.out_channels, 3,
                                                               stride=layer.stride)
    return network


def test_conv_mobilenet_counts(chapter: str) -> None:
    """Table 4: Conv MobileNet 4,866M multiply-adds and 29.3M parameters; ours counts 4,867M."""
    network = conv_mobilenet()
    macs = profile.count_macs(network, (3, 224, 224))
    assert round(macs / 1e6) == 4867 and round(profile.count_parameters(network) / 1e6, 1) == 29.3
    assert f"{macs / 568_740_352:.1f}" == "8.6"
    assert "4,867M multiply-adds against the paper's 4,866M" in chapter


def test_small_image_counts(chapter: str) -> None:
    small = profile.count_macs(meta("mobilenet_v1_cifar", in_channels=1), (1, 28, 28))
    resnet = profile.count_macs(meta("resnet20", in_channels=1), (1, 28, 28))
    assert (round(small / 1e5) / 10, round(resnet / 1e5) / 10) == (139.9, 30.8)
    assert f"{small / resnet:.1f}" == "4.5"
    assert "4.5× the multiply-adds per image (139.9M against 30.8M" in chapter


def test_macs_per_byte_table() -> None:
    """Section 6: depthwise about 1.1 multiply-adds per byte at every width; pointwise grows; standard 3-8× it."""
    stored = stored_text("def macs_per_byte")
    rows = [line.split() for line in stored.splitlines()[1:] if line.strip()]
    assert [row[0] for row in rows] == ["16", "64", "256", "512"]
    for width, standard, pointwise, depthwise in rows:
        assert float(depthwise) == 1.1
        assert float(standard) > float(pointwise) > float(depthwise)
    assert [float(row[2]) for row in rows] == sorted(float(row[2]) for row in rows)
    # "3 to 8 times the pointwise in the table, not 9"
    ratios = [float(row[1]) / float(row[2]) for row in rows]
    assert all(2.5 < ratio < 9 for ratio in ratios) and round(min(ratios)) == 3 and int(max(ratios)) == 8


def test_stored_bandwidth_is_what_the_prose_says(chapter: str) -> None:
    """Section 6: the copy's GB/s against the depthwise layer's, and the channels-last timings."""
    stored = stored_text("def copy_gb_per_s")
    copy = float(re.search(r"plain copy: ([\d.]+) GB/s", stored)[1])
    rows = [line.split() for line in stored.splitlines() if re.match(r"\s*\d+\s+[\d.]+\s+[\d.]+\s+[\d.]+$", line)]
    depthwise = [float(row[3]) for row in rows]
    assert (copy, min(depthwise), max(depthwise)) == (36.6, 0.8, 2.6)
    assert (round(copy / max(depthwise)), round(copy / min(depthwise))) == (14, 46)
    # "The standard layer moves even fewer bytes per second (0.3 to 0.8 GB/s), and so does the pointwise one from
    # 256 channels on"
    standard = [float(row[1]) for row in rows]
    assert (min(standard), max(standard)) == (0.3, 0.8)
    assert all(float(row[1]) < float(row[3]) for row in rows if int(row[0]) > 32)
    assert all(float(row[2]) < float(row[3]) for row in rows if int(row[0]) >= 256)
    layouts = re.findall(r"depthwise +(\d+) channels: NCHW ([\d.]+) ms, channels-last ([\d.]+) ms", stored)
    assert [(w, a, b) for w, a, b in layouts] == [("64", "0.271", "0.202"), ("512", "1.454", "1.184")]
    assert [round(100 * (1 - float(b) / float(a))) for _, a, b in layouts] == [25, 19]
    for quoted in ("36.6 GB/s", "0.8 to 2.6 GB/s", "14 to 46 times less", "25% faster at 64 channels",
                   "19% faster at 512", "0.271 → 0.202 ms and 1.454 → 1.184 ms"):
        assert quoted in chapter, quoted


# ---------------------------------------------------------------------------------------------------
# The stored timings and what the prose reads off them
# ---------------------------------------------------------------------------------------------------


def stored_timing_rows() -> dict[int, list[float]]:
    stored = stored_text("WIDTHS = ")
    rows = {}
    for line in stored.splitlines():
        match = re.match(r"\s*(\d+)\s+([\d.]+)ms\s+([\d.]+)ms\s+([\d.]+)×\s+([\d.]+)×\s+([\d.]+)%\s+([\d.]+)%"
                         r"\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", line)
        if match:
            rows[int(match[1])] = [float(value) for value in match.groups()[1:]]
    return rows


def test_stored_outputs_come_from_a_default_run() -> None:
    assert "fast mode: False" in stored_text('print("fast mode:", fast_mode())')
    assert sorted(stored_timing_rows()) == [16, 32, 64, 128, 256, 512]
    assert "CPU time, median of 15 interleaved rounds" in stored_text("WIDTHS = ")


def test_stored_timing_says_what_the_prose_says(chapter: str) -> None:
    rows = stored_timing_rows()
    time_saving = {width: row[3] for width, row in rows.items()}
    mac_saving = {width: row[2] for width, row in rows.items()}
    # "not at all at 16 channels (0.84×...), 1.35× at 32, 2.92× at 64, 3.27× and 5.43× at 128 and 256, and 7.29×
    # against 8.84× at 512" (the stored table prints two decimals)
    quoted_savings = {16: 0.84, 32: 1.35, 64: 2.92, 128: 3.27, 256: 5.43, 512: 7.29}
    assert time_saving == quoted_savings and mac_saving[512] == 8.84
    assert all(time_saving[width] < mac_saving[width] for width in rows)
    # "at 64 channels 55% of the separable pair's time for 12% of its arithmetic"
    assert (round(rows[64][5]), round(rows[64][4])) == (55, 12)
    # "tens of GMAC/s ... once they have 64 channels or more"; depthwise "about 1 to 3 GMAC/s at every width"
    assert all(0.85 <= row[7] <= 3.0 for row in rows.values())
    assert all(row[6] >= 20 and row[8] >= 20 for width, row in rows.items() if width >= 64)
    for quoted in ("0.84×", "1.35× at 32", "2.92× at 64", "3.27× and 5.43× at 128 and 256",
                   "7.29× against 8.84× at 512", "about 1 to 3 GMAC/s", "55% of the separable pair's time for 12%"):
        assert quoted in chapter, quoted


def test_stored_whole_network_timing_is_below_the_mac_saving() -> None:
    stored = stored_text("def conv_mobilenet")
    match = re.search(r"at 224×224: Conv MobileNet [\d.]+ ms, MobileNet [\d.]+ ms → ([\d.]+)× faster for "
                      r"([\d.]+)× fewer MACs", stored)
    assert match, stored
    speedup, saving = float(match[1]), float(match[2])
    assert saving == 8.6 and 3 < speedup < saving  # "several times faster, but clearly less than the 8.6×"


def test_fresh_timing_keeps_the_direction() -> None:
    """A narrow separable layer saves far less time than multiply-adds, and depthwise runs at a low rate."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(0)
        width = 32
        layers = {"standard": nn.Conv2d(width, width, 3, padding=1, bias=False),
                  "depthwise": nn.Conv2d(width, width, 3, padding=1, groups=width, bias=False),
                  "pointwise": nn.Conv2d(width, width, 1, bias=False)}
        x = torch.randn(1, width, 28, 28)
        times: dict[str, list[float]] = {name: [] for name in layers}
        with torch.inference_mode():
            for layer in layers.values():
                layer(x)
            for _ in range(25):
                for name, layer in layers.items():
                    start = time.thread_time()  # CPU time: other programs on the machine do not count
                    layer(x)
                    times[name].append(time.thread_time() - start)
    finally:
        torch.set_num_threads(threads)
    median = {name: statistics.median(values) for name, values in times.items()}
    mac_saving = conv2d_macs(width, width, 3, 28, 28) / depthwise_separable_macs(width, width, 28, 28)
    time_saving = median["standard"] / (median["depthwise"] + median["pointwise"])
    assert time_saving < 0.75 * mac_saving, (time_saving, mac_saving)
    depthwise_rate = 9 * width * 28 * 28 / median["depthwise"]
    pointwise_rate = width * width * 28 * 28 / median["pointwise"]
    assert depthwise_rate < pointwise_rate / 2, (depthwise_rate, pointwise_rate)


# ---------------------------------------------------------------------------------------------------
# The reference checkpoint section, in both branches
# ---------------------------------------------------------------------------------------------------


class FakeHistory:
    def __init__(self, label: str) -> None:
        self.label = label
        self.plotted_as: str | None = None

    def plot(self, label: str) -> None:
        self.plotted_as = label


def run_checkpoint_cell(installed: set[str], loaded: nn.Module | None = None) -> tuple[dict, str]:
    source = cell_source("if CHECKPOINT in installed:")
    printed: list[str] = []
    history_type = types.SimpleNamespace(from_dict=lambda _: FakeHistory("reference"))
    namespace = {"CHECKPOINT": CHECKPOINT, "installed": installed, "live_model": "live model",
                 "live_history": FakeHistory("live"), "live_seconds": 30.0, "steps": 8, "LIVE_BATCH": 128,
                 "load_pretrained": lambda name: loaded, "History": history_type,
                 "print": lambda *args, **_: printed.append(" ".join(str(a) for a in args))}
    exec(compile(source, "checkpoint cell", "exec"), namespace)
    return namespace, "\n".join(printed)


def test_checkpoint_cell_without_the_checkpoint_says_so_and_shows_the_live_run() -> None:
    namespace, printed = run_checkpoint_cell(set())
    assert "not trained yet" in printed
    assert "python -m cnncourse references --train-missing --only 05" in printed
    assert "10 epochs of about 5 min each" in printed and "654 ms per step" in printed
    assert "extrapolates to about 29 min per epoch" in printed  # 30 s / 8 steps × (60,000 / 128) steps / 60
    assert namespace["shown_model"] == "live model" and namespace["flip_tta"] is False
    assert namespace["shown_history"].plotted_as == "MobileNet v1 (live run)"
    assert "%" not in printed  # no accuracy of a network that was not measured


def test_checkpoint_cell_with_the_checkpoint_loads_it() -> None:
    network = nn.Linear(1, 1)
    network.checkpoint_metadata = {"epochs": 10, "wall_time_s": 3000.0, "device": "cpu: 2 cores",
                                   "test_accuracy": 0.9412, "command": "python -m cnncourse train ...",
                                   "history": {"config": {"flip_tta": True}}}
    namespace, printed = run_checkpoint_cell({CHECKPOINT}, network)
    assert namespace["shown_model"] is network and namespace["flip_tta"] is True
    assert "recorded test accuracy 94.12%" in printed and "10 epochs, 50 min" in printed
    assert namespace["shown_history"].plotted_as == "MobileNet v1 (reference)"


def test_section_7_quotes_no_unmeasured_accuracy(chapter: str) -> None:
    """Only cited or chapter-03 figures appear in the checkpoint prose while no checkpoint is shipped."""
    start = chapter.index("7 · See it work on Fashion-MNIST")
    end = chapter.index("8 · Try it")
    quoted = set(re.findall(r"\d+\.\d+%", chapter[start:end]))
    assert quoted <= {"93.53%", "94.0%", "95.0%", "11.4%"}, quoted  # 11.4%: the live run, stored output


def test_stored_live_run_is_what_the_prose_says(chapter: str) -> None:
    """Section 7: 'the eight steps left it at chance (11.4% on 500 test images)'."""
    stored = stored_text("live_history = fit(")
    assert "val accuracy 11.4%" in stored and "for 8 steps of 128 images" in stored
    assert "eight steps left it at chance (11.4% on 500 test images)" in chapter


def test_reference_checkpoint_is_in_the_manifest() -> None:
    from cnncourse.references import MANIFEST

    entry = next(item for item in MANIFEST if item.name == CHECKPOINT)
    assert (entry.chapter, entry.model, entry.recipe, entry.epochs) == ("05", "mobilenet_v1_cifar", "fast", 10)
    benchmarks = (ROOT.parent / "shared" / "REFERENCE_FIGURES.md")
    if benchmarks.is_file():  # the cited benchmark row, where the project's shared figures are at hand
        assert "| MobileNet | 95.0% |" in benchmarks.read_text(encoding="utf-8")
