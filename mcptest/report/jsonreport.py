"""The JSON report: the run record's ``to_dict()``, pretty-printed (the format is the record's schema)."""

from __future__ import annotations

import json
import re

from mcptest.model import RunRecord

# json.dumps escapes C0 controls itself; with ensure_ascii=False it writes DEL, C1 controls (U+009B is
# a CSI to many terminals) and lone surrogates (which UTF-8 cannot encode) as they are.
_RAW = re.compile("[\x7f-\x9f\ud800-\udfff]")


def render_json(record: RunRecord) -> str:
    """The record exactly (every string parses back to what it was), with no terminal control in the text."""
    text = json.dumps(record.to_dict(), indent=2, ensure_ascii=False)
    return _RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"
