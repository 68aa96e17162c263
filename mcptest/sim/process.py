"""Simulators as separate processes (start, kill, restart on the same port) and their control API over HTTP.

A process started here runs ``python -m mcptest.cli_sim KIND --port N`` (the commands of ``mcptest sim``)
in its own session, with stdout and stderr appended to a log file; it is ready when it has printed its
announcement line. Killing it closes its socket, so callers see a real "connection refused".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from mcptest import lifecycle

ANNOUNCEMENT = re.compile(r"mcptest sim: (\w+) bridge simulator on http://127\.0\.0\.1:(\d+) ")
_POLL = 0.02


class SimStartError(RuntimeError):
    """A simulator process exited or stayed silent instead of announcing that it listens."""


class SimControlError(RuntimeError):
    """The control API of a simulator could not be used (not running, or not a simulator)."""


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


class BridgeControl:
    """The ``/_sim/`` control API of a simulator at ``url``, as Python calls.

    Every method raises SimControlError when the simulator cannot be reached or is not a simulator.
    """

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: never through a proxy from the environment

    def _call(self, method: str, route: str, body: dict[str, Any] | None = None,
              params: dict[str, str] | None = None) -> dict[str, Any]:
        url = f"{self.url}/_sim/{route}"
        try:
            response = self.session.request(method, url, json=body, params=params,
                                            timeout=(2.0, self.timeout))
        except requests.RequestException as exc:
            raise SimControlError(f"simulator at {self.url} is not reachable: {exc}") from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code != 200 or not isinstance(data, dict):
            what = "" if isinstance(data, dict) else " without JSON"
            raise SimControlError(f"{method} {url} answered HTTP {response.status_code}{what}: "
                                  "is it a mcptest simulator?")
        return data

    def state(self) -> dict[str, Any]:
        """``{bridge, connected, latency, faults, calls, messages, ...}``."""
        return self._call("GET", "state")

    def reset(self) -> None:
        """Forget data, faults, latency and call history; connected again."""
        self._call("POST", "reset")

    def set_connected(self, connected: bool) -> None:
        """WhatsApp (dis)connected: Go's /health says 503 degraded, Baileys' says connected false."""
        self._call("POST", "connected", {"connected": connected})

    def set_latency(self, seconds: float, paths: Iterable[str] | None = None) -> None:
        """Delay answers on matching paths (globs; all bridge routes when None); 0 clears every rule."""
        self._call("POST", "latency", {"seconds": seconds, "paths": None if paths is None else list(paths)})

    def fail(self, status: int = 500, paths: Iterable[str] | None = None, *, times: int | None = None,
             after: int = 0, body: Any = None) -> None:
        """Answer ``status`` on matching paths for ``times`` calls (None: always), after ``after`` calls."""
        self._call("POST", "fault", {"status": status, "paths": None if paths is None else list(paths),
                                     "times": times, "after": after, "body": body})

    def drop(self, paths: Iterable[str] | None = None, *, times: int | None = None, after: int = 0) -> None:
        """Close the connection without an answer on matching paths."""
        self._call("POST", "fault", {"drop": True, "paths": None if paths is None else list(paths),
                                     "times": times, "after": after})

    def clear_faults(self) -> None:
        """Remove every injected fault and latency rule."""
        self._call("POST", "faults/clear")

    def seed(self, data: dict[str, Any] | None = None, **parts: Any) -> None:
        """Add data: ``chats``, ``communities``, ``groups``, ``messages``, ``history`` (Baileys)."""
        self._call("POST", "seed", {**(data or {}), **parts})

    def calls(self, path: str | None = None) -> list[dict[str, Any]]:
        """The call history since the last reset: ``[{method, path, status, time}]``, optionally by glob."""
        return list(self._call("GET", "calls", params={"path": path} if path else None)["calls"])

    def statuses(self, path: str) -> list[int]:
        """The HTTP statuses answered on ``path`` (a glob) since the last reset, in order (0: dropped)."""
        return [int(c["status"]) for c in self.calls(path)]

    def stored(self, chat_jid: str | None = None) -> list[dict[str, Any]]:
        """Raw rows of the bridge's message table, oldest first (Go: with is_read; Baileys: temp store)."""
        return list(self._call("GET", "store", params={"chat_jid": chat_jid} if chat_jid else None)["rows"])

    def served(self) -> int:
        """Requests the process received on bridge routes other than /health since it started."""
        return int(self._call("GET", "server")["served"])

    def close(self) -> None:
        self.session.close()


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


def read_pidfile(path: Path) -> dict[str, Any] | None:
    """The JSON record of a pid file written by ``write_pidfile``, or None when missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def write_pidfile(path: Path, **record: Any) -> None:
    """Write ``record`` (with at least ``pid``) as JSON, atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record), encoding="utf-8")
    os.replace(tmp, path)


def is_simulator_process(pid: int) -> bool:
    """Whether ``pid`` runs and is a mcptest simulator (so a recycled pid is never signalled)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return True  # no /proc (macOS): trust the pid file
    return b"mcptest" in cmdline and (b"cli_sim" in cmdline or b" sim " in cmdline)


# --------------------------------------------------------------------------- simulators kept running


LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class ManagedSim:
    """What ``bridges up/down/status`` did or found for one configured bridge."""

    name: str
    url: str
    state: str  # started | already running | failed | stopped | killed | stale | not running | running
    pid: int | None = None
    detail: str = ""


def sim_target(name: str, url: str) -> tuple[str, int]:
    """(simulator kind, port) for a bridge: its name must be a simulator kind, its URL on 127.0.0.1."""
    from urllib.parse import urlsplit

    from mcptest.errors import UsageError
    from mcptest.sim.server import KINDS

    if name not in KINDS:
        raise UsageError(f"bridge {name!r} has no simulator (simulators exist for: {', '.join(KINDS)})")
    parts = urlsplit(url)
    if parts.scheme != "http" or parts.hostname not in LOCAL_HOSTS:
        raise UsageError(f"bridge {name}: {url} is not an http URL on 127.0.0.1 or localhost; "
                         "simulators only listen on 127.0.0.1, so they are not started for it")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not port:
        raise UsageError(f"bridge {name}: {url} names no port")
    return name, port


def pidfile_path(sims_dir: Path, name: str) -> Path:
    return sims_dir / f"{name}.pid"


def start_detached(name: str, url: str, sims_dir: Path, *, timeout: float = 15.0,
                   cwd: Path | None = None) -> ManagedSim:
    """Start the simulator of bridge ``name`` on its URL's port, detached; record it in a pid file."""
    kind, port = sim_target(name, url)
    pidfile = pidfile_path(sims_dir, name)
    record = read_pidfile(pidfile)
    if record is not None and is_simulator_process(record["pid"]):
        return ManagedSim(name, url, "already running", record["pid"], f"log {sims_dir / f'{name}.log'}")
    pidfile.unlink(missing_ok=True)
    process = SimProcess(kind, port, log_path=sims_dir / f"{name}.log", cwd=cwd)
    try:
        process.start(timeout)
    except SimStartError as exc:
        return ManagedSim(name, url, "failed", None, str(exc))
    write_pidfile(pidfile, pid=process.pid, name=name, kind=kind, port=port, url=url,
                  log=str(process.log_path))
    return ManagedSim(name, url, "started", process.pid, f"log {process.log_path}")


def stop_detached(name: str, url: str, sims_dir: Path, *, grace: float = 5.0) -> ManagedSim:
    """Stop the simulator a pid file records (SIGTERM, SIGKILL after ``grace`` s); remove a stale pid file."""
    pidfile = pidfile_path(sims_dir, name)
    record = read_pidfile(pidfile)
    if record is None:
        if pidfile.exists():
            pidfile.unlink()
            return ManagedSim(name, url, "stale", None, f"unreadable pid file {pidfile} removed")
        return ManagedSim(name, url, "not running", None, "no simulator started by mcptest")
    pid = record["pid"]
    if not is_simulator_process(pid):
        pidfile.unlink(missing_ok=True)
        return ManagedSim(name, url, "stale", pid, f"process {pid} is gone; stale pid file removed")
    state = "stopped"
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    if not _wait_gone(pid, grace):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)
        state = "killed"
        _wait_gone(pid, 5.0)
    pidfile.unlink(missing_ok=True)
    detail = "" if state == "stopped" else f"no exit within {grace:g} s of SIGTERM"
    return ManagedSim(name, url, state, pid, detail)


def detached_state(name: str, url: str, sims_dir: Path) -> ManagedSim:
    """Whether mcptest runs a simulator for bridge ``name`` (by its pid file)."""
    record = read_pidfile(pidfile_path(sims_dir, name))
    if record is None:
        return ManagedSim(name, url, "not running", None, "no simulator started by mcptest")
    if not is_simulator_process(record["pid"]):
        return ManagedSim(name, url, "stale", record["pid"], "pid file left by a simulator that is gone")
    return ManagedSim(name, url, "running", record["pid"], f"log {record.get('log', '?')}")


def _pid_alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)  # reap it when it is our own child
        if done == pid:
            return False
    return lifecycle.alive(pid)


def _wait_gone(pid: int, timeout: float) -> bool:
    for _ in range(int(timeout / 0.05) + 1):
        if not _pid_alive(pid):
            return True
        time.sleep(0.05)
    return not _pid_alive(pid)
