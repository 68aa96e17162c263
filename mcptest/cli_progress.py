"""The live progress of ``mcptest run`` on stderr: per suite, tests done of total, failures so far, the time.

On a terminal it is a rich progress bar per suite; elsewhere (CI logs) a line per suite start, collection,
failed test and suite end. Rich is imported at the first event, once the test process has started.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcptest.textsafe import clean

if TYPE_CHECKING:
    from rich.console import Console


def _SuiteTime() -> Any:
    """The time column: elapsed while the suite runs, then the suite's duration as the final tables show it."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class SuiteTime(ProgressColumn):
        def render(self, task: Any) -> Text:
            took = task.fields.get("took")
            seconds = took if took is not None else (task.finished_time or task.elapsed or 0.0)
            return Text(f"{seconds:.1f}s", style="progress.elapsed")

    return SuiteTime()


class Progress:
    """Live progress on stderr: tests done of total and failures so far, per suite."""

    def __init__(self, console: Callable[[], Console]) -> None:
        # made at the first event (rich's import is not needed before the test process has started)
        self._make_console = console
        self.tasks: dict[str, Any] = {}
        self.started = False

    def _setup(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        from mcptest.console_report import markup

        self.markup = markup  # suite names, paths, node ids and problems are foreign text: never markup
        self.console = self._make_console()
        self.live = self.console.is_terminal
        self.progress = Progress(
            TextColumn("{task.description}", markup=False),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]}"),
            _SuiteTime(),
            console=self.console,
            transient=False,
            disable=not self.live,
        )

    def handle(self, kind: str, data: dict[str, Any]) -> None:
        if not hasattr(self, "console"):
            self._setup()
        suite = data.get("suite", "")
        if kind == "suite-start":
            if self.live and not self.started:
                self.progress.start()
                self.started = True
            if suite in self.tasks:
                self.progress.remove_task(self.tasks[suite])
            self.tasks[suite] = self.progress.add_task(clean(suite), total=None, failed="", took=None)
            extra = ""
            if data.get("repeat", 1) > 1:
                extra += f", run {data['attempt'] + 1} of {data['repeat']}"
            if data.get("seed") is not None:
                extra += f", random order with --seed {data['seed']}"
            if not self.live or extra:
                paths = " ".join(data.get("paths", []))
                self.console.print(self.markup("mcptest: running suite {} ({}){}", suite, paths, extra))
        elif kind == "collected":
            self.progress.update(self.tasks[suite], total=data["count"])
            if not self.live:
                self.console.print(self.markup("mcptest: {}: collected {} tests", suite, data["count"]))
        elif kind == "test":
            counts = data["counts"]
            bad = counts.failed + counts.error
            self.progress.update(
                self.tasks[suite], completed=counts.total, failed=f"[red]{bad} failed[/red]" if bad else ""
            )
            if not self.live and data["test"].outcome in ("failed", "error"):
                test = data["test"]
                self.console.print(self.markup("mcptest: {}: {} {}", suite, test.outcome.upper(), test.nodeid))
        elif kind == "suite-end":
            result = data["result"]
            # the suite's own time, as the tables show it, replaces the elapsed time of the live line
            self.progress.update(self.tasks[suite], took=result.duration)
            if not self.live:
                from mcptest.console_report import counts_text

                c = result.counts
                self.console.print(
                    self.markup("mcptest: {}: ", suite)
                    + f"{c.total} tests in {result.duration:.1f}s ({counts_text(c)})"
                )
        elif kind == "preflight":
            for problem in data.get("problems", []):
                self.console.print(self.markup("mcptest: {}: [red]{}[/red]", suite, problem))
        elif kind == "message":
            self.console.print(self.markup("mcptest: {}", data.get("text", "")))

    def close(self) -> None:
        if self.started:
            self.progress.stop()
