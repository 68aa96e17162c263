"""The trend chart's layout: one series of runs (the selection of the run reported), coverage on the left axis
(0-100), test counts on the right; where each point sits and the SVG paths through them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from mcptest.history import RunSummary
from mcptest.model import RunRecord

#: The chart's size and margins, in SVG units, and the plot inside them.
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 760, 260, 48, 56, 16, 36
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

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


def trend_chart(history: Sequence[RunSummary | RunRecord], current: RunRecord | None) -> TrendChart | None:
    """Layout of the trend chart: coverage on the left axis (0-100), test counts on the right.

    ``history`` is earlier runs, oldest first: lines of the trend index, or whole records (which are
    summarised the same way); ``current`` is added as the last point when it is not among them.
    """
    runs, key, others = _series(history, current)
    if not runs:
        return None
    baseline_id = current.coverage.baseline_id if current is not None and current.coverage else None
    tests_max = max(max(r.counts.total for r in runs), 1)
    points = _points(runs, tests_max, baseline_id)
    return TrendChart(
        WIDTH,
        HEIGHT,
        LEFT,
        RIGHT,
        TOP,
        BOTTOM,
        points,
        _path((p.x, p.y_line) for p in points),
        _path((p.x, p.y_branch) for p in points),
        _path((p.x, p.y_tests) for p in points),
        [(v, _y(v / 100)) for v in (0, 25, 50, 75, 100)],
        [(v, _y(v / tests_max)) for v in sorted({0, tests_max // 2, tests_max})],
        tests_max,
        key,
        sorted(others.items()),
    )


def _series(
    history: Sequence[RunSummary | RunRecord], current: RunRecord | None
) -> tuple[list[RunSummary], str, dict[str, int]]:
    """The runs of the series shown, its selection, and the count of the other selections' runs.

    One series per selection: a `run unit` is never drawn on the line of a `run all`.
    """
    runs = [r if isinstance(r, RunSummary) else RunSummary.of(r) for r in history]
    if current is not None and all(r.id != current.id for r in runs):
        runs.append(RunSummary.of(current))
    if not runs:
        return [], "", {}
    key = selection_of(RunSummary.of(current)) if current is not None else selection_of(runs[-1])
    others: dict[str, int] = {}
    for r in runs:
        if selection_of(r) != key:
            others[selection_of(r)] = others.get(selection_of(r), 0) + 1
    return [r for r in runs if selection_of(r) == key], key, others


def _y(fraction: float) -> float:
    """The height of a value, as the fraction of its axis (0: the bottom of the plot, 1: its top)."""
    return round(TOP + PLOT_H * (1 - fraction), 1)


def _points(runs: Sequence[RunSummary], tests_max: int, baseline_id: str | None) -> list[TrendPoint]:
    days = [r.started_at[:10] for r in runs]
    step = PLOT_W / (len(runs) - 1) if len(runs) > 1 else 0.0

    def y_pct(v: float | None) -> float | None:
        return None if v is None else _y(max(0.0, min(100.0, v)) / 100)

    points = []
    for i, r in enumerate(runs):
        overall = r.coverage
        line = overall.line_percent if overall else None
        branch = overall.branch_percent if overall else None
        x = round(LEFT + (step * i if len(runs) > 1 else PLOT_W / 2), 1)
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
                _y(r.counts.total / tests_max),
                r.status,
                r.id == baseline_id,
                r.started_at[:16].replace("T", " ") if days.count(r.started_at[:10]) > 1 else r.started_at[:10],
            )
        )
    return points


def _path(coords: Iterable[tuple[float, float | None]]) -> str:
    """An SVG path through the points; a run without a value breaks the line instead of pretending it was 0."""
    parts, pen_down = [], False
    for x, y in coords:
        if y is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{x},{y}")
        pen_down = True
    return " ".join(parts)


def selection_of(run: RunSummary) -> str:
    """The series a run belongs to on the trend: what it ran, as the command line said it."""
    label = f"run {run.suite}"
    for module in run.modules:
        label += f" --module {module}"
    return f"{label} (partial)" if run.partial else label
