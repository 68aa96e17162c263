"""One suite's test-process result before gating (``SuiteRun``), and how a test enters it.

The collect stage fills it (``collect``), judges its exit (``collect_exit``) and merges the runs of ``--repeat``
(``collect_attempts``); the gate stage reads it (``suite_gate``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest import pytest_output
from mcptest.model import SuiteResult, TestCase

#: Progress callback: (kind, data); kinds: suite-start, collected, test, suite-end, preflight, message.
EventHandler = Callable[[str, dict[str, Any]], None]


@dataclass
class SuiteRun:
    """One suite's subprocess result before gating."""

    result: SuiteResult
    data_file: Path
    log_file: Path
    collected: int | None = None
    finished: bool = False
    collect_errors: list[str] = field(default_factory=list)
    killed_for_budget: bool = False
    attempt_durations: list[float] = field(default_factory=list)
    core: str | None = None
    data_saved: bool = False  # the test process said its coverage data is complete (it may still be ending)
    #: What narrowed the selection (from the collector: a -k that deselected tests, node ids ...).
    narrowed: list[str] = field(default_factory=list)
    #: pytest stopped early: (exception name, message, the test running then) from the collector.
    interrupted: tuple[str, str, str | None] | None = None
    #: pytest exited with its usage-error status: what it rejected and where the argument came from ...
    usage_error: str | None = None
    #: ... or the conftest that failed to import while pytest started (file:line: error).
    conftest_error: pytest_output.Located | None = None
    root: Path | None = None  # the project root, to show the paths in pytest's messages relative to it
    mismatch: str | None = None  # pytest's exit status contradicts the outcomes it reported
    #: xdist workers that started coverage after a plugin of the measured code was imported: (worker, modules).
    unmeasured_workers: list[tuple[str, list[str]]] = field(default_factory=list)

    @property
    def unrun(self) -> int:
        """Selected tests that never reported (pytest stopped before them); 0 when the count is not known."""
        selected = self.result.selected if self.result.selected is not None else self.collected
        if selected is None or not self.finished or self.killed_for_budget:
            return 0
        return max(0, selected - (len(self.result.tests) - len(self.collect_errors)))


def add_collection_error(
    run: SuiteRun, suite: str, nodeid: str, found: pytest_output.Located, longrepr: str, on_event: EventHandler
) -> None:
    """A file that could not be collected counts as an error of the suite, listed like a failed test."""
    case = TestCase(
        nodeid=nodeid,
        name=nodeid.split("/")[-1],
        file=found.file or nodeid.split("::")[0],
        line=found.line,
        suite=suite,
        outcome="error",
        message=f"collection error: {found.text}",
        longrepr=longrepr or None,
        markers=["collection-error"],
    )
    add_case(run, suite, case, on_event)


def add_case(run: SuiteRun, suite: str, case: TestCase, on_event: EventHandler) -> None:
    """A test into the suite's result and its counts, and on to the progress callback."""
    run.result.tests.append(case)
    run.result.counts.add(case.outcome)
    on_event("test", {"suite": suite, "test": case, "counts": run.result.counts, "collected": run.collected})
