"""The Baileys bridge simulator: a temporary message store, sync status, and older-history fetching."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcptest.sim.core import BridgeSim, SimError, arg, int_arg, json_object, valid_jid
from mcptest.sim.store import insert_rows, iso, to_unix, tuples

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
    message_order = "timestamp_ms, id"

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
        chat_jid = arg(query, "chat_jid")
        limit, offset = int_arg(query, "limit", -1), int_arg(query, "offset", 0)
        where, params = ("WHERE chat_jid = ?", [chat_jid]) if chat_jid else ("", [])
        rows = tuples(
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
        data = json_object(data)
        chat_jid = data.get("chat_jid")
        if not valid_jid(chat_jid):
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
        insert_rows(
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
                insert_rows(
                    self.conn,
                    store,
                    ("INSERT OR IGNORE INTO chats (jid, name) VALUES (?, NULL)", [r[:1] for r in rows]),
                )
            else:
                insert_rows(self.conn, store)

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
