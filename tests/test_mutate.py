"""Tests of mutation testing: operators on snippets, sampling, and real runs on a tiny project in tmp_path."""

from __future__ import annotations

import hashlib
import json
import tempfile
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mcptest.config import load_config
from mcptest.errors import UsageError
from mcptest.mutate import (
    BaselineFailed,
    Mutant,
    MutationResult,
    _write_source,
    generate_mutants,
    run_mutations,
    sample,
)

CORE = '''\
def classify(n):
    if n < 10:
        return "small"
    return "big"


def enabled(flag):
    if flag:
        return True
    return False


def record(log, item):
    log.append(item)
    return len(log)
'''

# every mutant of CORE is killed except one: test_record never looks at record()'s return value
TESTS = '''\
from pkg.core import classify, enabled, record


def test_classify_small():
    assert classify(3) == "small"


def test_classify_big():
    assert classify(30) == "big"


def test_classify_boundary_is_big():
    assert classify(10) == "big"


def test_enabled():
    assert enabled(True) is True
    assert enabled(False) is False


def test_record_appends():
    log = []
    record(log, 1)
    assert log == [1]
'''

LOOP = '''\
def countdown(n):
    while n > 0:
        n -= 1
    return n
'''

TESTS_LOOP = '''\
from pkg.loop import countdown


def test_countdown_reaches_zero():
    assert countdown(3) == 0
'''

CONFIG = """\
source: [pkg]
modules:
  core: {files: [pkg/core.py], tests: [tests/test_core.py]}
suites:
  unit: {paths: [tests]}
"""
LOOP_MODULE = "  loop: {files: [pkg/loop.py], tests: [tests/test_loop.py]}\n"

CLASSIFY = ["tests/test_core.py::test_classify_small", "tests/test_core.py::test_classify_big",
            "tests/test_core.py::test_classify_boundary_is_big"]
ENABLED = ["tests/test_core.py::test_enabled"]
RECORD = ["tests/test_core.py::test_record_appends"]

#: (line, operator, description) -> (status, the tests that must have been run)
EXPECTED = {
    (2, "compare", "< -> >="): ("killed", CLASSIFY),
    (2, "constant", "10 -> 11"): ("killed", CLASSIFY),
    (3, "return", "return \"small\" -> return None"): ("killed", CLASSIFY[:1]),
    (3, "constant", "\"small\" -> \"\""): ("killed", CLASSIFY[:1]),
    (4, "return", "return \"big\" -> return None"): ("killed", CLASSIFY[1:]),
    (4, "constant", "\"big\" -> \"\""): ("killed", CLASSIFY[1:]),
    (8, "negate", "condition negated"): ("killed", ENABLED),
    (9, "return", "return True -> return False"): ("killed", ENABLED),
    (10, "return", "return False -> return True"): ("killed", ENABLED),
    (14, "call", "call removed"): ("killed", RECORD),
    (15, "return", "return len(log) -> return None"): ("survived", RECORD),
}

SURVIVOR_DIFF = """\
--- a/pkg/core.py
+++ b/pkg/core.py
@@ -13,3 +13,3 @@
 def record(log, item):
     log.append(item)
-    return len(log)
+    return None
"""


def make_project(root: Path, *, loop: bool = False, broken: bool = False) -> Path:
    files = {"mcptest.yaml": CONFIG, "pkg/__init__.py": "", "pkg/core.py": CORE, "tests/test_core.py": TESTS}
    if loop:
        files.update({"pkg/loop.py": LOOP, "tests/test_loop.py": TESTS_LOOP,
                      "mcptest.yaml": CONFIG.replace("suites:", LOOP_MODULE + "suites:")})
    if broken:
        files["tests/test_core.py"] = TESTS + "\n\ndef test_broken():\n    assert classify(3) == 'big'\n"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "mcptest.yaml"


def digest(root: Path) -> dict[str, str]:
    """Path -> sha256 of every file under ``root``."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder of our own for the run's copies, so leftovers can be checked exactly."""
    folder = tmp_path / "tmpdir"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@dataclass
class Run:
    root: Path
    before: dict[str, str]
    after: dict[str, str]
    result: MutationResult
    events: list[tuple[str, dict[str, Any]]]
    leftovers: list[Path]


@pytest.fixture(scope="module")
def core_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    root = tmp_path_factory.mktemp("project")
    config = load_config(make_project(root))
    private = tmp_path_factory.mktemp("private-tmp")
    before = digest(root)
    events: list[tuple[str, dict[str, Any]]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", str(private))
        result = run_mutations(config, suite="unit", modules=["core"], seed=3,
                               on_event=lambda kind, data: events.append((kind, data)))
    yield Run(root, before, digest(root), result, events, sorted(private.iterdir()))


def by_key(result: MutationResult) -> dict[tuple[int, str, str], Mutant]:
    return {(m.line, m.operator, m.description): m for m in result.mutants}


# ------------------------------------------------------------------------------------ real runs


def test_run_each_mutant_has_expected_status(core_run: Run) -> None:
    found = {key: m.status for key, m in by_key(core_run.result).items()}
    assert found == {key: status for key, (status, _) in EXPECTED.items()}


def test_run_each_mutant_ran_only_its_covering_tests(core_run: Run) -> None:
    found = {key: sorted(m.tests) for key, m in by_key(core_run.result).items()}
    assert found == {key: sorted(tests) for key, (_, tests) in EXPECTED.items()}
    assert not any(m.import_time for m in core_run.result.mutants)


def test_run_killed_mutants_name_the_failing_test(core_run: Run) -> None:
    killed = by_key(core_run.result)[(2, "compare", "< -> >=")]
    assert killed.killed_by in CLASSIFY
    assert killed.detail is not None and "failed" in killed.detail


def test_run_survivor_is_shown_as_unified_diff(core_run: Run) -> None:
    (survivor,) = core_run.result.survivors
    assert (survivor.file, survivor.line, survivor.operator) == ("pkg/core.py", 15, "return")
    assert survivor.original == "    return len(log)"
    assert survivor.mutated == "    return None"
    assert survivor.diff == SURVIVOR_DIFF


def test_run_score_counts_and_dict(core_run: Run) -> None:
    result = core_run.result
    assert result.counts == {"killed": 10, "survived": 1, "timeout": 0, "error": 0, "no-tests": 0}
    assert result.score == pytest.approx(10 / 11)
    assert result.score_percent == pytest.approx(90.91)
    assert result.candidates == 11
    assert result.skipped == 2  # `return True`: the constant flip and the return swap are the same mutant
    assert result.files == ["pkg/core.py"]
    assert result.baseline_tests == 5
    data = json.loads(json.dumps(result.to_dict()))
    assert data["format_version"] == 1
    assert data["counts"]["survived"] == 1
    assert [m["id"] for m in data["mutants"]] == [f"m{n}" for n in range(1, 12)]
    assert {m["status"] for m in data["mutants"]} == {"killed", "survived"}


def test_run_leaves_project_identical_and_removes_its_copies(core_run: Run) -> None:
    assert core_run.after == core_run.before
    assert core_run.leftovers == []
    assert core_run.result.warnings == []  # the warm servers started


def test_run_reports_progress_events(core_run: Run) -> None:
    kinds = [kind for kind, _ in core_run.events]
    assert kinds[:4] == ["copied", "baseline-start", "baseline-end", "planned"]
    assert kinds.count("mutant-start") == kinds.count("mutant-end") == 11
    ends = [data["done"] for kind, data in core_run.events if kind == "mutant-end"]
    assert ends == list(range(1, 12))


def test_cold_run_sees_mutants_in_copy_and_samples_by_seed(tmp_path: Path, private_tmp: Path) -> None:
    root = tmp_path / "project"
    config = load_config(make_project(root))
    before = digest(root)
    result = run_mutations(config, modules=["core"], max_mutants=4, seed=11, warm=False, workers=1)
    assert digest(root) == before
    numbered, _ = generate_mutants(CORE, "pkg/core.py")
    for n, mutant in enumerate(numbered, 1):
        mutant.id = f"m{n}"
    assert [m.id for m in result.mutants] == [m.id for m in sample(numbered, 4, 11)]
    for mutant in result.mutants:  # a fresh interpreter in the copy sees each mutant
        assert mutant.status == EXPECTED[(mutant.line, mutant.operator, mutant.description)][0]
    assert result.candidates == 11
    assert list(private_tmp.iterdir()) == []


def test_dying_warm_server_falls_back_to_fresh_processes(tmp_path: Path, private_tmp: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import mcptest.mutate.server as mutate

    # the server says it is ready, then ends when it is handed its first job
    monkeypatch.setattr(mutate, "_SERVER", mutate._SERVER.replace("    job = json.loads(line)", "    sys.exit(3)"))
    config = load_config(make_project(tmp_path / "project"))
    result = run_mutations(config, modules=["core"], max_mutants=3, seed=2, workers=1)
    assert len(result.mutants) == 3
    for mutant in result.mutants:
        assert mutant.status == EXPECTED[(mutant.line, mutant.operator, mutant.description)][0]
    assert list(private_tmp.iterdir()) == []


def test_interrupt_from_callback_restores_everything(tmp_path: Path, private_tmp: Path) -> None:
    root = tmp_path / "project"
    config = load_config(make_project(root))
    before = digest(root)
    seen: list[str] = []

    def on_event(kind: str, data: dict[str, Any]) -> None:
        seen.append(kind)
        if kind == "mutant-end":  # other mutants are applied in their copies and running now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_mutations(config, modules=["core"], workers=2, on_event=on_event)
    assert "mutant-end" in seen
    assert digest(root) == before
    assert list(private_tmp.iterdir()) == []


def test_interrupt_while_mutant_is_applied(tmp_path: Path, private_tmp: Path) -> None:
    root = tmp_path / "project"
    config = load_config(make_project(root))
    before = digest(root)

    def on_event(kind: str, data: dict[str, Any]) -> None:
        if kind == "mutant-start" and data["done"] == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_mutations(config, modules=["core"], workers=1, on_event=on_event)
    assert digest(root) == before
    assert list(private_tmp.iterdir()) == []


def test_endless_loop_mutant_is_a_timeout_outside_the_score(tmp_path: Path, private_tmp: Path) -> None:
    root = tmp_path / "project"
    config = load_config(make_project(root, loop=True))
    result = run_mutations(config, modules=["loop"], timeout_base=1.0, timeout_factor=1.0)
    statuses = {(m.line, m.description): m.status for m in result.mutants}
    assert statuses == {(2, "> -> <="): "killed", (2, "0 -> 1"): "killed", (3, "1 -> 0"): "timeout",
                        (4, "return n -> return None"): "killed"}
    assert result.timeouts == 1
    assert result.score == 1.0
    assert list(private_tmp.iterdir()) == []


def test_failing_suite_is_refused(tmp_path: Path, private_tmp: Path) -> None:
    config = load_config(make_project(tmp_path / "project", broken=True))
    with pytest.raises(BaselineFailed, match="test_broken"):
        run_mutations(config, modules=["core"])
    assert list(private_tmp.iterdir()) == []


def test_unknown_module_or_suite_is_a_usage_error(tmp_path: Path) -> None:
    config = load_config(make_project(tmp_path / "project"))
    with pytest.raises(UsageError, match="unknown module"):
        run_mutations(config, modules=["nope"])
    with pytest.raises(UsageError, match="unknown suite"):
        run_mutations(config, suite="nope")
    with pytest.raises(UsageError, match="--max"):
        run_mutations(config, max_mutants=-1)


def test_write_source_replaces_symlink_instead_of_writing_through(tmp_path: Path) -> None:
    outside = tmp_path / "user.py"
    outside.write_text("x = 1\n", encoding="utf-8")
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "mod.py").symlink_to(outside)
    _write_source(copy, "mod.py", b"x = 2\n")
    assert outside.read_text(encoding="utf-8") == "x = 1\n"
    assert not (copy / "mod.py").is_symlink()
    assert (copy / "mod.py").read_bytes() == b"x = 2\n"


def test_write_source_gives_every_version_a_new_mtime(tmp_path: Path) -> None:
    (tmp_path / "mod.py").write_text("x = 1\n", encoding="utf-8")
    stamps = set()
    for text in (b"x = 2\n", b"x = 1\n", b"x = 3\n"):
        _write_source(tmp_path, "mod.py", text)
        stamps.add(int((tmp_path / "mod.py").stat().st_mtime))
    assert len(stamps) == 3


# ------------------------------------------------------------------------------------ operators


def mutated_lines(source: str) -> list[tuple[str, str]]:
    mutants, _ = generate_mutants(textwrap.dedent(source), "m.py")
    return [(m.operator, m.mutated.strip()) for m in mutants]


@pytest.mark.parametrize(("source", "expected"), [
    ("a < b", "a >= b"), ("a <= b", "a > b"), ("a > b", "a <= b"), ("a >= b", "a < b"),
    ("a == b", "a != b"), ("a != b", "a == b"), ("a is b", "a is not b"), ("a is not b", "a is b"),
    ("a in b", "a not in b"), ("a not in b", "a in b"), ("(a)<(b)", "(a)>=(b)"),
])
def test_compare_flips(source: str, expected: str) -> None:
    assert mutated_lines(f"x = {source}\n") == [("compare", f"x = {expected}")]


def test_chained_compare_flips_each_operator() -> None:
    assert mutated_lines("x = a < b <= c\n") == [("compare", "x = a >= b <= c"), ("compare", "x = a < b > c")]


def test_conditions_negated_or_not_removed() -> None:
    source = """\
    if ready:
        pass
    while not done:
        pass
    y = p if flag else q
    if a < b:
        pass
    """
    assert mutated_lines(source) == [
        ("negate", "if not (ready):"), ("negate", "while (done):"), ("negate", "y = p if not (flag) else q"),
        ("compare", "if a >= b:"),  # a single comparison is flipped, not negated as well
    ]


def test_boolean_operators_swap() -> None:
    assert mutated_lines("x = a and b and c\ny = a or b\n") == [("boolop", "x = a or b or c"),
                                                             ("boolop", "y = a and b")]


@pytest.mark.parametrize(("literal", "expected"), [
    ("0", "1"), ("1", "0"), ("7", "8"), ("2.5", "3.5"), ("0.0", "1.0"), ("True", "False"), ("False", "True"),
    ("'text'", '""'), ("b'raw'", 'b""'), ("'a' 'b'", '""'),
])
def test_constants_change(literal: str, expected: str) -> None:
    assert mutated_lines(f"x = {literal}\n") == [("constant", f"x = {expected}")]


def test_left_alone_docstrings_annotations_fstrings_logs_none_and_pragma() -> None:
    source = '''\
    """Module docstring."""
    import logging
    log = logging.getLogger("m")
    x: int = y
    z = f"{a!r:>10}"
    u = None
    v = ""
    w = ...
    t = 5  # pragma: no mutate


    def f(a: int = b) -> str:
        """Function docstring."""
        log.warning("%s happened", a)
    '''
    assert mutated_lines(source) == [("constant", 'log = logging.getLogger("")'), ("call", "None")]


def test_calls_removed_only_as_statements() -> None:
    source = """\
    async def f():
        go()
        await later()
        x = go()
    """
    assert mutated_lines(source) == [("call", "None"), ("call", "None")]


def test_returns_swapped() -> None:
    source = """\
    def f():
        if a:
            return True
        if b:
            return None
        if c:
            return
        return compute(
            1)
    """
    found = mutated_lines(source)
    assert ("return", "return False") in found
    assert ("return", "return None") in found
    assert [op for op, _ in found].count("return") == 2


def test_multiline_mutant_shows_all_its_lines_and_a_valid_diff() -> None:
    mutants, _ = generate_mutants("def f():\n    return compute(\n        1)\n", "m.py")
    ret = next(m for m in mutants if m.operator == "return")
    assert ret.original == "    return compute(\n        1)"
    assert ret.mutated == "    return None"
    assert ret.source == "def f():\n    return None\n"
    assert ret.diff.startswith("--- a/m.py\n+++ b/m.py\n")


def test_duplicate_mutants_are_dropped() -> None:
    mutants, dropped = generate_mutants("def f():\n    return True\n", "m.py")
    assert [(m.operator, m.description) for m in mutants] == [("return", "return True -> return False")]
    assert dropped == 1  # flipping the constant True gives the very same code


def test_only_requested_lines_are_mutated() -> None:
    source = "a = 1\nb = 2\nif (c and\n        d):\n    pass\n"
    mutants, _ = generate_mutants(source, "m.py", lines={2, 3})
    assert [(m.line, m.operator) for m in mutants] == [(2, "constant"), (3, "negate"), (3, "boolop")]


def test_non_ascii_columns_are_located_by_characters() -> None:
    assert mutated_lines('x = ("é", 1 < 2)\n') == [
        ("constant", 'x = ("", 1 < 2)'), ("constant", 'x = ("é", 0 < 2)'), ("compare", 'x = ("é", 1 >= 2)'),
        ("constant", 'x = ("é", 1 < 3)')]


# ------------------------------------------------------------------------------------- sampling


def numbered(count: int) -> list[Mutant]:
    ops = ["compare", "constant", "return", "call"]
    return [Mutant(id=f"m{n}", file=f"f{n % 2}.py", line=n, col=0, operator=ops[n % 4], description="",
                   original="", mutated="", diff="") for n in range(1, count + 1)]


def test_sampling_is_deterministic_for_a_seed() -> None:
    pool = numbered(40)
    first = [m.id for m in sample(pool, 8, seed=5)]
    assert first == [m.id for m in sample(pool, 8, seed=5)]
    assert len(first) == 8 == len(set(first))
    assert any([m.id for m in sample(pool, 8, seed=s)] != first for s in range(6, 10))


def test_sampling_keeps_order_and_spreads_over_files_and_operators() -> None:
    pool = numbered(40)
    chosen = sample(pool, 8, seed=1)
    assert [m.line for m in chosen] == sorted(m.line for m in chosen)
    groups = {(m.file, m.operator) for m in pool}
    assert len(groups) == 4
    assert {(m.file, m.operator) for m in chosen} == groups
    assert all(sum((m.file, m.operator) == g for m in chosen) == 2 for g in groups)


def test_sampling_without_limit_or_above_size_keeps_everything() -> None:
    pool = numbered(5)
    assert sample(pool, None, seed=1) == pool
    assert sample(pool, 10, seed=1) == pool
    assert sample(pool, 0, seed=1) == []
