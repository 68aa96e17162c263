"""A rule of the audit: its id, what it catches, why that matters, how to fix it, and its checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcptest.audit.context import Module, Project


@dataclass(frozen=True)
class Rule:
    """``check`` runs on every parsed test file; ``finish`` once, after all files (on every fixture found).

    Rules without either are found elsewhere (a file that no suite collects, one that does not parse).
    """

    id: str
    title: str  # what it catches, a few words
    why: str  # why it matters, one line
    hint: str  # how to fix it, one line
    check: Callable[[Module], None] | None = None
    finish: Callable[[Project], None] | None = None
