"""cnncourse.profile: parameters, MACs, latency, memory, summary and comparison tables.

Expected numbers come from hand calculation in the test, from torchvision's published parameter counts
(REFERENCE_FIGURES.md) or from the papers' multiply-add figures, never from the code under test.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor, nn

import pytest
from cnncourse import profile
from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.models import _registry


def tiny_cnn(in_channels: int = 1) -> nn.Sequential:
    """conv(in→4, 3×3, bias) → BN → ReLU → pool → flatten → linear(4→3)."""
    return nn.Sequential(
        nn.Conv2d(in_channels, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(4, 3),
    )


# --- parameters ----------------------------------------------------------------------------------


def test_count_parameters_by_hand() -> None:
    # conv 4·1·9 + 4 bias = 40, BN 2·4 = 8 (running stats are buffers), linear 4·3 + 3 = 15
    assert profile.count_parameters(tiny_cnn()) == 40 + 8 + 15


def test_count_parameters_trainable_only_and_shared() -> None:
    model = tiny_cnn()
    model[0].requires_grad_(False)
    assert profile.count_parameters(model, trainable_only=True) == 8 + 15
    shared = nn.Linear(5, 5)
    tied = nn.Sequential(shared, nn.ReLU(), shared)  # the same layer twice: its 30 parameters count once
    assert profile.count_parameters(tied) == 30


@pytest.mark.parametrize(
    ("name", "expected"), [("resnet18", 11_689_512), ("mobilenet_v2", 3_504_872)]
)  # REFERENCE_FIGURES.md, torchvision's documented counts
def test_count_parameters_matches_torchvision_documentation(name: str, expected: int) -> None:
    assert profile.count_parameters(torchvision.models.get_model(name)) == expected


# --- MACs ----------------------------------------------------------------------------------------


def test_count_macs_of_a_strided_convolution_by_hand() -> None:
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    # 16×16 input, stride 2 → 8×8 output; each of 8·8·8 outputs takes 3·3·3 multiply-adds (bias: free)
    assert profile.count_macs(conv, (3, 16, 16)) == 8 * 8 * 8 * 27


def test_count_macs_counts_grouped_convolutions_per_group() -> None:
    depthwise = nn.Conv2d(32, 32, 3, padding=1, groups=32, bias=False)
    assert profile.count_macs(depthwise, (32, 10, 10)) == 10 * 10 * 32 * 9


def test_count_macs_ignores_norm_activation_pooling_and_counts_per_image() -> None:
    model = tiny_cnn()
    expected = 28 * 28 * 4 * 9 + 4 * 3  # conv + linear; BN, ReLU, pooling are not multiply-adds
    assert profile.count_macs(model, (1, 28, 28)) == expected
    batch = torch.randn(5, 1, 28, 28)
    assert profile.count_macs(model, batch) == expected  # an example batch: still one image
    assert profile.count_macs(model, batch[0]) == expected  # a single (C, H, W) image


def test_count_macs_matches_the_papers_mult_adds() -> None:
    """Howard et al., 2019, Table 3: MobileNetV3-Small 56M mult-adds. (MobileNet v2 and EfficientNet-B0
    are checked against their papers in test_block_formulas.py, through the formulas.)"""
    macs = profile.count_macs(torchvision.models.mobilenet_v3_small(), (3, 224, 224))
    assert abs(macs - 56e6) / 56e6 < 0.02


def test_measurements_restore_each_submodules_mode_and_leave_bn_statistics_alone() -> None:
    model = tiny_cnn()
    model.train()
    model[1].eval()  # a deliberately frozen BatchNorm inside a training model
    before = model[1].running_mean.clone(), model[1].num_batches_tracked.clone()
    profile.count_macs(model, (1, 8, 8))
    profile.summary(model, (1, 8, 8))
    profile.measure_latency(model, (1, 8, 8), warmup=0, repeats=1)
    profile.peak_memory(model, (1, 8, 8))
    assert model.training and not model[1].training and model[0].training
    assert torch.equal(model[1].running_mean, before[0])
    assert torch.equal(model[1].num_batches_tracked, before[1])


# --- bad input -----------------------------------------------------------------------------------


def test_wrong_input_channels_say_what_the_model_expects() -> None:
    with pytest.raises(CourseError) as caught:
        profile.count_macs(torchvision.models.resnet18(), (1, 28, 28))
    message = str(caught.value)
    assert "expects images with 3 channel" in message
    assert "'conv1'" in message
    assert "input_size=(3, H, W)" in message
    assert "in_channels=1" in message


def test_input_too_small_names_the_failing_layer() -> None:
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 5))  # 4×4 → 2×2: a 5×5 kernel cannot fit
    with pytest.raises(CourseError, match=r"could not run on an input of size \(1, 4, 4\) at layer '1'"):
        profile.count_macs(model, (1, 4, 4))


@pytest.mark.parametrize("bad", [(28, 28), (1, 1, 28, 28), (1, 0, 28), (1.0, 28, 28), "1x28x28"])
def test_malformed_input_size_explains_the_format(bad: object) -> None:
    with pytest.raises(CourseError, match=r"\(channels, height, width\)"):
        profile.count_macs(tiny_cnn(), bad)  # type: ignore[arg-type]


def test_bad_batch_size_and_device() -> None:
    with pytest.raises(CourseError, match="batch_size must be a positive integer"):
        profile.measure_latency(tiny_cnn(), (1, 8, 8), batch_size=0)
    with pytest.raises(CourseError, match="repeats must be an integer"):
        profile.measure_latency(tiny_cnn(), (1, 8, 8), repeats=0)
    with pytest.raises(CourseError, match="Unknown device 'gpu'"):
        profile.measure_latency(tiny_cnn(), (1, 8, 8), device="gpu")


def test_cuda_requested_without_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(CourseError, match="no CUDA GPU is available here: use device='cpu'"):
        profile.peak_memory(tiny_cnn(), (1, 8, 8), device="cuda")


# --- latency and memory --------------------------------------------------------------------------


def test_measure_latency_reports_ordered_percentiles() -> None:
    result = profile.measure_latency(tiny_cnn(), (1, 28, 28), batch_size=4, warmup=1, repeats=7)
    assert 0 < result.p10_ms <= result.median_ms <= result.p90_ms
    assert (result.batch_size, result.repeats, result.warmup) == (4, 7, 1)
    assert result.device.startswith("cpu: ") and "core" in result.device
    assert result.threads == torch.get_num_threads()
    assert result.images_per_second == pytest.approx(4000 / result.median_ms)
    assert "ms median" in str(result)


def test_peak_memory_counts_saved_activations_by_hand() -> None:
    conv = nn.Conv2d(1, 8, 3, padding=1, bias=False)
    result = profile.peak_memory(conv, (1, 16, 16), batch_size=2)
    # float32: autograd keeps the input (2·1·16·16·4 B) for the weight gradient; output 2·8·16·16·4 B
    assert result.activation_bytes == 2 * 16 * 16 * 4 + 2 * 8 * 16 * 16 * 4
    assert result.parameter_bytes == 8 * 9 * 4
    assert result.peak_bytes == result.activation_bytes + result.parameter_bytes
    assert result.method.startswith("estimate")
    assert "MiB" in str(result)


def test_peak_memory_grows_with_batch_size() -> None:
    model = tiny_cnn()
    one = profile.peak_memory(model, (1, 28, 28), batch_size=1)
    four = profile.peak_memory(model, (1, 28, 28), batch_size=4)
    assert four.parameter_bytes == one.parameter_bytes
    assert four.activation_bytes > 3 * one.activation_bytes


# --- summary -------------------------------------------------------------------------------------


class FunctionalHead(nn.Module):
    """A model whose classifier is a functional call in forward, outside every child module."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 6, 3, padding=1, bias=False), nn.ReLU())
        self.head_weight = nn.Parameter(torch.zeros(10, 6))

    def forward(self, x: Tensor) -> Tensor:
        pooled = self.features(x).mean(dim=(2, 3))
        return F.linear(pooled, self.head_weight)


def test_summary_of_resnet18_rows_add_up() -> None:
    result = profile.summary(torchvision.models.resnet18(), (3, 224, 224))
    names = [row.name for row in result.rows]
    assert names == ["conv1", "bn1", "relu", "maxpool", *(f"layer{i}" for i in range(1, 5)), "avgpool", "fc"]
    shapes = {row.name: row.output_shape for row in result.rows}
    assert shapes["conv1"] == (64, 112, 112) and shapes["layer4"] == (512, 7, 7) and shapes["fc"] == (1000,)
    assert result.total_params == 11_689_512
    assert sum(row.params for row in result.rows) == result.total_params
    assert sum(row.macs for row in result.rows) == result.total_macs
    rows = {row.name: row for row in result.rows}
    assert rows["conv1"].macs == 112 * 112 * 64 * 3 * 49  # the 7×7/2 stem, by hand
    assert rows["fc"].macs == 512 * 1000
    assert rows["bn1"].macs == 0
    text = str(result)
    assert "layer4" in text and "512×7×7" in text and "11,689,512" in text
    page = result._repr_html_()
    assert page.startswith("<table>") and "<td" in page and "layer4" in page


def test_summary_shows_functional_work_and_deeper_rows() -> None:
    model = FunctionalHead()
    result = profile.summary(model, (1, 5, 5))
    assert [row.name for row in result.rows] == ["features"]
    assert result.rows[0].macs == 5 * 5 * 6 * 9
    assert result.unattributed_macs == 6 * 10  # the F.linear in forward
    assert "(forward)" in str(result)
    deeper = profile.summary(model, (1, 5, 5), depth=2)
    assert [row.name for row in deeper.rows] == ["features.0", "features.1"]
    assert deeper.total_params == 54 + 60
    with pytest.raises(CourseError, match="depth must be a positive integer"):
        profile.summary(model, (1, 5, 5), depth=0)


class Cells(nn.Module):
    """Like NASNet: the forward loops over a ModuleList, which is never called itself."""

    def __init__(self) -> None:
        super().__init__()
        self.cells = nn.ModuleList([nn.Conv2d(2, 2, 1, bias=False), nn.Conv2d(2, 3, 1, bias=False)])

    def forward(self, x: Tensor) -> Tensor:
        for cell in self.cells:
            x = cell(x)
        return x


def test_summary_looks_through_module_lists() -> None:
    result = profile.summary(Cells(), (2, 4, 4))
    assert [(row.name, row.output_shape, row.macs) for row in result.rows] == [
        ("cells.0", (2, 4, 4), 4 * 4 * 2 * 2),
        ("cells.1", (3, 4, 4), 4 * 4 * 2 * 3),
    ]
    assert result.unattributed_macs == 0


def test_summary_html_escapes_names() -> None:
    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.add_module("a<b>", nn.Identity())

        def forward(self, x: Tensor) -> Tensor:
            return getattr(self, "a<b>")(x)

    page = profile.summary(Odd(), (1, 2, 2))._repr_html_()
    assert "a&lt;b&gt;" in page and "a<b>" not in page


# --- compare -------------------------------------------------------------------------------------


def test_compare_modules_with_ratios_to_the_first() -> None:
    small = tiny_cnn()
    wide = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Flatten(), nn.Linear(8 * 28 * 28, 3))
    table = profile.compare({"small": small, "wide": wide}, input_size=(1, 28, 28), latency=False)
    assert [row.name for row in table.rows] == ["small", "wide"]
    wide_params = 8 * 9 + 8 + 8 * 28 * 28 * 3 + 3
    assert table.rows[1].params == wide_params
    assert table.ratio(table.rows[1], "params") == pytest.approx(wide_params / 63)
    assert table.ratio(table.rows[0], "macs") == 1.0
    text = str(table)
    assert "latency" not in text and "small" in text
    with pytest.raises(CourseError, match="latency=False"):
        table.ratio(table.rows[1], "latency")


def test_compare_with_latency_renders_text_and_html() -> None:
    table = profile.compare({"a": tiny_cnn(), "b": tiny_cnn()}, input_size=(1, 12, 12), latency=True)
    assert all(row.latency is not None for row in table.rows)
    assert "× latency" in str(table) and "median of" in str(table)
    assert "<table>" in table._repr_html_()


def _tiny_builder(*, num_classes: int = 3, in_channels: int = 1) -> nn.Module:
    model = tiny_cnn(in_channels)
    model[-1] = nn.Linear(4, num_classes)
    return model


def test_compare_registry_names_use_their_input_size(monkeypatch: pytest.MonkeyPatch) -> None:
    info = _registry.ModelInfo("test_only_profile_tiny", "test-only", _tiny_builder, (1, 9, 9))
    monkeypatch.setitem(_registry._MODELS, info.name, info)
    table = profile.compare([info.name], latency=False)
    assert table.rows[0].input_size == (1, 9, 9)
    assert table.rows[0].macs == 9 * 9 * 4 * 9 + 4 * 3
    with pytest.raises(UnknownNameError, match="test_only_profile_tiny"):
        profile.compare(["test_only_profile_tin"], latency=False)


def test_compare_bad_arguments() -> None:
    with pytest.raises(CourseError, match="got modules but no input_size"):
        profile.compare({"a": tiny_cnn()})
    with pytest.raises(CourseError, match="not the string"):
        profile.compare("resnet18")  # type: ignore[arg-type]
    with pytest.raises(CourseError, match="not a torch.nn.Module"):
        profile.compare({"a": "resnet18"}, input_size=(1, 8, 8))  # type: ignore[dict-item]


def test_describe_device_cpu() -> None:
    description = profile.describe_device("cpu")
    assert description.startswith("cpu: ") and " core" in description


def test_one_thread_sets_one_and_restores_the_previous_count() -> None:
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        with profile.one_thread():
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 2
        with pytest.raises(RuntimeError), profile.one_thread():
            raise RuntimeError("restored even when the block fails")
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(profile.heap_in_use_reader() is None, reason="glibc's mallinfo2 is not available here")
def test_heap_peak_sees_a_temporary_that_is_freed_before_the_end() -> None:
    """A 64 MiB intermediate lives for one operation only; the sampled peak includes it, the end level not."""
    x = torch.ones(1024, 1024)  # 4 MiB

    def run() -> torch.Tensor:
        wide = x.repeat(16, 1)  # 64 MiB, freed when run() returns
        return wide.sum(dim=0)

    run()  # warm-up
    peak = profile.heap_peak_bytes(run)
    assert peak is not None and 64 * 2**20 <= peak < 80 * 2**20, peak / 2**20
    assert profile.heap_peak_bytes(lambda: x.sum()) < 2**20


def test_heap_peak_is_none_where_the_allocator_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(profile, "heap_in_use_reader", lambda: None)
    assert profile.heap_peak_bytes(lambda: torch.ones(10)) is None
