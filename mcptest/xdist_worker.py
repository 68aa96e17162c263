"""A pytest-xdist worker measured by coverage.py from its first line, as ``coverage run`` measures a serial run.

When a measured package ships a pytest plugin, mcptest runs the suite under ``coverage run`` (the plugin is
imported before any plugin could start coverage). Each xdist worker is a fresh interpreter that imports the
plugin again; measured only from the collector's ``pytest_load_initial_conftests`` on, its import-time lines
would look missed. So the collector (in the xdist controller, ``pytest_xdist_setupnodes``) has execnet start
each local worker through this file instead of plain ``python``. execnet appends its own interpreter
options and bootstrap code, which arrive here as arguments::

    python -u -c "import runpy; runpy.run_path('.../mcptest/xdist_worker.py', run_name=...)" -u [-B] -c BOOTSTRAP

:func:`main` starts coverage.py with the suite's settings (from the ``MCPTEST_COV_*`` variables: the data file
with a unique suffix, ``source``, branch, the project's coverage config), then runs ``BOOTSTRAP`` the way
``python -c`` would, and saves the data when the worker ends. Only the workers are started this way: the
processes that the tests start are not measured, as in the serial run.

The file is run by its path, not imported as ``mcptest.xdist_worker``: the ``mcptest`` package must not be
imported before pytest starts, or pytest warns that it cannot rewrite the asserts of an installed plugin's
package (an error under ``filterwarnings = error``). So this module imports only the standard library and
coverage.py, and the collector recognises the measurement by its data file (``Coverage.current()``).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping, Sequence
from typing import Any

#: ``__name__`` of this file when it runs a worker (``runpy.run_path``); it then calls :func:`main`.
RUN_NAME = "__mcptest_xdist_worker__"
#: The interpreter options execnet's popen gateway passes before ``-c`` (``-u`` always, ``-B`` on request).
_KNOWN_OPTIONS = ("-u", "-B")


def entry_code() -> str:
    """What the worker interpreter runs with ``-c``: this file, whose :func:`main` gets execnet's arguments."""
    return f"import runpy; runpy.run_path({__file__!r}, run_name={RUN_NAME!r})"


def python_spec(executable: str | None = None) -> str:
    """The ``python`` of an execnet popen spec that starts a worker through :func:`main` (shell-quoted)."""
    return shlex.join([executable or sys.executable, "-u", "-c", entry_code()])


def route(specs: Sequence[Any]) -> None:
    """Start each plain local worker (a popen spec without ``python=`` or ``via=``) through :func:`main`."""
    for spec in specs:
        if spec.popen and not spec.python and not spec.via:
            spec.python = python_spec()


def split_arguments(args: list[str]) -> tuple[list[str], str, list[str]]:
    """execnet's ``[options...] -c CODE [rest...]`` -> (options, CODE, rest); ValueError for anything else."""
    options: list[str] = []
    rest = list(args)
    while rest and rest[0] != "-c":
        options.append(rest.pop(0))
    unknown = [o for o in options if o not in _KNOWN_OPTIONS]
    if unknown or len(rest) < 2:
        raise ValueError(
            f"mcptest.xdist_worker: unexpected arguments {args!r} "
            f"(expected [{'] ['.join(_KNOWN_OPTIONS)}] -c CODE, as execnet's popen gateway passes them)"
        )
    return options, rest[1], rest[2:]


def coverage_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The keyword arguments of ``coverage.Coverage`` for a worker, or None when mcptest measures nothing.

    The same settings as the suite's ``coverage run``: its data file (with a unique suffix per worker), its
    ``source``, ``branch`` when mcptest asks for it (otherwise the project's config decides, as it does for
    ``coverage run`` without ``--branch``), and the project's coverage config file.
    """
    env = os.environ if environ is None else environ
    data_file = env.get("MCPTEST_COV_DATA")
    if not data_file:
        return None
    source = [s for s in env.get("MCPTEST_COV_SOURCE", "").split(",") if s]
    return {
        "data_file": data_file,
        "data_suffix": True,
        "config_file": True,
        "branch": True if env.get("MCPTEST_COV_BRANCH") == "1" else None,
        "source": source or None,
    }


def _save(cov: Any) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "No data was collected" and the like: mcptest judges the data itself
        cov.stop()
        cov.save()


def main() -> None:
    """Start measuring, then run execnet's bootstrap code as ``python -c`` would; save the data at the end."""
    try:
        options, code, rest = split_arguments(sys.argv[1:])
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    if "-B" in options:
        sys.dont_write_bytecode = True
    sys.argv = ["-c", *rest]
    settings = coverage_settings()
    cov = None
    if settings is not None:
        import coverage

        cov = coverage.Coverage(**settings)
        cov.start()
    try:
        exec(compile(code, "<string>", "exec"), vars(sys.modules["__main__"]))  # execnet's bootstrap
    finally:
        if cov is not None:
            _save(cov)


if __name__ == RUN_NAME:
    main()
