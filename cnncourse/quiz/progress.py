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
* a damaged file (not JSON, or not the expected shape) is renamed to
  ``quiz_progress.json.damaged-<timestamp>``, a message says where it went, and a fresh file is started.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
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
        """Parse one entry; raises ``ValueError`` when it does not have the expected shape."""
        if not isinstance(data, dict) or set(data) != {
            "attempts", "correct", "last_result", "last_answered", "box", "next_review"
        }:
            raise ValueError(f"entry has the wrong fields: {data!r}")
        attempts, correct, box = data["attempts"], data["correct"], data["box"]
        for value in (attempts, correct, box):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"counts must be integers: {data!r}")
        if not (0 <= correct <= attempts and attempts >= 1 and box in BOX_INTERVAL_DAYS):
            raise ValueError(f"inconsistent counts: {data!r}")
        if data["last_result"] not in _RESULTS:
            raise ValueError(f"unknown last_result: {data!r}")
        return cls(
            attempts=attempts,
            correct=correct,
            last_result=data["last_result"],
            last_answered=dt.date.fromisoformat(data["last_answered"]),
            box=box,
            next_review=dt.date.fromisoformat(data["next_review"]),
        )


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

    # ------------------------------------------------------------------ internals
    def _read_or_recover(self) -> dict[str, ItemProgress]:
        try:
            raw_text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            document = json.loads(raw_text)
            if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
                raise ValueError("not a progress document of version 1")
            entries = document.get("items")
            if not isinstance(entries, dict):
                raise ValueError("'items' is not a mapping")
            return {str(item_id): ItemProgress.from_json(entry) for item_id, entry in entries.items()}
        except (ValueError, TypeError) as problem:  # json.JSONDecodeError is a ValueError
            self._move_aside(problem)
            return {}

    def _move_aside(self, problem: Exception) -> None:
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        target = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        os.replace(self.path, target)
        self.moved_aside = target
        stream = self._messages or sys.stderr
        print(
            f"Your quiz progress file {self.path} was damaged ({str(problem)[:120]}). "
            f"It was moved to {target} (nothing deleted) and a fresh progress file was started.",
            file=stream,
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
    "ProgressStore",
    "progress_path",
    "schedule",
]
