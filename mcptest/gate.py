"""The gate stage for the run: coverage numbers against the config's thresholds, the audit gate, the partial run's
narrower gates, and the verdicts into the record's reasons, status and exit code (``conclude``).

The verdicts of each suite's own run are in ``suite_gate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mcptest import display, exitcodes
from mcptest.config_model import Config, Threshold
from mcptest.globs import glob_match
from mcptest.model import PARTIAL_PREFIX, CoverageReport, RunRecord, Totals, Verdict

if TYPE_CHECKING:
    from mcptest.collect import SuiteRun
    from mcptest.plan import RunOptions

#: Which exit code a failed verdict of each kind asks for.
KIND_CODES = {
    "tests": exitcodes.TESTS_FAILED,
    "process": exitcodes.TESTS_FAILED,
    "threshold": exitcodes.THRESHOLD_MISSED,
    "max_drop": exitcodes.THRESHOLD_MISSED,
    "flaky": exitcodes.TESTS_FAILED,
    "audit": exitcodes.TESTS_FAILED,
    "traffic": exitcodes.TESTS_FAILED,
    "bridge": exitcodes.BRIDGE_UNAVAILABLE,
    "config": exitcodes.CONFIG_ERROR,
    "collection": exitcodes.NO_TESTS_OR_DATA,
    "data": exitcodes.NO_TESTS_OR_DATA,
    "budget": exitcodes.BUDGET_EXCEEDED,
    "interrupted": exitcodes.INTERRUPTED,
}


#: A percentage floored to one decimal, so 79.99 never shows as a passing-looking 80.0 (the rule of every writer).
pct = display.pct


def _met(actual: float | None, required: float) -> bool:
    return actual is not None and actual + 1e-9 >= required


def _check(kind: str, target: str, totals: Totals, threshold: Threshold, label: str) -> list[Verdict]:
    out = []
    for metric, required, actual, measured in (
        ("line", threshold.line, totals.line_percent, totals.statements),
        ("branch", threshold.branch, totals.branch_percent, totals.branches),
    ):
        if required is None:
            continue
        if not measured:  # nothing to measure is not a miss: say so instead of inventing a number
            what = "no branches to measure" if metric == "branch" else "no statements"
            message = f"{label}: {what}, {metric} minimum {required:g}% not applicable"
            out.append(Verdict(kind, target, metric, None, required, True, threshold.key, message))
            continue
        passed = _met(actual, required)
        word = "meets" if passed else "is below"
        message = f"{label} {metric} coverage {pct(actual)} {word} the required {required:g}%"
        out.append(Verdict(kind, target, metric, actual, required, passed, threshold.key, message))
    return out


def coverage_verdicts(
    config: Config, report: CoverageReport, *, only_modules: Sequence[str] = (), partial: bool = False
) -> list[Verdict]:
    """Verdicts of the overall, per-file, per-module and max_drop gates.

    ``only_modules`` narrows them to those modules and their files. A ``partial`` run (its tests were narrowed)
    is gated on nothing else: its numbers are not those of the suite, so no gate of the suite can be judged.
    """
    verdicts: list[Verdict] = []
    if partial and not only_modules:
        return verdicts
    evaluate_overall = not partial
    scope_files: set[str] | None = None
    if only_modules:
        scope_files = {p for m in report.modules if m.name in only_modules for p in m.files}
    if evaluate_overall and not only_modules and not config.coverage.overall.empty:
        verdicts += _check("threshold", "overall", report.overall, config.coverage.overall, "overall")
    verdicts += _file_verdicts(config, report, scope_files)
    verdicts += _module_verdicts(config, report, only_modules)
    if config.coverage.max_drop is not None and report.baseline_id is not None:
        verdicts += _drops(config, report, scope_files, evaluate_overall and not only_modules)
    return verdicts


def _file_verdicts(config: Config, report: CoverageReport, scope_files: set[str] | None) -> list[Verdict]:
    """The per-file gates; a pattern that matches no measured file is a config error."""
    verdicts: list[Verdict] = []
    for rule in config.coverage.files:
        matched = [f for f in report.files if glob_match(rule.pattern, f.path)]
        if not matched:
            verdicts.append(
                Verdict(
                    "config",
                    f"file:{rule.pattern}",
                    "line",
                    None,
                    None,
                    False,
                    rule.threshold.key,
                    f"{rule.threshold.key}: {rule.pattern!r} matches no measured file",
                )
            )
            continue
        for f in matched:
            if scope_files is not None and f.path not in scope_files:
                continue
            verdicts += _check("threshold", f"file:{f.path}", f.totals, rule.threshold, f.path)
    return verdicts


def _module_verdicts(config: Config, report: CoverageReport, only_modules: Sequence[str]) -> list[Verdict]:
    """The per-module gates; a module whose files match no measured file is a config error."""
    verdicts: list[Verdict] = []
    for module in report.modules:
        if only_modules and module.name not in only_modules:
            continue
        mconf = config.modules[module.name]
        if not module.files:
            verdicts.append(
                Verdict(
                    "config",
                    f"module:{module.name}",
                    "line",
                    None,
                    None,
                    False,
                    f"modules.{module.name}.files",
                    f"modules.{module.name}.files: {mconf.files} match no measured file",
                )
            )
            continue
        verdicts += _check(
            "threshold", f"module:{module.name}", module.totals, mconf.threshold, f"module {module.name}"
        )
    return verdicts


def _drops(config: Config, report: CoverageReport, scope: set[str] | None, overall: bool) -> list[Verdict]:
    limit = config.coverage.max_drop
    assert limit is not None
    out = []
    targets: list[tuple[str, Totals]] = [("overall", report.overall)] if overall else []
    targets += [(f"file:{f.path}", f.totals) for f in report.files if scope is None or f.path in scope]
    for target, totals in targets:
        for metric, delta in (("line", totals.delta_line), ("branch", totals.delta_branch)):
            if delta is None or delta >= -limit - 1e-9:
                continue
            label = target.removeprefix("file:")
            out.append(
                Verdict(
                    "max_drop",
                    target,
                    metric,
                    delta,
                    -limit,
                    False,
                    config.coverage.max_drop_key,
                    f"{label} {metric} coverage dropped {display.drop(delta)} pp against the baseline "
                    f"(max_drop {limit:g} pp)",
                )
            )
    return out


def failed(verdicts: Sequence[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if not v.passed]


def exit_code(verdicts: Sequence[Verdict]) -> int:
    """The exit code that the failed verdicts ask for, by the documented precedence."""
    return exitcodes.pick(KIND_CODES.get(v.kind, exitcodes.TESTS_FAILED) for v in verdicts if not v.passed)


def conclude(record: RunRecord, verdicts: list[Verdict]) -> None:
    """The record's verdicts, exit code, reasons and status from ``verdicts``."""
    record.verdicts = verdicts
    record.exit_code = exit_code(verdicts)
    record.exit_reason = exitcodes.name(record.exit_code)
    record.reasons = [v.message for v in failed(verdicts)]
    complete = record.complete and record.exit_code != exitcodes.INTERRUPTED
    if not complete:
        record.status = "incomplete"
    else:
        record.status = "passed" if record.exit_code == exitcodes.OK else "failed"


def settle_selection(record: RunRecord, options: RunOptions, runs: Sequence[SuiteRun]) -> None:
    """Partial when what pytest selected is narrower than the suites: said in the record and in every report."""
    reasons: list[str] = list(options.narrowed)  # --shard K/N (mcptest.cli_ci)
    if options.modules:
        reasons.append(f"--module {', '.join(options.modules)} runs only its tests")
    for run in runs:
        reasons += [f"suite {run.result.name}: {why}" for why in run.narrowed]
    selection = record.selection
    selection.partial = bool(reasons)
    selection.partial_reasons = reasons
    if not reasons:
        return
    if options.modules:
        gates = f"only the gates of module(s) {', '.join(options.modules)} and their files are evaluated"
    else:
        gates = "overall, per-file, per-module and max_drop gates are not evaluated"
    record.warnings.append(f"{PARTIAL_PREFIX} {gates}, because {'; '.join(reasons)}")


def audit_verdict(config: Config, record: RunRecord, result: Any = None) -> Verdict:
    """The audit gate (``audit: {gate: true}``): every finding is kept in the record.

    ``result``: the audit already run (in the background, while the tests ran); else it runs here.
    """
    from mcptest.model import AuditFinding

    if result is None:
        result = run_audit(config)
    record.audit = [
        AuditFinding(rule=f.rule, file=f.file, line=f.line, reason=f.reason, test=f.test) for f in result.findings
    ]
    record.audit_counts = result.counts
    listed = "; ".join(f"{f.file}:{f.line} {f.rule}" for f in result.findings[:5])
    more = f" and {len(result.findings) - 5} more" if len(result.findings) > 5 else ""
    per_rule = ", ".join(f"{rule} {n}" for rule, n in result.counts.items() if n)
    message = (
        f"audit: {len(result.findings)} finding(s) in the suites' tests: {listed}{more} (per rule: {per_rule})"
        if result.findings
        else f"audit: no finding in {result.files_scanned} test file(s)"
    )
    return Verdict("audit", "audit", "count", float(len(result.findings)), 0, result.ok, "audit.gate", message)


def run_audit(config: Config) -> Any:
    """``mcptest audit`` with the config's naming rule and excluded folders."""
    from mcptest.audit import DEFAULT_IGNORE_DIRS, audit_config

    return audit_config(config, naming=audit_naming(config), ignore_dirs=(*DEFAULT_IGNORE_DIRS, *config.audit_exclude))


def audit_naming(config: Config) -> str | None:
    """The naming regex for the audit: the default convention, the configured one, or None when disabled."""
    from mcptest.audit import DEFAULT_NAMING

    if config.audit_naming is None:
        return DEFAULT_NAMING
    return config.audit_naming or None
