"""Show the snippet of a code-completion item (穴埋め) with syntax highlighting, in HTML or a terminal.

Pygments does the highlighting (it ships with IPython, so every notebook front end has it); without it
the snippet is shown plain. The blank ``____`` is marked so that it stands out in both renderings.
"""

from __future__ import annotations

import html

from cnncourse.quiz.bank import CODE_BLANK

#: How the blank is shown: a placeholder that survives highlighting, replaced afterwards.
_PLACEHOLDER = "__BLANK__"
_BLANK_HTML = (
    "<span style='background:#fff3bf;border:1px dashed #e67700;padding:0 .6em;font-weight:bold'>(　?　)</span>"
)
_BLANK_ANSI = "\x1b[1;30;43m ( ? ) \x1b[0m"
_BLANK_PLAIN = "( ? )"


def code_html(code: str) -> str:
    """The snippet as a highlighted ``<pre>`` block with inline styles (no stylesheet needed)."""
    source = code.replace(CODE_BLANK, _PLACEHOLDER)
    try:
        from pygments import highlight
        from pygments.formatters import HtmlFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pragma: no cover - pygments comes with IPython
        body = f"<pre>{html.escape(source)}</pre>"
    else:
        body = highlight(source, PythonLexer(), HtmlFormatter(noclasses=True, nobackground=False))
    return f"<div class='cnncourse-code' style='font-size:.95em'>{body.replace(_PLACEHOLDER, _BLANK_HTML)}</div>"


def code_terminal(code: str, *, color: bool) -> str:
    """The snippet for a terminal: highlighted with ANSI colours when ``color``, plain otherwise."""
    source = code.replace(CODE_BLANK, _PLACEHOLDER)
    if color:
        try:
            from pygments import highlight
            from pygments.formatters import TerminalFormatter
            from pygments.lexers import PythonLexer
        except ImportError:  # pragma: no cover
            color = False
        else:
            text = highlight(source, PythonLexer(), TerminalFormatter())
            return _indent(text.replace(_PLACEHOLDER, _BLANK_ANSI))
    return _indent(source.replace(_PLACEHOLDER, _BLANK_PLAIN))


def _indent(text: str) -> str:
    return "\n".join("    " + line if line.strip() else "" for line in text.rstrip("\n").splitlines())


__all__ = ["code_html", "code_terminal"]
