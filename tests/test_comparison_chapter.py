"""Chapter 10 (every model side by side): the stored outputs show every shipped checkpoint and nothing else.

The chapter's table is computed from the references manifest and ``cnncourse/checkpoints/``; its stored outputs
come from a default run. These tests fail when a checkpoint has landed (or gone) since that run — rerun the
notebook in default mode then — and when a stored figure, pick or quoted claim no longer follows from the
stored numbers it is read from.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cnncourse import compare, pretrained
from cnncourse.quiz import cheat_sheet
from cnncourse.quiz.bank import COURSE_CHAPTERS, chapter_title, load_bank
from cnncourse.references import MANIFEST

from stored_notebook import StoredNotebook

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = StoredNotebook("10_comparison")
NOTEBOOK, SOURCE = CHAPTER.ipynb, CHAPTER.source


notebook, code_cell = CHAPTER.notebook, CHAPTER.code_cell
stored_text, prose = CHAPTER.stored_text, CHAPTER.prose


def stored_table() -> tuple[dict[str, list[str]], list[str]]:
    """The stored checkpoint table: {name: cells} of the measured rows, and the names "not trained yet"."""
    lines = stored_text("table = compare.checkpoint_table(").splitlines()
    assert lines[0].startswith("checkpoint") and set(lines[1]) <= {"-", " "}
    measured, missing = {}, []
    for line in lines[2:]:
        if line.startswith("accuracy on "):
            break
        name = line.split()[0]
        if "not trained yet" in line:
            missing.append(name)
        else:
            measured[name] = re.split(r"\s{2,}", line.strip())
    return measured, missing


def stored_accuracy() -> dict[str, tuple[float, float]]:
    """{name: (re-measured, recorded)} in percent, from the accuracy cell's stored output."""
    text = stored_text("compare.measure_accuracy(")
    return {match[0]: (float(match[1]), float(match[2]))
            for match in re.findall(r"^\s+(\S+)\s+([\d.]+)%\s+recorded at the end of training: ([\d.]+)%", text, re.M)}


# ---------------------------------------------------------------------------------------------------
# The stored run and the roster
# ---------------------------------------------------------------------------------------------------


def test_stored_outputs_come_from_a_default_run() -> None:
    assert "fast mode: False" in stored_text('print("fast mode:", fast_mode())')
    assert "default mode" in stored_text("notebook ran in")
    assert "on 10,000 test images" in stored_text("compare.measure_accuracy(")


def test_stored_roster_is_todays_roster() -> None:
    """Fails when a reference checkpoint landed (or was removed) after the stored run: rerun the notebook."""
    assert stored_text("roster = compare.reference_roster()").rstrip("\n") == str(compare.reference_roster())


def test_stored_table_has_every_shipped_checkpoint_and_no_other() -> None:
    measured, missing = stored_table()
    shipped = compare.shipped_names()
    assert list(measured) == shipped, "rerun notebooks/10_comparison in default mode: the shipped checkpoints changed"
    assert missing == [entry.name for entry in MANIFEST if entry.name not in shipped]
    for name, cells in measured.items():
        assert "-" not in cells[2:9], f"{name}: a measurement is missing from the stored table"


def test_stored_counts_are_todays_counts_and_the_recorded_ones() -> None:
    text = stored_text("costs = compare.measure_costs(references)")
    roster = compare.reference_roster()
    costs = compare.measure_costs(compare.load_references(roster))
    lines = text.splitlines()[1:]
    assert len(lines) == len(costs)
    for line, (name, (params, macs)) in zip(lines, costs.items()):
        assert line.split()[0] == name and f"{params:,}" in line and f"{macs:,}" in line
        assert line.endswith("yes"), line


def test_re_measured_accuracy_agrees_with_what_training_recorded() -> None:
    """The prose: within 0.1 points without flip TTA, a few tenths lower for the runs recorded with it."""
    accuracy = stored_accuracy()
    assert list(accuracy) == compare.shipped_names()
    text = stored_text("compare.measure_accuracy(")
    flip = {line.split()[0]: line.endswith("(with flip TTA)") for line in text.splitlines()[1:]}
    for name, (measured, recorded) in accuracy.items():
        if flip[name]:
            assert -0.5 <= measured - recorded <= 0.05, name
        else:
            assert abs(measured - recorded) <= 0.1 + 1e-9, name
    measured_rows, _ = stored_table()
    for name, cells in measured_rows.items():
        assert cells[4] == f"{accuracy[name][0]:.2f}%", name


# ---------------------------------------------------------------------------------------------------
# What the chapter reads from the table
# ---------------------------------------------------------------------------------------------------


def test_the_noise_floor_compares_only_equal_networks() -> None:
    text = stored_text("by_macs: dict[int, list[compare.CheckpointRow]]")
    for column in ("b1", "b64"):
        ratios = [float(value) for value in re.findall(rf"\), {column}: .*slowest ÷ fastest ([\d.]+)", text)]
        floor = float(re.search(rf"noise floor of this run, {column}: equal networks differ by up to ×([\d.]+)", text)[1])
        assert ratios and floor == max(ratios), column
    for line in text.splitlines():
        if "MACs (" in line:
            architectures = line.split("(")[1].split(")")[0].split(", ")
            # equal multiply-adds and equal layers: resnet20 / plain20 differ only in the shortcuts
            assert {a.replace("plain", "resnet") for a in architectures} == {architectures[0].replace("plain", "resnet")}


def test_the_picks_follow_from_the_stored_numbers() -> None:
    text = stored_text("TOLERANCE = 0.005")
    accuracy = {name: values[0] for name, values in stored_accuracy().items()}
    best = max(accuracy.values())
    params = {line.split()[0]: int(line.split()[2].replace(",", ""))
              for line in stored_text("costs = compare.measure_costs(references)").splitlines()[1:]}
    within = {name for name, value in accuracy.items() if value >= best - 0.5 - 1e-9}
    picks = re.findall(r"pick: (\S+)", text)
    assert len(picks) == 3
    phone, server, classroom = picks
    assert phone in within and params[phone] == min(params[name] for name in within)
    assert accuracy[server] == best
    measured, _ = stored_table()
    assert classroom in within
    assert float(measured[classroom][6]) == min(float(measured[name][6]) for name in within)


def test_the_fronts_the_prose_describes() -> None:
    text = stored_text("def front_plot(")
    macs_front = re.search(r"on the front \(multiply-adds\): (.*)", text)[1].split(", ")
    latency_front = re.search(r"on the front \(latency, batch 64\): (.*)", text)[1].split(", ")
    measured, _ = stored_table()
    v3 = "mobilenet_v3_small_cifar_fashion_mnist_10ep"
    # "the multiply-adds front starts with MobileNet v3-Small's checkpoint, the fewest multiply-adds of the table"
    assert macs_front[0] == v3 and "multiply-adds front starts with MobileNet v3-Small's checkpoint" in prose()
    # "the latency front leaves it out: at batch 64 it took longer than the ResNet-20s"
    assert v3 not in latency_front
    resnets = [name for name in measured if name.startswith("resnet20_")]
    assert all(float(measured[v3][6]) > float(measured[name][6]) for name in resnets)
    # "MobileNet v3-Small, scored 93.25% here, outside the half point"
    accuracy = {name: values[0] for name, values in stored_accuracy().items()}
    assert f"MobileNet v3-Small, scored {accuracy[v3]:.2f}% here, outside the half point" in prose()
    assert accuracy[v3] < max(accuracy.values()) - 0.5


def per_mac_rows(marker: str) -> dict[str, float]:
    """{network: time per MAC relative to ResNet} from a section-6 table's stored output."""
    return {line.split()[0]: float(line.split()[-1]) for line in stored_text(marker).splitlines()
            if re.match(r"^[a-z]\w+\s+[\d.]+[KMG]\s", line)}


def test_the_per_mac_summaries_are_the_printed_ratios_and_the_prose_holds() -> None:
    import torch

    from cnncourse.models import create_model

    for marker, size in (("FAMILY_PICKS = [", {}), ("SMALL_ARCHITECTURES = list(", {"in_channels": 1})):
        rows = per_mac_rows(marker)
        with torch.device("meta"):
            depthwise = {name: value for name, value in rows.items()
                         if compare.uses_depthwise(create_model(name, **size))}
        others = {name: value for name, value in rows.items() if name not in depthwise}
        summaries = {match[1]: (match[3], match[5]) for match in re.finditer(
            r"^(with depthwise convolutions|the others): time per MAC ×([\d.]+) \((\w+)\) to ×([\d.]+) \((\w+)\)",
            stored_text(marker), re.MULTILINE)}
        # the two lines give the range of each group, chosen by the networks' layers
        assert summaries["with depthwise convolutions"] == (min(depthwise, key=depthwise.get),
                                                            max(depthwise, key=depthwise.get)), marker
        assert summaries["the others"] == (min(others, key=others.get), max(others, key=others.get)), marker
        for match in re.finditer(r"×([\d.]+) \((\w+)\) to ×([\d.]+) \((\w+)\)", stored_text(marker)):
            assert rows[match[2]] == float(match[1]) and rows[match[4]] == float(match[3])
        inverted = [name for name in depthwise if not name.startswith("mobilenet_v1")]
        v1 = next(name for name in rows if name.startswith("mobilenet_v1"))
        # "every network built from inverted residuals (MobileNet v2 and v3 and EfficientNet in both settings,
        # MnasNet at 224×224) spent more time per multiply-add than ResNet; MobileNet v1 stayed within a factor
        # of two of ResNet's rate"
        assert inverted and all(rows[name] > 1.0 for name in inverted), marker
        assert ("mnasnet1_0" in inverted) == marker.startswith("FAMILY")
        assert 0.5 < rows[v1] < 2.0, marker
        if not marker.startswith("FAMILY"):  # "DenseNet-BC was the slowest per multiply-add at 28×28" of the rest
            assert max(others, key=others.get) == "densenet_bc_40_12"
            assert "aecnn_searched" in others  # built from ResNet and DenseNet units, no depthwise layer
    assert list(rows) == list(dict.fromkeys(entry.model for entry in MANIFEST))


# ---------------------------------------------------------------------------------------------------
# The zoo, the timeline, the exam, the cheat-sheet
# ---------------------------------------------------------------------------------------------------


def test_stored_zoo_is_todays_zoo_with_the_cited_figures() -> None:
    lines = stored_text("zoo = compare.imagenet_table()").splitlines()[1:]
    rows = compare.imagenet_table()
    assert [line.split()[0] for line in lines] == [row.name for row in rows]
    for line, row in zip(lines, rows):
        assert f"{row.params:,}" in line
        if row.published:
            assert f"{row.published.top1:.2f}%" in line and row.published.source in line
        else:
            assert "no figure cited" in line


def test_stored_timeline_is_the_librarys() -> None:
    lines = stored_text("for item in compare.TIMELINE:").splitlines()
    assert len(lines) == len(compare.TIMELINE)
    for line, item in zip(lines, compare.TIMELINE):
        assert line.startswith(str(item.year)) and item.headline in line and item.source in line


def test_the_mock_exam_draws_from_every_chapter() -> None:
    text = stored_text("exam = pick_exam_questions(")
    banks = list(dict.fromkeys(question.chapter for question in load_bank(None)))
    assert f"20 questions from the chapters: {', '.join(banks)}" in text
    assert "quiz.show(exam" in code_cell("exam = pick_exam_questions(").source


def test_stored_cheat_sheet_is_every_chapters_current_glossary() -> None:
    cell = code_cell("Markdown(\"\\n\\n\".join(")
    stored = "".join(output["data"]["text/markdown"] for output in cell.outputs
                     if output.output_type == "execute_result")
    expected = "\n\n".join(f"### {chapter_title(chapter, 'ja')} — {chapter_title(chapter, 'en')}\n\n"
                           f"{cheat_sheet(chapter)}" for chapter in COURSE_CHAPTERS)
    assert stored == expected, "the glossary changed: rerun notebooks/10_comparison"


def test_quoted_cited_figures() -> None:
    text = prose()
    assert "differed by 0.11 points" in text
    assert "between two seeds of the same recipe is 0.11 points" in " ".join(
        (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8").split())
    assert "22.85%" in compare.PUBLISHED_TOP1["resnet50"].source and "24.80%" in compare.PUBLISHED_TOP1["se_resnet50"].source
    for figure in ("22.85% top-1 error", "24.80%"):
        assert figure in text
    # "chapter 07, section 9: 1,527,818 for MobileNet v3-Small against ResNet-20's 269,434"
    assert "1,527,818 for MobileNet v3-Small against ResNet-20's 269,434" in text
    assert "mobilenet_v3_small_cifar: 1,527,818 parameters" in (ROOT / "notebooks" / "07_mobilenet_v3.ipynb").read_text()
    assert compare.measure_costs({"r": pretrained.load_pretrained("resnet20_fashion_mnist")})["r"][0] == 269_434


@pytest.mark.parametrize("cell_marker", ["zoo = compare.imagenet_table()", "for item in compare.TIMELINE:",
                                         "roster = compare.reference_roster()",
                                         "costs = compare.measure_costs(references)"])
def test_deterministic_cells_are_compared_by_nbval(cell_marker: str) -> None:
    assert code_cell(cell_marker).source.startswith("# NBVAL_CHECK_OUTPUT")


@pytest.mark.parametrize("cell_marker", ["compare.measure_accuracy(", "table = compare.checkpoint_table(",
                                         "FAMILY_PICKS = [", "TOLERANCE = 0.005"])
def test_timings_and_subset_accuracies_are_never_compared(cell_marker: str) -> None:
    assert "NBVAL_CHECK_OUTPUT" not in code_cell(cell_marker).source
