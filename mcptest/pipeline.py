"""One ``mcptest run``: config -> plan -> preflight -> run -> collect -> gate -> persist, as ``execute``.

Each stage is a module that takes data and returns data (docs/architecture.md has the map); this module only
calls them in order and keeps what they return. Rendering the record and the exit code are the command
line's (``cli_run``). Nothing here prints or exits; progress goes to an ``on_event`` callback.

Around the stages: the report folder's lock (one run at a time, ``lock``), signals held except where the run
waits (``lifecycle``; an interrupt at any moment is recorded, never lost), and the work done while the tests
run (``overlap``), which changes when things are computed, never what.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mcptest import collect, collect_coverage, gate, lifecycle, lock, persist, preflight, suite_gate
from mcptest.collect import EventHandler, SuiteRun
from mcptest.config_model import Config, SuiteConfig
from mcptest.history import History
from mcptest.model import Counts, GitInfo, RunRecord, Verdict
from mcptest.overlap import Overlap
from mcptest.plan import Planned, RunOptions, plan, settle_options
from mcptest.preflight import PreflightHook
from mcptest.record import new_record, now_iso, suite_result
from mcptest.run import Interrupted, run_suite


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
    emit: EventHandler = on_event or (lambda kind, data: None)

    def waiting(pid: int | None) -> None:
        who = f"pid {pid}" if pid is not None else "pid unknown"
        text = f"waiting up to {options.wait_lock:g}s for another mcptest run ({who}) to end (--wait-lock)"
        emit("message", {"text": text})

    with lock.run_lock(config.report_dir, options.wait_lock, on_wait=waiting), lifecycle.shielded(reraise=False):
        return _execute(config, options, emit, preflight, history, background)


@dataclass
class _Run:
    """What one run has so far: the record, each suite's run, the verdicts, what to close when it ends."""

    config: Config
    options: RunOptions
    record: RunRecord
    emit: EventHandler
    overlap: Overlap
    workdir: Path
    runs: list[SuiteRun] = field(default_factory=list)
    verdicts: list[Verdict] = field(default_factory=list)
    closers: list[Callable[[], object]] = field(default_factory=list)
    gated: bool = False  # the coverage gates were judged (for the options' stages: the patch gate)


def _execute(
    config: Config,
    options: RunOptions,
    emit: EventHandler,
    hook: PreflightHook | None,
    history: History | None,
    background: Callable[[], object] | None,
) -> RunRecord:
    """``execute`` once the report folder's lock is held, with signals held (see ``execute``)."""
    planned = plan(config, options)
    settle_options(options)
    history = history or History(config.report_dir)
    started = time.monotonic()
    record = new_record(config, options)
    single = len(planned) == 1 and options.repeat == 1
    overlap = Overlap(config, history, background, read_early=single, contexts=options.contexts)
    run = _Run(config, options, record, emit, overlap, _workdir(config, record))
    try:
        for suite, paths in planned:
            _suite(run, suite, paths, hook)
        _after_suites(run, planned)
    except (Interrupted, KeyboardInterrupt):  # KeyboardInterrupt: from the preflight, or not run by the CLI
        lifecycle.take_pending()
        persist.mark_interrupted(record, run.verdicts)
    finally:
        _clean_up(run)
    prepared = overlap.wait()
    if lifecycle.take_pending() and not any(v.kind == "interrupted" for v in run.verdicts):
        persist.mark_interrupted(record, run.verdicts)  # the signal came after the last wait (analysis, cleanup)
    for stage in options.stages:  # --diff-base, --shard (mcptest.cli_ci)
        run.verdicts = stage(record, run.verdicts, run.gated)
    _finish(record, run.verdicts, history, prepared.git, started)
    persist.store(record, run.verdicts, history)
    return record


def _workdir(config: Config, record: RunRecord) -> Path:
    """The run's tmp folder (test processes' data and events); earlier runs' stale ones are removed."""
    workdir, stale = lifecycle.make_workdir(config.report_dir / "tmp", record.id)
    if stale:
        record.warnings.append(
            f"removed {len(stale)} temporary folder(s) of earlier runs whose process is gone: "
            + ", ".join(f"tmp/{name}" for name in stale)
        )
    return workdir


def _suite(run: _Run, suite: SuiteConfig, paths: list[str], hook: PreflightHook | None) -> None:
    """One suite: preflight -> run (each attempt) -> collect -> gate."""
    warning = preflight.skipped(suite, run.options)
    if warning:
        run.record.warnings.append(warning)
    outcome = preflight.check(run.config, suite, run.options, hook)
    if outcome is not None:
        if outcome.close is not None:
            run.closers.append(outcome.close)
        run.record.bridges += outcome.probes
        run.emit("preflight", {"suite": suite.name, "probes": outcome.probes, "problems": outcome.problems})
        if outcome.problems:
            run.record.suites.append(suite_result(suite, paths, "not-run", outcome.problems))
            run.verdicts += suite_gate.bridge_verdicts(suite.name, outcome.problems)
            return
    counter = outcome.count_calls if outcome is not None else None
    calls_before = counter() if counter is not None else None
    suite_run = _attempts(run, suite, paths)
    run.runs.append(suite_run)
    run.record.suites.append(suite_run.result)
    run.verdicts += suite_gate.suite_verdicts(suite_run, run.config.flaky_allow)
    if counter is not None and calls_before is not None:
        run.verdicts += suite_gate.traffic_verdicts(suite_run.result, calls_before, counter())


def _attempts(run: _Run, suite: SuiteConfig, paths: list[str]) -> SuiteRun:
    """The suite's test process, once or ``--repeat`` times (merged into one ``SuiteRun``)."""
    options = run.options
    attempts: list[SuiteRun] = []
    for attempt in range(max(1, options.repeat)):
        tag = f"-{attempt + 1}" if options.repeat > 1 else ""
        log = run.config.report_dir / "logs" / f"{run.record.id}-{suite.name}{tag}.log"
        seed = None if not options.random_order else (options.seed or 0) + attempt
        last = run_suite(
            run.config, suite, paths, options, run.workdir, log, run.emit, attempt=attempt, seed=seed, hooks=run.overlap
        )
        attempts.append(last)
        if not last.finished or last.killed_for_budget or last.collect_errors or last.result.pytest_exit == 4:
            break  # repeating cannot help: the suite did not run (or cannot)
    if len(attempts) == 1:
        return attempts[0]
    return collect.merge_attempts(attempts, run.workdir / f"{suite.name}.coverage")


def _after_suites(run: _Run, planned: list[Planned]) -> None:
    """The run's own gates once every suite ran: the selection, the audit, the coverage."""
    record, runs = run.record, run.runs
    record.complete = all(r.finished and not r.killed_for_budget and not r.result.stopped for r in runs)
    gate.settle_selection(record, run.options, runs)
    data_files = [r.data_file for r in runs if r.data_file.exists()]
    if run.config.audit_gate:
        prepared = run.overlap.wait()
        run.verdicts.append(gate.audit_verdict(run.config, record, prepared.audit))
    broken = {r.result.name: why for r in runs if (why := suite_gate.not_whole(r))}
    if broken:
        listed = "; ".join(f"{name} {why}" for name, why in broken.items())
        record.warnings.append(f"coverage is not gated, because suite {listed}")
        measured = [r.result.name for r in runs if r.killed_for_budget and r.data_saved]
        if sorted(measured) == sorted(broken):  # only budget stops, whose data was saved: shown, not gated
            record.warnings.append(
                f"the coverage shown is what suite(s) {', '.join(measured)} measured until stopped at the budget"
            )
            shown = _coverage(run, data_files, gated=False)
            run.verdicts += [v for v in shown if v.kind != "data"]  # the budget verdict says why it is short
    elif runs:
        gated = any(suite.coverage_gates for suite, _ in planned)
        if not gated:
            names = ", ".join(suite.name for suite, _ in planned)
            record.warnings.append(
                f"coverage of suite(s) {names} is measured and reported but not gated "
                "(coverage_gates: false); 'mcptest run all' gates the combined coverage"
            )
        run.gated = gated
        run.verdicts += _coverage(run, data_files, gated=gated)


def _coverage(run: _Run, data_files: list[Path], *, gated: bool) -> list[Verdict]:
    """collect (the coverage report) -> gate (its thresholds, when ``gated``)."""
    prepared = run.overlap.wait()  # before the analysis, which needs the baseline and changes the working folder
    config, options, record = run.config, run.options, run.record
    report, verdicts = collect_coverage.collect(
        config,
        run.runs,
        record.suites,
        data_files,
        run.workdir,
        run.overlap.read_coverage,
        contexts=options.contexts,
        baseline=prepared.baseline,
        keep=options.on_coverage_data,
    )
    if report is None:
        return verdicts
    record.coverage = report
    if gated:
        partial = record.selection.partial
        verdicts += gate.coverage_verdicts(config, report, only_modules=options.modules, partial=partial)
    return verdicts


def _clean_up(run: _Run) -> None:
    """Stop the bridges the preflight started, remove the run's tmp folder (and tmp/ once it is empty)."""
    for close in reversed(run.closers):
        with contextlib.suppress(Exception):
            close()
    shutil.rmtree(run.workdir, ignore_errors=True)
    with contextlib.suppress(OSError):
        (run.config.report_dir / "tmp").rmdir()


def _finish(record: RunRecord, verdicts: list[Verdict], history: History, git: GitInfo | None, started: float) -> None:
    """The record's totals, warnings and timestamps; its exit code, reasons and status from the verdicts."""
    record.meta.git = git
    record.counts = sum((s.counts for s in record.suites), Counts())
    record.warnings = history.warnings + record.warnings
    gate.conclude(record, verdicts)
    record.finished_at = now_iso()
    record.duration = time.monotonic() - started
