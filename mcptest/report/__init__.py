"""Report writers: HTML pages, JSON, a Markdown summary and JUnit XML, all rendered from a RunRecord.

The writers compute nothing: coverage numbers, deltas, verdicts and probe states come from the
record. This package owns the output files: folders are created, each file is replaced atomically,
and ``-`` sends a single-file format to stdout.

    paths = render_reports(record, ["html", "junit"], Path(".mcptest"), history=previous_runs)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

from mcptest.history import RunSummary
from mcptest.model import RunRecord
from mcptest.report.html import INDEX, default_templates_dir, environment, render_pages
from mcptest.report.jsonreport import render_json
from mcptest.report.junit import render_junit
from mcptest.report.markdown import render_markdown
from mcptest.report.output import (
    STDOUT,
    ReportError,
    append_step_summary,
    atomic_write,
    remove_stale,
    write_text,
    write_tree,
)

__all__ = [
    "DEFAULT_NAMES",
    "FORMATS",
    "STDOUT",
    "ReportError",
    "append_step_summary",
    "atomic_write",
    "default_templates_dir",
    "environment",
    "render_json",
    "render_junit",
    "render_markdown",
    "render_pages",
    "render_reports",
    "write_html",
    "write_json",
    "write_junit",
    "write_markdown",
]

FORMATS = ("html", "json", "markdown", "junit")

#: Where each format goes inside the report folder unless the caller says otherwise.
DEFAULT_NAMES: dict[str, str] = {
    "html": "html",  # a folder; its entry page is html/index.html
    "json": "report.json",
    "markdown": "summary.md",
    "junit": "junit.xml",
}


def write_html(
    record: RunRecord,
    out_dir: Path,
    *,
    history: Sequence[RunSummary | RunRecord] = (),
    requirements: Sequence[str] = (),
    templates_dir: Path | None = None,
    source_root: Path | None = None,
) -> Path:
    """Render every page first, then write them into ``out_dir``; returns ``out_dir/index.html``.

    ``history`` is earlier runs, oldest first: ``History.trend()`` (lines of the trend index) or records
    (the record itself is added as the last point when it is not in it). ``source_root`` is the project
    root the file pages read sources from.
    """
    if str(out_dir) == STDOUT:
        raise ReportError("the HTML report is a folder of pages and cannot go to stdout")
    pages = render_pages(
        record,
        history=history,
        requirements=requirements,
        templates_dir=templates_dir,
        source_root=source_root,
    )
    return _write_pages(Path(out_dir), pages)


def _write_pages(folder: Path, pages: Mapping[str, str]) -> Path:
    written = write_tree(folder, pages, last=INDEX)
    remove_stale(folder / "files", {p for p in written if p.parent == folder / "files"})
    if "requirements.html" not in pages:
        remove_stale(folder, set(written), "requirements.html")
    return folder / INDEX


def write_json(record: RunRecord, dest: Path | str, *, stdout: TextIO | None = None) -> Path | None:
    """``record.to_dict()`` pretty-printed; returns the path, or None when written to stdout (``-``)."""
    return write_text(dest, render_json(record), stdout=stdout)


def write_markdown(
    record: RunRecord,
    dest: Path | str,
    *,
    requirements: Sequence[str] = (),
    templates_dir: Path | None = None,
    stdout: TextIO | None = None,
) -> Path | None:
    """The Markdown summary; pass the same text to ``append_step_summary`` for GitHub Actions."""
    text = render_markdown(record, requirements=requirements, templates_dir=templates_dir)
    return write_text(dest, text, stdout=stdout)


def write_junit(record: RunRecord, dest: Path | str, *, stdout: TextIO | None = None) -> Path | None:
    """JUnit XML (xunit2) for Jenkins and GitLab."""
    return write_text(dest, render_junit(record), stdout=stdout)


def render_reports(
    record: RunRecord,
    formats: Sequence[str],
    out_dir: Path,
    *,
    history: Sequence[RunSummary | RunRecord] = (),
    requirements: Sequence[str] = (),
    templates_dir: Path | None = None,
    source_root: Path | None = None,
    outputs: Mapping[str, Path | str] | None = None,
    stdout: TextIO | None = None,
) -> list[Path]:
    """Write each of ``formats`` (html, json, markdown, junit) and return the paths written.

    Each goes to ``out_dir / DEFAULT_NAMES[fmt]`` unless ``outputs`` names another place for it;
    ``"-"`` there means stdout (not for html). Every format is rendered before anything is written,
    so a failing template leaves all previous reports as they were.
    """
    outputs = _checked_outputs(formats, outputs)
    out_dir = Path(out_dir)
    rendered: dict[str, str | dict[str, str]] = {}
    for f in dict.fromkeys(formats):
        if f == "html":
            rendered[f] = render_pages(
                record,
                history=history,
                requirements=requirements,
                templates_dir=templates_dir,
                source_root=source_root,
            )
        elif f == "json":
            rendered[f] = render_json(record)
        elif f == "markdown":
            rendered[f] = render_markdown(record, requirements=requirements, templates_dir=templates_dir)
        else:
            rendered[f] = render_junit(record)

    paths: list[Path] = []
    for f, content in rendered.items():
        dest = outputs.get(f, out_dir / DEFAULT_NAMES[f])
        if isinstance(content, dict):
            paths.append(_write_pages(Path(dest), content))
        else:
            path = write_text(dest, content, stdout=stdout)
            if path is not None:
                paths.append(path)
    return paths


def _checked_outputs(formats: Sequence[str], outputs: Mapping[str, Path | str] | None) -> dict[str, Path | str]:
    """``outputs`` as a dict, once the formats are known, html is not sent to stdout and one format at most is."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ReportError(
            f"unknown report format {', '.join(map(repr, unknown))}; choose from {', '.join(FORMATS)}"
        )
    checked = dict(outputs or {})
    extra = set(checked) - set(FORMATS)
    if extra:
        raise ReportError(f"unknown report format {', '.join(sorted(map(repr, extra)))} in outputs")
    if str(checked.get("html", "")) == STDOUT:
        raise ReportError("the HTML report is a folder of pages and cannot go to stdout")
    to_stdout = [f for f in formats if str(checked.get(f, "")) == STDOUT]
    if len(to_stdout) > 1:
        raise ReportError(f"only one report can go to stdout, not {' and '.join(to_stdout)}")
    return checked
