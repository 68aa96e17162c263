"""The trend index: written with each stored run, read by the report instead of the records, rebuilt from runs/
(with a warning) when missing or corrupt; the report reads a bounded number of runs whatever the history holds.

The timing goal (report --html with 100 stored runs within 10 % of one) is measured by bench/report_scale.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mcptest import exitcodes
from mcptest.cli import app
from mcptest.history import TREND_RUNS, History, RecordSchemaError, RunSummary
from mcptest.model import RunRecord
from mcptest.report import render_pages
from tests.conftest_report import make_record

REPO = Path(__file__).resolve().parent.parent
runner = CliRunner()


def run_id(i: int) -> str:
    return f"20251012T1430{i:02d}000000Z-{i:06x}"


def store(history: History, n: int, *, incomplete: tuple[int, ...] = ()) -> list[RunRecord]:
    """``n`` runs saved as a run saves them, oldest first; coverage and test counts differ per run."""
    records = []
    for i in range(n):
        record = make_record(run_id(i), complete=i not in incomplete)
        if i in incomplete:
            record.exit_reason, record.status, record.exit_code = "interrupted", "incomplete", exitcodes.INTERRUPTED
        assert record.coverage is not None
        record.coverage.overall.covered_lines = min(record.coverage.overall.statements, 100 + i)
        record.coverage.overall.line_percent = 100.0 * record.coverage.overall.covered_lines / max(
            record.coverage.overall.statements, 1
        )
        record.counts.passed += i
        history.save_run(record)
        records.append(record)
    return records


def index_lines(history: History) -> list[dict]:
    return [json.loads(line) for line in history.index_path.read_text(encoding="utf-8").splitlines()]


def spy_reads(history: History, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The record files ``history`` reads from now on."""
    seen: list[Path] = []
    original = History.read

    def read(self: History, path: Path, what: str, **kwargs: object) -> object:
        seen.append(path)
        return original(self, path, what, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(History, "read", read)
    return seen


# --- written with each run ------------------------------------------------------------------------------


def test_each_stored_run_adds_one_index_line_with_its_summary(tmp_path: Path) -> None:
    history = History(tmp_path)
    records = store(history, 3, incomplete=(1,))
    header, *lines = index_lines(history)
    assert header == {"kind": "mcptest-trend-index", "version": 1}
    assert [line["id"] for line in lines] == [r.id for r in records]
    assert [line["complete"] for line in lines] == [True, False, True]
    assert [line["counts"]["total"] for line in lines] == [r.counts.total for r in records]
    assert records[2].coverage is not None
    assert lines[2]["coverage"]["line_percent"] == records[2].coverage.overall.line_percent
    assert lines[2]["suite"] == records[2].selection.suite and lines[2]["exit_code"] == records[2].exit_code
    assert len(history.index_path.read_bytes()) < 1500 * 4  # a short line per run, not a record
    assert history.warnings == []


def test_a_record_that_breaks_its_schema_is_kept_but_never_latest_nor_indexed(tmp_path: Path) -> None:
    history = History(tmp_path)
    good = store(history, 1)[0]
    bad = make_record(run_id(5))
    bad.suites[0].tests[0].outcome = "weird"
    with pytest.raises(RecordSchemaError, match=r"suites\[0\]\.tests\[0\]\.outcome: 'weird' is not one of") as info:
        history.save_run(bad)
    assert info.value.exit_code == exitcodes.INTERNAL_ERROR
    assert history.run_path(bad.id).is_file()  # nothing the run learned is lost
    latest = History(tmp_path).latest()
    assert latest is not None and latest.id == good.id
    assert [line["id"] for line in index_lines(history)[1:]] == [good.id]


# --- read by the report, instead of the records ----------------------------------------------------------


def test_the_trend_comes_from_the_index_without_reading_a_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = store(History(tmp_path), 6, incomplete=(4,))
    history = History(tmp_path)
    reads = spy_reads(history, monkeypatch)
    trend = history.trend()
    assert [s.id for s in trend] == [r.id for r in records if r.complete]
    assert reads == [] and history.warnings == []


def project(tmp_path: Path) -> Path:
    for folder in ("pkg", "tests"):
        (tmp_path / folder).mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    config = tmp_path / "mcptest.yaml"
    config.write_text("source: [pkg]\nsuites:\n  unit: {paths: [tests]}\n", encoding="utf-8")
    return config


def trend_rows(html: str) -> list[str]:
    table = html[html.index("<table") :]
    return re.findall(r'<tr><td class="mono">([^<]+)</td>', table)


def test_report_html_reads_the_index_not_the_stored_records(tmp_path: Path) -> None:
    config = project(tmp_path)
    records = store(History(tmp_path / ".mcptest"), 5)
    for record in records[:-1]:  # were the report to read the earlier records, it would warn and drop them
        History(tmp_path / ".mcptest").run_path(record.id).write_text("{broken", encoding="utf-8")
    result = runner.invoke(app, ["report", "--html", "-c", str(config)])
    assert result.exit_code == 0, result.output
    assert "warning" not in result.output
    page = (tmp_path / ".mcptest" / "report" / "html" / "trend.html").read_text(encoding="utf-8")
    assert trend_rows(page) == [r.id for r in reversed(records)]  # newest first


def test_report_reads_at_most_the_trend_bound_whatever_the_history_holds(tmp_path: Path) -> None:
    config = project(tmp_path)
    history = History(tmp_path / ".mcptest")
    for i in range(TREND_RUNS + 15):  # index lines only: what 65 runs leave behind, without 65 records' cost
        if i == TREND_RUNS + 14:
            history.save_run(make_record(run_id(i)))
            continue
        summary = RunSummary.of(make_record(run_id(i)))
        history.run_path(run_id(i)).parent.mkdir(parents=True, exist_ok=True)
        history.run_path(run_id(i)).write_text("{not read}", encoding="utf-8")
        history._index_append(summary.line())
    result = runner.invoke(app, ["report", "--html", "-c", str(config)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / ".mcptest" / "report" / "html" / "trend.html").read_text(encoding="utf-8")
    rows = trend_rows(page)
    assert len(rows) == TREND_RUNS and rows[0] == run_id(TREND_RUNS + 14) and rows[-1] == run_id(15)


def test_against_previous_reads_only_the_run_it_compares_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    records = store(History(tmp_path), 6, incomplete=(4,))
    history = History(tmp_path)
    reads = spy_reads(history, monkeypatch)
    previous = history.previous(records[5])
    assert previous is not None and previous.id == records[3].id  # the incomplete run 4 is passed over
    assert reads == [history.run_path(records[3].id)]
    history.run_path(records[3].id).write_text("{broken", encoding="utf-8")
    previous = history.previous(records[5])
    assert previous is not None and previous.id == records[2].id
    assert len(history.warnings) == 1 and "is not readable JSON" in history.warnings[0]


# --- rebuilt from runs/ when missing or corrupt: a warning, never a crash -------------------------------


def test_a_deleted_index_is_rebuilt_from_runs_with_a_warning(tmp_path: Path) -> None:
    records = store(History(tmp_path), 4, incomplete=(2,))
    expected = History(tmp_path).index()
    History(tmp_path).index_path.unlink()
    history = History(tmp_path)
    assert history.index() == expected
    assert [s.id for s in history.trend()] == [r.id for r in records if r.complete]
    assert history.warnings == [
        f"the trend index {history.index_path} is missing; rebuilt it from the 4 readable record(s) in runs/"
    ]
    again = History(tmp_path)
    assert again.index() == expected and again.warnings == []  # written back: the next report reads it as is


def test_no_runs_and_no_index_is_quiet(tmp_path: Path) -> None:
    history = History(tmp_path)
    assert history.trend() == [] and history.warnings == []
    assert not history.index_path.exists()


def _torn(text: str) -> str:
    return text[: len(text) - 40]  # a crash in the middle of the last append


CORRUPTIONS = {
    "torn last line": (_torn, "line 5 is not JSON"),
    "garbage line": (lambda text: text + "]]]\n", "line 6 is not JSON"),
    "no header": (lambda text: text.split("\n", 1)[1], "line 1 is not"),
    "another version": (lambda text: text.replace('"version": 1', '"version": 9', 1), "line 1 is not"),
    "impossible percentage": (
        lambda text: re.sub(r'"line_percent": [0-9.]+', '"line_percent": 250.0', text, count=1),
        "line 2: coverage.line_percent is 250.0, not between 0 and 100",
    ),
    "wrong type": (
        lambda text: text.replace('"complete": true', '"complete": "yes"', 1),
        "line 2: complete: 'yes' is not of type 'boolean'",
    ),
    "NaN": (lambda text: re.sub(r'"duration": [0-9.]+', '"duration": NaN', text, count=1), "not a finite number"),
    "not UTF-8": (lambda text: text + "\udcff\n", "not UTF-8 text"),
    "empty": (lambda text: "", "empty"),
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_a_corrupt_index_is_rebuilt_from_runs_with_a_warning(tmp_path: Path, kind: str) -> None:
    records = store(History(tmp_path), 4)
    expected = History(tmp_path).index()
    change, reason = CORRUPTIONS[kind]
    path = History(tmp_path).index_path
    path.write_bytes(change(path.read_text(encoding="utf-8")).encode("utf-8", "surrogateescape"))
    history = History(tmp_path)
    assert history.index() == expected
    assert [s.id for s in history.trend()] == [r.id for r in records]
    assert len(history.warnings) == 1, history.warnings
    warning = history.warnings[0]
    assert warning.startswith(f"the trend index {path} is corrupt")
    assert reason in warning and warning.endswith("rebuilt it from the 4 readable record(s) in runs/")
    assert History(tmp_path).index() == expected  # the rebuilt index is whole again


def test_an_index_that_cannot_be_used_or_rewritten_still_gives_the_trend(tmp_path: Path) -> None:
    records = store(History(tmp_path), 3)
    history = History(tmp_path)
    history.index_path.unlink()
    history.index_path.mkdir()  # a folder where the index goes: unreadable and not replaceable
    assert [s.id for s in history.trend()] == [r.id for r in records]
    assert len(history.warnings) == 1
    assert history.warnings[0].startswith(f"the trend index {history.index_path} is a folder, not a regular file; ")
    assert "could not write the rebuilt index" in history.warnings[0]
    errors, _ = history.check()  # and a run refuses to start until it is removed, like latest.json as a folder
    assert f"{history.index_path} is a folder, so the trend index cannot be written there; remove it" in errors


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_at_the_index_is_never_opened_and_the_next_run_replaces_it(tmp_path: Path) -> None:
    records = store(History(tmp_path), 2)
    history = History(tmp_path)
    history.index_path.unlink()
    os.mkfifo(history.index_path)
    assert [s.id for s in history.trend()] == [r.id for r in records]  # would block forever if opened
    assert "is a FIFO (named pipe), not a regular file" in history.warnings[0]
    history.save_run(make_record(run_id(7)))
    assert history.index_path.is_file()


def test_runs_stored_without_an_index_line_are_added_with_a_warning(tmp_path: Path) -> None:
    records = store(History(tmp_path), 3)
    text = History(tmp_path).index_path.read_text(encoding="utf-8")
    # as an older mcptest, or a run while the index was being rebuilt, would leave it: run 1 has no line
    History(tmp_path).index_path.write_text(
        "".join(line for line in text.splitlines(keepends=True) if records[1].id not in line), encoding="utf-8"
    )
    history = History(tmp_path)
    assert [s.id for s in history.trend()] == [r.id for r in records]
    assert history.warnings == [
        f"the trend index {history.index_path} lacked 1 stored run(s) ({records[1].id}): read them from runs/ and "
        "added them to it"
    ]
    again = History(tmp_path)
    assert [s.id for s in again.trend()] == [r.id for r in records] and again.warnings == []


def test_a_removed_record_leaves_the_trend(tmp_path: Path) -> None:
    records = store(History(tmp_path), 3)
    history = History(tmp_path)
    history.run_path(records[0].id).unlink()
    assert [s.id for s in history.trend()] == [r.id for r in records[1:]] and history.warnings == []


def test_a_run_after_a_torn_append_ends_the_torn_line_and_the_next_report_rebuilds(tmp_path: Path) -> None:
    records = store(History(tmp_path), 3)
    path = History(tmp_path).index_path
    path.write_text(_torn(path.read_text(encoding="utf-8")), encoding="utf-8")
    history = History(tmp_path)
    newest = make_record(run_id(9))
    history.save_run(newest)
    assert path.read_text(encoding="utf-8").splitlines()[-1] == RunSummary.of(newest).line().rstrip("\n")
    reader = History(tmp_path)
    assert [s.id for s in reader.trend()] == [*(r.id for r in records), newest.id]
    assert "is corrupt (line 4 is not JSON" in reader.warnings[0]


# --- all_runs honours its limit; the trend shows what it showed before ------------------------------------


def test_all_runs_honours_the_limit_when_only_complete_runs_are_wanted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = store(History(tmp_path), 8, incomplete=(5, 7))
    history = History(tmp_path)
    reads = spy_reads(history, monkeypatch)
    runs = history.all_runs(limit=3, complete_only=True)
    assert [r.id for r in runs] == [records[i].id for i in (3, 4, 6)]
    assert reads == [history.run_path(records[i].id) for i in (7, 6, 5, 4, 3)]  # newest back, no further
    assert [r.id for r in history.all_runs(limit=2, complete_only=False)] == [records[6].id, records[7].id]
    assert [r.id for r in History(tmp_path).all_runs()] == [r.id for r in records if r.complete]


def test_the_trend_shows_the_same_runs_as_when_it_read_every_record(tmp_path: Path) -> None:
    store(History(tmp_path), 7, incomplete=(2, 5))
    history = History(tmp_path)
    old_way = history.all_runs(limit=TREND_RUNS)  # what the report passed before the index existed
    new_way = history.trend()
    assert [s.id for s in new_way] == [r.id for r in old_way]
    current = make_record(run_id(20))
    before = render_pages(current, history=old_way)
    after = render_pages(current, history=new_way)
    assert after["trend.html"] == before["trend.html"] and after["index.html"] == before["index.html"]
    assert len(trend_rows(after["trend.html"])) == len(old_way) + 1


def test_report_scale_bench_quick_prints_its_figures(tmp_path: Path) -> None:
    """The bench runs end to end (figures only: no timing is asserted on a shared machine)."""
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench" / "report_scale.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert re.search(r"^history: report --html, 1 stored run: wall \d+\.\d+ s, cpu \d+\.\d+ s", out, re.M), out
    assert re.search(r"^history: report --html, 5 stored runs: wall \d+\.\d+ s, cpu \d+\.\d+ s", out, re.M), out
    assert re.search(r"^history: 5 runs / 1 run: wall \d+\.\d+x, cpu \d+\.\d+x \(target <= 1\.10x", out, re.M), out
    assert re.search(r"^render: html render\+write \d+\.\d+ s", out, re.M), out
