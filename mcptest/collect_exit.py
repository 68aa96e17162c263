"""The collect stage's judgement of a test process that has ended: the suite's status and problems.

A process that ends without the collector's ``finish`` event died, and is never a pass; pytest's usage error
is a conftest that failed to import or arguments it rejected (and where they came from); its internal error,
an early stop and an exit status that contradicts the outcomes it reported are problems of the suite.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from mcptest import pytest_output
from mcptest.config_model import SuiteConfig
from mcptest.plan import RunOptions, requested_args
from mcptest.suite_run import SuiteRun, add_collection_error

_SIGNAL_NAMES = {-s.value: s.name for s in signal.Signals}
_PYTEST_EXITS = {1: "tests failed", 2: "interrupted", 3: "internal error", 4: "usage error", 5: "no tests collected"}


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
