"""Tasks and notifications on amoCRM, body for body: the text, the deadline as Unix time, the follow-up
task type, the responsible user and the record; tasks left pending by a crash are looked up by their
responsible user and record and matched on text and deadline; a notification is a task due in an hour."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from amo_support import MemoryKV, counts, token_config

from crm_bridge.ports import (
    AdapterContext,
    Entity,
    NotificationDraft,
    RecordRef,
    TaskDraft,
    WriteOutcome,
)
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter, build_adapter

NOW = 1_800_000_000.75  # the adapter's clock
DEADLINE = datetime(2026, 11, 3, 17, 0, tzinfo=UTC)


def _adapter(sandbox: Sandbox, kv: MemoryKV) -> AmoCrmAdapter:
    return build_adapter(token_config(sandbox), AdapterContext(kv=kv, clock=lambda: NOW))


def _records(sandbox: Sandbox) -> tuple[str, str]:
    """A lead and a company to bind tasks to."""
    ids = sandbox.emulator.seed({"leads": [{"name": "Lead"}], "companies": [{"name": "Vector LLC"}]})
    sandbox.log.clear()
    return str(ids["leads"][0]), str(ids["companies"][0])


def _posted(sandbox: Sandbox) -> list[Any]:
    return [json.loads(e["body"]) for e in sandbox.requests() if e["method"] == "POST"]


def test_a_task_is_bound_to_its_record_with_the_follow_up_type(sandbox: Sandbox) -> None:
    adapter = _adapter(sandbox, MemoryKV())
    lead, company = _records(sandbox)
    drafts = [
        TaskDraft(
            "t-1",
            "Call the customer",
            "New partner lead",
            "8000002",
            DEADLINE,
            RecordRef(Entity.LEAD, lead),
        ),
        TaskDraft("t-2", "Check the partner", "", "8000003", DEADLINE, RecordRef(Entity.PARTNER, company)),
        TaskDraft("t-3", "Plain", "", "", DEADLINE),
    ]

    outcomes = adapter.create_tasks(drafts)

    assert [(o.external_id, o.created, o.error) for o in outcomes] == [
        ("t-1", True, None),
        ("t-2", True, None),
        ("t-3", True, None),
    ]
    till = int(DEADLINE.timestamp())
    assert _posted(sandbox) == [
        [
            {
                "text": "Call the customer\nNew partner lead",
                "complete_till": till,
                "task_type_id": 1,
                "responsible_user_id": 8000002,
                "entity_type": "leads",
                "entity_id": int(lead),
                "request_id": "0",
            },
            {
                "text": "Check the partner",
                "complete_till": till,
                "task_type_id": 1,
                "responsible_user_id": 8000003,
                "entity_type": "companies",
                "entity_id": int(company),
                "request_id": "1",
            },
            {"text": "Plain", "complete_till": till, "task_type_id": 1, "request_id": "2"},
        ]
    ]


def test_a_naive_deadline_is_refused_before_anything_is_sent(sandbox: Sandbox) -> None:
    adapter = _adapter(sandbox, MemoryKV())

    [outcome] = adapter.create_tasks([TaskDraft("t-1", "Call", "", "8000002", datetime(2026, 11, 3, 17, 0))])

    assert outcome == WriteOutcome("t-1", None, error="the task deadline must be timezone-aware")
    assert sandbox.request_count() == 0


def test_tasks_left_pending_by_a_crash_are_found_or_created_again(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    adapter = _adapter(sandbox, kv)
    lead_id, _ = _records(sandbox)
    lead = RecordRef(Entity.LEAD, lead_id)
    made = adapter.create_tasks(
        [
            TaskDraft("t-1", "Call", "today", "8000002", DEADLINE, lead),
            TaskDraft("t-2", "Call", "today", "8000002", DEADLINE.replace(hour=18), lead),
        ]
    )
    # a crash after sending: t-1 is in amoCRM but only pending here; t-3 never left
    kv.set("amocrm.task:t-1", {"pending": True})
    kv.set("amocrm.task:t-3", {"pending": True})
    sandbox.log.clear()

    outcomes = adapter.create_tasks(
        [
            TaskDraft("t-1", "Call", "today", "8000002", DEADLINE, lead),
            TaskDraft("t-2", "Call", "today", "8000002", DEADLINE.replace(hour=18), lead),
            TaskDraft("t-3", "Call", "today", "8000002", DEADLINE.replace(hour=19), lead),
        ]
    )

    assert [(o.crm_id, o.created) for o in outcomes[:2]] == [(made[0].crm_id, False), (made[1].crm_id, False)]
    assert outcomes[2].created and outcomes[2].crm_id not in {made[0].crm_id, made[1].crm_id}
    lookups = [e["query"] for e in sandbox.requests() if e["method"] == "GET"]
    expected = {
        "filter[is_completed]": ["0"],
        "filter[responsible_user_id][]": ["8000002"],
        "filter[entity_type]": ["leads"],
        "filter[entity_id][]": [lead_id],
        "page": ["1"],
        "limit": ["250"],
    }
    assert lookups == [expected, expected]  # one per pending task
    assert counts(sandbox) == {"GET /api/v4/tasks": 2, "POST /api/v4/tasks": 1}
    assert len(sandbox.emulator.dump()["tasks"]) == 3


def test_a_pending_task_without_user_or_record_is_looked_up_unfiltered(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    adapter = _adapter(sandbox, kv)
    [made] = adapter.create_tasks([TaskDraft("t-1", "Plain", "", "", DEADLINE)])
    kv.set("amocrm.task:t-1", {"pending": True})
    sandbox.log.clear()

    [again] = adapter.create_tasks([TaskDraft("t-1", "Plain", "", "", DEADLINE)])

    assert (again.crm_id, again.created) == (made.crm_id, False)
    assert [e["query"] for e in sandbox.requests()] == [
        {"filter[is_completed]": ["0"], "page": ["1"], "limit": ["250"]}
    ]


def test_a_notification_is_a_task_due_in_an_hour_titled_by_its_first_line(sandbox: Sandbox) -> None:
    adapter = _adapter(sandbox, MemoryKV())

    outcomes = adapter.send_notifications(
        [
            NotificationDraft("n-1", "8000002", "New lead from Vector LLC\nCall before noon\nBuyer: Anna"),
            NotificationDraft("n-2", "8000003", "x" * 300),
        ]
    )

    assert [(o.external_id, o.created) for o in outcomes] == [("n-1", True), ("n-2", True)]
    due = int(NOW) + 3600
    assert _posted(sandbox) == [
        [
            {
                "text": "New lead from Vector LLC\nCall before noon\nBuyer: Anna",
                "complete_till": due,
                "task_type_id": 1,
                "responsible_user_id": 8000002,
                "request_id": "0",
            },
            {
                "text": "x" * 255,
                "complete_till": due,
                "task_type_id": 1,
                "responsible_user_id": 8000003,
                "request_id": "1",
            },
        ]
    ]
    assert adapter.send_notifications([NotificationDraft("n-1", "8000002", "again")])[0].created is False
