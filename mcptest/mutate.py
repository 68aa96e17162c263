"""Mutation testing: small deliberate bugs in covered source lines, each run against the tests covering it.

The flow: copy the project into a temporary folder -> run the suite there once under coverage with
per-test contexts -> generate mutants with ``ast`` on the covered lines -> run each mutant's covering
tests (``pytest -x``) in a copy -> killed / survived / timeout. The user's files are never written: every
mutant is applied to a copy, which is removed when the run ends, also on Ctrl-C or a crash. This module
returns data and never prints; progress goes to an ``on_event`` callback.
"""

from __future__ import annotations

import ast
import contextlib
import difflib
import functools
import importlib.util
import io
import itertools
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import tokenize
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from mcptest import covdata, exitcodes
from mcptest.config_model import Config, SuiteConfig
from mcptest.errors import McptestError, NoDataError, UsageError
from mcptest.globs import glob_match
from mcptest.plan import RunOptions, plan, pytest_command

EventHandler = Callable[[str, dict[str, Any]], None]

FORMAT_VERSION = 1
OPERATORS = ("compare", "negate", "boolop", "constant", "call", "return")
STATUSES = ("killed", "survived", "timeout", "error", "no-tests")
#: A line with this comment is never mutated (logging text, version strings, deliberate magic numbers).
PRAGMA = "pragma: no mutate"

#: Folders never copied: version control, report folders, caches and build output of tools.
_SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache",
                       ".hypothesis", ".tox", ".nox", "node_modules", ".eggs", "htmlcov"})
_POLL = 0.02
_PYTEST_USAGE_ERROR = 4
_TIMEOUT_FACTOR = 10.0
_TIMEOUT_BASE = 5.0


class BaselineFailed(McptestError):
    """The suite does not pass on the unmodified code, so no mutant can be judged."""

    exit_code = exitcodes.TESTS_FAILED


# ----------------------------------------------------------------------------------------------- data


@dataclass
class Mutant:
    """One deliberate change of one source file, and what the tests said about it."""

    id: str
    file: str  # relative to the project root, posix
    line: int  # where the change starts
    col: int  # character column of the change
    operator: str  # one of OPERATORS
    description: str  # e.g. "< -> >=", "True -> False", "call removed"
    original: str  # the changed source line(s), as in the file
    mutated: str  # the same line(s) after the change
    diff: str  # unified diff of the file (a/ original, b/ mutant)
    status: str = "pending"  # one of STATUSES once run
    tests: list[str] = field(default_factory=list)  # node ids run against the mutant
    import_time: bool = False  # the line runs when the module is imported: every selected test covers it
    killed_by: str | None = None  # the first failing test
    detail: str | None = None  # pytest's last line, or why the mutant could not be judged
    timeout: float = 0.0  # seconds allowed
    duration: float = 0.0
    source: str = field(default="", repr=False)  # the whole mutated file (not serialised)
    statement_line: int = field(default=0, repr=False)  # the line coverage.py reports for the change

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "file": self.file, "line": self.line, "col": self.col,
                "operator": self.operator, "description": self.description, "original": self.original,
                "mutated": self.mutated, "diff": self.diff, "status": self.status, "tests": list(self.tests),
                "import_time": self.import_time, "killed_by": self.killed_by, "detail": self.detail,
                "timeout": round(self.timeout, 3), "duration": round(self.duration, 3)}


@dataclass
class MutationResult:
    """All mutants of one run; ``score`` = killed / (killed + survived), timeouts and errors apart."""

    suite: str
    modules: list[str]
    seed: int
    max_mutants: int | None
    workers: int
    files: list[str] = field(default_factory=list)
    candidates: int = 0  # valid mutants found on covered lines, before --max sampling
    skipped: int = 0  # generated but dropped: identical code, invalid syntax or a duplicate
    baseline_tests: int = 0
    baseline_duration: float = 0.0
    duration: float = 0.0
    mutants: list[Mutant] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for m in self.mutants if m.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in STATUSES}

    @property
    def killed(self) -> int:
        return self.count("killed")

    @property
    def survived(self) -> int:
        return self.count("survived")

    @property
    def timeouts(self) -> int:
        return self.count("timeout")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def score(self) -> float | None:
        """Fraction of judged mutants the tests killed; None when no mutant was judged."""
        judged = self.killed + self.survived
        return self.killed / judged if judged else None

    @property
    def score_percent(self) -> float | None:
        return None if self.score is None else round(100.0 * self.score, 2)

    @property
    def survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if m.status == "survived"]

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, "suite": self.suite, "modules": list(self.modules),
                "seed": self.seed, "max_mutants": self.max_mutants, "workers": self.workers,
                "files": list(self.files), "candidates": self.candidates, "skipped": self.skipped,
                "baseline_tests": self.baseline_tests, "baseline_duration": round(self.baseline_duration, 3),
                "duration": round(self.duration, 3), "counts": self.counts, "score": self.score,
                "score_percent": self.score_percent, "warnings": list(self.warnings),
                "mutants": [m.to_dict() for m in self.mutants]}


# ----------------------------------------------------------------------------------- mutant generation

_FLIP: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.GtE, ast.GtE: ast.Lt, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In,
}
_OP_TEXT: dict[type[ast.cmpop], str] = {
    ast.Lt: "<", ast.GtE: ">=", ast.Gt: ">", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!=",
    ast.Is: "is", ast.IsNot: "is not", ast.In: "in", ast.NotIn: "not in",
}
_OP_PATTERN: dict[type[ast.cmpop], str] = {
    ast.Lt: r"<(?!=)", ast.GtE: r">=", ast.Gt: r">(?!=)", ast.LtE: r"<=", ast.Eq: r"==", ast.NotEq: r"!=",
    ast.Is: r"\bis\b(?!\s+not\b)", ast.IsNot: r"\bis\s+not\b", ast.In: r"(?<!not )\bin\b",
    ast.NotIn: r"\bnot\s+in\b",
}


@dataclass
class _Candidate:
    operator: str
    description: str
    start: int  # character offset of the first edit
    stmt: ast.stmt  # the innermost statement holding the change; its first line is what coverage.py reports
    edits: list[tuple[int, int, str]]  # (start, end, text) as character offsets into the source
    node: ast.AST  # the node that changes
    change: Callable[[Any], None]  # the same change on that node of a copied tree, to check the text edit


def _set_cmp_op(node: ast.Compare, i: int, op: type[ast.cmpop]) -> None:
    node.ops[i] = op()


def _negate(node: ast.If | ast.While | ast.IfExp) -> None:
    node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)


def _unnegate(node: ast.If | ast.While | ast.IfExp) -> None:
    assert isinstance(node.test, ast.UnaryOp)
    node.test = node.test.operand


def _set_value(node: ast.AST, value: Any) -> None:
    if isinstance(node, ast.Constant):
        node.value, node.kind = value, None
    else:  # Expr, Return: the whole value becomes a literal
        node.value = ast.Constant(value=value)  # type: ignore[attr-defined]


def _set_boolop(node: ast.BoolOp, op: type[ast.boolop]) -> None:
    node.op = op()


class _Source:
    """A file's text with ast positions (1-based lines, UTF-8 byte columns) turned into character offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", text)  # the breaks ast counts, kept
        self.starts: list[int] = []
        pos = 0
        for line in self.lines:
            self.starts.append(pos)
            pos += len(line)

    def offset(self, lineno: int, col: int) -> int:
        line = self.lines[lineno - 1]
        return self.starts[lineno - 1] + len(line.encode("utf-8")[:col].decode("utf-8", errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
                self.offset(node.end_lineno, node.end_col_offset))  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def line_of(self, offset: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _untouchable(tree: ast.AST) -> set[int]:
    """Nodes inside annotations and f-strings: changing them changes nothing or cannot be located exactly."""
    roots: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.arg) and node.annotation is not None:
            roots.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            roots.append(node)
    return {id(n) for root in roots for n in ast.walk(root)}


_LOG_METHODS = frozenset({"debug", "info", "warning", "warn", "error", "exception", "critical", "log"})


def _log_messages(tree: ast.AST) -> set[int]:
    """String arguments of logging calls (``log.warning("...")``): emptying them changes no behaviour."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _LOG_METHODS:
            found |= {id(arg) for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return found


def _statements(tree: ast.Module) -> dict[int, ast.stmt]:
    """id(node) -> the innermost statement that holds it (a statement maps to itself)."""
    out: dict[int, ast.stmt] = {}

    def visit(node: ast.AST, stmt: ast.stmt) -> None:
        if isinstance(node, ast.stmt):
            stmt = node
        out[id(node)] = stmt
        for child in ast.iter_child_nodes(node):
            visit(child, stmt)

    for top in tree.body:
        visit(top, top)
    return out


def _mutated_constant(value: Any) -> tuple[Any, str] | None:
    """The replacement of a literal and its source text; None for literals that are left alone."""
    if isinstance(value, bool):
        return (not value), repr(not value)
    if isinstance(value, int):
        new = 1 if value == 0 else 0 if value == 1 else value + 1
        return new, repr(new)
    if isinstance(value, float):
        new_f = 1.0 if value == 0.0 else 0.0 if value == 1.0 else value + 1.0
        return new_f, repr(new_f)
    if isinstance(value, str) and value:
        return "", '""'
    if isinstance(value, bytes) and value:
        return b"", 'b""'
    return None


def _candidates(src: _Source, tree: ast.Module) -> Iterator[_Candidate]:
    """Every mutation the operators know for ``tree``."""
    docstrings = _docstrings(tree) | _log_messages(tree)
    skip = _untouchable(tree)
    stmt_of = _statements(tree)
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        stmt = stmt_of.get(id(node))
        if stmt is None:  # the module itself
            continue

        def make(operator: str, description: str, edits: list[tuple[int, int, str]],
                 change: Callable[[Any], None], node: ast.AST = node, stmt: ast.stmt = stmt) -> _Candidate:
            start = min(e[0] for e in edits)
            return _Candidate(operator, description, start, stmt, edits, node, change)

        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            for i, op in enumerate(node.ops):
                gap_start, gap_end = src.span(operands[i])[1], src.span(operands[i + 1])[0]
                match = re.search(_OP_PATTERN[type(op)], src.text[gap_start:gap_end])
                if match is None:
                    continue
                new_op = _FLIP[type(op)]
                yield make("compare", f"{_OP_TEXT[type(op)]} -> {_OP_TEXT[new_op]}",
                           [(gap_start + match.start(), gap_start + match.end(), _OP_TEXT[new_op])],
                           functools.partial(_set_cmp_op, i=i, op=new_op))
        elif isinstance(node, ast.If | ast.While | ast.IfExp):
            test = node.test
            if isinstance(test, ast.Compare) and len(test.ops) == 1:
                continue  # the same as flipping the comparison
            start, end = src.span(test)
            if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
                yield make("negate", "not removed", [(start, end, "(" + src.segment(test.operand) + ")")],
                           _unnegate)
            else:
                yield make("negate", "condition negated", [(start, end, "not (" + src.segment(test) + ")")],
                           _negate)
        elif isinstance(node, ast.BoolOp):
            old, new = ("and", "or") if isinstance(node.op, ast.And) else ("or", "and")
            edits = []
            for left, right in itertools.pairwise(node.values):
                gap_start, gap_end = src.span(left)[1], src.span(right)[0]
                match = re.search(rf"\b{old}\b", src.text[gap_start:gap_end])
                if match is None:
                    break
                edits.append((gap_start + match.start(), gap_start + match.end(), new))
            if len(edits) == len(node.values) - 1:
                yield make("boolop", f"{old} -> {new}", edits,
                           functools.partial(_set_boolop, op=ast.Or if old == "and" else ast.And))
        elif isinstance(node, ast.Constant) and id(node) not in docstrings:
            changed = _mutated_constant(node.value)
            if changed is not None:
                value, text = changed
                start, end = src.span(node)
                yield make("constant", f"{_short(src.segment(node))} -> {text}", [(start, end, text)],
                           functools.partial(_set_value, value=value))
        elif isinstance(node, ast.Expr) and (
                isinstance(node.value, ast.Call)
                or (isinstance(node.value, ast.Await) and isinstance(node.value.value, ast.Call))):
            start, end = src.span(node)
            yield make("call", "call removed", [(start, end, "None")],
                       functools.partial(_set_value, value=None))
        elif isinstance(node, ast.Return) and node.value is not None:
            value_node = node.value
            if isinstance(value_node, ast.Constant) and value_node.value is None:
                continue
            new_value: Any = None
            if isinstance(value_node, ast.Constant) and isinstance(value_node.value, bool):
                new_value = not value_node.value
            start, end = src.span(value_node)
            yield make("return", f"return {_short(src.segment(value_node))} -> return {new_value!r}",
                       [(start, end, repr(new_value))], functools.partial(_set_value, value=new_value))


def _short(text: str, width: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _apply(text: str, edits: Sequence[tuple[int, int, str]]) -> str:
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def _dump(tree: ast.AST) -> str:
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _changed_dump(cand: _Candidate) -> str:
    """The dump of the candidate's statement with the change made to its node, which is then put back."""
    saved = {k: list(v) if isinstance(v, list) else v for k, v in vars(cand.node).items()}
    try:
        cand.change(cand.node)
        return _dump(cand.stmt)
    finally:
        cand.node.__dict__.clear()
        cand.node.__dict__.update(saved)


def _statement_at(tree: ast.AST, line: int, col: int) -> ast.stmt | None:
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno == line and node.col_offset == col:
            return node
    return None


def generate_mutants(text: str, file: str, lines: Iterable[int] | None = None) -> tuple[list[Mutant], int]:
    """The mutants of one file's ``text`` whose statement starts on one of ``lines`` (None: every line).

    Returns the mutants (ids empty; the caller numbers them) and how many were dropped because the
    change left the code identical, made it invalid, or duplicated another mutant.
    """
    tree = ast.parse(text)
    src = _Source(text)
    wanted = None if lines is None else set(lines)
    mutants: list[Mutant] = []
    seen: set[str] = set()
    dropped = 0
    for cand in list(_candidates(src, tree)):
        if wanted is not None and cand.stmt.lineno not in wanted:
            continue
        first_line = src.line_of(cand.start)
        last_line = src.line_of(max(end for _, end, _ in cand.edits))
        if any(PRAGMA in src.lines[n - 1] for n in range(first_line, last_line + 1)):
            continue
        new_text = _apply(text, cand.edits)
        try:
            new_tree = ast.parse(new_text)
        except (SyntaxError, ValueError):
            dropped += 1
            continue
        # The text edit must be exactly the intended change, and change something. Edits start inside
        # their statement, so it starts at the same place in the new tree; the text around is untouched.
        new_stmt = _statement_at(new_tree, cand.stmt.lineno, cand.stmt.col_offset)
        new_dump = None if new_stmt is None else _dump(new_stmt)
        if (new_dump is None or len(new_tree.body) != len(tree.body) or new_dump != _changed_dump(cand)
                or new_dump == _dump(cand.stmt) or new_text in seen):
            dropped += 1
            continue
        seen.add(new_text)
        old_lines = text.splitlines(keepends=True)
        new_lines = new_text.splitlines(keepends=True)
        delta = len(new_lines) - len(old_lines)
        original = "".join(src.lines[first_line - 1:last_line]).rstrip("\r\n")
        mutated = "".join(new_lines[first_line - 1:last_line + delta]).rstrip("\r\n")
        diff = "".join(difflib.unified_diff(old_lines, new_lines, f"a/{file}", f"b/{file}", n=2))
        col = cand.start - src.starts[first_line - 1]
        mutants.append(Mutant(id="", file=file, line=first_line, col=col, operator=cand.operator,
                              description=cand.description, original=original, mutated=mutated, diff=diff,
                              source=new_text, statement_line=cand.stmt.lineno))
    mutants.sort(key=lambda m: (m.line, m.col, OPERATORS.index(m.operator)))
    return mutants, dropped


def sample(mutants: Sequence[Mutant], max_mutants: int | None, seed: int) -> list[Mutant]:
    """At most ``max_mutants``, chosen by ``seed`` and spread evenly over (file, operator) groups.

    The same mutants and seed always give the same choice; the result keeps the input order.
    """
    if max_mutants is None or max_mutants >= len(mutants):
        return list(mutants)
    rng = random.Random(seed)
    groups: dict[tuple[str, str], list[int]] = {}
    for index, mutant in enumerate(mutants):
        groups.setdefault((mutant.file, mutant.operator), []).append(index)
    queues = []
    for key in sorted(groups):
        members = groups[key]
        rng.shuffle(members)
        queues.append(members)
    rng.shuffle(queues)
    picked: list[int] = []
    while len(picked) < max_mutants:
        for queue in queues:
            if queue and len(picked) < max_mutants:
                picked.append(queue.pop())
    return [mutants[i] for i in sorted(picked)]


# ------------------------------------------------------------------------------------- the project copy


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


def _write_source(root: Path, rel: str, data: bytes) -> None:
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


def _env(root: Path) -> dict[str, str]:
    """The environment of a test process in the copy ``root``: the copy first on the import path.

    Bytecode is cached, but only under the temporary folder (``PYTHONPYCACHEPREFIX``): the test files
    and unchanged modules then compile once, not once per mutant, and nothing is written elsewhere.
    """
    env = dict(os.environ)
    # the settings of an outer mcptest, pytest-xdist or pytest-cov run must not leak into the copy's runs
    for key in [k for k in env if k.startswith(("MCPTEST_", "PYTEST_XDIST", "COV_CORE_"))]:
        env.pop(key, None)
    for key in ("COVERAGE_PROCESS_START", "PYTEST_CURRENT_TEST", "PYTHONDONTWRITEBYTECODE"):
        env.pop(key, None)
    env["PYTHONPATH"] = os.pathsep.join([str(root), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["PYTHONPYCACHEPREFIX"] = str(root.parent / "pycache")
    return env


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=10)


# --------------------------------------------------------------------------------------- baseline run


@dataclass
class _Baseline:
    tests: dict[str, float]  # passing node id -> duration
    suite_of: dict[str, str]  # node id -> suite name
    executed: dict[str, set[int]]  # file -> executed lines
    covering: dict[str, dict[int, list[str]]]  # file -> line -> passing node ids that ran it
    overhead: float  # seconds of a test process beyond its tests' own durations
    duration: float
    preload: list[str]  # installed modules the tests imported: a warm server imports them once


#: A pytest plugin for the baseline run: it lists the modules the test process imported.
_PROBE = """\
import json, os, sys

def pytest_sessionfinish(session):
    out = os.environ.get("MCPTEST_MUTATE_PROBE")
    if out:
        modules = [[n, getattr(m, "__file__", None)] for n, m in list(sys.modules.items())]
        with open(out, "w", encoding="utf-8") as handle:
            json.dump(modules, handle)
"""


def _installed_roots() -> list[str]:
    paths = sysconfig.get_paths()
    roots = {os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    return sorted(roots)


def _preloadable(probes: Sequence[Path]) -> list[str]:
    """Modules of the standard library and site-packages that the baseline imported, in import order."""
    roots = _installed_roots()
    names: dict[str, None] = {}
    for probe in probes:
        with contextlib.suppress(OSError, ValueError):
            for name, file in json.loads(probe.read_text(encoding="utf-8")):
                if not file or name.startswith(("coverage", "mcptest", "_mcptest")) or name == "__main__":
                    continue
                real = os.path.realpath(file)
                if any(real.startswith(r + os.sep) for r in roots):
                    names[name] = None
    return list(names)


def _run_baseline(config: Config, copy_config: Config, planned: list[tuple[SuiteConfig, list[str]]],
                  tmp: Path, emit: EventHandler) -> _Baseline:
    root = copy_config.root
    tests: dict[str, float] = {}
    suite_of: dict[str, str] = {}
    failed: list[str] = []
    data_files = []
    probes = []
    probe_dir = tmp / "probe"
    probe_dir.mkdir()
    (probe_dir / "_mcptest_mutate_probe.py").write_text(_PROBE, encoding="utf-8")
    started = time.monotonic()
    for suite, paths in planned:
        data_file = tmp / f"baseline-{suite.name}.coverage"
        events = tmp / f"baseline-{suite.name}.events.jsonl"
        log = tmp / f"baseline-{suite.name}.log"
        options = RunOptions(suite=suite.name, contexts=True, preflight=False,
                             pytest_args=["-p", "no:cacheprovider", "-p", "_mcptest_mutate_probe",
                                          f"--rootdir={root}"])  # node ids relative to the copy's root
        cmd = pytest_command(copy_config, suite, paths, options, data_file)
        env = _env(root)
        probes.append(tmp / f"modules-{suite.name}.json")
        env["PYTHONPATH"] += os.pathsep + str(probe_dir)
        env.update({"MCPTEST_MUTATE_PROBE": str(probes[-1]), "MCPTEST_EVENTS": str(events),
                    "MCPTEST_CONTEXTS": "1", "MCPTEST_SUITE": suite.name,
                    "MCPTEST_COV_DATA": str(data_file), "MCPTEST_COV_SOURCE": ",".join(config.source),
                    "MCPTEST_COV_BRANCH": "1" if config.coverage.branch else "0",
                    "MCPTEST_REQ_MARKER": config.report.requirement_marker})
        emit("baseline-start", {"suite": suite.name, "paths": list(paths), "command": cmd})
        suite_started = time.monotonic()
        with open(log, "wb") as out:
            proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            try:
                code = proc.wait()
            finally:
                if proc.poll() is None:
                    _kill(proc)
        collect_errors = []
        finished = False
        count = 0
        if events.exists():
            for line in events.read_text(encoding="utf-8").splitlines():
                with contextlib.suppress(json.JSONDecodeError):
                    event = json.loads(line)
                    if event.get("event") == "test":
                        count += 1
                        if event["outcome"] == "passed":
                            tests[event["nodeid"]] = float(event.get("duration") or 0.0)
                            suite_of[event["nodeid"]] = suite.name
                        elif event["outcome"] in ("failed", "error"):
                            failed.append(event["nodeid"])
                    elif event.get("event") == "collect_error":
                        collect_errors.append(event.get("nodeid") or "(session)")
                    elif event.get("event") == "finish":
                        finished = True
        tail = "\n".join(log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-15:])
        if not finished or collect_errors or code not in (0, 1):
            where = f", collection errors in {', '.join(collect_errors)}" if collect_errors else ""
            raise BaselineFailed(f"suite {suite.name}: the unmodified code did not run to a clean end in the "
                                 f"temporary copy (pytest exit {code}{where}):\n{tail}")
        if failed:
            raise BaselineFailed(f"suite {suite.name}: {len(failed)} test(s) fail on the unmodified code; "
                                 f"mutation testing needs a passing suite: {', '.join(failed[:5])}")
        parts = sorted(tmp.glob(data_file.name + ".*"))
        if parts:  # xdist workers measured themselves
            covdata.combine([data_file, *parts], data_file)
        if data_file.exists():
            data_files.append(data_file)
        emit("baseline-end", {"suite": suite.name, "tests": count,
                              "duration": time.monotonic() - suite_started})
    duration = time.monotonic() - started
    if not tests:
        raise NoDataError("no test passed in the baseline run, so no mutant can be judged")
    data = data_files[0] if len(data_files) == 1 else covdata.combine(data_files, tmp / "baseline.coverage")
    raw = covdata.read_json(copy_config, data, contexts=True) if data_files else None
    if raw is None or not raw.get("files"):
        raise NoDataError(f"coverage measured no file of source {config.source} in the temporary copy "
                          "(do the tests import the code from the project folder?)")
    for name in raw["files"]:
        if Path(name).is_absolute() and not Path(name).resolve().is_relative_to(root.resolve()):
            raise McptestError(f"the tests ran {name}, outside the temporary copy: mutants would not be seen")
    report, contexts = covdata.build_report(copy_config, raw, branch=config.coverage.branch)
    executed = {f.path: set(f.executed_lines) for f in report.files}
    covering: dict[str, dict[int, list[str]]] = {}
    for path, by_line in contexts.items():
        covering[path] = {int(line): [n for n in names if n in tests] for line, names in by_line.items()}
    overhead = max(0.0, duration - sum(tests.values())) / max(1, len(planned))
    return _Baseline(tests, suite_of, executed, covering, overhead, duration, _preloadable(probes))


# ------------------------------------------------------------------------------------------ mutant runs

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


class _ServerDied(Exception):
    """The warm test server ended while a mutant was running through it."""


class _Server:
    """The parent's handle on one warm test server."""

    def __init__(self, root: Path, preload: Path, log: Path) -> None:
        with open(log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-c", _SERVER, str(root), str(preload)], cwd=root,
                                         env=_env(root), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
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
            time.sleep(_POLL)
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
            raise _ServerDied()
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
        _kill(self.proc)
        with contextlib.suppress(OSError):
            if self.proc.stdout is not None:
                self.proc.stdout.close()


@dataclass
class _Slot:
    """One copy of the project with at most one mutant applied and its tests running."""

    root: Path
    log: Path
    server: _Server | None = None
    mutant: Mutant | None = None
    commands: deque[list[str]] = field(default_factory=deque)
    proc: subprocess.Popen[bytes] | None = None  # a cold run
    warm: bool = False  # this mutant runs through the server
    by_file: bool = False  # running the covering tests' files, not their ids
    killed: bool = False  # past its deadline: killed, waiting for the server to say so
    started: float = 0.0
    deadline: float = 0.0
    original: bytes = b""

    def launch(self) -> None:
        args = self.commands.popleft()
        if self.warm:
            assert self.server is not None
            # plugins the server imported early cannot have their own asserts rewritten; pytest warns
            # about that (an error under filterwarnings=error), though it changes no test outcome
            self.server.submit(["-W", "ignore::pytest.PytestAssertRewriteWarning", *args], self.log)
            return
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "pytest", *args], cwd=self.root,
                                         env=_env(self.root), stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def poll(self) -> int | None:
        if self.warm:
            assert self.server is not None
            return self.server.poll()
        assert self.proc is not None
        return self.proc.poll()

    def kill(self) -> None:
        if self.warm and self.server is not None:
            self.server.kill_child()
        elif self.proc is not None:
            _kill(self.proc)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            _kill(self.proc)
        if self.server is not None:
            self.server.close()


_FAILED_LINE = re.compile(r"^(?:FAILED|ERROR) (.+?)(?: - .*)?$", re.MULTILINE)


def _judge(mutant: Mutant, code: int, log: Path) -> None:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    mutant.detail = lines[-1].strip("= ") if lines else None
    if code == 0:
        mutant.status = "survived"
        return
    if code in (1, 2) or code < 0:  # a failing test, a collection error, or a crash caused by the mutant
        mutant.status = "killed"
        found = _FAILED_LINE.search(text)
        mutant.killed_by = found.group(1) if found else None
        if code < 0:
            mutant.detail = f"test process killed by signal {-code}"
        return
    mutant.status = "error"
    mutant.detail = f"pytest exit {code}: {mutant.detail}"


def _mutant_commands(config: Config, root: Path, mutant: Mutant, suite_of: dict[str, str],
                     by_file: bool = False) -> list[list[str]]:
    """pytest's arguments, one list per suite holding covering tests (several only with suite 'all').

    ``by_file`` names the covering tests' files instead of their node ids: a mutant can change the
    ids themselves (a parametrize id built from a mutated constant), so the ids are no longer found.
    """
    by_suite: dict[str, list[str]] = {}
    for nodeid in mutant.tests:
        target = nodeid.split("::")[0] if by_file else nodeid
        if target not in by_suite.setdefault(suite_of[nodeid], []):
            by_suite[suite_of[nodeid]].append(target)
    no_cov = ["--no-cov"] if importlib.util.find_spec("pytest_cov") is not None else []
    return [["-x", "-q", "-p", "no:cacheprovider", f"--rootdir={root}", *no_cov, *config.suites[name].pytest_args,
             *nodeids]
            for name, nodeids in by_suite.items()]


def _run_mutants(config: Config, slots: list[_Slot], mutants: list[Mutant], suite_of: dict[str, str],
                 emit: EventHandler) -> None:
    pending = deque(m for m in mutants if m.status == "pending")
    total = len(mutants)
    done = total - len(pending)

    def start(slot: _Slot, mutant: Mutant, warm: bool, by_file: bool = False) -> None:
        slot.mutant, slot.warm, slot.killed, slot.by_file = mutant, warm, False, by_file
        slot.commands = deque(_mutant_commands(config, slot.root, mutant, suite_of, by_file))
        slot.started = time.monotonic()
        slot.deadline = slot.started + mutant.timeout
        slot.launch()

    def finish(slot: _Slot, code: int | None) -> None:
        nonlocal done
        mutant = slot.mutant
        assert mutant is not None
        _write_source(slot.root, mutant.file, slot.original)
        mutant.duration = time.monotonic() - slot.started
        if code is None:
            mutant.status = "timeout"
            mutant.detail = f"no result within {mutant.timeout:.1f}s"
        else:
            _judge(mutant, code, slot.log)
        slot.proc, slot.mutant = None, None
        done += 1
        emit("mutant-end", {"mutant": mutant, "done": done, "total": total})

    while pending or any(s.mutant is not None for s in slots):
        for slot in slots:
            if slot.mutant is None and pending:
                mutant = pending.popleft()
                slot.original = (slot.root / mutant.file).read_bytes()
                emit("mutant-start", {"mutant": mutant, "done": done, "total": total})
                _write_source(slot.root, mutant.file, _encode(mutant.source, slot.original))
                server = slot.server
                warm = server is not None and server.tainted is not None and mutant.file not in server.tainted
                start(slot, mutant, warm)
        for slot in slots:
            if slot.mutant is None:
                continue
            try:
                code = slot.poll()
            except _ServerDied:  # carry on without it: this mutant and the next ones run cold
                assert slot.server is not None
                slot.server.close()
                slot.server = None
                start(slot, slot.mutant, warm=False)
                continue
            if code is None:
                if not slot.killed and time.monotonic() > slot.deadline:
                    slot.kill()
                    slot.killed = True
                    if not slot.warm:
                        finish(slot, None)
                continue
            if slot.killed:  # the warm child was stopped: confirm the timeout in a fresh interpreter
                start(slot, slot.mutant, warm=False)
                continue
            if code == _PYTEST_USAGE_ERROR and not slot.by_file:  # test ids not found: run their files
                start(slot, slot.mutant, slot.warm, by_file=True)
                continue
            if code == 0 and slot.commands:  # survived this suite's tests: try the next suite's
                slot.launch()
                continue
            finish(slot, code)
        time.sleep(_POLL)


def _encode(text: str, like: bytes) -> bytes:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(like).readline)
    return text.encode(encoding)


def _decode(data: bytes) -> str:
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    return data.decode(encoding)


# ---------------------------------------------------------------------------------------------- the API


def _selected_files(config: Config, modules: Sequence[str], executed: dict[str, set[int]]) -> list[str]:
    if not modules:
        return sorted(executed)
    globs = [g for name in modules for g in config.modules[name].files]
    return sorted(p for p in executed if any(glob_match(g, p) for g in globs))


def default_workers() -> int:
    """One test process per CPU, at most 4: mutant runs are short and mostly CPU-bound."""
    return max(1, min(4, os.cpu_count() or 1))


def run_mutations(config: Config, *, suite: str = "unit", modules: Sequence[str] = (),
                  max_mutants: int | None = None, seed: int = 0, workers: int | None = None,
                  timeout_factor: float = _TIMEOUT_FACTOR, timeout_base: float = _TIMEOUT_BASE,
                  warm: bool = True, on_event: EventHandler | None = None) -> MutationResult:
    """Mutate the covered lines of the selected modules and run each mutant against its covering tests.

    Works on a temporary copy of the project; the project itself is only read. Raises UsageError for an
    unknown suite or module, BaselineFailed when the suite fails on the unmodified code, NoDataError
    when nothing was measured. ``KeyboardInterrupt`` propagates after the copy is removed.
    """
    emit: EventHandler = on_event or (lambda kind, data: None)
    if max_mutants is not None and max_mutants < 0:
        raise UsageError(f"--max must be 0 or more, not {max_mutants}")
    workers = workers or default_workers()
    if workers < 1:
        raise UsageError(f"workers must be 1 or more, not {workers}")
    planned = plan(config, RunOptions(suite=suite, modules=list(modules)))
    result = MutationResult(suite=suite, modules=list(modules), seed=seed, max_mutants=max_mutants,
                            workers=workers)
    for s, _ in planned:
        if s.requires:
            result.warnings.append(f"suite {s.name} requires bridges ({', '.join(s.requires)}); "
                                   "mutation runs do no preflight")
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="mcptest-mutate-"))
    slots: list[_Slot] = []
    try:
        first = copy_project(config, tmp / "copy-0")
        copy_config = replace(config, root=first, path=first / config.path.name)
        emit("copied", {"root": str(first)})
        baseline = _run_baseline(config, copy_config, planned, tmp, emit)
        result.baseline_tests = len(baseline.tests)
        result.baseline_duration = baseline.duration
        result.files = _selected_files(config, modules, baseline.executed)
        if not result.files:
            raise NoDataError(f"no measured source file belongs to module(s) {', '.join(modules)}")
        everything = list(baseline.tests)
        all_mutants: list[Mutant] = []
        for rel in result.files:
            text = _decode((first / rel).read_bytes())
            try:
                found, dropped = generate_mutants(text, rel, baseline.executed[rel])
            except SyntaxError as exc:
                result.warnings.append(f"{rel} was not mutated: {exc}")
                continue
            result.skipped += dropped
            covering = baseline.covering.get(rel, {})
            for mutant in found:
                names = covering.get(mutant.statement_line, [])
                if names:
                    mutant.tests = list(names)
                else:  # run only while importing: any test of the selection may notice
                    mutant.import_time, mutant.tests = True, list(everything)
                if not mutant.tests:
                    mutant.status = "no-tests"
            all_mutants += found
        for number, mutant in enumerate(all_mutants, 1):
            mutant.id = f"m{number}"
        result.candidates = len(all_mutants)
        chosen = sample(all_mutants, max_mutants, seed)
        for mutant in chosen:
            seconds = sum(baseline.tests[t] for t in mutant.tests)
            mutant.timeout = timeout_factor * seconds + timeout_base + baseline.overhead
        emit("planned", {"candidates": result.candidates, "selected": len(chosen),
                         "files": list(result.files)})
        (tmp / "logs").mkdir()
        slots.append(_Slot(root=first, log=tmp / "logs" / "slot-0.log"))
        for n in range(1, min(workers, len(chosen))):
            extra = tmp / f"copy-{n}"
            shutil.copytree(first, extra, symlinks=True)
            slots.append(_Slot(root=extra, log=tmp / "logs" / f"slot-{n}.log"))
        if warm and hasattr(os, "fork") and chosen:
            preload = tmp / "preload.json"
            preload.write_text(json.dumps(baseline.preload), encoding="utf-8")
            for n, slot in enumerate(slots):
                slot.server = _Server(slot.root, preload, tmp / "logs" / f"server-{n}.log")
            deadline = time.monotonic() + 60
            for slot in slots:
                if slot.server is not None and not slot.server.wait_ready(deadline):
                    result.warnings.append("the warm test server did not start; mutants ran in fresh processes")
                    slot.server.close()
                    slot.server = None
        result.mutants = chosen
        _run_mutants(config, slots, chosen, baseline.suite_of, emit)
    finally:
        for slot in slots:
            slot.close()
        shutil.rmtree(tmp, ignore_errors=True)
        result.duration = time.monotonic() - started
    return result

