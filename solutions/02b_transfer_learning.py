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
# # 02b · Transfer learning — exercises / 演習
#
# Two exercises on reusing a trained ResNet as a frozen feature extractor (a linear probe; interlude 02b):
# preparing the network — a new head, a frozen backbone, an optimizer that holds the right parameters — and
# putting it into training mode without letting the frozen BatchNorm layers drift. Each exercise is followed
# by a check cell that runs your code on the course's ResNet-20 and ResNet-18 and says, line by line, what is
# right (✓) and what to fix (✗).
#
# 学習済み ResNet を凍結した特徴抽出器として再利用する（線形プローブ）演習は2問である。新しい分類ヘッド、
# 凍結したバックボーン、正しいパラメータだけを持つオプティマイザを用意し、凍結した BatchNorm 層の統計量を
# 変えずに訓練モードにする。各演習の次にチェック用のセルがあり、正しい点（✓）と直すべき点（✗）を1行ずつ
# 表示する。
#
# **How to work / 進め方:** replace `raise NotImplementedError()` with your code, run the cell, then run the
# check cell below it. An exercise you have not started is reported as *not attempted*, so the notebook always
# runs from top to bottom; the last cell counts how many exercises are done.
# `raise NotImplementedError()` を自分のコードに置き換えて実行し、その下のチェックセルを実行する。
# 未着手の演習は「not attempted」と表示されるだけなので、ノートブックは常に最後まで実行できる。
#
# **Time / 所要時間:** 15–20 minutes. Every check runs in a few seconds on a CPU.

# %%
# Setup: on Colab, install the course library; everywhere, check the environment.
import subprocess, sys
if "google.colab" in sys.modules:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/cnncourse/cnncourse@main"], check=True)
from cnncourse.doctor import notebook_check
notebook_check()

# %%
import torch
from torch import nn

from cnncourse.check import transfer as checks

# %% [markdown]
# ## Exercise 1 · 線形プローブの準備 / Preparing a linear probe (2 points)
#
# Write `prepare_linear_probe(model, num_classes)`. `model` is a trained ResNet whose classifier is
# `model.fc` (the course's ResNets and torchvision's alike). The function changes `model` in place so that
# only a **new** head trains, and returns the optimizer for it:
#
# 1. replace `model.fc` by a new `nn.Linear` from the same number of features to `num_classes` outputs;
# 2. freeze every other parameter (`requires_grad = False`), and leave the head's trainable;
# 3. return `torch.optim.SGD(..., lr=0.1, momentum=0.9)` built from the parameters that **train** only.
#
# The check calls it on a ResNet-20 (`fc`: 64 → 10) for 5 classes and on a ResNet-18 (`fc`: 512 → 1000) for
# 37, and names the usual mistakes: the head still has the old number of outputs, backbone parameters still
# train, the optimizer holds frozen parameters, or it was built before the head was replaced.
#
# `model.fc` を新しい `nn.Linear`（入力の特徴数は同じ、出力は `num_classes`）に置き換え、それ以外の
# パラメータをすべて凍結し（`requires_grad = False`）、学習するパラメータだけから作った SGD オプティマイザ
# を返す `prepare_linear_probe(model, num_classes)` を書け。

# %% nbgrader={"grade": false, "grade_id": "transfer_prepare_linear_probe_answer", "locked": false, "schema_version": 3, "solution": true}
def prepare_linear_probe(model: nn.Module, num_classes: int) -> torch.optim.Optimizer:
    """Give ``model`` a new trainable head for ``num_classes``, freeze the rest, return its optimizer."""
    ### BEGIN SOLUTION
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith("fc.")
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    return torch.optim.SGD(trainable, lr=0.1, momentum=0.9)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "transfer_prepare_linear_probe", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_prepare_linear_probe(prepare_linear_probe)

# %% [markdown]
# ## Exercise 2 · 凍結した BatchNorm を保つ訓練モード / Train mode with frozen BatchNorm (2 points)
#
# `requires_grad = False` stops gradient steps, but a BatchNorm layer in train mode still updates its running
# mean and variance on every forward pass: they are buffers, not parameters. Every training loop calls
# `model.train()`, so a "frozen" backbone drifts to the new data's statistics unless its BatchNorm layers are
# put back in eval mode.
#
# Write `train_keeping_frozen_norms(model)`: put `model` in train mode, then every `nn.BatchNorm2d` whose
# parameters are frozen in eval mode. BatchNorm layers that do train (a partly unfrozen network) must stay in
# train mode. The check starts from a model in eval mode, runs a forward pass after your function, and looks
# at which running means moved.
#
# `model` を訓練モードにしたうえで、パラメータが凍結された `nn.BatchNorm2d` だけを評価モードに戻す
# `train_keeping_frozen_norms(model)` を書け。学習する BatchNorm 層は訓練モードのままにすること。

# %% nbgrader={"grade": false, "grade_id": "transfer_train_keeping_frozen_norms_answer", "locked": false, "schema_version": 3, "solution": true}
def train_keeping_frozen_norms(model: nn.Module) -> None:
    """``model.train()``, with every BatchNorm layer whose parameters are frozen kept in eval mode."""
    ### BEGIN SOLUTION
    model.train()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d) and not module.weight.requires_grad:
            module.eval()  # keeps the running statistics of pre-training
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "transfer_train_keeping_frozen_norms", "locked": true, "points": 2, "schema_version": 3, "solution": false}
# NBVAL_CHECK_OUTPUT
checks.check_train_keeping_frozen_norms(train_keeping_frozen_norms)

# %% [markdown]
# ## Written answer / 記述問題 (graded by your instructor)
#
# In interlude 02b the linear probe was the worst of the three recipes at every label budget, and fine-tuning
# beat training from scratch only with 14 labelled images. In two or three sentences: why can a frozen
# backbone trained on Fashion-MNIST not do better on digits, and what kind of source network would make a
# linear probe a good choice?
#
# 幕間 02b では、線形プローブはどのラベル数でも3つの方法のうち最も悪く、ファインチューニングがスクラッチ
# 学習を上回ったのはラベル付き画像が14枚のときだけだった。Fashion-MNIST で学習した凍結バックボーンが
# 数字でよい結果を出せないのはなぜか。線形プローブがよい選択になるのはどのような転移元のネットワークか。
# 2〜3文で答えよ。

# %% [markdown] nbgrader={"grade": true, "grade_id": "transfer_written_probe", "locked": false, "points": 1, "schema_version": 3, "solution": true}
# **Answer / 解答:**
#
# ### BEGIN SOLUTION
# A linear probe can only draw linear boundaries on the features the last stage computes, and those are the
# most task-specific features of the network (Yosinski et al., 2014): what separates shirts from sandals does
# not separate a 3 from an 8, and a frozen backbone cannot change them, while fine-tuning can. A probe is a
# good choice when the source is large and varied (ImageNet-scale data with many classes) and close to the
# target, so that its last features already separate the new classes; then it is also the cheapest recipe,
# with no backward pass through the backbone.
# ### END SOLUTION

# %% [markdown]
# ## Summary / まとめ
#
# The cell below counts the exercises whose checks all passed in this session. Run the check cells above
# first. 下のセルは、このセッションでチェックにすべて合格した演習を数える。先に上のチェックセルを実行すること。

# %%
# NBVAL_CHECK_OUTPUT
checks.summary()
