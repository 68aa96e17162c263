"""Transport-free behaviour of the Go and Baileys bridges: SQLite state and a fault-injection control API.

Every transport (requests-mock in ``mock.py``, a loopback HTTP server) calls one method::

    sim.handle(method, path, query, body) -> SimResponse

and must honour ``SimResponse.delay`` (seconds of latency to apply before answering) and
``SimResponse.drop`` (close the connection without an answer). The bridge routes follow the shared
bridge contract; the routes under ``/_sim/`` are ours and are never recorded in the call history nor
touched by injected faults:

    GET  /_sim/state                   -> {bridge, connected, latency, faults, calls}
    POST /_sim/connected  {"connected": bool}
    POST /_sim/latency    {"seconds": float, "paths": [glob, ...]?}       (0 seconds clears the rules)
    POST /_sim/fault      {"status": int, "body": {...}?, "paths": [glob, ...]?, "times": int?, "after": int?}
    POST /_sim/fault      {"drop": true, "paths": [glob, ...]?, "times": int?, "after": int?}
    POST /_sim/faults/clear
    POST /_sim/seed       {"chats": [...], "communities": [...], "groups": [...], "messages": [...],
                           "history": {chat_jid: [message, ...]}}      (history: Baileys only)
    GET  /_sim/calls      ?path=glob          -> {calls: [{method, path, status, time}]}
    POST /_sim/reset                          (forgets data, faults, latency, calls; connected again)

Paths in ``paths`` are ``fnmatch`` globs on the request path (``/api/*``); no ``paths`` means every
bridge route. ``times`` limits a fault to the next N matching calls (without it the fault stays);
``after`` lets that many matching calls through first, to fail something midway. The first matching
latency rule with the most seconds applies; the first live fault wins. A dropped call is recorded with
status 0; a call a transport timed out is recorded with the status the simulator had prepared.
Seeded timestamps are ISO 8601 strings or unix seconds in either store. Time comes from an
injectable clock (``FakeClock`` for tests), so the behaviour is deterministic.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

Clock = Callable[[], float]
JSON_HEADERS = {"Content-Type": "application/json"}
BATCH_LIMIT = 1000
CONTROL_PREFIX = "/_sim/"


@dataclass
class SimResponse:
    """What a transport must do: answer ``status``/``body``/``headers`` after ``delay`` s, or ``drop``."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON_HEADERS))
    delay: float = 0.0
    drop: bool = False

    def content(self) -> bytes:
        """The body serialised as the wire bytes (empty when there is no body)."""
        return b"" if self.body is None else json.dumps(self.body).encode()


@dataclass
class Call:
    """One bridge call as the simulator saw it; ``status`` is 0 when the connection was dropped."""

    method: str
    path: str
    status: int
    time: float


@dataclass
class Fault:
    """An injected answer (an HTTP status, or a dropped connection) for matching paths."""

    status: int = 500
    body: Any = None
    paths: list[str] | None = None
    times: int | None = None
    drop: bool = False
    after: int = 0  # matching calls to let through before the fault starts


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


class SimError(Exception):
    """A request the simulator answers with an error status and a JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"success": False, "message": message, "error": message, **extra}


def _matches(path: str, patterns: list[str] | None) -> bool:
    return patterns is None or any(fnmatch.fnmatchcase(path, p) for p in patterns)


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


Handler = Callable[[dict[str, list[str]], Any, tuple[str, ...]], tuple[int, Any]]


class BridgeSim:
    """Common machinery: routing, JSON parsing, call history, latency and faults, control API, SQLite."""

    name = "bridge"
    schema = ""

    def __init__(self, db: str = ":memory:", clock: Clock | None = None) -> None:
        self.clock: Clock = clock or time.monotonic
        self.db_path = db
        self.conn = sqlite3.connect(db, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.lock = threading.RLock()
        self.routes: list[tuple[re.Pattern[str], dict[str, Handler]]] = []
        self._register_routes()
        self.reset()

    # -- to be provided by each bridge -------------------------------------------------------------
    def _register_routes(self) -> None:
        raise NotImplementedError

    def _seed(self, data: dict[str, Any]) -> None:
        raise NotImplementedError

    def _state(self) -> dict[str, Any]:
        return {}

    def route(self, pattern: str, **handlers: Handler) -> None:
        self.routes.append((re.compile(f"^{pattern}$"), {m.upper(): h for m, h in handlers.items()}))

    # -- plain Python controls -------------------------------------------------------------------
    def reset(self) -> None:
        """Forget data, faults, latency and history; connected again; uptime restarts."""
        with self.lock:
            self.connected = True
            self.latency: list[tuple[float, list[str] | None]] = []
            self.faults: list[Fault] = []
            self.calls: list[Call] = []
            self.started = self.clock()
            self._counter = 0
            if self.db_path == ":memory:":
                # the same empty tables as dropping and creating them, copied from a database made once
                self.conn.commit()
                self.conn.deserialize(_empty_database(self.schema))
            else:
                tables = [r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
                for table in tables:
                    self.conn.execute(f"DROP TABLE {table}")
                self.conn.executescript(self.schema)
            self.conn.commit()

    def set_connected(self, connected: bool) -> None:
        with self.lock:
            self.connected = bool(connected)

    def set_latency(self, seconds: float, paths: list[str] | None = None) -> None:
        """Add ``seconds`` of latency to matching paths (all when ``paths`` is None); 0 clears every rule."""
        with self.lock:
            if seconds <= 0:
                self.latency = []
            else:
                self.latency.append((float(seconds), paths))

    def inject_status(
        self,
        status: int,
        paths: list[str] | None = None,
        times: int | None = None,
        body: Any = None,
        after: int = 0,
    ) -> None:
        """Answer ``status`` (and ``body``) on matching paths, for ``times`` calls after ``after`` calls."""
        with self.lock:
            self.faults.append(Fault(status=int(status), body=body, paths=paths, times=times, after=after))

    def inject_drop(self, paths: list[str] | None = None, times: int | None = None, after: int = 0) -> None:
        """Drop the connection on matching paths, for ``times`` calls after ``after`` calls."""
        with self.lock:
            self.faults.append(Fault(paths=paths, times=times, drop=True, after=after))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults = []
            self.latency = []

    def seed(self, data: dict[str, Any]) -> None:
        with self.lock:
            self._seed(data)
            self.conn.commit()

    def history(self, pattern: str | None = None) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if pattern is None or fnmatch.fnmatchcase(c.path, pattern)]

    def close(self) -> None:
        self.conn.close()

    def next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    # -- the one entry point -----------------------------------------------------------------------
    def handle(
        self, method: str, path: str, query: dict[str, list[str]] | None = None, body: bytes | None = None
    ) -> SimResponse:
        """Answer one HTTP request; transports apply ``delay`` and ``drop`` of the result."""
        method = method.upper()
        query = query or {}
        with self.lock:
            if path.startswith(CONTROL_PREFIX):
                return self._respond(lambda: self._control(method, path, query, body))
            delay = max((s for s, paths in self.latency if _matches(path, paths)), default=0.0)
            fault = self._take_fault(path)
            if fault is not None and fault.drop:
                response = SimResponse(status=0, body=None, headers={}, drop=True)
            elif fault is not None:
                body_out = fault.body if fault.body is not None else {"success": False, "error": "injected"}
                response = SimResponse(status=fault.status, body=body_out)
            else:
                response = self._respond(lambda: self._dispatch(method, path, query, body))
            response.delay = delay
            self.calls.append(Call(method, path, response.status, self.clock()))
            return response

    def _take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if _matches(path, fault.paths) and fault.times != 0:
                if fault.after > 0:
                    fault.after -= 1
                    continue
                if fault.times is not None:
                    fault.times -= 1
                return fault
        return None

    def _respond(self, work: Callable[[], tuple[int, Any]]) -> SimResponse:
        try:
            status, payload = work()
        except SimError as exc:
            return SimResponse(status=exc.status, body=exc.body)
        except sqlite3.Error as exc:
            self.conn.rollback()
            return SimResponse(
                status=500, body={"success": False, "message": str(exc), "error_code": "DATABASE_ERROR"}
            )
        return SimResponse(status=status, body=payload)

    def _dispatch(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes | None
    ) -> tuple[int, Any]:
        for pattern, handlers in self.routes:
            match = pattern.match(path)
            if match is None:
                continue
            handler = handlers.get(method)
            if handler is None:
                raise SimError(405, f"method {method} not allowed on {path}", allowed=sorted(handlers))
            result = handler(query, _parse_json(body) if method in ("POST", "PUT") else None, match.groups())
            self.conn.commit()
            return result
        raise SimError(404, f"no route for {path}")

    def _control(
        self, method: str, path: str, query: dict[str, list[str]], body: bytes | None
    ) -> tuple[int, Any]:
        name = path[len(CONTROL_PREFIX) :].rstrip("/")
        gets = {"state", "calls"}
        if name not in gets | {"connected", "latency", "fault", "faults/clear", "seed", "reset"}:
            raise SimError(404, f"no control route {path}")
        if (method == "GET") != (name in gets):
            raise SimError(405, f"method {method} not allowed on {path}")
        data = _parse_json(body) if method == "POST" else {}
        if not isinstance(data, dict):
            raise SimError(400, "control body must be a JSON object")
        if name == "state":
            return 200, self.state()
        if name == "calls":
            pattern = _arg(query, "path")
            return 200, {"calls": [asdict(c) for c in self.history(pattern)]}
        if name == "connected":
            self.set_connected(bool(data.get("connected", True)))
        elif name == "latency":
            self.set_latency(float(data.get("seconds", 0)), data.get("paths"))
        elif name == "fault":
            paths, times, after = data.get("paths"), data.get("times"), int(data.get("after") or 0)
            if paths is not None and not isinstance(paths, list):
                raise SimError(400, "paths must be a list of globs")
            if data.get("drop"):
                self.inject_drop(paths, times, after)
            else:
                self.inject_status(int(data.get("status", 500)), paths, times, data.get("body"), after)
        elif name == "faults/clear":
            self.clear_faults()
        elif name == "seed":
            self.seed(data)
        else:
            self.reset()
        return 200, {"success": True, **self.state()}

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "bridge": self.name,
                "connected": self.connected,
                "latency": [{"seconds": s, "paths": p} for s, p in self.latency],
                "faults": [asdict(f) for f in self.faults],
                "calls": len(self.calls),
                **self._state(),
            }


def _parse_json(body: bytes | None) -> Any:
    if not body:
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SimError(400, f"invalid JSON body: {exc}") from exc


def _arg(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _int_arg(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = _arg(query, name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SimError(400, f"{name} must be an integer, got {raw!r}") from exc
    if value < 0:
        raise SimError(400, f"{name} must not be negative")
    return value


def _object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SimError(400, "body must be a JSON object")
    return data


def _valid_jid(jid: Any) -> bool:
    return isinstance(jid, str) and "@" in jid and not jid.startswith("@") and " " not in jid


@functools.cache
def _empty_database(schema: str) -> bytes:
    """An in-memory database holding only ``schema``, serialised (a simulator's reset copies it)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(schema)
        return conn.serialize()
    finally:
        conn.close()


def _insert_rows(conn: sqlite3.Connection, *steps: tuple[str, list[tuple[Any, ...]]]) -> list[int]:
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


def _tuples(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> sqlite3.Cursor:
    """A cursor over plain tuples (``sqlite3.Row`` lookups by name cost more on large result sets)."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, list(params))


def _dicts(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    """The rows of ``sql`` as dicts, column names as keys (what ``dict(sqlite3.Row)`` gives)."""
    cursor = _tuples(conn, sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


GO_ENSURE_CHAT = "INSERT OR IGNORE INTO chats (jid, name, community_jid) VALUES (?, ?, NULL)"
GO_SCHEMA = """
CREATE TABLE communities (jid TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE chats (jid TEXT PRIMARY KEY, name TEXT NOT NULL, community_jid TEXT);
CREATE TABLE messages (
    chat_jid TEXT NOT NULL, id TEXT NOT NULL, sender TEXT, content TEXT, timestamp INTEGER NOT NULL,
    from_me INTEGER NOT NULL DEFAULT 0, is_read INTEGER NOT NULL DEFAULT 0, message_type TEXT,
    sync_source TEXT, PRIMARY KEY (chat_jid, id));
CREATE INDEX messages_chat_time ON messages (chat_jid, timestamp);
"""


class GoBridgeSim(BridgeSim):
    """The Go (whatsmeow) bridge: messages, mark-as-read, batch insert, and the community model."""

    name = "go"
    schema = GO_SCHEMA

    def _register_routes(self) -> None:
        self.route("/health", get=self._health)
        self.route("/api/send", post=self._send)
        self.route("/api/mark_read", post=self._mark_read)
        self.route("/api/messages", get=self._messages)
        self.route("/api/messages/batch", post=self._batch)
        self.route("/api/stats", get=self._stats)
        self.route("/api/chats/unread", get=self._unread_chats)
        self.route("/api/communities", get=self._communities)
        self.route("/api/communities/([^/]+)/groups", get=self._groups)
        self.route("/api/communities/([^/]+)/mark_read", post=self._community_mark_read)

    def _health(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        body = {
            "status": "ok" if self.connected else "degraded",
            "whatsapp_connected": self.connected,
            "database_path": self.db_path,
            "uptime_seconds": int(self.clock() - self.started),
        }
        return (200 if self.connected else 503), body

    def _send(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        data = _object(data)
        recipient, message = data.get("recipient"), data.get("message")
        if not recipient or not isinstance(recipient, str) or (not message and not data.get("media_path")):
            raise SimError(400, "recipient and message are required")
        if not self.connected:
            raise SimError(500, "not connected to WhatsApp")
        jid = recipient if "@" in recipient else f"{recipient}@s.whatsapp.net"
        self._ensure_chat(jid)
        self.conn.execute(
            "INSERT INTO messages (chat_jid, id, sender, content, timestamp, from_me, is_read, message_type,"
            " sync_source) VALUES (?, ?, 'me', ?, ?, 1, 1, 'text', 'send')",
            (jid, self.next_id("sent"), message or "", int(self.clock())),
        )
        return 200, {"success": True, "message": f"Message sent to {recipient}"}

    def _unread_where(self) -> str:
        return "is_read = 0 AND from_me = 0"

    def _mark_read(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        data = _object(data)
        chat_jid, ids = data.get("chat_jid"), data.get("message_ids") or []
        if not _valid_jid(chat_jid):
            raise SimError(400, f"invalid chat JID {chat_jid!r}", count=0, error_code="INVALID_JID")
        if not isinstance(ids, list):
            raise SimError(400, "message_ids must be a list", count=0, error_code="INVALID_JID")
        if not self.connected:
            raise SimError(500, "not connected to WhatsApp", count=0, error_code="WHATSAPP_API_ERROR")
        where, params = f"chat_jid = ? AND {self._unread_where()}", [chat_jid]
        if ids:
            where += f" AND id IN ({','.join('?' * len(ids))})"
            params += [str(i) for i in ids]
        count = self.conn.execute(f"UPDATE messages SET is_read = 1 WHERE {where}", params).rowcount
        if count == 0 and not ids:
            return 200, {
                "success": True,
                "message": "no unread messages",
                "count": 0,
                "error_code": "EMPTY_CHAT",
            }
        return 200, {"success": True, "message": f"marked {count} messages as read", "count": count}

    def _messages(self, query: dict[str, list[str]], data: Any, groups: Any) -> tuple[int, Any]:
        limit, offset = _int_arg(query, "limit", 100), _int_arg(query, "offset", 0)
        clauses: list[str] = []
        params: list[Any] = []
        for name, clause in (("chat_jid", "chat_jid = ?"), ("sender", "sender = ?")):
            value = _arg(query, name)
            if value:
                clauses.append(clause)
                params.append(value)
        content = _arg(query, "content")
        if content:
            clauses.append("content LIKE ?")
            params.append(f"%{content}%")
        for name, op in (("after_time", ">"), ("before_time", "<")):
            value = _arg(query, name)
            if value:
                try:
                    params.append(int(to_unix(value)))
                except ValueError as exc:
                    raise SimError(400, f"{name} is not RFC 3339: {value!r}") from exc
                clauses.append(f"timestamp {op} ?")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.conn.execute(f"SELECT COUNT(*) FROM messages {where}", params).fetchone()[0]
        rows = _tuples(
            self.conn,
            "SELECT id, chat_jid, sender, content, timestamp, from_me, is_read, message_type FROM messages"
            f" {where} ORDER BY timestamp DESC, id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        messages = [
            {
                "id": id_,
                "chat_jid": chat_jid,
                "sender": sender,
                "content": content,
                "timestamp": iso(stamp, millis=False),
                "is_from_me": bool(from_me),
                "is_read": bool(is_read),
                "message_type": message_type,
            }
            for id_, chat_jid, sender, content, stamp, from_me, is_read, message_type in rows
        ]
        return 200, {"success": True, "messages": messages, "total": total, "limit": limit, "offset": offset}

    def _batch(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        messages = _object(data).get("messages")
        if not isinstance(messages, list) or not messages:
            raise SimError(400, "messages must be a non-empty list")
        if len(messages) > BATCH_LIMIT:
            raise SimError(400, f"at most {BATCH_LIMIT} messages per batch, got {len(messages)}")
        failed = 0
        rows: list[tuple[Any, ...]] = []
        for msg in messages:
            if not (
                isinstance(msg, dict)
                and msg.get("id")
                and _valid_jid(msg.get("chat_jid"))
                and isinstance(msg.get("timestamp"), int)
                and not isinstance(msg.get("timestamp"), bool)
            ):
                failed += 1
                continue
            from_me = int(bool(msg.get("from_me")))
            rows.append(
                (
                    msg["chat_jid"],
                    str(msg["id"]),
                    msg.get("sender"),
                    msg.get("content"),
                    msg["timestamp"],
                    from_me,
                    from_me,
                    msg.get("message_type") or "text",
                    msg.get("sync_source") or "batch",
                )
            )
        _, inserted = _insert_rows(
            self.conn,
            (GO_ENSURE_CHAT, [(row[0], row[0]) for row in rows]),
            (
                "INSERT OR IGNORE INTO messages (chat_jid, id, sender, content, timestamp, from_me, is_read,"
                " message_type, sync_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                rows,
            ),
        )
        duplicate = len(rows) - inserted
        return 200, {
            "success": failed == 0,
            "message": f"inserted {inserted}, duplicates {duplicate}, failed {failed}",
            "inserted_count": inserted,
            "duplicate_count": duplicate,
            "failed_count": failed,
        }

    def _stats(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        one = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
        return 200, {
            "success": True,
            "total_messages": one("SELECT COUNT(*) FROM messages"),
            "total_chats": one("SELECT COUNT(*) FROM chats"),
            "unread_messages": one(f"SELECT COUNT(*) FROM messages WHERE {self._unread_where()}"),
            "total_communities": one("SELECT COUNT(*) FROM communities"),
        }

    def _unread_counts(self, where: str = "", params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT c.jid, c.name, (SELECT COUNT(*) FROM messages m WHERE m.chat_jid = c.jid AND "
            f"m.is_read = 0 AND m.from_me = 0) AS unread_count FROM chats c {where} ORDER BY c.jid",
            list(params),
        ).fetchall()
        return [{"jid": r["jid"], "name": r["name"], "unread_count": r["unread_count"]} for r in rows]

    def _unread_chats(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        chats = [c for c in self._unread_counts() if c["unread_count"] > 0]
        return 200, {"success": True, "chats": chats, "total": len(chats)}

    def _communities(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        rows = self.conn.execute(
            "SELECT jid, name, (SELECT COUNT(*) FROM chats WHERE community_jid = communities.jid)"
            " AS group_count FROM communities ORDER BY jid"
        ).fetchall()
        communities = [dict(r) for r in rows]
        return 200, {"success": True, "communities": communities, "total": len(communities)}

    def _community(self, jid: str) -> list[dict[str, Any]]:
        if self.conn.execute("SELECT 1 FROM communities WHERE jid = ?", (jid,)).fetchone() is None:
            raise SimError(404, f"community {jid} not found")
        return self._unread_counts("WHERE c.community_jid = ?", (jid,))

    def _groups(self, query: Any, data: Any, groups: tuple[str, ...]) -> tuple[int, Any]:
        found = self._community(groups[0])
        return 200, {"success": True, "community_jid": groups[0], "groups": found, "total": len(found)}

    def _community_mark_read(self, query: Any, data: Any, groups: tuple[str, ...]) -> tuple[int, Any]:
        found = self._community(groups[0])
        if not self.connected:
            raise SimError(500, "not connected to WhatsApp", error_code="WHATSAPP_API_ERROR")
        results: dict[str, Any] = {}
        success = skipped = 0
        for group in found:
            count = self.conn.execute(
                f"UPDATE messages SET is_read = 1 WHERE chat_jid = ? AND {self._unread_where()}",
                (group["jid"],),
            ).rowcount
            results[group["jid"]] = {"success": True, "message_count": count}
            if count:
                success += 1
            else:
                skipped += 1
        return 200, {
            "success": True,
            "success_count": success,
            "fail_count": 0,
            "skipped_count": skipped,
            "group_results": results,
        }

    def _ensure_chat(self, jid: str, name: str | None = None, community: str | None = None) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO chats (jid, name, community_jid) VALUES (?, ?, ?)",
            (jid, name or jid, community),
        )

    def _seed(self, data: dict[str, Any]) -> None:
        for chat in data.get("chats", []):
            self._ensure_chat(chat["jid"], chat.get("name"))
        for community in data.get("communities", []):
            self.conn.execute(
                "INSERT OR REPLACE INTO communities (jid, name) VALUES (?, ?)",
                (community["jid"], community.get("name", community["jid"])),
            )
            for group in community.get("groups", []):
                self._seed_group({**group, "community_jid": community["jid"]})
        for group in data.get("groups", []):
            self._seed_group(group)
        chats: list[tuple[Any, Any]] = []
        rows: list[tuple[Any, ...]] = []
        try:
            for msg in data.get("messages", []):
                from_me = bool(msg.get("from_me", msg.get("is_from_me", False)))
                chats.append((msg["chat_jid"], msg["chat_jid"]))
                rows.append(
                    (
                        msg["chat_jid"],
                        str(msg["id"]),
                        msg.get("sender"),
                        msg.get("content"),
                        int(to_unix(msg["timestamp"])),
                        int(from_me),
                        int(bool(msg.get("is_read", from_me))),
                        msg.get("message_type", "text"),
                    )
                )
        finally:  # the messages before a malformed one are stored, as when each was inserted in turn
            _insert_rows(
                self.conn,
                (GO_ENSURE_CHAT, chats),
                (
                    "INSERT OR REPLACE INTO messages (chat_jid, id, sender, content, timestamp, from_me,"
                    " is_read, message_type, sync_source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'seed')",
                    rows,
                ),
            )

    def _seed_group(self, group: dict[str, Any]) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO chats (jid, name, community_jid) VALUES (?, ?, ?)",
            (group["jid"], group.get("name", group["jid"]), group.get("community_jid")),
        )

    def _state(self) -> dict[str, Any]:
        return {"messages": self.conn.execute("SELECT COUNT(*) FROM messages").fetchone()[0]}

    def stored(self, chat_jid: str | None = None) -> list[dict[str, Any]]:
        """Rows of the message table (for assertions), oldest first."""
        with self.lock:
            sql, params = "SELECT * FROM messages", []
            if chat_jid is not None:
                sql, params = sql + " WHERE chat_jid = ?", [chat_jid]
            return _dicts(self.conn, sql + " ORDER BY timestamp, id", params)


BAILEYS_SCHEMA = """
CREATE TABLE messages (
    chat_jid TEXT NOT NULL, id TEXT NOT NULL, sender TEXT, content TEXT, timestamp_ms INTEGER NOT NULL,
    is_from_me INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (chat_jid, id));
CREATE INDEX messages_order ON messages (timestamp_ms, chat_jid, id);
CREATE TABLE chats (jid TEXT PRIMARY KEY, name TEXT);
CREATE TABLE history (
    chat_jid TEXT NOT NULL, id TEXT NOT NULL, sender TEXT, content TEXT, timestamp_ms INTEGER NOT NULL,
    is_from_me INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (chat_jid, id));
"""


class BaileysBridgeSim(BridgeSim):
    """The Baileys bridge: a temporary history store, sync status, and older-history fetching.

    ``history`` holds what WhatsApp would send on request: ``fetch-older`` moves up to ``count`` of a
    chat's messages older than ``oldest_timestamp_ms`` (newest first) into the temporary store at once.
    """

    name = "baileys"
    schema = BAILEYS_SCHEMA

    def reset(self) -> None:
        super().reset()
        self.sync_status: dict[str, Any] = {}

    def _register_routes(self) -> None:
        self.route("/health", get=self._health)
        self.route("/api/sync/status", get=self._sync_status)
        self.route("/api/sync/trigger", post=self._trigger)
        self.route("/api/messages", get=self._messages)
        self.route("/api/clear", post=self._clear)
        self.route("/api/history/fetch-older", post=self._fetch_older)

    def _health(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        return 200, {
            "status": "ok",
            "connected": self.connected,
            "uptime": round(self.clock() - self.started, 3),
        }

    def _count(self, table: str) -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])

    def _sync_status(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        status = {
            "connected": self.connected,
            "is_syncing": False,
            "messages_synced": self._count("messages"),
            "chats_synced": self._count("chats"),
            "progress_percent": 100 if self.sync_status else 0,
            "is_latest": bool(self.sync_status),
        }
        if "last_sync_time" in self.sync_status:
            status["last_sync_time"] = self.sync_status["last_sync_time"]
        return 200, status

    def _require_connected(self) -> None:
        if not self.connected:
            raise SimError(503, "WhatsApp is not connected")

    def _trigger(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        self._require_connected()
        self.sync_status = {"last_sync_time": iso(self.clock())}
        return 200, {"success": True, "message": "history sync triggered"}

    def _messages(self, query: dict[str, list[str]], data: Any, groups: Any) -> tuple[int, Any]:
        chat_jid = _arg(query, "chat_jid")
        limit, offset = _int_arg(query, "limit", -1), _int_arg(query, "offset", 0)
        where, params = ("WHERE chat_jid = ?", [chat_jid]) if chat_jid else ("", [])
        rows = _tuples(
            self.conn,
            f"SELECT id, chat_jid, sender, content, timestamp_ms, is_from_me FROM messages {where}"
            " ORDER BY timestamp_ms, chat_jid, id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ).fetchall()
        messages = [
            {
                "id": id_,
                "chat_jid": chat_jid_,
                "sender": sender,
                "content": content,
                "timestamp": iso(stamp / 1000),
                "is_from_me": bool(from_me),
            }
            for id_, chat_jid_, sender, content, stamp, from_me in rows
        ]
        return 200, {"success": True, "count": len(messages), "messages": messages}

    def _clear(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        removed = self._count("messages")
        self.conn.execute("DELETE FROM messages")
        self.conn.execute("DELETE FROM chats")
        self.sync_status = {}
        return 200, {"success": True, "message": f"cleared {removed} messages"}

    def _fetch_older(self, query: Any, data: Any, groups: Any) -> tuple[int, Any]:
        data = _object(data)
        chat_jid = data.get("chat_jid")
        if not _valid_jid(chat_jid):
            raise SimError(400, f"invalid chat_jid {chat_jid!r}")
        self._require_connected()
        count = int(data.get("count") or 50)
        before = data.get("oldest_timestamp_ms")
        where, params = "chat_jid = ?", [chat_jid]
        if before:
            where, params = where + " AND timestamp_ms < ?", [*params, int(before)]
        rows = self.conn.execute(
            f"SELECT * FROM history WHERE {where} ORDER BY timestamp_ms DESC, id DESC LIMIT ?",
            [*params, count],
        ).fetchall()
        self._store_many("messages", [dict(r) for r in rows])
        _insert_rows(
            self.conn, ("DELETE FROM history WHERE chat_jid = ? AND id = ?", [(r["chat_jid"], r["id"]) for r in rows])
        )
        return 200, {
            "success": True,
            "message": f"requested {count} older messages, received {len(rows)}",
            "request_id": self.next_id("history"),
        }

    def _store_many(self, table: str, messages: Iterable[dict[str, Any]]) -> None:
        """Store each message in ``table`` in turn (a message also names its chat in the temporary store)."""
        rows: list[tuple[Any, ...]] = []
        try:
            for msg in messages:
                stamp = msg.get("timestamp_ms")
                if stamp is None:
                    stamp = round(to_unix(msg["timestamp"]) * 1000)
                rows.append(
                    (
                        msg["chat_jid"],
                        str(msg["id"]),
                        msg.get("sender"),
                        msg.get("content"),
                        int(stamp),
                        int(bool(msg.get("is_from_me", msg.get("from_me", False)))),
                    )
                )
        finally:  # the messages before a malformed one are stored, as when each was stored in turn
            store = (
                f"INSERT OR REPLACE INTO {table} (chat_jid, id, sender, content, timestamp_ms, is_from_me)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
            if table == "messages":
                _insert_rows(
                    self.conn,
                    store,
                    ("INSERT OR IGNORE INTO chats (jid, name) VALUES (?, NULL)", [r[:1] for r in rows]),
                )
            else:
                _insert_rows(self.conn, store)

    def _seed(self, data: dict[str, Any]) -> None:
        for chat in data.get("chats", []):
            self.conn.execute(
                "INSERT OR IGNORE INTO chats (jid, name) VALUES (?, ?)", (chat["jid"], chat.get("name"))
            )
        self._store_many("messages", data.get("messages", []))
        for chat_jid, messages in (data.get("history") or {}).items():
            self._store_many("history", ({**msg, "chat_jid": chat_jid} for msg in messages))

    def _state(self) -> dict[str, Any]:
        return {"messages": self._count("messages"), "history": self._count("history")}

    def stored(self, chat_jid: str | None = None) -> list[dict[str, Any]]:
        """Rows of the temporary store (for assertions), oldest first."""
        with self.lock:
            sql, params = "SELECT * FROM messages", []
            if chat_jid is not None:
                sql, params = sql + " WHERE chat_jid = ?", [chat_jid]
            return _dicts(self.conn, sql + " ORDER BY timestamp_ms, id", params)
