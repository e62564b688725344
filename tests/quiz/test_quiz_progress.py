"""Progress: Leitner schedule, atomic writes, damaged files moved aside, concurrent writers lose nothing."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cnncourse.errors import CourseError
from cnncourse.quiz.progress import BOX_INTERVAL_DAYS, ProgressStore, progress_path, schedule

DAY = dt.date(2024, 4, 1)


def test_default_path_and_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNNCOURSE_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CNNCOURSE_PROGRESS", raising=False)
    assert progress_path() == tmp_path / "home" / "quiz_progress.json"
    monkeypatch.setenv("CNNCOURSE_PROGRESS", str(tmp_path / "elsewhere" / "p.json"))
    assert progress_path() == tmp_path / "elsewhere" / "p.json"
    ProgressStore().record("resnet-001", True, DAY)
    assert (tmp_path / "elsewhere" / "p.json").exists()
    assert not (tmp_path / "home").exists()


def test_leitner_schedule() -> None:
    assert BOX_INTERVAL_DAYS == {1: 1, 2: 2, 3: 4, 4: 8, 5: 16}
    entry = schedule(None, False, DAY)
    tomorrow = DAY + dt.timedelta(days=1)
    assert (entry.box, entry.next_review, entry.attempts, entry.correct) == (1, tomorrow, 1, 0)
    boxes = []
    for _ in range(6):  # correct answers climb one box at a time and stay in the last box
        entry = schedule(entry, True, DAY)
        boxes.append((entry.box, (entry.next_review - DAY).days))
    assert boxes == [(2, 2), (3, 4), (4, 8), (5, 16), (5, 16), (5, 16)]
    entry = schedule(entry, False, DAY)  # a miss sends it back to box 1
    assert (entry.box, entry.next_review, entry.attempts, entry.correct, entry.wrong) == (
        1, DAY + dt.timedelta(days=1), 8, 6, 2
    )
    assert schedule(None, True, DAY).box == 2


def test_record_due_and_missed(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "progress.json")
    store.record("resnet-001", False, DAY)
    store.record("resnet-002", True, DAY)
    store.record_many([("senet-001", False), ("senet-001", True)], DAY + dt.timedelta(days=2))
    items = store.load()
    assert items["resnet-001"].last_result == "wrong" and items["resnet-001"].last_answered == DAY
    assert (items["senet-001"].attempts, items["senet-001"].correct, items["senet-001"].box) == (2, 1, 2)
    assert store.due_items(DAY) == []
    assert store.due_items(DAY + dt.timedelta(days=1)) == ["resnet-001"]
    assert store.due_items(DAY + dt.timedelta(days=4)) == ["resnet-001", "resnet-002", "senet-001"]
    assert store.due_items(DAY + dt.timedelta(days=4), missed_only=True) == ["resnet-001", "senet-001"]
    assert store.missed_items() == ["senet-001", "resnet-001"]  # most recent first
    assert store.next_due_date(missed_only=True) == DAY + dt.timedelta(days=1)
    on_disk = json.loads((tmp_path / "progress.json").read_text(encoding="utf-8"))
    assert on_disk["version"] == 1
    assert on_disk["items"]["resnet-002"] == {
        "attempts": 1, "correct": 1, "last_result": "correct", "last_answered": "2024-04-01", "box": 2,
        "next_review": "2024-04-03",
    }
    # no temporary files are left behind by the atomic writes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["progress.json", "progress.json.lock"]


@pytest.mark.parametrize(
    "damage",
    [b"{not json", json.dumps([1, 2]).encode(), json.dumps({"version": 7, "items": {}}).encode(),
     b"\x00\x01binary", b"\x00\xff garbage", json.dumps({"version": 1, "items": [1]}).encode()],
    ids=["truncated", "a list", "unknown version", "binary", "invalid utf-8", "items not a mapping"],
)
def test_damaged_file_is_moved_aside(tmp_path: Path, damage: bytes) -> None:
    path = tmp_path / "quiz_progress.json"
    path.write_bytes(damage)
    messages = io.StringIO()
    store = ProgressStore(path, messages=messages)
    store.record("resnet-001", True, DAY)
    aside = list(tmp_path.glob("quiz_progress.json.damaged-*"))
    assert len(aside) == 1 and store.moved_aside == aside[0]
    assert aside[0].read_bytes() == damage  # kept, never lost
    note = messages.getvalue()
    assert "was damaged" in note and str(aside[0]) in note and "fresh progress file" in note
    assert list(store.load()) == ["resnet-001"]  # a fresh file with the new answer


def test_damage_message_goes_to_stderr_by_default(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "quiz_progress.json"
    path.write_text("garbage", encoding="utf-8")
    assert ProgressStore(path).load() == {}
    assert "moved to" in capsys.readouterr().err


def test_unwritable_folder_says_what_to_do(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    from cnncourse.errors import CourseError

    with pytest.raises(CourseError, match="CNNCOURSE_PROGRESS"):
        ProgressStore(blocker / "sub" / "progress.json").record("a-001", True)


WRITER = textwrap.dedent(
    """
    import sys
    from cnncourse.quiz.progress import ProgressStore
    store = ProgressStore(sys.argv[1])
    name, count = sys.argv[2], int(sys.argv[3])
    for i in range(count):
        # every writer touches a shared item and items of its own
        store.record("shared-001", i % 2 == 0)
        store.record(f"{name}-{i % 5:03d}", True)
    """
)


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "quiz_progress.json"
    count = 40
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, str(count)], env=env)
        for name in ("alpha", "beta", "gamma")
    ]
    for writer in writers:
        assert writer.wait(timeout=120) == 0
    items = ProgressStore(path).load()
    assert items["shared-001"].attempts == 3 * count
    assert items["shared-001"].correct == 3 * (count // 2)
    for name in ("alpha", "beta", "gamma"):
        for k in range(5):
            assert items[f"{name}-{k:03d}"].attempts == count // 5
    assert not list(tmp_path.glob("*.damaged-*"))
    assert not list(tmp_path.glob(".quiz_progress.json.*.tmp"))


def _entry(attempts: int, correct: int, day: str = "2024-04-01", box: int = 2) -> dict[str, object]:
    return {"attempts": attempts, "correct": correct, "last_result": "correct" if correct else "wrong",
            "last_answered": day, "box": box, "next_review": "2024-04-03"}


@pytest.mark.parametrize(
    ("bad", "reason"),
    [({"attempts": "many"}, "field 'box' is missing"),
     ({**_entry(1, 1), "box": 9}, "field 'box' is 9"),
     ({**_entry(1, 1), "next_review": "soon"}, "field 'next_review' is 'soon'"),
     ({**_entry(1, 1), "colour": "red"}, "field 'colour' is unknown"),
     ({**_entry(1, 1), "attempts": True}, "field 'attempts' is True"),
     ([1, 2], "the entry is list")],
    ids=["missing field", "box", "date", "unknown field", "bool count", "not an object"],
)
def test_one_bad_entry_drops_only_itself_and_names_item_and_field(
    tmp_path: Path, bad: object, reason: str
) -> None:
    path = tmp_path / "quiz_progress.json"
    original = json.dumps({"version": 1, "items": {"resnet-001": _entry(3, 2), "senet-002": bad,
                                                    "senet-003": _entry(1, 0, box=1)}})
    path.write_text(original, encoding="utf-8")
    messages = io.StringIO()
    store = ProgressStore(path, messages=messages)
    items = store.load()
    assert set(items) == {"resnet-001", "senet-003"} and items["resnet-001"].attempts == 3
    note = messages.getvalue()
    assert "1 damaged entry" in note and "the other 2 were kept" in note
    assert f"senet-002: {reason}" in note and "quiz --restore" in note
    aside = list(tmp_path.glob("quiz_progress.json.damaged-*"))
    assert len(aside) == 1 and aside[0].read_text(encoding="utf-8") == original  # the original, beside it
    assert set(json.loads(path.read_text(encoding="utf-8"))["items"]) == {"resnet-001", "senet-003"}
    messages.truncate(0)
    store.load()
    assert messages.getvalue() == ""  # salvaged once: the kept file is clean


def test_restore_merges_a_kept_file_back_without_losing_newer_answers(tmp_path: Path) -> None:
    path = tmp_path / "quiz_progress.json"
    path.write_bytes(b"\x00\xff garbage")
    store = ProgressStore(path, messages=io.StringIO())
    store.record("senet-001", True, DAY)  # the damaged file is moved aside, a fresh one started
    aside = store.moved_aside
    assert aside is not None
    # the learner repairs the kept file (here: writes what it held) and restores it
    aside.write_text(json.dumps({"version": 1, "items": {
        "resnet-001": _entry(4, 3), "senet-001": _entry(1, 0, box=1), "bad-1": {"box": 1}}}), encoding="utf-8")
    taken, dropped = store.restore(aside)
    assert taken == 1 and dropped == {"bad-1": "field 'attempts' is missing"}
    items = store.load()
    assert items["resnet-001"].attempts == 4
    assert items["senet-001"].attempts == 1 and items["senet-001"].correct == 1  # the newer answer stays
    assert list(tmp_path.glob("quiz_progress.json.before-restore-*"))  # the file before the merge is kept


def test_restore_of_an_unreadable_file_says_so(tmp_path: Path) -> None:
    store = ProgressStore(tmp_path / "quiz_progress.json")
    (tmp_path / "junk.json").write_bytes(b"\xff\xfe")
    with pytest.raises(CourseError, match="junk.json cannot be restored: it is not UTF-8"):
        store.restore(tmp_path / "junk.json")
    with pytest.raises(CourseError, match="Cannot read .*missing.json"):
        store.restore(tmp_path / "missing.json")
