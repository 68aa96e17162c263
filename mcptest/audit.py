"""Static audit of test files: tests that assert nothing, cannot fail, never run, or break conventions.

Everything here reads source with :mod:`ast` and never imports or runs the audited code. The core
returns an :class:`AuditResult`; the command line decides how to print it and which exit code to use.

Rules (ids are what ``# mcptest: ignore[...]`` takes):

``no-assert``
    A test with no assertion. These count as asserting: an ``assert`` or ``raise`` statement;
    ``pytest.raises``/``warns``/``deprecated_call``/``fail``; any call whose name starts with
    ``assert`` (``m.assert_called_once_with(...)``, ``self.assertEqual(...)``,
    ``np.testing.assert_allclose(...)``); a call to a checking helper, i.e. a function whose name
    starts with ``check_``, ``expect_`` or ``verify_`` (or is ``expect``/``fail``); and a call to a
    function or ``self.`` method defined in the same module that itself asserts by these rules.
``always-true``
    An assertion that cannot fail: a truthy constant or non-empty tuple (``assert (x, "msg")``),
    ``x or not x`` and other complementary pairs, ``x is True or x is False``, constants compared
    with each other, an expression compared with itself (without calls), and an assertion on a name
    that the same block bound to a literal just before with only literal assignments and call-free
    assertions in between (``x = 5`` then ``assert x == 5``).
``empty-test``
    A test whose body is only ``pass``, ``...``, ``return None`` and/or a docstring.
``placeholder``
    A fixture or helper whose body is a placeholder (``pass``, ``...``, ``return None``, a bare
    ``yield``, ``raise NotImplementedError``) that a test uses, by parameter name (fixtures from the
    module, its ``Test`` class or a ``conftest.py`` above it, followed through fixtures that request
    fixtures) or by a direct call (module functions and ``self.`` methods).
``not-wired``
    A test file (matching the test pattern) that no suite's paths collect.
``sleep-in-unit``
    ``time.sleep`` (any argument but a literal 0), or ``asyncio``/``anyio``/``trio.sleep`` with a
    non-zero constant, in a file that a unit suite collects.
``skipped``
    A test skipped unconditionally: ``@pytest.mark.skip``, ``skipif`` with a true constant or without
    a condition, ``@unittest.skip``, ``skipIf(True)``/``skipUnless(False)``, ``pytest.skip(...)`` or
    ``self.skipTest(...)`` at the top level of the test body; on a ``Test`` class, in a module or
    class ``pytestmark``, and module-level ``pytest.skip(..., allow_module_level=True)``.
``naming``
    A test name that does not match the naming convention (``re.fullmatch``). The default,
    :data:`DEFAULT_NAMING`, is ``test_<feature>_<scenario>_<expected>``: at least three
    underscore-separated words after ``test_``, e.g. ``test_login_bad_password_rejected``.
``syntax-error`` / ``unreadable``
    A test file (or ``conftest.py``) that does not parse, or cannot be read or decoded.

Tests are module-level ``def test_*``/``async def test_*`` and ``test_*`` methods of classes named
``Test*`` (nested ``Test*`` classes included).

Silencing: ``# mcptest: ignore[rule-id]`` (several ids separated by commas) or ``# mcptest: ignore``
(every rule) on the line of a finding. For findings about a whole test, fixture, helper or class,
the comment may be on the ``def``/``class`` header or on one of its decorator lines; for statements
spanning lines, on any of their lines; for ``not-wired``, anywhere above the first statement that is
not the module docstring.
"""

from __future__ import annotations

import ast
import fnmatch
import glob
import io
import operator
import os
import re
import tokenize
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest.config_model import Config
from mcptest.errors import ConfigError

FORMAT_VERSION = 1

#: Every rule id and what it catches, in report order.
RULES: dict[str, str] = {
    "no-assert": "test asserts nothing",
    "always-true": "assertion cannot fail",
    "empty-test": "test body is only pass, ... or a docstring",
    "placeholder": "fixture or helper used by tests is a placeholder",
    "not-wired": "test file is collected by no suite",
    "sleep-in-unit": "sleep in a unit suite",
    "skipped": "test skipped unconditionally",
    "naming": "test name breaks the naming convention",
    "syntax-error": "file does not parse",
    "unreadable": "file cannot be read or decoded",
}
_RULE_ORDER = {rule: i for i, rule in enumerate(RULES)}

#: ``test_<feature>_<scenario>_<expected>``: ``test_`` and at least three underscore-separated words.
DEFAULT_NAMING = r"test_[A-Za-z0-9]+(?:_[A-Za-z0-9]+){2,}"
DEFAULT_TEST_PATTERN: tuple[str, ...] = ("test_*.py", "*_test.py")
#: Directory names (globs) never searched for test files, after pytest's ``norecursedirs`` default.
DEFAULT_IGNORE_DIRS: tuple[str, ...] = (
    ".*",
    "*.egg",
    "*.egg-info",
    "_darcs",
    "CVS",
    "{arch}",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "__pycache__",
    "venv",
)

_CHECK_PREFIXES = ("assert", "check_", "expect_", "verify_")
_CHECK_NAMES = frozenset({"expect", "fail"})
_PYTEST_CHECKS = frozenset({"pytest.raises", "pytest.warns", "pytest.deprecated_call", "pytest.fail"})
_FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})
_ASYNC_SLEEPS = frozenset({"asyncio.sleep", "anyio.sleep", "trio.sleep"})
_IGNORE_RE = re.compile(r"mcptest:\s*ignore(?:\[([^\]]*)\])?")
_SNIPPET = 60

_FuncNode = ast.FunctionDef | ast.AsyncFunctionDef


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, where (root-relative posix path, 1-based line), which test, and why.

    ``test`` is the pytest node id of the test or ``Test`` class concerned; None for findings about a
    whole file, a fixture or a helper.
    """

    rule: str
    file: str
    line: int
    test: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "file": self.file,
            "line": self.line,
            "test": self.test,
            "reason": self.reason,
        }

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (
            self.file,
            self.line,
            _RULE_ORDER.get(self.rule, len(_RULE_ORDER)),
            self.test or "",
            self.reason,
        )


@dataclass
class AuditResult:
    """Findings sorted by file and line, files examined (tests and conftest.py), findings silenced."""

    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    suppressed: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Findings per rule, every rule present, in :data:`RULES` order."""
        counts = dict.fromkeys(RULES, 0)
        for finding in self.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return counts

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "files_scanned": self.files_scanned,
            "suppressed": self.suppressed,
            "counts": self.counts,
            "findings": [f.to_dict() for f in self.findings],
        }


def audit_config(
    config: Config,
    *,
    test_pattern: Sequence[str] = DEFAULT_TEST_PATTERN,
    naming: str | None = DEFAULT_NAMING,
    ignore_dirs: Sequence[str] = DEFAULT_IGNORE_DIRS,
) -> AuditResult:
    """Audit the suites of ``config``; unit suites are those with ``test_type: unit`` or named ``unit``."""
    suite_paths = {name: list(suite.paths) for name, suite in config.suites.items()}
    unit = [name for name, suite in config.suites.items() if suite.test_type == "unit" or name == "unit"]
    return audit_paths(
        config.root,
        suite_paths,
        test_pattern=test_pattern,
        naming=naming,
        unit_suites=unit,
        ignore_dirs=ignore_dirs,
    )


def audit_paths(
    root: Path,
    suite_paths: Mapping[str, Sequence[str]],
    *,
    test_pattern: Sequence[str] = DEFAULT_TEST_PATTERN,
    naming: str | None = DEFAULT_NAMING,
    unit_suites: Sequence[str] = ("unit",),
    ignore_dirs: Sequence[str] = DEFAULT_IGNORE_DIRS,
) -> AuditResult:
    """Audit every test file under ``root`` and under the suites' paths (relative to ``root``).

    ``suite_paths`` maps a suite name to its paths: folders, files, pytest node ids (the part after
    ``::`` is dropped) or globs. Raises :class:`ConfigError` for an invalid ``naming`` regex.
    """
    naming_re: re.Pattern[str] | None = None
    if naming is not None:
        try:
            naming_re = re.compile(naming)
        except re.error as exc:
            raise ConfigError(f"invalid regular expression {naming!r}: {exc}", key="naming") from None
    root = Path(os.path.abspath(root))
    suites = {name: _suite_targets(root, paths) for name, paths in suite_paths.items()}
    test_files, conftests = _discover(root, suites, tuple(test_pattern), tuple(ignore_dirs))
    out = _Out(root)

    conftest_fixtures: dict[Path, dict[str, _Fixture]] = {}
    for path in conftests:
        src = out.load(path)
        if src is not None:
            conftest_fixtures[path.parent] = _Module(src, out, naming_re, ()).fixtures

    unit = set(unit_suites)
    for path in test_files:
        owners = [name for name, targets in suites.items() if any(_covers(t, path) for t in targets)]
        rel = out.rel(path)
        src = out.load(path)
        if not owners:
            reason = "no suite collects this test file: add its folder to a suite's paths or delete it"
            lines = src.header_lines() if src is not None else {1}
            out.add(src, "not-wired", rel, 1, None, reason, lines)
        if src is None:
            continue
        module = _Module(src, out, naming_re, sorted(n for n in owners if n in unit))
        module.audit(_conftest_chain(path.parent, conftest_fixtures))

    for fixtures in conftest_fixtures.values():
        for fixture in fixtures.values():
            fixture.report(out)
    out.findings.sort(key=Finding.sort_key)
    return AuditResult(findings=out.findings, files_scanned=out.scanned, suppressed=out.suppressed)


# -- files ---------------------------------------------------------------------------------------------


def _suite_targets(root: Path, paths: Sequence[str]) -> list[Path]:
    targets: list[Path] = []
    for raw in paths:
        text = raw.split("::", 1)[0]
        if any(ch in text for ch in "*?["):
            matches = glob.glob(os.path.join(root, text), recursive=True)
            targets.extend(Path(os.path.normpath(p)) for p in sorted(matches))
        else:
            targets.append(Path(os.path.normpath(root / text)))
    return targets


def _covers(target: Path, path: Path) -> bool:
    return target == path or target in path.parents


def _ignored(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _walk(top: Path, ignore_dirs: tuple[str, ...]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(top):
        base = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not _ignored(d, ignore_dirs) and not (base / d / "pyvenv.cfg").exists()
        )
        for name in sorted(filenames):
            yield base / name


def _discover(
    root: Path, suites: Mapping[str, list[Path]], pattern: tuple[str, ...], ignore_dirs: tuple[str, ...]
) -> tuple[list[Path], list[Path]]:
    """Test files and conftest.py files under root and under every suite folder (which may lie elsewhere)."""
    tests: set[Path] = set()
    conftests: set[Path] = set()
    tops = [root]
    for targets in suites.values():
        for target in targets:
            if target.is_dir() and not _walked(root, target, ignore_dirs):
                tops.append(target)
            elif target.is_file() and target.suffix == ".py":
                tests.add(target)  # pytest collects a file named on its command line whatever its name
    for top in tops:
        for path in _walk(top, ignore_dirs):
            if path.name == "conftest.py":
                conftests.add(path)
            elif any(fnmatch.fnmatchcase(path.name, p) for p in pattern):
                tests.add(path)
    return sorted(tests), sorted(conftests)


def _walked(root: Path, target: Path, ignore_dirs: tuple[str, ...]) -> bool:
    """Whether walking ``root`` reaches ``target`` already (a suite folder may sit in an ignored one)."""
    if target != root and root not in target.parents:
        return False
    parts = target.relative_to(root).parts
    return not any(_ignored(part, ignore_dirs) for part in parts) and not any(
        (root.joinpath(*parts[:i]) / "pyvenv.cfg").exists() for i in range(1, len(parts) + 1)
    )


def _conftest_chain(start: Path, conftests: Mapping[Path, dict[str, _Fixture]]) -> list[dict[str, _Fixture]]:
    return [conftests[d] for d in (start, *start.parents) if d in conftests]


# -- source and output ---------------------------------------------------------------------------------


class _Source:
    """A parsed file: its tree, comments per line, and the last code token per line (for headers)."""

    def __init__(self, rel: str, text: str, tree: ast.Module) -> None:
        self.rel = rel
        self.tree = tree
        self.comments: dict[int, str] = {}
        self.last_token: dict[int, str] = {}
        skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type == tokenize.COMMENT:
                    self.comments[tok.start[0]] = tok.string
                elif tok.type not in skip and tok.type != tokenize.ENDMARKER:
                    self.last_token[tok.end[0]] = tok.string
        except (tokenize.TokenError, SyntaxError):  # pragma: no cover - ast.parse accepted the text
            self.comments = _naive_comments(text)

    def silenced(self, rule: str, lines: Iterable[int]) -> bool:
        for line in lines:
            comment = self.comments.get(line)
            if comment is None:
                continue
            for match in _IGNORE_RE.finditer(comment):
                if match.group(1) is None:
                    return True
                if rule in {r.strip() for r in match.group(1).split(",")}:
                    return True
        return False

    def header_lines(self) -> set[int]:
        """Lines above the first statement that is not the module docstring (at least line 1)."""
        body = self.tree.body
        if body and _is_docstring(body[0]):
            body = body[1:]
        last = body[0].lineno - 1 if body else max(self.comments, default=1)
        return set(range(1, max(last, 1) + 1))

    def def_lines(self, node: _FuncNode | ast.ClassDef) -> set[int]:
        """The decorator lines and the header of a def or class, up to the line of its colon."""
        lines = {d.lineno for d in node.decorator_list}
        lines.update(range(min(lines, default=node.lineno), node.lineno))  # comments between decorators
        parts: list[ast.AST] = (
            [*node.bases, *node.keywords] if isinstance(node, ast.ClassDef) else [node.args]
        )
        if not isinstance(node, ast.ClassDef) and node.returns is not None:
            parts.append(node.returns)
        ends = [getattr(n, "end_lineno", None) for part in parts for n in ast.walk(part)]
        end = max([node.lineno, *(e for e in ends if isinstance(e, int))])
        stop = node.body[0].lineno if node.body else end
        while end < stop and self.last_token.get(end) != ":":
            end += 1
        lines.update(range(node.lineno, end + 1))
        return lines


def _naive_comments(text: str) -> dict[int, str]:
    return {i: line[line.index("#") :] for i, line in enumerate(text.splitlines(), 1) if "#" in line}


class _Out:
    """Collects findings, applying the ignore comments and counting what they silence."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.findings: list[Finding] = []
        self.suppressed = 0
        self.scanned = 0

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return Path(os.path.relpath(path, self.root)).as_posix()

    def load(self, path: Path) -> _Source | None:
        """Read and parse one file; a file that cannot be read or parsed becomes a finding."""
        rel = self.rel(path)
        self.scanned += 1
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.add(None, "unreadable", rel, 1, None, f"cannot read the file: {exc.strerror or exc}")
            return None
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
            text = data.decode(encoding)
        except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
            self.add(None, "unreadable", rel, 1, None, f"cannot decode the file: {_one_line(str(exc))}")
            return None
        if text.startswith("\ufeff"):
            text = text[1:]
        try:
            with warnings.catch_warnings():
                # Invalid escapes and the like warn while parsing; under -W error they would abort the audit.
                warnings.simplefilter("ignore")
                tree = ast.parse(text, filename=rel)
        except SyntaxError as exc:
            msg = f"does not parse: {exc.msg}; pytest fails to collect it"
            self.add(None, "syntax-error", rel, exc.lineno or 1, None, msg)
            return None
        except ValueError as exc:  # null bytes on Python 3.11
            self.add(None, "syntax-error", rel, 1, None, f"does not parse: {_one_line(str(exc))}")
            return None
        return _Source(rel, text, tree)

    def add(
        self,
        src: _Source | None,
        rule: str,
        file: str,
        line: int,
        test: str | None,
        reason: str,
        lines: Iterable[int] = (),
    ) -> None:
        if src is not None and src.silenced(rule, {line, *lines}):
            self.suppressed += 1
            return
        self.findings.append(Finding(rule, file, line, test, reason))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _snippet(node: ast.AST) -> str:
    text = _one_line(ast.unparse(node))
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 3] + "..."


# -- small AST helpers ---------------------------------------------------------------------------------


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def _is_none(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


def _placeholder(body: list[ast.stmt], *, helper: bool) -> str | None:
    """What makes ``body`` a placeholder (e.g. ``"pass"``), or None if it does something.

    Tests: ``pass``, ``...``, ``return None`` and a docstring. Helpers and fixtures also: a bare
    ``yield`` and ``raise NotImplementedError``.
    """
    stmts = body[1:] if body and _is_docstring(body[0]) else body
    if not stmts:
        return "a docstring only"
    kinds: list[str] = []
    for stmt in stmts:
        kind: str | None = None
        if isinstance(stmt, ast.Pass):
            kind = "pass"
        elif isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is ...:
            kind = "..."
        elif isinstance(stmt, ast.Return) and _is_none(stmt.value):
            kind = "return None"
        elif helper and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Yield):
            kind = "a bare yield" if _is_none(stmt.value.value) else None
        elif helper and isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            kind = (
                "raise NotImplementedError"
                if isinstance(exc, ast.Name) and exc.id == "NotImplementedError"
                else None
            )
        if kind is None:
            return None
        kinds.append(kind)
    return ", ".join(dict.fromkeys(kinds))


def _literal(node: ast.expr) -> tuple[bool, Any]:
    """(True, value) if ``node`` is a literal that ``ast.literal_eval`` accepts."""
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call | ast.Await) for n in ast.walk(node))


def _same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a) == ast.dump(b)


def _last_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _params(fn: _FuncNode, *, method: bool) -> list[str]:
    args = [*fn.args.posonlyargs, *fn.args.args]
    if method and args:
        args = args[1:]
    return [a.arg for a in (*args, *fn.args.kwonlyargs)]


_COMPARE_OPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}
_SINGLETONS = (None, True, False, ...)
_COMPLEMENTS = {
    (ast.Eq, ast.NotEq),
    (ast.Is, ast.IsNot),
    (ast.In, ast.NotIn),
    (ast.Lt, ast.GtE),
    (ast.Gt, ast.LtE),
}


def _constant_compare(node: ast.Compare) -> bool | None:
    """The value of a comparison between literals, or None when it is not one (or cannot be judged)."""
    values = []
    for operand in (node.left, *node.comparators):
        ok, value = _literal(operand)
        if not ok:
            return None
        values.append(value)
    for op, left, right in zip(node.ops, values, values[1:], strict=False):
        try:
            if isinstance(op, ast.Is | ast.IsNot):
                if not any(left is s for s in _SINGLETONS) or not any(right is s for s in _SINGLETONS):
                    return None
                result = (left is right) == isinstance(op, ast.Is)
            else:
                result = bool(_COMPARE_OPS[type(op)](left, right))
        except Exception:
            return None
        if not result:
            return False
    return True


def _single_compare(node: ast.expr) -> tuple[ast.expr, ast.cmpop, ast.expr] | None:
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        return node.left, node.ops[0], node.comparators[0]
    return None


def _complementary(a: ast.expr, b: ast.expr) -> str | None:
    """Why ``a or b`` is always true (or accepts every outcome), or None."""
    for x, y in ((a, b), (b, a)):
        if isinstance(y, ast.UnaryOp) and isinstance(y.op, ast.Not) and _same(x, y.operand):
            return "is always true"
    ca, cb = _single_compare(a), _single_compare(b)
    if ca is None or cb is None or not _same(ca[0], cb[0]):
        return None
    ops = (type(ca[1]), type(cb[1]))
    if _same(ca[2], cb[2]) and (ops in _COMPLEMENTS or ops[::-1] in _COMPLEMENTS):
        return "is always true"
    consts = {c.value for c in (ca[2], cb[2]) if isinstance(c, ast.Constant) and isinstance(c.value, bool)}
    if consts == {True, False} and all(op in (ast.Is, ast.Eq) for op in ops):
        return "accepts both outcomes"
    return None


def _always_true(test: ast.expr) -> str | None:
    """Why the assertion ``assert test`` cannot fail, or None."""
    if isinstance(test, ast.Tuple) and test.elts:
        return "asserts a non-empty tuple, which is always true (was 'assert x, msg' meant?)"
    if isinstance(test, ast.List | ast.Set | ast.Dict | ast.Lambda):
        ok, value = _literal(test)
        if isinstance(test, ast.Lambda) or (ok and value) or (not ok and _nonempty_display(test)):
            return f"asserts '{_snippet(test)}', which is always true"
        return None
    if isinstance(test, ast.Constant):
        return f"asserts the constant {_snippet(test)}, which is always true" if test.value else None
    if (
        isinstance(test, ast.UnaryOp)
        and isinstance(test.op, ast.Not)
        and isinstance(test.operand, ast.Constant)
    ):
        return f"'{_snippet(test)}' is always true" if not test.operand.value else None
    if isinstance(test, ast.BoolOp):
        if isinstance(test.op, ast.Or):
            if any(_always_true(v) for v in test.values):
                return f"'{_snippet(test)}' is always true"
            for i, a in enumerate(test.values):
                for b in test.values[i + 1 :]:
                    why = _complementary(a, b)
                    if why:
                        return f"'{_snippet(test)}' {why}"
        elif all(_always_true(v) for v in test.values):
            return f"'{_snippet(test)}' is always true"
        return None
    if isinstance(test, ast.Compare):
        if _constant_compare(test):
            return f"'{_snippet(test)}' compares constants and is always true"
        single = _single_compare(test)
        if (
            single is not None
            and isinstance(single[1], ast.Eq | ast.Is | ast.LtE | ast.GtE)
            and _same(single[0], single[2])
            and not _has_call(test)
        ):
            return f"'{_snippet(test)}' compares an expression with itself"
    return None


def _nonempty_display(node: ast.expr) -> bool:
    if isinstance(node, ast.List | ast.Set):
        return bool(node.elts) and not any(isinstance(e, ast.Starred) for e in node.elts)
    if isinstance(node, ast.Dict):
        return any(k is not None for k in node.keys)
    return False


def _literal_binding(stmt: ast.stmt) -> list[str]:
    """The names that ``stmt`` binds to a literal (``x = 5``, ``a = b = {"k": 1}``, ``n: int = 3``)."""
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    else:
        return []
    if not all(isinstance(t, ast.Name) for t in targets) or not _literal(value)[0]:
        return []
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _statement_lists(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            seq = getattr(node, name, None)
            if isinstance(seq, list) and seq and isinstance(seq[0], ast.stmt):
                yield seq


# -- one module ----------------------------------------------------------------------------------------


@dataclass
class _Fixture:
    name: str
    node: _FuncNode
    src: _Source
    params: list[str]
    placeholder: str | None
    users: list[str] = field(default_factory=list)

    def report(self, out: _Out) -> None:
        if self.placeholder is None or not self.users:
            return
        reason = f"fixture '{self.name}' is a placeholder ({self.placeholder}) but {_who(self.users)} it"
        out.add(
            self.src,
            "placeholder",
            self.src.rel,
            self.node.lineno,
            None,
            reason,
            self.src.def_lines(self.node),
        )


@dataclass
class _Func:
    node: _FuncNode
    classes: tuple[ast.ClassDef, ...]
    nodeid: str

    @property
    def cls(self) -> ast.ClassDef | None:
        return self.classes[-1] if self.classes else None


class _Module:
    """The audit of one parsed file."""

    def __init__(
        self, src: _Source, out: _Out, naming: re.Pattern[str] | None, unit_suites: Sequence[str]
    ) -> None:
        self.src = src
        self.out = out
        self.naming = naming
        self.unit_suites = list(unit_suites)
        self.alias: dict[str, str] = {}
        self._read_imports()
        self.tests: list[_Func] = []
        self.helpers: dict[tuple[str | None, str], _Func] = {}  # (class name or None, function name)
        self.fixtures: dict[str, _Fixture] = {}
        self.class_fixtures: dict[str, dict[str, _Fixture]] = {}
        self.test_classes: list[tuple[ast.ClassDef, str]] = []
        self.classes: dict[str, ast.ClassDef] = {}
        self._collect(src.tree.body, ())

    # imports and names

    def _read_imports(self) -> None:
        for node in ast.walk(self.src.tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.alias[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.alias.setdefault(top, top)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    if a.name != "*":
                        self.alias[a.asname or a.name] = f"{node.module}.{a.name}"

    def qual(self, expr: ast.expr) -> str | None:
        """The dotted name of ``expr`` with imports resolved (``pt.mark.skip`` -> ``pytest.mark.skip``)."""
        parts: list[str] = []
        while isinstance(expr, ast.Attribute):
            parts.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        return ".".join([self.alias.get(expr.id, expr.id), *reversed(parts)])

    def _decorator_qual(self, deco: ast.expr) -> str | None:
        return self.qual(deco.func if isinstance(deco, ast.Call) else deco)

    # collection

    def _collect(self, body: list[ast.stmt], classes: tuple[ast.ClassDef, ...]) -> None:
        cls = classes[-1] if classes else None
        prefix = "::".join([self.src.rel, *(c.name for c in classes)])
        for stmt in body:
            if isinstance(stmt, ast.ClassDef):
                if not classes:
                    self.classes[stmt.name] = stmt
                if stmt.name.startswith("Test") and (not classes or classes[-1].name.startswith("Test")):
                    self.test_classes.append((stmt, f"{prefix}::{stmt.name}"))
                    self._collect(stmt.body, (*classes, stmt))
                elif not classes:
                    self._collect_methods(stmt)
            elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                func = _Func(stmt, classes, f"{prefix}::{stmt.name}")
                fixture = self._fixture(stmt, method=cls is not None)
                if fixture is not None:
                    scope = self.fixtures if cls is None else self.class_fixtures.setdefault(prefix, {})
                    scope[fixture.name] = fixture
                elif stmt.name.startswith("test_"):
                    self.tests.append(func)
                else:
                    self.helpers[(cls.name if cls else None, stmt.name)] = func

    def _collect_methods(self, cls: ast.ClassDef) -> None:
        """Methods of a non-test class, as helpers that a test class deriving from it may call."""
        for stmt in cls.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self.helpers[(cls.name, stmt.name)] = _Func(
                    stmt, (cls,), f"{self.src.rel}::{cls.name}::{stmt.name}"
                )

    def _fixture(self, fn: _FuncNode, *, method: bool) -> _Fixture | None:
        for deco in fn.decorator_list:
            if self._decorator_qual(deco) in _FIXTURE_DECORATORS:
                name = fn.name
                if isinstance(deco, ast.Call):
                    for kw in deco.keywords:
                        if (
                            kw.arg == "name"
                            and isinstance(kw.value, ast.Constant)
                            and isinstance(kw.value.value, str)
                        ):
                            name = kw.value.value
                params = _params(fn, method=method)
                return _Fixture(name, fn, self.src, params, _placeholder(fn.body, helper=True))
        return None

    # the audit

    def audit(self, conftests: list[dict[str, _Fixture]]) -> None:
        asserting = self._asserting_helpers()
        for test in self.tests:
            self._audit_test(test, asserting, conftests)
        for cls, nodeid in self.test_classes:
            self._skip_decorators(cls, nodeid)
            self._pytestmark(cls.body, nodeid)
        self._pytestmark(self.src.tree.body, None)
        self._module_skip()
        self._assertions()
        if self.unit_suites:
            self._sleeps()
        for fixture in self.fixtures.values():
            fixture.report(self.out)
        for scope in self.class_fixtures.values():
            for fixture in scope.values():
                fixture.report(self.out)
        self._placeholder_helpers()

    def _add(self, rule: str, line: int, test: str | None, reason: str, lines: Iterable[int] = ()) -> None:
        self.out.add(self.src, rule, self.src.rel, line, test, reason, lines)

    def _test_of(self, node: ast.AST) -> str | None:
        line = getattr(node, "lineno", 0)
        for test in self.tests:
            if test.node.lineno <= line <= (test.node.end_lineno or test.node.lineno):
                return test.nodeid
        return None

    # rule: no-assert

    def _method(
        self, cls: ast.ClassDef | None, name: str, seen: frozenset[str] = frozenset()
    ) -> _Func | None:
        """``self.name`` looked up in ``cls`` and, by name, in its bases defined in this module."""
        if cls is None or cls.name in seen:
            return None
        found = self.helpers.get((cls.name, name))
        if found is not None:
            return found
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id in self.classes:
                found = self._method(self.classes[base.id], name, seen | {cls.name})
                if found is not None:
                    return found
        return None

    def _called_helper(self, call: ast.Call, cls: ast.ClassDef | None) -> _Func | None:
        func = call.func
        if isinstance(func, ast.Name):
            return self.helpers.get((None, func.id))
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id in ("self", "cls")
        ):
            return self._method(cls, func.attr)
        return None

    def _checks(self, fn: _FuncNode, cls: ast.ClassDef | None, asserting: set[int]) -> bool:
        for node in ast.walk(fn):
            if isinstance(node, ast.Assert | ast.Raise):
                return True
            if not isinstance(node, ast.Call):
                continue
            if self.qual(node.func) in _PYTEST_CHECKS:
                return True
            name = _last_name(node.func)
            if name and (name.startswith(_CHECK_PREFIXES) or name in _CHECK_NAMES):
                return True
            helper = self._called_helper(node, cls)
            if helper is not None and id(helper.node) in asserting:
                return True
        return False

    def _asserting_helpers(self) -> set[int]:
        """Helpers of this module that assert, directly or through other such helpers (ids of their nodes)."""
        asserting: set[int] = set()
        changed = True
        while changed:
            changed = False
            for helper in self.helpers.values():
                if id(helper.node) not in asserting and self._checks(helper.node, helper.cls, asserting):
                    asserting.add(id(helper.node))
                    changed = True
        return asserting

    def _audit_test(self, test: _Func, asserting: set[int], conftests: list[dict[str, _Fixture]]) -> None:
        fn = test.node
        header = self.src.def_lines(fn)
        empty = _placeholder(fn.body, helper=False)
        if empty is not None:
            reason = f"the test body is only {empty}: it passes without testing anything"
            self._add("empty-test", fn.lineno, test.nodeid, reason, header)
        elif not self._checks(fn, test.cls, asserting):
            returns = any(isinstance(n, ast.Return) and not _is_none(n.value) for n in ast.walk(fn))
            reason = (
                "returns a value instead of asserting it (pytest ignores the return value)"
                if returns
                else "no assertion: no assert, pytest.raises/warns/fail, mock assert_* or checking helper"
            )
            self._add("no-assert", fn.lineno, test.nodeid, reason, header)
        self._skip_decorators(fn, test.nodeid)
        for stmt in fn.body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
                qual = self.qual(stmt.value.func)
                if qual in ("pytest.skip", "self.skipTest"):
                    reason = f"{qual}() at the top level of the test body"
                    self._add("skipped", stmt.lineno, test.nodeid, reason, _span(stmt))
        if self.naming is not None and not self.naming.fullmatch(fn.name):
            if self.naming.pattern == DEFAULT_NAMING:
                reason = f"'{fn.name}' is not test_<feature>_<scenario>_<expected> (3+ words after test_)"
            else:
                reason = f"'{fn.name}' does not match the naming pattern {self.naming.pattern!r}"
            self._add("naming", fn.lineno, test.nodeid, reason, header)
        self._use_fixtures(test, conftests)

    # rule: placeholder

    def _requested(self, test: _Func) -> set[str]:
        fn = test.node
        names = set(_params(fn, method=test.cls is not None))
        direct: set[str] = set()
        for deco in [*fn.decorator_list, *(d for c in test.classes for d in c.decorator_list)]:
            if not isinstance(deco, ast.Call) or not deco.args:
                continue
            qual = self._decorator_qual(deco)
            if qual == "pytest.mark.usefixtures":
                names.update(
                    a.value for a in deco.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
            elif qual == "pytest.mark.parametrize":
                first = deco.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    direct.update(n.strip() for n in first.value.split(","))
                elif isinstance(first, ast.List | ast.Tuple):
                    direct.update(
                        e.value
                        for e in first.elts
                        if isinstance(e, ast.Constant) and isinstance(e.value, str)
                    )
        return names - direct

    def _use_fixtures(self, test: _Func, conftests: list[dict[str, _Fixture]]) -> None:
        scopes: list[dict[str, _Fixture]] = []
        for depth in range(len(test.classes), 0, -1):
            prefix = "::".join([self.src.rel, *(c.name for c in test.classes[:depth])])
            if prefix in self.class_fixtures:
                scopes.append(self.class_fixtures[prefix])
        scopes.append(self.fixtures)
        scopes.extend(conftests)

        def lookup(name: str, start: int) -> tuple[_Fixture, int] | None:
            for index in range(start, len(scopes)):
                if name in scopes[index]:
                    return scopes[index][name], index
            return None

        todo = [(name, 0) for name in sorted(self._requested(test))]
        seen: set[int] = set()
        while todo:
            name, start = todo.pop()
            found = lookup(name, start)
            if found is None or id(found[0]) in seen:
                continue
            fixture, index = found
            seen.add(id(fixture))
            fixture.users.append(test.nodeid)
            todo.extend((p, index + 1 if p == fixture.name else 0) for p in fixture.params)

    def _placeholder_helpers(self) -> None:
        callers: dict[int, list[str]] = {}
        for test in self.tests:
            for node in ast.walk(test.node):
                if isinstance(node, ast.Call):
                    helper = self._called_helper(node, test.cls)
                    if helper is not None:
                        callers.setdefault(id(helper.node), []).append(test.nodeid)
        for helper in self.helpers.values():
            users = sorted(set(callers.get(id(helper.node), [])))
            what = _placeholder(helper.node.body, helper=True)
            if not users or what is None:
                continue
            reason = f"helper '{helper.node.name}' is a placeholder ({what}) but {_who(users, 'call')} it"
            self._add("placeholder", helper.node.lineno, None, reason, self.src.def_lines(helper.node))

    # rule: skipped

    def _skip_reason(self, mark: ast.expr) -> str | None:
        """Why the decorator or mark ``mark`` skips unconditionally, or None."""
        qual = self._decorator_qual(mark)
        args = mark.args if isinstance(mark, ast.Call) else []
        keywords = {kw.arg: kw.value for kw in mark.keywords} if isinstance(mark, ast.Call) else {}
        if qual in ("pytest.mark.skip", "unittest.skip"):
            return f"@{qual} skips it unconditionally"
        if qual == "pytest.mark.skipif":
            conditions = [*args, *([keywords["condition"]] if "condition" in keywords else [])]
            if not conditions:
                return "@pytest.mark.skipif without a condition skips it unconditionally"
            for cond in conditions:
                ok, value = _literal(cond)
                if ok and not isinstance(value, str) and value:
                    return f"@pytest.mark.skipif({_snippet(cond)}) skips it unconditionally"
        if qual in ("unittest.skipIf", "unittest.skipUnless") and args:
            ok, value = _literal(args[0])
            if ok and bool(value) == (qual == "unittest.skipIf"):
                return f"@{qual}({_snippet(args[0])}) skips it unconditionally"
        return None

    def _skip_decorators(self, node: _FuncNode | ast.ClassDef, nodeid: str) -> None:
        for deco in node.decorator_list:
            reason = self._skip_reason(deco)
            if reason is not None:
                self._add("skipped", deco.lineno, nodeid, reason, self.src.def_lines(node))

    def _pytestmark(self, body: list[ast.stmt], nodeid: str | None) -> None:
        for stmt in body:
            if not isinstance(stmt, ast.Assign | ast.AnnAssign) or stmt.value is None:
                continue
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
                continue
            marks = stmt.value.elts if isinstance(stmt.value, ast.List | ast.Tuple) else [stmt.value]
            for mark in marks:
                reason = self._skip_reason(mark)
                if reason is not None:
                    where = "every test of the module" if nodeid is None else "every test of the class"
                    text = reason.replace("skips it", f"skips {where}").replace("@", "pytestmark = ", 1)
                    self._add("skipped", stmt.lineno, nodeid, text, _span(stmt))

    def _module_skip(self) -> None:
        for stmt in self.src.tree.body:
            call = stmt.value if isinstance(stmt, ast.Expr) else None
            if isinstance(call, ast.Call) and self.qual(call.func) == "pytest.skip":
                reason = "pytest.skip() at module level skips every test of the module"
                self._add("skipped", stmt.lineno, None, reason, _span(stmt))

    # rule: always-true

    def _assertions(self) -> None:
        flagged: set[int] = set()
        for node in ast.walk(self.src.tree):
            if isinstance(node, ast.Assert):
                why = _always_true(node.test)
                if why is not None:
                    flagged.add(id(node))
                    self._add("always-true", node.lineno, self._test_of(node), why, _span(node))
        for seq in _statement_lists(self.src.tree):
            built: dict[str, int] = {}
            for stmt in seq:
                names_bound = _literal_binding(stmt)
                if names_bound:
                    built.update(dict.fromkeys(names_bound, stmt.lineno))
                    continue
                if not isinstance(stmt, ast.Assert) or _has_call(stmt.test):
                    built.clear()  # anything else (a call above all) may change what the names refer to
                    continue
                names = {n.id for n in ast.walk(stmt.test) if isinstance(n, ast.Name)}
                if id(stmt) in flagged or not names or not names <= built.keys():
                    continue
                shown = ", ".join(sorted(names))
                line = max(built[n] for n in names)
                reason = f"asserts on {shown}, set to a literal on line {line} just before: it tests nothing"
                self._add("always-true", stmt.lineno, self._test_of(stmt), reason, _span(stmt))

    # rule: sleep-in-unit

    def _sleeps(self) -> None:
        suites = ", ".join(self.unit_suites)
        for node in ast.walk(self.src.tree):
            if not isinstance(node, ast.Call):
                continue
            qual = self.qual(node.func)
            arg = node.args[0] if node.args else None
            zero = isinstance(arg, ast.Constant) and not isinstance(arg.value, bool) and arg.value == 0
            waits = qual == "time.sleep" or (qual in _ASYNC_SLEEPS and isinstance(arg, ast.Constant))
            if not waits or zero:
                continue
            reason = (
                f"{qual}({_snippet(arg) if arg else ''}) in unit suite {suites}: unit tests should not wait"
            )
            self._add("sleep-in-unit", node.lineno, self._test_of(node), reason, _span(node))


def _who(nodeids: Iterable[str], verb: str = "use") -> str:
    """``test_a uses`` or ``test_a and 2 more use``: the first test by node id and how many others."""
    names = sorted(set(nodeids))
    first = names[0].rsplit("::", 1)[-1]
    if len(names) == 1:
        return f"{first} {verb}s"
    return f"{first} and {len(names) - 1} more {verb}"


def _span(node: ast.stmt | ast.expr) -> range:
    return range(node.lineno, (node.end_lineno or node.lineno) + 1)
