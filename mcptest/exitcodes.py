"""Exit codes of the mcptest command, as named constants, with the precedence that picks one."""

from __future__ import annotations

from collections.abc import Iterable

OK = 0
TESTS_FAILED = 1
THRESHOLD_MISSED = 2
BRIDGE_UNAVAILABLE = 3
CONFIG_ERROR = 4
NO_TESTS_OR_DATA = 5
BUDGET_EXCEEDED = 6
REFUSED = 7  # a command declined to do what it would do wrong (baseline save of a failed run)
INTERRUPTED = 130
INTERNAL_ERROR = 70  # a bug in mcptest itself: please report it

#: Name and one-line meaning of every code, for --help, the README and the run record.
DESCRIPTIONS: dict[int, tuple[str, str]] = {
    OK: ("ok", "every test passed and every gate was met"),
    TESTS_FAILED: ("tests-failed", "a test failed or errored, or the test process died"),
    THRESHOLD_MISSED: ("threshold-missed", "a coverage threshold or max_drop gate was missed"),
    BRIDGE_UNAVAILABLE: ("bridge-unavailable", "a bridge the suite requires is not in an accepted state"),
    CONFIG_ERROR: ("config-error", "the configuration or the command line is invalid"),
    NO_TESTS_OR_DATA: ("no-tests-or-data", "no test was collected, or coverage measured no file"),
    BUDGET_EXCEEDED: ("budget-exceeded", "a suite ran past its time budget"),
    REFUSED: ("refused", "baseline save declined a failed, partial or incomplete run (--force saves it)"),
    INTERRUPTED: ("interrupted", "the run was interrupted (Ctrl-C or SIGTERM)"),
    INTERNAL_ERROR: ("internal-error", "mcptest itself failed unexpectedly (a bug; --debug shows the traceback)"),
}

#: When several codes apply, the first one in this order is the exit code; every reason is still printed.
PRECEDENCE: tuple[int, ...] = (
    INTERRUPTED,
    CONFIG_ERROR,
    BRIDGE_UNAVAILABLE,
    NO_TESTS_OR_DATA,
    BUDGET_EXCEEDED,
    TESTS_FAILED,
    THRESHOLD_MISSED,
)


def pick(codes: Iterable[int]) -> int:
    """Return the code that wins among ``codes`` by PRECEDENCE; OK when there is none."""
    present = {code for code in codes if code != OK}
    for code in PRECEDENCE:
        if code in present:
            return code
    if present:  # an unknown code is never silently turned into success
        return max(present)
    return OK


def name(code: int) -> str:
    """The short name of an exit code (``threshold-missed``), or ``exit-N`` for an unknown one."""
    return DESCRIPTIONS.get(code, (f"exit-{code}", ""))[0]
