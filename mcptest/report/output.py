"""The one place that writes report files: folders created, each file replaced atomically, ``-`` is stdout."""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from mcptest.errors import UsageError

STDOUT = "-"


class ReportError(UsageError):
    """A report cannot be written where it was asked to go (unknown format, stdout for HTML, bad path)."""


def is_stdout(dest: Path | str) -> bool:
    return str(dest) == STDOUT


def atomic_write(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temp file in the same folder and ``os.replace``.

    Readers see the old file or the new one, never a half-written one; on any error the temp file
    is removed and the old file is left as it was. No fsync: this protects against a crashed or
    interrupted process, which is what happens to test runs, and keeps 2,000 pages fast.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    # O_EXCL: never write through a file someone else made; 0o644 (minus umask): reports are read by others.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def write_text(dest: Path | str, text: str, *, stdout: TextIO | None = None) -> Path | None:
    """Write ``text`` (UTF-8) to ``dest``, or to stdout when ``dest`` is ``-``; returns the path written."""
    if is_stdout(dest):
        out = stdout if stdout is not None else sys.stdout
        out.write(text)
        out.flush()
        return None
    path = Path(dest)
    if path.is_dir():
        raise ReportError(f"{path} is a folder; give a file name for this report")
    try:
        return atomic_write(path, text.encode("utf-8", "replace"))
    except OSError as exc:
        raise ReportError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_tree(root: Path, pages: Mapping[str, str], *, last: str | None = None) -> list[Path]:
    """Write every page (relative path -> text) under ``root``, each atomically, ``last`` at the end.

    Pages are rendered before this is called, so a template error never leaves a mix of old and new
    pages; ``last`` (the entry page) is replaced only once everything it links to is in place.
    """
    if is_stdout(root):
        raise ReportError("the HTML report is a folder of pages and cannot go to stdout")
    order = [name for name in pages if name != last]
    if last is not None and last in pages:
        order.append(last)
    written = []
    try:
        for name in order:
            written.append(atomic_write(root / name, pages[name].encode("utf-8", "replace")))
    except OSError as exc:
        raise ReportError(f"cannot write the HTML report in {root}: {exc.strerror or exc}") from exc
    return written


def remove_stale(folder: Path, keep: set[Path], pattern: str = "*.html") -> None:
    """Delete pages a previous report left in ``folder`` that this one no longer links to."""
    if not folder.is_dir():
        return
    for old in folder.glob(pattern):
        if old not in keep:
            with contextlib.suppress(OSError):
                old.unlink()


def append_step_summary(markdown: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Append ``markdown`` to the file named by ``$GITHUB_STEP_SUMMARY``; None when it is not set."""
    env = os.environ if environ is None else environ
    target = env.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    path = Path(target)
    try:
        with path.open("a", encoding="utf-8", errors="replace") as fh:
            fh.write(markdown if markdown.endswith("\n") else markdown + "\n")
    except OSError as exc:
        raise ReportError(f"cannot append to GITHUB_STEP_SUMMARY ({path}): {exc.strerror or exc}") from exc
    return path
