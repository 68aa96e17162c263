"""Live fixtures of the integration suite: the orchestrator's clients against running bridge simulators.

``shared`` talks to the simulators at GO_BRIDGE_URL / BAILEYS_BRIDGE_URL (started by mcptest's preflight),
reset before each test. ``own`` talks to simulators this session started on free ports (the plugin's
``go_bridge`` / ``baileys_bridge``), for tests that kill and restart a bridge process.
"""

from __future__ import annotations

import pytest

from mcptest.sim.fixtures import BridgeControls, shared_url
from mcptest.sim.process import SimBridge
from suites.integration.helpers import Own, Stack, make_stack


@pytest.fixture
def shared(bridge_control: BridgeControls) -> Stack:
    """The orchestrator against the shared simulators (reset)."""
    return make_stack(shared_url("go"), shared_url("baileys"), bridge_control.go, bridge_control.baileys)


@pytest.fixture
def own(go_bridge: SimBridge, baileys_bridge: SimBridge) -> Own:
    """The orchestrator against this session's own simulator processes, which a test may kill."""
    stack = make_stack(go_bridge.url, baileys_bridge.url, go_bridge.control, baileys_bridge.control)
    return Own(**vars(stack), go_proc=go_bridge, baileys_proc=baileys_bridge)
