"""Path globs for thresholds and test paths: ``*`` and ``?`` stay inside one folder, ``**`` spans folders."""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

_MAGIC = re.compile(r"[*?\[]")


def is_glob(pattern: str) -> bool:
    return bool(_MAGIC.search(pattern))


@functools.lru_cache(maxsize=512)
def _compile(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2)
            if end == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
        else:
            out.append(re.escape(c))
            i += 1
    return re.compile("".join(out) + r"\Z")


def glob_match(pattern: str, path: str) -> bool:
    """Whether the relative posix ``path`` matches ``pattern`` (a folder pattern matches files below it)."""
    pattern = pattern.rstrip("/")
    if not is_glob(pattern):
        return path == pattern or path.startswith(pattern + "/")
    return bool(_compile(pattern).match(path))


def _skipped(name: str) -> bool:
    return name.startswith(".") or name in ("__pycache__", "node_modules")


def expand_glob(root: Path, pattern: str) -> list[str]:
    """The files and folders under ``root`` that the relative ``pattern`` matches, as sorted posix paths.

    Matching is ``glob_match``'s (``*`` and ``?`` inside one folder, ``**`` across folders). Names starting
    with '.', ``__pycache__`` and ``node_modules`` are never matched by a wildcard, and a match inside a
    matched folder is left out (the folder holds it already). The walk starts at the pattern's literal
    folder and goes no deeper than the pattern can match.
    """
    parts = pattern.rstrip("/").split("/")
    fixed = 0
    while fixed < len(parts) - 1 and not is_glob(parts[fixed]):
        fixed += 1
    prefix = "/".join(parts[:fixed])
    rest = parts[fixed:]
    depth = None if any("**" in part for part in rest) else len(rest)
    base = root / prefix if prefix else root
    if not base.is_dir():
        return []
    found: list[str] = []
    for folder, dirs, files in os.walk(base):
        rel = os.path.relpath(folder, base)
        level = 0 if rel == "." else rel.count(os.sep) + 1
        dirs[:] = sorted(d for d in dirs if not _skipped(d))
        for name in [*dirs, *(f for f in files if not _skipped(f))]:
            path = "/".join(p for p in (prefix, "" if rel == "." else Path(rel).as_posix(), name) if p)
            if glob_match(pattern, path):
                found.append(path)
        if depth is not None and level + 1 >= depth:
            dirs[:] = []
    matched = set(found)
    return sorted(p for p in matched if not any(a in matched for a in _ancestors(p)))


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]
