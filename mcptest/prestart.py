"""A test interpreter started before the command line is parsed, to take the first suite's pytest run.

`mcptest run` spends about 0.2 s before it can start a test process (its imports, typer parsing the options,
the config), and the test process then spends about 0.15 s importing pytest and coverage.py before it does
anything that depends on the run. With a second core the two overlap: the entry point (``mcptest.__main__``)
starts an interpreter first thing, before typer is imported. That interpreter (``prestart_server.py``) imports
pytest and coverage.py and waits for one request on its stdin. The run stage sends it the first test process's
arguments, environment, working folder and log file, and it becomes that test process: ``runpy`` runs
``pytest`` as ``__main__``, as ``python -m pytest`` does. Measured on a run of 500 tests: 0.15 to 0.2 s less;
on one core nothing is gained and nothing is lost but a fork.

The request is refused (that interpreter is killed and the run stage starts pytest as usual) unless the result
is the same as a fresh interpreter's: the command is ``<this python> -m pytest ...``, the working folder is
the one the interpreter started in (it is ``sys.path[0]``), and the environment differs only in variables
nothing reads while an interpreter starts and imports pytest: mcptest's own ``MCPTEST_*``, ``COVERAGE_CORE``
and the pytest-xdist variables the run stage removes. Anything else (``PYTHONPATH``, ``COVERAGE_PROCESS_START``,
the locale ...) is read at start-up, so such runs get a fresh interpreter. ``MCPTEST_PRESTART=0`` turns this
off.
"""

from __future__ import annotations

import os
import sys
from typing import Any

#: Variables the run stage may set or remove that nothing reads while an interpreter starts and imports pytest.
_LATE_VARIABLES = ("MCPTEST_", "COVERAGE_CORE", "PYTEST_XDIST_")

_ready: Any = None  # the waiting subprocess.Popen, until the run stage claims it (through ``overlap.Overlap``)
_started_in = ""
_started_env: dict[str, str] = {}


def wanted(argv: list[str]) -> bool:
    """Whether ``argv`` (without the program name) is a ``run`` that will start a test process."""
    if os.environ.get("MCPTEST_PRESTART", "1") == "0":
        return False
    words = [a for a in argv if a != "--debug"]
    if not words or words[0] != "run":
        return False
    before_dashes = words[: words.index("--")] if "--" in words else words
    return not any(a in ("--help", "-h", "--version") for a in before_dashes)


def start(argv: list[str]) -> None:
    """Start the waiting interpreter when ``argv`` is a run (quietly nothing when it cannot start)."""
    global _ready, _started_in, _started_env
    if _ready is not None or not wanted(argv):
        return
    import atexit
    import subprocess

    from mcptest import lifecycle

    with lifecycle.shielded():  # an interrupt while it starts is raised once it is known (and stopped at exit)
        try:
            _started_in = os.getcwd()
            _started_env = dict(os.environ)
            # by path, not as a module of the mcptest package: the package must not be imported in the test
            # process before pytest does it (pytest would warn that it cannot rewrite the asserts of mcptest's
            # pytest plugin); the argument is this process's pid: the interpreter ends when this process does
            server = os.path.join(os.path.dirname(os.path.abspath(__file__)), "prestart_server.py")
            _ready = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    f"import runpy; runpy.run_path({server!r}, run_name='__main__')",
                    str(os.getpid()),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError:
            _ready = None
            return
        lifecycle.track(_ready.pid)
        atexit.register(discard)


def discard() -> None:
    """Stop the waiting interpreter if nothing claimed it."""
    global _ready
    proc, _ready = _ready, None
    if proc is None:
        return
    import contextlib

    from mcptest import lifecycle

    with contextlib.suppress(OSError):
        proc.kill()
    with contextlib.suppress(OSError, ValueError):
        proc.stdin.close()
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)
    lifecycle.untrack(proc.pid)


def refusal(cmd: list[str], cwd: str, env: dict[str, str]) -> str | None:
    """Why the waiting interpreter cannot run ``cmd`` as a fresh one would, or None when it can."""
    if cmd[:3] != [sys.executable, "-m", "pytest"]:
        return "not a `python -m pytest` command"
    if os.path.realpath(cwd) != os.path.realpath(_started_in):
        return "another working folder"
    for key in set(env) ^ set(_started_env) | {k for k in env if _started_env.get(k) != env[k]}:
        if not key.startswith(_LATE_VARIABLES):
            return f"environment variable {key} differs"
    return None


def claim(cmd: list[str], cwd: str, env: dict[str, str], log: str) -> Any:
    """The waiting interpreter, now running ``cmd`` with its output appended to ``log``; None if refused.

    Either way it is used up: later test processes start as usual.
    """
    global _ready
    proc = _ready
    if proc is None:
        return None
    if refusal(cmd, cwd, env) is not None or proc.poll() is not None:
        discard()
        return None
    import json

    request = json.dumps({"args": cmd[3:], "cwd": cwd, "env": env, "log": log}).encode() + b"\n"
    try:
        proc.stdin.write(request)
        proc.stdin.close()
    except OSError:  # it died while starting: the run stage starts a fresh one
        discard()
        return None
    _ready = None
    return proc
