"""The patch of patch coverage (``mcptest.patch``) read from git: every line added or changed since the merge
base of REF and HEAD, with what is committed, staged and not yet staged in the working tree.

Files git does not track are not in it (``git add -N FILE`` puts a new file in). git itself computes the diff
(``git diff --unified=0 --find-renames <merge base>``, run in the project folder with ``--relative``); this
module only reads the hunk headers, which say which lines of the new file each hunk adds or changes, and the
file headers (renames, deletions, C-quoted names). Every git problem is its own one-line error (exit 4) that
says how to fix it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mcptest.errors import UsageError

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


class PatchError(UsageError):
    """The patch cannot be read: no git, not a repository, an unknown REF, no merge base (exit 4)."""


@dataclass
class Diff:
    """What git says changed: new path (relative to the project folder) -> lines added or changed there."""

    base: str
    merge_base: str
    head: str | None
    files: dict[str, list[int]] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)  # new path -> old path
    deleted: list[str] = field(default_factory=list)


def _git(root: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", "GIT_OPTIONAL_LOCKS": "0"}
    env.pop("GIT_DIR", None)  # the project's own repository, whatever the caller's environment points at
    env.pop("GIT_WORK_TREE", None)
    try:
        return subprocess.run(
            ["git", *args],
            cwd=root,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PatchError(f"git {args[0]} did not answer within {timeout:g}s in {root}") from exc
    except OSError as exc:
        raise PatchError(f"git cannot be run in {root}: {exc.strerror or exc}") from exc


def _fetch_hint(root: Path, ref: str) -> str:
    """How to get REF into the clone: ``git fetch origin main`` for ``origin/main`` (a remote's branch)."""
    remotes = _git(root, "remote").stdout.split()
    remote, _, branch = ref.partition("/")
    if branch and (remote in remotes or not remotes):
        return f"git fetch {remote} {branch}"
    if remotes:
        return f"git fetch {remotes[0]} {ref}, then give {remotes[0]}/{ref}"
    return "this clone has no remote; give a branch, tag or commit it has (git branch -a lists them)"


def resolve(root: Path, ref: str) -> tuple[str, str | None]:
    """The merge base of ``ref`` and HEAD, and HEAD, as commit ids; raises PatchError with the fix."""
    flag = f"--diff-base {ref}"
    if not ref or ref.startswith("-"):
        raise PatchError(f"{flag}: not a git revision (a branch, tag or commit such as origin/main)")
    if shutil.which("git") is None:
        raise PatchError(f"{flag}: git is not installed; patch coverage reads the changed lines with git")
    if _git(root, "rev-parse", "--show-toplevel").returncode != 0:
        raise PatchError(
            f"{flag}: {root} is not inside a git repository; patch coverage needs the project's git history "
            "(run in a clone, not in an exported copy or an unpacked sdist)"
        )
    head = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if head.returncode != 0:
        raise PatchError(f"{flag}: the repository in {root} has no commit yet; commit once, then compare")
    shallow = _git(root, "rev-parse", "--is-shallow-repository").stdout.strip() == "true"
    base = _git(root, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}")
    if base.returncode != 0:
        where = " (a shallow clone: actions/checkout with fetch-depth: 0 fetches every branch)" if shallow else ""
        raise PatchError(
            f"{flag}: no branch, tag or commit {ref!r} in this clone{where}; fetch it first: {_fetch_hint(root, ref)}"
        )
    merge = _git(root, "merge-base", base.stdout.strip(), head.stdout.strip())
    if merge.returncode != 0 or not merge.stdout.strip():
        if shallow:
            raise PatchError(
                f"{flag}: this shallow clone does not hold the merge base of {ref} and HEAD; fetch the history "
                "(actions/checkout with fetch-depth: 0, or git fetch --unshallow)"
            )
        raise PatchError(
            f"{flag}: {ref} and HEAD have no common history (no merge base); compare with the branch HEAD was made from"
        )
    return merge.stdout.strip(), head.stdout.strip()


def read_diff(root: Path, ref: str) -> Diff:
    """The lines changed since the merge base of ``ref`` and HEAD, working tree included (see the module doc)."""
    merge_base, head = resolve(root, ref)
    out = _git(
        root,
        "-c",
        "core.quotepath=off",
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--unified=0",
        "--find-renames",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        "--relative",
        merge_base,
        "--",
    )
    if out.returncode != 0:
        first = (out.stderr.strip().splitlines() or ["no message"])[0]
        raise PatchError(f"--diff-base {ref}: git diff failed in {root}: {first}")
    diff = parse_diff(out.stdout)
    diff.base, diff.merge_base, diff.head = ref, merge_base, head
    return diff


def unquote(name: str) -> str:
    """A path as git writes it in a diff header: C-quoted (``"a\\tb.py"``) when it holds unusual characters."""
    if len(name) < 2 or not (name.startswith('"') and name.endswith('"')):
        return name
    body, out, i = name[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "0123" and re.fullmatch(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(int(body[i + 1 : i + 4], 8))
                i += 4
                continue
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
        out += char.encode("utf-8", "surrogateescape")
        i += 1
    return out.decode("utf-8", "replace")


def _header_path(value: str, prefix: str) -> str | None:
    """``b/pkg/x.py`` (or a quoted one) -> ``pkg/x.py``; None for /dev/null."""
    if value.endswith("\t"):  # git ends the name with a tab when it holds a space
        value = value[:-1]
    value = unquote(value)
    if value == "/dev/null":
        return None
    return value[len(prefix) :] if value.startswith(prefix) else value


@dataclass
class _FileHeader:
    """What the header lines of one file of the diff said: its new and old path, and whether it is deleted."""

    new: str | None = None
    old: str | None = None
    deleted: bool = False

    def read(self, line: str) -> None:
        """Take in one line between ``diff --git`` and the first hunk (any other line says nothing here)."""
        if line.startswith("rename from "):
            self.old = unquote(line[len("rename from ") :])
        elif line.startswith("rename to "):
            self.new = unquote(line[len("rename to ") :])
        elif line.startswith("deleted file mode"):
            self.deleted = True
        elif line.startswith("--- "):
            self.old = _header_path(line[4:], "a/") or self.old
        elif line.startswith("+++ "):
            path = _header_path(line[4:], "b/")
            if path is None:
                self.deleted = True
            else:
                self.new = path

    def finish(self, diff: Diff) -> None:
        """Put the file in ``diff`` as deleted or renamed when it is."""
        if self.deleted and self.old is not None:
            diff.deleted.append(self.old)
        elif self.new is not None and self.old is not None and self.new != self.old:
            diff.renamed[self.new] = self.old


def _hunk(header: str, lines: list[str], i: int, new: str | None, diff: Diff) -> int:
    """Put the lines the hunk headed by ``header`` adds or changes in ``new`` into ``diff``; ``lines[i]`` is the
    first line of its body. Returns the index of the first line after the body."""
    match = _HUNK.match(header)
    if match is None:
        return i
    removed = int(match.group(2)) if match.group(2) is not None else 1
    start = int(match.group(3))
    added = int(match.group(4)) if match.group(4) is not None else 1
    if new is not None and added:
        diff.files.setdefault(new, []).extend(range(start, start + added))
    while (removed or added) and i < len(lines):  # the body: exactly what the header counted
        body = lines[i]
        i += 1
        if body.startswith("-"):
            removed -= 1
        elif body.startswith("+"):
            added -= 1
        elif not body.startswith("\\"):  # "\ No newline at end of file" counts for nothing
            break
    return i


def parse_diff(text: str) -> Diff:
    """Read ``git diff --unified=0`` output: changed line numbers of each new file, renames, deletions.

    Hunk bodies are skipped by the counts in their headers, so an added line that reads like a header
    (``+++ b/x``) is never taken for one.
    """
    diff = Diff(base="", merge_base="", head=None)
    lines = text.split("\n")
    file = _FileHeader()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("diff --git "):
            file.finish(diff)
            file = _FileHeader()
        elif line.startswith("@@ "):
            i = _hunk(line, lines, i, file.new, diff)
        else:
            file.read(line)
    file.finish(diff)
    for path, numbers in diff.files.items():
        diff.files[path] = sorted(set(numbers))
    return diff
