"""The demo network as amoCRM records: users (with the ids the demo config names), partner companies with
the partner fields, lead-pipeline and repeat-pipeline leads, loaded into the emulator through its seeding
API (``emulator.seed``, arrays of 250 as the API takes them)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from crm_bridge.demo_network import CURATORS, HEAD, MANAGERS, DemoNetwork
from crm_bridge.domain.layout import FieldEntity
from crm_bridge.domain.model import StageKind

CHUNK = 250


class _Field(Protocol):
    code: str  # the field id
    options: dict[str, int]


class Catalog(Protocol):
    funnels: dict[str, int]
    stages: dict[str, Any]  # "pipeline:status" -> StageInfo(funnel, key, kind)

    def field(self, entity: FieldEntity, key: str) -> _Field | None: ...


class Seedable(Protocol):
    def seed(self, data: dict[str, Any]) -> dict[str, Any]: ...


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _field(catalog: Catalog, entity: FieldEntity, key: str) -> _Field:
    info = catalog.field(entity, key)
    if info is None:
        raise LookupError(f"the account has no {entity.value} field {key!r}: provision it first")
    return info


def _status(catalog: Catalog, funnel: str, key: str) -> int:
    kind = {"won": StageKind.WON, "lost": StageKind.LOST}.get(key)
    pid = catalog.funnels[funnel]
    for ref, info in catalog.stages.items():
        if (
            ref.startswith(f"{pid}:")
            and info.funnel == funnel
            and (info.kind is kind if kind else info.key == key)
        ):
            return int(ref.split(":", 1)[1])
    raise LookupError(f"the account has no stage {key!r} in pipeline {funnel!r}: provision it first")


def users() -> list[dict[str, Any]]:
    return [
        {
            "id": int(p["crm_user_id"]),
            "name": str(p["name"]),
            "email": str(p.get("email") or f"{p['key']}@example.ru"),
        }
        for p in (HEAD, *CURATORS, *MANAGERS)
    ]


def _seed_chunks(account: Seedable, entity: str, items: list[dict[str, Any]]) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(items), CHUNK):
        ids += account.seed({entity: items[start : start + CHUNK]}).get(entity, [])
    return ids


def seed_network(account: Seedable, catalog: Catalog, net: DemoNetwork) -> dict[str, int]:
    account.seed({"users": users()})
    ptype = _field(catalog, FieldEntity.PARTNER, "partner_type")
    tier = _field(catalog, FieldEntity.PARTNER, "tier")
    curator = _field(catalog, FieldEntity.PARTNER, "curator")
    since = _field(catalog, FieldEntity.PARTNER, "partner_since")
    trained = _field(catalog, FieldEntity.PARTNER, "training_completed")
    curator_ids = {c["key"]: int(c["crm_user_id"]) for c in CURATORS}
    companies = [
        {
            "name": p.name,
            "created_at": _ts(p.since),
            "custom_fields_values": [
                {"field_id": int(ptype.code), "values": [{"enum_id": ptype.options[p.type.value]}]},
                {"field_id": int(tier.code), "values": [{"enum_id": tier.options[p.tier]}]},
                {"field_id": int(curator.code), "values": [{"value": curator_ids[p.curator]}]},
                {"field_id": int(since.code), "values": [{"value": _ts(p.since)}]},
                {
                    "field_id": int(trained.code),
                    "values": [{"enum_id": trained.options["yes" if p.trained else "no"]}],
                },
            ],
        }
        for p in net.partners
    ]
    company_ids = _seed_chunks(account, "companies", companies)
    ref = _field(catalog, FieldEntity.LEAD, "partner_ref")
    manager_ids = {m["key"]: int(m["crm_user_id"]) for m in MANAGERS}
    leads = []
    for rec in net.records:
        lead: dict[str, Any] = {
            "name": rec.title,
            "pipeline_id": catalog.funnels[rec.funnel],
            "status_id": _status(catalog, rec.funnel, rec.stage),
            "price": int(rec.amount),
            "created_at": _ts(rec.created),
            "custom_fields_values": [
                {"field_id": int(ref.code), "values": [{"value": company_ids[rec.partner]}]}
            ],
            "_embedded": {"companies": [{"id": company_ids[rec.partner]}]},
        }
        if rec.manager:
            lead["responsible_user_id"] = manager_ids[rec.manager]
        if rec.closed is not None:
            lead["closed_at"] = _ts(rec.closed)
            lead["updated_at"] = _ts(rec.closed)
        leads.append(lead)
    created = _seed_chunks(account, "leads", leads)
    prospects = _seed_prospects(account, catalog, net)
    return {
        "users": len(users()),
        "partners": len(company_ids),
        "prospects": prospects,
        "leads": net.count("leads"),
        "repeat_deals": net.count("repeat"),
        "deals_created": len(created),
    }


def _seed_prospects(account: Seedable, catalog: Catalog, net: DemoNetwork) -> int:
    """The prospective partners: companies with their selection scores, a lead each in the
    acquisition pipeline."""
    if not net.prospects:
        return 0
    ptype = _field(catalog, FieldEntity.PARTNER, "partner_type")
    companies = [
        {
            "name": p.name,
            "custom_fields_values": [
                {"field_id": int(ptype.code), "values": [{"enum_id": ptype.options[p.type.value]}]},
                *(
                    {
                        "field_id": int(_field(catalog, FieldEntity.PARTNER, f"score_{c}").code),
                        "values": [{"value": v}],
                    }
                    for c, v in p.scores.items()
                ),
            ],
        }
        for p in net.prospects
    ]
    ids = _seed_chunks(account, "companies", companies)
    ref = _field(catalog, FieldEntity.DEAL, "partner_ref")
    cards = [
        {
            "name": f"{p.name}: привлечение",
            "pipeline_id": catalog.funnels["acquisition"],
            "status_id": _status(catalog, "acquisition", p.stage),
            "custom_fields_values": [{"field_id": int(ref.code), "values": [{"value": company_id}]}],
            "_embedded": {"companies": [{"id": company_id}]},
        }
        for p, company_id in zip(net.prospects, ids, strict=True)
    ]
    _seed_chunks(account, "leads", cards)
    return len(ids)
