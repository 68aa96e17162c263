"""Rules about whole files, found while the files are listed and read.

``not-wired``
    A test file (matching the test pattern) that no suite's paths collect.
``syntax-error`` / ``unreadable``
    A test file (or ``conftest.py``) that does not parse, or cannot be read or decoded.
"""

from __future__ import annotations

from mcptest.audit.rule import Rule

NOT_WIRED = Rule(
    "not-wired",
    "test file is collected by no suite",
    "its tests never run under mcptest, so they guard nothing",
    "add its folder to a suite's paths, or delete the file",
)
SYNTAX_ERROR = Rule(
    "syntax-error",
    "file does not parse",
    "pytest fails to collect it, and none of its tests run",
    "fix the syntax error at the line given",
)
UNREADABLE = Rule(
    "unreadable",
    "file cannot be read or decoded",
    "pytest cannot collect it either",
    "fix its permissions or its encoding (UTF-8, or a coding comment)",
)
