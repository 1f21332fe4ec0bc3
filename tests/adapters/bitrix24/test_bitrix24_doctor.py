"""``crm-bridge doctor`` on a Bitrix24 connection (doctor.py): each line's name, verdict and text —
connection, scopes, funnels, the plan's rate limit and how events arrive."""

from __future__ import annotations

import responses
from b24_support import DESIRED, MemoryKV, Sleeps
from b24_wire_support import HOOK, OAUTH, REST, TIME, _adapter, _batch

from crm_bridge.config.crm import RateLimitConfig
from crm_bridge.ports import AdapterContext, HealthCheck
from crm_bridge_bitrix24 import Bitrix24Adapter, build_adapter
from crm_bridge_bitrix24.config import Bitrix24Config
from crm_bridge_bitrix24.doctor import events_check

EMPTY_LAYOUT = _batch({"c0": {"categories": []}, "c1": [], "c2": []})


@responses.activate
def test_a_healthy_webhook_connection_reads_line_by_line() -> None:
    responses.post(HOOK + "scope", json={"result": ["crm", "task", "user", "im"], "time": TIME})
    responses.post(HOOK + "batch", json=EMPTY_LAYOUT)

    checks = _adapter().check()

    assert checks == [
        HealthCheck("connection", True, "the portal answers with these credentials"),
        HealthCheck("scopes", True, "crm, task, user, im granted"),
        HealthCheck("funnels", False, "partner funnels in the CRM: none yet", provisionable=True),
        HealthCheck("rate limit", True, "standard plan: 2 requests/s, burst 50"),
        HealthCheck("events", True, "events off (events.enabled): polling on schedule.sync"),
    ]


@responses.activate
def test_missing_scopes_are_named_in_the_mappings_order() -> None:
    responses.post(HOOK + "scope", json={"result": ["user"], "time": TIME})
    responses.post(HOOK + "batch", json=EMPTY_LAYOUT)

    scopes = {c.name: c for c in _adapter().check()}["scopes"]

    assert scopes == HealthCheck(
        "scopes", False, "missing: crm, task, im (add them to the webhook / application)"
    )


@responses.activate
def test_a_layout_the_portal_refuses_to_show_ends_the_report_on_the_funnels_line() -> None:
    responses.post(HOOK + "scope", json={"result": None, "time": TIME})
    responses.post(
        HOOK + "batch", status=403, json={"error": "ACCESS_DENIED", "error_description": "Access denied"}
    )

    checks = _adapter().check()

    assert [c.name for c in checks] == ["connection", "scopes", "funnels"]
    assert checks[1].detail == "missing: crm, task, user, im (add them to the webhook / application)"
    assert checks[2] == HealthCheck(
        "funnels", False, "Bitrix24: Access denied [ACCESS_DENIED]; check crm.bitrix24.webhook_url"
    )


@responses.activate
def test_the_rate_limit_line_shows_the_plan_or_the_override() -> None:
    responses.post(HOOK + "scope", json={"result": [], "time": TIME})
    responses.post(HOOK + "batch", json=EMPTY_LAYOUT)

    enterprise = {c.name: c for c in _adapter(plan="enterprise").check()}["rate limit"]
    override = _adapter(rate_limit=RateLimitConfig(burst=7, per_second=1.5)).check()

    assert enterprise.detail == "enterprise plan: 5 requests/s, burst 250"
    assert {c.name: c for c in override}["rate limit"].detail == "standard plan: 1.5 requests/s, burst 7"


def test_events_lines_for_a_webhook_install() -> None:
    polling = _adapter()
    polling.configure_events(Bitrix24Config(webhook_url=HOOK), True)
    assert events_check(polling) == HealthCheck(
        "events",
        True,
        "polling stays the path: an inbound-webhook install needs the portal's outgoing webhook to a "
        "public URL (crm.bitrix24.application_token), or connect as a local application (oauth)",
        warning=True,
    )
    outgoing = _adapter()
    outgoing.configure_events(Bitrix24Config(webhook_url=HOOK, application_token="t0k3n"), True)
    assert events_check(outgoing) == HealthCheck(
        "events",
        True,
        "the portal's outgoing webhook to /v1/events/<events.path_token> (application_token set)",
    )
    outgoing.language = "ru"
    assert events_check(outgoing).detail == (
        "исходящий вебхук портала на /v1/events/<events.path_token> (application_token задан)"
    )


def _offline() -> Bitrix24Adapter:
    adapter = _adapter(oauth=OAUTH)
    adapter.configure_events(Bitrix24Config(oauth=OAUTH), True)
    return adapter


@responses.activate
def test_offline_events_not_all_bound_are_a_failure_provision_fixes() -> None:
    responses.post(
        REST + "event.get",
        json={
            "result": [
                {"event": "ONCRMDEALADD", "offline": 1},
                {"event": "onCrmDealUpdate", "offline": "1"},
                {"event": "ONCRMDEALDELETE", "offline": 0},
                {"event": "ONCRMCOMPANYADD", "offline": None},
                {"event": "ONCRMCOMPANYUPDATE", "handler": "https://x"},  # an online handler: no "offline"
            ],
            "time": TIME,
        },
    )

    assert events_check(_offline()) == HealthCheck(
        "events",
        False,
        "offline events not bound: ONCRMDEALDELETE, ONCRMCOMPANYADD, ONCRMCOMPANYUPDATE",
        provisionable=True,
    )


@responses.activate
def test_offline_events_all_bound_pass() -> None:
    rows = [
        {"event": e, "offline": 1}
        for e in (
            "ONCRMDEALADD",
            "ONCRMDEALUPDATE",
            "ONCRMDEALDELETE",
            "ONCRMCOMPANYADD",
            "ONCRMCOMPANYUPDATE",
        )
    ]
    responses.post(REST + "event.get", json={"result": rows, "time": TIME})

    assert events_check(_offline()) == HealthCheck(
        "events", True, "offline events (fetched by the event worker; no public URL needed)"
    )


@responses.activate
def test_offline_events_that_cannot_be_listed_say_why() -> None:
    responses.post(
        REST + "event.get",
        status=400,
        json={"error": "WRONG_AUTH_TYPE", "error_description": "Current authorization type is denied"},
    )

    check = events_check(_offline())

    assert check == HealthCheck(
        "events",
        False,
        "offline events: event.get failed: Bitrix24: Current authorization type is denied "
        "[WRONG_AUTH_TYPE]; check crm.bitrix24.oauth.refresh_token",
    )


@responses.activate
def test_a_portal_that_refuses_the_credentials_gives_one_failed_connection_line() -> None:
    responses.post(HOOK + "scope", status=401, json={"error": "NO_AUTH_FOUND", "error_description": ""})

    assert _adapter().check() == [
        HealthCheck(
            "connection",
            False,
            "Bitrix24: wrong or revoked webhook code / access token [NO_AUTH_FOUND]; check "
            "crm.bitrix24.webhook_url",
        )
    ]


@responses.activate
def test_with_a_configured_layout_each_funnel_gets_its_own_line() -> None:
    responses.post(HOOK + "scope", json={"result": ["crm", "task", "user", "im"], "time": TIME})
    responses.post(HOOK + "batch", json=EMPTY_LAYOUT)
    ctx = AdapterContext(kv=MemoryKV(), clock=lambda: 1724916859.0, sleep=Sleeps())

    checks = build_adapter(Bitrix24Config(webhook_url=HOOK), ctx, desired=DESIRED).check()

    assert [c for c in checks if c.name.startswith("funnel")] == [
        HealthCheck(f"funnel {f.key}", False, "missing: run crm-bridge provision", provisionable=True)
        for f in DESIRED.funnels
    ]
    assert len(DESIRED.funnels) == 4
    assert {c.name: c.detail for c in checks}["custom fields"].startswith("missing: partner.")
