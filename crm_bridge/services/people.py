"""The people of the config (``head``, ``managers``, ``curators``) against the CRM's user directory:
does every configured ``crm_user_id`` name a user of the CRM, and is that user active? Used by
``crm-bridge doctor`` (one line per problem, naming the config key and the id) and ``crm-bridge users``
(which config roles use each CRM user)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crm_bridge.ports import CrmUser, HealthCheck


@dataclass(frozen=True, slots=True)
class ConfiguredPerson:
    """One person of the config: ``key`` is the config path of its id (``managers[1].crm_user_id``);
    ``required_active`` is False for a manager switched off in the config (``active: false``)."""

    key: str
    role: str  # "head", "manager anna", "curator dmitry"
    name: str
    crm_user_id: str
    required_active: bool = True


def configured_people(settings: Any) -> list[ConfiguredPerson]:
    people: list[ConfiguredPerson] = []
    if settings.head is not None:
        people.append(
            ConfiguredPerson("head.crm_user_id", "head", settings.head.name, settings.head.crm_user_id)
        )
    for i, m in enumerate(settings.managers):
        people.append(
            ConfiguredPerson(
                f"managers[{i}].crm_user_id", f"manager {m.key}", m.name, m.crm_user_id, m.active
            )
        )
    for i, c in enumerate(settings.curators):
        people.append(
            ConfiguredPerson(f"curators[{i}].crm_user_id", f"curator {c.key}", c.name, c.crm_user_id)
        )
    return people


def people_checks(people: Sequence[ConfiguredPerson], users: Sequence[CrmUser]) -> list[HealthCheck]:
    """One failed check per configured id that names no CRM user, or a deactivated one; else one
    passed check summing up."""
    by_id = {u.crm_id: u for u in users}
    failed: list[HealthCheck] = []
    for person in people:
        user = by_id.get(str(person.crm_user_id))
        if user is None:
            detail = (
                f"{person.role} ({person.name}): the CRM has no user with id {person.crm_user_id}; "
                "pick one from `crm-bridge users`"
            )
            failed.append(HealthCheck(person.key, False, detail))
        elif person.required_active and not user.active:
            detail = (
                f"{person.role} ({person.name}): CRM user {person.crm_user_id} ({user.name}) is deactivated; "
                "pick an active one from `crm-bridge users`"
            )
            failed.append(HealthCheck(person.key, False, detail))
    if failed or not people:
        return failed
    return [HealthCheck("people", True, f"all {len(people)} configured user ids are active CRM users")]


def roles_by_user(people: Sequence[ConfiguredPerson]) -> dict[str, list[str]]:
    """CRM user id -> the config roles using it (``crm-bridge users`` shows them)."""
    roles: dict[str, list[str]] = {}
    for person in people:
        roles.setdefault(str(person.crm_user_id), []).append(person.role)
    return roles
