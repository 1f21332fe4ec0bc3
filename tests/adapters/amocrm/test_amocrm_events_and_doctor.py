"""amoCRM webhooks received (form-encoded, our account only, our own writes dropped, a digest as the
de-duplication key), the subscription sent, the ``doctor`` lines, and the user directory."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import pytest
from amo_support import DESIRED, MemoryKV, counts, make_adapter, provision, token_config

from crm_bridge.errors import EventRefused
from crm_bridge.ports import AdapterContext, CrmEvent, Entity, InboundRequest
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter, build_adapter

ACCOUNT = 31000001  # the sandbox account's id
OURS = 8000001  # the user of the sandbox's long-lived token
FORM = "application/x-www-form-urlencoded"


def _hook(
    pairs: list[tuple[str, str]], content_type: str = FORM, body: bytes | None = None
) -> InboundRequest:
    return InboundRequest(
        method="POST",
        url="https://bridge.example.com/events/amocrm/token",
        headers={"content-type": content_type},
        body=urlencode(pairs).encode() if body is None else body,
        received_at=datetime(2026, 12, 7, tzinfo=UTC),
    )


HOOK = [
    ("account[id]", str(ACCOUNT)),
    ("account[subdomain]", "sandbox"),
    ("leads[add][0][id]", "11"),
    ("leads[add][0][last_modified]", "1796650000"),
    ("leads[add][0][modified_user_id]", str(OURS)),  # a creation is kept even when ours
    ("leads[update][0][id]", "12"),
    ("leads[update][0][last_modified]", "1796650050"),
    ("leads[update][0][modified_user_id]", str(OURS)),  # our own update: dropped
    ("leads[update][1][id]", "13"),
    ("leads[update][1][last_modified]", "1796650100"),
    ("leads[update][1][modified_user_id]", "8000002"),
    ("contacts[update][0][id]", "14"),
    ("contacts[update][0][type]", "company"),
    ("contacts[update][0][last_modified]", "1796650200"),
    ("contacts[add][0][id]", "15"),
    ("contacts[add][0][type]", "contact"),
    ("contacts[add][0][date_create]", "1796650300"),
    ("companies[delete][0][id]", "16"),
]


def test_a_hook_of_our_account_becomes_events_without_our_own_changes(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    events = adapter.receive_events(
        _hook(HOOK, content_type="Application/X-WWW-Form-Urlencoded; charset=UTF-8")
    )
    again = adapter.receive_events(_hook(HOOK))

    assert events == [
        CrmEvent("leads.add", Entity.LEAD, "11", "amocrm:27ae4ee40ce68f747b63c18c04f904bd8734f66a"),
        CrmEvent("leads.update", Entity.LEAD, "13", "amocrm:0350cba565b0f23b947a03ab05670d7f4bcb9343"),
        CrmEvent("contacts.update", Entity.PARTNER, "14", "amocrm:7e7771958bc607abce386be84d742c624ae920f8"),
        CrmEvent("contacts.add", None, "15", "amocrm:b46fd0a8e8ee3920a94e7dd123d34fde4264f208"),
        CrmEvent("companies.delete", Entity.PARTNER, "16", "amocrm:acfc1b555654f56a2576df19267936a376bc66c9"),
    ]
    assert again == events  # a redelivery has the same keys
    assert counts(sandbox) == {"GET /api/v4/account": 1}  # the account is read once


def test_the_account_is_kept_in_the_state_store_across_restarts(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    first = make_adapter(token_config(sandbox), kv)
    first.receive_events(_hook(HOOK))
    first.close()
    second = make_adapter(token_config(sandbox), kv)

    events = second.receive_events(_hook(HOOK))

    assert kv.get("account") == {"id": ACCOUNT, "user": OURS}
    assert len(events) == 5 and counts(sandbox) == {"GET /api/v4/account": 1}


def test_without_our_user_id_every_change_is_kept(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    kv.set("account", {"id": ACCOUNT, "user": None})
    adapter = make_adapter(token_config(sandbox), kv)

    events = adapter.receive_events(_hook(HOOK))

    assert [e.crm_id for e in events] == ["11", "12", "13", "14", "15", "16"]
    assert sandbox.request_count() == 0


@pytest.mark.parametrize(
    ("request_", "status", "reason", "message"),
    [
        (_hook(HOOK, content_type="application/json"), 400, "malformed", "amoCRM webhooks are form-encoded"),
        (_hook(HOOK, content_type=""), 400, "malformed", "amoCRM webhooks are form-encoded"),
        (_hook([], body=b"\xff\xfe"), 400, "malformed", "the body is not a form"),
        (_hook([], body=b"account[id]"), 400, "malformed", "the body is not a form"),
        (_hook([("leads[add][0][id]", "1")]), 400, "malformed", "the hook names no account[id]"),
        (_hook([("account[id]", "x1")]), 400, "malformed", "the hook names no account[id]"),
    ],
)
def test_a_malformed_hook_is_refused_before_anything_is_read(
    adapter: AmoCrmAdapter, sandbox: Sandbox, request_: InboundRequest, status: int, reason: str, message: str
) -> None:
    with pytest.raises(EventRefused) as caught:
        adapter.receive_events(request_)

    assert (caught.value.status, caught.value.reason, str(caught.value)) == (status, reason, message)
    assert sandbox.request_count() == 0


def test_another_accounts_hook_and_an_item_without_id_are_refused(adapter: AmoCrmAdapter) -> None:
    with pytest.raises(EventRefused) as other:
        adapter.receive_events(_hook([("account[id]", "31000002"), ("leads[add][0][id]", "1")]))
    with pytest.raises(EventRefused) as no_id:
        adapter.receive_events(_hook([("account[id]", str(ACCOUNT)), ("leads[status][0][name]", "x")]))

    assert (other.value.status, other.value.reason) == (403, "account")
    assert str(other.value) == "a hook of amoCRM account 31000002, not ours"
    assert (no_id.value.status, no_id.value.reason) == (400, "malformed")
    assert str(no_id.value) == "a leads status item has no id"


SETTINGS = [
    "add_lead",
    "update_lead",
    "status_lead",
    "responsible_lead",
    "delete_lead",
    "restore_lead",
    "add_company",
    "update_company",
    "delete_company",
]


def test_subscribing_sends_one_hook_for_nine_event_types(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    said = adapter.subscribe_events("https://bridge.example.com/events/amocrm/secret")

    assert said == "amoCRM webhook for 9 event types sent to the receiver (events.public_url)"
    hooks = sandbox.emulator.dump()["webhooks"]
    assert [(h["destination"], h["settings"]) for h in hooks] == [
        ("https://bridge.example.com/events/amocrm/secret", SETTINGS)
    ]
    assert counts(sandbox) == {"GET /api/v4/account": 1, "POST /api/v4/webhooks": 1}


def test_without_a_public_url_nothing_is_sent_and_the_operator_is_told(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    said = adapter.subscribe_events(None)

    assert said == "amoCRM pushes webhooks only: set events.public_url, else polling stays the path"
    assert sandbox.request_count() == 0


def test_the_subscription_lines_in_russian(sandbox: Sandbox) -> None:
    adapter = build_adapter(token_config(sandbox), AdapterContext(kv=MemoryKV()), language="ru")

    assert adapter.subscribe_events(None) == (
        "amoCRM только присылает вебхуки: задайте events.public_url, иначе остаётся опрос"
    )
    assert adapter.subscribe_events("https://bridge.example.com/h") == (
        "вебхук amoCRM на 9 типов событий отправлен на приёмник (events.public_url)"
    )


# -- doctor -------------------------------------------------------------------------------------------


def _lines(adapter: AmoCrmAdapter) -> list[tuple[str, bool, str]]:
    return [(c.name, c.ok, c.detail) for c in adapter.check()]


def test_doctor_before_and_after_provisioning(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    before = _lines(adapter)
    provision(adapter)
    after = _lines(adapter)

    note = "at most 10000 requests in any 1 s, shared by every process on this state store"
    assert before[:3] == [
        ("connection", True, "account 'Sandbox' (sandbox, id 31000001)"),
        ("rights", True, "user #8000001 'Администратор', administrator"),
        ("pipeline limit", True, "1 of 50 lead pipelines used; provisioning needs 4 more"),
    ]
    assert before[-1] == ("rate limit", True, note)
    assert ("funnel leads", False, "missing: run crm-bridge provision") in before
    assert after == [
        ("connection", True, "account 'Sandbox' (sandbox, id 31000001)"),
        ("rights", True, "user #8000001 'Администратор', administrator"),
        ("pipeline limit", True, "5 of 50 lead pipelines used"),
        ("funnel acquisition", True, "#7000002 'Partner acquisition', 7 stages"),
        ("funnel leads", True, "#7000003 'Partner lead processing', 5 stages"),
        ("funnel tier_upgrade", True, "#7000004 'Partner tier upgrade', 5 stages"),
        ("funnel repeat", True, "#7000005 'Repeat deals', 5 stages"),
        ("custom fields", True, "all present"),
        ("rate limit", True, note),
    ]


def test_doctor_says_the_pipeline_limit_would_be_passed(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    sandbox.emulator.seed(
        {
            "pipelines": [
                {"name": f"Sales {i}", "_embedded": {"statuses": [{"name": "New", "sort": 10}]}}
                for i in range(46)
            ]
        }
    )

    lines = {name: (ok, detail) for name, ok, detail in _lines(adapter)}

    # 47 of 50 used, 4 needed: 3 free is one short; exactly enough passes
    assert lines["pipeline limit"] == (False, "47 of 50 lead pipelines used; provisioning needs 4 more")
    sandbox.emulator.reset()
    sandbox.emulator.seed(
        {
            "pipelines": [
                {"name": f"Sales {i}", "_embedded": {"statuses": [{"name": "New", "sort": 10}]}}
                for i in range(45)
            ]
        }
    )
    lines = {name: (ok, detail) for name, ok, detail in _lines(adapter)}
    assert lines["pipeline limit"] == (True, "46 of 50 lead pipelines used; provisioning needs 4 more")


def test_doctor_names_a_user_who_is_not_an_administrator(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    sandbox.emulator.state.users[OURS]["rights"]["is_admin"] = False

    lines = _lines(adapter)

    assert lines[1] == (
        "rights",
        False,
        "user #8000001 'Администратор': not an administrator — provisioning pipelines and fields needs one",
    )


def test_doctor_with_no_configured_layout_counts_no_missing_pipeline(sandbox: Sandbox) -> None:
    adapter = build_adapter(token_config(sandbox), AdapterContext(kv=MemoryKV()))

    lines = {name: (ok, detail) for name, ok, detail in _lines(adapter)}

    assert lines["pipeline limit"] == (True, "1 of 50 lead pipelines used")


def test_doctor_reports_a_failed_connection_alone(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[402]))

    lines = _lines(adapter)

    assert lines == [
        (
            "connection",
            False,
            f"amoCRM: the account 127.0.0.1:{sandbox.port} is not paid (HTTP 402); renew it",
        )
    ]


def test_doctor_reports_a_failed_rights_read_and_goes_on(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[0, 404]))

    lines = _lines(adapter)

    assert lines[:3] == [
        ("connection", True, "account 'Sandbox' (sandbox, id 31000001)"),
        ("rights", False, "amoCRM: GET /api/v4/users/8000001 not found"),
        ("pipeline limit", True, "1 of 50 lead pipelines used; provisioning needs 4 more"),
    ]


def test_doctor_reports_a_failed_layout_read_and_stops(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    sandbox.faults.set(FaultPlan(sequence=[0, 0, 402]))

    lines = _lines(adapter)

    assert lines[2:] == [
        ("funnels", False, f"amoCRM: the account 127.0.0.1:{sandbox.port} is not paid (HTTP 402); renew it")
    ]
    assert len(lines) == 3


# -- users ----------------------------------------------------------------------------------------------


def test_users_keep_the_deactivated_and_name_the_nameless(adapter: AmoCrmAdapter, sandbox: Sandbox) -> None:
    sandbox.emulator.state.users[8000002]["rights"]["is_active"] = False
    sandbox.emulator.state.users[8000003]["name"] = ""
    sandbox.emulator.state.users[8000003]["email"] = None
    del sandbox.emulator.state.users[8000001]["rights"]["is_active"]  # not said: active
    sandbox.emulator.state.users[8000003]["rights"] = "unknown"

    users = [(u.crm_id, u.name, u.email, u.active) for u in adapter.list_users()]

    assert users == [
        ("8000001", "Администратор", "admin@example.com", True),
        ("8000002", "Менеджер 1", "manager1@example.com", False),
        ("8000003", "user 8000003", "", True),
    ]
    assert DESIRED


def test_doctor_with_a_token_of_no_user_says_it_is_the_integrations(
    adapter: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle = sandbox.emulator.handle

    def no_user(request: Any) -> Any:
        response = handle(request)
        if request.path == "/api/v4/account":
            response.body["current_user_id"] = 0
        return response

    monkeypatch.setattr(sandbox.emulator, "handle", no_user)

    lines = _lines(adapter)

    assert lines[1] == ("rights", True, "long-lived token of the integration")
    assert "GET /api/v4/users/{id}" not in counts(sandbox) and not any(
        e["path"].startswith("/api/v4/users/") for e in sandbox.requests()
    )
