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
# # 06 · MobileNet v2 — 逆残差と線形ボトルネック
#
# **Goals.** By the end of this notebook you will be able to draw the **inverted residual** (narrow → expand
# by t = 6 → depthwise → project back to narrow) next to ResNet's bottleneck and say where each one puts its
# shortcut and why; say when the shortcut exists (stride 1 and equal widths only); show with a picture, not
# a slogan, why the narrow output has **no ReLU** (the linear bottleneck); count the block's parameters and
# multiply-adds by hand and split them into the two 1×1 convolutions and the depthwise one; measure what the
# narrow ends buy in memory at inference; and check that our MobileNet v2 is torchvision's.
#
# **Prerequisites.** Chapter 05 (depthwise-separable convolution, the width multiplier, why fewer
# multiply-adds is not the same as faster on a CPU) and chapter 01 (the residual block and ResNet's 1×1-3×3-1×1
# bottleneck). Chapter 00 for counting parameters and multiply-adds.
#
# **Time.** About 45 minutes to read and run. The cells take a few minutes on a laptop CPU (2–4 minutes on the
# course's loaded 2-core machine): four short training runs on a subset (two variants, two seeds), the timing
# and memory cells; no long training. With `CNNCOURSE_FAST=1` the whole notebook runs in under a minute. It was
# not timed on a GPU; the timing and memory cells measure the CPU on purpose.
#
# **Paper.** M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen. *MobileNetV2: Inverted Residuals and
# Linear Bottlenecks.* CVPR 2018, arXiv:1801.04381. Section, table and figure numbers below refer to it unless
# another paper is named.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
# %matplotlib inline
import statistics
import time
from collections.abc import Callable
from dataclasses import replace

import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure
from torch import Tensor, nn
from torch.nn import functional as F

from cnncourse import data, profile, viz
from cnncourse.formulas import depthwise_separable_macs, inverted_residual_macs, inverted_residual_params
from cnncourse.layers import DepthwiseSeparableConv, InvertedResidual
from cnncourse.models import create_model
from cnncourse.models.mobilenet import MOBILENET_V2_TABLE2, BottleneckStage, MobileNetV2
from cnncourse.models.resnet import Bottleneck
from cnncourse.settings import fast_mode
from cnncourse.train import History, evaluate, fit, seed_everything

train_set = data.fashion_mnist(train=True)
test_set = data.fashion_mnist(train=False)
print("fast mode:", fast_mode())

# %% [markdown]
# ## 1 · The problem: MobileNet v1's wide tensors
#
# MobileNet v1 (chapter 05) made a convolution cheap by splitting it into a depthwise 3×3 and a pointwise 1×1.
# Its layers are still a plain chain, and its feature maps stay wide: 64 channels at 112×112, up to 1,024 at
# 7×7. Sandler et al. ask two questions about such a chain. How narrow may the tensors *between* layers be,
# if the interesting information ("the manifold of interest", Section 3.2) occupies only a low-dimensional
# part of them? And what does a ReLU do to a tensor that narrow? Their answers are the two ideas in the
# title: **inverted residuals** (the shortcuts join the narrow tensors, the wide ones exist only inside a
# block) and **linear bottlenecks** (the narrow tensors get no ReLU).
#
# | result | number | source |
# | --- | --- | --- |
# | ImageNet, MobileNetV2 (width 1.0, 224×224) | 72.0% top-1, 3.4M parameters, 300M multiply-adds | Table 4 |
# | ImageNet, MobileNetV1 | 70.6% top-1, 4.2M parameters, 575M multiply-adds (569M in the v1 paper's Table 8) | Table 4 |
# | largest tensor to keep at inference (16-bit), MobileNetV2 against V1 | 400K against 1600K | Table 3 |
# | our `mobilenet_v2` (torchvision's) | 3,504,872 parameters (3.50M; the paper states 3.4M) | measured below, section 7 |
# | phone latency, MobileNetV2 against V1 (Pixel 1, one large core, TF-Lite) | 75 ms against 113 ms: 0.66× the time for 0.52× the multiply-adds | Table 4 |
# | Fashion-MNIST, a "MobileNet" submission (version not stated) | 95.0% test accuracy | dataset README's benchmark table |
#
# ## 2 · The idea: narrow → wide → narrow, shortcut between the narrow ends
#
# A ResNet bottleneck block (chapter 01, ResNet-50) is **wide → narrow → wide**: a 1×1 convolution reduces
# 256 channels to 64, the 3×3 works on 64, a 1×1 restores 256, and the shortcut adds the two **wide** ends.
# MobileNet v2's block is the other way round (Section 3.3, Table 1, Fig. 3):
#
# 1. **expansion**: a 1×1 convolution from d′ to t·d′ channels, BN, ReLU6 (t = 6 in every block but the
#    first, Table 2);
# 2. **depthwise**: a 3×3 depthwise convolution on the t·d′ channels, stride s, BN, ReLU6;
# 3. **projection**: a 1×1 convolution back to d″ channels and BN, **with no activation** — the linear
#    bottleneck;
# 4. the **shortcut** adds the block's input to its output — the two **narrow** ends — and only when s = 1 and
#    d′ = d″ (Fig. 4 draws the stride-2 block without one).
#
# Section 4's example: a block taking 64 channels to 128 expands to 64·6 = 384 channels inside. The same
# arithmetic with a ResNet-50 bottleneck beside it, in shapes:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
resnet_block = Bottleneck(256, 64).eval()
inverted = InvertedResidual(24, 24, stride=1, expand_ratio=6).eval()
with torch.no_grad():
    x = torch.randn(1, 256, 56, 56)
    print("ResNet bottleneck (wide → narrow → wide), shortcut on the wide ends")
    print(f"  input                     {tuple(x.shape)}")
    h = resnet_block.relu(resnet_block.bn1(resnet_block.conv1(x)))
    print(f"  1×1 reduce, BN, ReLU      {tuple(h.shape)}")
    h = resnet_block.relu(resnet_block.bn2(resnet_block.conv2(h)))
    print(f"  3×3, BN, ReLU             {tuple(h.shape)}")
    h = resnet_block.bn3(resnet_block.conv3(h))
    print(f"  1×1 expand, BN            {tuple(h.shape)}")
    print(f"  + input, ReLU             {tuple(resnet_block(x).shape)}   (ReLU after the addition)")
    x = torch.randn(1, 24, 56, 56)
    expand, depthwise, project, project_bn = inverted.conv
    print("\nInverted residual (narrow → wide → narrow), shortcut on the narrow ends")
    print(f"  input                     {tuple(x.shape)}")
    h = expand(x)
    print(f"  1×1 expand ×6, BN, ReLU6  {tuple(h.shape)}")
    h = depthwise(h)
    print(f"  3×3 depthwise, BN, ReLU6  {tuple(h.shape)}   groups = {depthwise[0].groups}")
    h = project_bn(project(h))
    print(f"  1×1 project, BN           {tuple(h.shape)}   no activation: the linear bottleneck")
    print(f"  + input                   {tuple(inverted(x).shape)}   equals x + conv(x): "
          f"{torch.allclose(inverted(x), x + inverted.conv(x))}")

# %% [markdown]
# The channel widths along the two blocks, drawn to scale (a bar's height is its number of channels); the arc
# is the shortcut, and the hatched bar is the tensor without an activation:

# %%
def draw_blocks() -> Figure:
    """ResNet-50's bottleneck against MobileNet v2's inverted residual: channels along each block, to scale."""
    figure = Figure(figsize=(10, 3.4), layout="constrained")
    for axes, (title, widths, labels, linear_at) in zip(figure.subplots(1, 2), [
            ("ResNet bottleneck: shortcut joins the wide ends", [256, 64, 64, 256],
             ["input", "1×1", "3×3", "1×1"], None),
            ("inverted residual: shortcut joins the narrow ends", [24, 144, 144, 24],
             ["input", "1×1 expand", "3×3 dw", "1×1 project"], 3)]):
        for position, (width, label) in enumerate(zip(widths, labels)):
            axes.bar(position, width, width=0.5, color=viz.COLORS[0 if width == min(widths) else 1],
                     hatch="//" if position == linear_at else None, edgecolor="#333333")
            axes.text(position, width + 6, f"{width}", ha="center", fontsize=9)
        top = max(widths) + 40
        # the shortcut, drawn below the bars so that it visibly joins the two end bars and nothing else
        axes.annotate("", xy=(3, -0.06 * top), xytext=(0, -0.06 * top), annotation_clip=False,
                      arrowprops=dict(arrowstyle="->", color="#333333", connectionstyle="arc3,rad=0.25"))
        axes.text(1.5, -0.3 * top, "shortcut (+)", ha="center", fontsize=9)
        axes.set(xticks=range(4), ylim=(-0.36 * top, top), ylabel="channels", title=title)
        axes.set_yticks([tick for tick in axes.get_yticks() if 0 <= tick <= top])
        axes.xaxis.set_ticks_position("top")
        axes.set_xticklabels(labels, fontsize=9)
    return figure


draw_blocks()

# %% [markdown]
# Why invert it? Section 3.3 gives its reasons. The shortcut should join the tensors that carry the
# information, and by the paper's argument those are the bottlenecks (an expansion layer "acts merely as an
# implementation detail that accompanies a non-linear transformation of the tensor"); joining the narrow
# ends is more memory-efficient (section 6 below measures this); and the paper adds that it "works slightly
# better in our experiments". The paper also tried it the other way: in its
# ablation, shortcuts between the bottlenecks trained better than shortcuts between the expanded layers
# (Section 6.4, Fig. 6b). The depthwise convolution, the only part that looks at neighbouring pixels, is cheap
# enough (chapter 05) to run on the expanded width.
#
# ## 3 · Build it, step by step
#
# ### When is there a shortcut?
#
# `InvertedResidual(in, out, stride, expand_ratio)` adds its input only when the addition is defined without
# a projection: stride 1 (same height and width) and in = out (same channels). A stride-2 block, or one that
# changes the width, is a plain narrow → wide → narrow chain; MobileNet v2 never adds a 1×1 convolution on the
# shortcut the way ResNet's option B does.

# %%
# NBVAL_CHECK_OUTPUT
for c_in, c_out, stride, t in [(24, 24, 1, 6), (24, 32, 1, 6), (24, 24, 2, 6), (32, 16, 1, 1)]:
    block = InvertedResidual(c_in, c_out, stride, t).eval()
    y = block(torch.randn(1, c_in, 28, 28))
    print(f"in {c_in:>2}, out {c_out:>2}, stride {stride}, t = {t}: output {tuple(y.shape)!s:<16} "
          f"inside {block.hidden_channels:>3} channels, {len(block.conv)} modules, "
          f"shortcut: {'yes' if block.use_res_connect else 'no'}")

# %% [markdown]
# The last row is the network's first block (Table 2: t = 1, 32 → 16): with t = 1 there is nothing to expand,
# so the 1×1 expansion is left out (three modules instead of four), as in torchvision.
#
# ### The whole network
#
# Table 2, one row per stage: t (expansion), c (output channels), n (blocks), s (stride of the first block).
# For Fashion-MNIST's 28×28 images the course's `mobilenet_v2_cifar` sets the stem's stride and the
# second stage's stride to 1 (total stride 8 instead of 32, as chapter 05's `mobilenet_v1_cifar` does):

# %%
# NBVAL_CHECK_OUTPUT
print(" t    c  n  s   (Table 2)")
for stage in MOBILENET_V2_TABLE2:
    print(f"{stage.expand_ratio:>2} {stage.out_channels:>4} {stage.num_blocks:>2} {stage.stride:>2}")
model = create_model("mobilenet_v2_cifar", in_channels=1, num_classes=10).eval()
x = torch.zeros(1, 1, 28, 28)
print()
with torch.no_grad():
    for name, module in model.features.named_children():
        x = module(x)
        if isinstance(module, InvertedResidual):
            kind = (f"block {module.in_channels:>3} → {module.hidden_channels:>3} → {module.out_channels:>3}, "
                    f"stride {module.stride}, shortcut {'yes' if module.use_res_connect else 'no'}")
        else:
            kind = "3×3 conv, BN, ReLU6" if name == "0" else "1×1 conv, BN, ReLU6"
        print(f"features.{name:<3} {tuple(x.shape)!s:<17} {kind}")
shortcuts = sum(m.use_res_connect for m in model.modules() if isinstance(m, InvertedResidual))
print(f"17 blocks, {shortcuts} with a shortcut; head: pool + fc on {model.num_features} features")

# %% [markdown]
# Of the 17 blocks, 10 have a shortcut: in each stage every block after the first (the first changes the
# width, the stride, or both). In the stage "6, 96, 3, 1" the first block has stride 1 but still no shortcut,
# because it goes from 64 to 96 channels. (The paper's text, Section 4, says "19 residual bottleneck layers";
# Table 2's n column adds up to 17, and torchvision builds 17.)
#
# ## 4 · Count it: where the multiply-adds are
#
# With d′ input and d″ output channels, expansion t, a k×k depthwise kernel, stride 1 on an h×w map, the block
# costs (Section 3.3, "Running time and parameter count for bottleneck convolution")
#
# $$h\cdot w\cdot d'\cdot t\,(d' + k^2 + d'') \text{ multiply-adds} = \underbrace{h w\, d'\cdot t d'}_{1\times1\text{ expansion}}
#   + \underbrace{h w\, k^2\cdot t d'}_{\text{depthwise}} + \underbrace{h w\, t d'\cdot d''}_{1\times1\text{ projection}}$$
#
# and d′·td′ + k²·td′ + td′·d″ weights, plus 2 per channel for the three BatchNorms. With stride 2 the
# depthwise and the projection run at the output resolution. `cnncourse.formulas` has both; checked against
# PyTorch:

# %%
# NBVAL_CHECK_OUTPUT
print(f"{'block':<32} {'params: formula':>15} {'measured':>9}  {'MACs: formula':>13} {'measured':>11}")
for c_in, c_out, stride, t, size in [(24, 24, 1, 6, 56), (64, 96, 1, 6, 14), (32, 64, 2, 6, 28), (32, 16, 1, 1, 112)]:
    block = InvertedResidual(c_in, c_out, stride, t)
    params, macs = inverted_residual_params(c_in, c_out, t), inverted_residual_macs(c_in, c_out, t, size, size, stride)
    got = profile.count_parameters(block), profile.count_macs(block, (c_in, size, size))
    print(f"{f'{c_in}→{c_out}, t={t}, s={stride}, {size}×{size}':<32} {params:>15,} {got[0]:>9,}  {macs:>13,} "
          f"{got[1]:>11,}  {'agree' if (params, macs) == got else 'DIFFER'}")

# %% [markdown]
# ### "v2 reduces the pointwise cost"?
#
# A common study note says MobileNet v2 reduces the cost of the pointwise convolution. Count it. Per output
# position a block spends d′·t·(d′ + d″) multiply-adds in its two 1×1 convolutions and k²·t·d′ = 9·t·d′ in its
# depthwise one: the 1×1s cost (d′ + d″)/9 times the depthwise — 5.3× for 24 → 24, 36× for 160 → 160. Over the
# whole ImageNet network (Table 2 at 224×224), by kind of layer, formula against measured (a forward hook on
# every convolution):

# %%
# NBVAL_CHECK_OUTPUT
def macs_by_kind(network: nn.Module, input_size: tuple[int, int, int]) -> dict[str, int]:
    """Measured multiply-adds of every convolution and linear layer, grouped by their role in MobileNet v2/v1."""
    roles: dict[nn.Module, str] = {}
    for module in network.modules():
        if isinstance(module, InvertedResidual):
            convs = [m for m in module.conv.modules() if isinstance(m, nn.Conv2d)]
            if len(convs) == 3:
                roles[convs[0]] = "1×1 expansion"
            roles[convs[-2]], roles[convs[-1]] = "3×3 depthwise", "1×1 projection"
    totals: dict[str, int] = {}

    def hook(module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            role = roles.get(module) or ("3×3 depthwise" if module.groups > 1 else
                                         "1×1 pointwise" if module.kernel_size == (1, 1) else "stem 3×3")
        else:
            per_output, role = module.in_features, "classifier"
        totals[role] = totals.get(role, 0) + output.numel() * per_output

    handles = [m.register_forward_hook(hook) for m in network.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad():
            network.eval()(torch.zeros(1, *input_size))
    finally:
        for handle in handles:
            handle.remove()
    return totals


def v2_formula_by_kind(image_size: int = 224) -> dict[str, int]:
    """The same split from Table 2 and the formula above, block by block."""
    size, channels = image_size // 2, 32  # after the stem (3×3, 32, stride 2)
    totals = {"stem 3×3": size * size * 27 * 32, "1×1 expansion": 0, "3×3 depthwise": 0, "1×1 projection": 0}
    for stage in MOBILENET_V2_TABLE2:
        for index in range(stage.num_blocks):
            stride = stage.stride if index == 0 else 1
            hidden, out_size = channels * stage.expand_ratio, size // stride
            if stage.expand_ratio != 1:
                totals["1×1 expansion"] += size * size * channels * hidden
            totals["3×3 depthwise"] += out_size * out_size * 9 * hidden
            totals["1×1 projection"] += out_size * out_size * hidden * stage.out_channels
            size, channels = out_size, stage.out_channels
    totals["1×1 pointwise"] = size * size * channels * 1280  # the last 1×1 convolution
    totals["classifier"] = 1280 * 1000
    return totals


v2_imagenet = create_model("mobilenet_v2").eval()
measured_v2 = macs_by_kind(v2_imagenet, (3, 224, 224))
formula_v2 = v2_formula_by_kind()
total_v2 = sum(measured_v2.values())
print(f"{'MobileNet v2, 224×224':<22} {'formula':>12} {'measured':>12} {'share':>7}")
for role in formula_v2:
    print(f"{role:<22} {formula_v2[role]:>12,} {measured_v2[role]:>12,} {measured_v2[role] / total_v2:>7.1%}")
print(f"{'total':<22} {sum(formula_v2.values()):>12,} {total_v2:>12,}   count_macs: "
      f"{profile.count_macs(v2_imagenet, (3, 224, 224)):,}")
one_by_one = measured_v2["1×1 expansion"] + measured_v2["1×1 projection"] + measured_v2["1×1 pointwise"]
measured_v1 = macs_by_kind(create_model("mobilenet_v1"), (3, 224, 224))
print(f"\n1×1 convolutions: MobileNet v2 {one_by_one / total_v2:.1%} of its multiply-adds "
      f"({profile.format_count(one_by_one)}), MobileNet v1 {measured_v1['1×1 pointwise'] / sum(measured_v1.values()):.1%} "
      f"({profile.format_count(measured_v1['1×1 pointwise'])} of {profile.format_count(sum(measured_v1.values()))})")

# %% [markdown]
# Formula and measurement agree to the last multiply-add, and the total rounds to Table 4's 300M. The 1×1
# convolutions still do almost all of the arithmetic: 89.1% of it, against 94.9% in MobileNet v1 (the v1
# paper's Table 2: 94.86%) — a little less (the depthwise convolutions now run on the wide tensors), but no
# change in kind. What shrank is the *total*, because the tensors between the blocks are narrow (16 to 320
# channels between v2's blocks against 64 to 1,024 after v1's separable layers).
#
# The same comparison for one block against a v1 layer with the **same ends**, 24 → 24 channels at 56×56:
# v2's expansion makes its pointwise work t·(d′ + d″)/d″ = 12 times v1's.

# %%
# NBVAL_CHECK_OUTPUT
v1_layer = depthwise_separable_macs(24, 24, 56, 56)
v2_block = inverted_residual_macs(24, 24, 6, 56, 56)
v2_depthwise = 56 * 56 * 9 * 144
print(f"v1 layer (3×3 dw on 24, 1×1 24→24):    {v1_layer:>10,} MACs, of which 1×1: {56 * 56 * 24 * 24:>10,}")
print(f"v2 block (24→144→144→24):             {v2_block:>10,} MACs, of which 1×1: {v2_block - v2_depthwise:>10,}")
print(f"v2 / v1: ×{v2_block / v1_layer:.1f} in total, ×{(v2_block - v2_depthwise) / (56 * 56 * 24 * 24):.0f} "
      f"in the 1×1 convolutions")

# %% [markdown]
# So: the block does **not** make the pointwise convolution cheaper — at equal ends it does much more of it.
# It makes the tensors that travel between blocks narrow, and pays for the width it needs inside with
# convolutions whose cost is linear in that width (the expansion and the projection are linear in t·d′, the
# depthwise too), instead of a full 3×3 convolution's quadratic one.
#
# ### And in time?
#
# Chapter 05 measured that a depthwise convolution takes more of the time than of the multiply-adds. The
# three parts of one 24 → 144 → 24 block at 56×56, one image, timed on this CPU with one thread (median of
# repeats, the parts taking turns so that a disturbance hits all three):

# %%
from cnncourse.profile import one_thread  # one intra-op thread for the timed block, then restored


def median_ms(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Median wall time of each function in milliseconds; the functions take turns in every round."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for function in functions.values():
        function()  # warm-up
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append((time.perf_counter() - start) * 1000)
    return {name: statistics.median(values) for name, values in times.items()}


torch.manual_seed(0)
timed_block = InvertedResidual(24, 24, 1, 6).eval()
expand_unit, depthwise_unit, projection, projection_bn = timed_block.conv
block_input = torch.randn(1, 24, 56, 56)
with torch.inference_mode():
    expanded = expand_unit(block_input)
    filtered = depthwise_unit(expanded)
    parts = {"1×1 expansion": lambda: expand_unit(block_input), "3×3 depthwise": lambda: depthwise_unit(expanded),
             "1×1 projection": lambda: projection_bn(projection(filtered))}
    with one_thread():
        part_ms = median_ms(parts, 5 if fast_mode() else 41)
part_macs = {"1×1 expansion": 56 * 56 * 24 * 144, "3×3 depthwise": 56 * 56 * 9 * 144,
             "1×1 projection": 56 * 56 * 144 * 24}

# %%
print(f"{'part (with its BN, ReLU6)':<26} {'MACs':>10} {'MAC share':>9}  {'time share':>10}")
for name in parts:
    print(f"{name:<26} {part_macs[name]:>10,} {part_macs[name] / sum(part_macs.values()):>9.0%}  "
          f"{part_ms[name] / sum(part_ms.values()):>10.0%}")
depthwise_time_share = part_ms["3×3 depthwise"] / sum(part_ms.values())
depthwise_mac_share = part_macs["3×3 depthwise"] / sum(part_macs.values())
print(f"the depthwise part: {depthwise_time_share / depthwise_mac_share:.1f}× more of the time than of the "
      f"multiply-adds")

# %% [markdown]
# (The times themselves, in milliseconds, vary from run to run on a shared machine and are not printed; the
# stored output shows the shares, and a rerun gives somewhat different ones.) The depthwise convolution does
# 16% of the block's multiply-adds but takes a much larger share of its time (41% in the stored run, 2.6×
# its share of the multiply-adds): it reads and writes the wide 144-channel tensor and does only nine
# multiply-adds per value, so it is limited by memory traffic, not by arithmetic — chapter 05's lesson, now
# on the expanded tensor. The 1×1 convolutions are dense matrix products, which a CPU runs far more
# efficiently per multiply-add (42% of the multiply-adds each, 29% and 30% of the time in the stored
# run).
#
# ## 5 · The linear bottleneck, shown
#
# ### The paper's Fig. 1, re-run
#
# Section 3.2 argues that a ReLU keeps all the information of its input only when the input lies in a
# low-dimensional subspace of a much wider space: in a narrow space it zeroes whole directions. Fig. 1
# shows it with a 2-D spiral: embed it into n dimensions with a random n×2 matrix T, apply ReLU, and project
# back to 2-D with T's pseudo-inverse T⁺ (the paper writes T⁻¹). For n = 2 and 3 parts of the spiral collapse onto each other; for
# n = 15 or 30 the spiral comes back (distorted, but whole). Here it is, live (T drawn from a normal
# distribution, seed 0):

# %%
def spiral(points: int = 1_000, turns: float = 2.0) -> Tensor:
    """A 2-D spiral around the origin, (points, 2): radius grows with the angle."""
    angle = torch.linspace(0.2, turns * 2 * torch.pi, points)
    radius = angle / angle.max()
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], dim=1)


def relu_round_trip(points: Tensor, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Embed 2-D points into n dimensions with a random T, ReLU, project back with T's pseudo-inverse.

    Returns the reconstruction (points, 2) and the ReLU output (points, n).
    """
    embedding = torch.randn(n, 2, generator=generator)
    activated = torch.relu(points @ embedding.T)
    return activated @ torch.linalg.pinv(embedding).T, activated


def recoverable(activated: Tensor) -> Tensor:
    """Per point: does ReLU(Tx) still determine x? Yes when at least 2 outputs are positive.

    Two positive outputs are two linear equations in x (two rows of a random T are independent), so x
    follows from them; with fewer, a whole line or region of inputs gives the same ReLU output.
    """
    return (activated > 0).sum(dim=1) >= 2


DIMENSIONS = [2, 3, 5, 15, 30]
points = spiral()
generator = torch.Generator().manual_seed(0)
round_trips = {n: relu_round_trip(points, n, generator) for n in DIMENSIONS}

figure = Figure(figsize=(12, 2.6), layout="constrained")
axes_row = figure.subplots(1, len(DIMENSIONS) + 1)
colour = torch.linspace(0, 1, len(points)).numpy()
axes_row[0].scatter(points[:, 0], points[:, 1], c=colour, s=2, cmap="viridis")
axes_row[0].set_title("input spiral")
for axes, n in zip(axes_row[1:], DIMENSIONS):
    back, activated = round_trips[n]
    axes.scatter(back[:, 0], back[:, 1], c=colour, s=2, cmap="viridis")
    axes.set_title(f"n = {n}: {recoverable(activated).float().mean():.0%} recoverable", fontsize="medium")
for axes in axes_row:
    axes.set(xticks=[], yticks=[], aspect="equal")
figure.suptitle("T⁺ · ReLU(T · x): a spiral through ReLU in n dimensions (colour: position along the spiral)")
figure

# %% [markdown]
# The colour follows the spiral from its centre outwards, so a collapse shows as colours piled onto one line
# or point. One draw of T is one example (the two rows of this n = 2 matrix happen to point almost the same
# way, and almost nothing survives), so put a number on it over many draws: from how many points is x still
# recoverable from ReLU(Tx)? That needs at least two positive outputs (two equations for two unknowns).
# Averaged over 20 random matrices T per n:

# %%
# NBVAL_CHECK_OUTPUT
generator = torch.Generator().manual_seed(0)
print(f"{'n':>3} {'recoverable':>12} {'ReLU outputs zeroed':>20}   (mean over 20 random T, {len(points):,} points)")
recoverable_share = {}
for n in DIMENSIONS:
    shares, zeros = [], []
    for _ in range(20):
        _, activated = relu_round_trip(points, n, generator)
        shares.append(recoverable(activated).float().mean().item())
        zeros.append((activated == 0).float().mean().item())
    recoverable_share[n] = statistics.mean(shares)
    print(f"{n:>3} {recoverable_share[n]:>12.1%} {statistics.mean(zeros):>20.0%}")
identity_check = torch.randn(2, 2, generator=generator)
print(f"without the ReLU, T⁺·T·x = x for every point (n = 2): "
      f"{torch.allclose(points @ identity_check.T @ torch.linalg.pinv(identity_check).T, points, atol=1e-4)}")

# %% [markdown]
# In every dimension the ReLU zeroes about half of the values — that does not change with n. What changes
# is what is left: in two dimensions only a fifth of the spiral's points (19.9%) keep two positive outputs
# (for the rest ReLU(Tx) no longer determines x: a whole segment of the plane gives the same output, and the
# points with no positive output all land on the origin — "certain points of the manifold collapse into each
# other", Fig. 1), in three about half
# (50.3%), in five 83.5%; with n = 15 and 30 every point does (100.0%), so nothing is lost, although each
# point lost half its coordinates. That is the paper's condition for a ReLU to preserve information: the
# input must lie in a low-dimensional subspace of the space the ReLU acts in (Section 3.2).
#
# Translated to the block: the **expanded** tensor (t·d′ channels) is the wide space, so the ReLU6 after the
# expansion and after the depthwise convolution can afford to zero half of it. The **narrow** tensor (d′
# channels) is like n = 2 or 3; a ReLU there would throw information away, so the projection stays linear and
# the narrow tensors — the ones the shortcuts add — carry everything.
#
# ### The same question in a trained network
#
# Section 6.4 (Fig. 6a) compares MobileNet v2 trained with and without a ReLU6 in the bottleneck and reports
# that the linear bottleneck is more accurate; Section 3.2 puts the loss from a non-linear bottleneck at
# "several percent" (and notes, in a footnote, that shortcuts make the information loss less strong). The course's model builder has an option for the
# ablation (`projection_activation`, default `None`, the paper's block). One short run per variant is far
# from an ImageNet experiment, so the cell trains each variant with **two seeds**, with the same recipe
# (`fit`'s defaults: SGD, one-cycle, crop and flip), on the same subset, and measures on the same test images.
# The network is small so that this fits in a couple of minutes: Table 2's first four stages at width 0.5
# (bottlenecks of 8 to 32 channels), stem stride 1, for 28×28 images.

# %%
ABLATION_TABLE = (BottleneckStage(1, 16, 1, 1), BottleneckStage(6, 24, 2, 2), BottleneckStage(6, 32, 3, 2),
                  BottleneckStage(6, 64, 2, 2))
ABLATION_TRAIN, ABLATION_TEST, ABLATION_EPOCHS, ABLATION_SEEDS = (
    (256, 256, 1, (0, 1)) if fast_mode() else (3_072, 1_000, 2, (0, 1)))


def ablation_network(relu_after_projection: bool) -> MobileNetV2:
    return MobileNetV2(table=ABLATION_TABLE, num_classes=10, in_channels=1, width_mult=0.5, stem_stride=1,
                       projection_activation=nn.ReLU6 if relu_after_projection else None)


def zeroed_bottleneck_share(network: MobileNetV2, images: Tensor) -> float:
    """Fraction of the values of all the blocks' narrow outputs (before any shortcut) that are exactly 0."""
    zero, total = [0], [0]

    def hook(_module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        zero[0] += int((output == 0).sum())
        total[0] += output.numel()

    handles = [block.conv.register_forward_hook(hook) for block in network.modules()
               if isinstance(block, InvertedResidual)]
    try:
        with torch.inference_mode():
            network.eval()(images)
    finally:
        for handle in handles:
            handle.remove()
    return zero[0] / total[0]


ablation_train, ablation_test = train_set.take(ABLATION_TRAIN), test_set.take(ABLATION_TEST)
probe_images, _ = next(iter(data.Batches(test_set, 256, subset=256)))  # normalised float images
ablation, ablation_runs = {}, {}
start = time.perf_counter()
for relu_after in (False, True):
    for seed in ABLATION_SEEDS:
        seed_everything(seed)
        network = ablation_network(relu_after)
        history = fit(network, ablation_train, epochs=ABLATION_EPOCHS, batch_size=64, val_data=ablation_test,
                      seed=seed, progress=False)
        ablation[relu_after, seed] = (history.val_accuracy[-1], zeroed_bottleneck_share(network, probe_images))
        ablation_runs[relu_after, seed] = (network, history)
ablation_seconds = time.perf_counter() - start
print(f"{profile.count_parameters(ablation_network(False)):,} parameters either way; "
      f"{len(ablation)} runs took {ablation_seconds:.0f} s")

# %%
print(f"{'after the projection':<22} {'seed':>4} {'test accuracy':>13} {'narrow outputs that are 0':>26}")
for (relu_after, seed), (accuracy, zeroed) in ablation.items():
    print(f"{'ReLU6 (not v2)' if relu_after else 'nothing (linear, v2)':<22} {seed:>4} {accuracy:>13.2%} "
          f"{zeroed:>26.0%}")
mean = {relu_after: statistics.mean(ablation[relu_after, seed][0] for seed in ABLATION_SEEDS)
        for relu_after in (False, True)}
spread = {relu_after: max(ablation[relu_after, seed][0] for seed in ABLATION_SEEDS) -
          min(ablation[relu_after, seed][0] for seed in ABLATION_SEEDS) for relu_after in (False, True)}
print(f"mean: linear {mean[False]:.2%}, ReLU6 {mean[True]:.2%}, difference {100 * (mean[False] - mean[True]):+.2f} "
      f"points ({round((mean[False] - mean[True]) * ABLATION_TEST)} of {ABLATION_TEST:,} test images); "
      f"seed-to-seed spread: {100 * spread[False]:.2f} and {100 * spread[True]:.2f} points")

# %% [markdown]
# Read the stored output with care. The two linear runs reached 65.90% and 72.70%, the two runs with a
# ReLU6 after the projection 66.10% and 35.30%. The means differ by 18.60 points, but the whole difference
# comes from one ReLU6 run (seed 1) that trained badly, while the other matched the linear runs; the spread
# between two seeds of the *same* variant (6.80 points linear, 30.80 points ReLU6) is as large as the effect.
#
# * **What it shows.** Measured without doubt, and the same in every run: with the ReLU6 after the
#   projection, 55–56% of the values of the blocks' narrow outputs on test images are exactly zero; the
#   linear bottleneck zeroes none. That is the situation of section 5's spiral at small n: the ReLU6 now
#   acts on the narrow tensor (8 to 32 channels here) and zeroes more than half of its values. The zero share
#   alone does not measure lost information (at n = 15 the spiral also lost half its coordinates and nothing
#   else); and in the 4 of the 8 blocks that have a shortcut the next block reads x + ReLU6(…), which the
#   paper notes softens the loss (Section 3.2, footnote 3).
# * **What it cannot show.** Which variant ends more accurate. Two seeds of 96 steps on 3,072 images
#   measure how a network starts to learn, not where a full training ends; one collapsed run is consistent
#   with the paper's finding but not evidence for it. The paper's evidence is its own training runs in
#   Fig. 6a (top-1 accuracy over training steps; the text does not name the data set), in which the linear
#   bottleneck is more accurate (Section 6.4). To test it here, train both
#   variants for several epochs and seeds on all 60,000 images (`projection_activation=nn.ReLU6` in
#   `mobilenet_v2_cifar`) — hours on this CPU.
#
# ## 6 · Memory: only the narrow tensors have to be kept
#
# Section 5.1 ("Memory efficient inference") counts the memory an inference needs as the largest total size of
# the tensors that must exist at the same time. In a chain of ordinary layers that is set by the widest
# tensors. The inverted residual changes the count: only its input and output (the bottlenecks) must exist
# between blocks, and the wide inner tensor never has to exist in full. Because each inner channel is
# computed independently of the others (the expansion's output channel i uses only row i of its weights; BN,
# the ReLU6s and the depthwise convolution are per channel) and the projection is a sum over inner channels,
# the block can be computed in pieces of the inner channels, accumulating the projection, and only one piece
# is alive at a time. (The paper calls the number of pieces t as well, but it is free: n pieces keep a single
# inner channel alive; since many small matrix products run slower, the paper found 2 to 5 pieces the best
# trade-off, Section 5.1. This notebook uses as many pieces as the expansion factor, d′ inner channels each.) Table 3 lists the largest tensor each network must keep,
# in 16-bit floats: **1600K for MobileNetV1 and 400K for MobileNetV2**.
#
# First the count from our networks' shapes: the largest tensor that has to exist *between* two layers or
# blocks, and the largest one inside a block, per image at 224×224 in 16-bit values as in Table 3:

# %%
# NBVAL_CHECK_OUTPUT
def boundary_and_inner_sizes(network: nn.Module) -> tuple[int, int]:
    """Largest tensor (elements) between the network's feature layers/blocks, and inside any of them."""
    between, inside = [0], [0]

    def between_hook(_module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        between[0] = max(between[0], output.numel())

    def inner_hook(_module: nn.Module, _inputs: tuple[Tensor, ...], output: Tensor) -> None:
        inside[0] = max(inside[0], output.numel())

    handles = [m.register_forward_hook(between_hook) for m in network.features.children()]
    handles += [m.register_forward_hook(inner_hook) for block in network.features.children()
                for m in block.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    try:
        with torch.inference_mode():
            network.eval()(torch.zeros(1, 3, 224, 224))
    finally:
        for handle in handles:
            handle.remove()
    return between[0], inside[0]


v1_imagenet = create_model("mobilenet_v1").eval()
sizes = {"MobileNet v1": boundary_and_inner_sizes(v1_imagenet), "MobileNet v2": boundary_and_inner_sizes(v2_imagenet)}
for label, (between, inside) in sizes.items():
    print(f"{label}: largest tensor between layers/blocks {between:>9,} values = {2 * between / 1000:>6.0f} KB in 16 bits; "
          f"inside a layer/block {inside:>9,} = {2 * inside / 1000:>6.0f} KB")
print(f"v2's first block's output (112×112×16): {2 * 112 * 112 * 16 / 1000:.0f} KB")

# %% [markdown]
# MobileNet v1's largest tensor is 112×112×64, the 1606 KB that Table 3 rounds to 1600K. In MobileNet v2 the
# largest tensor between blocks is the stem's output, 112×112×32 (803 KB); Table 3's 400K is the next
# bottleneck, 112×112×16 (401 KB) — the paper's note to the table says the first layer can use the same piecewise trick.
# Inside v2's blocks the expanded tensors are larger than anything in v1 (112×112×96 in the second block), which is
# exactly why the pieces matter.
#
# Now measured. On Linux the next cells read the C allocator's bytes in use (where PyTorch keeps CPU tensors)
# after every tensor operation of one inference and keep the maximum, as chapter 04 does for a training step;
# one 224×224 image, the peak above the level before the pass. Three ways to run the networks: MobileNet v1
# as PyTorch runs it, MobileNet v2 as PyTorch runs it (every wide tensor materialised), and MobileNet v2 with
# every block computed in t pieces (`blockwise_in_pieces` below; its output is checked against the plain one).

# %%
def inference_peak_mib(run: Callable[[Tensor], Tensor], image: Tensor) -> float | None:
    """Peak allocator bytes in use above the level before ``run(image)``, in MiB (None where not measurable).

    ``profile.heap_peak_bytes`` reads glibc's bytes in use after every tensor operation (chapter 04's sampler).
    """
    with torch.inference_mode():
        run(image)  # warm-up: one-time allocations are not the network's
        peak = profile.heap_peak_bytes(lambda: run(image))
    return None if peak is None else peak / 2**20


def _unit(unit: nn.Sequential, x: Tensor, channels: slice, depthwise: bool) -> Tensor:
    """One conv-BN-ReLU6 unit of the block (eval mode) restricted to the inner channels ``channels``."""
    conv, norm, activation = unit
    weight = conv.weight[channels]
    y = F.conv2d(x, weight, None, conv.stride, conv.padding, groups=weight.shape[0] if depthwise else 1)
    y = F.batch_norm(y, norm.running_mean[channels], norm.running_var[channels], norm.weight[channels],
                     norm.bias[channels], False, 0.0, norm.eps)
    return activation(y)


def blockwise_in_pieces(block: InvertedResidual, x: Tensor, pieces: int) -> Tensor:
    """An inverted residual (eval mode) computed in ``pieces`` slices of its inner channels (Section 5.1).

    Each slice goes through expansion, depthwise and its share of the projection; only one slice of the wide
    tensor is alive at a time, and the narrow output is accumulated.
    """
    *units, projection, projection_norm = block.conv
    hidden = block.hidden_channels
    bounds = [round(i * hidden / pieces) for i in range(pieces + 1)]
    out = None
    for low, high in zip(bounds, bounds[1:]):
        channels = slice(low, high)
        h = x if len(units) == 1 else _unit(units[0], x, channels, depthwise=False)
        if len(units) == 1:  # t = 1: no expansion, the depthwise runs on the input's own channels
            h = h[:, channels]
        h = _unit(units[-1], h, channels, depthwise=True)
        part = F.conv2d(h, projection.weight[:, channels])
        out = part if out is None else out.add_(part)
        del h, part
    out = projection_norm(out)
    return x + out if block.use_res_connect else out


def v2_in_pieces(network: MobileNetV2, x: Tensor) -> Tensor:
    """MobileNet v2 with every block computed in t pieces (the first block, t = 1, in 2)."""
    for module in network.features:
        if isinstance(module, InvertedResidual):
            x = blockwise_in_pieces(module, x, max(2, round(module.hidden_channels / module.in_channels)))
        else:
            x = module(x)
    return network.forward_head(x)


torch.manual_seed(0)
image = torch.randn(1, 3, 224, 224)
with torch.inference_mode():
    same = torch.allclose(v2_in_pieces(v2_imagenet, image), v2_imagenet(image), atol=1e-4)
print("MobileNet v2 in pieces computes the same outputs as the plain network:", same)

# %%
with one_thread():
    peaks = {"MobileNet v1, as PyTorch runs it": inference_peak_mib(v1_imagenet, image),
             "MobileNet v2, as PyTorch runs it": inference_peak_mib(v2_imagenet, image),
             "MobileNet v2, blocks in t pieces": inference_peak_mib(lambda x: v2_in_pieces(v2_imagenet, x), image)}
weights_mib = {"v1": profile.count_parameters(v1_imagenet) * 4 / 2**20, "v2": profile.count_parameters(v2_imagenet) * 4 / 2**20}
if None in peaks.values():
    print("The allocator cannot be read on this system (not glibc): the measured peaks are skipped.")
else:
    for label, peak in peaks.items():
        print(f"{label:<34} peak activation memory {peak:5.1f} MiB (one 224×224 image, float32)")
    plain, pieces = peaks["MobileNet v2, as PyTorch runs it"], peaks["MobileNet v2, blocks in t pieces"]
    print(f"v2 in pieces: {pieces / plain:.0%} of v2 as PyTorch runs it, "
          f"{pieces / peaks['MobileNet v1, as PyTorch runs it']:.0%} of v1")
print(f"(weights, for scale: v1 {weights_mib['v1']:.1f} MiB, v2 {weights_mib['v2']:.1f} MiB)")

# %% [markdown]
# And the time of the same inference, plain against in pieces (one thread, median of interleaved repeats):

# %%
with torch.inference_mode(), one_thread():
    inference_ms = median_ms({"plain": lambda: v2_imagenet(image),
                              "pieces": lambda: v2_in_pieces(v2_imagenet, image)}, 3 if fast_mode() else 11)
print(f"MobileNet v2, one 224×224 image: {inference_ms['plain']:.0f} ms plain, {inference_ms['pieces']:.0f} ms "
      f"in pieces ({inference_ms['pieces'] / inference_ms['plain']:.2f}× the plain time)")

# %% [markdown]
# Read the stored output (one 224×224 image in float32 on this machine; the weights are not counted). As
# PyTorch runs them, MobileNet v2 needs *more* activation memory than v1, 10.0 against 9.2 MiB: PyTorch
# materialises every expanded tensor (1,204,224 values, 112×112×96, in the second block), and for a moment
# holds a convolution's output and its BatchNorm's output side by side. The saving of Section 5.1 belongs to
# an implementation that never builds the wide tensor in full: computed in t pieces, the same network, with
# the same outputs, peaks at 3.8 MiB — 38% of the plain run and 42% of v1's. What is left is set by the
# narrow tensors and by the stem's 112×112×32 output, which this simple version still materialises. The
# price is more, smaller convolutions run one after another: in the stored run the pieces took 2.05× the
# plain inference's time — the paper reports the same: the multiply-adds do not change with the number of
# pieces, the runtime does (cache misses, Section 5.1). PyTorch's eager mode, one layer at a time, does not do this by itself.
#
# ## 7 · Our MobileNet v2 is torchvision's
#
# `create_model("mobilenet_v2")` builds Table 2 with torchvision's parameter names. torchvision's state dict
# loads into ours with `strict=True` — which fails on a single missing, extra or differently shaped tensor —
# and the two networks compute the same function:

# %%
# NBVAL_CHECK_OUTPUT
import torchvision

torch.manual_seed(0)
ours = create_model("mobilenet_v2").eval()
theirs = torchvision.models.mobilenet_v2(weights=None).eval()  # randomly initialised: no download
print(f"parameters: ours {profile.count_parameters(ours):,}, torchvision {profile.count_parameters(theirs):,} "
      f"(3,504,872 in torchvision's documentation; the paper states 3.4M (Table 4, Section 4), which this "
      f"count does not reproduce: 3.50M, of which 1,281,000 in the classifier)")
ours.load_state_dict(theirs.state_dict(), strict=True)  # raises if a single name or shape differed
image_batch = torch.randn(2, 3, 96, 96)  # a small image keeps this quick; the weights do not depend on the size
with torch.no_grad():
    print("strict load: ok;  same outputs:", torch.allclose(ours(image_batch), theirs(image_batch), atol=1e-5))
print(f"multiply-adds at 224×224: {profile.count_macs(ours, (3, 224, 224)):,} (Table 4: 300M)")
del ours, theirs

# %% [markdown]
# torchvision's documentation lists this model as "GFLOPS 0.30": that figure is the multiply-add count; counted
# as FLOPs (a multiply and an add each) it would be about 0.60G.
#
# ## 8 · See it work
#
# ### What training costs here
#
# The chapter's network for Fashion-MNIST is `mobilenet_v2_cifar` (2.2M parameters). Its cost per training
# step on this machine, measured now, tells what a full training costs here (in fast mode it is not measured).

# %%
live_model = create_model("mobilenet_v2_cifar", in_channels=1, num_classes=10)
step_images, step_labels = torch.randn(128, 1, 28, 28), torch.randint(0, 10, (128,))
optimizer = torch.optim.SGD(live_model.parameters(), lr=0.01, momentum=0.9)
minutes_per_epoch = None
if fast_mode():
    print("(fast mode: the cost per training step is not measured)")
else:
    step_seconds = []
    for _ in range(3):  # the first step is a warm-up
        start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        F.cross_entropy(live_model.train()(step_images), step_labels).backward()
        optimizer.step()
        step_seconds.append(time.perf_counter() - start)
    seconds_per_step = min(step_seconds[1:])
    minutes_per_epoch = seconds_per_step * 469 / 60  # 60,000 images in batches of 128
    print(f"one training step, batch 128, float32, {torch.get_num_threads()} thread(s): {seconds_per_step:.2f} s "
          f"→ about {minutes_per_epoch:.0f} min per epoch of 60,000 images here")
del live_model, optimizer

# %% [markdown]
# ### The reference checkpoint
#
# The course's reference MobileNet v2 for this chapter is `mobilenet_v2_cifar_fashion_mnist_10ep`: all 60,000
# training images, the fast recipe (chapter 03's budget, 10 epochs). **It has not been trained yet**, so this
# chapter quotes no accuracy for it. `python -m cnncourse references --train-missing --only 06` trains it; at
# the cost per step measured above that is the printed minutes per epoch, times 10. When it is installed the
# next cells load it; without it they show the small linear-bottleneck network trained live in section 5
# (seed 0) and say so.

# %%
from cnncourse.pretrained import list_checkpoints, load_pretrained

CHECKPOINT = "mobilenet_v2_cifar_fashion_mnist_10ep"
installed = {info.name for info in list_checkpoints()}
if CHECKPOINT in installed:
    shown_model = load_pretrained(CHECKPOINT)
    metadata = shown_model.checkpoint_metadata
    shown_history = History.from_dict(metadata["history"])
    shown_label = "MobileNet v2 (reference)"
    flip_tta = bool(metadata["history"].get("config", {}).get("flip_tta", False))
    print(f"{CHECKPOINT}: {metadata['epochs']} epochs, {metadata['wall_time_s'] / 60:.0f} min on "
          f"{metadata['device']}; recorded test accuracy {metadata['test_accuracy']:.2%}\n"
          f"trained with: {metadata['command']}")
else:
    shown_model, shown_history = ablation_runs[False, 0]
    shown_label, flip_tta = "small v2, live (section 5, seed 0)", False
    print(f"The reference checkpoint {CHECKPOINT} is not trained yet: 'python -m cnncourse references "
          "--train-missing --only 06' trains it" + (f" (about {minutes_per_epoch:.0f} min per epoch here, 10 epochs)"
                                                    if minutes_per_epoch else "") + ". Below: section 5's live run "
          f"instead ({ABLATION_EPOCHS} epochs on {ABLATION_TRAIN:,} training images).")
    print("test loss per epoch:", ", ".join(f"{v:.2f}" for v in shown_history.val_loss),
          "; test accuracy per epoch:", ", ".join(f"{v:.1%}" for v in shown_history.val_accuracy))
shown_history.plot(label=shown_label)

# %%
EVAL_IMAGES = 256 if fast_mode() else 2_000
result = evaluate(shown_model, test_set, subset=EVAL_IMAGES, return_predictions=True, flip_tta=flip_tta)
print(f"{shown_label}: test accuracy {result['accuracy']:.2%} on the first {result['count']:,} test images")
viz.plot_confusion_matrix(result["labels"], result["predictions"], test_set.classes)

# %% [markdown]
# In the stored run the reference checkpoint is absent, so the plots show section 5's small linear network
# (96,810 parameters, 2 epochs on 3,072 training images): 67.35% on the first 2,000 test images, a network
# that has started to learn and no more. Its curves show how unsettled so short a run is: after the first
# epoch, near the peak of the one-cycle learning rate, the test loss was 121.87 (test accuracy 10.9%, chance
# level), after the second 0.86 (65.9%): one epoch later the same network gives a usable answer.
# The step cost above was 4.66 s with one thread on the loaded 2-core
# machine, about 36 minutes per epoch — about 6 hours for the 10-epoch reference on one thread, which is why it is
# not trained yet (the course measured 6.3–6.6 minutes per epoch on two threads of a Xeon with
# bfloat16). No accuracy of `mobilenet_v2_cifar` is quoted until it is trained.
#
# ## 9 · Try it: expansion t and width
#
# Move the sliders to build `mobilenet_v2_cifar` with another expansion t (every block but the first, as in
# Table 2) and width multiplier, and see its parameters and multiply-adds (formula, checked against the
# model), the time of one 28×28 image on this CPU (one thread, median of a few runs), and the peak activation
# memory of that inference, run as PyTorch runs it and in t pieces. Try t = 1 against t = 6 (the parameters
# and multiply-adds grow about linearly in t, the memory of the plain run too, the memory in pieces much less)
# and the width (roughly quadratic in the multiply-adds; the last 1×1 layer keeps 1,280 channels below width 1).

# %%
import ipywidgets as widgets


def v2_cifar_table(expand_ratio: int) -> list[BottleneckStage]:
    table = [replace(stage, expand_ratio=expand_ratio if index else 1) for index, stage in enumerate(MOBILENET_V2_TABLE2)]
    table[1] = replace(table[1], stride=1)  # as mobilenet_v2_cifar
    return table


def v2_cifar_formula(expand_ratio: int, width_mult: float) -> tuple[int, int]:
    """Parameters and multiply-adds of the widget's network, block by block from the formulas."""
    from cnncourse.layers.misc import make_divisible

    channels, size = make_divisible(32 * width_mult, 8), 28
    params, macs = 9 * channels + 2 * channels, 28 * 28 * 9 * channels
    for stage in v2_cifar_table(expand_ratio):
        out = make_divisible(stage.out_channels * width_mult, 8)
        for index in range(stage.num_blocks):
            stride = stage.stride if index == 0 else 1
            params += inverted_residual_params(channels, out, stage.expand_ratio)
            macs += inverted_residual_macs(channels, out, stage.expand_ratio, size, size, stride)
            channels, size = out, (size - 1) // stride + 1
    last = make_divisible(1280 * max(1.0, width_mult), 8)
    params += channels * last + 2 * last + last * 10 + 10
    macs += size * size * channels * last + last * 10
    return params, macs


def show_v2(expand_ratio: int, width_mult: float) -> None:
    torch.manual_seed(0)
    network = MobileNetV2(table=v2_cifar_table(expand_ratio), num_classes=10, in_channels=1, width_mult=width_mult,
                          stem_stride=1).eval()
    params, macs = v2_cifar_formula(expand_ratio, width_mult)
    agree = (params, macs) == (profile.count_parameters(network), profile.count_macs(network, (1, 28, 28)))
    one_image = torch.randn(1, 1, 28, 28)
    with torch.inference_mode(), one_thread():
        latency = median_ms({"v2": lambda: network(one_image)}, 3 if fast_mode() else 25)["v2"]
        plain = inference_peak_mib(network, one_image)
        pieces = inference_peak_mib(lambda x: v2_in_pieces(network, x), one_image)
    memory = ("not measurable here" if plain is None else
              f"{plain * 1024:.0f} KiB as PyTorch runs it, {pieces * 1024:.0f} KiB in pieces")
    print(f"t = {expand_ratio}, width {width_mult}: {params:,} parameters, {profile.format_count(macs)} MACs per "
          f"image (formula == measured: {agree}); {latency:.1f} ms per image on this CPU (1 thread); "
          f"peak activation memory {memory}")


expansion_slider = widgets.IntSlider(value=6, min=1, max=10, description="expansion t", continuous_update=False)
width_slider = widgets.SelectionSlider(options=[0.35, 0.5, 0.75, 1.0, 1.4], value=1.0, description="width",
                                       continuous_update=False)
display(widgets.VBox([widgets.HBox([expansion_slider, width_slider]),
                      widgets.interactive_output(show_v2, {"expand_ratio": expansion_slider,
                                                           "width_mult": width_slider})]))

# %% [markdown]
# Without a live kernel the sliders do nothing; the same function, called directly for a few settings:

# %%
for setting in [(1, 1.0), (6, 1.0), (6, 0.5)]:
    show_v2(*setting)

# %% [markdown]
# ## 10 · Quiz — 確認クイズ
#
# Misconceptions about MobileNet v2, in the style of the E資格 exam. Choose `lang="ja"` for Japanese; your
# answers are saved, and `python -m cnncourse quiz --review` brings back the ones you missed.

# %%
from cnncourse import quiz

quiz.show("mobilenet_v2", lang="en", n=5, seed=0)

# %% [markdown]
# ## 11 · Cheat-sheet — まとめ
#
# The chapter's glossary (`python -m cnncourse quiz` drills the same terms):

# %%
Markdown(quiz.cheat_sheet("mobilenet_v2"))

# %% [markdown]
# **Numbers worth remembering.** Inverted residual: d′ → 1×1 expansion to t·d′ (t = 6; t = 1 in the first
# block, no expansion) → 3×3 depthwise (stride s) → linear 1×1 projection to d″, no activation; shortcut only
# when s = 1 and d′ = d″ (10 of the 17 blocks of Table 2). Cost h·w·d′·t·(d′ + k² + d″) multiply-adds at
# stride 1 (Section 3.3). MobileNet v2 at 224×224: 3,504,872 parameters (torchvision), 300,774,272
# multiply-adds (Table 4: 3.4M, 300M, 72.0% top-1); 89.1% of the multiply-adds in 1×1 convolutions (v1:
# 94.9%); with the same 24-channel ends a v2 block does 12× a v1 layer's pointwise work. Fig. 1 re-run: x is
# recoverable from ReLU(Tx) for 19.9% of the spiral at n = 2 and 100% at n = 15. Largest tensor between
# layers (16-bit, kilobytes): v1 1606 KB (112×112×64; Table 3: 1600K); v2 803 KB for the stem's 112×112×32
# output, 401 KB for the first bottleneck 112×112×16 (Table 3: 400K, which assumes the first layer is computed
# in pieces too); measured inference peak 9.2 MiB (v1),
# 10.0 MiB (v2 as PyTorch runs it), 3.8 MiB (v2 in t pieces).
#
# ## References
# - M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen. *MobileNetV2: Inverted Residuals and Linear
#   Bottlenecks.* CVPR 2018, arXiv:1801.04381.
# - A. G. Howard et al. *MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications.*
#   2017, arXiv:1704.04861.
# - K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* 2015, arXiv:1512.03385.
# - H. Xiao, K. Rasul, R. Vollgraf. *Fashion-MNIST.* 2017, arXiv:1708.07747 (benchmark table in the dataset's
#   README).
#
# **Exercises:** `exercises/06_mobilenet_v2.ipynb`. **Next:** chapter 07, MobileNet v3.
