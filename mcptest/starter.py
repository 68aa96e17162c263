"""Write a commented starter mcptest.yaml by looking at a project's folders and its own pytest settings.

Nothing written here may break a suite that runs under plain pytest: the per-test timeout is the project's own
(pytest-timeout's ``timeout`` in its pytest settings) or one asked for, never a default; a budget is written only
from a measured run (``mcptest init --measure``), otherwise it is a commented-out line.
"""

from __future__ import annotations

import importlib.util
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from mcptest.pytest_ini import find_settings

_SKIP = {"tests", "test", "suites", "docs", "build", "dist", "venv", ".venv", "node_modules", "templates", "bench"}
BUDGET_FACTOR = 3  # a measured budget is this many times the measured time ...
BUDGET_STEP = 60.0  # ... rounded up to whole minutes (so at least one minute)


def guess_sources(root: Path) -> list[str]:
    """The top-level packages (folders with __init__.py); in a src layout the packages inside src/
    (``src/pkg``), or ``src`` itself when it also holds plain modules."""
    src = root / "src"
    if src.is_dir():
        packages = sorted(p.parent.name for p in src.glob("*/__init__.py") if p.parent.name.isidentifier())
        modules = [p for p in src.glob("*.py") if p.stem.isidentifier() and p.name != "conftest.py"]
        if modules:
            return ["src"]  # coverage.py measures modules through their folder (its --source takes no files)
        if packages:
            return [f"src/{name}" for name in packages]
    return sorted(
        p.parent.name
        for p in root.glob("*/__init__.py")
        if p.parent.name not in _SKIP and not p.parent.name.startswith(".")
    )


def guess_tests(root: Path) -> list[str]:
    for name in ("tests", "test"):
        if (root / name).is_dir():
            return [name]
    return []


@dataclass
class Starter:
    """What ``mcptest init`` writes; ``*_note`` says where a value came from (a comment in the file)."""

    root: Path
    sources: list[str]
    tests: list[str]
    timeout: float | None = None  # per test, seconds
    timeout_note: str = ""
    budget: float | None = None  # the whole suite, seconds
    budget_note: str = ""


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


def plan(root: Path, *, timeout: float | None = None) -> Starter:
    """The starter for ``root``; ``timeout`` (seconds) is a per-test timeout asked for on the command line.

    Without one, the project's own pytest timeout is kept when its pytest settings have one, and none is written
    otherwise. Raises ConfigError when the project's pytest settings cannot be read.
    """
    starter = Starter(root=root, sources=guess_sources(root), tests=guess_tests(root) or ["tests"])
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


def render(starter: Starter) -> str:
    sources = starter.sources or ["CHANGE_ME"]
    tests = starter.tests
    first = sources[0]
    if starter.timeout is not None:
        timeout = f"    timeout: {duration(starter.timeout)}".ljust(31) + f"# {starter.timeout_note}"
    else:
        timeout = "    # timeout: 60s".ljust(31) + f"# {starter.timeout_note}"
    if starter.budget is not None:
        budget = f"    budget: {duration(starter.budget)}".ljust(31) + f"# {starter.budget_note}"
    else:
        budget = "    # budget: 10m".ljust(31) + "# the whole suite; 'mcptest init --measure' measures one"
    return f"""\
# mcptest configuration: 'mcptest config check' validates it, 'mcptest run unit' uses it.
version: 1

# What coverage measures (folders, files or importable packages). Test files are never measured.
source: [{", ".join(sources)}]

coverage:
  branch: true                 # branch coverage (recommended)
  overall: {{line: 70}}          # minimums for the whole run, in percent: line and/or branch
  # files:                     # per file; a glob applies to EACH matching file
  #   {first}/core.py: {{line: 80, branch: 70}}
  #   "{first}/**/*.py": {{line: 50}}
  # max_drop: 1.0              # fail when a file or the total drops more than 1 point vs the baseline

# modules:                     # named groups of files, gated on their combined numbers
#   core: {{files: ["{first}/core.py"], tests: [{tests[0]}/test_core.py], line: 80}}

suites:
  unit:
    paths: [{", ".join(tests)}]
{timeout}
{budget}
  # integration: {{paths: [tests/integration], requires: [api]}}

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
