"""Shared fixtures of the bundled suites: both bridges simulated through requests-mock, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

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


def mocked_session() -> requests.Session:
    """A requests session that does not read the environment: proxy and CA settings mean nothing to mocked
    bridges (a netrc login would only add a header), and looking them up was a third of each request's cost."""
    session = requests.Session()
    session.trust_env = False
    return session


@pytest.fixture
def go(sims: MockBridges) -> GoClient:
    return GoClient(session=mocked_session())


@pytest.fixture
def baileys(sims: MockBridges) -> BaileysClient:
    return BaileysClient(session=mocked_session())


@pytest.fixture
def monitor(sims: MockBridges, clock: FakeClock) -> HealthMonitor:
    return HealthMonitor(clock=clock, sleep=clock.sleep, session=mocked_session())


@pytest.fixture
def router(monitor: HealthMonitor) -> Router:
    return Router(monitor)
