"""Starting bridges that are down (their ``start`` command) and stopping exactly those afterwards."""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import BinaryIO
from urllib.parse import urlsplit

from mcptest.bridges.probing import Clock, Sleep, is_accepted, probe, probe_all, wait_for, waited
from mcptest.config_model import BridgeConfig
from mcptest.model import BridgeProbe


@dataclass
class StartedBridge:
    """A bridge process that mcptest started and must stop."""

    bridge: BridgeConfig
    process: subprocess.Popen[bytes]
    log_path: Path


class BridgeStarter:
    """Starts bridges that are down and have a ``start`` command; stops exactly those on exit.

    Use as a context manager so that the bridges are stopped also on errors and KeyboardInterrupt::

        with BridgeStarter(log_dir=config.report_dir / "bridges", cwd=config.root) as starter:
            probes = starter.ensure(bridges, wait=10)
    """

    def __init__(
        self,
        *,
        log_dir: Path,
        cwd: Path | None = None,
        interval: float = 0.25,
        stop_grace: float = 5.0,
        stop_timeout: float = 60.0,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.log_dir = Path(log_dir)
        self.cwd = cwd
        self.interval = max(interval, 0.01)
        self.stop_grace = stop_grace
        self.stop_timeout = stop_timeout
        self.clock = clock
        self.sleep = sleep
        self.started: list[StartedBridge] = []
        #: What went wrong while stopping (a stop command failing, a process that had to be killed).
        self.stop_problems: list[str] = []

    def __enter__(self) -> BridgeStarter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def ensure(self, bridges: Sequence[BridgeConfig], *, wait: float = 0.0) -> list[BridgeProbe]:
        """Probe ``bridges``, start the ones that are not accepted and can be started, and poll.

        A bridge without a ``start`` command is polled for up to ``wait`` seconds; a bridge that was
        started is polled for up to its ``start_timeout``. A start command that exits 0 (``docker
        compose up -d``) is fine as long as the health endpoint becomes accepted in time; one that
        exits with another code is reported with its code and the tail of its log. The probe of each
        bridge with seconds to wait says how long it was waited for (``waited_s``).
        """
        began = self.clock()
        probes = probe_all(bridges)
        already = {s.bridge.name for s in self.started}
        launched, problems = self._launch_missing(bridges, probes, already)
        budgets = {b.name: b.start_timeout if b.name in launched else max(wait, 0.0) for b in bridges}
        answered = self._poll(bridges, probes, budgets, problems, launched)
        for bridge, result, at in zip(bridges, probes, answered, strict=True):
            if budgets[bridge.name] > 0:
                result.waited_s = waited(began, at)
            if bridge.name in already or bridge.name in launched:
                result.started_by_mcptest = True
            if bridge.name in problems:
                result.reason = f"{result.reason}; {problems[bridge.name]}"
            elif bridge.name in launched and not is_accepted(result):
                result.reason = f"{result.reason}; not accepted within {bridge.start_timeout:g} s of starting it"
        return probes

    def _launch_missing(
        self, bridges: Sequence[BridgeConfig], probes: Sequence[BridgeProbe], already: set[str]
    ) -> tuple[set[str], dict[str, str]]:
        """Start each bridge that is not accepted, has a start command and is not running yet.

        Returns the names started and, by name, why a start failed.
        """
        launched: set[str] = set()
        problems: dict[str, str] = {}
        for bridge, result in zip(bridges, probes, strict=True):
            if is_accepted(result) or not bridge.start or bridge.name in already:
                continue
            problem = self._launch(bridge)
            if problem:
                problems[bridge.name] = problem
            else:
                launched.add(bridge.name)
        return launched, problems

    def _poll(
        self,
        bridges: Sequence[BridgeConfig],
        probes: list[BridgeProbe],
        budgets: dict[str, float],
        problems: dict[str, str],
        launched: set[str],
    ) -> list[float]:
        """Probe again, in ``probes``, every bridge not accepted yet, until each is accepted, its start
        command failed (added to ``problems``) or its budget of seconds from now has passed.

        Returns, for each bridge, the clock reading when its probe in ``probes`` had answered.
        """
        now = self.clock()
        answered = [now] * len(bridges)
        deadlines = {name: now + budget for name, budget in budgets.items()}
        processes = {s.bridge.name: s for s in self.started if s.bridge.name in launched}
        longest = max(deadlines.values(), default=now) - now
        for _ in range(math.ceil(longest / self.interval) + 1):
            pending = [
                i
                for i, (b, p) in enumerate(zip(bridges, probes, strict=True))
                if not is_accepted(p) and b.name not in problems and self.clock() < deadlines[b.name]
            ]
            for i in pending:
                exited = _start_failure(processes.get(bridges[i].name))
                if exited:
                    problems[bridges[i].name] = exited
            pending = [i for i in pending if bridges[i].name not in problems]
            if not pending:
                break
            self.sleep(self.interval)
            fresh = probe_all([bridges[i] for i in pending])
            at = self.clock()
            for i, result in zip(pending, fresh, strict=True):
                probes[i] = result
                answered[i] = at
        return answered

    def _launch(self, bridge: BridgeConfig) -> str | None:
        """Run the start command in its own process group; return a problem sentence or None."""
        assert bridge.start is not None
        try:
            argv = command_argv(bridge.start, bridge)
        except ValueError as exc:
            return f"start command {bridge.start!r} cannot be parsed: {exc}"
        if not argv:
            return "start command is empty"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"bridge-{_safe(bridge.name)}.log"
        with open(log_path, "ab") as log:
            _log_header(log, "start", bridge.start)
            try:
                process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                    start_new_session=True,  # its own process group: stoppable as a whole, deaf to Ctrl-C
                )
            except OSError as exc:
                return f"start command {argv[0]!r} could not be run: {exc.strerror or exc}"
        self.started.append(StartedBridge(bridge, process, log_path))
        return None

    def stop(self) -> list[str]:
        """Stop every bridge this starter started, last started first; return the problems seen."""
        problems: list[str] = []
        while self.started:
            started = self.started.pop()
            problems.extend(self._stop_one(started))
        self.stop_problems.extend(problems)
        return problems

    def _stop_one(self, started: StartedBridge) -> list[str]:
        bridge, process = started.bridge, started.process
        problems: list[str] = []
        if bridge.stop:
            problem = self._run_stop_command(started)
            if problem:
                problems.append(problem)
        # Without a stop command, or when the start command still runs in the foreground after it,
        # the process group we created is ours to end.
        if not bridge.stop or process.poll() is None:
            problem = _terminate_group(process, self.stop_grace, self.sleep)
            if problem:
                problems.append(f"bridge {bridge.name}: {problem}")
        # Say so when something outlived the stop (a start command that detached and no stop command).
        after = probe(bridge)
        if after.http_status is not None:
            problems.append(
                f"bridge {bridge.name} still answers on {after.url} (HTTP {after.http_status}) after"
                " mcptest stopped what it started; configure a stop command"
                + ("" if not bridge.stop else " that stops it")
            )
        return problems

    def _run_stop_command(self, started: StartedBridge) -> str | None:
        bridge = started.bridge
        assert bridge.stop is not None
        try:
            argv = command_argv(bridge.stop, bridge)
        except ValueError as exc:
            return f"bridge {bridge.name}: stop command cannot be parsed: {exc}"
        if not argv:
            return f"bridge {bridge.name}: stop command is empty"
        with open(started.log_path, "ab") as log:
            _log_header(log, "stop", bridge.stop)
            try:
                code = subprocess.run(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.cwd,
                    timeout=self.stop_timeout,
                    check=False,
                ).returncode
            except subprocess.TimeoutExpired:
                return f"bridge {bridge.name}: stop command did not finish within {self.stop_timeout:g} s"
            except OSError as exc:
                return f"bridge {bridge.name}: stop command could not be run: {exc.strerror or exc}"
        if code != 0:
            return f"bridge {bridge.name}: stop command exited with code {code} (log {started.log_path})"
        return None


def command_argv(command: str, bridge: BridgeConfig) -> list[str]:
    """Split a start/stop command like a shell would and fill in its placeholders.

    ``{python}`` becomes the interpreter running mcptest (so ``{python} -m mcptest sim go`` works when
    ``mcptest`` is not on PATH, e.g. run as ``.venv/bin/mcptest``); ``{port}`` and ``{host}`` come from
    the bridge's URL. Placeholders are replaced after splitting, so a path with spaces stays one argument.
    """
    parts = urlsplit(bridge.url)
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None:
        port = 443 if parts.scheme == "https" else 80
    values = {"{python}": sys.executable, "{port}": str(port), "{host}": parts.hostname or ""}
    argv = shlex.split(command)
    for i, arg in enumerate(argv):
        for placeholder, value in values.items():
            arg = arg.replace(placeholder, value)
        argv[i] = arg
    return argv



@contextlib.contextmanager
def started_bridges(
    bridges: Sequence[BridgeConfig],
    *,
    log_dir: Path,
    start: bool = True,
    wait: float = 0.0,
    cwd: Path | None = None,
) -> Iterator[list[BridgeProbe]]:
    """Yield the probes of ``bridges``, starting (when ``start``) those that are down; stop them after."""
    if not start:
        yield wait_for(bridges, wait) if wait > 0 else probe_all(bridges)
        return
    with BridgeStarter(log_dir=log_dir, cwd=cwd) as starter:
        yield starter.ensure(bridges, wait=wait)


def _start_failure(started: StartedBridge | None) -> str | None:
    """Why a started bridge's start command is a failure: it exited with a code other than 0 (or None)."""
    if started is None:
        return None
    code = started.process.poll()
    if code in (None, 0):
        return None
    return (
        f"start command exited with code {code} before the bridge was healthy"
        f" (log {started.log_path}){_log_tail(started.log_path)}"
    )


def _log_header(log: BinaryIO, what: str, command: str) -> None:
    """The line a bridge's log gets before the output of its start or stop command."""
    log.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')} {what}: {command}\n".encode())
    log.flush()


def _log_tail(path: Path, lines: int = 15, max_chars: int = 2000) -> str:
    try:
        text = path.read_bytes()[-max_chars * 2 :].decode("utf-8", "replace")
    except OSError:
        return ""
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    tail_text = "\n".join(tail)[-max_chars:]
    return f"; last output:\n{tail_text}" if tail_text else "; no output"


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)


def _terminate_group(process: subprocess.Popen[bytes], grace: float, sleep: Sleep) -> str | None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds; reap the leader."""
    pgid = process.pid  # start_new_session made the child the leader of a group with its pid
    if not _signal_group(pgid, signal.SIGTERM):
        process.wait()
        return None
    step = 0.05
    for _ in range(max(1, math.ceil(grace / step))):
        process.poll()  # reap the leader, else its zombie keeps the group "alive"
        if not _group_alive(pgid):
            return None
        sleep(step)
    _signal_group(pgid, signal.SIGKILL)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        return f"process group {pgid} did not die after SIGKILL"
    return f"did not stop within {grace:g} s of SIGTERM; killed"


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def _group_alive(pgid: int) -> bool:
    return _signal_group(pgid, 0)
