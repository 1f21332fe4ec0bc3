"""The adapter toolkit on its own: recognition by name and marker, the catalog and layout state kept in
the store, exactly-once creation across a crash, and the doctor's layout lines."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from toolkit_support import MemoryKV, desired_layout

from crm_bridge.domain.layout import (
    FieldEntity,
    FieldType,
    ObservedField,
    ObservedFunnel,
    ObservedLayout,
    ObservedOption,
    ObservedStage,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.errors import CrmValidationError
from crm_bridge.toolkit.catalog import Catalog
from crm_bridge.toolkit.doctor import layout_checks
from crm_bridge.toolkit.exactly_once import ExactlyOnce, Sent
from crm_bridge.toolkit.layout_state import LayoutState
from crm_bridge.toolkit.recognition import (
    field_key,
    funnels_by_name,
    key_from_marker,
    marker_for,
    stage_key_by_name,
)


def test_a_funnel_is_recognised_by_its_configured_name_once_and_never_twice() -> None:
    desired = desired_layout()
    leads = next(f for f in desired.funnels if f.key == "leads")
    known = {"acquisition": 7}

    found = funnels_by_name(
        desired, known, [(7, leads.name), (9, "Sales"), (11, leads.name), (12, leads.name)]
    )

    assert found == {"leads": 11}
    assert funnels_by_name(None, {}, [(1, leads.name)]) == {}


def test_a_stage_is_recognised_by_name_and_kind_and_a_taken_key_is_skipped() -> None:
    desired = desired_layout()
    leads = next(f for f in desired.funnels if f.key == "leads")
    first = leads.stages[0]

    assert stage_key_by_name(desired, "leads", [], first.name, first.kind) == first.key
    assert stage_key_by_name(desired, "leads", [first.key], first.name, first.kind) is None
    assert stage_key_by_name(desired, "leads", [], first.name, StageKind.LOST) is None
    assert stage_key_by_name(desired, "nope", [], first.name, first.kind) is None


def test_a_field_is_known_by_the_mappings_code_or_by_our_marker_when_it_is_wanted() -> None:
    desired = desired_layout()
    wanted = next(f for f in desired.fields if f.entity is FieldEntity.PARTNER)

    assert marker_for("tier") == "crm_bridge.tier" and key_from_marker("crm_bridge.tier") == "tier"
    assert key_from_marker("crm_bridge.") is None and key_from_marker("UF_X") is None
    assert field_key(desired, FieldEntity.PARTNER, mapped_key="tier", marker=None) == "tier"
    assert (
        field_key(desired, FieldEntity.PARTNER, mapped_key=None, marker=marker_for(wanted.key)) == wanted.key
    )
    assert field_key(desired, FieldEntity.PARTNER, mapped_key=None, marker=marker_for("unwanted")) is None
    assert (
        field_key(None, FieldEntity.DEAL, mapped_key=None, marker="crm_bridge.x", default_keys=["y"]) is None
    )
    assert (
        field_key(None, FieldEntity.DEAL, mapped_key=None, marker="crm_bridge.y", default_keys=["y"]) == "y"
    )


def _observed() -> ObservedLayout:
    stages = (
        ObservedStage("1", "C3:NEW", "lead_registered", "New", StageKind.OPEN, 10),
        ObservedStage("2", "C3:WON", None, "Won", StageKind.WON, 90),
    )
    tier = ObservedField(
        "55",
        "UF_CRM_TIER",
        "tier",
        FieldEntity.PARTNER,
        "Tier",
        FieldType.ENUM,
        (ObservedOption("8", "gold", "G"),),
    )
    return ObservedLayout((ObservedFunnel("3", "leads", "Leads", stages, 1),), (tier,))


@pytest.mark.parametrize("ids", [int, str])
def test_the_catalog_is_built_from_an_observation_and_survives_the_store_with_the_crms_id_type(
    ids: Any,
) -> None:
    kv = MemoryKV()
    catalog = Catalog.build(_observed(), ids)
    catalog.save(kv, "catalog")
    again = Catalog.load(kv, "catalog", ids)

    assert again == catalog
    assert again.funnels == {"leads": ids("3")}
    assert again.stage_code("leads", None) == "C3:NEW"
    assert again.stage_code("leads", "C3:WON") == "C3:WON"
    assert again.funnel_of("3") == "leads"
    info = again.field(FieldEntity.PARTNER, "tier")
    assert info is not None and info.options == {"gold": ids("8")} and info.option_key("8") == "gold"


def test_the_layout_state_survives_the_store() -> None:
    kv = MemoryKV()
    state: LayoutState[int] = LayoutState(
        funnels={"leads": 3}, stages={"leads": {"new": "C3:NEW"}}, created={3}
    )
    state.save(kv, "layout")
    again = LayoutState.load(kv, "layout", int)

    assert again == state
    assert again.funnel_key(3) == "leads" and again.stage_key("leads", "C3:NEW") == "new"
    assert again.stage_code("leads", "new") == "C3:NEW"


class _Crm:
    """A CRM whose writes may be lost in flight: ``crash_after`` answers, then the process 'dies'."""

    def __init__(self) -> None:
        self.created: dict[str, str] = {}  # external id -> CRM id
        self.crash_after: int | None = None
        self.lookups = 0

    def send(self, requests: Sequence[str]) -> list[Sent]:
        out = []
        for ext in requests:
            if ext.startswith("bad"):
                out.append(Sent(None, "refused"))
                continue
            self.created[ext] = str(100 + len(self.created))
            out.append(Sent(self.created[ext]))
            if self.crash_after is not None and len(self.created) >= self.crash_after:
                raise SystemExit("killed")
        return out

    def recover(self, drafts: Sequence[str]) -> dict[str, str]:
        self.lookups += len(drafts)
        return {d: self.created[d] for d in drafts if d in self.created}


def _prepare(draft: str) -> str:
    if draft.startswith("invalid"):
        raise CrmValidationError("no responsible user", crm="test", entity="task")
    return draft


def test_exactly_once_creates_each_draft_once_across_a_crash_and_a_rerun() -> None:
    kv, crm = MemoryKV(), _Crm()
    once: ExactlyOnce[str, str] = ExactlyOnce(kv, "task:")
    drafts = [f"t{i}" for i in range(5)]
    crm.crash_after = 2
    with pytest.raises(SystemExit):
        once.create(drafts, key=lambda d: d, prepare=_prepare, recover=crm.recover, send=crm.send)
    crm.crash_after = None

    outcomes = once.create(drafts, key=lambda d: d, prepare=_prepare, recover=crm.recover, send=crm.send)

    assert sorted(crm.created) == drafts
    assert [o.crm_id for o in outcomes] == [crm.created[d] for d in drafts]
    assert crm.lookups == 5  # all five were pending when the process died; found two, created three
    again = once.create(drafts, key=lambda d: d, prepare=_prepare, recover=crm.recover, send=crm.send)
    assert all(not o.created for o in again) and crm.lookups == 5


def test_a_refused_or_invalid_draft_is_reported_and_may_be_tried_again() -> None:
    kv, crm = MemoryKV(), _Crm()
    once: ExactlyOnce[str, str] = ExactlyOnce(kv, "task:")

    outcomes = once.create(
        ["bad1", "invalid2", "ok3", "ok3"],
        key=lambda d: d,
        prepare=_prepare,
        recover=crm.recover,
        send=crm.send,
    )

    assert [o.error for o in outcomes] == ["refused", "no responsible user", None, None]
    assert once.recorded("bad1") is None and once.recorded("ok3") == crm.created["ok3"]
    assert list(crm.created) == ["ok3"]


def test_the_doctors_layout_lines_name_what_provisioning_will_create() -> None:
    desired = desired_layout()
    lines = layout_checks(desired, _observed())

    by_name = {line.name: line for line in lines}
    assert all(line.provisionable for line in lines)
    assert (
        not by_name["funnel acquisition"].ok
        and "run crm-bridge provision" in by_name["funnel acquisition"].detail
    )
    assert not by_name["funnel leads"].ok and "stages missing" in by_name["funnel leads"].detail
    assert not by_name["custom fields"].ok
