"""The options several mcptest commands take with the same name, help and metavar, as ``Annotated`` aliases.

An option whose help differs between commands (``--module`` of ``run`` and ``mutate``, ``--html`` of ``report``)
is an alias of its own command's module. Only typer is imported here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

#: Every command, and the app before the command (``mcptest -c PATH COMMAND``).
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        metavar="PATH",
        show_default=False,
        help="Path to mcptest.yaml (default: found in the current folder or a parent; also before the command).",
        dir_okay=False,
    ),
]

#: The report files ``run`` and ``combine`` also write.
HtmlOpt = Annotated[bool, typer.Option("--html", help="Also write the HTML report.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Also write the JSON report.")]
JunitOpt = Annotated[bool, typer.Option("--junit", help="Also write JUnit XML.")]
#: The terminal report of ``run`` and ``combine``.
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the failures, the reasons and the headline.")]


def chosen_formats(html: bool, json: bool, markdown: bool, junit: bool) -> list[str]:
    """The report formats the --html, --json, --markdown and --junit flags ask for, in that order."""
    return [f for f, on in (("html", html), ("json", json), ("markdown", markdown), ("junit", junit)) if on]
