"""Neural architecture search: what three searches found, and the search space of a fourth.

1. **NASNet-A** (Zoph, Vasudevan, Shlens & Le, 2018, "Learning Transferable Architectures for Scalable
   Image Recognition", arXiv:1707.07012). A controller RNN trained with reinforcement learning searched
   for two *cells* on CIFAR-10 — a normal cell that keeps the feature-map size and a reduction cell that
   halves it — which are then stacked into networks of any size (Section 3, Fig. 2). The best cells,
   NASNet-A, are drawn in Fig. 4 and built here (:data:`NASNET_A_NORMAL_CELL`,
   :data:`NASNET_A_REDUCTION_CELL`), with a small CIFAR-sized network, :func:`nasnet_a_cifar_small`.
   NASNet-A (6 @ 4032): 82.7% ImageNet top-1, 88.9M parameters; the mobile NASNet-A (4 @ 1056): 74.0%,
   5.3M, 564M mult-adds (Tables 2 and 3).
2. **MnasNet** (Tan, Chen, Pang, Vasudevan, Sandler, Howard & Le, 2019, "MnasNet: Platform-Aware Neural
   Architecture Search for Mobile", arXiv:1807.11626). The search maximises accuracy *and* measured
   phone latency with the reward ACC(m)·[LAT(m)/T]^w (:func:`mnasnet_reward`) over a factorized,
   per-stage search space of MBConv blocks. ``mnasnet0_5`` … ``mnasnet1_3`` equal torchvision's models.
3. **AE-CNN** (Sun, Xue, Zhang & Yen, "Completely Automated CNN Architecture Design Based on Blocks",
   IEEE TNNLS 31(4), 2020, arXiv:1810.11875). A genetic algorithm whose genes are whole ResNet block
   units, DenseNet block units and pooling units. :class:`Genome` encodes one individual, builds it into
   a network, and provides the genetic operators (random initialisation, mutation, crossover). The
   search loop itself is the NAS chapter's.

(EfficientNet-B0, the fourth NAS result of the course, lives in :mod:`cnncourse.models.efficientnet`.)
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.layers.misc import make_divisible
from cnncourse.models._registry import check_model_arguments, register_model
from cnncourse.models._torchvision import apply_weights

NASNET_PAPER = "Zoph et al., 2018, arXiv:1707.07012"
MNASNET_PAPER = "Tan et al., 2019, arXiv:1807.11626"
AECNN_PAPER = "Sun, Xue, Zhang & Yen, IEEE TNNLS 2020, arXiv:1810.11875"


# ====================================================================================================
# 1. NASNet-A
# ====================================================================================================
#
# A cell has two inputs, h_i (the output of the previous cell) and h_{i-1} (the output of the cell
# before that), and five blocks. Each block picks two hidden states, applies one operation to each and
# combines the results (Section 3, Fig. 3; the controller may choose addition or concatenation, and
# every NASNet-A block adds). The new hidden state can be picked by later blocks. The cell's output
# concatenates hidden states along the channels.

#: Index of h_i, the previous cell's output, in a cell's list of hidden states.
H_CURRENT: int = 0
#: Index of h_{i-1}, the output of the cell before the previous one.
H_PREVIOUS: int = 1
# Blocks 1..5 append hidden states 2..6.

NasOperation = Literal["sep_3x3", "sep_5x5", "sep_7x7", "avg_3x3", "max_3x3", "identity"]
NAS_OPERATIONS: tuple[str, ...] = ("sep_3x3", "sep_5x5", "sep_7x7", "avg_3x3", "max_3x3", "identity")


@dataclass(frozen=True)
class CellBlock:
    """One of a cell's five blocks: ``left_op(state[left_input]) + right_op(state[right_input])``."""

    left_input: int
    left_op: NasOperation
    right_input: int
    right_op: NasOperation


@dataclass(frozen=True)
class CellSpec:
    """A searched cell: five blocks and the hidden states its output concatenates."""

    name: str
    blocks: tuple[CellBlock, CellBlock, CellBlock, CellBlock, CellBlock]
    concat: tuple[int, ...]


#: NASNet-A normal cell, Fig. 4 (left). Hidden states: 0 = h_i, 1 = h_{i-1}, 2..6 = blocks 1..5.
#:
#: 1. sep 5×5 (h_i)     + sep 3×3 (h_{i-1})
#: 2. sep 5×5 (h_{i-1}) + sep 3×3 (h_{i-1})
#: 3. avg 3×3 (h_i)     + identity (h_{i-1})
#: 4. avg 3×3 (h_{i-1}) + avg 3×3 (h_{i-1})
#: 5. sep 3×3 (h_i)     + identity (h_i)
#:
#: Output: concat(h_{i-1}, blocks 1–5) — six states of F channels each, as in the authors' released
#: TensorFlow code (``nasnet_utils.NasNetANormalCell``). That is why the paper's "N @ F" names have F
#: divisible by 6: 1056 = 6·176, 4032 = 6·672.
NASNET_A_NORMAL_CELL = CellSpec(
    name="normal",
    blocks=(
        CellBlock(H_CURRENT, "sep_5x5", H_PREVIOUS, "sep_3x3"),
        CellBlock(H_PREVIOUS, "sep_5x5", H_PREVIOUS, "sep_3x3"),
        CellBlock(H_CURRENT, "avg_3x3", H_PREVIOUS, "identity"),
        CellBlock(H_PREVIOUS, "avg_3x3", H_PREVIOUS, "avg_3x3"),
        CellBlock(H_CURRENT, "sep_3x3", H_CURRENT, "identity"),
    ),
    concat=(H_PREVIOUS, 2, 3, 4, 5, 6),
)

#: NASNet-A reduction cell, Fig. 4 (right). Operations applied to h_i or h_{i-1} have stride 2; those
#: applied to a block's output (already halved) have stride 1.
#:
#: 1. sep 5×5 (h_i)     + sep 7×7 (h_{i-1})
#: 2. max 3×3 (h_i)     + sep 7×7 (h_{i-1})
#: 3. avg 3×3 (h_i)     + sep 5×5 (h_{i-1})
#: 4. identity (block 2) + avg 3×3 (block 1)
#: 5. sep 3×3 (block 1) + max 3×3 (h_i)
#:
#: Output: concat(blocks 2–5), four states of F channels at half the size (the authors' code; block 1
#: only feeds blocks 4 and 5).
NASNET_A_REDUCTION_CELL = CellSpec(
    name="reduction",
    blocks=(
        CellBlock(H_CURRENT, "sep_5x5", H_PREVIOUS, "sep_7x7"),
        CellBlock(H_CURRENT, "max_3x3", H_PREVIOUS, "sep_7x7"),
        CellBlock(H_CURRENT, "avg_3x3", H_PREVIOUS, "sep_5x5"),
        CellBlock(3, "identity", 2, "avg_3x3"),
        CellBlock(2, "sep_3x3", H_CURRENT, "max_3x3"),
    ),
    concat=(3, 4, 5, 6),
)


class SeparableConvTwice(nn.Module):
    """NASNet's "sep k×k": (ReLU → depthwise k×k → pointwise 1×1 → BN) applied twice.

    The paper's Appendix notes that each separable convolution operation is applied twice in a row,
    which improved results; the stride, if any, is on the first depthwise convolution.
    """

    def __init__(self, channels: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        self.first = self._relu_separable_bn(channels, kernel_size, stride)
        self.second = self._relu_separable_bn(channels, kernel_size, 1)

    @staticmethod
    def _relu_separable_bn(channels: int, kernel_size: int, stride: int) -> nn.Sequential:
        return nn.Sequential(
            nn.ReLU(),
            # Depthwise k×k (one filter per channel), then pointwise 1×1.
            nn.Conv2d(
                channels, channels, kernel_size, stride, padding=kernel_size // 2, groups=channels, bias=False
            ),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.second(self.first(x))


class FactorizedReduce(nn.Module):
    """Halve the spatial size without skipping pixels: two stride-2 1×1 convolutions, the second on
    the input shifted by one pixel, concatenated (the authors' ``factorized_reduction``).

    NASNet uses it when a cell's h_{i-1} is twice as large as its h_i (the cell after a reduction cell).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        if out_channels % 2:
            raise CourseError(
                f"FactorizedReduce needs an even number of output channels, got {out_channels}."
            )
        self.relu = nn.ReLU()
        self.path_even = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        self.path_odd = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: Tensor) -> Tensor:
        x = self.relu(x)
        # Pad one row and column at the bottom right, then drop the first: the odd pixels, same count.
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.path_even(x), self.path_odd(shifted)], dim=1))


class _ReluConvBn(nn.Sequential):
    """ReLU → 1×1 convolution → BatchNorm: how NASNet adapts a hidden state's width (or strides an
    identity operation)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
            nn.BatchNorm2d(out_channels),
        )


def make_nas_operation(name: str, channels: int, stride: int) -> nn.Module:
    """The module for one NASNet operation on a ``channels``-wide hidden state."""
    if name in ("sep_3x3", "sep_5x5", "sep_7x7"):
        return SeparableConvTwice(channels, int(name[-1]), stride)
    if name == "avg_3x3":
        # TensorFlow's "SAME" average pooling does not count the padding; count_include_pad=False agrees.
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "max_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "identity":
        return nn.Identity() if stride == 1 else _ReluConvBn(channels, channels, stride)
    raise UnknownNameError("NASNet operation", name, NAS_OPERATIONS)


class NasNetACell(nn.Module):
    """One NASNet cell built from a :class:`CellSpec`.

    Before the five blocks, both inputs are brought to ``channels`` (F) channels: h_i by ReLU → 1×1
    conv → BN; h_{i-1} by :class:`FactorizedReduce` when it is twice as large (it comes from before a
    reduction cell), by ReLU → 1×1 conv → BN when only its width differs, and not at all otherwise.

    Args:
        spec: the cell (normal or reduction).
        current_channels: channels of h_i.
        previous_channels: channels of h_{i-1}.
        channels: F, the width of every operation inside the cell.
        reduction: whether operations on h_i / h_{i-1} use stride 2.
        previous_is_larger: whether h_{i-1} has twice the spatial size of h_i.
    """

    def __init__(
        self,
        spec: CellSpec,
        *,
        current_channels: int,
        previous_channels: int,
        channels: int,
        reduction: bool,
        previous_is_larger: bool,
    ) -> None:
        super().__init__()
        self.spec = spec
        self.reduction = reduction
        self.preprocess_current = _ReluConvBn(current_channels, channels)
        if previous_is_larger:
            self.preprocess_previous: nn.Module = FactorizedReduce(previous_channels, channels)
        elif previous_channels != channels:
            self.preprocess_previous = _ReluConvBn(previous_channels, channels)
        else:
            self.preprocess_previous = nn.Identity()

        def stride_for(state: int) -> int:
            # Only the cell inputs are at the large size; block outputs are already reduced.
            return 2 if reduction and state in (H_CURRENT, H_PREVIOUS) else 1

        self.left_ops = nn.ModuleList(
            make_nas_operation(block.left_op, channels, stride_for(block.left_input))
            for block in spec.blocks
        )
        self.right_ops = nn.ModuleList(
            make_nas_operation(block.right_op, channels, stride_for(block.right_input))
            for block in spec.blocks
        )
        self.out_channels = channels * len(spec.concat)

    def forward(self, current: Tensor, previous: Tensor) -> Tensor:
        states = [self.preprocess_current(current), self.preprocess_previous(previous)]
        for block, left_op, right_op in zip(self.spec.blocks, self.left_ops, self.right_ops):
            states.append(left_op(states[block.left_input]) + right_op(states[block.right_input]))
        return torch.cat([states[index] for index in self.spec.concat], dim=1)


class NASNetA(nn.Module):
    """A NASNet-A network for small images, the paper's CIFAR-10 layout (Section 4.1, Fig. 2):

    stem (3×3 conv, 3F channels, BN) → N normal cells (F) → reduction cell (2F) → N normal cells (2F) →
    reduction cell (4F) → N normal cells (4F) → ReLU → global average pooling → dropout → linear.

    Each cell receives the outputs of the two cells before it (the first cell gets the stem output
    twice). The paper's CIFAR model "NASNet-A (6 @ 768)" is N = 6, F = 32 (768 = 6·4·32) with 3.3M
    parameters (Table 1).

    Simplified with respect to the paper: no auxiliary classifier, no ScheduledDropPath (the paper's
    drop-path regularisation whose probability grows linearly during training), and each cell always
    takes the two previous cells' outputs (the authors' code can skip a reduction cell's input).
    """

    def __init__(
        self,
        *,
        num_classes: int = 10,
        in_channels: int = 3,
        num_normal_cells: int = 2,
        filters: int = 16,
        stem_multiplier: int = 3,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        if num_normal_cells < 1:
            raise CourseError(f"num_normal_cells (N) must be at least 1, got {num_normal_cells}.")
        if filters < 2 or filters % 2:
            raise CourseError(f"filters (F) must be an even number of at least 2, got {filters}.")
        if not 0.0 <= dropout < 1.0:
            raise CourseError(f"dropout must be in [0, 1), got {dropout}.")
        stem_channels = stem_multiplier * filters
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, stem_channels, 3, padding=1, bias=False), nn.BatchNorm2d(stem_channels)
        )
        cells: list[NasNetACell] = []
        current_channels = previous_channels = stem_channels
        previous_is_larger = False
        for stack in range(3):
            width = filters * 2**stack
            if stack > 0:
                cell = NasNetACell(
                    NASNET_A_REDUCTION_CELL,
                    current_channels=current_channels,
                    previous_channels=previous_channels,
                    channels=width,
                    reduction=True,
                    previous_is_larger=previous_is_larger,
                )
                cells.append(cell)
                previous_channels, current_channels = current_channels, cell.out_channels
                previous_is_larger = True  # the next cell's h_{i-1} is from before this reduction
            for _ in range(num_normal_cells):
                cell = NasNetACell(
                    NASNET_A_NORMAL_CELL,
                    current_channels=current_channels,
                    previous_channels=previous_channels,
                    channels=width,
                    reduction=False,
                    previous_is_larger=previous_is_larger,
                )
                cells.append(cell)
                previous_channels, current_channels = current_channels, cell.out_channels
                previous_is_larger = False
        self.cells = nn.ModuleList(cells)
        self.final_activation = nn.ReLU()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.in_channels = in_channels
        self.num_features: int = current_channels
        self.classifier = nn.Linear(current_channels, num_classes)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem, all cells and the final ReLU: (N, 6·4F, H/4, W/4)."""
        previous = current = self.stem(x)
        for cell in self.cells:
            previous, current = current, cell(current, previous)
        return self.final_activation(current)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling, dropout and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.classifier(self.dropout(torch.flatten(self.avgpool(x), 1)))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier = nn.Linear(self.num_features, num_classes)


@register_model(family="nas", input_size=(3, 32, 32), paper=NASNET_PAPER)
def nasnet_a_cifar_small(
    *,
    num_classes: int = 10,
    in_channels: int = 3,
    num_normal_cells: int = 2,
    filters: int = 16,
    dropout: float = 0.0,
) -> NASNetA:
    """A small NASNet-A (2 @ 384: N = 2 normal cells per stack, F = 16) that trains on a CPU.

    Same cells and layout as the paper's CIFAR-10 NASNet-A (6 @ 768), with fewer and thinner cells.
    """
    return NASNetA(
        num_classes=num_classes,
        in_channels=in_channels,
        num_normal_cells=num_normal_cells,
        filters=filters,
        dropout=dropout,
    )


# ====================================================================================================
# 2. MnasNet
# ====================================================================================================

#: The reward's exponents (α, β) for a soft latency constraint, Section 3: a model twice as slow as the
#: target must be about 5% more accurate to score the same (2^−0.07 ≈ 0.953).
SOFT_LATENCY_CONSTRAINT: tuple[float, float] = (-0.07, -0.07)
#: (α, β) for a hard constraint (Section 3, Fig. 3 top): no bonus below the target, a steep penalty above.
HARD_LATENCY_CONSTRAINT: tuple[float, float] = (0.0, -1.0)


def mnasnet_reward(
    accuracy: float, latency_ms: float, target_ms: float, alpha: float = -0.07, beta: float = -0.07
) -> float:
    """MnasNet's search objective ACC(m)·[LAT(m)/T]^w, w = α if LAT(m) ≤ T else β (arXiv:1807.11626, eq. 2).

    The defaults are the paper's soft constraint α = β = −0.07: being slower than the target ``T``
    costs reward smoothly, being faster earns a little (Pareto-optimal trade-offs rather than a wall).
    ``alpha=0, beta=-1`` gives the hard-constraint variant (Fig. 3, top), which ignores latency below
    the target. The paper measured LAT(m) on a Pixel phone, T = 75 ms for its main models.

    Args:
        accuracy: ACC(m), as a fraction in [0, 1].
        latency_ms: LAT(m), the measured inference latency (any time unit, the same as ``target_ms``).
        target_ms: T, the target latency.
        alpha: exponent when the model meets the target.
        beta: exponent when it is slower than the target.

    >>> round(mnasnet_reward(0.75, 80.0, 80.0), 4)  # on target: the reward is the accuracy
    0.75
    >>> mnasnet_reward(0.75, 160.0, 80.0) < 0.75  # twice too slow: about 4.7% less
    True
    """
    if not 0.0 <= accuracy <= 1.0:
        raise CourseError(f"accuracy must be a fraction in [0, 1] (e.g. 0.752 for 75.2%), got {accuracy}.")
    if latency_ms <= 0 or target_ms <= 0:
        raise CourseError(
            "latency_ms and target_ms must be positive times, "
            f"got latency_ms={latency_ms}, target_ms={target_ms}."
        )
    exponent = alpha if latency_ms <= target_ms else beta
    return accuracy * (latency_ms / target_ms) ** exponent


@dataclass(frozen=True)
class MnasStack:
    """One stack of MnasNet inverted residuals: ``repeats`` blocks, the first with ``stride``."""

    kernel_size: int
    stride: int
    expand_ratio: int
    out_channels: int
    repeats: int


#: Stem widths: a 3×3 convolution to 32 channels, then a separable 3×3 to 16 (no skip).
MNASNET_STEM_CHANNELS: tuple[int, int] = (32, 16)
#: The stacks of torchvision's MNASNet, which is the variant the authors' TensorFlow release calls
#: "mnasnet-b1": MBConv blocks without squeeze-and-excitation. The paper's headline model MnasNet-A1
#: (Fig. 7; 3.9M parameters, 75.2% top-1, 78 ms on a Pixel phone) differs: it adds SE to three of its
#: stages and has other widths (24, 40, 80, 112, 160, 320) and repeats.
MNASNET_B1_STACKS: tuple[MnasStack, ...] = (
    MnasStack(3, 2, 3, 24, 3),
    MnasStack(5, 2, 3, 40, 3),
    MnasStack(5, 2, 6, 80, 3),
    MnasStack(3, 1, 6, 96, 2),
    MnasStack(5, 2, 6, 192, 4),
    MnasStack(3, 1, 6, 320, 1),
)
MNASNET_HEAD_CHANNELS: int = 1280
#: torchvision's BatchNorm momentum for MnasNet: TensorFlow's decay 0.9997 in PyTorch's convention.
_MNASNET_BN_MOMENTUM: float = 1 - 0.9997


class MnasInvertedResidual(nn.Module):
    """MnasNet's MBConv block without SE: 1×1 expand-BN-ReLU → k×k depthwise-BN-ReLU → 1×1 project-BN.

    torchvision keeps these layers in one flat ``layers`` Sequential (``layers.0.weight`` ... ``layers.7``),
    so this class does too — that is what lets MnasNet state_dicts load strictly. The design is the
    inverted residual with linear bottleneck of MobileNet v2, with a 5×5 kernel allowed.
    """

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int, expand_ratio: int
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise CourseError(f"MnasNet block stride must be 1 or 2, got {stride}.")
        if kernel_size not in (3, 5):
            raise CourseError(f"MnasNet block kernel_size must be 3 or 5, got {kernel_size}.")
        hidden = in_channels * expand_ratio
        self.use_res_connect = in_channels == out_channels and stride == 1
        self.layers = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(
                hidden, hidden, kernel_size, stride, padding=kernel_size // 2, groups=hidden, bias=False
            ),
            nn.BatchNorm2d(hidden, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            # Linear projection: no activation.
            nn.Conv2d(hidden, out_channels, 1, bias=False),
            nn.BatchNorm2d(out_channels, momentum=_MNASNET_BN_MOMENTUM),
        )
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tensor:
        if self.use_res_connect:
            return self.layers(x) + x
        return self.layers(x)


class MnasNet(nn.Module):
    """MnasNet as torchvision builds it (``MNASNet``, version 2): stem conv → separable conv →
    six stacks of :class:`MnasInvertedResidual` → 1×1 conv to 1280 → pooling → dropout → linear.

    ``width_mult`` (torchvision calls it ``alpha``, the depth multiplier) scales every width except the
    1280-channel head with ``make_divisible(·, 8)``. Parameter names equal torchvision's.

    Args:
        width_mult: 0.5, 0.75, 1.0, 1.3 for torchvision's four models.
        num_classes, in_channels: classifier outputs and image channels.
        dropout: before the classifier (0.2).
        stacks: the stacks; :data:`MNASNET_B1_STACKS` by default.
        stem_stride: stride of the first convolution (2 on ImageNet, 1 for small images).
    """

    # torchvision's MNASNet checks this version when it loads a state_dict; 2 marks the layout with a
    # scaled stem, so our state_dicts load into torchvision's models too.
    _version = 2

    def __init__(
        self,
        *,
        width_mult: float = 1.0,
        num_classes: int = 1000,
        in_channels: int = 3,
        dropout: float = 0.2,
        stacks: Sequence[MnasStack] = MNASNET_B1_STACKS,
        stem_stride: int = 2,
    ) -> None:
        super().__init__()
        check_model_arguments(num_classes, in_channels)
        if not width_mult > 0:
            raise CourseError(
                f"width_mult must be positive (0.5, 0.75, 1.0 or 1.3 in torchvision), got {width_mult}."
            )
        if not 0.0 <= dropout < 1.0:
            raise CourseError(f"dropout must be in [0, 1), got {dropout}.")
        stem, separable = (make_divisible(c * width_mult, 8) for c in MNASNET_STEM_CHANNELS)
        layers: list[nn.Module] = [
            nn.Conv2d(in_channels, stem, 3, padding=1, stride=stem_stride, bias=False),
            nn.BatchNorm2d(stem, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            # Depthwise-separable convolution, no skip connection.
            nn.Conv2d(stem, stem, 3, padding=1, groups=stem, bias=False),
            nn.BatchNorm2d(stem, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
            nn.Conv2d(stem, separable, 1, bias=False),
            nn.BatchNorm2d(separable, momentum=_MNASNET_BN_MOMENTUM),
        ]
        channels = separable
        for stack in stacks:
            out_channels = make_divisible(stack.out_channels * width_mult, 8)
            blocks = [
                MnasInvertedResidual(
                    channels if index == 0 else out_channels,
                    out_channels,
                    stack.kernel_size,
                    stack.stride if index == 0 else 1,
                    stack.expand_ratio,
                )
                for index in range(stack.repeats)
            ]
            layers.append(nn.Sequential(*blocks))
            channels = out_channels
        layers += [
            nn.Conv2d(channels, MNASNET_HEAD_CHANNELS, 1, bias=False),
            nn.BatchNorm2d(MNASNET_HEAD_CHANNELS, momentum=_MNASNET_BN_MOMENTUM),
            nn.ReLU(inplace=True),
        ]
        self.layers = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.in_channels = in_channels
        self.num_features: int = MNASNET_HEAD_CHANNELS
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(MNASNET_HEAD_CHANNELS, num_classes))

        # torchvision's initialisation.
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Linear):
                nn.init.kaiming_uniform_(module.weight, mode="fan_out", nonlinearity="sigmoid")
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """Stem, the six stacks and the 1×1 head convolution: (N, 1280, H/32, W/32) on ImageNet."""
        return self.layers(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling, dropout and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the final linear layer with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier[-1] = nn.Linear(self.num_features, num_classes)


def _mnasnet(
    name: str, width_mult: float, *, num_classes: int, in_channels: int, dropout: float, weights: str | None
) -> MnasNet:
    check_model_arguments(num_classes, in_channels, weights)
    model = MnasNet(width_mult=width_mult, num_classes=num_classes, in_channels=in_channels, dropout=dropout)
    return apply_weights(model, weights, name)


@register_model(family="nas", input_size=(3, 224, 224), torchvision_name="mnasnet0_5", paper=MNASNET_PAPER)
def mnasnet0_5(
    *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2, weights: str | None = None
) -> MnasNet:
    """MnasNet (B1 layout) at width 0.5, equal to torchvision's ``mnasnet0_5`` (2,218,512 parameters)."""
    return _mnasnet(
        "mnasnet0_5", 0.5, num_classes=num_classes, in_channels=in_channels, dropout=dropout, weights=weights
    )


@register_model(family="nas", input_size=(3, 224, 224), torchvision_name="mnasnet0_75", paper=MNASNET_PAPER)
def mnasnet0_75(
    *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2, weights: str | None = None
) -> MnasNet:
    """MnasNet (B1 layout) at width 0.75, equal to torchvision's ``mnasnet0_75``."""
    return _mnasnet(
        "mnasnet0_75",
        0.75,
        num_classes=num_classes,
        in_channels=in_channels,
        dropout=dropout,
        weights=weights,
    )


@register_model(family="nas", input_size=(3, 224, 224), torchvision_name="mnasnet1_0", paper=MNASNET_PAPER)
def mnasnet1_0(
    *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2, weights: str | None = None
) -> MnasNet:
    """MnasNet (B1 layout) at width 1.0, equal to torchvision's ``mnasnet1_0`` (4,383,312 parameters)."""
    return _mnasnet(
        "mnasnet1_0", 1.0, num_classes=num_classes, in_channels=in_channels, dropout=dropout, weights=weights
    )


@register_model(family="nas", input_size=(3, 224, 224), torchvision_name="mnasnet1_3", paper=MNASNET_PAPER)
def mnasnet1_3(
    *, num_classes: int = 1000, in_channels: int = 3, dropout: float = 0.2, weights: str | None = None
) -> MnasNet:
    """MnasNet (B1 layout) at width 1.3, equal to torchvision's ``mnasnet1_3``."""
    return _mnasnet(
        "mnasnet1_3", 1.3, num_classes=num_classes, in_channels=in_channels, dropout=dropout, weights=weights
    )


@register_model(family="nas", input_size=(3, 32, 32), paper=MNASNET_PAPER)
def mnasnet_cifar(
    *, num_classes: int = 10, in_channels: int = 3, width_mult: float = 1.0, dropout: float = 0.2
) -> MnasNet:
    """MnasNet for 32×32 / 28×28 images: stem stride 2 → 1 and the first stack (3×3, expansion 3,
    24 channels) stride 2 → 1; total stride 8 instead of 32 (32×32 → 4×4). Everything else as
    torchvision's ``mnasnet1_0`` (scaled by ``width_mult``)."""
    stacks = list(MNASNET_B1_STACKS)
    stacks[0] = replace(stacks[0], stride=1)
    return MnasNet(
        width_mult=width_mult,
        num_classes=num_classes,
        in_channels=in_channels,
        dropout=dropout,
        stacks=stacks,
        stem_stride=1,
    )


# ====================================================================================================
# 3. AE-CNN: a genome of ResNet, DenseNet and pooling units
# ====================================================================================================
#
# Sun et al. (arXiv:1810.11875, Section III) encode a CNN as a variable-length list of units:
#
# * a ResNet block unit (RBU) is several ResNet blocks (RBs) in a row, encoded by how many blocks and
#   their output channels;
# * a DenseNet block unit (DBU) is several DenseNet blocks (DBs, i.e. dense layers), encoded by how
#   many and the growth rate k;
# * a pooling unit (PU) is one 2×2 pooling layer, max or average.
#
# Convolutional details the paper leaves to the code follow the AE-CNN implementation published in the
# same group's benchmark suite BenchENAS (Xie et al., IEEE TEVC 2022): an RB is a 1×1 → 3×3 → 1×1
# bottleneck whose three convolutions all have the unit's output width, each followed by BatchNorm, with
# ReLU after the first two and after the addition, and a 1×1 projection shortcut when the width changes;
# a DB is DenseNet-B's BN-ReLU-1×1 (4k) → BN-ReLU-3×3 (k) layer; a DBU whose input is wider than a
# limit that depends on k first reduces it with BN-ReLU-1×1.
#
# Departures: (1) the genome stores only what a unit decides (blocks, widths, growth rate). Input
# channels are not stored but derived from the previous unit when the model is built, so crossover and
# mutation need no "channel repair" step (the authors' implementation adjusts the stored input channels
# of the unit after the cut or insertion point instead). (2) The network ends with global average
# pooling and a linear classifier, where BenchENAS's generated AE-CNN models flatten the last feature
# map into the linear layer; pooling gives every genome the same head and any input size.


@dataclass(frozen=True)
class ResNetBlockUnit:
    """RBU: ``num_blocks`` ResNet blocks with ``out_channels`` channels."""

    num_blocks: int
    out_channels: int

    def label(self) -> str:
        return f"RBU({self.num_blocks}x, {self.out_channels}ch)"


@dataclass(frozen=True)
class DenseNetBlockUnit:
    """DBU: ``num_layers`` dense layers of growth rate ``growth_rate``; a wider input is first reduced
    to ``max_input_channels`` by a 1×1 convolution."""

    num_layers: int
    growth_rate: int
    max_input_channels: int

    def label(self) -> str:
        return f"DBU({self.num_layers}x, k={self.growth_rate})"

    def output_channels(self, in_channels: int) -> int:
        """min(input, limit) + k · layers: every dense layer concatenates k new channels."""
        return min(in_channels, self.max_input_channels) + self.growth_rate * self.num_layers


@dataclass(frozen=True)
class PoolingUnit:
    """PU: one 2×2, stride-2 pooling layer, ``"max"`` or ``"avg"``."""

    kind: Literal["max", "avg"]

    def label(self) -> str:
        return f"PU({self.kind})"


Unit = ResNetBlockUnit | DenseNetBlockUnit | PoolingUnit


@dataclass(frozen=True)
class DenseOption:
    """A growth rate a DBU may use, with its range of layers and its input-width limit."""

    growth_rate: int
    min_layers: int
    max_layers: int
    max_input_channels: int


@dataclass(frozen=True)
class SearchSpace:
    """The ranges random genomes and mutations draw from.

    Attributes:
        rbu_channels: output widths an RBU may have.
        rbu_blocks: (min, max) ResNet blocks in an RBU.
        dense_options: growth rates a DBU may have, each with its layer range and input limit.
        initial_rbus, initial_dbus, initial_pools: (min, max) units of each kind in a random genome
            (the pooling maximum is further limited by the input size).
        max_units: longest genome that mutation may grow.
        mutation_weights: relative probabilities of adding, removing and modifying a unit.
    """

    rbu_channels: tuple[int, ...]
    rbu_blocks: tuple[int, int]
    dense_options: tuple[DenseOption, ...]
    initial_rbus: tuple[int, int]
    initial_dbus: tuple[int, int]
    initial_pools: tuple[int, int]
    max_units: int
    mutation_weights: tuple[float, float, float] = (0.4, 0.3, 0.3)

    def dense_option(self, growth_rate: int) -> DenseOption:
        for option in self.dense_options:
            if option.growth_rate == growth_rate:
                return option
        raise CourseError(
            f"Growth rate {growth_rate} is not in this search space; choose one of "
            f"{[option.growth_rate for option in self.dense_options]}."
        )


#: The settings of the AE-CNN implementation in BenchENAS for CIFAR-10 (32×32): RBU widths 64/128/256
#: with 3–10 blocks; growth rates 12, 20, 40 with 3–10, 3–10, 3–5 layers and input limits 128, 64, 32;
#: 1–4 RBUs, 1–4 DBUs and 4 pooling units initially; genomes up to 50 units; mutation add / remove /
#: modify with probabilities 0.4 / 0.3 / 0.3. (Its genetic algorithm uses crossover probability 0.9
#: and mutation probability 0.2 per individual.) These networks take GPU-days to evaluate.
AECNN_SEARCH_SPACE = SearchSpace(
    rbu_channels=(64, 128, 256),
    rbu_blocks=(3, 10),
    dense_options=(DenseOption(12, 3, 10, 128), DenseOption(20, 3, 10, 64), DenseOption(40, 3, 5, 32)),
    initial_rbus=(1, 4),
    initial_dbus=(1, 4),
    initial_pools=(4, 4),
    max_units=50,
)

#: A scaled-down space whose networks train for an epoch of Fashion-MNIST in minutes on a CPU.
CPU_SEARCH_SPACE = SearchSpace(
    rbu_channels=(16, 32, 64),
    rbu_blocks=(1, 2),
    dense_options=(DenseOption(8, 1, 3, 32), DenseOption(12, 1, 3, 32)),
    initial_rbus=(1, 2),
    initial_dbus=(0, 1),
    initial_pools=(1, 2),
    max_units=8,
)


def max_pooling_units(input_size: int) -> int:
    """How many 2×2 poolings an ``input_size``-pixel image survives with at least a 1×1 map: ⌊log₂ size⌋.

    >>> max_pooling_units(28), max_pooling_units(32)
    (4, 5)
    """
    if input_size < 1:
        raise CourseError(f"input_size must be a positive number of pixels, got {input_size}.")
    return int(math.floor(math.log2(input_size)))


class AecnnResidualBlock(nn.Module):
    """An RB: 1×1 → 3×3 → 1×1 convolutions (all ``out_channels`` wide) with BN, ReLU after the first two
    and after adding the shortcut; the shortcut is a 1×1 convolution + BN when the width changes."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv3 = nn.Conv2d(out_channels, out_channels, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
            )
        )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))


class AecnnDenseLayer(nn.Module):
    """A DB: BN-ReLU-1×1 conv (4k) → BN-ReLU-3×3 conv (k), concatenated to its input (DenseNet-B)."""

    def __init__(self, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        self.bottleneck = nn.Sequential(
            nn.BatchNorm2d(in_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(in_channels, 4 * growth_rate, 1, bias=False),
        )
        self.conv = nn.Sequential(
            nn.BatchNorm2d(4 * growth_rate),
            nn.ReLU(inplace=True),
            nn.Conv2d(4 * growth_rate, growth_rate, 3, padding=1, bias=False),
        )

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.conv(self.bottleneck(x))], dim=1)


def _build_unit(unit: Unit, in_channels: int) -> tuple[nn.Module, int]:
    """The module for one unit and its output channels."""
    if isinstance(unit, ResNetBlockUnit):
        blocks = [
            AecnnResidualBlock(in_channels if index == 0 else unit.out_channels, unit.out_channels)
            for index in range(unit.num_blocks)
        ]
        return nn.Sequential(*blocks), unit.out_channels
    if isinstance(unit, DenseNetBlockUnit):
        layers: list[nn.Module] = []
        channels = in_channels
        if in_channels > unit.max_input_channels:
            # Keep the concatenation from growing without bound: squeeze a wide input first.
            layers += [
                nn.BatchNorm2d(in_channels),
                nn.ReLU(inplace=True),
                nn.Conv2d(in_channels, unit.max_input_channels, 1, bias=False),
            ]
            channels = unit.max_input_channels
        for _ in range(unit.num_layers):
            layers.append(AecnnDenseLayer(channels, unit.growth_rate))
            channels += unit.growth_rate
        return nn.Sequential(*layers), channels
    pool = nn.MaxPool2d(2) if unit.kind == "max" else nn.AvgPool2d(2)
    return pool, in_channels


@dataclass(frozen=True)
class UnitShape:
    """What one unit does to the tensor: channels and spatial size before and after."""

    label: str
    in_channels: int
    out_channels: int
    in_size: int
    out_size: int


class GenomeNetwork(nn.Module):
    """The network a :class:`Genome` encodes: its units in order, global average pooling, a classifier."""

    def __init__(self, units: Sequence[tuple[nn.Module, int]], in_channels: int, num_classes: int) -> None:
        super().__init__()
        self.features = nn.Sequential(*(module for module, _ in units))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.in_channels = in_channels
        self.num_features: int = units[-1][1]
        self.classifier = nn.Linear(self.num_features, num_classes)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)

    def forward_features(self, x: Tensor) -> Tensor:
        """All units: (N, num_features, H / 2^pools, W / 2^pools)."""
        return self.features(x)

    def forward_head(self, x: Tensor) -> Tensor:
        """Global average pooling and the classifier: (N, C, H, W) → (N, num_classes)."""
        return self.classifier(torch.flatten(self.avgpool(x), 1))

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(x))

    def reset_classifier(self, num_classes: int) -> None:
        """Replace the classifier with a freshly initialised one for ``num_classes`` outputs."""
        check_model_arguments(num_classes, self.in_channels)
        self.classifier = nn.Linear(self.num_features, num_classes)


@dataclass(frozen=True)
class Genome:
    """One AE-CNN individual: a variable-length sequence of units (arXiv:1810.11875, Section III).

    Immutable and hashable, so a search can cache fitness by genome. Build it with :meth:`build`;
    :meth:`check` says whether it is a valid network for an input size.

    >>> genome = Genome((ResNetBlockUnit(1, 16), PoolingUnit("max"), DenseNetBlockUnit(2, 8, 32)))
    >>> genome.describe()
    'RBU(1x, 16ch) -> PU(max) -> DBU(2x, k=8)'
    >>> [shape.out_channels for shape in genome.shapes(in_channels=1, input_size=28)]
    [16, 16, 32]
    """

    units: tuple[Unit, ...]

    def describe(self) -> str:
        """The units in order, e.g. ``RBU(3x, 64ch) -> PU(max) -> DBU(4x, k=12)``."""
        return " -> ".join(unit.label() for unit in self.units)

    def __str__(self) -> str:
        return self.describe()

    def num_pooling_units(self) -> int:
        return sum(isinstance(unit, PoolingUnit) for unit in self.units)

    def problems(self, input_size: int) -> list[str]:
        """Why this genome is not a valid network for ``input_size``-pixel images (empty if it is)."""
        found: list[str] = []
        if not self.units:
            return ["the genome has no units"]
        if not _has_conv_unit(self.units):
            found.append("it has no ResNet or DenseNet unit, so there is nothing to learn")
        if isinstance(self.units[0], PoolingUnit):
            found.append(
                "it starts with a pooling unit "
                "(pooling the raw image discards pixels before any feature exists)"
            )
        limit = max_pooling_units(input_size)
        if self.num_pooling_units() > limit:
            found.append(
                f"it has {self.num_pooling_units()} pooling units, but a {input_size}-pixel input survives "
                f"at most {limit} halvings"
            )
        for unit in self.units:
            if isinstance(unit, ResNetBlockUnit) and (unit.num_blocks < 1 or unit.out_channels < 1):
                found.append(f"{unit.label()} needs at least one block and one channel")
            if isinstance(unit, DenseNetBlockUnit) and (
                unit.num_layers < 1 or unit.growth_rate < 1 or unit.max_input_channels < 1
            ):
                found.append(f"{unit.label()} needs positive layers, growth rate and input limit")
            if isinstance(unit, PoolingUnit) and unit.kind not in ("max", "avg"):
                found.append(f"pooling kind must be 'max' or 'avg', got {unit.kind!r}")
        return found

    def check(self, input_size: int) -> None:
        """Raise :class:`CourseError` explaining what is wrong if the genome is not a valid network."""
        found = self.problems(input_size)
        if found:
            raise CourseError(f"Invalid genome {self.describe() or '(empty)'}: " + "; ".join(found) + ".")

    def shapes(self, in_channels: int, input_size: int) -> list[UnitShape]:
        """Channels and spatial size before and after every unit (for printing a genome's network)."""
        self.check(input_size)
        rows = []
        channels, size = in_channels, input_size
        for unit in self.units:
            if isinstance(unit, ResNetBlockUnit):
                out_channels, out_size = unit.out_channels, size
            elif isinstance(unit, DenseNetBlockUnit):
                out_channels, out_size = unit.output_channels(channels), size
            else:
                out_channels, out_size = channels, size // 2
            rows.append(UnitShape(unit.label(), channels, out_channels, size, out_size))
            channels, size = out_channels, out_size
        return rows

    def build(self, in_channels: int, num_classes: int, *, input_size: int = 28) -> GenomeNetwork:
        """The network this genome encodes, for ``in_channels``-channel ``input_size``-pixel images.

        ``input_size`` (28 for Fashion-MNIST) only serves the validity check: too many pooling units
        for it raise :class:`CourseError`. The network itself accepts any size that is large enough.
        """
        check_model_arguments(num_classes, in_channels)
        self.check(input_size)
        built: list[tuple[nn.Module, int]] = []
        channels = in_channels
        for unit in self.units:
            module, channels = _build_unit(unit, channels)
            built.append((module, channels))
        return GenomeNetwork(built, in_channels, num_classes)


# --- genetic operators --------------------------------------------------------------------------------


def _has_conv_unit(units: Sequence[Unit]) -> bool:
    return any(isinstance(unit, (ResNetBlockUnit, DenseNetBlockUnit)) for unit in units)


def _random_rbu(rng: random.Random, space: SearchSpace) -> ResNetBlockUnit:
    return ResNetBlockUnit(rng.randint(*space.rbu_blocks), rng.choice(space.rbu_channels))


def _random_dbu(rng: random.Random, space: SearchSpace) -> DenseNetBlockUnit:
    option = rng.choice(space.dense_options)
    return DenseNetBlockUnit(
        rng.randint(option.min_layers, option.max_layers), option.growth_rate, option.max_input_channels
    )


def _random_pool(rng: random.Random) -> PoolingUnit:
    return PoolingUnit(rng.choice(("max", "avg")))


def random_genome(
    rng: random.Random, space: SearchSpace = CPU_SEARCH_SPACE, *, input_size: int = 28
) -> Genome:
    """A random individual, drawn as AE-CNN's population initialisation does (Section III; BenchENAS):
    draw how many RBUs, DBUs and PUs, shuffle their order until no pooling unit comes first, then draw
    each unit's settings. Deterministic for a seeded ``rng``.

    Args:
        rng: e.g. ``random.Random(0)``.
        space: the ranges to draw from.
        input_size: limits the number of pooling units (see :func:`max_pooling_units`).
    """
    num_rbus = rng.randint(*space.initial_rbus)
    num_dbus = rng.randint(*space.initial_dbus)
    if num_rbus + num_dbus == 0:
        num_rbus = 1  # a network needs at least one convolutional unit
    pool_limit = min(space.initial_pools[1], max_pooling_units(input_size))
    num_pools = rng.randint(min(space.initial_pools[0], pool_limit), pool_limit)
    kinds = ["rbu"] * num_rbus + ["dbu"] * num_dbus + ["pool"] * num_pools
    rng.shuffle(kinds)
    while kinds[0] == "pool":
        rng.shuffle(kinds)
    units: list[Unit] = []
    for kind in kinds:
        if kind == "rbu":
            units.append(_random_rbu(rng, space))
        elif kind == "dbu":
            units.append(_random_dbu(rng, space))
        else:
            units.append(_random_pool(rng))
    return Genome(tuple(units))


def _modify_unit(unit: Unit, rng: random.Random, space: SearchSpace) -> Unit:
    """Change one setting of a unit (the paper's "modify" mutation)."""
    if isinstance(unit, ResNetBlockUnit):
        if rng.random() < 0.5:
            choices = [c for c in space.rbu_channels if c != unit.out_channels] or list(space.rbu_channels)
            return replace(unit, out_channels=rng.choice(choices))
        low, high = space.rbu_blocks
        choices = [n for n in range(low, high + 1) if n != unit.num_blocks] or [unit.num_blocks]
        return replace(unit, num_blocks=rng.choice(choices))
    if isinstance(unit, DenseNetBlockUnit):
        other_rates = [o for o in space.dense_options if o.growth_rate != unit.growth_rate]
        if other_rates and rng.random() < 0.5:
            option = rng.choice(other_rates)
            layers = min(max(unit.num_layers, option.min_layers), option.max_layers)
            return DenseNetBlockUnit(layers, option.growth_rate, option.max_input_channels)
        known_rates = {o.growth_rate for o in space.dense_options}
        # A unit from another search space keeps its growth rate and varies its depth by one.
        low, high = (
            (space.dense_option(unit.growth_rate).min_layers, space.dense_option(unit.growth_rate).max_layers)
            if unit.growth_rate in known_rates
            else (max(1, unit.num_layers - 1), unit.num_layers + 1)
        )
        choices = [n for n in range(low, high + 1) if n != unit.num_layers]
        return replace(unit, num_layers=rng.choice(choices or [unit.num_layers]))
    return PoolingUnit("avg" if unit.kind == "max" else "max")


def mutate(
    genome: Genome, rng: random.Random, space: SearchSpace = CPU_SEARCH_SPACE, *, input_size: int = 28
) -> Genome:
    """A mutated copy of ``genome`` (paper Section III): add a unit, remove one, or modify one.

    * add: a random RBU, DBU or PU (one third each) at a random position; a PU never goes first and is
      replaced by an RBU or DBU when the genome already has the most pooling units the input allows;
    * remove: any unit but the first (so the genome keeps a valid start), unless that would leave no
      convolutional unit;
    * modify: one setting of one unit (RBU width or block count, DBU growth rate or layer count, PU kind).

    The kind is drawn with ``space.mutation_weights``; when it cannot apply (nothing to remove, genome
    at ``space.max_units``) the mutation modifies instead. The result is always valid.
    """
    genome.check(input_size)
    units = list(genome.units)
    operation = rng.choices(("add", "remove", "modify"), weights=space.mutation_weights)[0]
    if operation == "add" and len(units) >= space.max_units:
        operation = "modify"
    if operation == "remove":
        removable = [
            index for index in range(1, len(units)) if _has_conv_unit(units[:index] + units[index + 1 :])
        ]
        if not removable:
            operation = "modify"
        else:
            del units[rng.choice(removable)]
    if operation == "add":
        position = rng.randint(0, len(units))
        kind = rng.choice(("rbu", "pool", "dbu"))
        if kind == "pool" and genome.num_pooling_units() >= max_pooling_units(input_size):
            kind = rng.choice(("rbu", "dbu"))
        if kind == "pool":
            position = max(position, 1)  # never in front of the first unit
            units.insert(position, _random_pool(rng))
        else:
            units.insert(position, _random_rbu(rng, space) if kind == "rbu" else _random_dbu(rng, space))
    if operation == "modify":
        index = rng.randrange(len(units))
        units[index] = _modify_unit(units[index], rng, space)
    child = Genome(tuple(units))
    child.check(input_size)
    return child


def crossover(
    first: Genome,
    second: Genome,
    rng: random.Random,
    space: SearchSpace = CPU_SEARCH_SPACE,
    *,
    input_size: int = 28,
    max_tries: int = 100,
) -> tuple[Genome, Genome]:
    """One-point crossover of two variable-length genomes (paper Section III).

    Pick a cut in each parent, ``first = A + B`` and ``second = C + D``, and return ``A + D`` and
    ``C + B``. Cuts are redrawn until both children are valid (a convolutional unit, no pooling unit
    first, not too many pooling units for ``input_size``, at most ``space.max_units`` units); after
    ``max_tries`` failed draws the parents are returned unchanged.
    """
    first.check(input_size)
    second.check(input_size)
    for _ in range(max_tries):
        cut_first = rng.randint(0, len(first.units))
        cut_second = rng.randint(0, len(second.units))
        child_a = Genome(first.units[:cut_first] + second.units[cut_second:])
        child_b = Genome(second.units[:cut_second] + first.units[cut_first:])
        if all(
            not child.problems(input_size) and len(child.units) <= space.max_units
            for child in (child_a, child_b)
        ):
            return child_a, child_b
    return first, second


__all__ = [
    "AECNN_SEARCH_SPACE",
    "CPU_SEARCH_SPACE",
    "CellBlock",
    "CellSpec",
    "DenseNetBlockUnit",
    "DenseOption",
    "FactorizedReduce",
    "Genome",
    "GenomeNetwork",
    "HARD_LATENCY_CONSTRAINT",
    "H_CURRENT",
    "H_PREVIOUS",
    "MNASNET_B1_STACKS",
    "MnasInvertedResidual",
    "MnasNet",
    "MnasStack",
    "NASNET_A_NORMAL_CELL",
    "NASNET_A_REDUCTION_CELL",
    "NASNetA",
    "NasNetACell",
    "PoolingUnit",
    "ResNetBlockUnit",
    "SOFT_LATENCY_CONSTRAINT",
    "SearchSpace",
    "SeparableConvTwice",
    "Unit",
    "UnitShape",
    "crossover",
    "make_nas_operation",
    "max_pooling_units",
    "mnasnet0_5",
    "mnasnet0_75",
    "mnasnet1_0",
    "mnasnet1_3",
    "mnasnet_cifar",
    "mnasnet_reward",
    "mutate",
    "nasnet_a_cifar_small",
    "random_genome",
]
