"""Arrange a run record for the templates: look-ups, grouping, ordering and chart layout.

Nothing here derives a coverage number, a delta or a verdict; those come from the record as they
are. What happens here is presentation: which verdicts belong to which row, which page a file
links to, which tests are the slowest, where a point sits on the trend chart.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pygments.lexers import get_lexer_for_filename
from pygments.token import Token, _TokenType
from pygments.util import ClassNotFound

from mcptest.history import RunSummary
from mcptest.model import (
    OUTCOMES,
    FileCoverage,
    ModuleCoverage,
    RunRecord,
    SuiteResult,
    TestCase,
    Totals,
    Verdict,
)

#: Outcomes that make a test (and a requirement it covers) count as failing.
BAD_OUTCOMES = ("failed", "error")
SLOWEST = 20
FAILING_ON_SUMMARY = 50
#: Larger sources are shown without highlighting: a lexer's time grows with the text, the page's worth does not.
HIGHLIGHT_MAX_CHARS = 2_000_000
#: Token types shown in their own colour, most specific first: (pygments type, our CSS class).
TOKEN_CLASSES: tuple[tuple[_TokenType, str], ...] = (
    (Token.Comment, "c"),
    (Token.Literal.String.Doc, "sd"),
    (Token.Literal.String, "s"),
    (Token.Literal.Number, "m"),
    (Token.Keyword.Constant, "kc"),
    (Token.Keyword, "k"),
    (Token.Operator.Word, "k"),
    (Token.Name.Builtin, "nb"),
    (Token.Name.Function, "nf"),
    (Token.Name.Class, "nf"),
    (Token.Name.Decorator, "nd"),
    (Token.Name.Exception, "nb"),
)


@dataclass
class Gate:
    """The verdicts of one target (``overall``, ``file:PATH``, ``module:NAME``, ``suite:NAME``)."""

    verdicts: list[Verdict] = field(default_factory=list)

    def _threshold(self, metric: str) -> Verdict | None:
        for v in self.verdicts:
            if v.kind == "threshold" and v.metric == metric:
                return v
        return None

    @property
    def line(self) -> Verdict | None:
        return self._threshold("line")

    @property
    def branch(self) -> Verdict | None:
        return self._threshold("branch")

    @property
    def budget(self) -> Verdict | None:
        for v in self.verdicts:
            if v.kind == "budget":
                return v
        return None

    @property
    def over_budget(self) -> bool:
        return self.budget is not None and not self.budget.passed

    @property
    def failed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.passed]


class Gates:
    """Verdicts by target, so each table row finds its own in one look-up."""

    def __init__(self, verdicts: Iterable[Verdict]) -> None:
        self._by_target: dict[str, Gate] = {}
        for v in verdicts:
            self._by_target.setdefault(v.target, Gate()).verdicts.append(v)

    def get(self, target: str) -> Gate:
        return self._by_target.get(target) or Gate()


@dataclass
class FileRow:
    file: FileCoverage
    href: str  # relative to the report root
    gate: Gate


@dataclass
class ModuleRow:
    module: ModuleCoverage
    gate: Gate


@dataclass
class SuiteRow:
    suite: SuiteResult
    gate: Gate
    budget_used: float | None  # width of the bar, 0..100


@dataclass
class TestRow:
    test: TestCase
    anchor: str


@dataclass
class SourceLine:
    number: int
    text: str
    state: str  # run | mis | exc | par | "" (not a statement)
    branches: list[str] = field(default_factory=list)  # "47", "exit": destinations never taken
    #: The line as highlighted pieces (CSS class or "", text) that join to ``text``; None: shown plain.
    tokens: list[tuple[str, str]] | None = None


@dataclass
class MissingBranch:
    raw: str
    source: int | None
    target: str


@dataclass
class Region:
    """A function or class of a Python file, with the numbers of its own lines (nested ones have theirs)."""

    name: str  # qualified: Class.method, outer.inner
    kind: str  # function | class
    line: int  # where it is defined
    totals: Totals  # statements and covered lines of its own lines; no branch totals (the record has none per line)
    missing: list[int]
    missing_branches: int  # arcs never taken from its own lines


@dataclass
class SourceView:
    lines: list[SourceLine]
    problem: str | None  # why the source is not shown, when it is not
    regions: list[Region] = field(default_factory=list)


@dataclass
class TrendPoint:
    label: str
    started_at: str
    line: float | None
    branch: float | None
    tests: int
    complete: bool
    x: float
    y_line: float | None
    y_branch: float | None
    y_tests: float
    status: str = ""  # passed | failed | incomplete
    baseline: bool = False  # the run this run's deltas are against
    when: str = ""  # started_at as the chart labels it: the date, with the time when two runs share a day


@dataclass
class TrendChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    points: list[TrendPoint]
    line_path: str
    branch_path: str
    tests_path: str
    pct_ticks: list[tuple[int, float]]
    tests_ticks: list[tuple[int, float]]
    tests_max: int
    selection: str = ""  # the series shown: the selection of the run the report is of
    others: list[tuple[str, int]] = field(default_factory=list)  # other selections' runs, left out: (label, count)


@dataclass
class RequirementRow:
    id: str
    tests: list[TestRow]
    state: str  # passed | failed | skipped | uncovered
    configured: bool


def file_page(path: str) -> str:
    """The page of a source file: a readable slug plus a short hash, so ``a/b.py`` and ``a_b.py`` differ."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_")[-80:] or "file"
    digest = hashlib.sha1(path.encode("utf-8", "replace")).hexdigest()[:8]
    return f"files/{slug}_{digest}.html"


def file_rows(record: RunRecord, gates: Gates) -> list[FileRow]:
    files = record.coverage.files if record.coverage else []
    return [FileRow(f, file_page(f.path), gates.get(f"file:{f.path}")) for f in files]


def module_rows(record: RunRecord, gates: Gates) -> list[ModuleRow]:
    modules = record.coverage.modules if record.coverage else []
    return [ModuleRow(m, gates.get(f"module:{m.name}")) for m in modules]


def suite_rows(record: RunRecord, gates: Gates) -> list[SuiteRow]:
    rows = []
    for s in record.suites:
        used = min(100.0, 100.0 * s.duration / s.budget) if s.budget else None
        rows.append(SuiteRow(s, gates.get(f"suite:{s.name}"), used))
    return rows


def test_rows(record: RunRecord) -> list[TestRow]:
    return [TestRow(t, f"t{i}") for i, t in enumerate(record.all_tests())]


def failing_tests(rows: Sequence[TestRow], verdicts: Sequence[Verdict] = ()) -> list[TestRow]:
    """Failed and errored tests, and the flaky tests that failed the run, in the run's order.

    A flaky test failed the run when its suite's ``flaky`` verdict failed and names it (tests that
    ``flaky.allow`` lets through are not named); when the verdict counts more than it names (its list
    was cut), every flaky test of that suite is listed rather than one left out.
    """
    blocking: set[int] = set()
    for v in verdicts:
        if v.kind != "flaky" or v.passed or not v.target.startswith("suite:"):
            continue
        suite = v.target.removeprefix("suite:")
        flaky = [i for i, r in enumerate(rows) if r.test.flaky and r.test.suite == suite]
        named = [i for i in flaky if rows[i].test.nodeid in (v.message or "")]
        blocking.update(named if len(named) >= (v.actual or 0) else flaky)
    return [r for i, r in enumerate(rows) if r.test.outcome in BAD_OUTCOMES or i in blocking]


def flaky_tests(rows: Sequence[TestRow]) -> list[TestRow]:
    return [r for r in rows if r.test.flaky]


def slowest_tests(rows: Sequence[TestRow], n: int = SLOWEST) -> list[TestRow]:
    return sorted(rows, key=lambda r: r.test.duration, reverse=True)[:n]


def outcome_counts(record: RunRecord) -> list[tuple[str, int]]:
    return [(name, getattr(record.counts, name)) for name in OUTCOMES]


def parse_branch(raw: str) -> MissingBranch:
    """``"45->47"`` -> source 45, target ``47``; a negative target is an exit from the function."""
    src, sep, dst = raw.partition("->")
    try:
        source = int(src) if sep else None
        target = int(dst)
    except ValueError:
        return MissingBranch(raw, None, dst or raw)
    return MissingBranch(raw, source, "exit" if target < 0 else str(target))


def source_view(f: FileCoverage, root: Path | None) -> SourceView:
    """The file's lines with their state, read from the project root now; a reason when that fails."""
    if root is None:
        return SourceView([], "The source was not read: no project root was given to the report.")
    base = root.resolve()
    path = (base / f.path).resolve()
    if not path.is_relative_to(base):
        return SourceView([], f"The source was not read: {f.path} is outside the project root.")
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return SourceView([], f"The source file is missing: {path} does not exist (any more).")
    except OSError as exc:
        return SourceView([], f"The source file could not be read: {path}: {exc.strerror or exc}.")
    executed, missing = set(f.executed_lines), set(f.missing_lines)
    excluded, partial = set(f.excluded_lines), set(f.partial_lines)
    branches: dict[int, list[str]] = {}
    for b in map(parse_branch, f.missing_branches):
        if b.source is not None:
            branches.setdefault(b.source, []).append(b.target)
    lines = []
    texts = text.splitlines()
    highlighted = highlight(f.path, texts)
    for n, line in enumerate(texts, start=1):
        if n in missing:
            state = "mis"
        elif n in partial or n in branches:
            state = "par"
        elif n in executed:
            state = "run"
        elif n in excluded:
            state = "exc"
        else:
            state = ""
        tokens = highlighted[n - 1] if highlighted else None
        lines.append(SourceLine(n, line, state, branches.get(n, []), tokens))
    return SourceView(lines, None, regions(f, text) if f.path.endswith((".py", ".pyw")) else [])


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def regions(f: FileCoverage, text: str) -> list[Region]:
    """The functions and classes of a Python source, in the order they are defined, with their own numbers.

    A region's own lines run from its first body statement to its end, less the bodies of the functions
    and classes defined in it; its ``def``/``class`` line and decorators ran when the enclosing code ran,
    so they count there. One without a measured line of its own (an ``@overload`` stub) is left out;
    nothing is shown for a source that does not parse.
    """
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError):
        return []
    statements = set(f.executed_lines) | set(f.missing_lines)
    executed, missing = set(f.executed_lines), set(f.missing_lines)
    arcs: dict[int, int] = {}
    for b in map(parse_branch, f.missing_branches):
        if b.source is not None:
            arcs[b.source] = arcs.get(b.source, 0) + 1
    found: list[tuple[int, str, str, set[int]]] = []

    def body_lines(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> set[int]:
        return set(range(node.body[0].lineno, (node.end_lineno or node.lineno) + 1))

    def visit(node: ast.AST, prefix: str, own: set[int] | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, _DEFS):
                lines = body_lines(child)
                if own is not None:
                    own -= lines
                mine = set(lines)
                kind = "class" if isinstance(child, ast.ClassDef) else "function"
                found.append((child.lineno, f"{prefix}{child.name}", kind, mine))
                visit(child, f"{prefix}{child.name}.", mine)
            else:
                visit(child, prefix, own)

    visit(tree, "", None)
    out = []
    for line, name, kind, own in found:
        measured = own & statements
        if not measured:
            continue  # nothing of its own to measure: an @overload stub, a body of `...` or excluded lines
        covered = len(measured & executed)
        out.append(
            Region(
                name,
                kind,
                line,
                Totals.of(len(measured), covered, 0, 0),
                sorted(own & missing),
                sum(arcs.get(n, 0) for n in own),
            )
        )
    return out


@functools.cache
def token_class(ttype: _TokenType) -> str:
    for kind, css in TOKEN_CLASSES:
        if ttype in kind:
            return css
    return ""


def highlight(path: str, lines: Sequence[str]) -> list[list[tuple[str, str]]] | None:
    """Each line as (CSS class, text) pieces, lexed by pygments as a whole file; None when not highlighted.

    The lexer is picked by the file name (none known: not highlighted) and given the lines joined by
    ``\n``, so its line breaks are exactly ours; pieces that do not join back to their line (a lexer
    that changed the text) make the whole file plain rather than show something the file does not hold.
    """
    text = "\n".join(lines)
    if not lines or len(text) > HIGHLIGHT_MAX_CHARS:
        return None
    try:
        lexer = get_lexer_for_filename(path, stripnl=False, stripall=False, ensurenl=True, tabsize=0)
    except ClassNotFound:
        return None
    out: list[list[tuple[str, str]]] = [[]]
    for ttype, value in lexer.get_tokens(text):
        css = token_class(ttype)
        if "\n" not in value:
            row = out[-1]
            if row and row[-1][0] == css:  # one piece for a run of tokens shown alike: fewer spans
                row[-1] = (css, row[-1][1] + value)
            elif value:
                row.append((css, value))
            continue
        first, *rest = value.split("\n")
        if first:
            out[-1].append((css, first))
        for piece in rest:
            out.append([(css, piece)] if piece else [])
    if len(out) == len(lines) + 1 and not out[-1]:
        out.pop()  # the line break ensurenl added
    if len(out) != len(lines):
        return None
    if any("".join(t for _, t in toks) != line for toks, line in zip(out, lines, strict=True)):
        return None
    return out


def requirement_rows(rows: Sequence[TestRow], wanted: Sequence[str]) -> list[RequirementRow]:
    """Requirement -> the tests that carry its id; ids in ``wanted`` first, in their order."""
    by_id: dict[str, list[TestRow]] = {}
    for r in rows:
        for req in r.test.requirements:
            by_id.setdefault(req, []).append(r)
    ids = list(dict.fromkeys([*wanted, *sorted(by_id, key=_natural)]))
    configured = set(wanted)
    out = []
    for req in ids:
        tests = by_id.get(req, [])
        outcomes = {r.test.outcome for r in tests}
        if not tests:
            state = "uncovered"
        elif outcomes & set(BAD_OUTCOMES):
            state = "failed"
        elif outcomes <= {"skipped"}:
            state = "skipped"
        else:
            state = "passed"
        out.append(RequirementRow(req, tests, state, req in configured))
    return out


def _natural(text: str) -> list[object]:
    """FR-2 before FR-10."""
    return [int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text)]


def trend_chart(history: Sequence[RunSummary | RunRecord], current: RunRecord | None) -> TrendChart | None:
    """Layout of the trend chart: coverage on the left axis (0-100), test counts on the right.

    ``history`` is earlier runs, oldest first: lines of the trend index, or whole records (which are
    summarised the same way); ``current`` is added as the last point when it is not among them.
    """
    runs = [r if isinstance(r, RunSummary) else RunSummary.of(r) for r in history]
    if current is not None and all(r.id != current.id for r in runs):
        runs.append(RunSummary.of(current))
    if not runs:
        return None
    # one series per selection: a `run unit` is never drawn on the line of a `run all`
    key = selection_of(RunSummary.of(current)) if current is not None else selection_of(runs[-1])
    others: dict[str, int] = {}
    for r in runs:
        if selection_of(r) != key:
            others[selection_of(r)] = others.get(selection_of(r), 0) + 1
    runs = [r for r in runs if selection_of(r) == key]
    baseline_id = current.coverage.baseline_id if current is not None and current.coverage else None
    days = [r.started_at[:10] for r in runs]
    width, height, left, right, top, bottom = 760, 260, 48, 56, 16, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    tests_max = max(max(r.counts.total for r in runs), 1)
    step = plot_w / (len(runs) - 1) if len(runs) > 1 else 0.0

    def y_pct(v: float | None) -> float | None:
        return None if v is None else round(top + plot_h * (1 - max(0.0, min(100.0, v)) / 100), 1)

    points = []
    for i, r in enumerate(runs):
        overall = r.coverage
        line = overall.line_percent if overall else None
        branch = overall.branch_percent if overall else None
        x = round(left + (step * i if len(runs) > 1 else plot_w / 2), 1)
        y_tests = round(top + plot_h * (1 - r.counts.total / tests_max), 1)
        points.append(
            TrendPoint(
                r.id,
                r.started_at,
                line,
                branch,
                r.counts.total,
                r.complete,
                x,
                y_pct(line),
                y_pct(branch),
                y_tests,
                r.status,
                r.id == baseline_id,
                r.started_at[:16].replace("T", " ") if days.count(r.started_at[:10]) > 1 else r.started_at[:10],
            )
        )

    def path(coords: Iterable[tuple[float, float | None]]) -> str:
        # A run without a value breaks the line instead of pretending it was 0.
        parts, pen_down = [], False
        for x, y in coords:
            if y is None:
                pen_down = False
                continue
            parts.append(f"{'L' if pen_down else 'M'}{x},{y}")
            pen_down = True
        return " ".join(parts)

    pct_ticks = [(v, round(top + plot_h * (1 - v / 100), 1)) for v in (0, 25, 50, 75, 100)]
    tests_ticks = [
        (v, round(top + plot_h * (1 - v / tests_max), 1)) for v in sorted({0, tests_max // 2, tests_max})
    ]
    return TrendChart(
        width,
        height,
        left,
        right,
        top,
        bottom,
        points,
        path((p.x, p.y_line) for p in points),
        path((p.x, p.y_branch) for p in points),
        path((p.x, p.y_tests) for p in points),
        pct_ticks,
        tests_ticks,
        tests_max,
        key,
        sorted(others.items()),
    )


def selection_of(run: RunSummary) -> str:
    """The series a run belongs to on the trend: what it ran, as the command line said it."""
    label = f"run {run.suite}"
    for module in run.modules:
        label += f" --module {module}"
    return f"{label} (partial)" if run.partial else label
