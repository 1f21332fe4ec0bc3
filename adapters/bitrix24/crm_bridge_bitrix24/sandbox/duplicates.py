"""crm.duplicate.findbycomm: leads, contacts and companies sharing a phone or e-mail.
Reference: b24restdocs api-reference/crm/duplicates/crm-duplicate-find-by-comm.md.
"""

from __future__ import annotations

import re
from typing import Any

from crm_bridge_bitrix24.sandbox.crm import Ctx
from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.query import Answer
from crm_bridge_bitrix24.sandbox.state import B24Error

MAX_VALUES = 20
_CUTOFF = 20  # "If 20 or more duplicates are found for one object, the other types are not returned"
_DIGITS = re.compile(r"\D+")


def find_by_comm(ctx: Ctx, params: dict[str, Any]) -> Answer:
    kind = str(pick(params, "type", default="") or "").upper()
    if not kind:
        raise B24Error(400, "Communication type is not defined", "Parameter 'type' is required.")
    if kind not in ("EMAIL", "PHONE"):
        raise B24Error(400, f"Communication type '{kind}' is not supported in current context", "")
    values = pick(params, "values")
    if isinstance(values, dict):
        values = list(values.values())
    if not isinstance(values, list) or not values:
        raise B24Error(400, "Communication values is not defined", "Parameter 'values' is required.")
    if len(values) > MAX_VALUES:
        raise B24Error(400, "", f"Too many values: no more than {MAX_VALUES} are allowed")
    entity_type = str(pick(params, "entity_type", default="") or "").upper()
    if entity_type and entity_type not in ("LEAD", "CONTACT", "COMPANY"):
        raise B24Error(400, "", f"Entity type '{entity_type}' is not supported in current context")

    def norm(value: Any) -> str:  # phones compare by their last ten digits, e-mails case-insensitively
        return _DIGITS.sub("", str(value))[-10:] if kind == "PHONE" else str(value).strip().lower()

    needles = {norm(v) for v in values if str(v).strip()}
    found: dict[str, list[int]] = {}
    for name in [entity_type] if entity_type else ["LEAD", "CONTACT", "COMPANY"]:
        rows = ctx.state.records[name.lower()]
        ids = sorted(
            rid for rid, row in rows.items() if any(norm(m["VALUE"]) in needles for m in row.get(kind, []))
        )
        if ids:
            found[name] = ids
            if len(ids) >= _CUTOFF:
                break
    return Answer(found or [], records=sum(len(v) for v in found.values()))
