"""HubSpot tasks and notifications as a user reads them: a notification is a task whose subject is the
message's first line (at most 200 characters, ``crm-bridge`` for a blank message) with one outcome per
notification under its own id; each input a 207 answer refuses gets HubSpot's category, message and
correlationId; a task left pending by a crash is looked up before it is created again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from hs_support import MemoryKV, make_adapter

from crm_bridge.errors import CrmError, TransientError
from crm_bridge.ports import NotificationDraft, TaskDraft, WriteOutcome
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter
from crm_bridge_hubspot.config import HubSpotConfig

BASE = "https://api.hubapi.com"
DUE = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)


def _created(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [
        json.loads(r["body"]) for r in sandbox.requests() if r["path"] == "/crm/v3/objects/tasks/batch/create"
    ]


def test_a_notification_is_a_task_titled_by_the_first_line_of_its_message(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    owner = provisioned.list_users()[0].crm_id
    sandbox.log.clear()
    drafts = [
        NotificationDraft("n-1", owner, "Lead 17 is overdue\nCall the partner today"),
        NotificationDraft("n-2", owner, "x" * 300),
        NotificationDraft("n-3", owner, "  \n "),
    ]

    outcomes = provisioned.send_notifications(drafts)

    [create] = _created(sandbox)
    subjects = [i["properties"]["hs_task_subject"] for i in create["inputs"]]
    assert subjects == ["Lead 17 is overdue", "x" * 200, "crm-bridge"]
    assert [i["properties"]["hs_task_body"] for i in create["inputs"]] == [d.message for d in drafts]
    ids = [str(t["id"]) for t in sandbox.emulator.dump()["objects"]["tasks"]]
    assert outcomes == [
        WriteOutcome(f"n-{n}", crm_id, created=True) for n, crm_id in zip((1, 2, 3), ids, strict=True)
    ]


def test_a_refused_notification_says_why_under_its_own_id(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    owner = provisioned.list_users()[0].crm_id
    sandbox.faults.set(FaultPlan(sequence=[400]))

    [outcome] = provisioned.send_notifications([NotificationDraft("n-1", owner, "Lead 17 is overdue")])

    assert (outcome.external_id, outcome.crm_id, outcome.created) == ("n-1", None, False)
    assert (outcome.error or "").startswith(
        "hubspot: POST /crm/v3/objects/tasks/batch/create answered HTTP 400 VALIDATION_ERROR: "
    )


def test_a_task_lost_before_hubspot_ran_it_is_looked_up_then_created(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    owner = provisioned.list_users()[0].crm_id
    draft = TaskDraft("t-1", "Call the partner", "SLA", owner, DUE)
    sandbox.faults.set(FaultPlan(drop_at=[1]))  # the connection drops before HubSpot runs it

    with pytest.raises(CrmError):
        provisioned.create_tasks([draft])
    sandbox.faults.clear()
    sandbox.log.clear()
    [again] = provisioned.create_tasks([draft])

    [task] = sandbox.emulator.dump()["objects"]["tasks"]
    assert again == WriteOutcome("t-1", str(task["id"]), created=True)
    assert [r["path"] for r in sandbox.requests()] == [
        "/crm/v3/objects/tasks/search",
        "/crm/v3/objects/tasks/batch/create",
    ]


def test_a_task_whose_answer_was_lost_is_found_again_under_hubspots_id(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    owner = provisioned.list_users()[0].crm_id
    draft = TaskDraft("t-1", "Call the partner", "SLA", owner, DUE)
    sandbox.faults.set(FaultPlan(drop_after_at=[1]))  # HubSpot creates it; the answer never arrives

    with pytest.raises(CrmError):
        provisioned.create_tasks([draft])
    sandbox.faults.clear()
    [again] = provisioned.create_tasks([draft])

    [task] = sandbox.emulator.dump()["objects"]["tasks"]
    assert again == WriteOutcome("t-1", str(task["id"]), created=False)


def test_a_lookup_answered_with_no_json_names_the_search(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    owner = provisioned.list_users()[0].crm_id
    draft = TaskDraft("t-1", "Call the partner", "SLA", owner, DUE)
    sandbox.faults.set(FaultPlan(drop_after_at=[1]))
    with pytest.raises(CrmError):
        provisioned.create_tasks([draft])
    sandbox.faults.set(FaultPlan(malformed=["html"]))

    with pytest.raises(TransientError) as caught:
        provisioned.create_tasks([draft])

    assert str(caught.value) == "hubspot: POST /crm/v3/objects/tasks/search answered with no JSON"


@pytest.fixture
def wire() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock() as mock:
        yield mock


def test_each_input_a_207_refuses_gets_hubspots_category_message_and_correlation_id(
    wire: responses.RequestsMock,
) -> None:
    errors = [
        {
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": "Property values were not valid",
            "correlationId": "1c2d3e4f-0000-4000-8000-000000000001",
            "context": {"objectWriteTraceId": ["t-1"]},
        },
        {"status": "error", "message": "Owner 9 is not active", "context": {"objectWriteTraceId": ["t-2"]}},
        {"status": "error", "category": "VALIDATION_ERROR", "context": {"objectWriteTraceId": ["t-3"]}},
    ]
    wire.post(
        f"{BASE}/crm/v3/objects/tasks/batch/create",
        status=207,
        json={"status": "COMPLETE", "results": [], "errors": errors, "numErrors": 3},
    )
    made = make_adapter(HubSpotConfig(access_token="pat-na1-test"), MemoryKV())  # type: ignore[call-arg]
    drafts = [TaskDraft(f"t-{n}", "Call", "SLA", "9", DUE) for n in (1, 2, 3)]

    outcomes = made.create_tasks(drafts)
    made.close()

    assert [o.error for o in outcomes] == [
        f"VALIDATION_ERROR: Property values were not valid (correlationId {errors[0]['correlationId']})",
        "ERROR: Owner 9 is not active",
        "VALIDATION_ERROR: failed",
    ]


def test_a_207_answer_gives_each_task_the_id_of_its_own_trace(wire: responses.RequestsMock) -> None:
    results = [  # HubSpot does not promise the order of its results
        {"id": "9003", "objectWriteTraceId": "t-3", "properties": {"hs_task_subject": "Call"}},
        {"id": "9002", "objectWriteTraceId": "t-2", "properties": {"hs_task_subject": "Call"}},
    ]
    error = {"status": "error", "category": "VALIDATION_ERROR", "message": "Owner 9 is not active",
             "context": {"objectWriteTraceId": ["t-1"]}}  # fmt: skip
    wire.post(
        f"{BASE}/crm/v3/objects/tasks/batch/create",
        status=207,
        json={"status": "COMPLETE", "results": results, "errors": [error], "numErrors": 1},
    )
    made = make_adapter(HubSpotConfig(access_token="pat-na1-test"), MemoryKV())  # type: ignore[call-arg]

    outcomes = made.create_tasks([TaskDraft(f"t-{n}", "Call", "SLA", "9", DUE) for n in (1, 2, 3)])
    made.close()

    assert outcomes == [
        WriteOutcome("t-1", None, error="VALIDATION_ERROR: Owner 9 is not active"),
        WriteOutcome("t-2", "9002", created=True),
        WriteOutcome("t-3", "9003", created=True),
    ]


def test_a_task_due_at_a_time_without_zone_is_refused_without_a_request(wire: responses.RequestsMock) -> None:
    made = make_adapter(HubSpotConfig(access_token="pat-na1-test"), MemoryKV())  # type: ignore[call-arg]

    [outcome] = made.create_tasks([TaskDraft("t-1", "Call", "SLA", "9", datetime(2026, 12, 7, 13, 0))])
    made.close()

    assert outcome == WriteOutcome("t-1", None, error="the task deadline must be timezone-aware")
    assert len(wire.calls) == 0
