"""The demo's partner network, deterministic by seed: people, a few dozen partners of each type with
curators, regions and tiers, and their leads and repeat deals over the last months (``now`` passed in)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from crm_bridge.domain.model import PartnerType

REGIONS = ("MSK", "SPB", "VOLGA", "URAL", "SIB")
SPECIALISATIONS = ("erp", "crm", "bi")
TIERS = ("bronze", "silver", "gold", "platinum")
# The lead funnel's open stages (crm_bridge.domain.funnels), in order: how far a lead got.
LEAD_STAGES = ("lead_registered", "qualification", "offer")

HEAD: dict[str, Any] = {
    "key": "head",
    "name": "Елена Воронцова",
    "crm_user_id": "1",
    "email": "e.vorontsova@example.ru",
}
CURATORS: tuple[dict[str, Any], ...] = (
    {"key": "dmitry", "name": "Дмитрий Соколов", "crm_user_id": "12", "email": "d.sokolov@example.ru"},
    {"key": "svetlana", "name": "Светлана Орлова", "crm_user_id": "14", "email": "s.orlova@example.ru"},
    {"key": "igor", "name": "Игорь Белов", "crm_user_id": "15", "email": "i.belov@example.ru"},
)
MANAGERS: tuple[dict[str, Any], ...] = (
    {"key": "anna", "name": "Анна Смирнова", "crm_user_id": "17", "regions": ["MSK", "SPB"], "weight": 2},
    {"key": "oleg", "name": "Олег Кузнецов", "crm_user_id": "23", "regions": ["SIB", "URAL"], "weight": 1},
    {"key": "maria", "name": "Мария Иванова", "crm_user_id": "31", "regions": ["VOLGA"], "weight": 1},
    {"key": "pavel", "name": "Павел Морозов", "crm_user_id": "44", "regions": ["MSK"], "weight": 1},
)

_PREFIX = ("Альфа", "Вектор", "Гранит", "Дельта", "Квант", "Меридиан", "Орион", "Протон", "Сигма", "Таврида")
_SUFFIX = ("Софт", "Системс", "Интеграция", "ИТ", "Консалт", "Технологии", "Сервис", "Решения")
_FORM = ("ООО", "АО", "ООО", "ООО")
_CUSTOMERS = (
    "Завод «Уралмаш»",
    "Сеть аптек «Здоровье»",
    "Банк «Северный»",
    "Логистика «Транзит»",
    "Агрохолдинг «Колос»",
    "Ритейл «Магнолия»",
    "Клиника «Медлайн»",
    "Стройтрест №5",
    "Энергосбыт «Волга»",
    "Университет «Политех»",
)
_PRODUCTS = ("ERP внедрение", "CRM лицензии", "BI аналитика", "Техподдержка", "Обучение пользователей")

# How active a partner of each tier is: (leads per month, win rate, typical deal in RUB).
_PROFILE = {
    "bronze": (2.0, 0.15, 150_000),
    "silver": (5.0, 0.22, 300_000),
    "gold": (9.0, 0.28, 450_000),
    "platinum": (16.0, 0.32, 600_000),
}


@dataclass
class DemoPartner:
    name: str
    type: PartnerType
    tier: str  # the tier the CRM shows today
    performs_as: str  # the tier its figures earn (differs for a few: the demo's tier changes)
    curator: str  # curator key
    region: str
    since: datetime
    trained: bool


@dataclass
class DemoRecord:
    """A partner lead (funnel ``leads``) or a repeat deal (funnel ``repeat``) to create in the CRM."""

    partner: int  # index into DemoNetwork.partners
    funnel: str
    title: str
    stage: str  # stage key; "won"/"lost" for the funnel's end stages
    amount: Decimal
    created: datetime
    closed: datetime | None = None
    manager: str | None = None  # manager key; None = a new lead waiting for distribution
    region: str = ""
    specialisation: str = ""


@dataclass
class DemoProspect:
    """A prospective partner (a company with the selection scores, no tier yet) and the stage of its
    card in the acquisition funnel: scored at first contact, onboarded at agreement signed."""

    name: str
    type: PartnerType
    region: str
    scores: dict[str, int]
    stage: str


@dataclass
class DemoNetwork:
    partners: list[DemoPartner] = field(default_factory=list)
    records: list[DemoRecord] = field(default_factory=list)
    prospects: list[DemoProspect] = field(default_factory=list)

    def count(self, funnel: str) -> int:
        return sum(1 for r in self.records if r.funnel == funnel)


def _company(rng: random.Random, used: set[str]) -> str:
    while True:
        name = f"{rng.choice(_FORM)} «{rng.choice(_PREFIX)} {rng.choice(_SUFFIX)}»"
        if name not in used:
            used.add(name)
            return name
        if len(used) > 300:  # the combinations run out: number them
            name = f"{name[:-1]} {len(used)}»"
            used.add(name)
            return name


def _neighbour(rng: random.Random, tier: str) -> str:
    i = TIERS.index(tier)
    return TIERS[max(0, min(len(TIERS) - 1, i + rng.choice((-1, 1))))]


def generate(
    now: datetime, *, seed: int = 7, per_type: int = 24, months: int = 6, fresh_leads: int = 60
) -> DemoNetwork:
    """A partner network as of ``now``: ``per_type`` partners of each PartnerType, leads and repeat
    deals over ``months`` months, and ``fresh_leads`` new leads of the last two days without a manager."""
    rng = random.Random(seed)  # noqa: S311 (seeded demo data, not security)
    net = DemoNetwork()
    used: set[str] = set()
    for ptype in PartnerType:
        for _ in range(per_type):
            tier = rng.choices(TIERS, weights=(45, 30, 18, 7))[0]
            performs = _neighbour(rng, tier) if rng.random() < 0.2 else tier
            net.partners.append(
                DemoPartner(
                    name=_company(rng, used),
                    type=ptype,
                    tier=tier,
                    performs_as=performs,
                    curator=rng.choice(CURATORS)["key"],
                    region=rng.choice(REGIONS),
                    since=now - timedelta(days=rng.randint(30, 900)),
                    trained=rng.random() < 0.6,
                )
            )
    span = timedelta(days=30 * months)
    for index, partner in enumerate(net.partners):
        per_month, win_rate, typical = _PROFILE[partner.performs_as]
        if partner.type is PartnerType.REFERRAL:
            per_month *= 0.6
        for _ in range(max(1, round(rng.gauss(per_month * months, per_month)))):
            created = now - timedelta(days=2) - span * rng.random()
            net.records.append(_lead(rng, index, partner, created, now, win_rate, typical))
        for _ in range(rng.randint(0, 1 + TIERS.index(partner.performs_as))):
            created = now - span * rng.random()
            closed = min(now - timedelta(hours=1), created + timedelta(days=rng.randint(5, 40)))
            amount = Decimal(int(typical * rng.uniform(0.2, 0.6)) // 1000 * 1000)
            net.records.append(
                DemoRecord(
                    index, "repeat", f"Допродажа: {rng.choice(_PRODUCTS)}", "won", amount, created, closed
                )
            )
    for _ in range(fresh_leads):
        index = rng.randrange(len(net.partners))
        partner = net.partners[index]
        created = now - timedelta(hours=rng.uniform(1, 48))
        net.records.append(
            DemoRecord(
                index,
                "leads",
                f"{rng.choice(_CUSTOMERS)}: {rng.choice(_PRODUCTS)}",
                LEAD_STAGES[0],
                Decimal(int(_PROFILE[partner.performs_as][2] * rng.uniform(0.5, 1.5)) // 1000 * 1000),
                created,
                region=partner.region,
                specialisation=rng.choice(SPECIALISATIONS),
            )
        )
    net.prospects = _prospects(random.Random(seed + 1), used)  # noqa: S311 (seeded demo data)
    return net


_CRITERIA = ("values_fit", "audience_overlap", "reputation", "track_record", "scalability")
# (stage, scores): two strong prospects, a big one without the values, one half scored, two signed
_PROSPECTS: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("first_contact", (5, 4, 4, 4, 3)),
    ("identification", (4, 5, 3, 4, 4)),
    ("first_contact", (1, 5, 5, 5, 5)),
    ("first_contact", (4, 3)),
    ("agreement_signed", (5, 4, 4, 3, 4)),
    ("agreement_signed", (4, 4, 5, 4, 3)),
)


def _prospects(rng: random.Random, used: set[str]) -> list[DemoProspect]:
    return [
        DemoProspect(
            _company(rng, used),
            rng.choice(list(PartnerType)),
            rng.choice(REGIONS),
            dict(zip(_CRITERIA, scores, strict=False)),
            stage,
        )
        for stage, scores in _PROSPECTS
    ]


def _lead(
    rng: random.Random,
    index: int,
    partner: DemoPartner,
    created: datetime,
    now: datetime,
    win_rate: float,
    typical: int,
) -> DemoRecord:
    amount = Decimal(int(typical * rng.uniform(0.4, 1.8)) // 1000 * 1000)
    age = (now - created).days
    roll = rng.random()
    if age > 20 and roll < win_rate:
        stage = "won"
    elif age > 20 and roll < win_rate + 0.45:
        stage = "lost"
    else:
        stage = rng.choice(LEAD_STAGES)
    closed = None
    if stage in ("won", "lost"):
        closed = min(now - timedelta(hours=1), created + timedelta(days=rng.randint(7, 60)))
    manager = next((m["key"] for m in MANAGERS if partner.region in m["regions"]), MANAGERS[0]["key"])
    return DemoRecord(
        index,
        "leads",
        f"{rng.choice(_CUSTOMERS)}: {rng.choice(_PRODUCTS)}",
        stage,
        amount,
        created,
        closed,
        manager=manager,
        region=partner.region,
        specialisation=rng.choice(SPECIALISATIONS),
    )
