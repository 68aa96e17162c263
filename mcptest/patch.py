"""Patch coverage: the lines a change adds or modifies, read from git, and how many of them the tests ran.

The patch is every line added or changed since the merge base of REF and HEAD, with what is committed,
staged and not yet staged in the working tree: what the tests of this run actually exercised. Files git
does not track are not in it (``git add -N FILE`` puts a new file in). git itself computes the diff
(``git diff --unified=0 --find-renames <merge base>``, run in the project folder with ``--relative``); this
module only reads the hunk headers, which say which lines of the new file each hunk adds or changes.

A changed line counts when it is a statement coverage.py measured (the first line of a statement, as in
coverage.py's reports and diff-cover's counts); a changed branch is an arc whose source line changed.
Deleted files, non-Python files, files outside ``source`` and test files have nothing measured and are
listed as ignored. Every git problem is its own one-line error (exit 4) that says how to fix it; this module
returns data and never prints.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from mcptest import display
from mcptest.config_model import Config
from mcptest.display import ranges
from mcptest.errors import UsageError
from mcptest.model import CoverageReport, FileCoverage, PatchCoverage, PatchFile, RunRecord, Totals, Verdict

#: The verdict target and config key of the patch gate.
TARGET = "patch"
RULE = "coverage.patch"

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


def parse_diff(text: str) -> Diff:
    """Read ``git diff --unified=0`` output: changed line numbers of each new file, renames, deletions.

    Hunk bodies are skipped by the counts in their headers, so an added line that reads like a header
    (``+++ b/x``) is never taken for one.
    """
    diff = Diff(base="", merge_base="", head=None)
    lines = text.split("\n")
    new: str | None = None
    old: str | None = None
    deleted = False
    i = 0

    def finish() -> None:
        if deleted and old is not None:
            diff.deleted.append(old)
        elif new is not None and old is not None and new != old:
            diff.renamed[new] = old

    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith("diff --git "):
            finish()
            new = old = None
            deleted = False
        elif line.startswith("rename from "):
            old = unquote(line[len("rename from ") :])
        elif line.startswith("rename to "):
            new = unquote(line[len("rename to ") :])
        elif line.startswith("deleted file mode"):
            deleted = True
        elif line.startswith("--- "):
            old = _header_path(line[4:], "a/") or old
        elif line.startswith("+++ "):
            path = _header_path(line[4:], "b/")
            if path is None:
                deleted = True
            else:
                new = path
        elif line.startswith("@@ "):
            match = _HUNK.match(line)
            if match is None:
                continue
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
    finish()
    for path, numbers in diff.files.items():
        diff.files[path] = sorted(set(numbers))
    return diff


def _source(arc: str) -> int | None:
    head, sep, _ = arc.partition("->")
    try:
        return int(head) if sep else None
    except ValueError:
        return None


def _target(arc: str) -> int | None:
    _, sep, tail = arc.partition("->")
    try:
        return int(tail) if sep else None
    except ValueError:
        return None


def lacks_taken_branches(f: FileCoverage) -> bool:
    """A file of a record written before ``executed_branches`` existed: the branches it took are not known."""
    return f.totals.covered_branches > 0 and not f.executed_branches


def measure(diff: Diff, report: CoverageReport) -> PatchCoverage:
    """The coverage of the changed lines, from the run's per-file coverage (nothing is measured again)."""
    by_path = {f.path: f for f in report.files}
    files: list[PatchFile] = []
    ignored: list[str] = []
    for path, lines in sorted(diff.files.items()):
        measured = by_path.get(path)
        if measured is None:
            ignored.append(path)
            continue
        changed = set(lines)
        executed, missing = set(measured.executed_lines), set(measured.missing_lines)
        statements = changed & (executed | missing)
        not_run = sorted(changed & missing)
        taken = [arc for arc in measured.executed_branches if _source(arc) in changed]
        not_taken = [arc for arc in measured.missing_branches if _source(arc) in changed]
        totals = Totals.of(len(statements), len(statements) - len(not_run), len(taken) + len(not_taken), len(taken))
        files.append(
            PatchFile(
                path=path,
                totals=totals,
                changed_lines=sorted(changed),
                missing_lines=not_run,
                missing_branches=not_taken,
                old_path=diff.renamed.get(path),
            )
        )
    return PatchCoverage(
        base=diff.base,
        merge_base=diff.merge_base,
        head=diff.head,
        totals=sum((f.totals for f in files), Totals()),
        files=files,
        ignored=ignored,
        deleted=sorted(diff.deleted),
    )


def arc_text(arc: str) -> str:
    """``12->-1`` -> ``12->exit``, as coverage.py shows an exit."""
    head, _, tail = arc.partition("->")
    return f"{head}->exit" if tail.startswith("-") else arc


def missing_text(f: PatchFile, *, branches: bool = True) -> str:
    """The changed lines that did not run, then the changed branches not taken: ``7, 9-10, 12->exit``.

    As coverage.py's ``term-missing``: a branch to or from a line that never ran is not listed again."""
    parts = [ranges(f.missing_lines)] if f.missing_lines else []
    if branches:
        missing = set(f.missing_lines)
        parts += [arc_text(a) for a in f.missing_branches if not {_source(a), _target(a)} & missing]
    return ", ".join(parts)


def since(patch: PatchCoverage) -> str:
    """``since abc123def456, the merge base of origin/main and HEAD``."""
    return f"since {patch.merge_base[:12]}, the merge base of {patch.base} and HEAD"


def empty_reason(patch: PatchCoverage) -> str | None:
    """Why there is nothing to measure (``no changed lines to measure ...``), or None when there is."""
    if patch.totals.statements:
        return None
    changed = sum(len(f.changed_lines) for f in patch.files)
    if changed:
        return f"no changed lines to measure: the {changed} changed line(s) in measured files are not statements"
    if patch.ignored:
        return f"no changed lines to measure: the {len(patch.ignored)} changed file(s) are not measured"
    return "no changed lines to measure"


def gate(config: Config, patch: PatchCoverage) -> list[Verdict]:
    """The ``coverage.patch`` gate on the patch's totals; none when no minimum is configured."""
    threshold = config.coverage.patch
    if threshold.empty:
        return []
    key = threshold.key or RULE
    empty = empty_reason(patch)
    if empty is not None:
        required = threshold.line if threshold.line is not None else threshold.branch
        return [Verdict("threshold", TARGET, "line", None, required, True, key, f"patch: {empty} ({since(patch)})")]
    out: list[Verdict] = []
    totals = patch.totals
    for metric, required, actual, count, covered in (
        ("line", threshold.line, totals.line_percent, totals.statements, totals.covered_lines),
        ("branch", threshold.branch, totals.branch_percent, totals.branches, totals.covered_branches),
    ):
        if required is None:
            continue
        if not count:
            what = "no changed branches" if metric == "branch" else "no changed statements"
            message = f"patch: {what}, {metric} minimum {required:g}% not applicable"
            out.append(Verdict("threshold", TARGET, metric, None, required, True, key, message))
            continue
        passed = actual is not None and actual + 1e-9 >= required
        unit = "changed branches" if metric == "branch" else "changed statements"
        word = "meets" if passed else "is below"
        message = (
            f"patch {metric} coverage {display.pct(actual)} ({covered} of {count} {unit}) {word} "
            f"the required {required:g}%"
        )
        if not passed:
            listed = [
                f"{f.path} {text}"
                for f in patch.files
                if (text := (ranges(f.missing_lines) if metric == "line" else _arcs(f)))
            ]
            message += f"; missing: {display.join_cut(listed, 400, '; ')}"
        out.append(Verdict("threshold", TARGET, metric, actual, required, passed, key, message))
    return out


def _arcs(f: PatchFile) -> str:
    return ", ".join(arc_text(a) for a in f.missing_branches)


@dataclass
class Stage:
    """The pipeline's hook for a run with ``--diff-base``: the patch read before the tests, measured after them.

    Called by the pipeline with the record, its verdicts and whether coverage was gated; returns the verdicts
    with the patch gate added. A run whose coverage is not gated (partial, stopped, ``coverage_gates: false``)
    gets the patch in its record and reports, and a warning instead of the gate.
    """

    config: Config
    diff: Diff

    def __call__(self, record: RunRecord, verdicts: list[Verdict], gated: bool) -> list[Verdict]:
        if record.coverage is None or any(v.kind == "interrupted" for v in verdicts):
            return verdicts
        record.patch = measure(self.diff, record.coverage)
        if self.config.coverage.patch.empty:
            return verdicts
        if not gated or record.selection.partial:
            record.warnings.append(
                "patch coverage is measured and reported but not gated: coverage is not gated in this run"
            )
            return verdicts
        return [*verdicts, *gate(self.config, record.patch)]
