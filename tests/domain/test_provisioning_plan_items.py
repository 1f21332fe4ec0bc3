"""The provisioning plan as `provision --dry-run` prints it: every item's action, path, words and
(old, new) changes, the CRM ids it will touch, for a CRM that is partly set up already."""

from __future__ import annotations

from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredLayout,
    DesiredOption,
    DesiredStage,
    FieldEntity,
    FieldType,
    ObservedField,
    ObservedFunnel,
    ObservedLayout,
    ObservedOption,
    ObservedStage,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.domain.provisioning import plan

OPEN, WON, LOST = StageKind.OPEN, StageKind.WON, StageKind.LOST
QUALIFIED = DesiredStage("qualified", "Qualified", OPEN, "#2FC6F6", 20)
DESIRED = DesiredLayout(
    (
        DesiredFunnel(
            "leads",
            "Partner leads",
            (
                DesiredStage("registered", "Registered", OPEN, "#39A8EF", 10),
                QUALIFIED,
                DesiredStage("won", "Won", WON, "#7BD500", 30),
                DesiredStage("lost", "Lost", LOST, "#FF5752", 40),
            ),
        ),
        DesiredFunnel(
            "repeat",
            "Repeat deals",
            (
                DesiredStage("review", "Review", OPEN, "", 10),
                DesiredStage("repeat_won", "Repeat won", WON, "", 20),
            ),
        ),
        DesiredFunnel("tiers", "Tier upgrade", (DesiredStage("goal", "Goal", OPEN),)),
    ),
    (),
)
OBSERVED = ObservedLayout(
    (
        ObservedFunnel(
            "7",
            None,  # not marked as ours: found by its name, whatever its case and spaces
            " partner LEADS ",
            (
                ObservedStage("71", "NEW", "registered", "Registered", OPEN, 5, "#39a8ef"),  # colour: same
                ObservedStage("72", "WON", None, "Success", WON, 30, "#000000", fixed=True),
                ObservedStage(
                    "73", "LOSE", "old_lost", "Lost", LOST, 40, "#ff0000"
                ),  # another key: the lost one
                ObservedStage("74", "X", None, "Old stage", OPEN, 50, "", record_count=0),
            ),
        ),
        ObservedFunnel(
            "9", "repeat", "Repeat deals", (ObservedStage("91", "R", "review", "Review", LOST, 10),)
        ),
    ),
    (),
)


def test_the_plan_names_every_change_and_the_crm_ids_it_touches() -> None:
    items = plan(DESIRED, OBSERVED).items
    assert [
        (i.object.value, i.action.value, i.path, i.details, i.changes, i.observed_id, i.parent_id)
        for i in items
    ] == [
        (
            "funnel",
            "update",
            "leads",
            "name: ' partner LEADS ' -> 'Partner leads'",
            {"name": (" partner LEADS ", "Partner leads")},
            "7",
            None,
        ),
        ("stage", "update", "leads/registered", "sort: 5 -> 10", {"sort": (5, 10)}, "71", "7"),
        ("stage", "create", "leads/qualified", "open stage 'Qualified'", {}, None, "7"),
        ("stage", "update", "leads/won", "name: 'Success' -> 'Won'", {"name": ("Success", "Won")}, "72", "7"),
        (
            "stage",
            "update",
            "leads/lost",
            "color: '#FF0000' -> '#FF5752'",
            {"color": ("#FF0000", "#FF5752")},
            "73",
            "7",
        ),
        (
            "stage",
            "orphan",
            "leads/X",
            "stage 'Old stage' not in config, kept (use --prune to delete)",
            {},
            "74",
            "7",
        ),
        ("funnel", "unchanged", "repeat", "", {}, "9", None),
        ("stage", "update", "repeat/review", "kind: 'lost' -> 'open'", {"kind": ("lost", "open")}, "91", "9"),
        ("stage", "create", "repeat/repeat_won", "won stage 'Repeat won'", {}, None, "9"),
        ("funnel", "create", "tiers", "new funnel 'Tier upgrade'", {}, None, None),
        ("stage", "create", "tiers/goal", "open stage 'Goal'", {}, None, None),
    ]
    assert items[2].desired is QUALIFIED
    assert items[9].desired is DESIRED.funnels[2] and items[10].desired is DESIRED.funnels[2].stages[0]


def test_stages_not_in_config_are_kept_with_the_reason_and_only_empty_custom_ones_are_pruned() -> None:
    desired = DesiredLayout(
        (DesiredFunnel("tiers", "Tier upgrade", (DesiredStage("goal", "Goal", OPEN),)),), ()
    )
    extras = (
        ObservedStage("1", "G", "goal", "Goal", OPEN, 10),
        ObservedStage("2", "EMPTY", None, "Empty", OPEN, 20, record_count=0),
        ObservedStage("3", "FULL", None, "Full", OPEN, 30, record_count=3),
        ObservedStage("4", "UNKNOWN", None, "Unknown", OPEN, 40),  # no count: treated as holding records
        ObservedStage("5", "SYS", None, "System", OPEN, 50, record_count=0, system=True),
    )
    observed = ObservedLayout((ObservedFunnel("8", "tiers", "Tier upgrade", extras),), ())
    kept = [
        (i.action.value, i.path, i.details, i.observed_id, i.parent_id)
        for i in plan(desired, observed).items[2:]
    ]
    assert kept == [
        ("orphan", "tiers/EMPTY", "stage 'Empty' not in config, kept (use --prune to delete)", "2", "8"),
        ("orphan", "tiers/FULL", "stage 'Full' not in config, kept (holds records)", "3", "8"),
        ("orphan", "tiers/UNKNOWN", "stage 'Unknown' not in config, kept (holds records)", "4", "8"),
        ("orphan", "tiers/SYS", "stage 'System' not in config, kept (system stage)", "5", "8"),
    ]
    pruned = plan(desired, observed, prune=True).items[2]
    assert (
        pruned.object.value,
        pruned.action.value,
        pruned.path,
        pruned.details,
        pruned.observed_id,
        pruned.parent_id,
    ) == (
        "stage",
        "delete",
        "tiers/EMPTY",
        "empty stage 'Empty' not in config",
        "2",
        "8",
    )
    assert [i.action.value for i in plan(desired, observed, prune=True).items[3:]] == ["orphan"] * 3


def test_fields_are_found_by_key_or_by_label_and_their_options_by_key_or_by_label() -> None:
    partner = FieldEntity.PARTNER
    tier_options = (
        DesiredOption("gold", "Gold"),
        DesiredOption("silver", "Silver"),
        DesiredOption("bronze", "Bronze"),
        DesiredOption("new", "New"),
    )
    desired = DesiredLayout(
        (),
        (
            DesiredField("tier", partner, "Partner tier", FieldType.ENUM, tier_options),
            DesiredField("curator", partner, "Partner curator", FieldType.USER),
            DesiredField(
                "partner_ref", partner, "Partner (company ID)", FieldType.STRING, (DesiredOption("a", "A"),)
            ),
        ),
    )
    observed = ObservedLayout(
        (),
        (
            ObservedField(
                "f0", "UF_OTHER", "other", partner, "Partner tier", FieldType.ENUM
            ),  # another key: not it
            ObservedField(
                "f1",
                "UF_TIER",
                None,
                partner,
                " partner TIER ",
                FieldType.STRING,
                (
                    ObservedOption("o1", "gold", "Golden"),
                    ObservedOption("o2", None, " SILVER "),
                    ObservedOption("o3", "old_bronze", "Bronze"),
                ),
            ),
            ObservedField("f2", "UF_CUR", "curator", partner, "Partner curator", FieldType.USER),
        ),
    )
    items = plan(desired, observed).items
    assert [
        (i.object.value, i.action.value, i.path, i.details, i.changes, i.observed_id, i.parent_id)
        for i in items
    ] == [
        (
            "field",
            "update",
            "partner.tier",
            "label: ' partner TIER ' -> 'Partner tier', type: 'string' -> 'enum'",
            {"label": (" partner TIER ", "Partner tier"), "type": ("string", "enum")},
            "f1",
            None,
        ),
        (
            "option",
            "update",
            "partner.tier/gold",
            "label: 'Golden' -> 'Gold'",
            {"label": ("Golden", "Gold")},
            "o1",
            "f1",
        ),
        (
            "option",
            "update",
            "partner.tier/silver",
            "label: ' SILVER ' -> 'Silver', key: None -> 'silver'",
            {"label": (" SILVER ", "Silver"), "key": (None, "silver")},
            "o2",
            "f1",
        ),
        (
            "option",
            "update",
            "partner.tier/bronze",
            "key: 'old_bronze' -> 'bronze'",
            {"key": ("old_bronze", "bronze")},
            "o3",
            "f1",
        ),
        ("option", "create", "partner.tier/new", "option 'New'", {}, None, "f1"),
        ("field", "unchanged", "partner.curator", "", {}, "f2", None),
        ("field", "create", "partner.partner_ref", "string field 'Partner (company ID)'", {}, None, None),
        ("option", "create", "partner.partner_ref/a", "option 'A'", {}, None, None),
    ]
    assert items[4].desired is tier_options[3] and items[6].desired is desired.fields[2]


def test_two_funnels_configured_with_one_name_do_not_share_the_crms_funnel_of_that_name() -> None:
    stage = (DesiredStage("s", "S", OPEN),)
    desired = DesiredLayout(
        (DesiredFunnel("leads", "Deals", stage), DesiredFunnel("repeat", "Deals", stage)), ()
    )
    observed = ObservedLayout((ObservedFunnel("7", None, "Deals", ()),), ())
    funnels = [
        (i.action.value, i.path, i.observed_id)
        for i in plan(desired, observed).items
        if i.object.value == "funnel"
    ]
    assert funnels == [("unchanged", "leads", "7"), ("create", "repeat", None)]
