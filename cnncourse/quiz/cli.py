"""``python -m cnncourse quiz`` (drill, review, list) and ``python -m cnncourse exam`` (timed mock exam).

Both read answers line by line from standard input, so they work in a terminal and with piped input
(``printf '1\\n2\\n' | python -m cnncourse quiz --chapter resnet --seed 1``). A badly formed answer is asked
again with a hint; the end of the input stops the drill and shows the score so far. Every answer is
recorded in the progress file (see :mod:`cnncourse.quiz.progress`) unless ``--no-save`` is given.

The drill shows feedback and the explanation after each answer. The mock exam, like the real E資格,
gives no feedback until the end; answers typed after the time limit are not counted; the end shows
the score per chapter and every missed item with its correct answer and explanation.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import select
import sys
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from cnncourse.errors import CourseError
from cnncourse.quiz.bank import (
    COURSE_CHAPTERS,
    LANGUAGES,
    Question,
    chapter_title,
    chapters,
    load_bank,
    summarize,
)
from cnncourse.quiz.engine import (
    AnswerFormatError,
    Result,
    Score,
    check_answer,
    correct_answer_text,
    message,
    parse_answer,
    pick_exam_questions,
    pick_questions,
    question_text,
    result_text,
    shuffle_all_options,
)
from cnncourse.quiz.progress import ItemProgress, ProgressStore

_TEXT: dict[str, dict[str, str]] = {
    "ja": {
        "prompt": "回答> ",
        "eof": "(入力が終わったので終了する)",
        "interrupted": "(中断した。ここまでの結果を表示する)",
        "summary": "結果: {correct} / {answered} 問正解 ({percent:.0f}%)",
        "by_chapter": "章ごとの得点:",
        "missed": "間違えた問題:",
        "saved": "進捗を {path} に保存した。",
        "no_questions": "出題できる問題がない。",
        "no_missed": "まだ間違えた問題はない。",
        "none_due": "今日復習する問題はない (間違えた問題 {count} 問、次の復習日は {date})。"
        "今すぐ解くには --review --all-missed を付ける。",
        "review_intro": "復習: 間違えた問題のうち今日が復習日のもの {count} 問",
        "review_all": "復習: これまでに間違えた問題 {count} 問 (復習日に関係なく出題)",
        "exam_intro": "模擬試験: {n} 問、制限時間 {minutes} 分。答え合わせは最後にまとめて行う。",
        "time_left": "残り時間 {clock}",
        "time_up": "時間切れである。この回答と残りの問題は採点しない。",
        "exam_summary": "模擬試験の結果: {correct} / {total} 問正解 ({percent:.0f}%)、未回答 {unanswered} 問、所要時間 {clock}",
        "list_header": "章              問題数  誤解対策  回答済  間違い  復習待ち",
        "drills": "数値ドリル (--drills N で混ぜる): {kinds}",
        "restored": "{source} から {count} 問分の記録を {path} に戻した (新しい回答はそのまま残る)。",
    },
    "en": {
        "prompt": "answer> ",
        "eof": "(end of input: stopping here)",
        "interrupted": "(interrupted: here is the result so far)",
        "summary": "Result: {correct} / {answered} correct ({percent:.0f}%)",
        "by_chapter": "Score per chapter:",
        "missed": "Missed items:",
        "saved": "Progress saved to {path}.",
        "no_questions": "There are no questions to ask.",
        "no_missed": "You have not missed any item yet.",
        "none_due": "No missed item is due for review today ({count} missed, next review on {date}). "
        "Add --all-missed to drill them now.",
        "review_intro": "Review: {count} missed item(s) due today",
        "review_all": "Review: all {count} missed item(s), due or not",
        "exam_intro": "Mock exam: {n} questions, {minutes} minutes. Answers are checked at the end.",
        "time_left": "time left {clock}",
        "time_up": "Time is up. This answer and the remaining questions are not counted.",
        "exam_summary": "Mock exam result: {correct} / {total} correct ({percent:.0f}%), "
        "{unanswered} not answered, "
        "time taken {clock}",
        "list_header": "chapter         items  misconc.  answered  missed  due",
        "drills": "numeric drills (mix in with --drills N): {kinds}",
        "restored": "Restored {count} item(s) from {source} into {path} (newer answers were kept).",
    },
}


def _text(key: str, lang: str) -> str:
    return _TEXT[lang][key]


class _EndOfInput(Exception):
    """Standard input is exhausted: stop asking and show the score so far."""


class _TimeUp(Exception):
    """The mock exam's time ran out while a prompt was waiting for an answer."""


def _readline(input_stream: TextIO, seconds_left: Callable[[], float] | None) -> str:
    """One line of input; with ``seconds_left``, give up (``_TimeUp``) when a terminal stays silent that long.

    Only a terminal is waited on with ``select``: in canonical mode it hands over one line per read, so
    nothing typed can sit unseen in Python's buffer. Piped input and Windows consoles are read as usual,
    and the answer is then refused if it came after the bell.
    """
    if seconds_left is not None and os.name != "nt" and _is_terminal(input_stream):
        try:
            ready, _, _ = select.select([input_stream], [], [], max(0.0, seconds_left()))
        except (OSError, ValueError):  # not selectable after all: read as usual
            ready = [input_stream]
        if not ready:
            raise _TimeUp
    return input_stream.readline()


def _ask(
    question: Question,
    lang: str,
    input_stream: TextIO,
    output: TextIO,
    deadline: Callable[[], float] | None = None,
) -> Result:
    """Read lines until one is a well-formed answer; re-ask with a hint on a bad one.

    ``deadline`` returns the seconds left (mock exam); the prompt stops waiting when they run out.
    """
    while True:
        output.write(_text("prompt", lang))
        output.flush()
        line = _readline(input_stream, deadline)
        if not line:
            output.write("\n")
            raise _EndOfInput
        if not _is_terminal(input_stream):  # piped answers are echoed so a transcript reads like a session
            output.write(line.rstrip("\r\n") + "\n")
        try:
            return check_answer(question, parse_answer(question, line, lang))
        except AnswerFormatError as hint:
            print(f"  → {hint}", file=output)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _format_clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _pad(text: str, width: int) -> str:
    """Left-align ``text`` in ``width`` terminal columns (Japanese characters take two columns)."""
    columns = sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)
    return text + " " * max(0, width - columns)


def _print_chapter_table(
    score: Score, lang: str, output: TextIO, asked: dict[str, int] | None = None
) -> None:
    """Correct / asked and percent per chapter; ``asked`` (exam) counts unanswered questions too."""
    print(_text("by_chapter", lang), file=output)
    names = score.chapters_in_course_order()
    if asked is not None:  # chapters asked but never answered in time are listed too, in course order
        known = set(names) | set(asked)
        names = [c for c in COURSE_CHAPTERS if c in known] + sorted(known - set(COURSE_CHAPTERS))
    for chapter in names:
        entry = score.by_chapter.get(chapter)
        correct = entry.correct if entry else 0
        total = asked[chapter] if asked is not None else (entry.answered if entry else 0)
        percent = 100.0 * correct / total if total else 0.0
        title = _pad(chapter_title(chapter, lang), 34)
        print(f"  {title} {correct:>3} / {total:<3} {percent:5.0f}%", file=output)


def run_drill(
    questions: Sequence[Question],
    *,
    lang: str,
    input_stream: TextIO,
    output: TextIO,
    store: ProgressStore | None,
) -> Score:
    """Ask each question, show feedback and explanation, then the score; returns the score."""
    score = Score()
    results: list[Result] = []
    try:
        for number, question in enumerate(questions, start=1):
            print(file=output)
            print(question_text(question, lang, number=number, total=len(questions), color=_is_terminal(output)),
                  file=output)
            result = _ask(question, lang, input_stream, output)
            score.record(result)
            results.append(result)
            # Saved after every answer so an interrupted drill keeps what was answered.
            if store is not None:
                store.record(question.id, result.correct)
            print(result_text(result, lang), file=output)
    except _EndOfInput:
        print(_text("eof", lang), file=output)
    except KeyboardInterrupt:  # Ctrl-C ends the drill like the end of input: the score so far is shown
        print(file=output)
        print(_text("interrupted", lang), file=output)
    print(file=output)
    summary = _text("summary", lang)
    print(summary.format(correct=score.correct, answered=score.answered, percent=score.percent), file=output)
    if score.answered:
        _print_chapter_table(score, lang, output)
    if score.missed:
        print(_text("missed", lang), file=output)
        for question in score.missed:
            print(f"  {question.id}: {correct_answer_text(question, lang)}", file=output)
    if store is not None and results:
        print(_text("saved", lang).format(path=store.path), file=output)
    return score


@dataclass
class ExamOutcome:
    """What a mock exam produced: the score of answers given in time and the answers themselves."""

    questions: list[Question]
    score: Score
    results: dict[str, Result] = field(default_factory=dict)
    elapsed_seconds: float = 0.0

    @property
    def unanswered(self) -> int:
        return len(self.questions) - len(self.results)


def run_exam(
    questions: Sequence[Question],
    *,
    lang: str,
    minutes: float,
    input_stream: TextIO,
    output: TextIO,
    store: ProgressStore | None,
    clock: Callable[[], float] = time.monotonic,
) -> ExamOutcome:
    """Ask every question without feedback under a time limit; then score per chapter and list the misses.

    ``clock`` returns seconds (``time.monotonic``); tests pass a fake clock to reach the limit instantly.
    """
    questions = list(questions)
    outcome = ExamOutcome(questions, Score())
    limit = minutes * 60.0
    start = clock()
    print(_text("exam_intro", lang).format(n=len(questions), minutes=f"{minutes:g}"), file=output)
    try:
        for number, question in enumerate(questions, start=1):
            left = limit - (clock() - start)
            if left <= 0:
                print(_text("time_up", lang), file=output)
                break
            print(file=output)
            print(f"({_text('time_left', lang).format(clock=_format_clock(left))})", file=output)
            print(question_text(question, lang, number=number, total=len(questions), color=_is_terminal(output)),
                  file=output)
            result = _ask(question, lang, input_stream, output, deadline=lambda: limit - (clock() - start))
            if clock() - start > limit:  # typed after the bell: not counted
                print(_text("time_up", lang), file=output)
                break
            outcome.results[question.id] = result
            outcome.score.record(result)
            # saved as it is given: closing the terminal mid-exam keeps every answer so far
            if store is not None:
                store.record(question.id, result.correct)
    except _TimeUp:
        print(file=output)
        print(_text("time_up", lang), file=output)
    except _EndOfInput:
        print(_text("eof", lang), file=output)
    except KeyboardInterrupt:  # Ctrl-C hands the exam in: what was answered is scored and saved
        print(file=output)
        print(_text("interrupted", lang), file=output)
    outcome.elapsed_seconds = min(clock() - start, limit)

    score = outcome.score
    total = len(questions)
    print(file=output)
    print(
        _text("exam_summary", lang).format(
            correct=score.correct,
            total=total,
            percent=100.0 * score.correct / total if total else 0.0,
            unanswered=outcome.unanswered,
            clock=_format_clock(outcome.elapsed_seconds),
        ),
        file=output,
    )
    asked: dict[str, int] = {}
    for question in questions:
        asked[question.chapter] = asked.get(question.chapter, 0) + 1
    _print_chapter_table(score, lang, output, asked=asked)
    missed = [q for q in questions if q.id not in outcome.results or not outcome.results[q.id].correct]
    if missed:
        print(file=output)
        print(_text("missed", lang), file=output)
        for question in missed:
            print(file=output)
            print(question_text(question, lang, color=_is_terminal(output)), file=output)
            result = outcome.results.get(question.id)
            if result is None:
                print(f"{message('your_answer', lang)}: {message('not_answered', lang)}", file=output)
                answer = correct_answer_text(question, lang)
                print(f"{message('correct_answer', lang)}: {answer}", file=output)
                print(f"{message('explanation', lang)}: {question.explanation.get(lang)}", file=output)
                print(f"{message('references', lang)}: " + "; ".join(question.references), file=output)
            else:
                print(result_text(result, lang), file=output)
    print(file=output)
    if store is not None and outcome.results:
        print(_text("saved", lang).format(path=store.path), file=output)
    return outcome


# ---------------------------------------------------------------------------------------------- commands
def _chapter_list(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    return [name.strip() for value in values for name in value.split(",") if name.strip()]


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {value}")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected 0 or more, got {value}")
    return value


def _positive_minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes as a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected more than 0 minutes, got {text}")
    return value


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lang", choices=LANGUAGES, default="ja", help="language of questions and feedback (default ja)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="shuffle with this seed (the same seed asks the same items with the options in the same order)",
    )
    parser.add_argument(
        "--chapter",
        action="append",
        metavar="CHAPTER",
        help="chapter slug, e.g. resnet (repeat or separate with commas; default: every chapter)",
    )
    parser.add_argument(
        "--drills", type=_non_negative_int, default=0, metavar="N", help="mix in N generated numeric drills"
    )
    parser.add_argument(
        "--bank-dir", type=Path, default=None, help="use the question files in this folder instead"
    )
    parser.add_argument("--no-save", action="store_true", help="do not record answers in the progress file")


def _drills_for(chapter_names: list[str] | None, count: int, seed: int | None) -> list[Question]:
    if count == 0:
        return []
    from cnncourse.quiz.generators import drill_kinds, generate_drills

    kinds = [kind for chapter in chapter_names or [] for kind in drill_kinds(chapter)] or drill_kinds()
    return generate_drills(count, seed, kinds)


def _configure_streams() -> None:
    # A console that cannot print ○/× (an old Windows code page) gets '?' rather than a traceback.
    for stream in (sys.stdout, sys.stdin):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def quiz_main(argv: list[str]) -> int:
    """``python -m cnncourse quiz``: drill a chapter, review missed items, or list the chapters."""
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse quiz",
        description="Drill the misconception quizzes with feedback after every answer. "
        "Answers are read from standard input (they can be piped).",
    )
    _add_common_options(parser)
    parser.add_argument(
        "--n", type=_positive_int, default=None, help="ask at most N questions (picked at random)"
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--review", action="store_true", help="drill the missed items that are due for review today"
    )
    mode.add_argument("--list", action="store_true", help="list the chapters with their number of questions")
    mode.add_argument(
        "--restore",
        type=Path,
        metavar="FILE",
        help="merge the answers kept in FILE (a damaged-… or backed-up progress file) back into your progress",
    )
    parser.add_argument(
        "--all-missed", action="store_true", help="with --review: every missed item, due or not"
    )
    args = parser.parse_args(argv)
    _configure_streams()
    lang: str = args.lang
    chapter_names = _chapter_list(args.chapter)
    store = None if args.no_save else ProgressStore()

    if args.list:
        _list_chapters(args.bank_dir, lang, store)
        return 0
    if args.restore is not None:
        target = store or ProgressStore()
        taken, dropped = target.restore(args.restore)
        print(_text("restored", lang).format(count=taken, source=args.restore, path=target.path))
        for item_id, reason in dropped.items():
            print(f"  {item_id}: {reason}")
        return 0
    bank = load_bank(chapter_names, directory=args.bank_dir)
    if args.review:
        questions = _review_questions(bank, chapter_names, store or ProgressStore(), lang, args.all_missed)
        if questions is None:
            return 0
        questions = pick_questions(questions, args.n, args.seed)
    else:
        if args.all_missed:
            raise CourseError(
                "--all-missed goes with --review (python -m cnncourse quiz --review --all-missed)."
            )
        progress = store.load() if store is not None else {}
        questions = resume_order(bank, progress, dt.date.today(), args.n, args.seed)
        questions += _drills_for(chapter_names, args.drills, args.seed)
    if not questions:
        print(_text("no_questions", lang))
        return 0
    questions = shuffle_all_options(questions, args.seed)  # the key's position is never a cue
    run_drill(questions, lang=lang, input_stream=sys.stdin, output=sys.stdout, store=store)
    return 0


def resume_order(
    bank: Sequence[Question],
    progress: Mapping[str, ItemProgress],
    today: dt.date,
    n: int | None = None,
    seed: int | None = None,
) -> list[Question]:
    """A drill that resumes where the learner left off: unseen items first, then those due for review,
    then the rest; within each group the bank's order (or a seeded shuffle with ``n`` / ``seed``)."""
    ordered = pick_questions(bank, None, seed) if (n is not None or seed is not None) else list(bank)

    def group(question: Question) -> int:
        entry = progress.get(question.id)
        if entry is None:
            return 0
        return 1 if entry.next_review <= today else 2

    ordered.sort(key=group)  # stable: the order inside each group is kept
    return ordered[:n] if n is not None else ordered


def _review_questions(
    bank: list[Question], chapter_names: list[str] | None, store: ProgressStore, lang: str, all_missed: bool
) -> list[Question] | None:
    from cnncourse.quiz import generators

    by_id = {question.id: question for question in bank}
    missed_ids = store.missed_items()
    wanted_ids = missed_ids if all_missed else store.due_items(dt.date.today(), missed_only=True)
    questions = []
    for item_id in wanted_ids:
        question = by_id.get(item_id)
        if question is None and item_id.startswith("drill-"):
            question = generators.question_from_id(item_id)
            if question is not None and chapter_names and question.chapter not in chapter_names:
                question = None
        if question is not None:  # items removed from the bank since are skipped
            questions.append(question)
    if questions:
        print(_text("review_all" if all_missed else "review_intro", lang).format(count=len(questions)))
        return questions
    relevant = [i for i in missed_ids if i in by_id or i.startswith("drill-")]
    if not relevant:
        print(_text("no_missed", lang))
    else:
        next_date = store.next_due_date(missed_only=True)
        date = next_date.isoformat() if next_date else "-"
        print(_text("none_due", lang).format(count=len(relevant), date=date))
    return None


def _list_chapters(bank_dir: Path | None, lang: str, store: ProgressStore | None) -> None:
    progress = store.load() if store is not None else {}
    today = dt.date.today()
    print(_text("list_header", lang))
    for summary in summarize(load_bank(chapters(directory=bank_dir), directory=bank_dir)):
        ids = [q.id for q in load_bank(summary.chapter, directory=bank_dir)]
        answered = sum(item_id in progress for item_id in ids)
        missed = sum(item_id in progress and progress[item_id].wrong > 0 for item_id in ids)
        due = sum(
            item_id in progress and progress[item_id].wrong > 0 and progress[item_id].next_review <= today
            for item_id in ids
        )
        print(
            f"{summary.chapter:<15} {summary.total:>5}  {summary.misconception:>8}  {answered:>8}  "
            f"{missed:>6}  {due:>3}"
            f"   {chapter_title(summary.chapter, lang)}"
        )
    from cnncourse.quiz.generators import drill_kinds

    print(_text("drills", lang).format(kinds=", ".join(drill_kinds())))


def drill_questions(
    bank: Sequence[Question],
    n: int | None,
    seed: int | None,
    progress: Mapping[str, ItemProgress] | None = None,
    today: dt.date | None = None,
) -> list[Question]:
    """The items of a drill as ``quiz`` shows them: resumed (see :func:`resume_order`), options shuffled."""
    ordered = resume_order(bank, progress or {}, today or dt.date.today(), n, seed)
    return shuffle_all_options(ordered, seed)


def exam_questions(
    bank: Sequence[Question], drills: Sequence[Question], n: int, seed: int | None
) -> list[Question]:
    """A mock exam's questions as they are shown: ``n`` in all (drills included), options shuffled."""
    bank_count = n - len(drills)
    questions = pick_exam_questions(bank, bank_count, seed) if bank_count else []
    questions += drills
    random.Random(seed).shuffle(questions)  # drills are spread through the exam, not left at the end
    return shuffle_all_options(questions, seed)


def exam_main(argv: list[str]) -> int:
    """``python -m cnncourse exam``: a timed mock exam across chapters, scored per chapter at the end."""
    parser = argparse.ArgumentParser(
        prog="python -m cnncourse exam",
        description="A timed mock exam across chapters: no feedback until the end, answers after the time "
        "limit are not counted, then the score per chapter and every missed item with its explanation.",
    )
    _add_common_options(parser)
    parser.add_argument("--n", type=_positive_int, default=30, help="number of questions (default 30)")
    parser.add_argument(
        "--minutes", type=_positive_minutes, default=45.0, help="time limit in minutes (default 45)"
    )
    args = parser.parse_args(argv)
    _configure_streams()
    chapter_names = _chapter_list(args.chapter)
    bank = load_bank(chapter_names, directory=args.bank_dir)
    drills = _drills_for(chapter_names, min(args.drills, args.n), args.seed)
    questions = exam_questions(bank, drills, args.n, args.seed)
    if not questions:
        print(_text("no_questions", args.lang))
        return 0
    run_exam(
        questions,
        lang=args.lang,
        minutes=args.minutes,
        input_stream=sys.stdin,
        output=sys.stdout,
        store=None if args.no_save else ProgressStore(),
    )
    return 0


__all__ = [
    "ExamOutcome",
    "drill_questions",
    "exam_main",
    "exam_questions",
    "quiz_main",
    "resume_order",
    "run_drill",
    "run_exam",
]
