"""Inside the test process: coverage.py started once pytest has loaded its plugins, stopped after the tests.

The collector plugin calls ``start`` from ``pytest_load_initial_conftests`` (as pytest-cov does: the tracer stays
off pytest's own start-up) and ``stop`` once the test loop is over. Each xdist worker measures itself into a part
of the data file that mcptest combines; under ``coverage run`` this module leaves the measuring to it (and to
``mcptest.xdist_worker``). ``early_imports`` lists the measured modules a plugin imported before coverage
started; ``core`` names the coverage.py core for the record. Stdlib and coverage.py only.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

_EVENTS = "MCPTEST_EVENTS"

_worker_coverage: Any = None  # the measurement this module started (None: none, or coverage run measures)

#: Measured modules imported before coverage started in this process (by a plugin).
early_imports: list[str] = []


def _source_roots(source: list[str]) -> list[str]:
    """Folders (with a trailing separator) and files that ``source`` names, for the early-import check."""
    roots = []
    for item in source:
        path = os.path.abspath(item)
        if not os.path.exists(path):
            path = os.path.abspath(item.replace(".", os.sep))
        if os.path.isdir(path):
            roots.append(path.rstrip(os.sep) + os.sep)
        elif os.path.exists(path + ".py"):
            roots.append(path + ".py")
    return roots


def start() -> None:
    """Start coverage.py in the test process (and in each xdist worker) before the conftests import the code.

    Starting here rather than under ``coverage run`` keeps the tracer off pytest's and the plugins' own start-up.
    Workers are fresh interpreters, so each measures itself into ``<data file>.<suffix>`` and mcptest combines
    the parts when the suite ends; under ``coverage run``, ``mcptest.xdist_worker`` measures them from their
    first line instead (see ``pytest_xdist_setupnodes``). A measured module that a plugin imported earlier is
    listed, so the run can say that its import-time lines were not seen.
    """
    global _worker_coverage
    data_file = os.environ.get("MCPTEST_COV_DATA")
    worker = bool(os.environ.get("PYTEST_XDIST_WORKER"))
    if not data_file or _worker_coverage is not None:
        return
    run_mode = os.environ.get("MCPTEST_COV_MODE") == "run"
    if not worker and run_mode:
        return  # the process already runs under `coverage run` (a plugin of the measured code loads early)
    if worker and _measured_from_start():
        return  # mcptest.xdist_worker measures this worker from its first line and saves the data at its end
    import coverage

    source = [s for s in os.environ.get("MCPTEST_COV_SOURCE", "").split(",") if s]
    _worker_coverage = coverage.Coverage(
        data_file=data_file,
        data_suffix=worker,
        config_file=True,
        branch=os.environ.get("MCPTEST_COV_BRANCH") == "1",
        source=source or None,
    )
    _worker_coverage.start()
    if not worker:
        core()  # read while measuring: the record names the core
    roots = tuple(_source_roots(source))
    if not roots or (worker and not run_mode):
        return  # a worker imports what the controller imported (and named) before it started coverage
    early = sorted(
        name
        for name, module in list(sys.modules.items())
        if (getattr(module, "__file__", None) or "").startswith(roots)
    )
    if not worker:
        early_imports.extend(early)
    elif early:
        # a worker that mcptest did not start (a --tx with its own python=, a remote one) under `coverage run`:
        # its plugin's import-time lines went unmeasured, which the parent must not pass as a lower number
        _emit_from_worker({"event": "early_imports", "modules": early, "worker": os.environ["PYTEST_XDIST_WORKER"]})


def _measured_from_start() -> bool:
    """Whether ``mcptest.xdist_worker`` started this xdist worker: its measurement of the suite's data file runs."""
    import coverage

    cov = coverage.Coverage.current()
    return cov is not None and cov.get_option("run:data_file") == os.environ.get("MCPTEST_COV_DATA")


def _emit_from_worker(event: dict[str, Any]) -> None:
    """One event line from an xdist worker, which has no collector stream: a short append to the events file."""
    path = os.environ.get(_EVENTS)
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(event) + "\n")


_core_name: str | None = None


def core() -> str | None:
    """The coverage.py core measuring this process (CTracer, PyTracer or SysMonitor), for the record."""
    global _core_name
    if _core_name is not None:
        return _core_name
    try:
        import coverage

        cov = _worker_coverage or coverage.Coverage.current()
        if cov is None:
            return None
        _core_name = str(dict(cov.sys_info()).get("core") or "") or None
        return _core_name
    except Exception:  # an informational field must never break the run
        return None


def stop() -> bool:
    """Stop measuring and save the data; whether there was a measurement to save."""
    global _worker_coverage
    if _worker_coverage is None:
        return False
    import warnings

    with warnings.catch_warnings():
        # coverage.py's own warnings ("No data was collected" in the xdist controller, which runs no test)
        # must not become errors under the project's `filterwarnings = error`: mcptest judges the data itself
        warnings.simplefilter("ignore")
        _worker_coverage.stop()
        _worker_coverage.save()
    _worker_coverage = None
    return True
