"""The terminal view of a run record (rich tables); it renders the record and computes nothing new.

Foreign text goes into rich output only through ``plain`` and ``markup`` (``console_text``, imported
here for every caller); the tables fit the console through ``console_table.fit_table``; the short test
summary of failures is ``console_failures``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from mcptest import display, exitcodes
from mcptest.console_failures import print_failures
from mcptest.console_table import Column, fit_table
from mcptest.console_text import markup, plain
from mcptest.gate import pct
from mcptest.model import BridgeProbe, Counts, FileCoverage, RunRecord, Totals, Verdict
from mcptest.textsafe import clean

#: Above this many files, the file table shows only files with a verdict that failed or a delta.
MAX_FILE_ROWS = 60
#: Gates counted in the headline: coverage thresholds, max_drop and budgets (tests are counted apart).
GATE_KINDS = ("threshold", "max_drop", "budget")


def _delta(value: float | None) -> str:
    """A delta as every writer shows it (``display.delta``: floored to one decimal), green up, red down."""
    if value is None:
        return ""
    direction = display.delta_dir(value)
    if direction not in ("up", "down"):
        return display.delta(value)
    colour = "green" if direction == "up" else "red"
    return f"[{colour}]{display.delta(value)}[/{colour}]"


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


def missing_text(file: FileCoverage) -> str:
    """What coverage.py's ``term-missing`` shows for a file: ``12-15, 20, 22->24, 30->exit``.

    A range runs over consecutive *statements* that did not run (lines between them that are not
    statements do not break it). A missing arc is listed only when neither of its lines is itself
    missing: a line that never ran is not also a branch not taken.
    """
    missing = set(file.missing_lines)
    statements = sorted(missing | set(file.executed_lines))
    items: list[tuple[int, str]] = []
    first = last = None
    for line in statements:
        if line in missing:
            first = line if first is None else first
            last = line
            continue
        if first is not None:
            items.append((first, str(first) if first == last else f"{first}-{last}"))
            first = None
    if first is not None:
        items.append((first, str(first) if first == last else f"{first}-{last}"))
    for arc in file.missing_branches:
        source, _, target = arc.partition("->")
        try:
            a, b = int(source), int(target)
        except ValueError:  # not an arc mcptest writes: shown as it is, at the end
            items.append((1 << 62, clean(arc)))
            continue
        if a in missing or b in missing:
            continue
        items.append((a, f"{a}->{b if b > 0 else 'exit'}"))
    items.sort(key=lambda item: item[0])
    return ", ".join(text for _, text in items)


def _fully_covered(file: FileCoverage) -> bool:
    t = file.totals
    return t.covered_lines == t.statements and t.covered_branches == t.branches


def _coverage_columns(leading: Sequence[Column], has_delta: bool, missing: bool) -> list[Column]:
    """The columns of a coverage table; at a narrow console the counts go first, then Required, then deltas."""
    cols = [
        *leading,
        Column("Lines", drop=5),
        Column("Line %"),
        Column("Branches", drop=4),
        Column("Branch %"),
        Column("Required", "left", drop=3),
    ]
    if has_delta:
        cols += [Column("Δ line", drop=1), Column("Δ branch", drop=2)]
    if missing:
        cols.append(Column("Missing", "left", fold=True, least=12))  # it wraps between ranges
    return [*cols, Column("Result", "center")]


def _row(
    leading: list[RenderableType], totals: Totals, verdicts: Sequence[Verdict], has_delta: bool
) -> list[RenderableType]:
    row: list[RenderableType] = [*leading, *_cells(totals), _required(verdicts)]
    if has_delta:
        row += [_delta(totals.delta_line), _delta(totals.delta_branch)]
    return row


def coverage_tables(
    record: RunRecord,
    *,
    width: int = 120,
    show_missing: bool = False,
    skip_covered: bool = False,
    all_files: bool = False,
) -> list[Table]:
    """The per-file and per-module tables.

    ``Missing`` (coverage.py's term-missing) is shown for the files that fail a gate, or for every file
    with ``show_missing``; ``skip_covered`` leaves out fully covered files (coverage.py's
    ``--skip-covered``), ``all_files`` turns off the MAX_FILE_ROWS cut.
    """
    cov = record.coverage
    if cov is None:
        return []
    by_target: dict[str, list[Verdict]] = {}
    for v in record.verdicts:
        by_target.setdefault(v.target, []).append(v)
    has_delta = cov.baseline_id is not None

    def failing(f: FileCoverage) -> bool:
        return any(not v.passed for v in by_target.get(f"file:{f.path}", []))

    files, notes = _shown_files(cov.files, failing, skip_covered=skip_covered, all_files=all_files)
    with_missing = show_missing or any(failing(f) for f in files)
    title = markup("Coverage per file (against baseline {})", cov.baseline_id) if has_delta else "Coverage per file"
    rows: list[list[RenderableType]] = []
    for f in files:
        verdicts = by_target.get(f"file:{f.path}", [])
        row = _row([plain(f.path)], f.totals, verdicts, has_delta)
        if with_missing:
            row.append(Text(missing_text(f)) if show_missing or failing(f) else Text(""))
        rows.append([*row, _result(verdicts)])
    overall = by_target.get("overall", [])
    total = _row(["[bold]TOTAL[/bold]"], cov.overall, overall, has_delta)
    rows.append([*total, *([""] if with_missing else []), _result(overall)])
    columns = _coverage_columns([Column("File", "left", fold=True)], has_delta, with_missing)
    caption = "; ".join(notes) or None
    tables = [fit_table(title, columns, rows, width, sections=[len(rows) - 1], caption=caption)]
    if cov.modules:
        rows = []
        for m in cov.modules:
            verdicts = by_target.get(f"module:{m.name}", [])
            rows.append([*_row([plain(m.name), str(len(m.files))], m.totals, verdicts, has_delta), _result(verdicts)])
        leading = [Column("Module", "left", fold=True), Column("Files", drop=6)]
        tables.append(fit_table("Coverage per module", _coverage_columns(leading, has_delta, False), rows, width))
    return tables


def _shown_files(
    files: list[FileCoverage], failing: Callable[[FileCoverage], bool], *, skip_covered: bool, all_files: bool
) -> tuple[list[FileCoverage], list[str]]:
    """The files of the file table and the notes that say which were left out."""
    notes = []
    if skip_covered:
        kept = [f for f in files if not _fully_covered(f)]
        if len(kept) < len(files):
            notes.append(f"{len(files) - len(kept)} files skipped due to complete coverage")
        files = kept
    if len(files) > MAX_FILE_ROWS and not all_files:
        keep = [f for f in files if failing(f) or (f.totals.delta_line or 0) < 0 or (f.totals.delta_branch or 0) < 0]
        notes.append(
            f"{len(files) - len(keep)} more files pass every gate and did not drop; -v or the HTML report lists all"
        )
        files = keep
    return files, notes


def tests_table(record: RunRecord, *, width: int = 120) -> Table:
    total = record.counts
    # at a narrow console, outcome columns that are 0 in every suite go first, then Budget
    optional = {"Errors": total.error, "Skipped": total.skipped, "Flaky": total.flaky, "xfail": total.xfailed}
    optional |= {"xpass": total.xpassed}  # the last one goes first
    names = ("Passed", "Failed", "Errors", "Flaky", "Skipped", "xfail", "xpass", "Time", "Budget")
    order = {name: n for n, name in enumerate(reversed(optional), 2) if not optional[name]}
    columns = [Column("Suite", "left", fold=True), Column("Status", "left")]
    columns += [Column(n, drop=1 if n == "Budget" else order.get(n, 0)) for n in names]
    rows: list[list[RenderableType]] = []
    for s in record.suites:
        c = s.counts
        colour = {"passing": "green", "failing": "red"}.get(s.status, "yellow")
        rows.append(
            [
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
            ]
        )
    return fit_table("Tests", columns, rows, width)


def slowest_table(record: RunRecord, count: int, *, width: int = 120) -> Table | None:
    """The ``count`` slowest tests, as pytest's ``--durations`` lists them; tests under 0.005 s are left out."""
    if count <= 0:
        return None
    timed = [t for t in record.all_tests() if t.duration >= 0.005]  # shown as 0.00s: not worth a row
    tests = sorted(timed, key=lambda t: t.duration, reverse=True)[:count]
    if not tests:
        return None
    columns = [Column("Time"), Column("Suite", "left", drop=1), Column("Test", "left", fold=True)]
    rows: list[list[RenderableType]] = [[f"{t.duration:.2f}s", plain(t.suite), plain(t.nodeid)] for t in tests]
    return fit_table(f"Slowest {len(tests)} tests", columns, rows, width)


def counts_text(c: Counts) -> str:
    """Tests by outcome, every outcome that occurred ("2 failed, 1 flaky, 40 passed, 3 skipped, 1 xfailed")."""
    parts = [
        f"{n} {label}"
        for n, label in (
            (c.failed, "failed"),
            (c.error, "errors" if c.error != 1 else "error"),
            (c.flaky, "flaky"),
            (c.passed, "passed"),
            (c.skipped, "skipped"),
            (c.xfailed, "xfailed"),
            (c.xpassed, "xpassed"),
        )
        if n
    ]
    return ", ".join(parts) or "no tests ran"


def headline(record: RunRecord) -> Text:
    """The last line: tests by outcome, line and branch totals, gates met and missed, the exit code."""
    fields = [counts_text(record.counts)]
    cov = record.coverage
    if cov is not None:
        o = cov.overall
        fields.append(f"lines {o.covered_lines}/{o.statements} {pct(o.line_percent)}")
        if cov.branch:
            fields.append(f"branches {o.covered_branches}/{o.branches} {pct(o.branch_percent)}")
    gates = [v for v in record.verdicts if v.kind in GATE_KINDS]
    if gates:
        met = sum(v.passed for v in gates)
        fields.append(f"gates {met} met, {len(gates) - met} missed")
    name = exitcodes.name(record.exit_code)
    state = "" if record.complete else " (incomplete)"
    colour = "green" if record.exit_code == exitcodes.OK else "red"
    exit_text = f"exit {record.exit_code} ({{}}){state}"
    return markup(
        f"[bold {colour}]{{}} · {exit_text}[/bold {colour}] in {record.duration:.1f}s · run {{}}",
        " · ".join(fields),
        name,
        record.id,
    )


def print_record(
    out: Console,
    record: RunRecord,
    *,
    slowest: int = 5,
    verbosity: int = 0,
    show_missing: bool = False,
    skip_covered: bool = False,
    logs: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Bridges, coverage tables, the test summary, slowest tests, failures, every reason, one headline.

    ``verbosity`` -1 (``-q``) keeps the failures, the reasons and the headline; 1 (``-v``) lists every
    failure and every file. ``logs``: the full log files of each suite, by suite name.
    """
    width = out.width
    if verbosity >= 0:
        if record.bridges:
            _print_bridges(out, record, width)
        for table in coverage_tables(
            record, width=width, show_missing=show_missing, skip_covered=skip_covered, all_files=verbosity > 0
        ):
            out.print(table)
        if record.patch is not None:  # --diff-base: the changed lines (mcptest.patch_report)
            from mcptest.patch_report import print_patch

            print_patch(out, record, width)
        out.print(tests_table(record, width=width))
        slow = slowest_table(record, slowest, width=width)
        if slow is not None:
            out.print(slow)
    print_failures(out, record, verbose=verbosity > 0, logs=logs)
    for s in record.suites:
        for problem in s.problems:
            out.print(markup("[yellow]suite {}: {}[/yellow]", s.name, problem), soft_wrap=True)
    for warning in record.warnings:
        out.print(markup("[yellow]warning: {}[/yellow]", warning), soft_wrap=True)
    if record.reasons:
        out.print("[bold red]Failed:[/bold red]")
        for reason in record.reasons:
            out.print(markup("  [red]✗[/red] {}", reason), soft_wrap=True)
    out.print(headline(record), soft_wrap=True)


def _waited(probe: BridgeProbe) -> str:
    """How long the preflight waited for a bridge, on a line of its own ("" when it did not wait)."""
    return "" if probe.waited_s is None else f"\nwaited {probe.waited_s:.1f} s"


def _print_bridges(out: Console, record: RunRecord, width: int) -> None:
    columns = [
        Column("Bridge", "left"),
        Column("Suites", "left", fold=True),
        Column("URL", "left", fold=True),
        Column("Status", "left"),
        Column("HTTP", drop=2),
        Column("Time", drop=1),
        Column("Reason", "left", fold=True),
    ]
    rows: list[list[RenderableType]] = []
    for p in record.bridges:
        colour = "green" if p.status in p.accepted else "red"
        rows.append(
            [
                plain(p.name),
                plain(", ".join(p.required_by) or "-"),
                plain(p.url),
                plain(p.status, style=colour).append(_waited(p)),
                str(p.http_status or "-"),
                f"{p.response_time_ms:.0f} ms" if p.response_time_ms is not None else "-",
                plain(p.reason),
            ]
        )
    out.print(fit_table("Bridges", columns, rows, width))
