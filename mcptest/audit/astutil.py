"""Small helpers on :mod:`ast` nodes shared by the audit rules."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from typing import Any

FuncNode = ast.FunctionDef | ast.AsyncFunctionDef

_SNIPPET = 60


def one_line(text: str) -> str:
    return " ".join(text.split())


def snippet(node: ast.AST) -> str:
    """The source of ``node`` on one line, cut to 60 characters."""
    text = one_line(ast.unparse(node))
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 3] + "..."


def span(node: ast.stmt | ast.expr) -> range:
    return range(node.lineno, (node.end_lineno or node.lineno) + 1)


def who(nodeids: Iterable[str], verb: str = "use") -> str:
    """``test_a uses`` or ``test_a and 2 more use``: the first test by node id and how many others."""
    names = sorted(set(nodeids))
    first = names[0].rsplit("::", 1)[-1]
    if len(names) == 1:
        return f"{first} {verb}s"
    return f"{first} and {len(names) - 1} more {verb}"


def is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def is_none(node: ast.expr | None) -> bool:
    return node is None or (isinstance(node, ast.Constant) and node.value is None)


def _placeholder_kind(stmt: ast.stmt, helper: bool) -> str | None:
    if isinstance(stmt, ast.Pass):
        return "pass"
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is ...:
        return "..."
    if isinstance(stmt, ast.Return) and is_none(stmt.value):
        return "return None"
    if helper and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Yield):
        return "a bare yield" if is_none(stmt.value.value) else None
    if helper and isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
            return "raise NotImplementedError"
    return None


def placeholder(body: list[ast.stmt], *, helper: bool) -> str | None:
    """What makes ``body`` a placeholder (e.g. ``"pass"``), or None if it does something.

    Tests: ``pass``, ``...``, ``return None`` and a docstring. Helpers and fixtures also: a bare
    ``yield`` and ``raise NotImplementedError``.
    """
    stmts = body[1:] if body and is_docstring(body[0]) else body
    if not stmts:
        return "a docstring only"
    kinds: list[str] = []
    for stmt in stmts:
        kind = _placeholder_kind(stmt, helper)
        if kind is None:
            return None
        kinds.append(kind)
    return ", ".join(dict.fromkeys(kinds))


def literal(node: ast.expr) -> tuple[bool, Any]:
    """(True, value) if ``node`` is a literal that ``ast.literal_eval`` accepts."""
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def has_call(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call | ast.Await) for n in ast.walk(node))


def same(a: ast.AST, b: ast.AST) -> bool:
    return ast.dump(a) == ast.dump(b)


def last_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def root_name(expr: ast.expr) -> str | None:
    """``m`` for ``m``, ``m.a.b`` and ``m.a().b``'s innermost name; None when it is not a name chain."""
    while isinstance(expr, ast.Attribute | ast.Subscript | ast.Call):
        expr = expr.func if isinstance(expr, ast.Call) else expr.value
    return expr.id if isinstance(expr, ast.Name) else None


def params(fn: FuncNode, *, method: bool) -> list[str]:
    args = [*fn.args.posonlyargs, *fn.args.args]
    if method and args:
        args = args[1:]
    return [a.arg for a in (*args, *fn.args.kwonlyargs)]


def statement_lists(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            seq = getattr(node, name, None)
            if isinstance(seq, list) and seq and isinstance(seq[0], ast.stmt):
                yield seq


def parents(tree: ast.AST) -> dict[int, ast.AST]:
    """id(node) -> its parent node, for every node below ``tree``."""
    out: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            out[id(child)] = node
    return out
