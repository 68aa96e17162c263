"""JUnit XML (the xunit2 flavour read by Jenkins and GitLab), built with xml.etree.

One ``testsuite`` per suite. A suite the bridge preflight stopped gets a failing ``preflight``
testcase, bridge probes and coverage gates get testsuites of their own (``mcptest.bridges``,
``mcptest.gates``, counted apart from the tests), so a CI that only reads JUnit still sees why the run
failed. The document is valid against the xunit2 schema pytest validates its own output with
(``tests/schemas/junit-10.xsd``): a ``testcase`` has no ``file``/``line`` and ``testsuites`` no ``skipped``,
as in ``pytest --junit-xml`` with ``junit_family = xunit2``.

A flaky test (its attempts did not all end the same way) that failed the run is a ``failure`` whose message
lists its attempts; one that ``flaky.allow`` accepted is a pass with its attempts in ``system-out``.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence

from mcptest.model import BridgeProbe, RunRecord, SuiteResult, TestCase, Verdict
from mcptest.textsafe import clean as clean_text

# Characters XML 1.0 cannot carry at all (control characters, lone surrogates, U+FFFE, U+FFFF);
# ElementTree would write them and produce a file no parser accepts.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: object, *, multiline: bool = True) -> str:
    """Foreign text for the XML: terminal controls stripped (``textsafe.clean``), then what XML 1.0 forbids."""
    return _NOT_XML.sub("\ufffd", clean_text(text, multiline=multiline))


def _secs(value: float | None) -> str:
    return f"{value or 0.0:.3f}"


def classname(test: TestCase) -> str:
    """``suites/unit/test_x.py::TestA::test_b`` -> ``suites.unit.test_x.TestA``, as pytest writes it."""
    parts = test.nodeid.split("::")
    path = parts[0]
    if path.endswith(".py"):
        path = path[:-3]
    return ".".join([path.replace("/", ".").replace("\\", "."), *parts[1:-1]])


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    # attribute values on one line (the full text is the element's body); bodies keep their line breaks
    el = ET.SubElement(parent, tag, {k: clean(v, multiline=False) for k, v in attrs.items() if v is not None})
    if text:
        el.text = clean(text)
    return el


def _attempts(test: TestCase) -> list[str]:
    return [
        f"attempt {i}: {a.outcome} in {a.duration:.3f}s" + (f": {a.message}" if a.message else "")
        for i, a in enumerate(test.attempts, start=1)
    ]


def _testcase(parent: ET.Element, test: TestCase, *, flaky_fails: bool = False) -> None:
    # xunit2 (pytest's default family) has no file/line attributes on testcase: pytest leaves them out too
    case = _el(parent, "testcase", classname=classname(test), name=test.name, time=_secs(test.duration))
    message = test.message or ""
    detail = test.longrepr or test.message
    if test.flaky and flaky_fails:
        order = ", then ".join(a.outcome for a in test.attempts) or "outcomes differ between attempts"
        text = "\n".join(_attempts(test)) + (f"\n\n{detail}" if detail else "")
        _el(case, "failure", text, message=f"flaky ({order}), not allowed by flaky.allow", type="flaky")
        return
    if test.outcome == "failed":
        _el(case, "failure", detail, message=message or "failed", type="failure")
    elif test.outcome == "error":
        _el(case, "error", detail, message=message or "error", type="error")
    elif test.outcome == "skipped":
        _el(case, "skipped", detail, message=message or "skipped", type="pytest.skip")
    elif test.outcome == "xfailed":
        _el(case, "skipped", detail, message=message or "expected failure", type="pytest.xfail")
    if test.flaky or len(test.attempts) > 1:
        label = "flaky, allowed by flaky.allow:\n" if test.flaky else ""
        _el(case, "system-out", label + "\n".join(_attempts(test)))


def _suite(
    root: ET.Element,
    name: str,
    tests: int,
    failures: int,
    errors: int,
    skipped: int,
    time: float,
    timestamp: str | None,
) -> ET.Element:
    return _el(
        root,
        "testsuite",
        name=name,
        tests=tests,
        failures=failures,
        errors=errors,
        skipped=skipped,
        time=_secs(time),
        timestamp=timestamp,
    )


def flaky_failing(suite: SuiteResult, verdicts: Sequence[Verdict]) -> set[str]:
    """Node ids of the suite's flaky tests that failed the run, from the suite's ``flaky`` verdict.

    A passing verdict means ``flaky.allow`` accepted every one. A failing verdict names the tests it blocked on
    when only some were allowed; when that list was cut, or there is no verdict, every flaky test counts as
    failing (fail closed).
    """
    flaky = [t.nodeid for t in suite.tests if t.flaky]
    verdict = next((v for v in verdicts if v.kind == "flaky" and v.target == f"suite:{suite.name}"), None)
    if verdict is not None and verdict.passed:
        return set()
    if verdict is None or verdict.actual is None or int(verdict.actual) >= len(flaky):
        return set(flaky)
    named = {n for n in flaky if n in (verdict.message or "")}
    return named if len(named) == int(verdict.actual) else set(flaky)


def _suite_element(root: ET.Element, suite: SuiteResult, verdicts: Sequence[Verdict] = ()) -> None:
    preflight = suite.status == "not-run" and bool(suite.problems)
    el = _suite(root, suite.name, 0, 0, 0, 0, suite.duration, suite.started_at)
    if preflight:
        case = _el(el, "testcase", classname=f"mcptest.{suite.name}", name="preflight", time="0.000")
        _el(
            case,
            "failure",
            "\n".join(suite.problems),
            message="suite not run: " + "; ".join(suite.problems),
            type="preflight",
        )
    failing = flaky_failing(suite, verdicts) if any(t.flaky for t in suite.tests) else set()
    for test in suite.tests:
        _testcase(el, test, flaky_fails=test.nodeid in failing)
    # counted from the testcases written, so the attributes always agree with the body
    cases = el.findall("testcase")
    for key, tag in (("failures", "failure"), ("errors", "error"), ("skipped", "skipped")):
        el.set(key, str(sum(c.find(tag) is not None for c in cases)))
    el.set("tests", str(len(cases)))


def _bridges_element(root: ET.Element, probes: Iterable[BridgeProbe], timestamp: str | None) -> None:
    probes = list(probes)
    bad = [p for p in probes if p.status not in p.accepted]
    # Probes run concurrently: the slowest one is how long the preflight took.
    slowest = max(((p.response_time_ms or 0.0) for p in probes), default=0.0)
    el = _suite(root, "mcptest.bridges", len(probes), len(bad), 0, 0, slowest / 1000, timestamp)
    for p in probes:
        case = _el(
            el,
            "testcase",
            classname="mcptest.bridges",
            name=p.name,
            time=_secs((p.response_time_ms or 0.0) / 1000),
        )
        if p.status not in p.accepted:
            text = f"{p.url}: {p.status}" + (f" (HTTP {p.http_status})" if p.http_status else "")
            text += f"; accepted: {', '.join(p.accepted)}" + (f"; {p.reason}" if p.reason else "")
            _el(
                case,
                "failure",
                text,
                message=f"bridge {p.name} is {p.status}: {p.reason}".rstrip(": "),
                type="bridge",
            )


def _gates_element(
    root: ET.Element, verdicts: Iterable[Verdict], timestamp: str | None, not_judged: str | None = None
) -> None:
    """The gates' testsuite; ``not_judged`` (a partial run) is a skipped case saying which gates were not judged."""
    verdicts = list(verdicts)
    el = _suite(
        root,
        "mcptest.gates",
        len(verdicts) + bool(not_judged),
        sum(not v.passed for v in verdicts),
        0,
        int(bool(not_judged)),
        0.0,
        timestamp,
    )
    if not_judged:
        case = _el(el, "testcase", classname="mcptest.gates.partial", name="coverage gates", time="0.000")
        _el(case, "skipped", not_judged, message=not_judged, type="partial")
    for v in verdicts:
        case = _el(
            el, "testcase", classname=f"mcptest.gates.{v.kind}", name=f"{v.target} {v.metric}", time="0.000"
        )
        if not v.passed:
            _el(
                case,
                "failure",
                v.message or None,
                message=v.message or f"{v.kind} {v.target} {v.metric}",
                type=v.kind,
            )


def render_junit(record: RunRecord) -> str:
    """The JUnit XML document (UTF-8, with declaration) for the whole run."""
    root = ET.Element("testsuites", {"name": f"mcptest {clean(record.selection.suite, multiline=False)}"})
    for suite in record.suites:
        _suite_element(root, suite, record.verdicts)
    if record.bridges:
        _bridges_element(root, record.bridges, record.started_at)
    partial = record.partial_note()
    if record.verdicts or partial:
        _gates_element(root, record.verdicts, record.started_at, partial)
    # xunit2's testsuites carries no "skipped" (each testsuite does)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for el in root:
        for key in totals:
            totals[key] += int(el.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _secs(record.duration))
    ET.indent(root)
    out = io.StringIO()
    ET.ElementTree(root).write(out, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + out.getvalue() + "\n"
