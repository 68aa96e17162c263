"""Simulators as separate processes (start, kill, restart on the same port), each with its control API.

A process started here runs ``python -m mcptest.cli_sim KIND --port N`` (the commands of ``mcptest sim``)
in its own session, with stdout and stderr appended to a log file; it is ready when it has printed its
announcement line. Killing it closes its socket, so callers see a real "connection refused". ``SimBridge``
pairs a process with its ``BridgeControl`` (``control.py``); simulators kept running between commands
are in ``detached.py``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

from mcptest.sim.control import BridgeControl, SimControlError

__all__ = [
    "ANNOUNCEMENT",
    "BridgeControl",
    "SimBridge",
    "SimControlError",
    "SimProcess",
    "SimStartError",
    "sim_command",
]

ANNOUNCEMENT = re.compile(r"mcptest sim: (\w+) bridge simulator on http://127\.0\.0\.1:(\d+) ")
_POLL = 0.02


class SimStartError(RuntimeError):
    """A simulator process exited or stayed silent instead of announcing that it listens."""


def sim_command(kind: str, port: int, db: str | Path | None = None) -> list[str]:
    """The argv that runs simulator ``kind`` on ``port`` with this interpreter."""
    argv = [sys.executable, "-m", "mcptest.cli_sim", kind, "--port", str(port)]
    if db:
        argv += ["--db", str(db)]
    return argv


class SimProcess:
    """One simulator process; ``port=0`` lets the first start pick a free port, kept for restarts."""

    def __init__(self, kind: str, port: int = 0, *, log_path: Path, db: str | Path | None = None,
                 cwd: Path | None = None) -> None:
        self.kind = kind
        self.port = port
        self.log_path = Path(log_path)
        self.db = db
        self.cwd = cwd
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 15.0) -> SimProcess:
        """Start the process and wait (at most ``timeout`` s) until it announces its port."""
        if self.alive:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                sim_command(self.kind, self.port, self.db), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, cwd=self.cwd, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        for _ in range(int(timeout / _POLL) + 1):
            found = _announced(self.log_path, offset)
            if found is not None:
                self.port = found
                return self
            code = self.process.poll()
            if code is not None:
                raise SimStartError(f"{self.kind} simulator exited with code {code}: "
                                    f"{_tail(self.log_path, offset)}")
            if time.monotonic() > deadline:
                break
            time.sleep(_POLL)
        self.kill()
        raise SimStartError(f"{self.kind} simulator did not start within {timeout:g} s: "
                            f"{_tail(self.log_path, offset)}")

    def kill(self) -> None:
        """SIGKILL the process (no goodbye: its socket closes and the port refuses connections)."""
        self._signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after ``grace`` s; the exit code (None when it was never started)."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def restart(self, timeout: float = 15.0) -> SimProcess:
        """Kill it if it runs, then start it again on the same port (with an empty in-memory store)."""
        if self.alive:
            self.kill()
        return self.start(timeout)

    def _signal(self, sig: int) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, sig)



class SimBridge:
    """A simulator process with its control API: what the ``go_bridge``/``baileys_bridge`` fixtures give."""

    def __init__(self, process: SimProcess) -> None:
        self.process = process
        self.kind = process.kind
        self.control = BridgeControl(process.url)

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def port(self) -> int:
        return self.process.port

    @property
    def alive(self) -> bool:
        return self.process.alive

    def kill(self) -> None:
        """SIGKILL the process: new connections are refused, calls in flight are cut."""
        self.process.kill()

    def stop(self) -> int | None:
        """SIGTERM the process (a clean exit 0)."""
        return self.process.stop()

    def restart(self) -> None:
        """Start it again on the same port; its store starts empty."""
        self.process.restart()
        self.control = BridgeControl(self.process.url)

    def ensure(self) -> None:
        """Running (restarted when a previous test killed it) and reset."""
        if not self.process.alive:
            self.restart()
        self.control.reset()

    def __repr__(self) -> str:
        return f"<SimBridge {self.kind} {self.url} {'alive' if self.alive else 'stopped'}>"


def _announced(log_path: Path, offset: int) -> int | None:
    try:
        with open(log_path, "rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return None
    match = ANNOUNCEMENT.search(text)
    return int(match.group(2)) if match else None


def _tail(log_path: Path, offset: int, limit: int = 1500) -> str:
    try:
        with open(log_path, "rb") as log:
            log.seek(offset)
            text = log.read().decode("utf-8", "replace").strip()
    except OSError:
        return "(no log)"
    return (text[-limit:] or "(no output)").replace("\n", " | ")

