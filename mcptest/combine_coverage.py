"""``mcptest combine``, its coverage: the shards' reports joined into the whole suite's, their data combined.

The shards' data files hold paths relative to the project folder; coverage.py combines them into this
checkout's absolute paths (``combined.coverage`` in the report folder). The whole suite's report is the
union of the shards' own reports, or, where they disagree on what a file holds, coverage.py's analysis of
the combined data.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path

from mcptest import covdata, patch
from mcptest.combine_bundles import Bundle
from mcptest.config_model import Config
from mcptest.model import CoverageReport, FileCoverage, SuiteResult, Totals

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


def whole_report(
    config: Config, bundles: Sequence[Bundle], suite: SuiteResult
) -> tuple[CoverageReport | None, str | None]:
    """The coverage of the whole suite (None without any) and the warning when the shards disagree on a file.

    The combined data is written either way; the report is the union of the shards' reports, or, where they
    measured different statements or branches, coverage.py's analysis of the combined data (then each test
    of ``suite`` gets its covered lines again when the shards recorded contexts).
    """
    first = bundles[0].record
    report, differs = union_report(config, bundles)
    data = combined_data(config, bundles, config.report_dir / COMBINED_DATA)
    if differs is None:
        return report, None
    warning = (
        f"the shards measured different statements or branches in {differs}: the numbers are coverage.py's "
        "analysis of the combined data against the sources of this checkout"
    )
    raw = covdata.read_json(config, data, contexts=first.selection.contexts) if data is not None else None
    if raw is None or not raw.get("files"):
        return None, warning
    report, contexts = covdata.build_report(config, raw, branch=config.coverage.branch)
    if first.selection.contexts:
        by_test = covdata.lines_by_test(contexts)
        for case in suite.tests:
            case.lines_covered = by_test.get(case.nodeid, {})
    return report, warning
