"""Bridge simulators: contract routes and payloads, the /_sim/ control API, the requests-mock transport."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import requests_mock

from mcptest.sim.behaviour import (
    BATCH_LIMIT,
    BaileysBridgeSim,
    FakeClock,
    GoBridgeSim,
    SimResponse,
    generate_messages,
    iso,
    to_unix,
)
from mcptest.sim.mock import BAILEYS_URL, GO_URL, MockBridges, mock_bridges, read_timeout


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_000.0)


@pytest.fixture
def go(clock: FakeClock) -> Iterator[GoBridgeSim]:
    sim = GoBridgeSim(clock=clock)
    yield sim
    sim.close()


@pytest.fixture
def baileys(clock: FakeClock) -> Iterator[BaileysBridgeSim]:
    sim = BaileysBridgeSim(clock=clock)
    yield sim
    sim.close()


def call(sim: Any, method: str, path: str, body: Any = None, /, **query: Any) -> SimResponse:
    raw = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    return sim.handle(method, path, {k: [str(v)] for k, v in query.items()}, raw)


# -- Go bridge -------------------------------------------------------------------------------------


def test_go_health_connected_200_ok_with_uptime(go: GoBridgeSim, clock: FakeClock) -> None:
    clock.advance(75)
    response = call(go, "GET", "/health")
    assert response.status == 200
    assert response.body["status"] == "ok"
    assert response.body["whatsapp_connected"] is True
    assert response.body["uptime_seconds"] == 75
    assert response.headers["Content-Type"] == "application/json"


def test_go_health_disconnected_503_degraded_never_error(go: GoBridgeSim) -> None:
    go.set_connected(False)
    response = call(go, "GET", "/health")
    assert (response.status, response.body["status"], response.body["whatsapp_connected"]) == (
        503,
        "degraded",
        False,
    )


def test_go_send_stores_sent_message_and_fails_when_disconnected(go: GoBridgeSim) -> None:
    response = call(go, "POST", "/api/send", {"recipient": "31612345678", "message": "hi"})
    assert (response.status, response.body["success"]) == (200, True)
    assert go.stored()[0]["chat_jid"] == "31612345678@s.whatsapp.net"
    assert call(go, "POST", "/api/send", {"recipient": "x"}).status == 400
    go.set_connected(False)
    failed = call(go, "POST", "/api/send", {"recipient": "1@s.whatsapp.net", "message": "hi"})
    assert (failed.status, failed.body["success"]) == (500, False)


def _seed_unread(go: GoBridgeSim, chat: str = "1@g.us", count: int = 3) -> None:
    go.seed({"messages": [{"id": f"m{i}", "chat_jid": chat, "timestamp": 100 + i} for i in range(count)]})


def test_go_mark_read_contract_codes(go: GoBridgeSim) -> None:
    empty = call(go, "POST", "/api/mark_read", {"chat_jid": "1@g.us", "message_ids": []})
    assert (empty.status, empty.body["success"], empty.body["error_code"], empty.body["count"]) == (
        200,
        True,
        "EMPTY_CHAT",
        0,
    )
    bad = call(go, "POST", "/api/mark_read", {"chat_jid": "nonsense", "message_ids": []})
    assert (bad.status, bad.body["error_code"]) == (400, "INVALID_JID")
    _seed_unread(go)
    some = call(go, "POST", "/api/mark_read", {"chat_jid": "1@g.us", "message_ids": ["m0", "m2", "zz"]})
    assert (some.status, some.body["count"]) == (200, 2)
    rest = call(go, "POST", "/api/mark_read", {"chat_jid": "1@g.us", "message_ids": []})
    assert rest.body["count"] == 1
    go.set_connected(False)
    offline = call(go, "POST", "/api/mark_read", {"chat_jid": "1@g.us", "message_ids": []})
    assert (offline.status, offline.body["error_code"]) == (500, "WHATSAPP_API_ERROR")
    assert call(go, "GET", "/api/mark_read").status == 405


def test_go_messages_filters_paging_and_rfc3339(go: GoBridgeSim) -> None:
    _seed_unread(go, count=5)
    go.seed(
        {
            "messages": [
                {"id": "x", "chat_jid": "2@g.us", "timestamp": "2024-01-01T00:00:00Z", "content": "hello"}
            ]
        }
    )
    page = call(go, "GET", "/api/messages", chat_jid="1@g.us", limit=2, offset=1)
    assert (page.body["total"], page.body["limit"], page.body["offset"]) == (5, 2, 1)
    assert [m["id"] for m in page.body["messages"]] == ["m3", "m2"]  # newest first
    assert page.body["messages"][0]["timestamp"] == "1970-01-01T00:01:43Z"
    assert call(go, "GET", "/api/messages").body["limit"] == 100
    found = call(go, "GET", "/api/messages", content="ell", after_time="2023-12-31T00:00:00Z")
    assert [m["id"] for m in found.body["messages"]] == ["x"]
    assert call(go, "GET", "/api/messages", before_time="2023-12-31T00:00:00Z").body["total"] == 5
    assert call(go, "GET", "/api/messages", limit="many").status == 400
    assert call(go, "GET", "/api/messages", offset=-1).status == 400
    assert call(go, "GET", "/api/messages", after_time="soon").status == 400


def test_go_batch_counts_and_dedup_by_chat_and_id(go: GoBridgeSim) -> None:
    first = {"id": "a", "chat_jid": "1@g.us", "timestamp": 10, "from_me": False, "content": "v1"}
    response = call(go, "POST", "/api/messages/batch", {"messages": [first, {**first, "id": "b"}]})
    assert response.body == {
        "success": True,
        "message": "inserted 2, duplicates 0, failed 0",
        "inserted_count": 2,
        "duplicate_count": 0,
        "failed_count": 0,
    }
    again = {**first, "timestamp": 99, "content": "v2"}  # same (chat_jid, id): duplicate, not rewritten
    bad = {"id": "c", "chat_jid": "1@g.us", "timestamp": "2024-01-01T00:00:00Z"}  # Go wants integers
    response = call(go, "POST", "/api/messages/batch", {"messages": [again, bad]})
    assert (
        response.body["inserted_count"],
        response.body["duplicate_count"],
        response.body["failed_count"],
    ) == (0, 1, 1)
    assert response.body["success"] is False
    assert [(m["id"], m["timestamp"], m["content"]) for m in go.stored("1@g.us")] == [
        ("a", 10, "v1"),
        ("b", 10, "v1"),
    ]


def test_go_batch_limit_is_1000(go: GoBridgeSim) -> None:
    messages = [{"id": str(i), "chat_jid": "1@g.us", "timestamp": i} for i in range(BATCH_LIMIT + 1)]
    assert call(go, "POST", "/api/messages/batch", {"messages": messages}).status == 400
    assert call(go, "POST", "/api/messages/batch", {"messages": []}).status == 400
    assert (
        call(go, "POST", "/api/messages/batch", {"messages": messages[:BATCH_LIMIT]}).body["inserted_count"]
        == 1000
    )


def test_go_communities_groups_and_mark_read(go: GoBridgeSim) -> None:
    go.seed(
        {
            "communities": [{"jid": "c@g.us", "name": "Club", "groups": [{"jid": "g1@g.us", "name": "One"}]}],
            "groups": [{"jid": "g2@g.us", "name": "Two", "community_jid": "c@g.us"}],
        }
    )
    _seed_unread(go, "g1@g.us", 4)
    listed = call(go, "GET", "/api/communities").body
    assert listed == {
        "success": True,
        "communities": [{"jid": "c@g.us", "name": "Club", "group_count": 2}],
        "total": 1,
    }
    groups = call(go, "GET", "/api/communities/c@g.us/groups").body
    assert groups["community_jid"] == "c@g.us"
    assert [(g["jid"], g["unread_count"]) for g in groups["groups"]] == [("g1@g.us", 4), ("g2@g.us", 0)]
    unread = call(go, "GET", "/api/chats/unread").body
    assert [c["jid"] for c in unread["chats"]] == ["g1@g.us"]
    marked = call(go, "POST", "/api/communities/c@g.us/mark_read").body
    assert (marked["success_count"], marked["fail_count"], marked["skipped_count"]) == (1, 0, 1)
    assert marked["group_results"]["g1@g.us"] == {"success": True, "message_count": 4}
    assert call(go, "GET", "/api/communities/none@g.us/groups").status == 404
    stats = call(go, "GET", "/api/stats").body
    assert (stats["total_messages"], stats["unread_messages"], stats["total_communities"]) == (4, 0, 1)


def test_go_unknown_path_404_wrong_method_405_bad_json_400(go: GoBridgeSim) -> None:
    assert call(go, "GET", "/api/nothing").status == 404
    wrong = call(go, "DELETE", "/health")
    assert (wrong.status, wrong.body["success"]) == (405, False)
    bad = call(go, "POST", "/api/send", b"{not json")
    assert bad.status == 400 and "invalid JSON" in bad.body["message"]
    assert call(go, "POST", "/api/send", [1, 2]).status == 400


# -- Baileys bridge --------------------------------------------------------------------------------


def test_baileys_health_always_200_connected_flag(baileys: BaileysBridgeSim, clock: FakeClock) -> None:
    clock.advance(2.5)
    assert call(baileys, "GET", "/health").body == {"status": "ok", "connected": True, "uptime": 2.5}
    baileys.set_connected(False)
    response = call(baileys, "GET", "/health")
    assert (response.status, response.body["connected"]) == (200, False)


def test_baileys_messages_iso_is_from_me_and_paging(baileys: BaileysBridgeSim) -> None:
    baileys.seed({"messages": generate_messages("1@g.us", 5, mine_every=2) + generate_messages("2@g.us", 2)})
    whole = call(baileys, "GET", "/api/messages").body
    assert whole["count"] == 7 and whole["success"] is True
    page = call(baileys, "GET", "/api/messages", chat_jid="1@g.us", limit=2, offset=2).body
    assert [m["id"] for m in page["messages"]] == ["m2", "m3"]
    assert page["messages"][0]["is_from_me"] is True and page["messages"][1]["is_from_me"] is False
    assert page["messages"][0]["timestamp"] == iso(1_700_000_002.0) == "2023-11-14T22:13:22.000Z"


def test_baileys_sync_trigger_status_and_clear(baileys: BaileysBridgeSim) -> None:
    baileys.seed({"messages": generate_messages("1@g.us", 3)})
    before = call(baileys, "GET", "/api/sync/status").body
    assert (before["messages_synced"], before["chats_synced"], before["is_latest"]) == (3, 1, False)
    assert "last_sync_time" not in before
    assert call(baileys, "POST", "/api/sync/trigger").body["success"] is True
    after = call(baileys, "GET", "/api/sync/status").body
    assert (after["progress_percent"], after["is_latest"], after["last_sync_time"]) == (
        100,
        True,
        iso(1000.0),
    )
    cleared = call(baileys, "POST", "/api/clear").body
    assert cleared == {"success": True, "message": "cleared 3 messages"}
    assert call(baileys, "GET", "/api/sync/status").body["messages_synced"] == 0
    baileys.set_connected(False)
    assert call(baileys, "POST", "/api/sync/trigger").status == 503


def test_baileys_fetch_older_moves_history_newest_first(baileys: BaileysBridgeSim) -> None:
    baileys.seed({"history": {"1@g.us": generate_messages("1@g.us", 10)}})
    body = {
        "chat_jid": "1@g.us",
        "oldest_message_id": "",
        "oldest_timestamp_ms": 0,
        "from_me": False,
        "count": 4,
    }
    first = call(baileys, "POST", "/api/history/fetch-older", body).body
    assert first["success"] is True and first["request_id"]
    assert [m["id"] for m in baileys.stored()] == ["m6", "m7", "m8", "m9"]
    older = {**body, "oldest_timestamp_ms": 1_700_000_006_000, "count": 100}
    call(baileys, "POST", "/api/history/fetch-older", older)
    assert len(baileys.stored()) == 10
    assert call(baileys, "GET", "/_sim/state").body["history"] == 0
    assert call(baileys, "POST", "/api/history/fetch-older", {"chat_jid": "bad"}).status == 400
    baileys.set_connected(False)
    assert call(baileys, "POST", "/api/history/fetch-older", body).status == 503


# -- control API (through handle(), so every transport has it) -------------------------------------


def test_control_connected_latency_and_state(go: GoBridgeSim) -> None:
    assert call(go, "POST", "/_sim/connected", {"connected": False}).status == 200
    assert call(go, "GET", "/health").status == 503
    call(go, "POST", "/_sim/latency", {"seconds": 1.5, "paths": ["/api/*"]})
    call(go, "POST", "/_sim/latency", {"seconds": 0.5})
    assert call(go, "GET", "/api/stats").delay == 1.5
    assert call(go, "GET", "/health").delay == 0.5
    state = call(go, "GET", "/_sim/state").body
    assert (state["bridge"], state["connected"], len(state["latency"])) == ("go", False, 2)
    call(go, "POST", "/_sim/latency", {"seconds": 0})
    assert call(go, "GET", "/api/stats").delay == 0.0


def test_control_fault_times_after_and_paths(go: GoBridgeSim) -> None:
    call(
        go,
        "POST",
        "/_sim/fault",
        {"status": 502, "paths": ["/api/stats"], "times": 2, "after": 1, "body": {"error": "bad gateway"}},
    )
    statuses = [call(go, "GET", "/api/stats").status for _ in range(4)]
    assert statuses == [200, 502, 502, 200]
    assert call(go, "GET", "/health").status == 200
    call(go, "POST", "/_sim/fault", {"status": 500})
    failed = call(go, "GET", "/health")
    assert (failed.status, failed.body) == (500, {"success": False, "error": "injected"})
    call(go, "POST", "/_sim/faults/clear")
    assert call(go, "GET", "/health").status == 200
    assert call(go, "POST", "/_sim/fault", {"status": 500, "paths": "/health"}).status == 400


def test_control_drop_marks_response_and_history(go: GoBridgeSim) -> None:
    call(go, "POST", "/_sim/fault", {"drop": True, "paths": ["/health"], "times": 1})
    dropped = call(go, "GET", "/health")
    assert dropped.drop is True and dropped.status == 0
    assert call(go, "GET", "/health").drop is False
    assert [c["status"] for c in call(go, "GET", "/_sim/calls", path="/health").body["calls"]] == [0, 200]


def test_control_seed_calls_and_reset(go: GoBridgeSim, clock: FakeClock) -> None:
    call(go, "POST", "/_sim/seed", {"messages": [{"id": "1", "chat_jid": "1@g.us", "timestamp": 5}]})
    clock.advance(3)
    call(go, "GET", "/api/stats")
    calls = call(go, "GET", "/_sim/calls").body["calls"]
    assert calls == [
        {"method": "GET", "path": "/api/stats", "status": 200, "time": 1003.0}
    ]  # control not recorded
    go.set_connected(False)
    go.inject_status(500)
    call(go, "POST", "/_sim/reset")
    assert go.stored() == [] and go.history() == [] and go.connected is True
    assert call(go, "GET", "/api/stats").status == 200


def test_control_unknown_route_and_wrong_method(go: GoBridgeSim) -> None:
    assert call(go, "GET", "/_sim/nothing").status == 404
    assert call(go, "POST", "/_sim/state").status == 405
    assert call(go, "GET", "/_sim/reset").status == 405
    assert call(go, "POST", "/_sim/seed", [1]).status == 400


def test_sim_state_in_sqlite_file(tmp_path: Any, clock: FakeClock) -> None:
    path = str(tmp_path / "go.db")
    sim = GoBridgeSim(path, clock=clock)
    _seed_unread(sim)
    sim.close()
    reopened = GoBridgeSim(path, clock=clock)  # reset() on start: a fresh store each run
    try:
        assert reopened.stored() == []
        assert call(reopened, "GET", "/health").body["database_path"] == path
    finally:
        reopened.close()


def test_time_helpers_round_trip() -> None:
    assert to_unix(iso(1_700_000_000.25)) == 1_700_000_000.25
    assert to_unix("2024-01-01T00:00:00") == to_unix("2024-01-01T00:00:00Z") == 1_704_067_200
    with pytest.raises(ValueError):
        to_unix(True)
    with pytest.raises(ValueError):
        to_unix(None)


def test_fake_clock_advances_only_forward() -> None:
    clock = FakeClock(10)
    clock.advance(2.5)
    clock.sleep(1)
    clock.advance(-4)
    assert clock() == 13.5


# -- requests-mock transport -----------------------------------------------------------------------


@pytest.fixture
def mocked() -> Iterator[MockBridges]:
    with mock_bridges(FakeClock(0.0)) as bridges:
        yield bridges


def test_mock_serves_both_bridges_at_default_urls(mocked: MockBridges) -> None:
    assert requests.get(f"{GO_URL}/health", timeout=5).json()["whatsapp_connected"] is True
    assert requests.get(f"{BAILEYS_URL}/health", timeout=5).json()["connected"] is True
    response = requests.post(f"{GO_URL}/_sim/connected", json={"connected": False}, timeout=5)
    assert response.status_code == 200
    assert requests.get(f"{GO_URL}/health", timeout=5).status_code == 503


def test_mock_latency_advances_clock_or_times_out(mocked: MockBridges) -> None:
    mocked.go.set_latency(2.0, ["/api/stats"])
    requests.get(f"{GO_URL}/api/stats", timeout=(0.5, 5))
    assert mocked.clock() == 2.0
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{GO_URL}/api/stats", timeout=1.5)
    assert mocked.clock() == 3.5


def test_mock_drop_and_down_raise_connection_error(mocked: MockBridges) -> None:
    mocked.baileys.inject_drop(["/api/clear"], times=1)
    with pytest.raises(requests.exceptions.ConnectionError, match="dropped"):
        requests.post(f"{BAILEYS_URL}/api/clear", timeout=5)
    mocked.baileys_transport.down = True
    with pytest.raises(requests.exceptions.ConnectionError, match="refused"):
        requests.get(f"{BAILEYS_URL}/health", timeout=5)
    assert mocked.baileys_transport.refused == 1
    assert mocked.clock() == 0.0  # refusing takes no time


def test_mock_query_and_percent_encoded_path_reach_handle(mocked: MockBridges) -> None:
    mocked.go.seed({"communities": [{"jid": "c@g.us", "name": "C"}]})
    assert (
        requests.get(f"{GO_URL}/api/communities/c%40g.us/groups", timeout=5).json()["community_jid"]
        == "c@g.us"
    )
    mocked.go.seed({"messages": [{"id": "A", "chat_jid": "X@g.us", "timestamp": 1}]})
    body = requests.get(f"{GO_URL}/api/messages", params={"chat_jid": "X@g.us"}, timeout=5).json()
    assert body["total"] == 1  # query values keep their case


def test_mock_other_urls_not_served(mocked: MockBridges) -> None:
    with pytest.raises(requests_mock.exceptions.NoMockAddress):
        requests.get("http://127.0.0.1:8082/health", timeout=5)


@pytest.mark.parametrize(("timeout", "expected"), [(None, None), (3, 3.0), ((0.5, 7), 7.0), ((2,), 2.0)])
def test_read_timeout_of_requests_timeout_forms(timeout: Any, expected: float | None) -> None:
    assert read_timeout(timeout) == expected
