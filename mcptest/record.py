"""The run record as the pipeline starts it: an empty record (interrupted until it is concluded), the first
result of a suite, and the timestamps they carry. The stages fill them in; ``persist`` stores the record."""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from mcptest import __version__, exitcodes
from mcptest.config_model import Config, SuiteConfig
from mcptest.history import new_run_id
from mcptest.model import Meta, RunRecord, Selection, SuiteResult
from mcptest.plan import RunOptions


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_record(config: Config, options: RunOptions) -> RunRecord:
    """The record of a run about to start: incomplete and interrupted until the run concludes it."""
    return RunRecord(
        id=new_run_id(),
        started_at=now_iso(),
        status="incomplete",
        complete=False,
        exit_code=exitcodes.INTERRUPTED,
        exit_reason="interrupted",
        selection=Selection(
            suite=options.suite,
            modules=list(options.modules),
            keyword=options.keyword,
            pytest_args=list(options.pytest_args),
            contexts=options.contexts,
            preflight=options.preflight,
            workers=options.workers,
            repeat=options.repeat,
            random_order=options.random_order,
            seed=options.seed,
            partial=bool(options.modules),  # settled after the run, from what pytest selected
        ),
        meta=Meta(
            mcptest_version=__version__,
            python=platform.python_version(),
            platform=f"{platform.system()} {platform.machine()}",
            command=list(options.command),
            cwd=str(Path.cwd()),
            config_path=str(config.path),
            git=None,  # filled in by the work done while the tests run (overlap.git_info)
        ),
    )


def suite_result(suite: SuiteConfig, paths: Sequence[str], status: str, problems: Sequence[str] = ()) -> SuiteResult:
    """A suite's result before its tests report: ``incomplete`` while it runs, ``not-run`` when refused."""
    return SuiteResult(
        name=suite.name,
        test_type=suite.test_type,
        paths=list(paths),
        status=status,
        started_at=now_iso(),
        budget=suite.budget,
        timeout=suite.timeout,
        requires=list(suite.requires),
        problems=list(problems),
    )
