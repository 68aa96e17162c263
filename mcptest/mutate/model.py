"""The data of a mutation run: mutants, the result and its score."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mcptest import exitcodes
from mcptest.errors import McptestError

FORMAT_VERSION = 1
STATUSES = ("killed", "survived", "timeout", "error", "no-tests")


class BaselineFailed(McptestError):
    """The suite does not pass on the unmodified code, so no mutant can be judged."""

    exit_code = exitcodes.TESTS_FAILED


class BaselineOverBudget(McptestError):
    """The suite ran past its budget on the unmodified code in the copy."""

    exit_code = exitcodes.BUDGET_EXCEEDED


@dataclass
class Mutant:
    """One deliberate change of one source file, and what the tests said about it."""

    id: str
    file: str  # relative to the project root, posix
    line: int  # where the change starts
    col: int  # character column of the change
    operator: str  # one of OPERATORS
    description: str  # e.g. "< -> >=", "True -> False", "call removed"
    original: str  # the changed source line(s), as in the file
    mutated: str  # the same line(s) after the change
    diff: str  # unified diff of the file (a/ original, b/ mutant)
    status: str = "pending"  # one of STATUSES once run
    tests: list[str] = field(default_factory=list)  # node ids run against the mutant
    import_time: bool = False  # the line runs when the module is imported: every selected test covers it
    killed_by: str | None = None  # the first failing test
    detail: str | None = None  # pytest's last line, or why the mutant could not be judged
    timeout: float = 0.0  # seconds allowed
    duration: float = 0.0
    logging: bool = False  # a change inside a logging call: skipped by default, else scored apart
    source: str = field(default="", repr=False)  # the whole mutated file (not serialised)
    statement_line: int = field(default=0, repr=False)  # the line coverage.py reports for the change

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "file": self.file, "line": self.line, "col": self.col,
                "operator": self.operator, "description": self.description, "original": self.original,
                "mutated": self.mutated, "diff": self.diff, "status": self.status, "tests": list(self.tests),
                "import_time": self.import_time, "killed_by": self.killed_by, "detail": self.detail,
                "timeout": round(self.timeout, 3), "duration": round(self.duration, 3), "logging": self.logging}


@dataclass
class MutationResult:
    """All mutants of one run; ``score`` = killed / (killed + survived), timeouts and errors apart.

    Mutants inside logging calls are counted and scored apart (``logging_counts``), when they ran at all.
    """

    suite: str
    modules: list[str]
    seed: int
    max_mutants: int | None
    workers: int
    files: list[str] = field(default_factory=list)
    candidates: int = 0  # valid mutants found on covered lines, before --max sampling
    skipped: int = 0  # generated but dropped: identical code, invalid syntax or a duplicate
    baseline_tests: int = 0
    baseline_duration: float = 0.0
    duration: float = 0.0
    mutants: list[Mutant] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reruns_disabled: list[str] = field(default_factory=list)  # rerun plugins switched off in mutant runs
    logging: bool = False  # mutants inside logging calls ran too, scored apart (False: they were skipped)
    logging_skipped: int = 0  # mutants inside logging calls left out (logging False)

    def count(self, status: str, *, logging: bool = False) -> int:
        """Mutants with ``status``: those outside logging calls, or with ``logging`` those inside them."""
        return sum(1 for m in self.mutants if m.status == status and m.logging == logging)

    @property
    def logging_counts(self) -> dict[str, int]:
        return {s: self.count(s, logging=True) for s in STATUSES}

    @property
    def logging_score_percent(self) -> float | None:
        """The score of the mutants inside logging calls alone (None when none was judged)."""
        killed, survived = self.count("killed", logging=True), self.count("survived", logging=True)
        return round(100.0 * killed / (killed + survived), 2) if killed + survived else None

    @property
    def logging_survivors(self) -> list[Mutant]:
        return [m for m in self.mutants if m.status == "survived" and m.logging]

    @property
    def counts(self) -> dict[str, int]:
        return {s: self.count(s) for s in STATUSES}

    @property
    def killed(self) -> int:
        return self.count("killed")

    @property
    def survived(self) -> int:
        return self.count("survived")

    @property
    def timeouts(self) -> int:
        return self.count("timeout")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def score(self) -> float | None:
        """Fraction of judged mutants the tests killed; None when no mutant was judged."""
        judged = self.killed + self.survived
        return self.killed / judged if judged else None

    @property
    def score_percent(self) -> float | None:
        return None if self.score is None else round(100.0 * self.score, 2)

    @property
    def survivors(self) -> list[Mutant]:
        """Survivors outside logging calls (those inside them: ``logging_survivors``)."""
        return [m for m in self.mutants if m.status == "survived" and not m.logging]

    def to_dict(self) -> dict[str, Any]:
        return {"format_version": FORMAT_VERSION, "suite": self.suite, "modules": list(self.modules),
                "seed": self.seed, "max_mutants": self.max_mutants, "workers": self.workers,
                "files": list(self.files), "candidates": self.candidates, "skipped": self.skipped,
                "baseline_tests": self.baseline_tests, "baseline_duration": round(self.baseline_duration, 3),
                "duration": round(self.duration, 3), "counts": self.counts, "score": self.score,
                "score_percent": self.score_percent, "warnings": list(self.warnings),
                "reruns_disabled": list(self.reruns_disabled),
                "logging": {"included": self.logging, "skipped": self.logging_skipped,
                            "counts": self.logging_counts, "score_percent": self.logging_score_percent},
                "mutants": [m.to_dict() for m in self.mutants]}
