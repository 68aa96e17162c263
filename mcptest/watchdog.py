"""Inside the test process: never outlive mcptest, and stop starting tests when the suite's budget ran out.

Parent death. mcptest names itself in ``MCPTEST_PARENT_PID``. ``guard_parent()`` (run when pytest loads
the collector plugin) asks Linux to send SIGTERM to this process when its parent ends
(``PR_SET_PDEATHSIG``), and starts a daemon thread that, on any system, notices a changed parent
(``os.getppid()``) within ``POLL`` seconds and then stops the process group (SIGTERM, and SIGKILL after
``ORPHAN_GRACE`` seconds when something holds on). On Python 3.12 and later the thread is left out where the
parent-death signal is set: a second thread makes ``os.fork()`` in the tests warn. The variable is removed
from the environment, so that processes the tests start do not take mcptest for their parent. In
pytest-xdist workers the parent is the pytest process that started them.

Budget. When ``MCPTEST_STOP_FILE`` is set, mcptest (run.py) creates that file once the suite's budget has run out;
after each test, while other tests are still to come, the plugin checks for it and sets
``session.shouldstop``: the running test ends normally, no other starts, coverage is saved as usual. It then
creates ``<stop file>.ack``, so mcptest knows that tests were left out (also from xdist workers).

Kept small and dependency-free: it runs in the user's test process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Generator
from typing import Any

import pytest

from mcptest.lifecycle import PARENT_ENV, STOP_ENV, alive

POLL = 0.2
ORPHAN_GRACE = 2.0
STOP_REASON = "mcptest: the suite's time budget ran out; no further test was started"

_guarded = False


def set_parent_death_signal(sig: int = signal.SIGTERM) -> bool:
    """Linux: have the kernel send ``sig`` to this process when its parent ends; whether that was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(1, int(sig), 0, 0, 0)) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def orphaned() -> None:
    """The parent is gone and nobody reads this process's events or data: stop its process group."""
    me = os.getpid()
    leader = os.getpgrp() == me
    with contextlib.suppress(OSError):
        if leader:
            os.killpg(me, signal.SIGTERM)
        else:
            os.kill(me, signal.SIGTERM)
    time.sleep(ORPHAN_GRACE)  # only reached when a SIGTERM handler keeps the process alive
    if leader:
        with contextlib.suppress(OSError):
            os.killpg(me, signal.SIGKILL)
    os._exit(1)


def _watch(parent: int, poll: float) -> None:
    while os.getppid() == parent:
        time.sleep(poll)
    orphaned()


def guard_parent(*, prctl: bool = True, thread: bool = True, poll: float = POLL) -> int | None:
    """End this process when its parent ends; the parent pid watched, or None when not started by mcptest."""
    global _guarded
    if _guarded:
        return None
    if os.environ.get("PYTEST_XDIST_WORKER"):
        parent = os.getppid()  # the pytest process that started this worker
    else:
        named = os.environ.pop(PARENT_ENV, "")
        if not named.isdigit():
            return None
        parent = int(named)
        if os.getppid() != parent:
            if alive(parent):
                return None  # the variable was inherited by a process that mcptest did not start
            orphaned()  # mcptest ended before this process got here
    _guarded = True
    armed = False
    if prctl:
        armed = set_parent_death_signal()
        if os.getppid() != parent:  # the parent ended just before the signal was set
            orphaned()
    # from Python 3.12 on, a second thread makes every os.fork() in the tests warn (an error under -W error):
    # there the thread runs only where the kernel's parent-death signal is not available
    if thread and not (armed and sys.version_info >= (3, 12)):
        threading.Thread(target=_watch, args=(parent, poll), name="mcptest-watchdog", daemon=True).start()
    return parent


class BudgetStop:
    """``session.shouldstop`` once mcptest has created the stop file (its budget ran out)."""

    def __init__(self, path: str) -> None:
        self.path = path

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, None]:
        yield
        if nextitem is not None and not item.session.shouldstop and os.path.exists(self.path):
            item.session.shouldstop = STOP_REASON
            with contextlib.suppress(OSError), open(self.path + ".ack", "a", encoding="utf-8"):
                pass


def register(config: pytest.Config) -> None:
    """Add the budget stop to this pytest session when mcptest asked for it."""
    path = os.environ.get(STOP_ENV)
    if path:
        config.pluginmanager.register(BudgetStop(path), "mcptest-budget-stop")
