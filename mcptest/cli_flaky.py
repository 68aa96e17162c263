"""``mcptest flaky``: the tests a run found failing or flaky, and the cause of an order-dependent failure
(``--bisect NODEID``); ``mcptest run --bisect`` bisects the first victim after the run, and ``mcptest run
--replay RUN_ID:N`` runs a suite in the exact order of run N of a stored run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from mcptest import exitcodes
from mcptest.cli_common import ConfigOpt, load, warn
from mcptest.errors import UsageError
from mcptest.textsafe import clean

if TYPE_CHECKING:
    from mcptest.bisect import Step
    from mcptest.config_model import Config
    from mcptest.model import Bisection, RunRecord
    from mcptest.plan import RunOptions

#: Exit code of ``mcptest flaky --bisect`` per verdict: 0 when a cause is named.
VERDICT_EXIT = {
    "fails-after": exitcodes.OK,
    "depends-on": exitcodes.OK,
    "fails-alone": exitcodes.TESTS_FAILED,
    "not-reproduced": exitcodes.TESTS_FAILED,
    "error": exitcodes.TESTS_FAILED,
}


def _record(config: Config, run_id: str | None) -> RunRecord:
    from mcptest.history import History

    history = History(config.report_dir)
    if run_id in (None, "latest"):
        record = history.latest()
        where = "no run is recorded yet (mcptest run SUITE --repeat 3 --random-order finds flaky tests)"
    else:
        record = history.get(run_id)
        where = f"run {run_id} is not in {history.runs_dir}"
    warn(history.warnings)
    if record is None:
        raise UsageError(where)
    return record


def _where(run: int, position: int, worker: str | None) -> str:
    return f"run {run} #{position + 1}" + (f" on {worker}" if worker else "")


def flaky(
    bisect_id: Annotated[
        str | None,
        typer.Option(
            "--bisect",
            metavar="NODEID",
            help="Find the tests that make this test fail when run before it (or that it needs before it).",
        ),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run", metavar="ID", help="The stored run to read (default: the latest).")
    ] = None,
    attempt: Annotated[
        int | None,
        typer.Option(
            "--attempt",
            metavar="N",
            min=1,
            help="Which run of a --repeat to bisect (default: the first where the test failed).",
        ),
    ] = None,
    max_steps: Annotated[
        int, typer.Option("--max-steps", metavar="N", min=3, help="At most this many pytest runs.")
    ] = 30,
    config_path: ConfigOpt = None,
) -> None:
    """List the failed and flaky tests of a run, or bisect the cause of one (--bisect NODEID).

    A bisection runs pytest on the suite again and again, each time with some of the tests that ran before the
    test in the failing order and the test last, halving them until the smallest set that still makes it fail
    is left; a test that fails on its own is searched the other way: the tests it needs before it to pass.
    It prints "NODEID fails when run after X (N steps, S s)" or "NODEID depends on X" and stores the result in
    the run's record. Exit 0 when a cause is named, 1 when none is (the failure did not come back, or the test
    fails on its own whatever runs before it), 4 for an unknown test or run.

    Examples:

      mcptest flaky

      mcptest flaky --bisect tests/test_cache.py::test_lookup_empty

      mcptest flaky --bisect test_lookup_empty --run 20260101T120000000000Z-a1b2c3 --attempt 2
    """
    config = load(config_path)
    record = _record(config, run_id)
    if bisect_id is None:
        _list(record)
        raise typer.Exit(exitcodes.OK)
    found = bisect_and_store(config, record, bisect_id, run=attempt, max_steps=max_steps)
    raise typer.Exit(VERDICT_EXIT.get(found.verdict, exitcodes.TESTS_FAILED))


def _list(record: RunRecord) -> None:
    from mcptest.bisect import runs_of, victims

    found = victims(record)
    typer.echo(clean(f"run {record.id}: {len(found)} failed or flaky test(s)"))
    for _, test in found:
        runs = runs_of(test)
        shown = ", ".join(
            f"{outcome} ({_where(run, order.position, order.worker)})"
            for run, (order, outcome) in sorted(runs.items())
        )
        typer.echo(clean(f"  {test.outcome:<7} {test.nodeid}: {shown}"))
    for done in record.bisections:
        typer.echo(clean(f"  bisected: {done.message}"))
    if found:
        typer.echo(clean(f"bisect one with: mcptest flaky --run {record.id} --bisect {found[0][1].nodeid}"))


def _show_step(step: Step, why: str) -> None:
    typer.echo(clean(f"  step {step.number}: {len(step.tests) - 1} test(s) before it ({why}): "
                     f"{step.outcome} in {step.seconds:.1f} s"), err=True)  # fmt: skip


def bisect_and_store(
    config: Config, record: RunRecord, nodeid: str, *, run: int | None = None, max_steps: int = 30
) -> Bisection:
    """Bisect under the report folder's run lock, print the finding and store it in the record."""
    from mcptest import lock
    from mcptest.bisect import bisect, store
    from mcptest.history import History

    typer.echo(clean(f"mcptest: bisecting {nodeid} in run {record.id} (at most {max_steps} pytest runs)"), err=True)
    with lock.run_lock(config.report_dir, 0.0):
        found = bisect(config, record, nodeid, run=run, max_steps=max_steps, on_step=_show_step)
        store(History(config.report_dir), record, found)
    typer.echo(clean(found.message))
    return found


def bisect_after_run(config: Config, record: RunRecord, max_steps: int = 30) -> None:
    """``mcptest run --bisect``: bisect the first victim of the run (the first flaky test, else failed one)."""
    from mcptest.bisect import victims

    found = victims(record)
    if not found:
        typer.echo("mcptest: --bisect: no test failed or was flaky, nothing to bisect", err=True)
        return
    bisect_and_store(config, record, found[0][1].nodeid, max_steps=max_steps)


# --- replay ---------------------------------------------------------------------------------------------------

_SPEC = re.compile(r"^(?P<id>[^:]+?)(?::(?P<run>\d+))?$")


def apply_replay(config: Config, options: RunOptions, spec: str) -> Path:
    """Make ``options`` run the suite in the exact order of run N of a stored run (``RUN_ID:N``, N from 1,
    default 1; ``latest:N``): the same modules, -k and pytest arguments, no shuffle, and the order given to
    pytest through ``mcptest.ordering`` (which refuses an order that does not name every collected test).
    Returns the order file, kept in the report folder's ``replay/``."""
    from mcptest.bisect import order_of_run
    from mcptest.history import atomic_write_text

    match = _SPEC.match(spec.strip())
    if match is None:
        raise UsageError(f"--replay {spec!r} is not RUN_ID:N (a stored run and which of its --repeat runs)")
    record = _record(config, match["id"])
    run = int(match["run"] or 1)
    if options.workers:
        raise UsageError("--replay runs the tests in one process, in the recorded order: leave out -n")
    if options.random_order or options.seed is not None:
        raise UsageError("--replay runs the recorded order: leave out --random-order and --seed")
    named = [s for s in record.suites if s.name == options.suite]
    if not named:
        suites = ", ".join(s.name for s in record.suites) or "none"
        raise UsageError(f"run {record.id} did not run suite {options.suite!r} (its suites: {suites})")
    order, workers = order_of_run(named[0], run)
    if not order:
        runs = record.selection.repeat
        raise UsageError(f"run {record.id} has no run {run} of suite {options.suite} (it ran it {runs} time(s))")
    if workers != {None}:
        raise UsageError(
            f"run {run} of run {record.id} ran on {len(workers)} pytest-xdist workers, whose order cannot be "
            f"replayed in one process; mcptest flaky --bisect NODEID --run {record.id} finds a cause per worker"
        )
    path = config.report_dir / "replay" / f"{record.id}-{run}.order"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{nodeid}\n" for nodeid in order))
    selection = record.selection
    options.modules = options.modules or list(selection.modules)
    options.keyword = options.keyword or selection.keyword
    own = [a for a in selection.pytest_args if not a.startswith("--mcptest-order")]  # a replay of a replay
    options.pytest_args = [*own, *options.pytest_args, "-p", "mcptest.ordering", f"--mcptest-order={path}"]
    seed = f", seed {selection.seed + run - 1}" if selection.random_order and selection.seed is not None else ""
    typer.echo(clean(f"mcptest: replaying the order of run {run} of run {record.id} ({len(order)} tests{seed})"),
               err=True)  # fmt: skip
    return path
