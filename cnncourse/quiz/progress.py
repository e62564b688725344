"""The learner's quiz progress: one JSON file that is never corrupted and never silently lost.

The file is ``settings.user_home()/quiz_progress.json`` unless ``CNNCOURSE_PROGRESS`` names another.
For each item it keeps attempts, correct answers, the last result and date, and a Leitner box that sets
the next review date (Leitner, 1972, *So lernt man lernen*; the usual "spaced repetition" card boxes):
a correct answer moves the item up one box, a wrong one back to box 1, and box ``b`` is reviewed
:data:`BOX_INTERVAL_DAYS` ``[b]`` days after the last answer (1, 2, 4, 8, 16 days).

Safety:

* every change is a read-modify-write under an exclusive lock on ``quiz_progress.json.lock``
  (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows), so two notebooks answering at the same
  time both keep their answers;
* the new content goes to a temporary file in the same folder, is flushed to disk (``fsync``) and then
  replaces the old file with ``os.replace``, so a crash leaves either the old or the new file, never half;
* a file that cannot be read at all (not UTF-8, not JSON, not a progress document) is renamed to
  ``quiz_progress.json.damaged-<timestamp>``, a message says where it went, and a fresh file is started;
* a file with some bad entries keeps every valid one: the bad entries are dropped, the message names each
  item and field, and the original is kept beside it as ``quiz_progress.json.damaged-<timestamp>``;
* ``python -m cnncourse quiz --restore FILE`` (:meth:`ProgressStore.restore`) merges the valid entries of
  a kept-aside (or backed-up) file back in, so answers given since are not lost either.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from cnncourse.errors import CourseError
from cnncourse.settings import user_home

PROGRESS_ENV = "CNNCOURSE_PROGRESS"
PROGRESS_FILE_NAME = "quiz_progress.json"
FORMAT_VERSION = 1
#: Days until the next review for Leitner boxes 1..5.
BOX_INTERVAL_DAYS: dict[int, int] = {1: 1, 2: 2, 3: 4, 4: 8, 5: 16}
_RESULTS = ("correct", "wrong")


def progress_path() -> Path:
    """Where progress is kept: ``$CNNCOURSE_PROGRESS`` or ``user_home()/quiz_progress.json``."""
    explicit = os.environ.get(PROGRESS_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return user_home() / PROGRESS_FILE_NAME


@dataclass(frozen=True)
class ItemProgress:
    """What is known about one item. Dates are ISO ``YYYY-MM-DD`` strings in the file."""

    attempts: int
    correct: int
    last_result: str
    last_answered: dt.date
    box: int
    next_review: dt.date

    @property
    def wrong(self) -> int:
        return self.attempts - self.correct

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_answered"] = self.last_answered.isoformat()
        data["next_review"] = self.next_review.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Any) -> ItemProgress:
        """Parse one entry; raises ``ValueError`` naming the field that does not have the expected shape."""
        if not isinstance(data, dict):
            raise ValueError(f"the entry is {type(data).__name__}, not an object")
        missing = sorted(_FIELDS - set(data))
        if missing:
            raise ValueError(f"field {missing[0]!r} is missing")
        extra = sorted(set(data) - _FIELDS)
        if extra:
            raise ValueError(f"field {extra[0]!r} is unknown")
        for name in ("attempts", "correct", "box"):
            value = data[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"field {name!r} is {value!r}, not a whole number")
        attempts, correct, box = data["attempts"], data["correct"], data["box"]
        if attempts < 1:
            raise ValueError(f"field 'attempts' is {attempts}, not 1 or more")
        if not 0 <= correct <= attempts:
            raise ValueError(f"field 'correct' is {correct}, not between 0 and attempts ({attempts})")
        if box not in BOX_INTERVAL_DAYS:
            raise ValueError(f"field 'box' is {box}, not {min(BOX_INTERVAL_DAYS)}–{max(BOX_INTERVAL_DAYS)}")
        if data["last_result"] not in _RESULTS:
            raise ValueError(f"field 'last_result' is {data['last_result']!r}, not 'correct' or 'wrong'")
        dates = {}
        for name in ("last_answered", "next_review"):
            try:
                dates[name] = dt.date.fromisoformat(data[name])
            except (TypeError, ValueError):
                raise ValueError(f"field {name!r} is {data[name]!r}, not a YYYY-MM-DD date") from None
        return cls(
            attempts=attempts,
            correct=correct,
            last_result=data["last_result"],
            last_answered=dates["last_answered"],
            box=box,
            next_review=dates["next_review"],
        )


_FIELDS = frozenset({"attempts", "correct", "last_result", "last_answered", "box", "next_review"})


def _newer(a: ItemProgress, b: ItemProgress) -> ItemProgress:
    """Of two records of one item, the one that has seen more (more attempts, then the later answer)."""
    return max(a, b, key=lambda entry: (entry.attempts, entry.last_answered))


@dataclass(frozen=True)
class ParsedProgress:
    """A progress document read leniently: the valid entries and, per dropped item, why it was dropped."""

    items: dict[str, ItemProgress]
    dropped: dict[str, str]


def parse_progress(raw: bytes) -> ParsedProgress:
    """Read a progress file's bytes, keeping every valid entry.

    Raises ``ValueError`` when nothing can be salvaged (not UTF-8, not JSON, not a version-1 progress
    document); otherwise bad entries are listed in ``dropped`` with the reason naming the field.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"not UTF-8 text (byte {error.start})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        raise ValueError(f"not a progress document of version {FORMAT_VERSION}")
    entries = document.get("items")
    if not isinstance(entries, dict):
        raise ValueError("'items' is not a mapping")
    items: dict[str, ItemProgress] = {}
    dropped: dict[str, str] = {}
    for item_id, entry in entries.items():
        try:
            items[str(item_id)] = ItemProgress.from_json(entry)
        except ValueError as problem:
            dropped[str(item_id)] = str(problem)
    return ParsedProgress(items, dropped)


def schedule(previous: ItemProgress | None, correct: bool, today: dt.date) -> ItemProgress:
    """The item's progress after one more answer on ``today`` (the Leitner rule in the module docstring)."""
    if previous is None:
        box = 2 if correct else 1
        attempts, correct_count = 1, int(correct)
    else:
        box = min(previous.box + 1, max(BOX_INTERVAL_DAYS)) if correct else 1
        attempts, correct_count = previous.attempts + 1, previous.correct + int(correct)
    return ItemProgress(
        attempts=attempts,
        correct=correct_count,
        last_result="correct" if correct else "wrong",
        last_answered=today,
        box=box,
        next_review=today + dt.timedelta(days=BOX_INTERVAL_DAYS[box]),
    )


class ProgressStore:
    """Reads and updates the progress file safely (see the module docstring).

    ``messages`` receives the note written when a damaged file is moved aside (standard error by
    default, so it shows in a notebook and on the command line).
    """

    def __init__(self, path: str | Path | None = None, *, messages: TextIO | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else progress_path()
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._messages = messages
        #: Where the last damaged file was moved, if this store moved one.
        self.moved_aside: Path | None = None

    # ------------------------------------------------------------------ reading
    def load(self) -> dict[str, ItemProgress]:
        """All items' progress (empty when nothing was answered yet)."""
        with self._locked():
            return self._read_or_recover()

    def get(self, item_id: str) -> ItemProgress | None:
        return self.load().get(item_id)

    def due_items(self, today: dt.date | None = None, *, missed_only: bool = False) -> list[str]:
        """Ids whose next review is on or before ``today``, the longest-waiting first.

        With ``missed_only`` only items answered wrong at least once (what ``quiz --review`` drills).
        """
        today = today or dt.date.today()
        items = self.load()
        due = [
            (entry.next_review, item_id)
            for item_id, entry in items.items()
            if entry.next_review <= today and (entry.wrong > 0 or not missed_only)
        ]
        return [item_id for _, item_id in sorted(due)]

    def missed_items(self) -> list[str]:
        """Ids answered wrong at least once, the most recently answered first."""
        items = self.load()
        missed = [(entry.last_answered, item_id) for item_id, entry in items.items() if entry.wrong > 0]
        return [item_id for _, item_id in sorted(missed, key=lambda pair: (-pair[0].toordinal(), pair[1]))]

    def next_due_date(self, *, missed_only: bool = False) -> dt.date | None:
        """The earliest next-review date, or None when nothing (missed) was answered."""
        dates = [e.next_review for e in self.load().values() if e.wrong > 0 or not missed_only]
        return min(dates, default=None)

    # ------------------------------------------------------------------ writing
    def record(self, item_id: str, correct: bool, today: dt.date | None = None) -> ItemProgress:
        """Add one answer to ``item_id``'s progress and return its new state."""
        return self.record_many([(item_id, correct)], today)[item_id]

    def record_many(
        self, results: Iterable[tuple[str, bool]], today: dt.date | None = None
    ) -> dict[str, ItemProgress]:
        """Add several answers in one locked read-modify-write; returns the new states of those items."""
        today = today or dt.date.today()
        results = list(results)
        if not results:
            return {}
        with self._locked():
            items = self._read_or_recover()
            changed: dict[str, ItemProgress] = {}
            for item_id, correct in results:
                if not isinstance(item_id, str) or not item_id:
                    raise CourseError(f"A progress entry needs an item id string, got {item_id!r}.")
                items[item_id] = schedule(items.get(item_id), bool(correct), today)
                changed[item_id] = items[item_id]
            self._write(items)
        return changed

    def reset(self) -> None:
        """Forget all progress (the old file is replaced by an empty one)."""
        with self._locked():
            self._write({})

    def restore(self, source: str | Path) -> tuple[int, dict[str, str]]:
        """Merge the valid entries of ``source`` (a kept-aside or backed-up progress file) into this one.

        For an item in both, the record that has seen more answers wins, so nothing answered since is
        lost. The current file is copied to ``<name>.before-restore-<timestamp>`` first. Returns how many
        entries were taken from ``source`` and the entries of ``source`` that could not be read.
        """
        source = Path(source).expanduser()
        try:
            raw = source.read_bytes()
        except OSError as error:
            raise CourseError(f"Cannot read {source} ({error.strerror}): pass the file to restore.") from None
        try:
            parsed = parse_progress(raw)
        except ValueError as problem:
            raise CourseError(f"{source} cannot be restored: it is {problem}.") from None
        with self._locked():
            items = self._read_or_recover()
            if self.path.exists():
                shutil.copy2(self.path, self.path.with_name(f"{self.path.name}.before-restore-{_stamp()}"))
            taken = 0
            for item_id, entry in parsed.items.items():
                merged = _newer(items[item_id], entry) if item_id in items else entry
                taken += merged is entry
                items[item_id] = merged
            self._write(items)
        return taken, parsed.dropped

    # ------------------------------------------------------------------ internals
    def _read_or_recover(self) -> dict[str, ItemProgress]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        try:
            parsed = parse_progress(raw)
        except ValueError as problem:
            self._move_aside(problem)
            return {}
        if parsed.dropped:
            self._salvage(parsed)
        return parsed.items

    def _move_aside(self, problem: Exception) -> None:
        target = self.path.with_name(f"{self.path.name}.damaged-{_stamp()}")
        os.replace(self.path, target)
        self.moved_aside = target
        print(
            f"Your quiz progress file {self.path} was damaged ({str(problem)[:120]}). "
            f"It was moved to {target} (nothing deleted) and a fresh progress file was started. "
            f"If you repair it, bring its answers back with: python -m cnncourse quiz --restore {target}",
            file=self._messages or sys.stderr,
        )

    def _salvage(self, parsed: ParsedProgress) -> None:
        """Keep the valid entries, the original beside them, and say which entries were dropped."""
        target = self.path.with_name(f"{self.path.name}.damaged-{_stamp()}")
        shutil.copy2(self.path, target)
        self.moved_aside = target
        self._write(parsed.items)
        shown = list(parsed.dropped.items())[:10]
        lines = [f"  {item_id}: {reason}" for item_id, reason in shown]
        if len(parsed.dropped) > len(shown):
            lines.append(f"  … and {len(parsed.dropped) - len(shown)} more")
        print(
            f"Your quiz progress file {self.path} had {len(parsed.dropped)} damaged "
            f"entr{'y' if len(parsed.dropped) == 1 else 'ies'}; the other {len(parsed.items)} were kept. "
            f"Dropped:\n" + "\n".join(lines) + f"\nThe original is kept at {target}; after repairing it, "
            f"merge it back with: python -m cnncourse quiz --restore {target}",
            file=self._messages or sys.stderr,
        )

    def _write(self, items: dict[str, ItemProgress]) -> None:
        document = {
            "version": FORMAT_VERSION,
            "items": {item_id: items[item_id].to_json() for item_id in sorted(items)},
        }
        payload = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
        handle, temporary = tempfile.mkstemp(
            prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent
        )
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(payload)
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        _fsync_directory(self.path.parent)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            lock_file = open(self.lock_path, "a+b")  # noqa: SIM115 - closed in the finally below
        except OSError as error:
            raise CourseError(
                f"Cannot write quiz progress in {self.path.parent} ({error.strerror}). "
                f"Set {PROGRESS_ENV} to a file in a folder you can write to."
            ) from None
        try:
            _lock(lock_file)
            try:
                yield
            finally:
                _unlock(lock_file)
        finally:
            lock_file.close()


def _stamp() -> str:
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")


if os.name == "nt":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(lock_file: Any) -> None:
        # msvcrt.locking's blocking mode gives up after ten seconds; keep trying like flock would.
        lock_file.seek(0)
        while True:
            try:
                msvcrt.locking(lock_file.fileno(), msvcrt.LK_LOCK, 1)
                return
            except OSError:
                time.sleep(0.05)

    def _unlock(lock_file: Any) -> None:
        lock_file.seek(0)
        msvcrt.locking(lock_file.fileno(), msvcrt.LK_UNLCK, 1)

    def _fsync_directory(directory: Path) -> None:
        """Windows cannot open a folder to flush it; os.replace is already durable there."""

else:
    import fcntl

    def _lock(lock_file: Any) -> None:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)

    def _unlock(lock_file: Any) -> None:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)

    def _fsync_directory(directory: Path) -> None:
        """Flush the folder entry so the rename itself survives a power cut."""
        try:
            descriptor = os.open(directory, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(descriptor)
        except OSError:
            pass
        finally:
            os.close(descriptor)


__all__ = [
    "BOX_INTERVAL_DAYS",
    "PROGRESS_ENV",
    "ItemProgress",
    "ParsedProgress",
    "ProgressStore",
    "parse_progress",
    "progress_path",
    "schedule",
]
