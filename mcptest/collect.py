"""The collect stage: the test process's events become a ``SuiteRun``, its exit status is judged, attempts merge.

The collector plugin (``collector.py``, inside the test process) writes one JSON line per event; ``handle_event``
reads one line into the suite's result as it arrives (the run stage calls it while the process runs, and passes
each test on to the progress callback). Once the process has ended, ``judge_exit`` decides the suite's status
from what pytest reported and how the process ended: a process that ends without the ``finish`` event died, and
is never a pass. ``merge_attempts`` makes one ``SuiteRun`` of the attempts of ``--repeat``.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest import covdata, pytest_output
from mcptest.config_model import SuiteConfig
from mcptest.model import Attempt, Counts, Order, SubTest, SuiteResult, TestCase
from mcptest.plan import RunOptions, requested_args

#: Progress callback: (kind, data); kinds: suite-start, collected, test, suite-end, preflight, message.
EventHandler = Callable[[str, dict[str, Any]], None]

_SIGNAL_NAMES = {-s.value: s.name for s in signal.Signals}
_PYTEST_EXITS = {1: "tests failed", 2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


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


# --- events ---------------------------------------------------------------------------------------------------


def handle_event(run: SuiteRun, suite: str, line: str, on_event: EventHandler) -> None:
    """One line of the test process's event stream into ``run`` (an unreadable line becomes a problem)."""
    try:
        event = json.loads(line)
    except json.JSONDecodeError:
        event = None
    if not isinstance(event, dict):
        run.result.problems.append(f"unreadable event from the test process: {line[:80]!r}")
        return
    kind = event.get("event")
    handler = _HANDLERS.get(kind) if isinstance(kind, str) else None
    if handler is not None:
        handler(run, suite, event, on_event)


def _collected(run: SuiteRun, suite: str, event: dict[str, Any], on_event: EventHandler) -> None:
    # every xdist worker collects the whole session, so the last count is the session's count
    count = int(event.get("count", 0))
    if count != run.collected:  # said once, not once per xdist worker
        run.collected = count
        on_event("collected", {"suite": suite, "count": count})


def _collect_error(run: SuiteRun, suite: str, event: dict[str, Any], on_event: EventHandler) -> None:
    nodeid = str(event.get("nodeid") or "")
    longrepr = str(event.get("longrepr") or "")
    found = pytest_output.locate(longrepr, fallback_file=nodeid.split("::")[0] or None, root=run.root)
    run.collect_errors.append(str(found))
    add_collection_error(run, suite, nodeid or "(session)", found, longrepr, on_event)


def _test(run: SuiteRun, suite: str, event: dict[str, Any], on_event: EventHandler) -> None:
    case = TestCase(
        nodeid=event["nodeid"],
        name=event.get("name") or event["nodeid"],
        file=event.get("file") or "",
        line=event.get("line"),
        suite=suite,
        outcome=event["outcome"],
        duration=float(event.get("duration", 0)),
        markers=list(event.get("markers") or []),
        requirements=list(event.get("requirements") or []),
        fixtures=list(event.get("fixtures") or []),
        message=event.get("message"),
        longrepr=event.get("longrepr"),
        attempts=[Attempt(**a) for a in event.get("attempts") or []],
        subtests=[SubTest(**t) for t in event.get("subtests") or []],
        order=Order(**event["order"]) if event.get("order") else None,
    )
    for attempt in case.attempts:  # reruns (pytest-rerunfailures) ran where the test ran
        attempt.order = case.order
    if case.attempts and len({a.outcome for a in case.attempts}) > 1:
        case.flaky = True  # passed only after a rerun (pytest-rerunfailures): reported flaky, never passed
        case.outcome = "flaky"
    _add_case(run, suite, case, on_event)


def _selection(run: SuiteRun, suite: str, event: dict[str, Any], on_event: EventHandler) -> None:
    # one per process that collected (each xdist worker collects the whole session): the last one stands
    run.result.selected = _int(event.get("selected"))
    run.result.deselected = _int(event.get("deselected"))
    run.narrowed = [str(r) for r in event.get("reasons") or []]


def _interrupted(run: SuiteRun, suite: str, event: dict[str, Any], on_event: EventHandler) -> None:
    nodeid = event.get("nodeid")
    run.interrupted = (
        str(event.get("exception") or "KeyboardInterrupt"),
        str(event.get("message") or ""),
        str(nodeid) if nodeid else None,
    )


def _finish(run: SuiteRun, suite: str, event: dict[str, Any], on_event: EventHandler) -> None:
    run.finished = True
    run.core = event.get("core")
    if event.get("stopped"):
        run.result.stopped = str(event["stopped"])


def _coverage_saved(run: SuiteRun, suite: str, event: dict[str, Any], on_event: EventHandler) -> None:
    run.data_saved = True


def _early_imports(run: SuiteRun, suite: str, event: dict[str, Any], on_event: EventHandler) -> None:
    if event.get("worker"):
        # under `coverage run`, from an xdist worker mcptest could not start measured (its own python=, remote)
        names = [str(m) for m in event.get("modules") or []]
        run.unmeasured_workers.append((str(event["worker"]), names))
        run.result.problems.append(
            f"xdist worker {event['worker']} was not measured from its start: measured module(s) {', '.join(names)} "
            "were imported before coverage started in it (by a pytest plugin)"
        )
        return
    modules = ", ".join(event.get("modules") or [])
    run.result.problems.append(
        f"measured module(s) {modules} were imported before coverage started (by a pytest plugin); "
        "their import-time lines count as not run"
    )


_HANDLERS: dict[str, Callable[[SuiteRun, str, dict[str, Any], EventHandler], None]] = {
    "collected": _collected,
    "collect_error": _collect_error,
    "test": _test,
    "selection": _selection,
    "interrupted": _interrupted,
    "finish": _finish,
    "coverage_saved": _coverage_saved,
    "early_imports": _early_imports,
}


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
    _add_case(run, suite, case, on_event)


def _add_case(run: SuiteRun, suite: str, case: TestCase, on_event: EventHandler) -> None:
    run.result.tests.append(case)
    run.result.counts.add(case.outcome)
    on_event("test", {"suite": suite, "test": case, "counts": run.result.counts, "collected": run.collected})


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- the process's exit ---------------------------------------------------------------------------------------


def judge_exit(run: SuiteRun, code: int, suite: SuiteConfig, options: RunOptions) -> None:
    """The suite's status and problems once its test process has ended with ``code``."""
    run.result.pytest_exit = code
    if code == 4:
        _startup_failure(run, suite, options)
    _judge(run, code)


def describe_death(code: int) -> str:
    """How a test process ended that did not finish its pytest session."""
    if code < 0:
        return f"killed by signal {_SIGNAL_NAMES.get(code, abs(code))}"
    return f"exited with code {code} before pytest finished (a crash or os._exit in a test)"


def usage_error(log: Path) -> str:
    """The line in which pytest said what was wrong with its arguments (in the last 20 lines of its log)."""
    return pytest_output.usage_error_line("\n".join(_read(log).strip().splitlines()[-20:]))


def internal_error(run: SuiteRun) -> str:
    """pytest's INTERNALERROR line in the suite's log."""
    return pytest_output.internal_error(_read(run.log_file)) or "INTERNALERROR"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _startup_failure(run: SuiteRun, suite: SuiteConfig, options: RunOptions) -> None:
    """pytest exited with its usage-error status: a conftest that failed to import, or rejected arguments."""
    log = _read(run.log_file)
    conftest = pytest_output.conftest_failure(log, run.root)
    if conftest is not None:
        run.conftest_error = conftest
        return
    error = pytest_output.usage_error_line(log[-20_000:])
    sources: dict[str, list[str]] = {"the command line": requested_args(options)}
    if options.workers:
        sources["the command line"] += ["-n", options.workers]
    sources[f"suites.{suite.name}.pytest_args"] = list(suite.pytest_args)
    sources.update(pytest_output.ini_addopts(log, os.environ))
    run.usage_error = error + pytest_output.blame(error, sources)


def _judge(run: SuiteRun, code: int) -> None:
    result = run.result
    if run.killed_for_budget:
        result.status = "incomplete"
        result.problems.append(f"stopped after its time budget of {result.budget:g}s")
        return
    if code == 4:  # usage error: pytest may stop before its session starts
        _judge_startup(run)
        return
    if not run.finished:
        result.status = "incomplete"
        result.problems.append(f"the test process {describe_death(code)}; see {run.log_file}")
        return
    if run.collect_errors:
        result.problems += [f"collection error: {e}" for e in run.collect_errors]
    if code == 3:
        result.problems.append(f"pytest crashed with an internal error: {internal_error(run)}; see {run.log_file}")
    stopped = _stopped_early(run)
    if stopped:
        result.stopped = stopped
        result.problems.append(f"pytest stopped early: {stopped}")
    run.mismatch = _exit_mismatch(run, code)
    if run.mismatch:
        result.problems.append(run.mismatch)
    ok = code == 0 and not result.counts.bad and not stopped and not run.collect_errors
    result.status = "passing" if ok else "failing"


def _judge_startup(run: SuiteRun) -> None:
    """pytest ended with its usage-error status: a conftest that failed to import, or arguments it rejected."""
    result = run.result
    run.finished = True
    if run.conftest_error is not None:  # not the arguments: a conftest that fails to import
        found = run.conftest_error
        run.collect_errors.append(str(found))
        add_collection_error(run, result.name, found.file or "conftest.py", found, "", lambda k, d: None)
        result.status = "failing"
        result.problems.append(f"collection error: {found}")
        return
    result.status = "not-run"
    result.problems.append(f"pytest rejected its arguments: {run.usage_error or usage_error(run.log_file)}")


def _stopped_early(run: SuiteRun) -> str | None:
    """Why pytest ended before every selected test had run, or None. Collection errors explain themselves."""
    if run.collect_errors:
        return None
    parts: list[str] = []
    if run.interrupted is not None:
        exc, message, nodeid = run.interrupted
        where = f" in {nodeid}" if nodeid else ""
        if exc == "Exit":
            parts.append(f"pytest.exit() was called{where}" + (f": {message}" if message else ""))
        elif exc == "KeyboardInterrupt":
            parts.append(f"KeyboardInterrupt raised{where}" + (f": {message}" if message else ""))
        else:
            parts.append(f"{exc}{where}" + (f": {message}" if message else ""))
    elif run.result.stopped:
        parts.append(run.result.stopped)
    unrun = run.unrun
    if unrun:
        selected = run.result.selected if run.result.selected is not None else run.collected
        parts.append(f"{unrun} of {selected} selected test(s) did not run")
    return "; ".join(parts) or None


def _exit_mismatch(run: SuiteRun, code: int) -> str | None:
    """pytest's own exit status contradicts the outcomes mcptest counted: loud, never a pass."""
    r = run.result
    if code in (0, 3, 5) or r.counts.bad or run.collect_errors or r.stopped:
        return None
    return (
        f"pytest exited with status {code} ({_PYTEST_EXITS.get(code, 'unknown')}) although every test it "
        f"reported passed; see {run.log_file}"
    )


# --- attempts ---------------------------------------------------------------------------------------------------


def merge_attempts(runs: Sequence[SuiteRun], data_file: Path) -> SuiteRun:
    """One SuiteRun from several runs of the same suite (``--repeat``): a test whose attempts did not
    all end the same way is ``flaky``, with every attempt (and its failure text) kept."""
    first = runs[0]
    durations = [r.result.duration for r in runs]  # before the first run's result becomes the merged one
    result = first.result
    result.tests, result.counts = _merged_tests(runs)
    result.duration = sum(durations)
    result.problems = [p for r in runs for p in r.result.problems]
    result.pytest_exit = next((r.result.pytest_exit for r in runs if r.result.pytest_exit), 0)
    result.stopped = next((r.result.stopped for r in runs if r.result.stopped), None)
    counts = result.counts
    result.status = (
        "incomplete"
        if not all(r.finished for r in runs)
        else ("passing" if not counts.bad and not counts.flaky and not result.stopped else "failing")
    )
    covdata.combine([r.data_file for r in runs], data_file)
    return SuiteRun(
        result=result,
        data_file=data_file,
        log_file=first.log_file,
        collected=first.collected,
        finished=all(r.finished for r in runs),
        collect_errors=[e for r in runs for e in r.collect_errors],
        killed_for_budget=any(r.killed_for_budget for r in runs),
        attempt_durations=durations,
        narrowed=first.narrowed,
        interrupted=next((r.interrupted for r in runs if r.interrupted), None),
        usage_error=next((r.usage_error for r in runs if r.usage_error), None),
        conftest_error=next((r.conftest_error for r in runs if r.conftest_error), None),
        mismatch=next((r.mismatch for r in runs if r.mismatch), None),
        root=first.root,
        unmeasured_workers=[w for r in runs for w in r.unmeasured_workers],
    )


def _merged_tests(runs: Sequence[SuiteRun]) -> tuple[list[TestCase], Counts]:
    """Each test once, with the attempts of every run; flaky when their outcomes differ."""
    by_id: dict[str, list[TestCase]] = {}
    for run in runs:
        for case in run.result.tests:
            by_id.setdefault(case.nodeid, []).append(case)
    tests: list[TestCase] = []
    counts = Counts()
    for cases in by_id.values():
        merged = cases[0]
        attempts: list[Attempt] = []
        for case in cases:
            attempts += case.attempts or [Attempt(case.outcome, case.duration, case.message, case.order)]
        outcomes = {a.outcome for a in attempts}
        merged.attempts = attempts
        merged.duration = sum(a.duration for a in attempts) / len(attempts)
        if len(outcomes) > 1:
            merged.flaky = True
            merged.outcome = "flaky"
            failing = next((c for c in cases if c.outcome in ("failed", "error", "flaky")), None)
            if failing is not None:
                merged.message, merged.longrepr = failing.message, failing.longrepr
        tests.append(merged)
        counts.add(merged.outcome)
    return tests, counts
