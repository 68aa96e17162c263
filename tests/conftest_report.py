"""A factory of run records for the report tests: failing gates, deltas, a hostile test name, history."""

from __future__ import annotations

from pathlib import Path

from mcptest.model import (
    Attempt,
    BridgeProbe,
    Counts,
    CoverageReport,
    FileCoverage,
    GitInfo,
    Meta,
    ModuleCoverage,
    RunRecord,
    Selection,
    SuiteResult,
    TestCase,
    Totals,
    Verdict,
)

HOSTILE = "<script>alert(1)</script>"
FAILING_FILE = "whatsapp_mcp/routing.py"
REQUIREMENTS = ["FR-001", "FR-012", "FR-020", "FR-045"]  # FR-045: no test carries it

ROUTING_SOURCE = '''"""Pick the backend for an operation."""


def pick(operation, health):
    if operation.needs_history:
        if health.baileys_ok:
            return "baileys"
        return "go"
    if not health.go_ok:
        raise RuntimeError("no backend")
    return "go"
'''


def totals(
    statements: int,
    covered: int,
    branches: int,
    covered_branches: int,
    delta_line: float | None = None,
    delta_branch: float | None = None,
) -> Totals:
    t = Totals.of(statements, covered, branches, covered_branches)
    t.delta_line, t.delta_branch = delta_line, delta_branch
    return t


def case(
    name: str,
    outcome: str = "passed",
    *,
    suite: str = "unit",
    file: str = "suites/unit/test_routing.py",
    duration: float = 0.01,
    requirements: list[str] | None = None,
    message: str | None = None,
    markers: list[str] | None = None,
) -> TestCase:
    longrepr = f"def test():\n>       assert 1 == 2\nE       {message}" if message else None
    return TestCase(
        nodeid=f"{file}::{name}",
        name=name,
        file=file,
        line=10,
        suite=suite,
        outcome=outcome,
        duration=duration,
        markers=markers or [],
        requirements=requirements or [],
        message=message,
        longrepr=longrepr,
    )


def counts_of(tests: list[TestCase]) -> Counts:
    c = Counts()
    for t in tests:
        c.add(t.outcome)
    return c


def make_record(run_id: str = "20251012T143000-a1b2", *, complete: bool = True) -> RunRecord:
    unit_tests = [
        case(
            "test_routing_selects_go_backend_when_baileys_unavailable",
            requirements=["FR-012"],
            markers=["asyncio"],
            duration=0.12,
        ),
        case(
            "test_routing_prefers_baileys_for_sync_operations",
            requirements=["FR-012", "FR-001"],
            duration=0.08,
        ),
        case(
            HOSTILE,
            "failed",
            requirements=["FR-020"],
            duration=0.31,
            message=f"AssertionError: expected 'go' got {HOSTILE} | *bold* @octocat [x](http://evil)",
        ),
        case(
            "test_sync_checkpoint_resumes_after_restart",
            file="suites/unit/test_sync.py",
            duration=1.75,
            requirements=["FR-001"],
        ),
        case(
            "test_health_marks_degraded_backend",
            "skipped",
            file="suites/unit/test_health.py",
            message="needs a clock fixture",
        ),
        case("test_health_recovers_after_outage", file="suites/unit/test_health.py", duration=0.44),
        case(
            "test_sync_retries_on_503",
            "error",
            file="suites/unit/test_sync.py",
            message="fixture 'bridge' not found",
        ),
    ]
    unit_tests[5].flaky = True
    unit_tests[5].attempts = [Attempt("failed", 0.4, "ConnectionResetError"), Attempt("passed", 0.44)]
    unit = SuiteResult(
        name="unit",
        test_type="unit",
        paths=["suites/unit"],
        status="failing",
        started_at="2025-10-12T14:30:01Z",
        duration=34.2,
        budget=30.0,
        timeout=10.0,
        counts=counts_of(unit_tests),
        coverage=totals(412, 331, 120, 86),
        tests=unit_tests,
        pytest_exit=1,
    )
    integration = SuiteResult(
        name="integration",
        test_type="integration",
        paths=["suites/integration"],
        status="not-run",
        budget=300.0,
        requires=["go", "baileys"],
        problems=["bridge baileys is unreachable: connection refused on 127.0.0.1:8081"],
    )
    files = [
        FileCoverage(
            FAILING_FILE,
            totals(9, 7, 6, 4, -2.35, -1.0),
            executed_lines=[1, 4, 5, 6, 7, 9, 11],
            missing_lines=[8, 10],
            missing_branches=["6->8", "9->10"],
            partial_lines=[6, 9],
        ),
        FileCoverage("whatsapp_mcp/sync.py", totals(180, 150, 52, 40, 0.42, 0.0)),
        FileCoverage("whatsapp_mcp/backends/health.py", totals(96, 80, 30, 23, None, None)),
        FileCoverage("whatsapp_mcp/backends/go.py", totals(64, 60, 16, 15, 1.5, 3.1)),
        FileCoverage("whatsapp_mcp/gone.py", totals(63, 34, 16, 4, 0.0, -0.04)),
    ]
    cov = CoverageReport(
        branch=True,
        overall=totals(412, 331, 120, 86, -0.73, 0.25),
        files=files,
        modules=[
            ModuleCoverage("routing", [FAILING_FILE], totals(9, 7, 6, 4, -2.35, -1.0)),
            ModuleCoverage("sync", ["whatsapp_mcp/sync.py"], totals(180, 150, 52, 40, 0.42, 0.0)),
            ModuleCoverage("health", ["whatsapp_mcp/backends/health.py"], totals(96, 80, 30, 23)),
        ],
        baseline_id="20251011T090000-ffee",
        generated_at="2025-10-12T14:30:40Z",
    )
    verdicts = [
        Verdict(
            "threshold",
            "overall",
            "line",
            cov.overall.line_percent,
            70.0,
            True,
            "coverage.overall.line",
            "overall line 80.3% >= 70%",
        ),
        Verdict(
            "threshold",
            f"file:{FAILING_FILE}",
            "line",
            77.77,
            80.0,
            False,
            f'coverage.files."{FAILING_FILE}".line',
            f"{FAILING_FILE}: line 77.7% < 80% required",
        ),
        Verdict(
            "threshold",
            f"file:{FAILING_FILE}",
            "branch",
            66.66,
            60.0,
            True,
            f'coverage.files."{FAILING_FILE}".branch',
            f"{FAILING_FILE}: branch 66.6% >= 60%",
        ),
        Verdict(
            "max_drop",
            f"file:{FAILING_FILE}",
            "line",
            -2.35,
            1.0,
            False,
            "coverage.max_drop",
            f"{FAILING_FILE}: line dropped 2.35 pp (max 1.0)",
        ),
        Verdict("threshold", "file:whatsapp_mcp/sync.py", "line", 83.3, 75.0, True, None, "ok"),
        Verdict(
            "threshold",
            "module:routing",
            "line",
            77.77,
            80.0,
            False,
            "modules.routing.line",
            "module routing: line 77.7% < 80% required",
        ),
        Verdict(
            "budget",
            "suite:unit",
            "duration",
            34.2,
            30.0,
            False,
            "suites.unit.budget",
            "suite unit took 34.2 s, budget 30 s",
        ),
        Verdict("tests", "suite:unit", "count", 2, 0, False, None, f"2 tests failed, among them {HOSTILE}"),
        Verdict(
            "bridge",
            "suite:integration",
            "status",
            None,
            None,
            False,
            "suites.integration.requires",
            "bridge baileys is unreachable (connection refused)",
        ),
    ]
    bridges = [
        BridgeProbe(
            "go", "http://127.0.0.1:8080", "ok", 200, 12.4, "status ok, connected", ["ok"], ["integration"]
        ),
        BridgeProbe(
            "baileys",
            "http://127.0.0.1:8081",
            "unreachable",
            None,
            3.1,
            "connection refused",
            ["ok", "degraded"],
            ["integration"],
        ),
    ]
    return RunRecord(
        id=run_id,
        started_at="2025-10-12T14:30:00Z",
        status="failed" if complete else "incomplete",
        complete=complete,
        exit_code=3 if complete else 130,
        exit_reason="bridge-unavailable" if complete else "interrupted",
        selection=Selection(suite="unit"),
        meta=Meta(
            mcptest_version="0.1.0",
            python="3.11.9",
            platform="linux",
            command=["mcptest", "run", "unit"],
            cwd="/project",
            git=GitInfo("0123456789abcdef", "main", False),
        ),
        finished_at="2025-10-12T14:30:40Z",
        duration=40.1,
        reasons=[
            "bridge baileys is unreachable; suite integration not run",
            "2 tests failed in suite unit",
            f"{FAILING_FILE}: line 77.7% < 80% required",
        ],
        warnings=['coverage.files."whatsapp_mcp/legacy/*.py" matches no file measured in this run'],
        suites=[unit, integration],
        coverage=cov,
        verdicts=verdicts,
        bridges=bridges,
        counts=counts_of(unit_tests),
    )


def make_history(n: int = 8) -> list[RunRecord]:
    """Earlier runs, oldest first, with coverage drifting up and a growing test count."""
    runs = []
    for i in range(n):
        r = make_record(f"2025100{i}T090000-{i:04x}", complete=(i != 3))
        assert r.coverage is not None
        r.started_at = f"2025-10-0{i + 1}T09:00:00Z"
        r.coverage.overall = totals(400, 280 + 7 * i, 120, 70 + 2 * i)
        r.counts = Counts(passed=3 + i // 2, failed=i % 2)
        runs.append(r)
    return runs


def write_sources(root: Path) -> Path:
    """A project root holding the failing file's source (the others stay missing on purpose)."""
    path = root / FAILING_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ROUTING_SOURCE)
    return root
