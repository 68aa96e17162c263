"""mcptest: per-suite pytest runs under branch coverage, with gates, bridge preflight and reports."""

__version__ = "0.1.0"
