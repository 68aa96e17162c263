"""``mcptest audit``: tests that cannot fail, are never run or are not wired into a suite (``mcptest.audit``)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from mcptest import exitcodes
from mcptest.cli_common import ConfigOpt, console, load


def audit(
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
    gate: Annotated[
        bool, typer.Option("--gate", help="Exit 1 (tests-failed) when there is any finding, for use as a CI step.")
    ] = False,
    config_path: ConfigOpt = None,
) -> None:
    """Read the suites' source and list tests that cannot fail or are not run.

    Rules: tests with no assertion, assertions that cannot fail, assertions only on mocks the code
    never sees, values computed and never checked, empty tests, placeholder and unused fixtures, test
    files no suite collects, integration/e2e tests that fake HTTP, sleeps in unit suites (by the
    suite's type), unconditional skips, names that break the test_<feature>_<scenario>_<expected>
    convention. Each rule with findings is listed with its count, why it matters and how to fix it.
    Silence a rule on a line with a comment '# mcptest: ignore[RULE]'.

    Example: mcptest audit --gate
    """
    import json

    from mcptest.gate import run_audit

    config = load(config_path)
    gate = gate or config.audit_gate
    result = run_audit(config)
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_result(result)
    raise typer.Exit(exitcodes.TESTS_FAILED if gate and not result.ok else exitcodes.OK)


def _print_result(result: Any) -> None:
    """Each finding as ``file:line: RULE reason``, then the counts by rule."""
    from mcptest import audit as audit_rules
    from mcptest.console_report import markup

    out = console()
    for finding in result.findings:
        out.print(
            markup("{}:{}: [bold]{}[/bold] {}", finding.file, finding.line, finding.rule, finding.reason),
            soft_wrap=True,
        )
    for rule in audit_rules.ALL:  # per rule: how many, why it matters, how to fix
        if result.counts[rule.id]:
            out.print(markup("  {} {}: {}; fix: {}", rule.id, result.counts[rule.id], rule.why, rule.hint),
                      soft_wrap=True)
    counts = ", ".join(f"{rule} {n}" for rule, n in result.counts.items() if n)
    out.print(
        f"{len(result.findings)} finding(s) in {result.files_scanned} file(s)"
        + (f" ({counts})" if counts else "")
        + (f"; {result.suppressed} silenced" if result.suppressed else "")
    )
