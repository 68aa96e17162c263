"""The ``mcptest config`` commands: validate mcptest.yaml and print it resolved."""

from __future__ import annotations

from typing import Annotated

import typer

from mcptest.cli_common import ConfigOpt, load
from mcptest.textsafe import clean

app = typer.Typer(name="config", help="Check and show the resolved configuration.", no_args_is_help=True)


@app.command("check")
def check(
    as_json: Annotated[bool, typer.Option("--json", help="Print the resolved config as JSON.")] = False,
    config_path: ConfigOpt = None,
) -> None:
    """Validate mcptest.yaml and print the resolved configuration (environment variables expanded).

    Example: mcptest config check -c path/to/mcptest.yaml
    """
    import json

    import yaml

    from mcptest.config import VIA, as_written, config_to_dict
    from mcptest.history import History, ReportDirError

    config = load(config_path)
    # the report folder as a run would find it: a file in its place stops a run, a FIFO baseline is ignored
    problems, notes = History(config.report_dir).check()
    for note in notes:
        typer.echo(clean(f"mcptest: warning: {note}"), err=True)
    if problems:
        raise ReportDirError("; ".join(problems))
    resolved = config_to_dict(config)
    data = as_written(resolved)
    if as_json:  # with what each source entry resolved to (the comment lines of the YAML form)
        typer.echo(json.dumps({**data, "sources": resolved["sources"]}, indent=2))
    else:
        typer.echo(clean(f"# {config.path}: valid"))
        for entry in config.sources:  # what each source entry resolved to, as coverage.py's --source takes it
            via = f", {VIA[entry.via]}" if entry.via in VIA else ""
            target = f" -> {entry.path}" if entry.path != entry.name else ""
            typer.echo(clean(f"# source {entry.name}{target} ({entry.kind}{via})"))
        typer.echo(yaml.safe_dump(data, sort_keys=False).rstrip())
