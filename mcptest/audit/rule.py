"""A rule of the audit: its id, what it catches, why that matters, how to fix it, and its checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcptest.audit.context import Fixture, Module
    from mcptest.audit.result import Out


@dataclass(frozen=True)
class Rule:
    """``check`` runs on every parsed test file; ``finish`` once, on every fixture found, after all files.

    Rules without either are found elsewhere (a file that no suite collects, one that does not parse).
    """

    id: str
    title: str  # what it catches, a few words
    why: str  # why it matters, one line
    hint: str  # how to fix it, one line
    check: Callable[[Module], None] | None = None
    finish: Callable[[Sequence[Fixture], Out], None] | None = None
