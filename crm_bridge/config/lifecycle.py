"""Config sections of the partner lifecycle (issue 14): ``selection`` (the 6.1 scorecard),
``onboarding`` (curator rule, checklist, first tier), ``plans`` (reminders), ``training``
(certificates, LMS webhook) and ``access`` (exclusive access by tier, 6.2)."""

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

from crm_bridge.config.common import Key, NonEmpty, Strict
from crm_bridge.config.crm import validated_default
from crm_bridge.domain.model import QUALIFICATION_CRITERIA

Weight = Annotated[Decimal, Field(ge=0, le=1000)]
Percent = Annotated[Decimal, Field(ge=0, le=100)]
Criterion = Literal["values_fit", "audience_overlap", "reputation", "track_record", "scalability"]


def _default_weights() -> dict[Criterion, Decimal]:
    # The handbook lists the five criteria without weights; shared values and audience first.
    return {
        "values_fit": Decimal(25),
        "audience_overlap": Decimal(25),
        "reputation": Decimal(20),
        "track_record": Decimal(20),
        "scalability": Decimal(10),
    }


class SelectionConfig(Strict):
    """The selection scorecard: each criterion scored 0..``scale_max`` on the prospect's card in the
    CRM; the weighted score in percent must reach ``pass_mark`` (and every criterion ``min_each``)."""

    weights: dict[Criterion, Weight] = Field(default_factory=_default_weights)
    pass_mark: Percent = Decimal(60)
    scale_max: int = Field(default=5, ge=1, le=100)
    min_each: int | None = Field(default=None, ge=0)
    # acquisition-funnel stages whose cards are scored (the stages before negotiation)
    score_stages: list[NonEmpty] = Field(default_factory=lambda: ["identification", "first_contact"])
    passed_stage: NonEmpty = "negotiation"
    failed_stage: NonEmpty = "not_a_fit"

    @model_validator(mode="after")
    def _check(self) -> "SelectionConfig":
        if not any(w > 0 for w in self.weights.values()):
            raise ValueError("weights: give at least one criterion a weight above 0")
        if self.min_each is not None and self.min_each > self.scale_max:
            raise ValueError(f"min_each ({self.min_each}) is above scale_max ({self.scale_max})")
        return self

    def full_weights(self) -> dict[str, Decimal]:
        return {c: Decimal(self.weights.get(c, 0)) for c in QUALIFICATION_CRITERIA}  # type: ignore[call-overload]


class ChecklistItemConfig(Strict):
    """One onboarding step: a CRM task for the curator, due ``due_days`` after the signing.
    ``{partner}`` in the title or description is the partner's name."""

    key: Key
    title: NonEmpty
    due_days: int = Field(default=3, ge=0, le=365)
    description: str = ""


def _default_checklist() -> list[ChecklistItemConfig]:
    steps = [
        ("welcome_call", "{partner}: welcome call and introduction to the curator", 1),
        ("portal_access", "{partner}: access to the partner portal and materials", 2),
        ("plan", "{partner}: agree the individual cooperation plan", 7),
        ("training", "{partner}: enrol the partner's people in the basic training", 7),
        ("first_lead", "{partner}: first joint lead or demo", 30),
    ]
    return [ChecklistItemConfig(key=k, title=t, due_days=d) for k, t, d in steps]


class OnboardingConfig(Strict):
    """What happens when a partner's agreement is signed (its acquisition card reaches one of
    ``trigger_stages``): a curator by ``curator_rule``, ``partner since``, the first tier, the
    checklist as tasks, the card moved to ``onboarding_stage``. ``automatic``: done by the daemon's
    lifecycle job; otherwise only by ``crm-bridge partners onboard``."""

    automatic: bool = True
    trigger_stages: list[NonEmpty] = Field(default_factory=lambda: ["agreement_signed"])
    onboarding_stage: NonEmpty | None = "onboarding"
    curator_rule: Literal["round_robin", "region", "partner_type"] = "round_robin"
    first_tier: Key | None = None  # default: the lowest tier of ``tiers.levels``
    checklist: list[ChecklistItemConfig] = Field(default_factory=_default_checklist)

    @model_validator(mode="after")
    def _unique(self) -> "OnboardingConfig":
        keys = [item.key for item in self.checklist]
        if len(set(keys)) != len(keys):
            raise ValueError("checklist: two steps have the same key")
        return self


class RemindersConfig(Strict):
    """Plan-progress reminders to the curator: from ``from_elapsed_percent`` of the period on, when
    the plan's fulfilment trails the time gone by ``lag_percent`` points or more, at most once per
    ``step_percent`` of the period."""

    enabled: bool = True
    from_elapsed_percent: Percent = Decimal(50)
    lag_percent: Percent = Decimal(30)
    step_percent: Annotated[Decimal, Field(gt=0, le=100)] = Decimal(10)


class PlansConfig(Strict):
    """Individual cooperation plans: imported with ``crm-bridge plans import`` (they win over
    ``goals.partners`` and the tier defaults of ``goals.by_tier``), pushed to the partner card."""

    push_to_crm: bool = True
    reminders: RemindersConfig = validated_default()


class TrainingConfig(Strict):
    """Training completions (CSV import, LMS webhook). ``partner_domains`` maps a person's e-mail
    domain to the partner's CRM id when the row or webhook does not name the partner;
    ``certifying_courses`` lists the LMS course ids that certify (empty: every completion does)."""

    certificate_valid_days: int | None = Field(default=365, ge=1, le=36500)
    certifying_courses: list[NonEmpty] = []
    partner_domains: dict[NonEmpty, NonEmpty] = {}
    webhook_secret: SecretStr | None = None  # the LMS sends it as a Bearer token or ?token=

    @model_validator(mode="after")
    def _domains(self) -> "TrainingConfig":
        for domain in self.partner_domains:
            if "@" in domain or "." not in domain:
                raise ValueError(f"partner_domains: {domain!r} is not an e-mail domain (like romashka.ru)")
        return self


class AccessItems(Strict):
    regions: list[NonEmpty] = []
    products: list[NonEmpty] = []
    materials: list[NonEmpty] = []
    events: list[NonEmpty] = []


class AccessConfig(Strict):
    """Exclusive access by tier: what each tier unlocks; ``cumulative``: a tier also has everything
    of the tiers below it."""

    cumulative: bool = True
    tiers: dict[Key, AccessItems] = {}


def lifecycle_problems(settings: object) -> list[tuple[tuple[str | int, ...], str]]:
    """Cross-section checks: tiers named exist, stages named exist in the acquisition funnel."""
    from crm_bridge.config.funnels import funnel_specs

    problems: list[tuple[tuple[str | int, ...], str]] = []
    tiers = [level.key for level in settings.tiers.levels]  # type: ignore[attr-defined]
    for key in settings.access.tiers:  # type: ignore[attr-defined]
        if key not in tiers:
            problems.append((("access", "tiers", key), f"unknown tier {key!r} (tiers: {', '.join(tiers)})"))
    first = settings.onboarding.first_tier  # type: ignore[attr-defined]
    if first is not None and first not in tiers:
        problems.append((("onboarding", "first_tier"), f"unknown tier {first!r} (tiers: {', '.join(tiers)})"))
    try:
        specs = funnel_specs(settings.funnels)  # type: ignore[attr-defined]
    except Exception:  # a broken funnels section is reported on its own
        return problems
    acquisition = next((f for f in specs if f.key == "acquisition"), None)
    stages = {s.key for s in acquisition.stages} if acquisition else set()
    sel, onb = settings.selection, settings.onboarding  # type: ignore[attr-defined]
    named: list[tuple[tuple[str | int, ...], str]] = [
        *((("selection", "score_stages", i), s) for i, s in enumerate(sel.score_stages)),
        (("selection", "passed_stage"), sel.passed_stage),
        (("selection", "failed_stage"), sel.failed_stage),
        *((("onboarding", "trigger_stages", i), s) for i, s in enumerate(onb.trigger_stages)),
    ]
    if onb.onboarding_stage:
        named.append((("onboarding", "onboarding_stage"), onb.onboarding_stage))
    for loc, stage in named:
        if stage not in stages:
            known = ", ".join(sorted(stages))
            problems.append((loc, f"no stage {stage!r} in the acquisition funnel (stages: {known})"))
    return problems
