"""Benchmark of the CI features: mcptest combine of N shard bundles, and the cost of patch coverage.

On the generated project of bench/perf.py (large: 500 modules, 5,000 tests), in a git repository:

  combine  the suite run as N shards (--shard K/N, one after the other), then `mcptest combine` of the N
           bundles timed (median of the rounds; target < 2 s for 8 bundles); its per-file numbers are
           checked against one whole `mcptest run`
  patch    a commit that changes every 10th module; `patch.read_diff` + `patch.measure` timed in process on
           the whole run's record (target < 0.2 s), and a whole run with and without --diff-base

Examples:

  python bench/ci.py                     # large, 8 shards, 3 rounds
  python bench/ci.py --size small --shards 4 --rounds 1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from perf import SIZES, clean_env, make_project, mcptest_cmd  # noqa: E402

TARGET_COMBINE = 2.0
TARGET_PATCH = 0.2


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}
    return subprocess.run(["git", *args], cwd=root, env=env, capture_output=True, text=True, check=True).stdout


CPU: list[float] = []  # CPU seconds (user + system) of each timed command, in order


def timed(cmd: list[str], cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    """Wall seconds of ``cmd``; its CPU seconds go to CPU (on a shared machine the wall time is the noisy one)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode not in ok:
        raise SystemExit(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds


def files_of(path: Path) -> dict[str, Any]:
    record = json.loads(path.read_text(encoding="utf-8"))
    return {f["path"]: f["totals"] for f in record["coverage"]["files"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="large")
    parser.add_argument("--shards", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    n_files, n_tests = SIZES[args.size]
    scratch = Path(tempfile.mkdtemp(prefix="mcptest-bench-ci-"))
    env = clean_env(scratch / "pycache")
    mcptest = mcptest_cmd()
    try:
        root = make_project(scratch / "project", n_files, n_tests)
        git(root, "init", "-q", "-b", "main")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "main")
        whole = timed([*mcptest, "run", "bench", "-q"], root, env)
        whole_files = files_of(root / ".mcptest" / "latest.json")
        shard_times = []
        for k in range(1, args.shards + 1):
            out = scratch / "bundles" / f"b{k}"
            shard_times.append(
                timed([*mcptest, "run", "bench", "--shard", f"{k}/{args.shards}", "--out", str(out), "-q"], root, env)
            )
        combine_times, combine_cpu = [], []
        for _ in range(args.rounds):
            combine_times.append(timed([*mcptest, "combine", str(scratch / "bundles"), "-q"], root, env))
            combine_cpu.append(CPU[-1])
        same = files_of(root / ".mcptest" / "latest.json") == whole_files

        # a patch: every 10th module gets a new function, half of it run by a new test
        git(root, "checkout", "-q", "-b", "change")
        for i in range(0, n_files, 10):
            module = root / "synpkg" / f"mod_{i:04d}.py"
            module.write_text(
                module.read_text(encoding="utf-8") + "\n\ndef added(x):\n    if x:\n        return 1\n    return 0\n"
            )
            test = root / "tests" / f"test_mod_{i:04d}.py"
            test.write_text(
                test.read_text(encoding="utf-8")
                + f"\n\ndef test_mod_{i:04d}_added_one():\n    assert m.added(1) == 1\n"
            )
        git(root, "commit", "-q", "-am", "change")
        plain = [timed([*mcptest, "run", "bench", "-q"], root, env) for _ in range(args.rounds)]
        record = root / ".mcptest" / "latest.json"
        with_patch = [
            timed([*mcptest, "run", "bench", "-q", "--diff-base", "main"], root, env) for _ in range(args.rounds)
        ]

        from mcptest import patch
        from mcptest.model import RunRecord

        report = RunRecord.from_dict(json.loads(record.read_text(encoding="utf-8"))).coverage
        assert report is not None
        inproc = []
        for _ in range(max(3, args.rounds)):
            start = time.perf_counter()
            measured = patch.measure(patch.read_diff(root, "main"), report)
            inproc.append(time.perf_counter() - start)
        t = measured.totals
        print(f"project: {args.size} ({n_files} modules, {n_tests} tests)")
        print(f"whole run: {whole:.2f} s; shards: {', '.join(f'{s:.1f}' for s in shard_times)} s")
        combine = statistics.median(combine_times)
        ok = "met" if combine < TARGET_COMBINE else "MISSED"
        print(
            f"combine of {args.shards} bundles: median {combine:.2f} s "
            f"(rounds {', '.join(f'{s:.2f}' for s in combine_times)}); "
            f"CPU median {statistics.median(combine_cpu):.2f} s; "
            f"target < {TARGET_COMBINE:g} s {ok}; per-file numbers equal to the whole run: {same}"
        )
        cost = statistics.median(inproc)
        ok = "met" if cost < TARGET_PATCH else "MISSED"
        print(
            f"patch ({len(measured.files)} files, {t.covered_lines}/{t.statements} lines, "
            f"{t.covered_branches}/{t.branches} "
            f"branches): read_diff + measure median {cost * 1000:.0f} ms; target < {TARGET_PATCH:g} s {ok}"
        )
        print(
            f"run without / with --diff-base: median {statistics.median(plain):.2f} s / "
            f"{statistics.median(with_patch):.2f} s"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
