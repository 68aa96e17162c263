"""The run record's coverage numbers: totals, per file, per module, the report, and the patch's coverage."""

from __future__ import annotations

from dataclasses import dataclass, field

from mcptest.model_meta import ADDED_LATER


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
