"""The collect stage for ``--repeat``: the runs of one suite merged into one ``SuiteRun``, flaky tests found."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from mcptest import covdata
from mcptest.model import Attempt, Counts, TestCase
from mcptest.suite_run import SuiteRun


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
