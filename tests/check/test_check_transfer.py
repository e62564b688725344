"""Interlude 02b checks: right answers pass, and each classic mistake is rejected with its own message.

The mistakes the course names (issue 19): the head still has 10 outputs, BatchNorm statistics still updating
when "frozen", the optimizer given frozen parameters; plus an optimizer built before the head was replaced and
a whole model put in eval mode.
"""

from __future__ import annotations

import torch
from check_helpers import assert_passed, failures, fresh_session  # noqa: F401  (autouse fixture)
from torch import nn

from cnncourse.check import transfer as checks
from cnncourse.check.core import Status


def right_prepare(model: nn.Module, num_classes: int) -> torch.optim.Optimizer:
    model.fc = nn.Linear(model.fc.in_features, num_classes)
    for name, parameter in model.named_parameters():
        parameter.requires_grad = name.startswith("fc.")
    return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1, momentum=0.9)


def right_train_mode(model: nn.Module) -> None:
    model.train()
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d) and not module.weight.requires_grad:
            module.eval()


def test_the_right_answers_pass() -> None:
    assert_passed(checks.check_prepare_linear_probe(right_prepare))
    assert_passed(checks.check_train_keeping_frozen_norms(right_train_mode))


def test_a_stub_is_not_attempted() -> None:
    def stub(*args: object) -> None:
        raise NotImplementedError()

    assert checks.check_prepare_linear_probe(stub).status is Status.NOT_ATTEMPTED
    assert checks.check_train_keeping_frozen_norms(stub).status is Status.NOT_ATTEMPTED


def test_head_not_replaced_is_named() -> None:
    def keep_head(model: nn.Module, num_classes: int) -> torch.optim.Optimizer:
        for name, parameter in model.named_parameters():
            parameter.requires_grad = name.startswith("fc.")
        return torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)

    result = checks.check_prepare_linear_probe(keep_head)
    assert "the head still has 10 outputs" in failures(result)
    assert "the head still has 1000 outputs" in failures(result)


def test_optimizer_given_frozen_parameters_is_named() -> None:
    def everything(model: nn.Module, num_classes: int) -> torch.optim.Optimizer:
        right_prepare(model, num_classes)
        return torch.optim.SGD(model.parameters(), lr=0.1)

    assert "the optimizer was given frozen parameters" in failures(checks.check_prepare_linear_probe(everything))


def test_optimizer_built_before_the_new_head_is_named() -> None:
    def too_early(model: nn.Module, num_classes: int) -> torch.optim.Optimizer:
        optimizer = torch.optim.SGD(model.fc.parameters(), lr=0.1)  # the old head
        right_prepare(model, num_classes)
        return optimizer

    assert "does not hold the new head's parameters" in failures(checks.check_prepare_linear_probe(too_early))


def test_backbone_left_trainable_is_named() -> None:
    def no_freeze(model: nn.Module, num_classes: int) -> torch.optim.Optimizer:
        model.fc = nn.Linear(model.fc.in_features, num_classes)
        return torch.optim.SGD(model.parameters(), lr=0.1)

    assert "backbone parameters still have requires_grad=True" in failures(checks.check_prepare_linear_probe(no_freeze))


def test_requires_grad_alone_lets_batchnorm_statistics_update_and_is_named() -> None:
    result = checks.check_train_keeping_frozen_norms(lambda model: model.train())
    assert "BatchNorm statistics still updating when frozen" in failures(result)


def test_whole_model_in_eval_mode_is_named() -> None:
    result = checks.check_train_keeping_frozen_norms(lambda model: model.eval())
    assert "BatchNorm layers whose parameters do train are in eval mode" in failures(result)
    assert "model.training is False" in failures(result)
