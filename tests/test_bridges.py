"""Bridge preflight against real HTTP servers on 127.0.0.1: classification, timeouts, waiting, start/stop."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from bridge_servers import (
    BridgeServer,
    Reply,
    always,
    free_port,
    port_refuses,
    script_command,
    silent_listener,
)

from mcptest import bridges
from mcptest.config_model import BridgeConfig, Config
from mcptest.errors import UsageError
from mcptest.model import BridgeProbe


def bridge(url: str, name: str = "go", **kwargs: object) -> BridgeConfig:
    return BridgeConfig(name=name, url=url, **kwargs)  # type: ignore[arg-type]


def probe_reply(reply: Reply, **kwargs: object) -> tuple[BridgeProbe, BridgeServer]:
    with BridgeServer(always(reply)) as server:
        result = bridges.probe(bridge(server.url, **kwargs))
    return result, server


# --------------------------------------------------------------------------- classification


def test_go_bridge_connected_is_ok() -> None:
    body = {"status": "ok", "whatsapp_connected": True, "database_path": "x.db", "uptime_seconds": 3}
    result, server = probe_reply(Reply(200, body))
    assert result.status == "ok"
    assert bridges.is_accepted(result)
    assert result.http_status == 200
    assert result.reason == "HTTP 200, status ok, whatsapp_connected true"
    assert result.url == f"{server.url}/health"
    assert server.paths == ["/health"]
    assert result.response_time_ms is not None and 0 <= result.response_time_ms < 1000
    assert result.checked_at is not None and result.checked_at.endswith("+00:00")
    assert result.started_by_mcptest is False


def test_go_bridge_503_degraded_is_degraded_not_ok() -> None:
    result, _ = probe_reply(Reply(503, {"status": "degraded", "whatsapp_connected": False}))
    assert result.status == "degraded"
    assert not bridges.is_accepted(result)
    assert result.http_status == 503
    assert result.reason == "HTTP 503, status degraded, whatsapp_connected false"


def test_baileys_200_but_disconnected_is_degraded() -> None:
    result, _ = probe_reply(Reply(200, {"status": "ok", "connected": False, "uptime": 12}), name="baileys")
    assert result.status == "degraded"
    assert result.name == "baileys"
    assert "connected false" in result.reason


def test_degraded_is_accepted_when_the_config_accepts_it() -> None:
    result, _ = probe_reply(Reply(503, {"status": "degraded"}), accept=["ok", "degraded"])
    assert result.status == "degraded"
    assert result.accepted == ["ok", "degraded"]
    assert bridges.is_accepted(result)


def test_http_500_is_error_and_names_the_status() -> None:
    result, _ = probe_reply(Reply(500, {"status": "error", "message": "db locked"}))
    assert result.status == "error"
    assert result.http_status == 500
    assert result.reason.startswith("HTTP 500")
    assert "status error" in result.reason


def test_garbage_body_is_error() -> None:
    result, _ = probe_reply(Reply(200, b"<html>hello</html>"))
    assert result.status == "error"
    assert result.reason == "HTTP 200, body is not JSON"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([1, 2], "HTTP 200, body is not a JSON object"),
        ({"healthy": True}, "HTTP 200, body has no status string"),
        ({"status": "starting"}, "HTTP 200, status starting (expected status ok or degraded)"),
        ({"status": "ok", "connected": "yes"}, 'HTTP 200, status ok, connected is "yes" (not a boolean)'),
        (b"", "HTTP 200, body is empty"),
    ],
)
def test_unexpected_json_is_error(body: object, reason: str) -> None:
    result, _ = probe_reply(Reply(200, body))
    assert (result.status, result.reason) == ("error", reason)


@pytest.mark.parametrize("content_length", [True, False], ids=["declared", "streamed"])
def test_body_over_the_cap_is_error(content_length: bool) -> None:
    big = b'{"status": "ok", "pad": "' + b"x" * (bridges.MAX_BODY_BYTES + 10) + b'"}'
    result, _ = probe_reply(Reply(200, big, content_length=content_length))
    assert result.status == "error"
    assert result.reason == "HTTP 200, body larger than 64 KiB"


def test_body_just_under_the_cap_is_read() -> None:
    prefix, suffix = b'{"status": "ok", "pad": "', b'"}'
    body = prefix + b"x" * (bridges.MAX_BODY_BYTES - len(prefix) - len(suffix)) + suffix
    assert len(body) == bridges.MAX_BODY_BYTES
    result, _ = probe_reply(Reply(200, body, content_length=False))
    assert result.status == "ok"


def test_redirect_is_error_and_not_followed() -> None:
    with BridgeServer(always(Reply(200, {"status": "ok"}))) as elsewhere:
        target = f"http://localhost:{elsewhere.port}/health"
        result, _ = probe_reply(Reply(302, b"", headers={"Location": target}))
        assert elsewhere.hits == 0
    assert result.status == "error"
    assert result.http_status == 302
    assert target in result.reason
    assert "not followed" in result.reason


def test_refused_port_is_unreachable_fast() -> None:
    port = free_port()
    t0 = time.perf_counter()
    result = bridges.probe(bridge(f"http://127.0.0.1:{port}"))
    elapsed = time.perf_counter() - t0
    assert result.status == "unreachable"
    assert result.reason == "connection refused"
    assert result.http_status is None
    assert elapsed < 1.0, f"refused port took {elapsed:.3f} s"


def test_silent_server_is_cut_at_the_read_timeout() -> None:
    with silent_listener() as url:
        t0 = time.perf_counter()
        result = bridges.probe(bridge(url, read_timeout=0.3))
        elapsed = time.perf_counter() - t0
    assert result.status == "unreachable"
    assert result.reason == "no answer within 0.3 s (read timeout)"
    assert 0.25 <= elapsed < 1.5


def test_a_trickling_body_is_cut_at_the_total_deadline() -> None:
    body = b'{"status": "ok", "pad": "' + b"x" * 40_000 + b'"}'  # 40 pieces, 0.05 s apart: 2 s in all
    t0 = time.perf_counter()
    result, _ = probe_reply(Reply(200, body, trickle=0.05), connect_timeout=0.1, read_timeout=0.3)
    elapsed = time.perf_counter() - t0
    assert result.status == "unreachable"
    assert re.fullmatch(
        r"no complete answer within 0\.4 s \(connect \+ read timeout\): body incomplete \([1-9]\d* bytes so far\)",
        result.reason,
    ), result.reason
    assert elapsed < 1.0  # the deadline is connect + read timeout (0.4 s)


@pytest.mark.parametrize("url", ["127.0.0.1:8080", "ftp://127.0.0.1:8080", "http://[::1:8080"])
def test_invalid_url_is_error_not_a_crash(url: str) -> None:
    result = bridges.probe(bridge(url))
    assert result.status == "error"
    assert f"{url}/health" in result.reason


def test_unknown_host_is_unreachable_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(key, raising=False)
        monkeypatch.delenv(key.upper(), raising=False)
    t0 = time.perf_counter()
    result = bridges.probe(bridge("http://bridge.invalid:8080", read_timeout=1))
    assert result.status == "unreachable"
    # a resolver that answers says so at once; one that does not answer is cut at the deadline
    assert result.reason == "DNS lookup of bridge.invalid failed" or result.reason.startswith(
        "no complete answer within 1.5 s (connect + read timeout): no connection yet"
    ), result.reason
    assert time.perf_counter() - t0 < 1.5 + 2


# --------------------------------------------------------------------------- concurrency and waiting


def test_probe_all_is_concurrent_and_keeps_order() -> None:
    slow = Reply(200, {"status": "ok"}, delay=0.5)
    degraded = Reply(503, {"status": "degraded"}, delay=0.5)
    with BridgeServer(always(slow)) as a, BridgeServer(always(degraded)) as b:
        t0 = time.perf_counter()
        results = bridges.probe_all([bridge(a.url, "a"), bridge(b.url, "b")])
        elapsed = time.perf_counter() - t0
    assert [r.name for r in results] == ["a", "b"]
    assert [r.status for r in results] == ["ok", "degraded"]
    assert elapsed < 0.9, f"two 0.5 s probes took {elapsed:.3f} s"


def test_probe_all_of_nothing_is_nothing() -> None:
    assert bridges.probe_all([]) == []


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_wait_for_polls_until_the_bridge_turns_healthy() -> None:
    def respond(n: int) -> Reply:
        return Reply(503, {"status": "degraded"}) if n <= 3 else Reply(200, {"status": "ok"})

    fake = FakeTime()
    with BridgeServer(respond) as server:
        results = bridges.wait_for([bridge(server.url)], 10, interval=0.5, clock=fake.clock, sleep=fake.sleep)
    assert [r.status for r in results] == ["ok"]
    assert server.hits == 4
    assert fake.sleeps == [0.5, 0.5, 0.5]


def test_wait_for_gives_up_after_wait_seconds() -> None:
    fake = FakeTime()
    with BridgeServer(always(Reply(503, {"status": "degraded"}))) as server:
        results = bridges.wait_for(
            [bridge(server.url)], 2.0, interval=0.75, clock=fake.clock, sleep=fake.sleep
        )
    assert [r.status for r in results] == ["degraded"]
    assert sum(fake.sleeps) == pytest.approx(2.0)
    assert fake.sleeps == [0.75, 0.75, 0.5]
    assert server.hits == 4


def test_wait_for_is_bounded_when_the_clock_stands_still() -> None:
    with BridgeServer(always(Reply(500, {"status": "error"}))) as server:
        results = bridges.wait_for(
            [bridge(server.url)], 1.0, interval=0.25, clock=lambda: 0.0, sleep=lambda s: None
        )
    assert results[0].status == "error"
    assert server.hits == 5  # ceil(1.0 / 0.25) + 1 polls, then it stops


def test_wait_zero_probes_once() -> None:
    with BridgeServer(always(Reply(503, {"status": "degraded"}))) as server:
        bridges.wait_for([bridge(server.url)], 0, sleep=lambda s: pytest.fail("must not sleep"))
    assert server.hits == 1


def test_wait_for_says_how_long_it_waited_for_each_bridge() -> None:
    fake = FakeTime()
    late = lambda n: Reply(503, {"status": "degraded"}) if n <= 2 else Reply()  # noqa: E731
    with BridgeServer(always(Reply())) as ready, BridgeServer(late) as slow, BridgeServer(
        always(Reply(500, {"status": "error"}))
    ) as broken:
        cfgs = [bridge(ready.url, "ready"), bridge(slow.url, "slow"), bridge(broken.url, "broken")]
        results = bridges.wait_for(cfgs, 3.0, interval=0.5, clock=fake.clock, sleep=fake.sleep)
    assert [r.status for r in results] == ["ok", "ok", "error"]
    # accepted at the first poll, at the third (after two sleeps), never (given up after 3 s)
    assert [r.waited_s for r in results] == [0.0, 1.0, 3.0]


def test_wait_for_counts_a_wait_from_when_the_bridge_was_accepted_for_good() -> None:
    fake = FakeTime()
    flapping = {1: Reply(), 2: Reply(503, {"status": "degraded"})}  # ok, degraded, then ok for good
    with BridgeServer(lambda n: flapping.get(n, Reply())) as flaps, BridgeServer(
        lambda n: Reply(503, {"status": "degraded"}) if n <= 3 else Reply()
    ) as slow:
        cfgs = [bridge(flaps.url, "flaps"), bridge(slow.url, "slow")]
        results = bridges.wait_for(cfgs, 5.0, interval=0.5, clock=fake.clock, sleep=fake.sleep)
    assert [r.status for r in results] == ["ok", "ok"]
    assert [r.waited_s for r in results] == [1.0, 1.5]


def test_no_wait_records_no_waited_time() -> None:
    with BridgeServer(always(Reply())) as server:
        assert bridges.wait_for([bridge(server.url)], 0)[0].waited_s is None
        assert bridges.probe_all([bridge(server.url)])[0].waited_s is None


# --------------------------------------------------------------------------- preflight


def make_config(tmp_path: Path, **bridge_configs: BridgeConfig) -> Config:
    return Config(path=tmp_path / "mcptest.yaml", root=tmp_path, source=["pkg"], bridges=dict(bridge_configs))


def test_preflight_all_accepted(tmp_path: Path) -> None:
    with BridgeServer(always(Reply(200, {"status": "ok", "connected": True}))) as server:
        config = make_config(tmp_path, go=bridge(server.url, "go"), baileys=bridge(server.url, "baileys"))
        result = bridges.preflight(config, None, required_by=["integration"])
    assert result.ok
    assert result.reasons == []
    assert [p.name for p in result.probes] == ["go", "baileys"]
    assert all(p.required_by == ["integration"] for p in result.probes)


def test_preflight_names_the_refused_bridge(tmp_path: Path) -> None:
    port = free_port()
    with BridgeServer(always(Reply(200, {"status": "ok"}))) as server:
        config = make_config(
            tmp_path, go=bridge(f"http://127.0.0.1:{port}", "go"), baileys=bridge(server.url, "baileys")
        )
        result = bridges.preflight(config, ["go", "baileys", "go"], required_by=["integration"])
    assert not result.ok
    assert [p.name for p in result.probes] == ["go", "baileys"]
    assert result.reasons == [
        f"bridge go (http://127.0.0.1:{port}/health) is unreachable: connection refused;"
        " suite integration requires [ok]"
    ]


def test_preflight_only_probes_the_named_bridges(tmp_path: Path) -> None:
    with BridgeServer(always(Reply(200, {"status": "ok"}))) as used, BridgeServer(always(Reply())) as unused:
        config = make_config(tmp_path, go=bridge(used.url, "go"), baileys=bridge(unused.url, "baileys"))
        result = bridges.preflight(config, ["go"])
    assert result.ok
    assert (used.hits, unused.hits) == (1, 0)


def test_preflight_rejects_unknown_names(tmp_path: Path) -> None:
    config = make_config(tmp_path, go=bridge("http://127.0.0.1:1", "go"))
    with pytest.raises(UsageError, match=r"unknown bridge 'whatsmeow' \(configured: go\)"):
        bridges.preflight(config, ["whatsmeow"])


def test_preflight_waits_when_asked(tmp_path: Path) -> None:
    with BridgeServer(lambda n: Reply(503, {"status": "degraded"}) if n == 1 else Reply()) as server:
        config = make_config(tmp_path, go=bridge(server.url, "go"))
        result = bridges.preflight(config, None, wait=3, interval=0.05)
    assert result.ok
    assert server.hits == 2


# --------------------------------------------------------------------------- start and stop


def test_start_a_bridge_then_stop_it(tmp_path: Path) -> None:
    port = free_port()
    cfg = bridge(
        f"http://127.0.0.1:{port}",
        "sim",
        start=script_command("serve", "--port", str(port)),
        start_timeout=10,
    )
    with bridges.BridgeStarter(log_dir=tmp_path / "logs", interval=0.05) as starter:
        results = starter.ensure([cfg])
        assert results[0].status == "ok", results[0].reason
        assert results[0].started_by_mcptest
        assert results[0].waited_s is not None and 0.0 < results[0].waited_s < 10.0
        process = starter.started[0].process
        assert process.poll() is None
    assert process.poll() is not None
    assert port_refuses(port)
    assert bridges.probe(cfg).reason == "connection refused"
    assert "serving /health" in (tmp_path / "logs" / "bridge-sim.log").read_text()
    assert starter.stop_problems == []


def test_started_bridge_is_stopped_on_keyboard_interrupt(tmp_path: Path) -> None:
    port = free_port()
    cfg = bridge(
        f"http://127.0.0.1:{port}",
        "sim",
        start=script_command("serve", "--port", str(port)),
        start_timeout=10,
    )
    with pytest.raises(KeyboardInterrupt), bridges.started_bridges([cfg], log_dir=tmp_path) as results:
        assert results[0].status == "ok", results[0].reason
        assert not port_refuses(port)
        raise KeyboardInterrupt
    assert port_refuses(port)


def test_a_running_bridge_is_not_started_nor_stopped(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    with BridgeServer(always(Reply())) as server:
        cfg = bridge(server.url, "go", start=script_command("no-such-command"), stop=f"touch {marker}")
        with bridges.BridgeStarter(log_dir=tmp_path) as starter:
            results = starter.ensure([cfg])
            assert starter.started == []
        assert results[0].status == "ok"
        assert not results[0].started_by_mcptest
        assert server.hits == 1
    assert not marker.exists()


def test_detaching_start_command_is_stopped_by_the_stop_command(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "bridge.pid"
    cfg = bridge(
        f"http://127.0.0.1:{port}",
        "compose",
        start=script_command("daemon", "--port", str(port), "--pidfile", str(pidfile)),
        stop=script_command("kill", "--pidfile", str(pidfile)),
        start_timeout=10,
    )
    with bridges.BridgeStarter(log_dir=tmp_path, interval=0.05) as starter:
        results = starter.ensure([cfg])
        assert results[0].status == "ok", results[0].reason
        assert results[0].started_by_mcptest
        assert results[0].waited_s is not None and 0.0 < results[0].waited_s < 10.0
        assert starter.started[0].process.wait(timeout=5) == 0  # the start command itself exited 0
    assert starter.stop_problems == []
    assert port_refuses(port)


def test_a_detached_bridge_without_stop_command_is_reported(tmp_path: Path) -> None:
    port = free_port()
    pidfile = tmp_path / "bridge.pid"
    start = script_command("daemon", "--port", str(port), "--pidfile", str(pidfile))
    cfg = bridge(f"http://127.0.0.1:{port}", "compose", start=start, start_timeout=10)
    try:
        with bridges.BridgeStarter(log_dir=tmp_path, interval=0.05) as starter:
            assert starter.ensure([cfg])[0].status == "ok"
        assert starter.stop_problems == [
            f"bridge compose still answers on http://127.0.0.1:{port}/health (HTTP 200) after mcptest"
            " stopped what it started; configure a stop command"
        ]
    finally:
        subprocess.run(shlex.split(script_command("kill", "--pidfile", str(pidfile))), check=True)
    assert port_refuses(port)


def test_start_command_that_fails_is_reported_with_its_exit_code(tmp_path: Path) -> None:
    port = free_port()
    failing = script_command("no-such-command")  # argparse says why on stderr and exits 2
    cfg = bridge(f"http://127.0.0.1:{port}", "sim", start=failing, start_timeout=20)
    t0 = time.perf_counter()
    with bridges.BridgeStarter(log_dir=tmp_path, interval=0.05) as starter:
        results = starter.ensure([cfg])
    elapsed = time.perf_counter() - t0
    assert results[0].status == "unreachable"
    assert "start command exited with code 2 before the bridge was healthy" in results[0].reason
    assert "invalid choice: 'no-such-command'" in results[0].reason  # the tail of its log
    assert results[0].started_by_mcptest
    assert elapsed < 10, "an early exit must not wait for start_timeout"


def test_start_command_exit_1_is_reported(tmp_path: Path) -> None:
    cmd = shlex.join([sys.executable, "-c", "import sys; print('bridge crashed: no session'); sys.exit(1)"])
    cfg = bridge(f"http://127.0.0.1:{free_port()}", "sim", start=cmd, start_timeout=20)
    with bridges.BridgeStarter(log_dir=tmp_path, interval=0.05) as starter:
        result = bridges.preflight(make_config(tmp_path, sim=cfg), None, starter=starter)
    assert not result.ok
    (reason,) = result.reasons
    assert "exited with code 1" in reason
    assert "bridge crashed: no session" in reason


def test_missing_start_executable_is_reported(tmp_path: Path) -> None:
    cfg = bridge(f"http://127.0.0.1:{free_port()}", "sim", start="/nonexistent/bridge --port 1")
    with bridges.BridgeStarter(log_dir=tmp_path) as starter:
        results = starter.ensure([cfg])
        assert starter.started == []
    assert "start command '/nonexistent/bridge' could not be run" in results[0].reason
    assert not results[0].started_by_mcptest


def test_bridge_that_never_becomes_healthy_is_reported_and_stopped(tmp_path: Path) -> None:
    port = free_port()
    start = script_command("serve", "--port", str(port), "--status", "degraded")
    cfg = bridge(f"http://127.0.0.1:{port}", "sim", start=start, start_timeout=1.0)
    with bridges.BridgeStarter(log_dir=tmp_path, interval=0.05) as starter:
        results = starter.ensure([cfg])
    assert results[0].status == "degraded"
    assert "not accepted within 1 s of starting it" in results[0].reason
    assert port_refuses(port)
