"""The provisioning plan as `provision --dry-run` prints it: every item's action, path, words and
(old, new) changes, the CRM ids it will touch, for a CRM that is partly set up already."""

from __future__ import annotations

from crm_bridge.domain.layout import (
    DesiredFunnel,
    DesiredLayout,
    DesiredStage,
    ObservedFunnel,
    ObservedLayout,
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
                    "73", "LOSE", "old_lost", "Lost", LOST, 40, "#FF5752"
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
        ("stage", "unchanged", "leads/lost", "", {}, "73", "7"),
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
