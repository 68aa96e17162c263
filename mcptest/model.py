"""The run record: plain dataclasses that every writer (terminal, JSON, HTML, Markdown, JUnit) renders.

The shapes follow the report data model of the test plan (TestSuite, TestCase, CoverageReport) and add
the verdict of every gate, the bridge probes and metadata. ``RunRecord.to_dict()`` is the JSON record;
``RunRecord.from_dict()`` reads one back. ``mcptest/schema/run-record.schema.json`` describes it.

The parts of the record are defined by part, and every name is importable from here: the tests and suites
(``model_suites``), the coverage numbers (``model_coverage``), the verdicts, probes, findings and bisections
(``model_verdicts``), the context and schema version (``model_meta``).
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Union

from mcptest.model_coverage import CoverageReport, FileCoverage, ModuleCoverage, PatchCoverage, PatchFile, Totals
from mcptest.model_meta import ADDED_LATER, SCHEMA_VERSION, GitInfo, Meta, Selection, ShardInfo
from mcptest.model_suites import OUTCOMES, Attempt, Counts, Order, SubTest, SuiteResult, TestCase
from mcptest.model_verdicts import AuditFinding, Bisection, BridgeProbe, Verdict

__all__ = [
    "ADDED_LATER",
    "OUTCOMES",
    "PARTIAL_PREFIX",
    "SCHEMA_VERSION",
    "Attempt",
    "AuditFinding",
    "Bisection",
    "BridgeProbe",
    "Counts",
    "CoverageReport",
    "FileCoverage",
    "GitInfo",
    "Meta",
    "ModuleCoverage",
    "Order",
    "PatchCoverage",
    "PatchFile",
    "RunRecord",
    "Selection",
    "ShardInfo",
    "SubTest",
    "SuiteResult",
    "TestCase",
    "Totals",
    "Verdict",
]

#: How the warning of a partial run starts (``partial run: ... gates are not evaluated, because ...``).
PARTIAL_PREFIX = "partial run:"


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
