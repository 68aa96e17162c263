"""The report folder (.mcptest/): run records, latest.json and baseline.json, written atomically.

Layout::

    .mcptest/runs/<id>.json   every run, complete or not
    .mcptest/latest.json      the last run that ended on its own (never an interrupted one)
    .mcptest/baseline.json    the record deltas are computed against (``mcptest baseline save``)

The folder is hostile ground: anything may sit where a file or folder is due. ``History.prepare`` checks it
before a run (a file where the folder must be, a folder at latest.json, no write access, a full disk) and
raises ``ReportDirError`` (exit 4); ``History.read`` opens only regular files (a FIFO would block forever),
never follows a record's bad numbers (NaN, Infinity, a percentage outside 0..100, a negative count), and
turns whatever it cannot use into a warning; a failed write never touches the file it would replace.
"""

from __future__ import annotations

import contextlib
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
from mcptest.model import RunRecord

#: Folders mcptest makes inside the report folder (a file in the place of one breaks a run).
SUBFOLDERS = ("runs", "tmp", "logs", "bridges", "sims", "report")


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
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


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
    """Raise ``jsonschema.ValidationError`` when ``data`` is not a valid run record."""
    import jsonschema

    jsonschema.validate(data, _schema())


@dataclass
class Loaded:
    record: RunRecord | None
    warning: str | None = None


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

    def run_path(self, run_id: str) -> Path:
        return self.runs_dir / f"{run_id}.json"

    @staticmethod
    def dumps(record: RunRecord) -> str:
        # not indented: json's C encoder only serves unindented output; indent=2 took 4x as long (9.5 ms
        # against 2.1 ms for a record of 500 tests, about 0.07 s for 5,000) and made the file half as big again
        return json.dumps(record.to_dict(), sort_keys=False) + "\n"

    def save_run(self, record: RunRecord, *, latest: bool = True) -> Path:
        """Store the record under runs/; it becomes latest.json only when the run ended on its own.

        Raises ``ReportDirError`` when a file cannot be written; the file it would have replaced is untouched.
        """
        text = self.dumps(record)
        path = self.run_path(record.id)
        self._write(path, text, "the run record")
        if latest and record.exit_reason != "interrupted":
            try:
                self._write(self.latest_path, text, "the latest record")
            except ReportDirError as exc:
                raise ReportDirError(f"{exc}; the run is recorded in {path}") from exc
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

    def read(self, path: Path, what: str, *, ignored: str = "ignoring it") -> Loaded:
        """Load a record; a missing file is None, a corrupt, foreign or unusable one is None with a warning.

        Only a regular file is opened (a FIFO or a device would block or never end), without blocking,
        and checked again once open; ``ignored`` ends the warning (what follows from ignoring the file).
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
        try:
            validate(data)
            record = RunRecord.from_dict(data)
        except Exception as exc:  # jsonschema.ValidationError, ValueError, TypeError, KeyError
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            first = first if len(first) <= 200 else first[:100] + f"... ({len(first)} characters)"
            return Loaded(None, f"{what} {path} is not an mcptest run record of this version ({first}); {ignored}")
        return Loaded(record)

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
        """Stored runs, oldest first (unreadable ones are skipped with a warning)."""
        ids = self.run_ids()
        if limit is not None:
            ids = ids[-limit:] if complete_only is False else ids
        out = []
        for run_id in ids:
            record = self.get(run_id)
            if record is not None and (record.complete or not complete_only):
                out.append(record)
        if limit is not None:
            out = out[-limit:]
        return out

    def previous(self, before: RunRecord) -> RunRecord | None:
        """The last complete run stored before ``before``."""
        earlier = [r for r in self.run_ids() if r < before.id]
        for run_id in reversed(earlier):
            record = self.get(run_id)
            if record is not None and record.complete:
                return record
        return None
