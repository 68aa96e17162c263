"""Sharded runs (--shard K/N) in separate clones, joined by mcptest combine and gated once."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from projects import CONFIG, latest, make_project, mcptest
from test_patch import git

from mcptest import display, exitcodes, shard
from mcptest.errors import UsageError
from mcptest.history import History
from mcptest.model import Meta, RunRecord, Selection, SuiteResult, TestCase

#: A threshold above what the tests reach: a whole run fails it, a shard judges no coverage gate.
HIGH = CONFIG.replace("overall: {line: 50}", "overall: {line: 99}")

MORE_TESTS = """\
import pytest

from pkg.calc import add


@pytest.mark.parametrize("n", range(6))
def test_add_zero_same(n):
    assert add(n, 0) == n
"""


# --- the split ----------------------------------------------------------------------------------------


def test_split_every_test_in_exactly_one_part_deterministic_any_order() -> None:
    ids = [f"t.py::test_{i}" for i in range(23)]
    durations = {nodeid: float(i % 7) for i, nodeid in enumerate(ids[:15])}  # 8 tests without a duration
    parts = shard.split(ids, durations, 4)
    assert sorted(n for part in parts for n in part) == sorted(ids)
    assert len({n for part in parts for n in part}) == len(ids)
    assert shard.split(list(reversed(ids)), dict(reversed(list(durations.items()))), 4) == parts
    assert shard.digest(parts) == shard.digest(shard.split(ids, durations, 4))


def test_split_by_durations_balances_longest_first_as_pytest_split() -> None:
    durations = {"a": 10.0, "b": 6.0, "c": 5.0, "d": 4.0, "e": 1.0}
    parts = shard.split(list(durations), durations, 2)
    # a (10) and b (6) open the two parts, c (5) joins b, d (4) joins a, e (1) joins b
    assert parts == [["a", "d"], ["b", "c", "e"]]
    assert [sum(durations[n] for n in part) for part in parts] == [14.0, 12.0]


def test_split_unknown_test_counts_the_mean_of_known_durations() -> None:
    parts = shard.split(["slow", "new", "quick"], {"slow": 9.0, "quick": 1.0}, 2)
    assert parts == [["slow"], ["new", "quick"]]  # "new" weighs the mean, 5 s, and joins the lighter part


def test_split_without_durations_even_runs_of_node_ids() -> None:
    ids = [f"t{i:02d}" for i in range(10)]
    parts = shard.split(ids, {}, 3)
    assert parts == [ids[0:4], ids[4:7], ids[7:10]]
    assert shard.split(ids[:2], {}, 3) == [["t00"], ["t01"], []]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2", "is not K/N"),
        ("0/3", "K must be between 1 and N"),
        ("4/3", "K must be between 1 and N"),
        ("1/0", "N must"),
    ],
)
def test_parse_spec_rejects_what_is_not_k_of_n(text: str, expected: str) -> None:
    with pytest.raises(UsageError, match=expected):
        shard.parse_spec(text)


# --- shards in three clones ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clones(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One committed project, three clones in different folders each running one shard, a fourth whole."""
    base = tmp_path_factory.mktemp("shards")
    source = make_project(base / "source", config=HIGH, files={"tests/test_more.py": MORE_TESTS})
    git(source, "init", "-q", "-b", "main")
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "init")
    out: dict[str, Path] = {"base": base, "source": source}
    for name in ("one", "two", "three", "whole"):
        git(base, "clone", "-q", str(source), name)
        out[name] = base / name
    return out


@pytest.fixture(scope="module")
def bundles(clones: dict[str, Path]) -> dict[str, object]:
    results = {}
    for index, name in enumerate(("one", "two", "three"), start=1):
        results[name] = mcptest(
            clones[name],
            "run",
            "unit",
            "--shard",
            f"{index}/3",
            "--out",
            str(clones["base"] / "bundles" / f"unit-{index}"),
        )
    whole = mcptest(clones["whole"], "run", "unit")
    return {"shards": results, "whole": whole, "folder": clones["base"] / "bundles"}


def _copy(bundle: Path, dest: Path, manifest: dict | None = None, record: dict | None = None) -> Path:
    shutil.copytree(bundle, dest)
    if manifest:
        data = json.loads((dest / "bundle.json").read_text(encoding="utf-8"))
        (dest / "bundle.json").write_text(json.dumps({**data, **manifest}), encoding="utf-8")
    if record:
        data = json.loads((dest / "record.json").read_text(encoding="utf-8"))
        data["shard"].update(record)
        (dest / "record.json").write_text(json.dumps(data), encoding="utf-8")
    return dest


def refusals(folder: Path, tmp: Path) -> list[tuple[str, list[Path]]]:
    """Sets of bundles that are not the shards of one split, with the start of the line that refuses each."""
    one, two, three = (folder / f"unit-{k}" for k in (1, 2, 3))
    (tmp / "nothing").mkdir()
    return [
        ("shard(s) 2/3 missing (given: 1/3, 3/3); combine needs every shard of the split", [one, three]),
        ("shard 1/3 is given twice: ", [one, one, two, three]),
        ("cannot combine shards of different shard counts", [one, two, _copy(three, tmp / "n", {"count": 4})]),
        ("cannot combine shards of different commits: ", [one, _copy(two, tmp / "c", {"commit": "0" * 40}), three]),
        (
            "cannot combine shards of different configs (mcptest.yaml differs)",
            [one, _copy(two, tmp / "y", {"config_sha256": "f" * 64}), three],
        ),
        (
            "cannot combine shards of different splits (the shards balanced different recorded durations",
            [one, _copy(two, tmp / "s", record={"digest": "e" * 64, "durations_from": "run-x"}), three],
        ),
        (
            "the shards hold 4 + 4 + 5 tests, not the 11 the suite collected",
            [one, two, _copy(three, tmp / "k", record={"selected": 5})],
        ),
        ("no shard bundle (bundle.json) in it or in its subfolders", [tmp / "nothing"]),
    ]


def test_three_shards_in_three_clones_combine_to_the_whole_run_and_refuse_foreign_bundles(
    clones: dict[str, Path], bundles: dict, tmp_path: Path
) -> None:
    # each shard: partial, no coverage gate judged, a bundle written
    for index, name in enumerate(("one", "two", "three"), start=1):
        result = bundles["shards"][name]
        assert result.code == exitcodes.OK, result.output  # overall 99 is not judged on a part
        record = latest(clones[name])
        assert record["selection"]["partial"]
        assert record["selection"]["partial_reasons"][0].startswith(f"--shard {index}/3 runs one part of the suite")
        assert not [v for v in record["verdicts"] if v["kind"] == "threshold"]
        assert record["shard"]["index"] == index and record["shard"]["collected"] == 11
        assert f"Wrote shard bundle {bundles['folder'] / f'unit-{index}'}" in result.stdout
        folder = bundles["folder"] / f"unit-{index}"
        manifest = json.loads((folder / "bundle.json").read_text(encoding="utf-8"))
        assert manifest["commit"] == git(clones[name], "rev-parse", "HEAD") and manifest["coverage"] == "coverage.data"
    counts = [latest(clones[name])["shard"]["selected"] for name in ("one", "two", "three")]
    assert counts == [4, 4, 3]
    assert len({latest(clones[name])["shard"]["digest"] for name in ("one", "two", "three")}) == 1

    # combined: the numbers and the tests of the whole run, gated once
    assert bundles["whole"].code == exitcodes.THRESHOLD_MISSED, bundles["whole"].output
    combined = mcptest(clones["one"], "combine", str(bundles["folder"]), "--junit", "--markdown")
    assert combined.code == exitcodes.THRESHOLD_MISSED, combined.output
    whole, joined = latest(clones["whole"]), latest(clones["one"])
    shown = display.pct(whole["coverage"]["overall"]["line_percent"])
    assert f"overall line coverage {shown} is below the required 99%" in combined.stdout
    assert joined["meta"]["command"][:2] == ["mcptest", "combine"]
    assert not joined["selection"]["partial"] and joined["shard"] is None and joined["complete"]

    def files(record: dict) -> dict:
        return {
            f["path"]: (f["totals"], f["missing_lines"], f["missing_branches"]) for f in record["coverage"]["files"]
        }

    assert files(joined) == files(whole)
    assert joined["coverage"]["overall"] == whole["coverage"]["overall"]
    assert joined["counts"] == whole["counts"] and joined["counts"]["total"] == 11
    assert sorted(t["nodeid"] for t in joined["suites"][0]["tests"]) == sorted(
        t["nodeid"] for t in whole["suites"][0]["tests"]
    )
    assert all(t["duration"] >= 0 for t in joined["suites"][0]["tests"])
    gates = {(v["kind"], v["target"]): v["passed"] for v in joined["verdicts"]}
    assert gates[("threshold", "overall")] is False and gates[("tests", "suite:unit")] is True
    assert (clones["one"] / ".mcptest" / "report" / "junit.xml").is_file()
    # the numbers (the union of the shards' reports) are coverage.py's own on the combined data it leaves
    data = clones["one"] / ".mcptest" / "combined.coverage"
    out = clones["one"] / "cov.json"
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", f"--data-file={data}", "-o", str(out), "--omit=tests/*"],
        cwd=clones["one"],
        check=True,
        capture_output=True,
    )
    direct = json.loads(out.read_text(encoding="utf-8"))["files"]
    assert {
        p: (f["summary"]["covered_lines"], f["summary"]["num_statements"], f["summary"]["covered_branches"])
        for p, f in direct.items()
    } == {
        f["path"]: (f["totals"]["covered_lines"], f["totals"]["statements"], f["totals"]["covered_branches"])
        for f in joined["coverage"]["files"]
    }

    # shards that disagree on a file's statements: coverage.py analyses the combined data here, and says so
    odd = _copy(bundles["folder"] / "unit-2", tmp_path / "odd")
    record = json.loads((odd / "record.json").read_text(encoding="utf-8"))
    record["coverage"]["files"][-1]["missing_lines"].append(999)
    (odd / "record.json").write_text(json.dumps(record), encoding="utf-8")
    folder = bundles["folder"]
    mixed = mcptest(clones["one"], "combine", str(folder / "unit-1"), str(odd), str(folder / "unit-3"))
    assert mixed.code == exitcodes.THRESHOLD_MISSED, mixed.output
    assert "the shards measured different statements or branches in " in mixed.stdout
    assert files(latest(clones["one"])) == files(whole)

    # bundles that are not the shards of one split are refused, each with its own line (exit 4)
    for expected, given in refusals(bundles["folder"], tmp_path):
        result = mcptest(clones["one"], "combine", *map(str, given))
        assert result.code == exitcodes.CONFIG_ERROR, (expected, result.output)
        (line,) = result.stderr.strip().splitlines()
        assert expected in line


def test_shard_with_more_parts_than_tests_passes_empty_and_says_so(clones: dict[str, Path], tmp_path: Path) -> None:
    git(tmp_path, "clone", "-q", str(clones["source"]), "empty")
    root = tmp_path / "empty"
    result = mcptest(root, "run", "unit", "--shard", "12/12")
    assert result.code == exitcodes.OK, result.output
    record = latest(root)
    assert record["shard"]["selected"] == 0 and record["counts"]["total"] == 0
    assert any("holds none of the suite's 11 test(s)" in v["message"] for v in record["verdicts"])


def test_failing_test_in_one_shard_fails_it_and_the_combine(tmp_path: Path) -> None:
    source = make_project(
        tmp_path / "source", files={"tests/test_more.py": MORE_TESTS.replace("== n", "== n + (n == 5)")}
    )
    git(source, "init", "-q", "-b", "main")
    git(source, "add", "-A")
    git(source, "commit", "-q", "-m", "init")
    codes = []
    for k in (1, 2):
        git(tmp_path, "clone", "-q", str(source), f"c{k}")
        codes.append(
            mcptest(tmp_path / f"c{k}", "run", "unit", "--shard", f"{k}/2", "--out", str(tmp_path / "b" / str(k))).code
        )
    assert sorted(codes) == [exitcodes.OK, exitcodes.TESTS_FAILED]
    combined = mcptest(tmp_path / "c1", "combine", str(tmp_path / "b"))
    assert combined.code == exitcodes.TESTS_FAILED, combined.output
    assert (
        "suite unit: 10 passed, 1 failed, 0 errors; failed: tests/test_more.py::test_add_zero_same[5]"
        in combined.stdout
    )


def test_shard_of_all_and_out_without_shard_are_usage_errors(clones: dict[str, Path]) -> None:
    assert "give its name, not 'all'" in mcptest(clones["whole"], "run", "all", "--shard", "1/2").stderr
    assert "give it with --shard K/N" in mcptest(clones["whole"], "run", "unit", "--out", "x").stderr


def _stored(history: History, run_id: str, *, partial: bool, durations: dict[str, float]) -> str:
    tests = [TestCase(n, n, "t.py", 1, "unit", "passed", duration=d) for n, d in durations.items()]
    record = RunRecord(
        id=run_id,
        started_at="2026-01-01T00:00:00Z",
        status="passed",
        complete=True,
        exit_code=0,
        exit_reason="ok",
        selection=Selection(suite="unit", partial=partial),
        meta=Meta(),
        suites=[SuiteResult("unit", "unit", ["t.py"], "passing", tests=tests)],
    )
    history.save_run(record)
    return run_id


def test_durations_from_baseline_else_newest_whole_run_never_a_shard(tmp_path: Path) -> None:
    history = History(tmp_path / ".mcptest")
    assert shard.durations_source(history, "unit") is None
    whole = _stored(history, "20260101T000000000000Z-aaaaaa", partial=False, durations={"a": 1.0, "b": 2.0})
    _stored(history, "20260101T000001000000Z-bbbbbb", partial=True, durations={"a": 9.0})  # a shard: latest.json
    found = shard.durations_source(History(tmp_path / ".mcptest"), "unit")
    assert found is not None and found.id == whole  # the next shard of the split balances the same durations
    assert shard.durations_of(found, "unit") == {"a": 1.0, "b": 2.0}
    assert shard.durations_source(History(tmp_path / ".mcptest"), "other") is None
    history.save_baseline(found)
    later = _stored(history, "20260101T000002000000Z-cccccc", partial=False, durations={"a": 3.0})
    assert shard.durations_source(History(tmp_path / ".mcptest"), "unit").id == whole  # the baseline first
    assert later
