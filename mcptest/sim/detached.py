"""Simulators kept running between commands (``mcptest bridges up | down | status``): pid files and their processes.

A simulator started here runs detached in its own session, on the port of its bridge's URL; a JSON pid
file in ``<report dir>/sims/`` records it, and only a process that still is a mcptest simulator is ever
signalled (a recycled pid is left alone).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcptest import lifecycle
from mcptest.sim.process import SimProcess, SimStartError

LOCAL_HOSTS = ("127.0.0.1", "localhost")


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
