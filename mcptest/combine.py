"""``mcptest combine``: the shard bundles of one suite joined into the record of one whole run.

The bundles are found, read and checked first (:mod:`mcptest.combine_bundles`). Their coverage data
(paths relative to the project folder) is combined by coverage.py into this checkout's paths and read as a
run's is (:mod:`mcptest.combine_coverage`); here the tests are concatenated (their durations kept for the
next split), the verdicts of the shards that are not coverage gates are kept with their shard named, the
tests verdict is judged again on the whole suite, and the coverage (and patch) gates are judged once. The
exit code is the one the whole suite run at once would have had. Returns data; the CLI prints and exits.
"""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from mcptest import __version__, covdata, display, exitcodes, gate, patch, shard
from mcptest.combine_bundles import Bundle, check, check_head, find_bundles, load, load_all
from mcptest.combine_coverage import COMBINED_DATA, combined_data, union_report, whole_report
from mcptest.config_model import Config
from mcptest.errors import NoDataError
from mcptest.globs import glob_match
from mcptest.history import new_run_id
from mcptest.model import (
    PARTIAL_PREFIX,
    BridgeProbe,
    Counts,
    CoverageReport,
    Meta,
    RunRecord,
    Selection,
    SuiteResult,
    Verdict,
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _not_whole(record: RunRecord) -> str | None:
    """Why a shard's coverage cannot be judged (it did not run to its end), or None."""
    suite = record.suites[0] if record.suites else None
    if suite is None or suite.status == "not-run":
        return "did not run"
    if not record.complete:
        return "did not run to its end"
    if suite.stopped:
        return "stopped early"
    if any("collection-error" in t.markers for t in suite.tests):
        return "had collection errors"
    if suite.pytest_exit in (3, 4):
        return "did not run its tests (pytest crashed or rejected its arguments)"
    return None


def _merge_suite(bundles: Sequence[Bundle]) -> SuiteResult:
    results = [b.record.suites[0] for b in bundles if b.record.suites]
    if not results:
        raise NoDataError("no shard bundle holds a suite result")
    first = results[0]
    counts = sum((r.counts for r in results), Counts())
    statuses = {r.status for r in results}
    if statuses == {"not-run"}:
        status = "not-run"
    elif "incomplete" in statuses:
        status = "incomplete"
    elif statuses & {"failing", "not-run"}:
        status = "failing"
    else:
        status = "passing"
    exits = [r.pytest_exit for r in results if r.pytest_exit is not None]
    real = [c for c in exits if c != 5]
    calls: dict[str, int] = {}
    for r in results:
        for name, n in (r.bridge_calls or {}).items():
            calls[name] = calls.get(name, 0) + n
    selected = [r.selected for r in results]
    return SuiteResult(
        name=first.name,
        test_type=first.test_type,
        paths=list(first.paths),
        status=status,
        started_at=min((r.started_at for r in results if r.started_at), default=None),
        duration=max(r.duration for r in results),
        budget=first.budget,
        timeout=first.timeout,
        requires=list(first.requires),
        counts=counts,
        tests=[t for r in results for t in r.tests],
        pytest_exit=max(real) if real else (5 if exits else None),
        problems=[
            f"shard {b.index}/{b.count}: {p}"
            for b in bundles
            for p in (b.record.suites[0].problems if b.record.suites else [])
        ],
        bridge_calls=calls or None,
        selected=sum(n for n in selected if n is not None) if all(n is not None for n in selected) else None,
        deselected=first.deselected,
        stopped=next(
            (f"shard {b.index}/{b.count}: {s}" for b in bundles for s in [b.record.suites[0].stopped] if s), None
        )
        if all(b.record.suites for b in bundles)
        else None,
    )


def _tests_verdicts(suite: SuiteResult, allowed_flaky: Sequence[str]) -> list[Verdict]:
    """The tests (and flaky) verdicts of the whole suite, judged as a single run judges them."""
    target = f"suite:{suite.name}"
    out: list[Verdict] = []
    c = suite.counts
    bad = c.bad
    if c.total:
        summary = f"suite {suite.name}: {c.passed} passed, {c.failed} failed, {c.error} errors"
        if bad:
            summary += (
                f"; failed: {display.join_cut([t.nodeid for t in suite.tests if t.outcome in ('failed', 'error')])}"
            )
        out.append(Verdict("tests", target, "count", float(bad), 0, bad == 0, None, summary))
    flaky = [t for t in suite.tests if t.flaky]
    if flaky:
        blocking = [
            t
            for t in flaky
            if not any(t.nodeid == a or glob_match(a, t.nodeid) or fnmatch(t.nodeid, a) for a in allowed_flaky)
        ]
        names = display.join_cut([t.nodeid for t in (blocking or flaky)], 400)
        if blocking:
            message = f"suite {suite.name}: {len(blocking)} flaky test(s) (outcomes differ between attempts): {names}"
        else:
            message = f"suite {suite.name}: {len(flaky)} flaky test(s) allowed by flaky.allow: {names}"
        out.append(Verdict("flaky", target, "count", float(len(blocking)), 0, not blocking, "flaky.allow", message))
    return out


def _carried(bundles: Sequence[Bundle]) -> list[Verdict]:
    """The shards' own verdicts that stay true of the whole (process, budget, bridges, audit ...), shard named."""
    out: list[Verdict] = []
    said: set[tuple[str, str, str]] = set()
    for b in bundles:
        for v in b.record.verdicts:
            if v.kind in ("tests", "flaky") and v.target.startswith("suite:"):
                continue  # judged again on the whole suite
            if v.kind in ("collection", "data") and v.passed:
                continue  # an empty shard's note
            if v.target == "patch" or v.target == "overall" or v.target.startswith(("file:", "module:")):
                continue  # coverage gates are judged once, on the combined data
            if v.kind == "audit":  # the same static check in every shard: once
                key = (v.kind, v.target, v.message)
                if key in said:
                    continue
                said.add(key)
                out.append(v)
                continue
            prefix = f"shard {b.index}/{b.count}: "
            out.append(Verdict(v.kind, v.target, v.metric, v.actual, v.required, v.passed, v.rule, prefix + v.message))
    return out


def _bridges(bundles: Sequence[Bundle]) -> list[BridgeProbe]:
    seen: set[tuple[str, str, str]] = set()
    out = []
    for b in bundles:
        for probe in b.record.bridges:
            key = (probe.name, probe.url, probe.status)
            if key not in seen:
                seen.add(key)
                out.append(probe)
    return out


def _selection(first: RunRecord) -> Selection:
    """The shards' selection, partial only for what narrowed the whole suite (not for being a shard)."""
    reasons = [r for r in first.selection.partial_reasons if not r.startswith(shard.REASON_PREFIX)]
    return dataclasses.replace(first.selection, partial=bool(reasons), partial_reasons=reasons)


def _warnings(bundles: Sequence[Bundle], selection: Selection) -> list[str]:
    """The shards' warnings that stay true of the whole (shard named), a partial run's, uncommitted changes'."""
    warnings: list[str] = []
    for b in bundles:
        for w in b.record.warnings:
            if w.startswith(PARTIAL_PREFIX) or w.startswith("coverage is not gated") or w.startswith("patch coverage"):
                continue
            warnings.append(f"shard {b.index}/{b.count}: {w}")
    if selection.partial_reasons:
        warnings.append(
            f"{PARTIAL_PREFIX} overall, per-file, per-module and max_drop gates are not evaluated, because "
            + "; ".join(selection.partial_reasons)
        )
    dirty = [f"{b.index}/{b.count}" for b in bundles if b.manifest.get("dirty")]
    if dirty:
        warnings.append(f"shard(s) {', '.join(dirty)} ran in a working tree with uncommitted changes")
    return warnings


def _new_record(
    config: Config, bundles: Sequence[Bundle], suite: SuiteResult, selection: Selection, command: Sequence[str]
) -> RunRecord:
    """The whole run's record before it is judged: this machine's meta, the shards' git state and audit."""
    first = bundles[0].record
    return RunRecord(
        id=new_run_id(),
        started_at=min((b.record.started_at for b in bundles), default=_now()),
        status="incomplete",
        complete=all(b.record.complete for b in bundles),
        exit_code=exitcodes.OK,
        exit_reason="ok",
        selection=selection,
        meta=Meta(
            mcptest_version=__version__,
            python=platform.python_version(),
            platform=f"{platform.system()} {platform.machine()}",
            command=list(command),
            cwd=str(Path.cwd()),
            config_path=str(config.path),
            git=first.meta.git,
        ),
        suites=[suite],
        bridges=_bridges(bundles),
        audit=first.audit,
    )


def _coverage_verdicts(
    config: Config,
    bundles: Sequence[Bundle],
    record: RunRecord,
    report: CoverageReport | None,
    *,
    baseline: RunRecord | None,
    diff: Any,
    broken: dict[str, str],
    warnings: list[str],
) -> list[Verdict]:
    """The coverage (and patch) verdicts of the whole suite, judged once; ``record`` gets the report and patch."""
    suite = record.suites[0]
    if report is None or not report.files:
        if suite.counts.total and not broken:
            message = f"coverage measured no file: the shard bundles of suite {suite.name} hold no coverage data"
            return [Verdict("data", "overall", "line", None, None, False, "source", message)]
        return []
    report.generated_at = _now()
    report.core = next((b.record.coverage.core for b in bundles if b.record.coverage and b.record.coverage.core), None)
    if baseline is not None and baseline.coverage is not None:
        covdata.apply_deltas(report, baseline.coverage, baseline.id)
    record.coverage = report
    suite.coverage = report.overall
    gated = config.suites[suite.name].coverage_gates if suite.name in config.suites else True
    verdicts: list[Verdict] = []
    if broken:
        listed = "; ".join(f"shard {k} {why}" for k, why in broken.items())
        warnings.append(f"coverage is not gated, because {listed}")
    elif not gated:
        warnings.append(
            f"coverage of suite {suite.name} is measured and reported but not gated (coverage_gates: false)"
        )
    elif not record.selection.partial:
        verdicts += gate.coverage_verdicts(config, report)
    if diff is not None:
        record.patch = patch.measure(diff, report)
        if not config.coverage.patch.empty:
            if broken or not gated or record.selection.partial:
                warnings.append(
                    "patch coverage is measured and reported but not gated: coverage is not gated in this run"
                )
            else:
                verdicts += patch.gate(config, record.patch)
    return verdicts


def _conclude(record: RunRecord, bundles: Sequence[Bundle], verdicts: list[Verdict], warnings: list[str]) -> None:
    """The record's verdicts, exit code, reasons, warnings and status; it ends when its last shard did."""
    record.verdicts = verdicts
    record.counts = record.suites[0].counts
    record.exit_code = gate.exit_code(verdicts)
    record.exit_reason = exitcodes.name(record.exit_code)
    record.reasons = [v.message for v in gate.failed(verdicts)]
    record.warnings = warnings
    record.status = (
        "incomplete" if not record.complete else ("passed" if record.exit_code == exitcodes.OK else "failed")
    )
    record.finished_at = _now()
    record.duration = max(b.record.duration for b in bundles)


def combine(
    config: Config,
    bundles: Sequence[Bundle],
    *,
    baseline: RunRecord | None,
    diff: Any = None,
    command: Sequence[str] = (),
) -> RunRecord:
    """The record of the whole suite from its checked shard bundles (``check`` first)."""
    bundles = sorted(bundles, key=lambda b: b.index)
    suite = _merge_suite(bundles)
    verdicts = _carried(bundles) + _tests_verdicts(suite, config.flaky_allow)
    selection = _selection(bundles[0].record)
    warnings = _warnings(bundles, selection)
    broken = {f"{b.index}/{b.count}": why for b in bundles if (why := _not_whole(b.record))}
    record = _new_record(config, bundles, suite, selection, command)
    report, disagreed = whole_report(config, bundles, suite)
    if disagreed is not None:  # the shards disagree on what a file holds: coverage.py read the combined data
        warnings.append(disagreed)
    verdicts += _coverage_verdicts(
        config, bundles, record, report, baseline=baseline, diff=diff, broken=broken, warnings=warnings
    )
    _conclude(record, bundles, verdicts, warnings)
    return record


__all__ = [
    "COMBINED_DATA",
    "Bundle",
    "check",
    "check_head",
    "combine",
    "combined_data",
    "find_bundles",
    "load",
    "load_all",
    "union_report",
]
