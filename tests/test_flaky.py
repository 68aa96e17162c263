"""Flakiness is reported, never hidden: --repeat with --random-order, and passes after a rerun."""

from __future__ import annotations

from pathlib import Path

import pytest
from projects import CONFIG, latest, make_project, mcptest

from mcptest import exitcodes
from mcptest.history import validate

ORDER_DEPENDENT = """\
STATE = []


def test_order_first_sets_state():
    STATE.append(1)
    assert STATE == [1]


def test_order_second_needs_first():
    assert STATE, "depends on test_order_first_sets_state having run before"
"""

RERUN_FLAKY = """\
import pathlib

import pytest


@pytest.mark.flaky(reruns=2)
def test_rerun_fails_once_then_passes():
    marker = pathlib.Path(__file__).with_name("attempted.flag")
    first = not marker.exists()
    marker.write_text("x")
    assert not first, "first attempt fails on purpose"
"""


def test_repeat_random_order_reports_order_dependent_test_flaky(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_order.py": ORDER_DEPENDENT})
    result = mcptest(tmp_path, "run", "unit", "--repeat", "3", "--random-order", "--seed", "1")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    assert (
        "1 flaky test(s) (outcomes differ between attempts): tests/test_order.py::test_order_second_needs_first"
        in result.stdout
    )
    record = latest(tmp_path)
    validate(record)
    flaky = [t for t in record["suites"][0]["tests"] if t["flaky"]]
    assert [t["nodeid"] for t in flaky] == ["tests/test_order.py::test_order_second_needs_first"]
    outcomes = [a["outcome"] for a in flaky[0]["attempts"]]
    assert len(outcomes) == 3 and set(outcomes) == {"passed", "failed"}
    failed = next(a for a in flaky[0]["attempts"] if a["outcome"] == "failed")
    assert "depends on test_order_first_sets_state" in failed["message"]
    assert record["counts"]["flaky"] == 1 and record["counts"]["total"] == 7
    assert record["selection"]["repeat"] == 3 and record["selection"]["seed"] == 1


def test_repeat_in_file_order_is_stable_and_passes(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_order.py": ORDER_DEPENDENT})
    result = mcptest(tmp_path, "run", "unit", "--repeat", "2")
    assert result.code == exitcodes.OK, result.output
    record = latest(tmp_path)
    assert record["counts"]["flaky"] == 0 and record["counts"]["passed"] == 7
    assert all(len(t["attempts"]) == 2 for t in record["suites"][0]["tests"])


def test_flaky_test_allowed_by_name_is_reported_but_does_not_fail(tmp_path: Path) -> None:
    config = CONFIG + "flaky:\n  allow: [tests/test_order.py::test_order_second_needs_first]\n"
    make_project(tmp_path, config, {"tests/test_order.py": ORDER_DEPENDENT})
    result = mcptest(tmp_path, "run", "unit", "--repeat", "3", "--random-order", "--seed", "1")
    assert result.code == exitcodes.OK, result.output
    assert "flaky: tests/test_order.py::test_order_second_needs_first" in result.stdout
    verdict = next(v for v in latest(tmp_path)["verdicts"] if v["kind"] == "flaky")
    assert verdict["passed"] is True and "allowed by flaky.allow" in verdict["message"]


@pytest.mark.usefixtures("child_plugins")  # its project runs under pytest-xdist or pytest-rerunfailures
def test_pass_after_rerun_is_flaky_never_passed(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_rerun.py": RERUN_FLAKY})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    record = latest(tmp_path)
    case = next(t for t in record["suites"][0]["tests"] if t["name"] == "test_rerun_fails_once_then_passes")
    assert case["outcome"] == "flaky" and case["flaky"] is True
    assert [a["outcome"] for a in case["attempts"]] == ["failed", "passed"]
    assert "first attempt fails on purpose" in case["attempts"][0]["message"]
    assert record["counts"]["passed"] == 5  # the flaky one is not counted as passed
