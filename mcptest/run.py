"""The run stage: one suite's pytest process, from its start to its end (or its time budget).

The process is started in its own session (``start_new_session``) so that its whole group can be stopped; its
events are read from a file as they come and handed to the collect stage (``collect.handle_event``), its
output goes to the suite's log. A budget stops scheduling, not the process: once it runs out the process is
told to start no further test (a stop file, read by ``watchdog.py`` inside it), and it is interrupted only
after a grace, with SIGINT, so that pytest still saves the coverage measured. Ctrl-C or SIGTERM stop the
process group and raise ``Interrupted``.

``Hooks`` is where a caller may take part without changing any of this: start the process some other way
(it must be equivalent), and hear when it has started and when its coverage data is saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mcptest import collect, covdata, lifecycle
from mcptest.collect import EventHandler, SuiteRun
from mcptest.config_model import Config, SuiteConfig
from mcptest.plan import RunOptions, coverage_mode, pytest_command, requested_args
from mcptest.record import suite_result

_POLL = 0.05
#: Variables of an outer pytest-xdist worker (or coverage.py's subprocess hook) that must not leak into a suite.
_OUTER_VARIABLES = (
    "COVERAGE_PROCESS_START",
    "PYTEST_XDIST_WORKER",
    "PYTEST_XDIST_TESTRUNUID",
    "PYTEST_XDIST_WORKER_COUNT",
)


class Interrupted(Exception):
    """Raised inside the run when the user pressed Ctrl-C or mcptest got SIGTERM."""


class Hooks:
    """What a caller may do around each test process; here, nothing."""

    def spawn(self, cmd: list[str], cwd: str, env: dict[str, str], log: str) -> subprocess.Popen[bytes] | None:
        """A process already running ``cmd`` as a fresh one would, or None to start one as usual."""
        return None

    def started(self) -> None:
        """The test process has started."""

    def data_saved(self, run: SuiteRun) -> None:
        """The test process has saved its coverage data and is still finishing."""


@dataclass
class _Files:
    """The files of one attempt of a suite in the run's tmp folder."""

    data: Path  # coverage.py's data (xdist workers add parts beside it)
    events: Path  # the collector's JSON lines
    stop: Path  # created when the budget runs out: the test process starts no further test

    @classmethod
    def of(cls, workdir: Path, suite: str, attempt: int) -> _Files:
        stem = workdir / f"{suite}-{attempt}"
        return cls(Path(f"{stem}.coverage"), Path(f"{stem}.events.jsonl"), Path(f"{stem}.stop"))


def run_suite(
    config: Config,
    suite: SuiteConfig,
    paths: Sequence[str],
    options: RunOptions,
    workdir: Path,
    log_file: Path,
    on_event: EventHandler,
    *,
    attempt: int = 0,
    seed: int | None = None,
    hooks: Hooks | None = None,
) -> SuiteRun:
    """Run one suite's pytest subprocess to the end (or its budget), streaming its events."""
    files = _Files.of(workdir, suite.name, attempt)
    files.events.write_text("", encoding="utf-8")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env, notes = process_env(config, suite, paths, options, files, attempt, seed)
    cmd = pytest_command(config, suite, paths, options, files.data)
    run = SuiteRun(
        result=suite_result(suite, paths, "incomplete", notes),
        data_file=files.data,
        log_file=log_file,
        root=config.root,
    )
    announce = {"suite": suite.name, "paths": list(paths), "command": cmd, "attempt": attempt}
    announce |= {"repeat": options.repeat, "seed": seed}
    process = _Process(run, suite, files, on_event, hooks or Hooks())
    with open(log_file, "wb") as log, open(files.events, encoding="utf-8") as events:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        try:
            process.start(cmd, str(config.root), env, log, announce)
            process.watch(events)
        except KeyboardInterrupt:
            process.interrupt()
            raise Interrupted() from None
        process.end(events)
    return _ended(run, process, suite, options, workdir, on_event)


def process_env(
    config: Config,
    suite: SuiteConfig,
    paths: Sequence[str],
    options: RunOptions,
    files: _Files,
    attempt: int,
    seed: int | None,
) -> tuple[dict[str, str], list[str]]:
    """The test process's environment (what the collector plugin reads), and notes for the suite's problems."""
    env = dict(os.environ)
    env.update(
        {
            "MCPTEST_EVENTS": str(files.events),
            "MCPTEST_CONTEXTS": "1" if options.contexts else "0",
            "MCPTEST_REQ_MARKER": config.report.requirement_marker,
            "MCPTEST_SUITE": suite.name,
            "MCPTEST_COV_DATA": str(files.data),
            "MCPTEST_COV_SOURCE": ",".join(config.source),
            "MCPTEST_COV_BRANCH": "1" if config.coverage.branch else "0",
            "MCPTEST_RANDOM_SEED": "" if seed is None else str(seed),
            "MCPTEST_ATTEMPT": str(attempt + 1),  # each test's order in the record names its run
            "MCPTEST_COV_MODE": coverage_mode(config, [*suite.pytest_args, *options.pytest_args]),
            # what the user asked for, so the collector can tell whether it narrowed the suite (selection.py)
            "MCPTEST_REQUESTED_ARGS": json.dumps(requested_args(options)),
            "MCPTEST_SUITE_PATHS": json.dumps(list(paths)),
        }
    )
    notes: list[str] = []
    if options.contexts:
        # per-test contexts are switched from the plugin; only the C tracer records them completely
        # (coverage.py's sysmon core, the default on Python 3.14+, may miss lines after a switch)
        chosen = os.environ.get("COVERAGE_CORE", "")
        if chosen and chosen != "ctrace":
            notes.append(f"--contexts measures with the C tracer: COVERAGE_CORE={chosen} was overridden")
        env["COVERAGE_CORE"] = "ctrace"
    # the suite's pytest is a fresh session: variables of an outer pytest-xdist worker must not leak into it
    for name in _OUTER_VARIABLES:
        env.pop(name, None)
    env.update(options.env)  # --shard: the split's variables (mcptest.cli_ci)
    # the test process ends when mcptest does, and stops starting tests once the stop file exists (watchdog.py)
    env[lifecycle.PARENT_ENV] = str(os.getpid())
    env.pop(lifecycle.STOP_ENV, None)
    if suite.budget is not None:
        env[lifecycle.STOP_ENV] = str(files.stop)
    return env, notes


class _Process:
    """One test process: started, its events read as they come, its budget kept, stopped when interrupted."""

    def __init__(self, run: SuiteRun, suite: SuiteConfig, files: _Files, on_event: EventHandler, hooks: Hooks):
        self.run = run
        self.suite = suite
        self.files = files
        self.on_event = on_event
        self.hooks = hooks
        self.proc: subprocess.Popen[bytes] | None = None
        self.buffer = ""
        self.begun = time.monotonic()
        self.stop_at: float | None = None  # when the budget ran out and the test process was told to stop

    def start(self, cmd: list[str], cwd: str, env: dict[str, str], log: IO[bytes], announce: dict[str, object]) -> None:
        with lifecycle.shielded():  # a signal now is acted on once the process is known and tracked
            # a process the caller started ahead, when it can stand in for a fresh one (else None)
            self.proc = self.hooks.spawn(cmd, cwd, env, str(self.run.log_file))
            if self.proc is None:
                self.proc = subprocess.Popen(
                    cmd,
                    cwd=cwd,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            lifecycle.track(self.proc.pid)
            # announced once started: printing the first progress line loads the caller's console (rich),
            # which need not delay the tests
            self.on_event("suite-start", announce)
            self.hooks.started()

    def watch(self, events: IO[str]) -> None:
        """Read the events until the process ends; keep the budget."""
        assert self.proc is not None  # set before the window in which the loop runs
        data_seen = False
        with lifecycle.interruptible():
            while True:
                done = self.proc.poll() is not None
                self._read(events)
                if done:
                    break
                if self.run.data_saved and not data_seen:
                    data_seen = True
                    self.hooks.data_saved(self.run)
                if self.suite.budget is not None and self._keep_budget(self.suite.budget):
                    continue
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=_POLL)  # returns as soon as the test process ends, unlike a sleep

    def _read(self, events: IO[str]) -> None:
        chunk = events.read()
        if chunk:
            self.buffer += chunk
            *lines, self.buffer = self.buffer.split("\n")
            for line in lines:
                collect.handle_event(self.run, self.suite.name, line, self.on_event)

    def _keep_budget(self, budget: float) -> bool:
        """Ask the process to stop once the budget is spent, interrupt it after the grace; True if interrupted."""
        assert self.proc is not None
        now = time.monotonic()
        if self.stop_at is None and now - self.begun > budget:
            self.stop_at = now
            _request_stop(self.files.stop)
        elif self.stop_at is not None and now - self.stop_at > _budget_deadline(self.run, budget):
            # the running test did not end within the grace: SIGINT makes pytest end it and
            # save coverage; SIGKILL follows when even that does not end the process
            self.run.killed_for_budget = not self.run.data_saved
            _stop(self.proc, signal.SIGINT, lifecycle.INTERRUPT_GRACE)
            return True
        return False

    def interrupt(self) -> None:
        """Ctrl-C or SIGTERM: stop the process group (it may still save its coverage)."""
        if self.proc is not None:
            _stop(self.proc, signal.SIGINT, lifecycle.INTERRUPT_GRACE)
            lifecycle.untrack(self.proc.pid)
        self.run.result.duration = time.monotonic() - self.begun

    def end(self, events: IO[str]) -> None:
        """The process has ended: forget it, and read what is left of its last event line."""
        assert self.proc is not None  # set before the window in which the loop runs
        lifecycle.untrack(self.proc.pid)
        if self.buffer.strip():
            collect.handle_event(self.run, self.suite.name, self.buffer, self.on_event)


def _ended(
    run: SuiteRun, process: _Process, suite: SuiteConfig, options: RunOptions, workdir: Path, on_event: EventHandler
) -> SuiteRun:
    """After the process: the budget's notes, the duration, the workers' data folded in, the exit judged."""
    assert process.proc is not None
    if process.stop_at is not None:
        _budget_notes(run, suite.budget or 0.0, process.files.stop)
    run.result.duration = time.monotonic() - process.begun
    parts = sorted(workdir.glob(run.data_file.name + ".*"))
    if parts:  # xdist workers measured themselves: fold their data into the suite's file
        covdata.combine([run.data_file, *parts], run.data_file)
    collect.judge_exit(run, process.proc.returncode, suite, options)
    on_event("suite-end", {"suite": suite.name, "result": run.result})
    return run


def _stop(proc: subprocess.Popen[bytes], first: signal.Signals, grace: float) -> None:
    """Signal the child's process group, then kill it if it has not ended within ``grace`` seconds; what is
    left of the group once its leader has ended (xdist workers, processes the tests started) is killed too.

    Signals are held meanwhile (a second Ctrl-C still kills the group at once, see ``lifecycle``)."""
    with lifecycle.shielded():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, first)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the group outlives its leader while a member runs


def _request_stop(stop_file: Path) -> None:
    """Tell the test process to start no further test (``watchdog.BudgetStop`` checks after every test)."""
    with contextlib.suppress(OSError):
        stop_file.touch()


def _budget_deadline(run: SuiteRun, budget: float) -> float:
    """Seconds after the stop request until the test process is interrupted: the grace, and once its coverage
    is saved (its tests are over, it is printing its summary) as long again as an interrupt may take."""
    return lifecycle.budget_grace(budget) + (lifecycle.INTERRUPT_GRACE if run.data_saved else 0.0)


def _budget_notes(run: SuiteRun, budget: float, stop_file: Path) -> None:
    """After a budget stop: a suite whose tests were cut short is ``killed_for_budget``, and the problems say
    how it ended and what was measured. A suite whose tests had all started before the budget ran out is not
    (it only took too long; its budget verdict fails and its data is judged as usual)."""
    killed = run.killed_for_budget
    if not killed and not stop_file.with_name(stop_file.name + ".ack").exists():
        return
    run.killed_for_budget = True
    if killed:
        how = f"the running test had not ended {lifecycle.budget_grace(budget):g}s later and was interrupted"
    else:
        how = "the running test ended and no further test was started"
    of = f" of {run.collected}" if run.collected is not None else ""
    data = "the coverage measured until then is reported, not gated" if run.data_saved else "no coverage was saved"
    run.result.problems.append(
        f"its time budget of {budget:g}s ran out: {how}; {len(run.result.tests)}{of} test(s) ran; {data}"
    )


