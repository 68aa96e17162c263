"""``no-assert``: a test with no assertion.

These count as asserting: an ``assert`` or ``raise`` statement; ``pytest.raises``/``warns``/
``deprecated_call``/``fail``; any call whose name starts with ``assert`` (``m.assert_called_once_with(...)``,
``self.assertEqual(...)``, ``np.testing.assert_allclose(...)``); a call to a checking helper, i.e. a
function whose name starts with ``check_``, ``expect_`` or ``verify_`` (or is ``expect``/``fail``); and a
call to a function or ``self.`` method defined in the same module that itself asserts by these rules.
"""

from __future__ import annotations

import ast

from mcptest.audit.astutil import FuncNode, is_none, last_name, placeholder
from mcptest.audit.context import Module
from mcptest.audit.rule import Rule

_CHECK_PREFIXES = ("assert", "check_", "expect_", "verify_")
_CHECK_NAMES = frozenset({"expect", "fail"})
_PYTEST_CHECKS = frozenset({"pytest.raises", "pytest.warns", "pytest.deprecated_call", "pytest.fail"})


def is_check(module: Module, call: ast.Call) -> bool:
    """Whether ``call`` checks by name: pytest.raises and the like, ``assert*``, ``check_*``, ``expect``."""
    if module.qual(call.func) in _PYTEST_CHECKS:
        return True
    name = last_name(call.func)
    return bool(name and (name.startswith(_CHECK_PREFIXES) or name in _CHECK_NAMES))


def checks(module: Module, fn: FuncNode, cls: ast.ClassDef | None, asserting: set[int]) -> bool:
    """Whether ``fn`` asserts: by statement, by a checking call, or through an asserting helper."""
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert | ast.Raise):
            return True
        if not isinstance(node, ast.Call):
            continue
        if is_check(module, node):
            return True
        helper = module.called_helper(node, cls)
        if helper is not None and id(helper.node) in asserting:
            return True
    return False


def asserting_helpers(module: Module) -> set[int]:
    """Helpers of the module that assert, directly or through other such helpers (ids of their nodes)."""
    asserting: set[int] = set()
    changed = True
    while changed:
        changed = False
        for helper in module.helpers.values():
            if id(helper.node) not in asserting and checks(module, helper.node, helper.cls, asserting):
                asserting.add(id(helper.node))
                changed = True
    return asserting


def check(module: Module) -> None:
    asserting = asserting_helpers(module)
    for test in module.tests:
        fn = test.node
        if placeholder(fn.body, helper=False) is not None:
            continue  # empty-test says so
        if checks(module, fn, test.cls, asserting):
            continue
        returns = any(isinstance(n, ast.Return) and not is_none(n.value) for n in ast.walk(fn))
        reason = (
            "returns a value instead of asserting it (pytest ignores the return value)"
            if returns
            else "no assertion: no assert, pytest.raises/warns/fail, mock assert_* or checking helper"
        )
        module.add(RULE.id, fn.lineno, test.nodeid, reason, module.src.def_lines(fn))


RULE = Rule(
    "no-assert",
    "test asserts nothing",
    "a test without an assertion passes whatever the code does, unless it raises",
    "assert on the result, or use pytest.raises for the error the code should raise",
    check=check,
)
