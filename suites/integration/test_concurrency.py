"""Concurrent operations against live simulators: sends, syncs, health checks, failover, mixed load (story 6).

Threads start together on a barrier; assertions are on the final state of the bridges' stores and call
histories (exact counts, no duplicates, nothing lost), never on sleeps. Every wait is bounded.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from mcptest.sim.behaviour import generate_messages
from suites.integration.helpers import Own, Stack, run_together
from whatsapp_mcp.backends.base import Backend
from whatsapp_mcp.backends.health import HealthStatus, OverallHealth
from whatsapp_mcp.routing import OperationType
from whatsapp_mcp.sync import MessageSync, SyncResult

GO, BAILEYS = Backend.GO, Backend.BAILEYS


def chat(i: int) -> str:
    return f"12036300000000{i:04d}@g.us"


def sender(stack: Stack, recipient: str, text: str) -> Callable[[], str]:
    """A SEND_MESSAGE through the router; only Go can send, so a fallback to Baileys is a failure."""

    def call(backend: Backend) -> Any:
        if backend is not GO:
            return {"success": False, "error": "the Baileys bridge cannot send"}
        return stack.go.send_message(recipient, text)

    return lambda: stack.router.route_with_fallback(OperationType.SEND_MESSAGE, call)


def sent_rows(stack: Stack) -> list[dict[str, Any]]:
    return [r for r in stack.go_ctl.stored() if r["sync_source"] == "send"]


def no_errors(results: list[Any]) -> None:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, f"{len(errors)} operation(s) raised, first: {errors[0]!r}"


@pytest.mark.req("FR-041")
def test_concurrency_ten_sends_all_stored_exactly_once(shared: Stack) -> None:
    assert shared.monitor.check_all().status == "ok"
    results = run_together([sender(shared, f"1555000{i:04d}", f"hello {i}") for i in range(10)])
    no_errors(results)
    assert sorted(results) == sorted(f"Message sent to 1555000{i:04d}" for i in range(10))
    rows = sent_rows(shared)
    assert sorted(r["content"] for r in rows) == sorted(f"hello {i}" for i in range(10))
    assert len({(r["chat_jid"], r["id"]) for r in rows}) == 10  # ten distinct messages, none overwritten
    assert shared.go_ctl.statuses("/api/send") == [200] * 10
    assert shared.baileys_ctl.calls("/api/*") == []


@pytest.mark.req("FR-042")
def test_concurrency_five_chat_syncs_no_duplicates_no_loss(shared: Stack) -> None:
    chats = [chat(i) for i in range(5)]
    for jid in chats:
        history = generate_messages(jid, 300, prefix=f"c{jid[-9:-5]}-")
        shared.baileys_ctl.seed(messages=history)
        shared.go_ctl.seed(messages=history[:50])  # 50 of each chat are already in Go
    syncer = MessageSync(shared.go, shared.baileys)
    started = time.monotonic()
    results: list[Any] = run_together([lambda jid=jid: syncer.sync_messages(jid) for jid in chats])
    no_errors(results)
    assert time.monotonic() - started < 30
    for jid, result in zip(chats, results, strict=True):
        assert isinstance(result, SyncResult) and result.success, result
        assert (result.fetched, result.synced, result.deduplicated, result.failed) == (300, 250, 50, 0)
        rows = shared.go_ctl.stored(jid)
        assert len(rows) == 300
        assert len({r["id"] for r in rows}) == 300
        assert Counter(r["sync_source"] for r in rows) == {"seed": 50, "baileys": 250}
    assert len(shared.go_ctl.stored()) == 1500


@pytest.mark.req("FR-042")
def test_concurrency_two_syncs_of_same_chat_store_each_message_once(shared: Stack) -> None:
    jid = chat(7)
    shared.baileys_ctl.seed(messages=generate_messages(jid, 400))
    syncer = MessageSync(shared.go, shared.baileys)
    results: list[Any] = run_together([lambda: syncer.sync_messages(jid), lambda: syncer.sync_messages(jid)])
    no_errors(results)
    assert sum(r.synced for r in results) == 400  # one of them stored all, the other found them there
    assert sorted(r.deduplicated for r in results) == [0, 400]
    assert len(shared.go_ctl.stored(jid)) == 400


@pytest.mark.req("FR-043")
def test_concurrency_twenty_health_checks_complete_under_ten_seconds(shared: Stack) -> None:
    started = time.monotonic()
    results: list[Any] = run_together([shared.monitor.check_all for _ in range(20)], timeout=10)
    elapsed = time.monotonic() - started
    no_errors(results)
    assert elapsed < 10
    assert all(isinstance(r, OverallHealth) and r.status == "ok" for r in results)
    assert shared.monitor.failure_count(GO) == shared.monitor.failure_count(BAILEYS) == 0
    assert shared.go_ctl.statuses("/health") == [200] * 20
    assert shared.baileys_ctl.statuses("/health") == [200] * 20


def searcher(stack: Stack, jid: str) -> Callable[[], list[dict[str, Any]]]:
    def call(backend: Backend) -> list[dict[str, Any]]:
        if backend is GO:
            return stack.go.list_messages(jid)[0]
        return stack.baileys.get_messages(jid)

    return lambda: stack.router.route_with_fallback(OperationType.SEARCH_MESSAGES, call)


@pytest.mark.req("FR-044")
def test_concurrency_fallback_during_go_database_failure_each_caller_gets_own_answer(shared: Stack) -> None:
    chats = [chat(i) for i in range(10)]
    for i, jid in enumerate(chats):
        shared.baileys_ctl.seed(messages=generate_messages(jid, 3, prefix=f"x{i}-"))
    shared.monitor.check_all()
    shared.go_ctl.fail(500, ["/api/messages"], body={"success": False, "error_code": "DATABASE_ERROR"})
    results = run_together([searcher(shared, jid) for jid in chats])
    no_errors(results)
    for i, found in enumerate(results):
        assert [m["id"] for m in found] == [f"x{i}-0", f"x{i}-1", f"x{i}-2"]  # no answer crossed threads
    assert shared.go_ctl.statuses("/api/messages") == [500] * 10
    assert shared.baileys_ctl.statuses("/api/messages") == [200] * 10


@pytest.mark.req("FR-044")
def test_concurrency_fallback_go_process_killed_all_requests_fail_over(own: Own) -> None:
    chats = [chat(i) for i in range(10)]
    for i, jid in enumerate(chats):
        own.baileys_ctl.seed(messages=generate_messages(jid, 2, prefix=f"k{i}-"))
    own.monitor.check_all()
    own.go_proc.kill()
    started = time.monotonic()
    results = run_together([searcher(own, jid) for jid in chats])
    no_errors(results)
    assert time.monotonic() - started < 5.0  # SC-011
    assert [[m["id"] for m in found] for found in results] == [[f"k{i}-0", f"k{i}-1"] for i in range(10)]
    assert own.baileys_ctl.statuses("/api/messages") == [200] * 10


@pytest.mark.req("FR-045")
def test_concurrency_hundred_mixed_operations_all_succeed(shared: Stack) -> None:
    chats = [chat(100 + i) for i in range(10)]
    for jid in chats:
        shared.baileys_ctl.seed(messages=generate_messages(jid, 100, prefix=f"{jid[10:14]}-"))
    assert shared.monitor.check_all().status == "ok"
    syncer = MessageSync(shared.go, shared.baileys)
    tasks: list[Callable[[], Any]] = []
    tasks += [sender(shared, f"1666000{i:04d}", f"load {i}") for i in range(40)]
    tasks += [lambda jid=jid: syncer.sync_messages(jid) for jid in chats for _ in range(3)]  # 30 syncs
    tasks += [shared.monitor.check_all for _ in range(30)]
    assert len(tasks) == 100
    started = time.monotonic()
    results = run_together(tasks)
    elapsed = time.monotonic() - started
    no_errors(results)
    assert elapsed < 60
    sends, syncs, checks = results[:40], results[40:70], results[70:]
    assert sorted(sends) == sorted(f"Message sent to 1666000{i:04d}" for i in range(40))
    assert len(sent_rows(shared)) == 40
    assert all(s.success for s in syncs)
    assert sum(s.synced for s in syncs) == 1000  # each message stored by exactly one of its chat's syncs
    for jid in chats:
        rows = shared.go_ctl.stored(jid)
        assert len(rows) == len({r["id"] for r in rows}) == 100
    assert all(c.status == "ok" and c.backends[GO].status is HealthStatus.OK for c in checks)
    assert shared.go_ctl.statuses("/api/send") == [200] * 40
