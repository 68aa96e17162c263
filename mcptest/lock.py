"""One ``mcptest run`` at a time per report folder: ``<report dir>/run.lock``, held with ``fcntl.flock``.

Two runs in one project at once share the bridge ports and simulators (the second would adopt the first's
simulator, and both would fail with spurious errors) and the report folder. A run takes the lock before it
starts anything; a second run fails at once (exit 4, naming the pid that holds it) or, with
``--wait-lock S``, waits up to S seconds for it. The kernel releases the lock when its holder ends, however
it ends, so a killed run never leaves a stale lock behind. The file holds the holder's pid, for the message.
Read-only commands (``report``, ``config check``, ``baseline show``) do not take it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from mcptest.errors import UsageError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: runs are not serialized
    fcntl = None  # type: ignore[assignment]

LOCK_FILE = "run.lock"
_RETRY = 0.1


class LockBusy(UsageError):
    """Another live mcptest run holds the report folder's lock (exit 4, config-error)."""


def _holder(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        text = os.pread(fd, 32, 0).decode("ascii", errors="replace").strip()
        return int(text) if text.isdigit() else None
    return None


def _shown(path: Path) -> str:
    with contextlib.suppress(ValueError):
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    return str(path)


def _busy_message(report_dir: Path, holder: int | None, waited: float) -> str:
    who = f"pid {holder}" if holder is not None else "pid unknown"
    where = _shown(report_dir).rstrip("/") + "/"
    lock = _shown(report_dir / LOCK_FILE)
    if waited > 0:
        return f"another mcptest run ({who}) still holds {lock} after --wait-lock {waited:g}s; it is using {where}"
    return (
        f"another mcptest run ({who}) is using {where} (lock {lock}); "
        "wait for it to end, or use --wait-lock SECONDS to wait for it"
    )


@contextlib.contextmanager
def run_lock(
    report_dir: Path, wait: float = 0.0, on_wait: Callable[[int | None], object] | None = None
) -> Iterator[None]:
    """Hold the report folder's run lock in the block; ``LockBusy`` when another run holds it for longer than
    ``wait`` seconds. ``on_wait(pid)`` is called once when the run starts waiting."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(report_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited (PEP 446)
    except OSError:
        # a report folder that cannot take the lock file cannot take the record either: the run's own check
        # of the folder says why, with its exit code (this is not the place to decide it)
        yield
        return
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(fd)
                if time.monotonic() >= deadline:
                    raise LockBusy(_busy_message(report_dir, holder, wait)) from None
                if not told and on_wait is not None:
                    on_wait(holder)
                    told = True
                time.sleep(_RETRY)
            except OSError:  # a file system without flock (some network mounts): runs there are not serialized
                break
        with contextlib.suppress(OSError):  # the pid is for the message only
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # a reader that sees the lock free next finds no stale pid in it
    finally:
        os.close(fd)  # releases the lock
