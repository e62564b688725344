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
# # 02b · Transfer learning with a ResNet — 転移学習
#
# **Goals.** By the end of this interlude you will be able to take a trained ResNet and reuse it on a new
# task in the three usual ways — a **linear probe** on frozen features (特徴抽出), **fine-tuning** every layer
# (ファインチューニング), and, as the baseline, **training from scratch** — and say from your own measurements
# when reusing a network helps and when it does not. You will also know the five lines that do the same with
# torchvision's ImageNet weights: the `weights=` argument, replacing the head, freezing with
# `requires_grad`, keeping a frozen network's BatchNorm in eval mode, and smaller learning rates for early
# layers.
#
# **Prerequisites.** Chapter 01 (ResNet, BatchNorm's train and eval modes) and the course's training helpers
# (`fit`, `evaluate`) as chapters 01–02 use them.
#
# **Time.** About 20 minutes to read. The experiment trains 18 small runs on at most 1,437 images: about five
# minutes of CPU time on one thread (the stored run took 719 s of wall-clock time on a busy, shared 2-core
# machine; its printout says so), less with more cores or a GPU. With `CNNCOURSE_FAST=1` the notebook runs in
# under a minute. Nothing is downloaded: the target data ships inside scikit-learn, the source network inside
# the course library.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
# %matplotlib inline
import dataclasses
import math
import time

import torch
import torch.nn.functional as F
from IPython.display import display
from matplotlib.figure import Figure
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from cnncourse import data, viz
from cnncourse.models import create_model
from cnncourse.pretrained import load_pretrained
from cnncourse.settings import fast_mode
from cnncourse.train import evaluate, fit, seed_everything

print("fast mode:", fast_mode())

# %% [markdown]
# ## 1 · The idea: keep what was learned, replace what is specific
#
# A trained classifier is two parts. The **backbone** (stem, residual stages, global average pooling) turns an
# image into a feature vector; the **head** (here one `nn.Linear`) turns that vector into class scores. The
# head is specific to the classes it was trained on. The backbone's early layers compute edges, strokes and
# textures that many image tasks share; Yosinski et al. (2014) measured this on ImageNet, transferring between
# two halves of its classes: features of the first layers are general and transfer well, features of the last
# layers become specific to the task they were trained on (Fig. 2).
#
# Transfer learning keeps the backbone and gives the network a new head for the new classes. Then:
#
# | recipe | what trains | cost per step | when it is the usual choice |
# | --- | --- | --- | --- |
# | linear probe / feature extraction (線形プローブ・特徴抽出) | the new head only; the backbone is frozen | a forward pass through the backbone, no backward | little data, or target close to the source |
# | fine-tuning (ファインチューニング) | everything, starting from the trained weights, with a smaller learning rate | a full training step | more data, or target farther from the source |
# | from scratch (スクラッチ学習) | everything, from a random initialisation | a full training step | the baseline: what transfer has to beat |
#
# Here the source is the course's own ResNet-20 trained on Fashion-MNIST (clothes, 28×28 grey images,
# 94.90% test accuracy), and the target is a task it has never seen: handwritten digits.

# %% [markdown]
# ## 2 · The target: scikit-learn's handwritten digits
#
# `sklearn.datasets.load_digits()` is a copy of the test part of the UCI "Optical Recognition of Handwritten
# Digits" data: 1,797 images of 8×8 pixels, grey levels 0–16, ten classes (the scikit-learn user guide, "Toy
# datasets"). It ships inside the scikit-learn package, so it needs no network.
#
# Our network expects what it was trained on: one channel, 28×28, bright object on a dark background, pixels
# normalised with the Fashion-MNIST training mean and standard deviation. The digits already have a bright
# stroke on a dark background. We scale 0–16 to 0–1, resize 8×8 → 28×28 with bilinear interpolation
# (`F.interpolate`), and store the images as `uint8` like the course's datasets, so that the course's
# `Batches` normalises them **with Fashion-MNIST's constants**, exactly as during pre-training. (With ImageNet
# weights the rule is the same: normalise with the statistics the network was trained with, ImageNet's mean
# and std — `weights.transforms()` does it, see part 6.)
#
# The split is fixed once: 20% of the images, stratified by class, are the held-out test set for every run;
# the other 80% are the training split the label budgets are drawn from.

# %%
DIGITS_IMAGE_SIZE = 28  # the input size the Fashion-MNIST network was trained on
TEST_FRACTION = 0.2
SPLIT_SEED = 0  # the one fixed train/test split


def load_digits_28x28() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8×8 digits as uint8 images of shape (N, 1, 28, 28) and int64 labels."""
    digits = load_digits()
    images = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0  # grey levels 0..16 -> 0..1
    images = F.interpolate(images, size=DIGITS_IMAGE_SIZE, mode="bilinear", align_corners=False)
    return (images * 255).round().clamp(0, 255).to(torch.uint8), torch.tensor(digits.target, dtype=torch.int64)


fashion_spec = data.dataset_spec("fashion-mnist")
# A DatasetSpec for the digits that keeps Fashion-MNIST's mean/std, so Batches normalises as in pre-training.
digits_spec = dataclasses.replace(
    fashion_spec, name="sklearn-digits", classes=tuple(str(digit) for digit in range(10)),
    classes_ja=tuple(str(digit) for digit in range(10)), folder="sklearn-digits",
)
all_images, all_labels = load_digits_28x28()
train_index, test_index = train_test_split(
    torch.arange(len(all_labels)).numpy(), test_size=TEST_FRACTION, stratify=all_labels.numpy(),
    random_state=SPLIT_SEED,
)
digits_train = data.ImageDataset(digits_spec, all_images[train_index], all_labels[train_index], train=True)
digits_test = data.ImageDataset(digits_spec, all_images[test_index], all_labels[test_index], train=False)
digits_spec = dataclasses.replace(digits_spec, train_size=len(digits_train), test_size=len(digits_test))
digits_train.spec = digits_test.spec = digits_spec

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(all_labels)} images; training split {digits_train}; test split {digits_test}")
print("test images per class:", torch.bincount(digits_test.labels).tolist())
pixels = all_images.float() / 255
print(f"digits pixels after resizing: mean {pixels.mean():.3f}, std {pixels.std():.3f}; "
      f"Fashion-MNIST's constants used for both: mean {fashion_spec.mean[0]:.4f}, std {fashion_spec.std[0]:.4f}")

# %% [markdown]
# The digits' own pixel statistics are close to Fashion-MNIST's, so the normalised inputs land in the range
# the network saw in training. Upscaling cannot add detail: a 28×28 digit is a blurred 8×8 one (top row),
# which is one way it differs from the sharp Fashion-MNIST pictures the features were learned on (bottom row;
# the course's pictures draw bright pixels dark).

# %%
fashion_examples = data.fashion_mnist(train=False).take(8)
display(viz.show_images(digits_train.images[:8], digits_train.labels[:8], digits_train.classes, n=8))
display(viz.show_images(fashion_examples.images, fashion_examples.labels, fashion_examples.classes, n=8))

# %% [markdown]
# ## 3 · The source network and its new head
#
# The shipped checkpoint `resnet20_fashion_mnist` is the paper's CIFAR ResNet-20 (He et al., 2015, Section
# 4.2: three stages of 16, 32, 64 channels) trained for 35 epochs on all 60,000 Fashion-MNIST images. Its
# backbone ends in 64 features per image; its head is `fc`, a 64 → 10 linear layer for the ten clothes.
#
# Digits also have ten classes, so the old head would even fit the shape — and that is the trap: its ten
# outputs mean "T-shirt … ankle boot", not "0 … 9". A new task gets a **new, freshly initialised head**, even
# when the number of classes happens to match. The course's models have `reset_classifier(num_classes)` for
# that (torchvision's: assign a new `model.fc`, part 6).

# %%
# NBVAL_CHECK_OUTPUT
source = load_pretrained("resnet20_fashion_mnist")
metadata = source.checkpoint_metadata
print(f"{metadata['architecture']} trained {metadata['epochs']} epochs on {metadata['dataset']}: "
      f"test accuracy {100 * metadata['test_accuracy']:.2f}%")
head_parameters = sum(parameter.numel() for parameter in source.fc.parameters())
all_parameters = sum(parameter.numel() for parameter in source.parameters())
print(f"head: {source.fc}; {head_parameters} of {all_parameters:,} parameters "
      f"({100 * head_parameters / all_parameters:.2f}%)")

# %% [markdown]
# ### Freezing correctly: `requires_grad` is not enough
#
# Freezing the backbone means two things, and forgetting the second is the classic bug:
#
# 1. **No gradient steps**: set `requires_grad = False` on every backbone parameter (and give the optimizer
#    only the parameters that still train).
# 2. **No statistics updates**: BatchNorm layers update their *running mean and variance* during every
#    forward pass in train mode — these are buffers, not parameters, so `requires_grad` does not stop them.
#    A "frozen" backbone in train mode silently drifts to the new data's statistics. Keep its BatchNorm layers
#    in **eval mode**.
#
# The course's `fit` calls `model.train()` at the start of every epoch, as every training loop does. So the
# probe below overrides `train()` to put the frozen backbone back in eval mode each time. The cell after it
# shows the bug and the fix on one batch.

# %%
class LinearProbe(nn.Module):
    """A frozen backbone with a new trainable head (feature extraction; Yosinski et al., 2014).

    ``train()`` keeps the backbone in eval mode, so its BatchNorm layers use and keep the statistics
    they were trained with, whatever training loop calls ``model.train()``.
    """

    def __init__(self, network: nn.Module, num_classes: int) -> None:
        super().__init__()
        network.reset_classifier(num_classes)  # a new head, the only part that trains
        for name, parameter in network.named_parameters():
            parameter.requires_grad = name.startswith("fc.")
        self.network = network

    def train(self, mode: bool = True) -> "LinearProbe":
        super().train(mode)
        for module in self.network.modules():
            if module is not self.network.fc:
                module.eval()  # the frozen part never switches to train mode
        return self

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)


def trainable_parameters(model: nn.Module) -> int:
    """How many parameters an optimizer built from ``requires_grad`` would update."""
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)


def running_mean_changes(model: nn.Module, images: torch.Tensor) -> bool:
    """Whether one forward pass in train mode changes the first BatchNorm layer's running mean."""
    first_norm = next(module for module in model.modules() if isinstance(module, nn.BatchNorm2d))
    before = first_norm.running_mean.clone()
    model.train()
    with torch.no_grad():
        model(images)
    return not torch.equal(before, first_norm.running_mean)


# %%
# NBVAL_CHECK_OUTPUT
one_batch = (digits_train.images[:32].float() / 255 - fashion_spec.mean[0]) / fashion_spec.std[0]
only_requires_grad = load_pretrained("resnet20_fashion_mnist")
only_requires_grad.reset_classifier(10)
for name, parameter in only_requires_grad.named_parameters():
    parameter.requires_grad = name.startswith("fc.")
probe_check = LinearProbe(load_pretrained("resnet20_fashion_mnist"), num_classes=10)
print(f"requires_grad only: {trainable_parameters(only_requires_grad)} trainable parameters, "
      f"BatchNorm statistics change in train mode: {running_mean_changes(only_requires_grad, one_batch)}")
print(f"LinearProbe:        {trainable_parameters(probe_check)} trainable parameters, "
      f"BatchNorm statistics change in train mode: {running_mean_changes(probe_check, one_batch)}")
print("head outputs:", probe_check.network.fc.out_features)

# %% [markdown]
# ## 4 · The experiment: three recipes at three label budgets
#
# Transfer matters most when labels are scarce, so each recipe runs with 1%, 10% and 100% of the training
# split's labels (a stratified draw of that many images; 1% is 14 images, about one per class). All runs are
# scored on the same 360 held-out test images.
#
# To compare like with like, every run gets the **same number of optimiser steps** (SGD with Nesterov
# momentum, one-cycle schedule, the course's `fit`), with batches of 32 images (or the whole budget when it is
# smaller): a small budget is seen for many epochs, the full split for a few. Augmentation is off: `fit`'s
# default horizontal flip would turn digits into mirror images that are not digits. The learning rates are the
# usual pattern: 0.1 for a head or a network that starts from random weights, ten times less (0.01) for
# fine-tuning, so the first steps do not wreck the trained features.
#
# The 1% draw decides a lot (which 14 images), so the experiment repeats with two seeds; a seed sets the
# draw, the initial weights of the new head (or of the whole network, from scratch) and the batch order. Two seeds show the spread, they do not make a
# confidence interval.

# %%
LABEL_BUDGETS = (0.01, 0.1) if fast_mode() else (0.01, 0.1, 1.0)
SEEDS = (0,) if fast_mode() else (0, 1)
STEPS = 150  # optimiser steps per run (fast mode: fit trains one epoch instead)
BATCH_SIZE = 32


def fine_tune_model() -> nn.Module:
    """The pre-trained ResNet-20 with a new head; every parameter trains."""
    model = load_pretrained("resnet20_fashion_mnist")
    model.reset_classifier(10)
    return model


RECIPES = {  # name -> (how to build the model, peak learning rate)
    "linear probe": (lambda: LinearProbe(load_pretrained("resnet20_fashion_mnist"), num_classes=10), 0.1),
    "fine-tune": (fine_tune_model, 0.01),
    "from scratch": (lambda: create_model("resnet20", num_classes=10, in_channels=1), 0.1),
}


def budget_subset(fraction: float, seed: int) -> data.ImageDataset:
    """A stratified draw of ``fraction`` of the training split (all of it for 1.0)."""
    if fraction >= 1.0:
        return digits_train
    chosen, _ = train_test_split(torch.arange(len(digits_train)).numpy(), train_size=fraction,
                                 stratify=digits_train.labels.numpy(), random_state=seed)
    return data.ImageDataset(digits_spec, digits_train.images[chosen], digits_train.labels[chosen], train=True)


def run_recipe(recipe: str, subset: data.ImageDataset, seed: int) -> float:
    """Train one recipe on ``subset`` for about ``STEPS`` steps; return its test accuracy (%)."""
    build, lr = RECIPES[recipe]
    seed_everything(seed)  # the new head's (or the scratch network's) initial weights
    model = build()
    batch_size = min(BATCH_SIZE, len(subset))
    epochs = math.ceil(STEPS / math.ceil(len(subset) / batch_size))
    fit(model, subset, epochs, lr=lr, batch_size=batch_size, augment=False, seed=seed, progress=False)
    return 100 * evaluate(model, digits_test)["accuracy"]


experiment_start = time.perf_counter()
results: dict[tuple[str, float], list[float]] = {}  # (recipe, budget) -> test accuracy (%) per seed
for budget in LABEL_BUDGETS:
    for seed in SEEDS:
        subset = budget_subset(budget, seed)
        for recipe in RECIPES:
            results.setdefault((recipe, budget), []).append(run_recipe(recipe, subset, seed))
experiment_seconds = time.perf_counter() - experiment_start
print(f"{len(results) * len(SEEDS)} runs in {experiment_seconds:.0f} s on {torch.get_num_threads()} CPU thread(s)")

# %% [markdown]
# The table gives each run's test accuracy, seed by seed, and their mean; the plot draws the means as lines and
# every seed as a dot.

# %%
def budget_label(fraction: float) -> str:
    """'1% (14 images)' for a label budget."""
    images = len(digits_train) if fraction >= 1.0 else round(fraction * len(digits_train))
    return f"{100 * fraction:g}% ({images} images)"


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


print(f"{'label budget':<20}" + "".join(f"{recipe:>24}" for recipe in RECIPES))
for budget in LABEL_BUDGETS:
    cells = []
    for recipe in RECIPES:
        accuracies = results[(recipe, budget)]
        per_seed = "/".join(f"{accuracy:.1f}" for accuracy in accuracies)
        cells.append(f"{mean(accuracies):5.1f}%" + (f" ({per_seed})" if len(accuracies) > 1 else ""))
    print(f"{budget_label(budget):<20}" + "".join(f"{cell:>24}" for cell in cells))
if fast_mode():
    print("(fast mode: one epoch of at most 1,024 images per run, not meaningful)")


def plot_transfer(results: dict[tuple[str, float], list[float]]) -> Figure:
    """Test accuracy against the label budget (log scale): one line per recipe, one dot per seed."""
    figure = Figure(figsize=(6.5, 4), layout="constrained")
    axes = figure.subplots()
    for index, recipe in enumerate(RECIPES):
        color = viz.COLORS[index]
        axes.plot([100 * b for b in LABEL_BUDGETS], [mean(results[(recipe, b)]) for b in LABEL_BUDGETS],
                  marker="o", color=color, label=recipe)
        for budget in LABEL_BUDGETS:
            axes.scatter([100 * budget] * len(results[(recipe, budget)]), results[(recipe, budget)],
                         color=color, s=12, alpha=0.5)
    axes.set(xscale="log", xlabel="labelled training images (% of the 1,437-image split)",
             ylabel="test accuracy (%)", title="ResNet-20: Fashion-MNIST → digits")
    axes.set_xticks([100 * b for b in LABEL_BUDGETS], [budget_label(b) for b in LABEL_BUDGETS])
    axes.grid(alpha=0.3)
    axes.legend()
    return figure


plot_transfer(results)

# %% [markdown]
# ## 5 · Reading the results
#
# The cell below states what the numbers of *this* run say, so the prose after it can be checked against it.

# %%
for budget in LABEL_BUDGETS:
    means = {recipe: mean(results[(recipe, budget)]) for recipe in RECIPES}
    best = max(means, key=means.get)
    print(f"{budget_label(budget):<20} best: {best:<13} fine-tune − scratch: "
          f"{means['fine-tune'] - means['from scratch']:+5.1f} points, "
          f"linear probe − scratch: {means['linear probe'] - means['from scratch']:+5.1f} points")

# %% [markdown]
# What the stored run shows (two seeds, one CPU thread; a rerun elsewhere gives somewhat different numbers, so
# compare directions, not decimals):
#
# - **With 14 labelled images, fine-tuning helps.** Fine-tuned, the network reaches 57.6% against 46.2% from
#   scratch (+11.4 points), and it is ahead under both seeds (58.9% and 56.4% against 52.8% and 39.7%). The
#   seeds disagree by as much as the effect — the two scratch runs differ by 13 points — so two seeds give the
#   direction, not a measured size.
# - **From 144 labelled images on, transfer no longer helps.** At 10% training from scratch reaches 92.8% and
#   fine-tuning 91.2% (−1.5 points, about the 1.7 points by which the two scratch seeds differ); with all 1,437
#   images both reach 99.2%. A 0.27M-parameter network learns ten digit classes from a few hundred images in
#   150 steps by itself; features learned on clothes give it no head start worth having.
# - **The linear probe is the worst recipe at every budget**: 35.0%, 58.5% and 70.4%, still 28.7 points
#   behind training from scratch with all the labels. The frozen features are those of the last stage, the
#   layers Yosinski et al. (2014) found most specific to their source task: what separates shirts from sandals
#   does not separate a 3 from an 8 by a linear map. Fine-tuning changes those layers; the probe cannot.
#
# Why so little help? The source here is small and narrow — 60,000 pictures of ten kinds of clothes — and the
# target is easy. Transfer pays most when the source is large and varied (ImageNet: 1.28 million images of
# 1,000 classes) and the target has few labels, which is the setting of part 6. Even then it is not magic:
# He, Girshick and Dollár (2019) trained detectors on COCO from random initialisation and, with longer
# schedules, matched ImageNet pre-trained ones; pre-training mainly made training converge faster (abstract). The honest summary of this notebook: with very few labels, start from a trained network and
# fine-tune it; with enough labels for the task, a network trained from scratch does as well; and a frozen
# backbone is only as good as the match between its source and your task.
#
# ## 6 · How it is done with ImageNet weights
#
# With a real ImageNet model the recipe is the same; only the loading differs. torchvision's builders take a
# `weights=` argument: `None` (random initialisation, no download) or a weights enum such as
# `ResNet18_Weights.IMAGENET1K_V1`, whose `.transforms()` is the matching preprocessing (resize, centre crop,
# ImageNet mean and std) and whose `.meta["categories"]` are the 1,000 class names. Downloading needs a network
# connection once (torchvision then caches the file), so the download is behind a flag: set `ONLINE = True` on a
# machine that is online. Everything after it runs offline too, on a randomly initialised model of the same
# shape — the code is the same, only the numbers in the weights differ.

# %%
import torchvision

ONLINE = False  # True downloads torchvision's ImageNet weights for ResNet-18 (about 45 MB, once)

if ONLINE:
    from torchvision.models import ResNet18_Weights

    imagenet_weights = ResNet18_Weights.IMAGENET1K_V1
    backbone = torchvision.models.resnet18(weights=imagenet_weights)
    preprocess = imagenet_weights.transforms()  # apply to every input image: the statistics of pre-training
    print(preprocess)
else:
    backbone = torchvision.models.resnet18(weights=None)  # same modules, random weights, no download

# %% [markdown]
# The four steps, on that model, for a new task with 37 classes (any number that is not 1,000):
#
# 1. **Replace the head**: torchvision's ResNets call it `fc`, a 512 → 1000 linear layer for ResNet-18/34 and
#    2048 → 1000 for ResNet-50 and deeper.
# 2. **Freeze** what should not train, with `requires_grad_(False)`.
# 3. **Keep frozen BatchNorm in eval mode** after every `model.train()`.
# 4. **Give the optimizer only trainable parameters**, and when fine-tuning, smaller learning rates to earlier
#    layers (parameter groups): early layers hold the most general features and need the least change.

# %%
# NBVAL_CHECK_OUTPUT
NEW_CLASSES = 37

# 1. a new head with the new number of classes
backbone.fc = nn.Linear(backbone.fc.in_features, NEW_CLASSES)

# 2. feature extraction: freeze everything but the head
for name, parameter in backbone.named_parameters():
    parameter.requires_grad_(name.startswith("fc."))


# 3. frozen BatchNorm stays in eval mode whenever the training loop calls model.train()
def train_mode_with_frozen_norms(model: nn.Module) -> None:
    """model.train(), then eval mode for every BatchNorm whose parameters are frozen."""
    model.train()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d) and not module.weight.requires_grad:
            module.eval()


train_mode_with_frozen_norms(backbone)
# 4. the optimizer gets the trainable parameters only
probe_optimizer = torch.optim.SGD([p for p in backbone.parameters() if p.requires_grad], lr=0.1, momentum=0.9)
print(f"head: {backbone.fc}")
print(f"trainable: {trainable_parameters(backbone):,} of {sum(p.numel() for p in backbone.parameters()):,} "
      f"parameters; optimizer holds {sum(p.numel() for g in probe_optimizer.param_groups for p in g['params']):,}")
print("BatchNorm layers in train mode:", sum(m.training for m in backbone.modules() if isinstance(m, nn.BatchNorm2d)))

# %% [markdown]
# For **fine-tuning**, unfreeze everything and give each part of the network its own learning rate. The
# numbers below are a common starting point, not a rule: the new head at the full rate, the last stage at a
# tenth, everything earlier at a hundredth.

# %%
# NBVAL_CHECK_OUTPUT
for parameter in backbone.parameters():
    parameter.requires_grad_(True)
backbone.train()  # fine-tuning everything: BatchNorm updates its statistics again
HEAD_LR = 0.01
groups = {
    "early layers (stem, layer1-3)": [p for n, p in backbone.named_parameters() if not n.startswith(("layer4.", "fc."))],
    "last stage (layer4)": [p for n, p in backbone.named_parameters() if n.startswith("layer4.")],
    "new head (fc)": list(backbone.fc.parameters()),
}
learning_rates = {"early layers (stem, layer1-3)": HEAD_LR / 100, "last stage (layer4)": HEAD_LR / 10,
                  "new head (fc)": HEAD_LR}
fine_tune_optimizer = torch.optim.SGD(
    [{"params": params, "lr": learning_rates[name]} for name, params in groups.items()], lr=HEAD_LR, momentum=0.9
)
for name, group in zip(groups, fine_tune_optimizer.param_groups):
    print(f"{name:<30} lr {group['lr']:<7g} {sum(p.numel() for p in group['params']):>11,} parameters")

# %% [markdown]
# ### The course's builders take torchvision's weights
#
# The course's ImageNet ResNets use torchvision's parameter names and shapes, so a torchvision `state_dict`
# loads into them **strictly** (every name present on both sides, every shape equal). Online,
# `create_model("resnet50", weights="torchvision")` does exactly this with the ImageNet weights; the check
# below does it offline with randomly initialised torchvision models, and compares the outputs too.

# %%
# NBVAL_CHECK_OUTPUT
for name in ("resnet18", "resnet50"):
    reference = torchvision.models.get_model(name, weights=None).eval()
    ours = create_model(name).eval()
    outcome = ours.load_state_dict(reference.state_dict(), strict=True)
    probe_input = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        same = torch.allclose(ours(probe_input), reference(probe_input), atol=1e-5)
    print(f"{name}: strict load, missing {len(outcome.missing_keys)}, unexpected {len(outcome.unexpected_keys)}; "
          f"{len(reference.state_dict())} tensors; same outputs: {same}")

# %% [markdown]
# ## 7 · Quiz — 確認クイズ
#
# Three questions from the course's bank (chapter "basics", tagged `transfer-learning`): what a linear probe
# and fine-tuning each train, what freezing takes, and how ResNet's head is replaced. Choose `lang="ja"` for
# Japanese; `python -m cnncourse quiz --review` brings back the ones you missed.

# %%
from cnncourse import quiz
from cnncourse.quiz.bank import load_bank

quiz.show([question for question in load_bank("basics") if "transfer-learning" in question.tags], lang="en")

# %% [markdown]
# ## Cheat-sheet — まとめ
#
# | 日本語 | English | remember |
# | --- | --- | --- |
# | 転移学習 | transfer learning | reuse a trained backbone on a new task; always a new head |
# | 特徴抽出・線形プローブ | feature extraction / linear probe | backbone frozen: `requires_grad=False` **and** BatchNorm in eval mode; optimizer gets the head only |
# | ファインチューニング | fine-tuning | everything trains from the trained weights; smaller learning rate (here 0.01 vs 0.1), smaller still for early layers |
# | スクラッチ学習 | training from scratch | random initialisation; the baseline transfer has to beat |
# | 分類ヘッドの置き換え | replacing the head | `model.fc = nn.Linear(model.fc.in_features, K)`; a new head even when K equals the old class count |
# | BatchNorm の統計量 | BatchNorm running statistics | buffers, not parameters: `requires_grad` does not freeze them, `eval()` does |
# | 前処理 | preprocessing | normalise with the *source's* statistics: `weights.transforms()` for ImageNet weights |
# | `weights=` | torchvision weights API | `resnet18(weights=None)` random, `weights=ResNet18_Weights.IMAGENET1K_V1` downloads once |
# | 本講座の測定 | this course's measurement | Fashion-MNIST ResNet-20 → digits, 150 steps, 2 seeds: fine-tuning beats scratch at 14 labels (57.6% vs 46.2%), ties from 144 labels on (91.2% vs 92.8%; 99.2% both); the linear probe is worst at every budget (at most 70.4%) |
#
# ## References
# - J. Yosinski, J. Clune, Y. Bengio, H. Lipson. *How transferable are features in deep neural networks?*
#   NeurIPS 2014, arXiv:1411.1792.
# - K. He, R. Girshick, P. Dollár. *Rethinking ImageNet Pre-training.* ICCV 2019, arXiv:1811.08883.
# - K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* 2015, arXiv:1512.03385.
# - scikit-learn user guide, "Toy datasets: Optical recognition of handwritten digits dataset"
#   (`sklearn.datasets.load_digits`).
# - torchvision documentation, "Models and pre-trained weights" (the `weights=` API).
#
# **Exercises:** `exercises/02b_transfer_learning.ipynb` (a new head, a frozen backbone, frozen BatchNorm kept in
# eval mode). **Next:** chapter 03, SENet.
