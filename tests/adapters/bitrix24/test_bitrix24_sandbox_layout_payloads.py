"""The exact payloads of a re-provisioning on the Bitrix24 sandbox (layout/writer.py, layout/fields.py,
layout/reader.py): a renamed funnel, an existing stage renamed, moved and recoloured, an enumeration
field's items kept, relabelled and added, the deal half of a user field shared with partner leads, and
a refused funnel update named by its path."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import parse_qsl

import pytest
from b24_support import DESIRED, provision
from test_bitrix24_sandbox_relayout import _commands, _funnel, _with_funnel

from crm_bridge.domain.layout import DesiredLayout, DesiredOption, FieldEntity, PlanObject
from crm_bridge.domain.provisioning import plan
from crm_bridge.errors import CrmError
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_bitrix24 import Bitrix24Adapter


def _sent(sandbox: Sandbox, method: str) -> list[dict[str, str]]:
    return [dict(parse_qsl(q, keep_blank_values=True)) for m, q in _commands(sandbox) if m == method]


def _with_stage(key: str, **changes: Any) -> DesiredLayout:
    leads = next(f for f in DESIRED.funnels if f.key == "leads")
    stages = tuple(dataclasses.replace(s, **changes) if s.key == key else s for s in leads.stages)
    return _with_funnel(DESIRED, "leads", stages=stages)


def _stage_id(adapter: Bitrix24Adapter, key: str) -> str:
    return str(next(s.crm_id for s in _funnel(adapter, "leads").stages if s.key == key))


def _middle_stage() -> Any:
    leads = next(f for f in DESIRED.funnels if f.key == "leads")
    return leads.stages[1]


def test_a_renamed_funnel_sends_its_id_name_and_sort_under_bitrix24_s_names(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    cid = str(_funnel(provisioned, "repeat").crm_id)

    provision(provisioned, _with_funnel(DESIRED, "repeat", name="Repeat business", sort=777))

    assert _sent(sandbox, "crm.category.update") == [
        {"entityTypeId": "2", "id": cid, "fields[name]": "Repeat business", "fields[sort]": "777"}
    ]


def test_a_funnel_update_the_portal_refuses_is_named_by_the_funnel_s_key(
    provisioned: Bitrix24Adapter,
) -> None:
    computed = plan(_with_funnel(DESIRED, "repeat", name="Repeat business"), provisioned.observe_layout())
    gone = tuple(
        dataclasses.replace(i, observed_id="99999") if i.object is PlanObject.FUNNEL else i
        for i in computed.items
    )

    with pytest.raises(CrmError) as info:
        provisioned.apply_plan(dataclasses.replace(computed, items=gone))

    assert str(info.value).startswith("Bitrix24 refused 1 provisioning step(s): repeat: ")


def test_a_stage_renamed_moved_and_recoloured_sends_every_attribute_colour_upper_cased(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    stage = _middle_stage()
    sid = _stage_id(provisioned, stage.key)

    provision(provisioned, _with_stage(stage.key, name="Talking", sort=stage.sort + 5, color="#a1b2c3"))

    assert _sent(sandbox, "crm.status.update") == [
        {
            "id": sid,
            "fields[NAME]": "Talking",
            "fields[SORT]": str(stage.sort + 5),
            "fields[COLOR]": "#A1B2C3",
        }
    ]


def test_a_stage_only_renamed_keeps_its_sort_and_colour_in_the_update(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    stage = _middle_stage()
    sid = _stage_id(provisioned, stage.key)

    provision(provisioned, _with_stage(stage.key, name="Talking"))

    assert _sent(sandbox, "crm.status.update") == [
        {"id": sid, "fields[NAME]": "Talking", "fields[SORT]": str(stage.sort), "fields[COLOR]": stage.color}
    ]


def test_an_enumeration_update_sends_every_kept_item_and_numbers_the_new_ones_after_them(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    tier = next(f for f in DESIRED.fields if f.key == "tier" and f.entity is FieldEntity.PARTNER)
    options = (
        dataclasses.replace(tier.options[0], label="Bronze partner"),
        *tier.options[1:],
        DesiredOption("diamond", "Diamond"),
        DesiredOption("emerald", "Emerald"),
    )
    desired = dataclasses.replace(
        DESIRED,
        fields=tuple(dataclasses.replace(f, options=options) if f is tier else f for f in DESIRED.fields),
    )
    observed = next(f for f in provisioned.observe_layout().fields if f.key == "tier")
    ids = {o.key: str(o.crm_id) for o in observed.options}
    sandbox.log.clear()

    provision(provisioned, desired)

    [update] = _sent(sandbox, "crm.company.userfield.update")
    assert update == {
        "id": str(observed.crm_id),
        "fields[LIST][0][ID]": ids["bronze"],
        "fields[LIST][0][VALUE]": "Bronze partner",
        "fields[LIST][0][XML_ID]": "bronze",
        "fields[LIST][0][SORT]": "10",
        "fields[LIST][1][ID]": ids["silver"],
        "fields[LIST][1][VALUE]": "Silver",
        "fields[LIST][1][XML_ID]": "silver",
        "fields[LIST][1][SORT]": "20",
        "fields[LIST][2][ID]": ids["gold"],
        "fields[LIST][2][VALUE]": "Gold",
        "fields[LIST][2][XML_ID]": "gold",
        "fields[LIST][2][SORT]": "30",
        "fields[LIST][3][ID]": ids["platinum"],
        "fields[LIST][3][VALUE]": "Platinum",
        "fields[LIST][3][XML_ID]": "platinum",
        "fields[LIST][3][SORT]": "40",
        "fields[LIST][4][VALUE]": "Diamond",
        "fields[LIST][4][XML_ID]": "diamond",
        "fields[LIST][4][SORT]": "50",
        "fields[LIST][5][VALUE]": "Emerald",
        "fields[LIST][5][XML_ID]": "emerald",
        "fields[LIST][5][SORT]": "60",
    }


def test_relabelling_the_deal_half_of_a_shared_user_field_updates_that_field_by_its_number(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    ref = next(f for f in DESIRED.fields if f.key == "partner_ref" and f.entity is FieldEntity.DEAL)
    desired = dataclasses.replace(
        DESIRED,
        fields=tuple(dataclasses.replace(f, label="Partner") if f is ref else f for f in DESIRED.fields),
    )
    fields = provisioned.observe_layout().fields
    [lead_half, deal_half] = [f for f in fields if f.key == "partner_ref"]
    assert deal_half.crm_id == f"{lead_half.crm_id}@deal"
    sandbox.log.clear()

    provision(provisioned, desired)

    assert _sent(sandbox, "crm.deal.userfield.update") == [
        {
            "id": str(lead_half.crm_id),
            "fields[EDIT_FORM_LABEL]": "Partner",
            "fields[LIST_COLUMN_LABEL]": "Partner",
            "fields[LIST_FILTER_LABEL]": "Partner",
        }
    ]


def _tier_plan(adapter: Bitrix24Adapter) -> Any:
    tier = next(f for f in DESIRED.fields if f.key == "tier" and f.entity is FieldEntity.PARTNER)
    options = (
        dataclasses.replace(tier.options[0], label="Bronze partner"),
        *tier.options[1:],
        DesiredOption("diamond", "Diamond"),
    )
    desired = dataclasses.replace(
        DESIRED,
        fields=tuple(dataclasses.replace(f, options=options) if f is tier else f for f in DESIRED.fields),
    )
    return plan(desired, adapter.observe_layout())


def test_an_option_gone_from_the_portal_since_the_plan_is_neither_relabelled_nor_made_again(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    computed = _tier_plan(provisioned)
    stale = tuple(
        dataclasses.replace(i, observed_id="99999") if i.path == "partner.tier/bronze" else i
        for i in computed.items
    )
    sandbox.log.clear()

    provisioned.apply_plan(dataclasses.replace(computed, items=stale))

    [update] = _sent(sandbox, "crm.company.userfield.update")
    values = [v for k, v in update.items() if k.endswith("[VALUE]")]
    assert values == ["Bronze", "Silver", "Gold", "Platinum", "Diamond"]
    assert update["fields[LIST][4][SORT]"] == "50"


def test_options_of_a_field_gone_from_the_portal_since_the_plan_are_refused_by_the_portal(
    provisioned: Bitrix24Adapter, sandbox: Sandbox
) -> None:
    computed = _tier_plan(provisioned)
    stale = tuple(
        dataclasses.replace(i, parent_id="99999") if i.object is PlanObject.OPTION else i
        for i in computed.items
    )
    sandbox.log.clear()

    with pytest.raises(CrmError) as info:
        provisioned.apply_plan(dataclasses.replace(computed, items=stale))

    assert str(info.value).startswith("Bitrix24 refused 1 provisioning step(s): partner.tier: ")
    assert _sent(sandbox, "crm.company.userfield.update") == [
        {
            "id": "99999",
            "fields[LIST][0][VALUE]": "Diamond",
            "fields[LIST][0][XML_ID]": "diamond",
            "fields[LIST][0][SORT]": "10",
        }
    ]
