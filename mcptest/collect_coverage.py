"""The collect stage, coverage half: the suites' coverage data combined and read into the record's report.

One report over every suite that ran (their data files combined), each test's covered lines with
``--contexts``, each suite's own figures when several ran, and the deltas against the baseline. Missing data
is a failed ``data`` verdict (exit 5), never an empty pass. The numbers are coverage.py's (``covdata``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mcptest import covdata
from mcptest.collect import SuiteRun
from mcptest.config_model import Config
from mcptest.model import CoverageReport, RunRecord, SuiteResult, Verdict
from mcptest.record import now_iso

#: Reads coverage.py's JSON report of a data file, with or without per-test contexts (None: nothing measured).
Reader = Callable[[Path, bool], dict[str, Any] | None]


def collect(
    config: Config,
    runs: Sequence[SuiteRun],
    suites: Sequence[SuiteResult],
    data_files: Sequence[Path],
    workdir: Path,
    read: Reader,
    *,
    contexts: bool,
    baseline: RunRecord | None,
    keep: Callable[[Path], object] | None = None,
) -> tuple[CoverageReport | None, list[Verdict]]:
    """The coverage report of ``runs`` (None, with the verdict that says so, when nothing was measured)."""
    if not data_files:
        if all(r.finished for r in runs) and any(r.result.counts.total for r in runs):
            return None, [_no_data(f"coverage measured nothing: source {config.source} yielded no coverage data")]
        return None, []
    data_file = data_files[0] if len(data_files) == 1 else covdata.combine(data_files, workdir / "combined.coverage")
    if keep is not None:  # --shard: the bundle keeps the run's data (mcptest.cli_ci)
        keep(data_file)
    raw = read(data_file, contexts)
    if raw is None or not raw.get("files"):
        message = (
            f"coverage measured no file: source {config.source} yielded no coverage data "
            "(is it the folder or package your tests import?)"
        )
        return None, [_no_data(message)]
    report, by_context = covdata.build_report(config, raw, branch=config.coverage.branch)
    report.generated_at = now_iso()
    report.core = next((r.core for r in runs if r.core), None)
    if contexts:
        by_test = covdata.lines_by_test(by_context)
        for suite in suites:
            for case in suite.tests:
                case.lines_covered = by_test.get(case.nodeid, {})
    _per_suite(config, runs, report, read)
    if baseline is not None and baseline.coverage is not None:
        covdata.apply_deltas(report, baseline.coverage, baseline.id)
    return report, []


def _per_suite(config: Config, runs: Sequence[SuiteRun], report: CoverageReport, read: Reader) -> None:
    """Each suite's own overall figures: the report's when it is the only one, else read from its own data.

    With several suites, each file of the report also records which lines each suite executed (``suites``).
    """
    if len(runs) == 1:
        runs[0].result.coverage = report.overall
        return
    by_path = {f.path: f for f in report.files}
    for run in runs:
        part = read(run.data_file, False) if run.data_file.exists() else None
        if part is not None:
            own = covdata.build_report(config, part, branch=config.coverage.branch)[0]
            run.result.coverage = own.overall
            for f in own.files:
                if f.path in by_path:
                    by_path[f.path].suites[run.result.name] = sorted(f.executed_lines)


def _no_data(message: str) -> Verdict:
    """The failed verdict of a run whose coverage data is missing (exit code 5)."""
    return Verdict("data", "overall", "line", None, None, False, "source", message)
