"""Provisioning changes on a provisioned HubSpot account (the emulator): renamed funnels, stages and
properties are PATCHed with exact bodies (stages keep their display order and probability), a new
enumeration option is written with the whole option list, a stage deleted in HubSpot is created again,
and the deal-pipeline allowance is checked before anything is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hs_support import DESIRED, TIERS, MemoryKV, Sleeps, config, make_adapter, provision

from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.model import PartnerType
from crm_bridge.domain.provisioning import plan
from crm_bridge.errors import ConfigError, CrmValidationError
from crm_bridge.sandbox.faults import FaultPlan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter

RU = desired_layout(default_funnels(), "ru", (*TIERS, "diamond"), tuple(PartnerType))


def _writes(sandbox: Sandbox) -> list[tuple[str, str, Any]]:
    return [
        (r["method"], r["path"], json.loads(r["body"]) if r["body"] else None)
        for r in sandbox.requests()
        if r["method"] != "GET" and not r["path"].endswith("/search")
    ]


def test_renames_and_a_new_option_are_patched_with_exact_bodies_and_then_settle(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    catalog = provisioned.catalog()
    acquisition = catalog.funnels["acquisition"]
    first = catalog.stage_code("acquisition", "identification")
    won = catalog.stage_code("acquisition", "partner_active")
    tier = provisioned.mapping.name(*next((f.entity, f.key) for f in RU.fields if f.key == "tier"))

    provision(provisioned, RU)
    sent = _writes(sandbox)
    sandbox.log.clear()
    again = plan(RU, provisioned.observe_layout())

    assert again.is_noop
    assert ("PATCH", f"/crm/v3/pipelines/deals/{acquisition}", {"label": "Привлечение партнёров"}) in sent
    label = "Идентификация потенциальных партнёров"
    stage = {"label": label, "displayOrder": 10, "metadata": {"probability": "0.2"}}
    assert ("PATCH", f"/crm/v3/pipelines/deals/{acquisition}/stages/{first}", stage) in sent
    won_body = {"label": "Партнёр активен", "displayOrder": 60, "metadata": {"probability": "1.0"}}
    assert ("PATCH", f"/crm/v3/pipelines/deals/{acquisition}/stages/{won}", won_body) in sent
    patched = [p for m, p, _ in sent if m == "PATCH"]
    # 4 pipelines, 22 stages, 22 property labels (the partner label's text is the mapping's: none for
    # it), the option lists of the 5 enumerations
    assert len([p for p in patched if "/stages/" in p]) == 22 and len(patched) == 4 + 22 + 22 + 5
    assert len([p for p in patched if p.startswith("/crm/v3/pipelines/") and "/stages/" not in p]) == 4
    options = [b for m, p, b in sent if p == f"/crm/v3/properties/companies/{tier}" and "options" in b]
    assert options == [
        {
            "options": [
                {"label": "Bronze", "value": "bronze", "displayOrder": 0, "hidden": False},
                {"label": "Silver", "value": "silver", "displayOrder": 1, "hidden": False},
                {"label": "Gold", "value": "gold", "displayOrder": 2, "hidden": False},
                {"label": "Platinum", "value": "platinum", "displayOrder": 3, "hidden": False},
                {"label": "Diamond", "value": "diamond", "displayOrder": 4, "hidden": False},
            ]
        }
    ]
    assert ("PATCH", f"/crm/v3/properties/companies/{tier}", {"label": "Уровень партнёра"}) in sent


def test_a_stage_deleted_in_hubspot_is_created_again_in_its_place(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    catalog = provisioned.catalog()
    leads = catalog.funnels["leads"]
    qualification = catalog.stage_code("leads", "qualification")
    provisioned.transport.call("DELETE", f"/crm/v3/pipelines/deals/{leads}/stages/{qualification}")
    fresh_kv = MemoryKV()  # a fresh state store: the stage is known by its label only
    fresh = make_adapter(config(sandbox), fresh_kv, Sleeps())
    sandbox.log.clear()

    try:
        provision(fresh)
        sent = _writes(sandbox)
        created = fresh.catalog().stage_code("leads", "qualification")
        settled = plan(DESIRED, fresh.observe_layout()).is_noop
    finally:
        fresh.close()

    body = {"label": "Qualification", "displayOrder": 20, "metadata": {"probability": "0.5"}}
    assert sent == [("POST", f"/crm/v3/pipelines/deals/{leads}/stages", body)]
    assert created is not None and created != qualification and settled


@pytest.mark.parametrize(("allowed", "refused"), [(4, True), (5, False)])
def test_provisioning_more_pipelines_than_the_tier_allows_writes_nothing_and_says_why(
    sandbox: Sandbox, kv: MemoryKV, allowed: int, refused: bool
) -> None:
    made = make_adapter(config(sandbox, max_pipelines=allowed), kv, Sleeps())
    try:
        if refused:
            with pytest.raises(ConfigError) as caught:
                provision(made)
            assert str(caught.value) == (
                f"crm.hubspot.tier: this HubSpot account (enterprise) allows {allowed} deal pipeline(s); "
                "it has 1 and provisioning needs 4 more (acquisition, leads, tier_upgrade, repeat). "
                "Nothing was written. Options: upgrade Sales Hub (Professional allows 15), free pipelines "
                "in HubSpot, or disable funnels in the config; set crm.hubspot.tier (or max_pipelines) if "
                "the account's plan is higher than configured"
            )
            assert _writes(sandbox) == []
        else:
            provision(made)
            assert [m for m, p, _ in _writes(sandbox) if p == "/crm/v3/pipelines/deals"] == ["POST"] * 4
    finally:
        made.close()


def test_a_refused_label_and_property_batch_are_named_and_created_by_the_next_run(
    adapter: HubSpotAdapter, sandbox: Sandbox
) -> None:
    computed = plan(DESIRED, adapter.observe_layout())
    # the 4 pipelines go; then the partner label is refused, the company group goes, its batch is refused
    sandbox.faults.set(FaultPlan(sequence=[0, 0, 0, 0, 400, 0, 400]))

    with pytest.raises(CrmValidationError) as caught:
        adapter.apply_plan(computed)
    again = provision(adapter)
    settled = plan(DESIRED, adapter.observe_layout())

    company_fields = [f for f in DESIRED.fields if f.entity.value == "partner"]
    text = str(caught.value)
    assert text.startswith(
        f"HubSpot refused {1 + len(company_fields)} provisioning step(s): lead.partner_ref: "
    )
    assert (
        "lead.partner_ref: hubspot: POST /crm/associations/v4/deals/companies/labels answered HTTP 400"
        in text
    )
    name = adapter.mapping.name(company_fields[0].entity, company_fields[0].key)
    assert (
        f"companies.{name}: hubspot: POST /crm/v3/properties/companies/batch/create answered HTTP 400" in text
    )
    assert sorted({i.object.value for i in again.writes}) == ["field", "option"] and settled.is_noop
