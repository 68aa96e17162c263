"""The run record: plain dataclasses that every writer (terminal, JSON, HTML, Markdown, JUnit) renders.

The shapes follow the report data model of the test plan (TestSuite, TestCase, CoverageReport) and add
the verdict of every gate, the bridge probes and metadata. ``RunRecord.to_dict()`` is the JSON record;
``RunRecord.from_dict()`` reads one back. ``mcptest/schema/run-record.schema.json`` describes it.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

SCHEMA_VERSION = 1
#: Metadata of a field added after records of this schema version were first written: records written before
#: lack it, so the schema does not require it and reading fills in its default (a stored baseline stays usable).
ADDED_LATER: dict[str, bool] = {"added_later": True}

#: How the warning of a partial run starts (``partial run: ... gates are not evaluated, because ...``).
PARTIAL_PREFIX = "partial run:"

#: Outcomes of one test, as pytest reports them (``error`` is a failure outside the test body), plus
#: ``flaky``: a test whose attempts (reruns, ``--repeat``) did not all end the same way.
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed", "flaky")


@dataclass
class Counts:
    """How many tests ended in each outcome."""

    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    flaky: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.error + self.skipped + self.xfailed + self.xpassed + self.flaky

    @property
    def bad(self) -> int:
        """Tests that make the run fail (strict xpass is reported by pytest as failed already)."""
        return self.failed + self.error

    def add(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)

    def __add__(self, other: Counts) -> Counts:
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in dataclasses.fields(self)})


@dataclass
class Order:
    """Where a test ran in the order of its run of the suite, so that the order can be replayed and bisected."""

    run: int  # which run of the suite (1, or 1..N with --repeat)
    position: int  # from 0, in the order the tests of that run ended (under pytest-xdist: on its worker)
    seed: int | None = None  # the --random-order seed of that run; None: the order pytest collected
    worker: str | None = None  # the pytest-xdist worker (gw0 ...) that ran it; None: a serial run


@dataclass
class Attempt:
    """One execution of a test, kept when a test ran more than once (reruns, --repeat)."""

    outcome: str
    duration: float = 0.0
    message: str | None = None
    order: Order | None = field(default=None, metadata=ADDED_LATER)


@dataclass
class SubTest:
    """One subtest of a test (unittest's ``self.subTest``, pytest's ``subtests``): what it was given, how it ended."""

    description: str  # "[msg] (x=3)"
    outcome: str
    message: str | None = None


@dataclass
class TestCase:
    """One test: where it is, what it used, how it ended, and (with --contexts) what it covered."""

    __test__ = False  # not a pytest test class

    nodeid: str
    name: str
    file: str
    line: int | None
    suite: str
    outcome: str
    duration: float = 0.0
    markers: list[str] = field(default_factory=list)
    requirements: list[str] = field(default_factory=list)
    fixtures: list[str] = field(default_factory=list)
    message: str | None = None
    longrepr: str | None = None
    lines_covered: dict[str, list[int]] | None = None
    attempts: list[Attempt] = field(default_factory=list)
    flaky: bool = False
    #: Its subtests: every one that did not pass, and passed ones up to 100; a failed subtest fails the test.
    subtests: list[SubTest] = field(default_factory=list)
    #: Where it ran in its run's order (the first run's with --repeat; each attempt has its own).
    order: Order | None = field(default=None, metadata=ADDED_LATER)


@dataclass
class Totals:
    """Summed coverage numbers; percentages are None when there is nothing to measure."""

    statements: int = 0
    covered_lines: int = 0
    branches: int = 0
    covered_branches: int = 0
    line_percent: float | None = None
    branch_percent: float | None = None
    percent: float | None = None
    delta_line: float | None = None
    delta_branch: float | None = None

    def __add__(self, other: Totals) -> Totals:
        return Totals.of(
            self.statements + other.statements,
            self.covered_lines + other.covered_lines,
            self.branches + other.branches,
            self.covered_branches + other.covered_branches,
        )

    @classmethod
    def of(cls, statements: int, covered_lines: int, branches: int, covered_branches: int) -> Totals:
        """Totals with percentages computed the way coverage.py does (lines and branches together)."""
        line_pct = 100.0 * covered_lines / statements if statements else None
        branch_pct = 100.0 * covered_branches / branches if branches else None
        units = statements + branches
        # like coverage.py, a file with nothing to measure counts as fully covered in the combined figure
        pct = 100.0 * (covered_lines + covered_branches) / units if units else 100.0
        return cls(statements, covered_lines, branches, covered_branches, line_pct, branch_pct, pct)


@dataclass
class FileCoverage:
    """Coverage of one measured source file (path relative to the project root, with ``/``)."""

    path: str
    totals: Totals
    executed_lines: list[int] = field(default_factory=list)
    missing_lines: list[int] = field(default_factory=list)
    excluded_lines: list[int] = field(default_factory=list)
    missing_branches: list[str] = field(default_factory=list)  # "from->to"; a negative "to" is an exit
    partial_lines: list[int] = field(default_factory=list)
    #: Branches taken ("from->to"), so the branches from any set of lines can be counted (patch coverage).
    executed_branches: list[str] = field(default_factory=list, metadata=ADDED_LATER)
    #: With several suites in the run: suite name -> the lines of this file that suite executed, measured
    #: from its own coverage data before the suites were combined (empty when one suite ran).
    suites: dict[str, list[int]] = field(default_factory=dict, metadata=ADDED_LATER)


@dataclass
class ModuleCoverage:
    """A configured module: a named group of source files and their combined numbers."""

    name: str
    files: list[str]
    totals: Totals
    tests: list[str] = field(default_factory=list)


@dataclass
class CoverageReport:
    """Coverage of the run: overall, per module and per file, with deltas against the baseline."""

    branch: bool
    overall: Totals
    files: list[FileCoverage] = field(default_factory=list)
    modules: list[ModuleCoverage] = field(default_factory=list)
    baseline_id: str | None = None
    generated_at: str | None = None
    html_path: str | None = None
    core: str | None = None


@dataclass
class PatchFile:
    """Coverage of one file's changed lines: statements and branch arcs that start on a changed line."""

    path: str
    totals: Totals  # statements / covered_lines / branches / covered_branches of the changed lines only
    changed_lines: list[int] = field(default_factory=list)  # every line the diff adds or changes
    missing_lines: list[int] = field(default_factory=list)  # changed statements that did not run
    missing_branches: list[str] = field(default_factory=list)  # "from->to" arcs from changed lines, not taken
    old_path: str | None = None  # the path before a rename


@dataclass
class PatchCoverage:
    """Coverage of the patch: lines changed since the merge base of ``base`` and HEAD, working tree included."""

    base: str  # the REF as given (--diff-base, coverage.patch.diff_base)
    merge_base: str  # the commit the patch is measured from
    head: str | None  # the commit checked out when the patch was read
    totals: Totals
    files: list[PatchFile] = field(default_factory=list)
    #: changed files that are not measured (not Python, not under ``source``, test files), with their paths
    ignored: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # files the patch deletes (nothing left to measure)


@dataclass
class Verdict:
    """One gate and how it ended: ``target`` is ``overall``, ``file:PATH``, ``module:NAME`` or ``suite:NAME``."""

    kind: str  # threshold | max_drop | budget | tests | collection | data | bridge | process
    target: str
    metric: str  # line | branch | duration | count | status
    actual: float | None
    required: float | None
    passed: bool
    rule: str | None = None  # the config key that asked for it
    message: str = ""


@dataclass
class BridgeProbe:
    """The answer of one bridge's health endpoint, classified (ok, degraded, error, unreachable)."""

    name: str
    url: str
    status: str
    http_status: int | None = None
    response_time_ms: float | None = None
    reason: str = ""
    accepted: list[str] = field(default_factory=lambda: ["ok"])
    required_by: list[str] = field(default_factory=list)
    checked_at: str | None = None
    started_by_mcptest: bool = False
    #: Seconds the check waited for this bridge (--wait, or a bridge mcptest started): from its start
    #: until the bridge answered as accepted, or until the check gave up; None when it did not wait.
    waited_s: float | None = field(default=None, metadata=ADDED_LATER)


@dataclass
class SuiteResult:
    """One suite's run (the TestSuite of the data model): its tests, counts, time and coverage."""

    name: str
    test_type: str  # unit | integration | e2e | custom
    paths: list[str]
    status: str  # passing | failing | incomplete | not-run
    started_at: str | None = None
    duration: float = 0.0
    budget: float | None = None
    timeout: float | None = None
    requires: list[str] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    coverage: Totals | None = None
    tests: list[TestCase] = field(default_factory=list)
    pytest_exit: int | None = None
    problems: list[str] = field(default_factory=list)
    bridge_calls: dict[str, int] | None = None
    #: Tests pytest selected to run (after deselection) and how many it deselected; None when not known.
    selected: int | None = None
    deselected: int | None = None
    #: Why pytest stopped before every selected test had run (pytest.exit, KeyboardInterrupt, -x ...).
    stopped: str | None = None


@dataclass
class Selection:
    """What the command line asked to run; ``partial`` when what pytest selected is narrower than the suite.

    ``partial_reasons`` says what narrowed it (``--module``, a ``-k`` that deselected tests, node ids ...).
    """

    suite: str
    modules: list[str] = field(default_factory=list)
    keyword: str | None = None
    pytest_args: list[str] = field(default_factory=list)
    contexts: bool = False
    preflight: bool = True
    partial: bool = False
    workers: str | None = None
    repeat: int = 1
    random_order: bool = False
    seed: int | None = None
    partial_reasons: list[str] = field(default_factory=list)


@dataclass
class GitInfo:
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


@dataclass
class Meta:
    schema_version: int = SCHEMA_VERSION
    mcptest_version: str = ""
    python: str = ""
    platform: str = ""
    command: list[str] = field(default_factory=list)
    cwd: str = ""
    config_path: str | None = None
    git: GitInfo | None = None


@dataclass
class AuditFinding:
    """A test-quality finding of ``mcptest audit`` (rule id, where, why)."""

    rule: str
    file: str
    line: int
    reason: str
    test: str | None = None


@dataclass
class Bisection:
    """What ``mcptest flaky --bisect`` found about one test: the tests that make it fail when they run before it
    (``fails-after``), or that it needs to run before it to pass (``depends-on``)."""

    nodeid: str
    suite: str
    #: fails-after | depends-on | fails-alone (fails with no test before it, and passes in no known order) |
    #: not-reproduced (the recorded order did not make it fail, or pass, again) | error (a step could not run)
    verdict: str
    culprits: list[str] = field(default_factory=list)  # the smallest set found, in the order they ran
    minimal: bool = True  # False when the step bound ended the search before the set was the smallest
    steps: int = 0  # pytest runs it took
    seconds: float = 0.0
    run: int | None = None  # the run of the suite (--repeat) whose order was bisected
    message: str = ""  # "fails when run after X (N steps, S s)"
    at: str | None = None  # when it was found


@dataclass
class ShardInfo:
    """One part of a suite split over several machines (``--shard K/N``); ``mcptest combine`` joins them."""

    index: int  # K, from 1
    count: int  # N
    collected: int  # tests of the suite before the split
    selected: int  # tests in this shard
    digest: str  # the split itself (every test and its shard), equal in every shard of one split
    durations_from: str | None = None  # the run whose test durations the split balanced; None: split by count


@dataclass
class RunRecord:
    """Everything one ``mcptest run`` learned. ``complete`` is False for an interrupted or killed run."""

    id: str
    started_at: str
    status: str  # passed | failed | incomplete
    complete: bool
    exit_code: int
    exit_reason: str
    selection: Selection
    meta: Meta
    finished_at: str | None = None
    duration: float = 0.0
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    suites: list[SuiteResult] = field(default_factory=list)
    coverage: CoverageReport | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    bridges: list[BridgeProbe] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    audit: list[AuditFinding] | None = None
    #: Causes of order-dependent failures found by ``mcptest flaky --bisect`` (or ``run --bisect``) on this run.
    bisections: list[Bisection] = field(default_factory=list, metadata=ADDED_LATER)
    #: Findings per audit rule (every rule, in report order) when the run audited its suites (``audit.gate``).
    audit_counts: dict[str, int] | None = field(default=None, metadata=ADDED_LATER)
    patch: PatchCoverage | None = field(default=None, metadata=ADDED_LATER)  # --diff-base: the changed lines
    shard: ShardInfo | None = field(default=None, metadata=ADDED_LATER)  # --shard K/N: which part this run was

    kind: str = "mcptest-run"

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["counts"]["total"] = self.counts.total
        for suite, raw in zip(self.suites, data["suites"], strict=True):
            raw["counts"]["total"] = suite.counts.total
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunRecord:
        """Build a record from its JSON form; raises ValueError/TypeError/KeyError on a foreign shape."""
        if data.get("kind") != "mcptest-run":
            raise ValueError("not an mcptest run record (kind is not 'mcptest-run')")
        version = (data.get("meta") or {}).get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema version {version!r} is not {SCHEMA_VERSION}")
        return _build(cls, data)

    def partial_note(self) -> str | None:
        """The warning that says which gates a partial run did not judge and why (None for a whole run)."""
        if not self.selection.partial:
            return None
        return next((w for w in self.warnings if w.startswith(PARTIAL_PREFIX)), None)

    def all_tests(self) -> list[TestCase]:
        return [t for s in self.suites for t in s.tests]


T = TypeVar("T")


@functools.cache
def _hints(tp: type) -> dict[str, Any]:
    """A dataclass's resolved field types: resolving them took 80 % of reading a record when done per object."""
    return typing.get_type_hints(tp)


def _build(tp: Any, value: Any) -> Any:
    """Rebuild a dataclass tree from plain JSON values, checking the types as it goes."""
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _build(arg, value)
            except (TypeError, ValueError, KeyError) as exc:
                errors.append(str(exc))
        raise TypeError(f"{value!r} fits none of {tp}: {'; '.join(errors)}")
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if not isinstance(value, dict):
            raise TypeError(f"expected an object for {tp.__name__}, got {type(value).__name__}")
        hints = _hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if not f.init:
                continue
            if f.name in value:
                kwargs[f.name] = _build(hints[f.name], value[f.name])
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise KeyError(f"{tp.__name__}.{f.name} is missing")
        return tp(**kwargs)
    if origin is list:
        if not isinstance(value, list):
            raise TypeError(f"expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(tp)
        if item in (int, str) and all(type(v) is item for v in value):
            return list(value)  # line numbers and arcs: most of a record, checked at once (no bool, no subclass)
        return [_build(item, v) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {type(value).__name__}")
        _, item = typing.get_args(tp)
        return {str(k): _build(item, v) for k, v in value.items()}
    if tp is Any:
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {value!r}")
        return float(value)
    if tp in (int, str, bool):
        if not isinstance(value, tp) or (tp is int and isinstance(value, bool)):
            raise TypeError(f"expected {tp.__name__}, got {value!r}")
        return value
    raise TypeError(f"unsupported type {tp!r}")
