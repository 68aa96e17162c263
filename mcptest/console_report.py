"""The terminal view of a run record (rich tables); it renders the record and computes nothing new.

Foreign text (node ids, messages, paths, bridge names and reasons, warnings) never goes into rich
markup: ``plain`` makes it a ``Text`` and ``markup`` puts it into the fields of a markup template,
both after ``textsafe.clean``. rich's ``escape`` is not enough: a text ending in a backslash would
still change the markup that follows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from mcptest import exitcodes
from mcptest.gate import pct
from mcptest.model import RunRecord, Totals, Verdict
from mcptest.textsafe import clean

#: Above this many files, the file table shows only files with a verdict that failed or a delta.
MAX_FILE_ROWS = 60

#: Stands for a field while a markup template is parsed (a private-use character, never in a template).
_FIELD = "\ue000"


def plain(value: object, *, multiline: bool = False, style: str = "") -> Text:
    """Foreign text as a rich ``Text``: cleaned, shown as it is, never read as markup."""
    return Text(clean(value, multiline=multiline), style=style)


def markup(template: str, *values: object, multiline: bool = False) -> Text:
    """Our own rich markup ``template`` whose ``{}`` fields are filled with foreign ``values``.

    The template is parsed as markup; each value is cleaned and inserted as plain text, taking the
    style around its field: ``markup("[red]✗[/red] {}", reason)``.
    """
    parts = template.split("{}")
    if len(parts) != len(values) + 1:
        raise ValueError(f"markup template {template!r} has {len(parts) - 1} fields for {len(values)} values")
    styled = Text.from_markup(_FIELD.join(parts), emoji=False)
    out = Text()
    start = 0
    for value in values:
        at = styled.plain.index(_FIELD, start)
        if at > start:
            out.append_text(styled[start:at])
        field = plain(value, multiline=multiline)
        for span in styled[at : at + 1].spans:
            field.stylize(span.style)
        out.append_text(field)
        start = at + 1
    if start < len(styled.plain):
        out.append_text(styled[start:])
    return out


def _delta(value: float | None) -> str:
    if value is None:
        return ""
    if abs(value) < 0.005:
        return "±0.00"
    colour = "green" if value > 0 else "red"
    return f"[{colour}]{value:+.2f}[/{colour}]"


def _required(verdicts: Sequence[Verdict]) -> str:
    parts = []
    for v in verdicts:
        if v.kind == "threshold" and v.required is not None:
            parts.append(f"{'line' if v.metric == 'line' else 'br'}≥{v.required:g}")
    return " ".join(parts)


def _result(verdicts: Sequence[Verdict]) -> str:
    if not verdicts:
        return "[dim]-[/dim]"
    return "[green]PASS[/green]" if all(v.passed for v in verdicts) else "[bold red]FAIL[/bold red]"


def _cells(totals: Totals) -> list[str]:
    lines = f"{totals.covered_lines}/{totals.statements}"
    branches = f"{totals.covered_branches}/{totals.branches}" if totals.branches else "-"
    return [lines, pct(totals.line_percent), branches, pct(totals.branch_percent)]


def _coverage_table(title: str | Text, leading: list[str], has_delta: bool) -> Table:
    """A table of coverage numbers: the leading columns, the numbers, the gate, deltas when there is a baseline."""
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(leading):
        table.add_column(name, justify="left" if i == 0 else "right")
    for name in ("Lines", "Line %", "Branches", "Branch %"):
        table.add_column(name, justify="right")
    table.add_column("Required", justify="left")
    if has_delta:
        table.add_column("Δ line", justify="right")
        table.add_column("Δ branch", justify="right")
    table.add_column("Result", justify="center")
    return table


def _row(
    leading: list[RenderableType], totals: Totals, verdicts: Sequence[Verdict], has_delta: bool
) -> list[RenderableType]:
    row: list[RenderableType] = [*leading, *_cells(totals), _required(verdicts)]
    if has_delta:
        row += [_delta(totals.delta_line), _delta(totals.delta_branch)]
    return [*row, _result(verdicts)]


def coverage_tables(record: RunRecord) -> list[Table]:
    cov = record.coverage
    if cov is None:
        return []
    by_target: dict[str, list[Verdict]] = {}
    for v in record.verdicts:
        by_target.setdefault(v.target, []).append(v)
    has_delta = cov.baseline_id is not None
    tables = []

    files = cov.files
    hidden = 0
    if len(files) > MAX_FILE_ROWS:
        keep = [
            f
            for f in files
            if any(not v.passed for v in by_target.get(f"file:{f.path}", []))
            or (f.totals.delta_line or 0) < 0
            or (f.totals.delta_branch or 0) < 0
        ]
        hidden = len(files) - len(keep)
        files = keep
    title = markup("Coverage per file (against baseline {})", cov.baseline_id) if has_delta else "Coverage per file"
    table = _coverage_table(title, ["File"], has_delta)
    for f in files:
        verdicts = by_target.get(f"file:{f.path}", [])
        table.add_row(*_row([plain(f.path)], f.totals, verdicts, has_delta))
    overall = by_target.get("overall", [])
    table.add_row(*_row(["[bold]TOTAL[/bold]"], cov.overall, overall, has_delta), end_section=True)
    if hidden:
        table.caption = f"{hidden} more files pass every gate and did not drop; the HTML report lists all"
    tables.append(table)

    if cov.modules:
        mt = _coverage_table("Coverage per module", ["Module", "Files"], has_delta)
        for m in cov.modules:
            verdicts = by_target.get(f"module:{m.name}", [])
            mt.add_row(*_row([plain(m.name), str(len(m.files))], m.totals, verdicts, has_delta))
        tables.append(mt)
    return tables


def tests_table(record: RunRecord) -> Table:
    table = Table(title="Tests", title_justify="left")
    for col in (
        "Suite",
        "Status",
        "Passed",
        "Failed",
        "Errors",
        "Flaky",
        "Skipped",
        "xfail",
        "xpass",
        "Time",
        "Budget",
    ):
        table.add_column(col, justify="left" if col in ("Suite", "Status") else "right")
    for s in record.suites:
        c = s.counts
        colour = {"passing": "green", "failing": "red"}.get(s.status, "yellow")
        table.add_row(
            plain(s.name),
            f"[{colour}]{s.status}[/{colour}]",
            str(c.passed),
            str(c.failed),
            str(c.error),
            f"[yellow]{c.flaky}[/yellow]" if c.flaky else "0",
            str(c.skipped),
            str(c.xfailed),
            str(c.xpassed),
            f"{s.duration:.1f}s",
            f"{s.budget:g}s" if s.budget else "-",
        )
    return table


def print_record(out: Console, record: RunRecord, *, slowest: int = 5) -> None:
    """Coverage tables, the test summary, slowest tests, every failing reason and the exit code."""
    if record.bridges:
        bt = Table(title="Bridges", title_justify="left")
        for col in ("Bridge", "URL", "Status", "HTTP", "Time", "Reason"):
            bt.add_column(col)
        for p in record.bridges:
            colour = "green" if p.status in p.accepted else "red"
            bt.add_row(
                plain(p.name),
                plain(p.url),
                plain(p.status, style=colour),
                str(p.http_status or "-"),
                f"{p.response_time_ms:.0f} ms" if p.response_time_ms is not None else "-",
                plain(p.reason),
            )
        out.print(bt)
    for table in coverage_tables(record):
        out.print(table)
    out.print(tests_table(record))
    tests = sorted(record.all_tests(), key=lambda t: t.duration, reverse=True)[:slowest]
    if tests:
        slow = ", ".join("{} {}s" for _ in tests)
        out.print(markup("Slowest tests: " + slow, *(v for t in tests for v in (t.nodeid, f"{t.duration:.2f}"))))
    for t in record.all_tests():
        if t.flaky:
            runs = ", ".join(a.outcome for a in t.attempts)
            out.print(markup("[yellow]flaky: {} ({})[/yellow]", t.nodeid, runs), soft_wrap=True)
            for i, a in enumerate(t.attempts, 1):
                if a.message:
                    first = clean(a.message, multiline=True).splitlines() or [""]
                    out.print(markup("    attempt {}: {}", i, first[0][:200]), soft_wrap=True)
    for s in record.suites:
        for problem in s.problems:
            out.print(markup("[yellow]suite {}: {}[/yellow]", s.name, problem), soft_wrap=True)
    for warning in record.warnings:
        out.print(markup("[yellow]warning: {}[/yellow]", warning), soft_wrap=True)
    if record.reasons:
        out.print("[bold red]Failed:[/bold red]")
        for reason in record.reasons:
            out.print(markup("  [red]✗[/red] {}", reason), soft_wrap=True)
    name, _ = exitcodes.DESCRIPTIONS.get(record.exit_code, (f"exit-{record.exit_code}", ""))
    state = "complete" if record.complete else "INCOMPLETE"
    colour = "green" if record.exit_code == exitcodes.OK else "red"
    out.print(markup(f"Run {{}} ({state}): [{colour}]exit {record.exit_code} ({{}})[/{colour}]", record.id, name))
