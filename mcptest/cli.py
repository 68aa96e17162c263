"""The mcptest command line: the app, its global options, ``run``, and the entry point that turns errors into
one line and an exit code. The other commands are in ``mcptest/cli_*.py``, one module each, mounted here;
only these modules know typer and rich; the core returns data.

Heavy modules (coverage, requests, jinja2, the runner) are imported inside the commands, so that
``mcptest --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from mcptest import __version__, exitcodes
from mcptest.cli_common import ConfigOpt
from mcptest.cli_common import console as _console
from mcptest.cli_common import load as _load
from mcptest.cli_report import write_reports as _write_reports
from mcptest.errors import McptestError, UsageError
from mcptest.textsafe import clean

if TYPE_CHECKING:
    from rich.console import Console

    from mcptest.config_model import Config
    from mcptest.model import RunRecord

EXIT_CODES_HELP = "Exit codes: " + "; ".join(f"{code} {name}" for code, (name, _) in exitcodes.DESCRIPTIONS.items())

app = typer.Typer(
    name="mcptest",
    help="Run pytest suites under branch coverage with per-file and per-module gates, bridge preflight "
    "and reports.\n\nExample: mcptest run unit\n\n" + EXIT_CODES_HELP,
    no_args_is_help=True,
    add_completion=False,
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
    debug: Annotated[bool, typer.Option("--debug", help="Show the full traceback of an error.")] = False,
    version: Annotated[
        bool, typer.Option("--version", help="Show the version and exit.", is_eager=True, callback=_version_callback)
    ] = False,
) -> None:
    """Run pytest suites under branch coverage with gates, bridge preflight and reports."""
    _state["debug"] = debug or os.environ.get("MCPTEST_DEBUG") == "1"


# --- run ------------------------------------------------------------------------------------------


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def run(
    ctx: typer.Context,
    suite: Annotated[
        str, typer.Argument(help="Suite name from mcptest.yaml, or 'all' for every suite.", metavar="SUITE")
    ],
    module: Annotated[
        list[str] | None,
        typer.Option("--module", "-m", help="Run only this module's tests and gate only its files (repeatable)."),
    ] = None,
    keyword: Annotated[str | None, typer.Option("-k", help="Only tests matching this pytest -k expression.")] = None,
    contexts: Annotated[
        bool,
        typer.Option("--contexts", help="Record the lines each test covers (coverage.py dynamic contexts; slower)."),
    ] = False,
    workers: Annotated[
        str | None,
        typer.Option(
            "--workers", "-n", help="Run tests in N parallel processes with pytest-xdist ('auto' = one per CPU)."
        ),
    ] = None,
    no_preflight: Annotated[
        bool, typer.Option("--no-preflight", help="Skip the bridge preflight (written into the record and the report).")
    ] = False,
    wait: Annotated[
        float, typer.Option("--wait", help="Seconds to wait for required bridges to become healthy.", min=0)
    ] = 0.0,
    no_start: Annotated[
        bool, typer.Option("--no-start", help="Do not start missing bridges with their configured 'start' command.")
    ] = False,
    repeat: Annotated[
        int,
        typer.Option(
            "--repeat", help="Run the suite N times; a test whose outcome differs between runs is flaky.", min=1
        ),
    ] = 1,
    random_order: Annotated[
        bool, typer.Option("--random-order", help="Shuffle the test order (a different order on each --repeat).")
    ] = False,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seed of --random-order, to reproduce an order (default: a random seed, recorded)."
        ),
    ] = None,
    replay: Annotated[
        str | None,
        typer.Option("--replay", metavar="RUN_ID:N", help="Run the tests in the exact order of run N of a stored run."),
    ] = None,
    bisect: Annotated[
        bool, typer.Option("--bisect", help="After the run, bisect the cause of the first failed or flaky test.")
    ] = False,
    html: Annotated[bool, typer.Option("--html", help="Also write the HTML report.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Also write the JSON report.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Also write the Markdown summary.")] = False,
    junit: Annotated[bool, typer.Option("--junit", help="Also write JUnit XML.")] = False,
    wait_lock: Annotated[
        float,
        typer.Option(
            "--wait-lock",
            help="Seconds to wait for another mcptest run in this report folder to end (default 0: exit 4 at once).",
            min=0,
        ),
    ] = 0.0,
    show_missing: Annotated[
        bool, typer.Option("--show-missing", help="Show the Missing lines and branches of every file, as coverage.py.")
    ] = False,
    skip_covered: Annotated[
        bool, typer.Option("--skip-covered", help="Leave fully covered files out of the file table.")
    ] = False,
    durations: Annotated[
        int, typer.Option("--durations", help="Show the N slowest tests (0: none).", metavar="N", min=0)
    ] = 5,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="List every failure and every file, not only the first ones.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print only the failures, the reasons and the headline.")
    ] = False,
    config_path: ConfigOpt = None,
) -> None:
    """Run a suite under coverage, apply the gates, store the record, exit with a documented code.

    Extra arguments after -- go to pytest unchanged.

    Examples:

      mcptest run unit

      mcptest run unit --module routing -k fallback

      mcptest run all --html

      mcptest run unit --repeat 3 --random-order --bisect

      mcptest run unit --replay 20260101T120000000000Z-a1b2c3:2

      mcptest run unit -- -x --maxfail=3

    The first test interpreter is started while this command line is parsed and used only when it is
    equivalent to a fresh `python -m pytest`; MCPTEST_PRESTART=0 turns that off.
    """
    from mcptest.pipeline import execute
    from mcptest.plan import RunOptions

    if verbose and quiet:
        raise UsageError("-q and -v contradict each other: give one of them")
    config = _load(config_path)
    options = RunOptions(
        suite=suite,
        modules=list(module or []),
        keyword=keyword,
        pytest_args=list(ctx.args),
        contexts=contexts,
        preflight=not no_preflight,
        wait=wait,
        start_bridges=not no_start,
        workers=workers,
        repeat=repeat,
        random_order=random_order,
        seed=seed,
        command=["mcptest", *sys.argv[1:]],
        wait_lock=wait_lock,
    )
    if replay is not None:
        from mcptest.cli_flaky import apply_replay

        apply_replay(config, options, replay)
    progress = _Progress(lambda: _console(stderr=True))
    _install_sigterm()
    try:
        record = execute(
            config, options, on_event=progress.handle, preflight=_preflight_hook(), background=_import_report
        )
    finally:
        progress.close()
    from mcptest import console_report  # imported while the tests ran (_import_report)

    out = _console()
    console_report.print_record(
        out,
        record,
        slowest=durations,
        verbosity=1 if verbose else -1 if quiet else 0,
        show_missing=show_missing,
        skip_covered=skip_covered,
        logs=_suite_logs(config, record),
    )
    if record.exit_code == exitcodes.INTERRUPTED:
        _say_interrupted(config, record)
    formats = [f for f, on in (("html", html), ("json", json_out), ("markdown", markdown), ("junit", junit)) if on]
    if formats:
        _write_reports(out, config, record, formats, None)
    if bisect and record.exit_code != exitcodes.INTERRUPTED:
        from mcptest.cli_flaky import bisect_after_run

        bisect_after_run(config, record)
    raise typer.Exit(record.exit_code)


def _say_interrupted(config: Config, record: RunRecord) -> None:
    """The one line an interrupted run ends with (on stderr): where its incomplete record is."""
    from mcptest import lifecycle

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


def _import_report() -> None:
    """Import the terminal report (rich tables) while the tests run, on the idle core, not after them."""
    from mcptest import console_report  # noqa: F401


def _preflight_hook() -> Any:
    try:
        from mcptest import preflight
    except ImportError:  # pragma: no cover - present in every release
        return None
    return preflight.hook


def _install_sigterm() -> None:
    """SIGTERM interrupts the run like Ctrl-C does: the record is marked incomplete, latest.json kept.

    The entry point (``mcptest.__main__``) has installed the handlers already, before anything else; this is
    for ``main()`` called some other way. A second signal kills the test processes at once (``lifecycle``)."""
    from mcptest import lifecycle

    lifecycle.install()


class _Progress:
    """Live progress on stderr: tests done of total and failures so far, per suite."""

    def __init__(self, console: Callable[[], Console]) -> None:
        # made at the first event (rich's import is not needed before the test process has started)
        self._make_console = console
        self.tasks: dict[str, Any] = {}
        self.started = False

    def _setup(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from mcptest.console_report import markup

        self.markup = markup  # suite names, paths, node ids and problems are foreign text: never markup
        self.console = self._make_console()
        self.live = self.console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
            disable=not self.live,
        )

    def handle(self, kind: str, data: dict[str, Any]) -> None:
        if not hasattr(self, "console"):
            self._setup()
        suite = data.get("suite", "")
        if kind == "suite-start":
            if self.live and not self.started:
                self.progress.start()
                self.started = True
            if suite in self.tasks:
                self.progress.remove_task(self.tasks[suite])
            self.tasks[suite] = self.progress.add_task(clean(suite), total=None, failed="")
            extra = ""
            if data.get("repeat", 1) > 1:
                extra += f", run {data['attempt'] + 1} of {data['repeat']}"
            if data.get("seed") is not None:
                extra += f", random order with --seed {data['seed']}"
            if not self.live or extra:
                paths = " ".join(data.get("paths", []))
                self.console.print(self.markup("mcptest: running suite {} ({}){}", suite, paths, extra))
        elif kind == "collected":
            self.progress.update(self.tasks[suite], total=data["count"])
            if not self.live:
                self.console.print(self.markup("mcptest: {}: collected {} tests", suite, data["count"]))
        elif kind == "test":
            counts = data["counts"]
            bad = counts.failed + counts.error
            self.progress.update(
                self.tasks[suite], completed=counts.total, failed=f"[red]{bad} failed[/red]" if bad else ""
            )
            if not self.live and data["test"].outcome in ("failed", "error"):
                test = data["test"]
                self.console.print(self.markup("mcptest: {}: {} {}", suite, test.outcome.upper(), test.nodeid))
        elif kind == "suite-end":
            result = data["result"]
            if not self.live:
                c = result.counts
                self.console.print(
                    self.markup("mcptest: {}: ", suite)
                    + f"{c.total} tests in {result.duration:.1f}s "
                    f"({c.passed} passed, {c.failed} failed, {c.error} errors)"
                )
        elif kind == "preflight":
            for problem in data.get("problems", []):
                self.console.print(self.markup("mcptest: {}: [red]{}[/red]", suite, problem))
        elif kind == "message":
            self.console.print(self.markup("mcptest: {}", data.get("text", "")))

    def close(self) -> None:
        if self.started:
            self.progress.stop()


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


# --- the other commands, one module each ---------------------------------------------------------


def _mount() -> None:
    from mcptest import cli_audit, cli_baseline, cli_config, cli_flaky, cli_init, cli_mutate, cli_report
    from mcptest.cli_bridges import app as bridges_app
    from mcptest.cli_sim import app as sim_app

    for command in (cli_init.init, cli_audit.audit, cli_mutate.mutate, cli_report.report, cli_flaky.flaky):
        app.command()(command)
    for group in (cli_baseline.app, cli_config.app, bridges_app, sim_app):
        app.add_typer(group)


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
