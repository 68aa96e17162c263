"""``mcptest combine``: the shard bundles of one suite joined into the record of one whole run.

Bundles are checked before anything is merged: one suite, one commit, one config, one split (the same
shard count and the same split digest) and every shard from 1 to N exactly once; every refusal names the
bundles and what differs. Their coverage data (paths relative to the project folder) is combined by
coverage.py into this checkout's paths and read as a run's is, the tests are concatenated (their durations
kept for the next split), the verdicts of the shards that are not coverage gates are kept with their
shard named, the tests verdict is judged again on the whole suite, and the coverage (and patch) gates are
judged once. The exit code is the one the whole suite run at once would have had. Returns data; the CLI
prints and exits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

from mcptest import __version__, covdata, display, exitcodes, gate, patch, shard
from mcptest.config_model import Config
from mcptest.errors import NoDataError, UsageError
from mcptest.globs import glob_match
from mcptest.history import History, new_run_id
from mcptest.model import (
    PARTIAL_PREFIX,
    BridgeProbe,
    Counts,
    CoverageReport,
    FileCoverage,
    Meta,
    RunRecord,
    SuiteResult,
    Totals,
    Verdict,
)


@dataclass
class Bundle:
    folder: Path
    manifest: dict[str, Any]
    record: RunRecord

    @property
    def index(self) -> int:
        return int(self.manifest["index"])

    @property
    def count(self) -> int:
        return int(self.manifest["count"])

    @property
    def name(self) -> str:
        return f"{self.folder} (shard {self.index}/{self.count})"

    @property
    def data(self) -> Path | None:
        name = self.manifest.get("coverage")
        return self.folder / name if isinstance(name, str) and name else None


def find_bundles(paths: Sequence[Path]) -> list[Path]:
    """Bundle folders: each path given is one (it has ``bundle.json``) or holds them one level down."""
    found: list[Path] = []
    for path in paths:
        if (path / shard.MANIFEST).is_file():
            found.append(path)
        elif path.is_dir():
            inside = sorted(child for child in path.iterdir() if (child / shard.MANIFEST).is_file())
            if not inside:
                raise UsageError(f"{path}: no shard bundle ({shard.MANIFEST}) in it or in its subfolders")
            found += inside
        else:
            raise UsageError(f"{path}: no such shard bundle folder")
    if not found:
        raise UsageError("give the shard bundle folders to combine")
    return found


def load(folder: Path) -> Bundle:
    """One bundle: its manifest and its record (checked against the record's schema)."""
    path = folder / shard.MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable shard bundle manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != shard.BUNDLE_KIND:
        raise UsageError(f"{path} is not an mcptest shard bundle manifest")
    if manifest.get("format") != shard.BUNDLE_FORMAT:
        raise UsageError(f"{path}: bundle format {manifest.get('format')!r} is not {shard.BUNDLE_FORMAT}")
    for key in ("index", "count"):
        if isinstance(manifest.get(key), bool) or not isinstance(manifest.get(key), int):
            raise UsageError(f"{path}: {key} is not a number")
    loaded = History(folder).read(folder / str(manifest.get("record") or shard.RECORD), "shard record")
    if loaded.record is None:
        raise UsageError(loaded.warning or f"{folder}: the bundle has no run record")
    record = loaded.record
    if record.shard is None:
        raise UsageError(f"{folder}: its record is not the record of a shard (run with --shard K/N)")
    return Bundle(folder, manifest, record)


def load_all(folders: Sequence[Path]) -> list[Bundle]:
    return [load(folder) for folder in folders]


def check(bundles: Sequence[Bundle], config: Config) -> None:
    """Refuse bundles that are not the shards of one split of one suite, commit and config (UsageError)."""
    first = bundles[0]

    def differ(what: str, key: Any, show: Any = str) -> None:
        values: dict[Any, list[Bundle]] = {}
        for b in bundles:
            values.setdefault(key(b), []).append(b)
        if len(values) > 1:
            listed = "; ".join(
                f"{show(value):.60} in {', '.join(b.name for b in group)}" for value, group in values.items()
            )
            raise UsageError(f"cannot combine shards of different {what}: {listed}")

    differ("suites", lambda b: b.manifest.get("suite"))
    differ("shard counts (splits into a different number of parts)", lambda b: b.count)
    seen: dict[int, Bundle] = {}
    for b in bundles:
        if b.index in seen:
            raise UsageError(f"shard {b.index}/{b.count} is given twice: {seen[b.index].folder} and {b.folder}")
        seen[b.index] = b
    missing = [k for k in range(1, first.count + 1) if k not in seen]
    if missing:
        shown = ", ".join(f"{k}/{first.count}" for k in missing)
        have = ", ".join(f"{k}/{first.count}" for k in sorted(seen))
        raise UsageError(f"shard(s) {shown} missing (given: {have}); combine needs every shard of the split")
    differ("commits", lambda b: b.manifest.get("commit"))
    differ("configs (mcptest.yaml differs)", lambda b: b.manifest.get("config_sha256"))
    here = shard.config_digest(config)
    if first.manifest.get("config_sha256") != here:
        raise UsageError(
            f"the shards were made with another mcptest.yaml than {config.path}: combine in a checkout of the "
            "commit the shards ran at"
        )
    differ("selections (-k, --module or pytest arguments differ)", lambda b: _selection_key(b.record))
    differ(
        "splits (the shards balanced different recorded durations: give every shard the same baseline)",
        lambda b: (b.record.shard.digest, b.record.shard.durations_from) if b.record.shard else ("", None),
        lambda value: f"split {value[0][:12]} ({f'durations of run {value[1]}' if value[1] else 'by count'})",
    )
    for b in bundles:
        info = b.record.shard
        if info is not None and not info.digest and b.record.exit_code != exitcodes.INTERRUPTED:
            raise UsageError(f"{b.name} never split the suite (its tests were not collected); run that shard again")
    infos = [b.record.shard for b in bundles if b.record.shard is not None]
    collected = {info.collected for info in infos}
    if len(collected) == 1 and sum(info.selected for info in infos) != next(iter(collected)):
        parts = " + ".join(str(info.selected) for info in infos)
        raise UsageError(
            f"the shards hold {parts} tests, not the {next(iter(collected))} the suite collected: "
            "they are not the parts of one split"
        )
    owner: dict[str, Bundle] = {}
    for b in bundles:
        for test in b.record.all_tests():
            if "collection-error" in test.markers:
                continue
            other = owner.setdefault(test.nodeid, b)
            if other is not b:
                raise UsageError(f"test {test.nodeid} ran in two shards: {other.name} and {b.name}")


def check_head(bundles: Sequence[Bundle], head: str | None) -> None:
    """The patch is read from this checkout: it must be at the commit the shards ran at."""
    commit = bundles[0].manifest.get("commit")
    if commit and head and commit != head:
        raise UsageError(
            f"--diff-base: the shards ran at commit {str(commit)[:12]} but HEAD here is {head[:12]}: check out "
            "the commit the shards ran at"
        )


def _selection_key(record: RunRecord) -> tuple[Any, ...]:
    s = record.selection
    return (s.suite, tuple(s.modules), s.keyword, tuple(s.pytest_args), s.contexts, s.workers)


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


#: Where combine leaves the coverage.py data of the whole suite (``coverage report --data-file=...`` reads it).
COMBINED_DATA = "combined.coverage"


def _arc_key(arc: str) -> tuple[int, int]:
    head, _, tail = arc.partition("->")
    return int(head), int(tail)


def union_report(config: Config, bundles: Sequence[Bundle]) -> tuple[CoverageReport | None, str | None]:
    """The coverage of the whole suite from the shards' own coverage.py reports, and the first file they
    disagree on (its statements, branches or exclusions differ), else None.

    Each shard's report holds, per file, the statements and possible branches coverage.py found (run and
    missing together) and those that ran; the whole suite ran a statement or took a branch when one shard
    did. So the union is what coverage.py reports on the combined data, without parsing every source again
    (the slow part of a report: seconds for hundreds of files).
    """
    parts: dict[str, list[FileCoverage]] = {}
    reports = [b.record.coverage for b in bundles if b.record.coverage is not None]
    for report in reports:
        for f in report.files:
            parts.setdefault(f.path, []).append(f)
    if not reports:
        return None, None
    files: list[FileCoverage] = []
    for path, seen in sorted(parts.items()):
        first = seen[0]
        if any(patch.lacks_taken_branches(f) for f in seen):
            return None, path
        statements = set(first.executed_lines) | set(first.missing_lines)
        arcs = set(first.executed_branches) | set(first.missing_branches)
        excluded = sorted(first.excluded_lines)
        for other in seen[1:]:
            if (
                set(other.executed_lines) | set(other.missing_lines) != statements
                or set(other.executed_branches) | set(other.missing_branches) != arcs
                or sorted(other.excluded_lines) != excluded
            ):
                return None, path
        executed = set().union(*(f.executed_lines for f in seen))
        taken = set().union(*(f.executed_branches for f in seen))
        missing_arcs = sorted(arcs - taken, key=_arc_key)
        files.append(
            FileCoverage(
                path=path,
                totals=Totals.of(len(statements), len(executed), len(arcs), len(taken)),
                executed_lines=sorted(executed),
                missing_lines=sorted(statements - executed),
                excluded_lines=excluded,
                missing_branches=missing_arcs,
                partial_lines=sorted({_arc_key(a)[0] for a in missing_arcs} & executed),
                executed_branches=sorted(taken, key=_arc_key),
            )
        )
    overall = sum((f.totals for f in files), Totals())
    branch = any(r.branch for r in reports)
    return CoverageReport(
        branch=branch, overall=overall, files=files, modules=covdata.module_coverage(config, files)
    ), None


def combined_data(config: Config, bundles: Sequence[Bundle], out: Path) -> Path | None:
    """The bundles' coverage data combined by coverage.py into ``out``, with this checkout's absolute paths (what
    ``coverage report --data-file=out`` reads, e.g. for a Cobertura XML); None when no bundle has any."""
    from coverage import CoverageData

    with contextlib.suppress(FileNotFoundError):
        out.unlink()  # a CoverageData adds to a file it finds; an older combine's data is not this one's
    parts = [b.data for b in bundles if b.data is not None and b.data.is_file()]
    if not parts:
        return None
    root = str(config.root)

    def here(path: str) -> str:
        return path if os.path.isabs(path) else os.path.join(root, path)

    out.parent.mkdir(parents=True, exist_ok=True)
    combined = CoverageData(basename=str(out))
    for path in parts:
        part = CoverageData(basename=str(path))
        part.read()
        combined.update(part, map_path=here)
    combined.write()
    return out


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
    first = bundles[0].record
    suite = _merge_suite(bundles)
    verdicts = _carried(bundles) + _tests_verdicts(suite, config.flaky_allow)
    warnings: list[str] = []
    for b in bundles:
        for w in b.record.warnings:
            if w.startswith(PARTIAL_PREFIX) or w.startswith("coverage is not gated") or w.startswith("patch coverage"):
                continue
            warnings.append(f"shard {b.index}/{b.count}: {w}")
    reasons = [r for r in first.selection.partial_reasons if not r.startswith(shard.REASON_PREFIX)]
    selection = dataclasses.replace(first.selection, partial=bool(reasons), partial_reasons=reasons)
    if reasons:
        warnings.append(
            f"{PARTIAL_PREFIX} overall, per-file, per-module and max_drop gates are not evaluated, because "
            + "; ".join(reasons)
        )
    broken = {f"{b.index}/{b.count}": why for b in bundles if (why := _not_whole(b.record))}
    dirty = [f"{b.index}/{b.count}" for b in bundles if b.manifest.get("dirty")]
    if dirty:
        warnings.append(f"shard(s) {', '.join(dirty)} ran in a working tree with uncommitted changes")
    record = RunRecord(
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
    report, differs = union_report(config, bundles)
    data = combined_data(config, bundles, config.report_dir / COMBINED_DATA)
    if differs is not None:  # the shards disagree on what a file holds: coverage.py reads the combined data here
        warnings.append(
            f"the shards measured different statements or branches in {differs}: the numbers are coverage.py's "
            "analysis of the combined data against the sources of this checkout"
        )
        raw = covdata.read_json(config, data, contexts=first.selection.contexts) if data is not None else None
        report = None
        if raw is not None and raw.get("files"):
            report, contexts = covdata.build_report(config, raw, branch=config.coverage.branch)
            if first.selection.contexts:
                by_test = covdata.lines_by_test(contexts)
                for case in suite.tests:
                    case.lines_covered = by_test.get(case.nodeid, {})
    ran = suite.counts.total
    if report is None or not report.files:
        if ran and not broken:
            verdicts.append(
                Verdict(
                    "data",
                    "overall",
                    "line",
                    None,
                    None,
                    False,
                    "source",
                    f"coverage measured no file: the shard bundles of suite {suite.name} hold no coverage data",
                )
            )
    else:
        report.generated_at = _now()
        report.core = next(
            (b.record.coverage.core for b in bundles if b.record.coverage and b.record.coverage.core), None
        )
        if baseline is not None and baseline.coverage is not None:
            covdata.apply_deltas(report, baseline.coverage, baseline.id)
        record.coverage = report
        suite.coverage = report.overall
        gated = config.suites[suite.name].coverage_gates if suite.name in config.suites else True
        if broken:
            listed = "; ".join(f"shard {k} {why}" for k, why in broken.items())
            warnings.append(f"coverage is not gated, because {listed}")
        elif not gated:
            warnings.append(
                f"coverage of suite {suite.name} is measured and reported but not gated (coverage_gates: false)"
            )
        elif not selection.partial:
            verdicts += gate.coverage_verdicts(config, report)
        if diff is not None:
            record.patch = patch.measure(diff, report)
            if not config.coverage.patch.empty:
                if broken or not gated or selection.partial:
                    warnings.append(
                        "patch coverage is measured and reported but not gated: coverage is not gated in this run"
                    )
                else:
                    verdicts += patch.gate(config, record.patch)
    record.verdicts = verdicts
    record.counts = suite.counts
    record.exit_code = gate.exit_code(verdicts)
    record.exit_reason = exitcodes.name(record.exit_code)
    record.reasons = [v.message for v in gate.failed(verdicts)]
    record.warnings = warnings
    record.status = (
        "incomplete" if not record.complete else ("passed" if record.exit_code == exitcodes.OK else "failed")
    )
    record.finished_at = _now()
    record.duration = max(b.record.duration for b in bundles)
    return record
