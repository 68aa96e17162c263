"""Name the cause of an order-dependent failure: the tests that, run before a test, make it fail, or that it
needs before it to pass.

A victim that passes on its own but failed in a recorded order was polluted by some of the tests that ran
before it there (a test that leaves module state, a patch, a file, a shared store behind). Every step is one
real pytest run of the suite, under its own config and arguments, that runs a chosen list of tests in the
chosen order and the victim last (``mcptest.bisect_step``); the list is halved while one half still makes
the victim fail, on the assumption that one test is the cause, which the last step checks. When it is not
(two tests that fail it only together), delta debugging over the last list that made it fail finds a set
from which no test can be left out (``mcptest.bisect_search``). A victim that fails on its own is searched
the other way round: the tests it needs before it to pass, among those that ran before it in an order where
it passed (a recorded one, else pytest's collection order). The number of steps is bounded; a search cut
short by the bound keeps the smallest set it has seen and says that it may not be the smallest.

This module reads the orders from the record, leads the bisection and stores its finding in the record.
Nothing here prints: the command line (``mcptest.cli_flaky``) shows the steps through ``on_step``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mcptest.bisect_search import OutOfSteps, Search
from mcptest.bisect_step import PytestSteps, Step, StepFailed, time_limit
from mcptest.config_model import Config
from mcptest.errors import UsageError
from mcptest.history import History, RecordSchemaError, ReportDirError, atomic_write_text, schema_problem
from mcptest.model import Bisection, Order, RunRecord, SuiteResult, TestCase

BAD = ("failed", "error")
DEFAULT_MAX_STEPS = 30
_OutOfSteps = OutOfSteps  # its name before the search had a module of its own


# --- reading orders from the record -----------------------------------------------------------------------------


def runs_of(test: TestCase) -> dict[int, tuple[Order, str]]:
    """Each run of the suite the test ran in: where it ran and how it ended there (a run in which one of its
    attempts failed counts as failed: pytest-rerunfailures ran it again where it had just failed)."""
    out: dict[int, tuple[Order, str]] = {}
    marks = [(a.order, a.outcome) for a in test.attempts if a.order is not None]
    if not marks and test.order is not None:
        marks = [(test.order, test.outcome)]
    for order, outcome in marks:
        seen = out.get(order.run)
        if seen is None or (outcome in BAD and seen[1] not in BAD):
            out[order.run] = (order, outcome)
    return out


def tests_before(suite: SuiteResult, nodeid: str, run: int) -> list[str]:
    """The tests that ran before ``nodeid`` in run ``run`` of the suite, in their order (on its xdist worker)."""
    victim = next((t for t in suite.tests if t.nodeid == nodeid), None)
    if victim is None or run not in runs_of(victim):
        return []
    mine = runs_of(victim)[run][0]
    before: list[tuple[int, str]] = []
    for test in suite.tests:
        there = runs_of(test).get(run)
        if there is None or test.nodeid == nodeid:
            continue
        order = there[0]
        if order.worker == mine.worker and order.position < mine.position:
            before.append((order.position, test.nodeid))
    return [nodeid for _, nodeid in sorted(before)]


def order_of_run(suite: SuiteResult, run: int) -> tuple[list[str], set[str | None]]:
    """Every test of run ``run`` in the order it ended there, and the xdist workers it ran on."""
    placed: list[tuple[str, int, str]] = []
    workers: set[str | None] = set()
    for test in suite.tests:
        there = runs_of(test).get(run)
        if there is not None:
            placed.append((there[0].worker or "", there[0].position, test.nodeid))
            workers.add(there[0].worker)
    return [nodeid for _, _, nodeid in sorted(placed)], workers


def find_test(record: RunRecord, nodeid: str) -> tuple[SuiteResult, TestCase]:
    """The test of the record named by ``nodeid``: its node id, or a unique end of one (``test_x``,
    ``test_a.py::test_x``). UsageError when it names none or several."""
    exact = [(s, t) for s in record.suites for t in s.tests if t.nodeid == nodeid]
    if exact:
        return exact[0]
    ends = [(s, t) for s in record.suites for t in s.tests if t.nodeid.endswith(("::" + nodeid, "/" + nodeid))]
    if len(ends) == 1:
        return ends[0]
    if ends:
        names = ", ".join(t.nodeid for _, t in ends[:5])
        raise UsageError(f"{nodeid!r} names {len(ends)} tests of run {record.id}: {names}; give the whole node id")
    raise UsageError(f"run {record.id} has no test {nodeid!r} (mcptest flaky lists the tests to bisect)")


def victims(record: RunRecord) -> list[tuple[SuiteResult, TestCase]]:
    """The tests worth bisecting, the first victim first: flaky tests (their outcome changed between runs or
    reruns), then failed ones, each ordered by where it first failed (run, then position)."""

    def first_failure(test: TestCase) -> tuple[int, int]:
        failing = [(run, order.position) for run, (order, outcome) in runs_of(test).items() if outcome in BAD]
        return min(failing) if failing else (sys.maxsize, sys.maxsize)

    found = [
        (s, t)
        for s in record.suites
        for t in s.tests
        if (t.flaky or t.outcome in BAD) and "collection-error" not in t.markers and runs_of(t)
    ]
    return sorted(found, key=lambda st: (not st[1].flaky, first_failure(st[1])))


# --- a bisection ------------------------------------------------------------------------------------------------


def _names(nodeids: list[str]) -> str:
    if len(nodeids) <= 1:
        return "".join(nodeids)
    return ", ".join(nodeids[:-1]) + " and " + nodeids[-1]


def _first_run(known: dict[int, tuple[Order, str]], outcomes: tuple[str, ...]) -> int | None:
    """The first recorded run in which the test ended in one of ``outcomes``."""
    return min((r for r, (_, o) in known.items() if o in outcomes), default=None)


class _Bisector:
    """One bisection's steps, each counted against the bound and shown, and the finding they lead to."""

    def __init__(self, steps: PytestSteps, result: SuiteResult, victim: str, max_steps: int,
                 on_step: Callable[[Step, str], None] | None) -> None:  # fmt: skip
        self.steps, self.result, self.victim = steps, result, victim
        self.max_steps, self.on_step = max_steps, on_step
        self.started = time.monotonic()
        self.done = Bisection(nodeid=victim, suite=result.name, verdict="error", at=_now())

    def step(self, before: list[str], why: str) -> Step:
        if self.steps.count >= self.max_steps:
            raise OutOfSteps()
        taken = self.steps([*before, self.victim])
        if self.on_step is not None:
            self.on_step(taken, why)
        return taken

    def finish(self, verdict: str, text: str, culprits: list[str] | None = None, minimal: bool = True) -> Bisection:
        done = self.done
        done.verdict, done.culprits, done.minimal = verdict, list(culprits or []), minimal
        done.steps, done.seconds = self.steps.count, round(time.monotonic() - self.started, 3)
        bound = "" if minimal else f"; the bound of {self.max_steps} steps ended the search, a smaller set may exist"
        done.message = f"{self.victim} {text} ({done.steps} steps, {done.seconds:.1f} s{bound})"
        return done

    def search(self, before: list[str], outcomes: tuple[str, ...]) -> tuple[list[str], bool]:
        """The smallest part of ``before`` after which the victim ends in one of ``outcomes``, and whether the
        search proved it the smallest (see :meth:`Search.run`)."""
        search = Search(before, lambda tests: self.step(tests, f"after {len(tests)} of them").outcome in outcomes)
        minimal = search.run()
        return search.best, minimal

    def fails_after(self, failing: int | None) -> Bisection:
        """The victim passes alone: the tests that, run before it in run ``failing``, make it fail."""
        if failing is None:
            return self.finish("not-reproduced", "passes alone and failed in no recorded run: nothing to bisect")
        self.done.run = failing
        before = tests_before(self.result, self.victim, failing)
        if not before:
            return self.finish(
                "not-reproduced", f"ran first in run {failing} and passes alone: not an order dependence"
            )
        again = self.step(before, f"after the {len(before)} tests before it in run {failing}")
        if again.outcome not in BAD:
            return self.finish(
                "not-reproduced",
                f"passed when run after the {len(before)} tests that ran before it in run {failing}: "
                "the failure did not come back (a timing or outside cause, not the order)",
            )
        best, minimal = self.search(before, BAD)
        return self.finish("fails-after", f"fails when run after {_names(best)}", best, minimal)

    def depends_on(self, passing: int | None, alone: Step) -> Bisection:
        """The victim fails alone: the tests it needs before it to pass, among those that ran before it in run
        ``passing``, else in pytest's collection order (as ``alone`` collected it)."""
        if passing is not None:
            self.done.run = passing
            before, where = tests_before(self.result, self.victim, passing), f"in run {passing}"
        else:
            collected = alone.collected or []
            before = collected[: collected.index(self.victim)] if self.victim in collected else []
            where = "in the collection order"
        if not before:
            return self.finish(
                "fails-alone", "fails when run alone and passed in no recorded order: not an order dependence"
            )
        again = self.step(before, f"after the {len(before)} tests before it {where}")
        if again.outcome != "passed":
            return self.finish(
                "fails-alone",
                f"fails alone and after the {len(before)} tests that ran before it {where}: not an order dependence",
            )
        best, minimal = self.search(before, ("passed",))
        one = len(best) == 1
        return self.finish(
            "depends-on",
            f"depends on {_names(best)}: it passes only when {'that runs' if one else 'they run'} first",
            best,
            minimal,
        )


def bisect(
    config: Config,
    record: RunRecord,
    nodeid: str,
    *,
    run: int | None = None,
    max_steps: int = DEFAULT_MAX_STEPS,
    on_step: Callable[[Step, str], None] | None = None,
    log_dir: Path | None = None,
) -> Bisection:
    """Bisect the tests that ran before ``nodeid`` in a recorded run of its suite (``run``: which run of a
    --repeat; default the first where it failed, or passed when it fails on its own). Raises UsageError for a
    test or run the record does not have; a step that cannot run ends the search with verdict ``error``."""
    if max_steps < 3:
        raise UsageError(f"--max-steps must be at least 3 (alone, the recorded order, one halving), not {max_steps}")
    result, test = find_test(record, nodeid)
    suite = config.suites.get(result.name)
    if suite is None:
        raise UsageError(f"suite {result.name!r} of run {record.id} is not in {config.path.name} any more")
    known = runs_of(test)
    if run is not None and run not in known:
        have = ", ".join(str(r) for r in sorted(known)) or "none"
        raise UsageError(f"{test.nodeid} did not run in run {run} of run {record.id} (its runs: {have})")
    folder = log_dir or config.report_dir / "logs" / f"{record.id}-bisect"
    limit = time_limit(result, suite)
    steps = PytestSteps(config, suite, result.paths, record.selection.pytest_args, seconds_limit=limit, log_dir=folder)
    this = _Bisector(steps, result, test.nodeid, max_steps, on_step)
    try:
        alone = this.step([], "alone")
        if alone.outcome == "skipped":
            return this.finish("not-reproduced", "is skipped when run alone: nothing to bisect")
        if alone.outcome not in BAD:  # passes alone: something that ran before it made it fail
            return this.fails_after(run if run is not None else _first_run(known, BAD))
        # fails alone: which tests does it need before it to pass?
        return this.depends_on(run if run is not None else _first_run(known, ("passed",)), alone)
    except OutOfSteps:
        return this.finish("not-reproduced", "could not be judged within the step bound", minimal=False)
    except StepFailed as exc:
        return this.finish("error", f"could not be bisected: {exc}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def store(history: History, record: RunRecord, found: Bisection) -> Path:
    """Add ``found`` to the stored record (replacing an earlier bisection of the same test), in runs/ and in
    latest.json when the record is the latest run. Raises ReportDirError when it cannot be written."""
    record.bisections = [b for b in record.bisections if (b.nodeid, b.suite) != (found.nodeid, found.suite)]
    record.bisections.append(found)
    data = record.to_dict()
    problem = schema_problem(data)
    if problem:
        raise RecordSchemaError(f"the bisection breaks the run record schema ({problem}); this is a bug in mcptest")
    text = json.dumps(data, sort_keys=False) + "\n"
    path = history.run_path(record.id)
    targets = [path]
    latest = history.read(history.latest_path, "latest record", build=False)
    if isinstance(latest.data, dict) and latest.data.get("id") == record.id:
        targets.append(history.latest_path)
    for target in targets:
        try:
            atomic_write_text(target, text)
        except OSError as exc:
            raise ReportDirError(f"cannot write the run record {target}: {exc.strerror or exc}") from exc
    return path
