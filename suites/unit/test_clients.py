"""Bridge clients: contract payloads in, typed errors out; a bridge error never becomes a success."""

from __future__ import annotations

import pytest

from mcptest.sim.mock import MockBridges
from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.base import Backend, BridgeError, BridgeUnavailable, parse_backend
from whatsapp_mcp.backends.go_client import GoClient


@pytest.mark.req("FR-019")
def test_client_go_mark_read_invalid_jid_raises_typed_error(go: GoClient) -> None:
    with pytest.raises(BridgeError) as caught:
        go.mark_read("not a jid", ["m1"])
    assert (caught.value.backend, caught.value.status, caught.value.error_code) == (
        Backend.GO,
        400,
        "INVALID_JID",
    )


@pytest.mark.req("FR-019")
def test_client_go_mark_read_empty_chat_is_success_with_code(go: GoClient) -> None:
    result = go.mark_read("1@g.us")
    assert (result.count, result.error_code) == (0, "EMPTY_CHAT")


@pytest.mark.req("FR-019")
def test_client_go_mark_read_all_unread_counts_them(go: GoClient, sims: MockBridges) -> None:
    sims.go.seed({"messages": [{"id": f"m{i}", "chat_jid": "1@g.us", "timestamp": i} for i in range(4)]})
    assert go.mark_read("1@g.us", sender="x@s.whatsapp.net").count == 4
    assert go.mark_read("1@g.us", ["m1"]).count == 0  # already read


@pytest.mark.req("FR-003", "FR-019")
def test_client_go_send_disconnected_raises_http_500(go: GoClient, sims: MockBridges) -> None:
    sims.go.set_connected(False)
    with pytest.raises(BridgeError, match="HTTP 500"):
        go.send_message("123", "hi", media_path="/tmp/a.jpg")


@pytest.mark.req("FR-003")
def test_client_success_false_on_200_raises_not_success(go: GoClient, sims: MockBridges) -> None:
    sims.go.inject_status(200, ["/api/send"], body={"success": False, "message": "rate limited"})
    with pytest.raises(BridgeError, match="rate limited") as caught:
        go.send_message("123", "hi")
    assert caught.value.status == 200


@pytest.mark.req("FR-003", "FR-023")
def test_client_refused_raises_bridge_unavailable(baileys: BaileysClient, sims: MockBridges) -> None:
    sims.baileys_transport.down = True
    with pytest.raises(BridgeUnavailable) as caught:
        baileys.sync_status()
    assert caught.value.timeout is False
    assert "refused" in str(caught.value)


@pytest.mark.req("FR-019")
def test_client_non_json_answer_raises(go: GoClient, sims: MockBridges) -> None:
    sims.go.inject_status(502, ["/api/stats"], body="Bad Gateway")
    with pytest.raises(BridgeError, match="no JSON object") as caught:
        go.stats()
    assert caught.value.status == 502


@pytest.mark.req("FR-011", "FR-019")
@pytest.mark.parametrize("count", [0, 1001])
def test_client_go_insert_batch_outside_limit_rejected_before_sending(
    go: GoClient, sims: MockBridges, count: int
) -> None:
    messages = [{"id": str(i), "chat_jid": "1@g.us", "timestamp": i} for i in range(count)]
    with pytest.raises(ValueError, match="1 to 1000"):
        go.insert_batch(messages)
    assert sims.go.history() == []


@pytest.mark.req("FR-019")
def test_client_go_insert_batch_answer_without_counts_raises(go: GoClient, sims: MockBridges) -> None:
    sims.go.inject_status(200, ["/api/messages/batch"], body={"success": True})
    with pytest.raises(BridgeError, match="without counts"):
        go.insert_batch([{"id": "1", "chat_jid": "1@g.us", "timestamp": 1}])


@pytest.mark.req("FR-012")
def test_client_go_list_messages_pages_through_everything(go: GoClient, sims: MockBridges) -> None:
    sims.go.seed({"messages": [{"id": f"m{i}", "chat_jid": "1@g.us", "timestamp": i} for i in range(25)]})
    assert len(go.iter_messages("1@g.us", page_size=10)) == 25
    page, total = go.list_messages(content="message", limit=5)
    assert (page, total) == ([], 0)


@pytest.mark.req("FR-009")
def test_client_go_communities_and_groups_follow_contract(go: GoClient, sims: MockBridges) -> None:
    sims.go.seed(
        {"communities": [{"jid": "c@g.us", "name": "C", "groups": [{"jid": "g@g.us", "name": "G"}]}]}
    )
    sims.go.seed({"messages": [{"id": "1", "chat_jid": "g@g.us", "timestamp": 5}]})
    assert go.communities() == [{"jid": "c@g.us", "name": "C", "group_count": 1}]
    [group] = go.community_groups("c@g.us")
    assert (group.jid, group.name, group.unread_count) == ("g@g.us", "G", 1)
    marked = go.mark_community_read("c@g.us")
    assert (marked.success_count, marked.skipped_count, marked.marked) == (1, 0, 1)


@pytest.mark.req("FR-015", "FR-017")
def test_client_baileys_store_trigger_and_clear(baileys: BaileysClient, sims: MockBridges) -> None:
    assert baileys.trigger_sync() == "history sync triggered"
    assert baileys.sync_status()["last_sync_time"] is not None
    assert baileys.clear() == "cleared 0 messages"
    assert baileys.sync_status()["is_latest"] is False


@pytest.mark.req("FR-008")
def test_client_parse_backend_accepts_names_any_case() -> None:
    assert (parse_backend("GO"), parse_backend(Backend.BAILEYS)) == (Backend.GO, Backend.BAILEYS)
