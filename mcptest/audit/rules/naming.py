"""``naming``: a test name that does not match the naming convention (``re.fullmatch``).

The default, :data:`DEFAULT_NAMING`, is ``test_<feature>_<scenario>_<expected>``: at least three
underscore-separated words after ``test_``, e.g. ``test_login_bad_password_rejected``.
"""

from __future__ import annotations

from mcptest.audit.context import Module
from mcptest.audit.rule import Rule

#: ``test_<feature>_<scenario>_<expected>``: ``test_`` and at least three underscore-separated words.
DEFAULT_NAMING = r"test_[A-Za-z0-9]+(?:_[A-Za-z0-9]+){2,}"


def check(module: Module) -> None:
    naming = module.settings.naming
    if naming is None:
        return
    for test in module.tests:
        fn = test.node
        if naming.fullmatch(fn.name):
            continue
        if naming.pattern == DEFAULT_NAMING:
            reason = f"'{fn.name}' is not test_<feature>_<scenario>_<expected> (3+ words after test_)"
        else:
            reason = f"'{fn.name}' does not match the naming pattern {naming.pattern!r}"
        module.add(RULE.id, fn.lineno, test.nodeid, reason, module.src.def_lines(fn))


RULE = Rule(
    "naming",
    "test name breaks the naming convention",
    "a failing test's name is all a reader sees first: it should say what broke and what was expected",
    "rename it test_<feature>_<scenario>_<expected>, or set audit.naming to your convention",
    check=check,
)
