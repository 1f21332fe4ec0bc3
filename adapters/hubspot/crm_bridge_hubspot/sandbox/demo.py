"""The demo network as HubSpot records: owners (with the demo's user ids), partner companies with the
partner properties, lead-pipeline and repeat-pipeline deals associated to their partner's company,
loaded into the emulator through its seeding API (``emulator.seed``) after provisioning."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from crm_bridge.demo_network import CURATORS, MANAGERS, DemoNetwork
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import StageKind
from crm_bridge_hubspot.mapping import load_mapping


class _Field(Protocol):
    code: str


class Catalog(Protocol):
    """The part of the adapter's translation tables the seeding uses (ids differ per account)."""

    funnels: dict[str, str]
    stages: dict[str, Any]  # stage id -> StageInfo(funnel, key, kind)

    def field(self, entity: FieldEntity, key: str) -> _Field | None: ...


class Seedable(Protocol):
    def seed(self, data: dict[str, Any]) -> dict[str, Any]: ...


def _ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _name(catalog: Catalog, entity: FieldEntity, key: str) -> str:
    info = catalog.field(entity, key)
    if info is None:
        raise LookupError(f"the account has no {entity.value} property {key!r}: provision it first")
    return info.code


def _stage(catalog: Catalog, funnel: str, key: str) -> str:
    kind = {"won": StageKind.WON, "lost": StageKind.LOST}.get(key)
    for sid, info in catalog.stages.items():
        if info.funnel == funnel and (info.kind is kind if kind else info.key == key):
            return str(sid)
    raise LookupError(f"the account has no stage {key!r} in pipeline {funnel!r}: provision it first")


def owners() -> list[dict[str, Any]]:
    out = []
    for person in [*CURATORS, *MANAGERS]:
        first, _, last = str(person["name"]).partition(" ")
        email = str(person.get("email") or f"{person['key']}@example.ru")
        out.append({"id": str(person["crm_user_id"]), "firstName": first, "lastName": last, "email": email})
    return out


def seed_network(portal: Seedable, catalog: Catalog, net: DemoNetwork) -> dict[str, int]:
    """Create the owners, companies and deals of ``net`` in ``portal``. Returns counts per kind."""
    portal.seed({"owners": owners()})
    p = FieldEntity.PARTNER
    names = {k: _name(catalog, p, k) for k in ("partner_type", "tier", "curator", "partner_since")}
    trained = _name(catalog, p, "training_completed")
    curator_ids = {c["key"]: str(c["crm_user_id"]) for c in CURATORS}
    companies = [
        {
            "properties": {
                "name": partner.name,
                names["partner_type"]: partner.type.value,
                names["tier"]: partner.tier,
                names["curator"]: curator_ids[partner.curator],
                names["partner_since"]: partner.since.date().isoformat(),
                trained: "yes" if partner.trained else "no",
            }
        }
        for partner in net.partners
    ]
    company_ids = portal.seed({"companies": companies}).get("companies", [])
    ref = _name(catalog, FieldEntity.DEAL, "partner_ref")  # deals: the partner property
    label = int(_name(catalog, FieldEntity.LEAD, "partner_ref"))  # leads: the partner association label
    lead_funnel = load_mapping().lead_funnel
    manager_ids = {m["key"]: str(m["crm_user_id"]) for m in MANAGERS}
    deals = []
    for rec in net.records:
        props: dict[str, Any] = {
            "dealname": rec.title,
            "pipeline": catalog.funnels[rec.funnel],
            "dealstage": _stage(catalog, rec.funnel, rec.stage),
            "amount": str(rec.amount),
            "createdate": _ms(rec.created),
        }
        labelled: list[dict[str, Any]] = []
        if rec.funnel == lead_funnel:
            kind = {"associationCategory": "USER_DEFINED", "associationTypeId": label}
            labelled.append({"to": {"id": str(company_ids[rec.partner])}, "types": [kind]})
        else:
            props[ref] = company_ids[rec.partner]
        if rec.manager:
            props["hubspot_owner_id"] = manager_ids[rec.manager]
        if rec.closed is not None:
            props["closedate"] = _ms(rec.closed)
        deals.append(
            {
                "properties": props,
                "associations": labelled,
                "associate": {"companies": [str(company_ids[rec.partner])]},
            }
        )
    created = portal.seed({"deals": deals}).get("deals", [])
    prospects = _seed_prospects(portal, catalog, net)
    return {
        "users": len(owners()),
        "partners": len(company_ids),
        "prospects": prospects,
        "leads": net.count("leads"),
        "repeat_deals": net.count("repeat"),
        "deals_created": len(created),
    }


def _seed_prospects(portal: Seedable, catalog: Catalog, net: DemoNetwork) -> int:
    """The prospective partners: companies with their selection scores, a deal each in the
    acquisition pipeline."""
    if not net.prospects:
        return 0
    p_ = FieldEntity.PARTNER
    companies = [
        {
            "properties": {
                "name": p.name,
                _name(catalog, p_, "partner_type"): p.type.value,
                **{_name(catalog, p_, f"score_{c}"): str(v) for c, v in p.scores.items()},
            }
        }
        for p in net.prospects
    ]
    ids = portal.seed({"companies": companies}).get("companies", [])
    ref = _name(catalog, FieldEntity.DEAL, "partner_ref")
    cards = [
        {
            "properties": {
                "dealname": f"{p.name}: привлечение",
                "pipeline": catalog.funnels["acquisition"],
                "dealstage": _stage(catalog, "acquisition", p.stage),
                ref: company_id,
            },
            "associate": {"companies": [str(company_id)]},
        }
        for p, company_id in zip(net.prospects, ids, strict=True)
    ]
    portal.seed({"deals": cards})
    return len(ids)
