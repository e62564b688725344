"""Numeric drills: every answer equals the closed formula AND a count on a module built here."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnncourse.errors import CourseError, UnknownNameError
from cnncourse.quiz import generators
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
    raise AssertionError(f"no module for {kind}")


def test_all_kinds_covered() -> None:
    assert set(drill_kinds()) == {
        "conv_params", "separable_params", "separable_ratio", "bottleneck_params", "se_params", "output_size",
        "conv_macs",
    }
    assert drill_kinds("senet") == ["se_params"]
    assert drill_kinds("densenet") == []


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
        if kind != "separable_ratio":
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
    drills = generators.generate_drills(9, seed=4)
    assert [q.id for q in drills] == [q.id for q in generators.generate_drills(9, seed=4)]
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
