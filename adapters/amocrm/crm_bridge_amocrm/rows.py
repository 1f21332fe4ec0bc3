"""amoCRM records -> domain records (companies -> Partner, leads of the lead pipeline -> Lead, leads of
our other pipelines -> Deal) and domain values -> ``custom_fields_values`` entries.

amoCRM sends times as Unix seconds, ``price`` as an integer (the account's currency, no fraction),
select values as ``enum_id``, numeric fields as strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from crm_bridge.domain.funnels import LIFECYCLE_SCORE_FIELDS
from crm_bridge.domain.layout import FieldEntity, FieldType
from crm_bridge.domain.model import Deal, Lead, Partner, PartnerType, StageKind
from crm_bridge.domain.scorecard import scores_from_fields
from crm_bridge.errors import DataError
from crm_bridge_amocrm.catalog import AmoCatalog, FieldInfo, field_id, stage_ref


def from_unix(value: Any) -> datetime | None:
    if value in (None, "", 0, False):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(f"not a Unix time: {str(value)[:40]!r}", where="amocrm time") from exc


def to_unix(value: datetime | date) -> int:
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0), tzinfo=UTC)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def _number(value: Any) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def _id(value: Any) -> str | None:
    if value in (None, "", False):
        return None
    text = str(value).strip()
    if text.endswith(".0"):
        text = text[:-2]
    return text if text and text != "0" else None


def values_of(row: Mapping[str, Any]) -> dict[int, list[dict[str, Any]]]:
    return {int(v["field_id"]): list(v.get("values") or []) for v in row.get("custom_fields_values") or []}


class RowReader:
    def __init__(self, catalog: AmoCatalog, curators: Mapping[str, str]) -> None:
        self.catalog = catalog
        self.curators = curators  # CRM user id -> curator key

    def _first(
        self, row: Mapping[str, Any], values: dict[int, list[dict[str, Any]]], entity: FieldEntity, key: str
    ) -> tuple[FieldInfo[int] | None, dict[str, Any] | None]:
        info = self.catalog.field(entity, key)
        found = values.get(field_id(info)) if info else None
        return info, (found[0] if found else None)

    def _option(self, values: dict[int, list[dict[str, Any]]], entity: FieldEntity, key: str) -> str | None:
        info, value = self._first({}, values, entity, key)
        return info.option_key(value.get("enum_id")) if info and value else None

    def _plain(self, values: dict[int, list[dict[str, Any]]], entity: FieldEntity, key: str) -> Any:
        _, value = self._first({}, values, entity, key)
        return value.get("value") if value else None

    def _yes(self, values: dict[int, list[dict[str, Any]]], entity: FieldEntity, key: str) -> bool:
        info = self.catalog.field(entity, key)
        if info is not None and info.type is FieldType.ENUM:
            return self._option(values, entity, key) == "yes"
        return str(self._plain(values, entity, key)).strip().lower() in ("1", "true", "y", "yes")

    def partner(self, row: Mapping[str, Any]) -> Partner:
        values = values_of(row)
        ptype = self._option(values, FieldEntity.PARTNER, "partner_type")
        curator = _id(self._plain(values, FieldEntity.PARTNER, "curator"))
        since = self._plain(values, FieldEntity.PARTNER, "partner_since")
        return Partner(
            crm_id=str(row["id"]),
            name=str(row.get("name") or ""),
            type=PartnerType(ptype)
            if ptype is not None and ptype in PartnerType._value2member_map_
            else None,
            tier=self._option(values, FieldEntity.PARTNER, "tier"),
            curator_key=self.curators.get(curator) if curator else None,
            partner_since=from_unix(since) if str(since or "").isdigit() else None,
            training_completed=self._yes(values, FieldEntity.PARTNER, "training_completed"),
            qualification=scores_from_fields(
                {k: self._plain(values, FieldEntity.PARTNER, k) for k in LIFECYCLE_SCORE_FIELDS}
            ),
            modified_at=from_unix(row.get("updated_at")),
        )

    def _stage(self, row: Mapping[str, Any]) -> tuple[str, str, StageKind]:
        info = self.catalog.stages.get(stage_ref(row.get("pipeline_id"), row.get("status_id")))
        if info is None:
            return (
                self.catalog.funnel_of(row.get("pipeline_id")) or "",
                str(row.get("status_id")),
                StageKind.OPEN,
            )
        return info.funnel, info.key, info.kind

    def _partner_id(
        self, row: Mapping[str, Any], values: dict[int, list[dict[str, Any]]], entity: FieldEntity
    ) -> str | None:
        ref = _id(self._plain(values, entity, "partner_ref"))
        if ref:
            return ref
        companies = (row.get("_embedded") or {}).get("companies") or []
        return str(companies[0]["id"]) if companies else None

    def _closed_at(self, row: Mapping[str, Any], kind: StageKind) -> datetime | None:
        if kind is StageKind.OPEN:
            return None
        return from_unix(row.get("closed_at")) or from_unix(row.get("updated_at"))

    def lead(self, row: Mapping[str, Any]) -> Lead:
        values = values_of(row)
        _funnel, stage, kind = self._stage(row)
        created = from_unix(row.get("created_at"))
        if created is None:
            raise DataError("lead has no created_at", where=f"lead {row.get('id')}")
        return Lead(
            crm_id=str(row["id"]),
            partner_id=self._partner_id(row, values, FieldEntity.LEAD),
            title=str(row.get("name") or ""),
            stage=stage,
            stage_kind=kind,
            created_at=created,
            amount=_number(row.get("price")),
            manager_user_id=_id(row.get("responsible_user_id")),
            external_id=_id(self._plain(values, FieldEntity.LEAD, "external_id")),
            closed_at=self._closed_at(row, kind),
            modified_at=from_unix(row.get("updated_at")),
            conflict=self._yes(values, FieldEntity.LEAD, "conflict"),
        )

    def deal(self, row: Mapping[str, Any]) -> Deal:
        values = values_of(row)
        funnel, stage, kind = self._stage(row)
        created = from_unix(row.get("created_at"))
        if created is None:
            raise DataError("lead has no created_at", where=f"lead {row.get('id')}")
        return Deal(
            crm_id=str(row["id"]),
            partner_id=self._partner_id(row, values, FieldEntity.DEAL),
            title=str(row.get("name") or ""),
            funnel=funnel,
            stage=stage,
            stage_kind=kind,
            amount=_number(row.get("price")),
            created_at=created,
            closed_at=self._closed_at(row, kind),
            repeat=funnel == "repeat",
            external_id=_id(self._plain(values, FieldEntity.DEAL, "external_id")),
            modified_at=from_unix(row.get("updated_at")),
        )


def field_entry(info: FieldInfo[int], value: Any, user_ids: Mapping[str, str]) -> dict[str, Any]:
    """A domain value -> one ``custom_fields_values`` entry. Raises DataError for an unknown option key
    (the layout lacks it: run ``crm-bridge provision``)."""
    if value is None or value == "":
        return {"field_id": field_id(info), "values": None}
    if info.type is FieldType.ENUM:
        if isinstance(value, bool) and {"yes", "no"} <= set(info.options):
            value = "yes" if value else "no"
        if str(value) not in info.options:
            raise DataError(
                f"option {value!r} does not exist in field #{info.code}; run crm-bridge provision"
            )
        return {"field_id": field_id(info), "values": [{"enum_id": info.options[str(value)]}]}
    if info.type is FieldType.USER:
        value = user_ids.get(str(value), str(value))
    if isinstance(value, datetime | date):
        value = to_unix(value)
    elif isinstance(value, Decimal):
        value = format(value, "f")
    elif isinstance(value, bool):
        value = "1" if value else "0"
    if info.type in (FieldType.INTEGER, FieldType.USER) and str(value).isdigit():
        value = int(value)
    return {"field_id": field_id(info), "values": [{"value": value}]}


def price_of(amount: Decimal) -> int:
    """amoCRM's ``price`` is a whole number: the amount rounded half up."""
    return int(amount.quantize(Decimal("1"), rounding="ROUND_HALF_UP"))
