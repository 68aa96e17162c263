"""Health monitoring: probe classification, failure counts, aggregation, waiting (seed 000 story 3)."""

from __future__ import annotations

import logging
import threading

import pytest

from mcptest.sim.behaviour import FakeClock
from mcptest.sim.mock import MockBridges, MockTransport
from whatsapp_mcp.backends.base import Backend, InvalidBackendError
from whatsapp_mcp.backends.health import BackendHealth, HealthMonitor, HealthStatus, classify

BACKENDS = ["go", "baileys"]


def transport(sims: MockBridges, name: str) -> MockTransport:
    return sims.go_transport if name == "go" else sims.baileys_transport


def check(monitor: HealthMonitor, name: str) -> BackendHealth:
    return monitor.check_go_health() if name == "go" else monitor.check_baileys_health()


@pytest.mark.req("FR-021")
def test_health_go_200_ok_marked_ok_with_response_time(monitor: HealthMonitor, sims: MockBridges) -> None:
    sims.go.set_latency(0.12, ["/health"])
    health = monitor.check_go_health()
    assert health.status is HealthStatus.OK
    assert health.http_status == 200
    assert health.response_time == pytest.approx(0.12)
    assert health.consecutive_failures == 0
    assert health.details["whatsapp_connected"] is True


@pytest.mark.req("FR-021", "FR-025")
def test_health_baileys_200_connected_marked_ok_with_response_time(
    monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.baileys.set_latency(0.4)
    health = monitor.check_baileys_health()
    assert (health.status, health.http_status) == (HealthStatus.OK, 200)
    assert health.response_time == pytest.approx(0.4)


@pytest.mark.req("FR-021")
def test_health_go_503_degraded_marked_degraded_not_ok(monitor: HealthMonitor, sims: MockBridges) -> None:
    sims.go.set_connected(False)
    health = monitor.check_go_health()
    assert (health.status, health.http_status) == (HealthStatus.DEGRADED, 503)
    assert "not connected" in health.reason
    assert monitor.is_available(Backend.GO) is False


@pytest.mark.req("FR-025")
def test_health_baileys_connected_false_marked_degraded(monitor: HealthMonitor, sims: MockBridges) -> None:
    sims.baileys.set_connected(False)
    health = monitor.check_baileys_health()
    assert (health.status, health.http_status) == (HealthStatus.DEGRADED, 200)
    assert health.consecutive_failures == 1


@pytest.mark.req("FR-022", "FR-025")
@pytest.mark.parametrize("name", BACKENDS)
def test_health_read_timeout_marked_unreachable_with_timeout_reason(
    monitor: HealthMonitor, sims: MockBridges, clock: FakeClock, name: str
) -> None:
    getattr(sims, name).set_latency(6.0, ["/health"])  # the probe waits 5 s at most
    started = clock()
    health = check(monitor, name)
    assert health.status is HealthStatus.UNREACHABLE
    assert health.reason == "timeout after 5s"
    assert health.http_status is None
    assert clock() - started == pytest.approx(5.0)
    assert health.response_time == pytest.approx(5.0)


@pytest.mark.req("FR-023", "FR-025")
@pytest.mark.parametrize("name", BACKENDS)
def test_health_connection_refused_marked_unreachable_fast(
    monitor: HealthMonitor, sims: MockBridges, clock: FakeClock, name: str
) -> None:
    transport(sims, name).down = True
    started = clock()
    health = check(monitor, name)
    assert health.status is HealthStatus.UNREACHABLE
    assert "refused" in health.reason
    assert clock() - started < 1.0
    # the probe asked for a short connect timeout, so a real closed port is reported within 1 s
    connect_timeout, read_timeout = sims.mocker.request_history[-1].timeout
    assert connect_timeout <= 1.0 < read_timeout


@pytest.mark.req("FR-024", "FR-025")
@pytest.mark.parametrize("name", BACKENDS)
def test_health_http_500_marked_error_with_status_logged(
    monitor: HealthMonitor, sims: MockBridges, name: str, caplog: pytest.LogCaptureFixture
) -> None:
    getattr(sims, name).inject_status(500, ["/health"], body={"error": "boom"})
    with caplog.at_level(logging.WARNING, logger="whatsapp_mcp.backends.health"):
        health = check(monitor, name)
    assert (health.status, health.http_status) == (HealthStatus.ERROR, 500)
    assert "HTTP 500" in health.reason
    assert f"{name} bridge is error: HTTP 500" in caplog.text


@pytest.mark.req("FR-024", "FR-025")
@pytest.mark.parametrize("name", BACKENDS)
def test_health_body_not_json_object_marked_error(
    monitor: HealthMonitor, sims: MockBridges, name: str
) -> None:
    getattr(sims, name).inject_status(200, ["/health"], body=["ok"])
    assert check(monitor, name).status is HealthStatus.ERROR


@pytest.mark.req("FR-022", "FR-025")
def test_health_dropped_connection_marked_unreachable(monitor: HealthMonitor, sims: MockBridges) -> None:
    sims.baileys.inject_drop(["/health"], times=1)
    assert monitor.check_baileys_health().status is HealthStatus.UNREACHABLE
    assert monitor.check_baileys_health().status is HealthStatus.OK


@pytest.mark.req("FR-021", "FR-024", "FR-025")
@pytest.mark.parametrize(
    ("backend", "status", "body", "expected"),
    [
        (Backend.GO, 200, {"status": "ok", "whatsapp_connected": True}, HealthStatus.OK),
        (Backend.GO, 200, {"status": "ok", "whatsapp_connected": False}, HealthStatus.DEGRADED),
        (Backend.GO, 200, {"status": "degraded"}, HealthStatus.DEGRADED),
        (Backend.GO, 503, {"status": "degraded", "whatsapp_connected": False}, HealthStatus.DEGRADED),
        (Backend.GO, 503, {"status": "starting"}, HealthStatus.ERROR),
        (Backend.GO, 200, {"status": "error"}, HealthStatus.ERROR),
        (Backend.BAILEYS, 200, {"status": "ok", "connected": True}, HealthStatus.OK),
        (Backend.BAILEYS, 200, {"status": "ok", "connected": False}, HealthStatus.DEGRADED),
        (Backend.BAILEYS, 404, {"status": "ok"}, HealthStatus.ERROR),
        (Backend.BAILEYS, 200, None, HealthStatus.ERROR),
    ],
)
def test_health_classify_contract_answers_expected_status(
    backend: Backend, status: int, body: object, expected: HealthStatus
) -> None:
    assert classify(backend, status, body)[0] is expected


@pytest.mark.req("FR-026", "FR-027", "FR-028")
def test_health_check_all_both_healthy_ok_with_both_available_go_primary(monitor: HealthMonitor) -> None:
    overall = monitor.check_all()
    assert overall.status == "ok"
    assert overall.available == [Backend.GO, Backend.BAILEYS]
    assert overall.primary is Backend.GO
    assert set(overall.backends) == {Backend.GO, Backend.BAILEYS}


@pytest.mark.req("FR-026", "FR-027")
def test_health_check_all_only_go_healthy_degraded_with_go_available(
    monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.baileys_transport.down = True
    overall = monitor.check_all()
    assert (overall.status, overall.available, overall.primary) == ("degraded", [Backend.GO], Backend.GO)
    assert overall.backends[Backend.BAILEYS].status is HealthStatus.UNREACHABLE


@pytest.mark.req("FR-026", "FR-027", "FR-028")
def test_health_check_all_only_baileys_healthy_degraded_baileys_primary(
    monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.go.inject_status(500, ["/health"])
    overall = monitor.check_all()
    assert (overall.status, overall.available, overall.primary) == (
        "degraded",
        [Backend.BAILEYS],
        Backend.BAILEYS,
    )


@pytest.mark.req("FR-026", "FR-027")
def test_health_check_all_both_down_error_with_empty_available(
    monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.go_transport.down = True
    sims.baileys.set_latency(30.0)
    overall = monitor.check_all()
    assert (overall.status, overall.available, overall.primary) == ("error", [], None)


@pytest.mark.req("FR-026", "FR-027")
def test_health_check_all_both_degraded_error_nothing_available(
    monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.go.set_connected(False)
    sims.baileys.set_connected(False)
    overall = monitor.check_all()
    assert overall.status == "error"
    assert overall.available == []
    assert {h.status for h in overall.backends.values()} == {HealthStatus.DEGRADED}


@pytest.mark.req("FR-026")
def test_health_overall_before_any_probe_error(monitor: HealthMonitor) -> None:
    overall = monitor.overall()
    assert (overall.status, overall.available, overall.primary) == ("error", [], None)
    assert monitor.last("go") is None
    assert monitor.response_time(Backend.GO) is None


@pytest.mark.req("FR-029")
def test_health_success_after_failures_resets_failure_counter(
    monitor: HealthMonitor, sims: MockBridges
) -> None:
    sims.go_transport.down = True
    counts = [monitor.check_go_health().consecutive_failures for _ in range(3)]
    assert counts == [1, 2, 3]
    assert monitor.failure_count("go") == 3
    sims.go_transport.down = False
    assert monitor.check_go_health().consecutive_failures == 0
    assert monitor.failure_count(Backend.GO) == 0


@pytest.mark.req("FR-029")
def test_health_failures_counted_per_backend(monitor: HealthMonitor, sims: MockBridges) -> None:
    sims.baileys.set_connected(False)
    monitor.check_all()
    monitor.check_all()
    assert (monitor.failure_count("go"), monitor.failure_count("baileys")) == (0, 2)


@pytest.mark.req("FR-029")
def test_health_concurrent_failed_checks_counted_exactly(monitor: HealthMonitor, sims: MockBridges) -> None:
    sims.go_transport.down = True
    threads = [threading.Thread(target=monitor.check_go_health) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert monitor.failure_count("go") == 20
    assert sims.go_transport.refused == 20


@pytest.mark.req("FR-022", "FR-029")
def test_health_timeout_then_late_answer_next_check_ok(monitor: HealthMonitor, sims: MockBridges) -> None:
    sims.go.set_latency(8.0, ["/health"])
    assert monitor.check_go_health().status is HealthStatus.UNREACHABLE
    # the bridge did answer, late: the simulator saw a 200 the probe never read
    assert [c.status for c in sims.go.history("/health")] == [200]
    sims.go.set_latency(0)
    health = monitor.check_go_health()
    assert (health.status, health.consecutive_failures) == (HealthStatus.OK, 0)


@pytest.mark.req("FR-030")
def test_health_wait_for_backend_already_healthy_returns_true_without_sleeping(
    monitor: HealthMonitor, sims: MockBridges, clock: FakeClock
) -> None:
    started = clock()
    assert monitor.wait_for_backend("go", timeout=10) is True
    assert clock() == started
    assert len(sims.go.history("/health")) == 1


@pytest.mark.req("FR-030")
def test_health_wait_for_backend_polls_until_recovered(sims: MockBridges, clock: FakeClock) -> None:
    sims.go_transport.down = True
    recover_at = clock() + 3.0

    def sleep(seconds: float) -> None:
        clock.advance(seconds)
        if clock() >= recover_at:
            sims.go_transport.down = False

    monitor = HealthMonitor(clock=clock, sleep=sleep)
    started = clock()
    assert monitor.wait_for_backend(Backend.GO, timeout=10, interval=1.0) is True
    assert clock() - started == pytest.approx(3.0)
    assert sims.go_transport.refused == 3  # probes at t=0, 1, 2 refused; t=3 answered
    assert monitor.failure_count("go") == 0


@pytest.mark.req("FR-030")
def test_health_wait_for_backend_never_healthy_times_out_false(
    monitor: HealthMonitor, sims: MockBridges, clock: FakeClock
) -> None:
    sims.baileys.set_connected(False)
    started = clock()
    assert monitor.wait_for_backend("baileys", timeout=5, interval=2.0) is False
    assert clock() - started == pytest.approx(5.0)
    assert len(sims.baileys.history("/health")) == 4  # t=0, 2, 4, 5
    assert monitor.failure_count("baileys") == 4


@pytest.mark.req("FR-008", "FR-030")
def test_health_unknown_backend_name_raises_invalid_backend(monitor: HealthMonitor) -> None:
    with pytest.raises(InvalidBackendError, match="'whatsmeow'"):
        monitor.wait_for_backend("whatsmeow")
    with pytest.raises(InvalidBackendError):
        monitor.check("")
