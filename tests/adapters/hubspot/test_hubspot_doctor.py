"""``crm-bridge doctor`` on HubSpot (the adapter's ``check``), the owners list and provisioning refusals on
the emulator: the connection line, each required scope probed (a 403 names it), the limits as configured
and as the account reports them, the layout lines; owners read 100 a page by ``after``; a refused
provisioning step raised with every refusal named."""

from __future__ import annotations

import re

import pytest
from hs_support import DESIRED, MemoryKV, Sleeps, config, make_adapter, provision

from crm_bridge.domain.provisioning import plan
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import CrmUser, HealthCheck
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter

SCOPES = (
    "crm.objects.companies.read, crm.objects.deals.read, crm.objects.contacts.read, "
    "crm.objects.owners.read, crm.schemas.deals.read"
)


def _check(sandbox: Sandbox, kv: MemoryKV, **extra: object) -> list[HealthCheck]:
    made = make_adapter(config(sandbox, **extra), kv, Sleeps())
    try:
        return made.check()
    finally:
        made.close()


@pytest.mark.parametrize(("per_ten_seconds", "ok"), [(100, True), (101, False)])
def test_doctor_names_the_connection_the_scopes_and_the_limits_as_configured_and_reported(
    sandbox: Sandbox, kv: MemoryKV, per_ten_seconds: int, ok: bool
) -> None:
    checks = _check(sandbox, kv, per_ten_seconds=per_ten_seconds)

    limits = (
        f"enterprise: {per_ten_seconds} requests per 10 s; the account reports 100 per 10 s, "
        "100000 searches/s, daily 100000000 (249994 left today), 100 deal pipelines"
    )
    if not ok:
        limits += "; the configured budget is above the account's: lower crm.hubspot.per_ten_seconds or tier"
    assert checks[:3] == [
        HealthCheck("connection", True, f"{sandbox.base_url} answers; token accepted"),
        HealthCheck("scopes", True, SCOPES),
        HealthCheck("limits", ok, limits),
    ]
    assert [c.name for c in checks[3:]] == [
        "funnel acquisition",
        "funnel leads",
        "funnel tier_upgrade",
        "funnel repeat",
        "custom fields",
    ]
    probes = [(r["path"], r["query"]) for r in sandbox.requests()[:6]]
    assert [p for p, _ in probes] == [
        "/crm/v3/owners",
        "/crm/v3/objects/companies",
        "/crm/v3/objects/deals",
        "/crm/v3/objects/contacts",
        "/crm/v3/owners",
        "/crm/v3/properties/deals",
    ]
    assert [q for _, q in probes] == [{"limit": ["1"]}] * 4 + [{}, {}]


def test_doctor_names_each_scope_the_token_lacks(sandbox: Sandbox, kv: MemoryKV) -> None:
    sandbox.faults.set(FaultPlan(sequence=[0, 403, 0, 0, 403]))

    checks = _check(sandbox, kv)

    assert checks[1] == HealthCheck(
        "scopes", False, "missing: crm.objects.companies.read, crm.objects.owners.read"
    )


def test_doctor_stops_at_a_refused_token(sandbox: Sandbox, kv: MemoryKV) -> None:
    sandbox.faults.set(FaultPlan(sequence=[401]))

    [check] = _check(sandbox, kv)

    assert (check.name, check.ok) == ("connection", False)
    assert check.detail.startswith(
        "the token was refused: hubspot: GET /crm/v3/owners answered HTTP 401 EXPIRED_AUTHENTICATION: "
    )
    assert check.detail.endswith("; check crm.hubspot.access_token") and sandbox.request_count() == 1


def test_doctor_stops_at_an_unreachable_api(sandbox: Sandbox, kv: MemoryKV) -> None:
    sandbox.faults.set(FaultPlan(sequence=[404]))

    [check] = _check(sandbox, kv)

    assert (check.name, check.ok) == ("connection", False)
    assert re.fullmatch(
        r"hubspot: GET /crm/v3/owners answered HTTP 404 OBJECT_NOT_FOUND: resource not found "
        r"\(correlationId [0-9a-f-]{36}\)",
        check.detail,
    )


def test_doctor_reports_a_layout_it_cannot_read(sandbox: Sandbox, kv: MemoryKV) -> None:
    sandbox.faults.set(FaultPlan(sequence=[0] * 6 + [404]))  # the pipelines read, after the probes

    checks = _check(sandbox, kv)

    assert [(c.name, c.ok) for c in checks] == [
        ("connection", True),
        ("scopes", True),
        ("limits", False),
        ("layout", False),
    ]
    assert checks[3].detail.startswith(
        "hubspot: GET /crm/v3/pipelines/deals answered HTTP 404 OBJECT_NOT_FOUND"
    )


def test_owners_are_read_a_hundred_a_page_and_named_by_name_or_id(
    adapter: HubSpotAdapter, sandbox: Sandbox
) -> None:
    owners = [{"firstName": f"F{i}", "lastName": f"L{i}", "email": f"o{i}@example.com"} for i in range(149)]
    owners.append({"email": ""})
    ids = sandbox.emulator.seed({"owners": owners})["owners"]
    sandbox.log.clear()

    users = adapter.list_users()

    mine = [u for u in users if u.crm_id in {str(i) for i in ids}]
    assert mine[0] == CrmUser(str(ids[0]), "F0 L0", "o0@example.com")
    assert mine[-1] == CrmUser(str(ids[-1]), f"owner {ids[-1]}", "")
    assert len(mine) == 150 and len(users) == len({u.crm_id for u in users})
    queries = [r["query"] for r in sandbox.requests()]
    assert len(queries) == 2 and queries[0] == {"limit": ["100"], "archived": ["false"]}
    assert queries[1]["after"] and {k: v for k, v in queries[1].items() if k != "after"} == queries[0]


def test_a_refused_provisioning_step_is_raised_naming_each_refusal(
    adapter: HubSpotAdapter, sandbox: Sandbox
) -> None:
    computed = plan(DESIRED, adapter.observe_layout())
    sandbox.faults.set(FaultPlan(sequence=[400, 400]))  # the first two pipelines

    with pytest.raises(CrmValidationError) as caught:
        adapter.apply_plan(computed)

    assert re.fullmatch(
        r"HubSpot refused 2 provisioning step\(s\): acquisition: hubspot: POST /crm/v3/pipelines/deals "
        r"answered HTTP 400 VALIDATION_ERROR: Invalid input \(correlationId [0-9a-f-]{36}\); leads: hubspot: "
        r"POST /crm/v3/pipelines/deals answered HTTP 400 VALIDATION_ERROR: Invalid input "
        r"\(correlationId [0-9a-f-]{36}\)",
        str(caught.value),
    )
    again = provision(adapter)  # what was refused is planned again
    assert [i.path for i in again.writes if i.object.value == "funnel"] == ["acquisition", "leads"]


def test_a_no_op_plan_writes_nothing_and_a_fresh_adapter_reads_the_catalog_from_the_state_store(
    provisioned: HubSpotAdapter, sandbox: Sandbox, kv: MemoryKV
) -> None:
    fresh = make_adapter(config(sandbox), kv, Sleeps())
    try:
        catalog = fresh.catalog()
        read = sandbox.request_count()
        observed = fresh.apply_plan(plan(DESIRED, provisioned.observe_layout()))
    finally:
        fresh.close()

    assert read == 0 and catalog.funnels == provisioned.catalog().funnels
    assert [f.key for f in observed.funnels if f.key] == ["acquisition", "leads", "tier_upgrade", "repeat"]
