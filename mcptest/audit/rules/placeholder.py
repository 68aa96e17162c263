"""``placeholder``: a fixture or helper whose body is a placeholder, used by a test.

Placeholders: ``pass``, ``...``, ``return None``, a bare ``yield``, ``raise NotImplementedError``. A
fixture is used when a test requests it by parameter name or a ``usefixtures`` mark (fixtures from the
module, its ``Test`` class or a ``conftest.py`` above it, followed through fixtures that request
fixtures), or when it is ``autouse`` and a test is in its scope; a helper when a test calls it directly
(module functions and ``self.`` methods).
"""

from __future__ import annotations

import ast

from mcptest.audit.astutil import placeholder, who
from mcptest.audit.context import Module, Project
from mcptest.audit.rule import Rule


def check(module: Module) -> None:
    """Helpers that tests call."""
    callers: dict[int, list[str]] = {}
    for test in module.tests:
        for node in ast.walk(test.node):
            if isinstance(node, ast.Call):
                helper = module.called_helper(node, test.cls)
                if helper is not None:
                    callers.setdefault(id(helper.node), []).append(test.nodeid)
    for helper in module.helpers.values():
        users = sorted(set(callers.get(id(helper.node), [])))
        what = placeholder(helper.node.body, helper=True)
        if not users or what is None:
            continue
        reason = f"helper '{helper.node.name}' is a placeholder ({what}) but {who(users, 'call')} it"
        module.add(RULE.id, helper.node.lineno, None, reason, module.src.def_lines(helper.node))


def finish(project: Project) -> None:
    """Fixtures that tests use."""
    for fixture in project.fixtures:
        if fixture.placeholder is None or not fixture.users:
            continue
        reason = f"fixture '{fixture.name}' is a placeholder ({fixture.placeholder}) but {who(fixture.users)} it"
        src = fixture.src
        project.out.add(src, RULE.id, src.rel, fixture.node.lineno, None, reason, src.def_lines(fixture.node))


RULE = Rule(
    "placeholder",
    "fixture or helper used by tests is a placeholder",
    "the tests that use it run without the setup they think they have",
    "implement the fixture or helper, or remove it and what requests it",
    check=check,
    finish=finish,
)
