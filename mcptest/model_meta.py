"""The run record's context: its schema version, what the command line asked, the git state, the shard.

``ADDED_LATER`` marks the fields that records of this schema version may lack (see ``model.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = 1
#: Metadata of a field added after records of this schema version were first written: records written before
#: lack it, so the schema does not require it and reading fills in its default (a stored baseline stays usable).
ADDED_LATER: dict[str, bool] = {"added_later": True}


@dataclass
class Selection:
    """What the command line asked to run; ``partial`` when what pytest selected is narrower than the suite.

    ``partial_reasons`` says what narrowed it (``--module``, a ``-k`` that deselected tests, node ids ...).
    """

    suite: str
    modules: list[str] = field(default_factory=list)
    keyword: str | None = None
    pytest_args: list[str] = field(default_factory=list)
    contexts: bool = False
    preflight: bool = True
    partial: bool = False
    workers: str | None = None
    repeat: int = 1
    random_order: bool = False
    seed: int | None = None
    partial_reasons: list[str] = field(default_factory=list)


@dataclass
class GitInfo:
    commit: str | None = None
    branch: str | None = None
    dirty: bool | None = None


@dataclass
class Meta:
    schema_version: int = SCHEMA_VERSION
    mcptest_version: str = ""
    python: str = ""
    platform: str = ""
    command: list[str] = field(default_factory=list)
    cwd: str = ""
    config_path: str | None = None
    git: GitInfo | None = None


@dataclass
class ShardInfo:
    """One part of a suite split over several machines (``--shard K/N``); ``mcptest combine`` joins them."""

    index: int  # K, from 1
    count: int  # N
    collected: int  # tests of the suite before the split
    selected: int  # tests in this shard
    digest: str  # the split itself (every test and its shard), equal in every shard of one split
    durations_from: str | None = None  # the run whose test durations the split balanced; None: split by count
