"""render_reports owns the output files: names, folders, stdout, atomic replacement, errors."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import pytest

from mcptest.model import RunRecord
from mcptest.report import DEFAULT_NAMES, ReportError, atomic_write, render_reports, write_json
from tests.conftest_report import make_record


def test_every_format_lands_in_the_report_folder(tmp_path: Path) -> None:
    out = tmp_path / "deep" / "reports"
    paths = render_reports(make_record(), ["html", "json", "markdown", "junit"], out)
    assert paths == [out / "html" / "index.html", out / "report.json", out / "summary.md", out / "junit.xml"]
    assert all(p.is_file() for p in paths)
    assert not list(out.rglob("*.tmp"))
    assert oct((out / "report.json").stat().st_mode & 0o777) == "0o644"


def test_json_is_the_record_to_dict_and_reads_back(tmp_path: Path) -> None:
    record = make_record()
    (path,) = render_reports(record, ["json"], tmp_path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "id": ')
    data = json.loads(text)
    assert data == json.loads(json.dumps(record.to_dict()))
    assert RunRecord.from_dict(data) == record


def test_dash_sends_a_single_file_format_to_stdout(tmp_path: Path) -> None:
    out = io.StringIO()
    paths = render_reports(
        make_record(), ["markdown", "json"], tmp_path, outputs={"markdown": "-"}, stdout=out
    )
    assert paths == [tmp_path / "report.json"]
    assert out.getvalue().startswith("### ❌ mcptest failed")
    assert not (tmp_path / "summary.md").exists()
    out = io.StringIO()
    assert write_json(make_record(), "-", stdout=out) is None
    assert json.loads(out.getvalue())["kind"] == "mcptest-run"


def test_outputs_can_name_other_places(tmp_path: Path) -> None:
    paths = render_reports(
        make_record(),
        ["junit", "html"],
        tmp_path,
        outputs={"junit": tmp_path / "ci" / "results.xml", "html": tmp_path / "site"},
    )
    assert paths == [tmp_path / "ci" / "results.xml", tmp_path / "site" / "index.html"]


@pytest.mark.parametrize(
    ("formats", "outputs", "message"),
    [
        (["pdf"], None, "unknown report format 'pdf'"),
        (["html"], {"html": "-"}, "cannot go to stdout"),
        (["json", "junit"], {"json": "-", "junit": "-"}, "only one report can go to stdout"),
        (["json"], {"xml": "x"}, "unknown report format 'xml' in outputs"),
    ],
)
def test_impossible_requests_are_refused_before_anything_is_written(
    tmp_path: Path, formats: list[str], outputs: dict[str, str] | None, message: str
) -> None:
    with pytest.raises(ReportError, match=message):
        render_reports(make_record(), formats, tmp_path / "out", outputs=outputs)
    assert not (tmp_path / "out").exists()


def test_a_folder_where_a_file_should_go_is_an_error(tmp_path: Path) -> None:
    (tmp_path / DEFAULT_NAMES["json"]).mkdir()
    with pytest.raises(ReportError, match="is a folder"):
        render_reports(make_record(), ["json"], tmp_path)


def test_a_failing_template_leaves_every_previous_report_intact(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    render_reports(make_record(), ["html", "json", "markdown"], out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    broken = tmp_path / "templates"
    broken.mkdir()
    (broken / "summary.md").write_text("{{ no_such_value }}")
    record = make_record()
    record.id = "a-newer-run"
    with pytest.raises(Exception, match="no_such_value"):
        render_reports(record, ["json", "html", "markdown"], out, templates_dir=broken)
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before  # json and html were rendered, but nothing was written


def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "junit.xml"
    target.write_text("old report")

    def crash(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, b"new report")
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["junit.xml"]


def test_an_unwritable_folder_is_a_report_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportError, match="cannot write"):
        render_reports(make_record(), ["json"], blocker / "sub")
