"""``mcptest combine``, its input: the shard bundles found, read and checked to be the shards of one split.

Bundles are checked before anything is merged: one suite, one commit, one config, one split (the same
shard count and the same split digest) and every shard from 1 to N exactly once; every refusal names the
bundles and what differs (UsageError).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcptest import exitcodes, shard
from mcptest.config_model import Config
from mcptest.errors import UsageError
from mcptest.history import History
from mcptest.model import RunRecord


@dataclass
class Bundle:
    folder: Path
    manifest: dict[str, Any]
    record: RunRecord

    @property
    def index(self) -> int:
        return int(self.manifest["index"])

    @property
    def count(self) -> int:
        return int(self.manifest["count"])

    @property
    def name(self) -> str:
        return f"{self.folder} (shard {self.index}/{self.count})"

    @property
    def data(self) -> Path | None:
        name = self.manifest.get("coverage")
        return self.folder / name if isinstance(name, str) and name else None


def find_bundles(paths: Sequence[Path]) -> list[Path]:
    """Bundle folders: each path given is one (it has ``bundle.json``) or holds them one level down."""
    found: list[Path] = []
    for path in paths:
        if (path / shard.MANIFEST).is_file():
            found.append(path)
        elif path.is_dir():
            inside = sorted(child for child in path.iterdir() if (child / shard.MANIFEST).is_file())
            if not inside:
                raise UsageError(f"{path}: no shard bundle ({shard.MANIFEST}) in it or in its subfolders")
            found += inside
        else:
            raise UsageError(f"{path}: no such shard bundle folder")
    if not found:
        raise UsageError("give the shard bundle folders to combine")
    return found


def load(folder: Path) -> Bundle:
    """One bundle: its manifest and its record (checked against the record's schema)."""
    path = folder / shard.MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path} is not a readable shard bundle manifest: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("kind") != shard.BUNDLE_KIND:
        raise UsageError(f"{path} is not an mcptest shard bundle manifest")
    if manifest.get("format") != shard.BUNDLE_FORMAT:
        raise UsageError(f"{path}: bundle format {manifest.get('format')!r} is not {shard.BUNDLE_FORMAT}")
    for key in ("index", "count"):
        if isinstance(manifest.get(key), bool) or not isinstance(manifest.get(key), int):
            raise UsageError(f"{path}: {key} is not a number")
    loaded = History(folder).read(folder / str(manifest.get("record") or shard.RECORD), "shard record")
    if loaded.record is None:
        raise UsageError(loaded.warning or f"{folder}: the bundle has no run record")
    record = loaded.record
    if record.shard is None:
        raise UsageError(f"{folder}: its record is not the record of a shard (run with --shard K/N)")
    return Bundle(folder, manifest, record)


def load_all(folders: Sequence[Path]) -> list[Bundle]:
    return [load(folder) for folder in folders]


def check(bundles: Sequence[Bundle], config: Config) -> None:
    """Refuse bundles that are not the shards of one split of one suite, commit and config (UsageError)."""
    first = bundles[0]

    def differ(what: str, key: Any, show: Any = str) -> None:
        values: dict[Any, list[Bundle]] = {}
        for b in bundles:
            values.setdefault(key(b), []).append(b)
        if len(values) > 1:
            listed = "; ".join(
                f"{show(value):.60} in {', '.join(b.name for b in group)}" for value, group in values.items()
            )
            raise UsageError(f"cannot combine shards of different {what}: {listed}")

    differ("suites", lambda b: b.manifest.get("suite"))
    differ("shard counts (splits into a different number of parts)", lambda b: b.count)
    seen: dict[int, Bundle] = {}
    for b in bundles:
        if b.index in seen:
            raise UsageError(f"shard {b.index}/{b.count} is given twice: {seen[b.index].folder} and {b.folder}")
        seen[b.index] = b
    missing = [k for k in range(1, first.count + 1) if k not in seen]
    if missing:
        shown = ", ".join(f"{k}/{first.count}" for k in missing)
        have = ", ".join(f"{k}/{first.count}" for k in sorted(seen))
        raise UsageError(f"shard(s) {shown} missing (given: {have}); combine needs every shard of the split")
    differ("commits", lambda b: b.manifest.get("commit"))
    differ("configs (mcptest.yaml differs)", lambda b: b.manifest.get("config_sha256"))
    here = shard.config_digest(config)
    if first.manifest.get("config_sha256") != here:
        raise UsageError(
            f"the shards were made with another mcptest.yaml than {config.path}: combine in a checkout of the "
            "commit the shards ran at"
        )
    differ("selections (-k, --module or pytest arguments differ)", lambda b: _selection_key(b.record))
    differ(
        "splits (the shards balanced different recorded durations: give every shard the same baseline)",
        lambda b: (b.record.shard.digest, b.record.shard.durations_from) if b.record.shard else ("", None),
        lambda value: f"split {value[0][:12]} ({f'durations of run {value[1]}' if value[1] else 'by count'})",
    )
    for b in bundles:
        info = b.record.shard
        if info is not None and not info.digest and b.record.exit_code != exitcodes.INTERRUPTED:
            raise UsageError(f"{b.name} never split the suite (its tests were not collected); run that shard again")
    infos = [b.record.shard for b in bundles if b.record.shard is not None]
    collected = {info.collected for info in infos}
    if len(collected) == 1 and sum(info.selected for info in infos) != next(iter(collected)):
        parts = " + ".join(str(info.selected) for info in infos)
        raise UsageError(
            f"the shards hold {parts} tests, not the {next(iter(collected))} the suite collected: "
            "they are not the parts of one split"
        )
    owner: dict[str, Bundle] = {}
    for b in bundles:
        for test in b.record.all_tests():
            if "collection-error" in test.markers:
                continue
            other = owner.setdefault(test.nodeid, b)
            if other is not b:
                raise UsageError(f"test {test.nodeid} ran in two shards: {other.name} and {b.name}")


def check_head(bundles: Sequence[Bundle], head: str | None) -> None:
    """The patch is read from this checkout: it must be at the commit the shards ran at."""
    commit = bundles[0].manifest.get("commit")
    if commit and head and commit != head:
        raise UsageError(
            f"--diff-base: the shards ran at commit {str(commit)[:12]} but HEAD here is {head[:12]}: check out "
            "the commit the shards ran at"
        )


def _selection_key(record: RunRecord) -> tuple[Any, ...]:
    s = record.selection
    return (s.suite, tuple(s.modules), s.keyword, tuple(s.pytest_args), s.contexts, s.workers)
