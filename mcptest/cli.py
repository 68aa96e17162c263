"""The mcptest command line: the app, its global options, and the entry point that turns errors into one line
and an exit code. The commands are in ``mcptest/cli_*.py``, one module each (``run`` in ``cli_run.py``), mounted
here; only these modules know typer and rich; the core returns data.

Heavy modules (coverage, requests, jinja2, the pipeline) are imported inside the commands, so that
``mcptest --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, NoReturn

import typer

from mcptest import __version__, cli_common, cli_run, exitcodes
from mcptest.errors import McptestError
from mcptest.textsafe import clean

EXIT_CODES_HELP = "Exit codes: " + "; ".join(f"{code} {name}" for code, (name, _) in exitcodes.DESCRIPTIONS.items())

app = typer.Typer(
    name="mcptest",
    help="Run pytest suites under branch coverage with per-file and per-module gates, bridge preflight "
    "and reports.\n\nExample: mcptest run unit\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_state: dict[str, Any] = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mcptest {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    config_path: cli_common.ConfigOpt = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", is_eager=True, callback=_version_callback)
    ] = False,
) -> None:
    """Run pytest suites under branch coverage with gates, bridge preflight and reports."""
    _state["debug"] = debug or os.environ.get("MCPTEST_DEBUG") == "1"
    cli_common.GLOBAL["config"] = config_path


# --- run (cli_run.py), first in --help -------------------------------------------------------------

app.command(help=cli_run.HELP, context_settings=cli_run.CONTEXT_SETTINGS)(cli_run.run)


# --- the other commands, one module each ---------------------------------------------------------


def _mount() -> None:
    from mcptest import cli_audit, cli_baseline, cli_config, cli_flaky, cli_init, cli_mutate, cli_report
    from mcptest.cli_bridges import app as bridges_app
    from mcptest.cli_sim import app as sim_app

    for command in (cli_init.init, cli_audit.audit, cli_mutate.mutate, cli_report.report, cli_flaky.flaky):
        app.command()(command)
    for group in (cli_baseline.app, cli_config.app, bridges_app, sim_app):
        app.add_typer(group)
    from mcptest.cli_ci import register as register_ci

    register_ci(app)  # mcptest combine


_mount()


def main() -> NoReturn:
    """Entry point: run the app, turning mcptest's errors into one line and their exit code."""
    try:
        result = app(standalone_mode=False)
    except McptestError as exc:
        if _state["debug"]:
            import traceback

            traceback.print_exc()
        typer.echo(f"mcptest: error: {clean(exc)}", err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        _interrupted_exit()
    except Exception as exc:  # command-line usage errors and anything unexpected
        # typer ships click either as the click package or vendored; both have the same interface
        if hasattr(exc, "show") and hasattr(exc, "exit_code") and hasattr(exc, "format_message"):
            exc.show()
            sys.exit(exitcodes.CONFIG_ERROR)
        if type(exc).__name__ == "Abort":
            _interrupted_exit()
        if _state["debug"]:
            raise
        typer.echo(
            f"mcptest: internal error: {type(exc).__name__}: {clean(exc)} (run with --debug for the traceback)",
            err=True,
        )
        sys.exit(exitcodes.INTERNAL_ERROR)
    if result == exitcodes.INTERRUPTED and not _state.get("interrupt_reported"):
        _interrupted_exit()  # typer turns a KeyboardInterrupt into this code without a word
    sys.exit(result if isinstance(result, int) else 0)


def _interrupted_exit() -> NoReturn:
    from mcptest import lifecycle

    by = f" by {lifecycle.received()}" if lifecycle.received() else ""
    typer.echo(f"mcptest: interrupted{by}", err=True)
    sys.exit(exitcodes.INTERRUPTED)
