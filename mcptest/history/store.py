"""The store: runs/, latest.json and baseline.json, the folder checked before a run, the index kept up."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mcptest import exitcodes
from mcptest.errors import McptestError
from mcptest.history import index as trend_index
from mcptest.history.files import atomic_write_text, kind_of, mode_of, reason
from mcptest.history.index import INDEX_HEADER, RunSummary
from mcptest.history.records import Loaded, load_record, number_problem, schema_problem
from mcptest.model import RunRecord

#: Folders mcptest makes inside the report folder (a file in the place of one breaks a run).
SUBFOLDERS = ("runs", "tmp", "logs", "bridges", "sims", "report")

#: The most runs the trend shows (the newest complete ones); a report reads no more than this of the index.
TREND_RUNS = 50


class ReportDirError(McptestError):
    """The report folder, or a file or folder in it, cannot be used; the message names the path."""

    exit_code = exitcodes.CONFIG_ERROR


def new_run_id(now: datetime | None = None) -> str:
    """A sortable, unique id: UTC time to the microsecond plus random hex (two runs at once never clash)."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%S%fZ") + "-" + secrets.token_hex(3)


class RecordSchemaError(McptestError):
    """mcptest built a record that breaks its own schema: a bug (exit 70); the record is kept in runs/."""

    exit_code = exitcodes.INTERNAL_ERROR


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
                f"cannot write the trend index {self.index_path}: {reason(exc)}; the run is recorded in {path}"
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
            raise ReportDirError(f"cannot write {what} {path}: {reason(exc)}") from exc

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
        mode = mode_of(self.root)
        if mode is not None and not stat.S_ISDIR(mode):
            hint = "remove it or set report.dir in mcptest.yaml to another folder"
            return [f"report folder {self.root} is {kind_of(mode)}, not a folder; {hint}"], []
        if mode is None:
            above = next((p for p in self.root.parents if mode_of(p) is not None), None)
            above_mode = mode_of(above) if above is not None else None
            if above is not None and above_mode is not None and not stat.S_ISDIR(above_mode):
                return [f"report folder {self.root} cannot be created: {above} is {kind_of(above_mode)}"], []
            if above is not None and not os.access(above, os.W_OK | os.X_OK):
                return [f"report folder {self.root} cannot be created: {above} is not writable"], []
            return [], []
        if not os.access(self.root, os.W_OK | os.X_OK):
            errors.append(f"report folder {self.root} is not writable")
        for name in SUBFOLDERS:
            sub = mode_of(self.root / name)
            if sub is not None and not stat.S_ISDIR(sub):
                errors.append(f"{self.root / name} is {kind_of(sub)}, not a folder; remove it")
        for path, what, until in (
            (self.latest_path, "the latest record", "reports ignore it until the next run replaces it"),
            (self.baseline_path, "the baseline", "runs ignore it (no deltas) until 'mcptest baseline save'"),
            (self.index_path, "the trend index", "the next run replaces it"),
        ):
            kind = mode_of(path)
            if kind is None or stat.S_ISREG(kind):
                continue
            if stat.S_ISDIR(kind):
                errors.append(f"{path} is a folder, so {what} cannot be written there; remove it")
            else:
                warnings.append(f"{path} is {kind_of(kind)}, not a regular file: {until}")
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
                raise ReportDirError(f"cannot create the report folder {folder}: {reason(exc)}") from exc
            try:
                fd, probe = tempfile.mkstemp(prefix=".mcptest-probe.", suffix=".tmp", dir=folder)
            except OSError as exc:
                raise ReportDirError(f"cannot write in the report folder {folder}: {reason(exc)}") from exc
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(b"mcptest checks that this folder takes files\n" * 8)
            except OSError as exc:
                raise ReportDirError(f"cannot write in the report folder {folder}: {reason(exc)}") from exc
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(probe)

    def read(self, path: Path, what: str, *, ignored: str = "ignoring it", build: bool = True) -> Loaded:
        """Load a record (``records.load_record``): a missing file is None, a corrupt, foreign or unusable one
        None with a warning; with ``build=False`` only the checked JSON (``Loaded.data``)."""
        return load_record(path, what, ignored=ignored, build=build)

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
                    kept = f"could not add them to it ({reason(exc)})"
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
                f"index ({reason(exc)})"
            )
        self.warnings.append(f"the trend index {self.index_path} {why}; {done}")
        return summaries

    def _read_index(self) -> tuple[list[RunSummary] | None, str | None]:
        return trend_index.read_index(self.index_path)

    def _index_append(self, line: str) -> None:
        trend_index.append_line(self.index_path, line)
