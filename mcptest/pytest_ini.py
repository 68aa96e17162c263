"""A project's own pytest settings, found and read the way pytest finds them, without starting pytest.

pytest takes its settings from the first of these files that holds a pytest section, looking in the folder
of the tests and then in each parent: ``pytest.toml``, ``.pytest.toml``, ``pytest.ini``, ``.pytest.ini``
(these two count even without a section), ``pyproject.toml`` (``[tool.pytest]`` or
``[tool.pytest.ini_options]``), ``tox.ini`` (``[pytest]``) and ``setup.cfg`` (``[tool:pytest]``).
mcptest reads them for what it must know before pytest runs: the per-test ``timeout`` of pytest-timeout
(``mcptest init`` keeps it) and the ``pythonpath`` entries (where a ``source`` package can be imported from).
"""

from __future__ import annotations

import math
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mcptest.errors import ConfigError

FILES = ("pytest.toml", ".pytest.toml", "pytest.ini", ".pytest.ini", "pyproject.toml", "tox.ini", "setup.cfg")


@dataclass
class PytestSettings:
    """The pytest settings of one file; ``file`` is None when the project has none."""

    file: Path | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def where(self, key: str) -> str:
        """``pytest.ini: timeout = 20``, for messages and comments."""
        name = self.file.name if self.file is not None else "(none)"
        return f"{name}: {key} = {self.values.get(key)}"

    def paths(self, key: str) -> list[Path]:
        """A ``paths`` setting (``pythonpath``) as absolute paths, relative to the settings file's folder."""
        raw = self.values.get(key)
        if raw is None or self.file is None:
            return []
        items = _split(raw)
        return [(self.file.parent / item) for item in items]

    def timeout(self) -> tuple[float, str] | None:
        """pytest-timeout's per-test timeout in seconds and where it was set: the ``timeout`` setting or a
        ``--timeout`` in ``addopts`` (which pytest-timeout lets win). None when neither sets one; a timeout
        of 0 (pytest-timeout: no timeout) is returned as 0."""
        found: tuple[float, str] | None = None
        if "timeout" in self.values:
            found = (_seconds(self.values["timeout"], self, "timeout"), self.where("timeout"))
        args = _split(self.values.get("addopts", ""))
        for i, arg in enumerate(args):
            value = None
            if arg.startswith("--timeout="):
                value = arg.split("=", 1)[1]
            elif arg == "--timeout" and i + 1 < len(args):
                value = args[i + 1]
            if value is not None:
                found = (_seconds(value, self, "addopts"), f"{self.file.name if self.file else ''}: addopts --timeout")
        return found


def _split(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(item) for item in raw]
    try:
        return shlex.split(str(raw))
    except ValueError:
        return str(raw).split()


def _seconds(raw: Any, settings: PytestSettings, key: str) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"the project's pytest setting {key} holds {str(raw)!r}, which is not a timeout in seconds",
            file=str(settings.file),
        )
    return value


def find_settings(start: Path) -> PytestSettings:
    """The pytest settings that apply to tests in ``start``: the first settings file in it or a parent."""
    here = start.resolve()
    for folder in (here, *here.parents):
        for name in FILES:
            path = folder / name
            if not path.is_file():
                continue
            values = _load(path)
            if values is not None:
                return PytestSettings(path, values)
    return PytestSettings()


def _load(path: Path) -> dict[str, Any] | None:
    """The pytest section of ``path``; None when it has none (and the file does not count)."""
    if path.suffix == ".toml":
        try:
            document = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read the project's pytest settings: {exc}", file=str(path)) from None
        if path.name == "pyproject.toml":
            tool = document.get("tool", {})
            table = tool.get("pytest") if isinstance(tool, dict) else None
            if not isinstance(table, dict):
                return None
            ini = table.get("ini_options")
            native = {k: v for k, v in table.items() if k != "ini_options"}
            if native:
                return native
            return dict(ini) if isinstance(ini, dict) else None
        table = document.get("pytest", {})
        return dict(table) if isinstance(table, dict) else {}
    import iniconfig  # pytest's own ini parser (a dependency of pytest)

    try:
        parsed = iniconfig.IniConfig(str(path))
    except (OSError, UnicodeDecodeError, iniconfig.ParseError) as exc:
        raise ConfigError(f"cannot read the project's pytest settings: {exc}", file=str(path)) from None
    section = "tool:pytest" if path.name == "setup.cfg" else "pytest"
    if section in parsed:
        return dict(parsed[section].items())
    return {} if path.name in ("pytest.ini", ".pytest.ini") else None
