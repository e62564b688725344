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
# # 00 · Start here — はじめに
#
# **Goals.** By the end of this notebook you will know how the course works, what the data looks like, how a
# small convolutional network is built, counted and trained with the course library, and why simply stacking
# more layers does not give a better network — the problem that ResNet (chapter 01) solved.
#
# **Prerequisites.** Python and a first contact with PyTorch (`nn.Module`, tensors). No GPU needed.
#
# **Time.** About 4 minutes on a 2-core CPU (most of it the two training epochs), well under that on a GPU.
#
# The first cell below checks your environment. On Colab it first installs the course library.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %% [markdown]
# ## How the course works
#
# One chapter per architecture, always in the same order of sections, so you know where you are:
#
# 1. goals and time · 2. the problem the architecture solved · 3. the idea as a picture and an equation ·
# 4. the block built step by step, printing shapes · 5. parameters and multiply-adds, by formula and measured ·
# 6. a short training run and a pretrained reference checkpoint · 7. an interactive widget ·
# 8. a misconception quiz · 9. a cheat-sheet (日本語 / English) and references.
#
# | chapter | architecture | the idea in one line |
# | --- | --- | --- |
# | 00b | AlexNet, VGG, GoogLeNet | the road to ResNet: deeper stacks of 3×3 convolutions, 1×1 reductions |
# | 01 | ResNet | learn a residual F(x) and add the input back: H(x) = F(x) + x |
# | 01b | normalization layers | BatchNorm, LayerNorm, InstanceNorm, GroupNorm: which axes each averages over |
# | 02 | Wide ResNet | fewer, wider residual layers train faster and generalise as well |
# | 02b | transfer learning | reuse a trained network: linear probe, fine-tuning, or training from scratch |
# | 03 | SENet | reweight channels with weights computed from the whole image |
# | 04 | DenseNet | concatenate every earlier feature map instead of adding |
# | 05 | MobileNet v1 | a 3×3 filter per channel, then a 1×1 mix: about 8× fewer multiply-adds, and less than 8× faster |
# | 06 | MobileNet v2 | narrow → wide → narrow blocks, shortcuts between the narrow ends, no ReLU on the narrow tensors |
# | 07 | MobileNet v3 | a searched network, then hand edits: hard activations for cheap 8-bit inference, SE at a quarter of the expansion |
# | 08 | NAS | let a search find the cell (NASNet), the latency trade-off (MnasNet), the blocks (evolution) |
# | 09 | EfficientNet | scale depth, width and resolution together with one coefficient φ |
# | 10 | comparison | every trained network measured side by side: the best network depends on what you pay for (download size, time on this CPU, accuracy) |
#
# **Fast mode.** With the environment variable `CNNCOURSE_FAST=1` every training cell shrinks to a few
# hundred images and one epoch, so a notebook runs in seconds — the test suite uses it. Without it, training
# cells train briefly on a CPU and load the course's pretrained checkpoints for the full results.
#
# **CPU or GPU.** Everything runs on a CPU. The library picks a CUDA GPU (or Apple's MPS) when there is one
# and then uses mixed precision and the channels-last memory layout automatically.
#
# **Quizzes and exercises.** Each chapter ends with a quiz (also `python -m cnncourse quiz` on the command
# line) and has an exercise notebook in `exercises/` whose check cells tell you what is right and what is not.

# %%
# %matplotlib inline
import torch

from cnncourse import data, profile, viz
from cnncourse.models import create_model
from cnncourse.settings import fast_mode
from cnncourse.train import evaluate, fit, seed_everything

print("fast mode:", fast_mode())

# %% [markdown]
# ## The data: Fashion-MNIST
#
# Fashion-MNIST (Xiao et al., 2017, arXiv:1708.07747) has the shape of the classic MNIST digits — 70,000
# grey 28×28 images in 10 classes, 60,000 for training and 10,000 for testing — but shows clothing, which
# is harder: the dataset's benchmark table lists 93.9% for a network of two convolutions and two fully
# connected layers, where the same kind of network passes 99% on the digits. It fits in memory, trains in minutes on a
# CPU, and is installed offline on the course machines, so every chapter uses it.

# %%
# NBVAL_CHECK_OUTPUT
train_set = data.fashion_mnist(train=True)
test_set = data.fashion_mnist(train=False)
print("train:", len(train_set), "images of", tuple(train_set.images.shape[1:]), train_set.images.dtype)
print("test: ", len(test_set), "images")
for index, (english, japanese) in enumerate(zip(train_set.classes, train_set.classes_ja)):
    count = int((train_set.labels == index).sum())
    print(f"{index}: {english:<12} {japanese:<10} {count} training images")

# %% [markdown]
# Every class has exactly 6,000 training images, so accuracy is a fair measure here: always guessing one
# class would score 10%. A look at the images is worth more than the numbers:

# %%
viz.show_images(train_set.images[:30], train_set.labels[:30], train_set.classes, n=30)

# %% [markdown]
# Pixels are stored as bytes (0–255). The training loop turns them into floats and normalises them with the
# mean and standard deviation of the training set, measured here rather than copied from somewhere:

# %%
# NBVAL_CHECK_OUTPUT
mean, std = data.measure_mean_std(train_set)
print(f"mean {mean[0]:.4f}, std {std[0]:.4f} (pixel values scaled to 0..1)")

# %% [markdown]
# ## A baseline CNN
#
# Our starting point is the smallest network that deserves the name: two convolution stages
# (3×3 convolution → BatchNorm → ReLU → 2×2 max-pooling) and two fully connected layers — the
# "2 Conv + 2 FC" entry of the Fashion-MNIST benchmark table (93.9% in the dataset's README).
# Printing the shape after every layer shows what each one does to the image:

# %%
# NBVAL_CHECK_OUTPUT
seed_everything(0)
model = create_model("plain_cnn", num_classes=10, in_channels=1)
x = torch.zeros(1, 1, 28, 28)
for name, layer in [*model.features.named_children(), ("flatten", model.flatten), ("fc1", model.fc1),
                    ("classifier", model.classifier)]:
    x = layer(x)
    print(f"{name:<11} {type(layer).__name__:<22} -> {tuple(x.shape)}")

# %% [markdown]
# ## Count it: parameters and multiply-adds
#
# A convolution with a k×k kernel from C_in to C_out channels has k·k·C_in·C_out weights (no bias: the
# BatchNorm after it would cancel one), and BatchNorm adds 2 parameters per channel (scale γ and shift β).
# A fully connected layer from n to m features has n·m weights and m biases. The formula and PyTorch's own
# count must agree:

# %%
# NBVAL_CHECK_OUTPUT
def conv_bn_params(c_in: int, c_out: int, k: int) -> int:
    return k * k * c_in * c_out + 2 * c_out


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


by_formula = (conv_bn_params(1, 32, 3) + conv_bn_params(32, 64, 3)
              + linear_params(64 * 7 * 7, 128) + linear_params(128, 10))
measured = profile.count_parameters(model)
print(f"by formula: {by_formula:,}   measured: {measured:,}   agree: {by_formula == measured}")

# %% [markdown]
# Multiply-adds (MACs) measure the work of one forward pass. A convolution does k·k·C_in multiply-adds for
# each of its C_out·H_out·W_out outputs; a fully connected layer n·m. `cnncourse.profile.count_macs` measures
# them with PyTorch's own `FlopCounterMode`, which counts a multiply-add as 2 floating-point operations, so
# MACs = FLOPs / 2. Pooling, BatchNorm and ReLU are not counted: they are cheap next to convolutions, and
# papers leave them out too. Note that 64·7·7 = 3,136 inputs make `fc1` the largest layer by parameters,
# while the second convolution does most of the arithmetic:

# %%
# NBVAL_CHECK_OUTPUT
macs_by_formula = (3 * 3 * 1 * 32 * 28 * 28 + 3 * 3 * 32 * 64 * 14 * 14
                   + 64 * 7 * 7 * 128 + 128 * 10)
macs_measured = profile.count_macs(model, (1, 28, 28))
print(f"by formula: {macs_by_formula:,}   measured: {macs_measured:,}   agree: {macs_by_formula == macs_measured}")

# %% [markdown]
# ## Train it briefly
#
# `cnncourse.train.fit` keeps the whole dataset as tensors in memory and augments whole batches at once
# (random crops after 4 pixels of padding, horizontal flips), which is several times faster on a CPU than
# transforming one image at a time. Two epochs take a few minutes on a 2-core CPU (the progress bar shows
# the time per epoch on yours) and well under a minute on a GPU. Fast mode trains on a small subset only, so
# its curves are not meaningful — run without `CNNCOURSE_FAST` to see real ones.

# %%
EPOCHS = 2
seed_everything(0)
model = create_model("plain_cnn", num_classes=10, in_channels=1)
history = fit(model, train_set, epochs=EPOCHS, val_data=test_set, optimizer="adamw", lr=3e-3, seed=0)

# %%
history.plot(label="plain_cnn")

# %% [markdown]
# The validation curve sits *above* the training curve: training accuracy is measured on augmented images
# with dropout active, validation on clean images with dropout off, so after two epochs this is no sign of
# anything wrong. Two epochs are also far from the end of training — the curves are still rising.
#
# Accuracy alone hides *which* classes are confused. The confusion matrix counts, for every true class
# (rows), what the network predicted (columns):

# %%
result = evaluate(model, test_set, return_predictions=True)
print(f"test accuracy: {result['accuracy']:.2%} on {result['count']} images")
viz.plot_confusion_matrix(result["labels"], result["predictions"], test_set.classes)

# %% [markdown]
# Shirts, T-shirts, pullovers and coats are the hard cases: at 28×28 in grey they differ in details such as
# collars and buttons. A better architecture has to see those details — which is where this course goes.
#
# ## Why not just go deeper?
#
# If two convolution stages already do this well, why not stack twenty? Before 2015, very deep networks were hard to
# train for two reasons:
#
# 1. **Vanishing gradients.** The gradient reaching the first layer is a product of one factor per layer;
#    with poorly scaled layers it shrinks (or grows) exponentially with depth. He initialisation
#    (He et al., 2015, arXiv:1502.01852) and BatchNorm (Ioffe & Szegedy, 2015, arXiv:1502.03167) largely fixed
#    this.
# 2. **Degradation.** Even with BatchNorm, a deeper *plain* network reached a *higher training error* than a
#    shallower one (He et al., 2015, arXiv:1512.03385, Fig. 1). That is not overfitting — the training error
#    itself is worse — so the deeper network is simply harder to optimise.
#
# Problem 1 can be measured in a second: the gradient norm at the first layer of plain convolutional stacks of
# growing depth, at initialisation, with and without BatchNorm.

# %%
from torch import nn


def plain_stack(depth: int, batch_norm: bool) -> nn.Sequential:
    """``depth`` 3×3 conv(+BN)+ReLU layers of 16 channels, then a linear classifier; PyTorch's default init."""
    layers: list[nn.Module] = [nn.Conv2d(1, 16, 3, padding=1)]
    for _ in range(depth - 1):
        layers += [nn.BatchNorm2d(16)] if batch_norm else []
        layers += [nn.ReLU(), nn.Conv2d(16, 16, 3, padding=1)]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))


def first_layer_gradient_norm(depth: int, batch_norm: bool) -> float:
    torch.manual_seed(0)
    stack = plain_stack(depth, batch_norm)
    images = train_set.images[:64].float() / 255
    loss = nn.functional.cross_entropy(stack(images), train_set.labels[:64])
    loss.backward()
    return stack[0].weight.grad.norm().item()


import matplotlib.pyplot as plt

depths = [2, 5, 10, 20, 40]
figure, axes = plt.subplots(figsize=(6, 3.5))
for batch_norm, label in [(False, "plain, no BatchNorm"), (True, "plain + BatchNorm")]:
    axes.semilogy(depths, [first_layer_gradient_norm(d, batch_norm) for d in depths], "o-", label=label)
axes.set(xlabel="number of conv layers", ylabel="gradient norm at layer 1 (log scale)",
         title="Gradient reaching the first layer at initialisation")
axes.legend()
plt.show()

# %% [markdown]
# Without normalisation the gradient at the first layer falls by orders of magnitude as the stack gets deeper
# (here with PyTorch's default initialisation). With BatchNorm it no longer vanishes — at 40 layers it even
# *grows*, a known effect of BatchNorm in deep plain stacks at initialisation (Yang et al., 2019,
# arXiv:1902.08129). Neither curve makes a 40-layer plain network easy to train, and BatchNorm does not
# remove the *degradation* problem: chapter 01 trains plain and residual networks of 20 and 56 layers and shows
# the deeper plain one ending with a higher training loss — and how adding the input back, H(x) = F(x) + x,
# fixes it.
#
# ## Quiz — 確認クイズ
#
# A few general CNN questions to warm up. Choose `lang="ja"` for Japanese. Your answers are saved, and
# `python -m cnncourse quiz --review` brings back the ones you missed.

# %%
from cnncourse import quiz

quiz.show("basics", lang="en", n=5, seed=0)

# %% [markdown]
# ## Cheat-sheet — まとめ
#
# | 日本語 | English | remember |
# | --- | --- | --- |
# | 畳み込み層 | convolution layer | k·k·C_in·C_out weights; k·k·C_in·C_out·H_out·W_out multiply-adds |
# | 全結合層 | fully connected (linear) layer | n·m weights + m biases |
# | バッチ正規化 | batch normalisation | 2 learned parameters per channel (γ, β); no conv bias needed before it |
# | 積和演算 (MAC) | multiply-accumulate | 1 MAC = 2 FLOPs; papers' "mult-adds" count MACs |
# | 勾配消失 | vanishing gradient | mitigated by He initialisation and BatchNorm |
# | 劣化問題 | degradation problem | deeper plain nets have *higher training* error — not overfitting |
# | 出力サイズ | output size | ⌊(H + 2p − k) / s⌋ + 1 |
# | データ拡張 | data augmentation | random crop with padding, horizontal flip |
#
# ## References
# - H. Xiao, K. Rasul, R. Vollgraf. *Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning
#   Algorithms.* 2017, arXiv:1708.07747.
# - K. He, X. Zhang, S. Ren, J. Sun. *Delving Deep into Rectifiers.* 2015, arXiv:1502.01852.
# - S. Ioffe, C. Szegedy. *Batch Normalization.* 2015, arXiv:1502.03167.
# - K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* 2015, arXiv:1512.03385.
# - G. Yang, J. Pennington, V. Rao, J. Sohl-Dickstein, S. Schoenholz. *A Mean Field Theory of Batch
#   Normalization.* 2019, arXiv:1902.08129.
#
# **Next:** the interlude 00b, the road to ResNet (AlexNet, VGG, GoogLeNet), then chapter 01, ResNet.
