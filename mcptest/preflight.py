"""Glue between the runner and the bridge checks: probe, wait, start what is missing, refuse when down."""

from __future__ import annotations

from mcptest.config_model import Config, SuiteConfig
from mcptest.runner import PreflightOutcome, RunOptions


def hook(config: Config, suite: SuiteConfig, options: RunOptions) -> PreflightOutcome:
    """Check the bridges ``suite`` requires; problems mean the suite must not run."""
    from mcptest import bridges

    result = bridges.preflight(config, suite.requires, wait=options.wait)
    return PreflightOutcome(probes=list(result.probes), problems=list(result.reasons))
