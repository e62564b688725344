"""The command-line drill, review and mock exam, driven with piped answers; scores are checked exactly."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from cnncourse import cli
from cnncourse.quiz import cli as quiz_cli
from cnncourse.quiz.bank import Question, load_bank
from cnncourse.quiz.engine import pick_questions
from cnncourse.quiz.progress import ProgressStore

# The small bank (conftest): resnet-001 ○ right · resnet-002 choice 2 · resnet-003 choices 1+3 ·
# resnet-004 = 589824 · senet-001 × right · senet-002 choice 1.


def typed(question: Question, *, right: bool) -> str:
    """What a learner types to answer ``question`` (as shown, options shuffled) right or wrong."""
    key = sorted(question.correct_indices)
    if question.kind == "numeric":
        assert question.answer is not None
        return f"{question.answer + (0 if right else 1):,.0f}"
    if right:
        return ",".join(str(index + 1) for index in key)
    return str(next(index for index in range(len(question.options)) if index not in key) + 1)


def run_module(args: list[str], answers: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, "-m", "cnncourse", *args],
        input=answers,
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=env,
        timeout=timeout,
    )


def run_in_process(
    main: str,
    args: list[str],
    answers: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> str:
    monkeypatch.setattr(sys, "stdin", io.StringIO(answers))
    status = getattr(quiz_cli, main)(args)
    assert status == 0
    return capsys.readouterr().out


def test_scripted_drill_scores_exactly(small_bank: Path) -> None:
    # Options are shuffled per attempt, so the answers are typed for the order this seed shows.
    shown = quiz_cli.drill_questions(load_bank(directory=small_bank), None, 4)
    wrong = {"resnet-002", "senet-001"}
    lines = [typed(q, right=q.id not in wrong) for q in shown]
    lines.insert(1, "7")  # out of range: asked again with a hint
    done = run_module(
        ["quiz", "--bank-dir", str(small_bank), "--lang", "en", "--seed", "4"], "\n".join(lines) + "\n"
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Traceback" not in out + done.stderr
    assert "'7' is not an option number: type the option number" in out or "'7' is not True/False" in out
    assert f"[6/6] {shown[-1].id}" in out
    assert "Result: 4 / 6 correct (67%)" in out
    assert "ResNet" in out and " 3 / 4 " in out and " 1 / 2 " in out
    missed = out.split("Missed items:")[1]
    resnet_002 = next(q for q in shown if q.id == "resnet-002")
    key = min(resnet_002.correct_indices)
    assert f"resnet-002: {key + 1}. Choice 2 of resnet-002" in missed  # the key followed its option
    assert "senet-001: 2. False\n" in missed  # ○× keeps ○ first
    assert f"Correct answer: {key + 1}. Choice 2 of resnet-002" in out
    assert "Explanation of resnet-002" in out
    items = ProgressStore().load()
    assert {i: (e.attempts, e.correct) for i, e in items.items()} == {
        "resnet-001": (1, 1), "resnet-002": (1, 0), "resnet-003": (1, 1), "resnet-004": (1, 1),
        "senet-001": (1, 0), "senet-002": (1, 1),
    }
    assert "Progress saved to" in out


def test_feedback_follows_the_option_not_its_position(small_bank: Path) -> None:
    shown = quiz_cli.drill_questions(load_bank("resnet", directory=small_bank), None, 9)
    item = next(q for q in shown if q.id == "resnet-002")
    wrong_position = next(i for i in range(3) if i not in item.correct_indices)
    wrong_option = item.options[wrong_position]
    lines = ["o" if q.id != "resnet-002" else str(wrong_position + 1) for q in shown]
    out = run_module(
        ["quiz", "--bank-dir", str(small_bank), "--chapter", "resnet", "--lang", "en", "--seed", "9",
         "--no-save"],
        "\n".join(lines[: shown.index(item) + 1]) + "\n",
    ).stdout
    number = wrong_option.text.en.split()[1]  # "Choice N of resnet-002": its feedback names choice N
    assert f"{wrong_position + 1}. {wrong_option.text.en} — Feedback resnet-002 choice {number}" in out


def test_seeded_drill_is_repeatable_and_scored_exactly(
    small_bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The same seed shows the same items with the options in the same order.
    args = ["--bank-dir", str(small_bank), "--seed", "11", "--lang", "en", "--no-save"]
    first = run_in_process("quiz_main", args, "1\n" * 6, monkeypatch, capsys)
    again = run_in_process("quiz_main", args, "1\n" * 6, monkeypatch, capsys)
    assert first == again
    shown = quiz_cli.drill_questions(load_bank(directory=small_bank), None, 11)
    expected = sum(q.kind != "numeric" and q.correct_indices == {0} for q in shown)
    assert f"Result: {expected} / 6 correct" in first
    order = [line.split()[1] for line in first.splitlines() if line.startswith("[")]
    assert sorted(order) == sorted(q.id for q in load_bank(directory=small_bank))
    other = run_in_process("quiz_main", [*args[:3], "12", *args[4:]], "1\n" * 6, monkeypatch, capsys)
    other_orders = {tuple(line.split()[1] for line in other.splitlines() if line.startswith("["))}
    assert "Result: " in other
    assert ProgressStore().load() == {}  # --no-save
    assert other_orders  # parsed


def test_japanese_drill_with_n_and_eof(
    small_bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    out = run_in_process(
        "quiz_main",
        ["--bank-dir", str(small_bank), "--chapter", "senet", "--lang", "ja"],
        "×\n",
        monkeypatch,
        capsys,
    )
    assert "○×問題" in out and "回答> ×" in out  # piped answers are echoed
    assert "(入力が終わったので終了する)" in out
    assert "結果: 1 / 1 問正解 (100%)" in out
    assert list(ProgressStore().load()) == ["senet-001"]


def test_drills_are_mixed_in(
    small_bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # unseeded options are shuffled afresh; this test is about the drill, so keep the written order
    monkeypatch.setattr(quiz_cli, "shuffle_all_options", lambda questions, seed: list(questions))
    out = run_in_process(
        "quiz_main",
        ["--bank-dir", str(small_bank), "--chapter", "senet", "--drills", "1", "--lang", "en"],
        "x\n1\n0\n",
        monkeypatch,
        capsys,
    )
    assert "[3/3] drill-se_params-" in out
    assert "Result: 2 / 3 correct" in out
    assert any(item_id.startswith("drill-se_params-") for item_id in ProgressStore().missed_items())


def test_review_asks_only_missed_items_that_are_due(
    small_bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ProgressStore()
    args = ["--review", "--bank-dir", str(small_bank), "--lang", "en"]
    assert "You have not missed any item yet." in run_in_process("quiz_main", args, "", monkeypatch, capsys)

    today = dt.date.today()
    store.record("resnet-002", False, today - dt.timedelta(days=3))  # due two days ago
    store.record("senet-002", False, today)  # due tomorrow
    store.record("resnet-001", True, today - dt.timedelta(days=5))  # due, but never missed
    bank = {q.id: q for q in load_bank(directory=small_bank)}
    out = run_in_process("quiz_main", [*args, "--seed", "1"], typed(
        quiz_cli.drill_questions([bank["resnet-002"]], None, 1)[0], right=True) + "\n", monkeypatch, capsys)
    assert "Review: 1 missed item(s) due today" in out
    assert "[1/1] resnet-002" in out and "senet-002" not in out.split("Result")[0]
    assert "Result: 1 / 1 correct" in out
    # now nothing missed is due: the learner is told when the next review is
    out = run_in_process("quiz_main", args, "", monkeypatch, capsys)
    assert "No missed item is due for review today (2 missed" in out
    assert (today + dt.timedelta(days=1)).isoformat() in out
    shown = quiz_cli.drill_questions([bank["resnet-002"], bank["senet-002"]], None, None)
    assert [q.id for q in shown] == ["resnet-002", "senet-002"]
    # unseeded, the options are shuffled afresh: answer by text (the key of both is a known choice)
    monkeypatch.setattr(quiz_cli, "shuffle_all_options", lambda questions, seed: list(questions))
    out = run_in_process("quiz_main", [*args, "--all-missed"], "2\n1\n", monkeypatch, capsys)
    assert "Review: all 2 missed item(s), due or not" in out
    assert "[1/2] resnet-002" in out and "[2/2] senet-002" in out  # latest first, then by id
    assert "Result: 2 / 2 correct" in out


def test_list_shows_counts_and_progress(
    small_bank: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ProgressStore().record("senet-001", False, dt.date.today() - dt.timedelta(days=2))
    args = ["--list", "--bank-dir", str(small_bank), "--lang", "en"]
    out = run_in_process("quiz_main", args, "", monkeypatch, capsys)
    lines = [line.split() for line in out.splitlines()[1:] if line.startswith(("resnet", "senet"))]
    rows = {words[0]: words[1:6] for words in lines}
    assert rows == {"resnet": ["4", "1", "0", "0", "0"], "senet": ["2", "1", "1", "1", "1"]}
    assert "se_params" in out


def test_errors_are_messages_not_tracebacks(small_bank: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quiz", "--chapter", "resnt", "--bank-dir", str(small_bank)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Unknown chapter 'resnt'. Did you mean: resnet")
    assert cli.main(["quiz", "--all-missed", "--bank-dir", str(small_bank)]) == 2
    assert "--all-missed goes with --review" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:
        quiz_cli.exam_main(["--minutes", "0"])
    assert stopped.value.code == 2
    assert "more than 0 minutes" in capsys.readouterr().err


def test_scripted_mock_exam_scores_exactly(small_bank: Path) -> None:
    args = ["exam", "--bank-dir", str(small_bank), "--n", "6", "--seed", "3", "--lang", "en"]
    shown = quiz_cli.exam_questions(load_bank(directory=small_bank), [], 6, 3)
    right = {"resnet-001", "senet-002"}
    done = run_module(args, "".join(typed(q, right=q.id in right) + "\n" for q in shown))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    before_result, after = out.split("Mock exam result:")
    assert "✓" not in before_result and "✗" not in before_result and "Explanation" not in before_result
    assert "time left 4" in before_result  # 45 minutes, counting down
    assert after.startswith(" 2 / 6 correct (33%), 0 not answered")
    assert " 1 / 4 " in after and " 1 / 2 " in after  # ResNet, SENet
    missed = after.split("Missed items:")[1]
    for item_id in ("resnet-002", "resnet-003", "resnet-004", "senet-001"):
        assert item_id in missed
    assert "resnet-001 ·" not in missed and "senet-002 ·" not in missed
    assert "Explanation of resnet-004" in missed and "Correct answer: 589,824 parameters" in missed
    items = ProgressStore().load()
    assert sum(e.correct for e in items.values()) == 2 and len(items) == 6


def fake_clock(times: list[float]) -> Iterator[float]:
    yield from times
    while True:
        yield times[-1]


def test_answers_after_the_time_limit_are_not_counted(small_bank: Path) -> None:
    questions = load_bank("resnet", directory=small_bank)
    # start 0 · q1 shown at 5, answered at 30 (counted) · q2 shown at 40, answered at 61 > 60 s: not counted
    ticks = fake_clock([0.0, 5.0, 30.0, 40.0, 61.0])
    output = io.StringIO()
    outcome = quiz_cli.run_exam(
        questions,
        lang="en",
        minutes=1,
        input_stream=io.StringIO("o\n2\n1,3\n589824\n"),
        output=output,
        store=ProgressStore(),
        clock=lambda: next(ticks),
    )
    text = output.getvalue()
    assert list(outcome.results) == ["resnet-001"]
    assert outcome.score.correct == 1 and outcome.unanswered == 3
    assert "Time is up. This answer and the remaining questions are not counted." in text
    assert "Mock exam result: 1 / 4 correct (25%), 3 not answered, time taken 01:00" in text
    assert "(time left 00:55)" in text and "(time left 00:20)" in text
    assert list(ProgressStore().load()) == ["resnet-001"]  # only answers given in time are recorded
    assert text.count("Your answer: not answered") == 3


def test_exam_without_time_left_asks_nothing(small_bank: Path) -> None:
    ticks = fake_clock([0.0, 120.0])
    output = io.StringIO()
    outcome = quiz_cli.run_exam(
        load_bank("senet", directory=small_bank), lang="ja", minutes=1, input_stream=io.StringIO("1\n1\n"),
        output=output, store=None, clock=lambda: next(ticks),
    )
    assert outcome.results == {} and "時間切れである" in output.getvalue()
    assert "模擬試験の結果: 0 / 2 問正解 (0%)、未回答 2 問" in output.getvalue()


class _InterruptedInput(io.StringIO):
    """Answers the first line, then behaves as if the learner pressed Ctrl-C."""

    def __init__(self, first_line: str) -> None:
        super().__init__(first_line)
        self.calls = 0

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        self.calls += 1
        if self.calls > 1:
            raise KeyboardInterrupt
        return super().readline()


def test_ctrl_c_hands_the_exam_in(small_bank: Path) -> None:
    output = io.StringIO()
    outcome = quiz_cli.run_exam(
        load_bank("resnet", directory=small_bank), lang="en", minutes=45, input_stream=_InterruptedInput("o\n"),
        output=output, store=ProgressStore(),
    )
    assert list(outcome.results) == ["resnet-001"] and outcome.unanswered == 3
    assert "(interrupted: here is the result so far)" in output.getvalue()
    assert "Mock exam result: 1 / 4 correct (25%), 3 not answered" in output.getvalue()
    assert list(ProgressStore().load()) == ["resnet-001"]  # what was answered is saved


# ------------------------------------------------------------------ progress that survives anything


@pytest.mark.parametrize("mode", [[], ["--list"], ["--review"]], ids=["drill", "list", "review"])
def test_a_progress_file_of_invalid_utf8_is_moved_aside_not_a_crash(small_bank: Path, mode: list[str]) -> None:
    path = ProgressStore().path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\xff garbage")
    done = run_module(["quiz", "--bank-dir", str(small_bank), "--lang", "en", *mode], "")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "was damaged (not UTF-8 text" in done.stderr and "moved to" in done.stderr
    kept = list(path.parent.glob("quiz_progress.json.damaged-*"))
    assert len(kept) == 1 and kept[0].read_bytes() == b"\x00\xff garbage"
    assert f"quiz --restore {kept[0]}" in done.stderr


def test_restore_from_the_command_line_merges_the_kept_answers(small_bank: Path) -> None:
    store = ProgressStore()
    store.record("senet-001", True)
    backup = store.path.with_name("backup.json")
    backup.write_text(json.dumps({"version": 1, "items": {
        "resnet-001": {"attempts": 2, "correct": 1, "last_result": "wrong", "last_answered": "2026-01-01",
                       "box": 1, "next_review": "2026-01-02"},
        "resnet-002": {"attempts": 0}}}), encoding="utf-8")
    done = run_module(["quiz", "--restore", str(backup), "--lang", "en"], "")
    assert done.returncode == 0, done.stderr
    assert f"Restored 1 item(s) from {backup}" in done.stdout
    assert "resnet-002: field 'box' is missing" in done.stdout
    assert set(ProgressStore().load()) == {"resnet-001", "senet-001"}


def test_a_drill_resumes_with_unseen_items_then_due_ones(small_bank: Path) -> None:
    bank = load_bank(directory=small_bank)
    today = dt.date(2026, 3, 1)
    store = ProgressStore()
    store.record("resnet-001", True, today - dt.timedelta(days=10))  # due again (box 2: 2 days)
    store.record("resnet-002", True, today)  # answered today: not due
    order = [q.id for q in quiz_cli.resume_order(bank, store.load(), today)]
    assert order == ["resnet-003", "resnet-004", "senet-001", "senet-002", "resnet-001", "resnet-002"]
    picked = quiz_cli.resume_order(bank, store.load(), today, n=5, seed=1)
    assert {q.id for q in picked[:4]} == {"resnet-003", "resnet-004", "senet-001", "senet-002"}
    assert picked[4].id == "resnet-001"


def test_exam_answers_are_saved_as_they_are_given(small_bank: Path) -> None:
    """Closing the terminal mid-exam (the process is killed) keeps every answer given so far."""
    shown = quiz_cli.exam_questions(load_bank(directory=small_bank), [], 6, 5)
    process = subprocess.Popen(
        [sys.executable, "-m", "cnncourse", "exam", "--bank-dir", str(small_bank), "--n", "6", "--seed", "5",
         "--lang", "en"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    assert process.stdin is not None
    try:
        for question in shown[:4]:
            process.stdin.write((typed(question, right=True) + "\n").encode())
        process.stdin.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(ProgressStore().load()) < 4:
            time.sleep(0.1)
    finally:
        process.kill()  # SIGKILL: nothing runs after this, as when a terminal is closed
        process.wait()
    assert set(ProgressStore().load()) == {q.id for q in shown[:4]}


@pytest.mark.skipif(os.name == "nt", reason="pseudo-terminals are POSIX")
def test_the_time_limit_ends_the_exam_while_the_prompt_waits(small_bank: Path) -> None:
    import pty

    primary, secondary = pty.openpty()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "cnncourse", "exam", "--bank-dir", str(small_bank), "--n", "3",
         "--minutes", "0.03", "--lang", "en"],
        stdin=secondary, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    os.close(secondary)
    try:
        out, err = process.communicate(timeout=60)  # nobody types anything
    finally:
        os.close(primary)
    assert process.returncode == 0, err
    assert "Time is up" in out.decode() and "0 / 3 correct" in out.decode() and "3 not answered" in out.decode()
    assert time.monotonic() - started < 30
