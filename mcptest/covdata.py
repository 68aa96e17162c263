"""Read coverage.py data files into the record's numbers (per file, per module, overall), and compute deltas."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from mcptest.config_model import Config
from mcptest.globs import glob_match
from mcptest.model import CoverageReport, FileCoverage, ModuleCoverage, Totals

#: Files that are tests (or test plumbing) and are never measured, whatever ``source`` says.
TEST_FILE_GLOBS = ("**/test_*.py", "**/*_test.py", "**/conftest.py")


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


def combine(data_files: Sequence[Path], out: Path) -> Path:
    """Merge several coverage data files (one per suite) into ``out``, which may be one of them (it keeps its data)."""
    from coverage import CoverageData

    keep = out.exists() and any(path.resolve() == out.resolve() for path in data_files)
    parts = []
    for path in data_files:
        if path.exists() and not (keep and path.resolve() == out.resolve()):
            part = CoverageData(basename=str(path))
            part.read()
            parts.append(part)
    combined = CoverageData(basename=str(out))
    if keep:
        # a CoverageData erases its file on the first write unless it was read: the xdist controller's own data
        # (data_file, combined with the workers' parts into itself) would be lost
        combined.read()
    for part in parts:
        combined.update(part)
    combined.write()
    return out


class StaticAnalysis:
    """coverage.py's parse of the measured source files, done before the report needs it.

    What a file's statements and possible branches are does not depend on what the tests ran, and finding them
    (tokenising, the AST, the arc analysis) is most of the report's cost: 0.15 s of 0.24 s for 50 files, about
    1.5 s of 2.4 s for 500. ``overlap.py`` calls :meth:`prepare` in a background thread while the tests run, on
    the otherwise idle second core, and :func:`read_json` hands the parsers to coverage.py's report.

    This goes through coverage.py's ``PythonParser`` and the lazily-set parser of its ``PythonFileReporter``,
    which are not public API. Anything unexpected -- another coverage.py version without them, a file changed
    since it was parsed, other exclusion patterns, a file that does not parse -- leaves that file (or all of
    them) to coverage.py's own parse, so the numbers are the same either way (a test compares them).
    """

    def __init__(self, config: Config, exclude: str) -> None:
        self.root = config.root
        self.sources = list(config.source)
        self.exclude = exclude
        self.branch = config.coverage.branch
        self.parsers: dict[str, tuple[tuple[int, int], Any]] = {}

    @classmethod
    def for_config(cls, config: Config) -> StaticAnalysis | None:
        """Read the project's coverage.py settings (exclusion patterns); None when that is not possible."""
        try:
            import coverage

            with _cwd(config.root):
                cov = coverage.Coverage(config_file=True)
            exclude = cov._exclude_regex("exclude")
        except Exception:
            return None
        return cls(config, exclude) if isinstance(exclude, str) else None

    def prepare(self) -> None:
        """Parse every source file (safe to run in another thread: absolute paths, no working-folder change)."""
        try:
            from coverage.parser import PythonParser
        except ImportError:
            return
        from mcptest.config import source_files

        for rel in source_files(self.root, self.sources):
            if any(glob_match(pattern, rel) for pattern in TEST_FILE_GLOBS):
                continue
            path = os.path.realpath(self.root / rel)
            try:
                before = _stamp(path)
                parser = PythonParser(filename=path, exclude=self.exclude)
                parser.parse_source()
                if self.branch:
                    parser.arcs()
                if _stamp(path) != before:
                    continue
            except Exception:
                continue
            self.parsers[os.path.normcase(path)] = (before, parser)

    def attach(self, cov: Any) -> None:
        """Make ``cov``'s reports use the parsers prepared for files that have not changed since."""
        try:
            from coverage.python import PythonFileReporter

            if cov._exclude_regex("exclude") != self.exclude:
                return
            original = cov._get_file_reporter
        except (ImportError, AttributeError):
            return
        parsers = self.parsers

        def file_reporter(morf: Any) -> Any:
            reporter = original(morf)
            if isinstance(reporter, PythonFileReporter) and getattr(reporter, "_parser", False) is None:
                path = os.path.normcase(os.path.realpath(reporter.filename))
                found = parsers.get(path)
                if found is not None and found[0] == _stamp(path):
                    reporter._parser = found[1]
            return reporter

        cov._get_file_reporter = file_reporter


def _stamp(path: str) -> tuple[int, int]:
    try:
        info = os.stat(path)
    except OSError:
        return (-1, -1)
    return (info.st_mtime_ns, info.st_size)


def read_json(
    config: Config, data_file: Path, *, contexts: bool = False, static: StaticAnalysis | None = None
) -> dict[str, Any] | None:
    """coverage.py's JSON report of ``data_file``, with test files left out; None when nothing was measured.

    ``static``: source files parsed ahead (see :class:`StaticAnalysis`).
    """
    import coverage

    if not data_file.exists():
        return None
    with _cwd(config.root):
        cov = coverage.Coverage(data_file=str(data_file), config_file=True)
        cov.load()
        if static is not None:
            static.attach(cov)
        data = cov.get_data()
        if not data.measured_files():
            return None
        omit = list(cov.get_option("report:omit") or [])  # type: ignore[arg-type]
        omit += [os.path.join(str(config.root), p) for p in TEST_FILE_GLOBS]
        for suite in config.suites.values():
            omit += [str(config.root / p) + ("/*" if (config.root / p).is_dir() else "") for p in suite.paths]
        with tempfile.TemporaryDirectory(prefix="mcptest-json-") as tmp:
            out = Path(tmp) / "coverage.json"
            try:
                cov.json_report(
                    outfile=str(out), omit=omit, show_contexts=contexts, ignore_errors=True, pretty_print=False
                )
            except coverage.exceptions.NoDataError:
                return None
            result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def _rel(root: Path, name: str) -> str:
    path = Path(name)
    if path.is_absolute():
        with contextlib.suppress(ValueError):
            path = path.resolve().relative_to(root.resolve())
    return path.as_posix()


def build_report(config: Config, raw: dict[str, Any], *, branch: bool) -> tuple[CoverageReport, dict[str, Any]]:
    """Our CoverageReport from coverage.py's JSON, and the per-file contexts (file -> line -> [contexts])."""
    files: list[FileCoverage] = []
    contexts: dict[str, Any] = {}
    for name, entry in sorted(raw.get("files", {}).items()):
        path = _rel(config.root, name)
        s = entry["summary"]
        totals = Totals.of(
            s["num_statements"], s["covered_lines"], s.get("num_branches", 0), s.get("covered_branches", 0)
        )
        missing_branches = [f"{a}->{b}" for a, b in entry.get("missing_branches", [])]
        partial = sorted({a for a, _ in entry.get("missing_branches", [])} & set(entry.get("executed_lines", [])))
        files.append(
            FileCoverage(
                path=path,
                totals=totals,
                executed_lines=list(entry.get("executed_lines", [])),
                missing_lines=list(entry.get("missing_lines", [])),
                excluded_lines=list(entry.get("excluded_lines", [])),
                missing_branches=missing_branches,
                partial_lines=partial,
                executed_branches=[f"{a}->{b}" for a, b in entry.get("executed_branches", [])],
            )
        )
        if "contexts" in entry:
            contexts[path] = entry["contexts"]
    overall = sum((f.totals for f in files), Totals())
    modules = module_coverage(config, files)
    return CoverageReport(branch=branch, overall=overall, files=files, modules=modules), contexts


def module_coverage(config: Config, files: Sequence[FileCoverage]) -> list[ModuleCoverage]:
    result = []
    for module in config.modules.values():
        members = [f for f in files if any(glob_match(p, f.path) for p in module.files)]
        totals = sum((f.totals for f in members), Totals())
        result.append(
            ModuleCoverage(name=module.name, files=[f.path for f in members], totals=totals, tests=list(module.tests))
        )
    return result


def lines_by_test(contexts: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    """Invert coverage.py's per-line contexts into test node id -> file -> covered lines."""
    result: dict[str, dict[str, list[int]]] = {}
    for path, by_line in contexts.items():
        for line, names in by_line.items():
            for name in names:
                if not name:
                    continue
                result.setdefault(name, {}).setdefault(path, []).append(int(line))
    for per_file in result.values():
        for lines in per_file.values():
            lines.sort()
    return result


def _delta(now: float | None, before: float | None) -> float | None:
    if now is None or before is None:
        return None
    return round(now - before, 6)


def apply_deltas(report: CoverageReport, baseline: CoverageReport | None, baseline_id: str | None) -> None:
    """Fill the delta fields of ``report`` against ``baseline`` (None clears them)."""
    report.baseline_id = baseline_id if baseline is not None else None
    old_files = {f.path: f.totals for f in baseline.files} if baseline else {}
    old_modules = {m.name: m.totals for m in baseline.modules} if baseline else {}
    pairs: list[tuple[Totals, Totals | None]] = [(report.overall, baseline.overall if baseline else None)]
    pairs += [(f.totals, old_files.get(f.path)) for f in report.files]
    pairs += [(m.totals, old_modules.get(m.name)) for m in report.modules]
    for now, before in pairs:
        now.delta_line = _delta(now.line_percent, before.line_percent) if before else None
        now.delta_branch = _delta(now.branch_percent, before.branch_percent) if before else None
