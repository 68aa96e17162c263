"""What both bridge simulators keep their data with: the clock, timestamps, generated messages, SQLite.

Seeded timestamps are ISO 8601 strings or unix seconds (``to_unix``); answers carry UTC ISO 8601 with a
``Z`` (``iso``). The SQLite helpers insert many rows as one statement each while failing exactly as
row-by-row inserts would, and read large results as plain tuples.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], float]


class FakeClock:
    """A manual clock: call it for the time, ``advance``/``sleep`` to move it; never reads the wall clock."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = float(start)
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, float(seconds))

    sleep = advance



def to_unix(value: Any) -> float:
    """Unix seconds from an ISO 8601 / RFC 3339 string or a number (already seconds)."""
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return _parse_iso(value)
    raise ValueError(f"not a timestamp: {value!r}")


# Both conversions are pure and run once per message and direction: the same stamps come back with every
# page, seed and generated chat, so the last results are kept (bounded, keyed by type as well as value).
@functools.lru_cache(maxsize=1 << 16, typed=True)
def _parse_iso(value: str) -> float:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def iso(seconds: float, *, millis: bool = True) -> str:
    """UTC ISO 8601 with a ``Z`` suffix (milliseconds for Baileys, whole seconds for Go's RFC 3339)."""
    return _iso(seconds, millis)


@functools.lru_cache(maxsize=1 << 16, typed=True)
def _iso(seconds: float, millis: bool) -> str:
    stamp = datetime.fromtimestamp(seconds, tz=UTC).isoformat(
        timespec="milliseconds" if millis else "seconds"
    )
    return stamp.replace("+00:00", "Z")


def generate_messages(
    chat_jid: str,
    count: int,
    *,
    start: float = 1_700_000_000.0,
    step: float = 1.0,
    prefix: str = "m",
    mine_every: int = 0,
) -> list[dict[str, Any]]:
    """``count`` deterministic messages in Baileys form, oldest first; every ``mine_every``-th is ours."""
    return [
        {
            "id": f"{prefix}{i}",
            "chat_jid": chat_jid,
            "sender": f"{1000 + i % 7}@s.whatsapp.net",
            "content": f"message {i}",
            "timestamp": iso(start + i * step),
            "is_from_me": mine_every > 0 and i % mine_every == 0,
        }
        for i in range(count)
    ]



@functools.cache
def empty_database(schema: str) -> bytes:
    """An in-memory database holding only ``schema``, serialised (a simulator's reset copies it)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(schema)
        return conn.serialize()
    finally:
        conn.close()


def insert_rows(conn: sqlite3.Connection, *steps: tuple[str, list[tuple[Any, ...]]]) -> list[int]:
    """Run, for each row number i in turn, every step's statement with that step's row i (a step may hold
    one row more than the next); returns each statement's rowcount.

    The same as executing row by row, done as one ``executemany`` per statement. When a row fails, the
    statements are rolled back to where they began and replayed row by row, so the error comes from the
    same row with the same rows stored before it (uncommitted, as always until the caller commits).
    """
    if not any(rows for _, rows in steps):
        return [0] * len(steps)
    if not conn.in_transaction:
        conn.execute("BEGIN")  # what the first INSERT would do implicitly; the savepoint nests inside it
    conn.execute("SAVEPOINT insert_rows")
    try:
        counts = [conn.executemany(sql, rows).rowcount for sql, rows in steps]
    except Exception:
        conn.execute("ROLLBACK TO insert_rows")
        conn.execute("RELEASE insert_rows")
        counts = [0] * len(steps)
        for i in range(max(len(rows) for _, rows in steps)):
            for k, (sql, rows) in enumerate(steps):
                if i < len(rows):
                    counts[k] += conn.execute(sql, rows[i]).rowcount
        return counts  # only reached when the replay did not fail either
    conn.execute("RELEASE insert_rows")
    return counts


def tuples(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
    """A cursor over plain tuples (``sqlite3.Row`` lookups by name cost more on large result sets)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, list(params))


def dicts(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """The rows of ``sql`` as dicts, column names as keys (what ``dict(sqlite3.Row)`` gives)."""
    cursor = tuples(conn, sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]

