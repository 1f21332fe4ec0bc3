"""Wire tests of the Bitrix24 task and notification sinks (tasks.py, notify.py) and the partner-lead
stage history (lead_history.py): the exact commands, recovery of a push cut off midway, and what each
answer becomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qsl

import responses
from b24_support import MemoryKV
from b24_wire_support import HOOK, _adapter, _batch, _catalog_kv, _sent

from crm_bridge.domain.model import StageKind
from crm_bridge.ports import Entity, NotificationDraft, RecordRef, SyncCursor, TaskDraft, WriteOutcome

DEADLINE = datetime(2026, 12, 31, 20, 59, 59, tzinfo=UTC)


def _commands(call: Any) -> list[tuple[str, dict[str, str]]]:
    out = []
    for cmd in _sent(call)["cmd"].values():
        method, _, query = cmd.partition("?")
        out.append((method, dict(parse_qsl(query, keep_blank_values=True))))
    return out


@responses.activate
def test_a_task_carries_its_text_responsible_deadline_and_company_card() -> None:
    responses.post(
        HOOK + "batch",
        json=_batch({"c0": {"task": {"id": 55}}, "c1": {"tasks": []}, "c2": {"task": {"id": 56}}}),
    )
    drafts = [
        TaskDraft("t1", "Call Acme", "About the tier", "7", DEADLINE, RecordRef(Entity.PARTNER, "5")),
        TaskDraft("t2", "Unbound", "", "8", DEADLINE),
        TaskDraft("t3", "Deal", "", "8", DEADLINE, RecordRef(Entity.DEAL, "9")),
    ]

    out = _adapter().create_tasks(drafts)

    assert out == [
        WriteOutcome("t1", "55", created=True),
        WriteOutcome("t2", None, error="no task in the answer"),
        WriteOutcome("t3", "56", created=True),
    ]
    commands = _commands(responses.calls[0])
    assert commands[0] == (
        "tasks.task.add",
        {
            "fields[TITLE]": "Call Acme",
            "fields[DESCRIPTION]": "About the tier",
            "fields[RESPONSIBLE_ID]": "7",
            "fields[DEADLINE]": "2026-12-31T20:59:59+00:00",
            "fields[XML_ID]": "t1",
            "fields[UF_CRM_TASK][0]": "CO_5",
        },
    )
    assert "fields[UF_CRM_TASK][0]" not in commands[1][1]
    assert commands[2][1]["fields[UF_CRM_TASK][0]"] == "D_9"


@responses.activate
def test_a_task_with_a_deadline_in_no_time_zone_is_refused_before_sending() -> None:
    [out] = _adapter().create_tasks([TaskDraft("t1", "Call", "", "7", datetime(2026, 12, 31, 12))])
    assert out == WriteOutcome("t1", None, error="the task deadline must be timezone-aware")
    assert len(responses.calls) == 0


@responses.activate
def test_a_refused_task_says_what_the_portal_said() -> None:
    responses.post(
        HOOK + "batch", json=_batch({}, {"c0": {"error": "ERROR_CORE", "error_description": "No such user"}})
    )
    [out] = _adapter().create_tasks([TaskDraft("t1", "Call", "", "7", DEADLINE)])
    assert out == WriteOutcome("t1", None, error="Bitrix24: No such user [ERROR_CORE]")


@responses.activate
def test_tasks_left_pending_by_a_crash_are_looked_up_by_responsible_title_and_card() -> None:
    kv = MemoryKV()
    for ext in ("p1", "p2", "p3"):
        kv.set("bitrix24.task:" + ext, {"pending": True})
    moscow = timezone(timedelta(hours=3))
    found = {
        "c0": {
            "tasks": [
                {"id": "70", "xmlId": "other"},
                {"id": "71", "xmlId": "p1"},
                {"id": "74", "xmlId": "p1"},
            ]
        },
        "c1": {"tasks": [{"ID": "72", "TITLE": "Call B", "DEADLINE": "2026-12-31T23:59:59+03:00"}]},
        "c2": {"tasks": [{"id": "73", "title": "Call C", "deadline": "2026-12-30T23:59:59+03:00"}]},
    }
    responses.post(HOOK + "batch", json=_batch(found))
    responses.post(HOOK + "batch", json=_batch({"c0": {"task": {"id": "80"}}}))
    drafts = [
        TaskDraft("p1", "Call A", "", "7", DEADLINE, RecordRef(Entity.LEAD, "12")),
        TaskDraft("p2", "Call B", "", "7", DEADLINE.replace(microsecond=123)),
        TaskDraft("p3", "Call C", "", "7", DEADLINE.astimezone(moscow)),
    ]

    out = _adapter(kv).create_tasks(drafts)

    assert out == [
        WriteOutcome("p1", "71", created=False),
        WriteOutcome("p2", "72", created=False),
        WriteOutcome("p3", "80", created=True),
    ]
    lookups = _commands(responses.calls[0])
    assert lookups[0] == (
        "tasks.task.list",
        {
            "filter[RESPONSIBLE_ID]": "7",
            "filter[TITLE]": "Call A",
            "filter[UF_CRM_TASK]": "D_12",
            "select[0]": "ID",
            "select[1]": "XML_ID",
            "select[2]": "TITLE",
            "select[3]": "DEADLINE",
        },
    )
    assert "filter[UF_CRM_TASK]" not in lookups[1][1]
    assert kv.data["bitrix24.task:p2"] == {"id": "72"}


@responses.activate
def test_a_failed_lookup_of_pending_tasks_creates_them_again() -> None:
    kv = MemoryKV()
    kv.set("bitrix24.task:p1", {"pending": True})
    responses.post(
        HOOK + "batch", json=_batch({}, {"c0": {"error": "ACCESS_DENIED", "error_description": ""}})
    )
    responses.post(HOOK + "batch", json=_batch({"c0": {"task": {"id": "81"}}}))

    [out] = _adapter(kv).create_tasks([TaskDraft("p1", "Call", "", "7", DEADLINE)])

    assert out == WriteOutcome("p1", "81", created=True)


@responses.activate
def test_notifications_carry_the_numeric_user_our_tag_and_client_id() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": 12, "c1": False, "c2": "0", "c3": None}))
    drafts = [
        NotificationDraft("n1", "7", "Hi"),
        NotificationDraft("n2", "8", "Hi"),
        NotificationDraft("n3", "9", "Hi"),
        NotificationDraft("n4", "boss", "Hi"),
    ]

    out = _adapter().send_notifications(drafts)

    assert out == [
        WriteOutcome("n1", "12", created=True),
        WriteOutcome("n2", None, error="Bitrix24 did not deliver the notification"),
        WriteOutcome("n3", None, error="Bitrix24 did not deliver the notification"),
        WriteOutcome("n4", None, error="Bitrix24 did not deliver the notification"),
    ]
    commands = _commands(responses.calls[0])
    assert commands[0] == (
        "im.notify.system.add",
        {"USER_ID": "7", "MESSAGE": "Hi", "TAG": "crm_bridge|n1", "CLIENT_ID": "crm_bridge"},
    )
    assert commands[3][1]["USER_ID"] == "boss"


def _lead_row(crm_id: int, moved: str | None, stage: str = "C9:NEW") -> dict[str, Any]:
    return {
        "ID": str(crm_id),
        "TITLE": f"Lead {crm_id}",
        "STAGE_ID": stage,
        "CATEGORY_ID": "9",
        "DATE_CREATE": "2024-08-01T10:00:00+00:00",
        "DATE_MODIFY": "2024-08-02T10:00:00+00:00",
        "MOVED_TIME": moved or "2024-08-01T10:00:00+00:00",
    }


def _history_kv() -> MemoryKV:
    kv = _catalog_kv()
    catalog = kv.data["bitrix24.catalog"]
    catalog["stages"] = {
        "C9:NEW": ["leads", "registered", "open"],
        "C9:QUAL": ["leads", "qualified", "open"],
        "C9:WON": ["leads", "won", "won"],
        "C9:LOSE": ["leads", "lost", "lost"],
    }
    return kv


@responses.activate
def test_a_moved_lead_gets_its_first_touch_and_furthest_stage_from_the_history() -> None:
    rows = [
        _lead_row(1, "2024-08-05T10:00:00+00:00", "C9:LOSE"),
        _lead_row(2, None),
        _lead_row(3, "2024-08-06T10:00:00+00:00", "C9:NEW"),
    ]
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "time": {"start": 1724916859.0}})
    history = {
        "items": [
            {
                "ID": "2",
                "TYPE_ID": "3",
                "OWNER_ID": "1",
                "CREATED_TIME": "2024-08-03T10:00:00+00:00",
                "STAGE_ID": "C9:QUAL",
            },
            {
                "ID": "1",
                "TYPE_ID": "1",
                "OWNER_ID": "1",
                "CREATED_TIME": "2024-08-01T10:00:00+00:00",
                "STAGE_ID": "C9:NEW",
            },
            {
                "ID": "3",
                "TYPE_ID": "2",
                "OWNER_ID": "1",
                "CREATED_TIME": "2024-08-05T10:00:00+00:00",
                "STAGE_ID": "C9:LOSE",
            },
        ]
    }
    responses.post(HOOK + "batch", json=_batch({"c0": history}, totals={"c0": 3}))
    cursor = SyncCursor(datetime(2024, 8, 1, tzinfo=UTC), "0")

    [page] = list(_adapter(_history_kv()).changed_since(Entity.LEAD, cursor))

    leads = {lead.crm_id: lead for lead in page.records}
    assert leads["1"].first_touch_at == datetime(2024, 8, 3, 10, tzinfo=UTC)
    assert (leads["1"].furthest_stage, leads["1"].stage_kind) == ("qualified", StageKind.LOST)
    assert (leads["2"].first_touch_at, leads["2"].furthest_stage) == (None, "registered")
    # moved, but its history is older than the portal keeps: the last move stands in
    assert (leads["3"].first_touch_at, leads["3"].furthest_stage) == (
        datetime(2024, 8, 6, 10, tzinfo=UTC),
        "registered",
    )
    [(method, params)] = _commands(responses.calls[1])
    assert method == "crm.stagehistory.list"
    assert params == {
        "entityTypeId": "2",
        "filter[OWNER_ID][0]": "1",
        "filter[OWNER_ID][1]": "3",
        "order[ID]": "ASC",
        "select[0]": "ID",
        "select[1]": "TYPE_ID",
        "select[2]": "OWNER_ID",
        "select[3]": "CREATED_TIME",
        "select[4]": "STAGE_ID",
        "start": "0",
    }


@responses.activate
def test_a_history_longer_than_a_page_is_read_to_its_end_25_leads_to_a_command() -> None:
    rows = [_lead_row(i, "2024-08-05T10:00:00+00:00") for i in range(1, 31)]
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "time": {"start": 1724916859.0}})
    first = {
        "items": [
            {
                "ID": "1",
                "TYPE_ID": "2",
                "OWNER_ID": "1",
                "CREATED_TIME": "2024-08-02T10:00:00+00:00",
                "STAGE_ID": "C9:QUAL",
            }
        ]
    }
    responses.post(
        HOOK + "batch", json=_batch({"c0": first, "c1": {"items": []}}, totals={"c0": 120, "c1": 2})
    )
    more = {
        "items": [
            {
                "ID": "9",
                "TYPE_ID": "2",
                "OWNER_ID": "2",
                "CREATED_TIME": "2024-08-04T10:00:00+00:00",
                "STAGE_ID": "C9:QUAL",
            }
        ]
    }
    responses.post(HOOK + "batch", json=_batch({"c0": more, "c1": {"items": []}}))

    [page] = list(
        _adapter(_history_kv()).changed_since(Entity.LEAD, SyncCursor(datetime(2024, 8, 1, tzinfo=UTC), "0"))
    )

    leads = {lead.crm_id: lead for lead in page.records}
    assert leads["2"].first_touch_at == datetime(2024, 8, 4, 10, tzinfo=UTC)
    first_round = _commands(responses.calls[1])
    assert len(first_round) == 2 and "filter[OWNER_ID][24]" in first_round[0][1]
    assert (
        "filter[OWNER_ID][25]" not in first_round[0][1] and first_round[1][1]["filter[OWNER_ID][0]"] == "26"
    )
    second_round = _commands(responses.calls[2])
    assert [p["start"] for _, p in second_round] == ["50", "100"]
    assert len(responses.calls) == 3
