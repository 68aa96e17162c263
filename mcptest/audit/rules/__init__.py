"""The audit's rules, one module each, in report order (ids are what ``# mcptest: ignore[...]`` takes)."""

from __future__ import annotations

from mcptest.audit.rule import Rule
from mcptest.audit.rules import (
    always_true,
    empty_body,
    files,
    http_patch,
    naming,
    no_assert,
    placeholder,
    self_mock,
    skipped,
    sleep,
    unchecked_value,
    unused_fixture,
)

#: Every rule, in report order.
ALL: tuple[Rule, ...] = (
    no_assert.RULE,
    always_true.RULE,
    self_mock.RULE,
    unchecked_value.RULE,
    empty_body.RULE,
    placeholder.RULE,
    unused_fixture.RULE,
    files.NOT_WIRED,
    http_patch.RULE,
    sleep.RULE,
    skipped.RULE,
    naming.RULE,
    files.SYNTAX_ERROR,
    files.UNREADABLE,
)
#: Every rule id and what it catches, in report order.
RULES: dict[str, str] = {rule.id: rule.title for rule in ALL}
RULE_ORDER = {rule.id: i for i, rule in enumerate(ALL)}
BY_ID: dict[str, Rule] = {rule.id: rule for rule in ALL}

__all__ = ["ALL", "BY_ID", "RULES", "RULE_ORDER", "Rule"]
