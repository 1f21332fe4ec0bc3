"""``POST /telegram/webhook``: updates of the partners' bot when ``bot.mode`` is webhook. Telegram
sends the ``secret_token`` given to setWebhook in ``X-Telegram-Bot-Api-Secret-Token``; a request
without it (or with another) is refused with 401 before its body is read as an update."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from crm_bridge.errors import CrmBridgeError
from crm_bridge.web.models import problem_body

log = logging.getLogger("crm_bridge.bot")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 (the header's name)
PATH = "/telegram/webhook"


def bot_router(bot: Any, secret: str) -> APIRouter:
    """``bot``: a ``crm_bridge.services.bot.service.PartnerBot``; ``secret``: bot.webhook_secret."""
    router = APIRouter(include_in_schema=False)
    expected = secret.encode()

    @router.post(PATH)
    def webhook(request: Request, body: dict[str, Any] | None = None) -> JSONResponse:
        given = (request.headers.get(SECRET_HEADER) or "").encode()
        if not expected or not hmac.compare_digest(expected, given):
            return JSONResponse(
                problem_body("unauthorized", "wrong or missing secret token"), status_code=401
            )
        if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
            return JSONResponse(problem_body("invalid_request", "not a Telegram update"), status_code=400)
        try:
            bot.handle(body)
            bot.flush()
        except CrmBridgeError as exc:  # Telegram retries a failed webhook call: the update is not lost
            log.error("bot webhook: %s", exc)
            return JSONResponse(problem_body("unavailable", "try again later"), status_code=503)
        return JSONResponse({"ok": True})

    return router
