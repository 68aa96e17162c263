"""Draw docs/pipeline.svg, the picture of one ``mcptest run`` in docs/architecture.md.

    python docs/pipeline_diagram.py        # rewrites docs/pipeline.svg

Plain SVG (no dependency): the stages top to bottom, each with its module and the data it hands on; the
per-suite stages in a bracket; the test process and the speed-ups (``overlap.py``) beside the run stage.
"""

from __future__ import annotations

import os
import tempfile
from html import escape
from pathlib import Path

#: (stage, module(s), what it returns / hands on)
STAGES = [
    ("config", "config/", "Config"),
    ("plan", "plan.py", "[(SuiteConfig, paths)]"),
    ("preflight", "preflight.py, bridges/", "PreflightOutcome (refused: bridge verdicts)"),
    ("run", "run.py", "event lines, exit status"),
    ("collect", "collect.py per suite, collect_coverage.py once", "SuiteRun, CoverageReport"),
    ("gate", "suite_gate.py per suite, gate.py once", "verdicts, exit code"),
    ("persist", "persist.py, history/", "RunRecord in .mcptest/"),
    ("render", "cli_render.py, console_*.py, report/", "terminal; HTML, JSON, Markdown, JUnit"),
    ("exit", "exitcodes.py", "the process's exit code"),
]
PER_SUITE = ("preflight", "gate")  # the stages repeated for each suite (gate: the suite's own verdicts)

X, W, H, GAP, TOP = 40, 420, 52, 26, 70
SIDE_X, SIDE_W = 520, 380
FONT = "font-family='DejaVu Sans, Helvetica, Arial, sans-serif'"


def _y(i: int) -> int:
    return TOP + i * (H + GAP)


def _box(x: int, y: int, w: int, h: int, fill: str, dashed: bool = False) -> str:
    dash = " stroke-dasharray='6 4'" if dashed else ""
    return f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='8' fill='{fill}' stroke='#334'{dash}/>"


def _text(x: int, y: int, text: str, size: int = 13, weight: str = "normal", fill: str = "#112") -> str:
    return f"<text x='{x}' y='{y}' font-size='{size}' font-weight='{weight}' fill='{fill}' {FONT}>{escape(text)}</text>"


def _arrow(x1: int, y1: int, x2: int, y2: int, dashed: bool = False) -> str:
    dash = " stroke-dasharray='5 4'" if dashed else ""
    line = f"<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='#334' stroke-width='1.5'{dash}"
    return line + " marker-end='url(#a)'/>"


def _stages() -> list[str]:
    out = []
    for i, (stage, modules, hands) in enumerate(STAGES):
        y = _y(i)
        out.append(_box(X, y, W, H, "#e8f0fb" if stage not in ("render", "exit") else "#f3f3f3"))
        out.append(_text(X + 12, y + 21, stage, 15, "bold"))
        out.append(_text(X + 110, y + 21, modules, 12))
        out.append(_text(X + 110, y + 40, "-> " + hands, 12, fill="#445"))
        if i + 1 < len(STAGES):
            out.append(_arrow(X + W // 2, y + H, X + W // 2, _y(i + 1) - 2))
    first, last = (next(i for i, s in enumerate(STAGES) if s[0] == name) for name in PER_SUITE)
    top, bottom = _y(first) - 6, _y(last) + H + 6
    out.append(f"<path d='M{X - 10},{top} h-8 v{bottom - top} h8' fill='none' stroke='#a33' stroke-width='1.5'/>")
    out.append(
        f"<text x='{X - 24}' y='{(top + bottom) // 2}' font-size='12' fill='#a33' {FONT} text-anchor='middle' "
        f"transform='rotate(-90 {X - 24} {(top + bottom) // 2})'>for each suite (and attempt)</text>"
    )
    return out


def _side() -> list[str]:
    run_y, collect_y = _y(3), _y(4)
    out = [_box(SIDE_X, run_y - 34, SIDE_W, 84, "#fff7e0")]
    out += [
        _text(SIDE_X + 12, run_y - 14, "test process (one per suite)", 13, "bold"),
        _text(SIDE_X + 12, run_y + 5, "python -m pytest -p mcptest.collector", 12),
        _text(SIDE_X + 12, run_y + 23, "collector.py, measure.py, selection.py, watchdog.py", 12),
        _text(SIDE_X + 12, run_y + 41, "writes events.jsonl and the .coverage data", 12, fill="#445"),
        _arrow(X + W, run_y + 20, SIDE_X - 2, run_y + 20),
    ]
    oy = _y(5) + 6
    out.append(_box(SIDE_X, oy, SIDE_W, 112, "#eef8ee", dashed=True))
    out += [
        _text(SIDE_X + 12, oy + 20, "overlap.py: the speed-ups, one seam", 13, "bold"),
        _text(SIDE_X + 12, oy + 40, "prestart hand-off: the first test interpreter", 12),
        _text(SIDE_X + 12, oy + 58, "background thread: git, baseline, source parse, audit", 12),
        _text(SIDE_X + 12, oy + 76, "early read of the coverage report", 12),
        _text(SIDE_X + 12, oy + 96, "changes when work is done, never what", 12, fill="#445"),
        _arrow(SIDE_X, oy + 14, X + W + 4, run_y + H - 6, dashed=True),
        _arrow(SIDE_X, oy + 34, X + W + 4, collect_y + H // 2, dashed=True),
    ]
    return out


def svg() -> str:
    height = _y(len(STAGES)) + 10
    width = SIDE_X + SIDE_W + 20
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}'>",
        "<defs><marker id='a' viewBox='0 0 10 10' refX='9' refY='5' markerWidth='7' markerHeight='7' "
        "orient='auto-start-reverse'><path d='M0,0 L10,5 L0,10 z' fill='#334'/></marker></defs>",
        f"<rect width='{width}' height='{height}' fill='white'/>",
        _text(X, 34, "mcptest run: the pipeline (pipeline.execute)", 17, "bold"),
        _text(X, 54, "each stage a function from data to data; render and exit are the command line's", fill="#445"),
        *_stages(),
        *_side(),
        "</svg>",
    ]
    return "\n".join(parts) + "\n"


def main() -> None:
    target = Path(__file__).with_name("pipeline.svg")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".pipeline-", suffix=".svg")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(svg())
    os.chmod(tmp, 0o644)
    os.replace(tmp, target)


if __name__ == "__main__":
    main()
