"""Routing: strategies, operation types, fallback, required backends, routing info (seed 000 story 1)."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from mcptest.sim.mock import MockBridges
from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.base import Backend, BridgeError, BridgeUnavailable, InvalidBackendError
from whatsapp_mcp.backends.go_client import GoClient
from whatsapp_mcp.backends.health import HealthMonitor
from whatsapp_mcp.routing import (
    DEFAULT_STRATEGY,
    OPERATION_STRATEGIES,
    NoBackendAvailable,
    OperationType,
    Router,
    RoutingStrategy,
)

GO, BAILEYS = Backend.GO, Backend.BAILEYS

# Written out by hand: the routing table the product promises, not a copy of the code's map.
EXPECTED_BOTH_UP = {
    "send_message": GO,
    "send_media": GO,
    "mark_read": GO,
    "mark_community_read": GO,
    "list_messages": GO,  # FASTEST, equal response times: Go wins the tie
    "search_messages": GO,
    "list_chats": GO,  # ROUND_ROBIN, first turn
    "get_chat": GO,
    "list_communities": GO,
    "list_community_groups": GO,
    "get_stats": GO,  # PRIMARY_ONLY: the primary is Go
    "insert_batch": GO,
    "sync_full_history": BAILEYS,
    "fetch_older_history": BAILEYS,
    "sync_status": BAILEYS,
    "trigger_sync": BAILEYS,
    "clear_temp_store": BAILEYS,
    "download_media": GO,
    "health_check": GO,
}


def probe(monitor: HealthMonitor, sims: MockBridges, *, go: bool = True, baileys: bool = True) -> None:
    """Bring each bridge up or down (connection refused), then let the monitor look at both."""
    sims.go_transport.down = not go
    sims.baileys_transport.down = not baileys
    monitor.check_all()


@pytest.mark.req("FR-001", "FR-002")
def test_routing_send_message_go_healthy_baileys_down_selects_go(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims, baileys=False)
    assert router.select_backend(OperationType.SEND_MESSAGE) is GO


@pytest.mark.req("FR-001", "FR-002")
def test_routing_sync_full_history_both_healthy_selects_baileys(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    assert router.strategy_for(OperationType.SYNC_FULL_HISTORY) is RoutingStrategy.PREFER_BAILEYS
    assert router.select_backend(OperationType.SYNC_FULL_HISTORY) is BAILEYS


@pytest.mark.req("FR-002")
def test_routing_operation_types_at_least_fifteen_all_mapped() -> None:
    assert len(OperationType) >= 15
    assert set(OPERATION_STRATEGIES) == set(OperationType)
    assert {op.value for op in OperationType} == set(EXPECTED_BOTH_UP)


@pytest.mark.req("FR-001", "FR-002")
@pytest.mark.parametrize("operation", list(OperationType), ids=lambda op: op.value)
def test_routing_each_operation_both_healthy_selects_expected_backend(
    operation: OperationType, router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    assert router.select_backend(operation) is EXPECTED_BOTH_UP[operation.value]


@pytest.mark.req("FR-001", "FR-002")
@pytest.mark.parametrize("operation", list(OperationType), ids=lambda op: op.value)
def test_routing_each_operation_go_down_selects_baileys(
    operation: OperationType, router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims, go=False)
    assert router.select_backend(operation) is BAILEYS


@pytest.mark.req("FR-001", "FR-002")
@pytest.mark.parametrize("operation", list(OperationType), ids=lambda op: op.value)
def test_routing_each_operation_baileys_down_selects_go(
    operation: OperationType, router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims, baileys=False)
    assert router.select_backend(operation) is GO


@pytest.mark.req("FR-001")
def test_routing_primary_only_go_degraded_selects_baileys(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.go.set_connected(False)  # Go answers 503 "degraded": not usable, Baileys becomes primary
    monitor.check_all()
    assert monitor.primary() is BAILEYS
    assert router.select_backend(OperationType.GET_STATS) is BAILEYS


@pytest.mark.req("FR-001")
def test_routing_strategy_override_prefer_baileys_for_send_selects_baileys(
    monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    router = Router(monitor, {OperationType.SEND_MESSAGE: RoutingStrategy.PREFER_BAILEYS})
    assert router.select_backend(OperationType.SEND_MESSAGE) is BAILEYS


def _clients(go: GoClient, baileys: BaileysClient) -> dict[Backend, Any]:
    return {
        GO: lambda: go.list_messages("1@g.us")[0],
        BAILEYS: lambda: baileys.get_messages("1@g.us"),
    }


@pytest.mark.req("FR-003")
def test_route_with_fallback_go_database_down_retries_on_baileys(
    router: Router, monitor: HealthMonitor, sims: MockBridges, go: GoClient, baileys: BaileysClient
) -> None:
    # Partial recovery: WhatsApp is connected (health ok) but Go's database fails.
    probe(monitor, sims)
    sims.baileys.seed({"messages": [{"id": "b1", "chat_jid": "1@g.us", "timestamp": 10, "content": "hi"}]})
    sims.go.inject_status(500, ["/api/messages"], body={"success": False, "error_code": "DATABASE_ERROR"})
    calls = _clients(go, baileys)
    messages = router.route_with_fallback(OperationType.LIST_MESSAGES, lambda b: calls[b]())
    assert [m["id"] for m in messages] == ["b1"]
    assert [c.status for c in sims.go.history("/api/messages")] == [500]
    assert [c.status for c in sims.baileys.history("/api/messages")] == [200]


@pytest.mark.req("FR-003")
def test_route_with_fallback_connection_dropped_mid_request_uses_baileys(
    router: Router, monitor: HealthMonitor, sims: MockBridges, go: GoClient
) -> None:
    probe(monitor, sims)
    sims.go.inject_drop(["/api/send"])
    used: list[Backend] = []

    def send(backend: Backend) -> str:
        used.append(backend)
        return go.send_message("123", "hello") if backend is GO else "sent via baileys"

    assert router.route_with_fallback(OperationType.SEND_MESSAGE, send) == "sent via baileys"
    assert used == [GO, BAILEYS]
    assert sims.go.stored() == []  # the dropped send stored nothing


@pytest.mark.req("FR-003")
def test_route_with_fallback_failure_result_retries_on_secondary(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    answers = {GO: {"success": False, "message": "nope"}, BAILEYS: {"success": True, "message": "ok"}}
    assert router.route_with_fallback(OperationType.MARK_READ, lambda b: answers[b]) == answers[BAILEYS]


@pytest.mark.req("FR-003")
def test_route_with_fallback_first_succeeds_calls_once(
    router: Router, monitor: HealthMonitor, sims: MockBridges, go: GoClient
) -> None:
    probe(monitor, sims)
    used: list[Backend] = []

    def send(backend: Backend) -> str:
        used.append(backend)
        return go.send_message("123", "hi")

    assert router.route_with_fallback("send_message", send) == "Message sent to 123"
    assert used == [GO]
    assert [m["chat_jid"] for m in sims.go.stored()] == ["123@s.whatsapp.net"]


@pytest.mark.req("FR-003", "FR-004")
def test_route_with_fallback_both_raise_reraises_last_error(
    router: Router, monitor: HealthMonitor, sims: MockBridges, go: GoClient, baileys: BaileysClient
) -> None:
    probe(monitor, sims)
    sims.go.inject_status(500, ["/api/messages"])
    sims.baileys.inject_status(502, ["/api/messages"])
    calls = _clients(go, baileys)
    with pytest.raises(BridgeError) as caught:
        router.route_with_fallback(OperationType.LIST_MESSAGES, lambda b: calls[b]())
    assert (caught.value.backend, caught.value.status) == (BAILEYS, 502)


@pytest.mark.req("FR-003")
def test_route_with_fallback_both_report_failure_returns_failure_not_success(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    result = router.route_with_fallback(OperationType.SEND_MESSAGE, lambda b: {"success": False, "by": b})
    assert result == {"success": False, "by": BAILEYS}


@pytest.mark.req("FR-003")
def test_route_with_fallback_raise_then_failure_result_returns_failure(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)

    def call(backend: Backend) -> dict[str, Any]:
        if backend is GO:
            raise BridgeUnavailable(GO, "refused")
        return {"success": False}

    assert router.route_with_fallback(OperationType.SEND_MESSAGE, call) == {"success": False}


@pytest.mark.req("FR-003")
def test_route_with_fallback_secondary_down_reraises_primary_error(
    router: Router, monitor: HealthMonitor, sims: MockBridges, go: GoClient
) -> None:
    probe(monitor, sims, baileys=False)
    sims.go.inject_status(500, ["/api/send"], body={"success": False, "message": "send failed"})
    with pytest.raises(BridgeError, match="send failed") as caught:
        router.route_with_fallback(OperationType.SEND_MESSAGE, lambda b: go.send_message("1", "x"))
    assert caught.value.status == 500


@pytest.mark.req("FR-003")
def test_route_with_fallback_primary_only_never_falls_back(
    router: Router, monitor: HealthMonitor, sims: MockBridges, go: GoClient
) -> None:
    probe(monitor, sims)
    sims.go.inject_status(500, ["/api/stats"])
    used: list[Backend] = []

    def stats(backend: Backend) -> dict[str, Any]:
        used.append(backend)
        return go.stats()

    with pytest.raises(BridgeError):
        router.route_with_fallback(OperationType.GET_STATS, stats)
    assert used == [GO]


@pytest.mark.req("FR-004")
def test_routing_both_unavailable_returns_none_and_logs_error(
    router: Router, monitor: HealthMonitor, sims: MockBridges, caplog: pytest.LogCaptureFixture
) -> None:
    probe(monitor, sims, go=False, baileys=False)
    with caplog.at_level(logging.ERROR, logger="whatsapp_mcp.routing"):
        assert router.select_backend(OperationType.SEND_MESSAGE) is None
    assert "no backend available for send_message" in caplog.text


@pytest.mark.req("FR-004")
def test_routing_both_degraded_returns_none(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.go.set_connected(False)
    sims.baileys.set_connected(False)
    monitor.check_all()
    assert router.select_backend(OperationType.LIST_CHATS) is None
    assert router.is_operation_available(OperationType.LIST_CHATS) is False


@pytest.mark.req("FR-004")
def test_route_with_fallback_both_unavailable_raises_no_backend_without_calling(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims, go=False, baileys=False)
    used: list[Backend] = []
    with pytest.raises(NoBackendAvailable, match="no backend available for send_message"):
        router.route_with_fallback(OperationType.SEND_MESSAGE, used.append)
    assert used == []


@pytest.mark.req("FR-004")
def test_routing_before_any_health_check_returns_none(router: Router) -> None:
    assert router.select_backend(OperationType.SEND_MESSAGE) is None


@pytest.mark.req("FR-005")
def test_routing_required_backend_unavailable_returns_none_without_fallback(
    router: Router, monitor: HealthMonitor, sims: MockBridges, caplog: pytest.LogCaptureFixture
) -> None:
    probe(monitor, sims, baileys=False)
    with caplog.at_level(logging.ERROR, logger="whatsapp_mcp.routing"):
        assert router.select_backend(OperationType.SEND_MESSAGE, required_backend=BAILEYS) is None
    assert "required backend baileys is unavailable" in caplog.text


@pytest.mark.req("FR-005")
def test_routing_required_backend_available_overrides_strategy(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    assert router.select_backend(OperationType.SEND_MESSAGE, required_backend="baileys") is BAILEYS
    assert router.select_backend(OperationType.SYNC_FULL_HISTORY, required_backend="GO") is GO


@pytest.mark.req("FR-005")
def test_route_with_fallback_required_backend_failing_does_not_fall_back(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    used: list[Backend] = []

    def call(backend: Backend) -> dict[str, Any]:
        used.append(backend)
        return {"success": False}

    assert router.route_with_fallback(OperationType.SEND_MESSAGE, call, required_backend=GO) == {
        "success": False
    }
    assert used == [GO]


@pytest.mark.req("FR-005")
def test_route_with_fallback_required_backend_down_raises_no_backend(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims, go=False)
    used: list[Backend] = []
    with pytest.raises(NoBackendAvailable):
        router.route_with_fallback(OperationType.SEND_MESSAGE, used.append, required_backend=GO)
    assert used == []


@pytest.mark.req("FR-001", "FR-006")
def test_routing_round_robin_alternates_between_backends(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    picks = [router.select_backend(OperationType.LIST_CHATS) for _ in range(5)]
    assert picks == [GO, BAILEYS, GO, BAILEYS, GO]
    assert router.round_robin_calls == 5


@pytest.mark.req("FR-006")
def test_routing_round_robin_one_backend_up_always_selects_it_and_counts(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims, go=False)
    assert [router.select_backend(OperationType.GET_CHAT) for _ in range(3)] == [BAILEYS] * 3
    assert router.round_robin_calls == 3


@pytest.mark.req("FR-006")
def test_routing_round_robin_concurrent_selections_counted_exactly(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    picks: list[Backend | None] = []
    picks_lock = threading.Lock()
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        for _ in range(50):
            backend = router.select_backend(OperationType.LIST_CHATS)
            with picks_lock:
                picks.append(backend)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert router.round_robin_calls == 400
    assert (picks.count(GO), picks.count(BAILEYS)) == (200, 200)


@pytest.mark.req("FR-001", "FR-007")
def test_routing_fastest_selects_backend_with_lower_response_time(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.go.set_latency(0.30, ["/health"])
    sims.baileys.set_latency(0.05, ["/health"])
    monitor.check_all()
    assert router.select_backend(OperationType.LIST_MESSAGES) is BAILEYS


@pytest.mark.req("FR-007")
def test_routing_fastest_response_times_change_switches_backend(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.baileys.set_latency(2.0, ["/health"])
    monitor.check_all()
    assert router.select_backend(OperationType.DOWNLOAD_MEDIA) is GO
    sims.baileys.set_latency(0)
    sims.go.set_latency(3.0, ["/health"])
    monitor.check_all()
    assert router.select_backend(OperationType.DOWNLOAD_MEDIA) is BAILEYS


@pytest.mark.req("FR-007")
def test_routing_fastest_slow_backend_timed_out_never_selected(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.baileys.set_latency(10.0, ["/health"])  # beyond the 5 s read timeout: unreachable
    monitor.check_all()
    assert [router.select_backend(OperationType.LIST_MESSAGES) for _ in range(3)] == [GO] * 3


class _StaticHealth:
    """A health view with fixed answers, for the one case the monitor cannot produce: no timing."""

    def __init__(self, times: dict[Backend, float | None]) -> None:
        self.times = times

    def is_available(self, backend: Backend | str) -> bool:
        return True

    def response_time(self, backend: Backend | str) -> float | None:
        return self.times[Backend(backend)]


@pytest.mark.req("FR-007")
def test_routing_fastest_unmeasured_backend_counts_as_slowest() -> None:
    router = Router(_StaticHealth({GO: None, BAILEYS: 4.0}))
    assert router.select_backend(OperationType.LIST_MESSAGES) is BAILEYS


@pytest.mark.req("FR-008")
@pytest.mark.parametrize("name", ["whatsmeow", "", "go-bridge"])
def test_routing_invalid_backend_name_raises_clear_error(router: Router, name: str) -> None:
    with pytest.raises(InvalidBackendError, match="expected one of: go, baileys"):
        router.select_backend(OperationType.SEND_MESSAGE, required_backend=name)


@pytest.mark.req("FR-008")
def test_routing_invalid_backend_name_is_value_error_in_fallback_and_availability(router: Router) -> None:
    with pytest.raises(ValueError, match="'telegram'"):
        router.route_with_fallback(OperationType.SEND_MESSAGE, lambda b: b, required_backend="telegram")
    with pytest.raises(ValueError, match="'telegram'"):
        router.is_operation_available(OperationType.SEND_MESSAGE, required_backend="telegram")


@pytest.mark.req("FR-009")
def test_routing_info_reports_strategies_availability_and_selection(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.go.set_latency(0.25, ["/health"])
    probe(monitor, sims, baileys=False)
    info = router.get_routing_info(OperationType.SYNC_FULL_HISTORY)
    assert info["strategies"]["sync_full_history"] == "prefer_baileys"
    assert info["strategies"]["send_message"] == "prefer_go"
    assert len(info["strategies"]) == len(OperationType)
    assert info["default_strategy"] == DEFAULT_STRATEGY.value == "prefer_go"
    assert info["available"] == ["go"]
    assert info["response_times"]["go"] == pytest.approx(0.25)
    assert (info["operation"], info["strategy"], info["selected"]) == (
        "sync_full_history",
        "prefer_baileys",
        "go",
    )


@pytest.mark.req("FR-006", "FR-009")
def test_routing_info_does_not_advance_round_robin(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    router.select_backend(OperationType.LIST_CHATS)
    first = router.get_routing_info(OperationType.LIST_CHATS)
    second = router.get_routing_info(OperationType.LIST_CHATS)
    assert first["selected"] == second["selected"] == "baileys"
    assert first["round_robin_calls"] == second["round_robin_calls"] == 1
    assert router.select_backend(OperationType.LIST_CHATS) is BAILEYS


@pytest.mark.req("FR-009")
def test_routing_info_without_operation_has_no_selection(router: Router) -> None:
    info = router.get_routing_info()
    assert "selected" not in info
    assert info["available"] == []


@pytest.mark.req("FR-010")
@pytest.mark.parametrize(
    ("go_up", "baileys_up", "expected"),
    [(True, True, True), (True, False, True), (False, True, True), (False, False, False)],
)
def test_routing_is_operation_available_matches_backend_availability(
    router: Router, monitor: HealthMonitor, sims: MockBridges, go_up: bool, baileys_up: bool, expected: bool
) -> None:
    probe(monitor, sims, go=go_up, baileys=baileys_up)
    assert router.is_operation_available(OperationType.SEND_MESSAGE) is expected
    assert router.is_operation_available("sync_full_history") is expected


@pytest.mark.req("FR-005", "FR-010")
def test_routing_is_operation_available_required_backend_down_false(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims, go=False)
    assert router.is_operation_available(OperationType.MARK_READ) is True
    assert router.is_operation_available(OperationType.MARK_READ, required_backend=GO) is False


@pytest.mark.req("FR-002")
def test_routing_unknown_operation_uses_default_prefer_go_and_warns(
    router: Router, monitor: HealthMonitor, sims: MockBridges, caplog: pytest.LogCaptureFixture
) -> None:
    probe(monitor, sims)
    with caplog.at_level(logging.WARNING, logger="whatsapp_mcp.routing"):
        assert router.strategy_for("teleport_message") is RoutingStrategy.PREFER_GO
        assert router.select_backend("teleport_message") is GO
    assert "no strategy for operation 'teleport_message'" in caplog.text
    probe(monitor, sims, go=False)
    assert router.select_backend("teleport_message") is BAILEYS


@pytest.mark.req("FR-002")
def test_routing_operation_missing_from_custom_map_uses_default(
    monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    router = Router(monitor, {OperationType.SEND_MESSAGE: RoutingStrategy.PREFER_BAILEYS})
    assert router.strategy_for(OperationType.SYNC_FULL_HISTORY) is DEFAULT_STRATEGY
    assert router.select_backend(OperationType.SYNC_FULL_HISTORY) is GO


@pytest.mark.req("FR-002")
def test_routing_operation_given_as_string_matches_enum(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims)
    assert router.select_backend("SYNC_FULL_HISTORY") is router.select_backend(
        OperationType.SYNC_FULL_HISTORY
    )
    assert router.strategy_for("trigger_sync") is RoutingStrategy.PREFER_BAILEYS


@pytest.mark.req("FR-003", "FR-004")
def test_routing_backend_recovers_next_check_routes_to_go_again(
    router: Router, monitor: HealthMonitor, sims: MockBridges
) -> None:
    probe(monitor, sims, go=False)
    assert router.select_backend(OperationType.SEND_MESSAGE) is BAILEYS
    probe(monitor, sims)
    assert router.select_backend(OperationType.SEND_MESSAGE) is GO
