"""The run record's judgements: the gates' verdicts, the bridge probes, the audit's findings, the bisections."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcptest.model_meta import ADDED_LATER


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
