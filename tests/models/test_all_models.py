"""The interface every registered model keeps (see the working agreement, "Every model").

Parametrised over the registry, so a model registered by any family is covered the moment it exists:
forward and backward at a small input, the feature/head split, ``num_features``, ``reset_classifier``,
keyword-only builders that accept ``in_channels=1``, and the registry's answer to a misspelt name.
"""

from __future__ import annotations

import inspect

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.models import create_model, list_models, model_info

ALL_MODELS = list_models()

#: ImageNet-sized models are tested at 64 px: every family here still has a map of at least 1×1 at
#: the end (five halvings leave 2×2), and the test stays fast on a CPU.
MAX_TEST_SIDE = 64
#: Fashion-MNIST's side: models registered for ≤ 32 px inputs must run on it with ``in_channels=1``.
FASHION_MNIST_SIDE = 28
BATCH = 2  # BatchNorm in training mode needs more than one value per channel




def small_input_shape(name: str, in_channels: int | None = None) -> tuple[int, int, int, int]:
    channels, height, width = model_info(name).input_size
    return (BATCH, in_channels or channels, min(height, MAX_TEST_SIDE), min(width, MAX_TEST_SIDE))


def seeded_input(shape: tuple[int, ...], seed: int = 0) -> Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def test_registry_is_populated_by_every_family() -> None:
    families = {model_info(name).family for name in ALL_MODELS}
    assert {"resnet", "wide_resnet", "senet", "densenet"} <= families, families


@pytest.mark.parametrize("name", ALL_MODELS)
def test_builder_is_keyword_only_and_registered_input_matches_its_default(name: str) -> None:
    info = model_info(name)
    parameters = inspect.signature(info.builder).parameters
    positional = [p.name for p in parameters.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    assert not positional, f"{name}: parameters {positional} must be keyword-only (put them after '*')"
    assert {"num_classes", "in_channels"} <= set(parameters), f"{name} lacks num_classes / in_channels"
    assert parameters["in_channels"].default == info.input_size[0]
    if info.torchvision_name is not None:
        assert "weights" in parameters and parameters["weights"].default is None
    with pytest.raises(TypeError):
        info.builder(10)  # a positional argument is refused before anything is built


@pytest.mark.parametrize("name", ALL_MODELS)
def test_forward_backward_in_training_mode(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name, num_classes=5).train()
    x = seeded_input(small_input_shape(name))
    logits = model(x)
    assert logits.shape == (BATCH, 5)
    assert torch.isfinite(logits).all(), f"{name} produced NaN or inf"

    F.cross_entropy(logits, torch.tensor([0, 3])).backward()
    no_gradient = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
    assert not no_gradient, f"{name}: parameters never used in forward: {no_gradient[:5]}"
    not_finite = [n for n, p in model.named_parameters() if not torch.isfinite(p.grad).all()]
    assert not not_finite, f"{name}: NaN/inf gradients in {not_finite[:5]}"
    # (an exactly-zero gradient is not checked: with two samples, a 1-unit SE bottleneck can be dead)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_features_head_num_features_and_reset_classifier(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name).eval()
    x = seeded_input(small_input_shape(name))
    assert isinstance(model.num_features, int)

    linear_inputs: list[int] = []

    def record_first_linear(module: nn.Module, args: tuple[Tensor, ...]) -> None:
        linear_inputs.append(args[0].shape[-1])

    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    hooks = [linear.register_forward_pre_hook(record_first_linear) for linear in linears]
    with torch.no_grad():
        features = model.forward_features(x)
        assert features.ndim == 4 and features.shape[:2] == (BATCH, model.num_features), features.shape
        linear_inputs.clear()  # only the head's fully connected layers count (SE blocks are 1×1 convs)
        from_head = model.forward_head(features)
        for hook in hooks:
            hook.remove()
        torch.testing.assert_close(from_head, model(x))
    default_classes = inspect.signature(model_info(name).builder).parameters["num_classes"].default
    assert from_head.shape == (BATCH, default_classes)
    assert linear_inputs, f"{name}: the head has no fully connected layer"
    # a pooling head feeds num_features values to its first fully connected layer; a flattening head
    # (the baseline CNN) feeds num_features · H · W
    height, width = features.shape[2:]
    assert linear_inputs[0] in (model.num_features, model.num_features * height * width), (
        f"{name}: the head's first fully connected layer takes {linear_inputs[0]} inputs, which does not "
        f"follow from num_features={model.num_features} and a {height}×{width} feature map"
    )

    model.reset_classifier(7)
    with torch.no_grad():
        assert model(x).shape == (BATCH, 7)
    with pytest.raises(CourseError):
        model.reset_classifier(0)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_accepts_one_input_channel(name: str) -> None:
    """Fashion-MNIST is grey: every builder takes ``in_channels=1``; small-image models run at 28×28."""
    torch.manual_seed(0)
    model = create_model(name, num_classes=10, in_channels=1).eval()
    shape = small_input_shape(name, in_channels=1)
    if model_info(name).input_size[1] <= 32:
        shape = (BATCH, 1, FASHION_MNIST_SIDE, FASHION_MNIST_SIDE)
    with torch.no_grad():
        logits = model(seeded_input(shape))
    assert logits.shape == (BATCH, 10) and torch.isfinite(logits).all()


@pytest.mark.parametrize("bad_arguments", [{"num_classes": 0}, {"in_channels": 0}, {"num_classes": 2.5}])
def test_impossible_sizes_raise_course_error(bad_arguments: dict[str, object]) -> None:
    for name in ("resnet20", "resnet18", "wrn_16_4", "se_resnet20", "densenet_bc_40_12"):
        with pytest.raises(CourseError):
            create_model(name, **bad_arguments)


def test_unknown_name_lists_close_matches() -> None:
    with pytest.raises(UnknownNameError) as caught:
        create_model("ResNet-50")
    assert "resnet50" in caught.value.close_matches
    assert "resnet50" in str(caught.value) and "list_models" in str(caught.value)

    with pytest.raises(UnknownNameError) as caught:
        create_model("densenet12")
    assert "densenet121" in caught.value.close_matches
    assert isinstance(caught.value, CourseError)


def test_unknown_family_is_refused() -> None:
    with pytest.raises(UnknownNameError):
        list_models(family="resnext")
    assert "resnet50" in list_models(family="resnet")
    assert "resnet50" not in list_models(family="densenet")
