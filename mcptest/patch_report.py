"""How the patch coverage of a record is shown: the terminal's "Patch" table, the HTML report's marks.

It renders ``record.patch`` and computes nothing new (the numbers come from ``mcptest.patch``); the
Markdown and HTML sections are templates (``summary_patch.md``, ``patch.html``) that read the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mcptest import patch as patch_mod
from mcptest.model import PatchCoverage, PatchFile, RunRecord

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from mcptest.report.source import SourceView

#: The class of a changed line in the HTML source view (with the line's coverage state).
CHANGED = "chg"


def headline(patch: PatchCoverage) -> str:
    """``Patch since abc123, the merge base of origin/main and HEAD: lines 3/4 75.0% · branches 1/2 50.0%``."""
    empty = patch_mod.empty_reason(patch)
    where = f"Patch {patch_mod.since(patch)}"
    if empty is not None:
        return f"{where}: {empty}"
    t = patch.totals
    from mcptest import display

    branches = f" · branches {t.covered_branches}/{t.branches} {display.pct(t.branch_percent)}" if t.branches else ""
    return f"{where}: lines {t.covered_lines}/{t.statements} {display.pct(t.line_percent)}{branches}"


def print_patch(out: Console, record: RunRecord, width: int) -> None:
    """The "Patch" table (the changed statements and branches of each file, the missing ones listed) and its line."""
    patch = record.patch
    if patch is None:
        return
    from mcptest import display
    from mcptest.console_table import Column, fit_table
    from mcptest.console_text import markup, plain

    gates = [v for v in record.verdicts if v.target == patch_mod.TARGET]
    files = [f for f in patch.files if f.totals.statements or f.totals.branches]
    if files:
        rows: list[list[RenderableType]] = []
        for f in files:
            t = f.totals
            rows.append(
                [
                    plain(f.path if f.old_path is None else f"{f.path} (was {f.old_path})"),
                    f"{t.covered_lines}/{t.statements}",
                    display.pct(t.line_percent),
                    f"{t.covered_branches}/{t.branches}" if t.branches else "-",
                    display.pct(t.branch_percent),
                    plain(patch_mod.missing_text(f)),
                ]
            )
        t = patch.totals
        rows.append(
            [
                "[bold]TOTAL[/bold]",
                f"{t.covered_lines}/{t.statements}",
                display.pct(t.line_percent),
                f"{t.covered_branches}/{t.branches}" if t.branches else "-",
                display.pct(t.branch_percent),
                "",
            ]
        )
        columns = [
            Column("File", "left", fold=True),
            Column("Changed lines", drop=2),
            Column("Line %"),
            Column("Changed branches", drop=1),
            Column("Branch %"),
            Column("Missing (changed lines not run, branches not taken)", "left", fold=True, least=12),
        ]
        notes = []
        if patch.ignored:
            notes.append(f"{len(patch.ignored)} changed file(s) not measured: {display.join_cut(patch.ignored, 200)}")
        title = markup("Patch ({})", patch_mod.since(patch))
        out.print(fit_table(title, columns, rows, width, sections=[len(rows) - 1], caption="; ".join(notes) or None))
    colour = "red" if any(not v.passed for v in gates) else "green" if gates else "default"
    out.print(markup(f"[{colour}]{{}}[/{colour}]", headline(patch)), soft_wrap=True)


def file_entry(patch: PatchCoverage | None, path: str) -> PatchFile | None:
    """The patch of one measured file, for its HTML page."""
    if patch is None:
        return None
    return next((f for f in patch.files if f.path == path), None)


def mark_changed(view: SourceView, entry: PatchFile | None) -> SourceView:
    """Add the ``chg`` class to the changed lines of a file's source view (its coverage state stays)."""
    if entry is None or not entry.changed_lines:
        return view
    changed = set(entry.changed_lines)
    for line in view.lines:
        if line.number in changed:
            line.state = f"{line.state} {CHANGED}".strip()
    return view


@dataclass
class PatchRow:
    """A row of the reports' patch section: the file's patch and its HTML page (None when not measured)."""

    file: PatchFile
    href: str | None
    missing: str


@dataclass
class PatchView:
    """What the HTML and Markdown patch sections show: the headline, the files with changed statements."""

    patch: PatchCoverage
    headline: str
    rows: list[PatchRow]
    failed: bool  # the coverage.patch gate failed
    gated: bool  # a coverage.patch gate was judged


def view(record: RunRecord) -> PatchView | None:
    """The patch section of ``record``'s reports; None when the run did not measure a patch."""
    from mcptest.report.views import file_page

    if record.patch is None:
        return None
    measured = {f.path for f in record.coverage.files} if record.coverage else set()
    rows = [
        PatchRow(f, file_page(f.path) if f.path in measured else None, patch_mod.missing_text(f))
        for f in record.patch.files
        if f.totals.statements or f.totals.branches
    ]
    gates = [v for v in record.verdicts if v.target == patch_mod.TARGET]
    return PatchView(record.patch, headline(record.patch), rows, any(not v.passed for v in gates), bool(gates))
