"""Building a fresh portal: the default funnel with its stages, lead statuses, the other crm.status
directories and three employees; and the stages every new deal funnel gets.
"""

from __future__ import annotations

from typing import Any

from crm_bridge_bitrix24.sandbox import defaults as defaults
from crm_bridge_bitrix24.sandbox.state import (
    Category,
    PortalState,
    deal_stage_entity,
    fmt_date,
    fmt_time,
    stage_prefix,
)


def add_funnel_stages(state: PortalState, category_id: int) -> None:
    """The stages Bitrix24 creates with a deal funnel: the default set, prefixed ``C<id>:`` and cut
    to the directory's code length (``C10:PREPAYMENT_INVOIC``)."""
    prefix = stage_prefix(category_id)
    entity_id = deal_stage_entity(category_id)
    limit = defaults.code_max(entity_id)
    for code, ru, en, sort, semantics, system, color in defaults.DEAL_STAGES:
        name = defaults.name_in(state.language, ru, en)
        stage_code = (prefix + code)[:limit]
        state.add_status(
            entity_id, stage_code, name, sort, semantics, system=system, category_id=category_id, color=color
        )


def new_portal(now: float, language: str = "ru") -> PortalState:
    """A fresh portal: the default deal funnel 0 with its stages, lead statuses, the other default
    directories and three employees (the admin who owns the webhook, and two more)."""
    state = PortalState(language=language)
    state.categories[0] = Category(0, defaults.DEFAULT_FUNNEL_NAME.get(language, "General"), 500, True)
    add_funnel_stages(state, 0)
    for code, ru, en, sort, semantics, system, color in defaults.LEAD_STATUSES:
        name = defaults.name_in(language, ru, en)
        state.add_status("STATUS", code, name, sort, semantics, system=system, color=color)
    for entity_id, _, _, rows in defaults.DIRECTORIES:
        for index, (code, ru, en) in enumerate(rows, start=1):
            state.add_status(entity_id, code, defaults.name_in(language, ru, en), index * 10, system=True)
    for user_id, name, last, email in (
        (1, "Анна", "Админова", "admin@example.ru"),
        (2, "Иван", "Петров", "petrov@example.ru"),
        (3, "Мария", "Смирнова", "smirnova@example.ru"),
    ):
        state.users[user_id] = new_user(user_id, name, last, email, now)
    state.sequences["user"] = 3
    sales = "Отдел продаж" if language == "ru" else "Sales Department"
    company = "Компания" if language == "ru" else "Company"
    state.departments = [
        {"ID": "1", "NAME": company, "SORT": 500, "UF_HEAD": "1"},
        {"ID": "2", "NAME": sales, "SORT": 500, "PARENT": "1", "UF_HEAD": "2"},
    ]
    return state


def new_user(
    user_id: int, name: str, last_name: str, email: str, now: float, active: bool = True
) -> dict[str, Any]:
    """A user as user.get answers (api-reference/user/user-get.md, its first example user)."""
    return {
        "ID": str(user_id),
        "ACTIVE": active,
        "NAME": name,
        "LAST_NAME": last_name,
        "SECOND_NAME": "",
        "EMAIL": email,
        "LAST_LOGIN": fmt_time(now),
        "DATE_REGISTER": fmt_date(now),
        "TIME_ZONE": "Europe/Moscow",
        "IS_ONLINE": "N",
        "TIMESTAMP_X": {},  # the docs' example shows these two date fields as empty objects
        "LAST_ACTIVITY_DATE": {},
        "PERSONAL_GENDER": "",
        "PERSONAL_WWW": "",
        "PERSONAL_BIRTHDAY": "",
        "PERSONAL_MOBILE": "",
        "PERSONAL_CITY": "",
        "WORK_PHONE": "",
        "WORK_POSITION": "",
        "UF_EMPLOYMENT_DATE": "",
        "UF_DEPARTMENT": [1] if user_id == 1 else [2],
        "USER_TYPE": "employee",
    }
