"""CRM user fields: crm.<lead|deal|company|contact>.userfield.add/get/list/update/delete, enumeration
lists included. References: b24restdocs api-reference/crm/companies/userfields/crm-company-userfield-*.md
(the deal, lead and contact pages describe the same behaviour).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from crm_bridge_bitrix24.sandbox import defaults as defaults
from crm_bridge_bitrix24.sandbox.crm import Ctx
from crm_bridge_bitrix24.sandbox.params import pick
from crm_bridge_bitrix24.sandbox.query import Answer, matches, need_dict, page, sort_rows
from crm_bridge_bitrix24.sandbox.state import LABEL_KEYS, B24Error, UserField

_UF_NAME = re.compile(r"^[A-Z0-9_]+$")
UF_TYPES = {
    "string",
    "integer",
    "double",
    "boolean",
    "datetime",
    "date",
    "money",
    "url",
    "address",
    "enumeration",
    "file",
    "employee",
    "crm_status",
    "iblock_section",
    "iblock_element",
    "crm",
}


# SETTINGS a new field answers with when not given (crm-company-userfield-add.md "Parameter SETTINGS",
# and the SETTINGS shown by the -get/-list examples).
_SETTINGS: dict[str, dict[str, Any]] = {
    "string": {"SIZE": 20, "ROWS": 1, "REGEXP": "", "MIN_LENGTH": 0, "MAX_LENGTH": 0, "DEFAULT_VALUE": ""},
    "integer": {"SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": None},
    "double": {"PRECISION": 2, "SIZE": 20, "MIN_VALUE": 0, "MAX_VALUE": 0, "DEFAULT_VALUE": None},
    "boolean": {"DEFAULT_VALUE": 0, "DISPLAY": "CHECKBOX", "LABEL": ["", ""], "LABEL_CHECKBOX": ""},
    "enumeration": {"DISPLAY": "LIST", "LIST_HEIGHT": 1, "CAPTION_NO_VALUE": "", "SHOW_NO_VALUE": "Y"},
    "date": {"DEFAULT_VALUE": {"TYPE": "NONE", "VALUE": ""}},
    "datetime": {"DEFAULT_VALUE": {"TYPE": "NONE", "VALUE": ""}, "USE_SECOND": "Y", "USE_TIMEZONE": "N"},
    "crm_status": {"ENTITY_TYPE": ""},
    "file": {"SIZE": 20, "LIST_WIDTH": 0, "LIST_HEIGHT": 0, "MAX_SHOW_SIZE": 0, "MAX_ALLOWED_SIZE": 0},
    "iblock_section": {"IBLOCK_TYPE_ID": "", "IBLOCK_ID": 0, "DEFAULT_VALUE": "", "DISPLAY": "LIST"},
    "iblock_element": {"IBLOCK_TYPE_ID": "", "IBLOCK_ID": 0, "DEFAULT_VALUE": "", "DISPLAY": "LIST"},
}


def _settings(utype: str, given: Any) -> dict[str, Any]:
    settings = {k: (dict(v) if isinstance(v, dict) else v) for k, v in _SETTINGS.get(utype, {}).items()}
    if isinstance(given, dict):
        settings.update(given)
    if utype == "crm" and not any(
        str(settings.get(k, "N")).upper() == "Y" for k in ("LEAD", "CONTACT", "COMPANY", "DEAL")
    ):
        settings["LEAD"] = "Y"  # "If none of the options are provided, the link to leads is enabled"
    return settings


def full_name(raw: str) -> str:
    """``MANAGER_NOTE`` and ``UF_MANAGER_NOTE`` become ``UF_CRM_MANAGER_NOTE``; lower case is raised."""
    name = raw.strip().upper()
    if name.startswith("UF_CRM_"):
        return name
    return "UF_CRM_" + (name[3:] if name.startswith("UF_") else name)


def _lang_map(value: Any, fallback: dict[str, str] | None) -> dict[str, str]:
    """A label given as a string is set for every language; a per-language map keeps the languages
    given and takes ``fallback`` (LABEL on add, '' on update) for the others."""
    if isinstance(value, dict):
        base = dict(fallback or {lang: "" for lang in defaults.LANGUAGES})
        base.update({str(k): str(v) for k, v in value.items()})
        return base
    return {lang: str(value) for lang in defaults.LANGUAGES}


def _flag(value: Any) -> bool:
    return str(value).upper() in ("Y", "1", "TRUE")


def _xml_ids_unique(items: list[dict[str, Any]]) -> None:
    seen: set[str] = set()
    for item in items:
        xml_id = str(item["XML_ID"])
        if xml_id in seen:
            raise B24Error(400, "ERROR_CORE", f"List item with XML_ID={xml_id} already exists.")
        seen.add(xml_id)


def userfield_add(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    given = pick(params, "fields")
    if not isinstance(given, dict):
        raise B24Error(400, "", "Parameter 'fields' must be array.")
    if not str(given.get("FIELD_NAME") or "").strip():
        raise B24Error(400, "", "The 'FIELD_NAME' field is not found.")
    name = full_name(str(given["FIELD_NAME"]))
    if len(name) > 50:
        raise B24Error(400, "ERROR_CORE", "Field name is too long (more than 50 characters).")
    if not _UF_NAME.match(name):
        raise B24Error(
            400,
            "ERROR_CORE",
            "Field name contains invalid characters. Allowed characters are: A-Z, 0-9 and _.",
        )
    utype = str(given.get("USER_TYPE_ID") or "")
    if not utype:
        raise B24Error(400, "", "The 'USER_TYPE_ID' field is not found.")
    if utype not in UF_TYPES:
        raise B24Error(400, "ERROR_CORE", "Invalid custom type specified.")
    if ctx.state.userfield(entity, name) is not None:
        raise B24Error(400, "ERROR_CORE", f"A field with the name {name} already exists.")
    default_label = given.get("LABEL")
    base = _lang_map(default_label, None) if default_label not in (None, "") else None
    labels = {}
    for key in LABEL_KEYS:
        if given.get(key) not in (None, ""):
            labels[key] = _lang_map(given[key], base)
        elif base is not None:
            labels[key] = dict(base)
    uf = UserField(
        id=ctx.state.next_id("userfield"),
        entity=entity,
        field_name=name,
        user_type_id=utype,
        labels=labels,
        xml_id=str(given.get("XML_ID") or ""),
        sort=_positive(given.get("SORT"), 100),
        multiple=_flag(given.get("MULTIPLE", "N")) and utype != "boolean",
        mandatory=_flag(given.get("MANDATORY", "N")),
        show_filter="Y" if _flag(given.get("SHOW_FILTER", "N")) else "N",
        show_in_list="Y" if _flag(given.get("SHOW_IN_LIST", "N")) else "N",
        edit_in_list="N" if str(given.get("EDIT_IN_LIST", "Y")).upper() == "N" else "Y",
        is_searchable="Y" if _flag(given.get("IS_SEARCHABLE", "N")) else "N",
        settings=_settings(utype, given.get("SETTINGS")),
    )
    if utype == "enumeration":
        _merge_items(uf, _items(given.get("LIST")), ctx)
    ctx.state.userfields[uf.id] = uf
    return Answer(uf.id, records=1)


def _positive(value: Any, default: int) -> int:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def _items(raw: Any) -> list[dict[str, Any]]:
    if isinstance(raw, dict):
        raw = list(raw.values())
    return [i for i in (raw or []) if isinstance(i, dict)]


def _merge_items(uf: UserField, given: list[dict[str, Any]], ctx: Ctx) -> None:
    """New items (no ID) are appended; an item with ID changes, or goes with ``DEL: "Y"``; items not
    mentioned stay. Empty VALUEs are ignored. XML_IDs must stay unique within the field."""
    items = [dict(i) for i in uf.items]
    for item in given:
        if item.get("ID"):
            current = next((i for i in items if str(i["ID"]) == str(item["ID"])), None)
            if current is None:
                continue
            if _flag(item.get("DEL", "N")):
                items.remove(current)
            else:
                current.update({k: item[k] for k in ("VALUE", "XML_ID", "SORT") if k in item})
                if "DEF" in item:
                    current["DEF"] = "Y" if _flag(item["DEF"]) else "N"
        elif str(item.get("VALUE") or "").strip():
            enum_id = ctx.state.next_id("enum")
            digest = hashlib.md5(f"{uf.field_name}:{enum_id}".encode(), usedforsecurity=False).hexdigest()
            items.append(
                {
                    "ID": enum_id,
                    "VALUE": str(item["VALUE"]),
                    "XML_ID": str(item.get("XML_ID") or digest),
                    "SORT": max(0, int(str(item.get("SORT") or 0))),
                    "DEF": "Y" if _flag(item.get("DEF", "N")) else "N",
                }
            )
    _xml_ids_unique(items)
    if not uf.multiple:  # only the first DEF=Y counts for a single-value field
        first = next((i for i in items if i["DEF"] == "Y"), None)
        for i in items:
            i["DEF"] = "Y" if i is first else "N"
    uf.items = items


def _uf(entity: str, ctx: Ctx, params: dict[str, Any]) -> UserField:
    try:
        uf_id = int(str(pick(params, "id")))
    except (TypeError, ValueError):
        uf_id = 0
    if uf_id <= 0:
        raise B24Error(400, "", "ID is not defined or invalid")
    uf = ctx.state.userfields.get(uf_id)
    if uf is None:
        raise B24Error(400, "ERROR_NOT_FOUND", f"The entity with ID '{uf_id}' is not found")
    if uf.entity != entity:
        raise B24Error(403, "", "Access denied")
    return uf


def userfield_get(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    return Answer(_uf(entity, ctx, params).render())


def userfield_list(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    filters = dict(need_dict(params, "filter", pick(params, "filter")))
    language = next((str(filters.pop(k)) for k in list(filters) if str(k).upper() == "LANG"), None)
    order = need_dict(params, "order", pick(params, "order")) or {"SORT": "ASC", "ID": "ASC"}
    rows = [
        uf.render(language=language, with_labels=language is not None)
        for uf in ctx.state.userfields.values()
        if uf.entity == entity
    ]
    rows = [r for r in rows if matches(r, filters, lambda row, n: row.get(n))]
    sort_rows(rows, order, lambda r, n: r.get(n))
    # a list method like any other: 50 a page, ``next`` while more follow, ``start`` to go on
    # (crm-deal-userfield-list.md answers ``total``; its JS example pages with fetchListMethod)
    return page(rows, pick(params, "start"), lambda r: r)


def userfield_update(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    uf = _uf(entity, ctx, params)
    given = pick(params, "fields")
    if not isinstance(given, dict):
        raise B24Error(400, "", "Parameter 'fields' must be array")
    for key in LABEL_KEYS:
        if key in given:
            uf.labels[key] = _lang_map(given[key], None)
    if "SORT" in given:
        uf.sort = _positive(given["SORT"], uf.sort)
    if "MANDATORY" in given:
        uf.mandatory = _flag(given["MANDATORY"])
    for key in ("SHOW_FILTER", "SHOW_IN_LIST", "EDIT_IN_LIST", "IS_SEARCHABLE"):
        if key in given:
            setattr(uf, key.lower(), "Y" if _flag(given[key]) else "N")
    if "XML_ID" in given:
        uf.xml_id = str(given["XML_ID"] or "")
    if isinstance(given.get("SETTINGS"), dict):
        uf.settings.update(given["SETTINGS"])  # "The field only overwrites the passed values"
    if uf.user_type_id == "enumeration" and "LIST" in given:
        _merge_items(uf, _items(given["LIST"]), ctx)
    return Answer(True, records=1)


def userfield_delete(entity: str, ctx: Ctx, params: dict[str, Any]) -> Answer:
    uf = _uf(entity, ctx, params)
    del ctx.state.userfields[uf.id]
    for row in ctx.state.records[entity].values():
        row.pop(uf.field_name, None)
    ctx.state.sequences[f"version:{entity}"] = ctx.state.sequences.get(f"version:{entity}", 0) + 1
    return Answer(True)
