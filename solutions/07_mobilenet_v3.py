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
# # 07 · MobileNet v3 — exercises / 演習
#
# Four exercises on MobileNet v3 (Howard et al., 2019, "Searching for MobileNetV3", arXiv:1905.02244): the two
# hard activations from their formulas, the width of the SE module inside the block, the block itself, and the
# rule by which NetAdapt keeps one of its proposals. Each exercise is followed by a check cell that compares your
# code with the course's reference (PyTorch's `F.hardsigmoid` / `F.hardswish`, `cnncourse.models.mobilenet`,
# `cnncourse.layers.MBConv`) and says, line by line, what is right (✓) and what to fix (✗).
#
# MobileNet v3（Howard et al., 2019）の演習は4問である。2つのハード活性化関数を式から書き、ブロック内の SE
# モジュールの幅を求め、ブロックそのものを実装し、NetAdapt が提案の中からどれを残すかを決める規則を書く。
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
import torch.nn.functional as F
from torch import Tensor, nn

from cnncourse.check import mobilenet_v3 as checks
from cnncourse.layers import SqueezeExcitation, make_divisible
from cnncourse.layers.misc import Conv2dNormActivation

# %% [markdown]
# ## Exercise 1 · h-sigmoid と h-swish / h-sigmoid and h-swish (2 points)
#
# MobileNet v3 replaces the sigmoid σ(x) and swish x·σ(x) with piecewise-linear "hard" versions made of a ReLU6
# (paper Section 5.2), ReLU6(z) = min(max(z, 0), 6):
#
# $$\text{h-sigmoid}(x) = \frac{\text{ReLU6}(x + 3)}{6}, \qquad \text{h-swish}(x) = x \cdot \frac{\text{ReLU6}(x + 3)}{6}.$$
#
# Write both with torch operations only (`F.relu6` or `torch.clamp`; not `F.hardsigmoid` / `F.hardswish`,
# which the check uses as the reference). They must work element by element on a tensor of any shape, leave
# their input unchanged and let gradients through. Mind where the + 3 and the / 6 go: the check recognises the
# usual slips by the values they give.
#
# MobileNet v3 はシグモイドと Swish を、ReLU6 で作る区分線形の「ハード」版に置き換える（論文 5.2 節）。
# h-sigmoid(x) = ReLU6(x + 3)/6、h-swish(x) = x·ReLU6(x + 3)/6 を torch の演算だけで書け。入力を書き換えず、
# 勾配が流れるようにすること。+3 と /6 をどこに置くかに注意せよ。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v3_hard_activations_answer", "locked": false, "schema_version": 3, "solution": true}
def hard_sigmoid(x: Tensor) -> Tensor:
    """h-sigmoid(x) = ReLU6(x + 3) / 6: 0 for x ≤ −3, 1 for x ≥ 3, 0.5 at x = 0."""
    ### BEGIN SOLUTION
    return F.relu6(x + 3) / 6
    ### END SOLUTION


def hard_swish(x: Tensor) -> Tensor:
    """h-swish(x) = x · ReLU6(x + 3) / 6: 0 for x ≤ −3, x for x ≥ 3."""
    ### BEGIN SOLUTION
    return x * hard_sigmoid(x)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v3_hard_activations", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_hard_activations(hard_sigmoid, hard_swish)
### BEGIN HIDDEN TESTS
checks.check_hard_activations(hard_sigmoid, hard_swish, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 2 · SE の幅 / The SE squeeze width (1 point)
#
# In MobileNet v3 the SE module sits inside the block, after the depthwise convolution, so it recalibrates the
# **expanded** channels. Section 5.3 fixes its squeeze width to a quarter of the expansion layer's channels, and
# torchvision and TensorFlow round that with `make_divisible(value, 8)` (imported above): the nearest multiple
# of 8, at least 8, and one step up when rounding would lose more than 10%.
#
# Write `se_squeeze_width(in_channels, expanded_channels)`. The check takes the SE blocks of Tables 1 and 2
# (e.g. input 24, expansion 72) and compares with the widths the course's MobileNetV3 builds.
#
# MobileNet v3 の SE モジュールは深さ方向畳み込みの後に置かれ、拡張されたチャネルを再調整する。その幅は拡張層の
# チャネル数の 1/4 で（5.3 節）、`make_divisible(·, 8)` で 8 の倍数に丸める。`se_squeeze_width(in_channels,
# expanded_channels)` を書け。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v3_se_squeeze_width_answer", "locked": false, "schema_version": 3, "solution": true}
def se_squeeze_width(in_channels: int, expanded_channels: int) -> int:
    """Width of MobileNet v3's SE module in a block with these input and expanded widths."""
    ### BEGIN SOLUTION
    return make_divisible(expanded_channels / 4, 8)  # the expanded channels, not the block's input
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v3_se_squeeze_width", "locked": true, "points": 1, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_se_squeeze_width(se_squeeze_width)
### BEGIN HIDDEN TESTS
checks.check_se_squeeze_width(se_squeeze_width, ((24, 88), (56, 336), (72, 432), (32, 96)), part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 3 · MobileNet v3 のブロック / MobileNet v3's block (3 points)
#
# One row of Tables 1 and 2 ("bneck") is MobileNet v2's inverted residual with an SE module (Fig. 4):
#
# 1. a 1×1 **expansion** to `expanded_channels`, BatchNorm, activation — left out when `expanded_channels`
#    equals `in_channels` (Table 2's first row);
# 2. a k×k **depthwise** convolution with the stride, BatchNorm, activation;
# 3. if `use_se`: an **SE module** on the expanded channels, width from your `se_squeeze_width`, a ReLU inside
#    and the **hard-sigmoid** as its gate;
# 4. a 1×1 **projection** to `out_channels` and BatchNorm, with **no** activation (the linear bottleneck);
# 5. the input added back when the stride is 1 and `in_channels == out_channels`.
#
# `activation` is the table's NL column: `"RE"` for ReLU, `"HS"` for h-swish (use `nn.ReLU` / `nn.Hardswish`).
# Build it from `Conv2dNormActivation(in, out, kernel_size, stride, groups=…, activation_layer=…)` (a
# convolution without bias, BatchNorm and the activation; `activation_layer=None` for none) and
# `SqueezeExcitation(channels, squeeze_channels, activation=…, gate=…)`, both imported above. Create the layers
# in the order they run: the check copies the reference's weights into yours and compares outputs, and names the
# usual mistakes (a sigmoid gate, SE from the wrong width or in the wrong place, the wrong activation, an
# activation after the projection, a missing shortcut).
#
# 表の1行（bneck）は、MobileNet v2 の逆残差ブロックに SE モジュールを加えたものである（Fig. 4）。1×1 の拡張
# （拡張チャネル数が入力と同じなら省く）、k×k の深さ方向畳み込み、`use_se` なら拡張チャネル上の SE（幅は演習2、
# 内部は ReLU、ゲートは hard-sigmoid）、活性化関数のない 1×1 の射影の順に並べ、ストライド 1 で入出力の幅が
# 等しいときは入力を足す。`activation` は表の NL 列で、"RE" は ReLU、"HS" は h-swish である。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v3_bneck_answer", "locked": false, "schema_version": 3, "solution": true}
class Bneck(nn.Module):
    """MobileNet v3's block: [expansion] → depthwise → [SE, hard-sigmoid gate] → linear projection, + x."""

    def __init__(self, in_channels: int, expanded_channels: int, out_channels: int, kernel_size: int,
                 stride: int, use_se: bool, activation: str) -> None:
        super().__init__()
        ### BEGIN SOLUTION
        act = {"RE": nn.ReLU, "HS": nn.Hardswish}[activation]
        self.use_shortcut = stride == 1 and in_channels == out_channels
        layers: list[nn.Module] = []
        if expanded_channels != in_channels:
            layers.append(Conv2dNormActivation(in_channels, expanded_channels, 1, activation_layer=act))
        layers.append(Conv2dNormActivation(expanded_channels, expanded_channels, kernel_size, stride,
                                           groups=expanded_channels, activation_layer=act))
        if use_se:  # on the expanded channels, after the depthwise convolution
            layers.append(SqueezeExcitation(expanded_channels, se_squeeze_width(in_channels, expanded_channels),
                                            activation=nn.ReLU, gate=nn.Hardsigmoid))
        layers.append(Conv2dNormActivation(expanded_channels, out_channels, 1, activation_layer=None))
        self.block = nn.Sequential(*layers)
        ### END SOLUTION

    def forward(self, x: Tensor) -> Tensor:
        ### BEGIN SOLUTION
        out = self.block(x)
        return x + out if self.use_shortcut else out
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v3_bneck", "locked": true, "points": 3, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_bneck(Bneck)
### BEGIN HIDDEN TESTS
checks.check_bneck(Bneck, ((96, 576, 96, 5, 1, True, "HS"), (40, 120, 48, 5, 1, True, "HS")), size=5, part="hidden")
### END HIDDEN TESTS

# %% [markdown]
# ## Exercise 4 · NetAdapt の選択 / NetAdapt's choice (2 points)
#
# After the block-wise search, MobileNet v3 tunes the layer widths with NetAdapt (Section 4.2). In every step it
# generates proposals, each a smaller network that must cut the latency by at least δ; each proposal is
# fine-tuned briefly, which gives its accuracy change ΔAcc (in points) and its latency change ΔLatency (in ms,
# negative when the network got faster). The original NetAdapt kept the proposal that lost the least accuracy.
# MobileNet v3 keeps the one that **maximises ΔAcc / |ΔLatency|** among those that cut the latency by at
# least δ — the best slope of the accuracy–latency trade-off, since the proposals are discrete steps.
#
# Write `netadapt_choice(proposals, min_latency_cut)`: `proposals` is a tuple of `(name, delta_acc,
# delta_latency)` triples, `min_latency_cut` is δ (in ms, positive); return the name of the proposal v3's
# NetAdapt keeps. Careful with the signs: ΔLatency is negative, and a brief fine-tuning can even raise the
# accuracy (ΔAcc > 0).
#
# NetAdapt（4.2 節）は各ステップで、レイテンシを δ 以上減らす提案を作り、短く再学習して精度の変化 ΔAcc と
# レイテンシの変化 ΔLatency（速くなれば負）を測る。元の NetAdapt は精度の低下が最も小さい提案を残したが、
# MobileNet v3 は δ 以上減らす提案の中で ΔAcc / |ΔLatency| が最大のものを残す。その提案の名前を返す
# `netadapt_choice(proposals, min_latency_cut)` を書け。符号に注意すること。

# %% nbgrader={"grade": false, "grade_id": "mobilenet_v3_netadapt_choice_answer", "locked": false, "schema_version": 3, "solution": true}
def netadapt_choice(proposals: tuple[tuple[str, float, float], ...], min_latency_cut: float) -> str:
    """Name of the proposal with the largest ΔAcc / |ΔLatency| among those cutting at least δ ms."""
    ### BEGIN SOLUTION
    eligible = [p for p in proposals if -p[2] >= min_latency_cut]
    name, _, _ = max(eligible, key=lambda p: p[1] / abs(p[2]))
    return name
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "mobilenet_v3_netadapt_choice", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_netadapt_choice(netadapt_choice)
### BEGIN HIDDEN TESTS
checks.check_netadapt_choice(
    netadapt_choice,
    (((("x", -0.3, -1.5), ("y", 0.02, -0.5), ("z", -1.0, -9.0)), 0.5),
     ((("u", -0.2, -0.4), ("v", -0.25, -2.0), ("w", -0.7, -2.1)), 1.0)),
    part="hidden",
)
### END HIDDEN TESTS

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# In two or three sentences: why does MobileNet v3 use hard-sigmoid and h-swish instead of the sigmoid and
# swish — is it for accuracy? And why does it use h-swish only in the second half of the network?
#
# MobileNet v3 がシグモイドと Swish の代わりに hard-sigmoid と h-swish を使うのはなぜか。精度のためか。また、
# h-swish をネットワークの後半だけで使うのはなぜか。2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "mobilenet_v3_written_activations", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# Not for accuracy: the paper found no discernible difference in accuracy between the hard and smooth versions
# (Section 5.2). The hard versions are for deployment: ReLU6 has optimised kernels everywhere, in 8-bit
# (quantized) inference a clamp, an add and a fixed scale are exact where every approximation of the sigmoid
# loses precision differently, and h-swish can be fused into one piecewise function with fewer memory accesses.
# h-swish only in the second half because a nonlinearity costs per activation value, and the maps shrink (the
# activation memory roughly halves at every drop in resolution), while most of swish's accuracy benefit came
# from the deeper layers anyway (Section 5.2).
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。先に上のチェックセルを実行すること。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
