"""`mcptest sim` as a real process, `mcptest bridges up/status/down`, and placeholders in start commands."""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from bridge_servers import free_port
from projects import env
from typer.testing import CliRunner

from mcptest import exitcodes
from mcptest.bridges import BridgeStarter, command_argv, probe
from mcptest.cli_bridges import app as bridges_app
from mcptest.cli_sim import app as sim_app
from mcptest.config_model import BridgeConfig
from mcptest.sim.detached import read_pidfile, write_pidfile
from mcptest.sim.process import ANNOUNCEMENT
from mcptest.sim.server import make_sim, port_in_use, serve

#: The commands of `mcptest sim` (the same typer app the main CLI mounts), run as their own process.
SIM = [sys.executable, "-m", "mcptest.cli_sim"]
runner = CliRunner()


@contextlib.contextmanager
def start_sim(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run `sim ARGS`; yield the process and its announcement line; kill it if the test left it running."""
    proc = subprocess.Popen([*SIM, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                            stdin=subprocess.DEVNULL)
    assert proc.stdout is not None
    try:
        yield proc, proc.stdout.readline()  # the command prints its one line as soon as it listens
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)  # reaps it and closes the pipes


def test_sim_go_subprocess_serves_health_and_sigterm_exits_0_freeing_port() -> None:
    port = free_port()
    with start_sim("go", "--port", str(port)) as (proc, line):
        assert line == f"mcptest sim: go bridge simulator on http://127.0.0.1:{port} (control: /_sim/)\n"
        health = requests.get(f"http://127.0.0.1:{port}/health", timeout=5)
        assert (health.status_code, health.json()["status"]) == (200, "ok")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert not port_in_use(port)


def test_sim_baileys_port_zero_picks_a_free_port_and_sigint_exits_0() -> None:
    with start_sim("baileys", "--port", "0") as (proc, line):
        match = ANNOUNCEMENT.match(line)
        assert match is not None and match.group(1) == "baileys", line
        port = int(match.group(2))
        assert requests.get(f"http://127.0.0.1:{port}/health", timeout=5).json()["connected"] is True
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


def test_sim_port_taken_exits_4_with_one_line() -> None:
    with serve(make_sim("go")) as taken:
        result = subprocess.run([*SIM, "go", "--port", str(taken.port)], capture_output=True, text=True,
                                timeout=30, env=env(), stdin=subprocess.DEVNULL)
    assert result.returncode == exitcodes.CONFIG_ERROR == 4
    assert result.stdout == ""
    assert result.stderr == f"mcptest sim: error: port {taken.port} on 127.0.0.1 is already in use\n"


def test_sim_db_file_holds_the_store(tmp_path: Path) -> None:
    db = tmp_path / "go.sqlite"
    with start_sim("go", "--port", "0", "--db", str(db)) as (proc, line):
        match = ANNOUNCEMENT.match(line)
        assert match is not None, line
        url = f"http://127.0.0.1:{match.group(2)}"
        requests.post(f"{url}/api/send", json={"recipient": "1", "message": "kept"}, timeout=5)
        assert requests.get(f"{url}/health", timeout=5).json()["database_path"] == str(db)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT content FROM messages").fetchall() == [("kept",)]
    finally:
        conn.close()


def test_sim_help_lists_both_simulators_with_examples() -> None:
    result = runner.invoke(sim_app, ["--help"])
    assert result.exit_code == 0
    assert "go" in result.output and "baileys" in result.output
    for command in ("go", "baileys"):
        text = runner.invoke(sim_app, [command, "--help"], env={"COLUMNS": "200"}).output
        assert f"Example: mcptest sim {command}" in text
        assert "--port" in text and "--db" in text


# --------------------------------------------------------------------------- bridges up / status / down


def write_project(root: Path, go_port: int, baileys_port: int, extra: str = "") -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "tests").mkdir()
    (root / "mcptest.yaml").write_text(
        "version: 1\nsource: [pkg]\nsuites:\n  unit: {paths: [tests]}\nbridges:\n"
        f'  go: {{url: "http://127.0.0.1:{go_port}"}}\n'
        f'  baileys: {{url: "http://localhost:{baileys_port}"}}\n' + extra
    )
    return root


def cli(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mcptest", "bridges", *args], cwd=root, capture_output=True,
                          text=True, timeout=60, env=env(), stdin=subprocess.DEVNULL)


def test_bridges_up_status_down_round_trip(tmp_path: Path) -> None:
    go_port, baileys_port = free_port(), free_port()
    root = write_project(tmp_path, go_port, baileys_port)
    sims = root / ".mcptest" / "sims"
    try:
        up = cli(root, "up")
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"go: started (pid {read_pidfile(sims / 'go.pid')['pid']}) on http://127.0.0.1:{go_port}; ok" \
            in up.stdout  # type: ignore[index]
        assert "baileys: started" in up.stdout
        assert requests.get(f"http://127.0.0.1:{baileys_port}/health", timeout=5).json()["connected"] is True
        assert (sims / "go.log").read_text().startswith("mcptest sim: go bridge simulator")

        again = cli(root, "up", "go")
        assert again.returncode == 0 and "go: already running" in again.stdout

        status = cli(root, "status")
        assert status.returncode == 0
        assert "go: simulator running (pid" in status.stdout and "is ok: HTTP 200" in status.stdout
    finally:
        down = cli(root, "down")
    assert down.returncode == 0, down.stderr
    assert "go: stopped (pid" in down.stdout and "baileys: stopped (pid" in down.stdout
    assert not (sims / "go.pid").exists() and not (sims / "baileys.pid").exists()
    assert not port_in_use(go_port) and not port_in_use(baileys_port)
    after = cli(root, "status")
    assert after.returncode == exitcodes.BRIDGE_UNAVAILABLE
    assert "go: no simulator started by mcptest" in after.stdout and "unreachable: connection refused" in after.stdout


def test_bridges_down_removes_a_stale_pid_file(tmp_path: Path) -> None:
    root = write_project(tmp_path, free_port(), free_port())
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_pidfile(root / ".mcptest" / "sims" / "go.pid", pid=dead.pid, name="go")
    status = cli(root, "status", "go")
    assert f"go: stale pid file (pid {dead.pid})" in status.stdout
    down = cli(root, "down", "go")
    assert down.returncode == 0
    assert f"go: stale (pid {dead.pid}); process {dead.pid} is gone; stale pid file removed" in down.stdout
    assert not (root / ".mcptest" / "sims" / "go.pid").exists()


def test_bridges_up_port_taken_exits_3_and_says_so(tmp_path: Path) -> None:
    with serve(make_sim("go")) as squatter:
        root = write_project(tmp_path, squatter.port, free_port())
        result = cli(root, "up", "go", "--wait", "2")
    assert result.returncode == exitcodes.BRIDGE_UNAVAILABLE  # someone else's server answers: not ours
    assert "go: failed" in result.stdout
    assert f"port {squatter.port} on 127.0.0.1 is already in use" in result.stderr
    assert not (root / ".mcptest" / "sims" / "go.pid").exists()


def test_bridges_up_refuses_a_remote_url_before_starting_anything(tmp_path: Path) -> None:
    root = write_project(tmp_path, free_port(), free_port())
    config = (root / "mcptest.yaml").read_text().replace("http://localhost:", "http://10.1.2.3:")
    (root / "mcptest.yaml").write_text(config)
    result = cli(root, "up")
    assert result.returncode == exitcodes.CONFIG_ERROR
    assert "bridge baileys: http://10.1.2.3:" in result.stderr and "not an http URL on 127.0.0.1" in result.stderr
    assert not (root / ".mcptest" / "sims" / "go.pid").exists()  # go was not started either


def test_bridges_up_refuses_a_bridge_without_simulator(tmp_path: Path) -> None:
    root = write_project(tmp_path, free_port(), free_port(), '  signal: {url: "http://127.0.0.1:9"}\n')
    result = cli(root, "up", "signal")
    assert result.returncode == exitcodes.CONFIG_ERROR
    assert "bridge 'signal' has no simulator (simulators exist for: go, baileys)" in result.stderr


def test_bridges_commands_have_help_and_examples() -> None:
    for command in ("up", "down", "status"):
        result = runner.invoke(bridges_app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0
        assert f"Example: mcptest bridges {command}" in result.output
        assert "--config" in result.output


# --------------------------------------------------------------------------- start command placeholders


def test_command_argv_fills_python_port_and_host() -> None:
    bridge = BridgeConfig(name="go", url="http://localhost:8123")
    assert command_argv("{python} -m mcptest sim go --port {port} --host {host}", bridge) == [
        sys.executable, "-m", "mcptest", "sim", "go", "--port", "8123", "--host", "localhost"]
    # replaced after splitting: an interpreter path with spaces stays one argument; unknown braces stay
    assert command_argv("'{python}' -c 'print({1})'", bridge) == [sys.executable, "-c", "print({1})"]
    assert command_argv("run --port {port}", BridgeConfig(name="x", url="http://h")) == ["run", "--port", "80"]


def test_start_command_with_python_placeholder_runs_without_mcptest_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = free_port()
    bridge = BridgeConfig(name="go", url=f"http://127.0.0.1:{port}",
                          start="{python} -m mcptest.cli_sim go --port {port}", start_timeout=20)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # neither mcptest nor python can be found on PATH
    with BridgeStarter(log_dir=tmp_path / "logs") as starter:
        probes = starter.ensure([bridge])
        assert (probes[0].status, probes[0].started_by_mcptest) == ("ok", True)
    assert starter.stop_problems == []
    assert probe(bridge).status == "unreachable"
    assert not port_in_use(port)


def test_sim_answers_quickly_after_start() -> None:
    started = time.monotonic()
    with start_sim("go", "--port", "0") as (proc, line):
        assert ANNOUNCEMENT.match(line) is not None
        assert time.monotonic() - started < 10
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
