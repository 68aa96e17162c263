"""Patch coverage: the lines a change adds or modifies, read from git, and how many of them the tests ran.

The patch is every line added or changed since the merge base of REF and HEAD, with what is committed,
staged and not yet staged in the working tree: what the tests of this run actually exercised. It is read
from git by ``mcptest.patch_diff`` (whose names are also importable from here); this module measures it
from the run's coverage, gates it and words it.

A changed line counts when it is a statement coverage.py measured (the first line of a statement, as in
coverage.py's reports and diff-cover's counts); a changed branch is an arc whose source line changed.
Deleted files, non-Python files, files outside ``source`` and test files have nothing measured and are
listed as ignored. This module returns data and never prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from mcptest import display
from mcptest.config_model import Config
from mcptest.display import ranges
from mcptest.model import CoverageReport, FileCoverage, PatchCoverage, PatchFile, RunRecord, Totals, Verdict
from mcptest.patch_diff import Diff, PatchError, parse_diff, read_diff, resolve, unquote

__all__ = [
    "RULE",
    "TARGET",
    "Diff",
    "PatchError",
    "Stage",
    "arc_text",
    "empty_reason",
    "gate",
    "lacks_taken_branches",
    "measure",
    "missing_text",
    "parse_diff",
    "read_diff",
    "resolve",
    "since",
    "unquote",
]

#: The verdict target and config key of the patch gate.
TARGET = "patch"
RULE = "coverage.patch"


def _source(arc: str) -> int | None:
    head, sep, _ = arc.partition("->")
    try:
        return int(head) if sep else None
    except ValueError:
        return None


def _target(arc: str) -> int | None:
    _, sep, tail = arc.partition("->")
    try:
        return int(tail) if sep else None
    except ValueError:
        return None


def lacks_taken_branches(f: FileCoverage) -> bool:
    """A file of a record written before ``executed_branches`` existed: the branches it took are not known."""
    return f.totals.covered_branches > 0 and not f.executed_branches


def measure(diff: Diff, report: CoverageReport) -> PatchCoverage:
    """The coverage of the changed lines, from the run's per-file coverage (nothing is measured again)."""
    by_path = {f.path: f for f in report.files}
    files: list[PatchFile] = []
    ignored: list[str] = []
    for path, lines in sorted(diff.files.items()):
        measured = by_path.get(path)
        if measured is None:
            ignored.append(path)
            continue
        changed = set(lines)
        executed, missing = set(measured.executed_lines), set(measured.missing_lines)
        statements = changed & (executed | missing)
        not_run = sorted(changed & missing)
        taken = [arc for arc in measured.executed_branches if _source(arc) in changed]
        not_taken = [arc for arc in measured.missing_branches if _source(arc) in changed]
        totals = Totals.of(len(statements), len(statements) - len(not_run), len(taken) + len(not_taken), len(taken))
        files.append(
            PatchFile(
                path=path,
                totals=totals,
                changed_lines=sorted(changed),
                missing_lines=not_run,
                missing_branches=not_taken,
                old_path=diff.renamed.get(path),
            )
        )
    return PatchCoverage(
        base=diff.base,
        merge_base=diff.merge_base,
        head=diff.head,
        totals=sum((f.totals for f in files), Totals()),
        files=files,
        ignored=ignored,
        deleted=sorted(diff.deleted),
    )


def arc_text(arc: str) -> str:
    """``12->-1`` -> ``12->exit``, as coverage.py shows an exit."""
    head, _, tail = arc.partition("->")
    return f"{head}->exit" if tail.startswith("-") else arc


def missing_text(f: PatchFile, *, branches: bool = True) -> str:
    """The changed lines that did not run, then the changed branches not taken: ``7, 9-10, 12->exit``.

    As coverage.py's ``term-missing``: a branch to or from a line that never ran is not listed again."""
    parts = [ranges(f.missing_lines)] if f.missing_lines else []
    if branches:
        missing = set(f.missing_lines)
        parts += [arc_text(a) for a in f.missing_branches if not {_source(a), _target(a)} & missing]
    return ", ".join(parts)


def since(patch: PatchCoverage) -> str:
    """``since abc123def456, the merge base of origin/main and HEAD``."""
    return f"since {patch.merge_base[:12]}, the merge base of {patch.base} and HEAD"


def empty_reason(patch: PatchCoverage) -> str | None:
    """Why there is nothing to measure (``no changed lines to measure ...``), or None when there is."""
    if patch.totals.statements:
        return None
    changed = sum(len(f.changed_lines) for f in patch.files)
    if changed:
        return f"no changed lines to measure: the {changed} changed line(s) in measured files are not statements"
    if patch.ignored:
        return f"no changed lines to measure: the {len(patch.ignored)} changed file(s) are not measured"
    return "no changed lines to measure"


def gate(config: Config, patch: PatchCoverage) -> list[Verdict]:
    """The ``coverage.patch`` gate on the patch's totals; none when no minimum is configured."""
    threshold = config.coverage.patch
    if threshold.empty:
        return []
    key = threshold.key or RULE
    empty = empty_reason(patch)
    if empty is not None:
        required = threshold.line if threshold.line is not None else threshold.branch
        return [Verdict("threshold", TARGET, "line", None, required, True, key, f"patch: {empty} ({since(patch)})")]
    out: list[Verdict] = []
    totals = patch.totals
    for metric, required, actual, count, covered in (
        ("line", threshold.line, totals.line_percent, totals.statements, totals.covered_lines),
        ("branch", threshold.branch, totals.branch_percent, totals.branches, totals.covered_branches),
    ):
        if required is None:
            continue
        if not count:
            what = "no changed branches" if metric == "branch" else "no changed statements"
            message = f"patch: {what}, {metric} minimum {required:g}% not applicable"
            out.append(Verdict("threshold", TARGET, metric, None, required, True, key, message))
            continue
        passed = actual is not None and actual + 1e-9 >= required
        unit = "changed branches" if metric == "branch" else "changed statements"
        word = "meets" if passed else "is below"
        message = (
            f"patch {metric} coverage {display.pct(actual)} ({covered} of {count} {unit}) {word} "
            f"the required {required:g}%"
        )
        if not passed:
            listed = [
                f"{f.path} {text}"
                for f in patch.files
                if (text := (ranges(f.missing_lines) if metric == "line" else _arcs(f)))
            ]
            message += f"; missing: {display.join_cut(listed, 400, '; ')}"
        out.append(Verdict("threshold", TARGET, metric, actual, required, passed, key, message))
    return out


def _arcs(f: PatchFile) -> str:
    return ", ".join(arc_text(a) for a in f.missing_branches)


@dataclass
class Stage:
    """The pipeline's hook for a run with ``--diff-base``: the patch read before the tests, measured after them.

    Called by the pipeline with the record, its verdicts and whether coverage was gated; returns the verdicts
    with the patch gate added. A run whose coverage is not gated (partial, stopped, ``coverage_gates: false``)
    gets the patch in its record and reports, and a warning instead of the gate.
    """

    config: Config
    diff: Diff

    def __call__(self, record: RunRecord, verdicts: list[Verdict], gated: bool) -> list[Verdict]:
        if record.coverage is None or any(v.kind == "interrupted" for v in verdicts):
            return verdicts
        record.patch = measure(self.diff, record.coverage)
        if self.config.coverage.patch.empty:
            return verdicts
        if not gated or record.selection.partial:
            record.warnings.append(
                "patch coverage is measured and reported but not gated: coverage is not gated in this run"
            )
            return verdicts
        return [*verdicts, *gate(self.config, record.patch)]
