"""Live fixtures of the e2e suite: the community workflow against the shared bridge simulators."""

from __future__ import annotations

import pytest

from mcptest.sim.fixtures import BridgeControls, shared_url
from suites.integration.helpers import Stack, make_stack


@pytest.fixture
def shared(bridge_control: BridgeControls) -> Stack:
    """The orchestrator against the simulators at GO_BRIDGE_URL / BAILEYS_BRIDGE_URL, reset."""
    return make_stack(shared_url("go"), shared_url("baileys"), bridge_control.go, bridge_control.baileys)
