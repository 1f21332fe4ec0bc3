"""The words of a deal-registration decision's reason (who owns the customer, and why), as the CRM
lead's comment and the channel-conflict notification show it; filled by
``crm_bridge.domain.registration``."""

from __future__ import annotations

_EN: dict[str, str] = {
    "email": "e-mail",
    "phone": "phone",
    "tax_id": "tax id",
    "and": " and ",
    "not_checked": "no e-mail, phone or tax id to compare: not checked",
    "new": "new customer: no other partner's registration protects it",
    "free_again": "customer free again: earlier registration(s) by {who} lapsed",
    "when": "{registered}, protected until {until}",
    "own": "partner {partner} already registered this customer ({on}) on {when}",
    "conflict": "channel conflict: partner {owner} registered this customer ({on}) first, on {when}",
}

_RU: dict[str, str] = {
    "email": "эл. почта",
    "phone": "телефон",
    "tax_id": "ИНН",
    "and": " и ",
    "not_checked": "нет эл. почты, телефона или ИНН для сравнения: не проверялось",
    "new": "новый клиент: его не защищает регистрация другого партнёра",
    "free_again": "клиент снова свободен: прежние регистрации партнёров {who} истекли",
    "when": "{registered} (регистрация действует до {until})",
    "own": "партнёр {partner} уже зарегистрировал этого клиента ({on}) {when}",
    "conflict": "конфликт каналов: партнёр {owner} первым зарегистрировал этого клиента ({on}) {when}",
}

TEXT: dict[str, dict[str, str]] = {"en": _EN, "ru": _RU}
