"""The bridge simulators' behaviour in one import: the Go and Baileys bridges and what tests use with them.

No transport here: ``BridgeSim.handle(method, path, query, body) -> SimResponse`` answers a request;
requests-mock (``mock.py``) and a loopback HTTP server (``server.py``) serve it. Where each part lives:

- ``core.py``: the machinery both bridges share (routing, call history, latency and faults, the
  ``/_sim/`` control API; its module docstring is the contract every transport follows);
- ``go.py``, ``baileys.py``: the two bridges' routes and SQLite tables;
- ``store.py``: the clock (``FakeClock``), timestamps, generated messages and the SQLite plumbing.
"""

from __future__ import annotations

from mcptest.sim.baileys import BAILEYS_SCHEMA, BaileysBridgeSim
from mcptest.sim.core import CONTROL_PREFIX, JSON_HEADERS, BridgeSim, Call, Fault, Handler, SimError, SimResponse
from mcptest.sim.go import BATCH_LIMIT, GO_SCHEMA, GoBridgeSim
from mcptest.sim.store import Clock, FakeClock, generate_messages, iso, to_unix

__all__ = [
    "BAILEYS_SCHEMA",
    "BATCH_LIMIT",
    "CONTROL_PREFIX",
    "GO_SCHEMA",
    "JSON_HEADERS",
    "BaileysBridgeSim",
    "BridgeSim",
    "Call",
    "Clock",
    "FakeClock",
    "Fault",
    "GoBridgeSim",
    "Handler",
    "SimError",
    "SimResponse",
    "generate_messages",
    "iso",
    "to_unix",
]
