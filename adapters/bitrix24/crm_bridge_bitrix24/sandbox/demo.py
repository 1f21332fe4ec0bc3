"""The demo network as Bitrix24 records: users, partner companies with the partner fields, lead-funnel
and repeat-funnel deals, loaded into a sandbox portal through its seeding API (``emulator.seed``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from crm_bridge.demo_network import CURATORS, HEAD, MANAGERS, DemoNetwork
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import StageKind


class _Field(Protocol):
    code: str
    options: dict[str, int]


class Catalog(Protocol):
    """The part of the Bitrix24 adapter's translation tables the seeding uses (ids differ per portal)."""

    funnels: dict[str, int]
    stages: dict[str, Any]  # code -> StageInfo(funnel, key, kind)

    def field(self, entity: FieldEntity, key: str) -> _Field | None: ...


class Seedable(Protocol):
    def seed(self, data: dict[str, Any]) -> dict[str, Any]: ...


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _code(catalog: Catalog, entity: FieldEntity, key: str) -> _Field:
    info = catalog.field(entity, key)
    if info is None:
        raise LookupError(f"the portal has no {entity.value} field {key!r}: provision it first")
    return info


def _stage(catalog: Catalog, funnel: str, key: str) -> str:
    kind = {"won": StageKind.WON, "lost": StageKind.LOST}.get(key)
    for code, info in catalog.stages.items():
        if info.funnel == funnel and (info.kind is kind if kind else info.key == key):
            return str(code)
    raise LookupError(f"the portal has no stage {key!r} in funnel {funnel!r}: provision it first")


def users() -> list[dict[str, Any]]:
    """The portal's employees: the head (the webhook's own user, id 1, already there), curators, managers."""
    people = [*CURATORS, *MANAGERS]
    out = []
    for person in people:
        first, _, last = str(person["name"]).partition(" ")
        email = str(person.get("email") or f"{person['key']}@example.ru")
        out.append({"ID": int(person["crm_user_id"]), "NAME": first, "LAST_NAME": last, "EMAIL": email})
    if HEAD["crm_user_id"] != "1":
        raise AssertionError("invariant broken: HEAD['crm_user_id'] == '1'")
    return out


def seed_network(portal: Seedable, catalog: Catalog, net: DemoNetwork) -> dict[str, int]:
    """Create the users, companies and deals of ``net`` in ``portal``. Returns counts per kind."""
    portal.seed({"users": users()})
    ptype = _code(catalog, FieldEntity.PARTNER, "partner_type")
    tier = _code(catalog, FieldEntity.PARTNER, "tier")
    curator = _code(catalog, FieldEntity.PARTNER, "curator")
    since = _code(catalog, FieldEntity.PARTNER, "partner_since")
    trained = _code(catalog, FieldEntity.PARTNER, "training_completed")
    curator_ids = {c["key"]: c["crm_user_id"] for c in CURATORS}
    companies = [
        {
            "TITLE": p.name,
            ptype.code: ptype.options[p.type.value],
            tier.code: tier.options[p.tier],
            curator.code: curator_ids[p.curator],
            since.code: p.since.date().isoformat(),
            trained.code: trained.options["yes" if p.trained else "no"],
            "DATE_CREATE": _stamp(p.since),
        }
        for p in net.partners
    ]
    company_ids = portal.seed({"companies": companies}).get("companies", [])
    ref = _code(catalog, FieldEntity.LEAD, "partner_ref")
    manager_ids = {m["key"]: m["crm_user_id"] for m in MANAGERS}
    deals = []
    for rec in net.records:
        fields: dict[str, Any] = {
            "TITLE": rec.title,
            "CATEGORY_ID": catalog.funnels[rec.funnel],
            "STAGE_ID": _stage(catalog, rec.funnel, rec.stage),
            "OPPORTUNITY": str(rec.amount),
            "CURRENCY_ID": "RUB",
            "ASSIGNED_BY_ID": manager_ids[rec.manager] if rec.manager else "0",
            ref.code: company_ids[rec.partner],
            "DATE_CREATE": _stamp(rec.created),
        }
        if rec.closed is not None:
            fields["CLOSEDATE"] = _stamp(rec.closed)
            fields["DATE_MODIFY"] = _stamp(rec.closed)
        deals.append(fields)
    created = portal.seed({"deals": deals}).get("deals", [])
    prospects = _seed_prospects(portal, catalog, net)
    return {
        "users": len(users()),
        "partners": len(company_ids),
        "prospects": prospects,
        "leads": net.count("leads"),
        "repeat_deals": net.count("repeat"),
        "deals_created": len(created),
    }


def _seed_prospects(portal: Seedable, catalog: Catalog, net: DemoNetwork) -> int:
    """The prospective partners: companies with their selection scores, a card each in the
    acquisition funnel."""
    if not net.prospects:
        return 0
    ptype = _code(catalog, FieldEntity.PARTNER, "partner_type")
    companies = [
        {
            "TITLE": p.name,
            ptype.code: ptype.options[p.type.value],
            **{_code(catalog, FieldEntity.PARTNER, f"score_{c}").code: v for c, v in p.scores.items()},
        }
        for p in net.prospects
    ]
    ids = portal.seed({"companies": companies}).get("companies", [])
    ref = _code(catalog, FieldEntity.DEAL, "partner_ref")
    cards = [
        {
            "TITLE": f"{p.name}: привлечение",
            "CATEGORY_ID": catalog.funnels["acquisition"],
            "STAGE_ID": _stage(catalog, "acquisition", p.stage),
            ref.code: company_id,
        }
        for p, company_id in zip(net.prospects, ids, strict=True)
    ]
    portal.seed({"deals": cards})
    return len(ids)
