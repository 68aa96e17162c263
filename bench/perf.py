"""Wall-time benchmark: mcptest against pytest-cov and plain coverage.py, plus start-up, --contexts and -n 2.

Every comparison runs its tools side by side in one invocation, interleaved (the order rotates each
round) so that they share the machine's noise, and prints medians. Sections:

  sizes     generated projects (small: 50 files / 500 tests, large: 500 files / 5,000 tests):
            pytest-cov, pytest-cov without its terminal report, `coverage run` + `coverage json`,
            and `mcptest run` with a generated mcptest.yaml; ratios mcptest/pytest-cov and
            mcptest/coverage (target: mcptest <= 1.10x pytest-cov)
  bundled   `mcptest run unit` against `pytest --cov=whatsapp_mcp --cov-branch suites/unit`, on a copy
            of the repository's target (so the repository's .mcptest/ history stays untouched)
  contexts  the extra cost of `mcptest run --contexts` (and of pytest-cov's `--cov-context=test`)
  startup   `mcptest --help` (target < 0.3 s) and `mcptest bridges check` against two bridges on
            closed loopback ports (target < 1 s)
  parallel  `mcptest run SUITE -n 2` against serial on a CPU-bound suite of >= 20 s serial (target
            >= 1.6x), checking that both runs report the same per-file numbers; pytest-cov's `-n 2`
            against its serial run on the same suite as the reference (not run with --quick)

The summary at the end is Markdown (docs/performance.md carries the last full one).

Examples:

  python bench/perf.py                         # everything (about 13 minutes on 2 cores)
  python bench/perf.py --quick                 # smoke run in about 10 s: tiny sizes, one round, no parallel, no targets
  python bench/perf.py --only sizes --sizes large --repeats 7
  python bench/perf.py --only sizes --tools pytest-cov,mcptest --json figures.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SIZES = {"tiny": (10, 100), "small": (50, 500), "large": (500, 5_000)}
TOOLS = ("pytest-cov", "pytest-cov-noreport", "coverage", "mcptest")
ALL_TOOLS = (*TOOLS, "mcptest-alt")
SECTIONS = ("sizes", "bundled", "contexts", "startup", "parallel")
TARGET_RATIO = 1.10
TARGET_HELP = 0.3
TARGET_PREFLIGHT = 1.0
TARGET_SPEEDUP = 1.6
PARALLEL_TESTS = 48

# --- generated projects ---------------------------------------------------------------------------

SOURCE = '''\
"""Generated module {i}: small functions with branches, light on CPU."""

OFFSET = {i}


def classify(x):
    x -= OFFSET % 3
    if x < 0:
        return "negative"
    if x == 0:
        return "zero"
    if x < 10:
        return "small"
    return "large"


def clamp(x, lo, hi):
    if lo > hi:
        raise ValueError("lo > hi")
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


def tally(items):
    even = odd = 0
    for item in items:
        if item % 2:
            odd += item
        else:
            even += item
    return even - odd


def describe(name, tags=None):
    parts = [name.strip() or "anonymous"]
    if tags:
        parts.extend(sorted(t for t in tags if t))
    return ",".join(parts)


class Counter:
    def __init__(self, limit):
        self.limit = limit
        self.value = 0

    def bump(self, step=1):
        if self.value + step > self.limit:
            raise ValueError("over the limit")
        self.value += step
        return self.value

    def reset(self):
        self.value = 0
        return self


def rarely_used(flag):
    if flag:
        return "on"
    return "off"
'''

# Ten light tests; which ones a file gets varies with the module number, so coverage varies per file.
TEST_BODIES = (
    "assert m.classify(-5) == 'negative'",
    "assert m.classify(50) == 'large'",
    "assert m.clamp(5, 0, 3) == 3",
    "assert m.clamp(-1, 0, 3) == 0",
    "assert m.tally([1, 2, 3, 4]) == 2",
    "assert m.describe(' a ', ['b', '', 'c']) == 'a,b,c'",
    "c = m.Counter(2)\n    assert c.bump() == 1",
    "c = m.Counter(1)\n    c.bump()\n    with pytest.raises(ValueError):\n        c.bump()",
    "assert m.describe('   ') == 'anonymous'",
    "assert m.Counter(3).reset().value == 0",
)


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def make_project(root: Path, n_files: int, n_tests: int) -> Path:
    """A package ``synpkg`` of ``n_files`` modules and ``n_tests`` tests spread evenly over as many test files."""
    files: dict[str, str] = {"synpkg/__init__.py": "", "tests/__init__.py": "", "pytest.ini": "[pytest]\n"}
    for i in range(n_files):
        files[f"synpkg/mod_{i:04d}.py"] = SOURCE.format(i=i)
        per_file = n_tests // n_files + (1 if i < n_tests % n_files else 0)
        lines = ["import pytest\n", f"from synpkg import mod_{i:04d} as m\n"]
        for k in range(per_file):
            body = TEST_BODIES[(i + k) % len(TEST_BODIES)]
            lines.append(f"\n\ndef test_mod_{i:04d}_case_{k:03d}():\n    {body}\n")
        files[f"tests/test_mod_{i:04d}.py"] = "".join(lines)
    files["mcptest.yaml"] = textwrap.dedent("""\
        version: 1
        source: [synpkg]
        coverage:
          branch: true
          overall: {line: 50, branch: 30}
          files:
            "synpkg/mod_*.py": {line: 50}
        suites:
          bench: {paths: [tests]}
        report: {dir: .mcptest}
        """)
    _write(root, files)
    return root


CPU_SOURCE = '''\
"""Generated CPU-bound code with branches, for the parallel benchmark."""


def crunch(n, seed):
    total = 0
    for i in range(n):
        v = (i * 2654435761 + seed) % 1000
        if v < 250:
            total += v
        elif v < 500:
            total -= v // 2
        elif v % 3 == 0:
            total ^= v
        else:
            total += 1
    return total


def unused(x):
    if x:
        return 1
    return 0
'''

CALIBRATE = '''\
import time
from cpupkg.work import crunch

start = time.perf_counter()
crunch(200_000, 1)
print(time.perf_counter() - start)
'''


def make_cpu_project(root: Path, seconds: float, env: dict[str, str]) -> tuple[Path, int]:
    """A suite of PARALLEL_TESTS CPU-bound tests that takes about ``seconds`` serially under coverage."""
    _write(root, {"cpupkg/__init__.py": "", "cpupkg/work.py": CPU_SOURCE, "calibrate.py": CALIBRATE,
                  "pytest.ini": "[pytest]\n"})
    out = subprocess.run([sys.executable, "-m", "coverage", "run", "--branch", "--source=cpupkg",
                          f"--data-file={root / 'calibrate.coverage'}", "calibrate.py"],
                         cwd=root, env=env, capture_output=True, text=True, check=True)
    per_iteration = float(out.stdout.strip()) / 200_000
    # pytest, coverage start-up and the JSON report cost about a second of the budget
    n = max(1_000, int(max(seconds - 1.0, 0.5) / PARALLEL_TESTS / per_iteration))
    files: dict[str, str] = {}
    per_file = PARALLEL_TESTS // 8
    for f in range(8):
        body = "from cpupkg.work import crunch\n"
        for k in range(per_file):
            body += f"\n\ndef test_crunch_{f}_{k}():\n    assert isinstance(crunch({n}, {f * 100 + k}), int)\n"
        files[f"tests/test_cpu_{f}.py"] = body
    files["mcptest.yaml"] = textwrap.dedent("""\
        version: 1
        source: [cpupkg]
        coverage: {branch: true, overall: {line: 50}}
        suites:
          cpu: {paths: [tests]}
        report: {dir: .mcptest}
        """)
    _write(root, files)
    return root, n


def bridges_config(root: Path) -> Path:
    """A config with two bridges on loopback ports that nothing listens on."""
    ports = []
    socks = []
    for _ in range(2):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        socks.append(s)
    for s in socks:  # closed: connecting is refused at once
        s.close()
    _write(root, {"pkg/__init__.py": "", "tests/test_nothing.py": "def test_nothing():\n    assert True\n",
                  "mcptest.yaml": textwrap.dedent(f"""\
        version: 1
        source: [pkg]
        suites:
          unit: {{paths: [tests]}}
        bridges:
          go: {{url: "http://127.0.0.1:{ports[0]}", health: /health}}
          baileys: {{url: "http://127.0.0.1:{ports[1]}", health: /health}}
        """)})
    return root / "mcptest.yaml"


# --- running and timing ---------------------------------------------------------------------------


def clean_env(pycache: Path | None) -> dict[str, str]:
    """The caller's environment without what would leak into the measured runs (an outer mcptest or coverage).

    With ``pycache``, bytecode caching is on (as on a developer's machine, whatever PYTHONDONTWRITEBYTECODE the
    caller has) and every .pyc, pytest's rewritten test modules included, goes under that folder, so that
    neither the projects nor the installed packages get written to.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("MCPTEST_", "PYTEST_", "COV_CORE_")) and k != "COVERAGE_PROCESS_START"}
    env["COLUMNS"] = "120"
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


def mcptest_cmd() -> list[str]:
    """The installed console script next to this interpreter (what users run), else ``python -m mcptest``."""
    script = Path(sys.executable).parent / "mcptest"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mcptest"]


@dataclass
class Step:
    """One timed invocation: one or more commands run one after the other in ``cwd``."""

    commands: list[list[str]]
    cwd: Path
    ok_codes: tuple[int, ...] = (0,)
    before: Callable[[], None] | None = None
    after: Callable[[], None] | None = None
    env: dict[str, str] | None = None  # added to the environment of this step only


@dataclass
class Timings:
    """Wall times and CPU times (user + sys of the whole process tree) per tool, in run order."""

    runs: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)
    notes: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def median(self, tool: str) -> float:
        return statistics.median(self.runs[tool])

    def cpu_median(self, tool: str) -> float:
        return statistics.median(self.cpu[tool])


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_step(name: str, step: Step, env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run ``step``; its wall time and the CPU time of its processes (children waited for are included)."""
    if step.before is not None:
        step.before()
    cpu = _children_cpu()
    start = time.perf_counter()
    for cmd in step.commands:
        with open(log, "wb") as out:
            code = subprocess.run(cmd, cwd=step.cwd, env={**env, **(step.env or {})}, stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False).returncode
        if code not in step.ok_codes:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-25:])
            raise SystemExit(f"perf: {name}: {' '.join(cmd)} exited {code} in {step.cwd}\n{tail}")
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu
    if step.after is not None:
        step.after()
    return elapsed, cpu


def interleave(label: str, steps: dict[str, Step], env: dict[str, str], repeats: int, warmup: bool,
               scratch: Path, notes: dict[str, Callable[[], dict[str, Any]]] | None = None) -> Timings:
    """Run every step ``repeats`` times, rotating their order each round; one untimed round first if ``warmup``."""
    names = list(steps)
    timings = Timings(runs={n: [] for n in names}, cpu={n: [] for n in names}, notes={n: [] for n in names})
    log = scratch / "last-run.log"
    if warmup:
        for name in names:
            run_step(name, steps[name], env, log)
    for r in range(repeats):
        order = names[r % len(names):] + names[:r % len(names)]
        for name in order:
            elapsed, cpu = run_step(name, steps[name], env, log)
            timings.runs[name].append(elapsed)
            timings.cpu[name].append(cpu)
            if notes and name in notes:
                timings.notes[name].append(notes[name]())
            progress(f"{label}: {name} {elapsed:.2f} s wall, {cpu:.2f} s CPU (round {r + 1}/{repeats})")
    return timings


def progress(text: str) -> None:
    print(f"perf: {text}", file=sys.stderr, flush=True)


def latest(root: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((root / ".mcptest" / "latest.json").read_text(encoding="utf-8"))
    return data


def split_of(root: Path) -> Callable[[], dict[str, Any]]:
    """Reads the last mcptest record of ``root``: time inside the test process and in mcptest's own run."""

    def read() -> dict[str, Any]:
        record = latest(root)
        return {"record": record["duration"], "tests": sum(s["duration"] for s in record["suites"]),
                "total": record["counts"]["total"]}

    return read


def rmtree_of(*paths: Path) -> Callable[[], None]:
    def clean() -> None:
        for path in paths:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    return clean


def tool_steps(root: Path, package: str, paths: list[str], mcptest_args: list[str],
               tools: Sequence[str], alt: Path | None = None) -> dict[str, Step]:
    """The compared commands for one project; each starts from no coverage data and no history."""
    py = sys.executable
    fresh = rmtree_of(root / ".coverage", root / "coverage.json", root / ".mcptest")
    all_steps = {
        # pytest-cov as users run it: its default terminal report (a per-file table) is part of the cost
        "pytest-cov": Step([[py, "-m", "pytest", f"--cov={package}", "--cov-branch", *paths]], root, before=fresh),
        # the same without the terminal report: the measurement alone
        "pytest-cov-noreport": Step([[py, "-m", "pytest", f"--cov={package}", "--cov-branch", "--cov-report=",
                                      *paths]], root, before=fresh),
        "coverage": Step([[py, "-m", "coverage", "run", "--branch", f"--source={package}", "-m", "pytest", *paths],
                          [py, "-m", "coverage", "json", "-o", "coverage.json"]], root, before=fresh),
        "mcptest": Step([[*mcptest_cmd(), "run", *mcptest_args]], root, before=fresh),
    }
    steps = {name: all_steps[name] for name in tools}
    if alt is not None:  # another mcptest checkout, to measure a change before/after in the same rounds
        steps["mcptest-alt"] = Step([[py, "-m", "mcptest", "run", *mcptest_args]], root, before=fresh,
                                    env={"PYTHONPATH": str(alt)})
    return steps


# --- sections -------------------------------------------------------------------------------------


@dataclass
class Figures:
    machine: dict[str, Any] = field(default_factory=dict)
    command: str = ""
    elapsed: float = 0.0
    quick: bool = False
    repeats: int = 0
    compare: list[dict[str, Any]] = field(default_factory=list)
    other: list[dict[str, Any]] = field(default_factory=list)
    split: list[dict[str, Any]] = field(default_factory=list)
    mcptest_alt: str | None = None


def verdict(ok: bool, quick: bool) -> str:
    if quick:
        return "n/a (quick)"
    return "met" if ok else "MISSED"


def compare_row(label: str, tests: int, timings: Timings, quick: bool) -> dict[str, Any]:
    row: dict[str, Any] = {"benchmark": label, "tests": tests, "medians": {}, "cpu_medians": {},
                           "runs": timings.runs, "cpu_runs": timings.cpu}
    for tool in timings.runs:
        row["medians"][tool] = timings.median(tool)
        row["cpu_medians"][tool] = timings.cpu_median(tool)
    c = row["cpu_medians"]
    if "mcptest" in c and "pytest-cov" in c:
        row["cpu_ratio_pytest_cov"] = c["mcptest"] / c["pytest-cov"]
    m = row["medians"]
    if "mcptest-alt" in m and "pytest-cov" in m:
        row["ratio_alt_pytest_cov"] = m["mcptest-alt"] / m["pytest-cov"]
        row["cpu_ratio_alt_pytest_cov"] = c["mcptest-alt"] / c["pytest-cov"]
    if "mcptest" in m and "pytest-cov" in m:
        row["ratio_pytest_cov"] = m["mcptest"] / m["pytest-cov"]
        row["verdict"] = verdict(row["ratio_pytest_cov"] <= TARGET_RATIO, quick)
    if "mcptest" in m and "coverage" in m:
        row["ratio_coverage"] = m["mcptest"] / m["coverage"]
    return row


def split_row(label: str, timings: Timings, tool: str = "mcptest") -> dict[str, Any] | None:
    notes = timings.notes.get(tool) or []
    if not notes:
        return None
    wall = timings.runs[tool]
    return {
        "benchmark": label,
        "wall": statistics.median(wall),
        "tests": statistics.median(n["tests"] for n in notes),
        "after_tests": statistics.median(n["record"] - n["tests"] for n in notes),
        "outside_record": statistics.median(w - n["record"] for w, n in zip(wall, notes, strict=True)),
    }


def add_splits(figures: Figures, label: str, timings: Timings) -> None:
    for tool in ("mcptest", "mcptest-alt"):
        row = split_row(label if tool == "mcptest" else f"{label}, mcptest-alt", timings, tool)
        if row:
            figures.split.append(row)


def section_sizes(args: argparse.Namespace, env: dict[str, str], scratch: Path, figures: Figures) -> None:
    for size in args.sizes:
        n_files, n_tests = SIZES[size]
        root = make_project(scratch / f"proj-{size}", n_files, n_tests)
        steps = tool_steps(root, "synpkg", ["tests"], ["bench"], args.tools, args.mcptest_alt)
        notes: dict[str, Callable[[], dict[str, Any]]] = {
            t: split_of(root) for t in ("mcptest", "mcptest-alt") if t in steps}
        timings = interleave(size, steps, env, args.repeats, not args.quick, scratch, notes)
        label = f"{size} ({n_files} files, {n_tests} tests)"
        figures.compare.append(compare_row(label, n_tests, timings, args.quick))
        add_splits(figures, label, timings)


def section_bundled(args: argparse.Namespace, env: dict[str, str], scratch: Path, figures: Figures) -> None:
    root = scratch / "bundled"
    for name in ("whatsapp_mcp", "suites"):
        shutil.copytree(REPO / name, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
                        dirs_exist_ok=True)
    shutil.copy(REPO / "mcptest.yaml", root / "mcptest.yaml")
    if args.quick:  # the smallest module's tests only
        paths, mcptest_args, label = ["suites/unit/test_clients.py"], ["unit", "--module", "clients"], \
            "bundled (suites/unit/test_clients.py)"
    else:
        paths, mcptest_args, label = ["suites/unit"], ["unit"], "bundled (suites/unit)"
    tools = [t for t in args.tools if t != "pytest-cov-noreport" and not (args.quick and t == "coverage")]
    steps = tool_steps(root, "whatsapp_mcp", paths, mcptest_args, tools, args.mcptest_alt)
    notes: dict[str, Callable[[], dict[str, Any]]] = {
        t: split_of(root) for t in ("mcptest", "mcptest-alt") if t in steps}
    timings = interleave("bundled", steps, env, args.repeats, not args.quick, scratch, notes)
    # from the notes: another tool may have run last and cleared .mcptest/
    tests = next((n[-1]["total"] for t, n in timings.notes.items() if n), 0)
    figures.compare.append(compare_row(label, tests, timings, args.quick))
    add_splits(figures, label, timings)


def section_contexts(args: argparse.Namespace, env: dict[str, str], scratch: Path, figures: Figures) -> None:
    py = sys.executable
    for size in args.contexts_sizes:
        n_files, n_tests = SIZES[size]
        root = scratch / f"proj-{size}"
        if not root.exists():
            make_project(root, n_files, n_tests)
        fresh = rmtree_of(root / ".coverage", root / ".mcptest")
        label = f"{size} ({n_files} files, {n_tests} tests)"
        # quick: the plain runs of this project in the sizes section serve as the base (fewer runs, same figure)
        reuse = next((r for r in figures.compare if r["benchmark"] == label), None) if args.quick else None
        if reuse is not None and not {"mcptest", "pytest-cov"} <= set(reuse["medians"]):
            reuse = None
        steps = {
            "mcptest": Step([[*mcptest_cmd(), "run", "bench"]], root, before=fresh),
            "mcptest --contexts": Step([[*mcptest_cmd(), "run", "bench", "--contexts"]], root, before=fresh),
            "pytest-cov": Step([[py, "-m", "pytest", "--cov=synpkg", "--cov-branch", "tests"]], root, before=fresh),
            "pytest-cov --cov-context=test": Step([[py, "-m", "pytest", "--cov=synpkg", "--cov-branch",
                                                    "--cov-context=test", "tests"]], root, before=fresh),
        }
        if reuse is not None:
            del steps["mcptest"], steps["pytest-cov"]
        notes = {"mcptest --contexts": split_of(root), "mcptest": split_of(root)}
        timings = interleave(f"contexts {size}", steps, env, args.repeats, not args.quick, scratch,
                             {k: v for k, v in notes.items() if k in steps})
        ctx, cov_ctx = timings.median("mcptest --contexts"), timings.median("pytest-cov --cov-context=test")
        if reuse is not None:
            base, cov_base = reuse["medians"]["mcptest"], reuse["medians"]["pytest-cov"]
        else:
            base, cov_base = timings.median("mcptest"), timings.median("pytest-cov")
        figures.other.append({
            "figure": f"--contexts extra cost, {label}",
            "value": f"{ctx - base:+.2f} s ({(ctx / base - 1) * 100:+.0f} %): {base:.2f} s -> {ctx:.2f} s; "
                     f"pytest-cov --cov-context=test: {cov_ctx - cov_base:+.2f} s "
                     f"({cov_base:.2f} s -> {cov_ctx:.2f} s); mcptest --contexts / pytest-cov contexts "
                     f"{ctx / cov_ctx:.2f}x",
            "target": "-", "verdict": "-",
            "data": {"mcptest": base, "mcptest_contexts": ctx, "pytest_cov": cov_base, "pytest_cov_contexts": cov_ctx},
        })
        row = split_row(f"{label}, --contexts", timings, "mcptest --contexts")
        if row:
            figures.split.append(row)


def section_startup(args: argparse.Namespace, env: dict[str, str], scratch: Path, figures: Figures) -> None:
    config = bridges_config(scratch / "bridges")
    repeats = max(args.repeats, 1) if args.quick else max(args.repeats * 2, 5)
    steps = {
        "mcptest --help": Step([[*mcptest_cmd(), "--help"]], scratch),
        # exit 3: both bridges are unreachable, which is what is measured
        "mcptest bridges check": Step([[*mcptest_cmd(), "bridges", "check", "-c", str(config)]], config.parent,
                                      ok_codes=(3,)),
    }
    timings = interleave("startup", steps, env, repeats, not args.quick, scratch)
    out = subprocess.run([*mcptest_cmd(), "bridges", "check", "--json", "-c", str(config)], cwd=config.parent,
                         env=env, capture_output=True, text=True, check=False)
    statuses = sorted(p["status"] for p in json.loads(out.stdout or "[]"))
    help_s, check_s = timings.median("mcptest --help"), timings.median("mcptest bridges check")
    figures.other.append({"figure": "start-up: mcptest --help", "value": f"{help_s:.3f} s",
                          "target": f"< {TARGET_HELP} s", "verdict": verdict(help_s < TARGET_HELP, args.quick),
                          "data": {"median": help_s, "runs": timings.runs["mcptest --help"]}})
    figures.other.append({"figure": "preflight: mcptest bridges check, 2 unreachable bridges",
                          "value": f"{check_s:.3f} s (statuses: {', '.join(statuses)}, exit {out.returncode})",
                          "target": f"< {TARGET_PREFLIGHT:g} s",
                          "verdict": verdict(check_s < TARGET_PREFLIGHT and statuses == ["unreachable"] * 2,
                                             args.quick),
                          "data": {"median": check_s, "runs": timings.runs["mcptest bridges check"]}})


def per_file(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    keep = ("statements", "covered_lines", "branches", "covered_branches")
    return {f["path"]: {k: f["totals"][k] for k in keep} for f in (record.get("coverage") or {}).get("files", [])}


def section_parallel(args: argparse.Namespace, env: dict[str, str], scratch: Path, figures: Figures) -> None:
    if args.quick:  # a 20 s suite is the point of this section: not measured in a smoke run
        skipped = "not measured (quick mode; run --only parallel)"
        figures.other.append({"figure": "parallel: mcptest run -n 2 vs serial, CPU-bound suite", "value": skipped,
                              "target": f">= {TARGET_SPEEDUP}x", "verdict": verdict(False, True), "data": None})
        figures.other.append({"figure": "parallel: pytest-cov -n 2 vs serial, same suite (reference)",
                              "value": skipped, "target": "-", "verdict": "-", "data": None})
        figures.other.append({"figure": "parallel: per-file numbers of -n 2 equal serial", "value": skipped,
                              "target": "equal", "verdict": verdict(False, True), "data": None})
        return
    seconds = args.parallel_seconds
    root, n = make_cpu_project(scratch / "cpu", seconds, env)
    py = sys.executable
    fresh = rmtree_of(root / ".mcptest")
    records: dict[str, list[dict[str, dict[str, Any]]]] = {"serial": [], "-n 2": []}

    def keep(name: str) -> Callable[[], None]:
        return lambda: records[name].append(per_file(latest(root)))

    steps = {
        "serial": Step([[*mcptest_cmd(), "run", "cpu"]], root, before=fresh, after=keep("serial")),
        "-n 2": Step([[*mcptest_cmd(), "run", "cpu", "-n", "2"]], root, before=fresh, after=keep("-n 2")),
        # the same suite under pytest-cov: how far -n 2 gets without mcptest, on the same machine, same rounds
        "pytest-cov serial": Step([[py, "-m", "pytest", "--cov=cpupkg", "--cov-branch", "tests"]], root,
                                  before=rmtree_of(root / ".coverage")),
        "pytest-cov -n 2": Step([[py, "-m", "pytest", "--cov=cpupkg", "--cov-branch", "-n", "2", "tests"]], root,
                                before=rmtree_of(root / ".coverage")),
    }
    timings = interleave("parallel", steps, env, args.parallel_repeats, False, scratch)
    serial, parallel = timings.median("serial"), timings.median("-n 2")
    speedup = serial / parallel
    paired = ", ".join(f"{a / b:.2f}x" for a, b in zip(timings.runs["serial"], timings.runs["-n 2"], strict=True))
    cov_serial, cov_parallel = timings.median("pytest-cov serial"), timings.median("pytest-cov -n 2")
    cov_paired = ", ".join(f"{a / b:.2f}x" for a, b in zip(timings.runs["pytest-cov serial"],
                                                           timings.runs["pytest-cov -n 2"], strict=True))
    reference = records["serial"][0]
    equal = all(r == reference for r in records["serial"] + records["-n 2"]) and bool(reference)
    enough = serial >= 20
    figures.other.append({
        "figure": "parallel: mcptest run -n 2 vs serial, CPU-bound suite",
        "value": f"{speedup:.2f}x faster (serial {serial:.2f} s, -n 2 {parallel:.2f} s; {PARALLEL_TESTS} tests, "
                 f"crunch({n}); paired rounds {paired})"
                 + ("" if enough else "; serial under 20 s, raise --parallel-seconds"),
        "target": f">= {TARGET_SPEEDUP}x", "verdict": verdict(speedup >= TARGET_SPEEDUP and enough, args.quick),
        "data": {"serial": serial, "parallel": parallel, "runs": timings.runs},
    })
    figures.other.append({
        "figure": "parallel: pytest-cov -n 2 vs serial, same suite (reference)",
        "value": f"{cov_serial / cov_parallel:.2f}x faster (serial {cov_serial:.2f} s, -n 2 {cov_parallel:.2f} s; "
                 f"paired rounds {cov_paired})",
        "target": "-", "verdict": "-", "data": {"serial": cov_serial, "parallel": cov_parallel},
    })
    files = ", ".join(f"{p} {v['covered_lines']}/{v['statements']} lines {v['covered_branches']}/{v['branches']} "
                      f"branches" for p, v in sorted(reference.items()) if v["statements"])
    figures.other.append({
        "figure": "parallel: per-file numbers of -n 2 equal serial",
        "value": ("yes" if equal else "NO") + f" ({len(reference)} files; {files})",
        "target": "equal", "verdict": "met" if equal else "MISSED",
        "data": {"equal": equal, "serial": records["serial"], "parallel": records["-n 2"]},
    })


def prime(env: dict[str, str], scratch: Path) -> None:
    """Quick mode has no warm-up round: one untimed mcptest run fills the fresh bytecode cache for every tool
    (pytest, its plugins, coverage.py, mcptest), so that no tool's single round pays for compiling them."""
    root = make_project(scratch / "proj-prime", *SIZES["tiny"])
    subprocess.run([*mcptest_cmd(), "run", "bench"], cwd=root, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, check=False)
    progress("quick: bytecode cache primed")


# --- machine and output ---------------------------------------------------------------------------


def version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine(env: dict[str, str]) -> dict[str, Any]:
    probe = ("import coverage; c = coverage.Coverage(branch=True, data_file=None); c.start(); "
             "info = dict(c.sys_info()); c.stop(); print(info['core'])")
    core = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False)
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": sys.version.split()[0],
        "coverage": version("coverage"), "core": core.stdout.strip() or core.stderr.strip()[-200:],
        "COVERAGE_CORE": env.get("COVERAGE_CORE", "(unset)"),
        "bytecode": "cached under the scratch folder" if "PYTHONPYCACHEPREFIX" in env and not env.get(
            "PYTHONDONTWRITEBYTECODE") else "not cached (PYTHONDONTWRITEBYTECODE)" if env.get(
            "PYTHONDONTWRITEBYTECODE") else "cached",
        "pytest": version("pytest"), "pytest-cov": version("pytest-cov"), "pytest-xdist": version("pytest-xdist"),
        "mcptest": version("mcptest"), "platform": sys.platform, "load": " ".join(
            f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?",
    }


def render(f: Figures) -> str:
    m = f.machine
    lines = [
        "## Machine",
        "",
        f"- nproc {m['nproc']}, Python {m['python']}, coverage {m['coverage']} (core {m['core']}, "
        f"COVERAGE_CORE {m['COVERAGE_CORE']}), pytest {m['pytest']}, pytest-cov {m['pytest-cov']}, "
        f"pytest-xdist {m['pytest-xdist']}, mcptest {m['mcptest']}; load average at start {m['load']}; "
        f"bytecode {m['bytecode']}",
        f"- command: `{f.command}`",
        f"- medians of {f.repeats} interleaved rounds" + (" (quick mode: no warm-up round, targets not evaluated)"
                                                         if f.quick else ", after one untimed warm-up round")
        + f"; the benchmark took {f.elapsed:.0f} s",
        "",
    ]
    if f.compare:
        tools = [t for t in ALL_TOOLS if any(t in r["medians"] for r in f.compare)]
        heads = {"pytest-cov": "pytest-cov (term report)", "pytest-cov-noreport": "pytest-cov (--cov-report=)",
                 "coverage": "coverage run + json", "mcptest": "mcptest run",
                 "mcptest-alt": f"mcptest run from {f.mcptest_alt}"}
        lines += ["## Wall time, seconds (median)", "",
                  "| benchmark | " + " | ".join(heads[t] for t in tools)
                  + f" | mcptest / pytest-cov | mcptest / coverage | target <= {TARGET_RATIO:.2f}x |",
                  "|---|" + "---:|" * len(tools) + "---:|---:|---|"]
        for r in f.compare:
            cells = [f"{r['medians'][t]:.2f}" if t in r["medians"] else "-" for t in tools]
            ratio = f"{r['ratio_pytest_cov']:.3f}x" if "ratio_pytest_cov" in r else "-"
            ratio_cov = f"{r['ratio_coverage']:.3f}x" if "ratio_coverage" in r else "-"
            lines.append(f"| {r['benchmark']} | " + " | ".join(cells) + f" | {ratio} | {ratio_cov} | "
                         f"{r.get('verdict', '-')} |")
        lines += ["", "## CPU time (user + sys of all processes), seconds (median)", "",
                  "| benchmark | " + " | ".join(heads[t] for t in tools) + " | mcptest / pytest-cov |",
                  "|---|" + "---:|" * len(tools) + "---:|"]
        for r in f.compare:
            cells = [f"{r['cpu_medians'][t]:.2f}" if t in r["cpu_medians"] else "-" for t in tools]
            ratio = f"{r['cpu_ratio_pytest_cov']:.3f}x" if "cpu_ratio_pytest_cov" in r else "-"
            lines.append(f"| {r['benchmark']} | " + " | ".join(cells) + f" | {ratio} |")
        if any("ratio_alt_pytest_cov" in r for r in f.compare):
            lines += ["", "mcptest-alt / pytest-cov: " + "; ".join(
                f"{r['benchmark']}: wall {r['ratio_alt_pytest_cov']:.3f}x, CPU {r['cpu_ratio_alt_pytest_cov']:.3f}x"
                for r in f.compare if "ratio_alt_pytest_cov" in r)]
        lines.append("")
    if f.split:
        lines += ["## Where mcptest's time goes, seconds (median)", "",
                  "| benchmark | wall | test process (pytest under coverage, from the hand-over to its exit) | "
                  "after the test process (report, gates, record; the coverage report read while it was ending is "
                  "in the previous column) | outside the run (start-up, config, printing) |",
                  "|---|---:|---:|---:|---:|"]
        for s in f.split:
            lines.append(f"| {s['benchmark']} | {s['wall']:.2f} | {s['tests']:.2f} | {s['after_tests']:.2f} | "
                         f"{s['outside_record']:.2f} |")
        lines.append("")
    if f.other:
        lines += ["## Other figures", "", "| figure | value | target | verdict |", "|---|---|---|---|"]
        for o in f.other:
            lines.append(f"| {o['figure']} | {o['value']} | {o['target']} | {o['verdict']} |")
        lines.append("")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bench/perf.py", description=__doc__,
        epilog="Sections: " + ", ".join(SECTIONS) + ". Tools: " + ", ".join(TOOLS) + ". Sizes: "
        + ", ".join(f"{k} ({f} files, {t} tests)" for k, (f, t) in SIZES.items()) + ".",
        formatter_class=argparse.RawDescriptionHelpFormatter)

    def csv(allowed: Sequence[str]) -> Callable[[str], list[str]]:
        def parse(text: str) -> list[str]:
            items = [x.strip() for x in text.split(",") if x.strip()]
            bad = [x for x in items if x not in allowed]
            if bad or not items:
                raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(allowed)}")
            return items
        return parse

    parser.add_argument("--quick", action="store_true",
                        help="smoke run in about 10 s: size 'tiny', one round after one untimed run that fills the "
                             "bytecode cache, bundled suite narrowed to "
                             "its smallest module and without coverage run, --contexts against the tiny runs of the "
                             "sizes section, no parallel runs; targets are not evaluated")
    parser.add_argument("--only", type=csv(SECTIONS), default=list(SECTIONS), metavar="SECTIONS",
                        help="sections to run (default: all)")
    parser.add_argument("--sizes", type=csv(list(SIZES)), default=None, metavar="SIZES",
                        help="generated project sizes (default: small,large; quick: tiny)")
    parser.add_argument("--contexts-sizes", type=csv(list(SIZES)), default=None, metavar="SIZES",
                        help="sizes the --contexts cost is measured on (default: small,large; quick: tiny)")
    parser.add_argument("--tools", type=csv(TOOLS), default=None, metavar="TOOLS",
                        help="tools compared in the sizes and bundled sections (default: all; quick: all but "
                             "pytest-cov-noreport)")
    parser.add_argument("--repeats", type=int, default=None, metavar="N",
                        help="timed rounds per comparison (default: 5; quick: 1)")
    parser.add_argument("--parallel-seconds", type=float, default=24.0, metavar="S",
                        help="serial duration the CPU-bound suite is calibrated to (default: 24)")
    parser.add_argument("--parallel-repeats", type=int, default=3, metavar="N",
                        help="timed rounds of the parallel comparison (default: 3)")
    parser.add_argument("--mcptest-alt", type=Path, default=None, metavar="DIR",
                        help="also time 'python -m mcptest' with PYTHONPATH=DIR (a changed checkout), in the same "
                             "rounds, to measure a change before/after")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="keep the caller's PYTHONDONTWRITEBYTECODE (by default .pyc files are cached, under "
                             "the scratch folder)")
    parser.add_argument("--pytest-addopts", default="", metavar="OPTS",
                        help="PYTEST_ADDOPTS for every tool's runs alike (the caller's own is never passed on), "
                             "e.g. '-p no:hypothesispytest' to leave out a plugin none of the measured suites uses")
    parser.add_argument("--keep", type=Path, default=None, metavar="DIR",
                        help="generate the projects in DIR and keep them (default: a temporary folder)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write every figure as JSON")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.sizes = args.sizes or (["tiny"] if args.quick else ["small", "large"])
    args.contexts_sizes = args.contexts_sizes or (["tiny"] if args.quick else ["small", "large"])
    args.repeats = args.repeats or (1 if args.quick else 5)
    args.tools = args.tools or [t for t in TOOLS if not (args.quick and t == "pytest-cov-noreport")]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run(args, args.keep.resolve())
    with tempfile.TemporaryDirectory(prefix="mcptest-perf-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, scratch: Path) -> int:
    env = clean_env(None if args.no_bytecode_cache else scratch / "pycache")
    if args.pytest_addopts:
        env["PYTEST_ADDOPTS"] = args.pytest_addopts
    if any(t.startswith("pytest-cov") for t in args.tools) and version("pytest-cov") == "not installed":
        print("perf: pytest-cov is not installed (pip install pytest-cov), or leave it out with --tools",
              file=sys.stderr)
        return 2
    if args.mcptest_alt is not None:
        args.mcptest_alt = args.mcptest_alt.resolve()
    figures = Figures(machine=machine(env), quick=args.quick, repeats=args.repeats,
                      mcptest_alt=None if args.mcptest_alt is None else str(args.mcptest_alt),
                      command=" ".join(["python", "bench/perf.py", *args.argv]))
    sections = {"sizes": section_sizes, "bundled": section_bundled, "contexts": section_contexts,
                "startup": section_startup, "parallel": section_parallel}
    start = time.perf_counter()
    if args.quick:
        prime(env, scratch)
    for name in args.only:
        sections[name](args, env, scratch, figures)
    figures.elapsed = time.perf_counter() - start
    print(render(figures))
    if args.json:
        args.json.write_text(json.dumps(figures.__dict__, indent=2, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
