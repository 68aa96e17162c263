"""The bridge check of a suite or of ``mcptest bridges check``: select, probe (waiting, starting), refuse."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mcptest.bridges.probing import is_accepted, probe_all, wait_for
from mcptest.bridges.start import BridgeStarter
from mcptest.config_model import BridgeConfig, Config
from mcptest.errors import UsageError
from mcptest.model import BridgeProbe


@dataclass
class PreflightResult:
    """The probes of a preflight, whether all are accepted, and one sentence per bridge that is not."""

    probes: list[BridgeProbe]
    ok: bool
    reasons: list[str] = field(default_factory=list)


def select_bridges(config: Config, names: Sequence[str] | None) -> list[BridgeConfig]:
    """The configured bridges named (all when ``names`` is None), in order, without duplicates."""
    if names is None:
        return list(config.bridges.values())
    unknown = [n for n in names if n not in config.bridges]
    if unknown:
        known = ", ".join(config.bridges) or "none"
        raise UsageError(f"unknown bridge {', '.join(map(repr, unknown))} (configured: {known})")
    return [config.bridges[n] for n in dict.fromkeys(names)]


def preflight(
    config: Config,
    names: Sequence[str] | None,
    *,
    wait: float = 0.0,
    interval: float = 0.5,
    starter: BridgeStarter | None = None,
    required_by: Sequence[str] = (),
) -> PreflightResult:
    """Probe the named bridges (all when None), waiting up to ``wait`` s, starting them via ``starter``.

    ``required_by`` names the suites that need the bridges; it is recorded on every probe and used in
    the reasons. Raises UsageError for a bridge name that is not configured.
    """
    bridges = select_bridges(config, names)
    if starter is not None:
        probes = starter.ensure(bridges, wait=wait)
    elif wait > 0:
        probes = wait_for(bridges, wait, interval=interval)
    else:
        probes = probe_all(bridges)
    reasons = []
    for result in probes:
        result.required_by = list(required_by)
        if not is_accepted(result):
            reasons.append(refusal(result))
    return PreflightResult(probes=probes, ok=not reasons, reasons=reasons)


def refusal(result: BridgeProbe) -> str:
    """One sentence saying why a probe is not good enough."""
    accepted = "[" + ", ".join(result.accepted) + "]"
    if result.required_by:
        who = ("suite " if len(result.required_by) == 1 else "suites ") + ", ".join(result.required_by)
    else:
        who = "the config"
    return (
        f"bridge {result.name} ({result.url}) is {result.status}: {result.reason}; {who} requires {accepted}"
    )
