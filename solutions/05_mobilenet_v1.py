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
# # 05 · MobileNet v1 — exercises / 演習
#
# Four exercises on MobileNet v1 (Howard et al., 2017, arXiv:1704.04861): the parameters and multiply-adds of
# a depthwise-separable convolution, a depthwise convolution, MobileNet v1's block as a module, and the cost
# of α MobileNet-ρ counted from the paper's Table 1. Each exercise is followed by a check cell that compares
# your code with the course's reference (`cnncourse.layers.DepthwiseSeparableConv`,
# `cnncourse.models.mobilenet.mobilenet_v1_cost`) and says, line by line, what is right (✓) and what to fix
# (✗). A written answer on the chapter's measurement closes the set.
#
# MobileNet v1（Howard et al., 2017）の演習は4問である。深さ方向分離可能畳み込みのパラメータ数と積和演算回数、
# 深さ方向畳み込み、MobileNet v1 のブロックの実装、そして論文の Table 1 から数える α MobileNet-ρ のコストへと
# 進む。各演習の次にチェック用のセルがあり、コース付属の参照実装と比べて、正しい点（✓）と直すべき点（✗）を
# 1行ずつ表示する。最後に、本章の測定についての記述問題がある。
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
import math

import torch
from torch import Tensor, nn

from cnncourse.check import mobilenet_v1 as checks
from cnncourse.layers import make_divisible
from cnncourse.models.mobilenet import MOBILENET_V1_STEM, MOBILENET_V1_TABLE1

# %% [markdown]
# ## Exercise 1 · 深さ方向分離可能畳み込みのコスト / Cost of a depthwise-separable convolution (1 point)
#
# In the paper's notation (Section 3.1): M input channels, N output channels, a D_K × D_K kernel and a
# D_F × D_F **output** map. A depthwise-separable convolution is a depthwise D_K × D_K convolution (one filter
# per input channel) followed by a pointwise 1×1 convolution (M → N).
#
# Write `separable_cost(m, n, kernel, size)` that returns the pair **(parameters, multiply-adds)** of the two
# convolutions, counted as the paper counts them: convolution weights only, no BatchNorm, no biases. Keep the
# two apart: the parameters are stored once; the multiply-adds are spent at every output position.
#
# 論文の記法（Section 3.1）で、入力チャネル M、出力チャネル N、カーネル D_K × D_K、**出力**特徴マップ
# D_F × D_F とする。深さ方向畳み込み（入力チャネルごとに1枚のフィルタ）と点単位 1×1 畳み込み（M → N）の組の
# **(パラメータ数, 積和演算回数)** を返す `separable_cost(m, n, kernel, size)` を書け。論文と同じく畳み込みの
# 重みだけを数え、BatchNorm とバイアスは数えない。パラメータは一度だけ保存され、積和演算は出力の各位置で
# 行われる。この2つを混同しないこと。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v1_separable_cost_answer", "locked": false, "schema_version": 3, "solution": true}
def separable_cost(m: int, n: int, kernel: int, size: int) -> tuple[int, int]:
    """(parameters, multiply-adds) of a depthwise kernel×kernel conv (M channels) then a 1×1 conv M → N."""
    ### BEGIN SOLUTION
    weights = kernel * kernel * m + m * n  # depthwise D_K²·M, pointwise M·N
    return weights, weights * size * size  # every weight is used once per output position
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v1_separable_cost", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_separable_cost(separable_cost)
### BEGIN HIDDEN TESTS
checks.check_separable_cost(separable_cost, ((64, 128, 3, 56), (960, 320, 3, 7), (16, 16, 7, 9)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · 深さ方向畳み込み / Depthwise convolution (1 point)
#
# Write `depthwise_conv(channels, kernel_size)` that returns an `nn.Conv2d` filtering each of the `channels`
# channels on its own with one `kernel_size × kernel_size` filter, keeping the map size (stride 1, "same"
# padding) and without bias. Nothing in the output shape tells a depthwise convolution from a standard one:
# the check changes one input channel and looks at which output channels change.
#
# `channels` 個のチャネルそれぞれに `kernel_size × kernel_size` のフィルタを1枚ずつかけ、特徴マップの大きさを
# 保つ（stride 1、same パディング）、バイアスなしの `nn.Conv2d` を返す `depthwise_conv(channels, kernel_size)`
# を書け。出力の形だけでは深さ方向畳み込みと通常の畳み込みを区別できない。チェックは1つの入力チャネルだけを
# 変え、どの出力チャネルが変わるかを調べる。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v1_depthwise_conv_answer", "locked": false, "schema_version": 3, "solution": true}
def depthwise_conv(channels: int, kernel_size: int) -> nn.Conv2d:
    """A depthwise kernel_size×kernel_size convolution on ``channels`` channels, stride 1, same padding."""
    ### BEGIN SOLUTION
    return nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, groups=channels, bias=False)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v1_depthwise_conv", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_depthwise_conv(depthwise_conv)
### BEGIN HIDDEN TESTS
checks.check_depthwise_conv(depthwise_conv, channels=12, kernel_size=5, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 · MobileNet v1 のブロック / MobileNet v1's block (3 points)
#
# MobileNet v1's block (paper Fig. 3, right) is
#
# 3×3 depthwise conv → BatchNorm → ReLU → 1×1 pointwise conv → BatchNorm → ReLU,
#
# with the stride of a downsampling block on the **depthwise** convolution (Table 1, "Conv dw / s2") and no
# biases (BatchNorm follows each convolution). Write `DepthwiseSeparable(in_channels, out_channels, stride=1)`.
# Two variants you may have met elsewhere are *not* this block: Xception's separable convolution has no
# nonlinearity between the two convolutions, and the "extreme" Inception module it starts from runs the 1×1
# convolution first (Chollet, 2017, Sections 1.2 and 4.7). The check recognises both, copies the reference's
# weights into your block and compares the outputs.
#
# MobileNet v1 のブロック（論文 Fig. 3 右）は「3×3 深さ方向畳み込み → BatchNorm → ReLU → 1×1 点単位畳み込み →
# BatchNorm → ReLU」である。ダウンサンプリングするブロックのストライドは**深さ方向**畳み込みに置き（Table 1 の
# 「Conv dw / s2」）、バイアスは付けない。`DepthwiseSeparable(in_channels, out_channels, stride=1)` を実装せよ。
# Xception の分離可能畳み込み（2つの畳み込みの間に非線形関数がない）や、1×1 畳み込みを先に行う「extreme」
# Inception モジュールは、このブロックではない。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v1_separable_block_answer", "locked": false, "schema_version": 3, "solution": true}
class DepthwiseSeparable(nn.Module):
    """3×3 depthwise → BN → ReLU → 1×1 pointwise → BN → ReLU; the stride on the depthwise convolution."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, stride=stride, padding=1, groups=in_channels,
                                   bias=False)
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        x = torch.relu(self.bn1(self.depthwise(x)))
        return torch.relu(self.bn2(self.pointwise(x)))
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v1_separable_block", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_separable_block(DepthwiseSeparable)
### BEGIN HIDDEN TESTS
checks.check_separable_block(DepthwiseSeparable, in_channels=16, out_channels=16, stride=1, size=6, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 · 幅乗数 α と解像度乗数 ρ / Width multiplier α and resolution multiplier ρ (3 points)
#
# Count α MobileNet-ρ from Table 1 as the paper does (Tables 6 and 7): convolution and fully connected
# weights, no BatchNorm, no biases. The network is
#
# - a **stem**: a standard 3×3 convolution from the image's 3 channels to `width(32, α)` channels, stride 2
#   (`MOBILENET_V1_STEM = (32, 2)`);
# - the **13 blocks** of `MOBILENET_V1_TABLE1`, each `(N, stride)`: a depthwise-separable convolution from the
#   previous width M to `width(N, α)`, the stride on its depthwise half;
# - global average pooling and a **fully connected** layer from the last width to `num_classes`.
#
# With "same" padding a stride-s layer turns a D-pixel map into ceil(D / s) pixels; a layer's multiply-adds
# are its weights times the area of its output map, and the fully connected layer runs once per image. Use the
# helper `width` below for every layer width (the course's builder rounds α·channels with `make_divisible`;
# for the paper's α = 1, 0.75, 0.5 and 0.25 every width of Table 1 is already a multiple of 8). Where does α
# apply — and where not? What does ρ (the resolution, ρ = resolution / 224) change, and what not? You may use
# your `separable_cost` from exercise 1.
#
# 論文と同じく（Table 6, 7）、畳み込みと全結合層の重みだけを数えて α MobileNet-ρ のコストを求めよ。ネットワークは、
# 画像の3チャネルから `width(32, α)` チャネルへのストライド2の通常の 3×3 畳み込み、`MOBILENET_V1_TABLE1` の
# 13 個のブロック（各行 `(N, stride)`、ストライドは深さ方向畳み込みに置く）、大域平均プーリングと `num_classes`
# 個の出力をもつ全結合層からなる。same パディングでは、ストライド s の層は D 画素の特徴マップを ceil(D / s) 画素に
# する。α はどこに掛かり、どこには掛からないか。ρ は何を変え、何を変えないか。考えてから書くこと。

# %%
def width(channels: int, alpha: float) -> int:
    """A layer's width under the width multiplier α: α·channels rounded to a multiple of 8 (as the builder)."""
    return make_divisible(channels * alpha, 8)


print("stem:", MOBILENET_V1_STEM, " blocks (N, stride):", MOBILENET_V1_TABLE1)

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v1_multipliers_answer", "locked": false, "schema_version": 3, "solution": true}
def mobilenet_v1_cost(alpha: float, resolution: int, num_classes: int = 1000) -> tuple[int, int]:
    """(weights, multiply-adds) of α MobileNet-ρ at ``resolution`` × ``resolution`` pixels."""
    ### BEGIN SOLUTION
    stem_channels, stem_stride = MOBILENET_V1_STEM
    size = math.ceil(resolution / stem_stride)
    channels = width(stem_channels, alpha)  # α thins the layers; the image keeps its 3 channels
    params = 3 * 3 * 3 * channels
    macs = params * size * size
    for out, stride in MOBILENET_V1_TABLE1:
        size = math.ceil(size / stride)  # ρ shrinks every map, never a channel count
        block_params, block_macs = separable_cost(channels, width(out, alpha), 3, size)
        params, macs = params + block_params, macs + block_macs
        channels = width(out, alpha)
    fc = channels * num_classes  # all classes, whatever α: the task does not shrink
    return params + fc, macs + fc
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v1_multipliers", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_multipliers(mobilenet_v1_cost)
### BEGIN HIDDEN TESTS
checks.check_multipliers(mobilenet_v1_cost, ((0.5, 128, 1000), (0.25, 192, 100), (1.0, 96, 10)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# In the lecture, a depthwise-separable 3×3 layer on a 28×28 map needed about 8× fewer multiply-adds than the
# standard 3×3 convolution at 64 channels, yet took only about a third of its CPU time, and the depthwise half
# took about half of the pair's time for an eighth of its arithmetic. In two or three sentences: why? Use the
# number of multiply-adds a depthwise convolution does per value it reads and writes.
#
# 講義では、28×28 の特徴マップ・64 チャネルで、深さ方向分離可能な 3×3 層は通常の 3×3 畳み込みより積和演算が
# 約 8 分の 1 なのに、CPU 時間は約 3 分の 1 にしかならず、深さ方向畳み込みは演算の 8 分の 1 で時間の約半分を
# 使った。なぜか。深さ方向畳み込みが読み書きする値1つあたりの積和演算回数を使って、2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "mobilenet_v1_written_latency", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# A depthwise 3×3 convolution does only 9 multiply-adds for each output value and reads each input value once,
# about one multiply-add per byte moved, while a 1×1 or standard 3×3 convolution reuses every input value for
# all N (or 9·N) outputs. The CPU can multiply far faster than it can move data, so the depthwise layer is
# memory-bound: it runs at a few GMAC/s instead of tens, and its small share of the arithmetic becomes a large
# share of the time. Multiply-adds predict time only between layers with a similar ratio of arithmetic to
# memory traffic (and at small widths the fixed cost of each call adds to it).
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。先に上のチェックセルを実行すること。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
