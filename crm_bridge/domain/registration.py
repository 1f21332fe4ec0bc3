"""Deal registration and channel conflict: normalising a customer's e-mail, phone and tax id (ИНН), and
deciding which partner owns a customer (first registrant wins within the protection window).

The one home of three rules every intake path applies (CSV import, HTTP API, the Telegram bot, the
partner portal, all through ``services.intake.fields.check_lead_fields``): what a valid e-mail, phone
and tax id are (``normalise_*``), and what makes two registrations the same customer
(``same_customer``; the store's candidate queries mirror it)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm_bridge.domain.model import IDENTITY_KINDS, CustomerIdentity
from crm_bridge.texts import words

_NOT_DIGIT = re.compile(r"\D")
_PHONE_CHARS = re.compile(r"^\+?[\d\s\-().\u00a0]+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_INN10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_INN12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


class IdentityError(ValueError):
    """One part of a customer's identity is not valid: ``field`` (email, phone or tax_id) and
    ``problem`` (English, never quoting the value: it is personal data)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def normalise_email(raw: str) -> str:
    """Strip and lower-case; ``""`` stays ``""``. Dots and ``+tags`` are kept (they may be distinct
    mailboxes outside Gmail). IdentityError (without the address) when it is not an e-mail."""
    email = raw.strip().lower()
    if email and not _EMAIL.match(email):
        raise IdentityError("email", "is not an e-mail address (expected name@domain.tld)")
    return email


def normalise_phone(raw: str, default_country_code: str = "+7") -> str:
    """To E.164 (``+79161234567``); ``""`` stays ``""``. A number without ``+``/``00`` gets
    ``default_country_code``; with ``+7``, Russian ``8XXXXXXXXXX`` and ``7XXXXXXXXXX`` are understood,
    elsewhere a national trunk ``0`` is dropped. The result must have 8 to 15 digits with the country
    code (E.164 allows at most 15), and only digits, spaces, dashes, dots, brackets and a leading ``+``
    may be written. IdentityError (without the number) when it is not one; ValueError for a malformed
    ``default_country_code`` (a config error, checked where the config is parsed)."""
    text = raw.strip()
    if not text:
        return ""
    if not re.fullmatch(r"\+\d{1,3}", default_country_code):
        raise ValueError(f"default country code {default_country_code!r} must look like +7 or +49")
    if not _PHONE_CHARS.match(text):
        raise IdentityError("phone", "may contain only digits, spaces, dashes, brackets and a leading +")
    digits = _NOT_DIGIT.sub("", text)
    code = default_country_code[1:]
    if text.startswith("+"):
        full = digits
    elif digits.startswith("00"):
        full = digits[2:]
    elif code == "7" and len(digits) == 11 and digits[0] in "78":
        full = "7" + digits[1:]
    else:
        full = code + digits.lstrip("0")
    if not 8 <= len(full) <= 15 or full.startswith("0"):
        raise IdentityError("phone", "is not a phone number (expected 8 to 15 digits with the country code)")
    return "+" + full


def inn_checksum_ok(inn: str) -> bool:
    """The ИНН control digits (10 digits: one, 12 digits: two) are right."""
    if not inn.isdigit() or len(inn) not in (10, 12):
        return False
    d = [int(c) for c in inn]

    def control(weights: tuple[int, ...]) -> int:
        return sum(w * x for w, x in zip(weights, d, strict=False)) % 11 % 10

    if len(d) == 10:
        return control(_INN10) == d[9]
    return control(_INN11) == d[10] and control(_INN12) == d[11]


def normalise_tax_id(raw: str, *, inn: bool = True, checksum: bool = False) -> str:
    """Digits only (``"77 07-083893"`` -> ``"7707083893"``); ``""`` stays ``""``. With ``inn`` the
    length must be 10 (organisation) or 12 (individual); with ``checksum`` the control digits too."""
    text = raw.strip()
    if not text:
        return ""
    if not re.fullmatch(r"[\d\s\-.]+", text):
        raise IdentityError("tax_id", "may contain only digits, spaces and dashes")
    digits = _NOT_DIGIT.sub("", text)
    if inn and len(digits) not in (10, 12):
        raise IdentityError("tax_id", f"an ИНН has 10 or 12 digits, this one has {len(digits)}")
    if inn and checksum and not inn_checksum_ok(digits):
        raise IdentityError("tax_id", "the ИНН control digits do not match (a typo?)")
    return digits


def normalise_identity(
    identity: CustomerIdentity,
    default_country_code: str = "+7",
    *,
    inn: bool = True,
    inn_checksum: bool = False,
) -> CustomerIdentity:
    """All three parts normalised; the first invalid part raises IdentityError naming the field."""
    return CustomerIdentity(
        email=normalise_email(identity.email),
        phone=normalise_phone(identity.phone, default_country_code),
        tax_id=normalise_tax_id(identity.tax_id, inn=inn, checksum=inn_checksum),
    )


def identity_problems(
    identity: CustomerIdentity,
    default_country_code: str = "+7",
    *,
    inn: bool = True,
    inn_checksum: bool = False,
) -> list[IdentityError]:
    """Every invalid part of ``identity`` (not only the first), by ``normalise_identity``'s rules."""
    problems: list[IdentityError] = []
    checks = (
        (normalise_email, identity.email),
        (lambda raw: normalise_phone(raw, default_country_code), identity.phone),
        (lambda raw: normalise_tax_id(raw, inn=inn, checksum=inn_checksum), identity.tax_id),
    )
    for check, raw in checks:
        try:
            check(raw)
        except IdentityError as exc:
            problems.append(exc)
    return problems


@dataclass(frozen=True, slots=True)
class RegistrationRecord:
    """One partner's registration of a customer. ``customer`` must already be normalised.
    ``progress_at`` is the last time the lead moved (stage change, touch); None = never since
    registration. ``conflict`` registrations were refused and never own a customer."""

    partner_id: str
    customer: CustomerIdentity
    registered_at: datetime
    progress_at: datetime | None = None
    external_id: str = ""
    conflict: bool = False

    def protected_until(self, window_days: int, expiry_days: int) -> datetime:
        """When this registration stops protecting its customer: the end of the protection window or
        ``expiry_days`` after the last progress, whichever comes first."""
        window_end = self.registered_at + timedelta(days=window_days)
        lapse = (self.progress_at or self.registered_at) + timedelta(days=expiry_days)
        return min(window_end, lapse)

    def expired_for_lack_of_progress(self, window_days: int, expiry_days: int, now: datetime) -> bool:
        """Lapsed because nothing happened for ``expiry_days`` (not because the window ran out)."""
        window_end = self.registered_at + timedelta(days=window_days)
        lapse = (self.progress_at or self.registered_at) + timedelta(days=expiry_days)
        return lapse <= now and lapse < window_end


@dataclass(frozen=True, slots=True)
class RegistrationDecision:
    """``conflict`` when another partner owns the customer; ``owner_partner_id`` is who owns it
    (the new registrant when there is no conflict). ``matched_on`` lists identity kinds that matched
    (email, phone, tax_id); ``owner_registration`` the winning earlier registration, if any.
    ``reason`` is English text free of personal data, fit for a CRM comment or a log line."""

    conflict: bool
    owner_partner_id: str
    reason: str
    matched_on: tuple[str, ...] = ()
    owner_registration: RegistrationRecord | None = None
    protected_until: datetime | None = None
    lapsed: tuple[RegistrationRecord, ...] = ()  # matching registrations that no longer protect


def same_customer(a: CustomerIdentity, b: CustomerIdentity) -> tuple[str, ...]:
    """The identity kinds (``IDENTITY_KINDS`` order) on which normalised ``a`` and ``b`` agree; not
    empty means they are the same customer. Empty parts never match."""
    return tuple(kind for kind in IDENTITY_KINDS if getattr(a, kind) and getattr(a, kind) == getattr(b, kind))


def check_registration(
    new: RegistrationRecord,
    existing: Iterable[RegistrationRecord],
    window_days: int,
    expiry_days: int,
    now: datetime,
    *,
    locale: str = "en",
) -> RegistrationDecision:
    """Who owns ``new.customer`` at ``now``. The earliest still-protecting registration of the same
    customer (any of e-mail, phone or tax id equal) wins; if it is another partner's, ``new`` is a
    channel conflict. Registrations past their window or ``expiry_days`` without progress free the
    customer (returned in ``lapsed`` so the caller can say so). Identities must be normalised. The
    reason is written in ``locale``."""
    t = words("registration", locale)
    if window_days < 1 or expiry_days < 1:
        raise ValueError("window_days and expiry_days must be at least 1")
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if new.customer.is_empty():
        return RegistrationDecision(False, new.partner_id, t["not_checked"])
    owner: RegistrationRecord | None = None
    owner_match: tuple[str, ...] = ()
    lapsed: list[RegistrationRecord] = []
    for reg in existing:
        if reg.conflict or (reg.external_id and reg.external_id == new.external_id):
            continue
        matched = same_customer(new.customer, reg.customer)
        if not matched or reg.registered_at > now:
            continue
        if reg.protected_until(window_days, expiry_days) <= now:
            lapsed.append(reg)
            continue
        key = (reg.registered_at, reg.partner_id, reg.external_id)
        if owner is None or key < (owner.registered_at, owner.partner_id, owner.external_id):
            owner, owner_match = reg, matched
    if owner is None:
        reason = t["new"]
        if lapsed:
            reason = t["free_again"].format(who=", ".join(sorted({r.partner_id for r in lapsed})))
        return RegistrationDecision(False, new.partner_id, reason, lapsed=tuple(lapsed))
    until = owner.protected_until(window_days, expiry_days)
    on = t["and"].join(t[k] for k in owner_match)
    when = t["when"].format(registered=f"{owner.registered_at:%Y-%m-%d}", until=f"{until:%Y-%m-%d}")
    if owner.partner_id == new.partner_id:
        reason = t["own"].format(partner=new.partner_id, on=on, when=when)
        return RegistrationDecision(False, new.partner_id, reason, owner_match, owner, until, tuple(lapsed))
    reason = t["conflict"].format(owner=owner.partner_id, on=on, when=when)
    return RegistrationDecision(True, owner.partner_id, reason, owner_match, owner, until, tuple(lapsed))
