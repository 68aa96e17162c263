"""The resolved configuration of mcptest.yaml, as typed dataclasses (loading and validation: config.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Threshold:
    """Minimum line and branch percentages; ``key`` and ``line`` say where in the file they were set."""

    line: float | None = None
    branch: float | None = None
    key: str = ""
    lineno: int | None = None

    @property
    def empty(self) -> bool:
        return self.line is None and self.branch is None


@dataclass
class FileRule:
    """A per-file threshold: ``pattern`` is an exact path or a glob; a glob applies to EACH matching file."""

    pattern: str
    threshold: Threshold


@dataclass
class CoverageConfig:
    branch: bool = True
    overall: Threshold = field(default_factory=Threshold)
    files: list[FileRule] = field(default_factory=list)
    max_drop: float | None = None
    max_drop_key: str = "coverage.max_drop"
    max_drop_lineno: int | None = None
    patch: Threshold = field(default_factory=Threshold)  # coverage.patch: the gate of the changed lines
    diff_base: str | None = None  # coverage.patch.diff_base: the REF of --diff-base when none is given


@dataclass
class ModuleConfig:
    """A named group of source files (globs) with thresholds on the group's combined numbers."""

    name: str
    files: list[str]
    tests: list[str] = field(default_factory=list)
    threshold: Threshold = field(default_factory=Threshold)
    lineno: int | None = None


@dataclass
class SuiteConfig:
    name: str
    paths: list[str]
    test_type: str = "custom"  # unit | integration | e2e | custom
    timeout: float | None = None  # per test, seconds
    budget: float | None = None  # whole suite, seconds
    requires: list[str] = field(default_factory=list)
    pytest_args: list[str] = field(default_factory=list)
    coverage_gates: bool = True  # False: measured and reported, but a run of this suite alone is not gated
    lineno: int | None = None


@dataclass
class BridgeConfig:
    """A backend bridge: where its health endpoint is, which states are acceptable, how to start it."""

    name: str
    url: str
    health: str = "/health"
    accept: list[str] = field(default_factory=lambda: ["ok"])
    connect_timeout: float = 0.5
    read_timeout: float = 5.0
    start: str | None = None
    stop: str | None = None
    start_timeout: float = 30.0
    lineno: int | None = None

    @property
    def health_url(self) -> str:
        return self.url.rstrip("/") + "/" + self.health.lstrip("/")


@dataclass
class SourceEntry:
    """One ``source`` entry as written and what it resolved to (``mcptest config check`` shows both).

    ``path`` is the folder or file measured, relative to the config's folder (``..`` parts when outside it);
    ``measure`` is what coverage.py is given: the folder for a folder or package, the dotted name for a module.
    ``via`` says where a package name was found: ``root``, ``pythonpath``, ``installed`` or ``src``.
    """

    name: str
    path: str
    kind: str  # folder | file | package | module
    measure: str
    via: str = ""


@dataclass
class ReportConfig:
    dir: str = ".mcptest"
    templates: str | None = None
    requirement_marker: str = "req"
    requirements: list[str] = field(default_factory=list)  # ids that should be covered by some test


@dataclass
class Config:
    """The whole configuration; paths in it are relative to ``root`` (the folder of the config file)."""

    path: Path
    root: Path
    source: list[str]
    coverage: CoverageConfig = field(default_factory=CoverageConfig)
    modules: dict[str, ModuleConfig] = field(default_factory=dict)
    suites: dict[str, SuiteConfig] = field(default_factory=dict)
    bridges: dict[str, BridgeConfig] = field(default_factory=dict)
    report: ReportConfig = field(default_factory=ReportConfig)
    version: int = 1
    flaky_allow: list[str] = field(default_factory=list)  # node ids or globs whose flakiness does not fail
    audit_gate: bool = False
    audit_exclude: list[str] = field(default_factory=list)  # folder names the audit does not scan
    audit_naming: str | None = None  # None: the default convention; "" turns the naming rule off
    mutation_min_score: float | None = None
    sources: list[SourceEntry] = field(default_factory=list)  # ``source`` as written and resolved; ``source``
    # itself holds what coverage.py measures (SourceEntry.measure)

    @property
    def report_dir(self) -> Path:
        return (self.root / self.report.dir).resolve()
