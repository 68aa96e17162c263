"""Hybrid workflows across both bridges: fetch a community's history, store it in Go, mark it as read."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.base import BridgeError
from whatsapp_mcp.backends.go_client import GoClient
from whatsapp_mcp.sync import MessageSync, SyncResult

log = logging.getLogger(__name__)


class WorkflowStatus(StrEnum):
    SUCCESS = "success"
    PARTIAL = "partial"  # the history is stored in Go, but not (all) marked as read
    FAILED = "failed"  # nothing was marked; ``reason`` says which step failed


@dataclass
class WorkflowResult:
    status: WorkflowStatus
    community_jid: str
    reason: str = ""
    groups_total: int = 0
    groups_processed: int = 0
    messages_synced: int = 0
    messages_marked: int = 0
    elapsed: float = 0.0
    sync: SyncResult | None = None

    @property
    def success(self) -> bool:
        return self.status is WorkflowStatus.SUCCESS


class StepTimeout(Exception):
    """The workflow's deadline passed."""


class HybridWorkflows:
    """Workflows that need both bridges; time comes from ``clock`` so deadlines are testable."""

    def __init__(
        self,
        go: GoClient,
        baileys: BaileysClient,
        syncer: MessageSync | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        history_count: int = 1000,
    ) -> None:
        self.go, self.baileys = go, baileys
        self.syncer = syncer or MessageSync(go, baileys, clock=clock)
        self.clock = clock
        self.history_count = history_count

    def mark_community_as_read_with_history(
        self, community_jid: str, timeout: float = 600.0
    ) -> WorkflowResult:
        """Fetch older history of every group, sync the store to Go, then mark the community as read.

        The whole temporary store is synced (and cleared on success), not only these groups: the
        Baileys ``/api/clear`` cannot clear one chat, so a narrower sync would leave the rest behind.
        """
        started = self.clock()
        deadline = started + timeout
        result = WorkflowResult(WorkflowStatus.FAILED, community_jid)

        def remaining(step: str) -> float:
            left = deadline - self.clock()
            if left <= 0:
                raise StepTimeout(f"timed out after {timeout:g}s {step}")
            return left

        try:
            groups = self.go.community_groups(community_jid)
            result.groups_total = len(groups)
            for group in groups:
                self.baileys.fetch_older(
                    group.jid, count=self.history_count, timeout=remaining(f"before fetching {group.jid}")
                )
                result.groups_processed += 1
            remaining("before syncing to Go")
            result.sync = sync = self.syncer.sync_all_chats()
            result.messages_synced = sync.synced
            if not sync.success:
                result.reason = "sync to Go failed: " + "; ".join(
                    sync.errors or [f"{sync.failed} messages failed"]
                )
                if sync.synced:
                    result.status = WorkflowStatus.PARTIAL
                return self._done(result, started)
            result.status = WorkflowStatus.PARTIAL  # from here on the history is safely in Go
            remaining("before marking as read")
            marked = self.go.mark_community_read(community_jid)
            result.messages_marked = marked.marked
            if marked.fail_count:
                result.reason = f"{marked.fail_count} groups could not be marked as read"
                return self._done(result, started)
            result.status = WorkflowStatus.SUCCESS
        except StepTimeout as exc:
            result.reason = str(exc)
        except BridgeError as exc:
            step = "marking as read" if result.status is WorkflowStatus.PARTIAL else "history sync"
            if getattr(exc, "timeout", False):
                step += " (timeout)"
            result.reason = f"{step} failed: {exc}"
        return self._done(result, started)

    def _done(self, result: WorkflowResult, started: float) -> WorkflowResult:
        result.elapsed = self.clock() - started
        log.info("community %s: %s %s", result.community_jid, result.status.value, result.reason)
        return result
