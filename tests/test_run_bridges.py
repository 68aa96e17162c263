"""`mcptest run` with bridges: preflight refusal, managed simulators, traffic per bridge, --no-preflight."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import requests
from bridge_servers import BridgeServer, degraded_for
from projects import latest, make_project, mcptest

from mcptest import exitcodes
from mcptest.history import validate


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def config(port: int, *, start: bool = True) -> str:
    start_line = '    start: "{python} -m mcptest sim go --port {port}"\n' if start else ""
    return (
        "source: [pkg]\n"
        "suites:\n"
        "  integration: {paths: [tests], requires: [go]}\n"
        "bridges:\n"
        "  go:\n"
        f"    url: http://127.0.0.1:{port}\n"
        "    read_timeout: 2\n" + start_line
    )


USES_BRIDGE = """\
import os

import requests


def test_bridge_send_message_succeeds():
    url = os.environ.get("GO_URL")
    answer = requests.post(url + "/api/send", json={"recipient": "1@s.whatsapp.net", "message": "hi"}, timeout=5)
    assert answer.status_code == 200 and answer.json()["success"] is True
"""


def test_run_refuses_suite_when_required_bridge_is_down(tmp_path: Path) -> None:
    port = free_port()
    make_project(tmp_path, config(port, start=False))
    started = time.monotonic()
    result = mcptest(tmp_path, "run", "integration")
    assert time.monotonic() - started < 3 + 2  # the preflight itself is sub-second; python start-up is the rest
    assert result.code == exitcodes.BRIDGE_UNAVAILABLE, result.output
    assert f"bridge go (http://127.0.0.1:{port}/health) is unreachable: connection refused" in result.stdout
    record = latest(tmp_path)
    validate(record)
    assert record["suites"][0]["status"] == "not-run" and record["counts"]["total"] == 0
    assert [(b["name"], b["status"]) for b in record["bridges"]] == [("go", "unreachable")]


def test_run_starts_simulator_counts_traffic_and_stops_it(tmp_path: Path, monkeypatch) -> None:
    port = free_port()
    monkeypatch.setenv("GO_URL", f"http://127.0.0.1:{port}")
    make_project(tmp_path, config(port), {"tests/test_bridge.py": USES_BRIDGE})
    result = mcptest(tmp_path, "run", "integration")
    assert result.code == exitcodes.OK, result.output
    record = latest(tmp_path)
    assert record["bridges"][0]["started_by_mcptest"] is True and record["bridges"][0]["status"] == "ok"
    assert record["suites"][0]["bridge_calls"] == {"go": 1}
    try:
        requests.get(f"http://127.0.0.1:{port}/health", timeout=1)
        still_up = True
    except requests.ConnectionError:
        still_up = False
    assert not still_up, "the simulator mcptest started must be stopped after the run"


def test_run_flags_suite_that_required_bridge_but_sent_no_traffic(tmp_path: Path) -> None:
    make_project(tmp_path, config(free_port()))
    result = mcptest(tmp_path, "run", "integration")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    assert "suite integration requires go but sent them no traffic" in result.stdout
    assert latest(tmp_path)["suites"][0]["bridge_calls"] == {"go": 0}


def test_run_no_preflight_is_written_into_the_record(tmp_path: Path) -> None:
    make_project(tmp_path, config(free_port(), start=False))
    result = mcptest(tmp_path, "run", "integration", "--no-preflight")
    assert result.code == exitcodes.OK, result.output
    record = latest(tmp_path)
    assert record["selection"]["preflight"] is False and record["bridges"] == []
    assert any("bridge preflight skipped (--no-preflight)" in w for w in record["warnings"])


def test_run_wait_says_how_long_it_waited_for_the_bridge(tmp_path: Path) -> None:
    with BridgeServer(degraded_for(0.5)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        make_project(tmp_path, config(port, start=False))
        result = mcptest(tmp_path, "run", "integration", "--wait", "10", extra_env={"COLUMNS": "160"})
    assert result.code == exitcodes.OK, result.output
    assert server.hits >= 2  # degraded at first: the preflight waited for it
    (probe,) = latest(tmp_path)["bridges"]
    assert probe["status"] == "ok" and 0.5 <= probe["waited_s"] < 10
    assert f"waited {probe['waited_s']:.1f} s" in result.stdout  # in the bridges table
