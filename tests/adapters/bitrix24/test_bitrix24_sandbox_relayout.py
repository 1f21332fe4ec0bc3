"""Changing a provisioned layout on the Bitrix24 sandbox (layout/writer.py, layout/fields.py,
layout/stage_counts.py): a funnel renamed, a stage added to an existing funnel then pruned once empty,
a field relabelled, an option added and relabelled — the calls sent and what the portal then shows."""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import parse_qsl

from b24_support import DESIRED, provision

from crm_bridge.domain.layout import (
    DesiredLayout,
    DesiredOption,
    DesiredStage,
    FieldEntity,
    PlanAction,
    PlanObject,
)
from crm_bridge.domain.provisioning import plan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter


def _commands(sandbox: Sandbox) -> list[tuple[str, str]]:
    """Every command the portal received as (method, its query), batched or not."""
    out: list[tuple[str, str]] = []
    for entry in sandbox.requests():
        if entry["endpoint"] == "batch":
            out += [tuple(c.split("?", 1) + [""])[:2] for c in json.loads(entry["body"])["cmd"].values()]  # type: ignore[misc]
        else:
            out.append((entry["endpoint"], ""))
    return out


def _writes(sandbox: Sandbox) -> list[str]:
    return [m for m, _ in _commands(sandbox) if m.endswith((".add", ".update", ".delete"))]


def _with_funnel(desired: DesiredLayout, key: str, **changes: Any) -> DesiredLayout:
    return dataclasses.replace(
        desired,
        funnels=tuple(dataclasses.replace(f, **changes) if f.key == key else f for f in desired.funnels),
    )


def _funnel(adapter: Bitrix24Adapter, key: str) -> Any:
    return next(f for f in adapter.observe_layout().funnels if f.key == key)


def test_a_renamed_funnel_is_one_category_update_with_its_name_and_sort(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    renamed = _with_funnel(DESIRED, "repeat", name="Repeat business", sort=777)

    changed = provision(provisioned, renamed)

    assert [(i.object, i.action) for i in changed.writes] == [(PlanObject.FUNNEL, PlanAction.UPDATE)]
    assert _writes(sandbox) == ["crm.category.update"]
    funnel = _funnel(provisioned, "repeat")
    assert (funnel.name, funnel.sort) == ("Repeat business", 777)
    assert provision(provisioned, renamed).is_noop


def test_a_stage_added_to_a_live_funnel_takes_its_place_and_goes_when_pruned_empty(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    leads = next(f for f in DESIRED.funnels if f.key == "leads")
    extra = DesiredStage("demo_booked", "Demo booked", sort=leads.stages[1].sort + 1, color="#112233")
    grown = _with_funnel(DESIRED, "leads", stages=(*leads.stages, extra))

    provision(provisioned, grown)

    assert _writes(sandbox) == ["crm.status.add"]
    stage = next(s for s in _funnel(provisioned, "leads").stages if s.key == "demo_booked")
    assert (stage.name, stage.color, stage.code.endswith(":DEMO_BOOKED")) == ("Demo booked", "#112233", True)
    sandbox.log.clear()

    pruned = plan(DESIRED, provisioned.observe_layout(), prune=True)

    assert [(i.object, i.action, i.path) for i in pruned.writes] == [
        (PlanObject.STAGE, PlanAction.DELETE, "leads/demo_booked")
    ]
    counted = [q for m, q in _commands(sandbox) if m == "crm.deal.list"]
    assert len(counted) == 1 and "filter%5BSTAGE_ID%5D=" in counted[0] and "select%5B0%5D=ID" in counted[0]
    sandbox.log.clear()
    provisioned.apply_plan(pruned)
    assert _writes(sandbox) == ["crm.status.delete"]
    assert all(s.key != "demo_booked" for s in _funnel(provisioned, "leads").stages)


def test_a_relabelled_field_and_a_new_and_relabelled_option_are_one_update_each(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    tier = next(f for f in DESIRED.fields if f.key == "tier" and f.entity is FieldEntity.PARTNER)
    options = (
        dataclasses.replace(tier.options[0], label="Bronze partner"),
        *tier.options[1:],
        DesiredOption("diamond", "Diamond"),
    )
    changed_tier = dataclasses.replace(tier, label="Partner level", options=options)
    desired = dataclasses.replace(
        DESIRED, fields=tuple(changed_tier if f is tier else f for f in DESIRED.fields)
    )

    provision(provisioned, desired)

    assert _writes(sandbox) == ["crm.company.userfield.update", "crm.company.userfield.update"]
    relabel = next(dict(parse_qsl(q)) for m, q in _commands(sandbox) if "EDIT_FORM_LABEL" in q)
    assert {k: v for k, v in relabel.items() if k != "id"} == {
        "fields[EDIT_FORM_LABEL]": "Partner level",
        "fields[LIST_COLUMN_LABEL]": "Partner level",
        "fields[LIST_FILTER_LABEL]": "Partner level",
    }
    field = next(f for f in provisioned.observe_layout().fields if f.key == "tier")
    assert field.label == "Partner level"
    labels = {o.key: o.label for o in field.options}
    assert labels[tier.options[0].key] == "Bronze partner" and labels["diamond"] == "Diamond"
    assert len(labels) == len(tier.options) + 1
    assert provisioned.catalog().field(FieldEntity.PARTNER, "tier") is not None
    assert provision(provisioned, desired).is_noop


def test_steps_the_portal_refuses_are_named_in_one_error_of_the_first_ones_kind(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    import pytest

    from crm_bridge.errors import PermissionDenied
    from crm_bridge.sandbox.faults import FaultPlan

    renamed = dataclasses.replace(
        DESIRED,
        funnels=tuple(
            dataclasses.replace(f, stages=tuple(dataclasses.replace(s, name=s.name + " *") for s in f.stages))
            for f in DESIRED.funnels
        ),
    )
    computed = plan(renamed, provisioned.observe_layout())
    assert len(computed.writes) > 10  # the observation batch has fewer commands than c9
    paths = [i.path for i in computed.writes]
    sandbox.faults.set(
        FaultPlan(batch_fail={"keys": ["c8", "c9"], "error": "ACCESS_DENIED", "description": "No"})
    )

    with pytest.raises(PermissionDenied) as info:
        provisioned.apply_plan(computed)

    refused = [p for p in paths if p in str(info.value)]
    assert str(info.value) == (
        f"Bitrix24 refused 2 provisioning step(s): {refused[0]}: Bitrix24: No [ACCESS_DENIED]; "
        f"{refused[1]}: Bitrix24: No [ACCESS_DENIED]"
    )
    assert info.value.crm == "bitrix24"


def test_a_plan_with_nothing_to_do_sends_no_write(provisioned: Bitrix24Adapter, sandbox: Sandbox) -> None:

    computed = plan(DESIRED, provisioned.observe_layout())
    sandbox.log.clear()

    observed = provisioned.apply_plan(computed)

    assert computed.is_noop and _writes(sandbox) == [] and sandbox.request_count() == 0
    assert {f.key for f in observed.funnels} == {f.key for f in DESIRED.funnels}
