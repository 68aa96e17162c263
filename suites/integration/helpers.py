"""Helpers of the live suites: the orchestrator wired to two bridges, and threads released together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcptest.sim.process import BridgeControl, SimBridge
from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.go_client import GoClient
from whatsapp_mcp.backends.health import HealthMonitor
from whatsapp_mcp.routing import Router

#: Upper bound of any wait on threads in these suites: a deadlock fails the test instead of hanging it.
JOIN_TIMEOUT = 60.0


@dataclass
class Stack:
    """The orchestrator wired to one Go and one Baileys bridge, with the bridges' control APIs."""

    go: GoClient
    baileys: BaileysClient
    monitor: HealthMonitor
    router: Router
    go_ctl: BridgeControl
    baileys_ctl: BridgeControl


def make_stack(go_url: str, baileys_url: str, go_ctl: BridgeControl, baileys_ctl: BridgeControl,
               *, read_timeout: float = 5.0) -> Stack:
    monitor = HealthMonitor(go_url, baileys_url, read_timeout=read_timeout)
    return Stack(GoClient(go_url), BaileysClient(baileys_url), monitor, Router(monitor), go_ctl, baileys_ctl)


@dataclass
class Own(Stack):
    """A stack whose bridges are processes of this test session (``kill()``, ``restart()``)."""

    go_proc: SimBridge
    baileys_proc: SimBridge


def run_together(tasks: list[Callable[[], Any]], timeout: float = JOIN_TIMEOUT) -> list[Any]:
    """Run every task in its own thread, all released at once by a barrier; results (or exceptions) in order.

    Fails the test when a thread is still running after ``timeout`` seconds (a deadlock or a hang).
    """
    barrier = threading.Barrier(len(tasks))
    results: list[Any] = [None] * len(tasks)

    def worker(i: int, task: Callable[[], Any]) -> None:
        barrier.wait(timeout=timeout)
        try:
            results[i] = task()
        except Exception as exc:  # kept as the result: the test asserts on it
            results[i] = exc

    threads = [threading.Thread(target=worker, args=(i, t), daemon=True) for i, t in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    stuck = [t.name for t in threads if t.is_alive()]
    assert not stuck, f"{len(stuck)} of {len(threads)} threads still running after {timeout:g}s (deadlock?)"
    return results
