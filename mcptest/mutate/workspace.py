"""The temporary copy of the project that mutants are written into, and its test processes' environment."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import time
import tokenize
from collections.abc import Callable
from pathlib import Path

from mcptest.config_model import Config
from mcptest.errors import McptestError

#: Folders never copied: version control, report folders, caches and build output of tools.
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                       ".hypothesis", ".tox", ".nox", "node_modules", ".eggs", "htmlcov"})


def _ignore(report_dir: str) -> Callable[[str, list[str]], set[str]]:
    def ignore(folder: str, names: list[str]) -> set[str]:
        out = set()
        for name in names:
            path = os.path.join(folder, name)
            if (name in _SKIP_DIRS or name.endswith(".egg-info") or name.startswith(".coverage")
                    or os.path.realpath(path) == report_dir):
                out.add(name)
            elif os.path.isdir(path) and os.path.exists(os.path.join(path, "pyvenv.cfg")):
                out.add(name)  # a virtualenv
        return out

    return ignore


def copy_project(config: Config, dest: Path) -> Path:
    """Copy the project (without VCS folders, venvs, caches and reports) to ``dest``; return it."""
    shutil.copytree(config.root, dest, symlinks=True, ignore=_ignore(os.path.realpath(config.report_dir)))
    return dest


_IMPORT_PATHS = "import-paths.json"


def write_import_paths(config: Config, tmp: Path) -> None:
    """Where the copies' measured code is imported from, relative to a copy (``src`` in a src layout).

    An editable install points at the project's own folder; these paths go first on each test process's
    path, so that the tests import the copy, where the mutants are.
    """
    rels: list[str] = []
    for entry in config.sources:
        path = Path(entry.path)
        if path.is_absolute() or ".." in path.parts:
            continue  # outside the project: not copied
        package = entry.kind in ("package", "module", "file") or (config.root / path / "__init__.py").exists()
        rel = (path.parent if package else path).as_posix()
        if rel not in (".", "", *rels):
            rels.append(rel)
    (tmp / _IMPORT_PATHS).write_text(json.dumps(rels), encoding="utf-8")


def _import_paths(root: Path) -> list[str]:
    try:
        rels = json.loads((root.parent / _IMPORT_PATHS).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [str(root / rel) for rel in rels]


def write_source(root: Path, rel: str, data: bytes) -> None:
    """Write a file of the copy, never through a symlink that could lead back to the user's tree.

    Every write gets a modification time (whole seconds) that no earlier version of the file had:
    Python trusts a cached .pyc whose recorded mtime and size match, so a mutant of the same size
    written within the same second could otherwise run the previous version's bytecode.
    """
    path = root / rel
    if path.is_symlink():
        path.unlink()
    real = path.resolve()
    if not real.is_relative_to(root.resolve()):
        raise McptestError(f"refusing to write {real}: it is outside the temporary copy {root}")
    before = int(path.stat().st_mtime) if path.exists() else int(time.time())
    path.write_bytes(data)
    stamp = before - 1  # each write is older than the one before: never a time seen earlier
    os.utime(path, (stamp, stamp))


def env(root: Path) -> dict[str, str]:
    """The environment of a test process in the copy ``root``: the copy first on the import path.

    Bytecode is cached, but only under the temporary folder (``PYTHONPYCACHEPREFIX``): the test files
    and unchanged modules then compile once, not once per mutant, and nothing is written elsewhere.
    """
    out = dict(os.environ)
    # the settings of an outer mcptest, pytest-xdist or pytest-cov run must not leak into the copy's runs
    for key in [k for k in out if k.startswith(("MCPTEST_", "PYTEST_XDIST", "COV_CORE_"))]:
        out.pop(key, None)
    for key in ("COVERAGE_PROCESS_START", "PYTEST_CURRENT_TEST", "PYTHONDONTWRITEBYTECODE"):
        out.pop(key, None)
    plugins = root.parent / "plugins"  # mcptest's own stand-in plugins for the mutant runs, when written
    extra = [str(plugins)] if plugins.is_dir() else []
    first = [str(root), *_import_paths(root)]
    out["PYTHONPATH"] = os.pathsep.join([*first, *filter(None, [os.environ.get("PYTHONPATH")]), *extra])
    out["PYTHONPYCACHEPREFIX"] = str(root.parent / "pycache")
    return out


def kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the process group of ``proc`` and reap it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


def encode(text: str, like: bytes) -> bytes:
    """``text`` in the encoding that the file ``like`` declares (PEP 263), UTF-8 by default."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(like).readline)
    return text.encode(encoding)


def decode(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)
