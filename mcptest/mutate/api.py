"""``run_mutations``: copy, baseline, generate, sample, run; the user's files are only ever read."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from mcptest.config_model import Config
from mcptest.errors import NoDataError, UsageError
from mcptest.globs import glob_match
from mcptest.mutate import reruns
from mcptest.mutate.baseline import Baseline, EventHandler, run_baseline
from mcptest.mutate.generate import generate_mutants, sample
from mcptest.mutate.model import Mutant, MutationResult
from mcptest.mutate.runs import Slot, run_mutants
from mcptest.mutate.server import Server
from mcptest.mutate.workspace import copy_project, decode, write_import_paths
from mcptest.plan import RunOptions, plan

_TIMEOUT_FACTOR = 10.0
_TIMEOUT_BASE = 5.0


def _selected_files(config: Config, modules: Sequence[str], executed: dict[str, set[int]]) -> list[str]:
    if not modules:
        return sorted(executed)
    globs = [g for name in modules for g in config.modules[name].files]
    return sorted(p for p in executed if any(glob_match(g, p) for g in globs))


def default_workers() -> int:
    """One test process per CPU, at most 4: mutant runs are short and mostly CPU-bound."""
    return max(1, min(4, os.cpu_count() or 1))


def _capped(config: Config, baseline: Baseline, mutant: Mutant, seconds: float) -> float:
    """A mutant's time, at most the budgets of the suites whose tests it runs (when each has one)."""
    budgets = [config.suites[name].budget for name in {baseline.suite_of[t] for t in mutant.tests}]
    if budgets and all(b is not None for b in budgets):
        return min(seconds, sum(b for b in budgets if b is not None))
    return seconds


def _no_reruns(tmp: Path, result: MutationResult) -> list[str]:
    """The pytest arguments that switch the installed rerun plugins off in mutant runs (see reruns.py)."""
    plugins = reruns.installed()
    if plugins:
        reruns.write_stand_in(tmp / "plugins", plugins)
        result.reruns_disabled = sorted(plugins)
    return reruns.pytest_args(plugins)


def _mutants(result: MutationResult, root: Path, baseline: Baseline) -> list[Mutant]:
    """The mutants of every selected file's covered lines, numbered, each with the tests to run; those
    inside logging calls only when ``result.logging`` asks for them."""
    everything = list(baseline.tests)
    all_mutants: list[Mutant] = []
    for rel in result.files:
        text = decode((root / rel).read_bytes())
        try:
            found, dropped = generate_mutants(text, rel, baseline.executed[rel])
        except SyntaxError as exc:
            result.warnings.append(f"{rel} was not mutated: {exc}")
            continue
        result.skipped += dropped
        covering = baseline.covering.get(rel, {})
        for mutant in found:
            names = covering.get(mutant.statement_line, [])
            if names:
                mutant.tests = list(names)
            else:  # run only while importing: any test of the selection may notice
                mutant.import_time, mutant.tests = True, list(everything)
            if not mutant.tests:
                mutant.status = "no-tests"
        all_mutants += found
    if not result.logging:
        result.logging_skipped = sum(1 for m in all_mutants if m.logging)
        all_mutants = [m for m in all_mutants if not m.logging]
    for number, mutant in enumerate(all_mutants, 1):
        mutant.id = f"m{number}"
    return all_mutants


def _open_slots(slots: list[Slot], first: Path, tmp: Path, count: int, preload: list[str] | None,
                result: MutationResult) -> None:
    """Fill ``slots`` with ``count`` copies of the project (the first is ``first``), each with a warm
    server unless ``preload`` is None. Filled in place, so that the caller closes what was opened."""
    (tmp / "logs").mkdir()
    slots.append(Slot(root=first, log=tmp / "logs" / "slot-0.log"))
    for n in range(1, count):
        extra = tmp / f"copy-{n}"
        shutil.copytree(first, extra, symlinks=True)
        slots.append(Slot(root=extra, log=tmp / "logs" / f"slot-{n}.log"))
    if preload is None:
        return
    preload_file = tmp / "preload.json"
    preload_file.write_text(json.dumps(preload), encoding="utf-8")
    for n, slot in enumerate(slots):
        slot.server = Server(slot.root, preload_file, tmp / "logs" / f"server-{n}.log")
    deadline = time.monotonic() + 60
    for slot in slots:
        if slot.server is not None and not slot.server.wait_ready(deadline):
            result.warnings.append("the warm test server did not start; mutants ran in fresh processes")
            slot.server.close()
            slot.server = None


def run_mutations(config: Config, *, suite: str = "unit", modules: Sequence[str] = (),
                  max_mutants: int | None = None, seed: int = 0, workers: int | None = None,
                  timeout_factor: float = _TIMEOUT_FACTOR, timeout_base: float = _TIMEOUT_BASE,
                  warm: bool = True, logging: bool = False, on_event: EventHandler | None = None) -> MutationResult:
    """Mutate the covered lines of the selected modules and run each mutant against its covering tests.

    Changes inside logging calls (``log.info(...)`` removed, its arguments changed) are skipped, or with
    ``logging`` run and scored apart. Rerun plugins are switched off in mutant runs; each mutant's time
    is at most its suites' budgets, and each test gets the suite's timeout.

    Works on a temporary copy of the project; the project itself is only read. Raises UsageError for an
    unknown suite or module, BaselineFailed when the suite fails on the unmodified code, NoDataError
    when nothing was measured. ``KeyboardInterrupt`` propagates after the copy is removed.
    """
    emit: EventHandler = on_event or (lambda kind, data: None)
    if max_mutants is not None and max_mutants < 0:
        raise UsageError(f"--max must be 0 or more, not {max_mutants}")
    workers = workers or default_workers()
    if workers < 1:
        raise UsageError(f"workers must be 1 or more, not {workers}")
    planned = plan(config, RunOptions(suite=suite, modules=list(modules)))
    result = MutationResult(suite=suite, modules=list(modules), seed=seed, max_mutants=max_mutants,
                            workers=workers, logging=logging)
    for s, _ in planned:
        if s.requires:
            result.warnings.append(f"suite {s.name} requires bridges ({', '.join(s.requires)}); "
                                   "mutation runs do no preflight")
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="mcptest-mutate-"))
    slots: list[Slot] = []
    try:
        first = copy_project(config, tmp / "copy-0")
        write_import_paths(config, tmp)
        copy_config = replace(config, root=first, path=first / config.path.name)
        emit("copied", {"root": str(first)})
        baseline = run_baseline(config, copy_config, planned, tmp, emit)
        result.baseline_tests = len(baseline.tests)
        result.baseline_duration = baseline.duration
        result.files = _selected_files(config, modules, baseline.executed)
        if not result.files:
            raise NoDataError(f"no measured source file belongs to module(s) {', '.join(modules)}")
        all_mutants = _mutants(result, first, baseline)
        result.candidates = len(all_mutants)
        chosen = sample(all_mutants, max_mutants, seed)
        for mutant in chosen:
            seconds = timeout_factor * sum(baseline.tests[t] for t in mutant.tests) + timeout_base
            mutant.timeout = _capped(config, baseline, mutant, seconds + baseline.overhead)
        emit("planned", {"candidates": result.candidates, "selected": len(chosen), "files": list(result.files)})
        extra = _no_reruns(tmp, result)  # written before the servers start: they import it from their path
        preload = baseline.preload if warm and hasattr(os, "fork") and chosen else None
        _open_slots(slots, first, tmp, max(1, min(workers, len(chosen))), preload, result)
        result.mutants = chosen
        run_mutants(config, slots, chosen, baseline.suite_of, emit, extra)
    finally:
        for slot in slots:
            slot.close()
        shutil.rmtree(tmp, ignore_errors=True)
        result.duration = time.monotonic() - started
    return result
