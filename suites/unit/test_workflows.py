"""The community workflow: history fetch, sync to Go, mark as read; success, partial, failure, timeout."""

from __future__ import annotations

import inspect

import pytest

from mcptest.sim.behaviour import FakeClock, generate_messages
from mcptest.sim.mock import MockBridges
from whatsapp_mcp.backends.baileys_client import BaileysClient
from whatsapp_mcp.backends.go_client import GoClient
from whatsapp_mcp.workflows import HybridWorkflows, WorkflowStatus

COMMUNITY = "120363999999999999@g.us"
GROUPS = {"g1@g.us": 100, "g2@g.us": 150, "g3@g.us": 250}  # 500 messages of history in all


@pytest.fixture
def workflows(go: GoClient, baileys: BaileysClient, clock: FakeClock, sims: MockBridges) -> HybridWorkflows:
    sims.go.seed(
        {"communities": [{"jid": COMMUNITY, "name": "Club", "groups": [{"jid": g} for g in GROUPS]}]}
    )
    history = {g: generate_messages(g, n, prefix=g[:2]) for g, n in GROUPS.items()}
    sims.baileys.seed({"history": history})
    return HybridWorkflows(go, baileys, clock=clock)


def unread(sims: MockBridges) -> int:
    return sum(1 for m in sims.go.stored() if not m["is_read"])


@pytest.mark.req("FR-035")
def test_workflow_three_groups_500_messages_synced_and_marked(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.SUCCESS and result.success
    assert (result.groups_total, result.groups_processed) == (3, 3)
    assert (result.messages_synced, result.messages_marked) == (500, 500)
    assert len(sims.go.stored()) == 500
    assert unread(sims) == 0
    assert sims.baileys.stored() == []  # temporary store cleared after the sync
    assert result.reason == ""


@pytest.mark.req("FR-034", "FR-035")
def test_workflow_history_takes_two_minutes_within_five_minute_timeout_succeeds(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    sims.baileys.set_latency(40.0, ["/api/history/fetch-older"])  # 3 groups x 40 s
    result = workflows.mark_community_as_read_with_history(COMMUNITY, timeout=300)
    assert result.status is WorkflowStatus.SUCCESS
    assert result.elapsed == pytest.approx(120.0)


@pytest.mark.req("FR-034")
def test_workflow_history_slower_than_timeout_fails_at_deadline(
    workflows: HybridWorkflows, sims: MockBridges, clock: FakeClock
) -> None:
    sims.baileys.set_latency(40.0, ["/api/history/fetch-older"])
    result = workflows.mark_community_as_read_with_history(COMMUNITY, timeout=100)
    assert result.status is WorkflowStatus.FAILED
    assert "timeout" in result.reason
    assert result.groups_processed == 2
    assert result.elapsed == pytest.approx(100.0)  # the third fetch was cut at the deadline
    assert sims.go.stored() == []


@pytest.mark.req("FR-034")
def test_workflow_deadline_passed_before_sync_fails_without_writes(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    sims.baileys.set_latency(50.0, ["/api/history/fetch-older"])
    result = workflows.mark_community_as_read_with_history(COMMUNITY, timeout=150)
    assert result.status is WorkflowStatus.FAILED
    assert result.reason == "timed out after 150s before syncing to Go"
    assert sims.go.stored() == []


@pytest.mark.req("FR-034")
def test_workflow_deadline_passed_after_sync_partial_not_marked(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    sims.go.set_latency(9.0, ["/api/messages/batch"])  # one batch per group: 27 s of sync
    result = workflows.mark_community_as_read_with_history(COMMUNITY, timeout=20)
    assert result.status is WorkflowStatus.PARTIAL
    assert result.reason == "timed out after 20s before marking as read"
    assert result.messages_synced == 500
    assert unread(sims) == 500


@pytest.mark.req("FR-034")
def test_workflow_default_timeout_is_600_seconds(workflows: HybridWorkflows, sims: MockBridges) -> None:
    sims.baileys.set_latency(9.0, ["/api/history/fetch-older"])
    sims.go.set_latency(9.0, ["/api/communities/*"])
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.SUCCESS
    assert result.elapsed == pytest.approx(45.0)
    default = inspect.signature(workflows.mark_community_as_read_with_history).parameters["timeout"].default
    assert default == 600


@pytest.mark.req("FR-032")
def test_workflow_history_fails_midway_failed_with_reason_no_writes(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    sims.baileys.inject_status(
        500, ["/api/history/fetch-older"], after=1, body={"message": "history unavailable"}
    )
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.FAILED
    assert result.reason.startswith("history sync failed")
    assert "HTTP 500" in result.reason and "history unavailable" in result.reason
    assert result.groups_processed == 1
    assert sims.go.stored() == []  # nothing half-written into Go
    assert sims.go.history("/api/communities/*/mark_read") == []


@pytest.mark.req("FR-032")
def test_workflow_baileys_disconnected_failed(workflows: HybridWorkflows, sims: MockBridges) -> None:
    sims.baileys.set_connected(False)
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.FAILED
    assert "HTTP 503" in result.reason


@pytest.mark.req("FR-032")
def test_workflow_unknown_community_failed(workflows: HybridWorkflows) -> None:
    result = workflows.mark_community_as_read_with_history("nope@g.us")
    assert result.status is WorkflowStatus.FAILED
    assert "HTTP 404" in result.reason
    assert result.groups_total == 0


@pytest.mark.req("FR-032", "FR-035")
def test_workflow_sync_fails_entirely_failed_nothing_marked(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    sims.go.inject_status(500, ["/api/messages/batch"])
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.FAILED
    assert result.reason.startswith("sync to Go failed")
    assert result.sync is not None and result.sync.failed == 500
    assert sims.go.history("/api/communities/*/mark_read") == []


@pytest.mark.req("FR-033", "FR-035")
def test_workflow_sync_partly_fails_partial_not_marked(workflows: HybridWorkflows, sims: MockBridges) -> None:
    sims.go.inject_status(500, ["/api/messages/batch"], times=1, after=1)
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.PARTIAL
    assert result.messages_synced == 350  # groups 1 and 3 stored, group 2's batch failed
    assert result.messages_marked == 0
    assert sims.go.history("/api/communities/*/mark_read") == []


@pytest.mark.req("FR-033", "FR-035")
def test_workflow_mark_read_fails_after_sync_partial_success(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    sims.go.inject_status(
        500, ["/api/communities/*/mark_read"], body={"success": False, "error_code": "WHATSAPP_API_ERROR"}
    )
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.PARTIAL
    assert result.success is False
    assert result.reason.startswith("marking as read failed")
    assert "WHATSAPP_API_ERROR" in result.reason
    assert (result.messages_synced, result.messages_marked) == (500, 0)
    assert unread(sims) == 500


@pytest.mark.req("FR-033")
def test_workflow_go_disconnected_partial_synced_not_marked(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    sims.go.set_connected(False)  # the database still takes batches, WhatsApp cannot send receipts
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.PARTIAL
    assert result.messages_synced == 500


@pytest.mark.req("FR-033")
def test_workflow_some_groups_not_marked_partial(workflows: HybridWorkflows, sims: MockBridges) -> None:
    body = {"success": True, "success_count": 2, "fail_count": 1, "skipped_count": 0, "group_results": {}}
    sims.go.inject_status(200, ["/api/communities/*/mark_read"], body=body)
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.PARTIAL
    assert result.reason == "1 groups could not be marked as read"


@pytest.mark.req("FR-033", "FR-034")
def test_workflow_mark_read_times_out_partial_with_timeout_reason(
    workflows: HybridWorkflows, sims: MockBridges
) -> None:
    sims.go.set_latency(15.0, ["/api/communities/*/mark_read"])  # over the Go client's 10 s read timeout
    result = workflows.mark_community_as_read_with_history(COMMUNITY)
    assert result.status is WorkflowStatus.PARTIAL
    assert result.reason.startswith("marking as read (timeout) failed")
