"""AE-CNN: a genome of ResNet block units, DenseNet block units and pooling units, and its operators.

Paper: Sun, Xue, Zhang & Yen, "Completely Automated CNN Architecture Design Based on Blocks", IEEE
Transactions on Neural Networks and Learning Systems 31(4), 2020, arXiv:1810.11875. A genetic algorithm
whose genes are whole ResNet block units, DenseNet block units and pooling units. :class:`Genome`
encodes one individual, says whether it is valid, builds it into a network and converts to and from
JSON; the genetic operators are random initialisation (:func:`random_genome`), :func:`mutate`,
:func:`crossover`, and selection (:func:`tournament_select`, :func:`environmental_selection`).
The search loop, which trains and measures, is :mod:`cnncourse.nas` (models only build networks).

Read top to bottom: the genes and the search spaces (configuration) → the blocks → the genome and the
network it builds (model) → JSON encoding → the genetic operators.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import torch
from torch import Tensor, nn

from cnncourse.errors import CourseError
from cnncourse.models._registry import check_model_arguments, register_model

AECNN_PAPER = "Sun, Xue, Zhang & Yen, IEEE TNNLS 2020, arXiv:1810.11875"

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

    def to_json(self) -> list[dict[str, object]]:
        """The genome as plain JSON data, one object per unit (see :func:`genome_from_json`).

        >>> Genome((ResNetBlockUnit(1, 16), PoolingUnit("max"))).to_json()
        [{'unit': 'rbu', 'num_blocks': 1, 'out_channels': 16}, {'unit': 'pool', 'kind': 'max'}]
        """
        return [_unit_to_json(unit) for unit in self.units]

    def key(self) -> str:
        """A canonical text key: two genomes have the same key exactly when they are equal.

        Compact JSON with sorted keys, so a fitness cache or a search log can store it and compare it.

        >>> Genome((ResNetBlockUnit(1, 16),)).key()
        '[{"num_blocks":1,"out_channels":16,"unit":"rbu"}]'
        """
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))

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


# --- the genome the course's reference search found --------------------------------------------------

#: The fittest genome of the course's shipped reference searches (``cnncourse/nas/reference/``: evolution and
#: random search, 16 genomes each, seeds 0 and 1, population 4, :class:`cnncourse.nas.TrainingFitness` at its
#: defaults — 2 epochs on 2,048 Fashion-MNIST training images, scored on 1,024 other training images).
#: It came from ``evolution-seed0.jsonl`` (evolution, search seed 0): evaluation 8, offspring of generation 2,
#: validation accuracy 78.6% (805 of 1,024 images), 56,506 parameters, 34.9M multiply-adds per 1×28×28 image.
SEARCHED_GENOME = Genome(
    (
        ResNetBlockUnit(2, 32),
        ResNetBlockUnit(2, 32),
        PoolingUnit("max"),
        PoolingUnit("max"),
        DenseNetBlockUnit(2, 8, 32),
        PoolingUnit("max"),
        PoolingUnit("avg"),
        ResNetBlockUnit(1, 16),
    )
)


@register_model(family="nas", input_size=(1, 28, 28), paper=AECNN_PAPER)
def aecnn_searched(*, num_classes: int = 10, in_channels: int = 1) -> GenomeNetwork:
    """The network of :data:`SEARCHED_GENOME`, the best genome of the course's reference search, for
    28×28 images (chapter 08; retrain it with ``python -m cnncourse train --model aecnn_searched``)."""
    check_model_arguments(num_classes, in_channels)
    return SEARCHED_GENOME.build(in_channels, num_classes, input_size=28)


# --- JSON encoding ---------------------------------------------------------------------------------

_UNIT_FIELDS: dict[str, tuple[str, ...]] = {
    "rbu": ("num_blocks", "out_channels"),
    "dbu": ("num_layers", "growth_rate", "max_input_channels"),
    "pool": ("kind",),
}


def _unit_to_json(unit: Unit) -> dict[str, object]:
    if isinstance(unit, ResNetBlockUnit):
        return {"unit": "rbu", "num_blocks": unit.num_blocks, "out_channels": unit.out_channels}
    if isinstance(unit, DenseNetBlockUnit):
        return {
            "unit": "dbu",
            "num_layers": unit.num_layers,
            "growth_rate": unit.growth_rate,
            "max_input_channels": unit.max_input_channels,
        }
    return {"unit": "pool", "kind": unit.kind}


def _unit_from_json(data: object, position: int) -> Unit:
    where = f"unit {position + 1}"
    if not isinstance(data, dict):
        raise CourseError(f"{where} must be a JSON object such as {{'unit': 'rbu', ...}}, got {data!r}.")
    kind = data.get("unit")
    if kind not in _UNIT_FIELDS:
        raise CourseError(f"{where} has unit={kind!r}; it must be one of {sorted(_UNIT_FIELDS)}.")
    expected = set(_UNIT_FIELDS[kind]) | {"unit"}
    if set(data) != expected:
        missing, extra = sorted(expected - set(data)), sorted(set(data) - expected)
        raise CourseError(
            f"{where} ({kind}) must have exactly the fields {sorted(expected)}"
            + (f"; missing {missing}" if missing else "")
            + (f"; unexpected {extra}" if extra else "")
            + "."
        )
    if kind == "pool":
        if data["kind"] not in ("max", "avg"):
            raise CourseError(f"{where}: pooling kind must be 'max' or 'avg', got {data['kind']!r}.")
        return PoolingUnit(data["kind"])
    values = [data[name] for name in _UNIT_FIELDS[kind]]
    for name, value in zip(_UNIT_FIELDS[kind], values):
        if not isinstance(value, int) or isinstance(value, bool):
            raise CourseError(f"{where} ({kind}): {name} must be an integer, got {value!r}.")
    return ResNetBlockUnit(*values) if kind == "rbu" else DenseNetBlockUnit(*values)


def genome_from_json(data: object) -> Genome:
    """The :class:`Genome` that :meth:`Genome.to_json` wrote (a list of unit objects).

    Malformed data raises :class:`CourseError` naming the unit and the field; validity for an input
    size is a separate question (:meth:`Genome.check`).

    >>> genome = Genome((ResNetBlockUnit(2, 32), PoolingUnit("avg"), DenseNetBlockUnit(2, 8, 32)))
    >>> genome_from_json(genome.to_json()) == genome
    True
    """
    if not isinstance(data, list):
        raise CourseError(f"A genome is a JSON list of units, got {type(data).__name__}: {data!r}.")
    return Genome(tuple(_unit_from_json(item, position) for position, item in enumerate(data)))


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


def _conv_unit_choices(space: SearchSpace) -> list[Unit]:
    """Every RBU and DBU setting the space allows (each DBU growth rate with its own layer range)."""
    low, high = space.rbu_blocks
    choices: list[Unit] = [
        ResNetBlockUnit(blocks, channels)
        for channels in space.rbu_channels
        for blocks in range(low, high + 1)
    ]
    for option in space.dense_options:
        choices += [
            DenseNetBlockUnit(layers, option.growth_rate, option.max_input_channels)
            for layers in range(option.min_layers, option.max_layers + 1)
        ]
    return choices


def _count_by_length_and_pools(space: SearchSpace, input_size: int) -> dict[tuple[int, int], int]:
    """{(length, pooling units): how many valid genomes} for lengths 1 … ``space.max_units``.

    A valid genome starts with a convolutional unit (so it has one), and has at most
    :func:`max_pooling_units` pooling units; every other position is any unit. With ``c`` convolutional
    settings and 2 pooling kinds, length ``L`` and ``k`` pooling units: c · C(L−1, k) · 2^k · c^(L−1−k).
    """
    conv = len(_conv_unit_choices(space))
    limit = max_pooling_units(input_size)
    return {
        (length, pools): conv * math.comb(length - 1, pools) * 2**pools * conv ** (length - 1 - pools)
        for length in range(1, space.max_units + 1)
        for pools in range(0, min(limit, length - 1) + 1)
    }


def count_genomes(
    space: SearchSpace = CPU_SEARCH_SPACE, *, input_size: int = 28, length: int | None = None
) -> int:
    """How many valid genomes of at most ``space.max_units`` units (or of exactly ``length``) the space
    holds — the space mutation and crossover move in (:func:`uniform_genome` draws from it).

    >>> count_genomes(length=1)  # CPU_SEARCH_SPACE: 6 RBU settings + 6 DBU settings
    12
    >>> count_genomes()  # up to 8 units, at most 4 pooling units for 28-pixel images
    1361010756
    """
    counts = _count_by_length_and_pools(space, input_size)
    if length is not None and not 1 <= length <= space.max_units:
        raise CourseError(f"length must be between 1 and max_units = {space.max_units}, got {length!r}.")
    return sum(count for (size, _), count in counts.items() if length is None or size == length)


def uniform_genome(
    rng: random.Random, space: SearchSpace = CPU_SEARCH_SPACE, *, input_size: int = 28
) -> Genome:
    """A genome drawn uniformly from all :func:`count_genomes` valid genomes of the space: every valid
    genome of up to ``space.max_units`` units is equally likely.

    Exactly uniform, without rejection: draw the length and the number of pooling units with
    probabilities proportional to how many genomes have them, the pooling positions uniformly among
    positions 2 … L, then every unit's setting uniformly. Because longer genomes are far more numerous,
    most draws have the maximum length (in :data:`CPU_SEARCH_SPACE`, 8 units in 93% of draws). That is why
    random search defaults to :func:`random_genome`'s distribution, the one evolution starts from.
    """
    counts = _count_by_length_and_pools(space, input_size)
    (length, pools), = rng.choices(list(counts), weights=list(counts.values()))
    pool_positions = set(rng.sample(range(1, length), pools))
    conv = _conv_unit_choices(space)
    units = [_random_pool(rng) if index in pool_positions else rng.choice(conv) for index in range(length)]
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


# --- selection ----------------------------------------------------------------------------------------


def _check_scored(population: Sequence[Genome], fitnesses: Sequence[float]) -> None:
    if not population:
        raise CourseError("Selection needs at least one individual, got an empty population.")
    if len(population) != len(fitnesses):
        raise CourseError(
            f"Selection needs one fitness per individual: {len(population)} genomes, "
            f"{len(fitnesses)} fitness values."
        )
    bad = [value for value in fitnesses if not (isinstance(value, (int, float)) and math.isfinite(value))]
    if bad:
        raise CourseError(f"Fitness values must be finite numbers, got {bad[:3]}.")


def tournament_select(
    population: Sequence[Genome], fitnesses: Sequence[float], rng: random.Random, *, size: int = 2
) -> Genome:
    """Tournament selection: draw ``size`` individuals at random (with replacement) and return the
    fittest; a tie goes to the one drawn first. ``size=2`` is the binary tournament AE-CNN uses to
    pick parents (Section III). Higher fitness is better.

    Every individual can win (a weak one only against an equal or weaker one), so selection pressure
    grows with ``size`` without discarding diversity outright.

    >>> a, b = Genome((ResNetBlockUnit(1, 16),)), Genome((ResNetBlockUnit(1, 32),))
    >>> tournament_select([a, b], [0.5, 0.9], random.Random(0), size=50) == b
    True
    """
    _check_scored(population, fitnesses)
    if not isinstance(size, int) or size < 1:
        raise CourseError(f"Tournament size must be an integer of at least 1, got {size!r}.")
    drawn = [rng.randrange(len(population)) for _ in range(size)]
    best = drawn[0]
    for index in drawn[1:]:
        if fitnesses[index] > fitnesses[best]:
            best = index
    return population[best]


def environmental_selection(
    candidates: Sequence[Genome],
    fitnesses: Sequence[float],
    population_size: int,
    rng: random.Random,
) -> list[Genome]:
    """The next population from parents and offspring together (AE-CNN's environmental selection,
    Section III): ``population_size`` binary tournaments over ``candidates``, then elitism — if the
    fittest candidate did not win a place, it replaces the weakest winner. So the best fitness of a
    population never decreases from one generation to the next, while weaker individuals still
    survive now and then and keep the population diverse.

    Args:
        candidates: parents and offspring (duplicates allowed: the same genome can be in both).
        fitnesses: one value per candidate, higher is better.
        population_size: how many survive.
        rng: e.g. ``random.Random(0)``; the result is deterministic for a seeded ``rng``.
    """
    _check_scored(candidates, fitnesses)
    if not isinstance(population_size, int) or population_size < 1:
        raise CourseError(f"population_size must be an integer of at least 1, got {population_size!r}.")
    score = {genome: value for genome, value in zip(candidates, fitnesses)}
    survivors = [tournament_select(candidates, fitnesses, rng) for _ in range(population_size)]
    best = max(range(len(candidates)), key=lambda index: (fitnesses[index], -index))
    if candidates[best] not in survivors:
        weakest = min(range(population_size), key=lambda index: (score[survivors[index]], -index))
        survivors[weakest] = candidates[best]
    return survivors


__all__ = [
    "AECNN_PAPER",
    "AECNN_SEARCH_SPACE",
    "AecnnDenseLayer",
    "AecnnResidualBlock",
    "CPU_SEARCH_SPACE",
    "DenseNetBlockUnit",
    "DenseOption",
    "Genome",
    "GenomeNetwork",
    "PoolingUnit",
    "ResNetBlockUnit",
    "SearchSpace",
    "Unit",
    "UnitShape",
    "count_genomes",
    "crossover",
    "SEARCHED_GENOME",
    "aecnn_searched",
    "environmental_selection",
    "genome_from_json",
    "max_pooling_units",
    "mutate",
    "random_genome",
    "tournament_select",
    "uniform_genome",
]
