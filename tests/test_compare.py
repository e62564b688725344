"""cnncourse.compare: the roster follows the manifest and the folder, damaged checkpoints stop it with a clear
message, the table has exactly one row per shipped checkpoint, the measurements measure what they say, and the
published figures and the timeline are the cited ones."""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from cnncourse import compare, data
from cnncourse.errors import CourseError
from cnncourse.models import create_model, model_info
from cnncourse.pretrained import save_checkpoint
from cnncourse.references import ReferenceCheckpoint

ROOT = Path(__file__).resolve().parents[1]


def entry(name: str, model: str = "resnet20", chapter: str = "01") -> ReferenceCheckpoint:
    return ReferenceCheckpoint(name=name, chapter=chapter, model=model, recipe="textbook", epochs=1, purpose="test")


def ship(folder: Path, item: ReferenceCheckpoint, seed: int = 0, accuracy: float = 0.5) -> Path:
    """Save an untrained ``item.model`` as the manifest entry ``item`` would have trained it."""
    torch.manual_seed(seed)
    model = create_model(item.model, in_channels=1, num_classes=10)
    return save_checkpoint(model, folder, name=item.name, architecture=item.model,
                           model_kwargs={"in_channels": 1, "num_classes": 10}, dataset="fashion-mnist",
                           input_size=(1, 28, 28), epochs=item.epochs, device="cpu: 2 cores, AMD EPYC, 1 thread",
                           wall_time_s=125.0, test_accuracy=accuracy,
                           history={"config": {"flip_tta": False}, "fast_mode": False},
                           command="python -m cnncourse train " + shlex.join(item.training_arguments()))


@pytest.fixture
def manifest() -> tuple[ReferenceCheckpoint, ...]:
    return (entry("a_resnet20"), entry("b_plain20", "plain20"), entry("c_missing", "se_resnet20", "03"))


def test_roster_splits_the_manifest_into_shipped_and_not_trained_yet(tmp_path: Path, manifest) -> None:
    ship(tmp_path, manifest[0])
    ship(tmp_path, manifest[1])
    roster = compare.reference_roster(manifest, tmp_path)
    assert [status.entry.name for status in roster.shipped] == ["a_resnet20", "b_plain20"]
    assert [item.name for item in roster.missing] == ["c_missing"]
    assert all(status.state == "present" for status in roster.shipped)
    text = str(roster)
    assert "2 of 3 reference checkpoints" in text and "not trained yet:" in text
    assert "--train-missing --only 03" in text
    assert compare.shipped_names(manifest, tmp_path) == ["a_resnet20", "b_plain20"]


def test_a_checkpoint_outside_the_manifest_is_not_in_the_roster(tmp_path: Path, manifest) -> None:
    ship(tmp_path, manifest[0])
    ship(tmp_path, entry("not_in_manifest"))
    roster = compare.reference_roster(manifest, tmp_path)
    assert [status.entry.name for status in roster.shipped] == ["a_resnet20"]


def test_a_checkpoint_trained_otherwise_is_shown_as_stale(tmp_path: Path, manifest) -> None:
    other = ReferenceCheckpoint(name="a_resnet20", chapter="01", model="resnet20", recipe="textbook", epochs=3,
                                purpose="test")
    ship(tmp_path, other)
    roster = compare.reference_roster(manifest, tmp_path)
    assert roster.shipped[0].state == "stale" and "stale" in str(roster)


@pytest.mark.parametrize("damage", ["flip a byte", "weights only", "metadata only"])
def test_a_damaged_checkpoint_stops_the_roster_with_a_repair(tmp_path: Path, manifest, damage: str) -> None:
    weights = ship(tmp_path, manifest[0])
    if damage == "flip a byte":
        raw = bytearray(weights.read_bytes())
        raw[-1] ^= 0xFF
        weights.write_bytes(bytes(raw))
    elif damage == "weights only":
        weights.with_suffix(".json").unlink()
    else:
        weights.unlink()
    with pytest.raises(CourseError, match="a_resnet20.*damaged") as error:
        compare.reference_roster(manifest, tmp_path)
    assert "--train-missing --only 01" in str(error.value)


def test_a_missing_folder_is_a_clear_error(tmp_path: Path, manifest) -> None:
    with pytest.raises(CourseError, match="does not exist"):
        compare.reference_roster(manifest, tmp_path / "nowhere")


def test_load_references_refuses_a_checkpoint_of_another_architecture(tmp_path: Path) -> None:
    ship(tmp_path, entry("a_resnet20"))
    wrong = (ReferenceCheckpoint(name="a_resnet20", chapter="01", model="resnet20", recipe="textbook", epochs=1,
                                 purpose="test"),)
    roster = compare.reference_roster(wrong, tmp_path)
    # A roster whose entry names another model than the file holds (a manifest edited after training).
    lying = compare.Roster((type(roster.shipped[0])(entry("a_resnet20", "plain20"), "present", "",
                                                    path=roster.shipped[0].path),), ())
    with pytest.raises(CourseError, match="holds a 'resnet20'.*'plain20'"):
        compare.load_references(lying)


def test_table_has_one_row_per_shipped_checkpoint_then_the_missing(tmp_path: Path, manifest,
                                                                   tiny_fashion_mnist: Path) -> None:
    ship(tmp_path, manifest[0], seed=0, accuracy=0.61)
    ship(tmp_path, manifest[1], seed=1, accuracy=0.62)
    roster = compare.reference_roster(manifest, tmp_path)
    models = compare.load_references(roster)
    costs = compare.measure_costs(models)
    assert costs["a_resnet20"] == (269_434, 30_821_248) and costs["b_plain20"] == costs["a_resnet20"]
    test_set = data.fashion_mnist(train=False, root=tiny_fashion_mnist, download=False)
    accuracy = compare.measure_accuracy(models, test_set, images=16)
    assert all(count == 16 and 0 <= value <= 1 for value, count in accuracy.values())
    b1 = compare.interleaved_latency(models, 1, rounds=2)
    b64 = compare.interleaved_latency(models, 4, rounds=1)
    peaks = compare.measure_peak_memory(models, 2)
    table = compare.checkpoint_table(roster, models, costs, accuracy, b1, b64, peaks, peaks, notes=["a note"])
    assert [row.name for row in table.rows] == ["a_resnet20", "b_plain20"]
    assert [item.name for item in table.missing] == ["c_missing"]
    row = table.row("a_resnet20")
    assert row.recorded_accuracy == 0.61 and row.test_images == 16 and row.wall_time_s == 125.0
    assert row.trained_on == "EPYC, 1 thr" and row.weights_bytes == 4 * 269_434
    text = str(table)
    assert text.count("not trained yet") == 1 and "a note" in text and "2 min" in text
    assert "c_missing" in table._repr_html_() and "<table>" in table._repr_html_()
    with pytest.raises(CourseError, match="No checkpoint 'zzz'"):
        table.row("zzz")
    # A shipped checkpoint left out of the models cannot silently drop out of the table.
    with pytest.raises(CourseError, match="b_plain20 has no model"):
        compare.checkpoint_table(roster, {"a_resnet20": models["a_resnet20"]}, costs)
    # Measurements not taken show as "-".
    bare = compare.checkpoint_table(roster, models, costs)
    assert bare.rows[0].accuracy is None and bare.rows[0].latency_b1_ms is None and "-" in str(bare)


class Recorder(nn.Module):
    def __init__(self, name: str, log: list[str], delay: float = 0.0) -> None:
        super().__init__()
        self.name, self.log, self.delay = name, log, delay
        self.linear = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.log.append(self.name)
        if self.delay:
            time.sleep(self.delay)
        return self.linear(x.flatten(1))


def test_interleaved_latency_takes_turns_and_restores_the_mode() -> None:
    log: list[str] = []
    models = {"slow": Recorder("slow", log, 0.004), "fast": Recorder("fast", log)}
    models["slow"].train()
    models["fast"].eval()
    result = compare.interleaved_latency(models, batch_size=3, rounds=3, warmup=1,
                                         input_sizes={"slow": (4,), "fast": (4,)})
    # warm-up each, then one pass each per round, the order rotating
    assert log == ["slow", "fast"] + ["slow", "fast", "fast", "slow", "slow", "fast"]
    assert models["slow"].training and not models["fast"].training
    assert len(result["slow"].times_ms) == 3 and result["slow"].batch_size == 3
    assert result["slow"].median_ms > result["fast"].median_ms and result["slow"].median_ms >= 4.0
    assert result["fast"].spread >= 0
    with pytest.raises(CourseError, match="rounds"):
        compare.interleaved_latency(models, rounds=0, input_sizes={"slow": (4,), "fast": (4,)})
    with pytest.raises(CourseError, match="at least one model"):
        compare.interleaved_latency({})
    with pytest.raises(CourseError, match="input_size"):
        compare.interleaved_latency({"bare": nn.Linear(4, 2)})


def test_peak_memory_grows_with_the_batch() -> None:
    model = create_model("resnet20", in_channels=1, num_classes=10)
    model.checkpoint_metadata = {"input_size": [1, 28, 28]}
    small, large = (compare.measure_peak_memory({"m": model}, batch)["m"] for batch in (1, 16))
    if small is None:
        pytest.skip("glibc's mallinfo2 is not available here")
    # One 16×28×28 feature map of float32 alone is 50 kB; 16 images hold far more than one.
    assert large > 8 * small > 0


def row(name: str, accuracy: float | None, macs: int, latency: float | None, params: int = 100) -> compare.CheckpointRow:
    return compare.CheckpointRow(name=name, chapter="01", architecture="x", recipe="fast", epochs=1, state="present",
                                 params=params, macs=macs, accuracy=accuracy, test_images=10, recorded_accuracy=None,
                                 flip_tta=False, latency_b1_ms=latency, latency_b64_ms=latency, peak_b1_bytes=None,
                                 peak_b64_bytes=None, wall_time_s=60.0, trained_on="EPYC")


def test_pareto_keeps_what_nothing_beats_on_both_counts() -> None:
    rows = [row("cheap", 0.90, 10, 5.0), row("dominated", 0.89, 20, 1.0), row("best", 0.95, 30, 9.0),
            row("unmeasured", None, 1, None)]
    assert [r.name for r in compare.pareto(rows, "macs")] == ["cheap", "best"]
    assert [r.name for r in compare.pareto(rows, "latency_b1_ms")] == ["dominated", "cheap", "best"]
    with pytest.raises(CourseError, match="not a column"):
        compare.pareto(rows, "flops")


def test_cheapest_within_a_tolerance_of_the_best() -> None:
    rows = [row("best", 0.950, 30, 9.0, params=900), row("close", 0.947, 10, 3.0, params=300),
            row("far", 0.900, 1, 1.0, params=10)]
    pick, candidates = compare.cheapest_within(rows, "macs", 0.005)
    assert pick.name == "close" and [r.name for r in candidates] == ["best", "close"]
    assert compare.cheapest_within(rows, "params", 0.1)[0].name == "far"
    assert compare.cheapest_within(rows, None)[0].name == "best"
    tie = [row("first", 0.95, 10, 1.0), row("second", 0.95, 10, 1.0)]
    assert compare.cheapest_within(tie, "macs")[0].name == "first"
    with pytest.raises(CourseError, match="No row has a measured accuracy"):
        compare.cheapest_within([row("none", None, 1, 1.0)], "macs")
    # A tolerance is a fraction: 0.5 meant as "half a point" would silently mean 50 points.
    for wrong in (0.5, 1.0, 5.0, -0.01, float("nan")):
        with pytest.raises(CourseError, match=r"tolerance is a fraction of the best accuracy \(0.005 = half a point\)"):
            compare.cheapest_within(rows, "macs", wrong)


def test_uses_depthwise_looks_at_the_layers_not_the_family() -> None:
    with torch.device("meta"):
        nets = {name: create_model(name, in_channels=1, num_classes=10)
                for name in ("resnet20", "densenet_bc_40_12", "aecnn_searched", "mobilenet_v1_cifar",
                             "mobilenet_v3_small_cifar", "efficientnet_small")}
        nets["mnasnet1_0"] = create_model("mnasnet1_0")
    found = {name for name, net in nets.items() if compare.uses_depthwise(net)}
    # aecnn_searched shares the "nas" family with MnasNet but is built from ResNet and DenseNet units.
    assert model_info("aecnn_searched").family == model_info("mnasnet1_0").family
    assert found == {"mobilenet_v1_cifar", "mobilenet_v3_small_cifar", "efficientnet_small", "mnasnet1_0"}
    assert not compare.uses_depthwise(nn.Conv2d(8, 8, 3, groups=2))  # grouped, not depthwise


def test_short_device_names_the_machine_not_the_core_count() -> None:
    assert compare._short_device("cpu: 2 cores, Intel(R) Xeon(R) Processor, 2 threads, bf16 autocast") == \
        "Xeon, 2 thr, bf16"
    assert compare._short_device("cpu: 2 cores, AMD EPYC, 1 thread, bf16 autocast") == "EPYC, 1 thr, bf16"
    assert compare._short_device("cuda: NVIDIA H100 80GB HBM3") == "cuda: NVIDIA H100 80GB HBM3"


# ---------------------------------------------------------------------------------------------------
# ImageNet-size models, published figures, timeline
# ---------------------------------------------------------------------------------------------------


def test_imagenet_models_are_the_paper_sized_ones_with_a_counterpart() -> None:
    names = compare.imagenet_models()
    assert {"resnet50", "wide_resnet50_2", "se_resnet50", "densenet121", "mobilenet_v1", "mobilenet_v2",
            "mobilenet_v3_small", "mnasnet1_0", "efficientnet_b0", "efficientnet_b7"} <= set(names)
    assert not {"resnet20", "mobilenet_v3_small_cifar", "efficientnet_small", "wrn_28_10"} & set(names)
    for name in names:
        info = model_info(name)
        assert info.input_size[1] >= 224 and (info.torchvision_name or info.timm_name)
    assert set(compare.PUBLISHED_TOP1) <= set(names)


def test_imagenet_table_counts_equal_the_reference_figures() -> None:
    rows = {row.name: row for row in compare.imagenet_table(["resnet50", "mobilenet_v3_small", "se_resnet50",
                                                               "efficientnet_b1"])}
    # ../shared/REFERENCE_FIGURES.md: torchvision's (and timm's seresnet50) parameter counts.
    assert rows["resnet50"].params == 25_557_032 and rows["mobilenet_v3_small"].params == 2_542_856
    assert rows["se_resnet50"].params == 28_088_024 and rows["efficientnet_b1"].params == 7_794_184
    assert rows["resnet50"].macs == 4_089_184_256 and rows["efficientnet_b1"].input_size == (3, 240, 240)
    assert rows["se_resnet50"].counterpart == "timm seresnet50"
    assert rows["resnet50"].published.top1 == 77.15 and rows["efficientnet_b1"].published is None


def test_published_figures_are_the_cited_ones() -> None:
    top1 = {name: figure.top1 for name, figure in compare.PUBLISHED_TOP1.items()}
    # The headline figures of REFERENCE_FIGURES.md (and chapters 05-07).
    assert top1["mobilenet_v1"] == 70.6 and top1["mobilenet_v2"] == 72.0
    assert top1["mobilenet_v3_large"] == 75.2 and top1["mobilenet_v3_small"] == 67.4
    assert top1["efficientnet_b0"] == 77.1 and top1["efficientnet_b7"] == 84.3
    assert top1["se_resnet50"] == pytest.approx(100 - 23.29)
    # He et al. Tables 2 (ResNet-18) and 3 (10-crop top-1 error); Huang et al. Table 3 (single crop): pinned
    # here, since the consistency check below accepts a wrong error written with its wrong accuracy.
    errors = {"resnet18": 27.88, "resnet34": 24.52, "resnet50": 22.85, "resnet101": 21.75, "resnet152": 21.43,
              "densenet121": 25.02, "densenet169": 23.80, "densenet201": 22.58}
    for name, error in errors.items():
        assert top1[name] == pytest.approx(100 - error), name
        assert f"{error:.2f}% top-1 error" in compare.PUBLISHED_TOP1[name].source, name
    for name, figure in compare.PUBLISHED_TOP1.items():
        assert "arXiv:" in figure.source and "Table" in figure.source, name
        assert figure.protocol, name
        if "% top-1 error" in figure.source:  # accuracy = 100 − the printed top-1 error
            error = figure.source.split("% top-1 error")[0].split()[-1].lstrip("(")
            assert figure.top1 == pytest.approx(100 - float(error)), name
    # torchvision's MnasNet is B1, not the paper's A1: no figure may be paired with it.
    assert not any(name.startswith("mnasnet") for name in compare.PUBLISHED_TOP1)


def test_timeline_is_in_order_cited_and_covers_every_chapter() -> None:
    years = [item.year for item in compare.TIMELINE]
    assert years == sorted(years)
    assert {item.chapter for item in compare.TIMELINE} == {"01", "02", "03", "04", "05", "06", "07", "08", "09"}
    assert all("arXiv:" in item.source for item in compare.TIMELINE)
    entries = {item.architecture: item for item in compare.TIMELINE}
    # ../shared/REFERENCE_FIGURES.md; the two entries that chapter 00b's timeline does not cross-check.
    assert "(36.5M): 4.00% CIFAR-10 error" in entries["Wide ResNet"].headline
    assert "(25.6M): 3.46% CIFAR-10+ error" in entries["DenseNet"].headline


def test_timeline_agrees_with_chapter_00b() -> None:
    """Chapter 00b's ROAD_TIMELINE and this one share entries: same years and numbers."""
    source = (ROOT / "notebooks" / "00b_road_to_resnet.py").read_text(encoding="utf-8")
    namespace: dict = {}
    block = source[source.index("ROAD_TIMELINE: list"):source.index("]\n", source.index("ROAD_TIMELINE: list")) + 2]
    exec(block.replace("ROAD_TIMELINE: list[tuple[int, str, str, float, str]]", "ROAD_TIMELINE"), namespace)
    road = {network: (year, value) for year, network, _, value, _ in namespace["ROAD_TIMELINE"]}
    ours = {item.architecture: item for item in compare.TIMELINE}
    pairs = {"ResNet": "ResNet", "SENet": "SENet", "MobileNet v1": "MobileNet v1", "NASNet-A": "NASNet",
             "MobileNet v2": "MobileNet v2", "MnasNet-A1": "MnasNet", "MobileNet v3-L": "MobileNet v3",
             "EfficientNet-B0": "EfficientNet"}
    for theirs, mine in pairs.items():
        year, value = road[theirs]
        assert ours[mine].year == year, mine
        assert any(f"{value:{style}}%" in ours[mine].headline for style in ("g", ".1f")), (mine, value)
