"""Name the cause of an order-dependent failure: the tests that, run before a test, make it fail, or that it
needs before it to pass.

A victim that passes on its own but failed in a recorded order was polluted by some of the tests that ran
before it there (a test that leaves module state, a patch, a file, a shared store behind). Every step is one
real pytest run of the suite, under its own config and arguments, that runs a chosen list of tests in the
chosen order and the victim last (``mcptest.ordering``); the list is halved while one half still makes the
victim fail, on the assumption that one test is the cause, which the last step checks. When it is not (two
tests that fail it only together), delta debugging over the last list that made it fail finds a set from
which no test can be left out. A victim that fails on its own is searched the other way round: the tests it
needs before it to pass, among those that ran before it in an order where it passed (a recorded one, else
pytest's collection order). The number of steps is bounded; a search cut short by the bound keeps the
smallest set it has seen and says that it may not be the smallest.

Nothing here prints: the command line (``mcptest.cli_flaky``) shows the steps through ``on_step``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from mcptest import lifecycle
from mcptest.config_model import Config, SuiteConfig
from mcptest.errors import McptestError, UsageError
from mcptest.history import History, RecordSchemaError, ReportDirError, atomic_write_text, schema_problem
from mcptest.model import Bisection, Order, RunRecord, SuiteResult, TestCase

BAD = ("failed", "error")
DEFAULT_MAX_STEPS = 30
#: A step that runs longer than this many times the suite's recorded time (at least a minute) is stopped.
STEP_TIME_FACTOR = 3
STEP_TIME_MIN = 60.0


class StepFailed(McptestError):
    """A step's pytest run could not say how the test ended (a usage error, a crash, a hang)."""


class _OutOfSteps(Exception):
    pass


@dataclass
class Step:
    """One pytest run: the tests it ran (the victim last) and how the victim ended."""

    number: int
    tests: list[str]
    outcome: str  # passed | failed | skipped
    seconds: float
    collected: list[str] | None = None


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


# --- one step -------------------------------------------------------------------------------------------------


class PytestSteps:
    """Runs a list of tests, in order, as one pytest run of the suite (its paths, config and arguments)."""

    def __init__(self, config: Config, suite: SuiteConfig, paths: Sequence[str], extra_args: Sequence[str],
                 *, seconds_limit: float, log_dir: Path) -> None:  # fmt: skip
        self.config = config
        self.suite = suite
        self.paths = list(paths)
        self.extra_args = list(extra_args)
        self.seconds_limit = seconds_limit
        self.log_dir = log_dir
        self.count = 0

    def command(self, order_file: Path, outcomes_file: Path) -> list[str]:
        cmd = [sys.executable, "-m", "pytest", "-p", "mcptest.ordering"]
        if self.suite.timeout is not None:
            cmd.append(f"--timeout={self.suite.timeout:g}")
        cmd += [*self.suite.pytest_args, *self.extra_args]
        if importlib.util.find_spec("xdist") is not None:
            cmd += ["-n", "0"]  # one process runs the tests in the order given (after any -n of the project)
        return [
            *cmd,
            f"--mcptest-order={order_file}",
            "--mcptest-order-subset",
            f"--mcptest-outcomes={outcomes_file}",
            *self.paths,
        ]

    def log_file(self, number: int) -> Path:
        return self.log_dir / f"step-{number}.log"

    def __call__(self, tests: list[str]) -> Step:
        self.count += 1
        number = self.count
        with tempfile.TemporaryDirectory(prefix="mcptest-bisect-") as tmp:
            order_file, outcomes_file = Path(tmp) / "order.txt", Path(tmp) / "outcomes.jsonl"
            order_file.write_text("".join(f"{t}\n" for t in tests), encoding="utf-8")
            outcomes_file.write_text("", encoding="utf-8")
            cmd = self.command(order_file, outcomes_file)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("MCPTEST_", "PYTEST_XDIST_"))}
            env.pop("COVERAGE_PROCESS_START", None)
            env[lifecycle.PARENT_ENV] = str(os.getpid())  # the step ends with mcptest (mcptest.watchdog)
            log = self.log_file(number)
            log.parent.mkdir(parents=True, exist_ok=True)
            start = time.monotonic()
            with log.open("wb") as out:
                out.write(("$ " + " ".join(cmd) + "\n").encode())
                out.flush()
                code = _run(cmd, self.config.root, env, out, self.seconds_limit)
            seconds = time.monotonic() - start
            lines = outcomes_file.read_text(encoding="utf-8").splitlines()
        collected: list[str] | None = None
        outcome: str | None = None
        victim = tests[-1]
        for line in lines:
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if "collected" in data:
                    collected = [str(n) for n in data["collected"]]
                elif "missing" in data:
                    raise StepFailed(
                        f"step {number}: the suite no longer collects {', '.join(data['missing'][:3])} "
                        f"(pytest's output: {log})"
                    )
                elif data.get("nodeid") == victim:
                    outcome = str(data.get("outcome"))
        if outcome is None:
            why = "ran past its time limit and was stopped" if code is None else f"ended with pytest exit {code}"
            tail = _tail(log)
            raise StepFailed(f"step {number} did not run {victim}: pytest {why}{tail} (its output: {log})")
        return Step(number, list(tests), outcome, seconds, collected)


def _run(cmd: list[str], cwd: Path, env: dict[str, str], out: IO[bytes], limit: float) -> int | None:
    """Run ``cmd`` in its own process group; its exit code, or None when it was stopped at ``limit`` seconds.
    The group is killed however this ends (Ctrl-C included)."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        return proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _tail(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    meaningful = [line for line in lines if line and not line.startswith("$ ")]
    return f": {meaningful[-1][:200]}" if meaningful else ""


# --- the search -----------------------------------------------------------------------------------------------


class Search:
    """The smallest list of ``candidates`` (kept in their order) for which ``interesting`` holds; ``candidates``
    themselves are known to be interesting. ``best`` is the smallest interesting list seen so far."""

    def __init__(self, candidates: list[str], interesting: Callable[[list[str]], bool]) -> None:
        self.best = list(candidates)
        self.interesting = interesting
        self.seen: dict[tuple[str, ...], bool] = {tuple(candidates): True}  # no list is run twice

    def check(self, tests: list[str]) -> bool:
        key = tuple(tests)
        if key not in self.seen:
            self.seen[key] = self.interesting(tests)
        if self.seen[key] and len(tests) < len(self.best):
            self.best = list(tests)
        return self.seen[key]

    def run(self) -> bool:
        """Search; whether ``best`` is as small as the search can prove (False: the step bound cut it short)."""
        try:
            current, checked = self.best, True
            while len(current) > 1:
                half = len(current) // 2
                if self.check(current[:half]):
                    current, checked = current[:half], True
                else:
                    current, checked = current[half:], False  # one cause assumed: it is in the other half
            if checked or self.check(current):
                return True  # one test, and the victim passes alone: nothing smaller can be the cause
            self.ddmin()  # no single test is the cause: some are needed together
            return True
        except _OutOfSteps:
            return False

    def ddmin(self) -> None:
        """Delta debugging: split into n parts, keep a part or a complement that is still interesting."""
        parts = 2
        while len(self.best) >= 2:
            current = self.best
            chunks = [current[i * len(current) // parts : (i + 1) * len(current) // parts] for i in range(parts)]
            chunks = [c for c in chunks if c]
            if any(self.check(chunk) for chunk in chunks):
                parts = 2
                continue
            if parts > 2:
                kept = [[t for t in current if t not in set(chunk)] for chunk in chunks]
                if any(self.check(rest) for rest in kept):
                    parts = max(parts - 1, 2)
                    continue
            if parts >= len(current):
                return
            parts = min(len(current), parts * 2)


# --- a bisection ------------------------------------------------------------------------------------------------


def _names(nodeids: list[str]) -> str:
    if len(nodeids) <= 1:
        return "".join(nodeids)
    return ", ".join(nodeids[:-1]) + " and " + nodeids[-1]


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
    limit = max(STEP_TIME_MIN, STEP_TIME_FACTOR * (max(result.duration, 0.0) + 1.0))
    if suite.budget is not None:
        limit = max(limit, suite.budget)
    folder = log_dir or config.report_dir / "logs" / f"{record.id}-bisect"
    steps = PytestSteps(config, suite, result.paths, record.selection.pytest_args, seconds_limit=limit, log_dir=folder)
    victim = test.nodeid
    started = time.monotonic()
    done = Bisection(nodeid=victim, suite=result.name, verdict="error", at=_now())

    def step(before: list[str], why: str) -> Step:
        if steps.count >= max_steps:
            raise _OutOfSteps()
        taken = steps([*before, victim])
        if on_step is not None:
            on_step(taken, why)
        return taken

    def finish(verdict: str, text: str, culprits: list[str] | None = None, minimal: bool = True) -> Bisection:
        done.verdict, done.culprits, done.minimal = verdict, list(culprits or []), minimal
        done.steps, done.seconds = steps.count, round(time.monotonic() - started, 3)
        bound = "" if minimal else f"; the bound of {max_steps} steps ended the search, a smaller set may exist"
        done.message = f"{victim} {text} ({done.steps} steps, {done.seconds:.1f} s{bound})"
        return done

    try:
        alone = step([], "alone")
        if alone.outcome == "skipped":
            return finish("not-reproduced", "is skipped when run alone: nothing to bisect")
        if alone.outcome not in BAD:  # passes alone: something that ran before it made it fail
            failing = run if run is not None else min((r for r, (_, o) in known.items() if o in BAD), default=None)
            if failing is None:
                return finish("not-reproduced", "passes alone and failed in no recorded run: nothing to bisect")
            done.run = failing
            before = tests_before(result, victim, failing)
            if not before:
                return finish("not-reproduced", f"ran first in run {failing} and passes alone: not an order dependence")
            again = step(before, f"after the {len(before)} tests before it in run {failing}")
            if again.outcome not in BAD:
                return finish(
                    "not-reproduced",
                    f"passed when run after the {len(before)} tests that ran before it in run {failing}: "
                    "the failure did not come back (a timing or outside cause, not the order)",
                )
            search = Search(before, lambda tests: step(tests, f"after {len(tests)} of them").outcome in BAD)
            minimal = search.run()
            return finish("fails-after", f"fails when run after {_names(search.best)}", search.best, minimal)
        # fails alone: which tests does it need before it to pass?
        passing = run if run is not None else min((r for r, (_, o) in known.items() if o == "passed"), default=None)
        if passing is not None:
            done.run = passing
            before, where = tests_before(result, victim, passing), f"in run {passing}"
        else:
            collected = alone.collected or []
            before = collected[: collected.index(victim)] if victim in collected else []
            where = "in the collection order"
        if not before:
            return finish(
                "fails-alone", "fails when run alone and passed in no recorded order: not an order dependence"
            )
        again = step(before, f"after the {len(before)} tests before it {where}")
        if again.outcome != "passed":
            return finish(
                "fails-alone",
                f"fails alone and after the {len(before)} tests that ran before it {where}: not an order dependence",
            )
        search = Search(before, lambda tests: step(tests, f"after {len(tests)} of them").outcome == "passed")
        minimal = search.run()
        one = len(search.best) == 1
        return finish(
            "depends-on",
            f"depends on {_names(search.best)}: it passes only when {'that runs' if one else 'they run'} first",
            search.best,
            minimal,
        )
    except _OutOfSteps:
        return finish("not-reproduced", "could not be judged within the step bound", minimal=False)
    except StepFailed as exc:
        return finish("error", f"could not be bisected: {exc}")


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
