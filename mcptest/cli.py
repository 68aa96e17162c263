"""The mcptest command line: the only module that knows typer and rich; the core returns data.

Heavy modules (coverage, requests, jinja2, the runner) are imported inside the commands, so that
``mcptest --help`` starts fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from mcptest import __version__, exitcodes
from mcptest.errors import McptestError, RefusedError, UsageError
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
baseline_app = typer.Typer(
    name="baseline", help="Save or show the baseline that deltas are computed against.", no_args_is_help=True
)
config_app = typer.Typer(name="config", help="Check and show the resolved configuration.", no_args_is_help=True)
app.add_typer(baseline_app)
app.add_typer(config_app)


def _mount() -> None:
    from mcptest.cli_bridges import app as bridges_app
    from mcptest.cli_sim import app as sim_app

    app.add_typer(bridges_app)
    app.add_typer(sim_app)


_mount()

_state: dict[str, Any] = {"debug": False}

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Path to mcptest.yaml (default: found in the current folder or a parent).",
        dir_okay=False,
    ),
]


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    # Foreign text goes through console_report.plain / markup; emoji=False keeps ":name:" in it as written.
    return Console(stderr=stderr, highlight=False, emoji=False, width=width)


def _load(config_path: Path | None) -> Config:
    from mcptest.config import load_config

    return load_config(config_path)


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

      mcptest run unit --repeat 3 --random-order

      mcptest run unit -- -x --maxfail=3

    The first test interpreter is started while this command line is parsed and used only when it is
    equivalent to a fresh `python -m pytest`; MCPTEST_PRESTART=0 turns that off.
    """
    from mcptest.runner import RunOptions, execute

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


def _warn(warnings: list[str]) -> None:
    """The history's warnings (unreadable records: paths and parser messages are foreign text) on stderr."""
    if not warnings:
        return
    from mcptest.console_report import markup

    err = _console(stderr=True)
    for warning in warnings:
        err.print(markup("mcptest: warning: {}", warning), soft_wrap=True)


# --- baseline -------------------------------------------------------------------------------------


@baseline_app.command("save")
def baseline_save(
    force: Annotated[bool, typer.Option("--force", help="Save even a failed, partial or incomplete run.")] = False,
    run_id: Annotated[str | None, typer.Option("--run", help="Run id to save (default: latest.json).")] = None,
    config_path: ConfigOpt = None,
) -> None:
    """Make the latest run (or --run ID) the baseline that deltas are computed against.

    Refuses a failed, partial (--module, -k) or incomplete run unless --force (exit 7, refused).

    Example: mcptest baseline save
    """
    from mcptest.history import History

    config = _load(config_path)
    history = History(config.report_dir)
    record = history.get(run_id) if run_id else history.latest()
    _warn(history.warnings)
    if record is None:
        what = f"run {run_id}" if run_id else "latest run"
        raise UsageError(f"no readable {what} in {config.report_dir}; run 'mcptest run SUITE' first")
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
    if problems and not force:
        raise RefusedError(
            f"refusing to save run {record.id} as the baseline: {', '.join(problems)}; use --force to save it anyway"
        )
    path = history.save_baseline(record)
    typer.echo(clean(f"Saved run {record.id} as the baseline: {path}"))


@baseline_app.command("show")
def baseline_show(config_path: ConfigOpt = None) -> None:
    """Show which run is the baseline and its overall numbers.

    Example: mcptest baseline show
    """
    from mcptest.gate import pct
    from mcptest.history import History

    config = _load(config_path)
    history = History(config.report_dir)
    record = history.baseline()
    _warn(history.warnings)
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


# --- config and init ------------------------------------------------------------------------------


@config_app.command("check")
def config_check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the resolved config as JSON.")] = False,
    config_path: ConfigOpt = None,
) -> None:
    """Validate mcptest.yaml and print the resolved configuration (environment variables expanded).

    Example: mcptest config check -c path/to/mcptest.yaml
    """
    import json

    import yaml

    from mcptest.config import VIA, as_written, config_to_dict
    from mcptest.history import History, ReportDirError

    config = _load(config_path)
    # the report folder as a run would find it: a file in its place stops a run, a FIFO baseline is ignored
    problems, notes = History(config.report_dir).check()
    for note in notes:
        typer.echo(clean(f"mcptest: warning: {note}"), err=True)
    if problems:
        raise ReportDirError("; ".join(problems))
    resolved = config_to_dict(config)
    data = as_written(resolved)
    if as_json:  # with what each source entry resolved to (the comment lines of the YAML form)
        typer.echo(json.dumps({**data, "sources": resolved["sources"]}, indent=2))
    else:
        typer.echo(clean(f"# {config.path}: valid"))
        for entry in config.sources:  # what each source entry resolved to, as coverage.py's --source takes it
            via = f", {VIA[entry.via]}" if entry.via in VIA else ""
            target = f" -> {entry.path}" if entry.path != entry.name else ""
            typer.echo(clean(f"# source {entry.name}{target} ({entry.kind}{via})"))
        typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())


@app.command()
def init(
    directory: Annotated[
        Path, typer.Argument(help="Project folder (default: the current folder).", file_okay=False)
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing mcptest.yaml.")] = False,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            help="Per-test timeout to write (30s, 2m). Default: the project's own pytest timeout, else none.",
        ),
    ] = None,
    measure: Annotated[
        bool,
        typer.Option(
            "--measure",
            help="Run the suite once under coverage and write a budget of 3x its time, rounded up to a minute.",
        ),
    ] = False,
) -> None:
    """Write a commented starter mcptest.yaml for the project found in DIRECTORY.

    It guesses the source packages (src/PKG in a src layout) and the test folders, and keeps the project's own
    pytest timeout. A budget is written only with --measure, from a real run of the suite; check the file with
    'mcptest config check'.

    Example: mcptest init --measure
    """
    from mcptest.config import parse_duration
    from mcptest.errors import NoDataError
    from mcptest.history import atomic_write_text
    from mcptest.starter import PYTEST_EXITS, duration, measure_suite, plan, render, use_measurement

    target = directory / "mcptest.yaml"
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder")
    if target.exists() and not force:
        raise UsageError(f"{target} already exists; use --force to overwrite it")
    seconds = None
    if timeout is not None:
        seconds = parse_duration(timeout)
        if seconds is None:
            raise UsageError(f"--timeout {timeout!r} is not a duration such as 30s, 2m or a number of seconds")
    starter = plan(directory, timeout=seconds)
    if measure:
        typer.echo(clean(f"mcptest: measuring: running {', '.join(starter.tests)} once under coverage ..."), err=True)
        result = measure_suite(starter)
        if not result.usable:
            why = PYTEST_EXITS.get(result.pytest_exit, "the test process was killed")
            for line in result.output_tail:
                typer.echo(clean(f"  {line}"), err=True)
            message = (
                f"the measuring run ended with pytest exit {result.pytest_exit} ({why}) after {result.seconds:.1f} s, "
                f"so no budget can be measured; nothing written (without --measure, init writes no budget)"
            )
            if result.pytest_exit == 5:
                raise NoDataError(message)
            if result.pytest_exit == 4:
                raise UsageError(message)
            typer.echo(clean(f"mcptest: error: {message}"), err=True)
            raise typer.Exit(exitcodes.TESTS_FAILED)
        use_measurement(starter, result)
    atomic_write_text(target, render(starter))
    facts = [f"source [{', '.join(starter.sources) or 'CHANGE_ME'}]", f"tests [{', '.join(starter.tests)}]"]
    if starter.timeout is not None:
        facts.append(f"timeout {duration(starter.timeout)}")
    if starter.budget is not None:
        facts.append(f"budget {duration(starter.budget)}")
    typer.echo(clean(f"Wrote {target} ({'; '.join(facts)}); check it with: mcptest config check -c {target}"))


# --- audit --------------------------------------------------------------------------------------


@app.command()
def audit(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 1 (tests-failed) when there is any finding, for use as a CI step.")
    ] = False,
    config_path: ConfigOpt = None,
) -> None:
    """Read the suites' source and list tests that cannot fail or are not run.

    Rules: tests with no assertion, assertions that cannot fail, empty tests, placeholder fixtures,
    test files no suite collects, sleeps in unit suites, unconditional skips, names that break the
    test_<feature>_<scenario>_<expected> convention. Silence a rule on a line with a comment
    '# mcptest: ignore[RULE]'.

    Example: mcptest audit --gate
    """
    import json

    from mcptest.console_report import markup
    from mcptest.runner import run_audit

    config = _load(config_path)
    gate = gate or config.audit_gate
    result = run_audit(config)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        out = _console()
        for finding in result.findings:
            out.print(
                markup("{}:{}: [bold]{}[/bold] {}", finding.file, finding.line, finding.rule, finding.reason),
                soft_wrap=True,
            )
        counts = ", ".join(f"{rule} {n}" for rule, n in result.counts.items() if n)
        out.print(
            f"{len(result.findings)} finding(s) in {result.files_scanned} file(s)"
            + (f" ({counts})" if counts else "")
            + (f"; {result.suppressed} silenced" if result.suppressed else "")
        )
    raise typer.Exit(exitcodes.TESTS_FAILED if gate and not result.ok else exitcodes.OK)


# --- mutate -------------------------------------------------------------------------------------


@app.command()
def mutate(
    module: Annotated[
        list[str] | None, typer.Option("--module", "-m", help="Mutate only this module's files (repeatable).")
    ] = None,
    max_mutants: Annotated[
        int | None, typer.Option("--max", help="Run at most N mutants, sampled evenly by --seed.", min=1)
    ] = None,
    suite: Annotated[str, typer.Option("--suite", help="The suite whose tests must kill the mutants.")] = "unit",
    seed: Annotated[int, typer.Option("--seed", help="Seed of the --max sampling.")] = 0,
    workers: Annotated[
        int | None, typer.Option("--workers", "-n", help="Parallel mutant runs (default: CPUs, at most 4).", min=1)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    min_score: Annotated[
        float | None,
        typer.Option(
            "--min-score", help="Exit 2 when the score (percent) is below this (default: mutation.min_score)."
        ),
    ] = None,
    config_path: ConfigOpt = None,
) -> None:
    """Prove the suite catches regressions: mutate covered source lines, run the tests that cover each.

    Mutations (comparison flips, negated conditions, changed constants, removed calls, swapped return
    values) are applied in a temporary copy of the project, never in your files. A mutant that no
    test fails 'survived' and is shown as a diff.

    Example: mcptest mutate --module routing
    """
    import json

    from mcptest.console_report import markup, plain
    from mcptest.mutate import run_mutations

    config = _load(config_path)
    err = _console(stderr=True)

    def progress(kind: str, data: dict[str, Any]) -> None:
        if kind == "planned":
            err.print(
                f"mcptest mutate: {data['selected']} mutant(s) of {data['candidates']} in {data['files']} file(s)"
            )
        elif kind == "mutant-end" and (data["done"] % 10 == 0 or data["done"] == data["total"]):
            err.print(f"mcptest mutate: {data['done']}/{data['total']} done")

    result = run_mutations(
        config,
        suite=suite,
        modules=list(module or []),
        max_mutants=max_mutants,
        seed=seed,
        workers=workers,
        on_event=None if as_json else progress,
    )
    required = min_score if min_score is not None else config.mutation_min_score
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        out = _console()
        for mutant in result.survivors:
            out.print(
                markup(
                    "[yellow]survived[/yellow] {}:{} {}: {}",
                    mutant.file,
                    mutant.line,
                    mutant.operator,
                    mutant.description,
                ),
                soft_wrap=True,
            )
            out.print(plain(mutant.diff.rstrip(), multiline=True), soft_wrap=True, highlight=False)
        for warning in result.warnings:
            out.print(markup("[yellow]warning: {}[/yellow]", warning), soft_wrap=True)
        score = "n/a" if result.score_percent is None else f"{result.score_percent:.1f}%"
        out.print(
            f"Mutation score {score}: {result.killed} killed, {result.survived} survived, "
            f"{result.timeouts} timed out, {result.errors} errors, in {result.duration:.1f}s"
        )
    if required is not None and (result.score_percent is None or result.score_percent < required):
        typer.echo(f"mcptest: mutation score below the required {required:g}%", err=True)
        raise typer.Exit(exitcodes.THRESHOLD_MISSED)


# --- reports --------------------------------------------------------------------------------------


def _write_reports(
    out: Console,
    config: Config,
    record: RunRecord,
    formats: list[str],
    output: Path | None,
    outputs: dict[str, Path | str] | None = None,
) -> list[Path]:
    from mcptest import report as report_pkg
    from mcptest.console_report import markup
    from mcptest.history import History

    history = History(config.report_dir)
    target = output or config.report_dir / "report"
    templates = (config.root / config.report.templates) if config.report.templates else None
    trend = history.trend() if "html" in formats else []  # the trend index, never the records themselves
    _warn(history.warnings)
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


@app.command()
def report(
    html: Annotated[
        bool, typer.Option("--html", help="Write the HTML report (the default when no format is given).")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Write the JSON record.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="Write the Markdown summary (for PR comments).")] = False,
    junit: Annotated[bool, typer.Option("--junit", help="Write JUnit XML (xunit2) for Jenkins and GitLab.")] = False,
    run_id: Annotated[str | None, typer.Option("--run", help="Render this run id (default: latest.json).")] = None,
    against: Annotated[
        str,
        typer.Option("--against", help="Deltas against 'baseline', 'previous' (the run before it) or a record FILE."),
    ] = "baseline",
    open_browser: Annotated[bool, typer.Option("--open", help="Open the HTML report in a browser.")] = False,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output", "-o", help="Output folder (default: <report dir>/report); '-' prints a single text format."
        ),
    ] = None,
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

    config = _load(config_path)
    history = History(config.report_dir)
    record = history.get(run_id) if run_id else history.latest()
    if record is None:
        _warn(history.warnings)
        what = f"run {run_id}" if run_id else "latest run"
        raise UsageError(f"no readable {what} in {config.report_dir}; run 'mcptest run SUITE' first")
    if against == "baseline":
        base = history.baseline()
    elif against == "previous":
        base = history.previous(record)
    else:
        path = Path(against)
        if not path.is_file():
            raise UsageError(f"--against: {against!r} is not 'baseline', 'previous' or an existing record file")
        loaded = history.read(path, "record")
        if loaded.record is None:
            raise UsageError(loaded.warning or f"--against: {against} is not a run record")
        base = loaded.record
    _warn(history.warnings)
    err = _console(stderr=True)
    if record.coverage is not None:
        covdata.apply_deltas(record.coverage, base.coverage if base else None, base.id if base else None)
    formats = [f for f, on in (("html", html), ("json", json_out), ("markdown", markdown), ("junit", junit)) if on]
    formats = formats or ["html"]
    outputs: dict[str, Path | str] | None = None
    if output is not None and str(output) == "-":
        if len(formats) != 1 or formats[0] == "html":
            raise UsageError("-o - prints one text format: use it with exactly one of --json, --markdown, --junit")
        outputs = {formats[0]: "-"}
        output = None
    paths = _write_reports(err if outputs else _console(), config, record, formats, output, outputs)
    if open_browser:
        import webbrowser

        index = next((p for p in paths if p.name == "index.html"), None)
        if index is not None:
            webbrowser.open(index.resolve().as_uri())


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
