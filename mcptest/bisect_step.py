"""One step of a bisection (``mcptest.bisect``): a real pytest run of the suite, under its own config and
arguments, that runs a given list of tests in the given order (``mcptest.ordering``), the victim last, in its
own process group under a time limit, its output kept in a log file; the victim's outcome read back.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from mcptest import lifecycle
from mcptest.config_model import Config, SuiteConfig
from mcptest.errors import McptestError
from mcptest.model import SuiteResult

#: A step that runs longer than this many times the suite's recorded time (at least a minute) is stopped.
STEP_TIME_FACTOR = 3
STEP_TIME_MIN = 60.0


class StepFailed(McptestError):
    """A step's pytest run could not say how the test ended (a usage error, a crash, a hang)."""


@dataclass
class Step:
    """One pytest run: the tests it ran (the victim last) and how the victim ended."""

    number: int
    tests: list[str]
    outcome: str  # passed | failed | skipped
    seconds: float
    collected: list[str] | None = None


class PytestSteps:
    """Runs a list of tests, in order, as one pytest run of the suite (its paths, config and arguments)."""

    def __init__(self, config: Config, suite: SuiteConfig, paths: Sequence[str], extra_args: Sequence[str],
                 *, seconds_limit: float, log_dir: Path) -> None:  # fmt: skip
        self.config = config
        self.suite = suite
        self.paths = list(paths)
        self.extra_args = list(extra_args)
        self.seconds_limit = seconds_limit
        self.log_dir = log_dir
        self.count = 0

    def command(self, order_file: Path, outcomes_file: Path) -> list[str]:
        cmd = [sys.executable, "-m", "pytest", "-p", "mcptest.ordering"]
        if self.suite.timeout is not None:
            cmd.append(f"--timeout={self.suite.timeout:g}")
        cmd += [*self.suite.pytest_args, *self.extra_args]
        if importlib.util.find_spec("xdist") is not None:
            cmd += ["-n", "0"]  # one process runs the tests in the order given (after any -n of the project)
        return [
            *cmd,
            f"--mcptest-order={order_file}",
            "--mcptest-order-subset",
            f"--mcptest-outcomes={outcomes_file}",
            *self.paths,
        ]

    def log_file(self, number: int) -> Path:
        return self.log_dir / f"step-{number}.log"

    def __call__(self, tests: list[str]) -> Step:
        self.count += 1
        number = self.count
        with tempfile.TemporaryDirectory(prefix="mcptest-bisect-") as tmp:
            order_file, outcomes_file = Path(tmp) / "order.txt", Path(tmp) / "outcomes.jsonl"
            order_file.write_text("".join(f"{t}\n" for t in tests), encoding="utf-8")
            outcomes_file.write_text("", encoding="utf-8")
            cmd = self.command(order_file, outcomes_file)
            env = {k: v for k, v in os.environ.items() if not k.startswith(("MCPTEST_", "PYTEST_XDIST_"))}
            env.pop("COVERAGE_PROCESS_START", None)
            env[lifecycle.PARENT_ENV] = str(os.getpid())  # the step ends with mcptest (mcptest.watchdog)
            log = self.log_file(number)
            log.parent.mkdir(parents=True, exist_ok=True)
            start = time.monotonic()
            with log.open("wb") as out:
                out.write(("$ " + " ".join(cmd) + "\n").encode())
                out.flush()
                code = _run(cmd, self.config.root, env, out, self.seconds_limit)
            seconds = time.monotonic() - start
            lines = outcomes_file.read_text(encoding="utf-8").splitlines()
        collected: list[str] | None = None
        outcome: str | None = None
        victim = tests[-1]
        for line in lines:
            with contextlib.suppress(ValueError):
                data = json.loads(line)
                if "collected" in data:
                    collected = [str(n) for n in data["collected"]]
                elif "missing" in data:
                    raise StepFailed(
                        f"step {number}: the suite no longer collects {', '.join(data['missing'][:3])} "
                        f"(pytest's output: {log})"
                    )
                elif data.get("nodeid") == victim:
                    outcome = str(data.get("outcome"))
        if outcome is None:
            why = "ran past its time limit and was stopped" if code is None else f"ended with pytest exit {code}"
            tail = _tail(log)
            raise StepFailed(f"step {number} did not run {victim}: pytest {why}{tail} (its output: {log})")
        return Step(number, list(tests), outcome, seconds, collected)


def _run(cmd: list[str], cwd: Path, env: dict[str, str], out: IO[bytes], limit: float) -> int | None:
    """Run ``cmd`` in its own process group; its exit code, or None when it was stopped at ``limit`` seconds.
    The group is killed however this ends (Ctrl-C included)."""
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        return proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _tail(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(encoding="utf-8", errors="replace").splitlines()]
    except OSError:
        return ""
    meaningful = [line for line in lines if line and not line.startswith("$ ")]
    return f": {meaningful[-1][:200]}" if meaningful else ""


def time_limit(result: SuiteResult, suite: SuiteConfig) -> float:
    """How long one step of the suite may run: STEP_TIME_FACTOR times its recorded time plus a second, at
    least STEP_TIME_MIN seconds, and at least its budget."""
    limit = max(STEP_TIME_MIN, STEP_TIME_FACTOR * (max(result.duration, 0.0) + 1.0))
    if suite.budget is not None:
        limit = max(limit, suite.budget)
    return limit
