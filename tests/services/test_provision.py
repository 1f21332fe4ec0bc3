"""Provisioning against the FakeCRM: plan, dry run, apply, idempotent re-run, prune (services.provision)."""

from __future__ import annotations

import dataclasses
import logging
from types import SimpleNamespace

import pytest

from crm_bridge.cli.doctor import capability_checks
from crm_bridge.domain.funnels import default_funnels, desired_layout
from crm_bridge.domain.layout import DesiredLayout, PlanAction, PlanObject
from crm_bridge.domain.model import StageKind
from crm_bridge.errors import CrmValidationError
from crm_bridge.fake import FakeCRM
from crm_bridge.ports import Capability
from crm_bridge.services.provision import provision

TIERS = ["bronze", "silver", "gold", "platinum"]


def layout() -> DesiredLayout:
    return desired_layout(default_funnels(), "en", TIERS)


def without_stage(desired: DesiredLayout, funnel: str, stage: str) -> DesiredLayout:
    funnels = tuple(
        dataclasses.replace(f, stages=tuple(s for s in f.stages if s.key != stage)) if f.key == funnel else f
        for f in desired.funnels
    )
    return dataclasses.replace(desired, funnels=funnels)


def second_open_stage(desired: DesiredLayout, funnel: str) -> str:
    stages = next(f for f in desired.funnels if f.key == funnel).stages
    return [s.key for s in stages if s.kind is StageKind.OPEN][1]


def test_dry_run_plans_the_four_funnels_and_writes_nothing(fake_crm: FakeCRM) -> None:
    result = provision(fake_crm, layout(), dry_run=True)
    assert not result.applied and result.changed == ()
    created_funnels = {i.path for i in result.plan.items if i.object is PlanObject.FUNNEL}
    assert created_funnels == {"acquisition", "leads", "tier_upgrade", "repeat"}
    assert result.plan.count(PlanAction.CREATE) == len(result.plan.items)
    assert fake_crm.calls["apply_plan"] == 0
    assert fake_crm.state.funnels == {}


def test_apply_creates_everything_and_a_second_run_changes_nothing_without_a_write_call(
    fake_crm: FakeCRM,
) -> None:
    first = provision(fake_crm, layout())
    assert first.applied and len(first.changed) == len(first.plan.writes) > 0
    assert first.remaining is not None and first.remaining.is_noop
    assert {f.key for f in fake_crm.state.funnels.values()} == {
        "acquisition",
        "leads",
        "tier_upgrade",
        "repeat",
    }

    second = provision(fake_crm, layout())
    assert not second.applied and second.plan.is_noop
    assert set(second.summary()) == {"unchanged"}
    assert fake_crm.calls["apply_plan"] == 1


def test_a_renamed_stage_is_one_update(fake_crm: FakeCRM) -> None:
    provision(fake_crm, layout())
    desired = layout()
    key = second_open_stage(desired, "leads")
    renamed = dataclasses.replace(
        desired,
        funnels=tuple(
            dataclasses.replace(
                f,
                stages=tuple(
                    dataclasses.replace(s, name="Квалификация") if s.key == key else s for s in f.stages
                ),
            )
            if f.key == "leads"
            else f
            for f in desired.funnels
        ),
    )
    result = provision(fake_crm, renamed)
    assert [(i.action, i.path) for i in result.changed] == [(PlanAction.UPDATE, f"leads/{key}")]


def test_a_stage_removed_from_config_is_reported_not_dropped(fake_crm: FakeCRM) -> None:
    provision(fake_crm, layout())
    key = second_open_stage(layout(), "repeat")
    result = provision(fake_crm, without_stage(layout(), "repeat", key))
    assert [(i.action, i.path) for i in result.plan.items if i.path == f"repeat/{key}"] == [
        (PlanAction.ORPHAN, f"repeat/{key}")
    ]
    assert fake_crm.state.funnel("repeat").stage(key) is not None  # type: ignore[union-attr]


def test_prune_deletes_an_empty_removed_stage_but_never_one_holding_records(fake_crm: FakeCRM) -> None:
    provision(fake_crm, layout())
    empty = second_open_stage(layout(), "repeat")
    busy = second_open_stage(layout(), "acquisition")
    partner = fake_crm.seed_partner("ООО Ромашка")
    fake_crm.seed_deal(partner.crm_id, "Повторная сделка", funnel="acquisition", stage=busy)
    desired = without_stage(without_stage(layout(), "repeat", empty), "acquisition", busy)
    result = provision(fake_crm, desired, prune=True)
    actions = {i.path: i.action for i in result.plan.items}
    assert actions[f"repeat/{empty}"] is PlanAction.DELETE
    assert actions[f"acquisition/{busy}"] is PlanAction.ORPHAN
    assert fake_crm.state.funnel("repeat").stage(empty) is None  # type: ignore[union-attr]
    assert fake_crm.state.funnel("acquisition").stage(busy) is not None  # type: ignore[union-attr]


def test_a_crm_that_does_not_take_a_change_is_an_error_naming_what_is_left(fake_crm: FakeCRM) -> None:
    class Forgetful:
        def observe_layout(self):  # type: ignore[no-untyped-def]
            return fake_crm.observe_layout()

        def apply_plan(self, plan):  # type: ignore[no-untyped-def]
            return fake_crm.observe_layout()  # claims success, changes nothing

    with pytest.raises(CrmValidationError, match="still to do: create acquisition"):
        provision(Forgetful(), layout())  # type: ignore[arg-type]


class _NoCountsCRM(FakeCRM):
    """A CRM whose adapter cannot count a stage's records (declares no capability)."""

    port_capabilities = frozenset()

    def observe_layout(self):  # type: ignore[no-untyped-def]
        observed = super().observe_layout()
        funnels = tuple(
            dataclasses.replace(f, stages=tuple(dataclasses.replace(s, record_count=None) for s in f.stages))
            for f in observed.funnels
        )
        return dataclasses.replace(observed, funnels=funnels)


def test_prune_on_a_crm_that_cannot_count_records_warns_and_deletes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    crm = _NoCountsCRM()
    provision(crm, layout())
    empty = second_open_stage(layout(), "repeat")

    with caplog.at_level(logging.WARNING):
        result = provision(crm, without_stage(layout(), "repeat", empty), prune=True)

    assert result.plan.count(PlanAction.DELETE) == 0
    assert "cannot count a stage's records" in caplog.text
    assert crm.state.funnel("repeat").stage(empty) is not None  # type: ignore[union-attr]


def test_doctor_names_each_capability_the_crm_lacks_and_what_suffers() -> None:
    lacking = capability_checks(SimpleNamespace(adapter=_NoCountsCRM()))  # type: ignore[arg-type]
    complete = capability_checks(SimpleNamespace(adapter=FakeCRM()))  # type: ignore[arg-type]

    assert complete == []
    assert {c.name for c in lacking} == {f"capability {c.value}" for c in Capability}
    prune = next(c for c in lacking if c.name == "capability stage_record_counts")
    assert prune.ok and "--prune keeps every removed stage" in prune.detail
