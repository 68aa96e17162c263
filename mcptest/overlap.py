"""The run's speed-ups, in one place: work done while a test process runs, each with the plain way as fallback.

A run on two cores has one busy with the tests while mcptest waits for them. Three things use that time
(measured in docs/performance.md):

- **the prestarted interpreter**: the first test process is the interpreter the entry point started while the
  command line was parsed (``prestart``), when it can stand in for a fresh one; else one is started as usual;
- **the background work**: git state, the baseline, the caller's own imports (its report), the parse of the
  measured source files for the coverage report (``covdata.StaticAnalysis``) and the audit when the config gates
  on it, in a thread started right after the first test process; ``wait`` joins it (or does the work inline when
  no test process started: every suite stopped by its preflight) and re-raises what it raised;
- **the early read**: with one suite and one attempt, coverage.py's report of its data is read once the test
  process says the data is saved, while pytest is still finishing; ``read_coverage`` hands that read back for
  the same file, or reads the file then.

The run stage calls an ``Overlap`` through its ``Hooks``; the pipeline asks it only for what it prepared and for
coverage reports. Without it the run is the same, only slower.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcptest import covdata, gate, prestart
from mcptest.collect import SuiteRun
from mcptest.config_model import Config
from mcptest.history import History
from mcptest.model import GitInfo, RunRecord
from mcptest.run import Hooks

#: coverage.py's JSON report of a data file (``covdata.read_json``); None when nothing was measured.
Raw = dict[str, Any] | None


@dataclass
class Prepared:
    """What the background work found."""

    git: GitInfo | None = None
    baseline: RunRecord | None = None
    audit: Any = None  # the audit's result, when the config gates on it


class Overlap(Hooks):
    """The run stage's hooks that move work off the critical path; see the module's docstring."""

    def __init__(
        self, config: Config, history: History, extra: Any = None, *, read_early: bool, contexts: bool
    ) -> None:
        self._config = config
        self._contexts = contexts
        self._read_early = read_early
        self._background = _Background(config, history, extra)
        self._early: tuple[Path, Raw] | None = None  # (data file, its report) read while the process finished

    def spawn(self, cmd: list[str], cwd: str, env: dict[str, str], log: str) -> subprocess.Popen[bytes] | None:
        # the interpreter the entry point started ahead, when it can stand in for a fresh one (else None)
        proc: subprocess.Popen[bytes] | None = prestart.claim(cmd, cwd, env, log)
        return proc

    def started(self) -> None:
        self._background.start()

    def data_saved(self, run: SuiteRun) -> None:
        """Read the coverage report while the test process finishes (one suite, one attempt, no xdist parts)."""
        if not self._read_early:
            return
        if _has_parts(run.data_file) or not self._background.finished_ok():
            return  # workers' data is combined after the process ends; a background error is raised later
        try:
            raw = covdata.read_json(self._config, run.data_file, contexts=self._contexts, static=self._static)
            self._early = (run.data_file, raw)
        except Exception:  # read again after the process ends, where the error is reported
            self._early = None

    def wait(self) -> Prepared:
        """The background work's results, once it is done (its error, if any, is raised here once)."""
        self._background.wait()
        return self._background.prepared

    def read_coverage(self, data_file: Path, contexts: bool = False) -> Raw:
        """coverage.py's report of ``data_file``: the early read of the same data, else read now."""
        # xdist workers' parts are folded into the file after the process ended: the early read is then stale
        if self._early is not None and self._early[0] == data_file and not _has_parts(data_file):
            return self._early[1]
        return covdata.read_json(self._config, data_file, contexts=contexts, static=self._static)

    @property
    def _static(self) -> covdata.StaticAnalysis | None:
        return self._background.static


def _has_parts(data_file: Path) -> bool:
    """Whether xdist workers wrote their own data beside ``data_file``."""
    return any(data_file.parent.glob(data_file.name + ".*"))


class _Background:
    """Work a run needs only after its tests, done on the otherwise idle second core while they run.

    The test process keeps one core busy and the parent sleeps in its poll loop; git state, the baseline and
    the imports of the analysis (coverage.py) and of the caller's report used to be sequential fixed costs of
    every run (measured: a 1.82 s run of 500 tests became 1.77 s). It also parses the measured source files for
    the coverage report (``covdata.StaticAnalysis``), the report's largest cost, and runs the audit when the
    config gates on it. Started right after the first test process;
    ``wait()`` joins it, or does the work inline when no test process was started (every suite stopped by its
    preflight).
    """

    def __init__(self, config: Config, history: History, extra: Any) -> None:
        self._config = config
        self._history = history
        self._extra = extra
        self._thread: threading.Thread | None = None
        self._done = False
        self._error: BaseException | None = None
        self.prepared = Prepared()
        self.static: covdata.StaticAnalysis | None = None

    def start(self) -> None:
        if self._thread is None and not self._done:
            # in this thread, before the other starts: reading coverage.py's settings changes the working folder
            self.static = covdata.StaticAnalysis.for_config(self._config)
            self._thread = threading.Thread(target=self._work, name="mcptest-background", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        try:
            with contextlib.suppress(ImportError):  # warm-up only: the analysis imports it again when it runs
                import coverage.jsonreport  # noqa: F401
            self.prepared.git = git_info(self._config.root)
            self.prepared.baseline = self._history.baseline()
            if self._extra is not None:
                self._extra()
            if self._config.audit_gate:  # static checks of the test files: 0.17 s on the bundled suites
                self.prepared.audit = gate.run_audit(self._config)
            if self.static is not None:
                self.static.prepare()
        except BaseException as exc:  # re-raised in the caller's thread by wait()
            self._error = exc

    def finished_ok(self) -> bool:
        """Wait for the thread (if one runs); whether it ended without an error (which ``wait`` raises)."""
        if self._thread is not None:
            self._thread.join()
        return self._thread is not None and self._error is None

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
        elif not self._done:
            self._work()
        self._done = True
        if self._error is not None:
            error, self._error = self._error, None
            raise error


def git_info(root: Path) -> GitInfo | None:
    """Commit, branch and dirty flag when ``root`` is inside a git work tree."""
    if shutil.which("git") is None:
        return None

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=5, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    status = git("status", "--porcelain", "--untracked-files=no")
    return GitInfo(commit=commit, branch=git("rev-parse", "--abbrev-ref", "HEAD"), dirty=bool(status))
