"""Read what pytest said when it could not run the tests: the file, the line and the error line that matter.

pytest's own text (a collection error's traceback, a conftest that failed to import, a usage error, an
INTERNALERROR) is long and its most useful line is rarely the last one. These functions pick the line a user
needs and name where it came from; they never raise on text they do not recognise.
"""

from __future__ import annotations

import configparser
import re
import shlex
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_ERROR_LINE = re.compile(r"^E\s+(?P<text>[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt|Warning|Failed)\b.*)$")
_E_LINE = re.compile(r"^E\s+(?P<text>\S.*)$")
_SYNTAX_AT = re.compile(r'^E?\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_FRAME = re.compile(r"^(?P<file>[^\s:][^:]*\.py):(?P<line>\d+): in ")
_NOISE = ("site-packages", "<frozen", "importlib", "/_pytest/", "\\_pytest\\")
_CONFTEST = re.compile(r"ImportError while loading conftest '(?P<file>[^']+)'")
_MAX = 300


@dataclass(frozen=True)
class Located:
    """An error line and where it happened (``file`` relative to the project root where possible)."""

    file: str | None
    line: int | None
    text: str

    def __str__(self) -> str:
        where = self.file or ""
        if where and self.line is not None:
            where += f":{self.line}"
        return f"{where}: {self.text}" if where else self.text


def _relative(path: str, root: Path | None) -> str:
    if root is not None:
        try:
            return Path(path).resolve().relative_to(root.resolve()).as_posix()
        except (ValueError, OSError):
            pass
    return path.replace("\\", "/")


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX else text[: _MAX - 3] + "..."


def locate(text: str, *, fallback_file: str | None = None, root: Path | None = None) -> Located:
    """The error line of a pytest traceback text, with the file and line of the user's frame that raised it."""
    lines = [line.rstrip() for line in (text or "").splitlines()]
    stripped = [line.strip() for line in lines if line.strip()]
    if stripped and stripped[0].startswith("import file mismatch"):
        files = [s for s in stripped[1:] if not s.endswith(":") and not s.startswith(("imported", "which", "HINT"))]
        detail = " is collected but a module of the same name was imported from ".join(reversed(files[:2]))
        return Located(fallback_file, None, _cut(f"import file mismatch: {detail or stripped[0]}"))
    message = next((m.group("text") for line in reversed(lines) if (m := _ERROR_LINE.match(line))), None)
    if message is None:
        message = next((m.group("text") for line in reversed(lines) if (m := _E_LINE.match(line))), None)
    if message is None:
        message = next((s for s in stripped if "rror" in s), stripped[-1] if stripped else "(no details)")
    file, line_no = fallback_file, None
    syntax = next((m for line in lines if (m := _SYNTAX_AT.match(line.strip()))), None)
    if syntax is not None:
        file, line_no = _relative(syntax.group("file"), root), int(syntax.group("line"))
    else:
        frames = [m for line in lines if (m := _FRAME.match(line)) and not any(n in m.group("file") for n in _NOISE)]
        if frames:
            file, line_no = _relative(frames[-1].group("file"), root), int(frames[-1].group("line"))
    return Located(file, line_no, _cut(message))


def conftest_failure(log: str, root: Path | None = None) -> Located | None:
    """A conftest that failed to import while pytest started (pytest then exits as if its arguments were bad)."""
    match = _CONFTEST.search(log)
    if match is None:
        return None
    after = log[match.end() :]
    found = locate(after, fallback_file=_relative(match.group("file"), root), root=root)
    if found.file is None or not found.file.endswith("conftest.py"):
        found = Located(_relative(match.group("file"), root), found.line, found.text)
    return Located(found.file, found.line, f"conftest failed to import: {found.text}")


def internal_error(log: str) -> str | None:
    """The most telling ``INTERNALERROR>`` line (the exception), or None when there is none."""
    lines = [line.removeprefix("INTERNALERROR>").strip() for line in log.splitlines() if "INTERNALERROR>" in line]
    lines = [line for line in lines if line]
    if not lines:
        return None
    for line in reversed(lines):
        if re.match(r"^(E\s+)?[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line):
            return _cut(line.removeprefix("E").strip())
    return _cut(lines[-1])


def usage_error_line(log: str) -> str:
    """The line in which pytest said what was wrong with its arguments."""
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if "error:" in line.lower():
            return _cut(line)
    return _cut(lines[-1]) if lines else "(no output)"


def ini_addopts(log: str, environ: Mapping[str, str]) -> dict[str, list[str]]:
    """pytest's ``addopts`` from the ini file it names in a usage error (``inifile: PATH``) and PYTEST_ADDOPTS."""
    out: dict[str, list[str]] = {}
    match = re.search(r"^\s*(?:inifile|configfile): (?P<path>.+)$", log, re.M)
    if match is not None:
        path = Path(match.group("path").strip())
        addopts: str | list[str] | None = None
        try:
            if path.suffix == ".toml":
                data = tomllib.loads(path.read_text(encoding="utf-8"))
                section = data.get("tool", {}).get("pytest", {})
                addopts = section.get("ini_options", {}).get("addopts") or section.get("addopts")
            else:
                parser = configparser.ConfigParser(interpolation=None)
                parser.read(path, encoding="utf-8")
                for name in ("pytest", "tool:pytest"):
                    if parser.has_option(name, "addopts"):
                        addopts = parser.get(name, "addopts")
        except (OSError, ValueError, configparser.Error):
            addopts = None
        if isinstance(addopts, str):
            try:
                out[f"addopts in {path.name}"] = shlex.split(addopts)
            except ValueError:
                out[f"addopts in {path.name}"] = addopts.split()
        elif isinstance(addopts, list):
            out[f"addopts in {path.name}"] = [str(a) for a in addopts]
    env_opts = environ.get("PYTEST_ADDOPTS", "").strip()
    if env_opts:
        try:
            out["PYTEST_ADDOPTS"] = shlex.split(env_opts)
        except ValueError:
            out["PYTEST_ADDOPTS"] = env_opts.split()
    return out


def blame(error: str, sources: Mapping[str, Sequence[str]]) -> str:
    """Which source of arguments holds the one pytest rejected: ``(from the suite's pytest_args)``."""
    tokens: list[str] = []
    match = re.search(r"unrecognized arguments?: (?P<args>.+)$", error)
    if match is not None:
        tokens = match.group("args").split()
    else:
        match = re.search(r"argument (?P<opt>[^:]+):", error)
        if match is not None:
            tokens = [t.strip() for t in match.group("opt").split("/")]
    found = []
    for name, args in sources.items():
        flat = [a.split("=", 1)[0] for a in args] + list(args)
        if any(t in flat or t.split("=", 1)[0] in flat for t in tokens):
            found.append(name)
    if found:
        return f" (from {', '.join(found)})"
    given = [name for name, args in sources.items() if args]
    return f" (arguments came from: {', '.join(given)})" if given else ""
