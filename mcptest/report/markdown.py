"""The Markdown summary (``summary.md``) for pull-request comments and ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mcptest
from mcptest import patch_report
from mcptest.display import join_cut
from mcptest.model import RunRecord
from mcptest.report import views
from mcptest.report.html import environment
from mcptest.report.junit import flaky_failing

#: A comment must stay readable (and under GitHub's 65,536 characters): long lists are cut, with a count.
MAX_ITEMS = 20


class _FileLine:
    """A row of "Files failing a gate": its numbers, only the requirements it has, and why it failed."""

    def __init__(self, row: views.FileRow) -> None:
        self.file = row.file
        self.row = row
        required = [
            f"{metric} {v.required:g}"
            for metric, v in (("line", row.gate.line), ("branch", row.gate.branch))
            if v is not None and v.required is not None
        ]
        #: "line 80 · branch 60"; empty when no threshold applies to the file (a max_drop alone, say)
        self.required = " · ".join(required)
        self.why = join_cut([v.message or f"{v.kind} {v.metric}" for v in row.gate.failed], 300, "; ")


@dataclass
class _FlakyLine:
    nodeid: str
    order: str  # "failed, then passed", in the order of the attempts
    failed_run: bool


def _flaky_lines(record: RunRecord, rows: Sequence[views.TestRow]) -> list[_FlakyLine]:
    failing = {n for s in record.suites for n in flaky_failing(s, record.verdicts)}
    return [
        _FlakyLine(
            r.test.nodeid,
            ", then ".join(a.outcome for a in r.test.attempts) or "outcomes differ between attempts",
            r.test.nodeid in failing,
        )
        for r in rows
    ]


def render_markdown(record: RunRecord, *, requirements: Sequence[str] = (), templates_dir: Path | None = None) -> str:
    """The summary as GitHub-flavoured Markdown, with untrusted text escaped."""
    gates = views.Gates(record.verdicts)
    tests = views.test_rows(record)
    failing = views.failing_tests(tests)
    rows = views.file_rows(record, gates)
    failing_files = [r for r in rows if r.gate.failed]
    # a file's failed gates are said once, in its row of "Files failing a gate" (with their reason)
    in_table = {f"file:{r.file.path}" for r in failing_files[:MAX_ITEMS]}
    failed_verdicts = [v for v in record.verdicts if not v.passed and v.target not in in_table]
    # the reasons are the failed gates' messages: only a reason no gate above says gets its own line
    said = {v.message for v in record.verdicts if not v.passed}
    other_reasons = [r for r in record.reasons if r not in said]
    dropped = [
        r for r in rows if not r.gate.failed and min(r.file.totals.delta_line or 0, r.file.totals.delta_branch or 0) < 0
    ]
    dropped.sort(key=lambda r: min(r.file.totals.delta_line or 0, r.file.totals.delta_branch or 0))
    reqs = views.requirement_rows(tests, requirements)
    text = (
        environment(templates_dir)
        .get_template("summary.md")
        .render(
            record=record,
            cov=record.coverage,
            version=mcptest.__version__,
            failed_verdicts=failed_verdicts[:MAX_ITEMS],
            failed_more=max(0, len(failed_verdicts) - MAX_ITEMS),
            suites=views.suite_rows(record, gates),
            failing_files=[_FileLine(r) for r in failing_files[:MAX_ITEMS]],
            other_reasons=other_reasons,
            against=record.coverage.baseline_id if record.coverage else None,
            files_more=max(0, len(failing_files) - MAX_ITEMS),
            dropped_files=dropped[:MAX_ITEMS],
            dropped_more=max(0, len(dropped) - MAX_ITEMS),
            failing=failing[:MAX_ITEMS],
            failing_more=max(0, len(failing) - MAX_ITEMS),
            flaky=_flaky_lines(record, views.flaky_tests(tests))[:MAX_ITEMS],
            flaky_more=max(0, len(views.flaky_tests(tests)) - MAX_ITEMS),
            bad_bridges=[b for b in record.bridges if b.status not in b.accepted],
            uncovered=[r for r in reqs if r.state == "uncovered"],
            patch=patch_report.view(record),  # --diff-base: summary_patch.md
        )
    )
    return text
