"""pytest's "short test summary info" in the terminal: failures with their message and comparison, flaky tests
with their attempts, the full log of each suite that failed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.console import Console

from mcptest.console_text import markup
from mcptest.model import RunRecord, TestCase
from mcptest.textsafe import clean

#: Failed and errored tests in the short test summary without ``-v`` (``-v`` lists every one).
MAX_FAILURES = 10
#: Lines of a failure's comparison (the ``E`` lines of its traceback) shown per test; ``-v``: more.
MAX_E_LINES = 8
MAX_E_LINES_VERBOSE = 60
#: A failure message longer than this is cut, with an ellipsis and the count of what was left out.
MAX_MESSAGE = 300


def _first_line(text: str | None) -> str:
    lines = clean(text or "", multiline=True).splitlines()
    line = next((x.strip() for x in lines if x.strip()), "")
    if len(line) > MAX_MESSAGE:
        cut = line.rfind(" ", 0, MAX_MESSAGE)
        cut = cut if cut > MAX_MESSAGE // 2 else MAX_MESSAGE
        line = f"{line[:cut]}… ({len(line) - cut} more characters)"
    return line


def comparison_lines(test: TestCase, limit: int = MAX_E_LINES) -> list[str]:
    """The ``E`` lines of a failure's traceback (pytest's assertion comparison), without the message line.

    At most ``limit`` lines; when more were there, the last one says how many were left out.
    """
    lines = clean(test.longrepr or "", multiline=True).splitlines()
    found = [line.rstrip() for line in lines if line.startswith("E ") and line[1:].strip()]
    message = _first_line(test.message)
    if found and message and found[0][1:].strip() == message:
        found = found[1:]
    if len(found) > limit:
        left = len(found) - (limit - 1)
        found = [*found[: limit - 1], f"E   ... ({left} more lines in the full log)"]
    return found


def _attempts(test: TestCase) -> str:
    return ", ".join(a.outcome for a in test.attempts)


def print_failures(
    out: Console, record: RunRecord, *, verbose: bool = False, logs: Mapping[str, Sequence[str]] | None = None
) -> None:
    """pytest's "short test summary info": each failed, errored or flaky test with its message and
    comparison (the first MAX_FAILURES without ``verbose``), then the full log of every suite that failed."""
    bad = [t for t in record.all_tests() if t.outcome in ("failed", "error")]
    flaky = [t for t in record.all_tests() if t.flaky or t.outcome == "flaky"]
    failed_suites = [s for s in record.suites if s.status in ("failing", "incomplete")]
    if not bad and not flaky and not failed_suites:
        return
    if bad or flaky:
        out.rule("short test summary info", characters="=")
    shown = bad if verbose else bad[:MAX_FAILURES]
    limit = MAX_E_LINES_VERBOSE if verbose else MAX_E_LINES
    for t in shown:
        label = "FAILED" if t.outcome == "failed" else "ERROR"
        message = _first_line(t.message)
        if message:
            out.print(markup(f"[red]{label}[/red] {{}} - {{}}", t.nodeid, message), soft_wrap=True)
        else:
            out.print(markup(f"[red]{label}[/red] {{}}", t.nodeid), soft_wrap=True)
        for line in comparison_lines(t, limit):
            out.print(markup("    {}", line), soft_wrap=True)
    if len(shown) < len(bad):
        out.print(
            f"... and {len(bad) - len(shown)} more failed or errored tests (mcptest run -v lists every one; "
            "so do the record and the HTML report)"
        )
    for t in flaky:
        out.print(markup("[yellow]flaky: {}[/yellow] - attempts: {}", t.nodeid, _attempts(t)), soft_wrap=True)
        for i, a in enumerate(t.attempts, 1):
            why = _first_line(a.message)
            text = f"{a.outcome} in {a.duration:.2f}s" + (f": {why}" if why else "")
            out.print(markup("    attempt {}: {}", i, text), soft_wrap=True)
    for s in failed_suites:
        for path in (logs or {}).get(s.name, []):
            out.print(markup("Full log of suite {}: {}", s.name, path), soft_wrap=True)
