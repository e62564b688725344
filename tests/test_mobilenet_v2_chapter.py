"""Chapter 06 (notebooks/06_mobilenet_v2.py) quotes figures in its prose; these tests keep each of them true.

The prose is read off the stored outputs of a real default-mode run. Exact figures (the multiply-adds by kind
of layer, the shortcut count, the tensor sizes, the Fig. 1 re-run) are recomputed here; measured ones (the
timing shares, the memory peaks, the short training runs, the cost per step) are read from the stored
outputs and checked against the prose, and where a measurement can be repeated quickly its *direction* is
re-measured with a wide margin. The checkpoint section is run in both states: with the reference checkpoint
absent (the state this session ships) and with one installed.
"""

from __future__ import annotations

import contextlib
import io
import re
import statistics
import time
from pathlib import Path

import nbformat
import pytest
import torch
from torch import nn

from cnncourse import pretrained, profile
from cnncourse.layers import DepthwiseSeparableConv, InvertedResidual
from cnncourse.models import create_model
from cnncourse.models.mobilenet import MOBILENET_V2_TABLE2, BottleneckStage, MobileNetV2
from cnncourse.train import History

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "06_mobilenet_v2.py"
NOTEBOOK = ROOT / "notebooks" / "06_mobilenet_v2.ipynb"
CHECKPOINT = "mobilenet_v2_cifar_fashion_mnist_10ep"


@pytest.fixture(scope="module")
def chapter() -> str:
    """The chapter's text with its comment lines joined, so a quoted figure may wrap across lines."""
    return " ".join(line.lstrip("# ").rstrip() for line in SOURCE.read_text(encoding="utf-8").splitlines())


@pytest.fixture(scope="module")
def notebook() -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOK, as_version=4)


def stored_text(notebook: nbformat.NotebookNode, marker: str) -> str:
    """The stored stream output of the code cell whose source contains ``marker``."""
    for cell in notebook.cells:
        if cell.cell_type == "code" and marker in cell.source:
            return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
    raise AssertionError(f"no code cell containing {marker!r} in {NOTEBOOK.name}")


def code_cell(notebook: nbformat.NotebookNode, marker: str) -> str:
    for cell in notebook.cells:
        if cell.cell_type == "code" and marker in cell.source:
            return cell.source
    raise AssertionError(f"no code cell containing {marker!r}")


def test_stored_outputs_come_from_a_default_run(notebook: nbformat.NotebookNode) -> None:
    assert "fast mode: False" in stored_text(notebook, 'print("fast mode:", fast_mode())')
    assert "2 epochs on 3,072 training images" in stored_text(notebook, "CHECKPOINT = ")


# ---------------------------------------------------------------------------------------------------
# Exact figures, recomputed
# ---------------------------------------------------------------------------------------------------


def macs_by_role(network: nn.Module) -> dict[str, int]:
    roles: dict[nn.Module, str] = {}
    for block in network.modules():
        if isinstance(block, InvertedResidual):
            convs = [m for m in block.conv.modules() if isinstance(m, nn.Conv2d)]
            roles.update({conv: "1×1" for conv in convs if conv.kernel_size == (1, 1)})
    totals = {"1×1": 0, "all": 0}

    def hook(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            macs = output.numel() * module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            one_by_one = module.kernel_size == (1, 1) and module.groups == 1
        else:
            macs, one_by_one = output.numel() * module.in_features, False
        totals["all"] += macs
        totals["1×1"] += macs if one_by_one else 0

    handles = [m.register_forward_hook(hook) for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        network.eval()(torch.zeros(1, 3, 224, 224))
    for handle in handles:
        handle.remove()
    return totals


def test_pointwise_shares_and_the_twelvefold_block(chapter: str) -> None:
    v2, v1 = macs_by_role(create_model("mobilenet_v2")), macs_by_role(create_model("mobilenet_v1"))
    assert v2["all"] == profile.count_macs(create_model("mobilenet_v2"), (3, 224, 224)) == 300_774_272
    assert f"{v2['1×1'] / v2['all']:.1%}" == "89.1%" and f"{v1['1×1'] / v1['all']:.1%}" == "94.9%"
    # "a v2 block does 12× a v1 layer's pointwise work" with the same 24-channel ends at 56×56
    v1_layer = profile.count_macs(DepthwiseSeparableConv(24, 24), (24, 56, 56))
    assert v1_layer == 56 * 56 * (9 * 24 + 24 * 24)
    assert (56 * 56 * 144 * 48) / (56 * 56 * 24 * 24) == 12
    # "the 1×1s cost (d′ + d″)/9 times the depthwise — 5.3× for 24 → 24, 36× for 160 → 160"
    assert (f"{48 / 9:.1f}", round(320 / 9)) == ("5.3", 36)
    # "The depthwise convolution does 16% of the block's multiply-adds"
    assert round(100 * 9 / (24 + 9 + 24)) == 16
    # the paper's figures beside ours: 3.50M is not a rounding of Table 4's 3.4M; Table 4's phone latencies
    assert f"{profile.count_parameters(create_model('mobilenet_v2')) / 1e6:.2f}M" == "3.50M"
    assert "3.50M; the paper states 3.4M" in chapter
    assert (f"{75 / 113:.2f}", f"{300 / 575:.2f}") == ("0.66", "0.52") and "0.66× the time for 0.52×" in chapter
    for quoted in ("89.1%", "94.9%", "12×", "5.3×", "36×", "16%", "300,774,272", "3,504,872"):
        assert quoted in chapter, quoted


def test_ten_of_seventeen_blocks_have_a_shortcut(chapter: str) -> None:
    for name in ("mobilenet_v2", "mobilenet_v2_cifar"):
        blocks = [m for m in create_model(name).modules() if isinstance(m, InvertedResidual)]
        assert len(blocks) == 17 and sum(b.use_res_connect for b in blocks) == 10
    assert "10 of the 17" in chapter and "Of the 17 blocks, 10 have a shortcut" in chapter
    assert sum(stage.num_blocks for stage in MOBILENET_V2_TABLE2) == 17 and "19 residual bottleneck layers" in chapter


def test_tensor_sizes_of_section_6(chapter: str) -> None:
    """1606K (v1's 112×112×64), 803K (v2's stem output), 401K (112×112×16), 2408K inside v2 (16-bit values)."""
    def largest(network: nn.Module) -> tuple[int, int]:
        between, inside = [0], [0]
        handles = [m.register_forward_hook(lambda _m, _i, o: between.__setitem__(0, max(between[0], o.numel())))
                   for m in network.features.children()]
        handles += [m.register_forward_hook(lambda _m, _i, o: inside.__setitem__(0, max(inside[0], o.numel())))
                    for block in network.features.children() for m in block.modules()
                    if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
        with torch.no_grad():
            network.eval()(torch.zeros(1, 3, 224, 224))
        for handle in handles:
            handle.remove()
        return between[0], inside[0]

    assert largest(create_model("mobilenet_v1")) == (112 * 112 * 64, 112 * 112 * 64)
    assert largest(create_model("mobilenet_v2")) == (112 * 112 * 32, 112 * 112 * 96)
    assert [round(2 * v / 1000) for v in (112 * 112 * 64, 112 * 112 * 32, 112 * 112 * 16, 112 * 112 * 96)] == [
        1606, 803, 401, 2408]
    for quoted in ("1606 KB", "803 KB", "401 KB", "1,204,224", "1600K", "400K"):
        assert quoted in chapter, quoted


def test_fig_1_rerun_shares(chapter: str, notebook: nbformat.NotebookNode) -> None:
    """The recoverable shares, recomputed the notebook's way: spiral, 20 draws of T per n from seed 0."""
    angle = torch.linspace(0.2, 2.0 * 2 * torch.pi, 1_000)
    radius = angle / angle.max()
    points = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)
    generator = torch.Generator().manual_seed(0)
    shares = {}
    for n in (2, 3, 5, 15, 30):
        values, zeros = [], []
        for _ in range(20):
            embedding = torch.randn(n, 2, generator=generator)
            activated = torch.relu(points @ embedding.T)
            values.append(((activated > 0).sum(dim=1) >= 2).float().mean().item())
            zeros.append((activated == 0).float().mean().item())
        shares[n] = statistics.mean(values)
        assert 0.45 < statistics.mean(zeros) < 0.55  # "the ReLU zeroes about half of the values"
    assert [f"{shares[n]:.1%}" for n in (2, 3, 5, 15, 30)] == ["19.9%", "50.3%", "83.5%", "100.0%", "100.0%"]
    table = stored_text(notebook, "recoverable_share = {}")
    for n in (2, 3, 5, 15, 30):
        assert re.search(rf"^ +{n} +{shares[n]:.1%}", table, re.MULTILINE), n
    for quoted in ("(19.9%)", "(50.3%)", "83.5%", "(100.0%)"):
        assert quoted in chapter, quoted


# ---------------------------------------------------------------------------------------------------
# Measured figures: the prose quotes the stored outputs; directions re-measured where quick
# ---------------------------------------------------------------------------------------------------


def test_timing_shares_quoted_are_the_stored_ones(chapter: str, notebook: nbformat.NotebookNode) -> None:
    table = stored_text(notebook, "depthwise_time_share = ")
    depthwise = re.search(r"3×3 depthwise +[\d,]+ +16% +(\d+)%", table)
    ratio = re.search(r"the depthwise part: ([\d.]+)× more of the time", table)
    assert depthwise and ratio
    assert f"({depthwise.group(1)}% in the stored run, {ratio.group(1)}×" in chapter
    expansion = re.search(r"1×1 expansion +[\d,]+ +42% +(\d+)%", table)
    projection = re.search(r"1×1 projection +[\d,]+ +42% +(\d+)%", table)
    assert expansion and projection
    assert f"(42% of the multiply-adds each, {expansion.group(1)}% and {projection.group(1)}% of the time" in chapter


def test_depthwise_takes_more_of_the_time_than_of_the_multiply_adds() -> None:
    """Re-measured with one thread, median of interleaved repeats: the direction only, with a margin."""
    torch.manual_seed(0)
    block = InvertedResidual(24, 24, 1, 6).eval()
    expand, depthwise, projection, norm = block.conv
    x = torch.randn(1, 24, 56, 56)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.inference_mode():
            wide = expand(x)
            filtered = depthwise(wide)
            parts = {"expand": lambda: expand(x), "depthwise": lambda: depthwise(wide),
                     "project": lambda: norm(projection(filtered))}
            times: dict[str, list[float]] = {name: [] for name in parts}
            for _ in range(15):
                for name, part in parts.items():
                    start = time.perf_counter()
                    part()
                    times[name].append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(threads)
    medians = {name: statistics.median(values) for name, values in times.items()}
    assert medians["depthwise"] / sum(medians.values()) > 1.2 * (9 / 57)  # its MAC share is 16%


def test_ablation_prose_reads_the_stored_runs(chapter: str, notebook: nbformat.NotebookNode) -> None:
    ablation_blocks = [m for m in MobileNetV2(table=(BottleneckStage(1, 16, 1, 1), BottleneckStage(6, 24, 2, 2),
                                                     BottleneckStage(6, 32, 3, 2), BottleneckStage(6, 64, 2, 2)),
                                              width_mult=0.5, stem_stride=1).modules()
                       if isinstance(m, InvertedResidual)]
    assert (len(ablation_blocks), sum(b.use_res_connect for b in ablation_blocks)) == (8, 4)  # "4 of the 8 blocks"
    assert "in the 4 of the 8 blocks that have a shortcut" in chapter
    table = stored_text(notebook, "seed-to-seed spread")
    rows = re.findall(r"^(nothing \(linear, v2\)|ReLU6 \(not v2\)) +(\d) +([\d.]+)% +(\d+)%$", table, re.MULTILINE)
    assert len(rows) == 4
    linear = [float(acc) for kind, _, acc, _ in rows if kind.startswith("nothing")]
    relu = [float(acc) for kind, _, acc, _ in rows if kind.startswith("ReLU6")]
    zeroed = [int(z) for kind, _, _, z in rows if kind.startswith("ReLU6")]
    assert all(int(z) == 0 for kind, _, _, z in rows if kind.startswith("nothing"))
    assert f"{min(zeroed)}–{max(zeroed)}%" in chapter  # "55–56% ... exactly zero"
    assert f"{linear[0]:.2f}% and {linear[1]:.2f}%" in chapter and f"{relu[0]:.2f}% and {relu[1]:.2f}%" in chapter
    difference = statistics.mean(linear) - statistics.mean(relu)
    spread = (max(linear) - min(linear), max(relu) - min(relu))
    assert f"{difference:.2f} points" in chapter
    assert f"({spread[0]:.2f} points linear, {spread[1]:.2f} points ReLU6)" in chapter
    # "the whole difference comes from one ReLU6 run (seed 1) that trained badly, while the other matched"
    assert relu[1] < min(linear) - 20 and abs(relu[0] - linear[0]) < 1
    assert spread[1] >= difference  # "the spread ... is as large as the effect"


def test_a_relu_after_the_projection_zeroes_the_narrow_tensors() -> None:
    """The mechanism behind the ablation, at initialisation: half the narrow values are 0 with ReLU6, none without."""
    table = (BottleneckStage(1, 16, 1, 1), BottleneckStage(6, 24, 2, 2))
    images = torch.randn(8, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for activation, low, high in ((None, 0.0, 0.0), (nn.ReLU6, 0.3, 0.7)):
        network = MobileNetV2(table=table, num_classes=10, in_channels=1, width_mult=0.5, stem_stride=1,
                              projection_activation=activation).eval()
        outputs = []
        handles = [b.conv.register_forward_hook(lambda _m, _i, o: outputs.append(o)) for b in network.modules()
                   if isinstance(b, InvertedResidual)]
        with torch.no_grad():
            network(images)
        for handle in handles:
            handle.remove()
        share = sum(int((o == 0).sum()) for o in outputs) / sum(o.numel() for o in outputs)
        assert low <= share <= high, (activation, share)


def test_memory_prose_reads_the_stored_peaks(chapter: str, notebook: nbformat.NotebookNode) -> None:
    text = stored_text(notebook, "peaks = {")
    peaks = dict(re.findall(r"^(MobileNet v[12], [^\n]+?) +peak activation memory +([\d.]+) MiB", text, re.MULTILINE))
    assert len(peaks) == 3, text
    v1, v2, pieces = (float(peaks[key]) for key in ("MobileNet v1, as PyTorch runs it",
                                                    "MobileNet v2, as PyTorch runs it",
                                                    "MobileNet v2, blocks in t pieces"))
    assert v2 > v1 > pieces  # "MobileNet v2 needs *more* activation memory than v1" and the pieces least
    assert f"{v2:.1f} against {v1:.1f} MiB" in chapter and f"peaks at {pieces:.1f} MiB" in chapter
    timing = re.search(r"in pieces \(([\d.]+)× the plain time\)", stored_text(notebook, "inference_ms = "))
    assert timing and float(timing.group(1)) > 1 and f"took {timing.group(1)}× the plain inference's time" in chapter
    shares = re.search(r"v2 in pieces: (\d+)% of v2 as PyTorch runs it, (\d+)% of v1", text)
    assert shares and f"{shares.group(1)}% of the plain run and {shares.group(2)}% of v1's" in chapter
    assert f"{v1:.1f} MiB (v1)" in chapter and f"{pieces:.1f} MiB (v2 in t pieces)" in chapter


def test_live_figures_quoted_are_the_stored_ones(chapter: str, notebook: nbformat.NotebookNode) -> None:
    step = re.search(r"thread\(s\): ([\d.]+) s → about (\d+) min per epoch", stored_text(notebook, "seconds_per_step"))
    assert step and f"{step.group(1)} s with one thread" in chapter and f"about {step.group(2)} minutes per epoch" in chapter
    assert "1 thread(s)" in stored_text(notebook, "seconds_per_step")  # the prose says "with one thread"
    hours = float(step.group(1)) * 469 * 10 / 3600
    assert f"about {round(hours)} hours for the 10-epoch reference" in chapter
    curves = re.search(r"test loss per epoch: ([\d.]+), ([\d.]+) ; test accuracy per epoch: ([\d.]+)%, ([\d.]+)%",
                       stored_text(notebook, "CHECKPOINT = "))
    assert curves, "the live branch prints the curves' values"
    loss_1, loss_2, accuracy_1, accuracy_2 = curves.groups()
    assert f"the test loss was {loss_1} (test accuracy {accuracy_1}%, chance" in chapter
    assert f"after the second {loss_2} ({accuracy_2}%)" in chapter and float(accuracy_1) < 15 < float(accuracy_2)
    accuracy = re.search(r"test accuracy ([\d.]+)% on the first 2,000", stored_text(notebook, "EVAL_IMAGES = "))
    assert accuracy and f"{accuracy.group(1)}% on the first 2,000 test images" in chapter
    assert f"{profile.count_parameters(MobileNetV2(table=(BottleneckStage(1, 16, 1, 1), BottleneckStage(6, 24, 2, 2), BottleneckStage(6, 32, 3, 2), BottleneckStage(6, 64, 2, 2)), num_classes=10, in_channels=1, width_mult=0.5, stem_stride=1)):,}" == "96,810"
    assert "96,810 parameters" in chapter


# ---------------------------------------------------------------------------------------------------
# The checkpoint section, both ways
# ---------------------------------------------------------------------------------------------------


def _tiny_history() -> History:
    return History(epochs=[1], train_loss=[2.0], train_accuracy=[0.2], val_loss=[1.9], val_accuracy=[0.25],
                   lr=[0.1], seconds=[1.0], images_per_second=[100.0], steps=[1])


def _run_checkpoint_cell(notebook: nbformat.NotebookNode, namespace: dict[str, object]) -> str:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(code_cell(notebook, "CHECKPOINT = "), "<checkpoint cell>", "exec"), namespace)  # noqa: S102
    return printed.getvalue()


def _cell_namespace() -> dict[str, object]:
    live = MobileNetV2(table=(BottleneckStage(1, 16, 1, 1),), num_classes=10, in_channels=1, width_mult=0.5,
                       stem_stride=1)
    return {"History": History, "ablation_runs": {(False, 0): (live, _tiny_history())}, "ABLATION_EPOCHS": 2,
            "ABLATION_TRAIN": 3_072, "minutes_per_epoch": 48.0}


def test_checkpoint_section_without_the_checkpoint(notebook: nbformat.NotebookNode,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pretrained, "list_checkpoints", lambda directory=None: [])
    namespace = _cell_namespace()
    printed = _run_checkpoint_cell(notebook, namespace)
    assert "is not trained yet" in printed and "--train-missing --only 06" in printed
    assert "about 48 min per epoch here" in printed and "section 5's live run" in printed
    assert namespace["shown_model"] is namespace["ablation_runs"][(False, 0)][0]  # type: ignore[index]
    assert "recorded test accuracy" not in printed


def test_checkpoint_section_with_the_checkpoint(notebook: nbformat.NotebookNode, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    kwargs = {"in_channels": 1, "num_classes": 10, "width_mult": 0.35}
    pretrained.save_checkpoint(
        create_model("mobilenet_v2_cifar", **kwargs), tmp_path, name=CHECKPOINT, architecture="mobilenet_v2_cifar",
        model_kwargs=kwargs, dataset="fashion-mnist", input_size=(1, 28, 28), epochs=10, device="cpu",
        wall_time_s=600.0, test_accuracy=0.5, history=_tiny_history().to_dict(),
        command="python -m cnncourse train mobilenet_v2_cifar --recipe fast --epochs 10")
    monkeypatch.setenv(pretrained.CHECKPOINTS_ENV, str(tmp_path))
    namespace = _cell_namespace()
    printed = _run_checkpoint_cell(notebook, namespace)
    assert f"{CHECKPOINT}: 10 epochs, 10 min on" in printed and "recorded test accuracy 50.00%" in printed
    assert namespace["shown_label"] == "MobileNet v2 (reference)" and "not trained yet" not in printed


def test_prose_says_not_trained_only_while_the_checkpoint_is_absent(chapter: str) -> None:
    shipped = (Path(pretrained.__file__).resolve().parent / "checkpoints" / f"{CHECKPOINT}.safetensors").is_file()
    if shipped:
        pytest.fail(f"{CHECKPOINT} is now shipped: rerun chapter 06, replace 'It has not been trained yet' and the "
                    "live-run paragraph of section 8 with the recorded figures, and update this test.")
    assert "It has not been trained yet" in chapter


# ---------------------------------------------------------------------------------------------------
# The notebook's own memory code: the blocks in pieces compute the same function, and need less memory
# ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def memory_code(notebook: nbformat.NotebookNode) -> dict[str, object]:
    """The notebook's imports, the allocator sampler and the piecewise blocks, executed as the notebook does."""
    namespace: dict[str, object] = {"v2_imagenet": create_model("mobilenet_v2").eval()}
    with contextlib.redirect_stdout(io.StringIO()):
        for marker in ("from cnncourse import data, profile, viz", "from cnncourse.profile import one_thread",
                       "def inference_peak_mib",
                       "def blockwise_in_pieces"):
            source = "\n".join(line for line in code_cell(notebook, marker).splitlines() if not line.startswith("%"))
            exec(compile(source, f"<cell {marker}>", "exec"), namespace)  # noqa: S102
    return namespace


def test_blocks_in_pieces_equal_the_blocks(memory_code: dict[str, object]) -> None:
    from cnncourse.check.probes import randomize_module

    assert memory_code["same"] is True  # the whole MobileNet v2, as the notebook prints it
    pieces = memory_code["blockwise_in_pieces"]
    for c_in, c_out, stride, t, count in [(24, 24, 1, 6, 6), (16, 24, 2, 6, 4), (32, 16, 1, 1, 2), (24, 24, 1, 6, 5)]:
        block = randomize_module(InvertedResidual(c_in, c_out, stride, t), seed=c_in + stride).eval()
        x = torch.randn(2, c_in, 9, 9)
        with torch.no_grad():
            torch.testing.assert_close(pieces(block, x, count), block(x), rtol=1e-4, atol=1e-5)  # type: ignore[operator]


def test_measured_peaks_keep_their_order(memory_code: dict[str, object]) -> None:
    """Re-measured: v2 in pieces well under both plain runs (allocations are deterministic, not noisy)."""
    peak = memory_code["inference_peak_mib"]
    if profile.heap_in_use_reader() is None:
        pytest.skip("glibc's allocator cannot be read here")
    image = torch.randn(1, 3, 224, 224)
    v2 = memory_code["v2_imagenet"]
    plain_v1 = peak(create_model("mobilenet_v1").eval(), image)  # type: ignore[operator]
    plain_v2 = peak(v2, image)  # type: ignore[operator]
    pieces = peak(lambda x: memory_code["v2_in_pieces"](v2, x), image)  # type: ignore[operator]
    assert pieces < 0.5 * plain_v2 and pieces < 0.5 * plain_v1, (plain_v1, plain_v2, pieces)
    assert plain_v2 > plain_v1, (plain_v1, plain_v2)  # "MobileNet v2 needs *more* activation memory than v1"
