"""The mobile building blocks: teaching activations, depthwise-separable conv, inverted residual, MBConv.

Each block is checked against what the paper says it is (structure and behaviour) and, where
torchvision has the same block, against torchvision's module: same parameter names, same outputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import efficientnet as tv_efficientnet
from torchvision.models import mobilenetv2 as tv_mobilenetv2
from torchvision.models import mobilenetv3 as tv_mobilenetv3
from torchvision.ops import stochastic_depth

from cnncourse.errors import CourseError
from cnncourse.layers.activations import HardSigmoid, HardSwish, Swish, hard_sigmoid, hard_swish, swish
from cnncourse.layers.depthwise import DepthwiseSeparableConv
from cnncourse.layers.inverted_residual import InvertedResidual
from cnncourse.layers.mbconv import MBConv, StochasticDepth
from cnncourse.layers.misc import Conv2dNormActivation
from cnncourse.layers.squeeze_excite import SqueezeExcitation


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread() -> Iterator[None]:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def seeded(*shape: int, seed: int = 0) -> Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def randomise_batchnorms(module: nn.Module, seed: int = 1) -> None:
    """Non-trivial BatchNorm statistics, so that a swapped or missing BatchNorm changes the output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for bn in module.modules():
            if isinstance(bn, nn.BatchNorm2d):
                channels = bn.num_features
                bn.running_mean.copy_(0.2 * torch.randn(channels, generator=generator))
                bn.running_var.copy_(0.5 + torch.rand(channels, generator=generator))
                bn.weight.copy_(0.5 + torch.rand(channels, generator=generator))
                bn.bias.copy_(0.2 * torch.randn(channels, generator=generator))


def assert_same_block(ours: nn.Module, reference: nn.Module, x: Tensor) -> None:
    """Same parameter names and shapes; with the reference's weights loaded, the same outputs."""
    ours_shapes = {name: tuple(t.shape) for name, t in ours.state_dict().items()}
    reference_shapes = {name: tuple(t.shape) for name, t in reference.state_dict().items()}
    assert ours_shapes == reference_shapes
    randomise_batchnorms(reference)
    ours.load_state_dict(reference.state_dict(), strict=True)
    ours.eval()
    reference.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x))


# --- activations ---------------------------------------------------------------------------------------

GRID = torch.linspace(-8.0, 8.0, 3201)  # includes the kinks at ±3 and 0 exactly


def test_hard_sigmoid_equals_pytorch_and_the_formula() -> None:
    torch.testing.assert_close(hard_sigmoid(GRID), nn.Hardsigmoid()(GRID))
    torch.testing.assert_close(HardSigmoid()(GRID), F.hardsigmoid(GRID))
    # ReLU6(x + 3) / 6: 0 below -3, 1 above 3, 1/2 at 0
    assert hard_sigmoid(torch.tensor([-5.0, -3.0, 0.0, 3.0, 5.0])).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_hard_swish_equals_pytorch_and_the_formula() -> None:
    torch.testing.assert_close(hard_swish(GRID), nn.Hardswish()(GRID))
    torch.testing.assert_close(HardSwish()(GRID), F.hardswish(GRID))
    values = hard_swish(torch.tensor([-4.0, -3.0, 0.0, 1.0, 3.0, 4.0]))
    torch.testing.assert_close(values, torch.tensor([0.0, 0.0, 0.0, 4.0 / 6.0, 3.0, 4.0]))


def test_swish_equals_silu_and_approaches_relu_for_large_beta() -> None:
    torch.testing.assert_close(swish(GRID), nn.SiLU()(GRID))
    torch.testing.assert_close(Swish()(GRID), F.silu(GRID))
    torch.testing.assert_close(Swish(beta=50.0)(GRID), F.relu(GRID), atol=0.01, rtol=0.0)


def test_teaching_activations_have_pytorchs_gradients() -> None:
    x = seeded(1000) * 4  # random points: almost surely none on a kink
    for ours, theirs in ((hard_sigmoid, F.hardsigmoid), (hard_swish, F.hardswish), (swish, F.silu)):
        a = x.clone().requires_grad_(True)
        b = x.clone().requires_grad_(True)
        ours(a).sum().backward()
        theirs(b).sum().backward()
        torch.testing.assert_close(a.grad, b.grad)


# --- depthwise-separable convolution ------------------------------------------------------------------


def test_depthwise_separable_structure_and_paper_parameter_count() -> None:
    block = DepthwiseSeparableConv(32, 64, stride=2)
    depthwise, pointwise = block.depthwise[0], block.pointwise[0]
    assert depthwise.groups == 32 == depthwise.in_channels == depthwise.out_channels  # one filter per channel
    assert depthwise.weight.shape == (32, 1, 3, 3) and depthwise.stride == (2, 2)
    assert pointwise.weight.shape == (64, 32, 1, 1) and pointwise.groups == 1
    assert isinstance(block.depthwise[2], nn.ReLU) and isinstance(block.pointwise[2], nn.ReLU)  # Fig. 3
    conv_weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
    assert conv_weights == 3 * 3 * 32 + 32 * 64  # D_K²·M + M·N (paper Section 3.1)
    assert sum(p.numel() for p in block.parameters()) == conv_weights + 2 * 32 + 2 * 64  # + BN γ, β
    assert block(seeded(2, 32, 16, 16)).shape == (2, 64, 8, 8)


def test_depthwise_separable_is_a_factorisation_cheaper_than_a_standard_conv() -> None:
    block = DepthwiseSeparableConv(256, 256)
    standard = nn.Conv2d(256, 256, 3, padding=1, bias=False)
    separable_weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, nn.Conv2d))
    ratio = separable_weights / standard.weight.numel()
    assert ratio == pytest.approx(1 / 256 + 1 / 9)  # 1/N + 1/D_K², about 8.6× fewer


def test_depthwise_separable_refuses_bad_stride() -> None:
    with pytest.raises(CourseError, match="stride"):
        DepthwiseSeparableConv(8, 8, stride=3)


# --- inverted residual (MobileNet v2) -----------------------------------------------------------------


@pytest.mark.parametrize(("in_ch", "out_ch", "stride", "t"), [(32, 16, 1, 1), (24, 24, 1, 6), (24, 32, 2, 6)])
def test_inverted_residual_equals_torchvision_block(in_ch: int, out_ch: int, stride: int, t: int) -> None:
    torch.manual_seed(0)
    ours = InvertedResidual(in_ch, out_ch, stride, expand_ratio=t)
    reference = tv_mobilenetv2.InvertedResidual(in_ch, out_ch, stride, expand_ratio=t)
    assert_same_block(ours, reference, seeded(2, in_ch, 12, 12))


def test_linear_bottleneck_has_no_activation_after_the_projection() -> None:
    block = InvertedResidual(16, 24, stride=2, expand_ratio=6)
    modules = list(block.conv)
    # by inspection: expand (ReLU6), depthwise (ReLU6), then a bare 1×1 conv and BatchNorm, nothing after
    assert isinstance(modules[0][-1], nn.ReLU6) and isinstance(modules[1][-1], nn.ReLU6)
    assert isinstance(modules[-2], nn.Conv2d) and modules[-2].kernel_size == (1, 1)
    assert isinstance(modules[-1], nn.BatchNorm2d)
    assert not any(isinstance(m, (nn.ReLU, nn.ReLU6)) for m in modules[2:])
    # by behaviour: no residual here (stride 2), and the output takes negative values, which a ReLU or
    # ReLU6 at the end would make impossible
    randomise_batchnorms(block)
    block.eval()
    with torch.no_grad():
        out = block(seeded(4, 16, 8, 8))
    assert (out < 0).float().mean() > 0.2


def test_inverted_residual_adds_the_input_only_when_shapes_match() -> None:
    same = InvertedResidual(24, 24, stride=1, expand_ratio=6).eval()
    x = seeded(2, 24, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(same(x) - same.conv(x), x)
    assert same.use_res_connect
    assert not InvertedResidual(24, 32, stride=1, expand_ratio=6).use_res_connect
    assert not InvertedResidual(24, 24, stride=2, expand_ratio=6).use_res_connect
    with pytest.raises(CourseError):
        InvertedResidual(24, 24, stride=3, expand_ratio=6)


def test_inverted_residual_depthwise_has_groups_equal_to_channels() -> None:
    block = InvertedResidual(24, 24, stride=1, expand_ratio=6)
    depthwise = block.conv[1][0]
    assert depthwise.groups == depthwise.in_channels == depthwise.out_channels == 144


# --- MBConv (MobileNet v3 and EfficientNet) -----------------------------------------------------------

V3_NORM = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)


@pytest.mark.parametrize(
    ("in_ch", "kernel", "expanded", "out_ch", "squeeze", "activation", "stride"),
    [
        # SE width = expanded / 4 rounded to a multiple of 8: 16 / 4 = 4 → 8, 120 / 4 = 30 → 32
        (16, 3, 16, 16, 8, "RE", 2),  # no expansion conv, SE (v3-Small's first bneck)
        (40, 5, 120, 40, 32, "RE", 1),  # residual with SE
        (80, 3, 184, 80, None, "HS", 1),  # residual without SE, h-swish
    ],
)
def test_mbconv_equals_torchvision_mobilenet_v3_block(
    in_ch: int, kernel: int, expanded: int, out_ch: int, squeeze: int | None, activation: str, stride: int
) -> None:
    torch.manual_seed(0)
    config = tv_mobilenetv3.InvertedResidualConfig(
        in_ch, kernel, expanded, out_ch, squeeze is not None, activation, stride, 1, 1.0
    )
    reference = tv_mobilenetv3.InvertedResidual(config, V3_NORM)
    ours = MBConv(
        in_ch,
        out_ch,
        expanded_channels=expanded,
        kernel_size=kernel,
        stride=stride,
        activation_layer=nn.Hardswish if activation == "HS" else nn.ReLU,
        squeeze_channels=squeeze,
        se_activation=nn.ReLU,
        se_gate=nn.Hardsigmoid,
        norm_layer=V3_NORM,
    )
    assert_same_block(ours, reference, seeded(2, in_ch, 14, 14))


@pytest.mark.parametrize(("in_ch", "out_ch", "t", "kernel", "stride"), [(32, 16, 1, 3, 1), (24, 24, 6, 5, 1)])
def test_mbconv_equals_torchvision_efficientnet_block(
    in_ch: int, out_ch: int, t: int, kernel: int, stride: int
) -> None:
    torch.manual_seed(0)
    config = tv_efficientnet.MBConvConfig(t, kernel, stride, in_ch, out_ch, 1)
    reference = tv_efficientnet.MBConv(config, stochastic_depth_prob=0.1, norm_layer=nn.BatchNorm2d)
    ours = MBConv(
        in_ch,
        out_ch,
        expanded_channels=in_ch * t,
        kernel_size=kernel,
        stride=stride,
        activation_layer=nn.SiLU,
        squeeze_channels=in_ch // 4,  # EfficientNet: a quarter of the block's input
        se_activation=nn.SiLU,
        se_gate=nn.Sigmoid,
        stochastic_depth_prob=0.1,
    )
    assert_same_block(ours, reference, seeded(2, in_ch, 10, 10))


def test_mbconv_projection_is_linear_and_se_sits_after_the_depthwise_conv() -> None:
    block = MBConv(
        24,
        40,
        expanded_channels=72,
        kernel_size=5,
        stride=2,
        activation_layer=nn.ReLU,
        squeeze_channels=24,
        se_gate=nn.Hardsigmoid,
    )
    expand, depthwise, se, project = block.block
    assert depthwise[0].groups == 72 and depthwise[0].kernel_size == (5, 5)
    assert isinstance(se, SqueezeExcitation) and se.fc1.out_channels == 24 and se.fc2.out_channels == 72
    assert isinstance(project, Conv2dNormActivation) and len(project) == 2  # conv + BN, no activation
    assert isinstance(se.scale_activation, nn.Hardsigmoid)


def test_stochastic_depth_matches_torchvision_and_drops_whole_samples() -> None:
    x = seeded(400, 3, 2, 2) + 5.0  # strictly positive, so a dropped sample is exactly zero
    layer = StochasticDepth(0.25, "row").train()
    torch.manual_seed(7)
    ours = layer(x)
    torch.manual_seed(7)
    theirs = stochastic_depth(x, 0.25, "row", training=True)
    torch.testing.assert_close(ours, theirs)

    per_sample = ours.flatten(1)
    dropped = (per_sample == 0).all(dim=1)
    kept = ~dropped
    torch.testing.assert_close(per_sample[kept], x.flatten(1)[kept] / 0.75)  # survivors rescaled by 1/(1-p)
    assert 0.15 < dropped.float().mean().item() < 0.35  # about p of the rows are dropped

    layer.eval()
    assert torch.equal(layer(x), x)  # identity at test time
    with pytest.raises(CourseError):
        StochasticDepth(1.5)
    with pytest.raises(CourseError):
        StochasticDepth(0.1, mode="column")


def test_mbconv_stochastic_depth_touches_only_the_residual_branch() -> None:
    block = MBConv(
        16,
        16,
        expanded_channels=64,
        kernel_size=3,
        stride=1,
        activation_layer=nn.SiLU,
        squeeze_channels=4,
        stochastic_depth_prob=1.0,
    ).train()
    x = seeded(3, 16, 6, 6)
    # with p = 1 every residual branch is dropped: the block is the identity, even in training mode
    torch.testing.assert_close(block(x), x)

