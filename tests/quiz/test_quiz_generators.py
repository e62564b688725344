"""Numeric drills: every answer equals the closed formula AND a count on a module built here."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.quiz import generators
from cnncourse.quiz.bank import chapters
from cnncourse.quiz.engine import check_answer, format_number
from cnncourse.quiz.generators import drill_kinds, drill_parameters, generate

SEEDS = (0, 1, 7, 123, 99_999)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _conv_output(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def _formula(kind: str, p: dict[str, Any]) -> float:
    """The closed formulas from the papers, written independently of the generators."""
    if kind == "conv_params":
        bias = p["out_channels"] if p["bias"] else 0
        return p["kernel"] ** 2 * p["in_channels"] * p["out_channels"] + bias
    if kind == "separable_params":  # Howard et al. 2017, Sec. 3.1: D_K²·M + M·N
        return p["kernel"] ** 2 * p["in_channels"] + p["in_channels"] * p["out_channels"]
    if kind == "separable_ratio":  # 1/N + 1/D_K², in percent
        return 100 * (1 / p["out_channels"] + 1 / p["kernel"] ** 2)
    if kind == "bottleneck_params":
        cin, planes = p["in_channels"], p["planes"]
        out = 4 * planes
        total = cin * planes + 9 * planes * planes + planes * out + 2 * (planes + planes + out)
        if p["projection"]:
            total += cin * out + 2 * out
        return total
    if kind == "se_params":  # two fully connected layers with bias
        c, s = p["channels"], p["channels"] // p["reduction"]
        return 2 * c * s + s + c
    if kind == "output_size":
        size = p["size"]
        for layer in p["layers"]:
            size = _conv_output(size, layer.kernel, layer.stride, layer.padding)
        return size
    if kind == "conv_macs":
        k, stride = p["kernel"], p["stride"]
        out = _conv_output(p["size"], k, stride, k // 2)
        return out * out * p["out_channels"] * k * k * p["in_channels"]
    if kind == "wide_block_params":  # pre-activation B(3,3): BN(in), 3×3, BN(out), 3×3, [1×1 projection]
        cin, cout = p["in_planes"], p["out_planes"]
        projection = cin * cout if (cin != cout or p["stride"] != 1) else 0
        return 2 * cin + 9 * cin * cout + 2 * cout + 9 * cout * cout + projection
    if kind == "dense_layer_params":  # Huang et al. 2017, DenseNet-B layer on k0 + (l-1)k channels
        k = p["growth"]
        cin = p["block_input"] + (p["layer"] - 1) * k
        return 2 * cin + cin * 4 * k + 2 * 4 * k + 9 * 4 * k * k
    if kind == "dense_block_channels":
        return p["block_input"] + p["layers"] * p["growth"]
    if kind == "inverted_residual_params":
        cin, cout, hidden = p["in_channels"], p["out_channels"], p["in_channels"] * p["expand_ratio"]
        return cin * hidden + 2 * hidden + 9 * hidden + 2 * hidden + hidden * cout + 2 * cout
    if kind in ("mobilenet_v3_block_params", "efficientnet_mbconv_params"):
        cin, cout, k = p["in_channels"], p["out_channels"], p["kernel"]
        if kind == "mobilenet_v3_block_params":  # squeeze: a quarter of the expansion, a multiple of 8
            e = p["expanded"]
            s = max(8, int(e / 4 + 4) // 8 * 8)
            s = s + 8 if s < 0.9 * e / 4 else s
        else:  # EfficientNet: expansion 6, squeeze a quarter of the input
            e, s = 6 * cin, max(1, cin // 4)
        expansion = cin * e + 2 * e if e != cin else 0
        return expansion + k * k * e + 2 * e + (2 * e * s + s + e) + e * cout + 2 * cout
    if kind == "compound_scaling":  # Tan & Le 2019, Eq. 3 with alpha, beta, gamma = 1.2, 1.1, 1.15
        base = {"flops": 1.2 * 1.1**2 * 1.15**2, "depth": 1.2, "width": 1.1, "resolution": 1.15}[p["target"]]
        return round(base ** p["phi"], 2)
    if kind == "mnas_reward":  # Tan et al. 2019, Eq. 2 with w = -0.07
        return round(p["accuracy"] * (p["latency"] / p["target"]) ** -0.07, 3)
    raise AssertionError(f"no formula for {kind}")


def _module_count(kind: str, p: dict[str, Any]) -> float:
    """The same quantity measured on modules built here from the course's own classes."""
    from cnncourse.layers import SqueezeExcitation
    from cnncourse.layers.depthwise import DepthwiseSeparableConv
    from cnncourse.models.resnet import Bottleneck

    if kind == "conv_params":
        return _params(nn.Conv2d(p["in_channels"], p["out_channels"], p["kernel"], bias=p["bias"]))
    if kind in ("separable_params", "separable_ratio"):
        block = DepthwiseSeparableConv(p["in_channels"], p["out_channels"], kernel_size=p["kernel"])
        convs = [m for m in block.modules() if isinstance(m, nn.Conv2d)]
        assert [c.groups for c in convs] == [p["in_channels"], 1]  # really depthwise, then pointwise
        weights = sum(_params(c) for c in convs)
        if kind == "separable_params":
            return weights
        standard = _params(nn.Conv2d(p["in_channels"], p["out_channels"], p["kernel"], bias=False))
        return 100 * weights / standard
    if kind == "bottleneck_params":
        out = 4 * p["planes"]
        downsample = (
            nn.Sequential(nn.Conv2d(p["in_channels"], out, 1, bias=False), nn.BatchNorm2d(out))
            if p["projection"]
            else None
        )
        block = Bottleneck(p["in_channels"], p["planes"], downsample=downsample)
        with torch.no_grad():  # the block must actually run on that input width
            assert block(torch.zeros(1, p["in_channels"], 4, 4)).shape[1] == out
        return _params(block)
    if kind == "se_params":
        return _params(SqueezeExcitation(p["channels"], p["channels"] // p["reduction"]))
    if kind == "output_size":
        x = torch.zeros(1, 1, p["size"], p["size"])
        with torch.no_grad():
            for layer in p["layers"]:
                x = layer.build()(x)
        return x.shape[-1]
    if kind == "conv_macs":
        k = p["kernel"]
        conv = nn.Conv2d(p["in_channels"], p["out_channels"], k, p["stride"], k // 2, bias=False)
        with FlopCounterMode(display=False) as counter:
            conv(torch.zeros(1, p["in_channels"], p["size"], p["size"]))
        return counter.get_total_flops() / 2
    if kind == "wide_block_params":
        from cnncourse.models.wide_resnet import WideBasicBlock

        return _params(WideBasicBlock(p["in_planes"], p["out_planes"], p["stride"]))
    if kind == "dense_layer_params":
        from cnncourse.models.densenet import DenseLayer

        return _params(DenseLayer(p["block_input"] + (p["layer"] - 1) * p["growth"], p["growth"]))
    if kind == "dense_block_channels":
        from cnncourse.models.densenet import DenseBlock

        with torch.no_grad():
            x = torch.zeros(1, p["block_input"], 2, 2)
            return DenseBlock(p["layers"], p["block_input"], p["growth"]).eval()(x).shape[1]
    if kind == "inverted_residual_params":
        from torchvision.models.mobilenetv2 import InvertedResidual as TorchvisionInvertedResidual

        return _params(TorchvisionInvertedResidual(p["in_channels"], p["out_channels"], p["stride"],
                                                   p["expand_ratio"]))
    if kind == "mobilenet_v3_block_params":
        from torchvision.models.mobilenetv3 import InvertedResidual as V3Block
        from torchvision.models.mobilenetv3 import InvertedResidualConfig

        config = InvertedResidualConfig(p["in_channels"], p["kernel"], p["expanded"], p["out_channels"], True,
                                        p["activation"], 1, 1, 1.0)
        return _params(V3Block(config, nn.BatchNorm2d))
    if kind == "efficientnet_mbconv_params":
        from torchvision.models.efficientnet import MBConv as TorchvisionMBConv
        from torchvision.models.efficientnet import MBConvConfig

        config = MBConvConfig(6, p["kernel"], 1, p["in_channels"], p["out_channels"], 1)
        return _params(TorchvisionMBConv(config, 0.0, nn.BatchNorm2d))
    if kind in ("compound_scaling", "mnas_reward"):  # closed formulas of the papers, no module to build
        return _formula(kind, p)
    raise AssertionError(f"no module for {kind}")


def test_all_kinds_covered() -> None:
    assert set(drill_kinds()) == {
        "conv_params", "separable_params", "separable_ratio", "bottleneck_params", "se_params", "output_size",
        "conv_macs", "wide_block_params", "dense_layer_params", "dense_block_channels",
        "inverted_residual_params", "mobilenet_v3_block_params", "efficientnet_mbconv_params",
        "compound_scaling", "mnas_reward",
    }
    assert drill_kinds("senet") == ["se_params"]
    # every chapter of the bank has at least one drill kind
    assert {generators.DRILL_CHAPTERS[kind] for kind in drill_kinds()} == set(chapters())


@pytest.mark.parametrize("kind", drill_kinds())
def test_answer_equals_formula_and_module(kind: str) -> None:
    seeds = SEEDS[:3] if kind == "conv_macs" else SEEDS  # FlopCounterMode is the slow one
    for seed in seeds:
        question = generate(kind, seed)
        p = drill_parameters(kind, seed)
        formula = _formula(kind, p)
        assert question.answer == pytest.approx(formula, rel=1e-12), (kind, seed, p)
        assert _module_count(kind, p) == pytest.approx(formula, rel=1e-12), (kind, seed, p)
        assert check_answer(question, formula).correct
        assert question.kind == "numeric" and question.id == f"drill-{kind}-{seed}"
        assert question.chapter == generators.DRILL_CHAPTERS[kind]
        assert question.prompt.ja and question.prompt.en
        assert question.explanation.ja and question.explanation.en
        assert question.references and question.unit is not None
        if kind not in ("separable_ratio", "compound_scaling", "mnas_reward"):
            # the explanation shows the formula worked out to the answer
            shown = format_number(question.answer)
            assert shown in question.explanation.en and shown in question.explanation.ja


def test_same_seed_same_question_and_seeds_vary() -> None:
    for kind in drill_kinds():
        assert generate(kind, 42) == generate(kind, 42)
        prompts = {generate(kind, seed).prompt.en for seed in range(8)}
        assert len(prompts) >= 4, f"{kind}: the numbers should vary with the seed"


def test_wrong_answers_are_rejected() -> None:
    question = generate("se_params", 3)
    assert question.answer is not None
    assert not check_answer(question, question.answer + 1).correct
    ratio = generate("separable_ratio", 3)
    assert ratio.answer is not None
    assert check_answer(ratio, round(ratio.answer, 1)).correct  # one decimal place is accepted
    assert not check_answer(ratio, ratio.answer + 0.2).correct


def test_regenerate_from_id_and_mixing() -> None:
    question = generate("bottleneck_params", 17)
    assert generators.question_from_id(question.id) == question
    assert generators.question_from_id("resnet-001") is None
    assert generators.question_from_id("drill-nonsense-3") is None
    drills = generators.generate_drills(len(drill_kinds()), seed=4)
    assert [q.id for q in drills] == [q.id for q in generators.generate_drills(len(drill_kinds()), seed=4)]
    assert len({q.tags[1] for q in drills}) == len(drill_kinds())  # every kind appears when n >= kinds
    only_se = generators.generate_drills(3, seed=1, kinds=["se_params"])
    assert {q.chapter for q in only_se} == {"senet"}


def test_bad_requests() -> None:
    with pytest.raises(UnknownNameError, match="conv_params"):
        generate("conv_param", 1)
    with pytest.raises(CourseError, match="seed"):
        generate("conv_params", -1)
    with pytest.raises(UnknownNameError):
        generators.generate_drills(2, kinds=["nope"])


def test_a_drill_session_never_repeats_a_question_and_mixes_kinds() -> None:
    # se_params has only 18 distinct number combinations: 18 drills of it must all differ
    drills = generators.generate_drills(18, seed=2, kinds=["se_params"])
    assert len({q.prompt.en for q in drills}) == 18
    mixed = generators.generate_drills(30, seed=5)
    assert len({q.prompt.en for q in mixed}) == 30
    kinds = [q.tags[1] for q in mixed]
    assert all(a != b for a, b in zip(kinds, kinds[1:]))  # kinds take turns


def test_mobilenet_v3_drill_rows_are_the_papers_se_blocks() -> None:
    """Each drawn row (in, expanded, out, kernel, activation) is a block with SE of torchvision's v3."""
    from torchvision.models import mobilenet_v3_large, mobilenet_v3_small

    rows = set()
    for model in (mobilenet_v3_large(), mobilenet_v3_small()):
        for block in model.features[1:-1]:
            se = [m for m in block.modules() if type(m).__name__ == "SqueezeExcitation"]
            if not se:
                continue
            se_convs = {id(m) for m in se[0].modules()}
            convs = [m for m in block.modules() if isinstance(m, nn.Conv2d) and id(m) not in se_convs]
            depthwise = next(m for m in convs if m.groups > 1)
            acts = {type(m).__name__ for m in block.modules() if id(m) not in se_convs}
            rows.add((convs[0].in_channels, depthwise.in_channels, convs[-1].out_channels, depthwise.kernel_size[0],
                      "HS" if "Hardswish" in acts else "RE"))
    assert set(generators._MOBILENET_V3_SE_BLOCKS) <= rows, set(generators._MOBILENET_V3_SE_BLOCKS) - rows
