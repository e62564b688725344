# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 08 · Neural architecture search — exercises / 演習
#
# Six exercises on architecture search: when an AE-CNN genome (Sun et al., 2020, arXiv:1810.11875) is a valid
# network, a mutation that keeps it valid, one-point crossover, the binary tournament that picks parents,
# MnasNet's reward (Tan et al., 2019, arXiv:1807.11626, eq. 2), and the parameters of a NASNet cell (Zoph et al.,
# 2018, arXiv:1707.07012). Each exercise is followed by a check cell that compares your code with the course's
# reference (`cnncourse.models.aecnn`, `cnncourse.models.mnasnet`, `cnncourse.models.nasnet`) and says, line by
# line, what is right (✓) and what to fix (✗).
#
# アーキテクチャ探索の演習は6問である。AE-CNN のゲノム（Sun ら, 2020）が妥当なネットワークを表すかの判定、
# 妥当性を保つ突然変異、一点交叉、親を選ぶバイナリトーナメント、MnasNet の報酬（Tan ら, 2019, 式 2）、
# NASNet のセルのパラメータ数（Zoph ら, 2018）を書く。各演習の次にチェック用のセルがあり、コース付属の
# 参照実装と比べて、正しい点（✓）と直すべき点（✗）を1行ずつ表示する。
#
# **How to work / 進め方:** replace `raise NotImplementedError()` with your code, run the cell, then run the
# check cell below it. An exercise you have not started is reported as *not attempted*, so the notebook always
# runs from top to bottom; the last cell counts how many exercises are done.
# `raise NotImplementedError()` を自分のコードに置き換えて実行し、その下のチェックセルを実行する。
# 未着手の演習は「not attempted」と表示されるだけなので、ノートブックは常に最後まで実行できる。
#
# **Time / 所要時間:** 45–60 minutes. Every check runs in a few seconds on a CPU; nothing is trained.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
import math
import random

from cnncourse.check import nas as checks
from cnncourse.models.aecnn import (
    CPU_SEARCH_SPACE,
    DenseNetBlockUnit,
    Genome,
    PoolingUnit,
    ResNetBlockUnit,
)
from cnncourse.models.nasnet import NASNET_A_NORMAL_CELL, NASNET_A_REDUCTION_CELL, CellSpec

# %% [markdown]
# ## Exercise 1 · ゲノムの妥当性 / A valid genome (1 point)
#
# An AE-CNN genome is a tuple of units: `ResNetBlockUnit(num_blocks, out_channels)`,
# `DenseNetBlockUnit(num_layers, growth_rate, max_input_channels)` and `PoolingUnit("max" | "avg")`, in
# `genome.units`. Write `is_valid(genome, input_size)`: True exactly when the genome is a network for
# `input_size`-pixel images, by the course's three rules:
#
# 1. it has at least one ResNet or DenseNet unit;
# 2. its first unit is not a pooling unit;
# 3. it has at most ⌊log₂ input_size⌋ pooling units (each halves the map: 28 → 14 → 7 → 3 → 1).
#
# Do not call `genome.problems` or `genome.check` (the check uses them as the reference).
#
# AE-CNN のゲノムはユニットのタプル（`genome.units`）である。次の3つの規則を満たすときに限り True を返す
# `is_valid(genome, input_size)` を書け。(1) ResNet または DenseNet のユニットを少なくとも1つ含む、(2) 先頭が
# プーリングユニットでない、(3) プーリングユニットが ⌊log₂ input_size⌋ 個以下である。

# %% nbgrader={"grade": false, "grade_id": "nas_is_valid_answer", "locked": false, "schema_version": 3, "solution": true}
def is_valid(genome: Genome, input_size: int) -> bool:
    """Whether ``genome`` encodes a network for ``input_size``-pixel images."""
    ### BEGIN SOLUTION
    units = genome.units
    if not any(isinstance(unit, (ResNetBlockUnit, DenseNetBlockUnit)) for unit in units):
        return False
    if isinstance(units[0], PoolingUnit):
        return False
    pools = sum(isinstance(unit, PoolingUnit) for unit in units)
    return pools <= int(math.floor(math.log2(input_size)))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "nas_is_valid", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_is_valid(is_valid)
### BEGIN HIDDEN TESTS
checks.check_is_valid(is_valid, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · 妥当性を保つ突然変異 / A mutation that keeps genomes valid (2 points)
#
# Write `mutate(genome, rng)`: a new genome that differs from `genome` by one of AE-CNN's three mutations
# (Section III), drawn with `rng` (a `random.Random`):
#
# * **add** a random unit — a `ResNetBlockUnit(rng.randint(1, 2), rng.choice((16, 32, 64)))`, a
#   `DenseNetBlockUnit(rng.randint(1, 3), rng.choice((8, 12)), 32)` or a `PoolingUnit(rng.choice(("max",
#   "avg")))` — at a random position;
# * **remove** a random unit;
# * **modify** one setting of a random unit (a ResNet unit's width or number of blocks, a DenseNet unit's layers
#   or growth rate, a pooling unit's kind), to a *different* value.
#
# The child must always be valid for 28-pixel images (exercise 1) and at most `CPU_SEARCH_SPACE.max_units` (8)
# units long: when the drawn operation would break a rule — a pooling unit in first place or a fifth one, removing
# the only convolutional unit, adding to an 8-unit genome — do something else that is valid (e.g. draw again, or
# modify). Genomes are immutable: build a new one with `Genome(tuple(units))`.
#
# `mutate(genome, rng)` を書け。AE-CNN の3種類の突然変異（追加・削除・変更）のどれかを `rng` で選び、親と1か所
# だけ違う新しいゲノムを返す。子は常に28ピクセルの画像に対して妥当（演習1）で、長さは8ユニット以下でなければ
# ならない。規則を破る操作を引いたら、別の妥当な操作に切り替えること。

# %% nbgrader={"grade": false, "grade_id": "nas_mutate_answer", "locked": false, "schema_version": 3, "solution": true}
def random_unit(rng: random.Random):
    """One random unit of CPU_SEARCH_SPACE's kinds (a helper you may use)."""
    kind = rng.choice(("rbu", "dbu", "pool"))
    if kind == "rbu":
        return ResNetBlockUnit(rng.randint(1, 2), rng.choice((16, 32, 64)))
    if kind == "dbu":
        return DenseNetBlockUnit(rng.randint(1, 3), rng.choice((8, 12)), 32)
    return PoolingUnit(rng.choice(("max", "avg")))


def mutate(genome: Genome, rng: random.Random) -> Genome:
    """A valid child that differs from ``genome`` by one added, removed or modified unit."""
    ### BEGIN SOLUTION
    for _ in range(100):
        units = list(genome.units)
        operation = rng.choice(("add", "remove", "modify"))
        if operation == "add" and len(units) < CPU_SEARCH_SPACE.max_units:
            units.insert(rng.randint(0, len(units)), random_unit(rng))
        elif operation == "remove" and len(units) > 1:
            del units[rng.randrange(len(units))]
        else:
            index = rng.randrange(len(units))
            unit = units[index]
            if isinstance(unit, ResNetBlockUnit):
                if rng.random() < 0.5:
                    unit = ResNetBlockUnit(unit.num_blocks, rng.choice([c for c in (16, 32, 64) if c != unit.out_channels]))
                else:
                    unit = ResNetBlockUnit(3 - unit.num_blocks if unit.num_blocks in (1, 2) else 1, unit.out_channels)
            elif isinstance(unit, DenseNetBlockUnit):
                if rng.random() < 0.5:
                    unit = DenseNetBlockUnit(unit.num_layers, 20 - unit.growth_rate, unit.max_input_channels)
                else:
                    layers = rng.choice([n for n in (1, 2, 3) if n != unit.num_layers])
                    unit = DenseNetBlockUnit(layers, unit.growth_rate, unit.max_input_channels)
            else:
                unit = PoolingUnit("avg" if unit.kind == "max" else "max")
            units[index] = unit
        child = Genome(tuple(units))
        if child != genome and is_valid(child, 28) and len(child.units) <= CPU_SEARCH_SPACE.max_units:
            return child
    return genome
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "nas_mutate", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_mutate(mutate)
### BEGIN HIDDEN TESTS
checks.check_mutate(mutate, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 · 一点交叉 / One-point crossover (1 point)
#
# AE-CNN crosses two genomes of different lengths at one point in each: the first parent is cut into A + B after
# `cut_first` units, the second into C + D after `cut_second` units, and the children are **A + D** and **C + B**
# (Section III). Write `crossover(first, second, cut_first, cut_second)` returning the tuple `(A + D, C + B)` of
# two `Genome`s. (The library's `crossover` also draws the cuts and redraws them until both children are valid;
# here the cuts are given.)
#
# 1つ目の親を先頭から `cut_first` 個で A + B に、2つ目の親を `cut_second` 個で C + D に切り、子 (A + D, C + B)
# を返す `crossover(first, second, cut_first, cut_second)` を書け。

# %% nbgrader={"grade": false, "grade_id": "nas_crossover_answer", "locked": false, "schema_version": 3, "solution": true}
def crossover(first: Genome, second: Genome, cut_first: int, cut_second: int) -> tuple[Genome, Genome]:
    """One-point crossover: (A + D, C + B) for first = A + B, second = C + D."""
    ### BEGIN SOLUTION
    return (Genome(first.units[:cut_first] + second.units[cut_second:]),
            Genome(second.units[:cut_second] + first.units[cut_first:]))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "nas_crossover", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_crossover(crossover)
### BEGIN HIDDEN TESTS
checks.check_crossover(crossover, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 · バイナリトーナメント選択 / Binary tournament selection (1 point)
#
# AE-CNN picks each parent by a binary tournament: draw two individuals at random (each draw from the whole
# population, so the same one can be drawn twice) and return the fitter one; higher fitness is better. Write
# `binary_tournament(fitnesses, rng)` returning the **index** of the winner. The check runs it 8,000 times and
# compares how often each individual wins with the probabilities of a binary tournament.
#
# 集団から無作為に2個体を選び（同じ個体が2回選ばれてもよい）、適応度の高い方の**添字**を返す
# `binary_tournament(fitnesses, rng)` を書け。

# %% nbgrader={"grade": false, "grade_id": "nas_binary_tournament_answer", "locked": false, "schema_version": 3, "solution": true}
def binary_tournament(fitnesses: list[float], rng: random.Random) -> int:
    """The index of the fitter of two individuals drawn at random with replacement."""
    ### BEGIN SOLUTION
    a, b = rng.randrange(len(fitnesses)), rng.randrange(len(fitnesses))
    return a if fitnesses[a] >= fitnesses[b] else b
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "nas_binary_tournament", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_binary_tournament(binary_tournament)
### BEGIN HIDDEN TESTS
checks.check_binary_tournament(binary_tournament, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 5 · MnasNet の報酬 / MnasNet's reward (2 points)
#
# MnasNet maximises (Section 3, eq. 2)
#
# $$\text{ACC}(m)\cdot\left[\frac{\text{LAT}(m)}{T}\right]^{w},\qquad w = \alpha \text{ if } \text{LAT}(m) \le T
# \text{, else } \beta,$$
#
# with α = β = −0.07 for the soft constraint and α = 0, β = −1 for the hard one. Write `mnasnet_reward(accuracy,
# latency_ms, target_ms, alpha, beta)`. Mind the sign: a model slower than the target must get *less* reward.
#
# MnasNet の報酬 ACC(m)·[LAT(m)/T]^w（LAT ≤ T なら w = α、それ以外は w = β）を返す関数を書け。目標より遅い
# モデルの報酬が小さくなるよう、符号に注意すること。

# %% nbgrader={"grade": false, "grade_id": "nas_mnasnet_reward_answer", "locked": false, "schema_version": 3, "solution": true}
def mnasnet_reward(accuracy: float, latency_ms: float, target_ms: float, alpha: float = -0.07,
                   beta: float = -0.07) -> float:
    """ACC · (LAT / T) ** w, with w = alpha when LAT <= T and beta otherwise."""
    ### BEGIN SOLUTION
    w = alpha if latency_ms <= target_ms else beta
    return accuracy * (latency_ms / target_ms) ** w
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "nas_mnasnet_reward", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_mnasnet_reward(mnasnet_reward)
### BEGIN HIDDEN TESTS
checks.check_mnasnet_reward(mnasnet_reward, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 6 · セルのパラメータ数 / A cell's parameters (2 points)
#
# Count the parameters of a NASNet cell from its `CellSpec` (`spec.blocks`, each with `left_input`, `left_op`,
# `right_input`, `right_op`; inputs 0 = h_i and 1 = h_{i-1}, 2… = block outputs) and its widths, as
# `cnncourse.models.nasnet.NasNetACell` builds it (chapter 08, section 3):
#
# * h_i always passes ReLU → 1×1 conv to F → BN: `current_channels·F + 2F`;
# * h_{i-1}: a factorized reduction when it is twice as large (`previous_is_larger`), else ReLU-1×1-BN when
#   `previous_channels != F` — both `previous_channels·F + 2F` — else nothing;
# * "sep k×k" = two rounds of depthwise k×k, pointwise 1×1, BN: `2·(k²F + F² + 2F)`;
# * "identity" with stride 2 (a reduction cell's operation on h_i or h_{i-1}): ReLU-1×1-BN, `F² + 2F`;
#   pooling and the plain identity have none. No convolution has a bias. (NASNet-A's reduction cell has no such
#   identity; the check also counts a made-up reduction cell that has one.)
#
# `CellSpec` とチャネル数から NASNet のセルのパラメータ数を数える `cell_parameters` を書け。

# %% nbgrader={"grade": false, "grade_id": "nas_cell_parameters_answer", "locked": false, "schema_version": 3, "solution": true}
def cell_parameters(spec: CellSpec, current_channels: int, previous_channels: int, channels: int,
                    reduction: bool, previous_is_larger: bool) -> int:
    """The parameters of the NASNet cell ``spec`` with these widths (F = ``channels``)."""
    ### BEGIN SOLUTION
    f = channels
    total = current_channels * f + 2 * f
    if previous_is_larger or previous_channels != f:
        total += previous_channels * f + 2 * f
    for block in spec.blocks:
        for source, op in ((block.left_input, block.left_op), (block.right_input, block.right_op)):
            if op.startswith("sep"):
                k = int(op[-1])
                total += 2 * (k * k * f + f * f + 2 * f)
            elif op == "identity" and reduction and source in (0, 1):
                total += f * f + 2 * f
    return total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "nas_cell_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_cell_parameters(cell_parameters)
### BEGIN HIDDEN TESTS
checks.check_cell_parameters(cell_parameters, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# In two or three sentences: a search method reports its best network. Why should it also report what random
# search found in the same search space with the same budget — and what does the chapter's reference search say
# about evolution against random search at its budget?
#
# 探索手法が見つけた最良のネットワークを報告するとき、同じ探索空間・同じ予算でのランダム探索の結果も報告すべき
# なのはなぜか。また、本章の参照探索では、その予算で進化計算とランダム探索の差はどうだったか。2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "nas_written_random_search", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# Much of a searched network's quality comes from the search space and the training recipe, not from the search
# strategy: in a good space even random choices are good, so only the difference to random search at an equal
# budget shows what the strategy itself contributed (Li & Talwalkar 2019 found random search with early stopping
# competitive with the published NAS methods they compared). In the chapter's reference search, with 16 genomes
# per run and two seeds, the gap between evolution and random search was small beside the spread between seeds,
# so at that budget the search cannot claim to have beaten random search.
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。先に上のチェックセルを実行すること。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
