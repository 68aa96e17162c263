"""The report folder as hostile ground: files where folders go, FIFOs, no write access, a full disk, bad numbers."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest
from conftest_report import make_record
from fault_table import FAULTS
from projects import Result, env, make_project, mcptest

from mcptest.history import History, ReportDirError, atomic_write_text, number_problem, parse_json

REPORT_CONFIG = "source: [pkg]\ncoverage:\n  overall: {line: 50}\nsuites:\n  unit: {paths: [tests], timeout: 30s}\n"


def good_baseline(folder: Path) -> bytes:
    """A valid baseline record in ``folder``; its bytes, to compare after the run."""
    History(folder).save_baseline(make_record())
    return (folder / "baseline.json").read_bytes()


def one_error_line(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("mcptest: error:")]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    return lines[0]


def assert_no_tests_ran(result: Result) -> None:
    assert "collected" not in result.output and "running suite" not in result.output, result.output


# --- a file or folder where the other is due: found before the tests run -----------------------------------


def test_report_dir_that_is_a_file_is_exit_4_before_the_tests(tmp_path: Path) -> None:
    make_project(tmp_path)
    (tmp_path / ".mcptest").write_bytes(b"not a folder\n")
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS["report-dir-is-file"].exit
    line = one_error_line(result)
    assert line == (f"mcptest: error: report folder {tmp_path / '.mcptest'} is a file, not a folder; "
                    "remove it or set report.dir in mcptest.yaml to another folder")
    assert_no_tests_ran(result)
    assert (tmp_path / ".mcptest").read_bytes() == b"not a folder\n"


@pytest.mark.parametrize(("report_dir", "named"), [("out.txt", "out.txt"), ("pkg/calc.py/out", "pkg/calc.py")])
def test_report_dir_config_pointing_at_a_file_is_exit_4(tmp_path: Path, report_dir: str, named: str) -> None:
    make_project(tmp_path, config=REPORT_CONFIG + f"report: {{dir: {report_dir}}}\n",
                 files={"out.txt": "a file\n"})
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS["report-dir-points-at-file"].exit
    line = one_error_line(result)
    assert str(tmp_path / report_dir) in line and f"{tmp_path / named} is a file" in line
    assert_no_tests_ran(result)


def test_latest_json_that_is_a_folder_is_exit_4_and_keeps_the_baseline(tmp_path: Path) -> None:
    make_project(tmp_path)
    folder = tmp_path / ".mcptest"
    (folder / "latest.json").mkdir(parents=True)
    baseline = good_baseline(folder)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS["report-latest-is-folder"].exit
    assert one_error_line(result) == (f"mcptest: error: {folder / 'latest.json'} is a folder, so the latest record "
                                      "cannot be written there; remove it")
    assert_no_tests_ran(result)
    assert (folder / "baseline.json").read_bytes() == baseline
    assert (folder / "latest.json").is_dir() and not list((folder / "runs").glob("*.json"))


def test_latest_json_turned_into_a_folder_during_the_run_is_recorded_in_runs(tmp_path: Path) -> None:
    make_project(tmp_path, files={"tests/test_zz.py": (
        "import os\n\n\ndef test_zz_latest_becomes_a_folder_made():\n"
        "    os.makedirs('.mcptest/latest.json')\n    assert os.path.isdir('.mcptest/latest.json')\n")})
    folder = tmp_path / ".mcptest"
    baseline = good_baseline(folder)
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS["report-latest-folder-mid-run"].exit, result.output
    assert "Traceback" not in result.output
    (stored,) = [json.loads(p.read_text(encoding="utf-8")) for p in (folder / "runs").glob("*.json")]
    assert stored["exit_code"] == result.code and stored["counts"]["passed"] == 6
    (verdict,) = [v for v in stored["verdicts"] if v["kind"] == "config"]
    assert verdict["message"].startswith(f"cannot write the latest record {folder / 'latest.json'}: Is a directory")
    assert verdict["message"].endswith(f"the run is recorded in {folder / 'runs' / (stored['id'] + '.json')}")
    assert verdict["message"] in result.stdout  # printed with the other reasons, after the tables
    assert (folder / "baseline.json").read_bytes() == baseline


@pytest.mark.parametrize("name", ["runs", "tmp", "logs"])
def test_subfolder_that_is_a_file_is_exit_4(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "report"
    folder.mkdir()
    (folder / name).write_text("x", encoding="utf-8")
    with pytest.raises(ReportDirError) as info:
        History(folder).prepare()
    assert str(info.value) == f"{folder / name} is a file, not a folder; remove it"
    assert info.value.exit_code == FAULTS["report-subfolder-is-file"].exit


def test_baseline_save_over_a_folder_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "baseline.json").mkdir()
    with pytest.raises(ReportDirError) as info:
        History(tmp_path).save_baseline(make_record())
    assert str(info.value) == f"cannot write the baseline {tmp_path / 'baseline.json'}: Is a directory"
    assert info.value.exit_code == FAULTS["report-baseline-save-over-folder"].exit
    assert (tmp_path / "baseline.json").is_dir() and sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_records_below_a_file_are_warnings_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / ".mcptest").write_text("x", encoding="utf-8")
    history = History(tmp_path / ".mcptest")
    assert history.latest() is None and history.run_ids() == []
    assert history.warnings == [f"latest record {history.latest_path} cannot be read: {tmp_path / '.mcptest'} is not "
                                "a folder; ignoring it"]


# --- no write access, a full disk ----------------------------------------------------------------------------


def _without_dac_override() -> None:
    """In the child before exec: root loses the capability to write where the permission bits forbid it."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def mcptest_unprivileged(root: Path, *args: str) -> Result:
    """``mcptest ARGS`` for which a folder of mode 0555 is really read-only, also when the tests run as root."""
    proc = subprocess.run(
        [sys.executable, "-m", "mcptest", *args], cwd=root, capture_output=True, text=True, timeout=120,
        env=env(), stdin=subprocess.DEVNULL, preexec_fn=_without_dac_override if os.geteuid() == 0 else None,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def test_read_only_report_dir_is_exit_4_before_the_tests_and_keeps_the_baseline(tmp_path: Path) -> None:
    make_project(tmp_path)
    folder = tmp_path / ".mcptest"
    baseline = good_baseline(folder)
    (folder / "runs").mkdir()
    folder.chmod(0o555)
    try:
        result = mcptest_unprivileged(tmp_path, "run", "unit")
    finally:
        folder.chmod(0o755)
    assert result.code == FAULTS["report-dir-read-only"].exit
    assert one_error_line(result) == f"mcptest: error: report folder {folder} is not writable"
    assert_no_tests_ran(result)
    assert (folder / "baseline.json").read_bytes() == baseline
    assert sorted(p.name for p in folder.iterdir()) == ["baseline.json", "runs"]


@pytest.fixture
def fill_disk(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call it to fill the disk: from then on the report folder's temporary files are /dev/full, where every
    write fails with ENOSPC (the names are real temporary files, so that removing them is checked too)."""
    real = tempfile.mkstemp

    def mkstemp(suffix: str | None = None, prefix: str | None = None, dir: str | Path | None = None) -> Any:
        fd, path = real(suffix=suffix, prefix=prefix, dir=dir)
        os.close(fd)
        return os.open("/dev/full", os.O_WRONLY), path

    return lambda: monkeypatch.setattr(tempfile, "mkstemp", mkstemp)


def test_atomic_write_on_a_full_disk_keeps_the_old_file(tmp_path: Path, fill_disk: Any) -> None:
    target = tmp_path / "baseline.json"
    target.write_bytes(b'{"old": true}\n')
    fill_disk()
    with pytest.raises(OSError) as info:
        atomic_write_text(target, "x" * 100_000)
    assert info.value.errno == errno.ENOSPC
    assert target.read_bytes() == b'{"old": true}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]  # the temporary file is gone


def test_baseline_save_on_a_full_disk_is_a_one_line_error_and_keeps_the_baseline(tmp_path: Path,
                                                                                 fill_disk: Any) -> None:
    baseline = good_baseline(tmp_path)
    fill_disk()
    with pytest.raises(ReportDirError) as info:
        History(tmp_path).save_baseline(make_record("20251012T150000-c3d4"))
    assert str(info.value) == f"cannot write the baseline {tmp_path / 'baseline.json'}: No space left on device"
    assert info.value.exit_code == FAULTS["report-dir-full-on-write"].exit
    assert (tmp_path / "baseline.json").read_bytes() == baseline
    assert sorted(p.name for p in tmp_path.iterdir()) == ["baseline.json"]


def test_full_disk_is_found_before_the_run(tmp_path: Path, fill_disk: Any) -> None:
    folder = tmp_path / "report"
    fill_disk()
    with pytest.raises(ReportDirError) as info:
        History(folder).prepare()
    assert str(info.value) == f"cannot write in the report folder {folder}: No space left on device"
    assert info.value.exit_code == FAULTS["report-dir-full-at-start"].exit
    assert [p.name for p in folder.iterdir()] == []  # the probe file is removed


def test_prepare_of_a_usable_folder_creates_it_and_leaves_only_runs(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "b"
    History(folder).prepare()
    assert [p.name for p in folder.iterdir()] == ["runs"] and not list((folder / "runs").iterdir())


# --- FIFOs and other special files are never opened --------------------------------------------------------


def _bounded(call: Any, seconds: float = 10) -> Any:
    """``call()`` in a thread; fails (instead of hanging the suite) when it has not returned in ``seconds``."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert out, f"no answer after {seconds} s (blocked reading?)"
    return out[0]


@pytest.mark.parametrize("which", ["baseline", "latest"])
def test_fifo_record_is_a_warning_not_a_hang(tmp_path: Path, which: str) -> None:
    history = History(tmp_path)
    path = history.baseline_path if which == "baseline" else history.latest_path
    os.mkfifo(path)
    record = _bounded(history.baseline if which == "baseline" else history.latest)
    assert record is None
    what = "baseline" if which == "baseline" else "latest record"
    ignored = "ignoring it (no deltas)" if which == "baseline" else "ignoring it"
    assert history.warnings == [f"{what} {path} is a FIFO (named pipe), not a regular file; {ignored}"]


def test_folder_and_device_records_are_warnings(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.baseline_path.mkdir()
    os.symlink("/dev/zero", history.latest_path)  # endless bytes: read_text() would never return
    assert history.baseline() is None and _bounded(history.latest) is None
    assert history.warnings == [
        f"baseline {history.baseline_path} is a folder, not a regular file; ignoring it (no deltas)",
        f"latest record {history.latest_path} is a device, not a regular file; ignoring it",
    ]


def test_run_with_a_fifo_baseline_ends_and_warns(tmp_path: Path) -> None:
    make_project(tmp_path)
    fifo = tmp_path / ".mcptest" / "baseline.json"
    fifo.parent.mkdir()
    os.mkfifo(fifo)
    result = mcptest(tmp_path, "run", "unit", timeout=60)  # was: blocked forever opening the FIFO
    assert result.code == FAULTS["report-baseline-fifo"].exit, result.output
    assert f"baseline {fifo} is a FIFO (named pipe), not a regular file; ignoring it (no deltas)" in result.stdout
    record = json.loads((tmp_path / ".mcptest" / "latest.json").read_text(encoding="utf-8"))
    assert record["coverage"]["baseline_id"] is None
    assert any("FIFO" in w for w in record["warnings"])
    assert fifo.is_fifo()


# --- mcptest config check sees what it can -----------------------------------------------------------------


def test_check_lists_errors_and_warnings_without_writing(tmp_path: Path) -> None:
    folder = tmp_path / ".mcptest"
    assert History(folder).check() == ([], []) and not folder.exists()
    folder.mkdir()
    (folder / "latest.json").mkdir()
    os.mkfifo(folder / "baseline.json")
    (folder / "logs").write_text("x", encoding="utf-8")
    errors, warnings = History(folder).check()
    assert errors == [f"{folder / 'logs'} is a file, not a folder; remove it",
                      f"{folder / 'latest.json'} is a folder, so the latest record cannot be written there; remove it"]
    assert warnings == [f"{folder / 'baseline.json'} is a FIFO (named pipe), not a regular file: runs ignore it "
                        "(no deltas) until 'mcptest baseline save'"]
    assert sorted(p.name for p in folder.iterdir()) == ["baseline.json", "latest.json", "logs"]


@pytest.mark.parametrize(
    ("setup", "case", "says"),
    [
        ("file", "report-config-check-dir-is-file", "is a file, not a folder"),
        ("latest-folder", "report-config-check-latest-folder", "latest.json is a folder"),
        ("baseline-fifo", "report-config-check-baseline-fifo", "baseline.json is a FIFO (named pipe)"),
    ],
)
def test_config_check_reports_the_report_folder(tmp_path: Path, setup: str, case: str, says: str) -> None:
    make_project(tmp_path)
    folder = tmp_path / ".mcptest"
    if setup == "file":
        folder.write_text("x", encoding="utf-8")
    else:
        folder.mkdir()
        if setup == "latest-folder":
            (folder / "latest.json").mkdir()
        else:
            os.mkfifo(folder / "baseline.json")
    result = mcptest(tmp_path, "config", "check")
    assert result.code == FAULTS[case].exit
    assert "Traceback" not in result.output
    (line,) = [line for line in result.stderr.splitlines() if says in line]
    assert line.startswith("mcptest: error: " if result.code else "mcptest: warning: ")
    assert str(folder) in line
    assert ("valid" in result.stdout) == (result.code == 0)


# --- records with numbers no run can produce ---------------------------------------------------------------


def _record_text(edit: Any) -> str:
    data = make_record().to_dict()
    edit(data)
    return json.dumps(data)


def _set(*path: Any, value: Any) -> Any:
    def edit(data: Any) -> None:
        for part in path[:-1]:
            data = data[part]
        data[path[-1]] = value

    return edit


CORRUPT = [
    ("nan", _set("coverage", "overall", "line_percent", value=float("nan")), "coverage.overall.line_percent is NaN"),
    ("inf", _set("coverage", "overall", "branch_percent", value=float("inf")),
     "coverage.overall.branch_percent is Infinity"),
    ("-inf", _set("duration", value=float("-inf")), "duration is -Infinity"),
    ("negative", _set("coverage", "files", 0, "totals", "line_percent", value=-5.0),
     "coverage.files[0].totals.line_percent is -5.0, not between 0 and 100"),
    ("over-100", _set("coverage", "overall", "percent", value=150),
     "coverage.overall.percent is 150, not between 0 and 100"),
    ("count", _set("coverage", "overall", "statements", value=-3), "coverage.overall.statements is -3, not at least 0"),
    ("covered", _set("coverage", "overall", "covered_lines", value=10_000),
     "coverage.overall.covered_lines is 10000, more than the 412 statements"),
    ("tests", _set("counts", "passed", value=-1), "counts.passed is -1, a negative count"),
    ("delta", _set("coverage", "overall", "delta_line", value=250.0),
     "coverage.overall.delta_line is 250.0, not between -100 and 100"),
]


@pytest.mark.parametrize(("name", "edit", "problem"), CORRUPT, ids=[c[0] for c in CORRUPT])
def test_baseline_with_impossible_numbers_is_corrupt(tmp_path: Path, name: str, edit: Any, problem: str) -> None:
    history = History(tmp_path)
    history.baseline_path.write_text(_record_text(edit), encoding="utf-8")
    assert history.baseline() is None
    (warning,) = history.warnings
    assert warning.startswith(f"baseline {history.baseline_path} is corrupt: {problem}"), warning
    assert warning.endswith("; ignoring it (no deltas)")
    assert FAULTS["report-baseline-impossible-numbers"].exit == 0


def test_float_too_large_for_a_double_is_not_a_number(tmp_path: Path) -> None:
    text = _record_text(_set("coverage", "overall", "line_percent", value=12.5)).replace(
        '"line_percent": 12.5', '"line_percent": 1e999')
    history = History(tmp_path)
    history.latest_path.write_text(text, encoding="utf-8")
    assert history.latest() is None
    assert history.warnings == [f"latest record {history.latest_path} is corrupt: coverage.overall.line_percent is "
                                "1e999, not a finite number; ignoring it"]


def test_a_sound_record_has_no_number_problem() -> None:
    data = parse_json(json.dumps(make_record().to_dict()))
    assert number_problem(data) is None


def test_run_with_a_nan_baseline_warns_and_has_no_deltas(tmp_path: Path) -> None:
    make_project(tmp_path)
    folder = tmp_path / ".mcptest"
    folder.mkdir()
    text = _record_text(_set("coverage", "overall", "line_percent", value=float("nan")))
    (folder / "baseline.json").write_text(text, encoding="utf-8")
    result = mcptest(tmp_path, "run", "unit")
    assert result.code == FAULTS["report-baseline-nan"].exit, result.output
    assert "is corrupt: coverage.overall.line_percent is NaN, not a finite number" in result.stdout
    record = json.loads((folder / "latest.json").read_text(encoding="utf-8"))
    assert record["coverage"]["baseline_id"] is None
    assert (folder / "baseline.json").read_text(encoding="utf-8") == text


def test_report_of_a_corrupt_latest_record_is_exit_4_with_the_reason(tmp_path: Path) -> None:
    make_project(tmp_path)
    folder = tmp_path / ".mcptest"
    folder.mkdir()
    (folder / "latest.json").write_text(_record_text(_set("duration", value=float("nan"))), encoding="utf-8")
    result = mcptest(tmp_path, "report", "--markdown", "-o", "-")
    assert result.code == FAULTS["report-latest-corrupt"].exit
    assert f"latest record {folder / 'latest.json'} is corrupt: duration is NaN" in result.stderr
    assert one_error_line(result).startswith("mcptest: error: no readable latest run in")
