"""DenseNet's formulas (cnncourse.formulas.densenet) equal what cnncourse.profile measures on real modules.

Huang et al., 2017, arXiv:1608.06993: a dense layer (BN-ReLU-1×1 to 4k, BN-ReLU-3×3 to k) on k₀ + k(ℓ − 1)
concatenated channels, a dense block of L of them, a transition keeping ⌊θ·m⌋ channels, and whole
DenseNet-BC networks, ImageNet (torchvision's) and CIFAR. Each formula is compared with the parameters and
multiply-adds measured on the module, and the last tests show that the obvious wrong formulas (adding
instead of concatenating, growing by k·ℓ, no compression) do *not* match, so these tests can fail.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from cnncourse import profile
from cnncourse.errors import CourseError
from cnncourse.formulas import (
    dense_block_macs,
    dense_block_out_channels,
    dense_block_params,
    dense_connections,
    dense_layer_input_channels,
    dense_layer_macs,
    dense_layer_params,
    densenet_bc_cifar_config,
    densenet_block_channels,
    densenet_cost,
    transition_macs,
    transition_out_channels,
    transition_params,
)
from cnncourse.models import create_model
from cnncourse.models.densenet import IMAGENET_CONFIGS, DenseBlock, DenseLayer, Transition, densenet_bc_cifar


def measured(module: nn.Module, input_size: tuple[int, int, int]) -> tuple[int, int]:
    return profile.count_parameters(module), profile.count_macs(module, input_size)


@pytest.mark.parametrize("in_channels, growth_rate, size", [(24, 12, 28), (64, 32, 56), (100, 12, 7), (7, 5, 9)])
@pytest.mark.parametrize("memory_efficient", [False, True])
def test_dense_layer_formula_equals_the_module(in_channels: int, growth_rate: int, size: int,
                                               memory_efficient: bool) -> None:
    layer = DenseLayer(in_channels, growth_rate, memory_efficient=memory_efficient)
    assert measured(layer, (in_channels, size, size)) == (
        dense_layer_params(in_channels, growth_rate), dense_layer_macs(in_channels, growth_rate, size, size))


def test_plain_dense_layer_formula_equals_bn_relu_conv3x3() -> None:
    """Without the bottleneck (the paper's plain DenseNet), H_ℓ is BN-ReLU-3×3 conv to k channels."""
    layer = nn.Sequential(nn.BatchNorm2d(40), nn.ReLU(), nn.Conv2d(40, 12, 3, padding=1, bias=False))
    assert measured(layer, (40, 16, 16)) == (dense_layer_params(40, 12, bottleneck_factor=None),
                                             dense_layer_macs(40, 12, 16, 16, bottleneck_factor=None))


@pytest.mark.parametrize("num_layers, block_input, growth_rate, size", [(6, 24, 12, 28), (16, 24, 12, 32),
                                                                        (6, 64, 32, 56), (3, 5, 7, 6)])
def test_dense_block_formula_equals_the_module(num_layers: int, block_input: int, growth_rate: int,
                                               size: int) -> None:
    block = DenseBlock(num_layers, block_input, growth_rate)
    assert measured(block, (block_input, size, size)) == (
        dense_block_params(num_layers, block_input, growth_rate),
        dense_block_macs(num_layers, block_input, growth_rate, size, size))
    out = dense_block_out_channels(block_input, growth_rate, num_layers)
    with torch.no_grad():
        assert block.eval()(torch.randn(1, block_input, size, size)).shape == (1, out, size, size)
    # layer ℓ (1-based) is built for k₀ + k(ℓ − 1) input channels
    for index, layer in enumerate(block.values(), start=1):
        assert layer.norm1.num_features == dense_layer_input_channels(block_input, growth_rate, index)


def test_dense_block_closed_form_in_the_docstring() -> None:
    """The docstring's closed form L(2 + bk)k₀ + (2 + bk)k·L(L − 1)/2 + L(2bk + 9bk²) equals the sum."""
    for num_layers, k0, k in [(6, 24, 12), (24, 256, 32), (1, 3, 5)]:
        b = 4
        closed = (num_layers * (2 + b * k) * k0 + (2 + b * k) * k * num_layers * (num_layers - 1) // 2
                  + num_layers * (2 * b * k + 9 * b * k * k))
        assert closed == dense_block_params(num_layers, k0, k)


def test_connections_counted_on_a_running_block() -> None:
    """Count the tensors each layer of a real block receives: 1 + 2 + ... + L = L(L + 1)/2."""
    for num_layers in (1, 4, 6):
        block = DenseBlock(num_layers, 8, 4).eval()
        received: list[int] = []
        hooks = [layer.register_forward_pre_hook(lambda _module, args: received.append(len(args[0])))
                 for layer in block.values()]
        with torch.no_grad():
            block(torch.randn(1, 8, 5, 5))
        for hook in hooks:
            hook.remove()
        assert received == list(range(1, num_layers + 1))
        assert sum(received) == dense_connections(num_layers) == num_layers * (num_layers + 1) // 2


@pytest.mark.parametrize("in_channels, compression, size", [(216, 0.5, 32), (256, 0.5, 56), (75, 0.5, 14),
                                                             (75, 1.0, 14), (100, 0.3, 8)])
def test_transition_formula_equals_the_module(in_channels: int, compression: float, size: int) -> None:
    out = transition_out_channels(in_channels, compression)
    transition = Transition(in_channels, out)
    assert measured(transition, (in_channels, size, size)) == (
        transition_params(in_channels, compression), transition_macs(in_channels, size, size, compression))
    with torch.no_grad():
        assert transition.eval()(torch.randn(1, in_channels, size, size)).shape == (1, out, size // 2, size // 2)


def test_transition_floors_like_the_model() -> None:
    """⌊θ·m⌋, as the model (and torchvision's m // 2): 75 channels → 37 at θ = 0.5."""
    assert transition_out_channels(75) == 37
    model = densenet_bc_cifar(40, 13, in_channels=1)  # 26 + 6·13 = 104 → 52 → 52 + 78 = 130 → 65
    assert [(t.conv.in_channels, t.conv.out_channels) for t in model.modules() if isinstance(t, Transition)] == [
        (stage[1], transition_out_channels(stage[1])) for stage in densenet_block_channels(13, (6, 6, 6), 26)[:2]]
    with pytest.raises(CourseError):
        transition_out_channels(10, 0.0)


@pytest.mark.parametrize("depth", sorted(IMAGENET_CONFIGS))
def test_imagenet_densenets_formula_equals_torchvision(depth: int) -> None:
    growth_rate, block_config, stem_channels = IMAGENET_CONFIGS[depth]
    params, macs = densenet_cost(growth_rate, block_config, stem_channels, image_size=224)
    with torch.device("meta"):  # shapes without memory: all that counting needs
        theirs = getattr(torchvision.models, f"densenet{depth}")(weights=None)
        ours = create_model(f"densenet{depth}")
    assert params == profile.count_parameters(theirs) == profile.count_parameters(ours)
    assert macs == profile.count_macs(theirs, (3, 224, 224)) == profile.count_macs(ours, (3, 224, 224))
    # the chapter quotes DenseNet-121's count, from torchvision's documentation (REFERENCE_FIGURES.md)
    if depth == 121:
        assert params == 7_978_856


@pytest.mark.parametrize("depth, growth_rate", [(40, 12), (100, 12), (40, 24), (190, 40)])
@pytest.mark.parametrize("in_channels, size", [(3, 32), (1, 28), (1, 30)])  # 30 → 15 → 7: pooling floors
def test_cifar_densenet_bc_formula_equals_the_model(depth: int, growth_rate: int, in_channels: int,
                                                    size: int) -> None:
    k, block_config, stem_channels = densenet_bc_cifar_config(depth, growth_rate)
    with torch.device("meta"):
        model = densenet_bc_cifar(depth, growth_rate, in_channels=in_channels)
    assert [len(block) for block in model.modules() if isinstance(block, DenseBlock)] == list(block_config)
    params, macs = densenet_cost(k, block_config, stem_channels, image_size=size, num_classes=10,
                                 in_channels=in_channels, stem="cifar")
    assert (params, macs) == measured(model, (in_channels, size, size))


def test_paper_cifar_parameter_counts() -> None:
    """Table 2 (Huang et al., 2017): DenseNet-BC L = 100, k = 12 has 0.8M; L = 190, k = 40 has 25.6M."""
    for depth, growth_rate, paper in [(100, 12, 0.8e6), (190, 40, 25.6e6)]:
        k, blocks, stem = densenet_bc_cifar_config(depth, growth_rate)
        params, _ = densenet_cost(k, blocks, stem, image_size=32, num_classes=10, stem="cifar")
        assert round(params / 1e5) == round(paper / 1e5)
    with pytest.raises(CourseError):
        densenet_bc_cifar_config(41, 12)


def test_wrong_formulas_do_not_match_the_module() -> None:
    """The tests above can fail: the classic wrong formulas give other numbers than the real modules."""
    num_layers, k0, k, size = 6, 24, 12, 28
    block = DenseBlock(num_layers, k0, k)
    params, macs = measured(block, (k0, size, size))
    # 'adds instead of concatenates': every layer would see k₀ channels
    assert sum(dense_layer_params(k0, k) for _ in range(num_layers)) != params
    # off by one layer of growth: layer ℓ on k₀ + k·ℓ channels
    assert sum(dense_layer_params(k0 + k * layer, k) for layer in range(1, num_layers + 1)) != params
    assert sum(dense_layer_macs(k0 + k * layer, k, size, size) for layer in range(1, num_layers + 1)) != macs
    # a transition without compression
    transition = Transition(216, transition_out_channels(216, 0.5))
    assert transition_params(216, 1.0) != profile.count_parameters(transition)
    # the 1×1 conv of a transition counted after the pooling (at half the resolution)
    assert transition_macs(216, 14, 14) != profile.count_macs(transition, (216, 28, 28))
