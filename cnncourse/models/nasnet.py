"""NASNet-A: the cells a reinforcement-learning controller found, stacked into a network.

Paper: Zoph, Vasudevan, Shlens & Le, 2018, "Learning Transferable Architectures for Scalable Image
Recognition", CVPR 2018, arXiv:1707.07012. A controller RNN trained with reinforcement learning searched
for two *cells* on CIFAR-10 — a normal cell that keeps the feature-map size and a reduction cell that
halves it — which are then stacked into networks of any size (Section 3, Fig. 2). The best cells,
NASNet-A, are drawn in Fig. 4 and built here (:data:`NASNET_A_NORMAL_CELL`,
:data:`NASNET_A_REDUCTION_CELL`), with a small CIFAR-sized network, :func:`nasnet_a_cifar_small`.

Read top to bottom: the paper's models and the two cells of Fig. 4 (the configuration) → the operations
and the cell (blocks) → :class:`NASNetA` (model) → :func:`nasnet_a_cifar_small` (builder).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.models._registry import check_model_arguments, register_model

NASNET_PAPER = "Zoph et al., 2018, arXiv:1707.07012"

# The paper names a model "N @ F": N normal cells per stack, F the number of filters in the
# penultimate layer (6 · 4 · the cell width on CIFAR-10). Its headline models:
#
# | model                            | data set  | parameters | mult-adds | result           | table   |
# | -------------------------------- | --------- | ---------- | --------- | ---------------- | ------- |
# | NASNet-A (6 @ 768)               | CIFAR-10  | 3.3M       | —         | error in Table 1 | Table 1 |
# | NASNet-A (6 @ 4032)              | ImageNet  | 88.9M      | 23.8B     | 82.7% top-1      | Table 2 |
# | NASNet-A (4 @ 1056), mobile      | ImageNet  | 5.3M       | 564M      | 74.0% top-1      | Table 3 |
#
# The CIFAR-10 layout is N = 6, F = 32 per cell (768 = 6 · 4 · 32); :func:`nasnet_a_cifar_small`
# keeps the cells and the layout with N = 2, F = 16.
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



__all__ = [
    "CellBlock",
    "CellSpec",
    "FactorizedReduce",
    "H_CURRENT",
    "H_PREVIOUS",
    "NASNET_A_NORMAL_CELL",
    "NASNET_A_REDUCTION_CELL",
    "NASNET_PAPER",
    "NAS_OPERATIONS",
    "NASNetA",
    "NasNetACell",
    "NasOperation",
    "SeparableConvTwice",
    "make_nas_operation",
    "nasnet_a_cifar_small",
]
