"""How the classic CRM methods store and answer field values: strings for numbers and ids, ``Y``/``N``
flags, dates at midnight in the portal's zone, multi-fields with their own ids, user-field values
(enumerations by item ID). References: b24restdocs api-reference/crm/deals/crm-deal-get.md,
crm/contacts/crm-contact-update.md (multi-field edits), crm/data-types.md.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from crm_bridge_bitrix24.sandbox import fields as fields_
from crm_bridge_bitrix24.sandbox.state import B24Error, PortalState, fmt_date, parse_time


def multi_value(existing: list[dict[str, Any]], given: Any, state: PortalState) -> list[dict[str, Any]]:
    """Multi-fields: entries without ID are added; with ID they change; DELETE=Y or empty VALUE removes
    (crm/contacts/crm-contact-update.md)."""
    items = [dict(m) for m in existing]
    entries = list(given.values()) if isinstance(given, dict) else given or []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        if entry.get("ID"):
            for item in items:
                if str(item["ID"]) == str(entry["ID"]):
                    if str(entry.get("DELETE", "")).upper() == "Y" or entry.get("VALUE") == "":
                        items.remove(item)
                    else:
                        item.update({k: str(entry[k]) for k in ("VALUE", "VALUE_TYPE") if k in entry})
                    break
        elif str(entry.get("VALUE") or "").strip():
            items.append(
                {
                    "ID": str(state.next_id("multifield")),
                    "VALUE_TYPE": str(entry.get("VALUE_TYPE") or "WORK"),
                    "VALUE": str(entry["VALUE"]).strip(),
                }
            )
    return items


def scalar(name: str, value: Any) -> Any:
    """A standard field's value as the classic methods store and answer it (strings, ``Y``/``N``)."""
    if value is None or (value == "" and name not in fields_.FLAGS):
        return None
    if name in fields_.MONEY or name == "REVENUE":
        try:
            return f"{Decimal(str(value)):.2f}" if name != "REVENUE" else str(Decimal(str(value)))
        except InvalidOperation:
            raise B24Error(400, "", f'Invalid value for the "{name}" field') from None
    if name in fields_.INTEGER:
        try:
            number = int(str(value))
        except ValueError:
            raise B24Error(400, "", f'Invalid value for the "{name}" field') from None
        return None if number == 0 and name != "CATEGORY_ID" else str(number)
    if name in fields_.DATES:
        ts = parse_time(value)
        return fmt_date(ts) if ts is not None else None
    if name in fields_.FLAGS:
        return "Y" if str(value).upper() in ("Y", "1", "TRUE") else "N"
    return str(value)


def uf_value(uf: Any, value: Any) -> Any:
    """A user field's stored value: enumeration items by their numeric ID, lists for multiple fields."""
    values = value if isinstance(value, list) else [value]
    if uf.user_type_id == "enumeration":
        ids = {str(i["ID"]) for i in uf.items}
        kept = [str(v) for v in values if str(v) in ids]
        return kept if uf.multiple else (kept[0] if kept else None)
    if uf.user_type_id == "boolean":
        flag = str(values[0]).upper() in ("1", "Y", "TRUE") if values else False
        return "1" if flag else "0"
    if uf.multiple:
        return [str(v) for v in values if v not in (None, "")]
    return None if value is None else str(value)
