"""The audit rules that find hollow tests: each fires on a crafted file and stays quiet on its sound twin."""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

from mcptest.audit import ALL, RULES, AuditResult, audit_config, audit_paths
from mcptest.config_model import Config, SuiteConfig


def run(root: Path, files: dict[str, str], types: dict[str, str] | None = None) -> AuditResult:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text), encoding="utf-8")
    types = types or {"unit": "unit"}
    return audit_paths(root, {name: ["tests"] for name in types}, naming=None, suite_types=types)


def hits(result: AuditResult, rule: str) -> list[tuple[str, int]]:
    return [(f.file, f.line) for f in result.findings if f.rule == rule]


def names_of(result: AuditResult, rule: str) -> list[str]:
    return [(f.test or "").rsplit("::", 1)[-1] for f in result.findings if f.rule == rule]


def test_every_rule_has_a_title_why_and_hint() -> None:
    assert list(RULES) == [r.id for r in ALL]
    for rule in ALL:
        assert rule.title and rule.why and rule.hint, rule.id
        assert "\n" not in rule.why + rule.hint, rule.id


# -- self-called-mock ----------------------------------------------------------------------------------

SELF_MOCK = """\
    from unittest import mock
    from unittest.mock import MagicMock, call

    import app


    def test_send_mock_called_by_test_only():
        m = mock.Mock()
        m.send("hi")
        m.send.assert_called_once_with("hi")


    def test_send_mock_never_called_at_all():
        m = MagicMock()
        m.send.return_value = 3
        m.assert_not_called()


    async def test_send_mock_call_list_read_only():
        m = mock.AsyncMock()
        await m(1)
        assert m.call_args == call(1)
        assert len(m.mock_calls) == 1


    def test_send_mock_passed_to_code_quiet():
        m = mock.Mock()
        app.send(m, "hi")
        m.send.assert_called_once_with("hi")


    def test_send_mock_patched_in_quiet(monkeypatch):
        m = mock.Mock()
        monkeypatch.setattr(app, "send", m)
        app.run()
        m.assert_called_once()


    def test_send_mock_stored_on_client_quiet():
        m = mock.Mock()
        app.client.transport = m
        app.client.ping()
        m.assert_called()


    def test_send_mock_result_handed_on_quiet():
        m = mock.Mock()
        app.process(m())
        m.return_value.close.assert_called_once()


    def test_send_mock_in_callback_quiet():
        m = mock.Mock()
        app.register(lambda: m())
        app.fire()
        m.assert_called_once()


    def test_send_real_assertion_too_quiet():
        m = mock.Mock()
        m()
        m.assert_called()
        assert app.run() == 1


    def test_send_patched_mock_quiet():
        with mock.patch("app.send") as m:
            app.run()
            m.assert_called_once()


    def test_send_fixture_mock_quiet(fake):
        fake()
        fake.assert_called_once()
"""


def test_self_called_mock_flagged_only_where_code_never_sees_it(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": SELF_MOCK})
    assert names_of(result, "self-called-mock") == [
        "test_send_mock_called_by_test_only",
        "test_send_mock_never_called_at_all",
        "test_send_mock_call_list_read_only",
    ]
    reasons = [f.reason for f in result.findings if f.rule == "self-called-mock"]
    assert reasons[0] == (
        "asserts only on mock 'm', which the test calls itself: the code under test never touches it"
    )
    assert "which nothing calls or receives" in reasons[1]


def test_self_called_mock_unittest_assert_methods_flagged(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": """\
        import unittest
        from unittest.mock import Mock

        import app


        class TestSend(unittest.TestCase):
            def test_send_counted_by_itself_flagged(self):
                m = Mock()
                m.send()
                self.assertEqual(m.send.call_count, 1)

            def test_send_counted_by_code_quiet(self):
                m = Mock()
                app.send(m)
                self.assertEqual(m.send.call_count, 1)
        """})
    assert names_of(result, "self-called-mock") == ["test_send_counted_by_itself_flagged"]


# -- unchecked-value -----------------------------------------------------------------------------------

UNCHECKED = """\
    import threading

    import app


    def test_race_flag_never_checked():
        race_detected = False

        def worker():
            nonlocal race_detected
            if app.conflict():
                race_detected = True

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        assert app.done()


    def test_errors_collected_never_checked():
        errors = []
        for item in app.items():
            try:
                app.handle(item)
            except ValueError as exc:
                errors.append(exc)
        assert app.items()


    def test_result_computed_never_read():
        result = app.compute()
        assert app.other()


    def test_calls_recorded_never_read(monkeypatch):
        calls = []
        monkeypatch.setattr(app, "send", lambda x: calls.append(x))
        assert app.run()


    def test_errors_checked_quiet():
        errors = []
        app.run(on_error=errors.append)
        assert not errors


    def test_flag_checked_quiet():
        race_detected = False
        if app.conflict():
            race_detected = True
        assert not race_detected


    def test_results_read_by_index_quiet():
        results = [None, None]
        results[0] = app.compute()
        assert results[0]


    def test_private_unpacked_and_class_names_quiet():
        _ = app.compute()
        __tracebackhide__ = True
        first, second = app.pair()

        class Fake:
            calls = 0

        assert app.use(Fake, first)


    def test_deliberate_unused_quiet():
        stream = app.stream()
        typed: app.Stream[int] = stream
        with app.raises(ZeroDivisionError):
            a = 1 / 0  # noqa: F841

        def callback(x):
            seen = x
            return None

        assert app.use(callback)
"""


def test_unchecked_value_flags_flags_and_lists_nothing_reads(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": UNCHECKED})
    assert hits(result, "unchecked-value") == [
        ("tests/test_a.py", 7),
        ("tests/test_a.py", 21),
        ("tests/test_a.py", 31),
        ("tests/test_a.py", 36),
    ]
    reasons = [f.reason for f in result.findings if f.rule == "unchecked-value"]
    assert reasons[0] == "'race_detected' is set (line 7) but never read: the value is never checked"
    assert reasons[1] == "'errors' is filled (errors.append) but never read: whatever it collects is never checked"
    assert names_of(result, "unchecked-value")[3] == "test_calls_recorded_never_read"


# -- patched-http --------------------------------------------------------------------------------------

PATCHED = """\
    from unittest import mock

    import pytest
    import requests
    import requests_mock
    import responses

    import app


    @pytest.fixture
    def fake_http():
        with requests_mock.Mocker() as m:
            m.get("http://x/ping", text="ok")
            yield m


    @responses.activate
    def test_ping_responses_decorator():
        responses.add(responses.GET, "http://x/ping", body="ok")
        assert app.ping() == "ok"


    def test_ping_requests_mock_fixture(requests_mock):
        requests_mock.get("http://x/ping", text="ok")
        assert app.ping() == "ok"


    @mock.patch("app.client.requests.get")
    def test_ping_patch_decorator(get):
        assert app.ping() == "ok"


    def test_ping_monkeypatch_object(monkeypatch):
        monkeypatch.setattr(requests.Session, "get", lambda *a, **k: None)
        assert app.ping() == "ok"


    def test_ping_patch_urllib3_context():
        with mock.patch("urllib3.PoolManager.request"):
            assert app.ping() == "ok"


    def test_ping_own_fixture_fakes(fake_http):
        assert app.ping() == "ok"


    @pytest.fixture
    def api(httpx_mock):
        return app.Api()


    def test_ping_fixture_asks_httpx_mock(api):
        assert api.ping() == "ok"


    def test_ping_live_server_quiet(live_url):
        assert requests.get(live_url + "/ping", timeout=5).text == "ok"


    def test_ping_other_patches_quiet(monkeypatch):
        monkeypatch.setattr(app, "TIMEOUT", 0.1)
        with mock.patch("app.retry.sleep"), mock.patch("myrequests.get"):
            assert app.ping() == "ok"


    def test_requests_own_helpers_patched_quiet():
        with mock.patch("requests.utils.proxy_bypass", return_value=True):
            assert app.ping() == "ok"
"""


def test_patched_http_flagged_in_integration_suite(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": PATCHED}, {"integration": "integration"})
    assert names_of(result, "patched-http") == [
        "test_ping_responses_decorator",
        "test_ping_requests_mock_fixture",
        "test_ping_patch_decorator",
        "test_ping_monkeypatch_object",
        "test_ping_patch_urllib3_context",
        "test_ping_own_fixture_fakes",
        "test_ping_fixture_asks_httpx_mock",
    ]
    reasons = {(f.test or "").rsplit("::", 1)[-1]: f.reason for f in result.findings if f.rule == "patched-http"}
    assert reasons["test_ping_patch_decorator"].startswith(
        "fakes the HTTP layer (@unittest.mock.patch('app.client.requests.get') on line 29) in integration suite"
    )
    assert "fixture 'fake_http' (tests/test_a.py:13)" in reasons["test_ping_own_fixture_fakes"]
    assert "(requests_mock.get on line 25)" in reasons["test_ping_requests_mock_fixture"]
    assert "(the httpx_mock fixture)" in reasons["test_ping_fixture_asks_httpx_mock"]


def test_patched_http_quiet_in_unit_suite(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": PATCHED}, {"fast": "unit", "custom": "custom"})
    assert hits(result, "patched-http") == []


# -- unused-fixture and placeholder --------------------------------------------------------------------


def test_unused_fixture_flagged_and_uses_recognised(tmp_path: Path) -> None:
    result = run(tmp_path, {
        "tests/conftest.py": """\
            import pytest


            @pytest.fixture
            def stale_db():
                return {}


            @pytest.fixture
            def anyio_backend():
                return "asyncio"


            @pytest.fixture
            def base():
                return 1


            @pytest.fixture
            def derived(base):
                return base + 1
            """,
        "tests/test_a.py": """\
            import pytest

            pytestmark = pytest.mark.usefixtures("marked")


            @pytest.fixture
            def never():
                return 1


            @pytest.fixture
            def marked():
                return 1


            @pytest.fixture(autouse=True)
            def reset():
                yield 1


            @pytest.fixture
            def by_string():
                return 1


            @pytest.fixture
            def via_param(request):
                return request.param


            @pytest.mark.parametrize("via_param", [1], indirect=True)
            def test_derived_fixture_chain_used(derived, via_param, request):
                assert derived == 2 == request.getfixturevalue("by_string") + 1
            """,
    })
    assert hits(result, "unused-fixture") == [("tests/conftest.py", 5), ("tests/test_a.py", 7)]
    assert result.findings[0].reason == (
        "fixture 'stale_db' is defined but no test requests it, directly or through another fixture"
    )
    assert hits(result, "placeholder") == []


def test_placeholder_autouse_and_marked_fixtures_flagged(tmp_path: Path) -> None:
    result = run(tmp_path, {"tests/test_a.py": """\
        import pytest

        pytestmark = [pytest.mark.usefixtures("server")]


        @pytest.fixture(autouse=True)
        def clean_db():
            pass


        @pytest.fixture
        def server():
            yield


        def test_user_created_has_name_set():
            assert make_user().name
        """})
    assert hits(result, "placeholder") == [("tests/test_a.py", 7), ("tests/test_a.py", 12)]
    assert hits(result, "unused-fixture") == []


# -- sleep-in-unit by the suite's type -----------------------------------------------------------------


def test_sleep_judged_by_suite_type_not_name_or_folder(tmp_path: Path) -> None:
    sleepy = "import time\n\n\ndef test_poll_status_eventually_ready():\n    time.sleep(1)\n    assert ready()\n"
    for rel in ("tests/unit/test_a.py", "tests/integration/test_b.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(sleepy, encoding="utf-8")
    config = Config(
        path=tmp_path / "mcptest.yaml",
        root=tmp_path,
        source=["app"],
        suites={
            "unit": SuiteConfig(name="unit", paths=["tests/unit"], test_type="integration"),
            "checks": SuiteConfig(name="checks", paths=["tests/integration"], test_type="unit"),
        },
    )
    result = audit_config(config, naming=None)
    assert hits(result, "sleep-in-unit") == [("tests/integration/test_b.py", 5)]
    assert "unit suite checks" in result.findings[0].reason


def test_readme_lists_every_rule_with_its_why() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for rule in ALL:
        assert f"| `{rule.id}` | {rule.title}: {rule.why} |" in readme, rule.id
