"""Reading a stored record without trusting it: JSON with NaN and Infinity marked, impossible numbers found,
the schema checked (``schemacheck``), and whatever cannot be used turned into a warning."""

from __future__ import annotations

import json
import math
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcptest.history.files import kind_of, mode_of, read_regular, reason
from mcptest.model import RunRecord
from mcptest.schemacheck import compile_schema


class _NonFinite(float):
    """NaN, Infinity or a float too large for a double in a JSON text; kept to be named by ``number_problem``."""

    def __new__(cls, text: str) -> _NonFinite:
        self = super().__new__(cls, "nan")
        self.text = text
        return self

    text: str


def _parse_float(text: str) -> float:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def parse_json(text: str) -> Any:
    """``json.loads``, except that NaN, Infinity and out-of-range floats (Python accepts them) are marked."""
    return json.loads(text, parse_constant=_NonFinite, parse_float=_parse_float)


_PERCENTS = ("line_percent", "branch_percent", "percent")
_DELTAS = ("delta_line", "delta_branch")
_COUNTS = ("statements", "covered_lines", "branches", "covered_branches")


def number_problem(data: Any, at: str = "") -> str | None:
    """The first number of a parsed record that no run can produce, named by its path, or None.

    Every number must be finite; percentages lie in 0..100, deltas in -100..100; line and branch counts,
    test counts and durations are not negative, and no more lines or branches are covered than exist.
    """
    if isinstance(data, list):
        for i, item in enumerate(data):
            problem = number_problem(item, f"{at}[{i}]")
            if problem:
                return problem
        return None
    if not isinstance(data, dict):
        return None
    for key, value in data.items():
        where = f"{at}.{key}" if at else str(key)
        if isinstance(value, dict | list):
            problem = number_problem(value, where)
            if problem:
                return problem
            if key == "counts" and isinstance(value, dict):
                for name, count in value.items():
                    if _is_number(count) and count < 0:
                        return f"{where}.{name} is {count!r}, a negative count"
            continue
        if isinstance(value, _NonFinite):
            return f"{where} is {value.text}, not a finite number"
        if not _is_number(value):
            continue
        if key in _PERCENTS and not 0 <= value <= 100:
            return f"{where} is {value!r}, not between 0 and 100"
        if key in _DELTAS and not -100 <= value <= 100:
            return f"{where} is {value!r}, not between -100 and 100"
        if (key in _COUNTS or key == "duration") and value < 0:
            return f"{where} is {value!r}, not at least 0"
    for covered, total in (("covered_lines", "statements"), ("covered_branches", "branches")):
        if _is_number(data.get(covered)) and _is_number(data.get(total)) and data[covered] > data[total]:
            return f"{at + '.' if at else ''}{covered} is {data[covered]!r}, more than the {data[total]!r} {total}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@lru_cache(maxsize=1)
def _schema() -> dict[str, Any]:
    from importlib import resources

    text = resources.files("mcptest").joinpath("schema/run-record.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def validate(data: Any) -> None:
    """Raise ``jsonschema.ValidationError`` when ``data`` is not a valid run record (the reference check).

    mcptest itself uses ``schema_problem``, the same schema compiled into plain functions (30x faster).
    """
    import jsonschema

    jsonschema.validate(data, _schema())


@lru_cache(maxsize=1)
def _record_check() -> Any:
    return compile_schema(_schema())


def schema_problem(data: Any) -> str | None:
    """Where and how parsed JSON breaks the run record's schema (the first problem), or None."""
    problem: str | None = _record_check()(data)
    return problem


@dataclass
class Loaded:
    """What ``load_record`` found: the record, or why it is not used (None: the file is not there)."""

    record: RunRecord | None
    warning: str | None = None
    data: dict[str, Any] | None = None  # the parsed record, once it passed every check


def load_record(path: Path, what: str, *, ignored: str = "ignoring it", build: bool = True) -> Loaded:
    """Load a record; a missing file is None, a corrupt, foreign or unusable one is None with a warning.

    Only a regular file is opened (a FIFO or a device would block or never end), without blocking,
    and checked again once open; ``ignored`` ends the warning (what follows from ignoring the file).
    With ``build=False`` only the checked JSON is returned (``Loaded.data``), no ``RunRecord``.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return Loaded(None)
    except NotADirectoryError:
        above = next((p for p in path.parents if (m := mode_of(p)) is not None and not stat.S_ISDIR(m)), path.parent)
        return Loaded(None, f"{what} {path} cannot be read: {above} is not a folder; {ignored}")
    except OSError as exc:
        return Loaded(None, f"{what} {path} cannot be read ({reason(exc)}); {ignored}")
    if not stat.S_ISREG(mode):
        return Loaded(None, f"{what} {path} is {kind_of(mode)}, not a regular file; {ignored}")
    try:
        raw = read_regular(path)
    except OSError as exc:
        return Loaded(None, f"{what} {path} cannot be read ({reason(exc)}); {ignored}")
    try:
        data = parse_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # json.JSONDecodeError is a ValueError
        return Loaded(None, f"{what} {path} is not readable JSON ({exc}); {ignored}")
    problem = number_problem(data)
    if problem:
        return Loaded(None, f"{what} {path} is corrupt: {problem}; {ignored}")
    problem = schema_problem(data)
    if problem:
        return Loaded(None, f"{what} {path} is not an mcptest run record of this version ({problem}); {ignored}")
    if not build:
        return Loaded(None, data=data)
    try:
        record = RunRecord.from_dict(data)
    except Exception as exc:  # ValueError, TypeError, KeyError: what the schema does not say
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        first = first if len(first) <= 200 else first[:100] + f"... ({len(first)} characters)"
        return Loaded(None, f"{what} {path} is not an mcptest run record of this version ({first}); {ignored}")
    return Loaded(record, data=data)
