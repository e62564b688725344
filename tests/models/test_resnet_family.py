"""ResNet, Wide ResNet and SENet: the facts the chapters state about them.

Sizes against the papers' published figures; option A shortcuts are parameter-free and zero-pad;
plain networks have no shortcuts; pre-activation blocks end without a ReLU; WRN dropout sits between
the two convolutions and never on the shortcut; SE squeeze widths are C/16 and act before the addition.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import torch
from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.layers import SqueezeExcitation, se_params
from cnncourse.models import create_model
from cnncourse.models.resnet import (
    BasicBlock,
    Bottleneck,
    CifarBasicBlock,
    CifarResNet,
    PreActBlock,
    ZeroPadShortcut,
    cifar_resnet,
    option_a_shortcut,
)
from cnncourse.models.senet import SEBasicBlock, SEBottleneck
from cnncourse.models.wide_resnet import WideBasicBlock, WideResNet, wide_resnet


def parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def random_images(*shape: int, seed: int = 0) -> Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


# ----------------------------------------------------------------------------------------------------
# Sizes from the papers (10 classes). A published "0.27M" is met when our count rounds to it, i.e. lies
# within half a unit of its last digit.
# ----------------------------------------------------------------------------------------------------

PUBLISHED_MILLIONS = {
    # He et al., 2015, arXiv:1512.03385, Table 6 (CIFAR-10)
    "resnet20": "0.27",
    "resnet32": "0.46",
    "resnet44": "0.66",
    "resnet56": "0.85",
    "resnet110": "1.7",
    # Zagoruyko & Komodakis, 2016, arXiv:1605.07146 (CIFAR-10 results)
    "wrn_16_8": "11.0",
    "wrn_28_10": "36.5",
    "wrn_40_4": "8.9",
}


@pytest.mark.parametrize("name", sorted(PUBLISHED_MILLIONS))
def test_size_rounds_to_the_published_figure(name: str) -> None:
    published = Decimal(PUBLISHED_MILLIONS[name])
    half_unit = Decimal(5) * Decimal(10) ** (published.as_tuple().exponent - 1)  # "0.27" → 0.005
    ours = Decimal(parameter_count(create_model(name, num_classes=10))) / Decimal(10**6)
    assert abs(ours - published) <= half_unit, f"{name}: {ours:.4f}M does not round to {published}M"


def test_cifar_resnet_layer_count_is_6n_plus_2() -> None:
    for depth in (20, 32, 44, 56, 110):
        model = cifar_resnet(depth)
        convolutions = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
        assert len(convolutions) + len(linears) == depth  # option A adds no layer
        assert len(model.layer1) == len(model.layer2) == len(model.layer3) == (depth - 2) // 6


def test_cifar_resnet_maps_and_widths() -> None:
    model = create_model("resnet20").eval()
    maps = []
    hooks = [stage.register_forward_hook(lambda m, i, o: maps.append(tuple(o.shape[1:])))
             for stage in (model.layer1, model.layer2, model.layer3)]
    with torch.no_grad():
        model(random_images(1, 3, 32, 32))
    for hook in hooks:
        hook.remove()
    assert maps == [(16, 32, 32), (32, 16, 16), (64, 8, 8)]  # paper Section 4.2
    one_channel = create_model("resnet20", in_channels=1).eval()
    with torch.no_grad():
        assert one_channel.forward_features(random_images(1, 1, 28, 28)).shape == (1, 64, 7, 7)


# ----------------------------------------------------------------------------------------------------
# Shortcuts
# ----------------------------------------------------------------------------------------------------


def test_option_a_subsamples_and_zero_pads() -> None:
    x = random_images(2, 16, 7, 7)
    y = option_a_shortcut(x, 32, 2)
    assert y.shape == (2, 32, 4, 4)  # 7 → 4, as a stride-2 3×3 convolution with padding 1
    torch.testing.assert_close(y[:, :16], x[:, :, ::2, ::2])
    assert not y[:, 16:].any()
    assert ZeroPadShortcut(32, 2)(x).equal(y)
    assert not list(ZeroPadShortcut(32, 2).parameters())
    with pytest.raises(CourseError):
        option_a_shortcut(x, 8, 1)


def test_option_a_is_parameter_free_and_b_adds_exactly_two_projections() -> None:
    option_a = create_model("resnet20", shortcut="A")
    option_b = create_model("resnet20", shortcut="B")
    assert not any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in option_a.modules())
    # option B: 1×1 convolution + BatchNorm (γ, β) at the two shape changes, 16→32 and 32→64
    projections = (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64)
    assert parameter_count(option_b) - parameter_count(option_a) == projections
    assert parameter_count(option_a) == parameter_count(create_model("plain20"))


def test_option_a_block_passes_the_input_through_when_its_residual_is_zero() -> None:
    block = CifarBasicBlock(16, 32, stride=2, shortcut="A").eval()
    nn.init.zeros_(block.bn2.weight)  # F(x) = 0: the output is relu(shortcut(x))
    x = random_images(1, 16, 8, 8).relu()
    with torch.no_grad():
        out = block(x)
    torch.testing.assert_close(out[:, :16], x[:, :, ::2, ::2])
    assert not out[:, 16:].any()


def test_plain_network_has_no_shortcuts() -> None:
    plain = create_model("plain56")
    blocks = [m for m in plain.modules() if isinstance(m, CifarBasicBlock)]
    assert len(blocks) == 27 and all(block.shortcut is None for block in blocks)
    assert not any(isinstance(m, (nn.Identity, ZeroPadShortcut)) for block in blocks for m in block.modules())
    # behaviour: with its residual zeroed, a plain block outputs zeros, a residual block its input
    plain_block, residual_block = CifarBasicBlock(16, 16, shortcut="none"), CifarBasicBlock(16, 16)
    x = random_images(1, 16, 8, 8).relu()
    for block in (plain_block, residual_block):
        nn.init.zeros_(block.bn2.weight)
        block.eval()
    with torch.no_grad():
        assert not plain_block(x).any()
        torch.testing.assert_close(residual_block(x), x)


def test_bad_shortcut_and_depth_raise_course_errors() -> None:
    with pytest.raises(CourseError):
        create_model("resnet20", shortcut="C")
    with pytest.raises(CourseError):
        create_model("resnet20", shortcut="none")  # that is plain20
    with pytest.raises(CourseError):
        cifar_resnet(21)
    with pytest.raises(CourseError):
        PreActBlock(16, 16, shortcut="none")


# ----------------------------------------------------------------------------------------------------
# Pre-activation (He et al., 2016, arXiv:1603.05027)
# ----------------------------------------------------------------------------------------------------


def test_pre_activation_block_order_and_clean_identity() -> None:
    block = PreActBlock(16, 16).eval()
    x = random_images(1, 16, 8, 8)
    with torch.no_grad():
        out = block(x)
        nn.init.zeros_(block.conv2.weight)  # F(x) = 0: the output is exactly the input, negatives too
        torch.testing.assert_close(block(x), x)
    assert (out < 0).any(), "no ReLU after the addition: outputs can be negative"
    post_activation = CifarBasicBlock(16, 16).eval()
    with torch.no_grad():
        assert (post_activation(x) >= 0).all()


def test_pre_activation_network_ends_with_bn_relu_and_matches_resnet20_size() -> None:
    model = create_model("preact_resnet20")
    assert isinstance(model, CifarResNet) and model.pre_activation
    assert isinstance(model.stem, nn.Conv2d)  # the first block normalises the stem's output
    assert [type(m) for m in model.final_activation] == [nn.BatchNorm2d, nn.ReLU]
    assert all(isinstance(block, PreActBlock) for stage in (model.layer1, model.layer2, model.layer3)
               for block in stage)
    assert model.layer1[0].shortcut_from_preactivation  # "before splitting into two paths"
    assert not model.layer2[0].shortcut_from_preactivation  # option A keeps the raw input
    assert parameter_count(model) == parameter_count(create_model("resnet20"))
    projected = create_model("preact_resnet20", shortcut="B")
    assert projected.layer2[0].shortcut_from_preactivation  # projections are pre-activated too


# ----------------------------------------------------------------------------------------------------
# ImageNet blocks
# ----------------------------------------------------------------------------------------------------


def test_bottleneck_strides_the_3x3_and_widens_with_width_per_group() -> None:
    resnet50 = create_model("resnet50")
    first = resnet50.layer2[0]
    assert isinstance(first, Bottleneck) and first.expansion == 4
    assert first.conv1.stride == (1, 1) and first.conv2.stride == (2, 2)  # ResNet v1.5, as torchvision
    assert [first.conv1.out_channels, first.conv2.out_channels, first.conv3.out_channels] == [128, 128, 512]
    wide = create_model("wide_resnet50_2")
    assert [wide.layer2[0].conv2.out_channels, wide.layer2[0].conv3.out_channels] == [256, 512]
    assert isinstance(create_model("resnet18").layer1[0], BasicBlock)


def test_zero_init_residual_starts_every_block_as_identity() -> None:
    model = create_model("resnet18", zero_init_residual=True)
    blocks = [m for m in model.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 8 and all(not block.bn2.weight.any() for block in blocks)
    resnet50 = create_model("resnet50", zero_init_residual=True)
    bottlenecks = [m for m in resnet50.modules() if isinstance(m, Bottleneck)]
    assert len(bottlenecks) == 16 and all(not block.bn3.weight.any() for block in bottlenecks)
    assert create_model("resnet18").layer1[0].bn2.weight.all()


def test_pretrained_weights_requests_are_checked_before_any_download() -> None:
    with pytest.raises(CourseError, match="reset_classifier"):
        create_model("resnet18", weights="torchvision", num_classes=10)
    with pytest.raises(CourseError, match="in_channels=3"):
        create_model("wide_resnet50_2", weights="torchvision", in_channels=1)
    with pytest.raises(CourseError):
        create_model("resnet50", weights="imagenet")


# ----------------------------------------------------------------------------------------------------
# Wide ResNet (Zagoruyko & Komodakis, 2016, arXiv:1605.07146)
# ----------------------------------------------------------------------------------------------------


def test_wrn_structure_follows_table_1() -> None:
    model = wide_resnet(28, 10)
    assert model.conv1.out_channels == 16
    for stage, width in zip((model.layer1, model.layer2, model.layer3), (160, 320, 640)):
        assert len(stage) == (28 - 4) // 6
        assert all(isinstance(block, WideBasicBlock) and block.conv2.out_channels == width for block in stage)
        assert isinstance(stage[0].shortcut, nn.Conv2d) and stage[0].shortcut.kernel_size == (1, 1)
        assert all(block.shortcut is None for block in stage[1:])  # identity where the shape is kept
    assert model.layer2[0].conv1.stride == (2, 2) and model.layer3[0].shortcut.stride == (2, 2)
    assert model.num_features == 640
    assert wide_resnet(16, 1).layer1[0].shortcut is None  # k = 1: 16 → 16 needs no projection


def test_wrn_dropout_sits_between_the_convolutions() -> None:
    block = WideBasicBlock(16, 16, dropout=0.5)
    order = [name for name, _ in block.named_children()]
    assert order.index("conv1") < order.index("dropout") < order.index("conv2")
    assert order[: order.index("conv2") + 1] == ["bn1", "relu1", "conv1", "bn2", "relu2", "dropout", "conv2"]

    seen: dict[str, Tensor] = {}
    block.relu2.register_forward_hook(lambda m, i, o: seen.__setitem__("after_relu2", o.clone()))
    block.conv2.register_forward_pre_hook(lambda m, i: seen.__setitem__("into_conv2", i[0].clone()))
    block.conv1.register_forward_pre_hook(lambda m, i: seen.__setitem__("into_conv1", i[0].clone()))
    block.relu1.register_forward_hook(lambda m, i, o: seen.__setitem__("after_relu1", o.clone()))
    x = random_images(4, 16, 8, 8)
    torch.manual_seed(0)
    block.train()(x)
    assert not torch.equal(seen["into_conv2"], seen["after_relu2"]), "train mode: dropout before conv2"
    torch.testing.assert_close(seen["into_conv1"], seen["after_relu1"])  # nothing dropped before conv1
    block.eval()(x)
    torch.testing.assert_close(seen["into_conv2"], seen["after_relu2"])  # eval mode: dropout is off


def test_wrn_dropout_never_touches_the_shortcut() -> None:
    block = WideBasicBlock(16, 32, stride=2, dropout=0.5).train()
    nn.init.zeros_(block.conv2.weight)  # F(x) = 0: only the shortcut is left
    x = random_images(4, 16, 8, 8)
    first, second = block(x), block(x)
    torch.testing.assert_close(first, second)  # dropout is random; nothing random reached the output
    no_dropout = WideResNet(16, 4)
    assert all(m.p == 0.0 for m in no_dropout.modules() if isinstance(m, nn.Dropout))  # off by default


def test_wrn_rejects_impossible_configurations() -> None:
    with pytest.raises(CourseError):
        wide_resnet(27, 10)
    with pytest.raises(CourseError):
        wide_resnet(28, 0)
    with pytest.raises(CourseError):
        create_model("wrn_16_4", dropout=1.5)


# ----------------------------------------------------------------------------------------------------
# SENet (Hu et al., 2017, arXiv:1709.01507)
# ----------------------------------------------------------------------------------------------------


def test_se_resnet50_squeeze_widths_follow_table_1() -> None:
    model = create_model("se_resnet50")
    # Table 1: fc [16, 256], [32, 512], [64, 1024], [128, 2048]; block counts 3, 4, 6, 3
    for stage, (squeeze, channels, blocks) in zip(
        (model.layer1, model.layer2, model.layer3, model.layer4),
        ((16, 256, 3), (32, 512, 4), (64, 1024, 6), (128, 2048, 3)),
    ):
        assert len(stage) == blocks
        for block in stage:
            assert isinstance(block, SEBottleneck)
            assert (block.se.fc1.in_channels, block.se.fc1.out_channels) == (channels, squeeze)
            assert (block.se.fc2.in_channels, block.se.fc2.out_channels) == (squeeze, channels)
    stages = ((16, 256, 3), (32, 512, 4), (64, 1024, 6), (128, 2048, 3))
    se_total = sum(se_params(channels, squeeze) * blocks for squeeze, channels, blocks in stages)
    assert parameter_count(model) - parameter_count(create_model("resnet50")) == se_total


def test_cifar_se_squeeze_widths() -> None:
    model = create_model("se_resnet20")
    widths = [(block.se.fc1.in_channels, block.se.fc1.out_channels)
              for stage in (model.layer1, model.layer2, model.layer3) for block in stage]
    assert widths == [(16, 1)] * 3 + [(32, 2)] * 3 + [(64, 4)] * 3  # C / 16
    assert all(isinstance(block, SEBasicBlock) for stage in (model.layer1, model.layer2) for block in stage)
    assert parameter_count(model) - parameter_count(create_model("resnet20")) == 3 * (
        se_params(16, 1) + se_params(32, 2) + se_params(64, 4)
    )


def test_se_scales_the_residual_before_the_addition() -> None:
    """Closing the SE gate (sigmoid → 0) removes the residual branch: the block becomes relu(identity)."""
    bottleneck = SEBottleneck(256, 64).eval()
    basic = SEBasicBlock(16, 16).eval()
    x = random_images(1, 256, 8, 8)
    small_x = random_images(1, 16, 8, 8)
    with torch.no_grad():
        for block, inputs in ((bottleneck, x), (basic, small_x)):
            assert isinstance(block.se, SqueezeExcitation)
            block.se.fc2.bias.fill_(-1e4)
            torch.testing.assert_close(block(inputs), inputs.relu())
