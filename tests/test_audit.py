"""Tests of the static test audit: each rule fires on crafted files and stays quiet on sound ones."""

from __future__ import annotations

import json
from pathlib import Path
from textwrap import dedent
from typing import Any

import pytest

from mcptest.audit import DEFAULT_NAMING, RULES, AuditResult, Finding, audit_config, audit_paths
from mcptest.config_model import Config, SuiteConfig
from mcptest.errors import ConfigError

UNIT = {"unit": ["tests"]}


def write(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(dedent(text), encoding="utf-8")


def run(
    root: Path,
    files: dict[str, str | bytes],
    suites: dict[str, list[str]] | None = None,
    **kwargs: Any,
) -> AuditResult:
    write(root, files)
    return audit_paths(root, UNIT if suites is None else suites, **kwargs)


def hits(result: AuditResult, *rules: str) -> list[tuple[str, str, int]]:
    """(rule, file, line) of the findings, keeping only ``rules`` when given."""
    return [(f.rule, f.file, f.line) for f in result.findings if not rules or f.rule in rules]


def lines(result: AuditResult, rule: str) -> list[int]:
    return [f.line for f in result.findings if f.rule == rule]


# -- no-assert -----------------------------------------------------------------------------------------


def test_no_assert_call_without_check_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                from app import send


                def test_send_message_delivered():
                    send("hi")


                def test_send_auth_disabled_accepted():
                    send("hi")
                    return True
            """
        },
    )
    assert hits(result) == [
        ("no-assert", "tests/test_a.py", 4),
        ("no-assert", "tests/test_a.py", 8),
    ]
    assert result.findings[0].test == "tests/test_a.py::test_send_message_delivered"
    assert "returns a value" in result.findings[1].reason


def test_no_assert_real_checks_not_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                import unittest
                from unittest import mock

                import pytest
                from pytest import raises as expect_raise

                from app import add, send


                def _same(a, b):
                    assert a == b


                def _same_twice(a, b):
                    _same(a, b)
                    _same(b, a)


                def test_add_small_numbers_sum():
                    result = add(1, 2)
                    expected = 3
                    assert result == expected


                def test_add_strings_raises_type_error():
                    with pytest.raises(TypeError):
                        add("a", 1)


                def test_add_strings_alias_raises_error():
                    with expect_raise(TypeError):
                        add("a", 1)


                def test_send_mock_called_once():
                    m = mock.Mock()
                    send(m)
                    m.assert_called_once_with("hi")


                def test_send_helper_checks_reply():
                    check_reply(send("hi"))
                    verify_log()
                    expect_no_errors()


                def test_add_local_helper_equal():
                    _same(add(1, 1), 2)


                def test_add_helper_of_helper_equal():
                    _same_twice(add(1, 1), 2)


                def test_add_raise_on_mismatch_fails():
                    if add(1, 1) != 2:
                        raise AssertionError("bad sum")


                def test_add_fail_on_mismatch_fails():
                    if add(1, 1) != 2:
                        pytest.fail("bad sum")


                def test_add_warns_deprecated_warning():
                    pytest.warns(DeprecationWarning, add, 1, 1)


                class TestAdd:
                    def _check(self, value):
                        assert value

                    def test_add_method_helper_checked(self):
                        self._check(add(1, 2))


                class TestAddCase(unittest.TestCase):
                    def test_add_unittest_style_equal(self):
                        self.assertEqual(add(1, 2), 3)
            """
        },
    )
    assert hits(result) == []


def test_no_assert_helper_without_assert_not_counted(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                def _log(value):
                    print(value)


                def test_log_value_printed_only():
                    _log(1)
            """
        },
    )
    assert hits(result) == [("no-assert", "tests/test_a.py", 5)]


# -- always-true ---------------------------------------------------------------------------------------


def test_always_true_tautologies_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                from app import get


                def test_get_value_tautologies_pass():
                    x = get()
                    assert True
                    assert 1
                    assert "non-empty"
                    assert (x == 1, "x should be one")
                    assert x or not x
                    assert x is True or x is False
                    assert 1 == 1
                    assert "a" == "a"
                    assert x == x
                    assert x.items[0] == x.items[0]
                    assert not None
                    assert x > 0 or True
                    assert x is None or x is not None
                    assert [x]
            """
        },
    )
    assert hits(result) == [("always-true", "tests/test_a.py", n) for n in range(6, 20)]
    assert "non-empty tuple" in result.findings[3].reason
    assert "accepts both outcomes" in result.findings[5].reason
    assert "with itself" in result.findings[8].reason
    assert {f.test for f in result.findings} == {"tests/test_a.py::test_get_value_tautologies_pass"}


def test_always_true_self_built_value_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                def test_literal_value_checked_trivially():
                    x = 5
                    assert x == 5


                def test_literal_dict_checked_trivially():
                    result = {"a": 1}
                    count: int = 2
                    assert result["a"] == 1
                    assert count == 2
            """
        },
    )
    assert hits(result) == [
        ("always-true", "tests/test_a.py", 3),
        ("always-true", "tests/test_a.py", 9),
        ("always-true", "tests/test_a.py", 10),
    ]
    assert "line 2" in result.findings[0].reason


def test_always_true_real_assertions_not_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                from app import add, fill, make


                def test_add_call_result_compared():
                    expected = 3
                    assert add(1, 2) == expected


                def test_add_result_variable_compared():
                    expected = {"a": 1}
                    result = make()
                    assert result == expected


                def test_fill_call_between_checked():
                    data = {"a": 1}
                    fill(data)
                    assert data["a"] == 2


                def test_make_twice_deterministic_equal():
                    assert make(1) == make(1)
                    assert 1 == 2 or make()
                    assert [*make()]
                    x = make()
                    assert x is not None or make()


                def test_literal_then_reassigned_checked():
                    x = 5
                    x = add(x, 1)
                    assert x == 6
            """
        },
    )
    assert hits(result) == []


# -- empty-test and placeholder ------------------------------------------------------------------------


def test_empty_test_placeholder_bodies_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": '''\
                def test_login_good_password_accepted():
                    pass


                def test_login_bad_password_rejected():
                    ...


                def test_login_locked_account_refused():
                    """The account is locked after three failures."""
                    pass


                def test_login_expired_token_refused():
                    """To do."""


                async def test_login_async_client_accepted():
                    return None
            '''
        },
    )
    assert hits(result) == [("empty-test", "tests/test_a.py", n) for n in (1, 5, 9, 14)] + [
        ("empty-test", "tests/test_a.py", 18)
    ]
    assert "only pass" in result.findings[0].reason


def test_placeholder_fixture_used_by_test_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                import pytest


                @pytest.fixture
                def db():
                    pass


                @pytest.fixture(name="client")
                def client_fixture(db):
                    return make_client(db)


                @pytest.fixture
                def unused():
                    ...


                @pytest.fixture
                def server():
                    yield


                def test_client_query_returns_rows(client):
                    assert client.query() == []


                @pytest.mark.usefixtures("server")
                def test_server_ping_answers_pong():
                    assert ping() == "pong"
            """
        },
    )
    assert hits(result) == [
        ("placeholder", "tests/test_a.py", 5),
        ("unused-fixture", "tests/test_a.py", 15),
        ("placeholder", "tests/test_a.py", 20),
    ]
    assert result.findings[0].reason == (
        "fixture 'db' is a placeholder (pass) but test_client_query_returns_rows uses it"
    )
    assert "a bare yield" in result.findings[2].reason


def test_placeholder_helper_called_by_test_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                def make_user():
                    return None


                def seed_data():
                    raise NotImplementedError


                def unused_helper():
                    pass


                def test_user_created_has_name():
                    user = make_user()
                    assert user.name


                def test_user_seeded_has_rows():
                    seed_data()
                    assert rows()


                class TestUser:
                    def _setup(self):
                        pass

                    def test_user_method_setup_works(self):
                        self._setup()
                        assert rows()
            """
        },
    )
    assert hits(result) == [
        ("placeholder", "tests/test_a.py", 1),
        ("placeholder", "tests/test_a.py", 5),
        ("placeholder", "tests/test_a.py", 24),
    ]
    assert "raise NotImplementedError" in result.findings[1].reason


def test_placeholder_conftest_fixture_flagged_in_conftest(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/conftest.py": """\
                import pytest


                @pytest.fixture
                def bridge():
                    pass


                @pytest.fixture
                def token():
                    pass
            """,
            "tests/api/test_a.py": """\
                import pytest


                @pytest.fixture
                def token():
                    return "t0k"


                def test_bridge_health_reports_ok(bridge, token):
                    assert bridge.health(token) == "ok"


                @pytest.mark.parametrize("bridge", [1, 2])
                def test_bridge_param_shadows_fixture(bridge):
                    assert bridge
            """,
        },
    )
    # the conftest's token is shadowed by the module's own: no test gets it
    assert hits(result) == [("placeholder", "tests/conftest.py", 5), ("unused-fixture", "tests/conftest.py", 10)]
    assert result.findings[0].reason.endswith("but test_bridge_health_reports_ok uses it")
    assert result.files_scanned == 2


def test_placeholder_real_fixtures_not_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                import pytest


                @pytest.fixture
                def db(tmp_path):
                    return tmp_path / "db.sqlite"


                @pytest.fixture
                def db_with_override(db):
                    yield db


                def test_db_path_points_to_sqlite(db_with_override):
                    assert db_with_override.suffix == ".sqlite"
            """
        },
    )
    assert hits(result) == []


# -- not-wired -----------------------------------------------------------------------------------------


def test_not_wired_file_outside_suites_flagged(tmp_path: Path) -> None:
    ok = "def test_thing_works_fine_here():\n    assert run()\n"
    result = run(
        tmp_path,
        {
            "tests/unit/test_a.py": ok,
            "tests/unit/deep/b_test.py": ok,
            "test_utils/test_auth.py": ok,
            "test_utils/helpers.py": "def test_not_a_test_file_here():\n    pass\n",
            "suites/test_one.py": ok,
            "picked/check_two.py": ok,
            "globbed/x/test_three.py": ok,
            "node/test_four.py": ok,
        },
        suites={
            "unit": ["tests/unit"],
            "one": ["suites/test_one.py::test_thing_works_fine_here"],
            "two": ["picked/check_two.py"],
            "three": ["globbed/*"],
            "four": ["node/"],
        },
    )
    assert hits(result) == [("not-wired", "test_utils/test_auth.py", 1)]
    assert result.files_scanned == 7


def test_not_wired_ignored_dirs_not_scanned(tmp_path: Path) -> None:
    bad = "def test_x():\n    pass\n"
    result = run(
        tmp_path,
        {
            ".venv/lib/test_a.py": bad,
            "myenv/pyvenv.cfg": "home = /usr\n",
            "myenv/lib/test_b.py": bad,
            "node_modules/pkg/test_c.py": bad,
            "build/lib/test_d.py": bad,
            "lib/site-packages/x/test_e.py": bad,
            ".git/test_f.py": bad,
            "src/pkg.egg-info/test_g.py": bad,
        },
        suites={},
    )
    assert hits(result) == []
    assert result.files_scanned == 0


def test_not_wired_custom_pattern_used(tmp_path: Path) -> None:
    ok = "def test_thing_works_fine_here():\n    assert run()\n"
    result = run(
        tmp_path,
        {"checks/check_a.py": ok, "checks/test_b.py": ok},
        suites={"unit": ["tests"]},
        test_pattern=("check_*.py",),
    )
    assert hits(result) == [("not-wired", "checks/check_a.py", 1)]


# -- sleep-in-unit -------------------------------------------------------------------------------------

SLEEPY = """\
    import asyncio
    import time
    import time as clock
    from time import sleep


    def wait_a_bit():
        sleep(0.5)


    def test_poll_status_eventually_ready():
        time.sleep(1)
        clock.sleep(0.1)
        wait_a_bit()
        assert ready()


    async def test_poll_async_status_ready():
        await asyncio.sleep(0.2)
        await asyncio.sleep(0)
        time.sleep(0)
        await asyncio.sleep(delay)
        assert ready()
"""


def test_sleep_in_unit_suite_flagged(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/unit/test_a.py": SLEEPY}, suites={"unit": ["tests/unit"]})
    assert hits(result) == [("sleep-in-unit", "tests/unit/test_a.py", n) for n in (8, 12, 13, 19)]
    assert result.findings[0].test is None
    assert result.findings[1].test == "tests/unit/test_a.py::test_poll_status_eventually_ready"
    assert result.findings[1].reason == "time.sleep(1) in unit suite unit: unit tests should not wait"


def test_sleep_in_integration_suite_not_flagged(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/integration/test_a.py": SLEEPY}, suites={"integration": ["tests"]})
    assert hits(result) == []


def test_sleep_custom_unit_suites_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {"tests/fast/test_a.py": SLEEPY},
        suites={"fast": ["tests/fast"], "unit": ["other"]},
        unit_suites=["fast"],
    )
    assert lines(result, "sleep-in-unit") == [8, 12, 13, 19]
    assert "unit suite fast" in result.findings[0].reason


# -- skipped -------------------------------------------------------------------------------------------


def test_skipped_unconditional_skips_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                import unittest

                import pytest
                from pytest import mark


                @pytest.mark.skip
                def test_feature_one_skipped_always():
                    assert run()


                @mark.skip(reason="flaky")
                def test_feature_two_skipped_always():
                    assert run()


                @pytest.mark.skipif(True, reason="later")
                def test_feature_three_skipped_always():
                    assert run()


                @pytest.mark.skipif(reason="no condition")
                def test_feature_four_skipped_always():
                    assert run()


                def test_feature_five_skipped_always():
                    pytest.skip("not ready")
                    assert run()


                class TestCase(unittest.TestCase):
                    @unittest.skip("broken")
                    def test_feature_six_skipped_always(self):
                        self.assertTrue(run())

                    def test_feature_seven_skipped_always(self):
                        self.skipTest("broken")
                        self.assertTrue(run())


                @pytest.mark.skip
                class TestWhole:
                    def test_feature_eight_skipped_always(self):
                        assert run()
            """
        },
    )
    assert hits(result) == [("skipped", "tests/test_a.py", n) for n in (7, 12, 17, 22, 28, 33, 38, 42)]
    assert result.findings[-1].test == "tests/test_a.py::TestWhole"
    assert result.findings[4].reason == "pytest.skip() at the top level of the test body"


def test_skipped_module_marks_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                import pytest

                pytestmark = [pytest.mark.slow, pytest.mark.skip(reason="off")]


                def test_feature_one_works_fine():
                    assert run()
            """,
            "tests/test_b.py": """\
                import pytest

                pytest.skip("whole module", allow_module_level=True)


                def test_feature_two_works_fine():
                    assert run()
            """,
        },
    )
    assert hits(result) == [("skipped", "tests/test_a.py", 3), ("skipped", "tests/test_b.py", 3)]
    assert "every test of the module" in result.findings[0].reason
    assert result.findings[0].test is None


def test_skipped_conditional_skips_not_flagged(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                import sys
                import unittest

                import pytest


                @pytest.mark.skipif(sys.platform == "win32", reason="posix only")
                def test_feature_one_posix_works():
                    assert run()


                @pytest.mark.skipif(False, reason="never")
                def test_feature_two_always_runs():
                    assert run()


                @pytest.mark.skipif("sys.platform == 'win32'")
                def test_feature_three_string_condition():
                    assert run()


                def test_feature_four_conditional_skip():
                    if not have_db():
                        pytest.skip("no database")
                    assert run()


                @unittest.skipIf(sys.version_info < (3, 12), "old")
                def test_feature_five_version_gated():
                    assert run()


                @pytest.mark.xfail(reason="known bug")
                def test_feature_six_expected_failure():
                    assert run()
            """
        },
    )
    assert hits(result) == []


# -- naming --------------------------------------------------------------------------------------------


NAMES = """\
    def test_parse():
        assert parse()


    def test_parse_empty():
        assert parse()


    def test_parse_empty_input_rejected():
        assert parse()


    class TestParse:
        def test_short(self):
            assert parse()

        def helper(self):
            return 1


    class Helper:
        def test_not_collected(self):
            pass
"""


def test_naming_default_convention_flagged(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": NAMES})
    assert hits(result) == [("naming", "tests/test_a.py", n) for n in (1, 5, 14)]
    assert result.findings[2].test == "tests/test_a.py::TestParse::test_short"
    assert "test_<feature>_<scenario>_<expected>" in result.findings[0].reason


def test_naming_custom_regex_used(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": NAMES}, naming=r"test_[a-z]+")
    assert hits(result) == [("naming", "tests/test_a.py", 5), ("naming", "tests/test_a.py", 9)]
    assert "does not match the naming pattern 'test_[a-z]+'" in result.findings[0].reason


def test_naming_none_disables_rule(tmp_path: Path) -> None:
    assert hits(run(tmp_path, {"tests/test_a.py": NAMES}, naming=None)) == []


def test_naming_invalid_regex_raises_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="invalid regular expression"):
        audit_paths(tmp_path, {}, naming="test_(")


def test_naming_default_examples_match() -> None:
    import re

    good = ["test_login_bad_password_rejected", "test_parse_empty_raises", "test_HTTP_500_retried"]
    bad = ["test_parse", "test_parse_empty", "test__a_b", "test_a_b_"]
    assert [bool(re.fullmatch(DEFAULT_NAMING, n)) for n in good + bad] == [True] * 3 + [False] * 4


# -- suppression ---------------------------------------------------------------------------------------


def test_suppression_comments_silence_findings(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                import time

                import pytest


                def test_smoke():  # mcptest: ignore[no-assert, naming]
                    import app


                @pytest.mark.skip  # mcptest: ignore[skipped]
                def test_feature_skipped_on_purpose():
                    assert run()


                def test_feature_constant_assert_kept():
                    assert True  # mcptest: ignore
                    time.sleep(0.1)  # mcptest: ignore[sleep-in-unit]


                def test_feature_wrong_id_given():
                    assert True  # mcptest: ignore[naming]


                def test_multi(
                    a=1,
                ):  # mcptest: ignore[naming,no-assert]
                    print(a)


                @pytest.mark.skip(
                    reason="long",
                )
                def test_decorated():  # mcptest: ignore[skipped, naming]
                    assert run()
            """
        },
    )
    assert hits(result) == [("always-true", "tests/test_a.py", 21)]
    assert result.suppressed == 9


def test_suppression_not_wired_in_header(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tools/test_a.py": '''\
                """Run by hand, on purpose outside every suite."""
                # mcptest: ignore[not-wired]

                def test_manual_check_runs_fine():
                    assert run()
            ''',
            "tools/test_b.py": """\
                import os
                # mcptest: ignore[not-wired]


                def test_manual_check_runs_fine():
                    assert run()
            """,
        },
        suites={},
    )
    assert hits(result) == [("not-wired", "tools/test_b.py", 1)]
    assert result.suppressed == 1


# -- broken files --------------------------------------------------------------------------------------


def test_broken_files_reported_not_raised(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": "def test_ok_file_parses_fine():\n    assert run()\n",
            "tests/test_b.py": "import os\n\ndef test_x(:\n    pass\n",
            "tests/test_c.py": b"\xff\xfe\x00bad bytes\n",
            "tests/test_d.py": "# -*- coding: no-such-codec -*-\n",
            "tests/test_e.py": 'RE = "\\d+"\n\ndef test_escape_warning_ignored_ok():\n    assert RE\n',
        },
    )
    assert hits(result) == [
        ("syntax-error", "tests/test_b.py", 3),
        ("unreadable", "tests/test_c.py", 1),
        ("unreadable", "tests/test_d.py", 1),
    ]
    assert result.findings[0].reason.startswith("does not parse: ")
    assert result.files_scanned == 5


# -- result --------------------------------------------------------------------------------------------


def test_result_to_dict_stable_and_json(tmp_path: Path) -> None:
    files: dict[str, str | bytes] = {
        "tests/test_b.py": "def test_b():\n    pass\n",
        "tests/test_a.py": "import time\n\ndef test_a():\n    time.sleep(1)\n    assert True\n",
    }
    first = run(tmp_path, files).to_dict()
    second = audit_paths(tmp_path, UNIT).to_dict()
    assert first == second
    assert list(first) == ["format_version", "files_scanned", "suppressed", "counts", "findings"]
    assert list(first["counts"]) == list(RULES)
    assert first["counts"]["naming"] == 2
    assert [(f["file"], f["line"], f["rule"]) for f in first["findings"]] == [
        ("tests/test_a.py", 3, "naming"),
        ("tests/test_a.py", 4, "sleep-in-unit"),
        ("tests/test_a.py", 5, "always-true"),
        ("tests/test_b.py", 1, "empty-test"),
        ("tests/test_b.py", 1, "naming"),
    ]
    assert json.loads(json.dumps(first)) == first
    assert first["findings"][0] == {
        "rule": "naming",
        "file": "tests/test_a.py",
        "line": 3,
        "test": "tests/test_a.py::test_a",
        "reason": "'test_a' is not test_<feature>_<scenario>_<expected> (3+ words after test_)",
    }


def test_result_clean_project_ok(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": "def test_parse_empty_input_rejected():\n    assert run()\n"})
    assert result.ok
    assert result.files_scanned == 1
    assert set(result.counts.values()) == {0}


def test_finding_sort_key_orders_by_file_line_rule() -> None:
    findings = [
        Finding("naming", "b.py", 1, None, "r"),
        Finding("no-assert", "b.py", 1, None, "r"),
        Finding("naming", "a.py", 9, None, "r"),
    ]
    assert [(f.file, f.rule) for f in sorted(findings, key=Finding.sort_key)] == [
        ("a.py", "naming"),
        ("b.py", "no-assert"),
        ("b.py", "naming"),
    ]


def test_audit_config_unit_suites_from_test_type(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "tests/fast/test_a.py": SLEEPY,
            "tests/slow/test_b.py": SLEEPY,
            "tests/stray/test_c.py": "def test_stray_file_never_runs():\n    assert run()\n",
        },
    )
    config = Config(
        path=tmp_path / "mcptest.yaml",
        root=tmp_path,
        source=["app"],
        suites={
            "fast": SuiteConfig(name="fast", paths=["tests/fast"], test_type="unit"),
            "slow": SuiteConfig(name="slow", paths=["tests/slow"], test_type="integration"),
        },
    )
    result = audit_config(config)
    assert hits(result) == [("sleep-in-unit", "tests/fast/test_a.py", n) for n in (8, 12, 13, 19)] + [
        ("not-wired", "tests/stray/test_c.py", 1)
    ]


def test_class_scoped_helpers_and_fixtures_resolved(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {
            "tests/test_a.py": """\
                import pytest


                class Checks:
                    def same(self, a, b):
                        assert a == b


                class TestOuter(Checks):
                    @pytest.fixture
                    def conn(self):
                        ...

                    @pytest.fixture  # mcptest: ignore[placeholder]
                    def quiet(self):
                        pass

                    def test_outer_base_helper_checks(self, conn, quiet):
                        self.same(conn, 1)

                    class TestInner:
                        def test_inner_call_only_runs(self):
                            run()
            """
        },
    )
    assert hits(result) == [("placeholder", "tests/test_a.py", 11), ("no-assert", "tests/test_a.py", 22)]
    assert result.findings[1].test == "tests/test_a.py::TestOuter::TestInner::test_inner_call_only_runs"
    assert result.suppressed == 1


def test_suite_folder_inside_ignored_dir_scanned(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        {"build/generated/test_a.py": "def test_generated_case_runs_empty():\n    pass\n"},
        suites={"gen": ["build/generated"]},
    )
    assert hits(result) == [("empty-test", "build/generated/test_a.py", 1)]


def test_suite_folder_outside_root_scanned(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "shared/test_a.py": "def test_shared_case_runs_empty():\n    pass\n",
            "proj/deep/x/test_b.py": "def test_deep_case_runs_fine():\n    assert run()\n",
        },
    )
    result = audit_paths(tmp_path / "proj", {"shared": ["../shared"], "deep": ["**/x"]})
    assert hits(result) == [("empty-test", "../shared/test_a.py", 1)]
    assert result.files_scanned == 2
