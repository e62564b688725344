"""Check steps the chapter modules share: whole-number answers, building and running a student's
module, parameter counts, shapes, the identity fall-back of a residual block, outputs against the
reference with the same weights, and gradients.

Each step records one ✓ / ✗ line on a :class:`~cnncourse.check.core.Checker` and calls student code
only through :meth:`~cnncourse.check.core.Checker.run`, so a stub is "not attempted" and a crash is a
✗ line, never a traceback.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from cnncourse.check.core import Checker, EarlierAnswer, earlier_answer_cause
from cnncourse.check.probes import (
    count_parameters,
    matching_candidate,
    max_difference,
    parameters_without_gradient,
    same_output,
    seeded_input,
    shape_text,
    transfer_weights,
)


def is_integer(value: object) -> bool:
    """An int-like value that is not a bool (numpy and torch integers count)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def integer_answer(checker: Checker, name: str, value: object) -> int:
    """The student's whole-number answer, or a ✗ that says why it is not one (None, a float, …)."""
    if value is None:
        checker.stop(name, "your function returned None: did you forget the 'return' statement?")
    if is_integer(value):
        return int(value)  # type: ignore[arg-type]
    if isinstance(value, float):
        checker.stop(
            name,
            f"your function returned the float {value!r}; sizes and counts are whole numbers. "
            "Use floor division // and return an int.",
        )
    checker.stop(name, f"expected a whole number, got {type(value).__name__} {value!r}.")


def check_cases(
    checker: Checker,
    name: str,
    function: Callable[..., object],
    cases: Sequence[tuple[Any, ...]],
    truth: Callable[..., object],
    *,
    success: Callable[[tuple[Any, ...], Any], str],
    failure: Callable[[tuple[Any, ...], Any, Any], str],
    mistakes: Mapping[str, Callable[..., object]],
    fix: str,
    earlier: Sequence[EarlierAnswer] = (),
    read: Callable[[Checker, str, object], Any] = integer_answer,
) -> None:
    """The student's ``function`` on every case against ``truth(*case)``: one ✓ / ✗ line per case.

    ``read`` turns what the function returned into an answer (a whole number by default; it stops the check
    with a ✗ on anything else). After a wrong answer, the "what to fix" line names the earlier exercise
    the function builds on when that one is the likely cause, else the first formula of ``mistakes`` that
    reproduces every answer (:func:`diagnose_by_formula`), else ``fix``.
    """
    answers: dict[tuple[Any, ...], object] = {}
    any_wrong = False
    for case in cases:
        description = f"{name}({', '.join(map(str, case))})"
        answer = read(checker, description, checker.run(description, function, *case, earlier=earlier))
        answers[case] = answer
        expected = truth(*case)
        ok = answer == expected
        any_wrong |= not ok
        checker.expect(description, ok, success=success(case, expected), failure=failure(case, answer, expected))
    if any_wrong:
        checker.failed(
            "what to fix",
            earlier_answer_cause(function, earlier) or diagnose_by_formula(answers, mistakes) or fix,
        )


def diagnose_by_formula(
    answers: Mapping[tuple[int, ...], object], candidates: Mapping[str, Callable[..., object]]
) -> str | None:
    """The message of the first wrong formula that reproduces *every* answer the student gave, if any.

    ``answers`` maps the arguments of each case to the student's answer; ``candidates`` maps a message
    to a formula with the mistake built in. Matching all cases at once keeps a coincidence on one case
    from naming the wrong mistake.
    """
    for message, formula in candidates.items():
        if all(formula(*case) == answer for case, answer in answers.items()):
            return message
    return None


def zero_every_weight(module: nn.Module) -> None:
    """All parameters 0 and BatchNorm statistics at (mean 0, variance 1): any learned branch outputs 0."""
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.zero_()
        for name, buffer in module.named_buffers():
            if name.endswith("running_mean"):
                buffer.zero_()
            elif name.endswith("running_var"):
                buffer.fill_(1.0)


def build(checker: Checker, description: str, factory: Callable[[], object]) -> nn.Module:
    """Call the student's constructor; it must give an ``nn.Module``."""
    built = checker.run(description, factory)
    if not isinstance(built, nn.Module):
        checker.stop(f"{description} builds", f"expected an nn.Module, got {type(built).__name__}.")
    return built


def check_parameter_count(
    checker: Checker, description: str, student: nn.Module, ref: nn.Module, hint: str
) -> bool:
    found, expected = count_parameters(student), count_parameters(ref)
    return checker.expect(
        f"parameters of {description}",
        found == expected,
        success=f"{expected:,}, as the reference",
        failure=f"{found:,}, expected {expected:,}. {hint}",
    )


def run_forward(checker: Checker, description: str, module: nn.Module, x: Tensor, hint: str = "") -> Tensor:
    """``module(x)`` through the checker; the result must be a tensor."""
    output = checker.run(f"{description} on an input of shape {shape_text(x.shape)}", module, x, hint=hint)
    if not isinstance(output, Tensor):
        checker.stop(
            f"{description} returns a tensor", f"forward returned {type(output).__name__}, not a tensor."
        )
    return output


def check_output_shape(
    checker: Checker, description: str, output: Tensor, expected: tuple[int, ...], hint: str
) -> bool:
    return checker.expect(
        f"output shape of {description}",
        tuple(output.shape) == expected,
        success=shape_text(expected),
        failure=f"{shape_text(output.shape)}, expected {shape_text(expected)}. {hint}",
    )


def check_identity_fallback(
    checker: Checker, description: str, block: nn.Module, channels: int, size: int
) -> None:
    """With every weight zero, F(x) = 0, so a residual block must return x (for x ≥ 0, after its ReLU).

    This needs no reference and no layer names: it is what makes a residual block able to "do nothing"
    (He et al., 2015, Section 3.1), and it fails for F(x) − x and for F(x) alone.
    """
    probe = copy.deepcopy(block)
    zero_every_weight(probe)
    probe.eval()
    x = seeded_input((2, channels, size, size), seed=11, positive=True)
    with torch.no_grad():
        output = run_forward(checker, description, probe, x.clone())
    name = "falls back to the identity when F(x) = 0"
    if same_output(output, x):
        checker.passed(name, "with every weight at zero the block returns x")
    elif output.shape == x.shape and float(output.abs().max()) < 1e-6:
        checker.failed(
            name,
            "with every weight at zero F(x) = 0, so the block should return x, but yours returns 0: the "
            "shortcut is missing or subtracted. Return relu(F(x) + x).",
        )
    elif same_output(output, -x):
        checker.failed(
            name, "with every weight at zero your block returns −x: you subtract the input. Add it."
        )
    else:
        if output.shape == x.shape:
            gap = f"up to {max_difference(output, x):.3g}"
        else:
            gap = f"in shape {shape_text(output.shape)}"
        checker.failed(
            name,
            f"with every weight at zero F(x) = 0, so the block should return x; yours differs from x {gap}. "
            "The shortcut must carry x unchanged to the addition.",
        )


def check_input_untouched(checker: Checker, description: str, block: nn.Module, x: Tensor) -> None:
    kept = x.clone()
    with torch.no_grad():
        run_forward(checker, description, block, x)
    checker.expect(
        "leaves its input unchanged",
        torch.equal(kept, x),
        success="x is the same after forward",
        failure="forward changed its input tensor in place (e.g. relu(x, inplace=True) or x += …); the "
        "caller still needs x for the shortcut. Work on new tensors.",
    )


def check_gradients(checker: Checker, description: str, block: nn.Module, x: Tensor) -> None:
    """In training mode, ``output.sum()`` must send a gradient to the input and to every parameter."""
    block.train()
    x = x.clone().requires_grad_(True)
    output = run_forward(checker, f"{description} in training mode", block, x)
    unused = checker.run(f"backward through {description}", parameters_without_gradient, block, output)
    reached = x.grad is not None and bool(x.grad.abs().sum() > 0)
    checker.expect(
        "gradients reach the input",
        reached,
        success="x.grad is non-zero",
        failure="no gradient flows back to the input: compute the output from x with torch operations "
        "(no .detach(), no .data, no torch.no_grad()).",
    )
    checker.expect(
        "every layer gets a gradient",
        not unused,
        success="all parameters receive gradients",
        failure=f"{', '.join(unused)} receive no gradient: those layers are created but not used in forward.",
    )


def compare_with_reference(
    checker: Checker,
    description: str,
    student: nn.Module,
    ref: nn.Module,
    x: Tensor,
    candidates: Mapping[str, Tensor],
    messages: Mapping[str, str],
    order_hint: str,
) -> bool:
    """Give ``student`` the reference's weights; equal outputs pass, a known mistake's output names it.

    ``candidates`` are outputs of typical mistakes computed from the reference's own layers, keyed like
    ``messages``. Both modules are compared in eval mode (BatchNorm uses its running statistics).
    """
    name = f"output values of {description}"
    problem = transfer_weights(ref, student)
    if problem is not None:
        checker.failed(
            name,
            f"cannot give your block the reference's weights to compare outputs: {problem}. Use the layer "
            "names and shapes the exercise asks for.",
        )
        return False
    student.eval()
    ref.eval()
    with torch.no_grad():
        expected = ref(x.clone())
        output = run_forward(checker, description, student, x.clone())
    if same_output(output, expected):
        checker.passed(name, "equal to the reference's with the same weights")
        return True
    mistake = matching_candidate(output, candidates)
    if mistake is not None:
        checker.failed(name, messages[mistake])
    elif output.shape != expected.shape:
        checker.failed(name, f"shape {shape_text(output.shape)} instead of {shape_text(expected.shape)}.")
    else:
        checker.failed(
            name,
            "with the reference's weights your outputs differ by up to "
            f"{max_difference(output, expected):.3g}. {order_hint}",
        )
    return False
