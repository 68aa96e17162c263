"""The plan stage: which suites run, with which test paths, and the command line of each one's test process.

``plan`` turns what ``mcptest run`` was asked (``RunOptions``) into the suites to run; ``pytest_command`` is the
test process of one of them: pytest with mcptest's collector plugin, measured by coverage.py started inside pytest
(``plugin``) or by ``coverage run`` (``coverage_mode``). Nothing here starts a process.
"""

from __future__ import annotations

import functools
import importlib.util
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from mcptest.config_model import Config, SuiteConfig
from mcptest.errors import UsageError
from mcptest.globs import glob_match
from mcptest.model import RunRecord, Verdict

#: A suite to run and its test paths (narrowed by ``--module``).
Planned = tuple[SuiteConfig, list[str]]


@dataclass
class RunOptions:
    """What ``mcptest run`` was asked to do."""

    suite: str
    modules: list[str] = field(default_factory=list)
    keyword: str | None = None
    pytest_args: list[str] = field(default_factory=list)
    contexts: bool = False
    preflight: bool = True
    wait: float = 0.0
    start_bridges: bool = True
    workers: str | None = None
    repeat: int = 1
    random_order: bool = False
    seed: int | None = None
    command: list[str] = field(default_factory=list)
    wait_lock: float = 0.0  # seconds to wait for another run's lock on the report folder (0: fail at once)
    # hooks of mcptest.cli_ci (--shard, --diff-base): extra variables of the test process, what narrows the
    # selection, the run's coverage data file once known, and stages (record, verdicts, gated) -> verdicts
    env: dict[str, str] = field(default_factory=dict)
    narrowed: list[str] = field(default_factory=list)
    on_coverage_data: Callable[[Path], object] | None = None
    stages: list[Callable[[RunRecord, list[Verdict], bool], list[Verdict]]] = field(default_factory=list)


def plan(config: Config, options: RunOptions) -> list[Planned]:
    """The suites to run and the test paths of each (narrowed by ``--module``)."""
    if options.suite == "all":
        suites = list(config.suites.values())
    elif options.suite in config.suites:
        suites = [config.suites[options.suite]]
    else:
        known = ", ".join([*config.suites, "all"])
        raise UsageError(f"unknown suite {options.suite!r} (suites in {config.path.name}: {known})")
    for name in options.modules:
        if name not in config.modules:
            known = ", ".join(config.modules) or "none are configured"
            raise UsageError(f"unknown module {name!r} (modules: {known})")
    planned = []
    for suite in suites:
        paths = list(suite.paths)
        if options.modules:
            wanted = [t for m in options.modules for t in config.modules[m].tests]
            if not wanted:
                raise UsageError(f"module(s) {', '.join(options.modules)} list no tests: add 'tests:' to them")
            paths = [t for t in wanted if any(glob_match(p, t) for p in suite.paths)]
            if not paths:
                if options.suite == "all":
                    continue
                raise UsageError(
                    f"module(s) {', '.join(options.modules)} have no tests under suite "
                    f"{suite.name!r} (paths {suite.paths})"
                )
        planned.append((suite, paths))
    if not planned:
        raise UsageError(f"module(s) {', '.join(options.modules)} have no tests in any suite")
    return planned


def settle_options(options: RunOptions) -> None:
    """Check ``--repeat`` and draw the seed of ``--random-order`` when none was given (it is recorded)."""
    if options.repeat < 1:
        raise UsageError(f"--repeat must be at least 1, not {options.repeat}")
    if options.random_order and options.seed is None:
        options.seed = secrets.randbelow(2**31)


@functools.cache
def _installed_pytest_plugins() -> tuple[str, ...]:
    """The modules of the installed pytest plugins (``pytest11`` entry points); read once per process."""
    from importlib.metadata import entry_points

    return tuple(entry.value.split(":")[0] for entry in entry_points(group="pytest11"))


def coverage_mode(config: Config, pytest_args: Sequence[str] = ()) -> str:
    """``plugin`` (coverage starts inside pytest, after its plugins load) or ``run`` (``coverage run``).

    ``run`` when a pytest plugin that loads before the collector belongs to a measured package: an installed
    one (a ``pytest11`` entry point) or one named with ``-p`` in the pytest arguments. It would be imported
    before the collector could start coverage, and its import-time lines would look missed. A plugin belongs to
    a measured package when its top-level name is one that ``source`` measures: the packages and modules inside
    a source folder (``source: [src]``), the package a source folder belongs to, a package name's first part.
    """
    from mcptest.config import top_level_packages

    names = top_level_packages(config.root, config.source)
    names |= {Path(s).name.removesuffix(".py") for s in config.source} | {s.split(".")[0] for s in config.source}
    plugins = list(_installed_pytest_plugins())
    for i, arg in enumerate(pytest_args):
        if arg == "-p" and i + 1 < len(pytest_args):
            plugins.append(pytest_args[i + 1])
        elif arg.startswith("-p") and len(arg) > 2:
            plugins.append(arg[2:])
    if any(plugin.split(".")[0] in names for plugin in plugins):
        return "run"
    return "plugin"


def pytest_command(
    config: Config, suite: SuiteConfig, paths: Sequence[str], options: RunOptions, data_file: Path
) -> list[str]:
    """The subprocess command line: coverage.py running pytest with mcptest's collector plugin."""
    if coverage_mode(config, [*suite.pytest_args, *options.pytest_args]) == "run":
        # a pytest plugin of the measured code loads before any plugin could start coverage: measure it all
        cmd = [
            sys.executable,
            "-m",
            "coverage",
            "run",
            f"--data-file={data_file}",
            "--source=" + ",".join(config.source),
        ]
        if config.coverage.branch:
            cmd.append("--branch")
        cmd += ["-m", "pytest", "-p", "mcptest.collector"]
    else:
        # coverage.py is started by the collector plugin once pytest and its plugins are loaded (as pytest-cov
        # does), not by `coverage run`, whose tracer would slow down all of pytest's own start-up
        cmd = [sys.executable, "-m", "pytest", "-p", "mcptest.collector"]
    if importlib.util.find_spec("pytest_cov") is not None:
        cmd.append("--no-cov")  # coverage is measured once, by mcptest
    if suite.timeout is not None:
        cmd.append(f"--timeout={suite.timeout:g}")
    if options.workers:
        cmd += ["-n", options.workers]
    if options.keyword:
        cmd += ["-k", options.keyword]
    cmd += [*suite.pytest_args, *options.pytest_args, *paths]
    return cmd


def requested_args(options: RunOptions) -> list[str]:
    """The pytest arguments the user asked for: mcptest's ``-k``, then those after ``--``."""
    return (["-k", options.keyword] if options.keyword else []) + list(options.pytest_args)
