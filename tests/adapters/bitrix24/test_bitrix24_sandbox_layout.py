"""Provisioning against the Bitrix24 sandbox: the four deal funnels built from the stages Bitrix24
creates itself, the partner fields, idempotent re-runs, a crash midway, and the request counts the
issue promises (from scratch <= 6 requests; nothing to change <= 2 requests and no write)."""

from __future__ import annotations

import dataclasses

from b24_support import DESIRED, MemoryKV, make_adapter, provision, webhook_config

from crm_bridge.domain.layout import PlanAction, PlanObject
from crm_bridge.domain.model import StageKind
from crm_bridge.domain.provisioning import plan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter

WRITES = (".add", ".update", ".delete")


def _writes(sandbox: Sandbox) -> list[str]:
    """Write commands the portal received, batched or not."""
    out = []
    for entry in sandbox.requests():
        if entry["endpoint"] == "batch":
            import json

            out += [
                c.split("?", 1)[0]
                for c in json.loads(entry["body"])["cmd"].values()
                if c.split("?", 1)[0].endswith(WRITES)
            ]
        elif entry["endpoint"].endswith(WRITES):
            out.append(entry["endpoint"])
    return out


def test_provisioning_from_scratch_takes_at_most_six_requests(
    adapter: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    provision(adapter)

    assert sandbox.request_count() <= 6
    funnels = {f.key: f for f in adapter.observe_layout().funnels}
    assert set(funnels) == {"acquisition", "leads", "tier_upgrade", "repeat"}


def test_a_rerun_with_nothing_to_change_takes_at_most_two_requests_and_writes_nothing(
    adapter: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    provision(adapter)
    sandbox.log.clear()

    again = provision(adapter)

    assert again.is_noop, [f"{i.path}: {i.details}" for i in again.writes]
    assert sandbox.request_count() <= 2 and _writes(sandbox) == []


def test_new_funnels_reuse_the_automatic_stages_and_keep_no_strays(
    adapter: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    provision(adapter)

    for funnel in adapter.observe_layout().funnels:
        wanted = next(f for f in DESIRED.funnels if f.key == funnel.key)
        stages = sorted(funnel.stages, key=lambda s: s.sort)
        assert [(s.key, s.name, s.kind) for s in stages] == [(s.key, s.name, s.kind) for s in wanted.stages]
        prefix = f"C{funnel.crm_id}:"
        assert stages[0].code == prefix + "NEW"  # the start stage Bitrix24 made is our first stage
        assert [s.code for s in stages if s.kind is StageKind.WON] == [prefix + "WON"]
        assert [s.code for s in stages if s.kind is StageKind.LOST] == [prefix + "LOSE"]


def test_the_partner_fields_are_user_fields_with_enumeration_items(
    adapter: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    provision(adapter)

    fields = {(f.entity.value, f.key): f for f in adapter.observe_layout().fields}

    tier = fields[("partner", "tier")]
    assert tier.code == "UF_CRM_PARTNER_TIER" and [o.key for o in tier.options] == [
        "bronze",
        "silver",
        "gold",
        "platinum",
    ]
    assert (
        fields[("lead", "partner_ref")].code == fields[("deal", "partner_ref")].code == "UF_CRM_PARTNER_REF"
    )
    dumped = sandbox.emulator.dump()["userfields"]
    assert sum(1 for uf in dumped if uf["field_name"] == "UF_CRM_PARTNER_REF") == 1  # one field serves both


def test_a_company_funnel_with_records_is_never_touched(adapter: Bitrix24Adapter, sandbox: Sandbox) -> None:
    sandbox.emulator.seed({"categories": [{"name": "Sales", "sort": 100}], "deals": [{"TITLE": "Theirs"}]})
    before = [
        s for s in sandbox.emulator.dump()["statuses"] if s["entity_id"] in ("DEAL_STAGE", "DEAL_STAGE_1")
    ]

    provision(adapter)

    after = [
        s for s in sandbox.emulator.dump()["statuses"] if s["entity_id"] in ("DEAL_STAGE", "DEAL_STAGE_1")
    ]
    assert after == before


def test_a_renamed_stage_is_one_update(adapter: Bitrix24Adapter, sandbox: Sandbox) -> None:
    provision(adapter)
    leads = next(f for f in DESIRED.funnels if f.key == "leads")
    renamed_stage = dataclasses.replace(leads.stages[1], name="Qualification (BANT)")
    renamed = dataclasses.replace(
        DESIRED,
        funnels=tuple(
            dataclasses.replace(f, stages=(f.stages[0], renamed_stage, *f.stages[2:]))
            if f.key == "leads"
            else f
            for f in DESIRED.funnels
        ),
    )
    sandbox.log.clear()

    changed = provision(adapter, renamed)

    assert [(i.object, i.action) for i in changed.writes] == [(PlanObject.STAGE, PlanAction.UPDATE)]
    assert _writes(sandbox) == ["crm.status.update"]
    assert provision(adapter, renamed).is_noop


def test_a_crash_midway_is_finished_by_the_next_run_without_duplicates(sandbox: Sandbox) -> None:
    kv = MemoryKV()
    first = make_adapter(webhook_config(sandbox), kv)
    computed = plan(DESIRED, first.observe_layout())
    only_funnels = dataclasses.replace(
        computed, items=tuple(i for i in computed.items if i.object is PlanObject.FUNNEL)
    )
    first.apply_plan(only_funnels)  # "crash": the funnels exist, their stages are still Bitrix24's
    first.close()

    second = make_adapter(webhook_config(sandbox), kv)  # a new process with the same state store
    provision(second)

    assert provision(second).is_noop
    state = sandbox.emulator.dump()
    assert len([c for c in state["categories"] if c["name"] in {f.name for f in DESIRED.funnels}]) == 4
    for funnel in second.observe_layout().funnels:
        assert all(s.key for s in funnel.stages), f"stray stages left in {funnel.key}"


def test_a_lost_state_store_finds_the_funnels_by_their_names(
    adapter: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    provision(adapter)

    fresh = make_adapter(webhook_config(sandbox), MemoryKV())

    assert provision(fresh).is_noop
    assert len([c for c in sandbox.emulator.dump()["categories"] if c["id"] != 0]) == 4  # no duplicates


def test_a_portal_with_more_than_a_page_of_its_own_user_fields_is_provisioned_once(
    adapter: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    # The portal's own fields come first (lower SORT), so ours land on the list's second page.
    theirs = [
        {"FIELD_NAME": f"THEIRS_{i:02d}", "USER_TYPE_ID": "string", "SORT": 10, "EDIT_FORM_LABEL": f"Их {i}"}
        for i in range(60)
    ]
    sandbox.emulator.seed({"userfields": {"company": theirs, "deal": theirs}})
    provision(adapter)
    sandbox.log.clear()

    again = provision(adapter)

    assert again.is_noop, [f"{i.path}: {i.details}" for i in again.writes]
    assert _writes(sandbox) == []
