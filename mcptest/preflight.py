"""The preflight stage: the bridges a suite requires are probed, waited for, started when missing; a suite
whose bridges are down is refused (its problems become ``bridge`` verdicts, exit 3) and never run.

``check`` is the stage, ``hook`` its bridge checks (``bridges.py``), which the command line passes in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from mcptest import lifecycle
from mcptest.config_model import Config, SuiteConfig
from mcptest.model import BridgeProbe
from mcptest.plan import RunOptions


@dataclass
class PreflightOutcome:
    probes: list[BridgeProbe] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    close: Callable[[], object] | None = None
    #: Calls each required bridge has served so far (None: not a simulator, cannot tell).
    count_calls: Callable[[], dict[str, int | None]] | None = None


#: Preflight hook: (config, suite, options) -> (probes, problems, cleanup); problems stop the suite.
PreflightHook = Callable[[Config, SuiteConfig, RunOptions], PreflightOutcome]


def check(
    config: Config, suite: SuiteConfig, options: RunOptions, hook: PreflightHook | None
) -> PreflightOutcome | None:
    """The bridges of ``suite`` checked; None when it requires none, or the preflight is off or not wired.

    A signal while it waits for a bridge interrupts it (``lifecycle.interruptibly``)."""
    if not (suite.requires and options.preflight and hook is not None):
        return None
    return lifecycle.interruptibly(hook, config, suite, options)


def skipped(suite: SuiteConfig, options: RunOptions) -> str | None:
    """The warning of a suite that requires bridges when ``--no-preflight`` skipped their check."""
    if suite.requires and not options.preflight:
        return f"suite {suite.name}: bridge preflight skipped (--no-preflight); requires {', '.join(suite.requires)}"
    return None


def hook(config: Config, suite: SuiteConfig, options: RunOptions) -> PreflightOutcome:
    """Check the bridges ``suite`` requires, starting missing ones unless --no-start; problems stop the suite.

    Bridges started here are stopped by the returned ``close`` when the run ends (also on errors and
    interrupts: the pipeline calls it from a ``finally``).
    """
    from mcptest import bridges

    starter = None
    if options.start_bridges and any(config.bridges[name].start for name in suite.requires):
        starter = bridges.BridgeStarter(log_dir=config.report_dir / "bridges", cwd=config.root)
    try:
        result = bridges.preflight(config, suite.requires, wait=options.wait, starter=starter, required_by=[suite.name])
    except BaseException:
        if starter is not None:
            starter.stop()
        raise
    problems = list(result.reasons)
    if not options.start_bridges:
        for probe in result.probes:
            if not bridges.is_accepted(probe) and config.bridges[probe.name].start:
                problems.append(f"bridge {probe.name} was not started because of --no-start")
    required = [config.bridges[name] for name in suite.requires]

    def count_calls() -> dict[str, int | None]:
        return bridges.sim_call_counts(required)

    return PreflightOutcome(
        probes=list(result.probes),
        problems=problems,
        close=starter.stop if starter is not None else None,
        count_calls=count_calls,
    )
