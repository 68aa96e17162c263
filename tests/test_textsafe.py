"""textsafe.clean and the writers that use it: no terminal control reaches a terminal, page or file."""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from rich.console import Console

from mcptest.console_report import markup, plain, print_record
from mcptest.report import render_json, render_junit, render_markdown, render_pages
from mcptest.report.fmt import md_code, md_text
from mcptest.textsafe import clean
from tests.conftest_report import make_record

# What clean() must never let through: C0 controls, DEL, C1 controls, lone surrogates; multi-line
# text may keep tab and newline.
FORBIDDEN_LINE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
FORBIDDEN_MULTI = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# Text that mixes printable characters with every kind of control, escape sequences included.
hostile_text = st.lists(
    st.one_of(
        st.characters(codec="utf-8"),
        st.characters(min_codepoint=0, max_codepoint=0x9F),
        st.sampled_from(["\x1b", "\x1b[", "\x1b]", "\x9b", "\x9d", "\x07", "\x1b\\", "\x9c", "\r\n", "[", "\\"]),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF, categories=["Cs"]),
    ),
    max_size=60,
).map("".join)
printable_text = st.text(st.characters(codec="utf-8").filter(str.isprintable), max_size=40)

# Whole escape sequences of each class, as a terminal reads them.
_params = st.text(st.sampled_from("0123456789;:<=>?"), max_size=6)
_inter = st.text(st.sampled_from(" !\"#$%&'()*+,-./"), max_size=2)
_final = st.sampled_from([chr(c) for c in range(0x40, 0x7F)])
_payload = st.text(st.characters(codec="utf-8").filter(lambda c: c not in "\x07\x1b\x9c"), max_size=20)
csi = st.builds(lambda intro, p, i, f: intro + p + i + f, st.sampled_from(["\x1b[", "\x9b"]), _params, _inter, _final)
control_string = st.builds(
    lambda intro, body, end: intro + body + end,
    st.sampled_from(["\x1b]", "\x1bP", "\x1bX", "\x1b^", "\x1b_", "\x9d", "\x90", "\x98", "\x9e", "\x9f"]),
    _payload,
    st.sampled_from(["\x07", "\x1b\\", "\x9c"]),
)
two_byte = st.builds(
    lambda i, f: "\x1b" + i + f,
    _inter,
    st.sampled_from([chr(c) for c in range(0x30, 0x7F) if chr(c) not in "[]PX^_"]),
)
sequence = st.one_of(csi, control_string, two_byte)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[31mred\x1b[0m", "red"),  # CSI SGR
        ("a\x1b[2Jb", "ab"),  # CSI: clear the screen
        ("\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"),  # private parameters
        ("\x1b[2 qbar", "bar"),  # an intermediate byte
        ("\x1b[12;", ""),  # cut off before its final byte
        ("\x9b31mred", "red"),  # the 8-bit CSI
        ("\x1b]8;;http://x\x07link\x1b]8;;\x07", "link"),  # OSC 8 hyperlink, BEL-terminated
        ("\x1b]0;title\x1b\\text", "text"),  # OSC window title, ST-terminated
        ("\x9d0;title\x9ctext", "text"),  # 8-bit OSC and ST
        ("\x1bPq#0;2;0;0;0\x1b\\img", "img"),  # DCS (sixel)
        ("\x1b_apc\x1b\\ \x1b^pm\x1b\\ \x1bXsos\x1b\\", "  "),  # APC, PM, SOS
        ("\x1b]0;never ends", "0;never ends"),  # unterminated: only the introducer goes
        ("\x1b7saved\x1b8", "saved"),  # two-byte: save / restore the cursor
        ("\x1bcreset", "reset"),  # two-byte: full reset
        ("\x1b(Bascii\x1b#8", "ascii"),  # charset designation, screen alignment test
        ("end\x1b", "end"),  # a lone ESC
        ("a\x00b\x07c\x08d\x7fe", "abcde"),  # C0 controls and DEL
        ("a\x85b\x9cc\x80d", "abcd"),  # C1 controls
        ("x\ud800y", "x\ufffdy"),  # a lone surrogate cannot be encoded
        ("id\u202egnp.exe\u202c", "idgnp.exe"),  # bidi override: would show the text reversed
        ("a\u2066b\u2069c", "abc"),  # bidi isolate
    ],
)
def test_clean_removes_each_sequence_class(raw: str, shown: str) -> None:
    assert clean(raw) == shown
    assert clean(raw, multiline=True) == shown


def test_clean_line_breaks_and_tabs_are_spaces_on_one_line_and_kept_in_multiline() -> None:
    text = "E   assert 1\r\n\tsecond\rthird\vfourth\ffifth\n"
    assert clean(text) == "E   assert 1  second third fourth fifth "
    assert clean(text, multiline=True) == "E   assert 1\n\tsecond\nthird\nfourth\nfifth\n"


def test_clean_takes_any_object_and_keeps_printable_text_as_it_is() -> None:
    assert clean(Path("a/[b]")) == "a/[b]"
    assert clean(42) == "42"
    text = "tests/test_x.py::test_backend[asyncio] – ünïcødé ✓ 日本"
    assert clean(text) is text


@given(hostile_text)
def test_clean_output_holds_no_forbidden_character(text: str) -> None:
    assert not FORBIDDEN_LINE.search(clean(text))
    assert not FORBIDDEN_MULTI.search(clean(text, multiline=True))


@given(hostile_text)
def test_clean_is_idempotent(text: str) -> None:
    once = clean(text)
    assert clean(once) == once
    multi = clean(text, multiline=True)
    assert clean(multi, multiline=True) == multi


@given(printable_text)
def test_clean_printable_text_is_unchanged(text: str) -> None:
    assert clean(text) == text
    assert clean(text, multiline=True) == text


@given(printable_text, sequence, printable_text)
def test_clean_removes_a_whole_sequence_and_nothing_around_it(before: str, seq: str, after: str) -> None:
    assert clean(before + seq + after) == before + after


# --- rich: foreign text in markup templates and table cells ---------------------------------------


def render(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=10_000, color_system=None, emoji=False, highlight=False)
    console.print(renderable, soft_wrap=True)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert isinstance(out, str)
    return out


@given(hostile_text)
def test_markup_fields_are_shown_verbatim_after_cleaning(text: str) -> None:
    shown = clean(text)
    assert render(markup("[red]✗ {}[/red] and {}", text, text)) == f"✗ {shown} and {shown}\n"
    assert render(markup("{}", text)) == shown + "\n"
    assert render(plain(text)) == shown + "\n"


@pytest.mark.parametrize(
    "text", ["[/etc]", "[bold]x[/]", "test_backend[asyncio]", "a\\", "a\\\\", "\\[red]", ":smile:"]
)
def test_markup_fields_never_read_as_markup(text: str) -> None:
    assert render(markup("[yellow]warning: {}[/yellow] ({})", text, text)) == f"warning: {text} ({text})\n"


def test_markup_keeps_the_style_around_a_field() -> None:
    line = markup("plain [red]red {}[/red] {}", "[/red]x", "tail")
    assert line.plain == "plain red [/red]x tail"
    styles = {str(span.style) for span in line.spans if line.plain[span.start : span.end] == "[/red]x"}
    assert styles == {"red"}


def test_markup_refuses_a_wrong_number_of_values() -> None:
    with pytest.raises(ValueError, match="2 fields for 1 values"):
        markup("{} and {}", "one")


def test_print_record_with_markup_and_controls_in_every_foreign_field() -> None:
    record = make_record()
    hostile = "[/etc] \x1b]8;;http://x\x07link\x1b]8;;\x07 \x1b[2J \x9b31m\x07\r"
    record.suites[0].tests[0].nodeid = f"suites/unit/test_a.py::test_p[{hostile}]"
    record.suites[0].problems = [hostile]
    record.warnings = [hostile]
    record.reasons = [hostile]
    for probe in record.bridges:
        probe.name = probe.reason = hostile
    assert record.coverage is not None
    record.coverage.files[0].path = hostile
    record.coverage.baseline_id = hostile
    console = Console(file=io.StringIO(), width=300, color_system=None, emoji=False, highlight=False)
    print_record(console, record)
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert not FORBIDDEN_MULTI.search(out)
    assert "[/etc] link    " in out
    assert "test_p[[/etc] link" in out


# --- report writers -------------------------------------------------------------------------------

HOSTILE = "<b>x</b> [/etc] | a\nb \x1b]8;;http://x\x07link\x1b]8;;\x07 \x1b[2J \x9b31m \x07 \r \x7f \x85 \ud800 \ufffe"


def hostile_record():  # type: ignore[no-untyped-def]
    record = make_record()
    test = record.suites[0].tests[2]
    test.nodeid = f"suites/unit/test_routing.py::test_x[{HOSTILE}]"
    test.name = f"test_x[{HOSTILE}]"
    test.message = HOSTILE
    test.longrepr = f"E   {HOSTILE}\nsecond line"
    record.suites[0].problems = [HOSTILE]
    record.reasons = [HOSTILE]
    record.warnings = [HOSTILE]
    for probe in record.bridges:
        probe.reason = HOSTILE
    return record


def test_junit_with_hostile_text_parses_and_holds_no_control() -> None:
    xml = render_junit(hostile_record())
    root = ET.fromstring(xml.encode("utf-8"))
    assert not FORBIDDEN_MULTI.search(xml) and "\r" not in xml
    assert any("<b>x</b> [/etc] | a b link" in (el.get("message") or "") for el in root.iter("failure"))
    assert any((el.text or "").startswith("E   <b>x</b> [/etc] | a\nb link") for el in root.iter("failure"))


@given(hostile_text)
def test_junit_stays_well_formed_for_any_text(text: str) -> None:
    record = make_record()
    record.suites[0].tests[2].message = text
    record.suites[0].tests[2].longrepr = text
    record.suites[0].tests[2].name = text
    ET.fromstring(render_junit(record).encode("utf-8"))


def test_html_pages_hold_no_control_and_autoescape_stays_on() -> None:
    pages = render_pages(hostile_record())
    for name, html in pages.items():
        assert not FORBIDDEN_MULTI.search(html), name
        assert "\r" not in html, name
    assert "&lt;b&gt;x&lt;/b&gt; [/etc] | a\nb link" in pages["tests.html"]  # autoescape is still on
    assert "<b>x</b>" not in pages["tests.html"]


def test_markdown_holds_no_control_and_table_rows_keep_their_cells() -> None:
    record = hostile_record()
    record.suites[0].name = HOSTILE
    assert record.coverage is not None
    record.coverage.files[0].path = HOSTILE  # a file failing its gate: a row of a table
    text = render_markdown(record)
    assert not FORBIDDEN_MULTI.search(text) and "\r" not in text
    # GFM splits a row at every pipe not right after a backslash: each row has its header's count
    tables: list[list[int]] = [[]]
    for line in text.splitlines():
        if line.startswith("|"):
            tables[-1].append(len(re.findall(r"(?<!\\)\|", line)))
        elif tables[-1]:
            tables.append([])
    tables = [t for t in tables if t]
    assert len(tables) >= 3
    for widths in tables:
        assert len(set(widths)) == 1, widths
    assert any("link" in line for line in text.splitlines() if line.startswith("| `"))


def _cells(markdown: str) -> list[list[str]]:
    """The inline content of each body cell of the tables in ``markdown``, row by row."""
    rows: list[list[str]] = []
    in_body = False
    for tok in MarkdownIt("commonmark").enable("table").parse(markdown):
        if tok.type in ("tbody_open", "tbody_close"):
            in_body = tok.type == "tbody_open"
        elif in_body and tok.type == "tr_open":
            rows.append([])
        elif in_body and tok.type == "inline":
            rows[-1].append(tok.content)
    return rows


@given(hostile_text)
def test_markdown_cell_filters_keep_one_cell_on_one_line(text: str) -> None:
    for cell in (str(md_text(text)), str(md_code(text))):
        assert "\n" not in cell and "\r" not in cell
        assert not FORBIDDEN_LINE.search(cell)
        assert re.search(r"(?<!\\)\|", cell) is None  # every pipe is escaped
        rows = _cells(f"| a | b |\n|---|---|\n| {cell} | after |\n")
        assert len(rows) == 1 and rows[0][1] == "after"


def test_json_report_is_exact_and_holds_no_raw_control() -> None:
    import json

    record = hostile_record()
    text = render_json(record)
    assert not FORBIDDEN_MULTI.search(text)
    text.encode("utf-8")  # a lone surrogate is escaped, not written
    assert json.loads(text)["reasons"] == [HOSTILE]


def test_bridges_table_shows_hostile_names_urls_and_reasons_without_controls(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mcptest.cli_bridges import _print_table
    from mcptest.model import BridgeProbe

    monkeypatch.setenv("COLUMNS", "400")
    hostile = "[/etc] \x1b]8;;http://x\x07link\x1b]8;;\x07 \x1b[2J \x9b31m\x07\r:smile:"
    probe = BridgeProbe(hostile, f"http://127.0.0.1:1/{hostile}", "error", 500, 3.0, hostile, ["ok"], ["unit"])
    _print_table([probe], [f"bridge {hostile} is error"])
    out = capsys.readouterr().out
    assert not FORBIDDEN_MULTI.search(out)
    shown = clean(hostile)
    assert shown == "[/etc] link   :smile:"
    assert out.count(shown) == 4  # name, URL, reason, the line below the table
    assert f"not accepted: bridge {shown} is error" in out
