"""``mcptest mutate``: mutation testing in a temporary copy of the project (``mcptest.mutate``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from mcptest import exitcodes
from mcptest.cli_common import console, load
from mcptest.cli_options import ConfigOpt

if TYPE_CHECKING:
    from mcptest.mutate import MutationResult


ModuleOpt = Annotated[
    list[str] | None,
    typer.Option("--module", "-M", metavar="NAME", help="Mutate only this module's files (repeatable)."),
]
MaxOpt = Annotated[
    int | None, typer.Option("--max", metavar="N", help="Run at most N mutants, sampled evenly by --seed.", min=1)
]
SuiteOpt = Annotated[str, typer.Option("--suite", metavar="SUITE", help="The suite whose tests must kill the mutants.")]
SeedOpt = Annotated[int, typer.Option("--seed", metavar="N", help="Seed of the --max sampling.")]
WorkersOpt = Annotated[
    int | None,
    typer.Option("--workers", "-n", metavar="N", help="Parallel mutant runs (default: CPUs, at most 4).", min=1),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
LoggingOpt = Annotated[
    bool, typer.Option("--logging", help="Also mutate logging calls (skipped by default); scored apart.")
]
MinScoreOpt = Annotated[
    float | None,
    typer.Option(
        "--min-score",
        metavar="PERCENT",
        help="Exit 2 when the score (percent) is below this (default: mutation.min_score).",
    ),
]


def mutate(
    module: ModuleOpt = None,
    max_mutants: MaxOpt = None,
    suite: SuiteOpt = "unit",
    seed: SeedOpt = 0,
    workers: WorkersOpt = None,
    as_json: JsonOpt = False,
    logging: LoggingOpt = False,
    min_score: MinScoreOpt = None,
    config_path: ConfigOpt = None,
) -> None:
    """Prove the suite catches regressions: mutate covered source lines, run the tests that cover each.

    Mutations (comparison flips, negated conditions, changed constants, removed calls, swapped return
    values) are applied in a temporary copy of the project, never in your files. A mutant that no
    test fails 'survived' and is shown as a diff. Changes inside logging calls (log.info(...) removed,
    its arguments changed) are skipped unless --logging, and then scored apart. Rerun plugins
    (pytest-rerunfailures, flaky, ...) are switched off in mutant runs; the suite's per-test timeout
    applies and a mutant's run never exceeds the suite's budget.

    Example: mcptest mutate --module routing
    """
    import json

    from mcptest.mutate import run_mutations

    config = load(config_path)
    progress = _Progress()
    result = run_mutations(
        config,
        suite=suite,
        modules=list(module or []),
        max_mutants=max_mutants,
        seed=seed,
        workers=workers,
        logging=logging,
        on_event=None if as_json else progress,
    )
    required = min_score if min_score is not None else config.mutation_min_score
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_result(result)
    if required is not None and (result.score_percent is None or result.score_percent < required):
        typer.echo(f"mcptest: mutation score below the required {required:g}%", err=True)
        raise typer.Exit(exitcodes.THRESHOLD_MISSED)


class _Progress:
    """The plan and every tenth mutant done, on stderr."""

    def __init__(self) -> None:
        self.err = console(stderr=True)

    def __call__(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "planned":
            self.err.print(
                f"mcptest mutate: {data['selected']} mutant(s) of {data['candidates']} in {data['files']} file(s)"
            )
        elif kind == "mutant-end" and (data["done"] % 10 == 0 or data["done"] == data["total"]):
            self.err.print(f"mcptest mutate: {data['done']}/{data['total']} done")


def _print_result(result: MutationResult) -> None:
    """Each survivor with its diff, the warnings, then the score."""
    from mcptest.console_report import markup, plain

    out = console()
    for mutant in result.survivors:
        out.print(
            markup(
                "[yellow]survived[/yellow] {}:{} {}: {}", mutant.file, mutant.line, mutant.operator, mutant.description
            ),
            soft_wrap=True,
        )
        out.print(plain(mutant.diff.rstrip(), multiline=True), soft_wrap=True, highlight=False)
    for warning in result.warnings:
        out.print(markup("[yellow]warning: {}[/yellow]", warning), soft_wrap=True)
    if result.logging:
        pct = result.logging_score_percent
        out.print(f"Logging calls, scored apart: {'n/a' if pct is None else f'{pct:.1f}%'} "
                  f"({len(result.logging_survivors)} survived)")
    elif result.logging_skipped:
        out.print(f"{result.logging_skipped} mutant(s) of logging calls skipped (--logging runs them)")
    score = "n/a" if result.score_percent is None else f"{result.score_percent:.1f}%"
    out.print(
        f"Mutation score {score}: {result.killed} killed, {result.survived} survived, "
        f"{result.timeouts} timed out, {result.errors} errors, in {result.duration:.1f}s"
    )
