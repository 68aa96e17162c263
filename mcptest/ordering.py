"""The order tests run in, inside the test process: where each test ran, and running an order given in a file.

``stamp`` gives the collector each test's place in its run (``Order`` in the record): the run of the suite
(``MCPTEST_ATTEMPT``), its position among the tests that ended before it (per pytest-xdist worker), the
shuffle seed and the worker.

Loaded as a plugin (``-p mcptest.ordering``), ``--mcptest-order FILE`` runs exactly the node ids listed in
FILE (one per line), in that order, after every other plugin has ordered the tests (so a shuffling plugin
cannot change it). The order must name every collected test, so that a replay is the whole suite or nothing:
a collected test it does not name, or a listed node id that was not collected, stops the session as a usage
error that names it. With ``--mcptest-order-subset`` the tests it does not name are deselected instead.
``--mcptest-outcomes FILE`` writes one JSON line per test that ran (its node id and outcome) after a first
line with every collected node id in the order pytest had them. ``mcptest flaky
--bisect`` and ``mcptest run --replay`` use it. Standard library and pytest only: it runs in the user's tests.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator
from typing import IO, Any

import pytest

ATTEMPT_ENV = "MCPTEST_ATTEMPT"
SEED_ENV = "MCPTEST_RANDOM_SEED"


def worker_of(report: Any) -> str | None:
    """The pytest-xdist worker (``gw0``) that sent ``report`` to the controller; None in a serial run."""
    gateway = getattr(getattr(report, "node", None), "gateway", None)
    worker = getattr(gateway, "id", None)
    return str(worker) if worker else None


def stamp(positions: dict[str, int], worker: str | None) -> dict[str, Any]:
    """The ``order`` of the test that just ended: ``positions`` counts the tests ended so far, per worker."""
    key = worker or ""
    position = positions.get(key, 0)
    positions[key] = position + 1
    seed = os.environ.get(SEED_ENV) or ""
    run = os.environ.get(ATTEMPT_ENV) or ""
    return {
        "run": int(run) if run.isdigit() else 1,
        "position": position,
        "seed": int(seed) if seed.lstrip("-").isdigit() else None,
        "worker": worker,
    }


# --- the plugin -----------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mcptest-ordering", "mcptest: run tests in a given order")
    group.addoption(
        "--mcptest-order", dest="mcptest_order", default=None, metavar="FILE", help="node ids to run, in order"
    )
    group.addoption(
        "--mcptest-order-subset",
        dest="mcptest_order_subset",
        action="store_true",
        help="deselect the collected tests that the order does not name",
    )
    group.addoption(
        "--mcptest-outcomes", dest="mcptest_outcomes", default=None, metavar="FILE", help="write the outcomes here"
    )


def _wanted(path: str) -> list[str]:
    with open(path, encoding="utf-8") as stream:
        lines = [line.rstrip("\n") for line in stream]
    return list(dict.fromkeys(line for line in lines if line.strip()))


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> Generator[None, None, None]:
    result = yield  # every other plugin's ordering and selection first
    outcomes = _Outcomes.of(config)
    if outcomes is not None:
        outcomes.write({"collected": [item.nodeid for item in items]})
    path = config.getoption("mcptest_order", None)
    if not path:
        return result
    wanted = _wanted(path)
    by_id = {item.nodeid: item for item in items}
    missing = [nodeid for nodeid in wanted if nodeid not in by_id]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        if outcomes is not None:
            outcomes.write({"missing": missing})
        raise pytest.UsageError(
            f"{len(missing)} test(s) of the order in {path} were not collected: {', '.join(missing[:3])}{more}"
        )
    keep = set(wanted)
    rest = [item for item in items if item.nodeid not in keep]
    if rest and not config.getoption("mcptest_order_subset", False):
        more = f" and {len(rest) - 3} more" if len(rest) > 3 else ""
        raise pytest.UsageError(
            f"{len(rest)} collected test(s) are not in the order in {path}: "
            f"{', '.join(item.nodeid for item in rest[:3])}{more}"
        )
    if rest:
        config.hook.pytest_deselected(items=rest)
    items[:] = [by_id[nodeid] for nodeid in wanted]
    return result


class _Outcomes:
    """One JSON line per test that ran: ``{"nodeid": ..., "outcome": "passed" | "failed" | "skipped"}``."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.phases: dict[str, list[pytest.TestReport]] = {}

    @classmethod
    def of(cls, config: pytest.Config) -> _Outcomes | None:
        plugin = config.pluginmanager.get_plugin("mcptest-outcomes")
        return plugin if isinstance(plugin, cls) else None

    def write(self, data: dict[str, Any]) -> None:
        self.stream.write(json.dumps(data) + "\n")
        self.stream.flush()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.outcome != "rerun":
            self.phases.setdefault(report.nodeid, []).append(report)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        reports = self.phases.pop(nodeid, [])
        if any(r.failed for r in reports):
            outcome = "failed"
        elif any(r.skipped for r in reports):
            outcome = "skipped"
        elif any(r.when == "call" for r in reports):
            outcome = "passed"
        else:
            outcome = "failed"  # no call phase and nothing failed: it did not run as a test runs
        self.write({"nodeid": nodeid, "outcome": outcome})


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("MCPTEST_PARENT_PID"):  # a bisection step: it must not outlive mcptest either
        from mcptest import watchdog

        watchdog.guard_parent()
    path = config.getoption("mcptest_outcomes", None)
    if path and not hasattr(config, "workerinput"):
        stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in pytest_unconfigure
        config.pluginmanager.register(_Outcomes(stream), "mcptest-outcomes")


def pytest_unconfigure(config: pytest.Config) -> None:
    plugin = _Outcomes.of(config)
    if plugin is not None:
        plugin.stream.close()
