"""pytest fixtures for the bridge simulators: a pytest plugin that a test suite asks for.

mcptest registers no pytest plugin on install; a suite that uses these fixtures loads this module itself,
with ``pytest_plugins = ["mcptest.sim.fixtures"]`` in its top-level conftest.py or ``-p mcptest.sim.fixtures``
(see docs/simulators.md). Importing it stays cheap and side-effect free: everything heavy is imported inside
the fixtures.

Fixtures:

``go_bridge`` / ``baileys_bridge``
    A simulator in its own process on a free port, started once per test session and reset before
    each test (restarted first if a previous test killed it). The value is a ``SimBridge``: ``.url``,
    ``.port``, ``.control`` (a ``BridgeControl``), ``.kill()`` (SIGKILL: connections are refused),
    ``.restart()`` (same port, empty store), ``.stop()``.

``bridge_control``
    ``BridgeControls`` for the shared bridges named by ``GO_BRIDGE_URL`` and ``BAILEYS_BRIDGE_URL``
    (defaults http://127.0.0.1:8080 and :8081): ``.go`` and ``.baileys`` are ``BridgeControl`` objects,
    ``.at(url)`` controls any other simulator. Both shared simulators are reset before the test.

``sim_logs``
    The folder holding the logs of the simulator processes of this session.

Example::

    def test_send_fails_over(go_bridge, baileys_bridge):
        go_bridge.control.fail(500, ["/api/send"], times=1)
        go_bridge.kill()
        ...
        go_bridge.restart()
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from mcptest.sim.process import BridgeControl, SimBridge

GO_URL_ENV = "GO_BRIDGE_URL"
BAILEYS_URL_ENV = "BAILEYS_BRIDGE_URL"
DEFAULT_URLS = {"go": "http://127.0.0.1:8080", "baileys": "http://127.0.0.1:8081"}


def shared_url(kind: str) -> str:
    """The URL of the shared ``go`` or ``baileys`` bridge, from the environment or the default."""
    env = GO_URL_ENV if kind == "go" else BAILEYS_URL_ENV
    return (os.environ.get(env) or DEFAULT_URLS[kind]).rstrip("/")


class BridgeControls:
    """Control of the shared bridges: ``.go``, ``.baileys`` and ``.at(url)`` for any other simulator."""

    def __init__(self, go: BridgeControl, baileys: BridgeControl) -> None:
        self.go = go
        self.baileys = baileys

    def at(self, url: str) -> BridgeControl:
        from mcptest.sim.process import BridgeControl

        return BridgeControl(url)

    def reset(self) -> None:
        """Reset both shared simulators (data, faults, latency, call history, connected flag)."""
        self.go.reset()
        self.baileys.reset()


class _Pool:
    """The simulator processes of one session, started on first use and stopped at the end."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.bridges: dict[str, SimBridge] = {}

    def get(self, kind: str) -> SimBridge:
        from mcptest.sim.process import SimBridge, SimProcess

        bridge = self.bridges.get(kind)
        if bridge is None:
            process = SimProcess(kind, 0, log_path=self.log_dir / f"{kind}.log").start()
            bridge = self.bridges[kind] = SimBridge(process)
        bridge.ensure()
        return bridge

    def close(self) -> None:
        for bridge in self.bridges.values():
            bridge.stop()
            bridge.control.close()


@pytest.fixture(scope="session")
def sim_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of the simulator processes' logs for this session."""
    return tmp_path_factory.mktemp("mcptest-sims")


@pytest.fixture(scope="session")
def _mcptest_sim_pool(sim_logs: Path) -> Iterator[_Pool]:
    pool = _Pool(sim_logs)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def go_bridge(_mcptest_sim_pool: _Pool) -> SimBridge:
    """A Go bridge simulator in its own process on a free port, reset (and restarted if killed) per test."""
    return _mcptest_sim_pool.get("go")


@pytest.fixture
def baileys_bridge(_mcptest_sim_pool: _Pool) -> SimBridge:
    """A Baileys bridge simulator in its own process on a free port, reset (restarted if killed) per test."""
    return _mcptest_sim_pool.get("baileys")


@pytest.fixture
def bridge_control() -> Iterator[BridgeControls]:
    """Control of the shared simulators at GO_BRIDGE_URL / BAILEYS_BRIDGE_URL, both reset before the test."""
    from mcptest.sim.process import BridgeControl

    controls = BridgeControls(BridgeControl(shared_url("go")), BridgeControl(shared_url("baileys")))
    controls.reset()
    try:
        yield controls
    finally:
        controls.go.close()
        controls.baileys.close()
