"""The HTML report: one jinja2 Environment (autoescape on) over the templates, one page per view."""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

import mcptest
from mcptest import patch_report
from mcptest.history import RunSummary
from mcptest.model import RunRecord
from mcptest.report import fmt, views
from mcptest.report.source import SourceLine, parse_branch, source_view
from mcptest.report.trend import TrendChart, trend_chart
from mcptest.textsafe import clean

#: The entry page; written last so it never links to pages that are not there yet.
INDEX = "index.html"


def default_templates_dir() -> Path:
    """The bundled templates: ``mcptest/templates`` in a wheel, ``<repo>/templates`` in a checkout."""
    package = Path(mcptest.__file__).resolve().parent
    for candidate in (package / "templates", package.parent / "templates"):
        if (candidate / "base.html").is_file():
            return candidate
    raise FileNotFoundError(
        f"the report templates are missing (looked in {package}/templates and ../templates)"
    )


@functools.lru_cache(maxsize=8)
def environment(templates_dir: Path | None = None) -> jinja2.Environment:
    """The Environment; a ``templates_dir`` override is searched first, the bundled templates fill the gaps.

    Autoescape is on for every template, Markdown included: a value that reaches output without a
    filter is HTML-escaped, which is also inert in GitHub Markdown. Every value shown is first
    stripped of terminal control sequences and control characters (``fmt.safe_value``). The
    Markdown filters return Markup because they escape for Markdown themselves.
    """
    loaders: list[jinja2.BaseLoader] = []
    if templates_dir is not None:
        loaders.append(jinja2.FileSystemLoader(str(templates_dir)))
    loaders.append(jinja2.FileSystemLoader(str(default_templates_dir())))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # foreign text (node ids, messages, paths, reasons) never carries terminal controls into a page
        finalize=fmt.safe_value,
    )
    env.filters.update(
        pct=fmt.pct,
        num1=fmt.num1,
        delta=fmt.delta,
        delta_dir=fmt.delta_dir,
        arrow=fmt.arrow,
        duration=fmt.duration,
        sortv=fmt.sort_key,
        ranges=fmt.ranges,
        first_line=fmt.first_line,
        strip_ansi=fmt.strip_ansi,
        md=fmt.md_text,
        md_code=fmt.md_code,
        source_rows=source_rows,
    )
    return env


def source_rows(lines: Sequence[SourceLine], contexts: bool = False, suites: bool = False) -> fmt.Cleaned:
    """The rows of a file page's source table, one per line, each ending with a line break.

    ``suites`` adds a cell with the letters of the suite types that ran the line; ``contexts`` one with the
    count of tests that covered it, their node ids (cleaned and escaped) listed when it is opened.

    The same HTML a template loop over the lines writes (``tests/test_report_scale.py`` holds them equal),
    built here because the loop took most of a file page's time: a source line is cleaned like every
    value (``fmt.safe_value``) and escaped, its number and state are ours.
    """
    rows = []
    for line in lines:
        state = f' class="{escape(line.state)}"' if line.state else ""
        branches = f"→ {escape(clean(', '.join(line.branches), multiline=True))} not taken" if line.branches else ""
        text = clean(line.text, multiline=True)
        if line.tokens and text == line.text:
            # highlighted only when cleaning changes nothing: the pieces then show exactly the cleaned line
            src = "".join(
                f'<span class="{escape(css)}">{escape(piece)}</span>' if css else str(escape(piece))
                for css, piece in line.tokens
            )
        else:
            src = str(escape(text))
        marker = ""
        if suites:
            marker = f'<td class="st" title="{escape(_suite_title(line.suites))}">{escape(line.suites)}</td>'
        extra = ""
        if contexts:
            extra += '<td class="cx">'
            if line.tests:
                items = "".join(f"<li>{escape(clean(t))}</li>" for t in line.tests)
                extra += f"<details><summary>{len(line.tests)}</summary><ul>{items}</ul></details>"
            extra += "</td>"
        rows.append(
            f'<tr id="L{line.number}"{state}><td class="n"><a href="#L{line.number}">{line.number}</a></td>{marker}'
            f'<td class="src">{src}</td><td class="br">{branches}</td>{extra}</tr>\n'
        )
    return fmt.Cleaned("".join(rows))


#: The marker of a suite type on a file page's lines.
SUITE_LETTERS = {"unit": "U", "integration": "I", "e2e": "E", "custom": "C"}


def _suite_title(letters: str) -> str:
    names = {v: k for k, v in SUITE_LETTERS.items()}
    return ", ".join(names.get(c, c) for c in letters) if letters else "no suite ran this line"


@functools.lru_cache(maxsize=8)
def _assets(templates_dir: Path | None) -> tuple[Markup, Markup, str]:
    """The stylesheet, the sort script and the script's CSP hash: only this exact script may run.

    Both are static files inlined in every page (the report must work offline, from any folder); they are
    cleaned here, once, like every value shown, and the hash is that of the script as the pages hold it.
    """
    env = environment(templates_dir)
    assert env.loader is not None
    style, _, _ = env.loader.get_source(env, "style.css")
    script, _, _ = env.loader.get_source(env, "sort.js")
    style, script = clean(style, multiline=True), clean(script, multiline=True)
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    return fmt.Cleaned(style), fmt.Cleaned(script), f"sha256-{digest}"


def render_pages(
    record: RunRecord,
    *,
    history: Sequence[RunSummary | RunRecord] = (),
    requirements: Sequence[str] = (),
    templates_dir: Path | None = None,
    source_root: Path | None = None,
) -> dict[str, str]:
    """Every page of the report as ``{relative path: html}``; nothing is written here.

    ``history`` is what the trend shows: earlier runs, oldest first (``History.trend()``, or records).
    """
    env = environment(templates_dir)
    style, script, script_hash = _assets(templates_dir)
    gates = views.Gates(record.verdicts)
    files = views.file_rows(record, gates)
    tests = views.test_rows(record)
    reqs = views.requirement_rows(tests, requirements)
    trend = trend_chart(history, record)
    common: dict[str, Any] = {
        "record": record,
        "style": style,
        "script": script,
        "script_hash": script_hash,
        "has_requirements": bool(reqs),
        "has_trend": trend is not None and len(trend.points) > 1,
        "version": mcptest.__version__,
    }
    failing = views.failing_tests(tests, record.verdicts)
    uncovered = [r for r in reqs if r.state == "uncovered"]
    pages: dict[str, str] = {}

    def page(name: str, template: str, **context: Any) -> None:
        base = "../" * name.count("/")
        pages[name] = env.get_template(template).render(common, base=base, page=name, **context)

    for i, row in enumerate(files):
        page(row.href, "file.html", **_file_context(files, i, source_root, record))
    page("files.html", "files.html", files=files, suite_types=views.suite_types(record))
    page(
        "tests.html",
        "tests.html",
        tests=tests,
        slowest=views.slowest_tests(tests),
        failing=failing,
        failing_anchors={r.anchor for r in failing},
        flaky=views.flaky_tests(tests),
    )
    page("trend.html", "trend.html", trend=trend, history=list(reversed(trend.points)) if trend else [])
    if reqs:
        listed = bool(requirements)
        page("requirements.html", "requirements.html", requirements=reqs, listed=listed, uncovered=uncovered)
    page(INDEX, "index.html", **_summary_context(record, gates, files, failing, trend, uncovered))
    return pages


def _file_context(
    files: Sequence[views.FileRow], i: int, source_root: Path | None, record: RunRecord
) -> dict[str, Any]:
    """A file page: its row, the files before and after it, its source and the branches never taken.

    With ``--contexts`` each line carries the tests that covered it; with several suites, the letters of
    the suite types that executed it.
    """
    row = files[i]
    patched = patch_report.file_entry(record.patch, row.file.path)  # --diff-base: its changed lines, marked
    source = patch_report.mark_changed(source_view(row.file, source_root), patched)
    contexts = views.has_contexts(record)
    by_line = views.tests_by_line(record, row.file.path) if contexts else {}
    suite_lines = views.suite_types_by_line(record, row.file)
    for line in source.lines:
        line.tests = by_line.get(line.number, [])
        line.suites = "".join(SUITE_LETTERS.get(t, t[:1].upper()) for t in suite_lines.get(line.number, []))
    return {
        "row": row,
        "prev_row": files[i - 1] if i else None,
        "next_row": files[i + 1] if i + 1 < len(files) else None,
        "source": source,
        "patch_file": patched,
        "missing_branches": [parse_branch(b) for b in row.file.missing_branches],
        "contexts": contexts,
        "per_suite": bool(row.file.suites),
        "suite_letters": [(SUITE_LETTERS.get(t, t[:1].upper()), t) for t in views.suite_types(record)],
    }


def _summary_context(
    record: RunRecord,
    gates: views.Gates,
    files: Sequence[views.FileRow],
    failing: Sequence[views.TestRow],
    trend: TrendChart | None,
    uncovered: Sequence[views.RequirementRow],
) -> dict[str, Any]:
    """The summary page (index.html): verdicts, outcomes, suites, modules, what failed, the trend."""
    return {
        "overall": gates.get("overall"),
        "failed_verdicts": [v for v in record.verdicts if not v.passed],
        "outcomes": views.outcome_counts(record),
        "suites": views.suite_rows(record, gates),
        "modules": views.module_rows(record, gates),
        "failing_files": [r for r in files if r.gate.failed],
        "file_count": len(files),
        "failing": failing[: views.FAILING_ON_SUMMARY],
        "failing_total": len(failing),
        "trend": trend,
        "uncovered": uncovered,
        "patch": patch_report.view(record),  # --diff-base: patch.html
    }
