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
# # 09 · EfficientNet — exercises / 演習
#
# Four exercises on EfficientNet (Tan & Le, 2019, "EfficientNet: Rethinking Model Scaling for Convolutional
# Neural Networks", arXiv:1905.11946): the compound scaling rule, the factor by which it grows the cost, the
# rounding EfficientNet's code applies to widths and depths, and the MBConv block with squeeze-and-excitation and
# stochastic depth. Each exercise is followed by a check cell that compares your code with the course's reference
# (`cnncourse.models.efficientnet`, `cnncourse.layers.MBConv`) and says, line by line, what is right (✓) and what
# to fix (✗).
#
# EfficientNet（Tan & Le, 2019）の演習は4問である。複合スケーリングの式、それによる計算量の増え方、
# EfficientNet のコードが幅と深さに施す丸め、そして SE と確率的深さをもつ MBConv ブロックを実装する。
# 各演習の次にチェック用のセルがあり、コース付属の参照実装と比べて、正しい点（✓）と直すべき点（✗）を
# 1行ずつ表示する。
#
# **How to work / 進め方:** replace `raise NotImplementedError()` with your code, run the cell, then run the
# check cell below it. An exercise you have not started is reported as *not attempted*, so the notebook always
# runs from top to bottom; the last cell counts how many exercises are done.
# `raise NotImplementedError()` を自分のコードに置き換えて実行し、その下のチェックセルを実行する。
# 未着手の演習は「not attempted」と表示されるだけなので、ノートブックは常に最後まで実行できる。
#
# **Time / 所要時間:** 30–45 minutes. Every check runs in a few seconds on a CPU.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
import math

import torch
from torch import Tensor, nn

from cnncourse.check import efficientnet as checks
from cnncourse.layers import SqueezeExcitation, StochasticDepth, make_divisible
from cnncourse.layers.misc import Conv2dNormActivation

# %% [markdown]
# ## Exercise 1 · 複合スケーリング / Compound scaling (2 points)
#
# Section 3.3 (eq. 3) scales depth, width and resolution with one coefficient φ:
#
# $$d = \alpha^{\phi}, \qquad w = \beta^{\phi}, \qquad r = \gamma^{\phi}, \qquad \alpha = 1.2,\; \beta = 1.1,\;
# \gamma = 1.15 \text{ (Section 4)}.$$
#
# α belongs to **depth**, β to **width**, γ to **resolution**. Write `compound_scaling(phi)` returning the tuple
# `(depth multiplier, width multiplier, resolution in pixels)`, the resolution being B0's 224 pixels times γ^φ,
# rounded to a whole pixel.
#
# 論文 3.3 節の式 (3) は、1つの係数 φ で深さ・幅・解像度をまとめて大きくする。α = 1.2 は深さ、β = 1.1 は幅、
# γ = 1.15 は解像度の定数である。`compound_scaling(phi)` を書き、(深さの倍率, 幅の倍率, 解像度のピクセル数) を
# 返せ。解像度は B0 の 224 ピクセルに γ^φ を掛けて整数に丸める。

# %% nbgrader={"grade": false, "grade_id": "efficientnet_compound_scaling_answer", "locked": false, "schema_version": 3, "solution": true}
ALPHA, BETA, GAMMA = 1.2, 1.1, 1.15  # depth, width, resolution


def compound_scaling(phi: float) -> tuple[float, float, int]:
    """(depth multiplier α^φ, width multiplier β^φ, input side round(224·γ^φ))."""
    ### BEGIN SOLUTION
    return ALPHA**phi, BETA**phi, round(224 * GAMMA**phi)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "efficientnet_compound_scaling", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_compound_scaling(compound_scaling)
### BEGIN HIDDEN TESTS
checks.check_compound_scaling(compound_scaling, (0.5, 4, 6), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · 計算量の増え方 / How the cost grows (1 point)
#
# A convolution's multiply-adds grow linearly with the number of layers, but with the square of the width (input
# and output channels both grow) and the square of the resolution (height and width of the map both grow). Write
# `cost_factor(alpha, beta, gamma, phi)`: the factor by which compound scaling multiplies the cost. (The paper
# fixes α·β²·γ² ≈ 2 so that this is about 2^φ; return the exact value, not the approximation.)
#
# 畳み込みの積和演算回数は層数に比例し、幅（入出力チャネル）と解像度（縦と横）についてはそれぞれ2乗で増える。
# 複合スケーリングで計算量が何倍になるかを返す `cost_factor(alpha, beta, gamma, phi)` を書け。近似の 2^φ ではなく
# 正確な値を返すこと。

# %% nbgrader={"grade": false, "grade_id": "efficientnet_cost_factor_answer", "locked": false, "schema_version": 3, "solution": true}
def cost_factor(alpha: float, beta: float, gamma: float, phi: float) -> float:
    """How many times the multiply-adds grow when depth, width and resolution grow by α^φ, β^φ, γ^φ."""
    ### BEGIN SOLUTION
    return (alpha * beta**2 * gamma**2) ** phi
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "efficientnet_cost_factor", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_cost_factor(cost_factor)
### BEGIN HIDDEN TESTS
checks.check_cost_factor(cost_factor, ((1.1, 1.2, 1.15, 2), (2.0, 1.0, 1.0, 1)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 · 幅と深さの丸め / Rounding widths and depths (2 points)
#
# A network has whole channels and whole layers, so EfficientNet's code rounds the scaled numbers:
#
# * `round_filters(channels, width_mult)`: the channels times w, rounded with `make_divisible(value, 8)`
#   (imported above) — the nearest multiple of 8, at least 8, and one step up when rounding would remove more
#   than 10% of the channels;
# * `round_repeats(repeats, depth_mult)`: a stage's number of layers times d, rounded **up**.
#
# Section 6 of the lecture shows what this rounding does to the cost of B1–B7.
#
# チャネル数も層数も整数なので、EfficientNet のコードは倍率を掛けた値を丸める。`round_filters` はチャネル数 × w を
# `make_divisible(値, 8)` で 8 の倍数に丸め、`round_repeats` はステージの層数 × d を切り上げる。

# %% nbgrader={"grade": false, "grade_id": "efficientnet_rounding_answer", "locked": false, "schema_version": 3, "solution": true}
def round_filters(channels: int, width_mult: float) -> int:
    """Channels of a layer after width scaling, as EfficientNet builds it."""
    ### BEGIN SOLUTION
    return make_divisible(channels * width_mult, 8)
    ### END SOLUTION


def round_repeats(repeats: int, depth_mult: float) -> int:
    """Layers of a stage after depth scaling, as EfficientNet builds it."""
    ### BEGIN SOLUTION
    return int(math.ceil(repeats * depth_mult))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "efficientnet_rounding", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_rounding(round_filters, round_repeats)
### BEGIN HIDDEN TESTS
checks.check_rounding(round_filters, round_repeats, ((192, 1.4), (40, 1.1), (1280, 1.8)), ((2, 3.1), (4, 2.6)),
                      part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 · SE と確率的深さつき MBConv / MBConv with SE and stochastic depth (3 points)
#
# Write `MBConvBlock(in_channels, out_channels, expand_ratio, kernel_size, stride, stochastic_depth_prob)`:
#
# 1. a 1×1 expansion to `make_divisible(in_channels · expand_ratio, 8)` channels with BatchNorm and swish (SiLU),
#    only when the expansion ratio is greater than 1;
# 2. a k×k **depthwise** convolution (`groups` = channels) with the stride, BatchNorm and swish;
# 3. squeeze-and-excitation on the expanded channels with a squeeze of **a quarter of the block's input**
#    (`in_channels // 4`), swish inside and a sigmoid gate: `SqueezeExcitation(expanded, squeeze,
#    activation=nn.SiLU, gate=nn.Sigmoid)` (imported above);
# 4. a linear 1×1 projection to `out_channels` with BatchNorm and no activation;
# 5. when the stride is 1 and the widths match, the input added back — with **stochastic depth** on the branch:
#    in training, each sample's branch is dropped with probability p and the kept ones are divided by 1 − p; in
#    evaluation nothing is dropped. `StochasticDepth(p, "row")` (imported) does exactly that.
#
# Use `Conv2dNormActivation(in, out, kernel_size=..., stride=..., groups=..., activation_layer=...)` for the
# convolutions, and create the layers in the order they run (the check copies the reference's weights into yours
# in that order).
#
# `MBConvBlock` を書け。1×1 の拡張（比が 1 より大きいときだけ）→ k×k の深さ方向畳み込み → SE（絞りはブロックの
# **入力**チャネルの 1/4、内部は swish、ゲートはシグモイド）→ 活性化なしの 1×1 射影、ストライド 1 で幅が同じなら
# 入力を足す。そのとき分岐には確率的深さをかける。訓練時は標本ごとに確率 p で分岐を落とし、残した分岐を 1 − p で
# 割る。評価時は何も落とさない。

# %% nbgrader={"grade": false, "grade_id": "efficientnet_mbconv_answer", "locked": false, "schema_version": 3, "solution": true}
class MBConvBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, expand_ratio: int, kernel_size: int, stride: int,
                 stochastic_depth_prob: float) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        expanded = make_divisible(in_channels * expand_ratio, 8)
        layers: list[nn.Module] = []
        if expanded != in_channels:
            layers.append(Conv2dNormActivation(in_channels, expanded, kernel_size=1, activation_layer=nn.SiLU))
        layers += [
            Conv2dNormActivation(expanded, expanded, kernel_size=kernel_size, stride=stride, groups=expanded,
                                 activation_layer=nn.SiLU),
            SqueezeExcitation(expanded, max(1, in_channels // 4), activation=nn.SiLU, gate=nn.Sigmoid),
            Conv2dNormActivation(expanded, out_channels, kernel_size=1, activation_layer=None),
        ]
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and in_channels == out_channels
        self.stochastic_depth = StochasticDepth(stochastic_depth_prob, "row")
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        out = self.block(x)
        if self.use_residual:
            out = self.stochastic_depth(out) + x
        return out
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "efficientnet_mbconv", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_mbconv(MBConvBlock)
### BEGIN HIDDEN TESTS
checks.check_mbconv(MBConvBlock, ((80, 80, 6, 3, 1, 0.3), (24, 40, 6, 5, 2, 0.1)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor, 1 point): why the released models are not the formula
#
# Section 4 says B1–B7 were obtained by scaling B0 "with different φ using Equation 3", yet the released B1 keeps
# width 1.0 (1.1¹ = 1.1) and B7 uses depth 3.1 (1.2⁷ = 3.58). In two or three sentences: why does a network built
# by the formula still cost more multiply-adds than (α·β²·γ²)^φ predicts, and what does the paper's "FLOPS" count?
#
# 論文 4 節は B1〜B7 を式 (3) で φ を変えて得たと述べるが、公開された B1 の幅は 1.0、B7 の深さは 3.1 である。
# 式どおりに作ったネットワークでも計算量が (α·β²·γ²)^φ より大きくなるのはなぜか。また論文の「FLOPS」は何を数えて
# いるか。2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "efficientnet_written_rounding", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# A real network has whole layers, channels and map sizes. EfficientNet's code rounds each stage's layers up
# (⌈1·1.2⌉ = 2 doubles the single-layer stages: at φ = 1 depth alone costs 1.48× B0, not 1.2×), and every stride-2
# layer rounds its map size up (258 px ends on a 9×9 map, not 258/32 ≈ 8.1: resolution alone costs 1.49×, not
# 1.32×); rounding the widths to multiples of 8 moves the cost little, here slightly down (1.15×, not 1.21×).
# So `efficientnet(1)` costs 2.6× B0 instead of 1.92× (lecture section 6; the paper's footnote 3: "FLOPS may
# differ from theoretical value due to rounding"). The released B1–B7 use hand-set coefficients and resolutions
# on top of that. The paper's FLOPS count the multiply-adds of one forward pass (B0: 0.39B, measured 385.8M) —
# a count, not operations per second.
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。先に上のチェックセルを実行すること。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
