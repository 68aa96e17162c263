"""``mcptest run``: the command line around the pipeline (``pipeline.execute``), its live progress on stderr,
and the last two stages, render (the terminal report, the report files asked for) and exit (the record's code).

``run`` is mounted by ``cli.py`` (first, so that it leads the commands in ``mcptest --help``).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcptest import exitcodes
from mcptest.cli_ci import DiffBaseOpt, OutOpt, ShardOpt
from mcptest.cli_common import ConfigOpt
from mcptest.cli_common import console as _console
from mcptest.cli_common import load as _load
from mcptest.errors import UsageError
from mcptest.textsafe import clean

if TYPE_CHECKING:
    from rich.console import Console

    from mcptest.config_model import Config
    from mcptest.model import RunRecord
    from mcptest.plan import RunOptions

SuiteArg = Annotated[
    str, typer.Argument(help="Suite name from mcptest.yaml, or 'all' for every suite.", metavar="SUITE")
]
ModuleOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--module", "-M", metavar="NAME", help="Run only this module's tests and gate only its files (repeatable)."
    ),
]
KeywordOpt = Annotated[
    str | None,
    typer.Option("-k", metavar="EXPR", help="Only tests matching this pytest -k expression (a partial run)."),
]
MarkerOpt = Annotated[
    str | None,
    typer.Option(
        "-m",
        metavar="EXPR",
        help="Only tests matching this pytest -m marker expression (a partial run when it deselects a test).",
    ),
]
ContextsOpt = Annotated[
    bool,
    typer.Option("--contexts", help="Record the lines each test covers (coverage.py dynamic contexts; slower)."),
]
WorkersOpt = Annotated[
    str | None,
    typer.Option(
        "--workers",
        "-n",
        metavar="N",
        help="Run tests in N parallel processes with pytest-xdist ('auto' = one per CPU).",
    ),
]
NoPreflightOpt = Annotated[
    bool, typer.Option("--no-preflight", help="Skip the bridge preflight (written into the record and the report).")
]
WaitOpt = Annotated[
    float,
    typer.Option("--wait", metavar="SECONDS", help="Seconds to wait for required bridges to become healthy.", min=0),
]
NoStartOpt = Annotated[
    bool, typer.Option("--no-start", help="Do not start missing bridges with their configured 'start' command.")
]
RepeatOpt = Annotated[
    int,
    typer.Option(
        "--repeat",
        metavar="N",
        help="Run the suite N times; a test whose outcome differs between runs is flaky.",
        min=1,
    ),
]
RandomOrderOpt = Annotated[
    bool, typer.Option("--random-order", help="Shuffle the test order (a different order on each --repeat).")
]
SeedOpt = Annotated[
    int | None,
    typer.Option(
        "--seed", metavar="N", help="Seed of --random-order, to reproduce an order (default: a random seed, recorded)."
    ),
]
ReplayOpt = Annotated[
    str | None,
    typer.Option("--replay", metavar="RUN_ID:N", help="Run the tests in the exact order of run N of a stored run."),
]
BisectOpt = Annotated[
    bool, typer.Option("--bisect", help="After the run, bisect the cause of the first failed or flaky test.")
]
HtmlOpt = Annotated[bool, typer.Option("--html", help="Also write the HTML report.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Also write the JSON report.")]
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Also write the Markdown summary.")]
JunitOpt = Annotated[bool, typer.Option("--junit", help="Also write JUnit XML.")]
WaitLockOpt = Annotated[
    float,
    typer.Option(
        "--wait-lock",
        metavar="SECONDS",
        help="Seconds to wait for another mcptest run in this report folder to end (default 0: exit 4 at once).",
        min=0,
    ),
]
ShowMissingOpt = Annotated[
    bool, typer.Option("--show-missing", help="Show the Missing lines and branches of every file, as coverage.py.")
]
SkipCoveredOpt = Annotated[
    bool, typer.Option("--skip-covered", help="Leave fully covered files out of the file table.")
]
DurationsOpt = Annotated[
    int, typer.Option("--durations", help="Show the N slowest tests (0: none).", metavar="N", min=0)
]
VerboseOpt = Annotated[
    bool, typer.Option("--verbose", "-v", help="List every failure and every file, not only the first ones.")
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the failures, the reasons and the headline.")]

HELP = """Run a suite under coverage, apply the gates, store the record, exit with a documented code.

    Extra arguments after -- go to pytest unchanged.

    Examples:

      mcptest run unit

      mcptest run unit --module routing -k fallback

      mcptest run all --html

      mcptest run unit --repeat 3 --random-order --bisect

      mcptest run unit --replay 20260101T120000000000Z-a1b2c3:2

      mcptest run unit -- -x --maxfail=3

      mcptest run unit --diff-base origin/main

      mcptest run unit --shard 2/3 --out bundles/unit-2

    The first test interpreter is started while this command line is parsed and used only when it is
    equivalent to a fresh `python -m pytest`; MCPTEST_PRESTART=0 turns that off.
    """


#: Arguments after ``--`` go to pytest (``ctx.args``); an unknown option is still an error.
CONTEXT_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": False}


def run(
    ctx: typer.Context,
    suite: SuiteArg,
    module: ModuleOpt = None,
    keyword: KeywordOpt = None,
    marker: MarkerOpt = None,
    contexts: ContextsOpt = False,
    workers: WorkersOpt = None,
    no_preflight: NoPreflightOpt = False,
    wait: WaitOpt = 0.0,
    no_start: NoStartOpt = False,
    repeat: RepeatOpt = 1,
    random_order: RandomOrderOpt = False,
    seed: SeedOpt = None,
    replay: ReplayOpt = None,
    bisect: BisectOpt = False,
    html: HtmlOpt = False,
    json_out: JsonOpt = False,
    markdown: MarkdownOpt = False,
    junit: JunitOpt = False,
    wait_lock: WaitLockOpt = 0.0,
    show_missing: ShowMissingOpt = False,
    skip_covered: SkipCoveredOpt = False,
    durations: DurationsOpt = 5,
    verbose: VerboseOpt = False,
    quiet: QuietOpt = False,
    diff_base: DiffBaseOpt = None,
    shard: ShardOpt = None,
    out: OutOpt = None,
    config_path: ConfigOpt = None,
) -> None:
    from mcptest.cli_ci import finish_run, prepare_run
    from mcptest.plan import RunOptions

    if verbose and quiet:
        raise UsageError("-q and -v contradict each other: give one of them")
    config = _load(config_path)
    options = RunOptions(
        suite=suite,
        modules=list(module or []),
        keyword=keyword,
        pytest_args=(["-m", marker] if marker is not None else []) + list(ctx.args),
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
    ci = prepare_run(config, options, diff_base=diff_base, shard=shard, out=out)  # --diff-base, --shard
    record = _execute(config, options, replay)
    formats = [f for f, on in (("html", html), ("json", json_out), ("markdown", markdown), ("junit", junit)) if on]
    verbosity = 1 if verbose else -1 if quiet else 0
    _render(config, record, formats, durations, verbosity, show_missing, skip_covered)
    finish_run(_console(), config, record, ci)  # --shard: the bundle
    if bisect and record.exit_code != exitcodes.INTERRUPTED:
        from mcptest.cli_flaky import bisect_after_run

        bisect_after_run(config, record)
    raise typer.Exit(record.exit_code)


def _execute(config: Config, options: RunOptions, replay: str | None) -> RunRecord:
    """The pipeline (in the order of a stored run with ``--replay``), with its progress shown on stderr and
    SIGTERM acting as Ctrl-C does."""
    from mcptest.pipeline import execute

    if replay is not None:
        from mcptest.cli_flaky import apply_replay

        apply_replay(config, options, replay)
    progress = _Progress(lambda: _console(stderr=True))
    _install_sigterm()
    try:
        hook = _preflight_hook()
        return execute(config, options, on_event=progress.handle, preflight=hook, background=_import_report)
    finally:
        progress.close()


def _render(
    config: Config,
    record: RunRecord,
    formats: list[str],
    slowest: int,
    verbosity: int,
    show_missing: bool,
    skip_covered: bool,
) -> None:
    """The render stage: the terminal report, the line of an interrupted run, the report files asked for."""
    from mcptest import console_report  # imported while the tests ran (_import_report)
    from mcptest.cli_report import write_reports

    out = _console()
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


def _SuiteTime() -> Any:
    """The time column: elapsed while the suite runs, then the suite's duration as the final tables show it."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class SuiteTime(ProgressColumn):
        def render(self, task: Any) -> Text:
            took = task.fields.get("took")
            seconds = took if took is not None else (task.finished_time or task.elapsed or 0.0)
            return Text(f"{seconds:.1f}s", style="progress.elapsed")

    return SuiteTime()


class _Progress:
    """Live progress on stderr: tests done of total and failures so far, per suite."""

    def __init__(self, console: Callable[[], Console]) -> None:
        # made at the first event (rich's import is not needed before the test process has started)
        self._make_console = console
        self.tasks: dict[str, Any] = {}
        self.started = False

    def _setup(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from mcptest.console_report import markup

        self.markup = markup  # suite names, paths, node ids and problems are foreign text: never markup
        self.console = self._make_console()
        self.live = self.console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            _SuiteTime(),
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
            self.tasks[suite] = self.progress.add_task(clean(suite), total=None, failed="", took=None)
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
            # the suite's own time, as the tables show it, replaces the elapsed time of the live line
            self.progress.update(self.tasks[suite], took=result.duration)
            if not self.live:
                from mcptest.console_report import counts_text

                c = result.counts
                self.console.print(
                    self.markup("mcptest: {}: ", suite)
                    + f"{c.total} tests in {result.duration:.1f}s ({counts_text(c)})"
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
