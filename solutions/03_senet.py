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
# # 03 · SENet — exercises / 演習
#
# Four exercises on Squeeze-and-Excitation networks (Hu et al., 2017, arXiv:1709.01507): counting what an SE
# block costs, writing the block itself, counting what it adds to ResNet-50, and putting it into ResNet-50's
# bottleneck at the position the paper uses. Each exercise is followed by a check cell that compares your
# code with the course's reference (`cnncourse.layers.SqueezeExcitation`, `cnncourse.models.senet`) and says,
# line by line, what is right (✓) and what to fix (✗).
#
# Squeeze-and-Excitation ネットワーク（Hu et al., 2017）の演習は4問である。SE ブロックのパラメータ数、
# SE ブロックそのものの実装、SE が ResNet-50 に加えるパラメータ数、そして論文と同じ位置に SE を置いた
# ボトルネックブロックの実装へと進む。各演習の次にチェック用のセルがあり、コース付属の参照実装と比べて、
# 正しい点（✓）と直すべき点（✗）を1行ずつ表示する。
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

from cnncourse.check import senet as checks
from cnncourse.models.resnet import Bottleneck

# %% [markdown]
# ## Exercise 1 · SE ブロックのパラメータ数 / Parameters of an SE block (1 point)
#
# An SE block recalibrates the C channels of a feature map in three steps (paper Section 3, Fig. 1):
#
# 1. **squeeze**: global average pooling turns each channel into one number, $z \in \mathbb{R}^C$;
# 2. **excitation**: two fully connected layers, C → C/r → C, with a ReLU between them and a sigmoid at the
#    end, turn $z$ into one weight per channel, $s = \sigma(W_2\,\mathrm{ReLU}(W_1 z))$ (Eq. 3);
# 3. **scale**: each channel of the input is multiplied by its weight (Eq. 4).
#
# The reduction ratio r sets the width of the bottleneck between the two layers; the paper uses r = 16
# (the default, Section 5.1; justified in Section 6.1 and Table 10). The course's SE layers, like torchvision's, give both layers a bias, and the width is
# C // r (at least 1).
#
# Write `se_parameters(channels, reduction)`: the number of parameters of such a block, by formula. The check
# counts the parameters of the reference module, including SE-ResNet-50's stages (paper Table 1: fc [16, 256]
# … fc [128, 2048]).
#
# SE ブロックは、大域平均プーリング（squeeze）、C → C/r → C の2層の全結合層と ReLU・シグモイド
# （excitation）、チャネルごとの乗算（scale）からなる。2層ともバイアスを持ち、中間の幅は C // r（最小1）である。
# この SE ブロックのパラメータ数を式で求める `se_parameters(channels, reduction)` を書け。

# %% nbgrader={"grade": false, "grade_id": "senet_se_parameters_answer", "locked": false, "schema_version": 3, "solution": true}
def se_parameters(channels: int, reduction: int) -> int:
    """Parameters (weights and biases of the two layers) of an SE block on ``channels`` channels."""
    ### BEGIN SOLUTION
    squeeze = max(1, channels // reduction)
    return channels * squeeze + squeeze + squeeze * channels + channels
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "senet_se_parameters", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_se_parameters(se_parameters)
### BEGIN HIDDEN TESTS
checks.check_se_parameters(se_parameters, ((1024, 16), (128, 2), (40, 8)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · Squeeze-and-Excitation モジュール / Squeeze-and-excitation module (3 points)
#
# Now the block as a module. Write `SqueezeExcitation(channels, squeeze_channels)` with torchvision's layer
# names: `fc1` (C → `squeeze_channels`) and `fc2` (`squeeze_channels` → C), both with bias. A 1×1
# convolution on the pooled 1×1 map is the same arithmetic as a fully connected layer, so
# `nn.Conv2d(…, kernel_size=1)` is the simplest choice (`nn.Linear` works too). `forward(x)` returns `x`
# with every channel multiplied by its weight.
#
# Two things decide whether it is really SE:
#
# * it is **channel** attention: one weight per channel and per image, the *same at every pixel* — the
#   weights have shape (N, C, 1, 1). A spatial attention mask, one weight per pixel, (N, 1, H, W), is a
#   different idea;
# * the gate is a **sigmoid**, applied to each channel on its own: several channels may be emphasised at once
#   (Section 3.2). A softmax would make the channels compete for a total weight of 1.
#
# The check tests both by behaviour, copies the reference's weights into your module and compares outputs.
#
# torchvision と同じ層の名前（`fc1`, `fc2`、どちらもバイアスあり）で `SqueezeExcitation(channels,
# squeeze_channels)` を実装せよ。`forward(x)` は各チャネルにその重みを掛けた `x` を返す。SE はチャネル
# アテンションであり、重みは画像ごと・チャネルごとに1つ（形は (N, C, 1, 1)）で、すべての画素で同じである。
# ゲートはチャネルごとに独立なシグモイドであり、ソフトマックスではない。

# %% nbgrader={"grade": false, "grade_id": "senet_squeeze_excitation_answer", "locked": false, "schema_version": 3, "solution": true}
class SqueezeExcitation(nn.Module):
    """Squeeze (global average pool) → excitation (fc1, ReLU, fc2, sigmoid) → scale each channel."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        self.fc1 = nn.Conv2d(channels, squeeze_channels, kernel_size=1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, kernel_size=1)
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        squeezed = F.adaptive_avg_pool2d(x, 1)  # (N, C, 1, 1): one number per channel
        weights = torch.sigmoid(self.fc2(F.relu(self.fc1(squeezed))))
        return x * weights  # broadcast over the map: the same weight at every pixel
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "senet_squeeze_excitation", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_squeeze_excitation(SqueezeExcitation)
### BEGIN HIDDEN TESTS
checks.check_squeeze_excitation(SqueezeExcitation, channels=64, squeeze_channels=4, size=7, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 · SE-ResNet-50 の追加パラメータ数 / What SE adds to ResNet-50 (2 points)
#
# SE-ResNet-50 (paper Table 1) is ResNet-50 with an SE block in **every** bottleneck. ResNet-50 has four
# stages of 3, 4, 6 and 3 bottlenecks with inner widths ("planes") 64, 128, 256 and 512; each bottleneck
# outputs 4 · planes channels (256, 512, 1024, 2048), and that output is what its SE block recalibrates:
# Table 1 lists fc [16, 256] for the first stage, i.e. a 256-channel SE block of width 256/16.
#
# Write `se_resnet50_extra_parameters(reduction)`: the parameters all SE blocks of SE-ResNet-50 add, for a
# reduction ratio r. Use your `se_parameters` from exercise 1. The check counts the SE modules of the
# reference network; for r = 16 the result is the difference between SE-ResNet-50 and ResNet-50, which the
# paper puts at about 10% (Section 4).
#
# SE-ResNet-50 はすべてのボトルネックに SE ブロックを持つ（ステージごとに 3, 4, 6, 3 個、出力チャネル数は
# 4 · planes = 256, 512, 1024, 2048）。演習1の `se_parameters` を使い、SE ブロックが加えるパラメータの総数を
# 返す `se_resnet50_extra_parameters(reduction)` を書け。縮小率 r が割るのはブロックの出力チャネル数である。

# %% nbgrader={"grade": false, "grade_id": "senet_resnet50_extra_parameters_answer", "locked": false, "schema_version": 3, "solution": true}
def se_resnet50_extra_parameters(reduction: int) -> int:
    """Parameters of all SE blocks of SE-ResNet-50 with reduction ratio ``reduction``."""
    ### BEGIN SOLUTION
    total = 0
    for planes, blocks in zip((64, 128, 256, 512), (3, 4, 6, 3)):
        total += blocks * se_parameters(4 * planes, reduction)  # SE acts on the block's output
    return total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "senet_resnet50_extra_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_se_resnet50_extra_parameters(se_resnet50_extra_parameters)
### BEGIN HIDDEN TESTS
checks.check_se_resnet50_extra_parameters(se_resnet50_extra_parameters, (2, 64), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 · SE ボトルネックブロック / SE bottleneck block (3 points)
#
# Where does the SE block go? In the SE-ResNet module (paper Fig. 3) it recalibrates the **residual branch**,
# after `bn3` and **before** the shortcut is added:
#
# $$\text{out} = \mathrm{ReLU}\big(\mathrm{SE}(F(x)) + \text{shortcut}(x)\big)$$
#
# The shortcut stays a pure identity, as ResNet needs it. The paper also tried SE after the addition, on the
# shortcut, and at the start of the residual branch (Section 6.5, Fig. 5); the check recognises each of them.
#
# `Bottleneck` (imported above; chapter 01's block, torchvision's layout) already has `conv1` … `bn3`,
# `downsample` and a method `residual(x)` that returns F(x) = bn3(conv3(…)), before the addition. Write
# `SEBottleneck(inplanes, planes, stride=1, downsample=None, reduction=16)` as a subclass: add `self.se`, an
# SE block (your `SqueezeExcitation` from exercise 2) on the block's output channels with width C // r, and a
# `forward` that puts it in the standard position. The check copies the reference's weights into your block.
#
# SE-ResNet モジュール（論文 Fig. 3）では、SE は残差ブランチの最後（`bn3` の後）、ショートカットを加える
# **前** に置く。`Bottleneck` を継承して `SEBottleneck(inplanes, planes, stride=1, downsample=None,
# reduction=16)` を実装せよ。`self.se` は演習2の `SqueezeExcitation` で、ブロックの出力チャネル数 C に
# 対して幅 C // r とする。

# %% nbgrader={"grade": false, "grade_id": "senet_se_bottleneck_answer", "locked": false, "schema_version": 3, "solution": true}
class SEBottleneck(Bottleneck):
    """ResNet bottleneck with SE on the residual branch, before the addition (SE-ResNet module, Fig. 3)."""

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        reduction: int = 16,
    ) -> None:
        super().__init__(inplanes, planes, stride, downsample)
        ### BEGIN SOLUTION
        channels = planes * self.expansion  # SE recalibrates what the block outputs
        self.se = SqueezeExcitation(channels, max(1, channels // reduction))
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(self.se(self.residual(x)) + shortcut)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "senet_se_bottleneck", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_se_bottleneck(SEBottleneck)
### BEGIN HIDDEN TESTS
checks.check_se_bottleneck(SEBottleneck, planes=16, reduction=8, size=5, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# In two or three sentences: the weights of an SE block have shape (N, C, 1, 1). What does that shape say the
# block can and cannot do, compared with a spatial attention mask of shape (N, 1, H, W)? And why does the paper
# end the excitation with a sigmoid rather than a softmax over the channels?
#
# SE ブロックの重みの形は (N, C, 1, 1) である。形が (N, 1, H, W) の空間アテンションマスクと比べて、この形は
# SE ブロックに何ができ何ができないことを示すか。また、論文が excitation の最後をチャネル方向の
# ソフトマックスではなくシグモイドにしたのはなぜか。2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "senet_written_gate", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# One weight per channel and image, broadcast over the map: SE can turn a whole channel (a feature detector) up
# or down from the global context of the image, but it cannot say *where* — every pixel of a channel gets the
# same weight. A spatial mask does the opposite: one weight per position, shared by all channels. The gate is a
# sigmoid so that each channel is weighted on its own, in (0, 1), and several channels can be emphasised at
# once; a softmax would make the weights sum to 1 and the channels compete (the paper wants a
# "non-mutually-exclusive relationship" and to avoid "enforcing a one-hot activation", Section 3.2).
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。先に上のチェックセルを実行すること。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
