"""Render the HTML report of a synthetic run (2,000 source files, 5,000 tests) and print the figures.

Targets: the whole HTML report in under 2 s, and index.html under 2 MB (per-file detail lives on
per-file pages, the summary links to them). Usage: python bench/report_scale.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

from mcptest.model import (
    Counts,
    CoverageReport,
    FileCoverage,
    Meta,
    ModuleCoverage,
    RunRecord,
    Selection,
    SuiteResult,
    TestCase,
    Totals,
    Verdict,
)
from mcptest.report import render_reports

FILES, TESTS, MODULES, HISTORY = 2_000, 5_000, 40, 30
OUTCOMES = ["passed"] * 95 + ["failed"] * 2 + ["skipped"] * 2 + ["error"]


def totals(rng: random.Random, statements: int, branches: int) -> Totals:
    t = Totals.of(statements, rng.randint(statements // 2, statements), branches, rng.randint(0, branches))
    t.delta_line, t.delta_branch = rng.uniform(-3, 3), rng.uniform(-3, 3)
    return t


def synthetic_record(seed: int = 7, run_id: str = "bench-run") -> RunRecord:
    rng = random.Random(seed)
    files, verdicts = [], []
    for i in range(FILES):
        path = f"pkg/mod{i % MODULES:02d}/file_{i:04d}.py"
        statements = rng.randint(20, 400)
        t = totals(rng, statements, statements // 4)
        missing = sorted(rng.sample(range(1, statements + 1), statements - t.covered_lines))
        files.append(
            FileCoverage(
                path,
                t,
                executed_lines=[n for n in range(1, statements + 1) if n not in missing],
                missing_lines=missing,
                missing_branches=[f"{n}->{n + 2}" for n in missing[:10]],
            )
        )
        if i % 4 == 0:
            required = 80.0
            verdicts.append(
                Verdict(
                    "threshold",
                    f"file:{path}",
                    "line",
                    t.line_percent,
                    required,
                    (t.line_percent or 0) >= required,
                    None,
                    f"{path}: line vs {required}",
                )
            )
    modules = []
    for m in range(MODULES):
        members = [f.path for f in files if f.path.startswith(f"pkg/mod{m:02d}/")]
        modules.append(ModuleCoverage(f"mod{m:02d}", members, totals(rng, 4000, 1000)))
    suites, counts = [], Counts()
    for s, name in enumerate(("unit", "integration", "e2e")):
        tests, suite_counts = [], Counts()
        for i in range(s, TESTS, 3):
            outcome = rng.choice(OUTCOMES)
            suite_counts.add(outcome)
            message = f"AssertionError: value {i} was wrong" if outcome in ("failed", "error") else None
            tests.append(
                TestCase(
                    nodeid=f"suites/{name}/test_m{i % 97}.py::test_case_{i}",
                    name=f"test_case_{i}",
                    file=f"suites/{name}/test_m{i % 97}.py",
                    line=10 + i % 300,
                    suite=name,
                    outcome=outcome,
                    duration=rng.expovariate(20),
                    markers=["asyncio"] if i % 5 == 0 else [],
                    requirements=[f"FR-{i % 45 + 1:03d}"],
                    message=message,
                    longrepr=f"def test():\n>   assert f({i})\nE   {message}" if message else None,
                )
            )
        suites.append(
            SuiteResult(
                name,
                name,
                [f"suites/{name}"],
                "failing",
                duration=rng.uniform(10, 200),
                budget=300.0,
                counts=suite_counts,
                tests=tests,
            )
        )
        counts = counts + suite_counts
    overall = sum((f.totals for f in files), Totals())
    return RunRecord(
        id=run_id,
        started_at="2025-10-12T14:30:00Z",
        status="failed",
        complete=True,
        exit_code=1,
        exit_reason="tests-failed",
        selection=Selection("all"),
        meta=Meta(mcptest_version="bench"),
        suites=suites,
        coverage=CoverageReport(True, overall, files, modules),
        verdicts=verdicts,
        counts=counts,
    )


def light_history() -> list[RunRecord]:
    """Earlier runs carry only what the trend reads: overall totals and counts."""
    runs = []
    for i in range(HISTORY):
        t = Totals.of(100_000, 70_000 + 300 * i, 25_000, 15_000 + 200 * i)
        runs.append(
            RunRecord(
                f"run-{i:02d}",
                f"2025-09-{i % 28 + 1:02d}T10:00:00Z",
                "passed",
                True,
                0,
                "ok",
                Selection("all"),
                Meta(),
                coverage=CoverageReport(True, t),
                counts=Counts(passed=4000 + 30 * i),
            )
        )
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the report here instead of a temporary folder")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    record, history = synthetic_record(), light_history()
    build = time.perf_counter() - t0
    requirements = [f"FR-{n:03d}" for n in range(1, 50)]
    with tempfile.TemporaryDirectory() as tmp:
        out = args.keep or Path(tmp)
        start = time.perf_counter()
        (index,) = render_reports(record, ["html"], out, history=history, requirements=requirements)
        elapsed = time.perf_counter() - start
        pages = list(index.parent.rglob("*.html"))
        total = sum(p.stat().st_size for p in pages)
        size = index.stat().st_size
    print(
        f"synthetic record: {FILES} files, {record.counts.total} tests, {len(record.verdicts)} verdicts, "
        f"{HISTORY} earlier runs (built in {build:.2f} s)"
    )
    print(
        f"html render+write: {elapsed:.2f} s (target < 2 s) "
        f"for {len(pages)} pages, {total / 1e6:.1f} MB in all"
    )
    print(f"index.html: {size / 1e6:.3f} MB (target < 2 MB)")
    return 0 if elapsed < 2 and size < 2_000_000 else 1


if __name__ == "__main__":
    sys.exit(main())
