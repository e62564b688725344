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
# # 01 · ResNet — 残差ネットワーク
#
# **Goals.** By the end of this notebook you will be able to explain the *degradation problem* and why it is
# not overfitting; write down the residual block H(x) = F(x) + x and say why it can always fall back to the
# identity; tell identity shortcuts from projection shortcuts (the paper's options A and B); count the
# parameters and multiply-adds of a basic block and a bottleneck block by hand and check them against
# PyTorch; and explain what BatchNorm, He initialisation and the pre-activation variant contribute.
#
# **Prerequisites.** Chapter 00 (the data, counting parameters and multiply-adds, why depth alone does not
# help). Python and a first contact with PyTorch.
#
# **Time.** About an hour to read and run. Only one cell trains: the short degradation run of part 1, four
# small networks on 2,000 images (about two minutes on the course's 2-core test machine, less on a GPU). The
# full-length results come from the course's reference checkpoints instead of training. With
# `CNNCOURSE_FAST=1` the whole notebook runs in under a minute.
#
# **Paper.** K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* 2015,
# arXiv:1512.03385 (CVPR 2016). Section numbers below refer to it unless another paper is named.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
# %matplotlib inline
import math

import torch
from IPython.display import display
from matplotlib.figure import Figure
from torch import nn

from cnncourse import data, profile, viz
from cnncourse.models import create_model
from cnncourse.models.resnet import BasicBlock, Bottleneck, CifarBasicBlock, cifar_resnet, option_a_shortcut
from cnncourse.settings import fast_mode
from cnncourse.train import confusion_matrix, evaluate, fit, seed_everything

train_set = data.fashion_mnist(train=True)
test_set = data.fashion_mnist(train=False)
print("fast mode:", fast_mode())

# %% [markdown]
# ## 1 · The problem: a deeper plain network trains *worse*
#
# By 2015, BatchNorm and careful initialisation (chapter 00) let networks with tens of layers start to
# converge. He et al. then noticed something that should not happen: making a plain network deeper made it
# worse **on its own training data**. On CIFAR-10 their 56-layer plain network ends with a higher training
# error *and* a higher test error than their 20-layer one (paper Fig. 1); on ImageNet the plain 34-layer
# network has 28.54% top-1 validation error against 27.94% for the plain 18-layer one (Table 2).
#
# This is called the **degradation problem** (劣化問題). It is *not* overfitting: an overfitting network fits
# its training data *better* and only the test error rises. And it should not happen in principle — a deeper
# network could copy the shallower one and make its extra layers identity mappings, so a solution at least as
# good exists (Section 1). The optimiser simply does not find it.
#
# ResNet's answer (part 2 of this notebook) fixed it, and won:
#
# | result | number | source |
# | --- | --- | --- |
# | ILSVRC 2015 classification | 1st place, 3.57% top-5 error (an ensemble) | abstract |
# | ImageNet, 34 layers, 10-crop top-1 error | plain 28.54% → ResNet 25.03% | Table 2 |
# | ImageNet depth | 152 layers, 8× deeper than VGG, yet 11.3 vs VGG-19's 19.6 billion FLOPs | abstract, Section 4.1 |
# | CIFAR-10 test error | ResNet-20 8.75% (0.27M), ResNet-56 6.97% (0.85M), ResNet-110 6.43% (1.7M) | Table 6 |
#
# You can watch the problem yourself. The four networks below are the paper's CIFAR designs (Section 4.2):
# 6n+2 layers, three stages of 16, 32 and 64 filters. `plain20` and `plain56` stack their layers without
# shortcuts; `resnet20` and `resnet56` are the same layers with shortcuts — the fix this chapter builds.
# All four are trained with the same recipe (SGD with momentum, one-cycle learning rate) on the same subset
# of Fashion-MNIST. The number to watch is the **training error**, and in particular how much worse the
# 56-layer network is than the 20-layer one of its kind.

# %%
DEPTH_RUNS = {"plain20": "plain-20", "plain56": "plain-56", "resnet20": "ResNet-20", "resnet56": "ResNet-56"}
LIVE_TRAIN_IMAGES = 64 if fast_mode() else 2000  # a subset keeps the 56-layer runs to minutes on a CPU
LIVE_EPOCHS = 4  # fit() trains one epoch in fast mode
LIVE_BATCH_SIZE = 16 if fast_mode() else 32  # small batches: more optimiser steps for the same computation

live_models: dict[str, nn.Module] = {}
live_histories: dict[str, dict] = {}
for name in DEPTH_RUNS:
    seed_everything(0)  # the same initial randomness and data order for all four
    live_models[name] = create_model(name, num_classes=10, in_channels=1)
    history = fit(live_models[name], train_set.take(LIVE_TRAIN_IMAGES), epochs=LIVE_EPOCHS,
                  batch_size=LIVE_BATCH_SIZE, seed=0)
    live_histories[name] = history.to_dict()


# %% [markdown]
# The paper plots training error against training time for plain and residual networks side by side
# (Fig. 6). This helper does the same for any set of the four runs; the reference runs below use it too.

# %%
from matplotlib.ticker import MaxNLocator


def plot_training_error(histories: dict[str, dict], title: str) -> Figure:
    """Training error (%) per epoch: plain networks left, residual networks right, 56 layers drawn thicker."""
    figure = Figure(figsize=(10, 3.6), layout="constrained")
    plain_axes, residual_axes = figure.subplots(1, 2, sharey=True)
    for name, history in histories.items():
        axes = plain_axes if name.startswith("plain") else residual_axes
        deep = name.endswith("56")
        error = [100 * (1 - accuracy) for accuracy in history["train_accuracy"]]
        axes.plot(history["epochs"], error, marker="o", linewidth=3 if deep else 1.5,
                  color=viz.COLORS[1] if deep else viz.COLORS[0], label=DEPTH_RUNS[name])
    plain_axes.set(title="plain networks", xlabel="epoch", ylabel="training error (%)")
    residual_axes.set(title="residual networks (ResNet)", xlabel="epoch")
    last_epoch = max(max(history["epochs"]) for history in histories.values())
    for axes in (plain_axes, residual_axes):
        axes.grid(alpha=0.3)
        axes.legend()
        axes.set_xlim(0.5, last_epoch + 0.5)
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    figure.suptitle(title)
    return figure


live_title = f"live run: {LIVE_TRAIN_IMAGES} Fashion-MNIST images"
if fast_mode():
    live_title += " — FAST MODE: one epoch of a few steps, not meaningful"
plot_training_error(live_histories, live_title)

# %% [markdown]
# What did *your* run show? The cell below states it from the numbers rather than from expectations. In a
# run this short a deeper network, residual or not, has had few steps to put its extra layers to use, so
# look at the *gap* between 20 and 56 layers: the degradation problem is a large gap for the plain networks,
# and the shortcuts should shrink it. Whether a ResNet-56 then *overtakes* a ResNet-20, as in the paper
# (Fig. 6, Table 6), takes a much longer run than any in this notebook.

# %%
def final_training_error(history: dict) -> float:
    """Training error (%) of the last epoch of a history (a ``History.to_dict()`` or checkpoint history)."""
    return 100 * (1 - history["train_accuracy"][-1])


def report_cost_of_depth(histories: dict[str, dict]) -> None:
    """Print how much training error going from 20 to 56 layers adds, without and with shortcuts."""
    depth_penalty: dict[str, float] = {}
    for kind, shallow, deep in [("plain", "plain20", "plain56"), ("residual", "resnet20", "resnet56")]:
        shallow_error, deep_error = final_training_error(histories[shallow]), final_training_error(histories[deep])
        depth_penalty[kind] = deep_error - shallow_error
        print(f"{kind:>8}: 20 layers end at {shallow_error:5.1f}% training error, 56 layers at {deep_error:5.1f}% "
              f"→ going deeper costs {depth_penalty[kind]:+.1f} points")
    if depth_penalty["residual"] < depth_penalty["plain"]:
        print(f"The shortcuts shrank the cost of depth by {depth_penalty['plain'] - depth_penalty['residual']:.1f} "
              "points.")
    else:
        print("In this run the shortcuts did not shrink the cost of depth.")


report_cost_of_depth(live_histories)
if fast_mode():
    print("(fast mode: a few steps on a tiny subset — run without CNNCOURSE_FAST to see a real comparison)")

# %% [markdown]
# ### The reference runs
#
# The course ships reference runs of the same four networks on the **full** training set (60,000 images),
# all four with one recipe and one budget, each stored as a checkpoint with its training history
# (`python -m cnncourse checkpoints` lists them). The next cell loads them and plots their curves with the
# same helper; where one is missing it prints the command that makes it.

# %%
from cnncourse.pretrained import list_checkpoints, load_pretrained

DEGRADATION_EPOCHS = 4  # the budget of the shipped reference runs (see the printout for where they ran)
installed_checkpoints = {info.name for info in list_checkpoints()}
degradation_runs: dict[str, dict] = {}  # name -> checkpoint metadata, history included
for name in DEPTH_RUNS:
    checkpoint = f"{name}_fashion_mnist_{DEGRADATION_EPOCHS}ep"
    if checkpoint in installed_checkpoints:
        degradation_runs[name] = load_pretrained(checkpoint).checkpoint_metadata
    else:
        print(f"Reference run {checkpoint!r} is not installed; make it with: python -m cnncourse train "
              f"--model {name} --dataset fashion-mnist --epochs {DEGRADATION_EPOCHS} --name {checkpoint} "
              f"--out checkpoints (then set CNNCOURSE_CHECKPOINTS=checkpoints)")
for name, metadata in degradation_runs.items():
    print(f"{DEPTH_RUNS[name]:<10} {metadata['epochs']} epochs, {metadata['wall_time_s'] / 60:4.0f} min on "
          f"{metadata['device']}: final training error {final_training_error(metadata['history']):5.2f}%, "
          f"test accuracy {100 * metadata['test_accuracy']:.2f}%")
if degradation_runs:
    display(plot_training_error({name: metadata["history"] for name, metadata in degradation_runs.items()},
                                f"reference runs: {DEGRADATION_EPOCHS} epochs on all 60,000 training images"))
if len(degradation_runs) == len(DEPTH_RUNS):
    report_cost_of_depth({name: metadata["history"] for name, metadata in degradation_runs.items()})

# %% [markdown]
# How to read the curves (the "training error" of an epoch is the share of its augmented training images
# that were misclassified while the network learned): with the full training set and four epochs, the plain
# 56-layer network stays clearly above the plain 20-layer one from the first epoch to the last. Nothing but
# depth changed, and the deeper network fits its *training* data worse — the degradation problem, on
# Fashion-MNIST. With shortcuts the same 56 layers train much better than without them (compare the thick
# curves), and the cost of depth shrinks; the printout above puts numbers on both.
#
# What these runs do *not* show is the paper's end point, a 56-layer ResNet that beats the 20-layer one. Their
# budget is four epochs; the paper trains on CIFAR-10 for 64k iterations of 128 images, over 160 epochs. In so
# few steps a deeper network has not yet put its extra layers to use. (`tests/test_reference_checkpoints.py`
# checks that the shipped runs show what this paragraph says.)
#
# ## 2 · The idea: learn only the correction
#
# Suppose a few stacked layers should realise some mapping H(x). ResNet does not ask them for H(x) itself.
# It asks them for the **residual** F(x) := H(x) − x and adds the input back through a **shortcut
# connection** (Section 3.1, Eq. 1):
#
# $$y = F(x, \{W_i\}) + x .$$
#
# Why should that be easier? If the best thing a block can do is *nothing* — pass x on unchanged, exactly
# what the "deeper copy of a shallower network" above needs — a residual block only has to drive F to zero,
# while a plain block has to build an identity out of convolutions, BatchNorm and ReLUs. More generally,
# when the best mapping is *close* to the identity, learning a small correction is easier than learning the
# whole mapping from scratch (Section 3.1).
#
# The shortcut also helps the gradient. Differentiating y = F(x) + x gives
#
# $$\frac{\partial L}{\partial x} = \frac{\partial L}{\partial y}\left(1 + \frac{\partial F}{\partial x}\right),$$
#
# so the gradient reaches the block's input through the "1" even when ∂F/∂x is small or badly scaled,
# instead of being multiplied by one layer's Jacobian after another. Part 6 of this notebook measures it.
#
# When F changes the shape (fewer, larger maps → more, smaller maps), x cannot be added as it is; the
# shortcut then transforms it to the new shape (Eq. 2: y = F(x) + W_s·x; part 3 below).
#
# The picture, in the paper's Fig. 2 and Fig. 5 style (BN = BatchNorm; the block of ResNet-50 and deeper,
# the bottleneck, is the third one):

# %%
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyBboxPatch

BOX_COLORS = {"conv": "#cfe2f3", "BN": "#e6e6e6", "ReLU": "#fde2c8"}


def draw_block(axes: Axes, title: str, layers: list[str], shortcut: str | None, after_add: str | None = "ReLU") -> None:
    """Draw a block top to bottom: input x, its layers, then ⊕ with the shortcut and what follows the sum."""
    axes.set(xlim=(0, 10), ylim=(-len(layers) - 3.2, 1.0))
    axes.axis("off")
    axes.set_title(title, fontsize="medium")
    arrow = dict(arrowstyle="-|>", color="black", linewidth=1)
    axes.text(4, 0.3, "x", ha="center", va="center", fontsize="large", style="italic")
    previous_y = 0.0
    for index, layer in enumerate(layers):
        y = -1.0 - index
        kind = "conv" if "conv" in layer else ("BN" if layer == "BN" else "ReLU")
        axes.add_patch(FancyBboxPatch((1.5, y - 0.32), 5, 0.64, boxstyle="round,pad=0.02",
                                      facecolor=BOX_COLORS[kind], edgecolor="#555555"))
        axes.text(4, y, layer, ha="center", va="center", fontsize="small")
        axes.annotate("", xy=(4, y + 0.34), xytext=(4, previous_y - 0.12 if index else 0.05), arrowprops=arrow)
        previous_y = y - 0.32
    y = previous_y - 0.7
    if shortcut is not None:
        axes.annotate("", xy=(4, y + 0.25), xytext=(4, previous_y), arrowprops=arrow)
        axes.add_patch(Circle((4, y), 0.25, facecolor="white", edgecolor="black"))
        axes.text(4, y, "+", ha="center", va="center", fontsize="large")
        axes.plot([4.3, 8.6, 8.6], [0.3, 0.3, y], color=viz.COLORS[1], linewidth=2)
        axes.annotate("", xy=(4.27, y), xytext=(8.6, y), arrowprops=dict(arrow, color=viz.COLORS[1], linewidth=2))
        axes.text(8.8, (0.3 + y) / 2, shortcut, rotation=-90, ha="left", va="center", fontsize="small",
                  color=viz.COLORS[1])
        previous_y = y - 0.25
    if after_add is not None:
        y = previous_y - 0.75
        axes.add_patch(FancyBboxPatch((1.5, y - 0.32), 5, 0.64, boxstyle="round,pad=0.02",
                                      facecolor=BOX_COLORS["ReLU"], edgecolor="#555555"))
        axes.text(4, y, after_add, ha="center", va="center", fontsize="small")
        axes.annotate("", xy=(4, y + 0.34), xytext=(4, previous_y), arrowprops=arrow)
        previous_y = y - 0.32
    axes.annotate("", xy=(4, previous_y - 0.5), xytext=(4, previous_y), arrowprops=arrow)


diagram = Figure(figsize=(11, 4.6), layout="constrained")
plain_axes, basic_axes, bottleneck_axes = diagram.subplots(1, 3)
draw_block(plain_axes, "plain block", ["3×3 conv, 64", "BN", "ReLU", "3×3 conv, 64", "BN"], None)
draw_block(basic_axes, "residual basic block (ResNet-18/34)", ["3×3 conv, 64", "BN", "ReLU", "3×3 conv, 64", "BN"],
           "identity x")
draw_block(bottleneck_axes, "bottleneck block (ResNet-50/101/152)",
           ["1×1 conv, 64", "BN + ReLU", "3×3 conv, 64", "BN + ReLU", "1×1 conv, 256", "BN"], "identity x (256-d)")
diagram

# %% [markdown]
# ## 3 · Build the block step by step
#
# The course's `CifarBasicBlock` is the basic block of the paper's CIFAR networks: 3×3 convolution → BN →
# ReLU → 3×3 convolution → BN, then the shortcut is added and a last ReLU follows the sum (Fig. 2). Following
# one Fashion-MNIST-sized feature map through it shows that F keeps the shape, which is what lets the sum
# happen:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
block = CifarBasicBlock(16, 16).eval()
x = torch.relu(torch.randn(1, 16, 28, 28))  # a block's input comes out of a ReLU
out = x
for step in ["conv1", "bn1", "relu", "conv2", "bn2"]:
    out = getattr(block, step)(out)
    print(f"F: {step:<6} -> {tuple(out.shape)}")
print(f"shortcut: identity -> {tuple(block.shortcut(x).shape)}")
out = torch.relu(out + block.shortcut(x))
print(f"relu(F(x) + x)  -> {tuple(out.shape)}   equals block(x): {torch.allclose(out, block(x))}")

# %% [markdown]
# **Falling back to the identity.** In both blocks the last BatchNorm multiplies its output by a learned
# scale γ. Set γ = 0 and the residual branch outputs exactly zero. The residual block then returns its input
# unchanged (its input is non-negative, so the final ReLU changes nothing) — while the plain block with the
# very same weights outputs nothing at all. A plain block can only become the identity by *learning* it.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
residual_block = CifarBasicBlock(16, 16, shortcut="A").eval()
plain_block = CifarBasicBlock(16, 16, shortcut="none").eval()
plain_block.load_state_dict(residual_block.state_dict())  # the same weights; only the shortcut differs
for candidate in (residual_block, plain_block):
    nn.init.zeros_(candidate.bn2.weight)  # γ = 0 in the last BatchNorm: F(x) = β = 0
x = torch.relu(torch.randn(2, 16, 28, 28))
print("residual block, F = 0: output equals input exactly:", torch.equal(residual_block(x), x))
print("plain block,    F = 0: output is all zeros:        ", bool((plain_block(x) == 0).all()))

# %% [markdown]
# Goyal et al. (2017, arXiv:1706.02677) turned this into an initialisation: start every block's
# last γ at zero, so that the whole network begins as a stack of identities
# (`create_model("resnet50", zero_init_residual=True)`; the ResNet paper itself does not do this).
#
# ### When the shapes differ: options A and B
#
# The first block of the second and third stage halves the map (stride 2) and doubles the filters
# (16 → 32 → 64), so F(x) no longer has x's shape. The paper offers two shortcuts for these blocks
# (Section 3.3); every other shortcut stays the identity:
#
# * **option A** — keep the identity: take every second row and column and pad the new channels with
#   zeros. No parameters. The paper uses it for its CIFAR networks (Section 4.2) and the course's `resnet20`,
#   `resnet56`, ... do too.
# * **option B** — a **projection shortcut** (射影ショートカット): a 1×1 convolution with stride 2 (plus BN)
#   maps x to the new shape. It adds parameters, and torchvision's ImageNet ResNets use it.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
x = torch.randn(1, 16, 28, 28)
for option in ("A", "B"):
    down_block = CifarBasicBlock(16, 32, stride=2, shortcut=option)
    print(f"option {option}: F(x) {tuple(down_block.residual(x).shape)}, shortcut(x) {tuple(down_block.shortcut(x).shape)}, "
          f"shortcut parameters {profile.count_parameters(down_block.shortcut)}")
padded = option_a_shortcut(x, 32, stride=2)
print("option A: channels 0-15 are x at every 2nd pixel:", torch.equal(padded[:, :16], x[:, :, ::2, ::2]))
print("option A: channels 16-31 are zeros:              ", bool((padded[:, 16:] == 0).all()))

# %% [markdown]
# On ImageNet the paper compares three choices for ResNet-34 (Table 3, top-1 error, 10-crop): A, zero-padding
# (25.03%); B, projections only where the shape changes (24.52%); C, projections on *every* shortcut
# (24.19%). All three beat the plain network (28.54%) by far, so projections are "not essential for
# addressing the degradation problem"; the paper drops C to keep memory, time and model size down — identity
# shortcuts matter most for the bottleneck networks (Section 4.1). Why B beats A: the zero-padded channels get
# no residual learning — their content comes from F alone.
#
# Stacking such blocks gives the whole network. ResNet-20 on a Fashion-MNIST image: one 3×3 stem
# convolution, three stages of three blocks (28×28, 14×14, 7×7 maps), global average pooling and one fully
# connected layer: 1 + 3·3·2 + 1 = 20 layers with weights.

# %%
# NBVAL_CHECK_OUTPUT
model = create_model("resnet20", num_classes=10, in_channels=1).eval()
x = torch.zeros(1, 1, 28, 28)
for stage in ["stem", "layer1", "layer2", "layer3"]:
    x = getattr(model, stage)(x)
    print(f"{stage:<7} -> {tuple(x.shape)}")
x = torch.flatten(model.avgpool(x), 1)
print(f"avgpool -> {tuple(x.shape)}")
print(f"fc      -> {tuple(model.fc(x).shape)}")
convolutions = sum(isinstance(module, nn.Conv2d) for module in model.modules())
print(f"layers with weights: {convolutions} convolutions + 1 fully connected = {convolutions + 1}")

# %% [markdown]
# ## 4 · Count it: basic block versus bottleneck
#
# For deeper ImageNet networks the paper replaces the basic block by a **bottleneck** (Section 4.1, "Deeper
# Bottleneck Architectures", Fig. 5): a 1×1 convolution reduces 256 channels to 64, the 3×3 convolution runs
# on those 64, and a second 1×1 convolution restores 256. Convolutions have no bias (BatchNorm follows), each
# BatchNorm has 2 parameters per channel, and a k×k convolution from C_in to C_out channels has k²·C_in·C_out
# weights and does that many multiply-adds at every output position:
#
# * basic block on C channels: 2·9·C² weights + 2·2C BN parameters; MACs = 2·9·C²·H·W.
# * bottleneck on 4w channels with width w: 4w·w + 9·w² + w·4w = 17·w² weights + 2·(w + w + 4w) BN
#   parameters; MACs = 17·w²·H·W.
#
# So at w = 64 the bottleneck on 256 channels (17·64² = 69,632 weights) costs about the same as a basic block
# on 64 channels (18·64² = 73,728), and about 17 times less than a basic block on 256 channels. The library's
# formulas (`cnncourse.profile.basic_block_params`, `bottleneck_params`, and their `_macs` twins) say the same,
# and PyTorch agrees on blocks at conv2_x's 56×56 resolution:

# %%
# NBVAL_CHECK_OUTPUT
blocks = [
    ("basic, 64 ch", BasicBlock(64, 64), 64,
     profile.basic_block_params(64, 64), profile.basic_block_macs(64, 64, 56, 56)),
    ("bottleneck, 256 ch", Bottleneck(256, 64), 256,
     profile.bottleneck_params(256, 64), profile.bottleneck_macs(256, 64, 56, 56)),
    ("basic, 256 ch", BasicBlock(256, 256), 256,
     profile.basic_block_params(256, 256), profile.basic_block_macs(256, 256, 56, 56)),
]
print(f"{'block':<19} {'params: formula':>16} {'measured':>10} {'MACs: formula':>15} {'measured':>13}")
for label, block, channels, params_by_formula, macs_by_formula in blocks:
    params_measured = profile.count_parameters(block)
    macs_measured = profile.count_macs(block, (channels, 56, 56))
    print(f"{label:<19} {params_by_formula:>16,} {params_measured:>10,} {macs_by_formula:>15,} {macs_measured:>13,}"
          f"   agree: {params_by_formula == params_measured and macs_by_formula == macs_measured}")

# %% [markdown]
# Per layer the gap is wider still: the bottleneck's three layers hold 69,632 weights *together*, while each
# of the two layers of a basic block on 256 channels holds 9·256² = 589,824. So at equal depth — the same
# number of layers — and equal block width, a bottleneck network is far cheaper. That is what made
# ResNet-50/101/152 affordable: replacing every two-layer basic block of ResNet-34 by a three-layer
# bottleneck gives ResNet-50, with four times wider stage outputs (256 … 2048 channels), for 3.8 instead of
# 3.6 billion multiply-adds (Table 1; the paper calls them FLOPs).
#
# ### Whole networks: ResNet-20 and ResNet-50
#
# Adding up the blocks gives the whole network. For the CIFAR ResNets (option A shortcuts have no
# parameters), with the paper's 3×32×32 CIFAR input:

# %%
# NBVAL_CHECK_OUTPUT
def cifar_resnet_counts(blocks_per_stage: int, shortcut: str = "A", in_channels: int = 3,
                        image_size: int = 32, num_classes: int = 10) -> tuple[int, int]:
    """Parameters and MACs of a 6n+2-layer CIFAR ResNet, summed block by block from the library's formulas."""
    params = profile.conv2d_params(in_channels, 16, 3) + profile.batchnorm_params(16)
    macs = profile.conv2d_macs(in_channels, 16, 3, image_size, image_size)
    in_planes, size = 16, image_size
    for stage, planes in enumerate((16, 32, 64)):
        for index in range(blocks_per_stage):
            stride = 2 if stage > 0 and index == 0 else 1
            projection = shortcut == "B" and (stride != 1 or in_planes != planes)
            params += profile.basic_block_params(in_planes, planes, stride, downsample=projection)
            macs += profile.basic_block_macs(in_planes, planes, size, size, stride, downsample=projection)
            in_planes, size = planes, profile.conv_output_size(size, 3, stride)
    params += profile.linear_params(64, num_classes)
    macs += profile.linear_macs(64, num_classes)
    return params, macs


params_by_formula, macs_by_formula = cifar_resnet_counts(3)
resnet20 = create_model("resnet20")
print(f"ResNet-20 parameters: formula {params_by_formula:,}, measured {profile.count_parameters(resnet20):,}, "
      f"paper 0.27M (Table 6)")
print(f"ResNet-20 MACs:       formula {macs_by_formula:,}, measured {profile.count_macs(resnet20, (3, 32, 32)):,}")

# %% [markdown]
# ResNet-50 (Table 1): a 7×7 stride-2 stem with 64 filters, a 3×3 stride-2 max pool, then 3, 4, 6 and 3
# bottleneck blocks of width 64, 128, 256 and 512; the first block of each stage projects its shortcut
# (option B) and, from the second stage on, halves the map.
#
# One detail explains a famous discrepancy. The paper's Table 1 says 3.8×10⁹ multiply-adds. torchvision's
# ResNet-50 — and ours — put the stride-2 of a downsampling bottleneck on the **3×3** convolution
# ("ResNet v1.5"), while the paper's released models put it on the first **1×1**; the 1×1 then works at the
# smaller output resolution. Same parameters, more multiply-adds. The formula can count both:

# %%
# NBVAL_CHECK_OUTPUT
def resnet50_counts(stride_on_first_1x1: bool = False) -> tuple[int, int]:
    """Parameters and MACs of ResNet-50 on 3×224×224, from the block formulas."""
    params = profile.conv2d_params(3, 64, 7) + profile.batchnorm_params(64)
    macs = profile.conv2d_macs(3, 64, 7, 112, 112)
    in_planes, size = 64, 56  # after the stride-2 stem and the stride-2 max pool
    for planes, num_blocks, stride in zip((64, 128, 256, 512), (3, 4, 6, 3), (1, 2, 2, 2)):
        for index in range(num_blocks):
            block_stride = stride if index == 0 else 1
            params += profile.bottleneck_params(in_planes, planes, block_stride)
            macs += profile.bottleneck_macs(in_planes, planes, size, size, block_stride)
            out_size = profile.conv_output_size(size, 3, block_stride)
            if stride_on_first_1x1 and block_stride == 2:  # the first 1×1 runs at the output resolution
                macs -= profile.conv2d_macs(in_planes, planes, 1, size, size)
                macs += profile.conv2d_macs(in_planes, planes, 1, out_size, out_size)
            in_planes, size = planes * 4, out_size
    params += profile.linear_params(2048, 1000)
    macs += profile.linear_macs(2048, 1000)
    return params, macs


resnet50 = create_model("resnet50")
params_v15, macs_v15 = resnet50_counts()
_, macs_v1 = resnet50_counts(stride_on_first_1x1=True)
print(f"ResNet-50 parameters: formula {params_v15:,}, measured {profile.count_parameters(resnet50):,}, "
      f"torchvision 25,557,032")
print(f"ResNet-50 MACs, stride on the 3×3 (v1.5): formula {macs_v15:,}, "
      f"measured {profile.count_macs(resnet50, (3, 224, 224)):,}")
print(f"ResNet-50 MACs, stride on the first 1×1 (paper): formula {macs_v1:,} = {macs_v1 / 1e9:.2f}×10⁹"
      f" (Table 1: 3.8×10⁹)")

# %% [markdown]
# ## 5 · Our ResNet-50 is torchvision's ResNet-50
#
# The course's `resnet50` is written to be read, but it keeps torchvision's layer names and structure, so
# torchvision's weights load into it *strictly* (every tensor name and shape must match, nothing left over)
# and both networks compute the same function. Shown here with random weights, so nothing is downloaded:

# %%
# NBVAL_CHECK_OUTPUT
import torchvision

torch.manual_seed(0)
reference_resnet50 = torchvision.models.resnet50(weights=None).eval()
resnet50.load_state_dict(reference_resnet50.state_dict(), strict=True)
resnet50.eval()
same_names = list(resnet50.state_dict()) == list(reference_resnet50.state_dict())
print(f"strict load: ok; {len(reference_resnet50.state_dict())} tensors with the same names in the same order: {same_names}")
print(f"parameters: ours {profile.count_parameters(resnet50):,}, torchvision {profile.count_parameters(reference_resnet50):,}")
images = torch.randn(1, 3, 224, 224)
with torch.inference_mode():
    ours_out, torchvision_out = resnet50(images), reference_resnet50(images)
print(f"outputs {tuple(ours_out.shape)}; same up to float rounding: {torch.allclose(ours_out, torchvision_out, atol=1e-5)}")

# %% [markdown]
# **Optional: real ImageNet weights.** Online, `create_model("resnet50", weights="torchvision")` downloads
# torchvision's ImageNet weights once (about 100 MB) and loads them the same way. The next cell then
# classifies a photograph that ships with matplotlib. It is skipped in fast mode (the tests never download
# anything) and when the download server cannot be reached.

# %%
import socket
from pathlib import Path
from urllib.parse import urlparse

from torchvision.models import ResNet50_Weights

from cnncourse.errors import CourseError

imagenet_weights = ResNet50_Weights.DEFAULT


def weights_reachable(weights: ResNet50_Weights) -> bool:
    """True when the weights are cached already or their server answers (a connection test, no download)."""
    if (Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(weights.url).path).name).exists():
        return True
    try:
        with socket.create_connection((urlparse(weights.url).hostname, 443), timeout=3):
            return True
    except OSError:
        return False


if fast_mode():
    print("Skipped in fast mode: this cell would download ImageNet weights (about 100 MB).")
elif not weights_reachable(imagenet_weights):
    print("Skipped: torchvision's weight server cannot be reached (offline?). Everything else works offline.")
else:
    from matplotlib import cbook
    from PIL import Image

    try:
        pretrained = create_model("resnet50", weights="torchvision").eval()
        with cbook.get_sample_data("grace_hopper.jpg") as file:
            photo = Image.open(file).convert("RGB")
        with torch.inference_mode():
            probabilities = pretrained(imagenet_weights.transforms()(photo).unsqueeze(0)).softmax(dim=1)[0]
        display(photo.resize((150, 176)))
        for probability, index in zip(*probabilities.topk(5)):
            print(f"{imagenet_weights.meta['categories'][index]:<22} {probability:.1%}")
    except CourseError as error:
        print(f"Skipped: {error}")

# %% [markdown]
# ## 6 · Why it trains: BatchNorm, He initialisation, and the gradient through shortcuts
#
# ResNet relies on the two tools of chapter 00 as well (Section 3.4): **BatchNorm** right after every
# convolution and before the activation (Ioffe & Szegedy, 2015, arXiv:1502.03167), and the **He
# initialisation** (He et al., 2015, arXiv:1502.01852): weights drawn with variance 2/n, where n is the
# number of inputs (fan-in) or outputs (fan-out) of a unit, k²·C. The 2 compensates the ReLU, which zeroes
# half of its inputs on average, so that the signal keeps its scale from layer to layer (that paper's
# Section 2.2 derives both the fan-in and the fan-out version). The paper uses no dropout.
#
# Both tools keep the *forward* signal at a sane scale. Forty plain 3×3 convolution + ReLU layers on
# Fashion-MNIST images, without BatchNorm: with variance 2/n the activations keep their size; with 1/n they
# shrink by a factor √2 per layer; BatchNorm restores the scale at every layer even with the bad
# initialisation.

# %%
def activation_scale(depth: int, weight_variance: float, batch_norm: bool) -> list[float]:
    """Standard deviation of the activations after each of ``depth`` conv(+BN)+ReLU layers of 16 channels."""
    torch.manual_seed(0)
    x = (train_set.images[:16].float() / 255).repeat(1, 16, 1, 1)  # 16 images, the grey channel copied 16×
    scales = []
    with torch.no_grad():
        for _ in range(depth):
            conv = nn.Conv2d(16, 16, 3, padding=1, bias=False)
            nn.init.normal_(conv.weight, std=math.sqrt(weight_variance / (9 * 16)))  # n = k²·C_in = 144
            x = conv(x)
            if batch_norm:
                x = nn.functional.batch_norm(x, None, None, training=True)
            x = torch.relu(x)
            scales.append(x.std().item())
    return scales


layers = list(range(1, 41))
figure = Figure(figsize=(6.5, 3.6), layout="constrained")
axes = figure.subplots()
for label, variance, batch_norm in [("He: variance 2/n", 2.0, False), ("variance 1/n", 1.0, False),
                                    ("variance 1/n + BatchNorm", 1.0, True)]:
    axes.semilogy(layers, activation_scale(40, variance, batch_norm), marker=".", label=label)
axes.set(xlabel="layer", ylabel="activation std (log scale)", title="Forward signal through 40 conv + ReLU layers")
axes.grid(alpha=0.3)
axes.legend()
figure

# %% [markdown]
# The course's ResNets initialise every convolution as torchvision does: He's normal distribution with the
# fan-out version, standard deviation √(2 / (k²·C_out)), and BatchNorm with γ = 1, β = 0:

# %%
# NBVAL_CHECK_OUTPUT
seed_everything(0)
conv = create_model("resnet20", num_classes=10, in_channels=1).layer3[1].conv1
fan_out = conv.kernel_size[0] * conv.kernel_size[1] * conv.out_channels
print(f"layer3[1].conv1 {tuple(conv.weight.shape)}: weight std {conv.weight.std().item():.4f}, "
      f"He fan-out √(2/{fan_out}) = {math.sqrt(2 / fan_out):.4f}")

# %% [markdown]
# **The gradient, measured.** What happens on the way *back*? One batch of 32 Fashion-MNIST images,
# the networks as initialised, in training mode, and the norm of the gradient of every convolution's weights,
# from the first layer (next to the input) to the last:

# %%
def conv_gradient_norms(name: str, images: torch.Tensor, labels: torch.Tensor) -> list[float]:
    """Norm of each convolution's weight gradient, input side first, for one batch at initialisation."""
    torch.manual_seed(0)
    network = create_model(name, num_classes=10, in_channels=1).train()
    nn.functional.cross_entropy(network(images), labels).backward()
    return [module.weight.grad.norm().item() for module in network.modules() if isinstance(module, nn.Conv2d)]


mean, std = train_set.spec.mean[0], train_set.spec.std[0]
batch_images, batch_labels = (train_set.images[:32].float() / 255 - mean) / std, train_set.labels[:32]
gradient_norms = {name: conv_gradient_norms(name, batch_images, batch_labels) for name in ("plain56", "resnet56")}

figure = Figure(figsize=(7, 3.6), layout="constrained")
axes = figure.subplots()
for index, (name, norms) in enumerate(gradient_norms.items()):
    axes.semilogy(range(1, len(norms) + 1), norms, marker=".", color=viz.COLORS[index], label=DEPTH_RUNS[name])
axes.set(xlabel="convolution (1 = next to the input)", ylabel="‖∂L/∂W‖ (log scale)",
         title="Gradient norm per layer at initialisation")
axes.grid(alpha=0.3)
axes.legend()
display(figure)
for name, norms in gradient_norms.items():
    print(f"{DEPTH_RUNS[name]}: first layer / last layer gradient norm = {norms[0] / norms[-1]:,.0f}")

# %% [markdown]
# In the plain network the gradient does not vanish — with BatchNorm it *explodes* towards the input, by
# orders of magnitude over 56 layers (the effect chapter 00 saw; Yang et al., 2019, arXiv:1902.08129). The
# first layers would take huge steps while the last ones barely move. In ResNet-56 the shortcuts carry the
# gradient past every block (the "1 +" of part 2), and it stays within a much narrower band.
#
# The ResNet paper is careful here: it verified that in its BN plain networks neither the forward signals
# nor the backward gradients vanish, and conjectures instead that deep plain networks "may have exponentially
# low convergence rates" (Section 4.1) — badly scaled gradients are not the whole story of degradation. With
# shortcuts the same optimiser, on the same layers, makes deeper networks better: the paper's ResNets gain
# accuracy as the depth grows from 20 to 110 layers (Section 4.2, Fig. 6), the opposite of its plain
# networks.
#
# ### Pre-activation: ResNet v2 in brief
#
# In the original block the ReLU comes *after* the addition, so even an identity shortcut passes through a
# nonlinearity at every block. He, Zhang, Ren & Sun's follow-up (2016, "Identity Mappings in Deep Residual
# Networks", arXiv:1603.05027) reorders the block to BN → ReLU → conv → BN → ReLU → conv and adds *nothing*
# after the sum. Then x_{l+1} = x_l + F(x_l), and over many blocks (their Eqs. 4 and 5)
#
# $$x_L = x_l + \sum_{i=l}^{L-1} F(x_i), \qquad
#   \frac{\partial L}{\partial x_l} = \frac{\partial L}{\partial x_L}\Big(1 + \frac{\partial}{\partial x_l}\sum_{i=l}^{L-1} F(x_i)\Big):$$
#
# any block's signal reaches any later block directly, in both directions. With it ResNet-110 reaches 6.37%
# CIFAR-10 error instead of 6.61% (their Table 2), and a 1001-layer network 4.62% (their abstract). It is
# the same layers in a different order — the parameter count does not change:

# %%
# NBVAL_CHECK_OUTPUT
from cnncourse.models.resnet import PreActBlock

print("original block, layers in order:", [name for name, _ in CifarBasicBlock(16, 16).named_children()])
print("pre-activation, layers in order:", [name for name, _ in PreActBlock(16, 16).named_children()])
print(f"parameters: resnet20 {profile.count_parameters(create_model('resnet20')):,}, "
      f"preact_resnet20 {profile.count_parameters(create_model('preact_resnet20')):,}")

# %%
preact_figure = Figure(figsize=(7.5, 4.6), layout="constrained")
original_axes, preact_axes = preact_figure.subplots(1, 2)
draw_block(original_axes, "original (v1)", ["3×3 conv", "BN", "ReLU", "3×3 conv", "BN"], "identity x", "ReLU")
draw_block(preact_axes, "pre-activation (v2)", ["BN", "ReLU", "3×3 conv", "BN", "ReLU", "3×3 conv"], "identity x", None)
preact_figure

# %% [markdown]
# ## 7 · See it work: the trained ResNet-20
#
# The course's reference ResNet-20, trained on the full training set with `python -m cnncourse train`, is
# evaluated on the test set below: test accuracy, the confusion matrix, and the test images it gets most
# confidently wrong. Without the checkpoint the cell says so and uses the ResNet-20 from the short live run of
# part 1 instead, which has seen far less data — expect a much lower accuracy.

# %%
REFERENCE_RESNET20 = "resnet20_fashion_mnist"
have_reference_resnet20 = REFERENCE_RESNET20 in installed_checkpoints
if have_reference_resnet20:
    trained_resnet20, source = load_pretrained(REFERENCE_RESNET20), f"reference checkpoint {REFERENCE_RESNET20}"
    metadata = trained_resnet20.checkpoint_metadata
    print(f"{REFERENCE_RESNET20}: {metadata['epochs']} epochs on all {len(train_set):,} training images, "
          f"{metadata['wall_time_s'] / 60:.0f} min on {metadata['device']}; recorded test accuracy "
          f"{metadata['test_accuracy']:.2%} on all {len(test_set):,} test images.\n"
          f"Trained with: {metadata['command']}")
else:
    print(f"Reference checkpoint {REFERENCE_RESNET20!r} is not installed; train it with: python -m cnncourse "
          "train --model resnet20 --dataset fashion-mnist --epochs 35 --out checkpoints. "
          "Using the short live run's ResNet-20 instead.")
    trained_resnet20, source = live_models["resnet20"], f"live run ({LIVE_TRAIN_IMAGES} training images)"
result = evaluate(trained_resnet20, test_set, return_predictions=True)
print(f"{source}: test accuracy {result['accuracy']:.2%} measured now on {result['count']:,} test images"
      + (" (fast mode: a subset)" if fast_mode() else ""))
viz.plot_confusion_matrix(result["labels"], result["predictions"], test_set.classes)

# %% [markdown]
# The most confident mistakes are the most instructive: the title of each picture is "prediction (truth)".

# %%
matrix = confusion_matrix(result["labels"], result["predictions"], test_set.num_classes)
off_diagonal = matrix - torch.diag(torch.diag(matrix))
true_class, predicted_class = divmod(int(off_diagonal.argmax()), test_set.num_classes)
print(f"most frequent confusion: {test_set.classes[true_class]} taken for {test_set.classes[predicted_class]} "
      f"({int(off_diagonal.max())} of {int(matrix[true_class].sum())} test images)")

wrong = torch.nonzero(result["predictions"] != result["labels"]).flatten()
with torch.inference_mode():
    trained_resnet20.eval()
    wrong_images = (test_set.images[wrong].float() / 255 - mean) / std
    confidence = trained_resnet20(wrong_images).softmax(dim=1).amax(dim=1)
most_confident = wrong[confidence.argsort(descending=True)][:16]
viz.show_images(test_set.images[most_confident], test_set.labels[most_confident], test_set.classes, n=16,
                predictions=result["predictions"][most_confident])

# %% [markdown]
# Read the reference network's pictures (the stored output) before blaming it. Its confusions are the ones
# the classes invite: shirt against T-shirt/top, pullover and coat — the diagonal's weakest entry is
# Shirt. And several of its most confident "mistakes" are arguable labels: a long dark garment labelled
# Trouser that looks like a dress, dark long-sleeved tops labelled Shirt that look like pullovers. At about
# 95% accuracy, part of what is left is noise in the labels rather than in the network.

# %% [markdown]
# ### Aside: residual networks as ensembles of paths (Veit et al., 2016)
#
# Veit, Wilber & Belongie (2016, "Residual Networks Behave Like Ensembles of Relatively Shallow Networks",
# arXiv:1605.06431) offer another way to look at ResNets. Write each block as x + f(x) and expand three blocks:
# (1 + f₃)(1 + f₂)(1 + f₁)·x has 2³ = 8 terms — every block is either taken or skipped. A network of n blocks
# is in this "unravelled view" a collection of 2ⁿ paths of different lengths that share their weights
# (strictly so when one ignores the ReLU after each addition). Their experiments support the view: deleting
# a single block from a trained ResNet at test time barely changes its error, while deleting a layer from a
# VGG network destroys it; and most of the gradient during training flows through short paths — in a
# 110-layer ResNet through paths only 10 to 34 layers deep (their abstract).
#
# This is **not** bagging. Bagging trains independent models on bootstrap resamples of the data and
# averages them; the paths of a ResNet are trained together, on the same data, by one optimiser, and share
# every weight. "Ensemble-like" describes how the trained network *behaves*, not how it is built. For
# ResNet-56, counting the paths by the number of residual branches they pass through:

# %%
blocks_in_resnet56 = 27  # 3 stages × 9 blocks
path_counts = [math.comb(blocks_in_resnet56, k) for k in range(blocks_in_resnet56 + 1)]
print(f"ResNet-56: {blocks_in_resnet56} blocks → 2^{blocks_in_resnet56} = {2 ** blocks_in_resnet56:,} paths")
figure = Figure(figsize=(7, 3.2), layout="constrained")
axes = figure.subplots()
axes.bar([2 * k for k in range(blocks_in_resnet56 + 1)], [count / 1e6 for count in path_counts], width=1.6,
        color=viz.COLORS[0])
axes.set(xlabel="convolutions on the path (2 per residual branch taken)", ylabel="number of paths (millions)",
         title="Path lengths in the unravelled ResNet-56 (binomial)")
figure

# %% [markdown]
# The deletion experiment needs a *trained* network. With the reference ResNet-20 installed (or in a normal,
# non-fast run, the live run's ResNet-20), the next cell removes one residual branch at a time — the block is
# replaced by its shortcut alone — and measures the test accuracy. Compare with what Veit et al. report: most
# single deletions cost little; the blocks that change the shape hurt more.

# %%
import copy

if not have_reference_resnet20 and fast_mode():
    print("Skipped in fast mode without the reference checkpoint: the deletion experiment needs a trained network.")
else:
    LESION_IMAGES = 512 if fast_mode() else 2000  # test images per measurement: ten evaluations stay quick
    intact_accuracy = evaluate(trained_resnet20, test_set, subset=LESION_IMAGES)["accuracy"]
    print(f"{source}, all blocks: test accuracy {intact_accuracy:.2%} on the first {LESION_IMAGES} test images")
    for stage in ("layer1", "layer2", "layer3"):
        for index in range(len(getattr(trained_resnet20, stage))):
            lesioned = copy.deepcopy(trained_resnet20)
            stage_blocks = getattr(lesioned, stage)
            stage_blocks[index] = stage_blocks[index].shortcut  # keep only the shortcut: x, or option A's padding
            accuracy = evaluate(lesioned, test_set, subset=LESION_IMAGES)["accuracy"]
            print(f"  without {stage}[{index}]: {accuracy:.2%} ({100 * (accuracy - intact_accuracy):+.1f} points)")

# %% [markdown]
# With the shipped reference ResNet-20 (the stored output above), single deletions cost more than in Veit et
# al.'s ResNet-110: ResNet-20 has 9 blocks, so 2⁹ = 512 paths instead of 2⁵⁴, and each block carries a larger
# share of the work. Two of their observations still show: the downsampling blocks (`layer2[0]`, `layer3[0]`),
# whose shortcut is only a strided, zero-padded copy, hurt more than the blocks after them, and within the
# second and third stages each later block costs less than the one before. The odd one out is `layer1[0]`,
# the first block after the stem convolution: it keeps the shape, yet removing it breaks the network. The
# ensemble view describes how deep residual networks tend to behave, not a law: in a shallow one, some blocks
# are indispensable.

# %% [markdown]
# ## 8 · Explore: depth, parameters, multiply-adds and latency
#
# The CIFAR family has one knob, the number n of blocks per stage, and 6n + 2 layers. First the paper's
# table, counted by formula and measured, on the paper's 3×32×32 CIFAR input (Table 6 gives the
# parameters and the CIFAR-10 test errors):

# %%
# NBVAL_CHECK_OUTPUT
paper_table6 = {20: ("0.27M", "8.75%"), 32: ("0.46M", "7.51%"), 44: ("0.66M", "7.17%"), 56: ("0.85M", "6.97%"),
                110: ("1.7M", "6.43%")}
print(f"{'depth':>5} {'n':>3} {'params: formula':>16} {'measured':>10} {'paper':>6} {'MACs: formula':>14} "
      f"{'measured':>12} {'paper error':>12}")
for depth, (paper_params, paper_error) in paper_table6.items():
    n = (depth - 2) // 6
    params_by_formula, macs_by_formula = cifar_resnet_counts(n)
    network = cifar_resnet(depth)
    print(f"{depth:>5} {n:>3} {params_by_formula:>16,} {profile.count_parameters(network):>10,} {paper_params:>6} "
          f"{macs_by_formula:>14,} {profile.count_macs(network, (3, 32, 32)):>12,} {paper_error:>12}")

# %% [markdown]
# Now for the course's setting, Fashion-MNIST (1×28×28). Move the slider for n, switch the shortcut type
# (option B adds the two projections; "none" is the plain network, which has exactly the parameters of
# option A), and pick a batch size: the widget prints the counts, *measures* the CPU latency of one forward
# pass on this machine, and draws where the network sits on the parameter and multiply-add curves.
# Parameters and MACs grow linearly with n, while accuracy does not (the table above) — latency is measured
# because it does not follow the MACs exactly either.

# %%
from ipywidgets import Dropdown, IntSlider, interact

DEPTH_CHOICES = list(range(1, 19))  # n = 1 ... 18, i.e. 8 ... 110 layers


def explore_depth(n: int = 3, shortcut: str = "A", batch_size: int = 1) -> None:
    """Counts, measured latency and the parameter/MAC curves for a 6n+2-layer network on 1×28×28 images."""
    network = cifar_resnet(6 * n + 2, num_classes=10, in_channels=1, shortcut=shortcut)
    params, macs = cifar_resnet_counts(n, shortcut, in_channels=1, image_size=28)
    latency = profile.measure_latency(network, (1, 28, 28), batch_size=batch_size, warmup=1, repeats=5)
    print(f"{6 * n + 2} layers ({n} blocks per stage), shortcut {shortcut}: {params:,} parameters "
          f"(measured {profile.count_parameters(network):,}), {macs / 1e6:.1f}M MACs per image "
          f"(measured {profile.count_macs(network, (1, 28, 28)) / 1e6:.1f}M)")
    print(f"CPU latency, batch {batch_size}: {latency.median_ms:.1f} ms per forward pass "
          f"({latency.images_per_second:,.0f} images/s, {latency.threads} threads)")
    curves = [cifar_resnet_counts(k, shortcut, in_channels=1, image_size=28) for k in DEPTH_CHOICES]
    figure = Figure(figsize=(9, 3), layout="constrained")
    params_axes, macs_axes = figure.subplots(1, 2)
    layers = [6 * k + 2 for k in DEPTH_CHOICES]
    params_axes.plot(layers, [p / 1e6 for p, _ in curves], color=viz.COLORS[0])
    params_axes.plot([6 * n + 2], [params / 1e6], "o", markersize=10, color=viz.COLORS[1])
    params_axes.set(xlabel="layers (6n + 2)", ylabel="parameters (millions)")
    macs_axes.plot(layers, [m / 1e6 for _, m in curves], color=viz.COLORS[0])
    macs_axes.plot([6 * n + 2], [macs / 1e6], "o", markersize=10, color=viz.COLORS[1])
    macs_axes.set(xlabel="layers (6n + 2)", ylabel="MACs per image (millions)")
    for axes in (params_axes, macs_axes):
        axes.grid(alpha=0.3)
    display(figure)


interact(explore_depth,
         n=IntSlider(value=3, min=DEPTH_CHOICES[0], max=DEPTH_CHOICES[-1], continuous_update=False, description="n"),
         shortcut=Dropdown(options=[("A: zero-padding", "A"), ("B: 1×1 projection", "B"), ("none: plain", "none")],
                           value="A", description="shortcut"),
         batch_size=Dropdown(options=[1, 16, 64], value=1, description="batch"));

# %% [markdown]
# ## 9 · Quiz — 確認クイズ
#
# First the residual-block question from the article this course started from: several statements, select
# every correct one. Then five questions from the chapter's bank. Choose `lang="ja"` for Japanese; your answers
# are saved, and `python -m cnncourse quiz --review` brings back the ones you missed.

# %%
from cnncourse import quiz
from cnncourse.quiz.bank import load_bank

quiz.show([question for question in load_bank("resnet") if question.id == "resnet-001"], lang="en")

# %%
quiz.show("resnet", lang="en", n=5, seed=0)

# %% [markdown]
# ## Cheat-sheet — まとめ
#
# | 日本語 | English | remember |
# | --- | --- | --- |
# | 劣化問題 | degradation problem | deeper plain net → higher **training** error; not overfitting (Fig. 1: 20 vs 56 layers) |
# | 残差学習 | residual learning | learn F(x) = H(x) − x, output y = F(x) + x (Eq. 1) |
# | 残差ブロック | residual block | basic: 3×3, 3×3; bottleneck: 1×1, 3×3, 1×1; ReLU after the addition (v1) |
# | スキップ結合 (ショートカット結合) | skip (shortcut) connection | adds in ResNet (DenseNet concatenates); identity adds 0 parameters |
# | 恒等写像 | identity mapping | γ = 0 in the last BN makes a residual block exactly the identity |
# | 射影ショートカット | projection shortcut | y = F(x) + W_s·x, 1×1 conv (stride 2) where the shape changes: option B |
# | ゼロパディング (オプションA) | zero-padding shortcut (option A) | subsample + zero channels; no parameters; the paper's CIFAR choice |
# | ボトルネック構造 | bottleneck block | 256 → 64 → 64 → 256: 17·64² = 69,632 conv weights ≈ a basic block on 64 ch (73,728) |
# | He の初期化 | He initialisation | Var[W] = 2/n, n = k²·C (fan-in or fan-out) — the 2 is for ReLU |
# | バッチ正規化 | batch normalisation | after every conv, before ReLU; 2 parameters per channel |
# | 事前活性化 | pre-activation (ResNet v2) | BN → ReLU → conv, nothing after the sum: x_L = x_l + Σ F(x_i) |
# | ResNet v1.5 | ResNet v1.5 | stride 2 on the bottleneck's 3×3 (torchvision): ResNet-50 4.09G MACs vs the paper's 3.8G |
# | アンサンブル的解釈 | ensemble view (Veit et al., 2016) | n blocks = 2ⁿ weight-sharing paths; not bagging |
#
# **Numbers worth remembering.** ILSVRC 2015 winner, 3.57% top-5 error (ensemble). CIFAR networks: 6n + 2
# layers, 16/32/64 filters; ResNet-20 0.27M parameters, 8.75% error; ResNet-56 0.85M, 6.97%; ResNet-110 1.7M,
# 6.43%. ImageNet: ResNet-18/34 basic blocks (1.8/3.6 GFLOPs), ResNet-50/101/152 bottlenecks (3.8/7.6/11.3
# GFLOPs); ResNet-50 has 25,557,032 parameters (torchvision). Output size of a convolution:
# ⌊(H + 2p − k) / s⌋ + 1.
#
# ## References
# - K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* 2015, arXiv:1512.03385.
# - K. He, X. Zhang, S. Ren, J. Sun. *Identity Mappings in Deep Residual Networks.* 2016, arXiv:1603.05027.
# - K. He, X. Zhang, S. Ren, J. Sun. *Delving Deep into Rectifiers.* 2015, arXiv:1502.01852.
# - S. Ioffe, C. Szegedy. *Batch Normalization.* 2015, arXiv:1502.03167.
# - A. Veit, M. Wilber, S. Belongie. *Residual Networks Behave Like Ensembles of Relatively Shallow Networks.*
#   2016, arXiv:1605.06431.
# - P. Goyal et al. *Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour.* 2017, arXiv:1706.02677.
# - G. Yang, J. Pennington, V. Rao, J. Sohl-Dickstein, S. Schoenholz. *A Mean Field Theory of Batch
#   Normalization.* 2019, arXiv:1902.08129.
# - H. Xiao, K. Rasul, R. Vollgraf. *Fashion-MNIST.* 2017, arXiv:1708.07747.
#
# **Exercises:** `exercises/01_resnet.ipynb` (output sizes, stage sizes, bottleneck parameters, projection
# shortcut, the basic and bottleneck blocks). **Next:** chapter 02, Wide ResNet.
