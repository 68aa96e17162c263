"""What the mcptest commands share: the --config option, the consoles, the config, the history's warnings.

``ConfigOpt`` is defined with the other shared options in ``cli_options`` (and importable from here). Only typer
is imported here; rich, the config loader and the history are imported when a command runs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from mcptest.cli_options import ConfigOpt as ConfigOpt  # re-exported
from mcptest.errors import UsageError

if TYPE_CHECKING:
    from rich.console import Console

    from mcptest.config_model import Config


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 120
    # Foreign text goes through console_report.plain / markup; emoji=False keeps ":name:" in it as written.
    return Console(stderr=stderr, highlight=False, emoji=False, width=width)


#: ``mcptest -c PATH COMMAND``: the config given before the command, used when the command is given none.
GLOBAL: dict[str, Path | None] = {"config": None}


def config_path_of(config_path: Path | None) -> Path | None:
    """The command's own ``-c``, else the one given before the command, else None (searched for)."""
    return config_path if config_path is not None else GLOBAL["config"]


def load(config_path: Path | None) -> Config:
    from mcptest.config import load_config

    return load_config(config_path_of(config_path))


def warn(warnings: list[str]) -> None:
    """The history's warnings (unreadable records: paths and parser messages are foreign text) on stderr."""
    if not warnings:
        return
    from mcptest.console_report import markup

    err = console(stderr=True)
    for warning in warnings:
        err.print(markup("mcptest: warning: {}", warning), soft_wrap=True)


def no_record(config: Config, run_id: str | None) -> NoReturn:
    """The usage error of a command that needs a stored run (``--run ID``, else the latest) and found none."""
    what = f"run {run_id}" if run_id else "latest run"
    raise UsageError(f"no readable {what} in {config.report_dir}; run 'mcptest run SUITE' first")
