"""The life of a run in the mcptest process: signals, the test processes' groups, the run's temporary folder.

Signals. ``install()`` (called first thing by the entry point) makes SIGINT and SIGTERM behave alike. While a
run is in progress mcptest holds signals (``shielded``): the first one is noted, not raised, so that no
interrupt can land between starting a test process and knowing its pid, or in the middle of writing the
record. It is acted on at the points where waiting happens (``interruptible``: the preflight, the wait for a
test process), or, when none follows, by the run's end (``take_pending``), which then records the run as
interrupted. Outside a run a signal raises ``KeyboardInterrupt`` at once. Every signal after the first one
also kills the process groups of the test processes still running (SIGKILL), so a second Ctrl-C ends a test
process that ignores SIGINT at once.

Temporary folders. Every run works in ``<report dir>/tmp/<run id>/`` and writes its pid into ``owner.pid``
there; a later run removes the folders whose owner process no longer exists (a run killed with SIGKILL
cannot remove its own), and never one whose owner is alive.

Standard library only, and cheap to import (``os`` and ``signal``): the entry point imports it before
anything else, so that the handlers are in place from the first moment.
"""

from __future__ import annotations

import os
import signal

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing this early
if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path
    from types import TracebackType
    from typing import TypeVar

    T = TypeVar("T")

#: Set by the run stage for the test process: mcptest's pid (the process ends when mcptest does) and the file
#: whose existence tells it that the suite's budget ran out (see ``mcptest.watchdog``).
PARENT_ENV = "MCPTEST_PARENT_PID"
STOP_ENV = "MCPTEST_STOP_FILE"
OWNER_FILE = "owner.pid"
#: A folder under tmp/ without an owner file (from an mcptest before owner files) is removed this old only.
UNOWNED_STALE_AFTER = 24 * 3600.0
#: How long a test process has after SIGINT (Ctrl-C, SIGTERM) to end on its own before it is killed.
INTERRUPT_GRACE = 5.0


class SignalInterrupt(KeyboardInterrupt):
    """What a handled SIGINT or SIGTERM raises. A subclass: CPython exits through SIGINT (status -2, not 130)
    when exactly ``KeyboardInterrupt`` has passed through code run by ``exec`` of a string (dataclasses,
    namedtuple), even when it was caught later."""


class _State:
    def __init__(self) -> None:
        self.installed = False
        self.signals: list[int] = []  # every SIGINT/SIGTERM received since install()
        self.shield = False  # signals are held, not raised
        self.pending = False  # a held signal waits to be acted on
        self.groups: set[int] = set()  # process groups (their leaders' pids) to kill on a second signal


_state = _State()


def install() -> None:
    """Handle SIGINT and SIGTERM (main thread only; elsewhere, e.g. embedded in a thread, nothing changes)."""
    try:
        signal.signal(signal.SIGINT, _handler)
        signal.signal(signal.SIGTERM, _handler)
    except ValueError:  # not the main thread
        return
    _state.installed = True


def _handler(signum: int, frame: object) -> None:
    _state.signals.append(signum)
    if len(_state.signals) > 1:
        kill_groups()
    if _state.shield:
        _state.pending = True
        return
    raise SignalInterrupt


def received() -> str | None:
    """The name of the first signal received (``SIGINT``, ``SIGTERM``), or None."""
    if not _state.signals:
        return None
    return signal.Signals(_state.signals[0]).name


class shielded:
    """Hold signals in the block. On leaving it into code that is not shielded, a held signal is raised as
    ``KeyboardInterrupt`` (``reraise``) or dropped (the caller has recorded the interruption)."""

    def __init__(self, *, reraise: bool = True) -> None:
        self.reraise = reraise
        self.outer = False

    def __enter__(self) -> None:
        self.outer, _state.shield = _state.shield, True

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        _state.shield = self.outer
        if kind is None and not self.outer and _state.pending:
            _state.pending = False
            if self.reraise:
                raise SignalInterrupt


class interruptible:
    """Let signals raise ``KeyboardInterrupt`` in the block; one held before it is raised on entering it."""

    def __init__(self) -> None:
        self.outer = False

    def __enter__(self) -> None:
        self.outer, _state.shield = _state.shield, False
        if _state.pending:
            _state.pending = False
            _state.shield = self.outer
            raise SignalInterrupt

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        _state.shield = self.outer


def interruptibly(func: Callable[..., T], *args: object, **kwargs: object) -> T:
    """``func(*args, **kwargs)`` with signals raising in it (see ``interruptible``)."""
    with interruptible():
        return func(*args, **kwargs)


def take_pending() -> bool:
    """Whether a held signal waits to be acted on; it counts as acted on from now."""
    pending, _state.pending = _state.pending, False
    return pending


def track(pid: int) -> None:
    """A process group (led by ``pid``) that a second signal kills."""
    _state.groups.add(pid)


def untrack(pid: int) -> None:
    _state.groups.discard(pid)


def kill_groups() -> None:
    """SIGKILL every tracked process group (the escalation of a second Ctrl-C)."""
    for pgid in list(_state.groups):
        try:  # noqa: SIM105 - contextlib is not imported this early
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def budget_grace(budget: float) -> float:
    """Seconds a suite has after its budget, once told to start no more tests, before it is interrupted:
    half the budget, at least 2 s and at most 10 s."""
    return min(10.0, max(2.0, budget / 2))


# --- the run's temporary folder ---------------------------------------------------------------------------


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie has ended)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process: it exists
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            stat = handle.read()
    except OSError:
        return True  # no /proc: kill() said it exists
    state = stat.rsplit(")", 1)[-1].split()[:1]
    return state not in (["Z"], ["X"])


def _owner(folder: Path) -> int | None:
    try:
        text = (folder / OWNER_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def remove_stale(tmp_root: Path, *, now: float | None = None) -> list[str]:
    """Remove the folders under ``tmp_root`` of runs whose process is gone; the names of those removed.

    A folder whose owner is alive, or this process, is kept; one without a readable owner file is removed
    only when it has not changed for ``UNOWNED_STALE_AFTER`` seconds.
    """
    import shutil
    import time

    try:
        folders = sorted(tmp_root.iterdir()) if tmp_root.is_dir() else []
    except OSError:
        return []
    now = time.time() if now is None else now
    removed = []
    for folder in folders:
        if not folder.is_dir() or folder.is_symlink():
            continue
        owner = _owner(folder)
        if owner is None:
            try:
                stale = now - folder.stat().st_mtime > UNOWNED_STALE_AFTER
            except OSError:
                continue
        else:
            stale = owner != os.getpid() and not alive(owner)
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed.append(folder.name)
    return removed


def make_workdir(tmp_root: Path, run_id: str) -> tuple[Path, list[str]]:
    """The run's temporary folder, with this process as its owner, and the stale folders removed first."""
    removed = remove_stale(tmp_root)
    workdir = tmp_root / run_id
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / OWNER_FILE).write_text(f"{os.getpid()}\n", encoding="ascii")
    return workdir, removed
