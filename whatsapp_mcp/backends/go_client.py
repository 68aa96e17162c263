"""Client of the Go (whatsmeow) bridge: send, mark as read, messages, batch insert, communities."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from whatsapp_mcp.backends.base import GO_URL, Backend, BridgeClient, BridgeError

BATCH_LIMIT = 1000


@dataclass(frozen=True)
class MarkReadResult:
    count: int
    message: str = ""
    error_code: str | None = None  # EMPTY_CHAT is a success with nothing to mark


@dataclass(frozen=True)
class BatchResult:
    inserted: int
    duplicates: int
    failed: int

    @property
    def success(self) -> bool:
        return self.failed == 0


@dataclass(frozen=True)
class Group:
    jid: str
    name: str
    unread_count: int = 0


@dataclass(frozen=True)
class CommunityMarkResult:
    success_count: int
    fail_count: int
    skipped_count: int
    group_results: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def marked(self) -> int:
        return sum(int(r.get("message_count") or 0) for r in self.group_results.values() if r.get("success"))


class GoClient(BridgeClient):
    """The Go bridge at ``base_url`` (http://127.0.0.1:8080 by default)."""

    backend = Backend.GO

    def __init__(self, base_url: str = GO_URL, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)

    def send_message(self, recipient: str, message: str, media_path: str | None = None) -> str:
        payload: dict[str, Any] = {"recipient": recipient, "message": message}
        if media_path:
            payload["media_path"] = media_path
        body = self.require_success(self.request("POST", "/api/send", json=payload), "send")
        return str(body.get("message", ""))

    def mark_read(
        self, chat_jid: str, message_ids: list[str] | None = None, sender: str | None = None
    ) -> MarkReadResult:
        payload: dict[str, Any] = {"chat_jid": chat_jid, "message_ids": list(message_ids or [])}
        if sender:
            payload["sender"] = sender
        body = self.require_success(self.request("POST", "/api/mark_read", json=payload), "mark_read")
        return MarkReadResult(
            int(body.get("count") or 0), str(body.get("message", "")), body.get("error_code")
        )

    def list_messages(
        self, chat_jid: str | None = None, limit: int = 100, offset: int = 0, **filters: str
    ) -> tuple[list[dict[str, Any]], int]:
        """One page of stored messages (newest first) and the total number that match."""
        params: dict[str, Any] = {"limit": limit, "offset": offset, **filters}
        if chat_jid:
            params["chat_jid"] = chat_jid
        body = self.require_success(self.request("GET", "/api/messages", params=params), "messages")
        messages = body.get("messages") or []
        return list(messages), int(body.get("total") or len(messages))

    def iter_messages(self, chat_jid: str | None = None, page_size: int = 1000) -> list[dict[str, Any]]:
        """Every stored message of a chat (or of all chats), following the pages."""
        found: list[dict[str, Any]] = []
        while True:
            page, total = self.list_messages(chat_jid, limit=page_size, offset=len(found))
            found.extend(page)
            if not page or len(found) >= total:
                return found

    def insert_batch(self, messages: list[dict[str, Any]]) -> BatchResult:
        """Insert at most 1000 messages (Go form: ``from_me``, unix-second timestamps)."""
        if not messages or len(messages) > BATCH_LIMIT:
            raise ValueError(f"a batch holds 1 to {BATCH_LIMIT} messages, not {len(messages)}")
        body = self.request("POST", "/api/messages/batch", json={"messages": messages})
        try:
            return BatchResult(
                int(body["inserted_count"]), int(body["duplicate_count"]), int(body["failed_count"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BridgeError(self.backend, f"batch answer without counts: {body}", status=200) from exc

    def stats(self) -> dict[str, Any]:
        return self.require_success(self.request("GET", "/api/stats"), "stats")

    def communities(self) -> list[dict[str, Any]]:
        body = self.require_success(self.request("GET", "/api/communities"), "communities")
        return list(body.get("communities") or [])

    def community_groups(self, community_jid: str) -> list[Group]:
        body = self.require_success(self.request("GET", f"/api/communities/{community_jid}/groups"), "groups")
        return [
            Group(str(g["jid"]), str(g.get("name") or g["jid"]), int(g.get("unread_count") or 0))
            for g in body.get("groups") or []
        ]

    def mark_community_read(self, community_jid: str) -> CommunityMarkResult:
        body = self.require_success(
            self.request("POST", f"/api/communities/{community_jid}/mark_read"), "community mark_read"
        )
        return CommunityMarkResult(
            int(body.get("success_count") or 0),
            int(body.get("fail_count") or 0),
            int(body.get("skipped_count") or 0),
            dict(body.get("group_results") or {}),
        )
