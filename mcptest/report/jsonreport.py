"""The JSON report: the run record's ``to_dict()``, pretty-printed (the format is the record's schema)."""

from __future__ import annotations

import json

from mcptest.model import RunRecord


def render_json(record: RunRecord) -> str:
    return json.dumps(record.to_dict(), indent=2, ensure_ascii=False) + "\n"
