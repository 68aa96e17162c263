"""Run suites: pytest in a subprocess under coverage.py, events streamed back, then gates and the run record.

The flow: plan -> (preflight) -> one subprocess per suite -> collect events and coverage data -> gate ->
record. This module returns data and never prints; progress goes to an ``on_event`` callback.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest import collect, covdata, gate, lifecycle, lock, persist, prestart, suite_gate
from mcptest.collect import EventHandler, SuiteRun
from mcptest.config_model import Config, SuiteConfig
from mcptest.history import History
from mcptest.model import (
    BridgeProbe,
    Counts,
    GitInfo,
    RunRecord,
    Verdict,
)
from mcptest.plan import RunOptions, coverage_mode, plan, pytest_command, requested_args, settle_options
from mcptest.record import new_record, now_iso, suite_result

#: Preflight hook: (config, suite, options) -> (probes, problems, cleanup); problems stop the suite.
PreflightHook = Callable[[Config, SuiteConfig, RunOptions], "PreflightOutcome"]

_POLL = 0.05


class Interrupted(Exception):
    """Raised inside the run when the user pressed Ctrl-C or mcptest got SIGTERM."""


@dataclass
class PreflightOutcome:
    probes: list[BridgeProbe] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    close: Callable[[], object] | None = None
    #: Calls each required bridge has served so far (None: not a simulator, cannot tell).
    count_calls: Callable[[], dict[str, int | None]] | None = None


def git_info(root: Path) -> GitInfo | None:
    """Commit, branch and dirty flag when ``root`` is inside a git work tree."""
    if shutil.which("git") is None:
        return None

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return GitInfo(commit=commit, branch=git("rev-parse", "--abbrev-ref", "HEAD"), dirty=bool(status))


class _Background:
    """Work a run needs only after its tests, done on the otherwise idle second core while they run.

    The test process keeps one core busy and the parent sleeps in its poll loop; git state, the baseline and
    the imports of the analysis (coverage.py) and of the caller's report used to be sequential fixed costs of
    every run (measured: a 1.82 s run of 500 tests became 1.77 s). It also parses the measured source files for
    the coverage report (``covdata.StaticAnalysis``), the report's largest cost, and runs the audit when the
    config gates on it. Started right after the first test process;
    ``wait()`` joins it, or does the work inline when no test process was started (every suite stopped by its
    preflight).
    """

    def __init__(self, config: Config, history: History, extra: Callable[[], object] | None) -> None:
        self._config = config
        self._history = history
        self._extra = extra
        self._thread: threading.Thread | None = None
        self._done = False
        self._error: BaseException | None = None
        self.git: GitInfo | None = None
        self.baseline: RunRecord | None = None
        self.static: covdata.StaticAnalysis | None = None
        self.audit: Any = None  # the audit's result, when the config gates on it

    def start(self) -> None:
        if self._thread is None and not self._done:
            # in this thread, before the other starts: reading coverage.py's settings changes the working folder
            self.static = covdata.StaticAnalysis.for_config(self._config)
            self._thread = threading.Thread(target=self._work, name="mcptest-background", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        try:
            with contextlib.suppress(ImportError):  # warm-up only: the analysis imports it again when it runs
                import coverage.jsonreport  # noqa: F401
            self.git = git_info(self._config.root)
            self.baseline = self._history.baseline()
            if self._extra is not None:
                self._extra()
            if self._config.audit_gate:  # static checks of the test files: 0.17 s on the bundled suites
                self.audit = gate.run_audit(self._config)
            if self.static is not None:
                self.static.prepare()
        except BaseException as exc:  # re-raised in the caller's thread by wait()
            self._error = exc

    def finished_ok(self) -> bool:
        """Wait for the thread (if one runs); whether it ended without an error (which ``wait`` raises)."""
        if self._thread is not None:
            self._thread.join()
        return self._thread is not None and self._error is None

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
        elif not self._done:
            self._work()
        self._done = True
        if self._error is not None:
            error, self._error = self._error, None
            raise error


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
    on_start: Callable[[], None] | None = None,
    on_data: Callable[[SuiteRun], None] | None = None,
) -> SuiteRun:
    """Run one suite's pytest subprocess to the end (or its budget), streaming its events.

    ``on_start`` is called once the test process has started (the run's background work begins there);
    ``on_data`` once the process says its coverage data is saved, while it is still finishing (pytest's
    summary, the plugins' session-end work and the interpreter's exit take 0.3 to 0.5 s after the tests).
    """
    data_file = workdir / f"{suite.name}-{attempt}.coverage"
    events_file = workdir / f"{suite.name}-{attempt}.events.jsonl"
    events_file.write_text("", encoding="utf-8")
    log_file.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "MCPTEST_EVENTS": str(events_file),
            "MCPTEST_CONTEXTS": "1" if options.contexts else "0",
            "MCPTEST_REQ_MARKER": config.report.requirement_marker,
            "MCPTEST_SUITE": suite.name,
            "MCPTEST_COV_DATA": str(data_file),
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
    for name in (
        "COVERAGE_PROCESS_START",
        "PYTEST_XDIST_WORKER",
        "PYTEST_XDIST_TESTRUNUID",
        "PYTEST_XDIST_WORKER_COUNT",
    ):
        env.pop(name, None)
    cmd = pytest_command(config, suite, paths, options, data_file)
    result = suite_result(suite, paths, "incomplete", notes)
    run = SuiteRun(result=result, data_file=data_file, log_file=log_file, root=config.root)
    # the test process ends when mcptest does, and stops starting tests once the stop file exists (watchdog.py)
    stop_file = workdir / f"{suite.name}-{attempt}.stop"
    env[lifecycle.PARENT_ENV] = str(os.getpid())
    env.pop(lifecycle.STOP_ENV, None)
    if suite.budget is not None:
        env[lifecycle.STOP_ENV] = str(stop_file)
    start = time.monotonic()
    with open(log_file, "wb") as log, open(events_file, encoding="utf-8") as events:
        log.write(("$ " + " ".join(cmd) + "\n").encode())
        log.flush()
        proc: subprocess.Popen[bytes] | None = None
        buffer = ""
        data_seen = False
        stop_at: float | None = None  # when the budget ran out and the test process was told to stop
        try:
            with lifecycle.shielded():  # a signal now is acted on once the process is known and tracked
                # the interpreter the entry point started ahead, when it can stand in for a fresh one (else None)
                proc = prestart.claim(cmd, str(config.root), env, str(log_file))
                if proc is None:
                    proc = subprocess.Popen(
                        cmd,
                        cwd=config.root,
                        env=env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        stdin=subprocess.DEVNULL,
                        start_new_session=True,
                    )
                lifecycle.track(proc.pid)
                # announced once started: printing the first progress line loads the caller's console (rich),
                # which need not delay the tests
                on_event(
                    "suite-start",
                    {
                        "suite": suite.name,
                        "paths": list(paths),
                        "command": cmd,
                        "attempt": attempt,
                        "repeat": options.repeat,
                        "seed": seed,
                    },
                )
                if on_start is not None:
                    on_start()
            with lifecycle.interruptible():
                while True:
                    done = proc.poll() is not None
                    chunk = events.read()
                    if chunk:
                        buffer += chunk
                        *lines, buffer = buffer.split("\n")
                        for line in lines:
                            collect.handle_event(run, suite.name, line, on_event)
                    if done:
                        break
                    if run.data_saved and not data_seen:
                        data_seen = True
                        if on_data is not None:
                            on_data(run)
                    if suite.budget is not None:
                        now = time.monotonic()
                        if stop_at is None and now - start > suite.budget:
                            stop_at = now
                            _request_stop(stop_file)
                        elif stop_at is not None and now - stop_at > _budget_deadline(run, suite.budget):
                            # the running test did not end within the grace: SIGINT makes pytest end it and
                            # save coverage; SIGKILL follows when even that does not end the process
                            run.killed_for_budget = not run.data_saved
                            _stop(proc, signal.SIGINT, lifecycle.INTERRUPT_GRACE)
                            continue
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=_POLL)  # returns as soon as the test process ends, unlike a sleep
        except KeyboardInterrupt:
            if proc is not None:
                _stop(proc, signal.SIGINT, lifecycle.INTERRUPT_GRACE)
                lifecycle.untrack(proc.pid)
            result.duration = time.monotonic() - start
            raise Interrupted() from None
        assert proc is not None  # set before the window in which the loop runs
        lifecycle.untrack(proc.pid)
        if buffer.strip():
            collect.handle_event(run, suite.name, buffer, on_event)
    if stop_at is not None:
        _budget_notes(run, suite.budget or 0.0, stop_file)
    result.duration = time.monotonic() - start
    parts = sorted(workdir.glob(data_file.name + ".*"))
    if parts:  # xdist workers measured themselves: fold their data into the suite's file
        run.early_json = None
        covdata.combine([data_file, *parts], data_file)
    collect.judge_exit(run, proc.returncode, suite, options)
    on_event("suite-end", {"suite": suite.name, "result": result})
    return run


def execute(
    config: Config,
    options: RunOptions,
    *,
    on_event: EventHandler | None = None,
    preflight: PreflightHook | None = None,
    history: History | None = None,
    background: Callable[[], object] | None = None,
) -> RunRecord:
    """Run the selected suites and return the record (also stored in the report folder).

    ``background`` is extra work for the caller (e.g. importing its report modules) done in a thread while
    the first test process runs. The run holds the report folder's lock (``mcptest.lock``: another run there
    is refused, or waited for up to ``options.wait_lock`` seconds) and holds signals except where it waits
    (``mcptest.lifecycle``): an interrupt at any moment of the run is recorded.
    """
    plan(config, options)  # an impossible selection is reported before waiting for another run to end
    # a report folder that cannot take the record (a file, read-only, full) fails now, before the tests (exit 4)
    (history or History(config.report_dir)).prepare()

    def waiting(pid: int | None) -> None:
        who = f"pid {pid}" if pid is not None else "pid unknown"
        text = f"waiting up to {options.wait_lock:g}s for another mcptest run ({who}) to end (--wait-lock)"
        (on_event or (lambda kind, data: None))("message", {"text": text})

    with lock.run_lock(config.report_dir, options.wait_lock, on_wait=waiting), lifecycle.shielded(reraise=False):
        return _execute(config, options, on_event=on_event, preflight=preflight, history=history, background=background)


def _execute(
    config: Config,
    options: RunOptions,
    *,
    on_event: EventHandler | None = None,
    preflight: PreflightHook | None = None,
    history: History | None = None,
    background: Callable[[], object] | None = None,
) -> RunRecord:
    """``execute`` once the report folder's lock is held, with signals held (see ``execute``)."""
    emit: EventHandler = on_event or (lambda kind, data: None)
    planned = plan(config, options)
    settle_options(options)
    history = history or History(config.report_dir)
    started = time.monotonic()
    record = new_record(config, options)
    run_id = record.id
    side = _Background(config, history, background)

    def early(run: SuiteRun) -> None:
        """Read the coverage report while the test process finishes (one suite, one attempt, no xdist parts)."""
        if any(run.data_file.parent.glob(run.data_file.name + ".*")) or not side.finished_ok():
            return  # workers' data is combined after the process ends; a background error is raised later
        try:
            raw = covdata.read_json(config, run.data_file, contexts=options.contexts, static=side.static)
            run.early_json = (raw,)
        except Exception:  # read again after the process ends, where the error is reported
            run.early_json = None

    workdir, stale = lifecycle.make_workdir(config.report_dir / "tmp", run_id)
    if stale:
        record.warnings.append(
            f"removed {len(stale)} temporary folder(s) of earlier runs whose process is gone: "
            + ", ".join(f"tmp/{name}" for name in stale)
        )
    runs: list[SuiteRun] = []
    verdicts: list[Verdict] = []
    closers: list[Callable[[], object]] = []
    try:
        for suite, paths in planned:
            if suite.requires and not options.preflight:
                record.warnings.append(
                    f"suite {suite.name}: bridge preflight skipped (--no-preflight); "
                    f"requires {', '.join(suite.requires)}"
                )
            if suite.requires and options.preflight and preflight is not None:
                outcome = lifecycle.interruptibly(preflight, config, suite, options)
                if outcome.close is not None:
                    closers.append(outcome.close)
                record.bridges += outcome.probes
                emit("preflight", {"suite": suite.name, "probes": outcome.probes, "problems": outcome.problems})
                if outcome.problems:
                    record.suites.append(suite_result(suite, paths, "not-run", outcome.problems))
                    verdicts += suite_gate.bridge_verdicts(suite.name, outcome.problems)
                    continue
            counter = None
            if suite.requires and options.preflight and preflight is not None:
                counter = outcome.count_calls
            calls_before = counter() if counter is not None else None
            attempts: list[SuiteRun] = []
            for attempt in range(max(1, options.repeat)):
                tag = f"-{attempt + 1}" if options.repeat > 1 else ""
                log = config.report_dir / "logs" / f"{run_id}-{suite.name}{tag}.log"
                seed = None if not options.random_order else (options.seed or 0) + attempt
                attempts.append(
                    run_suite(
                        config,
                        suite,
                        paths,
                        options,
                        workdir,
                        log,
                        emit,
                        attempt=attempt,
                        seed=seed,
                        on_start=side.start,
                        on_data=early if len(planned) == 1 and options.repeat == 1 else None,
                    )
                )
                last = attempts[-1]
                if not last.finished or last.killed_for_budget or last.collect_errors or last.result.pytest_exit == 4:
                    break  # repeating cannot help: the suite did not run (or cannot)
            merged = workdir / f"{suite.name}.coverage"
            run = attempts[0] if len(attempts) == 1 else collect.merge_attempts(attempts, merged)
            runs.append(run)
            record.suites.append(run.result)
            verdicts += suite_gate.suite_verdicts(run, config.flaky_allow)
            if counter is not None and calls_before is not None:
                verdicts += suite_gate.traffic_verdicts(run.result, calls_before, counter())
        record.complete = all(r.finished and not r.killed_for_budget and not r.result.stopped for r in runs)
        gate.settle_selection(record, options, runs)
        data_files = [r.data_file for r in runs if r.data_file.exists()]
        if config.audit_gate:
            side.wait()
            verdicts.append(gate.audit_verdict(config, record, side.audit))
        broken = {r.result.name: why for r in runs if (why := suite_gate.not_whole(r))}
        if broken:
            listed = "; ".join(f"{name} {why}" for name, why in broken.items())
            record.warnings.append(f"coverage is not gated, because suite {listed}")
            measured = [r.result.name for r in runs if r.killed_for_budget and r.data_saved]
            if sorted(measured) == sorted(broken):  # only budget stops, whose data was saved: shown, not gated
                record.warnings.append(
                    f"the coverage shown is what suite(s) {', '.join(measured)} measured until stopped at the budget"
                )
                side.wait()
                shown = _coverage_stage(
                    config, options, record, runs, data_files, workdir, side.baseline, False, side.static
                )
                verdicts += [v for v in shown if v.kind != "data"]  # the budget verdict says why it is short
        elif runs:
            gated = any(suite.coverage_gates for suite, _ in planned)
            if not gated:
                names = ", ".join(suite.name for suite, _ in planned)
                record.warnings.append(
                    f"coverage of suite(s) {names} is measured and reported but not gated "
                    "(coverage_gates: false); 'mcptest run all' gates the combined coverage"
                )
            side.wait()  # before the analysis, which needs the baseline and changes the working folder
            verdicts += _coverage_stage(
                config, options, record, runs, data_files, workdir, side.baseline, gated, side.static
            )
    except (Interrupted, KeyboardInterrupt):  # KeyboardInterrupt: from the preflight, or not run by the CLI
        lifecycle.take_pending()
        persist.mark_interrupted(record, verdicts)
    finally:
        for close in reversed(closers):
            with contextlib.suppress(Exception):
                close()
        shutil.rmtree(workdir, ignore_errors=True)
        with contextlib.suppress(OSError):
            (config.report_dir / "tmp").rmdir()
    side.wait()
    if lifecycle.take_pending() and not any(v.kind == "interrupted" for v in verdicts):
        persist.mark_interrupted(record, verdicts)  # the signal came after the last wait (coverage analysis, cleanup)
    record.meta.git = side.git
    record.counts = sum((s.counts for s in record.suites), Counts())
    record.warnings = history.warnings + record.warnings
    gate.conclude(record, verdicts)
    record.finished_at = now_iso()
    record.duration = time.monotonic() - started
    persist.store(record, verdicts, history)
    return record


def _no_data(message: str) -> Verdict:
    """The failed verdict of a run whose coverage data is missing (exit code 5)."""
    return Verdict("data", "overall", "line", None, None, False, "source", message)


def _coverage_stage(
    config: Config,
    options: RunOptions,
    record: RunRecord,
    runs: list[SuiteRun],
    data_files: list[Path],
    workdir: Path,
    baseline: RunRecord | None,
    gated: bool,
    static: covdata.StaticAnalysis | None = None,
) -> list[Verdict]:
    """Read coverage data (combined over suites), attach per-test lines, deltas and gate verdicts."""
    verdicts: list[Verdict] = []
    if not data_files:
        if all(r.finished for r in runs) and any(r.result.counts.total for r in runs):
            verdicts.append(_no_data(f"coverage measured nothing: source {config.source} yielded no coverage data"))
        return verdicts
    data_file = data_files[0] if len(data_files) == 1 else covdata.combine(data_files, workdir / "combined.coverage")
    early = runs[0].early_json if len(runs) == 1 and data_file == runs[0].data_file else None
    if early is not None:
        raw = early[0]  # read while the test process was ending
    else:
        raw = covdata.read_json(config, data_file, contexts=options.contexts, static=static)
    if raw is None or not raw.get("files"):
        verdicts.append(
            _no_data(
                f"coverage measured no file: source {config.source} yielded no coverage data "
                "(is it the folder or package your tests import?)"
            )
        )
        return verdicts
    report, contexts = covdata.build_report(config, raw, branch=config.coverage.branch)
    report.generated_at = now_iso()
    report.core = next((r.core for r in runs if r.core), None)
    if options.contexts:
        by_test = covdata.lines_by_test(contexts)
        for suite in record.suites:
            for case in suite.tests:
                case.lines_covered = by_test.get(case.nodeid, {})
    if len(runs) > 1:
        for run in runs:
            part = covdata.read_json(config, run.data_file, static=static) if run.data_file.exists() else None
            if part is not None:
                run.result.coverage = covdata.build_report(config, part, branch=config.coverage.branch)[0].overall
    else:
        runs[0].result.coverage = report.overall
    if baseline is not None and baseline.coverage is not None:
        covdata.apply_deltas(report, baseline.coverage, baseline.id)
    record.coverage = report
    if gated:
        partial = record.selection.partial
        verdicts += gate.coverage_verdicts(config, report, only_modules=options.modules, partial=partial)
    return verdicts
