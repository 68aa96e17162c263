"""``unchecked-value``: a value a test computes or collects and then never looks at.

A name the test binds with ``=`` (or a function nested in it, through ``nonlocal``:
``race_detected = True`` in a worker thread) that nothing reads afterwards, or a collection that is only ever filled
(``errors.append(exc)``, ``seen.add(x)``, ``results[i] = r``) and never read. Names starting with
``_``, names declared ``global`` and tests that call ``locals()``, ``vars()``, ``eval`` or ``exec``
are left alone; so are names bound by unpacking, ``for``, ``with ... as`` and ``except ... as``.
"""

from __future__ import annotations

import ast
import re

from mcptest.audit.astutil import FuncNode, parents
from mcptest.audit.context import Module
from mcptest.audit.rule import Rule

#: Methods that only put something into a collection: calling them is not looking at it.
_FILLS = frozenset({"append", "appendleft", "extend", "extendleft", "add", "update", "insert", "put", "put_nowait",
                    "setdefault"})
_INTROSPECTION = frozenset({"locals", "vars", "eval", "exec"})
_NOQA = re.compile(r"#\s*noqa(?::\s*([A-Z0-9, ]+))?", re.IGNORECASE)


def _scopes(fn: FuncNode) -> list[tuple[ast.AST, set[str] | None]]:
    """The test's nodes and those of the functions nested in it, each with the names its bindings may
    count for: None (every name) in the test itself, only ``nonlocal`` ones in a nested function. Class
    bodies are left out (their names are attributes)."""
    out: list[tuple[ast.AST, set[str] | None]] = []
    todo: list[tuple[ast.AST, set[str] | None]] = [(child, None) for child in ast.iter_child_nodes(fn)]
    while todo:
        node, allowed = todo.pop()
        if isinstance(node, ast.ClassDef):
            continue
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            names = {n for sub in ast.walk(node) if isinstance(sub, ast.Nonlocal) for n in sub.names}
            allowed = names if allowed is None else allowed & names
        out.append((node, allowed))
        todo.extend((child, allowed) for child in ast.iter_child_nodes(node))
    return out


def _noqa(module: Module, line: int) -> bool:
    """``# noqa`` or ``# noqa: F841`` on the line: the project says the name is unused on purpose."""
    comment = module.src.comments.get(line, "")
    match = _NOQA.search(comment)
    return match is not None and (match.group(1) is None or "F841" in match.group(1))


def _bound(module: Module, fn: FuncNode) -> dict[str, int]:
    """Names bound by a plain ``name = ...`` / ``name: T = ...`` / ``name += ...`` -> first line.

    Left out: a name bound once to another name or attribute (an alias, often a type check), and a
    binding marked ``# noqa``.
    """
    out: dict[str, int] = {}
    kinds: dict[str, list[bool]] = {}  # per binding of the name: is it an alias?
    for node, allowed in _scopes(fn):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if _noqa(module, node.lineno):
            continue
        for target in targets:
            if not isinstance(target, ast.Name) or target.id.startswith("_"):
                continue
            if allowed is None or target.id in allowed:
                out[target.id] = min(out.get(target.id, node.lineno), node.lineno)
                alias = isinstance(value, ast.Name | ast.Attribute) and not isinstance(node, ast.AugAssign)
                kinds.setdefault(target.id, []).append(alias)
    return {name: line for name, line in out.items() if kinds[name] != [True]}


def _fill(node: ast.Name, up: dict[int, ast.AST]) -> str | None:
    """``errors.append`` when ``node`` is only filled there (a statement call or an item store), else None."""
    above = up.get(id(node))
    if isinstance(above, ast.Subscript) and above.value is node and isinstance(above.ctx, ast.Store):
        return f"{node.id}[...] ="
    if not (isinstance(above, ast.Attribute) and above.value is node and above.attr in _FILLS):
        return None
    call = up.get(id(above))
    if isinstance(call, ast.Call) and call.func is above and isinstance(up.get(id(call)), ast.Expr | ast.Lambda):
        return f"{node.id}.{above.attr}"
    return None


def check(module: Module) -> None:
    for test in module.tests:
        fn = test.node
        names = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
        if names & _INTROSPECTION:
            continue
        bound = _bound(module, fn)
        for node in ast.walk(fn):
            if isinstance(node, ast.Global):
                for name in node.names:
                    bound.pop(name, None)
        if not bound:
            continue
        up = parents(fn)
        fills: dict[str, list[str]] = {}
        read: set[str] = set()
        for node in ast.walk(fn):
            if isinstance(node, ast.Name) and node.id in bound and not isinstance(node.ctx, ast.Store):
                how = _fill(node, up) if isinstance(node.ctx, ast.Load) else None
                (fills.setdefault(node.id, []).append(how) if how else read.add(node.id))
        for name in sorted(set(bound) - read, key=lambda n: (bound[n], n)):
            if name in fills:
                how = fills[name][0]
                reason = f"'{name}' is filled ({how}) but never read: whatever it collects is never checked"
            else:
                reason = f"'{name}' is set (line {bound[name]}) but never read: the value is never checked"
            module.add(RULE.id, bound[name], test.nodeid, reason, module.src.def_lines(fn))


RULE = Rule(
    "unchecked-value",
    "value computed or collected for checking and never looked at",
    "a flag or a list of errors that no assertion reads lets the failure it was meant to catch pass silently",
    "assert on it (assert not errors, assert not race_detected), or remove it",
    check=check,
)
