"""LMS webhooks of course completions -> ``Completion``s: a generic JSON shape (published in
the daemon's ``/openapi.json`` by ``crm_bridge.web.training``) and TalentLMS's course-completion
webhook as the worked example.

Generic shape (one completion, or ``{"completions": [...]}`` for several)::

    {"email": "anna@romashka.ru", "name": "Анна Петрова", "partner_id": "101",
     "course_id": "sales-basics", "course_name": "Sales basics",
     "completed_at": "2026-11-05T14:30:00+03:00", "certified": true}

TalentLMS: its webhook posts JSON with the event name and a ``data`` object about the user and the
course. The field names used here (``event``/``data.user.email``/``data.course.id``/``data.completed_at``
…) are our reading of TalentLMS's webhook documentation, which the stored references did not hold; the
parser is this one function, written to refuse clearly (naming the field) rather than guess.

The secret: ``training.webhook_secret``, sent by the LMS as ``Authorization: Bearer <secret>`` or the
``token`` query parameter (TalentLMS lets the admin type the URL, so ``?token=`` works there).
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crm_bridge.domain.training import Completion
from crm_bridge.errors import DataError
from crm_bridge.services.partners.training import TrainingService, parse_moment

MAX_BODY = 256 * 1024
TALENTLMS_COMPLETION_EVENTS = frozenset({"user_completed_course", "course_completed", "course_completion"})


class WebhookRefused(DataError):
    """The webhook is refused: ``status`` is the HTTP answer (400 bad body, 401 secret, 422 data)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message, where="training webhook")
        self.status = status


@dataclass(frozen=True, slots=True)
class WebhookResult:
    received: int
    new: int
    ignored: str = ""  # why nothing was recorded (an event that is not a completion)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"received": self.received, "new": self.new}
        if self.ignored:
            out["ignored"] = self.ignored
        return out


def check_secret(secret: str | None, authorization: str, token: str) -> None:
    """401 unless the request carries the configured secret (constant-time comparison)."""
    if not secret:
        raise WebhookRefused("training.webhook_secret is not configured: the webhook is disabled", 401)
    given = authorization.removeprefix("Bearer ").strip() if authorization.startswith("Bearer ") else token
    if not given or not hmac.compare_digest(given.encode(), secret.encode()):
        raise WebhookRefused("wrong or missing webhook secret", 401)


def _text(data: Mapping[str, Any], *path: str) -> str:
    value: Any = data
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return "" if value is None else str(value).strip()


class TrainingWebhook:
    def __init__(self, service: TrainingService) -> None:
        self.service = service

    def receive(
        self,
        body: bytes,
        *,
        source: str = "generic",
        authorization: str,
        token: str,
        now: datetime | None = None,
    ) -> WebhookResult:
        """Check the secret, parse ``body`` (``source``: generic | talentlms) and store the completions.
        ``authorization`` (the Authorization header) and ``token`` (the ``?token=`` parameter) are what
        the request carried, "" for none: a caller must say, so no default can stand in for a secret.
        Raises ``WebhookRefused`` with the HTTP status to answer; nothing is stored then."""
        secret = self.service.cfg.webhook_secret
        check_secret(secret.get_secret_value() if secret else None, authorization, token)
        return self.ingest(body, source=source, now=now)

    def ingest(self, body: bytes, *, source: str = "generic", now: datetime | None = None) -> WebhookResult:
        """Parse and store a webhook body already trusted (``crm-bridge training webhook FILE`` replays
        a saved one). Raises ``WebhookRefused``; nothing is stored then."""
        if len(body) > MAX_BODY:
            raise WebhookRefused(f"body larger than {MAX_BODY // 1024} KB", 413)
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WebhookRefused(f"the body is not JSON ({exc})") from None
        if not isinstance(data, dict):
            raise WebhookRefused("the body must be a JSON object")
        if source == "talentlms":
            event = _text(data, "event")
            if event not in TALENTLMS_COMPLETION_EVENTS:
                return WebhookResult(0, 0, f"event {event or '(none)'!r} is not a course completion")
            items = [self._talentlms(data, now)]
        elif source == "generic":
            raw = data.get("completions", [data])
            if not isinstance(raw, list) or not raw or not all(isinstance(i, dict) for i in raw):
                raise WebhookRefused("completions: give a non-empty list of completion objects")
            items = [
                self._generic(item, f"completions[{i}]" if "completions" in data else "")
                for i, item in enumerate(raw)
            ]
        else:
            raise WebhookRefused(f"unknown LMS {source!r} (generic, talentlms)", 404)
        try:
            new = self.service.record(items)
        except DataError as exc:
            raise WebhookRefused(exc.reason, 422) from None  # its own "where" would say "training" twice
        return WebhookResult(len(items), new)

    def _completion(
        self, where: str, email: str, partner_id: str, course: str, when: str, **rest: Any
    ) -> Completion:
        prefix = f"{where}." if where else ""
        if "@" not in email:
            raise WebhookRefused(f"{prefix}email: {email!r} is not an e-mail address", 422)
        if not course:
            raise WebhookRefused(f"{prefix}course_id is missing", 422)
        pid = self.service.partner_for(partner_id, email)
        if pid is None:
            raise WebhookRefused(
                f"{prefix}partner_id is missing and the e-mail domain is not in training.partner_domains", 422
            )
        try:
            moment = parse_moment(when, self.service.tz)
        except ValueError as exc:
            raise WebhookRefused(f"{prefix}completed_at: {exc}", 422) from None
        return Completion(
            pid,
            email,
            course,
            moment,
            rest.get("name", ""),
            rest.get("course_name", ""),
            self.service.certifies(course, rest.get("certified")),
            rest.get("source", "webhook"),
        )

    def _generic(self, item: Mapping[str, Any], where: str) -> Completion:
        certified = item.get("certified")
        if certified is not None and not isinstance(certified, bool):
            raise WebhookRefused(f"{where + '.' if where else ''}certified: true or false", 422)
        return self._completion(
            where,
            _text(item, "email"),
            _text(item, "partner_id"),
            _text(item, "course_id"),
            _text(item, "completed_at"),
            name=_text(item, "name"),
            course_name=_text(item, "course_name"),
            certified=certified,
        )

    def _talentlms(self, data: Mapping[str, Any], now: datetime | None) -> Completion:
        user = ("data", "user")
        first, last = _text(data, *user, "first_name"), _text(data, *user, "last_name")
        when = _text(data, "data", "completed_at") or _text(data, "timestamp")
        if not when:
            when = (now or datetime.now(UTC)).isoformat()
        return self._completion(
            "data",
            _text(data, *user, "email"),
            _text(data, *user, "custom_fields", "partner_id"),
            _text(data, "data", "course", "id"),
            when,
            name=" ".join(p for p in (first, last) if p),
            course_name=_text(data, "data", "course", "name"),
            source="talentlms",
        )


# The error code of each refusal status, as the daemon's JSON error shape names them.
ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    404: "not_found",
    413: "too_large",
    422: "invalid_request",
}


def answer(
    hook: TrainingWebhook, body: bytes, *, source: str, authorization: str, token: str
) -> tuple[int, dict[str, Any]]:
    """The HTTP answer to a webhook POST, for whichever server hosts the route (status, JSON body):
    200 with what was recorded, else the refusal's status and the daemon's error shape
    ``{"error": code, "message": …}``. Routes (``crm_bridge.web.training``):
    ``POST /v1/training/completions`` (generic), ``POST /v1/training/talentlms``."""
    try:
        return 200, hook.receive(body, source=source, authorization=authorization, token=token).body()
    except WebhookRefused as exc:
        return exc.status, {"error": ERROR_CODES.get(exc.status, "invalid_request"), "message": exc.message}
