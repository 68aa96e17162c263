"""The waiting test interpreter of ``mcptest.prestart``: imports pytest, then becomes the requested pytest run.

Started as ``python -c "import runpy; runpy.run_path(<this file>)"``, so that nothing of the mcptest package
is imported into the test process; it reads one JSON line from stdin: ``args`` (pytest's arguments), ``cwd``,
``env`` (the whole environment) and ``log`` (a file its output is appended to). End of input: it exits.
"""

from __future__ import annotations

import os
import sys


def _die_with_parent() -> None:
    """End with mcptest (its pid is the argument): Linux's parent-death signal, set before anything else; the
    collector plugin adds a watchdog thread once this interpreter runs pytest."""
    parent = sys.argv[1] if len(sys.argv) > 1 else ""
    if not parent.isdigit():
        return
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, 15, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGTERM
        except (OSError, AttributeError):
            pass
    if os.getppid() != int(parent):  # mcptest ended before the signal was set
        os._exit(1)


def serve() -> None:
    """In the waiting interpreter: import, wait for the request, then become the test process."""
    _die_with_parent()
    try:
        import coverage  # noqa: F401
        import pytest  # noqa: F401 - the point of this process: done before the request arrives
    except ImportError:
        pass  # the request's pytest run reports it as usual
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return  # mcptest ended without a run
    import json
    import runpy

    request = json.loads(line)
    os.chdir(request["cwd"])
    sys.path[0] = os.getcwd()  # what `python -m` puts first (this interpreter started with -c: '')
    os.environ.clear()
    os.environ.update(request["env"])
    fd = os.open(request["log"], os.O_WRONLY | os.O_APPEND)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    core = sys.modules.get("coverage.core")
    if os.environ.get("COVERAGE_CORE") == "ctrace" and core is not None and not getattr(core, "CTRACER_FILE", 1):
        # what coverage.py does at import when told to use its C tracer and it is missing
        sys.stderr.write("*** COVERAGE_CORE is 'ctrace' but can't import CTracer!\n")
        sys.exit(1)
    sys.argv = ["pytest", *request["args"]]
    runpy.run_module("pytest", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    serve()
