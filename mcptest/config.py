"""Find, read and validate mcptest.yaml; every error names file:line, the dotted key, the value and the expectation."""

from __future__ import annotations

import contextlib
import difflib
import math
import os
import re
import shlex
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from mcptest.config_model import (
    BridgeConfig,
    Config,
    CoverageConfig,
    FileRule,
    ModuleConfig,
    ReportConfig,
    SourceEntry,
    SuiteConfig,
    Threshold,
)
from mcptest.errors import ConfigError, NoDataError
from mcptest.globs import expand_glob, glob_match, is_glob

CONFIG_NAME = "mcptest.yaml"
TEST_TYPES = ("unit", "integration", "e2e", "custom")
BRIDGE_STATES = ("ok", "degraded", "error", "unreachable")
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
MAX_VALUES = 100_000  # keys and items after YAML aliases are expanded
MAX_CHARACTERS = 1_000_000  # characters of all keys and scalars after YAML aliases are expanded
CUT = 200  # values longer than this are shown cut in messages

Path_ = tuple[str | int, ...]


def find_config(start: Path | None = None) -> Path:
    """The nearest mcptest.yaml in ``start`` (default: the current directory) or one of its parents."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    raise ConfigError(f"no {CONFIG_NAME} in {here} or its parents; create one with 'mcptest init' or pass -c PATH")


def load_config(path: Path | None = None, *, environ: Mapping[str, str] | None = None) -> Config:
    """Read and validate a config file (``None``: find it from the current directory)."""
    path = find_config() if path is None else path
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    if path.is_dir():
        raise ConfigError(f"config path {path} is a folder, not a file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(
            f"byte {raw[exc.start]:#04x} is not valid UTF-8; save the file as UTF-8", file=_display(path), line=line
        ) from None
    return parse_config(text, path, environ=os.environ if environ is None else environ)


def parse_config(text: str, path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Validate config ``text`` as if read from ``path`` (paths in it are relative to its folder)."""
    display = _display(path)
    data, lines = _compose(text, display)
    v = _Validator(display, lines, path.resolve().parent, os.environ if environ is None else environ)
    return v.config(data, path)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


# --- YAML with line numbers -------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML's safe composer, remembering the line of every alias (the node it names keeps the anchor's line)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_lines: dict[tuple[int, Any], int] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        if parent is not None and self.check_event(yaml.AliasEvent):
            self.alias_lines[_child_key(parent, index)] = self.peek_event().start_mark.line + 1
        return super().compose_node(parent, index)


def _child_key(parent: yaml.Node, index: Any) -> tuple[int, Any]:
    """How the composer and ``_Converter`` name a child: its parent and its index (a key node for a mapping)."""
    return (id(parent), id(index) if isinstance(index, yaml.Node) else index)


def _compose(text: str, display: str) -> tuple[Any, dict[Path_, int]]:
    """Parse YAML into plain values plus the line of every key path (1-based)."""
    loader: _Loader | None = None
    try:
        loader = _Loader(text)  # its reader checks the characters at once
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise ConfigError(f"invalid YAML: {cut_text(problem)}", file=display, line=line) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise ConfigError(
            f"invalid YAML: unacceptable character #x{exc.character:04x}", file=display, line=line
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(cut_text(f"invalid YAML: {exc}".splitlines()[0]), file=display, line=1) from None
    except (ValueError, RecursionError) as exc:
        # yaml raises plain ValueError for some impossible scalars; report them like YAML errors
        raise ConfigError(cut_text(f"invalid YAML: {exc}"), file=display, line=1) from None
    finally:
        if loader is not None:
            loader.dispose()
    converter = _Converter(display, loader.alias_lines)
    if node is None:
        return None, converter.lines
    return converter.convert(node, (), None, None), converter.lines


class _Converter:
    """Composed YAML nodes to plain values, bounded AFTER alias expansion.

    An alias repeats its node wherever it is used, so a short file can stand for gigabytes (a 100 KB
    scalar aliased 5,000 times is 500 MB of values); the number of values and their total characters
    are counted as they are expanded, and the alias in use when a limit is passed is named.
    """

    def __init__(self, display: str, alias_lines: dict[tuple[int, Any], int]) -> None:
        self.display = display
        self.alias_lines = alias_lines
        self.lines: dict[Path_, int] = {}
        self.seen: set[int] = set()
        self.values = 0
        self.chars = 0
        self.alias_line: int | None = None  # the line of the alias being expanded, if any

    def fail(self, message: str, line: int) -> NoReturn:
        raise ConfigError(message, file=self.display, line=line)

    def count(self, node: yaml.Node) -> None:
        self.values += 1
        if isinstance(node, yaml.ScalarNode):
            self.chars += len(node.value)
        line = self.alias_line or node.start_mark.line + 1
        alias = " (YAML aliases expanding too far?)" if self.alias_line is None else " (through this YAML alias)"
        if self.values > MAX_VALUES:
            self.fail(f"more than {MAX_VALUES} values after YAML aliases are expanded{alias}", line)
        if self.chars > MAX_CHARACTERS:
            self.fail(
                f"the values add up to more than {MAX_CHARACTERS} characters after YAML aliases are expanded{alias}",
                line,
            )

    def convert(self, node: yaml.Node, at: Path_, parent: yaml.Node | None, index: Any) -> Any:
        outer = self.alias_line
        if id(node) in self.seen and parent is not None:  # a node met again is an alias's repetition
            self.alias_line = self.alias_lines.get(_child_key(parent, index), outer)
        self.seen.add(id(node))
        try:
            return self._convert(node, at)
        finally:
            self.alias_line = outer

    def _convert(self, node: yaml.Node, at: Path_) -> Any:
        self.lines[at] = node.start_mark.line + 1
        if len(at) > 50:
            self.fail("nesting is too deep", self.lines[at])
        self.count(node)
        display = self.display
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    self.fail("a key must be a plain value", key_node.start_mark.line + 1)
                if key_node.tag == "tag:yaml.org,2002:merge":
                    self.fail("YAML merge keys (<<) are not supported", key_node.start_mark.line + 1)
                self.count(key_node)
                key = _scalar(key_node, display)
                if not isinstance(key, str | int | float | bool) or key is None:
                    self.fail(f"key {cut(key)} is not a plain value", key_node.start_mark.line + 1)
                key = str(key) if not isinstance(key, str) else key
                if key in result:
                    self.fail(f"key {cut(key)} appears twice", key_node.start_mark.line + 1)
                child = (*at, key)
                result[key] = self.convert(value_node, child, node, key_node)
                self.lines[child] = key_node.start_mark.line + 1
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.convert(item, (*at, i), node, i) for i, item in enumerate(node.value)]
        return _scalar(node, display)


def _scalar(node: yaml.Node, display: str) -> Any:
    try:
        return yaml.SafeLoader("").construct_object(node, deep=True)
    # PyYAML's constructors raise KeyError, IndexError or AttributeError for some explicitly tagged
    # scalars (!!bool x, !!int '', !!timestamp x)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError, LookupError, AttributeError) as exc:
        problem = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else str(exc)
        raise ConfigError(
            f"invalid value {cut(node.value)}: {cut_text(problem.splitlines()[0] if problem else '')}",
            file=display,
            line=node.start_mark.line + 1,
        ) from None


# --- validation -----------------------------------------------------------------------------------


def dotted(at: Path_) -> str:
    """``coverage.files."pkg/x.py".line`` for a key path; list items as ``[i]``."""
    out = ""
    for part in at:
        if isinstance(part, int):
            out += f"[{part}]"
            continue
        part = cut_text(part)
        text = part if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", part) else '"' + part.replace('"', '\\"') + '"'
        text = re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m.group())[1:-1], text)  # keep the message one line
        out += ("." if out else "") + text
    return out


def cut_text(text: str, limit: int = CUT) -> str:
    """``text``, or its start and ``... (N characters)`` when it is longer than ``limit``."""
    if len(text) <= limit:
        return text
    return f"{text[: limit // 2]}... ({len(text)} characters)"


def cut(value: Any) -> str:
    """``repr(value)`` for a message, cut like ``cut_text`` when the value is long (a 100 KB string ...)."""
    if isinstance(value, str) and len(value) > CUT:
        return f"{value[: CUT // 2]!r}... ({len(value)} characters)"
    return cut_text(repr(value))


def show(value: Any) -> str:
    if isinstance(value, str):
        return cut(value)
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if value is None:
        return "null (empty)"
    return str(value).lower() if isinstance(value, bool) else cut(value)


@dataclass
class _Validator:
    file: str
    lines: dict[Path_, int]
    root: Path
    environ: Mapping[str, str]

    def fail(self, at: Path_, message: str) -> NoReturn:
        line = None
        probe = at
        while line is None:
            line = self.lines.get(probe)
            if not probe:
                break
            probe = probe[:-1]
        raise ConfigError(message, file=self.file, line=line or 1, key=dotted(at) or None)

    def bad(self, at: Path_, value: Any, expected: str) -> NoReturn:
        self.fail(at, f"{show(value)} is not {expected}")

    # primitive checks

    def mapping(
        self, at: Path_, value: Any, allowed: tuple[str, ...] | None, required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.bad(at, value, "a mapping")
        if allowed is not None:
            for key in value:
                if key not in allowed:
                    close = difflib.get_close_matches(key, allowed, n=1)
                    hint = f"; did you mean {close[0]!r}?" if close else ""
                    self.fail((*at, key), f"unknown key {cut(key)} (expected one of: {', '.join(allowed)}){hint}")
        for key in required:
            if key not in value:
                self.fail(at, f"the key {cut(key)} is required")
        return value

    def section(self, at: Path_, value: Any, allowed: tuple[str, ...] | None) -> dict[str, Any]:
        """An optional mapping: absent or null (``bridges:`` with every entry commented out) is empty; any
        other value must be a mapping (``[]``, ``""``, ``0`` or ``false`` are errors, not empty mappings)."""
        return {} if value is None else self.mapping(at, value, allowed)

    def string(self, at: Path_, value: Any, *, empty: bool = False) -> str:
        if not isinstance(value, str):
            self.bad(at, value, "a string")
        value = self.expand(at, value)
        if not empty and not value.strip():
            self.fail(at, "an empty string is not allowed here")
        return value

    def expand(self, at: Path_, value: str) -> str:
        def sub(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in self.environ and (default is None or self.environ[name] != ""):
                return self.environ[name]
            if default is not None:
                return default
            shown = cut_text(name)
            self.fail(at, f"environment variable {shown} is not set (write ${{{shown}:-default}} for a default)")

        return _ENV.sub(sub, value)

    def strings(self, at: Path_, value: Any, *, allow_single: bool = True, nonempty: bool = True) -> list[str]:
        if isinstance(value, str) and allow_single:
            value = [value]
        if not isinstance(value, list):
            self.bad(at, value, "a list of strings")
        if nonempty and not value:
            self.fail(at, "the list is empty")
        return [self.string((*at, i), item) for i, item in enumerate(value)]

    def number(self, at: Path_, value: Any, low: float, high: float | None) -> float:
        if isinstance(value, str):
            try:
                value = float(self.expand(at, value))
            except ValueError:
                self.bad(at, value, "a number")
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            self.bad(at, value, "a number")
        if value < low or (high is not None and value > high):
            rng = f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"
            self.fail(at, f"{show(value)} is not {rng}")
        try:
            return float(value)
        except OverflowError:
            self.bad(at, value, "a number of a usable size")

    def boolean(self, at: Path_, value: Any) -> bool:
        if not isinstance(value, bool):
            self.bad(at, value, "true or false")
        return value

    def duration(self, at: Path_, value: Any) -> float:
        """Seconds from a number or a string such as ``500ms``, ``30s``, ``5m``, ``1h``."""
        if isinstance(value, str):
            match = _DURATION.match(self.expand(at, value))
            if not match:
                self.bad(at, value, "a duration such as 30s, 5m, 1h or a number of seconds")
            scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
            seconds = float(match.group(1)) * scale
        else:
            seconds = self.number(at, value, 0, None)
        if seconds <= 0:
            self.bad(at, value, "a duration greater than zero")
        if not math.isfinite(seconds):
            self.bad(at, value, "a finite duration")
        return seconds

    def name(self, at: Path_, value: str, what: str) -> str:
        if not _NAME.match(value):
            self.fail(
                at,
                f"{what} name {cut(value)} must start with a letter or digit and use only "
                "letters, digits, '_', '-' and '.'",
            )
        return value

    def threshold(self, at: Path_, value: Any, *, extra: tuple[str, ...] = ()) -> Threshold:
        data = self.mapping(at, value, ("line", "branch", *extra))
        t = Threshold(key=dotted(at), lineno=self.lines.get(at))
        if "line" in data:
            t.line = self.number((*at, "line"), data["line"], 0, 100)
        if "branch" in data:
            t.branch = self.number((*at, "branch"), data["branch"], 0, 100)
        return t

    def rel_path(self, at: Path_, value: str, *, must_exist: bool) -> str:
        if Path(value).is_absolute():
            self.fail(at, f"{cut(value)} must be relative to the config file's folder")
        norm = Path(value).as_posix().rstrip("/") or "."
        if is_glob(norm):
            problem = _glob_problem(norm)
            if problem:
                self.fail(at, f"{cut(value)} is not a valid glob: {problem}")
        elif must_exist and not _exists(self.root / norm):
            self.fail(at, f"{cut(value)} does not exist under {self.root}")
        return norm

    def test_paths(self, at: Path_, values: list[str]) -> list[str]:
        """Test files or folders that must exist; a glob is expanded here (sorted, relative to the config's
        folder) so that pytest gets real paths, and a glob that matches nothing is an error."""
        out: list[str] = []
        for i, value in enumerate(values):
            norm = self.rel_path((*at, i), value, must_exist=True)
            if is_glob(norm) and not _exists(self.root / norm):
                matches = expand_glob(self.root, norm)
                if not matches:
                    self.fail((*at, i), f"{cut(value)} matches no file or folder under {self.root}")
            else:
                matches = [norm]
            out += [m for m in matches if m not in out]
        return out

    # sections

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
        data = self.section(at, value, ("branch", "overall", "files", "max_drop"))
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

    def command(self, at: Path_, value: Any) -> str:
        text = self.string(at, value)
        try:
            shlex.split(text)
        except ValueError as exc:
            self.fail(at, f"cannot split {cut(text)} into a command: {exc}")
        return text

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


def _exists(path: Path) -> bool:
    """``path.exists()``, but False for a name the OS refuses (too long, a NUL byte)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def _glob_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used as a glob (a bad character range, ...), or None when it can."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "possible nested set" would be a FutureWarning on every match
        try:
            glob_match(pattern, "")
        except (re.error, FutureWarning) as exc:
            return str(exc)
    return None


def parse_duration(text: str) -> float | None:
    """Seconds from ``500ms``, ``30s``, ``5m``, ``1h`` or a number; None when it is no duration above zero."""
    match = _DURATION.match(text)
    if not match:
        return None
    seconds = float(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    return seconds if seconds > 0 and math.isfinite(seconds) else None


def _relative(path: Path, root: Path) -> Path:
    """``path`` relative to ``root``, both resolved; with '..' parts when outside (a symlink, ../lib)."""
    return Path(os.path.relpath(path.resolve(), root.resolve()))


_MODULE_NAME = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*\Z")
_INSTALLED_DIRS = ("site-packages", "dist-packages")
VIA = {
    "root": "importable from the project folder",
    "pythonpath": "on pytest's pythonpath",
    "installed": "installed, the interpreter imports it from there",
    "src": "src layout",
}


def resolve_source(root: Path, name: str) -> SourceEntry | str | None:
    """What a ``source`` entry names, the way coverage.py's ``--source`` takes it: a folder (or file) relative
    to ``root``, else an importable package or module. None when it names nothing; the reason (a string) when
    it names a copy that is not the project's (an installed copy in ``site-packages``, another checkout while
    the project has its own ``src/NAME``): the tests would import and measure that copy.

    A name is looked up where the test process (``python -m pytest`` in ``root``) imports it from: the
    entries of the project's pytest ``pythonpath``, ``root`` itself, then what this interpreter (the one
    that runs the tests) finds on its path and import hooks (an editable install, a ``.pth`` file), and
    last ``src/`` (a src layout that a conftest puts on the path). The project is never imported.
    """
    base = root / name
    if _exists(base):
        return SourceEntry(name, name, "folder" if base.is_dir() else "file", name)
    if not _MODULE_NAME.match(name):
        return None
    parts = name.split(".")
    places: list[tuple[Path, str]] = [(folder, "pythonpath") for folder in _pytest_pythonpath(root)]
    places.append((root, "root"))
    for folder, via in places:
        hit = _in_folder(folder, parts)
        if hit is not None:
            return _entry(root, name, hit, via)
    for location in _import_locations(parts[0], root):
        hit = _in_folder(location.parent, [location.name, *parts[1:]]) if location.is_dir() else None
        if hit is None and location.is_file() and len(parts) == 1:
            hit = ("module", location)
        if hit is None:
            continue
        own = _in_folder(root / "src", parts)
        installed = any(part in _INSTALLED_DIRS for part in hit[1].parts)
        if installed or (own is not None and _outside(hit[1], root)):
            # the tests would run that copy: its numbers are not the project's, and its paths not under root
            what = "an installed copy" if installed else "another copy"
            project = f" ({_relative(own[1], root).as_posix()})" if own is not None else ""
            return (
                f"source: {cut(name)} is imported from {what}, {hit[1]}, not from the project{project}: "
                "install the project editable (pip install -e .) so that its tests import its own files"
            )
        return _entry(root, name, hit, "installed")
    hit = _in_folder(root / "src", parts)
    return _entry(root, name, hit, "src") if hit is not None else None


def _entry(root: Path, name: str, hit: tuple[str, Path], via: str) -> SourceEntry:
    kind, path = hit
    rel = _relative(path, root).as_posix()
    # coverage.py measures a package as its folder, so the files measured are the ones checked here; a module
    # is given by its name (coverage.py's --source takes no files)
    return SourceEntry(name, rel, kind, rel if kind == "package" else name, via)


def _outside(path: Path, root: Path) -> bool:
    return _relative(path, root).parts[:1] == ("..",)


def _in_folder(folder: Path, parts: list[str]) -> tuple[str, Path] | None:
    """``folder/a/b`` as a package folder or ``folder/a/b.py`` as a module, for the dotted name ``a.b``."""
    package = folder.joinpath(*parts)
    if _exists(package) and package.is_dir():
        return ("package", package)
    module = folder.joinpath(*parts[:-1], parts[-1] + ".py")
    if _exists(module) and module.is_file():
        return ("module", module)
    return None


def _pytest_pythonpath(root: Path) -> list[Path]:
    from mcptest.pytest_ini import find_settings

    try:
        return find_settings(root).paths("pythonpath")
    except ConfigError:
        return []  # pytest itself reports a settings file it cannot read


def _import_locations(top: str, root: Path) -> list[Path]:
    """Where this interpreter would import the top-level module ``top`` from, without importing anything.

    The path entries of this process (PYTHONPATH, site-packages, ``.pth`` files) but not the working folder that
    ``python -m mcptest`` put first (the tests run in ``root``), then the import hooks other than the standard
    ones (setuptools' editable installs add one).
    """
    import importlib.machinery
    import sys

    try:
        here = os.path.realpath(os.getcwd())
    except OSError:
        here = ""
    path = [
        p
        for i, p in enumerate(sys.path)
        if p and not (i == 0 and os.path.realpath(p) == here) and os.path.realpath(p) != os.path.realpath(root)
    ]
    standard = (importlib.machinery.PathFinder, importlib.machinery.BuiltinImporter, importlib.machinery.FrozenImporter)
    specs = []
    with contextlib.suppress(Exception):  # a broken path entry or hook never stops the config from loading
        specs.append(importlib.machinery.PathFinder.find_spec(top, path))
    for finder in list(sys.meta_path):
        if finder in standard or not hasattr(finder, "find_spec"):
            continue
        with contextlib.suppress(Exception):
            specs.append(finder.find_spec(top, None))
    locations: list[Path] = []
    for spec in specs:
        if spec is None:
            continue
        if spec.submodule_search_locations and spec.origin is None:
            # a namespace package (any folder of that name on the path): only the project's own folders count
            locations += [Path(p) for p in spec.submodule_search_locations if not _outside(Path(p), root)]
        elif spec.submodule_search_locations:
            locations += [Path(p) for p in spec.submodule_search_locations]
        elif spec.origin and spec.origin.endswith(".py"):
            locations.append(Path(spec.origin))
    return locations


def top_level_packages(root: Path, sources: list[str]) -> set[str]:
    """The top-level import names whose code the ``source`` entries measure (for pytest-plugin detection).

    A dotted name gives its first part; a folder or file inside a package gives that package's top-level
    name (found by walking up the ``__init__.py`` files); a folder that is no package (``src``, a plain
    folder of modules) gives the packages and modules directly inside it.
    """
    names: set[str] = set()
    for source in sources:
        base = root / source
        if not _exists(base):
            if _MODULE_NAME.match(source):
                names.add(source.split(".")[0])
            continue
        top = base.resolve() if base.is_dir() else base.resolve().parent
        if not (top / "__init__.py").is_file():
            if base.is_file():
                names.add(base.stem)  # a module outside any package
                continue
            names.add(base.resolve().name)  # a namespace package, or a plain folder such as src
            for child in _children(base):
                if child.is_dir() and child.name.isidentifier():
                    names.add(child.name)
                elif child.suffix == ".py" and child.stem.isidentifier():
                    names.add(child.stem)
            continue
        while (top.parent / "__init__.py").is_file() and top.parent != top:
            top = top.parent
        names.add(top.name)
    return names


def _children(folder: Path) -> list[Path]:
    try:
        return [c for c in folder.iterdir() if not c.name.startswith((".", "__pycache__"))]
    except OSError:
        return []


def source_files(root: Path, sources: list[str]) -> list[str]:
    """The .py files (relative posix paths) that the ``source`` entries name: folders, files or packages."""
    found: set[str] = set()
    for source in sources:
        entry = resolve_source(root, source)
        if not isinstance(entry, SourceEntry):
            continue
        base = root / entry.path
        if base.is_file() and base.suffix == ".py":
            found.add(_relative(base, root).as_posix())
        elif base.is_dir():
            for file in base.rglob("*.py"):
                rel = _relative(file, root)
                if any(
                    (part.startswith(".") and part != "..") or part in ("__pycache__", "node_modules")
                    for part in rel.parts
                ):
                    continue
                found.add(rel.as_posix())
    return sorted(found)


def config_to_dict(config: Config) -> dict[str, Any]:
    """The resolved config as plain data (for ``mcptest config check``)."""
    import dataclasses

    def clean(value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, dict):
            return {
                k: clean(v) for k, v in value.items() if k not in ("lineno", "key", "max_drop_key", "max_drop_lineno")
            }
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    result: dict[str, Any] = clean(dataclasses.asdict(config))
    return result
