"""The NAS families, one per file: NASNet-A, MnasNet and the AE-CNN genome (with its JSON encoding and
selection operators), and the old module ``cnncourse.models.nas`` that re-exports them.

The models' behaviour is tested in ``test_nas.py`` (through the old import path, unchanged).
"""

from __future__ import annotations

import ast
import inspect
import itertools
import random
from collections import Counter

import pytest

import cnncourse.models.nas as nas
from cnncourse.errors import CourseError
from cnncourse.models import aecnn, list_models, mnasnet, model_info, nasnet
from cnncourse.models.aecnn import (
    CPU_SEARCH_SPACE,
    DenseNetBlockUnit,
    DenseOption,
    Genome,
    PoolingUnit,
    ResNetBlockUnit,
    SearchSpace,
    Unit,
    count_genomes,
    environmental_selection,
    genome_from_json,
    mutate,
    random_genome,
    tournament_select,
    uniform_genome,
)

#: Every public name the single-file ``nas.py`` had (its ``__all__`` before the split).
NAMES_BEFORE_THE_SPLIT = {
    "AECNN_SEARCH_SPACE", "CPU_SEARCH_SPACE", "CellBlock", "CellSpec", "DenseNetBlockUnit", "DenseOption",
    "FactorizedReduce", "Genome", "GenomeNetwork", "HARD_LATENCY_CONSTRAINT", "H_CURRENT", "H_PREVIOUS",
    "MNASNET_B1_STACKS", "MnasInvertedResidual", "MnasNet", "MnasStack", "NASNET_A_NORMAL_CELL",
    "NASNET_A_REDUCTION_CELL", "NASNetA", "NasNetACell", "PoolingUnit", "ResNetBlockUnit",
    "SOFT_LATENCY_CONSTRAINT", "SearchSpace", "SeparableConvTwice", "Unit", "UnitShape", "crossover",
    "make_nas_operation", "max_pooling_units", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3",
    "mnasnet_cifar", "mnasnet_reward", "mutate", "nasnet_a_cifar_small", "random_genome",
}
FAMILIES = {"nasnet": nasnet, "mnasnet": mnasnet, "aecnn": aecnn}


def test_every_old_name_is_still_importable_from_nas_and_is_the_family_object() -> None:
    assert NAMES_BEFORE_THE_SPLIT <= set(nas.__all__)
    for name in nas.__all__:
        homes = [family for family, module in FAMILIES.items() if name in module.__all__]
        assert len(homes) == 1, f"{name} should live in exactly one family module, found {homes}"
        assert getattr(nas, name) is getattr(FAMILIES[homes[0]], name)


@pytest.mark.parametrize(
    ("family", "names"),
    [
        ("nasnet", ["NASNetA", "NasNetACell", "CellSpec", "SeparableConvTwice", "nasnet_a_cifar_small"]),
        ("mnasnet", ["MnasNet", "MnasInvertedResidual", "mnasnet1_0", "mnasnet_reward", "mnasnet_cifar"]),
        ("aecnn", ["Genome", "GenomeNetwork", "mutate", "crossover", "random_genome", "tournament_select"]),
    ],
)
def test_classes_and_functions_are_defined_in_their_family_module(family: str, names: list[str]) -> None:
    for name in names:
        assert getattr(FAMILIES[family], name).__module__ == f"cnncourse.models.{family}"


def test_family_modules_do_not_import_each_other() -> None:
    for family, module in FAMILIES.items():
        tree = ast.parse(inspect.getsource(module))
        imported = {
            node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        }
        others = {f"cnncourse.models.{other}" for other in FAMILIES if other != family}
        others.add("cnncourse.models.nas")
        assert not imported & others, f"{family} imports {imported & others}"


def test_registry_names_and_family_are_unchanged() -> None:
    assert set(list_models(family="nas")) == {
        "nasnet_a_cifar_small", "mnasnet0_5", "mnasnet0_75", "mnasnet1_0", "mnasnet1_3", "mnasnet_cifar",
        "aecnn_searched",  # chapter 08: the best genome of the shipped reference search
    }
    assert model_info("aecnn_searched").builder.__module__ == "cnncourse.models.aecnn"
    assert model_info("nasnet_a_cifar_small").builder.__module__ == "cnncourse.models.nasnet"
    assert model_info("mnasnet1_0").builder.__module__ == "cnncourse.models.mnasnet"
    assert model_info("mnasnet1_0").torchvision_name == "mnasnet1_0"


def test_each_module_reads_citation_first() -> None:
    for family, module in FAMILIES.items():
        assert module.__doc__ and "arXiv:" in module.__doc__.split("\n\n")[1], family


# --- JSON encoding and the canonical key -------------------------------------------------------------

EXAMPLE = Genome((ResNetBlockUnit(2, 32), PoolingUnit("avg"), DenseNetBlockUnit(3, 12, 32)))


def test_json_round_trip_for_random_genomes() -> None:
    rng = random.Random(0)
    genomes = [random_genome(rng) for _ in range(30)]
    genomes += [mutate(genome, rng) for genome in genomes]
    for genome in genomes:
        assert genome_from_json(genome.to_json()) == genome
    keys = {genome.key() for genome in genomes}
    assert len(keys) == len(set(genomes))  # equal keys exactly for equal genomes


def test_key_tells_apart_what_the_label_does_not() -> None:
    # describe() omits a DBU's input limit; the key must not
    a = Genome((ResNetBlockUnit(1, 16), DenseNetBlockUnit(2, 8, 32)))
    b = Genome((ResNetBlockUnit(1, 16), DenseNetBlockUnit(2, 8, 64)))
    assert a.describe() == b.describe() and a.key() != b.key()
    assert a.key() == Genome((ResNetBlockUnit(1, 16), DenseNetBlockUnit(2, 8, 32))).key()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"unit": "rbu"}, "JSON list"),
        ([{"unit": "conv", "num_blocks": 1}], "unit 1 has unit='conv'"),
        ([{"unit": "rbu", "num_blocks": 1}], "missing \\['out_channels'\\]"),
        ([{"unit": "rbu", "num_blocks": 1, "out_channels": 16, "stride": 2}], "unexpected \\['stride'\\]"),
        ([{"unit": "rbu", "num_blocks": 1, "out_channels": 16}, {"unit": "pool", "kind": "min"}], "unit 2"),
        ([{"unit": "rbu", "num_blocks": "1", "out_channels": 16}], "num_blocks must be an integer"),
        ([{"unit": "rbu", "num_blocks": True, "out_channels": 16}], "num_blocks must be an integer"),
    ],
)
def test_malformed_json_genomes_are_refused_with_the_place(data: object, message: str) -> None:
    with pytest.raises(CourseError, match=message):
        genome_from_json(data)


# --- selection ----------------------------------------------------------------------------------------

POPULATION = [Genome((ResNetBlockUnit(1, channels),)) for channels in (8, 16, 24, 32, 40)]
FITNESS = [0.30, 0.90, 0.50, 0.10, 0.70]


def test_binary_tournament_favours_the_fitter_and_is_deterministic() -> None:
    wins = Counter(tournament_select(POPULATION, FITNESS, random.Random(seed)) for seed in range(2000))
    order = [wins[genome] for genome in POPULATION]
    # with replacement, the r-th weakest of five wins a binary tournament with probability (2r+1)/25
    ranked = sorted(range(5), key=lambda index: FITNESS[index])
    assert [order[index] for index in ranked] == sorted(order)
    assert wins[POPULATION[3]] < wins[POPULATION[1]] / 5  # the worst rarely wins
    first = [tournament_select(POPULATION, FITNESS, random.Random(7)) for _ in range(3)]
    assert first == [tournament_select(POPULATION, FITNESS, random.Random(7)) for _ in range(3)]


def test_a_large_tournament_returns_the_best() -> None:
    assert tournament_select(POPULATION, FITNESS, random.Random(0), size=200) == POPULATION[1]
    assert tournament_select(POPULATION, FITNESS, random.Random(0), size=1) in POPULATION


def test_environmental_selection_keeps_the_best_and_the_size() -> None:
    for seed in range(50):
        survivors = environmental_selection(POPULATION, FITNESS, 3, random.Random(seed))
        assert len(survivors) == 3 and POPULATION[1] in survivors
        assert all(genome in POPULATION for genome in survivors)
    # over many seeds the worst survives less often than the best-but-one
    counts: Counter[Genome] = Counter()
    for seed in range(300):
        counts.update(environmental_selection(POPULATION, FITNESS, 3, random.Random(seed)))
    assert counts[POPULATION[3]] < counts[POPULATION[4]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: tournament_select([], [], random.Random(0)), "empty population"),
        (lambda: tournament_select(POPULATION, FITNESS[:2], random.Random(0)), "one fitness per individual"),
        (lambda: tournament_select(POPULATION, FITNESS, random.Random(0), size=0), "Tournament size"),
        (lambda: tournament_select(POPULATION, [float("nan")] * 5, random.Random(0)), "finite"),
        (lambda: environmental_selection(POPULATION, FITNESS, 0, random.Random(0)), "population_size"),
    ],
)
def test_selection_refuses_bad_input(call: object, message: str) -> None:
    with pytest.raises(CourseError, match=message):
        call()  # type: ignore[operator]


def test_cpu_space_is_the_default_of_the_operators() -> None:
    genome = random_genome(random.Random(1))
    assert len(genome.units) <= CPU_SEARCH_SPACE.max_units
    widths = [u.out_channels for u in genome.units if isinstance(u, ResNetBlockUnit)]
    assert widths and set(widths) <= set(CPU_SEARCH_SPACE.rbu_channels)


# --- uniform sampling over the whole space ------------------------------------------------------------


def all_valid_genomes(space: SearchSpace, input_size: int) -> set[Genome]:
    """Brute force: every sequence of unit settings up to max_units long, kept if valid."""
    low, high = space.rbu_blocks
    conv: list[Unit] = [ResNetBlockUnit(b, c) for c in space.rbu_channels for b in range(low, high + 1)]
    conv += [DenseNetBlockUnit(n, o.growth_rate, o.max_input_channels) for o in space.dense_options
             for n in range(o.min_layers, o.max_layers + 1)]
    alphabet = conv + [PoolingUnit("max"), PoolingUnit("avg")]
    found: set[Genome] = set()
    for length in range(1, space.max_units + 1):
        for units in itertools.product(alphabet, repeat=length):
            genome = Genome(units)
            if not genome.problems(input_size):
                found.add(genome)
    return found


SMALL_SPACE = SearchSpace(
    rbu_channels=(4, 8), rbu_blocks=(1, 1), dense_options=(DenseOption(4, 1, 1, 8),),
    initial_rbus=(1, 1), initial_dbus=(0, 1), initial_pools=(0, 1), max_units=3,
)


def test_count_genomes_agrees_with_brute_force() -> None:
    for input_size in (28, 2):  # 2 px: at most one pooling unit
        every = all_valid_genomes(SMALL_SPACE, input_size)
        assert count_genomes(SMALL_SPACE, input_size=input_size) == len(every)
        for length in (1, 2, 3):
            expected = sum(len(g.units) == length for g in every)
            assert count_genomes(SMALL_SPACE, input_size=input_size, length=length) == expected
    with pytest.raises(CourseError, match="length must be between 1 and max_units = 3"):
        count_genomes(SMALL_SPACE, length=4)


def test_uniform_genome_is_uniform_over_the_valid_genomes() -> None:
    every = all_valid_genomes(SMALL_SPACE, 28)  # 3 + 3·5 + 3·25 = 93 genomes
    rng = random.Random(0)
    draws = Counter(uniform_genome(rng, SMALL_SPACE) for _ in range(93 * 200))
    assert set(draws) == every  # every valid genome, and nothing else
    expected = 200
    chi_square = sum((draws[g] - expected) ** 2 / expected for g in every)
    assert chi_square < 140  # 92 degrees of freedom: the 99.9th percentile is about 137
    assert [uniform_genome(random.Random(3), SMALL_SPACE) for _ in range(2)] == [
        uniform_genome(random.Random(3), SMALL_SPACE) for _ in range(2)
    ]


def test_uniform_draws_in_the_cpu_space_are_mostly_as_long_as_allowed() -> None:
    # the number the docstring of uniform_genome quotes
    share = count_genomes(length=CPU_SEARCH_SPACE.max_units) / count_genomes()
    assert round(share, 2) == 0.93
    lengths = [len(uniform_genome(random.Random(seed)).units) for seed in range(300)]
    assert 0.88 < lengths.count(8) / 300 < 0.97
    # while evolution's initial population is short: 2 RBUs, 1 DBU and 2 pooling units at most
    assert max(len(random_genome(random.Random(seed)).units) for seed in range(300)) <= 5


@pytest.mark.parametrize("module", [aecnn, mnasnet, nasnet, nas])
def test_docstring_examples_run(module: object) -> None:
    import doctest

    failures, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert failures == 0
