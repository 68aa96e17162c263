"""The ``mcptest sim`` commands: one bridge simulator in the foreground (the server is imported lazily)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from mcptest.textsafe import clean

app = typer.Typer(
    name="sim",
    help="Run a stand-in for the Go or Baileys bridge on 127.0.0.1 (real HTTP, SQLite, control API /_sim/).",
    no_args_is_help=True,
    add_completion=False,
)

PortOpt = Annotated[
    int | None,
    typer.Option("--port", "-p", min=0, max=65535, metavar="N",
                 help="TCP port on 127.0.0.1 (default: 8080 for go, 8081 for baileys; 0: any free port).",
                 show_default=False),
]
DbOpt = Annotated[
    Path | None,
    typer.Option("--db", metavar="PATH", dir_okay=False,
                 help="SQLite file for the bridge's store (default: in memory). It is emptied at start.",
                 show_default=False),
]
LogOpt = Annotated[bool, typer.Option("--log-requests", help="Log every request to stderr.")]


@app.command("go")
def go(port: PortOpt = None, db: DbOpt = None, log_requests: LogOpt = False) -> None:
    """Serve the Go (whatsmeow) bridge simulator until SIGINT or SIGTERM.

    Exits 0 when stopped by a signal, 4 when the port is taken.

    Example: mcptest sim go --port 8080
    """
    _run("go", port, db, log_requests)


@app.command("baileys")
def baileys(port: PortOpt = None, db: DbOpt = None, log_requests: LogOpt = False) -> None:
    """Serve the Baileys bridge simulator until SIGINT or SIGTERM.

    Exits 0 when stopped by a signal, 4 when the port is taken.

    Example: mcptest sim baileys --port 8081 --db /tmp/baileys.sqlite
    """
    _run("baileys", port, db, log_requests)


def _run(kind: str, port: int | None, db: Path | None, log_requests: bool) -> None:
    import signal
    import threading

    from mcptest import exitcodes
    from mcptest.errors import McptestError
    from mcptest.sim import server

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    # Installed before the socket is bound, so a SIGTERM right after the announcement is never lost.
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    sim = None
    try:
        sim = server.make_sim(kind, str(db) if db else None)
        default_port = server.KINDS[kind][1]
        running = server.serve(sim, default_port if port is None else port, log_requests=log_requests)
    except McptestError as exc:
        if sim is not None:
            sim.close()
        typer.echo(f"mcptest sim: error: {clean(exc)}", err=True)
        raise typer.Exit(exitcodes.CONFIG_ERROR) from None
    try:
        typer.echo(f"mcptest sim: {kind} bridge simulator on {running.url} (control: /_sim/)")
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        sim.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    raise typer.Exit(exitcodes.OK)


if __name__ == "__main__":  # `python -m mcptest.cli_sim go --port 0`: the same commands without the main CLI
    app(prog_name="mcptest sim")
