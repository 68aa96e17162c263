"""What a bridge's health answer means: the bridge contract's classification, and JSON read defensively.

``GET /health`` answers 200 ``{"status": "ok"}`` when the bridge is fine, 200 or 503 ``{"status":
"degraded"}`` when it runs without its upstream; a ``connected``/``whatsapp_connected`` flag that is
false makes an ``ok`` degraded. Anything else (another status, a body that is not a JSON object, a
redirect) is an error; a body is never trusted: its size, depth and text are bounded before use.
"""

from __future__ import annotations

import json
import re
from typing import Any

from mcptest.bounded_http import Fetched
from mcptest.textsafe import show_text

#: JSON nested deeper than this is refused before it is parsed (json would recurse until it crashes).
MAX_JSON_DEPTH = 64

#: A probe's reason is cut to this many characters: much of it can come from the server.
MAX_REASON_CHARS = 200

#: The states a probe can end in, from best to worst.
STATUSES = ("ok", "degraded", "error", "unreachable")

#: Body keys that say whether the bridge's own upstream (WhatsApp) is connected.
CONNECTED_KEYS = ("connected", "whatsapp_connected")


def verdict(fetched: Fetched) -> tuple[str, str]:
    """(status, reason) of a fetched health answer: its failure, a redirect, or classify()."""
    if fetched.failure is not None:
        return fetched.failure
    assert fetched.http_status is not None
    if 300 <= fetched.http_status < 400:
        location = "(no Location header)" if fetched.location is None else show_text(fetched.location, 100)
        return "error", f"HTTP {fetched.http_status}, redirect to {location} (not followed)"
    return classify(fetched.http_status, fetched.body or b"")


def classify(http_status: int, body: bytes) -> tuple[str, str]:
    """Classify an HTTP answer of a health endpoint as (status, reason) following the bridge contract."""
    prefix = f"HTTP {http_status}"
    data, problem = load_json(body)
    if problem is not None:
        return "error", f"{prefix}, {problem}"
    if not isinstance(data, dict):
        return "error", f"{prefix}, body is not a JSON object"
    state = data.get("status")
    if not isinstance(state, str):
        return "error", f"{prefix}, body has no status string"
    state = show_text(state, 40)  # foreign text: escaped, short
    parts = [prefix, f"status {state}"]
    flags: dict[str, bool] = {}
    for key in CONNECTED_KEYS:
        if key in data:
            value = data[key]
            if not isinstance(value, bool):
                shown = show_text(json.dumps(value), 40)
                return "error", f"{prefix}, status {state}, {key} is {shown} (not a boolean)"
            flags[key] = value
            parts.append(f"{key} {json.dumps(value)}")
    reason = ", ".join(parts)
    disconnected = not all(flags.values())
    if http_status == 200:
        if state == "ok":
            return ("degraded" if disconnected else "ok"), reason
        if state == "degraded":
            return "degraded", reason
        return "error", f"{reason} (expected status ok or degraded)"
    if http_status == 503 and state == "degraded":
        return "degraded", reason
    return "error", reason


def load_json(body: bytes) -> tuple[Any, str | None]:
    """Parse an untrusted JSON body: (data, None), or (None, what is wrong with it); never raises."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None, "body is not UTF-8"
    if not text.strip():
        return None, "body is empty"
    if _nested_deeper_than(text, MAX_JSON_DEPTH):
        return None, f"body nested too deep (more than {MAX_JSON_DEPTH} levels)"
    try:
        return json.loads(text), None
    except RecursionError:  # the depth check above should make this unreachable
        return None, "body nested too deep"
    except ValueError:
        return None, "body is not JSON"


_JSON_MARKS = re.compile(r'["\\\[\]{}]')


def _nested_deeper_than(text: str, limit: int) -> bool:
    """Whether arrays and objects in ``text`` nest deeper than ``limit``; strings are skipped, one pass."""
    depth = 0
    in_string = False
    escaped = -1  # the position of the character a backslash escapes
    for mark in _JSON_MARKS.finditer(text):
        char, at = mark.group(), mark.start()
        if in_string:
            if at == escaped:
                continue
            if char == "\\":
                escaped = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False

