"""The partner portal's routes (``/portal``): sign-in by a personal key, the overview, the leads and
one lead, deal registration (the intake service the API uses), the tier, the reward statement and the
leaderboard. The partner is always the session's; no route takes a partner id."""

from __future__ import annotations

import re
import secrets

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from crm_bridge.domain.period import Period
from crm_bridge.errors import CrmBridgeError, CrmError, CrmRetriableError
from crm_bridge.services.intake.service import LeadSubmission
from crm_bridge.services.portal.access import invitation_id_of
from crm_bridge.store.portal import SessionRecord
from crm_bridge.web.portal.common import (
    LANG_COOKIE,
    PARTNER_COOKIE,
    PRE_COOKIE,
    PortalContext,
    client,
    csrf_ok,
    forbidden,
    not_found,
    pre_token,
    redirect,
    render,
    safe_next,
    session_of,
    set_cookie,
)

_FORM_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_FORM_FIELDS = ("customer_name", "email", "phone", "tax_id", "amount", "comment")


def _period(ctx: PortalContext, key: str | None, choices: list[Period]) -> Period:
    """The period asked for when it is one of ``choices`` (the last months), else the newest."""
    return next((p for p in choices if p.key == key), choices[0])


def partner_router(ctx: PortalContext) -> APIRouter:
    router = APIRouter(prefix="/portal", include_in_schema=False)

    def signed_in(request: Request) -> SessionRecord | None:
        return session_of(request, ctx, "partner")

    def page(request: Request, template: str, session: SessionRecord, **values: object) -> Response:
        partner = ctx.partners.partner(session.partner_id or "")
        return render(ctx, request, template, {"session": session, "partner": partner, **values})

    @router.get("/signin")
    def signin_form(request: Request) -> Response:
        if signed_in(request) is not None:
            return redirect("/portal/")
        token = pre_token(request)
        response = render(ctx, request, "signin.html", {"csrf": token, "error": None, "door": "portal"})
        set_cookie(response, request, PRE_COOKIE, token, "/", 3600)
        return response

    @router.post("/signin")
    def signin(request: Request, key: str = Form(""), csrf: str = Form("")) -> Response:
        if not csrf_ok(request.cookies.get(PRE_COOKIE), csrf):
            return forbidden(ctx, request)
        who, door = client(request), ctx.partner_throttle
        held = door.check(who, invitation_id_of(key))
        error: str | None = None
        if held is not None:
            error = "throttled:" + str(max(1, -(-held.retry_after // 60)))
        else:
            new = ctx.access.sign_in_partner(key)
            if new is not None:
                done = redirect("/portal/")
                life = int((new.record.expires_at - new.record.created_at).total_seconds())
                set_cookie(done, request, PARTNER_COOKIE, new.token, "/portal", life)
                done.delete_cookie(PRE_COOKIE, path="/")
                return done
            door.failed(who, invitation_id_of(key))
            error = "bad"
        token = pre_token(request)
        values = {"csrf": token, "error": error, "door": "portal"}
        response = render(ctx, request, "signin.html", values, status=429 if held else 401)
        set_cookie(response, request, PRE_COOKIE, token, "/", 3600)
        return response

    @router.post("/signout")
    def signout(request: Request, csrf: str = Form("")) -> Response:
        session = signed_in(request)
        if session is not None and csrf_ok(session.csrf_token, csrf):
            ctx.access.sign_out(request.cookies.get(PARTNER_COOKIE))
        response = redirect("/portal/signin")
        response.delete_cookie(PARTNER_COOKIE, path="/portal")
        return response

    @router.get("/lang/{lang}")
    def switch_language(request: Request, lang: str, next: str | None = None) -> Response:  # noqa: A002
        response = redirect(safe_next(next, "/portal/"))
        if lang in ("ru", "en"):
            set_cookie(response, request, LANG_COOKIE, lang, "/", 365 * 24 * 3600)
        return response

    @router.get("")
    @router.get("/")
    def overview(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/portal/signin")
        data = ctx.partners.overview(session.partner_id or "")
        if data is None:
            return not_found(ctx, request)
        recent = ctx.partners.leads(session.partner_id or "")[:5]
        return page(
            request, "overview.html", session, data=data, tier=data.tier, recent=recent, nav="overview"
        )

    @router.get("/leads")
    def leads(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/portal/signin")
        rows = ctx.partners.leads(session.partner_id or "")
        return page(request, "leads.html", session, rows=rows, nav="leads")

    @router.get("/leads/{key}")
    def lead(request: Request, key: str, new: str | None = None) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/portal/signin")
        row = ctx.partners.lead(session.partner_id or "", key)
        if row is None:  # another partner's lead and no lead at all look the same
            return not_found(ctx, request)
        return page(request, "lead.html", session, row=row, new=new, nav="leads")

    def form_page(
        request: Request,
        session: SessionRecord,
        values: dict[str, str],
        problems: dict[str, str],
        message: str | None = None,
        status: int = 200,
    ) -> Response:
        partner = ctx.partners.partner(session.partner_id or "")
        return render(
            ctx,
            request,
            "register.html",
            {
                "session": session,
                "partner": partner,
                "values": values,
                "problems": problems,
                "message": message,
                "form_id": values.get("form_id") or secrets.token_urlsafe(18),
                "nav": "register",
            },
            status=status,
        )

    @router.get("/register")
    def register_form(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/portal/signin")
        return form_page(request, session, {}, {})

    @router.post("/register")
    def register(
        request: Request,
        csrf: str = Form(""),
        form_id: str = Form(""),
        customer_name: str = Form(""),
        email: str = Form(""),
        phone: str = Form(""),
        tax_id: str = Form(""),
        amount: str = Form(""),
        comment: str = Form(""),
    ) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/portal/signin")
        if not csrf_ok(session.csrf_token, csrf) or not _FORM_ID.match(form_id):
            return forbidden(ctx, request)
        partner_id = session.partner_id or ""
        raw = dict(zip(_FORM_FIELDS, (customer_name, email, phone, tax_id, amount, comment), strict=True))
        values = {**raw, "form_id": form_id}
        fields, problems = ctx.intake.check_fields(raw)
        if fields is None:
            shown = {p.field: p.message for p in problems}
            return form_page(request, session, values, shown, "registered_error", status=422)
        # one form, one lead: sending the same form twice (a double click, a reload) finds the first
        submission = LeadSubmission(f"portal:{partner_id}:{form_id}", partner_id, fields, "portal")
        try:
            (outcome,) = ctx.intake.submit([submission], now=ctx.clock())
        except (CrmRetriableError, CrmError, CrmBridgeError):
            return form_page(request, session, values, {}, "unavailable", status=503)
        if outcome.status == "rejected":
            return form_page(
                request, session, values, {"customer_name": outcome.error}, "registered_error", 422
            )
        if outcome.status == "failed":
            return form_page(request, session, values, {}, "refused:" + outcome.refused_because, status=422)
        key = outcome.lead_crm_id or submission.external_id
        return redirect(
            f"/portal/leads/{key}?new={'existing' if outcome.status == 'existing' else 'created'}"
        )

    @router.get("/tier")
    def tier(request: Request) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/portal/signin")
        view = ctx.partners.tier(session.partner_id or "")
        return page(request, "tier.html", session, tier=view, nav="tier")

    @router.get("/rewards")
    def rewards(request: Request, period: str | None = None) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/portal/signin")
        choices = ctx.partners.periods()
        chosen = _period(ctx, period, choices)
        statement, currency = ctx.partners.statement(session.partner_id or "", chosen)
        return page(
            request,
            "rewards.html",
            session,
            statement=statement,
            currency=currency,
            period=chosen,
            periods=choices,
            nav="rewards",
        )

    @router.get("/leaderboard")
    def leaderboard(request: Request, period: str | None = None) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/portal/signin")
        choices = ctx.partners.periods()
        chosen = _period(ctx, period, choices)
        rows = ctx.partners.leaderboard(session.partner_id or "", chosen)
        return page(
            request, "leaderboard.html", session, rows=rows, period=chosen, periods=choices, nav="leaderboard"
        )

    @router.get("/{rest:path}")
    def unknown(request: Request, rest: str) -> Response:
        return not_found(ctx, request)

    return router
