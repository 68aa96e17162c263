"""The pytest plugin's fixtures (go_bridge, baileys_bridge, bridge_control), run in a pytest subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from bridge_servers import free_port
from projects import env

from mcptest.sim.server import make_sim, serve


def run_pytest(root: Path, source: str, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run pytest on one test file written into ``root``, whose conftest.py asks for the plugin (as documented)."""
    (root / "conftest.py").write_text('pytest_plugins = ["mcptest.sim.fixtures"]\n')
    (root / "test_inner.py").write_text(textwrap.dedent(source))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "test_inner.py"],
        cwd=root, capture_output=True, text=True, timeout=120, env={**env(), **(extra_env or {})},
        stdin=subprocess.DEVNULL,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] != "Z"
    except OSError:
        return True


def test_fixtures_kill_refuses_restart_same_port_and_next_test_is_reset(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, """
        import json, os
        import pytest, requests

        def test_kill_and_restart(go_bridge, baileys_bridge):
            assert go_bridge.url != baileys_bridge.url
            assert requests.get(go_bridge.url + "/health", timeout=5).json()["status"] == "ok"
            assert requests.get(baileys_bridge.url + "/health", timeout=5).json()["connected"] is True
            go_bridge.control.seed(messages=[{"id": "a", "chat_jid": "1@g.us", "timestamp": 1}])
            assert len(go_bridge.control.stored()) == 1
            port = go_bridge.port
            go_bridge.kill()
            with pytest.raises(requests.exceptions.ConnectionError, match="(?i)refused"):
                requests.get(go_bridge.url + "/health", timeout=(1, 1))
            go_bridge.restart()
            assert go_bridge.port == port
            assert requests.get(go_bridge.url + "/health", timeout=5).status_code == 200
            assert go_bridge.control.stored() == []   # a new process: an empty store
            go_bridge.control.fail(500, ["/api/stats"])
            go_bridge.kill()                          # left dead for the next test

        def test_next_test_gets_a_live_reset_bridge(go_bridge):
            assert go_bridge.alive
            assert go_bridge.control.state()["faults"] == []
            assert requests.get(go_bridge.url + "/api/stats", timeout=5).status_code == 200
            with open("pids.json", "w") as f:
                json.dump([go_bridge.process.pid], f)

        def test_control_helpers_over_http(baileys_bridge):
            c = baileys_bridge.control
            c.set_latency(0.2, ["/health"])
            c.set_connected(False)
            c.drop(["/api/clear"], times=1)
            with pytest.raises(requests.exceptions.ConnectionError):
                requests.post(baileys_bridge.url + "/api/clear", timeout=5)
            assert requests.get(baileys_bridge.url + "/health", timeout=5).json()["connected"] is False
            assert c.statuses("/api/clear") == [0] and c.statuses("/health") == [200]
            assert c.served() >= 1
            c.clear_faults()
            assert c.state()["latency"] == [] and c.state()["faults"] == []
            with open("pids_b.json", "w") as f:
                json.dump([baileys_bridge.process.pid], f)
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    pids = json.loads((tmp_path / "pids.json").read_text()) + json.loads((tmp_path / "pids_b.json").read_text())
    assert not any(_alive(pid) for pid in pids)  # the session stopped its simulators


def test_fixtures_bridge_control_uses_env_urls_and_resets_before_each_test(tmp_path: Path) -> None:
    with serve(make_sim("go")) as go, serve(make_sim("baileys")) as baileys:
        go.sim.inject_status(503, ["/api/stats"])  # left over from "an earlier test": must be reset away
        result = run_pytest(tmp_path, f"""
            import requests

            def test_first(bridge_control):
                assert bridge_control.go.url == "{go.url}"
                assert bridge_control.baileys.url == "{baileys.url}"
                assert requests.get("{go.url}/api/stats", timeout=5).status_code == 200
                bridge_control.baileys.seed(messages=[{{"id": "x", "chat_jid": "1@g.us", "timestamp": 1}}])
                bridge_control.go.fail(500, ["/api/stats"])

            def test_second(bridge_control):
                assert bridge_control.baileys.stored() == []
                assert requests.get("{go.url}/api/stats", timeout=5).status_code == 200
        """, {"GO_BRIDGE_URL": go.url + "/", "BAILEYS_BRIDGE_URL": baileys.url})
        assert result.returncode == 0, result.stdout + result.stderr
        assert "2 passed" in result.stdout
        assert [c.status for c in go.sim.history("/api/stats")] == [200]  # only test_second's call remains


def test_fixtures_bridge_control_without_simulators_errors_clearly(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = run_pytest(tmp_path, """
        def test_needs_bridges(bridge_control):
            pass
    """, {"GO_BRIDGE_URL": url, "BAILEYS_BRIDGE_URL": url})
    assert result.returncode == 1
    assert "1 error" in result.stdout
    assert f"SimControlError: simulator at {url} is not reachable" in result.stdout


def test_fixtures_plugin_import_is_cheap_and_side_effect_free(tmp_path: Path) -> None:
    probe = (
        "import sys, threading, mcptest.sim.fixtures as f\n"
        "heavy = ['requests', 'sqlite3', 'mcptest.sim.process', 'mcptest.sim.server', 'mcptest.sim.behaviour']\n"
        "print(sorted(m for m in heavy if m in sys.modules), threading.active_count())\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env=env(), check=True).stdout
    assert out.strip() == "[] 1"
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_fixtures_unused_start_no_simulator_process(tmp_path: Path) -> None:
    result = run_pytest(tmp_path, """
        import os, subprocess

        def test_plain():
            mine = ["ps", "-o", "args=", "--ppid", str(os.getpid())]
            out = subprocess.run(mine, capture_output=True, text=True, check=True).stdout
            assert "ps -o args=" in out and "mcptest.cli_sim" not in out
    """)
    assert result.returncode == 0, result.stdout + result.stderr
