"""Bitrix24 emulator: tasks (camelCase answers, UF_CRM_TASK bindings), user.get, notifications and the
universal crm.item methods, replayed from the docs' examples."""

from __future__ import annotations

from typing import Any

import pytest
from test_bitrix24_crm import assert_like_docs
from test_bitrix24_support import B24, b24, clock, doc, portal, shape_differences

from crm_bridge_bitrix24.sandbox.emulator import Bitrix24Emulator

__all__ = ["b24", "clock", "portal"]


def common_shape(ours: dict[str, Any], documented: dict[str, Any]) -> list[str]:
    """Shape differences on the keys both have (answers whose key set depends on select/params)."""
    shared = set(ours) & set(documented)
    return shape_differences({k: ours[k] for k in shared}, {k: documented[k] for k in shared})


def staff(portal: Bitrix24Emulator) -> None:
    """The users the docs' task examples name (123, 456, 547)."""
    portal.seed({"users": [{"ID": i, "NAME": f"User {i}"} for i in (123, 456, 547)]})


def test_the_documented_task_add_answers_a_camel_case_task(b24: B24, portal: Bitrix24Emulator) -> None:
    staff(portal)
    example = doc("task_add.json")

    reply = b24.call("tasks.task.add", example["request"])

    # the add page predates the update/get pages, which add sprintId, backlogId and action.take
    assert shape_differences(reply.body["result"], example["response"]["result"], extra_ok=True) == []
    task = reply.body["result"]["task"]
    assert (task["title"], task["responsibleId"], task["createdBy"], task["status"]) == (
        "Task Title",
        "123",
        "456",
        "2",
    )
    assert task["deadline"] == "2025-12-31T23:59:59+03:00"
    assert "ufCrmTask" not in task


def test_crm_bindings_come_back_only_when_selected(b24: B24, portal: Bitrix24Emulator) -> None:
    staff(portal)
    task_id = b24.ok("tasks.task.add", doc("task_add.json")["request"])["task"]["id"]
    example = doc("task_get.json")

    reply = b24.call("tasks.task.get", {**example["request"], "taskId": task_id})
    plain = b24.ok("tasks.task.get", {"taskId": task_id})["task"]

    task = reply.body["result"]["task"]
    assert task["ufCrmTask"] == ["L_4", "C_7", "CO_5", "D_10"]
    assert common_shape(task, example["response"]["result"]["task"]) == []
    assert {"id", "title", "createdBy", "responsibleId", "deadline", "creator", "responsible"} <= set(task)
    assert "ufCrmTask" not in plain


def test_the_documented_update_rebinds_and_reassigns_the_task(b24: B24, portal: Bitrix24Emulator) -> None:
    staff(portal)
    fields = {"TITLE": "Call partner", "RESPONSIBLE_ID": 547, "AUDITORS": [547]}  # as in the docs
    task_id = b24.ok("tasks.task.add", {"fields": fields})["task"]["id"]
    example = doc("task_update.json")

    reply = b24.call("tasks.task.update", {**example["request"], "taskId": task_id})

    documented = example["response"]["result"]["task"]
    assert common_shape(reply.body["result"]["task"], documented) == []
    assert set(documented) <= set(reply.body["result"]["task"])
    task = b24.ok("tasks.task.get", {"taskId": task_id, "select": ["RESPONSIBLE_ID", "UF_CRM_TASK"]})["task"]
    assert (task["responsibleId"], task["ufCrmTask"]) == ("123", ["L_4", "C_7", "CO_5", "D_10"])


def test_the_documented_task_list_filters_orders_and_selects(b24: B24, portal: Bitrix24Emulator) -> None:
    staff(portal)
    for title, deadline, priority, responsible, status in (
        ("later", "2026-12-20T10:00:00", "1", 547, None),
        ("soon high", "2026-12-01T10:00:00", "2", 547, None),
        ("soon low", "2026-12-01T10:00:00", "1", 547, None),
        ("past", "2026-01-01T10:00:00", "1", 547, None),
        ("deferred", "2026-12-05T10:00:00", "1", 547, "6"),
        ("someone else", "2026-12-05T10:00:00", "1", 123, None),
    ):
        fields = {"TITLE": title, "DEADLINE": deadline, "PRIORITY": priority, "RESPONSIBLE_ID": responsible}
        b24.ok("tasks.task.add", {"fields": fields | ({"STATUS": status} if status else {})})
    example = doc("task_list.json")

    reply = b24.call("tasks.task.list", example["request"])

    tasks = reply.body["result"]["tasks"]
    assert [t["title"] for t in tasks] == ["soon high", "soon low", "later"]
    assert reply.body["total"] == 3
    assert common_shape(tasks[0], example["response"]["result"]["tasks"][0]) == []
    assert {
        "id",
        "title",
        "status",
        "subStatus",
        "deadline",
        "createdDate",
        "responsibleId",
        "auditors",
    } <= set(tasks[0])


def test_tasks_refuse_what_the_docs_refuse(b24: B24) -> None:
    answers = [
        b24.call("tasks.task.add", {"fields": {"RESPONSIBLE_ID": 1}}),
        b24.call("tasks.task.add", {"fields": {"TITLE": "no one"}}),
        b24.call("tasks.task.add", {"fields": {"TITLE": "ghost", "RESPONSIBLE_ID": 999}}),
        b24.call("tasks.task.add", {}),
        b24.call("tasks.task.update", {"taskId": 999, "fields": {"TITLE": "x"}}),
        b24.call("tasks.task.list", {"order": {"NOPE": "asc"}}),
    ]

    assert [(a.status, a.body["error"], a.body["error_description"]) for a in answers] == [
        (400, "ERROR_CORE", "Task title is not specified<br>"),
        (400, "ERROR_CORE", "Responsible person not specified<br>"),
        (400, "ERROR_CORE", 'User specified in the "Responsible" field not found<br>'),
        (400, "100", "Could not find value for parameter {fields} (internal error)"),
        (400, "0", "Action on the task is not allowed (internal error)"),
        (400, "0", "Invalid sorting key (internal error)"),
    ]
    assert b24.call("tasks.task.get", {"taskId": 12345}).body["result"] == []


def test_user_get_answers_active_employees_like_the_docs(b24: B24, portal: Bitrix24Emulator) -> None:
    portal.seed({"users": [{"ID": 9, "NAME": "Gone", "ACTIVE": False}]})
    documented = doc("user_get.json")["response"]

    reply = b24.call(
        "user.get", {"FILTER": {"ACTIVE": True, "USER_TYPE": "employee"}, "sort": "ID", "order": "DESC"}
    )
    by_query = b24.call("user.get", {"FILTER": {"ACTIVE": "true"}, "select": ["ID", "NAME"]}, how="query")

    assert_like_docs(reply.body, documented)
    assert [u["ID"] for u in reply.body["result"]] == ["3", "2", "1"]
    assert by_query.body["result"][0] == {"ID": "1", "NAME": "Анна"} and by_query.body["total"] == 3


def test_notifications_are_stored_for_the_recipient_and_a_tag_replaces_older_ones(
    b24: B24, portal: Bitrix24Emulator
) -> None:
    portal.seed({"users": [{"ID": 5, "NAME": "Five"}]})
    system = doc("im_notify_system_add.json")
    personal = doc("im_notify_personal_add.json")

    first = b24.call("im.notify.system.add", system["request"])
    second = b24.call("im.notify.system.add", {**system["request"], "MESSAGE": "  Again  "})
    other = b24.call("im.notify.personal.add", personal["request"])

    assert_like_docs(first.body, system["response"])
    assert_like_docs(other.body, personal["response"])
    notes = portal.state.notifications
    assert [(n["type"], n["message"], n["user_id"]) for n in notes] == [
        ("system", "Again", 5),
        ("personal", "Task Reminder", 5),
    ]
    assert second.body["result"] != first.body["result"]


def test_notification_errors_and_an_unknown_recipient(b24: B24) -> None:
    no_user = b24.call("im.notify.system.add", {"MESSAGE": "hi"})
    no_text = b24.call("im.notify.personal.add", {"USER_ID": 2, "MESSAGE": "   "})
    nobody = b24.call("im.notify", {"USER_ID": 404, "MESSAGE": "hello", "TYPE": "SYSTEM"})

    assert (no_user.status, no_user.body) == (
        400,
        {"error": "USER_ID_EMPTY", "error_description": "User ID can't be empty"},
    )
    assert (no_text.status, no_text.body["error"]) == (400, "MESSAGE_EMPTY")
    assert nobody.body["result"] is False


def test_crm_item_update_moves_a_deal_to_another_funnel_and_its_first_stage(
    b24: B24, portal: Bitrix24Emulator
) -> None:
    b24.ok("crm.category.add", {"entityTypeId": 2, "fields": {"name": "Partners"}})
    deal_id = b24.ok(
        "crm.deal.add", {"fields": {"TITLE": "move me", "STAGE_ID": "EXECUTING", "OPPORTUNITY": 10}}
    )
    portal.register_webhook("http://127.0.0.1:9/hook", ["ONCRMDEALMOVETOCATEGORY"])

    item = b24.ok("crm.item.update", {"entityTypeId": 2, "id": deal_id, "fields": {"categoryId": 1}})["item"]

    assert (item["id"], item["categoryId"], item["stageId"], item["opportunity"]) == (
        deal_id,
        1,
        "C1:NEW",
        10.0,
    )
    assert b24.ok("crm.deal.get", {"id": deal_id})["STAGE_ID"] == "C1:NEW"
    assert b"event=ONCRMDEALMOVETOCATEGORY" in portal.delivered[0][1]  # type: ignore[attr-defined]


def test_crm_item_add_and_get_speak_camel_case_with_typed_values(b24: B24) -> None:
    b24.ok("crm.company.userfield.add", {"fields": {"FIELD_NAME": "1721244707107", "USER_TYPE_ID": "string"}})
    company = b24.ok(
        "crm.item.add", {"entityTypeId": 4, "fields": {"title": "Acme", "ufCrm_1721244707107": "gold"}}
    )

    item = b24.ok("crm.item.get", {"entityTypeId": 4, "id": company["item"]["id"]})["item"]
    original = b24.ok("crm.item.get", {"entityTypeId": 4, "id": item["id"], "useOriginalUfNames": "Y"})[
        "item"
    ]
    missing = b24.call("crm.item.get", {"entityTypeId": 4, "id": 999})

    assert (item["title"], item["ufCrm_1721244707107"], item["assignedById"]) == ("Acme", "gold", 1)
    assert original["UF_CRM_1721244707107"] == "gold"
    assert (missing.status, missing.body["error"], missing.body["error_description"]) == (
        400,
        "NOT_FOUND",
        "Item not found",
    )


def test_a_dumped_portal_restores_losslessly_into_a_new_emulator(b24: B24, portal: Bitrix24Emulator) -> None:
    b24.ok("crm.category.add", {"entityTypeId": 2, "fields": {"name": "Partners"}})
    b24.ok("crm.company.userfield.add", doc("userfield_add_enumeration.json")["request"])
    b24.ok("crm.company.add", {"fields": {"TITLE": "Acme", "PHONE": [{"VALUE": "+1"}]}})
    b24.ok("tasks.task.add", {"fields": {"TITLE": "call", "RESPONSIBLE_ID": 2, "UF_CRM_TASK": ["CO_1"]}})
    portal.register_webhook("http://127.0.0.1:9/hook", ["ONCRMDEALADD"])
    saved = portal.dump()

    fresh = Bitrix24Emulator(rate_limit=False)
    fresh.restore(saved)
    again = B24(fresh)

    assert fresh.dump() == saved
    assert again.ok("crm.company.add", {"fields": {"TITLE": "Next"}}) == 2  # id sequences continue
    names = [c["name"] for c in again.ok("crm.category.list", {"entityTypeId": 2})["categories"]]
    assert names == ["Общая", "Partners"]
    with pytest.raises(ValueError, match="not a saved Bitrix24 sandbox state"):
        fresh.restore({"statuses": [{"colour": "red"}]})
