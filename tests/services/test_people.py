"""The config's people against the CRM's user directory (``crm-bridge doctor``, ``crm-bridge users``):
one line per configured id that names no CRM user or a deactivated one, naming the config key, the
role, the person and the id; a manager switched off in the config may be a deactivated user."""

from __future__ import annotations

from typing import Any

from crm_bridge.config import parse_settings
from crm_bridge.ports import CrmUser, HealthCheck
from crm_bridge.services.people import ConfiguredPerson, configured_people, people_checks, roles_by_user

CONFIG: dict[str, Any] = {
    "crm": {"kind": "bitrix24", "bitrix24": {"webhook_url": "${B24_WEBHOOK_URL}"}},
    "head": {"name": "Ирина", "crm_user_id": "1"},
    "managers": [
        {"key": "oleg", "name": "Олег", "crm_user_id": "8"},
        {"key": "pavel", "name": "Павел", "crm_user_id": "9", "active": False},
    ],
    "curators": [{"key": "anna", "name": "Анна", "crm_user_id": "8"}],
}
ENV = {"B24_WEBHOOK_URL": "https://b24.example.ru/rest/1/abcdef123456/"}


def test_every_configured_person_is_listed_with_its_config_key_and_role() -> None:
    people = configured_people(parse_settings(CONFIG, ENV))

    assert people == [
        ConfiguredPerson("head.crm_user_id", "head", "Ирина", "1"),
        ConfiguredPerson("managers[0].crm_user_id", "manager oleg", "Олег", "8", True),
        ConfiguredPerson("managers[1].crm_user_id", "manager pavel", "Павел", "9", False),
        ConfiguredPerson("curators[0].crm_user_id", "curator anna", "Анна", "8", True),
    ]
    assert roles_by_user(people) == {
        "1": ["head"],
        "8": ["manager oleg", "curator anna"],
        "9": ["manager pavel"],
    }
    no_head = configured_people(parse_settings({k: v for k, v in CONFIG.items() if k != "head"}, ENV))
    assert [p.role for p in no_head] == ["manager oleg", "manager pavel", "curator anna"]


def test_an_unknown_or_deactivated_user_is_one_failed_line_each() -> None:
    people = configured_people(parse_settings(CONFIG, ENV))
    users = [CrmUser("1", "Ирина", active=False), CrmUser("9", "Павел", active=False)]

    assert people_checks(people, users) == [
        HealthCheck(
            "head.crm_user_id",
            False,
            "head (Ирина): CRM user 1 (Ирина) is deactivated; pick an active one from `crm-bridge users`",
        ),
        HealthCheck(
            "managers[0].crm_user_id",
            False,
            "manager oleg (Олег): the CRM has no user with id 8; pick one from `crm-bridge users`",
        ),
        HealthCheck(
            "curators[0].crm_user_id",
            False,
            "curator anna (Анна): the CRM has no user with id 8; pick one from `crm-bridge users`",
        ),
    ]


def test_all_known_and_active_is_one_passed_line_and_no_people_no_line() -> None:
    people = configured_people(parse_settings(CONFIG, ENV))
    users = [CrmUser("1", "Ирина"), CrmUser("8", "Олег"), CrmUser("9", "Павел", active=False)]

    assert people_checks(people, users) == [
        HealthCheck("people", True, "all 4 configured user ids are active CRM users")
    ]
    assert people_checks([], users) == []
