"""The collect stage: the test process's events become a ``SuiteRun``, its exit status is judged, attempts merge.

The collector plugin (``collector.py``, inside the test process) writes one JSON line per event; ``handle_event``
reads one line into the suite's result as it arrives (the run stage calls it while the process runs, and passes
each test on to the progress callback). Once the process has ended, ``judge_exit`` (``collect_exit``) decides the
suite's status from what pytest reported and how the process ended: a process that ends without the ``finish``
event died, and is never a pass. ``merge_attempts`` (``collect_attempts``) makes one ``SuiteRun`` of the attempts
of ``--repeat``. ``SuiteRun`` itself is in ``suite_run``; every name is importable from here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from mcptest import pytest_output
from mcptest.collect_attempts import merge_attempts
from mcptest.collect_exit import describe_death, internal_error, judge_exit, usage_error
from mcptest.model import Attempt, Order, SubTest, TestCase
from mcptest.suite_run import EventHandler, SuiteRun, add_case, add_collection_error

__all__ = [
    "EventHandler",
    "SuiteRun",
    "add_collection_error",
    "describe_death",
    "handle_event",
    "internal_error",
    "judge_exit",
    "merge_attempts",
    "usage_error",
]


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
    add_case(run, suite, case, on_event)


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


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
