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
# # 01b · Normalization layers — 正規化層 (interlude)
#
# **Goals.** By the end of this short notebook you will be able to say over which axes of an N×C×H×W
# feature map BatchNorm, LayerNorm, InstanceNorm and GroupNorm compute their mean and variance; write each
# from scratch and check it against `torch.nn`; explain what BatchNorm does differently at evaluation
# time (running statistics, momentum, the unbiased variance); and recognise the classic bug of evaluating
# a BatchNorm network in training mode.
#
# **Prerequisites.** Chapter 01 (BatchNorm appears there after every convolution) and chapter 00's data.
#
# **Time.** About 20 minutes to read and run. One cell trains: eight tiny runs of a four-layer CNN on 1,024
# Fashion-MNIST images (the budget is stated in part 4; each run's time is printed). On the course's 2-core
# CPU the two LayerNorm runs took 2.5 s and 7.0 s, the others up to 174 s because other work shared the two
# cores while the stored outputs were made (518 s for all eight). With `CNNCOURSE_FAST=1` the whole notebook
# runs in well under a minute.
#
# **Papers.** S. Ioffe, C. Szegedy. *Batch Normalization.* 2015, arXiv:1502.03167 (BN). J. L. Ba, J. R. Kiros,
# G. E. Hinton. *Layer Normalization.* 2016, arXiv:1607.06450 (LN). D. Ulyanov, A. Vedaldi, V. Lempitsky.
# *Instance Normalization: The Missing Ingredient for Fast Stylization.* 2016, arXiv:1607.08022 (IN).
# Y. Wu, K. He. *Group Normalization.* 2018, arXiv:1803.08494 (GN).

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
# %matplotlib inline
import copy
import time
from collections import OrderedDict

import torch
from IPython.display import display
from matplotlib.figure import Figure
from torch import nn

from cnncourse import data, profile, viz
from cnncourse.data import Batches
from cnncourse.settings import fast_mode
from cnncourse.train import evaluate, fit, seed_everything

train_set = data.fashion_mnist(train=True)
test_set = data.fashion_mnist(train=False)
print("fast mode:", fast_mode())

# %% [markdown]
# ## 1 · One formula, four choices of what to average over
#
# Every layer in this notebook computes the same thing. It takes a set S of values of the feature map,
# computes their mean μ_S and variance σ²_S, standardises, and then applies a learned scale γ and shift β
# per channel:
#
# $$\hat x = \frac{x - \mu_S}{\sqrt{\sigma_S^2 + \epsilon}}, \qquad y = \gamma\,\hat x + \beta .$$
#
# Only S differs (Wu & He, Section 3.1, write all four this way). For a feature map of shape N×C×H×W
# (N images, C channels, H×W positions):
#
# | layer | one (μ, σ²) per | averaged over | values per statistic | depends on the batch? |
# | --- | --- | --- | --- | --- |
# | BatchNorm (BN, Ioffe & Szegedy, Section 3.2) | channel | N, H, W | N·H·W | **yes** |
# | LayerNorm (LN, Ba et al., Section 3) | image | C, H, W | C·H·W | no |
# | InstanceNorm (IN, Ulyanov et al., Section 2) | image and channel | H, W | H·W | no |
# | GroupNorm (GN, Wu & He, Section 3.1) | image and group of C/G channels | C/G, H, W | (C/G)·H·W | no |
#
# GN contains the two per-image layers as its extremes: one group (G = 1) is LN, one channel per group (G = C)
# is IN (Wu & He, Section 3.1). The picture is the classic one (Wu & He, Fig. 2): each cube is a feature map
# with the batch axis N, the channel axis C and the positions H, W flattened into one axis; the blue cells are
# the values that share one mean and one variance.

# %%
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba

CUBE_N, CUBE_C, CUBE_HW, CUBE_GROUPS = 4, 6, 4, 3  # a small N×C×(H·W) feature map to draw


def normalized_together(kind: str) -> torch.Tensor:
    """Boolean N×C×(H·W) mask of the values that share one statistic with the last image's first channel."""
    mask = torch.zeros(CUBE_N, CUBE_C, CUBE_HW, dtype=torch.bool)
    if kind == "BatchNorm":
        mask[:, 0, :] = True  # one channel, every image, every position
    elif kind == "LayerNorm":
        mask[-1, :, :] = True  # one image, every channel, every position
    elif kind == "InstanceNorm":
        mask[-1, 0, :] = True  # one image, one channel, every position
    elif kind == "GroupNorm":
        mask[-1, : CUBE_C // CUBE_GROUPS, :] = True  # one image, one group of channels, every position
    return mask


def draw_normalization_cube(axes: Axes, kind: str) -> None:
    """One cube of Wu & He's Fig. 2: N and C on the floor, H·W upwards, the shared set in blue."""
    mask = normalized_together(kind).numpy()
    colors = np.where(mask[..., None], to_rgba(viz.COLORS[0]), to_rgba("#e3e3e3"))  # opaque: no see-through
    axes.voxels(np.ones_like(mask), facecolors=colors, edgecolors="white", linewidth=0.4)
    axes.set(xticks=[], yticks=[], zticks=[])
    axes.set_xlabel("N (images)", labelpad=-12)
    axes.set_ylabel("C (channels)", labelpad=-12)
    axes.set_zlabel("H, W", labelpad=-12)
    axes.set_box_aspect((CUBE_N, CUBE_C, CUBE_HW))
    axes.view_init(elev=22, azim=-58)
    axes.set_title(kind)


cube_figure = Figure(figsize=(11, 3.4), layout="constrained")
for index, kind in enumerate(["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"]):
    draw_normalization_cube(cube_figure.add_subplot(1, 4, index + 1, projection="3d"), kind)
cube_figure.suptitle(f"Values that share one mean and variance (GroupNorm with G = {CUBE_GROUPS} groups of "
                     f"{CUBE_C // CUBE_GROUPS} channels)")
cube_figure

# %% [markdown]
# The same on one real tensor: a batch of 4 images with 6 channels of 3×3 positions. The cell prints the shape
# of the mean each layer computes and how many values go into each mean. Keep the shapes in mind: they are
# the whole difference between the four layers.

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
x = torch.randn(4, 6, 3, 3)  # N = 4 images, C = 6 channels, H = W = 3
GROUPS = 3
statistics_axes = {"BatchNorm": (0, 2, 3), "LayerNorm": (1, 2, 3), "InstanceNorm": (2, 3)}
for kind, axes in statistics_axes.items():
    mean = x.mean(dim=axes, keepdim=True)
    print(f"{kind:<12} averages over axes {axes}: mean shape {tuple(mean.shape)}, "
          f"{x.numel() // mean.numel()} values per mean")
grouped = x.reshape(4, GROUPS, -1)  # channels 0-1, 2-3, 4-5 become groups 0, 1, 2
mean = grouped.mean(dim=2, keepdim=True)
print(f"{'GroupNorm':<12} averages over each group's (C/G, H, W): mean shape {tuple(mean.shape)} for G = {GROUPS}, "
      f"{x.numel() // mean.numel()} values per mean")

# %% [markdown]
# Only BatchNorm's statistic has no N in its shape: it is shared by the whole batch, so every image's output
# depends on the other images in the batch. That single fact drives the rest of this notebook.
#
# ## 2 · From scratch, equal to `torch.nn`
#
# The four layers in a few lines each. BatchNorm is the only one with *state*: in training mode it normalises
# with the batch's statistics and keeps exponential moving averages of them, the **running statistics**; in
# evaluation mode it normalises with those averages instead (Ioffe & Szegedy, Algorithm 2, use the population
# statistics at inference). Two details that PyTorch follows and that the from-scratch version must copy to be
# equal:
#
# * PyTorch's `momentum` (default 0.1) is the weight of the **new** batch:
#   running ← (1 − momentum)·running + momentum·batch statistic. Keras' `momentum` (default 0.99) is the
#   weight of the **old** value — the same update written the other way round.
# * Normalising uses the **biased** batch variance (divide by m = N·H·W), but the running variance is updated
#   with the **unbiased** one (divide by m − 1), as Algorithm 2 does with its m/(m − 1) factor.

# %%
def batch_norm_statistics(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-channel mean and biased variance over (N, H, W), shaped 1×C×1×1 (Ioffe & Szegedy, Algorithm 1)."""
    return x.mean(dim=(0, 2, 3), keepdim=True), x.var(dim=(0, 2, 3), keepdim=True, unbiased=False)


class ScratchBatchNorm2d(nn.Module):
    """BatchNorm over (N, H, W) per channel, with running statistics as ``nn.BatchNorm2d`` keeps them.

    Training mode: normalise with the batch statistics; update running_mean and running_var (the latter
    with the unbiased variance) by ``running ← (1 − momentum)·running + momentum·batch``. Evaluation mode:
    normalise with the running statistics (Ioffe & Szegedy, 2015, arXiv:1502.03167, Algorithms 1 and 2).
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(channels))  # γ, one per channel
        self.bias = nn.Parameter(torch.zeros(channels))  # β, one per channel
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            mean, variance = batch_norm_statistics(x)
            values_per_channel = x.numel() // x.shape[1]  # m = N·H·W
            with torch.no_grad():  # the running statistics are buffers, not part of the gradient
                unbiased = variance.flatten() * values_per_channel / (values_per_channel - 1)
                self.running_mean.lerp_(mean.flatten(), self.momentum)
                self.running_var.lerp_(unbiased, self.momentum)
        else:
            mean, variance = self.running_mean.view(1, -1, 1, 1), self.running_var.view(1, -1, 1, 1)
        x_hat = (x - mean) / torch.sqrt(variance + self.eps)
        return self.weight.view(1, -1, 1, 1) * x_hat + self.bias.view(1, -1, 1, 1)


def layer_norm(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """LayerNorm of each image over (C, H, W) (Ba et al., 2016, arXiv:1607.06450, Section 3).

    ``weight`` and ``bias`` have the normalised shape C×H×W, as in ``nn.LayerNorm((C, H, W))``.
    """
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    variance = x.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
    return weight * (x - mean) / torch.sqrt(variance + eps) + bias


def instance_norm(x: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """InstanceNorm of each channel of each image over (H, W) (Ulyanov et al., 2016, arXiv:1607.08022, Section 2)."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    variance = x.var(dim=(2, 3), keepdim=True, unbiased=False)
    return (x - mean) / torch.sqrt(variance + eps)


def group_norm(x: torch.Tensor, groups: int, weight: torch.Tensor, bias: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """GroupNorm: each image's channels in ``groups`` groups, each group over (C/G, H, W) (Wu & He, 2018, arXiv:1803.08494, Section 3.1)."""
    n, c, h, w = x.shape
    grouped = x.reshape(n, groups, c // groups * h * w)  # consecutive channels form a group
    mean = grouped.mean(dim=2, keepdim=True)
    variance = grouped.var(dim=2, keepdim=True, unbiased=False)
    x_hat = ((grouped - mean) / torch.sqrt(variance + eps)).reshape(n, c, h, w)
    return weight.view(1, -1, 1, 1) * x_hat + bias.view(1, -1, 1, 1)


# %% [markdown]
# Now the checks. `torch.testing.assert_close` raises an error with the largest difference when two tensors
# differ by more than float rounding; every line printed below is a check that passed. BatchNorm is checked
# over three training steps (outputs and both running statistics after every step) and then in evaluation
# mode, with random γ and β so that the learned part is checked too.

# %%
# NBVAL_CHECK_OUTPUT
from torch.testing import assert_close

torch.manual_seed(0)
reference_bn, scratch_bn = nn.BatchNorm2d(6), ScratchBatchNorm2d(6)
with torch.no_grad():
    reference_bn.weight.uniform_(0.5, 1.5)
    reference_bn.bias.uniform_(-0.5, 0.5)
    scratch_bn.load_state_dict(reference_bn.state_dict(), strict=False)  # γ, β and the running statistics
for step in range(1, 4):
    batch = torch.randn(8, 6, 5, 5) * 3 + step  # each step's batch has another mean and scale
    assert_close(scratch_bn(batch), reference_bn(batch))
    assert_close(scratch_bn.running_mean, reference_bn.running_mean)
    assert_close(scratch_bn.running_var, reference_bn.running_var)
    print(f"BatchNorm2d, training mode, step {step}: outputs, running_mean, running_var equal")
reference_bn.eval(), scratch_bn.eval()
test_batch = torch.randn(2, 6, 5, 5)
assert_close(scratch_bn(test_batch), reference_bn(test_batch))
print("BatchNorm2d, evaluation mode: outputs equal (both normalise with the running statistics)")
print(f"  after 3 steps: running_mean[0] = {reference_bn.running_mean[0]:.4f}, "
      f"num_batches_tracked = {int(reference_bn.num_batches_tracked)}")

n, c, h, w = x.shape
reference_ln = nn.LayerNorm((c, h, w))
with torch.no_grad():
    reference_ln.weight.normal_()
    reference_ln.bias.normal_()
assert_close(layer_norm(x, reference_ln.weight, reference_ln.bias), reference_ln(x))
print(f"LayerNorm over (C, H, W): equal to nn.LayerNorm({(c, h, w)}); its γ has shape "
      f"{tuple(reference_ln.weight.shape)}")

assert_close(instance_norm(x), nn.InstanceNorm2d(c)(x))
print("InstanceNorm2d: equal to nn.InstanceNorm2d (default: no γ/β, no running statistics)")

reference_gn = nn.GroupNorm(GROUPS, c)
with torch.no_grad():
    reference_gn.weight.normal_()
    reference_gn.bias.normal_()
assert_close(group_norm(x, GROUPS, reference_gn.weight, reference_gn.bias), reference_gn(x))
print(f"GroupNorm, G = {GROUPS}: equal to nn.GroupNorm({GROUPS}, {c}); its γ has shape {tuple(reference_gn.weight.shape)}")

ones, zeros = torch.ones(c), torch.zeros(c)
assert_close(group_norm(x, 1, ones, zeros), layer_norm(x, torch.ones(c, h, w), torch.zeros(c, h, w)))
print("GroupNorm with G = 1 normalises exactly as LayerNorm over (C, H, W)")
assert_close(group_norm(x, c, ones, zeros), instance_norm(x))
print(f"GroupNorm with G = C = {c} normalises exactly as InstanceNorm")

# %% [markdown]
# Two details the checks brought out:
#
# * **γ and β.** BatchNorm, InstanceNorm (with `affine=True`) and GroupNorm learn one γ and one β **per
#   channel**: 2C parameters. `nn.LayerNorm((C, H, W))` learns one **per element** of the normalised shape,
#   C·H·W each — and it fixes the image size. For a CNN the usual "LayerNorm" is therefore GroupNorm with one
#   group, `nn.GroupNorm(1, C)`: LN's statistics with per-channel γ and β. That is what part 4 trains.
# * **Defaults.** `nn.InstanceNorm2d` has neither γ/β nor running statistics unless asked
#   (`affine=True`, `track_running_stats=True`); BatchNorm has both by default.
#
# Counted on 64 channels of a 7×7 map (what the small CNN of part 4 has in its last layer):

# %%
# NBVAL_CHECK_OUTPUT
for label, layer in [("nn.BatchNorm2d(64)", nn.BatchNorm2d(64)),
                     ("nn.LayerNorm((64, 7, 7))", nn.LayerNorm((64, 7, 7))),
                     ("nn.GroupNorm(1, 64)  (LN for CNNs)", nn.GroupNorm(1, 64)),
                     ("nn.InstanceNorm2d(64)", nn.InstanceNorm2d(64)),
                     ("nn.InstanceNorm2d(64, affine=True)", nn.InstanceNorm2d(64, affine=True)),
                     ("nn.GroupNorm(8, 64)", nn.GroupNorm(8, 64))]:
    buffers = sum(buffer.numel() for name, buffer in layer.named_buffers() if name != "num_batches_tracked")
    print(f"{label:<36} learnable parameters {profile.count_parameters(layer):>6,}, running statistics {buffers:>4}")

# %% [markdown]
# ## 3 · What BatchNorm does at evaluation time
#
# In evaluation mode BatchNorm is a fixed per-channel affine map, y = γ·(x − running_mean)/√(running_var + ε)
# + β: every image is treated alone, and a batch of one gives the same answer as a batch of a thousand.
# (This is also why it can be folded into the convolution before it for inference.) In training mode every
# output depends on the batch it arrived in. One image, the same network, two different companions:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
layer = nn.BatchNorm2d(6)
image, others_a, others_b = torch.randn(1, 6, 5, 5), torch.randn(3, 6, 5, 5), torch.randn(3, 6, 5, 5) + 2
for mode in ("train", "eval"):
    layer.train(mode == "train")
    with torch.no_grad():
        alone = layer(image)
        with_a, with_b = layer(torch.cat([image, others_a]))[:1], layer(torch.cat([image, others_b]))[:1]
    print(f"{mode:>5} mode: same image in two batches, largest difference {(with_a - with_b).abs().max():.3f}; "
          f"alone vs in batch A {(alone - with_a).abs().max():.3f}")

# %% [markdown]
# ## 4 · Measured: four normalization layers, batch size 128 and batch size 4
#
# Wu & He's motivating experiment (their Fig. 1) trains ResNet-50 on ImageNet on 8 GPUs with BN and with GN
# and lowers the batch size, counted per GPU, from 32 down to 2 images: BN's validation error rises steeply
# as the batch shrinks while GN's stays flat; at 2 images per GPU GN's error is 10.6 points lower (their
# abstract). Here is the same question at a tiny scale you can run yourself.
#
# **The runs.** One small CNN, four 3×3 convolutions (16, 32, 64, 64 channels, the 2nd and 3rd with stride 2),
# each followed by one normalization layer and a ReLU, then global average pooling and a linear classifier.
# Only the normalization layer changes: BatchNorm, LayerNorm (`GroupNorm(1, C)`, see part 2), InstanceNorm
# (`affine=True`) and GroupNorm with 8 groups. Each is trained twice, with batches of 128 and of 4 images,
# on the **same 1,024 training images for 4 epochs**: both batch sizes see the same 4,096 images, which is
# 32 optimizer steps at batch 128 and 1,024 at batch 4. The learning rate follows the linear scaling rule of
# Goyal et al. (2017, arXiv:1706.02677, Section 2.1): 0.1 at batch 128, 0.1·4/128 = 0.003125 at batch 4
# (SGD with Nesterov momentum 0.9, one-cycle schedule, the course's `fit`). Test accuracy is measured after
# every epoch on the first 1,000 test images, in evaluation mode — for BatchNorm that means with its running
# statistics. These runs are tiny: read the comparison, not the absolute accuracies; trained long on all
# 60,000 images, a network with 2 convolutional and 2 fully connected layers reaches 93.9% (the Fashion-MNIST
# benchmark table in the dataset's README).

# %%
NORMALIZATIONS = ["BatchNorm", "LayerNorm", "InstanceNorm", "GroupNorm"]
BATCH_SIZES = [128, 4]
TRAIN_IMAGES = 256 if fast_mode() else 1024  # a fixed subset: both batch sizes see the same images
EPOCHS = 4  # fit() trains one epoch in fast mode
TEST_IMAGES = 256 if fast_mode() else 1000
GN_GROUPS = 8
CHANNELS = [(16, 1), (32, 2), (64, 2), (64, 1)]  # (output channels, stride) of the four convolutions


def normalization_layer(kind: str, channels: int) -> nn.Module:
    """The normalization layer ``kind`` for ``channels`` channels, each with per-channel γ and β."""
    if kind == "BatchNorm":
        return nn.BatchNorm2d(channels)
    if kind == "LayerNorm":
        return nn.GroupNorm(1, channels)  # LN's statistics over (C, H, W), per-channel γ/β (part 2)
    if kind == "InstanceNorm":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "GroupNorm":
        return nn.GroupNorm(GN_GROUPS, channels)
    raise ValueError(f"unknown normalization {kind!r}; choose from {NORMALIZATIONS}")


def small_cnn(kind: str) -> nn.Sequential:
    """Four conv → norm → ReLU layers, global average pooling and a linear classifier (1×28×28 → 10)."""
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    in_channels = 1
    for index, (out_channels, stride) in enumerate(CHANNELS, start=1):
        layers[f"conv{index}"] = nn.Conv2d(in_channels, out_channels, 3, stride, padding=1, bias=False)
        layers[f"norm{index}"] = normalization_layer(kind, out_channels)
        layers[f"relu{index}"] = nn.ReLU(inplace=True)
        in_channels = out_channels
    layers["pool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(in_channels, 10)
    return nn.Sequential(layers)


trained: dict[tuple[str, int], nn.Module] = {}
histories: dict[tuple[str, int], dict] = {}
seconds: dict[tuple[str, int], float] = {}
train_subset, test_subset = train_set.take(TRAIN_IMAGES), test_set.take(TEST_IMAGES)
for kind in NORMALIZATIONS:
    for batch_size in BATCH_SIZES:
        seed_everything(0)  # the same initial weights (per layer type) for both batch sizes
        model = small_cnn(kind)
        started = time.perf_counter()
        history = fit(model, train_subset, epochs=EPOCHS, batch_size=batch_size, lr=0.1 * batch_size / 128,
                      val_data=test_subset, progress=False, seed=0)
        seconds[kind, batch_size] = time.perf_counter() - started
        trained[kind, batch_size], histories[kind, batch_size] = model, history.to_dict()
print(f"{len(trained)} runs, {sum(seconds.values()):.0f} s of training in all; "
      f"{profile.count_parameters(small_cnn('BatchNorm')):,} parameters per network")
if fast_mode():
    print("FAST MODE: one epoch on a few hundred images — the curves below are not meaningful")

# %% [markdown]
# The curves, batch 128 on the left and batch 4 on the right, on the same axes:

# %%
from matplotlib.ticker import MaxNLocator


def plot_normalization_runs(histories: dict[tuple[str, int], dict]) -> Figure:
    """Test accuracy per epoch for every normalization layer, one panel per batch size."""
    figure = Figure(figsize=(10, 3.8), layout="constrained")
    panels = figure.subplots(1, len(BATCH_SIZES), sharey=True)
    for axes, batch_size in zip(panels, BATCH_SIZES):
        for index, kind in enumerate(NORMALIZATIONS):
            history = histories[kind, batch_size]
            axes.plot(history["epochs"], [100 * a for a in history["val_accuracy"]], marker="o",
                      color=viz.COLORS[index], label=kind)
        steps = histories[NORMALIZATIONS[0], batch_size]["steps"][0]
        axes.set(title=f"batch size {batch_size} ({steps} steps per epoch)", xlabel="epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.grid(alpha=0.3)
    panels[0].set_ylabel(f"test accuracy (%), {TEST_IMAGES:,} images")
    panels[0].legend()
    title = f"{TRAIN_IMAGES:,} training images"
    if fast_mode():
        title += " — FAST MODE: not meaningful"
    figure.suptitle(title)
    return figure


plot_normalization_runs(histories)

# %%
print(f"{'layer':<13} {'batch 128':>10} {'batch 4':>9} {'change':>8}   training seconds (128 / 4)")
for kind in NORMALIZATIONS:
    large, small = (histories[kind, b]["val_accuracy"][-1] for b in BATCH_SIZES)
    print(f"{kind:<13} {large:>10.1%} {small:>9.1%} {100 * (small - large):>+7.1f}p   "
          f"{seconds[kind, 128]:5.1f} / {seconds[kind, 4]:5.1f}")

# %% [markdown]
# **What the stored run shows.** Every layer ended *higher* at batch 4 than at batch 128 — the opposite of
# Wu & He's figure, and the reason is the budget, not the normalization: for the same 4,096 images, batch 4
# made 1,024 optimizer steps and batch 128 only 32, and after 32 steps none of these networks is trained.
# BatchNorm was ahead at both batch sizes (54.2% at batch 128, 60.0% at batch 4), and it gained least from
# the extra steps: +5.8 points, against +24.0 for LayerNorm and +16.9 for GroupNorm. That is the direction
# Wu & He's result points to, but this run alone cannot tell a small-batch penalty from BatchNorm's head
# start at batch 128. InstanceNorm was last at both (21.3% and 29.0%): it removes every channel's mean and
# scale in every image, so *how strongly* a feature is present in an image — what the classifier reads after
# global average pooling — is normalised away at every layer. Wu & He's penalty for small batches appears
# with ResNet-50 trained for many epochs on ImageNet; in a run of 32 large steps it is hidden by how little
# the large-batch networks have trained. (The training times printed above were measured while other work
# shared the machine's two cores, which is why runs of the same size differ several-fold.)
#
# **Why the batch matters to BatchNorm, measured.** The statistics BatchNorm trains with are estimates from
# one batch. How far are they from the statistics of the data? The cell below takes the BatchNorm network
# trained at batch 128, feeds batches of 4 and of 128 training images through its first convolution, and
# measures how far each batch's per-channel mean lies from the mean over all the training images of the
# subset, in units of that channel's standard deviation.

# %%
def batch_mean_error(model: nn.Sequential, batch_size: int, batches: int = 64) -> float:
    """Mean |batch mean − subset mean| / subset std of the first convolution's channels, over random batches."""
    images = next(iter(Batches(train_subset, len(train_subset))))[0]  # the whole subset, normalised
    with torch.no_grad():
        features = model.conv1(images)  # what norm1 sees: N×16×28×28
    subset_mean = features.mean(dim=(0, 2, 3))
    subset_std = features.std(dim=(0, 2, 3))
    generator = torch.Generator().manual_seed(0)
    errors = []
    for _ in range(batches):
        chosen = torch.randperm(len(features), generator=generator)[:batch_size]
        batch_mean = features[chosen].mean(dim=(0, 2, 3))
        errors.append(((batch_mean - subset_mean).abs() / subset_std).mean())
    return torch.stack(errors).mean().item()


bn_model = trained["BatchNorm", 128].cpu().eval()
noise = {batch_size: batch_mean_error(bn_model, min(batch_size, TRAIN_IMAGES)) for batch_size in BATCH_SIZES}
for batch_size, error in noise.items():
    print(f"batch of {batch_size:>3}: batch mean misses the subset mean by {error:.3f} standard deviations on average")
print(f"ratio: {noise[4] / noise[128]:.1f}× (if the images were independent draws: √(128/4) = {(128 / 4) ** 0.5:.1f}×)")

# %% [markdown]
# A batch of 4 estimates each channel's mean 6.3× less accurately than a batch of 128 (0.117 against 0.018
# standard deviations). Independent draws would give √(128/4) = 5.7×; most of the gap is that a batch of 128
# taken from only 1,024 images is an eighth of them, which makes its mean a little more accurate than a
# draw from an endless supply (the factor √(1 − 128/1024) ≈ 0.94). During training BatchNorm normalises with
# these estimates, so at batch 4 each image is shifted and scaled by an amount that depends on its three
# companions: noise the network has to tolerate, and a normalisation that differs from the running
# statistics it is evaluated with.
#
# ## 5 · The classic mistake: evaluating in training mode
#
# `model.eval()` switches every BatchNorm layer to its running statistics (and every dropout layer off).
# Forget it, and BatchNorm keeps normalising each batch with that batch's own statistics. With a large,
# well-mixed batch the batch statistics are close to the running ones and the mistake hides; with one image,
# or with a batch that is not a random sample — say, all the photos a user uploaded of one kind of garment —
# it does not. The cell measures the BatchNorm network trained at batch 128 on the same test images four ways
# (`evaluate` always switches to evaluation mode, so the training-mode runs use a small loop of their own, on
# a copy of the network, since a training-mode forward pass also changes the running statistics):

# %%
def accuracy_in_train_mode(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    """Accuracy when ``model`` is (wrongly) left in training mode, fed these (images, labels) batches."""
    network = copy.deepcopy(model).train()  # a copy: train-mode passes overwrite the running statistics
    correct = count = 0
    with torch.no_grad():  # no_grad does not stop BatchNorm from using and updating batch statistics
        for images, labels in batches:
            correct += int((network(images).argmax(dim=1) == labels).sum())
            count += len(labels)
    return correct / count


def in_batches(images: torch.Tensor, labels: torch.Tensor, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Consecutive batches of ``size`` images, in the given order."""
    return [(images[start:start + size], labels[start:start + size]) for start in range(0, len(images), size)]


test_images, test_labels = next(iter(Batches(test_subset, len(test_subset))))  # normalised, in file order
one_class_batches = [(test_images[test_labels == label], test_labels[test_labels == label])
                     for label in range(test_set.num_classes)]  # skewed: every batch holds one garment
results = {
    "evaluation mode (model.eval()), batches of 500": evaluate(bn_model, test_subset, batch_size=500)["accuracy"],
    "evaluation mode, one image at a time": evaluate(bn_model, test_subset, batch_size=1)["accuracy"],
    "training mode, mixed batches of 500": accuracy_in_train_mode(bn_model, in_batches(test_images, test_labels, 500)),
    "training mode, one image at a time": accuracy_in_train_mode(bn_model, in_batches(test_images, test_labels, 1)),
    "training mode, one batch per class": accuracy_in_train_mode(bn_model, one_class_batches),
}
for label, accuracy in results.items():
    print(f"{label:<46} {accuracy:6.1%}")

running_before = bn_model.norm1.running_mean.clone()
with torch.no_grad():
    bn_model.train()(test_images[:1])  # one forgotten .eval(), one image, under no_grad
    bn_model.eval()
moved = (bn_model.norm1.running_mean - running_before).abs().max().item()
bn_model.norm1.running_mean.copy_(running_before)  # undo it for what follows
print(f"\nside effect: one training-mode pass moved norm1.running_mean by up to {moved:.3f} (momentum 0.1)")

# %% [markdown]
# The stored numbers: in evaluation mode the network scores 54.2%, whether the test images come 500 at a
# time or one at a time — evaluation mode does not care about the batch. Left in training mode with mixed
# batches of 500 it scores 55.9%, so a check on one big shuffled batch would not reveal the bug. One image at
# a time, it falls to 9.5%, chance level for ten classes, and with batches that each hold one class to 10.6%.
# With one image, every channel is normalised over that image's own positions only: the network becomes an
# InstanceNorm network, which it was never trained as. With one class per batch the batch mean *is* that
# class's mean, and subtracting it removes what sets the class apart. And the side effect: even under
# `torch.no_grad()`, one forgotten `.eval()` mixed one image's statistics into every running statistic with
# weight 0.1 (`norm1.running_mean` moved by up to 0.036). The rule: `model.eval()` before evaluating or
# predicting, `model.train()` before training; `torch.no_grad()` and `torch.inference_mode()` only switch
# gradients off.
#
# ## 6 · Quiz — 確認クイズ
#
# The course's bank has four questions on normalization (chapter "basics"): which axes each layer averages
# over, what BatchNorm does and does not do to the distribution, what it uses at inference, and how many
# parameters it learns. Choose `lang="ja"` for Japanese; `python -m cnncourse quiz --review` brings back the
# ones you missed.

# %%
from cnncourse import quiz
from cnncourse.quiz.bank import load_bank

quiz.show([question for question in load_bank("basics") if "normalization" in question.tags], lang="en")

# %% [markdown]
# ## Cheat-sheet — まとめ
#
# | 日本語 | English | remember |
# | --- | --- | --- |
# | バッチ正規化 (BN) | batch normalization | チャネルごとに (N, H, W) で平均・分散を取る。バッチに依存する唯一の層である / per channel over (N, H, W); the only one that depends on the batch |
# | 層正規化 (LN) | layer normalization | 1サンプルの (C, H, W) 全体で正規化する。CNN では GroupNorm(1, C) として使う / per image over (C, H, W); in a CNN use GroupNorm(1, C) |
# | インスタンス正規化 (IN) | instance normalization | サンプルかつチャネルごとに (H, W) で正規化する / per image and channel over (H, W) |
# | グループ正規化 (GN) | group normalization | チャネルを G 個のグループに分け、(C/G, H, W) で正規化する。G = 1 で LN、G = C で IN になる / per image and group over (C/G, H, W); G = 1 is LN, G = C is IN |
# | スケール γ・シフト β | scale γ, shift β | BN・IN・GN はチャネルごとに1つずつで 2C 個のパラメータを持つ。nn.LayerNorm((C, H, W)) は要素ごとに持つ / 2C parameters per layer for BN, IN, GN; nn.LayerNorm((C, H, W)) has one per element |
# | 移動平均・移動分散 | running mean, running variance | 学習時に更新し、推論時に使う。PyTorch では running ← (1 − m)·running + m·batch、m = 0.1 である。分散は不偏分散で更新する / updated in training, used at inference; PyTorch: running ← (1 − m)·running + m·batch, m = 0.1; the unbiased variance |
# | 推論モード | evaluation mode (model.eval()) | BN は固定のアフィン変換になり、バッチの構成に依存しない。eval() を忘れると1枚ずつや偏ったバッチで精度が落ちる / BN becomes a fixed affine map; forgetting eval() hurts single images and skewed batches |
#
# **Numbers worth remembering.** Default ε = 1e-5 and momentum = 0.1 in PyTorch (Keras writes the same update
# with momentum 0.99 on the old value). At 2 images per GPU GN's ImageNet error is 10.6 points below BN's
# (ResNet-50, Wu & He's abstract and Fig. 1).
#
# ## References
# - S. Ioffe, C. Szegedy. *Batch Normalization: Accelerating Deep Network Training by Reducing Internal
#   Covariate Shift.* 2015, arXiv:1502.03167.
# - J. L. Ba, J. R. Kiros, G. E. Hinton. *Layer Normalization.* 2016, arXiv:1607.06450.
# - D. Ulyanov, A. Vedaldi, V. Lempitsky. *Instance Normalization: The Missing Ingredient for Fast
#   Stylization.* 2016, arXiv:1607.08022.
# - Y. Wu, K. He. *Group Normalization.* 2018, arXiv:1803.08494.
# - P. Goyal et al. *Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour.* 2017, arXiv:1706.02677.
#
# **Next:** chapter 02, Wide ResNet.
