"""The search log: one JSON object per line, the header first, then one line per trained genome.

A log is only ever appended to, one complete line at a time (flushed and synced to disk), so an
interrupted search loses at most the candidate it was training. A later :func:`cnncourse.nas.search`
with the same settings replays the log — its decisions depend only on the fitness values, which it reads
back — and continues where it stopped; the finished log equals that of an uninterrupted run (apart from
the measured ``seconds`` and ``latency_ms`` of the candidates trained after the restart).

Line 1, the header::

    {"record": "search", "version": 1, "strategy": "evolution", "seed": 0, "space": {...},
     "settings": {...}, "fitness": {...}}

Every further line, one evaluation::

    {"record": "evaluation", "index": 0, "generation": 0, "genome": [{"unit": "rbu", ...}, ...],
     "key": "...", "accuracy": 0.81, "fitness": 0.81, "parameters": 12345, "macs": 678900,
     "latency_ms": 1.9, "seconds": 4.2}

A line that cannot be read raises :class:`CourseError` naming the file and the line; the file is left
exactly as it is.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from cnncourse.errors import CourseError
from cnncourse.models.aecnn import Genome, genome_from_json

LOG_VERSION = 1


@dataclass(frozen=True)
class Evaluation:
    """One trained genome: what it scored, its size and speed, and how long it took.

    ``index`` counts trained genomes from 0 (the budget counts them); ``generation`` is the generation
    whose offspring it was (0: the initial population; random search groups its draws into batches of
    the population size, so the two strategies' curves line up).
    """

    index: int
    generation: int
    genome: Genome
    accuracy: float
    fitness: float
    parameters: int
    macs: int
    latency_ms: float
    seconds: float

    @property
    def key(self) -> str:
        return self.genome.key()

    def to_json(self) -> dict[str, object]:
        return {
            "record": "evaluation",
            "index": self.index,
            "generation": self.generation,
            "genome": self.genome.to_json(),
            "key": self.key,
            "accuracy": self.accuracy,
            "fitness": self.fitness,
            "parameters": self.parameters,
            "macs": self.macs,
            "latency_ms": self.latency_ms,
            "seconds": self.seconds,
        }


_INTEGER_FIELDS = ("index", "generation", "parameters", "macs")
_NUMBER_FIELDS = ("accuracy", "fitness", "latency_ms", "seconds")
_EVALUATION_FIELDS = {"record", "genome", "key", *_INTEGER_FIELDS, *_NUMBER_FIELDS}
_HEADER_FIELDS = {"record", "version", "strategy", "seed", "space", "settings", "fitness"}


def _damaged(path: Path, line: int, problem: str) -> CourseError:
    return CourseError(
        f"{path}, line {line}: {problem}. The search log was not changed. Fix or delete that line (the "
        "lines above it are kept and will be replayed), or give search() another log_path to start afresh."
    )


def _evaluation_from_json(data: dict[str, object], path: Path, line: int) -> Evaluation:
    if set(data) != _EVALUATION_FIELDS:
        missing, extra = sorted(_EVALUATION_FIELDS - set(data)), sorted(set(data) - _EVALUATION_FIELDS)
        raise _damaged(
            path,
            line,
            "an evaluation record"
            + (f" lacks {missing}" if missing else "")
            + (" and" if missing and extra else "")
            + (f" has unexpected fields {extra}" if extra else ""),
        )
    for name in _INTEGER_FIELDS:
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise _damaged(path, line, f"{name} must be a whole number >= 0, got {value!r}")
    for name in _NUMBER_FIELDS:
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _damaged(path, line, f"{name} must be a finite number, got {value!r}")
    try:
        genome = genome_from_json(data["genome"])
    except CourseError as error:
        raise _damaged(path, line, f"its genome cannot be read ({error})") from None
    if data["key"] != genome.key():
        raise _damaged(path, line, "its key does not match its genome (was the line edited by hand?)")
    return Evaluation(
        index=int(data["index"]),  # type: ignore[call-overload]
        generation=int(data["generation"]),  # type: ignore[call-overload]
        genome=genome,
        accuracy=float(data["accuracy"]),  # type: ignore[arg-type]
        fitness=float(data["fitness"]),  # type: ignore[arg-type]
        parameters=int(data["parameters"]),  # type: ignore[call-overload]
        macs=int(data["macs"]),  # type: ignore[call-overload]
        latency_ms=float(data["latency_ms"]),  # type: ignore[arg-type]
        seconds=float(data["seconds"]),  # type: ignore[arg-type]
    )


def read_log(path: str | os.PathLike[str]) -> tuple[dict[str, object] | None, list[Evaluation]]:
    """The header and the evaluations of the search log at ``path`` (None and [] for an empty file).

    Every line is checked: valid JSON, the fields of its kind, a readable genome whose key matches, and
    evaluations numbered 0, 1, 2, … in order with no genome twice. The first problem raises
    :class:`CourseError` naming the file and the line. Blank lines are skipped.
    """
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"No search log at {path}.")
    header: dict[str, object] | None = None
    evaluations: list[Evaluation] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except json.JSONDecodeError as error:
                ending = (
                    "" if text.endswith("\n")
                    else " (the line is incomplete: a search was cut off while writing it)"
                )
                raise _damaged(path, number, f"not valid JSON ({error.msg}){ending}") from None
            if not isinstance(data, dict):
                raise _damaged(path, number, f"expected a JSON object, got {type(data).__name__}")
            kind = data.get("record")
            if header is None:
                if kind != "search" or set(data) != _HEADER_FIELDS:
                    raise _damaged(
                        path, number, "the first record must be the search header ({'record': 'search', ...})"
                    )
                if data["version"] != LOG_VERSION:
                    raise _damaged(
                        path, number, f"log version {data['version']!r}; this library reads {LOG_VERSION}"
                    )
                header = data
                continue
            if kind != "evaluation":
                raise _damaged(path, number, f"expected an evaluation record, got record={kind!r}")
            evaluation = _evaluation_from_json(data, path, number)
            if evaluation.index != len(evaluations):
                raise _damaged(
                    path, number, f"evaluation index {evaluation.index}, expected {len(evaluations)}"
                )
            if evaluation.key in seen:
                raise _damaged(
                    path, number, f"the genome was already evaluated on line {seen[evaluation.key]}"
                )
            seen[evaluation.key] = number
            evaluations.append(evaluation)
    return header, evaluations


class LogWriter:
    """Appends complete lines to a search log, each flushed and synced before the call returns."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A file whose last line lacks its newline gets one first, so no record is glued to another.
        needs_newline = False
        if self.path.is_file() and self.path.stat().st_size:
            with self.path.open("rb") as handle:
                handle.seek(-1, os.SEEK_END)
                needs_newline = handle.read(1) != b"\n"
        self._pending = "\n" if needs_newline else ""

    def append(self, record: dict[str, object]) -> None:
        line = self._pending + json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        self._pending = ""


__all__ = ["LOG_VERSION", "Evaluation", "LogWriter", "read_log"]
