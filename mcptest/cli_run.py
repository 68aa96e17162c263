"""``mcptest run``: the command line around the pipeline (``pipeline.execute``), with its live progress on stderr
(``cli_progress``), the render stage (``cli_render``: the terminal report, the report files asked for) and the
exit stage (the record's code).

``run`` is mounted by ``cli.py`` (first, so that it leads the commands in ``mcptest --help``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcptest import exitcodes
from mcptest.cli_ci import DiffBaseOpt, OutOpt, ShardOpt, finish_run, prepare_run
from mcptest.cli_common import console as _console
from mcptest.cli_common import load as _load
from mcptest.cli_options import ConfigOpt, HtmlOpt, JsonOpt, JunitOpt, QuietOpt, chosen_formats
from mcptest.cli_progress import Progress
from mcptest.cli_render import render, verbosity_of

if TYPE_CHECKING:
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
MarkdownOpt = Annotated[bool, typer.Option("--markdown", help="Also write the Markdown summary.")]
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
    from mcptest.plan import RunOptions

    verbosity = verbosity_of(verbose, quiet)
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
    formats = chosen_formats(html, json_out, markdown, junit)
    render(config, record, formats, durations, verbosity, show_missing, skip_covered)
    finish_run(_console(), config, record, ci)  # --shard: the bundle
    if bisect:
        _bisect(config, record)
    raise typer.Exit(record.exit_code)


def _execute(config: Config, options: RunOptions, replay: str | None) -> RunRecord:
    """The pipeline (in the order of a stored run with ``--replay``), with its progress shown on stderr and
    SIGTERM acting as Ctrl-C does."""
    from mcptest.pipeline import execute

    if replay is not None:
        from mcptest.cli_flaky import apply_replay

        apply_replay(config, options, replay)
    progress = Progress(lambda: _console(stderr=True))
    _install_sigterm()
    try:
        hook = _preflight_hook()
        return execute(config, options, on_event=progress.handle, preflight=hook, background=_import_report)
    finally:
        progress.close()


def _bisect(config: Config, record: RunRecord) -> None:
    """``--bisect``: the cause of the first failed or flaky test, unless the run was interrupted."""
    if record.exit_code == exitcodes.INTERRUPTED:
        return
    from mcptest.cli_flaky import bisect_after_run

    bisect_after_run(config, record)


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
