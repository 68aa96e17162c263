"""Write a commented starter mcptest.yaml from the layout a project has (``mcptest.layout``) and its own pytest
settings.

Nothing written here may break a suite that runs under plain pytest: the per-test timeout is the project's own
(pytest-timeout's ``timeout`` in its pytest settings) or one asked for, never a default; a budget is written only
from a measured run (``mcptest init --measure``), otherwise it is a commented-out line.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mcptest import layout
from mcptest.errors import NoDataError
from mcptest.pytest_ini import find_settings

BUDGET_FACTOR = 3  # a measured budget is this many times the measured time ...
BUDGET_STEP = 60.0  # ... rounded up to whole minutes (so at least one minute)


def guess_sources(root: Path) -> list[str]:
    """In a src layout the packages inside src/ (``src/pkg``), or ``src`` itself when it also holds plain modules;
    else the packages and modules at the top of the project (coverage.py's own source is not read here)."""
    return layout.src_sources(root) or layout.flat_sources(root)


@dataclass
class Starter:
    """What ``mcptest init`` writes; ``*_note`` says where a value came from (a comment in the file)."""

    root: Path
    sources: list[str]
    tests: list[str]  # every suite's paths
    timeout: float | None = None  # per test, seconds
    timeout_note: str = ""
    budget: float | None = None  # the whole suite, seconds
    budget_note: str = ""
    source_note: str = ""
    suites: list[layout.SuitePlan] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class Measurement:
    """One run of the suite under coverage.py: how long it took and how pytest ended."""

    command: list[str]
    seconds: float
    pytest_exit: int
    output_tail: list[str]

    @property
    def usable(self) -> bool:
        """The suite ran to its end: every test passed (exit 0) or some failed (exit 1). Anything else --
        interrupted, a collection error, a usage error, no tests, a killed process -- measured no suite."""
        return self.pytest_exit in (0, 1)


PYTEST_EXITS = {
    0: "all tests passed",
    1: "some tests failed",
    2: "interrupted, or a collection error",
    3: "an internal error",
    4: "a usage error",
    5: "no tests were collected",
}


def plan(root: Path, *, timeout: float | None = None, require_source: bool = False) -> Starter:
    """The starter for ``root``; ``timeout`` (seconds) is a per-test timeout asked for on the command line.

    Without one, the project's own pytest timeout is kept when its pytest settings have one, and none is written
    otherwise. Raises ConfigError when the project's pytest settings cannot be read, and with ``require_source``
    NoDataError when the folder holds no Python package or module to measure.
    """
    found = layout.detect(root)
    if require_source and not found.sources:
        raise NoDataError(
            f"{root} holds no Python package or module to measure: no coverage.py source, no src/ package, no "
            "folder with __init__.py and no module at its top; run mcptest init in the project's folder"
        )
    starter = Starter(
        root=root,
        sources=found.sources,
        tests=found.test_paths,
        source_note=found.source_note,
        suites=found.suites,
        notes=found.notes,
    )
    settings = find_settings(root)
    own = settings.timeout()
    if timeout is not None:
        starter.timeout = timeout
        starter.timeout_note = "per test, asked for with 'mcptest init --timeout'"
        if own is not None:
            starter.timeout_note += f" (the project's pytest settings say {own[1]})"
    elif own is not None and own[0] > 0:
        starter.timeout = own[0]
        starter.timeout_note = f"per test: the project's own pytest timeout ({own[1]})"
    elif own is not None:
        starter.timeout_note = f"the project's pytest settings turn the per-test timeout off ({own[1]})"
    else:
        starter.timeout_note = "per test (pytest-timeout); the project's pytest settings set none"
    return starter


def measure_command(starter: Starter, data_file: Path) -> list[str]:
    """The measuring run: pytest on the suite's paths under ``coverage run`` with the sources, as mcptest
    runs it (branch coverage, the per-test timeout, pytest-cov switched off)."""
    cmd = [sys.executable, "-m", "coverage", "run", f"--data-file={data_file}", "--branch"]
    if starter.sources:
        cmd.append("--source=" + ",".join(starter.sources))
    cmd += ["-m", "pytest", "-p", "no:cacheprovider", "-q"]
    if importlib.util.find_spec("pytest_cov") is not None:
        cmd.append("--no-cov")
    if starter.timeout is not None:
        cmd.append(f"--timeout={starter.timeout:g}")
    return [*cmd, *starter.tests]


def measure_suite(starter: Starter) -> Measurement:
    """Run the suite once in the project folder and time it (the output is kept in a temporary file)."""
    with tempfile.TemporaryDirectory(prefix="mcptest-init-") as tmp:
        cmd = measure_command(starter, Path(tmp) / "coverage")
        log = Path(tmp) / "output.txt"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MCPTEST_")}
        with log.open("wb") as out:
            start = time.monotonic()
            code = subprocess.run(cmd, cwd=starter.root, stdout=out, stderr=subprocess.STDOUT, env=env).returncode
            seconds = time.monotonic() - start
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return Measurement(command=cmd, seconds=seconds, pytest_exit=code, output_tail=lines[-15:])


def budget_for(seconds: float) -> float:
    """The budget written for a suite measured at ``seconds``: three times that, rounded up to whole minutes."""
    return max(BUDGET_STEP, math.ceil(seconds * BUDGET_FACTOR / BUDGET_STEP) * BUDGET_STEP)


def use_measurement(starter: Starter, measurement: Measurement) -> None:
    """Set the budget from a usable measuring run."""
    starter.budget = budget_for(measurement.seconds)
    failed = " (some tests failed)" if measurement.pytest_exit == 1 else ""
    starter.budget_note = (
        f"the whole suite: {BUDGET_FACTOR} x the {measurement.seconds:.1f} s that 'mcptest init --measure' "
        f"measured{failed}, rounded up to a minute"
    )


def duration(seconds: float) -> str:
    """``20s``, ``0.5s``, ``3m`` for the config file."""
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g}m"
    return f"{seconds:g}s"


def _flow(items: list[str]) -> str:
    """A YAML flow list; an item that is not a plain word or path is quoted."""
    plain = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]*")
    return "[" + ", ".join(i if plain.fullmatch(i) else json.dumps(i) for i in items) + "]"


def _example_file(root: Path, source: str) -> str:
    """A file of ``source`` as the record names it, for the commented examples."""
    if (root / f"{source}.py").is_file():
        return f"{source}.py"
    if not (root / source).exists() and (root / "src" / source).is_dir():
        return f"src/{source}/core.py"
    return f"{source}/core.py"


def _suite_lines(starter: Starter, suite: layout.SuitePlan, many: bool) -> list[str]:
    if starter.timeout is not None:
        timeout = f"    timeout: {duration(starter.timeout)}".ljust(31) + f"# {starter.timeout_note}"
    else:
        timeout = "    # timeout: 60s".ljust(31) + f"# {starter.timeout_note}"
    if starter.budget is not None:
        budget = f"    budget: {duration(starter.budget)}".ljust(31) + f"# {starter.budget_note}"
    else:
        budget = "    # budget: 10m".ljust(31) + "# the whole suite; 'mcptest init --measure' measures one"
    head = f"  {suite.name}:"
    lines = [head.ljust(31) + f"# {suite.note}" if suite.note else head, f"    paths: {_flow(suite.paths)}"]
    if many:
        lines.append(f"    type: {suite.test_type}")
    lines += [timeout, budget]
    if suite.test_type in ("integration", "e2e"):
        lines.append("    # requires: [api]".ljust(31) + "# the bridges it needs (see bridges: below)")
    return lines


def render(starter: Starter) -> str:
    sources = starter.sources or ["CHANGE_ME"]
    suites = starter.suites or [layout.SuitePlan("unit", starter.tests or ["tests"], "unit")]
    example = _example_file(starter.root, sources[0])
    glob = example.rsplit("/", 1)[0] + "/**/*.py" if "/" in example else example
    first_tests = suites[0].paths[0]
    test_folder = first_tests if not first_tests.endswith(".py") else str(Path(first_tests).parent).strip(".")
    test_example = f"{test_folder}/test_core.py" if test_folder else "test_core.py"
    many = len(suites) > 1
    suite_text = "\n".join(line for suite in suites for line in _suite_lines(starter, suite, many))
    if not many:
        suite_text += "\n  # integration: {paths: [tests/integration], requires: [api]}"
    what = f"\n# Found: {starter.source_note}." if starter.source_note and starter.sources else ""
    noticed = "".join(f"# init noticed: {note}\n" for note in starter.notes)
    return f"""\
# mcptest configuration: 'mcptest config check' validates it, 'mcptest run {suites[0].name}' uses it.
{noticed}version: 1

# What coverage measures (folders, files or importable packages). Test files are never measured.{what}
source: {_flow(sources)}

coverage:
  branch: true                 # branch coverage (recommended)
  overall: {{line: 70}}          # minimums for the whole run, in percent: line and/or branch
  # files:                     # per file; a glob applies to EACH matching file
  #   {example}: {{line: 80, branch: 70}}
  #   "{glob}": {{line: 50}}
  # max_drop: 1.0              # fail when a file or the total drops more than 1 point vs the baseline

# modules:                     # named groups of files, gated on their combined numbers
#   core: {{files: ["{example}"], tests: [{test_example}], line: 80}}

suites:
{suite_text}

# bridges:                     # HTTP backends a suite requires; checked before it runs
#   api:
#     url: "${{API_URL:-http://127.0.0.1:8080}}"
#     health: /health
#     accept: [ok]
#     start: "python -m my_fake_api --port 8080"   # optional: how mcptest starts it

report:
  dir: .mcptest                # run records, latest.json, baseline.json, reports
"""


def starter_config(root: Path, *, timeout: float | None = None) -> str:
    """The starter mcptest.yaml for ``root`` without a measured budget."""
    return render(plan(root, timeout=timeout))
