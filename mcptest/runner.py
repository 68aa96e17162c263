"""Run suites: pytest in a subprocess under coverage.py, events streamed back, then gates and the run record.

The flow: plan -> (preflight) -> one subprocess per suite -> collect events and coverage data -> gate ->
record. This module returns data and never prints; progress goes to an ``on_event`` callback.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
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
from mcptest.plan import RunOptions, plan, settle_options
from mcptest.record import new_record, now_iso, suite_result
from mcptest.run import Hooks, Interrupted, run_suite

#: Preflight hook: (config, suite, options) -> (probes, problems, cleanup); problems stop the suite.
PreflightHook = Callable[[Config, SuiteConfig, RunOptions], "PreflightOutcome"]


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


class _Hooks(Hooks):
    def __init__(self, side: _Background, early: Callable[[SuiteRun], None] | None) -> None:
        self.side = side
        self.early = early

    def spawn(self, cmd: list[str], cwd: str, env: dict[str, str], log: str) -> subprocess.Popen[bytes] | None:
        # the interpreter the entry point started ahead, when it can stand in for a fresh one (else None)
        return prestart.claim(cmd, cwd, env, log)

    def started(self) -> None:
        self.side.start()

    def data_saved(self, run: SuiteRun) -> None:
        if self.early is not None:
            self.early(run)


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

    hooks = _Hooks(side, early if len(planned) == 1 and options.repeat == 1 else None)

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
                        hooks=hooks,
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
