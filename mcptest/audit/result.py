"""What the audit found: findings, the result, and the collector that applies the ignore comments."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest.audit.rules import RULE_ORDER, RULES
from mcptest.audit.source import Source, Unparsable, parse

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, where (root-relative posix path, 1-based line), which test, and why.

    ``test`` is the pytest node id of the test or ``Test`` class concerned; None for findings about a
    whole file, a fixture or a helper.
    """

    rule: str
    file: str
    line: int
    test: str | None
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "file": self.file,
            "line": self.line,
            "test": self.test,
            "reason": self.reason,
        }

    def sort_key(self) -> tuple[str, int, int, str, str]:
        return (
            self.file,
            self.line,
            RULE_ORDER.get(self.rule, len(RULE_ORDER)),
            self.test or "",
            self.reason,
        )


@dataclass
class AuditResult:
    """Findings sorted by file and line, files examined (tests and conftest.py), findings silenced."""

    findings: list[Finding] = field(default_factory=list)
    files_scanned: int = 0
    suppressed: int = 0

    @property
    def counts(self) -> dict[str, int]:
        """Findings per rule, every rule present, in :data:`RULES` order."""
        counts = dict.fromkeys(RULES, 0)
        for finding in self.findings:
            counts[finding.rule] = counts.get(finding.rule, 0) + 1
        return counts

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "files_scanned": self.files_scanned,
            "suppressed": self.suppressed,
            "counts": self.counts,
            "findings": [f.to_dict() for f in self.findings],
        }


class Out:
    """Collects findings, applying the ignore comments and counting what they silence."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.findings: list[Finding] = []
        self.suppressed = 0
        self.scanned = 0

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return Path(os.path.relpath(path, self.root)).as_posix()

    def load(self, path: Path) -> Source | None:
        """Read and parse one file; a file that cannot be read or parsed becomes a finding."""
        rel = self.rel(path)
        self.scanned += 1
        try:
            return parse(path, rel)
        except Unparsable as bad:
            self.add(None, bad.rule, rel, bad.line, None, bad.reason)
            return None

    def add(
        self,
        src: Source | None,
        rule: str,
        file: str,
        line: int,
        test: str | None,
        reason: str,
        lines: Iterable[int] = (),
    ) -> None:
        if src is not None and src.silenced(rule, {line, *lines}):
            self.suppressed += 1
            return
        self.findings.append(Finding(rule, file, line, test, reason))

    def result(self) -> AuditResult:
        self.findings.sort(key=Finding.sort_key)
        return AuditResult(findings=self.findings, files_scanned=self.scanned, suppressed=self.suppressed)
