"""The gate stage for one suite: its run (process health, collection, outcomes, flaky tests, budget) and its
bridges (a preflight that refused the suite, the traffic its tests sent) become verdicts.

``not_whole`` says why a suite's coverage cannot be judged at all; the coverage gates are in ``gate``.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatch

from mcptest import collect, display
from mcptest.collect import SuiteRun
from mcptest.globs import glob_match
from mcptest.model import SuiteResult, Verdict


def suite_verdicts(run: SuiteRun, allowed_flaky: Sequence[str] = ()) -> list[Verdict]:
    """Verdicts of one suite: process health, collection, test outcomes, time budget."""
    ended = _did_not_run(run)
    if ended is not None:
        return [ended]
    out = _process(run)
    counted, go_on = _collection(run)
    out += counted
    if not go_on:
        return out
    out.append(_outcomes(run.result))
    out += _flaky(run.result, allowed_flaky)
    out += _unmeasured(run)
    out += _budget(run)
    return out


def _verdict(
    r: SuiteResult,
    kind: str,
    metric: str,
    message: str,
    *,
    actual: float | None = None,
    required: float | None = None,
    passed: bool = False,
    rule: str | None = None,
) -> Verdict:
    """A verdict on suite ``r``; ``message`` follows the words ``suite NAME``."""
    return Verdict(kind, f"suite:{r.name}", metric, actual, required, passed, rule, f"suite {r.name}{message}")


def _did_not_run(run: SuiteRun) -> Verdict | None:
    """The one verdict of a suite that did not run to its end: stopped at its budget, died, or refused to start."""
    r = run.result
    if run.killed_for_budget:
        message = f" ran past its budget of {r.budget:g}s and was stopped"
        rule = f"suites.{r.name}.budget"
        return _verdict(r, "budget", "duration", message, actual=r.duration, required=r.budget, rule=rule)
    if not run.finished:
        death = collect.describe_death(r.pytest_exit or 0)
        return _verdict(r, "process", "status", f": the test process {death}; {r.counts.total} test(s) had reported")
    if r.pytest_exit == 4 and run.conftest_error is None:
        usage = run.usage_error or collect.usage_error(run.log_file)
        return _verdict(r, "config", "status", f": pytest rejected its arguments: {usage}")
    return None


def _process(run: SuiteRun) -> list[Verdict]:
    """pytest crashed, stopped early, or exited with a status its outcomes contradict."""
    r = run.result
    out: list[Verdict] = []
    if r.pytest_exit == 3:
        crash = f": pytest crashed with an internal error: {collect.internal_error(run)}; see {run.log_file}"
        out.append(_verdict(r, "process", "status", crash))
    if r.stopped:
        out.append(_verdict(r, "process", "status", f": pytest stopped early: {r.stopped}"))
    if run.mismatch:  # judged per attempt, where pytest's status and the outcomes belong together
        out.append(_verdict(r, "process", "status", f": {run.mismatch}"))
    return out


def _collection(run: SuiteRun) -> tuple[list[Verdict], bool]:
    """Collection errors, or no test at all; and whether there are outcomes left to judge."""
    r = run.result
    if run.collect_errors:
        errors = len(run.collect_errors)
        listed = "; ".join(run.collect_errors[:3]) + (f"; and {errors - 3} more" if errors > 3 else "")
        ran = len(r.tests) - errors
        message = f": {errors} collection error(s), {'no test ran' if ran <= 0 else f'{ran} test(s) ran'}: {listed}"
        return [_verdict(r, "tests", "count", message, actual=float(errors), required=0)], ran > 0
    if r.counts.total == 0 and r.pytest_exit != 3 and not r.stopped:
        message = f": no tests collected from {', '.join(r.paths)}"
        rule = f"suites.{r.name}.paths"
        return [_verdict(r, "collection", "count", message, actual=0, required=1, rule=rule)], False
    return [], True


def _outcomes(r: SuiteResult) -> Verdict:
    bad = r.counts.bad
    summary = f": {r.counts.passed} passed, {r.counts.failed} failed, {r.counts.error} errors"
    if bad:
        summary += f"; failed: {display.join_cut([t.nodeid for t in r.tests if t.outcome in ('failed', 'error')])}"
    return _verdict(r, "tests", "count", summary, actual=float(bad), required=0, passed=bad == 0)


def _flaky(r: SuiteResult, allowed_flaky: Sequence[str]) -> list[Verdict]:
    """Tests whose attempts ended differently: failing unless ``flaky.allow`` names them."""
    flaky = [t for t in r.tests if t.flaky]
    if not flaky:
        return []
    blocking = [
        t
        for t in flaky
        if not any(t.nodeid == a or glob_match(a, t.nodeid) or fnmatch(t.nodeid, a) for a in allowed_flaky)
    ]
    names = display.join_cut([t.nodeid for t in (blocking or flaky)], 400)
    if blocking:
        message = f": {len(blocking)} flaky test(s) (outcomes differ between attempts): {names}"
    else:
        message = f": {len(flaky)} flaky test(s) allowed by flaky.allow: {names}"
    actual = float(len(blocking))
    return [_verdict(r, "flaky", "count", message, actual=actual, required=0, passed=not blocking, rule="flaky.allow")]


def _unmeasured(run: SuiteRun) -> list[Verdict]:
    """xdist workers that were not measured from their start: their coverage cannot be gated."""
    if not run.unmeasured_workers:
        return []
    workers = ", ".join(sorted({w for w, _ in run.unmeasured_workers}))
    message = (
        f": coverage cannot be gated: xdist worker(s) {workers} started measuring after a pytest plugin "
        "of the measured code was imported, so what ran in them before was not measured; run without -n, "
        "or let mcptest start the workers (a --tx popen spec without python=)"
    )
    return [_verdict(run.result, "threshold", "line", message)]


def _budget(run: SuiteRun) -> list[Verdict]:
    r = run.result
    if r.budget is None:
        return []
    # with --repeat the budget holds for each run of the suite, not for their sum
    longest = max(run.attempt_durations or [r.duration])
    each = " (its longest run)" if len(run.attempt_durations) > 1 else ""
    message = f" took {longest:.1f}s{each} of its {r.budget:g}s budget"
    passed = longest <= r.budget
    rule = f"suites.{r.name}.budget"
    return [_verdict(r, "budget", "duration", message, actual=longest, required=r.budget, passed=passed, rule=rule)]


def bridge_verdicts(suite: str, problems: Sequence[str]) -> list[Verdict]:
    """The failed verdicts of a suite its preflight refused (a required bridge is down): one per problem."""
    return [
        Verdict("bridge", f"suite:{suite}", "status", None, None, False, f"suites.{suite}.requires", p)
        for p in problems
    ]


def traffic_verdicts(
    result: SuiteResult, before: dict[str, int | None], after: dict[str, int | None]
) -> list[Verdict]:
    """Calls per bridge during the suite; a suite that requires bridges but sent them nothing is flagged."""
    calls: dict[str, int] = {}
    for name, count in after.items():
        start = before.get(name)
        if count is not None and start is not None:
            calls[name] = max(0, count - start)
    result.bridge_calls = calls or None
    if not calls or result.counts.total == 0:
        return []
    idle = sorted(name for name, n in calls.items() if n == 0)
    target = f"suite:{result.name}"
    if len(idle) == len(calls):
        message = (
            f"suite {result.name} requires {', '.join(result.requires)} but sent them no traffic: "
            "its tests never reached a bridge"
        )
        return [Verdict("traffic", target, "count", 0, 1, False, f"suites.{result.name}.requires", message)]
    message = f"suite {result.name} sent " + ", ".join(f"{n} call(s) to {name}" for name, n in sorted(calls.items()))
    if idle:
        message += f"; none to {', '.join(idle)}"
    return [Verdict("traffic", target, "count", float(sum(calls.values())), 1, True, None, message)]


def not_whole(run: SuiteRun) -> str | None:
    """Why a suite's coverage cannot be judged (it did not run to its end), or None."""
    r = run.result
    if run.killed_for_budget:
        return "was stopped at its time budget"
    if not run.finished:
        return "did not run to the end (the test process died)"
    if r.pytest_exit == 4 and run.conftest_error is None:
        return "did not start (pytest rejected its arguments)"
    if run.collect_errors:
        return "had collection errors"
    if r.pytest_exit == 3:
        return "crashed (pytest internal error)"
    if r.stopped:
        return "stopped early (not every selected test ran)"
    return None
