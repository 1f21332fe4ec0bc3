"""The user-field payloads of a provisioning apply (crm.<entity>.userfield.add / .update): a new field
with its enumeration items, and one LIST update per existing field for new or relabelled items.

How Bitrix24 treats items left out of LIST on update is not documented on the current English page;
every existing item is sent back with its ID (kept), relabelled ones with their new VALUE, new ones
without an ID (added).
"""

from __future__ import annotations

from typing import Any

from crm_bridge.domain.layout import DesiredField, DesiredOption, PlanAction, PlanItem
from crm_bridge.toolkit.recognition import marker_for
from crm_bridge_bitrix24.mapping import UF_PREFIX, Bitrix24Mapping
from crm_bridge_bitrix24.wire import UserField


def new_field(mapping: Bitrix24Mapping, desired: DesiredField, code: str) -> dict[str, Any]:
    """``fields`` of crm.<entity>.userfield.add: our XML_ID marks it, the label goes to every language."""
    fields: dict[str, Any] = {
        "FIELD_NAME": code[len(UF_PREFIX) :],  # Bitrix24 adds UF_CRM_ itself
        "USER_TYPE_ID": mapping.user_type(desired.type),
        "XML_ID": marker_for(desired.key),
        "LABEL": desired.label,
        "EDIT_FORM_LABEL": desired.label,
        "LIST_COLUMN_LABEL": desired.label,
        "LIST_FILTER_LABEL": desired.label,
        "MULTIPLE": "N",
        "MANDATORY": "N",
        "SHOW_FILTER": "Y",
    }
    if desired.options:
        fields["LIST"] = [
            {"VALUE": o.label, "XML_ID": o.key, "SORT": 10 * (i + 1)} for i, o in enumerate(desired.options)
        ]
    return fields


def option_list(field: UserField | None, items: list[PlanItem]) -> list[dict[str, Any]]:
    """``LIST`` of a crm.<entity>.userfield.update carrying the plan's option creates and updates."""
    current = {
        str(i.id): {"ID": i.id, "VALUE": i.value, "XML_ID": i.xml_id, "SORT": i.sort}
        for i in (field.items if field else [])
    }
    new: list[dict[str, Any]] = []
    for item in items:
        option = item.desired if isinstance(item.desired, DesiredOption) else None
        if item.action is PlanAction.UPDATE and item.observed_id in current and option:
            current[item.observed_id]["VALUE"] = option.label
        elif item.action is PlanAction.CREATE and option:
            new.append(
                {"VALUE": option.label, "XML_ID": option.key, "SORT": 10 * (len(current) + len(new) + 1)}
            )
    return [*current.values(), *new]
