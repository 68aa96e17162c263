"""The record's data model: JSON round trip, the shipped schema, the numbers that sum."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from mcptest import schema_gen
from mcptest.history import History, atomic_write_text, validate
from mcptest.model import Counts, CoverageReport, FileCoverage, Meta, RunRecord, Selection, Totals, Verdict

SCHEMA = Path(__file__).resolve().parent.parent / "mcptest" / "schema" / "run-record.schema.json"


def record() -> RunRecord:
    totals = Totals.of(10, 8, 4, 2)
    return RunRecord(
        id="20260101T000000000000Z-abcdef",
        started_at="2026-01-01T00:00:00.000Z",
        status="failed",
        complete=True,
        exit_code=2,
        exit_reason="threshold-missed",
        selection=Selection(suite="unit"),
        meta=Meta(mcptest_version="x"),
        coverage=CoverageReport(
            branch=True, overall=totals, files=[FileCoverage(path="a.py", totals=totals, missing_branches=["3->5"])]
        ),
        verdicts=[Verdict("threshold", "file:a.py", "line", 80.0, 90.0, False, "coverage.files.a", "a.py below")],
        counts=Counts(passed=3, failed=1),
    )


def test_shipped_schema_equals_the_one_derived_from_the_dataclasses() -> None:
    assert SCHEMA.read_text(encoding="utf-8") == schema_gen.render(), (
        "regenerate with: python -m mcptest.schema_gen > mcptest/schema/run-record.schema.json"
    )


def test_record_round_trip_validates_and_rebuilds_equal() -> None:
    original = record()
    data = json.loads(json.dumps(original.to_dict()))
    validate(data)
    assert data["counts"]["total"] == 4
    assert RunRecord.from_dict(data) == original


def test_schema_rejects_unknown_field_and_wrong_type() -> None:
    data = record().to_dict()
    data["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        validate(data)
    data = record().to_dict()
    data["verdicts"][0]["passed"] = "yes"
    with pytest.raises(jsonschema.ValidationError):
        validate(data)


@pytest.mark.parametrize("change", [{"kind": "other"}, {"meta": {"schema_version": 99}}])
def test_from_dict_refuses_foreign_or_future_records(change: dict) -> None:
    data = record().to_dict()
    data.update(change)
    with pytest.raises(ValueError):
        RunRecord.from_dict(data)


def test_totals_sum_like_coverage_py() -> None:
    total = Totals.of(10, 5, 4, 1) + Totals.of(10, 10, 0, 0)
    assert (total.statements, total.covered_lines, total.branches, total.covered_branches) == (20, 15, 4, 1)
    assert total.line_percent == 75.0 and total.branch_percent == 25.0
    assert total.percent == pytest.approx(100 * 16 / 24)
    empty = Totals.of(0, 0, 0, 0)
    assert empty.line_percent is None and empty.branch_percent is None and empty.percent == 100.0


def test_history_reads_corrupt_and_foreign_files_as_warnings(tmp_path: Path) -> None:
    history = History(tmp_path)
    atomic_write_text(history.baseline_path, "{broken")
    assert history.baseline() is None
    atomic_write_text(history.latest_path, json.dumps({"kind": "mcptest-run"}))
    assert history.latest() is None
    assert len(history.warnings) == 2
    assert "not readable JSON" in history.warnings[0] and "is not an mcptest run record" in history.warnings[1]


def test_history_interrupted_run_never_becomes_latest(tmp_path: Path) -> None:
    history = History(tmp_path)
    good = record()
    history.save_run(good)
    interrupted = record()
    interrupted.id = "20260101T000001000000Z-bbbbbb"
    interrupted.exit_reason = "interrupted"
    interrupted.complete = False
    history.save_run(interrupted)
    latest = history.latest()
    assert latest is not None and latest.id == good.id
    assert history.run_ids() == [good.id, interrupted.id]
    assert [r.id for r in history.all_runs()] == [good.id]  # incomplete runs are not history points
    assert history.previous(interrupted) is not None


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path: Path) -> None:
    target = tmp_path / "latest.json"
    atomic_write_text(target, "old")

    with pytest.raises(TypeError):
        atomic_write_text(target, 123)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["latest.json"]  # no temporary file left behind
