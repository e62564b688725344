"""Neural architecture search, kept importable under its old name: ``cnncourse.models.nas``.

The three families that used to live here each have their own module now, one family per file:

* :mod:`cnncourse.models.nasnet` — NASNet-A (Zoph et al., 2018, arXiv:1707.07012);
* :mod:`cnncourse.models.mnasnet` — MnasNet and its latency-aware reward (Tan et al., 2019,
  arXiv:1807.11626);
* :mod:`cnncourse.models.aecnn` — the AE-CNN genome and its genetic operators (Sun, Xue, Zhang & Yen,
  IEEE TNNLS 2020, arXiv:1810.11875).

The search driver that trains and measures genomes is :mod:`cnncourse.nas`. This module only re-exports
the public names of the three, so ``from cnncourse.models.nas import Genome`` keeps working; new code
imports from the family modules. (EfficientNet-B0, the fourth NAS result of the course, lives in
:mod:`cnncourse.models.efficientnet`.)
"""

from __future__ import annotations

from cnncourse.models.aecnn import (
    AECNN_PAPER,
    AECNN_SEARCH_SPACE,
    CPU_SEARCH_SPACE,
    AecnnDenseLayer,
    AecnnResidualBlock,
    DenseNetBlockUnit,
    DenseOption,
    Genome,
    GenomeNetwork,
    PoolingUnit,
    ResNetBlockUnit,
    SearchSpace,
    Unit,
    UnitShape,
    crossover,
    environmental_selection,
    genome_from_json,
    max_pooling_units,
    mutate,
    random_genome,
    tournament_select,
)
from cnncourse.models.mnasnet import (
    HARD_LATENCY_CONSTRAINT,
    MNASNET_B1_STACKS,
    MNASNET_HEAD_CHANNELS,
    MNASNET_PAPER,
    MNASNET_STEM_CHANNELS,
    SOFT_LATENCY_CONSTRAINT,
    MnasInvertedResidual,
    MnasNet,
    MnasStack,
    mnasnet0_5,
    mnasnet0_75,
    mnasnet1_0,
    mnasnet1_3,
    mnasnet_cifar,
    mnasnet_reward,
)
from cnncourse.models.nasnet import (
    H_CURRENT,
    H_PREVIOUS,
    NAS_OPERATIONS,
    NASNET_A_NORMAL_CELL,
    NASNET_A_REDUCTION_CELL,
    NASNET_PAPER,
    CellBlock,
    CellSpec,
    FactorizedReduce,
    NASNetA,
    NasNetACell,
    NasOperation,
    SeparableConvTwice,
    make_nas_operation,
    nasnet_a_cifar_small,
)

__all__ = [
    "AECNN_PAPER",
    "AECNN_SEARCH_SPACE",
    "CPU_SEARCH_SPACE",
    "AecnnDenseLayer",
    "AecnnResidualBlock",
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
    "MNASNET_HEAD_CHANNELS",
    "MNASNET_PAPER",
    "MNASNET_STEM_CHANNELS",
    "MnasInvertedResidual",
    "MnasNet",
    "MnasStack",
    "NASNET_A_NORMAL_CELL",
    "NASNET_A_REDUCTION_CELL",
    "NASNET_PAPER",
    "NAS_OPERATIONS",
    "NASNetA",
    "NasNetACell",
    "NasOperation",
    "PoolingUnit",
    "ResNetBlockUnit",
    "SOFT_LATENCY_CONSTRAINT",
    "SearchSpace",
    "SeparableConvTwice",
    "Unit",
    "UnitShape",
    "crossover",
    "environmental_selection",
    "genome_from_json",
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
    "tournament_select",
]
