"""The report folder (.mcptest/): run records, latest.json and baseline.json, written atomically.

Layout::

    .mcptest/runs/<id>.json   every run, complete or not
    .mcptest/latest.json      the last run that ended on its own (never an interrupted one)
    .mcptest/baseline.json    the record deltas are computed against (``mcptest baseline save``)
    .mcptest/index.jsonl      the trend index: one short line per stored run (id, time, selection, totals)

A record is checked against the schema when it is written and when it is read (``schemacheck``: a few
hundredths of a second for 2,500 tests). Reports never read the whole history: the trend and ``--against
previous`` come from the index, which is appended to with each stored run and rebuilt from runs/ (with a
warning) when it is missing or corrupt; a report reads the record it renders and the one it compares with.

The folder is hostile ground: anything may sit where a file or folder is due. ``History.prepare`` checks it
before a run (a file where the folder must be, a folder at latest.json, no write access, a full disk) and
raises ``ReportDirError`` (exit 4); ``History.read`` opens only regular files (a FIFO would block forever),
never follows a record's bad numbers (NaN, Infinity, a percentage outside 0..100, a negative count), and
turns whatever it cannot use into a warning; a failed write never touches the file it would replace.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import errno
import json
import math
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcptest import exitcodes
from mcptest.errors import McptestError
from mcptest.model import Counts, RunRecord, Totals
from mcptest.schemacheck import compile_schema

#: Folders mcptest makes inside the report folder (a file in the place of one breaks a run).
SUBFOLDERS = ("runs", "tmp", "logs", "bridges", "sims", "report")

#: The most runs the trend shows (the newest complete ones); a report reads no more than this of the index.
TREND_RUNS = 50

#: The first line of the trend index; another version is rebuilt from runs/.
INDEX_HEADER = {"kind": "mcptest-trend-index", "version": 1}


class ReportDirError(McptestError):
    """The report folder, or a file or folder in it, cannot be used; the message names the path."""

    exit_code = exitcodes.CONFIG_ERROR


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def _mode(path: Path) -> int | None:
    """``st_mode`` of ``path`` (following symbolic links), or None when there is nothing there to use."""
    try:
        return os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique id: UTC time to the microsecond plus random hex (two runs at once never clash)."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same folder and a rename.

    A reader sees the old file or the new one, whole; a crash mid-write leaves the old file intact.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it 0600: give it the mode open() would (0644 usually)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    """The process's umask, read without changing it (Linux); else set and restored at once."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _read_regular(path: Path) -> bytes:
    """The bytes of ``path``, opened without blocking and only when it is (still) a regular file."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped after the stat
            raise OSError(f"it became {_kind(mode)}")
        return handle.read()


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


class RecordSchemaError(McptestError):
    """mcptest built a record that breaks its own schema: a bug (exit 70); the record is kept in runs/."""

    exit_code = exitcodes.INTERNAL_ERROR


@dataclass
class Loaded:
    record: RunRecord | None
    warning: str | None = None
    data: dict[str, Any] | None = None  # the parsed record, once it passed every check


@dataclass
class History:
    """The report folder of one project."""

    root: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    @property
    def latest_path(self) -> Path:
        return self.root / "latest.json"

    @property
    def baseline_path(self) -> Path:
        return self.root / "baseline.json"

    @property
    def index_path(self) -> Path:
        return self.root / "index.jsonl"

    def run_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.json"

    @staticmethod
    def dumps(record: RunRecord) -> str:
        # not indented: json's C encoder only serves unindented output; indent=2 took 4x as long (9.5 ms
        # against 2.1 ms for a record of 500 tests, about 0.07 s for 5,000) and made the file half as big again
        return json.dumps(record.to_dict(), sort_keys=False) + "\n"

    def save_run(self, record: RunRecord, *, latest: bool = True) -> Path:
        """Store the record under runs/ and its line in the trend index; it becomes latest.json only when the
        run ended on its own.

        The record is checked against the schema first, so that no reader ever refuses what mcptest wrote: one
        that breaks it is a bug, kept in runs/ (not latest.json, not the index) and raised as
        ``RecordSchemaError`` (exit 70). Raises ``ReportDirError`` when a file cannot be written; the file it
        would have replaced is untouched.
        """
        data = record.to_dict()
        text = json.dumps(data, sort_keys=False) + "\n"  # as ``dumps``, without building the dict twice
        path = self.run_path(record.id)
        problem = number_problem(data) or schema_problem(data)
        self._write(path, text, "the run record")
        if problem:
            raise RecordSchemaError(
                f"the record of run {record.id} breaks the run record schema ({problem}); this is a bug in mcptest. "
                f"The record is kept in {path}, but not as the latest run nor in the trend"
            )
        if latest and record.exit_reason != "interrupted":
            try:
                self._write(self.latest_path, text, "the latest record")
            except ReportDirError as exc:
                raise ReportDirError(f"{exc}; the run is recorded in {path}") from exc
        try:
            self._index_append(RunSummary.of(record).line())
        except OSError as exc:
            raise ReportDirError(
                f"cannot write the trend index {self.index_path}: {_reason(exc)}; the run is recorded in {path}"
            ) from exc
        return path

    def save_baseline(self, record: RunRecord) -> Path:
        self._write(self.baseline_path, self.dumps(record), "the baseline")
        return self.baseline_path

    @staticmethod
    def _write(path: Path, text: str, what: str) -> None:
        try:
            atomic_write_text(path, text)
        except OSError as exc:
            raise ReportDirError(f"cannot write {what} {path}: {_reason(exc)}") from exc

    # the folder itself

    def check(self) -> tuple[list[str], list[str]]:
        """What is wrong with the folder, without writing anything: (errors that stop a run, warnings).

        Errors: the folder (or a folder above it) is not a folder, a subfolder is not a folder, latest.json
        or baseline.json is a folder (nothing can be written there), no write access. Warnings: latest.json
        or baseline.json is another kind of special file (a FIFO): it is ignored when read and replaced
        when written.
        """
        errors: list[str] = []
        warnings: list[str] = []
        mode = _mode(self.root)
        if mode is not None and not stat.S_ISDIR(mode):
            hint = "remove it or set report.dir in mcptest.yaml to another folder"
            return [f"report folder {self.root} is {_kind(mode)}, not a folder; {hint}"], []
        if mode is None:
            above = next((p for p in self.root.parents if _mode(p) is not None), None)
            above_mode = _mode(above) if above is not None else None
            if above is not None and above_mode is not None and not stat.S_ISDIR(above_mode):
                return [f"report folder {self.root} cannot be created: {above} is {_kind(above_mode)}"], []
            if above is not None and not os.access(above, os.W_OK | os.X_OK):
                return [f"report folder {self.root} cannot be created: {above} is not writable"], []
            return [], []
        if not os.access(self.root, os.W_OK | os.X_OK):
            errors.append(f"report folder {self.root} is not writable")
        for name in SUBFOLDERS:
            sub = _mode(self.root / name)
            if sub is not None and not stat.S_ISDIR(sub):
                errors.append(f"{self.root / name} is {_kind(sub)}, not a folder; remove it")
        for path, what, until in (
            (self.latest_path, "the latest record", "reports ignore it until the next run replaces it"),
            (self.baseline_path, "the baseline", "runs ignore it (no deltas) until 'mcptest baseline save'"),
            (self.index_path, "the trend index", "the next run replaces it"),
        ):
            kind = _mode(path)
            if kind is None or stat.S_ISREG(kind):
                continue
            if stat.S_ISDIR(kind):
                errors.append(f"{path} is a folder, so {what} cannot be written there; remove it")
            else:
                warnings.append(f"{path} is {_kind(kind)}, not a regular file: {until}")
        return errors, warnings

    def prepare(self) -> None:
        """Make the folder ready for a run, before any test runs: raise ``ReportDirError`` when it is not.

        Creates the folder and runs/, and writes and removes a small probe file in each, so that a
        read-only folder or a full disk is found now rather than after the tests.
        """
        errors, _ = self.check()
        if errors:
            raise ReportDirError(errors[0])
        for folder in (self.root, self.runs_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ReportDirError(f"cannot create the report folder {folder}: {_reason(exc)}") from exc
            try:
                fd, probe = tempfile.mkstemp(prefix=".mcptest-probe.", suffix=".tmp", dir=folder)
            except OSError as exc:
                raise ReportDirError(f"cannot write in the report folder {folder}: {_reason(exc)}") from exc
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(b"mcptest checks that this folder takes files\n" * 8)
            except OSError as exc:
                raise ReportDirError(f"cannot write in the report folder {folder}: {_reason(exc)}") from exc
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(probe)

    def read(self, path: Path, what: str, *, ignored: str = "ignoring it", build: bool = True) -> Loaded:
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
            above = next((p for p in path.parents if (m := _mode(p)) is not None and not stat.S_ISDIR(m)), path.parent)
            return Loaded(None, f"{what} {path} cannot be read: {above} is not a folder; {ignored}")
        except OSError as exc:
            return Loaded(None, f"{what} {path} cannot be read ({_reason(exc)}); {ignored}")
        if not stat.S_ISREG(mode):
            return Loaded(None, f"{what} {path} is {_kind(mode)}, not a regular file; {ignored}")
        try:
            raw = _read_regular(path)
        except OSError as exc:
            return Loaded(None, f"{what} {path} cannot be read ({_reason(exc)}); {ignored}")
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

    def _load(self, path: Path, what: str, ignored: str = "ignoring it") -> RunRecord | None:
        loaded = self.read(path, what, ignored=ignored)
        if loaded.warning:
            self.warnings.append(loaded.warning)
        return loaded.record

    def latest(self) -> RunRecord | None:
        return self._load(self.latest_path, "latest record")

    def baseline(self) -> RunRecord | None:
        return self._load(self.baseline_path, "baseline", "ignoring it (no deltas)")

    def get(self, run_id: str) -> RunRecord | None:
        return self._load(self.run_path(run_id), f"run {run_id}")

    def run_ids(self) -> list[str]:
        if not self.runs_dir.is_dir():
            return []
        return sorted(p.stem for p in self.runs_dir.glob("*.json") if not p.name.startswith("."))

    def all_runs(self, *, complete_only: bool = True, limit: int | None = None) -> list[RunRecord]:
        """Stored runs, oldest first (unreadable ones are skipped with a warning); with ``limit``, the newest
        ``limit`` of them, read from the newest back until that many are found (no more records are read)."""
        out: list[RunRecord] = []
        for run_id in reversed(self.run_ids()):
            if limit is not None and len(out) >= limit:
                break
            record = self.get(run_id)
            if record is not None and (record.complete or not complete_only):
                out.append(record)
        return out[::-1]

    def previous(self, before: RunRecord) -> RunRecord | None:
        """The last complete run stored before ``before`` (found in the trend index, then read)."""
        for summary in reversed(self.index()):
            if summary.id < before.id and summary.complete:
                record = self.get(summary.id)
                if record is not None and record.complete:
                    return record
        return None

    # the trend index

    def trend(self, limit: int = TREND_RUNS) -> list[RunSummary]:
        """The newest ``limit`` complete runs, oldest first, from the trend index: what the trend shows."""
        complete = [summary for summary in self.index() if summary.complete]
        return complete[-limit:] if limit > 0 else []

    def index(self) -> list[RunSummary]:
        """A summary of every stored run, oldest first, from the trend index.

        A missing or corrupt index is rebuilt from the records in runs/, with a warning (the rebuilt index is
        written back when the folder takes it); runs stored without an index line (by an older mcptest, or
        while the index was being rebuilt) are read and added, with a warning; lines of runs whose record was
        removed from runs/ are left out.
        """
        stored = self.run_ids()
        entries, problem = self._read_index()
        if entries is None:
            if problem is None and not stored:
                return []  # nothing stored yet: there is nothing to rebuild
            return self._rebuild(stored, f"is {problem}" if problem else "is missing")
        by_id = {entry.id: entry for entry in entries}  # a run stored twice: its last line wins
        unindexed = [run_id for run_id in stored if run_id not in by_id]
        if unindexed:
            added = self._summaries(unindexed)
            if added:
                try:
                    for summary in added:
                        self._index_append(summary.line())
                    kept = "added them to it"
                except OSError as exc:
                    kept = f"could not add them to it ({_reason(exc)})"
                self.warnings.append(
                    f"the trend index {self.index_path} lacked {len(added)} stored run(s) "
                    f"({', '.join(s.id for s in added[:3])}{', ...' if len(added) > 3 else ''}): read them from "
                    f"runs/ and {kept}"
                )
                by_id.update((summary.id, summary) for summary in added)
        present = set(stored)
        return sorted((entry for entry in by_id.values() if entry.id in present), key=lambda entry: entry.id)

    def _summaries(self, run_ids: list[str]) -> list[RunSummary]:
        """Summaries of stored records, read and checked (no dataclasses built); unreadable ones warn."""
        out = []
        for run_id in run_ids:
            loaded = self.read(self.run_path(run_id), f"run {run_id}", build=False)
            if loaded.warning:
                self.warnings.append(loaded.warning)
            if loaded.data is not None:
                out.append(RunSummary.from_record_data(loaded.data))
        return out

    def _rebuild(self, stored: list[str], why: str) -> list[RunSummary]:
        summaries = self._summaries(stored)
        text = json.dumps(INDEX_HEADER) + "\n" + "".join(summary.line() for summary in summaries)
        try:
            atomic_write_text(self.index_path, text)
            done = f"rebuilt it from the {len(summaries)} readable record(s) in runs/"
        except OSError as exc:
            done = (
                f"read the {len(summaries)} readable record(s) in runs/ instead, but could not write the rebuilt "
                f"index ({_reason(exc)})"
            )
        self.warnings.append(f"the trend index {self.index_path} {why}; {done}")
        return summaries

    def _read_index(self) -> tuple[list[RunSummary] | None, str | None]:
        """The index's lines, checked; (None, None) when there is no index, (None, what is wrong) when unusable."""
        path = self.index_path
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            return None, None
        except OSError as exc:
            return None, f"unreadable ({_reason(exc)})"
        if not stat.S_ISREG(mode):
            return None, f"{_kind(mode)}, not a regular file"
        try:
            text = _read_regular(path).decode("utf-8")
        except OSError as exc:
            return None, f"unreadable ({_reason(exc)})"
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

    def _index_append(self, line: str) -> None:
        """Append one line to the index, in one write; a new index (or one that is not a regular file) is
        written whole, through a temporary file. A torn last line (a crash mid-append) is ended first, so
        that it stays one corrupt line, which makes the next report rebuild the index."""
        path = self.index_path
        mode = _mode(path)
        if mode is not None and stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "it is a folder", str(path))
        if mode is None or not stat.S_ISREG(mode):
            atomic_write_text(path, json.dumps(INDEX_HEADER) + "\n" + line)
            return
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, f"it became {_kind(info.st_mode)}", str(path))
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
