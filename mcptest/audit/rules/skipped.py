"""``skipped``: a test skipped unconditionally.

``@pytest.mark.skip``, ``skipif`` with a true constant or without a condition, ``@unittest.skip``,
``skipIf(True)``/``skipUnless(False)``, ``pytest.skip(...)`` or ``self.skipTest(...)`` at the top level
of the test body; on a ``Test`` class, in a module or class ``pytestmark``, and module-level
``pytest.skip(..., allow_module_level=True)``.
"""

from __future__ import annotations

import ast

from mcptest.audit.astutil import FuncNode, literal, snippet, span
from mcptest.audit.context import Module
from mcptest.audit.rule import Rule


def _skip_reason(module: Module, mark: ast.expr) -> str | None:
    """Why the decorator or mark ``mark`` skips unconditionally, or None."""
    qual = module.decorator_qual(mark)
    args = mark.args if isinstance(mark, ast.Call) else []
    keywords = {kw.arg: kw.value for kw in mark.keywords} if isinstance(mark, ast.Call) else {}
    if qual in ("pytest.mark.skip", "unittest.skip"):
        return f"@{qual} skips it unconditionally"
    if qual == "pytest.mark.skipif":
        conditions = [*args, *([keywords["condition"]] if "condition" in keywords else [])]
        if not conditions:
            return "@pytest.mark.skipif without a condition skips it unconditionally"
        for cond in conditions:
            ok, value = literal(cond)
            if ok and not isinstance(value, str) and value:
                return f"@pytest.mark.skipif({snippet(cond)}) skips it unconditionally"
    if qual in ("unittest.skipIf", "unittest.skipUnless") and args:
        ok, value = literal(args[0])
        if ok and bool(value) == (qual == "unittest.skipIf"):
            return f"@{qual}({snippet(args[0])}) skips it unconditionally"
    return None


def _decorators(module: Module, node: FuncNode | ast.ClassDef, nodeid: str) -> None:
    for deco in node.decorator_list:
        reason = _skip_reason(module, deco)
        if reason is not None:
            module.add(RULE.id, deco.lineno, nodeid, reason, module.src.def_lines(node))


def _in_body(module: Module, fn: FuncNode, nodeid: str) -> None:
    for stmt in fn.body:
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
            qual = module.qual(stmt.value.func)
            if qual in ("pytest.skip", "self.skipTest"):
                module.add(RULE.id, stmt.lineno, nodeid, f"{qual}() at the top level of the test body", span(stmt))


def _pytestmark(module: Module, body: list[ast.stmt], nodeid: str | None) -> None:
    for stmt in body:
        if not isinstance(stmt, ast.Assign | ast.AnnAssign) or stmt.value is None:
            continue
        targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
        if not any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
            continue
        marks = stmt.value.elts if isinstance(stmt.value, ast.List | ast.Tuple) else [stmt.value]
        for mark in marks:
            reason = _skip_reason(module, mark)
            if reason is not None:
                where = "every test of the module" if nodeid is None else "every test of the class"
                text = reason.replace("skips it", f"skips {where}").replace("@", "pytestmark = ", 1)
                module.add(RULE.id, stmt.lineno, nodeid, text, span(stmt))


def _module_skip(module: Module) -> None:
    for stmt in module.src.tree.body:
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if isinstance(call, ast.Call) and module.qual(call.func) == "pytest.skip":
            reason = "pytest.skip() at module level skips every test of the module"
            module.add(RULE.id, stmt.lineno, None, reason, span(stmt))


def check(module: Module) -> None:
    for test in module.tests:
        _decorators(module, test.node, test.nodeid)
        _in_body(module, test.node, test.nodeid)
    for cls, nodeid in module.test_classes:
        _decorators(module, cls, nodeid)
        _pytestmark(module, cls.body, nodeid)
    _pytestmark(module, module.src.tree.body, None)
    _module_skip(module)


RULE = Rule(
    "skipped",
    "test skipped unconditionally",
    "a test that never runs is counted but guards nothing, and is soon forgotten",
    "make the skip conditional (skipif with a real condition), fix the test, or delete it",
    check=check,
)
