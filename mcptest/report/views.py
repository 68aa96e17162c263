"""Arrange a run record for the templates: look-ups, grouping, ordering and chart layout.

Nothing here derives a coverage number, a delta or a verdict; those come from the record as they
are. What happens here is presentation: which verdicts belong to which row, which page a file
links to, which tests are the slowest, which tests carry a requirement. A file page's source is
arranged in ``report.source``, the trend chart in ``report.trend``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mcptest.model import (
    OUTCOMES,
    FileCoverage,
    ModuleCoverage,
    RunRecord,
    SuiteResult,
    TestCase,
    Totals,
    Verdict,
)

#: Outcomes that make a test (and a requirement it covers) count as failing.
BAD_OUTCOMES = ("failed", "error")
SLOWEST = 20
FAILING_ON_SUMMARY = 50


@dataclass
class Gate:
    """The verdicts of one target (``overall``, ``file:PATH``, ``module:NAME``, ``suite:NAME``)."""

    verdicts: list[Verdict] = field(default_factory=list)

    def _threshold(self, metric: str) -> Verdict | None:
        for v in self.verdicts:
            if v.kind == "threshold" and v.metric == metric:
                return v
        return None

    @property
    def line(self) -> Verdict | None:
        return self._threshold("line")

    @property
    def branch(self) -> Verdict | None:
        return self._threshold("branch")

    @property
    def budget(self) -> Verdict | None:
        for v in self.verdicts:
            if v.kind == "budget":
                return v
        return None

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and not self.budget.passed

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]


class Gates:
    """Verdicts by target, so each table row finds its own in one look-up."""

    def __init__(self, verdicts: Iterable[Verdict]) -> None:
        self._by_target: dict[str, Gate] = {}
        for v in verdicts:
            self._by_target.setdefault(v.target, Gate()).verdicts.append(v)

    def get(self, target: str) -> Gate:
        return self._by_target.get(target) or Gate()


@dataclass
class FileRow:
    file: FileCoverage
    href: str  # relative to the report root
    gate: Gate
    by_type: dict[str, float | None] = field(default_factory=dict)  # suite type -> line %, several suites only


@dataclass
class ModuleRow:
    module: ModuleCoverage
    gate: Gate


@dataclass
class SuiteRow:
    suite: SuiteResult
    gate: Gate
    budget_used: float | None  # width of the bar, 0..100


@dataclass
class TestRow:
    test: TestCase
    anchor: str


@dataclass
class RequirementRow:
    id: str
    tests: list[TestRow]
    state: str  # passed | failed | skipped | uncovered
    configured: bool


def file_page(path: str) -> str:
    """The page of a source file: a readable slug plus a short hash, so ``a/b.py`` and ``a_b.py`` differ."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")[-80:] or "file"
    digest = hashlib.sha1(path.encode("utf-8", "replace")).hexdigest()[:8]
    return f"files/{slug}_{digest}.html"


def file_rows(record: RunRecord, gates: Gates) -> list[FileRow]:
    files = record.coverage.files if record.coverage else []
    return [
        FileRow(f, file_page(f.path), gates.get(f"file:{f.path}"), line_percent_by_type(record, f)) for f in files
    ]


def module_rows(record: RunRecord, gates: Gates) -> list[ModuleRow]:
    modules = record.coverage.modules if record.coverage else []
    return [ModuleRow(m, gates.get(f"module:{m.name}")) for m in modules]


def suite_rows(record: RunRecord, gates: Gates) -> list[SuiteRow]:
    rows = []
    for s in record.suites:
        used = min(100.0, 100.0 * s.duration / s.budget) if s.budget else None
        rows.append(SuiteRow(s, gates.get(f"suite:{s.name}"), used))
    return rows


def test_rows(record: RunRecord) -> list[TestRow]:
    return [TestRow(t, f"t{i}") for i, t in enumerate(record.all_tests())]


def failing_tests(rows: Sequence[TestRow], verdicts: Sequence[Verdict] = ()) -> list[TestRow]:
    """Failed and errored tests, and the flaky tests that failed the run, in the run's order.

    A flaky test failed the run when its suite's ``flaky`` verdict failed and names it (tests that
    ``flaky.allow`` lets through are not named); when the verdict counts more than it names (its list
    was cut), every flaky test of that suite is listed rather than one left out.
    """
    blocking: set[int] = set()
    for v in verdicts:
        if v.kind != "flaky" or v.passed or not v.target.startswith("suite:"):
            continue
        suite = v.target.removeprefix("suite:")
        flaky = [i for i, r in enumerate(rows) if r.test.flaky and r.test.suite == suite]
        named = [i for i in flaky if rows[i].test.nodeid in (v.message or "")]
        blocking.update(named if len(named) >= (v.actual or 0) else flaky)
    return [r for i, r in enumerate(rows) if r.test.outcome in BAD_OUTCOMES or i in blocking]


def flaky_tests(rows: Sequence[TestRow]) -> list[TestRow]:
    return [r for r in rows if r.test.flaky]


def slowest_tests(rows: Sequence[TestRow], n: int = SLOWEST) -> list[TestRow]:
    return sorted(rows, key=lambda r: r.test.duration, reverse=True)[:n]


def outcome_counts(record: RunRecord) -> list[tuple[str, int]]:
    return [(name, getattr(record.counts, name)) for name in OUTCOMES]


def requirement_rows(rows: Sequence[TestRow], wanted: Sequence[str]) -> list[RequirementRow]:
    """Requirement -> the tests that carry its id; ids in ``wanted`` first, in their order."""
    by_id: dict[str, list[TestRow]] = {}
    for r in rows:
        for req in r.test.requirements:
            by_id.setdefault(req, []).append(r)
    ids = list(dict.fromkeys([*wanted, *sorted(by_id, key=_natural)]))
    configured = set(wanted)
    out = []
    for req in ids:
        tests = by_id.get(req, [])
        outcomes = {r.test.outcome for r in tests}
        if not tests:
            state = "uncovered"
        elif outcomes & set(BAD_OUTCOMES):
            state = "failed"
        elif outcomes <= {"skipped"}:
            state = "skipped"
        else:
            state = "passed"
        out.append(RequirementRow(req, tests, state, req in configured))
    return out


#: Suite types in the order their columns and markers are shown; others follow by name.
SUITE_TYPE_ORDER = ("unit", "integration", "e2e", "custom")


def has_contexts(record: RunRecord) -> bool:
    """Whether the run recorded per-test lines (``--contexts``)."""
    return any(t.lines_covered is not None for t in record.all_tests())


def tests_by_line(record: RunRecord, path: str) -> dict[int, list[str]]:
    """Line -> node ids of the tests that covered it in ``path``, in the run's order."""
    out: dict[int, list[str]] = {}
    for t in record.all_tests():
        for n in (t.lines_covered or {}).get(path, []):
            out.setdefault(n, []).append(t.nodeid)
    return out


def _types(record: RunRecord) -> dict[str, str]:
    return {s.name: s.test_type for s in record.suites}


def _type_key(kind: str) -> tuple[int, str]:
    return (SUITE_TYPE_ORDER.index(kind) if kind in SUITE_TYPE_ORDER else len(SUITE_TYPE_ORDER), kind)


def suite_types(record: RunRecord) -> list[str]:
    """The suite types that have per-suite lines on some file (none when a single suite ran)."""
    kinds = _types(record)
    found = {kinds.get(name, name) for f in (record.coverage.files if record.coverage else []) for name in f.suites}
    return sorted(found, key=_type_key)


def suite_types_by_line(record: RunRecord, f: FileCoverage) -> dict[int, list[str]]:
    """Line -> the suite types that executed it, in display order."""
    kinds = _types(record)
    out: dict[int, set[str]] = {}
    for name, lines in f.suites.items():
        for n in lines:
            out.setdefault(n, set()).add(kinds.get(name, name))
    return {n: sorted(k, key=_type_key) for n, k in out.items()}


def line_percent_by_type(record: RunRecord, f: FileCoverage) -> dict[str, float | None]:
    """Suite type -> the share of the file's statements its suites executed (the record's lines, counted)."""
    kinds = _types(record)
    statements = set(f.executed_lines) | set(f.missing_lines)
    ran: dict[str, set[int]] = {}
    for name, lines in f.suites.items():
        ran.setdefault(kinds.get(name, name), set()).update(lines)
    return {
        kind: Totals.of(len(statements), len(lines & statements), 0, 0).line_percent for kind, lines in ran.items()
    }


def _natural(text: str) -> list[object]:
    """FR-2 before FR-10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]
