"""`mcptest bridges check` through typer's CliRunner, against real loopback servers and a tmp_path config."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bridge_servers import BridgeServer, Reply, always, degraded_for, free_port
from typer.testing import CliRunner

from mcptest import exitcodes
from mcptest.cli_bridges import app

runner = CliRunner()


def write_config(tmp_path: Path, bridges: dict[str, str]) -> Path:
    """A minimal valid project in tmp_path whose config declares ``bridges`` (name -> url)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("X = 1\n")
    (tmp_path / "tests").mkdir()
    lines = ["version: 1", "source: [pkg]", "suites:", "  unit: {paths: [tests]}"]
    if bridges:
        lines.append("bridges:")
        lines += [f'  {name}: {{url: "{url}", read_timeout: 2s}}' for name, url in bridges.items()]
    path = tmp_path / "mcptest.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_all_accepted_prints_a_table_and_exits_0(tmp_path: Path) -> None:
    with BridgeServer(always(Reply(200, {"status": "ok", "whatsapp_connected": True}))) as server:
        config = write_config(tmp_path, {"go": server.url})
        result = runner.invoke(app, ["check", "-c", str(config)], env={"COLUMNS": "200"})
    assert result.exit_code == exitcodes.OK, result.output
    assert "go" in result.output
    assert f"{server.url}/health" in result.output
    assert "HTTP 200, status ok, whatsapp_connected true" in result.output
    assert "all 1 bridge(s) accepted" in result.output


def test_degraded_bridge_exits_3_and_says_why(tmp_path: Path) -> None:
    degraded = Reply(503, {"status": "degraded", "whatsapp_connected": False})
    with BridgeServer(always(degraded)) as go, BridgeServer(always(Reply())) as baileys:
        config = write_config(tmp_path, {"go": go.url, "baileys": baileys.url})
        result = runner.invoke(app, ["check", "--config", str(config)], env={"COLUMNS": "250"})
    assert result.exit_code == exitcodes.BRIDGE_UNAVAILABLE == 3
    assert "degraded" in result.output
    # the brackets of "[ok]" must survive rich's markup parsing
    assert (
        f"not accepted: bridge go ({go.url}/health) is degraded: HTTP 503, status degraded,"
        " whatsapp_connected false; the config requires [ok]" in result.output
    )
    assert "bridge baileys" not in result.output


def test_json_output_is_a_list_of_probes(tmp_path: Path) -> None:
    port = free_port()
    with BridgeServer(always(Reply())) as server:
        config = write_config(tmp_path, {"go": server.url, "baileys": f"http://127.0.0.1:{port}"})
        result = runner.invoke(app, ["check", "--json", "-c", str(config)])
    assert result.exit_code == exitcodes.BRIDGE_UNAVAILABLE
    probes = json.loads(result.stdout)
    assert [(p["name"], p["status"]) for p in probes] == [("go", "ok"), ("baileys", "unreachable")]
    assert probes[1]["reason"] == "connection refused"
    assert probes[1]["http_status"] is None
    assert probes[0]["accepted"] == ["ok"]
    assert set(probes[0]) >= {"url", "response_time_ms", "checked_at", "started_by_mcptest"}


def test_names_select_bridges(tmp_path: Path) -> None:
    port = free_port()
    with BridgeServer(always(Reply())) as server:
        config = write_config(tmp_path, {"go": server.url, "baileys": f"http://127.0.0.1:{port}"})
        result = runner.invoke(app, ["check", "go", "--json", "-c", str(config)])
    assert result.exit_code == exitcodes.OK, result.output
    assert [p["name"] for p in json.loads(result.stdout)] == ["go"]


def test_wait_polls_until_accepted(tmp_path: Path) -> None:
    def respond(n: int) -> Reply:
        return Reply(503, {"status": "degraded"}) if n == 1 else Reply()

    with BridgeServer(respond) as server:
        config = write_config(tmp_path, {"go": server.url})
        result = runner.invoke(app, ["check", "--wait", "5", "--json", "-c", str(config)])
    assert result.exit_code == exitcodes.OK, result.output
    assert server.hits == 2
    assert json.loads(result.stdout)[0]["status"] == "ok"


def test_wait_says_how_long_it_waited_for_each_bridge(tmp_path: Path) -> None:
    with BridgeServer(degraded_for(0.6)) as go, BridgeServer(always(Reply())) as baileys:
        config = write_config(tmp_path, {"go": go.url, "baileys": baileys.url})
        started = time.monotonic()
        result = runner.invoke(app, ["check", "--wait", "10", "-c", str(config)], env={"COLUMNS": "200"})
        elapsed = time.monotonic() - started
    assert result.exit_code == exitcodes.OK, result.output
    assert elapsed < 5.0  # done at the first poll after 0.6 s (every 0.5 s), not after --wait's 10 s
    waits = [float(w) for w in re.findall(r"waited (\d+\.\d) s", result.output)]
    assert len(waits) == 2, result.output  # one per bridge, in the order of the table: go, baileys
    assert 0.6 <= waits[0] <= round(elapsed, 1)  # shown to one decimal: compared at the same precision
    assert waits[1] < 0.5  # healthy at the first probe


def test_wait_records_how_long_it_waited_in_the_json(tmp_path: Path) -> None:
    with BridgeServer(degraded_for(0.3)) as server:
        config = write_config(tmp_path, {"go": server.url})
        result = runner.invoke(app, ["check", "--wait", "5", "--json", "-c", str(config)])
    assert result.exit_code == exitcodes.OK, result.output
    (probe,) = json.loads(result.stdout)
    assert probe["status"] == "ok" and server.hits >= 2
    assert 0.3 <= probe["waited_s"] < 2.0


def test_without_wait_no_waited_time_is_shown(tmp_path: Path) -> None:
    with BridgeServer(always(Reply())) as server:
        config = write_config(tmp_path, {"go": server.url})
        table = runner.invoke(app, ["check", "-c", str(config)], env={"COLUMNS": "200"})
        as_json = runner.invoke(app, ["check", "--json", "-c", str(config)])
    assert table.exit_code == as_json.exit_code == exitcodes.OK
    assert "waited" not in table.output
    assert json.loads(as_json.stdout)[0]["waited_s"] is None


def test_unknown_bridge_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"go": "http://127.0.0.1:9"})
    result = runner.invoke(app, ["check", "whatsmeow", "-c", str(config)])
    assert result.exit_code == exitcodes.CONFIG_ERROR
    assert "unknown bridge 'whatsmeow' (configured: go)" in result.stderr


def test_no_bridges_configured_is_a_usage_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    result = runner.invoke(app, ["check", "-c", str(config)])
    assert result.exit_code == exitcodes.CONFIG_ERROR
    assert "no bridges are configured" in result.stderr


def test_missing_config_is_a_config_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "-c", str(tmp_path / "nope.yaml")])
    assert result.exit_code == exitcodes.CONFIG_ERROR
    assert "nope.yaml" in result.stderr


def test_negative_wait_is_rejected(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"go": "http://127.0.0.1:9"})
    result = runner.invoke(app, ["check", "--wait", "-1", "-c", str(config)])
    assert result.exit_code == 2  # click's own usage error, before any probe
    assert "--wait" in result.output


def test_help_documents_every_option_and_has_an_example() -> None:
    result = runner.invoke(app, ["check", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for option in ("--wait", "--json", "--config", "-c"):
        assert option in result.output
    assert "Example: mcptest bridges check" in result.output
    command = __import__("typer").main.get_command(app).commands["check"]
    undocumented = [p.name for p in command.params if not getattr(p, "help", None)]
    assert undocumented == []


@pytest.mark.parametrize("module", ["requests", "rich.console", "mcptest.bridges", "mcptest.config"])
def test_importing_the_cli_module_stays_light(module: str) -> None:
    code = f"import sys, mcptest.cli_bridges; sys.exit({module!r} in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
