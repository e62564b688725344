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
    seeds = rng.sample(range(1_000_000), n)  # distinct seeds, so no drill (and no id) repeats
    return [generate(order[i % len(order)], seeds[i]) for i in range(n)]


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
