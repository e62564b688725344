"""Our standard configurations ARE torchvision's models, and the published parameter counts hold.

For every registered model with a ``torchvision_name`` (any family, as it registers): same parameter
count, same ``state_dict`` names and shapes, a strict load of torchvision's randomly initialised
weights, and the same eval-mode outputs. Nothing is downloaded: torchvision builds with
``weights=None``. Before the copy, the BatchNorm statistics and affine parameters of the torchvision
model are randomised; at their default values every BatchNorm is the identity in eval mode and two
swapped BatchNorms would go unnoticed.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from cnncourse.errors import CourseError
from cnncourse.models import create_model, list_models, model_info
from cnncourse.models._torchvision import copy_torchvision_state

PARITY_MODELS = [name for name in list_models() if model_info(name).torchvision_name is not None]

#: The names issue 3 promises to equal torchvision; each must be registered with its torchvision name.
PROMISED_PARITY = {
    "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
    "wide_resnet50_2", "wide_resnet101_2",
    "densenet121", "densenet161", "densenet169", "densenet201",
    "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mnasnet0_5", "mnasnet1_0",
    *(f"efficientnet_b{phi}" for phi in range(8)),
}  # fmt: skip

#: Published parameter counts (3×224×224 input, 1000 classes), copied from /work/shared/REFERENCE_FIGURES.md.
#: torchvision's figures are the ``num_params`` of its weight documentation; the last two are timm's
#: (``seresnet50``, ``mobilenetv1_100``) for the families torchvision lacks. They are facts about the
#: published models, not numbers derived from our code.
PUBLISHED_PARAMETER_COUNTS: dict[str, int] = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "wide_resnet50_2": 68_883_240,
    "densenet121": 7_978_856,
    "mobilenet_v2": 3_504_872,
    "mobilenet_v3_large": 5_483_032,
    "mobilenet_v3_small": 2_542_856,
    "mnasnet1_0": 4_383_312,
    "efficientnet_b0": 5_288_548,
    "efficientnet_b1": 7_794_184,
    "se_resnet50": 28_088_024,  # timm seresnet50 (Hu et al., 2017, arXiv:1709.01507: "28.1M")
    "mobilenet_v1": 4_231_976,  # timm mobilenetv1_100 (Howard et al., 2017, arXiv:1704.04861: "4.2M")
}

INPUT_SIDE = 64  # small enough to keep the whole file fast; every network still ends on a ≥ 1×1 map




def parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def randomise_batchnorms(model: nn.Module, generator: torch.Generator) -> None:
    """Give every BatchNorm its own statistics and affine parameters (near the identity, so deep
    networks stay finite)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                channels = module.num_features
                module.running_mean.copy_(0.1 * torch.randn(channels, generator=generator))
                module.running_var.copy_(0.75 + 0.5 * torch.rand(channels, generator=generator))
                module.weight.copy_(0.75 + 0.5 * torch.rand(channels, generator=generator))
                module.bias.copy_(0.1 * torch.randn(channels, generator=generator))


def test_every_promised_model_is_registered_with_its_torchvision_name() -> None:
    registered = {name: model_info(name).torchvision_name for name in PARITY_MODELS}
    missing = sorted(PROMISED_PARITY - set(registered))
    assert not missing, f"not registered with a torchvision_name yet: {missing}"
    for name in PROMISED_PARITY:
        assert registered[name] == name, f"{name} is registered as torchvision's {registered[name]!r}"


@pytest.mark.parametrize("name", PARITY_MODELS)
def test_equal_to_torchvision(name: str) -> None:
    torchvision_name = model_info(name).torchvision_name
    assert torchvision_name is not None
    torch.manual_seed(0)
    reference = torchvision.models.get_model(torchvision_name, weights=None).eval()
    ours = create_model(name).eval()

    assert parameter_count(ours) == parameter_count(reference)
    our_shapes = {key: tuple(value.shape) for key, value in ours.state_dict().items()}
    reference_shapes = {key: tuple(value.shape) for key, value in reference.state_dict().items()}
    only_ours = sorted(set(our_shapes) - set(reference_shapes))
    only_reference = sorted(set(reference_shapes) - set(our_shapes))
    assert not only_ours and not only_reference, (
        f"state_dict keys differ: only ours {only_ours[:5]}, only torchvision's {only_reference[:5]}"
    )
    assert our_shapes == reference_shapes

    generator = torch.Generator().manual_seed(1)
    randomise_batchnorms(reference, generator)
    copy_torchvision_state(ours, reference)  # strict: raises on any missing or unexpected key
    images = torch.randn(2, 3, INPUT_SIDE, INPUT_SIDE, generator=generator)
    with torch.no_grad():
        expected = reference(images)
        actual = ours(images)
    assert actual.shape == expected.shape == (2, 1000)
    assert torch.isfinite(expected).all()
    scale = float(expected.abs().max())
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5 * max(scale, 1.0))


@pytest.mark.parametrize("name", PARITY_MODELS)
def test_unknown_weights_name_is_a_course_error(name: str) -> None:
    with pytest.raises(CourseError, match="torchvision"):
        create_model(name, weights="imagenet")


@pytest.mark.parametrize("name", sorted(PUBLISHED_PARAMETER_COUNTS))
def test_published_parameter_count(name: str) -> None:
    assert name in list_models(), f"{name} is not registered"
    model = create_model(name)
    assert parameter_count(model) == PUBLISHED_PARAMETER_COUNTS[name]
