"""The ``mcptest baseline`` commands: save a stored run as the baseline, show which run it is."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from mcptest.cli_common import ConfigOpt, load, no_record, warn
from mcptest.errors import RefusedError
from mcptest.textsafe import clean

if TYPE_CHECKING:
    from mcptest.model import RunRecord

app = typer.Typer(
    name="baseline", help="Save or show the baseline that deltas are computed against.", no_args_is_help=True
)


@app.command("save")
def save(
    force: Annotated[bool, typer.Option("--force", help="Save even a failed, partial or incomplete run.")] = False,
    run_id: Annotated[
        str | None, typer.Option("--run", metavar="RUN_ID", help="Run id to save (default: latest.json).")
    ] = None,
    config_path: ConfigOpt = None,
) -> None:
    """Make the latest run (or --run ID) the baseline that deltas are computed against.

    Refuses a failed, partial (--module, -k) or incomplete run unless --force (exit 7, refused).

    Example: mcptest baseline save
    """
    from mcptest.history import History

    config = load(config_path)
    history = History(config.report_dir)
    record = history.get(run_id) if run_id else history.latest()
    warn(history.warnings)
    if record is None:
        no_record(config, run_id)
    problems = _refusals(record)
    if problems and not force:
        raise RefusedError(
            f"refusing to save run {record.id} as the baseline: {', '.join(problems)}; use --force to save it anyway"
        )
    path = history.save_baseline(record)
    typer.echo(clean(f"Saved run {record.id} as the baseline: {path}"))


@app.command("show")
def show(config_path: ConfigOpt = None) -> None:
    """Show which run is the baseline and its overall numbers.

    Example: mcptest baseline show
    """
    from mcptest.gate import pct
    from mcptest.history import History

    config = load(config_path)
    history = History(config.report_dir)
    record = history.baseline()
    warn(history.warnings)
    if record is None:
        typer.echo(clean(f"No baseline in {config.report_dir} (save one with 'mcptest baseline save')."))
        raise typer.Exit(0)
    overall = record.coverage.overall if record.coverage else None
    typer.echo(
        clean(
            f"Baseline: run {record.id} of {record.started_at} ({record.status}); "
            f"line {pct(overall.line_percent if overall else None)}, "
            f"branch {pct(overall.branch_percent if overall else None)}"
        )
    )


def _refusals(record: RunRecord) -> list[str]:
    """Why ``record`` should not be the baseline (without --force): incomplete, not passed, partial, no coverage."""
    problems = []
    if not record.complete:
        problems.append("it is incomplete")
    if record.status != "passed":
        problems.append(f"it {record.status} ({'; '.join(record.reasons[:3])})")
    if record.selection.partial:
        why = "; ".join(record.selection.partial_reasons) or "--module, -k or pytest arguments"
        problems.append(f"it is a partial run, only part of the suite ran ({why})")
    if record.coverage is None:
        problems.append("it has no coverage data")
    return problems
