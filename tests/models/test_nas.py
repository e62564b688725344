"""NAS: NASNet-A cells and network, MnasNet and its reward, the AE-CNN genome and its operators.

Parity of ``mnasnet*`` with torchvision is covered by ``test_torchvision_parity.py``.
"""

from __future__ import annotations

import random
import warnings
from collections import Counter
from collections.abc import Iterator

import pytest
import torch
import torchvision
from torch import nn

from cnncourse.errors import CourseError
from cnncourse.models.nas import (
    AECNN_SEARCH_SPACE,
    CPU_SEARCH_SPACE,
    NASNET_A_NORMAL_CELL,
    NASNET_A_REDUCTION_CELL,
    DenseNetBlockUnit,
    FactorizedReduce,
    Genome,
    NasNetACell,
    PoolingUnit,
    ResNetBlockUnit,
    SeparableConvTwice,
    Unit,
    crossover,
    max_pooling_units,
    mnasnet0_5,
    mnasnet1_0,
    mnasnet_cifar,
    mnasnet_reward,
    mutate,
    nasnet_a_cifar_small,
    random_genome,
)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def seeded(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# --- NASNet-A ----------------------------------------------------------------------------------------

F = 8  # filters inside the test cells


def make_cell(spec_name: str, *, previous_is_larger: bool = False) -> NasNetACell:
    spec = NASNET_A_NORMAL_CELL if spec_name == "normal" else NASNET_A_REDUCTION_CELL
    return NasNetACell(
        spec,
        current_channels=24,
        previous_channels=20,
        channels=F,
        reduction=spec_name == "reduction",
        previous_is_larger=previous_is_larger,
    )


def test_normal_cell_keeps_the_size_and_concatenates_six_states() -> None:
    cell = make_cell("normal").eval()
    with torch.no_grad():
        out = cell(seeded(2, 24, 16, 16), seeded(2, 20, 16, 16, seed=1))
    assert out.shape == (2, 6 * F, 16, 16)


def test_reduction_cell_halves_the_size_and_concatenates_four_states() -> None:
    cell = make_cell("reduction").eval()
    with torch.no_grad():
        out = cell(seeded(2, 24, 16, 16), seeded(2, 20, 16, 16, seed=1))
    assert out.shape == (2, 4 * F, 8, 8)
    with torch.no_grad():  # odd sizes round up, as TensorFlow's "SAME" padding does
        assert cell(seeded(1, 24, 7, 7), seeded(1, 20, 7, 7)).shape[2:] == (4, 4)


def test_cell_after_a_reduction_reduces_its_larger_second_input() -> None:
    cell = make_cell("normal", previous_is_larger=True).eval()
    assert isinstance(cell.preprocess_previous, FactorizedReduce)
    with torch.no_grad():
        out = cell(seeded(2, 24, 8, 8), seeded(2, 20, 16, 16, seed=1))
    assert out.shape == (2, 6 * F, 8, 8)


def operation_counts(cell: NasNetACell) -> Counter[str]:
    names = {
        SeparableConvTwice: lambda op: f"sep_{op.first[1].kernel_size[0]}x{op.first[1].kernel_size[0]}",
        nn.AvgPool2d: lambda op: "avg_3x3",
        nn.MaxPool2d: lambda op: "max_3x3",
    }
    counts: Counter[str] = Counter()
    for op in [*cell.left_ops, *cell.right_ops]:
        counts[names[type(op)](op) if type(op) in names else "identity"] += 1
    return counts


def test_cells_have_the_operations_of_figure_4() -> None:
    normal = operation_counts(make_cell("normal"))
    assert normal == Counter({"sep_3x3": 3, "avg_3x3": 3, "sep_5x5": 2, "identity": 2})
    reduction = operation_counts(make_cell("reduction"))
    assert reduction == Counter(
        {"sep_7x7": 2, "sep_5x5": 2, "max_3x3": 2, "avg_3x3": 2, "sep_3x3": 1, "identity": 1}
    )


def test_separable_convolutions_are_applied_twice_with_the_stride_on_the_first() -> None:
    cell = make_cell("reduction")
    sep7 = cell.right_ops[0]  # block 1, right: sep 7×7 on h_{i-1}
    assert isinstance(sep7, SeparableConvTwice)
    depthwise = [m for m in sep7.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    assert len(depthwise) == 2 and all(m.groups == F for m in depthwise)
    assert [m.stride for m in depthwise] == [(2, 2), (1, 1)]
    # block 4 applies identity to block 2's output, already reduced: no stride, no parameters
    assert isinstance(cell.left_ops[3], nn.Identity)
    assert cell.right_ops[4].stride == 2  # block 5's max pool reads h_i


def test_normal_cell_output_starts_with_its_previous_input() -> None:
    cell = make_cell("normal").eval()
    current, previous = seeded(2, 24, 6, 6), seeded(2, 20, 6, 6, seed=1)
    with torch.no_grad():
        out = cell(current, previous)
        torch.testing.assert_close(out[:, :F], cell.preprocess_previous(previous))


def test_blocks_add_their_two_operations() -> None:
    cell = make_cell("normal").eval()
    current, previous = seeded(1, 24, 6, 6), seeded(1, 20, 6, 6, seed=1)
    with torch.no_grad():
        h_i, h_prev = cell.preprocess_current(current), cell.preprocess_previous(previous)
        block_5 = cell.left_ops[4](h_i) + h_i  # sep 3×3 (h_i) + identity (h_i)
        torch.testing.assert_close(cell(current, previous)[:, 5 * F :], block_5)
        block_4 = cell.left_ops[3](h_prev) + cell.right_ops[3](h_prev)  # avg (h_{i-1}) + avg (h_{i-1})
        torch.testing.assert_close(cell(current, previous)[:, 4 * F : 5 * F], block_4)


def test_small_nasnet_runs_on_fashion_mnist_and_is_small() -> None:
    model = nasnet_a_cifar_small(in_channels=1)
    assert len(model.cells) == 3 * 2 + 2  # N normal cells per stack, two reduction cells
    assert parameter_count(model) < 1_000_000
    assert model.num_features == 6 * 4 * 16  # "2 @ 384"
    with torch.no_grad():
        features = model.eval().forward_features(seeded(2, 1, 28, 28))
    assert features.shape == (2, 384, 7, 7)
    with pytest.raises(CourseError):
        nasnet_a_cifar_small(filters=15)


# --- MnasNet -----------------------------------------------------------------------------------------


def test_mnasnet_published_parameter_counts() -> None:
    assert parameter_count(mnasnet1_0()) == 4_383_312  # REFERENCE_FIGURES.md
    assert parameter_count(mnasnet0_5()) == 2_218_512  # torchvision's documentation


def test_our_mnasnet_weights_load_into_torchvision_without_the_legacy_path() -> None:
    ours = mnasnet0_5().eval()
    reference = torchvision.models.mnasnet0_5().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torchvision warns when it converts a version-1 checkpoint
        reference.load_state_dict(ours.state_dict(), strict=True)
    x = seeded(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))


def test_mnasnet_blocks_are_linear_bottlenecks() -> None:
    blocks = [m for m in mnasnet1_0().modules() if type(m).__name__ == "MnasInvertedResidual"]
    assert len(blocks) == 3 + 3 + 3 + 2 + 4 + 1
    for block in blocks:
        assert isinstance(block.layers[-1], nn.BatchNorm2d)
        assert isinstance(block.layers[-2], nn.Conv2d)
        assert block.layers[3].groups == block.layers[3].in_channels  # depthwise


def test_mnasnet_cifar_keeps_a_4x4_map() -> None:
    with torch.no_grad():
        assert mnasnet_cifar().eval().forward_features(seeded(1, 3, 32, 32)).shape == (1, 1280, 4, 4)


def test_mnasnet_reward_soft_and_hard_constraints() -> None:
    assert mnasnet_reward(0.75, 80.0, 80.0) == pytest.approx(0.75)
    # twice the target latency costs 2^-0.07 ≈ 0.9526: the paper's "5% accuracy for 2× latency"
    assert mnasnet_reward(0.75, 160.0, 80.0) == pytest.approx(0.75 * 0.95264, rel=1e-4)
    assert mnasnet_reward(0.75, 40.0, 80.0) == pytest.approx(0.75 * 1.04971, rel=1e-4)  # faster: a bonus
    # hard constraint α = 0, β = -1: no bonus below T, reward ∝ T / LAT above it
    assert mnasnet_reward(0.75, 40.0, 80.0, alpha=0.0, beta=-1.0) == pytest.approx(0.75)
    assert mnasnet_reward(0.75, 160.0, 80.0, alpha=0.0, beta=-1.0) == pytest.approx(0.375)
    with pytest.raises(CourseError, match="fraction"):
        mnasnet_reward(75.2, 80.0, 80.0)
    with pytest.raises(CourseError):
        mnasnet_reward(0.75, 0.0, 80.0)


# --- AE-CNN genome -----------------------------------------------------------------------------------


def test_random_genomes_are_deterministic_valid_and_build() -> None:
    genomes = [random_genome(random.Random(seed)) for seed in range(6)]
    assert genomes == [random_genome(random.Random(seed)) for seed in range(6)]
    assert len(set(genomes)) > 1
    for genome in genomes:
        assert not genome.problems(28) and not isinstance(genome.units[0], PoolingUnit)
        model = genome.build(in_channels=1, num_classes=10).eval()
        with torch.no_grad():
            assert model(seeded(2, 1, 28, 28)).shape == (2, 10)


def test_paper_search_space_genomes_are_valid_for_cifar() -> None:
    genome = random_genome(random.Random(3), AECNN_SEARCH_SPACE, input_size=32)
    assert genome.num_pooling_units() == 4
    rbus = [u for u in genome.units if isinstance(u, ResNetBlockUnit)]
    assert rbus and all(u.out_channels in (64, 128, 256) and 3 <= u.num_blocks <= 10 for u in rbus)


def test_parameter_count_grows_with_units() -> None:
    one = Genome((ResNetBlockUnit(1, 16),))
    two = Genome((ResNetBlockUnit(1, 16), ResNetBlockUnit(1, 16)))
    three = Genome((ResNetBlockUnit(1, 16), ResNetBlockUnit(1, 16), DenseNetBlockUnit(2, 8, 32)))
    counts = [parameter_count(g.build(1, 10)) for g in (one, two, three)]
    assert counts[0] < counts[1] < counts[2]
    pooled = Genome((ResNetBlockUnit(1, 16), PoolingUnit("max"), ResNetBlockUnit(1, 16)))
    assert parameter_count(pooled.build(1, 10)) == counts[1]  # pooling has no parameters


def test_shapes_follow_the_units() -> None:
    genome = Genome((ResNetBlockUnit(2, 64), PoolingUnit("avg"), DenseNetBlockUnit(2, 12, 32)))
    shapes = genome.shapes(in_channels=1, input_size=28)
    assert [(s.out_channels, s.out_size) for s in shapes] == [(64, 28), (64, 14), (32 + 2 * 12, 14)]
    model = genome.build(1, 10).eval()
    with torch.no_grad():
        assert model.forward_features(seeded(1, 1, 28, 28)).shape == (1, 56, 14, 14)
    assert model.num_features == 56


@pytest.mark.parametrize(
    ("units", "message"),
    [
        ((ResNetBlockUnit(1, 8),) + (PoolingUnit("max"),) * 5, "pooling units"),  # 28 px: 4 halvings
        ((PoolingUnit("max"), ResNetBlockUnit(1, 8)), "starts with a pooling unit"),
        ((), "no units"),
        ((ResNetBlockUnit(0, 8),), "at least one block"),
    ],
)
def test_invalid_genomes_raise_course_errors(units: tuple[Unit, ...], message: str) -> None:
    with pytest.raises(CourseError, match=message):
        Genome(units).build(in_channels=1, num_classes=10)


def test_pooling_limit_depends_on_the_input_size() -> None:
    assert (max_pooling_units(28), max_pooling_units(32), max_pooling_units(224)) == (4, 5, 7)
    five_pools = Genome((ResNetBlockUnit(1, 8),) + (PoolingUnit("max"),) * 5)
    assert not five_pools.problems(32) and five_pools.problems(28)


def test_mutation_is_deterministic_and_keeps_genomes_valid() -> None:
    start = random_genome(random.Random(0))
    first = [start]
    rng = random.Random(42)
    for _ in range(150):
        first.append(mutate(first[-1], rng))
    rng = random.Random(42)
    second = [start]
    for _ in range(150):
        second.append(mutate(second[-1], rng))
    assert first == second
    lengths = [len(g.units) for g in first]
    assert all(not g.problems(28) and len(g.units) <= CPU_SEARCH_SPACE.max_units for g in first)
    steps = list(zip(lengths, lengths[1:]))
    assert any(b > a for a, b in steps) and any(b < a for a, b in steps)  # adds and removes happen
    assert any(a == b and x != y for (a, b), x, y in zip(steps, first, first[1:]))  # and modifications


def test_crossover_swaps_tails_and_conserves_units() -> None:
    parent_a = Genome((ResNetBlockUnit(1, 16), PoolingUnit("max"), ResNetBlockUnit(2, 32)))
    parent_b = Genome((DenseNetBlockUnit(2, 8, 32), PoolingUnit("avg"), DenseNetBlockUnit(3, 12, 32)))
    child_a, child_b = crossover(parent_a, parent_b, random.Random(1))
    assert (child_a, child_b) == crossover(parent_a, parent_b, random.Random(1))
    children_units = Counter(child_a.units) + Counter(child_b.units)
    assert children_units == Counter(parent_a.units) + Counter(parent_b.units)
    # child_a is a prefix of parent_a followed by a suffix of parent_b
    assert any(
        child_a.units == parent_a.units[:i] + parent_b.units[j:]
        for i in range(len(parent_a.units) + 1)
        for j in range(len(parent_b.units) + 1)
    )
    assert not child_a.problems(28) and not child_b.problems(28)


def test_crossover_never_produces_invalid_children() -> None:
    rng = random.Random(5)
    for _ in range(100):
        first, second = random_genome(rng), random_genome(rng)
        for child in crossover(first, second, rng):
            assert not child.problems(28)


def test_genome_network_has_the_model_interface() -> None:
    model = Genome((ResNetBlockUnit(1, 8), PoolingUnit("max"), DenseNetBlockUnit(1, 8, 32))).build(1, 10)
    model.reset_classifier(3)
    logits = model(seeded(2, 1, 28, 28))
    logits.sum().backward()
    assert logits.shape == (2, 3)
    assert all(p.grad is not None for p in model.parameters())
    with pytest.raises(CourseError):
        model.reset_classifier(0)
