"""The pure pieces of Bitrix24 stage provisioning and the mapping file (layout/stages.py, mapping.py):
stage codes as Bitrix24 accepts them, the calls that give a funnel its stages, and field codes."""

from __future__ import annotations

from typing import Any

import pytest

from crm_bridge.domain.layout import DesiredStage, FieldEntity, FieldType
from crm_bridge.domain.model import StageKind
from crm_bridge_bitrix24.layout.stages import kind_of, reuse_plan, stage_code, stage_entity, stage_prefix
from crm_bridge_bitrix24.mapping import field_code_for, load_mapping
from crm_bridge_bitrix24.wire import Status


def _status(row_id: int, code: str, sort: int, semantics: str = "") -> Status:
    row: dict[str, Any] = {"ID": row_id, "ENTITY_ID": "DEAL_STAGE_7", "STATUS_ID": code, "SORT": sort}
    return Status.model_validate({**row, "SEMANTICS": semantics})


def test_the_general_funnel_has_no_prefix_and_the_others_their_id() -> None:
    assert (stage_entity(0), stage_prefix(0)) == ("DEAL_STAGE", "")
    assert (stage_entity(7), stage_prefix(7)) == ("DEAL_STAGE_7", "C7:")


@pytest.mark.parametrize(
    ("category", "key", "taken", "expected"),
    [
        (0, "qualified lead!", set(), "QUALIFIED_LEAD_"),
        (7, "x" * 30, set(), "X" * 19),  # 22 with "C7:"
        (7, "x" * 30, {"C7:" + "X" * 19}, "X" * 17 + "_2"),
        (7, "x" * 30, {"C7:" + "X" * 19, "C7:" + "X" * 17 + "_2"}, "X" * 17 + "_3"),
        (7, "a-b", set(), "A-B"),
        (7, "", set(), "STAGE"),
        (7, "new", {"NEW"}, "NEW"),  # the general funnel's code is no clash in funnel 7
        (123456789012345678, "offer", set(), "OFFE"),  # at least four characters of the key
    ],
)
def test_a_new_stage_code_fits_the_portals_limit_and_is_unique(
    category: int, key: str, taken: set[str], expected: str
) -> None:
    assert stage_code(category, key, 22, taken) == expected


def test_stage_kinds_follow_the_semantics() -> None:
    assert [kind_of(_status(1, "C7:X", 10, s)) for s in ("S", "F", "", "P")] == [
        StageKind.WON,
        StageKind.LOST,
        StageKind.OPEN,
        StageKind.OPEN,
    ]


def test_a_new_funnels_stages_are_the_reused_ones_updated_terminal_first_then_the_added_then_deleted() -> (
    None
):
    observed = [
        _status(1, "C7:NEW", 10),
        _status(2, "C7:PREPARATION", 20),
        _status(3, "C7:WON", 60, "S"),
        _status(5, "C7:APOLOGY", 70, "F"),
        _status(4, "C7:LOSE", 80, "F"),
    ]
    wanted = [
        DesiredStage("lost", "Lost", StageKind.LOST, sort=50),
        DesiredStage("a", "A", color="#112233", sort=10),
        DesiredStage("b", "B", sort=20),
        DesiredStage("c", "C", sort=30),
        DesiredStage("won", "Won", StageKind.WON, sort=40),
        DesiredStage("lost2", "Lost again", StageKind.LOST, sort=60),
        DesiredStage("won2", "Won again", StageKind.WON, color="#00FF00", sort=70),
    ]

    ops = reuse_plan(7, observed, {}, wanted, created_by_us=True, max_code_length=22)

    assert ops.updates == [
        (5, {"NAME": "Lost again", "SORT": 60}, "C7:APOLOGY"),
        (4, {"NAME": "Lost", "SORT": 50}, "C7:LOSE"),
        (3, {"NAME": "Won", "SORT": 40}, "C7:WON"),
        (2, {"NAME": "B", "SORT": 20}, "C7:PREPARATION"),
        (1, {"NAME": "A", "SORT": 10, "COLOR": "#112233"}, "C7:NEW"),
    ]
    assert ops.adds == [
        ({"ENTITY_ID": "DEAL_STAGE_7", "STATUS_ID": "C", "SEMANTICS": "", "NAME": "C", "SORT": 30}, "C7:C"),
        (
            {
                "ENTITY_ID": "DEAL_STAGE_7",
                "STATUS_ID": "WON2",
                "SEMANTICS": "S",
                "NAME": "Won again",
                "SORT": 70,
                "COLOR": "#00FF00",
            },
            "C7:WON2",
        ),
    ]
    assert ops.deletes == []
    assert ops.codes["lost"] == "C7:LOSE" and ops.codes["lost2"] == "C7:APOLOGY"


def test_a_lost_stage_beyond_the_portals_is_added_as_a_failure() -> None:
    ops = reuse_plan(
        7,
        [],
        {},
        [DesiredStage("lost", "Lost", StageKind.LOST, sort=50)],
        created_by_us=True,
        max_code_length=22,
    )
    assert ops.adds == [
        (
            {"ENTITY_ID": "DEAL_STAGE_7", "STATUS_ID": "LOST", "SEMANTICS": "F", "NAME": "Lost", "SORT": 50},
            "C7:LOST",
        )
    ]


def test_leftover_open_and_failure_stages_of_our_funnel_are_deleted_but_a_spare_success_stays() -> None:
    observed = [
        _status(1, "C7:NEW", 10),
        _status(2, "C7:MORE", 20),
        _status(3, "C7:WON", 60, "S"),
        _status(4, "C7:LOSE", 70, "F"),
        _status(6, "C7:WON_TOO", 65, "S"),
    ]
    ops = reuse_plan(
        7,
        observed,
        {"x": "C7:NEW"},
        [DesiredStage("b", "B", sort=20)],
        created_by_us=True,
        max_code_length=22,
    )
    assert ops.codes == {"b": "C7:MORE"}
    assert ops.deletes == [4]


def test_field_codes_derived_from_keys_are_what_bitrix24_accepts() -> None:
    assert field_code_for("partner level-2") == "UF_CRM_PARTNER_LEVEL_2"
    assert field_code_for("x" * 60) == "UF_CRM_" + "X" * 43
    mapping = load_mapping()
    assert mapping.code(FieldEntity.PARTNER, "tier") == "UF_CRM_PARTNER_TIER"
    assert mapping.code(FieldEntity.PARTNER, "shoe_size") == "UF_CRM_SHOE_SIZE"
    assert mapping.key_for_code(FieldEntity.LEAD, "UF_CRM_PARTNER_REF") == "partner_ref"
    assert mapping.key_for_code(FieldEntity.LEAD, "UF_CRM_PARTNER_TIER") is None
    assert (mapping.field_type("double"), mapping.field_type("employee"), mapping.field_type("crm")) == (
        FieldType.NUMBER,
        FieldType.USER,
        None,
    )
    assert (mapping.userfield_entity(FieldEntity.LEAD), mapping.user_type(FieldType.ENUM)) == (
        "deal",
        "enumeration",
    )
