"""Shared fixtures of the bundled suites: both bridges simulated through requests-mock, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mcptest.sim.behaviour import FakeClock
from mcptest.sim.mock import MockBridges, mock_bridges
from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.go_client import GoClient
from whatsapp_mcp.backends.health import HealthMonitor
from whatsapp_mcp.routing import Router

# The live simulator fixtures (go_bridge, baileys_bridge, bridge_control, sim_logs) used by suites/integration and
# suites/e2e. mcptest registers no pytest plugin on install, so the suites ask for it; pytest takes pytest_plugins
# only from a conftest it loads at start-up, which this one is for every path under suites/.
pytest_plugins = ["mcptest.sim.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "req(*ids): requirement ids (FR-xxx) this test covers")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sims(clock: FakeClock) -> Iterator[MockBridges]:
    """Go at :8080 and Baileys at :8081, in-memory and mocked; any other URL is refused."""
    with mock_bridges(clock) as bridges:
        yield bridges


@pytest.fixture
def go(sims: MockBridges) -> GoClient:
    return GoClient()


@pytest.fixture
def baileys(sims: MockBridges) -> BaileysClient:
    return BaileysClient()


@pytest.fixture
def monitor(sims: MockBridges, clock: FakeClock) -> HealthMonitor:
    return HealthMonitor(clock=clock, sleep=clock.sleep)


@pytest.fixture
def router(monitor: HealthMonitor) -> Router:
    return Router(monitor)
