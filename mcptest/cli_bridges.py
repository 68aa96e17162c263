"""The ``mcptest bridges`` commands: a thin shell over mcptest.bridges (heavy imports stay inside)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from mcptest.cli_common import ConfigOpt, config_path_of
from mcptest.textsafe import clean

if TYPE_CHECKING:
    from mcptest.model import BridgeProbe

app = typer.Typer(
    name="bridges",
    help="Check the backend bridges that suites require, and start or stop local bridge simulators.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def bridges() -> None:
    """Check the backend bridges that suites require, and start or stop local bridge simulators."""


_STYLES = {"ok": "green", "degraded": "yellow", "error": "red", "unreachable": "red"}

NamesArg = Annotated[
    list[str] | None,
    typer.Argument(metavar="NAME", show_default=False,
                   help="Bridges as named under `bridges:` in the config (default: all of them)."),
]


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
            help="Poll every 0.5 s for up to SECONDS until every bridge is accepted (0: probe once);"
            " the table says how long it waited for each.",
        ),
    ] = 0.0,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the probes as a JSON list instead of a table."),
    ] = False,
    config_path: ConfigOpt = None,
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
        config = load_config(config_path_of(config_path))
        if not config.bridges:
            raise UsageError(f"no bridges are configured in {config.path}")
        result = preflight(config, names or None, wait=wait)
    except McptestError as exc:
        typer.echo(f"mcptest: {clean(exc)}", err=True)
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
        status = Text(clean(p.status), style=_STYLES.get(p.status, ""))
        if p.started_by_mcptest:
            status.append(" (started)")
        if p.waited_s is not None:
            status.append(f"\nwaited {p.waited_s:.1f} s")
        # Text, not str: a name, URL or reason may hold brackets that rich would read as markup; and
        # cleaned: a bridge's reason quotes what the bridge answered, which may hold terminal controls.
        table.add_row(
            Text(clean(p.name)),
            Text(clean(p.url)),
            status,
            Text("-" if p.http_status is None else str(p.http_status)),
            Text("-" if p.response_time_ms is None else f"{p.response_time_ms:.0f}"),
            Text(clean(p.reason)),
        )
    # not a terminal (CI logs): wide enough that URLs and reasons are not folded
    wide = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 140
    console = Console(highlight=False, emoji=False, width=wide)
    console.print(table)
    for reason in reasons:
        console.print(Text.assemble(("not accepted: ", "red"), clean(reason)), soft_wrap=True)
    if not reasons:
        console.print(Text(f"all {len(probes)} bridge(s) accepted", style="green"))


def _managed(config_path: Path | None, names: list[str] | None) -> tuple[Any, list[Any], Path]:
    """The config, the selected bridges and the folder of the simulators' pid files and logs."""
    from mcptest.bridges import select_bridges
    from mcptest.config import load_config
    from mcptest.errors import UsageError

    config = load_config(config_path_of(config_path))
    if not config.bridges:
        raise UsageError(f"no bridges are configured in {config.path}")
    return config, select_bridges(config, names or None), config.report_dir / "sims"


def _fail(exc: Exception) -> NoReturn:
    from mcptest.errors import McptestError

    code = exc.exit_code if isinstance(exc, McptestError) else 4
    typer.echo(f"mcptest: {clean(exc)}", err=True)
    raise typer.Exit(code) from None


@app.command("up")
def up(
    names: NamesArg = None,
    wait: Annotated[
        float,
        typer.Option("--wait", metavar="SECONDS", min=0,
                     help="How long to wait for each started simulator to become healthy."),
    ] = 15.0,
    config_path: ConfigOpt = None,
) -> None:
    """Start a simulator for each bridge (detached) on the port of its URL, and wait until it is healthy.

    Only bridges named after a simulator (go, baileys) with an http URL on 127.0.0.1 or localhost can be
    started. Pid files and logs go to <report dir>/sims/; `mcptest bridges down` stops them. A simulator
    this command started earlier and that still runs is left alone. Exits 0 when every bridge is
    accepted and its simulator runs, 3 when not (its port taken, say), 4 for a config or usage error.

    Example: mcptest bridges up go baileys
    """
    from mcptest import exitcodes
    from mcptest.bridges import is_accepted, wait_for
    from mcptest.errors import McptestError
    from mcptest.sim.detached import sim_target, start_detached

    try:
        config, selected, sims_dir = _managed(config_path, names)
        for bridge in selected:  # refuse a bridge that cannot be simulated before starting anything
            sim_target(bridge.name, bridge.url)
    except McptestError as exc:
        _fail(exc)
    results = [start_detached(b.name, b.url, sims_dir, timeout=max(wait, 1.0), cwd=config.root)
               for b in selected]
    probes = wait_for(selected, wait, interval=0.1)
    ok = True
    for result, probe in zip(results, probes, strict=True):
        accepted = is_accepted(probe)
        ok = ok and accepted and result.state != "failed"  # a port held by someone else is no success
        pid = f" (pid {result.pid})" if result.pid else ""
        health = f"{probe.status}: {probe.reason}"
        typer.echo(clean(f"{result.name}: {result.state}{pid} on {result.url}; {health}"))
        if result.state == "failed" or not accepted:
            typer.echo(f"  {clean(result.detail)}", err=True)
    raise typer.Exit(exitcodes.OK if ok else exitcodes.BRIDGE_UNAVAILABLE)


@app.command("down")
def down(
    names: NamesArg = None,
    grace: Annotated[
        float,
        typer.Option("--grace", metavar="SECONDS", min=0,
                     help="Seconds between SIGTERM and SIGKILL for a simulator that does not exit."),
    ] = 5.0,
    config_path: ConfigOpt = None,
) -> None:
    """Stop the simulators that `mcptest bridges up` started (by their pid files).

    A pid file whose process is gone is removed. A bridge mcptest did not start is left alone.

    Example: mcptest bridges down
    """
    from mcptest.errors import McptestError
    from mcptest.sim.detached import stop_detached

    try:
        _, selected, sims_dir = _managed(config_path, names)
    except McptestError as exc:
        _fail(exc)
    for bridge in selected:
        result = stop_detached(bridge.name, bridge.url, sims_dir, grace=grace)
        pid = f" (pid {result.pid})" if result.pid else ""
        typer.echo(clean(f"{result.name}: {result.state}{pid}" + (f"; {result.detail}" if result.detail else "")))


@app.command("status")
def status(names: NamesArg = None, config_path: ConfigOpt = None) -> None:
    """Say which simulators `mcptest bridges up` runs and how healthy each bridge is.

    Exits 0 when every bridge listed is accepted, 3 when one is not.

    Example: mcptest bridges status
    """
    from mcptest import exitcodes
    from mcptest.bridges import is_accepted, probe_all
    from mcptest.errors import McptestError
    from mcptest.sim.detached import detached_state

    try:
        _, selected, sims_dir = _managed(config_path, names)
    except McptestError as exc:
        _fail(exc)
    probes = probe_all(selected)
    for bridge, probe in zip(selected, probes, strict=True):
        found = detached_state(bridge.name, bridge.url, sims_dir)
        if found.state == "running":
            sim = f"simulator running (pid {found.pid})"
        elif found.state == "stale":
            sim = f"stale pid file (pid {found.pid})"
        else:
            sim = "no simulator started by mcptest"
        typer.echo(clean(f"{bridge.name}: {sim}; {bridge.url} is {probe.status}: {probe.reason}"))
    raise typer.Exit(exitcodes.OK if all(is_accepted(p) for p in probes) else exitcodes.BRIDGE_UNAVAILABLE)
