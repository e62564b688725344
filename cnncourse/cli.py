"""The command line: ``python -m cnncourse COMMAND [options]``.

Each command lives in the module that owns its concern and exposes ``main(argv: list[str]) -> int``;
this file only dispatches, so importing it stays cheap (no torch until a command needs it).
Errors derived from :class:`cnncourse.errors.CourseError` are printed as a message, never a traceback.
"""

from __future__ import annotations

import importlib
import sys

from cnncourse.errors import CourseError, UnknownNameError

#: command -> (module, function, one-line help)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "doctor": ("cnncourse.doctor", "main", "check the environment and say what to fix"),
    "train": ("cnncourse.train_cli", "main", "train a model and write a checkpoint"),
    "checkpoints": ("cnncourse.pretrained", "main", "list and verify the reference checkpoints"),
    "references": ("cnncourse.references", "main", "which reference checkpoints the chapters still lack; train them"),
    "quiz": ("cnncourse.quiz.cli", "quiz_main", "drill a chapter's quiz or review missed items"),
    "exam": ("cnncourse.quiz.cli", "exam_main", "take a timed mock exam across chapters"),
    "assign": ("cnncourse.check.assign", "main", "make student exercise notebooks from solutions"),
    "grade": ("cnncourse.check.grade", "main", "grade a folder of submitted notebooks into a table"),
}


def usage() -> str:
    width = max(map(len, COMMANDS))
    lines = ["usage: python -m cnncourse COMMAND [options]", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {help_}" for name, (_, _, help_) in COMMANDS.items()]
    lines += ["", "Run 'python -m cnncourse COMMAND --help' for a command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print(usage())
        return 0
    command, rest = argv[0], argv[1:]
    try:
        if command not in COMMANDS:
            raise UnknownNameError("command", command, COMMANDS, "Run 'python -m cnncourse --help' to see them all.")
        module_name, function_name, _ = COMMANDS[command]
        function = getattr(importlib.import_module(module_name), function_name)
        return int(function(rest) or 0)
    except CourseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into a program that stopped reading (e.g. `| head`)
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
