"""The standard fields of leads, deals, companies and contacts, in the order ``crm.<entity>.get`` answers
them, with their types (for ``crm.<entity>.fields``, value formatting and filters) and defaults.
Field lists: b24restdocs api-reference/crm/{deals,leads,companies,contacts}/crm-*-get.md and -add.md.
"""

from __future__ import annotations

from typing import Any

from crm_bridge_bitrix24.sandbox.state import MULTI_FIELDS

_UTM = ("UTM_SOURCE", "UTM_MEDIUM", "UTM_CAMPAIGN", "UTM_CONTENT", "UTM_TERM")
_ADDRESS = tuple(
    f"ADDRESS{suffix}"
    for suffix in (
        "",
        "_2",
        "_CITY",
        "_POSTAL_CODE",
        "_REGION",
        "_PROVINCE",
        "_COUNTRY",
        "_COUNTRY_CODE",
        "_LOC_ADDR_ID",
    )
)
_STAMPS = ("ASSIGNED_BY_ID", "CREATED_BY_ID", "MODIFY_BY_ID", "DATE_CREATE", "DATE_MODIFY", "OPENED")

STANDARD: dict[str, tuple[str, ...]] = {
    "deal": (
        "ID",
        "TITLE",
        "TYPE_ID",
        "STAGE_ID",
        "PROBABILITY",
        "CURRENCY_ID",
        "OPPORTUNITY",
        "IS_MANUAL_OPPORTUNITY",
        "TAX_VALUE",
        "LEAD_ID",
        "COMPANY_ID",
        "CONTACT_ID",
        "QUOTE_ID",
        "BEGINDATE",
        "CLOSEDATE",
        *_STAMPS,
        "CLOSED",
        "COMMENTS",
        "ADDITIONAL_INFO",
        "LOCATION_ID",
        "CATEGORY_ID",
        "STAGE_SEMANTIC_ID",
        "IS_NEW",
        "IS_RECURRING",
        "IS_RETURN_CUSTOMER",
        "IS_REPEATED_APPROACH",
        "SOURCE_ID",
        "SOURCE_DESCRIPTION",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "MOVED_BY_ID",
        "MOVED_TIME",
        "LAST_ACTIVITY_TIME",
        *_UTM,
        "LAST_ACTIVITY_BY",
    ),
    "lead": (
        "ID",
        "TITLE",
        "HONORIFIC",
        "NAME",
        "SECOND_NAME",
        "LAST_NAME",
        "COMPANY_TITLE",
        "COMPANY_ID",
        "CONTACT_ID",
        "IS_RETURN_CUSTOMER",
        "BIRTHDATE",
        "SOURCE_ID",
        "SOURCE_DESCRIPTION",
        "STATUS_ID",
        "STATUS_DESCRIPTION",
        "POST",
        "COMMENTS",
        "CURRENCY_ID",
        "OPPORTUNITY",
        "IS_MANUAL_OPPORTUNITY",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_IMOL",
        *_STAMPS[:5],
        "DATE_CLOSED",
        "STATUS_SEMANTIC_ID",
        "OPENED",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "MOVED_BY_ID",
        "MOVED_TIME",
        *_ADDRESS,
        *_UTM,
        "LAST_ACTIVITY_BY",
        "LAST_ACTIVITY_TIME",
    ),
    "company": (
        "ID",
        "COMPANY_TYPE",
        "TITLE",
        "LOGO",
        "LEAD_ID",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_IMOL",
        *_STAMPS[:3],
        "BANKING_DETAILS",
        "INDUSTRY",
        "REVENUE",
        "CURRENCY_ID",
        "EMPLOYEES",
        "COMMENTS",
        *_STAMPS[3:],
        "IS_MY_COMPANY",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "ORIGIN_VERSION",
        *_ADDRESS,
        "ADDRESS_LEGAL",
        *_UTM,
        "LAST_ACTIVITY_BY",
        "LAST_ACTIVITY_TIME",
        "LAST_COMMUNICATION_TIME",
    ),
    "contact": (
        "ID",
        "POST",
        "COMMENTS",
        "HONORIFIC",
        "NAME",
        "SECOND_NAME",
        "LAST_NAME",
        "PHOTO",
        "LEAD_ID",
        "TYPE_ID",
        "SOURCE_ID",
        "SOURCE_DESCRIPTION",
        "COMPANY_ID",
        "BIRTHDATE",
        "EXPORT",
        "HAS_PHONE",
        "HAS_EMAIL",
        "HAS_IMOL",
        "DATE_CREATE",
        "DATE_MODIFY",
        "ASSIGNED_BY_ID",
        "CREATED_BY_ID",
        "MODIFY_BY_ID",
        "OPENED",
        "ORIGINATOR_ID",
        "ORIGIN_ID",
        "ORIGIN_VERSION",
        "FACE_ID",
        "LAST_ACTIVITY_TIME",
        *_ADDRESS,
        *_UTM,
        "LAST_ACTIVITY_BY",
    ),
}
HAS_MULTI_FIELDS = ("lead", "company", "contact")  # deals have no PHONE/EMAIL

READ_ONLY = {
    "ID",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
    "DATE_CREATE",
    "DATE_MODIFY",
    "STAGE_SEMANTIC_ID",
    "STATUS_SEMANTIC_ID",
    "HAS_PHONE",
    "HAS_EMAIL",
    "HAS_IMOL",
    "IS_NEW",
    "MOVED_BY_ID",
    "MOVED_TIME",
    "LAST_ACTIVITY_BY",
    "LAST_ACTIVITY_TIME",
    "LAST_COMMUNICATION_TIME",
    "DATE_CLOSED",
    "FACE_ID",
}
INTEGER = {
    "ID",
    "ASSIGNED_BY_ID",
    "CREATED_BY_ID",
    "MODIFY_BY_ID",
    "CATEGORY_ID",
    "COMPANY_ID",
    "CONTACT_ID",
    "LEAD_ID",
    "QUOTE_ID",
    "PROBABILITY",
    "MOVED_BY_ID",
    "LAST_ACTIVITY_BY",
    "LOCATION_ID",
    "FACE_ID",
}
MONEY = {"OPPORTUNITY", "TAX_VALUE"}
DATES = {"BEGINDATE", "CLOSEDATE", "BIRTHDATE"}
DATETIMES = {
    "DATE_CREATE",
    "DATE_MODIFY",
    "MOVED_TIME",
    "LAST_ACTIVITY_TIME",
    "LAST_COMMUNICATION_TIME",
    "DATE_CLOSED",
}
FLAGS = {
    "OPENED": "Y",
    "CLOSED": "N",
    "IS_MANUAL_OPPORTUNITY": "N",
    "IS_RECURRING": "N",
    "IS_RETURN_CUSTOMER": "N",
    "IS_REPEATED_APPROACH": "N",
    "IS_MY_COMPANY": "N",
    "EXPORT": "Y",
    "HAS_PHONE": "N",
    "HAS_EMAIL": "N",
    "HAS_IMOL": "N",
}
_TYPES = {
    "STAGE_ID": "crm_status",
    "STATUS_ID": "crm_status",
    "TYPE_ID": "crm_status",
    "SOURCE_ID": "crm_status",
    "COMPANY_TYPE": "crm_status",
    "INDUSTRY": "crm_status",
    "EMPLOYEES": "crm_status",
    "HONORIFIC": "crm_status",
    "CURRENCY_ID": "crm_currency",
    "ASSIGNED_BY_ID": "user",
    "CREATED_BY_ID": "user",
    "MODIFY_BY_ID": "user",
    "MOVED_BY_ID": "user",
    "LAST_ACTIVITY_BY": "user",
    "COMPANY_ID": "crm_company",
    "CONTACT_ID": "crm_contact",
    "LEAD_ID": "crm_lead",
    "QUOTE_ID": "crm_quote",
    "CATEGORY_ID": "crm_category",
    "LOCATION_ID": "location",
    "LOGO": "file",
    "PHOTO": "file",
}


def field_type(name: str) -> str:
    if name in _TYPES:
        return _TYPES[name]
    if name in MONEY:
        return "double"
    if name in DATES:
        return "date"
    if name in DATETIMES:
        return "datetime"
    if name in FLAGS or name.endswith("_SEMANTIC_ID"):
        return "char"
    return "integer" if name in INTEGER else "string"


def describe(entity: str, userfields: list[Any]) -> dict[str, Any]:
    """``crm.<entity>.fields``: every field with type and flags; user fields with their labels."""
    out: dict[str, Any] = {}
    names = list(STANDARD[entity]) + (list(MULTI_FIELDS) if entity in HAS_MULTI_FIELDS else [])
    if entity == "deal":
        names.insert(names.index("CONTACT_ID") + 1, "CONTACT_IDS")
    for name in names:
        multi = name in MULTI_FIELDS or name == "CONTACT_IDS"
        out[name] = {
            "type": "crm_multifield" if name in MULTI_FIELDS else field_type(name),
            "isRequired": False,
            "isReadOnly": name in READ_ONLY,
            "isImmutable": name == "CATEGORY_ID",
            "isMultiple": multi,
            "isDynamic": False,
            "title": name,
        }
    for uf in userfields:
        desc: dict[str, Any] = {
            "type": uf.user_type_id,
            "isRequired": uf.mandatory,
            "isReadOnly": False,
            "isImmutable": False,
            "isMultiple": uf.multiple,
            "isDynamic": True,
            "title": uf.field_name,
            "listLabel": uf.label("LIST_COLUMN_LABEL"),
            "formLabel": uf.label("EDIT_FORM_LABEL"),
            "filterLabel": uf.label("LIST_FILTER_LABEL"),
            "settings": uf.settings,
        }
        if uf.user_type_id == "enumeration":
            desc["items"] = [{"ID": str(i["ID"]), "VALUE": i["VALUE"]} for i in uf.items]
        out[uf.field_name] = desc
    return out
