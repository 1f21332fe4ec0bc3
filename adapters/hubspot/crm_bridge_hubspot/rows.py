"""HubSpot records -> domain records (companies -> Partner, lead-pipeline deals -> Lead, deals of our
other pipelines -> Deal), and domain values -> property values (every value a string, as HubSpot
wants: numbers as decimals, dates as ``YYYY-MM-DD``, datetimes as ms epoch, options by value)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_bridge.domain.funnels import LIFECYCLE_SCORE_FIELDS
from crm_bridge.domain.layout import FieldEntity, FieldType
from crm_bridge.domain.model import Deal, Lead, Partner, PartnerType, StageKind
from crm_bridge.domain.scorecard import scores_from_fields
from crm_bridge.errors import DataError
from crm_bridge.toolkit.catalog import Catalog, FieldInfo
from crm_bridge_hubspot.mapping import LABEL_FIELD

DEAL_PROPERTIES = (
    "dealname",
    "amount",
    "pipeline",
    "dealstage",
    "hubspot_owner_id",
    "createdate",
    "closedate",
    "hs_lastmodifieddate",
)
COMPANY_PROPERTIES = ("name", "hs_lastmodifieddate")
MODIFIED = "hs_lastmodifieddate"
# HubSpot's calculated properties of each deal stage (one pair per stage id, created with the stage)
ENTERED, EXITED = "hs_date_entered_", "hs_date_exited_"
PARTNER_KEY = "partner_by_label"  # set on a lead's row: its partner company, by the association label


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 (``2026-12-06T21:00:00.000Z``), a date, or ms epoch -> aware UTC datetime."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text) / 1000, UTC)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise DataError(f"not a date: {text[:40]!r}", where="hubspot date") from exc
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def millis(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def money(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def decimal_text(value: Any, what: str) -> str:
    """A number as HubSpot stores it: plain digits (``1E+3`` -> ``1000``, ``10`` -> ``10``). Anything
    else, NaN and the infinities included, is a DataError for that one input (sent, HubSpot would
    refuse the whole batch)."""
    try:
        number: Decimal | None = Decimal(str(value))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite():
        raise DataError(f"{what} {value} is not a number HubSpot can store")
    return format(number, "f")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _id(value: Any) -> str | None:
    text = _text(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text if text and text != "0" else None


class RowReader:
    def __init__(self, catalog: Catalog[str], curators: Mapping[str, str], lead_funnel: str) -> None:
        self.catalog = catalog
        self.curators = curators  # owner id -> curator key
        self.lead_funnel = lead_funnel

    def properties(self, entity: FieldEntity) -> list[str]:
        base = COMPANY_PROPERTIES if entity is FieldEntity.PARTNER else DEAL_PROPERTIES
        ours = [
            f.code
            for k, f in self.catalog.fields.items()
            if k.startswith(entity.value + ".") and k != f"{LABEL_FIELD[0].value}.{LABEL_FIELD[1]}"
        ]
        if entity is FieldEntity.LEAD:  # first touch and furthest stage; the deals' partner property
            ours += [f"{p}{code}" for code in self._lead_stages() for p in (ENTERED, EXITED)]
            deal_ref = self.catalog.field(FieldEntity.DEAL, "partner_ref")
            ours += [deal_ref.code] if deal_ref is not None else []
        return list(dict.fromkeys([*base, *ours]))

    def _lead_stages(self) -> list[str]:
        """Codes of the lead funnel's stages in their order (the catalog keeps the display order)."""
        return [code for code, info in self.catalog.stages.items() if info.funnel == self.lead_funnel]

    def _history(self, row: Mapping[str, Any]) -> tuple[datetime | None, str | None]:
        """(first touch, furthest open stage) from HubSpot's per-stage calculated properties
        ``hs_date_entered_<stage id>`` / ``hs_date_exited_<stage id>``: the first touch is the earliest
        time the lead left a stage (its first stage move; none when it never moved), the furthest stage
        the last, in the funnel's order, of the open stages it entered (or stands in)."""
        props = row.get("properties") or {}
        exits = [t for code in self._lead_stages() if (t := parse_time(props.get(EXITED + code)))]
        reached = [
            code
            for code in self._lead_stages()
            if self.catalog.stages[code].kind is StageKind.OPEN
            and (props.get(ENTERED + code) or code == props.get("dealstage"))
        ]
        furthest = self.catalog.stages[reached[-1]].key if reached else None
        return (min(exits) if exits else None), furthest

    def _value(self, row: Mapping[str, Any], entity: FieldEntity, key: str) -> Any:
        info = self.catalog.field(entity, key)
        return (row.get("properties") or {}).get(info.code) if info else None

    def _yes(self, row: Mapping[str, Any], entity: FieldEntity, key: str) -> bool:
        return _text(self._value(row, entity, key)).lower() in ("yes", "true", "1")

    def partner(self, row: Mapping[str, Any]) -> Partner:
        props = row.get("properties") or {}
        ptype = _text(self._value(row, FieldEntity.PARTNER, "partner_type"))
        curator = _id(self._value(row, FieldEntity.PARTNER, "curator"))
        return Partner(
            crm_id=str(row["id"]),
            name=_text(props.get("name")),
            type=PartnerType(ptype) if ptype in PartnerType._value2member_map_ else None,
            tier=_text(self._value(row, FieldEntity.PARTNER, "tier")) or None,
            curator_key=self.curators.get(curator) if curator else None,
            region=_text(self._value(row, FieldEntity.PARTNER, "region")),
            partner_since=parse_time(self._value(row, FieldEntity.PARTNER, "partner_since")),
            training_completed=self._yes(row, FieldEntity.PARTNER, "training_completed"),
            qualification=scores_from_fields(
                {k: self._value(row, FieldEntity.PARTNER, k) for k in LIFECYCLE_SCORE_FIELDS}
            ),
            modified_at=parse_time(props.get(MODIFIED) or row.get("updatedAt")),
        )

    def is_partner(self, row: Mapping[str, Any]) -> bool:
        return bool(self._value(row, FieldEntity.PARTNER, "partner_type"))

    def funnel(self, row: Mapping[str, Any]) -> str | None:
        return self.catalog.funnel_of((row.get("properties") or {}).get("pipeline"))

    def _stage(self, row: Mapping[str, Any]) -> tuple[str, StageKind]:
        code = _text((row.get("properties") or {}).get("dealstage"))
        info = self.catalog.stages.get(code)
        return (info.key, info.kind) if info else (code, StageKind.OPEN)

    def _common(self, row: Mapping[str, Any], entity: FieldEntity) -> dict[str, Any]:
        props = row.get("properties") or {}
        stage, kind = self._stage(row)
        created = parse_time(props.get("createdate") or row.get("createdAt"))
        if created is None:
            raise DataError("deal has no createdate", where=f"deal {row.get('id')}")
        return {
            "crm_id": str(row["id"]),
            "partner_id": _id(self._value(row, entity, "partner_ref")),
            "title": _text(props.get("dealname")),
            "stage": stage,
            "stage_kind": kind,
            "created_at": created,
            "amount": money(props.get("amount")),
            "external_id": _text(self._value(row, entity, "external_id")) or None,
            "closed_at": parse_time(props.get("closedate")) if kind is not StageKind.OPEN else None,
            "modified_at": parse_time(props.get(MODIFIED) or row.get("updatedAt")),
        }

    def lead(self, row: Mapping[str, Any]) -> Lead:
        """``row[PARTNER_KEY]``: the company associated with the partner label (source.py reads it);
        a lead without one (created before the label existed) falls back to the partner property."""
        props = row.get("properties") or {}
        first_touch, furthest = self._history(row)
        common = self._common(row, FieldEntity.LEAD)
        common["partner_id"] = row.get(PARTNER_KEY) or _id(self._value(row, FieldEntity.DEAL, "partner_ref"))
        return Lead(
            **common,
            first_touch_at=first_touch,
            furthest_stage=furthest,
            manager_user_id=_id(props.get("hubspot_owner_id")),
            region=_text(self._value(row, FieldEntity.LEAD, "region")),
            specialisation=_text(self._value(row, FieldEntity.LEAD, "specialisation")),
            conflict=self._yes(row, FieldEntity.LEAD, "conflict"),
        )

    def deal(self, row: Mapping[str, Any]) -> Deal:
        funnel = self.funnel(row) or ""
        return Deal(**self._common(row, FieldEntity.DEAL), funnel=funnel, repeat=funnel == "repeat")


def property_value(info: FieldInfo[str], value: Any, owners: Mapping[str, str]) -> str:
    """A domain value -> the string HubSpot stores. Raises DataError for an unknown option."""
    if value is None:
        return ""
    if info.type is FieldType.ENUM:
        if isinstance(value, bool) and {"yes", "no"} <= set(info.options):
            return "yes" if value else "no"
        if str(value) not in info.options:
            raise DataError(f"option {value!r} does not exist in {info.code}; run crm-bridge provision")
        return str(value)
    if info.type is FieldType.USER:
        return owners.get(str(value), str(value))
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat() if info.type is FieldType.DATE else millis(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value, info.code)
    return str(value)
