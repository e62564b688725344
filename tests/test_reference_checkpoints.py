"""The reference checkpoints shipped in ``cnncourse/checkpoints/`` say what the chapters claim they say.

Chapter 01 reads two things from them: the trained ResNet-20 (its accuracy, confusion matrix and mistakes)
and four equal-budget runs of plain/residual networks at 20 and 56 layers (the degradation curves).
Chapter 02 reads the trained WRN-16-2 and compares ResNet-20 with WRN-10-2 (equal size) and WRN-16-2, all
trained with one recipe. These tests re-measure the accuracies on the real test set and check that the runs
show what the prose describes, so a re-trained checkpoint that no longer does fails here rather than in a
learner's notebook.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cnncourse import data, pretrained
from cnncourse.references import MANIFEST, entry_status
from cnncourse.train import evaluate

SHIPPED = Path(pretrained.__file__).resolve().parent / "checkpoints"
CHAPTER_02 = Path(__file__).resolve().parents[1] / "notebooks" / "02_wide_resnet.py"
REAL_DATA = Path("/usr/share/datasets/fashion-mnist")

#: Every shipped reference checkpoint of the manifest -> its target (None: kept for its curves or a comparison).
SHIPPED_REFERENCES = {entry.name: entry.target for entry in MANIFEST if (SHIPPED / f"{entry.name}.safetensors").exists()}
#: name -> least test accuracy on all 10,000 Fashion-MNIST test images (the targets of the chapter issues).
ACCURACY_TARGETS = {name: target for name, target in SHIPPED_REFERENCES.items() if target is not None}
#: Shipped checkpoints that miss their target, with the accuracy they recorded: each is shipped as measured, its
#: chapter and cnncourse/checkpoints/README.md say by how much it misses, and `references` marks it ✗. A retrained
#: checkpoint must meet the target or be entered here with its new figure.
RECORDED_MISSES = {
    "mobilenet_v3_small_cifar_fashion_mnist_10ep": 0.9358,
    "aecnn_searched_fashion_mnist_10ep": 0.9139,
}
#: Chapter 02's three networks, said to share chapter 01's ResNet-20 recipe and epochs.
CHAPTER_02_REFERENCES = ["resnet20_fashion_mnist", "wrn_10_2_fashion_mnist", "wrn_16_2_fashion_mnist"]
DEGRADATION_RUNS = {name: f"{name}_fashion_mnist_4ep" for name in ("plain20", "plain56", "resnet20", "resnet56")}


def shipped_metadata(name: str) -> dict:
    path = SHIPPED / f"{name}.safetensors"
    assert path.is_file(), f"reference checkpoint {name} is not shipped in {SHIPPED}"
    return pretrained.verify_checkpoint(path)


def final_training_error(metadata: dict) -> float:
    return 1 - metadata["history"]["train_accuracy"][-1]


def test_the_chapters_targets_are_met_by_shipped_checkpoints() -> None:
    assert {"resnet20_fashion_mnist", "wrn_16_2_fashion_mnist"} <= set(ACCURACY_TARGETS)


@pytest.mark.parametrize("name", sorted(SHIPPED_REFERENCES))
def test_reference_checkpoint_meets_its_target_and_records_its_run(name: str) -> None:
    metadata = shipped_metadata(name)
    history = metadata["history"]
    assert metadata["dataset"] == "fashion-mnist" and not history["fast_mode"]
    if name in RECORDED_MISSES:
        assert metadata["test_accuracy"] == RECORDED_MISSES[name] < SHIPPED_REFERENCES[name], (
            f"{name} recorded {metadata['test_accuracy']:.2%}: update RECORDED_MISSES and the prose that quotes it, "
            "or drop the entry if it now meets its target")
        readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
        assert f"{RECORDED_MISSES[name]:.2%}, short of" in readme.replace("\n", " ")
    else:
        assert metadata["test_accuracy"] >= (SHIPPED_REFERENCES[name] or 0.0)
    assert len(history["epochs"]) == metadata["epochs"] == len(history["val_accuracy"])
    assert history["config"]["train_images"] == 60_000  # the full training set, not a subset
    # The device is described (hardware, threads), not just "cpu", and the command can be re-run.
    assert metadata["device"].startswith(("cpu: ", "cuda: ")), metadata["device"]
    assert metadata["command"].startswith("python -m cnncourse train ")
    assert f"--model {metadata['architecture']} " in metadata["command"] + " "
    # ... and it is the manifest's recipe and budget: not stale, sha256 verified.
    status = entry_status(next(entry for entry in MANIFEST if entry.name == name), SHIPPED)
    assert status.state == "present", status.detail
    assert metadata["wall_time_s"] >= sum(history["seconds"]) * 0.99


@pytest.mark.parametrize("name", sorted(SHIPPED_REFERENCES))
def test_reference_accuracy_is_reproduced_on_the_real_test_set(name: str) -> None:
    """Re-evaluate in float32 on all 10,000 test images: the recorded figure must not be a stale number."""
    assert (REAL_DATA / "t10k-images-idx3-ubyte.gz").is_file(), (
        "this test needs the real data: sudo apt-get install dataset-fashion-mnist")
    test_set = data.fashion_mnist(train=False, root=REAL_DATA, download=False)
    model = pretrained.load_pretrained(name, device="cpu")
    # Measured as the run measured it: with flip test-time augmentation where its recipe used it.
    flip_tta = bool(model.checkpoint_metadata["history"]["config"].get("flip_tta", False))
    measured = evaluate(model, test_set, amp=False, fast=False, flip_tta=flip_tta)
    assert measured["count"] == 10_000
    # The run evaluated under bf16 autocast; float32 may flip a handful of borderline images.
    assert abs(measured["accuracy"] - model.checkpoint_metadata["test_accuracy"]) <= 0.002


def test_degradation_runs_share_one_recipe_and_show_the_degradation_problem() -> None:
    runs = {name: shipped_metadata(checkpoint) for name, checkpoint in DEGRADATION_RUNS.items()}
    configs = []
    for name, metadata in runs.items():
        assert metadata["architecture"] == name
        config = dict(metadata["history"]["config"])
        configs.append(config)
        assert config["train_images"] == 60_000 and not metadata["history"]["fast_mode"]
    assert all(config == configs[0] for config in configs), "the four runs must differ only in the network"
    assert len({metadata["epochs"] for metadata in runs.values()}) == 1
    error = {name: final_training_error(metadata) for name, metadata in runs.items()}
    # What chapter 01 says the curves show: the deeper plain network has the higher *training* error,
    # and with shortcuts going deeper costs less than without them.
    assert error["plain56"] > error["plain20"]
    assert error["resnet56"] - error["resnet20"] < error["plain56"] - error["plain20"]
    assert error["resnet56"] < error["plain56"]


def test_chapter_02_references_share_one_recipe() -> None:
    """Chapter 02 says its three reference networks were trained exactly like chapter 01's ResNet-20."""
    runs = {name: shipped_metadata(name) for name in CHAPTER_02_REFERENCES}
    recipe = runs["resnet20_fashion_mnist"]["history"]["config"]
    for name, metadata in runs.items():
        config = metadata["history"]["config"]
        differing = sorted(key for key in recipe.keys() | config.keys() if recipe.get(key) != config.get(key))
        assert not differing, f"{name}'s recipe differs from ResNet-20's in {differing}"


def test_deep_thin_and_wide_shallow_references_are_an_equal_comparison() -> None:
    """Chapter 02 compares ResNet-20 and WRN-10-2 as "same size, same recipe"; keep it true."""
    thin, wide = shipped_metadata("resnet20_fashion_mnist"), shipped_metadata("wrn_10_2_fashion_mnist")
    assert abs(wide["params"] / thin["params"] - 1) < 0.15 and abs(wide["macs"] / thin["macs"] - 1) < 0.15
    # The chapter says the deep, thin network came out ahead on Fashion-MNIST at this size.
    assert thin["test_accuracy"] > wide["test_accuracy"]


def test_wider_and_deeper_wrn_draws_level_with_resnet20_at_a_higher_cost() -> None:
    """Chapter 02's second paragraph on the comparison: WRN-16-2 closes the gap, level with ResNet-20."""
    thin, shallow, wide = (shipped_metadata(name) for name in CHAPTER_02_REFERENCES)
    assert wide["architecture"] == "wrn_16_2" and shallow["architecture"] == "wrn_10_2"
    # "level with ResNet-20 (three test images more)"
    assert round((wide["test_accuracy"] - thin["test_accuracy"]) * 10_000) == 3
    # "2.3× WRN-10-2's parameters and multiply-adds", "2.6× ResNet-20's parameters and 2.5× its arithmetic"
    assert round(wide["params"] / shallow["params"], 1) == round(wide["macs"] / shallow["macs"], 1) == 2.3
    assert (round(wide["params"] / thin["params"], 1), round(wide["macs"] / thin["macs"], 1)) == (2.6, 2.5)
    # "on the same two CPU threads WRN-16-2 also trained for 68 minutes where WRN-10-2 took 41"
    assert wide["device"] == shallow["device"] and "2 threads" in wide["device"]
    assert (round(wide["wall_time_s"] / 60), round(shallow["wall_time_s"] / 60)) == (68, 41)


def test_chapter_02_prose_quotes_the_shipped_accuracies() -> None:
    """The prose and cheat-sheet quote the three test accuracies; a re-trained checkpoint must update them."""
    chapter = CHAPTER_02.read_text(encoding="utf-8")
    for name in CHAPTER_02_REFERENCES:
        quoted = f"{shipped_metadata(name)['test_accuracy']:.2%}"
        assert quoted in chapter, f"{CHAPTER_02.name} does not quote {name}'s recorded {quoted}"


def test_every_shipped_checkpoint_is_named_in_the_folder_readme() -> None:
    readme = (SHIPPED / "README.md").read_text(encoding="utf-8")
    shipped = sorted(path.stem for path in SHIPPED.glob("*.safetensors"))
    assert shipped, "no reference checkpoint is shipped"
    for name in shipped:
        assert f"`{name}`" in readme, f"{name} is shipped but not described in {SHIPPED / 'README.md'}"
