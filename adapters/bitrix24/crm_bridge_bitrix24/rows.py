"""Translate Bitrix24 list rows into domain records (companies -> Partner, lead-funnel deals -> Lead,
deals of our other funnels -> Deal) and domain values back into Bitrix24 field values.

Bitrix24 sends numbers as strings, dates as ISO 8601 with the portal's offset, enumeration values as
the list item's numeric ID and booleans of user fields as "1"/"0" (or "Y"/"N").
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
from crm_bridge_bitrix24.catalog import Catalog, FieldInfo
from crm_bridge_bitrix24.mapping import Bitrix24Mapping


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 (``2024-09-02T18:37:18+02:00``) or ``dd.mm.yyyy[ hh:mm:ss]`` -> aware UTC datetime."""
    if value in (None, "", False):
        return None
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = datetime.strptime(text, "%d.%m.%Y %H:%M:%S" if " " in text else "%d.%m.%Y")
        except ValueError as exc:
            raise DataError(f"not a date: {text[:40]!r}", where="bitrix24 date") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso(value: datetime | date) -> str:
    """A Bitrix24 filter/field date value: ISO 8601 with offset."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return datetime.combine(value, time(0), tzinfo=UTC).isoformat(timespec="seconds")


def parse_money(value: Any, where: str = "bitrix24 amount") -> Decimal:
    """An amount (``"19999.99"``; empty = 0). Anything else is a DataError: the record is skipped with a
    warning rather than counted as 0 in revenue and commission."""
    if value in (None, ""):
        return Decimal("0")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise DataError(f"amount {str(value)[:40]!r} is not a number", where=where) from exc
    if not amount.is_finite():
        raise DataError(f"amount {str(value)[:40]!r} is not a number", where=where)
    return amount


MOVED_TIME = "MOVED_TIME"  # when the deal last changed stage (its creation time when it never did)


def _text(value: Any) -> str:
    return "" if value in (None, False) else str(value)


def _id(value: Any) -> str | None:
    text = _text(value).strip()
    return text if text and text != "0" else None


def _flag(value: Any) -> bool:
    return str(value).strip().upper() in ("1", "Y", "TRUE")


class RowReader:
    """Row -> domain record, using the catalog (stage codes, enum ids) and the curator directory."""

    def __init__(self, mapping: Bitrix24Mapping, catalog: Catalog, curators: Mapping[str, str]) -> None:
        self.mapping = mapping
        self.catalog = catalog
        self.curators = curators  # CRM user id -> curator key
        self.r = mapping.records
        self._fields: dict[tuple[FieldEntity, str], FieldInfo | None] = {}

    def _uf(self, row: Mapping[str, Any], entity: FieldEntity, key: str) -> tuple[FieldInfo | None, Any]:
        try:
            info = self._fields[(entity, key)]
        except KeyError:  # looked up once per reader (a backfill reads every row through here)
            info = self._fields[(entity, key)] = self.catalog.field(entity, key)
        return info, (row.get(info.code) if info else None)

    def _yes(self, row: Mapping[str, Any], entity: FieldEntity, key: str) -> bool:
        """A yes/no field: an enumeration (option key "yes") or a boolean-like value."""
        info, value = self._uf(row, entity, key)
        if info is not None and info.type is FieldType.ENUM:
            return info.option_key(value) == "yes"
        return _flag(value)

    def _option(self, row: Mapping[str, Any], entity: FieldEntity, key: str) -> str | None:
        info, value = self._uf(row, entity, key)
        return info.option_key(value) if info and value not in (None, "", False) else None

    def select(self, entity: FieldEntity) -> tuple[str, ...]:
        r = self.r
        base = ["ID", r.title, r.modified_at]
        if entity is not FieldEntity.PARTNER:
            base += [
                r.stage,
                r.funnel,
                r.amount,
                r.currency,
                r.responsible,
                r.created_at,
                r.closed,
                r.closed_at,
            ]
            base += [r.originator, r.origin, MOVED_TIME]
        codes = [f.code for k, f in self.catalog.fields.items() if k.startswith(entity.value + ".")]
        return tuple(dict.fromkeys(base + codes))

    def partner(self, row: Mapping[str, Any]) -> Partner:
        ptype = self._option(row, FieldEntity.PARTNER, "partner_type")
        _, curator = self._uf(row, FieldEntity.PARTNER, "curator")
        _, since = self._uf(row, FieldEntity.PARTNER, "partner_since")
        _, region = self._uf(row, FieldEntity.PARTNER, "region")
        return Partner(
            crm_id=str(row["ID"]),
            name=_text(row.get(self.r.title)),
            type=PartnerType(ptype)
            if ptype is not None and ptype in PartnerType._value2member_map_
            else None,
            tier=self._option(row, FieldEntity.PARTNER, "tier"),
            curator_key=self.curators.get(_text(curator)) if _id(curator) else None,
            region=_text(region),
            partner_since=parse_datetime(since),
            training_completed=self._yes(row, FieldEntity.PARTNER, "training_completed"),
            qualification=scores_from_fields(
                {k: self._uf(row, FieldEntity.PARTNER, k)[1] for k in LIFECYCLE_SCORE_FIELDS}
            ),
            modified_at=parse_datetime(row.get(self.r.modified_at)),
        )

    def _stage(self, row: Mapping[str, Any]) -> tuple[str, str, StageKind]:
        code = _text(row.get(self.r.stage))
        info = self.catalog.stages.get(code)
        if info is None:
            return self.catalog.funnel_of(row.get(self.r.funnel)) or "", code, StageKind.OPEN
        return info.funnel, info.key, info.kind

    def _external_id(self, row: Mapping[str, Any], entity: FieldEntity) -> str | None:
        if _text(row.get(self.r.originator)) == self.mapping.source.originator_id and _id(
            row.get(self.r.origin)
        ):
            return _text(row.get(self.r.origin))
        _, value = self._uf(row, entity, "external_id")
        return _text(value) or None

    def _closed_at(self, row: Mapping[str, Any], kind: StageKind) -> datetime | None:
        if kind is StageKind.OPEN and not _flag(row.get(self.r.closed)):
            return None
        return parse_datetime(row.get(self.r.closed_at)) or parse_datetime(row.get(self.r.modified_at))

    def lead(self, row: Mapping[str, Any]) -> Lead:
        _funnel, stage, kind = self._stage(row)
        _, partner = self._uf(row, FieldEntity.LEAD, "partner_ref")
        _, region = self._uf(row, FieldEntity.LEAD, "region")
        _, spec = self._uf(row, FieldEntity.LEAD, "specialisation")
        created = parse_datetime(row.get(self.r.created_at))
        if created is None:
            raise DataError("deal has no DATE_CREATE", where=f"deal {row.get('ID')}")
        # Never moved: no first touch, and the current stage is the furthest. Moved: the last move's
        # time stands in until the stage history (lead_history.py) gives the first one.
        moved = parse_datetime(row.get(MOVED_TIME))
        moved = moved if moved is not None and moved > created else None
        return Lead(
            crm_id=str(row["ID"]),
            partner_id=_id(partner),
            title=_text(row.get(self.r.title)),
            stage=stage,
            stage_kind=kind,
            created_at=created,
            amount=parse_money(row.get(self.r.amount), f"deal {row.get('ID')}"),
            currency=_text(row.get(self.r.currency)),
            manager_user_id=_id(row.get(self.r.responsible)),
            external_id=self._external_id(row, FieldEntity.LEAD),
            region=_text(region),
            specialisation=_text(spec),
            closed_at=self._closed_at(row, kind),
            modified_at=parse_datetime(row.get(self.r.modified_at)),
            conflict=self._yes(row, FieldEntity.LEAD, "conflict"),
            first_touch_at=moved,
            furthest_stage=stage if kind is StageKind.OPEN and moved is None else None,
        )

    def deal(self, row: Mapping[str, Any]) -> Deal:
        funnel, stage, kind = self._stage(row)
        _, partner = self._uf(row, FieldEntity.DEAL, "partner_ref")
        created = parse_datetime(row.get(self.r.created_at))
        if created is None:
            raise DataError("deal has no DATE_CREATE", where=f"deal {row.get('ID')}")
        return Deal(
            crm_id=str(row["ID"]),
            partner_id=_id(partner),
            title=_text(row.get(self.r.title)),
            funnel=funnel,
            stage=stage,
            stage_kind=kind,
            amount=parse_money(row.get(self.r.amount), f"deal {row.get('ID')}"),
            created_at=created,
            currency=_text(row.get(self.r.currency)),
            closed_at=self._closed_at(row, kind),
            repeat=funnel == "repeat",
            external_id=self._external_id(row, FieldEntity.DEAL),
            modified_at=parse_datetime(row.get(self.r.modified_at)),
        )


def field_value(info: FieldInfo, value: Any, user_ids: Mapping[str, str]) -> Any:
    """A domain value -> the value Bitrix24 stores in the user field. Raises DataError for an unknown
    option key (the layout lacks it: run ``crm-bridge provision``)."""
    if value is None:
        return ""
    if info.type is FieldType.ENUM:
        if isinstance(value, bool) and {"yes", "no"} <= set(info.options):
            return info.options["yes" if value else "no"]
        if str(value) not in info.options:
            raise DataError(f"option {value!r} does not exist in {info.code}; run crm-bridge provision")
        return info.options[str(value)]
    if info.type is FieldType.USER:
        return user_ids.get(str(value), str(value))
    if isinstance(value, datetime | date):
        return iso(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    return value
