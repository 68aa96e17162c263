"""JUnit XML: parses, counts agree with the testcases, preflight and gates are failing testcases."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import xmlschema

from mcptest.model import Attempt, RunRecord, Verdict
from mcptest.report import render_junit
from mcptest.report.junit import classname
from tests.conftest_report import HOSTILE, case, counts_of, make_record

XSD = Path(__file__).parent / "schemas" / "junit-10.xsd"


def parse(record=None) -> ET.Element:  # type: ignore[no-untyped-def]
    return ET.fromstring(render_junit(record or make_record()).encode("utf-8"))


def by_name(root: ET.Element, name: str) -> ET.Element:
    found = root.find(f"testsuite[@name='{name}']")
    assert found is not None, name
    return found


def test_counts_of_every_testsuite_match_its_testcases() -> None:
    root = parse()
    assert root.tag == "testsuites"
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors", "-1")) == sum(c.find("error") is not None for c in cases)
        assert int(suite.get("skipped", "-1")) == sum(c.find("skipped") is not None for c in cases)
    for key in ("tests", "failures", "errors"):
        assert int(root.get(key, "-1")) == sum(int(s.get(key, "0")) for s in root.iter("testsuite"))
    assert root.get("skipped") is None  # not an attribute of xunit2's testsuites


def test_testcases_carry_classname_name_time_and_failure_text() -> None:
    unit = by_name(parse(), "unit")
    assert unit.get("time") == "34.200" and unit.get("timestamp") == "2025-10-12T14:30:01Z"
    evil = unit.find(f"testcase[@name='{HOSTILE}']")  # the name is data, parsed back verbatim
    assert evil is not None
    assert evil.get("classname") == "suites.unit.test_routing"
    # xunit2 has no file/line on testcase (pytest's junit_family default writes neither)
    assert sorted(evil.keys()) == ["classname", "name", "time"]
    assert evil.get("time") == "0.310"
    failure = evil.find("failure")
    assert failure is not None and HOSTILE in failure.get("message", "")
    assert failure.text and "assert 1 == 2" in failure.text
    error = unit.find("testcase[@name='test_sync_retries_on_503']/error")
    assert error is not None and error.get("message") == "fixture 'bridge' not found"
    skipped = unit.find("testcase[@name='test_health_marks_degraded_backend']/skipped")
    assert skipped is not None and skipped.get("message") == "needs a clock fixture"
    # no flaky verdict in this record says flaky.allow accepted it: the flaky test fails (fail closed)
    flaky = unit.find("testcase[@name='test_health_recovers_after_outage']/failure")
    assert flaky is not None and flaky.get("type") == "flaky"


def test_hostile_name_is_escaped_in_the_xml_text() -> None:
    xml = render_junit(make_record())
    assert HOSTILE not in xml
    assert 'name="&lt;script&gt;alert(1)&lt;/script&gt;"' in xml


def test_suite_stopped_by_preflight_becomes_a_failing_testcase() -> None:
    integration = by_name(parse(), "integration")
    assert integration.get("tests") == "1" and integration.get("failures") == "1"
    failure = integration.find("testcase[@name='preflight']/failure")
    assert failure is not None
    assert "baileys is unreachable" in failure.get("message", "")


def test_bridge_probes_are_testcases_and_a_refused_one_fails() -> None:
    bridges = by_name(parse(), "mcptest.bridges")
    assert bridges.find("testcase[@name='go']/failure") is None
    failure = bridges.find("testcase[@name='baileys']/failure")
    assert failure is not None and "connection refused" in failure.get("message", "")


def test_failing_gates_are_failing_testcases() -> None:
    gates = by_name(parse(), "mcptest.gates")
    record = make_record()
    assert gates.get("tests") == str(len(record.verdicts))
    assert gates.get("failures") == str(sum(not v.passed for v in record.verdicts))
    drop = gates.find("testcase[@classname='mcptest.gates.max_drop']/failure")
    assert drop is not None and "dropped 2.35 pp" in drop.get("message", "")


def test_xfail_is_skipped_and_xpass_is_a_pass() -> None:
    record = make_record()
    tests = [case("test_known_bug", "xfailed", message="reason: issue 12"), case("test_fixed_bug", "xpassed")]
    record.suites[0].tests = tests
    record.suites[0].counts = counts_of(tests)
    unit = by_name(parse(record), "unit")
    assert unit.get("skipped") == "1" and unit.get("failures") == "0"
    skipped = unit.find("testcase[@name='test_known_bug']/skipped")
    assert skipped is not None and skipped.get("type") == "pytest.xfail"
    passed = unit.find("testcase[@name='test_fixed_bug']")
    assert passed is not None and len(passed) == 0


def test_control_characters_and_colour_codes_do_not_break_the_xml() -> None:
    record = make_record()
    test = record.suites[0].tests[2]
    test.message = "\x1b[31mboom\x1b[0m \x00\x08 end"
    test.longrepr = "E   \x1b[1mbad\x1b[0m\x0c"
    unit = by_name(parse(record), "unit")
    failure = unit.find(f"testcase[@name='{HOSTILE}']/failure")
    assert failure is not None
    # control characters are stripped (textsafe.clean); a form feed in a multi-line body is a line break
    assert failure.get("message") == "boom  end"
    assert failure.text == "E   bad\n"


def test_classname_follows_pytest() -> None:
    t = case("test_b[x-y]")
    t.nodeid = "suites/unit/test_x.py::TestA::test_b[x-y]"
    assert classname(t) == "suites.unit.test_x.TestA"


def flaky_record(allowed: bool, *, blocking: int | None = None) -> RunRecord:
    """A unit suite with two flaky tests and the flaky verdict the runner writes for it."""
    record = make_record()
    tests = [case("test_steady"), case("test_wobbly", "flaky"), case("test_shaky", "flaky")]
    for t in tests[1:]:
        t.flaky = True
        t.attempts = [Attempt("passed", 0.1), Attempt("failed", 0.2, "ConnectionResetError")]
    record.suites[0].tests = tests
    record.suites[0].counts = counts_of(tests)
    n = 0 if allowed else (2 if blocking is None else blocking)
    named = ", ".join(t.nodeid for t in tests[1 : 1 + n]) if n else ", ".join(t.nodeid for t in tests[1:])
    record.verdicts.append(
        Verdict("flaky", "suite:unit", "count", float(n), 0, allowed, "flaky.allow", f"suite unit: {named}")
    )
    return record


def test_flaky_test_that_failed_the_run_is_a_failure_with_its_attempts_in_the_message() -> None:
    unit = by_name(parse(flaky_record(allowed=False)), "unit")
    failure = unit.find("testcase[@name='test_wobbly']/failure")
    assert failure is not None and failure.get("type") == "flaky"
    # the label follows the attempts' order: passed first, then failed
    assert failure.get("message") == "flaky (passed, then failed), not allowed by flaky.allow"
    assert failure.text and "attempt 2: failed in 0.200s: ConnectionResetError" in failure.text
    assert unit.get("failures") == "2" and unit.get("tests") == "3"


def test_allowed_flaky_test_is_a_pass_with_its_attempts_in_system_out() -> None:
    unit = by_name(parse(flaky_record(allowed=True)), "unit")
    wobbly = unit.find("testcase[@name='test_wobbly']")
    assert wobbly is not None and wobbly.find("failure") is None and wobbly.find("error") is None
    out = wobbly.find("system-out")
    assert out is not None and out.text
    assert out.text.splitlines() == [
        "flaky, allowed by flaky.allow:",
        "attempt 1: passed in 0.100s",
        "attempt 2: failed in 0.200s: ConnectionResetError",
    ]
    assert unit.get("failures") == "0"


def test_only_the_flaky_tests_the_verdict_blocked_on_fail() -> None:
    unit = by_name(parse(flaky_record(allowed=False, blocking=1)), "unit")
    assert unit.find("testcase[@name='test_wobbly']/failure") is not None
    assert unit.find("testcase[@name='test_shaky']/failure") is None
    assert unit.get("failures") == "1"


def test_gates_stay_in_their_own_testsuite_counted_apart() -> None:
    root = parse()
    unit, gates = by_name(root, "unit"), by_name(root, "mcptest.gates")
    assert all(c.get("classname", "").startswith("mcptest.gates.") for c in gates.findall("testcase"))
    assert not any(c.get("classname", "").startswith("mcptest.gates") for c in unit.findall("testcase"))
    assert int(unit.get("tests", "0")) == len(make_record().suites[0].tests)


def valid_records() -> list[RunRecord]:
    partial = make_record()
    partial.selection.partial = True
    partial.warnings.append("partial run: gates are not evaluated, because -k narrowed the tests")
    return [make_record(), flaky_record(True), flaky_record(False), flaky_record(False, blocking=1), partial]


def test_every_report_is_valid_against_the_xunit2_schema() -> None:
    schema = xmlschema.XMLSchema(str(XSD))
    for record in valid_records():
        xml = render_junit(record)
        errors = [str(e.reason) for e in schema.iter_errors(xml)]
        assert errors == [], errors
    # the schema really is strict about what xunit2 leaves out: the old attributes would not pass
    bad = render_junit(make_record()).replace("<testcase ", '<testcase file="x.py" line="1" ', 1)
    assert not schema.is_valid(bad)
