"""Subtests (unittest's ``self.subTest``, pytest's ``subtests`` fixture): a failed one fails its test."""

from __future__ import annotations

from pathlib import Path

from projects import latest, make_project, mcptest

from mcptest import exitcodes

UNITTEST = """\
import unittest


class TestDoubling(unittest.TestCase):
    def test_doubling_cases(self):
        for x in (1, 3, 4):
            with self.subTest(x=x):
                self.assertEqual(x * 2, {expected})
"""

FIXTURE = """\
def test_doubling_with_the_fixture(subtests):
    for x in (1, 3):
        with subtests.test(msg="doubling", x=x):
            assert x * 2 == 2
"""


def _case(root: Path, name: str) -> dict[str, object]:
    tests = latest(root)["suites"][0]["tests"]
    return next(t for t in tests if name in t["nodeid"])


def test_a_failing_unittest_subtest_fails_its_test_and_the_run(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_sub.py": UNITTEST.format(expected=2)})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    case = _case(tmp_path, "test_doubling_cases")
    assert case["outcome"] == "failed"
    assert case["message"] == ("2 failed subtest(s): (x=3): AssertionError: 6 != 2; (x=4): AssertionError: 8 != 2")
    assert [(t["description"], t["outcome"]) for t in case["subtests"]] == [  # type: ignore[union-attr]
        ("(x=3)", "failed"),
        ("(x=4)", "failed"),
        ("(x=1)", "passed"),
    ]
    assert "--- subtest (x=3) ---" in str(case["longrepr"])
    record = latest(tmp_path)
    assert record["exit_code"] == exitcodes.TESTS_FAILED and record["suites"][0]["status"] == "failing"
    assert not any("although every test it reported passed" in r for r in record["reasons"])


def test_a_failing_subtest_of_the_pytest_fixture_fails_its_test(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_sub.py": FIXTURE})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.TESTS_FAILED, result.output
    case = _case(tmp_path, "test_doubling_with_the_fixture")
    assert case["outcome"] == "failed"
    assert [t["description"] for t in case["subtests"] if t["outcome"] == "failed"] == [  # type: ignore[union-attr]
        "[doubling] (x=3)"
    ]


def test_subtests_that_all_pass_keep_the_test_passed(tmp_path: Path) -> None:
    body = UNITTEST.format(expected="x * 2")
    make_project(tmp_path, files={"tests/test_sub.py": body})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == exitcodes.OK, result.output
    case = _case(tmp_path, "test_doubling_cases")
    assert case["outcome"] == "passed" and len(case["subtests"]) == 3  # type: ignore[arg-type]
