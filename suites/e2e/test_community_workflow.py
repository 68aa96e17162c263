"""mark_community_as_read_with_history end to end against both live simulators (story 4, FR-031..FR-035).

Assertions are on the bridges' stores after the workflow: what Go holds (and whether it is read),
what is left in Baileys' temporary store and history, and the metrics the workflow reports.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from mcptest.sim.behaviour import generate_messages
from suites.integration.helpers import Stack, run_together
from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.sync import MessageSync, SyncResult
from whatsapp_mcp.workflows import HybridWorkflows, WorkflowResult, WorkflowStatus

COMMUNITY = "120363111111111111@g.us"
GROUPS = {"120363100000000001@g.us": 100, "120363100000000002@g.us": 150, "120363100000000003@g.us": 250}
OTHER = "120363222222222222@g.us"
OTHER_GROUPS = {"120363200000000001@g.us": 120, "120363200000000002@g.us": 80}


def seed_community(stack: Stack, community: str = COMMUNITY, groups: dict[str, int] = GROUPS,
                   tag: str = "h") -> int:
    """A community in Go with its groups, and each group's unread history waiting in WhatsApp (Baileys)."""
    stack.go_ctl.seed(communities=[{"jid": community, "name": community[:8],
                                    "groups": [{"jid": g, "name": g[-6:]} for g in groups]}])
    stack.baileys_ctl.seed(history={g: generate_messages(g, n, prefix=f"{tag}{g[-3:]}-") for g, n in groups.items()})
    return sum(groups.values())


def go_rows(stack: Stack, groups: dict[str, int]) -> list[dict[str, Any]]:
    return [r for g in groups for r in stack.go_ctl.stored(g)]


def workflows(stack: Stack, **kwargs: Any) -> HybridWorkflows:
    return HybridWorkflows(stack.go, stack.baileys, **kwargs)


@pytest.mark.req("FR-031", "FR-035")
def test_community_workflow_three_groups_500_unread_synced_and_marked_read(shared: Stack) -> None:
    total = seed_community(shared)
    assert total == 500
    started = time.monotonic()
    result = workflows(shared).mark_community_as_read_with_history(COMMUNITY)
    wall = time.monotonic() - started
    assert result.status is WorkflowStatus.SUCCESS, result.reason
    assert (result.groups_total, result.groups_processed) == (3, 3)
    assert (result.messages_synced, result.messages_marked) == (500, 500)
    assert 0 < result.elapsed <= wall
    rows = go_rows(shared, GROUPS)
    assert len(rows) == len({(r["chat_jid"], r["id"]) for r in rows}) == 500
    assert {g: sum(1 for r in rows if r["chat_jid"] == g) for g in GROUPS} == GROUPS
    assert all(r["is_read"] for r in rows)
    assert shared.baileys_ctl.stored() == []  # the temporary store is cleared after the sync
    assert shared.baileys_ctl.state()["history"] == 0
    assert shared.go_ctl.statuses("/api/communities/*/mark_read") == [200]


@pytest.mark.req("FR-032")
def test_community_workflow_baileys_fails_midway_error_and_no_corruption(shared: Stack) -> None:
    seed_community(shared)
    earlier = generate_messages("120363100000000001@g.us", 5, prefix="old-", start=1_600_000_000)
    shared.go_ctl.seed(messages=[{**m, "is_read": True} for m in earlier])
    before = shared.go_ctl.stored()
    shared.baileys_ctl.fail(500, ["/api/history/fetch-older"], after=1, times=1,
                            body={"success": False, "message": "history sync interrupted"})
    result = workflows(shared).mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.FAILED
    assert result.reason.startswith("history sync failed: baileys bridge HTTP 500")
    assert "history sync interrupted" in result.reason
    assert (result.groups_processed, result.messages_synced, result.messages_marked) == (1, 0, 0)
    assert shared.go_ctl.stored() == before  # Go untouched: nothing half-written, nothing marked
    assert len(shared.baileys_ctl.stored()) == 100  # what was fetched stays in the temporary store
    retry = workflows(shared).mark_community_as_read_with_history(COMMUNITY)
    assert retry.status is WorkflowStatus.SUCCESS, retry.reason
    rows = go_rows(shared, GROUPS)
    assert len(rows) == len({(r["chat_jid"], r["id"]) for r in rows}) == 505
    assert all(r["is_read"] for r in rows)


@pytest.mark.req("FR-032")
def test_community_workflow_baileys_drops_connection_while_paging_fails_without_loss(shared: Stack) -> None:
    seed_community(shared)
    shared.baileys_ctl.drop(["/api/messages"], after=1, times=1)  # the second page is never answered
    syncer = MessageSync(shared.go, shared.baileys, page_size=200)
    result = workflows(shared, syncer=syncer).mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.FAILED
    assert "fetching from Baileys failed" in result.reason
    assert (result.messages_synced, result.messages_marked) == (0, 0)
    assert go_rows(shared, GROUPS) == []
    assert len(shared.baileys_ctl.stored()) == 500  # nothing cleared: the next run can still sync it all
    assert shared.baileys_ctl.statuses("/api/messages") == [200, 0]
    assert shared.baileys_ctl.calls("/api/clear") == []


@pytest.mark.req("FR-033", "FR-035")
def test_community_workflow_go_mark_read_fails_partial_success_synced_not_read(shared: Stack) -> None:
    seed_community(shared)
    shared.go_ctl.fail(500, ["/api/communities/*/mark_read"],
                       body={"success": False, "message": "whatsapp api error", "error_code": "WHATSAPP_API_ERROR"})
    result = workflows(shared).mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.PARTIAL and not result.success
    assert result.reason.startswith("marking as read failed: go bridge HTTP 500 WHATSAPP_API_ERROR")
    assert (result.groups_processed, result.messages_synced, result.messages_marked) == (3, 500, 0)
    rows = go_rows(shared, GROUPS)
    assert len(rows) == 500 and not any(r["is_read"] for r in rows)  # stored, honestly still unread
    assert shared.baileys_ctl.stored() == []  # the sync itself completed and cleared the store


@pytest.mark.req("FR-034", "FR-035")
def test_community_workflow_slow_history_within_timeout_succeeds(shared: Stack) -> None:
    seed_community(shared)
    shared.baileys_ctl.set_latency(0.3, ["/api/history/fetch-older"])  # 3 groups: 0.9 s of history fetching
    result = workflows(shared).mark_community_as_read_with_history(COMMUNITY, timeout=10)
    assert result.status is WorkflowStatus.SUCCESS, result.reason
    assert 0.9 <= result.elapsed < 10
    assert result.messages_marked == 500


@pytest.mark.req("FR-034")
def test_community_workflow_history_slower_than_timeout_fails_at_deadline(shared: Stack) -> None:
    seed_community(shared)
    shared.baileys_ctl.set_latency(0.5, ["/api/history/fetch-older"])
    result = workflows(shared).mark_community_as_read_with_history(COMMUNITY, timeout=1.2)
    assert result.status is WorkflowStatus.FAILED
    assert "timeout" in result.reason
    assert result.groups_processed == 2  # the third fetch got only what was left of the 1.2 s
    assert 1.0 <= result.elapsed < 3.0  # cut near the deadline, not after the slow answer
    assert go_rows(shared, GROUPS) == []


def _by_phase(stack: Stack, phase: threading.Barrier) -> MessageSync:
    """A syncer that starts only when every workflow has fetched its history (see the test below)."""

    class AfterFetching(MessageSync):
        def sync_all_chats(self, clear: bool = True) -> SyncResult:
            phase.wait(timeout=60)
            return super().sync_all_chats(clear)

    return AfterFetching(stack.go, stack.baileys)


@pytest.mark.req("FR-031", "FR-035")
def test_community_workflow_two_communities_concurrently_both_complete(shared: Stack) -> None:
    seed_community(shared)
    seed_community(shared, OTHER, OTHER_GROUPS, tag="o")
    # Both workflows fetch, sync, clear and mark at the same time. They start their syncs together:
    # the workflow clears the whole temporary store, so a fetch landing between another workflow's
    # read and clear would be lost (see the xfail test below); here every fetch precedes every sync.
    phase = threading.Barrier(2)
    results: list[Any] = run_together([
        lambda: HybridWorkflows(shared.go, shared.baileys, _by_phase(shared, phase))
        .mark_community_as_read_with_history(COMMUNITY),
        lambda: HybridWorkflows(shared.go, shared.baileys, _by_phase(shared, phase))
        .mark_community_as_read_with_history(OTHER),
    ])
    assert all(isinstance(r, WorkflowResult) and r.status is WorkflowStatus.SUCCESS for r in results), results
    assert [r.groups_processed for r in results] == [3, 2]
    assert sum(r.messages_synced for r in results) == 700  # every message stored by exactly one of them
    rows = go_rows(shared, {**GROUPS, **OTHER_GROUPS})
    assert len(rows) == len({(r["chat_jid"], r["id"]) for r in rows}) == 700
    assert all(r["is_read"] for r in rows)
    assert shared.baileys_ctl.stored() == []


@pytest.mark.req("FR-031")
@pytest.mark.xfail(strict=True, reason="known race: HybridWorkflows clears the whole Baileys store after its "
                   "sync, deleting history another workflow fetched in between (whatsapp_mcp/workflows.py)")
def test_community_workflow_fetch_between_other_sync_and_clear_keeps_messages(shared: Stack) -> None:
    seed_community(shared)
    seed_community(shared, OTHER, OTHER_GROUPS, tag="o")
    fetched, cleared = threading.Event(), threading.Event()

    class ClearsAfterOtherFetched(BaileysClient):
        def clear(self) -> str:
            fetched.wait(timeout=30)  # the other workflow fetches after this one read the store
            try:
                return super().clear()
            finally:
                cleared.set()

    class FetchesLate(BaileysClient):
        fetches = 0

        def fetch_older(self, *args: Any, **kwargs: Any) -> str:
            request = super().fetch_older(*args, **kwargs)
            self.fetches += 1
            if self.fetches == len(OTHER_GROUPS):
                fetched.set()
            return request

        def get_messages(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
            cleared.wait(timeout=30)
            return super().get_messages(*args, **kwargs)

    first_baileys = ClearsAfterOtherFetched(shared.baileys.base_url)
    late_baileys = FetchesLate(shared.baileys.base_url)
    first = HybridWorkflows(shared.go, first_baileys)
    late = HybridWorkflows(shared.go, late_baileys)

    def late_run() -> WorkflowResult:
        # begins once the first workflow has read the store (it is waiting to clear it)
        for _ in range(3000):
            if shared.baileys_ctl.calls("/api/messages"):
                break
            time.sleep(0.01)
        return late.mark_community_as_read_with_history(OTHER)

    results = run_together([lambda: first.mark_community_as_read_with_history(COMMUNITY), late_run])
    assert all(isinstance(r, WorkflowResult) for r in results), results
    rows = go_rows(shared, OTHER_GROUPS)
    assert len(rows) == 200, f"{200 - len(rows)} messages of {OTHER} were lost"
