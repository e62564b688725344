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
# # 10 · Every model side by side — 全モデルの比較
#
# **Goals.** By the end of this notebook you will be able to read one table of every network the course trained
# — accuracy, parameters, multiply-adds, CPU latency at batch 1 and 64, memory, training time — and say which
# network is best *for what*; find the networks no other one beats on accuracy and a cost (the Pareto front);
# place the architectures of chapters 01–09 on one timeline; show once more, across every family, that fewer
# multiply-adds is not less time on this CPU; and answer "which would you pick?" for a phone, a GPU server and a
# CPU classroom from measured numbers, saying what cannot be measured here. A mock exam across all chapters and
# the combined cheat-sheet close the course.
#
# **Prerequisites.** Chapters 01–07 (08 and 09 when they are there); chapter 00 (parameters, multiply-adds).
#
# **Time.** About 30 minutes to read. Nothing trains: the notebook loads every reference checkpoint that is
# installed and measures it now. In default mode that is all 10,000 test images per checkpoint, which takes most
# of the run (minutes on the course's 2-core CPU; the last code cell prints how long it took); with
# `CNNCOURSE_FAST=1` it uses a few hundred images and fewer timing rounds, and every cell finishes in seconds.
# GPU time: not measured (the course machine has none).
#
# **Built from data, not from a list.** The table is computed from the references manifest
# (`cnncourse/references.py`) and the files in `cnncourse/checkpoints/`: every shipped checkpoint gets a row,
# every manifest entry without one is listed as "not trained yet". When a checkpoint lands, rerun the notebook —
# a test fails while the stored table is missing it.

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

import torch
from IPython.display import Markdown, display
from matplotlib.figure import Figure

from cnncourse import compare, data, profile, viz
from cnncourse.models import create_model, model_info
from cnncourse.profile import format_count, one_thread
from cnncourse.references import MANIFEST
from cnncourse.settings import fast_mode

NOTEBOOK_START = time.perf_counter()
print("fast mode:", fast_mode())

# %% [markdown]
# ## 1 · The question: which network, for what?
#
# Each chapter measured its own networks against their nearest neighbour. The papers report their numbers in
# different units on different machines: ImageNet top-1 with one crop or ten, "FLOPs" that are multiply-adds,
# latency on a Pixel phone (MobileNet v3, Table 3; MnasNet, Table 1) or none at all. A side-by-side comparison is
# only worth something when every row is measured **the same way, on the same machine, in the same run**:
#
# * **accuracy**: re-measured now on the Fashion-MNIST test set, float32, one forward pass per image for every
#   row (the fast recipe's recorded figure also averages with the mirrored image — flip test-time augmentation —
#   so it is shown beside, not instead);
# * **parameters** and **multiply-adds** per 1×28×28 image, counted by `cnncourse.profile`;
# * **latency**: one forward pass at batch 1 and at batch 64 on this CPU with one thread, the networks taking
#   turns in every round, median over the rounds. Each pass is timed as the CPU time of the thread that runs it
#   (`time.thread_time`), what the pass costs on an idle core: on a shared machine the wall-clock time also counts
#   the moments other programs hold the core, and that part changes from run to run;
# * **peak inference memory**: glibc's bytes in use, sampled after every tensor operation of one forward pass
#   (`profile.heap_peak_bytes`), above the level before it;
# * **training time and machine**: what each checkpoint's metadata recorded. Those runs were made on different
#   machines and thread counts (`cnncourse/checkpoints/README.md`), so training times compare only within a group
#   trained alike.

# %% [markdown]
# ## 2 · The roster: which reference checkpoints exist
#
# The manifest lists every reference checkpoint a chapter uses. `compare.reference_roster()` looks for each in
# `cnncourse/checkpoints/`, verifies its sha256 and its weights against the architecture (a damaged file stops the
# notebook with a message saying how to repair it, rather than silently dropping a row), and splits the manifest
# into shipped and not trained yet:

# %%
# NBVAL_CHECK_OUTPUT
roster = compare.reference_roster()
print(roster)

# %% [markdown]
# ## 3 · Count: parameters and multiply-adds
#
# Loaded, each checkpoint is counted again here, and the counts must equal what its metadata recorded when it was
# saved (a checkpoint whose architecture changed since would not load at all — strict keys and shapes):

# %%
# NBVAL_CHECK_OUTPUT
references = compare.load_references(roster)
costs = compare.measure_costs(references)
print(f"{'checkpoint':<44} {'architecture':<24} {'parameters':>11} {'MACs / image':>13}  as recorded")
for name, model in references.items():
    params, macs = costs[name]
    metadata = model.checkpoint_metadata
    same = params == metadata["params"] and macs == metadata["macs"]
    print(f"{name:<44} {metadata['architecture']:<24} {params:>11,} {macs:>13,}  {'yes' if same else 'NO'}")

# %% [markdown]
# ## 4 · Measure: accuracy, latency, memory
#
# Accuracy first: all 10,000 test images in default mode (fast mode: the first 256). This is the long cell.

# %%
test_set = data.fashion_mnist(train=False)
TEST_IMAGES = 256 if fast_mode() else None  # None: all 10,000
start = time.perf_counter()
with one_thread():
    accuracy = compare.measure_accuracy(references, test_set, images=TEST_IMAGES)
print(f"re-measured {len(accuracy)} checkpoints on {next(iter(accuracy.values()))[1]:,} test images "
      f"in {time.perf_counter() - start:.0f} s (float32, 1 thread, no flip TTA)")
for name, (value, count) in accuracy.items():
    recorded = references[name].checkpoint_metadata["test_accuracy"]
    tta = references[name].checkpoint_metadata["history"]["config"].get("flip_tta", False)
    print(f"  {name:<44} {value:.2%}   recorded at the end of training: {recorded:.2%}"
          f"{' (with flip TTA)' if tta else ''}")

# %% [markdown]
# Re-measured in float32, the checkpoints trained without flip test-time augmentation agree with what their
# training recorded (under bfloat16 autocast) to within 0.1 points; the fast-recipe ones score a few tenths lower
# here, because their recorded figure averaged every image with its mirror image and this one does not (flip TTA
# added 0.11 and 0.34 points on two seeds in `benchmarks/README.md`). The table uses this run's figure for every
# row: one protocol, the same forward pass the latency columns time.
#
# Then latency, interleaved: in every round each network runs one forward pass of a batch of random images, in
# turn. Default mode: 25 rounds at batch 1 and 7 at batch 64 (fast mode: 5 and 2), one thread, after one warm-up
# pass each. Then the measured memory peak of one forward pass at each batch size.

# %%
ROUNDS_B1, ROUNDS_B64 = (5, 2) if fast_mode() else (25, 7)
with one_thread():
    latency_b1 = compare.interleaved_latency(references, batch_size=1, rounds=ROUNDS_B1, clock=time.thread_time)
    latency_b64 = compare.interleaved_latency(references, batch_size=64, rounds=ROUNDS_B64, clock=time.thread_time)
    peak_b1 = compare.measure_peak_memory(references, batch_size=1)
    peak_b64 = compare.measure_peak_memory(references, batch_size=64)
CPU = profile.describe_device("cpu")
print(f"latency: median of {ROUNDS_B1} rounds (batch 1) and {ROUNDS_B64} rounds (batch 64), the thread's CPU "
      f"time, 1 thread, {CPU}")

# %% [markdown]
# ### The table
#
# Columns: parameters and multiply-adds (MACs) per image; test accuracy re-measured now; latency in milliseconds
# for one forward pass of a batch of 1 and of 64; peak inference memory in MB (10⁶ bytes) for those batches; the
# training wall time and the machine its metadata records (EPYC: an AMD EPYC without bfloat16; Xeon: an Intel Xeon
# with bfloat16 hardware; "thr" the threads; "bf16" autocast).

# %%
table = compare.checkpoint_table(
    roster, references, costs, accuracy, latency_b1, latency_b64, peak_b1, peak_b64,
    notes=[f"accuracy on {next(iter(accuracy.values()))[1]:,} test images; latency (the thread's CPU time) and "
           f"memory: this CPU, 1 thread ({CPU}), measured in this run, the networks taking turns."])
print(table)

# %% [markdown]
# **How far to trust the timings.** Several rows are the *same architecture* with other weights (ResNet-20 three
# times, ResNet-20 and plain-20, ResNet-56 and plain-56 have equal multiply-adds): their latencies should be
# equal, and how far apart they came out is this run's noise floor. The cell below prints it, and reads the
# table's orderings only where they exceed it.

# %%
by_macs: dict[int, list[compare.CheckpointRow]] = {}
for row in table.rows:
    by_macs.setdefault(row.macs, []).append(row)
twins = {macs: rows for macs, rows in by_macs.items() if len(rows) > 1}
NOISE = {}
for column in ("latency_b1_ms", "latency_b64_ms"):
    ratios = []
    for macs, rows in twins.items():
        values = [getattr(row, column) for row in rows]
        ratios.append(max(values) / min(values))
        print(f"{format_count(macs)} MACs ({', '.join(row.architecture for row in rows)}), {column[8:-3]}: "
              f"{', '.join(f'{v:.1f}' for v in values)} ms → slowest ÷ fastest {ratios[-1]:.2f}")
    NOISE[column] = max(ratios) if ratios else 1.0
    print(f"noise floor of this run, {column[8:-3]}: equal networks differ by up to ×{NOISE[column]:.2f}")
best = max(table.rows, key=lambda row: row.accuracy)
fastest = min(table.rows, key=lambda row: row.latency_b64_ms)
print(f"most accurate: {best.name} ({best.accuracy:.2%}); fastest at batch 64: {fastest.name} "
      f"({fastest.latency_b64_ms:.0f} ms, {64 / fastest.latency_b64_ms * 1000:.0f} images/s)")
spread = max(row.accuracy for row in table.rows) - min(row.accuracy for row in table.rows)
print(f"accuracy spread across the table: {spread * 100:.2f} points")

# %% [markdown]
# ## 5 · Pictures: accuracy against cost, and the Pareto front
#
# A network is on the **Pareto front** (パレートフロント) when no other network is at least as accurate *and* at
# least as cheap, and strictly better in one of the two (`compare.pareto`, which is
# `cnncourse.nas.analysis.pareto_front` from chapter 08). Everything off the front is beaten by something on it.
# Which networks are on the front depends on what "cheap" means: here multiply-adds (left) and measured latency
# at batch 64 (right).

# %%
def front_plot(axes, rows, cost: str, label: str, scale: float = 1.0) -> list[compare.CheckpointRow]:
    front = compare.pareto(rows, cost=cost, value="accuracy")
    for index, row in enumerate(rows):
        on_front = row in front
        axes.scatter([getattr(row, cost) * scale], [row.accuracy * 100], s=40 if on_front else 22,
                     color=viz.COLORS[int(row.chapter) % len(viz.COLORS)], edgecolor="black" if on_front else "none",
                     zorder=3)
        axes.annotate(row.name.replace("_fashion_mnist", ""), (getattr(row, cost) * scale, row.accuracy * 100),
                      textcoords="offset points", xytext=(4, 3 - 8 * (index % 2)), fontsize=6)
    axes.plot([getattr(row, cost) * scale for row in front], [row.accuracy * 100 for row in front],
              color="black", linewidth=0.8, linestyle="--", label="Pareto front")
    axes.set(xlabel=label, ylabel="test accuracy (%)", xscale="log")
    axes.legend(fontsize="small", loc="center right")
    axes.margins(x=0.12)
    return front


figure = Figure(figsize=(12, 4.4), layout="constrained")
left, right = figure.subplots(1, 2, sharey=True)
front_macs = front_plot(left, table.rows, "macs", "multiply-adds per image (millions)", 1e-6)
front_latency = front_plot(right, table.rows, "latency_b64_ms", "latency, batch of 64 (ms of CPU time, this CPU)")
left.set_title("accuracy vs multiply-adds")
right.set_title("accuracy vs measured latency")
display(figure)
print("on the front (multiply-adds):", ", ".join(row.name for row in front_macs))
print("on the front (latency, batch 64):", ", ".join(row.name for row in front_latency))

# %% [markdown]
# In the stored run the multiply-adds front starts with MobileNet v3-Small's checkpoint — the fewest multiply-adds
# of the table — while the latency front leaves it out: at batch 64 it took longer than the ResNet-20s with twice
# its multiply-adds (section 6 measures why).
#
# Read the picture with the noise floor of section 4 in mind: a point is "beaten" only by a margin larger than
# the scatter of equal networks, and accuracy differences of a tenth of a point or two are within what another
# seed changes (two seeds of ResNet-20 on the fast recipe differed by 0.11 points, `benchmarks/README.md`). The
# runs are also not all trained alike: the `_4ep` ones had 4 epochs, chapters 01–02's main runs 35 with the
# textbook recipe, and the runs of chapters 03, 04, 07 and 08 had 10 with the fast recipe. So the front says which
# *checkpoints* are worth keeping, not which *architecture* is better — for that, compare rows trained alike (chapters 03–09 share one
# recipe and budget for exactly this reason).

# %% [markdown]
# ## 6 · Multiply-adds are not time, in every family
#
# Chapters 05–09 found it one family at a time: fewer multiply-adds did not mean a proportionally faster network on
# this CPU. Here every family at once, in two settings, all networks taking turns (one thread):
#
# * the **ImageNet-size** networks, one or two per family, at 224×224, batch 1 (the papers' setting; random
#   weights — the time does not depend on them);
# * every **architecture of the manifest** at 1×28×28, batch 64 — trained or not, so the families whose checkpoint
#   is still training are measured too.
#
# For each the cell prints the time per multiply-add relative to ResNet (nanoseconds per million MACs would be
# machine-specific; the ratio is what carries over). A network that uses the CPU as well as ResNet does scores 1.

# %%
FAMILY_PICKS = ["resnet18", "resnet50", "wide_resnet50_2", "se_resnet50", "densenet121", "mobilenet_v1",
                "mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "mnasnet1_0", "efficientnet_b0"]
torch.manual_seed(0)
imagenet_nets = {name: create_model(name).eval() for name in FAMILY_PICKS}
with one_thread():
    imagenet_latency = compare.interleaved_latency(imagenet_nets, batch_size=1, rounds=1 if fast_mode() else 7,
                                                   input_sizes={name: (3, 224, 224) for name in FAMILY_PICKS},
                                                   clock=time.thread_time)
imagenet_macs = {name: profile.count_macs(net, (3, 224, 224)) for name, net in imagenet_nets.items()}
depthwise_networks = {name for name, net in imagenet_nets.items() if compare.uses_depthwise(net)}
del imagenet_nets
base = imagenet_latency["resnet18"].median_ms / imagenet_macs["resnet18"]
print(f"224×224, batch 1, 1 thread, CPU time, median of {len(imagenet_latency['resnet18'].times_ms)} rounds")
print(f"{'network':<20} {'MACs':>8} {'÷ ResNet-18':>11} {'ms':>8} {'÷ ResNet-18':>11} {'time per MAC ÷ ResNet-18':>25}")
for name in FAMILY_PICKS:
    ms, macs = imagenet_latency[name].median_ms, imagenet_macs[name]
    print(f"{name:<20} {format_count(macs):>8} {macs / imagenet_macs['resnet18']:>11.2f} {ms:>8.1f} "
          f"{ms / imagenet_latency['resnet18'].median_ms:>11.2f} {ms / macs / base:>25.2f}")


def per_mac_summary(latency: dict, macs: dict, reference: str, depthwise: set[str]) -> dict[str, float]:
    """Time per multiply-add relative to ``reference``, and its range over the networks with depthwise
    convolutions (chosen by their layers, `compare.uses_depthwise`) and over the rest."""
    rate = {name: latency[name].median_ms / macs[name] / (latency[reference].median_ms / macs[reference])
            for name in latency}
    for label, chosen in [("with depthwise convolutions", True), ("the others", False)]:
        values = {name: value for name, value in rate.items() if (name in depthwise) == chosen}
        low, high = min(values, key=values.get), max(values, key=values.get)
        print(f"{label}: time per MAC ×{values[low]:.2f} ({low}) to ×{values[high]:.2f} ({high}) {reference}'s")
    return rate


imagenet_rate = per_mac_summary(imagenet_latency, imagenet_macs, "resnet18", depthwise_networks)

# %%
SMALL_ARCHITECTURES = list(dict.fromkeys(entry.model for entry in MANIFEST))
torch.manual_seed(0)
small_nets = {name: create_model(name, in_channels=1, num_classes=10).eval() for name in SMALL_ARCHITECTURES}
with one_thread():
    small_latency = compare.interleaved_latency(small_nets, batch_size=64, rounds=1 if fast_mode() else 5,
                                                input_sizes={name: (1, 28, 28) for name in small_nets},
                                                clock=time.thread_time)
small_macs = {name: profile.count_macs(net, (1, 28, 28)) for name, net in small_nets.items()}
depthwise_networks |= {name for name, net in small_nets.items() if compare.uses_depthwise(net)}
del small_nets
small_base = small_latency["resnet20"].median_ms / small_macs["resnet20"]
print(f"1×28×28, batch 64, 1 thread, CPU time, median of {len(small_latency['resnet20'].times_ms)} rounds")
print(f"{'architecture':<26} {'MACs':>8} {'÷ ResNet-20':>11} {'ms':>8} {'÷ ResNet-20':>11} {'time per MAC ÷ ResNet-20':>25}")
for name in SMALL_ARCHITECTURES:
    ms, macs = small_latency[name].median_ms, small_macs[name]
    print(f"{name:<26} {format_count(macs):>8} {macs / small_macs['resnet20']:>11.2f} {ms:>8.1f} "
          f"{ms / small_latency['resnet20'].median_ms:>11.2f} {ms / macs / small_base:>25.2f}")
small_rate = per_mac_summary(small_latency, small_macs, "resnet20", depthwise_networks)

# %%
figure = Figure(figsize=(12, 4.4), layout="constrained")
left, right = figure.subplots(1, 2)
for axes, names, macs_of, latency_of, title in [
        (left, FAMILY_PICKS, imagenet_macs, imagenet_latency, "ImageNet size, 224×224, batch 1"),
        (right, SMALL_ARCHITECTURES, small_macs, small_latency, "course variants, 1×28×28, batch 64")]:
    reference_name = names[0]
    slope = latency_of[reference_name].median_ms / macs_of[reference_name]
    span = [min(macs_of.values()) * 0.7, max(macs_of.values()) * 1.4]
    axes.plot(span, [value * slope for value in span], color="#bbbbbb", linewidth=0.8,
              label=f"time ∝ MACs at {reference_name}'s rate")
    for name in names:
        family = model_info(name).family
        color = viz.COLORS[sorted({model_info(n).family for n in names}).index(family) % len(viz.COLORS)]
        axes.scatter([macs_of[name]], [latency_of[name].median_ms], color=color, zorder=3)
        axes.annotate(name, (macs_of[name], latency_of[name].median_ms), textcoords="offset points",
                      xytext=(4, -3), fontsize=7)
    axes.set(xscale="log", yscale="log", xlabel="multiply-adds per image", ylabel="CPU time per pass (ms)",
             title=title)
    axes.legend(fontsize="small", loc="upper left")
display(figure)

# %% [markdown]
# Points above the grey line take longer than their multiply-adds would at ResNet's rate. The two summary lines
# under each table give the range of "time per MAC" for the networks with depthwise convolutions (MobileNet
# v1–v3, MnasNet, EfficientNet; picked by their layers, so chapter 08's searched genome, built from ResNet and
# DenseNet units, counts among the others) and for the rest. Rerun the cells and the numbers move, by more at 224×224 and
# batch 1 than at batch 64, so read the pattern rather than the digits. In the stored run every network built
# from inverted residuals (MobileNet v2 and v3 and EfficientNet in both settings, MnasNet at 224×224, the only
# setting it is measured in) spent more time per multiply-add than ResNet; MobileNet v1, whose multiply-adds sit almost all in 1×1 convolutions — large matrix
# products (chapter 05) — stayed within a factor of two of ResNet's rate. Among the networks without depthwise
# convolutions, DenseNet-BC was the slowest per multiply-add at 28×28: its concatenations copy data that no
# multiply-add counts. Chapter 05 measured why depthwise layers fall behind on this CPU: they move
# data at a fraction of what the memory bus could deliver, limited by the kernel, with very little arithmetic per
# byte moved. Phones and GPUs have other kernels and other ratios (MobileNet v3's Table 3 gives Pixel-1 times;
# ShuffleNet V2 — Ma et al., 2018, arXiv:1807.11164, Section 1 and Fig. 1 — measured a GPU and an ARM phone and
# concluded that FLOPs are an indirect measure of speed, because memory access cost and the degree of parallelism
# also decide it).
#
# The lesson that carries over is the method: **measure on the machine that will run the network, the candidates
# taking turns, and compare ratios**.

# %% [markdown]
# ## 7 · The ImageNet-size zoo: our counts beside the papers' accuracy
#
# The zoo's paper-sized networks (every registry model designed for 224×224 or more, with a torchvision or timm
# counterpart whose weights it loads strictly) cannot be trained here. Their parameters and multiply-adds are
# counted by us, at each network's own input size, on the `meta` device (shapes only, no memory); beside them the
# published ImageNet top-1 from each paper's table — only where the course can cite one. Read the protocol column:
# a ten-crop figure (the image classified at ten crops, the scores averaged) is not comparable with a single-crop
# one. He et al.'s ResNet-50 has 22.85% top-1 error with 10 crops (Table 3); the SENet authors' re-implemented
# ResNet-50, tested on one 224×224 crop and trained their way, 24.80% (their Table 2).

# %%
# NBVAL_CHECK_OUTPUT
zoo = compare.imagenet_table()
print(f"{'model':<18} {'input':>7} {'parameters':>12} {'MACs':>8}  {'top-1':>6}  {'protocol':<16} source")
for row in zoo:
    published = row.published
    print(f"{row.name:<18} {row.input_size[1]:>7} {row.params:>12,} {format_count(row.macs):>8}  "
          + (f"{published.top1:>5.2f}%  {published.protocol:<16} {published.source}" if published
             else f"{'—':>6}  {'':<16} (no figure cited by the course)"))

# %% [markdown]
# Where our counts and the papers' differ, the chapters said why: torchvision's ResNet-50 measures 4.09G
# multiply-adds against the paper's 3.8 × 10⁹ "FLOPs" because it strides the 3×3 convolution instead of the first
# 1×1 ("v1.5", chapter 01), and timm's SE-ResNet-50 the same way (4.09G against SENet's 3.87 GFLOPs, Table 2;
# chapter 03); MobileNet v2 measures 3.50M parameters against the paper's 3.4M (chapter 06);
# EfficientNet's "FLOPS" are multiply-adds (B0: 0.39B in Table 2, 385.8M here). `mnasnet1_0` has no figure
# because torchvision builds MnasNet-B1 (no SE), not the paper's headline MnasNet-A1 (75.2%, Table 1); DenseNet-161
# comes from the authors' code release, not from the paper's Table 3. A common study note puts ImageNet
# accuracies of different protocols in one column; they are not comparable.
#
# These are the papers' figures, not those of the weights you can download: torchvision documents its own on each
# weights enum (`ResNet18_Weights.IMAGENET1K_V1.meta["_metrics"]`: 69.758% top-1 with one crop, against the
# paper's 72.12% with ten), and timm on its model cards. A learner who loads released weights measures those.
#
# The picture the papers tell, in their own numbers: accuracy against our multiply-add count, one line per family.

# %%
figure = Figure(figsize=(7.5, 4.6), layout="constrained")
axes = figure.subplots()
families = sorted({row.family for row in zoo if row.published})
for family in families:
    points = sorted((row.macs, row.published.top1, row.name, row.published.protocol) for row in zoo
                    if row.family == family and row.published)
    color = viz.COLORS[families.index(family) % len(viz.COLORS)]
    axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", color=color, label=family, linewidth=1)
    for macs, top1, name, protocol in points:
        axes.annotate(name + (" (10-crop)" if protocol == "10-crop" else ""), (macs, top1), textcoords="offset points",
                      xytext=(4, -3), fontsize=6)
axes.set(xscale="log", xlabel="multiply-adds per image (counted here)", ylabel="published ImageNet top-1 (%)",
         title="the papers' accuracy against our multiply-adds")
axes.legend(fontsize="small", loc="lower right")
display(figure)

# %% [markdown]
# ## 8 · The timeline
#
# Year of each paper's first public (arXiv) version, the key idea and a headline number from the paper. Chapter
# 00b's timeline runs from AlexNet to EfficientNet with ILSVRC entries; this one is the course's ten architectures.

# %%
# NBVAL_CHECK_OUTPUT
for item in compare.TIMELINE:
    print(f"{item.year}  ch {item.chapter}  {item.architecture:<13} {item.idea:<48} {item.headline}  [{item.source}]")

# %%
figure = Figure(figsize=(12, 4.6), layout="constrained")
axes = figure.subplots()
years = sorted({item.year for item in compare.TIMELINE})
for row, item in enumerate(reversed(compare.TIMELINE)):  # the earliest on top, one line each
    color = viz.COLORS[years.index(item.year) % len(viz.COLORS)]
    axes.scatter([item.year], [row], color=color, zorder=3, s=45)
    axes.annotate(f"{item.architecture} (ch {item.chapter}): {item.idea} — {item.headline}", (item.year, row),
                  textcoords="offset points", xytext=(8, -3), fontsize=7)
axes.set(xticks=years, xlim=(min(years) - 0.2, max(years) + 3.2), ylim=(-0.7, len(compare.TIMELINE) - 0.3),
         yticks=[], title="the architectures of the course (year of the first arXiv version)")
axes.grid(axis="x", color="#eeeeee")
axes.spines[["left", "top", "right"]].set_visible(False)
display(figure)

# %% [markdown]
# Two threads run through it. Up to 2017 the question was **how to train deeper and use features better**
# (shortcuts, width, channel gates, concatenation), measured in accuracy. From MobileNet v1 on it became **how
# much accuracy per unit of cost** — first counted in multiply-adds, then (MnasNet, MobileNet v3) measured as
# latency on the target phone, and with EfficientNet as how to spend a larger budget. This notebook's sections 4–6
# are that second question asked on this CPU.

# %% [markdown]
# ## 9 · Which would you pick?
#
# Three deployments, answered from the table above by `compare.cheapest_within`: among the checkpoints within
# half a point of the best accuracy (closer than that is what another seed can change, section 5), take the one
# that is cheapest in what the deployment pays for. The cell prints the candidates, the pick and why, from this
# run's numbers.

# %%
TOLERANCE = 0.005  # half a point of accuracy
rows = table.rows


def show_pick(title: str, cost: str | None, why: str) -> compare.CheckpointRow:
    pick, candidates = compare.cheapest_within(rows, cost, TOLERANCE)
    print(f"— {title}")
    if cost is not None:
        print(f"  candidates within {TOLERANCE:.1%} of the best accuracy ({max(r.accuracy for r in rows):.2%}): "
              + ", ".join(f"{r.name} ({r.accuracy:.2%})" for r in candidates))
    print(f"  pick: {pick.name} — {why.format(row=pick)}")
    return pick


phone = show_pick("a phone app (download size, memory, battery)", "params",
                  "{row.params:,} parameters = {row.weights_bytes:,} bytes of float32 weights "
                  "(a quarter with 8-bit weights), peak memory {row.peak_b1_bytes:,} bytes at batch 1, "
                  "{row.macs:,} multiply-adds and {row.latency_b1_ms:.1f} ms per image on this CPU")
server = show_pick("a GPU server (accuracy first, large batches)", None,
                   "{row.accuracy:.2%}; on this CPU it processes {row.latency_b64_ms:.0f} ms per batch of 64 "
                   "({row.params:,} parameters, {row.macs:,} multiply-adds per image)")
level = [r for r in rows if r is not server and r.accuracy >= server.accuracy - TOLERANCE]
print("  level with it (within half a point): " + (", ".join(f"{r.name} ({r.accuracy:.2%})" for r in level) or "none"))
pick, candidates = compare.cheapest_within(rows, "latency_b64_ms", TOLERANCE)
print("— a CPU classroom (2-core laptops, batches of test images, nothing but the CPU)")
print(f"  candidates within {TOLERANCE:.1%} of the best accuracy: "
      + ", ".join(f"{r.name} ({r.latency_b64_ms:.0f} ms / 64)" for r in candidates))
print(f"  pick: {pick.name} — {pick.latency_b64_ms:.0f} ms per batch of 64 "
      f"({64000 / pick.latency_b64_ms:.0f} images/s on one thread), {pick.accuracy:.2%}; its training took "
      f"{pick.wall_time_s / 60:.0f} min on {pick.trained_on}")
classroom = pick
runner_up = sorted(candidates, key=lambda r: r.latency_b64_ms)[1:2]
if runner_up:
    ratio = runner_up[0].latency_b64_ms / pick.latency_b64_ms
    floor = NOISE["latency_b64_ms"]
    print(f"  next fastest candidate: {runner_up[0].name}, ×{ratio:.2f} the time — "
          + (f"beyond this run's noise floor at batch 64 (×{floor:.2f})" if ratio > floor
             else f"within this run's noise floor at batch 64 (×{floor:.2f}): a tie"))

# %% [markdown]
# **The reasoning, and what this machine cannot tell.**
#
# * **Phone.** A phone pays for the weights it downloads and keeps (four bytes a float32 parameter), for the
#   memory of one image's forward pass, and for time on its own processor. The first two are measured here and
#   carry over. The third does not: this CPU is not a phone, and no phone is attached. The papers measured it —
#   MobileNet v3's Table 3 and MnasNet's Table 1 give single-core Pixel latencies, and MobileNet v3 was *searched*
#   against them. The recipe therefore is: shortlist by accuracy, parameters and memory (this table), then time the
#   shortlist on the phone. The MobileNets of chapters 05–07 were designed for exactly that step, but on 28×28
#   images the course's small-image versions carry more parameters than ResNet-20 (chapter 07, section 9:
#   1,527,818 for MobileNet v3-Small against ResNet-20's 269,434), so on this data a small ResNet can win the
#   shortlist (the one trained so far, MobileNet v3-Small, scored 93.25% here, outside the half point) — and
#   section 6 shows that fewer multiply-adds would not have made them faster here anyway.
# * **GPU server.** A server serving large batches is paid per image, and it has memory to spare: accuracy comes
#   first, then throughput at large batches. GPU time cannot be measured on this machine (it has no GPU), and
#   throughput on this CPU does not predict it: ShuffleNet V2 (Ma et al., 2018, Section 1 and Fig. 1) measured
#   networks of equal FLOPs running at different speeds on a GPU, and a GPU's ordering of two networks need not be
#   this CPU's. So the pick is the most accurate checkpoint, and the next step is to time it
#   against its neighbours on the server's GPU at the batch size it will serve.
# * **CPU classroom.** Here the target *is* this kind of machine, so everything needed is measured: the fastest
#   checkpoint within half a point of the best, at batch 64 on one thread. Its training time comes from its
#   metadata and was measured on the machine named beside it — comparable only with runs made there alike.
#
# None of the three answers is "the newest architecture": each falls out of the cost that deployment pays, and
# the third is the only one this notebook can settle completely.

# %% [markdown]
# ## 10 · Try it: your own constraint
#
# Pick what you pay for and how much accuracy you may give up; the widget shows the networks that qualify and the
# one it would choose, from this run's table. Without widgets, the cell prints the same for three settings.

# %%
import ipywidgets as widgets

COSTS = {"parameters": "params", "multiply-adds": "macs", "latency, batch 1": "latency_b1_ms",
         "latency, batch 64": "latency_b64_ms", "memory, batch 1": "peak_b1_bytes", "memory, batch 64": "peak_b64_bytes"}


def show_constraint(cost_label: str, points: float) -> None:
    cost = COSTS[cost_label]
    pick, candidates = compare.cheapest_within(table.rows, cost, points / 100)
    front = compare.pareto(table.rows, cost=cost, value="accuracy")
    print(f"within {points:.1f} points of the best accuracy, cheapest in {cost_label}: {pick.name}")
    unit = {"params": ("", 1), "macs": ("", 1), "latency_b1_ms": (" ms", 1), "latency_b64_ms": (" ms", 1),
            "peak_b1_bytes": (" MB", 1e-6), "peak_b64_bytes": (" MB", 1e-6)}[cost]
    for row in sorted(candidates, key=lambda r: getattr(r, cost)):
        value = getattr(row, cost) * unit[1]
        shown = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
        print(f"  {row.name:<44} {row.accuracy:.2%}  {cost_label}: {shown}{unit[0]}"
              f"{'  (on the Pareto front)' if row in front else ''}")


cost_picker = widgets.Dropdown(options=list(COSTS), value="latency, batch 64", description="cost")
points_slider = widgets.FloatSlider(value=0.5, min=0.0, max=10.0, step=0.1, description="give up",
                                    continuous_update=False, readout_format=".1f")
display(widgets.VBox([widgets.HBox([cost_picker, points_slider]),
                      widgets.interactive_output(show_constraint, {"cost_label": cost_picker,
                                                                   "points": points_slider})]))

# %%
# The same without widgets (e.g. in a terminal or a static view of the notebook):
for cost_label, points in [("parameters", 0.5), ("latency, batch 1", 1.0), ("memory, batch 64", 2.0)]:
    show_constraint(cost_label, points)

# %% [markdown]
# ## 11 · Closing mock exam — 総合模擬試験
#
# Twenty questions drawn across every chapter's bank, spread evenly over the chapters (as
# `python -m cnncourse exam` draws them; in a terminal that command also keeps time — 45 minutes for 30 questions
# by default — and scores per chapter at the end). Here each answer gets its feedback at once. Choose
# `lang="ja"` for Japanese; your answers are saved, and `python -m cnncourse quiz --review` brings back the
# ones you missed.

# %%
from cnncourse import quiz
from cnncourse.quiz.bank import load_bank
from cnncourse.quiz.engine import pick_exam_questions

exam = pick_exam_questions(load_bank(None), 20, seed=0)
print(f"{len(exam)} questions from the chapters: "
      + ", ".join(sorted({question.chapter for question in exam}, key=[q.chapter for q in load_bank(None)].index)))
quiz.show(exam, lang="en", seed=0)

# %% [markdown]
# ## 12 · The combined cheat-sheet — まとめ (全章)
#
# Every chapter's terms in Japanese and English, from the course glossary (`cnncourse/quiz/bank/glossary_*.yaml`,
# the list the quizzes use), one table per chapter in course order:

# %%
from cnncourse.quiz import cheat_sheet
from cnncourse.quiz.bank import COURSE_CHAPTERS, chapter_title

Markdown("\n\n".join(f"### {chapter_title(chapter, 'ja')} — {chapter_title(chapter, 'en')}\n\n{cheat_sheet(chapter)}"
                     for chapter in COURSE_CHAPTERS))

# %%
print(f"notebook ran in {(time.perf_counter() - NOTEBOOK_START) / 60:.1f} min "
      f"({'fast mode' if fast_mode() else 'default mode'}, {torch.get_num_threads()} "
      f"thread{'s' if torch.get_num_threads() != 1 else ''})")

# %% [markdown]
# ## References
# - K. He, X. Zhang, S. Ren, J. Sun. *Deep Residual Learning for Image Recognition.* CVPR 2016, arXiv:1512.03385.
# - S. Zagoruyko, N. Komodakis. *Wide Residual Networks.* BMVC 2016, arXiv:1605.07146.
# - J. Hu, L. Shen, S. Albanie, G. Sun, E. Wu. *Squeeze-and-Excitation Networks.* CVPR 2018, arXiv:1709.01507.
# - G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger. *Densely Connected Convolutional Networks.* CVPR 2017,
#   arXiv:1608.06993.
# - A. G. Howard et al. *MobileNets: Efficient Convolutional Neural Networks for Mobile Vision Applications.* 2017,
#   arXiv:1704.04861.
# - M. Sandler, A. Howard, M. Zhu, A. Zhmoginov, L.-C. Chen. *MobileNetV2: Inverted Residuals and Linear
#   Bottlenecks.* CVPR 2018, arXiv:1801.04381.
# - A. Howard et al. *Searching for MobileNetV3.* ICCV 2019, arXiv:1905.02244.
# - B. Zoph, V. Vasudevan, J. Shlens, Q. V. Le. *Learning Transferable Architectures for Scalable Image
#   Recognition.* CVPR 2018, arXiv:1707.07012.
# - M. Tan, B. Chen, R. Pang, V. Vasudevan, M. Sandler, A. Howard, Q. V. Le. *MnasNet: Platform-Aware Neural
#   Architecture Search for Mobile.* CVPR 2019, arXiv:1807.11626.
# - M. Tan, Q. V. Le. *EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks.* ICML 2019,
#   arXiv:1905.11946.
# - N. Ma, X. Zhang, H.-T. Zheng, J. Sun. *ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture
#   Design.* ECCV 2018, arXiv:1807.11164.
#
# **This is the last chapter.** Back to the start: `notebooks/00_start_here.ipynb`; drill what you missed with
# `python -m cnncourse quiz --review`, or sit the timed mock exam with `python -m cnncourse exam`.
