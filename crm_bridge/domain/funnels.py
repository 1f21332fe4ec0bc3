"""The four partner-sales funnels of SPEC §2 (handbook 7.0.1 §3), their default stages in ru and en,
config overrides (rename, reorder, recolour, add, define), and the desired CRM layout (funnels plus
the custom fields crm-bridge needs) that provisioning compares with the CRM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from crm_bridge.domain.layout import (
    DesiredField,
    DesiredFunnel,
    DesiredLayout,
    DesiredOption,
    DesiredStage,
    FieldEntity,
    FieldType,
)
from crm_bridge.domain.model import QUALIFICATION_CRITERIA, FunnelKey, PartnerType, StageKind

LOCALES = ("ru", "en")
_COLOR = re.compile(r"#[0-9A-Fa-f]{6}")
MAX_STAGE_KEY = 16  # upper-cased it becomes a CRM stage code; Bitrix24 allows 22 with the "C<id>:" prefix


@dataclass(frozen=True, slots=True)
class StageSpec:
    key: str
    names: Mapping[str, str]  # locale -> name
    kind: StageKind = StageKind.OPEN
    color: str = ""

    def name(self, locale: str) -> str:
        return _pick(self.names, locale, self.key)


def _pick(names: Mapping[str, str], locale: str, default: str) -> str:
    """The name in ``locale``, else in the other locale, else ``default``."""
    return names.get(locale) or next((names[loc] for loc in LOCALES if names.get(loc)), default)


@dataclass(frozen=True, slots=True)
class FunnelSpec:
    key: str
    names: Mapping[str, str]
    stages: tuple[StageSpec, ...]

    def name(self, locale: str) -> str:
        return _pick(self.names, locale, self.key)

    @property
    def open_stages(self) -> tuple[StageSpec, ...]:
        return tuple(s for s in self.stages if s.kind is StageKind.OPEN)

    def stage(self, key: str) -> StageSpec | None:
        return next((s for s in self.stages if s.key == key), None)


def _s(key: str, ru: str, en: str, kind: StageKind = StageKind.OPEN, color: str = "") -> StageSpec:
    default = {StageKind.WON: "#7BD500", StageKind.LOST: "#FF5752"}.get(kind, "")
    return StageSpec(key, {"ru": ru, "en": en}, kind, color or default)


_DEFAULTS: tuple[FunnelSpec, ...] = (
    FunnelSpec(
        FunnelKey.ACQUISITION.value,
        {"ru": "Привлечение партнёров", "en": "Partner acquisition"},
        (
            _s("identification", "Идентификация потенциальных партнёров", "Identification", color="#39A8EF"),
            _s("first_contact", "Первичное взаимодействие", "First contact", color="#2FC6F6"),
            _s("negotiation", "Переговоры и презентация условий", "Negotiation and terms", color="#55D0E0"),
            _s("agreement_signed", "Подписание соглашения", "Agreement signed", color="#FFA900"),
            _s("onboarding", "Адаптация нового партнёра", "Onboarding", color="#FFD200"),
            _s("partner_active", "Партнёр активен", "Partner active", StageKind.WON),
            _s("not_a_fit", "Не подходит", "Not a fit", StageKind.LOST),
        ),
    ),
    FunnelSpec(
        FunnelKey.LEADS.value,
        {"ru": "Обработка партнёрских лидов", "en": "Partner lead processing"},
        (
            _s("lead_registered", "Регистрация лида", "Lead registered", color="#39A8EF"),
            _s("qualification", "Квалификация лида", "Qualification", color="#2FC6F6"),
            _s("offer", "Персональное предложение и переговоры", "Offer and negotiation", color="#FFA900"),
            _s("deal_closed", "Заключение сделки", "Deal closed", StageKind.WON),
            _s("lead_lost", "Лид потерян", "Lead lost", StageKind.LOST),
        ),
    ),
    FunnelSpec(
        FunnelKey.TIER_UPGRADE.value,
        {"ru": "Повышение уровня партнёрства", "en": "Partner tier upgrade"},
        (
            _s("assessment", "Оценка текущего уровня партнёра", "Assess current tier", color="#39A8EF"),
            _s("goal_setting", "Постановка целей", "Set goals", color="#2FC6F6"),
            _s("training", "Поддержка и обучение", "Support and training", color="#FFA900"),
            _s("tier_reached", "Достижение нового уровня", "New tier reached", StageKind.WON),
            _s("tier_missed", "Уровень не достигнут", "Tier not reached", StageKind.LOST),
        ),
    ),
    FunnelSpec(
        FunnelKey.REPEAT.value,
        {"ru": "Повторные сделки", "en": "Repeat deals"},
        (
            _s("base_review", "Анализ клиентской базы", "Customer base review", color="#39A8EF"),
            _s("upsell_offer", "Предложение допродажи", "Upsell/cross-sell offer", color="#2FC6F6"),
            _s("negotiation", "Переговоры", "Negotiation", color="#FFA900"),
            _s("repeat_won", "Повторная сделка заключена", "Repeat deal closed", StageKind.WON),
            _s("repeat_lost", "Повторная сделка сорвалась", "Repeat deal lost", StageKind.LOST),
        ),
    ),
)


def default_funnels() -> tuple[FunnelSpec, ...]:
    """The four standard funnels with their default stages (open stages, then won, then lost)."""
    return _DEFAULTS


# A name given in config: one text for every locale, or {"ru": ..., "en": ...} (one or both).
LocalName = str | Mapping[str, str]


def _names(name: LocalName, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """Locale -> name; a mapping given for one locale keeps ``base``'s name in the other."""
    if isinstance(name, str):
        return {loc: name for loc in LOCALES}
    merged = dict(base or {})
    merged.update({loc: text for loc, text in name.items() if loc in LOCALES and text})
    return merged


@dataclass(frozen=True, slots=True)
class NewStageSpec:
    key: str
    name: LocalName
    color: str = ""
    after: str | None = None  # insert after this open stage; None = last open stage


@dataclass(frozen=True, slots=True)
class FunnelOverride:
    """Config changes to one funnel (built by the config layer). A name given as one text applies
    to every locale; a ``{"ru": ..., "en": ...}`` mapping renames only the locales it lists."""

    name: LocalName | None = None
    renames: Mapping[str, LocalName] = field(default_factory=dict)  # stage key -> name
    colors: Mapping[str, str] = field(default_factory=dict)  # stage key -> #RRGGBB
    order: Sequence[str] | None = None  # every open stage key in the new order
    add: Sequence[NewStageSpec] = ()
    define: Sequence[NewStageSpec] | None = None  # replaces all open stages


def _check_key(key: str, where: str) -> None:
    if not key or len(key) > MAX_STAGE_KEY or not all(c.isascii() and (c.isalnum() or c == "_") for c in key):
        raise ValueError(f"{where}: stage key {key!r} must be 1-{MAX_STAGE_KEY} ASCII letters, digits or _")


def apply_override(funnel: FunnelSpec, change: FunnelOverride) -> FunnelSpec:
    """Apply one funnel's config changes. Raises ValueError naming the funnel and stage key."""
    where = funnel.key
    terminal = [s for s in funnel.stages if s.kind is not StageKind.OPEN]
    if change.define is not None:
        opened = [StageSpec(n.key, _names(n.name), StageKind.OPEN, n.color) for n in change.define]
    else:
        opened = list(funnel.open_stages)
        if change.order is not None:
            known = {s.key for s in opened}
            if sorted(change.order) != sorted(known):
                missing, extra = sorted(known - set(change.order)), sorted(set(change.order) - known)
                raise ValueError(
                    f"{where}: order must list every stage once (missing {missing}, unknown {extra})"
                )
            by_key = {s.key: s for s in opened}
            opened = [by_key[k] for k in change.order]
        for new in change.add:
            stage = StageSpec(new.key, _names(new.name), StageKind.OPEN, new.color)
            if new.after is None:
                opened.append(stage)
            else:
                index = next((i for i, s in enumerate(opened) if s.key == new.after), None)
                if index is None:
                    raise ValueError(f"{where}: add after unknown stage {new.after!r}")
                opened.insert(index + 1, stage)
    stages = [*opened, *terminal]
    keys = [s.key for s in stages]
    for key in keys:
        _check_key(key, where)
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"{where}: duplicate stage key(s) {duplicates}")
    for key in [*change.renames, *change.colors]:
        if key not in keys:
            raise ValueError(f"{where}: unknown stage {key!r}")
    for key, color in [
        *change.colors.items(),
        *((n.key, n.color) for n in [*change.add, *(change.define or ())]),
    ]:
        if color and not _COLOR.fullmatch(color):
            raise ValueError(f"{where}: stage {key!r}: colour {color!r} is not #RRGGBB")
    stages = [
        replace(
            s,
            names=_names(change.renames[s.key], s.names) if s.key in change.renames else s.names,
            color=change.colors.get(s.key, s.color),
        )
        for s in stages
    ]
    names = _names(change.name, funnel.names) if change.name else funnel.names
    return FunnelSpec(funnel.key, names, tuple(stages))


def apply_overrides(
    funnels: Iterable[FunnelSpec], overrides: Mapping[str, FunnelOverride]
) -> tuple[FunnelSpec, ...]:
    specs = tuple(funnels)
    unknown = sorted(set(overrides) - {f.key for f in specs})
    if unknown:
        raise ValueError(f"unknown funnel(s) {unknown}")
    return tuple(apply_override(f, overrides[f.key]) if f.key in overrides else f for f in specs)


_TYPE_LABELS = {
    PartnerType.DISTRIBUTOR: ("Дистрибьютор", "Distributor"),
    PartnerType.RESELLER: ("Реселлер", "Reseller"),
    PartnerType.INTEGRATOR: ("Интегратор", "Integrator"),
    PartnerType.REFERRAL: ("Реферальный агент", "Referral agent"),
}
_FIELD_LABELS: dict[str, tuple[str, str]] = {
    "partner_type": ("Тип партнёра", "Partner type"),
    "tier": ("Уровень партнёра", "Partner tier"),
    "curator": ("Куратор партнёра", "Partner curator"),
    "partner_since": ("Партнёр с", "Partner since"),
    "training_completed": ("Обучение пройдено", "Training completed"),
    "partner_ref": ("Партнёр (ID компании)", "Partner (company ID)"),
    "external_id": ("Внешний ID crm-bridge", "crm-bridge external ID"),
    "conflict": ("Конфликт каналов", "Channel conflict"),
    # the lifecycle (issue 14): scorecard, plan, training, exclusive access
    "score_values_fit": ("Отбор: ценности и цели", "Selection: shared values and goals"),
    "score_audience_overlap": ("Отбор: целевая аудитория", "Selection: audience overlap"),
    "score_reputation": ("Отбор: репутация и компетенции", "Selection: reputation and competence"),
    "score_track_record": ("Отбор: успешные кейсы", "Selection: track record"),
    "score_scalability": ("Отбор: масштабируемость", "Selection: ability to scale"),
    "score_total": ("Отбор: итоговая оценка, %", "Selection: weighted score, %"),
    "score_verdict": ("Отбор: решение", "Selection: verdict"),
    "score_reason": ("Отбор: обоснование", "Selection: reason"),
    "plan_period": ("План: период", "Plan: period"),
    "plan_targets": ("План: цели", "Plan: targets"),
    "plan_progress": ("План: выполнение, %", "Plan: fulfilment, %"),
    "certified_people": ("Сертифицированные сотрудники", "Certified people"),
    "access": ("Эксклюзивный доступ", "Exclusive access"),
}
LIFECYCLE_SCORE_FIELDS: tuple[str, ...] = tuple(f"score_{c}" for c in QUALIFICATION_CRITERIA)
_VERDICTS = (("passed", "Подходит", "Passed"), ("failed", "Не подходит", "Not a fit"))
_YES_NO = (("yes", "Да", "Yes"), ("no", "Нет", "No"))


def desired_layout(
    funnels: Iterable[FunnelSpec],
    locale: str,
    tiers: Sequence[str] | Mapping[str, str],
    partner_types: Iterable[PartnerType | str] = tuple(PartnerType),
) -> DesiredLayout:
    """Funnels with stage positions in the given locale, plus the custom fields crm-bridge needs.
    ``tiers`` is a list of tier keys or a mapping key -> display name."""
    if locale not in LOCALES:
        raise ValueError(f"locale must be one of {LOCALES}")
    ru = locale == "ru"
    desired_funnels = tuple(
        DesiredFunnel(
            f.key,
            f.name(locale),
            tuple(
                DesiredStage(s.key, s.name(locale), s.kind, s.color.upper(), (i + 1) * 10)
                for i, s in enumerate(f.stages)
            ),
            sort=(n + 1) * 100,
        )
        for n, f in enumerate(funnels)
    )

    def label(key: str) -> str:
        return _FIELD_LABELS[key][0 if ru else 1]

    tier_names = tiers if isinstance(tiers, Mapping) else {t: t.capitalize() for t in tiers}
    type_options = tuple(
        DesiredOption(str(PartnerType(t).value), _TYPE_LABELS[PartnerType(t)][0 if ru else 1])
        for t in partner_types
    )
    yes_no = tuple(DesiredOption(k, r if ru else e) for k, r, e in _YES_NO)
    fields = (
        DesiredField(
            "partner_type", FieldEntity.PARTNER, label("partner_type"), FieldType.ENUM, type_options
        ),
        DesiredField(
            "tier",
            FieldEntity.PARTNER,
            label("tier"),
            FieldType.ENUM,
            tuple(DesiredOption(k, v) for k, v in tier_names.items()),
        ),
        DesiredField("curator", FieldEntity.PARTNER, label("curator"), FieldType.USER),
        DesiredField("partner_since", FieldEntity.PARTNER, label("partner_since"), FieldType.DATE),
        DesiredField(
            "training_completed", FieldEntity.PARTNER, label("training_completed"), FieldType.ENUM, yes_no
        ),
        *(DesiredField(k, FieldEntity.PARTNER, label(k), FieldType.INTEGER) for k in LIFECYCLE_SCORE_FIELDS),
        # whole percents: an INTEGER field reads back as itself in every CRM (HubSpot has one number type)
        DesiredField("score_total", FieldEntity.PARTNER, label("score_total"), FieldType.INTEGER),
        DesiredField(
            "score_verdict",
            FieldEntity.PARTNER,
            label("score_verdict"),
            FieldType.ENUM,
            tuple(DesiredOption(k, r if ru else e) for k, r, e in _VERDICTS),
        ),
        DesiredField("score_reason", FieldEntity.PARTNER, label("score_reason"), FieldType.STRING),
        DesiredField("plan_period", FieldEntity.PARTNER, label("plan_period"), FieldType.STRING),
        DesiredField("plan_targets", FieldEntity.PARTNER, label("plan_targets"), FieldType.STRING),
        DesiredField("plan_progress", FieldEntity.PARTNER, label("plan_progress"), FieldType.INTEGER),
        DesiredField("certified_people", FieldEntity.PARTNER, label("certified_people"), FieldType.INTEGER),
        DesiredField("access", FieldEntity.PARTNER, label("access"), FieldType.STRING),
        DesiredField("partner_ref", FieldEntity.LEAD, label("partner_ref"), FieldType.INTEGER),
        DesiredField("external_id", FieldEntity.LEAD, label("external_id"), FieldType.STRING),
        DesiredField("conflict", FieldEntity.LEAD, label("conflict"), FieldType.ENUM, yes_no),
        DesiredField("partner_ref", FieldEntity.DEAL, label("partner_ref"), FieldType.INTEGER),
        DesiredField("external_id", FieldEntity.DEAL, label("external_id"), FieldType.STRING),
    )
    return DesiredLayout(desired_funnels, fields)
