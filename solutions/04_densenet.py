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
# # 04 · DenseNet — exercises / 演習
#
# Five exercises on densely connected networks (Huang et al., 2017, arXiv:1608.06993): how the channels grow
# through a dense block and shrink at each transition, then the three modules DenseNet-BC is made of — the
# bottleneck layer, the dense block and the transition layer. Each exercise is followed by a check cell that
# compares your code with the course's reference `cnncourse.models.densenet` (torchvision's layer names) and
# says, line by line, what is right (✓) and what to fix (✗).
#
# 密に結合されたネットワーク（Huang et al., 2017）の演習は5問である。デンスブロックの中でチャネル数がどう
# 増え、遷移層でどう減るかを計算し、DenseNet-BC を構成する3つのモジュール（ボトルネック層、デンスブロック、
# 遷移層）を実装する。各演習の次にチェック用のセルがあり、コース付属の参照実装と比べて、正しい点（✓）と
# 直すべき点（✗）を1行ずつ表示する。
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
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.check import densenet as checks

# %% [markdown]
# ## Exercise 1 · デンスブロックの出力チャネル数 / Channels out of a dense block (1 point)
#
# ResNet *adds* a layer's output to its input. DenseNet **concatenates**: layer ℓ of a dense block receives
# the feature maps of the block input and of every earlier layer, stacked along the channel axis, and adds
# k new ones (paper Eq. 2, $x_\ell = H_\ell([x_0, x_1, \dots, x_{\ell-1}])$). k is the **growth rate**. Nothing
# is ever summed away, so the channels grow by k per layer.
#
# Write `dense_block_channels(in_channels, growth_rate, num_layers)`: the number of channels a dense block with
# k₀ = `in_channels` input channels and L layers outputs. The check runs the reference `DenseBlock`, including
# DenseNet-121's four blocks (paper Table 1, k = 32).
#
# ResNet は層の出力を入力に**足す**が、DenseNet は**連結する**。デンスブロックの ℓ 番目の層は、ブロックの入力と
# それまでのすべての層の特徴マップをチャネル方向に連結したものを受け取り、k 枚（成長率）の新しい特徴マップを
# 加える。入力 k₀ チャネル、L 層のデンスブロックが出力するチャネル数を返す
# `dense_block_channels(in_channels, growth_rate, num_layers)` を書け。

# %% nbgrader={"grade": false, "grade_id": "densenet_block_channels_answer", "locked": false, "schema_version": 3, "solution": true}
def dense_block_channels(in_channels: int, growth_rate: int, num_layers: int) -> int:
    """Channels out of a dense block: the input plus k new channels per layer."""
    ### BEGIN SOLUTION
    return in_channels + num_layers * growth_rate
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "densenet_block_channels", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_block_channels(dense_block_channels)
### BEGIN HIDDEN TESTS
checks.check_block_channels(dense_block_channels, ((96, 48, 6), (30, 7, 3), (8, 40, 2)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · DenseNet-BC のチャネル数の推移 / Channels through DenseNet-BC (2 points)
#
# Without anything else, every block would leave the next one wider still. DenseNet-BC (paper Section 3)
# keeps the network narrow in two ways, and on CIFAR-sized images it is built like this:
#
# * the first convolution (3×3) outputs **2k** channels;
# * three dense blocks of n **bottleneck layers** each; a bottleneck layer has two convolutions (1×1, then
#   3×3), so a network of depth L has n = (L − 4) / 6 layers per block (the 4: the first convolution, two
#   transitions and the classifier);
# * between two blocks, a **transition** (BN, 1×1 convolution, 2×2 average pooling) keeps ⌊θ·m⌋ of its m
#   input channels, with the **compression** θ = 0.5; there is no transition after the last block.
#
# Write `densenet_bc_channels(depth, growth_rate, compression=0.5)`: a list of six channel counts — after the
# first convolution, block 1, transition 1, block 2, transition 2 and block 3. Use your `dense_block_channels`.
# The check reads them off the reference model with hooks, including DenseNet-BC-100-12 (paper Table 2:
# 0.8M parameters, 4.51% error on CIFAR-10 with augmentation).
#
# DenseNet-BC（CIFAR 用）は、最初の 3×3 畳み込みが 2k チャネルを出力し、各ブロックは n = (L − 4) / 6 個の
# ボトルネック層からなり、ブロックの間の遷移層は m チャネルのうち ⌊θ·m⌋（θ = 0.5）を残す。最初の畳み込み、
# ブロック1、遷移層1、ブロック2、遷移層2、ブロック3 の後のチャネル数を並べたリストを返す
# `densenet_bc_channels(depth, growth_rate, compression=0.5)` を書け。演習1の関数を使うこと。

# %% nbgrader={"grade": false, "grade_id": "densenet_bc_channels_answer", "locked": false, "schema_version": 3, "solution": true}
def densenet_bc_channels(depth: int, growth_rate: int, compression: float = 0.5) -> list[int]:
    """Channels after the first convolution, each dense block and each transition of DenseNet-BC."""
    ### BEGIN SOLUTION
    layers_per_block = (depth - 4) // 6
    channels = [2 * growth_rate]
    for block in range(3):
        channels.append(dense_block_channels(channels[-1], growth_rate, layers_per_block))
        if block < 2:  # a transition between blocks, none after the last
            channels.append(int(channels[-1] * compression))
    return channels
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "densenet_bc_channels", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_bc_channels(densenet_bc_channels)
### BEGIN HIDDEN TESTS
checks.check_bc_channels(densenet_bc_channels, ((190, 40, 0.5), (76, 7, 0.5), (40, 12, 1.0)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 · デンス層（ボトルネック層） / Dense layer (3 points)
#
# One layer of DenseNet-B (paper Section 3, "Bottleneck layers"): its input may be hundreds of channels wide,
# so it first squeezes them with a 1×1 convolution to 4k channels, then computes the k new ones with a 3×3
# convolution. Both are **pre-activation** (BN → ReLU → conv, the "composite function" of Section 3):
#
# $$\text{new} = \mathrm{conv_2}\big(\mathrm{ReLU}(\mathrm{BN_2}(\mathrm{conv_1}(\mathrm{ReLU}(\mathrm{BN_1}(x))))\big)$$
#
# Write `DenseLayer(in_channels, growth_rate, bottleneck_factor=4)` with torchvision's layer names: `norm1`
# (BatchNorm on the input), `conv1` (1×1, to `bottleneck_factor · growth_rate`, no bias), `norm2`, `conv2`
# (3×3, padding 1, to `growth_rate`, no bias). Its `forward(x)` returns the input **concatenated** with the
# k new channels, `torch.cat([x, new], dim=1)`, so that layers can simply be chained. (torchvision's layer
# returns only the new channels and lets its block concatenate; the arithmetic is the same.)
#
# DenseNet-B の層を torchvision と同じ層の名前（`norm1`, `conv1`, `norm2`, `conv2`）で実装せよ。
# BN → ReLU → 1×1 畳み込み（4k チャネル）→ BN → ReLU → 3×3 畳み込み（k チャネル）で新しい k チャネルを計算し、
# `forward(x)` は入力とそれを**連結**した `torch.cat([x, new], dim=1)` を返す。畳み込みにバイアスはない。

# %% nbgrader={"grade": false, "grade_id": "densenet_dense_layer_answer", "locked": false, "schema_version": 3, "solution": true}
class DenseLayer(nn.Module):
    """BN-ReLU-Conv(1×1, 4k)-BN-ReLU-Conv(3×3, k); returns the input with the k new channels appended."""

    def __init__(self, in_channels: int, growth_rate: int, bottleneck_factor: int = 4) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        bottleneck = bottleneck_factor * growth_rate
        self.norm1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, bottleneck, kernel_size=1, bias=False)
        self.norm2 = nn.BatchNorm2d(bottleneck)
        self.conv2 = nn.Conv2d(bottleneck, growth_rate, kernel_size=3, padding=1, bias=False)
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        new = self.conv1(F.relu(self.norm1(x)))
        new = self.conv2(F.relu(self.norm2(new)))
        return torch.cat([x, new], dim=1)  # keep every earlier feature map, append k new ones
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "densenet_dense_layer", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_dense_layer(DenseLayer)
### BEGIN HIDDEN TESTS
checks.check_dense_layer(DenseLayer, in_channels=36, growth_rate=12, size=5, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 · デンスブロック / Dense block (2 points)
#
# A dense block is L such layers in a chain. Layer ℓ (counting from 0) receives the block input and the k
# channels of each of the ℓ layers before it, so it is built for `in_channels + ℓ · growth_rate` input
# channels. Because your `DenseLayer` returns its input together with its new channels, each layer's output
# is exactly the next layer's input: the concatenation of everything so far.
#
# Write `DenseBlock(num_layers, in_channels, growth_rate)` from your `DenseLayer` of exercise 3. Subclassing
# `nn.Sequential` is the shortest way. The check copies the weights of the reference `DenseBlock` into yours
# and compares outputs.
#
# 演習3の `DenseLayer` を L 個つないだ `DenseBlock(num_layers, in_channels, growth_rate)` を実装せよ。
# ℓ 番目（0 から数える）の層の入力チャネル数は `in_channels + ℓ · growth_rate` である。

# %% nbgrader={"grade": false, "grade_id": "densenet_dense_block_answer", "locked": false, "schema_version": 3, "solution": true}
class DenseBlock(nn.Sequential):
    """``num_layers`` dense layers; layer ℓ sees the block input and every earlier layer's k channels."""

    def __init__(self, num_layers: int, in_channels: int, growth_rate: int) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        for index in range(num_layers):
            layer = DenseLayer(in_channels + index * growth_rate, growth_rate)
            self.add_module(f"denselayer{index + 1}", layer)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "densenet_dense_block", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_dense_block(DenseBlock)
### BEGIN HIDDEN TESTS
checks.check_dense_block(DenseBlock, num_layers=3, in_channels=10, growth_rate=6, size=4, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 5 · 遷移層 / Transition layer (2 points)
#
# Between two dense blocks, a transition layer (paper Section 3, "Pooling layers" and "Compression") halves
# the map and, in DenseNet-C, narrows the channels: BN → ReLU → 1×1 convolution from m to ⌊θ·m⌋ channels →
# 2×2 average pooling with stride 2. (The paper's text lists BN, the 1×1 convolution and the pooling;
# torchvision and the course's reference also apply a ReLU after the BN, as every other layer does.)
#
# Write `Transition(in_channels, compression=0.5)` with torchvision's names: `norm`, `conv` (1×1, no bias, to
# `int(in_channels * compression)` channels) and `pool` (`nn.AvgPool2d(2, stride=2)`). Subclassing
# `nn.Sequential` makes the forward pass the order of the layers. The check tests the channel count (with an
# odd m), the map size, and outputs with the reference's weights.
#
# 遷移層は BN → ReLU → 1×1 畳み込み（m チャネルを ⌊θ·m⌋ チャネルに圧縮）→ 2×2 平均プーリング（ストライド2）
# である（論文の本文は BN、1×1 畳み込み、平均プーリングのみを挙げる。ReLU は torchvision と参照実装による）。torchvision と同じ名前（`norm`, `conv`, `pool`）で `Transition(in_channels, compression=0.5)` を
# 実装せよ。

# %% nbgrader={"grade": false, "grade_id": "densenet_transition_answer", "locked": false, "schema_version": 3, "solution": true}
class Transition(nn.Sequential):
    """BN-ReLU-Conv(1×1) to ⌊θ·m⌋ channels, then 2×2 average pooling: between two dense blocks."""

    def __init__(self, in_channels: int, compression: float = 0.5) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        out_channels = int(in_channels * compression)  # floor, as torchvision's m // 2
        self.norm = nn.BatchNorm2d(in_channels)
        self.relu = nn.ReLU()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=1, bias=False)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "densenet_transition", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_transition(Transition)
### BEGIN HIDDEN TESTS
checks.check_transition(Transition, cases=((216, 0.5), (15, 0.5), (40, 1.0)), size=8, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# A common study note says that DenseNet "adds" the outputs of earlier layers, like ResNet. In two or three
# sentences: what does a dense layer do with them instead, what does that change for the features a later
# layer can use, and why does the network then need transitions with compression?
#
# よくある学習ノートには「DenseNet は ResNet と同じく前の層の出力を足し合わせる」と書かれている。デンス層は
# 実際には前の層の出力をどう扱うか、それによって後の層が使える特徴はどう変わるか、そしてそのためになぜ
# 圧縮付きの遷移層が必要になるのかを、2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "densenet_written_concatenation", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# A dense layer concatenates: it receives every earlier feature map of its block unchanged, stacked along the
# channels, and appends k new ones (Eq. 2), whereas ResNet's addition merges its input and output into one
# sum that later layers can no longer take apart. So every later layer can reuse any earlier feature directly
# (and gets a short gradient path to it), which is why each layer can be narrow (k = 12 or 32). The price is
# that the channels grow by k per layer, k₀ + L·k through a block, so transitions compress them (θ = 0.5) and
# halve the map to keep the next block, and the whole network, affordable (paper Section 3).
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。先に上のチェックセルを実行すること。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
