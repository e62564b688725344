"""DenseNet (Huang et al., 2017, arXiv:1608.06993): growth by concatenation, compressing transitions,
and the sizes of the CIFAR DenseNet-BC networks."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.models import create_model
from cnncourse.models.densenet import DenseBlock, DenseLayer, DenseNet, Transition, densenet_bc_cifar


def parameter_count(model: nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())


def random_images(*shape: int, seed: int = 0) -> Tensor:
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed))


def densenet_bc_parameters_by_formula(depth: int, k: int, num_classes: int, in_channels: int = 3) -> int:
    """Count DenseNet-BC for CIFAR from the paper's description (Section 3), layer by layer.

    First 3×3 convolution to 2k channels; three blocks of n = (L - 4) / 6 layers, each
    BN(c) → 1×1 conv c → 4k → BN(4k) → 3×3 conv 4k → k; transitions BN(c) → 1×1 conv c → ⌊c/2⌋;
    a final BN and the classifier. A BatchNorm has 2 parameters per channel.
    """
    layers_per_block = (depth - 4) // 6
    channels = 2 * k
    total = in_channels * channels * 9
    for block in range(3):
        for _ in range(layers_per_block):
            total += 2 * channels + channels * 4 * k + 2 * 4 * k + 4 * k * k * 9
            channels += k
        if block < 2:
            total += 2 * channels + channels * (channels // 2)
            channels //= 2
    return total + 2 * channels + channels * num_classes + num_classes


@pytest.mark.parametrize(
    ("name", "depth", "growth_rate"), [("densenet_bc_100_12", 100, 12), ("densenet_bc_40_12", 40, 12)]
)
def test_cifar_densenet_bc_size_follows_the_paper(name: str, depth: int, growth_rate: int) -> None:
    model = create_model(name, num_classes=10)
    assert parameter_count(model) == densenet_bc_parameters_by_formula(depth, growth_rate, 10)


def test_densenet_bc_100_12_is_the_papers_0_8m() -> None:
    # Huang et al., 2017, Table 2: DenseNet-BC (L = 100, k = 12), 0.8M parameters; ours must round to it
    count = parameter_count(create_model("densenet_bc_100_12", num_classes=10))
    assert abs(count - 800_000) <= 50_000, count
    model = create_model("densenet_bc_100_12")
    blocks = [m for m in model.modules() if isinstance(m, DenseBlock)]
    assert [len(block) for block in blocks] == [16, 16, 16]  # (100 - 4) / 6
    assert model.features.conv0.out_channels == 24  # 2k for DenseNet-BC
    assert model.features.conv0.kernel_size == (3, 3)


def test_small_densenet_states_its_size() -> None:
    # its docstring says 0.18M
    assert round(parameter_count(create_model("densenet_bc_40_12")) / 1e6, 2) == 0.18


def test_each_layer_adds_k_channels_by_concatenation() -> None:
    k, in_channels = 12, 24
    block = DenseBlock(num_layers=4, in_channels=in_channels, growth_rate=k).eval()
    for index, layer in enumerate(block.values()):
        assert isinstance(layer, DenseLayer)
        assert layer.conv1.in_channels == in_channels + index * k  # sees everything before it
        assert layer.conv1.out_channels == 4 * k  # DenseNet-B bottleneck
        assert layer.conv2.out_channels == k

    x = random_images(2, in_channels, 8, 8)
    outputs: list[Tensor] = []
    for layer in block.values():
        layer.register_forward_hook(lambda m, i, o: outputs.append(o))
    with torch.no_grad():
        out = block(x)
    assert out.shape == (2, in_channels + 4 * k, 8, 8)
    assert block.out_channels == in_channels + 4 * k
    torch.testing.assert_close(out[:, :in_channels], x)  # the input passes through untouched: concatenation
    torch.testing.assert_close(out[:, in_channels:], torch.cat(outputs, 1))  # then each layer's k new maps


def test_a_single_layer_output_is_input_plus_k() -> None:
    layer = DenseLayer(in_channels=20, growth_rate=8).eval()
    x = random_images(1, 20, 5, 5)
    with torch.no_grad():
        new = layer(x)
        assert new.shape == (1, 8, 5, 5)
        assert torch.cat([x, new], 1).shape[1] == 20 + 8
        torch.testing.assert_close(layer([x[:, :12], x[:, 12:]]), new)  # a list is concatenated first


def test_transitions_halve_channels_and_resolution() -> None:
    model = create_model("densenet121")
    transitions = [m for m in model.modules() if isinstance(m, Transition)]
    assert len(transitions) == 3
    # 64 + 6·32 = 256 → 128; 128 + 12·32 = 512 → 256; 256 + 24·32 = 1024 → 512; + 16·32 = 1024 at the end
    channels = [(t.conv.in_channels, t.conv.out_channels) for t in transitions]
    assert channels == [(256, 128), (512, 256), (1024, 512)]
    assert model.num_features == 1024
    transition = transitions[0].eval()
    with torch.no_grad():
        assert transition(random_images(1, 256, 14, 14)).shape == (1, 128, 7, 7)


def test_densenet_161_uses_growth_rate_48() -> None:
    model = create_model("densenet161")
    first_block = model.features.denseblock1
    assert model.features.conv0.out_channels == 96
    assert first_block.denselayer1.conv2.out_channels == 48
    assert len(model.features.denseblock3) == 36


def test_dense_layer_dropout_acts_in_training_only() -> None:
    model = create_model("densenet_bc_40_12", drop_rate=0.5)
    x = random_images(2, 3, 32, 32)
    torch.manual_seed(0)
    first, second = model.train()(x), model(x)
    assert not torch.equal(first, second)
    model.eval()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x))


def test_bad_configurations_raise_course_errors() -> None:
    with pytest.raises(CourseError):
        densenet_bc_cifar(99, 12)
    with pytest.raises(CourseError):
        DenseNet(12, (6, 6, 6), 24, stem="mnist")  # type: ignore[arg-type]
    with pytest.raises(CourseError):
        DenseNet(12, (6, 6, 6), 24, compression=0.0, stem="cifar")
    with pytest.raises(CourseError):
        DenseNet(0, (6, 6, 6), 24)
    with pytest.raises(CourseError):
        create_model("densenet121", weights="torchvision", num_classes=10)


def test_memory_efficient_layers_give_the_same_outputs_and_gradients_and_keep_less() -> None:
    # Pleiss et al., 2017 (arXiv:1707.06990); torchvision's memory_efficient option: checkpointing changes
    # what autograd keeps, never the arithmetic
    torch.manual_seed(0)
    plain = densenet_bc_cifar(40, 12, in_channels=1)
    efficient = densenet_bc_cifar(40, 12, in_channels=1, memory_efficient=True)
    efficient.load_state_dict(plain.state_dict(), strict=True)
    assert all(layer.memory_efficient for layer in efficient.modules() if isinstance(layer, DenseLayer))
    x = random_images(4, 1, 28, 28)
    with torch.no_grad():  # before training: the running statistics are still the same
        torch.testing.assert_close(plain.eval()(x), efficient.eval()(x))
    saved_bytes = []
    for model in (plain, efficient):
        kept: list[int] = []

        def pack(tensor: Tensor, kept: list[int] = kept) -> Tensor:
            kept.append(tensor.untyped_storage().nbytes())
            return tensor

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
            model.train()(x).square().mean().backward()
        saved_bytes.append(sum(kept))
    for (name, ours), theirs in zip(plain.named_parameters(), efficient.parameters()):
        torch.testing.assert_close(ours.grad, theirs.grad, msg=name)
    assert saved_bytes[1] < 0.75 * saved_bytes[0], saved_bytes  # 26.4 MB against 38.6 MB when written


def test_memory_efficient_recomputation_steps_norm1_statistics_twice() -> None:
    # the docstring's warning, kept true: recomputing in backward runs norm1 again in training mode
    layer = DenseLayer(8, 4, memory_efficient=True).train()
    x = random_images(2, 8, 5, 5).requires_grad_(True)
    layer(x).sum().backward()
    assert int(layer.norm1.num_batches_tracked) == 2 and int(layer.norm2.num_batches_tracked) == 1
    with torch.no_grad():  # without autograd there is nothing to recompute
        layer(x)
    assert int(layer.norm1.num_batches_tracked) == 3
