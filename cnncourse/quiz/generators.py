"""Numeric drills with seeded, varied numbers whose answers come from building the real modules.

Each generator draws realistic sizes from a seeded generator, BUILDS the module the question is about
(``nn.Conv2d``, :class:`cnncourse.layers.depthwise.DepthwiseSeparableConv`,
:class:`cnncourse.models.resnet.Bottleneck`, :class:`cnncourse.layers.SqueezeExcitation`), and takes the
answer from the module: parameters by ``sum(p.numel())``, output sizes by running a tensor through it,
multiply-adds with :func:`cnncourse.profile.count_macs` (PyTorch's own ``FlopCounterMode``). The
explanation writes the paper's closed formula with the numbers filled in, so a learner sees how to get
there by hand, and the tests check that formula and module agree. An answer key therefore cannot drift
from the code the chapters teach.

``generate(kind, seed)`` returns the same question for the same seed; ``drill_kinds()`` lists the kinds.
A generated item's id is ``drill-<kind>-<seed>``, so a missed drill can be regenerated for review by
:func:`question_from_id`.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.profile import count_macs
from cnncourse.quiz.bank import LocalizedText, Question
from cnncourse.quiz.engine import format_number

_PARAMETER_UNIT = LocalizedText(ja="個", en="parameters")
_MAC_UNIT = LocalizedText(ja="回 (積和演算)", en="multiply-adds")
_PIXEL_UNIT = LocalizedText(ja="ピクセル", en="pixels")
_PERCENT_UNIT = LocalizedText(ja="%", en="%")

_CONV_REFERENCE = (
    "Dumoulin & Visin, 2016, A guide to convolution arithmetic for deep learning, arXiv:1603.07285, Section 2"
)
_MOBILENET_REFERENCE = (
    "Howard et al., 2017, MobileNets, arXiv:1704.04861, Section 3.1 "
    "(cost of standard vs depthwise separable convolution)"
)
_RESNET_REFERENCE = (
    "He et al., 2015, Deep Residual Learning for Image Recognition, arXiv:1512.03385, "
    "Section 4.1 and Fig. 5 (bottleneck)"
)
_SENET_REFERENCE = (
    "Hu et al., 2017, Squeeze-and-Excitation Networks, arXiv:1709.01507, "
    "Section 3 (Eq. 3) and Section 4 (parameter count)"
)

_CHANNELS = (16, 24, 32, 40, 48, 64, 96, 128, 160, 192, 256, 320, 384, 512)
_ID_PATTERN = re.compile(r"^drill-(?P<kind>[a-z_]+)-(?P<seed>\d+)$")


def _parameter_count(module: nn.Module) -> int:
    return sum(parameter.numel() for parameter in module.parameters())


def _conv_weight_count(module: nn.Module) -> int:
    """Parameters of the convolutions only (a separable block's BatchNorms are not part of the question)."""
    return sum(_parameter_count(layer) for layer in module.modules() if isinstance(layer, nn.Conv2d))


def _spatial_size(module: nn.Module, channels: int, size: int) -> int:
    with torch.no_grad():
        output = module(torch.zeros(1, channels, size, size))
    return int(output.shape[-1])


def _numeric(
    kind: str,
    seed: int,
    chapter: str,
    prompt: LocalizedText,
    answer: float,
    explanation: LocalizedText,
    reference: str,
    unit: LocalizedText,
    tolerance: float = 0.0,
) -> Question:
    return Question(
        id=f"drill-{kind}-{seed}",
        chapter=chapter,
        kind="numeric",
        prompt=prompt,
        explanation=explanation,
        references=(reference,),
        answer=float(answer),
        tolerance=tolerance,
        unit=unit,
        tags=("drill", kind),
        source="generated",
    )


def _draw_conv_params(rng: random.Random) -> dict[str, Any]:
    return {
        "in_channels": rng.choice(_CHANNELS),
        "out_channels": rng.choice(_CHANNELS),
        "kernel": rng.choice((1, 3, 3, 5, 7)),
        "bias": rng.random() < 0.3,
    }


def _conv_params(p: dict[str, Any], seed: int) -> Question:
    in_channels, out_channels, kernel, with_bias = p["in_channels"], p["out_channels"], p["kernel"], p["bias"]
    conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=with_bias)
    answer = _parameter_count(conv)
    formula = f"{kernel}×{kernel}×{in_channels}×{out_channels}"
    if with_bias:
        formula += f" + {out_channels}"
        bias_en, bias_ja = "with a bias per output channel", "出力チャネルごとにバイアスあり"
        rule_en = "k·k·C_in·C_out + C_out (one bias per output channel)"
        rule_ja = "k·k·C_in·C_out + C_out (バイアスは出力チャネルごとに1つ)"
    else:
        bias_en, bias_ja = "bias=False, as when BatchNorm follows", "バイアスなし。直後に BatchNorm が続く想定"
        rule_en, rule_ja = "k·k·C_in·C_out (no bias)", "k·k·C_in·C_out (バイアスなし)"
    return _numeric(
        "conv_params",
        seed,
        DRILL_CHAPTERS["conv_params"],
        LocalizedText(
            ja=f"{kernel}×{kernel} の通常の畳み込み層が入力 {in_channels} チャネルを出力 {out_channels} チャネルに変換する"
            f" ({bias_ja})。この層のパラメータ数はいくつか。",
            en=f"A standard {kernel}×{kernel} convolution maps {in_channels} input channels to "
               f"{out_channels} output "
            f"channels ({bias_en}). How many parameters does it have?",
        ),
        answer,
        LocalizedText(
            ja=f"{rule_ja}: {formula} = {format_number(answer)}。各出力チャネルが全入力チャネルにわたる k×k のフィルタを1枚持つ。"
            "入力画像の大きさはパラメータ数に影響しない。",
            en=f"{rule_en}: {formula} = {format_number(answer)}. Each output channel has one k×k filter "
               "across all "
            "input channels; the image size does not change the parameter count.",
        ),
        _CONV_REFERENCE,
        _PARAMETER_UNIT,
    )


def _draw_separable_params(rng: random.Random) -> dict[str, Any]:
    return {
        "in_channels": rng.choice(_CHANNELS),
        "out_channels": rng.choice(_CHANNELS),
        "kernel": rng.choice((3, 3, 5)),
    }


def _separable_params(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.layers.depthwise import DepthwiseSeparableConv

    in_channels, out_channels, kernel = p["in_channels"], p["out_channels"], p["kernel"]
    block = DepthwiseSeparableConv(in_channels, out_channels, kernel_size=kernel)
    answer = _conv_weight_count(block)
    return _numeric(
        "separable_params",
        seed,
        DRILL_CHAPTERS["separable_params"],
        LocalizedText(
            ja=f"深さ方向分離可能畳み込み ({kernel}×{kernel} の深さ方向畳み込み + 1×1 の点単位畳み込み) で、入力 {in_channels} "
            f"チャネルを出力 {out_channels} チャネルに変換する。畳み込みの重みの数はいくつか (バイアスなし、BatchNorm は数えない)。",
            en=f"A depthwise separable convolution ({kernel}×{kernel} depthwise + 1×1 pointwise) maps "
               f"{in_channels} input "
            f"channels to {out_channels} output channels. How many convolution weights does it have (no "
            "bias, "
            "BatchNorm not counted)?",
        ),
        answer,
        LocalizedText(
            ja=f"深さ方向: k·k·C_in = {kernel}×{kernel}×{in_channels}、点単位: C_in·C_out = "
               f"{in_channels}×{out_channels}。"
            f"合計 {format_number(answer)}。通常の畳み込み k·k·C_in·C_out = "
            f"{format_number(kernel * kernel * in_channels * out_channels)} との比は 1/C_out + 1/k² になる。",
            en=f"Depthwise: k·k·C_in = {kernel}×{kernel}×{in_channels}; pointwise: C_in·C_out = "
               f"{in_channels}×{out_channels}; "
            f"total {format_number(answer)}. A standard convolution needs k·k·C_in·C_out = "
            f"{format_number(kernel * kernel * in_channels * out_channels)}; the ratio is 1/C_out + 1/k².",
        ),
        _MOBILENET_REFERENCE,
        _PARAMETER_UNIT,
    )


def _draw_separable_ratio(rng: random.Random) -> dict[str, Any]:
    return {
        "in_channels": rng.choice(_CHANNELS),
        "out_channels": rng.choice(_CHANNELS),
        "kernel": rng.choice((3, 5)),
    }


def _separable_ratio(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.layers.depthwise import DepthwiseSeparableConv

    in_channels, out_channels, kernel = p["in_channels"], p["out_channels"], p["kernel"]
    separable = _conv_weight_count(DepthwiseSeparableConv(in_channels, out_channels, kernel_size=kernel))
    standard_conv = nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False)
    standard = _conv_weight_count(standard_conv)
    answer = 100.0 * separable / standard
    return _numeric(
        "separable_ratio",
        seed,
        DRILL_CHAPTERS["separable_ratio"],
        LocalizedText(
            ja=f"入力 {in_channels} チャネル、出力 {out_channels} チャネル、カーネル {kernel}×{kernel} のとき、深さ方向分離可能畳み込みの"
            "重みの数は通常の畳み込みの何 % か (バイアスなし)。小数第1位まで答えよ。",
            en=f"With {in_channels} input channels, {out_channels} output channels and a {kernel}×{kernel} "
               "kernel, a depthwise "
            "separable convolution has what percentage of the weights of a standard convolution (no bias)? "
            "Answer to one decimal place.",
        ),
        answer,
        LocalizedText(
            ja=f"(k²·C_in + C_in·C_out) / (k²·C_in·C_out) = 1/C_out + 1/k² = 1/{out_channels} + "
               f"1/{kernel * kernel}"
            f" ≈ {answer:.2f} %。C_out が大きいほど 1/k² に近づくので、3×3 ならおよそ 1/8〜1/9 になる。",
            en=f"(k²·C_in + C_in·C_out) / (k²·C_in·C_out) = 1/C_out + 1/k² = 1/{out_channels} + "
               f"1/{kernel * kernel}"
            f" ≈ {answer:.2f} %. With many output channels it approaches 1/k², about 1/8 to 1/9 for 3×3 "
            "kernels.",
        ),
        _MOBILENET_REFERENCE,
        _PERCENT_UNIT,
        tolerance=0.06,  # one decimal place either side of the rounding, plus float slack
    )


def _draw_bottleneck_params(rng: random.Random) -> dict[str, Any]:
    planes = rng.choice((16, 32, 64, 128, 256))
    out_channels = planes * 4  # He et al., Fig. 5: 1×1 reduce, 3×3, 1×1 restore to 4× the width
    projection = rng.random() < 0.5
    # A projection shortcut appears in the first block of a stage: from the previous stage's output
    # (half this stage's output) or, in the first stage, from the stem's `planes` channels.
    in_channels = (out_channels // 2 if rng.random() < 0.5 else planes) if projection else out_channels
    return {"in_channels": in_channels, "planes": planes, "projection": projection}


def _bottleneck_params(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.models.resnet import Bottleneck

    in_channels, planes, projection = p["in_channels"], p["planes"], p["projection"]
    out_channels = planes * Bottleneck.expansion
    if projection:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, bias=False), nn.BatchNorm2d(out_channels)
        )
    else:
        downsample = None
    block = Bottleneck(in_channels, planes, stride=1, downsample=downsample)
    answer = _parameter_count(block)
    if projection:
        shortcut_en = (
            f"The shortcut is a projection: a 1×1 convolution {in_channels}→{out_channels} (bias=False) with "
            "BatchNorm."
        )
        shortcut_ja = f"ショートカットは射影: 1×1 畳み込み {in_channels}→{out_channels} (バイアスなし) と BatchNorm。"
        shortcut_formula = f" + {in_channels}×{out_channels} + 2×{out_channels}"
    else:
        shortcut_en = "The shortcut is the identity (no parameters)."
        shortcut_ja = "ショートカットは恒等写像 (パラメータなし)。"
        shortcut_formula = ""
    formula = (
        f"{in_channels}×{planes} + 3×3×{planes}×{planes} + {planes}×{out_channels} "
        f"+ 2×({planes} + {planes} + {out_channels}){shortcut_formula}"
    )
    return _numeric(
        "bottleneck_params",
        seed,
        DRILL_CHAPTERS["bottleneck_params"],
        LocalizedText(
            ja=f"ResNet のボトルネック型残差ブロック (1×1 で {in_channels}→{planes}、3×3 で {planes}→{planes}、1×1 で "
               f"{planes}→{out_channels}、"
            f"各畳み込みはバイアスなしで直後に BatchNorm) のパラメータ数はいくつか。{shortcut_ja}"
            "BatchNorm の γ と β は数え、移動平均 (バッファ) は数えない。",
            en=f"A ResNet bottleneck block (1×1 {in_channels}→{planes}, 3×3 {planes}→{planes}, 1×1 "
               f"{planes}→{out_channels}, "
            "every convolution without bias and followed by BatchNorm): how many parameters does it have? "
            f"{shortcut_en} "
            "Count BatchNorm's γ and β, not its running statistics (buffers).",
        ),
        answer,
        LocalizedText(
            ja=f"畳み込み: {in_channels}×{planes} + 3×3×{planes}×{planes} + {planes}×{out_channels}、BatchNorm "
               "は各チャネルに γ, β の2個。"
            f"{formula} = {format_number(answer)}。",
            en=f"Convolutions: {in_channels}×{planes} + 3×3×{planes}×{planes} + {planes}×{out_channels}; "
               "each BatchNorm has γ and "
            f"β per channel. {formula} = {format_number(answer)}.",
        ),
        _RESNET_REFERENCE,
        _PARAMETER_UNIT,
    )


def _draw_se_params(rng: random.Random) -> dict[str, Any]:
    return {"channels": rng.choice((64, 128, 256, 512, 1024, 2048)), "reduction": rng.choice((4, 8, 16, 16))}


def _se_params(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.layers import SqueezeExcitation

    channels, reduction = p["channels"], p["reduction"]
    squeeze = channels // reduction
    block = SqueezeExcitation(channels, squeeze)
    answer = _parameter_count(block)
    return _numeric(
        "se_params",
        seed,
        DRILL_CHAPTERS["se_params"],
        LocalizedText(
            ja=f"チャネル数 C = {channels}、削減率 r = {reduction} の SE ブロック (全結合 C→C/r、ReLU、全結合 C/r→C、sigmoid、"
            "どちらの全結合もバイアスあり) のパラメータ数はいくつか。",
            en=f"A squeeze-and-excitation block with C = {channels} channels and reduction ratio r = "
               f"{reduction} (fully "
            "connected C→C/r, ReLU, fully connected C/r→C, sigmoid; both layers with bias): how many "
            "parameters does "
            "it have?",
        ),
        answer,
        LocalizedText(
            ja=f"C/r = {squeeze}。重み 2·C·C/r = 2×{channels}×{squeeze}、バイアス C/r + C = {squeeze} + {channels}。"
            f"合計 {format_number(answer)}。squeeze (全体平均プーリング) と sigmoid にパラメータはない。",
            en=f"C/r = {squeeze}. Weights 2·C·C/r = 2×{channels}×{squeeze}; biases C/r + C = {squeeze} + "
               f"{channels}; total "
            f"{format_number(answer)}. The squeeze (global average pooling) and the sigmoid have no "
            "parameters.",
        ),
        _SENET_REFERENCE,
        _PARAMETER_UNIT,
    )


@dataclass(frozen=True)
class _SpatialLayer:
    """One layer of an output-size drill: a convolution or a max pooling with its hyper-parameters."""

    name_en: str
    name_ja: str
    kernel: int
    stride: int
    padding: int

    def build(self) -> nn.Module:
        if self.name_en == "max pooling":
            return nn.MaxPool2d(self.kernel, self.stride, self.padding)
        return nn.Conv2d(1, 1, self.kernel, self.stride, self.padding, bias=False)


def _random_spatial_layer(rng: random.Random) -> _SpatialLayer:
    if rng.random() < 0.25:
        kernel, stride = rng.choice(((3, 2), (2, 2)))
        return _SpatialLayer("max pooling", "最大プーリング", kernel, stride, kernel // 2 if kernel == 3 else 0)
    kernel = rng.choice((1, 3, 3, 5, 7))
    stride = rng.choice((1, 2, 2))
    padding = rng.choice((0, kernel // 2, kernel // 2))
    return _SpatialLayer("convolution", "畳み込み", kernel, stride, padding)


def _draw_output_size(rng: random.Random) -> dict[str, Any]:
    size = rng.choice((28, 32, 56, 64, 96, 112, 128, 160, 224, 227, 299))
    while True:  # draw again until every layer's window fits its (padded) input
        layers = [_random_spatial_layer(rng) for _ in range(rng.choice((1, 2, 2, 3)))]
        current = size
        for layer in layers:
            if current + 2 * layer.padding < layer.kernel:
                break
            current = (current + 2 * layer.padding - layer.kernel) // layer.stride + 1
        else:
            return {"size": size, "layers": layers}


def _output_size(p: dict[str, Any], seed: int) -> Question:
    size, layers = p["size"], p["layers"]
    sizes = [size]
    for layer in layers:  # run a tensor through each layer in turn: the shapes are PyTorch's, not a formula's
        sizes.append(_spatial_size(layer.build(), 1, sizes[-1]))
    answer = sizes[-1]
    steps_en = "; ".join(
        f"{layer.name_en} {layer.kernel}×{layer.kernel}, stride {layer.stride}, padding {layer.padding}"
        for layer in layers
    )
    steps_ja = "、".join(
        f"{layer.name_ja} (カーネル {layer.kernel}×{layer.kernel}、ストライド {layer.stride}、パディング {layer.padding})"
        for layer in layers
    )
    work = " → ".join(
        f"⌊({before} + 2×{layer.padding} − {layer.kernel}) / {layer.stride}⌋ + 1 = {after}"
        for layer, before, after in zip(layers, sizes, sizes[1:])
    )
    return _numeric(
        "output_size",
        seed,
        DRILL_CHAPTERS["output_size"],
        LocalizedText(
            ja=f"{size}×{size} の入力に次の層を順に適用する: {steps_ja}。出力の高さ (= 幅) はいくつか。",
            en=f"A {size}×{size} input goes through, in order: {steps_en}. What is the output height (= "
               "width)?",
        ),
        answer,
        LocalizedText(
            ja=f"出力サイズ = ⌊(H + 2P − K) / S⌋ + 1 を層ごとに適用する: {work}。割り切れないときは切り捨て。",
            en=f"Apply output = ⌊(H + 2P − K) / S⌋ + 1 layer by layer: {work}. A division that does not come "
               "out even is "
            "rounded down.",
        ),
        _CONV_REFERENCE,
        _PIXEL_UNIT,
    )


def _draw_conv_macs(rng: random.Random) -> dict[str, Any]:
    return {
        "size": rng.choice((14, 28, 32, 56, 112)),
        "in_channels": rng.choice(_CHANNELS[:10]),
        "out_channels": rng.choice(_CHANNELS[:10]),
        "kernel": rng.choice((1, 3, 3, 5)),
        "stride": rng.choice((1, 1, 2)),
    }


def _conv_macs(p: dict[str, Any], seed: int) -> Question:
    size, in_channels, out_channels = p["size"], p["in_channels"], p["out_channels"]
    kernel, stride = p["kernel"], p["stride"]
    conv = nn.Conv2d(in_channels, out_channels, kernel, stride, kernel // 2, bias=False)
    output_size = _spatial_size(conv, in_channels, size)
    answer = count_macs(conv, (in_channels, size, size))
    return _numeric(
        "conv_macs",
        seed,
        DRILL_CHAPTERS["conv_macs"],
        LocalizedText(
            ja=f"{size}×{size}×{in_channels} の入力に {kernel}×{kernel} の畳み込み (出力 {out_channels} チャネル、ストライド "
               f"{stride}、"
            f"パディング {kernel // 2}、バイアスなし) を適用する。積和演算 (multiply-add) の回数はいくつか (バッチサイズ 1)。",
            en=f"A {kernel}×{kernel} convolution ({out_channels} output channels, stride {stride}, padding "
               f"{kernel // 2}, no "
            f"bias) is applied to a {size}×{size}×{in_channels} input. How many multiply-adds does it take "
            "(batch size 1)?",
        ),
        answer,
        LocalizedText(
            ja=f"出力は {output_size}×{output_size}。積和演算 = H_out·W_out·C_out·k·k·C_in = "
            f"{output_size}×{output_size}×{out_channels}×{kernel}×{kernel}×{in_channels} = "
            f"{format_number(answer)}。"
            "出力の1要素ごとに k·k·C_in 回の積和が必要。",
            en=f"The output is {output_size}×{output_size}. Multiply-adds = H_out·W_out·C_out·k·k·C_in = "
            f"{output_size}×{output_size}×{out_channels}×{kernel}×{kernel}×{in_channels} = "
            f"{format_number(answer)}: "
            "each output value needs k·k·C_in multiply-adds.",
        ),
        _MOBILENET_REFERENCE,
        _MAC_UNIT,
    )


# ------------------------------------------------------------------ chapters 02, 04, 06-09


_WRN_REFERENCE = (
    "Zagoruyko & Komodakis, 2016, Wide Residual Networks, arXiv:1605.07146, Section 2 and Table 1 "
    "(widths 16k, 32k, 64k; block B(3,3))"
)
_DENSENET_REFERENCE = (
    "Huang et al., 2017, Densely Connected Convolutional Networks, arXiv:1608.06993, Section 3 "
    "(growth rate, bottleneck layers DenseNet-B)"
)
_MOBILENET_V2_REFERENCE = (
    "Sandler et al., 2018, MobileNetV2: Inverted Residuals and Linear Bottlenecks, arXiv:1801.04381, Table 1"
)
_MOBILENET_V3_REFERENCE = (
    "Howard et al., 2019, Searching for MobileNetV3, arXiv:1905.02244, Tables 1-2 and Section 5.3 "
    "(SE squeeze width: 1/4 of the expansion layer, rounded to a multiple of 8)"
)
_EFFICIENTNET_REFERENCE = (
    "Tan & Le, 2019, EfficientNet: Rethinking Model Scaling for CNNs, arXiv:1905.11946, Table 1 and Section 4"
)
_COMPOUND_REFERENCE = (
    "Tan & Le, 2019, arXiv:1905.11946, Section 3.3 (Eq. 3: depth α^φ, width β^φ, resolution γ^φ, FLOPs "
    "≈ (α·β²·γ²)^φ ≈ 2^φ) and Section 4 (α = 1.2, β = 1.1, γ = 1.15)"
)
_MNAS_REFERENCE = (
    "Tan et al., 2019, MnasNet: Platform-Aware Neural Architecture Search for Mobile, arXiv:1807.11626, "
    "Section 3 (Eq. 2, α = β = −0.07)"
)
_CHANNEL_UNIT = LocalizedText(ja="チャネル", en="channels")
_FACTOR_UNIT = LocalizedText(ja="倍", en="times")
_REWARD_UNIT = LocalizedText(ja="(報酬の値)", en="(reward)")

#: (in, expanded, out, kernel, activation) of the MobileNet v3 blocks with SE (paper Table 1: Large,
#: Table 2: Small; "RE" ReLU, "HS" h-swish).
_MOBILENET_V3_SE_BLOCKS = (
    (24, 72, 40, 5, "RE"), (40, 120, 40, 5, "RE"), (80, 480, 112, 3, "HS"), (112, 672, 112, 3, "HS"),
    (112, 672, 160, 5, "HS"), (160, 960, 160, 5, "HS"),  # Large
    (16, 16, 16, 3, "RE"), (24, 96, 40, 5, "HS"), (40, 240, 40, 5, "HS"), (40, 120, 48, 5, "HS"),
    (48, 144, 48, 5, "HS"), (48, 288, 96, 5, "HS"), (96, 576, 96, 5, "HS"),  # Small
)
#: (in, out, kernel) of EfficientNet-B0's MBConv6 blocks (paper Table 1; a stage's later blocks keep out).
_EFFICIENTNET_B0_BLOCKS = (
    (16, 24, 3), (24, 24, 3), (24, 40, 5), (40, 40, 5), (40, 80, 3), (80, 80, 3), (80, 112, 5),
    (112, 112, 5), (112, 192, 5), (192, 192, 5), (192, 320, 3),
)


def _draw_wide_block_params(rng: random.Random) -> dict[str, Any]:
    k = rng.choice((1, 2, 4, 8, 10))
    group = rng.choice((1, 2, 3))
    out_planes = 16 * k * 2 ** (group - 1)
    first = rng.random() < 0.5
    in_planes = (16 if group == 1 else out_planes // 2) if first else out_planes
    return {"k": k, "group": group, "in_planes": in_planes, "out_planes": out_planes,
            "stride": 2 if first and group > 1 else 1}


def _wide_block_params(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.models.wide_resnet import WideBasicBlock

    k, group, c_in, c_out, stride = p["k"], p["group"], p["in_planes"], p["out_planes"], p["stride"]
    block = WideBasicBlock(c_in, c_out, stride)
    answer = _parameter_count(block)
    projection = c_in != c_out or stride != 1
    shortcut_ja = f"入力 {c_in} チャネルから出力 {c_out} チャネルへ形が変わるので、ショートカットは 1×1 畳み込み (バイアスなし) である。" if projection else "入出力の形が同じなので、ショートカットは恒等写像である。"
    shortcut_en = f"The shape changes ({c_in} → {c_out} channels), so the shortcut is a 1×1 convolution without bias." if projection else "Input and output have the same shape, so the shortcut is the identity."
    projection_term = f" + {c_in}×{c_out}" if projection else ""
    formula = f"2×{c_in} + 3×3×{c_in}×{c_out} + 2×{c_out} + 3×3×{c_out}×{c_out}{projection_term}"
    return _numeric(
        "wide_block_params",
        seed,
        DRILL_CHAPTERS["wide_block_params"],
        LocalizedText(
            ja=f"WRN-n-{k} の conv{group + 1} グループ (幅 {c_out} = 16·{k}·{2 ** (group - 1)}) にある B(3,3) ブロック "
               f"(事前活性化: BN → ReLU → 3×3 畳み込み → BN → ReLU → 3×3 畳み込み、畳み込みはバイアスなし) の入力は {c_in} チャネルである。"
               f"{shortcut_ja}ブロックのパラメータ数はいくつか (BatchNorm は γ と β を数え、移動統計は数えない)。",
            en=f"A B(3,3) block in group conv{group + 1} of a WRN-n-{k} (width {c_out} = 16·{k}·{2 ** (group - 1)}; "
               "pre-activation: BN → ReLU → 3×3 conv → BN → ReLU → 3×3 conv, convolutions without bias) receives "
               f"{c_in} channels. {shortcut_en} How many parameters does the block have (count BatchNorm's γ "
               "and β, not its running statistics)?",
        ),
        answer,
        LocalizedText(
            ja=f"BN(入力) 2×{c_in}、3×3 畳み込み 2つ、BN(出力) 2×{c_out}"
               f"{'、射影ショートカット ' + str(c_in) + '×' + str(c_out) if projection else ''}。"
               f"{formula} = {format_number(answer)}。幅 k 倍でパラメータはおよそ k² 倍になる。",
            en=f"BN on the input 2×{c_in}, two 3×3 convolutions, BN on the output 2×{c_out}"
               f"{', the projection ' + str(c_in) + '×' + str(c_out) if projection else ''}: "
               f"{formula} = {format_number(answer)}. Widening by k multiplies the parameters by about k².",
        ),
        _WRN_REFERENCE,
        _PARAMETER_UNIT,
    )


def _draw_dense_layer_params(rng: random.Random) -> dict[str, Any]:
    growth = rng.choice((12, 24, 32, 40, 48))
    block_input = rng.choice((16, 2 * growth, 64, 128, 256))
    return {"growth": growth, "block_input": block_input, "layer": rng.randint(1, 16)}


def _dense_layer_params(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.models.densenet import DenseLayer

    k, k0, layer = p["growth"], p["block_input"], p["layer"]
    c_in = k0 + (layer - 1) * k
    answer = _parameter_count(DenseLayer(c_in, k))
    formula = f"2×{c_in} + {c_in}×{4 * k} + 2×{4 * k} + 3×3×{4 * k}×{k}"
    return _numeric(
        "dense_layer_params",
        seed,
        DRILL_CHAPTERS["dense_layer_params"],
        LocalizedText(
            ja=f"成長率 k = {k} の DenseNet-BC の dense block に {k0} チャネルが入る。そのブロックの {layer} 番目の層 "
               "(BN → ReLU → 1×1 畳み込みで 4k チャネル → BN → ReLU → 3×3 畳み込みで k チャネル、畳み込みはバイアスなし) の"
               "パラメータ数はいくつか (BatchNorm は γ と β を数える)。",
            en=f"A dense block of a DenseNet-BC with growth rate k = {k} receives {k0} channels. How many "
               f"parameters does layer {layer} of that block have (BN → ReLU → 1×1 conv to 4k channels → BN → "
               "ReLU → 3×3 conv to k channels, convolutions without bias; count BatchNorm's γ and β)?",
        ),
        answer,
        LocalizedText(
            ja=f"{layer} 番目の層の入力はそれまでの全出力の連結 (concatenation) で k₀ + (ℓ−1)·k = {k0} + {layer - 1}×{k} = "
               f"{c_in} チャネルである。{formula} = {format_number(answer)}。",
            en=f"Layer {layer}'s input is the concatenation of everything before it: k₀ + (ℓ−1)·k = {k0} + "
               f"{layer - 1}×{k} = {c_in} channels. {formula} = {format_number(answer)}.",
        ),
        _DENSENET_REFERENCE,
        _PARAMETER_UNIT,
    )


def _draw_dense_block_channels(rng: random.Random) -> dict[str, Any]:
    growth = rng.choice((12, 24, 32, 40))
    return {"growth": growth, "block_input": rng.choice((16, 24, 2 * growth, 64)),
            "layers": rng.choice((6, 12, 16, 24))}


def _dense_block_channels(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.models.densenet import DenseBlock

    k, k0, layers = p["growth"], p["block_input"], p["layers"]
    block = DenseBlock(layers, k0, k).eval()
    with torch.no_grad():  # run it: the channel count is what the concatenations really produce
        answer = int(block(torch.zeros(1, k0, 2, 2)).shape[1])
    return _numeric(
        "dense_block_channels",
        seed,
        DRILL_CHAPTERS["dense_block_channels"],
        LocalizedText(
            ja=f"{k0} チャネルの特徴マップが、成長率 k = {k}、{layers} 層の dense block に入る。ブロックの出力は何チャネルか。",
            en=f"A {k0}-channel feature map enters a dense block with growth rate k = {k} and {layers} "
               "layers. How many channels does the block output?",
        ),
        answer,
        LocalizedText(
            ja=f"各層は k チャネルを新しく作り、それまでの特徴マップに連結する (足し合わせではない)。出力は k₀ + L·k = "
               f"{k0} + {layers}×{k} = {format_number(answer)} チャネルである。",
            en=f"Every layer makes k new channels and concatenates them to what came before (it does not add): "
               f"k₀ + L·k = {k0} + {layers}×{k} = {format_number(answer)} channels.",
        ),
        _DENSENET_REFERENCE,
        _CHANNEL_UNIT,
    )


def _draw_inverted_residual_params(rng: random.Random) -> dict[str, Any]:
    c_in = rng.choice((16, 24, 32, 64, 96, 160))
    same = rng.random() < 0.5
    c_out = c_in if same else rng.choice((24, 32, 64, 96, 160, 320))
    return {"in_channels": c_in, "out_channels": c_out, "expand_ratio": rng.choice((6, 6, 6, 4, 3)),
            "stride": 1 if same else rng.choice((1, 2))}


def _inverted_residual_params(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.layers.inverted_residual import InvertedResidual

    c_in, c_out, t, stride = p["in_channels"], p["out_channels"], p["expand_ratio"], p["stride"]
    answer = _parameter_count(InvertedResidual(c_in, c_out, stride, t))
    hidden = c_in * t
    formula = f"({c_in}×{hidden} + 2×{hidden}) + (3×3×{hidden} + 2×{hidden}) + ({hidden}×{c_out} + 2×{c_out})"
    return _numeric(
        "inverted_residual_params",
        seed,
        DRILL_CHAPTERS["inverted_residual_params"],
        LocalizedText(
            ja=f"MobileNet v2 の inverted residual ブロック (入力 {c_in} チャネル、拡張率 t = {t}、出力 {c_out} チャネル、"
               f"ストライド {stride}: 1×1 拡張 → BN → ReLU6 → 3×3 depthwise → BN → ReLU6 → 1×1 線形射影 → BN、"
               "畳み込みはバイアスなし) のパラメータ数はいくつか (BatchNorm は γ と β を数える)。",
            en=f"A MobileNet v2 inverted residual block ({c_in} input channels, expansion ratio t = {t}, "
               f"{c_out} output channels, stride {stride}: 1×1 expansion → BN → ReLU6 → 3×3 depthwise → BN → "
               "ReLU6 → 1×1 linear projection → BN, convolutions without bias): how many parameters does it "
               "have (count BatchNorm's γ and β)?",
        ),
        answer,
        LocalizedText(
            ja=f"拡張後は t·{c_in} = {hidden} チャネル。拡張、depthwise (チャネルごとに 3×3 が1枚)、射影の順に "
               f"{formula} = {format_number(answer)}。ストライドとショートカットの有無はパラメータ数を変えない。",
            en=f"Expanded width t·{c_in} = {hidden}. Expansion, depthwise (one 3×3 filter per channel), "
               f"projection: {formula} = {format_number(answer)}. The stride and the shortcut add no parameters.",
        ),
        _MOBILENET_V2_REFERENCE,
        _PARAMETER_UNIT,
    )


def _draw_mobilenet_v3_block_params(rng: random.Random) -> dict[str, Any]:
    c_in, expanded, c_out, kernel, activation = rng.choice(_MOBILENET_V3_SE_BLOCKS)
    return {"in_channels": c_in, "expanded": expanded, "out_channels": c_out, "kernel": kernel,
            "activation": activation}


def _mobilenet_v3_block_params(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.layers.mbconv import MBConv
    from cnncourse.layers.misc import make_divisible

    c_in, e, c_out, k = p["in_channels"], p["expanded"], p["out_channels"], p["kernel"]
    s = make_divisible(e / 4, 8)
    activation = nn.Hardswish if p["activation"] == "HS" else nn.ReLU
    act_ja, act_en = ("h-swish", "h-swish") if p["activation"] == "HS" else ("ReLU", "ReLU")
    block = MBConv(c_in, c_out, expanded_channels=e, kernel_size=k, stride=1, activation_layer=activation,
                   squeeze_channels=s, se_gate=nn.Hardsigmoid)
    answer = _parameter_count(block)
    expansion = f"({c_in}×{e} + 2×{e}) + " if e != c_in else ""
    formula = f"{expansion}({k}×{k}×{e} + 2×{e}) + (2×{e}×{s} + {s} + {e}) + ({e}×{c_out} + 2×{c_out})"
    no_expansion_ja = "(拡張幅が入力と同じなので 1×1 拡張はない) " if e == c_in else ""
    no_expansion_en = " (no 1×1 expansion: the expanded width equals the input)" if e == c_in else ""
    return _numeric(
        "mobilenet_v3_block_params",
        seed,
        DRILL_CHAPTERS["mobilenet_v3_block_params"],
        LocalizedText(
            ja=f"MobileNet v3 のブロック {c_in} → 拡張 {e} → {c_out} ({k}×{k} depthwise、SE あり、{act_ja}) {no_expansion_ja}の"
               "パラメータ数はいくつか。構成は [1×1 拡張 → BN] → depthwise → BN → SE → 1×1 射影 → BN、畳み込みはバイアスなし、"
               "SE は中間幅 make_divisible(拡張幅/4, 8) の 1×1 畳み込み2つ (バイアスあり) とする。",
            en=f"A MobileNet v3 block {c_in} → expanded {e} → {c_out} ({k}×{k} depthwise, with SE, {act_en})"
               f"{no_expansion_en}: how many parameters? Layout [1×1 expansion → BN] → depthwise → BN → SE → 1×1 "
               "projection → BN, convolutions without bias; SE is two 1×1 convolutions with bias and a middle "
               "width of make_divisible(expanded / 4, 8).",
        ),
        answer,
        LocalizedText(
            ja=f"SE の中間幅は make_divisible({e}/4, 8) = {s}。{formula} = {format_number(answer)}。活性化関数と "
               "hard-sigmoid にパラメータはない。",
            en=f"SE's middle width is make_divisible({e}/4, 8) = {s}. {formula} = {format_number(answer)}. "
               "The activation and the hard sigmoid have no parameters.",
        ),
        _MOBILENET_V3_REFERENCE,
        _PARAMETER_UNIT,
    )


def _draw_efficientnet_mbconv_params(rng: random.Random) -> dict[str, Any]:
    c_in, c_out, kernel = rng.choice(_EFFICIENTNET_B0_BLOCKS)
    return {"in_channels": c_in, "out_channels": c_out, "kernel": kernel}


def _efficientnet_mbconv_params(p: dict[str, Any], seed: int) -> Question:
    from cnncourse.layers.mbconv import MBConv

    c_in, c_out, k = p["in_channels"], p["out_channels"], p["kernel"]
    e, s = 6 * c_in, max(1, c_in // 4)
    block = MBConv(c_in, c_out, expanded_channels=e, kernel_size=k, stride=1, activation_layer=nn.SiLU,
                   squeeze_channels=s, se_activation=nn.SiLU)
    answer = _parameter_count(block)
    formula = f"({c_in}×{e} + 2×{e}) + ({k}×{k}×{e} + 2×{e}) + (2×{e}×{s} + {s} + {e}) + ({e}×{c_out} + 2×{c_out})"
    return _numeric(
        "efficientnet_mbconv_params",
        seed,
        DRILL_CHAPTERS["efficientnet_mbconv_params"],
        LocalizedText(
            ja=f"EfficientNet-B0 の MBConv6 ブロック (入力 {c_in}、出力 {c_out} チャネル、{k}×{k} depthwise) のパラメータ数は"
               "いくつか。構成は 1×1 拡張 (6倍) → BN → depthwise → BN → SE → 1×1 射影 → BN、畳み込みはバイアスなし、SE は"
               "中間幅が入力チャネルの 1/4 の 1×1 畳み込み2つ (バイアスあり) とする。",
            en=f"An EfficientNet-B0 MBConv6 block ({c_in} input, {c_out} output channels, {k}×{k} depthwise): how "
               "many parameters? Layout 1×1 expansion (6×) → BN → depthwise → BN → SE → 1×1 projection → BN, "
               "convolutions without bias; SE is two 1×1 convolutions with bias, its middle width a quarter of "
               "the block's input channels.",
        ),
        answer,
        LocalizedText(
            ja=f"拡張幅 6×{c_in} = {e}、SE の中間幅 {c_in}/4 = {s} (MobileNet v3 と違い、入力チャネルが基準)。"
               f"{formula} = {format_number(answer)}。",
            en=f"Expanded width 6×{c_in} = {e}; SE middle width {c_in}/4 = {s} (a quarter of the input, unlike "
               f"MobileNet v3's quarter of the expansion). {formula} = {format_number(answer)}.",
        ),
        _EFFICIENTNET_REFERENCE,
        _PARAMETER_UNIT,
    )


#: EfficientNet's constants (Tan & Le, 2019, Section 4): found by grid search at φ = 1.
COMPOUND_ALPHA, COMPOUND_BETA, COMPOUND_GAMMA = 1.2, 1.1, 1.15


def _draw_compound_scaling(rng: random.Random) -> dict[str, Any]:
    return {"phi": rng.choice((1, 2, 3, 4, 5, 6, 7)), "target": rng.choice(("flops", "depth", "width", "resolution"))}


def _compound_scaling(p: dict[str, Any], seed: int) -> Question:
    phi, target = p["phi"], p["target"]
    a, b, g = COMPOUND_ALPHA, COMPOUND_BETA, COMPOUND_GAMMA
    base = {"flops": a * b * b * g * g, "depth": a, "width": b, "resolution": g}[target]
    answer = round(base**phi, 2)
    names = {"flops": ("FLOPS", "FLOPS"), "depth": ("深さ", "depth"), "width": ("幅", "width"),
             "resolution": ("解像度", "resolution")}[target]
    expression = {"flops": "(α·β²·γ²)^φ", "depth": "α^φ", "width": "β^φ", "resolution": "γ^φ"}[target]
    return _numeric(
        "compound_scaling",
        seed,
        DRILL_CHAPTERS["compound_scaling"],
        LocalizedText(
            ja=f"EfficientNet の複合スケーリング (α = {a}、β = {b}、γ = {g}) で φ = {phi} とすると、{names[0]}は"
               "ベースライン (φ = 0) の何倍になるか。小数第2位まで答えよ。",
            en=f"With EfficientNet's compound scaling (α = {a}, β = {b}, γ = {g}) and φ = {phi}, by what factor "
               f"does the {names[1]} grow over the baseline (φ = 0)? Answer to two decimal places.",
        ),
        answer,
        LocalizedText(
            ja=f"{names[0]}は {expression} 倍で、{base:.4f}^{phi} ≈ {answer:.2f}。FLOPS は深さに比例し、幅と解像度の"
               "2乗に比例するので (α·β²·γ²)^φ になり、α·β²·γ² ≈ 2 と定めたため φ を1増やすごとにおよそ2倍になる。",
            en=f"The {names[1]} grows by {expression} = {base:.4f}^{phi} ≈ {answer:.2f}. FLOPS are proportional to "
               "depth and to the square of width and of resolution, hence (α·β²·γ²)^φ; α·β²·γ² ≈ 2 was imposed, "
               "so each step of φ roughly doubles them.",
        ),
        _COMPOUND_REFERENCE,
        _FACTOR_UNIT,
        tolerance=0.011,
    )


#: MnasNet's latency exponent (Tan et al., 2019, Section 3: α = β = −0.07).
MNAS_EXPONENT = -0.07


def _draw_mnas_reward(rng: random.Random) -> dict[str, Any]:
    return {"accuracy": rng.choice((0.70, 0.72, 0.74, 0.75, 0.76, 0.78)),
            "latency": rng.choice((40, 50, 60, 70, 80, 100, 120, 160)), "target": rng.choice((50, 75, 80))}


def _mnas_reward(p: dict[str, Any], seed: int) -> Question:
    accuracy, latency, target = p["accuracy"], p["latency"], p["target"]
    answer = round(accuracy * (latency / target) ** MNAS_EXPONENT, 3)
    return _numeric(
        "mnas_reward",
        seed,
        DRILL_CHAPTERS["mnas_reward"],
        LocalizedText(
            ja=f"MnasNet の報酬 ACC(m) × [LAT(m)/T]^w (w = {MNAS_EXPONENT}) で、精度 {accuracy:.2f}、実測レイテンシ "
               f"{latency} ms、目標 T = {target} ms のモデルの報酬はいくつか。小数第3位まで答えよ。",
            en=f"MnasNet's reward ACC(m) × [LAT(m)/T]^w with w = {MNAS_EXPONENT}: what is the reward of a model with "
               f"accuracy {accuracy:.2f}, measured latency {latency} ms and target T = {target} ms? Answer to three "
               "decimal places.",
        ),
        answer,
        LocalizedText(
            ja=f"{accuracy:.2f} × ({latency}/{target})^({MNAS_EXPONENT}) ≈ {answer:.3f}。レイテンシが目標の2倍になると"
               "報酬は 2^−0.07 ≈ 0.953 倍、つまり精度が約5%相対的に下がったのと同じ扱いになる。制約を超えても0にはならない"
               "ソフトな制約である。",
            en=f"{accuracy:.2f} × ({latency}/{target})^({MNAS_EXPONENT}) ≈ {answer:.3f}. Twice the target latency "
               "multiplies the reward by 2^−0.07 ≈ 0.953, as if accuracy had dropped by about 5% relative: a soft "
               "constraint, not a cut-off.",
        ),
        _MNAS_REFERENCE,
        _REWARD_UNIT,
        tolerance=0.0011,
    )


#: kind -> (draw the numbers, build the question from them).
_Draw = Callable[[random.Random], dict[str, Any]]
_Make = Callable[[dict[str, Any], int], Question]
_GENERATORS: dict[str, tuple[_Draw, _Make]] = {
    "conv_params": (_draw_conv_params, _conv_params),
    "separable_params": (_draw_separable_params, _separable_params),
    "separable_ratio": (_draw_separable_ratio, _separable_ratio),
    "bottleneck_params": (_draw_bottleneck_params, _bottleneck_params),
    "se_params": (_draw_se_params, _se_params),
    "output_size": (_draw_output_size, _output_size),
    "conv_macs": (_draw_conv_macs, _conv_macs),
    "wide_block_params": (_draw_wide_block_params, _wide_block_params),
    "dense_layer_params": (_draw_dense_layer_params, _dense_layer_params),
    "dense_block_channels": (_draw_dense_block_channels, _dense_block_channels),
    "inverted_residual_params": (_draw_inverted_residual_params, _inverted_residual_params),
    "mobilenet_v3_block_params": (_draw_mobilenet_v3_block_params, _mobilenet_v3_block_params),
    "efficientnet_mbconv_params": (_draw_efficientnet_mbconv_params, _efficientnet_mbconv_params),
    "compound_scaling": (_draw_compound_scaling, _compound_scaling),
    "mnas_reward": (_draw_mnas_reward, _mnas_reward),
}
#: kind -> the chapter whose score a drill counts towards (also the ``chapter`` of its questions).
DRILL_CHAPTERS: dict[str, str] = {
    "conv_params": "basics",
    "separable_params": "mobilenet_v1",
    "separable_ratio": "mobilenet_v1",
    "bottleneck_params": "resnet",
    "se_params": "senet",
    "output_size": "basics",
    "conv_macs": "basics",
    "wide_block_params": "wide_resnet",
    "dense_layer_params": "densenet",
    "dense_block_channels": "densenet",
    "inverted_residual_params": "mobilenet_v2",
    "mobilenet_v3_block_params": "mobilenet_v3",
    "efficientnet_mbconv_params": "efficientnet",
    "compound_scaling": "efficientnet",
    "mnas_reward": "nas",
}


def drill_kinds(chapter: str | None = None) -> list[str]:
    """The kinds of numeric drill :func:`generate` knows (only ``chapter``'s when given; may be empty)."""
    return [kind for kind in _GENERATORS if chapter is None or DRILL_CHAPTERS[kind] == chapter]


def drill_parameters(kind: str, seed: int) -> dict[str, Any]:
    """The numbers drill ``kind`` draws for ``seed`` (what :func:`generate` builds its question from)."""
    if kind not in _GENERATORS:
        raise UnknownNameError("drill kind", kind, _GENERATORS)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise CourseError(f"A drill seed is a whole number 0 or more, got {seed!r}.")
    # A string seed keeps each kind's sequence independent; random.Random hashes it the same way every run.
    draw, _ = _GENERATORS[kind]
    return draw(random.Random(f"{kind}:{seed}"))


def generate(kind: str, seed: int) -> Question:
    """One numeric drill of ``kind``; the same ``seed`` always gives the same question and answer."""
    parameters = drill_parameters(kind, seed)
    _, make = _GENERATORS[kind]
    return make(parameters, seed)


def generate_drills(n: int, seed: int | None = None, kinds: Sequence[str] | None = None) -> list[Question]:
    """``n`` drills cycling through ``kinds`` (all by default) in a seeded order, each with its own seed."""
    kinds = list(kinds) if kinds is not None else drill_kinds()
    for kind in kinds:
        if kind not in _GENERATORS:
            raise UnknownNameError("drill kind", kind, _GENERATORS)
    if n < 0:
        raise CourseError(f"The number of drills must be 0 or more, got {n}.")
    rng = random.Random(seed)
    order = list(kinds)
    rng.shuffle(order)
    drills: list[Question] = []
    seen: set[tuple[str, str]] = set()
    used_seeds: set[int] = set()
    for index in range(n):  # kinds take turns, so a session mixes them
        kind = order[index % len(order)]
        for _ in range(200):  # distinct numbers, not only distinct seeds: no question repeats
            drill_seed = rng.randrange(1_000_000)
            key = (kind, repr(sorted(drill_parameters(kind, drill_seed).items())))
            if drill_seed not in used_seeds and key not in seen:
                break
        used_seeds.add(drill_seed)
        seen.add(key)
        drills.append(generate(kind, drill_seed))
    return drills


def question_from_id(item_id: str) -> Question | None:
    """Regenerate a drill from its id ``drill-<kind>-<seed>``; None when the id is not a drill's."""
    match = _ID_PATTERN.match(item_id)
    if match is None or match["kind"] not in _GENERATORS:
        return None
    return generate(match["kind"], int(match["seed"]))


__all__ = [
    "DRILL_CHAPTERS",
    "drill_kinds",
    "drill_parameters",
    "generate",
    "generate_drills",
    "question_from_id",
]
