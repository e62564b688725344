"""cnncourse.train (fit, evaluate, History), the baseline CNN, and the throughput benchmark's plumbing."""

from __future__ import annotations

import importlib.util
import itertools
import json
import math
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import nn

from cnncourse import data, train
from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.models import create_model, list_models, model_info
from cnncourse.models.baseline import PlainCNN

ROOT = Path(__file__).resolve().parents[1]


class TinyNet(nn.Module):
    """A model small enough that a whole fit takes a fraction of a second.

    It pools to 7×7 rather than 1×1 so it can tell where the tiny data's class band lies.
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(in_channels, 8, 3, stride=2, padding=1, bias=False),
                                      nn.BatchNorm2d(8), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(7)
        self.dropout = nn.Dropout(0.1)
        self.classifier = nn.Linear(8 * 7 * 7, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.dropout(self.pool(self.features(x)).flatten(1)))


@pytest.fixture
def tiny(tiny_fashion_mnist_env: Path) -> tuple[data.ImageDataset, data.ImageDataset]:
    return data.fashion_mnist(train=True), data.fashion_mnist(train=False)


def _fit_tiny(train_set: data.ImageDataset, val_set: data.ImageDataset | None, seed: int = 0,
              **options: object) -> tuple[nn.Module, train.History]:
    train.seed_everything(seed)
    model = TinyNet()
    settings: dict[str, object] = {"batch_size": 16, "progress": False, "fast": False, "seed": seed}
    settings.update(options)
    history = train.fit(model, train_set, 3, val_data=val_set, **settings)  # type: ignore[arg-type]
    return model, history


_TIMING_FIELDS = {"seconds", "images_per_second"}


def test_fit_records_every_epoch_and_learns_the_tiny_classes(tiny: tuple[data.ImageDataset, data.ImageDataset]) -> None:
    train_set, val_set = tiny
    model, history = _fit_tiny(train_set, val_set, optimizer="adamw", lr=0.03, augment=False)
    assert history.epochs == [1, 2, 3] and history.steps == [4, 4, 4]
    for values in (history.train_loss, history.train_accuracy, history.val_loss, history.val_accuracy,
                   history.lr, history.seconds, history.images_per_second):
        assert len(values) == 3 and all(math.isfinite(v) for v in values)
    assert len(history.lr_per_step) == 12
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_accuracy[-1] > 0.3  # ten bands on noise; chance is 0.1
    assert history.device == "cpu" and not history.fast_mode and history.world_size == 1
    assert history.config["optimizer"] == "adamw" and history.config["lr"] == 0.03
    # evaluate agrees with the last validation entry (same model, same data, eval mode)
    result = train.evaluate(model, val_set, fast=False)
    assert result["accuracy"] == pytest.approx(history.val_accuracy[-1])
    assert result["count"] == 32


def test_same_seed_same_history_different_seed_different_history(
    tiny: tuple[data.ImageDataset, data.ImageDataset],
) -> None:
    train_set, val_set = tiny
    first = _fit_tiny(train_set, val_set, seed=7)[1].to_dict()
    second = _fit_tiny(train_set, val_set, seed=7)[1].to_dict()
    other = _fit_tiny(train_set, val_set, seed=8)[1].to_dict()
    for key in first:
        if key not in _TIMING_FIELDS:
            assert first[key] == second[key], key
    assert first["train_loss"] != other["train_loss"]


def test_history_round_trips_through_json_and_rejects_other_dicts(
    tiny: tuple[data.ImageDataset, data.ImageDataset],
) -> None:
    _, history = _fit_tiny(*tiny)
    restored = train.History.from_dict(json.loads(json.dumps(history.to_dict())))
    assert restored == history
    assert "3 epochs" in repr(history) and "val accuracy" in repr(history)
    with pytest.raises(CourseError, match="unknown keys"):
        train.History.from_dict({"epochs": [1], "accuracy": [0.5]})
    with pytest.raises(CourseError, match="no 'epochs'"):
        train.History.from_dict({"train_loss": [1.0]})


def test_schedules_shape_the_learning_rate(tiny: tuple[data.ImageDataset, data.ImageDataset]) -> None:
    train_set, _ = tiny
    onecycle = _fit_tiny(train_set, None, lr=0.2)[1].lr_per_step
    peak = max(range(len(onecycle)), key=onecycle.__getitem__)
    assert onecycle[peak] == pytest.approx(0.2) and 0 < peak < len(onecycle) - 1
    assert onecycle[0] == pytest.approx(0.2 / 25) and onecycle[-1] < 0.2 / 25
    cosine = _fit_tiny(train_set, None, lr=0.2, schedule="cosine")[1].lr_per_step
    assert cosine[0] == pytest.approx(0.2) and all(a > b for a, b in itertools.pairwise(cosine))
    # cosine annealing over 12 steps: lr_t = 0.2 · (1 + cos(π t / 12)) / 2
    assert cosine[6] == pytest.approx(0.1)
    constant = _fit_tiny(train_set, None, lr=0.2, schedule="constant")[1]
    assert constant.lr_per_step == [0.2] * 12 and constant.lr == [0.2] * 3
    assert not constant.has_validation and constant.val_accuracy == []


def test_one_cycle_factor_matches_torch_one_cycle_lr() -> None:
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=1.0)
    reference = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1.0, total_steps=100, pct_start=0.25,
                                                    cycle_momentum=False)
    for step in range(100):
        assert train.one_cycle_factor(step, 100) == pytest.approx(optimizer.param_groups[0]["lr"], rel=1e-6), step
        optimizer.step()
        reference.step()
    # and it still works where OneCycleLR divides by zero
    assert [round(train.one_cycle_factor(step, 2), 6) for step in range(2)] == [0.04, 1.0]
    assert train.one_cycle_factor(0, 1) == pytest.approx(0.04)


@pytest.mark.parametrize("total_steps", range(1, 13))
def test_one_cycle_factor_is_defined_for_every_step_a_short_run_takes(total_steps: int) -> None:
    # the scheduler is stepped after every batch, so it is also evaluated at step == total_steps
    factors = [train.one_cycle_factor(step, total_steps) for step in range(total_steps + 1)]
    assert all(0 < factor <= 1 for factor in factors), factors


def test_weight_decay_skips_biases_and_norm_parameters() -> None:
    net = TinyNet()
    groups = train._parameter_groups(net, 0.01)
    decayed = {id(p) for p in groups[0]["params"]}  # type: ignore[union-attr]
    assert decayed == {id(net.features[0].weight), id(net.classifier.weight)}
    assert groups[1]["weight_decay"] == 0.0
    assert {id(p) for p in groups[1]["params"]} == {  # type: ignore[union-attr]
        id(net.features[1].weight), id(net.features[1].bias), id(net.classifier.bias)}


def test_fast_mode_shrinks_data_and_epochs_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (3000, 1, 28, 28), dtype=torch.uint8, generator=generator)
    labels = torch.randint(0, 10, (3000,), generator=generator)
    big = data.ImageDataset(data.SPECS["fashion-mnist"], images, labels, train=True)
    history = train.fit(TinyNet(), big, 5, val_data=big, batch_size=256, fast=True, progress=True)
    assert history.fast_mode and history.epochs == [1]
    assert history.config["train_images"] == train.FAST_TRAIN_IMAGES and history.steps == [4]
    assert "[fast mode]" in capsys.readouterr().err  # the tqdm bar names it
    result = train.evaluate(TinyNet(), big)  # the test conftest sets CNNCOURSE_FAST=1
    assert result["count"] == train.FAST_EVAL_IMAGES and result["fast_mode"] is True


def test_progress_false_prints_nothing(tiny: tuple[data.ImageDataset, data.ImageDataset],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    _fit_tiny(*tiny)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_evaluate_matches_a_hand_written_loop_and_builds_a_confusion_matrix(
    tiny: tuple[data.ImageDataset, data.ImageDataset],
) -> None:
    _, val_set = tiny
    train.seed_everything(1)
    model = TinyNet()
    model.train()
    result = train.evaluate(model, val_set, batch_size=5, return_predictions=True, fast=False)
    assert model.training  # restored
    model.eval()
    with torch.no_grad():
        inputs = (val_set.images.float() / 255 - 0.2860) / 0.3530
        logits = model(inputs)
    expected = logits.argmax(1)
    assert torch.equal(result["predictions"], expected)  # type: ignore[arg-type]
    assert torch.equal(result["labels"], val_set.labels)  # type: ignore[arg-type]
    assert result["accuracy"] == pytest.approx(float((expected == val_set.labels).float().mean()))
    assert result["loss"] == pytest.approx(float(nn.functional.cross_entropy(logits, val_set.labels)), rel=1e-5)
    matrix = train.confusion_matrix(val_set.labels, expected, 10)
    for true_class in range(10):
        for predicted_class in range(10):
            count = sum(1 for t, p in zip(val_set.labels.tolist(), expected.tolist())
                        if (t, p) == (true_class, predicted_class))
            assert int(matrix[true_class, predicted_class]) == count
    with pytest.raises(CourseError, match="0..9"):
        train.confusion_matrix(torch.tensor([0, 10]), torch.tensor([0, 1]), 10)
    with pytest.raises(CourseError, match="same length"):
        train.confusion_matrix(torch.tensor([0, 1]), torch.tensor([0]), 10)


@pytest.mark.parametrize(
    ("options", "error", "message"),
    [
        ({"epochs": 0}, CourseError, "epochs must be a whole number >= 1"),
        ({"epochs": 1.5}, CourseError, "epochs"),
        ({"optimizer": "adam"}, UnknownNameError, "adamw"),
        ({"schedule": "cosine_annealing"}, UnknownNameError, "cosine"),
        ({"lr": -0.1}, CourseError, "lr must be a positive number"),
        ({"batch_size": 0}, CourseError, "batch_size"),
        ({"label_smoothing": 1.0}, CourseError, "label_smoothing"),
        ({"momentum": 1.0}, CourseError, "momentum"),
        ({"amp": "fp16"}, CourseError, "needs a CUDA device"),
        ({"amp": "int8"}, UnknownNameError, "amp setting"),
        ({"device": "gpu"}, CourseError, "not a device name"),
    ],
)
def test_bad_fit_arguments_are_explained(tiny: tuple[data.ImageDataset, data.ImageDataset],
                                         options: dict[str, object], error: type[Exception], message: str) -> None:
    arguments: dict[str, object] = {"epochs": 1, "progress": False, "device": "cpu"}
    arguments.update(options)
    epochs = arguments.pop("epochs")
    with pytest.raises(error, match=message):
        train.fit(TinyNet(), tiny[0], epochs, **arguments)  # type: ignore[arg-type]


def test_model_and_data_mismatches_are_explained(tiny: tuple[data.ImageDataset, data.ImageDataset]) -> None:
    train_set, _ = tiny
    with pytest.raises(CourseError, match="in_channels=1"):
        train.fit(TinyNet(in_channels=3), train_set, 1, progress=False)
    with pytest.raises(CourseError, match="num_classes=10"):
        train.fit(TinyNet(num_classes=5), train_set, 1, progress=False)
    with pytest.raises(CourseError, match="ImageDataset"):
        train.fit(TinyNet(), train_set.images, 1)  # type: ignore[arg-type]


def test_cpu_default_is_channels_last_and_the_model_ends_up_in_it(tiny: tuple[data.ImageDataset, data.ImageDataset]) -> None:
    assert train.default_channels_last(torch.device("cpu"))
    assert not train.default_channels_last(torch.device("mps"))
    model, history = _fit_tiny(*tiny)
    assert history.config["channels_last"] is True
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)


def test_cpu_bfloat16_autocast_is_opt_in_and_needs_hardware(
    tiny: tuple[data.ImageDataset, data.ImageDataset], monkeypatch: pytest.MonkeyPatch,
) -> None:
    train_set, val_set = tiny
    assert _fit_tiny(train_set, None)[1].config["amp"] is None  # off by default on the CPU
    monkeypatch.setattr(train, "cpu_has_native_bfloat16", lambda: True)
    _, history = _fit_tiny(train_set, val_set, amp="bf16")
    assert history.config["amp"] == "bfloat16" and all(math.isfinite(v) for v in history.train_loss)
    monkeypatch.setattr(train, "cpu_has_native_bfloat16", lambda: False)
    with pytest.raises(CourseError, match="bfloat16 in hardware"):
        _fit_tiny(train_set, None, amp="bf16")


def test_label_smoothing_changes_the_training_loss(tiny: tuple[data.ImageDataset, data.ImageDataset]) -> None:
    train_set, _ = tiny
    plain = _fit_tiny(train_set, None, label_smoothing=0.0)[1]
    smoothed = _fit_tiny(train_set, None, label_smoothing=0.5)[1]
    assert smoothed.config["label_smoothing"] == 0.5
    # The first step sees identical weights and data: smoothing only changes the target distribution,
    # so the loss differs from the plain one already in epoch 1.
    assert smoothed.train_loss[0] != pytest.approx(plain.train_loss[0])


def test_parameter_checksum_sees_any_change() -> None:
    train.seed_everything(0)
    model = TinyNet()
    before = train.parameter_checksum(model)
    assert train.parameter_checksum(model) == before
    with torch.no_grad():
        model.classifier.weight[3, 2] += 1e-3
    assert train.parameter_checksum(model) != before


def test_pick_device_defaults_and_errors() -> None:
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert train.pick_device() == torch.device("cpu")
        with pytest.raises(CourseError, match="no CUDA GPU"):
            train.pick_device("cuda")
    assert train.pick_device("cpu") == torch.device("cpu")


# --------------------------------------------------------------------------------------------------
# The chapter-00 baseline
# --------------------------------------------------------------------------------------------------


def test_plain_cnn_is_registered_and_has_the_counted_parameters() -> None:
    info = model_info("plain_cnn")
    assert info.family == "baseline" and info.input_size == (1, 28, 28)
    assert "plain_cnn" in list_models(family="baseline")
    model = create_model("plain_cnn", num_classes=10, in_channels=1)
    # conv 3×3 1→32 + BN(32); conv 3×3 32→64 + BN(64); FC 64·7·7→128; FC 128→10
    expected = (9 * 1 * 32 + 2 * 32) + (9 * 32 * 64 + 2 * 64) + (64 * 7 * 7 * 128 + 128) + (128 * 10 + 10)
    assert sum(p.numel() for p in model.parameters()) == expected == 421_738
    assert all(not (isinstance(m, nn.Conv2d) and m.bias is not None) for m in model.modules())


def test_plain_cnn_follows_the_model_interface() -> None:
    train.seed_everything(0)
    model = create_model("plain_cnn", num_classes=10, in_channels=1).eval()
    x = torch.randn(3, 1, 28, 28)
    features = model.forward_features(x)
    assert features.shape == (3, 64, 7, 7)
    assert torch.equal(model.forward_head(features), model(x))
    assert model.num_features == 64 == features.shape[1]
    assert model.hidden_features == 128 == model.classifier.in_features
    model.reset_classifier(4)
    assert model(x).shape == (3, 4)
    cifar = create_model("plain_cnn", num_classes=100, in_channels=3, image_size=32)
    assert isinstance(cifar, PlainCNN) and cifar(torch.randn(2, 3, 32, 32)).shape == (2, 100)
    with pytest.raises(CourseError, match="multiple of 4"):
        create_model("plain_cnn", image_size=30)
    with pytest.raises(TypeError):
        model_info("plain_cnn").builder(10)  # keyword-only


def test_plain_cnn_trains_on_the_tiny_data(tiny: tuple[data.ImageDataset, data.ImageDataset]) -> None:
    train_set, val_set = tiny
    train.seed_everything(0)
    model = create_model("plain_cnn")
    history = train.fit(model, train_set, 2, val_data=val_set, batch_size=32, optimizer="adamw", augment=False,
                        progress=False, fast=False)
    assert history.train_loss[1] < history.train_loss[0]


# --------------------------------------------------------------------------------------------------
# The benchmark scripts run (their ratios are measured by hand, see the README)
# --------------------------------------------------------------------------------------------------


def load_benchmark(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_throughput_benchmark_runs_a_few_steps(capsys: pytest.CaptureFixture[str]) -> None:
    benchmark = load_benchmark("train_throughput")
    assert benchmark.main(["--model", "plain_cnn", "--steps", "2", "--warmup", "1", "--repeats", "1", "--batch-size", "16",
                           "--variants"]) == 0
    output = capsys.readouterr().out
    assert "textbook loop" in output and "data pipeline alone" in output
    ratio_line = next(line for line in output.splitlines() if line.startswith("ratio"))
    assert float(ratio_line.split(":")[1].strip().rstrip("x")) > 0
    with pytest.raises(SystemExit, match="Unknown model"):
        benchmark.main(["--model", "plain_cn"])


def test_step_profile_groups_operators_and_prints_the_convolution_ceiling(capsys: pytest.CaptureFixture[str]) -> None:
    profiler = load_benchmark("train_step_profile")
    assert profiler.group_of("aten::convolution_backward") == "convolution"
    assert profiler.group_of("aten::mkldnn_convolution") == "convolution"
    assert profiler.group_of("aten::native_batch_norm_backward") == "batchnorm"
    assert profiler.group_of("aten::threshold_backward") == "relu"
    assert profiler.group_of("aten::add_") == "add"
    assert profiler.group_of("aten::addmm") == "other"  # the classifier is not a residual addition
    assert profiler.main(["--model", "plain_cnn", "--steps", "1", "--batch-size", "8"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith(("textbook", "course"))]
    assert rows and rows[0].startswith("textbook")
    for row in rows:
        shares = [float(cell.rstrip("%")) for cell in row.split() if cell.endswith("%")]
        assert len(shares) == 6 and abs(sum(shares) - 100) <= 3, row  # rounded shares of the whole step
        speed_up, ceiling = (float(cell.rstrip("x")) for cell in row.split()[-2:])
        assert ceiling > speed_up > 0  # convolutions alone take less time than the whole step
    with pytest.raises(SystemExit, match="Unknown model"):
        profiler.main(["--model", "plain_cn"])


def test_time_to_accuracy_benchmark_prints_both_recipes_and_the_ratio(
        tiny_fashion_mnist_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    benchmark = load_benchmark("time_to_accuracy")
    assert benchmark.main(["--model", "plain_cnn", "--epochs", "1", "--baseline-epochs", "2", "--seeds", "0", "1",
                           "--no-progress", "--target", "0.0"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("textbook   2 epochs") == 2 and printed.count("fast       1 epochs") == 2
    assert "time to 0.00% test accuracy:" in printed
    assert "textbook  epoch 1" in printed and "fast      epoch 1" in printed
    assert "ratio textbook / fast:" in printed and "1.00× the epochs" in printed
    # A target nobody reaches: no ratio is made up.
    assert benchmark.main(["--model", "plain_cnn", "--epochs", "1", "--baseline-epochs", "1", "--no-progress",
                           "--target", "1.01"]) == 0
    assert "ratio: not defined" in capsys.readouterr().out


def test_first_epoch_reaching_counts_wall_time_up_to_that_epoch() -> None:
    benchmark = load_benchmark("time_to_accuracy")
    history = train.History(epochs=[1, 2, 3], val_accuracy=[0.5, 0.9, 0.95], seconds=[10.0, 20.0, 30.0])
    assert benchmark.first_epoch_reaching(history, 0.9) == (2, 30.0)
    assert benchmark.first_epoch_reaching(history, 0.99) is None


def test_recipe_levers_benchmark_reads_two_levers_off_the_fast_run(
        tiny_fashion_mnist_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    benchmark = load_benchmark("recipe_levers")
    assert benchmark.main(["--model", "plain_cnn", "--epochs", "1", "--no-progress",
                           "--only", "fast", "without label smoothing"]) == 0
    printed = capsys.readouterr().out
    table = printed[printed.index("variant"):]
    for row in ("fast ", "without the weight average", "without flip TTA", "without label smoothing"):
        assert row in table
    assert "(same run)" in table and "+0.00" in table  # the fast row against itself
