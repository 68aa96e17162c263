"""Report cost at scale: rendering a big record, and `mcptest report --html` against the stored history.

Sections (both by default):

  render   the HTML report of a synthetic run (2,000 source files, 5,000 tests), rendered and written in
           process. Targets: under 2 s, and index.html under 2 MB (per-file detail lives on per-file pages).
  history  `mcptest report --html` in a subprocess (as a user runs it) on a project whose report folder holds
           1 stored run, and on one that holds 100, of the same 2,500-test record (200 source files, written
           to disk so that the file pages read them). Rounds are interleaved, medians of wall and CPU time are
           printed. Target: 100 runs within 10 % of 1 run. Also printed: the first report after the trend
           index was deleted (it is rebuilt from runs/, once).

Usage:

  python bench/report_scale.py                     # both sections, 5 rounds
  python bench/report_scale.py --only history --runs 100 --rounds 7
  python bench/report_scale.py --quick             # smoke run: tiny sizes, one round, no targets
  python bench/report_scale.py --keep DIR          # keep the rendered report / the projects in DIR

To time another checkout (the code before a change), put it first on the path:
``PYTHONPATH=/tmp/old python bench/report_scale.py --only history`` (the subprocesses inherit it).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcptest.history import History
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
TARGET_RENDER, TARGET_INDEX, TARGET_RATIO = 2.0, 2_000_000, 1.10
OUTCOMES = ["passed"] * 95 + ["failed"] * 2 + ["skipped"] * 2 + ["error"]


def totals(rng: random.Random, statements: int, branches: int) -> Totals:
    t = Totals.of(statements, rng.randint(statements // 2, statements), branches, rng.randint(0, branches))
    t.delta_line, t.delta_branch = rng.uniform(-3, 3), rng.uniform(-3, 3)
    return t


def synthetic_record(
    seed: int = 7, run_id: str = "bench-run", *, n_files: int = FILES, n_tests: int = TESTS, n_modules: int = MODULES
) -> RunRecord:
    rng = random.Random(seed)
    files, verdicts = [], []
    for i in range(n_files):
        path = f"pkg/mod{i % n_modules:02d}/file_{i:04d}.py"
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
    for m in range(n_modules):
        members = [f.path for f in files if f.path.startswith(f"pkg/mod{m:02d}/")]
        modules.append(ModuleCoverage(f"mod{m:02d}", members, totals(rng, 4000, 1000)))
    suites, counts = [], Counts()
    for s, name in enumerate(("unit", "integration", "e2e")):
        tests, suite_counts = [], Counts()
        for i in range(s, n_tests, 3):
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


def render_section(keep: Path | None, quick: bool) -> bool:
    """The in-process render of the big synthetic record; True when the targets are met."""
    n_files, n_tests = (50, 300) if quick else (FILES, TESTS)
    t0 = time.perf_counter()
    record, history = synthetic_record(n_files=n_files, n_tests=n_tests), light_history()
    build = time.perf_counter() - t0
    requirements = [f"FR-{n:03d}" for n in range(1, 50)]
    with tempfile.TemporaryDirectory() as tmp:
        out = keep / "render" if keep else Path(tmp)
        start = time.perf_counter()
        (index,) = render_reports(record, ["html"], out, history=history, requirements=requirements)
        elapsed = time.perf_counter() - start
        pages = list(index.parent.rglob("*.html"))
        total = sum(p.stat().st_size for p in pages)
        size = index.stat().st_size
    print(
        f"render: synthetic record: {n_files} files, {record.counts.total} tests, {len(record.verdicts)} verdicts, "
        f"{HISTORY} earlier runs (built in {build:.2f} s)"
    )
    print(
        f"render: html render+write {elapsed:.2f} s (target < {TARGET_RENDER:g} s) "
        f"for {len(pages)} pages, {total / 1e6:.1f} MB in all"
    )
    print(f"render: index.html {size / 1e6:.3f} MB (target < {TARGET_INDEX / 1e6:g} MB)")
    return elapsed < TARGET_RENDER and size < TARGET_INDEX


def history_project(root: Path, runs: int, n_files: int, n_tests: int) -> None:
    """A project whose report folder holds ``runs`` stored runs of one record, saved as ``mcptest run`` saves."""
    root.mkdir(parents=True)
    (root / "suites").mkdir()
    (root / "mcptest.yaml").write_text("source: [pkg]\nsuites:\n  unit: {paths: [suites]}\n", encoding="utf-8")
    record = synthetic_record(n_files=n_files, n_tests=n_tests, n_modules=min(MODULES, n_files))
    assert record.coverage is not None
    for f in record.coverage.files:  # the sources the file pages show
        path = root / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"value_{n} = {n}  # line {n}\n" for n in range(1, f.totals.statements + 1)))
    history = History(root / ".mcptest")
    for i in range(runs):
        record.id = f"20251012T120000{i:06d}Z-{i:06x}"
        record.started_at = f"2025-10-12T12:00:00.{i:06d}Z"
        history.save_run(record)


def timed_report(root: Path) -> tuple[float, float]:
    """Wall and CPU time (user + sys of the subprocess) of one ``mcptest report --html`` in ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCPTEST_", "PYTEST_", "COVERAGE_"))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mcptest", "report", "--html"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"mcptest report --html failed in {root} (exit {proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def history_section(keep: Path | None, quick: bool, runs: int, rounds: int) -> bool:
    """``report --html`` with 1 stored run against ``runs`` stored runs; True when the target is met."""
    n_files, n_tests = (10, 100) if quick else (200, 2_500)
    with tempfile.TemporaryDirectory() as tmp:
        base = keep / "history" if keep else Path(tmp)
        if keep and base.exists():
            shutil.rmtree(base)
        one, many = base / "one-run", base / f"{runs}-runs"
        t0 = time.perf_counter()
        history_project(one, 1, n_files, n_tests)
        history_project(many, runs, n_files, n_tests)
        size = (one / ".mcptest" / "latest.json").stat().st_size
        print(
            f"history: record of {n_tests} tests, {n_files} files ({size / 1e6:.1f} MB); projects with 1 and {runs} "
            f"stored runs built in {time.perf_counter() - t0:.1f} s"
        )
        timed_report(one), timed_report(many)  # warm-up: bytecode, page cache
        times: dict[Path, list[tuple[float, float]]] = {one: [], many: []}
        for i in range(rounds):
            for root in (one, many) if i % 2 == 0 else (many, one):
                times[root].append(timed_report(root))
        medians = {}
        for root, label in ((one, "1 stored run"), (many, f"{runs} stored runs")):
            wall = statistics.median(t[0] for t in times[root])
            cpu = statistics.median(t[1] for t in times[root])
            medians[root] = (wall, cpu)
            singles = ", ".join(f"{t[0]:.2f}" for t in times[root])
            print(
                f"history: report --html, {label}: wall {wall:.2f} s, cpu {cpu:.2f} s "
                f"(median of {rounds}: {singles})"
            )
        wall_ratio = medians[many][0] / medians[one][0]
        cpu_ratio = medians[many][1] / medians[one][1]
        met = wall_ratio <= TARGET_RATIO and cpu_ratio <= TARGET_RATIO
        verdict = "n/a (quick)" if quick else ("met" if met else "MISSED")
        print(
            f"history: {runs} runs / 1 run: wall {wall_ratio:.2f}x, cpu {cpu_ratio:.2f}x "
            f"(target <= {TARGET_RATIO:.2f}x: {verdict})"
        )
        index = many / ".mcptest" / "index.jsonl"
        if index.exists():
            print(f"history: trend index {index.stat().st_size / 1e3:.1f} kB for {runs} runs")
            index.unlink()
            wall, cpu = timed_report(many)
            print(
                f"history: first report after the index was deleted (rebuilt from runs/): wall {wall:.2f} s, "
                f"cpu {cpu:.2f} s"
            )
        else:
            print("history: no trend index (the code under test does not write one)")
    return met


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the report and projects here instead of a temporary folder")
    parser.add_argument("--only", choices=("render", "history"), help="run one section")
    parser.add_argument("--runs", type=int, help="stored runs in the history section (default 100; quick: 5)")
    parser.add_argument("--rounds", type=int, help="timed rounds per project (default 5; quick: 1)")
    parser.add_argument("--quick", action="store_true", help="smoke run: tiny sizes, one round, targets not judged")
    args = parser.parse_args(argv)
    runs = args.runs or (5 if args.quick else 100)
    rounds = args.rounds or (1 if args.quick else 5)
    ok = True
    if args.only in (None, "render"):
        ok = render_section(args.keep, args.quick) and ok
    if args.only in (None, "history"):
        ok = history_section(args.keep, args.quick, runs, rounds) and ok
    return 0 if ok or args.quick else 1


if __name__ == "__main__":
    sys.exit(main())
