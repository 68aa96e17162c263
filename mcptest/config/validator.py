"""The sections of mcptest.yaml, validated into a Config; then ``source`` resolved and the globs checked."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

from mcptest.config.checks import Checks
from mcptest.config.messages import Path_, cut, cut_text
from mcptest.config.sources import resolve_source, source_files
from mcptest.config_model import (
    BridgeConfig,
    Config,
    CoverageConfig,
    FileRule,
    ModuleConfig,
    ReportConfig,
    SuiteConfig,
)
from mcptest.errors import ConfigError, NoDataError
from mcptest.globs import glob_match

TEST_TYPES = ("unit", "integration", "e2e", "custom")


class Validator(Checks):
    """The whole file: ``config`` checks each section in turn and builds the Config."""

    def config(self, data: Any, path: Path) -> Config:
        if data is None:
            self.fail((), "the file is empty; expected a mapping with at least 'source' and 'suites'")
        top = self.mapping(
            (),
            data,
            ("version", "source", "coverage", "modules", "suites", "bridges", "report", "flaky", "audit", "mutation"),
            ("source", "suites"),
        )
        version = 1
        if "version" in top and (top["version"] != 1 or isinstance(top["version"], bool)):
            self.bad(("version",), top["version"], "1 (the only config version)")
        source = [
            self.rel_path(("source", i), s, must_exist=False)
            for i, s in enumerate(self.strings(("source",), top["source"]))
        ]
        coverage = self.coverage(top.get("coverage"))
        bridges = {}
        raw_bridges = self.section(("bridges",), top.get("bridges"), None)
        for name, raw in raw_bridges.items():
            bridges[name] = self.bridge(("bridges", name), name, raw)
        suites = {}
        raw_suites = self.mapping(("suites",), top["suites"], None)
        if not raw_suites:
            self.fail(("suites",), "at least one suite is required")
        for name, raw in raw_suites.items():
            if name == "all":
                self.fail(("suites", name), "'all' is reserved: 'mcptest run all' runs every suite")
            suites[name] = self.suite(("suites", name), name, raw, bridges)
        modules = {}
        for name, raw in self.section(("modules",), top.get("modules"), None).items():
            modules[name] = self.module(("modules", name), name, raw)
        report = self.report(top.get("report"))
        config = Config(
            path=path.resolve(),
            root=self.root,
            source=source,
            coverage=coverage,
            modules=modules,
            suites=suites,
            bridges=bridges,
            report=report,
            version=version,
        )
        self.extras(config, top)
        self.check_sources(config)
        self.check_patterns(config)
        return config

    def extras(self, config: Config, top: dict[str, Any]) -> None:
        """The ``flaky``, ``audit`` and ``mutation`` sections."""
        flaky = self.section(("flaky",), top.get("flaky"), ("allow",))
        if "allow" in flaky:
            config.flaky_allow = self.strings(("flaky", "allow"), flaky["allow"], nonempty=False)
        audit = self.section(("audit",), top.get("audit"), ("gate", "naming", "exclude"))
        if "exclude" in audit:
            config.audit_exclude = self.strings(("audit", "exclude"), audit["exclude"], nonempty=False)
        if "gate" in audit:
            config.audit_gate = self.boolean(("audit", "gate"), audit["gate"])
        if "naming" in audit:
            naming = self.string(("audit", "naming"), audit["naming"], empty=True)
            try:
                re.compile(naming)
            except re.error as exc:
                self.fail(("audit", "naming"), f"{cut(naming)} is not a valid regular expression: {exc}")
            config.audit_naming = naming
        mutation = self.section(("mutation",), top.get("mutation"), ("min_score",))
        if "min_score" in mutation:
            config.mutation_min_score = self.number(("mutation", "min_score"), mutation["min_score"], 0, 100)

    def coverage(self, value: Any) -> CoverageConfig:
        at: Path_ = ("coverage",)
        data = self.section(at, value, ("branch", "overall", "files", "max_drop", "patch"))
        cov = CoverageConfig()
        if "branch" in data:
            cov.branch = self.boolean((*at, "branch"), data["branch"])
        if "overall" in data:
            cov.overall = self.threshold((*at, "overall"), data["overall"])
        for pattern, raw in self.section((*at, "files"), data.get("files"), None).items():
            key = (*at, "files", pattern)
            self.rel_path(key, pattern, must_exist=False)
            cov.files.append(FileRule(pattern=Path(pattern).as_posix(), threshold=self.threshold(key, raw)))
        if "max_drop" in data:
            cov.max_drop = self.number((*at, "max_drop"), data["max_drop"], 0, 100)
            cov.max_drop_lineno = self.lines.get((*at, "max_drop"))
        if "patch" in data:  # patch coverage (mcptest.patch): {line, branch, diff_base}
            cov.patch = self.threshold((*at, "patch"), data["patch"], extra=("diff_base",))
            if "diff_base" in data["patch"]:
                cov.diff_base = self.string((*at, "patch", "diff_base"), data["patch"]["diff_base"])
        return cov

    def module(self, at: Path_, name: str, value: Any) -> ModuleConfig:
        self.name(at, name, "module")
        data = self.mapping(at, value, ("files", "tests", "line", "branch"), ("files",))
        files = [
            self.rel_path((*at, "files", i), f, must_exist=False)
            for i, f in enumerate(self.strings((*at, "files"), data["files"]))
        ]
        tests = self.test_paths((*at, "tests"), self.strings((*at, "tests"), data.get("tests", []), nonempty=False))
        threshold = self.threshold(at, {k: v for k, v in data.items() if k in ("line", "branch")})
        return ModuleConfig(name=name, files=files, tests=tests, threshold=threshold, lineno=self.lines.get(at))

    def suite(self, at: Path_, name: str, value: Any, bridges: dict[str, BridgeConfig]) -> SuiteConfig:
        self.name(at, name, "suite")
        data = self.mapping(
            at, value, ("paths", "type", "timeout", "budget", "requires", "pytest_args", "coverage_gates"), ("paths",)
        )
        paths = self.test_paths((*at, "paths"), self.strings((*at, "paths"), data["paths"]))
        suite = SuiteConfig(name=name, paths=paths, lineno=self.lines.get(at))
        suite.test_type = name if name in TEST_TYPES else "custom"
        if "type" in data:
            kind = self.string((*at, "type"), data["type"])
            if kind not in TEST_TYPES:
                self.bad((*at, "type"), kind, f"one of {', '.join(TEST_TYPES)}")
            suite.test_type = kind
        if "coverage_gates" in data:
            suite.coverage_gates = self.boolean((*at, "coverage_gates"), data["coverage_gates"])
        if "timeout" in data:
            suite.timeout = self.duration((*at, "timeout"), data["timeout"])
        if "budget" in data:
            suite.budget = self.duration((*at, "budget"), data["budget"])
        for i, bridge in enumerate(self.strings((*at, "requires"), data.get("requires", []), nonempty=False)):
            if bridge not in bridges:
                known = ", ".join(cut_text(b) for b in bridges) or "none are configured"
                self.fail((*at, "requires", i), f"unknown bridge {cut(bridge)} (bridges: {known})")
            suite.requires.append(bridge)
        if "pytest_args" in data:
            raw = data["pytest_args"]
            if isinstance(raw, str):
                try:
                    suite.pytest_args = shlex.split(self.expand((*at, "pytest_args"), raw))
                except ValueError as exc:
                    self.fail((*at, "pytest_args"), f"cannot split {cut(raw)}: {exc}")
            else:
                suite.pytest_args = self.strings((*at, "pytest_args"), raw, allow_single=False, nonempty=False)
        return suite

    def bridge(self, at: Path_, name: str, value: Any) -> BridgeConfig:
        self.name(at, name, "bridge")
        data = self.mapping(
            at,
            value,
            ("url", "health", "accept", "connect_timeout", "read_timeout", "start", "stop", "start_timeout"),
            ("url",),
        )
        url = self.string((*at, "url"), data["url"]).rstrip("/")
        if not re.match(r"^https?://[^/\s]+", url):
            self.bad((*at, "url"), url, "an http:// or https:// URL")
        bridge = BridgeConfig(name=name, url=url, lineno=self.lines.get(at))
        if "health" in data:
            bridge.health = self.string((*at, "health"), data["health"])
            if not bridge.health.startswith("/"):
                self.bad((*at, "health"), bridge.health, "a path starting with '/'")
        if "accept" in data:
            accept = self.strings((*at, "accept"), data["accept"])
            for i, state in enumerate(accept):
                if state not in ("ok", "degraded"):
                    self.bad((*at, "accept", i), state, "'ok' or 'degraded'")
            bridge.accept = accept
        if "connect_timeout" in data:
            bridge.connect_timeout = self.duration((*at, "connect_timeout"), data["connect_timeout"])
        if "read_timeout" in data:
            bridge.read_timeout = self.duration((*at, "read_timeout"), data["read_timeout"])
        if "start" in data:
            bridge.start = self.command((*at, "start"), data["start"])
        if "stop" in data:
            bridge.stop = self.command((*at, "stop"), data["stop"])
        if "start_timeout" in data:
            bridge.start_timeout = self.duration((*at, "start_timeout"), data["start_timeout"])
        return bridge

    def report(self, value: Any) -> ReportConfig:
        at: Path_ = ("report",)
        data = self.section(at, value, ("dir", "templates", "requirement_marker", "requirements"))
        report = ReportConfig()
        if "dir" in data:
            report.dir = self.string((*at, "dir"), data["dir"])
        if "templates" in data:
            report.templates = self.rel_path(
                (*at, "templates"), self.string((*at, "templates"), data["templates"]), must_exist=True
            )
        if "requirement_marker" in data:
            marker = self.string((*at, "requirement_marker"), data["requirement_marker"])
            if not marker.isidentifier():
                self.bad((*at, "requirement_marker"), marker, "a marker name (a Python identifier)")
            report.requirement_marker = marker
        if "requirements" in data:
            report.requirements = self.strings((*at, "requirements"), data["requirements"], nonempty=False)
        return report

    # cross-checks against the file system

    def check_sources(self, config: Config) -> None:
        """Resolve every ``source`` entry (``config.sources``); ``config.source`` becomes what coverage.py is
        given. A name that resolves to nothing is exit 5, an installed copy of the project a config error."""
        entries = []
        for i, source in enumerate(config.source):
            line = self.lines.get(("source", i)) or self.lines.get(("source",))
            found = resolve_source(config.root, source)
            if isinstance(found, str):
                raise ConfigError(found, file=self.file, line=line)
            if found is None:
                raise NoDataError(
                    f"{self.file}:{line}: source: {cut(source)} yields no coverage data: there is no such "
                    f"folder, file or importable package under {config.root} (nor on the test process's "
                    "path, nor in src/)"
                )
            entries.append(found)
        config.sources = entries
        config.source = [entry.measure for entry in entries]

    def check_patterns(self, config: Config) -> None:
        files = source_files(config.root, config.source)
        checks: list[tuple[Path_, str]] = [(("coverage", "files", r.pattern), r.pattern) for r in config.coverage.files]
        for module in config.modules.values():
            checks += [(("modules", module.name, "files", i), f) for i, f in enumerate(module.files)]
        for at, pattern in checks:
            if not any(glob_match(pattern, f) for f in files):
                sources = ", ".join(cut(s) for s in config.source)
                self.fail(at, f"{cut(pattern)} matches no source file under source [{sources}]")
