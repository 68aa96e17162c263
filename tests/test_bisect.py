"""The cause of an order-dependent failure: mcptest flaky --bisect, run --bisect, run --replay, the order record."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from projects import latest, make_project, mcptest, runs, write_files

from mcptest import exitcodes
from mcptest.bisect import Search, _OutOfSteps
from mcptest.history import validate

# a test that leaves module state behind, and a test that fails when it finds it; test_a.py runs first
POLLUTER = """\
from pkg import calc


def test_pollute_cache_sets_state():
    calc.CACHE = {"stale": True}
    assert calc.CACHE
"""
VICTIM = """\
from pkg import calc


def test_victim_empty_cache_has_no_entries():
    assert getattr(calc, "CACHE", {}) == {}, "a test before this one left calc.CACHE set"
"""
# a test that passes only when another one ran first and set the state it reads
PROVIDER = """\
from pkg import calc


def test_provider_fills_registry():
    calc.REGISTRY = ["ready"]
    assert calc.REGISTRY
"""
DEPENDENT = """\
from pkg import calc


def test_dependent_reads_registry():
    assert getattr(calc, "REGISTRY", None) == ["ready"], "needs test_provider_fills_registry before it"
"""


def quiet_tests(count: int) -> str:
    return "".join(f"def test_quiet_{i}_runs_ok():\n    assert True\n\n\n" for i in range(count))


# --- the search itself ----------------------------------------------------------------------------------------


def culprit_search(candidates: list[str], causes: set[str], limit: int = 100) -> tuple[list[str], bool, int]:
    """Search with a predicate that holds when every one of ``causes`` is in the list; (found, minimal, steps)."""
    calls: list[list[str]] = []

    def interesting(tests: list[str]) -> bool:
        if len(calls) >= limit:
            raise _OutOfSteps()
        calls.append(tests)
        return causes <= set(tests)

    search = Search(candidates, interesting)
    minimal = search.run()
    return search.best, minimal, len(calls)


@pytest.mark.parametrize("where", [0, 5, 31, 63])
def test_search_one_cause_found_in_log2_steps_plus_one(where: int) -> None:
    tests = [f"t{i}" for i in range(64)]
    found, minimal, steps = culprit_search(tests, {tests[where]})
    assert found == [tests[where]] and minimal
    assert steps <= 7  # 6 halvings and at most one check of an assumed half


def test_search_two_causes_needed_together_are_both_found_in_order() -> None:
    tests = [f"t{i}" for i in range(20)]
    found, minimal, _ = culprit_search(tests, {"t3", "t17"})
    assert found == ["t3", "t17"] and minimal


def test_search_cut_by_the_step_bound_keeps_the_smallest_seen_and_says_so() -> None:
    tests = [f"t{i}" for i in range(64)]
    found, minimal, steps = culprit_search(tests, {"t40"}, limit=2)
    assert not minimal and steps == 2
    assert "t40" in found and len(found) < 64


# --- the ordering plugin --------------------------------------------------------------------------------------


def run_ordered(root: Path, order: list[str], *extra: str) -> subprocess.CompletedProcess[str]:
    (root / "order.txt").write_text("".join(f"{n}\n" for n in order), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "mcptest.ordering", "--mcptest-order=order.txt", "-v", *extra, "tests"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ordering_plugin_runs_the_given_order_and_refuses_one_that_is_not_the_suite(tmp_path: Path) -> None:
    make_project(tmp_path)
    everything = [
        "tests/test_text.py::test_shout_word_upper",
        "tests/test_calc.py::test_sign_zero_zero",
        "tests/test_calc.py::test_add_small_numbers_sum",
        "tests/test_calc.py::test_sign_negative_minus_one",
        "tests/test_calc.py::test_sign_positive_one",
    ]
    proc = run_ordered(tmp_path, everything)
    assert proc.returncode == 0, proc.stdout
    ran = [line.split(" ")[0] for line in proc.stdout.splitlines() if line.endswith("%]")]
    assert ran == everything
    # a collected test that the order leaves out: a usage error, unless a subset is asked for
    proc = run_ordered(tmp_path, everything[:2])
    assert proc.returncode == 4 and "3 collected test(s) are not in the order" in proc.stderr, proc.stderr
    proc = run_ordered(tmp_path, everything[:2], "--mcptest-order-subset")
    assert proc.returncode == 0 and "2 passed, 3 deselected" in proc.stdout, proc.stdout
    # a node id that is not collected: named
    proc = run_ordered(tmp_path, [*everything, "tests/test_calc.py::test_gone"])
    assert proc.returncode == 4 and "were not collected: tests/test_calc.py::test_gone" in proc.stderr, proc.stderr


# --- the record -------------------------------------------------------------------------------------------------


def test_every_attempt_records_its_run_seed_and_position(tmp_path: Path) -> None:
    make_project(tmp_path)
    result = mcptest(tmp_path, "run", "unit", "--repeat", "3", "--random-order", "--seed", "7")
    assert result.code == exitcodes.OK, result.output
    record = latest(tmp_path)
    validate(record)
    tests = record["suites"][0]["tests"]
    for run in (1, 2, 3):
        orders = [a["order"] for t in tests for a in t["attempts"] if a["order"]["run"] == run]
        assert sorted(o["position"] for o in orders) == list(range(5))
        assert {o["seed"] for o in orders} == {7 + run - 1} and {o["worker"] for o in orders} == {None}
    assert all(t["order"] == t["attempts"][0]["order"] for t in tests)


# --- bisecting real pytest runs -------------------------------------------------------------------------------


@pytest.mark.usefixtures("child_plugins")  # its project runs under pytest-xdist or pytest-rerunfailures
def test_run_bisect_names_the_polluter_of_the_first_victim_and_stores_it(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        files={"tests/test_a.py": POLLUTER + "\n\n" + quiet_tests(3), "tests/test_b.py": quiet_tests(2) + VICTIM},
    )
    result = mcptest(tmp_path, "run", "unit", "--bisect", timeout=300)
    assert result.code == exitcodes.TESTS_FAILED, result.output  # the run's own verdict is unchanged
    victim = "tests/test_b.py::test_victim_empty_cache_has_no_entries"
    polluter = "tests/test_a.py::test_pollute_cache_sets_state"
    line = next(line for line in result.stdout.splitlines() if "fails when run after" in line)
    assert line.startswith(f"{victim} fails when run after {polluter} (")
    record = latest(tmp_path)
    validate(record)
    [found] = record["bisections"]
    assert found["verdict"] == "fails-after" and found["culprits"] == [polluter] and found["minimal"]
    assert found["run"] == 1 and 3 <= found["steps"] <= 7 and found["seconds"] > 0
    assert found["message"] == line
    assert runs(tmp_path)[-1]["bisections"] == record["bisections"]  # runs/ holds it too


@pytest.mark.usefixtures("child_plugins")  # its project runs under pytest-xdist or pytest-rerunfailures
def test_flaky_bisect_names_the_test_another_depends_on(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        files={"tests/test_a.py": quiet_tests(2) + PROVIDER, "tests/test_b.py": quiet_tests(2) + DEPENDENT},
    )
    assert mcptest(tmp_path, "run", "unit").code == exitcodes.OK  # in file order the provider runs first
    result = mcptest(tmp_path, "flaky", "--bisect", "test_dependent_reads_registry", timeout=300)
    assert result.code == exitcodes.OK, result.output
    assert (
        "tests/test_b.py::test_dependent_reads_registry depends on tests/test_a.py::test_provider_fills_registry: "
        "it passes only when that runs first (" in result.stdout
    )
    [found] = latest(tmp_path)["bisections"]
    assert found["verdict"] == "depends-on" and found["culprits"] == ["tests/test_a.py::test_provider_fills_registry"]


@pytest.mark.usefixtures("child_plugins")  # its project runs under pytest-xdist or pytest-rerunfailures
def test_flaky_bisect_of_a_test_that_fails_on_its_own_names_no_cause(tmp_path: Path) -> None:
    broken = "def test_broken_always_fails():\n    assert 1 == 2\n"
    make_project(tmp_path, files={"tests/test_z.py": broken})
    assert mcptest(tmp_path, "run", "unit").code == exitcodes.TESTS_FAILED
    listed = mcptest(tmp_path, "flaky")
    assert "failed  tests/test_z.py::test_broken_always_fails: failed (run 1 #6)" in listed.stdout, listed.output
    result = mcptest(tmp_path, "flaky", "--bisect", "tests/test_z.py::test_broken_always_fails", timeout=300)
    assert result.code == exitcodes.TESTS_FAILED, result.output
    said = "fails alone and after the 5 tests that ran before it in the collection order: not an order dependence"
    assert f"{said} (2 steps" in result.stdout, result.output
    unknown = mcptest(tmp_path, "flaky", "--bisect", "test_nothing_like_it")
    assert unknown.code == exitcodes.CONFIG_ERROR and "has no test 'test_nothing_like_it'" in unknown.stderr


# --- replay -------------------------------------------------------------------------------------------------------


def order_of(record: dict[str, object], run: int) -> list[str]:
    tests = record["suites"][0]["tests"]  # type: ignore[index]
    placed = [(a["order"]["position"], t["nodeid"]) for t in tests for a in t["attempts"] or [t]  # type: ignore[index]
              if (a.get("order") or {}).get("run") == run]  # fmt: skip
    return [nodeid for _, nodeid in sorted(placed)]


def test_replay_runs_the_recorded_order_of_one_run_and_refuses_a_changed_suite(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_more.py": quiet_tests(6)})
    assert mcptest(tmp_path, "run", "unit", "--repeat", "2", "--random-order").code == exitcodes.OK
    original = latest(tmp_path)
    wanted = order_of(original, 2)
    assert len(wanted) == 11
    result = mcptest(tmp_path, "run", "unit", "--replay", f"{original['id']}:2")
    assert result.code == exitcodes.OK, result.output
    replay = latest(tmp_path)
    assert order_of(replay, 1) == wanted
    assert replay["selection"]["partial"] is False and replay["selection"]["random_order"] is False
    write_files(tmp_path, {"tests/test_new.py": quiet_tests(1)})  # the suite changed: not that order any more
    result = mcptest(tmp_path, "run", "unit", "--replay", f"{original['id']}:2")
    assert result.code == exitcodes.CONFIG_ERROR, result.output
    assert "1 collected test(s) are not in the order" in result.stdout, result.stdout
    result = mcptest(tmp_path, "run", "unit", "--replay", f"{original['id']}:3")
    assert result.code == exitcodes.CONFIG_ERROR and "has no run 3 of suite unit" in result.stderr, result.stderr


def test_replay_of_an_unknown_run_is_a_usage_error(tmp_path: Path) -> None:
    make_project(tmp_path)
    result = mcptest(tmp_path, "run", "unit", "--replay", "20990101T000000000000Z-000000:1")
    assert result.code == exitcodes.CONFIG_ERROR
    assert result.stderr.startswith("mcptest: error: run 20990101T000000000000Z-000000 is not in "), result.stderr
    assert not (tmp_path / ".mcptest" / "latest.json").exists()
