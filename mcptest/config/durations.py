"""Durations as mcptest.yaml and the command line write them: ``500ms``, ``30s``, ``5m``, ``1h`` or seconds."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SCALE = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


def seconds_of(text: str) -> float | None:
    """The seconds ``text`` writes (zero and infinity included: the caller judges them), or None when it is
    no duration."""
    match = _DURATION.match(text)
    if not match:
        return None
    return float(match.group(1)) * _SCALE[match.group(2)]


def parse_duration(text: str) -> float | None:
    """Seconds from ``500ms``, ``30s``, ``5m``, ``1h`` or a number; None when it is no duration above zero."""
    seconds = seconds_of(text)
    return seconds if seconds is not None and seconds > 0 and math.isfinite(seconds) else None
