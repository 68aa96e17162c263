"""The persist stage: the concluded record goes into the report folder (``history``, written atomically).

An interrupted run is marked so (exit 130) and stored under runs/ only: latest.json and the baseline stay as they
were. A record that cannot be stored fails the run as a config error that says why.
"""

from __future__ import annotations

import contextlib

from mcptest import gate, lifecycle
from mcptest.history import History, ReportDirError
from mcptest.model import RunRecord, Verdict


def store(record: RunRecord, verdicts: list[Verdict], history: History) -> None:
    """Write the record (runs/, and latest.json when it ended on its own)."""
    try:
        history.save_run(record)
    except ReportDirError as exc:  # the folder broke during the run (full disk, a folder put at latest.json)
        _unsaved(record, verdicts, history, exc)


def _unsaved(record: RunRecord, verdicts: list[Verdict], history: History, error: ReportDirError) -> None:
    """A record that could not be stored fails the run as a config error (exit 4) that says why; it is
    written again to runs/, with that verdict, when runs/ still takes it (latest.json is left as it was)."""
    verdicts.append(Verdict("config", "run", "status", None, None, False, "report.dir", str(error)))
    gate.conclude(record, verdicts)
    with contextlib.suppress(ReportDirError):
        history.save_run(record, latest=False)


def mark_interrupted(record: RunRecord, verdicts: list[Verdict]) -> None:
    """Mark the run interrupted: exit 130, stored under runs/ only (latest.json and the baseline stay)."""
    record.complete = False
    by = f" by {lifecycle.received()}" if lifecycle.received() else ""
    message = f"the run was interrupted{by}; the previous latest record and baseline are untouched"
    verdicts.append(Verdict("interrupted", "run", "status", None, None, False, None, message))
