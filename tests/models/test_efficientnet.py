"""EfficientNet: the B0 table, compound scaling, the published B1–B7 coefficients, the small variant.

Parity of ``efficientnet_b0`` … ``b7`` with torchvision is covered by ``test_torchvision_parity.py``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
from torch import nn

from cnncourse.errors import CourseError
from cnncourse.layers.mbconv import MBConv
from cnncourse.layers.squeeze_excite import SqueezeExcitation
from cnncourse.models.efficientnet import (
    EfficientNet,
    compound_coefficients,
    efficientnet,
    efficientnet_b0,
    efficientnet_b1,
    efficientnet_b5,
    efficientnet_small,
    flops_growth_per_step,
    format_scaling_comparison,
    scaling_comparison,
)


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def stage_depths(model: EfficientNet) -> list[int]:
    return [len(stage) for stage in model.features[1:-1]]


def conv_strides(model: nn.Module) -> list[int]:
    return [m.stride[0] for m in model.modules() if isinstance(m, nn.Conv2d)]


# --- compound scaling ---------------------------------------------------------------------------------


def test_alpha_beta_squared_gamma_squared_is_about_two() -> None:
    assert flops_growth_per_step() == pytest.approx(1.2 * 1.1**2 * 1.15**2)
    assert flops_growth_per_step() == pytest.approx(1.92, abs=0.005)  # "≈ 2" (paper Section 3.3)


def test_compound_coefficients_follow_the_formula() -> None:
    b3 = compound_coefficients(3)
    assert b3.depth == pytest.approx(1.728) and b3.width == pytest.approx(1.331)
    assert b3.resolution == round(224 * 1.520875)  # 224 · 1.15³
    assert compound_coefficients(0).dropout == pytest.approx(0.2)
    assert compound_coefficients(7).dropout == pytest.approx(0.5)  # 0.2 for B0 … 0.5 for B7
    with pytest.raises(CourseError, match="phi"):
        compound_coefficients(-1)


def test_efficientnet_phi_0_is_b0() -> None:
    formula, published = efficientnet(0), efficientnet_b0()
    assert parameter_count(formula) == parameter_count(published) == 5_288_548  # REFERENCE_FIGURES.md
    assert formula.state_dict().keys() == published.state_dict().keys()


def test_depth_scaling_rounds_each_stage_up() -> None:
    assert stage_depths(efficientnet_b0()) == [1, 2, 2, 3, 3, 4, 1]  # Table 1, stages 2–8
    # B1 (depth 1.1): ⌈1.1⌉, ⌈2.2⌉, ⌈2.2⌉, ⌈3.3⌉, ⌈3.3⌉, ⌈4.4⌉, ⌈1.1⌉
    assert stage_depths(efficientnet_b1()) == [2, 3, 3, 4, 4, 5, 2]
    # φ = 1 by the formula (depth 1.2): ⌈1.2⌉, ⌈2.4⌉, ⌈2.4⌉, ⌈3.6⌉, ⌈3.6⌉, ⌈4.8⌉, ⌈1.2⌉
    assert stage_depths(efficientnet(1)) == [2, 3, 3, 4, 4, 5, 2]
    assert efficientnet(1).coefficients.resolution == 258


def test_width_scaling_rounds_to_multiples_of_eight() -> None:
    model = efficientnet(1)  # width 1.1
    widths = [stage[0].out_channels for stage in model.features[1:-1]]
    # 16·1.1 = 17.6 → 16, 26.4 → 24, 44 → 48, 88, 123.2 → 120, 211.2 → 208, 352 (nearest multiple of 8,
    # never more than 10% below)
    assert widths == [16, 24, 48, 88, 120, 208, 352]
    assert model.num_features == 4 * 352


def test_published_coefficients_are_not_the_formula() -> None:
    rows = {row.name: row for row in scaling_comparison()}
    assert len(rows) == 8
    b1, b7 = rows["efficientnet_b1"], rows["efficientnet_b7"]
    assert (b1.published.width, b1.published.depth, b1.published.resolution) == (1.0, 1.1, 240)
    assert (b7.published.width, b7.published.depth, b7.published.resolution) == (2.0, 3.1, 600)
    assert b7.formula.depth == pytest.approx(1.2**7)  # 3.58 against the published 3.1
    assert b1.phi_implied_by_depth == pytest.approx(math.log(1.1) / math.log(1.2))  # ≈ 0.52, not 1
    assert b1.phi_implied_by_width == 0.0
    text = format_scaling_comparison()
    assert "efficientnet_b7" in text and "3.58" in text


def test_published_variants_dropout_and_batchnorm_follow_torchvision() -> None:
    assert efficientnet_b0().classifier[0].p == 0.2
    b5 = efficientnet_b5()
    assert b5.classifier[0].p == 0.4
    assert {bn.eps for bn in b5.modules() if isinstance(bn, nn.BatchNorm2d)} == {0.001}
    assert {bn.eps for bn in efficientnet_b0().modules() if isinstance(bn, nn.BatchNorm2d)} == {1e-5}


# --- blocks ------------------------------------------------------------------------------------------


def test_se_squeeze_is_a_quarter_of_the_block_input() -> None:
    model = efficientnet_b0()
    stage_2, stage_3 = model.features[1], model.features[2]
    first_se = next(m for m in stage_2[0].modules() if isinstance(m, SqueezeExcitation))
    assert (first_se.fc1.in_channels, first_se.fc1.out_channels) == (32, 8)  # input 32 → 8, no expansion
    se_a = next(m for m in stage_3[0].modules() if isinstance(m, SqueezeExcitation))
    se_b = next(m for m in stage_3[1].modules() if isinstance(m, SqueezeExcitation))
    assert (se_a.fc1.in_channels, se_a.fc1.out_channels) == (96, 4)  # input 16, expanded 6 × 16
    assert (se_b.fc1.in_channels, se_b.fc1.out_channels) == (144, 6)  # input 24, expanded 6 × 24


def test_every_block_has_se_swish_and_a_linear_projection() -> None:
    blocks = [m for m in efficientnet_b0().modules() if isinstance(m, MBConv)]
    assert len(blocks) == 16
    for block in blocks:
        assert any(isinstance(m, SqueezeExcitation) for m in block.block)
        assert isinstance(block.block[0][-1], nn.SiLU)
        assert len(block.block[-1]) == 2  # projection conv + BN, no activation


def test_stochastic_depth_grows_linearly_with_depth() -> None:
    blocks = [m for m in efficientnet_b0().modules() if isinstance(m, MBConv)]
    probabilities = [block.stochastic_depth.p for block in blocks]
    assert probabilities == pytest.approx([0.2 * i / 16 for i in range(16)])


# --- small-image variant -----------------------------------------------------------------------------


def test_efficientnet_small_changes_only_the_early_strides() -> None:
    small, b0 = efficientnet_small(), efficientnet_b0()
    small_strides, b0_strides = conv_strides(small), conv_strides(b0)
    changed = [i for i, (a, b) in enumerate(zip(small_strides, b0_strides)) if a != b]
    assert len(small_strides) == len(b0_strides) and len(changed) == 2 and changed[0] == 0
    assert stage_depths(small) == stage_depths(b0)
    with torch.no_grad():
        assert small.forward_features(torch.zeros(2, 3, 32, 32)).shape == (2, 1280, 4, 4)
        assert small.forward_features(torch.zeros(2, 3, 28, 28)).shape == (2, 1280, 4, 4)


def test_bad_arguments_raise_course_errors() -> None:
    with pytest.raises(CourseError, match="reset_classifier"):
        efficientnet_b0(num_classes=10, weights="torchvision")  # refused before any download
    with pytest.raises(CourseError):
        efficientnet_small(dropout=1.0)
    with pytest.raises(CourseError):
        efficientnet(2.5, num_classes=0)
