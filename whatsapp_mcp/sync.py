"""Copy the Baileys temporary store into the Go store: convert, deduplicate, batch, checkpoint, clear."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.base import BridgeError
from whatsapp_mcp.backends.go_client import BATCH_LIMIT, GoClient

log = logging.getLogger(__name__)
Key = tuple[str, int, str]


def to_unix_seconds(stamp: str | int | float) -> int:
    """Unix seconds from an ISO 8601 / RFC 3339 string (naive means UTC) or a number of seconds."""
    if isinstance(stamp, bool):
        raise ValueError(f"not a timestamp: {stamp!r}")
    if isinstance(stamp, int | float):
        return int(stamp)
    parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def to_go_message(message: dict[str, Any]) -> dict[str, Any]:
    """A Baileys message in the Go batch form: ``from_me`` and integer timestamps; ValueError if malformed."""
    if not message.get("id") or not message.get("chat_jid"):
        raise ValueError(f"message without id or chat_jid: {message!r}")
    return {
        "id": str(message["id"]),
        "chat_jid": str(message["chat_jid"]),
        "timestamp": to_unix_seconds(message["timestamp"]),
        "sender": message.get("sender") or "",
        "from_me": bool(message.get("is_from_me", False)),
        "content": message.get("content") or "",
        "message_type": message.get("message_type") or "text",
        "sync_source": "baileys",
    }


def dedup_key(message: dict[str, Any]) -> Key:
    """The identity of a message across both stores: (chat_jid, unix timestamp, message id)."""
    return (str(message["chat_jid"]), to_unix_seconds(message["timestamp"]), str(message["id"]))


@dataclass
class Checkpoint:
    chat_jid: str
    last_timestamp: int
    message_count: int
    updated_at: float


class CheckpointStore(Protocol):
    def get(self, chat_jid: str) -> Checkpoint | None: ...

    def put(self, checkpoint: Checkpoint) -> None: ...


class MemoryCheckpoints:
    """Checkpoints kept in memory (one per chat); any object with ``get``/``put`` can replace it."""

    def __init__(self) -> None:
        self.items: dict[str, Checkpoint] = {}

    def get(self, chat_jid: str) -> Checkpoint | None:
        return self.items.get(chat_jid)

    def put(self, checkpoint: Checkpoint) -> None:
        self.items[checkpoint.chat_jid] = checkpoint


@dataclass
class SyncResult:
    """What one sync did; ``failed`` counts messages that could not be converted or stored."""

    chat_jid: str | None
    fetched: int = 0
    synced: int = 0
    deduplicated: int = 0
    failed: int = 0
    batches: int = 0
    elapsed: float = 0.0
    checkpoint_updated: bool = False
    cleared: bool = False
    errors: list[str] = field(default_factory=list)
    chats: dict[str, SyncResult] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return self.failed == 0 and not self.errors

    @property
    def throughput(self) -> float:
        """Messages stored per second (0.0 when no time was measured)."""
        return self.synced / self.elapsed if self.elapsed > 0 else 0.0


class MessageSync:
    """Moves messages from Baileys to Go; syncs of the same chat are serialised, others run freely."""

    def __init__(
        self,
        go: GoClient,
        baileys: BaileysClient,
        *,
        checkpoints: CheckpointStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        batch_size: int = BATCH_LIMIT,
        page_size: int = 500,
    ) -> None:
        if not 1 <= batch_size <= BATCH_LIMIT:
            raise ValueError(f"batch_size must be between 1 and {BATCH_LIMIT}")
        self.go, self.baileys = go, baileys
        self.checkpoints: CheckpointStore = checkpoints if checkpoints is not None else MemoryCheckpoints()
        self.clock = clock
        self.batch_size, self.page_size = batch_size, page_size
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def sync_messages(self, chat_jid: str) -> SyncResult:
        """Sync one chat. The store is not cleared: ``/api/clear`` would drop every other chat too."""
        return self._run(chat_jid, clear=False)

    def sync_all_chats(self, clear: bool = True) -> SyncResult:
        """Sync the whole store chat by chat, then clear it if (and only if) everything succeeded."""
        return self._run(None, clear=clear)

    def _run(self, chat_jid: str | None, clear: bool) -> SyncResult:
        started = self.clock()
        result = SyncResult(chat_jid)
        try:
            messages = self.baileys.iter_messages(chat_jid, page_size=self.page_size)
        except BridgeError as exc:
            result.errors.append(f"fetching from Baileys failed: {exc}")
            result.elapsed = self.clock() - started
            return result
        result.fetched = len(messages)
        by_chat: dict[str, list[dict[str, Any]]] = {}
        for message in messages:
            by_chat.setdefault(str(message.get("chat_jid") or ""), []).append(message)
        for jid, chat_messages in by_chat.items():
            part = self._sync_chat(jid, chat_messages)
            result.chats[jid] = part
            for name in ("synced", "deduplicated", "failed", "batches"):
                setattr(result, name, getattr(result, name) + getattr(part, name))
            result.errors.extend(part.errors)
        result.checkpoint_updated = bool(by_chat) and all(p.checkpoint_updated for p in result.chats.values())
        if clear and result.success and messages:
            try:
                self.baileys.clear()
                result.cleared = True
            except BridgeError as exc:
                result.errors.append(f"clearing the Baileys store failed: {exc}")
        result.elapsed = self.clock() - started
        log.info(
            "sync %s: %d synced, %d deduplicated, %d failed in %.3fs",
            chat_jid or "all chats",
            result.synced,
            result.deduplicated,
            result.failed,
            result.elapsed,
        )
        return result

    def _lock(self, chat_jid: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(chat_jid, threading.Lock())

    def _sync_chat(self, chat_jid: str, messages: list[dict[str, Any]]) -> SyncResult:
        with self._lock(chat_jid):
            result = SyncResult(chat_jid, fetched=len(messages))
            try:
                existing = {dedup_key(m) for m in self.go.iter_messages(chat_jid)} if chat_jid else set()
            except BridgeError as exc:
                result.failed = len(messages)
                result.errors.append(f"reading {chat_jid} from Go failed: {exc}")
                return result
            fresh: list[dict[str, Any]] = []
            seen: set[Key] = set(existing)
            for message in messages:
                try:
                    converted = to_go_message(message)
                except (ValueError, KeyError, TypeError) as exc:
                    result.failed += 1
                    log.warning("skipping malformed message: %s", exc)
                    continue
                key = dedup_key(converted)
                if key in seen:
                    result.deduplicated += 1
                    continue
                seen.add(key)
                fresh.append(converted)
            stored: list[dict[str, Any]] = []
            for batch in _chunks(fresh, self.batch_size):
                result.batches += 1
                try:
                    outcome = self.go.insert_batch(batch)
                except BridgeError as exc:
                    result.failed += len(batch)
                    result.errors.append(f"batch {result.batches} of {chat_jid} failed: {exc}")
                    continue
                result.synced += outcome.inserted
                result.deduplicated += outcome.duplicates
                result.failed += outcome.failed
                stored.extend(batch)
            if result.success and chat_jid:
                self._checkpoint(chat_jid, stored, result)
            return result

    def _checkpoint(self, chat_jid: str, stored: list[dict[str, Any]], result: SyncResult) -> None:
        previous = self.checkpoints.get(chat_jid)
        last = max([int(m["timestamp"]) for m in stored] + ([previous.last_timestamp] if previous else [0]))
        count = (previous.message_count if previous else 0) + result.synced
        try:
            self.checkpoints.put(Checkpoint(chat_jid, last, count, self.clock()))
            result.checkpoint_updated = True
        except Exception as exc:  # the messages are stored; only the bookkeeping failed
            result.errors.append(f"checkpoint update for {chat_jid} failed: {exc}")


def _chunks(items: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
