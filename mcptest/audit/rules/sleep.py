"""``sleep-in-unit``: a sleep in a file that a suite of type ``unit`` collects.

``time.sleep`` (any argument but a literal 0), or ``asyncio``/``anyio``/``trio.sleep`` with a non-zero
constant. The suite's type is its ``type`` in mcptest.yaml (by default its name when that is a type).
"""

from __future__ import annotations

import ast

from mcptest.audit.astutil import snippet, span
from mcptest.audit.context import Module
from mcptest.audit.rule import Rule

_ASYNC_SLEEPS = frozenset({"asyncio.sleep", "anyio.sleep", "trio.sleep"})


def check(module: Module) -> None:
    unit = module.settings.suites_of("unit")
    if not unit:
        return
    suites = ", ".join(unit)
    for node in ast.walk(module.src.tree):
        if not isinstance(node, ast.Call):
            continue
        qual = module.qual(node.func)
        arg = node.args[0] if node.args else None
        zero = isinstance(arg, ast.Constant) and not isinstance(arg.value, bool) and arg.value == 0
        waits = qual == "time.sleep" or (qual in _ASYNC_SLEEPS and isinstance(arg, ast.Constant))
        if not waits or zero:
            continue
        reason = f"{qual}({snippet(arg) if arg else ''}) in unit suite {suites}: unit tests should not wait"
        module.add(RULE.id, node.lineno, module.test_of(node), reason, span(node))


RULE = Rule(
    "sleep-in-unit",
    "sleep in a unit suite",
    "a sleep makes a unit suite slow, and a sleep that waits for something makes it flaky",
    "wait on the event itself (a condition, a future, a fake clock) instead of for a time",
    check=check,
)
