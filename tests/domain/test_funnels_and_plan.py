"""The standard funnels, config overrides and the provisioning plan."""

from __future__ import annotations

import dataclasses

import pytest
from domain_layout_apply import apply_plan
from hypothesis import given
from hypothesis import strategies as st

from crm_bridge.domain.funnels import (
    FunnelOverride,
    FunnelSpec,
    NewStageSpec,
    StageSpec,
    apply_overrides,
    default_funnels,
    desired_layout,
)
from crm_bridge.domain.layout import (
    DesiredLayout,
    ObservedField,
    ObservedFunnel,
    ObservedLayout,
    ObservedOption,
    ObservedStage,
    PlanAction,
)
from crm_bridge.domain.model import StageKind
from crm_bridge.domain.provisioning import plan

TIERS = ["bronze", "silver", "gold", "platinum"]


def observed_from(desired: DesiredLayout, *, records: int = 0) -> ObservedLayout:
    """What a CRM holds after applying ``desired`` faithfully."""
    funnels = tuple(
        ObservedFunnel(
            f"f{i}",
            f.key,
            f.name,
            tuple(
                ObservedStage(f"s{i}-{j}", s.key.upper(), s.key, s.name, s.kind, s.sort, s.color, records)
                for j, s in enumerate(f.stages)
            ),
        )
        for i, f in enumerate(desired.funnels)
    )
    fields = tuple(
        ObservedField(
            f"uf{i}",
            f"UF_{f.key}",
            f.key,
            f.entity,
            f.label,
            f.type,
            tuple(ObservedOption(f"o{i}-{j}", o.key, o.label) for j, o in enumerate(f.options)),
        )
        for i, f in enumerate(desired.fields)
    )
    return ObservedLayout(funnels, fields)


def test_the_four_funnels_have_the_handbook_stages_in_order_in_russian() -> None:
    layout = desired_layout(default_funnels(), "ru", TIERS)
    leads = next(f for f in layout.funnels if f.key == "leads")
    assert [s.name for s in leads.stages][:3] == [
        "Регистрация лида",
        "Квалификация лида",
        "Персональное предложение и переговоры",
    ]
    assert [f.key for f in layout.funnels] == ["acquisition", "leads", "tier_upgrade", "repeat"]
    for funnel in layout.funnels:
        kinds = [s.kind for s in funnel.stages]
        assert kinds[-2:] == [StageKind.WON, StageKind.LOST]
        assert [s.sort for s in funnel.stages] == sorted(s.sort for s in funnel.stages)


def test_an_empty_crm_gets_every_funnel_stage_field_and_option_created() -> None:
    desired = desired_layout(default_funnels(), "en", TIERS)
    result = plan(desired, ObservedLayout((), ()))
    assert result.count(PlanAction.CREATE) == len(result.items)
    assert {i.path for i in result.items} >= {
        "leads",
        "leads/qualification",
        "partner.tier",
        "partner.tier/gold",
    }


def test_a_second_plan_after_applying_is_all_unchanged() -> None:
    desired = desired_layout(default_funnels(), "en", TIERS)
    result = plan(desired, observed_from(desired))
    assert result.is_noop
    assert {i.action for i in result.items} == {PlanAction.UNCHANGED}


def test_a_renamed_stage_is_an_update_naming_old_and_new() -> None:
    desired = desired_layout(default_funnels(), "en", TIERS)
    renamed = desired_layout(
        apply_overrides(default_funnels(), {"leads": FunnelOverride(renames={"qualification": "Check"})}),
        "en",
        TIERS,
    )
    item = next(i for i in plan(renamed, observed_from(desired)).writes)
    assert item.path == "leads/qualification"
    assert item.changes == {"name": ("Qualification", "Check")}


def test_a_stage_removed_from_config_is_reported_not_deleted_unless_pruned_and_empty() -> None:
    desired = desired_layout(default_funnels(), "en", TIERS)
    slimmer = desired_layout(
        apply_overrides(
            default_funnels(), {"repeat": FunnelOverride(define=[NewStageSpec("base_review", "Review")])}
        ),
        "en",
        TIERS,
    )
    full = observed_from(desired, records=3)
    orphans = [i for i in plan(slimmer, full, prune=True).items if i.action is PlanAction.ORPHAN]
    assert {i.path for i in orphans} == {"repeat/upsell_offer", "repeat/negotiation"}
    empty = observed_from(desired, records=0)
    deletes = [i for i in plan(slimmer, empty, prune=True).items if i.action is PlanAction.DELETE]
    assert {i.path for i in deletes} == {"repeat/upsell_offer", "repeat/negotiation"}
    assert not [i for i in plan(slimmer, empty).items if i.action is PlanAction.DELETE]


def test_the_crms_own_won_and_lost_stages_are_reused_for_ours() -> None:
    desired = desired_layout(default_funnels(), "en", TIERS)
    funnel = desired.funnels[1]
    crm_made = ObservedFunnel(
        "9",
        "leads",
        funnel.name,
        (
            ObservedStage("1", "C9:NEW", None, "New", StageKind.OPEN, 10, system=True, record_count=0),
            ObservedStage("2", "C9:WON", None, "Won", StageKind.WON, 60, system=True, record_count=0),
            ObservedStage("3", "C9:LOSE", None, "Lost", StageKind.LOST, 70, system=True, record_count=0),
        ),
    )
    items = {i.path: i for i in plan(desired, ObservedLayout((crm_made,), ())).items}
    assert (
        items["leads/deal_closed"].action is PlanAction.UPDATE
        and items["leads/deal_closed"].observed_id == "2"
    )
    assert items["leads/lead_lost"].observed_id == "3"
    assert items["leads/C9:NEW"].action is PlanAction.ORPHAN  # a system stage is never pruned


def test_other_funnels_of_the_company_are_not_in_the_plan() -> None:
    desired = desired_layout(default_funnels(), "en", TIERS)
    company_own = ObservedFunnel(
        "0", None, "General", (ObservedStage("1", "NEW", None, "New", StageKind.OPEN, 10),)
    )
    observed = observed_from(desired)
    result = plan(desired, ObservedLayout((company_own, *observed.funnels), observed.fields))
    assert result.is_noop
    assert all(not i.path.startswith("General") and i.observed_id != "0" for i in result.items)


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (FunnelOverride(renames={"nope": "X"}), "unknown stage 'nope'"),
        (FunnelOverride(order=["qualification"]), "order must list every stage"),
        (FunnelOverride(add=[NewStageSpec("bad key!", "X")]), "stage key 'bad key!'"),
        (FunnelOverride(add=[NewStageSpec("qualification", "X")]), "duplicate stage key"),
    ],
)
def test_bad_overrides_are_refused_naming_the_funnel_and_stage(
    override: FunnelOverride, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        apply_overrides(default_funnels(), {"leads": override})


@given(
    st.lists(
        st.sampled_from(["lead_registered", "qualification", "offer"]), min_size=3, max_size=3, unique=True
    ),
    st.text(alphabet="abcdefgh ", min_size=1, max_size=12).filter(str.strip),
)
def test_any_reorder_and_rename_converges_in_one_apply(order: list[str], name: str) -> None:
    before = desired_layout(default_funnels(), "en", TIERS)
    after = desired_layout(
        apply_overrides(default_funnels(), {"leads": FunnelOverride(order=order, renames={"offer": name})}),
        "en",
        TIERS,
    )
    first = plan(after, observed_from(before))
    assert all(i.action in (PlanAction.UPDATE, PlanAction.UNCHANGED) for i in first.items)
    assert plan(after, observed_from(after)).is_noop
    assert plan(after, apply_plan(first, observed_from(before))).is_noop


def assert_crm_matches(desired: DesiredLayout, observed: ObservedLayout) -> None:
    """Every desired funnel, stage, field and option is in the CRM with the desired attributes."""
    for funnel in desired.funnels:
        (found,) = [f for f in observed.funnels if f.key == funnel.key]
        assert found.name == funnel.name
        stages = {s.key: s for s in found.stages}
        for stage in funnel.stages:
            got = stages[stage.key]
            assert (got.name, got.sort, got.kind) == (stage.name, stage.sort, stage.kind)
            assert got.color == stage.color or not stage.color  # "" = whatever colour the CRM has
    for field in desired.fields:
        (got,) = [f for f in observed.fields if f.key == field.key and f.entity is field.entity]
        assert (got.label, got.type) == (field.label, field.type)
        assert {(o.key, o.label) for o in got.options} >= {(o.key, o.label) for o in field.options}


@st.composite
def messy_crm(draw: st.DrawFn) -> ObservedLayout:
    """A CRM that partly matches: funnels/stages/fields/options missing, renamed, recoloured, keys
    forgotten on the CRM's own won/lost stages, extra stages with or without records, other funnels."""
    base = observed_from(desired_layout(default_funnels(), draw(st.sampled_from(["ru", "en"])), TIERS))
    funnels = []
    for funnel in base.funnels:
        if draw(st.booleans()) and draw(st.booleans()):
            continue
        stages = []
        for stage in funnel.stages:
            if stage.kind is StageKind.OPEN and draw(st.integers(0, 4)) == 0:
                continue
            if stage.kind is not StageKind.OPEN and draw(st.booleans()):
                stage = dataclasses.replace(stage, key=None, name="CRM own", system=True)
            if draw(st.integers(0, 3)) == 0:
                stage = dataclasses.replace(stage, name=stage.name + " old", color="#123456", sort=999)
            stages.append(stage)
        for n in range(draw(st.integers(0, 2))):
            records = draw(st.sampled_from([0, 5, None]))
            stages.append(
                ObservedStage(
                    f"x{funnel.crm_id}{n}", f"X{n}", None, f"Extra {n}", StageKind.OPEN, 5, "", records
                )
            )
        funnels.append(dataclasses.replace(funnel, stages=tuple(stages)))
    if draw(st.booleans()):
        funnels.append(
            ObservedFunnel("0", None, "General", (ObservedStage("g1", "NEW", None, "New", StageKind.OPEN),))
        )
    fields = []
    for field in base.fields:
        if draw(st.integers(0, 4)) == 0:
            continue
        options = tuple(o for o in field.options if draw(st.integers(0, 4)) != 0)
        fields.append(
            dataclasses.replace(field, options=options, label=field.label + draw(st.sampled_from(["", "?"])))
        )
    return ObservedLayout(tuple(funnels), tuple(fields))


@given(
    messy_crm(),
    st.sampled_from(["ru", "en"]),
    st.permutations(["lead_registered", "qualification", "offer"]),
    st.booleans(),
)
def test_applying_any_plan_then_planning_again_changes_nothing(
    observed: ObservedLayout, locale: str, order: list[str], prune: bool
) -> None:
    overrides = {
        "leads": FunnelOverride(order=order, add=[NewStageSpec("docs", {"ru": "Документы"}, "#00AA00")]),
        "repeat": FunnelOverride(
            define=[NewStageSpec("base_review", "Review"), NewStageSpec("call", "Call")]
        ),
    }
    desired = desired_layout(apply_overrides(default_funnels(), overrides), locale, TIERS)
    first = plan(desired, observed, prune=prune)
    applied = apply_plan(first, observed)
    second = plan(desired, applied, prune=prune)
    assert_crm_matches(desired, applied)
    assert second.is_noop, [i for i in second.writes]
    assert {i.action for i in second.items} <= {PlanAction.UNCHANGED, PlanAction.ORPHAN}
    assert all(i.observed_id != "0" and not i.path.startswith("General") for i in first.items)


def test_a_name_given_for_one_locale_keeps_the_default_in_the_other() -> None:
    funnels = apply_overrides(
        default_funnels(),
        {
            "leads": FunnelOverride(
                renames={"qualification": {"ru": "Проверка"}},
                add=[NewStageSpec("docs", {"ru": "Документы"})],
            )
        },
    )
    ru = desired_layout(funnels, "ru", TIERS).funnels[1]
    en = desired_layout(funnels, "en", TIERS).funnels[1]
    assert [s.name for s in ru.stages][1] == "Проверка"
    assert [s.name for s in en.stages][1] == "Qualification"
    assert "Документы" in [s.name for s in en.stages]  # only ru given: shown in en too, not the key


def test_a_bad_colour_is_refused_naming_the_stage() -> None:
    with pytest.raises(ValueError, match="leads: stage 'offer': colour 'red' is not #RRGGBB"):
        apply_overrides(default_funnels(), {"leads": FunnelOverride(colors={"offer": "red"})})


def _leads_override(change: FunnelOverride) -> list[tuple[str, dict[str, str], str]]:
    (leads,) = (f for f in apply_overrides(default_funnels(), {"leads": change}) if f.key == "leads")
    return [(s.key, dict(s.names), s.color) for s in leads.open_stages]


def test_an_added_stage_goes_right_after_the_stage_it_names_with_its_colour_and_names() -> None:
    added = NewStageSpec("demo", {"en": "Demo", "de": "Vorführung"}, color="#112233", after="lead_registered")
    stages = _leads_override(FunnelOverride(add=[added]))
    assert [k for k, _, _ in stages] == ["lead_registered", "demo", "qualification", "offer"]
    assert stages[1] == ("demo", {"en": "Demo"}, "#112233")  # a locale the product does not speak is left out
    with pytest.raises(ValueError, match="leads: add after unknown stage 'nowhere'"):
        _leads_override(FunnelOverride(add=[NewStageSpec("demo", "Demo", after="nowhere")]))


def test_defined_stages_keep_their_colours_and_keys_up_to_the_longest_allowed() -> None:
    longest = "k" * 16
    stages = _leads_override(FunnelOverride(define=[NewStageSpec(longest, "Longest", color="#ABCDEF")]))
    assert stages == [(longest, {"ru": "Longest", "en": "Longest"}, "#ABCDEF")]
    with pytest.raises(ValueError, match="leads: stage key 'k{17}' must be 1-16"):
        _leads_override(FunnelOverride(define=[NewStageSpec("k" * 17, "Too long")]))
    with pytest.raises(ValueError, match="leads: stage key '' must be 1-16"):
        _leads_override(FunnelOverride(add=[NewStageSpec("", "Nameless")]))


def test_an_override_for_a_funnel_that_does_not_exist_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown funnel\(s\) \['nope'\]"):
        apply_overrides(default_funnels(), {"nope": FunnelOverride(name="Nope"), "leads": FunnelOverride()})
    renamed = apply_overrides(default_funnels(), {"leads": FunnelOverride(name={"en": "Partner leads"})})
    leads = next(f for f in renamed if f.key == "leads")
    assert dict(leads.names) == {"ru": "Обработка партнёрских лидов", "en": "Partner leads"}  # ru kept


def test_a_colour_override_recolours_only_the_stage_it_names() -> None:
    stages = _leads_override(FunnelOverride(colors={"qualification": "#123456"}))
    assert [(k, c) for k, _, c in stages] == [
        ("lead_registered", "#39A8EF"),
        ("qualification", "#123456"),
        ("offer", "#FFA900"),
    ]


def test_the_desired_layout_names_every_funnel_stage_and_field_in_the_configured_locale() -> None:
    recoloured = apply_overrides(
        default_funnels(), {"leads": FunnelOverride(colors={"qualification": "#abcdef"})}
    )
    en = desired_layout(recoloured, "en", ["gold", "silver"])
    assert [(f.key, f.name, f.sort) for f in en.funnels] == [
        ("acquisition", "Partner acquisition", 100),
        ("leads", "Partner lead processing", 200),
        ("tier_upgrade", "Partner tier upgrade", 300),
        ("repeat", "Repeat deals", 400),
    ]
    assert [(s.key, s.name, s.kind.value, s.color, s.sort) for s in en.funnels[1].stages] == [
        ("lead_registered", "Lead registered", "open", "#39A8EF", 10),
        ("qualification", "Qualification", "open", "#ABCDEF", 20),  # colours upper-cased, as CRMs return them
        ("offer", "Offer and negotiation", "open", "#FFA900", 30),
        ("deal_closed", "Deal closed", "won", "#7BD500", 40),
        ("lead_lost", "Lead lost", "lost", "#FF5752", 50),
    ]
    assert [[s.sort for s in f.stages] for f in en.funnels] == [[10, 20, 30, 40, 50, 60, 70]] + [
        [10, 20, 30, 40, 50]
    ] * 3
    ru = desired_layout(default_funnels(), "ru", {"gold": "Золото"})
    assert [s.name for s in ru.funnels[1].stages][:2] == ["Регистрация лида", "Квалификация лида"]
    assert [
        (x.key, x.entity.value, x.label, x.type.value, [(o.key, o.label) for o in x.options])
        for x in en.fields
    ] == [
        (
            "partner_type",
            "partner",
            "Partner type",
            "enum",
            [
                ("distributor", "Distributor"),
                ("reseller", "Reseller"),
                ("integrator", "Integrator"),
                ("referral", "Referral agent"),
            ],
        ),
        ("tier", "partner", "Partner tier", "enum", [("gold", "Gold"), ("silver", "Silver")]),
        ("curator", "partner", "Partner curator", "user", []),
        ("partner_since", "partner", "Partner since", "date", []),
        ("training_completed", "partner", "Training completed", "enum", [("yes", "Yes"), ("no", "No")]),
        ("score_values_fit", "partner", "Selection: shared values and goals", "integer", []),
        ("score_audience_overlap", "partner", "Selection: audience overlap", "integer", []),
        ("score_reputation", "partner", "Selection: reputation and competence", "integer", []),
        ("score_track_record", "partner", "Selection: track record", "integer", []),
        ("score_scalability", "partner", "Selection: ability to scale", "integer", []),
        ("score_total", "partner", "Selection: weighted score, %", "integer", []),
        (
            "score_verdict",
            "partner",
            "Selection: verdict",
            "enum",
            [("passed", "Passed"), ("failed", "Not a fit")],
        ),
        ("score_reason", "partner", "Selection: reason", "string", []),
        ("plan_period", "partner", "Plan: period", "string", []),
        ("plan_targets", "partner", "Plan: targets", "string", []),
        ("plan_progress", "partner", "Plan: fulfilment, %", "integer", []),
        ("certified_people", "partner", "Certified people", "integer", []),
        ("access", "partner", "Exclusive access", "string", []),
        ("partner_ref", "lead", "Partner (company ID)", "integer", []),
        ("external_id", "lead", "crm-bridge external ID", "string", []),
        ("conflict", "lead", "Channel conflict", "enum", [("yes", "Yes"), ("no", "No")]),
        ("partner_ref", "deal", "Partner (company ID)", "integer", []),
        ("external_id", "deal", "crm-bridge external ID", "string", []),
    ]
    assert [(x.label, [(o.key, o.label) for o in x.options]) for x in ru.fields] == [
        (
            "Тип партнёра",
            [
                ("distributor", "Дистрибьютор"),
                ("reseller", "Реселлер"),
                ("integrator", "Интегратор"),
                ("referral", "Реферальный агент"),
            ],
        ),
        ("Уровень партнёра", [("gold", "Золото")]),
        ("Куратор партнёра", []),
        ("Партнёр с", []),
        ("Обучение пройдено", [("yes", "Да"), ("no", "Нет")]),
        ("Отбор: ценности и цели", []),
        ("Отбор: целевая аудитория", []),
        ("Отбор: репутация и компетенции", []),
        ("Отбор: успешные кейсы", []),
        ("Отбор: масштабируемость", []),
        ("Отбор: итоговая оценка, %", []),
        ("Отбор: решение", [("passed", "Подходит"), ("failed", "Не подходит")]),
        ("Отбор: обоснование", []),
        ("План: период", []),
        ("План: цели", []),
        ("План: выполнение, %", []),
        ("Сертифицированные сотрудники", []),
        ("Эксклюзивный доступ", []),
        ("Партнёр (ID компании)", []),
        ("Внешний ID crm-bridge", []),
        ("Конфликт каналов", [("yes", "Да"), ("no", "Нет")]),
        ("Партнёр (ID компании)", []),
        ("Внешний ID crm-bridge", []),
    ]
    with pytest.raises(ValueError, match=r"locale must be one of \('ru', 'en'\)"):
        desired_layout(default_funnels(), "de", [])


def test_a_name_missing_in_the_locale_falls_back_to_the_other_locale_then_to_the_key() -> None:
    assert StageSpec("demo", {"en": "Demo"}).name("ru") == "Demo"
    assert StageSpec("demo", {}).name("ru") == "demo"  # given only in a language the product does not speak
    assert FunnelSpec("extra", {}, ()).name("en") == "extra"
    assert FunnelSpec("extra", {"ru": "Доп.", "en": "Extra"}, ()).name("en") == "Extra"
