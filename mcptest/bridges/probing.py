"""Probing bridges: one bounded GET of each health URL, concurrently, classified; waiting until accepted.

Also reads how many calls a mcptest simulator has served (``GET /_sim/server``), with the same bounds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from mcptest.bounded_http import Pending
from mcptest.bridges.health import load_json, verdict
from mcptest.config_model import BridgeConfig
from mcptest.model import BridgeProbe
from mcptest.textsafe import show_text

#: A health answer larger than this is not a health answer (also when chunked or without a length).
MAX_BODY_BYTES = 64 * 1024

#: A probe's reason is cut to this many characters: much of it can come from the server.
MAX_REASON_CHARS = 200

Clock = Callable[[], float]
Sleep = Callable[[float], None]


def probe(bridge: BridgeConfig) -> BridgeProbe:
    """GET the bridge's health URL once and classify the answer; never raises, never hangs.

    The whole probe (connect, status line, headers, body) has one wall-clock deadline,
    ``connect_timeout + read_timeout``; past it the bridge is unreachable and the reason says what was
    still incomplete. A single receive that waits ``read_timeout`` for nothing ends it too.
    """
    return _judge(bridge, *_start(bridge))


def _start(bridge: BridgeConfig) -> tuple[str, Pending]:
    checked_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    pending = Pending(
        bridge.health_url,
        connect_timeout=bridge.connect_timeout,
        read_timeout=bridge.read_timeout,
        max_body=MAX_BODY_BYTES,
    )
    return checked_at, pending


def _judge(bridge: BridgeConfig, checked_at: str, pending: Pending) -> BridgeProbe:
    fetched = pending.result()
    status, reason = verdict(fetched)
    return BridgeProbe(
        name=bridge.name,
        url=bridge.health_url,
        status=status,
        http_status=fetched.http_status,
        response_time_ms=round(fetched.elapsed * 1000.0, 1),
        reason=show_text(reason, MAX_REASON_CHARS),
        accepted=list(bridge.accept),
        checked_at=checked_at,
    )


def probe_all(bridges: Sequence[BridgeConfig]) -> list[BridgeProbe]:
    """Probe every bridge concurrently (one thread each); the probes come back in the given order.

    All of them are done by the latest deadline (connect + read timeout) among them.
    """
    started = [_start(bridge) for bridge in bridges]
    return [_judge(bridge, *pending) for bridge, pending in zip(bridges, started, strict=True)]


def is_accepted(probe: BridgeProbe) -> bool:
    """Whether the probe's status is one of the states its bridge accepts."""
    return probe.status in probe.accepted


def wait_for(
    bridges: Sequence[BridgeConfig],
    wait: float,
    *,
    interval: float = 0.5,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> list[BridgeProbe]:
    """Poll until every bridge is accepted or ``wait`` seconds have passed; return the last probes.

    The loop is bounded twice: by the clock and by a poll count derived from ``wait / interval``, so an
    injected clock that never advances cannot make it spin forever. With ``wait`` > 0 each probe says
    how long it was waited for (``waited_s``): until the round of polls from which on it was accepted,
    or until the last round when it never was.
    """
    interval = max(interval, 0.01)
    began = clock()
    deadline = began + max(wait, 0.0)
    max_polls = math.ceil(max(wait, 0.0) / interval) + 1
    probes: list[BridgeProbe] = []
    since: list[float | None] = [None] * len(bridges)  # when each became accepted (and stayed so)
    at = began
    for _ in range(max_polls):
        probes = probe_all(bridges)
        at = clock()
        since = [(s if s is not None else at) if is_accepted(p) else None for s, p in zip(since, probes, strict=True)]
        remaining = deadline - at
        if all(is_accepted(p) for p in probes) or remaining <= 0:
            break
        sleep(min(interval, remaining))
    if wait > 0:
        for result, accepted_at in zip(probes, since, strict=True):
            result.waited_s = waited(began, at if accepted_at is None else accepted_at)
    return probes


def waited(began: float, until: float) -> float:
    """Seconds from ``began`` to ``until`` as a probe records them (milliseconds, never negative)."""
    return round(max(until - began, 0.0), 3)


def sim_call_count(bridge: BridgeConfig) -> int | None:
    """Requests a mcptest simulator has served on bridge routes other than /health since it started.

    Read from the simulator's ``GET /_sim/server``; the count survives ``/_sim/reset``, so diff two
    readings around a suite. None when the bridge is not a simulator (or cannot tell): unreachable,
    not 200, not JSON, too slow (the probe's deadline and size cap apply).
    """
    return _served(_ask_served(bridge))


def sim_call_counts(bridges: Sequence[BridgeConfig]) -> dict[str, int | None]:
    """sim_call_count() of each bridge, asked concurrently: done by the latest deadline among them."""
    asked = [(bridge.name, _ask_served(bridge)) for bridge in bridges]
    return {name: _served(pending) for name, pending in asked}


def _ask_served(bridge: BridgeConfig) -> Pending:
    url = bridge.url.rstrip("/") + "/_sim/server"
    return Pending(
        url, connect_timeout=bridge.connect_timeout, read_timeout=bridge.read_timeout, max_body=MAX_BODY_BYTES
    )


def _served(pending: Pending) -> int | None:
    fetched = pending.result()
    if fetched.failure is not None or fetched.http_status != 200 or fetched.body is None:
        return None
    data, problem = load_json(fetched.body)
    served = data.get("served") if problem is None and isinstance(data, dict) else None
    if not isinstance(served, int) or isinstance(served, bool) or served < 0:
        return None
    return served
