"""``self-called-mock``: a test whose only checks are on mocks that the code under test never touches.

A mock here is a name the test binds to ``Mock()``, ``MagicMock()``, ``AsyncMock()``,
``NonCallableMock()`` or ``create_autospec(...)``. It reaches the code under test when it is used in
any way but these: called as a statement by the test itself (``m.send("hi")``), configured
(``m.x.return_value = 1``, ``m.reset_mock()``), or read in an assertion (``assert m.called``,
``m.send.assert_called_once_with("hi")``, ``self.assertEqual(m.call_count, 1)``). Passing it to a
function, storing it anywhere, patching it in, returning it or using a call's result all count as
reaching the code, and keep the rule quiet, as does any check that is not on such a mock.
"""

from __future__ import annotations

import ast
import builtins

from mcptest.audit.astutil import FuncNode, last_name, parents, root_name
from mcptest.audit.context import Func, Module
from mcptest.audit.rule import Rule
from mcptest.audit.rules.no_assert import asserting_helpers, is_check

_FACTORIES = frozenset({"Mock", "MagicMock", "AsyncMock", "NonCallableMock", "NonCallableMagicMock", "create_autospec"})
#: Methods of a mock that configure it or check it rather than record a call.
_MOCK_API = frozenset({"reset_mock", "configure_mock", "attach_mock", "mock_add_spec"})
_BUILTINS = frozenset(dir(builtins))


def _new_mock_targets(node: ast.AST) -> list[ast.Name]:
    """The names ``node`` binds to a new mock (``m = Mock()``, ``a = b = MagicMock()``)."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return []
    value = node.value
    if not (isinstance(value, ast.Call) and last_name(value.func) in _FACTORIES):
        return []
    return [t for t in targets if isinstance(t, ast.Name)]


def _mocks(fn: FuncNode) -> set[str]:
    """Names the test binds only to a new mock, never to anything else (nor takes as a parameter)."""
    made: set[str] = set()
    direct: set[int] = set()  # the Name nodes bound to a new mock
    for node in ast.walk(fn):
        for target in _new_mock_targets(node):
            made.add(target.id)
            direct.add(id(target))
    other = {a.arg for a in ast.walk(fn) if isinstance(a, ast.arg)}
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del) and id(node) not in direct:
            other.add(node.id)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            other.update(node.names)
    return made - other


def _use(node: ast.Name, up: dict[int, ast.AST]) -> str:
    """How the test uses the mock ``node`` names: call, config, assert, read (in an assert) or escape."""
    chain: ast.AST = node
    while True:  # up to the whole m.a.b / m.call_args[0]
        above = up.get(id(chain))
        if not (isinstance(above, ast.Attribute | ast.Subscript) and above.value is chain):
            break
        chain = above
    parent = up.get(id(chain))
    if isinstance(chain, ast.Attribute | ast.Subscript) and isinstance(chain.ctx, ast.Store):
        return "config"
    if isinstance(parent, ast.Call) and parent.func is chain:
        name = chain.attr if isinstance(chain, ast.Attribute) else None
        if name is not None and name.startswith("assert_"):
            return "assert"
        if name in _MOCK_API:
            return "config"
        holder = up.get(id(parent))
        if isinstance(holder, ast.Await):
            holder = up.get(id(holder))
        return "call" if isinstance(holder, ast.Expr) else "escape"
    if isinstance(parent, ast.keyword):
        parent = up.get(id(parent))
    if isinstance(parent, ast.Call):
        name = last_name(parent.func) or ""
        if name.startswith("assert") or (name in _BUILTINS and _in_assert(parent, up)):
            return "assert"
        return "escape"
    return "read" if _in_assert(chain, up) else "escape"


def _in_assert(node: ast.AST, up: dict[int, ast.AST]) -> bool:
    while node is not None and not isinstance(node, ast.stmt):
        node = up.get(id(node))  # type: ignore[assignment]  # None above the function
    return isinstance(node, ast.Assert)


def _on_mocks(names: set[str], mocks: set[str], module: Module) -> bool:
    """Whether an assertion over ``names`` reads nothing but mocks (and mock helpers such as ``call``)."""
    rest = {n for n in names - mocks if n not in _BUILTINS and n != "self"}
    rest = {n for n in rest if not module.alias.get(n, "").startswith(("unittest.mock.", "mock."))}
    return bool(names & mocks) and not rest


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _checked_mocks(module: Module, test: Func, mocks: set[str], asserting: set[int]) -> set[str] | None:
    """The mocks the test's checks look at, or None when some check looks at anything else."""
    seen: set[str] = set()
    for node in ast.walk(test.node):
        if isinstance(node, ast.Raise):
            return None
        if isinstance(node, ast.Assert):
            names = _names(node.test)
        elif isinstance(node, ast.Call) and is_check(module, node):
            root = root_name(node.func)
            names = {root} if root in mocks else _names(ast.Tuple(elts=[*node.args, *(k.value for k in node.keywords)]))
        elif isinstance(node, ast.Call) and (helper := module.called_helper(node, test.cls)) is not None:
            if id(helper.node) in asserting:
                return None
            continue
        else:
            continue
        if not _on_mocks(names, mocks, module):
            return None
        seen |= names & mocks
    return seen


def _reason(mocks: set[str], uses: dict[str, set[str]]) -> str | None:
    if any("escape" in uses.get(m, set()) for m in mocks):
        return None
    shown = ", ".join(f"'{m}'" for m in sorted(mocks))
    if any("call" in uses.get(m, set()) for m in mocks):
        return f"asserts only on mock {shown}, which the test calls itself: the code under test never touches it"
    return f"asserts only on mock {shown}, which nothing calls or receives: the assertion checks nothing"


def check(module: Module) -> None:
    asserting: set[int] | None = None
    for test in module.tests:
        made = _mocks(test.node)
        if not made:
            continue
        asserting = asserting_helpers(module) if asserting is None else asserting
        checked = _checked_mocks(module, test, made, asserting)
        if not checked:
            continue
        up = parents(test.node)
        uses: dict[str, set[str]] = {}
        for node in ast.walk(test.node):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in made:
                uses.setdefault(node.id, set()).add(_use(node, up))
        reason = _reason(checked, uses)
        if reason is not None:
            module.add(RULE.id, test.node.lineno, test.nodeid, reason, module.src.def_lines(test.node))


RULE = Rule(
    "self-called-mock",
    "test asserts only on a mock the code under test never sees",
    "a mock that only the test itself calls records the test's own calls: the assertion passes whatever the code does",
    "hand the mock to the code under test (or patch it in) and assert on what the code did with it",
    check=check,
)
