"""Glue between the runner and the bridge checks: probe, wait, start what is missing, refuse when down."""

from __future__ import annotations

from mcptest.config_model import Config, SuiteConfig
from mcptest.plan import RunOptions
from mcptest.runner import PreflightOutcome


def hook(config: Config, suite: SuiteConfig, options: RunOptions) -> PreflightOutcome:
    """Check the bridges ``suite`` requires, starting missing ones unless --no-start; problems stop the suite.

    Bridges started here are stopped by the returned ``close`` when the run ends (also on errors and
    interrupts: the runner calls it from a ``finally``).
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
