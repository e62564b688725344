"""cnncourse.scaling: chapter 09's scaling experiment (plan, networks, data, training, shipped results)."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from cnncourse import scaling
from cnncourse.data import SPECS, ImageDataset
from cnncourse.errors import CourseError
from cnncourse.models.efficientnet import (
    ALPHA_DEPTH,
    BETA_WIDTH,
    GAMMA_RESOLUTION,
    EfficientNet,
    ScalingCoefficients,
    efficientnet_b0,
)
from cnncourse.profile import count_parameters

RESULTS = Path(scaling.__file__).parent / "checkpoints" / "scaling"
BASELINE_MACS = 1_993_136
KEYS = ("name", "method", "target", "width", "depth", "resolution", "phi")


def plan_rows() -> list[dict]:
    return json.loads((RESULTS / "plan.json").read_text())


def config_of(row: dict) -> scaling.ScalingConfig:
    return scaling.ScalingConfig(**{key: row[key] for key in KEYS})


def test_baseline_network() -> None:
    description = scaling.describe(scaling.baseline())
    assert description["parameters"] == 116_866 and description["macs"] == BASELINE_MACS
    assert description["stage_blocks"] == [1, 2, 2, 1] and description["stage_channels"] == [16, 24, 40, 64]
    model = scaling.build(scaling.baseline())
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert model.features[0][0].stride == (2, 2) and model.num_features == 256


def test_channel_divisor_is_an_extension_that_leaves_efficientnet_unchanged() -> None:
    with torch.device("meta"):
        assert count_parameters(efficientnet_b0()) == 5_288_548
    with pytest.raises(CourseError, match="channel_divisor"):
        EfficientNet(coefficients=ScalingCoefficients(1.0, 1.0, 224, 0.2), channel_divisor=0)
    # divisor 4 gives finer widths: 16 · 1.42 = 22.7 → 24 with 4 and 8 alike, but 24 · 1.42 = 34.1 → 36 with 4, 32 with 8
    coarse = EfficientNet(coefficients=ScalingCoefficients(1.42, 1.0, 28, 0.0), table=scaling.BASELINE_TABLE,
                          channel_divisor=8)
    fine = scaling.build(scaling.ScalingConfig("w", "width", 2.0, 1.42, 1.0, 28))
    assert coarse.features[2][-1].out_channels == 32 and fine.features[2][-1].out_channels == 36


def test_the_shipped_plan_is_what_the_module_builds() -> None:
    rows = plan_rows()
    assert [row["name"] for row in rows] == ["baseline"] + [
        f"{method}_{target:g}x" for method in scaling.METHODS for target in scaling.TARGETS]
    for row in rows:
        assert scaling.describe(config_of(row)) == row


def test_each_plan_multiplier_is_the_closest_on_its_grid() -> None:
    """Neighbours on the search grid do not come closer to 2× / 4× the baseline's multiply-adds."""
    rows = plan_rows()
    base = rows[0]["macs"]

    def distance(width: float, depth: float, resolution: int, target: float) -> float:
        return abs(math.log(scaling.macs_of(width, depth, resolution) / (target * base)))

    for row in rows[1:]:
        here = abs(math.log(row["macs"] / (row["target"] * base)))
        if row["method"] == "compound":
            neighbours = [row["phi"] - 0.025, row["phi"] + 0.025]
            points = [(BETA_WIDTH**p, ALPHA_DEPTH**p, round(28 * GAMMA_RESOLUTION**p)) for p in neighbours]
            assert row["width"] == pytest.approx(BETA_WIDTH ** row["phi"])
            assert row["depth"] == pytest.approx(ALPHA_DEPTH ** row["phi"])
        elif row["method"] == "width":
            points = [(row["width"] + step, 1.0, 28) for step in (-0.01, 0.01)]
        elif row["method"] == "depth":
            points = [(1.0, row["depth"] + step, 28) for step in (-0.05, 0.05)]
        else:
            points = [(1.0, 1.0, row["resolution"] + step) for step in (-1, 1)]
        for point in points:
            assert distance(*point, row["target"]) >= here - 1e-12, (row["name"], point)
        assert 0.8 < row["macs"] / (row["target"] * base) < 1.2


def test_upsample_keeps_labels_and_type() -> None:
    images = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    data = ImageDataset(SPECS["fashion-mnist"], images, torch.tensor([0, 1, 2]), train=True)
    assert scaling.upsample(data, 28) is data
    bigger = scaling.upsample(data, 40)
    assert bigger.images.shape == (3, 1, 40, 40) and bigger.images.dtype == torch.uint8
    assert torch.equal(bigger.labels, data.labels)
    constant = ImageDataset(SPECS["fashion-mnist"], torch.full((1, 1, 28, 28), 77, dtype=torch.uint8),
                            torch.tensor([0]), train=True)
    assert (scaling.upsample(constant, 57).images == 77).all()


def test_interleaved_latency() -> None:
    models = {"a": (torch.nn.Linear(4, 4), torch.zeros(1, 4)), "b": (torch.nn.Identity(), torch.zeros(1, 4))}
    times = scaling.interleaved_latency_ms(models, rounds=3)
    assert set(times) == {"a", "b"} and all(value >= 0 for value in times.values())
    with pytest.raises(CourseError):
        scaling.interleaved_latency_ms(models, rounds=0)


def test_main_guard_is_the_last_statement() -> None:
    """Under ``python -m cnncourse.scaling`` the module exits at the guard: nothing public may come after it."""
    import ast

    body = ast.parse(Path(scaling.__file__).read_text(encoding="utf-8")).body
    guards = [i for i, node in enumerate(body) if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)]
    assert guards == [len(body) - 1], "the `if __name__ == \"__main__\":` guard must end cnncourse/scaling.py"


def test_train_one_is_repeatable() -> None:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (96, 1, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (96,), generator=generator)
    data = ImageDataset(SPECS["fashion-mnist"], images, labels, train=True)
    recipe = scaling.Recipe(train_images=64, test_images=32, epochs=1, batch_size=32)
    config = scaling.ScalingConfig("r", "resolution", 2.0, 1.0, 1.0, 31)
    first = scaling.train_one(config, data, data, recipe, seed=0)
    second = scaling.train_one(config, data, data, recipe, seed=0)
    assert first["history"]["train_loss"] == second["history"]["train_loss"]
    assert first["config"]["resolution"] == 31 and first["recipe"] == asdict(recipe)


def test_shipped_results_are_the_plan_trained_with_one_recipe_within_the_budget() -> None:
    records = scaling.load_results(RESULTS)
    rows = {row["name"]: row for row in plan_rows()}
    assert {(r["config"]["name"], r["seed"]) for r in records} == {
        (name, seed) for name in rows for seed in scaling.SEEDS}
    for record in records:
        assert record["config"] == rows[record["config"]["name"]]
        assert record["recipe"] == asdict(scaling.REFERENCE_RUN)
        assert record["threads"] == 1
        history = record["history"]
        assert len(history["epochs"]) == scaling.REFERENCE_RUN.epochs and not history["fast_mode"]
        assert record["test_accuracy"] == history["val_accuracy"][-1]
    assert sum(r["cpu_seconds"] for r in records) <= 30 * 60  # "at most 30 minutes of one thread"
