"""Split one suite over several machines: ``mcptest run SUITE --shard K/N`` runs the K-th of N parts.

The split is made inside the test process, from what pytest collected (``mcptest.shard_plugin``): every
collected test goes to exactly one part, and the same tests with the same durations always give the same
parts, whatever the machine, the checkout folder or the collection order. With recorded durations (the
baseline, else the newest whole run of the suite in the history) the parts are balanced by time as
pytest-split does: longest test first, each to the part with the least time so far; a test without a
recorded duration counts the mean of the others. Without any, the tests are cut into N runs of
consecutive node ids of nearly equal count. The ``digest`` names the split itself (every test and its
part), so ``mcptest combine`` can prove that its shards were cut from one split.

A shard is a partial run (no coverage gate is judged) that writes a *bundle*: its record, its coverage
data with paths relative to the project folder, and a manifest (``bundle.json``). Kept free of heavy
imports: the plugin imports this module inside the user's test process.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mcptest.config_model import Config
    from mcptest.history import History
    from mcptest.model import RunRecord, Verdict

#: Variables the runner gives the test process: "K/N", the durations file, where the plugin says what it split.
SHARD_ENV = "MCPTEST_SHARD"
DURATIONS_ENV = "MCPTEST_SHARD_DURATIONS"
INFO_ENV = "MCPTEST_SHARD_INFO"
PLUGIN = "mcptest.shard_plugin"
#: How the shard's reason for being partial starts (``selection.partial_reasons``); combine takes it out.
REASON_PREFIX = "--shard "
BUNDLE_KIND = "mcptest-shard-bundle"
BUNDLE_FORMAT = 1
MANIFEST = "bundle.json"
RECORD = "record.json"
DATA = "coverage.data"
MAX_SHARDS = 1000

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")


def parse_spec(text: str) -> tuple[int, int]:
    """``"2/3"`` -> (2, 3); raises UsageError for anything but 1 <= K <= N <= 1000."""
    from mcptest.errors import UsageError

    match = _SPEC.match(text)
    if not match:
        raise UsageError(f"--shard {text!r} is not K/N (the K-th of N parts, e.g. --shard 2/3)")
    index, count = int(match.group(1)), int(match.group(2))
    if not 1 <= count <= MAX_SHARDS:
        raise UsageError(f"--shard {text}: N must be between 1 and {MAX_SHARDS}")
    if not 1 <= index <= count:
        raise UsageError(f"--shard {text}: K must be between 1 and N ({count})")
    return index, count


def split(nodeids: Sequence[str], durations: Mapping[str, float], count: int) -> list[list[str]]:
    """The ``count`` parts of ``nodeids`` (each sorted); deterministic for the same ids and durations."""
    unique = sorted(set(nodeids))
    known = {n: float(d) for n, d in durations.items() if n in set(unique) and _usable(d)}
    parts: list[list[str]] = [[] for _ in range(count)]
    if not known:
        size, extra = divmod(len(unique), count)
        start = 0
        for index in range(count):
            end = start + size + (1 if index < extra else 0)
            parts[index] = unique[start:end]
            start = end
        return parts
    mean = sum(known.values()) / len(known)
    heap = [(0.0, index) for index in range(count)]
    for nodeid in sorted(unique, key=lambda n: (-known.get(n, mean), n)):
        total, index = heapq.heappop(heap)
        parts[index].append(nodeid)
        heapq.heappush(heap, (total + known.get(nodeid, mean), index))
    return [sorted(part) for part in parts]


def _usable(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and value >= 0


def digest(parts: Sequence[Sequence[str]]) -> str:
    """A name for the split: equal for two shards exactly when they cut the same tests into the same parts."""
    h = hashlib.sha256()
    for index, part in enumerate(parts, start=1):
        for nodeid in part:
            h.update(f"{index}\t{nodeid}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def durations_of(record: RunRecord, suite: str) -> dict[str, float]:
    """The recorded duration of each test of ``suite`` in ``record`` (collection errors left out)."""
    return {
        t.nodeid: t.duration
        for s in record.suites
        if s.name == suite
        for t in s.tests
        if "collection-error" not in t.markers
    }


def durations_source(history: History, suite: str, *, look_back: int = 20) -> RunRecord | None:
    """The record whose durations balance the split: the baseline, else the newest whole run of the suite.

    Shards are partial runs, so running them one after another in one checkout does not change the choice:
    every shard of a split finds the same record. ``look_back``: how many stored runs are tried at most.
    """

    def usable(record: RunRecord | None) -> bool:
        if record is None or not record.complete or record.selection.partial:
            return False
        return any(s.name == suite and s.tests for s in record.suites)

    baseline = history.baseline()
    if usable(baseline):
        return baseline
    tried = 0
    for summary in reversed(history.index()):
        if not summary.complete or summary.partial or summary.suite not in (suite, "all"):
            continue
        record = history.get(summary.id)
        if usable(record):
            return record
        tried += 1
        if tried >= look_back:
            break
    return None


def read_info(path: Path) -> dict[str, Any] | None:
    """What the plugin wrote about its split (the last line: each xdist worker writes the same one)."""
    try:
        lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        info = json.loads(lines[-1]) if lines else None
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


@dataclass
class Stage:
    """The runner's hook of a shard run: record which part this is, and let an empty part pass.

    More shards than tests leaves some parts empty: pytest then collects nothing and coverage measures nothing,
    which would fail the run; a part that the split left empty passes, and says so.
    """

    suite: str
    index: int
    count: int
    info_file: Path
    durations_from: str | None

    def __call__(self, record: RunRecord, verdicts: list[Verdict], gated: bool) -> list[Verdict]:
        from mcptest.model import ShardInfo, Verdict

        info = read_info(self.info_file)
        if info is None:
            if any(v.kind == "interrupted" for v in verdicts):
                return verdicts
            record.shard = ShardInfo(self.index, self.count, 0, 0, "", self.durations_from)
            message = (
                f"suite {self.suite}: --shard {self.index}/{self.count}: the tests were never split "
                "(the shard plugin did not run in the test process), so this shard cannot be combined"
            )
            if any(not v.passed for v in verdicts):  # pytest did not get as far as its collection: said already
                record.warnings.append(message)
                return verdicts
            return [*verdicts, Verdict("process", f"suite:{self.suite}", "status", None, None, False, None, message)]
        collected, selected = int(info.get("collected", 0)), int(info.get("selected", 0))
        record.shard = ShardInfo(
            self.index, self.count, collected, selected, str(info.get("digest", "")), self.durations_from
        )
        if selected or not collected:
            return verdicts
        note = (
            f"suite {self.suite}: shard {self.index}/{self.count} holds none of the suite's {collected} test(s) "
            "(more shards than tests)"
        )
        out = []
        for v in verdicts:
            if not v.passed and v.kind in ("collection", "data"):
                v = Verdict(v.kind, v.target, v.metric, v.actual, v.required, True, v.rule, note)
            out.append(v)
        return out


def bundle_folder(config: Config, suite: str, index: int, count: int, out: Path | None) -> Path:
    """Where a shard's bundle goes: ``--out``, else ``<report dir>/shards/SUITE-K-of-N``."""
    return out if out is not None else config.report_dir / "shards" / f"{suite}-{index}-of-{count}"


def config_digest(config: Config) -> str:
    """The config file's bytes, hashed: shards made with different configs are not combined."""
    try:
        return hashlib.sha256(config.path.read_bytes()).hexdigest()
    except OSError:
        return ""


def relative_data(source: Path, dest: Path, root: Path) -> None:
    """Copy coverage data, with the paths of files under ``root`` made relative to it (another checkout
    folder, on another machine, maps them back to its own)."""
    from coverage import CoverageData

    part = CoverageData(basename=str(source))
    part.read()
    base = str(root.resolve()).rstrip(os.sep) + os.sep

    def relative(path: str) -> str:
        return path[len(base) :] if path.startswith(base) else path

    out = CoverageData(basename=str(dest))
    out.update(part, map_path=relative)
    out.write()


def write_bundle(folder: Path, config: Config, record: RunRecord, data_file: Path | None, *, created_at: str) -> Path:
    """Write the bundle (manifest, record, coverage data) into ``folder``, replacing an older one whole."""
    from mcptest.history import atomic_write_text

    assert record.shard is not None
    folder = folder.resolve()
    folder.parent.mkdir(parents=True, exist_ok=True)
    if folder.exists() and not (folder / MANIFEST).is_file() and any(folder.iterdir()):
        from mcptest.errors import UsageError

        raise UsageError(f"--out {folder}: the folder holds other files, not a shard bundle; give an empty or new one")
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        data = None
        if data_file is not None and data_file.exists():
            relative_data(data_file, staging / DATA, config.root)
            data = DATA
        git = record.meta.git
        manifest = {
            "kind": BUNDLE_KIND,
            "format": BUNDLE_FORMAT,
            "mcptest_version": record.meta.mcptest_version,
            "suite": record.selection.suite,
            "index": record.shard.index,
            "count": record.shard.count,
            "commit": git.commit if git else None,
            "dirty": git.dirty if git else None,
            "config_sha256": config_digest(config),
            "record": RECORD,
            "coverage": data,
            "root": str(config.root),
            "run_id": record.id,
            "created_at": created_at,
        }
        from mcptest.history import History

        atomic_write_text(staging / RECORD, History.dumps(record))
        atomic_write_text(staging / MANIFEST, json.dumps(manifest, indent=2) + "\n")
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}-old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(staging, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
