"""Provisioning changes after the first run on amoCRM, request for request: a renamed pipeline, a
renamed status (a won/lost status: its name only), a field whose type changed (refused: amoCRM cannot
change it), a pipeline create amoCRM refuses, and the 100-statuses limit checked before writing."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from amo_support import DESIRED, MemoryKV, make_adapter, provision, token_config, writes

from crm_bridge.domain.layout import DesiredLayout, FieldType
from crm_bridge.domain.model import StageKind
from crm_bridge.domain.provisioning import plan
from crm_bridge.errors import CrmValidationError
from crm_bridge.ports import Entity, RecordUpdate
from crm_bridge.sandbox.core import SandboxRequest, SandboxResponse
from crm_bridge.sandbox.server import Sandbox
from crm_bridge_amocrm import AmoCrmAdapter


def _changed(funnel_name: str | None = None, stage_names: dict[str, str] | None = None) -> DesiredLayout:
    renames = stage_names or {}
    funnels = tuple(
        f
        if f.key != "leads"
        else dataclasses.replace(
            f,
            name=funnel_name or f.name,
            stages=tuple(dataclasses.replace(s, name=renames.get(s.key, s.name)) for s in f.stages),
        )
        for f in DESIRED.funnels
    )
    return dataclasses.replace(DESIRED, funnels=funnels)


def _writes(sandbox: Sandbox) -> list[tuple[str, str, Any]]:
    return [
        (e["method"], e["path"], json.loads(e["body"])) for e in sandbox.requests() if e["method"] != "GET"
    ]


def test_a_renamed_pipeline_and_statuses_are_one_patch_each_then_settle(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    provision(adapter)
    leads = next(f for f in DESIRED.funnels if f.key == "leads")
    first = leads.stages[0]
    won = next(s for s in leads.stages if s.kind is StageKind.WON)
    changed = _changed("Partner leads", {first.key: "Registered", won.key: "Closed and won"})
    sandbox.log.clear()

    after = adapter.apply_plan(plan(changed, adapter.observe_layout()))

    assert sorted(_writes(sandbox), key=lambda w: w[1]) == [
        ("PATCH", "/api/v4/leads/pipelines/7000003", {"name": "Partner leads"}),
        ("PATCH", "/api/v4/leads/pipelines/7000003/statuses/142", {"name": "Closed and won"}),
        (
            "PATCH",
            "/api/v4/leads/pipelines/7000003/statuses/60000011",
            {"name": "Registered", "sort": first.sort, "color": first.color.lower()},
        ),
    ]
    assert plan(changed, after).is_noop  # the pipelines were read again after the renames
    assert provision(adapter, changed).is_noop


def test_a_field_whose_type_changed_is_refused_and_the_rest_is_written(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    provision(adapter)
    fields = tuple(
        dataclasses.replace(f, type=FieldType.STRING, options=()) if f.key == "score_values_fit" else f
        for f in DESIRED.fields
    )
    changed = dataclasses.replace(_changed("Partner leads"), fields=fields)
    sandbox.log.clear()

    with pytest.raises(CrmValidationError) as caught:
        adapter.apply_plan(plan(changed, adapter.observe_layout()))

    assert str(caught.value).startswith("amoCRM refused 1 provisioning step(s): partner.score_values_fit")
    assert str(caught.value).endswith(": amoCRM cannot change a field's type: rename or delete it")
    assert [w[:2] for w in _writes(sandbox)] == [("PATCH", "/api/v4/leads/pipelines/7000003")]


def test_a_refused_pipeline_create_fails_each_funnel_and_is_read_again(
    adapter: AmoCrmAdapter, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    computed = plan(DESIRED, adapter.observe_layout())
    handle = sandbox.emulator.handle

    def refuse_pipelines(request: SandboxRequest) -> SandboxResponse:
        if request.method == "POST" and request.path == "/api/v4/leads/pipelines":
            return sandbox.emulator.error_response(402)
        return handle(request)

    monkeypatch.setattr(sandbox.emulator, "handle", refuse_pipelines)

    with pytest.raises(Exception) as caught:  # noqa: PT011 - the kind is amoCRM's: PermissionDenied
        adapter.apply_plan(computed)

    message = str(caught.value)
    assert message.startswith("amoCRM refused 4 provisioning step(s): ")
    for key in ("acquisition", "leads", "tier_upgrade", "repeat"):
        assert (
            f"{key}: amoCRM: the account 127.0.0.1:{sandbox.port} is not paid (HTTP 402); renew it" in message
        )
    assert type(caught.value).__name__ == "PermissionDenied"
    assert sandbox.counts()["GET /api/v4/leads/pipelines"] == 2  # read again after the refusal
    assert sandbox.counts()["POST /api/v4/leads/custom_fields"] == 1  # the fields went on


def test_the_status_limit_is_checked_before_anything_is_written(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    provision(adapter)
    leads = next(f for f in DESIRED.funnels if f.key == "leads")
    extra = tuple(
        dataclasses.replace(leads.stages[0], key=f"extra_{i}", name=f"Extra {i}", sort=1000 + i)
        for i in range(96)
    )
    funnels = tuple(
        dataclasses.replace(f, stages=(*f.stages, *extra)) if f.key == "leads" else f for f in DESIRED.funnels
    )
    changed = dataclasses.replace(DESIRED, funnels=funnels)
    sandbox.log.clear()

    with pytest.raises(CrmValidationError) as caught:
        adapter.apply_plan(plan(changed, adapter.observe_layout()))

    # 5 statuses (3 open, won, lost) + 96 = 101
    assert str(caught.value) == (
        "amoCRM allows 100 statuses per pipeline; pipeline #7000003 has 5 and provisioning needs 96 more"
    )
    assert writes(sandbox) == 0
    fitting = dataclasses.replace(
        DESIRED,
        funnels=tuple(
            dataclasses.replace(f, stages=(*f.stages, *extra[:95])) if f.key == "leads" else f
            for f in DESIRED.funnels
        ),
    )
    assert provision(adapter, fitting).writes


def test_a_lost_state_store_recognises_the_layout_by_names_codes_and_labels(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    provision(adapter)
    before = {(s.funnel, s.key): code for code, s in adapter.catalog().stages.items()}
    options = {path: dict(info.options) for path, info in adapter.catalog().fields.items()}
    fresh = make_adapter(token_config(sandbox), MemoryKV())  # a new state store: no ids remembered
    sandbox.log.clear()

    again = provision(fresh)

    assert again.is_noop and writes(sandbox) == 0  # nothing created twice
    assert {(s.funnel, s.key): code for code, s in fresh.catalog().stages.items()} == before
    assert {path: dict(info.options) for path, info in fresh.catalog().fields.items()} == options
    fresh.close()


def test_won_and_lost_statuses_are_recognised_without_the_state_store(
    adapter: AmoCrmAdapter, sandbox: Sandbox
) -> None:
    provision(adapter)
    pipeline = adapter.catalog().funnels["leads"]
    [won] = sandbox.emulator.seed(
        {"leads": [{"name": "Won", "pipeline_id": pipeline, "status_id": 142, "created_at": 1767312000}]}
    )["leads"]
    fresh = make_adapter(token_config(sandbox), MemoryKV())  # a new server on the same account
    assert provision(fresh).is_noop

    synced = [(r.stage, r.stage_kind) for p in fresh.changed_since(Entity.LEAD, None) for r in p.records]
    [moved] = fresh.update_records([RecordUpdate(Entity.LEAD, str(won), stage="lead_lost")])

    # before the fix: ("7000003:142", WON) and "no stage 'lead_lost' in the leads pipeline"
    assert synced == [("deal_closed", StageKind.WON)]
    assert (moved.crm_id, moved.error) == (str(won), None)
    assert sandbox.emulator.state.records["leads"][won]["status_id"] == 143
    fresh.close()
