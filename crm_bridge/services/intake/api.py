"""The partner intake API as a use case: authenticate the partner's key, check the JSON body, register
the lead (the channel conflict decided in the store) and queue it — answered at once, without waiting
for the CRM; the daemon's intake writer creates queued leads in the CRM's batches. ``status`` tells a
partner what became of a registration (queued, created with the CRM id, failed). Returns ``ApiAnswer``s
the daemon's HTTP port turns into responses (``crm_bridge.web.intake``; its models generate
``/openapi.json``):

* ``accepted`` (202): registered and queued; ``registration_id`` + ``status_url`` to ask later;
* ``existing`` (200): the same submission again (idempotency key or same body): its current state;
* ``found`` (200): ``GET /v1/leads/{registration_id}``; ``not_found`` (404) for another partner's id."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from crm_bridge.budgets import Bucket
from crm_bridge.errors import CrmBridgeError, CrmError, CrmRetriableError
from crm_bridge.services.intake.fields import FIELDS
from crm_bridge.services.intake.group import GroupCommit
from crm_bridge.services.intake.keys import ApiKeys, key_id_of
from crm_bridge.services.intake.service import IntakeOutcome, IntakeService, LeadSubmission, content_key
from crm_bridge.services.intake.throttle import AuthThrottle, FailureBuckets

log = logging.getLogger("crm_bridge.intake.api")

MAX_IDEMPOTENCY_KEY = 200


@dataclass(frozen=True, slots=True)
class ApiAnswer:
    """``kind``: accepted | existing | found | not_found | invalid | unauthorized | throttled |
    rate_limited | refused | unavailable."""

    kind: str
    body: dict[str, Any]
    retry_after: int | None = None


def _problem(kind: str, error: str, message: str, problems: list[dict[str, str]] | None = None) -> ApiAnswer:
    body: dict[str, Any] = {"error": error, "message": message}
    if problems:
        body["problems"] = problems
    return ApiAnswer(kind, body)


@dataclass(frozen=True, slots=True)
class FloodLimit:
    """``per_minute`` requests per partner key (a leaky bucket in the state store, shared by every
    replica; bursts up to ``per_minute``). ``take_each`` answers 0 or the whole seconds to wait."""

    buckets: FailureBuckets
    per_minute: int

    def take_each(self, key_ids: Sequence[str], now: datetime) -> list[int]:
        """One request of each key in ``key_ids`` (in order, one transaction): 0 when it is within the
        key's limit, else the whole seconds until it would be."""
        capacity, drain = float(self.per_minute), self.per_minute / 60.0
        buckets = [Bucket(f"intake-rate:key:{k}", capacity, drain) for k in key_ids]
        waits = self.buckets.take_each(buckets, now.timestamp())
        return [0 if w <= 0 else max(1, math.ceil(w)) for w in waits]


@dataclass(frozen=True, slots=True)
class _Pending:
    """A request with a valid key, waiting for its group: ``submission`` None when the body is bad."""

    key_id: str
    submission: LeadSubmission | None
    now: datetime


class _FloodError(Exception):
    """The flood limit could not be counted (the store's error is the cause)."""


@dataclass
class IntakeApi:
    keys: ApiKeys
    service: IntakeService
    clock: Callable[[], datetime]
    throttle: AuthThrottle | None = None  # failed key attempts per client address and key id
    on_auth_refused: Callable[[str], None] = lambda outcome: None  # "unauthorized" | "throttled" (metrics)
    counters: dict[str, int] = field(default_factory=dict)  # answers by kind (for /metrics)
    flood: FloodLimit | None = None  # requests per valid key (a partner's script in a loop)
    _group: GroupCommit[_Pending, tuple[int, IntakeOutcome | None]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._group = GroupCommit(self._write_group)

    def submit(
        self, api_key: str | None, payload: Any, idempotency_key: str | None, client: str | None = None
    ) -> ApiAnswer:
        """``client``: the caller's network address (failed key attempts are throttled per address)."""
        answer = self._submit(api_key, payload, idempotency_key, client)
        self.counters[answer.kind] = self.counters.get(answer.kind, 0) + 1
        return answer

    def _submit(
        self, api_key: str | None, payload: Any, idempotency_key: str | None, client: str | None
    ) -> ApiAnswer:
        now = self.clock()
        key_id = key_id_of(api_key or "")
        partner_id = self._partner(api_key, key_id, client, now)
        if isinstance(partner_id, ApiAnswer):
            return partner_id
        sub, invalid = self._checked(partner_id, payload, idempotency_key)
        try:
            wait, outcome = self._group(_Pending(key_id, sub, now))
        except _FloodError as exc:
            log.error("intake: cannot count the key's requests: %s", exc.__cause__)
            return ApiAnswer("unavailable", {"error": "unavailable", "message": "try again later"}, 30)
        except CrmRetriableError as exc:  # the partner lookup could not reach the CRM
            wait = int(exc.retry_after) if exc.retry_after else 30
            log.warning("intake: CRM unavailable: %s", exc)
            return ApiAnswer(
                "unavailable", {"error": "unavailable", "message": "the CRM is busy; retry"}, max(1, wait)
            )
        except CrmError as exc:
            log.error("intake: CRM error: %s", exc)
            return ApiAnswer(
                "unavailable", {"error": "unavailable", "message": "the CRM is not reachable"}, 60
            )
        except CrmBridgeError as exc:
            log.error("intake: %s", exc)
            return ApiAnswer("unavailable", {"error": "unavailable", "message": "try again later"}, 30)
        if wait:
            message = f"more than {self.flood.per_minute if self.flood else 0} leads a minute from this key"
            return ApiAnswer("rate_limited", {"error": "too_many_requests", "message": message}, wait)
        if invalid is not None or sub is None or outcome is None:
            return invalid or _problem("invalid", "invalid_request", "the lead is not valid")
        if outcome.status == "rejected":
            return _problem(
                "invalid", "invalid_request", outcome.error, [{"field": "partner", "message": outcome.error}]
            )
        if outcome.status == "failed":
            return _problem("refused", "refused", f"CRM refused the lead: {outcome.refused_because}")
        state = "created" if outcome.lead_crm_id else "queued"
        body = lead_state(outcome.registration_id, sub.external_id, state, outcome)
        return ApiAnswer("accepted" if outcome.status == "queued" else "existing", body)

    def _checked(
        self, partner_id: str, payload: Any, idempotency_key: str | None
    ) -> tuple[LeadSubmission | None, ApiAnswer | None]:
        """The submission of a valid body, or the answer naming every problem."""
        if not isinstance(payload, dict):
            return None, _problem("invalid", "invalid_request", "the body must be a JSON object")
        problems = [{"field": k, "message": "unknown field"} for k in payload if k not in FIELDS]
        fields, field_problems = self.service.check_fields(payload)
        problems += [{"field": p.field, "message": p.message} for p in field_problems]
        if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            problems.append({"field": "Idempotency-Key", "message": f"1 to {MAX_IDEMPOTENCY_KEY} characters"})
        if problems or fields is None:
            message = f"{len(problems)} problem(s) in the lead"
            return None, _problem("invalid", "invalid_request", message, problems)
        if idempotency_key:
            key = content_key("key", idempotency_key)
        else:
            key = content_key("body", *(str(payload.get(name, "")).strip() for name in FIELDS))
        return LeadSubmission(f"api:{partner_id}:{key}", partner_id, fields, "api"), None

    def _write_group(self, pending: Sequence[_Pending]) -> list[tuple[int, IntakeOutcome | None]]:
        """The requests of partners arriving together: counted against their keys' flood limits in one
        transaction (a bad body counts too: a script in a loop is held back either way), then the
        valid ones within the limit registered in one transaction (in arrival order)."""
        waits = [0] * len(pending)
        if self.flood is not None:
            try:
                waits = self.flood.take_each([p.key_id for p in pending], max(p.now for p in pending))
            except CrmBridgeError as exc:
                raise _FloodError() from exc
        go = [i for i, p in enumerate(pending) if p.submission is not None and not waits[i]]
        outcomes: dict[int, IntakeOutcome] = {}
        if go:
            subs = [p.submission for i in go if (p := pending[i]).submission is not None]
            registered = self.service.register(subs, now=max(pending[i].now for i in go))
            outcomes = dict(zip(go, registered, strict=True))
        return [(waits[i], outcomes.get(i)) for i in range(len(pending))]

    def _partner(
        self, api_key: str | None, key_id: str, client: str | None, now: datetime
    ) -> str | ApiAnswer:
        """The partner an API key belongs to, or the answer that refuses the request: throttled (too many
        failed attempts from ``client`` or on that key), unauthorized, or unavailable (the store failed)."""
        try:
            held = self.throttle.check(client, key_id) if self.throttle else None
            if held is not None:
                self.on_auth_refused("throttled")
                message = "too many failed API key attempts; retry later"
                return ApiAnswer(
                    "throttled", {"error": "too_many_attempts", "message": message}, held.retry_after
                )
            partner_id = self.keys.verify(api_key, now=now)
            if partner_id is None and self.throttle is not None:
                self.throttle.failed(client, key_id)
        except CrmBridgeError as exc:
            log.error("intake: cannot check the API key: %s", exc)
            return ApiAnswer("unavailable", {"error": "unavailable", "message": "try again later"}, 30)
        if partner_id is None:
            self.on_auth_refused("unauthorized")
            return _problem("unauthorized", "unauthorized", "missing, unknown or revoked API key")
        return partner_id

    def status(self, api_key: str | None, registration_id: str, client: str | None = None) -> ApiAnswer:
        """``GET /v1/leads/{registration_id}``: the partner's own registration, as ``submit`` answers."""
        partner_id = self._partner(api_key, key_id_of(api_key or ""), client, self.clock())
        if isinstance(partner_id, ApiAnswer):
            return partner_id
        try:
            reg = (
                self.service.registration(int(registration_id))
                if registration_id.isdigit() and len(registration_id) < 19
                else None
            )
        except CrmBridgeError as exc:
            log.error("intake: cannot read a registration: %s", exc)
            return ApiAnswer("unavailable", {"error": "unavailable", "message": "try again later"}, 30)
        if reg is None or reg.partner_id != partner_id:  # another partner's lead is not yours to see
            return _problem("not_found", "not_found", f"no lead registration {registration_id} of yours")
        status = {"created": "created", "failed": "failed"}.get(reg.status, "queued")
        body = lead_state(reg.id, reg.external_id, status, reg)
        if reg.status == "failed":
            body["message"] = f"the CRM refused the lead: {reg.error or 'no reason given'}"
        return ApiAnswer("found", body)


def lead_state(registration_id: int | None, external_id: str, status: str, source: Any) -> dict[str, Any]:
    """The JSON a partner sees about one registration (``source``: an outcome or a registration)."""
    body: dict[str, Any] = {
        "registration_id": registration_id,
        "external_id": external_id,
        "status": status,  # queued | created | failed
        "lead_id": getattr(source, "lead_crm_id", None),
        "conflict": bool(getattr(source, "conflict", False)),
        "status_url": f"/v1/leads/{registration_id}",
    }
    if body["conflict"]:
        body["message"] = "this customer is registered by another partner; the lead is flagged for review"
    return body
