"""Integration suites: the orchestrator against live bridge simulators (failover, concurrency)."""
