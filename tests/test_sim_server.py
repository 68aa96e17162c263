"""The simulators over real HTTP on 127.0.0.1: contract answers, control API, latency, drops, stop, ports."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import requests
from bridge_servers import BridgeServer, Reply, always, free_port

from mcptest.bridges import sim_call_count
from mcptest.config_model import BridgeConfig
from mcptest.errors import UsageError
from mcptest.sim.behaviour import BaileysBridgeSim, GoBridgeSim, generate_messages
from mcptest.sim.server import RunningServer, make_sim, port_in_use, serve


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.fixture
def go() -> Iterator[RunningServer]:
    server = serve(make_sim("go"))
    yield server
    server.stop()
    server.sim.close()


@pytest.fixture
def baileys() -> Iterator[RunningServer]:
    server = serve(make_sim("baileys"))
    yield server
    server.stop()
    server.sim.close()


def test_server_go_health_contract_body_and_headers(go: RunningServer, session: requests.Session) -> None:
    response = session.get(f"{go.url}/health", timeout=5)
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["whatsapp_connected"]) == ("ok", True)
    assert isinstance(body["uptime_seconds"], int)
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Content-Length"] == str(len(response.content))
    assert response.headers["Connection"] == "close"


def test_server_go_disconnected_health_503_degraded(go: RunningServer, session: requests.Session) -> None:
    assert session.post(f"{go.url}/_sim/connected", json={"connected": False}, timeout=5).json()["connected"] is False
    response = session.get(f"{go.url}/health", timeout=5)
    assert response.status_code == 503
    assert response.json()["status"] == "degraded"


def test_server_baileys_health_always_200_with_connected_flag(
    baileys: RunningServer, session: requests.Session
) -> None:
    session.post(f"{baileys.url}/_sim/connected", json={"connected": False}, timeout=5)
    response = session.get(f"{baileys.url}/health", timeout=5)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["connected"]) == ("ok", False)


def test_server_send_then_messages_round_trip_stores_wall_clock_time(
    go: RunningServer, session: requests.Session
) -> None:
    sent = session.post(f"{go.url}/api/send", json={"recipient": "15550001", "message": "hi"}, timeout=5)
    assert sent.status_code == 200 and sent.json() == {"success": True, "message": "Message sent to 15550001"}
    listed = session.get(f"{go.url}/api/messages", params={"chat_jid": "15550001@s.whatsapp.net"}, timeout=5)
    messages = listed.json()["messages"]
    assert [m["content"] for m in messages] == ["hi"]
    rows = session.get(f"{go.url}/_sim/store", timeout=5).json()["rows"]
    assert abs(rows[0]["timestamp"] - time.time()) < 60  # unix seconds, not an uptime counter


def test_server_error_statuses_follow_the_contract(go: RunningServer, session: requests.Session) -> None:
    assert session.get(f"{go.url}/api/send", timeout=5).status_code == 405
    assert session.get(f"{go.url}/nope", timeout=5).status_code == 404
    bad_json = session.post(f"{go.url}/api/send", data=b"{not json", timeout=5)
    assert bad_json.status_code == 400 and "invalid JSON" in bad_json.json()["error"]
    mark = session.post(f"{go.url}/api/mark_read", json={"chat_jid": "nojid"}, timeout=5)
    assert mark.status_code == 400 and mark.json()["error_code"] == "INVALID_JID"
    batch = session.post(f"{go.url}/api/messages/batch", json={"messages": [{"id": "x"}] * 1001}, timeout=5)
    assert batch.status_code == 400


def test_server_injected_fault_answers_status_for_times_then_recovers(
    go: RunningServer, session: requests.Session
) -> None:
    session.post(f"{go.url}/_sim/fault", json={"status": 500, "paths": ["/api/stats"], "times": 2}, timeout=5)
    statuses = [session.get(f"{go.url}/api/stats", timeout=5).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    calls = session.get(f"{go.url}/_sim/calls", params={"path": "/api/stats"}, timeout=5).json()["calls"]
    assert [c["status"] for c in calls] == [500, 500, 200]


def test_server_seed_and_store_rows_reflect_state(baileys: RunningServer, session: requests.Session) -> None:
    seeded = generate_messages("1@g.us", 3)
    session.post(f"{baileys.url}/_sim/seed", json={"messages": seeded}, timeout=5)
    rows = session.get(f"{baileys.url}/_sim/store", params={"chat_jid": "1@g.us"}, timeout=5).json()["rows"]
    assert [r["id"] for r in rows] == ["m0", "m1", "m2"]
    assert session.get(f"{baileys.url}/api/messages", timeout=5).json()["count"] == 3
    session.post(f"{baileys.url}/_sim/reset", timeout=5)
    assert session.get(f"{baileys.url}/_sim/store", timeout=5).json()["rows"] == []


def test_server_latency_delays_answer_and_client_timeout_fires(
    go: RunningServer, session: requests.Session
) -> None:
    session.post(f"{go.url}/_sim/latency", json={"seconds": 0.4, "paths": ["/health"]}, timeout=5)
    started = time.monotonic()
    assert session.get(f"{go.url}/health", timeout=5).status_code == 200
    assert time.monotonic() - started >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(f"{go.url}/health", timeout=(1, 0.1))
    started = time.monotonic()
    assert session.get(f"{go.url}/api/stats", timeout=5).status_code == 200  # other paths are not delayed
    assert time.monotonic() - started < 0.4


def test_server_drop_closes_connection_without_answer(go: RunningServer, session: requests.Session) -> None:
    session.post(f"{go.url}/_sim/fault", json={"drop": True, "paths": ["/api/send"], "times": 1}, timeout=5)
    with pytest.raises(requests.exceptions.ConnectionError):
        session.post(f"{go.url}/api/send", json={"recipient": "1", "message": "x"}, timeout=5)
    assert session.get(f"{go.url}/_sim/store", timeout=5).json()["rows"] == []  # nothing was stored
    assert session.post(f"{go.url}/api/send", json={"recipient": "1", "message": "x"}, timeout=5).ok


def test_server_stop_refuses_new_connections(session: requests.Session) -> None:
    server = serve(make_sim("go"))
    url = server.url
    assert session.get(f"{url}/health", timeout=5).ok
    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError) as raised:
        session.get(f"{url}/health", timeout=(1, 1))
    assert "refused" in str(raised.value).lower()
    assert not port_in_use(server.port)


def test_server_stop_cuts_a_call_sleeping_on_latency(session: requests.Session) -> None:
    server = serve(make_sim("go"))
    session.post(f"{server.url}/_sim/latency", json={"seconds": 30}, timeout=5)
    errors: list[BaseException] = []

    def call() -> None:
        try:
            session.get(f"{server.url}/api/stats", timeout=(1, 20))
        except requests.RequestException as exc:
            errors.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    for _ in range(250):
        if server.sim.history("/api/stats"):
            break
        time.sleep(0.02)
    started = time.monotonic()
    server.stop()
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - started < 5  # not the 30 s of latency
    assert len(errors) == 1 and isinstance(errors[0], requests.exceptions.ConnectionError)


def test_server_port_taken_raises_usage_error_naming_it() -> None:
    with serve(make_sim("go")) as first, pytest.raises(
        UsageError, match=f"^port {first.port} on 127.0.0.1 is already in use$"
    ):
        serve(make_sim("baileys"), first.port)


def test_server_restart_on_same_port_after_stop_works(session: requests.Session) -> None:
    first = serve(GoBridgeSim())
    port = first.port
    session.get(f"{first.url}/health", timeout=5)
    first.stop()
    with serve(BaileysBridgeSim(), port) as second:
        assert session.get(f"{second.url}/health", timeout=5).json()["connected"] is True


def test_server_hundred_simultaneous_connections_all_answered(go: RunningServer) -> None:
    barrier = threading.Barrier(100)
    codes: list[int] = []
    lock = threading.Lock()

    def hit() -> None:
        barrier.wait(10)
        with requests.Session() as s:
            s.trust_env = False
            code = s.get(f"{go.url}/health", timeout=(0.5, 10)).status_code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=hit) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert codes == [200] * 100
    assert len(go.sim.history("/health")) == 100


def test_server_served_counter_skips_health_and_control_and_survives_reset(
    go: RunningServer, session: requests.Session
) -> None:
    session.get(f"{go.url}/health", timeout=5)
    session.get(f"{go.url}/api/stats", timeout=5)
    session.get(f"{go.url}/nope", timeout=5)  # a 404 was still a call to the bridge
    session.post(f"{go.url}/_sim/reset", timeout=5)
    session.post(f"{go.url}/api/send", json={"recipient": "1", "message": "x"}, timeout=5)
    info = session.get(f"{go.url}/_sim/server", timeout=5).json()
    assert (info["bridge"], info["served"], info["port"]) == ("go", 3, go.port)


def test_sim_call_count_reads_a_simulator(go: RunningServer, session: requests.Session) -> None:
    bridge = BridgeConfig(name="go", url=go.url + "/")
    assert sim_call_count(bridge) == 0
    for _ in range(4):
        session.get(f"{go.url}/api/stats", timeout=5)
    session.get(f"{go.url}/health", timeout=5)
    assert sim_call_count(bridge) == 4


def test_sim_call_count_none_for_a_bridge_that_is_not_a_simulator() -> None:
    with BridgeServer(always(Reply(200, {"status": "ok"}))) as plain:
        assert sim_call_count(BridgeConfig(name="go", url=plain.url)) is None
        assert plain.paths == ["/_sim/server"]
    with BridgeServer(always(Reply(404, {"error": "not found"}))) as missing:
        assert sim_call_count(BridgeConfig(name="go", url=missing.url)) is None
    with BridgeServer(always(Reply(200, "<html>not json</html>"))) as html:
        assert sim_call_count(BridgeConfig(name="go", url=html.url)) is None
    with BridgeServer(always(Reply(200, {"served": True}))) as odd:
        assert sim_call_count(BridgeConfig(name="go", url=odd.url)) is None


def test_sim_call_count_none_when_unreachable() -> None:
    started = time.monotonic()
    assert sim_call_count(BridgeConfig(name="go", url=f"http://127.0.0.1:{free_port()}")) is None
    assert time.monotonic() - started < 3


def test_make_sim_unknown_kind_is_usage_error() -> None:
    with pytest.raises(UsageError, match="unknown simulator 'signal'"):
        make_sim("signal")
