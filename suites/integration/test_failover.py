"""Backend failover against live simulators: killed processes, both down, recovery, slow bridges (story 5)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from mcptest.sim.behaviour import generate_messages
from suites.integration.helpers import Own, Stack, make_stack
from whatsapp_mcp.backends.base import Backend, BridgeUnavailable
from whatsapp_mcp.backends.health import HealthStatus
from whatsapp_mcp.routing import NoBackendAvailable, OperationType

GO, BAILEYS = Backend.GO, Backend.BAILEYS
CHAT = "120363000000000001@g.us"
#: SC-011: a request must be served by the other bridge within 5 s of a bridge failing.
FAILOVER_LIMIT = 5.0
#: FR-039: with no backend at all, an operation must fail within 10 s.
FAIL_FAST_LIMIT = 10.0


def seed_both(stack: Stack, count: int = 5) -> None:
    """The same chat history in Go's store (ids g*) and Baileys' temporary store (ids b*)."""
    stack.go_ctl.seed(messages=generate_messages(CHAT, count, prefix="g"))
    stack.baileys_ctl.seed(messages=generate_messages(CHAT, count, prefix="b"))


def search(stack: Stack, text: str) -> Callable[[Backend], list[dict[str, Any]]]:
    """SEARCH_MESSAGES on either bridge: Go filters by content itself, Baileys' store is filtered here."""

    def call(backend: Backend) -> list[dict[str, Any]]:
        if backend is GO:
            return stack.go.list_messages(CHAT, content=text)[0]
        return [m for m in stack.baileys.get_messages(CHAT) if text in (m.get("content") or "")]

    return call


def wait_until(condition: Callable[[], bool], timeout: float = 5.0, step: float = 0.02) -> bool:
    """Poll ``condition`` for at most ``timeout`` seconds (bounded by a count as well)."""
    for _ in range(int(timeout / step) + 1):
        if condition():
            return True
        time.sleep(step)
    return condition()


@pytest.mark.req("FR-036")
def test_failover_go_killed_mid_request_search_served_by_baileys_within_5s(own: Own) -> None:
    seed_both(own)
    assert own.monitor.check_all().status == "ok"
    own.go_ctl.set_latency(3.0, ["/api/messages"])  # keeps Go's answer in flight long enough to kill it
    outcome: dict[str, Any] = {}

    def search_now() -> None:
        try:
            outcome["result"] = own.router.route_with_fallback(OperationType.SEARCH_MESSAGES, search(own, "message"))
        except Exception as exc:
            outcome["error"] = exc
        outcome["done"] = time.monotonic()

    worker = threading.Thread(target=search_now, daemon=True)
    worker.start()
    assert wait_until(lambda: len(own.go_ctl.calls("/api/messages")) == 1), "Go never received the search"
    killed = time.monotonic()
    own.go_proc.kill()
    worker.join(FAILOVER_LIMIT + 5)
    assert not worker.is_alive(), "the search hung after Go was killed"
    assert "error" not in outcome, outcome.get("error")
    assert sorted(m["id"] for m in outcome["result"]) == [f"b{i}" for i in range(5)]
    assert outcome["done"] - killed < FAILOVER_LIMIT
    assert own.baileys_ctl.statuses("/api/messages") == [200]


@pytest.mark.req("FR-036")
def test_failover_go_killed_before_request_refused_at_once_baileys_serves(own: Own) -> None:
    seed_both(own)
    own.monitor.check_all()  # both healthy: the router still believes in Go
    own.go_proc.kill()
    started = time.monotonic()
    result = own.router.route_with_fallback(OperationType.SEARCH_MESSAGES, search(own, "message 3"))
    assert [m["id"] for m in result] == ["b3"]
    assert time.monotonic() - started < FAILOVER_LIMIT
    with pytest.raises(BridgeUnavailable, match="unreachable"):
        own.go.stats()  # a real refused connection, not an HTTP error


@pytest.mark.req("FR-036")
def test_failover_baileys_unreachable_required_operation_fails_fast_with_clear_error(own: Own) -> None:
    own.baileys_proc.kill()
    started = time.monotonic()
    overall = own.monitor.check_all()
    assert overall.backends[BAILEYS].status is HealthStatus.UNREACHABLE
    assert overall.status == "degraded" and overall.available == [GO]
    attempted: list[Backend] = []
    with pytest.raises(NoBackendAvailable, match="no backend available for fetch_older_history"):
        own.router.route_with_fallback(OperationType.FETCH_OLDER_HISTORY, attempted.append, required_backend=BAILEYS)
    assert attempted == []
    assert time.monotonic() - started < 2.0  # a refused port is reported at once, never a long timeout


@pytest.mark.req("FR-037", "FR-039")
def test_failover_both_killed_any_operation_fails_fast_no_backend_available(own: Own) -> None:
    own.monitor.check_all()
    own.go_proc.kill()
    own.baileys_proc.kill()
    started = time.monotonic()
    overall = own.monitor.check_all()
    attempted: list[Backend] = []
    for operation in (OperationType.SEND_MESSAGE, OperationType.SYNC_FULL_HISTORY, OperationType.LIST_MESSAGES):
        with pytest.raises(NoBackendAvailable, match="no backend available"):
            own.router.route_with_fallback(operation, attempted.append)
    assert time.monotonic() - started < FAIL_FAST_LIMIT
    assert (overall.status, overall.available, overall.primary) == ("error", [], None)
    assert attempted == []


@pytest.mark.req("FR-037", "FR-039")
def test_failover_both_killed_after_health_check_request_fails_fast_with_last_error(own: Own) -> None:
    seed_both(own)
    assert own.monitor.check_all().status == "ok"  # the router's view is stale from here on
    own.go_proc.kill()
    own.baileys_proc.kill()
    started = time.monotonic()
    with pytest.raises(BridgeUnavailable) as raised:
        own.router.route_with_fallback(OperationType.SEARCH_MESSAGES, search(own, "message"))
    assert raised.value.backend is BAILEYS  # Go was tried first, then Baileys; the last error is raised
    assert time.monotonic() - started < FAIL_FAST_LIMIT


@pytest.mark.req("FR-038")
def test_failover_go_recovers_next_health_check_routes_traffic_to_go_again(own: Own) -> None:
    assert own.go_proc is not None
    own.go_proc.kill()
    own.monitor.check_all()
    assert own.router.select_backend(OperationType.SEND_MESSAGE) is BAILEYS
    assert own.monitor.failure_count(GO) == 1
    own.go_proc.restart()
    # Until the next health check the router keeps its last view.
    assert own.router.select_backend(OperationType.SEND_MESSAGE) is BAILEYS
    health = own.monitor.check_go_health()
    assert health.status is HealthStatus.OK and health.consecutive_failures == 0
    used: list[Backend] = []

    def send(backend: Backend) -> str:
        used.append(backend)
        if backend is not GO:
            raise AssertionError("sent through Baileys although Go had recovered")
        return own.go.send_message("15550001", "back again")

    assert own.router.route_with_fallback(OperationType.SEND_MESSAGE, send) == "Message sent to 15550001"
    assert used == [GO]
    rows = own.go_ctl.stored("15550001@s.whatsapp.net")
    assert [(r["content"], r["sync_source"]) for r in rows] == [("back again", "send")]


@pytest.mark.req("FR-040")
def test_failover_fastest_baileys_ten_second_responses_selects_go_consistently(bridge_control: Any) -> None:
    # The one test that really waits 10 s: Baileys answers its health check, but only after 10 s.
    slow = make_stack(bridge_control.go.url, bridge_control.baileys.url, bridge_control.go, bridge_control.baileys,
                      read_timeout=15.0)
    slow.baileys_ctl.set_latency(10.0, ["/health"])
    overall = slow.monitor.check_all()
    assert overall.status == "ok"  # slow is not down: both stay available
    assert slow.monitor.response_time(BAILEYS) >= 10.0 > 1.0 > slow.monitor.response_time(GO)
    chosen = [slow.router.select_backend(OperationType.LIST_MESSAGES) for _ in range(20)]
    assert chosen == [GO] * 20
    served = [slow.router.route_with_fallback(OperationType.LIST_MESSAGES, lambda b: b) for _ in range(5)]
    assert served == [GO] * 5


@pytest.mark.req("FR-040")
def test_failover_fastest_baileys_slower_than_read_timeout_marked_unreachable_go_selected(shared: Stack) -> None:
    quick = make_stack(shared.go_ctl.url, shared.baileys_ctl.url, shared.go_ctl, shared.baileys_ctl,
                       read_timeout=0.5)
    quick.baileys_ctl.set_latency(10.0, ["/health"])
    started = time.monotonic()
    overall = quick.monitor.check_all()
    assert time.monotonic() - started < 3.0  # cut at the read timeout, not after 10 s
    assert overall.backends[BAILEYS].status is HealthStatus.UNREACHABLE
    assert "timeout" in overall.backends[BAILEYS].reason
    assert [quick.router.select_backend(OperationType.DOWNLOAD_MEDIA) for _ in range(10)] == [GO] * 10


@pytest.mark.req("FR-040")
def test_failover_fastest_response_times_change_switches_backend(shared: Stack) -> None:
    shared.go_ctl.set_latency(0.3, ["/health"])
    shared.monitor.check_all()
    assert shared.router.select_backend(OperationType.LIST_MESSAGES) is BAILEYS
    shared.go_ctl.set_latency(0)  # clears every latency rule of Go
    shared.baileys_ctl.set_latency(0.3, ["/health"])
    shared.monitor.check_all()
    assert shared.router.select_backend(OperationType.LIST_MESSAGES) is GO
    assert shared.monitor.response_time(BAILEYS) >= 0.3 > shared.monitor.response_time(GO)
