"""What the rules look at: one parsed file with its tests, helpers and fixtures, and its imports resolved.

Tests are module-level ``def test_*``/``async def test_*`` and ``test_*`` methods of classes named
``Test*`` (nested ``Test*`` classes included). Fixtures are functions decorated with ``pytest.fixture``
(or ``pytest_asyncio.fixture``); every other function, and every method of a class that is not a test
class, is a helper that a test may call.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mcptest.audit.astutil import FuncNode, params, placeholder
from mcptest.audit.source import Source

if TYPE_CHECKING:
    from mcptest.audit.result import Out

_FIXTURE_DECORATORS = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})


@dataclass
class Fixture:
    name: str
    node: FuncNode
    src: Source
    params: list[str]
    placeholder: str | None  # what makes its body a placeholder, or None
    autouse: bool = False
    users: list[str] = field(default_factory=list)  # node ids of the tests that request it, maybe indirectly


@dataclass
class Func:
    node: FuncNode
    classes: tuple[ast.ClassDef, ...]
    nodeid: str

    @property
    def cls(self) -> ast.ClassDef | None:
        return self.classes[-1] if self.classes else None


@dataclass
class Project:
    """What the rules that look across files see: every fixture, and every string constant of the files."""

    out: Out
    fixtures: list[Fixture] = field(default_factory=list)
    strings: set[str] = field(default_factory=set)  # fixture names may be asked for by string (usefixtures)


@dataclass(frozen=True)
class Settings:
    """What the audit of one file depends on beyond the file: the naming rule and the suites collecting it."""

    naming: re.Pattern[str] | None = None
    suites: Mapping[str, str] = field(default_factory=dict)  # suite name -> its type (unit, integration, ...)

    def suites_of(self, *types: str) -> list[str]:
        return sorted(name for name, kind in self.suites.items() if kind in types)


class Module:
    """One parsed file, collected: its tests, helpers, fixtures and test classes."""

    def __init__(self, src: Source, out: Out, settings: Settings) -> None:
        self.src = src
        self.out = out
        self.settings = settings
        self.alias: dict[str, str] = {}
        self._read_imports()
        self.tests: list[Func] = []
        self.helpers: dict[tuple[str | None, str], Func] = {}  # (class name or None, function name)
        self.fixtures: dict[str, Fixture] = {}
        self.class_fixtures: dict[str, dict[str, Fixture]] = {}
        self.test_classes: list[tuple[ast.ClassDef, str]] = []
        self.classes: dict[str, ast.ClassDef] = {}
        self.closure: dict[str, list[Fixture]] = {}  # test node id -> the fixtures it gets (use_fixtures)
        self._collect(src.tree.body, ())

    def all_fixtures(self) -> list[Fixture]:
        return [*self.fixtures.values(), *(f for scope in self.class_fixtures.values() for f in scope.values())]

    def add(self, rule: str, line: int, test: str | None, reason: str, lines: Iterable[int] = ()) -> None:
        self.out.add(self.src, rule, self.src.rel, line, test, reason, lines)

    def test_of(self, node: ast.AST) -> str | None:
        """The node id of the test whose body holds ``node``, or None."""
        line = getattr(node, "lineno", 0)
        for test in self.tests:
            if test.node.lineno <= line <= (test.node.end_lineno or test.node.lineno):
                return test.nodeid
        return None

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

    def decorator_qual(self, deco: ast.expr) -> str | None:
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
                func = Func(stmt, classes, f"{prefix}::{stmt.name}")
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
                self.helpers[(cls.name, stmt.name)] = Func(stmt, (cls,), f"{self.src.rel}::{cls.name}::{stmt.name}")

    def _fixture(self, fn: FuncNode, *, method: bool) -> Fixture | None:
        for deco in fn.decorator_list:
            if self.decorator_qual(deco) not in _FIXTURE_DECORATORS:
                continue
            name, autouse = fn.name, False
            for kw in deco.keywords if isinstance(deco, ast.Call) else []:
                value = kw.value.value if isinstance(kw.value, ast.Constant) else None
                if kw.arg == "name" and isinstance(value, str):
                    name = value
                elif kw.arg == "autouse":
                    autouse = value is not False  # anything but a literal False may turn it on
            return Fixture(name, fn, self.src, params(fn, method=method), placeholder(fn.body, helper=True), autouse)
        return None

    # calls to helpers

    def method(self, cls: ast.ClassDef | None, name: str, seen: frozenset[str] = frozenset()) -> Func | None:
        """``self.name`` looked up in ``cls`` and, by name, in its bases defined in this module."""
        if cls is None or cls.name in seen:
            return None
        found = self.helpers.get((cls.name, name))
        if found is not None:
            return found
        for base in cls.bases:
            if isinstance(base, ast.Name) and base.id in self.classes:
                found = self.method(self.classes[base.id], name, seen | {cls.name})
                if found is not None:
                    return found
        return None

    def called_helper(self, call: ast.Call, cls: ast.ClassDef | None) -> Func | None:
        func = call.func
        if isinstance(func, ast.Name):
            return self.helpers.get((None, func.id))
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in ("self", "cls"):
            return self.method(cls, func.attr)
        return None

    # fixtures requested by tests

    def requested(self, test: Func) -> set[str]:
        """The fixture names a test asks for: its parameters (less those parametrize gives directly) and
        ``usefixtures`` marks on it, its classes or in their ``pytestmark``."""
        fn = test.node
        names = set(params(fn, method=test.cls is not None))
        direct: set[str] = set()
        marks = [*fn.decorator_list, *(d for c in test.classes for d in c.decorator_list)]
        for body in (self.src.tree.body, *(c.body for c in test.classes)):
            marks += _pytestmark(body)
        for deco in marks:
            if not isinstance(deco, ast.Call) or not deco.args:
                continue
            qual = self.decorator_qual(deco)
            if qual == "pytest.mark.usefixtures":
                names.update(_strings(deco.args))
            elif qual == "pytest.mark.parametrize":
                direct.update(_direct_argnames(deco))
        return names - direct

    def use_fixtures(self, conftests: list[dict[str, Fixture]]) -> None:
        """Record on every fixture which tests request it, directly, through other fixtures or by autouse;
        and for every test the fixtures it gets (``closure``)."""
        for test in self.tests:
            self.closure[test.nodeid] = self._use_fixtures(test, conftests)

    def _use_fixtures(self, test: Func, conftests: list[dict[str, Fixture]]) -> list[Fixture]:
        scopes: list[dict[str, Fixture]] = []
        for depth in range(len(test.classes), 0, -1):
            prefix = "::".join([self.src.rel, *(c.name for c in test.classes[:depth])])
            if prefix in self.class_fixtures:
                scopes.append(self.class_fixtures[prefix])
        scopes.append(self.fixtures)
        scopes.extend(conftests)
        wanted = self.requested(test) | {f.name for scope in scopes for f in scope.values() if f.autouse}
        todo = [(name, 0) for name in sorted(wanted)]
        got: dict[int, Fixture] = {}
        while todo:
            name, start = todo.pop()
            found = next(((scopes[i][name], i) for i in range(start, len(scopes)) if name in scopes[i]), None)
            if found is None or id(found[0]) in got:
                continue
            fixture, index = found
            got[id(fixture)] = fixture
            fixture.users.append(test.nodeid)
            todo.extend((p, index + 1 if p == fixture.name else 0) for p in fixture.params)
        return list(got.values())


def _strings(nodes: Iterable[ast.expr]) -> list[str]:
    return [n.value for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _pytestmark(body: list[ast.stmt]) -> list[ast.expr]:
    """The marks of a ``pytestmark = ...`` assignment in ``body`` (a module's or a class's)."""
    marks: list[ast.expr] = []
    for stmt in body:
        if isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in stmt.targets):
            marks += stmt.value.elts if isinstance(stmt.value, ast.List | ast.Tuple) else [stmt.value]
    return marks


def _direct_argnames(deco: ast.Call) -> set[str]:
    """The argnames of a parametrize mark that are given to the test directly (not ``indirect``)."""
    argnames = _argnames(deco.args[0])
    indirect = next((kw.value for kw in deco.keywords if kw.arg == "indirect"), None)
    if indirect is None or (isinstance(indirect, ast.Constant) and not indirect.value):
        return argnames
    if isinstance(indirect, ast.List | ast.Tuple):
        return argnames - set(_strings(indirect.elts))
    return set()  # indirect=True, or an expression: they may all go to fixtures


def _argnames(first: ast.expr) -> set[str]:
    if isinstance(first, ast.Constant) and isinstance(first.value, str):
        return {n.strip() for n in first.value.split(",")}
    if isinstance(first, ast.List | ast.Tuple):
        return set(_strings(first.elts))
    return set()
