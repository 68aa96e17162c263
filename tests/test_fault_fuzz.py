"""Generated test-process faults: whatever mix of outcomes and faults a suite throws, the verdict is right.

Each case is a tiny project whose test files are drawn by a seeded generator from the kinds below (passing,
failing and skipped tests, broken fixtures, pytest.exit, KeyboardInterrupt, os._exit, SystemExit, noisy
output with control characters, a file that does not parse). The oracle: exit 0 exactly when every drawn test
is one that passes (pass, skip, xfail, noisy output) and nothing broke the session; otherwise the documented
non-zero code, never 70; always a run record, no traceback, no temporary folder left behind.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from projects import make_project, mcptest

from mcptest import exitcodes

#: kind -> (test body, whether a suite of only such tests passes, whether it stops the session)
KINDS: dict[str, tuple[str, bool, bool]] = {
    "pass": ("def test_{n}():\n    assert {n_len} == len('{name}')\n", True, False),
    "fail": ("def test_{n}():\n    assert 1 == 2, 'drawn \\x1b[31m [/etc] failure {n}'\n", False, False),
    "skip": ("import pytest\n\n\n@pytest.mark.skip(reason='drawn')\ndef test_{n}():\n    assert 0\n", True, False),
    "xfail": ("import pytest\n\n\n@pytest.mark.xfail(strict=True)\ndef test_{n}():\n    assert 0\n", True, False),
    "fixture": (
        "import pytest\n\n\n@pytest.fixture\ndef broken():\n    raise RuntimeError('fixture {n}')\n\n\n"
        "def test_{n}(broken):\n    assert broken is None\n",
        False,
        False,
    ),
    "noise": (
        "def test_{n}():\n    print('\\x1b]8;;http://x\\x07[/etc]\\x1b[2J\\x9b31m\\r\\x00 [bold]{n}[/bold]')\n"
        "    assert '{n}'.startswith('t')\n",
        True,
        False,
    ),
    "systemexit": ("import sys\n\n\ndef test_{n}():\n    sys.exit(0)\n", False, False),
    "exit": ("import pytest\n\n\ndef test_{n}():\n    pytest.exit('drawn stop {n}', returncode={rc})\n", False, True),
    "interrupt": ("def test_{n}():\n    raise KeyboardInterrupt('drawn {n}')\n", False, True),
    "die": ("import os\n\n\ndef test_{n}():\n    os._exit({rc_die})\n", False, True),
    "syntax": ("def test_{n}(:\n    pass\n", False, True),
}

CONFIG = "source: [pkg]\ncoverage:\n  overall: {line: 0}\nsuites:\n  unit: {paths: [tests], timeout: 30s}\n"
SEEDS = range(10)


def draw(seed: int) -> tuple[dict[str, str], list[str]]:
    rng = random.Random(seed)
    kinds = [rng.choice(sorted(KINDS)) for _ in range(rng.randint(2, 5))]
    files: dict[str, str] = {"tests/test_calc.py": "", "tests/test_text.py": ""}  # only the drawn tests
    for i, kind in enumerate(kinds):
        name = f"t{seed}_{i}_{kind}"
        body = KINDS[kind][0].format(
            n=name, name=name, n_len=len(name), rc=rng.choice([None, 0, 1, 3]), rc_die=rng.choice([0, 1])
        )
        files[f"tests/test_{i}_{kind}.py"] = body
    return files, kinds


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_faults_end_in_the_right_verdict(tmp_path: Path, seed: int) -> None:
    files, kinds = draw(seed)
    make_project(tmp_path, CONFIG, files)
    result = mcptest(tmp_path, "run", "unit")
    should_pass = all(KINDS[k][1] for k in kinds)
    assert result.code != exitcodes.INTERNAL_ERROR, (kinds, result.output)
    assert "Traceback" not in result.output, (kinds, result.output)
    if should_pass:
        assert result.code == exitcodes.OK, (kinds, result.output)
    else:
        assert result.code in (exitcodes.TESTS_FAILED, exitcodes.NO_TESTS_OR_DATA), (kinds, result.output)
    (record_file,) = (tmp_path / ".mcptest" / "runs").glob("*.json")
    record = json.loads(record_file.read_text(encoding="utf-8"))
    assert record["exit_code"] == result.code
    stops = any(KINDS[k][2] for k in kinds)
    if stops:
        assert record["complete"] is False or record["counts"]["error"] >= 1, (kinds, record["reasons"])
    if result.code != exitcodes.OK:
        assert record["reasons"], kinds  # a failed run always says why
        assert record["status"] != "passed"
    assert list((tmp_path / ".mcptest" / "tmp").glob("*")) == []  # no run folder left behind (none, or empty)
    for raw in (result.stdout, result.stderr):
        assert not any(ch in raw for ch in ("\x1b", "\x07", "\x9b", "\x00")), kinds


def test_the_generator_draws_every_kind_across_the_seeds() -> None:
    drawn = {k for seed in SEEDS for k in draw(seed)[1]}
    assert drawn >= {"pass", "fail", "exit", "interrupt", "die", "syntax", "noise"}, drawn
