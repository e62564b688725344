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
# # 06 · MobileNet v2 — exercises / 演習
#
# Four exercises on the inverted residual with linear bottleneck (Sandler et al., 2018, arXiv:1801.04381):
# when the block has a shortcut, where its multiply-adds are, the block itself, and the paper's Fig. 1
# experiment with a ReLU in n dimensions. Each exercise is followed by a check cell that compares your code
# with the course's reference (`cnncourse.layers.InvertedResidual`, torchvision's block) and says, line by
# line, what is right (✓) and what to fix (✗).
#
# 逆残差と線形ボトルネック（Sandler et al., 2018）の演習は4問である。ブロックにスキップ結合があるのは
# いつか、積和演算がどこにあるか、ブロックそのもの、そして論文の Fig. 1 の実験（n 次元での ReLU）を扱う。
# 各演習の次にチェック用のセルがあり、コース付属の参照実装と比べて、正しい点（✓）と直すべき点（✗）を
# 1行ずつ表示する。
#
# **How to work / 進め方:** replace `raise NotImplementedError()` with your code, run the cell, then run the
# check cell below it. An exercise you have not started is reported as *not attempted*, so the notebook always
# runs from top to bottom; the last cell counts how many exercises are done.
# `raise NotImplementedError()` を自分のコードに置き換えて実行し、その下のチェックセルを実行する。
# 未着手の演習は「not attempted」と表示されるだけなので、ノートブックは常に最後まで実行できる。
#
# **Time / 所要時間:** 30–45 minutes. Every check runs in about a second on a CPU.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
import torch
from torch import Tensor, nn

from cnncourse.check import mobilenet_v2 as checks

# %% [markdown]
# ## Exercise 1 · スキップ結合の有無 / When is there a shortcut? (1 point)
#
# The inverted residual adds its input to its output — the two **narrow** ends — only when the addition is
# defined: the same height and width (stride 1) and the same number of channels (Section 3.3, Fig. 4). A
# block that downsamples or changes the width has no shortcut at all; MobileNet v2 never puts a 1×1
# convolution on the shortcut the way ResNet's option B does.
#
# Write `has_shortcut(in_channels, out_channels, stride)`: `True` when the block adds its input. The check
# asks the reference block about blocks of Table 2.
#
# 逆残差ブロックが入力を出力に足す（狭い両端をつなぐ）のは、足し算が定義できるとき、つまりストライドが 1 で
# 入力と出力のチャネル数が等しいときだけである。ブロックが入力を足すなら `True` を返す
# `has_shortcut(in_channels, out_channels, stride)` を書け。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v2_has_shortcut_answer", "locked": false, "schema_version": 3, "solution": true}
def has_shortcut(in_channels: int, out_channels: int, stride: int) -> bool:
    """Whether the inverted residual adds its input to its output."""
    ### BEGIN SOLUTION
    return stride == 1 and in_channels == out_channels
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v2_has_shortcut", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_has_shortcut(has_shortcut)
### BEGIN HIDDEN TESTS
checks.check_has_shortcut(has_shortcut, ((96, 96, 1), (96, 160, 2), (16, 24, 2), (320, 320, 2)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · ブロックの積和演算数 / Multiply-adds of the block (2 points)
#
# A block with d′ = `in_channels`, d″ = `out_channels`, expansion t and stride s on an h×w input (Table 1):
#
# * the **expansion** 1×1 convolution takes d′ to t·d′ channels at the input resolution h×w (there is none
#   when t = 1);
# * the 3×3 **depthwise** convolution on t·d′ channels carries the stride: its output is h′×w′ with
#   h′ = ⌈h/s⌉ (padding 1), and each output value reads 9 inputs (one 3×3 filter per channel);
# * the **projection** 1×1 convolution takes t·d′ to d″ channels at h′×w′.
#
# Write `block_macs(in_channels, out_channels, expand_ratio, size, stride)` for a square `size`×`size` input:
# a tuple `(expansion, depthwise, projection)` of multiply-adds, BatchNorm and activations not counted. With
# stride 1 the three add up to Section 3.3's h·w·d′·t·(d′ + k² + d″). The check measures the reference block
# with forward hooks.
#
# 入力 d′ チャネル、出力 d″ チャネル、拡張率 t、ストライド s のブロックについて、拡張の 1×1 畳み込み（入力の
# 解像度、t = 1 なら無い）、3×3 深さ方向畳み込み（ストライドを担う、1チャネルに1つの 3×3 フィルタ）、射影の
# 1×1 畳み込み（出力の解像度）の積和演算数をタプル `(expansion, depthwise, projection)` で返す
# `block_macs(in_channels, out_channels, expand_ratio, size, stride)` を書け。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v2_block_macs_answer", "locked": false, "schema_version": 3, "solution": true}
def block_macs(in_channels: int, out_channels: int, expand_ratio: int, size: int, stride: int) -> tuple[int, int, int]:
    """(expansion, depthwise, projection) multiply-adds of an inverted residual on a size×size input."""
    ### BEGIN SOLUTION
    hidden = in_channels * expand_ratio  # the expansion widens the *input*
    out_size = (size - 1) // stride + 1  # 3×3, padding 1: ⌈size / stride⌉
    expansion = size * size * in_channels * hidden if expand_ratio != 1 else 0
    depthwise = out_size * out_size * 9 * hidden
    projection = out_size * out_size * hidden * out_channels
    return expansion, depthwise, projection
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v2_block_macs", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_block_macs(block_macs)
### BEGIN HIDDEN TESTS
checks.check_block_macs(block_macs, ((96, 160, 6, 14, 2), (160, 320, 6, 7, 1), (16, 16, 1, 9, 2)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 · 逆残差ブロック / Inverted residual block (3 points)
#
# Write `InvertedResidual(in_channels, out_channels, stride, expand_ratio)`, the block of Table 1, in the
# layout of torchvision's (so that its weights load in the same order): one `nn.Sequential` called `conv`
# holding
#
# 1. (only when `expand_ratio != 1`) `nn.Sequential(Conv2d 1×1 from d′ to t·d′, BatchNorm2d, ReLU6)`;
# 2. `nn.Sequential(Conv2d 3×3 depthwise on t·d′ channels — groups = t·d′ — with the stride and padding 1,
#    BatchNorm2d, ReLU6)`;
# 3. `Conv2d 1×1` from t·d′ to d″ and 4. `BatchNorm2d(d″)` — **no activation**: the linear bottleneck.
#
# No convolution has a bias (the BatchNorm after it has a shift). `forward(x)` returns `x + self.conv(x)` when
# the block has a shortcut (exercise 1's condition) and `self.conv(x)` otherwise. The check tests the
# linear bottleneck, the depthwise convolution, the shortcut, blocks whose shapes differ, t = 1, and the
# outputs with the reference's weights.
#
# 表1のブロックを torchvision と同じ構成で実装せよ。`conv` という `nn.Sequential` に、（t ≠ 1 のときのみ）
# 拡張層（1×1 畳み込み）・BN・ReLU6、3×3 深さ方向畳み込み（groups = t·d′、ストライド、padding 1）・BN・ReLU6、
# 射影層（1×1 畳み込み）と BN を順に入れる。射影の後に活性化関数は置かない（線形ボトルネック）。畳み込みにバイアスは
# ない。スキップ結合があるときは `x + self.conv(x)`、ないときは `self.conv(x)` を返す。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v2_inverted_residual_answer", "locked": false, "schema_version": 3, "solution": true}
class InvertedResidual(nn.Module):
    """Narrow → expand (1×1, ReLU6) → depthwise 3×3 (ReLU6) → linear 1×1 projection; shortcut on the narrow ends."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        hidden = in_channels * expand_ratio
        self.use_shortcut = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(nn.Sequential(nn.Conv2d(in_channels, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                        nn.ReLU6()))
        layers.append(nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden), nn.ReLU6()))
        layers += [nn.Conv2d(hidden, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)]  # linear
        self.conv = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        out = self.conv(x)
        return x + out if self.use_shortcut else out
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v2_inverted_residual", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_inverted_residual(InvertedResidual)
### BEGIN HIDDEN TESTS
checks.check_inverted_residual(InvertedResidual, size=5, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 · ReLU の往復（Fig. 1）/ ReLU round trip (Fig. 1) (2 points)
#
# The paper's Fig. 1: a 2-D point x is embedded into n dimensions by a random n×2 matrix T, passed through a
# ReLU, and projected back to 2-D with T's pseudo-inverse T⁺: x̂ = T⁺ · ReLU(T · x). For small n many points
# collapse onto each other; for n = 15 or 30 the spiral survives.
#
# Write `relu_round_trip(points, embedding)` for a batch of points of shape (N, 2) (one point per row) and
# T = `embedding` of shape (n, 2); return the (N, 2) points x̂. `torch.linalg.pinv` gives the pseudo-inverse.
# The check compares with the reference for n = 2, 3 and 15.
#
# 論文の Fig. 1 の実験である。2次元の点 x をランダムな n×2 行列 T で n 次元に埋め込み、ReLU を通し、T の擬似
# 逆行列 T⁺ で2次元に戻す：x̂ = T⁺ · ReLU(T · x)。形状 (N, 2) の点と形状 (n, 2) の T を受け取り、(N, 2) の x̂ を
# 返す `relu_round_trip(points, embedding)` を書け。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v2_relu_round_trip_answer", "locked": false, "schema_version": 3, "solution": true}
def relu_round_trip(points: Tensor, embedding: Tensor) -> Tensor:
    """T⁺ · ReLU(T · x) for every row x of ``points``."""
    ### BEGIN SOLUTION
    return torch.relu(points @ embedding.T) @ torch.linalg.pinv(embedding).T
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v2_relu_round_trip", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_relu_round_trip(relu_round_trip)
### BEGIN HIDDEN TESTS
checks.check_relu_round_trip(relu_round_trip, dimensions=(5, 30), seed=11, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# A common study note says that MobileNet v2 "reduces the cost of the pointwise convolution". Using the
# chapter's counts: is that what the inverted residual does? In two or three sentences, say where a block's
# multiply-adds are, how a v2 block with the same narrow ends compares with a v1 layer, and what actually
# makes MobileNet v2 cheaper than v1.
#
# よくある学習ノートには「MobileNet v2 は pointwise 畳み込みの計算量を減らす」と書かれている。この章の数え方を
# 使って、逆残差ブロックが実際にそうしているかを答えよ。ブロックの積和演算がどこにあるか、同じ狭い両端を
# 持つ v1 の層と比べるとどうか、v2 を v1 より軽くしているのは何かを、2〜3文で述べよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "mobilenet_v2_written_pointwise", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# No: the two 1×1 convolutions (expansion and projection) do most of a block's multiply-adds, (d′ + d″)/9 times
# the depthwise convolution's, and 1×1 convolutions do 89.1% of the whole network's at 224×224 (v1: 94.9%). With the same
# narrow ends (24 → 24) a v2 block does about twelve times the pointwise work of a v1 layer, because it expands
# to t·d′ = 144 channels inside. v2 is cheaper (300M against 575M multiply-adds, Table 4) because the tensors
# between blocks are narrow (16 to 320 channels), so the network as a whole runs its 1×1 convolutions on thin
# inputs and outputs; the wide tensors exist only inside a block.
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。先に上のチェックセルを実行すること。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
