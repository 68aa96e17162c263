"""``empty-test``: a test whose body is only ``pass``, ``...``, ``return None`` and/or a docstring."""

from __future__ import annotations

from mcptest.audit.astutil import placeholder
from mcptest.audit.context import Module
from mcptest.audit.rule import Rule


def check(module: Module) -> None:
    for test in module.tests:
        empty = placeholder(test.node.body, helper=False)
        if empty is not None:
            reason = f"the test body is only {empty}: it passes without testing anything"
            module.add(RULE.id, test.node.lineno, test.nodeid, reason, module.src.def_lines(test.node))


RULE = Rule(
    "empty-test",
    "test body is only pass, ... or a docstring",
    "an empty test counts as a pass in every report",
    "write the test, or delete it (an xfail with a reason says 'not done yet' honestly)",
    check=check,
)
