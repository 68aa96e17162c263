"""The baseline: the suite run once on the unmodified copy, under coverage with per-test contexts.

It says which tests pass (only they can kill a mutant), which lines each covers, how long each takes
(for the mutants' timeouts) and which installed modules the tests import (for the warm server).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest import covdata
from mcptest.config_model import Config, SuiteConfig
from mcptest.errors import McptestError, NoDataError
from mcptest.mutate.model import BaselineFailed, BaselineOverBudget
from mcptest.mutate.workspace import env as copy_env
from mcptest.mutate.workspace import kill
from mcptest.plan import RunOptions, pytest_command

EventHandler = Callable[[str, dict[str, Any]], None]

_GRACE = 5.0  # seconds past the budget before the baseline is stopped: saving coverage takes a moment


@dataclass
class Baseline:
    tests: dict[str, float]  # passing node id -> duration
    suite_of: dict[str, str]  # node id -> suite name
    executed: dict[str, set[int]]  # file -> executed lines
    covering: dict[str, dict[int, list[str]]]  # file -> line -> passing node ids that ran it
    overhead: float  # seconds of a test process beyond its tests' own durations
    duration: float
    preload: list[str]  # installed modules the tests imported: a warm server imports them once


#: A pytest plugin for the baseline run: it lists the modules the test process imported.
_PROBE = """\
import json, os, sys

def pytest_sessionfinish(session):
    out = os.environ.get("MCPTEST_MUTATE_PROBE")
    if out:
        modules = [[n, getattr(m, "__file__", None)] for n, m in list(sys.modules.items())]
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(modules, handle)
"""


def _installed_roots() -> list[str]:
    paths = sysconfig.get_paths()
    roots = {os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return sorted(roots)


def _preloadable(probes: Sequence[Path]) -> list[str]:
    """Modules of the standard library and site-packages that the baseline imported, in import order."""
    roots = _installed_roots()
    names: dict[str, None] = {}
    for probe in probes:
        with contextlib.suppress(OSError, ValueError):
            for name, file in json.loads(probe.read_text(encoding="utf-8")):
                if not file or name.startswith(("coverage", "mcptest", "_mcptest")) or name == "__main__":
                    continue
                real = os.path.realpath(file)
                if any(real.startswith(r + os.sep) for r in roots):
                    names[name] = None
    return list(names)


@dataclass
class _SuiteEvents:
    """What the collector's events of one suite's baseline said."""

    count: int = 0
    passed: dict[str, float] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    collect_errors: list[str] = field(default_factory=list)
    finished: bool = False


def _read_events(events: Path) -> _SuiteEvents:
    seen = _SuiteEvents()
    if not events.exists():
        return seen
    for line in events.read_text(encoding="utf-8").splitlines():
        with contextlib.suppress(json.JSONDecodeError):
            event = json.loads(line)
            if event.get("event") == "test":
                seen.count += 1
                if event["outcome"] == "passed":
                    seen.passed[event["nodeid"]] = float(event.get("duration") or 0.0)
                elif event["outcome"] in ("failed", "error"):
                    seen.failed.append(event["nodeid"])
            elif event.get("event") == "collect_error":
                seen.collect_errors.append(event.get("nodeid") or "(session)")
            elif event.get("event") == "finish":
                seen.finished = True
    return seen


def _run_suite(config: Config, copy_config: Config, suite: SuiteConfig, paths: list[str], tmp: Path,
               probe_dir: Path, emit: EventHandler) -> tuple[_SuiteEvents, Path, Path]:
    """One suite's baseline run; returns its events, its coverage data file and its module probe."""
    root = copy_config.root
    data_file = tmp / f"baseline-{suite.name}.coverage"
    events = tmp / f"baseline-{suite.name}.events.jsonl"
    log = tmp / f"baseline-{suite.name}.log"
    probe = tmp / f"modules-{suite.name}.json"
    options = RunOptions(suite=suite.name, contexts=True, preflight=False,
                         pytest_args=["-p", "no:cacheprovider", "-p", "_mcptest_mutate_probe",
                                      f"--rootdir={root}"])  # node ids relative to the copy's root
    cmd = pytest_command(copy_config, suite, paths, options, data_file)
    env = copy_env(root)
    env["PYTHONPATH"] += os.pathsep + str(probe_dir)
    env.update({"MCPTEST_MUTATE_PROBE": str(probe), "MCPTEST_EVENTS": str(events),
                "MCPTEST_CONTEXTS": "1", "MCPTEST_SUITE": suite.name,
                "MCPTEST_COV_DATA": str(data_file), "MCPTEST_COV_SOURCE": ",".join(config.source),
                "MCPTEST_COV_BRANCH": "1" if config.coverage.branch else "0",
                "MCPTEST_REQ_MARKER": config.report.requirement_marker})
    emit("baseline-start", {"suite": suite.name, "paths": list(paths), "command": cmd})
    started = time.monotonic()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            code = proc.wait(timeout=None if suite.budget is None else suite.budget + _GRACE)
        except subprocess.TimeoutExpired:
            raise BaselineOverBudget(f"suite {suite.name}: the baseline run on the unmodified code went past the "
                                     f"suite's budget of {suite.budget:g}s in the temporary copy") from None
        finally:
            if proc.poll() is None:
                kill(proc)
    seen = _read_events(events)
    tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:])
    if not seen.finished or seen.collect_errors or code not in (0, 1):
        where = f", collection errors in {', '.join(seen.collect_errors)}" if seen.collect_errors else ""
        raise BaselineFailed(f"suite {suite.name}: the unmodified code did not run to a clean end in the "
                             f"temporary copy (pytest exit {code}{where}):\n{tail}")
    if seen.failed:
        raise BaselineFailed(f"suite {suite.name}: {len(seen.failed)} test(s) fail on the unmodified code; "
                             f"mutation testing needs a passing suite: {', '.join(seen.failed[:5])}")
    parts = sorted(tmp.glob(data_file.name + ".*"))
    if parts:  # xdist workers measured themselves
        covdata.combine([data_file, *parts], data_file)
    emit("baseline-end", {"suite": suite.name, "tests": seen.count, "duration": time.monotonic() - started})
    return seen, data_file, probe


def _coverage(config: Config, copy_config: Config, data_files: list[Path], tests: dict[str, float],
              tmp: Path) -> tuple[dict[str, set[int]], dict[str, dict[int, list[str]]]]:
    """Executed lines per file, and per line the passing tests that ran it."""
    root = copy_config.root
    data = data_files[0] if len(data_files) == 1 else covdata.combine(data_files, tmp / "baseline.coverage")
    raw = covdata.read_json(copy_config, data, contexts=True) if data_files else None
    if raw is None or not raw.get("files"):
        raise NoDataError(f"coverage measured no file of source {config.source} in the temporary copy "
                          "(do the tests import the code from the project folder?)")
    for name in raw["files"]:
        if Path(name).is_absolute() and not Path(name).resolve().is_relative_to(root.resolve()):
            raise McptestError(f"the tests ran {name}, outside the temporary copy: mutants would not be seen")
    report, contexts = covdata.build_report(copy_config, raw, branch=config.coverage.branch)
    executed = {f.path: set(f.executed_lines) for f in report.files}
    if not any(executed.values()):  # the files were found, but the tests ran another copy of the code
        raise NoDataError(f"the tests ran no line of source {config.source} in the temporary copy: they import "
                          "the code from somewhere else (an installed copy?), so no mutant would be seen")
    covering: dict[str, dict[int, list[str]]] = {}
    for path, by_line in contexts.items():
        covering[path] = {int(line): [n for n in names if n in tests] for line, names in by_line.items()}
    return executed, covering


def run_baseline(config: Config, copy_config: Config, planned: list[tuple[SuiteConfig, list[str]]],
                 tmp: Path, emit: EventHandler) -> Baseline:
    """Run every planned suite once in the copy; raises BaselineFailed unless all of it passes."""
    tests: dict[str, float] = {}
    suite_of: dict[str, str] = {}
    data_files: list[Path] = []
    probes: list[Path] = []
    probe_dir = tmp / "probe"
    probe_dir.mkdir()
    (probe_dir / "_mcptest_mutate_probe.py").write_text(_PROBE, encoding="utf-8")
    started = time.monotonic()
    for suite, paths in planned:
        seen, data_file, probe = _run_suite(config, copy_config, suite, paths, tmp, probe_dir, emit)
        probes.append(probe)
        tests.update(seen.passed)
        suite_of.update(dict.fromkeys(seen.passed, suite.name))
        if data_file.exists():
            data_files.append(data_file)
    duration = time.monotonic() - started
    if not tests:
        raise NoDataError("no test passed in the baseline run, so no mutant can be judged")
    executed, covering = _coverage(config, copy_config, data_files, tests, tmp)
    overhead = max(0.0, duration - sum(tests.values())) / max(1, len(planned))
    return Baseline(tests, suite_of, executed, covering, overhead, duration, _preloadable(probes))
