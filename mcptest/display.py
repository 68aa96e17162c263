"""How numbers and lists are shown to a person, the same in the core's messages and in every writer.

Numbers: one rounding rule, floored to one decimal.

Every writer that shows a percentage or a delta (the terminal, HTML, Markdown, JUnit, the gates' messages)
goes through these functions, so the same number never reads two ways; the JSON record keeps the exact
values. Floored, not rounded: 79.99 % shows as ``79.9%`` and never as a passing-looking ``80.0%``, and a
delta of -0.04 pp shows as ``-0.1`` (a drop is never hidden as ``±0.0``). Gates compare the exact values.

Lists: ``join_cut`` cuts a long list between two items, never inside one, and says how many it left out.

This module has no dependency (no rich, no jinja2) so the core can use it; ``mcptest.report.fmt``
re-exports the number functions as the templates' filters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_FLOOR, Decimal

_TENTH = Decimal("0.1")


def floor1(value: float) -> Decimal:
    """``value`` floored to one decimal, from its shortest repr so that 70.3 stays 70.3 (not 70.2)."""
    return Decimal(repr(float(value))).quantize(_TENTH, rounding=ROUND_FLOOR)


def num1(value: float | None) -> str:
    """A number floored to one decimal, without a unit (``n/a`` when absent)."""
    if value is None:
        return "n/a"
    if not math.isfinite(value):
        return str(value)
    return str(floor1(value))


def pct(value: float | None) -> str:
    """A percentage floored to one decimal: 79.99 shows as ``79.9%``, never a rounded-up ``80.0%``."""
    if value is None or not math.isfinite(value):
        return num1(value)
    return f"{floor1(value)}%"


def delta(value: float | None) -> str:
    """A delta in percentage points, floored (never looks better than it is): ``+1.2``, ``-0.1``, ``±0.0``.

    ``—`` when there is no baseline.
    """
    if value is None or not math.isfinite(value):
        return "—"
    shown = floor1(value)
    if shown > 0:
        return f"+{shown}"
    if shown < 0:
        return f"-{-shown}"
    return "±0.0"


def delta_dir(value: float | None) -> str:
    """``up``, ``down``, ``flat`` or ``none``, judged on the floored value so arrow and text agree."""
    if value is None or not math.isfinite(value):
        return "none"
    shown = floor1(value)
    return "up" if shown > 0 else "down" if shown < 0 else "flat"


def drop(value: float) -> str:
    """How far a negative delta fell, as a positive figure: -2.35 -> ``2.4`` (the magnitude of ``delta``)."""
    return delta(value).lstrip("+-±") if math.isfinite(value) else str(value)


def join_cut(items: Sequence[str], limit: int = 300, sep: str = ", ") -> str:
    """``items`` joined with ``sep``, cut between two items so the text stays near ``limit`` characters.

    What was left out is counted: ``a, b ... and 3 more``. The first item is always shown whole (a cut
    inside a name would make it read as another name); no item is ever cut in the middle.
    """
    shown: list[str] = []
    size = 0
    for i, item in enumerate(items):
        rest = len(items) - i
        tail = len(f" ... and {rest} more") if rest > 1 else 0
        if shown and size + len(sep) + len(item) + tail > limit:
            return sep.join(shown) + f" ... and {rest} more"
        size += (len(sep) if shown else 0) + len(item)
        shown.append(item)
    return sep.join(shown)


def ranges(numbers: Sequence[int] | None) -> str:
    """Line numbers as ranges: ``[1, 2, 3, 7, 9, 10]`` -> ``1-3, 7, 9-10``."""
    parts: list[str] = []
    start = prev = None
    for n in sorted(numbers or []):
        if prev is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = n
    if start is not None:
        parts.append(str(start) if start == prev else f"{start}-{prev}")
    return ", ".join(parts)
