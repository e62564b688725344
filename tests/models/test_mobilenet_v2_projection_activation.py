"""The ``projection_activation`` option of MobileNet v2 (chapter 06's linear-bottleneck ablation).

The default must stay the paper's linear bottleneck (no activation after the projection, torchvision's
block); with the option, every block ends in the activation and the parameters are unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from cnncourse.layers.inverted_residual import InvertedResidual
from cnncourse.models import create_model
from cnncourse.models.mobilenet import MobileNetV2, mobilenet_v2_cifar


def _blocks(model: nn.Module) -> list[InvertedResidual]:
    return [m for m in model.modules() if isinstance(m, InvertedResidual)]


def test_default_block_ends_in_batchnorm() -> None:
    block = InvertedResidual(16, 16, 1, 6)
    assert isinstance(block.conv[-1], nn.BatchNorm2d)
    assert all(isinstance(b.conv[-1], nn.BatchNorm2d) for b in _blocks(mobilenet_v2_cifar()))


def test_option_adds_the_activation_after_the_projection_and_no_parameters() -> None:
    torch.manual_seed(0)
    linear = InvertedResidual(16, 24, 2, 6).eval()
    relu = InvertedResidual(16, 24, 2, 6, projection_activation=nn.ReLU).eval()
    assert isinstance(relu.conv[-1], nn.ReLU) and isinstance(relu.conv[-2], nn.BatchNorm2d)
    relu.load_state_dict(linear.state_dict(), strict=True)  # same names and shapes
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        assert torch.equal(relu(x), torch.relu(linear(x)))
        assert (linear(x) < 0).any()  # so the comparison above can fail


def test_option_reaches_every_block_of_the_model_and_create_model() -> None:
    model = create_model("mobilenet_v2_cifar", in_channels=1, width_mult=0.25, projection_activation=nn.ReLU)
    blocks = _blocks(model)
    assert len(blocks) == 17 and all(isinstance(b.conv[-1], nn.ReLU) for b in blocks)
    plain = MobileNetV2(width_mult=0.25)
    assert sum(p.numel() for p in plain.parameters()) == sum(
        p.numel() for p in MobileNetV2(width_mult=0.25, projection_activation=nn.ReLU).parameters())
