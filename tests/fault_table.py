"""The fault table: every hostile case mcptest must survive, its exit code and what the record holds.

Each row names the test that proves it; that test reads its expected exit code from here (``FAULTS[case]``),
so the table in docs/faults.md and the tests cannot drift: ``tests/test_fault_table.py`` checks that the
document equals ``render()`` and that every named test exists. Regenerate the document with
``python tests/fault_table.py > docs/faults.md``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    case: str  # a short, stable id
    area: str  # false-pass, crash, hang, reason, config, report-dir, bridge, process
    what: str  # the fault, in a few words
    exit: int  # the exit code mcptest must end with
    record: str  # what the run record holds afterwards ("none" when no run record is due)
    test: str  # tests/FILE.py::test_name that proves it


ROWS: tuple[Fault, ...] = (
    # Rows are added next to the tests that prove them; keep them grouped by area.
    # crash: foreign text (test ids, messages, bridge reasons, paths) in what mcptest prints and writes
    Fault(
        "hostile-markup-in-output",
        "crash",
        "test ids and failure messages holding rich markup (`[/etc]`, `[bold]x[/]`, `[asyncio]`), not a terminal",
        1,
        "failed; ids and messages as written, and printed verbatim (was: MarkupError, exit 70, no record)",
        "tests/test_hostile_output.py::test_hostile_markup_in_ids_and_messages_is_printed_verbatim",
    ),
    Fault(
        "hostile-control-sequences",
        "crash",
        "terminal control sequences (OSC 8 link, CSI `2J`, 8-bit CSI, BEL, CR) in test ids and failure messages",
        1,
        "failed; the raw text kept; terminal, HTML, Markdown and JUnit show it with the controls stripped",
        "tests/test_hostile_output.py::test_hostile_control_sequences_are_stripped_from_every_output",
    ),
)

FAULTS: dict[str, Fault] = {row.case: row for row in ROWS}


def render() -> str:
    """docs/faults.md."""
    lines = [
        "# Fault table",
        "",
        "Every hostile case below is a test of mcptest's own suite; the test takes its expected exit code",
        "from `tests/fault_table.py`, and `tests/test_fault_table.py` checks that this page matches it.",
        "Exit codes are those of the README (0 ok, 1 tests-failed, 2 threshold-missed, 3 bridge-unavailable,",
        "4 config-error, 5 no-tests-or-data, 6 budget-exceeded, 130 interrupted; 70 never appears here).",
        "",
        "| area | case | fault | exit | record | test |",
        "|---|---|---|---|---|---|",
    ]
    for row in ROWS:
        cells = (row.area, f"`{row.case}`", row.what, str(row.exit), row.record, f"`{row.test}`")
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
