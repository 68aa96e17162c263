"""The life of a run's processes: early signals, a second Ctrl-C, orphans, stale tmp folders, the run lock, budget.

Real ``mcptest run`` subprocesses on tiny projects, real signals, real process trees (read from /proc);
the core pieces (signal holding, stale folders, the lock, the watchdog) also in-process or in small scripts.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_table import FAULTS
from projects import CONFIG, env, latest, make_project, runs

from mcptest import lifecycle
from mcptest.history import validate
from mcptest.lock import LockBusy, run_lock

# the test process writes its pid (conftest, at pytest_configure) so the test can check that it is gone
PID_CONFTEST = """\
import os


def pytest_configure(config):
    if not hasattr(config, "workerinput"):
        with open("child.pid", "w") as f:
            f.write(str(os.getpid()))
"""

# blocks until release.flag exists (at most 60 s), after writing started.flag
BLOCKING_TEST = """\
import pathlib
import time


def test_block_until_released_waits():
    root = pathlib.Path(__file__).resolve().parent.parent
    (root / "started.flag").write_text("x")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (root / "release.flag").exists():
        time.sleep(0.05)
    assert (root / "release.flag").exists()
"""

# the same, ignoring SIGINT first: only SIGKILL stops it early
STUBBORN_TEST = BLOCKING_TEST.replace(
    "    root = pathlib", "    import signal\n    signal.signal(signal.SIGINT, signal.SIG_IGN)\n    root = pathlib"
)


def _gone(pid: int) -> bool:
    """The process ended (a zombie has ended too)."""
    return not lifecycle.alive(pid)


def _wait_gone(pids: set[int], within: float) -> set[int]:
    """The pids still running after ``within`` seconds (empty when all ended)."""
    deadline = time.monotonic() + within
    left = set(pids)
    while left and time.monotonic() < deadline:
        left = {pid for pid in left if not _gone(pid)}
        time.sleep(0.02)
    return left


def _children(pid: int) -> set[int]:
    """Every process whose parent is ``pid`` (from /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.add(int(entry.name))
    return found


def _start(root: Path, *args: str, out: Path | None = None) -> subprocess.Popen[str]:
    """``mcptest ARGS`` in ``root``, its output in out.txt and err.txt of ``out`` (default ``root``)."""
    folder = out or root
    with open(folder / "out.txt", "w") as stdout, open(folder / "err.txt", "w") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "mcptest", *args],
            cwd=root,
            env=env(),
            text=True,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )


def _wait_for(check: object, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.002)
    raise AssertionError(f"not reached within {within}s")


def _left_in_tmp(root: Path) -> list[str]:
    tmp = root / ".mcptest" / "tmp"
    return sorted(p.name for p in tmp.iterdir()) if tmp.exists() else []


# --- signals: held while a run does not wait, acted on where it does ----------------------------------------


@pytest.fixture
def handlers() -> Iterator[None]:
    """mcptest's handlers for the test; pytest's own handlers and a clean lifecycle state afterwards."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    lifecycle._state = lifecycle._State()
    lifecycle.install()
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
        lifecycle._state = lifecycle._State()


def test_signal_in_a_shielded_block_is_raised_at_the_next_wait(handlers: None) -> None:
    reached = []
    with pytest.raises(KeyboardInterrupt), lifecycle.shielded(reraise=False):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.01)  # the handler runs here and holds the signal
        reached.append("after the signal")
        with lifecycle.interruptible():
            reached.append("inside the wait")  # never: the held signal is raised on entering it
    assert reached == ["after the signal"]
    assert lifecycle.received() == "SIGTERM"
    assert lifecycle.take_pending() is False  # acted on once, not again


def test_signal_after_the_last_wait_is_left_for_the_run_to_record(handlers: None) -> None:
    with lifecycle.shielded(reraise=False):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.01)
        assert lifecycle.take_pending() is True  # the run's end sees it and records the run as interrupted
    with pytest.raises(KeyboardInterrupt):  # outside a run a signal raises at once
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(1)


def test_second_signal_kills_the_tracked_process_groups_at_once(handlers: None) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    lifecycle.track(child.pid)
    try:
        with lifecycle.shielded(reraise=False):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
            assert child.poll() is None  # the first signal is only noted
            os.kill(os.getpid(), signal.SIGINT)
            assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        lifecycle.untrack(child.pid)
        child.kill()
        child.wait()


# --- stale tmp folders ------------------------------------------------------------------------------------


def test_stale_tmp_folders_of_dead_runs_are_removed_never_a_live_ones(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        owners = {"dead": dead.pid, "live": live.pid, "mine": os.getpid()}
        for name, pid in owners.items():
            (tmp_path / name).mkdir()
            (tmp_path / name / lifecycle.OWNER_FILE).write_text(f"{pid}\n")
        (tmp_path / "unowned-new").mkdir()
        (tmp_path / "unowned-old").mkdir()
        old = time.time() - lifecycle.UNOWNED_STALE_AFTER - 60
        os.utime(tmp_path / "unowned-old", (old, old))
        removed = lifecycle.remove_stale(tmp_path)
    finally:
        live.kill()
        live.wait()
    assert removed == ["dead", "unowned-old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["live", "mine", "unowned-new"]


# --- the run lock ------------------------------------------------------------------------------------------


def test_second_holder_of_the_run_lock_fails_at_once_naming_the_first(tmp_path: Path) -> None:
    with run_lock(tmp_path):
        started = time.monotonic()
        with pytest.raises(LockBusy) as caught, run_lock(tmp_path):
            pass
        assert time.monotonic() - started < 5  # at once, not after a wait
    message = str(caught.value)
    assert f"another mcptest run (pid {os.getpid()}) is using" in message and "--wait-lock" in message
    assert caught.value.exit_code == FAULTS["run-lock-busy"].exit
    with run_lock(tmp_path):  # released with the block
        assert (tmp_path / "run.lock").read_text().strip() == str(os.getpid())


# --- the test process never outlives mcptest ---------------------------------------------------------------

# the middle process starts the guarded one (as mcptest starts pytest), waits for its pid, then ends abruptly
ORPHAN_SCRIPT = """\
import os, subprocess, sys, time
guarded = '''
import os, sys, time
os.environ["MCPTEST_PARENT_PID"] = sys.argv[1]
from mcptest import watchdog
watchdog.guard_parent(prctl=%(prctl)s, thread=%(thread)s, poll=0.05)
with open(sys.argv[2] + ".tmp", "w") as out:
    out.write(str(os.getpid()))
os.replace(sys.argv[2] + ".tmp", sys.argv[2])  # the pid file appears whole, never empty
time.sleep(60)
'''
pidfile = sys.argv[1]
subprocess.Popen([sys.executable, "-c", guarded, str(os.getpid()), pidfile], start_new_session=True)
deadline = time.monotonic() + 30
while not os.path.exists(pidfile) and time.monotonic() < deadline:
    time.sleep(0.01)
os._exit(0)
"""


@pytest.mark.parametrize("mechanism", ["prctl", "thread"])
def test_test_process_ends_when_its_parent_is_gone(tmp_path: Path, mechanism: str) -> None:
    pidfile = tmp_path / "guarded.pid"
    script = ORPHAN_SCRIPT % {"prctl": mechanism == "prctl", "thread": mechanism == "thread"}
    middle = subprocess.run([sys.executable, "-c", script, str(pidfile)], timeout=60, check=False)
    assert middle.returncode == 0
    guarded = int(pidfile.read_text())
    left = _wait_gone({guarded}, within=10)
    if left:
        os.kill(guarded, signal.SIGKILL)
    assert not left, f"{mechanism}: the process outlived its parent"


# --- end to end: signals at early instants -----------------------------------------------------------------


def _log_exists(root: Path) -> bool:
    logs = root / ".mcptest" / "logs"
    return logs.is_dir() and any(logs.glob("*.log"))


INSTANTS = {
    # the log is opened just before the test process is started: the signal lands while it starts
    "process-start": _log_exists,
    "after-suite-start": lambda root: "running suite unit" in (root / "err.txt").read_text(),
    "mid-test": lambda root: (root / "started.flag").exists(),
}


@pytest.mark.parametrize(
    ("instant", "sig"),
    [
        ("process-start", signal.SIGINT),
        ("process-start", signal.SIGTERM),
        ("after-suite-start", signal.SIGTERM),
        ("mid-test", signal.SIGINT),
    ],
)
def test_signal_at_an_early_instant_ends_interrupted_with_a_record_and_nothing_left(
    tmp_path: Path, instant: str, sig: signal.Signals
) -> None:
    root = make_project(tmp_path, files={"conftest.py": PID_CONFTEST, "tests/test_zblock.py": BLOCKING_TEST})
    proc = _start(root, "run", "unit")
    try:
        _wait_for(lambda: INSTANTS[instant](root) or proc.poll() is not None)
        assert proc.poll() is None, "mcptest ended before the instant"
        spawned = _children(proc.pid)
        proc.send_signal(sig)
        code = proc.wait(timeout=60)
    finally:
        proc.kill()
    case = FAULTS[f"signal-{instant}"]
    err = (root / "err.txt").read_text()
    assert code == case.exit, err
    assert f"mcptest: interrupted by {sig.name}" in err and "Traceback" not in err
    records = runs(root)
    assert len(records) == 1, err
    validate(records[0])
    assert records[0]["complete"] is False and records[0]["exit_code"] == case.exit
    assert not (root / ".mcptest" / "latest.json").exists()
    assert _left_in_tmp(root) == []
    pids = spawned | ({int((root / "child.pid").read_text())} if (root / "child.pid").exists() else set())
    assert spawned, "no test process had been started at the instant"
    assert _wait_gone(pids, within=10) == set(), "a test process outlived the run"


def test_second_ctrl_c_kills_a_test_process_that_ignores_sigint(tmp_path: Path) -> None:
    root = make_project(tmp_path, files={"conftest.py": PID_CONFTEST, "tests/test_zblock.py": STUBBORN_TEST})
    proc = _start(root, "run", "unit")
    try:
        _wait_for(lambda: (root / "started.flag").exists() or proc.poll() is not None)
        child = int((root / "child.pid").read_text())
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)  # mcptest has passed SIGINT on, which the test ignores
        assert not _gone(child)
        proc.send_signal(signal.SIGINT)
        second = time.monotonic()
        code = proc.wait(timeout=60)
        ended = time.monotonic() - second
    finally:
        proc.kill()
    assert code == FAULTS["signal-second"].exit, (root / "err.txt").read_text()
    assert _gone(child)
    # at once: without the escalation the first signal's grace (INTERRUPT_GRACE, 5 s) would run out first
    assert ended < lifecycle.INTERRUPT_GRACE - 1
    assert [r["complete"] for r in runs(root)] == [False]


def test_killed_mcptest_takes_its_test_process_along_and_the_next_run_removes_its_tmp(tmp_path: Path) -> None:
    root = make_project(tmp_path, files={"conftest.py": PID_CONFTEST, "tests/test_zblock.py": BLOCKING_TEST})
    proc = _start(root, "run", "unit")
    try:
        _wait_for(lambda: (root / "started.flag").exists() or proc.poll() is not None)
        child = int((root / "child.pid").read_text())
        proc.kill()
        code = proc.wait(timeout=30)
    finally:
        proc.kill()
    assert 128 - code == FAULTS["parent-killed"].exit
    assert _wait_gone({child}, within=10) == set(), "the test process outlived mcptest"
    left = _left_in_tmp(root)
    assert len(left) == 1  # a killed run cannot clean up after itself
    (root / "release.flag").write_text("x")
    again = _start(root, "run", "unit")
    assert again.wait(timeout=120) == FAULTS["stale-tmp"].exit, (root / "out.txt").read_text()
    assert _left_in_tmp(root) == []
    assert any(f"tmp/{left[0]}" in w for w in latest(root)["warnings"])


# --- end to end: two runs at once ------------------------------------------------------------------------


def test_second_run_at_once_is_refused_or_waits_with_wait_lock(tmp_path: Path) -> None:
    root = make_project(tmp_path, files={"conftest.py": PID_CONFTEST, "tests/test_zblock.py": BLOCKING_TEST})
    first = _start(root, "run", "unit")
    other = root / "other"
    other.mkdir()
    try:
        _wait_for(lambda: (root / "started.flag").exists() or first.poll() is not None)
        refused = subprocess.run(
            [sys.executable, "-m", "mcptest", "run", "unit"],
            cwd=root,
            env=env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert refused.returncode == FAULTS["run-lock-busy"].exit, refused.stderr
        assert f"another mcptest run (pid {first.pid}) is using .mcptest/" in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1 and "Traceback" not in refused.stderr
        waiting = _start(root, "run", "unit", "--wait-lock", "60", out=other)
        _wait_for(lambda: "waiting up to 60s for another mcptest run" in (other / "err.txt").read_text())
        (root / "release.flag").write_text("x")
        assert first.wait(timeout=60) == 0, (root / "out.txt").read_text()
        assert waiting.wait(timeout=120) == FAULTS["run-lock-wait"].exit, (other / "out.txt").read_text()
    finally:
        first.kill()
    records = runs(root)
    assert len(records) == 2 and all(r["complete"] for r in records)  # the refused run stored nothing


# --- end to end: the budget --------------------------------------------------------------------------------

WAITS_FOR_THE_BUDGET = """\
import os
import time

from pkg.calc import add


def test_budget_first_runs_until_the_budget_ends():
    # stands for a test that is still running when the budget runs out, and then ends
    assert add(1, 2) == 3
    deadline = time.monotonic() + 30
    while not os.path.exists(os.environ["MCPTEST_STOP_FILE"]) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert os.path.exists(os.environ["MCPTEST_STOP_FILE"])


def test_budget_second_is_never_started():
    assert add(2, 2) == 4
"""

BUDGET = 2.0


def _budget_project(root: Path, files: dict[str, str]) -> Path:
    config = CONFIG.replace("timeout: 30s", f"timeout: 30s, budget: {BUDGET:g}s").replace("{line: 50}", "{line: 99}")
    return make_project(root, config, files)


def test_budget_stops_scheduling_and_keeps_the_coverage_measured(tmp_path: Path) -> None:
    root = _budget_project(tmp_path, {"tests/test_aaa_budget.py": WAITS_FOR_THE_BUDGET})
    code = _start(root, "run", "unit").wait(timeout=120)
    out = (root / "out.txt").read_text()
    assert code == FAULTS["budget-stop"].exit, out
    record = latest(root)
    validate(record)
    suite = record["suites"][0]
    # the test process ended within budget + grace (bound generous for a loaded machine; the test alone would
    # have waited 30 s for the stop)
    assert suite["duration"] < BUDGET + lifecycle.budget_grace(BUDGET) + 10
    assert [t["name"] for t in suite["tests"]] == ["test_budget_first_runs_until_the_budget_ends"]
    assert suite["counts"]["passed"] == 1 and record["complete"] is False
    assert any("no further test was started; 1 of 7 test(s) ran" in p for p in suite["problems"])
    assert record["coverage"] is not None and record["coverage"]["overall"]["covered_lines"] > 0
    assert not [v for v in record["verdicts"] if v["kind"] == "threshold"]  # shown, not gated (99 % would fail)
    assert any("until stopped at the budget" in w for w in record["warnings"])
    assert [v["kind"] for v in record["verdicts"] if not v["passed"]] == ["budget"]


def test_budget_interrupts_a_test_that_does_not_end_and_saves_its_coverage(tmp_path: Path) -> None:
    root = _budget_project(tmp_path, {"tests/test_zblock.py": BLOCKING_TEST})
    code = _start(root, "run", "unit").wait(timeout=120)
    out = (root / "out.txt").read_text()
    assert code == FAULTS["budget-hung-test"].exit, out
    record = latest(root)
    suite = record["suites"][0]
    # stopped within budget + grace + the interrupt's grace (generous bound; the test alone waits 60 s)
    assert suite["duration"] < BUDGET + lifecycle.budget_grace(BUDGET) + lifecycle.INTERRUPT_GRACE + 10
    assert suite["counts"]["passed"] == 5  # the tests that ran before it
    grace = lifecycle.budget_grace(BUDGET)
    assert any(f"had not ended {grace:g}s later and was interrupted" in p for p in suite["problems"])
    assert record["coverage"]["overall"]["covered_lines"] > 0  # saved by pytest on SIGINT
    assert "suite unit ran past its budget of 2s and was stopped" in out


SLOW_SESSION_END = """\
import os
import time

import pytest


@pytest.fixture(scope="session", autouse=True)
def slow_session_teardown():
    yield
    # every test has run; the session's teardown takes the suite past its budget
    deadline = time.monotonic() + 30
    while not os.path.exists(os.environ["MCPTEST_STOP_FILE"]) and time.monotonic() < deadline:
        time.sleep(0.02)
"""


def test_budget_passed_after_every_test_ran_keeps_and_gates_the_data(tmp_path: Path) -> None:
    root = _budget_project(tmp_path, {"tests/conftest.py": SLOW_SESSION_END})
    code = _start(root, "run", "unit").wait(timeout=120)
    out = (root / "out.txt").read_text()
    assert code == FAULTS["budget-after-tests"].exit, out
    record = latest(root)
    assert record["complete"] is True and record["counts"]["passed"] == 5
    assert record["coverage"]["overall"]["covered_lines"] > 0
    failed = {v["kind"] for v in record["verdicts"] if not v["passed"]}
    assert failed == {"budget", "threshold"}  # judged as usual: 99 % is missed, and the budget
    assert json.dumps(record).count("ran out") == 0  # nothing was cut short
