"""The simulator machinery both bridges share: routing, call history, latency and faults, the control API.

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

The bridges themselves are ``go.py`` and ``baileys.py``; the clock, timestamps and SQLite plumbing they
share are in ``store.py``; ``behaviour.py`` gathers the public names in one import.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from mcptest.sim.store import Clock, dicts, empty_database

JSON_HEADERS = {"Content-Type": "application/json"}
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


class SimError(Exception):
    """A request the simulator answers with an error status and a JSON body."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"success": False, "message": message, "error": message, **extra}


def _matches(path: str, patterns: list[str] | None) -> bool:
    return patterns is None or any(fnmatch.fnmatchcase(path, p) for p in patterns)



Handler = Callable[[dict[str, list[str]], Any, tuple[str, ...]], tuple[int, Any]]


class BridgeSim:
    """Common machinery: routing, JSON parsing, call history, latency and faults, control API, SQLite."""

    name = "bridge"
    schema = ""
    message_order = "rowid"  # how ``stored()`` sorts the message table, oldest first

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
                self.conn.deserialize(empty_database(self.schema))
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

    def stored(self, chat_jid: str | None = None) -> list[dict[str, Any]]:
        """Rows of the message table (Go: with is_read; Baileys: the temporary store), oldest first."""
        with self.lock:
            sql, params = "SELECT * FROM messages", []
            if chat_jid is not None:
                sql, params = sql + " WHERE chat_jid = ?", [chat_jid]
            return dicts(self.conn, f"{sql} ORDER BY {self.message_order}", params)

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
            pattern = arg(query, "path")
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


def arg(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def int_arg(query: dict[str, list[str]], name: str, default: int) -> int:
    raw = arg(query, name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SimError(400, f"{name} must be an integer, got {raw!r}") from exc
    if value < 0:
        raise SimError(400, f"{name} must not be negative")
    return value


def json_object(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise SimError(400, "body must be a JSON object")
    return data


def valid_jid(jid: Any) -> bool:
    return isinstance(jid, str) and "@" in jid and not jid.startswith("@") and " " not in jid

