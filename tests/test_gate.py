"""Gates on data: per-file globs apply to each file, modules on combined numbers, max_drop, no-branch files."""

from __future__ import annotations

from pathlib import Path

from mcptest import covdata, exitcodes, gate
from mcptest.config_model import Config, CoverageConfig, FileRule, ModuleConfig, Threshold
from mcptest.model import CoverageReport, FileCoverage, Totals, Verdict


def config(**coverage: object) -> Config:
    return Config(path=Path("/p/mcptest.yaml"), root=Path("/p"), source=["pkg"], coverage=CoverageConfig(**coverage))  # type: ignore[arg-type]


def report(*files: tuple[str, int, int, int, int]) -> CoverageReport:
    fcs = [FileCoverage(path=p, totals=Totals.of(s, c, b, cb)) for p, s, c, b, cb in files]
    return CoverageReport(branch=True, overall=sum((f.totals for f in fcs), Totals()), files=fcs)


def test_glob_rule_applies_to_each_matching_file() -> None:
    cfg = config(files=[FileRule("pkg/*.py", Threshold(line=80, key='coverage.files."pkg/*.py"'))])
    verdicts = gate.coverage_verdicts(
        cfg, report(("pkg/a.py", 10, 9, 0, 0), ("pkg/b.py", 10, 5, 0, 0), ("pkg/sub/c.py", 10, 0, 0, 0))
    )
    assert [(v.target, v.passed) for v in verdicts] == [("file:pkg/a.py", True), ("file:pkg/b.py", False)]
    assert verdicts[1].message == "pkg/b.py line coverage 50.0% is below the required 80%"


def test_pattern_matching_no_measured_file_is_a_config_verdict() -> None:
    cfg = config(files=[FileRule("pkg/missing.py", Threshold(line=80, key="k"))])
    (verdict,) = gate.coverage_verdicts(cfg, report(("pkg/a.py", 10, 9, 0, 0)))
    assert verdict.kind == "config" and not verdict.passed and "matches no measured file" in verdict.message
    assert gate.exit_code([verdict]) == exitcodes.CONFIG_ERROR


def test_module_threshold_uses_combined_numbers() -> None:
    cfg = config()
    cfg.modules = {"m": ModuleConfig(name="m", files=["pkg/a.py", "pkg/b.py"], threshold=Threshold(line=70))}
    rep = report(("pkg/a.py", 10, 10, 0, 0), ("pkg/b.py", 30, 18, 0, 0))  # 28/40 = 70 % combined
    rep.modules = covdata.module_coverage(cfg, rep.files)
    (verdict,) = gate.coverage_verdicts(cfg, rep)
    assert verdict.target == "module:m" and verdict.actual == 70.0 and verdict.passed


def test_branch_minimum_on_file_without_branches_is_not_applicable() -> None:
    cfg = config(files=[FileRule("pkg/a.py", Threshold(branch=90))])
    (verdict,) = gate.coverage_verdicts(cfg, report(("pkg/a.py", 10, 10, 0, 0)))
    assert verdict.passed and verdict.actual is None and "not applicable" in verdict.message


def test_threshold_compares_exact_value_and_display_floors() -> None:
    cfg = config(overall=Threshold(line=80))
    (verdict,) = gate.coverage_verdicts(cfg, report(("pkg/a.py", 10001, 7999, 0, 0)))  # 79.98 %
    assert not verdict.passed and "79.9%" in verdict.message
    assert gate.pct(79.99) == "79.9%" and gate.pct(80.0) == "80.0%" and gate.pct(None) == "n/a"


def test_max_drop_fails_only_files_that_dropped_more() -> None:
    cfg = config(max_drop=1.0)
    before = report(("pkg/a.py", 100, 90, 0, 0), ("pkg/b.py", 100, 90, 0, 0))
    now = report(("pkg/a.py", 100, 89, 0, 0), ("pkg/b.py", 100, 80, 0, 0), ("pkg/new.py", 10, 0, 0, 0))
    covdata.apply_deltas(now, before, "base")
    assert now.files[2].totals.delta_line is None  # a new file has no delta
    verdicts = gate.coverage_verdicts(cfg, now)
    failed = [(v.target, v.metric) for v in verdicts if not v.passed]
    assert failed == [("overall", "line"), ("file:pkg/b.py", "line")]
    assert gate.exit_code(verdicts) == exitcodes.THRESHOLD_MISSED


def test_exit_code_from_kinds_uses_precedence() -> None:
    verdicts = [
        Verdict("threshold", "overall", "line", 1, 2, False),
        Verdict("tests", "suite:u", "count", 1, 0, False),
        Verdict("budget", "suite:u", "duration", 9, 5, False),
    ]
    assert gate.exit_code(verdicts) == exitcodes.BUDGET_EXCEEDED
    assert gate.exit_code([Verdict("tests", "suite:u", "count", 0, 0, True)]) == exitcodes.OK


def test_max_drop_message_shows_the_drop_as_the_delta_columns_do() -> None:
    cfg = config(max_drop=1.0)
    before = report(("pkg/a.py", 2000, 1800, 0, 0))  # 90.0 %
    now = report(("pkg/a.py", 2000, 1753, 0, 0))  # 87.65 %: -2.35 pp, shown -2.4 in every Δ column
    covdata.apply_deltas(now, before, "base")
    (verdict,) = [v for v in gate.coverage_verdicts(cfg, now) if v.kind == "max_drop" and v.target == "file:pkg/a.py"]
    assert verdict.actual == -2.35
    assert "line coverage dropped 2.4 pp against the baseline (max_drop 1 pp)" in verdict.message


def test_suite_verdicts_cut_long_name_lists_between_names_with_a_count() -> None:
    from mcptest.collect import SuiteRun
    from mcptest.model import Counts, SuiteResult, TestCase
    from mcptest.suite_gate import suite_verdicts

    names = [f"tests/test_long_module_name.py::test_case_number_{i:03d}" for i in range(40)]
    tests = [TestCase(n, n.split("::")[1], "tests/test_long_module_name.py", 1, "unit", "failed") for n in names]
    flaky = [TestCase(f"{n}_f", "f", "tests/x.py", 1, "unit", "flaky", flaky=True) for n in names]
    result = SuiteResult(name="unit", test_type="unit", paths=["tests"], status="failing", tests=tests + flaky)
    result.counts = Counts(failed=40, flaky=40)
    run = SuiteRun(result=result, data_file=Path("x"), log_file=Path("y"), finished=True)
    result.pytest_exit = 1
    by_kind = {v.kind: v.message for v in suite_verdicts(run)}
    for kind, listed in (("tests", names), ("flaky", [f"{n}_f" for n in names])):
        message = by_kind[kind]
        head, _, more = message.rpartition(" ... and ")
        shown = head.split(": ")[-1].split(", ")
        assert shown and all(name in listed for name in shown), message  # no name cut in the middle
        assert more == f"{len(listed) - len(shown)} more"


def test_repeat_budget_holds_for_the_longest_run_not_the_sum(tmp_path: Path) -> None:
    from mcptest.collect import SuiteRun, merge_attempts
    from mcptest.model import SuiteResult, TestCase
    from mcptest.suite_gate import suite_verdicts

    def attempt(duration: float) -> SuiteRun:
        result = SuiteResult(name="unit", test_type="unit", paths=["tests"], status="passing", duration=duration,
                             budget=30.0, tests=[TestCase("t.py::a", "a", "t.py", 1, "unit", "passed", duration=1.0)])
        return SuiteRun(result=result, data_file=tmp_path / f"d{duration}", log_file=tmp_path / "log", finished=True)

    merged = merge_attempts([attempt(19.2), attempt(18.6)], tmp_path / "merged")
    assert merged.attempt_durations == [19.2, 18.6]
    assert merged.result.duration == 37.8
    budget = [v for v in suite_verdicts(merged) if v.kind == "budget"]
    assert [v.passed for v in budget] == [True] and budget[0].actual == 19.2
    assert "took 19.2s (its longest run) of its 30s budget" in budget[0].message


def test_an_event_line_that_is_json_but_not_an_object_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    from mcptest.collect import SuiteRun, handle_event
    from mcptest.model import SuiteResult

    run = SuiteRun(result=SuiteResult(name="unit", test_type="unit", paths=["tests"], status="passing"),
                   data_file=tmp_path / "d", log_file=tmp_path / "log")
    for line in ("[1]", '"finish"', "3", "{not json"):
        handle_event(run, "unit", line, lambda kind, data: None)
    assert run.result.problems == [f"unreadable event from the test process: {line!r}"
                                   for line in ("[1]", '"finish"', "3", "{not json")]
    assert not run.finished
