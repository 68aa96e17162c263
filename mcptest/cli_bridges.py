"""The ``mcptest bridges`` commands: a thin shell over mcptest.bridges (heavy imports stay inside)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from mcptest.model import BridgeProbe

app = typer.Typer(
    name="bridges",
    help="Check the backend bridges that suites require (the preflight of `mcptest run`, on its own).",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def bridges() -> None:
    """Check the backend bridges that suites require (the preflight of `mcptest run`, on its own)."""
    # A callback keeps `bridges` a command group even while `check` is its only command.


_STYLES = {"ok": "green", "degraded": "yellow", "error": "red", "unreachable": "red"}


@app.command("check")
def check(
    names: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="NAME",
            help="Bridges to check, as named under `bridges:` in the config (default: all of them).",
            show_default=False,
        ),
    ] = None,
    wait: Annotated[
        float,
        typer.Option(
            "--wait",
            metavar="SECONDS",
            min=0,
            help="Poll every 0.5 s for up to SECONDS until every bridge is accepted (0: probe once).",
        ),
    ] = 0.0,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the probes as a JSON list instead of a table."),
    ] = False,
    config_path: Annotated[
        Path | None,
        typer.Option(
            "-c",
            "--config",
            metavar="PATH",
            help="Config file (default: mcptest.yaml in the current folder or its parents).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Probe the health endpoint of each bridge and say whether it is in an accepted state.

    Exits 0 when every bridge checked is accepted, 3 when one is not, 4 for a config or usage error.

    Example: mcptest bridges check go baileys --wait 30
    """
    from mcptest import exitcodes
    from mcptest.bridges import preflight
    from mcptest.config import load_config
    from mcptest.errors import McptestError, UsageError

    try:
        config = load_config(config_path)
        if not config.bridges:
            raise UsageError(f"no bridges are configured in {config.path}")
        result = preflight(config, names or None, wait=wait)
    except McptestError as exc:
        typer.echo(f"mcptest: {exc}", err=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        typer.echo("mcptest: interrupted", err=True)
        raise typer.Exit(exitcodes.INTERRUPTED) from None

    if as_json:
        _print_json(result.probes)
    else:
        _print_table(result.probes, result.reasons)
    raise typer.Exit(exitcodes.OK if result.ok else exitcodes.BRIDGE_UNAVAILABLE)


def _print_json(probes: list[BridgeProbe]) -> None:
    import dataclasses
    import json

    typer.echo(json.dumps([dataclasses.asdict(p) for p in probes], indent=2))


def _print_table(probes: list[BridgeProbe], reasons: list[str]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="Bridges", title_justify="left")
    table.add_column("Name", no_wrap=True)
    table.add_column("URL", overflow="fold")
    table.add_column("Status", no_wrap=True)
    table.add_column("HTTP", justify="right")
    table.add_column("Time (ms)", justify="right")
    table.add_column("Reason", overflow="fold")
    for p in probes:
        status = Text(p.status, style=_STYLES.get(p.status, ""))
        if p.started_by_mcptest:
            status.append(" (started)")
        table.add_row(
            Text(p.name),
            Text(p.url),
            status,
            Text("-" if p.http_status is None else str(p.http_status)),
            Text("-" if p.response_time_ms is None else f"{p.response_time_ms:.0f}"),
            Text(p.reason),  # Text, not str: a reason may hold brackets that rich would read as markup
        )
    console = Console(highlight=False)
    console.print(table)
    for reason in reasons:
        console.print(Text.assemble(("not accepted: ", "red"), reason), soft_wrap=True)
    if not reasons:
        console.print(Text(f"all {len(probes)} bridge(s) accepted", style="green"))
