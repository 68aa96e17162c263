"""pytest plugin loaded into the test subprocess (``-p mcptest.collector``): streams one JSON line per event.

The parent process tails the file named by ``MCPTEST_EVENTS`` for live progress and builds the
TestCase records from it. With ``MCPTEST_CONTEXTS=1`` each test runs in its own coverage.py context
(named by its node id), so the lines every test covered can be read back from the coverage data.
Kept dependency-free and cheap: it runs inside the user's test process.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import IO, Any

import pytest

from mcptest import measure, ordering, watchdog

watchdog.guard_parent()  # first thing in the test process: it must not outlive mcptest

_EVENTS = "MCPTEST_EVENTS"
_CONTEXTS = "MCPTEST_CONTEXTS"
_REQ_MARKER = "MCPTEST_REQ_MARKER"
_MAX_TEXT = 20_000  # a runaway failure text is cut, not allowed to swell the record


def _cut(text: str | None) -> str | None:
    if text is None or len(text) <= _MAX_TEXT:
        return text
    return text[:_MAX_TEXT] + f"\n... [{len(text) - _MAX_TEXT} more characters cut by mcptest]"


class Collector:
    """Aggregates the setup/call/teardown reports of each test into one ``test`` event."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.pending: dict[str, dict[str, Any]] = {}
        self.current: str | None = None  # the test running now, named when pytest is interrupted
        self.positions: dict[str, int] = {}  # tests ended so far, per xdist worker: each test's place in the order

    def emit(self, event: dict[str, Any]) -> None:
        self.stream.write(json.dumps(event, default=str) + "\n")
        self.stream.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.emit({"event": "collected", "count": len(session.items)})

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.emit({"event": "collected", "count": len(ids), "worker": str(getattr(node, "gateway", node))})

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.emit({"event": "collect_error", "nodeid": report.nodeid, "longrepr": _cut(str(report.longrepr))})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        fresh: dict[str, Any] = {"phases": {}, "duration": 0.0, "attempts": [], "subtests": []}
        state = self.pending.setdefault(report.nodeid, fresh)
        state.setdefault("worker", ordering.worker_of(report))
        meta = getattr(report, "mcptest_meta", None)
        if meta:
            state["meta"] = meta
        if report.outcome == "rerun":  # pytest-rerunfailures: a failed attempt that will be run again
            state["attempts"].append(
                {"outcome": "failed", "duration": state["duration"] + report.duration, "message": _message(report)}
            )
            state["phases"] = {}
            state["duration"] = 0.0
            state["subtests"] = []
            return
        context = getattr(report, "context", None)
        if report.when == "call" and context is not None and hasattr(context, "kwargs"):
            # a subtest (unittest's self.subTest or pytest's subtests fixture): its own outcome, kept apart,
            # so the parent's later "passed" call report cannot hide a failed subtest
            state["subtests"].append(_subtest(report, context))
            return
        state["duration"] += report.duration
        state["phases"][report.when] = report

    def pytest_runtest_logfinish(self, nodeid: str, location: tuple[str, int | None, str]) -> None:
        self.current = None
        state = self.pending.pop(nodeid, None)
        if state is None:
            return
        if state["attempts"] and "setup" not in state["phases"]:
            # pytest-rerunfailures finishes each attempt: only the teardown of a retried attempt is here,
            # so keep the state until the attempt that decides the outcome has run
            state["phases"] = {}
            state["duration"] = 0.0
            self.pending[nodeid] = state
            return
        outcome, message, longrepr = _final(state["phases"])
        subtests = state["subtests"]
        failed_subtests = [t for t in subtests if t["outcome"] == "failed"]
        if failed_subtests and outcome in ("passed", "xpassed", "failed"):
            described = "; ".join(f"{t['description']}: {t['message'] or 'failed'}" for t in failed_subtests[:3])
            more = f"; and {len(failed_subtests) - 3} more" if len(failed_subtests) > 3 else ""
            if outcome != "failed":
                outcome, message = "failed", f"{len(failed_subtests)} failed subtest(s): {described}{more}"
            details = "\n\n".join(f"--- subtest {t['description']} ---\n{t['longrepr'] or ''}" for t in failed_subtests)
            longrepr = _cut(((longrepr or "") + "\n" + details).strip())
        meta = state.get("meta") or {
            "file": location[0].replace(os.sep, "/"),
            "line": None if location[1] is None else location[1] + 1,
            "name": nodeid.split("::")[-1],
            "markers": [],
            "requirements": [],
            "fixtures": [],
        }
        attempts = state["attempts"]
        if attempts:
            attempts.append({"outcome": outcome, "duration": state["duration"], "message": message})
        self.emit(
            {
                "event": "test",
                "nodeid": nodeid,
                **meta,
                "outcome": outcome,
                "duration": state["duration"],
                "message": message,
                "longrepr": longrepr,
                "attempts": attempts,
                "subtests": _kept_subtests(subtests),
                "order": ordering.stamp(self.positions, state.get("worker")),
            }
        )

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.current = nodeid

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        """pytest stopped: a KeyboardInterrupt or pytest.exit() (in a test, a fixture or a plugin), or -x/--sw."""
        value = excinfo.value
        message = str(getattr(value, "msg", None) or value or "")
        self.emit(
            {
                "event": "interrupted",
                "exception": type(value).__name__,
                "message": _cut(message),
                "returncode": getattr(value, "returncode", None),
                "nodeid": self.current,
            }
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        stop = session.shouldfail or session.shouldstop
        self.emit(
            {
                "event": "finish",
                "exitstatus": int(exitstatus),
                "core": measure.core(),
                "stopped": str(stop) if stop else None,
            }
        )


class ItemInfo:
    """Runs where the tests run (also in xdist workers): item metadata and per-test coverage contexts."""

    def __init__(self, contexts: bool, req_marker: str) -> None:
        self.req_marker = req_marker
        self.coverage: Any = None
        if contexts:
            import coverage

            self.coverage = coverage.Coverage.current()

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, None, None]:
        if self.coverage is not None:
            self.coverage.switch_context(item.nodeid)
        yield
        if self.coverage is not None:
            self.coverage.switch_context("")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
        outcome = yield
        report = outcome.get_result()
        if call.when != "setup":
            return
        path, line, _ = item.location
        reqs: list[str] = []
        for mark in item.iter_markers(name=self.req_marker):
            reqs.extend(str(arg) for arg in mark.args)
        report.mcptest_meta = {
            "file": path.replace(os.sep, "/"),
            "line": None if line is None else line + 1,
            "name": item.name,
            "markers": sorted({m.name for m in item.iter_markers()}),
            "requirements": sorted(set(reqs)),
            "fixtures": sorted(getattr(item, "fixturenames", [])),
        }


_MAX_SUBTESTS = 100  # per test: every failed subtest is kept, passed ones up to this many


def _subtest(report: pytest.TestReport, context: Any) -> dict[str, Any]:
    parts = [f"[{context.msg}]"] if getattr(context, "msg", None) is not None else []
    kwargs = getattr(context, "kwargs", None) or {}
    if kwargs:
        parts.append("(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")")
    outcome = _outcome(report) or "passed"
    return {
        "description": " ".join(parts) or "(subtest)",
        "outcome": "failed" if report.failed else outcome,
        "message": _message(report) if not report.passed else None,
        "longrepr": _cut(report.longreprtext) if report.failed else None,
    }


def _kept_subtests(subtests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    kept = [t for t in subtests if t["outcome"] != "passed"]
    kept += [t for t in subtests if t["outcome"] == "passed"][: max(0, _MAX_SUBTESTS - len(kept))]
    return [{k: v for k, v in t.items() if k != "longrepr"} for t in kept]


def _final(phases: dict[str, pytest.TestReport]) -> tuple[str, str | None, str | None]:
    """One outcome for a test from its phases: a broken setup is an error, a failed call a failure."""
    setup, call, teardown = phases.get("setup"), phases.get("call"), phases.get("teardown")
    if setup is not None and not setup.passed:
        result = _outcome(setup) or "error"
        return result, _message(setup), _cut(setup.longreprtext) if setup.failed else None
    if call is None:
        return "error", "test did not run its call phase", None
    result = _outcome(call) or "passed"
    message = _message(call) if result != "passed" else None
    longrepr = _cut(call.longreprtext) if call.failed else None
    if teardown is not None and teardown.failed:
        text = _cut(teardown.longreprtext) or ""
        if result == "failed":
            longrepr = (longrepr or "") + "\n--- error in teardown ---\n" + text
        else:
            result, message, longrepr = "error", _message(teardown), text
    return result, message, longrepr


def _outcome(report: pytest.TestReport) -> str | None:
    wasxfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return "xpassed" if wasxfail else "passed"
        if report.skipped:
            return "xfailed" if wasxfail else "skipped"
        return "failed"
    if report.failed:
        return "error"
    if report.skipped:
        return "xfailed" if wasxfail else "skipped"
    return None


def _message(report: pytest.TestReport) -> str | None:
    if hasattr(report, "wasxfail") and report.skipped:
        return f"xfail: {report.wasxfail}" if report.wasxfail else "xfail"
    longrepr = report.longrepr
    if longrepr is None:
        return None
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # skip: (path, line, reason)
        return str(longrepr[2])
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        return _cut(str(crash.message))
    text = str(longrepr).strip().splitlines()
    return _cut(text[-1]) if text else None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Start coverage.py before the conftests import the measured code (``measure.start``)."""
    measure.start()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_setupnodes(config: pytest.Config, specs: list[Any]) -> None:
    """Under ``coverage run``, have execnet start each local xdist worker through ``mcptest.xdist_worker``.

    Such a worker is measured from its first line, so the import-time lines of a measured package's pytest
    plugin count in it as they do in the serial run. A spec with its own ``python=`` or a remote one is left as
    given; such a worker starts coverage late and says what it missed (``early_imports`` with its id).
    """
    if os.environ.get("MCPTEST_COV_MODE") == "run" and os.environ.get("MCPTEST_COV_DATA"):
        from mcptest import xdist_worker

        xdist_worker.route(specs)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """With ``MCPTEST_RANDOM_SEED`` set, run the tests in a shuffled order that the seed reproduces."""
    seed = os.environ.get("MCPTEST_RANDOM_SEED")
    if seed is not None and seed != "":
        import random

        random.Random(int(seed)).shuffle(items)


def pytest_configure(config: pytest.Config) -> None:
    from mcptest import selection

    selection.register(config)
    watchdog.register(config)  # the budget stop
    config.pluginmanager.register(
        ItemInfo(os.environ.get(_CONTEXTS) == "1", os.environ.get(_REQ_MARKER) or "req"), "mcptest-iteminfo"
    )
    path = os.environ.get(_EVENTS)
    if not path or hasattr(config, "workerinput"):  # xdist workers report through the controller
        return
    stream = open(path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - closed in pytest_unconfigure
    collector = Collector(stream)
    config.pluginmanager.register(collector, "mcptest-collector")
    if measure.early_imports:
        collector.emit({"event": "early_imports", "modules": list(measure.early_imports)})
    config._mcptest_stream = stream  # type: ignore[attr-defined]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, None, None]:
    """Stop measuring once the tests (and their session fixtures' teardown) are done, as pytest-cov does.

    What follows (terminal summary, plugins' session-finish work, interpreter shutdown) is not the code under
    test, and running it under the tracer costs about 0.3 s on a 500-test suite.
    """
    try:
        yield
    finally:
        saved = measure.stop()
    collector = session.config.pluginmanager.get_plugin("mcptest-collector")  # None in xdist workers
    if saved and collector is not None:
        # the data file is final: mcptest can read it while pytest prints its summary and the process ends
        collector.emit({"event": "coverage_saved"})


def pytest_unconfigure(config: pytest.Config) -> None:
    stream = getattr(config, "_mcptest_stream", None)
    if stream is not None:
        stream.close()
    measure.stop()  # when the test loop never ran (usage or collection errors)
