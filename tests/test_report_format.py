"""Formatting helpers of the reports: floored percentages, deltas, Markdown escaping."""

from __future__ import annotations

import pytest

from mcptest.report import fmt


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (79.99, "79.9%"),
        (79.95, "79.9%"),
        (80.0, "80.0%"),
        (70.3, "70.3%"),
        (100.0, "100.0%"),
        (0.0, "0.0%"),
        (100.0 * 703 / 1000, "70.3%"),
        (100.0 * 2 / 3, "66.6%"),
        (None, "n/a"),
    ],
)
def test_pct_floors_to_one_decimal_never_rounding_up(value: float | None, shown: str) -> None:
    assert fmt.pct(value) == shown


@pytest.mark.parametrize(
    ("value", "shown", "direction"),
    [
        (-2.35, "-2.4", "down"),
        (-0.04, "-0.1", "down"),
        (0.04, "±0.0", "flat"),
        (0.0, "±0.0", "flat"),
        (1.26, "+1.2", "up"),
        (None, "—", "none"),
    ],
)
def test_delta_is_floored_and_its_direction_matches_the_text(
    value: float | None, shown: str, direction: str
) -> None:
    assert fmt.delta(value) == shown
    assert fmt.delta_dir(value) == direction


def test_duration_picks_a_readable_unit() -> None:
    assert fmt.duration(0.0123) == "12 ms"
    assert fmt.duration(12.44) == "12.4 s"
    assert fmt.duration(305) == "5 m 05 s"


def test_first_line_skips_blank_lines_and_cuts_long_ones() -> None:
    assert fmt.first_line("\n\n  boom  \nmore") == "boom"
    assert fmt.first_line("x" * 300, 10) == "x" * 9 + "…"
    assert fmt.first_line(None) == ""


def test_md_text_makes_markup_inert() -> None:
    out = str(fmt.md_text("<script>alert(1)</script> | *b* [x](http://e) @octocat\nnext # `c`"))
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert "\\|" in out and "\\*b\\*" in out and "\\[x\\]\\(http://e\\)" in out
    assert "@octocat" not in out  # a zero-width joiner breaks the mention
    assert "\n" not in out
    assert "\\`c\\`" in out


def test_md_code_survives_backticks_and_table_pipes() -> None:
    assert str(fmt.md_code("a::b")) == "`a::b`"
    assert str(fmt.md_code("x`y")) == "``x`y``"
    assert str(fmt.md_code("`x")) == "`` `x ``"
    assert str(fmt.md_code("a|b")) == "`a\\|b`"
    assert str(fmt.md_code("<b>\nc")) == "`<b> c`"  # inside a code span the tag is shown, not parsed


def test_strip_ansi_removes_colour_codes() -> None:
    assert fmt.strip_ansi("\x1b[31mE   assert\x1b[0m") == "E   assert"


def test_every_writer_uses_the_one_rounding_rule() -> None:
    from mcptest import console_report, display, gate

    assert fmt.pct is display.pct and gate.pct is display.pct and fmt.delta is display.delta
    # the terminal shows deltas as the HTML and Markdown do (it used to print -0.04 as -0.04 and 0.04 as +0.04)
    assert console_report._delta(-2.35) == "[red]-2.4[/red]"
    assert console_report._delta(-0.04) == "[red]-0.1[/red]"
    assert console_report._delta(1.26) == "[green]+1.2[/green]"
    assert console_report._delta(0.04) == "±0.0"
    assert console_report._delta(None) == ""


def test_drop_is_the_magnitude_of_the_shown_delta() -> None:
    from mcptest import display

    assert display.drop(-2.35) == "2.4" and display.drop(-50.0) == "50.0" and display.drop(-0.04) == "0.1"


@pytest.mark.parametrize(
    ("items", "limit", "shown"),
    [
        (["a", "b", "c"], 300, "a, b, c"),
        ([], 10, ""),
        (["x" * 50], 10, "x" * 50),  # one name is never cut
        (["test_one", "test_two", "test_three", "test_four"], 20, "test_one ... and 3 more"),
        (["aa", "bb", "cc", "dd"], 22, "aa, bb ... and 2 more"),
    ],
)
def test_join_cut_cuts_between_items_and_counts_the_rest(items: list[str], limit: int, shown: str) -> None:
    from mcptest import display

    assert display.join_cut(items, limit) == shown
    if "more" in shown:  # every shown name is whole and the count adds up
        names, _, rest = shown.partition(" ... and ")
        assert len(names.split(", ")) + int(rest.split()[0]) == len(items)
        assert all(n in items for n in names.split(", "))
