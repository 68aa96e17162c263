"""Which bridge serves an operation: per-operation strategies over the health monitor, with fallback."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any, Protocol, TypeVar

from whatsapp_mcp.backends.base import Backend, parse_backend

log = logging.getLogger(__name__)
T = TypeVar("T")


class OperationType(Enum):
    SEND_MESSAGE = "send_message"
    SEND_MEDIA = "send_media"
    MARK_READ = "mark_read"
    MARK_COMMUNITY_READ = "mark_community_read"
    LIST_MESSAGES = "list_messages"
    SEARCH_MESSAGES = "search_messages"
    LIST_CHATS = "list_chats"
    GET_CHAT = "get_chat"
    LIST_COMMUNITIES = "list_communities"
    LIST_COMMUNITY_GROUPS = "list_community_groups"
    GET_STATS = "get_stats"
    INSERT_BATCH = "insert_batch"
    SYNC_FULL_HISTORY = "sync_full_history"
    FETCH_OLDER_HISTORY = "fetch_older_history"
    SYNC_STATUS = "sync_status"
    TRIGGER_SYNC = "trigger_sync"
    CLEAR_TEMP_STORE = "clear_temp_store"
    DOWNLOAD_MEDIA = "download_media"
    HEALTH_CHECK = "health_check"


class RoutingStrategy(Enum):
    PRIMARY_ONLY = "primary_only"  # the health monitor's primary, never the other one
    PREFER_GO = "prefer_go"
    PREFER_BAILEYS = "prefer_baileys"
    ROUND_ROBIN = "round_robin"
    FASTEST = "fastest"  # lowest last response time; a backend never timed counts as slowest


S = RoutingStrategy
OPERATION_STRATEGIES: dict[OperationType, RoutingStrategy] = {
    OperationType.SEND_MESSAGE: S.PREFER_GO,
    OperationType.SEND_MEDIA: S.PREFER_GO,
    OperationType.MARK_READ: S.PREFER_GO,
    OperationType.MARK_COMMUNITY_READ: S.PREFER_GO,
    OperationType.LIST_MESSAGES: S.FASTEST,
    OperationType.SEARCH_MESSAGES: S.PREFER_GO,
    OperationType.LIST_CHATS: S.ROUND_ROBIN,
    OperationType.GET_CHAT: S.ROUND_ROBIN,
    OperationType.LIST_COMMUNITIES: S.PREFER_GO,
    OperationType.LIST_COMMUNITY_GROUPS: S.PREFER_GO,
    OperationType.GET_STATS: S.PRIMARY_ONLY,
    OperationType.INSERT_BATCH: S.PRIMARY_ONLY,
    OperationType.SYNC_FULL_HISTORY: S.PREFER_BAILEYS,
    OperationType.FETCH_OLDER_HISTORY: S.PREFER_BAILEYS,
    OperationType.SYNC_STATUS: S.PREFER_BAILEYS,
    OperationType.TRIGGER_SYNC: S.PREFER_BAILEYS,
    OperationType.CLEAR_TEMP_STORE: S.PREFER_BAILEYS,
    OperationType.DOWNLOAD_MEDIA: S.FASTEST,
    OperationType.HEALTH_CHECK: S.ROUND_ROBIN,
}
#: Strategy of an operation missing from the map (an unknown name, or a new type not yet mapped).
DEFAULT_STRATEGY = RoutingStrategy.PREFER_GO


class NoBackendAvailable(RuntimeError):
    """No bridge can serve the operation right now."""


class HealthView(Protocol):
    def is_available(self, backend: Backend | str) -> bool: ...

    def response_time(self, backend: Backend | str) -> float | None: ...


def is_failure(result: Any) -> bool:
    """A result that reports failure without raising: ``success`` False as an attribute or a key."""
    if isinstance(result, Mapping):
        return result.get("success") is False
    return getattr(result, "success", True) is False


class Router:
    """Selects a backend per operation from the health view's last probes."""

    def __init__(
        self, health: HealthView, strategies: Mapping[OperationType, RoutingStrategy] | None = None
    ) -> None:
        self.health = health
        self.strategies = dict(OPERATION_STRATEGIES if strategies is None else strategies)
        self._turn_lock = threading.Lock()
        self.round_robin_calls = 0

    def strategy_for(self, operation: OperationType | str) -> RoutingStrategy:
        op = self._operation(operation)
        if op is None or op not in self.strategies:
            log.warning("no strategy for operation %r; using %s", operation, DEFAULT_STRATEGY.value)
            return DEFAULT_STRATEGY
        return self.strategies[op]

    def available(self) -> list[Backend]:
        return [b for b in Backend if self.health.is_available(b)]

    def select_backend(
        self, operation: OperationType | str, required_backend: Backend | str | None = None
    ) -> Backend | None:
        """The backend to use, or None (logged) when none fits; a required one is never substituted."""
        return self._select(operation, required_backend, advance=True)

    def _select(
        self, operation: OperationType | str, required: Backend | str | None, *, advance: bool
    ) -> Backend | None:
        if required is not None:
            backend = parse_backend(required)
            if self.health.is_available(backend):
                return backend
            log.error("required backend %s is unavailable for %s", backend.value, _name(operation))
            return None
        available = self.available()
        if not available:
            log.error("no backend available for %s", _name(operation))
            return None
        strategy = self.strategy_for(operation)
        if strategy is RoutingStrategy.PRIMARY_ONLY:
            return available[0]  # Backend order puts Go first: the primary when it is usable
        if strategy is RoutingStrategy.PREFER_BAILEYS:
            return Backend.BAILEYS if Backend.BAILEYS in available else available[0]
        if strategy is RoutingStrategy.ROUND_ROBIN:
            with self._turn_lock:
                turn = self.round_robin_calls
                if advance:
                    self.round_robin_calls += 1
            return available[turn % len(available)]
        if strategy is RoutingStrategy.FASTEST:

            def speed(b: Backend) -> float:
                seconds = self.health.response_time(b)
                return float("inf") if seconds is None else seconds

            return min(available, key=speed)  # min keeps the first (Go) on a tie
        return Backend.GO if Backend.GO in available else available[0]

    def route_with_fallback(
        self,
        operation: OperationType | str,
        call: Callable[[Backend], T],
        required_backend: Backend | str | None = None,
        failed: Callable[[T], bool] = is_failure,
    ) -> T:
        """Run ``call`` on the selected backend, then once on the other one if it raised or failed.

        PRIMARY_ONLY and a required backend never fall back. Raises NoBackendAvailable when nothing
        can be selected; when every attempt failed, re-raises the last error or returns the last
        failure result, so a failure never turns into a success.
        """
        first = self.select_backend(operation, required_backend)
        if first is None:
            raise NoBackendAvailable(f"no backend available for {_name(operation)}")
        order = [first]
        second = Backend.BAILEYS if first is Backend.GO else Backend.GO
        may_fall_back = (
            required_backend is None and self.strategy_for(operation) is not RoutingStrategy.PRIMARY_ONLY
        )
        if may_fall_back and self.health.is_available(second):
            order.append(second)
        error: Exception | None = None
        result: Any = None
        for attempt, backend in enumerate(order):
            try:
                result = call(backend)
            except Exception as exc:  # any failure of the backend call means: try the other one
                error, result = exc, None
                log.warning("%s failed on %s: %s", _name(operation), backend.value, exc)
            else:
                if not failed(result):
                    return result
                error = None
                log.warning("%s reported failure on %s", _name(operation), backend.value)
            if attempt + 1 < len(order):
                log.info("falling back to %s for %s", order[attempt + 1].value, _name(operation))
        if error is not None:
            raise error
        return result

    def is_operation_available(
        self, operation: OperationType | str, required_backend: Backend | str | None = None
    ) -> bool:
        return self._select(operation, required_backend, advance=False) is not None

    def get_routing_info(self, operation: OperationType | str | None = None) -> dict[str, Any]:
        """The configuration and current state; with an operation, its strategy and the backend it gets."""
        info: dict[str, Any] = {
            "strategies": {op.value: s.value for op, s in self.strategies.items()},
            "default_strategy": DEFAULT_STRATEGY.value,
            "available": [b.value for b in self.available()],
            "response_times": {b.value: self.health.response_time(b) for b in Backend},
            "round_robin_calls": self.round_robin_calls,
        }
        if operation is not None:
            selected = self._select(operation, None, advance=False)
            info["operation"] = _name(operation)
            info["strategy"] = self.strategy_for(operation).value
            info["selected"] = selected.value if selected else None
        return info

    @staticmethod
    def _operation(operation: OperationType | str) -> OperationType | None:
        if isinstance(operation, OperationType):
            return operation
        try:
            return OperationType(str(operation).lower())
        except ValueError:
            return None


def _name(operation: OperationType | str) -> str:
    return operation.value if isinstance(operation, OperationType) else str(operation)
