"""How keys and values are shown in config error messages: dotted key paths, values cut to a readable size."""

from __future__ import annotations

import re
from typing import Any

CUT = 200  # values longer than this are shown cut in messages

Path_ = tuple[str | int, ...]


def dotted(at: Path_) -> str:
    """``coverage.files."pkg/x.py".line`` for a key path; list items as ``[i]``."""
    out = ""
    for part in at:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        part = cut_text(part)
        text = part if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part) else '"' + part.replace('"', '\\"') + '"'
        text = re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], text)  # keep the message one line
        out += ("." if out else "") + text
    return out


def cut_text(text: str, limit: int = CUT) -> str:
    """``text``, or its start and ``... (N characters)`` when it is longer than ``limit``."""
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}... ({len(text)} characters)"


def cut(value: Any) -> str:
    """``repr(value)`` for a message, cut like ``cut_text`` when the value is long (a 100 KB string ...)."""
    if isinstance(value, str) and len(value) > CUT:
        return f"{value[: CUT // 2]!r}... ({len(value)} characters)"
    return cut_text(repr(value))


def show(value: Any) -> str:
    if isinstance(value, str):
        return cut(value)
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if value is None:
        return "null (empty)"
    return str(value).lower() if isinstance(value, bool) else cut(value)
