"""Provisioning steps on an existing HubSpot layout: a stage added to a pipeline and its colour (which
HubSpot does not store: a colour change is one step that sends nothing), and an enumeration's options
relabelled or renamed in place (the whole option list is written, in HubSpot's order)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hs_support import DESIRED, provision

from crm_bridge.domain.layout import (
    DesiredLayout,
    DesiredOption,
    DesiredStage,
    FieldEntity,
    PlanAction,
    PlanObject,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.domain.provisioning import plan
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_hubspot import HubSpotAdapter


def _writes(sandbox: Sandbox) -> list[tuple[str, str, Any]]:
    return [
        (r["method"], r["path"], json.loads(r["body"]) if r["body"] else None)
        for r in sandbox.requests()
        if r["method"] != "GET" and not r["path"].endswith("/search")
    ]


def _repeat_with(extra: DesiredStage) -> DesiredLayout:
    funnels = tuple(
        dataclasses.replace(f, stages=(*f.stages, extra)) if f.key == "repeat" else f for f in DESIRED.funnels
    )
    return dataclasses.replace(DESIRED, funnels=funnels)


def test_a_stage_added_to_a_pipeline_keeps_its_colour_and_a_colour_change_is_one_silent_step(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    follow_up = DesiredStage("follow_up", "Follow-up", StageKind.OPEN, "#112233", 35)
    repeat = provisioned.catalog().funnels["repeat"]

    provision(provisioned, _repeat_with(follow_up))
    added = _writes(sandbox)
    recoloured = _repeat_with(dataclasses.replace(follow_up, color="#445566"))
    step = plan(recoloured, provisioned.observe_layout())
    sandbox.log.clear()
    provisioned.apply_plan(step)
    sent = _writes(sandbox)

    [(method, path, body)] = added
    assert (method, path, body["label"], body["displayOrder"]) == (
        "POST",
        f"/crm/v3/pipelines/deals/{repeat}/stages",
        "Follow-up",
        35,
    )
    assert [(i.object, i.action, i.path, dict(i.changes)) for i in step.writes] == [
        (PlanObject.STAGE, PlanAction.UPDATE, "repeat/follow_up", {"color": ("#112233", "#445566")})
    ]
    assert sent == [] and plan(recoloured, provisioned.observe_layout()).is_noop


def test_options_relabelled_or_held_under_another_value_are_rewritten_in_place(
    provisioned: HubSpotAdapter, sandbox: Sandbox
) -> None:
    tier = provisioned.mapping.name(FieldEntity.PARTNER, "tier")
    path = f"/crm/v3/properties/companies/{tier}"
    held = provisioned.transport.call("GET", path)["options"]
    # someone in HubSpot stored the gold tier under another value
    held = [{**o, "value": "gold_level"} if o["value"] == "gold" else o for o in held]
    provisioned.transport.call("PATCH", path, json={"options": held})
    fields = tuple(
        dataclasses.replace(
            f,
            options=tuple(
                DesiredOption(o.key, "Silber" if o.key == "silver" else o.label) for o in f.options
            ),
        )
        if f.key == "tier"
        else f
        for f in DESIRED.fields
    )
    desired = dataclasses.replace(DESIRED, fields=fields)
    sandbox.log.clear()

    provision(provisioned, desired)

    [(method, patched, body)] = _writes(sandbox)
    assert (method, patched) == ("PATCH", path)
    assert body == {
        "options": [
            {"label": "Bronze", "value": "bronze", "displayOrder": 0, "hidden": False},
            {"label": "Silber", "value": "silver", "displayOrder": 1, "hidden": False},
            {"label": "Platinum", "value": "platinum", "displayOrder": 2, "hidden": False},
            {"label": "Gold", "value": "gold", "displayOrder": 3, "hidden": False},
        ]
    }
    assert plan(desired, provisioned.observe_layout()).is_noop
