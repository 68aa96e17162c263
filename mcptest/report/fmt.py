"""Formatting helpers shared by the report writers (jinja2 filters and plain functions).

They turn numbers already in the run record into text; none of them derives a new number. Percentages and
deltas are floored to one decimal everywhere (``mcptest.display``); the JSON record keeps exact values.
"""

from __future__ import annotations

import html
import re

from markupsafe import Markup

# Percentages and deltas: the one rounding rule of every writer lives in mcptest.display (the core uses it
# too, without importing the report package); the templates' filters are these same functions.
from mcptest.display import delta as delta
from mcptest.display import delta_dir as delta_dir
from mcptest.display import drop as drop
from mcptest.display import floor1 as floor1
from mcptest.display import num1 as num1
from mcptest.display import pct as pct
from mcptest.display import ranges as ranges
from mcptest.textsafe import clean


def arrow(value: float | None) -> str:
    return {"up": "▲", "down": "▼", "flat": "", "none": ""}[delta_dir(value)]


def duration(seconds: float | None) -> str:
    """``340 ms``, ``12.4 s`` or ``4 m 05 s``."""
    if seconds is None:
        return "n/a"
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes} m {secs:02d} s"


def sort_key(value: float | None) -> str:
    """A value for the ``data-v`` attribute that the sort script reads (absent numbers sort first)."""
    return "-1" if value is None else repr(float(value))


def first_line(text: str | None, limit: int = 200) -> str:
    """The first non-empty line of ``text``, cut at ``limit`` characters."""
    if not text:
        return ""
    for line in text.splitlines():
        if line.strip():
            line = line.strip()
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def strip_ansi(text: str) -> str:
    """Multi-line foreign text (pytest's output) without terminal control sequences and control characters.

    Colour codes are noise in a report, and the rest (cursor moves, titles, hyperlinks) must not reach
    a terminal that shows the report; tabs and line breaks stay. See ``mcptest.textsafe.clean``.
    """
    return clean(text, multiline=True)


class Cleaned(Markup):
    """Markup whose text was cleaned when it was built (the source rows, the inlined assets): ``safe_value``
    passes it as it is, instead of scanning a whole table or stylesheet again on every page."""

    __slots__ = ()


def safe_value(value: object) -> object:
    """The ``finalize`` of the report templates: every string shown is cleaned (multi-line allowed).

    Applied to every ``{{ ... }}`` before autoescape. Markup (already escaped, or our own assets)
    stays Markup: removing control characters from escaped HTML cannot create a tag or an entity.
    """
    if not isinstance(value, str) or isinstance(value, Cleaned):
        return value
    cleaned = clean(value, multiline=True)
    if cleaned is value:
        return value
    return Markup(cleaned) if isinstance(value, Markup) else cleaned


# Markdown (GitHub-flavoured) escaping for pull-request comments and step summaries.
# Every ASCII punctuation character may be backslash-escaped in CommonMark; we escape the ones that
# start markup, links, emphasis, tables or headings. <, > and & become HTML entities so no tag survives.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def md_text(value: object) -> Markup:
    """Untrusted text as inert Markdown on one line: no tags, links, emphasis, table breaks or mentions."""
    text = " ".join(clean(value).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = html.escape(text, quote=False)
    # "@name" would notify a GitHub user; a zero-width joiner after @ keeps the text but breaks the mention.
    text = text.replace("@", "@\u200d")
    return Markup(text)


def md_code(value: object) -> Markup:
    """Untrusted text as a Markdown code span: shown literally, HTML and mentions inert, safe in tables."""
    text = " ".join(clean(value).split())
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    # In a GFM table a pipe ends the cell even inside a code span unless it is escaped.
    text = text.replace("|", "\\|")
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return Markup(f"{fence}{pad}{text}{pad}{fence}")
