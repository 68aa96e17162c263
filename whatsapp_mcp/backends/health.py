"""Health of the two bridges: probes with the contract's meaning, failure counts and the overall state."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import requests

from whatsapp_mcp.backends.base import BAILEYS_URL, GO_URL, Backend, parse_backend

log = logging.getLogger(__name__)


class HealthStatus(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # the bridge runs but WhatsApp is not connected
    ERROR = "error"  # it answered, but with an unexpected status or body
    UNREACHABLE = "unreachable"  # refused, reset or timed out


@dataclass
class BackendHealth:
    backend: Backend
    status: HealthStatus
    response_time: float | None = None  # seconds
    http_status: int | None = None
    reason: str = ""
    consecutive_failures: int = 0
    checked_at: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def available(self) -> bool:
        return self.status is HealthStatus.OK


@dataclass
class OverallHealth:
    """``ok``: every bridge usable; ``degraded``: some; ``error``: none (even if all are merely degraded)."""

    status: str
    backends: dict[Backend, BackendHealth]
    available: list[Backend]
    primary: Backend | None


def classify(backend: Backend, http_status: int, body: Any) -> tuple[HealthStatus, str]:
    """The contract's meaning of a /health answer: Go says 503 "degraded"; Baileys says connected false."""
    if not isinstance(body, dict):
        return HealthStatus.ERROR, f"HTTP {http_status} without a JSON object"
    status = body.get("status")
    connected = body.get("whatsapp_connected" if backend is Backend.GO else "connected")
    if http_status == 200 and status == "ok" and connected is not False:
        return HealthStatus.OK, ""
    if (http_status == 200 and status in ("ok", "degraded")) or (http_status == 503 and status == "degraded"):
        return HealthStatus.DEGRADED, "WhatsApp is not connected"
    return HealthStatus.ERROR, f"HTTP {http_status} status {status!r}"


class HealthMonitor:
    """Probes ``/health`` of each bridge and remembers the last answer of each."""

    def __init__(
        self,
        go_url: str = GO_URL,
        baileys_url: str = BAILEYS_URL,
        *,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        connect_timeout: float = 0.5,
        read_timeout: float = 5.0,
    ) -> None:
        self.urls = {Backend.GO: go_url.rstrip("/"), Backend.BAILEYS: baileys_url.rstrip("/")}
        self.session = session or requests.Session()
        self.clock, self.sleep = clock, sleep
        self.timeouts = (connect_timeout, read_timeout)
        self._last: dict[Backend, BackendHealth] = {}
        self._failures = dict.fromkeys(Backend, 0)
        self._lock = threading.Lock()

    def check_go_health(self) -> BackendHealth:
        return self.check(Backend.GO)

    def check_baileys_health(self) -> BackendHealth:
        return self.check(Backend.BAILEYS)

    def check(self, backend: Backend | str) -> BackendHealth:
        """Probe one bridge now, record the answer and its response time."""
        backend = parse_backend(backend)
        started = self.clock()
        http_status: int | None = None
        details: dict[str, Any] = {}
        try:
            response = self.session.get(f"{self.urls[backend]}/health", timeout=self.timeouts)
            http_status = response.status_code
            try:
                body = response.json()
            except ValueError:
                body = None
            details = body if isinstance(body, dict) else {}
            status, reason = classify(backend, http_status, body)
        except requests.Timeout:
            status, reason = HealthStatus.UNREACHABLE, f"timeout after {self.timeouts[1]:g}s"
        except requests.RequestException as exc:
            status, reason = HealthStatus.UNREACHABLE, f"connection failed: {exc}"
        elapsed = self.clock() - started
        with self._lock:
            self._failures[backend] = 0 if status is HealthStatus.OK else self._failures[backend] + 1
            result = BackendHealth(
                backend, status, elapsed, http_status, reason, self._failures[backend], self.clock(), details
            )
            self._last[backend] = result
        if status is not HealthStatus.OK:
            log.warning("%s bridge is %s: %s", backend.value, status.value, reason)
        return result

    def check_all(self) -> OverallHealth:
        """Probe both bridges and aggregate: the primary is Go when usable, else Baileys."""
        for backend in Backend:
            self.check(backend)
        return self.overall()

    def overall(self) -> OverallHealth:
        """The aggregate of the last probes, without probing again."""
        with self._lock:
            backends = dict(self._last)
        available = [b for b in Backend if b in backends and backends[b].available]
        status = "ok" if len(available) == len(Backend) else "degraded" if available else "error"
        return OverallHealth(status, backends, available, available[0] if available else None)

    def last(self, backend: Backend | str) -> BackendHealth | None:
        with self._lock:
            return self._last.get(parse_backend(backend))

    def failure_count(self, backend: Backend | str) -> int:
        with self._lock:
            return self._failures[parse_backend(backend)]

    def is_available(self, backend: Backend | str) -> bool:
        last = self.last(backend)
        return last is not None and last.available

    def response_time(self, backend: Backend | str) -> float | None:
        last = self.last(backend)
        return last.response_time if last is not None else None

    def primary(self) -> Backend | None:
        return self.overall().primary

    def wait_for_backend(self, backend: Backend | str, timeout: float = 30.0, interval: float = 1.0) -> bool:
        """Probe every ``interval`` s until the bridge is usable (True) or ``timeout`` s have passed."""
        backend = parse_backend(backend)
        deadline = self.clock() + timeout
        while True:
            if self.check(backend).available:
                return True
            remaining = deadline - self.clock()
            if remaining <= 0:
                return False
            self.sleep(min(interval, remaining))
