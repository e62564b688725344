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
# # 02 · Wide ResNet — 幅の広い残差ネットワーク
#
# **Goals.** By the end of this notebook you will be able to read the name WRN-n-k and say what each number
# does, build the pre-activation wide block with dropout in the right place, count its parameters and
# multiply-adds by hand and check them against PyTorch, and explain — with your own measurements — why a
# network with fewer, wider layers runs faster than a deep, thin one with the same parameters and the same
# arithmetic.
#
# **Prerequisites.** Chapter 01 (the residual block, identity and projection shortcuts, pre-activation) and
# chapter 00 (counting parameters and multiply-adds).
#
# **Time.** A few minutes on a laptop CPU, most of it the short training run and the timing cells; on a
# Colab GPU the training run takes seconds, and the CPU timings take as long as on any CPU.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
# %matplotlib inline
import time

import torch
from matplotlib.figure import Figure
from torch import nn

from cnncourse import data, profile, viz
from cnncourse.models import create_model
from cnncourse.models.wide_resnet import WideBasicBlock, wide_resnet
from cnncourse.profile import batchnorm_params, conv2d_macs, conv2d_params, conv_output_size
from cnncourse.profile import linear_macs, linear_params
from cnncourse.settings import fast_mode
from cnncourse.train import History, fit, seed_everything

print("fast mode:", fast_mode())

# %% [markdown]
# ## The problem: depth was getting expensive
#
# ResNet (He et al., 2015, arXiv:1512.03385) made very deep networks trainable, and the race went on to
# 1001 layers (pre-activation ResNet, He et al., 2016, arXiv:1603.05027). Zagoruyko & Komodakis
# (*Wide Residual Networks*, 2016, arXiv:1605.07146, BMVC 2016) pointed at two costs of that race:
#
# * **Diminishing returns.** "Each fraction of a percent of improved accuracy costs nearly doubling the number
#   of layers" (abstract).
# * **Diminishing feature reuse** (Section 1). The gradient can flow through the identity shortcuts, so
#   nothing forces it through every block's weights: in a very deep, thin network many blocks end up
#   contributing little — yet every one of them costs time, because layers run one after another.
#
# Their answer: **fewer layers, more channels**. WRN-16-8 — 16 layers, 8 times wider than ResNet's CIFAR
# design, 11.0M parameters — reached about the accuracy of the 1001-layer pre-activation ResNet (10.2M
# parameters, He et al., 2016), and wide networks trained faster on a GPU than the thin thousand-layer one:
# per training step, WRN-40-4 (about as accurate) was about 8 times and WRN-28-10 (more accurate) about 1.6
# times faster than ResNet-1001 (paper Section 3, computational efficiency, Fig. 4). CIFAR-10 test errors
# (the WRN rows with ZCA whitening, paper Table 4):
#
# | network | layers | parameters | CIFAR-10 error | source |
# | --- | --- | --- | --- | --- |
# | ResNet-110 | 110 | 1.7M | 6.43% | He et al., 2015, Table 6 |
# | WRN-40-4 | 40 | 8.9M | 4.97% | Zagoruyko & Komodakis, 2016, Table 4 |
# | WRN-16-8 | 16 | 11.0M | 4.81% | Zagoruyko & Komodakis, 2016, Table 4 |
# | WRN-28-10 | 28 | 36.5M | 4.17% | Zagoruyko & Komodakis, 2016, Table 4 |
#
# Dropout inside the blocks helped further: **WRN-28-10 went from 4.00% to 3.89%** (paper Section 3, the
# dropout experiments). Careful — those two numbers come from one preprocessing (mean/std normalisation), while
# the 4.17% of the table above comes from another. "4.17% → 3.89%" mixes two settings and is *not* the
# effect of dropout.
#
# On Fashion-MNIST, the dataset of this course, the benchmark table in the dataset's README lists WRN40-4
# (8.9M parameters) at 96.7% test accuracy and WRN-28-10 at 95.9%, against 94.9% for ResNet18 (Xiao et al.,
# 2017).

# %% [markdown]
# ## The idea: trade depth for width
#
# A WRN keeps ResNet's CIFAR design (paper Table 1): a 3×3 convolution to 16 channels, three **groups** of
# N residual blocks at 32×32, 16×16 and 8×8, global average pooling and one fully connected layer. Two numbers
# name it, **WRN-n-k**:
#
# * **k, the widening factor:** the groups have **16k, 32k, 64k** channels instead of ResNet's 16, 32, 64
#   (k = 1 is the thin ResNet);
# * **n, the depth:** n = 6N + 4, i.e. **N = (n − 4) / 6** blocks per group (WRN-28-10: N = 4, k = 10).
#
# | group | output size (CIFAR) | block B(3,3) | blocks |
# | --- | --- | --- | --- |
# | conv1 | 32×32 | [3×3, 16] | 1 |
# | conv2 | 32×32 | [3×3, 16k; 3×3, 16k] | N |
# | conv3 | 16×16 | [3×3, 32k; 3×3, 32k] | N |
# | conv4 | 8×8 | [3×3, 64k; 3×3, 64k] | N |
# | avg-pool | 1×1 | [8×8] | |
#
# Each block is a pre-activation residual block (He et al., 2016) with dropout between its two convolutions:
#
# $$x_{l+1} = x_l + \mathcal{F}(x_l), \qquad
#   \mathcal{F}(x) = \mathrm{conv}_{3\times3}\Big(\mathrm{dropout}\big(\mathrm{ReLU}(\mathrm{BN}(
#   \mathrm{conv}_{3\times3}(\mathrm{ReLU}(\mathrm{BN}(x)))))\big)\Big)$$
#
# Why width costs **k²**: a 3×3 convolution from C_in to C_out channels has 9·C_in·C_out weights. Widen both
# sides by k and it has 9·(k·C_in)·(k·C_out) = k² · 9·C_in·C_out — four times the parameters *and* four times
# the multiply-adds for k = 2. Depth, in contrast, costs linearly: twice the blocks, twice the cost.

# %%
def draw_wide_block() -> Figure:
    """The pre-activation wide block B(3,3) with dropout, drawn as a flow from top to bottom."""
    figure = Figure(figsize=(5.2, 6.4), layout="constrained")
    axes = figure.subplots()
    axes.set(xlim=(0, 10), ylim=(-0.6, 10.6))
    axes.axis("off")
    steps = [("BatchNorm", "#DCEBF7"), ("ReLU", "#E8F5E9"), ("conv 3×3 (stride s)", "#FFF3C4"),
             ("BatchNorm", "#DCEBF7"), ("ReLU", "#E8F5E9"), ("dropout (p = 0.3)", "#F8CBAD"),
             ("conv 3×3", "#FFF3C4")]
    column = 6.2
    axes.text(column, 10.1, "$x_l$", ha="center", va="center", fontsize=13)
    for index, (label, color) in enumerate(steps):
        y = 9 - 1.2 * index
        axes.text(column, y, label, ha="center", va="center", fontsize=10,
                  bbox=dict(boxstyle="round,pad=0.35", facecolor=color, edgecolor="#555555"))
        start = 10.1 if index == 0 else y + 1.2
        axes.annotate("", xy=(column, y + 0.35), xytext=(column, start - 0.35),
                      arrowprops=dict(arrowstyle="->", color="#333333"))
    plus_y = 9 - 1.2 * len(steps)
    axes.annotate("", xy=(column, plus_y + 0.3), xytext=(column, plus_y + 1.2 - 0.35),
                  arrowprops=dict(arrowstyle="->", color="#333333"))
    axes.text(column, plus_y, "+", ha="center", va="center", fontsize=16,
              bbox=dict(boxstyle="circle,pad=0.15", facecolor="white", edgecolor="#333333"))
    # the shortcut: the identity, or a 1×1 convolution when the group changes width or resolution
    axes.plot([column - 0.4, 1.6, 1.6], [10.1, 10.1, plus_y], color="#0072B2", linewidth=2)
    axes.annotate("", xy=(column - 0.35, plus_y), xytext=(1.6, plus_y),
                  arrowprops=dict(arrowstyle="->", color="#0072B2", linewidth=2))
    axes.text(1.3, 5.2, "shortcut: identity\n(1×1 conv where the\nshape changes)\nno dropout here",
              ha="center", va="center", fontsize=9, color="#0072B2", rotation=90)
    axes.annotate("", xy=(column, plus_y - 0.9), xytext=(column, plus_y - 0.3),
                  arrowprops=dict(arrowstyle="->", color="#333333"))
    axes.text(column, plus_y - 1.1, "$x_{l+1}$", ha="center", va="center", fontsize=13)
    axes.set_title("Wide residual block B(3,3) with dropout (paper Fig. 1(d))", fontsize=10)
    return figure


draw_wide_block()

# %% [markdown]
# The second picture is the whole idea in one plot. Below are two networks with **the same number of
# parameters and the same multiply-adds** (within about 1%, counted in the next sections): a thin WRN-100-1 —
# the ResNet width, 100 layers — and a wide WRN-16-3. Each bar is one 3×3 convolution, its height the
# channels it produces. ResNet-110 (He et al., 2015, Table 6: the CIFAR ResNet of chapter 01 at 110 layers,
# with post-activation blocks and parameter-free shortcuts) has the thin shape too.

# %%
def conv3x3_widths(model: nn.Module) -> list[int]:
    """Output channels of every 3×3 convolution, in the order the forward pass runs them."""
    return [module.out_channels for module in model.modules()
            if isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3)]


thin_and_wide = {
    "WRN-100-1 (thin)": wide_resnet(100, 1, in_channels=1),
    "ResNet-110 (thin, He et al.)": create_model("resnet110", in_channels=1),
    "WRN-16-3 (wide)": wide_resnet(16, 3, in_channels=1),
}
figure = Figure(figsize=(10, 3.6), layout="constrained")
axes = figure.subplots()
for (name, model), color in zip(thin_and_wide.items(), viz.COLORS):
    widths = conv3x3_widths(model)
    axes.step(range(1, len(widths) + 1), widths, where="mid", color=color, linewidth=2,
              label=f"{name}: {len(widths)} conv layers")
axes.set(xlabel="3×3 convolution, in forward order", ylabel="output channels", ylim=(0, None),
         title="About the same parameters and multiply-adds: many narrow layers or few wide ones")
axes.legend()
figure

# %% [markdown]
# ## Build it, step by step
#
# ### The block
#
# `cnncourse.models.wide_resnet.WideBasicBlock` registers its modules in the order the forward pass uses
# them, so listing them shows where dropout sits: **after the second ReLU, between the two convolutions** —
# on the residual branch only.

# %%
# NBVAL_CHECK_OUTPUT
block = WideBasicBlock(16, 64, stride=1, dropout=0.3)
for name, module in block.named_children():
    detail = {nn.BatchNorm2d: lambda m: f"{m.num_features} channels",
              nn.Conv2d: lambda m: f"{m.in_channels}→{m.out_channels}, {m.kernel_size[0]}×{m.kernel_size[1]}, "
                                   f"stride {m.stride[0]}",
              nn.Dropout: lambda m: f"p = {m.p}"}.get(type(module), lambda m: "")(module)
    print(f"{name:<9} {type(module).__name__:<12} {detail}")

# %% [markdown]
# This block is the first of group conv2 in a WRN-n-4: it widens 16 channels to 16k = 64, so its shortcut
# cannot be the identity and is a 1×1 convolution instead, applied — as in the authors' code — to the
# pre-activated input. Following one Fashion-MNIST-sized input through it, step by step:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
block.eval()  # dropout is active only in training mode
x = torch.randn(1, 16, 28, 28)
preactivated = block.relu1(block.bn1(x))
print(f"input x              {tuple(x.shape)}")
print(f"BN → ReLU            {tuple(preactivated.shape)}")
out = block.conv1(preactivated)
print(f"conv1 3×3            {tuple(out.shape)}   the width changes here")
out = block.dropout(block.relu2(block.bn2(out)))
print(f"BN → ReLU → dropout  {tuple(out.shape)}")
out = block.conv2(out)
print(f"conv2 3×3            {tuple(out.shape)}")
shortcut = block.shortcut(preactivated)
print(f"shortcut 1×1         {tuple(shortcut.shape)}")
total = out + shortcut
print(f"sum                  {tuple(total.shape)}   equals block(x): {torch.allclose(total, block(x))}")

# %% [markdown]
# **Dropout never touches the identity path.** To see it, take a block whose shortcut *is* the identity (same
# width, stride 1), switch on training mode with a large dropout probability, and zero the last convolution so
# that the residual branch adds nothing. The block must then return its input exactly — whatever dropout
# does. For contrast, dropout placed on the block's *output* (after the addition) would wipe out a large share
# of the input signal. Earlier work had found dropout on the identity path harmful (He et al., 2016,
# arXiv:1603.05027, the "dropout shortcut" variant); WRN puts it between the convolutions instead
# (paper Sections 1 and 2.4).

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
identity_block = WideBasicBlock(64, 64, stride=1, dropout=0.5).train()
nn.init.zeros_(identity_block.conv2.weight)  # the residual branch now adds exactly zero
x = torch.randn(8, 64, 14, 14)
with torch.no_grad():
    inside = identity_block(x)
    on_output = nn.functional.dropout(identity_block(x), p=0.5, training=True)
print(f"dropout between the convolutions: output == input exactly? {torch.equal(inside, x)}")
zeroed = ((on_output == 0) & (x != 0)).float().mean().item()
print(f"dropout on the block output:      {zeroed:.0%} of the input values zeroed (the rest doubled)")

# %% [markdown]
# ### The network
#
# `wide_resnet(depth, widen_factor, dropout)` builds any WRN-n-k; the registry has the paper's named ones
# (`wrn_16_4`, `wrn_16_8`, `wrn_28_10`, `wrn_40_4`). Its `layer1`, `layer2`, `layer3` are the paper's groups
# conv2, conv3, conv4. For Fashion-MNIST pass `in_channels=1`: the 28×28 image is halved twice, so the last group
# sees 7×7 instead of CIFAR's 8×8.

# %%
# NBVAL_CHECK_OUTPUT
model = create_model("wrn_16_4", in_channels=1, num_classes=10)
x = torch.zeros(1, 1, 28, 28)
model.eval()
with torch.no_grad():
    for name in ["conv1", "layer1", "layer2", "layer3", "final_activation"]:
        x = getattr(model, name)(x)
        blocks = len(getattr(model, name)) if name.startswith("layer") else 1
        print(f"{name:<17} {blocks} block(s) -> {tuple(x.shape)}")
    print(f"{'head':<17} pool + fc  -> {tuple(model.forward_head(x).shape)}   num_features = {model.num_features}")

# %% [markdown]
# ### Which block? B(3,3), B(3,1,3), …
#
# Before settling on a design, the paper compared blocks by the kernel sizes of their convolutions, written
# **B(M)** (paper Section 2 and Table 2): B(3,3) is the basic block, B(3,1,3) adds a 1×1 between the two 3×3,
# B(1,3,1) is a bottleneck that keeps the same width throughout, B(1,3) and B(3,1) alternate 1×1 and 3×3, and
# B(3,1,1) is network-in-network style. The blocks cost different amounts, so the paper varied the depth to
# compare them at a similar parameter budget (WRN-n-2). **B(3,3) came out best, by a small margin**, and is
# the block used for everything after; two convolutions per block (the "deepening factor" l = 2, Table 3) also
# beat one, three or four.
#
# A B(M) block is easy to write for any M — a pre-activation BN-ReLU-conv for each kernel size, plus the
# identity. Its cost at width w is Σ (k_i²·w² + 2w): the 3×3 layers dominate.

# %%
class PreActConvStack(nn.Module):
    """A residual block B(M): one BN-ReLU-conv(k×k) per kernel size k in M, same width w, identity shortcut."""

    def __init__(self, kernel_sizes: tuple[int, ...], width: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for k in kernel_sizes:
            layers += [nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, k, padding=k // 2, bias=False)]
        self.branch = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


# %%
# NBVAL_CHECK_OUTPUT
width = 32  # the conv2 group of a WRN-n-2
block_types = [(3, 3), (3, 1, 3), (1, 3, 1), (1, 3), (3, 1), (3, 1, 1)]
reference_params = None
print("block      formula  measured  vs B(3,3)  receptive field added")
for kernels in block_types:
    stack = PreActConvStack(kernels, width)
    formula = sum(conv2d_params(width, width, k) + batchnorm_params(width) for k in kernels)
    measured = profile.count_parameters(stack)
    reference_params = reference_params or measured
    grown = sum(k - 1 for k in kernels)  # each stride-1 k×k conv widens the receptive field by k - 1 pixels
    name = "B(" + ",".join(map(str, kernels)) + ")"
    print(f"{name:<10} {formula:>7,}  {measured:>8,}  {measured / reference_params:>8.2f}×  {grown:>3} pixels")

# %% [markdown]
# B(3,1,3) costs about as much as B(3,3); the blocks with a single 3×3 cost a little over half of it and
# grow the receptive field half as fast, so a fair comparison needs more of them — which is why Table 2's
# networks have different depths.
#
# ## Count it: parameters and multiply-adds
#
# The wide block by formula, with `cnncourse.profile`'s building blocks (conv weights 9·C_in·C_out, BatchNorm 2
# per channel, no conv biases): BN(C_in) + conv 3×3 + BN(C_out) + conv 3×3, plus the 1×1 projection where the
# shape changes. Multiply-adds count the convolutions at their output resolution. The whole network adds the
# stem, the final BN and the classifier.

# %%
def wide_block_params(c_in: int, c_out: int, stride: int = 1) -> int:
    """Pre-activation B(3,3) block; a 1×1 projection (no BN) when the width or resolution changes."""
    params = batchnorm_params(c_in) + conv2d_params(c_in, c_out, 3)
    params += batchnorm_params(c_out) + conv2d_params(c_out, c_out, 3)
    if stride != 1 or c_in != c_out:
        params += conv2d_params(c_in, c_out, 1)
    return params


def wide_block_macs(c_in: int, c_out: int, size_in: int, stride: int = 1) -> int:
    """Multiply-adds of the block on a size_in × size_in input: its convolutions at the output resolution."""
    size = conv_output_size(size_in, 3, stride)
    macs = conv2d_macs(c_in, c_out, 3, size, size) + conv2d_macs(c_out, c_out, 3, size, size)
    if stride != 1 or c_in != c_out:
        macs += conv2d_macs(c_in, c_out, 1, size, size)
    return macs


def wrn_cost(depth: int, k: int, in_channels: int = 3, size: int = 32, num_classes: int = 10) -> tuple[int, int]:
    """(parameters, multiply-adds) of WRN-depth-k from the paper's Table 1, block by block."""
    blocks_per_group = (depth - 4) // 6
    params = conv2d_params(in_channels, 16, 3)
    macs = conv2d_macs(in_channels, 16, 3, size, size)
    channels = 16
    for group, base_width in enumerate((16, 32, 64)):  # paper Table 1: 16k, 32k, 64k
        for index in range(blocks_per_group):
            stride = 2 if group > 0 and index == 0 else 1
            params += wide_block_params(channels, base_width * k, stride)
            macs += wide_block_macs(channels, base_width * k, size, stride)
            size = conv_output_size(size, 3, stride)
            channels = base_width * k
    params += batchnorm_params(channels) + linear_params(channels, num_classes)
    return params, macs + linear_macs(channels, num_classes)


# %%
# NBVAL_CHECK_OUTPUT
one_block = WideBasicBlock(16, 64, stride=1)
print(f"WideBasicBlock(16, 64): params formula {wide_block_params(16, 64):,} measured "
      f"{profile.count_parameters(one_block):,};  MACs on 28×28 formula {wide_block_macs(16, 64, 28):,} "
      f"measured {profile.count_macs(one_block, (16, 28, 28)):,}")
strided = WideBasicBlock(64, 128, stride=2)
print(f"WideBasicBlock(64, 128, stride 2): params formula {wide_block_params(64, 128, 2):,} measured "
      f"{profile.count_parameters(strided):,};  MACs formula {wide_block_macs(64, 128, 28, 2):,} "
      f"measured {profile.count_macs(strided, (64, 28, 28)):,}")

# %% [markdown]
# The four networks of the registry, on the paper's CIFAR input (3×32×32, 10 classes), against the paper's
# parameter counts (Table 4; WRN-16-4 is not in that table):

# %%
# NBVAL_CHECK_OUTPUT
paper_params = {"wrn_16_4": "", "wrn_40_4": "8.9M", "wrn_16_8": "11.0M", "wrn_28_10": "36.5M"}
print("model      params: formula    measured   paper  |  MACs: formula       measured  agree")
for name, depth, k in [("wrn_16_4", 16, 4), ("wrn_40_4", 40, 4), ("wrn_16_8", 16, 8), ("wrn_28_10", 28, 10)]:
    with torch.device("meta"):  # shapes without memory or arithmetic: all that counting needs
        network = create_model(name)
    params, macs = wrn_cost(depth, k)
    measured_params = profile.count_parameters(network)
    measured_macs = profile.count_macs(network, (3, 32, 32))
    agree = params == measured_params and macs == measured_macs
    print(f"{name:<10} {params:>16,} {measured_params:>11,} {paper_params[name]:>7}  | "
          f"{macs:>14,} {measured_macs:>14,}  {agree}")
(params_4, macs_4), (params_8, macs_8) = wrn_cost(16, 4), wrn_cost(16, 8)
print(f"WRN-16-8 / WRN-16-4 (k doubled): parameters ×{params_8 / params_4:.2f}, MACs ×{macs_8 / macs_4:.2f}")

# %% [markdown]
# Formula and measurement agree to the last parameter and multiply-add, and the counts round to the paper's
# 8.9M, 11.0M and 36.5M. Doubling k from WRN-16-4 to WRN-16-8 multiplies both by close to four, the k² of the
# idea section (not exactly four: the 16-channel stem and the first block's input do not widen).
#
# Where do they sit? For the Fashion-MNIST WRN-16-4, per group:

# %%
# NBVAL_CHECK_OUTPUT
print(profile.summary(create_model("wrn_16_4", in_channels=1), (1, 28, 28)))

# %% [markdown]
# **Parameters pile up in the last group, the arithmetic does not.** Each group doubles the channels (4× the
# weights per convolution) and halves the resolution (¼ of the positions), so the groups do about the same
# number of multiply-adds while layer3 holds most of the weights.
#
# ## Deep and thin vs wide and shallow
#
# Back to the two networks of the picture, with ResNet-110 for reference. Same parameters, same multiply-adds:
# the only difference is how the work is cut into layers.

# %%
# NBVAL_CHECK_OUTPUT
macs_of = {name: profile.count_macs(model, (1, 28, 28)) for name, model in thin_and_wide.items()}
print("network                         conv layers   parameters   MACs/image   MACs per 3×3 layer")
for name, model in thin_and_wide.items():
    layers = len(conv3x3_widths(model))
    print(f"{name:<31} {layers:>11} {profile.count_parameters(model):>12,} {macs_of[name]:>12,} "
          f"{macs_of[name] // layers:>20,}")

# %% [markdown]
# WRN-16-3 does the same total work in about a seventh of the layers, so each layer does about seven times
# more. Why should that be faster on the same hardware?
#
# * **Layers run one after another.** Every layer pays a fixed cost however small it is: dispatching the
#   operator from Python, launching a kernel on a GPU, reading and writing its activations for BatchNorm and
#   ReLU. A thin network pays it seven times as often for the same arithmetic.
# * **Small layers cannot fill parallel hardware.** A convolution is computed as a matrix product whose width
#   is the number of output channels. With 16 channels the product is too narrow to keep a CPU's vector units
#   and cores busy — let alone the thousands of arithmetic units of a GPU; with 48 channels there is three
#   times as much independent work per step.
# * **Batch size gives every layer more work.** The batch is one more dimension of each matrix product, so all
#   networks do more useful arithmetic per second on a batch than on a single image. Whether the thin ones
#   catch up depends on the hardware — the plot below shows it for yours.
#
# Measuring is better than believing. The cells below time each network on the same random input; the
# networks take turns and the fastest of several runs counts, so other programs on the machine disturb them
# alike. "GMAC/s" is the useful arithmetic per second: multiply-adds per image × batch size / time. The CPU is
# timed twice: with **one thread**, where the cores do not share the work and the fixed cost per layer is what
# makes the difference, and with **all threads**, where each layer's work is split among the cores.

# %%
def synchronize(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()  # GPU calls return before the work is done


def fastest_step_ms(models: dict[str, nn.Module], batch_size: int, device: str = "cpu", training: bool = False,
                    rounds: int = 5) -> dict[str, float]:
    """Fastest of ``rounds`` steps per model, in ms: inference, or forward + backward when ``training``."""
    x = torch.randn(batch_size, 1, 28, 28, device=device)
    labels = torch.zeros(batch_size, dtype=torch.long, device=device)

    def step(network: nn.Module) -> None:
        if training:
            network.zero_grad(set_to_none=True)
            nn.functional.cross_entropy(network(x), labels).backward()
        else:
            with torch.inference_mode():
                network(x)

    for network in models.values():
        network.to(device).train(training)
        step(network)  # warm-up: memory allocation, kernel selection
    best = {name: float("inf") for name in models}
    for _ in range(rounds):
        for name, network in models.items():
            synchronize(device)
            start = time.perf_counter()
            step(network)
            synchronize(device)
            best[name] = min(best[name], (time.perf_counter() - start) * 1000)
    for network in models.values():
        network.to("cpu").eval().zero_grad(set_to_none=True)
    return best


def timing_table(setting: str, device: str, batch_sizes: list[int], training_batch: int,
                 rounds: int) -> dict[str, list[float]]:
    """Print inference and training-step times; return GMAC/s per network, one value per batch size."""
    print(f"{setting} — inference, fastest of {rounds} runs")
    throughput: dict[str, list[float]] = {name: [] for name in thin_and_wide}
    for batch_size in batch_sizes:
        times = fastest_step_ms(thin_and_wide, batch_size, device, rounds=rounds)
        for name, ms in times.items():
            gmacs = macs_of[name] * batch_size / ms / 1e6
            throughput[name].append(gmacs)
            print(f"  batch {batch_size:>3}  {name:<31} {ms:8.1f} ms {gmacs:7.1f} GMAC/s "
                  f"{ms / times['WRN-16-3 (wide)']:5.1f}× the wide net's time")
    times = fastest_step_ms(thin_and_wide, training_batch, device, training=True, rounds=max(2, rounds // 2))
    print(f"{setting} — training step (forward + backward), batch {training_batch}")
    for name, ms in times.items():
        print(f"  {name:<41} {ms:8.1f} ms {training_batch * 1000 / ms:7.0f} images/s "
              f"{ms / times['WRN-16-3 (wide)']:4.1f}× the wide net's time")
    return throughput


# %%
cpu_batches = [1, 4] if fast_mode() else [1, 8, 32]
cpu_training_batch, cpu_rounds = (4, 5) if fast_mode() else (32, 7)
all_threads = torch.get_num_threads()
throughputs: dict[str, tuple[list[int], dict[str, list[float]]]] = {}
torch.set_num_threads(1)
try:
    throughputs["CPU, 1 thread"] = (cpu_batches, timing_table(
        "CPU, 1 thread", "cpu", cpu_batches, cpu_training_batch, cpu_rounds))
finally:
    torch.set_num_threads(all_threads)
if all_threads > 1 and not fast_mode():
    setting = f"CPU, {all_threads} threads"
    throughputs[setting] = (cpu_batches, timing_table(setting, "cpu", cpu_batches, cpu_training_batch, cpu_rounds))
elif all_threads > 1:
    print("(fast mode: the timing with all threads is skipped; run without CNNCOURSE_FAST to see it)")

# %% [markdown]
# Read the "× the wide net's time" columns. **With one thread** it depends on the batch size. On one image,
# and for the training step, the thin networks take longer than WRN-16-3 for the same arithmetic (in the
# stored run about twice as long on one image): that gap is the fixed cost per layer, paid about seven times
# as often. At larger batches every layer has enough work to hide that cost, and the gap closes — in the stored
# run, at batch 32, ResNet-110 took 134.0 ms and WRN-16-3 138.1 ms. **With all
# threads** (not timed in fast mode) a wide layer has enough work to split among the cores, a 16-channel layer
# much less, so the wide network usually gains more from the extra cores. Timings with several threads are
# sensitive to other programs: if the machine was busy, they scatter — run the cell again.
#
# A GPU makes the point much more strongly, because its thousands of arithmetic units sit idle during a
# 16-channel layer, and every layer costs a kernel launch. The paper's Fig. 4 timed a training step on a GPU:
# WRN-40-4 was about 8 times faster than the thin 1001-layer ResNet at about the same accuracy, and the more
# accurate WRN-28-10 about 1.6 times faster. The next cell repeats the measurement on a GPU when there is one
# (on Colab: Runtime → Change runtime type → GPU).

# %%
if torch.cuda.is_available():
    gpu_batches = [1, 32, 256]
    throughputs["GPU"] = (gpu_batches, timing_table("GPU", "cuda", gpu_batches, training_batch=128, rounds=10))
else:
    print("No CUDA GPU here: the GPU comparison is skipped (on Colab, switch the runtime to a GPU and rerun).")

# %%
figure = Figure(figsize=(4.2 * len(throughputs), 3.6), layout="constrained")
for axes, (setting, (batches, throughput)) in zip(figure.subplots(1, len(throughputs), squeeze=False)[0],
                                                  throughputs.items()):
    for (name, values), color in zip(throughput.items(), viz.COLORS):
        axes.plot(batches, values, "o-", color=color, label=name)
    axes.set(xscale="log", xlabel="batch size", ylabel="useful GMAC/s (higher is better)", title=setting)
    axes.set_xticks(batches, [str(b) for b in batches])
    axes.minorticks_off()
    axes.set_ylim(bottom=0)
    axes.legend(fontsize="small")
figure

# %% [markdown]
# Same parameters, same multiply-adds, different speed: **multiply-adds are not time**. A MAC count says how
# much arithmetic a network needs; how fast the hardware can do it depends on how the arithmetic is cut into
# layers. The lesson comes back in later chapters: MobileNet's depthwise convolutions need few MACs but use the
# hardware poorly, and MnasNet measures latency on a real phone instead of trusting the MAC count.
#
# ## The ImageNet version: WRN-50-2
#
# For ImageNet the paper widened the *bottleneck* ResNet: WRN-50-2-bottleneck is ResNet-50 with the inner width
# of every bottleneck doubled — the first 1×1 convolution's output and the 3×3 layer are twice as wide, while the
# block's outer widths (its input and the last 1×1's output) stay those of ResNet-50 (paper Section 3, "ImageNet
# and COCO experiments"). torchvision ships it as `wide_resnet50_2`; ours is built from the same bottleneck with
# `width_per_group=128` and is the same network — same parameter names and count, same outputs:

# %%
# NBVAL_CHECK_OUTPUT
import torchvision

torch.manual_seed(0)
ours = create_model("wide_resnet50_2").eval()
theirs = torchvision.models.wide_resnet50_2(weights=None).eval()
print(f"parameters: ours {profile.count_parameters(ours):,}, torchvision {profile.count_parameters(theirs):,} "
      f"(68,883,240 in torchvision's documentation)")
ours.load_state_dict(theirs.state_dict(), strict=True)  # raises if a single name or shape differed
image = torch.randn(1, 3, 64, 64)  # a small image keeps this quick; the weights do not depend on the size
with torch.no_grad():
    print("strict load: ok;  same outputs:", torch.allclose(ours(image), theirs(image), atol=1e-5))
resnet50 = 25_557_032  # torchvision's resnet50, from its documentation
print(f"ResNet-50 has {resnet50:,}: doubling the inner width alone multiplies the parameters by "
      f"{profile.count_parameters(ours) / resnet50:.2f}")
del ours, theirs

# %% [markdown]
# ## See it work: a short training run
#
# A short live run on Fashion-MNIST with a WRN-16-2 — the 16 layers of WRN-16-4 at half its width, so about a
# quarter of its multiply-adds and quick enough for a CPU (the reference checkpoint below is the same network
# trained to the end). It trains on a subset for a couple of epochs; in fast mode (the tests) on a few dozen
# images only, so the numbers are not meaningful there.
# Dropout stays off: the paper used 0.3 for its 200-epoch CIFAR runs, and a run this short does not overfit.

# %%
train_set = data.fashion_mnist(train=True)
test_set = data.fashion_mnist(train=False)
# fast mode: three steps on 96 images (fit needs a few steps for its learning-rate schedule)
LIVE_TRAIN_IMAGES, LIVE_VAL_IMAGES, LIVE_BATCH = (96, 256, 32) if fast_mode() else (12_000, 2_000, 64)
seed_everything(0)
live_model = wide_resnet(16, 2, in_channels=1, num_classes=10)
live_history = fit(live_model, train_set.take(LIVE_TRAIN_IMAGES), epochs=2, batch_size=LIVE_BATCH,
                   val_data=test_set.take(LIVE_VAL_IMAGES), seed=0)
print(live_history)

# %% [markdown]
# ### The reference checkpoints: Wide ResNets sized for a CPU
#
# The course's reference Wide ResNets were trained on all 60,000 training images on the course's 2-core CPU,
# with exactly the recipe of chapter 01's reference ResNet-20 (SGD, one-cycle schedule, batch 128, crop and
# flip, 35 epochs). A CPU budget keeps them small:
#
# * **WRN-16-2**, the network of the live run above — two blocks per group at widths 32, 64 and 128 (0.69M
#   parameters). It is the chapter's trained Wide ResNet: the curves, confusion matrix and mistakes below are
#   its own.
# * **WRN-10-2**, one block per group at the same widths (0.30M parameters). That is ResNet-20's size (0.27M)
#   and nearly its multiply-adds, cut the other way — 7 convolutions of 3×3 instead of 19 — so with ResNet-20
#   it makes a real measurement of deep-and-thin against wide-and-shallow at equal size.
#
# Neither is one of the paper's configurations. The WRN-16-4 used elsewhere in this chapter costs about ten
# times ResNet-20's multiply-adds per image — hours on this CPU — and waits for a GPU. Without the checkpoints,
# the cells say how to make them and the plots below show the live run instead.

# %%
from cnncourse.pretrained import list_checkpoints, load_pretrained

CHECKPOINT = "wrn_16_2_fashion_mnist"
EQUAL_SIZE_CHECKPOINT, THIN_CHECKPOINT = "wrn_10_2_fashion_mnist", "resnet20_fashion_mnist"
installed = {info.name for info in list_checkpoints()}
if CHECKPOINT in installed:
    shown_model = load_pretrained(CHECKPOINT)
    metadata = shown_model.checkpoint_metadata
    shown_history = History.from_dict(metadata["history"])
    shown_label = "WRN-16-2 (reference)"
    print(f"{CHECKPOINT}: {metadata['epochs']} epochs, {metadata['wall_time_s'] / 60:.0f} min on "
          f"{metadata['device']}\ntrained with: {metadata['command']}")
else:
    shown_model, shown_history, shown_label = live_model, live_history, "WRN-16-2 (live run)"
    print(f"The reference checkpoint {CHECKPOINT} is not installed; train it with 'python -m cnncourse train "
          f"--model wrn_16_2 --dataset fashion-mnist --epochs 35 --out checkpoints' and set "
          f"CNNCOURSE_CHECKPOINTS=checkpoints. Below: the same plots for the live run instead.")

# %% [markdown]
# Deep and thin against wide and shallow, all three trained the same way: the test accuracies are the ones
# recorded on all 10,000 test images at the end of training.

# %%
# NBVAL_CHECK_OUTPUT
references = {"ResNet-20 (deep, thin)": THIN_CHECKPOINT, "WRN-10-2 (shallow, wide)": EQUAL_SIZE_CHECKPOINT,
              "WRN-16-2 (wide, 2.3× size)": CHECKPOINT}
if set(references.values()) <= installed:
    print(f"{'reference network':<26} {'3×3 convs':>9} {'parameters':>11} {'MACs/image':>11} {'epochs':>6} "
          f"{'test accuracy':>13}")
    for label, name in references.items():
        network = load_pretrained(name)
        recorded = network.checkpoint_metadata
        print(f"{label:<26} {len(conv3x3_widths(network)):>9} {recorded['params']:>11,} {recorded['macs']:>11,} "
              f"{recorded['epochs']:>6} {recorded['test_accuracy']:>13.2%}")
else:
    print(f"Needs all three reference checkpoints: {', '.join(sorted(references.values()))}.")

# %% [markdown]
# **Equal size:** the deep, thin network came out ahead — ResNet-20 94.90% against WRN-10-2's 94.25% in the
# stored output (a test keeps the sentences of this paragraph true for the shipped checkpoints). That does not
# contradict the paper. Its case for width is made with millions of parameters, where a thin network has long
# since got as deep as it usefully can and the extra capacity is better spent on channels — WRN-16-8 against
# the 1001-layer ResNet. At 0.3M parameters the trade is different: one block per group leaves WRN-10-2 only
# 7 convolutions of 3×3, while ResNet-20 composes 19.
#
# **More depth inside the wide design:** two blocks per group at the same widths (WRN-16-2, 13 convolutions of
# 3×3, 2.3× WRN-10-2's parameters and multiply-adds) closed the gap — 94.93%, level with ResNet-20 (three test
# images more). So at this scale, 2.6× ResNet-20's parameters and 2.5× its arithmetic, spent on width, bought
# no measurable accuracy over the thin network; on the same two CPU threads WRN-16-2 also trained for 68
# minutes where WRN-10-2 took 41. And these are single runs with one seed: a gap of well under a point needs
# repeated runs before it is a finding rather than an anecdote. Width is a knob to measure, not a rule.
#
# The reference network's training curves (train solid, test dashed):

# %%
shown_history.plot(label=shown_label)

# %% [markdown]
# In the reference run, training and test accuracy part in the last ten epochs, as the learning rate falls:
# 97.1% on the augmented training batches against 94.9% on the test set at the end (stored output).
#
# One pass over the test set gives everything below: the accuracy, the confusion matrix, and the mistakes the
# network is most sure about. (Fast mode uses the first 256 test images only. This pass runs in float32; the
# figure recorded in the checkpoint came from training's bfloat16 evaluation, so the two can differ by a few
# images.)

# %%
def predict(network: nn.Module, dataset: data.ImageDataset, subset: int | None) -> torch.Tensor:
    """Class probabilities for the first ``subset`` images (all if None), normalised as in training."""
    device = next(network.parameters()).device
    network.eval()
    with torch.inference_mode():
        batches = data.Batches(dataset, 500, device=device, subset=subset)
        return torch.cat([torch.softmax(network(images).float(), dim=1).cpu() for images, _ in batches])


probabilities = predict(shown_model, test_set, subset=256 if fast_mode() else None)
predictions = probabilities.argmax(dim=1)
labels = test_set.labels[: len(predictions)]
print(f"{shown_label}: test accuracy {(predictions == labels).float().mean().item():.2%} "
      f"on {len(labels):,} test images")
viz.plot_confusion_matrix(labels, predictions, test_set.classes)

# %% [markdown]
# The most instructive mistakes are the confident ones: the test images whose wrong class got the highest
# probability. Titles read "predicted (true)".

# %%
confidence = probabilities.max(dim=1).values
confidence[predictions == labels] = -1.0  # rank the mistakes only
worst = confidence.argsort(descending=True)[:16]
worst = worst[confidence[worst] >= 0]
if len(worst):
    figure = viz.show_images(test_set.images[worst], labels[worst], test_set.classes, n=len(worst),
                             predictions=predictions[worst])
else:
    figure = None
    print("No mistakes on these test images.")
figure

# %% [markdown]
# Compare the two pictures. The confusion matrix shows where *most* mistakes are — on Fashion-MNIST typically
# among shirt, T-shirt, pullover and coat, as in chapter 00, whose differences at 28×28 in grey are a collar or a
# few buttons. The most *confident* mistakes can come from other classes: a network can be sure and wrong. The
# reference WRN-16-2's list (the stored output) is mostly the common confusions — nine of the sixteen are
# shirts, T-shirts, coats and pullovers taken for one another, two more are tops taken for dresses — and the
# other five cross to other classes: a high-top sneaker called an ankle boot, a strappy heeled boot called a
# sandal, a sandal called a sneaker, trousers called a bag, and a long narrow garment labelled trousers that
# looks like a dress. As with chapter 01's ResNet-20, several labels are arguable themselves. (Without the
# checkpoint these pictures come from the live run; in fast mode its network has seen a few dozen images and
# most answers are wrong.)
#
# ## Try it: width and depth
#
# Move the sliders to build WRN-n-k for Fashion-MNIST and see its parameters, multiply-adds and CPU latency for
# one image, and where the parameters and multiply-adds sit. Try k = 1 → 2 → 4 at a fixed depth (×4 each
# time), then depth 16 → 40 at a fixed k (about linear), and compare WRN-40-2 with WRN-22-3: similar
# parameters, different depth.

# %%
import ipywidgets as widgets
from IPython.display import display


def show_wrn(depth: int, k: int) -> None:
    network = wide_resnet(depth, k, in_channels=1)
    table = profile.summary(network, (1, 28, 28))
    repeats = 1 if fast_mode() else 5  # a big WRN takes a second per image on a CPU: keep the slider responsive
    latency = profile.measure_latency(network, (1, 28, 28), batch_size=1, warmup=1, repeats=repeats)
    print(f"WRN-{depth}-{k}: {(depth - 4) // 6} blocks per group, widths {16 * k}/{32 * k}/{64 * k}; "
          f"{table.total_params:,} parameters, {profile.format_count(table.total_macs)} MACs per image, "
          f"{latency.median_ms:.1f} ms per image on the CPU")
    rows = [row for row in table.rows if row.params or row.macs]
    paper_names = {"layer1": "layer1 (conv2)", "layer2": "layer2 (conv3)", "layer3": "layer3 (conv4)",
                   "final_activation": "final BN-ReLU"}
    figure = Figure(figsize=(9, 2.6), layout="constrained")
    columns = ([row.params / 1e6 for row in rows], [row.macs / 1e6 for row in rows])
    for axes, values, title in zip(figure.subplots(1, 2), columns,
                                   ("parameters (millions)", "multiply-adds (millions)")):
        axes.barh([paper_names.get(row.name, row.name) for row in rows], values, color=viz.COLORS[0])
        axes.invert_yaxis()
        axes.set_title(title, fontsize="medium")
    display(figure)


depth_slider = widgets.SelectionSlider(options=[10, 16, 22, 28, 40], value=16, description="depth n",
                                       continuous_update=False)
width_slider = widgets.IntSlider(value=4, min=1, max=10, description="width k", continuous_update=False)
display(widgets.VBox([widgets.HBox([depth_slider, width_slider]),
                      widgets.interactive_output(show_wrn, {"depth": depth_slider, "k": width_slider})]))

# %% [markdown]
# ## Quiz — 確認クイズ
#
# Misconceptions about Wide ResNet, in the style of the E資格 exam. Choose `lang="ja"` for Japanese; your answers
# are saved, and `python -m cnncourse quiz --review` brings back the ones you missed.

# %%
from cnncourse import quiz

quiz.show("wide_resnet", lang="en", n=5, seed=0)

# %% [markdown]
# ## Cheat-sheet — まとめ
#
# | 日本語 | English | remember |
# | --- | --- | --- |
# | 拡大係数 k | widening factor k | group widths 16k, 32k, 64k; parameters and MACs grow ≈ k² |
# | WRN-n-k | WRN-n-k | depth n = 6N + 4, N = (n − 4)/6 blocks per group; WRN-28-10: N = 4, last group 640 channels |
# | 深化係数 l | deepening factor l | convolutions per block; l = 2, i.e. B(3,3), worked best |
# | B(M) 記法 | B(M) block notation | kernel sizes in a block: B(3,3), B(3,1,3), B(1,3,1), B(1,3), B(3,1), B(3,1,1); the paper keeps B(3,3) |
# | 事前活性化 | pre-activation | BN → ReLU → conv inside every block (He et al., 2016) |
# | ブロック内ドロップアウト | dropout in residual blocks | between the two 3×3 convs, after the ReLU; never on the identity path; WRN-28-10 4.00% → 3.89% (one preprocessing) |
# | 特徴の再利用の減少 | diminishing feature reuse | in very deep thin ResNets many blocks contribute little |
# | 幅と深さ | width and depth | same parameters and MACs: fewer, wider layers run faster when each layer has little work (one image, training step; measured above) — on one CPU thread at batch 32 the gap closes; on a GPU the paper measured WRN-40-4 8× faster than ResNet-1001 |
# | GPU の並列性 | GPU parallelism | few large operations beat many small ones; MACs are not time |
# | WRN-28-10 | WRN-28-10 | 36.5M parameters, CIFAR-10 error 4.17% with ZCA whitening (Table 4); 4.00%, 3.89% with dropout, with mean/std normalisation |
# | WRN-16-8 / WRN-40-4 | WRN-16-8 / WRN-40-4 | 11.0M, 4.81% / 8.9M, 4.97%; WRN40-4 96.7% on Fashion-MNIST |
# | 参照モデル(本講座) | reference runs (this course) | Fashion-MNIST, 35 epochs, one recipe: ResNet-20 94.90%, WRN-10-2 94.25%, WRN-16-2 94.93% |
# | WRN-50-2(ボトルネック型) | WRN-50-2 (bottleneck) | ImageNet: ResNet-50 with 2× inner width (first 1×1 output and 3×3); block outputs unchanged; 68,883,240 parameters |
#
# **Formulas.** 3×3 conv: 9·C_in·C_out weights, 9·C_in·C_out·H_out·W_out MACs. Wide block:
# 9·C_in·C_out + 9·C_out² + 2·C_in + 2·C_out parameters (+ C_in·C_out for a 1×1 projection).
#
# ## References
# - S. Zagoruyko, N. Komodakis. *Wide Residual Networks.* BMVC 2016, arXiv:1605.07146.
# - K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* 2015, arXiv:1512.03385.
# - K. He, X. Zhang, S. Ren, J. Sun. *Identity Mappings in Deep Residual Networks.* 2016, arXiv:1603.05027.
# - N. Srivastava, G. Hinton, A. Krizhevsky, I. Sutskever, R. Salakhutdinov. *Dropout: A Simple Way to Prevent
#   Neural Networks from Overfitting.* JMLR 15, 2014.
# - H. Xiao, K. Rasul, R. Vollgraf. *Fashion-MNIST.* 2017, arXiv:1708.07747 (benchmark table in the dataset's
#   README).
#
# **Exercises:** `exercises/02_wide_resnet.ipynb`. **Next:** chapter 03, SENet.
