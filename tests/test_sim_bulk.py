"""Bulk writes of the bridge simulators: one statement per table, the same rows and errors as one per message."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from mcptest.sim.behaviour import BaileysBridgeSim, FakeClock, GoBridgeSim, iso, to_unix


@pytest.fixture
def go() -> Iterator[GoBridgeSim]:
    sim = GoBridgeSim(clock=FakeClock())
    yield sim
    sim.close()


@pytest.fixture
def baileys() -> Iterator[BaileysBridgeSim]:
    sim = BaileysBridgeSim(clock=FakeClock())
    yield sim
    sim.close()


def batch(sim: GoBridgeSim, messages: list[Any]) -> tuple[int, Any]:
    response = sim.handle("POST", "/api/messages/batch", body=json.dumps({"messages": messages}).encode())
    return response.status, response.body


def rows(sim: GoBridgeSim | BaileysBridgeSim, table: str) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in sim.conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2")]


def test_batch_counts_duplicates_within_and_across_batches(go: GoBridgeSim) -> None:
    first = {"id": "a", "chat_jid": "1@g.us", "timestamp": 100}
    assert batch(go, [first])[1]["inserted_count"] == 1
    b_first, b_again = ({"id": "b", "chat_jid": "1@g.us", "timestamp": t} for t in (100, 5))
    again = [first, b_first, b_again]
    status, body = batch(go, [*again, {"id": "c", "chat_jid": "no-jid", "timestamp": 1}])
    assert status == 200
    assert (body["inserted_count"], body["duplicate_count"], body["failed_count"]) == (1, 2, 1)
    assert [(r["id"], r["timestamp"]) for r in go.stored()] == [("a", 100), ("b", 100)]  # the first b is kept
    assert rows(go, "chats") == [("1@g.us", "1@g.us", None)]


def test_batch_row_sqlite_cannot_bind_rolls_back_the_whole_batch(go: GoBridgeSim) -> None:
    good = {"id": "a", "chat_jid": "1@g.us", "timestamp": 100}
    bad = {"id": "b", "chat_jid": "2@g.us", "timestamp": 100, "sender": {"not": "text"}}
    status, body = batch(go, [good, bad])
    assert status == 500
    assert body["error_code"] == "DATABASE_ERROR" and "parameter 3" in body["message"]
    assert go.stored() == [] and rows(go, "chats") == []


def test_go_seed_constraint_failure_keeps_rows_before_it_and_its_chat(go: GoBridgeSim) -> None:
    messages = [
        {"id": "a", "chat_jid": "1@g.us", "timestamp": 100},
        {"id": "b", "chat_jid": None, "timestamp": 101},  # NOT NULL: fails as it did when inserted alone
        {"id": "c", "chat_jid": "3@g.us", "timestamp": 102},
    ]
    with pytest.raises(sqlite3.IntegrityError, match="NOT NULL"):
        go.seed({"messages": messages})
    go.conn.commit()
    assert [r["id"] for r in go.stored()] == ["a"]
    assert rows(go, "chats") == [("1@g.us", "1@g.us", None)]  # 3@g.us was never reached


def test_go_seed_malformed_timestamp_keeps_rows_before_it(go: GoBridgeSim) -> None:
    messages = [
        {"id": "a", "chat_jid": "1@g.us", "timestamp": "2024-05-01T10:00:00Z"},
        {"id": "b", "chat_jid": "2@g.us", "timestamp": "yesterday"},
        {"id": "c", "chat_jid": "3@g.us", "timestamp": 5},
    ]
    with pytest.raises(ValueError, match="yesterday"):
        go.seed({"messages": messages})
    go.conn.commit()
    assert [(r["id"], r["timestamp"]) for r in go.stored()] == [("a", 1714557600)]
    assert [r[0] for r in rows(go, "chats")] == ["1@g.us", "2@g.us"]  # b's chat came before its timestamp


def test_baileys_seed_failure_midway_keeps_rows_and_chats_before_it(baileys: BaileysBridgeSim) -> None:
    messages = [
        {"id": "a", "chat_jid": "1@g.us", "timestamp": 100},
        {"id": "b", "chat_jid": "2@g.us", "timestamp": 200, "content": ["no", "list"]},
        {"id": "c", "chat_jid": "3@g.us", "timestamp": 300},
    ]
    with pytest.raises(sqlite3.ProgrammingError):
        baileys.seed({"messages": messages, "history": {"1@g.us": [{"id": "h", "timestamp": 50}]}})
    baileys.conn.commit()
    assert [r["id"] for r in baileys.stored()] == ["a"]
    assert rows(baileys, "chats") == [("1@g.us", None)]
    assert rows(baileys, "history") == []  # the history comes after the messages


def test_baileys_fetch_older_moves_newest_first_and_removes_them_from_history(baileys: BaileysBridgeSim) -> None:
    history = [{"id": f"h{i}", "timestamp": 1_700_000_000 + i, "is_from_me": i == 2} for i in range(5)]
    baileys.seed({"history": {"1@g.us": history}})
    body = json.dumps({"chat_jid": "1@g.us", "count": 2, "oldest_timestamp_ms": 1_700_000_004_000}).encode()
    assert baileys.handle("POST", "/api/history/fetch-older", body=body).status == 200
    assert [(r["id"], r["is_from_me"]) for r in baileys.stored()] == [("h2", 1), ("h3", 0)]
    assert [r[1] for r in rows(baileys, "history")] == ["h0", "h1", "h4"]
    assert rows(baileys, "chats") == [("1@g.us", None)]


def test_kept_conversions_tell_bools_and_types_apart() -> None:
    assert to_unix(1) == 1.0
    with pytest.raises(ValueError, match="not a timestamp"):
        to_unix(True)
    assert to_unix("2024-05-01T10:00:00.000Z") == to_unix("2024-05-01T12:00:00+02:00") == 1714557600.0
    assert iso(1_700_000_000) == iso(1_700_000_000.0) == "2023-11-14T22:13:20.000Z"
    assert iso(1_700_000_000.5, millis=False) == "2023-11-14T22:13:20Z"
    assert iso(1_700_000_000.5) == "2023-11-14T22:13:20.500Z"


def schema_of(sim: GoBridgeSim | BaileysBridgeSim) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in sim.conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name")]


@pytest.mark.parametrize("make", [GoBridgeSim, BaileysBridgeSim])
def test_reset_in_memory_gives_the_tables_a_file_database_gets(make: Any, tmp_path: Any) -> None:
    memory, on_disk = make(clock=FakeClock()), make(db=str(tmp_path / "sim.db"), clock=FakeClock())
    try:
        for sim in (memory, on_disk):
            sim.seed({"messages": [{"id": "a", "chat_jid": "1@g.us", "timestamp": 100}]})
            sim.conn.execute("CREATE TABLE extra (x)")
            sim.reset()
            assert sim.stored() == []
            assert sim.state()["messages"] == 0
        assert schema_of(memory) == schema_of(on_disk)
        assert "extra" not in {row[1] for row in schema_of(memory)}
        memory.seed({"messages": [{"id": "b", "chat_jid": "2@g.us", "timestamp": 5}]})
        assert [r["id"] for r in memory.stored()] == ["b"]  # the copy is writable and grows
    finally:
        memory.close()
        on_disk.close()
