"""Foreign text made safe to show: terminal control sequences and control characters removed.

Text that comes from tests, bridges, files or the configuration (node ids, failure messages, bridge
reasons, paths) may hold bytes a terminal obeys: colours, cursor moves, a cleared screen, a changed
window title, a hyperlink that shows one address and opens another, a carriage return that writes
over what was printed before. ``clean`` removes all of them, so what is shown is the text itself.
The run record keeps the raw text; only what is shown (terminal, HTML, Markdown, JUnit) is cleaned.
``show_text`` and ``show_bytes`` quote foreign text inside a message that is kept (a bridge's reason):
unprintable characters escaped as ``repr`` does, cut short with ``...``.

    clean("\\x1b[31mFAILED\\x1b[0m")                   -> "FAILED"
    clean("a\\r\\nb", multiline=True)                   -> "a\\nb"
    clean("a\\tb\\nc")                                  -> "a b c"
"""

from __future__ import annotations

import re

__all__ = ["clean", "show_bytes", "show_text"]

# Escape sequences (ECMA-48), most specific first:
#   CSI: ESC [ or the 8-bit U+009B, parameter bytes 0x30-0x3F, intermediate bytes 0x20-0x2F, a final
#        byte 0x40-0x7E (a sequence cut off before its final byte is removed as far as it goes);
#   control strings (OSC ESC ], DCS ESC P, SOS ESC X, PM ESC ^, APC ESC _, and their 8-bit forms
#        U+009D, U+0090, U+0098, U+009E, U+009F) up to BEL or the string terminator (ESC \ or U+009C);
#        an unterminated one loses only its introducer, so no text after it disappears;
#   any other ESC: intermediate bytes and a final byte 0x30-0x7E (ESC 7, ESC ( B, ESC c, ESC #8).
_SEQUENCE = re.compile(
    r"""
      (?:\x1b\[|\x9b) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]?
    | (?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f]) [^\x07\x1b\x9c]* (?:\x07|\x1b\\|\x9c)
    | \x1b [\x20-\x2f]* [\x30-\x7e]?
    """,
    re.VERBOSE,
)
# Line breaks and other white-space controls: kept as line breaks in multi-line text, spaces otherwise.
_BREAK = re.compile(r"\r\n|[\r\n\v\f]")
_TAB = "\t"
# What is left after the sequences: C0 controls, DEL and C1 controls; multi-line text keeps \t and \n.
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTI = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# A lone surrogate cannot be encoded as UTF-8: writing one to a terminal or a file would fail.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# Bidirectional embeddings, overrides and isolates reorder how the text around them is displayed, so a
# node id or a message could show something other than what it holds: removed.
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069]")
# Anything clean() changes; a text without any of these is returned as it is (the common case).
_SUSPECT = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def clean(text: object, *, multiline: bool = False) -> str:
    """``text`` as a string without terminal control sequences, control characters or lone surrogates.

    Escape sequences are removed whole (CSI, OSC, DCS and the other control strings, two-byte ESC
    sequences, and their 8-bit C1 forms), then every remaining C0 control, DEL and C1 control.
    With ``multiline`` (failure tracebacks, diffs), tabs and line breaks stay: ``\\r\\n``, a lone
    ``\\r``, vertical tab and form feed become ``\\n``. Without it, each of them (and ``\\n`` and tab)
    becomes one space, so the result is a single line. A lone surrogate becomes U+FFFD; bidirectional
    overrides and isolates (U+202A-U+202E, U+2066-U+2069) are removed. Printable text is returned unchanged.
    """
    value = text if isinstance(text, str) else str(text)
    if not _SUSPECT.search(value):
        return value
    value = _SEQUENCE.sub("", value)
    if multiline:
        value = _BREAK.sub("\n", value)
        value = _CONTROL_MULTI.sub("", value)
    else:
        value = _BREAK.sub(" ", value).replace(_TAB, " ")
        value = _CONTROL_LINE.sub("", value)
    return _SURROGATE.sub("\ufffd", _BIDI.sub("", value))


def show_bytes(data: bytes, limit: int = 48) -> str:
    """Foreign bytes for a message: Python's escaped bytes notation, cut after ``limit`` bytes."""
    return repr(data[:limit]) + ("..." if len(data) > limit else "")


def show_text(text: str, limit: int = 80) -> str:
    """Foreign text for a message: unprintable characters escaped as repr() does, cut to ``limit``."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."

