"""The trend index (``index.jsonl``): a header line, then one short line per stored run, appended as each run
is stored; what the trend and ``report --against previous`` read instead of the records."""

from __future__ import annotations

import copy
import dataclasses
import errno
import json
import os
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcptest.history.files import atomic_write_text, kind_of, mode_of, read_regular, reason
from mcptest.history.records import _schema, number_problem, parse_json
from mcptest.model import Counts, RunRecord, Totals
from mcptest.schemacheck import compile_schema

#: The first line of the trend index; another version is rebuilt from runs/.
INDEX_HEADER = {"kind": "mcptest-trend-index", "version": 1}


def _index_schema() -> dict[str, Any]:
    """An index line: the record's own definitions of status, counts and totals, plus the selection's suite."""
    record = _schema()
    props = record["properties"]
    nullable_text = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    entry = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "started_at": {"type": "string"},
            "finished_at": nullable_text,
            "status": props["status"],
            "complete": {"type": "boolean"},
            "exit_code": {"type": "integer"},
            "exit_reason": {"type": "string"},
            "suite": {"type": "string"},
            "modules": {"type": "array", "items": {"type": "string"}},
            "partial": {"type": "boolean"},
            "duration": {"type": "number"},
            "counts": props["counts"],
            "coverage": {"anyOf": [{"$ref": "#/$defs/Totals"}, {"type": "null"}]},
        },
        "additionalProperties": False,
        "$defs": record["$defs"],
    }
    entry["required"] = list(entry["properties"])
    return entry


@lru_cache(maxsize=1)
def _index_check() -> Any:
    return compile_schema(_index_schema())


@dataclass
class RunSummary:
    """One line of the trend index: what the trend and ``report --against previous`` need of a stored run."""

    id: str
    started_at: str
    finished_at: str | None
    status: str
    complete: bool
    exit_code: int
    exit_reason: str
    suite: str
    modules: list[str]
    partial: bool
    duration: float
    counts: Counts
    coverage: Totals | None  # the overall totals of the run

    @classmethod
    def of(cls, record: RunRecord) -> RunSummary:
        overall = record.coverage.overall if record.coverage is not None else None
        return cls(
            record.id,
            record.started_at,
            record.finished_at,
            record.status,
            record.complete,
            record.exit_code,
            record.exit_reason,
            record.selection.suite,
            list(record.selection.modules),
            record.selection.partial,
            record.duration,
            copy.copy(record.counts),
            copy.copy(overall),
        )

    @classmethod
    def from_record_data(cls, data: dict[str, Any]) -> RunSummary:
        """The summary of a record already parsed and checked against the schema (no dataclasses built)."""
        selection, coverage = data["selection"], data["coverage"]
        return cls.from_dict(
            {
                **{key: data[key] for key in ("id", "started_at", "finished_at", "status", "complete")},
                **{key: data[key] for key in ("exit_code", "exit_reason", "duration", "counts")},
                "suite": selection["suite"],
                "modules": selection["modules"],
                "partial": selection["partial"],
                "coverage": coverage["overall"] if coverage is not None else None,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSummary:
        """An index line already checked against its schema (``_index_check``)."""
        counts = Counts(**{f.name: data["counts"][f.name] for f in dataclasses.fields(Counts)})
        coverage = Totals(**data["coverage"]) if data["coverage"] is not None else None
        fields = {key: value for key, value in data.items() if key not in ("counts", "coverage")}
        return cls(**fields, counts=counts, coverage=coverage)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["counts"]["total"] = self.counts.total
        return data

    def line(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=False) + "\n"


def read_index(path: Path) -> tuple[list[RunSummary] | None, str | None]:
    """The index's lines, checked; (None, None) when there is no index, (None, what is wrong) when unusable."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"unreadable ({reason(exc)})"
    if not stat.S_ISREG(mode):
        return None, f"{kind_of(mode)}, not a regular file"
    try:
        text = read_regular(path).decode("utf-8")
    except OSError as exc:
        return None, f"unreadable ({reason(exc)})"
    except UnicodeDecodeError:
        return None, "corrupt (not UTF-8 text)"
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if not lines:
        return None, "corrupt (empty)"
    try:
        header = parse_json(lines[0])
    except (ValueError, RecursionError):
        header = None
    if header != INDEX_HEADER:
        return None, f"corrupt or of another version (line 1 is not {json.dumps(INDEX_HEADER)})"
    entries = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            data = parse_json(line)
        except (ValueError, RecursionError) as exc:
            return None, f"corrupt (line {number} is not JSON: {exc})"
        problem = number_problem(data) or _index_check()(data)
        if problem:
            return None, f"corrupt (line {number}: {problem})"
        entries.append(RunSummary.from_dict(data))
    return entries, None


def append_line(path: Path, line: str) -> None:
    """Append one line to the index, in one write; a new index (or one that is not a regular file) is
    written whole, through a temporary file. A torn last line (a crash mid-append) is ended first, so
    that it stays one corrupt line, which makes the next report rebuild the index."""
    mode = mode_of(path)
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
    if mode is None or not stat.S_ISREG(mode):
        atomic_write_text(path, json.dumps(INDEX_HEADER) + "\n" + line)
        return
    fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, f"it became {kind_of(info.st_mode)}", str(path))
        data = line.encode("utf-8")
        if info.st_size == 0:
            data = (json.dumps(INDEX_HEADER) + "\n").encode("utf-8") + data
        elif os.pread(fd, 1, info.st_size - 1) != b"\n":
            data = b"\n" + data
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)
