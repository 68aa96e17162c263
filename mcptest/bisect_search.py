"""The search strategy of a bisection (``mcptest.bisect``), apart from what a step runs: the smallest list of
candidates for which a predicate holds, by halving on the assumption of one cause, then by delta debugging
when some are needed together. The predicate raises :class:`OutOfSteps` when the step bound is reached.
"""

from __future__ import annotations

from collections.abc import Callable


class OutOfSteps(Exception):
    """Raised by the predicate of a :class:`Search` when the bound on its steps is reached."""


class Search:
    """The smallest list of ``candidates`` (kept in their order) for which ``interesting`` holds; ``candidates``
    themselves are known to be interesting. ``best`` is the smallest interesting list seen so far."""

    def __init__(self, candidates: list[str], interesting: Callable[[list[str]], bool]) -> None:
        self.best = list(candidates)
        self.interesting = interesting
        self.seen: dict[tuple[str, ...], bool] = {tuple(candidates): True}  # no list is run twice

    def check(self, tests: list[str]) -> bool:
        key = tuple(tests)
        if key not in self.seen:
            self.seen[key] = self.interesting(tests)
        if self.seen[key] and len(tests) < len(self.best):
            self.best = list(tests)
        return self.seen[key]

    def run(self) -> bool:
        """Search; whether ``best`` is as small as the search can prove (False: the step bound cut it short)."""
        try:
            current, checked = self.best, True
            while len(current) > 1:
                half = len(current) // 2
                if self.check(current[:half]):
                    current, checked = current[:half], True
                else:
                    current, checked = current[half:], False  # one cause assumed: it is in the other half
            if checked or self.check(current):
                return True  # one test, and the victim passes alone: nothing smaller can be the cause
            self.ddmin()  # no single test is the cause: some are needed together
            return True
        except OutOfSteps:
            return False

    def ddmin(self) -> None:
        """Delta debugging: split into n parts, keep a part or a complement that is still interesting."""
        parts = 2
        while len(self.best) >= 2:
            current = self.best
            chunks = [current[i * len(current) // parts : (i + 1) * len(current) // parts] for i in range(parts)]
            chunks = [c for c in chunks if c]
            if any(self.check(chunk) for chunk in chunks):
                parts = 2
                continue
            if parts > 2:
                kept = [[t for t in current if t not in set(chunk)] for chunk in chunks]
                if any(self.check(rest) for rest in kept):
                    parts = max(parts - 1, 2)
                    continue
            if parts >= len(current):
                return
            parts = min(len(current), parts * 2)
