"""The render stage of ``mcptest run``: the terminal report, the line of an interrupted run, the report files
asked for (``write_reports`` of ``cli_report``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from mcptest import exitcodes
from mcptest.cli_common import console
from mcptest.errors import UsageError
from mcptest.textsafe import clean

if TYPE_CHECKING:
    from mcptest.config_model import Config
    from mcptest.model import RunRecord


def verbosity_of(verbose: bool, quiet: bool) -> int:
    """The terminal report's verbosity: 1 with -v, -1 with -q, else 0; both at once is a usage error."""
    if verbose and quiet:
        raise UsageError("-q and -v contradict each other: give one of them")
    return 1 if verbose else -1 if quiet else 0


def render(
    config: Config,
    record: RunRecord,
    formats: list[str],
    slowest: int,
    verbosity: int,
    show_missing: bool,
    skip_covered: bool,
) -> None:
    """The render stage: the terminal report, the line of an interrupted run, the report files asked for."""
    from mcptest import console_report  # imported while the tests ran (cli_run._import_report)
    from mcptest.cli_report import write_reports

    out = console()
    console_report.print_record(
        out,
        record,
        slowest=slowest,
        verbosity=verbosity,
        show_missing=show_missing,
        skip_covered=skip_covered,
        logs=_suite_logs(config, record),
    )
    if record.exit_code == exitcodes.INTERRUPTED:
        _say_interrupted(config, record)
    if formats:
        write_reports(out, config, record, formats, None)


def _say_interrupted(config: Config, record: RunRecord) -> None:
    """The one line an interrupted run ends with (on stderr): where its incomplete record is."""
    from mcptest import lifecycle
    from mcptest.cli import _state

    by = f" by {lifecycle.received()}" if lifecycle.received() else ""
    path = config.report_dir / "runs" / f"{record.id}.json"
    typer.echo(
        clean(
            f"mcptest: interrupted{by}: run {record.id} is stored as incomplete in {path}; latest.json and the "
            "baseline are untouched"
        ),
        err=True,
    )
    _state["interrupt_reported"] = True


def _suite_logs(config: Config, record: RunRecord) -> dict[str, list[str]]:
    """The full pytest log of each suite of ``record`` (one per attempt with --repeat), where it exists."""
    logs: dict[str, list[str]] = {}
    folder = config.report_dir / "logs"
    for suite in record.suites:
        single = folder / f"{record.id}-{suite.name}.log"
        found = [single] if single.is_file() else []
        while not single.is_file() and (attempt := folder / f"{record.id}-{suite.name}-{len(found) + 1}.log").is_file():
            found.append(attempt)
        if found:
            logs[suite.name] = [str(path) for path in found]
    return logs
