"""pytest plugin of ``mcptest run --shard K/N``: keep only this shard's part of the collected tests.

Loaded in the test process and in every xdist worker through ``PYTEST_PLUGINS`` when ``MCPTEST_SHARD`` is
set. It runs after every other selection (``-k``, ``-m``, ``--deselect``), so the split is of the tests the
suite would run, and writes what it did (how many tests were collected, how many this part keeps, the
digest of the split) to the file named by ``MCPTEST_SHARD_INFO``. Tests of other parts are left out
without a ``deselected`` report: they are not deselected by the user and run on another machine.
"""

from __future__ import annotations

import json
import os

import pytest

from mcptest import shard


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    spec = os.environ.get(shard.SHARD_ENV)
    if not spec:
        return
    index, count = (int(part) for part in spec.split("/", 1))
    durations: dict[str, float] = {}
    path = os.environ.get(shard.DURATIONS_ENV)
    if path:
        with open(path, encoding="utf-8") as stream:
            loaded = json.load(stream)
        durations = loaded if isinstance(loaded, dict) else {}
    ids = [item.nodeid for item in items]
    parts = shard.split(ids, durations, count)
    keep = set(parts[index - 1])
    items[:] = [item for item in items if item.nodeid in keep]
    info = {
        "collected": len(set(ids)),
        "selected": len(keep),
        "digest": shard.digest(parts),
        "by_duration": bool(durations),
    }
    target = os.environ.get(shard.INFO_ENV)
    if target:
        with open(target, "a", encoding="utf-8") as stream:
            stream.write(json.dumps(info) + "\n")
