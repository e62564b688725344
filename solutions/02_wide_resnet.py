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
# # 02 · Wide ResNet — exercises / 演習
#
# Five exercises on Wide Residual Networks (Zagoruyko & Komodakis, 2016, arXiv:1605.07146): the WRN-n-k
# notation, counting parameters and multiply-adds by hand — which shows why widening costs k² — and the
# pre-activation block with dropout between its convolutions. Each exercise is followed by a check cell that
# compares your code with the course's reference `cnncourse.models.wide_resnet` and says what to fix.
#
# Wide ResNet（Zagoruyko & Komodakis, 2016）の演習は5問ある。WRN-n-k の表記、パラメータ数と積和演算数の
# 手計算（幅を k 倍するとなぜ k² 倍のコストになるか）、そして畳み込みの間にドロップアウトを挟む
# pre-activation ブロックの実装である。
#
# **How to work / 進め方:** replace `raise NotImplementedError()` with your code, run the cell, then run the
# check cell below it. Exercises you have not started are reported as *not attempted*.
# `raise NotImplementedError()` を自分のコードに置き換え、その下のチェックセルを実行すること。
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

from cnncourse.check import wide_resnet as checks

# %% [markdown]
# ## Exercise 1 · WRN-n-k のグループ構成 / Groups of WRN-n-k (1 point)
#
# A WRN-n-k (paper Table 1) has a 3×3 convolution to 16 channels, then three groups of N pre-activation blocks
# with 16k, 32k and 64k channels, then BN-ReLU, pooling and the classifier. Each block holds two 3×3
# convolutions, so the depth is n = 6N + 4, i.e. N = (n − 4) / 6. **Two different multipliers:** the depth n
# decides how many blocks each group has; the widening factor k decides how many channels they have.
#
# Write `wrn_groups(depth, widen_factor)`: a list of three `(blocks, channels)` pairs, one per group. For a
# depth that is not 6N + 4, raise `ValueError` with a message that says why. The check compares with the
# reference model's `layer1`, `layer2`, `layer3`.
#
# WRN-n-k の3つのグループそれぞれの（ブロック数, チャネル数）を返す `wrn_groups(depth, widen_factor)` を
# 書け。深さ n はブロック数 N = (n − 4) / 6 を、拡幅係数 k はチャネル数 16k, 32k, 64k を決める。
# n − 4 が6で割り切れないときは `ValueError` を送出すること。

# %% nbgrader={"grade": false, "grade_id": "wrn_groups_answer", "locked": false, "schema_version": 3, "solution": true}
def wrn_groups(depth: int, widen_factor: int) -> list[tuple[int, int]]:
    """(blocks, channels) of the three groups of WRN-depth-widen_factor."""
    ### BEGIN SOLUTION
    if (depth - 4) % 6 != 0:
        raise ValueError(f"WRN depth must be 6N + 4 (10, 16, 22, 28, 40, ...), got {depth}")
    blocks = (depth - 4) // 6
    return [(blocks, base * widen_factor) for base in (16, 32, 64)]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "wrn_groups", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_groups(wrn_groups)
### BEGIN HIDDEN TESTS
checks.check_groups(wrn_groups, ((34, 2), (52, 1)), (12, 41), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · ブロックのパラメータ数 / Parameters of a wide block (2 points)
#
# The WRN block is **pre-activation** (He et al., 2016, arXiv:1603.05027): BN → ReLU → conv3×3 → BN → ReLU →
# (dropout) → conv3×3, plus the shortcut. So the first BatchNorm normalises the block's *input* (`in_planes`
# channels) and the second the middle (`out_planes`). The convolutions have no bias. Where the channels or the
# stride change, the shortcut is a bare 1×1 convolution (no BatchNorm: its input is already normalised).
#
# Write `wide_block_parameters(in_planes, out_planes, stride)` by formula.
#
# pre-activation ブロック1個のパラメータ数を式で求める `wide_block_parameters(in_planes, out_planes, stride)` を
# 書け。1つ目の BatchNorm はブロックの入力（`in_planes` チャネル）に掛かる。形が変わる所の
# ショートカットは BatchNorm なしの 1×1 畳み込みである。

# %% nbgrader={"grade": false, "grade_id": "wrn_block_parameters_answer", "locked": false, "schema_version": 3, "solution": true}
def wide_block_parameters(in_planes: int, out_planes: int, stride: int) -> int:
    """Parameters of one pre-activation B(3,3) block with its shortcut."""
    ### BEGIN SOLUTION
    count = 2 * in_planes  # bn1 (γ, β) on the input
    count += 3 * 3 * in_planes * out_planes  # conv1
    count += 2 * out_planes  # bn2
    count += 3 * 3 * out_planes * out_planes  # conv2
    if stride != 1 or in_planes != out_planes:
        count += in_planes * out_planes  # 1×1 projection shortcut, no bias, no BatchNorm
    return count
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "wrn_block_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_block_parameters(wide_block_parameters)

# %% [markdown]
# ## Exercise 3 · ネットワーク全体のパラメータ数 / Parameters of WRN-n-k (2 points)
#
# Now the whole network for 3-channel images: the first 3×3 convolution (3 → 16, no bias), every block of the
# three groups (the first block of a group changes the channels — and, in groups 2 and 3, the stride), the
# final BatchNorm on 64k channels, and the fully connected classifier (with bias). Use `wrn_groups` and
# `wide_block_parameters`.
#
# The paper reports 8.9M parameters for WRN-40-4, 11.0M for WRN-16-8 and 36.5M for WRN-28-10; your function
# should reproduce them. Notice that WRN-16-8 has *fewer* layers than WRN-40-4 and more parameters: width
# costs parameters quadratically (k² in every 3×3 convolution), depth only linearly.
#
# 3チャネル画像用のネットワーク全体のパラメータ数 `wrn_parameters(depth, widen_factor, num_classes)` を書け。
# 論文の値（WRN-40-4: 8.9M、WRN-16-8: 11.0M、WRN-28-10: 36.5M）が再現できるはずである。

# %% nbgrader={"grade": false, "grade_id": "wrn_network_parameters_answer", "locked": false, "schema_version": 3, "solution": true}
def wrn_parameters(depth: int, widen_factor: int, num_classes: int = 10) -> int:
    """Parameters of WRN-depth-widen_factor for 3-channel images and ``num_classes`` outputs."""
    ### BEGIN SOLUTION
    count = 3 * 3 * 3 * 16  # conv1: 3 → 16 channels
    in_planes = 16
    for group, (blocks, channels) in enumerate(wrn_groups(depth, widen_factor)):
        for block in range(blocks):
            stride = 2 if group > 0 and block == 0 else 1
            count += wide_block_parameters(in_planes, channels, stride)
            in_planes = channels
    count += 2 * in_planes  # final BatchNorm before pooling
    count += in_planes * num_classes + num_classes  # classifier
    return count
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "wrn_network_parameters", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_network_parameters(wrn_parameters)

# %% [markdown]
# ## Exercise 4 · 3×3 畳み込みの積和演算数 / Multiply-adds of a 3×3 convolution (1 point)
#
# Parameters are only half of the cost; time is spent on multiply-adds (MACs). A 3×3 convolution computes, for
# every output position and every output channel, a sum over 3 × 3 × C_in products. With padding 1, a stride-s
# convolution on an n × n map has ⌊(n − 1)/s⌋ + 1 output positions per side.
#
# Write `conv3x3_macs(in_channels, out_channels, input_size, stride)` for a 3×3 convolution with padding 1 and
# no bias. The check compares with PyTorch's `FlopCounterMode` (which counts 2 FLOPs per multiply-add).
#
# パディング1・バイアスなしの 3×3 畳み込みの積和演算数 `conv3x3_macs(in_channels, out_channels, input_size, stride)`
# を書け。PyTorch の `FlopCounterMode`（積和1回を2 FLOPと数える）と比べる。

# %% nbgrader={"grade": false, "grade_id": "wrn_conv_macs_answer", "locked": false, "schema_version": 3, "solution": true}
def conv3x3_macs(in_channels: int, out_channels: int, input_size: int, stride: int) -> int:
    """Multiply-adds of a 3×3 convolution with padding 1 on an input_size × input_size map."""
    ### BEGIN SOLUTION
    output_size = (input_size - 1) // stride + 1
    return 3 * 3 * in_channels * out_channels * output_size * output_size
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "wrn_conv_macs", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_conv_macs(conv3x3_macs)

# %% [markdown]
# Widening a layer by k multiplies both its input and output channels by k, hence its multiply-adds by k².
# That is the price of width; what WRN buys with it is a network that is much shallower for the same accuracy,
# whose few wide layers keep a GPU's parallel units busy: the paper times WRN-40-4, about as accurate as the
# 1001-layer ResNet, at about 8 times its speed per training step, and WRN-28-10 at about 1.6 times (Section 3,
# computational efficiency, Fig. 4).
#
# 幅を k 倍すると入力・出力チャネルがともに k 倍になるので、積和演算数は k² 倍になる。

# %%
# NBVAL_CHECK_OUTPUT
# measured with PyTorch's FlopCounterMode, so this cell works before you solve Exercise 4
thin = checks.measured_conv3x3_macs(16, 16, 32, 1)
for k in (1, 2, 4, 8):
    macs = checks.measured_conv3x3_macs(16 * k, 16 * k, 32, 1)
    print(f"k = {k}: {macs:>11,} multiply-adds in a 3×3 layer of group 1 on 32×32, {macs // thin:>2} × k = 1")

# %% [markdown]
# ## Exercise 5 · ドロップアウト付き Wide ブロック / Wide block with dropout (3 points)
#
# Write the block itself, `WideBasicBlock(in_planes, out_planes, stride=1, dropout=0.0)`, with these layer
# names (the reference's, so that its weights can be copied into yours for the check):
#
# * `bn1` on the input, ReLU, `conv1` (3×3, stride `stride`, padding 1, no bias);
# * `bn2`, ReLU, **dropout with probability `dropout`**, `conv2` (3×3, padding 1, no bias);
# * `shortcut`: `None` when `stride == 1` and `in_planes == out_planes`, otherwise a 1×1 convolution (stride
#   `stride`, no bias) applied to the **pre-activated** input relu(bn1(x)), as the authors' code does;
# * output: conv2's result plus the shortcut — **no ReLU after the addition** (the next block begins with
#   BN-ReLU).
#
# Dropout goes *between* the two convolutions (paper Section 2.4, Fig. 1(d)), never on the shortcut: the
# identity path must carry x unchanged. It must only act in training mode — `nn.Dropout` takes care of that.
#
# 層の名前（`bn1`, `conv1`, `bn2`, `conv2`, `shortcut`）を守って `WideBasicBlock` を実装せよ。
# ドロップアウトは2つの畳み込みの**間**（2つ目の BN-ReLU の後）に置き、ショートカットには掛けない。
# 加算の後に ReLU はない。

# %% nbgrader={"grade": false, "grade_id": "wrn_wide_block_answer", "locked": false, "schema_version": 3, "solution": true}
class WideBasicBlock(nn.Module):
    """Pre-activation B(3,3) block: BN-ReLU-conv, BN-ReLU-dropout-conv, plus the shortcut."""

    def __init__(self, in_planes: int, out_planes: int, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.dropout = nn.Dropout(p=dropout)
        self.conv2 = nn.Conv2d(out_planes, out_planes, kernel_size=3, padding=1, bias=False)
        self.shortcut = None
        if stride != 1 or in_planes != out_planes:
            self.shortcut = nn.Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        preactivated = F.relu(self.bn1(x))
        out = self.conv1(preactivated)
        out = self.conv2(self.dropout(F.relu(self.bn2(out))))
        shortcut = x if self.shortcut is None else self.shortcut(preactivated)
        return out + shortcut
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "wrn_wide_block", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_wide_block(WideBasicBlock)
### BEGIN HIDDEN TESTS
checks.check_wide_block(WideBasicBlock, in_planes=8, out_planes=16, dropout=0.5, size=7, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# Why does the paper put dropout between the two convolutions of a block rather than on the block's output or
# on the shortcut? Two or three sentences.
#
# 論文がドロップアウトをブロックの出力やショートカットではなく、2つの畳み込みの間に置くのはなぜか。2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "wrn_written_dropout", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# Wide blocks have many parameters, and dropout regularises them by perturbing the residual branch F(x) while
# training, so the block cannot rely on co-adapted features inside it. Placed between the convolutions it
# perturbs only what the block learns; on the shortcut or the output it would also corrupt the identity path,
# which must carry x (and the gradient) unchanged through the whole network — that is what makes a deep
# residual network trainable; He et al. (2016) had found dropout on the identity path harmful. Between the
# convolutions it helps consistently, e.g. WRN-28-10 on CIFAR-10 goes from 4.00% to 3.89% error with the
# same mean/std preprocessing (paper Sections 2.4 and 3, Table 6; the 4.17% of Table 4 is with ZCA whitening).
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session.
# 下のセルは、このセッションでチェックにすべて合格した演習を数える。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
