"""Wire tests of the Bitrix24 adapter's writes: batched commands as sent, per-command results and
errors mapped to their own records (payload shapes from bitrix24/b24restdocs)."""

from __future__ import annotations

from datetime import UTC, datetime

import responses
from b24_wire_support import HOOK, _adapter, _batch, _catalog_kv, _sent

from crm_bridge.ports import Entity, NotificationDraft, RecordRef, TaskDraft


@responses.activate
def test_per_command_errors_of_a_batch_belong_to_their_own_records() -> None:
    responses.post(HOOK + "batch", json=_batch({"c0": [], "c1": [{"ID": "5"}]}))  # lookups: none exist yet
    responses.post(
        HOOK + "batch",
        json=_batch(
            {"c0": 394},
            {"c1": {"error": "", "error_description": "Parameter 'fields' must be array."}},
        ),
    )
    from crm_bridge.ports import LeadDraft

    out = _adapter(_catalog_kv()).create_leads([LeadDraft("a", "5", "A"), LeadDraft("b", "5", "B")])

    assert (out[0].crm_id, out[0].created, out[0].ok) == ("394", True, True)
    assert not out[1].ok and "must be array" in (out[1].error or "")
    lookup = list(_sent(responses.calls[0])["cmd"].values())
    assert lookup[0].startswith(
        "crm.deal.list?filter%5BORIGINATOR_ID%5D=crm-bridge&filter%5B%40ORIGIN_ID%5D%5B0%5D=a"
    )
    assert lookup[1].startswith("crm.company.list?filter%5B%40ID%5D%5B0%5D=5")
    adds = list(_sent(responses.calls[1])["cmd"].values())
    assert all(a.startswith("crm.deal.add?") and "auth_connector=crm_bridge" in a for a in adds)
    assert "fields%5BORIGIN_ID%5D=a" in adds[0] and "fields%5BUF_CRM_PARTNER_REF%5D=5" in adds[0]


@responses.activate
def test_a_task_is_bound_to_the_deal_card_and_the_camelcase_answer_is_read() -> None:
    task = {"task": {"id": "3711", "title": "task for test", "responsibleId": "1", "status": "2"}}
    responses.post(HOOK + "batch", json=_batch({"c0": task}))

    [out] = _adapter().create_tasks(
        [
            TaskDraft(
                "t-1",
                "Call",
                "New lead",
                "7",
                datetime(2026, 12, 31, 20, 59, 59, tzinfo=UTC),
                RecordRef(Entity.LEAD, "12"),
            )
        ]
    )

    assert (out.crm_id, out.created) == ("3711", True)
    cmd = list(_sent(responses.calls[0])["cmd"].values())[0]
    assert cmd.startswith("tasks.task.add?")
    assert "fields%5BUF_CRM_TASK%5D%5B0%5D=D_12" in cmd and "fields%5BRESPONSIBLE_ID%5D=7" in cmd
    assert "fields%5BDEADLINE%5D=2026-12-31T20%3A59%3A59%2B00%3A00" in cmd


@responses.activate
def test_a_notification_refused_by_the_portal_fails_only_itself() -> None:
    responses.post(
        HOOK + "batch",
        json=_batch(
            {"c0": 12345}, {"c1": {"error": "USER_ID_EMPTY", "error_description": "User ID can't be empty"}}
        ),
    )

    out = _adapter().send_notifications(
        [NotificationDraft("n1", "7", "Hi"), NotificationDraft("n2", "0", "Hi")]
    )

    assert out[0].ok and out[0].crm_id == "12345"
    assert not out[1].ok and "USER_ID_EMPTY" in (out[1].error or "")
    assert [o.external_id for o in out] == ["n1", "n2"]  # a failed notice is still named by its id
    assert "TAG=crm_bridge%7Cn1" in list(_sent(responses.calls[0])["cmd"].values())[0]


@responses.activate
def test_a_tier_update_and_a_funnel_move_are_sent_as_documented() -> None:
    from crm_bridge.ports import PartnerUpdate, RecordUpdate

    kv = _catalog_kv()
    kv.data["bitrix24.catalog"]["stages"]["C10:NEW"] = ["repeat", "base_review", "open"]
    responses.post(HOOK + "batch", json=_batch({"c0": True}))
    adapter = _adapter(kv)

    [tier] = adapter.update_partners([PartnerUpdate("3", {"tier": "gold"})])
    [moved] = adapter.update_records([RecordUpdate(Entity.DEAL, "12", funnel="repeat", stage="base_review")])

    assert tier.ok and moved.ok
    assert list(_sent(responses.calls[0])["cmd"].values()) == [
        "crm.company.update?id=3&fields%5BUF_CRM_PARTNER_TIER%5D=47&auth_connector=crm_bridge"
    ]
    assert list(_sent(responses.calls[1])["cmd"].values()) == [
        "crm.item.update?entityTypeId=2&id=12&fields%5BcategoryId%5D=10&fields%5BstageId%5D=C10%3ANEW"
        "&useOriginalUfNames=Y&auth_connector=crm_bridge"
    ]
