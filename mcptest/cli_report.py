"""``mcptest report``: reports from a stored run record, with no re-run; ``write_reports`` also serves ``run``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mcptest.cli_common import console, load, no_record, warn
from mcptest.cli_options import ConfigOpt, chosen_formats
from mcptest.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from mcptest.config_model import Config
    from mcptest.history import History
    from mcptest.model import RunRecord


def write_reports(
    out: Console,
    config: Config,
    record: RunRecord,
    formats: list[str],
    output: Path | None,
    outputs: dict[str, Path | str] | None = None,
) -> list[Path]:
    """Write ``formats`` of ``record`` into ``output`` (default: the report folder's report/) or ``outputs``, each
    path named on ``out``; the Markdown also goes to $GITHUB_STEP_SUMMARY when that is set (GitHub Actions)."""
    from mcptest import report as report_pkg
    from mcptest.console_report import markup
    from mcptest.history import History

    history = History(config.report_dir)
    target = output or config.report_dir / "report"
    templates = (config.root / config.report.templates) if config.report.templates else None
    trend = history.trend() if "html" in formats else []  # the trend index, never the records themselves
    warn(history.warnings)
    paths: list[Path] = report_pkg.render_reports(
        record,
        formats,
        target,
        history=trend,
        requirements=config.report.requirements,
        templates_dir=templates,
        source_root=config.root,
        outputs=outputs,
    )
    for path in paths:
        out.print(markup("Wrote {}", path), soft_wrap=True)
    if "markdown" in formats and os.environ.get("GITHUB_STEP_SUMMARY"):
        summary = next((p for p in paths if p.suffix == ".md"), None)
        if summary is not None:
            report_pkg.append_step_summary(summary.read_text(encoding="utf-8"))
            out.print("Appended the Markdown summary to $GITHUB_STEP_SUMMARY")
    return paths


HtmlOpt = Annotated[bool, typer.Option("--html", help="Write the HTML report (the default when no format is given).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Write the JSON record.")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Write the Markdown summary (for PR comments).")]
JunitOpt = Annotated[bool, typer.Option("--junit", help="Write JUnit XML (xunit2) for Jenkins and GitLab.")]
RunIdOpt = Annotated[
    str | None, typer.Option("--run", metavar="RUN_ID", help="Render this run id (default: latest.json).")
]
AgainstOpt = Annotated[
    str,
    typer.Option(
        "--against",
        metavar="WHAT",
        help="Deltas against 'baseline', 'previous' (the run before it) or a record FILE.",
    ),
]
OpenOpt = Annotated[bool, typer.Option("--open", help="Open the HTML report in a browser.")]
DiffBaseOpt = Annotated[
    str | None,
    typer.Option(
        "--diff-base",
        help="Measure the run's patch: the lines changed since the merge base of REF and HEAD "
        "(the checkout must be at the run's commit).",
        metavar="REF",
    ),
]
OutputOpt = Annotated[
    Path | None,
    typer.Option(
        "--output",
        "-o",
        metavar="PATH",
        help="Output folder (default: <report dir>/report); '-' prints a single text format.",
    ),
]


def report(
    html: HtmlOpt = False,
    json_out: JsonOpt = False,
    markdown: MarkdownOpt = False,
    junit: JunitOpt = False,
    run_id: RunIdOpt = None,
    against: AgainstOpt = "baseline",
    open_browser: OpenOpt = False,
    diff_base: DiffBaseOpt = None,
    output: OutputOpt = None,
    config_path: ConfigOpt = None,
) -> None:
    """Render reports from a stored run record, with no re-run.

    Examples:

      mcptest report --html

      mcptest report --markdown -o - --against previous

      mcptest report --junit --run 20260101T120000000000Z-abc123
    """
    from mcptest import covdata
    from mcptest.history import History

    config = load(config_path)
    history = History(config.report_dir)
    record = history.get(run_id) if run_id else history.latest()
    if record is None:
        warn(history.warnings)
        no_record(config, run_id)
    base = _against(history, record, against)
    warn(history.warnings)
    err = console(stderr=True)
    if record.coverage is not None:
        covdata.apply_deltas(record.coverage, base.coverage if base else None, base.id if base else None)
    if diff_base:
        from mcptest.cli_ci import report_patch

        report_patch(config, record, diff_base)
    formats = chosen_formats(html, json_out, markdown, junit) or ["html"]
    output, outputs = _destinations(formats, output)
    paths = write_reports(err if outputs else console(), config, record, formats, output, outputs)
    if open_browser:
        import webbrowser

        index = next((p for p in paths if p.name == "index.html"), None)
        if index is not None:
            webbrowser.open(index.resolve().as_uri())


def _against(history: History, record: RunRecord, against: str) -> RunRecord | None:
    """The record the deltas are computed against: the baseline, the previous run, or a record file."""
    if against == "baseline":
        return history.baseline()
    if against == "previous":
        return history.previous(record)
    path = Path(against)
    if not path.is_file():
        raise UsageError(f"--against: {against!r} is not 'baseline', 'previous' or an existing record file")
    loaded = history.read(path, "record")
    if loaded.record is None:
        raise UsageError(loaded.warning or f"--against: {against} is not a run record")
    return loaded.record


def _destinations(formats: list[str], output: Path | None) -> tuple[Path | None, dict[str, Path | str] | None]:
    """The output folder and the formats sent elsewhere: ``-o -`` sends the one text format to stdout."""
    if output is None or str(output) != "-":
        return output, None
    if len(formats) != 1 or formats[0] == "html":
        raise UsageError("-o - prints one text format: use it with exactly one of --json, --markdown, --junit")
    return None, {formats[0]: "-"}
