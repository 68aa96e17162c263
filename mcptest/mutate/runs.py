"""Running the mutants: each in a slot (a copy of the project), its covering tests with ``pytest -x``.

A slot writes the mutant into its copy, runs the tests through the warm server or in a fresh process,
and judges the outcome: a failing test or a crash kills the mutant, a pass lets it survive, a run past
its deadline is a timeout (confirmed in a fresh process when it ran warm). The original file is put
back before the slot takes the next mutant.
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest.config_model import Config
from mcptest.mutate.model import Mutant
from mcptest.mutate.server import POLL, Server, ServerDied
from mcptest.mutate.workspace import encode, kill, write_source
from mcptest.mutate.workspace import env as copy_env

EventHandler = Callable[[str, dict[str, Any]], None]

_PYTEST_USAGE_ERROR = 4
_FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", re.MULTILINE)


@dataclass
class Slot:
    """One copy of the project with at most one mutant applied and its tests running."""

    root: Path
    log: Path
    server: Server | None = None
    mutant: Mutant | None = None
    commands: deque[list[str]] = field(default_factory=deque)
    proc: subprocess.Popen[bytes] | None = None  # a cold run
    warm: bool = False  # this mutant runs through the server
    by_file: bool = False  # running the covering tests' files, not their ids
    killed: bool = False  # past its deadline: killed, waiting for the server to say so
    started: float = 0.0
    deadline: float = 0.0
    original: bytes = b""

    def launch(self) -> None:
        args = self.commands.popleft()
        if self.warm:
            assert self.server is not None
            # plugins the server imported early cannot have their own asserts rewritten; pytest warns
            # about that (an error under filterwarnings=error), though it changes no test outcome
            self.server.submit(["-W", "ignore::pytest.PytestAssertRewriteWarning", *args], self.log)
            return
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=self.root,
                                         env=copy_env(self.root), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def poll(self) -> int | None:
        if self.warm:
            assert self.server is not None
            return self.server.poll()
        assert self.proc is not None
        return self.proc.poll()

    def kill(self) -> None:
        if self.warm and self.server is not None:
            self.server.kill_child()
        elif self.proc is not None:
            kill(self.proc)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            kill(self.proc)
        if self.server is not None:
            self.server.close()


def judge(mutant: Mutant, code: int, log: Path) -> None:
    """The mutant's status from pytest's exit code and output."""
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    mutant.detail = lines[-1].strip("= ") if lines else None
    if code == 0:
        mutant.status = "survived"
        return
    if code in (1, 2) or code < 0:  # a failing test, a collection error, or a crash caused by the mutant
        mutant.status = "killed"
        found = _FAILED_LINE.search(text)
        mutant.killed_by = found.group(1) if found else None
        if code < 0:
            mutant.detail = f"test process killed by signal {-code}"
        return
    mutant.status = "error"
    mutant.detail = f"pytest exit {code}: {mutant.detail}"


def mutant_commands(config: Config, root: Path, mutant: Mutant, suite_of: dict[str, str],
                    by_file: bool = False, extra: Sequence[str] = ()) -> list[list[str]]:
    """pytest's arguments, one list per suite holding covering tests (several only with suite 'all').

    ``by_file`` names the covering tests' files instead of their node ids: a mutant can change the
    ids themselves (a parametrize id built from a mutated constant), so the ids are no longer found.
    ``extra`` comes before the suite's own arguments (the rerun plugins switched off); the suite's
    per-test timeout applies as in a run.
    """
    by_suite: dict[str, list[str]] = {}
    for nodeid in mutant.tests:
        target = nodeid.split("::")[0] if by_file else nodeid
        if target not in by_suite.setdefault(suite_of[nodeid], []):
            by_suite[suite_of[nodeid]].append(target)
    no_cov = ["--no-cov"] if importlib.util.find_spec("pytest_cov") is not None else []
    commands = []
    for name, nodeids in by_suite.items():
        suite = config.suites[name]
        timeout = [] if suite.timeout is None else [f"--timeout={suite.timeout:g}"]
        commands.append(["-x", "-q", "-p", "no:cacheprovider", f"--rootdir={root}", *no_cov, *timeout, *extra,
                         *suite.pytest_args, *nodeids])
    return commands


class _Scheduler:
    """Hands the pending mutants to free slots and polls the running ones until all are judged."""

    def __init__(self, config: Config, slots: list[Slot], mutants: list[Mutant], suite_of: dict[str, str],
                 emit: EventHandler, extra: Sequence[str]) -> None:
        self.config, self.slots, self.suite_of, self.emit, self.extra = config, slots, suite_of, emit, extra
        self.pending = deque(m for m in mutants if m.status == "pending")
        self.total = len(mutants)
        self.done = self.total - len(self.pending)

    def start(self, slot: Slot, mutant: Mutant, warm: bool, by_file: bool = False) -> None:
        slot.mutant, slot.warm, slot.killed, slot.by_file = mutant, warm, False, by_file
        slot.commands = deque(mutant_commands(self.config, slot.root, mutant, self.suite_of, by_file, self.extra))
        slot.started = time.monotonic()
        slot.deadline = slot.started + mutant.timeout
        slot.launch()

    def finish(self, slot: Slot, code: int | None) -> None:
        mutant = slot.mutant
        assert mutant is not None
        write_source(slot.root, mutant.file, slot.original)
        mutant.duration = time.monotonic() - slot.started
        if code is None:
            mutant.status = "timeout"
            mutant.detail = f"no result within {mutant.timeout:.1f}s"
        else:
            judge(mutant, code, slot.log)
        slot.proc, slot.mutant = None, None
        self.done += 1
        self.emit("mutant-end", {"mutant": mutant, "done": self.done, "total": self.total})

    def fill(self, slot: Slot) -> None:
        """Apply the next pending mutant in a free slot and start its tests."""
        mutant = self.pending.popleft()
        slot.original = (slot.root / mutant.file).read_bytes()
        self.emit("mutant-start", {"mutant": mutant, "done": self.done, "total": self.total})
        write_source(slot.root, mutant.file, encode(mutant.source, slot.original))
        server = slot.server
        warm = server is not None and server.tainted is not None and mutant.file not in server.tainted
        self.start(slot, mutant, warm)

    def step(self, slot: Slot, mutant: Mutant) -> None:
        """Look at one running slot once."""
        try:
            code = slot.poll()
        except ServerDied:  # carry on without it: this mutant and the next ones run cold
            assert slot.server is not None
            slot.server.close()
            slot.server = None
            self.start(slot, mutant, warm=False)
            return
        if code is None:
            if not slot.killed and time.monotonic() > slot.deadline:
                slot.kill()
                slot.killed = True
                if not slot.warm:
                    self.finish(slot, None)
        elif slot.killed:  # the warm child was stopped: confirm the timeout in a fresh interpreter
            self.start(slot, mutant, warm=False)
        elif code == _PYTEST_USAGE_ERROR and not slot.by_file:  # test ids not found: run their files
            self.start(slot, mutant, slot.warm, by_file=True)
        elif code == 0 and slot.commands:  # survived this suite's tests: try the next suite's
            slot.launch()
        else:
            self.finish(slot, code)

    def run(self) -> None:
        while self.pending or any(s.mutant is not None for s in self.slots):
            for slot in self.slots:
                if slot.mutant is None and self.pending:
                    self.fill(slot)
            for slot in self.slots:
                if slot.mutant is not None:
                    self.step(slot, slot.mutant)
            time.sleep(POLL)


def run_mutants(config: Config, slots: list[Slot], mutants: list[Mutant], suite_of: dict[str, str],
                emit: EventHandler, extra: Sequence[str] = ()) -> None:
    """Run every pending mutant in the slots; each ends with a status, its duration and its detail.

    ``extra``: pytest arguments for every mutant run, before the suite's own."""
    _Scheduler(config, slots, mutants, suite_of, emit, extra).run()
