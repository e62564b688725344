"""Reading a search afterwards: the best fitness so far, per evaluation or per generation, and the
Pareto front of accuracy against a cost (parameters, multiply-adds or latency).

These take plain lists of :class:`~cnncourse.nas.log.Evaluation` (from a :class:`SearchResult` or from
:func:`~cnncourse.nas.log.read_log`), so the notebook plots a shipped log and a live search the same way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

from cnncourse.errors import CourseError
from cnncourse.nas.log import Evaluation

T = TypeVar("T")

#: Costs a Pareto front can be drawn against, each an :class:`Evaluation` field.
COSTS: tuple[str, ...] = ("parameters", "macs", "latency_ms", "seconds")
VALUES: tuple[str, ...] = ("accuracy", "fitness")


def best_so_far(evaluations: Sequence[Evaluation], value: str = "fitness") -> list[float]:
    """The running maximum of ``value`` after each evaluation, in the order they were trained: entry
    ``i`` is the best of evaluations 0 … i (the curve to compare strategies at an equal budget)."""
    if value not in VALUES:
        raise CourseError(f"value must be one of {VALUES}, got {value!r}.")
    curve: list[float] = []
    for evaluation in evaluations:
        current = float(getattr(evaluation, value))
        curve.append(current if not curve else max(curve[-1], current))
    return curve


def best_per_generation(evaluations: Sequence[Evaluation], value: str = "fitness") -> list[tuple[int, float]]:
    """(generation, best ``value`` of all genomes evaluated up to and including that generation), for
    every generation that trained at least one genome, in order. A generation whose offspring had all
    been evaluated before trains nothing and has no point of its own; its best is the previous one."""
    if value not in VALUES:
        raise CourseError(f"value must be one of {VALUES}, got {value!r}.")
    points: list[tuple[int, float]] = []
    best = -math.inf
    for evaluation in sorted(evaluations, key=lambda e: (e.generation, e.index)):
        best = max(best, float(getattr(evaluation, value)))
        if points and points[-1][0] == evaluation.generation:
            points[-1] = (evaluation.generation, best)
        else:
            points.append((evaluation.generation, best))
    return points


def _getter(item: object, name: str) -> float:
    value = item[name] if isinstance(item, Mapping) else getattr(item, name, None)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CourseError(f"Every point needs a finite number for {name!r}, got {value!r} in {item!r}.")
    return float(value)


def pareto_front(
    items: Sequence[T],
    cost: str | Callable[[T], float] = "parameters",
    value: str | Callable[[T], float] = "accuracy",
) -> list[T]:
    """The items no other item beats on both counts: none has a lower-or-equal ``cost`` *and* a
    higher-or-equal ``value`` with at least one of the two strictly better. Sorted by cost (cheapest
    first; value then rises along the front). Of several items with the same cost and value, the first
    is kept.

    Args:
        items: evaluations, or any objects or mappings with the two fields (hand-made points work).
        cost: the field to keep low (``"parameters"``, ``"macs"``, ``"latency_ms"``) or a function.
        value: the field to keep high (``"accuracy"``, ``"fitness"``) or a function.

    >>> points = [{"parameters": 10, "accuracy": 0.8}, {"parameters": 20, "accuracy": 0.7},
    ...           {"parameters": 30, "accuracy": 0.9}]
    >>> [p["parameters"] for p in pareto_front(points)]
    [10, 30]
    """
    cost_of = cost if callable(cost) else (lambda item: _getter(item, cost))  # type: ignore[arg-type]
    value_of = value if callable(value) else (lambda item: _getter(item, value))  # type: ignore[arg-type]
    scored = [
        (float(cost_of(item)), float(value_of(item)), position, item) for position, item in enumerate(items)
    ]
    # Cheapest first; among equal costs the best value first, then the earliest.
    scored.sort(key=lambda entry: (entry[0], -entry[1], entry[2]))
    front: list[T] = []
    best_value = -math.inf
    for item_cost, item_value, _, item in scored:
        # Everything cheaper (or as cheap and earlier in this order) has a value <= best_value, so
        # this item is dominated exactly when it does not beat best_value.
        if item_value > best_value:
            front.append(item)
            best_value = item_value
    return front


__all__ = ["COSTS", "VALUES", "best_per_generation", "best_so_far", "pareto_front"]
