"""``mcptest init``: write a commented starter mcptest.yaml for the project found (``mcptest.starter``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mcptest import exitcodes
from mcptest.errors import UsageError
from mcptest.textsafe import clean

if TYPE_CHECKING:
    from mcptest.starter import Starter


def init(
    directory: Annotated[
        Path, typer.Argument(help="Project folder (default: the current folder).", file_okay=False, metavar="DIR")
    ] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing mcptest.yaml.")] = False,
    timeout: Annotated[
        str | None,
        typer.Option(
            "--timeout",
            metavar="DURATION",
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
    check: Annotated[
        bool, typer.Option("--check", help="Compare mcptest.yaml with what init would write (exit 1: they differ).")
    ] = False,
) -> None:
    """Write a commented starter mcptest.yaml for the project found in DIRECTORY.

    It reads coverage.py's own source and pytest's own testpaths when the project sets them, else finds the
    packages (src/PKG in a src layout) and the modules and packages next to the tests (a flat layout), and one
    suite per tests/unit, tests/integration and tests/e2e folder; it keeps the project's own pytest timeout. A
    budget is written only with --measure, from a real run of the suite; check the file with 'mcptest config
    check'. A folder with no Python package or module is exit 5. --check writes nothing: it lists how the
    existing mcptest.yaml differs from what init would write (exit 0: no difference, 1: some).

    Examples:

      mcptest init --measure

      mcptest init --check
    """
    from mcptest.history import atomic_write_text
    from mcptest.starter import duration, plan, render

    target = directory / "mcptest.yaml"
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a folder")
    if target.exists() and not force and not check:
        raise UsageError(f"{target} already exists; use --force to overwrite it")
    starter = plan(directory, timeout=_seconds(timeout), require_source=True)
    if check:
        _check(target, directory, starter)
    if measure:
        _measure(starter)
    atomic_write_text(target, render(starter))
    facts = [f"source [{', '.join(starter.sources) or 'CHANGE_ME'}]", f"tests [{', '.join(starter.tests)}]"]
    if starter.timeout is not None:
        facts.append(f"timeout {duration(starter.timeout)}")
    if starter.budget is not None:
        facts.append(f"budget {duration(starter.budget)}")
    typer.echo(clean(f"Wrote {target} ({'; '.join(facts)}); check it with: mcptest config check -c {target}"))


def _check(target: Path, directory: Path, starter: Starter) -> None:
    """``init --check``: print how ``target`` differs from ``starter`` and end with 0 (none) or 1."""
    from mcptest.init_check import compare

    if not target.is_file():
        raise UsageError(f"{target} does not exist: 'mcptest init {directory}' writes one")
    comparison = compare(target, starter)
    for line in comparison.lines():
        typer.echo(clean(line))
    raise typer.Exit(exitcodes.TESTS_FAILED if comparison.differences else exitcodes.OK)


def _seconds(timeout: str | None) -> float | None:
    from mcptest.config import parse_duration

    if timeout is None:
        return None
    seconds = parse_duration(timeout)
    if seconds is None:
        raise UsageError(f"--timeout {timeout!r} is not a duration such as 30s, 2m or a number of seconds")
    return seconds


def _measure(starter: Starter) -> None:
    """Run the suite once under coverage and give ``starter`` its budget; a run that cannot be measured ends
    the command with pytest's reason, and nothing is written."""
    from mcptest.errors import NoDataError
    from mcptest.starter import PYTEST_EXITS, measure_suite, use_measurement

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
