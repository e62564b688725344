"""Chapter 03 (SENet): the formulas it teaches, and the figures its prose quotes, stay true.

The prose of ``notebooks/03_senet.py`` reads numbers off the stored outputs of a default run and off the
shipped reference checkpoints. These tests fail when a formula, a checkpoint or a stored output no longer says
what the prose says: the SE counts against the measured models, the two recorded accuracies, the stored
class-by-class table, and the excitation picture (class-agnostic early, class-specific last), re-measured on a
subset of the test set with the shipped SE-ResNet-20, and the class groups of its last block.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import torch

from cnncourse import profile
from cnncourse.formulas.senet import (
    se_elementwise_ops,
    se_network_params,
    se_paper_params,
    se_squeeze_channels,
    se_stage_params,
)
from cnncourse.layers import SqueezeExcitation
from cnncourse.models import create_model
from cnncourse.models.senet import squeeze_width
from cnncourse.pretrained import list_checkpoints, load_pretrained

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "03_senet.ipynb"
RESNET50_STAGES = [(256, 3), (512, 4), (1024, 6), (2048, 3)]
RESNET20_STAGES = [(16, 3), (32, 3), (64, 3)]
SHIPPED = {info.name for info in list_checkpoints()}
needs_checkpoints = pytest.mark.skipif(
    not {"resnet20_fashion_mnist_10ep", "se_resnet20_fashion_mnist_10ep"} <= SHIPPED,
    reason="chapter 03's reference checkpoints are not installed",
)


# ---------------------------------------------------------------------------------------------------
# Formulas against the measured models
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", [1, 2, 4, 8, 16, 32, 64])
def test_squeeze_width_rule_is_the_models(reduction: int) -> None:
    for channels in (1, 3, 15, 16, 17, 64, 256, 2048):
        assert se_squeeze_channels(channels, reduction) == squeeze_width(channels, reduction)


def test_squeeze_width_refuses_a_ratio_below_one() -> None:
    with pytest.raises(ValueError, match="reduction"):
        se_squeeze_channels(64, 0)


@pytest.mark.parametrize(
    ("plain", "with_se", "stages", "input_size"),
    [("resnet50", "se_resnet50", RESNET50_STAGES, (3, 224, 224)), ("resnet20", "se_resnet20", RESNET20_STAGES, (3, 32, 32))],
)
def test_network_formula_equals_what_se_adds_to_the_measured_models(
    plain: str, with_se: str, stages: list[tuple[int, int]], input_size: tuple[int, int, int]
) -> None:
    with torch.device("meta"):
        plain_model, se_model = create_model(plain), create_model(with_se)
    added = profile.count_parameters(se_model) - profile.count_parameters(plain_model)
    assert se_network_params(stages) == added
    # the MACs SE adds are the fully connected weights: the bias-free count, 2·C·S per block
    added_macs = profile.count_macs(se_model, input_size) - profile.count_macs(plain_model, input_size)
    assert se_network_params(stages, biases=False) == added_macs


def test_quoted_resnet50_figures() -> None:
    """The chapter's count section: 2,530,992 (+9.9%), 62% in the last stage, 3.7% without it."""
    resnet50 = 25_557_032  # torchvision's documentation (REFERENCE_FIGURES.md)
    added = se_network_params(RESNET50_STAGES)
    assert added == 2_530_992 == 28_088_024 - resnet50
    assert se_paper_params(RESNET50_STAGES) == se_network_params(RESNET50_STAGES, biases=False) == 2_514_944
    assert f"{added / resnet50:.1%}" == "9.9%"
    last = se_stage_params(2048, 3)
    assert f"{last / added:.0%}" == "62%"
    assert f"{(added - last) / resnet50:.1%}" == "3.7%"


def test_paper_closed_form_leaves_out_rounding_for_small_widths() -> None:
    # C = 16, r = 32: the paper's 2C²/r = 16, the module (squeeze width 1) has 2·16·1 = 32 weights
    assert se_paper_params([(16, 1)], reduction=32) == 16
    assert se_stage_params(16, 1, reduction=32, biases=False) == 32
    module = SqueezeExcitation(16, se_squeeze_channels(16, 32))
    assert profile.count_parameters(module) == se_stage_params(16, 1, reduction=32)


def test_elementwise_ops_count_pooling_and_scaling() -> None:
    assert se_elementwise_ops(64, 7, 7) == 2 * 64 * 49


# ---------------------------------------------------------------------------------------------------
# The reference checkpoints and the stored outputs the prose reads
# ---------------------------------------------------------------------------------------------------


@needs_checkpoints
def test_recorded_accuracies_the_prose_quotes() -> None:
    from cnncourse.pretrained import load_metadata

    plain = load_metadata("resnet20_fashion_mnist_10ep")
    se = load_metadata("se_resnet20_fashion_mnist_10ep")
    assert (round(100 * plain["test_accuracy"], 2), round(100 * se["test_accuracy"], 2)) == (93.53, 93.23)
    assert f"{100 * (plain['test_accuracy'] - se['test_accuracy']):.2f}" == "0.30"
    for metadata in (plain, se):
        assert metadata["epochs"] == 10 and "--recipe fast" in metadata["command"] and "--seed 0" in metadata["command"]
    # the curves paragraph: first-epoch accuracies and the final test losses
    first_train = [round(100 * m["history"]["train_accuracy"][0], 1) for m in (se, plain)]
    first_test = [round(100 * m["history"]["val_accuracy"][0], 1) for m in (se, plain)]
    final_loss = [round(m["history"]["val_loss"][-1], 3) for m in (se, plain)]
    assert (first_train, first_test, final_loss) == ([61.8, 67.0], [80.2, 82.1], [0.263, 0.254])
    assert all(s_loss > p_loss for s_loss, p_loss in zip(se["history"]["val_loss"], plain["history"]["val_loss"]))
    # the two-seed spread the prose cites
    benchmarks = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    assert "93.53%" in benchmarks and "93.64%" in benchmarks


def stored_text(cell_marker: str) -> str:
    """The stored stream output of the code cell whose source contains ``cell_marker``."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell_marker in cell.source:
            return "".join(output.get("text", "") for output in cell.outputs if output.output_type == "stream")
    raise AssertionError(f"no code cell containing {cell_marker!r} in {NOTEBOOK.name}")


@needs_checkpoints
def test_stored_outputs_come_from_a_default_run_on_the_whole_test_set() -> None:
    assert "fast mode: False" in stored_text('print("fast mode:", fast_mode())')
    accuracies = stored_text("measured now on")
    assert re.search(r"ResNet-20 +test accuracy 93\.\d\d% measured now on 10,000 test images", accuracies)
    assert re.search(r"SE-ResNet-20 +test accuracy 93\.\d\d% measured now on 10,000 test images", accuracies)


@needs_checkpoints
def test_stored_class_table_has_gains_and_losses() -> None:
    """Prose: 'some classes gained, others lost'."""
    table = stored_text("SE − plain")
    differences = [float(value) for value in re.findall(r" ([+-]\d+\.\d)\n", table + "\n")]
    assert len(differences) == 10
    assert max(differences) > 0 > min(differences)


@needs_checkpoints
def test_stored_confusion_the_prose_quotes() -> None:
    assert "most frequent confusion: Shirt taken for T-shirt/top (97 of 1000 test images)" in stored_text(
        "most frequent confusion")
    table = stored_text("SE − plain")
    shirt = re.search(r"Shirt +[\d.]+ +([\d.]+)", table)
    assert shirt and round(float(shirt.group(1))) == 78


@needs_checkpoints
def test_stored_excitation_spreads_are_the_ones_the_prose_quotes() -> None:
    table = stored_text("excitation_spread(excitations[name]")
    rows = {name: tuple(float(v) for v in values) for name, *values in
            re.findall(r"(early|middle|last): \S+ +\d+ +([\d.]+) +([\d.]+) +[\d.]+ +([\d.]+) – ([\d.]+)", table)}
    assert set(rows) == {"early", "middle", "last"}
    assert f"{rows['early'][0]:.3f}" in ("0.008", "0.009") and f"{rows['middle'][0]:.2f}" == "0.03"
    assert f"{rows['last'][0]:.2f}" == "0.19" and rows["last"][0] > 20 * rows["early"][0]
    assert rows["early"][2:] == (0.26, 0.72)
    assert rows["last"][2] <= 0.03 and rows["last"][3] >= 0.98
    for between, within, _, _ in rows.values():
        assert between > within


@needs_checkpoints
def test_excitations_turn_class_specific_from_early_to_last_block() -> None:
    """Re-measured live on the first 2,000 test images with the shipped SE-ResNet-20."""
    from cnncourse import data

    network = load_pretrained("se_resnet20_fashion_mnist_10ep").eval()
    test_set = data.fashion_mnist(train=False)
    blocks = {"early": network.layer1[2].se, "middle": network.layer2[2].se, "last": network.layer3[2].se}
    gates: dict[str, list[torch.Tensor]] = {name: [] for name in blocks}
    hooks = [module.scale_activation.register_forward_hook(
        lambda _m, _i, output, name=name: gates[name].append(output.flatten(1))) for name, module in blocks.items()]
    try:
        with torch.inference_mode():
            for images, _ in data.Batches(test_set, 500, subset=2000):
                network(images)
    finally:
        for hook in hooks:
            hook.remove()
    labels = test_set.labels[:2000]
    classes = {name: index for index, name in enumerate(test_set.classes)}
    between = {}
    for name, values in gates.items():
        stacked = torch.cat(values)
        means = torch.stack([stacked[labels == index].mean(dim=0) for index in range(10)])
        between[name] = means.std(dim=0).mean().item()
        if name == "last":
            correlation = torch.corrcoef(means)
    assert between["early"] < between["middle"] < between["last"]
    assert between["last"] > 10 * between["early"]

    # the last block's groups, as the prose describes the stored correlation map
    def alike(first: str, second: str) -> float:
        return correlation[classes[first], classes[second]].item()

    for first, second in [("Sneaker", "Ankle boot"), ("Bag", "Ankle boot"), ("Sneaker", "Bag"), ("Pullover", "Coat")]:
        assert alike(first, second) > 0.9
    assert alike("T-shirt/top", "Shirt") > 0.8
    garments = ["T-shirt/top", "Trouser", "Pullover", "Coat", "Sandal", "Shirt"]
    for garment in garments:
        for other in ["Sneaker", "Bag", "Ankle boot"]:
            assert alike(garment, other) < 0
        for fellow in [*garments, "Dress"]:
            assert alike(garment, fellow) > 0.3
