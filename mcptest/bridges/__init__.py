"""Bridge preflight: probe health endpoints, classify them, wait for them, start and stop them.

- ``health``: what a health answer means (``classify``, ``verdict``, ``load_json``);
- ``probing``: one bounded probe per bridge, concurrently (``probe``, ``probe_all``, ``wait_for``), and
  the call counter of a mcptest simulator (``sim_call_count``);
- ``start``: starting bridges that are down and stopping exactly those (``BridgeStarter``);
- ``check``: a suite's bridge check, probes and refusals (``preflight``, ``select_bridges``).
"""

from __future__ import annotations

from mcptest.bridges.check import PreflightResult, preflight, refusal, select_bridges
from mcptest.bridges.health import CONNECTED_KEYS, MAX_JSON_DEPTH, STATUSES, classify, load_json, verdict
from mcptest.bridges.probing import (
    MAX_BODY_BYTES,
    MAX_REASON_CHARS,
    Clock,
    Sleep,
    is_accepted,
    probe,
    probe_all,
    sim_call_count,
    sim_call_counts,
    wait_for,
)
from mcptest.bridges.start import BridgeStarter, StartedBridge, command_argv, started_bridges

__all__ = [
    "CONNECTED_KEYS",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_REASON_CHARS",
    "STATUSES",
    "BridgeStarter",
    "Clock",
    "PreflightResult",
    "Sleep",
    "StartedBridge",
    "classify",
    "command_argv",
    "is_accepted",
    "load_json",
    "preflight",
    "probe",
    "probe_all",
    "refusal",
    "select_bridges",
    "sim_call_count",
    "sim_call_counts",
    "started_bridges",
    "verdict",
    "wait_for",
]
