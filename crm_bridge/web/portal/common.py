"""What the portal's and the dashboard's routes share: the wired use cases (``PortalContext``), the
language of a request, rendering with the security headers, cookies (HttpOnly, SameSite=Lax, Secure
over TLS), CSRF tokens and sign-in throttling.

Sessions are server-side: the cookie holds a random token, the state store its hash, the partner and
the session's CSRF token (``services.portal.access``). Forms of a signed-in page carry that CSRF
token; the sign-in forms, before there is a session, a double-submit token (cookie + hidden field)."""

from __future__ import annotations

import hmac
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape

from crm_bridge.domain.layout import DesiredLayout
from crm_bridge.domain.period import Period
from crm_bridge.services.intake.service import IntakeService
from crm_bridge.services.intake.throttle import AuthLimits, AuthThrottle
from crm_bridge.services.portal.access import ADMIN_TOKEN_ENV, PortalAccess
from crm_bridge.services.portal.dashboard import Dashboard, build_dashboard
from crm_bridge.services.portal.partner_view import PartnerPortal
from crm_bridge.services.tiers.service import TierService
from crm_bridge.store.portal import SessionRecord
from crm_bridge.web.portal import i18n

HERE = Path(__file__).parent
STATIC = HERE / "static"
PARTNER_COOKIE = "cb_portal"
ADMIN_COOKIE = "cb_admin"
PRE_COOKIE = "cb_csrf"  # double-submit token of the sign-in forms
LANG_COOKIE = "cb_lang"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class PortalContext:
    """The use cases behind the pages. ``tiers`` builds the same ``TierService`` the CLI's ``tiers
    approve/reject`` uses; ``jobs`` reads the daemon's job statuses (empty outside the daemon)."""

    access: PortalAccess
    partners: PartnerPortal
    intake: IntakeService
    tiers: Callable[[], TierService]
    dashboard: Callable[[Period], Dashboard]
    clock: Callable[[], datetime]
    locale: str
    timezone: str
    currency: str
    partner_throttle: AuthThrottle
    admin_throttle: AuthThrottle
    public_url: str = ""
    tier_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)  # lang -> tier key -> name
    templates: Jinja2Templates = field(init=False)

    def __post_init__(self) -> None:
        env = Environment(
            loader=FileSystemLoader(str(HERE / "templates")),
            autoescape=select_autoescape(("html",), default=True),  # everything partners typed is escaped
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates = Jinja2Templates(env=env)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def invitation_link(self, key: str) -> str:
        """The personal link: the key rides in the fragment, which browsers never send to a server
        (nor put in a Referer), so it stays out of access logs and proxies."""
        return f"{self.public_url.rstrip('/')}/portal/signin#{key}"


def portal_context(
    app: Any,
    engine: Any,
    *,
    jobs: Callable[[], Mapping[str, Mapping[str, Any]]] = dict,
    environ: Mapping[str, str] | None = None,
) -> PortalContext:
    """Wire the portal for ``app`` (``crm_bridge.bootstrap.App``) with the daemon's ``engine``
    (``crm_bridge.daemon.engine.Engine``); ``jobs`` gives the daemon's job statuses (name ->
    ``JobStatus.as_json()``). The head's secret comes from ``CRM_BRIDGE_ADMIN_TOKEN``."""
    from crm_bridge.config.funnels import desired_layout_for

    env = os.environ if environ is None else environ
    settings = app.settings
    layout: DesiredLayout = desired_layout_for(settings)
    cfg = settings.portal
    access = PortalAccess.for_app(app, admin_token=env.get(ADMIN_TOKEN_ENV) or None)
    limits = AuthLimits.from_settings(settings)
    public = cfg.public_url or f"http://{settings.intake.listen_host}:{settings.intake.listen_port}"
    return PortalContext(
        access=access,
        partners=PartnerPortal(app.store, app.portal, settings, layout, clock=app.clock),
        intake=engine.intake_service(),
        tiers=engine.tier_service,
        dashboard=lambda period: build_dashboard(
            app.store, app.portal, settings, layout, period, now=app.clock(), jobs=jobs
        ),
        clock=app.clock,
        locale=str(settings.locale),
        timezone=settings.timezone,
        currency=settings.rewards.currency,
        partner_throttle=AuthThrottle(app.store.bucket, app.clock, limits, prefix="portal-auth"),
        admin_throttle=AuthThrottle(app.store.bucket, app.clock, limits, prefix="admin-auth"),
        public_url=public,
        tier_labels={
            lang: {level.key: level.name.get(lang) or level.key for level in settings.tiers.levels}
            for lang in i18n.LANGS
        },
    )


def language(request: Request, ctx: PortalContext) -> str:
    return i18n.pick_language(
        request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"), ctx.locale
    )


def secure(request: Request) -> bool:
    """Cookies are Secure when the page is served over TLS (uvicorn's proxy headers set the scheme)."""
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, path: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite="lax", secure=secure(request)
    )


def harden(response: Response, *, private: bool = True) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    if private:
        response.headers["Cache-Control"] = "no-store"
    return response


def render(
    ctx: PortalContext,
    request: Request,
    template: str,
    values: Mapping[str, Any],
    *,
    status: int = 200,
    area: str = "portal",
) -> Response:
    lang = language(request, ctx)
    zone = ctx.zone
    t = i18n.words(lang)
    helpers = {
        "t": t,
        "lang": lang,
        "area": area,
        "money": lambda v, currency=ctx.currency: i18n.money(v, currency, lang),
        "number": lambda v: i18n.number(v, lang),
        "percent": lambda v: i18n.percent(v, lang),
        "day": lambda m: i18n.day(m.astimezone(zone) if isinstance(m, datetime) else m, lang),
        "when": lambda m: i18n.when(m.astimezone(zone) if m else None, lang),
        "period_name": lambda key: i18n.period_name(key, lang),
        "width": bar_width,
        "tier_label": lambda key: ctx.tier_labels.get(lang, {}).get(key or "", key or "—"),
        "tier_names": ctx.tier_labels.get(lang, {}),
        "here": quote(
            request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="/?=&-_."
        ),
    }
    response = ctx.templates.TemplateResponse(request, template, {**helpers, **values}, status_code=status)
    return harden(response)


def bar_width(value: object) -> int:
    """A bar's width class (``w-0`` … ``w-100`` in steps of 5): no inline styles under the CSP."""
    try:
        number = float(str(value))
    except ValueError:
        return 0
    return int(max(0.0, min(100.0, number)) / 5 + 0.5) * 5


def redirect(url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    harden(response)
    return response


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def pre_token(request: Request) -> str:
    """The sign-in form's double-submit token: the cookie's when there is one, else a new one."""
    current = request.cookies.get(PRE_COOKIE, "")
    return current if 20 <= len(current) <= 64 else secrets.token_urlsafe(24)


def client(request: Request) -> str:
    return request.client.host if request.client else ""


def session_of(request: Request, ctx: PortalContext, kind: str) -> SessionRecord | None:
    cookie = PARTNER_COOKIE if kind == "partner" else ADMIN_COOKIE
    return ctx.access.session(request.cookies.get(cookie), kind)


def safe_next(target: str | None, default: str) -> str:
    """Only our own paths: no scheme, no host, no ``//`` (open-redirect proof)."""
    if target and target.startswith(("/portal", "/admin")) and "//" not in target and "\\" not in target:
        return target
    return default


def not_found(ctx: PortalContext, request: Request, area: str = "portal") -> Response:
    return render(ctx, request, "message.html", {"kind": "not_found"}, status=404, area=area)


def forbidden(ctx: PortalContext, request: Request, area: str = "portal") -> Response:
    return render(ctx, request, "message.html", {"kind": "forbidden"}, status=403, area=area)
