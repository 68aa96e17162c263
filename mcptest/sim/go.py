"""The Go (whatsmeow) bridge simulator: messages, mark-as-read, batch insert, and the community model."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mcptest.sim.core import BridgeSim, SimError, arg, int_arg, json_object, valid_jid
from mcptest.sim.store import insert_rows, iso, to_unix, tuples

BATCH_LIMIT = 1000
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
    message_order = "timestamp, id"

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
        data = json_object(data)
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
        data = json_object(data)
        chat_jid, ids = data.get("chat_jid"), data.get("message_ids") or []
        if not valid_jid(chat_jid):
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
        limit, offset = int_arg(query, "limit", 100), int_arg(query, "offset", 0)
        clauses: list[str] = []
        params: list[Any] = []
        for name, clause in (("chat_jid", "chat_jid = ?"), ("sender", "sender = ?")):
            value = arg(query, name)
            if value:
                clauses.append(clause)
                params.append(value)
        content = arg(query, "content")
        if content:
            clauses.append("content LIKE ?")
            params.append(f"%{content}%")
        for name, op in (("after_time", ">"), ("before_time", "<")):
            value = arg(query, name)
            if value:
                try:
                    params.append(int(to_unix(value)))
                except ValueError as exc:
                    raise SimError(400, f"{name} is not RFC 3339: {value!r}") from exc
                clauses.append(f"timestamp {op} ?")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        total = self.conn.execute(f"SELECT COUNT(*) FROM messages {where}", params).fetchone()[0]
        rows = tuples(
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
        messages = json_object(data).get("messages")
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
                and valid_jid(msg.get("chat_jid"))
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
        _, inserted = insert_rows(
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
            insert_rows(
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
