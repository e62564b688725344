"""Chapter 04 (notebooks/04_densenet.py) quotes figures in its prose; these tests keep each of them true.

The prose is read off the stored outputs of a real run. Figures that come from the shipped reference
checkpoints (accuracies, training times, the feature-reuse heatmap), from exact counts (the tensors autograd
keeps, the elements each kind of operation writes, torchvision's ImageNet figures) are recomputed here, so a
re-trained checkpoint or a changed model that no longer says what the chapter says fails here rather than in a
learner's notebook. Timings are checked only for their direction, with a wide margin.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from cnncourse import pretrained, profile
from cnncourse.models import create_model
from cnncourse.models.densenet import DenseBlock, DenseNet, Transition

CHAPTER = Path(__file__).resolve().parents[1] / "notebooks" / "04_densenet.py"
SHIPPED = Path(pretrained.__file__).resolve().parent / "checkpoints"
DENSENET, RESNET = "densenet_bc_40_12_fashion_mnist_10ep", "resnet20_fashion_mnist_10ep"


def metadata(name: str) -> dict:
    path = SHIPPED / f"{name}.safetensors"
    assert path.is_file(), f"chapter 04 needs the shipped reference checkpoint {name}"
    return pretrained.verify_checkpoint(path)


@pytest.fixture(scope="module")
def chapter() -> str:
    """The chapter's text with its comment lines joined, so a quoted figure may wrap across lines."""
    return " ".join(line.lstrip("# ").rstrip() for line in CHAPTER.read_text(encoding="utf-8").splitlines())


def test_reference_runs_are_an_equal_comparison_as_section_7_says(chapter: str) -> None:
    dense, resnet = metadata(DENSENET), metadata(RESNET)
    assert dense["device"] == resnet["device"] and dense["epochs"] == resnet["epochs"] == 10
    dense_recipe, resnet_recipe = dense["history"]["config"], resnet["history"]["config"]
    assert dense_recipe.get("recipe") == resnet_recipe.get("recipe") or "--recipe fast" in dense["command"]
    assert "--recipe fast" in dense["command"] and "--recipe fast" in resnet["command"]
    # "93.81% ... ResNet-20 reached 93.53%", "+0.28 points (28 test images)", "5.0× ... (64 against 13 minutes)"
    assert f"{dense['test_accuracy']:.2%}" == "93.81%" and f"{resnet['test_accuracy']:.2%}" == "93.53%"
    assert round((dense["test_accuracy"] - resnet["test_accuracy"]) * 10_000) == 28
    assert f"{dense['wall_time_s'] / resnet['wall_time_s']:.1f}" == "5.0"
    assert (round(dense["wall_time_s"] / 60), round(resnet["wall_time_s"] / 60)) == (64, 13)
    # "two thirds of the parameters", "about 1.8× the multiply-adds"
    assert round(dense["params"] / resnet["params"], 2) == 0.65
    assert round(dense["macs"] / resnet["macs"], 1) == 1.8
    for quoted in ("93.81%", "93.53%", "+0.28 points", "5.0×", "64 against 13 minutes", "175,690"):
        assert quoted in chapter, quoted


def test_reference_curves_say_what_the_prose_says(chapter: str) -> None:
    history = metadata(DENSENET)["history"]
    train, test = history["train_accuracy"], history["val_accuracy"]
    # "test accuracy rises from 81.8% after the first epoch to 93.8% after the tenth and is still climbing"
    assert (f"{test[0]:.1%}", f"{test[-1]:.1%}") == ("81.8%", "93.8%") and test[-1] == max(test)
    # "Training accuracy stays below test accuracy until the last epoch ... it jumps to 94.6%"
    assert all(t < v for t, v in zip(train[:-1], test[:-1])) and train[-1] > test[-1]
    assert f"{train[-1]:.1%}" == "94.6%"
    assert "81.8%" in chapter and "94.6%" in chapter


def test_memory_counts_quoted_in_section_6(chapter: str) -> None:
    """The tensors autograd keeps (profile.peak_memory's exact count), naive against memory-efficient."""
    torch.manual_seed(0)
    kept = {}
    for efficient in (False, True):
        network = create_model("densenet_bc_40_12", in_channels=1, num_classes=10, memory_efficient=efficient)
        kept[efficient] = profile.peak_memory(network, (1, 28, 28), batch_size=64).activation_bytes / 2**20
    resnet = profile.peak_memory(create_model("resnet20", in_channels=1, num_classes=10), (1, 28, 28),
                                 batch_size=64).activation_bytes / 2**20
    # "keep 59% of what the naive ones keep — 231 MiB against 390 MiB"; "several times what ResNet-20 keeps"
    assert (round(kept[True]), round(kept[False])) == (231, 390)
    assert f"{kept[True] / kept[False]:.0%}" == "59%"
    assert kept[False] / resnet > 4
    # "the naive count grows with n² (×2.8 from n = 8 to 16 above) and the memory-efficient one linearly (×1.9)"
    per_image = {}
    for efficient in (False, True):
        for n in (8, 16):
            network = DenseNet(12, (n,) * 3, 24, num_classes=10, in_channels=1, stem="cifar",
                               memory_efficient=efficient)
            per_image[efficient, n] = profile.peak_memory(network, (1, 28, 28)).activation_bytes
    assert f"{per_image[False, 16] / per_image[False, 8]:.1f}" == "2.8"
    assert f"{per_image[True, 16] / per_image[True, 8]:.1f}" == "1.9"
    for quoted in ("**59%**", "231 MiB against 390 MiB", "×2.8 from n = 8 to 16", "×1.9"):
        assert quoted in chapter, quoted


class ElementCounter(TorchDispatchMode):
    """The notebook's counter, reduced to what the prose quotes: convolutions and BatchNorm elements."""

    def __init__(self) -> None:
        super().__init__()
        self.convolutions = self.batchnorm_elements = self.concatenated = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        name = func.overloadpacket.__name__.strip("_")
        first = result[0] if isinstance(result, (tuple, list)) else result
        self.convolutions += name == "convolution"
        self.batchnorm_elements += first.numel() if "batch_norm" in name else 0
        self.concatenated += first.numel() if name == "cat" else 0
        return result


def count_elements(network: nn.Module) -> ElementCounter:
    with torch.no_grad(), ElementCounter() as counter:
        network.eval()(torch.zeros(1, 1, 28, 28))
    return counter


def test_densenet_writes_more_values_per_image_than_resnet20() -> None:
    """'twice ResNet-20's convolutions', 'its BatchNorms and ReLUs write several times as many values'."""
    dense = count_elements(create_model("densenet_bc_40_12", in_channels=1, num_classes=10))
    resnet = count_elements(create_model("resnet20", in_channels=1, num_classes=10))
    assert (dense.convolutions, resnet.convolutions) == (39, 19)
    assert 4 < dense.batchnorm_elements / resnet.batchnorm_elements < 7
    assert dense.concatenated > 0 and resnet.concatenated == 0


def test_densenet_trains_several_times_slower_than_resnet20_on_a_cpu() -> None:
    """The direction and rough size of the chapter's timing (DenseNet's step takes several times ResNet's)."""
    torch.manual_seed(0)
    networks = [create_model(name, in_channels=1, num_classes=10) for name in ("densenet_bc_40_12", "resnet20")]
    images, labels = torch.randn(16, 1, 28, 28), torch.randint(0, 10, (16,))
    best = [float("inf")] * 2
    for _ in range(3):
        for index, network in enumerate(networks):
            start = time.perf_counter()
            network.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(network(images), labels).backward()
            best[index] = min(best[index], time.perf_counter() - start)
    assert best[0] > 2 * best[1], best


def test_imagenet_comparison_quoted_in_section_7(chapter: str) -> None:
    """'under a third of ResNet-50's parameters and about 70% of its multiply-adds, 1.7 points less accurate'."""
    with torch.device("meta"):
        dense, resnet = create_model("densenet121"), create_model("resnet50")
    assert profile.count_parameters(dense) < profile.count_parameters(resnet) / 3
    macs_ratio = profile.count_macs(dense, (3, 224, 224)) / profile.count_macs(resnet, (3, 224, 224))
    assert round(macs_ratio, 1) == 0.7 and round(macs_ratio, 2) == 0.69  # "about 70%", "0.69× its multiply-adds"
    top1 = {weights: weights.meta["_metrics"]["ImageNet-1K"]["acc@1"] for weights in (
        torchvision.models.DenseNet121_Weights.IMAGENET1K_V1, torchvision.models.ResNet50_Weights.IMAGENET1K_V1)}
    dense_top1, resnet_top1 = top1.values()
    assert round(resnet_top1 - dense_top1, 1) == 1.7
    assert "1.7 points" in chapter and "0.69× its multiply-adds" in chapter


def feature_reuse(network: DenseNet) -> list[torch.Tensor]:
    """Row-normalised mean |weight| per (target, source), as the notebook's feature_reuse + plot compute it."""
    k = network.growth_rate
    blocks = [m for m in network.features.children() if isinstance(m, DenseBlock)]
    transitions = [m for m in network.features.children() if isinstance(m, Transition)]
    maps = []
    for index, block in enumerate(blocks):
        layers = list(block.values())
        k0 = layers[0].norm1.num_features
        readers = [layer.conv1.weight for layer in layers]
        readers.append(transitions[index].conv.weight if index < len(transitions) else network.classifier.weight)
        heat = torch.full((len(layers) + 1, len(layers) + 1), float("nan"))
        for target, weight in enumerate(readers):
            magnitude = weight.detach().abs().flatten(1).mean(dim=0)
            groups = [magnitude[:k0]] + [magnitude[k0 + k * s: k0 + k * (s + 1)]
                                         for s in range((magnitude.numel() - k0) // k)]
            heat[target, : len(groups)] = torch.stack([group.mean() for group in groups])
        maps.append(heat / torch.nan_to_num(heat, nan=0.0).amax(dim=1, keepdim=True))
    return maps


def test_feature_reuse_heatmap_shows_what_section_9_says(chapter: str) -> None:
    maps = feature_reuse(pretrained.load_pretrained(DENSENET))
    assert len(maps) == 3
    for index, rows in enumerate(maps, start=1):
        layers = rows.shape[0] - 1
        inside = rows[:layers]
        # "Inside all three blocks no source falls below 0.59 of its row's maximum"
        assert torch.nan_to_num(inside, nan=1.0).min() >= 0.585
        # "the block input gets the smallest weights ... for all 5 layers that have a choice, in every block"
        assert all(int(torch.nan_to_num(row, nan=2.0).argmin()) == 0 for row in inside[1:])
        last = rows[layers]
        if index < 3:  # "The transitions read the whole block": every source at least 0.65 of the maximum
            assert last.min() >= 0.65
    classifier = maps[2][-1]
    # "its weight falls from 1.00 on the last layer to 0.26 on the block input", steadily
    assert f"{classifier[-1]:.2f}" == "1.00" and f"{classifier[0]:.2f}" == "0.26"
    assert all(a < b for a, b in zip(classifier[:-1], classifier[1:]))
    for quoted in ("0.59", "1.00 on the last", "0.26 on the block input"):
        assert quoted in chapter, quoted
