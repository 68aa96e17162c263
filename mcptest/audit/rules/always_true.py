"""``always-true``: an assertion that cannot fail.

A truthy constant or non-empty tuple (``assert (x, "msg")``), ``x or not x`` and other complementary
pairs, ``x is True or x is False``, constants compared with each other, an expression compared with
itself (without calls), and an assertion on a name that the same block bound to a literal just before
with only literal assignments and call-free assertions in between (``x = 5`` then ``assert x == 5``).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from mcptest.audit.astutil import has_call, literal, same, snippet, span, statement_lists
from mcptest.audit.context import Module
from mcptest.audit.rule import Rule

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
        ok, value = literal(operand)
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
        if isinstance(y, ast.UnaryOp) and isinstance(y.op, ast.Not) and same(x, y.operand):
            return "is always true"
    ca, cb = _single_compare(a), _single_compare(b)
    if ca is None or cb is None or not same(ca[0], cb[0]):
        return None
    ops = (type(ca[1]), type(cb[1]))
    if same(ca[2], cb[2]) and (ops in _COMPLEMENTS or ops[::-1] in _COMPLEMENTS):
        return "is always true"
    consts = {c.value for c in (ca[2], cb[2]) if isinstance(c, ast.Constant) and isinstance(c.value, bool)}
    if consts == {True, False} and all(op in (ast.Is, ast.Eq) for op in ops):
        return "accepts both outcomes"
    return None


def _nonempty_display(node: ast.expr) -> bool:
    if isinstance(node, ast.List | ast.Set):
        return bool(node.elts) and not any(isinstance(e, ast.Starred) for e in node.elts)
    if isinstance(node, ast.Dict):
        return any(k is not None for k in node.keys)
    return False


def _bool_op(test: ast.BoolOp) -> str | None:
    if isinstance(test.op, ast.Or):
        if any(always_true(v) for v in test.values):
            return f"'{snippet(test)}' is always true"
        for i, a in enumerate(test.values):
            for b in test.values[i + 1 :]:
                why = _complementary(a, b)
                if why:
                    return f"'{snippet(test)}' {why}"
    elif all(always_true(v) for v in test.values):
        return f"'{snippet(test)}' is always true"
    return None


def _compare(test: ast.Compare) -> str | None:
    if _constant_compare(test):
        return f"'{snippet(test)}' compares constants and is always true"
    single = _single_compare(test)
    if (
        single is not None
        and isinstance(single[1], ast.Eq | ast.Is | ast.LtE | ast.GtE)
        and same(single[0], single[2])
        and not has_call(test)
    ):
        return f"'{snippet(test)}' compares an expression with itself"
    return None


def always_true(test: ast.expr) -> str | None:
    """Why the assertion ``assert test`` cannot fail, or None."""
    if isinstance(test, ast.Tuple) and test.elts:
        return "asserts a non-empty tuple, which is always true (was 'assert x, msg' meant?)"
    if isinstance(test, ast.List | ast.Set | ast.Dict | ast.Lambda):
        ok, value = literal(test)
        if isinstance(test, ast.Lambda) or (ok and value) or (not ok and _nonempty_display(test)):
            return f"asserts '{snippet(test)}', which is always true"
        return None
    if isinstance(test, ast.Constant):
        return f"asserts the constant {snippet(test)}, which is always true" if test.value else None
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Constant):
        return f"'{snippet(test)}' is always true" if not test.operand.value else None
    if isinstance(test, ast.BoolOp):
        return _bool_op(test)
    if isinstance(test, ast.Compare):
        return _compare(test)
    return None


def _literal_binding(stmt: ast.stmt) -> list[str]:
    """The names that ``stmt`` binds to a literal (``x = 5``, ``a = b = {"k": 1}``, ``n: int = 3``)."""
    if isinstance(stmt, ast.Assign):
        targets, value = stmt.targets, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        targets, value = [stmt.target], stmt.value
    else:
        return []
    if not all(isinstance(t, ast.Name) for t in targets) or not literal(value)[0]:
        return []
    return [t.id for t in targets if isinstance(t, ast.Name)]


def _self_built(module: Module, seq: list[ast.stmt], flagged: set[int]) -> None:
    """Assertions on names that the statements just before bound to literals."""
    built: dict[str, int] = {}
    for stmt in seq:
        names_bound = _literal_binding(stmt)
        if names_bound:
            built.update(dict.fromkeys(names_bound, stmt.lineno))
            continue
        if not isinstance(stmt, ast.Assert) or has_call(stmt.test):
            built.clear()  # anything else (a call above all) may change what the names refer to
            continue
        names = {n.id for n in ast.walk(stmt.test) if isinstance(n, ast.Name)}
        if id(stmt) in flagged or not names or not names <= built.keys():
            continue
        shown = ", ".join(sorted(names))
        line = max(built[n] for n in names)
        reason = f"asserts on {shown}, set to a literal on line {line} just before: it tests nothing"
        module.add(RULE.id, stmt.lineno, module.test_of(stmt), reason, span(stmt))


def check(module: Module) -> None:
    flagged: set[int] = set()
    for node in ast.walk(module.src.tree):
        if isinstance(node, ast.Assert):
            why = always_true(node.test)
            if why is not None:
                flagged.add(id(node))
                module.add(RULE.id, node.lineno, module.test_of(node), why, span(node))
    for seq in statement_lists(module.src.tree):
        _self_built(module, seq, flagged)


RULE = Rule(
    "always-true",
    "assertion cannot fail",
    "an assertion that holds whatever the code does checks nothing",
    "compare what the code under test returned with the value it should return",
    check=check,
)
