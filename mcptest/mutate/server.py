"""The warm test server: one per copy, it imports pytest and the tests' installed modules once.

It then forks a fresh child per mutant that runs ``pytest.main`` in its own session, so a mutant's run
does not pay for pytest's start-up. Project files the server itself imported are "tainted": a mutant of
one of them runs in a fresh process instead, since the fork would hold the unmutated module.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mcptest.mutate.workspace import env as copy_env
from mcptest.mutate.workspace import kill

POLL = 0.02


#: The warm test server, one per copy (POSIX): it imports pytest, its plugins and the installed modules
#: the tests use once, then forks a fresh child per mutant that runs ``pytest.main`` in its own session.
#: Protocol: it prints ``ready [tainted files]``; then for each JSON job line {"args", "log"} on stdin it
#: prints ``pid N`` and, when the child ends, ``exit CODE`` (negative: killed by that signal).
_SERVER = """\
import importlib, json, os, sys, traceback
root = os.path.realpath(sys.argv[1])
with open(sys.argv[2], encoding="utf-8") as handle:
    wanted = json.load(handle)
for name in wanted:
    try:
        importlib.import_module(name)
    except BaseException:
        pass
import pytest
tainted = set()
for module in list(sys.modules.values()):
    path = getattr(module, "__file__", None)
    if path and os.path.realpath(path).startswith(root + os.sep):
        tainted.add(os.path.relpath(os.path.realpath(path), root).replace(os.sep, "/"))
import gc
gc.collect()
gc.freeze()  # the children's collections skip what the server imported
print("ready " + json.dumps(sorted(tainted)), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.setsid()
            fd = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            code = int(pytest.main(job["args"]))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            finally:
                os._exit(code)
    print("pid %d" % pid, flush=True)
    _, status = os.waitpid(pid, 0)
    print("exit %d" % os.waitstatus_to_exitcode(status), flush=True)
"""


class ServerDied(Exception):
    """The warm test server ended while a mutant was running through it."""


class Server:
    """The parent's handle on one warm test server."""

    def __init__(self, root: Path, preload: Path, log: Path) -> None:
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(root), str(preload)], cwd=root,
                                         env=copy_env(root), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, start_new_session=True)
        assert self.proc.stdout is not None
        os.set_blocking(self.proc.stdout.fileno(), False)
        self.buffer = b""
        self.tainted: set[str] | None = None  # project files it imported itself: their mutants go cold
        self.child: int | None = None
        self.code: int | None = None

    def _lines(self) -> list[str]:
        assert self.proc.stdout is not None
        with contextlib.suppress(BlockingIOError):
            while chunk := self.proc.stdout.read(65536):
                self.buffer += chunk
        *lines, self.buffer = self.buffer.split(b"\n")
        return [line.decode("utf-8", errors="replace") for line in lines]

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def wait_ready(self, deadline: float) -> bool:
        while self.tainted is None and self.alive and time.monotonic() < deadline:
            self.poll()
            time.sleep(POLL)
        return self.tainted is not None and self.alive

    def submit(self, args: list[str], log: Path) -> None:
        assert self.proc.stdin is not None
        self.child, self.code = None, None
        self.proc.stdin.write((json.dumps({"args": args, "log": str(log)}) + "\n").encode())
        self.proc.stdin.flush()

    def poll(self) -> int | None:
        """The exit code of the current child once it ended; None while it runs."""
        for line in self._lines():
            kind, _, rest = line.partition(" ")
            if kind == "ready":
                self.tainted = set(json.loads(rest))
            elif kind == "pid":
                self.child = int(rest)
            elif kind == "exit":
                self.code = int(rest)
        if self.code is None and not self.alive:
            raise ServerDied()
        return self.code

    def kill_child(self) -> None:
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.child, signal.SIGKILL)

    def close(self) -> None:
        self.kill_child()
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        kill(self.proc)
        with contextlib.suppress(OSError):
            if self.proc.stdout is not None:
                self.proc.stdout.close()
