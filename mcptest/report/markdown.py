"""The Markdown summary (``summary.md``) for pull-request comments and ``$GITHUB_STEP_SUMMARY``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mcptest
from mcptest.model import RunRecord
from mcptest.report import views
from mcptest.report.html import environment

#: A comment must stay readable (and under GitHub's 65,536 characters): long lists are cut, with a count.
MAX_ITEMS = 20


def render_markdown(record: RunRecord, *, requirements: Sequence[str] = (), templates_dir: Path | None = None) -> str:
    """The summary as GitHub-flavoured Markdown, with untrusted text escaped."""
    gates = views.Gates(record.verdicts)
    tests = views.test_rows(record)
    failing = views.failing_tests(tests)
    failed_verdicts = [v for v in record.verdicts if not v.passed]
    rows = views.file_rows(record, gates)
    failing_files = [r for r in rows if r.gate.failed]
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
            failing_files=failing_files[:MAX_ITEMS],
            files_more=max(0, len(failing_files) - MAX_ITEMS),
            dropped_files=dropped[:MAX_ITEMS],
            dropped_more=max(0, len(dropped) - MAX_ITEMS),
            failing=failing[:MAX_ITEMS],
            failing_more=max(0, len(failing) - MAX_ITEMS),
            flaky=views.flaky_tests(tests)[:MAX_ITEMS],
            bad_bridges=[b for b in record.bridges if b.status not in b.accepted],
            uncovered=[r for r in reqs if r.state == "uncovered"],
        )
    )
    return text
