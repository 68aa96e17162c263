"""The run record's tests and suites: outcomes and their counts, each test with its attempts, subtests and
place in the order, and each suite's result."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from mcptest.model_coverage import Totals
from mcptest.model_meta import ADDED_LATER

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
