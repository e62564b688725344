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
# # 00b · The road to ResNet — ResNet への道: AlexNet, VGG, GoogLeNet
#
# **Goals.** By the end of this interlude you will be able to say what AlexNet (2012), VGG (2014) and
# GoogLeNet (2014) achieved in the ImageNet challenge and which error each figure is; tell where a network's
# parameters sit and where its multiply-adds sit (they are not the same place); explain why VGG stacks 3×3
# convolutions, with receptive fields and parameter counts; count an Inception module with and without its
# 1×1 reductions; and say precisely what a 1×1 convolution computes — the layer that ResNet's bottleneck
# (chapter 01) and every later chapter reuse.
#
# **Prerequisites.** Chapter 00 (convolutions, parameters and multiply-adds). Nothing is trained here.
#
# **Time.** About 30 minutes to read and run; every cell finishes in seconds on a CPU. With
# `CNNCOURSE_FAST=1` the whole notebook runs in well under a minute (fast mode changes nothing here:
# there is no training to shrink).
#
# **Papers.** Section and table numbers below refer to these:
# - A. Krizhevsky, I. Sutskever, G. Hinton. *ImageNet Classification with Deep Convolutional Neural
#   Networks.* NIPS 2012 ("AlexNet").
# - K. Simonyan, A. Zisserman. *Very Deep Convolutional Networks for Large-Scale Image Recognition.* 2014,
#   arXiv:1409.1556 (ICLR 2015) ("VGG").
# - C. Szegedy et al. *Going Deeper with Convolutions.* 2014, arXiv:1409.4842 (CVPR 2015) ("GoogLeNet",
#   Inception v1).

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
# %matplotlib inline
import torch
import torchvision
from IPython.display import display
from matplotlib.figure import Figure
from torch import nn

from cnncourse import formulas, profile, viz
from cnncourse.settings import fast_mode

print("fast mode:", fast_mode())

# %% [markdown]
# ## 1 · The problem: the ImageNet challenge, 2012–2014
#
# The ImageNet Large Scale Visual Recognition Challenge (ILSVRC) asks for one of 1,000 classes per image,
# trained on about 1.2 million images. Its classification track ranks entries by the **top-5 error**: the
# share of test images whose true class is *not* among the network's five highest-scoring guesses. (Top-1
# error counts only the first guess; always say which one a number is.) Three entries changed how networks
# were built:
#
# | network | result | source |
# | --- | --- | --- |
# | AlexNet (SuperVision) | ILSVRC-2012 winner: **15.3% top-5 test error**, against 26.2% for the second-best entry; an average of seven CNNs, two of them pre-trained on a larger ImageNet release | AlexNet paper, abstract, Section 6 and Table 2 |
# | AlexNet, one CNN, on the earlier ILSVRC-2010 data | 37.5% top-1 and 17.0% top-5 test error | AlexNet paper, abstract and Table 1 |
# | VGG | ILSVRC-2014: **2nd in classification** (1st in localisation); **7.3% top-5 test error** with an ensemble of 7 networks, 6.8% with 2 networks after the challenge | VGG paper, abstract, Sections 4.4–4.5, Tables 6 and 7 |
# | GoogLeNet | ILSVRC-2014 classification **winner: 6.67% top-5 test error** (7 models, 144 crops per image) | GoogLeNet paper, Tables 2 and 3 |
#
# All of these are **ensembles** evaluated on the challenge's test set — not single networks. What the three
# papers contributed is a way of building networks: AlexNet showed that a large CNN trained on GPUs with ReLU,
# dropout and data augmentation beats hand-made features by a wide margin; VGG that depth built from very small
# 3×3 convolutions pays (16–19 weight layers); GoogLeNet that width and depth can grow at a fixed
# computational budget when 1×1 convolutions shrink the channels first — "12× fewer parameters" than AlexNet
# (GoogLeNet paper, Section 1) and "a computational budget of 1.5 billion multiply-adds at inference time"
# (ibid.). ResNet (chapter 01) then took depth from 22 layers to 152.
#
# ## 2 · Count them: parameters and multiply-adds of the three networks
#
# torchvision builds all three without downloading anything (`weights=None`). Counting needs only the
# shapes of the weights, not their values, so the networks are built on PyTorch's `meta` device, where a
# tensor has a shape but no memory — VGG-16's 138 million weights are then not even allocated. Two of the
# builders depart from the papers, and the counts show it:
#
# * torchvision's `alexnet` follows Krizhevsky's later single-GPU variant ("One weird trick for parallelizing
#   convolutional neural networks", 2014, arXiv:1404.5997), with 64, 192, 384, 256, 256 filters instead of the
#   paper's 96, 256, 384, 384, 256 split over two GPUs (AlexNet paper, Sections 3.2 and 3.5, Fig. 2);
# * torchvision's `googlenet` adds BatchNorm after every convolution (BatchNorm came in 2015, after the
#   paper), and its "5×5" branches use 3×3 kernels — "a known bug", as a comment in torchvision's source says,
#   kept there. `aux_logits=False` drops the two auxiliary classifiers, which
#   the paper uses only during training (Section 5).
#
# `count_macs` counts one multiply-accumulate per weight per output position of every convolution and fully
# connected layer, for one 3×224×224 image.

# %%
# NBVAL_CHECK_OUTPUT
def build_road_networks() -> dict[str, nn.Module]:
    """torchvision's AlexNet, VGG-16 and GoogLeNet (no weights, no auxiliary classifiers), on the meta device."""
    with torch.device("meta"):  # shapes only: nothing allocated, nothing downloaded
        return {
            "AlexNet": torchvision.models.alexnet(weights=None),
            "VGG-16": torchvision.models.vgg16(weights=None),
            "GoogLeNet": torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False),
        }


def conv_and_fc_shares(network: nn.Module) -> dict[str, tuple[int, int]]:
    """(parameters, MACs) of a network's top-level layers, split into 'fully connected' and 'convolutional'.

    A top-level layer that contains an ``nn.Linear`` (VGG's and AlexNet's ``classifier``, GoogLeNet's ``fc``)
    counts as fully connected; everything else (convolutions with their BatchNorm, pooling) as convolutional.
    """
    shares = {"convolutional": [0, 0], "fully connected": [0, 0]}
    children = dict(network.named_children())
    for row in profile.summary(network, (3, 224, 224)).rows:
        has_linear = any(isinstance(module, nn.Linear) for module in children[row.name].modules())
        part = shares["fully connected" if has_linear else "convolutional"]
        part[0] += row.params
        part[1] += row.macs
    return {name: (params, macs) for name, (params, macs) in shares.items()}


road_networks = build_road_networks()
road_counts: dict[str, dict[str, tuple[int, int]]] = {}
print(f"{'network':<10} {'parameters':>12} {'in conv':>12} {'in FC':>12} {'MACs':>15} {'in conv':>15} {'in FC':>12}")
for name, network in road_networks.items():
    road_counts[name] = shares = conv_and_fc_shares(network)
    params, macs = profile.count_parameters(network), profile.count_macs(network, (3, 224, 224))
    assert params == sum(p for p, _ in shares.values()) and macs == sum(m for _, m in shares.values())
    print(f"{name:<10} {params:>12,} {shares['convolutional'][0]:>12,} {shares['fully connected'][0]:>12,} "
          f"{macs:>15,} {shares['convolutional'][1]:>15,} {shares['fully connected'][1]:>12,}")
first_fc = road_networks["VGG-16"].classifier[0]
print(f"VGG-16's first fully connected layer {first_fc.in_features:,} -> {first_fc.out_features:,}: "
      f"{profile.count_parameters(first_fc):,} parameters")

# %% [markdown]
# The two columns tell different stories, and one picture shows both: for each network, where its
# parameters sit (left bar) and where its multiply-adds sit (right bar).

# %%
def plot_where_the_cost_sits(counts: dict[str, dict[str, tuple[int, int]]]) -> Figure:
    """One bar chart: per network, the share of parameters and of MACs in conv vs fully connected layers."""
    figure = Figure(figsize=(9, 4), layout="constrained")
    axes = figure.subplots()
    colors = {"convolutional": viz.COLORS[0], "fully connected": viz.COLORS[1]}
    for index, (name, shares) in enumerate(counts.items()):
        for offset, (measure, position) in enumerate([("parameters", 0), ("multiply-adds", 1)]):
            total = sum(share[position] for share in shares.values())
            x, bottom = 3 * index + offset, 0.0
            for part, share in shares.items():
                percent = 100 * share[position] / total
                axes.bar(x, percent, bottom=bottom, width=0.8, color=colors[part],
                         label=part if index == 0 and offset == 0 else None)
                if percent >= 6:
                    axes.text(x, bottom + percent / 2, f"{percent:.1f}%", ha="center", va="center", fontsize="small")
                bottom += percent
            label = f"{total / 1e6:.1f}M" if measure == "parameters" else f"{total / 1e9:.2f}G"
            axes.text(x, 101, f"{measure}\n{label}", ha="center", va="bottom", fontsize="small")
    axes.set_xticks([3 * index + 0.5 for index in range(len(counts))], list(counts))
    axes.set(ylabel="share of the network's total (%)", ylim=(0, 118),
             title="Where the parameters sit vs where the multiply-adds sit (3×224×224 input)")
    axes.legend(loc="lower right", framealpha=0.9)
    return figure


plot_where_the_cost_sits(road_counts)

# %% [markdown]
# Read the stored output above. **VGG-16** has 138,357,544 parameters (the paper's Table 2 says 138 million
# for configuration D), and 123,642,856 of them — 89% — sit in its three fully connected layers; the first
# one alone maps the flattened 7×7×512 map to 4,096 units with 25,088 × 4,096 + 4,096 = 102,764,544
# parameters. Yet those layers do only 123.6 million of its 15.47 billion multiply-adds (0.8%): a fully
# connected weight is used once per image, a convolution weight at every output position. AlexNet shows the
# same split even more extremely (96% of its parameters in the classifier, 92% of its multiply-adds in its
# five convolutions). **GoogLeNet** has no large fully connected layers at all: global average pooling turns
# its 7×7×1024 map into 1,024 numbers, and one 1,000-way layer follows, so 85% of its parameters and 99.9%
# of its multiply-adds sit in the convolutions — with 6.6 million parameters in all, against AlexNet's 61.1
# million and VGG-16's 138.4 million. Its 1.50 billion multiply-adds match the paper's stated budget of 1.5
# billion, even with torchvision's 3×3-for-5×5 departure.
#
# The lesson for the rest of the course: **parameters and computation are different measures.** Parameters
# decide the size of the file and how much the network can overfit; multiply-adds (together with memory
# traffic) decide how long a forward pass takes. A layer can be heavy in one and light in the other.
#
# **The paper's AlexNet, by formula.** torchvision's variant is not the 2012 network. The paper's layers
# (Section 3.5 and Fig. 2), with their biases: 96 kernels of 11×11×3 at stride 4; 256 of 5×5×48; 384 of
# 3×3×256; 384 of 3×3×192; 256 of 3×3×192 — layers 2, 4 and 5 see only the half of the previous layer's
# maps that lives on the same GPU, which is a grouped convolution with 2 groups — then fully connected layers
# of 4,096, 4,096 and 1,000 units on a 6×6×256 map:

# %%
# NBVAL_CHECK_OUTPUT
PAPER_ALEXNET_CONVS = [  # (C_in, C_out, k, groups): AlexNet paper, Section 3.5 and Fig. 2
    (3, 96, 11, 1), (96, 256, 5, 2), (256, 384, 3, 1), (384, 384, 3, 2), (384, 256, 3, 2)]
PAPER_ALEXNET_FCS = [(6 * 6 * 256, 4096), (4096, 4096), (4096, 1000)]

paper_alexnet_conv_params = sum(formulas.conv2d_params(c_in, c_out, k, groups=groups, bias=True)
                                for c_in, c_out, k, groups in PAPER_ALEXNET_CONVS)
paper_alexnet_fc_params = sum(formulas.linear_params(n_in, n_out) for n_in, n_out in PAPER_ALEXNET_FCS)
with torch.device("meta"):
    paper_alexnet = nn.Sequential(*[nn.Conv2d(c_in, c_out, k, groups=groups) for c_in, c_out, k, groups in PAPER_ALEXNET_CONVS],
                                  *[nn.Linear(n_in, n_out) for n_in, n_out in PAPER_ALEXNET_FCS])
print(f"paper's AlexNet: {paper_alexnet_conv_params:,} conv + {paper_alexnet_fc_params:,} FC = "
      f"{paper_alexnet_conv_params + paper_alexnet_fc_params:,} parameters by formula, "
      f"{profile.count_parameters(paper_alexnet):,} measured (the paper: '60 million')")
print(f"torchvision's alexnet: {profile.count_parameters(road_networks['AlexNet']):,} parameters")

# %% [markdown]
# ## 3 · VGG's idea: stack 3×3 convolutions
#
# VGG-16 (the paper's configuration D) uses one kernel size for every convolution, 3×3 at stride 1 with
# padding 1, and builds depth by stacking them, with a 2×2 max pooling between stages (VGG paper, Section
# 2.1; only configuration C also has a few 1×1 layers). Its argument (Section 2.3):
# two stacked 3×3 layers see a 5×5 region of their input, three see 7×7, so the stack sees as far as one large
# kernel while
#
# 1. it has **fewer parameters**: with C channels in and out, three 3×3 layers have 3·(3²·C²) = 27C² weights,
#    one 7×7 layer 7²·C² = 49C², "81% more"; two 3×3 layers 18C² against 25C² for one 5×5;
# 2. it puts a ReLU after every layer, so the decision function gets **more non-linearities** (three instead
#    of one).
#
# The receptive field first, measured rather than told: put the gradient of one output pixel back through
# the stack and see which input pixels receive any. Every weight is set to 1 so that nothing cancels by chance.

# %%
# NBVAL_CHECK_OUTPUT
def receptive_field(kernel_sizes: list[int], image_size: int = 15) -> int:
    """Side of the input patch that one output pixel of a stack of stride-1 convolutions depends on (measured)."""
    layers = []
    for k in kernel_sizes:
        conv = nn.Conv2d(1, 1, k, padding=k // 2, bias=False)
        nn.init.ones_(conv.weight)
        layers += [conv, nn.ReLU()]
    stack = nn.Sequential(*layers)
    image = torch.ones(1, 1, image_size, image_size, requires_grad=True)
    stack(image)[0, 0, image_size // 2, image_size // 2].backward()
    rows, cols = torch.nonzero(image.grad[0, 0], as_tuple=True)
    return int(rows.max() - rows.min() + 1)


for kernel_sizes in ([3], [3, 3], [3, 3, 3], [5], [7]):
    by_formula = 1 + sum(k - 1 for k in kernel_sizes)  # each stride-1 k×k layer widens the field by k − 1
    print(f"{' + '.join(f'{k}×{k}' for k in kernel_sizes):<17} receptive field: measured {receptive_field(kernel_sizes)}×"
          f"{receptive_field(kernel_sizes)}, formula 1 + Σ(k − 1) = {by_formula}")

# %% [markdown]
# Now the parameters, by formula (`cnncourse.formulas.conv2d_params`, bias left out as in the paper's
# argument) and measured on real `nn.Conv2d` layers, for C = 64 and for VGG's widest stage, C = 512:

# %%
# NBVAL_CHECK_OUTPUT
def stack_of_convs(channels: int, kernel_size: int, depth: int) -> nn.Sequential:
    """``depth`` k×k convolutions, ``channels`` in and out, each followed by ReLU (VGG style, no bias)."""
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Conv2d(channels, channels, kernel_size, padding=kernel_size // 2, bias=False), nn.ReLU()]
    return nn.Sequential(*layers)


print(f"{'C':>4} {'layers':<12} {'formula':>11} {'measured':>11} {'per C²':>7}   {'receptive field':>15}")
for channels in (64, 512):
    for kernel_size, depth in [(3, 2), (5, 1), (3, 3), (7, 1)]:
        by_formula = depth * formulas.conv2d_params(channels, channels, kernel_size)
        measured = profile.count_parameters(stack_of_convs(channels, kernel_size, depth))
        field = 1 + depth * (kernel_size - 1)
        print(f"{channels:>4} {f'{depth} × {kernel_size}×{kernel_size}':<12} {by_formula:>11,} {measured:>11,} "
              f"{by_formula // channels**2:>6}C²   {field}×{field}")
print(f"one 7×7 has {49 / 27 - 1:.0%} more weights than three 3×3 (VGG paper, Section 2.3: '81% more'); "
      f"one 5×5 has {25 / 18 - 1:.0%} more than two 3×3")

# %% [markdown]
# A common study note says that "a 5×5 convolution and two 3×3 convolutions see the same range, so the 3×3
# pair is the same thing with fewer parameters". Only the first half is right. Without the ReLU in between,
# two 3×3 convolutions *are* one 5×5 convolution — its kernel is the 3×3 kernels convolved with each other —
# but not every 5×5 convolution can be written that way (18C² numbers cannot reach all 25C² kernels); with
# the ReLU in between, the pair is no longer a convolution at all. The stack is a *different*, more
# constrained and more non-linear layer that sees the same 5×5 region — VGG's bet was that this is a good
# trade, and its results (Section 4) bore it out. The first half, checked on one channel:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
first, second = torch.randn(1, 1, 3, 3), torch.randn(1, 1, 3, 3)
image = torch.randn(1, 1, 12, 12)
two_layers = nn.functional.conv2d(nn.functional.conv2d(image, first), second)  # no padding, no ReLU
# conv2d is a cross-correlation; two in a row correlate with the (full) convolution of the two kernels
combined = nn.functional.conv2d(nn.functional.pad(first, (2, 2, 2, 2)), second.flip(-1, -2))
one_layer = nn.functional.conv2d(image, combined)
print(f"two linear 3×3 layers {tuple(two_layers.shape)} == one 5×5 layer {tuple(one_layer.shape)} "
      f"with kernel {tuple(combined.shape[-2:])}: {torch.allclose(two_layers, one_layer, atol=1e-5)}")
with_relu = nn.functional.conv2d(torch.relu(nn.functional.conv2d(image, first)), second)
print(f"with a ReLU in between, still equal: {torch.allclose(with_relu, one_layer, atol=1e-5)}")

# %% [markdown]
# VGG's weak point is elsewhere: not its kernels (3×3 is about the smallest useful size) but the fully
# connected layers of part 2, and 15.5 billion multiply-adds per image. Neither the pooling ratio nor the
# filter size was derived theoretically: the paper compares configurations A–E of growing depth by
# experiment (Tables 1, 3–5).
#
# ## 4 · GoogLeNet's idea: the Inception module and the 1×1 convolution
#
# ### What a 1×1 convolution does
#
# A 1×1 convolution from C_in to C_out channels is **a learned linear map across channels, applied
# independently at every spatial position**: at each pixel it takes the C_in-long vector of that pixel's
# channel values and multiplies it by the same C_out × C_in matrix (plus a bias). It mixes channels, never
# neighbouring pixels, and keeps height and width. It is exactly a fully connected layer `nn.Linear(C_in,
# C_out)` shared by all pixels — it neither selects channels nor deletes them, it forms C_out weighted sums of
# all of them. The idea comes from Network in Network (Lin, Chen & Yan, 2013, arXiv:1312.4400), which the
# GoogLeNet paper cites; GoogLeNet uses it mainly to **reduce** the channels before expensive convolutions
# (Sections 2 and 4). Shown with the same weights in both layers:

# %%
# NBVAL_CHECK_OUTPUT
torch.manual_seed(0)
pointwise = nn.Conv2d(192, 64, kernel_size=1)
per_pixel_linear = nn.Linear(192, 64)
with torch.no_grad():  # the same C_out × C_in matrix and bias in both
    per_pixel_linear.weight.copy_(pointwise.weight.view(64, 192))
    per_pixel_linear.bias.copy_(pointwise.bias)
x = torch.randn(2, 192, 28, 28)
by_conv = pointwise(x)
by_linear = per_pixel_linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)  # channels last, Linear, channels first
print(f"1×1 conv {tuple(x.shape)} -> {tuple(by_conv.shape)}; per-pixel nn.Linear gives the same: "
      f"{torch.allclose(by_conv, by_linear, atol=1e-5)}")
print(f"parameters: conv {profile.count_parameters(pointwise):,}, linear {profile.count_parameters(per_pixel_linear):,}, "
      f"formula 192·64 + 64 = {formulas.linear_params(192, 64):,}")
nudged = x.clone()
nudged[:, :, 10, 10] += 1.0  # change one pixel, all its channels
changed = (pointwise(nudged) - by_conv).abs().sum(dim=(0, 1)) > 0
print(f"changing the input at pixel (10, 10) changes the output at {int(changed.sum())} position(s): "
      f"{[tuple(p) for p in torch.nonzero(changed).tolist()]}")

# %% [markdown]
# ### The Inception module
#
# Which kernel size should a layer have? The Inception module does not choose: it runs a 1×1, a 3×3 and a
# 5×5 convolution and a 3×3 max pooling **in parallel** on the same input and **concatenates** their outputs
# along the channel axis (GoogLeNet paper, Section 4, Fig. 2). In its naive form (Fig. 2a) that is
# expensive: the 3×3 and 5×5 convolutions run on all input channels, and the pooling branch passes all of
# them on, so the output is wider than the input and grows from module to module. The version used in
# GoogLeNet (Fig. 2b) puts a 1×1 convolution (the "reduction") in front of the 3×3 and 5×5 convolutions and
# after the pooling ("pool proj"); every convolution is followed by a ReLU.
#
# Below, both are built as the paper describes them (real 5×5 kernels, no BatchNorm, bias left out so the
# formula counts weights only), with the widths of inception (3a), the first module, from Table 1: 192 input
# channels at 28×28; #1×1 = 64; #3×3 reduce = 96, #3×3 = 128; #5×5 reduce = 16, #5×5 = 32; pool proj = 32;
# output 28×28×256.

# %%
class InceptionModule(nn.Module):
    """The Inception module of Szegedy et al., 2014, arXiv:1409.4842, Section 4 and Fig. 2.

    Four parallel branches on the same input, concatenated along the channels: 1×1; 1×1 reduce → 3×3;
    1×1 reduce → 5×5; 3×3 max pool (stride 1) → 1×1 projection. ``reduce=False`` gives the naive module of
    Fig. 2a: no reductions, and the pooled input is concatenated as it is. Departs from the paper only in
    leaving out the biases, so that the parameter formula counts weights.
    """

    def __init__(self, in_channels: int, ch1x1: int, ch3x3_reduce: int, ch3x3: int, ch5x5_reduce: int,
                 ch5x5: int, pool_proj: int, reduce: bool = True) -> None:
        super().__init__()

        def conv(c_in: int, c_out: int, k: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False), nn.ReLU(inplace=True))

        pool = nn.MaxPool2d(3, stride=1, padding=1)
        self.branch1x1 = conv(in_channels, ch1x1, 1)
        if reduce:
            self.branch3x3 = nn.Sequential(conv(in_channels, ch3x3_reduce, 1), conv(ch3x3_reduce, ch3x3, 3))
            self.branch5x5 = nn.Sequential(conv(in_channels, ch5x5_reduce, 1), conv(ch5x5_reduce, ch5x5, 5))
            self.branch_pool = nn.Sequential(pool, conv(in_channels, pool_proj, 1))
        else:
            self.branch3x3 = conv(in_channels, ch3x3, 3)
            self.branch5x5 = conv(in_channels, ch5x5, 5)
            self.branch_pool = pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1x1, self.branch3x3, self.branch5x5, self.branch_pool]
        return torch.cat([branch(x) for branch in branches], dim=1)


INCEPTION_3A = dict(in_channels=192, ch1x1=64, ch3x3_reduce=96, ch3x3=128, ch5x5_reduce=16, ch5x5=32, pool_proj=32)


def inception_counts(in_channels: int, ch1x1: int, ch3x3_reduce: int, ch3x3: int, ch5x5_reduce: int, ch5x5: int,
                     pool_proj: int, size: int, reduce: bool = True) -> tuple[int, int, int]:
    """(weights, MACs, output channels) of an Inception module on a size×size map, from the conv formula."""
    convs = [(in_channels, ch1x1, 1)]
    if reduce:
        convs += [(in_channels, ch3x3_reduce, 1), (ch3x3_reduce, ch3x3, 3), (in_channels, ch5x5_reduce, 1),
                  (ch5x5_reduce, ch5x5, 5), (in_channels, pool_proj, 1)]
    else:
        convs += [(in_channels, ch3x3, 3), (in_channels, ch5x5, 5)]
    params = sum(formulas.conv2d_params(c_in, c_out, k) for c_in, c_out, k in convs)
    macs = sum(formulas.conv2d_macs(c_in, c_out, k, size, size) for c_in, c_out, k in convs)
    out_channels = ch1x1 + ch3x3 + ch5x5 + (pool_proj if reduce else in_channels)
    return params, macs, out_channels


# %%
# NBVAL_CHECK_OUTPUT
x = torch.randn(1, 192, 28, 28)
print(f"{'inception (3a)':<22} {'output':<14} {'weights: formula':>16} {'measured':>9} {'MACs: formula':>14} "
      f"{'measured':>12}")
inception_table: dict[bool, tuple[int, int, int]] = {}
for reduce, label in [(False, "naive (Fig. 2a)"), (True, "with 1×1 reductions")]:
    module = InceptionModule(**INCEPTION_3A, reduce=reduce).eval()
    inception_table[reduce] = params, macs, out_channels = inception_counts(**INCEPTION_3A, size=28, reduce=reduce)
    print(f"{label:<22} {str(tuple(module(x).shape[1:])):<14} {params:>16,} {profile.count_parameters(module):>9,} "
          f"{macs:>14,} {profile.count_macs(module, (192, 28, 28)):>12,}")
(naive_params, naive_macs, naive_out), (reduced_params, reduced_macs, reduced_out) = inception_table[False], inception_table[True]
print(f"the reductions cut the weights {naive_params / reduced_params:.2f}× and the MACs {naive_macs / reduced_macs:.2f}×, "
      f"and the output stays at {reduced_out} channels instead of {naive_out}")
print("where the naive module spends its MACs: 3×3 on 192 channels "
      f"{formulas.conv2d_macs(192, 128, 3, 28, 28):,}, 5×5 on 192 channels {formulas.conv2d_macs(192, 32, 5, 28, 28):,}")
print("with reductions: 5×5 branch 1×1 192→16 then 5×5 16→32: "
      f"{formulas.conv2d_macs(192, 16, 1, 28, 28) + formulas.conv2d_macs(16, 32, 5, 28, 28):,}")

# %% [markdown]
# With the reductions, inception (3a) computes 128.0 million multiply-adds — Table 1 lists 128M operations
# for it, so the paper counts exactly this — and holds 163,328 weights (Table 1's parameter column says
# 159K, which is this count in units of 1,024: 163,328 / 1,024 = 159.5). Without the reductions the same
# branch widths cost 2.4× the weights and the multiply-adds, and the naive module's output has 416 channels
# instead of 256, so the *next* module would be more expensive again: the paper calls this the
# "computational blow up" the 1×1 reductions avoid (Section 4). The 5×5 branch shows the effect most: 120.4
# million multiply-adds on all 192 channels, 12.4 million after reducing them to 16.
#
# torchvision's `inception3a` (part 2's network) has the same branch widths but, as said there, BatchNorm
# after every convolution and a 3×3 kernel in the "5×5" branch. The difference is exactly those two
# departures:

# %%
# NBVAL_CHECK_OUTPUT
torchvision_3a = road_networks["GoogLeNet"].inception3a
five_by_five_as_3x3 = formulas.conv2d_params(16, 32, 5) - formulas.conv2d_params(16, 32, 3)
batchnorm = sum(formulas.batchnorm_params(c) for c in (64, 96, 128, 16, 32, 32))
print(f"torchvision inception3a: {profile.count_parameters(torchvision_3a):,} parameters = {reduced_params:,} "
      f"(paper's module) − {five_by_five_as_3x3:,} (3×3 instead of 5×5) + {batchnorm:,} (BatchNorm) = "
      f"{reduced_params - five_by_five_as_3x3 + batchnorm:,}")

# %% [markdown]
# ### Explore: how much do the reductions save?
#
# Move the sliders for the widths of the two reductions (0 means "no reduction": the 3×3 or 5×5 convolution
# runs on all 192 input channels). The widget counts the module by formula, checks the count on the built
# module, and shows the cost of each branch.

# %%
from ipywidgets import IntSlider, interact


def explore_reductions(ch3x3_reduce: int = 96, ch5x5_reduce: int = 16) -> None:
    """Counts of inception (3a) with the chosen reduction widths (0 = that branch has no reduction)."""
    in_channels, size = INCEPTION_3A["in_channels"], 28
    branches = {
        "1×1": formulas.conv2d_macs(in_channels, 64, 1, size, size),
        "3×3": (formulas.conv2d_macs(in_channels, ch3x3_reduce, 1, size, size)
                + formulas.conv2d_macs(ch3x3_reduce, 128, 3, size, size)) if ch3x3_reduce
        else formulas.conv2d_macs(in_channels, 128, 3, size, size),
        "5×5": (formulas.conv2d_macs(in_channels, ch5x5_reduce, 1, size, size)
                + formulas.conv2d_macs(ch5x5_reduce, 32, 5, size, size)) if ch5x5_reduce
        else formulas.conv2d_macs(in_channels, 32, 5, size, size),
        "pool proj": formulas.conv2d_macs(in_channels, 32, 1, size, size),
    }
    module = nn.Sequential(
        nn.Conv2d(in_channels, 64, 1, bias=False),
        *([nn.Conv2d(in_channels, ch3x3_reduce, 1, bias=False), nn.Conv2d(ch3x3_reduce, 128, 3, bias=False)]
          if ch3x3_reduce else [nn.Conv2d(in_channels, 128, 3, bias=False)]),
        *([nn.Conv2d(in_channels, ch5x5_reduce, 1, bias=False), nn.Conv2d(ch5x5_reduce, 32, 5, bias=False)]
          if ch5x5_reduce else [nn.Conv2d(in_channels, 32, 5, bias=False)]),
        nn.Conv2d(in_channels, 32, 1, bias=False))
    by_formula = sum(formulas.conv2d_params(layer.in_channels, layer.out_channels, layer.kernel_size[0])
                     for layer in module)
    print(f"3×3 reduce {ch3x3_reduce or 'none'}, 5×5 reduce {ch5x5_reduce or 'none'}: {by_formula:,} weights by formula "
          f"({profile.count_parameters(module):,} measured), {sum(branches.values()) / 1e6:.1f}M MACs on 28×28 "
          "(the paper's widths 96 and 16: 163,328 weights, 128.0M MACs)")
    figure = Figure(figsize=(6, 2.6), layout="constrained")
    axes = figure.subplots()
    axes.barh(list(branches), [macs / 1e6 for macs in branches.values()], color=viz.COLORS[0])
    axes.set(xlabel="MACs (millions)", title="Cost per branch of inception (3a)", xlim=(0, 260))
    axes.invert_yaxis()
    display(figure)


interact(explore_reductions,
         ch3x3_reduce=IntSlider(value=96, min=0, max=192, step=16, continuous_update=False, description="3×3 reduce"),
         ch5x5_reduce=IntSlider(value=16, min=0, max=192, step=16, continuous_update=False, description="5×5 reduce"));

# %% [markdown]
# ## 5 · See it in context: from AlexNet to EfficientNet
#
# The timeline below is built from a small table; every number in it is cited. Two different measures are
# published for these networks, and they must not be joined into one curve: the ILSVRC **top-5 test error
# of the submitted entries** (ensembles, lower is better), which the challenge ranked by until its last
# classification round in 2017, and the **single-model top-1 validation accuracy** (higher is better) that
# the efficiency-minded papers from 2017 on report. The year is that of the paper's first public version (the
# arXiv v1; for AlexNet, NIPS 2012). Chapter 10's timeline (`cnncourse.compare.TIMELINE`) shares its entries from
# ResNet on, and a test keeps the two equal.

# %%
# NBVAL_CHECK_OUTPUT
ROAD_TIMELINE: list[tuple[int, str, str, float, str]] = [
    # (year, network, measure, value in %, source)
    (2012, "AlexNet", "top-5 error", 15.3, "Krizhevsky et al., NIPS 2012, abstract and Table 2 (ILSVRC-2012 test, 7 CNNs)"),
    (2014, "VGG", "top-5 error", 7.3, "Simonyan & Zisserman, arXiv:1409.1556, Section 4.4 and Table 7 (ILSVRC-2014 submission, 7 nets)"),
    (2014, "GoogLeNet", "top-5 error", 6.67, "Szegedy et al., arXiv:1409.4842, Tables 2 and 3 (ILSVRC-2014 test, 7 models)"),
    (2015, "ResNet", "top-5 error", 3.57, "He et al., arXiv:1512.03385, abstract and Table 5 (ILSVRC-2015 test, ensemble)"),
    (2017, "SENet", "top-5 error", 2.251, "Hu et al., arXiv:1709.01507, abstract (ILSVRC-2017 test, ensemble)"),
    (2017, "MobileNet v1", "top-1 accuracy", 70.6, "Howard et al., arXiv:1704.04861, Table 8 (1.0 MobileNet-224)"),
    (2017, "NASNet-A", "top-1 accuracy", 82.7, "Zoph et al., arXiv:1707.07012, abstract (NASNet-A 6@4032)"),
    (2018, "MobileNet v2", "top-1 accuracy", 72.0, "Sandler et al., arXiv:1801.04381, Table 4"),
    (2018, "MnasNet-A1", "top-1 accuracy", 75.2, "Tan et al., arXiv:1807.11626, Table 1"),
    (2019, "MobileNet v3-L", "top-1 accuracy", 75.2, "Howard et al., arXiv:1905.02244, Table 3 (Large 1.0)"),
    (2019, "EfficientNet-B0", "top-1 accuracy", 77.1, "Tan & Le, arXiv:1905.11946, Table 2"),
    (2019, "EfficientNet-B7", "top-1 accuracy", 84.3, "Tan & Le, arXiv:1905.11946, Table 2 (84.4% in arXiv v1)"),
]
for year, network, measure, value, source in ROAD_TIMELINE:
    print(f"{year}  {network:<16} {measure:<15} {value:>6}%  {source}")

# %%
LABEL_PLACEMENT = {"GoogLeNet": ((6, -10), "left"), "MnasNet-A1": ((-6, 4), "right")}  # keep labels apart


def plot_timeline(timeline: list[tuple[int, str, str, float, str]]) -> Figure:
    """Two panels over the years: ILSVRC top-5 test error of entries, single-model top-1 accuracy."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    error_axes, accuracy_axes = figure.subplots(1, 2, sharex=True)
    panels = {"top-5 error": (error_axes, viz.COLORS[1]), "top-1 accuracy": (accuracy_axes, viz.COLORS[0])}
    for measure, (axes, color) in panels.items():
        points = [(year, network, value) for year, network, kind, value, _ in timeline if kind == measure]
        axes.plot([year for year, _, _ in points], [value for _, _, value in points], "o", color=color, markersize=7)
        for year, network, value in points:
            offset, align = LABEL_PLACEMENT.get(network, ((6, 4), "left"))
            axes.annotate(f"{network} {value}%", (year, value), xytext=offset, textcoords="offset points",
                          ha=align, fontsize="small")
        axes.grid(alpha=0.3)
    error_axes.set(title="ILSVRC classification entries: top-5 test error", xlabel="year", ylabel="top-5 error (%)",
                   ylim=(0, 17.5))
    accuracy_axes.set(title="single models: ImageNet top-1 accuracy", xlabel="year", ylabel="top-1 accuracy (%)",
                      ylim=(68, 87))
    error_axes.set_xlim(2011.5, 2020.5)
    figure.suptitle("From AlexNet to EfficientNet, as published (each point's source is in the table above)")
    return figure


plot_timeline(ROAD_TIMELINE)

# %% [markdown]
# Within each panel the numbers are comparable only roughly — the entries differ in ensembles, crops and
# training data (AlexNet's 15.3% used two networks pre-trained on a larger ImageNet release). Still, the
# picture tells the story of the course: top-5 error fell from 15.3% to 6.67% in two years with depth (VGG)
# and efficient width (GoogLeNet), then to 3.57% when residual connections made 152 layers trainable
# (chapter 01); later work kept the accuracy and cut the cost (chapters 05–09).
#
# ## 6 · Quiz — 確認クイズ
#
# Questions from the course's general ("basics") bank that this interlude answers: VGG's parameters and its
# 3×3 stacks, receptive fields, the 1×1 convolution and where it came from, and the ILSVRC results. Choose
# `lang="ja"` for Japanese; your answers are saved, and `python -m cnncourse quiz --review` brings back the
# ones you missed.

# %%
from cnncourse import quiz
from cnncourse.quiz.bank import load_bank

ROAD_QUESTIONS = ["basics-001", "basics-002", "basics-003", "basics-005", "basics-006", "basics-007", "basics-008",
                  "basics-009", "basics-019"]
quiz.show([question for question in load_bank("basics") if question.id in ROAD_QUESTIONS], lang="en", seed=0)

# %% [markdown]
# ## Cheat-sheet — まとめ
#
# | 日本語 | English | remember |
# | --- | --- | --- |
# | top-5 誤り率は、正解が上位 5 候補に入らない画像の割合である | top-5 error: share of images whose true class is not among the five best guesses | ILSVRC ranked classification by it; top-1 counts only the first guess |
# | AlexNet は ILSVRC 2012 の優勝モデルである | AlexNet won ILSVRC 2012 | 15.3% top-5 test error vs 26.2% (7 CNNs); 5 conv + 3 FC, about 60M parameters; ReLU, dropout, 2 GPUs |
# | VGG は 3×3 畳み込みだけを積み重ねる | VGG stacks nothing but 3×3 convolutions | 2nd in ILSVRC 2014 classification, 7.3% (7 nets); VGG-16 138,357,544 parameters |
# | VGG のパラメータの大半は全結合層にある | most of VGG's parameters sit in its fully connected layers | 123.6M of 138.4M (89%); but 99.2% of its 15.47G MACs are in the convolutions |
# | 受容野 | receptive field | stride 1: 1 + Σ(k − 1); two 3×3 = 5×5, three 3×3 = 7×7 |
# | 3×3 を 3 層重ねると 27C²、7×7 は 49C² である | three 3×3 layers: 27C² weights; one 7×7: 49C² (81% more) | and three ReLUs instead of one (VGG, Section 2.3) |
# | GoogLeNet は ILSVRC 2014 の優勝モデルである | GoogLeNet won ILSVRC 2014 | 6.67% top-5 test error; 22 layers; 1.5G multiply-adds budget; 12× fewer parameters than AlexNet |
# | Inception モジュールは並列の枝をチャネル方向に連結する | the Inception module concatenates parallel branches along the channels | 1×1, 1×1→3×3, 1×1→5×5, pool→1×1; (3a): 163,328 weights, 128.0M MACs (naive: 2.4× both) |
# | 1×1 畳み込みは各位置でのチャネル方向の線形写像である | a 1×1 convolution is a learned linear map across channels at each position | = nn.Linear(C_in, C_out) per pixel; mixes channels, not pixels; C_in·C_out (+C_out) parameters |
# | 次元削減 | dimensionality reduction | 1×1 before 3×3/5×5 cuts channels and MACs; from Network in Network (2013), made famous by GoogLeNet |
# | 大域平均プーリング | global average pooling | one number per channel, no parameters; replaces VGG's 102.8M-parameter first FC layer |
# | パラメータ数と計算量は別の指標である | parameters and computation are different measures | FC: few MACs per weight; conv: one MAC per weight per output position |
#
# **Numbers worth remembering.** AlexNet 2012: 15.3% top-5 (ensemble). VGG 2014: 2nd, 7.3%; VGG-16 138M
# parameters, 15.5G multiply-adds. GoogLeNet 2014: 1st, 6.67%; 6.6M parameters in torchvision's version,
# 1.5G multiply-adds. ResNet 2015: 1st, 3.57%. All are top-5 *test* error of ensembles.
#
# ## References
# - A. Krizhevsky, I. Sutskever, G. Hinton. *ImageNet Classification with Deep Convolutional Neural Networks.*
#   NIPS 2012.
# - A. Krizhevsky. *One weird trick for parallelizing convolutional neural networks.* 2014, arXiv:1404.5997
#   (torchvision's `alexnet`).
# - K. Simonyan, A. Zisserman. *Very Deep Convolutional Networks for Large-Scale Image Recognition.* 2014,
#   arXiv:1409.1556.
# - C. Szegedy, W. Liu, Y. Jia, P. Sermanet, S. Reed, D. Anguelov, D. Erhan, V. Vanhoucke, A. Rabinovich.
#   *Going Deeper with Convolutions.* 2014, arXiv:1409.4842.
# - M. Lin, Q. Chen, S. Yan. *Network In Network.* 2013, arXiv:1312.4400.
# - O. Russakovsky et al. *ImageNet Large Scale Visual Recognition Challenge.* IJCV 2015, arXiv:1409.0575.
# - The later papers of the timeline: He et al. 2015 (arXiv:1512.03385), Hu et al. 2017 (arXiv:1709.01507),
#   Howard et al. 2017 (arXiv:1704.04861), Zoph et al. 2017 (arXiv:1707.07012), Sandler et al. 2018
#   (arXiv:1801.04381), Tan et al. 2018 (arXiv:1807.11626), Howard et al. 2019 (arXiv:1905.02244), Tan & Le
#   2019 (arXiv:1905.11946).
#
# **Next:** chapter 01, ResNet — what happened when even GoogLeNet's 22 layers were not deep enough.
