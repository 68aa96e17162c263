"""Static audit of test files: tests that assert nothing, cannot fail, never run, or break conventions.

Everything here reads source with :mod:`ast` and never imports or runs the audited code. The core
returns an :class:`AuditResult`; the command line decides how to print it and which exit code to use.

The rules are in :mod:`mcptest.audit.rules`, one module each, each with its id, what it catches, why
that matters and how to fix it (:data:`ALL`, in report order). :mod:`~mcptest.audit.engine` finds the
files, parses each once (:mod:`~mcptest.audit.source`) and runs every rule on it
(:mod:`~mcptest.audit.context` is what a rule sees of one file).

Silencing: ``# mcptest: ignore[rule-id]`` (several ids separated by commas) or ``# mcptest: ignore``
(every rule) on the line of a finding. For findings about a whole test, fixture, helper or class,
the comment may be on the ``def``/``class`` header or on one of its decorator lines; for statements
spanning lines, on any of their lines; for ``not-wired``, anywhere above the first statement that is
not the module docstring.
"""

from __future__ import annotations

from mcptest.audit.engine import audit_config, audit_paths
from mcptest.audit.files import DEFAULT_IGNORE_DIRS, DEFAULT_TEST_PATTERN
from mcptest.audit.result import FORMAT_VERSION, AuditResult, Finding
from mcptest.audit.rule import Rule
from mcptest.audit.rules import ALL, BY_ID, RULES
from mcptest.audit.rules.naming import DEFAULT_NAMING

__all__ = [
    "ALL",
    "BY_ID",
    "DEFAULT_IGNORE_DIRS",
    "DEFAULT_NAMING",
    "DEFAULT_TEST_PATTERN",
    "FORMAT_VERSION",
    "RULES",
    "AuditResult",
    "Finding",
    "Rule",
    "audit_config",
    "audit_paths",
]
