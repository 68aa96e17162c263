"""Client of the Baileys bridge: the temporary history store, sync status and older-history requests."""

from __future__ import annotations

from typing import Any

from whatsapp_mcp.backends.base import BAILEYS_URL, Backend, BridgeClient


class BaileysClient(BridgeClient):
    """The Baileys bridge at ``base_url`` (http://127.0.0.1:8081 by default)."""

    backend = Backend.BAILEYS

    def __init__(self, base_url: str = BAILEYS_URL, **kwargs: Any) -> None:
        super().__init__(base_url, **kwargs)

    def sync_status(self) -> dict[str, Any]:
        return self.request("GET", "/api/sync/status")

    def trigger_sync(self) -> str:
        body = self.require_success(self.request("POST", "/api/sync/trigger"), "sync trigger")
        return str(body.get("message", ""))

    def get_messages(
        self, chat_jid: str | None = None, limit: int = 500, offset: int = 0
    ) -> list[dict[str, Any]]:
        """One page of the temporary store, oldest first (ISO 8601 timestamps, ``is_from_me``)."""
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        if chat_jid:
            params["chat_jid"] = chat_jid
        body = self.require_success(self.request("GET", "/api/messages", params=params), "messages")
        return list(body.get("messages") or [])

    def iter_messages(self, chat_jid: str | None = None, page_size: int = 500) -> list[dict[str, Any]]:
        """The whole temporary store (or one chat of it), page by page until a short page."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.get_messages(chat_jid, limit=page_size, offset=len(found))
            found.extend(page)
            if len(page) < page_size:
                return found

    def clear(self) -> str:
        body = self.require_success(self.request("POST", "/api/clear"), "clear")
        return str(body.get("message", ""))

    def fetch_older(
        self,
        chat_jid: str,
        count: int = 50,
        oldest_message_id: str = "",
        oldest_timestamp_ms: int = 0,
        from_me: bool = False,
        timeout: float | None = None,
    ) -> str:
        """Ask for ``count`` messages older than the given one; returns the bridge's request id."""
        payload = {
            "chat_jid": chat_jid,
            "oldest_message_id": oldest_message_id,
            "oldest_timestamp_ms": oldest_timestamp_ms,
            "from_me": from_me,
            "count": count,
        }
        body = self.require_success(
            self.request("POST", "/api/history/fetch-older", json=payload, timeout=timeout), "fetch-older"
        )
        return str(body.get("request_id", ""))
