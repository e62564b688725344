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
# # 01 · ResNet — exercises / 演習
#
# Six exercises on residual networks (He et al., 2015, arXiv:1512.03385), from a calculation by hand to the
# two blocks torchvision's ResNets are made of. Each exercise is a cell where you write code, followed by a
# check cell that tests what you wrote against the course's reference implementation and says, line by line,
# what is right (✓) and what to fix (✗).
#
# 残差ネットワーク（He et al., 2015）の演習が6問ある。手計算から torchvision の ResNet を構成する2種類の
# ブロックの実装まで進む。各演習では、コードを書くセルの次にチェック用のセルがあり、コース付属の参照実装と
# 比べて、正しい点（✓）と直すべき点（✗）を1行ずつ表示する。
#
# **How to work / 進め方:** replace `raise NotImplementedError()` with your code, run the cell, then run the
# check cell below it. An exercise you have not started is reported as *not attempted*, so the notebook always
# runs from top to bottom; the last cell counts how many exercises are done.
# `raise NotImplementedError()` を自分のコードに置き換えて実行し、その下のチェックセルを実行せよ。
# 未着手の演習は「not attempted」と表示されるだけなので、ノートブックは常に最後まで実行できる。
#
# **Time / 所要時間:** 30–60 minutes. Every check runs in about a second on a CPU.

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

from cnncourse.check import resnet as checks

# %% [markdown]
# ## Exercise 1 · 畳み込みの出力サイズ / Output size of a convolution (1 point)
#
# Every shape in a CNN follows from one formula. A convolution with kernel size $k$, stride $s$ and padding
# $p$ on each side slides its window over the padded input of size $n + 2p$; the window fits
# $\lfloor (n + 2p - k) / s \rfloor + 1$ times. Knowing it by heart lets you check any architecture table.
#
# Write `conv_output_size(size, kernel_size, stride, padding)` for a square input. It must return an `int`.
# The check compares it with real `nn.Conv2d` layers, including ResNet's 7×7 stem and stride-2 layers on odd
# sizes.
#
# 正方形の入力に対する畳み込みの出力サイズ `conv_output_size(size, kernel_size, stride, padding)` を書け
# （戻り値は `int`）。チェックは実際の `nn.Conv2d` と比べる（ResNet の 7×7 ステムや、奇数サイズへのストライド2を含む）。

# %% nbgrader={"grade": false, "grade_id": "resnet_conv_output_size_answer", "locked": false, "schema_version": 3, "solution": true}
def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0) -> int:
    """Height (= width) of the output of a convolution on a ``size`` × ``size`` input."""
    ### BEGIN SOLUTION
    return (size + 2 * padding - kernel_size) // stride + 1
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "resnet_conv_output_size", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_conv_output_size(conv_output_size)
### BEGIN HIDDEN TESTS
more_cases = ((64, 3, 2, 1), (31, 3, 2, 1), (10, 4, 2, 1), (5, 5, 1, 2))
checks.check_conv_output_size(conv_output_size, more_cases, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · ResNet-20 の特徴マップサイズ / Feature-map sizes of ResNet-20 (1 point)
#
# The CIFAR ResNets of the paper (Section 4.2) have three stages of 16, 32 and 64 filters. The first stage
# keeps the size of the map; the second and third start with a 3×3 convolution of **stride 2** (padding 1)
# that halves it while the filters double, so every stage costs about the same.
#
# Write `resnet20_feature_sizes(input_size)`: the height of the feature map after stage 1, 2 and 3, as a list
# of three ints, for a square input of any size (Fashion-MNIST is 28×28, CIFAR 32×32). Use your
# `conv_output_size`. The check runs the course's `resnet20` with hooks on its stages, including an odd input
# size.
#
# `resnet20_feature_sizes(input_size)` を書き、3つのステージの後の特徴マップの高さを3要素のリストで返せ。
# 第1ステージはサイズを保ち、第2・第3ステージの先頭はストライド2の3×3畳み込み（パディング1）である。

# %% nbgrader={"grade": false, "grade_id": "resnet_stage_sizes_answer", "locked": false, "schema_version": 3, "solution": true}
def resnet20_feature_sizes(input_size: int) -> list[int]:
    """Spatial size of the feature map after each of the three stages of ResNet-20."""
    ### BEGIN SOLUTION
    sizes = []
    size = input_size
    for stride in (1, 2, 2):  # the first convolution of each stage
        size = conv_output_size(size, kernel_size=3, stride=stride, padding=1)
        sizes.append(size)
    return sizes
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "resnet_stage_sizes", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_stage_sizes(resnet20_feature_sizes)

# %% [markdown]
# ## Exercise 3 · ボトルネックのパラメータ数 / Parameters of a bottleneck block (2 points)
#
# ResNet-50/101/152 use the **bottleneck** block (paper Fig. 5, right): a 1×1 convolution reduces the channels
# to `planes`, a 3×3 convolution works on those few channels, and a 1×1 convolution expands them to
# `4 * planes`. Each convolution has no bias and is followed by a BatchNorm with two learned parameters per
# channel (γ, β; the running mean and variance are buffers, not parameters). Where the stride is 2 or
# `inplanes != 4 * planes`, the shortcut is a projection: a 1×1 convolution (with the block's stride) and a
# BatchNorm, as torchvision builds it.
#
# Write `bottleneck_parameters(inplanes, planes, stride)`: the number of parameters of such a block, by
# formula (do not build the module). The check counts the parameters of the reference `Bottleneck`.
#
# ボトルネックブロック（1×1 → 3×3 → 1×1、出力は `4 * planes` チャネル）のパラメータ数を式で求める
# `bottleneck_parameters(inplanes, planes, stride)` を書け。畳み込みにバイアスはなく、各畳み込みの後の
# BatchNorm はチャネルあたり2個（γ, β）の学習パラメータを持つ。形が変わる所では 1×1 畳み込み + BatchNorm の
# 射影ショートカットが加わる。

# %% nbgrader={"grade": false, "grade_id": "resnet_bottleneck_parameters_answer", "locked": false, "schema_version": 3, "solution": true}
def bottleneck_parameters(inplanes: int, planes: int, stride: int) -> int:
    """Parameters (convolution weights and BatchNorm γ, β) of a bottleneck block with its shortcut."""
    ### BEGIN SOLUTION
    out_planes = 4 * planes
    convolutions = inplanes * planes + 3 * 3 * planes * planes + planes * out_planes
    batchnorms = 2 * (planes + planes + out_planes)
    projection = 0
    if stride != 1 or inplanes != out_planes:
        projection = inplanes * out_planes + 2 * out_planes
    return convolutions + batchnorms + projection
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "resnet_bottleneck_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_bottleneck_parameters(bottleneck_parameters)
### BEGIN HIDDEN TESTS
more_cases = ((2048, 512, 1), (128, 32, 2), (512, 256, 2))
checks.check_bottleneck_parameters(bottleneck_parameters, more_cases, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 · 射影ショートカット / Projection shortcut (2 points)
#
# A residual block adds its input to its output, so both must have the same shape. Where a block changes the
# number of channels or halves the map, the paper offers two shortcuts (Section 3.3): **option A** pads the
# new channels with zeros (no parameters; used for CIFAR), **option B** projects with a 1×1 convolution (used
# for ImageNet and by torchvision). Everywhere else the shortcut is the identity — it adds nothing to learn.
#
# Write `projection_shortcut(in_planes, out_planes, stride)`: return `None` (identity) when the shape is kept,
# otherwise option B: `nn.Sequential(nn.Conv2d(in_planes, out_planes, 1, stride, bias=False),
# nn.BatchNorm2d(out_planes))` — but think about *why* each part is there before you type it.
#
# 形が変わらないときは `None`（恒等写像）、チャネル数またはサイズが変わるときはオプションB（1×1畳み込み
# ＋BatchNorm）を返す `projection_shortcut(in_planes, out_planes, stride)` を書け。

# %% nbgrader={"grade": false, "grade_id": "resnet_projection_shortcut_answer", "locked": false, "schema_version": 3, "solution": true}
def projection_shortcut(in_planes: int, out_planes: int, stride: int) -> nn.Module | None:
    """None where the shape is kept, else a 1×1 projection (option B) that matches the residual's shape."""
    ### BEGIN SOLUTION
    if stride == 1 and in_planes == out_planes:
        return None
    return nn.Sequential(
        nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False),
        nn.BatchNorm2d(out_planes),
    )
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "resnet_projection_shortcut", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_projection_shortcut(projection_shortcut)

# %% [markdown]
# ## Exercise 5 · 基本ブロック / Basic block (3 points)
#
# The basic block of ResNet-18/34 (paper Fig. 2): two 3×3 convolutions, each followed by BatchNorm, a ReLU
# between them, the shortcut added, and a ReLU after the addition:
#
# $$\text{out} = \mathrm{ReLU}\big(F(x) + \text{shortcut}(x)\big),$$
# $$F(x) = \mathrm{BN_2}(\mathrm{conv_2}(\mathrm{ReLU}(\mathrm{BN_1}(\mathrm{conv_1}(x)))))$$
#
# Write `BasicBlock(inplanes, planes, stride=1, downsample=None)` with torchvision's interface and layer
# names, so that torchvision's weights would load into it: `conv1` (3×3, stride `stride`, padding 1, no bias),
# `bn1`, `conv2` (3×3, padding 1, no bias), `bn2`, and `downsample` — the shortcut module the network passes
# in where the shape changes (`None` means identity). The check copies the reference's weights into your block
# and compares outputs, so a wrong order or a missing piece shows up.
#
# torchvision と同じインターフェースと層の名前（`conv1`, `bn1`, `conv2`, `bn2`, `downsample`）で基本ブロックを
# 実装せよ。`downsample` が与えられたときはショートカットに `downsample(x)` を使う。
# 最後の ReLU は加算の**後**である。

# %% nbgrader={"grade": false, "grade_id": "resnet_basic_block_answer", "locked": false, "schema_version": 3, "solution": true}
class BasicBlock(nn.Module):
    """ResNet basic block: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))."""

    expansion = 1  # output channels = planes * expansion

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        shortcut = x if self.downsample is None else self.downsample(x)
        residual = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(residual + shortcut)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "resnet_basic_block", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_basic_block(BasicBlock)
### BEGIN HIDDEN TESTS
checks.check_basic_block(BasicBlock, in_planes=8, planes=24, size=7, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 6 · ボトルネックブロック / Bottleneck block (3 points)
#
# Now the bottleneck of Exercise 3 as a module: `conv1` 1×1 (`inplanes` → `planes`), `bn1`, ReLU; `conv2` 3×3
# (`planes` → `planes`, **stride here**, padding 1), `bn2`, ReLU; `conv3` 1×1 (`planes` → `4 * planes`),
# `bn3`; add the shortcut (`downsample(x)` when given), ReLU. No biases. `expansion = 4`.
#
# Where the stride goes matters: the 2015 paper strides the first 1×1 convolution, which simply skips three
# out of four input positions; torchvision ("ResNet v1.5") strides the 3×3, which looks at all of them. Follow
# torchvision, so that its weights would load into your block.
#
# 演習3のボトルネックをモジュールとして実装せよ。ストライドは 3×3 の `conv2` に置く（torchvision の
# 「ResNet v1.5」。2015年の論文は最初の 1×1 に置いている）。

# %% nbgrader={"grade": false, "grade_id": "resnet_bottleneck_answer", "locked": false, "schema_version": 3, "solution": true}
class Bottleneck(nn.Module):
    """ResNet bottleneck: 1×1 reduce → 3×3 (stride) → 1×1 expand ×4, plus the shortcut, then ReLU."""

    expansion = 4

    def __init__(
        self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None
    ) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.downsample = downsample
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        shortcut = x if self.downsample is None else self.downsample(x)
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return F.relu(out + shortcut)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "resnet_bottleneck", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_bottleneck(Bottleneck)

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# In two or three sentences: why can a residual block represent the identity mapping easily, when a plain
# block of the same layers cannot — and why does that help a very deep network train? (Hint: what must the
# weights be for each block to output its input? The check of Exercise 5 used exactly this.)
#
# 残差ブロックは恒等写像を簡単に表現できるのに、同じ層からなる通常のブロックではそれが難しいのはなぜか。
# それが非常に深いネットワークの学習をどう助けるのかも含め、2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "resnet_written_identity", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# A residual block outputs relu(F(x) + x), so it is the identity (for the non-negative activations it
# receives) as soon as F(x) = 0 — which weights near zero give, and weight decay pushes towards. A plain block
# must instead learn H(x) = x through two convolutions, BatchNorm and ReLUs, which is hard to fit. So extra
# residual layers can at worst do nothing, the deeper network is never worse to optimise than the shallower
# one, and the identity path carries the gradient straight to the early layers: the degradation problem
# disappears (He et al., 2015, Section 3.1).
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
