"""Wire tests: the requests the Bitrix24 adapter sends and how it reads the answers, replaying the
payload shapes of the official docs (bitrix24/b24restdocs) through ``responses``, error answers
included."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from b24_support import MemoryKV, Sleeps

from crm_bridge.adapters.bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge.config_crm import Bitrix24Config
from crm_bridge.errors import AuthError, CrmValidationError, PermissionDenied, TransientError
from crm_bridge.ports import AdapterContext, Entity, NotificationDraft, RecordRef, TaskDraft

HOOK = "https://example.bitrix24.ru/rest/1/s3cr3tw3bh00k/"
TIME = {
    "start": 1724916859.42,
    "finish": 1724916859.47,
    "duration": 0.05,
    "processing": 0.01,
    "date_start": "2024-08-29T10:34:19+03:00",
    "date_finish": "2024-08-29T10:34:19+03:00",
    "operating_reset_at": 1724917459,
    "operating": 0,
}


def _adapter(kv: MemoryKV | None = None, sleeps: Sleeps | None = None, **config: Any) -> Bitrix24Adapter:
    cfg = Bitrix24Config(webhook_url=HOOK, **config) if "oauth" not in config else Bitrix24Config(**config)
    ctx = AdapterContext(kv=kv or MemoryKV(), clock=lambda: 1724916859.0, sleep=sleeps or Sleeps())
    return build_adapter(cfg, ctx)


def _batch(
    result: dict[str, Any], errors: dict[str, Any] | None = None, totals: dict[str, int] | None = None
) -> dict[str, Any]:
    return {
        "result": {
            "result": result or [],
            "result_error": errors or [],
            "result_total": totals or [],
            "result_next": [],
            "result_time": [],
        },
        "time": TIME,
    }


def _sent(call: Any) -> dict[str, Any]:
    return json.loads(call.request.body)


@responses.activate
def test_scope_answer_from_the_docs_is_read_and_missing_scopes_are_named() -> None:
    responses.post(HOOK + "scope", json={"result": ["crm", "user", "department"], "time": TIME})
    responses.post(HOOK + "batch", json=_batch({"c0": {"categories": []}, "c1": [], "c2": []}))

    checks = {c.name: c for c in _adapter().check()}

    assert checks["connection"].ok
    assert not checks["scopes"].ok and "task, im" in checks["scopes"].detail


@responses.activate
def test_the_layout_is_read_in_one_batch_shaped_like_the_docs() -> None:
    categories = {
        "categories": [
            {
                "id": 9,
                "name": "Partner leads",
                "sort": 200,
                "entityTypeId": 2,
                "isDefault": "N",
                "originId": "",
                "originatorId": "",
            },
            {"id": 0, "name": "General", "sort": 300, "entityTypeId": 2, "isDefault": "Y"},
        ]
    }
    company_ufs = [
        {
            "ID": "6799",
            "ENTITY_ID": "CRM_COMPANY",
            "FIELD_NAME": "UF_CRM_PARTNER_TIER",
            "USER_TYPE_ID": "enumeration",
            "XML_ID": None,
            "SORT": "150",
            "MULTIPLE": "N",
            "MANDATORY": "N",
            "EDIT_FORM_LABEL": "Tier",
            "LIST": [{"ID": "3157", "SORT": "10", "VALUE": "Gold", "DEF": "N", "XML_ID": "gold"}],
        }
    ]
    responses.post(HOOK + "batch", json=_batch({"c0": categories, "c1": company_ufs, "c2": []}))

    observed = _adapter().observe_layout()

    sent = _sent(responses.calls[0])
    assert sent["halt"] == 0
    assert list(sent["cmd"].values()) == [
        "crm.category.list?entityTypeId=2",
        "crm.company.userfield.list?order%5BID%5D=ASC&filter%5BLANG%5D=en",
        "crm.deal.userfield.list?order%5BID%5D=ASC&filter%5BLANG%5D=en",
    ]
    [tier] = observed.fields
    assert (tier.key, tier.code, tier.type.value) == ("tier", "UF_CRM_PARTNER_TIER", "enum")
    assert [(o.crm_id, o.key, o.label) for o in tier.options] == [("3157", "gold", "Gold")]
    assert observed.funnels == ()  # the company's own funnels are not ours


def _catalog_kv() -> MemoryKV:
    kv = MemoryKV()
    kv.set(
        "bitrix24.catalog",
        {
            "funnels": {"leads": 9, "repeat": 10},
            "stages": {"C9:NEW": ["leads", "registered", "open"], "C9:WON": ["leads", "won", "won"]},
            "first_stage": {"leads": "C9:NEW"},
            "fields": {
                "lead.partner_ref": ["UF_CRM_PARTNER_REF", "string", {}],
                "lead.external_id": ["UF_CRM_BRIDGE_EXT_ID", "string", {}],
                "partner.partner_type": ["UF_CRM_PARTNER_TYPE", "enum", {"reseller": 45}],
                "partner.tier": ["UF_CRM_PARTNER_TIER", "enum", {"gold": 47}],
            },
        },
    )
    return kv


@responses.activate
def test_a_small_incremental_window_costs_one_keyset_request_without_a_count() -> None:
    rows = [
        {
            "ID": "37",
            "TITLE": "[A] Deal",
            "CATEGORY_ID": "9",
            "STAGE_ID": "C9:WON",
            "OPPORTUNITY": "19999.99",
            "ASSIGNED_BY_ID": "6",
            "DATE_CREATE": "2024-09-02T18:37:18+02:00",
            "DATE_MODIFY": "2024-09-02T18:40:00+02:00",
            "CLOSED": "Y",
            "CLOSEDATE": "2024-09-02T18:40:00+02:00",
            "ORIGINATOR_ID": "crm-bridge",
            "ORIGIN_ID": "ext-37",
            "UF_CRM_PARTNER_REF": "5",
            "CURRENCY_ID": "RUB",
        }
    ]
    listed_at = {**TIME, "start": 1725300000.0}  # 2024-09-02T18:00:00Z: after the row's DATE_MODIFY
    responses.post(HOOK + "crm.deal.list", json={"result": rows, "total": 0, "time": listed_at})
    from crm_bridge.ports import SyncCursor

    pages = list(
        _adapter(_catalog_kv()).changed_since(Entity.LEAD, SyncCursor(datetime(2024, 9, 1, tzinfo=UTC)))
    )

    sent = _sent(responses.calls[0])
    assert sent["start"] == -1 and sent["order"] == {"ID": "ASC"}
    assert sent["filter"] == {"CATEGORY_ID": 9, ">DATE_MODIFY": "2024-09-01T00:00:00+00:00"}
    [lead] = pages[-1].records
    assert (lead.crm_id, lead.stage, lead.stage_kind.value, lead.partner_id, lead.external_id) == (
        "37",
        "won",
        "won",
        "5",
        "ext-37",
    )
    assert str(lead.amount) == "19999.99" and lead.closed_at == datetime(2024, 9, 2, 16, 40, tzinfo=UTC)
    assert pages[-1].cursor is not None and pages[-1].cursor.last_id == "37"


@responses.activate
def test_a_backfill_counts_first_then_packs_fifty_offset_pages_into_each_batch() -> None:
    def row(i: int) -> dict[str, Any]:
        return {
            "ID": str(i),
            "TITLE": "x",
            "CATEGORY_ID": "9",
            "STAGE_ID": "C9:NEW",
            "DATE_CREATE": "2024-09-02T18:37:18+02:00",
            "DATE_MODIFY": "2024-09-02T18:37:18+02:00",
        }

    responses.post(
        HOOK + "crm.deal.list",
        json={"result": [row(i) for i in range(1, 51)], "total": 2600, "next": 50, "time": TIME},
    )
    page_result = {f"c{k}": [row(50 * (k + 1) + i) for i in range(1, 51)] for k in range(50)}
    responses.post(HOOK + "batch", json=_batch(page_result, totals={f"c{k}": 2600 for k in range(50)}))
    last = {"c0": [row(2550 + i) for i in range(1, 51)]}
    responses.post(HOOK + "batch", json=_batch(last, totals={"c0": 2600}))

    ids = [r.crm_id for p in _adapter(_catalog_kv()).changed_since(Entity.LEAD, None) for r in p.records]

    assert len(ids) == 2600 == len(set(ids)) and len(responses.calls) == 3
    cmds = list(_sent(responses.calls[1])["cmd"].values())
    assert len(cmds) == 50 and cmds[0].endswith("start=50") and cmds[-1].endswith("start=2500")
    assert "filter%5BCATEGORY_ID%5D=9" in cmds[0] and "order%5BID%5D=ASC" in cmds[0]


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
    assert "TAG=crm_bridge%7Cn1" in list(_sent(responses.calls[0])["cmd"].values())[0]


@responses.activate
def test_a_wrong_webhook_is_one_auth_error_naming_the_config_key_without_the_secret() -> None:
    responses.post(
        HOOK + "scope",
        status=401,
        json={"error": "NO_AUTH_FOUND", "error_description": "Wrong authorization data"},
    )

    [check] = _adapter().check()

    assert not check.ok and "crm.bitrix24.webhook_url" in check.detail and "s3cr3t" not in check.detail
    with pytest.raises(AuthError) as info:
        _adapter().client.call("scope")
    assert info.value.config_key == "crm.bitrix24.webhook_url" and info.value.exit_code == 1
    assert len(responses.calls) == 2  # never retried


@responses.activate
def test_insufficient_scope_is_a_permission_error() -> None:
    responses.post(
        HOOK + "user.get", status=403, json={"error": "insufficient_scope", "error_description": ""}
    )

    with pytest.raises(PermissionDenied):
        _adapter().list_users()


@responses.activate
def test_query_limit_exceeded_is_waited_out_and_retried() -> None:
    sleeps = Sleeps()
    responses.post(
        HOOK + "scope",
        status=503,
        json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
    )
    responses.post(HOOK + "scope", json={"result": ["crm"], "time": TIME})

    assert _adapter(sleeps=sleeps).client.call("scope").result == ["crm"]
    assert sleeps.waits and sleeps.waits[-1] == pytest.approx(0.5)  # one request drains at 2/s


@responses.activate
def test_a_write_batch_refused_by_the_rate_limit_is_sent_again_but_a_500_is_not() -> None:
    responses.post(
        HOOK + "batch",
        status=503,
        json={"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"},
    )
    responses.post(HOOK + "batch", json=_batch({"c0": 1}))
    adapter = _adapter()

    assert adapter.send_notifications([NotificationDraft("n1", "7", "Hi")])[0].ok

    responses.replace(
        responses.POST,
        HOOK + "batch",
        status=500,
        json={"error": "INTERNAL_SERVER_ERROR", "error_description": "Internal server error"},
    )
    with pytest.raises(TransientError):
        adapter.send_notifications([NotificationDraft("n2", "7", "Hi")])
    assert len(responses.calls) == 3  # the 500 after a possible write is not blindly resent


@responses.activate
def test_operation_time_limit_waits_until_the_methods_budget_resets() -> None:
    sleeps = Sleeps()
    adapter = _adapter(sleeps=sleeps)
    responses.post(
        HOOK + "scope", json={"result": ["crm"], "time": {**TIME, "operating_reset_at": 1724917000}}
    )
    adapter.client.call("scope")
    responses.replace(
        responses.POST,
        HOOK + "scope",
        status=429,
        json={
            "error": "OPERATION_TIME_LIMIT",
            "error_description": "Method is blocked due to operation time limit.",
        },
    )
    responses.add(responses.POST, HOOK + "scope", json={"result": ["crm"], "time": TIME})

    adapter.client.call("scope")

    assert 141 in [round(w) for w in sleeps.waits]  # operating_reset_at - now


@responses.activate
def test_a_batch_over_fifty_commands_is_refused_before_sending() -> None:
    from crm_bridge.adapters.bitrix24.client import Command

    with pytest.raises(ValueError):
        _adapter().client.batch([Command("scope")] * 51)
    assert len(responses.calls) == 0


@responses.activate
def test_the_documented_batch_errors_map_to_validation_errors() -> None:
    responses.post(
        HOOK + "batch",
        status=400,
        json={"error": "ERROR_BATCH_LENGTH_EXCEEDED", "error_description": "Max batch length exceeded"},
    )

    with pytest.raises(CrmValidationError):
        _adapter().observe_layout()


OAUTH = {
    "portal_url": "https://example.bitrix24.ru/",
    "client_id": "local.app01",
    "client_secret": "cl13nt-s3cr3t",
    "refresh_token": "first-refresh",
    "access_token": "old-access",
    "token_url": "https://oauth.bitrix.info/oauth/token/",
}
REST = "https://example.bitrix24.ru/rest/"


@responses.activate
def test_an_expired_oauth_token_is_refreshed_once_and_the_new_pair_is_stored_before_use() -> None:
    kv = MemoryKV()
    responses.post(
        REST + "scope",
        status=401,
        json={"error": "expired_token", "error_description": "The access token provided has expired."},
    )
    responses.get(
        OAUTH["token_url"],
        json={
            "access_token": "new-access",
            "refresh_token": "new-refresh",
            "expires_in": 3600,
            "client_endpoint": REST,
            "member_id": "m",
            "scope": "crm,task,user,im",
        },
    )
    responses.post(REST + "scope", json={"result": ["crm", "task", "user", "im"], "time": TIME})

    result = _adapter(kv, oauth=OAUTH).client.call("scope").result

    assert result == ["crm", "task", "user", "im"]
    assert responses.calls[0].request.url.endswith("auth=old-access")
    assert "grant_type=refresh_token" in responses.calls[1].request.url
    assert "refresh_token=first-refresh" in responses.calls[1].request.url
    assert responses.calls[2].request.url.endswith("auth=new-access")
    assert kv.data["bitrix24.oauth_tokens"]["refresh_token"] == "new-refresh"
    assert kv.writes.index("bitrix24.oauth_tokens") == 0


@responses.activate
def test_a_rejected_refresh_token_is_an_auth_error_naming_the_oauth_config() -> None:
    responses.post(REST + "scope", status=401, json={"error": "expired_token", "error_description": ""})
    responses.get(
        OAUTH["token_url"], status=400, json={"error": "invalid_grant", "error_description": "Invalid grant"}
    )

    with pytest.raises(AuthError) as info:
        _adapter(oauth=OAUTH).client.call("scope")

    assert info.value.config_key == "crm.bitrix24.oauth.refresh_token"
    assert "cl13nt" not in str(info.value) and "first-refresh" not in str(info.value)


def _status_row(row_id: int, code: str, sort: int, semantics: str | None, cid: int = 7) -> dict[str, Any]:
    return {
        "ID": str(row_id),
        "ENTITY_ID": f"DEAL_STAGE_{cid}",
        "STATUS_ID": f"C{cid}:{code}",
        "NAME": code,
        "NAME_INIT": code,
        "SORT": str(sort),
        "SYSTEM": "Y",
        "CATEGORY_ID": str(cid),
        "COLOR": "#39A8EF",
        "SEMANTICS": semantics,
        "EXTRA": {"SEMANTICS": "process", "COLOR": "#39A8EF"},
    }


@responses.activate
def test_a_new_funnel_is_added_then_its_automatic_stages_are_renamed_and_the_leftovers_removed() -> None:
    from crm_bridge.domain.layout import (
        DesiredFunnel,
        DesiredStage,
        PlanAction,
        PlanItem,
        PlanObject,
        ProvisionPlan,
    )
    from crm_bridge.domain.model import StageKind

    stages = (
        DesiredStage("registered", "Registered", StageKind.OPEN, "", 10),
        DesiredStage("won", "Won", StageKind.WON, "", 20),
        DesiredStage("lost", "Lost", StageKind.LOST, "", 30),
    )
    funnel = DesiredFunnel("leads", "Partner leads", stages, 100)
    plan = ProvisionPlan(
        (
            PlanItem(PlanObject.FUNNEL, PlanAction.CREATE, "leads", desired=funnel),
            *(PlanItem(PlanObject.STAGE, PlanAction.CREATE, f"leads/{s.key}", desired=s) for s in stages),
        )
    )
    empty = _batch({"c0": {"categories": []}, "c1": [], "c2": []})
    added = {"category": {"id": 7, "name": "Partner leads", "sort": 100, "entityTypeId": 2, "isDefault": "N"}}
    auto = [
        _status_row(1, "NEW", 10, None),
        _status_row(2, "PREPARATION", 20, None),
        _status_row(3, "WON", 60, "S"),
        _status_row(4, "LOSE", 70, "F"),
        _status_row(5, "APOLOGY", 80, "F"),
    ]
    responses.post(HOOK + "batch", json=empty)  # observe
    responses.post(HOOK + "batch", json=_batch({"c0": added}))  # crm.category.add
    responses.post(HOOK + "batch", json=_batch({"c0": auto}))  # crm.status.list of the new funnel
    responses.post(HOOK + "batch", json=_batch({f"c{i}": True for i in range(6)}))  # updates + deletes
    renamed = [
        _status_row(1, "NEW", 10, None),
        _status_row(3, "WON", 20, "S"),
        _status_row(4, "LOSE", 30, "F"),
    ]
    final = _batch({"c0": {"categories": [added["category"]]}, "c1": [], "c2": [], "c3": renamed})
    responses.post(HOOK + "batch", json=final)  # observe again

    adapter = _adapter()
    adapter.observe_layout()
    observed = adapter.apply_plan(plan)

    assert list(_sent(responses.calls[1])["cmd"].values()) == [
        "crm.category.add?entityTypeId=2&fields%5Bname%5D=Partner+leads&fields%5Bsort%5D=100"
    ]
    assert list(_sent(responses.calls[2])["cmd"].values()) == [
        "crm.status.list?order%5BSORT%5D=ASC&filter%5BENTITY_ID%5D=DEAL_STAGE_7"
    ]
    ops = list(_sent(responses.calls[3])["cmd"].values())
    assert [o.split("?")[0] for o in ops] == ["crm.status.update"] * 3 + ["crm.status.delete"] * 2
    assert ops[0].startswith("crm.status.update?id=4&fields%5BNAME%5D=Lost&fields%5BSORT%5D=30")
    assert ops[-1] == "crm.status.delete?id=5&params%5BFORCED%5D=Y"
    [leads] = observed.funnels
    assert [(s.key, s.code) for s in leads.stages] == [
        ("registered", "C7:NEW"),
        ("won", "C7:WON"),
        ("lost", "C7:LOSE"),
    ]
    assert len(responses.calls) == 5


@responses.activate
def test_users_are_read_page_by_page_from_user_get() -> None:
    def user(i: int) -> dict[str, Any]:
        return {
            "ID": str(i),
            "ACTIVE": True,
            "NAME": "Vadim",
            "LAST_NAME": f"V{i}",
            "EMAIL": f"u{i}@example.com",
            "USER_TYPE": "employee",
        }

    responses.post(
        HOOK + "user.get",
        json={"result": [user(i) for i in range(1, 51)], "total": 60, "next": 50, "time": TIME},
    )
    responses.post(HOOK + "batch", json=_batch({"c0": [user(i) for i in range(51, 61)]}))

    users = _adapter().list_users()

    assert len(users) == 60 and users[0].name == "Vadim V1"
    assert _sent(responses.calls[0])["FILTER"] == {"ACTIVE": True, "USER_TYPE": "employee"}
    assert list(_sent(responses.calls[1])["cmd"].values())[0].endswith("start=50")


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
