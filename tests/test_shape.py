"""The size aim of docs/architecture.md: modules a newcomer can hold in their head.

No module of the package over 400 lines, no function (its signature included) over 60. A module that grows
past that is split by concern; this test names what is over, so the split happens when the growth does.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "mcptest"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def sizes() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    modules, functions = [], []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        name = path.relative_to(PACKAGE.parent).as_posix()
        modules.append((name, len(text.splitlines())))
        for node in ast.walk(ast.parse(text, filename=name)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                functions.append((f"{name}:{node.lineno} {node.name}", (node.end_lineno or node.lineno) - first + 1))
    return modules, functions


def test_no_module_over_400_lines() -> None:
    modules, _ = sizes()
    assert len(modules) > 50  # the package was found
    assert [(name, n) for name, n in modules if n > MAX_MODULE_LINES] == []


def test_no_function_over_60_lines() -> None:
    _, functions = sizes()
    assert any(n > 20 for _, n in functions)  # functions were measured
    assert [(name, n) for name, n in functions if n > MAX_FUNCTION_LINES] == []
