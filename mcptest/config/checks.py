"""The validator's primitive checks: each takes a key path and a value, returns it typed or raises ConfigError."""

from __future__ import annotations

import difflib
import math
import re
import shlex
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from mcptest.config.durations import seconds_of
from mcptest.config.messages import Path_, cut, cut_text, dotted, show
from mcptest.config.sources import exists
from mcptest.config_model import Threshold
from mcptest.errors import ConfigError
from mcptest.globs import expand_glob, glob_match, is_glob

_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


@dataclass
class Checks:
    """Where the file is (for messages), the line of every key path, the folder paths are relative to, the
    environment ``${VAR}`` is expanded from."""

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
            written = seconds_of(self.expand(at, value))
            if written is None:
                self.bad(at, value, "a duration such as 30s, 5m, 1h or a number of seconds")
            seconds = written
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
        elif must_exist and not exists(self.root / norm):
            self.fail(at, f"{cut(value)} does not exist under {self.root}")
        return norm

    def test_paths(self, at: Path_, values: list[str]) -> list[str]:
        """Test files or folders that must exist; a glob is expanded here (sorted, relative to the config's
        folder) so that pytest gets real paths, and a glob that matches nothing is an error."""
        out: list[str] = []
        for i, value in enumerate(values):
            norm = self.rel_path((*at, i), value, must_exist=True)
            if is_glob(norm) and not exists(self.root / norm):
                matches = expand_glob(self.root, norm)
                if not matches:
                    self.fail((*at, i), f"{cut(value)} matches no file or folder under {self.root}")
            else:
                matches = [norm]
            out += [m for m in matches if m not in out]
        return out

    def command(self, at: Path_, value: Any) -> str:
        text = self.string(at, value)
        try:
            shlex.split(text)
        except ValueError as exc:
            self.fail(at, f"cannot split {cut(text)} into a command: {exc}")
        return text


def _glob_problem(pattern: str) -> str | None:
    """Why ``pattern`` cannot be used as a glob (a bad character range, ...), or None when it can."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "possible nested set" would be a FutureWarning on every match
        try:
            glob_match(pattern, "")
        except (re.error, FutureWarning) as exc:
            return str(exc)
    return None
