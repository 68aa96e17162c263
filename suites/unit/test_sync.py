"""Baileys-to-Go sync: batches, deduplication, failures, checkpoints, clearing, metrics (seed 000 story 2)."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from mcptest.sim.behaviour import FakeClock, generate_messages
from mcptest.sim.mock import MockBridges
from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.go_client import GoClient
from whatsapp_mcp.sync import Checkpoint, MessageSync, dedup_key, to_go_message, to_unix_seconds

CHAT = "120363000000000001@g.us"


@pytest.fixture
def syncer(go: GoClient, baileys: BaileysClient, clock: FakeClock) -> MessageSync:
    return MessageSync(go, baileys, clock=clock)


def seed_baileys(sims: MockBridges, count: int, chat: str = CHAT, **kwargs: Any) -> list[dict[str, Any]]:
    messages = generate_messages(chat, count, **kwargs)
    sims.baileys.seed({"messages": messages})
    return messages


def batch_bodies(sims: MockBridges) -> list[list[dict[str, Any]]]:
    """The message lists of every batch insert that reached Go, in order."""
    return [
        json.loads(r.body)["messages"] for r in sims.mocker.request_history if r.path == "/api/messages/batch"
    ]


@pytest.mark.req("FR-011", "FR-012")
@pytest.mark.parametrize(("count", "batches"), [(0, 0), (1, 1), (100, 1), (1000, 1), (10_000, 10)])
def test_sync_batch_sizes_all_messages_inserted_once(
    syncer: MessageSync, sims: MockBridges, count: int, batches: int
) -> None:
    seed_baileys(sims, count)
    result = syncer.sync_all_chats()
    assert (result.fetched, result.synced, result.deduplicated, result.failed) == (count, count, 0, 0)
    assert result.batches == batches
    sent = batch_bodies(sims)
    assert len(sent) == batches
    assert all(1 <= len(body) <= 1000 for body in sent)
    stored = sims.go.stored()
    assert len(stored) == count
    assert len({(m["chat_jid"], m["id"]) for m in stored}) == count


@pytest.mark.req("FR-011")
@pytest.mark.parametrize("size", [0, 1001, -5])
def test_sync_batch_size_outside_limit_rejected(go: GoClient, baileys: BaileysClient, size: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 1000"):
        MessageSync(go, baileys, batch_size=size)


@pytest.mark.req("FR-011")
def test_sync_small_batches_split_exactly(go: GoClient, baileys: BaileysClient, sims: MockBridges) -> None:
    seed_baileys(sims, 250)
    result = MessageSync(go, baileys, batch_size=100, page_size=70).sync_all_chats()
    assert [len(b) for b in batch_bodies(sims)] == [100, 100, 50]
    assert (result.synced, result.batches) == (250, 3)


@pytest.mark.req("FR-012")
def test_sync_200_of_500_already_in_go_inserts_only_300(syncer: MessageSync, sims: MockBridges) -> None:
    messages = seed_baileys(sims, 500)
    sims.go.seed({"messages": messages[:200]})
    result = syncer.sync_all_chats()
    assert (result.synced, result.deduplicated, result.failed) == (300, 200, 0)
    sent_ids = {m["id"] for body in batch_bodies(sims) for m in body}
    assert sent_ids == {m["id"] for m in messages[200:]}  # filtered before sending, not left to Go
    assert len(sims.go.stored(CHAT)) == 500


@pytest.mark.req("FR-012")
def test_sync_identical_timestamps_different_ids_both_inserted(
    syncer: MessageSync, sims: MockBridges
) -> None:
    same_time = "2024-05-01T10:00:00.000Z"
    sims.baileys.seed(
        {
            "messages": [
                {"id": "a", "chat_jid": CHAT, "timestamp": same_time, "content": "one"},
                {"id": "b", "chat_jid": CHAT, "timestamp": same_time, "content": "two"},
            ]
        }
    )
    result = syncer.sync_all_chats()
    assert (result.synced, result.deduplicated) == (2, 0)
    assert [m["id"] for m in sims.go.stored(CHAT)] == ["a", "b"]


@pytest.mark.req("FR-012")
def test_sync_same_id_in_two_chats_both_inserted(syncer: MessageSync, sims: MockBridges) -> None:
    sims.baileys.seed(
        {"messages": [{"id": "x", "chat_jid": c, "timestamp": 100} for c in ("1@g.us", "2@g.us")]}
    )
    assert syncer.sync_all_chats().synced == 2
    assert len(sims.go.stored()) == 2


@pytest.mark.req("FR-012")
def test_sync_same_id_other_timestamp_counted_duplicate_by_go(syncer: MessageSync, sims: MockBridges) -> None:
    # Not the same (chat, timestamp, id) key, so it is sent; Go keeps its copy and reports a duplicate.
    sims.go.seed({"messages": [{"id": "m1", "chat_jid": CHAT, "timestamp": 100, "content": "original"}]})
    sims.baileys.seed({"messages": [{"id": "m1", "chat_jid": CHAT, "timestamp": 160, "content": "edited"}]})
    result = syncer.sync_all_chats()
    assert (result.synced, result.deduplicated, result.failed) == (0, 1, 0)
    assert [m["content"] for m in sims.go.stored(CHAT)] == ["original"]


@pytest.mark.req("FR-012")
def test_sync_dedup_key_iso_and_rfc3339_forms_equal() -> None:
    baileys = {"chat_jid": CHAT, "id": "m", "timestamp": "2024-05-01T10:00:00.000Z"}
    go = {"chat_jid": CHAT, "id": "m", "timestamp": "2024-05-01T12:00:00+02:00"}
    assert dedup_key(baileys) == dedup_key(go) == (CHAT, 1714557600, "m")
    assert to_unix_seconds("2024-05-01T10:00:00") == 1714557600  # naive means UTC


@pytest.mark.req("FR-012")
def test_sync_converts_iso_and_is_from_me_to_go_form() -> None:
    converted = to_go_message(
        {
            "id": "m",
            "chat_jid": CHAT,
            "timestamp": "2024-05-01T10:00:00.500Z",
            "is_from_me": True,
            "sender": "me",
        }
    )
    assert converted["timestamp"] == 1714557600
    assert converted["from_me"] is True
    assert "is_from_me" not in converted
    assert converted["sync_source"] == "baileys"


@pytest.mark.req("FR-012")
def test_sync_concurrent_syncs_same_chat_no_duplicates(
    go: GoClient, baileys: BaileysClient, sims: MockBridges, clock: FakeClock
) -> None:
    seed_baileys(sims, 300)
    syncer = MessageSync(go, baileys, clock=clock)
    results = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        results.append(syncer.sync_messages(CHAT))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(r.synced for r in results) == [0, 300]
    assert sorted(r.deduplicated for r in results) == [0, 300]
    assert len(sims.go.stored(CHAT)) == 300


@pytest.mark.req("FR-013", "FR-019")
def test_sync_go_insert_fails_midway_reports_partial_counts(syncer: MessageSync, sims: MockBridges) -> None:
    seed_baileys(sims, 2500)
    sims.go.inject_status(
        500, ["/api/messages/batch"], times=1, after=1, body={"error_code": "DATABASE_ERROR"}
    )
    result = syncer.sync_all_chats()
    assert (result.synced, result.failed, result.batches) == (1500, 1000, 3)
    assert result.success is False
    assert len(result.errors) == 1
    assert "batch 2" in result.errors[0] and "HTTP 500" in result.errors[0]
    assert len(sims.go.stored(CHAT)) == 1500
    assert result.cleared is False
    assert len(sims.baileys.stored()) == 2500  # nothing lost: the store is kept
    assert syncer.checkpoints.get(CHAT) is None


@pytest.mark.req("FR-013")
def test_sync_rerun_after_partial_failure_completes_without_duplicates(
    syncer: MessageSync, sims: MockBridges
) -> None:
    seed_baileys(sims, 2500)
    sims.go.inject_drop(["/api/messages/batch"], times=1, after=1)  # network failure on batch 2
    first = syncer.sync_all_chats()
    assert (first.synced, first.failed) == (1500, 1000)
    assert "unreachable" in first.errors[0]
    second = syncer.sync_all_chats()
    assert (second.synced, second.deduplicated, second.failed) == (1000, 1500, 0)
    assert second.cleared is True
    assert len(sims.go.stored(CHAT)) == 2500


@pytest.mark.req("FR-013", "FR-019")
def test_sync_go_read_timeout_on_batch_counts_batch_failed(
    syncer: MessageSync, sims: MockBridges, clock: FakeClock
) -> None:
    seed_baileys(sims, 10)
    sims.go.set_latency(60.0, ["/api/messages/batch"])
    result = syncer.sync_all_chats()
    assert (result.synced, result.failed) == (0, 10)
    assert "timeout" in result.errors[0]


@pytest.mark.req("FR-019")
def test_sync_go_insert_always_fails_nothing_synced_store_kept(
    syncer: MessageSync, sims: MockBridges
) -> None:
    seed_baileys(sims, 1200)
    sims.go.inject_status(
        500,
        ["/api/messages/batch"],
        body={"success": False, "message": "disk full", "error_code": "DATABASE_ERROR"},
    )
    result = syncer.sync_all_chats()
    assert (result.synced, result.failed, result.batches) == (0, 1200, 2)
    assert all("DATABASE_ERROR" in e and "disk full" in e for e in result.errors)
    assert sims.go.stored() == []
    assert result.cleared is False
    assert sims.baileys.history("/api/clear") == []


@pytest.mark.req("FR-019", "FR-020")
def test_sync_go_failed_count_trusted_and_reported(syncer: MessageSync, sims: MockBridges) -> None:
    sims.baileys.seed(
        {
            "messages": [
                {"id": "ok1", "chat_jid": CHAT, "timestamp": 100},
                {"id": "bad", "chat_jid": "not-a-jid", "timestamp": 100},
            ]
        }
    )
    result = syncer.sync_all_chats()
    assert (result.synced, result.failed) == (1, 1)
    assert result.success is False
    assert result.cleared is False


@pytest.mark.req("FR-019")
def test_sync_go_read_for_dedup_fails_chat_not_inserted(syncer: MessageSync, sims: MockBridges) -> None:
    seed_baileys(sims, 40)
    sims.go.inject_status(500, ["/api/messages"])
    result = syncer.sync_messages(CHAT)
    assert (result.synced, result.failed) == (0, 40)
    assert "reading" in result.errors[0]
    assert batch_bodies(sims) == []


@pytest.mark.req("FR-014")
def test_sync_success_updates_checkpoint_with_count_and_last_timestamp(
    syncer: MessageSync, sims: MockBridges, clock: FakeClock
) -> None:
    messages = seed_baileys(sims, 120, start=1_710_000_000)
    clock.advance(42)
    result = syncer.sync_messages(CHAT)
    checkpoint = syncer.checkpoints.get(CHAT)
    assert result.checkpoint_updated is True
    assert checkpoint == Checkpoint(CHAT, to_unix_seconds(messages[-1]["timestamp"]), 120, clock())
    sims.baileys.seed({"messages": generate_messages(CHAT, 5, start=1_720_000_000, prefix="new")})
    syncer.sync_messages(CHAT)
    checkpoint = syncer.checkpoints.get(CHAT)
    assert checkpoint is not None
    assert (checkpoint.message_count, checkpoint.last_timestamp) == (125, 1_720_000_004)


class _BrokenCheckpoints:
    def get(self, chat_jid: str) -> Checkpoint | None:
        return None

    def put(self, checkpoint: Checkpoint) -> None:
        raise OSError("checkpoint file is read-only")


@pytest.mark.req("FR-014", "FR-015")
def test_sync_checkpoint_update_fails_messages_kept_store_not_cleared(
    go: GoClient, baileys: BaileysClient, sims: MockBridges
) -> None:
    seed_baileys(sims, 30)
    result = MessageSync(go, baileys, checkpoints=_BrokenCheckpoints()).sync_all_chats()
    assert result.synced == 30
    assert result.checkpoint_updated is False
    assert result.success is False
    assert "read-only" in result.errors[0]
    assert result.cleared is False
    assert len(sims.baileys.stored()) == 30


@pytest.mark.req("FR-015")
def test_sync_all_chats_success_clears_baileys_store(
    syncer: MessageSync, sims: MockBridges, baileys: BaileysClient
) -> None:
    seed_baileys(sims, 50)
    result = syncer.sync_all_chats()
    assert result.cleared is True
    assert baileys.iter_messages() == []
    assert [c.status for c in sims.baileys.history("/api/clear")] == [200]


@pytest.mark.req("FR-015")
def test_sync_single_chat_never_clears_other_chats(syncer: MessageSync, sims: MockBridges) -> None:
    seed_baileys(sims, 10, chat="1@g.us")
    seed_baileys(sims, 10, chat="2@g.us")
    result = syncer.sync_messages("1@g.us")
    assert (result.synced, result.cleared) == (10, False)
    assert len(sims.baileys.stored()) == 20


@pytest.mark.req("FR-015")
def test_sync_clear_disabled_keeps_store(syncer: MessageSync, sims: MockBridges) -> None:
    seed_baileys(sims, 5)
    assert syncer.sync_all_chats(clear=False).cleared is False
    assert len(sims.baileys.stored()) == 5


@pytest.mark.req("FR-015")
def test_sync_clear_fails_after_success_reported_counts_kept(syncer: MessageSync, sims: MockBridges) -> None:
    seed_baileys(sims, 20)
    sims.baileys.inject_status(500, ["/api/clear"])
    result = syncer.sync_all_chats()
    assert (result.synced, result.failed, result.cleared) == (20, 0, False)
    assert "clearing the Baileys store failed" in result.errors[0]
    assert len(sims.go.stored()) == 20


@pytest.mark.req("FR-016", "FR-020")
def test_sync_throughput_computed_from_clock(syncer: MessageSync, sims: MockBridges) -> None:
    # Functional check only: 10 batches that each take 2 s on the fake clock give 500 messages/s.
    seed_baileys(sims, 10_000)
    sims.go.set_latency(2.0, ["/api/messages/batch"])
    result = syncer.sync_all_chats()
    assert result.elapsed == pytest.approx(20.0)
    assert result.throughput == pytest.approx(500.0)
    assert result.throughput >= 100


@pytest.mark.req("FR-016", "FR-020")
def test_sync_throughput_zero_when_no_time_measured(syncer: MessageSync, sims: MockBridges) -> None:
    seed_baileys(sims, 3)
    result = syncer.sync_all_chats()
    assert (result.elapsed, result.throughput) == (0.0, 0.0)


@pytest.mark.req("FR-017")
def test_sync_empty_store_succeeds_without_writes(syncer: MessageSync, sims: MockBridges) -> None:
    result = syncer.sync_all_chats()
    assert (result.fetched, result.synced, result.failed, result.batches) == (0, 0, 0, 0)
    assert result.success is True
    assert (result.cleared, result.checkpoint_updated) == (False, False)
    assert batch_bodies(sims) == []
    assert sims.baileys.history("/api/clear") == []


@pytest.mark.req("FR-017")
def test_sync_empty_chat_succeeds(syncer: MessageSync, sims: MockBridges) -> None:
    seed_baileys(sims, 3, chat="other@g.us")
    result = syncer.sync_messages(CHAT)
    assert (result.fetched, result.synced, result.success) == (0, 0, True)


@pytest.mark.req("FR-018")
def test_sync_all_chats_processes_chats_sequentially_with_totals(
    syncer: MessageSync, sims: MockBridges
) -> None:
    sizes = {"1@g.us": 1200, "2@g.us": 30, "3@g.us": 7}
    for chat, size in sizes.items():
        seed_baileys(sims, size, chat=chat, prefix=chat[0])
    result = syncer.sync_all_chats()
    assert {jid: part.synced for jid, part in result.chats.items()} == sizes
    assert result.synced == sum(sizes.values()) == len(sims.go.stored())
    assert result.batches == 4
    order = [body[0]["chat_jid"] for body in batch_bodies(sims)]
    assert order == sorted(order)  # one chat after the other, never interleaved
    assert all(len({m["chat_jid"] for m in body}) == 1 for body in batch_bodies(sims))
    checkpoints = {jid: syncer.checkpoints.get(jid) for jid in sizes}
    assert {jid: cp.message_count if cp else None for jid, cp in checkpoints.items()} == sizes


@pytest.mark.req("FR-018", "FR-019")
def test_sync_all_chats_one_chat_fails_others_synced(syncer: MessageSync, sims: MockBridges) -> None:
    seed_baileys(sims, 5, chat="1@g.us")
    seed_baileys(sims, 5, chat="2@g.us", start=1_800_000_000)
    sims.go.inject_status(500, ["/api/messages/batch"], times=1, after=1)
    result = syncer.sync_all_chats()
    assert (result.chats["1@g.us"].synced, result.chats["2@g.us"].failed) == (5, 5)
    assert (result.synced, result.failed, result.cleared) == (5, 5, False)


@pytest.mark.req("FR-020")
def test_sync_result_metrics_accurate(syncer: MessageSync, sims: MockBridges) -> None:
    messages = seed_baileys(sims, 1500)
    sims.go.seed({"messages": messages[:250]})
    sims.baileys.set_latency(0.5, ["/api/messages"])
    sims.baileys.seed({"messages": [{"id": "orphan", "chat_jid": "", "timestamp": 1}]})  # cannot be converted
    result = syncer.sync_all_chats()
    assert (result.fetched, result.synced, result.deduplicated, result.failed) == (1501, 1250, 250, 1)
    assert result.batches == 2
    assert result.elapsed == pytest.approx(2.0)  # four pages of 500 from Baileys, 0.5 s each
    assert result.throughput == pytest.approx(625.0)


@pytest.mark.req("FR-013", "FR-019")
def test_sync_baileys_fetch_timeout_fails_gracefully_without_writes(
    syncer: MessageSync, sims: MockBridges, clock: FakeClock
) -> None:
    seed_baileys(sims, 100)
    sims.baileys.set_latency(30.0, ["/api/messages"])
    started = clock()
    result = syncer.sync_all_chats()
    assert result.success is False
    assert "fetching from Baileys failed" in result.errors[0] and "timeout" in result.errors[0]
    assert (result.synced, result.failed) == (0, 0)
    assert sims.go.stored() == []
    assert len(sims.baileys.stored()) == 100
    assert clock() - started == pytest.approx(10.0)  # the client's read timeout, not 30 s
