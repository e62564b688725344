"""Chapter 09 (EfficientNet): the figures its prose quotes stay true.

The prose of ``notebooks/09_efficientnet.py`` reads numbers off the stored outputs of a default run and off the
paper (Tan & Le, 2019, arXiv:1905.11946, v5). These tests fail when a count, a formula or a stored output no
longer says what the prose says: the scaling constants and their cost factor, the block's widths, Table 1 read
back from the builder, the parity with torchvision, the two routes from B0 to B7 beside Table 2, the latency
orderings (re-measured, with margins), the scaling experiment's plan and results, and the checkpoint section
in both of its branches.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from cnncourse import pretrained, profile, scaling
from cnncourse.layers.mbconv import MBConv
from cnncourse.models import create_model
from cnncourse.references import MANIFEST
from cnncourse.models.efficientnet import (
    EFFICIENTNET_B0_TABLE1,
    GAMMA_RESOLUTION,
    PUBLISHED_COEFFICIENTS,
    EfficientNet,
    ScalingCoefficients,
    compound_coefficients,
    efficientnet,
    efficientnet_b0,
    flops_growth_per_step,
    scaling_comparison,
)
from cnncourse.train import History

from stored_notebook import StoredNotebook

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = StoredNotebook("09_efficientnet")
NOTEBOOK, SOURCE = CHAPTER.ipynb, CHAPTER.source
CHECKPOINT = "efficientnet_small_fashion_mnist_10ep"
RESULTS = ROOT / "cnncourse" / "checkpoints" / "scaling"

#: Table 2 (v5): #Params and FLOPS of B0 … B7.
TABLE2 = {"b0": (5.3e6, 0.39e9), "b1": (7.8e6, 0.70e9), "b2": (9.2e6, 1.0e9), "b3": (12e6, 1.8e9),
          "b4": (19e6, 4.2e9), "b5": (30e6, 9.9e9), "b6": (43e6, 19e9), "b7": (66e6, 37e9)}
#: Table 1: (operator, input resolution, channels, layers) of stages 1 … 9.
TABLE1 = [("Conv3x3", "224×224", 32, 1), ("MBConv1, k3x3", "112×112", 16, 1), ("MBConv6, k3x3", "112×112", 24, 2),
          ("MBConv6, k5x5", "56×56", 40, 2), ("MBConv6, k3x3", "28×28", 80, 3), ("MBConv6, k5x5", "14×14", 112, 3),
          ("MBConv6, k5x5", "14×14", 192, 4), ("MBConv6, k3x3", "7×7", 320, 1),
          ("Conv1x1 & Pooling & FC", "7×7", 1280, 1)]


notebook, stored_text, prose = CHAPTER.notebook, CHAPTER.stored_text, CHAPTER.prose


def test_stored_outputs_come_from_a_default_run() -> None:
    assert "fast mode: False" in stored_text('print("fast mode:", fast_mode())')
    assert "default mode" in stored_text("notebook ran in")


def test_no_placeholder_is_left_in_the_prose() -> None:
    assert not re.search(r"[A-Z]+_PROSE", prose())


# ---------------------------------------------------------------------------------------------------
# Section 2: the rule
# ---------------------------------------------------------------------------------------------------


def test_constants_letters_and_cost_factor() -> None:
    assert round(flops_growth_per_step(), 4) == 1.9203
    assert round(1.1 * 1.2**2 * 1.15**2, 4) == 2.0948  # the swap is still "about 2"
    assert round(flops_growth_per_step() ** 7, 1) == 96.3 and "96.3× B0's, where 2⁷ = 128" in prose()
    c = compound_coefficients(1)
    assert (c.depth, c.width) == (1.2, 1.1)  # α = depth, β = width
    text = stored_text("factor = flops_growth_per_step()")
    assert "α·β²·γ² = 1.2·1.1²·1.15² = 1.9203" in text and "2.0948" in text
    assert "α = 1.2 is depth, β = 1.1 is width" in prose()


# ---------------------------------------------------------------------------------------------------
# Section 3: the block
# ---------------------------------------------------------------------------------------------------


def test_block_steps_and_stochastic_depth() -> None:
    text = stored_text("steps = nn.Sequential(")
    assert "expanded = 6·112 = 672; SE squeeze = 112/4 = 28" in text
    assert "(2, 672, 14, 14)" in text and text.strip().count("(2, 112, 14, 14)") == 2
    text = stored_text("strict load of the four steps")
    assert "<All keys matched successfully>" in text and "largest difference 0.0e+00" in text
    kept = re.search(r"branch multipliers: \[([^\]]*)\]", text).group(1).split(", ")
    assert set(kept) == {"0.0", "2.0"}
    assert "eval mode, same layer: [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]" in text
    with torch.device("meta"):
        rates = [m.stochastic_depth.p for m in efficientnet_b0().modules() if isinstance(m, MBConv)]
    assert len(rates) == 16 and rates[0] == 0 and rates[-1] == pytest.approx(0.2 * 15 / 16)
    assert "16 MBConv blocks, drop probabilities 0.000, 0.0125, … 0.1875" in stored_text("rates = [")
    assert "9 of them have a residual branch" in stored_text("rates = [")


# ---------------------------------------------------------------------------------------------------
# Sections 4-5: Table 1 and torchvision
# ---------------------------------------------------------------------------------------------------


def test_table_1_is_printed_from_the_builder() -> None:
    text = stored_text("def stage_rows(")
    for i, (operator, resolution, channels, layers) in enumerate(TABLE1, 1):
        assert re.search(rf"^\s+{i}\s+{re.escape(operator)}\s+{resolution}\s+{channels}\s+{layers}$", text, re.M), i
    assert "B0: 5,288,548 parameters, 385,814,752 multiply-adds at 224×224" in text
    assert [s.out_channels for s in EFFICIENTNET_B0_TABLE1] == [row[2] for row in TABLE1[1:8]]


def test_parity_with_torchvision_is_stored() -> None:
    text = stored_text("theirs_builder(weights=None)")
    assert text.count("<All keys matched successfully>") == 2 and text.count("0.0e+00") == 2
    assert "12,233,232 = 12,233,232" in text


# ---------------------------------------------------------------------------------------------------
# Section 6: two routes
# ---------------------------------------------------------------------------------------------------


def _route_counts() -> dict[str, tuple[int, int, int, int]]:
    counts = {}
    for phi, (variant, published) in enumerate(PUBLISHED_COEFFICIENTS.items()):
        with torch.device("meta"):
            pub, formula = create_model(f"efficientnet_{variant}"), efficientnet(phi)
        r = formula.coefficients.resolution
        counts[variant] = (profile.count_parameters(pub),
                           profile.count_macs(pub, (3, published.resolution, published.resolution)),
                           profile.count_parameters(formula), profile.count_macs(formula, (3, r, r)))
    return counts


def test_two_routes_against_table_2_and_the_prose() -> None:
    counts = _route_counts()
    b0_macs = counts["b0"][1]
    text = prose()
    # published MACs beside Table 2's FLOPS: within 2% for B0-B3 and B6, 2.0% for B7, 4.6% and 3.7% for B4, B5
    for variant, (params, macs, _, _) in counts.items():
        ratio = macs / TABLE2[variant][1]
        limit = {"b4": 0.047, "b5": 0.038, "b7": 0.0205}.get(variant, 0.02)
        assert abs(ratio - 1) <= limit, variant
        assert f"{macs / 1e9:.2f}G" in text, variant
    assert round(counts["b4"][1] / 4.2e9 - 1, 3) == 0.046 and round(counts["b5"][1] / 9.9e9 - 1, 3) == 0.037
    # parameters round to Table 2 except B2
    for variant, (params, *_rest) in counts.items():
        digits = 1 if params < 10e6 else 0
        same = round(params / 1e6, digits) == round(TABLE2[variant][0] / 1e6, digits)
        assert same is (variant != "b2"), variant
    assert counts["b2"][0] == 9_109_994 and "B2 has 9,109,994 (9.1M) where Table 2 says 9.2M" in text
    # the formula at φ = 1 and 2 has B2's and B3's parameters
    assert counts["b1"][2] == counts["b2"][0] and counts["b2"][2] == counts["b3"][0]
    # ratios the prose quotes
    ratios = {v: (c[1] / b0_macs, c[3] / b0_macs) for v, c in counts.items()}
    assert round(ratios["b1"][1], 1) == 2.6 and round(ratios["b2"][1], 1) == 4.7
    assert round(ratios["b7"][1], 1) == 102.8 and round(flops_growth_per_step() ** 7, 1) == 96.3
    assert [round(ratios[v][0], 1) for v in ("b5", "b6", "b7")] == [26.6, 49.4, 97.8]
    assert [round(flops_growth_per_step() ** p, 1) for p in (5, 6)] == [26.1, 50.1]
    for phi in range(1, 5):  # published B1-B4 below 1.92^φ
        assert ratios[f"b{phi}"][0] < flops_growth_per_step() ** phi
    table = stored_text("route_rows = []")
    assert "B7   600  66,347,960    37.75G  97.8" in table


def _alone_factors() -> dict[str, float]:
    """Multiply-adds of B0 with one φ = 1 multiplier applied alone (and all three), relative to B0."""
    c = compound_coefficients(1)

    def count(width: float, depth: float, resolution: int) -> int:
        with torch.device("meta"):
            model = EfficientNet(coefficients=ScalingCoefficients(width, depth, resolution, 0.2))
        return profile.count_macs(model, (3, resolution, resolution))

    b0 = count(1.0, 1.0, 224)
    return {"depth": count(1.0, c.depth, 224) / b0, "width": count(c.width, 1.0, 224) / b0,
            "resolution": count(1.0, 1.0, c.resolution) / b0, "all": count(c.width, c.depth, c.resolution) / b0}


def test_which_rounding_makes_the_formula_cost_more() -> None:
    factors = _alone_factors()
    text = stored_text("def map_sides(")
    for label, key, formula in [("depth d = 1.2", "depth", 1.2), ("width w = 1.1", "width", 1.21),
                                ("resolution 258 px (r = 1.15)", "resolution", GAMMA_RESOLUTION**2),
                                ("all three: efficientnet(1)", "all", flops_growth_per_step())]:
        assert re.search(rf"^{re.escape(label)}\s+{formula:.3f}×\s+{factors[key]:.3f}×$", text, re.M), label
    assert "[1, 2, 2, 3, 3, 4, 1] → [2, 3, 3, 4, 4, 5, 2]" in text
    assert "[32, 16, 24, 40, 80, 112, 192, 320, 1280] → [32, 16, 24, 48, 88, 120, 208, 352, 1408]" in text
    assert "[112, 112, 56, 28, 14, 14, 7, 7] → [129, 129, 65, 33, 17, 17, 9, 9]" in text
    assert "(258/224)² = 1.327" in text and "(9/7)² = 1.65× B0's 7×7, where 258/32 = 8.06" in text
    # the order the prose gives: depth the largest excess, resolution next, width below its formula
    assert factors["depth"] / 1.2 > factors["resolution"] / GAMMA_RESOLUTION**2 > 1 > factors["width"] / 1.21
    p = prose()
    assert (f"depth alone costs {factors['depth']:.2f}× instead of 1.2×" in p
            and f"resolution alone costs {factors['resolution']:.2f}× instead of 1.32×" in p
            and f"width alone costs {factors['width']:.2f}× instead of 1.21×" in p)
    assert "ends on a 9×9 map where 258/32 = 8.06" in p and "(that adds 0.3%)" in p
    assert round((258 / 224) ** 2 / GAMMA_RESOLUTION**2 - 1, 3) == 0.003
    # the solutions' written answer quotes the same figures
    answer = " ".join(re.sub(r"\n#\s?", " ", (ROOT / "solutions" / "09_efficientnet.py").read_text()).split())
    assert (f"depth alone costs {factors['depth']:.2f}× B0, not 1.2×" in answer and "9×9 map" in answer
            and f"resolution alone costs {factors['resolution']:.2f}×, not 1.32×" in answer
            and f"({factors['width']:.2f}×, not 1.21×)" in answer)


def test_published_coefficients_against_the_formula_as_the_prose_says() -> None:
    rows = {row.name[-2:]: row for row in scaling_comparison()}
    for variant in ("b1", "b2", "b3", "b4"):  # all three below the formula
        pub, formula = rows[variant].published, rows[variant].formula
        assert pub.width < formula.width and pub.depth < formula.depth and pub.resolution < formula.resolution
    for variant in ("b5", "b6", "b7"):  # depth below, resolution above
        pub, formula = rows[variant].published, rows[variant].formula
        assert pub.depth < formula.depth and pub.resolution > formula.resolution
    assert [rows[v].formula.resolution for v in ("b5", "b6", "b7")] == [451, 518, 596]
    assert rows["b6"].published.width > rows["b6"].formula.width and rows["b7"].published.width > rows["b7"].formula.width
    b3 = rows["b3"].formula
    p = prose()
    assert f"against {b3.width:.2f}, {b3.depth:.2f} and {b3.resolution}" in p
    assert "against 451, 518 and 596" in p and "(1.80 and 2.00 against 1.77 and 1.95)" in p


def test_torchvision_evaluates_b2_at_288_pixels() -> None:
    import torchvision

    transforms = torchvision.models.EfficientNet_B2_Weights.IMAGENET1K_V1.transforms()
    assert transforms.crop_size == [288] and PUBLISHED_COEFFICIENTS["b2"].resolution == 260
    assert "torchvision evaluates its B2 weights at 288 px, not 260" in prose()


def test_quiz_items_name_the_paper_version_and_the_released_coefficients() -> None:
    import yaml

    bank = yaml.safe_load((ROOT / "cnncourse" / "quiz" / "bank" / "efficientnet.yaml").read_text(encoding="utf-8"))
    items = {item["id"]: item for item in bank["items"]}
    correct = next(o for o in items["efficientnet-010"]["options"] if o["correct"])
    assert "6.7" in correct["text"]["en"] and "6.7" in correct["text"]["ja"]
    assert "83.0%" in correct["feedback"]["en"] and "83.0%" in correct["feedback"]["ja"]
    assert not any("6.3 points" in o["text"]["en"] for o in items["efficientnet-010"]["options"])
    fourth = items["efficientnet-020"]["options"][3]
    assert "paper's account" in fourth["text"]["en"] and "論文の説明では" in fourth["text"]["ja"]
    for text in (fourth["feedback"]["en"], items["efficientnet-002"]["explanation"]["en"]):
        assert "width 1.0, depth 1.1, 240 px" in text and "dropout" in text
    assert "φ alone" not in items["efficientnet-002"]["explanation"]["en"]


# ---------------------------------------------------------------------------------------------------
# Section 7: latency
# ---------------------------------------------------------------------------------------------------


def _stored_latency() -> dict[str, tuple[float, float]]:
    text = stored_text("latency_models = {}")
    rows = re.findall(r"^(\w+)\s+\S+\s+([\d.]+)M\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", text, re.M)
    return {name: (float(macs), float(ms), float(time_ratio)) for name, macs, ms, _, time_ratio in rows}


def test_stored_latency_table_is_complete() -> None:
    rows = _stored_latency()
    assert set(rows) == {"efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3", "mobilenet_v2",
                         "mobilenet_v3_large", "efficientnet_small", "mobilenet_v2_cifar", "mobilenet_v3_small_cifar"}
    assert rows["efficientnet_b0"][0] == 385.8 and rows["efficientnet_small"][0] == 98.3


def test_latency_prose_reads_the_stored_run() -> None:
    rows = _stored_latency()
    b0, small = rows["efficientnet_b0"], rows["efficientnet_small"]
    text = prose()
    assert f"B0 took {b0[1]:.1f} ms" in text
    ratios = [f"{rows[f'efficientnet_b{i}'][2]:.2f}×" for i in (1, 2, 3)]
    assert f"took {ratios[0]}, {ratios[1]} and {ratios[2]} its time for 1.78×, 2.58× and 4.74×" in text
    assert f"0.15× efficientnet_small's multiply-adds, {rows['mobilenet_v3_small_cifar'][2]:.2f}× its time" in text
    assert f"({rows['mobilenet_v2'][2]:.2f}× of B0's time for 0.78× its multiply-adds" in text
    order = [rows[f"efficientnet_b{i}"][1] for i in range(4)]
    assert order == sorted(order) and rows["mobilenet_v2"][1] < b0[1] and rows["mobilenet_v3_large"][1] < b0[1]
    assert rows["mobilenet_v3_small_cifar"][1] < min(rows["mobilenet_v2_cifar"][1], small[1])


def test_latency_orderings_hold_when_re_measured() -> None:
    """B0 < B1 < B2 < B3 and both MobileNets not slower than B0, one thread, 10% margins."""
    torch.manual_seed(0)
    models = {name: (create_model(name).eval(), torch.randn(1, 3, size, size))
              for name, size in [("efficientnet_b0", 224), ("efficientnet_b1", 240), ("efficientnet_b2", 260),
                                 ("efficientnet_b3", 300), ("mobilenet_v3_large", 224), ("mobilenet_v2", 224)]}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        times = scaling.interleaved_latency_ms(models, rounds=5)
    finally:
        torch.set_num_threads(threads)
    order = ["efficientnet_b0", "efficientnet_b1", "efficientnet_b2", "efficientnet_b3"]
    for faster, slower in zip(order, order[1:]):
        assert times[faster] < 1.1 * times[slower], (faster, slower, times)
    assert times["mobilenet_v3_large"] < 1.1 * times["efficientnet_b0"]
    assert times["mobilenet_v2"] < 1.1 * times["efficientnet_b0"]


# ---------------------------------------------------------------------------------------------------
# Section 8: the experiment
# ---------------------------------------------------------------------------------------------------


def test_stored_plan_is_the_shipped_plan() -> None:
    plan = json.loads((RESULTS / "plan.json").read_text())
    text = stored_text('plan = json.loads((SCALING_DIR / "plan.json").read_text())')
    for row in plan:
        assert re.search(rf"^{row['name']}\s+{row['width']:.2f}\s+{row['depth']:.2f}\s+{row['resolution']}\s", text,
                         re.M), row["name"]
        assert f"{row['parameters']:,}" in text
    assert "rebuilt now: compound_4x has 312,697 parameters" in text
    by = {row["name"]: row for row in plan}
    base = by["baseline"]["macs"]
    assert round(by["resolution_2x"]["macs"] / base, 2) == 1.88 and round(by["resolution_4x"]["macs"] / base, 2) == 4.25
    assert by["compound_2x"]["phi"] == 0.625 and by["compound_2x"]["stage_blocks"] == [2, 3, 3, 2]
    assert by["compound_4x"]["phi"] == 1.9 and by["compound_4x"]["stage_blocks"] == [2, 3, 3, 2]
    assert {by[n]["parameters"] for n in ("baseline", "resolution_2x", "resolution_4x")} == {116_866}
    p = prose()
    assert "1.88× (39×39) and 4.25× (57×57)" in p and "φ = 0.625" in p and "φ = 1.9 (w = 1.20, d = 1.41" in p


def test_stored_results_are_the_shipped_histories() -> None:
    records = scaling.load_results(RESULTS)
    text = stored_text("records = scaling.load_results(SCALING_DIR)")
    assert f"{len(records)} runs found" in text and len(records) == 9 * len(scaling.SEEDS)
    by_name: dict[str, dict[int, float]] = {}
    for r in records:
        by_name.setdefault(r["config"]["name"], {})[r["seed"]] = r["test_accuracy"]
    ranges = []
    for name, accs in by_name.items():
        values = [accs[seed] for seed in scaling.SEEDS]
        cells = r"\s+".join(re.escape(f"{v:.2%}") for v in values)
        mean, spread = statistics.mean(values), max(values) - min(values)
        ranges.append(spread)
        assert re.search(rf"^{name}\s+\S+\s+{cells}\s+{re.escape(f'{mean:.2%}')}\s+{re.escape(f'{spread:.2%}')}",
                         text, re.M), name
    total = sum(r["cpu_seconds"] for r in records) / 60
    assert f"all runs together: {total:.1f} min of CPU time" in text and total <= 30
    assert f"ranges {min(ranges):.2%} to {max(ranges):.2%} (mean {statistics.mean(ranges):.2%})" in text
    p = prose()
    assert f"spans {min(ranges) * 100:.2f} to {max(ranges) * 100:.2f} points ({statistics.mean(ranges) * 100:.2f} on average)" in p
    assert round(math.sqrt(0.85 * 0.15 / 3000) * 100, 2) == 0.65
    means = {name: statistics.mean(accs.values()) for name, accs in by_name.items()}
    for first, second in [("width_2x", "width_4x"), ("resolution_2x", "resolution_4x"), ("compound_2x", "compound_4x")]:
        assert f"({means[first]:.2%}" in p and f"{means[second]:.2%})" in p or f"{means[second]:.2%} at 4×)" in p
    assert f"baseline's {means['baseline']:.2%}" in p and f"falls to {means['depth_4x']:.2%}" in p
    best_compound = max(means["compound_2x"], means["compound_4x"])
    assert best_compound <= max(means[n] for n in means if n.startswith(("width", "resolution")))  # "does not win"
    assert all(abs(means[n] - means["baseline"]) < 0.01 for n in means if n != "depth_4x")  # "less than a point"
    assert means["baseline"] - means["depth_4x"] > max(ranges) / 2


def test_checkpoint_section_both_branches(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    source = next(c.source for c in notebook().cells if c.cell_type == "code" and "CHECKPOINT = " in c.source)
    monkeypatch.setattr(pretrained, "list_checkpoints", lambda directory=None: [])
    exec(compile(source, "<checkpoint cell>", "exec"), {"__name__": "__notebook__"})  # noqa: S102
    printed = capsys.readouterr().out
    assert f"{CHECKPOINT} is not trained yet" in printed
    assert "python -m cnncourse references --train-missing --only 09" in printed
    assert "%" not in printed.split("target")[0]
    model = nn.Linear(1, 1)
    model.checkpoint_metadata = {"epochs": 10, "wall_time_s": 2700.0, "device": "cpu (test)", "test_accuracy": 0.9412,
                                 "command": "python -m cnncourse train ...", "history": History().to_dict()}
    monkeypatch.setattr(pretrained, "list_checkpoints", lambda directory=None: [SimpleNamespace(name=CHECKPOINT)])
    monkeypatch.setattr(pretrained, "load_pretrained", lambda name, *args, **kwargs: model)
    exec(compile(source, "<checkpoint cell>", "exec"), {"__name__": "__notebook__"})  # noqa: S102
    assert "10 epochs, 45 min on cpu (test); recorded test accuracy 94.12%" in capsys.readouterr().out


def test_stored_checkpoint_output_matches_what_is_installed() -> None:
    installed = {info.name for info in pretrained.list_checkpoints()}
    if CHECKPOINT in installed:
        pytest.fail("the checkpoint is installed now: rerun notebooks/09_efficientnet so its stored output shows it, "
                    "and rewrite section 9's prose from the recorded figures")
    assert "not trained yet" in stored_text("CHECKPOINT = ")
    assert "no accuracy of it is quoted anywhere in this chapter" in prose()


def test_step_and_live_run_prose() -> None:
    step = stored_text("step_model = create_model")
    seconds = re.search(r"one training step of 128 images: (\d+\.\d+) s", step).group(1)
    minutes = re.search(r"about (\d+) min per epoch", step).group(1)
    text = prose()
    assert f"took {seconds} s in the stored run" in text and f"at that rate {minutes} minutes per epoch" in text
    # the manifest's figure, quoted beside the loaded one, with only what the manifest records about the machine
    entry = next(item for item in MANIFEST if item.name == "efficientnet_small_fashion_mnist_10ep")
    assert "15.2 min on two threads of a bfloat16 Xeon" in entry.purpose
    assert "manifest's 15.2 minutes" in text and "two threads of a bfloat16 Xeon" in text
    assert "idle" not in entry.purpose and "idle threads" not in text
    live = stored_text("live = {}")
    accs = re.findall(r"test accuracy (\d+\.\d)%", live)
    assert f"({accs[0]}% and {accs[1]}% after two epochs on 2,000 images)" in text


def test_stored_run_time_is_the_quoted_figure() -> None:
    minutes = float(re.search(r"notebook ran in (\d+\.\d) min", stored_text("notebook ran in")).group(1))
    assert f"Top to bottom it took {minutes} minutes in default mode" in prose()


def test_small_image_network_counts() -> None:
    model = create_model("efficientnet_small", in_channels=1, num_classes=10)
    assert profile.count_parameters(model) == 4_019_782 and profile.count_macs(model, (1, 28, 28)) == 98_273_104
    assert "4,019,782 parameters, 98,273,104 MACs" in stored_text('small = create_model("efficientnet_small"')
    assert math.ceil(28 / 8) == 4
