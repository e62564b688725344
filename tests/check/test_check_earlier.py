"""An exercise that builds on an earlier one names the earlier one when it is the likely cause.

The answers are written into a fresh namespace, as a notebook's cells would define them, because the
checks find the earlier answer by the global name the later answer calls.
"""

from __future__ import annotations

from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)

from cnncourse.check import resnet, wide_resnet
from cnncourse.check.core import Status

STUB = "    raise NotImplementedError()\n"
RIGHT_CONV = "    return (size + 2 * padding - kernel_size) // stride + 1\n"
WRONG_CONV = "    return (size + 2 * padding - kernel_size) // stride\n"  # forgot the + 1
CONV = "def conv_output_size(size, kernel_size, stride=1, padding=0):\n"
STAGES_FROM_CONV = """
def resnet20_feature_sizes(input_size):
    second = conv_output_size(input_size, 3, 2, 1)
    return [conv_output_size(input_size, 3, 1, 1), second, conv_output_size(second, 3, 2, 1)]
"""
STAGES_ON_THEIR_OWN = """
def resnet20_feature_sizes(input_size):
    return [input_size, input_size // 2, input_size // 4]  # odd sizes round down: wrong
"""


def notebook(*cells: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    for cell in cells:
        exec(cell, namespace)  # noqa: S102 — the test's own answer code, as a notebook cell runs it
    return namespace


def test_a_stub_in_the_earlier_exercise_is_named_not_reported_as_this_ones_stub() -> None:
    answers = notebook(CONV + STUB, STAGES_FROM_CONV)
    result = resnet.check_stage_sizes(answers["resnet20_feature_sizes"])
    assert result.status is Status.FAILED  # attempted: it is not this exercise's stub
    assert "calls conv_output_size from exercise 1, which is still the stub" in failures(result)


def test_a_wrong_earlier_answer_is_named_as_the_likely_cause() -> None:
    answers = notebook(CONV + WRONG_CONV, STAGES_FROM_CONV)
    result = resnet.check_stage_sizes(answers["resnet20_feature_sizes"])
    assert result.status is Status.FAILED
    assert "exercise 1 (Output size of a convolution) is the likely cause" in failures(result)


def test_a_right_earlier_answer_or_one_not_called_is_not_blamed() -> None:
    right = notebook(CONV + RIGHT_CONV, STAGES_FROM_CONV)["resnet20_feature_sizes"]
    assert_passed(resnet.check_stage_sizes(right))
    wrong_on_its_own = notebook(CONV + WRONG_CONV, STAGES_ON_THEIR_OWN)["resnet20_feature_sizes"]
    own_mistake = resnet.check_stage_sizes(wrong_on_its_own)
    assert own_mistake.status is Status.FAILED
    assert "exercise 1" not in failures(own_mistake)  # it does not call conv_output_size
    assert "odd size rounds up" in failures(own_mistake)


WRN_GROUPS_RIGHT = """
def wrn_groups(depth, widen_factor):
    if (depth - 4) % 6:
        raise ValueError("depth must be 6N + 4")
    return [((depth - 4) // 6, base * widen_factor) for base in (16, 32, 64)]
"""
BLOCK_PARAMETERS = """
def wide_block_parameters(in_planes, out_planes, stride):
    count = 2 * in_planes + 9 * in_planes * out_planes + 2 * out_planes + 9 * out_planes * out_planes
    return count + (in_planes * out_planes if stride != 1 or in_planes != out_planes else 0)
"""
NETWORK = """
def wrn_parameters(depth, widen_factor, num_classes=10):
    count, in_planes = 9 * 3 * 16, 16
    for group, (blocks, channels) in enumerate(wrn_groups(depth, widen_factor)):
        for block in range(blocks):
            count += wide_block_parameters(in_planes, channels, 2 if group and not block else 1)
            in_planes = channels
    return count + 2 * in_planes + in_planes * num_classes + num_classes
"""


def test_wide_resnet_network_count_names_the_wrong_block_count_of_exercise_2() -> None:
    right = notebook(WRN_GROUPS_RIGHT, BLOCK_PARAMETERS, NETWORK)
    assert_passed(wide_resnet.check_network_parameters(right["wrn_parameters"]))
    # the block count forgets the projection whenever the stride is 1 and the width changes
    wrong_block = BLOCK_PARAMETERS.replace("stride != 1 or in_planes != out_planes", "stride != 1")
    result = wide_resnet.check_network_parameters(notebook(WRN_GROUPS_RIGHT, wrong_block,
                                                           NETWORK)["wrn_parameters"])
    assert result.status is Status.FAILED
    assert "calls wide_block_parameters from exercise 2, and that gives wrong answers" in failures(result)
    assert "exercise 1" not in failures(result)  # wrn_groups is right


def test_wide_resnet_network_count_names_the_stub_of_exercise_1() -> None:
    stub_groups = "def wrn_groups(depth, widen_factor):\n" + STUB
    result = wide_resnet.check_network_parameters(notebook(stub_groups, BLOCK_PARAMETERS,
                                                           NETWORK)["wrn_parameters"])
    assert result.status is Status.FAILED
    assert "calls wrn_groups from exercise 1, which is still the stub" in failures(result)


STAGES_IN_A_COMPREHENSION = """
def resnet20_feature_sizes(input_size):
    sizes = [input_size]
    [sizes.append(conv_output_size(sizes[-1], 3, stride, 1)) for stride in (1, 2, 2)]  # only called in here
    return sizes[1:]
"""


def test_an_earlier_answer_called_inside_a_comprehension_is_still_named() -> None:
    answers = notebook(CONV + WRONG_CONV, STAGES_IN_A_COMPREHENSION)
    result = resnet.check_stage_sizes(answers["resnet20_feature_sizes"])
    assert "exercise 1 (Output size of a convolution) is the likely cause" in failures(result)


def test_a_stubbed_earlier_class_is_named_when_a_check_builds_the_later_answer() -> None:
    from cnncourse.check.core import Chapter, Checker, EarlierAnswer, Exercise, run_check

    block_exercise = Exercise("99_demo", 1, "demo_block", "ブロック", "Block", 1)
    net_exercise = Exercise("99_demo", 2, "demo_net", "ネット", "Net", 1)
    Chapter("99_demo", "デモ", "demo", (block_exercise, net_exercise))
    answers = notebook(
        "class Block:\n    def __init__(self, width):\n        raise NotImplementedError()\n",
        "class Net:\n    def __init__(self):\n        self.block = Block(4)\n",
    )
    earlier = [EarlierAnswer("Block", block_exercise, lambda cls: True)]

    def body(checker: Checker) -> None:
        # the check's own lambda calls the student's class: answer= says whose globals to search
        checker.run("Net()", lambda: answers["Net"](), earlier=earlier, answer=answers["Net"])

    result = run_check(net_exercise, body)
    assert result.status is Status.FAILED
    assert "calls Block from exercise 1, which is still the stub" in failures(result)
