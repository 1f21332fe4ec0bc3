"""The head's dashboard (``/admin``): sign-in by the secret in ``CRM_BRIDGE_ADMIN_TOKEN``, the period's
KPIs against the plan, the four funnels, the leaderboard, tier downgrades waiting for approval (approve
and reject through the same ``TierService`` as ``crm-bridge tiers approve/reject``) and the last job
runs."""

from __future__ import annotations

import re

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from crm_bridge.errors import CrmBridgeError, UsageError
from crm_bridge.store.portal import SessionRecord
from crm_bridge.web.portal.common import (
    ADMIN_COOKIE,
    PRE_COOKIE,
    PortalContext,
    client,
    csrf_ok,
    forbidden,
    not_found,
    pre_token,
    redirect,
    render,
    session_of,
    set_cookie,
)

_FLASH = re.compile(r"^(approved|rejected|failed)-(\d{1,12})$")


def admin_router(ctx: PortalContext) -> APIRouter:
    router = APIRouter(prefix="/admin", include_in_schema=False)

    def signed_in(request: Request) -> SessionRecord | None:
        return session_of(request, ctx, "admin")

    @router.get("/signin")
    def signin_form(request: Request) -> Response:
        if signed_in(request) is not None:
            return redirect("/admin/")
        token = pre_token(request)
        values = {"csrf": token, "error": None, "door": "admin", "enabled": ctx.access.admin_enabled}
        response = render(ctx, request, "signin.html", values, area="admin")
        set_cookie(response, request, PRE_COOKIE, token, "/", 3600)
        return response

    @router.post("/signin")
    def signin(request: Request, token: str = Form(""), csrf: str = Form("")) -> Response:
        if not csrf_ok(request.cookies.get(PRE_COOKIE), csrf):
            return forbidden(ctx, request, "admin")
        who = client(request)
        held = ctx.admin_throttle.check(who, "")
        error: str | None = None
        if held is not None:
            error = "throttled:" + str(max(1, -(-held.retry_after // 60)))
        else:
            new = ctx.access.sign_in_admin(token)
            if new is not None:
                done = redirect("/admin/")
                life = int((new.record.expires_at - new.record.created_at).total_seconds())
                set_cookie(done, request, ADMIN_COOKIE, new.token, "/admin", life)
                done.delete_cookie(PRE_COOKIE, path="/")
                return done
            ctx.admin_throttle.failed(who, "")
            error = "bad"
        fresh = pre_token(request)
        values = {"csrf": fresh, "error": error, "door": "admin", "enabled": ctx.access.admin_enabled}
        response = render(ctx, request, "signin.html", values, status=429 if held else 401, area="admin")
        set_cookie(response, request, PRE_COOKIE, fresh, "/", 3600)
        return response

    @router.post("/signout")
    def signout(request: Request, csrf: str = Form("")) -> Response:
        session = signed_in(request)
        if session is not None and csrf_ok(session.csrf_token, csrf):
            ctx.access.sign_out(request.cookies.get(ADMIN_COOKIE))
        response = redirect("/admin/signin")
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    @router.get("")
    @router.get("/")
    def dashboard(request: Request, period: str | None = None, done: str | None = None) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/admin/signin")
        choices = ctx.partners.periods()
        chosen = next((p for p in choices if p.key == period), choices[0])
        data = ctx.dashboard(chosen)
        flash = None
        match = _FLASH.match(done or "")
        if match:
            row = ctx.tiers().pending_row(int(match.group(2)))
            if row is not None:
                flash = (match.group(1), row)
        return render(
            ctx,
            request,
            "dashboard.html",
            {
                "session": session,
                "data": data,
                "period": chosen,
                "periods": choices,
                "flash": flash,
            },
            area="admin",
        )

    def decide(request: Request, pending_id: int, csrf: str, verdict: str) -> Response:
        session = signed_in(request)
        if session is None:
            return redirect("/admin/signin")
        if not csrf_ok(session.csrf_token, csrf):
            return forbidden(ctx, request, "admin")
        service = ctx.tiers()
        try:
            if verdict == "approved":
                service.approve(pending_id, by="head (dashboard)", now=ctx.clock())
            else:
                service.reject(pending_id, by="head (dashboard)", now=ctx.clock())
        except UsageError:
            return not_found(ctx, request, "admin")
        except CrmBridgeError:
            return redirect(f"/admin/?done=failed-{pending_id}")
        return redirect(f"/admin/?done={verdict}-{pending_id}")

    @router.post("/tiers/{pending_id}/approve")
    def approve(request: Request, pending_id: int, csrf: str = Form("")) -> Response:
        return decide(request, pending_id, csrf, "approved")

    @router.post("/tiers/{pending_id}/reject")
    def reject(request: Request, pending_id: int, csrf: str = Form("")) -> Response:
        return decide(request, pending_id, csrf, "rejected")

    @router.get("/{rest:path}")
    def unknown(request: Request, rest: str) -> Response:
        return not_found(ctx, request, "admin")

    return router
